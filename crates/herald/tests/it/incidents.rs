//! The day an account is hacked (issue 20), through the API against the fake networks: one
//! click locks an account down with the network up, down or refusing, twice at once, racing a
//! publish, with 100 posts queued; a member raises "I think this account is hacked"; the
//! recovery is ticked (Herald checks what it can) up to closing, the report and the explicit
//! resume; a drill changes nothing real; and who may do what.

use herald::domain::ids::AccountId;
use std::sync::Arc;
use std::time::{Duration, Instant};

use herald::clock::ManualClock;
use jiff::{SignedDuration, Timestamp};
use networks::fake::{FakeServer, FakeState};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::spawn_app_with_clock;
use crate::people::{Person, invite_and_join, set_up};
use crate::posts::grant;
use crate::publishing::{Scene, scheduled_in_store};

const TOKEN: &str = "fake-x-token-1nc1d3nt";

/// An X account on a fake X, connected, with Herald's X app configured (`client_secret`
/// wrong makes X refuse the revocation).
async fn x_scene(client_secret: &str) -> Scene {
    let fake = networks::fake::x::start(FakeState::new(TOKEN, 3))
        .await
        .expect("fake X starts");
    x_scene_on(fake, client_secret).await
}

async fn x_scene_on(fake: FakeServer, client_secret: &str) -> Scene {
    let clock = ManualClock::new(Timestamp::from_second(1_800_000_000).expect("time"));
    let url = fake.url();
    let secret = client_secret.to_owned();
    let app = spawn_app_with_clock(
        |config| {
            config.networks.x_api_url = url.clone();
            config.networks.x_client_id = Some(networks::fake::x::CLIENT_ID.to_owned());
            config.networks.x_client_secret = Some(secret.into());
            config.networks.request_timeout_seconds = 1;
            config.jobs.lease_seconds = 10;
        },
        Arc::new(clock.clone()),
    )
    .await;
    let owner = set_up(&app, &clock).await;
    let keeper = invite_and_join(&app, &clock, &owner, "keeper@sunny.example", "member").await;
    let created: Value = owner
        .post(
            &app,
            "/api/v1/accounts",
            json!({ "network": "x", "handle": "@herald_test", "display_name": "Sunny Café",
                    "avatar_colour": "#1f5f5b", "gatekeeper_id": keeper.id }),
        )
        .await
        .json()
        .await
        .expect("JSON");
    let account = AccountId::new(created["id"].as_i64().expect("account id"));
    let connected = keeper
        .send(
            &app,
            Method::PUT,
            &format!("/api/v1/accounts/{account}/connection"),
            Some(json!({ "method": "access_token", "token": TOKEN })),
        )
        .await;
    assert_eq!(
        connected.status(),
        StatusCode::OK,
        "{:?}",
        connected.text().await
    );
    Scene {
        app,
        clock,
        fake,
        owner,
        keeper,
        account,
    }
}

async fn lock_down(scene: &Scene, by: &Person, body: Value) -> reqwest::Response {
    by.post(
        &scene.app,
        &format!("/api/v1/accounts/{}/lockdown", scene.account),
        body,
    )
    .await
}

async fn locked(scene: &Scene, by: &Person, body: Value) -> Value {
    let response = lock_down(scene, by, body).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("JSON")
}

