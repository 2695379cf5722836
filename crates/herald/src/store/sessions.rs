//! Browser sessions, API tokens and login throttling. Session and token secrets are stored only
//! as SHA-256 hashes: a copy of the database lets nobody sign in.

use crate::domain::ids::UserId;
use jiff::Timestamp;
use sqlx::FromRow;

use super::{Store, StoreError, millis, with_pool};

#[derive(Clone, PartialEq)]
pub struct SessionRecord {
    pub user_id: UserId,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
}

/// One of a member's sessions as they may see it: never the token or its hash, but an id of
/// its own. `token_hash` stays inside the server, to tell the current session apart.
#[derive(Clone, PartialEq)]
pub struct SessionSummary {
    pub public_id: String,
    pub token_hash: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub ip: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiTokenRecord {
    pub id: i64,
    pub user_id: UserId,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked: bool,
}

#[derive(Debug, Clone)]
pub struct NewApiToken<'a> {
    pub user_id: UserId,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub scopes: &'a [String],
    pub expires_at: Timestamp,
}

#[derive(FromRow)]
struct TokenRow {
    id: i64,
    user_id: UserId,
    name: String,
    scopes: String,
    created_at: i64,
    expires_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

#[derive(FromRow)]
struct SummaryRow {
    public_id: Option<String>,
    token_hash: String,
    created_at: i64,
    last_seen_at: i64,
    ip: Option<String>,
}

/// How precisely a token's "last used" time is kept.
const LAST_USED_PRECISION_MS: i64 = 60_000;

const TOKEN_COLUMNS: &str =
    "id, user_id, name, scopes, created_at, expires_at, last_used_at, revoked_at";

impl Store {
    /// Starts a session. `public_id` names it to its member (to end it from another device);
    /// `ip` is the address it was started from.
    #[allow(clippy::too_many_arguments)] // Each is a distinct column of the new row.
    pub async fn create_session(
        &self,
        token_hash: &str,
        public_id: &str,
        user_id: UserId,
        ip: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "INSERT INTO sessions (token_hash, public_id, user_id, ip, created_at, last_seen_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $5, $6)")
            .bind(token_hash)
            .bind(public_id)
            .bind(user_id)
            .bind(ip)
            .bind(now.as_millisecond())
            .bind(expires_at.as_millisecond())
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// A member's sessions still valid at `now` (not past `expires_at`, seen since
    /// `idle_since`), most recently seen first.
    pub async fn sessions_of(
        &self,
        user_id: UserId,
        now: Timestamp,
        idle_since: Timestamp,
    ) -> Result<Vec<SessionSummary>, StoreError> {
        let rows: Vec<SummaryRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT public_id, token_hash, created_at, last_seen_at, ip FROM sessions
              WHERE user_id = $1 AND expires_at > $2 AND last_seen_at > $3
              ORDER BY last_seen_at DESC, created_at DESC")
            .bind(user_id)
            .bind(now.as_millisecond())
            .bind(idle_since.as_millisecond())
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|row| {
                Ok(SessionSummary {
                    public_id: row.public_id.unwrap_or_default(),
                    token_hash: row.token_hash,
                    created_at: millis(row.created_at)?,
                    last_seen_at: millis(row.last_seen_at)?,
                    ip: row.ip,
                })
            })
            .collect()
    }

    /// Ends the member's session named `public_id`; false if they have none by that id.
    pub async fn end_session(&self, user_id: UserId, public_id: &str) -> Result<bool, StoreError> {
        let ended = with_pool!(self, pool => sqlx::query(
            "DELETE FROM sessions WHERE user_id = $1 AND public_id = $2")
            .bind(user_id)
            .bind(public_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(ended == 1)
    }

    /// Ends every session of the member except `keep` (a token hash); returns how many ended.
    pub async fn end_other_sessions(&self, user_id: UserId, keep: &str) -> Result<u64, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query(
            "DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(user_id)
            .bind(keep)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?)
    }

    pub async fn session(&self, token_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        let row: Option<(UserId, i64, i64, i64)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT user_id, created_at, last_seen_at, expires_at FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(pool)
            .await)?;
        row.map(|(user_id, created_at, last_seen_at, expires_at)| {
            Ok(SessionRecord {
                user_id,
                created_at: millis(created_at)?,
                last_seen_at: millis(last_seen_at)?,
                expires_at: millis(expires_at)?,
            })
        })
        .transpose()
    }

    pub async fn touch_session(&self, token_hash: &str, now: Timestamp) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(now.as_millisecond())
            .bind(token_hash)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// Ends every session of a member ("sign out everywhere"); returns how many there were.
    pub async fn delete_user_sessions(&self, user_id: UserId) -> Result<u64, StoreError> {
        Ok(
            with_pool!(self, pool => sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?,
        )
    }

    /// Failures so far and the time before which no attempt is allowed, for one throttle key.
    pub async fn throttle(&self, key: &str) -> Result<Option<(i64, Timestamp)>, StoreError> {
        let row: Option<(i64, i64)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT failures, blocked_until FROM login_throttle WHERE key = $1")
            .bind(key)
            .fetch_optional(pool)
            .await)?;
        row.map(|(failures, until)| Ok((failures, millis(until)?)))
            .transpose()
    }

