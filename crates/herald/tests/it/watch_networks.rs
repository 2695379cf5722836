//! The watcher on X, LinkedIn, Facebook Pages, Instagram and Threads (issue 20), against each
//! network's fake speaking its documented wire format: after a first look that only
//! remembers, a post Herald did not make raises a "possible compromise" alert, and then a
//! change to the profile raises it again with that evidence (both made at the network as
//! someone who took the account over would), each once.

use std::time::{Duration, Instant};

use networks::fake::FakePost;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::detection::{alert, one_interval_later, wait_for_a_look};
use crate::publishing::Scene;

/// What one network's test does: how the account connects, the attacker's post as the fake
/// holds it, and which profile field the attacker changes.
struct Takeover {
    network: &'static str,
    /// The page, organization or account id the token is for, where the network needs one.
    subject: Option<&'static str>,
    post_id: &'static str,
    post_extra: Value,
    /// The field as the network names it, and the evidence line it must make.
    field: &'static str,
    changed_to: &'static str,
    evidence: &'static str,
}

const ATTACKER_TEXT: &str = "Giveaway! Send 1 BTC to claim.example and get 2 back";

/// An account on `network`'s fake, connected with a pasted token for `subject`.
pub(crate) async fn connected_to(network: &str, subject: Option<&str>) -> Scene {
    let scene = crate::oauth::scene_in(network, None, None).await;
    let mut body = json!({ "method": "access_token", "token": scene.fake.state.token });
    if let Some(subject) = subject {
        body["subject"] = json!(subject);
    }
    let answer = scene
        .keeper
        .send(
            &scene.app,
            Method::PUT,
            &format!("/api/v1/accounts/{}/connection", scene.account),
            Some(body),
        )
        .await;
    assert_eq!(answer.status(), StatusCode::OK, "{:?}", answer.text().await);
    scene
}

