//! Looking after one's own account and recovering it (OWASP ASVS V6), through the API and the
//! "Your account" page: changing one's password, moving to a new authenticator, new recovery
//! codes, seeing and ending one's sessions; an owner resetting a member's second factor and
//! the member enrolling anew; a departed member invited back; `herald user reset-2fa`; and
//! the code asked before a passkey is added or removed.

use herald::domain::ids::UserId;
use std::sync::Arc;

use herald::clock::ManualClock;
use herald::domain::totp::TotpSecret;
use jiff::{SignedDuration, Timestamp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha1::{Digest, Sha1};
use tempfile::TempDir;

use crate::helpers::{TestApp, herald_for, run, spawn_app_with_clock};
use crate::people::{
    OWNER_EMAIL, OWNER_PASSWORD, Person, app, client, code, invite_and_join, set_up,
    signed_in_again,
};

const NEW_PASSWORD: &str = "seven copper lanterns over the quay";
/// A strong-looking password that the test's own breach list holds.
const BREACHED: &str = "harbour lights and marmalade toast";

async fn login(app: &TestApp, email: &str, password: &str, code: &str) -> reqwest::Response {
    client()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "email": email, "password": password, "code": code }))
        .send()
        .await
        .expect("request")
}

fn fresh(person: &Person, clock: &ManualClock) -> String {
    clock.advance(SignedDuration::from_secs(30));
    code(&person.secret, clock)
}

async fn problem(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.expect("problem JSON"))
}

async fn audit(app: &TestApp) -> Vec<herald::domain::audit::AuditEntry> {
    app.store
        .audit_entries(&herald::store::AuditFilter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .expect("audit")
}

async fn subjects(app: &TestApp, person: &Person) -> Vec<String> {
    let told: Value = person.get_json(app, "/api/v1/notifications").await;
    told.as_array()
        .expect("list")
        .iter()
        .filter_map(|n| n["subject"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_member_changes_their_password_with_the_current_one_and_a_fresh_code() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let member = invite_and_join(&app, &clock, &owner, "mo@sunny.example", "member").await;
    let laptop = signed_in_again(&app, &clock, &member).await;
    let change = |current: &str, code: String, new: &str| json!({ "current_password": current, "code": code, "new_password": new });

    let wrong_current = member
        .post(
            &app,
            "/api/v1/me/password",
            change("not it at all", fresh(&member, &clock), NEW_PASSWORD),
        )
        .await;
    let (status, body) = problem(wrong_current).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "current_password", "{body}");
    let wrong_code = member
        .post(
            &app,
            "/api/v1/me/password",
            change(&member.password, "000000".to_owned(), NEW_PASSWORD),
        )
        .await;
    let (status, body) = problem(wrong_code).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "code", "{body}");
    let weak = member
        .post(
            &app,
            "/api/v1/me/password",
            change(&member.password, fresh(&member, &clock), "short"),
        )
        .await;
    let (status, body) = problem(weak).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "new_password", "{body}");

    let changed = member
        .post(
            &app,
            "/api/v1/me/password",
            change(&member.password, fresh(&member, &clock), NEW_PASSWORD),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let changed: Value = changed.json().await.expect("JSON");
    assert_eq!(changed["other_sessions_ended"], 1);
    assert_eq!(
        laptop.get(&app, "/api/v1/me").await.status(),
        StatusCode::UNAUTHORIZED,
        "the other session ended"
    );
    assert_eq!(
        member.get(&app, "/api/v1/me").await.status(),
        StatusCode::OK,
        "this session stays"
    );
    let old = login(
        &app,
        &member.email,
        &member.password,
        &fresh(&member, &clock),
    )
    .await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let new = login(&app, &member.email, NEW_PASSWORD, &fresh(&member, &clock)).await;
    assert_eq!(new.status(), StatusCode::OK);
    let entries = audit(&app).await;
    let entry = entries
        .iter()
        .find(|entry| entry.action == "auth.password_changed")
        .expect("audited");
    let text = serde_json::to_string(&entry.details).expect("JSON");
    assert!(!text.contains(NEW_PASSWORD) && !text.contains(&member.password));
}

/// Writes a breach list holding `BREACHED` and imports it into the app's data directory.
fn import_breaches(dir: &TempDir) {
    let hash = hex::encode_upper(Sha1::digest(BREACHED.as_bytes()));
    let source = dir.path().join("breaches.txt");
    std::fs::write(&source, format!("{hash}:12\n")).expect("write");
    let (output, _, stderr) = run(herald_for(&dir.path().join("data"))
        .args(["breaches", "import"])
        .arg(&source)
        .arg("--data-dir")
        .arg(dir.path().join("data")));
    assert!(output.status.success(), "{stderr}");
}

#[tokio::test]
async fn a_breached_password_is_refused_at_invitation_and_when_changing_it() {
    let dir = TempDir::new().expect("temporary directory");
    let clock = ManualClock::new(Timestamp::from_second(1_800_000_000).expect("time"));
    let data = dir.path().join("data");
    let app = spawn_app_with_clock(
        move |config| config.data_dir = data,
        Arc::new(clock.clone()),
    )
    .await;
    let owner = set_up(&app, &clock).await;
    import_breaches(&dir);

    let invited: Value = owner
        .post(
            &app,
            "/api/v1/invitations",
            json!({ "email": "new@sunny.example", "role": "member" }),
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
    let opened: Value = client()
        .get(app.url(&format!("/api/v1/invitations/{token}")))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    let secret = TotpSecret::from_base32(opened["enrolment"]["secret"].as_str().expect("secret"))
        .expect("base32");
    let refused = client()
        .post(app.url(&format!("/api/v1/invitations/{token}/accept")))
        .json(&json!({ "name": "Nia New", "password": BREACHED, "enrolment_token": opened["enrolment"]["enrolment_token"], "code": code(&secret, &clock) }))
        .send()
        .await
        .expect("request");
    let (status, body) = problem(refused).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "password");
    assert!(
        body["detail"]
            .as_str()
            .expect("detail")
            .contains("breached"),
        "{body}"
    );

    let change = owner
        .post(&app, "/api/v1/me/password", json!({ "current_password": OWNER_PASSWORD, "code": fresh(&owner, &clock), "new_password": BREACHED }))
        .await;
    let (status, body) = problem(change).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "new_password");
    assert!(
        body["detail"]
            .as_str()
            .expect("detail")
            .contains("breached"),
        "{body}"
    );
}

