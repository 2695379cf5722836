//! People and access through the JSON API: first-run setup, sign-in with a second factor,
//! throttling, CSRF, invitations, offboarding, API tokens and the audit log. Time is a
//! hand-moved clock, so TOTP steps and expiries are exact.

use herald::domain::ids::UserId;
use std::sync::Arc;

use herald::clock::{Clock, ManualClock};
use herald::domain::totp::{TotpSecret, step_at};
use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with_clock};

pub const OWNER_EMAIL: &str = "owner@sunny.example";
pub const OWNER_PASSWORD: &str = "marmalade kettle harbour 42";

/// A Herald with a hand-moved clock.
pub async fn app() -> (TestApp, ManualClock) {
    let clock = ManualClock::new(Timestamp::from_second(1_800_000_000).expect("time"));
    let app = spawn_app_with_clock(|_| {}, Arc::new(clock.clone())).await;
    (app, clock)
}

/// A browser-like client of its own, with its own cookie jar.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Someone signed in: their client (holding the session cookie), CSRF token and TOTP secret.
pub struct Person {
    pub client: reqwest::Client,
    pub csrf: String,
    pub secret: TotpSecret,
    pub email: String,
    pub password: String,
    pub recovery_codes: Vec<String>,
    pub id: UserId,
}

pub fn code(secret: &TotpSecret, clock: &impl Clock) -> String {
    secret.code_at_step(step_at(clock.now()))
}

impl Person {
    pub async fn get(&self, app: &TestApp, path: &str) -> reqwest::Response {
        self.client
            .get(app.url(path))
            .send()
            .await
            .expect("request")
    }

    /// `GET path` as this person, read as JSON.
    pub async fn get_json(&self, app: &TestApp, path: &str) -> Value {
        self.get(app, path).await.json().await.expect("JSON")
    }

    pub async fn send(
        &self,
        app: &TestApp,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .request(method, app.url(path))
            .header("x-csrf-token", &self.csrf);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request")
    }

    /// Sends a page's form as a browser would, with this person's CSRF token; redirects are
    /// not followed.
    pub async fn form(
        &self,
        app: &TestApp,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.client
            .post(app.url(path))
            .form(&all)
            .send()
            .await
            .expect("request")
    }

    pub async fn post(&self, app: &TestApp, path: &str, body: Value) -> reqwest::Response {
        self.send(app, reqwest::Method::POST, path, Some(body))
            .await
    }
}

