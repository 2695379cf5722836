//! Passkeys: each member's registered WebAuthn credentials, as webauthn-rs serializes them.

use crate::domain::ids::UserId;
use jiff::Timestamp;
use sqlx::FromRow;

use super::people::conflict;
use super::{Store, StoreError, millis, with_pool};

#[derive(Debug, Clone, PartialEq)]
pub struct PasskeyRecord {
    pub id: i64,
    pub user_id: UserId,
    pub name: String,
    /// The credential as webauthn-rs serializes it (public key, counter); nothing secret.
    pub passkey: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

#[derive(FromRow)]
struct PasskeyRow {
    id: i64,
    user_id: UserId,
    name: String,
    passkey: String,
    created_at: i64,
    last_used_at: Option<i64>,
}

impl Store {
    pub async fn add_passkey(
        &self,
        user_id: UserId,
        name: &str,
        credential_id: &str,
        passkey: &str,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        let id: i64 = with_pool!(self, pool => sqlx::query_scalar(
            "INSERT INTO passkeys (user_id, name, credential_id, passkey, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id")
            .bind(user_id)
            .bind(name)
            .bind(credential_id)
            .bind(passkey)
            .bind(now.as_millisecond())
            .fetch_one(pool)
            .await
            .map_err(|error| conflict(error, "this passkey is already registered")))?;
        Ok(id)
    }

    pub async fn passkeys_of(&self, user_id: UserId) -> Result<Vec<PasskeyRecord>, StoreError> {
        let rows: Vec<PasskeyRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT id, user_id, name, passkey, created_at, last_used_at FROM passkeys
              WHERE user_id = $1 ORDER BY id")
            .bind(user_id)
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|row| {
                Ok(PasskeyRecord {
                    id: row.id,
                    user_id: row.user_id,
                    name: row.name,
                    passkey: row.passkey,
                    created_at: millis(row.created_at)?,
                    last_used_at: row.last_used_at.map(millis).transpose()?,
                })
            })
            .collect()
    }

    /// Stores a passkey's new state (its signature counter) after it was used.
    pub async fn passkey_used(
        &self,
        id: i64,
        passkey: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "UPDATE passkeys SET passkey = $1, last_used_at = $2 WHERE id = $3")
            .bind(passkey)
            .bind(now.as_millisecond())
            .bind(id)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// Marks a passkey ceremony as completed; false if it already was (a replay).
    pub async fn spend_ceremony(
        &self,
        id: &str,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError> {
        let inserted = with_pool!(self, pool => sqlx::query(
            "INSERT INTO spent_ceremonies (id, expires_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING")
            .bind(id)
            .bind(expires_at.as_millisecond())
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(inserted == 1)
    }

    /// Forgets what no longer matters: ended sessions, spent ceremonies past their expiry, and
    /// throttle counts idle for a day. Returns how many rows went.
    pub async fn prune_expired_access(&self, now: Timestamp) -> Result<u64, StoreError> {
        let day_ago = now
            .saturating_sub(jiff::SignedDuration::from_hours(24))
            .unwrap_or(now);
        let mut removed = 0;
        for (sql, cutoff) in [
            ("DELETE FROM sessions WHERE expires_at < $1", now),
            ("DELETE FROM spent_ceremonies WHERE expires_at < $1", now),
            (
                "DELETE FROM login_throttle WHERE blocked_until < $1",
                day_ago,
            ),
        ] {
            removed += with_pool!(self, pool => sqlx::query(sql)
                .bind(cutoff.as_millisecond())
                .execute(pool)
                .await
                .map(|done| done.rows_affected()))?;
        }
        Ok(removed)
    }

    /// Removes one of `user_id`'s passkeys; false if they have no such passkey.
    pub async fn delete_passkey(&self, user_id: UserId, id: i64) -> Result<bool, StoreError> {
        let deleted = with_pool!(self, pool => sqlx::query(
            "DELETE FROM passkeys WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(deleted == 1)
    }
}
