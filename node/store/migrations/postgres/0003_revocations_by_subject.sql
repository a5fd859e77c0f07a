-- 0003_revocations_by_subject: a revocation belongs to the subject who sent
-- it (mirrors migrations/sqlite/0003). Keyed by (subject, consent_id), a
-- revocation withdraws only a consent its own subject gave. A row with an
-- empty subject (never written by the server) fails the new CHECK and so the
-- whole migration, rather than being dropped silently.

ALTER TABLE revocations DROP CONSTRAINT revocations_pkey;
ALTER TABLE revocations ADD CONSTRAINT revocations_subject_check CHECK (subject <> '');
ALTER TABLE revocations ADD PRIMARY KEY (subject, consent_id);
