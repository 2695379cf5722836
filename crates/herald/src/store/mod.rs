//! One storage API over two backends: SQLite (the embedded default) and PostgreSQL (scale-out).
//!
//! Queries are written once, with `$1`-style placeholders that both backends understand, and run
//! against whichever pool is open through [`with_pool!`]. Only where the SQL must differ (row
//! locking, connection set-up) does a query live in `sqlite.rs` or `postgres.rs`. Each feature's
//! queries sit in their own file (`jobs.rs`, …) beside the functions that use them.

mod accounts;
mod audit;
mod devices;
mod group_commit;
mod ids;
mod inbox;
mod incidents;
mod jobs;
mod links;
mod mail;
mod media;
mod notifications;
mod oauth_apps;
mod passkeys;
mod people;
mod policy;
mod postgres;
mod posts;
mod publishing;
mod rotations;
mod second_factors;
mod secrets;
mod security;
mod sessions;
mod sqlite;
mod staff;
mod training;
mod watch;
mod webhooks;
mod work;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::{PgPool, SqlitePool};

use crate::config::Config;

pub use accounts::{AccountRecord, NewAccount};
pub use audit::AuditFilter;
pub use devices::SignInDeviceRecord;
pub use group_commit::GroupCounts;
pub use inbox::{
    InboxCursorRecord, InboxEventRecord, InboxItemRecord, InboxQuery, InboxScreening, NewInboxItem,
};
pub use incidents::{IncidentEventRecord, IncidentRecord, NewIncident, StepRecord};
pub use jobs::JobCounts;
pub use links::OrganisationNames;
pub use mail::{
    MAIL_NOTIFICATION_KIND, MAIL_SEND_KIND, MailableNotification, NewMail, OutboxRecord,
};
pub use media::{Attached as MediaAttached, MediaRecord, NewMedia};
pub use notifications::NotificationRecord;
pub use oauth_apps::OAuthAppRecord;
pub use passkeys::PasskeyRecord;
pub use people::{InvitationRecord, NewUser, PendingInvitation, UserRecord};
pub use policy::PolicyDocumentRecord;
pub use posts::{AttemptEnd, AttemptRecord, CheckedSteps, PostEventRecord, PostQuery, PostRecord};
pub use publishing::TimeChange;
pub use rotations::RotationRecord;
pub use secrets::SecretRecord;
pub use sessions::{ApiTokenRecord, NewApiToken, SessionRecord, SessionSummary};
pub use staff::{NewStaffProfile, ShareCount, StaffProfileRecord};
pub use training::{CourseRecord, NewTrainingResult, PolicyExampleRecord, TrainingResultRecord};
pub use webhooks::{
    DeliveryRecord, DeliveryTry, EndpointRecord, NewEndpoint, WEBHOOK_DELIVER_KIND,
};
pub use work::Work;

/// The handle every part of Herald uses to reach the database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
    /// SQLite has one writer at a time, and a writer that finds the file locked sleeps in
    /// SQLite's busy handler for milliseconds before trying again. Write transactions in this
    /// process therefore take turns here, where a waiter is woken the moment the turn is free.
    writes: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Debug, Clone)]
enum Backend {
    /// The pool, and the task that commits the publisher's writes in groups.
    Sqlite(SqlitePool, group_commit::GroupCommit),
    Postgres(PgPool),
    /// A unit of work ([`Store::write`]): every call runs in its one transaction.
    SqliteWork(work::Open<sqlx::Sqlite>),
    PostgresWork(work::Open<sqlx::Postgres>),
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open {target}: {source}")]
    Connect {
        target: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(
        "there is no Herald database at {0}; check --data-dir, or start `herald serve` once to create it"
    )]
    NoDatabase(std::path::PathBuf),
    #[error("invalid database URL: {0}")]
    BadUrl(String),
    #[error("cannot make {path} readable by its owner only: {source}")]
    FileMode {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Conflict(String),
    #[error("the organisation must keep at least one active owner")]
    LastOwner,
    #[error("the job's lease was lost: another worker has taken it over")]
    LeaseLost,
    /// A database error that failed a whole group of the publisher's writes
    /// (`group_commit.rs`), told to each request of the group.
    #[error("{0}")]
    Grouped(String),
    #[error(
        "this database was last opened by a newer Herald (schema version {applied}; this Herald knows up to {known}): run that version or a newer one, or restore a backup taken before the upgrade"
    )]
    NewerSchema { applied: i64, known: i64 },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Reads a stored Unix-millisecond time.
