//! Scheduling and publishing through the API, to local fake networks: a post goes out once at
//! its time; bad times, missing confirmation and missing access are refused with the draft
//! kept; late approval expires; rate limits, revoked tokens and lost answers end the way the
//! issue asks — published exactly once, or failed or unconfirmed with a reason.

use herald::domain::ids::{AccountId, PostId, UserId};
use std::sync::Arc;
use std::time::Duration;

use herald::clock::ManualClock;
use jiff::{SignedDuration, Timestamp};
use networks::fake::{FakeServer, FakeState, Faults};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with_clock};
use crate::people::{Person, invite_and_join, set_up};
use crate::posts::{draft_id, grant};

/// The token every scene's fake accepts and its gatekeeper connects with.
pub(crate) const TOKEN: &str = "fake-mastodon-token-5ec2e7";

/// A Herald whose clock is in the test's hands, an owner, a gatekeeper, and one account on a
/// fake network, connected.
pub struct Scene {
    pub app: TestApp,
    pub clock: ManualClock,
    pub fake: FakeServer,
    pub owner: Person,
    pub keeper: Person,
    pub account: AccountId,
}

impl Scene {
    /// Stops Herald, runs `between` while it is stopped (a command on its data, say), and
    /// starts it again with `adjust`'s configuration and the same clock, fake and people.
    pub async fn restarted(
        self,
        between: impl FnOnce(),
        adjust: impl FnOnce(&mut herald::config::Config),
    ) -> Scene {
        self.app.stop().await;
        between();
        let app = spawn_app_with_clock(adjust, Arc::new(self.clock.clone())).await;
        Scene { app, ..self }
    }

    /// The audit log as the owner exports it.
    pub async fn audit(&self) -> String {
        self.owner
            .get(&self.app, "/api/v1/audit/export")
            .await
            .text()
            .await
            .expect("audit")
    }

    /// A Mastodon account on a fake instance (honours idempotency keys).
    pub async fn mastodon() -> Scene {
        Scene::mastodon_configured(|_| {}).await
    }

    /// [`Scene::mastodon`] with `adjust` applied to Herald's configuration.
    pub async fn mastodon_configured(adjust: impl FnOnce(&mut herald::config::Config)) -> Scene {
        let fake = networks::fake::mastodon::start(FakeState::new(TOKEN, 7))
            .await
            .expect("fake Mastodon starts");
        Scene::on_configured(fake, "mastodon", "@herald@127.0.0.1", false, adjust).await
    }

    /// An X account on a fake X (no idempotency: lost answers must be reconciled).
    pub async fn x() -> Scene {
        let fake = networks::fake::x::start(FakeState::new(TOKEN, 11))
            .await
            .expect("fake X starts");
        Scene::on(fake, "x", "@herald_test", false).await
    }

    pub async fn on(fake: FakeServer, network: &str, handle: &str, confirm: bool) -> Scene {
        Scene::on_in(fake, network, handle, confirm, None).await
    }

    /// [`Scene::on`] with Herald's data in `data_dir` (which outlives the server, so that a
    /// test can start it again there).
    pub async fn on_in(
        fake: FakeServer,
        network: &str,
        handle: &str,
        confirm: bool,
        data_dir: Option<std::path::PathBuf>,
    ) -> Scene {
        Scene::on_configured(fake, network, handle, confirm, |config| {
            if let Some(data_dir) = data_dir {
                config.data_dir = data_dir;
            }
        })
        .await
    }

    /// [`Scene::on`] with `adjust` applied to Herald's configuration last (mail, say).
    pub async fn on_configured(
        fake: FakeServer,
        network: &str,
        handle: &str,
        confirm: bool,
        adjust: impl FnOnce(&mut herald::config::Config),
    ) -> Scene {
        let clock = ManualClock::new(Timestamp::from_second(1_800_000_000).expect("time"));
        let url = fake.url();
        let app = spawn_app_with_clock(
            |config| {
                config.networks.mastodon_instance_url = url.clone();
                config.networks.x_api_url = url.clone();
                config.networks.request_timeout_seconds = 1;
                config.jobs.lease_seconds = 10;
                config.jobs.max_attempts = 4;
                adjust(config);
            },
            Arc::new(clock.clone()),
        )
        .await;
        let owner = set_up(&app, &clock).await;
        let keeper = invite_and_join(&app, &clock, &owner, "keeper@sunny.example", "member").await;
        let connection = json!({ "method": "access_token", "token": TOKEN, "server": fake.url() });
        let account =
            add_connected(&app, &owner, &keeper, network, handle, confirm, connection).await;
        Scene {
            app,
            clock,
            fake,
            owner,
            keeper,
            account,
        }
    }

