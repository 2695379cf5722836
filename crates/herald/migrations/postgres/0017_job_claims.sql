-- Due jobs are claimed in (run_at, id) order; with the id in the index a claim reads just the
-- rows it takes, however many are due at once.
DROP INDEX jobs_due;
CREATE INDEX jobs_due ON jobs (state, run_at, id);