/// The outcome of a lockdown step in an incident's answer.
fn outcome<'a>(incident: &'a Value, step: &str) -> (&'a str, &'a str) {
    let found = incident["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|candidate| candidate["step"] == step)
        .unwrap_or_else(|| panic!("no step {step} in {incident}"));
    (
        found["outcome"].as_str().expect("outcome"),
        found["detail"].as_str().expect("detail"),
    )
}

async fn me_status(scene: &Scene, person: &Person) -> StatusCode {
    person.get(&scene.app, "/api/v1/me").await.status()
}

/// Whether the fake X still accepts Herald's token.
async fn token_works_at(fake: &FakeServer) -> bool {
    reqwest::Client::new()
        .get(format!("{}/2/users/me", fake.url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("fake answers")
        .status()
        .is_success()
}

#[tokio::test]
async fn a_lockdown_with_the_network_up_stops_everything_herald_holds_and_revokes_its_tokens() {
    let scene = x_scene(networks::fake::x::CLIENT_SECRET).await;
    let contributor = invite_and_join(
        &scene.app,
        &scene.clock,
        &scene.owner,
        "cam@sunny.example",
        "member",
    )
    .await;
    grant(
        &scene.app,
        &scene.keeper,
        scene.account,
        &contributor,
        "contributor",
    )
    .await;
    let scheduled = scene.approved("Lunch specials at noon").await;
    let at = scene.in_minutes(5);
    assert_eq!(
        scene
            .schedule(&scene.keeper, scheduled, json!({ "at": at }))
            .await
            .status(),
        StatusCode::OK
    );
    let waiting =
        crate::posts::draft_id(&scene.app, &contributor, scene.account, "New menu soon").await;
    let submitted = crate::posts::act(&scene.app, &contributor, waiting, "submit", json!({})).await;
    assert_eq!(submitted.status(), StatusCode::OK);
    assert_eq!(me_status(&scene, &contributor).await, StatusCode::OK);

    let incident = locked(
        &scene,
        &scene.keeper,
        json!({ "end_sessions_of": [contributor.id] }),
    )
    .await;

    assert_eq!(incident["status"], "locked_down", "{incident}");
    assert_eq!(incident["opened_by"], "lockdown");
    assert_eq!(incident["drill"], false);
    for step in [
        "pause_queue",
        "cancel_approvals",
        "revoke_tokens",
        "rotate_credentials",
        "end_sessions",
        "notify",
    ] {
        assert_eq!(outcome(&incident, step).0, "done", "{step}: {incident}");
    }
    assert!(
        outcome(&incident, "pause_queue")
            .1
            .contains("1 scheduled posts")
    );
    assert!(
        outcome(&incident, "cancel_approvals")
            .1
            .starts_with("1 posts")
    );
    assert!(
        !token_works_at(&scene.fake).await,
        "X no longer takes the token"
    );
    assert_eq!(scene.post(scheduled).await["state"], "approved");
    assert_eq!(scene.post(waiting).await["state"], "draft");
    assert_eq!(
        me_status(&scene, &contributor).await,
        StatusCode::UNAUTHORIZED
    );
    let rotations = scene
        .keeper
        .get_json(
            &scene.app,
            &format!("/api/v1/accounts/{}/rotations", scene.account),
        )
        .await;
    assert!(
        rotations.to_string().contains("\"incident\""),
        "{rotations}"
    );
    let account = scene
        .app
        .store
        .account(scene.account)
        .await
        .expect("store")
        .expect("account");
    assert_eq!(
        account.connection, "not_connected",
        "the tokens were dropped from the vault"
    );

    // Nothing goes out: the held post's old time passes, and a post scheduled anew is refused
    // at the start of its attempt.
    let again = scene
        .schedule(
            &scene.keeper,
            scheduled,
            json!({ "at": scene.in_minutes(1) }),
        )
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    scene.clock.advance(SignedDuration::from_mins(10));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(scene.fake.state.post_count(), 0);
    assert_ne!(scene.post(scheduled).await["state"], "published");

    let notes = scene
        .owner
        .get_json(&scene.app, "/api/v1/notifications")
        .await;
    assert!(notes.to_string().contains("is locked down"), "{notes}");
    let audit = scene.audit().await;
    assert!(audit.contains("account.locked_down") && audit.contains("\"revoke_tokens\""));
    assert!(!audit.contains(TOKEN), "no token in the audit log");
}

#[tokio::test]
async fn a_lockdown_with_the_network_down_finishes_every_other_step_and_the_revocation_is_retried()
{
    let fake = networks::fake::x::start(FakeState::new(TOKEN, 3))
        .await
        .expect("fake X");
    let addr = fake.addr;
    let state = fake.state.clone();
    let scene = x_scene_on(fake, networks::fake::x::CLIENT_SECRET).await;
    let Scene {
        app,
        clock,
        fake,
        owner,
        keeper,
        account,
    } = scene;
    drop(fake);
    let scene = Scene {
        app,
        clock,
        fake: networks::fake::x::start(FakeState::new("unused", 1))
            .await
            .expect("placeholder"),
        owner,
        keeper,
        account,
    };
    let post = scene.approved("Brunch on Sunday").await;
    assert_eq!(
        scene
            .schedule(&scene.keeper, post, json!({ "at": scene.in_minutes(2) }))
            .await
            .status(),
        StatusCode::OK
    );

    let incident = locked(&scene, &scene.owner, json!({})).await;

    let (revoke, why) = outcome(&incident, "revoke_tokens");
    assert_eq!(revoke, "failed", "{incident}");
    assert!(
        why.contains("could not be reached") && why.contains("retry"),
        "{why}"
    );
    for step in [
        "pause_queue",
        "cancel_approvals",
        "rotate_credentials",
        "end_sessions",
        "notify",
    ] {
        assert_eq!(outcome(&incident, step).0, "done", "{step}");
    }
    assert_eq!(
        incident["status"], "open",
        "not locked down while a step failed"
    );
    assert_eq!(
        scene.post(post).await["state"],
        "approved",
        "the queue is paused all the same"
    );

    // X is back on the same address; the retry revokes and drops the tokens.
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .expect("same port");
    let _back = FakeServer::serve(listener, networks::fake::x::router(state.clone()), state)
        .expect("serves");
    let id = incident["id"].as_i64().expect("id");
    let retried = scene
        .owner
        .post(
            &scene.app,
            &format!("/api/v1/incidents/{id}/retry"),
            json!({}),
        )
        .await;
    assert_eq!(retried.status(), StatusCode::OK);
    let retried: Value = retried.json().await.expect("JSON");
    assert_eq!(outcome(&retried, "revoke_tokens").0, "done", "{retried}");
    assert_eq!(retried["status"], "locked_down");
    let timeline = retried["timeline"].to_string();
    assert!(
        timeline.contains("failed") && timeline.contains("revoked Herald's tokens"),
        "{timeline}"
    );
}

#[tokio::test]
async fn a_network_that_refuses_the_revocation_leaves_that_step_failed_with_its_reason() {
    let scene = x_scene("not-the-right-secret").await;
    let incident = locked(&scene, &scene.keeper, json!({})).await;
    let (revoke, why) = outcome(&incident, "revoke_tokens");
    assert_eq!(revoke, "failed");
    assert!(why.contains("refused"), "{why}");
    assert!(token_works_at(&scene.fake).await, "X did not revoke it");
    assert_eq!(outcome(&incident, "pause_queue").0, "done");
    assert_eq!(incident["status"], "open");
}

#[tokio::test]
async fn two_lockdowns_at_once_make_one_incident_with_one_set_of_steps() {
    let scene = x_scene(networks::fake::x::CLIENT_SECRET).await;
    let (first, second) = tokio::join!(
        lock_down(&scene, &scene.keeper, json!({})),
        lock_down(&scene, &scene.owner, json!({}))
    );
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(second.status(), StatusCode::OK);
    let first: Value = first.json().await.expect("JSON");
    let second: Value = second.json().await.expect("JSON");
    assert_eq!(first["id"], second["id"]);
    let incident = scene
        .owner
        .get_json(&scene.app, &format!("/api/v1/incidents/{}", first["id"]))
        .await;
    assert_eq!(
        incident["steps"].as_array().expect("steps").len(),
        6,
        "{incident}"
    );
    let started = incident["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter(|event| event["text"] == "Lockdown started")
        .count();
    assert_eq!(started, 1);
    let listed = scene.owner.get_json(&scene.app, "/api/v1/incidents").await;
    assert_eq!(listed.as_array().expect("list").len(), 1);
    // A third press answers the same incident, and runs nothing again.
    let third = locked(&scene, &scene.owner, json!({})).await;
    assert_eq!(third["id"], first["id"]);
    let audit = scene.audit().await;
    assert_eq!(audit.matches("account.locked_down").count(), 1);
}

#[tokio::test]
async fn a_publish_racing_a_lockdown_went_out_before_it_or_is_held_never_after() {
    let scene = Scene::mastodon().await;
    let post = scene.approved("Fresh bread at eight").await;
    assert_eq!(
        scene
            .schedule(&scene.keeper, post, json!({ "at": scene.in_minutes(1) }))
            .await
            .status(),
        StatusCode::OK
    );
    scene.clock.advance(SignedDuration::from_mins(2));
    let incident = locked(&scene, &scene.keeper, json!({})).await;
    // Whatever the runner did meanwhile, nothing leaves after the lockdown answered.
    let count_at_lockdown = scene.fake.state.post_count();
    scene.clock.advance(SignedDuration::from_mins(30));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(scene.fake.state.post_count(), count_at_lockdown);
    let state = scene.post(post).await["state"].clone();
    let timeline = incident["timeline"].to_string();
    if count_at_lockdown == 1 {
        assert_eq!(state, "published", "out before the lockdown: {timeline}");
    } else {
        assert_ne!(state, "published");
        assert!(
            ["approved", "failed", "scheduled"].contains(&state.as_str().expect("state")),
            "{state}"
        );
    }
    if timeline.contains("being published when the lockdown began") {
        assert!(
            timeline.contains("went out before the lockdown") == (count_at_lockdown == 1),
            "{timeline}"
        );
    }
}

#[tokio::test]
async fn a_lockdown_with_a_hundred_posts_queued_finishes_within_two_seconds() {
    let scene = x_scene(networks::fake::x::CLIENT_SECRET).await;
    let now = Timestamp::from_second(1_800_000_000).expect("time");
    let at = now
        .checked_add(SignedDuration::from_hours(2))
        .expect("time");
    for n in 0..100 {
        scheduled_in_store(
            &scene.app.store,
            scene.account,
            scene.keeper.id,
            &format!("Queued post {n}"),
            at,
            3,
            now,
        )
        .await;
    }
    let started = Instant::now();
    let incident = locked(&scene, &scene.keeper, json!({})).await;
    let took = started.elapsed();
    #[allow(clippy::print_stderr)] // The figure belongs in the test log (bench/incident.sh).
    {
        eprintln!(
            "FIGURE lockdown_100_queued_ms={} backend={}",
            took.as_millis(),
            scene.app.store.backend_name()
        );
    }
    assert_eq!(incident["status"], "locked_down", "{incident}");
    assert!(
        outcome(&incident, "pause_queue")
            .1
            .contains("100 scheduled posts")
    );
}

#[tokio::test]
async fn a_member_who_thinks_the_account_is_hacked_opens_an_incident_and_the_gatekeeper_is_told() {
    let scene = Scene::mastodon().await;
    let viewer = invite_and_join(
        &scene.app,
        &scene.clock,
        &scene.owner,
        "val@sunny.example",
        "member",
    )
    .await;
    grant(&scene.app, &scene.keeper, scene.account, &viewer, "viewer").await;
    let path = format!("/api/v1/accounts/{}/incidents", scene.account);
    let blank = viewer
        .post(&scene.app, &path, json!({ "what": "  " }))
        .await;
    assert_eq!(blank.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let reported = viewer
        .post(
            &scene.app,
            &path,
            json!({ "what": "A crypto giveaway none of us wrote" }),
        )
        .await;
    assert_eq!(reported.status(), StatusCode::CREATED);
    let incident: Value = reported.json().await.expect("JSON");
    assert_eq!(incident["opened_by"], "member");
    assert_eq!(incident["status"], "open");
    assert!(incident["timeline"].to_string().contains("crypto giveaway"));
    let told = scene
        .keeper
        .get_json(&scene.app, "/api/v1/notifications")
        .await;
    assert!(told.to_string().contains("Possible compromise"), "{told}");
    // The viewer may not lock it down; the gatekeeper's lockdown takes over the same incident.
    assert_eq!(
        lock_down(&scene, &viewer, json!({})).await.status(),
        StatusCode::FORBIDDEN
    );
    let locked = locked(&scene, &scene.keeper, json!({})).await;
    assert_eq!(locked["id"], incident["id"]);
}

#[tokio::test]
async fn only_the_gatekeeper_or_an_owner_locks_down_and_leads_and_others_do_not_see_it() {
    let scene = Scene::mastodon().await;
    let publisher = invite_and_join(
        &scene.app,
        &scene.clock,
        &scene.owner,
        "pat@sunny.example",
        "member",
    )
    .await;
    grant(
        &scene.app,
        &scene.keeper,
        scene.account,
        &publisher,
        "publisher",
    )
    .await;
    let admin = invite_and_join(
        &scene.app,
        &scene.clock,
        &scene.owner,
        "ada@sunny.example",
        "admin",
    )
    .await;
    let outsider = invite_and_join(
        &scene.app,
        &scene.clock,
        &scene.owner,
        "olly@sunny.example",
        "member",
    )
    .await;
    assert_eq!(
        lock_down(&scene, &publisher, json!({})).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        lock_down(&scene, &admin, json!({})).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        lock_down(&scene, &outsider, json!({})).await.status(),
        StatusCode::NOT_FOUND
    );
    let unknown = lock_down(&scene, &scene.owner, json!({ "end_sessions_of": [9999] })).await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let incident = locked(&scene, &scene.owner, json!({})).await;
    let id = incident["id"].as_i64().expect("id");
    let tick = format!("/api/v1/incidents/{id}/steps/remove_sessions_apps");
    let ticked = publisher.post(&scene.app, &tick, json!({})).await;
    assert_eq!(ticked.status(), StatusCode::FORBIDDEN);
    let ticked = outsider.post(&scene.app, &tick, json!({})).await;
    assert_eq!(ticked.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        outsider
            .get(&scene.app, &format!("/api/v1/incidents/{id}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        outsider.get_json(&scene.app, "/api/v1/incidents").await,
        json!([])
    );
    assert_eq!(
        publisher
            .get(&scene.app, &format!("/api/v1/incidents/{id}"))
            .await
            .status(),
        StatusCode::OK
    );
    let closed = publisher
        .post(
            &scene.app,
            &format!("/api/v1/incidents/{id}/close"),
            json!({}),
        )
        .await;
    assert_eq!(closed.status(), StatusCode::FORBIDDEN);
    let template = publisher
        .send(
            &scene.app,
            Method::PUT,
            "/api/v1/incident-templates/holding",
            Some(json!({ "text": "Ours now" })),
        )
        .await;
    assert_eq!(template.status(), StatusCode::FORBIDDEN);
    // A token without accounts:write cannot lock down.
    let token: Value = scene
        .owner
        .post(
            &scene.app,
            "/api/v1/tokens",
            json!({ "name": "read only", "scopes": ["accounts:read"], "expires_in_days": 1 }),
        )
        .await
        .json()
        .await
        .expect("JSON");
    let refused = scene
        .app
        .client
        .post(
            scene
                .app
                .url(&format!("/api/v1/accounts/{}/lockdown", scene.account)),
        )
        .bearer_auth(token["secret"].as_str().expect("secret"))
        .json(&json!({}))
        .send()
        .await
        .expect("answer");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_full_recovery_closes_the_incident_reports_it_and_the_queue_resumes_only_when_asked() {
    let scene = Scene::mastodon().await;
    let incident = locked(&scene, &scene.keeper, json!({})).await;
    let id = incident["id"].as_i64().expect("id");
    // A pasted Mastodon token can only be revoked by the account: not possible, dropped.
    let (revoke, how) = outcome(&incident, "revoke_tokens");
    assert_eq!(revoke, "not_possible", "{incident}");
    assert!(how.contains("Authorized apps"), "{how}");
    assert_eq!(incident["status"], "locked_down");
    let checklist = incident["checklist"].as_array().expect("checklist");
    assert_eq!(checklist.len(), 7);
    assert_eq!(checklist[0]["link"], "/about");

    let step = |key: &str| format!("/api/v1/incidents/{id}/steps/{key}");
    let close = format!("/api/v1/incidents/{id}/close");
    let early = scene
        .keeper
        .post(&scene.app, &step("change_password"), json!({}))
        .await;
    assert_eq!(
        early.status(),
        StatusCode::CONFLICT,
        "Herald sees no new password yet"
    );
    let refused = scene.keeper.post(&scene.app, &close, json!({})).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert!(refused.text().await.expect("text").contains("rotate now"));

    let stored = scene
        .keeper
        .send(
            &scene.app,
            Method::PUT,
            &format!(
                "/api/v1/accounts/{}/credentials/login_password",
                scene.account
            ),
            Some(json!({ "value": "vast-Orbit-quiet-71-ladder" })),
        )
        .await;
    assert_eq!(stored.status(), StatusCode::OK);
    for key in [
        "regain_access",
        "change_password",
        "remove_sessions_apps",
        "check_recovery_contacts",
        "delete_attacker_posts",
    ] {
        let ticked = scene.keeper.post(&scene.app, &step(key), json!({})).await;
        assert_eq!(ticked.status(), StatusCode::OK, "{key}");
    }
    let no_seed = scene
        .keeper
        .post(&scene.app, &step("reenrol_2fa"), json!({}))
        .await;
    assert_eq!(no_seed.status(), StatusCode::CONFLICT);
    let seed = scene
        .keeper
        .send(
            &scene.app,
            Method::PUT,
            &format!("/api/v1/accounts/{}/credentials/totp_seed", scene.account),
            Some(json!({ "value": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" })),
        )
        .await;
    assert_eq!(seed.status(), StatusCode::OK);
    assert_eq!(
        scene
            .keeper
            .post(&scene.app, &step("reenrol_2fa"), json!({}))
            .await
            .status(),
        StatusCode::OK
    );
    let not_connected = scene.keeper.post(&scene.app, &close, json!({})).await;
    assert_eq!(
        not_connected.status(),
        StatusCode::CONFLICT,
        "the connection must work first"
    );
    let reconnected = scene
        .keeper
        .send(
            &scene.app,
            Method::PUT,
            &format!("/api/v1/accounts/{}/connection", scene.account),
            Some(json!({ "method": "access_token", "token": "fake-mastodon-token-5ec2e7", "server": scene.fake.url() })),
        )
        .await;
    assert_eq!(reconnected.status(), StatusCode::OK);
    let last = scene
        .keeper
        .post(&scene.app, &step("reconnect_herald"), json!({}))
        .await;
    assert_eq!(last.status(), StatusCode::OK);
    let recovered: Value = last.json().await.expect("JSON");
    assert!(recovered["recovered_at"].is_string(), "{recovered}");

    let resume = format!("/api/v1/accounts/{}/resume", scene.account);
    assert_eq!(
        scene
            .keeper
            .post(&scene.app, &resume, json!({}))
            .await
            .status(),
        StatusCode::CONFLICT
    );
    let closed = scene
        .keeper
        .post(
            &scene.app,
            &close,
            json!({ "lessons": "Use a unique password" }),
        )
        .await;
    assert_eq!(closed.status(), StatusCode::OK);
    let closed: Value = closed.json().await.expect("JSON");
    assert_eq!(closed["status"], "closed");
    // Still paused until resumed explicitly.
    let held = scene.approved("After the storm").await;
    assert_eq!(
        scene
            .schedule(&scene.keeper, held, json!({ "at": scene.in_minutes(1) }))
            .await
            .status(),
        StatusCode::OK
    );
    scene.clock.advance(SignedDuration::from_mins(2));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(scene.fake.state.post_count(), 0);
    assert_eq!(
        scene
            .keeper
            .post(&scene.app, &resume, json!({}))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let later = scene.approved("Open again").await;
    assert_eq!(
        scene
            .schedule(&scene.keeper, later, json!({ "at": scene.in_minutes(1) }))
            .await
            .status(),
        StatusCode::OK
    );
    scene.clock.advance(SignedDuration::from_mins(2));
    scene.wait_for(later, "published").await;

    let report = scene
        .keeper
        .get(&scene.app, &format!("/api/v1/incidents/{id}/report"))
        .await;
    assert_eq!(report.status(), StatusCode::OK);
    assert!(
        report.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/markdown")
    );
    let report = report.text().await.expect("text");
    assert!(
        report.starts_with(&format!("# Incident {id}: Sunny Café on Mastodon")),
        "{report}"
    );
    assert!(report.contains("- [x] Change the password"), "{report}");
    assert!(report.contains("Use a unique password"));
    assert!(report.contains("- Whole incident:"));
    let audit = scene.audit().await;
    assert!(audit.contains("incident.closed") && audit.contains("account.queue_resumed"));
}

#[tokio::test]
async fn a_drill_runs_the_plan_marked_as_a_drill_and_changes_nothing_real() {
    let scene = Scene::mastodon().await;
    let post = scene.approved("Drill day muffins").await;
    assert_eq!(
        scene
            .schedule(&scene.keeper, post, json!({ "at": scene.in_minutes(3) }))
            .await
            .status(),
        StatusCode::OK
    );
    let incident = locked(
        &scene,
        &scene.keeper,
        json!({ "drill": true, "end_sessions_of": [scene.owner.id] }),
    )
    .await;
    assert_eq!(incident["drill"], true);
    for step in [
        "pause_queue",
        "cancel_approvals",
        "revoke_tokens",
        "rotate_credentials",
        "end_sessions",
        "notify",
    ] {
        let (done, detail) = outcome(&incident, step);
        assert_eq!(done, "done", "{step}");
        if step != "notify" {
            assert!(detail.starts_with("Drill"), "{step}: {detail}");
        }
    }
    assert_eq!(scene.post(post).await["state"], "scheduled");
    assert_eq!(me_status(&scene, &scene.owner).await, StatusCode::OK);
    let rotations = scene
        .keeper
        .get_json(
            &scene.app,
            &format!("/api/v1/accounts/{}/rotations", scene.account),
        )
        .await;
    assert_eq!(rotations, json!([]));
    let told = scene
        .owner
        .get_json(&scene.app, "/api/v1/notifications")
        .await;
    assert!(told.to_string().contains("[Drill]"), "{told}");
    let id = incident["id"].as_i64().expect("id");
    let ticked = scene
        .keeper
        .post(
            &scene.app,
            &format!("/api/v1/incidents/{id}/steps/change_password"),
            json!({}),
        )
        .await;
    assert_eq!(ticked.status(), StatusCode::OK);
    let closed = scene
        .keeper
        .post(
            &scene.app,
            &format!("/api/v1/incidents/{id}/close"),
            json!({}),
        )
        .await;
    assert_eq!(closed.status(), StatusCode::OK);
    let report = scene
        .keeper
        .get(&scene.app, &format!("/api/v1/incidents/{id}/report"))
        .await
        .text()
        .await
        .expect("text");
    assert!(
        report.contains("(DRILL)") && report.contains("This was a drill"),
        "{report}"
    );
    // The post still goes out: nothing was paused.
    scene.clock.advance(SignedDuration::from_mins(4));
    scene.wait_for(post, "published").await;
}

#[tokio::test]
async fn a_holding_statement_becomes_drafts_on_the_other_accounts_and_staff_are_told() {
    let scene = Scene::mastodon().await;
    let other: Value = scene
        .owner
        .post(
            &scene.app,
            "/api/v1/accounts",
            json!({ "network": "bluesky", "handle": "sunny.example", "display_name": "Sunny on Bluesky",
                    "avatar_colour": "#1f5f5b", "gatekeeper_id": scene.keeper.id }),
        )
        .await
        .json()
        .await
        .expect("JSON");
    let other = other["id"].as_i64().expect("id");
    let changed = scene
        .owner
        .send(
            &scene.app,
            Method::PUT,
            "/api/v1/incident-templates/holding",
            Some(json!({ "text": "Our {account} account on {network} was hacked. Ignore it for now." })),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    let incident = locked(&scene, &scene.keeper, json!({})).await;
    let id = incident["id"].as_i64().expect("id");
    let path = format!("/api/v1/incidents/{id}/statements");
    let own = scene
        .keeper
        .post(
            &scene.app,
            &path,
            json!({ "kind": "holding", "account_ids": [scene.account] }),
        )
        .await;
    assert_eq!(own.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let drafted = scene
        .keeper
        .post(
            &scene.app,
            &path,
            json!({ "kind": "holding", "account_ids": [other] }),
        )
        .await;
    assert_eq!(drafted.status(), StatusCode::CREATED);
    let drafted: Value = drafted.json().await.expect("JSON");
    let post = drafted["posts"][0].as_i64().expect("post");
    let draft = scene
        .keeper
        .get_json(&scene.app, &format!("/api/v1/posts/{post}"))
        .await;
    assert_eq!(draft["state"], "draft");
    assert_eq!(
        draft["text"],
        "Our Sunny Café account on Mastodon was hacked. Ignore it for now."
    );
    let told = scene
        .owner
        .get_json(&scene.app, "/api/v1/notifications")
        .await;
    assert!(
        told.to_string().contains("Ignore messages and links"),
        "{told}"
    );
}

#[tokio::test]
async fn a_post_in_flight_when_the_lockdown_begins_is_waited_for_and_shown_as_out_before_it() {
    let scene = Scene::mastodon().await;
    let post = scene.approved("Slow network, fresh croissants").await;
    let scheduled = scene
        .schedule(&scene.keeper, post, json!({ "at": scene.in_minutes(1) }))
        .await;
    assert_eq!(scheduled.status(), StatusCode::OK);
    // The instance makes the post, then takes 700 ms to answer: the attempt is in flight.
    scene.fake.state.set_faults(networks::fake::Faults {
        hang: Duration::from_millis(700),
        ..networks::fake::Faults::default()
    });
    scene.fake.state.inject(&[networks::fake::Fault::LostAfter]);
    scene.clock.advance(SignedDuration::from_mins(2));
    scene.wait_for(post, "publishing").await;
    let incident = locked(&scene, &scene.keeper, json!({})).await;
    assert_eq!(scene.fake.state.post_count(), 1);
    assert_eq!(scene.post(post).await["state"], "published");
    let timeline = incident["timeline"].to_string();
    assert!(
        timeline.contains(&format!("Post {post} was already being published when the lockdown began: it went out before the lockdown")),
        "{timeline}"
    );
    assert!(
        outcome(&incident, "pause_queue")
            .1
            .contains("1 already being published")
    );
}
