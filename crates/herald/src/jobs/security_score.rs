//! Once a day, the company's security score is kept for the security page's history chart,
//! and on Mondays the owners get the weekly summary by e-mail; then tomorrow's run is enqueued.

use jiff::civil::Weekday;
use jiff::{SignedDuration, Timestamp};

use super::recurring;
use super::{Done, JobError, JobFuture, JobHandler};
use crate::domain::jobs::Job;
use crate::services::Services;
use crate::store::{Store, StoreError};

pub const SECURITY_SCORE_KIND: &str = "security.score";

const EVERY: SignedDuration = SignedDuration::from_hours(24);

#[derive(Debug)]
pub struct RecordSecurityScore {
    services: Services,
    /// Where people reach Herald, for the summary's link.
    base: String,
}

impl RecordSecurityScore {
    pub fn new(services: Services, base: String) -> RecordSecurityScore {
        RecordSecurityScore { services, base }
    }
}

impl JobHandler for RecordSecurityScore {
    fn run<'a>(&'a self, _job: &'a Job) -> JobFuture<'a> {
        Box::pin(async move {
            let now = self.services.now();
            let retry = |error: crate::services::AppError| JobError::Retry {
                reason: error.to_string(),
                not_before: None,
            };
            let review = crate::services::security::record_today(&self.services, now)
                .await
                .map_err(retry)?;
            tracing::info!(score = review.score, "recorded today's security score");
            if now.to_zoned(jiff::tz::TimeZone::UTC).weekday() == Weekday::Monday {
                let mailed = crate::services::security::weekly_summary(
                    &self.services,
                    &review,
                    &self.base,
                    now,
                )
                .await
                .map_err(retry)?;
                tracing::info!(mailed, "the owners' weekly security summary");
            }
            let tomorrow = now.saturating_add(EVERY).unwrap_or(now);
            enqueue_daily_security_score(&self.services.store, tomorrow, now)
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
