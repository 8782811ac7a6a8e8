
DO $compression$
BEGIN
    ALTER TABLE report_cache ALTER COLUMN rows SET COMPRESSION lz4;
    ALTER TABLE progress_snapshots ALTER COLUMN needing SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    ALTER TABLE report_cache ALTER COLUMN rows SET STORAGE EXTERNAL;
    ALTER TABLE progress_snapshots ALTER COLUMN needing SET STORAGE EXTERNAL;
END
$compression$;
