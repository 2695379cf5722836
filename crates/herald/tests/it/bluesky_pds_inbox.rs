//! The inbox against a real Bluesky network on loopback: a PLC directory, a PDS and the
//! AppView that serves notifications (`@atproto/dev-env`'s `TestNetwork`, started by
//! `crates/networks/tests/pds/start-appview.mjs`; its data in a PostgreSQL database of its
//! own, `herald_pds_appview`, in schemas dropped when it stops; and Redis). A customer's account on the PDS mentions the company's
//! account (with a mention facet) and replies to one of its posts (with `reply.root` and
//! `reply.parent`); Herald's read job reads both as their kinds with the sender's handle, and
//! the replies Herald publishes from the inbox land on the PDS threaded under each item.
//!
//! Skipped with a printed reason without Node 22 and the packages (`install.sh`), PostgreSQL
//! (`HERALD_TEST_DATABASE_URL`) or Redis (`REDIS_HOST`, default 127.0.0.1:6379); a failure
//! instead under `HERALD_REQUIRE_ALL_TESTS=1`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use herald::clock::{Clock, ManualClock, SystemClock};
use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with_clock};
use crate::pds;
use crate::people::{Person, set_up};

/// How long the network may take to start (about 10 s on an idle machine; much more on a
/// loaded one) and to index what the PDS sequenced.
const STARTUP: Duration = Duration::from_secs(180);

/// A PLC, a PDS and an AppView, run by Node; dropping it closes the script's stdin, which
/// stops the network and drops its PostgreSQL schemas (killed after a while if it hangs).
struct Network {
    pds: String,
    plc: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
}

impl Drop for Network {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Network {
    /// Waits until the AppView has indexed everything the PDS sequenced.
    async fn sync(&mut self) {
        let stdin = self.stdin.as_mut().expect("the script's stdin");
        stdin.write_all(b"sync\n").expect("ask the network to sync");
        stdin.flush().expect("flush");
        let line = tokio::time::timeout(STARTUP, self.lines.recv())
            .await
            .expect("the AppView did not catch up in time")
            .expect("the network's script ended");
        assert_eq!(line.trim(), r#"{"synced":true}"#, "{line}");
    }
}

/// Starts the network, or returns `None` after printing `SKIPPED: <reason>` when something it
/// needs is missing (a failure instead under `HERALD_REQUIRE_ALL_TESTS=1`).
async fn start() -> Option<Network> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("../networks/tests/pds");
    let dir = std::env::var_os("HERALD_PDS_DIR").map_or_else(|| here.clone(), PathBuf::from);
    let (node, packages, database, redis) = match needs(&dir) {
        Ok(found) => found,
        Err(reason) => {
            if std::env::var("HERALD_REQUIRE_ALL_TESTS").as_deref() == Ok("1") {
                panic!(
                    "HERALD_REQUIRE_ALL_TESTS=1 and the real Bluesky AppView cannot run: {reason}"
                );
            }
            #[expect(
                clippy::print_stderr,
                reason = "the skip must be seen in the test output"
            )]
            {
                eprintln!("SKIPPED: {reason}");
            }
            return None;
        }
    };
    // The AppView's schemas are named after this; bsync allows letters and _ only.
    let schema: String = std::iter::repeat_with(|| char::from(b'a' + rand::random::<u8>() % 26))
        .take(12)
        .collect();
    let mut child = Command::new(node)
        .arg(here.join("start-appview.mjs"))
        .env("HERALD_PDS_DIR", packages)
        .env("DB_POSTGRES_URL", database)
        .env("DB_POSTGRES_SCHEMA", format!("herald_pds_{schema}"))
        .env("REDIS_HOST", redis)
        .env("LOG_ENABLED", "false")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start node");
    let stdout = child.stdout.take().expect("the script's stdout");
    let stdin = child.stdin.take();
    let (send, lines) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    // From here on the guard stops the network however the test ends.
    let mut network = Network {
        pds: String::new(),
        plc: String::new(),
        child,
        stdin,
        lines,
    };
    let line = tokio::time::timeout(STARTUP, network.lines.recv())
        .await
        .expect("the network did not start in time")
        .expect("the network did not start (its error is above)");
    let ready: Value = serde_json::from_str(&line)
        .unwrap_or_else(|error| panic!("the network did not start ({error}): {line:?}"));
    network.pds = ready["pds"].as_str().expect("the PDS's URL").to_owned();
    network.plc = ready["plc"].as_str().expect("the PLC's URL").to_owned();
    Some(network)
}

