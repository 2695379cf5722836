//! The X adapter against its fake: posts, images with alt text, reconciling an unknown
//! outcome from the user's posts, OAuth 2.0 with PKCE and rotating refresh tokens, and X's own
//! error bodies and reset header (the faults every network meets are in `faults.rs`).

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::http::StatusCode;
use axum::routing::post;
use jiff::{SignedDuration, Timestamp};
use networks::fake::{FakeServer, FakeState, x as fake};
use networks::x::X;
use networks::{
    Adapter, AuthorizeRequest, Endpoint, Grant, Media, NetworkError, OAuthClient, Outgoing,
    RetryAfter, Tokens,
};
use secrecy::{ExposeSecret, SecretString};

const TOKEN: &str = "x-access-token-sekrit-77";

async fn api() -> (FakeServer, X, Tokens) {
    let server = fake::start(FakeState::new(TOKEN, 11))
        .await
        .expect("fake starts");
    let adapter = adapter(&server.url(), Duration::from_secs(5), fake::CLIENT_SECRET);
    (server, adapter, tokens())
}

fn adapter(url: &str, timeout: Duration, secret: &str) -> X {
    let oauth = OAuthClient {
        id: fake::CLIENT_ID.to_owned(),
        secret: Some(secret.into()),
    };
    X::new(Endpoint::new(url, crate::local(timeout), Some(oauth)))
}

fn tokens() -> Tokens {
    Tokens {
        access: TOKEN.into(),
        refresh: Some("refresh-0".into()),
        expires_at: Some(now()),
        subject: fake::USER_ID.to_owned(),
        server: None,
        dpop: None,
    }
}

fn now() -> Timestamp {
    Timestamp::from_second(1_800_000_000).expect("time")
}

fn outgoing(key: &str, text: &str) -> Outgoing {
    Outgoing {
        key: key.to_owned(),
        text: text.to_owned(),
        media: Vec::new(),
        created_at: now(),
    }
}

fn code_grant(code: &str) -> Grant {
    Grant::AuthorizationCode {
        code: code.into(),
        verifier: "verifier-xyz".into(),
        redirect_uri: "https://herald.example/callback".to_owned(),
    }
}

/// A server answering `POST /2/tweets` with one fixed status, headers and body.
async fn answering(
    status: StatusCode,
    headers: Vec<(&'static str, &'static str)>,
    body: serde_json::Value,
) -> FakeServer {
    let router = axum::Router::new().route(
        "/2/tweets",
        post(move || {
            let headers = headers.clone();
            let body = body.clone();
            async move {
                let mut map = axum::http::HeaderMap::new();
                for (name, value) in headers {
                    map.insert(name, axum::http::HeaderValue::from_static(value));
                }
                (status, map, Json(body))
            }
        }),
    );
    let state = FakeState::new(TOKEN, 1);
    FakeServer::start(router, Arc::clone(&state))
        .await
        .expect("starts")
}

#[tokio::test]
async fn publishing_text_creates_one_post_and_x_is_not_idempotent() {
    let (server, adapter, tokens) = api().await;
    let published = adapter
        .publish(
            &tokens,
            &outgoing("post-1:x", "Open today from 9 & closed at 5"),
        )
        .await
        .expect("published");
    let posts = server.state.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].text, "Open today from 9 & closed at 5");
    assert_eq!(posts[0].key, None, "X takes no idempotency key");
    assert_eq!(published.remote_id, posts[0].id);
    assert_eq!(
        published.url,
        Some(format!("https://x.com/i/web/status/{}", posts[0].id))
    );
    assert!(!adapter.idempotent());
}

#[tokio::test]
async fn publishing_an_image_uploads_it_and_sets_its_alt_text_first() {
    let (server, adapter, tokens) = api().await;
    let mut post = outgoing("post-2:x", "Our new sign");
    post.media.push(Media {
        bytes: vec![0xff, 0xd8, 0xff, 0xe0, 1, 2, 3],
        mime: "image/jpeg".to_owned(),
        alt: "A hand-painted sign reading Open".to_owned(),
        public_url: None,
    });
    adapter.publish(&tokens, &post).await.expect("published");
    let posts = server.state.posts();
    assert_eq!(
        posts[0].media,
        vec![(
            "A hand-painted sign reading Open".to_owned(),
            "image/jpeg".to_owned()
        )]
    );
}

