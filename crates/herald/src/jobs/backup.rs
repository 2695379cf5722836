//! Scheduled backups (`[backup] dir`): every `every_hours`, a backup as `herald backup` takes
//! it (never with the master key) into a folder of its own, `herald-<time>`; the newest `keep`
//! are kept and older ones deleted. A failed backup is logged, told to the owners, and tried
//! again at the next period.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use super::{Done, JobError, JobFuture, JobHandler};
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::jobs::Job;
use crate::services::notify;
use crate::store::{Store, StoreError};

pub const BACKUP_KIND: &str = "scheduled_backup";
/// The folders this job writes start so; nothing else in the folder is ever deleted.
const PREFIX: &str = "herald-";

#[derive(Debug)]
pub struct ScheduledBackups {
    store: Store,
    clock: Arc<dyn Clock>,
    config: Arc<Config>,
    dir: PathBuf,
}

impl ScheduledBackups {
    /// `None` when no `[backup] dir` is configured.
    pub fn new(store: Store, clock: Arc<dyn Clock>, config: Arc<Config>) -> Option<Self> {
        let dir = config.backup.dir.clone()?;
        Some(ScheduledBackups {
            store,
            clock,
            config,
            dir,
        })
    }

    async fn take(&self, now: Timestamp) -> Result<PathBuf, String> {
        let folder = self
            .dir
            .join(format!("{PREFIX}{}", now.strftime("%Y%m%dT%H%M%SZ")));
        crate::backup::backup(
            &self.config,
            &self.store,
            &folder,
            &crate::backup::KeyChoice::Leave,
            now,
        )
        .await
        .map_err(|error| error.to_string())?;
        prune(&self.dir, self.config.backup.keep as usize).map_err(|error| {
            format!("the backup was taken, but older ones could not be deleted: {error}")
        })?;
        Ok(folder)
    }
}

impl JobHandler for ScheduledBackups {
    fn run<'a>(&'a self, _job: &'a Job) -> JobFuture<'a> {
        Box::pin(async move {
            let now = self.clock.now();
            match self.take(now).await {
                Ok(folder) => {
                    tracing::info!(folder = %folder.display(), "scheduled backup taken");
                }
                Err(reason) => {
                    tracing::warn!(%reason, "a scheduled backup failed");
                    notify::all_owners(
                        &self.store,
                        crate::domain::notifications::NotificationKind::Operations,
                        "A scheduled backup failed",
                        &format!(
                            "Herald could not back itself up into {}: {reason}. It tries again at the next scheduled time; `herald backup DIR` takes one by hand.",
                            self.dir.display()
                        ),
                        Some("/status"),
                        now,
                    )
                    .await?;
                }
            }
            let hours = i64::try_from(self.config.backup.every_hours).unwrap_or(24);
            let next = now
                .saturating_add(SignedDuration::from_hours(hours))
                .unwrap_or(now);
            enqueue_backup(&self.store, next, now)
                .await
                .map(|()| Done::ByRunner)
                .map_err(JobError::from)
        })
    }
}

/// Enqueues the backup for the hour of `run_at`; a second call for the same hour is a no-op.
pub async fn enqueue_backup(
    store: &Store,
    run_at: Timestamp,
    now: Timestamp,
) -> Result<(), StoreError> {
    super::recurring::schedule(store, BACKUP_KIND, "%Y-%m-%dT%H", run_at, now).await
}

/// Deletes all but the newest `keep` of this job's backups in `dir` (by their names, which
/// sort by time); only complete ones (with a manifest) count and are deleted.
fn prune(dir: &Path, keep: usize) -> std::io::Result<()> {
    let mut taken: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with(PREFIX))
                && path.join("manifest.json").is_file()
        })
        .collect();
    taken.sort();
    let surplus = taken.len().saturating_sub(keep);
    for old in taken.into_iter().take(surplus) {
        std::fs::remove_dir_all(old)?;
    }
    Ok(())
}
