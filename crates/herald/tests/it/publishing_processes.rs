//! The publisher across real `herald serve` processes: a `kill -9` in the middle of
//! publishing, then a restart, loses nothing and doubles nothing; and two processes sharing one
//! PostgreSQL database share the work without ever publishing a post twice.

use herald::domain::ids::{AccountId, PostId};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use herald::clock::{Clock, ManualClock, SystemClock};
use herald::domain::posts::PostState;
use herald::jobs::PUBLISH_KIND;
use herald::store::Store;
use jiff::SignedDuration;
use networks::fake::{FakeServer, FakeState, Faults};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::helpers::{herald, postgres_url, spawn_app_with_clock, spawn_sqlite_app_with_clock};
use crate::people::{invite_and_join, set_up};
use crate::publishing::scheduled_in_store;

const TOKEN: &str = "fake-x-token-for-processes";

/// `herald serve` on a free port with `env`, once it has said where it listens.
struct Served {
    child: Child,
    /// Everything the process wrote to standard error, for the message of a failed test.
    log: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Served {
    fn start(data_dir: &Path, env: &[(&str, String)]) -> Served {
        let mut command = herald();
        command
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--log-format",
                "json",
                "--data-dir",
            ])
            .arg(data_dir)
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("herald starts");
        let stderr = child.stderr.take().expect("stderr");
        let (ready_tx, ready) = std::sync::mpsc::channel();
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = log.clone();
        std::thread::spawn(move || {
            // Read to the end whatever the bytes are, so the process never blocks on a full pipe.
            for line in BufReader::new(stderr).split(b'\n').map_while(Result::ok) {
                let line = String::from_utf8_lossy(&line).into_owned();
                if serde_json::from_str::<Value>(&line).is_ok_and(|event| event["addr"].is_string())
                {
                    let _ = ready_tx.send(());
                }
                if let Ok(mut kept) = kept.lock() {
                    kept.push(line);
                }
            }
        });
        if ready.recv_timeout(Duration::from_secs(30)).is_err() {
            let _ = child.kill();
            let _ = child.wait();
            panic!("herald serve did not start");
        }
        Served { child, log }
    }

    /// The last `count` lines the process logged at warning level or above.
    fn complaints(&self, count: usize) -> String {
        let lines = self
            .log
            .lock()
            .map(|lines| lines.clone())
            .unwrap_or_default();
        let worrying: Vec<&String> = lines
            .iter()
            .filter(|line| line.contains("\"WARN\"") || line.contains("\"ERROR\""))
            .collect();
        let start = worrying.len().saturating_sub(count);
        worrying[start..]
            .iter()
            .map(|line| line.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// SIGKILL: no shutdown, no cleanup, whatever was in flight is cut off.
    fn kill_9(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sets up an owner, a gatekeeper and an X account connected to `fake` in `data_dir` (and
/// `database`, if given), with `count` approved posts scheduled two seconds from now; then
/// stops that Herald. Returns the post ids and texts.
async fn prepare(
    data_dir: &Path,
    database: Option<&str>,
    fake: &FakeServer,
    count: usize,
) -> HashMap<PostId, String> {
    // Real time, held still while the scene is set (the TOTP codes need a clock to read).
    let clock = ManualClock::new(SystemClock.now());
    let (dir, url, on_postgres) = (data_dir.to_owned(), fake.url(), database.map(str::to_owned));
    let sqlite = on_postgres.is_none();
    let adjust = move |config: &mut herald::config::Config| {
        config.data_dir = dir;
        config.networks.x_api_url = url;
        config.database.url = on_postgres.map(Into::into);
    };
    // The processes started later are told the database explicitly: SQLite in the data
    // directory unless a PostgreSQL URL is given, whatever HERALD_TEST_BACKEND says.
    let app = if sqlite {
        spawn_sqlite_app_with_clock(adjust, Arc::new(clock.clone())).await
    } else {
        spawn_app_with_clock(adjust, Arc::new(clock.clone())).await
    };
    let owner = set_up(&app, &clock).await;
    let keeper = invite_and_join(&app, &clock, &owner, "keeper@sunny.example", "member").await;
    let created: Value = owner
        .post(
            &app,
            "/api/v1/accounts",
            json!({ "network": "x", "handle": "@herald_test", "display_name": "Sunny Café",
                    "avatar_colour": "#1f5f5b", "gatekeeper_id": keeper.id }),
        )
        .await
        .json()
        .await
        .expect("JSON");
    let account = AccountId::new(created["id"].as_i64().expect("account"));
    let connected = keeper
        .send(
            &app,
            reqwest::Method::PUT,
            &format!("/api/v1/accounts/{account}/connection"),
            Some(json!({ "method": "access_token", "token": TOKEN })),
        )
        .await;
    assert_eq!(connected.status(), reqwest::StatusCode::OK);
    let at = clock
        .now()
        .saturating_add(SignedDuration::from_secs(2))
        .expect("time");
    let mut posts = HashMap::new();
    for index in 0..count {
        let text = format!("Fresh loaves, batch {index}.");
        let now = clock.now();
        let id = scheduled_in_store(&app.store, account, keeper.id, &text, at, 8, now).await;
        posts.insert(id, text);
    }
    app.stop().await;
    posts
}

fn serve_env(fake: &FakeServer, database: Option<&str>) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("HERALD_NETWORKS_X_API_URL", fake.url()),
        ("HERALD_NETWORKS_REQUEST_TIMEOUT_SECONDS", "1".to_owned()),
        ("HERALD_NETWORKS_ALLOW_PRIVATE_ADDRESSES", "true".to_owned()),
        ("HERALD_JOBS_LEASE_SECONDS", "3".to_owned()),
        ("HERALD_JOBS_CONCURRENCY", "8".to_owned()),
        ("HERALD_JOBS_POLL_INTERVAL_MS", "20".to_owned()),
        ("HERALD_LOG_LEVEL", "info".to_owned()),
    ];
    if let Some(url) = database {
        env.push(("HERALD_DATABASE_URL", url.to_owned()));
    }
    env
}

/// Waits until `done` says so of the store, for at most `within`.
async fn wait_until<F>(store: &Store, servers: &[&Served], within: Duration, what: &str, done: F)
where
    F: Fn(u64, &[(String, i64)]) -> bool,
{
    let started = Instant::now();
    loop {
        let pending = store.pending_jobs(PUBLISH_KIND).await.expect("jobs");
        let counts = store.post_counts().await.expect("counts");
        if done(pending, &counts) {
            return;
        }
        if started.elapsed() >= within {
            let complaints: Vec<String> =
                servers.iter().map(|served| served.complaints(20)).collect();
            let jobs = store
                .pending_jobs_of(PUBLISH_KIND, 20)
                .await
                .unwrap_or_default();
            panic!(
                "{what}: {pending} jobs left, posts {counts:?}; jobs {jobs:?}; the servers said:\n{}",
                complaints.join("\n---\n")
            );
        }
        // Often enough that the kill lands while most posts are still to go.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn published(counts: &[(String, i64)]) -> i64 {
    counts
        .iter()
        .find(|(state, _)| state == "published")
        .map_or(0, |(_, count)| *count)
}

/// Every post published exactly once on the network, or failed or unconfirmed with a reason.
async fn check_exactly_once(store: &Store, fake: &FakeServer, posts: &HashMap<PostId, String>) {
    let held = fake.state.posts();
    for (id, text) in posts {
        let post = store.post(*id).await.expect("read").expect("post");
        let copies = held.iter().filter(|post| &post.text == text).count();
        match post.state {
            PostState::Published => assert_eq!(copies, 1, "post {id} published {copies} times"),
            PostState::Failed => {
                assert_eq!(copies, 0, "failed post {id} is on the network");
                assert!(post.problem.is_some());
            }
            PostState::Unconfirmed => {
                assert!(copies <= 1, "post {id} is on the network {copies} times");
                assert!(post.problem.is_some());
            }
            other => panic!("post {id} was left {other:?}"),
        }
    }
    assert!(
        held.len() <= posts.len(),
        "the network holds more posts than were written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_in_the_middle_of_publishing_loses_nothing_and_doubles_nothing() {
    let fake = networks::fake::x::start(FakeState::new(TOKEN, 9))
        .await
        .expect("fake X");
    let temp = TempDir::new().expect("temporary directory");
    let data_dir = temp.path().join("data");
    let posts = prepare(&data_dir, None, &fake, 200).await;
    // Some answers are lost after the post was made, so attempts are in flight and some
    // posts unconfirmed when the process dies.
    fake.state.set_faults(Faults {
        lost_after: 0.05,
        hang: Duration::from_millis(1500),
        ..Faults::default()
    });
    let store = Store::open_sqlite(&data_dir.join("herald.db"), 2, Duration::from_secs(5))
        .await
        .expect("the same database");

    let first = Served::start(&data_dir, &serve_env(&fake, None));
    wait_until(
        &store,
        &[&first],
        Duration::from_secs(120),
        "publishing did not start",
        |_, counts| published(counts) >= 30,
    )
    .await;
    first.kill_9();
    let at_kill = store.post_counts().await.expect("counts");
    assert!(
        published(&at_kill) < 200,
        "killed before the end: {at_kill:?}"
    );

    let second = Served::start(&data_dir, &serve_env(&fake, None));
    wait_until(
        &store,
        &[&second],
        Duration::from_secs(400),
        "publishing did not finish",
        |pending, _| pending == 0,
    )
    .await;
    check_exactly_once(&store, &fake, &posts).await;
    // The attempts the kill cut off were closed by the attempts that took over from them.
    let mut interrupted = 0;
    for id in posts.keys() {
        for attempt in store.post_attempts(*id).await.expect("attempts") {
            assert!(
                attempt.outcome.is_some(),
                "post {id}: {attempt:?} never ended"
            );
            interrupted += usize::from(attempt.outcome.as_deref() == Some("interrupted"));
        }
    }
    #[allow(clippy::print_stderr)] // The figure belongs in the test log.
    {
        eprintln!("{interrupted} attempts were cut off by the kill");
    }
    let counts = store.post_counts().await.expect("counts");
    assert!(
        published(&counts) >= 190,
        "{counts:?} (at the kill: {at_kill:?})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_postgres_share_the_work_and_never_publish_twice() {
    let Some(database) = postgres_url().await else {
        return;
    };
    let fake = networks::fake::x::start(FakeState::new(TOKEN, 10))
        .await
        .expect("fake X");
    let temp = TempDir::new().expect("temporary directory");
    let data_dir = temp.path().join("data");
    let posts = prepare(&data_dir, Some(&database), &fake, 400).await;
    let store = Store::open_postgres(&database.clone().into(), 2, Duration::from_secs(5))
        .await
        .expect("PostgreSQL");

    let env = serve_env(&fake, Some(&database));
    let one = Served::start(&data_dir, &env);
    let two = Served::start(&data_dir, &env);
    wait_until(
        &store,
        &[&one, &two],
        Duration::from_secs(300),
        "publishing did not finish",
        |pending, _| pending == 0,
    )
    .await;
    check_exactly_once(&store, &fake, &posts).await;
    let counts = store.post_counts().await.expect("counts");
    assert_eq!(published(&counts), 400, "{counts:?}");
    // Both processes took part: each attempt names its worker.
    let mut workers = std::collections::BTreeSet::new();
    for id in posts.keys() {
        for attempt in store.post_attempts(*id).await.expect("attempts") {
            workers.insert(attempt.worker);
        }
    }
    assert_eq!(workers.len(), 2, "both processes published: {workers:?}");
}