#[tokio::test]
async fn find_tells_apart_a_post_with_different_text() {
    let (_server, adapter, tokens) = api().await;
    adapter
        .publish(&tokens, &outgoing("post-5:x", "Fish and chips"))
        .await
        .expect("published");
    let other = adapter
        .find(&tokens, &outgoing("post-6:x", "Fish and chips tonight"))
        .await
        .expect("looked");
    assert_eq!(other, None);
}

#[tokio::test]
async fn a_rate_limit_waits_until_the_epoch_reset_header() {
    let server = answering(
        StatusCode::TOO_MANY_REQUESTS,
        vec![
            ("x-rate-limit-limit", "100"),
            ("x-rate-limit-remaining", "0"),
            ("x-rate-limit-reset", "1800000900"),
        ],
        serde_json::json!({"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429}),
    )
    .await;
    let adapter = adapter(&server.url(), Duration::from_secs(5), fake::CLIENT_SECRET);
    let error = adapter
        .publish(&tokens(), &outgoing("k", "Hi"))
        .await
        .expect_err("429");
    assert_eq!(
        error,
        NetworkError::RateLimited {
            retry_after: Some(RetryAfter::At(
                Timestamp::from_second(1_800_000_900).expect("time")
            )),
            message: "429 Too Many Requests: Too Many Requests".to_owned(),
        }
    );
}

#[tokio::test]
async fn x_error_bodies_give_their_own_messages_and_a_500_is_unknown() {
    let duplicate = answering(
        StatusCode::FORBIDDEN,
        vec![],
        serde_json::json!({"detail": "You are not allowed to create a Tweet with duplicate content.", "type": "about:blank", "title": "Forbidden", "status": 403}),
    )
    .await;
    let error = adapter(&duplicate.url(), Duration::from_secs(5), "s")
        .publish(&tokens(), &outgoing("k", "Hi"))
        .await
        .expect_err("403");
    assert_eq!(
        error,
        NetworkError::Rejected(
            "403 Forbidden: You are not allowed to create a Tweet with duplicate content."
                .to_owned()
        )
    );
    let invalid = answering(
        StatusCode::BAD_REQUEST,
        vec![],
        serde_json::json!({"errors": [{"parameters": {"text": ["x"]}, "message": "Text is too long"}], "title": "Invalid Request", "detail": "One or more parameters to your request was invalid.", "type": "https://api.twitter.com/2/problems/invalid-request"}),
    )
    .await;
    let error = adapter(&invalid.url(), Duration::from_secs(5), "s")
        .publish(&tokens(), &outgoing("k", "Hi"))
        .await
        .expect_err("400");
    assert_eq!(
        error,
        NetworkError::Rejected("400 Bad Request: Text is too long".to_owned())
    );
    let broken = answering(
        StatusCode::INTERNAL_SERVER_ERROR,
        vec![],
        serde_json::json!({"title": "Internal Server Error", "type": "about:blank", "status": 500}),
    )
    .await;
    let error = adapter(&broken.url(), Duration::from_secs(5), "s")
        .publish(&tokens(), &outgoing("k", "Hi"))
        .await
        .expect_err("500");
    assert!(matches!(error, NetworkError::Unknown(_)), "{error:?}");
}

#[tokio::test]
async fn connecting_with_a_code_gets_two_hour_tokens_a_refresh_token_and_the_user() {
    let (server, adapter, _) = api().await;
    let url = adapter
        .authorize_url(&AuthorizeRequest {
            redirect_uri: "https://herald.example/callback",
            state: "state-9",
            code_challenge: "challenge-abc",
        })
        .expect("an oauth client is configured");
    assert!(
        url.starts_with(&format!("{}/i/oauth2/authorize?", server.url())),
        "{url}"
    );
    for part in [
        "code_challenge=challenge-abc",
        "code_challenge_method=S256",
        "offline.access",
        "state=state-9",
    ] {
        assert!(url.contains(part), "{part} missing from {url}");
    }
    let tokens = adapter
        .connect(&code_grant("good-code"), now())
        .await
        .expect("connected");
    assert_eq!(tokens.access.expose_secret(), TOKEN);
    assert_eq!(tokens.subject, fake::USER_ID);
    assert_eq!(
        tokens.expires_at,
        Some(
            now()
                .checked_add(SignedDuration::from_hours(2))
                .expect("time")
        )
    );
    assert!(tokens.refresh.is_some());
}

#[tokio::test]
async fn the_real_authorize_page_is_on_x_com() {
    let adapter = adapter(networks::x::API, Duration::from_secs(5), "s");
    let url = adapter
        .authorize_url(&AuthorizeRequest {
            redirect_uri: "https://herald.example/callback",
            state: "s",
            code_challenge: "c",
        })
        .expect("url");
    assert!(
        url.starts_with("https://x.com/i/oauth2/authorize?"),
        "{url}"
    );
}

#[tokio::test]
async fn a_wrong_client_secret_or_code_fails_the_token_exchange() {
    let (server, _, _) = api().await;
    let wrong_secret = adapter(&server.url(), Duration::from_secs(5), "not-the-secret");
    let error = wrong_secret
        .connect(&code_grant("good-code"), now())
        .await
        .expect_err("Basic auth is checked");
    assert!(
        matches!(&error, NetworkError::Unauthorized(m) if m.contains("Missing valid authorization header")),
        "{error:?}"
    );
    let right = adapter(&server.url(), Duration::from_secs(5), fake::CLIENT_SECRET);
    let error = right
        .connect(&code_grant("bad-code"), now())
        .await
        .expect_err("bad code");
    assert!(
        matches!(&error, NetworkError::Rejected(m) if m.contains("authorization code was invalid")),
        "{error:?}"
    );
}

#[tokio::test]
async fn refreshing_rotates_the_refresh_token_and_moves_the_expiry() {
    let (_server, adapter, tokens) = api().await;
    let later = now()
        .checked_add(SignedDuration::from_mins(110))
        .expect("time");
    let refreshed = adapter.refresh(&tokens, later).await.expect("refreshed");
    assert_eq!(
        refreshed.expires_at,
        Some(
            later
                .checked_add(SignedDuration::from_hours(2))
                .expect("time")
        )
    );
    assert_eq!(refreshed.subject, fake::USER_ID);
    let new_refresh = refreshed
        .refresh
        .as_ref()
        .map(|refresh| refresh.expose_secret().to_owned());
    assert!(
        new_refresh.is_some() && new_refresh.as_deref() != Some("refresh-0"),
        "{new_refresh:?}"
    );
    let error = adapter
        .refresh(&tokens, later)
        .await
        .expect_err("the old refresh token was used up");
    assert!(matches!(error, NetworkError::Rejected(_)), "{error:?}");
    adapter
        .refresh(&refreshed, later)
        .await
        .expect("the new one works");
}

#[tokio::test]
async fn an_expired_token_without_a_refresh_token_needs_reconnecting() {
    let (_server, adapter, mut tokens) = api().await;
    tokens.refresh = None;
    let before = now()
        .checked_sub(SignedDuration::from_mins(1))
        .expect("time");
    let unchanged = adapter.refresh(&tokens, before).await.expect("still valid");
    assert_eq!(unchanged.expires_at, tokens.expires_at);
    let after = now()
        .checked_add(SignedDuration::from_mins(1))
        .expect("time");
    let error = adapter.refresh(&tokens, after).await.expect_err("expired");
    assert!(matches!(error, NetworkError::Unauthorized(_)), "{error:?}");
}

#[tokio::test]
async fn connecting_with_a_user_token_finds_the_user_and_account_info_shows_the_handle() {
    let (_server, adapter, _) = api().await;
    let grant = Grant::AccessToken {
        token: SecretString::from(TOKEN),
        subject: None,
        server: None,
    };
    let tokens = adapter.connect(&grant, now()).await.expect("connected");
    assert_eq!(tokens.subject, fake::USER_ID);
    let info = adapter.account_info(&tokens).await.expect("info");
    assert_eq!(info.handle, "@herald_test");
    assert_eq!(info.display_name.as_deref(), Some("Herald Test"));
}

#[tokio::test]
async fn deleting_removes_the_post_and_revoking_makes_the_token_useless() {
    let (server, adapter, tokens) = api().await;
    let published = adapter
        .publish(&tokens, &outgoing("post-11:x", "Short-lived"))
        .await
        .expect("published");
    adapter
        .delete(&tokens, &published.remote_id)
        .await
        .expect("deleted");
    assert!(server.state.posts().is_empty());
    adapter.revoke(&tokens).await.expect("revoked");
    let error = adapter.account_info(&tokens).await.expect_err("refused");
    assert!(matches!(error, NetworkError::Unauthorized(_)), "{error:?}");
}