    /// Counts one more failure for `key` in a single statement (so concurrent failures are
    /// never lost) and returns the new count.
    pub async fn count_failure(&self, key: &str) -> Result<i64, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query_scalar(
            "INSERT INTO login_throttle (key, failures, blocked_until) VALUES ($1, 1, 0)
             ON CONFLICT (key) DO UPDATE SET failures = login_throttle.failures + 1
             RETURNING failures")
            .bind(key)
            .fetch_one(pool)
            .await)?)
    }

    /// Like [`Store::count_failure`], but counts only the failures since the window began:
    /// a failure at or after `window_ends` (the window's start plus its length) starts a new
    /// window at `now` with a count of one. `None` for a count that never starts again.
    pub async fn count_failure_in_window(
        &self,
        key: &str,
        now: Timestamp,
        window: Option<jiff::SignedDuration>,
    ) -> Result<i64, StoreError> {
        // Windows that began at or before this have ended.
        let ended_if_started_by = window
            .and_then(|window| now.checked_sub(window).ok())
            .map_or(i64::MIN, Timestamp::as_millisecond);
        Ok(with_pool!(self, pool => sqlx::query_scalar(
            "INSERT INTO login_throttle (key, failures, blocked_until, window_started_at)
             VALUES ($1, 1, 0, $2)
             ON CONFLICT (key) DO UPDATE SET
               failures = CASE WHEN login_throttle.window_started_at <= $3 THEN 1
                               ELSE login_throttle.failures + 1 END,
               window_started_at = CASE WHEN login_throttle.window_started_at <= $3 THEN $2
                                        ELSE login_throttle.window_started_at END
             RETURNING failures")
            .bind(key)
            .bind(now.as_millisecond())
            .bind(ended_if_started_by)
            .fetch_one(pool)
            .await)?)
    }

    pub async fn block_until(&self, key: &str, until: Timestamp) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query("UPDATE login_throttle SET blocked_until = $1 WHERE key = $2")
            .bind(until.as_millisecond())
            .bind(key)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    pub async fn clear_throttle(&self, key: &str) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query("DELETE FROM login_throttle WHERE key = $1")
            .bind(key)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    pub async fn create_api_token(
        &self,
        token: &NewApiToken<'_>,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query_scalar(
            "INSERT INTO api_tokens (user_id, name, token_hash, scopes, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
            .bind(token.user_id)
            .bind(token.name)
            .bind(token.token_hash)
            .bind(token.scopes.join(" "))
            .bind(now.as_millisecond())
            .bind(token.expires_at.as_millisecond())
            .fetch_one(pool)
            .await)?)
    }

    /// The token with this hash, if it is still valid, marking it used now. "Last used" is kept
    /// to the minute: a token used again within a minute is only read, so a script calling the
    /// API in a loop does not write to the database on every request.
    pub async fn use_api_token(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<ApiTokenRecord>, StoreError> {
        let query = format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens
              WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2"
        );
        let row: Option<TokenRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .bind(token_hash)
            .bind(now.as_millisecond())
            .fetch_optional(pool)
            .await)?;
        let Some(mut row) = row else {
            return Ok(None);
        };
        let fresh = row
            .last_used_at
            .is_some_and(|used| now.as_millisecond().saturating_sub(used) < LAST_USED_PRECISION_MS);
        if !fresh {
            let _turn = self.write_turn().await;
            with_pool!(self, pool => sqlx::query(
                "UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2")
                .bind(now.as_millisecond())
                .bind(token_hash)
                .execute(pool)
                .await
                .map(drop))?;
            row.last_used_at = Some(now.as_millisecond());
        }
        ApiTokenRecord::try_from(row).map(Some)
    }

    pub async fn list_api_tokens(
        &self,
        user_id: UserId,
    ) -> Result<Vec<ApiTokenRecord>, StoreError> {
        let query =
            format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY id");
        let rows: Vec<TokenRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .bind(user_id)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(ApiTokenRecord::try_from).collect()
    }

    /// Revokes one of `user_id`'s tokens; false if they have no such unrevoked token.
    pub async fn revoke_api_token(
        &self,
        user_id: UserId,
        token_id: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let changed = with_pool!(self, pool => sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL")
            .bind(now.as_millisecond())
            .bind(token_id)
            .bind(user_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(changed == 1)
    }
}

impl TryFrom<TokenRow> for ApiTokenRecord {
    type Error = StoreError;

    fn try_from(row: TokenRow) -> Result<ApiTokenRecord, StoreError> {
        Ok(ApiTokenRecord {
            id: row.id,
            user_id: row.user_id,
            name: row.name,
            scopes: row.scopes.split_whitespace().map(str::to_owned).collect(),
            created_at: millis(row.created_at)?,
            expires_at: millis(row.expires_at)?,
            last_used_at: row.last_used_at.map(millis).transpose()?,
            revoked: row.revoked_at.is_some(),
        })
    }
}

impl std::fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRecord")
            .field("user_id", &self.user_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for SessionSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionSummary")
            .field("public_id", &self.public_id)
            .field("last_seen_at", &self.last_seen_at)
            .finish_non_exhaustive()
    }
}
