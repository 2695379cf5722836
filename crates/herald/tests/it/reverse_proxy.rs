//! Herald behind a real nginx (Debian's), started by the test on loopback: every request then
//! comes from 127.0.0.1 and, with nginx's default `Host $proxy_host`, names 127.0.0.1 too. Setup
//! still needs the setup code, and with `trusted_proxies` the visitor's own address (from
//! `X-Forwarded-For`) is the one throttled and audited; a forged header is never believed.

use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use herald::clock::{Clock, SystemClock};
use herald::domain::client_address::AddressBlock;
use herald::domain::totp::TotpSecret;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::helpers::{TestApp, skip_or_fail, spawn_app, spawn_app_with};

/// The visitor's own loopback address: Linux answers on all of 127.0.0.0/8, so the visitor can
/// be told apart from nginx (which reaches Herald from 127.0.0.1).
const VISITOR: &str = "127.0.0.5";

/// A running nginx, stopped (by its process id) when dropped.
struct Nginx {
    child: Child,
    port: u16,
    dir: TempDir,
}

/// The proxy directives of `deploy/nginx.conf` (between its `herald-proxy-begin` and
/// `herald-proxy-end` lines), without its `proxy_pass`: the test names its own upstream.
fn example_directives() -> String {
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/nginx.conf"),
    )
    .expect("deploy/nginx.conf");
    let lines: Vec<&str> = example
        .lines()
        .skip_while(|line| !line.contains("herald-proxy-begin"))
        .take_while(|line| !line.contains("herald-proxy-end"))
        .map(str::trim)
        .filter(|line| !line.starts_with('#') && !line.starts_with("proxy_pass"))
        .collect();
    assert!(
        lines.iter().any(|line| line.contains("X-Forwarded-For")),
        "the example forwards the visitor's address: {lines:?}"
    );
    lines.join("\n")
}

