-- 0005_log_tree: the Merkle tree over each log's leaf hashes (mirrors
-- migrations/sqlite/0005). log_tree_nodes holds the hashes of the perfect
-- subtrees at levels 0, 4, 8, ...; nodes are append-only. log_tree_state is
-- how many leaves the tree covers and the compact range of [0, size),
-- updated with every extension.

CREATE TABLE log_tree_nodes (
    log   TEXT    NOT NULL CHECK (log IN ('inquiry', 'outbound')),
    level INTEGER NOT NULL CHECK (level >= 0 AND level < 64),
    idx   BIGINT  NOT NULL CHECK (idx >= 0),
    hash  BYTEA   NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (log, level, idx)
);

CREATE TRIGGER log_tree_nodes_no_change BEFORE UPDATE OR DELETE ON log_tree_nodes
    FOR EACH ROW EXECUTE FUNCTION log_append_only();
CREATE TRIGGER log_tree_nodes_no_truncate BEFORE TRUNCATE ON log_tree_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION log_append_only();

CREATE TABLE log_tree_state (
    log   TEXT   PRIMARY KEY CHECK (log IN ('inquiry', 'outbound')),
    size  BIGINT NOT NULL CHECK (size >= 0),
    range BYTEA  NOT NULL CHECK (length(range) % 32 = 0)
);
