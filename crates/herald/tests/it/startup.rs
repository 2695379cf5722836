//! What `herald serve` does on first start, and how it refuses to start when something is
//! wrong: one clear line naming the problem, a non-zero exit, never a panic.

use std::os::unix::fs::PermissionsExt;

use tempfile::TempDir;

use crate::helpers::{herald, run, spawn_app};

/// Runs `herald serve` with extra arguments in a fresh directory and expects it to fail.
fn serve_fails(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut command = herald();
    command
        .arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .args(args);
    for (name, value) in env {
        command.env(name, value);
    }
    let (output, _, stderr) = run(&mut command);
    assert_eq!(output.status.code(), Some(1), "exit code; stderr: {stderr}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("error"))
        .collect();
    assert_eq!(lines.len(), 1, "one error line: {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{stderr}"
    );
    lines[0].to_owned()
}

#[tokio::test]
async fn the_first_start_creates_the_data_directory_database_and_a_private_master_key() {
    let app = crate::helpers::spawn_sqlite_app_with_clock(
        |_| {},
        std::sync::Arc::new(herald::clock::SystemClock),
    )
    .await;
    let dir_mode = std::fs::metadata(&app.data_dir)
        .expect("data dir")
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700);
    let key_path = app.data_dir.join("master.key");
    let key_mode = std::fs::metadata(&key_path)
        .expect("key file")
        .permissions()
        .mode();
    assert_eq!(key_mode & 0o777, 0o600);
    let key = std::fs::read_to_string(&key_path).expect("key readable");
    let digits = key.trim_end().strip_prefix("v1:").expect("version 1 key");
    assert_eq!(digits.len(), 64, "256 bits in hex");
    assert!(digits.chars().all(|c| c.is_ascii_hexdigit()));
    let db_mode = std::fs::metadata(app.data_dir.join("herald.db"))
        .expect("db")
        .permissions()
        .mode();
    assert_eq!(db_mode & 0o777, 0o600);
    assert!(!format!("{:?}", app.store).is_empty());
}

#[tokio::test]
async fn a_restart_keeps_the_same_master_key() {
    let root = TempDir::new().expect("temporary directory");
    let data = root.path().join("data");
    let config = crate::helpers::test_config(root.path());
    let first = herald::server::App::build(
        config.clone(),
        std::sync::Arc::new(herald::clock::SystemClock),
    )
    .await
    .expect("first start");
    let key = *first.master_key().as_bytes();
    drop(first);
    let second =
        herald::server::App::build(config, std::sync::Arc::new(herald::clock::SystemClock))
            .await
            .expect("second start");
    assert_eq!(*second.master_key().as_bytes(), key);
    assert!(data.join("herald.db").exists());
}

#[test]
fn a_master_key_readable_by_others_stops_the_start() {
    let dir = TempDir::new().expect("temporary directory");
    let key = dir.path().join("master.key");
    std::fs::write(&key, format!("{}\n", "ab".repeat(32))).expect("write key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let line = serve_fails(
        &["--data-dir", dir.path().to_str().expect("utf-8 path")],
        &[],
    );
    assert!(
        line.contains("can be read by other users (mode 0644)"),
        "{line}"
    );
    assert!(line.contains("chmod 600"), "{line}");
    assert!(!line.contains(&"ab".repeat(32)), "the key is not printed");
}

#[test]
fn a_malformed_master_key_stops_the_start_and_is_left_as_it_is() {
    let dir = TempDir::new().expect("temporary directory");
    let key = dir.path().join("master.key");
    std::fs::write(&key, "not a key\n").expect("write key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let line = serve_fails(
        &["--data-dir", dir.path().to_str().expect("utf-8 path")],
        &[],
    );
    assert!(
        line.contains("is malformed: expected 64 hexadecimal characters"),
        "{line}"
    );
    assert_eq!(
        std::fs::read_to_string(&key).expect("still there"),
        "not a key\n"
    );
}

#[test]
fn a_data_directory_that_cannot_be_written_stops_the_start() {
    let line = serve_fails(&["--data-dir", "/proc/self"], &[]);
    assert!(
        line.contains("data directory /proc/self is not writable"),
        "{line}"
    );

    let dir = TempDir::new().expect("temporary directory");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").expect("write");
    let line = serve_fails(&["--data-dir", file.to_str().expect("utf-8 path")], &[]);
    assert!(line.contains("is not a directory"), "{line}");
}

#[test]
fn a_port_in_use_is_named() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("address").to_string();
    let dir = TempDir::new().expect("temporary directory");
    let mut command = herald();
    command
        .args(["serve", "--listen", &addr, "--data-dir"])
        .arg(dir.path());
    let (output, _, stderr) = run(&mut command);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.contains(&format!(
            "cannot listen on {addr}: the address is already in use"
        )),
        "{stderr}"
    );
}

#[test]
fn an_unreachable_database_is_named_without_its_password() {
    let dir = TempDir::new().expect("temporary directory");
    let line = serve_fails(
        &["--data-dir", dir.path().to_str().expect("utf-8 path")],
        &[
            (
                "HERALD_DATABASE_URL",
                "postgres://herald:hunter2-secret@127.0.0.1:1/herald",
            ),
            ("HERALD_DATABASE_CONNECT_TIMEOUT_SECONDS", "2"),
        ],
    );
    assert!(
        line.contains("cannot open PostgreSQL database herald at 127.0.0.1:1"),
        "{line}"
    );
    assert!(!line.contains("hunter2-secret"), "{line}");
}

