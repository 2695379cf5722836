//! Members' notifications: written by the services that notice something, read in Herald.

use crate::domain::ids::UserId;
use jiff::Timestamp;

use super::{Store, StoreError, millis, with_pool};

#[derive(Debug, Clone, PartialEq)]
pub struct NotificationRecord {
    pub id: i64,
    pub user_id: UserId,
    pub created_at: Timestamp,
    pub subject: String,
    pub body: String,
    /// A page in Herald where the member can act on it.
    pub link: Option<String>,
    pub read_at: Option<Timestamp>,
}

type NotificationRow = (
    i64,
    UserId,
    i64,
    String,
    String,
    Option<String>,
    Option<i64>,
);

impl Store {
    pub async fn add_notification(
        &self,
        user_id: UserId,
        subject: &str,
        body: &str,
        link: Option<&str>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "INSERT INTO notifications (user_id, created_at, subject, body, link) VALUES ($1, $2, $3, $4, $5)")
            .bind(user_id)
            .bind(now.as_millisecond())
            .bind(subject)
            .bind(body)
            .bind(link)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// The member's newest notifications, newest first.
    pub async fn notifications_of(
        &self,
        user_id: UserId,
        limit: i64,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        let rows: Vec<NotificationRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT id, user_id, created_at, subject, body, link, read_at FROM notifications
              WHERE user_id = $1 ORDER BY id DESC LIMIT $2")
            .bind(user_id)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|(id, user_id, created_at, subject, body, link, read_at)| {
                Ok(NotificationRecord {
                    id,
                    user_id,
                    created_at: millis(created_at)?,
                    subject,
                    body,
                    link,
                    read_at: read_at.map(millis).transpose()?,
                })
            })
            .collect()
    }

    /// Marks all of the member's notifications read; returns how many were unread.
    pub async fn mark_notifications_read(
        &self,
        user_id: UserId,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query(
            "UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL")
            .bind(now.as_millisecond())
            .bind(user_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?)
    }
}
