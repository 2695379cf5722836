//! Connecting a Bluesky account by AT Protocol OAuth against a real PDS (from npm, see
//! `crates/networks/tests/pds`), in real Chromium: the gatekeeper presses "Connect with
//! Bluesky", signs in on the PDS's own pages, lets Herald post, comes back connected, and a
//! scheduled post then lands in the account's repository on the PDS.
//!
//! The PDS checks DPoP proofs against its own clock (to the second), so this Herald runs on
//! the real clock, not a hand-moved one.

use herald::domain::ids::AccountId;
use std::sync::Arc;
use std::time::{Duration, Instant};

use herald::clock::{Clock, SystemClock};
use herald::domain::totp::step_at;
use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::browser::sign_in_with_code;
use crate::helpers::spawn_app_with_clock;
use crate::pds;
use crate::people::set_up;
use crate::posts::draft_id;
use crate::webdriver::Browser;

/// How long the PDS's pages (a script-built app) may take to appear on a busy machine.
const PDS_PAGE: Duration = Duration::from_secs(30);

#[tokio::test]
async fn a_gatekeeper_connects_bluesky_on_a_real_pds_in_chromium_and_a_post_lands_there() {
    let Some(pds) = pds::start().await else {
        return;
    };
    let Some(browser) = Browser::launch().await else {
        return;
    };
    let (handle, did, _app_password) = pds::real_account(&pds.url, "sunnycafe").await;
    let (pds_url, plc_url) = (pds.url.clone(), pds.plc.clone());
    let app = spawn_app_with_clock(
        move |config| {
            config.networks.bluesky_service_url = pds_url;
            config.networks.bluesky_plc_url = plc_url;
            config.networks.request_timeout_seconds = 20;
        },
        Arc::new(SystemClock),
    )
    .await;
    let owner = set_up(&app, &SystemClock).await;
    let created = owner
        .post(
            &app,
            "/api/v1/accounts",
            json!({ "network": "bluesky", "handle": handle, "display_name": "Sunny Café",
                    "avatar_colour": "#1f5f5b", "gatekeeper_id": owner.id }),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let account = AccountId::new(
        created.json::<Value>().await.expect("JSON")["id"]
            .as_i64()
            .expect("id"),
    );

    // Signed in with the next step's code: setup used this step's.
    let next = owner.secret.code_at_step(step_at(SystemClock.now()) + 1);
    sign_in_with_code(&browser, &app, &owner, &next).await;

    browser
        .goto(&app.url(&format!("/accounts/{account}")))
        .await;
    browser
        .click(&browser.find("#oauth-form button[type=submit]").await)
        .await;
    let at_pds = browser
        .wait_up_to(PDS_PAGE, "return location.pathname === '/oauth/authorize' && document.readyState === 'complete';")
        .await;
    let url = browser.current_url().await;
    assert!(at_pds, "the browser is sent to the PDS: {url}");
    // The PDS's own pages: the handle is filled in from Herald's request; its password, then
    // its consent.
    assert!(
        browser
            .wait_up_to(
                PDS_PAGE,
                "return document.querySelector('input[name=password]') !== null;"
            )
            .await,
        "the PDS asks for the account's password"
    );
    browser
        .fill("input[name=password]", pds::ACCOUNT_PASSWORD)
        .await;
    browser
        .click(&browser.find("form button[type=submit]").await)
        .await;
    assert!(
        browser
            .wait_up_to(PDS_PAGE, "return location.hash === '#step=consent';")
            .await,
        "the PDS asks to let Herald in: {}",
        browser.current_url().await
    );
    let consent = browser.text_of("form").await;
    assert!(consent.contains("Repository"), "{consent}");
    let authorize = browser.find("form button[type=submit]").await;
    assert_eq!(browser.text(&authorize).await, "Authorize");
    browser.click(&authorize).await;

    // Back at Herald, on the account's page, connected.
    let back = browser
        .wait_up_to(
            PDS_PAGE,
            &format!(
                "return location.href.startsWith('{}') && document.readyState === 'complete';",
                app.url(&format!("/accounts/{account}"))
            ),
        )
        .await;
    assert!(back, "sent back to Herald: {}", browser.current_url().await);
    let state = browser.text_of("#connection-state").await;
    assert!(
        state.starts_with("Connected") && state.contains(&handle),
        "{state}"
    );
    let stored = app
        .store
        .account(account)
        .await
        .expect("store")
        .expect("account");
    assert_eq!(stored.connection, "connected");
    browser.close().await;

    // A post the gatekeeper schedules a few seconds ahead lands in the account's repository.
    let text = "Soup of the day, straight from Herald to a real PDS.";
    let id = draft_id(&app, &owner, account, text).await;
    let submitted = crate::posts::act(&app, &owner, id, "submit", json!({}))
        .await
        .json::<Value>()
        .await
        .expect("JSON");
    assert_eq!(submitted["state"], "approved", "{submitted}");
    let at = SystemClock.now() + SignedDuration::from_secs(3);
    let scheduled = owner
        .post(
            &app,
            &format!("/api/v1/posts/{id}/schedule"),
            json!({ "at": at.to_string() }),
        )
        .await;
    assert_eq!(scheduled.status(), StatusCode::OK);
    let deadline = Instant::now() + Duration::from_secs(60);
    let post = loop {
        let post = owner.get_json(&app, &format!("/api/v1/posts/{id}")).await;
        if post["state"] != "scheduled" && post["state"] != "publishing" {
            break post;
        }
        assert!(Instant::now() < deadline, "never published: {post}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(post["state"], "published", "{post}");
    let records = pds::real_posts(&pds.url, &did).await;
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["value"]["text"], text);
}
