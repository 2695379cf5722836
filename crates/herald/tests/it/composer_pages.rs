//! The composer's and the post page's finishing pieces over plain HTTP, as a browser without
//! scripts uses them: who the post goes out as, the post previewed as its network shows it
//! (escaped), "also post to" another account (and who may not), and images with alt text
//! uploaded and removed through the page's own forms, with their refusals beside the field.

use herald::domain::ids::AccountId;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::people::{Person, app, invite_and_join, set_up};
use crate::posts::{draft_id, grant};

/// Adds an account whose gatekeeper is `by` and returns its id.
async fn account(app: &TestApp, by: &Person, fields: Value) -> AccountId {
    let mut body = json!({ "gatekeeper_id": by.id });
    if let (Some(body), Some(fields)) = (body.as_object_mut(), fields.as_object()) {
        body.extend(fields.clone());
    }
    let added = by.post(app, "/api/v1/accounts", body).await;
    assert_eq!(added.status(), StatusCode::CREATED);
    AccountId::new(
        added.json::<Value>().await.expect("JSON")["id"]
            .as_i64()
            .expect("id"),
    )
}

async fn sunny_on_x(app: &TestApp, by: &Person) -> AccountId {
    let fields = json!({ "network": "x", "handle": "@sunnycafe", "display_name": "Sunny Café", "avatar_colour": "#1f5f5b" });
    account(app, by, fields).await
}

async fn sunny_on_mastodon(app: &TestApp, by: &Person) -> AccountId {
    let fields = json!({ "network": "mastodon", "handle": "@sunny@mastodon.social", "display_name": "Sunny on Mastodon", "avatar_colour": "#aa3355" });
    account(app, by, fields).await
}

struct Answer {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

async fn answer(response: reqwest::Response) -> Answer {
    Answer {
        status: response.status(),
        location: response
            .headers()
            .get("location")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned),
        body: response.text().await.expect("body"),
    }
}

/// Sends a page's form as a browser would, with the person's CSRF token.
async fn form(app: &TestApp, person: &Person, path: &str, fields: &[(&str, &str)]) -> Answer {
    let mut all = vec![("csrf", person.csrf.as_str())];
    all.extend_from_slice(fields);
    let response = person
        .client
        .post(app.url(path))
        .form(&all)
        .send()
        .await
        .expect("request");
    answer(response).await
}

async fn page(app: &TestApp, person: &Person, path: &str) -> String {
    let response = person.get(app, path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.text().await.expect("page")
}

/// The text between `start` and the next `end` in `html`.
fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html.find(start).map_or(html.len(), |at| at + start.len());
    let rest = &html[from..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

/// The id of the next post anyone writes: proves nothing was made in between.
async fn next_post_id(app: &TestApp, author: &Person, account: AccountId) -> i64 {
    draft_id(app, author, account, "A marker post.").await
}

/// A small PNG: the signature and an IHDR chunk saying 640 × 480.
fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    bytes.extend(640u32.to_be_bytes());
    bytes.extend(480u32.to_be_bytes());
    bytes.extend([8, 2, 0, 0, 0, 0, 0, 0, 0]);
    bytes.extend(b"\0\0\0\0IEND\xaeB`\x82");
    bytes
}

/// Sends the post page's upload form as a browser would: `csrf`, then the file, then alt.
async fn upload_form(
    app: &TestApp,
    person: &Person,
    post: i64,
    csrf: &str,
    file: (Vec<u8>, &str, &str),
    alt: &str,
) -> Answer {
    let (bytes, file_name, content_type) = file;
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(file_name.to_owned())
        .mime_str(content_type)
        .expect("media type");
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.to_owned())
        .part("file", part)
        .text("alt", alt.to_owned());
    let response = person
        .client
        .post(app.url(&format!("/posts/{post}/media")))
        .multipart(form)
        .send()
        .await
        .expect("request");
    answer(response).await
}

