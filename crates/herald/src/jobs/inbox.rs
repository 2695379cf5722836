//! Reading the connected accounts' inboxes. A sweep runs once per `inbox.poll_interval_seconds`
//! (its dedupe key names the period, so every process may schedule it and one runs) and
//! enqueues one read job per account that is due (its cursor's `next_read_at` has come: a rate
//! limit or failures push it back). Each read job reads its account once
//! (`services::inbox::read`); a read that stopped at its bound enqueues the next one at once.
//! Reads are idempotent: the cursor moves in the same transaction as the items it read.

use jiff::{SignedDuration, Timestamp};

use super::{Done, JobError, JobFuture, JobHandler};
use crate::config::InboxConfig;
use crate::domain::ids::AccountId;
use crate::domain::jobs::{Job, NewJob};
use crate::services::Services;
use crate::services::inbox::read::read_account;
use crate::store::{Store, StoreError};

pub const SWEEP_KIND: &str = "inbox_sweep";
pub const READ_KIND: &str = "inbox_read";

/// Both jobs: the sweep and each account's read.
#[derive(Clone)]
pub struct ReadInboxes {
    services: Services,
}

impl std::fmt::Debug for ReadInboxes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadInboxes")
            .field("config", &self.services.config.inbox)
            .finish_non_exhaustive()
    }
}

impl ReadInboxes {
    pub fn new(services: Services) -> ReadInboxes {
        ReadInboxes { services }
    }

    /// Enqueues a read of every account that is due, and the next sweep.
    async fn sweep(&self) -> Result<Done, JobError> {
        let Services { store, config, .. } = &self.services;
        let now = self.services.now();
        for account in store.inbox_accounts_due(now).await? {
            store
                .enqueue_job(&read_job(account, now, &config.inbox), now)
                .await?;
        }
        let next = now.saturating_add(interval(&config.inbox)).unwrap_or(now);
        enqueue_sweep(store, &config.inbox, next, now).await?;
        Ok(Done::ByRunner)
    }

    async fn read(&self, job: &Job) -> Result<Done, JobError> {
        let Some(account) = job.payload["account"].as_i64().map(AccountId::new) else {
            return Err(JobError::Permanent {
                reason: format!("an inbox read without an account: {}", job.payload),
            });
        };
        let now = self.services.now();
        let summary = read_account(&self.services, account, now)
            .await
            .map_err(|error| JobError::Retry {
                reason: error.to_string(),
                not_before: None,
            })?;
        if summary.more {
            let mut again = read_job(account, now, &self.services.config.inbox);
            again.dedupe_key = Some(format!(
                "{READ_KIND}:{account}:more:{}",
                now.as_millisecond()
            ));
            self.services.store.enqueue_job(&again, now).await?;
        }
        Ok(Done::ByRunner)
    }
}

impl JobHandler for ReadInboxes {
    fn run<'a>(&'a self, job: &'a Job) -> JobFuture<'a> {
        Box::pin(async move {
            match job.kind.as_str() {
                SWEEP_KIND => self.sweep().await,
                _ => self.read(job).await,
            }
        })
    }
}

/// Enqueues the sweep of the period `run_at` falls in; again for the same period is a no-op.
pub async fn enqueue_sweep(
    store: &Store,
    config: &InboxConfig,
    run_at: Timestamp,
    now: Timestamp,
) -> Result<(), StoreError> {
    let job = NewJob {
        kind: SWEEP_KIND.to_owned(),
        payload: serde_json::json!({}),
        run_at,
        dedupe_key: Some(format!("{SWEEP_KIND}:{}", period(config, run_at))),
        max_attempts: 3,
    };
    store.enqueue_job(&job, now).await.map(drop)
}

/// One account's read, once per period.
fn read_job(account: AccountId, now: Timestamp, config: &InboxConfig) -> NewJob {
    NewJob {
        kind: READ_KIND.to_owned(),
        payload: serde_json::json!({ "account": account }),
        run_at: now,
        dedupe_key: Some(format!("{READ_KIND}:{account}:{}", period(config, now))),
        max_attempts: 3,
    }
}

fn interval(config: &InboxConfig) -> SignedDuration {
    SignedDuration::from_secs(i64::try_from(config.poll_interval_seconds.max(1)).unwrap_or(60))
}

/// Which poll period `at` falls in.
fn period(config: &InboxConfig, at: Timestamp) -> i64 {
    at.as_second() / i64::try_from(config.poll_interval_seconds.max(1)).unwrap_or(60)
}
