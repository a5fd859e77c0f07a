-- 0016_outbound_audit: the internal audit's search of the outbound log by
-- index (mirrors migrations/sqlite/0016).
CREATE TABLE outbound_audit (
    idx          BIGINT PRIMARY KEY,
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
SELECT idx, COALESCE(convert_from(entry, 'UTF8')::jsonb->>'staff_id', ''),
       COALESCE(convert_from(entry, 'UTF8')::jsonb->>'business_ref', ''),
       COALESCE(convert_from(entry, 'UTF8')::jsonb->>'purpose', '')
FROM outbound_log;
