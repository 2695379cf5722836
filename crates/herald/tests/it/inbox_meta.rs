//! The screened inbox for a Facebook Page, end to end against the fake Graph API: the
//! background read finds a comment and a Messenger message, the API shows them, and a
//! publisher's answers go out through the Page — the comment's threaded under it, the
//! message's privately through the Send API.

use jiff::SignedDuration;
use networks::IncomingKind;
use networks::fake::facebook::PAGE_ID;
use networks::fake::inbox::FakeIncoming;
use networks::fake::{Fault, Faults};
use reqwest::StatusCode;
use serde_json::Value;

use crate::inbox::{by_author, read_until, reply};
use crate::publishing::Scene;
use crate::watch_networks::connected_to;

/// The item's key at the network, as Herald saved it.
async fn network_key(scene: &Scene, id: i64) -> String {
    scene
        .app
        .store
        .inbox_item(id)
        .await
        .expect("read")
        .expect("item")
        .network_key
}

/// The keeper answers item `id` with `text`; the answer is published: what the fake
/// received.
async fn answered(scene: &Scene, id: i64, text: &str) -> Value {
    let sent = reply(scene, &scene.keeper, id, text).await;
    assert_eq!(sent.status(), StatusCode::CREATED);
    let sent: Value = sent.json().await.expect("JSON");
    let post = sent["post_id"].as_i64().expect("post");
    scene.clock.advance(SignedDuration::from_secs(2));
    scene.wait_for(post, "published").await;
    scene
        .fake
        .state
        .posts()
        .into_iter()
        .find(|held| held.text == text)
        .unwrap_or_else(|| panic!("the fake never received {text:?}"))
        .extra
}

#[tokio::test]
async fn a_facebook_comment_and_message_are_read_and_answered_threaded_and_privately() {
    let scene = connected_to("facebook", Some(PAGE_ID)).await;
    let fake = &scene.fake.state;
    fake.receive(
        FakeIncoming::mention("ann.fb", "Ann Baker", "Do you bake rye on Saturdays?")
            .as_kind(IncomingKind::Comment),
    );
    fake.receive(
        FakeIncoming::mention("bob.fb", "Bob Miller", "Can I order a cake for Friday?")
            .as_kind(IncomingKind::Message),
    );
    let items = read_until(&scene, &scene.keeper, 2).await;
    assert_eq!(items.len(), 2, "{items:?}");
    let ann = by_author(&items, "Ann Baker");
    assert_eq!(ann["kind"], "comment");
    assert_eq!(ann["answerable"], true);
    let bob = by_author(&items, "Bob Miller");
    assert_eq!(bob["kind"], "message");
    let ann = ann["id"].as_i64().expect("id");
    let bob = bob["id"].as_i64().expect("id");

    let under = answered(&scene, ann, "Yes, from 8 every Saturday!").await;
    assert_eq!(under["inbox_reply"], "comment");
    assert_eq!(
        under["named"]["on"],
        network_key(&scene, ann).await.as_str(),
        "threaded under the comment"
    );

    let private = answered(&scene, bob, "Yes, send us what you would like.").await;
    assert_eq!(private["inbox_reply"], "message", "{private}");
    assert_eq!(private["named"]["recipient"], "sender-bob.fb");
    assert_eq!(private["named"]["messaging_type"], "RESPONSE");
    assert_eq!(fake.posts().len(), 2, "each answer sent once");
}

/// Facebook takes no idempotency key and Herald cannot look for a comment it may have made:
/// an answer whose outcome was lost is left unconfirmed for people to check, never sent twice.
#[tokio::test]
async fn a_comment_answer_whose_outcome_was_lost_is_left_unconfirmed_not_sent_twice() {
    let scene = connected_to("facebook", Some(PAGE_ID)).await;
    let fake = &scene.fake.state;
    fake.receive(
        FakeIncoming::mention("ann.fb", "Ann Baker", "Open on Sunday?")
            .as_kind(IncomingKind::Comment),
    );
    let items = read_until(&scene, &scene.keeper, 1).await;
    let ann = by_author(&items, "Ann Baker")["id"].as_i64().expect("id");

    // Facebook makes the comment, then answers only after Herald's one-second time-out.
    fake.set_faults(Faults {
        hang: std::time::Duration::from_millis(1500),
        ..Faults::default()
    });
    fake.inject(&[Fault::LostAfter]);
    let sent = reply(&scene, &scene.keeper, ann, "Yes, from 9 on Sundays!").await;
    assert_eq!(sent.status(), StatusCode::CREATED);
    let post = sent.json::<Value>().await.expect("JSON")["post_id"]
        .as_i64()
        .expect("post");
    scene.clock.advance(SignedDuration::from_secs(2));
    let mut last = Value::Null;
    for _ in 0..1500 {
        last = scene.post(post).await;
        if last["problem"]
            .as_str()
            .is_some_and(|problem| problem.contains("Check the conversation on Facebook"))
        {
            break;
        }
        // The attempt after the lost answer is due a little later.
        scene.clock.advance(SignedDuration::from_secs(5));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(last["state"], "unconfirmed", "{last}");
    assert!(
        last["problem"]
            .as_str()
            .is_some_and(|problem| problem.contains("no way to look for an answer sent earlier")),
        "{last}"
    );
    // Later attempts never come: the answer stays unconfirmed and is on Facebook once.
    scene.clock.advance(SignedDuration::from_mins(10));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(scene.post(post).await["state"], "unconfirmed");
    let copies = fake
        .posts()
        .iter()
        .filter(|held| held.text == "Yes, from 9 on Sundays!")
        .count();
    assert_eq!(copies, 1, "the answer was sent {copies} times");
}
