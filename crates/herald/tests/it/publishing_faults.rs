//! The publisher under fire: 1,000 scheduled posts to a fake Mastodon (which honours
//! idempotency keys) and a fake X (which does not), both failing at random — unavailable,
//! rate-limited, answers lost before and after the post was made, garbage after it was made.
//! Every post must end published exactly once, or failed or unconfirmed with a reason, and no
//! network may ever hold a post twice.

use herald::domain::ids::AccountId;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use herald::clock::{Clock, ManualClock};
use herald::domain::posts::PostState;
use herald::jobs::PUBLISH_KIND;
use jiff::{SignedDuration, Timestamp};
use networks::fake::{FakeServer, FakeState, Faults};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::spawn_app_with_clock;
use crate::people::{Person, invite_and_join, set_up};
use crate::publishing::scheduled_in_store;

pub(crate) const TOKEN: &str = "fake-token-for-the-fault-test";
const POSTS_PER_NETWORK: usize = 500;
const MAX_ATTEMPTS: u32 = 8;

fn faults() -> Faults {
    Faults {
        unavailable: 0.08,
        rate_limited: 0.08,
        lost_before: 0.03,
        lost_after: 0.03,
        garbage_after: 0.05,
        unauthorized: 0.0,
        hang: Duration::from_millis(1500),
    }
}

