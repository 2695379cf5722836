//! The day an account is hacked in Chromium (issue 20), from the alert to the report: the
//! watcher notices a post Herald did not make, the gatekeeper reads the alert on Home, opens
//! the incident, locks the account down from its page, ticks a recovery step and prints the
//! report. Every screenshot runs axe-core on the page.

use herald::clock::ManualClock;

use crate::browser::sign_in_with_code;
use crate::detection::{alert, as_attacker, one_interval_later, wait_for_a_look};
use crate::publishing::Scene;
use crate::webdriver::Browser;

#[tokio::test]
async fn from_the_watcher_s_alert_to_the_printed_report_in_a_browser() {
    let scene = Scene::mastodon().await;
    one_interval_later(&scene);
    wait_for_a_look(&scene).await;
    as_attacker(
        &scene,
        reqwest::Method::POST,
        "/api/v1/statuses",
        &[("status", "Free crypto for every follower")],
    )
    .await;
    one_interval_later(&scene);
    let incident = alert(&scene).await.expect("the watcher's alert");
    let id = incident["id"].as_i64().expect("id");

    let Some(keeper) = Browser::launch().await else {
        return;
    };
    sign_in_with_code(
        &keeper,
        &scene.app,
        &scene.keeper,
        &next_code(&scene.clock, &scene),
    )
    .await;
    let home = keeper.text_of("#notifications").await;
    assert!(home.contains("Possible compromise of Sunny Café"), "{home}");
    keeper.screenshot("incident-home-alert").await;

    keeper
        .goto(&scene.app.url(&format!("/incidents/{id}")))
        .await;
    let timeline = keeper.text_of("#timeline").await;
    assert!(
        timeline.contains("Free crypto for every follower"),
        "{timeline}"
    );
    keeper.screenshot("incident-alerted").await;
    keeper
        .click_and_wait(&keeper.find("#lockdown-steps a").await)
        .await;
    keeper.screenshot("incident-account-page").await;
    keeper
        .click_and_wait(&keeper.find("#lock-down").await)
        .await;
    assert_eq!(keeper.text_of("#incident-status").await, "locked down");
    let steps = keeper.text_of("#lockdown-steps").await;
    assert!(
        steps.contains("pause queue") && steps.contains("not possible"),
        "{steps}"
    );
    keeper.screenshot("incident-locked-down").await;

    keeper
        .click_and_wait(&keeper.find("#step-remove_sessions_apps button").await)
        .await;
    let recovery = keeper.text_of("#step-remove_sessions_apps").await;
    assert!(recovery.contains("done"), "{recovery}");

    keeper
        .goto(&scene.app.url(&format!("/incidents/{id}/report")))
        .await;
    let report = keeper.text_of("#report").await;
    assert!(
        report.contains(&format!("Incident {id}: Sunny Café on Mastodon")),
        "{report}"
    );
    assert!(report.contains("Free crypto for every follower"));
    assert!(report.contains("Done: Remove unknown sessions and connected apps"));
    keeper.screenshot("incident-report").await;
    keeper.close().await;
}

/// The keeper's next authenticator code, half a minute on so it was not used yet.
fn next_code(clock: &ManualClock, scene: &Scene) -> String {
    clock.advance(jiff::SignedDuration::from_secs(30));
    crate::people::code(&scene.keeper.secret, clock)
}