async fn images(app: &TestApp, person: &Person, post: i64) -> Vec<Value> {
    let response = person
        .get(app, &format!("/api/v1/posts/{post}/media"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response
        .json::<Value>()
        .await
        .expect("JSON")
        .as_array()
        .expect("list")
        .clone()
}

#[tokio::test]
async fn the_composer_shows_who_the_post_goes_out_as_for_the_chosen_account() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    sunny_on_x(&app, &owner).await;
    let mastodon = sunny_on_mastodon(&app, &owner).await;

    let first = page(&app, &owner, "/compose").await;
    let card = between(&first, "id=\"identity\"", "</div>");
    assert!(card.contains("Sunny Café"), "{card}");
    assert!(card.contains("@sunnycafe"), "{card}");
    assert!(card.contains(">X</span>"), "{card}");
    assert!(card.contains("data-colour=\"#1f5f5b\""), "{card}");
    assert!(first.contains("Preview on <span id=\"preview-network\">X</span>"));

    let chosen = page(&app, &owner, &format!("/compose?account={mastodon}")).await;
    let card = between(&chosen, "id=\"identity\"", "</div>");
    assert!(card.contains("Sunny on Mastodon"), "{card}");
    assert!(card.contains("@sunny@mastodon.social"), "{card}");
    assert!(card.contains(">Mastodon</span>"), "{card}");
    assert!(card.contains("data-colour=\"#aa3355\""), "{card}");
    assert!(!card.contains("Sunny Café"), "{card}");
    assert!(chosen.contains("Preview on <span id=\"preview-network\">Mastodon</span>"));
    let option = between(&chosen, &format!("<option value=\"{mastodon}\""), ">");
    for attribute in [
        "data-network=\"mastodon\"",
        "data-label=\"Mastodon\"",
        "data-name=\"Sunny on Mastodon\"",
        "data-handle=\"@sunny@mastodon.social\"",
        "data-colour=\"#aa3355\"",
        "selected",
    ] {
        assert!(option.contains(attribute), "{attribute} in {option}");
    }
}

#[tokio::test]
async fn the_post_page_previews_the_text_as_the_network_shows_it_with_markup_as_text() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let x = sunny_on_x(&app, &owner).await;
    let text = "<script>alert(1)</script> Menu: https://sunnycafe.example/menu";
    let id = draft_id(&app, &owner, x, text).await;

    let html = page(&app, &owner, &format!("/posts/{id}")).await;
    let preview = between(&html, "id=\"preview-text\">", "</p>");
    assert!(
        preview.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "the markup is shown as text: {preview}"
    );
    assert!(
        preview.contains("<span class=\"preview-link\">https://sunnycafe.example/menu</span>"),
        "the link is highlighted: {preview}"
    );
    assert!(!html.contains("<script>alert"), "no markup from the text");
    assert!(html.contains("Preview on <span id=\"preview-network\">X</span>"));
    assert!(html.contains("X shortens every link to 23 characters."));
    let header = between(&html, "class=\"preview-header\">", "</header>");
    assert!(
        header.contains("Sunny Café") && header.contains("@sunnycafe"),
        "{header}"
    );
}

#[tokio::test]
async fn also_post_to_makes_a_draft_for_another_account_with_the_same_text() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let x = sunny_on_x(&app, &owner).await;
    let mastodon = sunny_on_mastodon(&app, &owner).await;
    let text = "Soup of the day: leek and potato.";
    let id = draft_id(&app, &owner, x, text).await;
    let html = page(&app, &owner, &format!("/posts/{id}")).await;
    let offered = between(&html, "id=\"also_account\"", "</select>");
    assert!(offered.contains("Sunny on Mastodon"), "{offered}");
    assert!(
        !offered.contains("Sunny Café"),
        "not its own account: {offered}"
    );

    let copied = form(
        &app,
        &owner,
        &format!("/posts/{id}/copy"),
        &[("account_id", &mastodon.to_string())],
    )
    .await;
    assert_eq!(copied.status, StatusCode::SEE_OTHER, "{}", copied.body);
    let location = copied.location.expect("location");
    let copy: i64 = location
        .trim_start_matches("/posts/")
        .parse()
        .expect("post id");
    assert_ne!(copy, id);
    let made: Value = owner.get_json(&app, &format!("/api/v1/posts/{copy}")).await;
    assert_eq!(made["account_id"], mastodon.get());
    assert_eq!(made["text"], text);
    assert_eq!(made["state"], "draft");
    let original: Value = owner.get_json(&app, &format!("/api/v1/posts/{id}")).await;
    assert_eq!(
        (original["account_id"].clone(), original["text"].clone()),
        (json!(x), json!(text))
    );

    // The new draft's page is where it is tailored: its text form, counted for Mastodon.
    let tailored = page(&app, &owner, &location).await;
    assert!(tailored.contains("Tailor the text for Mastodon"));
    assert!(tailored.contains("/ 500 characters on Mastodon"));
    let edited = form(
        &app,
        &owner,
        &format!("/posts/{copy}/edit"),
        &[("text", "Soup of the day on Mastodon: leek and potato.")],
    )
    .await;
    assert_eq!(edited.status, StatusCode::SEE_OTHER, "{}", edited.body);
    let after: Value = owner.get_json(&app, &format!("/api/v1/posts/{id}")).await;
    assert_eq!(after["text"], text, "the original keeps its text");
}

