//! Start-up and shutdown: prepare the data directory and key, open and migrate the database,
//! bind the port, then serve HTTP and run jobs until told to stop.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::audit;
use crate::breaches::Breaches;
use crate::clock::Clock;
use crate::config::Config;
use crate::connections::Networks;
use crate::data_dir::{self, DataDirError, MasterKey};
use crate::http::{self, AppState};
use crate::jobs::{
    AuditCheckpoint, CHECKPOINT_KIND, CHECKPOINT_PERIOD, PRUNE_KIND, PUBLISH_KIND, PruneJobs,
    PublishPosts, Runner, enqueue_daily_prune, schedule_recurring,
};
use crate::keys::Keys;
use crate::metrics::Metrics;
use crate::people::passkeys;
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
    #[error("cannot prepare first-run setup: {0}")]
    Setup(crate::people::PeopleError),
    #[error("cannot listen on {addr}: {reason}")]
    Bind { addr: SocketAddr, reason: String },
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

impl App {
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> Result<App, StartError> {
        data_dir::prepare(&config.data_dir)?;
        let store = Store::open(&config).await?;
        store.migrate().await?;
        let key_path = config.master_key_path();
        if crate::rekey::next_key_path(&key_path).exists() {
            return Err(StartError::RekeyInterrupted);
        }
        // A database that already holds sealed secrets must get its own key back, never a
        // fresh one: that would seal new secrets no one could open with the right key.
        if !key_path.exists() && store.vault_canary().await?.is_some() {
            return Err(StartError::MissingMasterKey(key_path));
        }
        let master_key = data_dir::load_or_create_master_key(&key_path)?;
        let keys = Keys::load(&master_key, &store).await?;
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
            crate::oauth::bluesky_settings(&config, &keys, clock.clone()),
        );
        let keys = Arc::new(keys);
        let media = crate::media::Library::new(&config, &master_key);
        let publisher = PublishPosts::new(
            store.clone(),
            keys.clone(),
            networks.clone(),
            clock.clone(),
            runner.worker_id(),
        )
        .with_media(media.clone());
        runner.register(PUBLISH_KIND, publisher);
        runner.register(
            PRUNE_KIND,
            PruneJobs::new(store.clone(), clock.clone()).with_media(media.clone()),
        );
        let now = clock.now();
        enqueue_daily_prune(&store, now, now).await?;
        schedule_recurring(&store, CHECKPOINT_KIND, CHECKPOINT_PERIOD, now, now).await?;
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
        let setup_announcement = crate::people::setup::code(&store, &keys, now)
            .await
            .map_err(StartError::Setup)?
            .map(|code| {
                let listening = SocketAddr::from((config.listen.ip(), port));
                code.announcement(&crate::people::setup::base_url(&config, listening))
            });
        let breaches = Breaches::in_data_dir(&config.data_dir);
        let state = AppState {
            store,
            config: Arc::new(config),
            metrics,
            clock,
            keys,
            networks,
            breaches,
            policy: Arc::default(),
            webauthn,
            media,
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
        let mut stopped = stop_rx.clone();
        let serve = axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        });
        let mut deadline = stop_rx;
        let over_time = async move {
            let _ = deadline.wait_for(|stop| *stop).await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            served = serve => served?,
            () = over_time => tracing::warn!("shutdown grace period over; dropping unfinished requests"),
        }
        if tokio::time::timeout(grace, runner).await.is_err() {
            tracing::warn!(
                "shutdown grace period over; a job was still running and will be retried"
            );
        }
        self.state.store.close().await;
        tracing::info!("shutdown complete");
        Ok(())
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
