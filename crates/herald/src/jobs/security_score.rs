//! Once a day, the company's security score is kept for the security page's history chart;
//! then tomorrow's run is enqueued.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use super::recurring;
use super::{Done, JobError, JobFuture, JobHandler};
use crate::clock::Clock;
use crate::domain::jobs::Job;
use crate::store::{Store, StoreError};

pub const SECURITY_SCORE_KIND: &str = "security.score";

const EVERY: SignedDuration = SignedDuration::from_hours(24);

#[derive(Debug)]
pub struct RecordSecurityScore {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl RecordSecurityScore {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> RecordSecurityScore {
        RecordSecurityScore { store, clock }
    }
}

impl JobHandler for RecordSecurityScore {
    fn run<'a>(&'a self, _job: &'a Job) -> JobFuture<'a> {
        Box::pin(async move {
            let now = self.clock.now();
            let score = crate::services::security::record_today(&self.store, now)
                .await
                .map_err(|error| JobError::Retry {
                    reason: error.to_string(),
                    not_before: None,
                })?;
            tracing::info!(score, "recorded today's security score");
            let tomorrow = now.saturating_add(EVERY).unwrap_or(now);
            enqueue_daily_security_score(&self.store, tomorrow, now)
                .await
                .map(|()| Done::ByRunner)
                .map_err(JobError::from)
        })
    }
}

/// Enqueues the reading for the day of `run_at`; again for the same day is a no-op.
pub async fn enqueue_daily_security_score(
    store: &Store,
    run_at: Timestamp,
    now: Timestamp,
) -> Result<(), StoreError> {
    recurring::schedule(store, SECURITY_SCORE_KIND, "%Y-%m-%d", run_at, now).await
}
