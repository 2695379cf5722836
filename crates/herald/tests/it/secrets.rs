//! No secret reaches a log line or sits in the database in the clear: a real `herald serve`
//! with trace logging goes through setup, sign-in, token creation, and storing and revealing
//! an account's network credentials; then its logs and a dump of its whole database (the
//! SQLite file, or every table of its PostgreSQL schema) are searched for every secret.

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use herald::clock::{Clock, SystemClock};
use herald::domain::totp::{TotpSecret, step_at};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::helpers::{herald, postgres_url};

const PASSWORD: &str = "granite orchard lullaby 77";
/// What the gatekeeper stores for the company's social account.
const NETWORK_SECRETS: [(&str, &str); 5] = [
    ("login_username", "sunny-login-name-marker"),
    ("login_password", "network-password-marker-5150"),
    ("totp_seed", "JBSWY3DPEHPK3PXPJBSWY3DPEH"),
    ("recovery_codes", "rc-marker-1234 rc-marker-5678"),
    ("notes", "notes-marker-the-safe-is-behind-the-till"),
];

#[tokio::test]
async fn secrets_never_reach_the_logs_or_the_sqlite_database_in_the_clear() {
    let dir = TempDir::new().expect("temporary directory");
    let (logs, secrets) = exercise(&dir, None).await;
    let database = std::fs::read(dir.path().join("herald.db")).expect("database");
    let wal = std::fs::read(dir.path().join("herald.db-wal")).unwrap_or_default();
    assert_nowhere(&logs, &[database, wal].concat(), &secrets);
}

#[tokio::test]
async fn secrets_never_reach_the_logs_or_the_postgresql_database_in_the_clear() {
    let Some(url) = postgres_url().await else {
        return;
    };
    let dir = TempDir::new().expect("temporary directory");
    let (logs, secrets) = exercise(&dir, Some(&url)).await;
    let dump = dump_postgres(&url).await;
    assert!(
        dump.len() > 1000 && contains(&dump, b"account.credential_revealed"),
        "the dump holds the database"
    );
    assert_nowhere(&logs, &dump, &secrets);
}

/// Every row of every table in the test's schema as PostgreSQL's text form (binary columns
/// as hex, which `assert_nowhere` also searches for).
async fn dump_postgres(url: &str) -> Vec<u8> {
    let pool = sqlx::PgPool::connect(url).await.expect("PostgreSQL");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()",
    )
    .fetch_all(&pool)
    .await
    .expect("tables");
    assert!(tables.iter().any(|table| table == "account_secrets"));
    let mut dump = Vec::new();
    for table in tables {
        let rows: Vec<String> =
            sqlx::query_scalar(&format!("SELECT CAST(t AS text) FROM \"{table}\" t"))
                .fetch_all(&pool)
                .await
                .expect("rows");
        for row in rows {
            dump.extend_from_slice(row.as_bytes());
            dump.push(b'\n');
        }
    }
    pool.close().await;
    dump
}

/// Runs a real `herald serve` through everything that handles a secret; returns its logs and
/// every secret it saw.
async fn exercise(dir: &TempDir, database_url: Option<&str>) -> (String, Vec<String>) {
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
        .envs(database_url.map(|url| ("HERALD_DATABASE_URL", url)))
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("herald starts");
    // The setup link is printed on standard output, as an owner would see it.
    let stdout = server.stdout.take().expect("stdout");
    let (link_tx, link_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("/setup?code=") {
                let _ = link_tx.send(crate::helpers::setup_link_in(&line));
            }
        }
    });
    // Trace logging fills a pipe's buffer quickly; read it as it comes so the server never
    // blocks on writing a log line.
    let mut stderr = server.stderr.take().expect("stderr");
    let log_reader = std::thread::spawn(move || {
        let mut logs = String::new();
        stderr.read_to_string(&mut logs).map(|_| logs)
    });
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

    let setup_link = link_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("herald prints the setup link");
    let setup_code = crate::helpers::setup_code_in(&setup_link);
    // The owner opens the link first, as they would: its code must not reach the logs either.
    let page = client.get(&setup_link).send().await.expect("request");
    assert_eq!(page.status(), reqwest::StatusCode::OK);
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
            "setup_code": setup_code,
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
        .json(&json!({ "name": "t", "scopes": ["me:read"], "expires_in_days": 1 }))
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

    let me: Value = client
        .get(format!("{base}/api/v1/me"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    let account: Value = client
        .post(format!("{base}/api/v1/accounts"))
        .header("x-csrf-token", &csrf)
        .json(&json!({ "network": "x", "handle": "@sunnycafe", "display_name": "Sunny", "avatar_colour": "#1f5f5b", "gatekeeper_id": me["user"]["id"] }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    let account_path = format!("{base}/api/v1/accounts/{}", account["id"]);
    for (field, value) in NETWORK_SECRETS {
        let stored = client
            .put(format!("{account_path}/credentials/{field}"))
            .header("x-csrf-token", &csrf)
            .json(&json!({ "value": value }))
            .send()
            .await
            .expect("request");
        assert_eq!(stored.status(), reqwest::StatusCode::OK, "{field}");
    }
    let second_recovery = body["recovery_codes"][1].as_str().expect("code").to_owned();
    let revealed: Value = client
        .post(format!("{account_path}/credentials/login_password/reveal"))
        .header("x-csrf-token", &csrf)
        .json(&json!({ "code": second_recovery }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    assert_eq!(revealed["value"], NETWORK_SECRETS[1].1, "the reveal worked");

    let _ = std::process::Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let logs = log_reader
        .join()
        .expect("log reader")
        .expect("logs are text");
    server.wait().expect("exits");
    assert!(logs.contains("request answered"), "logging was on: {logs}");
    let mut secrets = vec![
        PASSWORD.to_owned(),
        "typo granite orchard".to_owned(),
        secret_text,
        cookie,
        recovery,
        second_recovery,
        token_secret,
        setup_code,
    ];
    secrets.extend(NETWORK_SECRETS.iter().map(|(_, value)| (*value).to_owned()));
    // The CSRF token is derived from the session cookie, so it is stored nowhere either.
    secrets.push(csrf);
    (logs, secrets)
}

fn assert_nowhere(logs: &str, stored: &[u8], secrets: &[String]) {
    for secret in secrets {
        assert!(!logs.contains(secret.as_str()), "a secret reached the logs");
        assert!(
            !contains(stored, secret.as_bytes()),
            "a secret is stored in the clear"
        );
        assert!(
            !contains(stored, hex::encode(secret).as_bytes()),
            "a secret is stored in the clear, hex-encoded"
        );
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}
