//! The Mastodon adapter against its fake: statuses with an idempotency key, images with alt
//! text, reconciling, OAuth with PKCE, and Mastodon's own error bodies (the faults every
//! network meets are in `faults.rs`).

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::http::StatusCode;
use axum::routing::post;
use jiff::Timestamp;
use networks::fake::{FakeServer, FakeState, mastodon as fake};
use networks::mastodon::Mastodon;
use networks::{
    Adapter, AuthorizeRequest, Endpoint, Grant, Media, NetworkError, OAuthClient, Outgoing, Tokens,
};
use secrecy::{ExposeSecret, SecretString};

const TOKEN: &str = "mastodon-token-sekrit-42";

async fn instance() -> (FakeServer, Mastodon, Tokens) {
    let server = fake::start(FakeState::new(TOKEN, 7))
        .await
        .expect("fake starts");
    let adapter = adapter(&server.url(), Duration::from_secs(5));
    let tokens = tokens(&server.url());
    (server, adapter, tokens)
}

fn adapter(url: &str, timeout: Duration) -> Mastodon {
    let oauth = OAuthClient {
        id: "fake-client-id".to_owned(),
        secret: Some("fake-client-secret".into()),
    };
    Mastodon::new(Endpoint::new(url, crate::local(timeout), Some(oauth)))
}

fn tokens(server: &str) -> Tokens {
    Tokens {
        access: TOKEN.into(),
        refresh: None,
        expires_at: None,
        subject: fake::ACCOUNT_ID.to_owned(),
        server: Some(server.to_owned()),
        dpop: None,
    }
}

fn outgoing(key: &str, text: &str) -> Outgoing {
    Outgoing {
        key: key.to_owned(),
        text: text.to_owned(),
        media: Vec::new(),
        created_at: Timestamp::from_second(1_800_000_000).expect("time"),
    }
}

fn now() -> Timestamp {
    Timestamp::from_second(1_800_000_000).expect("time")
}

#[tokio::test]
async fn publishing_text_posts_a_status_carrying_the_idempotency_key() {
    let (server, adapter, tokens) = instance().await;
    let published = adapter
        .publish(
            &tokens,
            &outgoing("post-1:acct-1", "Hello & welcome\n\nto <Herald>"),
        )
        .await
        .expect("published");
    let posts = server.state.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].text, "Hello & welcome\n\nto <Herald>");
    assert_eq!(posts[0].key.as_deref(), Some("post-1:acct-1"));
    assert_eq!(published.remote_id, posts[0].id);
    let url = published.url.expect("a status has a url");
    assert!(url.ends_with(&format!("/@herald/{}", posts[0].id)), "{url}");
    assert!(adapter.idempotent());
}

#[tokio::test]
async fn publishing_an_image_uploads_it_with_its_alt_text_and_attaches_it() {
    let (server, adapter, tokens) = instance().await;
    let mut post = outgoing("post-2:acct-1", "Our new shop front");
    post.media.push(Media {
        bytes: vec![0x89, b'P', b'N', b'G', 0, 1, 2, 3],
        mime: "image/png".to_owned(),
        alt: "A blue door with a brass knocker".to_owned(),
        public_url: None,
    });
    adapter.publish(&tokens, &post).await.expect("published");
    let posts = server.state.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(
        posts[0].media,
        vec![(
            "A blue door with a brass knocker".to_owned(),
            "image/png".to_owned()
        )]
    );
}

#[tokio::test]
async fn publishing_the_same_key_twice_makes_one_status() {
    let (server, adapter, tokens) = instance().await;
    let post = outgoing("post-3:acct-1", "Only once, please");
    let first = adapter.publish(&tokens, &post).await.expect("first");
    let second = adapter.publish(&tokens, &post).await.expect("second");
    assert_eq!(first, second);
    assert_eq!(server.state.posts().len(), 1);
}

#[tokio::test]
async fn find_reads_a_status_back_from_its_rendered_html_and_misses_text_never_posted() {
    let (server, adapter, tokens) = instance().await;
    let post = outgoing("post-6:acct-1", "Fish & chips\nat 6 o'clock \"sharp\"");
    adapter.publish(&tokens, &post).await.expect("published");
    let found = adapter.find(&tokens, &post).await.expect("found");
    assert_eq!(
        found.map(|found| found.remote_id),
        Some(server.state.posts()[0].id.clone())
    );
    let missing = adapter
        .find(&tokens, &outgoing("post-7:acct-1", "Fish and chips"))
        .await
        .expect("looked");
    assert_eq!(missing, None);
}

#[tokio::test]
async fn documented_error_bodies_become_rejections_and_a_500_is_unknown() {
    let router = axum::Router::new()
        .route(
            "/api/v1/statuses",
            post(|| async {
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Json(serde_json::json!({"error": "Validation failed: Text can't be blank"})),
                )
            }),
        )
        .route(
            "/api/v2/media",
            post(|| async {
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(serde_json::json!({"error": "Error processing thumbnail for uploaded media"})),
                )
            }),
        );
    let state = FakeState::new(TOKEN, 1);
    let server = FakeServer::start(router, Arc::clone(&state))
        .await
        .expect("starts");
    let adapter = adapter(&server.url(), Duration::from_secs(5));
    let tokens = tokens(&server.url());
    let error = adapter
        .publish(&tokens, &outgoing("k", ""))
        .await
        .expect_err("422");
    assert_eq!(
        error,
        NetworkError::Rejected(
            "422 Unprocessable Entity: Validation failed: Text can't be blank".to_owned()
        )
    );
    let mut with_image = outgoing("k2", "pic");
    with_image.media.push(Media {
        bytes: vec![1, 2, 3],
        mime: "image/jpeg".to_owned(),
        alt: "alt".to_owned(),
        public_url: None,
    });
    let error = adapter
        .publish(&tokens, &with_image)
        .await
        .expect_err("500");
    assert!(
        matches!(&error, NetworkError::Unknown(m) if m.contains("Error processing thumbnail")),
        "{error:?}"
    );
}

