-- 0014_subject_map: the PostgreSQL mirror of the SQLite migration of the
-- same number. The subject map of node/subjectlog as versioned nodes (a row
-- per (position, revision), never updated; Diem's Jellyfish Merkle Tree),
-- its revisions with their signed subject checkpoints, and the stale node
-- index that pruning follows.

CREATE TABLE subject_map_revisions (
    rev  BIGINT PRIMARY KEY CHECK (rev >= 0),
    root BYTEA  NOT NULL CHECK (length(root) = 32),
    keys BIGINT NOT NULL CHECK (keys >= 0),
    note BYTEA  NOT NULL CHECK (length(note) > 0)
);

CREATE TABLE subject_map_nodes (
    id   BYTEA  NOT NULL CHECK (length(id) BETWEEN 1 AND 64),
    rev  BIGINT NOT NULL CHECK (rev >= 0),
    node BYTEA  NOT NULL CHECK (length(node) BETWEEN 1 AND 256),
    PRIMARY KEY (id, rev)
);

CREATE TABLE subject_map_stale (
    stale_since BIGINT NOT NULL,
    id          BYTEA  NOT NULL,
    rev         BIGINT NOT NULL,
    PRIMARY KEY (stale_since, id, rev)
);
