//! Every minute, look at every connected account that can be watched for signs of a
//! compromise (`services::watch`), then schedule the next look. One account failing to answer
//! leaves the others.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use super::{Done, JobError, JobFuture, JobHandler, recurring};
use crate::clock::Clock;
use crate::domain::jobs::Job;
use crate::keys::Keys;
use crate::services::connections::Networks;
use crate::services::policy::PolicyGuard;
use crate::services::watch;
use crate::store::Store;

pub const WATCH_KIND: &str = "watch_accounts";
/// One run per minute at most (the dedupe key's period).
pub const WATCH_PERIOD: &str = "%Y-%m-%dT%H:%M";
/// How often each account is looked at: the polling interval the alert's delay is bounded by.
pub const WATCH_EVERY: SignedDuration = SignedDuration::from_mins(1);

pub struct WatchAccounts {
    store: Store,
    keys: Arc<Keys>,
    networks: Networks,
    clock: Arc<dyn Clock>,
    guard: Option<Arc<PolicyGuard>>,
}

impl std::fmt::Debug for WatchAccounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchAccounts").finish_non_exhaustive()
    }
}

impl WatchAccounts {
    pub fn new(
        store: Store,
        keys: Arc<Keys>,
        networks: Networks,
        clock: Arc<dyn Clock>,
    ) -> WatchAccounts {
        WatchAccounts {
            store,
            keys,
            networks,
            clock,
            guard: None,
        }
    }

    /// Judges the links in posts Herald did not make with the policy's link safety.
    pub fn with_links(self, guard: Arc<PolicyGuard>) -> WatchAccounts {
        WatchAccounts {
            guard: Some(guard),
            ..self
        }
    }

    async fn look_at_all(&self) -> Result<(), JobError> {
        let links = self.guard.as_ref().and_then(|guard| guard.links());
        for account in self.store.all_accounts().await? {
            let now = self.clock.now();
            let looked = watch::look(
                &self.store,
                &self.keys,
                &self.networks,
                links.map(AsRef::as_ref),
                &account,
                now,
            )
            .await;
            match looked {
                Ok(Some(incident)) => {
                    tracing::warn!(
                        account.id = account.id,
                        incident.id = incident,
                        "possible compromise: alert raised"
                    );
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(account.id = account.id, %error, "could not watch an account");
                }
            }
        }
        Ok(())
    }
}

impl JobHandler for WatchAccounts {
    fn run<'a>(&'a self, _job: &'a Job) -> JobFuture<'a> {
        Box::pin(async move {
            self.look_at_all().await?;
            let now = self.clock.now();
            recurring::schedule(&self.store, WATCH_KIND, WATCH_PERIOD, next_run(now), now)
                .await
                .map(|()| Done::ByRunner)
                .map_err(JobError::from)
        })
    }
}

/// The next minute boundary after `now`, so every process schedules the same run.
pub fn next_run(now: Timestamp) -> Timestamp {
    let every = WATCH_EVERY.as_millis();
    let millis = i128::from(now.as_millisecond());
    let next = (millis / every + 1) * every;
    i64::try_from(next)
        .ok()
        .and_then(|next| Timestamp::from_millisecond(next).ok())
        .unwrap_or(now)
}
