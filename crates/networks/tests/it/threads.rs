//! The Threads adapter against its fake: TEXT and IMAGE containers published in two steps,
//! reconciling by text, errors in Herald's terms, the 60-day token refresh, connecting, and
//! deleting.

use std::time::Duration;

use jiff::Timestamp;
use networks::fake::threads::{self as fake, USER_ID, USERNAME};
use networks::fake::{FakeServer, FakeState, Faults};
use networks::threads::Threads;
use networks::{Adapter, Endpoint, Grant, Media, NetworkError, Outgoing, Tokens};
use secrecy::ExposeSecret;

const TOKEN: &str = "THAAlong-lived-secret-2468";

async fn server_with_seed(seed: u64) -> FakeServer {
    fake::start(FakeState::new(TOKEN, seed))
        .await
        .expect("fake starts")
}

fn adapter(server: &FakeServer) -> Threads {
    Threads::new(Endpoint::new(
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
        subject: USER_ID.to_owned(),
        server: None,
        dpop: None,
    }
}

fn post(text: &str) -> Outgoing {
    Outgoing {
        key: "post-1:account-3".to_owned(),
        text: text.to_owned(),
        media: Vec::new(),
        created_at: Timestamp::from_second(1_800_000_000).expect("time"),
    }
}

/// What a failure must look like.
#[tokio::test]
async fn publishing_text_makes_a_text_container_then_publishes_it() {
    let server = server_with_seed(1).await;
    let published = adapter(&server)
        .publish(&tokens(), &post("Ovens on at 6 🥖"))
        .await
        .expect("published");
    let held = server.state.posts();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].text, "Ovens on at 6 🥖");
    assert_eq!(held[0].extra["media_type"], "TEXT");
    assert!(held[0].media.is_empty());
    assert_eq!(published.remote_id, held[0].id);
    assert_eq!(
        published.url,
        Some(format!(
            "https://www.threads.com/@{USERNAME}/post/{}",
            held[0].id
        ))
    );
}

#[tokio::test]
async fn publishing_an_image_sends_its_address_and_alt_text() {
    let server = server_with_seed(1).await;
    let mut outgoing = post("New loaf");
    outgoing.media = vec![Media {
        bytes: vec![1, 2, 3],
        mime: "image/png".to_owned(),
        alt: "A round loaf, scored".to_owned(),
        public_url: Some("https://herald.example/media/loaf.png".to_owned()),
    }];
    adapter(&server)
        .publish(&tokens(), &outgoing)
        .await
        .expect("published");
    let held = &server.state.posts()[0];
    assert_eq!(held.extra["media_type"], "IMAGE");
    assert_eq!(
        held.extra["image_url"],
        "https://herald.example/media/loaf.png"
    );
    assert_eq!(
        held.media,
        vec![("A round loaf, scored".to_owned(), "image/png".to_owned())]
    );
    outgoing.media[0].public_url = None;
    let error = adapter(&server)
        .publish(&tokens(), &outgoing)
        .await
        .expect_err("no address");
    assert!(matches!(error, NetworkError::Rejected(_)), "{error:?}");
}

#[tokio::test]
async fn a_lost_container_answer_published_nothing() {
    let server = server_with_seed(1).await;
    server.state.set_faults(Faults {
        lost_before: 1.0,
        hang: Duration::from_secs(2),
        ..Faults::default()
    });
    let error = adapter(&server)
        .publish(&tokens(), &post("x"))
        .await
        .expect_err("lost");
    assert!(matches!(error, NetworkError::Unavailable(_)), "{error:?}");
    assert!(server.state.posts().is_empty());
}

#[tokio::test]
async fn refreshing_the_long_lived_token_gives_sixty_days_from_now() {
    let server = server_with_seed(1).await;
    let now = Timestamp::from_second(1_795_000_000).expect("time");
    let fresh = adapter(&server)
        .refresh(&tokens(), now)
        .await
        .expect("refreshed");
    assert_eq!(
        fresh.expires_at,
        Some(Timestamp::from_second(1_795_000_000 + 5_184_000).expect("time"))
    );
    assert_eq!(fresh.access.expose_secret(), TOKEN);
    assert_eq!(fresh.subject, USER_ID);
}

#[tokio::test]
async fn connecting_with_a_login_code_exchanges_it_for_a_long_lived_token() {
    let server = server_with_seed(1).await;
    let threads = with_app(&server.url());
    let grant = Grant::AuthorizationCode {
        code: "th-code".into(),
        verifier: "v".into(),
        redirect_uri: "https://herald.example/callback".to_owned(),
    };
    let now = Timestamp::from_second(1_800_000_000).expect("time");
    let tokens = threads.connect(&grant, now).await.expect("connected");
    assert_eq!(tokens.access.expose_secret(), TOKEN);
    assert_eq!(tokens.subject, USER_ID, "the numeric user_id, as text");
    assert_eq!(
        tokens.expires_at,
        Some(Timestamp::from_second(1_800_000_000 + 5_183_944).expect("time"))
    );
}

/// The adapter at `url` with the fake's Threads app, as the authorization window needs.
fn with_app(url: &str) -> Threads {
    Threads::new(crate::consent::with_app(
        url,
        (fake::APP_ID, fake::APP_SECRET),
    ))
}

