//! Server-side request forgery: a gatekeeper's `server` (a Mastodon instance typed on the
//! connect form, with a token or to connect by OAuth) cannot make Herald send requests to this
//! machine, its network or a cloud metadata address (unless `networks.allow_private_addresses`),
//! whether the address is written out or a name resolves to it; what a named server answered
//! is never told apart in the messages (no port scanning through the form); and a connection
//! made while private addresses were allowed publishes nothing there once they are not.

use herald::domain::ids::AccountId;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use herald::clock::ManualClock;
use jiff::{SignedDuration, Timestamp};
use networks::fake::FakeState;
use networks::outbound::REFUSED_ADDRESS;
use reqwest::StatusCode;
use reqwest::header::COOKIE;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::helpers::{TestApp, spawn_app_with_clock};
use crate::people::{Person, invite_and_join, set_up};
use crate::publishing::Scene;

const TOKEN: &str = "fake-mastodon-token-0d7a11";

/// A listener on 127.0.0.1 (an internal service, say) that counts the connections it gets and
/// answers each with `reply` before closing.
struct Listener {
    port: u16,
    connections: Arc<AtomicUsize>,
}

async fn listen(reply: &'static str) -> Listener {
    let socket = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let port = socket.local_addr().expect("address").port();
    let connections = Arc::new(AtomicUsize::new(0));
    let count = connections.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = socket.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut request = [0u8; 8192];
                let _ = stream.read(&mut request).await;
                let _ = stream.write_all(reply.as_bytes()).await;
            });
        }
    });
    Listener { port, connections }
}

/// A port on this machine that nothing listens on.
async fn closed_port() -> u16 {
    let socket = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    socket.local_addr().expect("address").port()
}

/// A Herald with private addresses allowed or not, an owner, and a Mastodon account whose
/// gatekeeper is `keeper`, not connected.
struct Setting {
    app: TestApp,
    clock: ManualClock,
    keeper: Person,
    account: AccountId,
}

async fn setting(allow_private_addresses: bool) -> Setting {
    let clock = ManualClock::new(Timestamp::from_second(1_800_000_000).expect("time"));
    let app = spawn_app_with_clock(
        |config| {
            config.networks.allow_private_addresses = allow_private_addresses;
            config.networks.request_timeout_seconds = 2;
            // The default instance is nowhere; accounts name their own.
            config.networks.mastodon_instance_url = "https://mastodon.invalid".to_owned();
        },
        Arc::new(clock.clone()),
    )
    .await;
    let owner = set_up(&app, &clock).await;
    let keeper = invite_and_join(&app, &clock, &owner, "keeper@sunny.example", "member").await;
    let account = mastodon_account(&app, &owner, &keeper).await;
    Setting {
        app,
        clock,
        keeper,
        account,
    }
}

async fn mastodon_account(app: &TestApp, owner: &Person, keeper: &Person) -> AccountId {
    let created: Value = owner
        .post(
            app,
            "/api/v1/accounts",
            json!({ "network": "mastodon", "handle": "@herald@127.0.0.1",
                    "display_name": "Sunny Café", "avatar_colour": "#1f5f5b",
                    "gatekeeper_id": keeper.id }),
        )
        .await
        .json()
        .await
        .expect("JSON");
    AccountId::new(created["id"].as_i64().expect("account id"))
}

impl Setting {
    /// Connects with a token at `server` through the API: the status and the problem's detail.
    async fn connect_at(&self, server: &str) -> (StatusCode, String) {
        let response = self
            .keeper
            .send(
                &self.app,
                reqwest::Method::PUT,
                &format!("/api/v1/accounts/{}/connection", self.account),
                Some(json!({ "method": "access_token", "token": TOKEN, "server": server })),
            )
            .await;
        let status = response.status();
        let problem: Value = response.json().await.expect("problem+json");
        let detail = problem["detail"].as_str().unwrap_or_default().to_owned();
        (status, detail)
    }

