
set edit:completion:arg-completer[cqrs-admin] = { |@words|
    var index = (count $words)
    set index = (- $index 1)

    put (env _CLAP_IFS="\n" _CLAP_COMPLETE_INDEX=(to-string $index) CQRS_ADMIN_COMPLETE="elvish" cqrs-admin -- $@words) | to-lines
}

