//! The credential vault's rows: one sealed value per account and field.

use crate::domain::ids::{AccountId, UserId};
use jiff::Timestamp;
use sqlx::FromRow;

use super::{Store, StoreError, millis, with_pool};

/// A stored secret: sealed bytes plus the non-secret facts kept beside them.
#[derive(Clone, PartialEq)]
pub struct SecretRecord {
    pub account_id: AccountId,
    pub field: String,
    pub sealed: Vec<u8>,
    pub key_version: i64,
    pub strength: Option<i64>,
    pub fingerprint: Option<String>,
    pub updated_at: Timestamp,
    pub updated_by: UserId,
}

#[derive(FromRow)]
struct SecretRow {
    account_id: AccountId,
    field: String,
    sealed: Vec<u8>,
    key_version: i64,
    strength: Option<i64>,
    fingerprint: Option<String>,
    updated_at: i64,
    updated_by: UserId,
}

const SECRET_COLUMNS: &str =
    "account_id, field, sealed, key_version, strength, fingerprint, updated_at, updated_by";

impl Store {
    /// Stores (or replaces) one sealed secret.
    pub async fn put_secret(&self, secret: &SecretRecord) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "INSERT INTO account_secrets (account_id, field, sealed, key_version, strength, fingerprint, updated_at, updated_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (account_id, field) DO UPDATE SET
                 sealed = $3, key_version = $4, strength = $5, fingerprint = $6, updated_at = $7, updated_by = $8")
            .bind(secret.account_id)
            .bind(&secret.field)
            .bind(&secret.sealed)
            .bind(secret.key_version)
            .bind(secret.strength)
            .bind(&secret.fingerprint)
            .bind(secret.updated_at.as_millisecond())
            .bind(secret.updated_by)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    pub async fn secret(
        &self,
        account_id: AccountId,
        field: &str,
    ) -> Result<Option<SecretRecord>, StoreError> {
        let query = format!(
            "SELECT {SECRET_COLUMNS} FROM account_secrets WHERE account_id = $1 AND field = $2"
        );
        let row: Option<SecretRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .bind(account_id)
            .bind(field)
            .fetch_optional(pool)
            .await)?;
        row.map(SecretRecord::try_from).transpose()
    }

    /// Every stored secret of an account (sealed), for posture and rotation.
    pub async fn secrets_of(&self, account_id: AccountId) -> Result<Vec<SecretRecord>, StoreError> {
        let query = format!(
            "SELECT {SECRET_COLUMNS} FROM account_secrets WHERE account_id = $1 ORDER BY field"
        );
        let rows: Vec<SecretRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .bind(account_id)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(SecretRecord::try_from).collect()
    }

    /// Accounts other than `account_id` whose stored password has this fingerprint.
    pub async fn accounts_sharing_password(
        &self,
        account_id: AccountId,
        fingerprint: &str,
    ) -> Result<Vec<AccountId>, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query_scalar(
            "SELECT account_id FROM account_secrets
              WHERE field = 'login_password' AND fingerprint = $1 AND account_id <> $2
              ORDER BY account_id")
            .bind(fingerprint)
            .bind(account_id)
            .fetch_all(pool)
            .await)?)
    }
}

impl Store {
    /// The sealed canary that proves the master key matches, if one was stored yet.
    pub async fn vault_canary(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(
            with_pool!(self, pool => sqlx::query_scalar("SELECT canary FROM vault_meta WHERE id = 1")
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// Herald's sealed Bluesky OAuth client key, once a start has kept it.
    pub async fn bluesky_client_key(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let key: Option<Option<Vec<u8>>> = with_pool!(self, pool => sqlx::query_scalar(
            "SELECT bluesky_client_key FROM vault_meta WHERE id = 1")
            .fetch_optional(pool)
            .await)?;
        Ok(key.flatten())
    }

    /// Keeps the Bluesky client key the first time (the canary's row must exist); later
    /// calls, such as a second process starting at once, keep the first one.
    pub async fn keep_bluesky_client_key(&self, sealed: &[u8]) -> Result<(), StoreError> {
        self.set_bluesky_client_key(sealed, "AND bluesky_client_key IS NULL")
            .await
    }

    /// Replaces the Bluesky client key's sealed bytes (the same key, re-wrapped).
    pub async fn replace_bluesky_client_key(&self, sealed: &[u8]) -> Result<(), StoreError> {
        self.set_bluesky_client_key(sealed, "").await
    }

    async fn set_bluesky_client_key(&self, sealed: &[u8], only: &str) -> Result<(), StoreError> {
        let query = format!("UPDATE vault_meta SET bluesky_client_key = $1 WHERE id = 1 {only}");
        with_pool!(self, pool => sqlx::query(&query)
            .bind(sealed)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// Every stored account secret, for re-keying.
    pub async fn all_secrets(&self) -> Result<Vec<SecretRecord>, StoreError> {
        let query =
            format!("SELECT {SECRET_COLUMNS} FROM account_secrets ORDER BY account_id, field");
        let rows: Vec<SecretRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(SecretRecord::try_from).collect()
    }

    /// Replaces the sealed bytes of account secrets (same values, re-wrapped) in one
    /// transaction: all of the batch or none of it.
    pub async fn rewrap_secrets(
        &self,
        batch: &[(AccountId, String, Vec<u8>)],
        key_version: i64,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let _turn = self.write_turn().await;
            let mut tx = pool.begin().await?;
            for (account_id, field, sealed) in batch {
                sqlx::query(
                    "UPDATE account_secrets SET sealed = $1, key_version = $2 WHERE account_id = $3 AND field = $4")
                    .bind(sealed)
                    .bind(key_version)
                    .bind(account_id)
                    .bind(field)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok::<(), sqlx::Error>(())
        })?;
        Ok(())
    }

    /// Every member's sealed TOTP secret with the email it is bound to, for re-keying.
    pub async fn all_totp_secrets(&self) -> Result<Vec<(UserId, String, Vec<u8>)>, StoreError> {
        Ok(
            with_pool!(self, pool => sqlx::query_as("SELECT id, email, totp_secret FROM users ORDER BY id")
            .fetch_all(pool)
            .await)?,
        )
    }

    pub async fn rewrap_totp_secret(
        &self,
        user_id: UserId,
        sealed: &[u8],
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query("UPDATE users SET totp_secret = $1 WHERE id = $2")
            .bind(sealed)
            .bind(user_id)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    pub async fn replace_vault_canary(&self, sealed: &[u8]) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query("UPDATE vault_meta SET canary = $1 WHERE id = 1")
            .bind(sealed)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// Stores the canary the first time; later calls keep the first one.
    pub async fn set_vault_canary(&self, sealed: &[u8]) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "INSERT INTO vault_meta (id, canary) VALUES (1, $1) ON CONFLICT (id) DO NOTHING")
            .bind(sealed)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }
}

impl TryFrom<SecretRow> for SecretRecord {
    type Error = StoreError;

    fn try_from(row: SecretRow) -> Result<SecretRecord, StoreError> {
        Ok(SecretRecord {
            updated_at: millis(row.updated_at)?,
            account_id: row.account_id,
            field: row.field,
            sealed: row.sealed,
            key_version: row.key_version,
            strength: row.strength,
            fingerprint: row.fingerprint,
            updated_by: row.updated_by,
        })
    }
}

impl std::fmt::Debug for SecretRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretRecord")
            .field("account_id", &self.account_id)
            .field("field", &self.field)
            .field("key_version", &self.key_version)
            .finish_non_exhaustive()
    }
}
