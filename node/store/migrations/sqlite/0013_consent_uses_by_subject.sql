-- 0013_consent_uses_by_subject: a consent's use counter belongs to the
-- subject who gave it. 0001 keyed consent_uses by consent id alone, but
-- consent ids are chosen by subjects: two subjects using the same id shared
-- one counter, so one subject's queries spent another's consent. Keyed by
-- (subject, consent_id), each subject's consent counts only its own uses.
--
-- The existing rows are copied to every subject whose allowed queries used
-- that consent id (from the inquiry log, written in the same transaction as
-- each use), each with the old total: a subject's count can only have been
-- too high under the old key, never too low, so no consent regains uses it
-- had spent. SQLite cannot change a primary key in place: the table is
-- rebuilt.

CREATE TABLE consent_uses_by_subject (
    subject    TEXT    NOT NULL CHECK (subject <> ''),
    consent_id TEXT    NOT NULL CHECK (consent_id <> ''),
    uses       INTEGER NOT NULL CHECK (uses >= 1),
    PRIMARY KEY (subject, consent_id)
);

INSERT INTO consent_uses_by_subject (subject, consent_id, uses)
SELECT DISTINCT l.subject, u.consent_id, u.uses
FROM consent_uses u
JOIN inquiry_log l
  ON l.subject <> ''
 AND json_extract(CAST(l.entry AS TEXT), '$.consent_id') = u.consent_id;

DROP TABLE consent_uses;
ALTER TABLE consent_uses_by_subject RENAME TO consent_uses;