fn millis(ms: i64) -> Result<jiff::Timestamp, StoreError> {
    jiff::Timestamp::from_millisecond(ms).map_err(|_| StoreError::Corrupt(format!("time {ms}")))
}

/// Runs `$body` with `$pool` bound to whichever backend's pool the store holds, or to the
/// connection of its unit of work ([`Store::write`]). The body is compiled once per backend and
/// kind, so it may use any sqlx API that pools and connections both support, and use `$pool`
/// once (as an executor, or to `begin` a transaction: a savepoint inside a unit of work).
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            $crate::store::Backend::Sqlite($pool, _) => $body,
            $crate::store::Backend::Postgres($pool) => $body,
            $crate::store::Backend::SqliteWork(open) => {
                #[allow(unused_imports)]
                use sqlx::Connection as _;
                let mut transaction = open.lock().await;
                let $pool = &mut **transaction;
                $body
            }
            $crate::store::Backend::PostgresWork(open) => {
                #[allow(unused_imports)]
                use sqlx::Connection as _;
                let mut transaction = open.lock().await;
                let $pool = &mut **transaction;
                $body
            }
        }
    };
}
pub(crate) use with_pool;

impl Store {
    /// Opens the database the configuration names: PostgreSQL when `database.url` is set,
    /// otherwise SQLite inside the data directory.
    pub async fn open(config: &Config) -> Result<Store, StoreError> {
        let timeout = Duration::from_secs(config.database.connect_timeout_seconds);
        let max = config.database.max_connections;
        match &config.database.url {
            Some(url) => Store::open_postgres(url, max, timeout).await,
            None => Store::open_sqlite(&config.data_dir.join("herald.db"), max, timeout).await,
        }
    }

    /// Like [`Store::open`], but refuses to create a new SQLite file: for commands that inspect
    /// an existing installation.
    /// The newest migration this database has had (0 for a new one).
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let exists = match &self.backend {
            Backend::Sqlite(..) | Backend::SqliteWork(_) => {
                with_pool!(self, pool => sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'")
                .fetch_one(pool)
                .await)?
            }
            Backend::Postgres(_) | Backend::PostgresWork(_) => {
                with_pool!(self, pool => sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE tablename = '_sqlx_migrations' AND schemaname = ANY (current_schemas(false))")
                .fetch_one(pool)
                .await)?
            }
        };
        if exists == 0 {
            return Ok(0);
        }
        Ok(
            with_pool!(self, pool => sqlx::query_scalar::<_, Option<i64>>(
            "SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool)
            .await)?
            .unwrap_or(0),
        )
    }

    pub async fn open_existing(config: &Config) -> Result<Store, StoreError> {
        let path = config.data_dir.join("herald.db");
        if config.database.url.is_none() && !path.exists() {
            return Err(StoreError::NoDatabase(path));
        }
        Store::open(config).await
    }

    pub async fn open_sqlite(
        path: &Path,
        max_connections: u32,
        timeout: Duration,
    ) -> Result<Store, StoreError> {
        let (pool, writer) = sqlite::connect(path, max_connections, timeout).await?;
        let writes = Arc::<tokio::sync::Mutex<()>>::default();
        Ok(Store {
            backend: Backend::Sqlite(
                pool,
                group_commit::GroupCommit::spawn(writer, writes.clone()),
            ),
            writes,
        })
    }

    pub async fn open_postgres(
        url: &SecretString,
        max_connections: u32,
        timeout: Duration,
    ) -> Result<Store, StoreError> {
        let pool = postgres::connect(url.expose_secret(), max_connections, timeout).await?;
        Ok(Store {
            backend: Backend::Postgres(pool),
            writes: Arc::default(),
        })
    }

