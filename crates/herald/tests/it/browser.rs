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

/// The whole people journey in real Chromium: an owner sets Herald up and enrols an
/// authenticator, signs out and back in with a code, invites a member who accepts in a second
/// browser, and deactivates them, which signs the member out.
#[tokio::test]
async fn an_owner_sets_up_signs_in_invites_a_member_and_deactivates_them() {
    use herald::clock::{Clock, ManualClock};
    use herald::domain::totp::{TotpSecret, step_at};

    let clock = ManualClock::new(jiff::Timestamp::from_second(1_800_000_000).expect("time"));
    let app =
        crate::helpers::spawn_app_with_clock(|_| {}, std::sync::Arc::new(clock.clone())).await;
    let Some(owner) = Browser::launch().await else {
        return;
    };
    let code_for = |secret: &str| {
        TotpSecret::from_base32(secret)
            .expect("base32 secret")
            .code_at_step(step_at(clock.now()))
    };

    let owner_secret = set_up_in_browser(&owner, &app.url("/"), &code_for).await;
    assert_eq!(owner.text_of("h1").await, "Herald is running");

    // Sign out, then back in with the password and the next code.
    owner
        .click_and_wait(&owner.find("nav .link-button").await)
        .await;
    assert!(owner.current_url().await.ends_with("/login"));
    clock.advance(jiff::SignedDuration::from_secs(30));
    owner.fill("#email", "olive@sunny.example").await;
    owner
        .fill("#password", "password kettle harbour marmalade")
        .await;
    owner.fill("#code", "000000").await;
    owner
        .click_and_wait(&owner.find("form button[type=submit]").await)
        .await;
    assert_eq!(
        owner.text_of(".form-error").await,
        "the email address, password or code is not right"
    );
    assert_eq!(
        owner.property(&owner.find("#email").await, "value").await,
        "olive@sunny.example",
        "what was typed is kept"
    );
    owner
        .fill("#password", "password kettle harbour marmalade")
        .await;
    owner.fill("#code", &code_for(&owner_secret)).await;
    owner
        .click_and_wait(&owner.find("form button[type=submit]").await)
        .await;
    assert_eq!(owner.text_of("h1").await, "Herald is running");

    // Invite a member.
    owner.goto(&app.url("/members")).await;
    owner.fill("#invite-email", "mia@sunny.example").await;
    owner
        .click_and_wait(&owner.find("form.row-form button").await)
        .await;
    let link = owner
        .property(&owner.find("#invitation-link").await, "value")
        .await;
    let link = link.as_str().expect("link").to_owned();
    assert!(link.contains("/invite/"), "{link}");
    owner.screenshot("members-invitation").await;

    // The member accepts in a browser of their own.
    let Some(member) = Browser::launch().await else {
        return;
    };
    member.goto(&link).await;
    assert_eq!(member.text_of("h1").await, "Join Herald");
    let member_secret = member.text_of("#totp-secret").await;
    member.fill("#name", "Mia Member").await;
    member
        .fill("#password", "violet lanterns over the quay")
        .await;
    member.fill("#code", &code_for(&member_secret)).await;
    member
        .click_and_wait(&member.find("form button[type=submit]").await)
        .await;
    assert_eq!(member.text_of("h1").await, "You're in, Mia Member");
    member.goto(&app.url("/")).await;
    assert_eq!(member.text_of("h1").await, "Herald is running");
    assert_eq!(
        member
            .execute("return document.querySelector('nav a[href=\"/members\"]') === null;")
            .await,
        true,
        "members see no Members link"
    );

    // The owner deactivates the member; the member's session ends at once.
    owner.goto(&app.url("/members")).await;
    owner
        .click_and_wait(
            &owner
                .find("tr[data-email='mia@sunny.example'] button")
                .await,
        )
        .await;
    let row = owner.text_of("tr[data-email='mia@sunny.example']").await;
    assert!(row.contains("Deactivated"), "{row}");
    member.goto(&app.url("/")).await;
    assert!(
        member.current_url().await.ends_with("/login"),
        "the member was signed out"
    );

    member.close().await;
    owner.close().await;
}

