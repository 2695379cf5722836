//! The Bluesky adapter against its fake PDS (the XRPC shapes, tokens refused with 400), against
//! small stubs for answers the fake never gives, and against a real PDS from npm (the faults
//! every network meets are in `faults.rs`).

#[path = "../pds/harness.rs"]
pub mod pds;

use pds::{real_account, real_posts};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use jiff::Timestamp;
use networks::bluesky::Bluesky;
use networks::fake::bluesky::{
    APP_PASSWORD, DID, DISPLAY_NAME, FRIEND_DID, HANDLE, access_jwt, start,
};
use networks::fake::{FakeServer, FakeState, Faults};
use networks::{
    Adapter, Endpoint, Grant, Media, NetworkError, Outgoing, Published, RetryAfter, Tokens,
};
use secrecy::ExposeSecret;
use serde_json::json;

/// When the fake's access token expires.
const EXPIRES: i64 = 1_800_000_000;

fn now() -> Timestamp {
    Timestamp::from_second(1_790_000_000).expect("time")
}

fn adapter(url: &str, timeout: Duration) -> Bluesky {
    Bluesky::new(Endpoint::new(url, crate::local(timeout), None))
}

async fn fake() -> (FakeServer, Bluesky, Tokens) {
    let state = FakeState::new(&access_jwt(DID, EXPIRES), 7);
    let server = start(state.clone()).await.expect("fake PDS");
    let adapter = adapter(&server.url(), Duration::from_secs(5));
    let tokens = tokens(&state.token);
    (server, adapter, tokens)
}

fn tokens(access: &str) -> Tokens {
    Tokens {
        access: access.into(),
        refresh: None,
        expires_at: None,
        subject: DID.to_owned(),
        server: None,
        dpop: None,
    }
}

fn outgoing(key: &str, text: &str) -> Outgoing {
    Outgoing {
        key: key.to_owned(),
        text: text.to_owned(),
        media: Vec::new(),
        created_at: "2026-03-01T12:30:00.25Z".parse().expect("time"),
    }
}

fn app_password_grant(password: &str, server: Option<String>) -> Grant {
    Grant::AppPassword {
        identifier: HANDLE.to_owned(),
        password: password.into(),
        server,
    }
}

/// Serves `router` on loopback for answers the fake never gives.
async fn stub(router: Router) -> FakeServer {
    FakeServer::start(router, FakeState::new("stub-token", 1))
        .await
        .expect("stub")
}

#[tokio::test]
async fn connecting_with_an_app_password_keeps_the_did_the_pds_and_the_expiry_of_the_access_jwt() {
    let (server, adapter, _) = fake().await;
    let grant = app_password_grant(APP_PASSWORD, Some(server.url()));
    let tokens = adapter.connect(&grant, now()).await.expect("connect");
    assert_eq!(tokens.subject, DID);
    assert_eq!(tokens.server, Some(server.url()));
    assert_eq!(tokens.access.expose_secret(), server.state.token);
    assert!(tokens.refresh.is_some());
    assert_eq!(tokens.expires_at, Timestamp::from_second(EXPIRES).ok());
}

#[tokio::test]
async fn a_wrong_app_password_is_unauthorized() {
    let (_server, adapter, _) = fake().await;
    let grant = app_password_grant("aaaa-bbbb-cccc-dddd", None);
    let error = adapter.connect(&grant, now()).await.expect_err("refused");
    assert!(
        matches!(&error, NetworkError::Unauthorized(m) if m.contains("Invalid identifier or password")),
        "{error:?}"
    );
}

#[tokio::test]
async fn the_accounts_own_password_is_refused_before_anything_is_sent() {
    let (server, adapter, _) = fake().await;
    let grant = app_password_grant("correct horse battery staple", None);
    let error = adapter.connect(&grant, now()).await.expect_err("refused");
    assert!(
        matches!(&error, NetworkError::Rejected(m) if m.contains("app password")),
        "{error:?}"
    );
    assert_eq!(server.state.requests(), 0);
}

