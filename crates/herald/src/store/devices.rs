//! The browsers each member has signed in from (see `services::people::devices`): known by
//! the hash of the device cookie's random id, with when and from where they were last used.

use jiff::Timestamp;

use super::{Store, StoreError, millis, with_pool};
use crate::domain::ids::UserId;

/// One browser a member signed in from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInDeviceRecord {
    pub device_hash: String,
    /// In people's words ("Firefox on Windows"), from the browser's user agent.
    pub browser: String,
    pub last_ip: String,
    pub first_seen_at: Timestamp,
    pub last_seen_at: Timestamp,
}

impl Store {
    /// The browsers `user_id` has signed in from, the most recently used first.
    pub async fn sign_in_devices(
        &self,
        user_id: UserId,
    ) -> Result<Vec<SignInDeviceRecord>, StoreError> {
        let rows: Vec<(String, String, String, i64, i64)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT device_hash, browser, last_ip, first_seen_at, last_seen_at
             FROM sign_in_devices WHERE user_id = $1 ORDER BY last_seen_at DESC, device_hash")
            .bind(user_id)
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|(device_hash, browser, last_ip, first, last)| {
                Ok(SignInDeviceRecord {
                    device_hash,
                    browser,
                    last_ip,
                    first_seen_at: millis(first)?,
                    last_seen_at: millis(last)?,
                })
            })
            .collect()
    }

    /// Records a sign-in of `user_id` from the browser `device_hash`: a new row the first time,
    /// else its last use, address and browser brought up to date.
    pub async fn save_sign_in_device(
        &self,
        user_id: UserId,
        device_hash: &str,
        browser: &str,
        ip: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        with_pool!(self, pool => sqlx::query(
            "INSERT INTO sign_in_devices
                 (user_id, device_hash, browser, last_ip, first_seen_at, last_seen_at)
             VALUES ($1, $2, $3, $4, $5, $5)
             ON CONFLICT (user_id, device_hash) DO UPDATE SET
                 browser = excluded.browser, last_ip = excluded.last_ip,
                 last_seen_at = excluded.last_seen_at")
            .bind(user_id)
            .bind(device_hash)
            .bind(browser)
            .bind(ip)
            .bind(now.as_millisecond())
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }
}