#[tokio::test]
async fn a_thousand_posts_under_random_faults_each_end_published_once_or_with_a_reason() {
    let mastodon = networks::fake::mastodon::start(FakeState::new(TOKEN, 1))
        .await
        .expect("fake Mastodon");
    let x = networks::fake::x::start(FakeState::new(TOKEN, 2))
        .await
        .expect("fake X");
    let clock = ManualClock::new(Timestamp::from_second(1_800_000_000).expect("time"));
    let (mastodon_url, x_url) = (mastodon.url(), x.url());
    let app = spawn_app_with_clock(
        |config| {
            config.networks.mastodon_instance_url = mastodon_url;
            config.networks.x_api_url = x_url;
            config.networks.request_timeout_seconds = 1;
            // The test moves the clock an hour at a time; a lease that outlived those jumps
            // keeps a job in flight from being taken over as if its worker had died.
            config.jobs.lease_seconds = 30 * 24 * 3600;
            config.jobs.concurrency = 64;
            config.jobs.max_attempts = MAX_ATTEMPTS;
        },
        Arc::new(clock.clone()),
    )
    .await;
    let owner = set_up(&app, &clock).await;
    let keeper = invite_and_join(&app, &clock, &owner, "keeper@sunny.example", "member").await;
    let on_mastodon = connected(
        &app,
        &owner,
        &keeper,
        "mastodon",
        "@herald@127.0.0.1",
        &mastodon,
    )
    .await;
    let on_x = connected(&app, &owner, &keeper, "x", "@herald_test", &x).await;

    // The posts are written straight into the store, already approved and scheduled a minute
    // from now, as the scheduling tests show the API does.
    let now = clock.now();
    let at = now
        .saturating_add(SignedDuration::from_mins(1))
        .expect("time");
    let mut texts = HashMap::new();
    for index in 0..POSTS_PER_NETWORK * 2 {
        let account = if index % 2 == 0 { on_mastodon } else { on_x };
        let text = format!("Today's special, number {index}.");
        let id =
            scheduled_in_store(&app.store, account, keeper.id, &text, at, MAX_ATTEMPTS, now).await;
        texts.insert(id, (account, text));
    }
    mastodon.state.set_faults(faults());
    x.state.set_faults(faults());

    // Move time on an hour at a time (every backoff and rate-limit reset passes) until no
    // publish job is left to run.
    let started = Instant::now();
    loop {
        clock.advance(SignedDuration::from_hours(1));
        tokio::time::sleep(Duration::from_millis(300)).await;
        let pending = app.store.pending_jobs(PUBLISH_KIND).await.expect("count");
        if pending == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "publishing did not settle: {pending} jobs left"
        );
    }

    let on_network = |state: &FakeState, text: &str| {
        state
            .posts()
            .iter()
            .filter(|post| post.text == text)
            .count()
    };
    let mut tally: HashMap<&'static str, usize> = HashMap::new();
    for (id, (account, text)) in &texts {
        let post = app.store.post(*id).await.expect("read").expect("post");
        let network = if *account == on_mastodon {
            &mastodon.state
        } else {
            &x.state
        };
        let held = on_network(network, text);
        let attempts = app.store.post_attempts(*id).await.expect("attempts");
        let history = app.store.post_history(*id).await.expect("history");
        let context = format!(
            "attempts {attempts:#?}\nhistory {history:#?}\non the network {:?}",
            network
                .posts()
                .iter()
                .filter(|held| &held.text == text)
                .collect::<Vec<_>>()
        );
        match post.state {
            PostState::Published => {
                assert_eq!(
                    held, 1,
                    "post {id} is published, so the network has it once: {context}"
                );
                assert!(post.remote_id.is_some(), "post {id} knows its remote id");
            }
            PostState::Failed => {
                assert_eq!(held, 0, "post {id} failed, so the network must not have it");
                assert!(post.problem.is_some(), "post {id} failed without a reason");
            }
            PostState::Unconfirmed => {
                assert!(held <= 1, "post {id} is on the network {held} times");
                assert!(
                    post.problem.is_some(),
                    "post {id} is unconfirmed without a reason"
                );
            }
            other => panic!("post {id} was left {other:?}"),
        }
        *tally.entry(post.state.as_str()).or_default() += 1;
        let attempts = app.store.post_attempts(*id).await.expect("attempts");
        assert!(
            !attempts.is_empty() && attempts.len() <= MAX_ATTEMPTS as usize,
            "post {id}: {} attempts",
            attempts.len()
        );
        // An attempt cut short (a database error mid-way, like a crash) is left open and the
        // next one takes over; the last attempt always says how it ended.
        assert!(
            attempts
                .last()
                .is_some_and(|attempt| attempt.outcome.is_some()),
            "post {id}'s last attempt never finished"
        );
    }
    for (name, state) in [("Mastodon", &mastodon.state), ("X", &x.state)] {
        let mut seen = HashMap::new();
        for post in state.posts() {
            *seen.entry(post.text).or_insert(0) += 1;
        }
        let doubled: Vec<_> = seen.iter().filter(|(_, count)| **count > 1).collect();
        assert!(doubled.is_empty(), "{name} holds posts twice: {doubled:?}");
        assert!(
            state.requests() > POSTS_PER_NETWORK as u64,
            "{name} saw the faults' retries"
        );
    }
    // Every published post's audit entry was chained in its own transaction: the log holds.
    let (verified, stdout, stderr) = crate::helpers::run(
        crate::helpers::herald_for(&app.data_dir)
            .args(["audit", "verify", "--data-dir"])
            .arg(&app.data_dir),
    );
    assert!(verified.status.success(), "{stdout}{stderr}");
    assert!(stdout.starts_with("audit log intact"), "{stdout}");
    let published = tally.get("published").copied().unwrap_or(0);
    assert!(
        published >= 950,
        "most posts get through the faults: {tally:?}"
    );
    #[allow(clippy::print_stderr)] // The figure is worth seeing in the test log.
    {
        eprintln!("fault test: {tally:?} in {:?}", started.elapsed());
    }
}

pub(crate) async fn connected(
    app: &crate::helpers::TestApp,
    owner: &Person,
    keeper: &Person,
    network: &str,
    handle: &str,
    fake: &FakeServer,
) -> AccountId {
    let created: Value = owner
        .post(
            app,
            "/api/v1/accounts",
            json!({ "network": network, "handle": handle, "display_name": format!("Sunny on {network}"),
                    "avatar_colour": "#1f5f5b", "gatekeeper_id": keeper.id }),
        )
        .await
        .json()
        .await
        .expect("JSON");
    let account = AccountId::new(created["id"].as_i64().expect("account id"));
    let connection = keeper
        .send(
            app,
            reqwest::Method::PUT,
            &format!("/api/v1/accounts/{account}/connection"),
            Some(json!({ "method": "access_token", "token": TOKEN, "server": fake.url() })),
        )
        .await;
    let status = connection.status();
    assert_eq!(status, StatusCode::OK, "{:?}", connection.text().await);
    account
}
