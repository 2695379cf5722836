//! `herald vault rekey`: a new master key, every secret re-wrapped under it, nothing lost,
//! the audit log's checkpoints signed again, and safe to interrupt and run again.

use std::sync::Arc;

use herald::clock::{Clock, ManualClock};
use jiff::{SignedDuration, Timestamp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::accounts::new_account;
use crate::helpers::{
    TestApp, contract_test, herald_for, run, spawn_app_with_clock, spawn_sqlite_app_with_clock,
};
use crate::oauth::{configure, connection, scene_in, sent_back};
use crate::people::{OWNER_EMAIL, OWNER_PASSWORD, client, code, set_up};
use crate::publishing::Scene;

const SECRET_VALUE: &str = "network-password-survives-rekey";

/// Herald's address in the tests that read its Bluesky client metadata (served only on https).
const PUBLIC: &str = "https://herald.example";

async fn start(dir: &TempDir, clock: &ManualClock) -> TestApp {
    start_with(dir, clock, |_| {}).await
}

async fn start_with(
    dir: &TempDir,
    clock: &ManualClock,
    adjust: impl FnOnce(&mut herald::config::Config),
) -> TestApp {
    let data = dir.path().join("data");
    spawn_app_with_clock(
        move |config| {
            config.data_dir = data;
            adjust(config);
        },
        Arc::new(clock.clone()),
    )
    .await
}

/// As [`start_with`], always on SQLite: for the tests that change its file as an older
/// version left it.
async fn start_on_sqlite_with(
    dir: &TempDir,
    clock: &ManualClock,
    adjust: impl FnOnce(&mut herald::config::Config),
) -> TestApp {
    let data = dir.path().join("data");
    spawn_sqlite_app_with_clock(
        move |config| {
            config.data_dir = data;
            adjust(config);
        },
        Arc::new(clock.clone()),
    )
    .await
}

fn cli(dir: &TempDir, args: &[&str]) -> (bool, String, String) {
    let (output, stdout, stderr) = run(herald_for(&dir.path().join("data"))
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
    let dir = TempDir::new().expect("temporary directory");
    let data = dir.path().join("data");
    let scene = scene_in("mastodon", Some(PUBLIC), Some(data.clone())).await;
    let instance = scene.fake.url();
    assert_eq!(
        connect_via(&scene, &instance, PUBLIC).await,
        StatusCode::SEE_OTHER
    );
    let client_key = published_client_key(&scene.app).await;
    let scene = scene
        .restarted(
            || {
                let (ok, stdout, stderr) = cli(&dir, &["vault", "rekey"]);
                assert!(ok, "{stderr}");
                assert!(stdout.contains("now version 2"), "{stdout}");
            },
            |config| {
                configure(config, "mastodon", &instance, Some(PUBLIC));
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
/// ever started on it (so not yet migrated), keeps the key derived from its old master key:
/// the one Bluesky knows.
#[tokio::test]
async fn a_database_re_keyed_before_herald_kept_its_bluesky_key_keeps_the_old_one() {
    let dir = TempDir::new().expect("temporary directory");
    let data = dir.path().join("data");
    let clock = ManualClock::new(Timestamp::from_second(1_800_000_000).expect("time"));
    let public = |config: &mut herald::config::Config| config.public_url = Some(PUBLIC.to_owned());
    let app = start_on_sqlite_with(&dir, &clock, public).await;
    let derived = published_client_key(&app).await;
    app.stop().await;
    // As the database was before migration 0018: no column for the key, and rekey the first
    // command of the new version to open it.
    raw_sql(
        &data,
        "ALTER TABLE vault_meta DROP COLUMN bluesky_client_key;
         DELETE FROM _sqlx_migrations WHERE version = 18;",
    )
    .await;

    let (ok, stdout, stderr) = cli(&dir, &["vault", "rekey"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("now version 2"), "{stdout}");
    let app = start_on_sqlite_with(&dir, &clock, public).await;
    assert_eq!(published_client_key(&app).await, derived);
}

/// An application at a Mastodon server sealed under a key no re-key re-wrapped (earlier
/// versions left them) is forgotten, to be registered again; the re-key itself goes through.
#[tokio::test]
async fn an_application_that_no_longer_opens_is_forgotten_and_the_rekey_goes_through() {
    let dir = TempDir::new().expect("temporary directory");
    let clock = ManualClock::new(Timestamp::from_second(1_800_000_000).expect("time"));
    let app = start(&dir, &clock).await;
    set_up(&app, &clock).await;
    let unrelated = vault::Kek::derive(&[7; 32], 1);
    let context = vault::Context {
        organisation: "herald",
        record: "https://social.example",
        field: "http://127.0.0.1:8080/oauth/callback",
    };
    let sealed = vault::seal(&unrelated, &context, b"app secret", &mut rand::rngs::OsRng);
    app.store
        .put_oauth_app(&herald::store::OAuthAppRecord {
            server: "https://social.example".to_owned(),
            redirect_uri: "http://127.0.0.1:8080/oauth/callback".to_owned(),
            client_id: "client-1".to_owned(),
            sealed_secret: sealed,
            key_version: 1,
            created_at: clock.now(),
        })
        .await
        .expect("an application");
    app.stop().await;

    let (ok, stdout, stderr) = cli(&dir, &["vault", "rekey"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains(
            "1 of Herald's applications at Mastodon servers did not open and were forgotten"
        ),
        "{stdout}"
    );
    assert!(!dir.path().join("data/master.key.next").exists());
    let app = start(&dir, &clock).await;
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    assert!(app.store.all_oauth_apps().await.expect("apps").is_empty());
}

contract_test!(
    herald_s_own_keys_are_kept_once_and_re_wrapped_only_while_unchanged,
    |store| {
        use herald::store::OAuthAppRecord;
        let now = Timestamp::from_second(1_800_000_000).expect("time");
        store.set_vault_canary(b"canary").await.expect("canary");
        assert_eq!(store.bluesky_client_key().await.expect("read"), None);
        store.keep_bluesky_client_key(b"first").await.expect("keep");
        store
            .keep_bluesky_client_key(b"second")
            .await
            .expect("keep again");
        assert_eq!(
            store.bluesky_client_key().await.expect("read"),
            Some(b"first".to_vec()),
            "a second start keeps the first key"
        );
        store
            .replace_bluesky_client_key(b"re-wrapped")
            .await
            .expect("replace");
        assert_eq!(
            store.bluesky_client_key().await.expect("read"),
            Some(b"re-wrapped".to_vec())
        );

        let app = |server: &str, client: &str| OAuthAppRecord {
            server: server.to_owned(),
            redirect_uri: "http://127.0.0.1:8080/oauth/callback".to_owned(),
            client_id: client.to_owned(),
            sealed_secret: client.as_bytes().to_vec(),
            key_version: 1,
            created_at: now,
        };
        for registered in [
            app("https://b.example", "b1"),
            app("https://a.example", "a1"),
        ] {
            store.put_oauth_app(&registered).await.expect("register");
        }
        let read = store.all_oauth_apps().await.expect("apps");
        let servers: Vec<&str> = read.iter().map(|app| app.server.as_str()).collect();
        assert_eq!(servers, ["https://a.example", "https://b.example"]);

        store
            .settle_oauth_app(&read[0], Some((b"a1 re-wrapped", 2)))
            .await
            .expect("re-wrap");
        // Registered again after it was read: neither re-wrapped nor forgotten.
        store
            .put_oauth_app(&app("https://b.example", "b2"))
            .await
            .expect("register again");
        store
            .settle_oauth_app(&read[1], Some((b"b1 re-wrapped", 2)))
            .await
            .expect("re-wrap");
        store
            .settle_oauth_app(&read[1], None)
            .await
            .expect("forget");
        let now_stored = store.all_oauth_apps().await.expect("apps");
        assert_eq!(now_stored[0].sealed_secret, b"a1 re-wrapped");
        assert_eq!(now_stored[0].key_version, 2);
        assert_eq!(now_stored[1].client_id, "b2");
        assert_eq!(now_stored[1].sealed_secret, b"b2");

        store
            .settle_oauth_app(&now_stored[1], None)
            .await
            .expect("forget");
        assert_eq!(store.all_oauth_apps().await.expect("apps").len(), 1);
    }
);

/// Runs `sql` on the SQLite database in `data`, as an older version (or a tamperer) left it.
async fn raw_sql(data: &std::path::Path, sql: &str) {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", data.join("herald.db").display()))
        .await
        .expect("open database directly");
    sqlx::raw_sql(sql).execute(&pool).await.expect("raw SQL");
    pool.close().await;
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
    let (output, stdout, stderr) = run(herald_for(&dir.path().join("data"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data")));
    (output.status.success(), stdout, stderr)
}
