//! SQLite specifics: how the embedded database file is opened, and the SQL only SQLite speaks
//! (the publisher's grouped writes, also SQLite's alone, are in `group_commit.rs`).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::StoreError;

/// Opens (creating if needed) the database file in WAL mode, so readers never wait for the
/// writer, with foreign keys enforced and a busy timeout instead of instant "database is locked".
/// Returns the pool, and a pool of one connection (opened when first used) for the publisher's
/// group commits (see `group_commit.rs`).
pub(super) async fn connect(
    path: &Path,
    max_connections: u32,
    timeout: Duration,
) -> Result<(SqlitePool, SqlitePool), StoreError> {
    let target = format!("SQLite database {}", path.display());
    let options = SqliteConnectOptions::from_str("sqlite://")
        .map_err(|error| StoreError::BadUrl(error.to_string()))?
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(max_connections)
        // A file on this machine does not drop its connection the way a server can, and the
        // test is a round trip to the connection's thread before every query.
        .test_before_acquire(false)
        .acquire_timeout(timeout)
        .connect_with(options.clone())
        .await
        .map_err(|source| StoreError::Connect { target, source })?;
    // SQLite creates the file with the process umask, and its -wal and -shm files copy that
    // mode. The database will hold sealed credentials and the audit log: owner only.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|source| {
        StoreError::FileMode {
            path: path.to_path_buf(),
            source,
        }
    })?;
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .test_before_acquire(false)
        .acquire_timeout(timeout)
        .connect_lazy_with(options);
    Ok((pool, writer))
}

/// Claims due jobs. SQLite runs one writer at a time, so a single `UPDATE … RETURNING` is
/// already atomic: two workers can never claim the same row. Jobs whose lease ran out come
/// first, then due jobs in order; each half walks an index and stops at the limit, so a claim
/// costs the same with 100,000 jobs due as with ten.
pub(super) const CLAIM_JOBS: &str = "
    UPDATE jobs
       SET state = 'running', locked_by = $1, locked_until = $2,
           attempts = attempts + 1, updated_at = $3
     WHERE id IN (SELECT id FROM (
                    SELECT id FROM (SELECT id FROM jobs
                                     WHERE state = 'running' AND locked_until <= $3
                                     LIMIT $4)
                    UNION ALL
                    SELECT id FROM (SELECT id FROM jobs
                                     WHERE state = 'queued' AND run_at <= $3
                                     ORDER BY run_at, id
                                     LIMIT $4))
                  LIMIT $4)
 RETURNING id, kind, payload, state, run_at, attempts, max_attempts, last_error";

/// After a script that opened a transaction failed part-way: rolls it back on the same
/// connection, or, if even that fails, closes the connection so no one else inherits it.
pub(super) async fn abandon(conn: &mut sqlx::pool::PoolConnection<sqlx::Sqlite>) {
    if sqlx::query("ROLLBACK").execute(&mut **conn).await.is_err() {
        conn.close_on_drop();
    }
}

impl super::Store {
    /// On SQLite, a consistent copy of the whole database written to `path` while Herald runs
    /// (`VACUUM INTO`: one read transaction, never a file copy of a live database). `Ok(false)`
    /// on PostgreSQL, whose database is backed up with its own tools.
    pub async fn snapshot_into(&self, path: &Path) -> Result<bool, StoreError> {
        let super::Backend::Sqlite(pool, _) = &self.backend else {
            return Ok(false);
        };
        sqlx::query("VACUUM INTO $1")
            .bind(path.to_string_lossy().into_owned())
            .execute(pool)
            .await?;
        Ok(true)
    }
}
