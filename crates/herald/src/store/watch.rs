//! What the account watcher (`jobs/watch.rs`) remembers of each account: the profile it saw
//! last, and the network ids of the posts it has already judged.

use crate::domain::ids::{AccountId, PostId};
use jiff::Timestamp;

use super::{Store, StoreError, millis, with_pool};

impl Store {
    /// The profile the watcher saw last (JSON), if it has looked at the account before.
    pub async fn watched_profile(
        &self,
        account_id: AccountId,
    ) -> Result<Option<String>, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query_scalar(
            "SELECT profile FROM account_watch WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(pool)
            .await)?)
    }

    pub async fn set_watched_profile(
        &self,
        account_id: AccountId,
        profile: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "INSERT INTO account_watch (account_id, profile, checked_at) VALUES ($1, $2, $3)
             ON CONFLICT (account_id) DO UPDATE SET profile = excluded.profile, checked_at = excluded.checked_at")
            .bind(account_id)
            .bind(profile)
            .bind(now.as_millisecond())
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// Notes a post as judged; false if it had been already.
    pub async fn note_seen_post(
        &self,
        account_id: AccountId,
        remote_id: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query(
            "INSERT INTO account_watch_seen (account_id, remote_id, seen_at) VALUES ($1, $2, $3)
             ON CONFLICT (account_id, remote_id) DO NOTHING")
            .bind(account_id)
            .bind(remote_id)
            .bind(now.as_millisecond())
            .execute(pool)
            .await
            .map(|done| done.rows_affected() == 1))?)
    }

    /// The network ids of the posts the watcher has judged on the account.
    pub async fn seen_posts(&self, account_id: AccountId) -> Result<Vec<String>, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query_scalar(
            "SELECT remote_id FROM account_watch_seen WHERE account_id = $1")
            .bind(account_id)
            .fetch_all(pool)
            .await)?)
    }

    /// The keys noted on the account that start with `prefix`, noted at `since` or later,
    /// oldest first, without the prefix: the attacker's posts an incident found
    /// (`attacker:{id}`), and those Herald deleted since (`removed:{id}`).
    pub async fn seen_since(
        &self,
        account_id: AccountId,
        prefix: &str,
        since: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        let keys: Vec<String> = with_pool!(self, pool => sqlx::query_scalar(
            "SELECT remote_id FROM account_watch_seen
              WHERE account_id = $1 AND substr(remote_id, 1, $2) = $3 AND seen_at >= $4
              ORDER BY seen_at, remote_id")
            .bind(account_id)
            .bind(i32::try_from(prefix.len()).unwrap_or(i32::MAX))
            .bind(prefix)
            .bind(since.as_millisecond())
            .fetch_all(pool)
            .await)?;
        Ok(keys
            .into_iter()
            .filter_map(|key| key.strip_prefix(prefix).map(str::to_owned))
            .collect())
    }

    /// The posts Herald published (or may have) to the account: id, network id, whether it
    /// is still `published`, and when it was.
    pub async fn herald_remote_ids(
        &self,
        account_id: AccountId,
    ) -> Result<Vec<(PostId, String, bool, Option<Timestamp>)>, StoreError> {
        let rows: Vec<(PostId, String, bool, Option<i64>)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT id, remote_id, state = 'published', published_at FROM posts
              WHERE account_id = $1 AND remote_id IS NOT NULL ORDER BY id")
            .bind(account_id)
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|(id, remote_id, published, at)| {
                Ok((id, remote_id, published, at.map(millis).transpose()?))
            })
            .collect()
    }
}
