-- 0013_consent_uses_by_subject: the PostgreSQL mirror of the SQLite
-- migration of the same number. consent_uses is keyed by (subject,
-- consent_id); each existing row is copied to every subject whose allowed
-- queries used that consent id (from the inquiry log), with the old total,
-- so no consent regains uses it had spent.

CREATE TABLE consent_uses_by_subject (
    subject    TEXT   NOT NULL CHECK (subject <> ''),
    consent_id TEXT   NOT NULL CHECK (consent_id <> ''),
    uses       INTEGER NOT NULL CHECK (uses >= 1),
    PRIMARY KEY (subject, consent_id)
);

INSERT INTO consent_uses_by_subject (subject, consent_id, uses)
SELECT DISTINCT l.subject, u.consent_id, u.uses
FROM consent_uses u
JOIN inquiry_log l
  ON l.subject <> ''
 AND convert_from(l.entry, 'UTF8')::jsonb ->> 'consent_id' = u.consent_id;

DROP TABLE consent_uses;
ALTER TABLE consent_uses_by_subject RENAME TO consent_uses;