/// Runs first-run setup through the API and returns the signed-in owner.
pub async fn set_up(app: &TestApp, clock: &impl Clock) -> Person {
    let client = client();
    let enrolment: Value = client
        .get(app.url(&format!("/api/v1/setup?email={OWNER_EMAIL}")))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    let secret =
        TotpSecret::from_base32(enrolment["secret"].as_str().expect("secret")).expect("base32");
    let response = client
        .post(app.url("/api/v1/setup"))
        .json(&json!({
            "setup_code": app.setup_code(),
            "organisation": "Sunny Café",
            "name": "Olive Owner",
            "email": OWNER_EMAIL,
            "password": OWNER_PASSWORD,
            "enrolment_token": enrolment["enrolment_token"],
            "code": code(&secret, clock),
        }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.expect("JSON");
    Person {
        client,
        csrf: body["csrf_token"].as_str().expect("csrf").to_owned(),
        secret,
        email: OWNER_EMAIL.to_owned(),
        password: OWNER_PASSWORD.to_owned(),
        recovery_codes: body["recovery_codes"]
            .as_array()
            .expect("codes")
            .iter()
            .map(|c| c.as_str().expect("code").to_owned())
            .collect(),
        id: UserId::new(body["user"]["id"].as_i64().expect("id")),
    }
}

/// `person` signed in again in a client of its own: another device, a second session.
pub async fn signed_in_again(app: &TestApp, clock: &ManualClock, person: &Person) -> Person {
    clock.advance(SignedDuration::from_secs(30));
    let other = client();
    let response = other
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "email": person.email, "password": person.password, "code": code(&person.secret, clock) }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("JSON");
    Person {
        client: other,
        csrf: body["csrf_token"].as_str().expect("csrf").to_owned(),
        secret: person.secret.clone(),
        email: person.email.clone(),
        password: person.password.clone(),
        recovery_codes: Vec::new(),
        id: person.id,
    }
}

/// Invites `email` as `role` (by `inviter`) and accepts the invitation in a fresh client.
pub async fn invite_and_join(
    app: &TestApp,
    clock: &ManualClock,
    inviter: &Person,
    email: &str,
    role: &str,
) -> Person {
    let invited: Value = inviter
        .post(
            app,
            "/api/v1/invitations",
            json!({ "email": email, "role": role }),
        )
        .await
        .json()
        .await
        .expect("JSON");
    let link = invited["link"].as_str().expect("link");
    let token = link.rsplit('/').next().expect("token");
    let client = client();
    let opened: Value = client
        .get(app.url(&format!("/api/v1/invitations/{token}")))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    let secret = TotpSecret::from_base32(opened["enrolment"]["secret"].as_str().expect("secret"))
        .expect("base32");
    let password = format!("{email} chose quiet violet lanterns");
    let response = client
        .post(app.url(&format!("/api/v1/invitations/{token}/accept")))
        .json(&json!({
            "name": format!("Person {email}"),
            "password": password,
            "enrolment_token": opened["enrolment"]["enrolment_token"],
            "code": code(&secret, clock),
        }))
        .send()
        .await
        .expect("request");
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{:?}",
        response.text().await
    );
    let body: Value = response.json().await.expect("JSON");
    Person {
        client,
        csrf: body["csrf_token"].as_str().expect("csrf").to_owned(),
        secret,
        email: email.to_owned(),
        password,
        recovery_codes: Vec::new(),
        id: UserId::new(body["user"]["id"].as_i64().expect("id")),
    }
}

async fn login(app: &TestApp, email: &str, password: &str, code: &str) -> reqwest::Response {
    client()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "email": email, "password": password, "code": code }))
        .send()
        .await
        .expect("request")
}

async fn audit_actions(app: &TestApp) -> Vec<String> {
    let entries = app
        .store
        .audit_entries(&herald::store::AuditFilter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .expect("audit");
    entries.into_iter().map(|entry| entry.action).collect()
}

#[tokio::test]
async fn setup_creates_the_owner_signs_them_in_and_hands_out_ten_recovery_codes() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    assert_eq!(owner.recovery_codes.len(), 10);
    let me: Value = owner.get_json(&app, "/api/v1/me").await;
    assert_eq!(me["user"]["email"], OWNER_EMAIL);
    assert_eq!(me["user"]["role"], "owner");
    assert_eq!(me["organisation"], "Sunny Café");
    assert_eq!(me["recovery_codes_left"], 10);
    assert_eq!(audit_actions(&app).await, ["setup.completed"]);
}

#[tokio::test]
async fn setup_happens_once() {
    let (app, clock) = app().await;
    set_up(&app, &clock).await;
    let again = client()
        .get(app.url("/api/v1/setup?email=someone@else.example"))
        .send()
        .await
        .expect("request");
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let problem: Value = again.json().await.expect("JSON");
    assert_eq!(
        problem["detail"],
        "Herald is already set up; sign in instead"
    );
}

