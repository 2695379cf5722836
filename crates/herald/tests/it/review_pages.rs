//! A post's page as a reviewer and an owner use it: the policy's findings headed in words, the
//! history saying who did what, the owner's override with a reason, and a warning when the
//! account is not connected.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::accounts::new_account;
use crate::people::{app, invite_and_join, set_up};
use crate::posts::{act, draft_id, grant};

#[tokio::test]
async fn the_reviewer_sees_the_findings_and_who_did_what_and_an_owner_overrides_from_the_page() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let sam = invite_and_join(&app, &clock, &owner, "sam@sunny.example", "member").await;
    let cafe = new_account(&app, &owner, "@sunnycafe", owner.id).await;
    grant(&app, &owner, cafe, &sam, "contributor").await;

    let post = draft_id(
        &app,
        &sam,
        cafe,
        "Thanks to Jo (jo.bloggs@example.com) for the cake!",
    )
    .await;
    assert_eq!(
        act(&app, &sam, post, "submit", json!({})).await.status(),
        StatusCode::OK
    );
    let page = owner.get(&app, &format!("/posts/{post}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(
        html.contains("<strong>Personal email address</strong>"),
        "the approver sees why it needs approval: {html}"
    );
    assert!(!html.contains("jo.bloggs@example.com (") && html.contains("Needs approval"));
    assert!(
        html.contains("<strong>Person sam@sunny.example</strong> wrote it")
            && html.contains("<strong>Person sam@sunny.example</strong> submitted it for approval"),
        "the history names who did what: {html}"
    );
    assert!(
        html.contains("id=\"not-connected\""),
        "the account is not connected yet"
    );
    assert!(html.contains("Waiting for approval"), "the state in words");

    // The owner's own draft that the policy blocks: the page offers the override with a reason.
    let leaky = draft_id(&app, &owner, cafe, "Our key: AKIAIOSFODNN7EXAMPLE").await;
    let html = owner
        .get(&app, &format!("/posts/{leaky}"))
        .await
        .text()
        .await
        .expect("html");
    assert!(
        html.contains("Blocks posting") && html.contains("id=\"override_reason\""),
        "{html}"
    );
    let version: Value = owner
        .get_json(&app, &format!("/api/v1/posts/{leaky}"))
        .await;
    let version = version["version"].as_i64().expect("version").to_string();
    let overridden = owner
        .form(
            &app,
            &format!("/posts/{leaky}/submit"),
            &[
                ("version", version.as_str()),
                (
                    "override_reason",
                    "A test key from the AWS documentation, harmless",
                ),
            ],
        )
        .await;
    assert!(
        overridden.status().is_redirection(),
        "{}",
        overridden.status()
    );
    let after: Value = owner
        .get_json(&app, &format!("/api/v1/posts/{leaky}"))
        .await;
    assert_ne!(after["state"], "draft", "{after}");
    let audit = owner
        .get_json(&app, "/api/v1/audit?action=post.policy_overridden")
        .await;
    assert!(
        audit.to_string().contains("harmless"),
        "the reason is kept in the audit log: {audit}"
    );

    // A member's blocked draft has no override form.
    let sams = draft_id(&app, &sam, cafe, "Our key: AKIAIOSFODNN7EXAMPLE").await;
    let html = sam
        .get(&app, &format!("/posts/{sams}"))
        .await
        .text()
        .await
        .expect("html");
    assert!(html.contains("Blocks posting") && !html.contains("id=\"override_reason\""));
}