#[tokio::test]
async fn also_post_to_refuses_an_account_the_viewer_cannot_draft_for_and_makes_nothing() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let writer = invite_and_join(&app, &clock, &owner, "writer@sunny.example", "member").await;
    let x = sunny_on_x(&app, &owner).await;
    let hidden = sunny_on_mastodon(&app, &owner).await;
    let watched = account(
        &app,
        &owner,
        json!({ "network": "bluesky", "handle": "sunnycafe.bsky.social", "display_name": "Sunny on Bluesky", "avatar_colour": "#336699" }),
    )
    .await;
    grant(&app, &owner, x, &writer, "contributor").await;
    grant(&app, &owner, watched, &writer, "viewer").await;
    let id = draft_id(&app, &writer, x, "Soup of the day: leek and potato.").await;
    let html = page(&app, &writer, &format!("/posts/{id}")).await;
    assert!(
        !html.contains("id=\"also-form\""),
        "no other account to draft for, so no form"
    );

    let invisible = form(
        &app,
        &writer,
        &format!("/posts/{id}/copy"),
        &[("account_id", &hidden.to_string())],
    )
    .await;
    assert_eq!(invisible.status, StatusCode::NOT_FOUND);
    assert!(
        invisible
            .body
            .contains(&format!("There is no account {hidden}")),
        "{}",
        invisible.body
    );
    assert!(
        !invisible.body.contains("Sunny on Mastodon"),
        "nothing about it leaks"
    );
    let only_viewer = form(
        &app,
        &writer,
        &format!("/posts/{id}/copy"),
        &[("account_id", &watched.to_string())],
    )
    .await;
    assert_eq!(
        only_viewer.status,
        StatusCode::FORBIDDEN,
        "{}",
        only_viewer.body
    );
    assert_eq!(only_viewer.location, None);
    assert_eq!(
        next_post_id(&app, &writer, x).await,
        id + 1,
        "no draft was made"
    );
}

#[tokio::test]
async fn also_post_to_says_when_the_text_is_too_long_for_the_other_network_and_keeps_it() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let x = sunny_on_x(&app, &owner).await;
    let mastodon = sunny_on_mastodon(&app, &owner).await;
    let text = "Leek and potato soup. ".repeat(18);
    let id = draft_id(&app, &owner, mastodon, &text).await;

    let refused = form(
        &app,
        &owner,
        &format!("/posts/{id}/copy"),
        &[("account_id", &x.to_string())],
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = between(&refused.body, "id=\"also-error\" role=\"alert\">", "</p>");
    assert!(
        message.contains("X allows 280 weighted characters; this post has 396"),
        "{message}"
    );
    assert!(
        message.contains(&format!("href=\"/compose?account={x}&#38;from={id}\"")),
        "{message}"
    );
    assert_eq!(
        next_post_id(&app, &owner, x).await,
        id + 1,
        "no draft was made"
    );

    // The composer starts from the text, for the X account, to shorten it there.
    let composer = page(&app, &owner, &format!("/compose?account={x}&from={id}")).await;
    assert!(
        composer.contains(&format!(">{text}</textarea>")),
        "the text to shorten"
    );
    assert!(
        composer.contains("Too long for X"),
        "the preview shows the cut"
    );
    assert!(composer.contains("preview-over"));
}