/// Runs first-run setup in `browser` (starting at `start`) as Olive Owner, with live password
/// feedback checked on the way, and returns the owner's TOTP secret as the page showed it.
async fn set_up_in_browser(
    browser: &Browser,
    start: &str,
    code_for: &impl Fn(&str) -> String,
) -> String {
    let owner = browser;
    owner.goto(start).await;
    assert!(owner.current_url().await.ends_with("/setup"));
    owner.fill("#organisation", "Sunny Café").await;
    owner.fill("#name", "Olive Owner").await;
    owner.fill("#email", "olive@sunny.example").await;
    owner
        .click_and_wait(&owner.find("form button[type=submit]").await)
        .await;
    let owner_secret = owner.text_of("#totp-secret").await;
    assert!(
        owner
            .execute("return document.querySelector('.qr svg') !== null;")
            .await
            == true,
        "the QR code is shown"
    );

    // Live strength feedback comes from password.js, running under the CSP.
    owner.fill("#password", "password").await;
    assert!(owner.wait_for("return document.getElementById('password-strength').textContent.startsWith('Too short');").await);
    owner.fill("#password", " kettle harbour marmalade").await;
    let strong = owner
        .wait_for(
            "return /strong/i.test(document.getElementById('password-strength').textContent);",
        )
        .await;
    let shown = owner
        .execute("return document.getElementById('password-strength').textContent;")
        .await;
    assert!(strong, "strength shown: {shown}");
    owner.fill("#code", &code_for(&owner_secret)).await;
    owner.screenshot("setup-step-2").await;
    owner
        .click_and_wait(&owner.find("form button[type=submit]").await)
        .await;
    assert_eq!(owner.text_of("h1").await, "You're in, Olive Owner");
    let codes = owner
        .execute("return document.querySelectorAll('#recovery-codes li').length;")
        .await;
    assert_eq!(codes, 10);
    owner.click_and_wait(&owner.find("a.button").await).await;

    owner_secret
}

