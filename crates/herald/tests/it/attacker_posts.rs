//! Deleting the posts an attacker made (issue 20), from the recovery checklist: through the
//! adapter on Mastodon (`DELETE /api/v1/statuses/:id`, after Herald is connected again), X,
//! Facebook, LinkedIn and Threads; listed with the network's link on Instagram, whose API
//! cannot delete; a deletion the network fails is shown and tried again on request; only the
//! gatekeeper or an owner, every deletion audited, and the denial.

use herald::domain::ids::AccountId;
use jiff::Timestamp;
use networks::fake::FakePost;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::detection::{as_attacker, one_interval_later, wait_for_a_look};
use crate::helpers::{contract_test, owner_and_account};
use crate::people::invite_and_join;
use crate::posts::grant;
use crate::publishing::Scene;
use crate::watch_networks::{alert_within_intervals, connected_to};

const TEXT: &str = "Free crypto for followers: claim.example";

async fn delete(scene: &Scene, by: &crate::people::Person, id: i64) -> reqwest::Response {
    by.post(
        &scene.app,
        &format!("/api/v1/incidents/{id}/attacker-posts/delete"),
        json!({}),
    )
    .await
}

fn step<'a>(incident: &'a Value, key: &str) -> Option<&'a Value> {
    incident["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|step| step["step"] == key)
}

/// The watcher's first look, then a post at the fake that Herald did not make, and the alert:
/// the incident's id.
async fn attacked(scene: &Scene, post_id: &str, extra: Value) -> i64 {
    one_interval_later(scene);
    wait_for_a_look(scene).await;
    scene.fake.state.record(FakePost {
        id: post_id.to_owned(),
        text: TEXT.to_owned(),
        key: None,
        media: Vec::new(),
        extra,
    });
    alert_within_intervals(scene).await["id"]
        .as_i64()
        .expect("id")
}

