//! Start-up and shutdown: prepare the data directory and key, open and migrate the database,
//! bind the port, then serve HTTP and run jobs until told to stop.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::breaches::Breaches;
use crate::clock::Clock;
use crate::config::Config;
use crate::data_dir::{self, DataDirError, MasterKey};
use crate::http::{self, AppState};
use crate::jobs::{
    AuditCheckpoint, CHECKPOINT_KIND, CHECKPOINT_PERIOD, FEEDS_KIND, PRUNE_KIND, PUBLISH_KIND,
    PruneJobs, PublishPosts, RefreshFeeds, Runner, WATCH_KIND, WATCH_PERIOD, WatchAccounts,
    enqueue_daily_feeds, enqueue_daily_prune, schedule_recurring,
};
use crate::keys::Keys;
use crate::metrics::Metrics;
use crate::services::connections::Networks;
use crate::services::people::passkeys;
use crate::services::{Services, audit};
use crate::store::{Store, StoreError};

/// Why Herald could not start. Each message names the thing to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    MasterKey(#[from] crate::keys::KeyCheckError),
    #[error(
        "the master key file {0} is missing, but this database holds secrets sealed with a master key; restore the file from your backup (or set HERALD_MASTER_KEY_FILE)"
    )]
    MissingMasterKey(std::path::PathBuf),
    #[error(
        "a `herald vault rekey` was interrupted; run it again to finish before starting Herald"
    )]
    RekeyInterrupted,
    #[error(
        "the master key {key} belongs to an installation, but {database} holds no Herald data: it was deleted or emptied, or Herald is pointed at the wrong database. Restore the database from your backup; to start an empty Herald with this key instead, run `herald serve --new-database`"
    )]
    DatabaseMissing {
        key: std::path::PathBuf,
        database: String,
    },
    #[error("cannot prepare first-run setup: {0}")]
    Setup(crate::services::AppError),
    #[error("cannot listen on {addr}: {reason}")]
    Bind { addr: SocketAddr, reason: String },
    #[error("cannot save the database before upgrading it, in {path}: {source}")]
    Snapshot {
        path: std::path::PathBuf,
        source: io::Error,
    },
}

/// A Herald that has done all of its start-up work and holds its port, ready to [`App::run`].
#[derive(Debug)]
pub struct App {
    listener: TcpListener,
    state: AppState,
    runner: Runner,
    master_key: MasterKey,
    /// While nobody has set Herald up: what to print so that whoever runs it can.
    setup_announcement: Option<String>,
}

/// What start-up does when the master key file is there but the database holds nothing: a
/// database that was lost must not silently become a fresh install (with setup offered to
/// whoever comes first), so that takes the operator's word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfDatabaseIsEmpty {
    Refuse,
    StartAfresh,
}

impl App {
    /// Start-up for an installation, refusing an empty database beside an existing key.
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> Result<App, StartError> {
        App::build_with(config, clock, IfDatabaseIsEmpty::Refuse).await
    }

