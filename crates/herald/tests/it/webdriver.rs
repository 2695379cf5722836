//! A small W3C WebDriver client for driving real headless Chromium through chromedriver.
//!
//! Browser tests call [`Browser::launch`]; where chromedriver or Chromium is missing it returns
//! `None` after printing why (or fails the test under `HERALD_REQUIRE_ALL_TESTS=1`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::helpers::skip_or_fail;

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One browser session, with its own chromedriver and profile directory.
pub struct Browser {
    http: reqwest::Client,
    session_url: String,
    driver: Child,
    _profile: TempDir,
}

/// A handle to an element on the current page.
pub struct Element {
    id: String,
}

/// axe-core's script, read once.
fn axe_source() -> Option<&'static str> {
    static SOURCE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    SOURCE
        .get_or_init(|| {
            let path = std::env::var_os("HERALD_AXE_JS").map_or_else(
                || {
                    Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("tests/axe/node_modules/axe-core/axe.min.js")
                },
                PathBuf::from,
            );
            std::fs::read_to_string(path).ok()
        })
        .as_deref()
}

fn find_program(env_name: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env_name) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

impl Browser {
    pub async fn launch() -> Option<Browser> {
        let Some(driver_path) = find_program("CHROMEDRIVER", &["chromedriver"]) else {
            skip_or_fail(
                "chromedriver is not installed (apt-get install chromium chromium-driver)",
            );
            return None;
        };
        let Some(chromium) = find_program(
            "CHROME_BIN",
            &["chromium", "chromium-browser", "google-chrome"],
        ) else {
            skip_or_fail("Chromium is not installed (apt-get install chromium chromium-driver)");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        wait_until_ready(&http, &base).await;
        let profile = TempDir::new().expect("profile directory");
        let session_url = new_session(&http, &base, &chromium, profile.path()).await;
        Some(Browser {
            http,
            session_url,
            driver,
            _profile: profile,
        })
    }

    pub async fn goto(&self, url: &str) {
        self.command("POST", "/url", json!({ "url": url })).await;
    }

    pub async fn title(&self) -> String {
        self.command("GET", "/title", Value::Null)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn find(&self, css: &str) -> Element {
        let found = self
            .command(
                "POST",
                "/element",
                json!({ "using": "css selector", "value": css }),
            )
            .await;
        Element {
            id: found[ELEMENT_KEY]
                .as_str()
                .unwrap_or_else(|| panic!("no element matches {css}"))
                .to_owned(),
        }
    }

    pub async fn text(&self, element: &Element) -> String {
        let path = format!("/element/{}/text", element.id);
        self.command("GET", &path, Value::Null)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn type_into(&self, element: &Element, text: &str) {
        let path = format!("/element/{}/value", element.id);
        self.command("POST", &path, json!({ "text": text })).await;
    }

    pub async fn click(&self, element: &Element) {
        let path = format!("/element/{}/click", element.id);
        self.command("POST", &path, json!({})).await;
    }

    /// Clicks something that loads a new page (a link or a submit button) and waits until the
    /// new page has loaded, so the next look at the page sees the new one.
    pub async fn click_and_wait(&self, element: &Element) {
        self.execute("window.__heraldOldPage = true; return true;")
            .await;
        self.click(element).await;
        let loaded = self
            .wait_for("return window.__heraldOldPage === undefined && document.readyState === 'complete';")
            .await;
        assert!(loaded, "no new page loaded after the click");
    }

    /// Gives the browser a virtual platform authenticator (like a laptop's fingerprint reader)
    /// that always verifies its user, so passkeys can be created and used without a person.
    pub async fn add_virtual_authenticator(&self) {
        self.command(
            "POST",
            "/webauthn/authenticator",
            json!({
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": true,
                "hasUserVerification": true,
                "isUserVerified": true,
            }),
        )
        .await;
    }

    /// A DOM property of an element, such as an input's `value`.
    pub async fn property(&self, element: &Element, name: &str) -> Value {
        let path = format!("/element/{}/property/{name}", element.id);
        self.command("GET", &path, Value::Null).await
    }

    pub async fn current_url(&self) -> String {
        self.command("GET", "/url", Value::Null)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Fills the field `css` with `text`.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        self.type_into(&field, text).await;
    }

    /// The visible text of the first element matching `css`.
    pub async fn text_of(&self, css: &str) -> String {
        let element = self.find(css).await;
        self.text(&element).await
    }

    /// Waits up to five seconds for `script` to return true.
    pub async fn wait_for(&self, script: &str) -> bool {
        self.wait_up_to(Duration::from_secs(5), script).await
    }

    /// Waits up to `limit` for `script` to return true (for pages of a slower server).
    pub async fn wait_up_to(&self, limit: Duration, script: &str) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.execute(script).await == Value::Bool(true) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    /// Runs `script` in the page and returns what it returns.
    pub async fn execute(&self, script: &str) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            json!({ "script": script, "args": [] }),
        )
        .await
    }

    pub async fn set_window_size(&self, width: u32, height: u32) {
        self.command(
            "POST",
            "/window/rect",
            json!({ "width": width, "height": height }),
        )
        .await;
    }

    /// Runs `script` in the page as an async function: it calls its last argument with the
    /// answer.
    pub async fn execute_async(&self, script: &str) -> Value {
        self.command(
            "POST",
            "/execute/async",
            json!({ "script": script, "args": [] }),
        )
        .await
    }

    /// Checks the page as it is now with axe-core: no serious or critical accessibility
    /// problem. axe is injected through WebDriver (the page's CSP does not apply to that), from
    /// `tests/axe/node_modules` (`npm ci --prefix crates/herald/tests/axe`) or `HERALD_AXE_JS`.
    pub async fn check_accessibility(&self, state: &str) {
        let Some(axe) = axe_source() else {
            skip_or_fail(
                "axe-core is not installed (npm ci --prefix crates/herald/tests/axe): pages not checked for accessibility",
            );
            return;
        };
        self.execute(&format!("{axe}\n;return typeof axe;")).await;
        let serious = self
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                   .then((results) => done(results.violations
                     .filter((v) => v.impact === 'serious' || v.impact === 'critical')
                     .map((v) => ({ rule: v.id, impact: v.impact, help: v.help,
                                    where: v.nodes.slice(0, 4).map((n) => n.target.join(' ')) }))))
                   .catch((error) => done([{ rule: 'axe-failed', help: String(error) }]));",
            )
            .await;
        assert_eq!(
            serious,
            json!([]),
            "{state}: serious accessibility problems (axe-core)"
        );
    }

