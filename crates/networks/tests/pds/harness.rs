//! A real Bluesky PDS for the tests of crates/networks and crates/herald: runs `start.mjs`
//! (beside this file) with the Node 22 and packages that `install.sh` put in `$HERALD_PDS_DIR`
//! (default: this folder), and stops it when the [`Pds`] is dropped. Without them a test is
//! skipped, unless `HERALD_REQUIRE_ALL_TESTS=1`. Also: an account on it, and its posts.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

/// How long the PDS may take to start (about 2.5 s on an idle machine).
const STARTUP: Duration = Duration::from_secs(90);

/// A running PDS; dropping it kills the Node process.
#[derive(Debug)]
pub struct Pds {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Its PLC directory, `http://127.0.0.1:PORT`.
    pub plc: String,
    child: Child,
}

impl Drop for Pds {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a PDS, or returns `None` after printing `SKIPPED: <reason>` when Node 22 or the
/// packages are not installed (a failure instead under `HERALD_REQUIRE_ALL_TESTS=1`).
pub async fn start() -> Option<Pds> {
    // This file serves the tests of both crates/networks and crates/herald.
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("../networks/tests/pds");
    let dir = std::env::var_os("HERALD_PDS_DIR").map_or_else(|| here.clone(), PathBuf::from);
    let (node, packages) = match installed(&dir) {
        Ok(found) => found,
        Err(reason) => {
            let reason = format!("{reason}; run `bash crates/networks/tests/pds/install.sh`");
            if std::env::var("HERALD_REQUIRE_ALL_TESTS").as_deref() == Ok("1") {
                panic!("HERALD_REQUIRE_ALL_TESTS=1 and the real PDS cannot run: {reason}");
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
    let mut child = Command::new(node)
        .arg(here.join("start.mjs"))
        .env("HERALD_PDS_DIR", packages)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start node");
    let stdout = child.stdout.take().expect("the PDS's stdout");
    // From here on the guard kills the process however the test ends.
    let mut pds = Pds {
        url: String::new(),
        plc: String::new(),
        child,
    };
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    });
    let line = tokio::time::timeout(STARTUP, line)
        .await
        .expect("the PDS did not start in time")
        .expect("join")
        .expect("read the PDS's first line");
    let ready: Value = serde_json::from_str(&line)
        .unwrap_or_else(|error| panic!("the PDS did not start ({error}): {line:?}"));
    pds.url = ready["pds"].as_str().expect("the PDS's URL").to_owned();
    pds.plc = ready["plc"].as_str().expect("the PLC's URL").to_owned();
    Some(pds)
}

/// The Node 22 binary and the folder holding `node_modules`, or why they are not there.
pub fn installed(dir: &Path) -> Result<(PathBuf, PathBuf), String> {
    for package in ["@atproto/pds", "@did-plc/server", "better-sqlite3"] {
        let manifest = dir.join("node_modules").join(package).join("package.json");
        if !manifest.is_file() {
            return Err(format!("{} is not installed", manifest.display()));
        }
    }
    let arch = if cfg!(target_arch = "aarch64") {
        "arm64"
    } else {
        "x64"
    };
    let bundled = dir
        .join("node/node_modules")
        .join(format!("node-linux-{arch}"))
        .join("bin/node");
    for node in [bundled, PathBuf::from("node")] {
        let version = Command::new(&node).arg("--version").output();
        let Ok(version) = version else { continue };
        let version = String::from_utf8_lossy(&version.stdout);
        let major = version
            .trim()
            .trim_start_matches('v')
            .split('.')
            .next()
            .and_then(|major| major.parse::<u32>().ok());
        if major.is_some_and(|major| major >= 22) {
            return Ok((node, dir.to_path_buf()));
        }
    }
    Err("Node 22 or later is not installed".to_owned())
}

/// The password of every account [`real_account`] makes (its login password, not an app one).
pub const ACCOUNT_PASSWORD: &str = "a-long-account-password";

/// Makes an account on the real PDS and an app password for it: (handle, DID, app password).
pub async fn real_account(pds: &str, name: &str) -> (String, String, String) {
    let client = reqwest::Client::new();
    let handle = format!("{name}.test");
    let account: Value = client
        .post(format!("{pds}/xrpc/com.atproto.server.createAccount"))
        .json(&json!({"handle": handle, "email": format!("{name}@example.com"), "password": ACCOUNT_PASSWORD}))
        .send()
        .await
        .expect("createAccount")
        .error_for_status()
        .expect("account made")
        .json()
        .await
        .expect("account");
    let access = account["accessJwt"].as_str().expect("accessJwt");
    let app_password: Value = client
        .post(format!("{pds}/xrpc/com.atproto.server.createAppPassword"))
        .bearer_auth(access)
        .json(&json!({"name": "herald"}))
        .send()
        .await
        .expect("createAppPassword")
        .error_for_status()
        .expect("app password made")
        .json()
        .await
        .expect("app password");
    (
        handle,
        account["did"].as_str().expect("did").to_owned(),
        app_password["password"]
            .as_str()
            .expect("password")
            .to_owned(),
    )
}

/// The account's posts, as `com.atproto.repo.listRecords` lists them.
pub async fn real_posts(pds: &str, did: &str) -> Vec<Value> {
    let listed: Value = reqwest::Client::new()
        .get(format!("{pds}/xrpc/com.atproto.repo.listRecords"))
        .query(&[("repo", did), ("collection", "app.bsky.feed.post")])
        .send()
        .await
        .expect("listRecords")
        .error_for_status()
        .expect("listed")
        .json()
        .await
        .expect("records");
    listed["records"].as_array().cloned().unwrap_or_default()
}
