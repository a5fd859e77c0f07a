-- 0014_subject_map: the subject map of node/subjectlog (a sparse Merkle tree
-- from subject key to (count, chain head)) kept in the database instead of
-- rebuilt in memory from every leaf at start-up. Nodes are versioned as in
-- Diem's Jellyfish Merkle Tree: a row per (position, revision), never
-- updated; a reader at revision r takes each position's row of the largest
-- revision <= r. A revision is the inquiry-log tree size of the signed
-- subject checkpoint stored with it, in the same transaction as its nodes.
-- subject_map_stale is JMT's stale node index: the rows a later revision
-- replaced, so that pruning old revisions deletes exactly the rows no kept
-- revision can reach. Positions and node encodings are subjectlog's.

CREATE TABLE subject_map_revisions (
    rev  INTEGER PRIMARY KEY CHECK (rev >= 0),
    root BLOB    NOT NULL CHECK (length(root) = 32),
    keys INTEGER NOT NULL CHECK (keys >= 0),
    note BLOB    NOT NULL CHECK (length(note) > 0)
);

CREATE TABLE subject_map_nodes (
    id   BLOB    NOT NULL CHECK (length(id) BETWEEN 1 AND 64),
    rev  INTEGER NOT NULL CHECK (rev >= 0),
    node BLOB    NOT NULL CHECK (length(node) BETWEEN 1 AND 256),
    PRIMARY KEY (id, rev)
) WITHOUT ROWID;

CREATE TABLE subject_map_stale (
    stale_since INTEGER NOT NULL,
    id          BLOB    NOT NULL,
    rev         INTEGER NOT NULL,
    PRIMARY KEY (stale_since, id, rev)
) WITHOUT ROWID;
