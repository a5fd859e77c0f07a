-- 0015_subject_map_cosignatures: the PostgreSQL mirror of the SQLite
-- migration of the same number. The witness cosignatures of the kept subject
-- checkpoints, one row per signature line of the cosigned note (key name,
-- key hash, signature bytes), at most one per key and revision, deleted with
-- their revision.

CREATE TABLE subject_map_cosignatures (
    rev      BIGINT NOT NULL REFERENCES subject_map_revisions (rev) ON DELETE CASCADE,
    key_name TEXT   NOT NULL CHECK (length(key_name) BETWEEN 1 AND 256),
    key_hash BIGINT NOT NULL CHECK (key_hash BETWEEN 0 AND 4294967295),
    sig      BYTEA  NOT NULL CHECK (length(sig) BETWEEN 5 AND 512),
    PRIMARY KEY (rev, key_name, key_hash)
);
