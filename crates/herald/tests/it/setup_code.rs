//! First-run setup needs the one-time setup code that Herald prints at first start (and
//! `herald setup-code` prints again), whatever address the request comes from.

use std::sync::Arc;

use herald::clock::ManualClock;
use herald::domain::totp::TotpSecret;
use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, contract_test, herald, herald_for, run, setup_code_in, setup_link_in,
    spawn_app_with_clock,
};
use crate::people::{OWNER_PASSWORD, client, code};

async fn app() -> (TestApp, ManualClock) {
    crate::people::app().await
}

/// Sends `POST /api/v1/setup` with a valid first owner and `setup_code` (left out when `None`).
async fn try_setup(
    app: &TestApp,
    clock: &ManualClock,
    setup_code: Option<&str>,
) -> reqwest::Response {
    let client = client();
    let enrolment: Value = client
        .get(app.url("/api/v1/setup?email=ann@shop.example"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    // Once Herald is set up there is no enrolment to start; the attempt is made all the same.
    let totp_code = enrolment["secret"].as_str().map_or_else(
        || "000000".to_owned(),
        |secret| code(&TotpSecret::from_base32(secret).expect("base32"), clock),
    );
    let mut body = json!({
        "organisation": "Shop", "name": "Ann", "email": "ann@shop.example",
        "password": OWNER_PASSWORD, "enrolment_token": enrolment["enrolment_token"].as_str().unwrap_or("none"),
        "code": totp_code,
    });
    if let Some(setup_code) = setup_code {
        body["setup_code"] = json!(setup_code);
    }
    client
        .post(app.url("/api/v1/setup"))
        .json(&body)
        .send()
        .await
        .expect("request")
}

async fn assert_problem(response: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    response.json().await.expect("JSON")
}

#[tokio::test]
async fn herald_prints_a_setup_link_that_carries_the_code_at_first_start() {
    let (app, _clock) = app().await;
    let printed = app
        .setup_announcement
        .clone()
        .expect("printed at first start");
    let link = setup_link_in(&printed);
    assert!(
        link.starts_with(&format!("http://{}/setup?code=", app.addr)),
        "{link}"
    );
    let code = setup_code_in(&link);
    assert_eq!(code.len(), 23, "four groups of five: {code}");
    assert!(printed.contains(&format!("setup code {code}")), "{printed}");
    assert!(printed.contains("herald setup-code"), "{printed}");
}

#[tokio::test]
async fn setup_without_the_code_or_with_a_wrong_code_is_refused_and_creates_nothing() {
    let (app, clock) = app().await;
    let missing = assert_problem(
        try_setup(&app, &clock, None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        missing["detail"]
            .as_str()
            .expect("detail")
            .contains("setup_code"),
        "{missing}"
    );
    let empty = assert_problem(
        try_setup(&app, &clock, Some("")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(empty["field"], "setup_code");
    assert!(
        empty["detail"]
            .as_str()
            .expect("detail")
            .starts_with("enter the setup code"),
        "{empty}"
    );
    let wrong = assert_problem(
        try_setup(&app, &clock, Some("abcde-fghjk-mnpqr-stvwx")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(wrong["field"], "setup_code");
    assert!(
        wrong["detail"]
            .as_str()
            .expect("detail")
            .contains("herald setup-code"),
        "{wrong}"
    );
    assert_eq!(app.store.user_count().await.expect("count"), 0);
    let refusals = app
        .store
        .audit_entries(&herald::store::AuditFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("audit");
    assert_eq!(
        refusals.len(),
        2,
        "the empty and the wrong code are audited"
    );
    assert!(refusals.iter().all(|entry| entry.action == "setup.refused"));
}

#[tokio::test]
async fn the_setup_code_works_once_and_as_typed_by_a_person() {
    let (app, clock) = app().await;
    let typed = app.setup_code().to_uppercase().replace('-', " ");
    assert_eq!(
        try_setup(&app, &clock, Some(&typed)).await.status(),
        StatusCode::CREATED
    );
    clock.advance(SignedDuration::from_secs(30));
    let again = assert_problem(
        try_setup(&app, &clock, Some(&app.setup_code())).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(again["detail"], "Herald is already set up; sign in instead");
}

#[tokio::test]
async fn wrong_setup_codes_from_one_address_are_slowed_down() {
    let (app, clock) = app().await;
    for _ in 0..11 {
        let wrong = try_setup(&app, &clock, Some("00000-00000-00000-00000")).await;
        assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let waiting = try_setup(&app, &clock, Some(&app.setup_code())).await;
    assert_eq!(waiting.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(waiting.headers().contains_key("retry-after"));
    clock.advance(SignedDuration::from_secs(2));
    assert_eq!(
        try_setup(&app, &clock, Some(&app.setup_code()))
            .await
            .status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn the_setup_page_takes_the_code_from_the_link_and_shows_a_wrong_one_beside_its_field() {
    let (app, clock) = app().await;
    let link = app.setup_link();
    let page = client().get(&link).send().await.expect("request");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("body");
    assert!(
        html.contains(r#"name="code" required"#)
            && html.contains(&format!(r#"value="{}""#, app.setup_code())),
        "the link's code is filled in: {html}"
    );

    let step_one = "/setup?code=not-the-code&organisation=Shop&name=Ann&email=ann%40shop.example";
    let refused = client()
        .get(app.url(step_one))
        .send()
        .await
        .expect("request");
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.expect("body");
    assert!(
        html.contains(r#"<p class="field-error" id="setup_code-error" role="alert">This setup code is not right"#),
        "{html}"
    );
    assert!(
        !html.contains("totp-secret"),
        "no authenticator step without the code"
    );

    // The second step's form carries the code; a wrong one comes back as a field to type again.
    let enrolment: Value = client()
        .get(app.url("/api/v1/setup?email=ann@shop.example"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    let secret =
        TotpSecret::from_base32(enrolment["secret"].as_str().expect("secret")).expect("base32");
    let form = [
        ("setup_code", "not-the-code"),
        ("organisation", "Shop"),
        ("name", "Ann"),
        ("email", "ann@shop.example"),
        ("password", OWNER_PASSWORD),
        (
            "enrolment_token",
            enrolment["enrolment_token"].as_str().expect("token"),
        ),
        ("code", &code(&secret, &clock)),
    ];
    let refused = client()
        .post(app.url("/setup"))
        .form(&form)
        .send()
        .await
        .expect("request");
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.expect("body");
    assert!(
        html.contains(r#"<input id="setup_code" name="setup_code""#)
            && html.contains(r#"id="setup_code-error""#),
        "{html}"
    );
    assert_eq!(app.store.user_count().await.expect("count"), 0);
}

#[tokio::test]
async fn herald_setup_code_prints_the_code_again_until_setup_is_done() {
    let clock = ManualClock::new(Timestamp::from_second(1_800_000_000).expect("time"));
    let app = spawn_app_with_clock(|_| {}, Arc::new(clock.clone())).await;
    let setup_code = || {
        let mut command = herald_for(&app.data_dir);
        command
            .arg("setup-code")
            .arg("--data-dir")
            .arg(&app.data_dir);
        run(&mut command)
    };
    let (output, stdout, stderr) = setup_code();
    assert!(output.status.success(), "{stderr}");
    assert_eq!(setup_code_in(&setup_link_in(&stdout)), app.setup_code());
    assert_eq!(
        try_setup(&app, &clock, Some(&setup_code_in(&setup_link_in(&stdout))))
            .await
            .status(),
        StatusCode::CREATED
    );
    let (output, stdout, stderr) = setup_code();
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stderr.contains("already set up"), "{stderr}");
    assert!(!stdout.contains("/setup?code="), "{stdout}");
}

#[tokio::test]
async fn a_restart_before_setup_prints_the_same_code() {
    let root = tempfile::TempDir::new().expect("temporary directory");
    let config = crate::helpers::test_config(root.path());
    let start = || herald::server::App::build(config.clone(), Arc::new(herald::clock::SystemClock));
    let first = start().await.expect("first start");
    let code = setup_code_in(&setup_link_in(first.setup_announcement().expect("printed")));
    drop(first);
    let second = start().await.expect("second start");
    let again = setup_code_in(&setup_link_in(
        second.setup_announcement().expect("printed"),
    ));
    assert_eq!(code, again);
}

#[tokio::test]
async fn serve_still_accepts_the_retired_allow_remote_setup_flag() {
    let (output, stdout, stderr) = run(herald().args(["serve", "--allow-remote-setup", "--help"]));
    assert!(output.status.success(), "{stderr}");
    assert!(!stdout.contains("--allow-remote-setup"), "hidden: {stdout}");
}

contract_test!(
    the_setup_code_nonce_is_kept_until_the_organisation_is_created,
    |store| {
        let now = Timestamp::from_second(1_800_000_000).expect("time");
        assert_eq!(
            store.setup_code_nonce("first", now).await.expect("nonce"),
            "first"
        );
        assert_eq!(
            store.setup_code_nonce("second", now).await.expect("nonce"),
            "first",
            "the first nonce kept wins"
        );
        crate::helpers::owner_and_account(&store, now).await;
        assert_eq!(
            store.setup_code_nonce("third", now).await.expect("nonce"),
            "third",
            "the nonce was spent with the setup"
        );
    }
);
