//! The inbox of a Threads profile and a LinkedIn organization page, end to end against their
//! fakes: the background job reads a Threads mention and a comment on the organization's
//! post, `GET /api/v1/inbox` shows both under their accounts, and a publisher's replies go out
//! threaded (Threads `reply_to_id`, LinkedIn `parentComment`).

use networks::IncomingKind;
use networks::fake::inbox::FakeIncoming;
use networks::fake::{FakePost, FakeState, linkedin, threads};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::inbox::{read_until, reply};
use crate::publishing::{Scene, TOKEN};

/// The item whose text is `text`.
fn with_text<'a>(items: &'a [Value], text: &str) -> &'a Value {
    items
        .iter()
        .find(|item| item["text"] == text)
        .unwrap_or_else(|| panic!("no item says {text:?}: {items:?}"))
}

/// The network key of the item `id`, as Herald stored it.
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

#[tokio::test]
async fn a_threads_mention_and_a_linkedin_comment_are_read_shown_and_answered_threaded() {
    let threads_fake = threads::start(FakeState::new(TOKEN, 21))
        .await
        .expect("fake Threads starts");
    let linkedin_fake = linkedin::start(FakeState::new(TOKEN, 22))
        .await
        .expect("fake LinkedIn starts");
    // The organization's post, on LinkedIn before Herald was connected.
    let (page_post, _) = linkedin_fake.state.record(FakePost {
        id: "urn:li:share:7100000000000000001".to_owned(),
        text: "Our summer menu".to_owned(),
        key: None,
        media: Vec::new(),
        extra: json!({ "author": linkedin::ORGANIZATION_URN, "commentary": "Our summer menu" }),
    });
    let (threads_url, linkedin_url) = (threads_fake.url(), linkedin_fake.url());
    let scene = Scene::on_configured(
        threads_fake,
        "threads",
        threads::USERNAME,
        false,
        |config| {
            config.networks.threads_api_url = threads_url;
            config.networks.linkedin_api_url = linkedin_url;
        },
    )
    .await;
    let page = scene
        .another_account(
            &linkedin_fake,
            "linkedin",
            "herald-bakery",
            Some(linkedin::ORGANIZATION_URN),
        )
        .await;
    scene.fake.state.receive(FakeIncoming::mention(
        "ann.example",
        "Ann",
        "@herald.bakery are you open on Sunday?",
    ));
    linkedin_fake.state.receive(
        FakeIncoming::mention("bob", "Bob", "Is there a gluten-free option?")
            .as_kind(IncomingKind::Comment)
            .on(&page_post.id),
    );

    let items = read_until(&scene, &scene.keeper, 2).await;
    assert_eq!(items.len(), 2, "{items:?}");
    let mention = with_text(&items, "@herald.bakery are you open on Sunday?");
    assert_eq!(mention["kind"], "mention");
    assert_eq!(mention["account_id"], scene.account.get());
    assert_eq!(mention["author_handle"], "@ann.example");
    assert_eq!(mention["answerable"], true);
    let comment = with_text(&items, "Is there a gluten-free option?");
    assert_eq!(comment["kind"], "comment");
    assert_eq!(comment["account_id"], page.get());
    assert_eq!(comment["author_handle"], "urn:li:person:sender-bob");

    let mention_id = mention["id"].as_i64().expect("id");
    let comment_id = comment["id"].as_i64().expect("id");
    let mut posts = Vec::new();
    for (id, text) in [
        (mention_id, "Yes, from nine until two."),
        (comment_id, "Yes: the rye loaf and the almond buns."),
    ] {
        let sent = reply(&scene, &scene.keeper, id, text).await;
        assert_eq!(sent.status(), StatusCode::CREATED);
        let sent: Value = sent.json().await.expect("JSON");
        assert_eq!(sent["state"], "scheduled", "{sent}");
        posts.push(sent["post_id"].as_i64().expect("post"));
    }
    scene.clock.advance(jiff::SignedDuration::from_secs(2));
    for post in &posts {
        scene.wait_for(*post, "published").await;
    }

    let mention_key = network_key(&scene, mention_id).await;
    let threaded: Vec<(String, Value)> = scene
        .fake
        .state
        .posts()
        .into_iter()
        .map(|post| (post.text, post.extra["reply_to_id"].clone()))
        .collect();
    assert_eq!(
        threaded,
        [(
            "Yes, from nine until two.".to_owned(),
            json!(mention_key.as_str())
        )],
        "the answer is a Threads post naming the mention"
    );
    let comment_key = network_key(&scene, comment_id).await;
    let answer = linkedin_fake
        .state
        .posts()
        .into_iter()
        .find(|post| post.id.starts_with("urn:li:comment:"))
        .expect("a comment was made");
    assert_eq!(answer.text, "Yes: the rye loaf and the almond buns.");
    assert_eq!(answer.extra["parentComment"], comment_key.as_str());
    assert_eq!(answer.extra["object"], page_post.id.as_str());
    assert_eq!(answer.extra["actor"], linkedin::ORGANIZATION_URN);
}
