//! Images with alt text on posts, through the API: attached to a draft, listed and served
//! with the type read from their bytes; refused with a specific message (and the draft kept)
//! when they are not images, too large or of a type the network does not take, or lack alt
//! text; hidden from people who cannot see the post; and carried to the network with their
//! alt text when the post is published.

use herald::domain::ids::{AccountId, PostId};
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use herald::clock::{Clock, ManualClock};
use jiff::{SignedDuration, Timestamp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, contract_test, spawn_app_with_clock};
use crate::people::{Person, app, invite_and_join, set_up};
use crate::posts::{draft_id, grant};
use crate::publishing::Scene;

/// A small PNG: the signature and an IHDR chunk saying `width` × `height`, then `padding`
/// bytes of a private chunk to make it as large as a test needs.
pub fn png(width: u32, height: u32, padding: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    bytes.extend(width.to_be_bytes());
    bytes.extend(height.to_be_bytes());
    bytes.extend([8, 2, 0, 0, 0, 0, 0, 0, 0]);
    bytes.extend(vec![0u8; padding]);
    bytes.extend(b"\0\0\0\0IEND\xaeB`\x82");
    bytes
}

/// A small JPEG: start of image, a JFIF segment, and a start of frame saying 800 × 600.
pub fn jpeg() -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x4A, 0x46];
    bytes.extend([0xFF, 0xC0, 0x00, 0x11, 0x08, 0x02, 0x58, 0x03, 0x20, 0x03]);
    bytes.extend([0xFF, 0xD9]);
    bytes
}

/// Uploads `bytes` as the `file` part, named and typed as the browser claims.
pub async fn upload(
    app: &TestApp,
    person: &Person,
    post: i64,
    bytes: Vec<u8>,
    claimed: (&str, &str),
    alt: Option<&str>,
) -> reqwest::Response {
    let (file_name, content_type) = claimed;
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(file_name.to_owned())
        .mime_str(content_type)
        .expect("media type");
    let mut form = reqwest::multipart::Form::new().part("file", part);
    if let Some(alt) = alt {
        form = form.text("alt", alt.to_owned());
    }
    person
        .client
        .post(app.url(&format!("/api/v1/posts/{post}/media")))
        .header("x-csrf-token", &person.csrf)
        .multipart(form)
        .send()
        .await
        .expect("request")
}

async fn list(app: &TestApp, person: &Person, post: i64) -> reqwest::Response {
    person
        .get(app, &format!("/api/v1/posts/{post}/media"))
        .await
}

async fn images(app: &TestApp, person: &Person, post: i64) -> Vec<Value> {
    let response = list(app, person, post).await;
    assert_eq!(response.status(), StatusCode::OK);
    response
        .json::<Value>()
        .await
        .expect("JSON")
        .as_array()
        .expect("list")
        .clone()
}

/// The refusal's problem+json, after checking its status.
async fn refused(response: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    response.json().await.expect("problem+json")
}

/// The post is still a draft with its text, and holds `count` images.
async fn draft_kept(app: &TestApp, person: &Person, post: i64, text: &str, count: usize) {
    let kept: Value = person.get_json(app, &format!("/api/v1/posts/{post}")).await;
    assert_eq!(kept["state"], "draft");
    assert_eq!(kept["text"], text);
    assert_eq!(images(app, person, post).await.len(), count);
}

fn stored_files(app: &TestApp) -> Vec<std::fs::DirEntry> {
    match std::fs::read_dir(app.data_dir.join("media")) {
        Ok(entries) => entries.map(|entry| entry.expect("entry")).collect(),
        Err(_) => Vec::new(),
    }
}

