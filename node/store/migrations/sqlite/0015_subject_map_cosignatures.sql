-- 0015_subject_map_cosignatures: the witness cosignatures of the kept subject
-- checkpoints (the rows of subject_map_revisions), so that they survive a
-- restart of the node. A row is one signature line of the cosigned note
-- (golang.org/x/mod/sumdb/note): the witness key's name and hash, and the
-- signature bytes as the line carries them base64-encoded (the key hash,
-- big-endian, then the signature). Only cosignatures that verified under a
-- registered witness key are stored, and node/subjectlog verifies them again
-- when it reads them. A key has at most one cosignature per revision, so
-- adding one again changes nothing; the rows of a pruned revision are
-- deleted with it, in the same transaction (and by the foreign key).

CREATE TABLE subject_map_cosignatures (
    rev      INTEGER NOT NULL REFERENCES subject_map_revisions (rev) ON DELETE CASCADE,
    key_name TEXT    NOT NULL CHECK (length(key_name) BETWEEN 1 AND 256),
    key_hash INTEGER NOT NULL CHECK (key_hash BETWEEN 0 AND 4294967295),
    sig      BLOB    NOT NULL CHECK (length(sig) BETWEEN 5 AND 512),
    PRIMARY KEY (rev, key_name, key_hash)
) WITHOUT ROWID;