#[tokio::test]
async fn a_wrong_first_code_or_weak_password_at_setup_creates_nothing() {
    let (app, _clock) = app().await;
    let client = client();
    let enrolment: Value = client
        .get(app.url("/api/v1/setup?email=a@b.example"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    let attempt = |password: &'static str, code: &'static str| {
        let client = client.clone();
        let url = app.url("/api/v1/setup");
        let token = enrolment["enrolment_token"].clone();
        let setup_code = app.setup_code();
        async move {
            client
                .post(url)
                .json(&json!({ "setup_code": setup_code, "organisation": "Shop", "name": "Ann", "email": "a@b.example", "password": password, "enrolment_token": token, "code": code }))
                .send()
                .await
                .expect("request")
        }
    };
    let wrong_code = attempt("marmalade kettle harbour 42", "000000").await;
    assert_eq!(wrong_code.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = wrong_code.json().await.expect("JSON");
    assert_eq!(problem["field"], "code");

    let weak = attempt("password1234", "000000").await;
    let problem: Value = weak.json().await.expect("JSON");
    assert_eq!(problem["field"], "password");
    assert_eq!(app.store.user_count().await.expect("count"), 0);
}

#[tokio::test]
async fn a_member_signs_in_with_password_and_code_and_each_code_works_once() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    clock.advance(SignedDuration::from_secs(30));
    let current = code(&owner.secret, &clock);
    let first = login(&app, OWNER_EMAIL, OWNER_PASSWORD, &current).await;
    assert_eq!(first.status(), StatusCode::OK);
    let cookie = first.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "not over plain HTTP");

    let replay = login(&app, OWNER_EMAIL, OWNER_PASSWORD, &current).await;
    assert_eq!(
        replay.status(),
        StatusCode::UNAUTHORIZED,
        "a code works once"
    );
    assert!(
        audit_actions(&app)
            .await
            .contains(&"auth.login.second_factor_failed".to_owned())
    );
}

#[tokio::test]
async fn wrong_passwords_and_codes_get_one_message_and_an_audit_entry() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    clock.advance(SignedDuration::from_secs(30));
    let wrong_password = login(
        &app,
        OWNER_EMAIL,
        "not the password at all",
        &code(&owner.secret, &clock),
    )
    .await;
    let unknown = login(&app, "nobody@sunny.example", OWNER_PASSWORD, "123456").await;
    for response in [wrong_password, unknown] {
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let problem: Value = response.json().await.expect("JSON");
        assert_eq!(
            problem["detail"],
            "the email address, password or code is not right"
        );
    }
    let actions = audit_actions(&app).await;
    assert_eq!(
        actions.iter().filter(|a| *a == "auth.login.failed").count(),
        2,
        "{actions:?}"
    );
}

#[tokio::test]
async fn a_recovery_code_signs_in_once() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let recovery = owner.recovery_codes[3].to_uppercase();
    assert_eq!(
        login(&app, OWNER_EMAIL, OWNER_PASSWORD, &recovery)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        login(&app, OWNER_EMAIL, OWNER_PASSWORD, &recovery)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let me: Value = owner.get_json(&app, "/api/v1/me").await;
    assert_eq!(me["recovery_codes_left"], 9);
}

