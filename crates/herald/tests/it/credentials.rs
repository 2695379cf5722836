//! The credential vault through the API: only the gatekeeper stores and reveals, revealing the
//! password needs their own second factor again, OAuth tokens never come out, reuse shows, and
//! no value is ever stored or logged in the clear.

use herald::domain::ids::AccountId;
use herald::domain::totp::{TotpSecret, step_at};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::accounts::{add_account, new_account};
use crate::people::{app, code, invite_and_join, set_up};

const NETWORK_PASSWORD: &str = "Tr0ub4dor&3-but-much-longer-and-unique";

#[tokio::test]
async fn only_the_gatekeeper_stores_and_reveals_and_only_after_their_second_factor() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let admin = invite_and_join(&app, &clock, &owner, "admin@sunny.example", "admin").await;
    let gatekeeper = invite_and_join(&app, &clock, &owner, "gk@sunny.example", "member").await;
    let publisher = invite_and_join(&app, &clock, &owner, "pub@sunny.example", "member").await;
    let id = new_account(&app, &owner, "@sunnycafe", gatekeeper.id).await;
    gatekeeper
        .send(
            &app,
            Method::PUT,
            &format!("/api/v1/accounts/{id}/grants/{}", publisher.id),
            Some(json!({ "level": "publisher" })),
        )
        .await;
    let password_path = format!("/api/v1/accounts/{id}/credentials/login_password");

    let stored = gatekeeper
        .send(
            &app,
            Method::PUT,
            &password_path,
            Some(json!({ "value": NETWORK_PASSWORD })),
        )
        .await;
    assert_eq!(stored.status(), StatusCode::OK);
    let stored: Value = stored.json().await.expect("JSON");
    assert!(stored["strength"].as_u64().expect("score") >= 3);

    for (who, person) in [
        ("publisher", &publisher),
        ("admin", &admin),
        ("owner", &owner),
    ] {
        let put = person
            .send(
                &app,
                Method::PUT,
                &password_path,
                Some(json!({ "value": "overwrite attempt" })),
            )
            .await;
        assert_eq!(put.status(), StatusCode::FORBIDDEN, "{who} stores");
        clock.advance(jiff::SignedDuration::from_secs(30));
        let reveal = person
            .post(
                &app,
                &format!("{password_path}/reveal"),
                json!({ "code": code(&person.secret, &clock) }),
            )
            .await;
        assert_eq!(reveal.status(), StatusCode::FORBIDDEN, "{who} reveals");
        assert!(
            !reveal
                .text()
                .await
                .expect("body")
                .contains(NETWORK_PASSWORD)
        );
    }

    let wrong = gatekeeper
        .post(
            &app,
            &format!("{password_path}/reveal"),
            json!({ "code": "000000" }),
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    clock.advance(jiff::SignedDuration::from_secs(30));
    let right = gatekeeper
        .post(
            &app,
            &format!("{password_path}/reveal"),
            json!({ "code": code(&gatekeeper.secret, &clock) }),
        )
        .await;
    assert_eq!(right.status(), StatusCode::OK);
    let revealed: Value = right.json().await.expect("JSON");
    assert_eq!(revealed["value"], NETWORK_PASSWORD);

    let audit: Value = owner
        .get_json(&app, "/api/v1/audit?action=account.credential")
        .await;
    let actions: Vec<&str> = audit
        .as_array()
        .expect("list")
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    assert_eq!(
        actions,
        [
            "account.credential_stored",
            "account.credential_reveal_refused",
            "account.credential_reveal_refused",
            "account.credential_reveal_refused",
            "account.credential_reveal_refused",
            "account.credential_revealed"
        ]
    );
    // The refusals of members who are not the gatekeeper are audited too, each as its own.
    let refused: Vec<(&str, &str)> = audit
        .as_array()
        .expect("list")
        .iter()
        .filter(|e| e["action"] == "account.credential_reveal_refused")
        .map(|e| {
            (
                e["actor"].as_str().expect("actor"),
                e["details"]["reason"].as_str().expect("reason"),
            )
        })
        .collect();
    let user = |person: &crate::people::Person| format!("user:{}", person.id);
    assert_eq!(
        refused[..3],
        [
            (user(&publisher).as_str(), "not_gatekeeper"),
            (user(&admin).as_str(), "not_gatekeeper"),
            (user(&owner).as_str(), "not_gatekeeper"),
        ]
    );
    assert_eq!(refused[3].0, user(&gatekeeper));
    let export = owner
        .get(&app, "/api/v1/audit/export")
        .await
        .text()
        .await
        .expect("body");
    assert!(
        !export.contains(NETWORK_PASSWORD),
        "the audit log names the field, never the value"
    );
}

