//! The mail outbox, members' mail choices, and which notifications still wait for the mail
//! job. A message is written here in the unit of work of the change that caused it, with the
//! job that sends it; `message_key` makes writing it twice a no-op, and `sent_at` makes sending
//! it twice impossible.

use jiff::Timestamp;
use sqlx::FromRow;

use super::{Store, StoreError, millis, with_pool};
use crate::domain::ids::UserId;
use crate::domain::jobs::NewJob;
use crate::domain::notifications::{MailMode, NotificationKind};

/// The job that sends one outbox message (see `jobs/mail.rs`).
pub const MAIL_SEND_KIND: &str = "mail_send";
/// The job that decides how one notification is mailed.
pub const MAIL_NOTIFICATION_KIND: &str = "mail_notification";
/// Tried this many times (an hour apart at most: over a week) before a message is given up.
const SEND_ATTEMPTS: u32 = 200;

/// A message for the outbox; the body is already sealed.
#[derive(Clone, PartialEq)]
pub struct NewMail {
    pub message_key: String,
    pub recipient: String,
    pub subject: String,
    pub sealed_body: Vec<u8>,
    pub key_version: i64,
}

debug_without_secrets!(NewMail);

/// A message in the outbox.
#[derive(Clone, PartialEq)]
pub struct OutboxRecord {
    pub id: i64,
    pub message_key: String,
    pub recipient: String,
    pub subject: String,
    pub sealed_body: Vec<u8>,
    pub created_at: Timestamp,
    pub attempts: i64,
    /// Why the last try failed, in the operator's words.
    pub last_error: Option<String>,
    pub last_attempt_at: Option<Timestamp>,
    pub sent_at: Option<Timestamp>,
}

debug_without_secrets!(OutboxRecord);

#[derive(FromRow)]
struct OutboxRow {
    id: i64,
    message_key: String,
    recipient: String,
    subject: String,
    sealed_body: Vec<u8>,
    created_at: i64,
    attempts: i64,
    last_error: Option<String>,
    last_attempt_at: Option<i64>,
    sent_at: Option<i64>,
}

const OUTBOX_COLUMNS: &str = "id, message_key, recipient, subject, sealed_body, created_at, attempts, last_error, last_attempt_at, sent_at";

impl TryFrom<OutboxRow> for OutboxRecord {
    type Error = StoreError;

    fn try_from(row: OutboxRow) -> Result<OutboxRecord, StoreError> {
        Ok(OutboxRecord {
            id: row.id,
            message_key: row.message_key,
            recipient: row.recipient,
            subject: row.subject,
            sealed_body: row.sealed_body,
            created_at: millis(row.created_at)?,
            attempts: row.attempts,
            last_error: row.last_error,
            last_attempt_at: row.last_attempt_at.map(millis).transpose()?,
            sent_at: row.sent_at.map(millis).transpose()?,
        })
    }
}

/// A notification as the mail job sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct MailableNotification {
    pub id: i64,
    pub user_id: UserId,
    pub kind: NotificationKind,
    pub created_at: Timestamp,
    pub subject: String,
    pub body: String,
    pub link: Option<String>,
    /// `None` until the mail job has looked at it.
    pub mail_state: Option<String>,
}

type NotificationRow = (
    i64,
    UserId,
    String,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
);

fn notification(row: NotificationRow) -> Result<MailableNotification, StoreError> {
    let (id, user_id, kind, created_at, subject, body, link, mail_state) = row;
    Ok(MailableNotification {
        id,
        user_id,
        kind: NotificationKind::parse(&kind),
        created_at: millis(created_at)?,
        subject,
        body,
        link,
        mail_state,
    })
}

const NOTIFICATION_COLUMNS: &str = "id, user_id, kind, created_at, subject, body, link, mail_state";

