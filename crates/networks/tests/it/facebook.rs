//! The Facebook Pages adapter against its fake: posts and photos as the Graph API takes them,
//! reconciling a lost answer by reading the page's posts, Graph errors in Herald's terms, and
//! connecting with a Page token or the login dialog's code.

use std::time::Duration;

use jiff::Timestamp;
use networks::facebook::Facebook;
use networks::fake::facebook::{self as fake, PAGE_ID, PAGE_NAME};
use networks::fake::{FakeServer, FakeState, Faults};
use networks::{
    Adapter, AuthorizeRequest, Endpoint, Grant, Media, NetworkError, OAuthClient, Outgoing, Tokens,
};

const TOKEN: &str = "EAAGpage-token-secret-1234";

async fn server() -> FakeServer {
    fake::start(FakeState::new(TOKEN, 7))
        .await
        .expect("fake starts")
}

fn adapter(server: &FakeServer) -> Facebook {
    Facebook::new(Endpoint::new(
        &server.url(),
        crate::local(Duration::from_millis(300)),
        None,
    ))
}

fn tokens() -> Tokens {
    Tokens {
        access: TOKEN.into(),
        refresh: None,
        expires_at: None,
        subject: PAGE_ID.to_owned(),
        server: None,
        dpop: None,
    }
}

fn post(text: &str) -> Outgoing {
    Outgoing {
        key: "post-1:account-1".to_owned(),
        text: text.to_owned(),
        media: Vec::new(),
        created_at: Timestamp::from_second(1_800_000_000).expect("time"),
    }
}

fn image(public_url: Option<&str>) -> Media {
    Media {
        bytes: vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3],
        mime: "image/jpeg".to_owned(),
        alt: "A tray of croissants".to_owned(),
        public_url: public_url.map(str::to_owned),
    }
}

#[tokio::test]
async fn publishing_text_posts_the_message_to_the_page_feed() {
    let server = server().await;
    let published = adapter(&server)
        .publish(&tokens(), &post("Fresh bread at 7"))
        .await
        .expect("published");
    let held = server.state.posts();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].text, "Fresh bread at 7");
    assert_eq!(published.remote_id, held[0].id);
    assert!(published.remote_id.starts_with(&format!("{PAGE_ID}_")));
    assert_eq!(
        published.url,
        Some(format!("https://www.facebook.com/{}", held[0].id))
    );
}

#[tokio::test]
async fn an_image_with_a_public_address_is_posted_by_url_with_caption_and_alt_text() {
    let server = server().await;
    let mut outgoing = post("Croissants are out");
    outgoing.media = vec![image(Some("https://herald.example/media/abc.jpg"))];
    let published = adapter(&server)
        .publish(&tokens(), &outgoing)
        .await
        .expect("published");
    let held = server
        .state
        .post(&published.remote_id)
        .expect("the photo post");
    assert_eq!(held.text, "Croissants are out");
    assert_eq!(
        held.media,
        vec![("A tray of croissants".to_owned(), "image/jpeg".to_owned())]
    );
    assert_eq!(held.extra["url"], "https://herald.example/media/abc.jpg");
}

#[tokio::test]
async fn an_image_without_a_public_address_is_uploaded_as_multipart_source() {
    let server = server().await;
    let mut outgoing = post("Uploaded croissants");
    outgoing.media = vec![image(None)];
    let published = adapter(&server)
        .publish(&tokens(), &outgoing)
        .await
        .expect("published");
    let held = server
        .state
        .post(&published.remote_id)
        .expect("the photo post");
    assert_eq!(held.text, "Uploaded croissants");
    assert_eq!(
        held.media,
        vec![("A tray of croissants".to_owned(), "image/jpeg".to_owned())]
    );
    assert_eq!(held.extra["uploaded_bytes"], 7);
}

#[tokio::test]
async fn several_images_are_uploaded_unpublished_then_attached_in_order_to_one_feed_post() {
    let server = server().await;
    let mut outgoing = post("Three trays");
    outgoing.media = vec![
        image(Some("https://herald.example/media/a.jpg")),
        image(None),
        image(Some("https://herald.example/media/c.png")),
    ];
    outgoing.media[1].alt = "A tray of brioche".to_owned();
    let published = adapter(&server)
        .publish(&tokens(), &outgoing)
        .await
        .expect("published");
    let held = server.state.posts();
    assert_eq!(held.len(), 1, "one post, not one per photo");
    assert_eq!(held[0].id, published.remote_id);
    assert_eq!(held[0].text, "Three trays");
    assert_eq!(
        held[0].media,
        [
            ("A tray of croissants", "image/jpeg"),
            ("A tray of brioche", "image/jpeg"),
            ("A tray of croissants", "image/png"),
        ]
        .map(|(alt, mime)| (alt.to_owned(), mime.to_owned()))
    );
    assert_eq!(
        held[0].extra["urls"],
        serde_json::json!([
            "https://herald.example/media/a.jpg",
            null,
            "https://herald.example/media/c.png"
        ])
    );
    assert_eq!(server.state.requests(), 4, "three uploads and the post");
}

