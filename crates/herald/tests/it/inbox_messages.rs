//! Direct messages in the inbox end to end, against a fake X: the background read job reads a
//! direct message beside a mention, the API shows it as a message that can be answered, and a
//! publisher's reply goes to the conversation as a direct message, never as a public post.

use jiff::SignedDuration;
use networks::fake::inbox::FakeIncoming;
use reqwest::StatusCode;
use serde_json::Value;

use crate::inbox::{by_author, list, read_until, reply};
use crate::publishing::Scene;

#[tokio::test]
async fn an_x_direct_message_is_read_by_the_job_and_a_reply_goes_to_its_conversation() {
    let scene = Scene::x().await;
    let fake = &scene.fake.state;
    fake.receive(FakeIncoming::mention(
        "ann_fan",
        "Ann",
        "@herald_test Loved the scones!",
    ));
    fake.receive(FakeIncoming::message(
        "bob_fan",
        "Bob",
        "Is my order ready for pickup?",
    ));
    let items = read_until(&scene, &scene.keeper, 2).await;
    assert_eq!(by_author(&items, "Ann")["kind"], "mention");
    let bob = by_author(&items, "Bob");
    assert_eq!(bob["kind"], "message", "{bob}");
    assert_eq!(bob["author_handle"], "@bob_fan");
    assert_eq!(bob["text"], "Is my order ready for pickup?");
    assert_eq!(bob["answerable"], true);
    let messages = list(&scene, &scene.keeper, "&kind=message").await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let id = bob["id"].as_i64().expect("id");

    let sent = reply(&scene, &scene.keeper, id, "Yes, it is ready: see you soon!").await;
    assert_eq!(sent.status(), StatusCode::CREATED);
    let sent: Value = sent.json().await.expect("JSON");
    let post = sent["post_id"].as_i64().expect("post");
    scene.clock.advance(SignedDuration::from_secs(2));
    scene.wait_for(post, "published").await;

    let delivered = fake.sent_messages();
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!(delivered[0].text, "Yes, it is ready: see you soon!");
    let item = scene
        .app
        .store
        .inbox_item(id)
        .await
        .expect("read")
        .expect("item");
    let reply_to: Value =
        serde_json::from_str(item.reply_to.as_deref().expect("reply_to")).expect("JSON");
    assert_eq!(
        delivered[0].conversation,
        reply_to["dm_conversation"].as_str().expect("conversation"),
        "sent to the message's conversation"
    );
    assert!(fake.posts().is_empty(), "never a public post");

    // The answer is among X's events now; the next read does not take it for a new message.
    scene.clock.advance(SignedDuration::from_secs(121));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let after = list(&scene, &scene.keeper, "").await;
    assert_eq!(after.len(), 2, "{after:?}");
}
