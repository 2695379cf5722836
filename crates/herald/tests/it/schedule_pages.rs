//! The scheduling pages over plain HTTP, as a browser without scripts uses them: the post's
//! schedule form (its refusals beside the field, the typed time kept, the confirmation that
//! names the account), the account page's queue and connection forms, and the calendar, each
//! with who may not use them.

use herald::domain::ids::AccountId;
use networks::fake::{FakeState, mastodon};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::people::{Person, app, invite_and_join, set_up};
use crate::posts::{draft_id, grant};

/// Sends a page's form as a browser would, with the person's CSRF token.
async fn form(app: &TestApp, person: &Person, path: &str, fields: &[(&str, &str)]) -> Response {
    let mut all = vec![("csrf", person.csrf.as_str())];
    all.extend_from_slice(fields);
    let response = person
        .client
        .post(app.url(path))
        .form(&all)
        .send()
        .await
        .expect("request");
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body = response.text().await.expect("body");
    Response {
        status,
        location,
        body,
    }
}

struct Response {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

async fn page(app: &TestApp, person: &Person, path: &str) -> String {
    let response = person.get(app, path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.text().await.expect("page")
}

async fn state_of(app: &TestApp, person: &Person, id: i64) -> Value {
    person.get_json(app, &format!("/api/v1/posts/{id}")).await
}

/// An X account (confirm before publish when asked) whose gatekeeper is the owner, and an
/// approved post of the owner's on it (a gatekeeper's own post needs no approval).
async fn approved_post(app: &TestApp, owner: &Person, confirm: bool) -> (AccountId, i64) {
    let added = owner
        .post(
            app,
            "/api/v1/accounts",
            json!({ "network": "x", "handle": "@sunnycafe", "display_name": "Sunny Café", "avatar_colour": "#1f5f5b", "gatekeeper_id": owner.id, "confirm_before_publish": confirm }),
        )
        .await;
    assert_eq!(added.status(), StatusCode::CREATED);
    let account = AccountId::new(
        added.json::<Value>().await.expect("JSON")["id"]
            .as_i64()
            .expect("id"),
    );
    let id = draft_id(app, owner, account, "Soup of the day: leek and potato.").await;
    let submitted = crate::posts::act(app, owner, id, "submit", json!({})).await;
    assert_eq!(submitted.status(), StatusCode::OK);
    assert_eq!(state_of(app, owner, id).await["state"], "approved");
    (account, id)
}

#[tokio::test]
async fn a_viewer_gets_no_schedule_form_and_their_schedule_post_is_refused() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let viewer = invite_and_join(&app, &clock, &owner, "viewer@sunny.example", "member").await;
    let (account, id) = approved_post(&app, &owner, false).await;
    grant(&app, &owner, account, &viewer, "viewer").await;
    let action = format!("action=\"/posts/{id}/schedule\"");

    let owners = page(&app, &owner, &format!("/posts/{id}")).await;
    assert!(owners.contains(&action), "the publisher gets the form");
    assert!(owners.contains("Add to queue (next free slot)"));
    let viewers = page(&app, &viewer, &format!("/posts/{id}")).await;
    assert!(!viewers.contains(&action), "the viewer does not");
    assert!(!viewers.contains("Add to queue"));

    let refused = form(
        &app,
        &viewer,
        &format!("/posts/{id}/schedule"),
        &[("at", "2027-02-01T09:00"), ("intent", "at")],
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused.body.contains("access to the account"),
        "{}",
        refused.body
    );
    let queued = form(
        &app,
        &viewer,
        &format!("/posts/{id}/schedule"),
        &[("intent", "queue")],
    )
    .await;
    assert_eq!(queued.status, StatusCode::FORBIDDEN);
    assert_eq!(state_of(&app, &owner, id).await["state"], "approved");
}

#[tokio::test]
async fn the_schedule_form_keeps_the_typed_time_and_asks_to_confirm_the_account() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let (_, id) = approved_post(&app, &owner, true).await;
    let path = format!("/posts/{id}/schedule");

