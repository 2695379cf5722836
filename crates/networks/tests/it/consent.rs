//! The browser's step of OAuth against a fake network, for the adapters that connect from a
//! browser: the adapter's authorize address, the fake's page (which approves at once), and
//! the code it sends back, which the fake's token endpoint must redeem as the network does.

use std::time::Duration;

use jiff::Timestamp;
use networks::fake::FakeServer;
use networks::{Adapter, AuthorizeRequest, Endpoint, Grant, NetworkError, OAuthClient};
use reqwest::StatusCode;

const CALLBACK: &str = "https://herald.example/oauth/callback";

/// An endpoint at `url` with Herald's app there (a fake's client id and secret).
pub fn with_app(url: &str, (id, secret): (&str, &str)) -> Endpoint {
    let oauth = OAuthClient {
        id: id.to_owned(),
        secret: Some(secret.into()),
    };
    Endpoint::new(url, crate::local(Duration::from_secs(2)), Some(oauth))
}

/// Checks the whole round trip through `adapter` against `server`, whose page is at `page`:
/// the browser comes back with the state and a code; the code connects only with the
/// redirect URI it was issued for, and only once (the one code exchange that gave tokens).
pub async fn codes_connect_once_and_only_with_their_redirect_uri(
    adapter: &dyn Adapter,
    server: &FakeServer,
    page: &str,
) {
    let base = server.url();
    let base = base.as_str();
    let now = Timestamp::from_second(1_800_000_000).expect("time");
    let elsewhere = consent(adapter, base, page).await;
    let error = adapter
        .connect(&grant(&elsewhere, "https://evil.example/callback"), now)
        .await
        .expect_err("another redirect URI");
    assert!(matches!(error, NetworkError::Rejected(_)), "{error:?}");

    let code = consent(adapter, base, page).await;
    adapter
        .connect(&grant(&code, CALLBACK), now)
        .await
        .expect("the code connects");
    let error = adapter
        .connect(&grant(&code, CALLBACK), now)
        .await
        .expect_err("a code is used once");
    assert!(matches!(error, NetworkError::Rejected(_)), "{error:?}");
    let exchanges = server.state.grants();
    let codes = exchanges
        .iter()
        .filter(|grant| *grant == "authorization_code");
    assert_eq!(codes.count(), 1, "{exchanges:?}");
}

/// Follows the adapter's authorize address to the fake's page and back: the code.
async fn consent(adapter: &dyn Adapter, base: &str, page: &str) -> String {
    let authorize = adapter
        .authorize_url(&AuthorizeRequest {
            redirect_uri: CALLBACK,
            state: "state-7",
            code_challenge: "a-challenge-the-network-ignores",
        })
        .expect("an app is configured");
    assert!(
        authorize.starts_with(&format!("{base}{page}?")),
        "{authorize}"
    );
    let answer = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(&authorize)
        .send()
        .await
        .expect("the fake's page answers");
    assert_eq!(answer.status(), StatusCode::FOUND, "{authorize}");
    let back = answer
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| reqwest::Url::parse(value).ok())
        .expect("a redirect back");
    assert!(back.as_str().starts_with(CALLBACK), "{back}");
    let param = |name: &str| {
        back.query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default()
    };
    assert_eq!(param("state"), "state-7");
    let code = param("code");
    assert!(!code.is_empty(), "{back}");
    code
}

fn grant(code: &str, redirect_uri: &str) -> Grant {
    Grant::AuthorizationCode {
        code: code.to_owned().into(),
        verifier: "no-verifier-for-this-network".to_owned().into(),
        redirect_uri: redirect_uri.to_owned(),
    }
}
