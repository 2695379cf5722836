//! Social accounts and their gatekeepers through the API: who sees an account, who may grant
//! access to it, and how offboarding and gatekeeper changes take access away.

use herald::domain::ids::{AccountId, UserId};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::people::{Person, app, invite_and_join, set_up};

pub async fn add_account(
    app: &TestApp,
    by: &Person,
    handle: &str,
    gatekeeper: UserId,
) -> reqwest::Response {
    by.post(
        app,
        "/api/v1/accounts",
        json!({ "network": "x", "handle": handle, "display_name": "Sunny Café", "avatar_colour": "#1f5f5b", "gatekeeper_id": gatekeeper }),
    )
    .await
}

/// Adds an X account and returns its id.
pub async fn new_account(
    app: &TestApp,
    by: &Person,
    handle: &str,
    gatekeeper: UserId,
) -> AccountId {
    let account: Value = add_account(app, by, handle, gatekeeper)
        .await
        .json()
        .await
        .expect("JSON");
    AccountId::new(account["id"].as_i64().expect("id"))
}

async fn visible_ids(app: &TestApp, person: &Person) -> Vec<i64> {
    let list: Value = person.get_json(app, "/api/v1/accounts").await;
    list.as_array()
        .expect("list")
        .iter()
        .map(|a| a["id"].as_i64().expect("id"))
        .collect()
}

#[tokio::test]
async fn a_member_without_a_grant_does_not_see_the_account_at_all() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let gatekeeper = invite_and_join(&app, &clock, &owner, "gk@sunny.example", "member").await;
    let other = invite_and_join(&app, &clock, &owner, "other@sunny.example", "member").await;
    let created = add_account(&app, &owner, "@sunnycafe", gatekeeper.id).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let account: Value = created.json().await.expect("JSON");
    let id = account["id"].as_i64().expect("id");
    assert_eq!(account["handle"], "@sunnycafe");

    assert_eq!(visible_ids(&app, &other).await, Vec::<i64>::new());
    let hidden = other.get(&app, &format!("/api/v1/accounts/{id}")).await;
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
    let missing = other.get(&app, "/api/v1/accounts/999999").await;
    let (hidden, missing): (Value, Value) = (
        hidden.json().await.expect("JSON"),
        missing.json().await.expect("JSON"),
    );
    assert_eq!(
        hidden["detail"]
            .as_str()
            .expect("detail")
            .replace(&id.to_string(), "N"),
        missing["detail"]
            .as_str()
            .expect("detail")
            .replace("999999", "N"),
        "a hidden account looks like a missing one"
    );

    let seen: Value = gatekeeper
        .get_json(&app, &format!("/api/v1/accounts/{id}"))
        .await;
    assert_eq!(seen["your_level"], "gatekeeper");
    assert_eq!(seen["grants"], json!([]));

    let granted = gatekeeper
        .send(
            &app,
            Method::PUT,
            &format!("/api/v1/accounts/{id}/grants/{}", other.id),
            Some(json!({ "level": "publisher" })),
        )
        .await;
    assert_eq!(granted.status(), StatusCode::NO_CONTENT);
    let seen: Value = other
        .get_json(&app, &format!("/api/v1/accounts/{id}"))
        .await;
    assert_eq!(seen["your_level"], "publisher");
    assert!(
        seen.get("grants").is_none(),
        "only the gatekeeper and owners see who else has access"
    );

    let revoked = gatekeeper
        .send(
            &app,
            Method::DELETE,
            &format!("/api/v1/accounts/{id}/grants/{}", other.id),
            None,
        )
        .await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    assert_eq!(visible_ids(&app, &other).await, Vec::<i64>::new());
}

