//! "Rotate now" requests for accounts' network passwords.

use crate::domain::ids::{AccountId, UserId};
use jiff::Timestamp;

use super::{Store, StoreError, millis, with_pool};

#[derive(Debug, Clone, PartialEq)]
pub struct RotationRecord {
    pub id: i64,
    pub account_id: AccountId,
    pub reason: String,
    pub detail: String,
    pub requested_at: Timestamp,
    pub done_at: Option<Timestamp>,
    pub done_by: Option<UserId>,
}

type RotationRow = (
    i64,
    AccountId,
    String,
    String,
    i64,
    Option<i64>,
    Option<UserId>,
);

impl Store {
    /// Opens a rotation request unless one for the same reason is already open; says whether
    /// it opened one.
    pub async fn request_rotation(
        &self,
        account_id: AccountId,
        reason: &str,
        detail: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query(
            "INSERT INTO rotations (account_id, reason, detail, requested_at)
             SELECT $1, $2, $3, $4
              WHERE NOT EXISTS (SELECT 1 FROM rotations
                                 WHERE account_id = $1 AND reason = $2 AND done_at IS NULL)")
            .bind(account_id)
            .bind(reason)
            .bind(detail)
            .bind(now.as_millisecond())
            .execute(pool)
            .await
            .map(|done| done.rows_affected() == 1))?)
    }

    /// Marks every open request of an account done: its password was just changed.
    pub async fn complete_rotations(
        &self,
        account_id: AccountId,
        by: UserId,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query(
            "UPDATE rotations SET done_at = $1, done_by = $2 WHERE account_id = $3 AND done_at IS NULL")
            .bind(now.as_millisecond())
            .bind(by)
            .bind(account_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?)
    }

    pub async fn rotations_of(
        &self,
        account_id: AccountId,
    ) -> Result<Vec<RotationRecord>, StoreError> {
        let rows: Vec<RotationRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT id, account_id, reason, detail, requested_at, done_at, done_by FROM rotations
              WHERE account_id = $1 ORDER BY id")
            .bind(account_id)
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(
                |(id, account_id, reason, detail, requested_at, done_at, done_by)| {
                    Ok(RotationRecord {
                        id,
                        account_id,
                        reason,
                        detail,
                        requested_at: millis(requested_at)?,
                        done_at: done_at.map(millis).transpose()?,
                        done_by,
                    })
                },
            )
            .collect()
    }

    /// Accounts whose gatekeeper is `user_id`: those whose credentials they could reveal.
    pub async fn accounts_kept_by(&self, user_id: UserId) -> Result<Vec<AccountId>, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query_scalar(
            "SELECT id FROM social_accounts WHERE gatekeeper_id = $1 ORDER BY id")
            .bind(user_id)
            .fetch_all(pool)
            .await)?)
    }
}