#[tokio::test]
async fn more_photos_than_herald_attaches_are_refused_before_any_request() {
    let server = server().await;
    let mut outgoing = post("Too many");
    outgoing.media = vec![image(None); networks::facebook::MOST_IMAGES + 1];
    crate::checks::refused_before_any_request(&adapter(&server), &server, &tokens(), &[outgoing])
        .await;
}

#[tokio::test]
async fn a_lost_photo_upload_published_nothing_and_a_lost_feed_answer_is_found_by_its_message() {
    let server = server().await;
    server.state.set_faults(Faults {
        lost_after: 1.0,
        hang: Duration::from_secs(2),
        ..Faults::default()
    });
    let mut outgoing = post("Two trays, fresh");
    outgoing.media = vec![image(None), image(None)];
    let error = adapter(&server)
        .publish(&tokens(), &outgoing)
        .await
        .expect_err("lost");
    assert!(matches!(error, NetworkError::Unavailable(_)), "{error:?}");
    assert!(server.state.posts().is_empty());

    let (seed, faults) = crate::checks::losing_write(3);
    let server = fake::start(FakeState::new(TOKEN, seed))
        .await
        .expect("fake starts");
    server.state.set_faults(faults);
    crate::checks::found_after_a_lost_answer(&adapter(&server), &server, &tokens(), &outgoing)
        .await;
}

#[tokio::test]
async fn the_fake_refuses_to_attach_a_photo_that_is_not_an_unpublished_one_of_the_page() {
    let server = server().await;
    let answer = reqwest::Client::new()
        .post(format!(
            "{}/{}/{PAGE_ID}/feed",
            server.url(),
            networks::facebook::GRAPH_VERSION
        ))
        .bearer_auth(TOKEN)
        .form(&[
            ("message", "Look"),
            ("attached_media[0]", r#"{"media_fbid":"424242"}"#),
        ])
        .send()
        .await
        .expect("the fake answers");
    assert_eq!(answer.status(), reqwest::StatusCode::BAD_REQUEST);
    let body: serde_json::Value = answer.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], 100);
    assert!(server.state.posts().is_empty());
}

#[tokio::test]
async fn connecting_with_a_page_token_checks_it_and_keeps_the_page_id() {
    let server = server().await;
    let grant = Grant::AccessToken {
        token: TOKEN.into(),
        subject: Some(PAGE_ID.to_owned()),
        server: None,
    };
    let now = Timestamp::from_second(1_800_000_000).expect("time");
    let tokens = adapter(&server)
        .connect(&grant, now)
        .await
        .expect("connected");
    assert_eq!(tokens.subject, PAGE_ID);
    assert_eq!(tokens.expires_at, None, "Page tokens do not expire");
    let wrong = Grant::AccessToken {
        token: "not-the-token".into(),
        subject: None,
        server: None,
    };
    let error = adapter(&server)
        .connect(&wrong, now)
        .await
        .expect_err("refused");
    assert!(matches!(error, NetworkError::Unauthorized(_)), "{error:?}");
}

#[tokio::test]
async fn connecting_with_a_login_code_ends_with_the_page_token() {
    let server = server().await;
    let facebook = with_app(&server);
    let grant = Grant::AuthorizationCode {
        code: "the-code".into(),
        verifier: "unused-verifier".into(),
        redirect_uri: "https://herald.example/callback".to_owned(),
    };
    let tokens = facebook
        .connect(&grant, Timestamp::UNIX_EPOCH)
        .await
        .expect("connected");
    assert_eq!(tokens.subject, PAGE_ID);
    assert_eq!(secrecy::ExposeSecret::expose_secret(&tokens.access), TOKEN);
    let bad = Grant::AuthorizationCode {
        code: "bad-code".into(),
        verifier: "v".into(),
        redirect_uri: "https://herald.example/callback".to_owned(),
    };
    let error = facebook
        .connect(&bad, Timestamp::UNIX_EPOCH)
        .await
        .expect_err("bad code");
    assert!(
        matches!(error, NetworkError::Rejected(ref m) if m.contains("verification code")),
        "{error:?}"
    );
}