#[tokio::test]
async fn a_new_authenticator_works_only_once_confirmed_and_then_the_old_one_stops() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let wrong = owner
        .post(
            &app,
            "/api/v1/me/authenticator",
            json!({ "current_password": "nope nope nope", "code": fresh(&owner, &clock) }),
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let started = owner
        .post(
            &app,
            "/api/v1/me/authenticator",
            json!({ "current_password": OWNER_PASSWORD, "code": fresh(&owner, &clock) }),
        )
        .await;
    assert_eq!(started.status(), StatusCode::OK);
    let enrolment: Value = started.json().await.expect("JSON");
    assert!(enrolment["qr_svg"].as_str().expect("QR").contains("<svg"));
    let new_secret =
        TotpSecret::from_base32(enrolment["secret"].as_str().expect("secret")).expect("base32");

    let before = login(&app, OWNER_EMAIL, OWNER_PASSWORD, &fresh(&owner, &clock)).await;
    assert_eq!(
        before.status(),
        StatusCode::OK,
        "the old app works until the new one is confirmed"
    );
    let not_confirmed = owner
        .post(&app, "/api/v1/me/authenticator/confirm", json!({ "enrolment_token": enrolment["enrolment_token"], "code": fresh(&owner, &clock) }))
        .await;
    assert_eq!(
        not_confirmed.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a code from the old app does not confirm the new one"
    );
    clock.advance(SignedDuration::from_secs(30));
    let confirmed = owner
        .post(&app, "/api/v1/me/authenticator/confirm", json!({ "enrolment_token": enrolment["enrolment_token"], "code": code(&new_secret, &clock) }))
        .await;
    assert_eq!(confirmed.status(), StatusCode::NO_CONTENT);

    let old = login(&app, OWNER_EMAIL, OWNER_PASSWORD, &fresh(&owner, &clock)).await;
    assert_eq!(
        old.status(),
        StatusCode::UNAUTHORIZED,
        "the old app no longer works"
    );
    clock.advance(SignedDuration::from_secs(30));
    let new = login(
        &app,
        OWNER_EMAIL,
        OWNER_PASSWORD,
        &code(&new_secret, &clock),
    )
    .await;
    assert_eq!(new.status(), StatusCode::OK);
    assert!(
        audit(&app)
            .await
            .iter()
            .any(|entry| entry.action == "auth.authenticator_replaced")
    );
}