    let past = form(
        &app,
        &owner,
        &path,
        &[("at", "2020-01-01T09:00"), ("intent", "at")],
    )
    .await;
    assert_eq!(past.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(past.body.contains("id=\"at-error\""), "{}", past.body);
    assert!(past.body.contains("is in the past"));
    assert!(
        past.body.contains("value=\"2020-01-01T09:00\""),
        "the typed time is kept"
    );

    let page = page(&app, &owner, &format!("/posts/{id}")).await;
    assert!(page.contains("Publish to @sunnycafe on X"), "{page}");
    assert!(
        page.contains("in UTC, the account"),
        "the form names the zone"
    );
    let unconfirmed = form(
        &app,
        &owner,
        &path,
        &[("at", "2027-02-01T09:00"), ("intent", "at")],
    )
    .await;
    assert_eq!(unconfirmed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unconfirmed.body.contains("id=\"confirm-error\""),
        "{}",
        unconfirmed.body
    );
    assert!(unconfirmed.body.contains("value=\"2027-02-01T09:00\""));
    assert_eq!(state_of(&app, &owner, id).await["state"], "approved");

    let scheduled = form(
        &app,
        &owner,
        &path,
        &[
            ("at", "2027-02-01T09:00"),
            ("intent", "at"),
            ("confirm", "yes"),
        ],
    )
    .await;
    assert_eq!(scheduled.status, StatusCode::SEE_OTHER);
    assert_eq!(scheduled.location, Some(format!("/posts/{id}")));
    let post = state_of(&app, &owner, id).await;
    assert_eq!(post["state"], "scheduled");
    assert_eq!(post["scheduled_at"], "2027-02-01T09:00:00Z");
    let shown = page_of(&app, &owner, id).await;
    assert!(
        shown.contains("datetime=\"2027-02-01T09:00:00Z\"")
            && shown.contains("2027-02-01 09:00 (UTC)"),
        "{shown}"
    );

    let taken_off = form(&app, &owner, &format!("/posts/{id}/unschedule"), &[]).await;
    assert_eq!(taken_off.status, StatusCode::SEE_OTHER);
    assert_eq!(state_of(&app, &owner, id).await["state"], "approved");
}

async fn page_of(app: &TestApp, person: &Person, id: i64) -> String {
    page(app, person, &format!("/posts/{id}")).await
}

#[tokio::test]
async fn a_publisher_sets_the_queue_on_the_account_page_and_a_viewer_cannot() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let publisher = invite_and_join(&app, &clock, &owner, "pub@sunny.example", "member").await;
    let viewer = invite_and_join(&app, &clock, &owner, "viewer@sunny.example", "member").await;
    let (account, _) = approved_post(&app, &owner, false).await;
    grant(&app, &owner, account, &publisher, "publisher").await;
    grant(&app, &owner, account, &viewer, "viewer").await;
    let path = format!("/accounts/{account}/queue");

    let added = form(
        &app,
        &publisher,
        &path,
        &[
            ("time_zone", "Europe/London"),
            ("add_weekday", "2"),
            ("add_time", "09:30"),
        ],
    )
    .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    assert_eq!(added.location, Some(format!("/accounts/{account}#queue")));
    let queue: Value = publisher
        .get_json(&app, &format!("/api/v1/accounts/{account}/queue"))
        .await;
    assert_eq!(
        queue,
        json!({ "time_zone": "Europe/London", "slots": [{ "weekday": 2, "time": "09:30" }] })
    );
    let shown = page(&app, &publisher, &format!("/accounts/{account}")).await;
    assert!(shown.contains("data-slot=\"2@09:30\""), "{shown}");
    // The zone is picked from every place's zone, or typed as a city alone.
    assert!(shown.contains("<datalist id=\"queue-zones\">"), "{shown}");
    assert!(shown.contains("<option value=\"Asia/Kolkata\">"), "{shown}");
    assert!(
        !shown.contains("<option value=\"US/Pacific\">"),
        "no legacy aliases"
    );
    let by_city = form(
        &app,
        &publisher,
        &path,
        &[
            ("time_zone", "Kolkata"),
            ("slot", "2@09:30"),
            ("add_time", ""),
        ],
    )
    .await;
    assert_eq!(by_city.status, StatusCode::SEE_OTHER, "{}", by_city.body);
    let queue: Value = publisher
        .get_json(&app, &format!("/api/v1/accounts/{account}/queue"))
        .await;
    assert_eq!(queue["time_zone"], "Asia/Kolkata");
    form(
        &app,
        &publisher,
        &path,
        &[
            ("time_zone", "Europe/London"),
            ("slot", "2@09:30"),
            ("add_time", ""),
        ],
    )
    .await;