#[tokio::test]
async fn repeated_failures_slow_down_sign_in_with_retry_after_but_never_lock_for_good() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    for _ in 0..4 {
        assert_eq!(
            login(&app, OWNER_EMAIL, "wrong password here", "123456")
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
    clock.advance(SignedDuration::from_secs(30));
    let throttled = login(
        &app,
        OWNER_EMAIL,
        OWNER_PASSWORD,
        &code(&owner.secret, &clock),
    )
    .await;
    assert_eq!(
        throttled.status(),
        StatusCode::OK,
        "the fourth failure waits only 1 s, and 30 s passed"
    );
    for _ in 0..6 {
        login(&app, OWNER_EMAIL, "wrong password here", "123456").await;
    }
    let blocked = login(&app, OWNER_EMAIL, OWNER_PASSWORD, "123456").await;
    assert_eq!(blocked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(blocked.headers().contains_key("retry-after"));
    clock.advance(SignedDuration::from_mins(16));
    let later = login(
        &app,
        OWNER_EMAIL,
        OWNER_PASSWORD,
        &code(&owner.secret, &clock),
    )
    .await;
    assert_eq!(later.status(), StatusCode::OK);
}

#[tokio::test]
async fn state_changing_api_calls_need_the_csrf_token_and_the_same_origin() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let without = owner
        .client
        .post(app.url("/api/v1/auth/logout-everywhere"))
        .send()
        .await
        .expect("request");
    assert_eq!(without.status(), StatusCode::FORBIDDEN);
    let cross_site = owner
        .client
        .post(app.url("/api/v1/auth/logout-everywhere"))
        .header("x-csrf-token", &owner.csrf)
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("request");
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        owner.get(&app, "/api/v1/me").await.status(),
        StatusCode::OK,
        "nothing happened"
    );
    let with = owner
        .post(&app, "/api/v1/auth/logout-everywhere", json!({}))
        .await;
    assert_eq!(with.status(), StatusCode::OK);
    assert_eq!(
        owner.get(&app, "/api/v1/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn sessions_end_after_an_idle_hour() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    clock.advance(SignedDuration::from_mins(59));
    assert_eq!(owner.get(&app, "/api/v1/me").await.status(), StatusCode::OK);
    clock.advance(SignedDuration::from_mins(61));
    assert_eq!(
        owner.get(&app, "/api/v1/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn an_invitation_link_works_once_and_not_after_it_expires() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let member = invite_and_join(&app, &clock, &owner, "mia@sunny.example", "member").await;
    let me: Value = member.get_json(&app, "/api/v1/me").await;
    assert_eq!(me["user"]["role"], "member");

    let invited: Value = owner
        .post(
            &app,
            "/api/v1/invitations",
            json!({ "email": "late@sunny.example", "role": "member" }),
        )
        .await
        .json()
        .await
        .expect("JSON");
    assert!(
        invited["mailto"]
            .as_str()
            .expect("mailto")
            .starts_with("mailto:late@sunny.example?subject=")
    );
    let token = invited["link"]
        .as_str()
        .expect("link")
        .rsplit('/')
        .next()
        .expect("token")
        .to_owned();
    let again = owner
        .post(
            &app,
            "/api/v1/invitations",
            json!({ "email": "mia@sunny.example", "role": "member" }),
        )
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT, "already a member");
    clock.advance(SignedDuration::from_hours(73));
    let expired = client()
        .get(app.url(&format!("/api/v1/invitations/{token}")))
        .send()
        .await
        .expect("request");
    assert_eq!(expired.status(), StatusCode::GONE);
}

#[tokio::test]
async fn deactivating_a_member_ends_their_sessions_and_tokens_at_once() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let leaver = invite_and_join(&app, &clock, &owner, "leo@sunny.example", "admin").await;
    let created: Value = leaver
        .post(
            &app,
            "/api/v1/tokens",
            json!({ "name": "script", "scopes": ["me:read"], "expires_in_days": 30 }),
        )
        .await
        .json()
        .await
        .expect("JSON");
    let secret = created["secret"].as_str().expect("secret").to_owned();
    assert!(secret.starts_with("herald_pat_"));
    let with_token = reqwest::Client::new()
        .get(app.url("/api/v1/me"))
        .bearer_auth(&secret)
        .send()
        .await
        .expect("request");
    assert_eq!(with_token.status(), StatusCode::OK);

    let deactivated = owner
        .post(
            &app,
            &format!("/api/v1/members/{}/deactivate", leaver.id),
            json!({}),
        )
        .await;
    assert_eq!(deactivated.status(), StatusCode::OK);
    assert_eq!(
        leaver.get(&app, "/api/v1/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let with_token = reqwest::Client::new()
        .get(app.url("/api/v1/me"))
        .bearer_auth(&secret)
        .send()
        .await
        .expect("request");
    assert_eq!(with_token.status(), StatusCode::UNAUTHORIZED);
    clock.advance(SignedDuration::from_secs(60));
    let relogin = login(
        &app,
        &leaver.email,
        &leaver.password,
        &code(&leaver.secret, &clock),
    )
    .await;
    assert_eq!(relogin.status(), StatusCode::UNAUTHORIZED);
    assert!(
        audit_actions(&app)
            .await
            .contains(&"member.deactivated".to_owned())
    );
}

#[tokio::test]
async fn the_last_owner_cannot_be_removed_or_demoted() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let demote = owner
        .send(
            &app,
            reqwest::Method::PATCH,
            &format!("/api/v1/members/{}", owner.id),
            Some(json!({ "role": "member" })),
        )
        .await;
    assert_eq!(demote.status(), StatusCode::CONFLICT);
    let problem: Value = demote.json().await.expect("JSON");
    assert_eq!(
        problem["detail"],
        "the organisation must keep at least one active owner"
    );
    let me: Value = owner.get_json(&app, "/api/v1/me").await;
    assert_eq!(me["user"]["role"], "owner", "nothing changed");
    let admin = invite_and_join(&app, &clock, &owner, "ada@sunny.example", "admin").await;
    let admin_deactivates_owner = admin
        .post(
            &app,
            &format!("/api/v1/members/{}/deactivate", owner.id),
            json!({}),
        )
        .await;
    assert_eq!(admin_deactivates_owner.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn api_tokens_are_shown_once_scoped_and_revocable_and_cannot_mint_tokens() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let created = owner
        .post(
            &app,
            "/api/v1/tokens",
            json!({ "name": "reports", "scopes": ["audit:read"], "expires_in_days": 7 }),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.expect("JSON");
    let secret = created["secret"].as_str().expect("secret").to_owned();
    let listed = owner
        .get(&app, "/api/v1/tokens")
        .await
        .text()
        .await
        .expect("body");
    assert!(
        listed.contains("reports") && !listed.contains(&secret),
        "{listed}"
    );

    let bearer = |path: &str| {
        reqwest::Client::new()
            .get(app.url(path))
            .bearer_auth(&secret)
            .send()
    };
    assert_eq!(
        bearer("/api/v1/audit").await.expect("request").status(),
        StatusCode::OK
    );
    assert_eq!(
        bearer("/api/v1/members").await.expect("request").status(),
        StatusCode::FORBIDDEN,
        "no members:read scope"
    );
    let mint = reqwest::Client::new()
        .post(app.url("/api/v1/tokens"))
        .bearer_auth(&secret)
        .json(&json!({ "name": "more", "scopes": ["audit:read"], "expires_in_days": 7 }))
        .send()
        .await
        .expect("request");
    assert_eq!(mint.status(), StatusCode::FORBIDDEN);

    let bad = owner
        .post(
            &app,
            "/api/v1/tokens",
            json!({ "name": "x", "scopes": ["everything"], "expires_in_days": 7 }),
        )
        .await;
    let problem: Value = bad.json().await.expect("JSON");
    assert_eq!(problem["field"], "scopes");

    let id = created["token"]["id"].as_i64().expect("id");
    assert_eq!(
        owner
            .send(
                &app,
                reqwest::Method::DELETE,
                &format!("/api/v1/tokens/{id}"),
                None
            )
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        bearer("/api/v1/audit").await.expect("request").status(),
        StatusCode::UNAUTHORIZED
    );
    clock.advance(SignedDuration::from_secs(1));
}

#[tokio::test]
async fn the_audit_log_records_everything_and_never_a_secret() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let member = invite_and_join(&app, &clock, &owner, "mo@sunny.example", "member").await;
    let token: Value = owner
        .post(
            &app,
            "/api/v1/tokens",
            json!({ "name": "t", "scopes": ["audit:read"], "expires_in_days": 1 }),
        )
        .await
        .json()
        .await
        .expect("JSON");
    login(&app, OWNER_EMAIL, "wrong password typed", "123456").await;

    let export = owner.get(&app, "/api/v1/audit/export").await;
    assert_eq!(export.status(), StatusCode::OK);
    let lines = export.text().await.expect("body");
    let actions: Vec<String> = lines
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).expect("JSON line")["action"]
                .as_str()
                .expect("action")
                .to_owned()
        })
        .collect();
    for expected in [
        "setup.completed",
        "member.invited",
        "member.joined",
        "token.created",
        "auth.login.failed",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} missing from {actions:?}"
        );
    }
    for secret in [
        OWNER_PASSWORD,
        &member.password,
        token["secret"].as_str().expect("secret"),
        &owner.secret.base32(),
        &owner.recovery_codes[0],
        "wrong password typed",
    ] {
        assert!(!lines.contains(secret), "a secret reached the audit log");
    }
    assert_eq!(
        member.get(&app, "/api/v1/audit/export").await.status(),
        StatusCode::FORBIDDEN
    );
    let filtered: Value = owner.get_json(&app, "/api/v1/audit?action=member.").await;
    assert!(
        filtered
            .as_array()
            .expect("list")
            .iter()
            .all(|e| e["action"].as_str().expect("action").starts_with("member."))
    );
}