#[tokio::test]
async fn after_a_lockdown_and_reconnecting_the_gatekeeper_deletes_the_attackers_mastodon_post() {
    let scene = Scene::mastodon().await;
    one_interval_later(&scene);
    wait_for_a_look(&scene).await;
    as_attacker(
        &scene,
        Method::POST,
        "/api/v1/statuses",
        &[("status", TEXT)],
    )
    .await;
    let remote = scene.fake.state.posts()[0].id.clone();
    let id = alert_within_intervals(&scene).await["id"]
        .as_i64()
        .expect("id");
    let locked = scene
        .keeper
        .post(
            &scene.app,
            &format!("/api/v1/accounts/{}/lockdown", scene.account),
            json!({}),
        )
        .await;
    assert_eq!(locked.status(), StatusCode::OK);

    // The lockdown dropped Herald's token: it must be connected again first.
    let early = delete(&scene, &scene.keeper, id).await;
    assert_eq!(early.status(), StatusCode::CONFLICT);
    let problem = early.text().await.expect("text");
    assert!(problem.contains("connect it again"), "{problem}");
    assert_eq!(scene.fake.state.post_count(), 1);

    let reconnected = scene
        .keeper
        .send(
            &scene.app,
            Method::PUT,
            &format!("/api/v1/accounts/{}/connection", scene.account),
            Some(
                json!({ "method": "access_token", "token": scene.fake.state.token,
                         "server": scene.fake.url() }),
            ),
        )
        .await;
    assert_eq!(reconnected.status(), StatusCode::OK);
    let done = delete(&scene, &scene.keeper, id).await;
    assert_eq!(done.status(), StatusCode::OK);
    let answer: Value = done.json().await.expect("JSON");
    assert_eq!(answer["deleted"], json!([remote]), "{answer}");
    assert_eq!(scene.fake.state.post_count(), 0, "gone from the network");
    let recorded = step(&answer["incident"], "delete_attacker_posts").expect("the step");
    assert_eq!(recorded["outcome"], "done");
    assert!(
        recorded["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("deleted 1 post")),
        "{recorded}"
    );
    let audit = scene.audit().await;
    assert_eq!(
        audit.matches("account.attacker_post_deleted").count(),
        1,
        "{audit}"
    );
    // The timeline shows it in words.
    assert!(
        answer["incident"]["timeline"]
            .to_string()
            .contains("deleted a post the attacker made on Sunny Café"),
        "{answer}"
    );
    // Asking again deletes nothing twice.
    let again: Value = delete(&scene, &scene.keeper, id)
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(again["deleted"], json!([]));
    assert_eq!(again["deleted_before"], 1);
}

async fn deleted_through_the_api(
    network: &str,
    subject: Option<&str>,
    post_id: &str,
    extra: Value,
) {
    let scene = connected_to(network, subject).await;
    let id = attacked(&scene, post_id, extra).await;
    let done = delete(&scene, &scene.keeper, id).await;
    assert_eq!(done.status(), StatusCode::OK, "{network}");
    let answer: Value = done.json().await.expect("JSON");
    assert_eq!(answer["deleted"], json!([post_id]), "{network}: {answer}");
    assert!(
        scene.fake.state.post(post_id).is_none(),
        "{network}: still at the network"
    );
}

#[tokio::test]
async fn the_attackers_post_is_deleted_through_x() {
    deleted_through_the_api("x", None, "1790000000000000007", json!({})).await;
}

#[tokio::test]
async fn the_attackers_post_is_deleted_through_a_facebook_page() {
    deleted_through_the_api(
        "facebook",
        Some(networks::fake::facebook::PAGE_ID),
        "1000001_900000007",
        json!({}),
    )
    .await;
}

#[tokio::test]
async fn the_attackers_post_is_deleted_through_linkedin() {
    let author = networks::fake::linkedin::ORGANIZATION_URN;
    deleted_through_the_api(
        "linkedin",
        Some(author),
        "urn:li:share:7100000000000000007",
        json!({ "author": author, "commentary": TEXT, "visibility": "PUBLIC" }),
    )
    .await;
}

#[tokio::test]
async fn the_attackers_post_is_deleted_through_threads() {
    deleted_through_the_api(
        "threads",
        Some(networks::fake::threads::USER_ID),
        "18000000000000007",
        json!({}),
    )
    .await;
}

#[tokio::test]
async fn a_deletion_the_network_fails_is_shown_failed_and_tried_again_on_request() {
    let scene = connected_to("x", None).await;
    let id = attacked(&scene, "1790000000000000009", json!({})).await;
    scene
        .fake
        .state
        .inject(&[networks::fake::Fault::Unavailable]);
    let first: Value = delete(&scene, &scene.keeper, id)
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(first["deleted"], json!([]), "{first}");
    assert_eq!(first["failed"][0]["remote_id"], "1790000000000000009");
    assert!(
        first["failed"][0]["reason"]
            .as_str()
            .is_some_and(|reason| !reason.is_empty()),
        "{first}"
    );
    let recorded = step(&first["incident"], "delete_attacker_posts").expect("the step");
    assert_eq!(recorded["outcome"], "failed");
    assert!(scene.fake.state.post("1790000000000000009").is_some());
    let second: Value = delete(&scene, &scene.keeper, id)
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        second["deleted"],
        json!(["1790000000000000009"]),
        "{second}"
    );
    let recorded = step(&second["incident"], "delete_attacker_posts").expect("the step");
    assert_eq!(recorded["outcome"], "done");
    assert!(scene.fake.state.post("1790000000000000009").is_none());
}