#[tokio::test]
async fn a_post_carries_its_text_created_at_and_link_mention_and_tag_facets_in_utf8_bytes() {
    let (server, adapter, tokens) = fake().await;
    let text = "Café ☕ news: https://example.com/menu with @friend.test #coffee";
    let published = adapter
        .publish(&tokens, &outgoing("post-1", text))
        .await
        .expect("publish");
    let rkey = Bluesky::record_key("post-1");
    assert_eq!(
        published.remote_id,
        format!("at://{DID}/app.bsky.feed.post/{rkey}")
    );
    assert_eq!(
        published.url.as_deref(),
        Some(format!("https://bsky.app/profile/{DID}/post/{rkey}").as_str())
    );
    let posts = server.state.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].text, text);
    assert_eq!(posts[0].key.as_deref(), Some(rkey.as_str()));
    let record = &posts[0].extra;
    assert_eq!(record["createdAt"], "2026-03-01T12:30:00.250Z");
    // "Café ☕ news: " is 5 + 1 + 3 + 7 = 16 bytes.
    let link = text.find("https").expect("link");
    assert_eq!(link, 16);
    let at = text.find('@').expect("mention");
    let hash = text.find('#').expect("tag");
    assert_eq!(
        record["facets"],
        json!([
            {"index": {"byteStart": 16, "byteEnd": 16 + 24},
             "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/menu"}]},
            {"index": {"byteStart": at, "byteEnd": at + 12},
             "features": [{"$type": "app.bsky.richtext.facet#mention", "did": FRIEND_DID}]},
            {"index": {"byteStart": hash, "byteEnd": text.len()},
             "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "coffee"}]},
        ])
    );
}

#[tokio::test]
async fn a_mention_that_does_not_resolve_stays_plain_text() {
    let (server, adapter, tokens) = fake().await;
    adapter
        .publish(&tokens, &outgoing("post-1", "hello @nobody.test"))
        .await
        .expect("publish");
    let posts = server.state.posts();
    assert_eq!(posts[0].extra.get("facets"), None);
}

#[tokio::test]
async fn an_image_is_uploaded_as_a_blob_and_embedded_with_its_alt_text() {
    let (server, adapter, tokens) = fake().await;
    let mut post = outgoing("post-1", "look");
    post.media.push(Media {
        bytes: vec![0x89, b'P', b'N', b'G', 1, 2, 3],
        mime: "image/png".to_owned(),
        alt: "A cup of coffee on a table".to_owned(),
        public_url: None,
    });
    adapter.publish(&tokens, &post).await.expect("publish");
    let posts = server.state.posts();
    assert_eq!(
        posts[0].media,
        vec![(
            "A cup of coffee on a table".to_owned(),
            "image/png".to_owned()
        )]
    );
    let embed = &posts[0].extra["embed"];
    assert_eq!(embed["$type"], "app.bsky.embed.images");
    assert_eq!(embed["images"][0]["image"]["size"], 7);
}

#[tokio::test]
async fn more_than_four_images_are_refused_before_anything_is_uploaded() {
    let (server, adapter, tokens) = fake().await;
    let mut post = outgoing("post-1", "five");
    let image = Media {
        bytes: vec![1],
        mime: "image/png".to_owned(),
        alt: "x".to_owned(),
        public_url: None,
    };
    post.media = vec![image; 5];
    let error = adapter.publish(&tokens, &post).await.expect_err("refused");
    assert!(matches!(error, NetworkError::Rejected(_)), "{error:?}");
    assert_eq!(server.state.requests(), 0);
}

#[tokio::test]
async fn publishing_the_same_key_twice_makes_one_post_and_returns_it_both_times() {
    let (server, adapter, tokens) = fake().await;
    let post = outgoing("post-1", "once only");
    let first = adapter.publish(&tokens, &post).await.expect("first");
    let second = adapter.publish(&tokens, &post).await.expect("second");
    assert_eq!(first, second);
    assert_eq!(server.state.posts().len(), 1);
    assert!(adapter.idempotent());
}