#[tokio::test]
async fn an_image_uploaded_through_the_page_is_shown_with_its_alt_text_and_can_be_removed() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let reader = invite_and_join(&app, &clock, &owner, "reader@sunny.example", "member").await;
    let x = sunny_on_x(&app, &owner).await;
    grant(&app, &owner, x, &reader, "viewer").await;
    let id = draft_id(&app, &owner, x, "Our new terrace.").await;
    let html = page(&app, &owner, &format!("/posts/{id}")).await;
    let upload = between(&html, "id=\"upload-form\"", "</form>");
    assert!(
        upload.contains("accept=\"image/png,image/jpeg,image/gif,image/webp\""),
        "{upload}"
    );
    assert!(
        upload.contains("Describe the image for people who cannot see it"),
        "{upload}"
    );
    assert!(upload.contains("X takes PNG, JPEG, GIF or WebP, at most 5 MB each, up to 4 images"));

    let alt = "Six tables under a striped awning";
    let csrf = owner.csrf.clone();
    let sent = upload_form(
        &app,
        &owner,
        id,
        &csrf,
        (png(), "terrace.png", "image/png"),
        alt,
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    assert_eq!(
        sent.location.as_deref(),
        Some(&*format!("/posts/{id}#images"))
    );
    let stored = images(&app, &owner, id).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["alt"], alt);
    let media_id = stored[0]["id"].as_i64().expect("id");

    // Everyone who may see the post sees the image and its alt text; only the author while
    // a draft may remove it.
    let source = format!("src=\"/api/v1/posts/{id}/media/{media_id}\"");
    for (person, may_remove) in [(&owner, true), (&reader, false)] {
        let shown = page(&app, person, &format!("/posts/{id}")).await;
        let list = between(&shown, "id=\"image-list\"", "</ul>");
        assert!(list.contains(&source), "{list}");
        assert!(list.contains(&format!("alt=\"{alt}\"")), "{list}");
        assert_eq!(list.contains("/remove\""), may_remove, "{list}");
        assert_eq!(shown.contains("id=\"upload-form\""), may_remove);
        let image = person
            .get(&app, &format!("/api/v1/posts/{id}/media/{media_id}"))
            .await;
        assert_eq!(
            image.status(),
            StatusCode::OK,
            "the thumbnail loads with the session cookie"
        );
        assert_eq!(image.headers()["content-type"], "image/png");
        assert_eq!(image.bytes().await.expect("bytes").to_vec(), png());
    }

    let removed = form(
        &app,
        &owner,
        &format!("/posts/{id}/media/{media_id}/remove"),
        &[],
    )
    .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    assert!(images(&app, &owner, id).await.is_empty());
}

#[tokio::test]
async fn an_upload_with_a_wrong_security_token_is_refused_and_stores_nothing() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let x = sunny_on_x(&app, &owner).await;
    let id = draft_id(&app, &owner, x, "Our new terrace.").await;

    let forged = upload_form(
        &app,
        &owner,
        id,
        "not-the-token",
        (png(), "terrace.png", "image/png"),
        "Six tables under a striped awning",
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.body.contains("security token"), "{}", forged.body);
    let missing = upload_form(
        &app,
        &owner,
        id,
        "",
        (png(), "t.png", "image/png"),
        "Tables",
    )
    .await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert!(images(&app, &owner, id).await.is_empty());
}

