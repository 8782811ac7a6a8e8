complete --keep-order --exclusive --command cqrs-admin --arguments "(CQRS_ADMIN_COMPLETE=fish cqrs-admin -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