/// Passkeys in real Chromium with a virtual authenticator: the owner adds one on the account
/// page, signs out, and signs back in with password and passkey instead of a code.
#[tokio::test]
async fn an_owner_adds_a_passkey_and_signs_in_with_it_instead_of_a_code() {
    use herald::clock::{Clock, ManualClock};
    use herald::domain::totp::{TotpSecret, step_at};

    let clock = ManualClock::new(jiff::Timestamp::from_second(1_800_000_000).expect("time"));
    let app =
        crate::helpers::spawn_app_with_clock(|_| {}, std::sync::Arc::new(clock.clone())).await;
    let Some(owner) = Browser::launch().await else {
        return;
    };
    owner.add_virtual_authenticator().await;
    let code_for = |secret: &str| {
        TotpSecret::from_base32(secret)
            .expect("base32 secret")
            .code_at_step(step_at(clock.now()))
    };
    set_up_in_browser(&owner, &app.localhost_url("/"), &code_for).await;

    owner.goto(&app.localhost_url("/account")).await;
    owner.fill("#passkey-name", " (Chromium)").await;
    owner
        .click_and_wait(&owner.find("#passkey-add").await)
        .await;
    let listed = owner.text_of("#passkeys").await;
    assert!(listed.contains("This device (Chromium)"), "{listed}");
    owner.screenshot("account-passkey").await;

    owner
        .click_and_wait(&owner.find("nav .link-button").await)
        .await;
    owner.fill("#email", "olive@sunny.example").await;
    owner
        .fill("#password", "password kettle harbour marmalade")
        .await;
    owner
        .click_and_wait(&owner.find("#passkey-signin").await)
        .await;
    assert_eq!(owner.text_of("h1").await, "Herald is running");

    let entries = app
        .store
        .audit_entries(&herald::store::AuditFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("audit");
    let by_passkey = entries
        .iter()
        .any(|entry| entry.action == "auth.login.succeeded" && entry.details.contains("passkey"));
    assert!(
        by_passkey,
        "the sign-in was recorded as made with a passkey"
    );
    owner.close().await;
}

/// Signs `person` in through the sign-in page with their next authenticator code.
async fn sign_in_in_browser(
    browser: &Browser,
    app: &crate::helpers::TestApp,
    clock: &herald::clock::ManualClock,
    person: &crate::people::Person,
) {
    clock.advance(jiff::SignedDuration::from_secs(30));
    browser.goto(&app.url("/login")).await;
    browser.fill("#email", &person.email).await;
    browser.fill("#password", &person.password).await;
    browser
        .fill("#code", &crate::people::code(&person.secret, clock))
        .await;
    browser
        .click_and_wait(&browser.find("form button[type=submit]").await)
        .await;
    assert_eq!(browser.text_of("h1").await, "Herald is running");
}

/// The credential vault in Chromium: the gatekeeper stores the network password and reveals it
/// with their own code; a publisher of the same account sees the account but never the password.
#[tokio::test]
async fn a_gatekeeper_stores_and_reveals_a_password_that_a_publisher_never_sees() {
    let (app, clock) = crate::people::app().await;
    let owner = crate::people::set_up(&app, &clock).await;
    let publisher =
        crate::people::invite_and_join(&app, &clock, &owner, "pub@sunny.example", "member").await;
    let id = crate::accounts::new_account(&app, &owner, "@sunnycafe", owner.id).await;
    let grant = owner
        .send(
            &app,
            reqwest::Method::PUT,
            &format!("/api/v1/accounts/{id}/grants/{}", publisher.id),
            Some(serde_json::json!({ "level": "publisher" })),
        )
        .await;
    assert_eq!(grant.status(), reqwest::StatusCode::NO_CONTENT);
    let password = "kiln-harbour-vellum-2231";

    let Some(gatekeeper) = Browser::launch().await else {
        return;
    };
    sign_in_in_browser(&gatekeeper, &app, &clock, &owner).await;
    gatekeeper.goto(&app.url(&format!("/accounts/{id}"))).await;
    gatekeeper.fill("#value", password).await;
    gatekeeper
        .click_and_wait(&gatekeeper.find("form[action$='/credentials'] button").await)
        .await;
    let facts = gatekeeper.text_of("#facts").await;
    assert!(facts.contains("login password"), "{facts}");
    clock.advance(jiff::SignedDuration::from_secs(30));
    gatekeeper
        .fill("#reveal-code", &crate::people::code(&owner.secret, &clock))
        .await;
    gatekeeper
        .click_and_wait(&gatekeeper.find("form[action$='/reveal'] button").await)
        .await;
    assert_eq!(
        gatekeeper
            .property(&gatekeeper.find("#revealed-value").await, "value")
            .await,
        password
    );
    gatekeeper.screenshot("account-revealed").await;

    let Some(other) = Browser::launch().await else {
        return;
    };
    sign_in_in_browser(&other, &app, &clock, &publisher).await;
    other.goto(&app.url("/accounts")).await;
    let row = other.text_of("tr[data-handle='@sunnycafe']").await;
    assert!(row.contains("publisher"), "{row}");
    other.goto(&app.url(&format!("/accounts/{id}"))).await;
    assert_eq!(other.execute("return document.getElementById('value') === null && document.getElementById('reveal-code') === null;").await, true);
    let html = other
        .execute("return document.documentElement.outerHTML;")
        .await;
    assert!(
        !html.as_str().expect("html").contains(password),
        "the password never reaches the publisher's browser"
    );
    other.close().await;
    gatekeeper.close().await;
}

/// The policy in Chromium: an owner publishes it, a member reads and accepts it, and the draft
/// checker marks what it finds while the member types, before any button is pressed.
#[tokio::test]
async fn a_member_accepts_the_policy_and_sees_findings_marked_as_they_type() {
    let (app, clock) = crate::people::app().await;
    let owner = crate::people::set_up(&app, &clock).await;
    let member =
        crate::people::invite_and_join(&app, &clock, &owner, "mia@sunny.example", "member").await;
    let published = owner
        .send(
            &app,
            reqwest::Method::PUT,
            "/api/v1/policy",
            Some(serde_json::json!({ "markdown": "# How we post\n\nBe kind. **Never** share a customer's details." })),
        )
        .await;
    assert_eq!(published.status(), reqwest::StatusCode::OK);

    let Some(browser) = Browser::launch().await else {
        return;
    };
    sign_in_in_browser(&browser, &app, &clock, &member).await;
    browser.goto(&app.url("/policy")).await;
    assert!(
        browser
            .text_of("#policy-document h1")
            .await
            .contains("How we post")
    );
    browser
        .click_and_wait(&browser.find("#acknowledge button").await)
        .await;
    assert!(
        browser
            .text_of("#policy-document")
            .await
            .contains("You accepted this version")
    );

    let draft = browser.find("#draft").await;
    browser
        .type_into(&draft, "Thanks to Jo (jo.bloggs@example.com) for the cake!")
        .await;
    assert!(
        browser
            .wait_for("return document.querySelector('#draft-marked mark.finding-require_approval')?.textContent === 'jo.bloggs@example.com';")
            .await,
        "the email address is marked while typing"
    );
    let findings = browser.text_of("#findings").await;
    assert!(
        findings.contains("pii.email") && findings.contains("needs approval"),
        "{findings}"
    );
    assert!(
        !findings.contains("jo.bloggs@example.com"),
        "the list shows a redacted excerpt"
    );
    browser.screenshot("policy-live-check").await;
}

/// The composer in Chromium: a contributor writes a post, sees it counted the way X counts and
/// checked against the policy as they type, submits it; a publisher approves it.
#[tokio::test]
async fn a_contributor_writes_a_post_with_live_counts_and_a_publisher_approves_it() {
    let (app, clock) = crate::people::app().await;
    let owner = crate::people::set_up(&app, &clock).await;
    let writer =
        crate::people::invite_and_join(&app, &clock, &owner, "writer@sunny.example", "member")
            .await;
    let id = crate::accounts::new_account(&app, &owner, "@sunnycafe", owner.id).await;
    let grant = owner
        .send(
            &app,
            reqwest::Method::PUT,
            &format!("/api/v1/accounts/{id}/grants/{}", writer.id),
            Some(serde_json::json!({ "level": "contributor" })),
        )
        .await;
    assert_eq!(grant.status(), reqwest::StatusCode::NO_CONTENT);

    let Some(browser) = Browser::launch().await else {
        return;
    };
    sign_in_in_browser(&browser, &app, &clock, &writer).await;
    browser.goto(&app.url("/compose")).await;
    let draft = browser.find("#draft").await;
    browser
        .type_into(
            &draft,
            "Cake 🍰 at https://sunnycafe.example/cakes, ask jo@example.com",
        )
        .await;
    assert!(
        browser
            .wait_for("return document.getElementById('counter').textContent.startsWith('54 / 280 weighted characters');")
            .await,
        "counted as X counts: {}",
        browser.text_of("#counter").await
    );
    assert!(
        browser
            .wait_for("return document.querySelector('#draft-marked mark')?.textContent === 'jo@example.com';")
            .await,
        "the email address is marked"
    );
    browser.screenshot("composer").await;
    browser
        .click_and_wait(&browser.find("button[value=submit]").await)
        .await;
    assert_eq!(browser.text_of("#post-state").await, "submitted");

    let Some(reviewer) = Browser::launch().await else {
        return;
    };
    sign_in_in_browser(&reviewer, &app, &clock, &owner).await;
    let post_url = browser.current_url().await;
    reviewer.goto(&post_url).await;
    reviewer
        .click_and_wait(&reviewer.find("#approve").await)
        .await;
    assert_eq!(reviewer.text_of("#post-state").await, "approved");
    let history = reviewer.text_of("#history").await;
    assert!(
        history.contains("drafted") && history.contains("approved"),
        "{history}"
    );
}
