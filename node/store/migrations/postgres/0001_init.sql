-- 0001_init: the node's first schema, mirroring migrations/sqlite/0001.
--
-- Conventions (the same as SQLite's):
--   * times are BIGINT Unix nanoseconds, UTC;
--   * byte strings are BYTEA;
--   * log indexes are 0-based, dense and never reused: log rows are never
--     updated, deleted or truncated (the triggers below refuse it).
--
-- Every object is created in the first schema of the search_path, so several
-- nodes (or tests) can share one database, one schema each.

-- Credit records held by this node as a provider.
CREATE TABLE records (
    subject    TEXT   NOT NULL CHECK (subject <> ''),
    category   TEXT   NOT NULL CHECK (category <> ''),
    id         TEXT   NOT NULL CHECK (id <> ''),
    data       BYTEA  NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (subject, category, id)
);

-- Request ids already answered, per requester: the replay guard.
-- leaf_index is the inquiry-log entry written with the answer.
CREATE TABLE request_ids (
    requester  TEXT   NOT NULL CHECK (requester <> ''),
    request_id TEXT   NOT NULL CHECK (request_id <> ''),
    leaf_index BIGINT NOT NULL,
    PRIMARY KEY (requester, request_id)
);

-- How many times each consent has been used.
CREATE TABLE consent_uses (
    consent_id TEXT    PRIMARY KEY CHECK (consent_id <> ''),
    uses       INTEGER NOT NULL CHECK (uses >= 1)
);

-- Consents withdrawn by their subject.
CREATE TABLE revocations (
    consent_id    TEXT   PRIMARY KEY CHECK (consent_id <> ''),
    subject       TEXT   NOT NULL,
    revocation_id TEXT   NOT NULL,
    revoked_at    BIGINT NOT NULL
);

-- The provider's inquiry log: every inquiry, allowed or denied.
CREATE TABLE inquiry_log (
    idx       BIGINT PRIMARY KEY CHECK (idx >= 0),
    subject   TEXT   NOT NULL,
    time      BIGINT NOT NULL,
    entry     BYTEA  NOT NULL,
    salt      BYTEA  NOT NULL CHECK (length(salt) = 32),
    leaf_hash BYTEA  NOT NULL CHECK (length(leaf_hash) = 32)
);
CREATE INDEX inquiry_log_subject ON inquiry_log (subject, idx);

-- The requester's outbound log: what this node asked and the receipts.
CREATE TABLE outbound_log (
    idx       BIGINT PRIMARY KEY CHECK (idx >= 0),
    subject   TEXT   NOT NULL,
    time      BIGINT NOT NULL,
    entry     BYTEA  NOT NULL,
    salt      BYTEA  NOT NULL CHECK (length(salt) = 32),
    leaf_hash BYTEA  NOT NULL CHECK (length(leaf_hash) = 32)
);

-- Refuses any change to a log row. Row triggers catch UPDATE and DELETE
-- (and so INSERT ... ON CONFLICT DO UPDATE); a statement trigger catches
-- TRUNCATE, which fires no row triggers.
CREATE FUNCTION log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER inquiry_log_no_change BEFORE UPDATE OR DELETE ON inquiry_log
    FOR EACH ROW EXECUTE FUNCTION log_append_only();
CREATE TRIGGER inquiry_log_no_truncate BEFORE TRUNCATE ON inquiry_log
    FOR EACH STATEMENT EXECUTE FUNCTION log_append_only();
CREATE TRIGGER outbound_log_no_change BEFORE UPDATE OR DELETE ON outbound_log
    FOR EACH ROW EXECUTE FUNCTION log_append_only();
CREATE TRIGGER outbound_log_no_truncate BEFORE TRUNCATE ON outbound_log
    FOR EACH STATEMENT EXECUTE FUNCTION log_append_only();