#[test]
fn an_invalid_log_filter_is_named() {
    let dir = TempDir::new().expect("temporary directory");
    let line = serve_fails(
        &["--data-dir", dir.path().to_str().expect("utf-8 path")],
        &[("HERALD_LOG_LEVEL", "herald=loud")],
    );
    assert!(
        line.contains("log.level \"herald=loud\" is not a valid filter"),
        "{line}"
    );
}

#[test]
fn migrate_creates_the_schema_and_can_run_again() {
    let dir = TempDir::new().expect("temporary directory");
    for _ in 0..2 {
        let (output, _, stderr) = run(herald().arg("migrate").arg("--data-dir").arg(dir.path()));
        assert!(output.status.success(), "{stderr}");
        assert!(stderr.contains("database schema is up to date"), "{stderr}");
    }
    assert!(dir.path().join("herald.db").exists());
}

#[tokio::test]
async fn a_stopped_server_no_longer_answers() {
    let app = spawn_app().await;
    let url = app.url("/healthz");
    assert!(app.get("/healthz").await.status().is_success());
    app.stop().await;
    assert!(
        reqwest::get(&url).await.is_err(),
        "the port is closed after stopping"
    );
}

/// Starts Herald once in `dir` (creating its database, key and canary) and stops it.
async fn first_start(dir: &std::path::Path) {
    let config = herald::config::Config {
        listen: "127.0.0.1:0".parse().expect("address"),
        data_dir: dir.to_path_buf(),
        ..herald::config::Config::default()
    };
    let app = herald::server::App::build(config, std::sync::Arc::new(herald::clock::SystemClock))
        .await
        .expect("first start");
    app.store().close().await;
}

#[tokio::test]
async fn a_master_key_that_does_not_belong_to_the_database_stops_the_start() {
    let dir = TempDir::new().expect("temporary directory");
    first_start(dir.path()).await;
    let key = dir.path().join("master.key");
    std::fs::write(&key, format!("{}\n", "cd".repeat(32))).expect("replace key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let line = serve_fails(
        &["--data-dir", dir.path().to_str().expect("utf-8 path")],
        &[],
    );
    assert!(
        line.contains("the master key does not open this database's secrets"),
        "{line}"
    );
    assert_eq!(
        std::fs::read_to_string(&key).expect("key"),
        format!("{}\n", "cd".repeat(32)),
        "nothing overwritten"
    );
}

#[tokio::test]
async fn a_missing_master_key_stops_the_start_instead_of_making_a_new_one() {
    let dir = TempDir::new().expect("temporary directory");
    first_start(dir.path()).await;
    std::fs::remove_file(dir.path().join("master.key")).expect("remove key");
    let line = serve_fails(
        &["--data-dir", dir.path().to_str().expect("utf-8 path")],
        &[],
    );
    assert!(
        line.contains("master key file") && line.contains("is missing"),
        "{line}"
    );
    assert!(
        !dir.path().join("master.key").exists(),
        "no new key was made"
    );
}

#[tokio::test]
async fn a_lost_database_beside_its_master_key_stops_the_start_instead_of_offering_setup() {
    let dir = TempDir::new().expect("temporary directory");
    first_start(dir.path()).await;
    let database = dir.path().join("herald.db");
    let data_dir = dir.path().to_str().expect("utf-8 path");
    for lose in ["deleted", "emptied"] {
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(dir.path().join(format!("herald.db{suffix}")));
        }
        match lose {
            "deleted" => std::fs::remove_file(&database).expect("delete the database"),
            _ => std::fs::write(&database, b"").expect("truncate the database"),
        }
        let line = serve_fails(&["--data-dir", data_dir], &[]);
        assert!(
            line.contains("holds no Herald data")
                && line.contains("herald.db")
                && line.contains("--new-database"),
            "{lose}: {line}"
        );
    }

    // The operator's word starts an empty Herald with the same key, and later starts are normal.
    let config = herald::config::Config {
        listen: "127.0.0.1:0".parse().expect("address"),
        data_dir: dir.path().to_path_buf(),
        ..herald::config::Config::default()
    };
    let clock = std::sync::Arc::new(herald::clock::SystemClock);
    let app = herald::server::App::build_with(
        config.clone(),
        clock.clone(),
        herald::server::IfDatabaseIsEmpty::StartAfresh,
    )
    .await
    .expect("a new database on request");
    app.store().close().await;
    let again = herald::server::App::build(config, clock)
        .await
        .expect("the new database now goes with the key");
    again.store().close().await;

    let (output, stdout, _) = run(herald().args(["serve", "--help"]));
    assert!(output.status.success());
    assert!(stdout.contains("--new-database"), "{stdout}");
}

#[tokio::test]
async fn a_data_directory_open_to_other_users_is_closed_to_them_at_start() {
    let dir = TempDir::new().expect("temporary directory");
    first_start(dir.path()).await;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    first_start(dir.path()).await;
    let mode = std::fs::metadata(dir.path())
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o700, "mode {mode:04o}");
}