    pub async fn build_with(
        config: Config,
        clock: Arc<dyn Clock>,
        if_empty: IfDatabaseIsEmpty,
    ) -> Result<App, StartError> {
        data_dir::prepare(&config.data_dir)?;
        let store = Store::open(&config).await?;
        store.refuse_newer_schema().await?;
        snapshot_before_upgrade(&config, &store, clock.now()).await?;
        store.migrate().await?;
        let key_path = config.master_key_path();
        if crate::rekey::next_key_path(&key_path).exists() {
            return Err(StartError::RekeyInterrupted);
        }
        // A database that already holds sealed secrets must get its own key back, never a
        // fresh one: that would seal new secrets no one could open with the right key.
        let canary = store.vault_canary().await?;
        let key_existed = key_path.exists();
        if !key_existed && canary.is_some() {
            return Err(StartError::MissingMasterKey(key_path));
        }
        let master_key = data_dir::load_or_create_master_key(&key_path)?;
        // The first start seals the canary right after creating the key, so a key without a
        // canary means the database it went with is gone.
        if key_existed && canary.is_none() && if_empty == IfDatabaseIsEmpty::Refuse {
            let database = match config.database.url {
                Some(_) => "the PostgreSQL database".to_owned(),
                None => config.data_dir.join("herald.db").display().to_string(),
            };
            return Err(StartError::DatabaseMissing {
                key: key_path,
                database,
            });
        }
        let keys = Keys::load(&master_key, &store).await?;
        raise_open_file_limit(config.http.max_connections);
        let listener = bind(config.listen).await?;
        let metrics = Arc::new(Metrics::new());
        let mut runner = Runner::new(store.clone(), clock.clone(), metrics.clone(), &config.jobs);
        let checkpoints = AuditCheckpoint::new(
            store.clone(),
            clock.clone(),
            audit::signing_key(&master_key),
        );
        runner.register(CHECKPOINT_KIND, checkpoints);
        let networks = Networks::from_config(
            &config.networks,
            crate::services::oauth::bluesky_settings(&config, &keys, clock.clone()),
        );
        let keys = Arc::new(keys);
        let media = crate::services::media::Library::new(&config, &master_key);
        let links = Arc::new(crate::services::links::LinkSafety::new(&config));
        let policy = Arc::new(crate::services::policy::PolicyGuard::with_links(
            links.clone(),
        ));
        let config = Arc::new(config);
        let services = Services {
            store: store.clone(),
            config: config.clone(),
            clock: clock.clone(),
            keys,
            networks,
            policy,
            media: media.clone(),
            breaches: Breaches::in_data_dir(&config.data_dir),
            token_locks: Arc::default(),
        };
        runner.register(
            PUBLISH_KIND,
            PublishPosts::new(services.clone(), runner.worker_id()),
        );
        runner.register(WATCH_KIND, WatchAccounts::new(services.clone()));
        runner.register(
            PRUNE_KIND,
            PruneJobs::new(store.clone(), clock.clone()).with_media(media.clone()),
        );
        let now = clock.now();
        enqueue_daily_prune(&store, now, now).await?;
        runner.register(
            crate::jobs::SECURITY_SCORE_KIND,
            crate::jobs::RecordSecurityScore::new(store.clone(), clock.clone()),
        );
        crate::jobs::enqueue_daily_security_score(&store, now, now).await?;
        if !config.links.feeds.is_empty() {
            runner.register(
                FEEDS_KIND,
                RefreshFeeds::new(store.clone(), clock.clone(), &config),
            );
            enqueue_daily_feeds(&store, now, now).await?;
        }
        schedule_recurring(&store, CHECKPOINT_KIND, CHECKPOINT_PERIOD, now, now).await?;
        let inbox = crate::jobs::ReadInboxes::new(services.clone());
        runner.register(crate::jobs::INBOX_SWEEP_KIND, inbox.clone());
        runner.register(crate::jobs::INBOX_READ_KIND, inbox);
        crate::jobs::enqueue_inbox_sweep(&store, &config.inbox, now, now).await?;
        schedule_recurring(&store, WATCH_KIND, WATCH_PERIOD, now, now).await?;
        if let Some(backups) =
            crate::jobs::ScheduledBackups::new(store.clone(), clock.clone(), config.clone())
        {
            runner.register(crate::jobs::BACKUP_KIND, backups);
            crate::jobs::enqueue_backup(&store, now, now).await?;
        }
        let port = listener
            .local_addr()
            .map_or(config.listen.port(), |addr| addr.port());
        let webauthn = match passkeys::relying_party(&config, port) {
            Ok(webauthn) => Some(Arc::new(webauthn)),
            Err(reason) => {
                tracing::warn!(%reason, "passkeys are turned off");
                None
            }
        };
        let setup_announcement = crate::services::people::setup::code(&store, &services.keys, now)
            .await
            .map_err(StartError::Setup)?
            .map(|code| {
                let listening = SocketAddr::from((config.listen.ip(), port));
                code.announcement(&crate::services::people::setup::base_url(
                    &config, listening,
                ))
            });
        let state = AppState {
            services,
            metrics,
            webauthn,
        };
        Ok(App {
            listener,
            state,
            runner,
            master_key,
            setup_announcement,
        })
    }