impl Nginx {
    /// Starts nginx in front of `upstream` with `directives` added to its proxy location, or
    /// `None` (after skipping) when nginx is not installed.
    fn start(upstream: SocketAddr, directives: &str) -> Option<Nginx> {
        let Some(binary) = nginx_binary() else {
            skip_or_fail("nginx is not installed (Debian: apt-get install nginx)");
            return None;
        };
        let dir = TempDir::new().expect("temporary directory");
        let port = free_port();
        let root = dir.path().display();
        let config = format!(
            "master_process off;\n\
             pid {root}/nginx.pid;\n\
             error_log {root}/error.log;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n\
               access_log off;\n\
               client_body_temp_path {root}/body;\n\
               proxy_temp_path {root}/proxy;\n\
               fastcgi_temp_path {root}/fastcgi;\n\
               uwsgi_temp_path {root}/uwsgi;\n\
               scgi_temp_path {root}/scgi;\n\
               server {{\n\
                 listen 127.0.0.1:{port};\n\
                 location / {{\n\
                   proxy_pass http://{upstream};\n\
                   {directives}\n\
                 }}\n\
               }}\n\
             }}\n"
        );
        let config_path = dir.path().join("nginx.conf");
        std::fs::write(&config_path, config).expect("nginx.conf written");
        let child = Command::new(binary)
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(&config_path)
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts");
        let mut nginx = Nginx { child, port, dir };
        nginx.wait_until_listening();
        Some(nginx)
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            let exited = self.child.try_wait().expect("nginx status");
            let log = || std::fs::read_to_string(self.dir.path().join("error.log"));
            assert!(exited.is_none(), "nginx stopped: {:?}", log());
            assert!(
                Instant::now() < deadline,
                "nginx did not listen: {:?}",
                log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nginx_binary() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|path| Path::new(path).exists())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("free port")
        .port()
}

/// A visitor's browser, connecting from [`VISITOR`].
fn visitor() -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(VISITOR.parse::<IpAddr>().expect("address"))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The address recorded on the newest audit entry of `action`.
async fn audited_address(app: &TestApp, action: &str) -> Option<String> {
    let entries = app
        .store
        .audit_entries(&herald::store::AuditFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("audit");
    entries
        .into_iter()
        .filter(|entry| entry.action == action)
        .max_by_key(|entry| entry.seq)
        .expect("an audit entry")
        .ip
}

async fn setup_body(client: &reqwest::Client, base: &str, setup_code: Option<&str>) -> Value {
    let enrolment: Value = client
        .get(format!("{base}/api/v1/setup?email=ann@shop.example"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    let secret =
        TotpSecret::from_base32(enrolment["secret"].as_str().expect("secret")).expect("base32");
    let mut body = json!({
        "organisation": "Shop", "name": "Ann", "email": "ann@shop.example",
        "password": crate::people::OWNER_PASSWORD,
        "enrolment_token": enrolment["enrolment_token"],
        "code": secret.code_at_step(herald::domain::totp::step_at(SystemClock.now())),
    });
    if let Some(setup_code) = setup_code {
        body["setup_code"] = json!(setup_code);
    }
    body
}

#[tokio::test]
async fn a_visitor_through_nginx_cannot_set_up_herald_without_the_setup_code() {
    let app = spawn_app().await;
    // nginx's defaults: the request reaches Herald from 127.0.0.1 naming Host: 127.0.0.1:<port>,
    // exactly as a browser on Herald's own machine would.
    let Some(nginx) = Nginx::start(app.addr, "") else {
        return;
    };
    let base = nginx.url("");
    let visitor = visitor();

    let without = visitor
        .post(format!("{base}/api/v1/setup"))
        .json(&setup_body(&visitor, &base, None).await)
        .send()
        .await
        .expect("request");
    assert_eq!(without.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        without.headers()["content-type"],
        "application/problem+json"
    );

    let wrong = visitor
        .post(format!("{base}/api/v1/setup"))
        .json(&setup_body(&visitor, &base, Some("abcde-fghjk-mnpqr-stvwx")).await)
        .send()
        .await
        .expect("request");
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = wrong.json().await.expect("JSON");
    assert_eq!(problem["field"], "setup_code");

    let page = visitor
        .get(format!(
            "{base}/setup?code=&organisation=Shop&name=Ann&email=ann%40shop.example"
        ))
        .send()
        .await
        .expect("request");
    assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.text()
            .await
            .expect("body")
            .contains(r#"id="setup_code-error""#)
    );
    assert_eq!(app.store.user_count().await.expect("count"), 0);
    // Herald does not trust nginx here, so nginx is who it saw.
    assert_eq!(
        audited_address(&app, "setup.refused").await.as_deref(),
        Some("127.0.0.1")
    );

    // The owner, with the code Herald printed, sets up through the same proxy.
    let with_code = visitor
        .post(format!("{base}/api/v1/setup"))
        .json(&setup_body(&visitor, &base, Some(&app.setup_code())).await)
        .send()
        .await
        .expect("request");
    assert_eq!(with_code.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn behind_a_trusted_nginx_the_audit_log_records_the_visitors_own_address_never_a_forged_one()
{
    let app = spawn_app_with(|config| {
        config.trusted_proxies = vec![AddressBlock::parse("127.0.0.1").expect("block")];
    })
    .await;
    // Behind the example configuration in deploy/nginx.conf, as a shop would run it.
    let Some(nginx) = Nginx::start(app.addr, &example_directives()) else {
        return;
    };
    let base = nginx.url("");
    let visitor = visitor();

    let setup = visitor
        .post(format!("{base}/api/v1/setup"))
        .json(&setup_body(&visitor, &base, Some(&app.setup_code())).await)
        .send()
        .await
        .expect("request");
    assert_eq!(setup.status(), StatusCode::CREATED);
    assert_eq!(
        audited_address(&app, "setup.completed").await.as_deref(),
        Some(VISITOR)
    );

    // A visitor who writes its own X-Forwarded-For through nginx: nginx appends the address
    // it saw, and that right-most one is believed.
    let login = |client: reqwest::Client, url: String| async move {
        client
            .post(url)
            .header("x-forwarded-for", "198.51.100.66")
            .json(&json!({ "email": "ann@shop.example", "password": "not it at all", "code": "123456" }))
            .send()
            .await
            .expect("request")
            .status()
    };
    let through_nginx = login(visitor.clone(), format!("{base}/api/v1/auth/login")).await;
    assert_eq!(through_nginx, StatusCode::UNAUTHORIZED);
    assert_eq!(
        audited_address(&app, "auth.login.failed").await.as_deref(),
        Some(VISITOR)
    );

    // The same forged header sent straight to Herald, from a peer it does not trust, is ignored.
    let direct = login(visitor.clone(), app.url("/api/v1/auth/login")).await;
    assert_eq!(direct, StatusCode::UNAUTHORIZED);
    let entries = app
        .store
        .audit_entries(&herald::store::AuditFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("audit");
    let addresses: Vec<Option<String>> = entries
        .iter()
        .filter(|entry| entry.action == "auth.login.failed")
        .map(|entry| entry.ip.clone())
        .collect();
    assert_eq!(addresses.len(), 2);
    assert!(
        addresses.iter().all(|ip| ip.as_deref() == Some(VISITOR)),
        "{addresses:?}"
    );
}

#[tokio::test]
async fn a_forwarded_line_with_bytes_that_are_not_text_still_names_the_address_the_proxy_added() {
    // Herald trusts this machine as its proxy; the test plays the proxy, appending the
    // visitor's address to the junk the visitor sent, on the same line, as nginx does.
    let app = spawn_app_with(|config| {
        config.trusted_proxies = vec![AddressBlock::parse("127.0.0.1").expect("block")];
    })
    .await;
    let line = reqwest::header::HeaderValue::from_bytes(b"\xff\xfejunk, 203.0.113.9")
        .expect("a header value with opaque bytes");
    let status = reqwest::Client::new()
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", line)
        .json(
            &json!({ "email": "ann@shop.example", "password": "not it at all", "code": "123456" }),
        )
        .send()
        .await
        .expect("request")
        .status();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        audited_address(&app, "auth.login.failed").await.as_deref(),
        Some("203.0.113.9"),
        "the visitor, never the proxy"
    );
}
