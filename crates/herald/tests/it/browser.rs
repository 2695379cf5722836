//! Herald in a real browser: headless Chromium loads the shell page, applies the stylesheet
//! under the content security policy, blocks injected inline script, and lays out on a phone.

use herald::domain::ids::AccountId;
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

    let owner_secret = set_up_in_browser(&owner, &app.setup_link(), &code_for).await;
    assert!(
        owner.text_of("h1").await.starts_with("Hello"),
        "signed in: Home greets the member"
    );

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
        "The email address, password or code is not right"
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
    assert!(
        owner.text_of("h1").await.starts_with("Hello"),
        "signed in: Home greets the member"
    );

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
    assert!(
        member.text_of("h1").await.starts_with("Hello"),
        "signed in: Home greets the member"
    );
    assert_eq!(
        member
            .execute("return document.querySelector('nav a[href=\"/members\"]') === null;")
            .await,
        true,
        "members see no Members link"
    );

    // The owner deactivates the member, after a page that says what will happen; the
    // member's session ends at once.
    owner.goto(&app.url("/members")).await;
    owner
        .click_and_wait(
            &owner
                .find("tr[data-email='mia@sunny.example'] a.danger")
                .await,
        )
        .await;
    assert_eq!(owner.text_of("h1").await, "Deactivate Mia Member?");
    let effects = owner.text_of("#deactivate-effects").await;
    assert!(effects.contains("signed out everywhere"), "{effects}");
    member.goto(&app.url("/")).await;
    assert!(
        member.text_of("h1").await.starts_with("Hello"),
        "nothing happens before the owner confirms"
    );
    owner
        .click_and_wait(&owner.find("#confirm-deactivate").await)
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

