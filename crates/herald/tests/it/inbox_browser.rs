//! The inbox in Chromium: a gatekeeper sees an impostor flagged and its dangerous link
//! defanged (never a link, not offered), the menu counts the open items, gives the item to a
//! contributor and replies (it goes out, threaded); the contributor's own reply waits for
//! approval. Every page state is checked with axe-core, on a desktop and a phone.

use jiff::SignedDuration;
use networks::fake::inbox::FakeIncoming;
use serde_json::json;

use crate::browser::sign_in_with_code;
use crate::people::{Person, invite_and_join};
use crate::posts::grant;
use crate::publishing::Scene;
use crate::webdriver::Browser;

async fn signed_in(scene: &Scene, person: &Person) -> Option<Browser> {
    let browser = Browser::launch().await?;
    scene.clock.advance(SignedDuration::from_secs(30));
    let code = crate::people::code(&person.secret, &scene.clock);
    sign_in_with_code(&browser, &scene.app, person, &code).await;
    Some(browser)
}

#[tokio::test]
async fn a_member_sees_an_impostor_flagged_assigns_the_item_and_replies() {
    let scene = Scene::mastodon().await;
    let names = scene
        .owner
        .send(
            &scene.app,
            reqwest::Method::PUT,
            "/api/v1/links/names",
            Some(json!({ "domains": ["sunnycafe.example"], "handles": [] })),
        )
        .await;
    assert!(names.status().is_success());
    scene.fake.state.receive(FakeIncoming::mention(
        "sunnycafe_help@evil.example",
        "Sunny Café Support",
        "Your refund is waiting: log in at https://sunnycafe-login.example/refund",
    ));
    scene.clock.advance(SignedDuration::from_secs(121));
    let mut id = None;
    for _ in 0..300 {
        let page = scene.keeper.get_json(&scene.app, "/api/v1/inbox").await;
        if let Some(found) = page["items"][0]["id"].as_i64() {
            id = Some(found);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let id = id.expect("the mention was read");
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

    let Some(browser) = signed_in(&scene, &scene.keeper).await else {
        return;
    };
    browser.goto(&scene.app.url("/inbox")).await;
    assert!(
        browser
            .wait_for(
                "return document.getElementById('inbox-count')?.textContent.trim() === '1 open';"
            )
            .await,
        "the menu counts the open item"
    );
    let card = browser.text_of(&format!("[data-item='{id}']")).await;
    assert!(card.contains("Possible impostor"), "{card}");
    assert!(card.contains("Dangerous"), "{card}");
    assert!(
        card.contains("hxxps[://]sunnycafe-login[.]example/refund"),
        "{card}"
    );
    assert_eq!(
        browser
            .execute("return document.querySelectorAll('a[href*=\"sunnycafe-login\"]').length;")
            .await,
        json!(0),
        "the link is never a link"
    );
    browser.screenshot("inbox").await;

    browser.goto(&scene.app.url(&format!("/inbox/{id}"))).await;
    assert!(
        browser
            .text_of("[data-not-offered]")
            .await
            .contains("will not open")
    );
    browser.screenshot("inbox-item").await;
    browser
        .execute(&format!(
            "document.getElementById('assignee').value = '{}'; return true;",
            helper.id
        ))
        .await;
    browser
        .click_and_wait(&browser.find("#assign-form button").await)
        .await;
    let history = browser.text_of("#item-history").await;
    assert!(
        history.contains(&format!("gave it to Person {}", helper.email)),
        "{history}"
    );
    browser
        .fill(
            "#reply-text",
            "@sunnycafe_help We never ask for logins by message.",
        )
        .await;
    browser
        .click_and_wait(&browser.find("#reply-form button").await)
        .await;
    let replied = browser.text_of("#item-go-on").await;
    assert!(replied.contains("on its way"), "{replied}");
    scene.clock.advance(SignedDuration::from_secs(2));
    let mut sent = Vec::new();
    for _ in 0..300 {
        sent = scene.fake.state.posts();
        if !sent.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(sent.len(), 1, "the reply went out once");
    assert!(sent[0].extra["in_reply_to_id"].is_string(), "threaded");
    browser.set_window_size(390, 844).await;
    browser.goto(&scene.app.url(&format!("/inbox/{id}"))).await;
    browser.screenshot("inbox-item-phone").await;

    let Some(contributor) = signed_in(&scene, &helper).await else {
        return;
    };
    contributor.goto(&scene.app.url("/inbox?mine=1")).await;
    assert!(
        contributor
            .text_of(&format!("[data-item='{id}']"))
            .await
            .contains("Possible impostor")
    );
    contributor
        .goto(&scene.app.url(&format!("/inbox/{id}")))
        .await;
    contributor
        .fill("#reply-text", "We have reported this account.")
        .await;
    contributor
        .click_and_wait(&contributor.find("#reply-form button").await)
        .await;
    let waiting = contributor.text_of("#item-go-on").await;
    assert!(waiting.contains("waits for a publisher"), "{waiting}");
    contributor.screenshot("inbox-reply-waiting").await;
    assert_eq!(
        scene.fake.state.posts().len(),
        1,
        "the contributor's reply is not sent"
    );
}
