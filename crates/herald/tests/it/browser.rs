//! Herald in a real browser: headless Chromium loads the shell page, applies the stylesheet
//! under the content security policy, blocks injected inline script, and lays out on a phone.

use std::time::{Duration, Instant};

use crate::helpers::spawn_app;
use crate::webdriver::Browser;

#[tokio::test]
async fn the_first_page_renders_in_chromium_with_its_stylesheet_on_desktop_and_phone() {
    let app = spawn_app().await;
    let Some(browser) = Browser::launch().await else {
        return;
    };
    browser.goto(&app.url("/")).await;

    // A fresh Herald sends the first visitor to setup.
    assert_eq!(browser.title().await, "Set up Herald");
    assert_eq!(
        browser.text(&browser.find("h1").await).await,
        "Set up Herald"
    );

    // The stylesheet loaded despite the strict CSP: the header has the brand colour.
    let colour = browser
        .execute("return getComputedStyle(document.querySelector('.topbar')).backgroundColor;")
        .await;
    assert_eq!(colour, "rgb(31, 95, 91)");
    let desktop = browser.screenshot("shell-desktop").await;
    assert!(std::fs::metadata(&desktop).expect("screenshot saved").len() > 5_000);

    // On a phone-sized window nothing overflows sideways.
    browser.set_window_size(390, 844).await;
    let overflow = browser
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
        )
        .await;
    assert_eq!(overflow, 0, "horizontal overflow in pixels");
    browser.screenshot("shell-phone").await;
    browser.close().await;
}

#[tokio::test]
async fn chromium_refuses_injected_inline_script_and_reports_it() {
    let app = spawn_app().await;
    let Some(browser) = Browser::launch().await else {
        return;
    };
    browser.goto(&app.url("/")).await;
    let ran = browser
        .execute(
            "const s = document.createElement('script');
             s.textContent = 'window.injected = true;';
             document.body.appendChild(s);
             return window.injected === true;",
        )
        .await;
    assert_eq!(
        ran, false,
        "the content security policy blocked the inline script"
    );

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = app.get("/metrics").await.text().await.expect("metrics");
        if metrics.contains("herald_csp_violations_total 1") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the browser's violation report never arrived:\n{metrics}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.close().await;
}

#[tokio::test]
async fn an_unknown_page_shows_a_friendly_error_in_the_browser() {
    let app = spawn_app().await;
    let Some(browser) = Browser::launch().await else {
        return;
    };
    browser.goto(&app.url("/no-such-page")).await;
    assert_eq!(
        browser.text(&browser.find("h1").await).await,
        "Page not found"
    );
    let back = browser.find("a.button").await;
    assert_eq!(browser.text(&back).await, "Back to the start page");
    browser.close().await;
}
