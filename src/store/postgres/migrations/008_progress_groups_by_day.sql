
-- The counts by organisations without their key on (day, organisations):
-- keeping a national snapshot writes some 34,000 groups, and that key (a
-- B-tree of text arrays) cost about as much as the rows themselves. Each
-- day's groups are written together, under the write lock, by the one
-- writer that replaces the day (delete, then insert) or changes the day
-- after it (update, then insert what is not there), so nothing else needs
-- the key; a BRIN index on the day finds a day's rows, which lie together,
-- at almost no cost to write. The GIN index stays: it is what an area
-- operator's reads go through (60 days without it: 2.9 s, with it: 30 ms).
ALTER TABLE progress_groups DROP CONSTRAINT progress_groups_pkey;
CREATE INDEX progress_groups_by_day ON progress_groups USING brin (day);