    /// Another account on `network` (at `fake`, whose address Herald's configuration names),
    /// with the same gatekeeper, connected with the fake's token acting as `subject` where
    /// given (a LinkedIn organization): its id.
    pub async fn another_account(
        &self,
        fake: &FakeServer,
        network: &str,
        handle: &str,
        subject: Option<&str>,
    ) -> AccountId {
        let mut connection = json!({ "method": "access_token", "token": fake.state.token });
        if let Some(subject) = subject {
            connection["subject"] = json!(subject);
        }
        add_connected(
            &self.app,
            &self.owner,
            &self.keeper,
            network,
            handle,
            false,
            connection,
        )
        .await
    }

    /// An approved post by the gatekeeper (publishers' own posts are approved on submission).
    pub async fn approved(&self, text: &str) -> i64 {
        let id = draft_id(&self.app, &self.keeper, self.account, text).await;
        let submitted: Value = crate::posts::act(&self.app, &self.keeper, id, "submit", json!({}))
            .await
            .json()
            .await
            .expect("JSON");
        assert_eq!(submitted["state"], "approved", "{submitted}");
        id
    }

    pub async fn schedule(&self, by: &Person, id: i64, body: Value) -> reqwest::Response {
        by.post(&self.app, &format!("/api/v1/posts/{id}/schedule"), body)
            .await
    }

    pub async fn post(&self, id: i64) -> Value {
        self.keeper
            .get_json(&self.app, &format!("/api/v1/posts/{id}"))
            .await
    }

    /// An approved post scheduled a minute ahead, the network's `faults` set, and the clock
    /// moved past the post's time, so the publisher takes it up now.
    pub async fn due_with_faults(&self, text: &str, faults: Faults) -> i64 {
        let id = self.approved(text).await;
        let scheduled = self
            .schedule(&self.keeper, id, json!({ "at": self.in_minutes(1) }))
            .await;
        assert_eq!(scheduled.status(), StatusCode::OK);
        self.fake.state.set_faults(faults);
        self.clock.advance(SignedDuration::from_mins(2));
        id
    }

    /// `at`, `minutes` after the test clock's now, as RFC 3339.
    /// An approved post the keeper schedules `minutes` ahead, published once the clock has
    /// moved there: its id.
    pub async fn published_after(&self, text: &str, minutes: i64) -> i64 {
        let id = self.approved(text).await;
        let scheduled = self
            .schedule(&self.keeper, id, json!({ "at": self.in_minutes(minutes) }))
            .await;
        assert_eq!(scheduled.status(), StatusCode::OK);
        self.clock.advance(SignedDuration::from_mins(minutes));
        self.wait_for(id, "published").await;
        id
    }

    pub fn in_minutes(&self, minutes: i64) -> String {
        self.clock
            .now_plus(SignedDuration::from_mins(minutes))
            .to_string()
    }

