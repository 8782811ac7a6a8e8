
use builtin;
use str;

set edit:completion:arg-completer[cqrs-admin] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'cqrs-admin'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'cqrs-admin'= {
            cand --db 'The store (an SQLite file, created by the first import or `cutover set`)'
            cand --actor 'Who is running the command; recorded with every change [default: your login name]'
            cand --format 'How to print records'
            cand --today 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]'
            cand --cutover 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand import 'Import a CQRS export or the NHSmail directory extract (whole file or nothing)'
            cand audit 'Every account''s category, NHSmail match and section'
            cand report 'Who must do what before cutover, grouped by whom they contact'
            cand signin 'What a person will see when signing in with this NHSmail address on cutover day'
            cand accounts 'Look at accounts'
            cand cutover 'Show or set the cutover date kept in the store'
            cand plan 'Write a bulk replacement plan from the confident matches, for review'
            cand replace 'Create replacement accounts, one at a time or from a reviewed plan'
            cand revert 'Undo a replacement: disable the replacement account, restore the old one'
            cand reinstate 'Undo a revert: make a reverted replacement active again, replacing the old account again'
            cand history 'The activity an account can see'
            cand verify 'Prove that every replacement has the old account''s roles and sees the same history'
            cand log 'The change log: every replacement and revert, who did it and when'
            cand export 'Write replacement accounts (or the whole store) as CSV in the import formats'
            cand completions 'Print a shell completion script'
            cand man 'Print the manual page (roff)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'cqrs-admin;import'= {
            cand --db 'The store (an SQLite file, created by the first import or `cutover set`)'
            cand --actor 'Who is running the command; recorded with every change [default: your login name]'
            cand --format 'How to print records'
            cand --today 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]'
            cand --cutover 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one'
            cand --dry-run 'Check the file and report what would change, without writing anything'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'cqrs-admin;audit'= {
            cand --category 'Only accounts in this category (repeatable)'
            cand --section 'Only accounts in this section (repeatable)'
            cand --org 'Only accounts holding a role at this organisation (ODS code)'
            cand --contact 'Only accounts whose contact is this organisation (ODS code, or cqrs-administrator)'
            cand --db 'The store (an SQLite file, created by the first import or `cutover set`)'
            cand --actor 'Who is running the command; recorded with every change [default: your login name]'
            cand --format 'How to print records'
            cand --today 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]'
            cand --cutover 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one'
            cand --include-disabled 'Include disabled accounts'
            cand --counts 'Print the number of accounts in each category instead of the accounts'
            cand --check 'Exit with status 3 when any account needs action before cutover'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'cqrs-admin;report'= {
            cand --section 'Only this section (repeatable)'
            cand --contact 'Only this contact (ODS code, or cqrs-administrator)'
            cand --db 'The store (an SQLite file, created by the first import or `cutover set`)'
            cand --actor 'Who is running the command; recorded with every change [default: your login name]'
            cand --format 'How to print records'
            cand --today 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]'
            cand --cutover 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one'
            cand --check 'Exit with status 3 when any account needs action before cutover'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'cqrs-admin;signin'= {
            cand --db 'The store (an SQLite file, created by the first import or `cutover set`)'
            cand --actor 'Who is running the command; recorded with every change [default: your login name]'
            cand --format 'How to print records'
            cand --today 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]'
            cand --cutover 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'cqrs-admin;accounts'= {
            cand --db 'The store (an SQLite file, created by the first import or `cutover set`)'
            cand --actor 'Who is running the command; recorded with every change [default: your login name]'
            cand --format 'How to print records'
            cand --today 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]'
            cand --cutover 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one'
            cand -h 'Print help'
            cand --help 'Print help'
            cand show 'One account: its roles, category, NHSmail match and contacts'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'cqrs-admin;accounts;show'= {
            cand --db 'The store (an SQLite file, created by the first import or `cutover set`)'
            cand --actor 'Who is running the command; recorded with every change [default: your login name]'
            cand --format 'How to print records'
            cand --today 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]'
            cand --cutover 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'cqrs-admin;accounts;help'= {
            cand show 'One account: its roles, category, NHSmail match and contacts'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'cqrs-admin;accounts;help;show'= {
        }
        &'cqrs-admin;accounts;help;help'= {
        }
        &'cqrs-admin;cutover'= {
            cand --db 'The store (an SQLite file, created by the first import or `cutover set`)'
            cand --actor 'Who is running the command; recorded with every change [default: your login name]'
            cand --format 'How to print records'
            cand --today 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]'
            cand --cutover 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one'
            cand -h 'Print help'
            cand --help 'Print help'
            cand show 'Print the cutover date and the days left'
            cand set 'Keep a new cutover date in the store'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'cqrs-admin;cutover;show'= {
            cand --db 'The store (an SQLite file, created by the first import or `cutover set`)'
            cand --actor 'Who is running the command; recorded with every change [default: your login name]'
            cand --format 'How to print records'
            cand --today 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]'
            cand --cutover 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'cqrs-admin;cutover;set'= {
            cand --db 'The store (an SQLite file, created by the first import or `cutover set`)'
            cand --actor 'Who is running the command; recorded with every change [default: your login name]'
            cand --format 'How to print records'
            cand --today 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]'
            cand --cutover 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'cqrs-admin;cutover;help'= {
            cand show 'Print the cutover date and the days left'
            cand set 'Keep a new cutover date in the store'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'cqrs-admin;cutover;help;show'= {
        }
        &'cqrs-admin;cutover;help;set'= {
        }
        &'cqrs-admin;cutover;help;help'= {
        }
        &'cqrs-admin;plan'= {
            cand --out 'Where to write the plan (CSV, a new owner-only file); `-` for standard output'
            cand --contact 'Only accounts whose contact is this organisation (ODS code)'
            cand --db 'The store (an SQLite file, created by the first import or `cutover set`)'
            cand --actor 'Who is running the command; recorded with every change [default: your login name]'
            cand --format 'How to print records'
            cand --today 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]'
            cand --cutover 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one'
            cand --force 'Replace the file at --out if there is one (never the store, a link or a device)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'cqrs-admin;replace'= {
            cand --email 'The replacement''s NHSmail address'
            cand --plan 'A reviewed plan: CSV with account_id,new_email[,reason]'
            cand --reason 'Why (recorded in the change log; required when the directory names differ)'
            cand --db 'The store (an SQLite file, created by the first import or `cutover set`)'
            cand --actor 'Who is running the command; recorded with every change [default: your login name]'
            cand --format 'How to print records'
            cand --today 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]'
            cand --cutover 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one'
            cand --allow-admin 'Acknowledge that an account holding an administrator role is being replaced'
            cand --disable-old 'Also disable the old account (it is kept, with its history)'
            cand -y 'Answer yes to the confirmation (needed when not at a terminal)'
            cand --yes 'Answer yes to the confirmation (needed when not at a terminal)'
            cand --dry-run 'Show what would happen and change nothing'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'cqrs-admin;revert'= {
            cand --reason 'Why (recorded in the change log)'
            cand --db 'The store (an SQLite file, created by the first import or `cutover set`)'
            cand --actor 'Who is running the command; recorded with every change [default: your login name]'
            cand --format 'How to print records'
            cand --today 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]'
            cand --cutover 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one'
            cand -y 'Answer yes to the confirmation (needed when not at a terminal)'
            cand --yes 'Answer yes to the confirmation (needed when not at a terminal)'
            cand --dry-run 'Show what would happen and change nothing'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'cqrs-admin;reinstate'= {
            cand --reason 'Why (recorded in the change log)'
            cand --db 'The store (an SQLite file, created by the first import or `cutover set`)'
            cand --actor 'Who is running the command; recorded with every change [default: your login name]'
            cand --format 'How to print records'
            cand --today 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]'
            cand --cutover 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one'
            cand -y 'Answer yes to the confirmation (needed when not at a terminal)'
            cand --yes 'Answer yes to the confirmation (needed when not at a terminal)'
            cand --dry-run 'Show what would happen and change nothing'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'cqrs-admin;history'= {
            cand --db 'The store (an SQLite file, created by the first import or `cutover set`)'
            cand --actor 'Who is running the command; recorded with every change [default: your login name]'
            cand --format 'How to print records'
            cand --today 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]'
            cand --cutover 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'cqrs-admin;verify'= {
            cand --db 'The store (an SQLite file, created by the first import or `cutover set`)'
            cand --actor 'Who is running the command; recorded with every change [default: your login name]'
            cand --format 'How to print records'
            cand --today 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]'
            cand --cutover 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'cqrs-admin;log'= {
            cand --since 'Only entries on or after this date (YYYY-MM-DD)'
            cand --until 'Only entries on or before this date (YYYY-MM-DD)'
            cand --by 'Only entries by this operator'
            cand --account 'Only entries about this account (old or new)'
            cand --db 'The store (an SQLite file, created by the first import or `cutover set`)'
            cand --actor 'Who is running the command; recorded with every change [default: your login name]'
            cand --format 'How to print records'
            cand --today 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]'
            cand --cutover 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'cqrs-admin;export'= {
            cand --out 'The folder to write into (created owner-only if missing); `-` writes the file chosen by --only to standard output'
            cand --only 'Write only this file (required with `--out -`)'
            cand --db 'The store (an SQLite file, created by the first import or `cutover set`)'
            cand --actor 'Who is running the command; recorded with every change [default: your login name]'
            cand --format 'How to print records'
            cand --today 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]'
            cand --cutover 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one'
            cand --force 'Replace the files already in the folder (never the store, a link or a device)'
            cand --all 'Export every account and role, not only the replacement accounts'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'cqrs-admin;completions'= {
            cand --db 'The store (an SQLite file, created by the first import or `cutover set`)'
            cand --actor 'Who is running the command; recorded with every change [default: your login name]'
            cand --format 'How to print records'
            cand --today 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]'
            cand --cutover 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'cqrs-admin;man'= {
            cand --db 'The store (an SQLite file, created by the first import or `cutover set`)'
            cand --actor 'Who is running the command; recorded with every change [default: your login name]'
            cand --format 'How to print records'
            cand --today 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]'
            cand --cutover 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'cqrs-admin;help'= {
            cand import 'Import a CQRS export or the NHSmail directory extract (whole file or nothing)'
            cand audit 'Every account''s category, NHSmail match and section'
            cand report 'Who must do what before cutover, grouped by whom they contact'
            cand signin 'What a person will see when signing in with this NHSmail address on cutover day'
            cand accounts 'Look at accounts'
            cand cutover 'Show or set the cutover date kept in the store'
            cand plan 'Write a bulk replacement plan from the confident matches, for review'
            cand replace 'Create replacement accounts, one at a time or from a reviewed plan'
            cand revert 'Undo a replacement: disable the replacement account, restore the old one'
            cand reinstate 'Undo a revert: make a reverted replacement active again, replacing the old account again'
            cand history 'The activity an account can see'
            cand verify 'Prove that every replacement has the old account''s roles and sees the same history'
            cand log 'The change log: every replacement and revert, who did it and when'
            cand export 'Write replacement accounts (or the whole store) as CSV in the import formats'
            cand completions 'Print a shell completion script'
            cand man 'Print the manual page (roff)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'cqrs-admin;help;import'= {
        }
        &'cqrs-admin;help;audit'= {
        }
        &'cqrs-admin;help;report'= {
        }
        &'cqrs-admin;help;signin'= {
        }
        &'cqrs-admin;help;accounts'= {
            cand show 'One account: its roles, category, NHSmail match and contacts'
        }
        &'cqrs-admin;help;accounts;show'= {
        }
        &'cqrs-admin;help;cutover'= {
            cand show 'Print the cutover date and the days left'
            cand set 'Keep a new cutover date in the store'
        }
        &'cqrs-admin;help;cutover;show'= {
        }
        &'cqrs-admin;help;cutover;set'= {
        }
        &'cqrs-admin;help;plan'= {
        }
        &'cqrs-admin;help;replace'= {
        }
        &'cqrs-admin;help;revert'= {
        }
        &'cqrs-admin;help;reinstate'= {
        }
        &'cqrs-admin;help;history'= {
        }
        &'cqrs-admin;help;verify'= {
        }
        &'cqrs-admin;help;log'= {
        }
        &'cqrs-admin;help;export'= {
        }
        &'cqrs-admin;help;completions'= {
        }
        &'cqrs-admin;help;man'= {
        }
        &'cqrs-admin;help;help'= {
        }
    ]
    $completions[$command]
}
