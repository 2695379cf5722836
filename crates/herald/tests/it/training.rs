//! Training through the API and the pages: once an owner publishes the staff course, members
//! pass it before they post (with wrong answers explained), and again when the policy changes;
//! only owners edit it and see who completed it; the policy's bad examples show what the guard
//! finds.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::accounts::new_account;
use crate::helpers::TestApp;
use crate::people::{Person, app, invite_and_join, set_up};
use crate::posts::grant;

/// Two parts, three questions; the right answers are 1, 0, 1.
const COURSE: &str = "# The policy in brief\nNever post a customer's phone number.\n\n??? May you repeat a customer's phone number in a public reply?\n- [ ] Yes, if they gave it\n- [x] No, never\n> A phone number is personal data: ask them to send a private message.\n\n# Look-alikes\n{company}'s account is {handle}.\n\n??? Which account is the company's?\n- [x] {handle}\n- [ ] {lookalike_handle}\n> {lookalike_handle} has one letter changed.\n\n??? Someone asks for your sign-in code. Do you send it?\n- [ ] Yes\n- [x] No\n> Nobody from the company ever asks for it.\n";

async fn publish_course(app: &TestApp, owner: &Person, markdown: &str) -> reqwest::Response {
    owner
        .send(
            app,
            Method::PUT,
            "/api/v1/training/course",
            Some(json!({ "markdown": markdown })),
        )
        .await
}

async fn answer(app: &TestApp, person: &Person, answers: Value) -> Value {
    let course: Value = person.get_json(app, "/api/v1/training").await;
    let answered = person
        .post(
            app,
            "/api/v1/training/answers",
            json!({ "version": course["version"], "answers": answers }),
        )
        .await;
    assert_eq!(answered.status(), StatusCode::OK);
    answered.json().await.expect("JSON")
}

async fn draft(
    app: &TestApp,
    person: &Person,
    account: herald::domain::ids::AccountId,
) -> reqwest::Response {
    person
        .post(
            app,
            "/api/v1/posts",
            json!({ "account_id": account, "text": "Soup of the day: leek" }),
        )
        .await
}

async fn add_example(
    app: &TestApp,
    person: &Person,
    text: &str,
    verdict: &str,
    why: &str,
) -> reqwest::Response {
    person
        .post(
            app,
            "/api/v1/policy/examples",
            json!({ "text": text, "verdict": verdict, "why": why }),
        )
        .await
}

/// The owner's view of one member's standing in the course.
async fn standing_of(app: &TestApp, owner: &Person, member: &Person) -> Value {
    let results: Value = owner.get_json(app, "/api/v1/training/results").await;
    results
        .as_array()
        .expect("list")
        .iter()
        .find(|row| row["user_id"] == member.id.get())
        .expect("the member is listed")
        .clone()
}