/// Runs first-run setup in `browser` (starting at `start`, the setup link Herald printed) as
/// Olive Owner, with live password feedback checked on the way, and returns the owner's TOTP
/// secret as the page showed it.
pub async fn set_up_in_browser(
    browser: &Browser,
    start: &str,
    code_for: &impl Fn(&str) -> String,
) -> String {
    let owner = browser;
    owner.goto(start).await;
    assert!(owner.current_url().await.contains("/setup?code="));
    let prefilled = owner
        .execute("return document.getElementById('setup_code').value;")
        .await;
    assert_eq!(
        prefilled,
        crate::helpers::setup_code_in(start),
        "the link's code is filled in"
    );
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

    // Live strength feedback comes from password.js, running under the CSP. The
    // organisation's own name counts against a password.
    owner.fill("#password", "sunnycafe2024").await;
    let refused = owner
        .wait_for("return document.getElementById('password-strength').textContent.includes('will not accept');")
        .await;
    let shown = owner
        .execute("return document.getElementById('password-strength').textContent;")
        .await;
    assert!(refused, "the café's own name is weak: {shown}");
    owner
        .execute("document.getElementById('password').value = ''; return null;")
        .await;
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
    // WebAuthn needs the name localhost: the printed link, with the host changed.
    let link = app.setup_link().replace(
        &app.addr.to_string(),
        &format!("localhost:{}", app.addr.port()),
    );
    let owner_secret = set_up_in_browser(&owner, &link, &code_for).await;

    owner.goto(&app.localhost_url("/account")).await;
    owner.fill("#passkey-name", " (Chromium)").await;
    // Adding a passkey needs a fresh code from the authenticator app.
    clock.advance(jiff::SignedDuration::from_secs(30));
    owner.fill("#passkey-code", &code_for(&owner_secret)).await;
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
    assert!(
        owner.text_of("h1").await.starts_with("Hello"),
        "signed in: Home greets the member"
    );

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
pub async fn sign_in_in_browser(
    browser: &Browser,
    app: &crate::helpers::TestApp,
    clock: &herald::clock::ManualClock,
    person: &crate::people::Person,
) {
    clock.advance(jiff::SignedDuration::from_secs(30));
    let code = crate::people::code(&person.secret, clock);
    sign_in_with_code(browser, app, person, &code).await;
}

/// Signs `person` in through the sign-in page with authenticator code `code`.
pub async fn sign_in_with_code(
    browser: &Browser,
    app: &crate::helpers::TestApp,
    person: &crate::people::Person,
    code: &str,
) {
    browser.goto(&app.url("/login")).await;
    browser.fill("#email", &person.email).await;
    browser.fill("#password", &person.password).await;
    browser.fill("#code", code).await;
    browser
        .click_and_wait(&browser.find("form button[type=submit]").await)
        .await;
    assert!(
        browser.text_of("h1").await.starts_with("Hello"),
        "signed in: Home greets the member"
    );
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
        findings.contains("Personal email address") && findings.contains("needs approval"),
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
    assert_eq!(browser.text_of("#post-state").await, "Waiting for approval");

    let Some(reviewer) = Browser::launch().await else {
        return;
    };
    sign_in_in_browser(&reviewer, &app, &clock, &owner).await;
    let post_url = browser.current_url().await;
    reviewer.goto(&post_url).await;
    reviewer
        .click_and_wait(&reviewer.find("#approve").await)
        .await;
    assert_eq!(
        reviewer.text_of("#post-state").await,
        "Approved, no time yet"
    );
    let history = reviewer.text_of("#history").await;
    assert!(
        history.contains("wrote it") && history.contains("approved it"),
        "{history}"
    );
}

/// Publishing in Chromium, end to end: a contributor writes and submits a post in the
/// composer; a publisher approves it and schedules it a few minutes ahead on the post's page
/// (the time read in the account's zone); the job runner publishes it to a fake Mastodon
/// exactly once; the calendar then shows it as published, and the post links to it.
#[tokio::test]
async fn a_contributor_drafts_a_publisher_schedules_and_the_calendar_shows_it_published() {
    use networks::fake::{FakeState, mastodon};
    use reqwest::{Method, StatusCode};
    use serde_json::{Value, json};

    const TOKEN: &str = "fake-mastodon-token-b40e";
    let fake = mastodon::start(FakeState::new(TOKEN, 3))
        .await
        .expect("fake Mastodon starts");
    let clock =
        herald::clock::ManualClock::new(jiff::Timestamp::from_second(1_800_000_000).expect("time"));
    let fake_url = fake.url();
    let app = crate::helpers::spawn_app_with_clock(
        |config| config.networks.mastodon_instance_url = fake_url.clone(),
        std::sync::Arc::new(clock.clone()),
    )
    .await;
    let owner = crate::people::set_up(&app, &clock).await;
    let publisher =
        crate::people::invite_and_join(&app, &clock, &owner, "pub@sunny.example", "member").await;
    let writer =
        crate::people::invite_and_join(&app, &clock, &owner, "writer@sunny.example", "member")
            .await;
    let added = owner
        .post(
            &app,
            "/api/v1/accounts",
            json!({ "network": "mastodon", "handle": "@herald@127.0.0.1", "display_name": "Sunny Café", "avatar_colour": "#c2410c", "gatekeeper_id": owner.id }),
        )
        .await;
    assert_eq!(added.status(), StatusCode::CREATED);
    let account = AccountId::new(
        added.json::<Value>().await.expect("JSON")["id"]
            .as_i64()
            .expect("id"),
    );
    crate::posts::grant(&app, &owner, account, &publisher, "publisher").await;
    crate::posts::grant(&app, &owner, account, &writer, "contributor").await;
    let connected = owner
        .send(
            &app,
            Method::PUT,
            &format!("/api/v1/accounts/{account}/connection"),
            Some(json!({ "method": "access_token", "token": TOKEN, "server": fake.url() })),
        )
        .await;
    assert_eq!(connected.status(), StatusCode::OK);
    let queue = owner
        .send(
            &app,
            Method::PUT,
            &format!("/api/v1/accounts/{account}/queue"),
            Some(json!({ "time_zone": "Europe/London", "slots": [{ "weekday": 2, "time": "09:30" }] })),
        )
        .await;
    assert_eq!(queue.status(), StatusCode::OK);

    // The contributor writes and submits in the composer.
    let Some(contributor) = Browser::launch().await else {
        return;
    };
    sign_in_in_browser(&contributor, &app, &clock, &writer).await;
    contributor.goto(&app.url("/compose")).await;
    let text = "Fresh sourdough from 8am tomorrow, come early!";
    contributor
        .type_into(&contributor.find("#draft").await, text)
        .await;
    contributor
        .click_and_wait(&contributor.find("button[value=submit]").await)
        .await;
    assert_eq!(
        contributor.text_of("#post-state").await,
        "Waiting for approval"
    );
    let post_url = contributor.current_url().await;
    let id: i64 = post_url
        .rsplit('/')
        .next()
        .and_then(|last| last.parse().ok())
        .expect("the post's page names its id");
    contributor.close().await;

    // The publisher approves it, then schedules it five minutes ahead, in London time.
    let Some(browser) = Browser::launch().await else {
        return;
    };
    sign_in_in_browser(&browser, &app, &clock, &publisher).await;
    browser.goto(&post_url).await;
    browser
        .click_and_wait(&browser.find("#approve").await)
        .await;
    assert_eq!(
        browser.text_of("#post-state").await,
        "Approved, no time yet"
    );
    let label = browser.text_of("label[for=at]").await;
    assert!(label.contains("in Europe/London"), "{label}");
    let zone = jiff::tz::TimeZone::get("Europe/London").expect("tzdb");
    let at = jiff::Timestamp::from_second(herald::clock::Clock::now(&clock).as_second() + 300)
        .expect("time")
        .to_zoned(zone)
        .strftime("%Y-%m-%dT%H:%M")
        .to_string();
    browser
        .execute(&format!(
            "document.getElementById('at').value = '{at}'; return true;"
        ))
        .await;
    browser
        .click_and_wait(&browser.find("#schedule-at").await)
        .await;
    assert_eq!(browser.text_of("#post-state").await, "Scheduled");
    assert!(
        browser
            .wait_for("return document.getElementById('scheduled-at').dataset.shown === 'local';")
            .await,
        "times.js shows the time in the viewer's zone"
    );
    let goes_out = browser
        .execute("return document.getElementById('scheduled-at').title;")
        .await;
    assert_eq!(
        goes_out,
        format!("{} (Europe/London)", at.replace('T', " ")),
        "the account's own time stays as the title"
    );
    browser.screenshot("post-scheduled").await;

    // Time passes; the runner publishes it once.
    clock.advance(jiff::SignedDuration::from_mins(6));
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let post: Value = publisher
            .get_json(&app, &format!("/api/v1/posts/{id}"))
            .await;
        if post["state"] == "published" {
            break;
        }
        assert!(Instant::now() < deadline, "never published: {post}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let posts = fake.state.posts();
    assert_eq!(posts.len(), 1, "published exactly once: {posts:?}");
    assert_eq!(posts.first().map(|post| post.text.as_str()), Some(text));

    // The calendar shows it, published, with its account.
    browser.goto(&app.url("/calendar")).await;
    let zone_note = browser.text_of("#calendar-zone").await;
    assert!(zone_note.contains("Europe/London"), "{zone_note}");
    let entry = browser
        .text_of(&format!(".cal-post[data-post-id='{id}']"))
        .await;
    assert!(
        entry.contains("published") && entry.contains("Sunny Café") && entry.contains("Mastodon"),
        "{entry}"
    );
    let painted = browser
        .execute(&format!(
            "return getComputedStyle(document.querySelector(\".cal-post[data-post-id='{id}'] .avatar\")).backgroundColor;"
        ))
        .await;
    assert_eq!(painted, "rgb(194, 65, 12)", "the account's own colour");
    browser.screenshot("calendar-week").await;

    // Dragging another post to the next day moves it there at the same time of day.
    let other =
        crate::posts::draft_id(&app, &owner, account, "Closed on Sunday for a staff party.").await;
    let approved = crate::posts::act(&app, &owner, other, "submit", json!({})).await;
    assert_eq!(approved.status(), StatusCode::OK);
    let scheduled = owner
        .post(
            &app,
            &format!("/api/v1/posts/{other}/schedule"),
            json!({ "at": "2027-01-16T10:00" }),
        )
        .await;
    assert_eq!(scheduled.status(), StatusCode::OK);
    browser.goto(&app.url("/calendar")).await;
    browser
        .execute(&format!(
            "const post = document.querySelector(\".cal-post[data-post-id='{other}']\");
             const day = document.querySelector(\".cal-day[data-date='2027-01-17']\");
             const data = new DataTransfer();
             const send = (target, type) => target.dispatchEvent(new DragEvent(type, {{ bubbles: true, cancelable: true, dataTransfer: data }}));
             send(post, 'dragstart'); send(day, 'dragover'); send(day, 'drop'); send(post, 'dragend');
             return true;"
        ))
        .await;
    assert!(
        browser
            .wait_for(&format!(
                "return document.querySelector(\".cal-day[data-date='2027-01-17'] .cal-post[data-post-id='{other}']\") !== null;"
            ))
            .await,
        "after the reload the post is on Sunday"
    );
    let moved = state_of(&publisher, &app, other).await;
    assert_eq!(moved["scheduled_at"], "2027-01-17T10:00:00Z", "{moved}");
    browser.goto(&app.url("/calendar?view=month")).await;
    assert!(
        browser
            .text_of(&format!(".cal-post[data-post-id='{id}']"))
            .await
            .contains("published")
    );
    browser.screenshot("calendar-month").await;

    // Its page links to it on Mastodon and lists the attempt.
    browser
        .click_and_wait(
            &browser
                .find(&format!(".cal-post[data-post-id='{id}']"))
                .await,
        )
        .await;
    assert_eq!(browser.text_of("#post-state").await, "Published");
    let attempts = browser.text_of("#attempts").await;
    assert!(attempts.contains("published"), "{attempts}");
    let link = browser
        .execute("return document.getElementById('remote-url')?.href ?? null;")
        .await;
    assert!(link.is_string(), "a link to the published post");
    browser.screenshot("post-published").await;

    // The account's page says as whom Herald posts, and offers its queue to the publisher.
    browser
        .goto(&app.url(&format!("/accounts/{account}")))
        .await;
    let connection = browser.text_of("#connection-state").await;
    assert!(connection.contains("Herald posts as"), "{connection}");
    assert!(
        browser.text_of("#slots").await.contains("Tuesday"),
        "the queue's slot is listed"
    );
    browser.screenshot("account-queue").await;
    browser.close().await;
}

async fn state_of(
    person: &crate::people::Person,
    app: &crate::helpers::TestApp,
    id: i64,
) -> serde_json::Value {
    person.get_json(app, &format!("/api/v1/posts/{id}")).await
}

/// The composer in Chromium: typing updates the preview as the network shows it (links
/// highlighted, the cut marked when too long), and choosing another account changes the
/// identity card (colour, name, handle, network) and the preview's network.
#[tokio::test]
async fn the_composers_preview_follows_the_text_and_the_identity_follows_the_account() {
    let (app, clock) = crate::people::app().await;
    let owner = crate::people::set_up(&app, &clock).await;
    let x = crate::accounts::new_account(&app, &owner, "@sunnycafe", owner.id).await;
    let added = owner
        .post(
            &app,
            "/api/v1/accounts",
            serde_json::json!({ "network": "mastodon", "handle": "@sunny@mastodon.social", "display_name": "Sunny on Mastodon", "avatar_colour": "#aa3355", "gatekeeper_id": owner.id }),
        )
        .await;
    assert_eq!(added.status(), reqwest::StatusCode::CREATED);
    let mastodon = added.json::<serde_json::Value>().await.expect("JSON")["id"]
        .as_i64()
        .expect("id");

    let Some(browser) = Browser::launch().await else {
        return;
    };
    sign_in_in_browser(&browser, &app, &clock, &owner).await;
    // Tall enough that the screenshots show the identity card, the text and the preview.
    browser.set_window_size(1100, 1300).await;
    browser
        .goto(&app.url(&format!("/compose?account={x}")))
        .await;
    assert_eq!(browser.text_of("#identity-name").await, "Sunny Café");
    assert_eq!(browser.text_of("#preview-network").await, "X");
    let painted =
        "return getComputedStyle(document.getElementById('identity-avatar')).backgroundColor;";
    assert_eq!(browser.execute(painted).await, "rgb(31, 95, 91)");

    let draft = browser.find("#draft").await;
    browser
        .type_into(
            &draft,
            "Autumn menu <b>today</b>: https://sunnycafe.example/menu",
        )
        .await;
    assert!(
        browser
            .wait_for("return document.querySelector('#preview-text .preview-link')?.textContent === 'https://sunnycafe.example/menu';")
            .await,
        "the link is highlighted as typed: {}",
        browser.text_of("#preview-text").await
    );
    let preview = browser.text_of("#preview-text").await;
    assert!(
        preview.starts_with("Autumn menu <b>today</b>:"),
        "shown as text: {preview}"
    );
    let bold = "return document.querySelector('#preview-text b') === null;";
    assert_eq!(browser.execute(bold).await, true, "no markup from the text");
    assert!(browser.text_of("#preview-links").await.contains("23"));
    assert!(
        browser
            .wait_for("return document.getElementById('counter').textContent !== '';")
            .await
    );
    browser.screenshot("composer-preview").await;

    browser
        .execute(&format!(
            "const s = document.getElementById('account_id'); s.value = '{mastodon}'; s.dispatchEvent(new Event('change')); return true;"
        ))
        .await;
    assert_eq!(browser.text_of("#identity-name").await, "Sunny on Mastodon");
    assert_eq!(
        browser.text_of("#identity-handle").await,
        "@sunny@mastodon.social"
    );
    assert_eq!(browser.text_of("#identity-network").await, "Mastodon");
    assert_eq!(browser.text_of("#preview-network").await, "Mastodon");
    assert_eq!(
        browser.text_of("#preview-handle").await,
        "@sunny@mastodon.social"
    );
    assert_eq!(browser.execute(painted).await, "rgb(170, 51, 85)");

    // Too long for Mastodon: the preview marks where it would stop.
    browser
        .type_into(&draft, &" Leek and potato soup.".repeat(22))
        .await;
    assert!(
        browser
            .wait_for("return document.querySelector('#preview-text .preview-over') !== null;")
            .await,
        "the cut is shown"
    );
    assert!(
        browser
            .text_of("#preview-cut")
            .await
            .contains("Too long for Mastodon")
    );
    assert!(
        browser
            .wait_for(
                "return document.getElementById('counter').classList.contains('counter-over');"
            )
            .await,
        "the count agrees: {}",
        browser.text_of("#counter").await
    );
    browser.screenshot("composer-preview-too-long").await;

    // An image chosen before the first save shows in the preview at once, from the file.
    let image = std::env::temp_dir().join(format!("herald-soup-{}.png", std::process::id()));
    std::fs::write(&image, crate::media::png(640, 480, 10)).expect("image file");
    browser
        .type_into(&browser.find("#image_alt").await, "A bowl of leek soup")
        .await;
    browser
        .type_into(&browser.find("#image").await, &image.display().to_string())
        .await;
    assert!(
        browser
            .wait_for("const img = document.querySelector('#preview-images img'); return img !== null && img.src.startsWith('data:image/png') && img.alt === 'A bowl of leek soup';")
            .await,
        "the chosen image is previewed"
    );

    // Saved, the draft's page shows the same preview for its account, with its image.
    browser
        .execute("document.getElementById('draft').value = ''; return true;")
        .await;
    browser
        .type_into(
            &draft,
            "Soup of the day: leek and potato. https://sunnycafe.example/soup",
        )
        .await;
    browser
        .click_and_wait(&browser.find("button[value=save]").await)
        .await;
    assert_eq!(browser.text_of("#post-state").await, "Draft");
    assert_eq!(browser.text_of("#preview-network").await, "Mastodon");
    assert_eq!(browser.text_of("#preview-name").await, "Sunny on Mastodon");
    assert_eq!(
        browser.text_of("#preview-text .preview-link").await,
        "https://sunnycafe.example/soup"
    );
    let kept = "const img = document.querySelector('#preview-images img'); return img !== null && img.getAttribute('src').startsWith('/api/v1/posts/') && img.alt === 'A bowl of leek soup';";
    assert_eq!(
        browser.execute(kept).await,
        true,
        "the image was saved with the draft"
    );
    let _ = std::fs::remove_file(&image);
    browser.screenshot("post-page-draft").await;
    browser.close().await;
}

/// A draft's own page loads times.js and draft.js together: both must run (they once both
/// declared a global `account`, and the second script stopped with a SyntaxError), so the live
/// count and the marked findings work there as in the composer.
#[tokio::test]
async fn a_drafts_own_page_counts_and_marks_as_the_author_types() {
    let (app, clock) = crate::people::app().await;
    let owner = crate::people::set_up(&app, &clock).await;
    let account = crate::accounts::new_account(&app, &owner, "@sunnycafe", owner.id).await;
    let post = crate::posts::draft_id(&app, &owner, account, "Soup of the day").await;
    let Some(browser) = Browser::launch().await else {
        return;
    };
    sign_in_in_browser(&browser, &app, &clock, &owner).await;
    browser.goto(&app.url(&format!("/posts/{post}"))).await;
    let draft = browser.find("#draft").await;
    browser.type_into(&draft, ", ask jo@example.com").await;
    assert!(
        browser
            .wait_for("return document.getElementById('counter').textContent.includes('/ 280');")
            .await,
        "the count runs on the draft's page: {:?}",
        browser.text_of("#counter").await
    );
    assert!(
        browser
            .wait_for("return document.querySelector('#draft-marked mark')?.textContent === 'jo@example.com';")
            .await,
        "the email address is marked on the draft's page"
    );
}

/// The account page is where access is given: the gatekeeper (here the owner) gives a colleague
/// contributor access, raises it to publisher, and as owner names the colleague gatekeeper,
/// all from the page's own forms.
#[tokio::test]
async fn an_owner_gives_a_colleague_access_and_names_them_gatekeeper_on_the_account_page() {
    let (app, clock) = crate::people::app().await;
    let owner = crate::people::set_up(&app, &clock).await;
    let sam =
        crate::people::invite_and_join(&app, &clock, &owner, "sam@sunny.example", "member").await;
    let account = crate::accounts::new_account(&app, &owner, "@sunnycafe", owner.id).await;
    let Some(browser) = Browser::launch().await else {
        return;
    };
    sign_in_in_browser(&browser, &app, &clock, &owner).await;
    browser
        .goto(&app.url(&format!("/accounts/{account}")))
        .await;
    assert!(
        browser
            .text_of("#access")
            .await
            .contains("Nobody else has access yet")
    );

    browser
        .click(
            &browser
                .find(&format!("#grant-member option[value='{}']", sam.id))
                .await,
        )
        .await;
    browser
        .click_and_wait(&browser.find("#grant-form button").await)
        .await;
    let table = browser.text_of("#access-table").await;
    assert!(table.contains("Person sam@sunny.example"), "{table}");
    let level = browser
        .execute(&format!(
            "return document.getElementById('level-{}').value;",
            sam.id
        ))
        .await;
    assert_eq!(level, "contributor");

    browser
        .click(
            &browser
                .find(&format!("#level-{} option[value=publisher]", sam.id))
                .await,
        )
        .await;
    browser
        .click_and_wait(
            &browser
                .find(&format!("tr[data-member='{}'] button", sam.id))
                .await,
        )
        .await;
    let granted = app.store.grant(account, sam.id).await.expect("grant");
    assert_eq!(
        granted,
        Some(herald::domain::accounts::AccountLevel::Publisher)
    );

    browser
        .click(
            &browser
                .find(&format!("#new-gatekeeper option[value='{}']", sam.id))
                .await,
        )
        .await;
    browser
        .click_and_wait(&browser.find("#gatekeeper-form button").await)
        .await;
    assert_eq!(
        browser.text_of("#gatekeeper-name").await,
        "Person sam@sunny.example"
    );
    let record = app
        .store
        .account(account)
        .await
        .expect("read")
        .expect("account");
    assert_eq!(record.gatekeeper_id, sam.id);
    browser.screenshot("account-access").await;
}

/// On a phone the menu folds behind a button that opens it, the current page stays marked, and
/// a table's rows keep their headings beside each value; at 1366 px the whole menu, "Sign out"
/// included, stays on the top bar's one line.
#[tokio::test]
async fn on_a_phone_the_menu_folds_behind_a_button_and_tables_keep_their_headings() {
    let (app, clock) = crate::people::app().await;
    let owner = crate::people::set_up(&app, &clock).await;
    let account = crate::accounts::new_account(&app, &owner, "@sunnycafe", owner.id).await;
    crate::posts::draft_id(&app, &owner, account, "Soup of the day: leek").await;
    let Some(browser) = Browser::launch().await else {
        return;
    };
    sign_in_in_browser(&browser, &app, &clock, &owner).await;

    browser.set_window_size(1366, 900).await;
    browser.goto(&app.url("/posts")).await;
    let one_line = browser
        .execute(
            "const bar = document.querySelector('.topbar-inner').getBoundingClientRect();
             const out = document.querySelector('.nav-me .link-button').getBoundingClientRect();
             const brand = document.querySelector('.brand').getBoundingClientRect();
             return out.top < brand.bottom && bar.height < 80;",
        )
        .await;
    assert_eq!(one_line, true, "Sign out stays beside the logo at 1366 px");
    assert_eq!(
        browser
            .execute("return getComputedStyle(document.getElementById('menu-button')).display;")
            .await,
        "none",
        "no menu button on a wide screen"
    );

    browser.set_window_size(390, 844).await;
    browser.goto(&app.url("/posts")).await;
    let shown = |id: &str| {
        format!("return getComputedStyle(document.getElementById('{id}')).display !== 'none';")
    };
    assert_eq!(browser.execute(&shown("menu-button")).await, true);
    assert_eq!(browser.execute(&shown("mainnav")).await, false, "folded");
    browser.screenshot("phone-menu-closed").await;
    browser.click(&browser.find("#menu-button").await).await;
    assert_eq!(browser.execute(&shown("mainnav")).await, true, "opened");
    assert_eq!(
        browser.text_of("#mainnav a[aria-current=page]").await,
        "Posts",
        "the current page is marked"
    );
    browser.screenshot("phone-menu-open").await;
    let heading = browser
        .execute("return getComputedStyle(document.querySelector('#posts-table td[data-label=State]'), '::before').content;")
        .await;
    assert_eq!(
        heading, "\"State: \"",
        "each value keeps its column's heading"
    );
    let overflow = browser
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
        )
        .await;
    assert_eq!(overflow, 0, "nothing overflows sideways");
    browser.close().await;
}
