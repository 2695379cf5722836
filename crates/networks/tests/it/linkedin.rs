//! The LinkedIn adapter against its fake: posts with the version headers and escaped
//! commentary, reconciling a multi-image post from the author's posts, OAuth, and LinkedIn's
//! own error bodies (the faults every network meets are in `faults.rs`).

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use networks::fake::{FakeServer, FakeState, Faults, linkedin as fake};
use networks::linkedin::{self, LinkedIn};
use networks::{
    Adapter, AuthorizeRequest, Endpoint, Grant, Media, NetworkError, OAuthClient, Outgoing, Tokens,
};
use secrecy::{ExposeSecret, SecretString};

const TOKEN: &str = "linkedin-token-sekrit-99";

async fn api() -> (FakeServer, LinkedIn, Tokens) {
    let server = fake::start(FakeState::new(TOKEN, 5))
        .await
        .expect("fake starts");
    let adapter = adapter(&server.url(), Duration::from_secs(5), fake::CLIENT_SECRET);
    (server, adapter, tokens(fake::MEMBER_URN))
}

fn adapter(url: &str, timeout: Duration, secret: &str) -> LinkedIn {
    let oauth = OAuthClient {
        id: fake::CLIENT_ID.to_owned(),
        secret: Some(secret.into()),
    };
    LinkedIn::new(Endpoint::new(url, crate::local(timeout), Some(oauth)))
}