/// Node and the packages (with `@atproto/dev-env`), PostgreSQL's URL and Redis's address, or
/// why one of them is missing.
fn needs(dir: &Path) -> Result<(PathBuf, PathBuf, String, String), String> {
    let (node, packages) = pds::installed(dir)
        .map_err(|reason| format!("{reason}; run `bash crates/networks/tests/pds/install.sh`"))?;
    let dev_env = packages.join("node_modules/@atproto/dev-env/package.json");
    if !dev_env.is_file() {
        return Err(format!(
            "{} is not installed; run `bash crates/networks/tests/pds/install.sh`",
            dev_env.display()
        ));
    }
    let database = std::env::var("HERALD_TEST_DATABASE_URL").map_err(|_| {
        "HERALD_TEST_DATABASE_URL is not set (the AppView keeps its data in PostgreSQL)".to_owned()
    })?;
    let redis = std::env::var("REDIS_HOST").unwrap_or_else(|_| "127.0.0.1:6379".to_owned());
    std::net::TcpStream::connect_timeout(
        &redis
            .parse()
            .map_err(|_| format!("REDIS_HOST={redis} is not an address and port"))?,
        Duration::from_secs(2),
    )
    .map_err(|error| format!("Redis does not answer at {redis} ({error}); the AppView needs it"))?;
    Ok((node, packages, database, redis))
}

/// A session on the PDS with an account's own password: (DID, access token).
async fn session(pds: &str, handle: &str) -> (String, String) {
    let session: Value = reqwest::Client::new()
        .post(format!("{pds}/xrpc/com.atproto.server.createSession"))
        .json(&json!({ "identifier": handle, "password": pds::ACCOUNT_PASSWORD }))
        .send()
        .await
        .expect("createSession")
        .error_for_status()
        .expect("signed in")
        .json()
        .await
        .expect("session");
    (
        session["did"].as_str().expect("did").to_owned(),
        session["accessJwt"].as_str().expect("accessJwt").to_owned(),
    )
}

/// Posts `record` (an `app.bsky.feed.post`) as the account: its strong ref, `{uri, cid}`.
async fn post(pds: &str, (did, access): &(String, String), mut record: Value) -> Value {
    record["$type"] = json!("app.bsky.feed.post");
    record["createdAt"] = json!(SystemClock.now().to_string());
    let created: Value = reqwest::Client::new()
        .post(format!("{pds}/xrpc/com.atproto.repo.createRecord"))
        .bearer_auth(access)
        .json(&json!({ "repo": did, "collection": "app.bsky.feed.post", "record": record }))
        .send()
        .await
        .expect("createRecord")
        .error_for_status()
        .expect("posted")
        .json()
        .await
        .expect("created");
    json!({ "uri": created["uri"], "cid": created["cid"] })
}