#[tokio::test]
async fn a_refused_upload_shows_why_beside_the_field_and_keeps_the_draft_and_the_alt_text() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let x = sunny_on_x(&app, &owner).await;
    let text = "Our new terrace.";
    let id = draft_id(&app, &owner, x, text).await;
    let csrf = owner.csrf.clone();

    let page_claiming_png = b"<html><script>alert(1)</script></html>".to_vec();
    let alt = "Six tables under a striped awning";
    let not_image = upload_form(
        &app,
        &owner,
        id,
        &csrf,
        (page_claiming_png, "terrace.png", "image/png"),
        alt,
    )
    .await;
    assert_eq!(not_image.status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = between(&not_image.body, "id=\"file-error\" role=\"alert\">", "</p>");
    assert_eq!(message, "The file is not an image (PNG, JPEG, GIF or WebP)");
    assert!(
        not_image.body.contains(&format!(">{alt}</textarea>")),
        "alt text kept"
    );

    let no_alt = upload_form(&app, &owner, id, &csrf, (png(), "t.png", "image/png"), " ").await;
    assert_eq!(no_alt.status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = between(&no_alt.body, "id=\"alt-error\" role=\"alert\">", "</p>");
    assert!(message.contains("alt text"), "{message}");

    assert!(images(&app, &owner, id).await.is_empty());
    let kept: Value = owner.get_json(&app, &format!("/api/v1/posts/{id}")).await;
    assert_eq!(
        (kept["text"].clone(), kept["state"].clone()),
        (json!(text), json!("draft"))
    );
}

/// The composer writes one post for each account ticked, through the plain form (no script):
/// the main account and "also post to" boxes; a text too long for any of them makes none and
/// comes back to shorten.
#[tokio::test]
async fn the_composer_writes_one_post_per_account_ticked_or_none_when_one_cannot_take_it() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let x = sunny_on_x(&app, &owner).await;
    let mastodon = sunny_on_mastodon(&app, &owner).await;
    let composer = page(&app, &owner, "/compose").await;
    assert!(
        composer.contains(&format!("name=\"also_{mastodon}\"")),
        "each account can be ticked"
    );

    let long = "Leek and potato soup. ".repeat(18);
    let refused = form(
        &app,
        &owner,
        "/compose",
        &[
            ("account_id", &mastodon.to_string()),
            (&format!("also_{x}"), "on"),
            ("text", &long),
            ("intent", "save"),
        ],
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("Too long for Sunny Café on X"),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains(&format!(">{long}</textarea>")),
        "the text comes back"
    );
    assert!(
        refused
            .body
            .contains(&format!("name=\"also_{x}\" value=\"on\""))
            && refused.body.contains("checked"),
        "the ticked box stays ticked"
    );
    let none: Value = owner.get_json(&app, "/api/v1/posts").await;
    assert_eq!(none["total"], 0, "no post was written for either account");

    let written = form(
        &app,
        &owner,
        "/compose",
        &[
            ("account_id", &mastodon.to_string()),
            (&format!("also_{x}"), "on"),
            (&format!("also_{mastodon}"), "on"),
            ("text", "Soup of the day: leek and potato"),
            ("intent", "save"),
        ],
    )
    .await;
    assert_eq!(written.status, StatusCode::SEE_OTHER);
    assert_eq!(
        written.location.as_deref(),
        Some(format!("/posts?author={}", owner.id).as_str())
    );
    let posts: Value = owner.get_json(&app, "/api/v1/posts").await;
    assert_eq!(
        posts["total"], 2,
        "one for each account, the main one not twice: {posts}"
    );
    let mut accounts: Vec<AccountId> = posts["posts"]
        .as_array()
        .expect("posts")
        .iter()
        .map(|post| AccountId::new(post["account_id"].as_i64().expect("account")))
        .collect();
    accounts.sort_unstable();
    let mut expected = vec![x, mastodon];
    expected.sort_unstable();
    assert_eq!(accounts, expected);

    // The long text goes to Mastodon, and a shorter one written for X goes to X.
    let tailored = form(
        &app,
        &owner,
        "/compose",
        &[
            ("account_id", &mastodon.to_string()),
            (&format!("also_{x}"), "on"),
            (&format!("text_{x}"), "Leek and potato soup today."),
            ("text", &long),
            ("intent", "save"),
        ],
    )
    .await;
    assert_eq!(tailored.status, StatusCode::SEE_OTHER, "{}", tailored.body);
    let on_x: Value = owner
        .get_json(&app, &format!("/api/v1/posts?account_id={x}&per_page=1"))
        .await;
    assert_eq!(on_x["posts"][0]["text"], "Leek and potato soup today.");
    let on_mastodon: Value = owner
        .get_json(
            &app,
            &format!("/api/v1/posts?account_id={mastodon}&per_page=1"),
        )
        .await;
    assert_eq!(on_mastodon["posts"][0]["text"], long.as_str());
}

