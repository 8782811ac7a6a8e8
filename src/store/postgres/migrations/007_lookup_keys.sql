-- The look-ups by address through a bigint key (src/store/postgres/lookup_key.rs)
-- instead of an expression index on the text: accounts.email_key is
-- hashtextextended(lower(btrim(email)), 0), directory.address_key is
-- hashtextextended(lower(address), 0). Every look-up compares the text too.
-- The trigger keeps them for every row written, whoever writes it; a first
-- import sends them with the rows, the trigger set aside for its load.
CREATE FUNCTION cqrs_lookup_keys() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    IF TG_TABLE_NAME = 'accounts' THEN
        NEW.email_key := hashtextextended(lower(btrim(NEW.email)), 0);
    ELSE
        NEW.address_key := hashtextextended(lower(NEW.address), 0);
    END IF;
    RETURN NEW;
END
$$;

ALTER TABLE accounts ADD COLUMN email_key bigint;
UPDATE accounts SET email_key = hashtextextended(lower(btrim(email)), 0);
ALTER TABLE accounts ALTER COLUMN email_key SET NOT NULL;
CREATE TRIGGER accounts_email_key
BEFORE INSERT OR UPDATE OF email, email_key ON accounts FOR EACH ROW
EXECUTE FUNCTION cqrs_lookup_keys();
DROP INDEX accounts_by_email;
CREATE INDEX accounts_by_email ON accounts (email_key);

ALTER TABLE directory ADD COLUMN address_key bigint;
UPDATE directory SET address_key = hashtextextended(lower(address), 0);
ALTER TABLE directory ALTER COLUMN address_key SET NOT NULL;
CREATE TRIGGER directory_address_key
BEFORE INSERT OR UPDATE OF address, address_key ON directory FOR EACH ROW
EXECUTE FUNCTION cqrs_lookup_keys();
DROP INDEX directory_by_address;
CREATE INDEX directory_by_address ON directory (address_key);
