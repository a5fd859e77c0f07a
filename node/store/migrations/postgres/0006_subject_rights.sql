-- 0006_subject_rights: objections, credit repair and free self reports
-- (mirrors migrations/sqlite/0006). At most one objection per record is
-- open, and at most one repair application per record is pending, at a time
-- (partial unique indexes).

CREATE TABLE objections (
    id          TEXT   PRIMARY KEY CHECK (id <> ''),
    subject     TEXT   NOT NULL CHECK (subject <> ''),
    category    TEXT   NOT NULL CHECK (category <> ''),
    record_id   TEXT   NOT NULL CHECK (record_id <> ''),
    reason      TEXT   NOT NULL,
    status      TEXT   NOT NULL CHECK (status IN ('open', 'corrected', 'removed', 'upheld')),
    filed_at    BIGINT NOT NULL,
    resolved_at BIGINT,
    outcome     TEXT   NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX objections_one_open ON objections (subject, category, record_id) WHERE status = 'open';
CREATE INDEX objections_by_subject ON objections (subject, filed_at);
CREATE INDEX objections_by_status ON objections (status, filed_at);

CREATE TABLE repairs (
    id         TEXT   PRIMARY KEY CHECK (id <> ''),
    subject    TEXT   NOT NULL CHECK (subject <> ''),
    category   TEXT   NOT NULL CHECK (category <> ''),
    record_id  TEXT   NOT NULL CHECK (record_id <> ''),
    reason     TEXT   NOT NULL,
    status     TEXT   NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    filed_at   BIGINT NOT NULL,
    decided_at BIGINT,
    outcome    TEXT   NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX repairs_one_pending ON repairs (subject, category, record_id) WHERE status = 'pending';
CREATE INDEX repairs_by_subject ON repairs (subject, filed_at);

-- Free self reports used per subject and calendar year (UTC).
CREATE TABLE free_reports (
    subject TEXT    NOT NULL CHECK (subject <> ''),
    year    INTEGER NOT NULL,
    used    INTEGER NOT NULL CHECK (used >= 1),
    PRIMARY KEY (subject, year)
);