#[tokio::test]
async fn new_recovery_codes_replace_the_old_ones() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let wrong = owner
        .post(
            &app,
            "/api/v1/me/recovery-codes",
            json!({ "code": "000000" }),
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let made = owner
        .post(
            &app,
            "/api/v1/me/recovery-codes",
            json!({ "code": fresh(&owner, &clock) }),
        )
        .await;
    assert_eq!(made.status(), StatusCode::OK);
    let made: Value = made.json().await.expect("JSON");
    let codes: Vec<String> = made["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().expect("code").to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    assert!(
        codes
            .iter()
            .all(|code| !owner.recovery_codes.contains(code))
    );

    let old = login(&app, OWNER_EMAIL, OWNER_PASSWORD, &owner.recovery_codes[0]).await;
    assert_eq!(
        old.status(),
        StatusCode::UNAUTHORIZED,
        "the old codes stopped working"
    );
    let new = login(&app, OWNER_EMAIL, OWNER_PASSWORD, &codes[0]).await;
    assert_eq!(new.status(), StatusCode::OK);
    let me: Value = owner.get_json(&app, "/api/v1/me").await;
    assert_eq!(me["recovery_codes_left"], 9);
    let stored = app
        .store
        .unused_recovery_codes(owner.id)
        .await
        .expect("codes");
    assert!(
        stored.iter().all(|hash| hash.starts_with("s1$")),
        "stored salted: {stored:?}"
    );
}

