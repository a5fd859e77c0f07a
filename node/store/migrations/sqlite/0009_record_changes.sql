-- 0009_record_changes: a change sequence over the records table, for
-- peer-to-peer change feeds (node/feeds). Every insert, update or delete of
-- a record appends (seq, key) here; a subscriber pulls the changes after its
-- cursor, and a key whose record is gone is delivered as withdrawn.
--
-- seq comes from AUTOINCREMENT: strictly increasing and never reused, even
-- after a rollback. SQLite has one writer at a time, so a change with a
-- higher seq never becomes visible before one with a lower seq: a cursor
-- never skips a change. Records existing before this migration are recorded
-- once, in a stable order, so a new subscriber receives them too.
CREATE TABLE record_changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    subject    TEXT    NOT NULL,
    category   TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    changed_at INTEGER NOT NULL
);
CREATE INDEX record_changes_category ON record_changes (category, seq);

INSERT INTO record_changes (subject, category, id, changed_at)
SELECT subject, category, id, updated_at FROM records ORDER BY updated_at, subject, category, id;

CREATE TRIGGER records_changed_insert AFTER INSERT ON records
BEGIN
    INSERT INTO record_changes (subject, category, id, changed_at)
    VALUES (NEW.subject, NEW.category, NEW.id, NEW.updated_at);
END;
CREATE TRIGGER records_changed_update AFTER UPDATE ON records
BEGIN
    INSERT INTO record_changes (subject, category, id, changed_at)
    VALUES (NEW.subject, NEW.category, NEW.id, NEW.updated_at);
END;
CREATE TRIGGER records_changed_delete AFTER DELETE ON records
BEGIN
    INSERT INTO record_changes (subject, category, id, changed_at)
    VALUES (OLD.subject, OLD.category, OLD.id, CAST((julianday('now') - 2440587.5) * 86400000000000 AS INTEGER));
END;