    /// Presses "Connect with Mastodon" with `instance` typed: the status and the page.
    async fn start_oauth_at(&self, instance: &str) -> (StatusCode, String) {
        let (browser, csrf) = self.browser().await;
        let response = browser
            .post(self.app.url(&format!("/accounts/{}/oauth", self.account)))
            .form(&[("csrf", csrf.as_str()), ("instance", instance)])
            .send()
            .await
            .expect("request");
        let status = response.status();
        (status, response.text().await.expect("page"))
    }

    /// The keeper's own browser: a client that sends their session cookie, and its CSRF token.
    async fn browser(&self) -> (reqwest::Client, String) {
        self.clock.advance(SignedDuration::from_secs(30));
        let login = reqwest::Client::new()
            .post(self.app.url("/api/v1/auth/login"))
            .json(
                &json!({ "email": self.keeper.email, "password": self.keeper.password,
                           "code": crate::people::code(&self.keeper.secret, &self.clock) }),
            )
            .send()
            .await
            .expect("request");
        assert_eq!(login.status(), StatusCode::OK);
        let session = crate::oauth::cookie(&login, "herald_session").expect("session");
        let body: Value = login.json().await.expect("JSON");
        let csrf = body["csrf_token"].as_str().expect("csrf").to_owned();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            COOKIE,
            format!("herald_session={session}").parse().expect("header"),
        );
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        (client, csrf)
    }
}

#[tokio::test]
async fn a_gatekeeper_cannot_point_herald_at_this_machine_or_a_cloud_metadata_address() {
    let setting = setting(false).await;
    let internal = listen("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}").await;
    let port = internal.port;
    for server in [
        format!("http://127.0.0.1:{port}"),
        format!("https://127.0.0.1:{port}"),
        format!("http://2130706433:{port}"),
        format!("http://[::ffff:127.0.0.1]:{port}"),
        "http://169.254.169.254".to_owned(),
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/#".to_owned(),
        "http://10.0.0.5:9200".to_owned(),
        // Names are resolved by Herald once, and a loopback answer refused: a name whose DNS
        // answers 127.0.0.1 (DNS rebinding) is no way around the check.
        format!("https://localhost:{port}"),
    ] {
        let (status, detail) = setting.connect_at(&server).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{server}: {detail}"
        );
        assert!(detail.starts_with(REFUSED_ADDRESS), "{server}: {detail}");

        let (status, page) = setting.start_oauth_at(&server).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{server}: {page}");
        assert!(page.contains(REFUSED_ADDRESS), "{server}: {page}");
    }
    assert_eq!(
        internal.connections.load(Ordering::SeqCst),
        0,
        "the internal service never saw Herald"
    );
    assert!(
        setting
            .app
            .store
            .all_oauth_apps()
            .await
            .expect("apps")
            .is_empty(),
        "nothing was registered anywhere"
    );
}

#[tokio::test]
async fn what_a_named_server_answers_is_never_told_apart_so_the_form_cannot_scan_ports() {
    // Private addresses allowed (an intranet Mastodon): Herald reaches the listeners, and
    // still says the same whatever they did.
    let setting = setting(true).await;
    let garbage = listen("SSH-2.0-OpenSSH_9.6\r\n").await;
    let hang_up = listen("").await;
    let forbidden = listen(
        "HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ncontent-length: 33\r\n\r\n\
         {\"error\":\"elasticsearch 8.13.0\"}",
    )
    .await;
    let unreadable = listen("HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\nnot json!").await;
    let servers = [
        closed_port().await,
        garbage.port,
        hang_up.port,
        forbidden.port,
        unreadable.port,
    ]
    .map(|port| format!("http://127.0.0.1:{port}"));

    let mut answers = Vec::new();
    let mut pages = Vec::new();
    for server in &servers {
        let (status, detail) = setting.connect_at(server).await;
        answers.push((status, detail.replace(server.as_str(), "SERVER")));
        pages.push(setting.start_oauth_at(server).await);
    }
    assert!(
        answers.iter().all(|answer| *answer == answers[0]),
        "every failure reads alike: {answers:#?}"
    );
    let (status, detail) = &answers[0];
    assert_eq!(*status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        detail.contains("could not get an answer it understands from SERVER"),
        "{detail}"
    );
    for words in [
        "refused",
        "closed",
        "403",
        "elasticsearch",
        "cannot read",
        "OpenSSH",
    ] {
        assert!(!detail.contains(words), "{words} in {detail}");
    }
    // Each page is in a session of its own (its own CSRF token), so the words are compared.
    for (status, page) in &pages {
        assert_eq!(*status, pages[0].0, "{page}");
        assert!(
            page.contains("could not get an answer it understands from"),
            "{page}"
        );
        for words in [
            "elasticsearch",
            "Forbidden",
            "OpenSSH",
            "could not connect",
            "connection broke",
            "cannot read",
        ] {
            assert!(!page.contains(words), "{words} in {page}");
        }
    }
}

