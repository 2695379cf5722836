//! Incidents (issue 20): an account that is, or may be, hacked; its lockdown and recovery
//! steps, its timeline, the paused queue, and the holding-statement templates.
//!
//! At most one incident is open per account (a partial unique index), so two lockdowns at
//! once find the same incident; [`Store::claim_lockdown`] lets only one of them run the steps.

use crate::domain::ids::{AccountId, PostId, UserId};
use jiff::Timestamp;
use sqlx::FromRow;

use super::{Store, StoreError, millis, with_pool};

#[derive(Debug, Clone, PartialEq)]
pub struct IncidentRecord {
    pub id: i64,
    pub account_id: AccountId,
    /// `detection`, `member` or `lockdown`.
    pub opened_by: String,
    pub opened_by_user: Option<UserId>,
    /// `open`, `locked_down` or `closed`.
    pub status: String,
    pub owner_id: Option<UserId>,
    pub drill: bool,
    pub summary: String,
    pub opened_at: Timestamp,
    pub lockdown_started_at: Option<Timestamp>,
    pub locked_at: Option<Timestamp>,
    pub recovered_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    pub closed_by: Option<UserId>,
    pub lessons: Option<String>,
}

/// An incident to open.
#[derive(Debug, Clone)]
pub struct NewIncident<'a> {
    pub account_id: AccountId,
    pub opened_by: &'a str,
    pub opened_by_user: Option<UserId>,
    pub owner_id: Option<UserId>,
    pub drill: bool,
    pub summary: &'a str,
}

/// One step of a lockdown or a recovery, as it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRecord {
    pub step: String,
    /// `lockdown` or `recovery`.
    pub phase: String,
    /// `pending`, `done`, `failed` or `not_possible`.
    pub outcome: String,
    pub detail: String,
    pub by_user: Option<UserId>,
    pub at: Timestamp,
}

/// One line of an incident's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentEventRecord {
    pub id: i64,
    pub at: Timestamp,
    /// `evidence`, `lockdown`, `recovery`, `note` or `status`; `audit` for an audit entry
    /// about the account that `services::incidents::view` interleaves (not stored here).
    pub kind: String,
    pub actor_id: Option<UserId>,
    pub step: Option<String>,
    pub outcome: Option<String>,
    pub text: String,
}

#[derive(FromRow)]
struct IncidentRow {
    id: i64,
    account_id: AccountId,
    opened_by: String,
    opened_by_user: Option<UserId>,
    status: String,
    owner_id: Option<UserId>,
    drill: bool,
    summary: String,
    opened_at: i64,
    lockdown_started_at: Option<i64>,
    locked_at: Option<i64>,
    recovered_at: Option<i64>,
    closed_at: Option<i64>,
    closed_by: Option<UserId>,
    lessons: Option<String>,
}

const INCIDENT_COLUMNS: &str = "id, account_id, opened_by, opened_by_user, status, owner_id, drill, summary, opened_at, lockdown_started_at, locked_at, recovered_at, closed_at, closed_by, lessons";

