//! Every five minutes, sign a checkpoint of the audit log's head (if it grew), then schedule the
//! next. Entries appended since the newest checkpoint are the only ones a tamperer with the
//! database could rewrite unseen, so the period bounds that window (shutdown signs one too).

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use jiff::{SignedDuration, Timestamp};

use super::{Done, JobError, JobFuture, JobHandler, recurring};
use crate::clock::Clock;
use crate::domain::jobs::Job;
use crate::services::audit;
use crate::store::Store;

pub const CHECKPOINT_KIND: &str = "audit.checkpoint";
/// The dedupe key's period: a run per minute at most, and [`next_run`] keeps runs on five-minute
/// boundaries, so every process schedules the same one.
pub const CHECKPOINT_PERIOD: &str = "%Y-%m-%dT%H:%M";
/// How often the audit log is checkpointed while entries are added.
pub const CHECKPOINT_EVERY: SignedDuration = SignedDuration::from_mins(5);

pub struct AuditCheckpoint {
    store: Store,
    clock: Arc<dyn Clock>,
    key: SigningKey,
}

impl std::fmt::Debug for AuditCheckpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditCheckpoint { key: [REDACTED] }")
    }
}

impl AuditCheckpoint {
    pub fn new(store: Store, clock: Arc<dyn Clock>, key: SigningKey) -> AuditCheckpoint {
        AuditCheckpoint { store, clock, key }
    }
}

impl JobHandler for AuditCheckpoint {
    fn run<'a>(&'a self, _job: &'a Job) -> JobFuture<'a> {
        Box::pin(async move {
            let now = self.clock.now();
            audit::checkpoint(&self.store, &self.key, now).await?;
            let next = next_run(now);
            recurring::schedule(&self.store, CHECKPOINT_KIND, CHECKPOINT_PERIOD, next, now)
                .await
                .map(|()| Done::ByRunner)
                .map_err(JobError::from)
        })
    }
}

/// The first five-minute boundary after `now` (Unix time), so that processes which run the job
/// at slightly different moments schedule the same next run.
pub fn next_run(now: Timestamp) -> Timestamp {
    let every = CHECKPOINT_EVERY.as_millis();
    let millis = i128::from(now.as_millisecond());
    let next = (millis / every + 1) * every;
    i64::try_from(next)
        .ok()
        .and_then(|next| Timestamp::from_millisecond(next).ok())
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_run_is_the_next_five_minute_boundary() {
        let at = |text: &str| text.parse::<Timestamp>().expect("time");
        assert_eq!(
            next_run(at("2026-12-05T10:00:00Z")),
            at("2026-12-05T10:05:00Z")
        );
        assert_eq!(
            next_run(at("2026-12-05T10:04:59.999Z")),
            at("2026-12-05T10:05:00Z")
        );
        assert_eq!(
            next_run(at("2026-12-05T23:58:10Z")),
            at("2026-12-06T00:00:00Z")
        );
    }
}
