//! The security review (issue 21): the company's practices measured with a score per account
//! and for the company, its daily history, each member's own part; the API and the page agree,
//! and acting on the page's advice raises the score.

use herald::domain::ids::AccountId;
use jiff::SignedDuration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{contract_test, owner_and_account};
use crate::people::{app, invite_and_join, set_up, signed_in_again};
use crate::webdriver::Browser;

fn at(second: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_800_000_000 + second).expect("valid test time")
}

contract_test!(
    a_day_keeps_one_score_and_the_history_reads_from_a_day_on,
    |store| {
        store
            .record_security_score("2026-12-01", 40, at(1))
            .await
            .expect("record");
        store
            .record_security_score("2026-12-02", 55, at(2))
            .await
            .expect("record");
        store
            .record_security_score("2026-12-02", 60, at(3))
            .await
            .expect("again");
        assert_eq!(
            store.security_scores("2026-12-02").await.expect("read"),
            vec![("2026-12-02".to_owned(), 60)]
        );
        assert_eq!(
            store
                .security_scores("2026-11-01")
                .await
                .expect("read")
                .len(),
            2
        );
    }
);

contract_test!(dangerous_inbox_items_are_counted_from_a_time_on, |store| {
    use herald::domain::inbox::{ItemKind, Verdict};
    let (_, account) = owner_and_account(&store, at(0)).await;
    let item = |key: &str, verdict: Verdict, second: i64| herald::store::NewInboxItem {
        account_id: account,
        network_key: key.to_owned(),
        kind: ItemKind::Mention,
        author_id: "1".to_owned(),
        author_handle: "@ann@example.social".to_owned(),
        author_name: "Ann".to_owned(),
        text: "hello".to_owned(),
        text_cut: false,
        url: None,
        reply_to: None,
        links: Vec::new(),
        verdict,
        reasons: Vec::new(),
        impostor: false,
        received_at: at(second),
    };
    for (key, verdict, second) in [
        ("old", Verdict::Dangerous, 10),
        ("new", Verdict::Dangerous, 100),
        ("fine", Verdict::Safe, 100),
    ] {
        store
            .add_inbox_item(&item(key, verdict, second), at(second))
            .await
            .expect("add");
    }
    assert_eq!(store.dangerous_inbox_since(at(50)).await.expect("count"), 1);
    assert_eq!(store.dangerous_inbox_since(at(0)).await.expect("count"), 2);
});

fn practice<'a>(practices: &'a Value, key: &str) -> &'a Value {
    practices
        .as_array()
        .expect("practices")
        .iter()
        .find(|practice| practice["key"] == key)
        .unwrap_or_else(|| panic!("no practice {key} in {practices}"))
}

fn account_score(review: &Value, id: AccountId) -> u64 {
    review["company"]["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .find(|account| account["id"] == id.get())
        .and_then(|account| account["score"].as_u64())
        .expect("the account's score")
}

#[tokio::test]
async fn owners_see_the_company_and_members_only_their_own_part() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let member = invite_and_join(&app, &clock, &owner, "sam@sunny.example", "member").await;
    let account = crate::accounts::new_account(&app, &owner, "@sunnycafe", owner.id).await;

    let review = owner.get_json(&app, "/api/v1/security").await;
    let company = &review["company"];
    let score = company["score"].as_u64().expect("score");
    assert!(score < 100, "nothing is recorded yet: {review}");
    let two_step = practice(&company["practices"], "network_2fa");
    assert_eq!(two_step["standing"], "attention");
    assert_eq!(two_step["fix"], format!("/accounts/{account}#credentials"));
    assert!(
        two_step["measured"]
            .as_str()
            .expect("measured")
            .contains("1 of 1 accounts"),
        "{two_step}"
    );
    assert_eq!(
        practice(&company["practices"], "gatekeeper")["standing"],
        "good"
    );
    assert_eq!(
        practice(&company["practices"], "drill")["standing"],
        "attention"
    );
    let history = company["history"].as_array().expect("history");
    assert_eq!(history.len(), 1, "today's reading only");
    assert_eq!(history[0]["score"], score);
    assert_eq!(
        practice(&review["you"], "own_passkey")["standing"],
        "attention"
    );

    let theirs = member.get_json(&app, "/api/v1/security").await;
    assert!(theirs["company"].is_null(), "{theirs}");
    assert_eq!(theirs["you"].as_array().expect("own part").len(), 2);
    let page = member
        .get(&app, "/security")
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("Your part") && !page.contains("The company's score"));

    // A token sees the company only with members:read; without me:read, nothing.
    let token = |scopes: Value| {
        let owner = &owner;
        let app = &app;
        async move {
            let made: Value = owner
                .post(
                    app,
                    "/api/v1/tokens",
                    json!({ "name": "review", "scopes": scopes, "expires_in_days": 1 }),
                )
                .await
                .json()
                .await
                .expect("JSON");
            made["secret"].as_str().expect("secret").to_owned()
        }
    };
    let ask = |secret: String| {
        let url = app.url("/api/v1/security");
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(secret)
                .send()
                .await
                .expect("request")
        }
    };
    let own_only = ask(token(json!(["me:read"])).await).await;
    assert_eq!(own_only.status(), StatusCode::OK);
    assert!(own_only.json::<Value>().await.expect("JSON")["company"].is_null());
    let with_members = ask(token(json!(["me:read", "members:read"])).await).await;
    assert!(with_members.json::<Value>().await.expect("JSON")["company"]["score"].is_u64());
    let refused = ask(token(json!(["posts:write"])).await).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
}

