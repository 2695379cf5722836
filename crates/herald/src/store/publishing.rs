//! Scheduling and publishing queries: a post's time, scheduling it together with its publish
//! job, and each publishing attempt with the post's state, every one a single transaction
//! that changes nothing unless the post is still in the state the caller saw.

use crate::domain::ids::{AccountId, PostId, UserId};
use std::collections::BTreeSet;

use jiff::Timestamp;

use super::posts::{AttemptEnd, AttemptRecord, post_event_in};
use super::{Backend, PostRecord, Store, StoreError, group_commit, millis, with_pool};
use crate::domain::jobs::NewJob;
use crate::domain::posts::PostState;

impl AttemptEnd<'_> {
    pub(super) fn published(&self) -> bool {
        self.to == PostState::Published
    }

    /// Why the post did not go out, for people: none when published or back to `scheduled`.
    pub(super) fn problem(&self) -> Option<&str> {
        (!self.published() && self.to != PostState::Scheduled).then_some(self.detail)
    }
}

/// The detail of an attempt that never ended because its process died: the next attempt of the
/// same post marks it `interrupted` with this.
pub(super) const CUT_OFF: &str =
    "Herald stopped before this attempt ended; the next attempt took over";

/// One row of `publish_attempts`: id, started, finished, worker, outcome, detail.
type AttemptRow = (i64, i64, Option<i64>, String, Option<String>, String);

/// States in which a post's time may be changed without scheduling it.
const TIME_EDITABLE: [&str; 5] = [
    "draft",
    "submitted",
    "approved",
    "expired_approval",
    "failed",
];

/// A change of a post's wished time: the post stays in `state` (the state its caller saw),
/// and the change is in its history and the audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeChange<'a> {
    pub id: PostId,
    pub state: PostState,
    /// The new time; `None` clears it.
    pub at: Option<Timestamp>,
    pub actor_id: UserId,
    /// For the post's history: what changed, in words.
    pub note: &'a str,
    pub audit: &'a crate::domain::audit::NewAuditEntry,
    pub now: Timestamp,
}

