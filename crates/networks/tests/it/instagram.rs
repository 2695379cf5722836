//! The Instagram adapter against its fake: the two-step container publish, posts Instagram
//! cannot take refused before any request, reconciling by caption, which step's failure is
//! safe to retry, token exchange and refresh.

use std::time::Duration;

use jiff::Timestamp;
use networks::fake::instagram::{self as fake, IG_USER_ID, USERNAME};
use networks::fake::{FakeServer, FakeState, Faults};
use networks::instagram::Instagram;
use networks::{Adapter, Endpoint, Grant, Media, NetworkError, Outgoing, Tokens};
use secrecy::ExposeSecret;

const TOKEN: &str = "IGAAlong-lived-secret-5678";

async fn server_with_seed(seed: u64) -> FakeServer {
    fake::start(FakeState::new(TOKEN, seed))
        .await
        .expect("fake starts")
}

fn adapter(server: &FakeServer) -> Instagram {
    Instagram::new(Endpoint::new(
        &server.url(),
        crate::local(Duration::from_millis(300)),
        None,
    ))
}

fn tokens() -> Tokens {
    Tokens {
        access: TOKEN.into(),
        refresh: None,
        expires_at: Some(Timestamp::from_second(1_800_000_000).expect("time")),
        subject: IG_USER_ID.to_owned(),
        server: None,
        dpop: None,
    }
}

fn photo_post(text: &str) -> Outgoing {
    Outgoing {
        key: "post-1:account-2".to_owned(),
        text: text.to_owned(),
        media: vec![Media {
            bytes: vec![0xFF, 0xD8],
            mime: "image/jpeg".to_owned(),
            alt: "Sourdough loaves on a rack".to_owned(),
            public_url: Some("https://herald.example/media/s1gn3d.jpg".to_owned()),
        }],
        created_at: Timestamp::from_second(1_800_000_000).expect("time"),
    }
}

#[tokio::test]
async fn publishing_makes_a_container_then_publishes_it_with_caption_and_alt_text() {
    let server = server_with_seed(1).await;
    let published = adapter(&server)
        .publish(&tokens(), &photo_post("Sourdough Saturday"))
        .await
        .expect("published");
    let held = server.state.posts();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].text, "Sourdough Saturday");
    assert_eq!(
        held[0].media,
        vec![(
            "Sourdough loaves on a rack".to_owned(),
            "image/jpeg".to_owned()
        )]
    );
    assert_eq!(
        held[0].extra["image_url"],
        "https://herald.example/media/s1gn3d.jpg"
    );
    assert!(held[0].extra["container"].is_string());
    assert_eq!(published.remote_id, held[0].id);
    assert_eq!(
        published.url,
        Some(format!("https://www.instagram.com/p/{}/", held[0].id))
    );
    assert_eq!(server.state.requests(), 2, "one container, one publish");
}

fn carousel_post(text: &str, count: usize) -> Outgoing {
    let mut post = photo_post(text);
    post.media = crate::checks::loaves(count, "image/jpeg");
    post
}

#[tokio::test]
async fn several_images_make_item_containers_then_a_carousel_that_is_published() {
    let server = server_with_seed(1).await;
    let post = carousel_post("Three loaves", 3);
    let held = crate::checks::published_as_a_carousel_of_three(
        &adapter(&server),
        &server,
        &tokens(),
        &post,
    )
    .await;
    assert_eq!(
        held.extra["image_urls"][2],
        "https://herald.example/media/3.jpeg"
    );
}

#[tokio::test]
async fn a_carousel_whose_publish_answer_was_lost_is_found_by_its_caption() {
    // Two items, the carousel, then the publish whose answer is lost.
    let (seed, faults) = crate::checks::losing_write(4);
    let server = server_with_seed(seed).await;
    server.state.set_faults(faults);
    let outgoing = carousel_post("Did both loaves go out?", 2);
    crate::checks::found_after_a_lost_answer(&adapter(&server), &server, &tokens(), &outgoing)
        .await;
}

