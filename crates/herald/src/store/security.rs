//! The security page's history (one company score a day) and the counts it needs that no
//! other store function gives.

use jiff::Timestamp;

use super::{Store, StoreError, with_pool};

impl Store {
    /// Keeps `score` as the company's score for `day` (YYYY-MM-DD, UTC), replacing an earlier
    /// reading of the same day.
    pub async fn record_security_score(
        &self,
        day: &str,
        score: u8,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "INSERT INTO security_scores (day, score, recorded_at) VALUES ($1, $2, $3)
             ON CONFLICT (day) DO UPDATE SET score = excluded.score, recorded_at = excluded.recorded_at")
            .bind(day)
            .bind(i64::from(score))
            .bind(now.as_millisecond())
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// The daily scores from `from_day` on, oldest first.
    pub async fn security_scores(&self, from_day: &str) -> Result<Vec<(String, u8)>, StoreError> {
        let rows: Vec<(String, i64)> = with_pool!(self, pool => sqlx::query_as(
            "SELECT day, score FROM security_scores WHERE day >= $1 ORDER BY day")
            .bind(from_day)
            .fetch_all(pool)
            .await)?;
        Ok(rows
            .into_iter()
            .map(|(day, score)| (day, u8::try_from(score.clamp(0, 100)).unwrap_or(0)))
            .collect())
    }

    /// Inbox items judged dangerous that arrived at or after `since`, on any account.
    pub async fn dangerous_inbox_since(&self, since: Timestamp) -> Result<i64, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM inbox_items WHERE verdict = 'dangerous' AND received_at >= $1")
            .bind(since.as_millisecond())
            .fetch_one(pool)
            .await)?)
    }
}
