-- 0003_revocations_by_subject: a revocation belongs to the subject who sent
-- it. 0001 keyed revocations by consent id alone, so any subject who learnt
-- another's consent id could revoke it, and by being first keep the owner's
-- own revocation from being stored. Keyed by (subject, consent_id), a
-- revocation withdraws only a consent its own subject gave.
--
-- SQLite cannot change a primary key in place: the table is rebuilt and the
-- existing rows copied, each now counting for the subject who sent it. A row
-- with an empty subject (never written by the server) fails the CHECK and so
-- the whole migration, rather than being dropped silently.

CREATE TABLE revocations_by_subject (
    subject       TEXT    NOT NULL CHECK (subject <> ''),
    consent_id    TEXT    NOT NULL CHECK (consent_id <> ''),
    revocation_id TEXT    NOT NULL,
    revoked_at    INTEGER NOT NULL,
    PRIMARY KEY (subject, consent_id)
);

INSERT INTO revocations_by_subject (subject, consent_id, revocation_id, revoked_at)
SELECT subject, consent_id, revocation_id, revoked_at FROM revocations;

DROP TABLE revocations;
ALTER TABLE revocations_by_subject RENAME TO revocations;
