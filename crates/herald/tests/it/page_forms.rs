//! Page forms are for signed-in browsers: an API token never passes them, whatever it sends as
//! the form's security token.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::people::{app, invite_and_join, set_up};

#[tokio::test]
async fn an_api_token_cannot_post_a_page_form_even_with_an_empty_security_token() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let member = invite_and_join(&app, &clock, &owner, "mia@sunny.example", "member").await;
    let published = owner
        .send(
            &app,
            Method::PUT,
            "/api/v1/policy",
            Some(json!({ "markdown": "Be kind." })),
        )
        .await;
    assert_eq!(published.status(), StatusCode::OK);
    let token: Value = member
        .post(
            &app,
            "/api/v1/tokens",
            json!({ "name": "reader", "scopes": ["policy:read"], "expires_in_days": 1 }),
        )
        .await
        .json()
        .await
        .expect("JSON");
    let secret = token["secret"].as_str().expect("secret");

    for csrf in ["", "anything"] {
        let response = reqwest::Client::new()
            .post(app.url("/policy/acknowledge"))
            .bearer_auth(secret)
            .form(&[("csrf", csrf), ("version", "1")])
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "csrf {csrf:?}");
        let page = response.text().await.expect("body");
        assert!(page.contains("forms are for signed-in browsers"), "{page}");
    }
    let current: Value = member.get_json(&app, "/api/v1/policy").await;
    assert!(
        current["acknowledged_at"].is_null(),
        "the token acknowledged nothing: {current}"
    );

    // The member's own browser session still acknowledges through the same form.
    let page = member
        .client
        .post(app.url("/policy/acknowledge"))
        .form(&[("csrf", member.csrf.as_str()), ("version", "1")])
        .send()
        .await
        .expect("request");
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    let current: Value = member.get_json(&app, "/api/v1/policy").await;
    assert!(!current["acknowledged_at"].is_null(), "{current}");
}