    /// Waits (in real time, the runner polls every 20 ms) until post `id` is in `state`.
    pub async fn wait_for(&self, id: i64, state: &str) -> Value {
        // Generous: on a loaded CI machine a publish through PostgreSQL can take seconds.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::time::Instant::now() < deadline {
            let post = self.post(id).await;
            if post["state"] == state {
                return post;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("post {id} never became {state}: {}", self.post(id).await);
    }
}

/// An account the owner adds with `keeper` as its gatekeeper, connected by the keeper with
/// `connection` (the body of `PUT /api/v1/accounts/{id}/connection`): its id.
async fn add_connected(
    app: &TestApp,
    owner: &Person,
    keeper: &Person,
    network: &str,
    handle: &str,
    confirm: bool,
    connection: Value,
) -> AccountId {
    let created: Value = owner
        .post(
            app,
            "/api/v1/accounts",
            json!({ "network": network, "handle": handle, "display_name": "Sunny Café",
                    "avatar_colour": "#1f5f5b", "gatekeeper_id": keeper.id,
                    "confirm_before_publish": confirm }),
        )
        .await
        .json()
        .await
        .expect("JSON");
    let account = AccountId::new(created["id"].as_i64().expect("account id"));
    let connected = keeper
        .send(
            app,
            reqwest::Method::PUT,
            &format!("/api/v1/accounts/{account}/connection"),
            Some(connection),
        )
        .await;
    assert_eq!(
        connected.status(),
        StatusCode::OK,
        "{:?}",
        connected.text().await
    );
    account
}

trait NowPlus {
    fn now_plus(&self, by: SignedDuration) -> Timestamp;
}

impl NowPlus for ManualClock {
    fn now_plus(&self, by: SignedDuration) -> Timestamp {
        use herald::clock::Clock;
        self.now().saturating_add(by).expect("time")
    }
}

/// Writes an approved post scheduled for `at` straight into the store, with its publish job,
/// as scheduling through the API does (for the load-sized tests, where the API would only be
/// slow). Returns its id.
pub async fn scheduled_in_store(
    store: &herald::store::Store,
    account: AccountId,
    author: UserId,
    text: &str,
    at: Timestamp,
    max_attempts: u32,
    now: Timestamp,
) -> PostId {
    use herald::domain::posts::PostState;
    let id = store
        .create_post(account, author, text, now)
        .await
        .expect("post");
    for (from, to) in [
        (PostState::Draft, PostState::Submitted),
        (PostState::Submitted, PostState::Approved),
    ] {
        assert!(
            store
                .step_post(id, from, to, author, "test", now)
                .await
                .expect("step")
        );
    }
    let job = herald::jobs::publish_job(id, at, max_attempts);
    let scheduled = store
        .schedule_post(
            id,
            PostState::Approved,
            at,
            Some(author),
            "scheduled",
            &job,
            now,
        )
        .await
        .expect("schedule");
    assert!(scheduled);
    id
}

fn history(post: &Value) -> Vec<String> {
    post["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|entry| entry["to_state"].as_str().expect("state").to_owned())
        .collect()
}

#[tokio::test]
async fn an_approved_post_goes_out_once_at_its_time_with_every_step_in_its_history() {
    let scene = Scene::mastodon().await;
    let id = scene.approved("Pumpkin soup is back on Monday!").await;
    let scheduled = scene
        .schedule(&scene.keeper, id, json!({ "at": scene.in_minutes(30) }))
        .await;
    assert_eq!(scheduled.status(), StatusCode::OK);
    let scheduled: Value = scheduled.json().await.expect("JSON");
    assert_eq!(scheduled["state"], "scheduled");

    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        scene.fake.state.posts().is_empty(),
        "nothing before its time"
    );
    scene.clock.advance(SignedDuration::from_mins(31));
    let published = scene.wait_for(id, "published").await;

    let posts = scene.fake.state.posts();
    assert_eq!(posts.len(), 1, "exactly one post: {posts:?}");
    assert_eq!(posts[0].text, "Pumpkin soup is back on Monday!");
    assert_eq!(
        posts[0].key.as_deref(),
        Some(format!("herald-{}-{id}", scene.account).as_str()),
        "the idempotency key is stable per (post, account)"
    );
    assert_eq!(
        history(&published),
        [
            "draft",
            "submitted",
            "approved",
            "scheduled",
            "publishing",
            "published"
        ]
    );
    assert!(published["remote_url"].is_string(), "{published}");
    assert_eq!(published["attempts"].as_array().expect("attempts").len(), 1);
    assert_eq!(published["attempts"][0]["outcome"], "published");
    let audit: Value = scene
        .owner
        .get_json(&scene.app, "/api/v1/audit?action=post.published")
        .await;
    assert!(audit.to_string().contains(&format!("post:{id}")), "{audit}");
}

#[tokio::test]
async fn bad_times_are_refused_where_the_user_is_and_the_post_is_kept() {
    let scene = Scene::mastodon().await;
    let id = scene.approved("Open late on Friday.").await;
    let past = scene
        .schedule(&scene.keeper, id, json!({ "at": "2020-01-01T09:00" }))
        .await;
    assert_eq!(past.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = past.json().await.expect("JSON");
    assert_eq!(problem["field"], "at");
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .contains("is in the past"),
        "{problem}"
    );
    let nonsense = scene
        .schedule(&scene.keeper, id, json!({ "at": "next tuesday" }))
        .await;
    assert_eq!(nonsense.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let empty_queue = scene
        .schedule(&scene.keeper, id, json!({ "queue": true }))
        .await;
    let problem: Value = empty_queue.json().await.expect("JSON");
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .contains("no queue slots"),
        "{problem}"
    );
    let kept = scene.post(id).await;
    assert_eq!(kept["state"], "approved");
    assert_eq!(kept["text"], "Open late on Friday.");
}

#[tokio::test]
async fn the_queue_gives_each_post_the_next_free_slot_in_the_accounts_time_zone() {
    let scene = Scene::mastodon().await;
    // The test clock is Friday 2027-01-15 08:00 UTC.
    let queue = scene
        .keeper
        .send(
            &scene.app,
            reqwest::Method::PUT,
            &format!("/api/v1/accounts/{}/queue", scene.account),
            Some(json!({ "time_zone": "America/New_York",
                          "slots": [{ "weekday": 1, "time": "09:00" }, { "weekday": 5, "time": "12:30" }] })),
        )
        .await;
    assert_eq!(queue.status(), StatusCode::OK);
    let first = scene.approved("Bagels, fresh.").await;
    let second = scene.approved("Bagels, still fresh.").await;
    for id in [first, second] {
        let response = scene
            .schedule(&scene.keeper, id, json!({ "queue": true }))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    // Friday 12:30 in New York (EST, UTC-5), then Monday 09:00.
    assert_eq!(
        scene.post(first).await["scheduled_at"],
        "2027-01-15T17:30:00Z"
    );
    assert_eq!(
        scene.post(second).await["scheduled_at"],
        "2027-01-18T14:00:00Z"
    );
    let bad_zone = scene
        .keeper
        .send(
            &scene.app,
            reqwest::Method::PUT,
            &format!("/api/v1/accounts/{}/queue", scene.account),
            Some(json!({ "time_zone": "Atlantis/Capital", "slots": [] })),
        )
        .await;
    assert_eq!(bad_zone.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let kept: Value = scene
        .keeper
        .get(
            &scene.app,
            &format!("/api/v1/accounts/{}/queue", scene.account),
        )
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(kept["time_zone"], "America/New_York", "the old queue stays");
    assert_eq!(kept["slots"].as_array().expect("slots").len(), 2);
}

#[tokio::test]
async fn an_approval_after_the_posts_time_expires_and_a_new_time_revives_it() {
    let scene = Scene::mastodon().await;
    let writer = invite_and_join(
        &scene.app,
        &scene.clock,
        &scene.owner,
        "writer@sunny.example",
        "member",
    )
    .await;
    grant(
        &scene.app,
        &scene.keeper,
        scene.account,
        &writer,
        "contributor",
    )
    .await;
    let id = draft_id(&scene.app, &writer, scene.account, "Quiz night at 8!").await;
    let wished = scene
        .schedule(&writer, id, json!({ "at": scene.in_minutes(20) }))
        .await;
    assert_eq!(wished.status(), StatusCode::OK, "authors may wish a time");
    let submitted = crate::posts::act(&scene.app, &writer, id, "submit", json!({})).await;
    assert_eq!(submitted.status(), StatusCode::OK);
    let early = scene
        .schedule(&writer, id, json!({ "at": scene.in_minutes(40) }))
        .await;
    assert_eq!(
        early.status(),
        StatusCode::OK,
        "the wish may change while it waits"
    );

    // Past the wished time, but within the sessions' idle hour.
    scene.clock.advance(SignedDuration::from_mins(45));
    let approved: Value = crate::posts::act(&scene.app, &scene.keeper, id, "approve", json!({}))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(approved["state"], "expired_approval", "{approved}");
    let refused = scene
        .schedule(&writer, id, json!({ "at": scene.in_minutes(10) }))
        .await;
    assert_eq!(
        refused.status(),
        StatusCode::FORBIDDEN,
        "contributors do not schedule"
    );
    let revived = scene
        .schedule(&scene.keeper, id, json!({ "at": scene.in_minutes(10) }))
        .await;
    assert_eq!(revived.status(), StatusCode::OK);
    scene.clock.advance(SignedDuration::from_mins(11));
    scene.wait_for(id, "published").await;
    assert_eq!(scene.fake.state.posts().len(), 1);
}

#[tokio::test]
async fn an_account_that_asks_for_confirmation_gets_it_every_time() {
    let fake = networks::fake::mastodon::start(FakeState::new(TOKEN, 3))
        .await
        .expect("fake Mastodon starts");
    let scene = Scene::on(fake, "mastodon", "@herald@127.0.0.1", true).await;
    let id = scene.approved("Our new menu is here.").await;
    let unconfirmed = scene
        .schedule(&scene.keeper, id, json!({ "at": scene.in_minutes(5) }))
        .await;
    assert_eq!(unconfirmed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = unconfirmed.json().await.expect("JSON");
    assert_eq!(problem["field"], "confirm");
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .contains("@herald@127.0.0.1 on Mastodon"),
        "{problem}"
    );
    let confirmed = scene
        .schedule(
            &scene.keeper,
            id,
            json!({ "at": scene.in_minutes(5), "confirm": true }),
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
}

#[tokio::test]
async fn only_publishers_schedule_and_outsiders_do_not_see_the_post() {
    let scene = Scene::mastodon().await;
    let viewer = invite_and_join(
        &scene.app,
        &scene.clock,
        &scene.owner,
        "viewer@sunny.example",
        "member",
    )
    .await;
    let outsider = invite_and_join(
        &scene.app,
        &scene.clock,
        &scene.owner,
        "out@sunny.example",
        "member",
    )
    .await;
    grant(&scene.app, &scene.keeper, scene.account, &viewer, "viewer").await;
    let id = scene.approved("Staff picks this week.").await;
    let by_viewer = scene
        .schedule(&viewer, id, json!({ "at": scene.in_minutes(5) }))
        .await;
    assert_eq!(by_viewer.status(), StatusCode::FORBIDDEN);
    let by_outsider = scene
        .schedule(&outsider, id, json!({ "at": scene.in_minutes(5) }))
        .await;
    assert_eq!(by_outsider.status(), StatusCode::NOT_FOUND);
    let connect = viewer
        .send(
            &scene.app,
            reqwest::Method::PUT,
            &format!("/api/v1/accounts/{}/connection", scene.account),
            Some(json!({ "method": "access_token", "token": "stolen" })),
        )
        .await;
    assert_eq!(
        connect.status(),
        StatusCode::FORBIDDEN,
        "only the gatekeeper connects"
    );
    let calendar: Value = outsider
        .get(
            &scene.app,
            "/api/v1/calendar?from=2027-01-01T00:00:00Z&to=2027-02-01T00:00:00Z",
        )
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(calendar, json!([]), "the outsider's calendar is empty");
    scene
        .schedule(&scene.keeper, id, json!({ "at": scene.in_minutes(5) }))
        .await;
    let calendar: Value = viewer
        .get(
            &scene.app,
            "/api/v1/calendar?from=2027-01-01T00:00:00Z&to=2027-02-01T00:00:00Z",
        )
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(calendar[0]["post_id"], id, "{calendar}");
    assert_eq!(calendar[0]["state"], "scheduled");
}

#[tokio::test]
async fn a_revoked_token_fails_the_post_and_asks_the_gatekeeper_to_reconnect() {
    let scene = Scene::mastodon().await;
    let id = scene
        .due_with_faults(
            "Happy hour moves to 5pm.",
            Faults {
                unauthorized: 1.0,
                ..Faults::default()
            },
        )
        .await;
    let failed = scene.wait_for(id, "failed").await;
    assert!(
        failed["problem"]
            .as_str()
            .expect("problem")
            .contains("reconnect"),
        "{failed}"
    );
    assert!(
        !failed.to_string().contains(TOKEN),
        "no token in the answer"
    );
    let account: Value = scene
        .keeper
        .get_json(&scene.app, &format!("/api/v1/accounts/{}", scene.account))
        .await;
    // People are told just after the post's outcome is saved (a notification that cannot be
    // written never undoes the outcome), so the notice may follow the state by a moment.
    let mut notifications = Value::Null;
    for _ in 0..100 {
        notifications = scene
            .keeper
            .get_json(&scene.app, "/api/v1/notifications")
            .await;
        if notifications.to_string().contains("Reconnect Sunny Café") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        notifications.to_string().contains("Reconnect Sunny Café"),
        "{notifications} {account}"
    );
    let stored = scene.app.store.account(scene.account).await.expect("store");
    assert_eq!(stored.expect("account").connection, "reconnect_needed");
}

#[tokio::test]
async fn a_rate_limited_post_waits_for_the_networks_reset_and_then_goes_out_once() {
    let scene = Scene::mastodon().await;
    let id = scene
        .due_with_faults(
            "Sourdough workshop, Saturday.",
            Faults {
                rate_limited: 1.0,
                ..Faults::default()
            },
        )
        .await;
    for _ in 0..300 {
        if scene.post(id).await["attempts"][0]["outcome"] == "retry" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let waiting = scene.post(id).await;
    assert_eq!(waiting["state"], "scheduled", "{waiting}");
    assert!(
        waiting["attempts"][0]["detail"]
            .as_str()
            .expect("detail")
            .contains("rate-limiting"),
        "{waiting}"
    );
    scene.fake.state.set_faults(Faults::default());
    scene.clock.advance(SignedDuration::from_mins(5));
    let published = scene.wait_for(id, "published").await;
    assert_eq!(scene.fake.state.posts().len(), 1);
    assert_eq!(published["attempts"].as_array().expect("attempts").len(), 2);
}

#[tokio::test]
async fn a_lost_answer_from_x_is_reconciled_by_asking_x_and_never_posted_twice() {
    let scene = Scene::x().await;
    let id = scene
        .due_with_faults(
            "Pizza Friday is back.",
            Faults {
                lost_after: 1.0,
                hang: Duration::from_secs(3),
                ..Faults::default()
            },
        )
        .await;
    let unconfirmed = scene.wait_for(id, "unconfirmed").await;
    assert!(unconfirmed["problem"].is_string(), "{unconfirmed}");
    assert_eq!(scene.fake.state.posts().len(), 1, "X did get it");
    scene.fake.state.set_faults(Faults::default());
    scene.clock.advance(SignedDuration::from_mins(5));
    let published = scene.wait_for(id, "published").await;
    assert_eq!(scene.fake.state.posts().len(), 1, "and got it only once");
    let last = published["attempts"]
        .as_array()
        .expect("attempts")
        .last()
        .cloned();
    assert_eq!(last.expect("attempt")["outcome"], "published");
    assert!(
        history(&published).contains(&"unconfirmed".to_owned()),
        "{published}"
    );
}

#[tokio::test]
async fn an_unconfirmed_post_is_settled_by_a_publisher_who_looked_and_never_sent_again() {
    let scene = Scene::x().await;
    let viewer = invite_and_join(
        &scene.app,
        &scene.clock,
        &scene.owner,
        "viewer@sunny.example",
        "member",
    )
    .await;
    grant(&scene.app, &scene.keeper, scene.account, &viewer, "viewer").await;
    let id = scene
        .due_with_faults(
            "Board games night, Thursday.",
            Faults {
                lost_after: 1.0,
                hang: Duration::from_secs(3),
                ..Faults::default()
            },
        )
        .await;
    scene.wait_for(id, "unconfirmed").await;

    // The post page asks a publisher to look, and offers nothing to a viewer.
    let page = scene
        .keeper
        .get(&scene.app, &format!("/posts/{id}"))
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("Is it on X?"), "the page asks the publisher");
    let seen_by_viewer = viewer
        .get(&scene.app, &format!("/posts/{id}"))
        .await
        .text()
        .await
        .expect("page");
    assert!(!seen_by_viewer.contains("mark it published"));
    let refused = viewer
        .post(
            &scene.app,
            &format!("/api/v1/posts/{id}/settle"),
            json!({ "on_network": true }),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let settled = scene
        .keeper
        .client
        .post(scene.app.url(&format!("/posts/{id}/settle")))
        .form(&[("csrf", scene.keeper.csrf.as_str()), ("on_network", "yes")])
        .send()
        .await
        .expect("request");
    assert!(settled.status().is_redirection() || settled.status().is_success());
    let post = scene.post(id).await;
    assert_eq!(post["state"], "published", "{post}");
    assert!(
        history(&post)
            .last()
            .is_some_and(|state| state == "published")
    );
    // The retry the lost answer had booked finds the post settled and sends nothing.
    scene.fake.state.set_faults(Faults::default());
    scene.clock.advance(SignedDuration::from_mins(10));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(scene.fake.state.posts().len(), 1, "X has it once");
    assert_eq!(scene.post(id).await["state"], "published");
    let again = scene
        .keeper
        .post(
            &scene.app,
            &format!("/api/v1/posts/{id}/settle"),
            json!({ "on_network": false }),
        )
        .await;
    assert_eq!(
        again.status(),
        StatusCode::CONFLICT,
        "only unconfirmed posts are settled"
    );
}

#[tokio::test]
async fn only_the_author_or_a_publisher_changes_a_wished_time_and_each_change_is_recorded() {
    let scene = Scene::mastodon().await;
    let join = |email: &'static str| {
        invite_and_join(&scene.app, &scene.clock, &scene.owner, email, "member")
    };
    let writer = join("writer@sunny.example").await;
    let other = join("other@sunny.example").await;
    for person in [&writer, &other] {
        grant(
            &scene.app,
            &scene.keeper,
            scene.account,
            person,
            "contributor",
        )
        .await;
    }
    let id = draft_id(&scene.app, &writer, scene.account, "Quiz night at 8!").await;
    let wished = scene
        .schedule(&writer, id, json!({ "at": scene.in_minutes(60) }))
        .await;
    assert_eq!(wished.status(), StatusCode::OK, "the author wishes a time");
    let first = scene.post(id).await["scheduled_at"].clone();

    let by_other = scene
        .schedule(&other, id, json!({ "at": scene.in_minutes(120) }))
        .await;
    assert_eq!(
        by_other.status(),
        StatusCode::FORBIDDEN,
        "another contributor may not move someone else's post"
    );
    assert_eq!(scene.post(id).await["scheduled_at"], first, "unchanged");

    let by_keeper = scene
        .schedule(&scene.keeper, id, json!({ "at": scene.in_minutes(90) }))
        .await;
    assert_eq!(by_keeper.status(), StatusCode::OK, "a publisher may");

    let post = scene.post(id).await;
    let wishes: Vec<(UserId, String)> = post["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter(|event| {
            event["note"]
                .as_str()
                .is_some_and(|note| note.starts_with("time wished"))
        })
        .map(|event| {
            (
                UserId::new(event["actor_id"].as_i64().expect("actor")),
                event["to_state"].as_str().expect("state").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        wishes,
        [
            (writer.id, "draft".to_owned()),
            (scene.keeper.id, "draft".to_owned())
        ],
        "{post}"
    );
    let audit: Value = scene
        .owner
        .get_json(&scene.app, "/api/v1/audit?action=post.time_wished")
        .await;
    let entries = audit.as_array().expect("entries");
    assert_eq!(entries.len(), 2, "{audit}");
    assert_eq!(entries[0]["actor"], format!("user:{}", writer.id));
    assert_eq!(entries[1]["actor"], format!("user:{}", scene.keeper.id));
    assert_eq!(entries[1]["target"], format!("post:{id}"));
    assert_eq!(entries[1]["details"]["from"], first);
    assert_eq!(entries[1]["details"]["at"], post["scheduled_at"]);
}