impl Store {
    /// Sets (or clears) the time a post not yet scheduled should go out, with a line in its
    /// history and the audit entry, in one transaction; false (nothing changed) if the post is
    /// no longer in the state the caller saw, or that state keeps no wished time.
    pub async fn set_post_time(&self, change: &TimeChange<'_>) -> Result<bool, StoreError> {
        let state = change.state.as_str();
        if !TIME_EDITABLE.contains(&state) {
            return Ok(false);
        }
        let now = change.now;
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE posts SET scheduled_at = $1, updated_at = $2 WHERE id = $3 AND state = $4")
                .bind(change.at.map(Timestamp::as_millisecond))
                .bind(now.as_millisecond())
                .bind(change.id)
                .bind(state)
                .execute(&mut *tx)
                .await?
                .rows_affected() == 1;
            if !changed {
                return Ok(false);
            }
            post_event_in!(&mut *tx, change.id, now, Some(change.actor_id), Some(state), state, change.note)?;
            super::audit::append_audit_in!(&mut *tx, change.audit, now)?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Schedules a post for `at`: its state, its time, its history and its publish job, in
    /// one transaction. False (nothing changed) if the post was no longer in `from`.
    #[allow(clippy::too_many_arguments)] // One transaction's worth of facts, each named.
    pub async fn schedule_post(
        &self,
        id: PostId,
        from: PostState,
        at: Timestamp,
        actor_id: Option<UserId>,
        note: &str,
        job: &NewJob,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let payload = job.payload.to_string();
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin().await?;
            let moved = sqlx::query(
                "UPDATE posts SET state = 'scheduled', scheduled_at = $1, problem = NULL, updated_at = $2
                  WHERE id = $3 AND state = $4")
                .bind(at.as_millisecond())
                .bind(now.as_millisecond())
                .bind(id)
                .bind(from.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected() == 1;
            if !moved {
                return Ok(false);
            }
            post_event_in!(&mut *tx, id, now, actor_id, Some(from.as_str()), "scheduled", note)?;
            sqlx::query(
                "INSERT INTO jobs (kind, payload, dedupe_key, state, run_at, max_attempts, created_at, updated_at)
                 VALUES ($1, $2, $3, 'queued', $4, $5, $6, $6)
                 ON CONFLICT (dedupe_key) DO NOTHING")
                .bind(&job.kind)
                .bind(&payload)
                .bind(&job.dedupe_key)
                .bind(job.run_at.as_millisecond())
                .bind(i64::from(job.max_attempts))
                .bind(now.as_millisecond())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Starts a publishing attempt: the post moves from `from` to `publishing` and the attempt
    /// is recorded. `None` (nothing changed) if the post is no longer in `from`, or its
    /// account's queue is paused by a lockdown.
    pub async fn start_attempt(
        &self,
        id: PostId,
        from: PostState,
        worker: &str,
        note: &str,
        now: Timestamp,
    ) -> Result<Option<i64>, StoreError> {
        let pool = match &self.backend {
            Backend::Postgres(pool) => pool,
            // SQLite's one writer commits the publisher's writes in groups (`group_commit.rs`).
            Backend::Sqlite(_, group) => {
                let start = group_commit::Start {
                    post_id: id,
                    from,
                    worker: worker.to_owned(),
                    note: note.to_owned(),
                    now,
                };
                return group.start(start).await;
            }
            // The publisher's writes are units of their own.
            Backend::SqliteWork(_) | Backend::PostgresWork(_) => return Err(super::work::inside()),
        };
        let mut tx = pool.begin().await?;
        // A lockdown holds the account's row while it pauses the queue: taking it here first
        // means this attempt either started before the pause or sees it (the next statement
        // reads after the lockdown committed).
        sqlx::query(
            "SELECT 1 FROM social_accounts WHERE id = (SELECT account_id FROM posts WHERE id = $1) FOR SHARE",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let moved = sqlx::query(
            "UPDATE posts SET state = 'publishing', updated_at = $1 WHERE id = $2 AND state = $3
                AND NOT EXISTS (SELECT 1 FROM account_pauses WHERE account_pauses.account_id = posts.account_id)",
        )
        .bind(now.as_millisecond())
        .bind(id)
        .bind(from.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !moved {
            return Ok(None);
        }
        sqlx::query(
            "UPDATE publish_attempts SET finished_at = $1, outcome = 'interrupted', detail = $2
              WHERE post_id = $3 AND outcome IS NULL",
        )
        .bind(now.as_millisecond())
        .bind(CUT_OFF)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if from != PostState::Publishing {
            post_event_in!(
                &mut *tx,
                id,
                now,
                None::<i64>,
                Some(from.as_str()),
                "publishing",
                note
            )?;
        }
        let attempt: i64 = sqlx::query_scalar(
            "INSERT INTO publish_attempts (post_id, started_at, worker) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(id)
        .bind(now.as_millisecond())
        .bind(worker)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(attempt))
    }

    /// Ends an attempt: the post leaves `publishing` for `end.to`, with the network's id when
    /// published and the reason otherwise. False if the post was no longer publishing.
    pub async fn finish_attempt(&self, end: &AttemptEnd<'_>) -> Result<bool, StoreError> {
        let pool = match &self.backend {
            Backend::Postgres(pool) => pool,
            Backend::Sqlite(_, group) => return group.finish(end.into()).await,
            Backend::SqliteWork(_) | Backend::PostgresWork(_) => return Err(super::work::inside()),
        };
        let published = end.published();
        let problem = end.problem();
        let mut tx = pool.begin().await?;
        let moved = sqlx::query(
            "UPDATE posts SET state = $1, problem = $2,
                    remote_id = COALESCE($3, remote_id), remote_url = COALESCE($4, remote_url),
                    published_at = CASE WHEN $5 THEN $6 ELSE published_at END, updated_at = $6
              WHERE id = $7 AND state = 'publishing'",
        )
        .bind(end.to.as_str())
        .bind(problem)
        .bind(end.remote_id)
        .bind(end.remote_url)
        .bind(published)
        .bind(end.now.as_millisecond())
        .bind(end.post_id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        sqlx::query(
            "UPDATE publish_attempts SET finished_at = $1, outcome = $2, detail = $3 WHERE id = $4",
        )
        .bind(end.now.as_millisecond())
        .bind(end.outcome)
        .bind(end.detail)
        .bind(end.attempt_id)
        .execute(&mut *tx)
        .await?;
        if moved {
            post_event_in!(
                &mut *tx,
                end.post_id,
                end.now,
                None::<i64>,
                Some("publishing"),
                end.to.as_str(),
                end.detail
            )?;
            if let Some(entry) = end.audit {
                super::audit::append_audit_in!(&mut *tx, entry, end.now)?;
            }
        }
        if let Some((job, worker)) = end.job_done {
            sqlx::query(
                "UPDATE jobs SET state = 'done', last_error = NULL, locked_by = NULL, locked_until = NULL, updated_at = $1
                  WHERE id = $2 AND locked_by = $3 AND state = 'running'",
            )
            .bind(end.now.as_millisecond())
            .bind(job.0)
            .bind(worker)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(moved)
    }

    /// When the first publishing attempt of a post started, if there was one.
    pub async fn first_attempt_at(&self, id: PostId) -> Result<Option<Timestamp>, StoreError> {
        let first: Option<i64> = with_pool!(self, pool => sqlx::query_scalar(
            "SELECT MIN(started_at) FROM publish_attempts WHERE post_id = $1")
            .bind(id)
            .fetch_one(pool)
            .await)?;
        first.map(millis).transpose()
    }

    /// Every publishing attempt of a post, oldest first.
    pub async fn post_attempts(&self, id: PostId) -> Result<Vec<AttemptRecord>, StoreError> {
        let rows: Vec<AttemptRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT id, started_at, finished_at, worker, outcome, detail FROM publish_attempts WHERE post_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|(id, started_at, finished_at, worker, outcome, detail)| {
                Ok(AttemptRecord {
                    id,
                    started_at: millis(started_at)?,
                    finished_at: finished_at.map(millis).transpose()?,
                    worker,
                    outcome,
                    detail,
                })
            })
            .collect()
    }

    /// Posts with a time in `[from, to)` (scheduled or published then), oldest first.
    pub async fn posts_between(
        &self,
        from: Timestamp,
        to: Timestamp,
        limit: i64,
    ) -> Result<Vec<PostRecord>, StoreError> {
        let query = format!(
            "SELECT {} FROM posts WHERE COALESCE(published_at, scheduled_at) >= $1 AND COALESCE(published_at, scheduled_at) < $2
              ORDER BY COALESCE(published_at, scheduled_at), id LIMIT $3",
            super::posts::POST_COLUMNS
        );
        let rows: Vec<super::posts::PostRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .bind(from.as_millisecond())
            .bind(to.as_millisecond())
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(super::posts::post_from_row).collect()
    }

    /// Every post of `account_id` in one of `states` with a time from `from` on (scheduled or
    /// published then), oldest first, for the account's exported schedule.
    pub async fn account_posts_since(
        &self,
        account_id: AccountId,
        from: Timestamp,
        states: &[PostState],
    ) -> Result<Vec<PostRecord>, StoreError> {
        if states.is_empty() {
            return Ok(Vec::new());
        }
        let states: Vec<String> = states
            .iter()
            .map(|state| format!("'{}'", state.as_str()))
            .collect();
        let query = format!(
            "SELECT {} FROM posts WHERE account_id = $1 AND COALESCE(published_at, scheduled_at) >= $2
                AND state IN ({})
              ORDER BY COALESCE(published_at, scheduled_at), id",
            super::posts::POST_COLUMNS,
            states.join(", ")
        );
        let rows: Vec<super::posts::PostRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .bind(account_id)
            .bind(from.as_millisecond())
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(super::posts::post_from_row).collect()
    }

    /// The times an account's posts hold from `from` on, so the queue skips them.
    pub async fn taken_times(
        &self,
        account_id: AccountId,
        from: Timestamp,
    ) -> Result<BTreeSet<Timestamp>, StoreError> {
        let rows: Vec<i64> = with_pool!(self, pool => sqlx::query_scalar(
            "SELECT scheduled_at FROM posts WHERE account_id = $1 AND scheduled_at >= $2
                AND state NOT IN ('draft', 'failed')")
            .bind(account_id)
            .bind(from.as_millisecond())
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(millis).collect()
    }

    /// How many posts are in each state (for load scripts and metrics).
    pub async fn post_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query_as(
            "SELECT state, COUNT(*) FROM posts GROUP BY state ORDER BY state")
            .fetch_all(pool)
            .await)?)
    }
}