#[tokio::test]
async fn a_value_of_4096_characters_is_stored_whatever_their_bytes_and_one_more_is_refused() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let id = new_account(&app, &owner, "@sunnycafe", owner.id).await;
    let notes = format!("/api/v1/accounts/{id}/credentials/notes");
    // "é" is two bytes: the limit the document and the message state is in characters.
    for (length, status) in [
        (4096, StatusCode::OK),
        (4097, StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let value = "é".repeat(length);
        let response = owner
            .send(&app, Method::PUT, &notes, Some(json!({ "value": value })))
            .await;
        assert_eq!(response.status(), status, "{length} characters");
    }
}

#[tokio::test]
async fn oauth_tokens_never_come_out_and_api_tokens_never_open_the_vault() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let id = new_account(&app, &owner, "@sunnycafe", owner.id).await;
    let put = owner
        .send(
            &app,
            Method::PUT,
            &format!("/api/v1/accounts/{id}/credentials/oauth_tokens"),
            Some(json!({ "value": "x" })),
        )
        .await;
    assert_eq!(put.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let reveal = owner
        .post(
            &app,
            &format!("/api/v1/accounts/{id}/credentials/oauth_tokens/reveal"),
            json!({ "code": "" }),
        )
        .await;
    assert_eq!(reveal.status(), StatusCode::FORBIDDEN);

    owner
        .send(
            &app,
            Method::PUT,
            &format!("/api/v1/accounts/{id}/credentials/notes"),
            Some(json!({ "value": "shared with the agency" })),
        )
        .await;
    let token: Value = owner
        .post(&app, "/api/v1/tokens", json!({ "name": "all", "scopes": ["me:read", "members:read", "members:write", "audit:read", "accounts:read", "accounts:write"], "expires_in_days": 1 }))
        .await
        .json()
        .await
        .expect("JSON");
    let bearer = token["secret"].as_str().expect("secret");
    let by_token = reqwest::Client::new()
        .post(app.url(&format!("/api/v1/accounts/{id}/credentials/notes/reveal")))
        .bearer_auth(bearer)
        .json(&json!({ "code": "" }))
        .send()
        .await
        .expect("request");
    assert_eq!(by_token.status(), StatusCode::FORBIDDEN);
    let notes = owner
        .post(
            &app,
            &format!("/api/v1/accounts/{id}/credentials/notes/reveal"),
            json!({}),
        )
        .await;
    let notes: Value = notes.json().await.expect("JSON");
    assert_eq!(
        notes["value"], "shared with the agency",
        "notes need no second factor"
    );
}

#[tokio::test]
async fn the_same_password_on_two_accounts_is_flagged_without_revealing_it() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let mut ids = Vec::new();
    for handle in ["@one", "@two"] {
        let account: Value = add_account(&app, &owner, handle, owner.id)
            .await
            .json()
            .await
            .expect("JSON");
        ids.push(account["id"].as_i64().expect("id"));
    }
    for id in &ids {
        owner
            .send(
                &app,
                Method::PUT,
                &format!("/api/v1/accounts/{id}/credentials/login_password"),
                Some(json!({ "value": NETWORK_PASSWORD })),
            )
            .await;
    }
    let again: Value = owner
        .send(
            &app,
            Method::PUT,
            &format!("/api/v1/accounts/{}/credentials/login_password", ids[1]),
            Some(json!({ "value": NETWORK_PASSWORD })),
        )
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(again["shared_with"], json!([ids[0]]));
    let facts: Value = owner
        .get_json(&app, &format!("/api/v1/accounts/{}/credentials", ids[0]))
        .await;
    assert_eq!(facts[0]["field"], "login_password");
    assert_eq!(facts[0]["reused"], true);
    assert!(!facts.to_string().contains(NETWORK_PASSWORD));
}

#[tokio::test]
async fn the_gatekeeper_sees_the_networks_current_2fa_code_from_the_stored_seed() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let id = new_account(&app, &owner, "@sunnycafe", owner.id).await;
    let seed = "JBSW Y3DP EHPK 3PXP";
    let bad = owner
        .send(
            &app,
            Method::PUT,
            &format!("/api/v1/accounts/{id}/credentials/totp_seed"),
            Some(json!({ "value": "not base32!" })),
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let put = owner
        .send(
            &app,
            Method::PUT,
            &format!("/api/v1/accounts/{id}/credentials/totp_seed"),
            Some(json!({ "value": seed })),
        )
        .await;
    assert_eq!(put.status(), StatusCode::OK);
    clock.advance(jiff::SignedDuration::from_secs(30));
    let shown: Value = owner
        .post(
            &app,
            &format!("/api/v1/accounts/{id}/network-code"),
            json!({ "code": code(&owner.secret, &clock) }),
        )
        .await
        .json()
        .await
        .expect("JSON");
    let expected = TotpSecret::from_network_seed(seed)
        .expect("seed")
        .code_at_step(step_at(herald::clock::Clock::now(&clock)));
    assert_eq!(shown["code"], expected);
}