#[tokio::test]
async fn only_the_gatekeeper_or_an_owner_grants_access_and_owners_are_audited_as_such() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let admin = invite_and_join(&app, &clock, &owner, "admin@sunny.example", "admin").await;
    let gatekeeper = invite_and_join(&app, &clock, &owner, "gk@sunny.example", "member").await;
    let publisher = invite_and_join(&app, &clock, &owner, "pub@sunny.example", "member").await;
    let id = new_account(&app, &admin, "@sunnycafe", gatekeeper.id).await;
    let grant_path = format!("/api/v1/accounts/{id}/grants/{}", publisher.id);

    let by_admin = admin
        .send(
            &app,
            Method::PUT,
            &grant_path,
            Some(json!({ "level": "viewer" })),
        )
        .await;
    assert_eq!(
        by_admin.status(),
        StatusCode::FORBIDDEN,
        "admins add accounts but do not hand out access"
    );
    let by_owner = owner
        .send(
            &app,
            Method::PUT,
            &grant_path,
            Some(json!({ "level": "publisher" })),
        )
        .await;
    assert_eq!(by_owner.status(), StatusCode::NO_CONTENT);
    let by_publisher = publisher
        .send(
            &app,
            Method::PUT,
            &format!("/api/v1/accounts/{id}/grants/{}", admin.id),
            Some(json!({ "level": "viewer" })),
        )
        .await;
    assert_eq!(by_publisher.status(), StatusCode::FORBIDDEN);
    let as_gatekeeper = owner
        .send(
            &app,
            Method::PUT,
            &format!("/api/v1/accounts/{id}/grants/{}", gatekeeper.id),
            Some(json!({ "level": "viewer" })),
        )
        .await;
    assert_eq!(
        as_gatekeeper.status(),
        StatusCode::CONFLICT,
        "the gatekeeper needs no grant"
    );

    let audit: Value = owner.get_json(&app, "/api/v1/audit?action=account.").await;
    let granted = audit
        .as_array()
        .expect("list")
        .iter()
        .find(|e| e["action"] == "account.access_granted")
        .expect("audited");
    assert_eq!(granted["details"]["as_owner"], true);
    assert_eq!(granted["details"]["level"], "publisher");
    let told = notifications(&app, &gatekeeper).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(
        told[0]["subject"]
            .as_str()
            .expect("subject")
            .starts_with("An owner changed who may use"),
        "{told:?}"
    );
    assert_eq!(told[0]["link"], format!("/accounts/{id}"));
}

/// The person's notifications, newest first.
pub async fn notifications(app: &TestApp, person: &Person) -> Vec<Value> {
    let response = person.get(app, "/api/v1/notifications").await;
    assert_eq!(response.status(), StatusCode::OK);
    let list: Value = response.json().await.expect("JSON");
    list.as_array().expect("list").clone()
}

#[tokio::test]
async fn an_owner_reassigns_the_gatekeeper_and_the_old_one_loses_the_account() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let admin = invite_and_join(&app, &clock, &owner, "admin@sunny.example", "admin").await;
    let old = invite_and_join(&app, &clock, &owner, "old@sunny.example", "member").await;
    let new = invite_and_join(&app, &clock, &owner, "new@sunny.example", "member").await;
    let id = new_account(&app, &owner, "@sunnycafe", old.id).await;
    let path = format!("/api/v1/accounts/{id}/gatekeeper");

    let by_admin = admin
        .send(&app, Method::PUT, &path, Some(json!({ "user_id": new.id })))
        .await;
    assert_eq!(by_admin.status(), StatusCode::FORBIDDEN);
    let by_old = old
        .send(&app, Method::PUT, &path, Some(json!({ "user_id": new.id })))
        .await;
    assert_eq!(
        by_old.status(),
        StatusCode::FORBIDDEN,
        "a gatekeeper cannot hand the role on"
    );
    let rotations_path = format!("/api/v1/accounts/{id}/rotations");
    let none: Value = owner.get_json(&app, &rotations_path).await;
    assert_eq!(none, json!([]), "refused reassignments ask for nothing");
    let by_owner = owner
        .send(&app, Method::PUT, &path, Some(json!({ "user_id": new.id })))
        .await;
    assert_eq!(by_owner.status(), StatusCode::OK);
    assert_eq!(visible_ids(&app, &old).await, Vec::<i64>::new());
    let seen: Value = new.get_json(&app, &format!("/api/v1/accounts/{id}")).await;
    assert_eq!(seen["your_level"], "gatekeeper");
    let audit: Value = owner
        .get_json(&app, "/api/v1/audit?action=account.gatekeeper_changed")
        .await;
    assert_eq!(audit[0]["details"], json!({ "from": old.id, "to": new.id }));

    // The old gatekeeper could reveal the password: it is to be changed, and the new one is told.
    let rotations: Value = new.get_json(&app, &rotations_path).await;
    assert_eq!(rotations.as_array().expect("list").len(), 1, "{rotations}");
    assert_eq!(rotations[0]["reason"], "gatekeeper_changed");
    assert!(
        rotations[0]["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("old@sunny.example")),
        "{rotations}"
    );
    let posture: Value = new
        .get_json(&app, &format!("/api/v1/accounts/{id}/posture"))
        .await;
    assert_eq!(posture["rotate_now"], json!(["gatekeeper_changed"]));
    let requested: Value = owner
        .get_json(&app, "/api/v1/audit?action=account.rotation_requested")
        .await;
    assert_eq!(requested[0]["target"], format!("account:{id}"));
    assert_eq!(requested[0]["details"]["reason"], "gatekeeper_changed");
    let told: Value = new.get_json(&app, "/api/v1/notifications").await;
    assert!(
        told.to_string()
            .contains("Change the password of Sunny Café"),
        "{told}"
    );
}

