//! Every hour, sign a checkpoint of the audit log's head (if it grew), then schedule the next.

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use jiff::SignedDuration;

use super::{Done, JobError, JobFuture, JobHandler, recurring};
use crate::audit;
use crate::clock::Clock;
use crate::domain::jobs::Job;
use crate::store::Store;

pub const CHECKPOINT_KIND: &str = "audit.checkpoint";
pub const CHECKPOINT_PERIOD: &str = "%Y-%m-%dT%H";
const EVERY: SignedDuration = SignedDuration::from_hours(1);

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
            let next = now.saturating_add(EVERY).unwrap_or(now);
            recurring::schedule(&self.store, CHECKPOINT_KIND, CHECKPOINT_PERIOD, next, now)
                .await
                .map(|()| Done::ByRunner)
                .map_err(JobError::from)
        })
    }
}