/// An account on `network`, with `owner` as its gatekeeper.
async fn account(app: &TestApp, owner: &Person, network: &str, handle: &str) -> AccountId {
    let created = owner
        .post(
            app,
            "/api/v1/accounts",
            json!({ "network": network, "handle": handle, "display_name": "Sunny Café",
                    "avatar_colour": "#1f5f5b", "gatekeeper_id": owner.id }),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    AccountId::new(
        created.json::<Value>().await.expect("JSON")["id"]
            .as_i64()
            .expect("id"),
    )
}

#[tokio::test]
async fn a_png_with_alt_text_is_attached_listed_and_served_as_what_its_bytes_say() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let account = account(&app, &owner, "mastodon", "@sunny@cafe.example").await;
    let post = draft_id(&app, &owner, account, "Soup of the day").await;
    let bytes = png(640, 480, 100);

    // Named and typed as a JPEG by the browser; Herald believes the bytes.
    let attached = upload(
        &app,
        &owner,
        post,
        bytes.clone(),
        ("soup.jpg", "image/jpeg"),
        Some("  A bowl of pumpkin soup on a blue table  "),
    )
    .await;
    assert_eq!(attached.status(), StatusCode::CREATED);
    let attached: Value = attached.json().await.expect("JSON");
    assert_eq!(attached["mime"], "image/png");
    assert_eq!(attached["width"], 640);
    assert_eq!(attached["height"], 480);
    assert_eq!(attached["alt"], "A bowl of pumpkin soup on a blue table");
    assert_eq!(attached["size_bytes"], bytes.len());

    let listed = images(&app, &owner, post).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], attached["id"]);
    let served = owner
        .get(&app, attached["url"].as_str().expect("url"))
        .await;
    assert_eq!(served.status(), StatusCode::OK);
    let header = |name: &str| {
        served
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(header("content-type").as_deref(), Some("image/png"));
    assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
    assert_eq!(header("content-disposition").as_deref(), Some("inline"));
    assert_eq!(
        served.bytes().await.expect("bytes").as_ref(),
        bytes.as_slice()
    );

    let files = stored_files(&app);
    assert_eq!(files.len(), 1, "one file, no temporary leftovers");
    let name = files[0].file_name().to_string_lossy().into_owned();
    assert!(
        !name.contains("soup"),
        "the file has a name of Herald's own: {name}"
    );
    let mode = files[0].metadata().expect("metadata").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    let removed = owner
        .send(
            &app,
            Method::DELETE,
            &format!("/api/v1/posts/{post}/media/{}", attached["id"]),
            None,
        )
        .await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    assert!(images(&app, &owner, post).await.is_empty());
    assert!(stored_files(&app).is_empty(), "the file went with it");
    let pending = app.store.media_files_pending_since(Timestamp::MAX).await;
    assert!(
        pending.expect("pending").is_empty(),
        "nothing is left to sweep"
    );
}

/// A file in the media directory, as a crash left it.
fn place_file(app: &TestApp, name: &str) -> std::path::PathBuf {
    let path = app.data_dir.join("media").join(name);
    std::fs::write(&path, b"an image nobody holds").expect("write");
    path
}

#[tokio::test]
async fn the_daily_housekeeping_deletes_image_files_left_pending_and_no_file_it_does_not_know() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let account = account(&app, &owner, "mastodon", "@sunny@cafe.example").await;
    let post = draft_id(&app, &owner, account, "Soup of the day").await;
    let attached = upload(
        &app,
        &owner,
        post,
        png(64, 48, 10),
        ("soup.png", "image/png"),
        Some("A bowl of soup"),
    )
    .await;
    assert_eq!(attached.status(), StatusCode::CREATED);
    let held = app
        .store
        .post_media(PostId::new(post))
        .await
        .expect("images");
    let held = app.data_dir.join("media").join(&held[0].file_name);
    let unheld = app
        .data_dir
        .join("media")
        .join("0123456789abcdef0123456789abcdef");
    std::fs::write(&unheld, b"an older installation's image").expect("write");

    // What a crash between writing an image and saving its row leaves: the file (whole, or
    // half-written), pending in the database. Beside them, one written a moment before the
    // sweep, whose row may be on its way.
    let crashed = |name: &str, at: Timestamp| {
        let store = app.store.clone();
        let name = name.to_owned();
        async move { store.media_file_pending(&name, at).await.expect("pending") }
    };
    let next_run = clock.now() + SignedDuration::from_hours(25);
    let hour_before = next_run - SignedDuration::from_hours(1) - SignedDuration::from_secs(1);
    let whole = place_file(&app, "fedcba9876543210fedcba9876543210");
    crashed("fedcba9876543210fedcba9876543210", hour_before).await;
    let partial = place_file(&app, ".aaaabbbbccccddddeeeeffff00001111.partial");
    crashed("aaaabbbbccccddddeeeeffff00001111", hour_before).await;
    let arriving = place_file(&app, "00112233445566778899aabbccddeeff");
    crashed(
        "00112233445566778899aabbccddeeff",
        next_run - SignedDuration::from_mins(5),
    )
    .await;
    // The draft's image as if the answer to its saving had been lost after the commit.
    let held_name = held
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    crashed(&held_name, hour_before).await;
    clock.advance(SignedDuration::from_hours(25));

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while (whole.exists() || partial.exists()) && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(!whole.exists(), "an image file left pending is deleted");
    assert!(!partial.exists(), "a half-written one too");
    assert!(held.exists(), "the draft's image stays, even left pending");
    assert!(
        arriving.exists(),
        "a file pending for less than an hour stays"
    );
    assert!(
        unheld.exists(),
        "a file the database does not know of stays"
    );
    let pending = app
        .store
        .media_files_pending_since(clock.now())
        .await
        .expect("pending");
    assert_eq!(pending, ["00112233445566778899aabbccddeeff"]);
}