    /// The migrations this Herald carries for the store's backend.
    fn migrator(&self) -> Result<sqlx::migrate::Migrator, StoreError> {
        match &self.backend {
            Backend::Sqlite(..) => Ok(sqlx::migrate!("./migrations/sqlite")),
            Backend::Postgres(_) => Ok(sqlx::migrate!("./migrations/postgres")),
            Backend::SqliteWork(_) | Backend::PostgresWork(_) => Err(work::inside()),
        }
    }

    /// The migrations this database has not had yet, as (version, description), in order.
    pub async fn pending_migrations(&self) -> Result<Vec<(i64, String)>, StoreError> {
        let applied: Vec<i64> = match self.schema_version().await? {
            0 => Vec::new(),
            _ => with_pool!(self, pool => sqlx::query_scalar(
                "SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(pool)
                .await)?,
        };
        Ok(self
            .migrator()?
            .iter()
            .filter(|migration| !applied.contains(&migration.version))
            .map(|migration| (migration.version, migration.description.to_string()))
            .collect())
    }

    /// Applies the migrations up to `version` only: a database as an older Herald left it
    /// (for the upgrade tests).
    pub async fn migrate_up_to(&self, version: i64) -> Result<(), StoreError> {
        let mut migrator = self.migrator()?;
        migrator.migrations = std::borrow::Cow::Owned(
            migrator
                .iter()
                .filter(|migration| migration.version <= version)
                .cloned()
                .collect(),
        );
        match &self.backend {
            Backend::Sqlite(pool, _) => migrator.run(pool).await?,
            Backend::Postgres(pool) => migrator.run(pool).await?,
            Backend::SqliteWork(_) | Backend::PostgresWork(_) => return Err(work::inside()),
        }
        Ok(())
    }

    /// Refuses a database a newer Herald has migrated: this one would not know its tables.
    pub async fn refuse_newer_schema(&self) -> Result<(), StoreError> {
        let applied = self.schema_version().await?;
        let known = self
            .migrator()?
            .iter()
            .map(|migration| migration.version)
            .max()
            .unwrap_or(0);
        if applied > known {
            return Err(StoreError::NewerSchema { applied, known });
        }
        Ok(())
    }

    /// Brings the schema up to date. Safe to run at every start and from several processes.
    /// A database that a newer Herald has migrated is refused, untouched.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.refuse_newer_schema().await?;
        match &self.backend {
            Backend::Sqlite(pool, _) => sqlx::migrate!("./migrations/sqlite").run(pool).await?,
            Backend::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await?,
            Backend::SqliteWork(_) | Backend::PostgresWork(_) => return Err(work::inside()),
        }
        Ok(())
    }

    /// This process's turn to write, on SQLite (see [`Store::writes`]); PostgreSQL has row
    /// locks and needs none, and a unit of work already holds it. Hold it for the whole write
    /// transaction, and never call another store function while holding it.
    pub(crate) async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.backend {
            Backend::Sqlite(..) => Some(self.writes.lock().await),
            Backend::Postgres(_) | Backend::SqliteWork(_) | Backend::PostgresWork(_) => None,
        }
    }

    /// How the publisher's writes were grouped on SQLite since the store opened (`None` on
    /// PostgreSQL, which commits them one by one).
    pub fn group_commits(&self) -> Option<GroupCounts> {
        match &self.backend {
            Backend::Sqlite(_, group) => Some(group.counts()),
            _ => None,
        }
    }

    /// Answers when the database answers; used by `/healthz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(drop))?;
        Ok(())
    }

    /// `"sqlite"` or `"postgres"`, for the status page and logs.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(..) | Backend::SqliteWork(_) => "sqlite",
            Backend::Postgres(_) | Backend::PostgresWork(_) => "postgres",
        }
    }

    /// Closes every connection, waiting for those in use to be returned.
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(pool, group) => {
                group.close().await;
                pool.close().await;
            }
            Backend::Postgres(pool) => pool.close().await,
            // A unit of work ends by committing, or by being dropped (rolled back).
            Backend::SqliteWork(_) | Backend::PostgresWork(_) => {}
        }
    }
}
