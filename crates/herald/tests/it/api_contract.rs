//! The API keeps the promises of its OpenAPI document: schemathesis (PyPI, 4.x) generates
//! requests from the document, valid and invalid, and checks every answer: no server error,
//! only documented statuses, content types and headers, bodies that match their schemas,
//! invalid input refused and valid input accepted, and authentication never ignored.
//!
//! It runs against a real Herald on SQLite and on PostgreSQL, as a token with every scope, as
//! a token of each single scope, and as a signed-in browser session. The figures (operations
//! and cases) are printed; any failure fails the test with schemathesis' own report.
//! `crates/herald/tests/schemathesis.toml` lists the few rejections a schema cannot express.
//!
//! Needs the `st` command (`pip install schemathesis`), or `HERALD_SCHEMATHESIS` naming it.

use std::path::{Path, PathBuf};
use std::process::Command;

use herald::clock::ManualClock;
use herald::domain::access::Scope;
use jiff::SignedDuration;
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::helpers::{TestApp, postgres_url, skip_or_fail, spawn_app_with_clock};
use crate::people::{Person, code, set_up};

/// Cases per operation for the token with every scope and for the session.
const EXAMPLES: u32 = 40;
/// Cases per operation for each single-scope token: enough to see each refusal.
const EXAMPLES_PER_SCOPE: u32 = 4;
/// The phases of a single-scope run. Whether a scope lets an operation through does not depend
/// on the input, so the coverage phase (thousands of boundary cases per run, whatever
/// `--max-examples` says) and the stateful one would only repeat the every-scope run's work, nine
/// times over: with them, the single-scope runs took half of the contract test's time.
const SCOPE_PHASES: &str = "examples,fuzzing";

/// Connecting an account reaches the network's server named in the body: made-up names would
/// be looked up beyond this machine, which tests never do. Only a session may connect (the
/// token runs keep the operation and see it refused); `tests/it/oauth.rs` and `outbound.rs`
/// drive it against local fakes.
const REACHES_OUT: &str = "PUT /api/v1/accounts/{id}/connection";

