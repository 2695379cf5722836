//! The background job runner. Jobs are rows (see `store/jobs.rs`); a runner claims due ones
//! with a lease, runs each kind's handler, and records the outcome: done, retried later with
//! backoff, or dead. [`Runner::run_once`] is one step, so tests drive the runner by hand.

mod audit_checkpoint;
mod backup;
mod feeds;
mod inbox;
mod prune;
mod publish;
mod recurring;
mod security_score;
mod watch_accounts;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::clock::Clock;
use crate::config::JobsConfig;
use crate::domain::jobs::{Job, retry_at};
use crate::metrics::Metrics;
use crate::store::{Store, StoreError};

pub use audit_checkpoint::{AuditCheckpoint, CHECKPOINT_KIND, CHECKPOINT_PERIOD};
pub use backup::{BACKUP_KIND, ScheduledBackups, enqueue_backup};
pub use feeds::{FEEDS_KIND, RefreshFeeds, enqueue_daily_feeds};
pub use inbox::{
    READ_KIND as INBOX_READ_KIND, ReadInboxes, SWEEP_KIND as INBOX_SWEEP_KIND,
    enqueue_sweep as enqueue_inbox_sweep,
};
pub use prune::{PRUNE_KIND, PruneJobs, enqueue_daily_prune};
pub use publish::{PUBLISH_KIND, PublishPosts, idempotency_key, job as publish_job};
pub use recurring::schedule as schedule_recurring;
pub use security_score::{RecordSecurityScore, SECURITY_SCORE_KIND, enqueue_daily_security_score};
pub use watch_accounts::{WATCH_KIND, WATCH_PERIOD, WatchAccounts};

/// The future a handler returns.
pub type JobFuture<'a> = Pin<Box<dyn Future<Output = Result<Done, JobError>> + Send + 'a>>;

/// A handler's success, and who records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// The runner marks the job done.
    ByRunner,
    /// The handler already marked it done, in the transaction that saved its work (one write
    /// fewer per job where that matters: publishing).
    InHandler,
}

/// Runs one kind of job. Handlers must be idempotent: a job may run again after a crash
/// between the work and the record of its outcome.
pub trait JobHandler: Send + Sync + 'static {
    fn run<'a>(&'a self, job: &'a Job) -> JobFuture<'a>;
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth trying again, no earlier than `not_before` if given.
    #[error("{reason}")]
    Retry {
        reason: String,
        not_before: Option<Timestamp>,
    },
    /// Trying again would not help.
    #[error("{reason}")]
    Permanent { reason: String },
}

/// A database error in a handler is worth retrying: the database may be back soon.
impl From<StoreError> for JobError {
    fn from(error: StoreError) -> JobError {
        JobError::Retry {
            reason: error.to_string(),
            not_before: None,
        }
    }
}

/// What one [`Runner::run_once`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RunSummary {
    pub done: usize,
    pub retried: usize,
    pub dead: usize,
    /// Jobs whose outcome could not be recorded because another worker had taken them over.
    pub lease_lost: usize,
}

