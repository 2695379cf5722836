//! The screened inbox end to end, against a fake Mastodon: the read job fetches mentions,
//! replies, messages and followers once each (across reads and a restart), screens them
//! (impostors, dangerous links defanged, a card number), backs off on a rate limit, keeps
//! going past a 50,000-character item and a lone surrogate; the API shows each member only
//! the accounts they may see, and changes (assign, done, notes) are in the item's history
//! and the audit log.

use std::time::Duration;

use jiff::SignedDuration;
use networks::IncomingKind;
use networks::fake::inbox::{FakeIncoming, InboxFaults, LONE_SURROGATE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::people::{Person, invite_and_join};
use crate::posts::grant;
use crate::publishing::Scene;

/// The owner names the company's domain, so look-alike links are caught.
async fn company_names(scene: &Scene) {
    let saved = scene
        .owner
        .send(
            &scene.app,
            Method::PUT,
            "/api/v1/links/names",
            Some(json!({ "domains": ["sunnycafe.example"], "handles": [] })),
        )
        .await;
    assert!(saved.status().is_success(), "{:?}", saved.text().await);
}

/// Moves the clock past the next sweep and waits until the inbox (as `person` sees it) holds
/// `count` items.
pub(crate) async fn read_until(scene: &Scene, person: &Person, count: usize) -> Vec<Value> {
    scene.clock.advance(SignedDuration::from_secs(121));
    for _ in 0..300 {
        let items = list(scene, person, "").await;
        if items.len() >= count {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "the inbox never held {count} items: {:?}",
        list(scene, person, "").await
    );
}

pub(crate) async fn list(scene: &Scene, person: &Person, query: &str) -> Vec<Value> {
    let page = person
        .get_json(&scene.app, &format!("/api/v1/inbox?per_page=200{query}"))
        .await;
    page["items"].as_array().expect("items").clone()
}

async fn patch(scene: &Scene, person: &Person, id: i64, body: Value) -> reqwest::Response {
    person
        .send(
            &scene.app,
            Method::PATCH,
            &format!("/api/v1/inbox/{id}"),
            Some(body),
        )
        .await
}

pub(crate) fn by_author<'a>(items: &'a [Value], name: &str) -> &'a Value {
    items
        .iter()
        .find(|item| item["author_name"] == name)
        .unwrap_or_else(|| panic!("no item from {name}: {items:?}"))
}

