//! No secret reaches a log line or sits in the database in the clear: a real `herald serve`
//! with debug logging goes through setup, sign-in and token creation, then its logs and its
//! database file are searched for every secret involved.

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use herald::clock::{Clock, SystemClock};
use herald::domain::totp::{TotpSecret, step_at};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::helpers::herald;

const PASSWORD: &str = "granite orchard lullaby 77";

#[tokio::test]
async fn secrets_never_reach_the_logs_or_the_database_in_the_clear() {
    let dir = TempDir::new().expect("temporary directory");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mut server = herald()
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir.path())
        .env("HERALD_LOG_LEVEL", "trace")
        .stderr(Stdio::piped())
        .spawn()
        .expect("herald starts");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "herald did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let enrolment: Value = client
        .get(format!("{base}/api/v1/setup?email=sam@shop.example"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    let secret_text = enrolment["secret"].as_str().expect("secret").to_owned();
    let secret = TotpSecret::from_base32(&secret_text).expect("base32");
    let setup = client
        .post(format!("{base}/api/v1/setup"))
        .json(&json!({
            "organisation": "Shop", "name": "Sam", "email": "sam@shop.example", "password": PASSWORD,
            "enrolment_token": enrolment["enrolment_token"],
            "code": secret.code_at_step(step_at(SystemClock.now())),
        }))
        .send()
        .await
        .expect("request");
    assert_eq!(setup.status(), reqwest::StatusCode::CREATED);
    let cookie = setup.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .split(';')
        .next()
        .expect("cookie")
        .split('=')
        .nth(1)
        .expect("value")
        .to_owned();
    let body: Value = setup.json().await.expect("JSON");
    let csrf = body["csrf_token"].as_str().expect("csrf").to_owned();
    let recovery = body["recovery_codes"][0].as_str().expect("code").to_owned();
    let token: Value = client
        .post(format!("{base}/api/v1/tokens"))
        .header("x-csrf-token", &csrf)
        .json(&json!({ "name": "t", "scopes": ["account:read"], "expires_in_days": 1 }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    let token_secret = token["secret"].as_str().expect("secret").to_owned();
    let wrong = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "email": "sam@shop.example", "password": "typo granite orchard", "code": "123456" }))
        .send()
        .await
        .expect("request");
    assert_eq!(wrong.status(), reqwest::StatusCode::UNAUTHORIZED);

    let _ = std::process::Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let mut logs = String::new();
    server
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut logs)
        .expect("logs");
    server.wait().expect("exits");
    assert!(logs.contains("request answered"), "logging was on: {logs}");

    let database = std::fs::read(dir.path().join("herald.db")).expect("database");
    let wal = std::fs::read(dir.path().join("herald.db-wal")).unwrap_or_default();
    let stored = [database, wal].concat();
    let secrets = [
        PASSWORD,
        "typo granite orchard",
        &secret_text,
        &cookie,
        &recovery,
        &token_secret,
    ];
    for secret in secrets {
        assert!(!logs.contains(secret), "a secret reached the logs");
        assert!(
            !contains(&stored, secret.as_bytes()),
            "a secret is stored in the clear"
        );
    }
    // The CSRF token is stored beside its session (it is useless without the cookie), but it
    // is never logged.
    assert!(!logs.contains(&csrf));
    assert!(
        !contains(&stored, secret.as_bytes()),
        "the raw TOTP secret is stored in the clear"
    );
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}