#[tokio::test]
async fn stored_credentials_are_never_in_the_database_in_the_clear() {
    // Read as the file SQLite keeps: this test is about what lies on the disk.
    let clock =
        herald::clock::ManualClock::new(jiff::Timestamp::from_second(1_800_000_000).expect("time"));
    let app =
        crate::helpers::spawn_sqlite_app_with_clock(|_| {}, std::sync::Arc::new(clock.clone()))
            .await;
    let owner = set_up(&app, &clock).await;
    let id = new_account(&app, &owner, "@sunnycafe", owner.id).await;
    for (field, value) in [
        ("login_username", "sunny-login-name-marker"),
        ("login_password", NETWORK_PASSWORD),
        ("recovery_codes", "rc-marker-1234 rc-marker-5678"),
        ("notes", "notes-marker-secret"),
    ] {
        let response = owner
            .send(
                &app,
                Method::PUT,
                &format!("/api/v1/accounts/{id}/credentials/{field}"),
                Some(json!({ "value": value })),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{field}");
    }
    app.store.close().await;
    let database = std::fs::read(app.data_dir.join("herald.db")).expect("database");
    let wal = std::fs::read(app.data_dir.join("herald.db-wal")).unwrap_or_default();
    let stored = [database, wal].concat();
    for marker in [
        "sunny-login-name-marker",
        NETWORK_PASSWORD,
        "rc-marker-1234",
        "notes-marker-secret",
    ] {
        assert!(
            !stored
                .windows(marker.len())
                .any(|window| window == marker.as_bytes()),
            "{marker} is stored in the clear"
        );
    }
}

#[tokio::test]
async fn a_reused_password_asks_to_rotate_both_accounts_and_a_new_password_answers_it() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let first = new_account(&app, &owner, "@first", owner.id).await;
    let second = new_account(&app, &owner, "@second", owner.id).await;
    for id in [first, second] {
        owner
            .send(
                &app,
                Method::PUT,
                &format!("/api/v1/accounts/{id}/credentials/login_password"),
                Some(json!({ "value": NETWORK_PASSWORD })),
            )
            .await;
    }
    let rotations = |id: AccountId| {
        let owner = &owner;
        let app = &app;
        async move {
            owner
                .get(app, &format!("/api/v1/accounts/{id}/rotations"))
                .await
                .json::<Value>()
                .await
                .expect("JSON")
        }
    };
    for id in [first, second] {
        let open = rotations(id).await;
        assert_eq!(open[0]["reason"], "reused", "{open}");
        assert!(open[0]["done_at"].is_null());
    }
    owner
        .send(
            &app,
            Method::PUT,
            &format!("/api/v1/accounts/{first}/credentials/login_password"),
            Some(json!({ "value": "a fresh unique password for the first" })),
        )
        .await;
    let done = rotations(first).await;
    assert_eq!(
        done[0]["done_by"],
        owner.id.get(),
        "who rotated it is recorded"
    );
    assert!(
        rotations(second).await[0]["done_at"].is_null(),
        "the other account still has to change"
    );
}

#[tokio::test]
async fn when_a_gatekeeper_leaves_their_accounts_are_marked_rotate_now() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let keeper = invite_and_join(&app, &clock, &owner, "keeper@sunny.example", "member").await;
    let kept = new_account(&app, &owner, "@kept", keeper.id).await;
    let other = new_account(&app, &owner, "@other", owner.id).await;
    let departed: Value = owner
        .post(
            &app,
            &format!("/api/v1/members/{}/deactivate", keeper.id),
            json!({}),
        )
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(departed["rotate_now"], json!([kept]));
    let rotations: Value = owner
        .get_json(&app, &format!("/api/v1/accounts/{kept}/rotations"))
        .await;
    assert_eq!(rotations[0]["reason"], "member_left");
    assert!(
        rotations[0]["detail"]
            .as_str()
            .expect("detail")
            .contains("keeper@sunny.example")
    );
    let posture: Value = owner
        .get_json(&app, &format!("/api/v1/accounts/{kept}/posture"))
        .await;
    assert_eq!(posture["gatekeeper_active"], false, "{posture}");
    assert_eq!(posture["rotate_now"], json!(["member_left"]));
    let told = crate::accounts::notifications(&app, &owner).await;
    assert!(
        told.iter().any(|n| n["body"]
            .as_str()
            .is_some_and(|body| body.contains("Name a new gatekeeper"))
            && n["link"] == format!("/accounts/{kept}")),
        "owners are told to name a new gatekeeper: {told:?}"
    );
    let untouched: Value = owner
        .get_json(&app, &format!("/api/v1/accounts/{other}/rotations"))
        .await;
    assert_eq!(untouched, json!([]));
}
