-- A first import may TRUNCATE accounts and activity while they hold no
-- row, so that it can load them with `COPY … (FREEZE)` (which PostgreSQL
-- allows only into a table truncated or created in the same transaction):
-- the rows go in frozen and their pages all-visible, so the first command
-- to read them after the import no longer rewrites every page to set its
-- hint bits, and autovacuum finds nothing to do on them (import.rs has
-- the figures). Truncating an empty table deletes nothing, so the promise
-- that an account or an activity is never deleted holds: a TRUNCATE of a
-- table that holds a row is refused as before, whoever runs it. `DELETE`
-- stays refused even when no row matches.
--
-- Whether the table holds a row is asked after TRUNCATE has taken the
-- table's exclusive lock (no writer is still under way), by a statement
-- that sees every committed row: in READ COMMITTED each statement of the
-- function takes a snapshot of its own. A REPEATABLE READ or SERIALIZABLE
-- transaction's snapshot may be older than a row committed meanwhile, so
-- there only a table with no page at all may be truncated. Row-level
-- security is off for the look, so that a login whose policies hide some
-- rows is refused (the look fails) rather than shown an empty table.
CREATE FUNCTION cqrs_refuse_unless_empty() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog SET row_security = off AS $$
DECLARE
    holds boolean := true;
BEGIN
    IF pg_relation_size(TG_RELID) = 0 THEN
        RETURN NULL;
    END IF;
    IF current_setting('transaction_isolation') = 'read committed' THEN
        EXECUTE format('SELECT EXISTS (SELECT FROM %I.%I)', TG_TABLE_SCHEMA, TG_TABLE_NAME)
            INTO holds;
    END IF;
    IF holds THEN
        RAISE EXCEPTION USING MESSAGE = TG_ARGV[0], ERRCODE = 'CQ001',
            HINT = 'cqrs-admin stores keep history: nothing is edited or deleted (docs/store.md)';
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER accounts_never_deleted ON accounts;
CREATE TRIGGER accounts_never_deleted
BEFORE DELETE ON accounts FOR EACH STATEMENT
EXECUTE FUNCTION cqrs_refuse('accounts are never deleted: disable the account instead');
CREATE TRIGGER accounts_never_emptied
BEFORE TRUNCATE ON accounts FOR EACH STATEMENT
EXECUTE FUNCTION cqrs_refuse_unless_empty('accounts are never deleted: disable the account instead');

DROP TRIGGER activity_never_deleted ON activity;
CREATE TRIGGER activity_never_deleted
BEFORE DELETE ON activity FOR EACH STATEMENT
EXECUTE FUNCTION cqrs_refuse('activity is history: it is never moved, changed or deleted');
CREATE TRIGGER activity_never_emptied
BEFORE TRUNCATE ON activity FOR EACH STATEMENT
EXECUTE FUNCTION cqrs_refuse_unless_empty('activity is history: it is never moved, changed or deleted');
