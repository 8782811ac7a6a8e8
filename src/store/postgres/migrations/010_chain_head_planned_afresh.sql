-- The change log's newest entry is looked up afresh at each call, planned
-- with the table's size at that moment. PL/pgSQL keeps a statement's plan
-- for the session: planned on a fresh store, whose statistics say the log
-- is empty, "the newest entry" stayed a scan and sort of the whole log, and
-- each batch of a long write (10,000 entries a batch, two look-ups a batch:
-- this function and the INSERT's statement trigger) read every entry the
-- write had appended so far: 0.8 s of an 89,115-row `replace --plan`. As
-- dynamic SQL it is one index probe (change_log_pkey, backwards). The same
-- answers as before, the same locks, in the same order.
CREATE OR REPLACE FUNCTION cqrs_change_log_lock_head() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    last_seq  bigint;
    last_hash text;
BEGIN
    INSERT INTO public.settings (key, value) VALUES ('change_log.head', '')
        ON CONFLICT (key) DO NOTHING;
    PERFORM 1 FROM public.settings WHERE key = 'change_log.head' FOR UPDATE;
    EXECUTE 'SELECT c.seq, c.hash FROM public.change_log c ORDER BY c.seq DESC LIMIT 1'
        INTO last_seq, last_hash;
    PERFORM set_config('cqrs_admin.chain_tail',
                       coalesce(last_seq, 0)::text || ':' || coalesce(last_hash, repeat('0', 64)),
                       true);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION cqrs_change_log_next()
RETURNS TABLE (seq bigint, hash text, operator text, at text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    INSERT INTO public.settings (key, value) VALUES ('change_log.head', '')
        ON CONFLICT (key) DO NOTHING;
    PERFORM 1 FROM public.settings s WHERE s.key = 'change_log.head' FOR UPDATE;
    RETURN QUERY EXECUTE
        $q$SELECT coalesce(max(c.seq), 0)::bigint,
                  coalesce((SELECT l.hash FROM public.change_log l ORDER BY l.seq DESC LIMIT 1),
                           repeat('0', 64)),
                  session_user::text,
                  to_char(statement_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
           FROM public.change_log c$q$;
END
$$;