#[tokio::test]
async fn deactivating_a_member_removes_their_account_access() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let leaver = invite_and_join(&app, &clock, &owner, "leaver@sunny.example", "member").await;
    let id = new_account(&app, &owner, "@sunnycafe", owner.id).await;
    owner
        .send(
            &app,
            Method::PUT,
            &format!("/api/v1/accounts/{id}/grants/{}", leaver.id),
            Some(json!({ "level": "contributor" })),
        )
        .await;
    assert_eq!(
        app.store.grants_of(leaver.id).await.expect("grants").len(),
        1
    );
    owner
        .post(
            &app,
            &format!("/api/v1/members/{}/deactivate", leaver.id),
            json!({}),
        )
        .await;
    assert!(
        app.store
            .grants_of(leaver.id)
            .await
            .expect("grants")
            .is_empty()
    );
    let detail: Value = owner
        .get_json(&app, &format!("/api/v1/accounts/{id}"))
        .await;
    assert_eq!(detail["grants"], json!([]));
}

#[tokio::test]
async fn bad_account_details_get_specific_errors_and_add_nothing() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let member = invite_and_join(&app, &clock, &owner, "m@sunny.example", "member").await;
    let cases = [
        (
            json!({ "network": "myspace", "handle": "x", "display_name": "D", "avatar_colour": "#000000", "gatekeeper_id": owner.id }),
            "network",
        ),
        (
            json!({ "network": "x", "handle": "@has space", "display_name": "D", "avatar_colour": "#000000", "gatekeeper_id": owner.id }),
            "handle",
        ),
        (
            json!({ "network": "x", "handle": "@ok", "display_name": "D", "avatar_colour": "teal", "gatekeeper_id": owner.id }),
            "avatar_colour",
        ),
        (
            json!({ "network": "x", "handle": "@ok", "display_name": "D", "avatar_colour": "#000000", "gatekeeper_id": 424242 }),
            "gatekeeper_id",
        ),
        // A field the API does not know is refused, not ignored.
        (
            json!({ "network": "x", "handle": "@ok", "display_name": "D", "avatar_colour": "#000000", "gatekeeper_id": owner.id, "owner_email": "o@sunny.example" }),
            "owner_email",
        ),
    ];
    for (body, field) in cases {
        let response = owner.post(&app, "/api/v1/accounts", body).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}"
        );
        let problem: Value = response.json().await.expect("JSON");
        let detail = problem["detail"].as_str().expect("detail");
        assert!(
            problem["field"] == field || detail.contains(field),
            "{field}: {problem}"
        );
    }
    assert_eq!(
        add_account(&app, &member, "@ok", member.id).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        add_account(&app, &owner, "@ok", owner.id).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        add_account(&app, &owner, "ok", owner.id).await.status(),
        StatusCode::CONFLICT,
        "same network and handle"
    );
    assert_eq!(visible_ids(&app, &owner).await.len(), 1);
}

