//! Staff and their own networks in Chromium (issue 23): a member lists their LinkedIn profile,
//! takes the staff course (a wrong answer explained), shares a published company post through
//! LinkedIn's own share page, and an owner sees the share counted and the course completed.
//! Every screenshot runs axe-core on the page.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::browser::sign_in_with_code;
use crate::people::{Person, code, invite_and_join};
use crate::publishing::Scene;
use crate::staff::encode;
use crate::webdriver::Browser;

/// The built-in course's right answers, question by question.
const RIGHT: [usize; 8] = [1, 1, 1, 0, 1, 1, 0, 1];

#[tokio::test]
async fn a_member_lists_a_profile_takes_the_course_and_shares_a_post_that_the_owner_sees() {
    let scene = Scene::mastodon().await;
    let (app, clock) = (&scene.app, &scene.clock);
    let post = scene
        .published_after("Leek soup is back on Monday!", 5)
        .await;
    let url = scene.post(post).await["remote_url"]
        .as_str()
        .expect("public link")
        .to_owned();
    // The owner asks for the built-in course, as it is.
    let course: Value = scene.owner.get_json(app, "/api/v1/training").await;
    let published = scene
        .owner
        .send(
            app,
            Method::PUT,
            "/api/v1/training/course",
            Some(json!({ "markdown": course["markdown"] })),
        )
        .await;
    assert_eq!(published.status(), StatusCode::OK);
    let jane = invite_and_join(app, clock, &scene.owner, "jane@sunny.example", "member").await;

    let Some(browser) = Browser::launch().await else {
        return;
    };
    sign_in_with_code(&browser, app, &jane, &next_code(clock, &jane)).await;

    // Her LinkedIn profile, which represents the company.
    browser.goto(&app.url("/staff")).await;
    browser
        .execute("document.querySelector('#network').value = 'linkedin'; return true;")
        .await;
    browser.fill("#handle", "jane-doe").await;
    browser
        .click(&browser.find("input[name=purpose][value=represents]").await)
        .await;
    browser
        .click_and_wait(&browser.find("#add-profile button[type=submit]").await)
        .await;
    let listed = browser.text_of("#my-profiles").await;
    assert!(
        listed.contains("jane-doe") && listed.contains("Represents the company"),
        "{listed}"
    );
    browser.screenshot("staff-profiles").await;

    // The course: one answer wrong, explained; seven of eight pass.
    browser.goto(&app.url("/training")).await;
    assert!(
        browser
            .text_of("#course-outstanding")
            .await
            .contains("Pass this course")
    );
    let page = browser.text_of("main").await;
    assert!(
        page.contains("@herald@127.0.0.1"),
        "the company's own handle: {page}"
    );
    browser.screenshot("staff-course").await;
    for (question, right) in RIGHT.iter().enumerate() {
        let choice = if question == 2 {
            (right + 1) % 3
        } else {
            *right
        };
        browser
            .click(
                &browser
                    .find(&format!("input[name=q{question}][value='{choice}']"))
                    .await,
            )
            .await;
    }
    browser
        .click_and_wait(&browser.find("#course-submit").await)
        .await;
    let score = browser.text_of("#course-score").await;
    assert!(score.contains("Passed: 7 of 8 right"), "{score}");
    let wrong = browser.text_of("#wrong-answers").await;
    assert!(wrong.contains("Verify your account now"), "{wrong}");
    assert!(wrong.contains("is a classic phishing address"), "{wrong}");
    browser.screenshot("staff-course-passed").await;

    // Sharing: the button goes through Herald to LinkedIn's own share page for the post.
    browser.goto(&app.url("/share")).await;
    let shared = browser.text_of(".share-post").await;
    assert!(shared.contains("Leek soup is back on Monday!"), "{shared}");
    browser.screenshot("staff-share").await;
    let button = browser.find(".share-buttons a").await;
    let href = browser.property(&button, "href").await;
    let href = href.as_str().expect("href").to_owned();
    assert!(
        href.starts_with(&app.url(&format!("/share/{post}/"))),
        "{href}"
    );
    let followed = jane.client.get(&href).send().await.expect("request");
    assert_eq!(followed.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        followed.headers()["location"].to_str().expect("location"),
        format!(
            "https://www.linkedin.com/sharing/share-offsite/?url={}",
            encode(&url)
        )
    );
    // A click in the browser (a new tab, off to LinkedIn) is counted too.
    browser.click(&button).await;
    wait_for_shares(&scene, 2).await;
    browser.close().await;

    // The owner sees the share and the completed course.
    let Some(owner) = Browser::launch().await else {
        return;
    };
    sign_in_with_code(&owner, app, &scene.owner, &next_code(clock, &scene.owner)).await;
    owner.goto(&app.url("/staff/profiles")).await;
    let counts = owner.text_of("#share-counts").await;
    assert!(
        counts.contains("Leek soup") && counts.contains("LinkedIn") && counts.contains('2'),
        "{counts}"
    );
    assert!(owner.text_of("#staff-profiles").await.contains("jane-doe"));
    owner.screenshot("staff-owner-profiles").await;
    owner.goto(&app.url("/training/results")).await;
    let results = owner.text_of("#course-results").await;
    let jane_row = results
        .lines()
        .find(|line| line.contains("jane@sunny.example"))
        .unwrap_or_default();
    assert!(
        jane_row.contains("yes") && jane_row.contains("7 of 8"),
        "{results}"
    );
    owner.screenshot("staff-owner-results").await;
    owner.close().await;
}

/// Waits until the owner's count of shares of all posts reaches `total`.
async fn wait_for_shares(scene: &Scene, total: i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let counts: Value = scene
            .owner
            .get_json(&scene.app, "/api/v1/share/counts")
            .await;
        let sum: i64 = counts
            .as_array()
            .expect("counts")
            .iter()
            .filter_map(|count| count["count"].as_i64())
            .sum();
        if sum >= total {
            assert_eq!(sum, total, "{counts}");
            return;
        }
        assert!(Instant::now() < deadline, "shares counted: {counts}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `person`'s next authenticator code, half a minute on so it was not used yet.
fn next_code(clock: &herald::clock::ManualClock, person: &Person) -> String {
    clock.advance(jiff::SignedDuration::from_secs(30));
    code(&person.secret, clock)
}
