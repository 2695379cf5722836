//! Test harness: a real Herald server on a free port with a fresh data directory, the `herald`
//! binary with a clean environment, and PostgreSQL when the machine has it.

use herald::domain::ids::{AccountId, UserId};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use herald::clock::{Clock, SystemClock};
use herald::config::Config;
use herald::server::App;
use herald::store::Store;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running Herald. Dropping it stops the server.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub store: Store,
    pub data_dir: PathBuf,
    /// What the server printed at start while it was not set up: the setup link and code.
    pub setup_announcement: Option<String>,
    _temp: TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The same address by the name `localhost`, which WebAuthn needs (it refuses IP addresses).
    pub fn localhost_url(&self, path: &str) -> String {
        format!("http://localhost:{}{path}", self.addr.port())
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request reaches the test server")
    }

    /// The setup link the server printed at start, as an owner would copy it.
    pub fn setup_link(&self) -> String {
        setup_link_in(self.setup_announcement.as_deref().unwrap_or_default())
    }

    /// The one-time setup code, read from the printed setup link.
    pub fn setup_code(&self) -> String {
        setup_code_in(&self.setup_link())
    }

    /// Stops the server the way SIGTERM would, and waits for it to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("server task does not panic")
                .expect("server stops cleanly");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A server with the default configuration on SQLite.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A server whose configuration `adjust` may change first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_with_clock(adjust, Arc::new(SystemClock)).await
}

/// A server on the database `HERALD_TEST_BACKEND` names (SQLite unless it says `postgres`),
/// unless `adjust` names one itself. A server started again on the same data directory finds
/// the same PostgreSQL schema.
pub async fn spawn_app_with_clock(
    adjust: impl FnOnce(&mut Config),
    clock: Arc<dyn Clock>,
) -> TestApp {
    start(adjust, clock, true).await
}

/// A server on SQLite whatever `HERALD_TEST_BACKEND` says: for tests about SQLite's own file.
pub async fn spawn_sqlite_app_with_clock(
    adjust: impl FnOnce(&mut Config),
    clock: Arc<dyn Clock>,
) -> TestApp {
    start(adjust, clock, false).await
}

async fn start(
    adjust: impl FnOnce(&mut Config),
    clock: Arc<dyn Clock>,
    follow_environment: bool,
) -> TestApp {
    let temp = TempDir::new().expect("temporary directory");
    let mut config = test_config(temp.path());
    adjust(&mut config);
    if follow_environment && config.database.url.is_none() {
        config.database.url = database_for(&config.data_dir).await.map(Into::into);
    }
    let data_dir = config.data_dir.clone();
    let app = App::build(config, clock).await.expect("test server starts");
    let addr = app.local_addr().expect("bound address");
    let store = app.store().clone();
    let setup_announcement = app.setup_announcement().map(str::to_owned);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run(async move {
        let _ = stopped.await;
    }));
    TestApp {
        addr,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client"),
        store,
        data_dir,
        setup_announcement,
        _temp: temp,
        stop: Some(stop),
        task: Some(task),
    }
}

/// `HERALD_TEST_BACKEND=postgres` runs every test server on PostgreSQL, so the whole suite can
/// run on either database; unset or `sqlite`, on SQLite. Each data directory gets a schema of
/// its own, remembered beside it (`data.database-url`) for a server started again on it.
pub async fn database_for(data_dir: &Path) -> Option<String> {
    match std::env::var("HERALD_TEST_BACKEND").as_deref() {
        Ok("postgres") => {}
        Ok("sqlite") | Err(_) => return None,
        Ok(other) => panic!("HERALD_TEST_BACKEND must be sqlite or postgres, not {other:?}"),
    }
    let remembered = data_dir.with_extension("database-url");
    if let Ok(url) = std::fs::read_to_string(&remembered) {
        return Some(url);
    }
    let url = postgres_url()
        .await
        .expect("HERALD_TEST_BACKEND=postgres needs HERALD_TEST_DATABASE_URL");
    std::fs::write(&remembered, &url).expect("remember the test database");
    Some(url)
}

/// The setup link in what Herald printed (`herald serve` at first start, `herald setup-code`).
pub fn setup_link_in(printed: &str) -> String {
    printed
        .split_whitespace()
        .find(|word| word.contains("/setup?code="))
        .unwrap_or_else(|| panic!("no setup link in {printed:?}"))
        .to_owned()
}

/// The setup code a setup link carries.
pub fn setup_code_in(link: &str) -> String {
    link.split_once("?code=")
        .map(|(_, code)| code.to_owned())
        .unwrap_or_else(|| panic!("no setup code in {link:?}"))
}

/// Defaults, but on a free port, in a fresh data directory inside `root`, with quick polling.
pub fn test_config(root: &Path) -> Config {
    let mut config = Config {
        listen: "127.0.0.1:0".parse().expect("loopback address"),
        data_dir: root.join("data"),
        ..Config::default()
    };
    config.jobs.poll_interval_ms = 20;
    config.http.shutdown_grace_seconds = 5;
    // The fake networks listen on this machine (tests/it/outbound.rs turns this off again).
    config.networks.allow_private_addresses = true;
    config
}

