//! Posts through the API: drafts, the approval workflow (nobody approves their own post), the
//! network's length rule, and the policy guard at submission (block, require approval, owner
//! override with a reason).

use herald::domain::ids::AccountId;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::people::{Person, app, invite_and_join, set_up};

pub async fn grant(
    app: &TestApp,
    gatekeeper: &Person,
    account: AccountId,
    member: &Person,
    level: &str,
) {
    let granted = gatekeeper
        .send(
            app,
            Method::PUT,
            &format!("/api/v1/accounts/{account}/grants/{}", member.id),
            Some(json!({ "level": level })),
        )
        .await;
    assert_eq!(granted.status(), StatusCode::NO_CONTENT);
}

async fn draft(
    app: &TestApp,
    author: &Person,
    account: AccountId,
    text: &str,
) -> reqwest::Response {
    author
        .post(
            app,
            "/api/v1/posts",
            json!({ "account_id": account, "text": text }),
        )
        .await
}

pub async fn draft_id(app: &TestApp, author: &Person, account: AccountId, text: &str) -> i64 {
    let response = draft(app, author, account, text).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json::<Value>().await.expect("JSON")["id"]
        .as_i64()
        .expect("id")
}

/// Takes a workflow step on a post. Submit and approve name the version of the text they act
/// on: unless `body` names one, the post's current version as `person` reads it.
pub async fn act(
    app: &TestApp,
    person: &Person,
    id: i64,
    step: &str,
    mut body: Value,
) -> reqwest::Response {
    if matches!(step, "submit" | "approve") && body.get("version").is_none() {
        body["version"] = json!(version(app, person, id).await);
    }
    person
        .post(app, &format!("/api/v1/posts/{id}/{step}"), body)
        .await
}

/// The version of the post's text as `person` reads it (0 when they cannot see the post).
pub async fn version(app: &TestApp, person: &Person, id: i64) -> i64 {
    let post: Value = person
        .get(app, &format!("/api/v1/posts/{id}"))
        .await
        .json()
        .await
        .unwrap_or_default();
    post["version"].as_i64().unwrap_or(0)
}

#[tokio::test]
async fn a_contributors_post_waits_for_someone_elses_approval_and_keeps_its_history() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let keeper = invite_and_join(&app, &clock, &owner, "keeper@sunny.example", "member").await;
    let writer = invite_and_join(&app, &clock, &owner, "writer@sunny.example", "member").await;
    let outsider = invite_and_join(&app, &clock, &owner, "out@sunny.example", "member").await;
    let account = crate::accounts::new_account(&app, &owner, "@sunnycafe", keeper.id).await;
    grant(&app, &keeper, account, &writer, "contributor").await;

    let id = draft_id(&app, &writer, account, "Pumpkin soup is back on Monday!").await;
    let submitted: Value = act(&app, &writer, id, "submit", json!({}))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(submitted["state"], "submitted", "{submitted}");
    let own = act(&app, &writer, id, "approve", json!({})).await;
    assert_eq!(
        own.status(),
        StatusCode::FORBIDDEN,
        "contributors do not approve"
    );
    let unseen = outsider.get(&app, &format!("/api/v1/posts/{id}")).await;
    assert_eq!(unseen.status(), StatusCode::NOT_FOUND, "no access, no post");
    let unseen_page = outsider.get(&app, &format!("/posts/{id}")).await;
    assert_eq!(unseen_page.status(), StatusCode::NOT_FOUND, "nor its page");
    let approved: Value = act(&app, &keeper, id, "approve", json!({}))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(approved["state"], "approved");
    let steps: Vec<&str> = approved["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|entry| entry["note"].as_str().expect("note"))
        .collect();
    assert_eq!(steps, ["drafted", "submitted", "approved"]);
    assert_eq!(approved["history"][2]["actor_id"], keeper.id.get());

    // The gatekeeper's own post needs nobody's approval, and they cannot approve it either.
    let mine = draft_id(&app, &keeper, account, "Open late on Friday.").await;
    let done: Value = act(&app, &keeper, mine, "submit", json!({}))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(done["state"], "approved");
    let sent_back: Value = act(
        &app,
        &keeper,
        id,
        "send-back",
        json!({ "note": "say which Monday" }),
    )
    .await
    .json()
    .await
    .expect("JSON");
    assert_eq!(sent_back["state"], "draft");
    assert_eq!(
        sent_back["history"][3]["note"],
        "sent back: say which Monday"
    );
    let edited = writer
        .send(
            &app,
            Method::PATCH,
            &format!("/api/v1/posts/{id}"),
            Some(json!({ "text": "Pumpkin soup is back on Monday 30th!" })),
        )
        .await;
    assert_eq!(edited.status(), StatusCode::OK);
    let by_other = keeper
        .send(
            &app,
            Method::PATCH,
            &format!("/api/v1/posts/{id}"),
            Some(json!({ "text": "x" })),
        )
        .await;
    assert_eq!(
        by_other.status(),
        StatusCode::FORBIDDEN,
        "only the author edits"
    );
}