    /// Saves a PNG of the viewport as `target/screenshots/<name>.png` and returns its path, after
    /// checking the page's accessibility (every page state a test shows is checked).
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        self.check_accessibility(name).await;
        use base64::Engine;
        let encoded = self.command("GET", "/screenshot", Value::Null).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().expect("screenshot as text"))
            .expect("screenshot in base64");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot directory");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, &png).expect("write screenshot");
        path
    }

    pub async fn close(mut self) {
        let _ = self.http.delete(&self.session_url).send().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }

    async fn command(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.session_url);
        let request = match method {
            "GET" => self.http.get(&url),
            _ => self.http.post(&url).json(&body),
        };
        let response: Value = request
            .send()
            .await
            .expect("chromedriver answers")
            .json()
            .await
            .expect("chromedriver answers JSON");
        if let Some(error) = response["value"]["error"].as_str() {
            panic!(
                "WebDriver {method} {path} failed: {error}: {}",
                response["value"]["message"]
            );
        }
        response["value"].clone()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

async fn wait_until_ready(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(response) = http.get(format!("{base}/status")).send().await
            && let Ok(status) = response.json::<Value>().await
            && status["value"]["ready"] == true
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("chromedriver did not become ready");
}

async fn new_session(
    http: &reqwest::Client,
    base: &str,
    chromium: &Path,
    profile: &Path,
) -> String {
    let capabilities = json!({ "capabilities": { "alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        },
    }}});
    let response: Value = http
        .post(format!("{base}/session"))
        .json(&capabilities)
        .send()
        .await
        .expect("chromedriver answers")
        .json()
        .await
        .expect("JSON");
    let id = response["value"]["sessionId"]
        .as_str()
        .unwrap_or_else(|| panic!("Chromium did not start: {response}"));
    format!("{base}/session/{id}")
}