#[tokio::test]
async fn malformed_bodies_get_specific_problems_and_change_nothing() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let not_json = owner
        .client
        .post(app.url("/api/v1/invitations"))
        .header("x-csrf-token", &owner.csrf)
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .expect("request");
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    let problem: Value = not_json.json().await.expect("JSON");
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .starts_with("the body is not valid JSON"),
        "{problem}"
    );
    let wrong_role = owner
        .post(
            &app,
            "/api/v1/invitations",
            json!({ "email": "x@y.example", "role": "emperor" }),
        )
        .await;
    assert_eq!(wrong_role.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let huge = owner
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(vec![b' '; 2 * 1024 * 1024])
        .send()
        .await
        .expect("request");
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        audit_actions(&app).await,
        ["setup.completed"],
        "nothing was recorded or changed"
    );
}

#[tokio::test]
async fn passkey_sign_in_options_are_alike_for_a_right_and_a_wrong_password() {
    let (app, clock) = app().await;
    set_up(&app, &clock).await;
    let start = |email: &'static str, password: &'static str| {
        client()
            .post(app.url("/api/v1/auth/passkey/options"))
            .json(&json!({ "email": email, "password": password }))
            .send()
    };
    // The shape of an answer, with the parts that change every time (challenge) left out.
    let shape = |mut answer: Value| {
        answer["options"]["publicKey"]["challenge"] = json!("");
        answer["state"] = json!("");
        answer
    };
    let wrong = start(OWNER_EMAIL, "not the right password")
        .await
        .expect("request");
    assert_eq!(wrong.status(), StatusCode::OK);
    let wrong: Value = wrong.json().await.expect("JSON");
    let right = start(OWNER_EMAIL, OWNER_PASSWORD).await.expect("request");
    assert_eq!(right.status(), StatusCode::OK);
    let right: Value = right.json().await.expect("JSON");
    assert_eq!(
        shape(wrong.clone()),
        shape(right.clone()),
        "the password's verdict is not told here"
    );
    assert_ne!(
        wrong["options"]["publicKey"]["challenge"],
        right["options"]["publicKey"]["challenge"]
    );
    let stranger = start("nobody@sunny.example", "whatever")
        .await
        .expect("request");
    assert_eq!(
        stranger.status(),
        StatusCode::OK,
        "nor whether the address has an account"
    );

    // The verdict comes with the passkey's: both tokens end in the one message of a failed
    // sign-in.
    for ceremony in [&wrong, &right] {
        let finished = client()
            .post(app.url("/api/v1/auth/passkey"))
            .json(&json!({ "state": ceremony["state"], "credential": {
                "id": "AA", "rawId": "AA", "type": "public-key", "extensions": {},
                "response": { "authenticatorData": "AA", "clientDataJSON": "AA", "signature": "AA", "userHandle": null } } }))
            .send()
            .await
            .expect("request");
        assert_eq!(finished.status(), StatusCode::UNAUTHORIZED);
        let problem: Value = finished.json().await.expect("JSON");
        assert_eq!(
            problem["detail"],
            "the email address, password or code is not right"
        );
    }

    let forged = client()
        .post(app.url("/api/v1/auth/passkey"))
        .json(&json!({ "state": "forged", "credential": {
            "id": "AA", "rawId": "AA", "type": "public-key", "extensions": {},
            "response": { "authenticatorData": "AA", "clientDataJSON": "AA", "signature": "AA", "userHandle": null } } }))
        .send()
        .await
        .expect("request");
    assert_eq!(
        forged.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a forged ceremony token is refused"
    );
}