    let bad_zone = form(
        &app,
        &publisher,
        &path,
        &[
            ("time_zone", "Mars/Olympus"),
            ("slot", "2@09:30"),
            ("add_time", ""),
        ],
    )
    .await;
    assert_eq!(bad_zone.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad_zone.body.contains("id=\"time_zone-error\""),
        "{}",
        bad_zone.body
    );
    assert!(
        bad_zone.body.contains("value=\"Mars/Olympus\""),
        "typed zone kept"
    );

    let removed = form(
        &app,
        &publisher,
        &path,
        &[
            ("time_zone", "Europe/London"),
            ("slot", "2@09:30"),
            ("remove", "2@09:30"),
        ],
    )
    .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    let queue: Value = publisher
        .get_json(&app, &format!("/api/v1/accounts/{account}/queue"))
        .await;
    assert_eq!(queue["slots"], json!([]));

    let viewers = page(&app, &viewer, &format!("/accounts/{account}")).await;
    assert!(!viewers.contains("id=\"queue-form\""));
    let refused = form(
        &app,
        &viewer,
        &path,
        &[
            ("time_zone", "UTC"),
            ("add_weekday", "1"),
            ("add_time", "10:00"),
        ],
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let queue: Value = owner
        .get_json(&app, &format!("/api/v1/accounts/{account}/queue"))
        .await;
    assert_eq!(queue["time_zone"], "Europe/London", "nothing changed");
}

#[tokio::test]
async fn only_the_gatekeeper_connects_the_account_and_the_token_is_never_shown() {
    let token = "fake-mastodon-token-page-7781";
    let fake = mastodon::start(FakeState::new(token, 5))
        .await
        .expect("fake Mastodon starts");
    let clock =
        herald::clock::ManualClock::new(jiff::Timestamp::from_second(1_800_000_000).expect("time"));
    let url = fake.url();
    let app = crate::helpers::spawn_app_with_clock(
        |config| config.networks.mastodon_instance_url = url.clone(),
        std::sync::Arc::new(clock.clone()),
    )
    .await;
    let owner = set_up(&app, &clock).await;
    let keeper = invite_and_join(&app, &clock, &owner, "keeper@sunny.example", "member").await;
    let publisher = invite_and_join(&app, &clock, &owner, "pub@sunny.example", "member").await;
    let added = owner
        .post(
            &app,
            "/api/v1/accounts",
            json!({ "network": "mastodon", "handle": "@herald@127.0.0.1", "display_name": "Sunny Café", "avatar_colour": "#1f5f5b", "gatekeeper_id": keeper.id }),
        )
        .await;
    let account = AccountId::new(
        added.json::<Value>().await.expect("JSON")["id"]
            .as_i64()
            .expect("id"),
    );
    grant(&app, &keeper, account, &publisher, "publisher").await;
    let account_page = format!("/accounts/{account}");
    let path = format!("/accounts/{account}/connect");

    let publishers = page(&app, &publisher, &account_page).await;
    assert!(publishers.contains("Not connected"));
    assert!(!publishers.contains("id=\"connect-form\""));
    let refused = form(
        &app,
        &publisher,
        &path,
        &[("token", token), ("server", &fake.url())],
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused
            .body
            .contains("gatekeeper connects Herald to the account"),
        "{}",
        refused.body
    );
    // The owner may manage the account but is not its gatekeeper, so may not connect it.
    let by_owner = form(
        &app,
        &owner,
        &path,
        &[("token", token), ("server", &fake.url())],
    )
    .await;
    assert_eq!(by_owner.status, StatusCode::FORBIDDEN);

    let keepers = page(&app, &keeper, &account_page).await;
    assert!(keepers.contains("id=\"connect-form\""));
    let wrong = form(
        &app,
        &keeper,
        &path,
        &[("token", "not-the-token"), ("server", &fake.url())],
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong.body.contains("id=\"credentials-error\""),
        "{}",
        wrong.body
    );
    assert!(
        wrong.body.contains(&format!("value=\"{}\"", fake.url())),
        "the server typed is kept"
    );
    assert!(!wrong.body.contains("not-the-token"), "the token is not");

    let connected = form(
        &app,
        &keeper,
        &path,
        &[("token", token), ("server", &fake.url())],
    )
    .await;
    assert_eq!(
        connected.status,
        StatusCode::SEE_OTHER,
        "{}",
        connected.body
    );
    let shown = page(&app, &keeper, &account_page).await;
    assert!(shown.contains("Connected"), "{shown}");
    assert!(shown.contains(mastodon::USERNAME), "{shown}");
    assert!(!shown.contains(token), "the token never comes back");
    let seen_by_publisher = page(&app, &publisher, &account_page).await;
    assert!(seen_by_publisher.contains("Herald posts as"));
    assert!(!seen_by_publisher.contains(token));
}

#[tokio::test]
async fn the_calendar_shows_posts_of_visible_accounts_only_in_the_zone_asked_for() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let member = invite_and_join(&app, &clock, &owner, "mia@sunny.example", "member").await;
    let (_, id) = approved_post(&app, &owner, false).await;
    // 2027-01-15 is a Friday; 23:30 UTC is already Saturday in Tokyo.
    let scheduled = owner
        .post(
            &app,
            &format!("/api/v1/posts/{id}/schedule"),
            json!({ "at": "2027-01-15T23:30:00Z" }),
        )
        .await;
    assert_eq!(scheduled.status(), StatusCode::OK);

