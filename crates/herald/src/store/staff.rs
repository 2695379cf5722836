//! Staff members' own profiles, the suggested words for sharing a company post, and each
//! click on a share button.

use jiff::Timestamp;

use super::{Store, StoreError, millis, with_pool};
use crate::domain::ids::{PostId, UserId};

/// A member's own profile on a network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffProfileRecord {
    pub id: i64,
    pub user_id: UserId,
    /// The network's name as stored (`linkedin`).
    pub network: String,
    pub handle: String,
    pub link: String,
    /// `personal`, `shares_news` or `represents`.
    pub purpose: String,
    /// Which of the company's accounts or names the handle imitates, in words; `None`: none.
    pub lookalike: Option<String>,
    pub created_at: Timestamp,
}

/// A profile to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStaffProfile<'a> {
    pub user_id: UserId,
    pub network: &'a str,
    pub handle: &'a str,
    pub link: &'a str,
    pub purpose: &'a str,
    pub lookalike: Option<&'a str>,
}

/// How many times one member shared one post to one network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareCount {
    pub post_id: PostId,
    pub user_id: UserId,
    pub network: String,
    pub count: i64,
}

type ProfileRow = (
    i64,
    UserId,
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
);

const PROFILE_COLUMNS: &str = "id, user_id, network, handle, link, purpose, lookalike, created_at";

fn profile_from_row(row: ProfileRow) -> Result<StaffProfileRecord, StoreError> {
    let (id, user_id, network, handle, link, purpose, lookalike, created_at) = row;
    Ok(StaffProfileRecord {
        id,
        user_id,
        network,
        handle,
        link,
        purpose,
        lookalike,
        created_at: millis(created_at)?,
    })
}

impl Store {
    /// Adds a profile; a member listing the same handle on the same network twice is a
    /// conflict.
    pub async fn add_staff_profile(
        &self,
        profile: &NewStaffProfile<'_>,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        let id = with_pool!(self, pool => sqlx::query_scalar(
            "INSERT INTO staff_profiles (user_id, network, handle, link, purpose, lookalike, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
             ON CONFLICT (user_id, network, handle) DO NOTHING
             RETURNING id")
            .bind(profile.user_id)
            .bind(profile.network)
            .bind(profile.handle)
            .bind(profile.link)
            .bind(profile.purpose)
            .bind(profile.lookalike)
            .bind(now.as_millisecond())
            .fetch_optional(pool)
            .await)?;
        id.ok_or_else(|| StoreError::Conflict("you already listed this profile".to_owned()))
    }

    /// One member's profiles, oldest first.
    pub async fn staff_profiles_of(
        &self,
        user_id: UserId,
    ) -> Result<Vec<StaffProfileRecord>, StoreError> {
        let sql =
            format!("SELECT {PROFILE_COLUMNS} FROM staff_profiles WHERE user_id = $1 ORDER BY id");
        let rows: Vec<ProfileRow> = with_pool!(self, pool => sqlx::query_as(&sql)
            .bind(user_id)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(profile_from_row).collect()
    }

    /// Every member's profiles, by member, oldest first.
    pub async fn all_staff_profiles(&self) -> Result<Vec<StaffProfileRecord>, StoreError> {
        let sql = format!("SELECT {PROFILE_COLUMNS} FROM staff_profiles ORDER BY user_id, id");
        let rows: Vec<ProfileRow> = with_pool!(self, pool => sqlx::query_as(&sql)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(profile_from_row).collect()
    }

    /// Records that `user_id` has no social media profiles of their own (`Some(when)`), or
    /// takes that back (`None`).
    pub async fn set_no_staff_profiles(
        &self,
        user_id: UserId,
        declared_at: Option<Timestamp>,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => match declared_at {
            Some(at) => sqlx::query(
                "INSERT INTO staff_profiles_none (user_id, declared_at) VALUES ($1, $2)
                 ON CONFLICT (user_id) DO UPDATE SET declared_at = excluded.declared_at")
                .bind(user_id)
                .bind(at.as_millisecond())
                .execute(pool)
                .await
                .map(drop),
            None => sqlx::query("DELETE FROM staff_profiles_none WHERE user_id = $1")
                .bind(user_id)
                .execute(pool)
                .await
                .map(drop),
        })?;
        Ok(())
    }

    /// The members who said they have no social media profiles of their own, and when.
    pub async fn members_without_own_profiles(
        &self,
    ) -> Result<Vec<(UserId, Timestamp)>, StoreError> {
        let rows: Vec<(UserId, i64)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT user_id, declared_at FROM staff_profiles_none ORDER BY user_id")
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|(user_id, at)| Ok((user_id, millis(at)?)))
            .collect()
    }

    /// Removes one of `user_id`'s profiles; whether there was one.
    pub async fn remove_staff_profile(&self, id: i64, user_id: UserId) -> Result<bool, StoreError> {
        let removed = with_pool!(self, pool => sqlx::query(
            "DELETE FROM staff_profiles WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected() == 1))?;
        Ok(removed)
    }

    /// Sets (or clears) the author's suggested words for sharing a post.
    pub async fn set_share_text(
        &self,
        post_id: PostId,
        text: Option<&str>,
        by: UserId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query("DELETE FROM share_texts WHERE post_id = $1")
            .bind(post_id)
            .execute(pool)
            .await
            .map(drop))?;
        if let Some(text) = text {
            with_pool!(self, pool => sqlx::query(
                "INSERT INTO share_texts (post_id, text, written_by, written_at) VALUES ($1, $2, $3, $4)")
                .bind(post_id)
                .bind(text)
                .bind(by)
                .bind(now.as_millisecond())
                .execute(pool)
                .await
                .map(drop))?;
        }
        Ok(())
    }

    /// Every post's suggested words, by post id.
    pub async fn share_texts(&self) -> Result<Vec<(PostId, String)>, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query_as(
            "SELECT post_id, text FROM share_texts ORDER BY post_id")
            .fetch_all(pool)
            .await)?)
    }

    /// Records one click on a share button.
    pub async fn record_share(
        &self,
        post_id: PostId,
        user_id: UserId,
        network: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "INSERT INTO shares (post_id, user_id, network, at) VALUES ($1, $2, $3, $4)")
            .bind(post_id)
            .bind(user_id)
            .bind(network)
            .bind(now.as_millisecond())
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// How many times each member shared each post to each network.
    pub async fn share_counts(&self) -> Result<Vec<ShareCount>, StoreError> {
        let rows: Vec<(PostId, UserId, String, i64)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT post_id, user_id, network, COUNT(*) FROM shares
              GROUP BY post_id, user_id, network ORDER BY post_id DESC, user_id, network")
            .fetch_all(pool)
            .await)?;
        Ok(rows
            .into_iter()
            .map(|(post_id, user_id, network, count)| ShareCount {
                post_id,
                user_id,
                network,
                count,
            })
            .collect())
    }
}