#[tokio::test]
async fn a_connection_made_while_private_addresses_were_allowed_publishes_nothing_there_after() {
    let dir = TempDir::new().expect("temporary directory");
    let data = dir.path().join("data");
    let fake = networks::fake::mastodon::start(FakeState::new(TOKEN, 7))
        .await
        .expect("fake Mastodon starts");
    let clock = ManualClock::new(Timestamp::from_second(1_800_000_000).expect("time"));
    let allowing = |config: &mut herald::config::Config| {
        config.data_dir = data.clone();
        config.networks.request_timeout_seconds = 1;
        config.jobs.lease_seconds = 10;
        config.jobs.max_attempts = 2;
    };
    let app = spawn_app_with_clock(allowing, Arc::new(clock.clone())).await;
    let owner = set_up(&app, &clock).await;
    let keeper = invite_and_join(&app, &clock, &owner, "keeper@sunny.example", "member").await;
    let account = mastodon_account(&app, &owner, &keeper).await;
    let connected = keeper
        .send(
            &app,
            reqwest::Method::PUT,
            &format!("/api/v1/accounts/{account}/connection"),
            Some(json!({ "method": "access_token", "token": TOKEN, "server": fake.url() })),
        )
        .await;
    assert_eq!(connected.status(), StatusCode::OK);
    let scene = Scene {
        app,
        clock,
        fake,
        owner,
        keeper,
        account,
    };
    let id = scene.approved("Soup of the day: leek and potato.").await;
    let scene = scene
        .restarted(
            || {},
            |config| {
                allowing(config);
                config.networks.allow_private_addresses = false;
            },
        )
        .await;
    let scheduled = scene
        .schedule(&scene.keeper, id, json!({ "at": scene.in_minutes(1) }))
        .await;
    assert_eq!(scheduled.status(), StatusCode::OK);
    scene.clock.advance(SignedDuration::from_mins(2));
    let failed = scene.wait_for(id, "failed").await;
    assert!(failed.to_string().contains(REFUSED_ADDRESS), "{failed}");
    assert!(
        scene.fake.state.posts().is_empty(),
        "nothing was sent to the instance on this machine"
    );
}

#[tokio::test]
async fn a_token_pasted_with_a_line_break_is_refused_naming_the_field_not_blamed_on_the_network() {
    let setting = setting(true).await;
    let listener = listen("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}").await;
    let response = setting
        .keeper
        .send(
            &setting.app,
            reqwest::Method::PUT,
            &format!("/api/v1/accounts/{}/connection", setting.account),
            Some(json!({ "method": "access_token", "token": "abc\ndef",
                        "server": format!("http://127.0.0.1:{}", listener.port) })),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = response.json().await.expect("problem+json");
    assert_eq!(problem["field"], "token", "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("line break")),
        "{problem}"
    );
    assert_eq!(
        listener.connections.load(Ordering::SeqCst),
        0,
        "nothing was sent"
    );
}