impl Store {
    /// Opens an incident for the account unless one is open already; either way answers the
    /// open one, and whether this call opened it.
    pub async fn open_incident(
        &self,
        new: &NewIncident<'_>,
        now: Timestamp,
    ) -> Result<(IncidentRecord, bool), StoreError> {
        let opened = with_pool!(self, pool => sqlx::query(
            "INSERT INTO incidents (account_id, opened_by, opened_by_user, status, owner_id, drill, summary, opened_at)
             VALUES ($1, $2, $3, 'open', $4, $5, $6, $7)
             ON CONFLICT (account_id) WHERE closed_at IS NULL DO NOTHING")
            .bind(new.account_id)
            .bind(new.opened_by)
            .bind(new.opened_by_user)
            .bind(new.owner_id)
            .bind(new.drill)
            .bind(new.summary)
            .bind(now.as_millisecond())
            .execute(pool)
            .await
            .map(|done| done.rows_affected() == 1))?;
        let open = self
            .open_incident_of(new.account_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("an open incident vanished".to_owned()))?;
        Ok((open, opened))
    }

    /// The account's open incident, if any.
    pub async fn open_incident_of(
        &self,
        account_id: AccountId,
    ) -> Result<Option<IncidentRecord>, StoreError> {
        let query = format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE account_id = $1 AND closed_at IS NULL"
        );
        let row: Option<IncidentRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .bind(account_id)
            .fetch_optional(pool)
            .await)?;
        row.map(IncidentRecord::try_from).transpose()
    }

    pub async fn incident(&self, id: i64) -> Result<Option<IncidentRecord>, StoreError> {
        let query = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1");
        let row: Option<IncidentRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        row.map(IncidentRecord::try_from).transpose()
    }

    /// Every incident, newest first.
    pub async fn incidents(&self) -> Result<Vec<IncidentRecord>, StoreError> {
        let query = format!("SELECT {INCIDENT_COLUMNS} FROM incidents ORDER BY id DESC");
        let rows: Vec<IncidentRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(IncidentRecord::try_from).collect()
    }

    /// Marks the incident's lockdown started; false if it had been already (by another
    /// caller, who runs the steps).
    pub async fn claim_lockdown(
        &self,
        id: i64,
        drill: bool,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query(
            "UPDATE incidents SET lockdown_started_at = $1, drill = $2
              WHERE id = $3 AND lockdown_started_at IS NULL AND closed_at IS NULL")
            .bind(now.as_millisecond())
            .bind(drill)
            .bind(id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected() == 1))?)
    }

    /// The lockdown's steps are all done or not possible: the incident is locked down.
    pub async fn mark_locked(&self, id: i64, now: Timestamp) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "UPDATE incidents SET status = 'locked_down', locked_at = COALESCE(locked_at, $1)
              WHERE id = $2 AND closed_at IS NULL")
            .bind(now.as_millisecond())
            .bind(id)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// Every recovery step is ticked: when the recovery ended (the first time only).
    pub async fn mark_recovered(&self, id: i64, now: Timestamp) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "UPDATE incidents SET recovered_at = COALESCE(recovered_at, $1) WHERE id = $2")
            .bind(now.as_millisecond())
            .bind(id)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    pub async fn set_incident_owner(&self, id: i64, owner_id: UserId) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query("UPDATE incidents SET owner_id = $1 WHERE id = $2")
            .bind(owner_id)
            .bind(id)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// Closes the incident; false if it was closed already.
    pub async fn close_incident(
        &self,
        id: i64,
        by: UserId,
        lessons: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query(
            "UPDATE incidents SET status = 'closed', closed_at = $1, closed_by = $2, lessons = $3
              WHERE id = $4 AND closed_at IS NULL")
            .bind(now.as_millisecond())
            .bind(by)
            .bind(lessons)
            .bind(id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected() == 1))?)
    }

    /// Sets a step's outcome (adding the step the first time), with its line in the timeline.
    pub async fn set_step(
        &self,
        incident_id: i64,
        step: &StepRecord,
        kind: &str,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "INSERT INTO incident_steps (incident_id, step, phase, outcome, detail, by_user, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (incident_id, step) DO UPDATE
                SET outcome = excluded.outcome, detail = excluded.detail,
                    by_user = excluded.by_user, at = excluded.at")
            .bind(incident_id)
            .bind(&step.step)
            .bind(&step.phase)
            .bind(&step.outcome)
            .bind(&step.detail)
            .bind(step.by_user)
            .bind(step.at.as_millisecond())
            .execute(pool)
            .await
            .map(drop))?;
        self.add_incident_event(
            incident_id,
            step.at,
            kind,
            step.by_user,
            Some((&step.step, &step.outcome)),
            &step.detail,
        )
        .await
    }

    pub async fn incident_steps(&self, incident_id: i64) -> Result<Vec<StepRecord>, StoreError> {
        let rows: Vec<(String, String, String, String, Option<UserId>, i64)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT step, phase, outcome, detail, by_user, at FROM incident_steps
              WHERE incident_id = $1 ORDER BY phase, at, step")
            .bind(incident_id)
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|(step, phase, outcome, detail, by_user, at)| {
                Ok(StepRecord {
                    step,
                    phase,
                    outcome,
                    detail,
                    by_user,
                    at: millis(at)?,
                })
            })
            .collect()
    }

    /// Adds a line to the incident's timeline; `step` names the step and its outcome.
    pub async fn add_incident_event(
        &self,
        incident_id: i64,
        at: Timestamp,
        kind: &str,
        actor_id: Option<UserId>,
        step: Option<(&str, &str)>,
        text: &str,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "INSERT INTO incident_events (incident_id, at, kind, actor_id, step, outcome, text)
             VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(incident_id)
            .bind(at.as_millisecond())
            .bind(kind)
            .bind(actor_id)
            .bind(step.map(|(step, _)| step))
            .bind(step.map(|(_, outcome)| outcome))
            .bind(text)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// The incident's timeline, oldest first.
    pub async fn incident_events(
        &self,
        incident_id: i64,
    ) -> Result<Vec<IncidentEventRecord>, StoreError> {
        type Row = (
            i64,
            i64,
            String,
            Option<UserId>,
            Option<String>,
            Option<String>,
            String,
        );
        let rows: Vec<Row> = with_pool!(self, pool => sqlx::query_as(
            "SELECT id, at, kind, actor_id, step, outcome, text FROM incident_events
              WHERE incident_id = $1 ORDER BY id")
            .bind(incident_id)
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|(id, at, kind, actor_id, step, outcome, text)| {
                Ok(IncidentEventRecord {
                    id,
                    at: millis(at)?,
                    kind,
                    actor_id,
                    step,
                    outcome,
                    text,
                })
            })
            .collect()
    }

    /// Pauses the account's queue for the incident (once; a second pause keeps the first).
    pub async fn pause_account(
        &self,
        account_id: AccountId,
        incident_id: i64,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "INSERT INTO account_pauses (account_id, incident_id, paused_at) VALUES ($1, $2, $3)
             ON CONFLICT (account_id) DO NOTHING")
            .bind(account_id)
            .bind(incident_id)
            .bind(now.as_millisecond())
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// Resumes the account's queue; false if it was not paused.
    pub async fn resume_account(&self, account_id: AccountId) -> Result<bool, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query(
            "DELETE FROM account_pauses WHERE account_id = $1")
            .bind(account_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected() == 1))?)
    }

    /// Whether the account's queue is paused.
    pub async fn account_paused(&self, account_id: AccountId) -> Result<bool, StoreError> {
        let found: Option<i64> = with_pool!(self, pool => sqlx::query_scalar(
            "SELECT account_id FROM account_pauses WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(pool)
            .await)?;
        Ok(found.is_some())
    }

    /// On PostgreSQL, holds the account's row until the unit of work ends, so that a
    /// publishing attempt starting now (which takes the row `FOR SHARE` first) either started
    /// before or sees the pause. On SQLite the unit of work's write turn already orders them.
    pub async fn lock_account_row(&self, account_id: AccountId) -> Result<(), StoreError> {
        if self.backend_name() != "postgres" {
            return Ok(());
        }
        with_pool!(self, pool => sqlx::query(
            "SELECT id FROM social_accounts WHERE id = $1 FOR UPDATE")
            .bind(account_id)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// Takes the account's scheduled posts off the schedule (they stay approved; their jobs
    /// then do nothing), each with a line in its history. Returns their ids.
    pub async fn hold_scheduled_posts(
        &self,
        account_id: AccountId,
        actor_id: UserId,
        note: &str,
        now: Timestamp,
    ) -> Result<Vec<PostId>, StoreError> {
        self.move_account_posts(account_id, "scheduled", "approved", actor_id, note, now)
            .await
    }

    /// Sends the account's posts waiting for approval back to their authors as drafts.
    pub async fn cancel_pending_approvals(
        &self,
        account_id: AccountId,
        actor_id: UserId,
        note: &str,
        now: Timestamp,
    ) -> Result<Vec<PostId>, StoreError> {
        self.move_account_posts(account_id, "submitted", "draft", actor_id, note, now)
            .await
    }

    /// How many of the account's posts are in `state`.
    pub async fn count_account_posts(
        &self,
        account_id: AccountId,
        state: &str,
    ) -> Result<i64, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM posts WHERE account_id = $1 AND state = $2")
            .bind(account_id)
            .bind(state)
            .fetch_one(pool)
            .await)?)
    }

    /// The account's posts being published right now (in flight when a lockdown began).
    pub async fn posts_in_flight(&self, account_id: AccountId) -> Result<Vec<PostId>, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query_scalar(
            "SELECT id FROM posts WHERE account_id = $1 AND state = 'publishing' ORDER BY id")
            .bind(account_id)
            .fetch_all(pool)
            .await)?)
    }

    async fn move_account_posts(
        &self,
        account_id: AccountId,
        from: &str,
        to: &str,
        actor_id: UserId,
        note: &str,
        now: Timestamp,
    ) -> Result<Vec<PostId>, StoreError> {
        let ids: Vec<PostId> = with_pool!(self, pool => sqlx::query_scalar(
            "SELECT id FROM posts WHERE account_id = $1 AND state = $2 ORDER BY id")
            .bind(account_id)
            .bind(from)
            .fetch_all(pool)
            .await)?;
        if ids.is_empty() {
            return Ok(ids);
        }
        let at = now.as_millisecond();
        with_pool!(self, pool => sqlx::query(
            "INSERT INTO post_events (post_id, at, actor_id, from_state, to_state, note)
             SELECT id, $1, $2, $3, $4, $5 FROM posts WHERE account_id = $6 AND state = $3")
            .bind(at)
            .bind(actor_id)
            .bind(from)
            .bind(to)
            .bind(note)
            .bind(account_id)
            .execute(pool)
            .await
            .map(drop))?;
        with_pool!(self, pool => sqlx::query(
            "UPDATE posts SET state = $1, updated_at = $2 WHERE account_id = $3 AND state = $4")
            .bind(to)
            .bind(at)
            .bind(account_id)
            .bind(from)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(ids)
    }

    /// Drops the account's network tokens from the vault (a lockdown); the account then needs
    /// connecting again. False if none were stored.
    pub async fn drop_tokens(&self, account_id: AccountId) -> Result<bool, StoreError> {
        let dropped = with_pool!(self, pool => sqlx::query(
            "DELETE FROM account_secrets WHERE account_id = $1 AND field = 'oauth_tokens'")
            .bind(account_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected() == 1))?;
        with_pool!(self, pool => sqlx::query(
            "UPDATE social_accounts SET connection = 'not_connected' WHERE id = $1")
            .bind(account_id)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(dropped)
    }

    /// The holding-statement or all-clear template.
    pub async fn incident_template(&self, kind: &str) -> Result<Option<String>, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query_scalar(
            "SELECT text FROM incident_templates WHERE kind = $1")
            .bind(kind)
            .fetch_optional(pool)
            .await)?)
    }

    pub async fn set_incident_template(
        &self,
        kind: &str,
        text: &str,
        by: UserId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "UPDATE incident_templates SET text = $1, updated_by = $2, updated_at = $3 WHERE kind = $4")
            .bind(text)
            .bind(by)
            .bind(now.as_millisecond())
            .bind(kind)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }
}

impl TryFrom<IncidentRow> for IncidentRecord {
    type Error = StoreError;

    fn try_from(row: IncidentRow) -> Result<IncidentRecord, StoreError> {
        let maybe = |at: Option<i64>| at.map(millis).transpose();
        Ok(IncidentRecord {
            id: row.id,
            account_id: row.account_id,
            opened_by: row.opened_by,
            opened_by_user: row.opened_by_user,
            status: row.status,
            owner_id: row.owner_id,
            drill: row.drill,
            summary: row.summary,
            opened_at: millis(row.opened_at)?,
            lockdown_started_at: maybe(row.lockdown_started_at)?,
            locked_at: maybe(row.locked_at)?,
            recovered_at: maybe(row.recovered_at)?,
            closed_at: maybe(row.closed_at)?,
            closed_by: row.closed_by,
            lessons: row.lessons,
        })
    }
}
