//! Herald's own housekeeping job: once a day, delete finished jobs older than a week, expired
//! sessions and image files no post holds (`media::Library::sweep`), empty the bodies of
//! e-mails sent over a month ago, then enqueue tomorrow's run. Dead jobs are kept so that
//! someone can see what failed.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use super::recurring;
use super::{Done, JobError, JobFuture, JobHandler};
use crate::clock::Clock;
use crate::domain::jobs::Job;
use crate::services::media::Library;
use crate::store::{Store, StoreError};

pub const PRUNE_KIND: &str = "jobs.prune";

const KEEP_DONE_FOR: SignedDuration = SignedDuration::from_hours(24 * 7);
/// How long what a sent e-mail said is kept (its recipient, subject and time stay).
const KEEP_SENT_MAIL_FOR: SignedDuration = SignedDuration::from_hours(24 * 30);
const EVERY: SignedDuration = SignedDuration::from_hours(24);

#[derive(Debug)]
pub struct PruneJobs {
    store: Store,
    clock: Arc<dyn Clock>,
    media: Option<Library>,
}

impl PruneJobs {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> PruneJobs {
        PruneJobs {
            store,
            clock,
            media: None,
        }
    }

    /// Also sweeps `media`'s directory of image files no post holds.
    pub fn with_media(mut self, media: Library) -> PruneJobs {
        self.media = Some(media);
        self
    }
}

impl JobHandler for PruneJobs {
    fn run<'a>(&'a self, _job: &'a Job) -> JobFuture<'a> {
        Box::pin(async move {
            let now = self.clock.now();
            let cutoff = now.saturating_sub(KEEP_DONE_FOR).unwrap_or(now);
            let deleted = self.store.prune_done_jobs(cutoff).await?;
            let expired = self.store.prune_expired_access(now).await?;
            let mail_before = now.saturating_sub(KEEP_SENT_MAIL_FOR).unwrap_or(now);
            let mail_bodies = self.store.forget_sent_mail_bodies(mail_before).await?;
            let images = match &self.media {
                Some(media) => media.sweep(&self.store, now).await?,
                None => 0,
            };
            tracing::info!(
                deleted,
                expired,
                images,
                mail_bodies,
                "pruned finished jobs, expired sessions, orphaned image files and old e-mail bodies"
            );
            let tomorrow = now.saturating_add(EVERY).unwrap_or(now);
            enqueue_daily_prune(&self.store, tomorrow, now)
                .await
                .map(|()| Done::ByRunner)
                .map_err(JobError::from)
        })
    }
}

/// Enqueues the prune for the day of `run_at`; enqueuing it again for the same day is a no-op,
/// so every process may call this at start.
pub async fn enqueue_daily_prune(
    store: &Store,
    run_at: Timestamp,
    now: Timestamp,
) -> Result<(), StoreError> {
    recurring::schedule(store, PRUNE_KIND, "%Y-%m-%d", run_at, now).await
}