/// Moves the clock past the next inbox sweep until the inbox holds `count` items.
async fn read_until(
    app: &TestApp,
    clock: &ManualClock,
    owner: &Person,
    count: usize,
) -> Vec<Value> {
    let deadline = Instant::now() + STARTUP;
    loop {
        clock.advance(SignedDuration::from_secs(121));
        let page = owner.get_json(app, "/api/v1/inbox?per_page=50").await;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        if items.len() >= count {
            return items;
        }
        assert!(
            Instant::now() < deadline,
            "the inbox never held {count} items: {page}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Replies to an item from the inbox and waits until the reply is published: its text.
async fn reply(app: &TestApp, clock: &ManualClock, owner: &Person, item: i64, text: &str) {
    let sent = owner
        .post(
            app,
            &format!("/api/v1/inbox/{item}/reply"),
            json!({ "text": text }),
        )
        .await;
    assert_eq!(sent.status(), StatusCode::CREATED);
    let sent: Value = sent.json().await.expect("JSON");
    assert_eq!(sent["state"], "scheduled", "{sent}");
    let id = sent["post_id"].as_i64().expect("post");
    clock.advance(SignedDuration::from_secs(2));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let post = owner.get_json(app, &format!("/api/v1/posts/{id}")).await;
        if post["state"] == "published" {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the reply was never published: {post}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_mention_and_a_reply_on_a_real_pds_are_read_into_the_inbox_and_answered_threaded() {
    let Some(mut network) = start().await else {
        return;
    };
    let started = Instant::now();
    let (company, company_did, app_password) = pds::real_account(&network.pds, "sunnycafe").await;
    let (customer, _, _) = pds::real_account(&network.pds, "ann").await;
    let ann = session(&network.pds, &customer).await;
    let cafe = session(&network.pds, &company).await;
    let soup = post(
        &network.pds,
        &cafe,
        json!({ "text": "Soup of the day: leek and potato." }),
    )
    .await;
    let mention_text = format!("Hello @{company}, are you open on Sunday?");
    let at = mention_text.find('@').expect("the mention");
    let mention = post(
        &network.pds,
        &ann,
        json!({
            "text": mention_text,
            "facets": [{
                "index": { "byteStart": at, "byteEnd": at + 1 + company.len() },
                "features": [{ "$type": "app.bsky.richtext.facet#mention", "did": company_did }],
            }],
        }),
    )
    .await;
    let answer = post(
        &network.pds,
        &ann,
        json!({ "text": "Loved the soup!", "reply": { "root": soup, "parent": soup } }),
    )
    .await;
    network.sync().await;

    let clock = ManualClock::new(SystemClock.now());
    let (pds_url, plc_url) = (network.pds.clone(), network.plc.clone());
    let app = spawn_app_with_clock(
        move |config| {
            config.networks.bluesky_service_url = pds_url;
            config.networks.bluesky_plc_url = plc_url;
            config.networks.request_timeout_seconds = 20;
        },
        Arc::new(clock.clone()),
    )
    .await;
    let owner = set_up(&app, &clock).await;
    let created: Value = owner
        .post(
            &app,
            "/api/v1/accounts",
            json!({ "network": "bluesky", "handle": company, "display_name": "Sunny Café",
                    "avatar_colour": "#1f5f5b", "gatekeeper_id": owner.id }),
        )
        .await
        .json()
        .await
        .expect("JSON");
    let account = created["id"].as_i64().expect("account id");
    let connected = owner
        .send(
            &app,
            reqwest::Method::PUT,
            &format!("/api/v1/accounts/{account}/connection"),
            Some(json!({ "method": "app_password", "identifier": company,
                         "password": app_password, "server": network.pds })),
        )
        .await;
    assert_eq!(
        connected.status(),
        StatusCode::OK,
        "{:?}",
        connected.text().await
    );

    let items = read_until(&app, &clock, &owner, 2).await;
    let of_kind = |kind: &str| {
        items
            .iter()
            .find(|item| item["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind}: {items:?}"))
            .clone()
    };
    let (mentioned, replied) = (of_kind("mention"), of_kind("reply"));
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(mentioned["author_handle"], customer);
    assert_eq!(mentioned["text"], mention_text);
    assert_eq!(replied["author_handle"], customer);
    assert_eq!(replied["text"], "Loved the soup!");
    assert!(
        mentioned["answerable"] == true && replied["answerable"] == true,
        "{items:?}"
    );

    // Herald's answers land on the PDS, each threaded under its item: the reply under the
    // customer's reply in the soup's thread, the other under the mention, its own root.
    reply(
        &app,
        &clock,
        &owner,
        replied["id"].as_i64().expect("id"),
        "Thank you, Ann!",
    )
    .await;
    reply(
        &app,
        &clock,
        &owner,
        mentioned["id"].as_i64().expect("id"),
        "Yes, from 9 to 3.",
    )
    .await;
    let records = pds::real_posts(&network.pds, &company_did).await;
    let record = |text: &str| {
        records
            .iter()
            .find(|record| record["value"]["text"] == text)
            .unwrap_or_else(|| panic!("no post {text:?} on the PDS: {records:?}"))["value"]
            .clone()
    };
    let same = |reference: &Value, expected: &Value| {
        reference["uri"] == expected["uri"] && reference["cid"] == expected["cid"]
    };
    let thanks = record("Thank you, Ann!");
    assert!(same(&thanks["reply"]["root"], &soup), "{thanks} {soup}");
    assert!(
        same(&thanks["reply"]["parent"], &answer),
        "{thanks} {answer}"
    );
    let open = record("Yes, from 9 to 3.");
    assert!(same(&open["reply"]["root"], &mention), "{open} {mention}");
    assert!(same(&open["reply"]["parent"], &mention), "{open} {mention}");
    let history: Value = owner
        .get_json(&app, &format!("/api/v1/inbox/{}", replied["id"]))
        .await;
    assert_eq!(history["history"][0]["what"], "replied", "{history}");
    #[expect(clippy::print_stderr, reason = "the figure belongs in the test output")]
    {
        eprintln!(
            "the AppView test took {:.1} s after the network was up",
            started.elapsed().as_secs_f64()
        );
    }
}