#[tokio::test]
async fn a_member_sees_their_sessions_and_ends_one_or_all_the_others() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let phone = signed_in_again(&app, &clock, &owner).await;
    let tablet = signed_in_again(&app, &clock, &owner).await;
    let sessions: Value = owner.get_json(&app, "/api/v1/me/sessions").await;
    let sessions = sessions.as_array().expect("list");
    assert_eq!(sessions.len(), 3);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(
        sessions
            .iter()
            .all(|s| s["ip"] == "127.0.0.1" && s["last_seen_at"].is_string())
    );

    let phone_view: Value = phone.get_json(&app, "/api/v1/me/sessions").await;
    let phone_id = phone_view
        .as_array()
        .expect("list")
        .iter()
        .find(|s| s["current"] == true)
        .expect("current")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let ended = owner
        .send(
            &app,
            Method::DELETE,
            &format!("/api/v1/me/sessions/{phone_id}"),
            None,
        )
        .await;
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        phone.get(&app, "/api/v1/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let again = owner
        .send(
            &app,
            Method::DELETE,
            &format!("/api/v1/me/sessions/{phone_id}"),
            None,
        )
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);

    let others = owner
        .post(&app, "/api/v1/me/sessions/end-others", json!({}))
        .await;
    assert_eq!(others.status(), StatusCode::OK);
    let others: Value = others.json().await.expect("JSON");
    assert_eq!(others["sessions_ended"], 1);
    assert_eq!(
        tablet.get(&app, "/api/v1/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let left: Value = owner.get_json(&app, "/api/v1/me/sessions").await;
    assert_eq!(left.as_array().expect("list").len(), 1);
    let actions: Vec<String> = audit(&app).await.into_iter().map(|e| e.action).collect();
    assert!(actions.contains(&"auth.session_ended".to_owned()));
    assert!(actions.contains(&"auth.other_sessions_ended".to_owned()));
}

/// The member's enrolment after a reset: returns the new secret and the session's answer.
async fn enrol_anew(
    app: &TestApp,
    clock: &ManualClock,
    email: &str,
    password: &str,
) -> (TotpSecret, reqwest::Client, Value) {
    let browser = client();
    let started = browser
        .post(app.url("/api/v1/auth/enrol"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("request");
    assert_eq!(started.status(), StatusCode::OK);
    let enrolment: Value = started.json().await.expect("JSON");
    let secret =
        TotpSecret::from_base32(enrolment["secret"].as_str().expect("secret")).expect("base32");
    clock.advance(SignedDuration::from_secs(30));
    let finished = browser
        .post(app.url("/api/v1/auth/enrol/finish"))
        .json(&json!({ "email": email, "password": password, "enrolment_token": enrolment["enrolment_token"], "code": code(&secret, clock) }))
        .send()
        .await
        .expect("request");
    assert_eq!(finished.status(), StatusCode::CREATED);
    let body: Value = finished.json().await.expect("JSON");
    (secret, browser, body)
}

#[tokio::test]
async fn an_owner_resets_a_members_second_factor_and_the_member_enrols_anew_at_sign_in() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let admin = invite_and_join(&app, &clock, &owner, "ada@sunny.example", "admin").await;
    let member = invite_and_join(&app, &clock, &owner, "mo@sunny.example", "member").await;
    let reset = |id: UserId| format!("/api/v1/members/{id}/reset-second-factor");

    assert_eq!(
        member
            .post(&app, &reset(admin.id), json!({}))
            .await
            .status(),
        StatusCode::FORBIDDEN,
        "members reset nobody"
    );
    assert_eq!(
        admin.post(&app, &reset(owner.id), json!({})).await.status(),
        StatusCode::FORBIDDEN,
        "admins do not touch owners"
    );
    assert_eq!(
        owner.post(&app, &reset(owner.id), json!({})).await.status(),
        StatusCode::CONFLICT,
        "not one's own"
    );

    let done = admin.post(&app, &reset(member.id), json!({})).await;
    assert_eq!(done.status(), StatusCode::OK);
    assert_eq!(
        member.get(&app, "/api/v1/me").await.status(),
        StatusCode::UNAUTHORIZED,
        "their sessions ended"
    );

    let old_code = login(
        &app,
        &member.email,
        &member.password,
        &fresh(&member, &clock),
    )
    .await;
    let (status, body) = problem(old_code).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .expect("detail")
            .contains("set up your authenticator app again")
    );
    let wrong_password = login(
        &app,
        &member.email,
        "not the password",
        &fresh(&member, &clock),
    )
    .await;
    assert_eq!(
        wrong_password.status(),
        StatusCode::UNAUTHORIZED,
        "a wrong password learns nothing"
    );
    let not_reset = client()
        .post(app.url("/api/v1/auth/enrol"))
        .json(&json!({ "email": owner.email, "password": owner.password }))
        .send()
        .await
        .expect("request");
    assert_eq!(
        not_reset.status(),
        StatusCode::UNAUTHORIZED,
        "only after a reset"
    );

    let (secret, browser, session) =
        enrol_anew(&app, &clock, &member.email, &member.password).await;
    assert_eq!(
        session["recovery_codes"].as_array().expect("codes").len(),
        10
    );
    let me = browser
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .expect("request");
    assert_eq!(me.status(), StatusCode::OK, "signed in");
    let twice = client()
        .post(app.url("/api/v1/auth/enrol"))
        .json(&json!({ "email": member.email, "password": member.password }))
        .send()
        .await
        .expect("request");
    assert_eq!(
        twice.status(),
        StatusCode::UNAUTHORIZED,
        "the enrolment step works once"
    );
    clock.advance(SignedDuration::from_secs(30));
    let signed_in = login(
        &app,
        &member.email,
        &member.password,
        &code(&secret, &clock),
    )
    .await;
    assert_eq!(signed_in.status(), StatusCode::OK);

    assert!(
        subjects(&app, &owner)
            .await
            .iter()
            .any(|s| s.contains("was reset"))
    );
    let member_session = Person {
        client: browser,
        csrf: session["csrf_token"].as_str().expect("csrf").to_owned(),
        secret,
        email: member.email.clone(),
        password: member.password.clone(),
        recovery_codes: Vec::new(),
        id: member.id,
    };
    assert!(
        subjects(&app, &member_session)
            .await
            .iter()
            .any(|s| s == "Your two-step sign-in was reset")
    );
    let entries = audit(&app).await;
    let entry = entries
        .iter()
        .find(|e| e.action == "member.second_factor_reset")
        .expect("audited");
    assert_eq!(entry.actor, format!("user:{}", admin.id));
    assert_eq!(
        entry.target.as_deref(),
        Some(format!("user:{}", member.id).as_str())
    );
}

#[tokio::test]
async fn inviting_a_departed_member_again_makes_them_active_with_the_new_role() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let member = invite_and_join(&app, &clock, &owner, "mo@sunny.example", "member").await;
    let gone = owner
        .post(
            &app,
            &format!("/api/v1/members/{}/deactivate", member.id),
            json!({}),
        )
        .await;
    assert_eq!(gone.status(), StatusCode::OK);
    let active_again = owner
        .post(
            &app,
            "/api/v1/invitations",
            json!({ "email": owner.email, "role": "member" }),
        )
        .await;
    assert_eq!(
        active_again.status(),
        StatusCode::CONFLICT,
        "an active member is still 'already a member'"
    );

    let back = invite_and_join(&app, &clock, &owner, "mo@sunny.example", "admin").await;
    assert_eq!(back.id, member.id, "the same member, not a new one");
    let me: Value = back.get_json(&app, "/api/v1/me").await;
    assert_eq!(me["user"]["role"], "admin");
    assert_eq!(me["user"]["active"], true);
    let old = login(
        &app,
        &member.email,
        &member.password,
        &fresh(&member, &clock),
    )
    .await;
    assert_eq!(
        old.status(),
        StatusCode::UNAUTHORIZED,
        "the old authenticator does not work"
    );
    assert!(
        audit(&app)
            .await
            .iter()
            .any(|e| e.action == "member.rejoined")
    );
}