#[tokio::test]
async fn the_policy_blocks_or_routes_posts_to_approval_and_only_an_owner_overrides_with_a_reason() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let publisher = invite_and_join(&app, &clock, &owner, "pub@sunny.example", "member").await;
    let account = crate::accounts::new_account(&app, &owner, "@sunnycafe", owner.id).await;
    grant(&app, &owner, account, &publisher, "publisher").await;
    let key = "AKIAIOSFODNN7EXAMPLE";

    let leaky = draft_id(&app, &publisher, account, &format!("Our key: {key}")).await;
    let blocked = act(&app, &publisher, leaky, "submit", json!({})).await;
    assert_eq!(blocked.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = blocked.json().await.expect("JSON");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(
        detail.contains("secret.aws_key") && !detail.contains(key),
        "{detail}"
    );
    let not_owner = act(
        &app,
        &publisher,
        leaky,
        "submit",
        json!({ "override_reason": "it is fine" }),
    )
    .await;
    assert_eq!(not_owner.status(), StatusCode::FORBIDDEN);
    let blocks: Value = owner
        .get_json(&app, "/api/v1/audit?action=post.submit_blocked")
        .await;
    let blocks = blocks.as_array().expect("entries");
    assert_eq!(blocks.len(), 2, "both refusals are recorded: {blocks:?}");
    for (entry, override_refused) in blocks.iter().zip([false, true]) {
        assert_eq!(entry["target"], format!("post:{leaky}"));
        assert_eq!(entry["details"]["rules"], json!(["secret.aws_key"]));
        assert_eq!(entry["details"]["override_refused"], override_refused);
    }
    assert!(
        !Value::from(blocks.clone()).to_string().contains(key),
        "a blocked submission is audited by its rule ids, never its text"
    );
    let still: Value = publisher
        .get_json(&app, &format!("/api/v1/posts/{leaky}"))
        .await;
    assert_eq!(
        still["state"], "draft",
        "a refused submission changes nothing"
    );

    let personal = draft_id(
        &app,
        &publisher,
        account,
        "Congratulations jo.bloggs@example.com!",
    )
    .await;
    let routed: Value = act(&app, &publisher, personal, "submit", json!({}))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        routed["state"], "submitted",
        "the policy asks for approval even from a publisher"
    );

    let sample = draft_id(
        &app,
        &owner,
        account,
        &format!("Example key for the workshop: {key}"),
    )
    .await;
    // The reason goes into the audit log: an essay is refused, and the post stays a draft.
    let essay = act(
        &app,
        &owner,
        sample,
        "submit",
        json!({ "override_reason": "é".repeat(1001) }),
    )
    .await;
    assert_eq!(essay.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = essay.json().await.expect("problem+json");
    assert_eq!(problem["field"], "override_reason", "{problem}");
    let overridden = act(
        &app,
        &owner,
        sample,
        "submit",
        json!({ "override_reason": "AWS's documented example key, not a real one" }),
    )
    .await;
    assert_eq!(overridden.status(), StatusCode::OK);
    let audit: Value = owner
        .get_json(&app, "/api/v1/audit?action=post.policy_overridden")
        .await;
    let entry = &audit[0];
    assert_eq!(entry["details"]["rules"], json!(["secret.aws_key"]));
    assert_eq!(
        entry["details"]["reason"],
        "AWS's documented example key, not a real one"
    );
    assert!(
        !audit.to_string().contains(key),
        "the audit log never holds the key"
    );
}

