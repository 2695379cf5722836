//! The whole team flow in Chromium, from the pages alone (no API call by hand): the owner sets
//! Herald up, invites a colleague, adds two accounts (Mastodon and X) and connects them, gives the
//! colleague contributor access; the colleague writes one post for both accounts with a wished
//! time; the owner finds it on Home, reviews it with its findings, approves both; they go out
//! on both (fake) servers.

use std::time::{Duration, Instant};

use herald::clock::{Clock, ManualClock};
use herald::domain::totp::{TotpSecret, step_at};
use networks::fake::{FakeState, mastodon};

use crate::browser::set_up_in_browser;
use crate::webdriver::Browser;

#[tokio::test]
async fn owner_and_colleague_run_the_whole_flow_from_the_pages_and_it_goes_out_on_both_accounts() {
    let cafe_server = mastodon::start(FakeState::new("cafe-token-7f3a", 3))
        .await
        .expect("fake Mastodon starts");
    let bakery_server = networks::fake::x::start(FakeState::new("bakery-token-91c2", 5))
        .await
        .expect("fake X starts");
    let clock = ManualClock::new(jiff::Timestamp::from_second(1_800_000_000).expect("time"));
    let (mastodon_url, x_url) = (cafe_server.url(), bakery_server.url());
    let app = crate::helpers::spawn_app_with_clock(
        |config| {
            config.networks.mastodon_instance_url = mastodon_url.clone();
            config.networks.x_api_url = x_url.clone();
        },
        std::sync::Arc::new(clock.clone()),
    )
    .await;
    let code_for = |secret: &str| {
        TotpSecret::from_base32(secret)
            .expect("base32 secret")
            .code_at_step(step_at(clock.now()))
    };
    let Some(owner) = Browser::launch().await else {
        return;
    };
    set_up_in_browser(&owner, &app.setup_link(), &code_for).await;
    owner.screenshot("team-home-first-run").await;
    let checklist = owner.text_of("#checklist").await;
    assert!(
        checklist.contains("Add your first social account"),
        "{checklist}"
    );

    // The owner invites a colleague, who joins in a browser of their own.
    owner.goto(&app.url("/members")).await;
    owner.fill("#invite-email", "sam@sunny.example").await;
    owner
        .click_and_wait(&owner.find("#invite form button").await)
        .await;
    let link = owner
        .property(&owner.find("#invitation-link").await, "value")
        .await;
    let link = link.as_str().expect("link").to_owned();
    owner.screenshot("team-members-invited").await;
    let Some(sam) = Browser::launch().await else {
        return;
    };
    sam.goto(&link).await;
    let sam_secret = sam.text_of("#totp-secret").await;
    sam.fill("#name", "Sam Baker").await;
    sam.fill("#password", "violet lanterns over the quay").await;
    sam.fill("#code", &code_for(&sam_secret)).await;
    sam.click_and_wait(&sam.find("form button[type=submit]").await)
        .await;
    clock.advance(jiff::SignedDuration::from_secs(30));

    // Two accounts, added, connected and shared with Sam from their pages.
    let mut accounts = Vec::new();
    for (name, network, handle, server, token) in [
        (
            "Sunny Café",
            "mastodon",
            "@herald@127.0.0.1",
            cafe_server.url(),
            "cafe-token-7f3a",
        ),
        (
            "Sunny Bakery",
            "x",
            "@herald_test",
            String::new(),
            "bakery-token-91c2",
        ),
    ] {
        owner.goto(&app.url("/accounts")).await;
        owner
            .execute(&format!(
                "document.getElementById('network').value = '{network}'; return true;"
            ))
            .await;
        owner.fill("#handle", handle).await;
        owner.fill("#display_name", name).await;
        owner
            .click_and_wait(&owner.find("form[action='/accounts'] button").await)
            .await;
        let url = owner.current_url().await;
        let Some(id) = url
            .rsplit('/')
            .next()
            .and_then(|last| last.split('#').next()?.parse::<i64>().ok())
        else {
            let said = owner
                .execute("return document.querySelector('main').innerText;")
                .await;
            panic!("the new account's page, not {url}: {said}");
        };
        owner.fill("#token", token).await;
        owner.fill("#server", &server).await;
        owner
            .click_and_wait(&owner.find("#connect-form button").await)
            .await;
        let state = owner.text_of("#connection-state").await;
        assert!(state.contains("Connected"), "{name}: {state}");
        owner
            .execute("const level = document.getElementById('grant-level'); level.value = 'contributor'; return true;")
            .await;
        owner
            .click_and_wait(&owner.find("#grant-form button").await)
            .await;
        let table = owner.text_of("#access-table").await;
        assert!(
            table.contains("Sam Baker") && table.contains("contributor"),
            "{table}"
        );
        owner.screenshot(&format!("team-account-{id}")).await;
        accounts.push(id);
    }

    // Sam writes one post for both accounts, with a time, and submits it.
    sam.goto(&app.url("/compose")).await;
    sam.execute(&format!(
        "document.getElementById('account_id').value = '{}'; document.getElementById('account_id').dispatchEvent(new Event('change')); return true;",
        accounts[0]
    ))
    .await;
    sam.click(
        &sam.find(&format!("input[name='also_{}']", accounts[1]))
            .await,
    )
    .await;
    let text = "Pumpkin soup is back! Ask jo.bloggs@example.com for the recipe.";
    sam.type_into(&sam.find("#draft").await, text).await;
    assert!(
        sam.wait_for("return document.getElementById('also-counts').textContent.includes('Sunny Bakery on X');")
            .await,
        "the other account's count is shown: {}",
        sam.text_of("#also-accounts").await
    );
    // The X account's own tab: its preview follows the text above until it has its own text,
    // then shows that, with its own findings and its own count.
    let tab = format!(".also-line[data-account='{}']", accounts[1]);
    sam.click(&sam.find(&format!("{tab} summary")).await).await;
    assert!(
        sam.wait_for(&format!(
            "return document.querySelector(\"{tab} .tailor-preview-text\").textContent.startsWith('Pumpkin soup is back! Ask');"
        ))
        .await,
        "the tab previews the text above: {}",
        sam.text_of(&tab).await
    );
    let own = "Pumpkin soup is back! On X too, recipes from jo.bloggs@example.com";
    sam.type_into(&sam.find(&format!("{tab} textarea")).await, own)
        .await;
    assert!(
        sam.wait_for(&format!(
            "return document.querySelector(\"{tab} .tailor-preview-text\").textContent === '{own}' && document.querySelector(\"{tab} .tailor-findings\").textContent.includes('Personal email address');"
        ))
        .await,
        "the tab shows its own text and findings: {}",
        sam.text_of(&tab).await
    );
    assert!(
        sam.wait_for(&format!(
            "return /^\\d+ \\/ 280 weighted characters on X\\.$/.test(document.querySelector(\"{tab} .tailor-fit\").textContent);"
        ))
        .await,
        "the tab counts its own text as X does: {}",
        sam.text_of(&format!("{tab} .tailor-fit")).await
    );
    let zone = jiff::tz::TimeZone::get("Europe/London").expect("tzdb");
    let at = jiff::Timestamp::from_second(clock.now().as_second() + 1800)
        .expect("time")
        .to_zoned(zone)
        .strftime("%Y-%m-%dT%H:%M")
        .to_string();
    sam.execute(&format!(
        "document.getElementById('at').value = '{at}'; return true;"
    ))
    .await;
    sam.screenshot("team-composer-two-accounts").await;
    sam.click_and_wait(&sam.find("button[value=submit]").await)
        .await;
    let listed = sam.text_of("#posts-table").await;
    assert_eq!(
        listed.matches("Waiting for approval").count(),
        2,
        "one post for each account, both waiting: {listed}"
    );
    sam.screenshot("team-posts-submitted").await;

    // The owner finds them on Home, reads the findings, approves each.
    owner.goto(&app.url("/")).await;
    let waiting = owner.text_of("#to-review").await;
    assert_eq!(
        waiting.matches("Pumpkin soup is back!").count(),
        2,
        "{waiting}"
    );
    assert!(waiting.contains("by Sam Baker"), "{waiting}");
    owner.screenshot("team-home-to-review").await;
    for _ in 0..2 {
        owner.goto(&app.url("/")).await;
        owner
            .click_and_wait(&owner.find("#to-review li a").await)
            .await;
        let findings = owner.text_of("#post-findings").await;
        assert!(
            findings.contains("Personal email address") && findings.contains("Needs approval"),
            "{findings}"
        );
        owner.screenshot("team-review").await;
        owner.click_and_wait(&owner.find("#approve").await).await;
        assert_eq!(owner.text_of("#post-state").await, "Scheduled");
        let history = owner.text_of("#history").await;
        assert!(
            history.contains("Sam Baker wrote it") && history.contains("approved it"),
            "{history}"
        );
    }

    // Half an hour later, both are out, once each, on their own servers.
    clock.advance(jiff::SignedDuration::from_mins(31));
    let deadline = Instant::now() + Duration::from_secs(20);
    while cafe_server.state.posts().is_empty() || bakery_server.state.posts().is_empty() {
        assert!(Instant::now() < deadline, "never published on both servers");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Each with its own text: the café's the text above, the bakery's on X its own.
    for (server, sent) in [(&cafe_server, text), (&bakery_server, own)] {
        let posts = server.state.posts();
        assert_eq!(posts.len(), 1, "once each: {posts:?}");
        assert_eq!(posts.first().map(|post| post.text.as_str()), Some(sent));
    }
    // Herald records the outcome just after the server took the post: the list catches up.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        owner.goto(&app.url("/posts?state=published")).await;
        let rows = owner
            .execute("return document.querySelectorAll('#posts-table tbody tr').length;")
            .await;
        if rows == 2 {
            break;
        }
        if Instant::now() > deadline {
            owner.goto(&app.url("/posts")).await;
            let all = owner.text_of("main").await;
            panic!("both listed as published, not {rows}: {all}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    owner.screenshot("team-published").await;
    sam.close().await;
    owner.close().await;
}
