//! PostgreSQL specifics: connecting without ever echoing the URL's password, and the SQL only
//! PostgreSQL speaks.

use std::str::FromStr;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::StoreError;

pub(super) async fn connect(
    url: &str,
    max_connections: u32,
    timeout: Duration,
) -> Result<PgPool, StoreError> {
    // The parse error of a URL could quote the URL, password and all, so it is not passed on.
    let options = PgConnectOptions::from_str(url).map_err(|_| {
        StoreError::BadUrl("expected postgres://user[:password]@host[:port]/database".to_owned())
    })?;
    let target = describe(&options);
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(timeout)
        .connect_with(options)
        .await
        .map_err(|source| StoreError::Connect { target, source })
}

/// "PostgreSQL database herald at db.example.com:5432", never the user or password.
fn describe(options: &PgConnectOptions) -> String {
    format!(
        "PostgreSQL database {} at {}:{}",
        options.get_database().unwrap_or("(default)"),
        options.get_host(),
        options.get_port()
    )
}

impl super::Store {
    /// On PostgreSQL, makes the schema `name` if it is not there yet (before a restore into
    /// it): `Ok(true)`. `Ok(false)` on SQLite, which has no schemas. The name is quoted, so it
    /// is taken as it is written.
    pub async fn create_schema_if_missing(&self, name: &str) -> Result<bool, StoreError> {
        let super::Backend::Postgres(pool) = &self.backend else {
            return Ok(false);
        };
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {quoted}"))
            .execute(pool)
            .await?;
        Ok(true)
    }
}

/// Claims due jobs. `FOR UPDATE SKIP LOCKED` lets several Herald processes claim at once: each
/// skips the rows another is claiming instead of waiting for them or taking them twice.
pub(super) const CLAIM_JOBS: &str = "
    WITH expired AS (SELECT id FROM jobs
                      WHERE state = 'running' AND locked_until <= $3
                      LIMIT $4
                      FOR UPDATE SKIP LOCKED),
         due AS (SELECT id FROM jobs
                  WHERE state = 'queued' AND run_at <= $3
                  ORDER BY run_at, id
                  LIMIT $4
                  FOR UPDATE SKIP LOCKED)
    UPDATE jobs
       SET state = 'running', locked_by = $1, locked_until = $2,
           attempts = attempts + 1, updated_at = $3
     WHERE id IN (SELECT id FROM (SELECT id FROM expired UNION ALL SELECT id FROM due) AS claimable
                  LIMIT $4)
 RETURNING id, kind, payload, state, run_at, attempts, max_attempts, last_error";