    /// While Herald is not set up: the setup link and code to show whoever started it (`herald
    /// serve` prints this on standard output, apart from the log).
    pub fn setup_announcement(&self) -> Option<&str> {
        self.setup_announcement.as_deref()
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn store(&self) -> &Store {
        &self.state.store
    }

    pub fn master_key(&self) -> &MasterKey {
        &self.master_key
    }

    /// Serves until `shutdown` completes, then lets in-flight requests and the current batch of
    /// jobs finish, for at most `http.shutdown_grace_seconds`.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> io::Result<()> {
        let grace = Duration::from_secs(self.state.config.http.shutdown_grace_seconds);
        let (stop_tx, stop_rx) = watch::channel(false);
        let runner = tokio::spawn(self.runner.run(stop_rx.clone()));
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing requests in flight");
            let _ = stop_tx.send(true);
        });
        let router = http::router(self.state.clone());
        let http = &self.state.config.http;
        let limits = http::serve::Limits {
            max_connections: http.max_connections,
            header_read_timeout: Duration::from_secs(http.header_read_timeout_seconds),
        };
        let serve = http::serve::serve(self.listener, router, limits, stop_rx.clone());
        let mut deadline = stop_rx;
        let over_time = async move {
            let _ = deadline.wait_for(|stop| *stop).await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            () = serve => {},
            () = over_time => tracing::warn!("shutdown grace period over; dropping unfinished requests"),
        }
        if tokio::time::timeout(grace, runner).await.is_err() {
            tracing::warn!(
                "shutdown grace period over; a job was still running and will be retried"
            );
        }
        // The entries of the last minutes are covered by a signed checkpoint before Herald
        // stops, so nothing appended while it ran is left unprotected until the next start.
        let now = self.state.clock.now();
        let key = audit::signing_key(&self.master_key);
        if let Err(error) = audit::checkpoint(&self.state.store, &key, now).await {
            tracing::warn!(error = %error, "could not sign the audit checkpoint at shutdown");
        }
        self.state.store.close().await;
        tracing::info!("shutdown complete");
        Ok(())
    }
}

/// Files the database, media and logs may hold open beside the connections.
const FILES_BESIDE_CONNECTIONS: u64 = 256;

/// Raises the soft open-file limit toward what `max_connections` needs, up to the hard limit
/// (the most an unprivileged process may), and says so when that is less.
fn raise_open_file_limit(max_connections: usize) {
    let wanted = u64::try_from(max_connections)
        .unwrap_or(u64::MAX)
        .saturating_add(FILES_BESIDE_CONNECTIONS);
    match rlimit::increase_nofile_limit(wanted) {
        Ok(limit) if limit < wanted => tracing::warn!(
            limit,
            wanted,
            "the open-file limit is below http.max_connections; raise the hard limit (LimitNOFILE= in a systemd unit) or lower the setting"
        ),
        Ok(_) => {}
        Err(error) => tracing::warn!(error = %error, "could not raise the open-file limit"),
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr).await.map_err(|error| {
        let reason = match error.kind() {
            io::ErrorKind::AddrInUse => {
                "the address is already in use; is Herald already running? Choose another with --listen".to_owned()
            }
            io::ErrorKind::PermissionDenied => {
                "permission denied; ports below 1024 need extra privileges, choose another with --listen".to_owned()
            }
            _ => error.to_string(),
        };
        StartError::Bind { addr, reason }
    })
}

/// On SQLite, before migrations change a database that has data: a snapshot of it beside it,
/// `backups/before-schema-<from>-to-<to>-<time>.db`, so a failed upgrade loses nothing.
async fn snapshot_before_upgrade(
    config: &Config,
    store: &Store,
    now: jiff::Timestamp,
) -> Result<(), StartError> {
    let applied = store.schema_version().await?;
    let pending = store.pending_migrations().await?;
    let (Some(last), true) = (
        pending.last(),
        applied > 0 && store.backend_name() == "sqlite",
    ) else {
        return Ok(());
    };
    let folder = config.data_dir.join("backups");
    std::fs::create_dir_all(&folder).map_err(|source| StartError::Snapshot {
        path: folder.clone(),
        source,
    })?;
    let path = folder.join(format!(
        "before-schema-{applied}-to-{}-{}.db",
        last.0,
        now.as_second()
    ));
    if store.snapshot_into(&path).await? {
        tracing::info!(path = %path.display(), "database saved before upgrading its schema");
    }
    Ok(())
}
