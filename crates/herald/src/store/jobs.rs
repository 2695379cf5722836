//! Job queue queries. A job is claimed by setting a lease (`locked_by`, `locked_until`); every
//! later change checks that the lease is still the caller's, so a worker that stalled past its
//! lease cannot overwrite the outcome of the worker that took the job over.

use jiff::{SignedDuration, Timestamp};
use sqlx::FromRow;

use super::{Backend, Store, StoreError, postgres, sqlite, with_pool};
use crate::domain::jobs::{Job, JobId, JobState, NewJob};

/// How many jobs are in each state; exported as metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobCounts {
    pub queued: u64,
    pub running: u64,
    pub done: u64,
    pub dead: u64,
}

#[derive(FromRow)]
struct JobRow {
    id: i64,
    kind: String,
    payload: String,
    state: String,
    run_at: i64,
    attempts: i64,
    max_attempts: i64,
    last_error: Option<String>,
}

const JOB_COLUMNS: &str = "id, kind, payload, state, run_at, attempts, max_attempts, last_error";

impl Store {
    /// Adds a job, or returns the existing one's id when a job with the same `dedupe_key` exists.
    pub async fn enqueue_job(&self, job: &NewJob, now: Timestamp) -> Result<JobId, StoreError> {
        let payload = job.payload.to_string();
        let inserted: Option<i64> = with_pool!(self, pool => sqlx::query_scalar(
            "INSERT INTO jobs (kind, payload, dedupe_key, state, run_at, max_attempts, created_at, updated_at)
             VALUES ($1, $2, $3, 'queued', $4, $5, $6, $6)
             ON CONFLICT (dedupe_key) DO NOTHING
             RETURNING id")
            .bind(&job.kind)
            .bind(&payload)
            .bind(&job.dedupe_key)
            .bind(job.run_at.as_millisecond())
            .bind(i64::from(job.max_attempts))
            .bind(now.as_millisecond())
            .fetch_optional(pool)
            .await)?;
        if let Some(id) = inserted {
            return Ok(JobId(id));
        }
        let existing: i64 = with_pool!(self, pool => sqlx::query_scalar(
            "SELECT id FROM jobs WHERE dedupe_key = $1")
            .bind(&job.dedupe_key)
            .fetch_one(pool)
            .await)?;
        Ok(JobId(existing))
    }

    /// Claims up to `limit` jobs that are due, or whose previous worker's lease has run out.
    pub async fn claim_jobs(
        &self,
        worker: &str,
        now: Timestamp,
        lease: SignedDuration,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError> {
        let locked_until = now.saturating_add(lease).unwrap_or(now).as_millisecond();
        let claim = match self.backend {
            Backend::Sqlite(..) | Backend::SqliteWork(_) => sqlite::CLAIM_JOBS,
            Backend::Postgres(_) | Backend::PostgresWork(_) => postgres::CLAIM_JOBS,
        };
        let _turn = self.write_turn().await;
        let rows: Vec<JobRow> = with_pool!(self, pool => sqlx::query_as(claim)
            .bind(worker)
            .bind(locked_until)
            .bind(now.as_millisecond())
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await)?;
        let mut jobs = rows
            .into_iter()
            .map(Job::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        jobs.sort_by_key(|job| (job.run_at, job.id));
        Ok(jobs)
    }

    /// Extends the lease of a job `worker` is still running, so a long job is not taken over.
    /// False when the lease was already lost.
    pub async fn extend_lease(
        &self,
        id: JobId,
        worker: &str,
        locked_until: Timestamp,
    ) -> Result<bool, StoreError> {
        let _turn = self.write_turn().await;
        let changed = with_pool!(self, pool => sqlx::query(
            "UPDATE jobs SET locked_until = $1 WHERE id = $2 AND locked_by = $3 AND state = 'running'")
            .bind(locked_until.as_millisecond())
            .bind(id.0)
            .bind(worker)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(changed == 1)
    }

    /// Marks a job done. Fails with [`StoreError::LeaseLost`] if `worker` no longer holds it.
    pub async fn complete_job(
        &self,
        id: JobId,
        worker: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.release_job(id, worker, JobState::Done, None, None, now)
            .await
    }

    /// Puts a failed job back in the queue to run again at `run_at`.
    pub async fn retry_job(
        &self,
        id: JobId,
        worker: &str,
        run_at: Timestamp,
        error: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.release_job(id, worker, JobState::Queued, Some(run_at), Some(error), now)
            .await
    }

    /// Gives up on a job for good.
    pub async fn bury_job(
        &self,
        id: JobId,
        worker: &str,
        error: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.release_job(id, worker, JobState::Dead, None, Some(error), now)
            .await
    }

    pub async fn find_job(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        let query = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
        let row: Option<JobRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .bind(id.0)
            .fetch_optional(pool)
            .await)?;
        row.map(Job::try_from).transpose()
    }

    /// The jobs of `kind` still to run, oldest first, at most `limit` (for diagnostics).
    pub async fn pending_jobs_of(&self, kind: &str, limit: i64) -> Result<Vec<Job>, StoreError> {
        let query = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE kind = $1 AND state IN ('queued', 'running')
              ORDER BY run_at, id LIMIT $2"
        );
        let rows: Vec<JobRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .bind(kind)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(Job::try_from).collect()
    }

    pub async fn job_counts(&self) -> Result<JobCounts, StoreError> {
        let rows: Vec<(String, i64)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT state, COUNT(*) FROM jobs GROUP BY state")
            .fetch_all(pool)
            .await)?;
        let mut counts = JobCounts::default();
        for (state, count) in rows {
            let count = u64::try_from(count).unwrap_or(0);
            match JobState::parse(&state) {
                Some(JobState::Queued) => counts.queued = count,
                Some(JobState::Running) => counts.running = count,
                Some(JobState::Done) => counts.done = count,
                Some(JobState::Dead) => counts.dead = count,
                None => return Err(StoreError::Corrupt(format!("job state {state:?}"))),
            }
        }
        Ok(counts)
    }

    /// How many jobs of `kind` are still to run (queued or running).
    pub async fn pending_jobs(&self, kind: &str) -> Result<u64, StoreError> {
        let count: i64 = with_pool!(self, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM jobs WHERE kind = $1 AND state IN ('queued', 'running')")
            .bind(kind)
            .fetch_one(pool)
            .await)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Deletes finished jobs last changed before `before`; dead jobs are kept for inspection.
    pub async fn prune_done_jobs(&self, before: Timestamp) -> Result<u64, StoreError> {
        let result = with_pool!(self, pool => sqlx::query(
            "DELETE FROM jobs WHERE state = 'done' AND updated_at < $1")
            .bind(before.as_millisecond())
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(result)
    }

    async fn release_job(
        &self,
        id: JobId,
        worker: &str,
        state: JobState,
        run_at: Option<Timestamp>,
        error: Option<&str>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        let changed = with_pool!(self, pool => sqlx::query(
            "UPDATE jobs
                SET state = $1, run_at = COALESCE($2, run_at), last_error = $3,
                    locked_by = NULL, locked_until = NULL, updated_at = $4
              WHERE id = $5 AND locked_by = $6 AND state = 'running'")
            .bind(state.as_str())
            .bind(run_at.map(Timestamp::as_millisecond))
            .bind(error)
            .bind(now.as_millisecond())
            .bind(id.0)
            .bind(worker)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        if changed == 0 {
            return Err(StoreError::LeaseLost);
        }
        Ok(())
    }
}

impl TryFrom<JobRow> for Job {
    type Error = StoreError;

    fn try_from(row: JobRow) -> Result<Job, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("job {}: {what}", row.id));
        Ok(Job {
            id: JobId(row.id),
            payload: serde_json::from_str(&row.payload)
                .map_err(|_| corrupt("payload is not JSON"))?,
            state: JobState::parse(&row.state).ok_or_else(|| corrupt("unknown state"))?,
            run_at: Timestamp::from_millisecond(row.run_at).map_err(|_| corrupt("bad run_at"))?,
            attempts: u32::try_from(row.attempts).map_err(|_| corrupt("bad attempts"))?,
            max_attempts: u32::try_from(row.max_attempts)
                .map_err(|_| corrupt("bad max_attempts"))?,
            last_error: row.last_error,
            kind: row.kind,
        })
    }
}