#[tokio::test]
async fn connecting_with_an_authorization_code_finds_the_account_and_its_instance() {
    let (server, adapter, _) = instance().await;
    let url = adapter
        .authorize_url(&AuthorizeRequest {
            redirect_uri: "https://herald.example/callback",
            state: "state-1",
            code_challenge: "challenge-abc",
        })
        .expect("an oauth client is configured");
    assert!(
        url.starts_with(&format!("{}/oauth/authorize?", server.url())),
        "{url}"
    );
    for part in [
        "response_type=code",
        "client_id=fake-client-id",
        "code_challenge=challenge-abc",
        "code_challenge_method=S256",
        "state=state-1",
        "scope=read%3Aaccounts+read%3Astatuses+write%3Astatuses+write%3Amedia",
    ] {
        assert!(url.contains(part), "{part} missing from {url}");
    }
    let grant = Grant::AuthorizationCode {
        code: "good-code".into(),
        verifier: "verifier-xyz".into(),
        redirect_uri: "https://herald.example/callback".to_owned(),
    };
    let tokens = adapter.connect(&grant, now()).await.expect("connected");
    assert_eq!(tokens.access.expose_secret(), TOKEN);
    assert_eq!(tokens.subject, fake::ACCOUNT_ID);
    assert_eq!(tokens.server.as_deref(), Some(server.url().as_str()));
    assert_eq!(tokens.expires_at, None, "Mastodon tokens do not expire");
    let refreshed = adapter.refresh(&tokens, now()).await.expect("refreshed");
    assert_eq!(refreshed.access.expose_secret(), TOKEN);
}

#[tokio::test]
async fn a_bad_authorization_code_is_rejected_with_mastodons_reason() {
    let (_server, adapter, _) = instance().await;
    let grant = Grant::AuthorizationCode {
        code: "bad-code".into(),
        verifier: "verifier-xyz".into(),
        redirect_uri: "https://herald.example/callback".to_owned(),
    };
    let error = adapter.connect(&grant, now()).await.expect_err("bad code");
    assert!(
        matches!(&error, NetworkError::Rejected(m) if m.contains("authorization grant is invalid")),
        "{error:?}"
    );
}

#[tokio::test]
async fn connecting_with_a_development_token_checks_it_at_the_named_instance() {
    let server = fake::start(FakeState::new(TOKEN, 7))
        .await
        .expect("fake starts");
    // The adapter's default instance is elsewhere; the grant names the account's own.
    let adapter = adapter("http://127.0.0.1:9", Duration::from_secs(5));
    let grant = Grant::AccessToken {
        token: SecretString::from(TOKEN),
        subject: None,
        server: Some(server.url()),
    };
    let tokens = adapter.connect(&grant, now()).await.expect("connected");
    assert_eq!(tokens.subject, fake::ACCOUNT_ID);
    let info = adapter.account_info(&tokens).await.expect("info");
    assert_eq!(info.id, fake::ACCOUNT_ID);
    assert_eq!(info.handle, "@herald@127.0.0.1");
    assert_eq!(info.display_name.as_deref(), Some("Herald Test"));
    let wrong = Grant::AccessToken {
        token: SecretString::from("not-the-token"),
        subject: None,
        server: Some(server.url()),
    };
    let error = adapter.connect(&wrong, now()).await.expect_err("bad token");
    assert!(matches!(error, NetworkError::Unauthorized(_)), "{error:?}");
}

#[tokio::test]
async fn deleting_removes_the_status_and_deleting_it_again_is_fine() {
    let (server, adapter, tokens) = instance().await;
    let published = adapter
        .publish(&tokens, &outgoing("post-12:acct-1", "Short-lived"))
        .await
        .expect("published");
    adapter
        .delete(&tokens, &published.remote_id)
        .await
        .expect("deleted");
    assert!(server.state.posts().is_empty());
    adapter
        .delete(&tokens, &published.remote_id)
        .await
        .expect("already gone");
}

#[tokio::test]
async fn revoking_the_token_makes_the_instance_refuse_it() {
    let (_server, adapter, tokens) = instance().await;
    adapter.account_info(&tokens).await.expect("works before");
    adapter.revoke(&tokens).await.expect("revoked");
    let error = adapter
        .account_info(&tokens)
        .await
        .expect_err("refused after");
    assert!(matches!(error, NetworkError::Unauthorized(_)), "{error:?}");
}

#[tokio::test]
async fn registering_herald_at_an_instance_returns_its_client() {
    let (_server, adapter, _) = instance().await;
    let client = adapter
        .register_app("Herald", "https://herald.example/callback")
        .await
        .expect("registered");
    assert_eq!(client.id, "fake-client-id");
    assert!(client.secret.is_some());
}