/// Moves the clock one polling interval on and waits (up to 3 s) for the detection incident;
/// again, up to five intervals, when the watcher's next look was not yet scheduled when the
/// clock moved (it schedules itself after a look, from the time then).
pub(crate) async fn alert_within_intervals(scene: &Scene) -> Value {
    for _ in 0..5 {
        one_interval_later(scene);
        for _ in 0..150 {
            let listed = scene.keeper.get_json(&scene.app, "/api/v1/incidents").await;
            if let Some(found) = listed
                .as_array()
                .expect("list")
                .iter()
                .find(|incident| incident["opened_by"] == "detection")
            {
                let id = found["id"].as_i64().expect("id");
                return scene
                    .keeper
                    .get_json(&scene.app, &format!("/api/v1/incidents/{id}"))
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    panic!("no alert within five polling intervals");
}

pub(crate) fn evidence(incident: &Value) -> Vec<String> {
    incident["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter(|event| event["kind"] == "evidence")
        .map(|event| event["text"].as_str().expect("text").to_owned())
        .collect()
}

async fn a_takeover_raises_an_alert(takeover: Takeover) {
    let scene = connected_to(takeover.network, takeover.subject).await;
    one_interval_later(&scene);
    wait_for_a_look(&scene).await;
    // The first look only remembers: nothing is raised.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let listed = scene.keeper.get_json(&scene.app, "/api/v1/incidents").await;
    assert_eq!(listed, json!([]), "{}", takeover.network);

    // The attacker posts: an alert.
    scene.fake.state.record(FakePost {
        id: takeover.post_id.to_owned(),
        text: ATTACKER_TEXT.to_owned(),
        key: None,
        media: Vec::new(),
        extra: takeover.post_extra.clone(),
    });
    let posted = Instant::now();
    let incident = alert_within_intervals(&scene).await;
    let took = posted.elapsed();
    let found = evidence(&incident);
    assert!(
        found
            .iter()
            .any(|text| text.contains("did not publish") && text.contains(ATTACKER_TEXT)),
        "{}: {found:?}",
        takeover.network
    );
    assert!(
        !found.iter().any(|text| text.contains(takeover.evidence)),
        "{}: the profile has not changed yet: {found:?}",
        takeover.network
    );
    assert_eq!(incident["opened_by"], "detection");
    #[allow(clippy::print_stderr)] // The figure belongs in the test log.
    {
        eprintln!(
            "FIGURE {}_unknown_post_to_alert_ms={} (after the clock passed one polling interval)",
            takeover.network,
            took.as_millis()
        );
    }

    // Then the profile changes: the alert again, with that evidence, on the same incident.
    scene
        .fake
        .state
        .set_profile(takeover.field, takeover.changed_to);
    let mut changed = None;
    for _ in 0..5 {
        one_interval_later(&scene);
        for _ in 0..150 {
            let latest = alert(&scene).await.expect("the incident");
            if evidence(&latest)
                .iter()
                .any(|text| text.contains(takeover.evidence))
            {
                changed = Some(latest);
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if changed.is_some() {
            break;
        }
    }
    let changed = changed
        .unwrap_or_else(|| panic!("{}: the profile change was never noticed", takeover.network));
    assert_eq!(
        changed["id"], incident["id"],
        "one incident for the account"
    );
    let told = scene
        .keeper
        .get_json(&scene.app, "/api/v1/notifications")
        .await
        .to_string();
    assert!(
        told.matches("Possible compromise of Sunny Café").count() >= 2,
        "{}: the gatekeeper is told of each: {told}",
        takeover.network
    );

    // The next look adds nothing: each sign is raised once.
    let seen = evidence(&changed).len();
    one_interval_later(&scene);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let again = alert(&scene).await.expect("the incident");
    assert_eq!(evidence(&again).len(), seen, "{}", takeover.network);
}

#[tokio::test]
async fn on_x_an_unknown_post_and_a_new_display_name_raise_an_alert() {
    a_takeover_raises_an_alert(Takeover {
        network: "x",
        subject: None,
        post_id: "1790000000000000001",
        post_extra: json!({}),
        field: "name",
        changed_to: "Crypto Giveaways",
        evidence: "display name changed from \"Herald Test\" to \"Crypto Giveaways\"",
    })
    .await;
}

#[tokio::test]
async fn on_linkedin_an_unknown_post_and_a_new_website_raise_an_alert() {
    a_takeover_raises_an_alert(Takeover {
        network: "linkedin",
        subject: Some(networks::fake::linkedin::ORGANIZATION_URN),
        post_id: "urn:li:share:7100000000000000001",
        post_extra: json!({
            "author": networks::fake::linkedin::ORGANIZATION_URN,
            "commentary": networks::linkedin::escape(ATTACKER_TEXT),
            "visibility": "PUBLIC",
        }),
        field: "localizedWebsite",
        changed_to: "https://claim.example",
        evidence: "website changed from \"https://bakery.example\" to \"https://claim.example\"",
    })
    .await;
}

#[tokio::test]
async fn on_a_facebook_page_an_unknown_post_and_a_new_about_raise_an_alert() {
    a_takeover_raises_an_alert(Takeover {
        network: "facebook",
        subject: Some(networks::fake::facebook::PAGE_ID),
        post_id: "1000001_900000001",
        post_extra: json!({}),
        field: "about",
        changed_to: "Official giveaway page",
        evidence: "bio changed from \"Bread and buns, baked daily.\" to \"Official giveaway page\"",
    })
    .await;
}

#[tokio::test]
async fn on_instagram_an_unknown_post_and_a_new_biography_raise_an_alert() {
    a_takeover_raises_an_alert(Takeover {
        network: "instagram",
        subject: Some(networks::fake::instagram::IG_USER_ID),
        post_id: "17900000000000001",
        post_extra: json!({}),
        field: "biography",
        changed_to: "DM for free crypto",
        evidence: "bio changed from \"Bread and buns, baked daily.\" to \"DM for free crypto\"",
    })
    .await;
}

#[tokio::test]
async fn on_threads_an_unknown_post_and_a_new_profile_picture_raise_an_alert() {
    a_takeover_raises_an_alert(Takeover {
        network: "threads",
        subject: Some(networks::fake::threads::USER_ID),
        post_id: "18000000000000001",
        post_extra: json!({}),
        field: "threads_profile_picture_url",
        changed_to: "https://claim.example/logo.png",
        evidence: "avatar changed from \"https://scontent.example/bakery.jpg\" to \"https://claim.example/logo.png\"",
    })
    .await;
}