#[tokio::test]
async fn find_returns_the_post_only_once_its_record_exists() {
    let (_server, adapter, tokens) = fake().await;
    let post = outgoing("post-1", "hi");
    assert_eq!(adapter.find(&tokens, &post).await.expect("find"), None);
    let published = adapter.publish(&tokens, &post).await.expect("publish");
    assert_eq!(
        adapter.find(&tokens, &post).await.expect("find"),
        Some(published)
    );
}

#[tokio::test]
async fn a_token_the_pds_cannot_verify_is_unauthorized_though_it_comes_with_400() {
    let (_server, adapter, _) = fake().await;
    let error = adapter
        .publish(&tokens("someone-elses-token"), &outgoing("post-1", "hi"))
        .await
        .expect_err("invalid");
    assert!(
        matches!(&error, NetworkError::Unauthorized(m) if m.starts_with("400") && m.contains("InvalidToken")),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_expired_token_is_unauthorized_though_it_comes_with_400() {
    let router = Router::new().route(
        "/xrpc/com.atproto.server.getSession",
        get(|| async {
            (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"error": "ExpiredToken", "message": "Token has expired"})),
            )
        }),
    );
    let server = stub(router).await;
    let adapter = adapter(&server.url(), Duration::from_secs(5));
    let error = adapter
        .account_info(&tokens("t"))
        .await
        .expect_err("expired");
    assert_eq!(
        error,
        NetworkError::Unauthorized("400 Bad Request: ExpiredToken: Token has expired".to_owned())
    );
}

