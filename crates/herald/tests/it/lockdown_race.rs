//! A publish racing a lockdown (issue 20), many times over with the lockdown pressed at a
//! different moment of the publisher's attempt each time, against a fake Mastodon that takes
//! a little while to answer: each post either reached the network before the lockdown
//! answered — and then the incident's timeline names it — or is held and never reaches the
//! network afterwards, however long the clock runs on.

use std::time::Duration;

use jiff::SignedDuration;
use networks::fake::{FakeState, Faults};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::publishing::Scene;

const TOKEN: &str = "fake-mastodon-token-5ec2e7";

/// How the race ended for one post.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    /// Out before the lockdown began.
    OutBefore,
    /// Under way when the lockdown began, waited for, and out.
    OutWhileInFlight,
    Held,
}

async fn race(press_after: Duration) -> Ended {
    let fake = networks::fake::mastodon::start(FakeState::new(TOKEN, 7))
        .await
        .expect("fake Mastodon starts");
    // The instance takes a while to answer a post: an attempt can be under way when the
    // lockdown is pressed.
    fake.state.set_faults(Faults {
        hang: Duration::from_millis(60),
        ..Faults::default()
    });
    let scene = Scene::on(fake, "mastodon", "@herald@127.0.0.1", false).await;
    let text = format!(
        "Racing loaves, pressed after {} ms",
        press_after.as_millis()
    );
    let post = scene.approved(&text).await;
    let scheduled = scene
        .schedule(&scene.keeper, post, json!({ "at": scene.in_minutes(1) }))
        .await;
    assert_eq!(scheduled.status(), StatusCode::OK);
    scene.clock.advance(SignedDuration::from_mins(2));
    tokio::time::sleep(press_after).await;
    let locked = scene
        .keeper
        .post(
            &scene.app,
            &format!("/api/v1/accounts/{}/lockdown", scene.account),
            json!({}),
        )
        .await;
    assert_eq!(locked.status(), StatusCode::OK);
    let incident: Value = locked.json().await.expect("JSON");
    let out_at_lockdown = scene.fake.state.post_count();
    assert!(out_at_lockdown <= 1, "posted once at most");

    // Long after: nothing more reaches the network.
    for _ in 0..3 {
        scene.clock.advance(SignedDuration::from_mins(5));
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert_eq!(
        scene.fake.state.post_count(),
        out_at_lockdown,
        "sent after the lockdown answered"
    );
    let state = scene.post(post).await["state"].clone();
    let id = incident["id"].as_i64().expect("id");
    let timeline = scene
        .keeper
        .get_json(&scene.app, &format!("/api/v1/incidents/{id}"))
        .await["timeline"]
        .to_string();
    if out_at_lockdown == 1 {
        assert_eq!(state, "published", "{timeline}");
        assert!(
            timeline.contains(&format!("Post {post} was already being published"))
                || timeline.contains(&format!("published post {post}")),
            "the timeline shows the post that went out: {timeline}"
        );
        assert!(
            !timeline.contains(&format!(
                "Post {post} was being published when the lockdown began: it did not go out"
            )),
            "{timeline}"
        );
        if timeline.contains(&format!("Post {post} was already being published")) {
            Ended::OutWhileInFlight
        } else {
            Ended::OutBefore
        }
    } else {
        assert!(
            ["approved", "failed", "scheduled"].contains(&state.as_str().expect("state")),
            "held, not {state}: {timeline}"
        );
        Ended::Held
    }
}

#[tokio::test]
async fn a_publish_racing_a_lockdown_at_any_moment_went_out_before_it_and_is_shown_or_is_held() {
    let mut ended = Vec::new();
    for press_after in [0, 5, 15, 30, 45, 60, 90, 150] {
        ended.push(race(Duration::from_millis(press_after)).await);
    }
    let count = |wanted: Ended| ended.iter().filter(|end| **end == wanted).count();
    #[allow(clippy::print_stderr)] // How the races ended belongs in the test log.
    {
        eprintln!(
            "FIGURE lockdown_races out_before={} out_while_in_flight={} held={}",
            count(Ended::OutBefore),
            count(Ended::OutWhileInFlight),
            count(Ended::Held)
        );
    }
}