/// Claims and runs jobs for one process.
pub struct Runner {
    store: Store,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    handlers: HashMap<String, Arc<dyn JobHandler>>,
    worker: String,
    lease: SignedDuration,
    batch: u32,
    poll_interval: Duration,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("worker", &self.worker)
            .field("kinds", &self.handlers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Runner {
    /// A runner with Herald's own job kinds registered.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
        config: &JobsConfig,
    ) -> Runner {
        let mut runner = Runner {
            worker: format!("{}-{:08x}", std::process::id(), rand::random::<u32>()),
            lease: SignedDuration::from_secs(i64::try_from(config.lease_seconds).unwrap_or(120)),
            batch: u32::try_from(config.concurrency).unwrap_or(u32::MAX),
            poll_interval: Duration::from_millis(config.poll_interval_ms),
            handlers: HashMap::new(),
            store: store.clone(),
            clock: clock.clone(),
            metrics,
        };
        runner.register(PRUNE_KIND, PruneJobs::new(store, clock));
        runner
    }

    pub fn register(&mut self, kind: &str, handler: impl JobHandler) {
        self.handlers.insert(kind.to_owned(), Arc::new(handler));
    }

    /// This runner's name in the `locked_by` column.
    pub fn worker_id(&self) -> &str {
        &self.worker
    }

    /// Claims the jobs due now (up to the configured concurrency), runs them side by side and
    /// records each outcome. One step, for tests; [`Runner::run`] keeps the slots full instead.
    pub async fn run_once(&self) -> Result<RunSummary, StoreError> {
        let mut running = JoinSet::new();
        self.claim_into(&mut running, self.batch).await?;
        let mut summary = RunSummary::default();
        while let Some(joined) = running.join_next().await {
            self.finish(joined, &mut summary).await?;
        }
        Ok(summary)
    }

    /// Runs jobs until `shutdown` turns true, then lets the jobs under way finish. Up to the
    /// configured concurrency run at once, and a slot that frees is filled at once, so one slow
    /// job (a network taking its time) never holds up the others.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(worker = %self.worker, "job runner started");
        let mut running = JoinSet::new();
        let mut summary = RunSummary::default();
        // Claim again once a quarter of the slots are free (or none is busy): one claim
        // query per few jobs rather than one per job.
        let refill = (self.batch / 4).max(1);
        while !*shutdown.borrow() {
            let free = self
                .batch
                .saturating_sub(u32::try_from(running.len()).unwrap_or(u32::MAX));
            // Whether more jobs may be due right now: then wait for a slot, not for a poll.
            let more_due = if free >= refill || running.is_empty() {
                match self.claim_into(&mut running, free).await {
                    Ok(claimed) => free > 0 && claimed == free,
                    Err(error) => {
                        tracing::error!(error = %error, "job runner could not reach the database");
                        false
                    }
                }
            } else {
                true
            };
            tokio::select! {
                Some(joined) = running.join_next(), if !running.is_empty() => {
                    if let Err(error) = self.finish(joined, &mut summary).await {
                        tracing::error!(error = %error, "job runner could not record a job's outcome");
                    }
                }
                _ = tokio::time::sleep(self.poll_interval), if !more_due => {}
                _ = shutdown.changed() => {}
            }
        }
        while let Some(joined) = running.join_next().await {
            if let Err(error) = self.finish(joined, &mut summary).await {
                tracing::error!(error = %error, "job runner could not record a job's outcome");
            }
        }
        tracing::info!(worker = %self.worker, "job runner stopped");
    }

    /// Claims up to `slots` due jobs and starts each; returns how many it claimed.
    async fn claim_into(
        &self,
        running: &mut JoinSet<(Job, Result<Done, JobError>)>,
        slots: u32,
    ) -> Result<u32, StoreError> {
        if slots == 0 {
            return Ok(0);
        }
        let now = self.clock.now();
        let jobs = self
            .store
            .claim_jobs(&self.worker, now, self.lease, slots)
            .await?;
        let claimed = u32::try_from(jobs.len()).unwrap_or(slots);
        for job in jobs {
            let handler = self.handlers.get(&job.kind).cloned();
            let lease = Lease {
                store: self.store.clone(),
                clock: self.clock.clone(),
                worker: self.worker.clone(),
                length: self.lease,
            };
            running.spawn(async move {
                let result = lease.hold_while(&job, run_handler(handler, &job)).await;
                (job, result)
            });
        }
        Ok(claimed)
    }

    async fn finish(
        &self,
        joined: Result<(Job, Result<Done, JobError>), tokio::task::JoinError>,
        summary: &mut RunSummary,
    ) -> Result<(), StoreError> {
        match joined {
            Ok((job, result)) => self.settle(&job, result, summary).await,
            // The job stays claimed; when its lease runs out it is claimed again, and its
            // attempt count keeps a crashing job from running forever.
            Err(panic) => {
                tracing::error!(error = %panic, "job handler panicked");
                Ok(())
            }
        }
    }

