//! Upgrades that never lose data: a database an older Herald left is saved beside itself
//! before its schema changes, then upgraded and served; `herald migrate --dry-run` lists what
//! would run and changes nothing; a database a newer Herald has migrated is refused untouched.

use std::path::Path;
use std::sync::Arc;

use herald::clock::ManualClock;
use herald::store::Store;
use jiff::Timestamp;
use tempfile::TempDir;

use crate::helpers::{herald, run, spawn_sqlite_app_with_clock};

/// The schema version the older Herald of these tests left (before the organisation's names).
const OLDER: i64 = 24;

async fn older_database(data: &Path) {
    herald::data_dir::prepare(data).expect("data directory");
    let store = Store::open_sqlite(
        &data.join("herald.db"),
        2,
        std::time::Duration::from_secs(5),
    )
    .await
    .expect("database");
    store.migrate_up_to(OLDER).await.expect("older schema");
    assert_eq!(store.schema_version().await.expect("version"), OLDER);
    store.close().await;
}

fn clock() -> ManualClock {
    ManualClock::new(Timestamp::from_second(1_800_000_000).expect("time"))
}

#[tokio::test]
async fn migrate_dry_run_lists_what_would_run_and_changes_nothing() {
    let dir = TempDir::new().expect("temporary directory");
    let data = dir.path().join("data");
    older_database(&data).await;
    let (output, stdout, stderr) = run(herald()
        .args(["migrate", "--dry-run", "--data-dir"])
        .arg(&data));
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("would run (nothing was changed)"),
        "{stdout}"
    );
    assert!(stdout.contains("0025 organisation names"), "{stdout}");
    assert!(!stdout.contains(&format!("{OLDER:04} ")), "{stdout}");
    let store = Store::open_sqlite(
        &data.join("herald.db"),
        1,
        std::time::Duration::from_secs(5),
    )
    .await
    .expect("database");
    assert_eq!(store.schema_version().await.expect("version"), OLDER);
    store.close().await;
}

#[tokio::test]
async fn an_older_database_is_saved_before_its_schema_is_upgraded_then_served() {
    let dir = TempDir::new().expect("temporary directory");
    let data = dir.path().join("data");
    older_database(&data).await;
    let app = spawn_sqlite_app_with_clock(
        {
            let data = data.clone();
            move |config| config.data_dir = data
        },
        Arc::new(clock()),
    )
    .await;
    let latest = app.store.schema_version().await.expect("version");
    assert!(latest > OLDER);
    let saved: Vec<String> = std::fs::read_dir(data.join("backups"))
        .expect("backups folder")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(saved.len(), 1, "{saved:?}");
    assert!(
        saved[0].starts_with(&format!("before-schema-{OLDER}-to-{latest}-")),
        "{saved:?}"
    );
    let snapshot = Store::open_sqlite(
        &data.join("backups").join(&saved[0]),
        1,
        std::time::Duration::from_secs(5),
    )
    .await
    .expect("snapshot");
    assert_eq!(snapshot.schema_version().await.expect("version"), OLDER);
    snapshot.close().await;
    let health = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("request");
    assert!(health.status().is_success());
}

#[tokio::test]
async fn a_database_a_newer_herald_migrated_is_refused_untouched() {
    let dir = TempDir::new().expect("temporary directory");
    let data = dir.path().join("data");
    older_database(&data).await;
    let database = data.join("herald.db");
    // What a newer Herald leaves: a migration this one does not know.
    let (output, _, stderr) = run(std::process::Command::new("python3").args([
        "-c",
        "import sqlite3, sys\n\
         c = sqlite3.connect(sys.argv[1])\n\
         c.execute(\"INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) VALUES (9999, 'from the future', CURRENT_TIMESTAMP, 1, x'00', 0)\")\n\
         c.commit()",
        &database.display().to_string(),
    ]));
    assert!(output.status.success(), "python3 sqlite3: {stderr}");
    let before = std::fs::read(&database).expect("database");
    for args in [
        vec!["migrate"],
        vec!["migrate", "--dry-run"],
        vec!["serve", "--listen", "127.0.0.1:0"],
    ] {
        let (output, stdout, stderr) = run(herald().args(&args).arg("--data-dir").arg(&data));
        assert!(!output.status.success(), "{args:?}: {stdout}");
        assert!(
            stderr.contains("last opened by a newer Herald (schema version 9999"),
            "{args:?}: {stderr}"
        );
    }
    assert_eq!(
        std::fs::read(&database).expect("database"),
        before,
        "untouched"
    );
    assert!(!data.join("backups").exists());
}