#[tokio::test]
async fn the_fake_refuses_a_carousel_of_one_and_an_item_published_alone() {
    let server = server_with_seed(1).await;
    let client = reqwest::Client::new();
    let edge = |name: &str| {
        let version = networks::facebook::GRAPH_VERSION;
        format!("{}/{version}/{IG_USER_ID}/{name}", server.url())
    };
    let item: serde_json::Value = client
        .post(edge("media"))
        .bearer_auth(TOKEN)
        .form(&[
            ("image_url", "https://herald.example/media/1.jpg"),
            ("is_carousel_item", "true"),
        ])
        .send()
        .await
        .expect("the fake answers")
        .json()
        .await
        .expect("JSON");
    let item = item["id"].as_str().expect("an item container");
    for (name, form) in [
        (
            "media",
            vec![("media_type", "CAROUSEL"), ("children", item)],
        ),
        ("media_publish", vec![("creation_id", item)]),
    ] {
        let answer = client
            .post(edge(name))
            .bearer_auth(TOKEN)
            .form(&form)
            .send()
            .await
            .expect("the fake answers");
        assert_eq!(answer.status(), reqwest::StatusCode::BAD_REQUEST, "{name}");
        let body: serde_json::Value = answer.json().await.expect("JSON");
        assert_eq!(body["error"]["code"], 100, "{body}");
    }
    assert!(server.state.posts().is_empty());
}

#[tokio::test]
async fn a_post_instagram_cannot_take_is_rejected_before_any_request() {
    let server = server_with_seed(1).await;
    let instagram = adapter(&server);
    let mut text_only = photo_post("No picture");
    text_only.media.clear();
    let mut no_address = photo_post("Private picture");
    no_address.media[0].public_url = None;
    let mut png = photo_post("A PNG");
    png.media[0].mime = "image/png".to_owned();
    let eleven = carousel_post("Too many", networks::instagram::MOST_IMAGES + 1);
    let mut one_png_among_jpegs = carousel_post("One PNG", 3);
    one_png_among_jpegs.media[2].mime = "image/png".to_owned();
    for outgoing in [text_only, no_address, png, eleven, one_png_among_jpegs] {
        let error = instagram
            .publish(&tokens(), &outgoing)
            .await
            .expect_err("refused");
        assert!(matches!(error, NetworkError::Rejected(_)), "{error:?}");
    }
    assert_eq!(server.state.requests(), 0);
    assert!(server.state.posts().is_empty());
}

#[tokio::test]
async fn a_lost_container_answer_published_nothing_and_is_safe_to_retry() {
    let server = server_with_seed(1).await;
    server.state.set_faults(Faults {
        lost_after: 1.0,
        hang: Duration::from_secs(2),
        ..Faults::default()
    });
    let error = adapter(&server)
        .publish(&tokens(), &photo_post("x"))
        .await
        .expect_err("lost");
    assert!(matches!(error, NetworkError::Unavailable(_)), "{error:?}");
    assert!(error.is_transient());
    assert!(server.state.posts().is_empty());
}

#[tokio::test]
async fn refreshing_gives_sixty_days_from_now() {
    let server = server_with_seed(1).await;
    let now = Timestamp::from_second(1_790_000_000).expect("time");
    let fresh = adapter(&server)
        .refresh(&tokens(), now)
        .await
        .expect("refreshed");
    assert_eq!(
        fresh.expires_at,
        Some(Timestamp::from_second(1_790_000_000 + 5_184_000).expect("time"))
    );
    assert_eq!(fresh.subject, IG_USER_ID);
    let mut unknown_expiry = tokens();
    unknown_expiry.expires_at = None;
    let kept = adapter(&server)
        .refresh(&unknown_expiry, now)
        .await
        .expect("kept");
    assert_eq!(kept.expires_at, None);
}