    async fn settle(
        &self,
        job: &Job,
        result: Result<Done, JobError>,
        summary: &mut RunSummary,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        let (outcome, recorded) = match result {
            Ok(Done::ByRunner) => (
                Outcome::Done,
                self.store.complete_job(job.id, &self.worker, now).await,
            ),
            Ok(Done::InHandler) => (Outcome::Done, Ok(())),
            Err(JobError::Retry { reason, not_before }) if job.attempts < job.max_attempts => {
                let again = retry_at(now, job.attempts, not_before);
                tracing::warn!(job.id = %job.id, job.kind = %job.kind, attempts = job.attempts, error = %reason, retry_at = %again, "job failed; will retry");
                let recorded = self
                    .store
                    .retry_job(job.id, &self.worker, again, &reason, now)
                    .await;
                (Outcome::Retried, recorded)
            }
            Err(error) => {
                tracing::error!(job.id = %job.id, job.kind = %job.kind, attempts = job.attempts, error = %error, "job failed for good");
                let reason = format!("gave up after {} attempts: {error}", job.attempts);
                let recorded = self
                    .store
                    .bury_job(job.id, &self.worker, &reason, now)
                    .await;
                (Outcome::Dead, recorded)
            }
        };
        let outcome = match recorded {
            Ok(()) => outcome,
            Err(StoreError::LeaseLost) => {
                tracing::warn!(job.id = %job.id, job.kind = %job.kind, "job outcome not recorded: its lease was taken over");
                Outcome::LeaseLost
            }
            Err(error) => return Err(error),
        };
        self.metrics.record_job(&job.kind, outcome.as_str());
        *match outcome {
            Outcome::Done => &mut summary.done,
            Outcome::Retried => &mut summary.retried,
            Outcome::Dead => &mut summary.dead,
            Outcome::LeaseLost => &mut summary.lease_lost,
        } += 1;
        Ok(())
    }
}

/// Keeps a running job's lease fresh: every third of the lease, while the handler runs, the
/// lease is extended, so a slow job (a network answering slowly, several uploads) is never
/// taken over by another worker while it is still under way.
struct Lease {
    store: Store,
    clock: Arc<dyn Clock>,
    worker: String,
    length: SignedDuration,
}

impl Lease {
    async fn hold_while(
        &self,
        job: &Job,
        work: impl Future<Output = Result<Done, JobError>>,
    ) -> Result<Done, JobError> {
        let every = self
            .length
            .checked_div(3)
            .and_then(|third| Duration::try_from(third).ok())
            .filter(|third| !third.is_zero())
            .unwrap_or(Duration::from_secs(1));
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tokio::pin!(work);
        loop {
            tokio::select! {
                result = &mut work => return result,
                _ = ticks.tick() => {
                    let until = self.clock.now().saturating_add(self.length).unwrap_or(self.clock.now());
                    match self.store.extend_lease(job.id, &self.worker, until).await {
                        Ok(true) => {}
                        Ok(false) => tracing::warn!(job.id = %job.id, job.kind = %job.kind, "job lease lost while running"),
                        Err(error) => tracing::warn!(job.id = %job.id, error = %error, "could not extend a job's lease"),
                    }
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Outcome {
    Done,
    Retried,
    Dead,
    LeaseLost,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Retried => "retried",
            Outcome::Dead => "dead",
            Outcome::LeaseLost => "lease_lost",
        }
    }
}

async fn run_handler(handler: Option<Arc<dyn JobHandler>>, job: &Job) -> Result<Done, JobError> {
    if job.attempts > job.max_attempts {
        return Err(JobError::Permanent {
            reason: "its worker stopped responding on every attempt".to_owned(),
        });
    }
    match handler {
        Some(handler) => handler.run(job).await,
        None => Err(JobError::Permanent {
            reason: format!("no handler for job kind {:?}", job.kind),
        }),
    }
}
