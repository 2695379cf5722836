//! SQLite specifics: how the embedded database file is opened, and the SQL only SQLite speaks.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::StoreError;

/// Opens (creating if needed) the database file in WAL mode, so readers never wait for the
/// writer, with foreign keys enforced and a busy timeout instead of instant "database is locked".
pub(super) async fn connect(
    path: &Path,
    max_connections: u32,
    timeout: Duration,
) -> Result<SqlitePool, StoreError> {
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
        .acquire_timeout(timeout)
        .connect_with(options)
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
    Ok(pool)
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

/// The publisher's two writes per attempt are scripts that open and commit their own
/// transaction, so each costs one round trip to the connection's thread instead of one per
/// statement (the cost that bounds how many posts a second SQLite can publish). A script that
/// fails part-way is rolled back with [`abandon`].
///
/// Starts a publishing attempt in one round trip: records the
/// attempt if the post is still in the state the publisher saw ($3), moves it to `publishing`,
/// and notes the step in its history unless it was already publishing ($6). Returns the
/// attempt's id, or no row when the post had moved on. SQLite runs the statements in order and
/// `changes()` is the row count of the statement before.
pub(super) const START_ATTEMPT: &str = "
    BEGIN IMMEDIATE;
    INSERT INTO publish_attempts (post_id, started_at, worker)
         SELECT $2, $1, $5 WHERE EXISTS (SELECT 1 FROM posts WHERE id = $2 AND state = $3)
      RETURNING id;
    UPDATE posts SET state = 'publishing', updated_at = $1 WHERE id = $2 AND state = $3;
    INSERT INTO post_events (post_id, at, actor_id, from_state, to_state, note)
         SELECT $2, $1, NULL, $3, 'publishing', $4 WHERE changes() = 1 AND $6;
    COMMIT;";

/// Ends a publishing attempt in the transaction [`BEGIN_WITH_AUDIT_HEAD`] opened: the post
/// leaves `publishing` ($1 the new state), and only if it did, the step goes into its history
/// and, when $11, the audit entry ($12 … $19, hashed by the caller from the head it read in the
/// same transaction) into the log and its head. The attempt's row is closed either way, and the
/// publish job ($20, leased by $21; NULL to leave it to the runner) marked done.
/// Returns one row when the post moved.
pub(super) const FINISH_ATTEMPT: &str = "
    UPDATE posts SET state = $1, problem = $2,
           remote_id = COALESCE($3, remote_id), remote_url = COALESCE($4, remote_url),
           published_at = CASE WHEN $5 THEN $6 ELSE published_at END, updated_at = $6
     WHERE id = $7 AND state = 'publishing'
 RETURNING id;
    INSERT INTO post_events (post_id, at, actor_id, from_state, to_state, note)
         SELECT $7, $6, NULL, 'publishing', $1, $10 WHERE changes() = 1;
    INSERT INTO audit_log (seq, at, actor, action, target, ip, details, prev_hash, hash)
         SELECT $12, $6, $13, $14, $15, $16, $17, $18, $19 WHERE changes() = 1 AND $11;
    UPDATE audit_head SET seq = $12, hash = $19 WHERE id = 1 AND changes() = 1;
    UPDATE publish_attempts SET finished_at = $6, outcome = $9, detail = $10 WHERE id = $8;
    UPDATE jobs SET state = 'done', last_error = NULL, locked_by = NULL, locked_until = NULL, updated_at = $6
     WHERE id = $20 AND locked_by = $21 AND state = 'running';
    COMMIT;";

/// Opens the transaction that [`FINISH_ATTEMPT`] commits, and reads the audit log's head in it.
pub(super) const BEGIN_WITH_AUDIT_HEAD: &str = "
    BEGIN IMMEDIATE;
    SELECT seq, hash FROM audit_head WHERE id = 1;";

/// After a script that opened a transaction failed part-way: rolls it back on the same
/// connection, or, if even that fails, closes the connection so no one else inherits it.
pub(super) async fn abandon(conn: &mut sqlx::pool::PoolConnection<sqlx::Sqlite>) {
    if sqlx::query("ROLLBACK").execute(&mut **conn).await.is_err() {
        conn.close_on_drop();
    }
}