#[tokio::test]
async fn html_named_png_missing_alt_text_and_a_fifth_image_are_refused_with_the_draft_kept() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let account = account(&app, &owner, "mastodon", "@sunny@cafe.example").await;
    let text = "Menu for the week";
    let post = draft_id(&app, &owner, account, text).await;

    let html = b"<!doctype html><script>document.location='https://evil.example'</script>";
    let problem = refused(
        upload(
            &app,
            &owner,
            post,
            html.to_vec(),
            ("menu.png", "image/png"),
            Some("The menu"),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(problem["field"], "file");
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .contains("not an image (PNG, JPEG, GIF or WebP)"),
        "{problem}"
    );
    // The PNG signature followed by random bytes: the magic number alone is not an image.
    let mut fake_png = b"\x89PNG\r\n\x1a\n".to_vec();
    fake_png.extend((0u32..2048).map(|n| (n.wrapping_mul(2_654_435_761) >> 11) as u8));
    let problem = refused(
        upload(
            &app,
            &owner,
            post,
            fake_png,
            ("menu.png", "image/png"),
            Some("The menu"),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(problem["field"], "file");
    assert!(
        problem["detail"].as_str().is_some_and(
            |detail| detail.contains("starts like a PNG image, but its header is damaged")
        ),
        "{problem}"
    );
    draft_kept(&app, &owner, post, text, 0).await;
    assert!(stored_files(&app).is_empty(), "nothing refused is kept");
    let pending = app.store.media_files_pending_since(Timestamp::MAX).await;
    assert!(
        pending.expect("pending").is_empty(),
        "nothing is left to sweep"
    );

    for alt in [None, Some("   ")] {
        let problem = refused(
            upload(
                &app,
                &owner,
                post,
                png(1, 1, 0),
                ("a.png", "image/png"),
                alt,
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(problem["field"], "alt");
        assert!(
            problem["detail"]
                .as_str()
                .expect("detail")
                .contains("alt text"),
            "{problem}"
        );
    }
    draft_kept(&app, &owner, post, text, 0).await;

    let long = "a".repeat(1501);
    let problem = refused(
        upload(
            &app,
            &owner,
            post,
            png(1, 1, 0),
            ("a.png", "image/png"),
            Some(&long),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        problem["detail"],
        "Mastodon takes alt text of at most 1500 characters; this one has 1501"
    );

    for n in 0..4 {
        let alt = format!("Photo {n}");
        let attached = upload(
            &app,
            &owner,
            post,
            png(1, 1, n),
            ("a.png", "image/png"),
            Some(&alt),
        );
        assert_eq!(attached.await.status(), StatusCode::CREATED);
    }
    let problem = refused(
        upload(
            &app,
            &owner,
            post,
            png(1, 1, 0),
            ("a.png", "image/png"),
            Some("One more"),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        problem["detail"],
        "Mastodon takes at most 4 images on a post"
    );
    draft_kept(&app, &owner, post, text, 4).await;
    assert_eq!(stored_files(&app).len(), 4);
}

#[tokio::test]
async fn an_upload_with_a_part_other_than_file_and_alt_is_refused_naming_the_part() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let account = account(&app, &owner, "mastodon", "@sunny@cafe.example").await;
    let text = "Cake of the day";
    let post = draft_id(&app, &owner, account, text).await;
    let part = reqwest::multipart::Part::bytes(png(640, 480, 10))
        .file_name("cake.png")
        .mime_str("image/png")
        .expect("media type");
    // A misspelt `alt` must not pass for an image without alt text, nor be dropped silently.
    let form = reqwest::multipart::Form::new()
        .part("file", part)
        .text("alt_text", "A slice of carrot cake");
    let response = owner
        .client
        .post(app.url(&format!("/api/v1/posts/{post}/media")))
        .header("x-csrf-token", &owner.csrf)
        .multipart(form)
        .send()
        .await
        .expect("request");
    let problem = refused(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem["field"], "alt_text", "{problem}");
    draft_kept(&app, &owner, post, text, 0).await;
}

#[tokio::test]
async fn an_image_too_large_for_bluesky_is_refused_naming_bluesky_s_limit() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let account = account(&app, &owner, "bluesky", "sunny.bsky.social").await;
    let text = "Our new terrace";
    let post = draft_id(&app, &owner, account, text).await;

    let large = png(4000, 3000, 2_000_000);
    let problem = refused(
        upload(
            &app,
            &owner,
            post,
            large.clone(),
            ("terrace.png", "image/png"),
            Some("The terrace"),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(large.len(), 2_000_045);
    assert_eq!(
        problem["detail"],
        "Bluesky takes images of at most 1,000,000 bytes; this one has 2,000,045"
    );
    draft_kept(&app, &owner, post, text, 0).await;

    let small = upload(
        &app,
        &owner,
        post,
        png(400, 300, 900_000),
        ("t.png", "image/png"),
        Some("The terrace"),
    )
    .await;
    assert_eq!(
        small.status(),
        StatusCode::CREATED,
        "under the limit is fine"
    );
}

#[tokio::test]
async fn instagram_takes_one_jpeg_and_a_post_without_one_is_not_submitted() {
    let clock = ManualClock::new(Timestamp::from_second(1_800_000_000).expect("time"));
    let app = spawn_app_with_clock(
        |config| config.public_url = Some("http://herald.example".to_owned()),
        Arc::new(clock.clone()),
    )
    .await;
    let owner = set_up(&app, &clock).await;
    let account = account(&app, &owner, "instagram", "sunnycafe").await;
    let text = "Fresh croissants";
    let post = draft_id(&app, &owner, account, text).await;

    let problem = refused(
        crate::posts::act(&app, &owner, post, "submit", json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(problem["field"], "media");
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .starts_with("Instagram posts need an image"),
        "{problem}"
    );
    draft_kept(&app, &owner, post, text, 0).await;

    let problem = refused(
        upload(
            &app,
            &owner,
            post,
            png(1080, 1080, 0),
            ("c.jpg", "image/jpeg"),
            Some("Croissants"),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(problem["detail"], "Instagram takes JPEG images, not PNG");
    draft_kept(&app, &owner, post, text, 0).await;

    let attached = upload(
        &app,
        &owner,
        post,
        jpeg(),
        ("c.jpg", "image/jpeg"),
        Some("Croissants"),
    )
    .await;
    assert_eq!(attached.status(), StatusCode::CREATED);
    let submitted = crate::posts::act(&app, &owner, post, "submit", json!({})).await;
    assert_eq!(submitted.status(), StatusCode::OK);
    let submitted: Value = submitted.json().await.expect("JSON");
    assert_eq!(submitted["state"], "approved");

    // Once submitted, its images are fixed.
    let problem = refused(
        upload(
            &app,
            &owner,
            post,
            jpeg(),
            ("d.jpg", "image/jpeg"),
            Some("More"),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .contains("draft")
    );

    // Signed links that were never signed, or were tampered with, lead nowhere.
    for forged in ["/media/1.9999999999.AAAA", "/media/garbage", "/media/1"] {
        assert_eq!(
            app.get(forged).await.status(),
            StatusCode::NOT_FOUND,
            "{forged}"
        );
    }
}

#[tokio::test]
async fn without_a_public_address_instagram_images_are_refused_with_what_to_set() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let account = account(&app, &owner, "instagram", "sunnycafe").await;
    let post = draft_id(&app, &owner, account, "Croissants").await;
    let problem = refused(
        upload(
            &app,
            &owner,
            post,
            jpeg(),
            ("c.jpg", "image/jpeg"),
            Some("Croissants"),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .contains("set public_url"),
        "{problem}"
    );
}

#[tokio::test]
async fn images_are_visible_to_those_who_see_the_post_and_do_not_exist_for_anyone_else() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let viewer = invite_and_join(&app, &clock, &owner, "viewer@sunny.example", "member").await;
    let outsider = invite_and_join(&app, &clock, &owner, "other@sunny.example", "member").await;
    let cafe = account(&app, &owner, "mastodon", "@sunny@cafe.example").await;
    let bakery = account(&app, &owner, "mastodon", "@bakery@cafe.example").await;
    grant(&app, &owner, cafe, &viewer, "viewer").await;
    grant(&app, &owner, bakery, &outsider, "viewer").await;
    let text = "Pumpkin soup";
    let post = draft_id(&app, &owner, cafe, text).await;
    let attached: Value = upload(
        &app,
        &owner,
        post,
        png(2, 2, 0),
        ("s.png", "image/png"),
        Some("Soup"),
    )
    .await
    .json()
    .await
    .expect("JSON");
    let image_path = format!("/api/v1/posts/{post}/media/{}", attached["id"]);

    // A viewer of the account sees the images, but cannot add or remove them.
    assert_eq!(images(&app, &viewer, post).await.len(), 1);
    assert_eq!(viewer.get(&app, &image_path).await.status(), StatusCode::OK);
    let added = upload(
        &app,
        &viewer,
        post,
        png(1, 1, 0),
        ("x.png", "image/png"),
        Some("X"),
    )
    .await;
    assert_eq!(added.status(), StatusCode::FORBIDDEN);
    let removed = viewer.send(&app, Method::DELETE, &image_path, None).await;
    assert_eq!(removed.status(), StatusCode::FORBIDDEN);

    // A viewer of another account: the post and its images do not exist.
    assert_eq!(
        list(&app, &outsider, post).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        outsider.get(&app, &image_path).await.status(),
        StatusCode::NOT_FOUND
    );
    let removed = outsider.send(&app, Method::DELETE, &image_path, None).await;
    assert_eq!(removed.status(), StatusCode::NOT_FOUND);
    let added = upload(
        &app,
        &outsider,
        post,
        png(1, 1, 0),
        ("x.png", "image/png"),
        Some("X"),
    )
    .await;
    assert_eq!(added.status(), StatusCode::NOT_FOUND);
    // An image id from another post is not this post's.
    let other = draft_id(&app, &owner, bakery, "Bread").await;
    let elsewhere = format!("/api/v1/posts/{other}/media/{}", attached["id"]);
    assert_eq!(
        owner.get(&app, &elsewhere).await.status(),
        StatusCode::NOT_FOUND
    );
    // Signed out: nothing.
    assert_eq!(
        app.get(&image_path).await.status(),
        StatusCode::UNAUTHORIZED
    );

    draft_kept(&app, &owner, post, text, 1).await;
}

#[tokio::test]
async fn a_published_post_carries_its_image_and_alt_text_to_mastodon() {
    let scene = Scene::mastodon().await;
    let id = draft_id(&scene.app, &scene.keeper, scene.account, "Soup's on!").await;
    let attached = upload(
        &scene.app,
        &scene.keeper,
        id,
        png(800, 600, 10),
        ("soup.png", "image/png"),
        Some("A steaming bowl of pumpkin soup"),
    )
    .await;
    assert_eq!(attached.status(), StatusCode::CREATED);
    let submitted: Value = crate::posts::act(&scene.app, &scene.keeper, id, "submit", json!({}))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(submitted["state"], "approved", "{submitted}");
    let scheduled = scene
        .schedule(&scene.keeper, id, json!({ "at": scene.in_minutes(10) }))
        .await;
    assert_eq!(scheduled.status(), StatusCode::OK);
    scene.clock.advance(SignedDuration::from_mins(11));
    scene.wait_for(id, "published").await;

    let posts = scene.fake.state.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].text, "Soup's on!");
    assert_eq!(
        posts[0].media,
        [(
            "A steaming bowl of pumpkin soup".to_owned(),
            "image/png".to_owned()
        )]
    );
}

#[tokio::test]
async fn instagram_fetches_the_jpeg_from_a_signed_link_that_expires() {
    let fake = networks::fake::instagram::start(networks::fake::FakeState::new("ig-token-5ec2", 3))
        .await
        .expect("fake Instagram starts");
    let clock = ManualClock::new(Timestamp::from_second(1_800_000_000).expect("time"));
    let graph = fake.url();
    let app = spawn_app_with_clock(
        |config| {
            config.public_url = Some("http://herald.example".to_owned());
            config.networks.instagram_api_url = graph;
        },
        Arc::new(clock.clone()),
    )
    .await;
    let owner = set_up(&app, &clock).await;
    let account = account(&app, &owner, "instagram", "herald.bakery").await;
    let connected = owner
        .send(
            &app,
            Method::PUT,
            &format!("/api/v1/accounts/{account}/connection"),
            Some(json!({ "method": "access_token", "token": "ig-token-5ec2" })),
        )
        .await;
    assert_eq!(
        connected.status(),
        StatusCode::OK,
        "{:?}",
        connected.text().await
    );
    let post = draft_id(&app, &owner, account, "Croissants, warm").await;
    let bytes = jpeg();
    let attached = upload(
        &app,
        &owner,
        post,
        bytes.clone(),
        ("c.jpg", "image/jpeg"),
        Some("Three croissants"),
    )
    .await;
    assert_eq!(attached.status(), StatusCode::CREATED);
    let submitted = crate::posts::act(&app, &owner, post, "submit", json!({})).await;
    assert_eq!(submitted.status(), StatusCode::OK);
    let at = (clock_now(&clock) + SignedDuration::from_mins(5)).to_string();
    let scheduled = owner
        .post(
            &app,
            &format!("/api/v1/posts/{post}/schedule"),
            json!({ "at": at }),
        )
        .await;
    assert_eq!(
        scheduled.status(),
        StatusCode::OK,
        "{:?}",
        scheduled.text().await
    );
    clock.advance(SignedDuration::from_mins(6));
    let mut state = Value::Null;
    for _ in 0..300 {
        let current: Value = owner.get_json(&app, &format!("/api/v1/posts/{post}")).await;
        state = current["state"].clone();
        if state == "published" || state == "failed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(state, "published");

    let posts = fake.state.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(
        posts[0].media,
        [("Three croissants".to_owned(), "image/jpeg".to_owned())]
    );
    let image_url = posts[0].extra["image_url"].as_str().expect("image_url");
    let path = image_url
        .strip_prefix("http://herald.example")
        .expect("a link to Herald's public address");
    assert!(path.starts_with("/media/"), "{path}");

    // Anyone holding the link gets that one image, signed out, until it expires.
    let served = app.get(path).await;
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(
        served
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("image/jpeg")
    );
    assert_eq!(
        served.bytes().await.expect("bytes").as_ref(),
        bytes.as_slice()
    );
    let other = path.replacen("/media/", "/media/9", 1);
    assert_eq!(
        app.get(&other).await.status(),
        StatusCode::NOT_FOUND,
        "another id"
    );
    clock.advance(SignedDuration::from_hours(1));
    assert_eq!(
        app.get(path).await.status(),
        StatusCode::NOT_FOUND,
        "expired"
    );
}

fn clock_now(clock: &ManualClock) -> Timestamp {
    use herald::clock::Clock;
    clock.now()
}

#[tokio::test]
async fn a_file_larger_than_any_network_takes_is_refused_and_other_routes_keep_their_limit() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let account = account(&app, &owner, "mastodon", "@sunny@cafe.example").await;
    let post = draft_id(&app, &owner, account, "Big picture").await;

    // Mastodon's 16 MiB plus one byte: read whole, refused by Mastodon's limit.
    let over_mastodon = png(1, 1, 16 * 1024 * 1024 + 1 - 45);
    let problem = refused(
        upload(
            &app,
            &owner,
            post,
            over_mastodon,
            ("big.png", "image/png"),
            Some("Big"),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        problem["detail"],
        "Mastodon takes images of at most 16,777,216 bytes; this one has 16,777,217"
    );
    // Beyond the upload route's own limit: not read at all.
    let huge = png(1, 1, 17 * 1024 * 1024);
    let problem = refused(
        upload(
            &app,
            &owner,
            post,
            huge,
            ("huge.png", "image/png"),
            Some("Huge"),
        )
        .await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .contains("larger than any network takes"),
        "{problem}"
    );
    draft_kept(&app, &owner, post, "Big picture", 0).await;

    // Every other route keeps http.max_body_bytes (1 MiB).
    let long_text = "a".repeat(2 * 1024 * 1024);
    let edited = owner
        .send(
            &app,
            Method::PATCH,
            &format!("/api/v1/posts/{post}"),
            Some(json!({ "text": long_text })),
        )
        .await;
    assert_eq!(edited.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + second).expect("time")
}

fn new_media<'a>(post_id: PostId, file_name: &'a str) -> herald::store::NewMedia<'a> {
    herald::store::NewMedia {
        post_id,
        file_name,
        sha256: "00",
        mime: "image/png",
        size_bytes: 10,
        width: Some(1),
        height: None,
        alt: "Soup",
    }
}

contract_test!(
    images_attach_in_order_up_to_the_limit_and_only_to_drafts,
    |store| {
        use herald::store::MediaAttached;
        let (owner, account) = crate::helpers::owner_and_account(&store, at(0)).await;
        let post = store
            .create_post(account, owner, "Hello", at(1))
            .await
            .expect("post");
        for name in ["aa", "bb", "cc"] {
            store
                .media_file_pending(name, at(2))
                .await
                .expect("pending");
        }
        let pending = || async {
            store
                .media_files_pending_since(at(100))
                .await
                .expect("pending")
        };

        let Ok(MediaAttached::Done(first)) =
            store.attach_media(&new_media(post, "aa"), 2, at(2)).await
        else {
            panic!("the first image is attached");
        };
        let Ok(MediaAttached::Done(second)) =
            store.attach_media(&new_media(post, "bb"), 2, at(3)).await
        else {
            panic!("the second image is attached");
        };
        assert_eq!((first.position, second.position), (1, 2));
        assert_eq!((first.width, first.height), (Some(1), None));
        assert_eq!(
            store
                .attach_media(&new_media(post, "cc"), 2, at(4))
                .await
                .expect("store"),
            MediaAttached::Full
        );
        assert_eq!(
            pending().await,
            ["cc"],
            "a saved image's file is no longer pending"
        );
        // The sweep takes a file before its attach saves the row: the attach fails.
        store
            .media_file_pending("ee", at(2))
            .await
            .expect("pending");
        assert!(
            store
                .claim_pending_media_file("ee", at(3))
                .await
                .expect("claim")
        );
        let post_two = store
            .create_post(account, owner, "Another", at(4))
            .await
            .expect("post");
        assert_eq!(
            store
                .attach_media(&new_media(post_two, "ee"), 2, at(4))
                .await
                .expect("store"),
            MediaAttached::Swept
        );
        assert!(store.post_media(post_two).await.expect("list").is_empty());
        // A pending name that a row holds is taken off the list, not given to the sweep.
        store
            .media_file_pending("aa", at(2))
            .await
            .expect("pending");
        assert!(
            !store
                .claim_pending_media_file("aa", at(3))
                .await
                .expect("claim")
        );
        assert!(
            !store
                .claim_pending_media_file("cc", at(2))
                .await
                .expect("claim"),
            "not pending since before the time given"
        );
        assert_eq!(pending().await, ["cc"]);
        let listed = store.post_media(post).await.expect("list");
        assert_eq!(listed, vec![first.clone(), second.clone()]);
        assert_eq!(
            store.media(second.id).await.expect("one"),
            Some(second.clone())
        );

        assert_eq!(
            store
                .remove_media(PostId::new(post.get() + 1), first.id, at(5))
                .await
                .expect("store"),
            None
        );
        assert_eq!(
            store
                .remove_media(post, first.id, at(5))
                .await
                .expect("store"),
            Some(Some(first.clone()))
        );
        assert_eq!(
            store.post_media(post).await.expect("list"),
            vec![second.clone()]
        );
        assert_eq!(
            pending().await,
            ["cc", "aa"],
            "a removed image's file is pending"
        );
        assert_eq!(
            store
                .media_files_pending_since(at(5))
                .await
                .expect("pending"),
            ["cc"],
            "only files pending since before the time asked"
        );
        store.media_file_settled("aa").await.expect("settled");
        store.media_file_settled("cc").await.expect("settled");
        assert!(pending().await.is_empty());

        assert!(
            store
                .step_post(
                    post,
                    herald::domain::posts::PostState::Draft,
                    herald::domain::posts::PostState::Submitted,
                    owner,
                    "submitted",
                    at(6)
                )
                .await
                .expect("step")
        );
        assert_eq!(
            store
                .attach_media(&new_media(post, "dd"), 4, at(7))
                .await
                .expect("store"),
            MediaAttached::NotDraft
        );
        assert_eq!(
            store
                .remove_media(post, second.id, at(7))
                .await
                .expect("store"),
            Some(None)
        );
        assert_eq!(store.post_media(post).await.expect("list").len(), 1);
    }
);
