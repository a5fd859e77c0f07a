-- 0009_record_changes: a change sequence over the records table, for
-- peer-to-peer change feeds (mirrors migrations/sqlite/0009): inserts,
-- updates and deletes.
--
-- PostgreSQL runs writers concurrently, and a sequence value taken by a
-- transaction that commits late would appear behind a cursor that already
-- passed it. So the trigger takes an exclusive lock on record_changes (held
-- until commit) and assigns MAX(seq)+1: writers of records are serialised
-- here, and seq order is commit order. Readers (SELECT) are not blocked.
CREATE TABLE record_changes (
    seq        BIGINT PRIMARY KEY CHECK (seq >= 1),
    subject    TEXT   NOT NULL,
    category   TEXT   NOT NULL,
    id         TEXT   NOT NULL,
    changed_at BIGINT NOT NULL
);
CREATE INDEX record_changes_category ON record_changes (category, seq);

INSERT INTO record_changes (seq, subject, category, id, changed_at)
SELECT row_number() OVER (ORDER BY updated_at, subject, category, id), subject, category, id, updated_at FROM records;

CREATE FUNCTION record_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE record_changes IN EXCLUSIVE MODE;
    IF TG_OP = 'DELETE' THEN
        INSERT INTO record_changes (seq, subject, category, id, changed_at)
        SELECT COALESCE(MAX(seq), 0) + 1, OLD.subject, OLD.category, OLD.id,
               (extract(epoch FROM clock_timestamp()) * 1000000000)::bigint FROM record_changes;
    ELSE
        INSERT INTO record_changes (seq, subject, category, id, changed_at)
        SELECT COALESCE(MAX(seq), 0) + 1, NEW.subject, NEW.category, NEW.id, NEW.updated_at FROM record_changes;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER records_changed AFTER INSERT OR UPDATE OR DELETE ON records
    FOR EACH ROW EXECUTE FUNCTION record_changed();
