-- Background jobs: every piece of deferred work (publishing a post, pruning) is a row here.
-- Times are Unix milliseconds (UTC), the same in both backends.
CREATE TABLE jobs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT    NOT NULL,
    payload       TEXT    NOT NULL,
    -- Enqueuing twice with the same key yields one job: enqueue is idempotent.
    dedupe_key    TEXT    UNIQUE,
    state         TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'done', 'dead')),
    run_at        INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    max_attempts  INTEGER NOT NULL,
    locked_by     TEXT,
    locked_until  INTEGER,
    last_error    TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE INDEX jobs_due ON jobs (state, run_at);