impl Store {
    /// Puts a message in the outbox with the job that sends it; `None` when a message with the
    /// same key is there already (nothing is added then).
    pub async fn add_to_outbox(
        &self,
        mail: &NewMail,
        now: Timestamp,
    ) -> Result<Option<i64>, StoreError> {
        let id: Option<i64> = with_pool!(self, pool => sqlx::query_scalar(
            "INSERT INTO mail_outbox (message_key, recipient, subject, sealed_body, key_version, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (message_key) DO NOTHING
             RETURNING id")
            .bind(&mail.message_key)
            .bind(&mail.recipient)
            .bind(&mail.subject)
            .bind(&mail.sealed_body)
            .bind(mail.key_version)
            .bind(now.as_millisecond())
            .fetch_optional(pool)
            .await)?;
        if let Some(id) = id {
            let job = NewJob {
                kind: MAIL_SEND_KIND.to_owned(),
                payload: serde_json::json!({ "outbox": id }),
                run_at: now,
                dedupe_key: Some(format!("{MAIL_SEND_KIND}:{id}")),
                max_attempts: SEND_ATTEMPTS,
            };
            self.enqueue_job(&job, now).await?;
        }
        Ok(id)
    }

    pub async fn outbox_message(&self, id: i64) -> Result<Option<OutboxRecord>, StoreError> {
        let query = format!("SELECT {OUTBOX_COLUMNS} FROM mail_outbox WHERE id = $1");
        let row: Option<OutboxRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        row.map(OutboxRecord::try_from).transpose()
    }

    /// The newest messages, newest first, for the mail settings page.
    pub async fn recent_outbox(&self, limit: i64) -> Result<Vec<OutboxRecord>, StoreError> {
        let query = format!("SELECT {OUTBOX_COLUMNS} FROM mail_outbox ORDER BY id DESC LIMIT $1");
        let rows: Vec<OutboxRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(OutboxRecord::try_from).collect()
    }

    /// Marks a message sent; `false` if it was already (it is then not counted again).
    pub async fn mark_mail_sent(&self, id: i64, now: Timestamp) -> Result<bool, StoreError> {
        let changed = with_pool!(self, pool => sqlx::query(
            "UPDATE mail_outbox SET sent_at = $1, attempts = attempts + 1, last_attempt_at = $1, last_error = NULL
              WHERE id = $2 AND sent_at IS NULL")
            .bind(now.as_millisecond())
            .bind(id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(changed == 1)
    }

    /// Records a failed try and why.
    pub async fn mail_attempt_failed(
        &self,
        id: i64,
        error: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "UPDATE mail_outbox SET attempts = attempts + 1, last_error = $1, last_attempt_at = $2
              WHERE id = $3 AND sent_at IS NULL")
            .bind(error)
            .bind(now.as_millisecond())
            .bind(id)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// Messages not sent yet, for `herald vault rekey`: id, key and sealed body.
    pub async fn unsent_mail(&self) -> Result<Vec<(i64, String, Vec<u8>)>, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query_as(
            "SELECT id, message_key, sealed_body FROM mail_outbox WHERE sent_at IS NULL ORDER BY id")
            .fetch_all(pool)
            .await)?)
    }

    pub async fn rewrap_mail(
        &self,
        id: i64,
        sealed: &[u8],
        key_version: i64,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "UPDATE mail_outbox SET sealed_body = $1, key_version = $2 WHERE id = $3")
            .bind(sealed)
            .bind(key_version)
            .bind(id)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// Empties the bodies of messages sent before `before` (the daily prune): who was sent what
    /// subject when stays in the log; what it said is not kept longer than needed. Returns how
    /// many bodies were emptied.
    pub async fn forget_sent_mail_bodies(&self, before: Timestamp) -> Result<u64, StoreError> {
        let empty: &[u8] = &[];
        Ok(with_pool!(self, pool => sqlx::query(
            "UPDATE mail_outbox SET sealed_body = $1
              WHERE sent_at IS NOT NULL AND sent_at < $2 AND LENGTH(sealed_body) > 0")
            .bind(empty)
            .bind(before.as_millisecond())
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?)
    }

    /// How many messages wait to be sent.
    pub async fn mail_waiting(&self) -> Result<i64, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM mail_outbox WHERE sent_at IS NULL")
            .fetch_one(pool)
            .await)?)
    }

    /// The member's choices, kind by kind (kinds not listed: at once).
    pub async fn mail_preferences(
        &self,
        user_id: UserId,
    ) -> Result<Vec<(NotificationKind, MailMode)>, StoreError> {
        let rows: Vec<(String, String)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT kind, mode FROM mail_preferences WHERE user_id = $1")
            .bind(user_id)
            .fetch_all(pool)
            .await)?;
        Ok(rows
            .into_iter()
            .filter_map(|(kind, mode)| {
                Some((NotificationKind::parse(&kind), MailMode::parse(&mode)?))
            })
            .collect())
    }

    pub async fn set_mail_preference(
        &self,
        user_id: UserId,
        kind: NotificationKind,
        mode: MailMode,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "INSERT INTO mail_preferences (user_id, kind, mode) VALUES ($1, $2, $3)
             ON CONFLICT (user_id, kind) DO UPDATE SET mode = excluded.mode")
            .bind(user_id)
            .bind(kind.as_str())
            .bind(mode.as_str())
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    pub async fn mailable_notification(
        &self,
        id: i64,
    ) -> Result<Option<MailableNotification>, StoreError> {
        let query = format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE id = $1");
        let row: Option<NotificationRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        row.map(notification).transpose()
    }

    /// Records what the mail job did with a notification (see the migration for the states).
    pub async fn set_notification_mail_state(
        &self,
        id: i64,
        state: &str,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query("UPDATE notifications SET mail_state = $1 WHERE id = $2")
            .bind(state)
            .bind(id)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// Members with notifications waiting for their digest.
    pub async fn members_with_digest(&self) -> Result<Vec<UserId>, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query_scalar(
            "SELECT DISTINCT user_id FROM notifications WHERE mail_state = 'digest' ORDER BY user_id")
            .fetch_all(pool)
            .await)?)
    }

    /// A member's notifications waiting for their digest, oldest first.
    pub async fn digest_of(
        &self,
        user_id: UserId,
    ) -> Result<Vec<MailableNotification>, StoreError> {
        let query = format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM notifications
              WHERE user_id = $1 AND mail_state = 'digest' ORDER BY id"
        );
        let rows: Vec<NotificationRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .bind(user_id)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(notification).collect()
    }

    /// Marks notifications up to `last_id` that waited for `user_id`'s digest as sent in it.
    pub async fn mark_digested(&self, user_id: UserId, last_id: i64) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "UPDATE notifications SET mail_state = 'digested'
              WHERE user_id = $1 AND mail_state = 'digest' AND id <= $2")
            .bind(user_id)
            .bind(last_id)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }
}

/// Enqueues the job that decides how notification `id` is mailed (in the caller's unit of
/// work, beside the notification).
pub(super) fn notification_job(id: i64, now: Timestamp) -> NewJob {
    NewJob {
        kind: MAIL_NOTIFICATION_KIND.to_owned(),
        payload: serde_json::json!({ "notification": id }),
        run_at: now,
        dedupe_key: Some(format!("{MAIL_NOTIFICATION_KIND}:{id}")),
        max_attempts: 10,
    }
}