fn tokens(subject: &str) -> Tokens {
    Tokens {
        access: TOKEN.into(),
        refresh: Some("li-refresh-0".into()),
        expires_at: Some(now()),
        subject: subject.to_owned(),
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

#[tokio::test]
async fn publishing_sends_escaped_commentary_with_the_version_headers_and_keeps_every_word() {
    let (server, adapter, tokens) = api().await;
    let text = "Big news (really): 20% off *today* @ our shop #bakery [limited] <3 ~ok~ a_b";
    let published = adapter
        .publish(&tokens, &outgoing("post-1:li", text))
        .await
        .expect("published");
    let posts = server.state.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(
        posts[0].text, text,
        "nothing was cut at a reserved character"
    );
    assert_eq!(posts[0].extra["commentary"], linkedin::escape(text));
    assert_eq!(posts[0].extra["author"], fake::MEMBER_URN);
    assert_eq!(posts[0].extra["linkedin_version"], linkedin::VERSION);
    assert_eq!(published.remote_id, posts[0].id);
    assert!(published.remote_id.starts_with("urn:li:share:"));
    assert_eq!(
        published.url,
        Some(format!(
            "https://www.linkedin.com/feed/update/{}/",
            posts[0].id
        ))
    );
    assert!(!adapter.idempotent());
}

#[tokio::test]
async fn an_organization_can_be_the_author() {
    let (server, adapter, _) = api().await;
    let tokens = tokens(fake::ORGANIZATION_URN);
    adapter
        .publish(&tokens, &outgoing("post-2:li", "From the company page"))
        .await
        .expect("published");
    assert_eq!(
        server.state.posts()[0].extra["author"],
        fake::ORGANIZATION_URN
    );
    let info = adapter.account_info(&tokens).await.expect("info");
    assert_eq!(info.id, fake::ORGANIZATION_URN);
    assert_eq!(info.handle, "herald-bakery");
    assert_eq!(info.display_name.as_deref(), Some("Herald Bakery"));
}

fn image(alt: &str) -> Media {
    Media {
        bytes: vec![0x89, b'P', b'N', b'G', 1, 2, 3],
        mime: "image/png".to_owned(),
        alt: alt.to_owned(),
        public_url: None,
    }
}

#[tokio::test]
async fn an_image_is_uploaded_through_the_images_api_and_posted_with_its_alt_text() {
    let (server, adapter, tokens) = api().await;
    let mut post = outgoing("post-3:li", "Our new loaf");
    post.media.push(image("A sourdough loaf on a board"));
    adapter.publish(&tokens, &post).await.expect("published");
    let posts = server.state.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(
        posts[0].media,
        [(
            "A sourdough loaf on a board".to_owned(),
            "image/png".to_owned()
        )]
    );
}

#[tokio::test]
async fn several_images_go_as_one_multi_image_post_in_order_each_with_its_alt_text() {
    let (server, adapter, tokens) = api().await;
    let mut post = outgoing("post-4:li", "Three loaves");
    post.media = ["rye", "spelt", "sourdough"].map(image).to_vec();
    adapter.publish(&tokens, &post).await.expect("published");
    let posts = server.state.posts();
    assert_eq!(posts.len(), 1);
    let alts: Vec<&str> = posts[0].media.iter().map(|(alt, _)| alt.as_str()).collect();
    assert_eq!(alts, ["rye", "spelt", "sourdough"]);
    let content = &posts[0].extra["content"];
    assert!(content["media"].is_null(), "{content}");
    let images = content["multiImage"]["images"]
        .as_array()
        .expect("a multiImage");
    assert_eq!(images.len(), 3);
    assert!(
        images.iter().all(|image| image["id"]
            .as_str()
            .is_some_and(|urn| urn.starts_with("urn:li:image:"))),
        "{content}"
    );
}

#[tokio::test]
async fn more_than_twenty_images_are_refused_before_anything_is_sent() {
    let (server, adapter, tokens) = api().await;
    let mut post = outgoing("post-5:li", "Look");
    post.media = vec![image("a loaf"); linkedin::MOST_IMAGES + 1];
    crate::checks::refused_before_any_request(&adapter, &server, &tokens, &[post]).await;
}

/// An adapter that gives up after 300 ms, against `server` made to lose the answer to every
/// post it makes (uploads draw no faults).
fn losing_answers(server: &FakeServer) -> LinkedIn {
    server.state.set_faults(Faults {
        lost_after: 1.0,
        hang: Duration::from_secs(2),
        ..Faults::default()
    });
    adapter(
        &server.url(),
        Duration::from_millis(300),
        fake::CLIENT_SECRET,
    )
}

#[tokio::test]
async fn a_multi_image_post_whose_answer_was_lost_is_found_by_its_commentary() {
    let (server, _, tokens) = api().await;
    let impatient = losing_answers(&server);
    let mut post = outgoing("post-5b:li", "Two new (seasonal) loaves");
    post.media = ["pumpkin", "chestnut"].map(image).to_vec();
    crate::checks::found_after_a_lost_answer(&impatient, &server, &tokens, &post).await;
}

#[tokio::test]
async fn the_fake_refuses_a_multi_image_post_of_one_image_as_linkedin_does() {
    let (server, _, _) = api().await;
    let answer = reqwest::Client::new()
        .post(format!("{}/rest/posts", server.url()))
        .bearer_auth(TOKEN)
        .header("LinkedIn-Version", linkedin::VERSION)
        .header("X-Restli-Protocol-Version", "2.0.0")
        .json(&serde_json::json!({
            "author": fake::MEMBER_URN, "commentary": "One", "visibility": "PUBLIC",
            "content": { "multiImage": { "images": [{ "id": "urn:li:image:C4E10AQ1", "altText": "a" }] } },
        }))
        .send()
        .await
        .expect("the fake answers");
    assert_eq!(answer.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = answer.json().await.expect("JSON");
    assert_eq!(body["code"], "INVALID_CONTENT");
    assert!(server.state.posts().is_empty());
}

#[tokio::test]
async fn an_author_herald_may_not_post_as_is_rejected_with_linkedins_message() {
    let (_server, adapter, _) = api().await;
    let error = adapter
        .publish(
            &tokens("urn:li:organization:1"),
            &outgoing("post-11:li", "Hi"),
        )
        .await
        .expect_err("403");
    assert!(
        matches!(&error, NetworkError::Rejected(m) if m.starts_with("403 Forbidden: Not enough permissions")),
        "{error:?}"
    );
}

#[tokio::test]
async fn connecting_with_a_code_gets_sixty_day_tokens_for_the_member() {
    let (server, adapter, _) = api().await;
    let url = adapter
        .authorize_url(&AuthorizeRequest {
            redirect_uri: "https://herald.example/callback",
            state: "state-3",
            code_challenge: "unused",
        })
        .expect("an app is configured");
    assert!(
        url.starts_with(&format!("{}/oauth/v2/authorization?", server.url())),
        "{url}"
    );
    assert!(
        url.contains("scope=openid+profile+w_member_social"),
        "{url}"
    );
    assert!(url.contains("state=state-3"), "{url}");
    let grant = Grant::AuthorizationCode {
        code: "good-code".into(),
        verifier: "v".into(),
        redirect_uri: "https://herald.example/callback".to_owned(),
    };
    let tokens = adapter.connect(&grant, now()).await.expect("connected");
    assert_eq!(tokens.access.expose_secret(), TOKEN);
    assert_eq!(tokens.subject, fake::MEMBER_URN);
    assert_eq!(
        tokens.expires_at,
        Some(
            now()
                .checked_add(SignedDuration::from_hours(24 * 60))
                .expect("time")
        )
    );
    let bad = Grant::AuthorizationCode {
        code: "bad-code".into(),
        verifier: "v".into(),
        redirect_uri: "https://herald.example/callback".to_owned(),
    };
    let error = adapter.connect(&bad, now()).await.expect_err("bad code");
    assert!(
        matches!(&error, NetworkError::Rejected(m) if m.contains("authorization code expired")),
        "{error:?}"
    );
    let wrong_secret = adapter_for(&server, "nope");
    let error = wrong_secret
        .connect(&grant, now())
        .await
        .expect_err("secret checked");
    assert!(matches!(error, NetworkError::Unauthorized(_)), "{error:?}");
}

#[tokio::test]
async fn the_authorize_page_gives_a_code_that_connects_once_with_its_redirect_uri() {
    let (server, adapter, _) = api().await;
    let page = "/oauth/v2/authorization";
    crate::consent::codes_connect_once_and_only_with_their_redirect_uri(&adapter, &server, page)
        .await;
}

fn adapter_for(server: &FakeServer, secret: &str) -> LinkedIn {
    adapter(&server.url(), Duration::from_secs(5), secret)
}

#[tokio::test]
async fn the_real_authorize_page_is_on_www_linkedin_com() {
    let adapter = adapter(linkedin::API, Duration::from_secs(5), "s");
    let url = adapter
        .authorize_url(&AuthorizeRequest {
            redirect_uri: "https://herald.example/callback",
            state: "s",
            code_challenge: "c",
        })
        .expect("url");
    assert!(
        url.starts_with("https://www.linkedin.com/oauth/v2/authorization?"),
        "{url}"
    );
}

#[tokio::test]
async fn connecting_with_a_token_for_an_organization_keeps_the_organization_as_author() {
    let (_server, adapter, _) = api().await;
    let grant = Grant::AccessToken {
        token: SecretString::from(TOKEN),
        subject: Some(fake::ORGANIZATION_URN.to_owned()),
        server: None,
    };
    let tokens = adapter.connect(&grant, now()).await.expect("connected");
    assert_eq!(tokens.subject, fake::ORGANIZATION_URN);
    let member = Grant::AccessToken {
        token: SecretString::from(TOKEN),
        subject: None,
        server: None,
    };
    let tokens = adapter.connect(&member, now()).await.expect("connected");
    let info = adapter.account_info(&tokens).await.expect("info");
    assert_eq!(info.id, fake::MEMBER_URN);
    assert_eq!(info.display_name.as_deref(), Some("Herald Test"));
}

#[tokio::test]
async fn refreshing_uses_the_refresh_token_and_without_one_an_expired_token_needs_reconnecting() {
    let (_server, adapter, mut tokens) = api().await;
    let later = now()
        .checked_add(SignedDuration::from_hours(24))
        .expect("time");
    let refreshed = adapter.refresh(&tokens, later).await.expect("refreshed");
    assert_eq!(
        refreshed.expires_at,
        Some(
            later
                .checked_add(SignedDuration::from_hours(24 * 60))
                .expect("time")
        )
    );
    assert_eq!(refreshed.subject, fake::MEMBER_URN);
    assert_ne!(
        refreshed
            .refresh
            .as_ref()
            .map(|r| r.expose_secret().to_owned()),
        Some("li-refresh-0".to_owned())
    );
    tokens.refresh = None;
    let error = adapter.refresh(&tokens, later).await.expect_err("expired");
    assert!(matches!(error, NetworkError::Unauthorized(_)), "{error:?}");
    let earlier = now()
        .checked_sub(SignedDuration::from_hours(1))
        .expect("time");
    let unchanged = adapter
        .refresh(&tokens, earlier)
        .await
        .expect("still valid");
    assert_eq!(unchanged.expires_at, tokens.expires_at);
}

#[tokio::test]
async fn deleting_removes_the_post_and_revoking_makes_the_token_useless() {
    let (server, adapter, tokens) = api().await;
    let published = adapter
        .publish(&tokens, &outgoing("post-12:li", "Short-lived"))
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
    adapter.revoke(&tokens).await.expect("revoked");
    let error = adapter.account_info(&tokens).await.expect_err("refused");
    assert!(matches!(error, NetworkError::Unauthorized(_)), "{error:?}");
}

#[tokio::test]
async fn a_server_error_after_sending_is_unknown() {
    use axum::http::StatusCode;
    let router = axum::Router::new().route(
        "/rest/posts",
        axum::routing::post(|| async {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(serde_json::json!({"status": 500, "serviceErrorCode": 0, "code": "INTERNAL_SERVER_ERROR", "message": "Internal Server Error"})),
            )
        }),
    );
    let state = FakeState::new(TOKEN, 1);
    let server = FakeServer::start(router, std::sync::Arc::clone(&state))
        .await
        .expect("starts");
    let error = adapter_for(&server, fake::CLIENT_SECRET)
        .publish(&tokens(fake::MEMBER_URN), &outgoing("k", "Hi"))
        .await
        .expect_err("500");
    assert_eq!(
        error,
        NetworkError::Unknown("500 Internal Server Error: Internal Server Error".to_owned())
    );
}