/// Who calls in one test: the tokens, or the browser sessions. Each test has a Herald of its
/// own, so the four (two kinds of caller, two databases) run side by side rather than one
/// database's runs one after another.
#[derive(Debug, Clone, Copy)]
enum Callers {
    Tokens,
    Sessions,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_on_sqlite_for_tokens() {
    on_sqlite(Callers::Tokens).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_on_sqlite_for_sessions() {
    on_sqlite(Callers::Sessions).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_on_postgres_for_tokens() {
    on_postgres(Callers::Tokens).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_on_postgres_for_sessions() {
    on_postgres(Callers::Sessions).await;
}

async fn on_sqlite(callers: Callers) {
    let Some(st) = schemathesis() else { return };
    check_contract(&st, None, "sqlite", callers).await;
}

async fn on_postgres(callers: Callers) {
    let Some(st) = schemathesis() else { return };
    let Some(url) = postgres_url().await else {
        return;
    };
    check_contract(&st, Some(url), "postgres", callers).await;
}

/// The schemathesis command, or `None` after skipping (or failing, when every test must run).
fn schemathesis() -> Option<PathBuf> {
    let named = std::env::var_os("HERALD_SCHEMATHESIS").map(PathBuf::from);
    let candidate = named.unwrap_or_else(|| PathBuf::from("st"));
    let answers = Command::new(&candidate)
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !answers {
        skip_or_fail(
            "schemathesis is not installed (`pip install schemathesis`, or set HERALD_SCHEMATHESIS)",
        );
        return None;
    }
    Some(candidate)
}

async fn check_contract(st: &Path, database: Option<String>, backend: &str, callers: Callers) {
    let clock = ManualClock::new(jiff::Timestamp::from_second(1_800_000_000).expect("time"));
    let app = spawn_app_with_clock(
        |config| config.database.url = database.map(SecretString::from),
        std::sync::Arc::new(clock.clone()),
    )
    .await;
    let owner = set_up(&app, &clock).await;
    seed(&app, &owner).await;
    let document: Value = app
        .get("/api/v1/openapi.json")
        .await
        .json()
        .await
        .expect("the document");
    let step_ups = step_up_operations(&document);
    let reports = tempfile::TempDir::new().expect("report directory");

    match callers {
        Callers::Tokens => by_tokens(st, &app, &owner, reports.path(), backend).await,
        Callers::Sessions => {
            by_sessions(st, &app, &clock, &owner, &step_ups, reports.path(), backend).await;
        }
    }
}

/// A token with every scope, then a token of each single scope.
async fn by_tokens(st: &Path, app: &TestApp, owner: &Person, reports: &Path, backend: &str) {
    let every_scope: Vec<&str> = Scope::ALL.iter().map(|scope| scope.as_str()).collect();
    let token = new_token(app, owner, &every_scope).await;
    let mut runs = vec![Run::new("a token with every scope", EXAMPLES).token(&token)];
    for scope in Scope::ALL {
        let token = new_token(app, owner, &[scope.as_str()]).await;
        let who = format!("a {} token", scope.as_str());
        runs.push(
            Run::new(&who, EXAMPLES_PER_SCOPE)
                .token(&token)
                .phases(SCOPE_PHASES),
        );
    }
    for run in runs {
        run.execute(st, app, reports, backend);
    }
}

/// A signed-in browser session, then the operations that ask for the second factor again.
async fn by_sessions(
    st: &Path,
    app: &TestApp,
    clock: &ManualClock,
    owner: &Person,
    step_ups: &[String],
    reports: &Path,
    backend: &str,
) {
    // The session, without signing itself out, then the operations that ask for a second
    // factor again in a session of its own: five wrong codes in a row end every session.
    let session = sign_in(app, clock, owner).await;
    let own_sign_out = [
        "POST /api/v1/auth/logout",
        "POST /api/v1/auth/logout-everywhere",
        "DELETE /api/v1/me/sessions/{id}",
    ];
    let mut browser = Run::new("a browser session", EXAMPLES).session(&session);
    let left_out = own_sign_out
        .iter()
        .copied()
        .chain(step_ups.iter().map(String::as_str))
        .chain([REACHES_OUT]);
    for name in left_out {
        browser = browser.exclude(name);
    }
    browser.execute(st, app, reports, backend);

    let session = sign_in(app, clock, owner).await;
    let who = "a browser session asked for its code again";
    let mut stepping_up = Run::new(who, EXAMPLES_PER_SCOPE * 2).session(&session);
    for name in step_ups.iter().filter(|name| *name != REACHES_OUT) {
        stepping_up = stepping_up.include(name);
    }
    stepping_up.execute(st, app, reports, backend);
}

/// One social account and one draft on it, made through the API as the owner would, so that
/// generated ids (small numbers come often) meet real ones.
async fn seed(app: &TestApp, owner: &Person) {
    let account = crate::accounts::new_account(app, owner, "@sunnycafe", owner.id).await;
    let response = owner
        .post(
            app,
            "/api/v1/posts",
            json!({ "account_id": account, "text": "Fresh croissants from 7 tomorrow." }),
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{}",
        response.text().await.unwrap_or_default()
    );
}

async fn new_token(app: &TestApp, owner: &Person, scopes: &[&str]) -> String {
    let response = owner
        .post(
            app,
            "/api/v1/tokens",
            json!({ "name": format!("schemathesis, {} scopes", scopes.len()), "scopes": scopes, "expires_in_days": 7 }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.expect("token");
    body["secret"].as_str().expect("secret").to_owned()
}

/// A fresh session of `person`: its session cookie's value and its CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

async fn sign_in(app: &TestApp, clock: &ManualClock, person: &Person) -> Session {
    // Each authenticator code is good once.
    clock.advance(SignedDuration::from_secs(30));
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({
            "email": person.email,
            "password": person.password,
            "code": code(&person.secret, clock),
        }))
        .send()
        .await
        .expect("sign-in");
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok()?.split(';').next())
        .find_map(|pair| pair.strip_prefix("herald_session="))
        .expect("a session cookie")
        .to_owned();
    let body: Value = response.json().await.expect("session");
    Session {
        cookie,
        csrf: body["csrf_token"].as_str().expect("csrf").to_owned(),
    }
}

/// The operations whose body carries a `code`: in a session they ask for the member's second
/// factor again (or are sign-in and setup, which take one too).
fn step_up_operations(document: &Value) -> Vec<String> {
    let schemas = &document["components"]["schemas"];
    let mut names = Vec::new();
    for (path, operations) in document["paths"].as_object().expect("paths") {
        for (method, operation) in operations.as_object().expect("operations") {
            let mut schema = &operation["requestBody"]["content"]["application/json"]["schema"];
            if let Some(reference) = schema["$ref"].as_str() {
                let name = reference.rsplit('/').next().unwrap_or_default();
                schema = &schemas[name];
            }
            if schema["properties"].get("code").is_some() {
                names.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    assert!(
        names.len() >= 5,
        "the second-factor operations were not found: {names:?}"
    );
    names
}

/// One schemathesis run: as whom, how many cases per operation, which operations.
struct Run {
    who: String,
    examples: u32,
    arguments: Vec<String>,
    /// The `[auth.openapi.…]` section naming the credential, so that schemathesis can also
    /// try each operation without it.
    auth: String,
}

impl Run {
    fn new(who: &str, examples: u32) -> Run {
        Run {
            who: who.to_owned(),
            examples,
            arguments: Vec::new(),
            auth: String::new(),
        }
    }

    fn token(mut self, secret: &str) -> Run {
        self.auth = format!("[auth.openapi.token]\nbearer = \"{secret}\"\n");
        self
    }

    fn session(mut self, session: &Session) -> Run {
        self.auth = format!("[auth.openapi.session]\napi_key = \"{}\"\n", session.cookie);
        self.arguments.extend([
            "--header".to_owned(),
            format!("X-CSRF-Token: {}", session.csrf),
        ]);
        self
    }

    fn phases(mut self, phases: &str) -> Run {
        self.arguments
            .extend(["--phases".to_owned(), phases.to_owned()]);
        self
    }

    fn include(mut self, name: &str) -> Run {
        self.arguments
            .extend(["--include-name".to_owned(), name.to_owned()]);
        self
    }

    fn exclude(mut self, name: &str) -> Run {
        self.arguments
            .extend(["--exclude-name".to_owned(), name.to_owned()]);
        self
    }

    /// Runs schemathesis, prints its figures, and fails with its report on any failure.
    fn execute(self, st: &Path, app: &TestApp, reports: &Path, backend: &str) {
        let report = reports.join(format!("{}.json", self.who.replace(' ', "-")));
        let seed = std::env::var("HERALD_SCHEMATHESIS_SEED").unwrap_or_else(|_| "1".to_owned());
        let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis.toml");
        let shared = std::fs::read_to_string(shared).expect("tests/schemathesis.toml");
        let config = reports.join(format!("{}.toml", self.who.replace(' ', "-")));
        std::fs::write(&config, format!("{}\n{shared}", self.auth)).expect("run's settings");
        let output = Command::new(st)
            .arg("--config-file")
            .arg(&config)
            .arg("run")
            .arg(app.url("/api/v1/openapi.json"))
            .args([
                "--checks",
                "all",
                "--no-color",
                "--output-truncate",
                "false",
            ])
            .args([
                "--max-examples",
                &self.examples.to_string(),
                "--seed",
                &seed,
            ])
            .args(["--generation-database", "none", "--request-timeout", "10"])
            // Generating data slowly on a busy machine is not a finding about the API.
            .args(["--suppress-health-check", "too_slow"])
            .args(["--report", "json", "--report-json-path"])
            .arg(&report)
            .args(&self.arguments)
            .current_dir(reports)
            .output()
            .expect("schemathesis runs");
        let printed = String::from_utf8_lossy(&output.stdout);
        let summary: Value = std::fs::read(&report)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_else(|| {
                panic!(
                    "schemathesis wrote no report as {}:\n{printed}\n{}",
                    self.who,
                    String::from_utf8_lossy(&output.stderr)
                )
            });
        let operations = &summary["operations"]["tested"];
        let cases = &summary["test_cases"]["generated"];
        #[allow(clippy::print_stderr)] // The figures belong in the test log.
        {
            eprintln!(
                "schemathesis on {backend} as {}: {operations} operations, {cases} cases",
                self.who
            );
        }
        assert!(
            output.status.success()
                && summary["failures"]
                    .as_array()
                    .is_some_and(|failures| failures.is_empty())
                && summary["errors"]
                    .as_array()
                    .is_some_and(|errors| errors.is_empty()),
            "schemathesis on {backend} as {} found problems:\n{printed}",
            self.who
        );
        assert!(
            operations.as_u64().is_some_and(|tested| tested > 0),
            "schemathesis tested nothing as {}",
            self.who
        );
    }
}
