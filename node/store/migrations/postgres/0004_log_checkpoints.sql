-- 0004_log_checkpoints: the signed checkpoints published for each log
-- (mirrors migrations/sqlite/0004). Rows are append-only; at most one
-- checkpoint per (log, size): a second, different one would be a split view.

CREATE TABLE log_checkpoints (
    log          TEXT   NOT NULL CHECK (log IN ('inquiry', 'outbound')),
    size         BIGINT NOT NULL CHECK (size >= 0),
    root         BYTEA  NOT NULL CHECK (length(root) = 32),
    note         BYTEA  NOT NULL CHECK (length(note) > 0),
    published_at BIGINT NOT NULL,
    PRIMARY KEY (log, size)
);

CREATE TRIGGER log_checkpoints_no_change BEFORE UPDATE OR DELETE ON log_checkpoints
    FOR EACH ROW EXECUTE FUNCTION log_append_only();
CREATE TRIGGER log_checkpoints_no_truncate BEFORE TRUNCATE ON log_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION log_append_only();