#[tokio::test]
async fn connecting_with_a_login_code_exchanges_it_for_a_long_lived_token() {
    let server = server_with_seed(1).await;
    let instagram = with_app(&server.url()).with_login_url(&server.url());
    let grant = Grant::AuthorizationCode {
        code: "ig-code".into(),
        verifier: "v".into(),
        redirect_uri: "https://herald.example/callback".to_owned(),
    };
    let now = Timestamp::from_second(1_800_000_000).expect("time");
    let tokens = instagram.connect(&grant, now).await.expect("connected");
    assert_eq!(tokens.access.expose_secret(), TOKEN);
    assert_eq!(
        tokens.subject, IG_USER_ID,
        "the professional account id from /me"
    );
    assert_eq!(
        tokens.expires_at,
        Some(Timestamp::from_second(1_800_000_000 + 5_183_944).expect("time"))
    );
    let bad = Grant::AuthorizationCode {
        code: "bad-code".into(),
        verifier: "v".into(),
        redirect_uri: "https://herald.example/callback".to_owned(),
    };
    let error = instagram.connect(&bad, now).await.expect_err("bad code");
    assert!(
        matches!(error, NetworkError::Rejected(ref m) if m.contains("Matching code")),
        "{error:?}"
    );
}

/// The adapter at `url` with the fake's Instagram app, as Instagram Login needs.
fn with_app(url: &str) -> Instagram {
    Instagram::new(crate::consent::with_app(
        url,
        (fake::APP_ID, fake::APP_SECRET),
    ))
}

#[tokio::test]
async fn the_authorize_page_gives_a_code_that_connects_once_with_its_redirect_uri() {
    let server = server_with_seed(1).await;
    let instagram = with_app(&server.url());
    crate::consent::codes_connect_once_and_only_with_their_redirect_uri(
        &instagram,
        &server,
        "/oauth/authorize",
    )
    .await;
}

#[test]
fn on_metas_hosts_the_browser_goes_to_instagram_login() {
    for host in [networks::instagram::BASE_URL, networks::facebook::BASE_URL] {
        let url = with_app(host)
            .authorize_url(&networks::AuthorizeRequest {
                redirect_uri: "https://herald.example/oauth/callback",
                state: "s",
                code_challenge: "c",
            })
            .expect("an app is configured");
        assert!(
            url.starts_with("https://www.instagram.com/oauth/authorize?client_id="),
            "{url}"
        );
        assert!(!url.contains(fake::APP_SECRET), "{url}");
    }
}

#[tokio::test]
async fn connecting_with_a_token_and_account_info_name_the_account() {
    let server = server_with_seed(1).await;
    let instagram = adapter(&server);
    let grant = Grant::AccessToken {
        token: TOKEN.into(),
        subject: None,
        server: None,
    };
    let tokens = instagram
        .connect(&grant, Timestamp::UNIX_EPOCH)
        .await
        .expect("connected");
    assert_eq!(tokens.subject, IG_USER_ID);
    let info = instagram.account_info(&tokens).await.expect("info");
    assert_eq!(
        (info.id.as_str(), info.handle.as_str()),
        (IG_USER_ID, USERNAME)
    );
}

#[tokio::test]
async fn deleting_and_revoking_say_what_to_do_in_the_app_instead() {
    let server = server_with_seed(1).await;
    let instagram = adapter(&server);
    let delete = instagram
        .delete(&tokens(), "123")
        .await
        .expect_err("no delete API");
    let revoke = instagram
        .revoke(&tokens())
        .await
        .expect_err("no revoke API");
    assert!(matches!(delete, NetworkError::Rejected(ref m) if m.contains("Instagram app")));
    assert!(matches!(revoke, NetworkError::Rejected(ref m) if m.contains("Website permissions")));
}

#[tokio::test]
async fn the_token_never_shows_in_errors_or_debug_output() {
    let server = server_with_seed(1).await;
    let instagram = adapter(&server);
    let mut wrong = tokens();
    wrong.access = "IGAAwrong-secret-4321".into();
    let errors = [
        instagram
            .publish(&wrong, &photo_post("x"))
            .await
            .expect_err("refused"),
        instagram
            .refresh(&wrong, Timestamp::UNIX_EPOCH)
            .await
            .expect_err("refused"),
    ];
    for error in errors {
        assert!(matches!(error, NetworkError::Unauthorized(_)), "{error:?}");
        let shown = format!("{error} {error:?} {instagram:?} {wrong:?}");
        assert!(
            !shown.contains("secret-4321") && !shown.contains(TOKEN),
            "{shown}"
        );
    }
}