#[tokio::test]
async fn too_long_posts_and_authors_who_have_not_accepted_the_policy_are_refused() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let writer = invite_and_join(&app, &clock, &owner, "writer@sunny.example", "member").await;
    let account = crate::accounts::new_account(&app, &owner, "@sunnycafe", owner.id).await;
    grant(&app, &owner, account, &writer, "contributor").await;

    let long = draft(&app, &writer, account, &"a".repeat(281)).await;
    assert_eq!(long.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = long.json().await.expect("JSON");
    assert_eq!(
        problem["detail"],
        "X allows 280 weighted characters; this post has 281"
    );
    // Past what any network takes: said as too long, never as empty.
    let huge = draft(&app, &writer, account, &"a".repeat(100_001)).await;
    assert_eq!(huge.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = huge.json().await.expect("JSON");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(
        detail.contains("100001 bytes long") && !detail.contains("empty"),
        "{detail}"
    );
    let link = format!(
        "{} https://example.com/{}",
        "a".repeat(256),
        "x".repeat(100)
    );
    assert_eq!(
        draft(&app, &writer, account, &link).await.status(),
        StatusCode::CREATED,
        "a link counts 23"
    );

    let published = owner
        .send(
            &app,
            Method::PUT,
            "/api/v1/policy",
            Some(json!({ "markdown": "Be kind." })),
        )
        .await;
    assert_eq!(published.status(), StatusCode::OK);
    let refused = draft(&app, &writer, account, "Hello!").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let problem: Value = refused.json().await.expect("JSON");
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .contains("accept the social media policy")
    );
    let accepted = writer
        .post(&app, "/api/v1/policy/acknowledge", json!({ "version": 1 }))
        .await;
    assert_eq!(accepted.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        draft(&app, &writer, account, "Hello!").await.status(),
        StatusCode::CREATED
    );

    let counts: Value = writer
        .post(
            &app,
            "/api/v1/text-length",
            json!({ "text": "Cake 🍰 https://example.com/a/long/path" }),
        )
        .await
        .json()
        .await
        .expect("JSON");
    let x = counts
        .as_array()
        .expect("list")
        .iter()
        .find(|c| c["network"] == "x")
        .expect("x");
    assert_eq!(x["used"], 31);
    assert_eq!(x["fits"], true);
    let bluesky = counts
        .as_array()
        .expect("list")
        .iter()
        .find(|c| c["network"] == "bluesky")
        .expect("bluesky");
    assert_eq!(bluesky["unit"], "graphemes");
}

fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[tokio::test]
async fn a_submission_naming_an_old_version_of_the_text_is_refused_and_changes_nothing() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let account = crate::accounts::new_account(&app, &owner, "@sunnycafe", owner.id).await;
    let id = draft_id(&app, &owner, account, "Fresh bread at eight.").await;
    let read: Value = owner.get_json(&app, &format!("/api/v1/posts/{id}")).await;
    assert_eq!(read["version"], 1, "{read}");
    let edited = owner
        .send(
            &app,
            Method::PATCH,
            &format!("/api/v1/posts/{id}"),
            Some(json!({ "text": "Fresh bread at nine." })),
        )
        .await;
    assert_eq!(edited.status(), StatusCode::OK);
    assert_eq!(edited.json::<Value>().await.expect("JSON")["version"], 2);

    let stale = act(&app, &owner, id, "submit", json!({ "version": 1 })).await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    assert_eq!(stale.headers()["content-type"], "application/problem+json");
    let problem: Value = stale.json().await.expect("JSON");
    assert_eq!(
        problem["detail"],
        "the post changed since you read it: read it again"
    );
    let after: Value = owner.get_json(&app, &format!("/api/v1/posts/{id}")).await;
    assert_eq!(
        (&after["state"], &after["version"]),
        (&json!("draft"), &json!(2))
    );

    let unnamed = owner
        .post(&app, &format!("/api/v1/posts/{id}/submit"), json!({}))
        .await;
    assert_eq!(
        unnamed.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "the version is required"
    );
    let current = act(&app, &owner, id, "submit", json!({ "version": 2 })).await;
    assert_eq!(current.status(), StatusCode::OK);
    assert_eq!(
        current.json::<Value>().await.expect("JSON")["state"],
        "approved"
    );
}