#[tokio::test]
async fn behind_tls_the_session_and_device_cookies_are_secure() {
    let clock = ManualClock::new(Timestamp::from_second(1_800_000_000).expect("time"));
    let app = spawn_app_with_clock(
        |config| config.public_url = Some("https://herald.sunny.example".to_owned()),
        Arc::new(clock.clone()),
    )
    .await;
    let enrolment: Value = client()
        .get(app.url("/api/v1/setup?email=a@sunny.example"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    let secret =
        TotpSecret::from_base32(enrolment["secret"].as_str().expect("secret")).expect("base32");
    let response = client()
        .post(app.url("/api/v1/setup"))
        .json(&json!({ "setup_code": app.setup_code(), "organisation": "Shop", "name": "Ann", "email": "a@sunny.example", "password": OWNER_PASSWORD,
                       "enrolment_token": enrolment["enrolment_token"], "code": code(&secret, &clock) }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::CREATED);
    let cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().expect("ascii").to_owned())
        .collect();
    assert_eq!(cookies.len(), 2, "the session and the device cookie");
    for cookie in &cookies {
        assert!(
            cookie.contains("; Secure")
                && cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
    }
    let cookie = cookies
        .iter()
        .find(|cookie| cookie.contains("herald_session="))
        .expect("the session cookie");
    // The __Host- prefix: browsers keep it only Secure, with Path=/ and no Domain, so no
    // neighbouring subdomain can plant or shadow it.
    assert!(
        cookie.starts_with("__Host-herald_session=")
            && cookie.contains("; Path=/;")
            && !cookie.to_lowercase().contains("domain="),
        "{cookie}"
    );
    let value = cookie
        .split(';')
        .next()
        .and_then(|pair| pair.split_once('='))
        .map(|(_, value)| value.to_owned())
        .expect("cookie value");
    let me = |name: &str| {
        client()
            .get(app.url("/api/v1/me"))
            .header("cookie", format!("{name}={value}"))
            .send()
    };
    assert_eq!(
        me("__Host-herald_session").await.expect("request").status(),
        StatusCode::OK
    );
    assert_eq!(
        me("herald_session").await.expect("request").status(),
        StatusCode::UNAUTHORIZED,
        "behind TLS only the prefixed cookie counts"
    );
}

/// Sends every sign-in of `bodies` at once and returns how many were judged (401) and
/// whether any was told to wait (429).
async fn burst_of_sign_ins(app: &TestApp, bodies: Vec<Value>) -> (usize, bool, Vec<StatusCode>) {
    let mut guesses = tokio::task::JoinSet::new();
    for body in bodies {
        let url = app.url("/api/v1/auth/login");
        guesses.spawn(async move {
            client()
                .post(url)
                .json(&body)
                .send()
                .await
                .expect("request")
                .status()
        });
    }
    let mut statuses = Vec::new();
    while let Some(status) = guesses.join_next().await {
        statuses.push(status.expect("guess"));
    }
    let judged = statuses
        .iter()
        .filter(|status| **status == StatusCode::UNAUTHORIZED)
        .count();
    let waited = statuses.contains(&StatusCode::TOO_MANY_REQUESTS);
    (judged, waited, statuses)
}

#[tokio::test]
async fn a_burst_of_parallel_guesses_is_throttled_like_guesses_one_by_one() {
    let (app, clock) = app().await;
    set_up(&app, &clock).await;
    let bodies = (0..12)
        .map(|n| json!({ "email": OWNER_EMAIL, "password": OWNER_PASSWORD, "code": format!("{n:06}") }))
        .collect();
    let (judged, waited, statuses) = burst_of_sign_ins(&app, bodies).await;
    assert!(
        judged <= 4,
        "only the free failures and one more are judged; the rest wait: {statuses:?}"
    );
    assert!(waited, "{statuses:?}");
}

#[tokio::test]
async fn a_burst_of_guesses_at_many_accounts_from_one_address_is_throttled_like_one_by_one() {
    let (app, clock) = app().await;
    set_up(&app, &clock).await;
    let bodies = (0..24)
        .map(|n| {
            json!({ "email": format!("guess{n}@elsewhere.example"),
                    "password": "spray-one-password", "code": "000000" })
        })
        .collect();
    let (judged, waited, statuses) = burst_of_sign_ins(&app, bodies).await;
    // Ten free failures an address, then one more is judged before the waits begin.
    assert!(
        judged <= 11,
        "only the address's free failures are judged; the rest wait: {statuses:?}"
    );
    assert!(waited, "{statuses:?}");
}

#[tokio::test]
async fn a_state_change_from_an_opaque_origin_is_refused() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let response = owner
        .client
        .post(app.url("/api/v1/auth/logout-everywhere"))
        .header("x-csrf-token", &owner.csrf)
        .header("origin", "null")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_invitation_stops_working_when_its_inviter_leaves() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let admin = invite_and_join(&app, &clock, &owner, "ad@sunny.example", "admin").await;
    let invited: Value = admin
        .post(
            &app,
            "/api/v1/invitations",
            json!({ "email": "friend@elsewhere.example", "role": "admin" }),
        )
        .await
        .json()
        .await
        .expect("JSON");
    let token = invited["link"]
        .as_str()
        .expect("link")
        .rsplit('/')
        .next()
        .expect("token")
        .to_owned();
    assert_eq!(
        client()
            .get(app.url(&format!("/api/v1/invitations/{token}")))
            .send()
            .await
            .expect("request")
            .status(),
        StatusCode::OK
    );
    owner
        .post(
            &app,
            &format!("/api/v1/members/{}/deactivate", admin.id),
            json!({}),
        )
        .await;
    assert_eq!(
        client()
            .get(app.url(&format!("/api/v1/invitations/{token}")))
            .send()
            .await
            .expect("request")
            .status(),
        StatusCode::GONE
    );
}

#[tokio::test]
async fn an_api_body_with_an_unknown_field_is_refused_naming_it() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let response = owner
        .post(
            &app,
            "/api/v1/tokens",
            json!({ "name": "menu script", "scopes": ["me:read"], "expires_in_days": 30, "colour": "teal" }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = response.json().await.expect("JSON");
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .contains("colour"),
        "{problem}"
    );
    let tokens = owner.get_json(&app, "/api/v1/tokens").await;
    assert_eq!(tokens, json!([]), "no token was made");
}

#[tokio::test]
async fn a_token_name_is_at_most_100_characters_as_sent_and_is_stored_trimmed() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let padded = format!(" {}", "a".repeat(100));
    let too_long = owner
        .post(
            &app,
            "/api/v1/tokens",
            json!({ "name": padded, "scopes": ["me:read"], "expires_in_days": 30 }),
        )
        .await;
    assert_eq!(too_long.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = too_long.json().await.expect("JSON");
    assert_eq!(problem["field"], "name");
    let made: Value = owner
        .post(
            &app,
            "/api/v1/tokens",
            json!({ "name": "  menu script  ", "scopes": ["me:read"], "expires_in_days": 366 }),
        )
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(made["token"]["name"], "menu script");
}