#[tokio::test]
async fn on_instagram_the_attackers_posts_are_listed_with_their_links_to_delete_by_hand() {
    let scene = connected_to("instagram", Some(networks::fake::instagram::IG_USER_ID)).await;
    let id = attacked(&scene, "17900000000000007", json!({})).await;
    let done = delete(&scene, &scene.keeper, id).await;
    assert_eq!(done.status(), StatusCode::OK);
    let answer: Value = done.json().await.expect("JSON");
    assert_eq!(answer["deleted"], json!([]));
    assert_eq!(
        answer["by_hand"],
        json!([{ "remote_id": "17900000000000007",
                 "link": "https://www.instagram.com/p/17900000000000007/" }]),
        "{answer}"
    );
    assert!(scene.fake.state.post("17900000000000007").is_some());
    let recorded = step(&answer["incident"], "delete_attacker_posts").expect("the step");
    assert_eq!(recorded["outcome"], "not_possible");
    let page = scene
        .keeper
        .get(&scene.app, &format!("/incidents/{id}"))
        .await
        .text()
        .await
        .expect("page");
    assert!(
        page.contains("List them to delete by hand")
            && page.contains("https://www.instagram.com/p/17900000000000007/"),
        "{page}"
    );
}

#[tokio::test]
async fn only_the_gatekeeper_or_an_owner_deletes_the_attackers_posts() {
    let scene = connected_to("x", None).await;
    let id = attacked(&scene, "1790000000000000008", json!({})).await;
    let publisher = invite_and_join(
        &scene.app,
        &scene.clock,
        &scene.owner,
        "pub@sunny.example",
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
    let outsider = invite_and_join(
        &scene.app,
        &scene.clock,
        &scene.owner,
        "out@sunny.example",
        "member",
    )
    .await;
    let refused = delete(&scene, &publisher, id).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let hidden = delete(&scene, &outsider, id).await;
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
    let by_form = publisher
        .form(
            &scene.app,
            &format!("/incidents/{id}/attacker-posts/delete"),
            &[],
        )
        .await;
    assert_eq!(by_form.status(), StatusCode::FORBIDDEN);
    let page = publisher
        .get(&scene.app, &format!("/incidents/{id}"))
        .await
        .text()
        .await
        .expect("page");
    assert!(!page.contains("id=\"delete-attacker-posts\""), "{page}");
    assert!(scene.fake.state.post("1790000000000000008").is_some());
    assert!(
        !scene
            .audit()
            .await
            .contains("account.attacker_post_deleted")
    );
    // The owner may.
    let owner_page = scene
        .owner
        .get(&scene.app, &format!("/incidents/{id}"))
        .await
        .text()
        .await
        .expect("page");
    assert!(
        owner_page.contains("id=\"delete-attacker-posts\""),
        "{owner_page}"
    );
    let by_owner = scene
        .owner
        .form(
            &scene.app,
            &format!("/incidents/{id}/attacker-posts/delete"),
            &[],
        )
        .await;
    assert_eq!(by_owner.status(), StatusCode::SEE_OTHER);
    assert!(scene.fake.state.post("1790000000000000008").is_none());
}

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + second).expect("valid test time")
}

contract_test!(
    the_keys_seen_since_a_time_are_those_with_the_prefix_oldest_first,
    |store| {
        let (_, account) = owner_and_account(&store, at(0)).await;
        let other = AccountId::new(account.get() + 1000);
        for (key, when) in [
            ("attacker:old", at(1)),
            ("attacker:b", at(5)),
            ("attacker:a", at(6)),
            ("removed:b", at(7)),
            ("plain", at(8)),
        ] {
            assert!(
                store
                    .note_seen_post(account, key, when)
                    .await
                    .expect("note")
            );
        }
        assert_eq!(
            store
                .seen_since(account, "attacker:", at(5))
                .await
                .expect("read"),
            ["b", "a"]
        );
        assert_eq!(
            store
                .seen_since(account, "removed:", at(0))
                .await
                .expect("read"),
            ["b"]
        );
        assert!(
            store
                .seen_since(other, "attacker:", at(0))
                .await
                .expect("read")
                .is_empty()
        );
    }
);
