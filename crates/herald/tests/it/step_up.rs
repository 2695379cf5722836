//! Step-up codes (the member's own code asked again before a vault secret is revealed, a
//! passkey added, a password changed…) are throttled per member: the fifth wrong code in a row
//! ends every session of the member, tells the owners and is audited; a right code starts the
//! count again; the count is kept in the database, so a restart does not forget it.

use std::sync::Arc;

use herald::clock::ManualClock;
use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::accounts::new_account;
use crate::helpers::{TestApp, spawn_app_with_clock};
use crate::people::{Person, app, code, invite_and_join, set_up, signed_in_again};

const NETWORK_PASSWORD: &str = "Tr0ub4dor&3-but-much-longer-and-unique";

/// A code that is not the person's current one (nor one either side of it).
fn wrong_code(person: &Person, clock: &ManualClock) -> String {
    let right: u32 = code(&person.secret, clock).parse().expect("digits");
    format!("{:06}", (right + 500_000) % 1_000_000)
}

/// An account whose gatekeeper is `keeper`, with its network password stored.
async fn vault(app: &TestApp, owner: &Person, keeper: &Person) -> String {
    let id = new_account(app, owner, "@sunnycafe", keeper.id).await;
    let path = format!("/api/v1/accounts/{id}/credentials/login_password");
    let stored = keeper
        .send(
            app,
            reqwest::Method::PUT,
            &path,
            Some(json!({ "value": NETWORK_PASSWORD })),
        )
        .await;
    assert_eq!(stored.status(), StatusCode::OK);
    format!("{path}/reveal")
}

async fn reveal(app: &TestApp, person: &Person, path: &str, code: &str) -> reqwest::Response {
    person.post(app, path, json!({ "code": code })).await
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
async fn five_wrong_step_up_codes_end_every_session_of_the_member_and_tell_the_owners() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let keeper = invite_and_join(&app, &clock, &owner, "gk@sunny.example", "member").await;
    let path = vault(&app, &owner, &keeper).await;
    let elsewhere = signed_in_again(&app, &clock, &keeper).await;

    for attempt in 1..=5 {
        let refused = reveal(&app, &keeper, &path, &wrong_code(&keeper, &clock)).await;
        let expected = if attempt < 5 {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(refused.status(), expected, "wrong code {attempt}");
        let body = refused.text().await.expect("body");
        assert!(!body.contains(NETWORK_PASSWORD));
    }

    clock.advance(SignedDuration::from_secs(30));
    let sixth = reveal(&app, &keeper, &path, &code(&keeper.secret, &clock)).await;
    assert_eq!(
        sixth.status(),
        StatusCode::UNAUTHORIZED,
        "the session ended, so even the right code is too late"
    );
    assert!(!sixth.text().await.expect("body").contains(NETWORK_PASSWORD));
    let other_device = elsewhere.get(&app, "/api/v1/me").await;
    assert_eq!(
        other_device.status(),
        StatusCode::UNAUTHORIZED,
        "every session of the member ended"
    );
    assert_eq!(
        owner.get(&app, "/api/v1/me").await.status(),
        StatusCode::OK,
        "nobody else was signed out"
    );

    let told: Value = owner.get_json(&app, "/api/v1/notifications").await;
    let subjects: Vec<&str> = told
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|notification| notification["subject"].as_str())
        .collect();
    assert!(
        subjects
            .iter()
            .any(|subject| subject.contains("signed out after 5 wrong codes")),
        "{subjects:?}"
    );
    let actions = audit_actions(&app).await;
    assert_eq!(
        actions
            .iter()
            .filter(|action| *action == "auth.step_up.failed")
            .count(),
        5
    );
    assert!(actions.contains(&"auth.step_up.locked_out".to_owned()));

    // Signing in again starts the count afresh, and the right code works.
    let back = signed_in_again(&app, &clock, &keeper).await;
    clock.advance(SignedDuration::from_secs(30));
    let revealed = reveal(&app, &back, &path, &code(&keeper.secret, &clock)).await;
    assert_eq!(revealed.status(), StatusCode::OK);
}

#[tokio::test]
async fn four_wrong_codes_and_a_right_one_start_the_count_again() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let keeper = invite_and_join(&app, &clock, &owner, "gk@sunny.example", "member").await;
    let path = vault(&app, &owner, &keeper).await;
    for _ in 0..4 {
        let refused = reveal(&app, &keeper, &path, &wrong_code(&keeper, &clock)).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    }
    clock.advance(SignedDuration::from_secs(30));
    let right = reveal(&app, &keeper, &path, &code(&keeper.secret, &clock)).await;
    assert_eq!(right.status(), StatusCode::OK);
    for _ in 0..4 {
        let refused = reveal(&app, &keeper, &path, &wrong_code(&keeper, &clock)).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(
        keeper.get(&app, "/api/v1/me").await.status(),
        StatusCode::OK,
        "eight wrong codes, but never five in a row"
    );
}

#[tokio::test]
async fn every_step_up_shares_one_count_whatever_it_was_for() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let keeper = invite_and_join(&app, &clock, &owner, "gk@sunny.example", "member").await;
    let path = vault(&app, &owner, &keeper).await;
    for _ in 0..2 {
        let refused = reveal(&app, &keeper, &path, &wrong_code(&keeper, &clock)).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    }
    let passkey = keeper
        .post(
            &app,
            "/api/v1/passkeys/registration",
            json!({ "code": wrong_code(&keeper, &clock) }),
        )
        .await;
    assert_eq!(passkey.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let codes = keeper
        .post(
            &app,
            "/api/v1/me/recovery-codes",
            json!({ "code": wrong_code(&keeper, &clock) }),
        )
        .await;
    assert_eq!(codes.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let password = keeper
        .post(
            &app,
            "/api/v1/me/password",
            json!({ "current_password": "not my password", "code": "", "new_password": "x" }),
        )
        .await;
    assert_eq!(
        password.status(),
        StatusCode::UNAUTHORIZED,
        "a wrong current password is the fifth wrong answer"
    );
    assert_eq!(
        keeper.get(&app, "/api/v1/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_count_of_wrong_codes_survives_a_restart() {
    let dir = TempDir::new().expect("temporary directory");
    let clock = ManualClock::new(Timestamp::from_second(1_800_000_000).expect("time"));
    let start = || {
        let data = dir.path().join("data");
        spawn_app_with_clock(
            move |config| config.data_dir = data,
            Arc::new(clock.clone()),
        )
    };
    let app = start().await;
    let owner = set_up(&app, &clock).await;
    let keeper = invite_and_join(&app, &clock, &owner, "gk@sunny.example", "member").await;
    let path = vault(&app, &owner, &keeper).await;
    for _ in 0..4 {
        let refused = reveal(&app, &keeper, &path, &wrong_code(&keeper, &clock)).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    }
    app.stop().await;

    // The same browser (cookies do not depend on the port) comes back to the restarted server.
    let app = start().await;
    assert_eq!(
        keeper.get(&app, "/api/v1/me").await.status(),
        StatusCode::OK,
        "the session outlived the restart"
    );
    let fifth = reveal(&app, &keeper, &path, &wrong_code(&keeper, &clock)).await;
    assert_eq!(
        fifth.status(),
        StatusCode::UNAUTHORIZED,
        "four before the restart and one after are five in a row"
    );
}