#[tokio::test]
async fn recording_the_networks_two_step_sign_in_raises_the_score() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let account = crate::accounts::new_account(&app, &owner, "@sunnycafe", owner.id).await;
    let before = owner.get_json(&app, "/api/v1/security").await;
    let seed = owner
        .send(
            &app,
            Method::PUT,
            &format!("/api/v1/accounts/{account}/credentials/totp_seed"),
            Some(json!({ "value": "JBSWY3DPEHPK3PXP" })),
        )
        .await;
    assert_eq!(seed.status(), StatusCode::OK);
    let after = owner.get_json(&app, "/api/v1/security").await;
    assert_eq!(
        account_score(&after, account),
        account_score(&before, account) + 20
    );
    assert!(after["company"]["score"].as_u64() > before["company"]["score"].as_u64());
    let two_step = practice(&after["company"]["practices"], "network_2fa");
    assert_eq!(two_step["standing"], "good");
    assert!(two_step["fix"].is_null());
}

#[tokio::test]
async fn the_daily_job_keeps_each_days_score_for_the_chart() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    crate::accounts::new_account(&app, &owner, "@sunnycafe", owner.id).await;
    let readings = || async { app.store.security_scores("2000-01-01").await.expect("read") };
    assert!(
        wait_for(|| async { readings().await.len() == 1 }).await,
        "the first at start"
    );
    clock.advance(SignedDuration::from_hours(25));
    assert!(
        wait_for(|| async { readings().await.len() == 2 }).await,
        "the next a day later: {:?}",
        readings().await
    );
    let owner = signed_in_again(&app, &clock, &owner).await;
    let review = owner.get_json(&app, "/api/v1/security").await;
    let history = review["company"]["history"].as_array().expect("history");
    assert_eq!(
        history.len(),
        2,
        "yesterday's reading and today's: {history:?}"
    );
    assert!(history[0]["day"].as_str() < history[1]["day"].as_str());
    let page = owner
        .get(&app, "/security")
        .await
        .text()
        .await
        .expect("page");
    assert!(
        page.contains("<polyline"),
        "the chart is drawn on the server"
    );
    assert!(!page.contains("<script>"));
}