#[tokio::test]
async fn the_authorization_window_gives_a_code_that_connects_once_with_its_redirect_uri() {
    let server = server_with_seed(1).await;
    let threads = with_app(&server.url());
    crate::consent::codes_connect_once_and_only_with_their_redirect_uri(
        &threads,
        &server,
        "/oauth/authorize",
    )
    .await;
}

#[test]
fn on_metas_host_the_authorization_window_is_on_threads_com_with_no_secret() {
    let url = with_app(networks::threads::BASE_URL)
        .authorize_url(&networks::AuthorizeRequest {
            redirect_uri: "https://herald.example/callback",
            state: "st",
            code_challenge: "c",
        })
        .expect("an app is configured");
    assert!(
        url.starts_with(&format!(
            "https://threads.com/oauth/authorize?client_id={}",
            fake::APP_ID
        )),
        "{url}"
    );
    assert!(
        url.contains("threads_content_publish") && !url.contains(fake::APP_SECRET),
        "{url}"
    );
}

fn carousel_post(text: &str, count: usize) -> Outgoing {
    let mut outgoing = post(text);
    outgoing.media = crate::checks::loaves(count, "image/png");
    outgoing
}

#[tokio::test]
async fn several_images_make_item_containers_then_a_carousel_with_the_text() {
    let server = server_with_seed(1).await;
    let outgoing = carousel_post("Three loaves", 3);
    let held = crate::checks::published_as_a_carousel_of_three(
        &adapter(&server),
        &server,
        &tokens(),
        &outgoing,
    )
    .await;
    assert!(held.media.iter().all(|(_, mime)| mime == "image/png"));
}

#[tokio::test]
async fn a_carousel_threads_cannot_take_is_refused_before_any_request() {
    let server = server_with_seed(1).await;
    let too_many = carousel_post("Too many", networks::threads::MOST_IMAGES + 1);
    let mut one_private = carousel_post("One private", 3);
    one_private.media[1].public_url = None;
    let posts = [too_many, one_private];
    crate::checks::refused_before_any_request(&adapter(&server), &server, &tokens(), &posts).await;
}

#[tokio::test]
async fn a_carousel_whose_publish_answer_was_lost_is_found_by_its_text() {
    // Two items, the carousel, then the publish whose answer is lost.
    let (seed, faults) = crate::checks::losing_write(4);
    let server = server_with_seed(seed).await;
    server.state.set_faults(faults);
    let outgoing = carousel_post("Did the pair go out?", 2);
    crate::checks::found_after_a_lost_answer(&adapter(&server), &server, &tokens(), &outgoing)
        .await;
}

#[tokio::test]
async fn connecting_with_a_token_checks_who_it_acts_as() {
    let server = server_with_seed(1).await;
    let threads = adapter(&server);
    let grant = Grant::AccessToken {
        token: TOKEN.into(),
        subject: None,
        server: None,
    };
    let tokens = threads
        .connect(&grant, Timestamp::UNIX_EPOCH)
        .await
        .expect("connected");
    assert_eq!(tokens.subject, USER_ID);
    let other = Grant::AccessToken {
        token: TOKEN.into(),
        subject: Some("999".to_owned()),
        server: None,
    };
    let error = threads
        .connect(&other, Timestamp::UNIX_EPOCH)
        .await
        .expect_err("someone else");
    assert!(matches!(error, NetworkError::Rejected(_)), "{error:?}");
    let info = threads.account_info(&tokens).await.expect("info");
    assert_eq!(
        (info.id.as_str(), info.handle.as_str()),
        (USER_ID, USERNAME)
    );
}

#[tokio::test]
async fn deleting_removes_the_thread_and_revoking_is_left_to_the_app() {
    let server = server_with_seed(1).await;
    let threads = adapter(&server);
    let published = threads
        .publish(&tokens(), &post("Gone soon"))
        .await
        .expect("published");
    threads
        .delete(&tokens(), &published.remote_id)
        .await
        .expect("deleted");
    assert!(server.state.posts().is_empty());
    let error = threads
        .delete(&tokens(), &published.remote_id)
        .await
        .expect_err("gone");
    assert!(matches!(error, NetworkError::Rejected(_)), "{error:?}");
    let error = threads.revoke(&tokens()).await.expect_err("no revoke API");
    assert!(matches!(error, NetworkError::Rejected(ref m) if m.contains("Website permissions")));
}

#[tokio::test]
async fn the_token_never_shows_in_errors_or_debug_output() {
    let server = server_with_seed(1).await;
    let threads = adapter(&server);
    let mut wrong = tokens();
    wrong.access = "THAAwrong-secret-1357".into();
    let errors = [
        threads
            .publish(&wrong, &post("x"))
            .await
            .expect_err("refused"),
        threads
            .refresh(&wrong, Timestamp::UNIX_EPOCH)
            .await
            .expect_err("refused"),
        threads.account_info(&wrong).await.expect_err("refused"),
    ];
    for error in errors {
        assert!(matches!(error, NetworkError::Unauthorized(_)), "{error:?}");
        let shown = format!("{error} {error:?} {threads:?} {wrong:?}");
        assert!(
            !shown.contains("secret-1357") && !shown.contains(TOKEN),
            "{shown}"
        );
    }
}
