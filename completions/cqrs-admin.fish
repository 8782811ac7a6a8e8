# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_cqrs_admin_global_optspecs
    string join \n db= actor= format= today= cutover= h/help V/version
end

function __fish_cqrs_admin_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_cqrs_admin_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_cqrs_admin_using_subcommand
    set -l cmd (__fish_cqrs_admin_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c cqrs-admin -n "__fish_cqrs_admin_needs_command" -l db -d 'The store (an SQLite file, created by the first import or `cutover set`)' -r -F
complete -c cqrs-admin -n "__fish_cqrs_admin_needs_command" -l actor -d 'Who is running the command; recorded with every change [default: your login name]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_needs_command" -l format -d 'How to print records' -r -f -a "table\t''
csv\t''
json\t''"
complete -c cqrs-admin -n "__fish_cqrs_admin_needs_command" -l today -d 'Pin today\'s date (YYYY-MM-DD), for reproducible reports [default: the system date]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_needs_command" -l cutover -d 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_needs_command" -s h -l help -d 'Print help'
complete -c cqrs-admin -n "__fish_cqrs_admin_needs_command" -s V -l version -d 'Print version'
complete -c cqrs-admin -n "__fish_cqrs_admin_needs_command" -f -a "import" -d 'Import a CQRS export or the NHSmail directory extract (whole file or nothing)'
complete -c cqrs-admin -n "__fish_cqrs_admin_needs_command" -f -a "audit" -d 'Every account\'s category, NHSmail match and section'
complete -c cqrs-admin -n "__fish_cqrs_admin_needs_command" -f -a "report" -d 'Who must do what before cutover, grouped by whom they contact'
complete -c cqrs-admin -n "__fish_cqrs_admin_needs_command" -f -a "signin" -d 'What a person will see when signing in with this NHSmail address on cutover day'
complete -c cqrs-admin -n "__fish_cqrs_admin_needs_command" -f -a "accounts" -d 'Look at accounts'
complete -c cqrs-admin -n "__fish_cqrs_admin_needs_command" -f -a "cutover" -d 'Show or set the cutover date kept in the store'
complete -c cqrs-admin -n "__fish_cqrs_admin_needs_command" -f -a "plan" -d 'Write a bulk replacement plan from the confident matches, for review'
complete -c cqrs-admin -n "__fish_cqrs_admin_needs_command" -f -a "replace" -d 'Create replacement accounts, one at a time or from a reviewed plan'
complete -c cqrs-admin -n "__fish_cqrs_admin_needs_command" -f -a "revert" -d 'Undo a replacement: disable the replacement account, restore the old one'
complete -c cqrs-admin -n "__fish_cqrs_admin_needs_command" -f -a "reinstate" -d 'Undo a revert: make a reverted replacement active again, replacing the old account again'
complete -c cqrs-admin -n "__fish_cqrs_admin_needs_command" -f -a "history" -d 'The activity an account can see'
complete -c cqrs-admin -n "__fish_cqrs_admin_needs_command" -f -a "verify" -d 'Prove that every replacement has the old account\'s roles and sees the same history'
complete -c cqrs-admin -n "__fish_cqrs_admin_needs_command" -f -a "log" -d 'The change log: every replacement and revert, who did it and when'
complete -c cqrs-admin -n "__fish_cqrs_admin_needs_command" -f -a "export" -d 'Write replacement accounts (or the whole store) as CSV in the import formats'
complete -c cqrs-admin -n "__fish_cqrs_admin_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c cqrs-admin -n "__fish_cqrs_admin_needs_command" -f -a "man" -d 'Print the manual page (roff)'
complete -c cqrs-admin -n "__fish_cqrs_admin_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand import" -l db -d 'The store (an SQLite file, created by the first import or `cutover set`)' -r -F
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand import" -l actor -d 'Who is running the command; recorded with every change [default: your login name]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand import" -l format -d 'How to print records' -r -f -a "table\t''
csv\t''
json\t''"
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand import" -l today -d 'Pin today\'s date (YYYY-MM-DD), for reproducible reports [default: the system date]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand import" -l cutover -d 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand import" -l dry-run -d 'Check the file and report what would change, without writing anything'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand import" -s h -l help -d 'Print help'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand audit" -l category -d 'Only accounts in this category (repeatable)' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand audit" -l section -d 'Only accounts in this section (repeatable)' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand audit" -l org -d 'Only accounts holding a role at this organisation (ODS code)' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand audit" -l contact -d 'Only accounts whose contact is this organisation (ODS code, or cqrs-administrator)' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand audit" -l db -d 'The store (an SQLite file, created by the first import or `cutover set`)' -r -F
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand audit" -l actor -d 'Who is running the command; recorded with every change [default: your login name]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand audit" -l format -d 'How to print records' -r -f -a "table\t''
csv\t''
json\t''"
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand audit" -l today -d 'Pin today\'s date (YYYY-MM-DD), for reproducible reports [default: the system date]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand audit" -l cutover -d 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand audit" -l include-disabled -d 'Include disabled accounts'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand audit" -l counts -d 'Print the number of accounts in each category instead of the accounts'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand audit" -l check -d 'Exit with status 3 when any account needs action before cutover'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand audit" -s h -l help -d 'Print help'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand report" -l section -d 'Only this section (repeatable)' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand report" -l contact -d 'Only this contact (ODS code, or cqrs-administrator)' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand report" -l db -d 'The store (an SQLite file, created by the first import or `cutover set`)' -r -F
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand report" -l actor -d 'Who is running the command; recorded with every change [default: your login name]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand report" -l format -d 'How to print records' -r -f -a "table\t''
csv\t''
json\t''"
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand report" -l today -d 'Pin today\'s date (YYYY-MM-DD), for reproducible reports [default: the system date]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand report" -l cutover -d 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand report" -l check -d 'Exit with status 3 when any account needs action before cutover'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand report" -s h -l help -d 'Print help'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand signin" -l db -d 'The store (an SQLite file, created by the first import or `cutover set`)' -r -F
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand signin" -l actor -d 'Who is running the command; recorded with every change [default: your login name]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand signin" -l format -d 'How to print records' -r -f -a "table\t''
csv\t''
json\t''"
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand signin" -l today -d 'Pin today\'s date (YYYY-MM-DD), for reproducible reports [default: the system date]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand signin" -l cutover -d 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand signin" -s h -l help -d 'Print help'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand accounts; and not __fish_seen_subcommand_from show help" -l db -d 'The store (an SQLite file, created by the first import or `cutover set`)' -r -F
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand accounts; and not __fish_seen_subcommand_from show help" -l actor -d 'Who is running the command; recorded with every change [default: your login name]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand accounts; and not __fish_seen_subcommand_from show help" -l format -d 'How to print records' -r -f -a "table\t''
csv\t''
json\t''"
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand accounts; and not __fish_seen_subcommand_from show help" -l today -d 'Pin today\'s date (YYYY-MM-DD), for reproducible reports [default: the system date]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand accounts; and not __fish_seen_subcommand_from show help" -l cutover -d 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand accounts; and not __fish_seen_subcommand_from show help" -s h -l help -d 'Print help'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand accounts; and not __fish_seen_subcommand_from show help" -f -a "show" -d 'One account: its roles, category, NHSmail match and contacts'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand accounts; and not __fish_seen_subcommand_from show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand accounts; and __fish_seen_subcommand_from show" -l db -d 'The store (an SQLite file, created by the first import or `cutover set`)' -r -F
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand accounts; and __fish_seen_subcommand_from show" -l actor -d 'Who is running the command; recorded with every change [default: your login name]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand accounts; and __fish_seen_subcommand_from show" -l format -d 'How to print records' -r -f -a "table\t''
csv\t''
json\t''"
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand accounts; and __fish_seen_subcommand_from show" -l today -d 'Pin today\'s date (YYYY-MM-DD), for reproducible reports [default: the system date]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand accounts; and __fish_seen_subcommand_from show" -l cutover -d 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand accounts; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand accounts; and __fish_seen_subcommand_from help" -f -a "show" -d 'One account: its roles, category, NHSmail match and contacts'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand accounts; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand cutover; and not __fish_seen_subcommand_from show set help" -l db -d 'The store (an SQLite file, created by the first import or `cutover set`)' -r -F
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand cutover; and not __fish_seen_subcommand_from show set help" -l actor -d 'Who is running the command; recorded with every change [default: your login name]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand cutover; and not __fish_seen_subcommand_from show set help" -l format -d 'How to print records' -r -f -a "table\t''
csv\t''
json\t''"
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand cutover; and not __fish_seen_subcommand_from show set help" -l today -d 'Pin today\'s date (YYYY-MM-DD), for reproducible reports [default: the system date]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand cutover; and not __fish_seen_subcommand_from show set help" -l cutover -d 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand cutover; and not __fish_seen_subcommand_from show set help" -s h -l help -d 'Print help'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand cutover; and not __fish_seen_subcommand_from show set help" -f -a "show" -d 'Print the cutover date and the days left'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand cutover; and not __fish_seen_subcommand_from show set help" -f -a "set" -d 'Keep a new cutover date in the store'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand cutover; and not __fish_seen_subcommand_from show set help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand cutover; and __fish_seen_subcommand_from show" -l db -d 'The store (an SQLite file, created by the first import or `cutover set`)' -r -F
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand cutover; and __fish_seen_subcommand_from show" -l actor -d 'Who is running the command; recorded with every change [default: your login name]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand cutover; and __fish_seen_subcommand_from show" -l format -d 'How to print records' -r -f -a "table\t''
csv\t''
json\t''"
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand cutover; and __fish_seen_subcommand_from show" -l today -d 'Pin today\'s date (YYYY-MM-DD), for reproducible reports [default: the system date]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand cutover; and __fish_seen_subcommand_from show" -l cutover -d 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand cutover; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand cutover; and __fish_seen_subcommand_from set" -l db -d 'The store (an SQLite file, created by the first import or `cutover set`)' -r -F
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand cutover; and __fish_seen_subcommand_from set" -l actor -d 'Who is running the command; recorded with every change [default: your login name]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand cutover; and __fish_seen_subcommand_from set" -l format -d 'How to print records' -r -f -a "table\t''
csv\t''
json\t''"
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand cutover; and __fish_seen_subcommand_from set" -l today -d 'Pin today\'s date (YYYY-MM-DD), for reproducible reports [default: the system date]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand cutover; and __fish_seen_subcommand_from set" -l cutover -d 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand cutover; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand cutover; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print the cutover date and the days left'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand cutover; and __fish_seen_subcommand_from help" -f -a "set" -d 'Keep a new cutover date in the store'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand cutover; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand plan" -l out -d 'Where to write the plan (CSV, a new owner-only file); `-` for standard output' -r -F
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand plan" -l contact -d 'Only accounts whose contact is this organisation (ODS code)' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand plan" -l db -d 'The store (an SQLite file, created by the first import or `cutover set`)' -r -F
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand plan" -l actor -d 'Who is running the command; recorded with every change [default: your login name]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand plan" -l format -d 'How to print records' -r -f -a "table\t''
csv\t''
json\t''"
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand plan" -l today -d 'Pin today\'s date (YYYY-MM-DD), for reproducible reports [default: the system date]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand plan" -l cutover -d 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand plan" -l force -d 'Replace the file at --out if there is one (never the store, a link or a device)'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand plan" -s h -l help -d 'Print help'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand replace" -l email -d 'The replacement\'s NHSmail address' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand replace" -l plan -d 'A reviewed plan: CSV with account_id,new_email[,reason]' -r -F
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand replace" -l reason -d 'Why (recorded in the change log; required when the directory names differ)' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand replace" -l db -d 'The store (an SQLite file, created by the first import or `cutover set`)' -r -F
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand replace" -l actor -d 'Who is running the command; recorded with every change [default: your login name]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand replace" -l format -d 'How to print records' -r -f -a "table\t''
csv\t''
json\t''"
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand replace" -l today -d 'Pin today\'s date (YYYY-MM-DD), for reproducible reports [default: the system date]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand replace" -l cutover -d 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand replace" -l allow-admin -d 'Acknowledge that an account holding an administrator role is being replaced'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand replace" -l disable-old -d 'Also disable the old account (it is kept, with its history)'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand replace" -s y -l yes -d 'Answer yes to the confirmation (needed when not at a terminal)'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand replace" -l dry-run -d 'Show what would happen and change nothing'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand replace" -s h -l help -d 'Print help'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand revert" -l reason -d 'Why (recorded in the change log)' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand revert" -l db -d 'The store (an SQLite file, created by the first import or `cutover set`)' -r -F
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand revert" -l actor -d 'Who is running the command; recorded with every change [default: your login name]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand revert" -l format -d 'How to print records' -r -f -a "table\t''
csv\t''
json\t''"
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand revert" -l today -d 'Pin today\'s date (YYYY-MM-DD), for reproducible reports [default: the system date]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand revert" -l cutover -d 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand revert" -s y -l yes -d 'Answer yes to the confirmation (needed when not at a terminal)'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand revert" -l dry-run -d 'Show what would happen and change nothing'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand revert" -s h -l help -d 'Print help'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand reinstate" -l reason -d 'Why (recorded in the change log)' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand reinstate" -l db -d 'The store (an SQLite file, created by the first import or `cutover set`)' -r -F
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand reinstate" -l actor -d 'Who is running the command; recorded with every change [default: your login name]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand reinstate" -l format -d 'How to print records' -r -f -a "table\t''
csv\t''
json\t''"
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand reinstate" -l today -d 'Pin today\'s date (YYYY-MM-DD), for reproducible reports [default: the system date]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand reinstate" -l cutover -d 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand reinstate" -s y -l yes -d 'Answer yes to the confirmation (needed when not at a terminal)'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand reinstate" -l dry-run -d 'Show what would happen and change nothing'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand reinstate" -s h -l help -d 'Print help'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand history" -l db -d 'The store (an SQLite file, created by the first import or `cutover set`)' -r -F
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand history" -l actor -d 'Who is running the command; recorded with every change [default: your login name]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand history" -l format -d 'How to print records' -r -f -a "table\t''
csv\t''
json\t''"
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand history" -l today -d 'Pin today\'s date (YYYY-MM-DD), for reproducible reports [default: the system date]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand history" -l cutover -d 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand history" -s h -l help -d 'Print help'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand verify" -l db -d 'The store (an SQLite file, created by the first import or `cutover set`)' -r -F
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand verify" -l actor -d 'Who is running the command; recorded with every change [default: your login name]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand verify" -l format -d 'How to print records' -r -f -a "table\t''
csv\t''
json\t''"
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand verify" -l today -d 'Pin today\'s date (YYYY-MM-DD), for reproducible reports [default: the system date]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand verify" -l cutover -d 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand verify" -s h -l help -d 'Print help'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand log" -l since -d 'Only entries on or after this date (YYYY-MM-DD)' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand log" -l until -d 'Only entries on or before this date (YYYY-MM-DD)' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand log" -l by -d 'Only entries by this operator' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand log" -l account -d 'Only entries about this account (old or new)' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand log" -l db -d 'The store (an SQLite file, created by the first import or `cutover set`)' -r -F
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand log" -l actor -d 'Who is running the command; recorded with every change [default: your login name]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand log" -l format -d 'How to print records' -r -f -a "table\t''
csv\t''
json\t''"
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand log" -l today -d 'Pin today\'s date (YYYY-MM-DD), for reproducible reports [default: the system date]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand log" -l cutover -d 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand log" -s h -l help -d 'Print help'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand export" -l out -d 'The folder to write into (created owner-only if missing); `-` writes the file chosen by --only to standard output' -r -F
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand export" -l only -d 'Write only this file (required with `--out -`)' -r -f -a "accounts\t'accounts.csv'
permissions\t'permissions.csv'"
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand export" -l db -d 'The store (an SQLite file, created by the first import or `cutover set`)' -r -F
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand export" -l actor -d 'Who is running the command; recorded with every change [default: your login name]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand export" -l format -d 'How to print records' -r -f -a "table\t''
csv\t''
json\t''"
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand export" -l today -d 'Pin today\'s date (YYYY-MM-DD), for reproducible reports [default: the system date]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand export" -l cutover -d 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand export" -l force -d 'Replace the files already in the folder (never the store, a link or a device)'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand export" -l all -d 'Export every account and role, not only the replacement accounts'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand completions" -l db -d 'The store (an SQLite file, created by the first import or `cutover set`)' -r -F
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand completions" -l actor -d 'Who is running the command; recorded with every change [default: your login name]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand completions" -l format -d 'How to print records' -r -f -a "table\t''
csv\t''
json\t''"
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand completions" -l today -d 'Pin today\'s date (YYYY-MM-DD), for reproducible reports [default: the system date]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand completions" -l cutover -d 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand completions" -s h -l help -d 'Print help'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand man" -l db -d 'The store (an SQLite file, created by the first import or `cutover set`)' -r -F
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand man" -l actor -d 'Who is running the command; recorded with every change [default: your login name]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand man" -l format -d 'How to print records' -r -f -a "table\t''
csv\t''
json\t''"
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand man" -l today -d 'Pin today\'s date (YYYY-MM-DD), for reproducible reports [default: the system date]' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand man" -l cutover -d 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one' -r
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand man" -s h -l help -d 'Print help'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand help; and not __fish_seen_subcommand_from import audit report signin accounts cutover plan replace revert reinstate history verify log export completions man help" -f -a "import" -d 'Import a CQRS export or the NHSmail directory extract (whole file or nothing)'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand help; and not __fish_seen_subcommand_from import audit report signin accounts cutover plan replace revert reinstate history verify log export completions man help" -f -a "audit" -d 'Every account\'s category, NHSmail match and section'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand help; and not __fish_seen_subcommand_from import audit report signin accounts cutover plan replace revert reinstate history verify log export completions man help" -f -a "report" -d 'Who must do what before cutover, grouped by whom they contact'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand help; and not __fish_seen_subcommand_from import audit report signin accounts cutover plan replace revert reinstate history verify log export completions man help" -f -a "signin" -d 'What a person will see when signing in with this NHSmail address on cutover day'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand help; and not __fish_seen_subcommand_from import audit report signin accounts cutover plan replace revert reinstate history verify log export completions man help" -f -a "accounts" -d 'Look at accounts'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand help; and not __fish_seen_subcommand_from import audit report signin accounts cutover plan replace revert reinstate history verify log export completions man help" -f -a "cutover" -d 'Show or set the cutover date kept in the store'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand help; and not __fish_seen_subcommand_from import audit report signin accounts cutover plan replace revert reinstate history verify log export completions man help" -f -a "plan" -d 'Write a bulk replacement plan from the confident matches, for review'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand help; and not __fish_seen_subcommand_from import audit report signin accounts cutover plan replace revert reinstate history verify log export completions man help" -f -a "replace" -d 'Create replacement accounts, one at a time or from a reviewed plan'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand help; and not __fish_seen_subcommand_from import audit report signin accounts cutover plan replace revert reinstate history verify log export completions man help" -f -a "revert" -d 'Undo a replacement: disable the replacement account, restore the old one'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand help; and not __fish_seen_subcommand_from import audit report signin accounts cutover plan replace revert reinstate history verify log export completions man help" -f -a "reinstate" -d 'Undo a revert: make a reverted replacement active again, replacing the old account again'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand help; and not __fish_seen_subcommand_from import audit report signin accounts cutover plan replace revert reinstate history verify log export completions man help" -f -a "history" -d 'The activity an account can see'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand help; and not __fish_seen_subcommand_from import audit report signin accounts cutover plan replace revert reinstate history verify log export completions man help" -f -a "verify" -d 'Prove that every replacement has the old account\'s roles and sees the same history'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand help; and not __fish_seen_subcommand_from import audit report signin accounts cutover plan replace revert reinstate history verify log export completions man help" -f -a "log" -d 'The change log: every replacement and revert, who did it and when'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand help; and not __fish_seen_subcommand_from import audit report signin accounts cutover plan replace revert reinstate history verify log export completions man help" -f -a "export" -d 'Write replacement accounts (or the whole store) as CSV in the import formats'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand help; and not __fish_seen_subcommand_from import audit report signin accounts cutover plan replace revert reinstate history verify log export completions man help" -f -a "completions" -d 'Print a shell completion script'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand help; and not __fish_seen_subcommand_from import audit report signin accounts cutover plan replace revert reinstate history verify log export completions man help" -f -a "man" -d 'Print the manual page (roff)'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand help; and not __fish_seen_subcommand_from import audit report signin accounts cutover plan replace revert reinstate history verify log export completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand help; and __fish_seen_subcommand_from accounts" -f -a "show" -d 'One account: its roles, category, NHSmail match and contacts'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand help; and __fish_seen_subcommand_from cutover" -f -a "show" -d 'Print the cutover date and the days left'
complete -c cqrs-admin -n "__fish_cqrs_admin_using_subcommand help; and __fish_seen_subcommand_from cutover" -f -a "set" -d 'Keep a new cutover date in the store'
