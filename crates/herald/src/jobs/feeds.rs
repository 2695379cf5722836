//! The daily fetch of the threat feeds named in `[links] feeds`: each through the hardened
//! client with a conditional GET, its list replaced only when it changed and reads whole. One
//! feed failing is logged and leaves its last good list; the others go on.

use std::path::PathBuf;
use std::sync::Arc;

use jiff::SignedDuration;

use super::{Done, JobError, JobFuture, JobHandler, recurring};
use crate::clock::Clock;
use crate::config::FeedSource;
use crate::domain::jobs::Job;
use crate::services::links::{self, Refreshed};
use crate::store::{Store, StoreError};

pub const FEEDS_KIND: &str = "refresh_feeds";

/// Fetches the configured feeds.
#[derive(Debug)]
pub struct RefreshFeeds {
    store: Store,
    clock: Arc<dyn Clock>,
    data_dir: PathBuf,
    feeds: Vec<FeedSource>,
    allow_private_addresses: bool,
}

impl RefreshFeeds {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        config: &crate::config::Config,
    ) -> RefreshFeeds {
        RefreshFeeds {
            store,
            clock,
            data_dir: config.data_dir.clone(),
            feeds: config.links.feeds.clone(),
            allow_private_addresses: config.networks.allow_private_addresses,
        }
    }
}

impl JobHandler for RefreshFeeds {
    fn run<'a>(&'a self, _job: &'a Job) -> JobFuture<'a> {
        Box::pin(async move {
            for source in &self.feeds {
                let name = links::feed_name(&source.url);
                match links::refresh_feed(&self.data_dir, source, self.allow_private_addresses)
                    .await
                {
                    Ok(Refreshed::Unchanged) => {
                        tracing::info!(feed = %name, "a threat feed has not changed");
                    }
                    Ok(Refreshed::Saved(feed)) => {
                        tracing::info!(feed = %feed.name, entries = feed.entries, "a threat feed was imported");
                    }
                    Err(reason) => {
                        tracing::warn!(feed = %name, %reason, "a threat feed was not imported");
                    }
                }
            }
            let now = self.clock.now();
            let tomorrow = now
                .saturating_add(SignedDuration::from_hours(24))
                .unwrap_or(now);
            enqueue_daily_feeds(&self.store, tomorrow, now)
                .await
                .map(|()| Done::ByRunner)
                .map_err(JobError::from)
        })
    }
}

/// Enqueues the fetch for the day of `run_at`; a second call for the same day is a no-op.
pub async fn enqueue_daily_feeds(
    store: &Store,
    run_at: jiff::Timestamp,
    now: jiff::Timestamp,
) -> Result<(), StoreError> {
    recurring::schedule(store, FEEDS_KIND, "%Y-%m-%d", run_at, now).await
}
