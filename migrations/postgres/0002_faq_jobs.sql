-- Bulk FAQ generation: one job per uploaded question list, one row per input question.
-- Times are milliseconds since the Unix epoch (UTC), the same in both databases.

CREATE TABLE faq_jobs (
    id          TEXT PRIMARY KEY NOT NULL,
    -- sha256 of the input and its options: `kefu faq generate` resumes the job with the same hash
    input_hash  TEXT NOT NULL,
    source      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_role TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    total       BIGINT NOT NULL,
    -- 'running' until every item is terminal, then 'finished'
    status      TEXT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX faq_jobs_input ON faq_jobs (input_hash, created_at);

CREATE TABLE faq_items (
    job_id      TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    question    TEXT NOT NULL,
    platform    TEXT,
    sku         TEXT,
    norm        TEXT NOT NULL,
    -- for a duplicate: the seq of the first item with the same normalized question
    canonical   BIGINT,
    -- pending | in_flight | done | failed | interrupted | duplicate
    state       TEXT NOT NULL,
    -- times the question was handed to the pipeline (a re-send after an interruption counts)
    attempts    BIGINT NOT NULL DEFAULT 0,
    draft_id    TEXT,
    error       TEXT,
    run_id      TEXT,
    started_at  BIGINT,
    finished_at BIGINT,
    PRIMARY KEY (job_id, seq)
);
CREATE INDEX faq_items_state ON faq_items (job_id, state, seq);

-- One row per process working on a job; a run whose heartbeat stopped is dead.
CREATE TABLE faq_runs (
    id           TEXT PRIMARY KEY NOT NULL,
    job_id       TEXT NOT NULL,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);
CREATE INDEX faq_runs_job ON faq_runs (job_id);