#[tokio::test]
async fn items_are_read_once_screened_and_shown_with_links_defanged() {
    let scene = Scene::mastodon().await;
    company_names(&scene).await;
    let fake = &scene.fake.state;
    fake.receive(FakeIncoming::mention(
        "ann@example.social",
        "Ann",
        "Loved the scones!",
    ));
    fake.receive(FakeIncoming::mention(
        "sunnycafe_help@evil.example",
        "Sunny Café Support",
        "Your order failed, log in at https://sunnycafe-login.example/account to fix it",
    ));
    fake.receive(
        FakeIncoming::mention(
            "bob@example.social",
            "<script>alert(1)</script>Bob",
            "my card is 4111 1111 1111 1111, please refund",
        )
        .as_kind(IncomingKind::Message),
    );
    fake.receive(
        FakeIncoming::mention("cat@example.social", "Cat", "").as_kind(IncomingKind::Follower),
    );
    let items = read_until(&scene, &scene.keeper, 4).await;
    assert_eq!(items.len(), 4);
    let order: Vec<&str> = items
        .iter()
        .map(|item| item["author_name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        order,
        [
            "Cat",
            "<script>alert(1)</script>Bob",
            "Sunny Café Support",
            "Ann"
        ],
        "newest first"
    );
    let ann = by_author(&items, "Ann");
    assert_eq!(
        (ann["verdict"].as_str(), ann["impostor"].as_bool()),
        (Some("safe"), Some(false))
    );
    let impostor = by_author(&items, "Sunny Café Support");
    assert_eq!(impostor["verdict"], "dangerous");
    assert_eq!(impostor["impostor"], true);
    let text = impostor["text"].as_str().expect("text");
    assert!(!text.contains("https://"), "no clickable link in {text}");
    assert!(
        text.contains("hxxps[://]sunnycafe-login[.]example/account"),
        "{text}"
    );
    assert_eq!(impostor["links"][0]["verdict"], "dangerous");
    let bob = by_author(&items, "<script>alert(1)</script>Bob");
    assert_eq!(bob["kind"], "message");
    assert_eq!(bob["verdict"], "suspicious");
    assert!(
        bob["reasons"][0]
            .as_str()
            .expect("reason")
            .contains("payment card"),
        "{bob}"
    );
    assert_eq!(by_author(&items, "Cat")["kind"], "follower");
    assert_eq!(by_author(&items, "Cat")["answerable"], false);

    // Read again (nothing new), then one more arrives: each item is there once.
    fake.receive(FakeIncoming::mention(
        "dan@example.social",
        "Dan",
        "Open on Sunday?",
    ));
    let items = read_until(&scene, &scene.keeper, 5).await;
    scene.clock.advance(SignedDuration::from_secs(121));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let again = list(&scene, &scene.keeper, "").await;
    assert_eq!(again.len(), 5, "{again:?}");
    assert_eq!(items.len(), 5);

    // The filters.
    assert_eq!(
        list(&scene, &scene.keeper, "&verdict=dangerous")
            .await
            .len(),
        1
    );
    assert_eq!(list(&scene, &scene.keeper, "&kind=follower").await.len(), 1);
    assert_eq!(list(&scene, &scene.keeper, "&state=done").await.len(), 0);
    let page: Value = scene
        .keeper
        .get_json(&scene.app, "/api/v1/inbox?per_page=2")
        .await;
    let next = page["next"].as_i64().expect("a next page");
    let second: Value = scene
        .keeper
        .get_json(
            &scene.app,
            &format!("/api/v1/inbox?per_page=2&after={next}"),
        )
        .await;
    assert_eq!(second["items"].as_array().expect("items").len(), 2);
    assert_ne!(second["items"][0]["id"], page["items"][0]["id"]);
}

#[tokio::test]
async fn a_restart_keeps_the_cursor_so_nothing_is_read_twice_or_skipped() {
    let dir = tempfile::TempDir::new().expect("temporary directory");
    let data = dir.path().join("data");
    let fake = networks::fake::mastodon::start(networks::fake::FakeState::new(
        "fake-mastodon-token-5ec2e7",
        7,
    ))
    .await
    .expect("fake Mastodon starts");
    let scene = Scene::on_in(
        fake,
        "mastodon",
        "@herald@127.0.0.1",
        false,
        Some(data.clone()),
    )
    .await;
    let fake = scene.fake.state.clone();
    for n in 0..3 {
        fake.receive(FakeIncoming::mention(
            "ann@example.social",
            "Ann",
            &format!("message {n}"),
        ));
    }
    read_until(&scene, &scene.keeper, 3).await;
    let url = scene.fake.url();
    let scene = scene
        .restarted(
            || {},
            |config| {
                config.networks.mastodon_instance_url = url;
                config.networks.request_timeout_seconds = 1;
                config.jobs.lease_seconds = 10;
                config.data_dir = data;
            },
        )
        .await;
    fake.receive(FakeIncoming::mention(
        "ann@example.social",
        "Ann",
        "message 3",
    ));
    let items = read_until(&scene, &scene.keeper, 4).await;
    scene.clock.advance(SignedDuration::from_secs(121));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let items_after = list(&scene, &scene.keeper, "").await;
    assert_eq!(items.len(), 4);
    assert_eq!(items_after.len(), 4, "nothing read twice: {items_after:?}");
}

#[tokio::test]
async fn a_rate_limit_pushes_the_next_read_to_the_networks_reset_and_nothing_is_lost() {
    let scene = Scene::mastodon().await;
    let fake = &scene.fake.state;
    fake.receive(FakeIncoming::mention("ann@example.social", "Ann", "first"));
    fake.set_inbox_faults(InboxFaults {
        rate_limited: 1,
        ..InboxFaults::default()
    });
    scene.clock.advance(SignedDuration::from_secs(121));
    let mut cursor = None;
    for _ in 0..300 {
        cursor = scene
            .app
            .store
            .inbox_cursor(scene.account)
            .await
            .expect("cursor");
        if cursor.as_ref().is_some_and(|cursor| cursor.failures > 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cursor = cursor.expect("the failed read is recorded");
    assert_eq!(cursor.failures, 1);
    assert!(
        cursor
            .problem
            .as_deref()
            .unwrap_or_default()
            .contains("rate"),
        "{cursor:?}"
    );
    assert_eq!(fake.inbox_reads(), 1);
    // The next sweep reads again (the fake's reset is a second away, the interval longer).
    let items = read_until(&scene, &scene.keeper, 1).await;
    assert_eq!(items[0]["text"], "first");
    let cursor = scene
        .app
        .store
        .inbox_cursor(scene.account)
        .await
        .expect("cursor")
        .expect("kept");
    assert_eq!((cursor.failures, cursor.problem), (0, None));
}

#[tokio::test]
async fn a_huge_item_is_cut_and_a_lone_surrogate_costs_one_character() {
    let scene = Scene::mastodon().await;
    let fake = &scene.fake.state;
    fake.receive(FakeIncoming::mention(
        "ann@example.social",
        "Ann",
        &"a".repeat(50_000),
    ));
    fake.receive(FakeIncoming::mention(
        "bob@example.social",
        "Bob",
        &format!("half an emoji {LONE_SURROGATE}!"),
    ));
    let items = read_until(&scene, &scene.keeper, 2).await;
    let ann = by_author(&items, "Ann");
    assert_eq!(ann["text_cut"], true);
    assert_eq!(ann["text"].as_str().expect("text").chars().count(), 10_000);
    assert_eq!(by_author(&items, "Bob")["text"], "half an emoji \u{fffd}!");
}

#[tokio::test]
async fn members_see_only_accounts_they_may_and_viewers_cannot_change_items() {
    let scene = Scene::mastodon().await;
    scene
        .fake
        .state
        .receive(FakeIncoming::mention("ann@example.social", "Ann", "Hello"));
    let items = read_until(&scene, &scene.keeper, 1).await;
    let id = items[0]["id"].as_i64().expect("id");
    let stranger = invite_and_join(
        &scene.app,
        &scene.clock,
        &scene.owner,
        "stranger@sunny.example",
        "member",
    )
    .await;
    let viewer = invite_and_join(
        &scene.app,
        &scene.clock,
        &scene.owner,
        "viewer@sunny.example",
        "member",
    )
    .await;
    let helper = invite_and_join(
        &scene.app,
        &scene.clock,
        &scene.owner,
        "helper@sunny.example",
        "member",
    )
    .await;
    grant(&scene.app, &scene.keeper, scene.account, &viewer, "viewer").await;
    grant(
        &scene.app,
        &scene.keeper,
        scene.account,
        &helper,
        "contributor",
    )
    .await;

    assert!(
        list(&scene, &stranger, "").await.is_empty(),
        "no grant, no items"
    );
    let hidden = stranger
        .get(&scene.app, &format!("/api/v1/inbox/{id}"))
        .await;
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
    let other_account = stranger
        .get(
            &scene.app,
            &format!("/api/v1/inbox?account_id={}", scene.account),
        )
        .await;
    assert_eq!(other_account.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        patch(&scene, &stranger, id, json!({ "state": "done" }))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(list(&scene, &viewer, "").await.len(), 1);
    assert_eq!(
        patch(&scene, &viewer, id, json!({ "state": "done" }))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        patch(&scene, &helper, id, json!({ "assignee_id": stranger.id }))
            .await
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "nobody is given an item they cannot see"
    );

    let assigned = patch(
        &scene,
        &helper,
        id,
        json!({ "assignee_id": helper.id, "note": "I'll call her" }),
    )
    .await;
    assert_eq!(assigned.status(), StatusCode::OK);
    assert_eq!(list(&scene, &helper, "&mine=true").await.len(), 1);
    assert!(list(&scene, &scene.keeper, "&mine=true").await.is_empty());
    let done: Value = patch(
        &scene,
        &helper,
        id,
        json!({ "state": "done", "assignee_id": null }),
    )
    .await
    .json()
    .await
    .expect("JSON");
    assert_eq!(done["state"], "done");
    assert_eq!(done["assignee_id"], Value::Null);
    let steps: Vec<&str> = done["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|event| event["what"].as_str().expect("what"))
        .collect();
    assert_eq!(steps, ["assigned", "note", "done", "unassigned"]);
    assert_eq!(done["history"][1]["detail"], "I'll call her");
    let nothing = patch(&scene, &helper, id, json!({})).await;
    assert_eq!(nothing.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let audit = scene.audit().await;
    assert_eq!(audit.matches("inbox.item_changed").count(), 2, "{audit}");
}

#[tokio::test]
async fn a_publishers_reply_goes_out_threaded_and_a_contributors_waits_for_approval() {
    let scene = Scene::mastodon().await;
    let fake = &scene.fake.state;
    fake.receive(FakeIncoming::mention(
        "ann@example.social",
        "Ann",
        "Open on Sunday?",
    ));
    fake.receive(
        FakeIncoming::mention("cat@example.social", "Cat", "").as_kind(IncomingKind::Follower),
    );
    let items = read_until(&scene, &scene.keeper, 2).await;
    let ann = by_author(&items, "Ann")["id"].as_i64().expect("id");
    let cat = by_author(&items, "Cat")["id"].as_i64().expect("id");

    let refused = reply(&scene, &scene.keeper, cat, "Welcome!").await;
    assert_eq!(
        refused.status(),
        StatusCode::CONFLICT,
        "a follow cannot be answered"
    );

    let sent = reply(&scene, &scene.keeper, ann, "@ann Yes, from 9!").await;
    assert_eq!(sent.status(), StatusCode::CREATED);
    let sent: Value = sent.json().await.expect("JSON");
    assert_eq!(sent["state"], "scheduled", "{sent}");
    let post = sent["post_id"].as_i64().expect("post");
    scene.clock.advance(SignedDuration::from_secs(2));
    scene.wait_for(post, "published").await;
    let published = fake.posts();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].text, "@ann Yes, from 9!");
    let status_id = (ann_notification_id(&scene, ann).await + 500_000).to_string();
    assert_eq!(
        published[0].extra["in_reply_to_id"],
        status_id.as_str(),
        "threaded under the mention"
    );

    let helper = invite_and_join(
        &scene.app,
        &scene.clock,
        &scene.owner,
        "helper@sunny.example",
        "member",
    )
    .await;
    grant(
        &scene.app,
        &scene.keeper,
        scene.account,
        &helper,
        "contributor",
    )
    .await;
    let waiting: Value = reply(&scene, &helper, ann, "@ann and on Mondays too")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        waiting["state"], "submitted",
        "a contributor's reply waits: {waiting}"
    );
    let item: Value = scene
        .keeper
        .get_json(&scene.app, &format!("/api/v1/inbox/{ann}"))
        .await;
    let replies: Vec<i64> = item["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter(|event| event["what"] == "replied")
        .map(|event| event["post_id"].as_i64().expect("post"))
        .collect();
    let waiting = waiting["post_id"].as_i64().expect("post");
    assert_eq!(replies, [post, waiting]);
    assert_eq!(fake.posts().len(), 1, "the waiting reply is not sent");

    // Approved by the publisher, the contributor's answer goes out at once, threaded too.
    let version = scene.post(waiting).await["version"].clone();
    let approved = scene
        .keeper
        .post(
            &scene.app,
            &format!("/api/v1/posts/{waiting}/approve"),
            json!({ "version": version }),
        )
        .await;
    assert_eq!(approved.status(), StatusCode::OK);
    let approved: Value = approved.json().await.expect("JSON");
    assert_eq!(approved["state"], "scheduled", "{approved}");
    scene.clock.advance(SignedDuration::from_secs(2));
    scene.wait_for(waiting, "published").await;
    let published = fake.posts();
    assert_eq!(published.len(), 2);
    assert_eq!(published[1].text, "@ann and on Mondays too");
    assert_eq!(
        published[1].extra["in_reply_to_id"],
        status_id.as_str(),
        "threaded under the mention"
    );
}

/// The fake's notification id of an item (its network key).
async fn ann_notification_id(scene: &Scene, id: i64) -> u64 {
    scene
        .app
        .store
        .inbox_item(id)
        .await
        .expect("read")
        .expect("item")
        .network_key
        .parse()
        .expect("numeric")
}

pub(crate) async fn reply(
    scene: &Scene,
    person: &Person,
    id: i64,
    text: &str,
) -> reqwest::Response {
    person
        .post(
            &scene.app,
            &format!("/api/v1/inbox/{id}/reply"),
            json!({ "text": text }),
        )
        .await
}

#[tokio::test]
async fn the_pages_show_names_escaped_and_links_defanged_and_record_what_members_do() {
    let scene = Scene::mastodon().await;
    company_names(&scene).await;
    let fake = &scene.fake.state;
    fake.receive(FakeIncoming::mention(
        "sunnycafe_help@evil.example",
        "<img src=x onerror=alert(1)>Sunny Café Support",
        "Claim your refund: https://sunnycafe-login.example/refund and https://bit.ly/3xYz",
    ));
    let items = read_until(&scene, &scene.keeper, 1).await;
    let id = items[0]["id"].as_i64().expect("id");

    let list = scene.keeper.get(&scene.app, "/inbox").await;
    assert_eq!(list.status(), StatusCode::OK);
    let html = list.text().await.expect("page");
    assert!(
        html.contains("&#60;img src=x onerror=alert(1)&#62;") || html.contains("&lt;img"),
        "the name is escaped"
    );
    assert!(
        !html.contains("<img src=x"),
        "no markup from a sender reaches the page"
    );
    assert!(html.contains("hxxps[://]sunnycafe-login[.]example/refund"));
    assert!(
        !html.contains("href=\"https://sunnycafe-login"),
        "never a link"
    );
    assert!(html.contains("Possible impostor"));

    let page = scene
        .keeper
        .get(&scene.app, &format!("/inbox/{id}"))
        .await
        .text()
        .await
        .expect("page");
    assert!(
        page.contains("data-not-offered"),
        "the dangerous link is not offered"
    );
    assert!(
        !page.contains(&format!("/inbox/{id}/links/0\"")),
        "no form opens it"
    );
    assert!(
        page.contains(&format!("/inbox/{id}/links/1\"")),
        "the short link may be opened anyway"
    );

    let dangerous = scene
        .keeper
        .form(
            &scene.app,
            &format!("/inbox/{id}/links/0"),
            &[("confirm", "1")],
        )
        .await;
    assert_eq!(dangerous.status(), StatusCode::FORBIDDEN);
    let unconfirmed = scene
        .keeper
        .form(&scene.app, &format!("/inbox/{id}/links/1"), &[])
        .await;
    assert_eq!(unconfirmed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let opened = scene
        .keeper
        .form(
            &scene.app,
            &format!("/inbox/{id}/links/1"),
            &[("confirm", "1")],
        )
        .await;
    assert_eq!(opened.status(), StatusCode::OK);
    let opened = opened.text().await.expect("page");
    assert!(
        opened.contains("href=\"https://bit.ly/3xYz\""),
        "offered once confirmed"
    );
    assert!(opened.contains("rel=\"noopener noreferrer\""));

    let reported = scene
        .keeper
        .form(&scene.app, &format!("/inbox/{id}/report"), &[])
        .await
        .text()
        .await
        .expect("page");
    assert!(
        reported.contains("docs.joinmastodon.org"),
        "the network's form is offered"
    );
    assert!(reported.contains("reported @sunnycafe_help@evil.example to the network"));
    let audit = scene.audit().await;
    assert!(audit.contains("inbox.link_opened"), "{audit}");
    assert!(audit.contains("inbox.impostor_reported"), "{audit}");
    assert!(
        !audit.contains("3xYz"),
        "the audit keeps the host, not the address"
    );

    let summary = scene
        .keeper
        .get_json(&scene.app, "/api/v1/inbox/summary")
        .await;
    assert_eq!(summary, json!({ "open": 1, "newest": id }));
}

/// Items with short links on a local shortener (`localhost`, listed in
/// `links.short_link_hosts`): its `/s/menu` leads to a page on it, `/s/login` to a look-alike
/// of the company's domain, `/s/invoice` to an address in a threat feed.
async fn short_link_scene() -> (
    Scene,
    u16,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    i64,
) {
    let (port, asked) = crate::links::redirect_server(vec![
        ("/s/menu", "/menu/winter".to_owned()),
        ("/s/login", "https://sunnycafe-login.example/pay".to_owned()),
        (
            "/s/invoice",
            "http://malware.example/invoice.zip".to_owned(),
        ),
    ])
    .await;
    let scene = Scene::mastodon_configured(|config| {
        config.links.short_link_hosts = vec!["localhost".to_owned()];
    })
    .await;
    company_names(&scene).await;
    crate::links::import_feed(
        &scene.app,
        "urlhaus.txt",
        "http://malware.example/invoice.zip\n",
    );
    scene.fake.state.receive(FakeIncoming::mention(
        "ann@example.social",
        "Ann",
        &format!(
            "Menu http://localhost:{port}/s/menu pay http://localhost:{port}/s/login bill http://localhost:{port}/s/invoice see https://example.org/about"
        ),
    ));
    let items = read_until(&scene, &scene.keeper, 1).await;
    let id = items[0]["id"].as_i64().expect("id");
    (scene, port, asked, id)
}

async fn follow(scene: &Scene, person: &Person, id: i64, index: usize) -> reqwest::Response {
    person
        .post(
            &scene.app,
            &format!("/api/v1/inbox/{id}/links/{index}/follow"),
            json!({}),
        )
        .await
}

#[tokio::test]
async fn a_short_link_is_followed_on_request_and_the_item_judged_again_by_where_it_leads() {
    let (scene, port, asked, id) = short_link_scene().await;
    let item = scene
        .keeper
        .get_json(&scene.app, &format!("/api/v1/inbox/{id}"))
        .await;
    let verdicts: Vec<&str> = item["links"]
        .as_array()
        .expect("links")
        .iter()
        .map(|link| link["verdict"].as_str().expect("verdict"))
        .collect();
    assert_eq!(
        verdicts,
        ["suspicious", "suspicious", "suspicious", "safe"],
        "{item}"
    );
    assert_eq!(item["verdict"], "suspicious");
    assert!(
        asked.lock().expect("asked").is_empty(),
        "reading follows no link"
    );

    // A viewer may read the item but not have Herald follow its links.
    let viewer = invite_and_join(
        &scene.app,
        &scene.clock,
        &scene.owner,
        "viewer@sunny.example",
        "member",
    )
    .await;
    grant(&scene.app, &scene.keeper, scene.account, &viewer, "viewer").await;
    let refused = follow(&scene, &viewer, id, 0).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(asked.lock().expect("asked").is_empty());

    // The menu's short link leads somewhere nothing is known against: safe, and the item is
    // still suspicious for its other short links.
    let followed = follow(&scene, &scene.keeper, id, 0).await;
    assert_eq!(followed.status(), StatusCode::OK);
    let followed: Value = followed.json().await.expect("JSON");
    assert_eq!(followed["links"][0]["verdict"], "safe", "{followed}");
    assert_eq!(
        followed["links"][0]["destination"],
        format!("hxxp[://]localhost[:]{port}/menu/winter")
    );
    assert_eq!(followed["verdict"], "suspicious");
    assert_eq!(
        *asked.lock().expect("asked"),
        ["/s/menu", "/menu/winter"],
        "the chain is followed to its end"
    );
    // Opening it goes where Herald saw it lead, not through the shortener again.
    let opened = scene
        .keeper
        .form(&scene.app, &format!("/inbox/{id}/links/0"), &[])
        .await;
    assert_eq!(opened.status(), StatusCode::OK);
    let opened = opened.text().await.expect("page");
    assert!(
        opened.contains(&format!("href=\"http://localhost:{port}/menu/winter\"")),
        "{opened}"
    );
    assert!(!opened.contains("/s/menu\""), "{opened}");

    // The login link leads to a look-alike of the company's domain: dangerous, never visited.
    let followed: Value = follow(&scene, &scene.keeper, id, 1)
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(followed["links"][1]["verdict"], "dangerous", "{followed}");
    assert_eq!(
        followed["links"][1]["destination"],
        "hxxps[://]sunnycafe-login[.]example/pay"
    );
    assert_eq!(followed["verdict"], "dangerous");
    assert!(
        followed["reasons"]
            .as_array()
            .expect("reasons")
            .iter()
            .any(|reason| reason.as_str().is_some_and(|r| r.contains("imitates"))),
        "{followed}"
    );

    // The invoice link leads to an address in a threat feed.
    scene.clock.advance(SignedDuration::from_secs(5));
    let followed: Value = follow(&scene, &scene.keeper, id, 2)
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(followed["links"][2]["verdict"], "dangerous", "{followed}");
    assert!(
        followed["links"][2]["reasons"][0]
            .as_str()
            .is_some_and(|reason| reason.contains("malware")),
        "{followed}"
    );
    assert_eq!(
        *asked.lock().expect("asked"),
        ["/s/menu", "/menu/winter", "/s/login", "/s/invoice"],
        "a flagged hop is never asked"
    );
    let steps: Vec<&str> = followed["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|event| event["what"].as_str().expect("what"))
        .collect();
    assert_eq!(
        steps,
        [
            "link_followed",
            "link_opened",
            "link_followed",
            "link_followed"
        ]
    );
    assert_eq!(
        followed["history"][1]["detail"],
        format!("hxxp[://]localhost[:]{port}/menu/winter"),
        "the destination was opened"
    );
    assert_eq!(
        followed["history"][2]["detail"],
        format!(
            "hxxp[://]localhost[:]{port}/s/login → hxxps[://]sunnycafe-login[.]example/pay: dangerous"
        )
    );

    // A link that is not short, and a link the item does not have.
    let not_short = follow(&scene, &scene.keeper, id, 3).await;
    assert_eq!(not_short.status(), StatusCode::CONFLICT);
    let problem: Value = not_short.json().await.expect("problem");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("not a short link")),
        "{problem}"
    );
    let missing = follow(&scene, &scene.keeper, id, 7).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    let audit = scene.audit().await;
    assert_eq!(audit.matches("inbox.link_followed").count(), 3, "{audit}");
    assert!(audit.contains("sunnycafe-login.example"), "{audit}");
    assert!(
        !audit.contains("/s/login"),
        "the audit keeps hosts, not addresses"
    );
}

#[tokio::test]
async fn the_items_page_offers_to_check_a_short_link_and_shows_where_it_leads() {
    let (scene, port, _asked, id) = short_link_scene().await;
    let page = scene
        .keeper
        .get(&scene.app, &format!("/inbox/{id}"))
        .await
        .text()
        .await
        .expect("page");
    for index in 0..3 {
        assert!(
            page.contains(&format!("/inbox/{id}/links/{index}/follow\"")),
            "short link {index} may be checked"
        );
    }
    assert!(
        !page.contains(&format!("/inbox/{id}/links/3/follow\"")),
        "a link that is not short is not offered"
    );
    assert!(page.contains("Check where this short link leads"));

    let checked = scene
        .keeper
        .form(&scene.app, &format!("/inbox/{id}/links/1/follow"), &[])
        .await;
    assert_eq!(checked.status(), StatusCode::SEE_OTHER);
    let page = scene
        .keeper
        .get(&scene.app, &format!("/inbox/{id}"))
        .await
        .text()
        .await
        .expect("page");
    assert!(
        page.contains("Leads to <code>hxxps[://]sunnycafe-login[.]example/pay</code>"),
        "the destination is shown defanged"
    );
    assert!(
        !page.contains(&format!("/inbox/{id}/links/1/follow\"")),
        "a dangerous link is not offered again"
    );
    assert!(
        !page.contains(&format!("/inbox/{id}/links/1\"")),
        "nor opened"
    );
    assert!(page.contains(&format!(
        "had Herald follow the short link hxxp[://]localhost[:]{port}/s/login"
    )));
    assert!(
        page.contains("data-verdict=\"dangerous\""),
        "the item is dangerous now"
    );

    let viewer = invite_and_join(
        &scene.app,
        &scene.clock,
        &scene.owner,
        "viewer@sunny.example",
        "member",
    )
    .await;
    grant(&scene.app, &scene.keeper, scene.account, &viewer, "viewer").await;
    let page = viewer
        .get(&scene.app, &format!("/inbox/{id}"))
        .await
        .text()
        .await
        .expect("page");
    assert!(
        !page.contains("/follow\""),
        "a viewer is not offered the check"
    );
    let refused = viewer
        .form(&scene.app, &format!("/inbox/{id}/links/0/follow"), &[])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}
