//! The policy's examples of good and bad practice, the staff course in versions, and every
//! attempt at it.

use jiff::Timestamp;

use super::{Store, StoreError, millis, with_pool};
use crate::domain::ids::UserId;

/// An example post in the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyExampleRecord {
    pub id: i64,
    pub text: String,
    /// `good` or `bad`.
    pub verdict: String,
    pub why: String,
    pub created_at: Timestamp,
}

/// A published version of the course.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseRecord {
    pub version: i64,
    pub markdown: String,
    pub created_at: Timestamp,
}

/// One attempt at the course.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainingResultRecord {
    pub user_id: UserId,
    pub course_version: i64,
    /// The policy document's version in force then; 0 while none was published.
    pub policy_version: i64,
    pub right: i64,
    pub total: i64,
    pub passed: bool,
    pub completed_at: Timestamp,
}

/// An attempt to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewTrainingResult {
    pub user_id: UserId,
    pub course_version: i64,
    pub policy_version: i64,
    pub right: i64,
    pub total: i64,
    pub passed: bool,
}

type ResultRow = (UserId, i64, i64, i64, i64, bool, i64);

impl Store {
    pub async fn add_policy_example(
        &self,
        text: &str,
        verdict: &str,
        why: &str,
        by: UserId,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query_scalar(
            "INSERT INTO policy_examples (text, verdict, why, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id")
            .bind(text)
            .bind(verdict)
            .bind(why)
            .bind(by)
            .bind(now.as_millisecond())
            .fetch_one(pool)
            .await)?)
    }

    /// Every example, oldest first.
    pub async fn policy_examples(&self) -> Result<Vec<PolicyExampleRecord>, StoreError> {
        let rows: Vec<(i64, String, String, String, i64)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT id, text, verdict, why, created_at FROM policy_examples ORDER BY id")
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|(id, text, verdict, why, created_at)| {
                Ok(PolicyExampleRecord {
                    id,
                    text,
                    verdict,
                    why,
                    created_at: millis(created_at)?,
                })
            })
            .collect()
    }

    /// Removes an example; whether there was one.
    pub async fn remove_policy_example(&self, id: i64) -> Result<bool, StoreError> {
        let removed = with_pool!(self, pool => sqlx::query("DELETE FROM policy_examples WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected() == 1))?;
        Ok(removed)
    }

    /// The course in force, if an owner published one.
    pub async fn training_course(&self) -> Result<Option<CourseRecord>, StoreError> {
        let row: Option<(i64, String, i64)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT version, markdown, created_at FROM training_courses ORDER BY version DESC LIMIT 1")
            .fetch_optional(pool)
            .await)?;
        row.map(|(version, markdown, created_at)| {
            Ok(CourseRecord {
                version,
                markdown,
                created_at: millis(created_at)?,
            })
        })
        .transpose()
    }

    /// Publishes a new version of the course; returns its number.
    pub async fn publish_training_course(
        &self,
        markdown: &str,
        by: UserId,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        self.publish_next_version("training_courses", markdown, by, now)
            .await
    }

    pub async fn record_training_result(
        &self,
        result: &NewTrainingResult,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "INSERT INTO training_results (user_id, course_version, policy_version, correct, total, passed, completed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(result.user_id)
            .bind(result.course_version)
            .bind(result.policy_version)
            .bind(result.right)
            .bind(result.total)
            .bind(result.passed)
            .bind(now.as_millisecond())
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// Whether `user_id` passed the course while `policy_version` was in force.
    pub async fn passed_training(
        &self,
        user_id: UserId,
        policy_version: i64,
    ) -> Result<bool, StoreError> {
        let found: Option<i64> = with_pool!(self, pool => sqlx::query_scalar(
            "SELECT id FROM training_results WHERE user_id = $1 AND policy_version = $2 AND passed
              LIMIT 1")
            .bind(user_id)
            .bind(policy_version)
            .fetch_optional(pool)
            .await)?;
        Ok(found.is_some())
    }

    /// Each member's latest attempt and their latest passed one, for the owners' list and the
    /// security page: `(latest, latest passed)` by user id, members without an attempt absent.
    pub async fn training_standing(
        &self,
    ) -> Result<Vec<(TrainingResultRecord, Option<TrainingResultRecord>)>, StoreError> {
        let rows: Vec<ResultRow> = with_pool!(self, pool => sqlx::query_as(
            "SELECT user_id, course_version, policy_version, correct, total, passed, completed_at
               FROM training_results ORDER BY user_id, completed_at DESC, id DESC")
            .fetch_all(pool)
            .await)?;
        let mut standing: Vec<(TrainingResultRecord, Option<TrainingResultRecord>)> = Vec::new();
        for row in rows {
            let (user_id, course_version, policy_version, right, total, passed, at) = row;
            let record = TrainingResultRecord {
                user_id,
                course_version,
                policy_version,
                right,
                total,
                passed,
                completed_at: millis(at)?,
            };
            match standing.last_mut() {
                Some((latest, best)) if latest.user_id == user_id => {
                    if best.is_none() && passed {
                        *best = Some(record);
                    }
                }
                _ => {
                    let best = passed.then(|| record.clone());
                    standing.push((record, best));
                }
            }
        }
        Ok(standing)
    }
}