#[tokio::test]
async fn a_second_factor_reset_left_unused_for_seventy_two_hours_no_longer_lets_the_password_enrol()
{
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let member = invite_and_join(&app, &clock, &owner, "mo@sunny.example", "member").await;
    let done = owner
        .post(
            &app,
            &format!("/api/v1/members/{}/reset-second-factor", member.id),
            json!({}),
        )
        .await;
    assert_eq!(done.status(), StatusCode::OK);
    clock.advance(SignedDuration::from_hours(73));
    let enrol = client()
        .post(app.url("/api/v1/auth/enrol"))
        .json(&json!({ "email": member.email, "password": member.password }))
        .send()
        .await
        .expect("request");
    let (status, body) = problem(enrol).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("ask an owner to reset it again")),
        "{body}"
    );
}

#[tokio::test]
async fn the_command_line_resets_a_locked_out_owners_second_factor() {
    let dir = TempDir::new().expect("temporary directory");
    // The command line stamps the reset with the real time, and the enrolment it opens closes
    // 72 hours later: the server's clock starts at the real time too.
    let clock = ManualClock::new(herald::clock::Clock::now(&herald::clock::SystemClock));
    let data = dir.path().join("data");
    let app = spawn_app_with_clock(
        move |config| config.data_dir = data,
        Arc::new(clock.clone()),
    )
    .await;
    let owner = set_up(&app, &clock).await;

    let (output, stdout, stderr) = run(herald_for(&dir.path().join("data"))
        .args(["user", "reset-2fa", "nobody@sunny.example", "--data-dir"])
        .arg(dir.path().join("data")));
    assert!(!output.status.success(), "an unknown address is refused");
    assert!(stderr.contains("nobody@sunny.example"), "{stderr}");
    let (output, stdout2, stderr) = run(herald_for(&dir.path().join("data"))
        .args(["user", "reset-2fa", OWNER_EMAIL, "--data-dir"])
        .arg(dir.path().join("data")));
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(
        stdout2.contains("Sign in with your email address and password"),
        "{stdout2}"
    );
    assert!(
        stdout2.contains("set up your authenticator app again"),
        "{stdout2}"
    );

    assert_eq!(
        owner.get(&app, "/api/v1/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let entries = audit(&app).await;
    let entry = entries
        .iter()
        .find(|e| e.action == "member.second_factor_reset")
        .expect("audited");
    assert_eq!(entry.actor, "command line");
    enrol_anew(&app, &clock, OWNER_EMAIL, OWNER_PASSWORD).await;
}

#[tokio::test]
async fn adding_or_removing_a_passkey_needs_a_fresh_code() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let refused = owner
        .post(
            &app,
            "/api/v1/passkeys/registration",
            json!({ "code": "000000" }),
        )
        .await;
    let (status, body) = problem(refused).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "code");
    let started = owner
        .post(
            &app,
            "/api/v1/passkeys/registration",
            json!({ "code": fresh(&owner, &clock) }),
        )
        .await;
    assert_eq!(started.status(), StatusCode::OK);

    let id = app
        .store
        .add_passkey(
            owner.id,
            "old phone",
            "credential-id",
            "{}",
            clock_now(&clock),
        )
        .await
        .expect("passkey");
    let path = format!("/api/v1/passkeys/{id}");
    let refused = owner
        .send(
            &app,
            Method::DELETE,
            &path,
            Some(json!({ "code": "000000" })),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.store
            .passkeys_of(owner.id)
            .await
            .expect("passkeys")
            .len(),
        1,
        "still there"
    );
    let removed = owner
        .send(
            &app,
            Method::DELETE,
            &path,
            Some(json!({ "code": fresh(&owner, &clock) })),
        )
        .await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    assert!(
        app.store
            .passkeys_of(owner.id)
            .await
            .expect("passkeys")
            .is_empty()
    );
}

