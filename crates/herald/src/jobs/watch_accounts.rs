//! Every minute, look at every connected account that can be watched for signs of a
//! compromise (`services::watch`), then schedule the next look. One account failing to answer
//! leaves the others.

use jiff::{SignedDuration, Timestamp};

use super::{Done, JobError, JobFuture, JobHandler, recurring};
use crate::domain::jobs::Job;
use crate::services::{Services, watch};

pub const WATCH_KIND: &str = "watch_accounts";
/// One run per minute at most (the dedupe key's period).
pub const WATCH_PERIOD: &str = "%Y-%m-%dT%H:%M";
/// How often each account is looked at: the polling interval the alert's delay is bounded by.
pub const WATCH_EVERY: SignedDuration = SignedDuration::from_mins(1);

pub struct WatchAccounts {
    services: Services,
}

impl std::fmt::Debug for WatchAccounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchAccounts").finish_non_exhaustive()
    }
}

impl WatchAccounts {
    /// The watcher judges links in posts Herald did not make with the policy's link safety.
    pub fn new(services: Services) -> WatchAccounts {
        WatchAccounts { services }
    }

    async fn look_at_all(&self) -> Result<(), JobError> {
        for account in self.services.store.all_accounts().await? {
            let now = self.services.now();
            match watch::look(&self.services, &account, now).await {
                Ok(Some(incident)) => {
                    tracing::warn!(
                        account.id = account.id.get(),
                        incident.id = incident,
                        "possible compromise: alert raised"
                    );
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(account.id = account.id.get(), %error, "could not watch an account");
                }
            }
        }
        Ok(())
    }
}

impl JobHandler for WatchAccounts {
    fn run<'a>(&'a self, _job: &'a Job) -> JobFuture<'a> {
        Box::pin(async move {
            // The next look is due a minute after this one began, not after it ended: a look
            // that outlasts a minute boundary must not push the next one a whole interval on,
            // or an alert could take two intervals instead of one.
            let began = self.services.now();
            self.look_at_all().await?;
            recurring::schedule(
                &self.services.store,
                WATCH_KIND,
                WATCH_PERIOD,
                next_run(began),
                self.services.now(),
            )
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
