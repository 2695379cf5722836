//! Members' second factors after they joined: failed step-up codes counted, recovery codes
//! read and replaced, a new authenticator or password saved, an owner's reset of a member's
//! second factor and the enrolment that follows it, and a departed member joining again.

use crate::domain::ids::UserId;
use jiff::Timestamp;

use super::people::claim_invitation;
use super::{NewUser, Store, StoreError, with_pool};

/// Inside a transaction `$tx`: replaces every recovery code of `$user_id` with `$hashes`.
macro_rules! replace_codes {
    ($tx:ident, $user_id:expr, $hashes:expr) => {{
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind($user_id)
            .execute(&mut *$tx)
            .await?;
        for hash in $hashes {
            sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                .bind($user_id)
                .bind(hash)
                .execute(&mut *$tx)
                .await?;
        }
    }};
}

impl Store {
    /// Counts one more wrong step-up code in a single statement (parallel guesses are never
    /// lost) and returns how many there now are in a row.
    pub async fn count_step_up_failure(&self, user_id: UserId) -> Result<i64, StoreError> {
        let _turn = self.write_turn().await;
        Ok(with_pool!(self, pool => sqlx::query_scalar(
            "UPDATE users SET step_up_failures = step_up_failures + 1 WHERE id = $1
             RETURNING step_up_failures")
            .bind(user_id)
            .fetch_one(pool)
            .await)?)
    }

    /// A right step-up code, or a new sign-in: the count starts again.
    pub async fn clear_step_up_failures(&self, user_id: UserId) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        with_pool!(self, pool => sqlx::query(
            "UPDATE users SET step_up_failures = 0 WHERE id = $1 AND step_up_failures <> 0")
            .bind(user_id)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// The stored forms of a member's unused recovery codes.
    pub async fn unused_recovery_codes(&self, user_id: UserId) -> Result<Vec<String>, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query_scalar(
            "SELECT code_hash FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
            .bind(user_id)
            .fetch_all(pool)
            .await)?)
    }

    /// New recovery codes: every earlier one, used or not, stops working.
    pub async fn replace_recovery_codes(
        &self,
        user_id: UserId,
        hashes: &[String],
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin().await?;
            replace_codes!(tx, user_id, hashes);
            tx.commit().await?;
            Ok(())
        })
    }

    /// A new password, and every session but `keep_session` (the one that asked) ended.
    /// Returns how many sessions ended.
    pub async fn change_password(
        &self,
        user_id: UserId,
        password_hash: &str,
        keep_session: &str,
    ) -> Result<u64, StoreError> {
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                .bind(password_hash)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            let ended = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
                .bind(user_id)
                .bind(keep_session)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok(ended)
        })
    }

    /// A new authenticator (its sealed secret, and the step of the code that confirmed it).
    pub async fn replace_authenticator(
        &self,
        user_id: UserId,
        sealed_secret: &[u8],
        last_step: i64,
    ) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        with_pool!(self, pool => sqlx::query(
            "UPDATE users SET totp_secret = $1, totp_last_step = $2 WHERE id = $3")
            .bind(sealed_secret)
            .bind(last_step)
            .bind(user_id)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// An owner's (or the command line's) reset of a member's second factor: their recovery
    /// codes and passkeys are deleted and their sessions end, in one transaction; at their next
    /// sign-in they enrol a new authenticator. Returns how many sessions ended.
    pub async fn reset_second_factor(
        &self,
        user_id: UserId,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE users SET second_factor_reset_at = $1, step_up_failures = 0 WHERE id = $2")
                .bind(now.as_millisecond())
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM passkeys WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            // The browsers they signed in from are forgotten too: the enrolment that follows
            // starts anew and is not reported as a sign-in from a new device.
            sqlx::query("DELETE FROM sign_in_devices WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            let ended = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok(ended)
        })
    }

    /// The enrolment that follows a reset, once: saves the new authenticator and recovery
    /// codes and clears the reset. False (and nothing saved) if no reset is pending.
    pub async fn enrol_after_reset(
        &self,
        user_id: UserId,
        sealed_secret: &[u8],
        last_step: i64,
        recovery_code_hashes: &[String],
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin().await?;
            let claimed = sqlx::query(
                "UPDATE users SET totp_secret = $1, totp_last_step = $2, second_factor_reset_at = NULL
                  WHERE id = $3 AND second_factor_reset_at IS NOT NULL")
                .bind(sealed_secret)
                .bind(last_step)
                .bind(user_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if claimed != 1 {
                return Ok(false);
            }
            replace_codes!(tx, user_id, recovery_code_hashes);
            tx.commit().await?;
            Ok(true)
        })
    }

    /// A deactivated member accepts a new invitation: the invitation is spent and the member
    /// made active again with the invited role, a new password, authenticator and recovery
    /// codes; their old passkeys are deleted. Fails with [`StoreError::Conflict`] when the
    /// invitation is spent or expired, or the member is active.
    pub async fn rejoin(
        &self,
        token_hash: &str,
        user_id: UserId,
        user: &NewUser,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin().await?;
            claim_invitation!(tx, token_hash, now);
            let changed = sqlx::query(
                "UPDATE users SET name = $1, role = $2, password_hash = $3, totp_secret = $4,
                        totp_last_step = $5, active = TRUE, deactivated_at = NULL,
                        step_up_failures = 0, second_factor_reset_at = NULL
                  WHERE id = $6 AND NOT active")
                .bind(&user.name)
                .bind(user.role.as_str())
                .bind(&user.password_hash)
                .bind(&user.totp_secret)
                .bind(user.totp_last_step)
                .bind(user_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if changed != 1 {
                return Err(StoreError::Conflict(format!("{} is already a member", user.email)));
            }
            replace_codes!(tx, user_id, &user.recovery_code_hashes);
            sqlx::query("DELETE FROM passkeys WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }
}