/// On Mondays the owners get the week's summary by e-mail (through a real SMTP server): the
/// score, what needs doing and a link to the page; members get none.
#[tokio::test]
async fn on_mondays_the_owners_get_the_weekly_summary_by_email() {
    use crate::mail::{MailServer, Offer, SMTP_PASSWORD, app_with_mail, wait_for_subject};
    let Some(python) = crate::mail::mail_python() else {
        return;
    };
    let server = MailServer::start(&python, Offer::StartTls);
    let (app, clock) = app_with_mail(&server, SMTP_PASSWORD).await;
    let owner = set_up(&app, &clock).await;
    invite_and_join(&app, &clock, &owner, "sam@sunny.example", "member").await;
    crate::accounts::new_account(&app, &owner, "@sunnycafe", owner.id).await;
    let readings = || async { app.store.security_scores("2000-01-01").await.expect("read") };
    // The clock starts on a Friday: the day's reading is kept, and no summary goes out.
    assert!(wait_for(|| async { readings().await.len() == 1 }).await);
    clock.advance(SignedDuration::from_hours(72));
    let summary = wait_for_subject(&server, crate::people::OWNER_EMAIL, "security score").await;
    let text = summary["text"].as_str().expect("a plain-text part");
    assert!(text.contains("What needs doing"), "{text}");
    assert!(
        text.contains("Two-step sign-in is on at every network"),
        "{text}"
    );
    assert!(text.contains("/security"), "{text}");
    assert!(
        summary["html"]
            .as_str()
            .is_some_and(|html| html.contains("/security"))
    );
    assert!(
        server
            .messages()
            .iter()
            .all(|message| !(message["to"] == json!(["sam@sunny.example"])
                && message["subject"]
                    .as_str()
                    .is_some_and(|s| s.contains("security")))),
        "members get no summary"
    );
}

/// Waits (the job runner works on its own) until `ready` holds, for at most ten seconds.
async fn wait_for<F: Future<Output = bool>>(ready: impl Fn() -> F) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if ready().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    ready().await
}

/// In Chromium: the owner reads the advice, follows its link to the account, records the
/// network's two-step sign-in there, and comes back to a higher score; axe-core finds nothing
/// serious on the page, on a desktop and on a phone.
#[tokio::test]
async fn an_owner_follows_the_security_pages_advice_and_the_score_rises() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let account = crate::accounts::new_account(&app, &owner, "@sunnycafe", owner.id).await;
    let Some(browser) = Browser::launch().await else {
        return;
    };
    crate::browser::sign_in_in_browser(&browser, &app, &clock, &owner).await;
    browser.goto(&app.url("/security")).await;
    let before: u64 = browser
        .text_of("#company-score strong")
        .await
        .parse()
        .expect("a score");
    browser.check_accessibility("the security page").await;
    let advice = browser.text_of("#practice-network_2fa").await;
    assert!(advice.contains("Needs attention"), "{advice}");
    browser
        .click_and_wait(&browser.find("#practice-network_2fa a").await)
        .await;
    assert!(
        browser
            .current_url()
            .await
            .ends_with(&format!("/accounts/{account}#credentials"))
    );
    browser
        .execute("document.getElementById('field').value = 'totp_seed';")
        .await;
    browser.fill("#value", "JBSWY3DPEHPK3PXP").await;
    browser
        .click_and_wait(&browser.find("form[action$='/credentials'] button").await)
        .await;
    browser.goto(&app.url("/security")).await;
    let after: u64 = browser
        .text_of("#company-score strong")
        .await
        .parse()
        .expect("a score");
    assert!(after > before, "{before} → {after}");
    let advice = browser.text_of("#practice-network_2fa").await;
    assert!(advice.contains("Done"), "{advice}");
    browser.set_window_size(390, 844).await;
    browser.goto(&app.url("/security")).await;
    browser
        .check_accessibility("the security page on a phone")
        .await;
    browser.screenshot("security-page-phone").await;
    browser.close().await;
}

#[tokio::test]
async fn acceptance_is_measured_against_the_published_policy_not_the_rules_version() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    // The rules are saved twice (version 2) before the policy's words are published once
    // (version 1): the owner who published has accepted the policy in force.
    for toml in [
        "[terms]\nconfidential = [\"Falcon\"]\n",
        "[terms]\nconfidential = [\"Falcon\", \"Heron\"]\n",
    ] {
        let saved = owner
            .send(
                &app,
                Method::PUT,
                "/api/v1/policy/rules",
                Some(json!({ "toml": toml })),
            )
            .await;
        assert_eq!(saved.status(), StatusCode::OK);
    }
    let published = owner
        .send(
            &app,
            Method::PUT,
            "/api/v1/policy",
            Some(json!({ "markdown": "# Posting\n\nBe kind." })),
        )
        .await;
    assert_eq!(published.status(), StatusCode::OK);
    let review = owner.get_json(&app, "/api/v1/security").await;
    let accepted = practice(&review["company"]["practices"], "policy");
    assert_eq!(accepted["standing"], "good", "{accepted}");
    let own = practice(&review["you"], "own_policy");
    assert_eq!(own["standing"], "good", "{own}");
}
