-- Background jobs: every piece of deferred work (publishing a post, pruning) is a row here.
-- Times are Unix milliseconds (UTC), the same in both backends.
CREATE TABLE jobs (
    id            BIGSERIAL PRIMARY KEY,
    kind          TEXT   NOT NULL,
    payload       TEXT   NOT NULL,
    -- Enqueuing twice with the same key yields one job: enqueue is idempotent.
    dedupe_key    TEXT   UNIQUE,
    state         TEXT   NOT NULL CHECK (state IN ('queued', 'running', 'done', 'dead')),
    run_at        BIGINT NOT NULL,
    attempts      BIGINT NOT NULL DEFAULT 0,
    max_attempts  BIGINT NOT NULL,
    locked_by     TEXT,
    locked_until  BIGINT,
    last_error    TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE INDEX jobs_due ON jobs (state, run_at);