#[tokio::test]
async fn an_edit_racing_a_submission_never_gets_unscanned_text_approved() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let account = crate::accounts::new_account(&app, &owner, "@sunnycafe", owner.id).await;
    let clean = "Fresh bread at eight.";
    let key = "AKIAIOSFODNN7EXAMPLE";
    let leaky = format!("Our key: {key}");
    let mut raced = Vec::new();
    for _ in 0..20 {
        let id = draft_id(&app, &owner, account, clean).await;
        let path = format!("/api/v1/posts/{id}");
        let edit = owner.send(&app, Method::PATCH, &path, Some(json!({ "text": leaky })));
        let submit = act(&app, &owner, id, "submit", json!({ "version": 1 }));
        let (edited, submitted) = tokio::join!(edit, submit);
        raced.push((id, edited.status(), submitted.status()));
    }
    for (id, edited, submitted) in raced {
        let post: Value = owner.get_json(&app, &format!("/api/v1/posts/{id}")).await;
        if submitted == StatusCode::OK {
            assert_eq!(edited, StatusCode::CONFLICT, "post {id}: {post}");
            assert_eq!(post["state"], "approved");
            assert_eq!(post["text"], clean, "only the scanned text is approved");
        } else {
            assert_eq!(submitted, StatusCode::CONFLICT, "post {id}: {post}");
            assert_eq!(edited, StatusCode::OK, "post {id}: {post}");
            assert_eq!(post["state"], "draft", "the edited text was never scanned");
            assert_eq!(post["text"], leaky.as_str());
        }
    }
}

#[tokio::test]
async fn approving_an_old_version_is_refused_and_the_audit_log_keeps_the_hash_of_the_text_approved()
{
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let keeper = invite_and_join(&app, &clock, &owner, "keeper@sunny.example", "member").await;
    let writer = invite_and_join(&app, &clock, &owner, "writer@sunny.example", "member").await;
    let account = crate::accounts::new_account(&app, &owner, "@sunnycafe", keeper.id).await;
    grant(&app, &keeper, account, &writer, "contributor").await;
    let first = "Soup of the day: leek.";
    let id = draft_id(&app, &writer, account, first).await;
    let submitted = act(&app, &writer, id, "submit", json!({})).await;
    assert_eq!(submitted.status(), StatusCode::OK);
    // The approver reads version 1; meanwhile it is sent back, rewritten and submitted again.
    let seen = version(&app, &keeper, id).await;
    assert_eq!(seen, 1);
    let sent_back = act(
        &app,
        &keeper,
        id,
        "send-back",
        json!({ "note": "say which soup" }),
    )
    .await;
    assert_eq!(sent_back.status(), StatusCode::OK);
    let second = "Soup of the day: leek and potato.";
    let edited = writer
        .send(
            &app,
            Method::PATCH,
            &format!("/api/v1/posts/{id}"),
            Some(json!({ "text": second })),
        )
        .await;
    assert_eq!(edited.status(), StatusCode::OK);
    let again = act(&app, &writer, id, "submit", json!({})).await;
    assert_eq!(again.status(), StatusCode::OK);

    let stale = act(&app, &keeper, id, "approve", json!({ "version": seen })).await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    assert_eq!(stale.headers()["content-type"], "application/problem+json");
    let post: Value = keeper.get_json(&app, &format!("/api/v1/posts/{id}")).await;
    assert_eq!(post["state"], "submitted", "nothing approved");
    let approved = act(&app, &keeper, id, "approve", json!({ "version": 2 })).await;
    assert_eq!(approved.status(), StatusCode::OK);

    let audit: Value = owner.get_json(&app, "/api/v1/audit?action=post.").await;
    let of = |action: &str| -> Vec<Value> {
        audit
            .as_array()
            .expect("entries")
            .iter()
            .filter(|entry| entry["action"] == action)
            .map(|entry| entry["details"].clone())
            .collect()
    };
    let submissions = of("post.submitted");
    assert_eq!(submissions.len(), 2);
    assert_eq!(submissions[0]["text_sha256"], sha256_hex(first));
    assert_eq!(submissions[0]["version"], 1);
    assert_eq!(submissions[1]["text_sha256"], sha256_hex(second));
    assert_eq!(submissions[1]["version"], 2);
    let approvals = of("post.approved");
    assert_eq!(approvals.len(), 1, "the stale approval left no entry");
    assert_eq!(approvals[0]["text_sha256"], sha256_hex(second));
    assert_eq!(approvals[0]["version"], 2);
    assert!(
        !audit.to_string().contains("leek"),
        "the audit log keeps a hash of the text, never the text"
    );
}