/// The adapter with the fake's Meta app, as connecting with the login dialog needs.
fn with_app(server: &FakeServer) -> Facebook {
    let app = (fake::APP_ID, fake::APP_SECRET);
    Facebook::new(crate::consent::with_app(&server.url(), app))
}

#[tokio::test]
async fn the_login_dialog_gives_a_code_that_connects_once_with_its_redirect_uri() {
    let server = server().await;
    let dialog = format!("/{}/dialog/oauth", networks::facebook::GRAPH_VERSION);
    crate::consent::codes_connect_once_and_only_with_their_redirect_uri(
        &with_app(&server),
        &server,
        &dialog,
    )
    .await;
    assert_eq!(
        server.state.grants(),
        ["authorization_code", "fb_exchange_token"],
        "the code, then the long-lived user token"
    );
}

#[tokio::test]
async fn a_code_cannot_be_exchanged_without_a_configured_app() {
    let server = server().await;
    let grant = Grant::AuthorizationCode {
        code: "the-code".into(),
        verifier: "v".into(),
        redirect_uri: "https://herald.example/callback".to_owned(),
    };
    let error = adapter(&server)
        .connect(&grant, Timestamp::UNIX_EPOCH)
        .await
        .expect_err("no app");
    assert!(matches!(error, NetworkError::Rejected(_)));
    let request = AuthorizeRequest {
        redirect_uri: "https://herald.example/callback",
        state: "s",
        code_challenge: "c",
    };
    assert_eq!(adapter(&server).authorize_url(&request), None);
}

#[test]
fn the_login_dialog_address_names_the_app_state_and_scopes_but_no_secret() {
    let oauth = OAuthClient {
        id: "1234567890".to_owned(),
        secret: Some("app-secret-value".into()),
    };
    let facebook = Facebook::new(Endpoint::new(
        networks::facebook::BASE_URL,
        crate::local(Duration::from_secs(5)),
        Some(oauth),
    ));
    let url = facebook
        .authorize_url(&AuthorizeRequest {
            redirect_uri: "https://herald.example/callback",
            state: "state-123",
            code_challenge: "challenge",
        })
        .expect("an app is configured");
    assert!(
        url.starts_with("https://www.facebook.com/v23.0/dialog/oauth?client_id=1234567890"),
        "{url}"
    );
    assert!(
        url.contains("state=state-123") && url.contains("pages_manage_posts"),
        "{url}"
    );
    assert!(!url.contains("app-secret-value"), "{url}");
}

#[tokio::test]
async fn deleting_removes_the_post_and_deleting_again_is_rejected() {
    let server = server().await;
    let facebook = adapter(&server);
    let published = facebook
        .publish(&tokens(), &post("Short-lived"))
        .await
        .expect("published");
    facebook
        .delete(&tokens(), &published.remote_id)
        .await
        .expect("deleted");
    assert!(server.state.posts().is_empty());
    let error = facebook
        .delete(&tokens(), &published.remote_id)
        .await
        .expect_err("gone");
    assert!(matches!(error, NetworkError::Rejected(_)), "{error:?}");
    let error = facebook
        .delete(&tokens(), "1/../me")
        .await
        .expect_err("not an id");
    assert!(matches!(error, NetworkError::Rejected(_)), "{error:?}");
}

#[tokio::test]
async fn revoking_and_account_info_speak_to_the_page() {
    let server = server().await;
    let facebook = adapter(&server);
    facebook.revoke(&tokens()).await.expect("revoked");
    let info = facebook.account_info(&tokens()).await.expect("info");
    assert_eq!(info.id, PAGE_ID);
    assert_eq!(info.display_name.as_deref(), Some(PAGE_NAME));
    assert_eq!(info.handle, fake::PAGE_USERNAME);
    let same = facebook
        .refresh(&tokens(), Timestamp::UNIX_EPOCH)
        .await
        .expect("refresh");
    assert_eq!(same.expires_at, None);
}

#[tokio::test]
async fn the_token_never_shows_in_errors_or_debug_output() {
    let server = server().await;
    let facebook = adapter(&server);
    let mut wrong = tokens();
    wrong.access = "EAAGwrong-token-secret-9876".into();
    let error = facebook
        .publish(&wrong, &post("x"))
        .await
        .expect_err("refused");
    let shown = format!("{error} {error:?} {facebook:?} {wrong:?}");
    assert!(matches!(error, NetworkError::Unauthorized(_)));
    assert!(
        !shown.contains("secret-9876") && !shown.contains(TOKEN),
        "{shown}"
    );
}