fn clock_now(clock: &ManualClock) -> Timestamp {
    herald::clock::Clock::now(clock)
}

/// Posts a page form as `person` (with their CSRF token); the status and the page.
async fn post_form(
    app: &TestApp,
    person: &Person,
    path: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut all = vec![("csrf", person.csrf.as_str())];
    all.extend_from_slice(fields);
    let response = person
        .client
        .post(app.url(path))
        .form(&all)
        .send()
        .await
        .expect("request");
    let status = response.status();
    (status, response.text().await.expect("page"))
}

#[tokio::test]
async fn the_account_page_changes_the_password_and_lists_and_ends_sessions() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let phone = signed_in_again(&app, &clock, &owner).await;

    let page = owner
        .get(&app, "/account")
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("Change your password"));
    assert!(page.contains("Where you are signed in"));
    assert_eq!(
        page.matches("/end\"").count(),
        2,
        "two sessions listed: {page}"
    );
    assert_eq!(
        page.matches("This browser").count(),
        1,
        "the current one is marked"
    );
    assert!(page.contains("127.0.0.1"));

    let (status, page) = post_form(
        &app,
        &owner,
        "/account/password",
        &[
            ("current_password", "not it at all"),
            ("code", &fresh(&owner, &clock)),
            ("new_password", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("Your current password is not right"),
        "{page}"
    );
    assert!(
        !page.contains(NEW_PASSWORD),
        "a typed password is never sent back"
    );

    let (status, page) = post_form(
        &app,
        &owner,
        "/account/password",
        &[
            ("current_password", OWNER_PASSWORD),
            ("code", &fresh(&owner, &clock)),
            ("new_password", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("Your password is changed. 1 other session(s) ended"),
        "{page}"
    );
    assert_eq!(
        phone.get(&app, "/api/v1/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let new = login(&app, OWNER_EMAIL, NEW_PASSWORD, &fresh(&owner, &clock)).await;
    assert_eq!(new.status(), StatusCode::OK);

    // That sign-in is another session: end it from the page.
    let sessions: Value = owner.get_json(&app, "/api/v1/me/sessions").await;
    let other = sessions
        .as_array()
        .expect("list")
        .iter()
        .find(|s| s["current"] == false)
        .expect("other")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let response = owner
        .client
        .post(app.url(&format!("/account/sessions/{other}/end")))
        .form(&[("csrf", owner.csrf.as_str())])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let left: Value = owner.get_json(&app, "/api/v1/me/sessions").await;
    assert_eq!(left.as_array().expect("list").len(), 1);
}

#[tokio::test]
async fn the_account_page_gives_new_recovery_codes_and_a_new_authenticator() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let (status, page) = post_form(
        &app,
        &owner,
        "/account/recovery-codes",
        &[("code", &fresh(&owner, &clock))],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page.matches("<li><code>").count(), 10, "{page}");

    let (status, page) = post_form(
        &app,
        &owner,
        "/account/authenticator",
        &[
            ("current_password", OWNER_PASSWORD),
            ("code", &fresh(&owner, &clock)),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let secret = page
        .split("id=\"totp-secret\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("secret on the page");
    let token = page
        .split("name=\"enrolment_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("token");
    let new_secret = TotpSecret::from_base32(secret).expect("base32");
    clock.advance(SignedDuration::from_secs(30));
    let (status, page) = post_form(
        &app,
        &owner,
        "/account/authenticator/confirm",
        &[
            ("enrolment_token", token),
            ("code", &code(&new_secret, &clock)),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Your new authenticator app is in use"),
        "{page}"
    );
}

#[tokio::test]
async fn after_a_reset_the_sign_in_pages_lead_the_member_to_a_new_authenticator() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let member = invite_and_join(&app, &clock, &owner, "mo@sunny.example", "member").await;
    let response = owner
        .client
        .post(app.url(&format!("/members/{}/reset-second-factor", member.id)))
        .form(&[("csrf", owner.csrf.as_str())])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let browser = client();
    let old_code = fresh(&member, &clock);
    let told = browser
        .post(app.url("/login"))
        .form(&[
            ("email", member.email.as_str()),
            ("password", member.password.as_str()),
            ("code", old_code.as_str()),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(told.status(), StatusCode::CONFLICT);
    let page = told.text().await.expect("page");
    assert!(
        page.contains("set up your authenticator app again"),
        "{page}"
    );
    assert!(page.contains("href=\"/login/enrol\""), "{page}");
    let page = browser
        .post(app.url("/login/enrol"))
        .form(&[
            ("email", member.email.as_str()),
            ("password", member.password.as_str()),
        ])
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("page");
    let secret = page
        .split("id=\"totp-secret\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("secret on the page");
    let token = page
        .split("name=\"enrolment_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("token")
        .to_owned();
    let new_secret = TotpSecret::from_base32(secret).expect("base32");
    clock.advance(SignedDuration::from_secs(30));
    let new_code = code(&new_secret, &clock);
    let finished = browser
        .post(app.url("/login/enrol/finish"))
        .form(&[
            ("email", member.email.as_str()),
            ("password", member.password.as_str()),
            ("enrolment_token", token.as_str()),
            ("code", new_code.as_str()),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(finished.status(), StatusCode::CREATED);
    let page = finished.text().await.expect("page");
    assert_eq!(
        page.matches("<li><code>").count(),
        10,
        "new recovery codes shown once"
    );
    let me = browser
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .expect("request");
    assert_eq!(me.status(), StatusCode::OK, "signed in");
}

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + second).expect("valid test time")
}

crate::helpers::contract_test!(
    second_factors_and_sessions_are_kept_alike_on_both_backends,
    |store| {
        let (owner, _) = crate::helpers::owner_and_account(&store, at(0)).await;
        assert_eq!(store.count_step_up_failure(owner).await.expect("count"), 1);
        assert_eq!(store.count_step_up_failure(owner).await.expect("count"), 2);
        let user = store.user_by_id(owner).await.expect("read").expect("owner");
        assert_eq!(user.step_up_failures, 2);
        store.clear_step_up_failures(owner).await.expect("clear");
        let user = store.user_by_id(owner).await.expect("read").expect("owner");
        assert_eq!(user.step_up_failures, 0);

        for (hash, device) in [("a", "one"), ("b", "two"), ("c", "three")] {
            store
                .create_session(hash, device, owner, "192.0.2.1", at(1), at(3600))
                .await
                .expect("session");
        }
        let listed = store
            .sessions_of(owner, at(2), at(0))
            .await
            .expect("sessions");
        assert_eq!(listed.len(), 3);
        assert!(listed.iter().all(|s| s.ip.as_deref() == Some("192.0.2.1")));
        assert!(
            store
                .sessions_of(owner, at(3600), at(0))
                .await
                .expect("sessions")
                .is_empty(),
            "expired ones are not listed"
        );
        assert!(store.end_session(owner, "two").await.expect("end"));
        assert!(!store.end_session(owner, "two").await.expect("end"), "once");
        assert_eq!(
            store
                .end_other_sessions(owner, "a")
                .await
                .expect("end others"),
            1
        );
        store
            .create_session("d", "four", owner, "192.0.2.2", at(1), at(3600))
            .await
            .expect("session");
        assert_eq!(
            store
                .change_password(owner, "new-hash", "a")
                .await
                .expect("change"),
            1
        );
        let left = store
            .sessions_of(owner, at(2), at(0))
            .await
            .expect("sessions");
        assert_eq!(
            left.iter()
                .map(|s| s.public_id.as_str())
                .collect::<Vec<_>>(),
            ["one"]
        );
        assert_eq!(
            store
                .user_by_id(owner)
                .await
                .expect("read")
                .expect("owner")
                .password_hash,
            "new-hash"
        );

        store
            .replace_recovery_codes(owner, &["s1$x$y".to_owned(), "s1$z$w".to_owned()])
            .await
            .expect("codes");
        assert_eq!(
            store
                .unused_recovery_codes(owner)
                .await
                .expect("codes")
                .len(),
            2
        );
        assert!(
            store
                .spend_recovery_code(owner, "s1$x$y", at(3))
                .await
                .expect("spend")
        );
        assert_eq!(
            store.unused_recovery_codes(owner).await.expect("codes"),
            ["s1$z$w"]
        );
        store
            .replace_authenticator(owner, &[9, 9], 77)
            .await
            .expect("authenticator");
        let user = store.user_by_id(owner).await.expect("read").expect("owner");
        assert_eq!(
            (user.totp_secret.as_slice(), user.totp_last_step),
            (&[9u8, 9][..], 77)
        );

        assert!(
            !store
                .enrol_after_reset(owner, &[1], 1, &[])
                .await
                .expect("enrol"),
            "no reset pending"
        );
        assert_eq!(
            store
                .reset_second_factor(owner, at(4))
                .await
                .expect("reset"),
            1
        );
        let user = store.user_by_id(owner).await.expect("read").expect("owner");
        assert_eq!(user.second_factor_reset_at, Some(at(4)));
        assert!(
            store
                .unused_recovery_codes(owner)
                .await
                .expect("codes")
                .is_empty()
        );
        assert!(
            store
                .enrol_after_reset(owner, &[5], 5, &["s1$n$m".to_owned()])
                .await
                .expect("enrol")
        );
        assert!(
            !store
                .enrol_after_reset(owner, &[6], 6, &[])
                .await
                .expect("enrol"),
            "once per reset"
        );
        let user = store.user_by_id(owner).await.expect("read").expect("owner");
        assert_eq!(
            (user.second_factor_reset_at, user.totp_last_step),
            (None, 5)
        );
    }
);
