//! Password hygiene for network logins: breached-password data imported with
//! `herald breaches import` and checked locally, and passwords generated to each network's
//! rules for the gatekeeper only.

use herald::domain::ids::AccountId;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use herald::clock::ManualClock;
use jiff::Timestamp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::accounts::new_account;
use crate::helpers::{TestApp, herald_for, run, spawn_app_with_clock};
use crate::people::{Person, invite_and_join, set_up};

/// In the sample (a line of Pwned Passwords' SHA-1 format).
const BREACHED: &str = "SunnyCafe2019";
const UNIQUE: &str = "a long and unique passphrase for the bakery";

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pwned-passwords-sample.txt")
}

async fn start(dir: &TempDir, clock: &ManualClock) -> TestApp {
    let data = dir.path().join("data");
    spawn_app_with_clock(
        move |config| config.data_dir = data,
        Arc::new(clock.clone()),
    )
    .await
}

fn import(dir: &TempDir, source: &Path) -> (bool, String, String) {
    let (output, stdout, stderr) = run(herald_for(&dir.path().join("data"))
        .args(["breaches", "import"])
        .arg(source)
        .arg("--data-dir")
        .arg(dir.path().join("data")));
    (output.status.success(), stdout, stderr)
}

async fn store_password(app: &TestApp, person: &Person, id: AccountId, value: &str) -> Value {
    let response = person
        .send(
            app,
            Method::PUT,
            &format!("/api/v1/accounts/{id}/credentials/login_password"),
            Some(json!({ "value": value })),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("JSON")
}

async fn posture(app: &TestApp, person: &Person, id: AccountId) -> Value {
    let response = person
        .get(app, &format!("/api/v1/accounts/{id}/posture"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("JSON")
}

fn clock() -> ManualClock {
    ManualClock::new(Timestamp::from_second(1_800_000_000).expect("time"))
}

#[tokio::test]
async fn importing_breach_data_marks_stored_breached_passwords_and_checks_new_ones() {
    let dir = TempDir::new().expect("temporary directory");
    let clock = clock();
    let app = start(&dir, &clock).await;
    let owner = set_up(&app, &clock).await;
    let cafe = new_account(&app, &owner, "@sunnycafe", owner.id).await;
    let bakery = new_account(&app, &owner, "@sunnybakery", owner.id).await;
    let before = store_password(&app, &owner, cafe, BREACHED).await;
    assert!(
        before["breached"].is_null(),
        "no data imported yet: {before}"
    );
    store_password(&app, &owner, bakery, UNIQUE).await;

    let (ok, stdout, stderr) = import(&dir, &sample());
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("imported 99 breached password hashes"),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("accounts {cafe})")), "{stdout}");
    assert!(!stdout.contains(BREACHED) && !stderr.contains(BREACHED));

    let cafe_posture = posture(&app, &owner, cafe).await;
    assert_eq!(cafe_posture["password"]["breached"], true, "{cafe_posture}");
    assert_eq!(cafe_posture["rotate_now"], json!(["breached"]));
    let told = crate::accounts::notifications(&app, &owner).await;
    assert_eq!(told.len(), 1, "the gatekeeper is told once: {told:?}");
    assert!(
        told[0]["body"]
            .as_str()
            .expect("body")
            .contains("appears in breached-password data")
    );
    let bakery_posture = posture(&app, &owner, bakery).await;
    assert_eq!(bakery_posture["password"]["breached"], false);
    assert_eq!(bakery_posture["rotate_now"], json!([]));

    // The server sees the import at once: a breached password stored now is caught.
    let stored = store_password(&app, &owner, bakery, "Summer2024!").await;
    assert_eq!(stored["breached"], true);
    assert_eq!(
        posture(&app, &owner, bakery).await["rotate_now"],
        json!(["breached"])
    );
    // A fresh password answers the request, and who did it is recorded.
    let stored = store_password(&app, &owner, cafe, "another long unique passphrase").await;
    assert_eq!(stored["breached"], false);
    assert_eq!(posture(&app, &owner, cafe).await["rotate_now"], json!([]));
    let rotations: Value = owner
        .get_json(&app, &format!("/api/v1/accounts/{cafe}/rotations"))
        .await;
    assert_eq!(rotations[0]["reason"], "breached");
    assert_eq!(rotations[0]["done_by"], owner.id.get());
}

#[tokio::test]
async fn a_malformed_breach_file_is_refused_naming_the_line_and_the_earlier_import_stays() {
    let dir = TempDir::new().expect("temporary directory");
    let clock = clock();
    let app = start(&dir, &clock).await;
    let owner = set_up(&app, &clock).await;
    let (ok, _, stderr) = import(&dir, &sample());
    assert!(ok, "{stderr}");

    let sample_text = std::fs::read_to_string(sample()).expect("sample");
    let mut lines: Vec<&str> = sample_text.lines().take(2).collect();
    lines.push("my-old-password");
    let malformed = dir.path().join("pwned.txt");
    std::fs::write(&malformed, lines.join("\n")).expect("write");
    let (ok, _, stderr) = import(&dir, &malformed);
    assert!(!ok, "a malformed file is refused");
    assert!(stderr.contains("pwned.txt, line 3"), "{stderr}");
    assert!(stderr.contains("earlier import"), "{stderr}");
    assert!(
        !stderr.contains("my-old-password"),
        "the line is not echoed"
    );

    let missing = dir.path().join("nowhere.txt");
    let (ok, _, stderr) = import(&dir, &missing);
    assert!(!ok);
    assert!(
        stderr.contains("cannot read") && stderr.contains("nowhere.txt"),
        "{stderr}"
    );

    let id = new_account(&app, &owner, "@sunnycafe", owner.id).await;
    let stored = store_password(&app, &owner, id, BREACHED).await;
    assert_eq!(stored["breached"], true, "the first import still answers");
}

#[tokio::test]
async fn only_the_gatekeeper_gets_a_generated_password_to_the_networks_rules() {
    let dir = TempDir::new().expect("temporary directory");
    let clock = clock();
    let app = start(&dir, &clock).await;
    let owner = set_up(&app, &clock).await;
    let keeper = invite_and_join(&app, &clock, &owner, "keeper@sunny.example", "member").await;
    let publisher = invite_and_join(&app, &clock, &owner, "pub@sunny.example", "member").await;
    let outsider = invite_and_join(&app, &clock, &owner, "out@sunny.example", "member").await;
    let created = owner
        .post(
            &app,
            "/api/v1/accounts",
            json!({ "network": "mastodon", "handle": "@sunny@social.example", "display_name": "Sunny", "avatar_colour": "#1f5f5b", "gatekeeper_id": keeper.id }),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = created.json::<Value>().await.expect("JSON")["id"]
        .as_i64()
        .expect("id");
    keeper
        .send(
            &app,
            Method::PUT,
            &format!("/api/v1/accounts/{id}/grants/{}", publisher.id),
            Some(json!({ "level": "publisher" })),
        )
        .await;
    let path = format!("/api/v1/accounts/{id}/password-generator");

    let first: Value = keeper
        .post(&app, &path, json!({}))
        .await
        .json()
        .await
        .expect("JSON");
    let password = first["password"].as_str().expect("password");
    assert_eq!(password.chars().count(), 24);
    assert!(password.chars().any(|c| c.is_ascii_digit()));
    assert!(password.chars().any(|c| !c.is_ascii_alphanumeric()));
    let longest: Value = keeper
        .post(&app, &path, json!({ "length": 72 }))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(longest["password"].as_str().expect("password").len(), 72);
    assert_ne!(longest["password"], first["password"]);

    let too_long = keeper.post(&app, &path, json!({ "length": 100 })).await;
    assert_eq!(too_long.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = too_long.json().await.expect("JSON");
    assert_eq!(
        problem["detail"],
        "for Mastodon, choose a length from 16 to 72 characters"
    );

    for (who, person, status) in [
        ("publisher", &publisher, StatusCode::FORBIDDEN),
        ("owner", &owner, StatusCode::FORBIDDEN),
        ("member without a grant", &outsider, StatusCode::NOT_FOUND),
    ] {
        let response = person.post(&app, &path, json!({})).await;
        assert_eq!(response.status(), status, "{who}");
        let body = response.text().await.expect("body");
        assert!(!body.contains("password\""), "{who} got {body}");
    }
}
