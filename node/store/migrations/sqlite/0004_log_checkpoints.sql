-- 0004_log_checkpoints: the signed checkpoints (C2SP tlog-checkpoint notes)
-- published for each log. A checkpoint is written in the same transaction
-- as the tree state it signs, so its root always matches the stored tree.
-- Rows are append-only; at most one checkpoint per (log, size): a second,
-- different one would be a split view.

CREATE TABLE log_checkpoints (
    log          TEXT    NOT NULL CHECK (log IN ('inquiry', 'outbound')),
    size         INTEGER NOT NULL CHECK (size >= 0),
    root         BLOB    NOT NULL CHECK (length(root) = 32),
    note         BLOB    NOT NULL CHECK (length(note) > 0),
    published_at INTEGER NOT NULL,
    PRIMARY KEY (log, size)
);

CREATE TRIGGER log_checkpoints_no_update BEFORE UPDATE ON log_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'log_checkpoints is append-only');
END;
CREATE TRIGGER log_checkpoints_no_delete BEFORE DELETE ON log_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'log_checkpoints is append-only');
END;
