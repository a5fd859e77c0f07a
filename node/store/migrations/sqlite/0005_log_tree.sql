-- 0005_log_tree: the Merkle tree over each log's leaf hashes, so that a root
-- or a proof at any size needs O(log n) reads rather than every leaf.
--
-- log_tree_nodes holds the hashes of the perfect subtrees at levels 0, 4, 8,
-- ... (level 0 is a copy of the leaf hash as it was integrated, which lets
-- `log verify` name an edited or reordered row); a node at another level is
-- recomputed from at most 8 stored children. Nodes are append-only.
-- log_tree_state is how many leaves the tree covers and the compact range
-- (concatenated 32-byte hashes) of [0, size), updated with every extension.

CREATE TABLE log_tree_nodes (
    log   TEXT    NOT NULL CHECK (log IN ('inquiry', 'outbound')),
    level INTEGER NOT NULL CHECK (level >= 0 AND level < 64),
    idx   INTEGER NOT NULL CHECK (idx >= 0),
    hash  BLOB    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (log, level, idx)
) WITHOUT ROWID;

CREATE TRIGGER log_tree_nodes_no_update BEFORE UPDATE ON log_tree_nodes
BEGIN
    SELECT RAISE(ABORT, 'log_tree_nodes is append-only');
END;
CREATE TRIGGER log_tree_nodes_no_delete BEFORE DELETE ON log_tree_nodes
BEGIN
    SELECT RAISE(ABORT, 'log_tree_nodes is append-only');
END;

CREATE TABLE log_tree_state (
    log   TEXT    PRIMARY KEY CHECK (log IN ('inquiry', 'outbound')),
    size  INTEGER NOT NULL CHECK (size >= 0),
    range BLOB    NOT NULL CHECK (length(range) % 32 = 0)
);
