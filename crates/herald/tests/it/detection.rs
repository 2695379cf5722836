//! The watcher (issue 20) against a fake Mastodon: a post Herald did not make, a changed
//! profile, a Herald post deleted and Herald's token refused each raise a "possible
//! compromise" alert with the evidence within one polling interval, once; Herald's own posts
//! and what was there before watching began raise nothing.

use std::time::{Duration, Instant};

use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::Value;

use crate::publishing::Scene;

const TOKEN: &str = "fake-mastodon-token-5ec2e7";

/// Moves the clock one polling interval on, so the watcher looks again.
pub(crate) fn one_interval_later(scene: &Scene) {
    scene.clock.advance(SignedDuration::from_mins(1));
}

/// Waits until the watcher has first looked at the account (it remembers the profile).
pub(crate) async fn wait_for_a_look(scene: &Scene) {
    for _ in 0..300 {
        let seen = scene
            .app
            .store
            .watched_profile(scene.account)
            .await
            .expect("store");
        if seen.is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the watcher never looked at the account");
}

/// The detection incident the gatekeeper sees, waiting for one to appear (the deadline only
/// stops a hang: a loaded machine may take seconds; the delay's figure is bench/incident.sh's).
pub(crate) async fn alert(scene: &Scene) -> Option<Value> {
    for _ in 0..1500 {
        let listed = scene.keeper.get_json(&scene.app, "/api/v1/incidents").await;
        if let Some(found) = listed
            .as_array()
            .expect("list")
            .iter()
            .find(|incident| incident["opened_by"] == "detection")
        {
            let id = found["id"].as_i64().expect("id");
            return Some(
                scene
                    .keeper
                    .get_json(&scene.app, &format!("/api/v1/incidents/{id}"))
                    .await,
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

fn evidence(incident: &Value) -> Vec<String> {
    incident["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter(|event| event["kind"] == "evidence")
        .map(|event| event["text"].as_str().expect("text").to_owned())
        .collect()
}

/// Does to the account at the fake what an attacker with its session would.
pub(crate) async fn as_attacker(
    scene: &Scene,
    method: reqwest::Method,
    path: &str,
    form: &[(&str, &str)],
) {
    let answer = reqwest::Client::new()
        .request(method, format!("{}{path}", scene.fake.url()))
        .bearer_auth(TOKEN)
        .form(form)
        .send()
        .await
        .expect("the fake answers");
    assert!(answer.status().is_success(), "{:?}", answer.text().await);
}

#[tokio::test]
async fn a_post_herald_did_not_make_and_a_changed_profile_raise_one_alert_within_a_polling_interval()
 {
    let scene = Scene::mastodon().await;
    let own = scene.published_after("Our own soup of the day", 1).await;
    wait_for_a_look(&scene).await;
    let listed = scene.keeper.get_json(&scene.app, "/api/v1/incidents").await;
    assert_eq!(
        listed,
        serde_json::json!([]),
        "the first look and Herald's own post raise nothing"
    );

    as_attacker(
        &scene,
        reqwest::Method::POST,
        "/api/v1/statuses",
        &[(
            "status",
            "Free crypto for followers! https://claim.example/win",
        )],
    )
    .await;
    as_attacker(
        &scene,
        reqwest::Method::PATCH,
        "/api/v1/accounts/update_credentials",
        &[("display_name", "Crypto Giveaways")],
    )
    .await;
    let posted = Instant::now();
    one_interval_later(&scene);
    let incident = alert(&scene)
        .await
        .expect("an alert within one polling interval");
    let took = posted.elapsed();
    #[allow(clippy::print_stderr)] // The figure belongs in the test log (bench/incident.sh).
    {
        eprintln!(
            "FIGURE unknown_post_to_alert_ms={} (after the clock passed one {} s polling interval)",
            took.as_millis(),
            60
        );
    }

    assert_eq!(incident["status"], "open");
    let found = evidence(&incident);
    assert!(
        found
            .iter()
            .any(|text| text.contains("did not publish") && text.contains("Free crypto")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|text| text
            .contains("display name changed from \"Herald Test\" to \"Crypto Giveaways\"")),
        "{found:?}"
    );
    assert!(
        !found.iter().any(|text| text.contains("soup of the day")),
        "Herald's own post is not evidence: {found:?}"
    );
    let told = scene
        .keeper
        .get_json(&scene.app, "/api/v1/notifications")
        .await;
    assert!(
        told.to_string()
            .contains("Possible compromise of Sunny Café"),
        "{told}"
    );
    let owner_told = scene
        .owner
        .get_json(&scene.app, "/api/v1/notifications")
        .await;
    assert!(
        owner_told.to_string().contains("Possible compromise"),
        "{owner_told}"
    );

    // Nothing new: the next look adds nothing. The attacker deletes Herald's post: one more line.
    let before = found.len();
    one_interval_later(&scene);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let again = alert(&scene).await.expect("incident");
    assert_eq!(evidence(&again).len(), before, "{:?}", evidence(&again));
    let remote = scene.post(own).await["remote_id"]
        .as_str()
        .expect("remote id")
        .to_owned();
    as_attacker(
        &scene,
        reqwest::Method::DELETE,
        &format!("/api/v1/statuses/{remote}"),
        &[],
    )
    .await;
    one_interval_later(&scene);
    for _ in 0..300 {
        let latest = alert(&scene).await.expect("incident");
        if evidence(&latest)
            .iter()
            .any(|text| text.contains(&format!("Post {own}, which Herald published, is no longer")))
        {
            let listed = scene.keeper.get_json(&scene.app, "/api/v1/incidents").await;
            assert_eq!(
                listed.as_array().expect("list").len(),
                1,
                "one incident for the account"
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the deleted post was never noticed");
}

#[tokio::test]
async fn herald_s_token_suddenly_refused_raises_an_alert_once() {
    let scene = Scene::mastodon().await;
    one_interval_later(&scene);
    wait_for_a_look(&scene).await;
    // Someone with the account removed Herald (the fake takes any client id).
    let revoked = reqwest::Client::new()
        .post(format!("{}/oauth/revoke", scene.fake.url()))
        .form(&[("client_id", "someone"), ("token", TOKEN)])
        .send()
        .await
        .expect("answer");
    assert_eq!(revoked.status(), StatusCode::OK);
    one_interval_later(&scene);
    let incident = alert(&scene).await.expect("an alert");
    let found = evidence(&incident);
    assert!(
        found
            .iter()
            .any(|text| text.contains("suddenly refused Herald's token")),
        "{found:?}"
    );
    one_interval_later(&scene);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let again = alert(&scene).await.expect("incident");
    assert_eq!(evidence(&again).len(), found.len(), "alerted once");
}

#[tokio::test]
async fn a_post_herald_did_not_make_on_a_bluesky_pds_raises_an_alert() {
    let scene = crate::oauth::scene_in("bluesky", None, None).await;
    let connected = scene
        .keeper
        .send(
            &scene.app,
            reqwest::Method::PUT,
            &format!("/api/v1/accounts/{}/connection", scene.account),
            Some(serde_json::json!({ "method": "app_password",
                "identifier": networks::fake::bluesky::HANDLE,
                "password": networks::fake::bluesky::APP_PASSWORD })),
        )
        .await;
    assert_eq!(
        connected.status(),
        StatusCode::OK,
        "{:?}",
        connected.text().await
    );
    one_interval_later(&scene);
    wait_for_a_look(&scene).await;
    let record = serde_json::json!({
        "repo": networks::fake::bluesky::DID,
        "collection": "app.bsky.feed.post",
        "record": { "$type": "app.bsky.feed.post", "text": "Win a prize: bsky-prize.example", "createdAt": "2027-01-15T08:01:00Z" },
    });
    let made = reqwest::Client::new()
        .post(format!(
            "{}/xrpc/com.atproto.repo.createRecord",
            scene.fake.url()
        ))
        .bearer_auth(&scene.fake.state.token)
        .json(&record)
        .send()
        .await
        .expect("answer");
    assert!(made.status().is_success(), "{:?}", made.text().await);
    one_interval_later(&scene);
    let incident = alert(&scene).await.expect("an alert");
    let found = evidence(&incident);
    assert!(
        found
            .iter()
            .any(|text| text.contains("did not publish") && text.contains("Win a prize")),
        "{found:?}"
    );
}