/// The `herald` binary with an environment cleared of any `HERALD_*` settings of the machine.
pub fn herald() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_herald"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("HERALD_") {
            command.env_remove(name);
        }
    }
    command.env("NO_COLOR", "1");
    command
}

/// The `herald` binary for the installation in `data_dir`, on the database its test server
/// used (see [`database_for`]).
pub fn herald_for(data_dir: &Path) -> Command {
    let mut command = herald();
    if let Ok(url) = std::fs::read_to_string(data_dir.with_extension("database-url")) {
        command.env("HERALD_DATABASE_URL", url);
    }
    command
}

/// Runs a finished command and returns its output, with stdout and stderr as text.
pub fn run(command: &mut Command) -> (Output, String, String) {
    let output = command.output().expect("herald binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stdout, stderr)
}

/// Whether tests that need PostgreSQL or Chromium must run (CI) rather than skip.
pub fn all_tests_required() -> bool {
    std::env::var("HERALD_REQUIRE_ALL_TESTS").is_ok_and(|value| value == "1")
}

/// Skips the calling test with a printed reason, or fails it under `HERALD_REQUIRE_ALL_TESTS=1`.
pub fn skip_or_fail(reason: &str) {
    assert!(
        !all_tests_required(),
        "HERALD_REQUIRE_ALL_TESTS=1 but this test cannot run: {reason}"
    );
    #[allow(clippy::print_stderr)] // The reason must reach the person running the tests.
    {
        eprintln!("SKIPPED: {reason}");
    }
}

/// A fresh, empty PostgreSQL schema of its own for one test, or `None` (after skipping) when
/// `HERALD_TEST_DATABASE_URL` is not set.
pub async fn postgres_url() -> Option<String> {
    let Ok(base) = std::env::var("HERALD_TEST_DATABASE_URL") else {
        skip_or_fail("HERALD_TEST_DATABASE_URL is not set, so PostgreSQL is not tested");
        return None;
    };
    let schema = format!("herald_test_{:016x}", rand::random::<u64>());
    let admin = sqlx::PgPool::connect(&base)
        .await
        .expect("HERALD_TEST_DATABASE_URL answers");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .expect("create test schema");
    admin.close().await;
    let separator = if base.contains('?') { '&' } else { '?' };
    Some(format!(
        "{base}{separator}options=-c%20search_path%3D{schema}"
    ))
}

/// Opens a migrated store of the named backend: `"sqlite"` in `dir`, or `"postgres"` in a fresh
/// schema. `None` when PostgreSQL is not available here (the test has then been skipped).
pub async fn open_store(backend: &str, dir: &Path) -> Option<Store> {
    let timeout = std::time::Duration::from_secs(5);
    let store = match backend {
        "sqlite" => Store::open_sqlite(&dir.join("herald.db"), 5, timeout)
            .await
            .expect("SQLite opens"),
        _ => {
            let url = postgres_url().await?;
            Store::open_postgres(&url.into(), 5, timeout)
                .await
                .expect("PostgreSQL opens")
        }
    };
    store.migrate().await.expect("migrations run");
    Some(store)
}

/// An organisation with its owner, and one Mastodon account the owner keeps, made straight in
/// the store at `now`: (owner id, account id).
pub async fn owner_and_account(store: &Store, now: jiff::Timestamp) -> (UserId, AccountId) {
    let owner = herald::store::NewUser {
        email: "owner@shop.example".to_owned(),
        name: "Owner".to_owned(),
        role: herald::domain::people::Role::Owner,
        password_hash: "not-a-real-hash".to_owned(),
        totp_secret: vec![1, 2, 3],
        totp_last_step: 0,
        recovery_code_hashes: Vec::new(),
    };
    let owner_id = store
        .create_organisation("Shop", &owner, now)
        .await
        .expect("organisation");
    let account = herald::store::NewAccount {
        network: herald::domain::accounts::Network::Mastodon,
        handle: "@shop@social.example",
        display_name: "Shop",
        avatar_colour: "#123456",
        gatekeeper_id: owner_id,
        confirm_before_publish: false,
    };
    let account_id = store.create_account(&account, now).await.expect("account");
    (owner_id, account_id)
}

/// Defines one test per backend from one body: `name::sqlite` and `name::postgres`.
macro_rules! contract_test {
    ($name:ident, |$store:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)] // A body may need nothing from its file.
            use super::*;

            async fn check($store: herald::store::Store) $body

            #[tokio::test]
            async fn sqlite() {
                let dir = tempfile::TempDir::new().expect("temporary directory");
                let store = $crate::helpers::open_store("sqlite", dir.path()).await;
                check(store.expect("SQLite is always available")).await;
            }

            #[tokio::test]
            async fn postgres() {
                let dir = tempfile::TempDir::new().expect("temporary directory");
                if let Some(store) = $crate::helpers::open_store("postgres", dir.path()).await {
                    check(store).await;
                }
            }
        }
    };
}
pub(crate) use contract_test;
