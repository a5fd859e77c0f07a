-- Joint modelling jobs a host serves (node/joint/remote): one row per (guest, job id), with the
-- job's terms, its state and the host's own session state (JSON), so a restarted host
-- continues a job. The session is erased when a job is cancelled or fails.
CREATE TABLE joint_jobs (
    guest           TEXT    NOT NULL,
    job_id          TEXT    NOT NULL,
    terms           TEXT    NOT NULL, -- JSON: categories, label, cohort, hosts, decision
    state           TEXT    NOT NULL,
    session         BLOB,
    created_at      INTEGER NOT NULL, -- Unix nanoseconds
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (guest, job_id)
);
