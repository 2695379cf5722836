//! Versions of the company's policy rules (TOML text); the newest is in force.

use crate::domain::ids::UserId;
use jiff::Timestamp;

use super::{Store, StoreError, millis, with_pool};

impl Store {
    /// The version number of the rules in force, if any were saved.
    pub async fn policy_version(&self) -> Result<Option<i64>, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query_scalar(
            "SELECT MAX(version) FROM policy_rules")
            .fetch_one(pool)
            .await)?)
    }

    /// The rules in force and their version.
    pub async fn policy_rules(&self) -> Result<Option<(i64, String)>, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query_as(
            "SELECT version, source FROM policy_rules ORDER BY version DESC LIMIT 1")
            .fetch_optional(pool)
            .await)?)
    }

    /// Saves a new version of the rules; returns its number. Two saves at once cannot take the
    /// same number: the primary key refuses the second.
    pub async fn save_policy_rules(
        &self,
        source: &str,
        by: UserId,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query_scalar(
            "INSERT INTO policy_rules (version, source, created_at, created_by)
             SELECT COALESCE(MAX(version), 0) + 1, $1, $2, $3 FROM policy_rules
             RETURNING version")
            .bind(source)
            .bind(now.as_millisecond())
            .bind(by)
            .fetch_one(pool)
            .await)?)
    }
}

/// A published version of the policy's words.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDocumentRecord {
    pub version: i64,
    pub markdown: String,
    pub created_at: Timestamp,
    pub created_by: i64,
    /// This version asks every member to list their own social media profiles, or to say they
    /// have none.
    pub asks_for_staff_profiles: bool,
}

impl Store {
    pub async fn policy_document(&self) -> Result<Option<PolicyDocumentRecord>, StoreError> {
        let row: Option<(i64, String, i64, i64, bool)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT d.version, d.markdown, d.created_at, d.created_by,
                    EXISTS (SELECT 1 FROM policy_staff_profiles p WHERE p.version = d.version)
               FROM policy_documents d
              ORDER BY d.version DESC LIMIT 1")
            .fetch_optional(pool)
            .await)?;
        row.map(|(version, markdown, created_at, created_by, asks)| {
            Ok(PolicyDocumentRecord {
                version,
                markdown,
                created_at: millis(created_at)?,
                created_by,
                asks_for_staff_profiles: asks,
            })
        })
        .transpose()
    }

    /// Marks policy version `version` as asking every member for their own profiles.
    pub async fn ask_for_staff_profiles(&self, version: i64) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "INSERT INTO policy_staff_profiles (version) VALUES ($1) ON CONFLICT DO NOTHING")
            .bind(version)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    pub async fn publish_policy_document(
        &self,
        markdown: &str,
        by: UserId,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        self.publish_next_version("policy_documents", markdown, by, now)
            .await
    }

    /// Adds `markdown` as the next version in `table` (the policy document, the staff course:
    /// version, markdown, created_at, created_by); returns its number.
    pub(super) async fn publish_next_version(
        &self,
        table: &'static str,
        markdown: &str,
        by: UserId,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        let query = format!(
            "INSERT INTO {table} (version, markdown, created_at, created_by)
             SELECT COALESCE(MAX(version), 0) + 1, $1, $2, $3 FROM {table}
             RETURNING version"
        );
        Ok(with_pool!(self, pool => sqlx::query_scalar(&query)
            .bind(markdown)
            .bind(now.as_millisecond())
            .bind(by)
            .fetch_one(pool)
            .await)?)
    }

    /// Records an acknowledgement; acknowledging twice keeps the first time.
    pub async fn acknowledge_policy(
        &self,
        user_id: UserId,
        version: i64,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "INSERT INTO policy_acknowledgements (user_id, version, acknowledged_at) VALUES ($1, $2, $3)
             ON CONFLICT (user_id, version) DO NOTHING")
            .bind(user_id)
            .bind(version)
            .bind(now.as_millisecond())
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// When each member acknowledged `version`, by user id.
    pub async fn policy_acknowledgements(
        &self,
        version: i64,
    ) -> Result<Vec<(UserId, Timestamp)>, StoreError> {
        let rows: Vec<(UserId, i64)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT user_id, acknowledged_at FROM policy_acknowledgements WHERE version = $1")
            .bind(version)
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|(user_id, at)| Ok((user_id, millis(at)?)))
            .collect()
    }
}
