-- 0016_outbound_audit: the internal audit's search of the outbound log
-- ("which of our staff looked up this SME, for which application") by
-- index, not by reading the whole log. One row per outbound leaf, written in
-- the leaf's transaction; the leaf's entry stays the record (a row repeats
-- three of its fields), and search results are read from the log itself and
-- checked against the search, so an index row can hide a leaf from a search
-- but never put a wrong one in it.
CREATE TABLE outbound_audit (
    idx          INTEGER PRIMARY KEY,
    staff_id     TEXT NOT NULL,
    business_ref TEXT NOT NULL,
    purpose      TEXT NOT NULL
);
CREATE INDEX outbound_audit_staff ON outbound_audit (staff_id, idx);
CREATE INDEX outbound_audit_ref ON outbound_audit (business_ref, idx);
CREATE INDEX outbound_audit_purpose ON outbound_audit (purpose, idx);
CREATE INDEX outbound_log_subject ON outbound_log (subject, idx);
CREATE INDEX outbound_log_time ON outbound_log (time);
-- Leaves written before this migration.
INSERT INTO outbound_audit (idx, staff_id, business_ref, purpose)
SELECT idx, COALESCE(json_extract(CAST(entry AS TEXT), '$.staff_id'), ''),
       COALESCE(json_extract(CAST(entry AS TEXT), '$.business_ref'), ''),
       COALESCE(json_extract(CAST(entry AS TEXT), '$.purpose'), '')
FROM outbound_log;
