//! The lists of work: `GET /api/v1/posts` and the All posts page (filters, pages, only the
//! accounts the reader may see), and the home page about the member's own work.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::accounts::new_account;
use crate::people::{app, invite_and_join, set_up};
use crate::posts::{act, draft_id, grant};

#[tokio::test]
async fn the_posts_list_filters_pages_and_shows_only_accounts_the_reader_may_see() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let sam = invite_and_join(&app, &clock, &owner, "sam@sunny.example", "member").await;
    let cafe = new_account(&app, &owner, "@sunnycafe", owner.id).await;
    let bakery = new_account(&app, &owner, "@sunnybakery", owner.id).await;
    grant(&app, &owner, cafe, &sam, "contributor").await;
    let sams = draft_id(&app, &sam, cafe, "Soup of the day: leek").await;
    let submitted = draft_id(&app, &sam, cafe, "Cinnamon buns at 8").await;
    assert_eq!(
        act(&app, &sam, submitted, "submit", json!({}))
            .await
            .status(),
        StatusCode::OK
    );
    for n in 0..3 {
        draft_id(&app, &owner, bakery, &format!("Bread number {n}")).await;
    }

    let everything = owner.get_json(&app, "/api/v1/posts").await;
    assert_eq!(everything["total"], 5, "{everything}");
    assert_eq!(
        everything["posts"][0]["text"], "Bread number 2",
        "newest first"
    );
    assert_eq!(everything["posts"][0]["account_name"], "Sunny Café");

    let drafts = owner.get_json(&app, "/api/v1/posts?state=draft").await;
    assert_eq!(drafts["total"], 4);
    let by_sam = owner
        .get_json(&app, &format!("/api/v1/posts?author_id={}", sam.id))
        .await;
    let ids: Vec<i64> = by_sam["posts"]
        .as_array()
        .expect("posts")
        .iter()
        .map(|post| post["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(ids, vec![submitted, sams], "Sam's two posts, newest first");
    let submitted_only = owner
        .get_json(
            &app,
            &format!("/api/v1/posts?account_id={cafe}&state=submitted"),
        )
        .await;
    assert_eq!(submitted_only["posts"][0]["id"], submitted);
    assert_eq!(submitted_only["total"], 1);

    // Pages: two a page, the third page holds the fifth post.
    let third = owner
        .get_json(&app, "/api/v1/posts?per_page=2&page=3")
        .await;
    assert_eq!(third["posts"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        (third["total"].clone(), third["page"].clone()),
        (json!(5), json!(3))
    );

    // Sam sees the café's posts only; asking for the bakery is as if it did not exist.
    let sams_view = sam.get_json(&app, "/api/v1/posts").await;
    assert_eq!(sams_view["total"], 2, "{sams_view}");
    let hidden = sam
        .get(&app, &format!("/api/v1/posts?account_id={bakery}"))
        .await;
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);

    // Bad filters are named.
    for (query, status, field) in [
        ("from=yesterday", StatusCode::UNPROCESSABLE_ENTITY, "from"),
        ("per_page=0", StatusCode::UNPROCESSABLE_ENTITY, "per_page"),
        ("per_page=201", StatusCode::UNPROCESSABLE_ENTITY, "per_page"),
        ("page=0", StatusCode::UNPROCESSABLE_ENTITY, "page"),
        (
            "from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z",
            StatusCode::UNPROCESSABLE_ENTITY,
            "to",
        ),
        ("state=lost", StatusCode::BAD_REQUEST, "state"),
        ("colour=red", StatusCode::BAD_REQUEST, "colour"),
    ] {
        let response = owner.get(&app, &format!("/api/v1/posts?{query}")).await;
        assert_eq!(response.status(), status, "{query}");
        let problem: Value = response.json().await.expect("problem");
        assert!(
            problem.to_string().contains(field),
            "{query}: {problem} should name {field}"
        );
    }

    // The page: the same filters from a form, names instead of ids, the menu marks Posts.
    let page = owner
        .get(
            &app,
            &format!("/posts?account={cafe}&state=&author={}", sam.id),
        )
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(html.contains("Soup of the day: leek") && html.contains("Cinnamon buns at 8"));
    assert!(
        !html.contains("Bread number"),
        "the bakery's posts are filtered out"
    );
    assert!(
        html.contains("Waiting for approval"),
        "states in people's words"
    );
    assert!(
        html.contains(">Person sam@sunny.example<"),
        "the author by name: {html}"
    );
    assert!(html.contains("<a href=\"/posts\" aria-current=\"page\">Posts</a>"));
    let bad_day = owner.get(&app, "/posts?from=31/12/2026").await;
    assert_eq!(bad_day.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad_day
            .text()
            .await
            .expect("html")
            .contains("is not a date"),
        "a day that does not read is explained"
    );
}

#[tokio::test]
async fn home_shows_the_checklist_what_waits_for_me_what_goes_out_next_and_what_needs_attention() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let first = owner.get(&app, "/").await.text().await.expect("html");
    assert!(
        first.contains("Getting started"),
        "a new owner sees the checklist"
    );
    assert!(first.contains("Add your first social account"));
    assert!(
        !first.contains("System status</h1>"),
        "Home is about the work"
    );

    let sam = invite_and_join(&app, &clock, &owner, "sam@sunny.example", "member").await;
    let cafe = new_account(&app, &owner, "@sunnycafe", owner.id).await;
    grant(&app, &owner, cafe, &sam, "contributor").await;
    let waiting = draft_id(&app, &sam, cafe, "Pumpkin soup is back").await;
    assert_eq!(
        act(&app, &sam, waiting, "submit", json!({})).await.status(),
        StatusCode::OK
    );
    let sent_back = draft_id(&app, &sam, cafe, "Free coffee for everyone").await;
    act(&app, &sam, sent_back, "submit", json!({})).await;
    let response = act(
        &app,
        &owner,
        sent_back,
        "send-back",
        json!({ "note": "Only on Mondays, please say so" }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let scheduled = draft_id(&app, &owner, cafe, "Open late on Friday").await;
    act(&app, &owner, scheduled, "submit", json!({})).await;
    let at = jiff::Timestamp::from_second(herald::clock::Clock::now(&clock).as_second() + 7200)
        .expect("time")
        .to_string();
    let response = owner
        .send(
            &app,
            Method::POST,
            &format!("/api/v1/posts/{scheduled}/schedule"),
            Some(json!({ "at": at })),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    let home = owner.get(&app, "/").await.text().await.expect("html");
    let section = |html: &str, id: &str| {
        let start = html.find(&format!("id=\"{id}\"")).unwrap_or(0);
        let end = html[start..]
            .find("</section>")
            .map_or(html.len(), |end| start + end);
        html[start..end].to_owned()
    };
    let review = section(&home, "to-review");
    assert!(
        review.contains("Pumpkin soup is back") && review.contains("by Person sam@sunny.example"),
        "{review}"
    );
    let next = section(&home, "next-out");
    assert!(
        next.contains("Open late on Friday") && next.contains("Sunny Café"),
        "{next}"
    );
    let attention = section(&home, "attention");
    assert!(attention.contains("Not connected yet"), "{attention}");
    let checklist = section(&home, "checklist");
    assert!(
        checklist.contains(
            "Add your first social account</span> <span class=\"visually-hidden\">(done)"
        ),
        "{checklist}"
    );
    assert!(
        checklist.contains("<a href=\"/accounts/"),
        "the connect step links the account"
    );

    let sams_home = sam.get(&app, "/").await.text().await.expect("html");
    assert!(
        !sams_home.contains("Getting started"),
        "members have no setup checklist"
    );
    let drafts = section(&sams_home, "my-drafts");
    assert!(
        drafts.contains("Free coffee for everyone")
            && drafts.contains("Only on Mondays, please say so"),
        "a sent-back draft carries the note: {drafts}"
    );
    assert!(
        !sams_home.contains("id=\"to-review\""),
        "nothing for Sam to approve"
    );

    // The account's page lists what its queue holds.
    let account_page = owner
        .get(&app, &format!("/accounts/{cafe}"))
        .await
        .text()
        .await
        .expect("html");
    let queued = section(&account_page, "queue");
    assert!(
        queued.contains("id=\"queued\"") && queued.contains("Open late on Friday"),
        "{queued}"
    );
    assert!(
        !queued.contains("Pumpkin soup"),
        "only scheduled posts are in the queue"
    );

    // System status moved to its own page, for owners only.
    let status = owner.get(&app, "/status").await;
    assert_eq!(status.status(), StatusCode::OK);
    assert!(
        status
            .text()
            .await
            .expect("html")
            .contains("Background jobs")
    );
    assert_eq!(
        sam.get(&app, "/status").await.status(),
        StatusCode::FORBIDDEN
    );
}

/// The audit page starts from the newest entries, a hundred at a time, and "Older entries"
/// goes back; it once showed the oldest five hundred, so a busy log hid its latest entries.
#[tokio::test]
async fn the_audit_page_shows_the_newest_entries_first_and_pages_back() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let cafe = new_account(&app, &owner, "@sunnycafe", owner.id).await;
    let mut ids = Vec::new();
    for n in 0..120 {
        ids.push(draft_id(&app, &owner, cafe, &format!("Bread number {n}")).await);
    }
    let (first, last) = (ids[0], ids[119]);
    let newest = owner.get(&app, "/audit").await.text().await.expect("html");
    assert!(
        newest.contains(&format!(" wrote post {last}.")),
        "the newest entry is shown"
    );
    assert!(
        !newest.contains(&format!(" wrote post {first}.")),
        "a page holds a hundred"
    );
    let older = newest
        .split("id=\"audit-older\"")
        .next()
        .and_then(|before| before.rsplit("href=\"").next())
        .and_then(|href| href.split('"').next())
        .map(|href| href.replace("&#38;", "&").replace("&amp;", "&"))
        .expect("an Older entries link");
    let page_two = owner.get(&app, &older).await.text().await.expect("html");
    assert!(
        page_two.contains(&format!(" wrote post {first}.")),
        "{older}: {page_two}"
    );
    assert!(!page_two.contains(&format!(" wrote post {last}.")));
}
