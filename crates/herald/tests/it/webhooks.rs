//! Webhooks against a local receiver (`tests/webhooks/receiver.py`) that checks each
//! signature with the `standardwebhooks` package: an event is delivered signed, a failing
//! endpoint is retried and delivered once, one that hangs times out, a redirect is not
//! followed, a private address is refused, and an endpoint that keeps failing is turned off
//! with the owners told.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use herald::clock::ManualClock;
use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with, spawn_app_with_clock};
use crate::mail::python;
use crate::people::{Person, invite_and_join, set_up, signed_in_again};

/// The receiver, stopped when dropped.
pub(crate) struct Receiver {
    port: u16,
    child: Child,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Receiver {
    pub(crate) fn start(python: &str) -> Receiver {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/webhooks/receiver.py");
        let mut child = Command::new(python)
            .arg(script)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the receiver starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
            .expect("the receiver says where it listens");
        let port = line
            .trim()
            .strip_prefix("READY ")
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("the receiver did not start: {line:?}"));
        Receiver { port, child }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub(crate) async fn set_secret(&self, name: &str, secret: &str) {
        let sent = reqwest::Client::new()
            .post(self.url(&format!("/_secret/{name}")))
            .body(secret.to_owned())
            .send()
            .await
            .expect("the receiver answers");
        assert_eq!(sent.status(), StatusCode::NO_CONTENT);
    }

    async fn log(&self) -> Vec<Value> {
        reqwest::get(self.url("/_log"))
            .await
            .expect("the receiver answers")
            .json()
            .await
            .expect("JSON")
    }

    /// The deliveries to `path` so far, waiting (up to 15 s) until there are `count`.
    pub(crate) async fn wait_for(&self, path: &str, count: usize) -> Vec<Value> {
        for _ in 0..300 {
            let seen: Vec<Value> = self
                .log()
                .await
                .into_iter()
                .filter(|entry| entry["path"] == path)
                .collect();
            if seen.len() >= count {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{count} deliveries to {path} did not arrive: {:?}",
            self.log().await
        );
    }
}

/// Waits for `count` deliveries to `path`, moving the clock on by `step` meanwhile so that
/// retries come due, whenever the runner recorded the last failure. The clock moves only while
/// no delivery is under way, so that no lease runs out under a try.
async fn wait_moving_the_clock(
    app: &TestApp,
    receiver: &Receiver,
    clock: &ManualClock,
    step: SignedDuration,
    path: &str,
    count: usize,
) {
    for _ in 0..600 {
        let seen = receiver
            .log()
            .await
            .into_iter()
            .filter(|entry| entry["path"] == path)
            .count();
        if seen >= count {
            return;
        }
        let jobs = app
            .store
            .pending_jobs_of(herald::store::WEBHOOK_DELIVER_KIND, 10)
            .await
            .expect("jobs");
        if jobs
            .iter()
            .all(|job| job.state == herald::domain::jobs::JobState::Queued)
        {
            clock.advance(step);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{count} deliveries to {path} did not arrive");
}

async fn app() -> (TestApp, ManualClock) {
    let clock = ManualClock::new(Timestamp::from_second(1_800_000_000).expect("time"));
    let app = spawn_app_with_clock(|_| {}, Arc::new(clock.clone())).await;
    (app, clock)
}

/// Adds an endpoint through the API; returns its id and the receiver told its secret.
pub(crate) async fn endpoint(
    app: &TestApp,
    owner: &Person,
    receiver: &Receiver,
    name: &str,
    behaviour: &str,
    format: &str,
    events: &[&str],
) -> i64 {
    let response = owner
        .post(
            app,
            "/api/v1/webhooks",
            json!({
                "url": receiver.url(&format!("/{name}/{behaviour}")),
                "description": name,
                "format": format,
                "events": events,
            }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.expect("JSON");
    let secret = created["secret"].as_str().expect("secret");
    assert!(secret.starts_with("whsec_"), "{secret}");
    receiver.set_secret(name, secret).await;
    let id = created["endpoint"]["id"].as_i64().expect("id");
    // The secret is shown once: never again.
    let shown = owner
        .get(app, &format!("/api/v1/webhooks/{id}"))
        .await
        .text()
        .await
        .expect("text");
    assert!(!shown.contains(secret));
    id
}

/// Presses "send test event" through the API; the answer is the delivery's log entry.
async fn test_event(app: &TestApp, owner: &Person, id: i64) -> Value {
    let response = owner
        .post(app, &format!("/api/v1/webhooks/{id}/test"), json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("JSON")
}

async fn deliveries(app: &TestApp, owner: &Person, id: i64) -> Vec<Value> {
    let detail = owner.get_json(app, &format!("/api/v1/webhooks/{id}")).await;
    detail["deliveries"].as_array().expect("deliveries").clone()
}

#[tokio::test]
async fn an_event_is_delivered_signed_and_a_failing_endpoint_is_retried_and_delivered_once() {
    let Some(python) = python() else { return };
    let receiver = Receiver::start(&python);
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let id = endpoint(
        &app,
        &owner,
        &receiver,
        "team",
        "flaky",
        "standard",
        &["member.joined"],
    )
    .await;
    let slack = endpoint(
        &app,
        &owner,
        &receiver,
        "chat",
        "ok",
        "slack",
        &["member.joined"],
    )
    .await;

    let bea = invite_and_join(&app, &clock, &owner, "bea@sunny.example", "member").await;
    let first = receiver.wait_for("/team/flaky", 1).await;
    assert_eq!(first[0]["verified"], true, "{first:?}");
    let body: Value = serde_json::from_str(first[0]["body"].as_str().expect("body")).expect("JSON");
    assert_eq!(body["type"], "member.joined");
    assert!(
        body["data"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("bea@sunny.example"))
    );
    let chat = receiver.wait_for("/chat/ok", 1).await;
    assert_eq!(chat[0]["verified"], true);
    let text: Value = serde_json::from_str(chat[0]["body"].as_str().expect("body")).expect("JSON");
    assert!(
        text["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("A member joined")),
        "{text}"
    );

    // The endpoint answered 500: logged, tried again after the backoff, delivered.
    for _ in 0..100 {
        if deliveries(&app, &owner, id).await[0]["attempts"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = deliveries(&app, &owner, id).await;
    assert_eq!(log[0]["state"], "pending");
    assert_eq!(log[0]["status"], 500);
    assert_eq!(log[0]["error"], "the endpoint answered 500");
    wait_moving_the_clock(
        &app,
        &receiver,
        &clock,
        SignedDuration::from_secs(5),
        "/team/flaky",
        2,
    )
    .await;
    let both = receiver.wait_for("/team/flaky", 2).await;
    assert_eq!(both[1]["verified"], true);
    assert_eq!(
        both[0]["headers"]["webhook-id"], both[1]["headers"]["webhook-id"],
        "the same message id on every try"
    );
    for _ in 0..100 {
        if deliveries(&app, &owner, id).await[0]["state"] == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = deliveries(&app, &owner, id).await;
    assert_eq!(log[0]["state"], "delivered");
    assert_eq!(log[0]["attempts"], 2);
    assert_eq!(log[0]["status"], 204);
    assert!(log[0]["response_ms"].is_i64());
    // The delivery log is on the endpoint's page, and only owners see it.
    let page = owner.get(&app, &format!("/settings/webhooks/{id}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.expect("page");
    assert!(
        page.contains("<td data-label=\"State\">delivered</td>"),
        "{page}"
    );
    let denied = bea.get(&app, &format!("/api/v1/webhooks/{slack}")).await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    clock.advance(SignedDuration::from_hours(2));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        receiver.wait_for("/team/flaky", 2).await.len(),
        2,
        "delivered once"
    );
}

#[tokio::test]
async fn the_test_event_reports_a_hanging_endpoint_and_a_redirect_and_private_addresses_are_refused()
 {
    let Some(python) = python() else { return };
    let receiver = Receiver::start(&python);
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let fine = endpoint(
        &app,
        &owner,
        &receiver,
        "fine",
        "ok",
        "discord",
        &["post.failed"],
    )
    .await;
    let tested = test_event(&app, &owner, fine).await;
    assert_eq!(tested["state"], "delivered", "{tested}");
    let seen = receiver.wait_for("/fine/ok", 1).await;
    assert_eq!(seen[0]["verified"], true);
    assert!(
        seen[0]["body"]
            .as_str()
            .is_some_and(|b| b.contains("\"content\""))
    );

    let slow = endpoint(
        &app,
        &owner,
        &receiver,
        "slow",
        "hang",
        "standard",
        &["post.failed"],
    )
    .await;
    let tested = test_event(&app, &owner, slow).await;
    assert_eq!(tested["state"], "failed", "{tested}");
    assert_eq!(
        tested["error"],
        "the endpoint did not answer within 10 seconds"
    );

    let moved = endpoint(
        &app,
        &owner,
        &receiver,
        "moved",
        "redirect",
        "teams",
        &["post.failed"],
    )
    .await;
    let page = owner
        .form(&app, &format!("/settings/webhooks/{moved}/test"), &[])
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.expect("page");
    assert!(page.contains("Herald does not follow redirects"), "{page}");
    assert_eq!(receiver.wait_for("/moved/redirect", 1).await.len(), 1);

    // Where private addresses are not allowed (the default), such an endpoint is refused.
    let strict = spawn_app_with(|config| config.networks.allow_private_addresses = false).await;
    let owner = set_up(&strict, &herald::clock::SystemClock).await;
    let refused = owner
        .post(
            &strict,
            "/api/v1/webhooks",
            json!({ "url": receiver.url("/x/ok"), "format": "standard", "events": ["post.failed"] }),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = refused.json().await.expect("JSON");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("private or local network addresses")),
        "{problem}"
    );
    let plain = owner
        .post(
            &strict,
            "/api/v1/webhooks",
            json!({ "url": "http://hooks.example/in", "format": "standard", "events": ["post.failed"] }),
        )
        .await;
    assert_eq!(plain.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn an_endpoint_that_keeps_failing_is_turned_off_and_the_owners_are_told() {
    let Some(python) = python() else { return };
    let receiver = Receiver::start(&python);
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let id = endpoint(
        &app,
        &owner,
        &receiver,
        "down",
        "fail",
        "standard",
        &["member.joined"],
    )
    .await;
    invite_and_join(&app, &clock, &owner, "bea@sunny.example", "member").await;
    // Retries come 5 s, 10 s, 20 s … later, at most an hour apart: 20 tries in under a day.
    wait_moving_the_clock(
        &app,
        &receiver,
        &clock,
        SignedDuration::from_mins(10),
        "/down/fail",
        20,
    )
    .await;
    for _ in 0..200 {
        let endpoint = app.store.webhook_endpoint(id).await.expect("endpoint");
        if endpoint.is_some_and(|endpoint| endpoint.disabled_at.is_some()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // Hours went by: the owner signs in again.
    let owner = signed_in_again(&app, &clock, &owner).await;
    let detail = owner
        .get_json(&app, &format!("/api/v1/webhooks/{id}"))
        .await;
    assert!(
        detail["endpoint"]["disabled"]
            .as_str()
            .is_some_and(|d| d.contains("20 tries in a row failed")),
        "{detail}"
    );
    assert_eq!(detail["deliveries"][0]["state"], "failed");
    let told = crate::accounts::notifications(&app, &owner).await;
    assert!(
        told.iter().any(|n| n["subject"]
            .as_str()
            .is_some_and(|s| s.starts_with("A webhook was turned off"))),
        "{told:?}"
    );
    // No more tries once off; on again on request.
    clock.advance(SignedDuration::from_hours(2));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.wait_for("/down/fail", 20).await.len(), 20);
    let owner = signed_in_again(&app, &clock, &owner).await;
    let enabled = owner
        .post(&app, &format!("/api/v1/webhooks/{id}/enable"), json!({}))
        .await;
    assert_eq!(enabled.status(), StatusCode::OK);
    let enabled: Value = enabled.json().await.expect("JSON");
    assert!(enabled["disabled"].is_null(), "{enabled}");
    assert_eq!(enabled["failures_in_a_row"], 0);
}

#[tokio::test]
async fn a_delivery_still_failing_a_day_later_is_given_up_and_the_endpoint_stays_on() {
    let Some(python) = python() else { return };
    let receiver = Receiver::start(&python);
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let id = endpoint(
        &app,
        &owner,
        &receiver,
        "late",
        "fail",
        "standard",
        &["member.joined"],
    )
    .await;
    invite_and_join(&app, &clock, &owner, "bea@sunny.example", "member").await;
    receiver.wait_for("/late/fail", 1).await;
    // The first try is logged and its retry queued before the clock jumps a day ahead.
    for _ in 0..200 {
        let jobs = app
            .store
            .pending_jobs_of(herald::store::WEBHOOK_DELIVER_KIND, 10)
            .await
            .expect("jobs");
        let logged = deliveries(&app, &owner, id).await[0]["attempts"] == 1;
        if logged && jobs.len() == 1 && jobs[0].state == herald::domain::jobs::JobState::Queued {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(deliveries(&app, &owner, id).await[0]["state"], "pending");
    clock.advance(SignedDuration::from_hours(25));
    receiver.wait_for("/late/fail", 2).await;
    let owner = signed_in_again(&app, &clock, &owner).await;
    for _ in 0..200 {
        if deliveries(&app, &owner, id).await[0]["state"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let log = deliveries(&app, &owner, id).await;
    assert_eq!(log[0]["state"], "failed", "{log:?}");
    assert_eq!(log[0]["attempts"], 2);
    assert_eq!(log[0]["error"], "the endpoint answered 500");
    // Two failures are not a pattern: the endpoint stays on, and nothing is tried again.
    let detail = owner
        .get_json(&app, &format!("/api/v1/webhooks/{id}"))
        .await;
    assert!(detail["endpoint"]["disabled"].is_null(), "{detail}");
    clock.advance(SignedDuration::from_hours(2));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.wait_for("/late/fail", 2).await.len(), 2);
}

#[tokio::test]
async fn the_mail_and_webhook_pages_work_in_a_browser_on_a_phone_and_pass_axe() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let Some(browser) = crate::webdriver::Browser::launch().await else {
        return;
    };
    crate::browser::sign_in_in_browser(&browser, &app, &clock, &owner).await;
    browser.set_window_size(390, 844).await;

    browser.goto(&app.url("/account/notifications")).await;
    browser
        .click(&browser.find("input[name='policy'][value='digest']").await)
        .await;
    browser
        .click_and_wait(
            &browser
                .find("form[action='/account/notifications'] button")
                .await,
        )
        .await;
    assert!(
        browser
            .text_of("#preferences-notice")
            .await
            .starts_with("Saved.")
    );
    assert!(
        browser
            .text_of("#fixed-lockdown")
            .await
            .contains("security alert")
    );
    browser.screenshot("mail-preferences-phone").await;
    // The form sends every choice; only the one changed is not "at once".
    let chosen = app.store.mail_preferences(owner.id).await.expect("choices");
    let digest: Vec<_> = chosen
        .iter()
        .filter(|(_, mode)| *mode == herald::domain::notifications::MailMode::Digest)
        .map(|(kind, _)| *kind)
        .collect();
    assert_eq!(
        digest,
        [herald::domain::notifications::NotificationKind::Policy]
    );

    browser.goto(&app.url("/settings/mail")).await;
    assert!(
        browser
            .text_of("#mail-off")
            .await
            .contains("No mail server is set up")
    );
    browser.screenshot("mail-settings-phone").await;

    browser.goto(&app.url("/settings/webhooks")).await;
    browser
        .fill("#webhook-url", "http://127.0.0.1:9/hook")
        .await;
    browser
        .fill("#webhook-description", "our own program")
        .await;
    browser
        .click(
            &browser
                .find("input[name='events'][value='incident.opened']")
                .await,
        )
        .await;
    browser
        .click_and_wait(
            &browser
                .find("form[action='/settings/webhooks'] button")
                .await,
        )
        .await;
    let secret = browser
        .property(&browser.find("#webhook-secret").await, "value")
        .await;
    assert!(
        secret.as_str().is_some_and(|s| s.starts_with("whsec_")),
        "{secret}"
    );
    browser.screenshot("webhooks-phone").await;
    let endpoints = app.store.webhook_endpoints().await.expect("endpoints");
    assert_eq!(endpoints[0].events, ["incident.opened"]);
    browser
        .goto(&app.url(&format!("/settings/webhooks/{}", endpoints[0].id)))
        .await;
    browser
        .click_and_wait(&browser.find("form[action$='/test'] button").await)
        .await;
    assert!(
        browser
            .text_of("#webhook-notice")
            .await
            .contains("was not delivered"),
        "nothing listens on port 9"
    );
    browser.screenshot("webhook-log-phone").await;
    browser.close().await;
}