#[tokio::test]
async fn tokens_for_another_network_account_than_the_one_registered_are_refused_naming_both() {
    let fake = networks::fake::x::start(networks::fake::FakeState::new("x-token", 5))
        .await
        .expect("fake X starts");
    let url = fake.url();
    let clock =
        herald::clock::ManualClock::new(jiff::Timestamp::from_second(1_800_000_000).expect("time"));
    let app = crate::helpers::spawn_app_with_clock(
        |config| config.networks.x_api_url = url,
        std::sync::Arc::new(clock.clone()),
    )
    .await;
    let owner = set_up(&app, &clock).await;
    // The fake answers as @herald_test, whoever asks.
    let walkcafe = new_account(&app, &owner, "@walkcafe", owner.id).await;
    let connect = async |id: AccountId| {
        owner
            .send(
                &app,
                Method::PUT,
                &format!("/api/v1/accounts/{id}/connection"),
                Some(json!({ "method": "access_token", "token": "x-token" })),
            )
            .await
    };
    let refused = connect(walkcafe).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = refused.json().await.expect("JSON");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(
        detail.contains("@herald_test") && detail.contains("@walkcafe"),
        "{detail}"
    );
    assert!(!detail.contains("x-token"), "{detail}");
    // Refused and audited; nothing connected (no `account.connected` entry).
    let audit: Value = owner
        .get_json(&app, "/api/v1/audit?action=account.connect")
        .await;
    assert_eq!(audit.as_array().expect("entries").len(), 1, "{audit}");
    assert_eq!(audit[0]["action"], "account.connection_refused");
    assert_eq!(audit[0]["target"], format!("account:{walkcafe}"));
    assert_eq!(
        audit[0]["details"],
        json!({ "network": "x", "registered": "@walkcafe", "reported": "@herald_test" })
    );

    // The account the tokens are for connects (the handle compared without regard to case).
    let herald = new_account(&app, &owner, "@Herald_Test", owner.id).await;
    assert_eq!(connect(herald).await.status(), StatusCode::OK);
}

/// The account page's access forms refuse whoever may not change access: a contributor on the
/// account (403), a member who cannot see it (404, as if it did not exist), and an admin who
/// is not an owner naming a gatekeeper (403). Nothing changes.
#[tokio::test]
async fn the_account_pages_access_forms_refuse_whoever_may_not_change_access() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let writer = invite_and_join(&app, &clock, &owner, "writer@sunny.example", "member").await;
    let outsider = invite_and_join(&app, &clock, &owner, "out@sunny.example", "member").await;
    let admin = invite_and_join(&app, &clock, &owner, "admin@sunny.example", "admin").await;
    let account = new_account(&app, &owner, "@sunnycafe", owner.id).await;
    crate::posts::grant(&app, &owner, account, &writer, "contributor").await;
    let post_form = |person: &Person, path: String, fields: Vec<(&'static str, String)>| {
        let mut form = vec![("csrf", person.csrf.clone())];
        form.extend(fields);
        person.client.post(app.url(&path)).form(&form).send()
    };
    let give_outsider = |level: &str| {
        vec![
            ("member_id", outsider.id.to_string()),
            ("level", level.to_owned()),
        ]
    };
    let refused = post_form(
        &writer,
        format!("/accounts/{account}/access"),
        give_outsider("publisher"),
    )
    .await
    .expect("request");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let hidden = post_form(
        &outsider,
        format!("/accounts/{account}/access"),
        give_outsider("publisher"),
    )
    .await
    .expect("request");
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
    let not_owner = post_form(
        &admin,
        format!("/accounts/{account}/gatekeeper"),
        vec![("member_id", admin.id.to_string())],
    )
    .await
    .expect("request");
    assert_eq!(not_owner.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.store.grant(account, outsider.id).await.expect("grant"),
        None
    );
    let record = app
        .store
        .account(account)
        .await
        .expect("read")
        .expect("account");
    assert_eq!(record.gatekeeper_id, owner.id);

    // The gatekeeper may: the same form gives access, and `none` takes it away again.
    let given = post_form(
        &owner,
        format!("/accounts/{account}/access"),
        give_outsider("viewer"),
    )
    .await
    .expect("request");
    assert!(given.status().is_redirection(), "{}", given.status());
    assert!(
        app.store
            .grant(account, outsider.id)
            .await
            .expect("grant")
            .is_some()
    );
    let taken = post_form(
        &owner,
        format!("/accounts/{account}/access"),
        give_outsider("none"),
    )
    .await
    .expect("request");
    assert!(taken.status().is_redirection(), "{}", taken.status());
    assert_eq!(
        app.store.grant(account, outsider.id).await.expect("grant"),
        None
    );
}