/// Sends the composer as a browser does with an image chosen: multipart, the fields in the
/// page's order, the file and its description.
async fn compose_with_image(
    app: &TestApp,
    person: &Person,
    fields: &[(&str, &str)],
    image: Option<Vec<u8>>,
    alt: &str,
) -> Answer {
    let mut form = reqwest::multipart::Form::new().text("csrf", person.csrf.clone());
    for (name, value) in fields {
        form = form.text((*name).to_owned(), (*value).to_owned());
    }
    let part = match image {
        Some(bytes) => reqwest::multipart::Part::bytes(bytes)
            .file_name("soup.png")
            .mime_str("image/png")
            .expect("media type"),
        // A file input left empty: a part with no name and no bytes, as browsers send it.
        None => reqwest::multipart::Part::bytes(Vec::new())
            .file_name("")
            .mime_str("application/octet-stream")
            .expect("media type"),
    };
    form = form.part("image", part).text("image_alt", alt.to_owned());
    let response = person
        .client
        .post(app.url("/compose"))
        .multipart(form)
        .send()
        .await
        .expect("request");
    answer(response).await
}

#[tokio::test]
async fn an_image_chosen_in_the_composer_goes_on_every_post_written_and_shows_in_their_previews() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let x = sunny_on_x(&app, &owner).await;
    let mastodon = sunny_on_mastodon(&app, &owner).await;
    let composer = page(&app, &owner, "/compose").await;
    assert!(composer.contains("enctype=\"multipart/form-data\""));
    assert!(composer.contains("id=\"image\" name=\"image\" type=\"file\""));

    // Without a description nothing is written, and the text comes back.
    let before = next_post_id(&app, &owner, x).await;
    let text = "Soup of the day: pumpkin.";
    let (x_id, mastodon_id) = (x.to_string(), mastodon.to_string());
    let fields = [
        ("account_id", x_id.as_str()),
        ("text", text),
        ("intent", "save"),
        (&*format!("also_{mastodon}"), "on"),
    ];
    let refused = compose_with_image(&app, &owner, &fields, Some(png()), " ").await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains("Describe the image for people who cannot see it"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains(text), "the text is kept");
    assert_eq!(
        next_post_id(&app, &owner, x).await,
        before + 1,
        "nothing written"
    );

    // With one: a draft for each account, each with the image, shown in its preview.
    let alt = "A bowl of orange soup on a wooden table";
    let sent = compose_with_image(&app, &owner, &fields, Some(png()), alt).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let first = before + 2;
    for id in [first, first + 1] {
        let stored = images(&app, &owner, id).await;
        assert_eq!(stored.len(), 1, "post {id}: {stored:?}");
        assert_eq!(stored[0]["alt"], alt);
        let shown = page(&app, &owner, &format!("/posts/{id}")).await;
        let preview = between(&shown, "id=\"preview-images\"", "</div>");
        let media_id = stored[0]["id"].as_i64().expect("id");
        assert!(
            preview.contains(&format!("src=\"/api/v1/posts/{id}/media/{media_id}\"")),
            "{preview}"
        );
        assert!(preview.contains(&format!("alt=\"{alt}\"")), "{preview}");
    }
    let post: Value = owner
        .get_json(&app, &format!("/api/v1/posts/{}", first + 1))
        .await;
    assert_eq!(post["account_id"], mastodon_id.parse::<i64>().expect("id"));

    // An empty file input is no image: the post is written without one.
    let plain = compose_with_image(&app, &owner, &fields[..3], None, "").await;
    assert_eq!(plain.status, StatusCode::SEE_OTHER, "{}", plain.body);
    assert!(images(&app, &owner, first + 2).await.is_empty());
}