#[tokio::test]
async fn members_pass_the_published_course_before_posting_and_again_after_a_new_policy() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let jane = invite_and_join(&app, &clock, &owner, "jane@sunny.example", "member").await;
    let account = new_account(&app, &owner, "@sunnycafe", owner.id).await;
    grant(&app, &owner, account, &jane, "contributor").await;

    // Before an owner publishes the course, nobody is held back.
    let course: Value = jane.get_json(&app, "/api/v1/training").await;
    assert_eq!(course["published"], false);
    assert_eq!(course["outstanding"], false);
    assert!(
        course.get("markdown").is_none(),
        "members never get the source"
    );
    assert_eq!(
        draft(&app, &jane, account).await.status(),
        StatusCode::CREATED
    );

    let published = publish_course(&app, &owner, COURSE).await;
    assert_eq!(published.status(), StatusCode::OK);
    let course: Value = jane.get_json(&app, "/api/v1/training").await;
    assert_eq!(course["outstanding"], true);
    assert_eq!(
        course["parts"][1]["questions"][0]["choices"],
        json!(["@sunnycafe", "@sunnycaf3"])
    );
    assert!(
        !course.to_string().contains("[x]")
            && course["parts"][0]["questions"][0].get("right").is_none(),
        "the right answers are not given away: {course}"
    );
    let refused = draft(&app, &jane, account).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let refused: Value = refused.json().await.expect("JSON");
    assert!(
        refused["detail"]
            .as_str()
            .expect("detail")
            .contains("/training"),
        "{refused}"
    );

    let composer = jane.get(&app, "/compose").await.text().await.expect("page");
    assert!(
        composer.contains("id=\"course-needed\"") && composer.contains("href=\"/training\""),
        "the composer links to the course"
    );

    let failed = answer(&app, &jane, json!([0, 1, 1])).await;
    assert_eq!(failed["passed"], false);
    assert_eq!(
        (failed["right"].as_i64(), failed["total"].as_i64()),
        (Some(1), Some(3))
    );
    assert_eq!(failed["wrong"][0]["right_choice"], "No, never");
    assert!(
        failed["wrong"][0]["why"]
            .as_str()
            .expect("why")
            .contains("personal data")
    );
    assert_eq!(
        failed["wrong"][1]["why"],
        "@sunnycaf3 has one letter changed."
    );
    assert_eq!(
        draft(&app, &jane, account).await.status(),
        StatusCode::FORBIDDEN
    );

    let passed = answer(&app, &jane, json!([1, 0, 1])).await;
    assert_eq!(passed["passed"], true, "{passed}");
    assert_eq!(passed["complete"], true);
    let composer = jane.get(&app, "/compose").await.text().await.expect("page");
    assert!(!composer.contains("id=\"course-needed\""));
    assert_eq!(
        draft(&app, &jane, account).await.status(),
        StatusCode::CREATED
    );

    let row = standing_of(&app, &owner, &jane).await;
    assert_eq!(row["complete"], true);
    assert_eq!(
        (row["latest_right"].as_i64(), row["latest_total"].as_i64()),
        (Some(3), Some(3))
    );

    // A new policy: accepted, but the course is asked for again.
    let policy = owner
        .send(
            &app,
            Method::PUT,
            "/api/v1/policy",
            Some(json!({ "markdown": "# Policy v1\nBe kind." })),
        )
        .await;
    assert!(policy.status().is_success(), "{:?}", policy.text().await);
    let document: Value = jane.get_json(&app, "/api/v1/policy").await;
    let acknowledged = jane
        .post(
            &app,
            "/api/v1/policy/acknowledge",
            json!({ "version": document["version"] }),
        )
        .await;
    assert!(
        acknowledged.status().is_success(),
        "{:?}",
        acknowledged.text().await
    );
    assert_eq!(
        draft(&app, &jane, account).await.status(),
        StatusCode::FORBIDDEN
    );
    let row = standing_of(&app, &owner, &jane).await;
    assert_eq!(row["complete"], false, "the policy changed: {row}");
    answer(&app, &jane, json!([1, 0, 1])).await;
    assert_eq!(
        draft(&app, &jane, account).await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn only_owners_edit_the_course_and_see_who_completed_it() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let admin = invite_and_join(&app, &clock, &owner, "admin@sunny.example", "admin").await;
    let jane = invite_and_join(&app, &clock, &owner, "jane@sunny.example", "member").await;
    for person in [&jane, &admin] {
        assert_eq!(
            publish_course(&app, person, COURSE).await.status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            person.get(&app, "/api/v1/training/results").await.status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            person.get(&app, "/training/results").await.status(),
            StatusCode::FORBIDDEN
        );
        let page = person
            .form(&app, "/training/course", &[("markdown", COURSE)])
            .await;
        assert_eq!(page.status(), StatusCode::FORBIDDEN);
    }
    let course: Value = jane.get_json(&app, "/api/v1/training").await;
    assert_eq!(course["published"], false, "nothing was published");

    let broken = publish_course(
        &app,
        &owner,
        "# Part\n??? Pick one\n- [ ] a\n- [ ] b\n> why\n",
    )
    .await;
    assert_eq!(broken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let broken: Value = broken.json().await.expect("JSON");
    assert_eq!(broken["field"], "markdown");
    assert!(
        broken["detail"]
            .as_str()
            .expect("detail")
            .starts_with("line 2:"),
        "{broken}"
    );

    let owner_view: Value = owner.get_json(&app, "/api/v1/training").await;
    assert!(
        owner_view["markdown"]
            .as_str()
            .expect("source")
            .contains("???")
    );
    let page = owner
        .get(&app, "/training")
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("id=\"course-editor\""));
    let page = jane
        .get(&app, "/training")
        .await
        .text()
        .await
        .expect("page");
    assert!(!page.contains("id=\"course-editor\""));
    assert!(page.contains("type=\"radio\""));
}

#[tokio::test]
async fn a_wrong_answer_on_the_course_page_is_explained() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let jane = invite_and_join(&app, &clock, &owner, "jane@sunny.example", "member").await;
    assert_eq!(
        publish_course(&app, &owner, COURSE).await.status(),
        StatusCode::OK
    );
    let course: Value = jane.get_json(&app, "/api/v1/training").await;
    let version = course["version"].as_i64().expect("version").to_string();
    let page = jane
        .form(
            &app,
            "/training",
            &[("version", &version), ("q0", "0"), ("q1", "0"), ("q2", "1")],
        )
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("page");
    assert!(
        html.contains("Passed: 2 of 3 right") || html.contains("Not passed yet: 2 of 3 right"),
        "{html}"
    );
    assert!(html.contains("A phone number is personal data"), "{html}");
    let stale = jane
        .form(&app, "/training", &[("version", "99"), ("q0", "1")])
        .await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn bad_examples_in_the_policy_show_what_the_guard_finds() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let jane = invite_and_join(&app, &clock, &owner, "jane@sunny.example", "member").await;
    let bad = add_example(
        &app,
        &owner,
        "Congrats Ann! Questions to ann.smith@gmail.com",
        "bad",
        "It names a customer and her own email address.",
    )
    .await;
    assert_eq!(bad.status(), StatusCode::CREATED);
    let bad: Value = bad.json().await.expect("JSON");
    assert!(
        bad["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|finding| finding["rule"] == "pii.email"),
        "{bad}"
    );
    let good = add_example(
        &app,
        &owner,
        "Leek soup is back on Monday!",
        "good",
        "News, no personal data.",
    )
    .await;
    assert_eq!(good.status(), StatusCode::CREATED);
    let wrong = add_example(&app, &owner, "x", "ugly", "w").await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let denied = add_example(&app, &jane, "x", "good", "w").await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    let id = bad["id"].as_i64().expect("id");
    let denied = jane
        .send(
            &app,
            Method::DELETE,
            &format!("/api/v1/policy/examples/{id}"),
            None,
        )
        .await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);

    let listed: Value = jane.get_json(&app, "/api/v1/policy/examples").await;
    assert_eq!(listed.as_array().map(Vec::len), Some(2));
    let page = jane
        .get(&app, "/policy/examples")
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("<mark title="), "{page}");
    assert!(page.contains(">ann.smith@gmail.com</mark>"), "{page}");
    assert!(
        !page.contains("id=\"add-example\""),
        "members do not edit examples"
    );
    let removed = owner
        .send(
            &app,
            Method::DELETE,
            &format!("/api/v1/policy/examples/{id}"),
            None,
        )
        .await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
}
