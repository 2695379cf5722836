//! Connecting a Bluesky account from the browser with AT Protocol OAuth, against the fake PDS
//! (also the account's authorization server and PLC directory): the gatekeeper's round trip,
//! publishing with the DPoP-bound tokens (refreshed before they expire), what a callback from
//! another server connects (nothing), and the client metadata a Herald on https publishes.

use networks::fake::bluesky::{DID, HANDLE};
use reqwest::StatusCode;
use reqwest::header::{HOST, LOCATION};
use serde_json::{Value, json};

use crate::helpers::spawn_app_with;
use crate::oauth::{
    Browser, account_page, connection, consent, param, refresh_target, scene, scene_at, sent_back,
    with_param,
};

#[tokio::test]
async fn a_gatekeeper_connects_bluesky_by_oauth_and_a_post_goes_out_with_dpop_bound_tokens() {
    let scene = scene("bluesky").await;
    let page = account_page(&scene).await;
    assert!(
        page.contains("Connect with Bluesky") && page.contains("app password"),
        "both ways to connect are offered: {page}"
    );
    let (browser, csrf) = Browser::of(&scene, &scene.keeper).await;
    let (started, ceremony) = browser.start(&scene, &csrf, "").await;
    assert_eq!(started.status(), StatusCode::OK);
    let authorize = refresh_target(&started);
    assert!(
        authorize.starts_with(&format!("{}/oauth/authorize?", scene.fake.url())),
        "{authorize}"
    );
    // The request itself was pushed to the server: the browser only carries its handle.
    assert!(param(&authorize, "request_uri").starts_with("urn:ietf:params:oauth:request_uri:"));
    assert!(param(&authorize, "code_challenge").is_empty());
    let client_id = param(&authorize, "client_id");
    assert!(
        client_id.starts_with("http://localhost?redirect_uri=http%3A%2F%2F127.0.0.1%3A"),
        "a Herald without an https address is a loopback client: {client_id}"
    );

    let back = consent(&authorize).await;
    assert_eq!(param(&back, "iss"), scene.fake.url());
    let finished = browser.callback(&back, &ceremony).await;
    assert_eq!(finished.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        finished.headers().get(LOCATION).expect("location"),
        &format!("/accounts/{}#connection", scene.account)
    );
    assert_eq!(connection(&scene).await, "connected");
    assert_eq!(scene.fake.state.grants(), ["authorization_code"]);
    let audit = scene.audit().await;
    assert!(
        audit.contains("account.connected") && audit.contains(HANDLE),
        "{audit}"
    );
    assert!(!audit.contains("fake-dpop"), "no token in the audit log");

    // The fake's access tokens last fifteen minutes: the publisher refreshes them first.
    let id = scene
        .published_after("Sourdough is back on Saturday.", 30)
        .await;
    assert_eq!(
        scene.fake.state.grants(),
        ["authorization_code", "refresh_token"]
    );
    let posts = scene.fake.state.posts();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0].text, "Sourdough is back on Saturday.");
    let post: Value = scene
        .keeper
        .get_json(&scene.app, &format!("/api/v1/posts/{id}"))
        .await;
    assert!(
        post["remote_id"]
            .as_str()
            .is_some_and(|uri| uri.starts_with(&format!("at://{DID}/"))),
        "{post}"
    );
}

#[tokio::test]
async fn a_callback_that_names_another_authorization_server_connects_nothing() {
    let scene = scene("bluesky").await;
    let (browser, ceremony, back) = sent_back(&scene, "").await;
    let forged = with_param(&back, "iss", "https://evil.example");
    let finished = browser.callback(&forged, &ceremony).await;
    assert_eq!(finished.status(), StatusCode::OK);
    let page = finished.text().await.expect("page");
    assert!(
        page.contains("Not connected") && page.contains("authorization server"),
        "{page}"
    );
    assert_eq!(connection(&scene).await, "not_connected");
    assert!(
        scene.fake.state.grants().is_empty(),
        "the code was never sent"
    );
}

#[tokio::test]
async fn herald_opened_at_localhost_is_told_to_use_127_0_0_1_for_bluesky() {
    let scene = scene("bluesky").await;
    let (browser, csrf) = Browser::of(&scene, &scene.keeper).await;
    let port = reqwest::Url::parse(&scene.app.url("/"))
        .expect("URL")
        .port()
        .expect("port");
    let response = browser
        .http
        .post(scene.app.url(&format!("/accounts/{}/oauth", scene.account)))
        .header(HOST, format!("localhost:{port}"))
        .header(reqwest::header::COOKIE, browser.session.clone())
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.expect("page");
    assert!(page.contains("http://127.0.0.1"), "{page}");
    assert_eq!(connection(&scene).await, "not_connected");
}

#[tokio::test]
async fn a_herald_on_https_publishes_its_client_metadata_with_only_its_public_key() {
    let app = spawn_app_with(|config| {
        config.public_url = Some("https://herald.example".to_owned());
    })
    .await;
    let document: Value = reqwest::get(app.url(networks::bluesky::oauth::METADATA_PATH))
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        document["client_id"],
        "https://herald.example/oauth/bluesky/client-metadata.json"
    );
    assert_eq!(
        document["redirect_uris"],
        json!(["https://herald.example/oauth/callback"])
    );
    assert_eq!(document["token_endpoint_auth_method"], "private_key_jwt");
    let key = &document["jwks"]["keys"][0];
    assert_eq!(key["kty"], "EC");
    assert!(key.get("d").is_none(), "never the private part: {key}");

    let local = scene_at("bluesky", None).await;
    let missing = reqwest::get(local.app.url(networks::bluesky::oauth::METADATA_PATH))
        .await
        .expect("request");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}