    let week = page(&app, &owner, "/calendar").await;
    assert!(week.contains(&format!("data-post-id=\"{id}\"")), "{week}");
    assert!(week.contains("Days and times in <strong>UTC</strong>"));
    let is_on_day = |html: &str, date: &str| {
        html.split("class=\"cal-day")
            .find(|day| day.contains(&format!("data-date=\"{date}\"")))
            .is_some_and(|day| day.contains(&format!("data-post-id=\"{id}\"")))
    };
    assert!(is_on_day(&week, "2027-01-15"));
    let tokyo = page(&app, &owner, "/calendar?tz=Asia/Tokyo&start=2027-01-15").await;
    assert!(tokyo.contains("Days and times in <strong>Asia/Tokyo</strong>"));
    assert!(is_on_day(&tokyo, "2027-01-16"), "Saturday in Tokyo");
    assert!(tokyo.contains("08:30"));
    let month = page(&app, &owner, "/calendar?view=month&start=2027-01-01").await;
    assert!(month.contains("January 2027") && month.contains(&format!("data-post-id=\"{id}\"")));

    let unseen = page(&app, &member, "/calendar?start=2027-01-15").await;
    assert!(
        !unseen.contains(&format!("data-post-id=\"{id}\"")),
        "no access to the account, no post in the calendar"
    );
    let bad = member.get(&app, "/calendar?tz=Mars/Olympus").await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.text()
            .await
            .expect("page")
            .contains("unknown time zone")
    );
}
