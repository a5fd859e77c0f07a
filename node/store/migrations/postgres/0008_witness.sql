-- 0008_witness: a witness's latest cosigned checkpoint per peer and its
-- alarms (mirrors migrations/sqlite/0008). A peer's record only moves
-- forward (the upsert in postgres_witness.go never lowers the size); alarms
-- are evidence and append-only.

CREATE TABLE witness_checkpoints (
    peer     TEXT   PRIMARY KEY CHECK (peer <> ''),
    size     BIGINT NOT NULL CHECK (size >= 0),
    root     BYTEA  NOT NULL CHECK (length(root) = 32),
    map_root BYTEA  NOT NULL CHECK (length(map_root) = 32),
    vrf_key  BYTEA  NOT NULL CHECK (length(vrf_key) = 32),
    cosigned BYTEA  NOT NULL CHECK (length(cosigned) > 0),
    seen_at  BIGINT NOT NULL
);

CREATE TABLE witness_alarms (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time      BIGINT NOT NULL,
    peer      TEXT   NOT NULL,
    kind      TEXT   NOT NULL,
    detail    TEXT   NOT NULL,
    previous  TEXT   NOT NULL,
    offending TEXT   NOT NULL
);

CREATE TRIGGER witness_alarms_no_change BEFORE UPDATE OR DELETE ON witness_alarms
    FOR EACH ROW EXECUTE FUNCTION log_append_only();
CREATE TRIGGER witness_alarms_no_truncate BEFORE TRUNCATE ON witness_alarms
    FOR EACH STATEMENT EXECUTE FUNCTION log_append_only();
