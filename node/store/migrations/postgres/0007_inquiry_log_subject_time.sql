-- 0007_inquiry_log_subject_time: fair-use counting (mirrors
-- migrations/sqlite/0007). The provider counts a requester's allowed queries
-- about a subject since a time; this index narrows that to the subject's
-- entries in the period.
CREATE INDEX inquiry_log_subject_time ON inquiry_log (subject, time);
