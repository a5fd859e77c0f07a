-- 0008_witness: what this node, as a witness, accepted from each peer (the
-- latest subject checkpoint it cosigned, with the cosigned note) and the
-- alarms it raised. A peer's record only moves forward: the witness refuses
-- smaller trees, and the upsert below never lowers the size. Alarms are
-- evidence (both notes) and append-only. Neither table holds log entries.

CREATE TABLE witness_checkpoints (
    peer     TEXT    PRIMARY KEY CHECK (peer <> ''),
    size     INTEGER NOT NULL CHECK (size >= 0),
    root     BLOB    NOT NULL CHECK (length(root) = 32),
    map_root BLOB    NOT NULL CHECK (length(map_root) = 32),
    vrf_key  BLOB    NOT NULL CHECK (length(vrf_key) = 32),
    cosigned BLOB    NOT NULL CHECK (length(cosigned) > 0),
    seen_at  INTEGER NOT NULL
);

CREATE TABLE witness_alarms (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    time      INTEGER NOT NULL,
    peer      TEXT    NOT NULL,
    kind      TEXT    NOT NULL,
    detail    TEXT    NOT NULL,
    previous  TEXT    NOT NULL,
    offending TEXT    NOT NULL
);

CREATE TRIGGER witness_alarms_no_update BEFORE UPDATE ON witness_alarms
BEGIN
    SELECT RAISE(ABORT, 'witness_alarms is append-only');
END;
CREATE TRIGGER witness_alarms_no_delete BEFORE DELETE ON witness_alarms
BEGIN
    SELECT RAISE(ABORT, 'witness_alarms is append-only');
END;