#[tokio::test]
async fn a_429_becomes_rate_limited_until_the_exact_ratelimit_reset() {
    let router = Router::new().route(
        "/xrpc/com.atproto.repo.createRecord",
        post(|| async {
            let mut headers = HeaderMap::new();
            headers.insert("RateLimit-Reset", "1800000123".parse().expect("header"));
            headers.insert("RateLimit-Remaining", "0".parse().expect("header"));
            (
                StatusCode::TOO_MANY_REQUESTS,
                headers,
                axum::Json(json!({"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"})),
            )
        }),
    );
    let server = stub(router).await;
    let adapter = adapter(&server.url(), Duration::from_secs(5));
    let error = adapter
        .publish(&tokens("t"), &outgoing("post-1", "hi"))
        .await
        .expect_err("limited");
    assert!(
        matches!(error, NetworkError::RateLimited { retry_after: Some(RetryAfter::At(at)), .. }
            if at == Timestamp::from_second(1_800_000_123).expect("time")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_500_with_no_record_behind_it_stays_unknown() {
    let router = Router::new()
        .route(
            "/xrpc/com.atproto.repo.createRecord",
            post(|| async {
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    axum::Json(
                        json!({"error": "InternalServerError", "message": "Internal Server Error"}),
                    ),
                )
            }),
        )
        .route(
            "/xrpc/com.atproto.repo.getRecord",
            get(|| async {
                (
                    StatusCode::BAD_REQUEST,
                    axum::Json(
                        json!({"error": "RecordNotFound", "message": "Could not locate record"}),
                    ),
                )
            }),
        );
    let server = stub(router).await;
    let adapter = adapter(&server.url(), Duration::from_secs(5));
    let error = adapter
        .publish(&tokens("t"), &outgoing("post-1", "hi"))
        .await
        .expect_err("unknown");
    assert!(
        matches!(&error, NetworkError::Unknown(m) if m.contains("500")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_pds_that_says_the_record_exists_gets_it_read_back() {
    let router = Router::new()
        .route(
            "/xrpc/com.atproto.repo.createRecord",
            post(|| async {
                (
                    StatusCode::BAD_REQUEST,
                    axum::Json(
                        json!({"error": "InvalidRequest", "message": "Record already exists"}),
                    ),
                )
            }),
        )
        .route(
            "/xrpc/com.atproto.repo.getRecord",
            get(|| async {
                let uri = Bluesky::post_uri(DID, "post-1");
                axum::Json(json!({"uri": uri, "cid": "bafyrei", "value": {}})).into_response()
            }),
        );
    let server = stub(router).await;
    let adapter = adapter(&server.url(), Duration::from_secs(5));
    let published = adapter
        .publish(&tokens("t"), &outgoing("post-1", "hi"))
        .await
        .expect("read back");
    assert_eq!(published.remote_id, Bluesky::post_uri(DID, "post-1"));
}

#[tokio::test]
async fn refreshing_rotates_the_refresh_token_and_the_old_one_stops_working() {
    let (server, adapter, _) = fake().await;
    let grant = app_password_grant(APP_PASSWORD, None);
    let first = adapter.connect(&grant, now()).await.expect("connect");
    let second = adapter.refresh(&first, now()).await.expect("refresh");
    assert_eq!(second.subject, DID);
    assert_eq!(second.expires_at, Timestamp::from_second(EXPIRES).ok());
    assert_eq!(second.access.expose_secret(), server.state.token);
    let (old, new) = (
        first.refresh.as_ref().expect("refresh").expose_secret(),
        second.refresh.as_ref().expect("refresh").expose_secret(),
    );
    assert_ne!(old, new);
    let error = adapter.refresh(&first, now()).await.expect_err("rotated");
    assert!(matches!(error, NetworkError::Unauthorized(_)), "{error:?}");
}

#[tokio::test]
async fn revoking_ends_the_session_so_it_cannot_be_refreshed() {
    let (_server, adapter, _) = fake().await;
    let grant = app_password_grant(APP_PASSWORD, None);
    let tokens = adapter.connect(&grant, now()).await.expect("connect");
    adapter.revoke(&tokens).await.expect("revoke");
    let error = adapter.refresh(&tokens, now()).await.expect_err("revoked");
    assert!(matches!(error, NetworkError::Unauthorized(_)), "{error:?}");
    adapter
        .revoke(&tokens)
        .await
        .expect("revoking twice is fine");
}

#[tokio::test]
async fn deleting_removes_the_record() {
    let (server, adapter, tokens) = fake().await;
    let post = outgoing("post-1", "gone soon");
    let published = adapter.publish(&tokens, &post).await.expect("publish");
    adapter
        .delete(&tokens, &published.remote_id)
        .await
        .expect("delete");
    assert!(server.state.posts().is_empty());
    assert_eq!(adapter.find(&tokens, &post).await.expect("find"), None);
    let error = adapter
        .delete(&tokens, "not-an-at-uri")
        .await
        .expect_err("bad id");
    assert!(matches!(error, NetworkError::Rejected(_)), "{error:?}");
}

#[tokio::test]
async fn account_info_names_the_did_the_handle_and_the_profiles_display_name() {
    let (_server, adapter, tokens) = fake().await;
    let info = adapter.account_info(&tokens).await.expect("info");
    assert_eq!(info.id, DID);
    assert_eq!(info.handle, HANDLE);
    assert_eq!(info.display_name.as_deref(), Some(DISPLAY_NAME));
}

#[tokio::test]
async fn no_token_shows_in_errors_or_debug_strings_after_a_failure() {
    let (server, adapter, _) = fake().await;
    let grant = app_password_grant(APP_PASSWORD, None);
    let mut tokens = adapter.connect(&grant, now()).await.expect("connect");
    let refresh = tokens
        .refresh
        .as_ref()
        .expect("refresh")
        .expose_secret()
        .to_owned();
    server.state.set_faults(Faults {
        unauthorized: 1.0,
        ..Faults::default()
    });
    let error = adapter
        .publish(&tokens, &outgoing("post-1", "hi"))
        .await
        .expect_err("revoked");
    tokens.access = "a-secret-access-token".into();
    let bad = adapter
        .publish(&tokens, &outgoing("post-2", "hi"))
        .await
        .expect_err("invalid");
    let shown = format!("{error} {error:?} {bad} {bad:?} {tokens:?} {adapter:?} {grant:?}");
    for secret in [
        server.state.token.as_str(),
        refresh.as_str(),
        "a-secret-access-token",
        APP_PASSWORD,
    ] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}

// The real PDS, from npm (tests/pds): see install.sh.

async fn real_connection(pds: &str, name: &str) -> (Bluesky, Tokens, String, String) {
    let (handle, did, password) = real_account(pds, name).await;
    let adapter = adapter("https://pds.invalid", Duration::from_secs(20));
    let grant = Grant::AppPassword {
        identifier: handle.clone(),
        password: password.into(),
        server: Some(pds.to_owned()),
    };
    let tokens = adapter.connect(&grant, now()).await.expect("connect");
    assert_eq!(tokens.subject, did);
    assert!(tokens.expires_at.is_some_and(|at| at > now()));
    (adapter, tokens, handle, did)
}

#[tokio::test]
async fn a_post_published_to_a_real_pds_is_there_once_with_its_link_facet() {
    let Some(pds) = pds::start().await else {
        return;
    };
    let (adapter, tokens, handle, did) = real_connection(&pds.url, "alice").await;
    let text = format!("Déjà vu 🎉 https://example.com/réunion cc @{handle} #herald");
    let published = adapter
        .publish(&tokens, &outgoing("post-1", &text))
        .await
        .expect("publish");
    assert_eq!(published.remote_id, Bluesky::post_uri(&did, "post-1"));
    let posts = real_posts(&pds.url, &did).await;
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0]["uri"], published.remote_id.as_str());
    let value = &posts[0]["value"];
    assert_eq!(value["text"], text.as_str());
    let start = text.find("https").expect("link");
    assert_eq!(start, "Déjà vu 🎉 ".len());
    let end = start + "https://example.com/réunion".len();
    let facets = value["facets"].as_array().expect("facets");
    assert_eq!(
        facets[0]["index"],
        json!({"byteStart": start, "byteEnd": end})
    );
    assert_eq!(
        facets[0]["features"],
        json!([{"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/réunion"}])
    );
    assert_eq!(
        facets[1]["features"][0]["did"],
        did.as_str(),
        "the mention resolved on the PDS"
    );
    assert_eq!(facets[2]["features"][0]["tag"], "herald");
    assert_eq!(
        adapter.account_info(&tokens).await.expect("info").handle,
        handle
    );
}

#[tokio::test]
async fn publishing_the_same_key_twice_to_a_real_pds_makes_one_record() {
    let Some(pds) = pds::start().await else {
        return;
    };
    let (adapter, tokens, _, did) = real_connection(&pds.url, "bob").await;
    let post = outgoing("post-1", "only once, however often Herald asks");
    let first: Published = adapter.publish(&tokens, &post).await.expect("first");
    let second = adapter.publish(&tokens, &post).await.expect("second");
    assert_eq!(first, second);
    assert_eq!(real_posts(&pds.url, &did).await.len(), 1);
    assert_eq!(
        adapter.find(&tokens, &post).await.expect("find"),
        Some(first.clone())
    );
    let refreshed = adapter.refresh(&tokens, now()).await.expect("refresh");
    adapter
        .delete(&refreshed, &first.remote_id)
        .await
        .expect("delete");
    assert!(real_posts(&pds.url, &did).await.is_empty());
    assert_eq!(adapter.find(&refreshed, &post).await.expect("find"), None);
    adapter.revoke(&refreshed).await.expect("revoke");
    let error = adapter
        .refresh(&refreshed, now())
        .await
        .expect_err("revoked");
    assert!(matches!(error, NetworkError::Unauthorized(_)), "{error:?}");
}
