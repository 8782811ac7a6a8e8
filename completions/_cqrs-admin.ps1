
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'cqrs-admin' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'cqrs-admin'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'cqrs-admin' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store (an SQLite file, created by the first import or `cutover set`)')
            [CompletionResult]::new('--actor', '--actor', [CompletionResultType]::ParameterName, 'Who is running the command; recorded with every change [default: your login name]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to print records')
            [CompletionResult]::new('--today', '--today', [CompletionResultType]::ParameterName, 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]')
            [CompletionResult]::new('--cutover', '--cutover', [CompletionResultType]::ParameterName, 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Import a CQRS export or the NHSmail directory extract (whole file or nothing)')
            [CompletionResult]::new('audit', 'audit', [CompletionResultType]::ParameterValue, 'Every account''s category, NHSmail match and section')
            [CompletionResult]::new('report', 'report', [CompletionResultType]::ParameterValue, 'Who must do what before cutover, grouped by whom they contact')
            [CompletionResult]::new('signin', 'signin', [CompletionResultType]::ParameterValue, 'What a person will see when signing in with this NHSmail address on cutover day')
            [CompletionResult]::new('accounts', 'accounts', [CompletionResultType]::ParameterValue, 'Look at accounts')
            [CompletionResult]::new('cutover', 'cutover', [CompletionResultType]::ParameterValue, 'Show or set the cutover date kept in the store')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Write a bulk replacement plan from the confident matches, for review')
            [CompletionResult]::new('replace', 'replace', [CompletionResultType]::ParameterValue, 'Create replacement accounts, one at a time or from a reviewed plan')
            [CompletionResult]::new('revert', 'revert', [CompletionResultType]::ParameterValue, 'Undo a replacement: disable the replacement account, restore the old one')
            [CompletionResult]::new('reinstate', 'reinstate', [CompletionResultType]::ParameterValue, 'Undo a revert: make a reverted replacement active again, replacing the old account again')
            [CompletionResult]::new('history', 'history', [CompletionResultType]::ParameterValue, 'The activity an account can see')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Prove that every replacement has the old account''s roles and sees the same history')
            [CompletionResult]::new('log', 'log', [CompletionResultType]::ParameterValue, 'The change log: every replacement and revert, who did it and when')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Write replacement accounts (or the whole store) as CSV in the import formats')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the manual page (roff)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'cqrs-admin;import' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store (an SQLite file, created by the first import or `cutover set`)')
            [CompletionResult]::new('--actor', '--actor', [CompletionResultType]::ParameterName, 'Who is running the command; recorded with every change [default: your login name]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to print records')
            [CompletionResult]::new('--today', '--today', [CompletionResultType]::ParameterName, 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]')
            [CompletionResult]::new('--cutover', '--cutover', [CompletionResultType]::ParameterName, 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Check the file and report what would change, without writing anything')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'cqrs-admin;audit' {
            [CompletionResult]::new('--category', '--category', [CompletionResultType]::ParameterName, 'Only accounts in this category (repeatable)')
            [CompletionResult]::new('--section', '--section', [CompletionResultType]::ParameterName, 'Only accounts in this section (repeatable)')
            [CompletionResult]::new('--org', '--org', [CompletionResultType]::ParameterName, 'Only accounts holding a role at this organisation (ODS code)')
            [CompletionResult]::new('--contact', '--contact', [CompletionResultType]::ParameterName, 'Only accounts whose contact is this organisation (ODS code, or cqrs-administrator)')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store (an SQLite file, created by the first import or `cutover set`)')
            [CompletionResult]::new('--actor', '--actor', [CompletionResultType]::ParameterName, 'Who is running the command; recorded with every change [default: your login name]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to print records')
            [CompletionResult]::new('--today', '--today', [CompletionResultType]::ParameterName, 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]')
            [CompletionResult]::new('--cutover', '--cutover', [CompletionResultType]::ParameterName, 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one')
            [CompletionResult]::new('--include-disabled', '--include-disabled', [CompletionResultType]::ParameterName, 'Include disabled accounts')
            [CompletionResult]::new('--counts', '--counts', [CompletionResultType]::ParameterName, 'Print the number of accounts in each category instead of the accounts')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Exit with status 3 when any account needs action before cutover')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'cqrs-admin;report' {
            [CompletionResult]::new('--section', '--section', [CompletionResultType]::ParameterName, 'Only this section (repeatable)')
            [CompletionResult]::new('--contact', '--contact', [CompletionResultType]::ParameterName, 'Only this contact (ODS code, or cqrs-administrator)')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store (an SQLite file, created by the first import or `cutover set`)')
            [CompletionResult]::new('--actor', '--actor', [CompletionResultType]::ParameterName, 'Who is running the command; recorded with every change [default: your login name]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to print records')
            [CompletionResult]::new('--today', '--today', [CompletionResultType]::ParameterName, 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]')
            [CompletionResult]::new('--cutover', '--cutover', [CompletionResultType]::ParameterName, 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Exit with status 3 when any account needs action before cutover')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'cqrs-admin;signin' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store (an SQLite file, created by the first import or `cutover set`)')
            [CompletionResult]::new('--actor', '--actor', [CompletionResultType]::ParameterName, 'Who is running the command; recorded with every change [default: your login name]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to print records')
            [CompletionResult]::new('--today', '--today', [CompletionResultType]::ParameterName, 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]')
            [CompletionResult]::new('--cutover', '--cutover', [CompletionResultType]::ParameterName, 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'cqrs-admin;accounts' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store (an SQLite file, created by the first import or `cutover set`)')
            [CompletionResult]::new('--actor', '--actor', [CompletionResultType]::ParameterName, 'Who is running the command; recorded with every change [default: your login name]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to print records')
            [CompletionResult]::new('--today', '--today', [CompletionResultType]::ParameterName, 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]')
            [CompletionResult]::new('--cutover', '--cutover', [CompletionResultType]::ParameterName, 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'One account: its roles, category, NHSmail match and contacts')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'cqrs-admin;accounts;show' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store (an SQLite file, created by the first import or `cutover set`)')
            [CompletionResult]::new('--actor', '--actor', [CompletionResultType]::ParameterName, 'Who is running the command; recorded with every change [default: your login name]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to print records')
            [CompletionResult]::new('--today', '--today', [CompletionResultType]::ParameterName, 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]')
            [CompletionResult]::new('--cutover', '--cutover', [CompletionResultType]::ParameterName, 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'cqrs-admin;accounts;help' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'One account: its roles, category, NHSmail match and contacts')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'cqrs-admin;accounts;help;show' {
            break
        }
        'cqrs-admin;accounts;help;help' {
            break
        }
        'cqrs-admin;cutover' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store (an SQLite file, created by the first import or `cutover set`)')
            [CompletionResult]::new('--actor', '--actor', [CompletionResultType]::ParameterName, 'Who is running the command; recorded with every change [default: your login name]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to print records')
            [CompletionResult]::new('--today', '--today', [CompletionResultType]::ParameterName, 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]')
            [CompletionResult]::new('--cutover', '--cutover', [CompletionResultType]::ParameterName, 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print the cutover date and the days left')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Keep a new cutover date in the store')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'cqrs-admin;cutover;show' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store (an SQLite file, created by the first import or `cutover set`)')
            [CompletionResult]::new('--actor', '--actor', [CompletionResultType]::ParameterName, 'Who is running the command; recorded with every change [default: your login name]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to print records')
            [CompletionResult]::new('--today', '--today', [CompletionResultType]::ParameterName, 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]')
            [CompletionResult]::new('--cutover', '--cutover', [CompletionResultType]::ParameterName, 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'cqrs-admin;cutover;set' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store (an SQLite file, created by the first import or `cutover set`)')
            [CompletionResult]::new('--actor', '--actor', [CompletionResultType]::ParameterName, 'Who is running the command; recorded with every change [default: your login name]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to print records')
            [CompletionResult]::new('--today', '--today', [CompletionResultType]::ParameterName, 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]')
            [CompletionResult]::new('--cutover', '--cutover', [CompletionResultType]::ParameterName, 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'cqrs-admin;cutover;help' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print the cutover date and the days left')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Keep a new cutover date in the store')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'cqrs-admin;cutover;help;show' {
            break
        }
        'cqrs-admin;cutover;help;set' {
            break
        }
        'cqrs-admin;cutover;help;help' {
            break
        }
        'cqrs-admin;plan' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Where to write the plan (CSV, a new owner-only file); `-` for standard output')
            [CompletionResult]::new('--contact', '--contact', [CompletionResultType]::ParameterName, 'Only accounts whose contact is this organisation (ODS code)')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store (an SQLite file, created by the first import or `cutover set`)')
            [CompletionResult]::new('--actor', '--actor', [CompletionResultType]::ParameterName, 'Who is running the command; recorded with every change [default: your login name]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to print records')
            [CompletionResult]::new('--today', '--today', [CompletionResultType]::ParameterName, 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]')
            [CompletionResult]::new('--cutover', '--cutover', [CompletionResultType]::ParameterName, 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace the file at --out if there is one (never the store, a link or a device)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'cqrs-admin;replace' {
            [CompletionResult]::new('--email', '--email', [CompletionResultType]::ParameterName, 'The replacement''s NHSmail address')
            [CompletionResult]::new('--plan', '--plan', [CompletionResultType]::ParameterName, 'A reviewed plan: CSV with account_id,new_email[,reason]')
            [CompletionResult]::new('--reason', '--reason', [CompletionResultType]::ParameterName, 'Why (recorded in the change log; required when the directory names differ)')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store (an SQLite file, created by the first import or `cutover set`)')
            [CompletionResult]::new('--actor', '--actor', [CompletionResultType]::ParameterName, 'Who is running the command; recorded with every change [default: your login name]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to print records')
            [CompletionResult]::new('--today', '--today', [CompletionResultType]::ParameterName, 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]')
            [CompletionResult]::new('--cutover', '--cutover', [CompletionResultType]::ParameterName, 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one')
            [CompletionResult]::new('--allow-admin', '--allow-admin', [CompletionResultType]::ParameterName, 'Acknowledge that an account holding an administrator role is being replaced')
            [CompletionResult]::new('--disable-old', '--disable-old', [CompletionResultType]::ParameterName, 'Also disable the old account (it is kept, with its history)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to the confirmation (needed when not at a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to the confirmation (needed when not at a terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what would happen and change nothing')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'cqrs-admin;revert' {
            [CompletionResult]::new('--reason', '--reason', [CompletionResultType]::ParameterName, 'Why (recorded in the change log)')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store (an SQLite file, created by the first import or `cutover set`)')
            [CompletionResult]::new('--actor', '--actor', [CompletionResultType]::ParameterName, 'Who is running the command; recorded with every change [default: your login name]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to print records')
            [CompletionResult]::new('--today', '--today', [CompletionResultType]::ParameterName, 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]')
            [CompletionResult]::new('--cutover', '--cutover', [CompletionResultType]::ParameterName, 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to the confirmation (needed when not at a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to the confirmation (needed when not at a terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what would happen and change nothing')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'cqrs-admin;reinstate' {
            [CompletionResult]::new('--reason', '--reason', [CompletionResultType]::ParameterName, 'Why (recorded in the change log)')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store (an SQLite file, created by the first import or `cutover set`)')
            [CompletionResult]::new('--actor', '--actor', [CompletionResultType]::ParameterName, 'Who is running the command; recorded with every change [default: your login name]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to print records')
            [CompletionResult]::new('--today', '--today', [CompletionResultType]::ParameterName, 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]')
            [CompletionResult]::new('--cutover', '--cutover', [CompletionResultType]::ParameterName, 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to the confirmation (needed when not at a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to the confirmation (needed when not at a terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what would happen and change nothing')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'cqrs-admin;history' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store (an SQLite file, created by the first import or `cutover set`)')
            [CompletionResult]::new('--actor', '--actor', [CompletionResultType]::ParameterName, 'Who is running the command; recorded with every change [default: your login name]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to print records')
            [CompletionResult]::new('--today', '--today', [CompletionResultType]::ParameterName, 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]')
            [CompletionResult]::new('--cutover', '--cutover', [CompletionResultType]::ParameterName, 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'cqrs-admin;verify' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store (an SQLite file, created by the first import or `cutover set`)')
            [CompletionResult]::new('--actor', '--actor', [CompletionResultType]::ParameterName, 'Who is running the command; recorded with every change [default: your login name]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to print records')
            [CompletionResult]::new('--today', '--today', [CompletionResultType]::ParameterName, 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]')
            [CompletionResult]::new('--cutover', '--cutover', [CompletionResultType]::ParameterName, 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'cqrs-admin;log' {
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only entries on or after this date (YYYY-MM-DD)')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'Only entries on or before this date (YYYY-MM-DD)')
            [CompletionResult]::new('--by', '--by', [CompletionResultType]::ParameterName, 'Only entries by this operator')
            [CompletionResult]::new('--account', '--account', [CompletionResultType]::ParameterName, 'Only entries about this account (old or new)')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store (an SQLite file, created by the first import or `cutover set`)')
            [CompletionResult]::new('--actor', '--actor', [CompletionResultType]::ParameterName, 'Who is running the command; recorded with every change [default: your login name]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to print records')
            [CompletionResult]::new('--today', '--today', [CompletionResultType]::ParameterName, 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]')
            [CompletionResult]::new('--cutover', '--cutover', [CompletionResultType]::ParameterName, 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'cqrs-admin;export' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'The folder to write into (created owner-only if missing); `-` writes the file chosen by --only to standard output')
            [CompletionResult]::new('--only', '--only', [CompletionResultType]::ParameterName, 'Write only this file (required with `--out -`)')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store (an SQLite file, created by the first import or `cutover set`)')
            [CompletionResult]::new('--actor', '--actor', [CompletionResultType]::ParameterName, 'Who is running the command; recorded with every change [default: your login name]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to print records')
            [CompletionResult]::new('--today', '--today', [CompletionResultType]::ParameterName, 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]')
            [CompletionResult]::new('--cutover', '--cutover', [CompletionResultType]::ParameterName, 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace the files already in the folder (never the store, a link or a device)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Export every account and role, not only the replacement accounts')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'cqrs-admin;completions' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store (an SQLite file, created by the first import or `cutover set`)')
            [CompletionResult]::new('--actor', '--actor', [CompletionResultType]::ParameterName, 'Who is running the command; recorded with every change [default: your login name]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to print records')
            [CompletionResult]::new('--today', '--today', [CompletionResultType]::ParameterName, 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]')
            [CompletionResult]::new('--cutover', '--cutover', [CompletionResultType]::ParameterName, 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'cqrs-admin;man' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The store (an SQLite file, created by the first import or `cutover set`)')
            [CompletionResult]::new('--actor', '--actor', [CompletionResultType]::ParameterName, 'Who is running the command; recorded with every change [default: your login name]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to print records')
            [CompletionResult]::new('--today', '--today', [CompletionResultType]::ParameterName, 'Pin today''s date (YYYY-MM-DD), for reproducible reports [default: the system date]')
            [CompletionResult]::new('--cutover', '--cutover', [CompletionResultType]::ParameterName, 'Use this cutover date (YYYY-MM-DD) for this run instead of the stored one')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'cqrs-admin;help' {
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Import a CQRS export or the NHSmail directory extract (whole file or nothing)')
            [CompletionResult]::new('audit', 'audit', [CompletionResultType]::ParameterValue, 'Every account''s category, NHSmail match and section')
            [CompletionResult]::new('report', 'report', [CompletionResultType]::ParameterValue, 'Who must do what before cutover, grouped by whom they contact')
            [CompletionResult]::new('signin', 'signin', [CompletionResultType]::ParameterValue, 'What a person will see when signing in with this NHSmail address on cutover day')
            [CompletionResult]::new('accounts', 'accounts', [CompletionResultType]::ParameterValue, 'Look at accounts')
            [CompletionResult]::new('cutover', 'cutover', [CompletionResultType]::ParameterValue, 'Show or set the cutover date kept in the store')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Write a bulk replacement plan from the confident matches, for review')
            [CompletionResult]::new('replace', 'replace', [CompletionResultType]::ParameterValue, 'Create replacement accounts, one at a time or from a reviewed plan')
            [CompletionResult]::new('revert', 'revert', [CompletionResultType]::ParameterValue, 'Undo a replacement: disable the replacement account, restore the old one')
            [CompletionResult]::new('reinstate', 'reinstate', [CompletionResultType]::ParameterValue, 'Undo a revert: make a reverted replacement active again, replacing the old account again')
            [CompletionResult]::new('history', 'history', [CompletionResultType]::ParameterValue, 'The activity an account can see')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Prove that every replacement has the old account''s roles and sees the same history')
            [CompletionResult]::new('log', 'log', [CompletionResultType]::ParameterValue, 'The change log: every replacement and revert, who did it and when')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Write replacement accounts (or the whole store) as CSV in the import formats')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the manual page (roff)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'cqrs-admin;help;import' {
            break
        }
        'cqrs-admin;help;audit' {
            break
        }
        'cqrs-admin;help;report' {
            break
        }
        'cqrs-admin;help;signin' {
            break
        }
        'cqrs-admin;help;accounts' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'One account: its roles, category, NHSmail match and contacts')
            break
        }
        'cqrs-admin;help;accounts;show' {
            break
        }
        'cqrs-admin;help;cutover' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Print the cutover date and the days left')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Keep a new cutover date in the store')
            break
        }
        'cqrs-admin;help;cutover;show' {
            break
        }
        'cqrs-admin;help;cutover;set' {
            break
        }
        'cqrs-admin;help;plan' {
            break
        }
        'cqrs-admin;help;replace' {
            break
        }
        'cqrs-admin;help;revert' {
            break
        }
        'cqrs-admin;help;reinstate' {
            break
        }
        'cqrs-admin;help;history' {
            break
        }
        'cqrs-admin;help;verify' {
            break
        }
        'cqrs-admin;help;log' {
            break
        }
        'cqrs-admin;help;export' {
            break
        }
        'cqrs-admin;help;completions' {
            break
        }
        'cqrs-admin;help;man' {
            break
        }
        'cqrs-admin;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
