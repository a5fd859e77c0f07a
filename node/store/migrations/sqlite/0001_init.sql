-- 0001_init: the node's first schema.
--
-- Conventions (kept simple so the PostgreSQL backend can mirror them):
--   * times are INTEGER Unix nanoseconds, UTC;
--   * byte strings are BLOBs (BYTEA in PostgreSQL);
--   * log indexes are 0-based, dense, assigned as MAX(idx)+1 inside the
--     writing transaction, and never reused: log rows are never updated or
--     deleted (the triggers below refuse it).

-- Credit records held by this node as a provider.
CREATE TABLE records (
    subject    TEXT    NOT NULL CHECK (subject <> ''),
    category   TEXT    NOT NULL CHECK (category <> ''),
    id         TEXT    NOT NULL CHECK (id <> ''),
    data       BLOB    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (subject, category, id)
);

-- Request ids already answered, per requester: the replay guard.
-- leaf_index is the inquiry-log entry written with the answer.
CREATE TABLE request_ids (
    requester  TEXT    NOT NULL CHECK (requester <> ''),
    request_id TEXT    NOT NULL CHECK (request_id <> ''),
    leaf_index INTEGER NOT NULL,
    PRIMARY KEY (requester, request_id)
);

-- How many times each consent has been used.
CREATE TABLE consent_uses (
    consent_id TEXT    PRIMARY KEY CHECK (consent_id <> ''),
    uses       INTEGER NOT NULL CHECK (uses >= 1)
);

-- Consents withdrawn by their subject.
CREATE TABLE revocations (
    consent_id    TEXT    PRIMARY KEY CHECK (consent_id <> ''),
    subject       TEXT    NOT NULL,
    revocation_id TEXT    NOT NULL,
    revoked_at    INTEGER NOT NULL
);

-- The provider's inquiry log: every inquiry, allowed or denied.
CREATE TABLE inquiry_log (
    idx       INTEGER PRIMARY KEY CHECK (idx >= 0),
    subject   TEXT    NOT NULL,
    time      INTEGER NOT NULL,
    entry     BLOB    NOT NULL,
    salt      BLOB    NOT NULL CHECK (length(salt) = 32),
    leaf_hash BLOB    NOT NULL CHECK (length(leaf_hash) = 32)
);
CREATE INDEX inquiry_log_subject ON inquiry_log (subject, idx);

CREATE TRIGGER inquiry_log_no_update BEFORE UPDATE ON inquiry_log
BEGIN
    SELECT RAISE(ABORT, 'inquiry_log is append-only');
END;
CREATE TRIGGER inquiry_log_no_delete BEFORE DELETE ON inquiry_log
BEGIN
    SELECT RAISE(ABORT, 'inquiry_log is append-only');
END;

-- The requester's outbound log: what this node asked and the receipts.
CREATE TABLE outbound_log (
    idx       INTEGER PRIMARY KEY CHECK (idx >= 0),
    subject   TEXT    NOT NULL,
    time      INTEGER NOT NULL,
    entry     BLOB    NOT NULL,
    salt      BLOB    NOT NULL CHECK (length(salt) = 32),
    leaf_hash BLOB    NOT NULL CHECK (length(leaf_hash) = 32)
);

CREATE TRIGGER outbound_log_no_update BEFORE UPDATE ON outbound_log
BEGIN
    SELECT RAISE(ABORT, 'outbound_log is append-only');
END;
CREATE TRIGGER outbound_log_no_delete BEFORE DELETE ON outbound_log
BEGIN
    SELECT RAISE(ABORT, 'outbound_log is append-only');
END;
