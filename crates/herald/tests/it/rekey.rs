//! `herald vault rekey`: a new master key, every secret re-wrapped under it, nothing lost,
//! the audit log's checkpoints signed again, and safe to interrupt and run again.

use std::sync::Arc;

use herald::clock::ManualClock;
use jiff::{SignedDuration, Timestamp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::accounts::new_account;
use crate::helpers::{TestApp, herald, run, spawn_app_with_clock};
use crate::oauth::{configure, connection, scene_in, sent_back};
use crate::people::{OWNER_EMAIL, OWNER_PASSWORD, client, code, set_up};
use crate::publishing::Scene;

const SECRET_VALUE: &str = "network-password-survives-rekey";

async fn start(dir: &TempDir, clock: &ManualClock) -> TestApp {
    let data = dir.path().join("data");
    spawn_app_with_clock(
        move |config| config.data_dir = data,
        Arc::new(clock.clone()),
    )
    .await
}

fn cli(dir: &TempDir, args: &[&str]) -> (bool, String, String) {
    let (output, stdout, stderr) = run(herald()
        .args(args)
        .arg("--data-dir")
        .arg(dir.path().join("data")));
    (output.status.success(), stdout, stderr)
}

#[tokio::test]
async fn rekey_replaces_the_master_key_and_every_secret_still_opens() {
    let dir = TempDir::new().expect("temporary directory");
    let clock = ManualClock::new(Timestamp::from_second(1_800_000_000).expect("time"));
    let app = start(&dir, &clock).await;
    let owner = set_up(&app, &clock).await;
    let id = new_account(&app, &owner, "@sunnycafe", owner.id).await;
    let stored = owner
        .send(
            &app,
            Method::PUT,
            &format!("/api/v1/accounts/{id}/credentials/login_password"),
            Some(json!({ "value": SECRET_VALUE })),
        )
        .await;
    assert_eq!(stored.status(), StatusCode::OK);
    app.stop().await;
    let (ok, _, stderr) = cli(&dir, &["audit", "checkpoint"]);
    assert!(ok, "{stderr}");
    let key_path = dir.path().join("data/master.key");
    let old_key = std::fs::read_to_string(&key_path).expect("key");

    let (ok, stdout, stderr) = cli(&dir, &["vault", "rekey"]);
    assert!(ok, "{stderr}");
    // The owner's authenticator secret, the network password, the key check value and
    // Herald's Bluesky client key.
    assert!(
        stdout.contains("now version 2): 4 secrets re-wrapped"),
        "{stdout}"
    );
    assert!(
        stdout.contains("2 audit checkpoints signed again"),
        "the start-up one and ours: {stdout}"
    );
    let new_key = std::fs::read_to_string(&key_path).expect("key");
    assert!(new_key.starts_with("v2:") && new_key != old_key);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("data/master.key.previous")).expect("old key kept"),
        old_key
    );
    let (ok, stdout, stderr) = cli(&dir, &["audit", "verify"]);
    assert!(
        ok,
        "the re-signed checkpoints verify with the new key: {stderr}"
    );
    assert!(stdout.starts_with("audit log intact"), "{stdout}");

    // Herald starts with the new key, the owner signs in (their TOTP secret was re-wrapped
    // too) and the network password reads back unchanged.
    let app = start(&dir, &clock).await;
    clock.advance(SignedDuration::from_secs(30));
    let signed_in = client();
    let login = signed_in
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "email": OWNER_EMAIL, "password": OWNER_PASSWORD, "code": code(&owner.secret, &clock) }))
        .send()
        .await
        .expect("request");
    assert_eq!(login.status(), StatusCode::OK);
    let csrf = login.json::<Value>().await.expect("JSON")["csrf_token"]
        .as_str()
        .expect("csrf")
        .to_owned();
    clock.advance(SignedDuration::from_secs(30));
    let revealed: Value = signed_in
        .post(app.url(&format!(
            "/api/v1/accounts/{id}/credentials/login_password/reveal"
        )))
        .header("x-csrf-token", csrf)
        .json(&json!({ "code": code(&owner.secret, &clock) }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    assert_eq!(revealed["value"], SECRET_VALUE);
    app.stop().await;

    let (ok, stdout, stderr) = cli(&dir, &["vault", "rekey"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("now version 3"),
        "a second rotation works too: {stdout}"
    );
}

#[tokio::test]
async fn an_interrupted_rekey_stops_the_start_and_finishes_when_run_again() {
    let dir = TempDir::new().expect("temporary directory");
    let clock = ManualClock::new(Timestamp::from_second(1_800_000_000).expect("time"));
    let app = start(&dir, &clock).await;
    set_up(&app, &clock).await;
    app.stop().await;
    // As if a re-key had written its new key and stopped there.
    let next = dir.path().join("data/master.key.next");
    herald::data_dir::create_master_key(&next, 2).expect("next key");

    let (ok, _, stderr) = serve_once(&dir);
    assert!(!ok, "Herald must not start mid-rekey");
    assert!(
        stderr.contains("herald vault rekey` was interrupted"),
        "{stderr}"
    );

    let (ok, stdout, stderr) = cli(&dir, &["vault", "rekey"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("now version 2"), "{stdout}");
    assert!(!next.exists());
    let app = start(&dir, &clock).await;
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
}

/// Herald's own keys at the networks survive a re-key: the Mastodon application it registered
/// opens under the new key (so it is not registered again), and its Bluesky client key, which
/// sessions at Bluesky are bound to, is the same key.
#[tokio::test]
async fn rekey_keeps_herald_s_mastodon_application_and_its_bluesky_client_key() {
    const PUBLIC: &str = "https://herald.example";
    let dir = TempDir::new().expect("temporary directory");
    let data = dir.path().join("data");
    let scene = scene_in("mastodon", Some(PUBLIC), Some(data.clone())).await;
    let instance = scene.fake.url();
    assert_eq!(
        connect_via(&scene, &instance, PUBLIC).await,
        StatusCode::SEE_OTHER
    );
    let client_key = published_client_key(&scene.app).await;
    let fake_url = scene.fake.url();
    let scene = scene
        .restarted(
            || {
                let (ok, stdout, stderr) = cli(&dir, &["vault", "rekey"]);
                assert!(ok, "{stderr}");
                assert!(stdout.contains("now version 2"), "{stdout}");
            },
            |config| {
                configure(config, "mastodon", &fake_url, Some(PUBLIC));
                config.data_dir = data;
            },
        )
        .await;
    let apps = scene.app.store.all_oauth_apps().await.expect("apps");
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0].key_version, 2, "re-wrapped under the new key");
    assert_eq!(published_client_key(&scene.app).await, client_key);

    assert_eq!(
        connect_via(&scene, &instance, PUBLIC).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(connection(&scene).await, "connected");
    let audit = scene.audit().await;
    assert_eq!(
        audit.matches("network.app_registered").count(),
        1,
        "Herald's application at the instance still opens: {audit}"
    );
}

/// A database from before Herald kept its Bluesky client key, re-keyed before this version
/// ever started on it, keeps the key derived from its old master key: the one Bluesky knows.
#[tokio::test]
async fn a_database_re_keyed_before_herald_kept_its_bluesky_key_keeps_the_old_one() {
    const PUBLIC: &str = "https://herald.example";
    let dir = TempDir::new().expect("temporary directory");
    let data = dir.path().join("data");
    let start = |data: std::path::PathBuf| {
        spawn_app_with_clock(
            move |config| {
                config.public_url = Some(PUBLIC.to_owned());
                config.data_dir = data;
            },
            Arc::new(ManualClock::new(
                Timestamp::from_second(1_800_000_000).expect("time"),
            )),
        )
    };
    let app = start(data.clone()).await;
    let derived = published_client_key(&app).await;
    app.stop().await;
    // As the database was before migration 0018: no key kept.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", data.join("herald.db").display()))
        .await
        .expect("open database directly");
    sqlx::query("UPDATE vault_meta SET bluesky_client_key = NULL")
        .execute(&pool)
        .await
        .expect("forget the kept key");
    pool.close().await;

    let (ok, stdout, stderr) = cli(&dir, &["vault", "rekey"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("now version 2"), "{stdout}");
    let app = start(data).await;
    assert_eq!(published_client_key(&app).await, derived);
}

/// The gatekeeper connects the scene's account, the network sending them back to Herald's
/// public address `public`, which reaches the test server.
async fn connect_via(scene: &Scene, instance: &str, public: &str) -> StatusCode {
    let (browser, ceremony, back) = sent_back(scene, instance).await;
    let at_herald = back.replacen(public, &scene.app.url(""), 1);
    browser.callback(&at_herald, &ceremony).await.status()
}

/// The public key in the Bluesky client metadata Herald serves.
async fn published_client_key(app: &TestApp) -> Value {
    let metadata: Value = reqwest::get(app.url(networks::bluesky::oauth::METADATA_PATH))
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    metadata["jwks"]["keys"][0].clone()
}

/// Runs `herald serve` and returns how it ended (it exits at once when it refuses to start).
fn serve_once(dir: &TempDir) -> (bool, String, String) {
    let (output, stdout, stderr) = run(herald()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data")));
    (output.status.success(), stdout, stderr)
}
