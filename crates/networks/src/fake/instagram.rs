//! The fake Instagram API (with Instagram Login) for one professional account: containers
//! (`POST /{ig-user-id}/media`: an image, a carousel item with `is_carousel_item=true`, or a
//! `CAROUSEL` of two to ten items named as `children`), their `status_code`,
//! `media_publish`, the account's media, `/me`, and the login: the authorize page
//! (`/oauth/authorize`, on www.instagram.com for real, approved at once) and the token
//! endpoints (`/oauth/access_token` on the login host, which the fake also serves and which
//! redeems the page's codes only with their redirect URI; `/access_token` and
//! `/refresh_access_token`). Writes draw faults; a post exists only once a container is
//! published. The inbox's lists (comments with their replies, `tags`, conversations and
//! messages) are `meta_inbox.rs`'s; answers to them are `POST /{ig-comment-id}/replies` and
//! `POST /{ig-user-id}/messages`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde_json::json;

use super::authorize::Authorizations;
use super::containers::{Container, Containers, invalid_parameter, item_published_alone};
use super::facebook::{
    after_write, before_write, graph_error, invalid_token, newest, no_such_object, ok, send_message,
};
use super::meta_inbox::Meta;
use super::{FakePost, FakeServer, FakeState};
use crate::facebook::GRAPH_VERSION;

/// The one professional account the fake holds.
pub const IG_USER_ID: &str = "17841400000000001";
pub const USERNAME: &str = "herald.bakery";
pub const NAME: &str = "Herald Bakery";
/// The Instagram app the fake knows (Instagram Login has its own app id and secret).
pub const APP_ID: &str = "990602627938098";
pub const APP_SECRET: &str = "fake-instagram-app-secret";

/// The Instagram Business Use Case throttling code.
const THROTTLED: i64 = 80002;

/// How many items a carousel holds.
const CAROUSEL_ITEMS: std::ops::RangeInclusive<usize> = 2..=10;

#[derive(Debug, Clone)]
struct Fake {
    state: Arc<FakeState>,
    containers: Arc<Containers>,
    /// Instagram Login binds codes to the app secret, not PKCE.
    authorizations: Arc<Authorizations>,
}

pub fn router(state: Arc<FakeState>) -> Router {
    let fake = Fake {
        state,
        containers: Arc::default(),
        authorizations: Arc::new(Authorizations::without_pkce()),
    };
    Router::new()
        .route("/oauth/authorize", fake.authorizations.page(APP_ID))
        .route(&format!("/{GRAPH_VERSION}/{{node}}"), get(read_node))
        .route(
            &format!("/{GRAPH_VERSION}/{{node}}/{{edge}}"),
            get(list_media).post(create),
        )
        .route("/oauth/access_token", post(exchange_code))
        .route("/access_token", get(long_lived))
        .route("/refresh_access_token", get(refresh))
        .with_state(fake)
}

pub async fn start(state: Arc<FakeState>) -> std::io::Result<FakeServer> {
    FakeServer::start(router(state.clone()), state).await
}

async fn read_node(
    State(fake): State<Fake>,
    Path(node): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if !fake.state.authorized(&headers) {
        return invalid_token();
    }
    if node == "me" {
        // On `/me`, `id` is app-scoped and `user_id` the professional account's id.
        return ok(
            json!({"id": "9000000001", "user_id": IG_USER_ID, "username": USERNAME, "name": NAME}),
        );
    }
    if node == IG_USER_ID {
        let profile = |field: &str, default: &str| json!(fake.state.profile_field(field, default));
        return ok(super::profile::with_fields(
            json!({"id": IG_USER_ID, "username": profile("username", USERNAME),
                   "name": profile("name", NAME)}),
            params.get("fields"),
            vec![
                (
                    "biography",
                    profile("biography", "Bread and buns, baked daily."),
                ),
                (
                    "profile_picture_url",
                    profile("profile_picture_url", "https://scontent.example/bakery.jpg"),
                ),
                ("website", profile("website", "https://bakery.example")),
            ],
        ));
    }
    if fake.containers.get(&node).is_some() {
        return ok(json!({"id": node, "status_code": "FINISHED"}));
    }
    match fake.state.post(&node) {
        Some(post) => {
            ok(json!({"id": post.id, "caption": post.text, "permalink": permalink(&post.id)}))
        }
        None => no_such_object(&node),
    }
}

async fn list_media(
    State(fake): State<Fake>,
    Path((node, edge)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if !fake.state.authorized(&headers) {
        return invalid_token();
    }
    if node != IG_USER_ID || edge != "media" {
        return Meta::Instagram
            .read(&fake.state, IG_USER_ID, &node, &edge, &params)
            .unwrap_or_else(|| no_such_object(&node));
    }
    // The media people commented on (the inbox's) are the most recently active.
    let mut media = Meta::Instagram.listed_objects(&fake.state);
    media.extend(newest(&fake.state, &params).into_iter().map(
        |post| json!({"id": post.id, "caption": post.text, "permalink": permalink(&post.id)}),
    ));
    ok(json!({"data": media, "paging": {}}))
}

async fn create(
    State(fake): State<Fake>,
    Path((node, edge)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !fake.state.authorized(&headers) {
        return invalid_token();
    }
    if (node.as_str(), edge.as_str()) == (IG_USER_ID, "messages") {
        return send_message(&fake.state, &body, THROTTLED).await;
    }
    let Ok(params) = serde_urlencoded::from_bytes::<HashMap<String, String>>(&body) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "(#100) Could not read the parameters",
        );
    };
    if edge == "replies" {
        return reply(&fake, &node, &params).await;
    }
    if node != IG_USER_ID {
        return no_such_object(&node);
    }
    match edge.as_str() {
        "media" => create_container(&fake, &params).await,
        "media_publish" => publish(&fake, &params).await,
        _ => no_such_object(&edge),
    }
}

async fn create_container(fake: &Fake, params: &HashMap<String, String>) -> Response {
    let caption = params.get("caption").cloned().unwrap_or_default();
    let container = if params.get("media_type").map(String::as_str) == Some("CAROUSEL") {
        match fake
            .containers
            .carousel(params.get("children"), caption, CAROUSEL_ITEMS)
        {
            Ok(carousel) => carousel,
            Err(reason) => return invalid_parameter(&reason),
        }
    } else {
        let Some(image_url) = params.get("image_url").filter(|url| !url.is_empty()) else {
            return graph_error(
                StatusCode::BAD_REQUEST,
                100,
                "The parameter image_url is required.",
            );
        };
        let item = params.get("is_carousel_item").map(String::as_str) == Some("true");
        let alt = params.get("alt_text").cloned().unwrap_or_default();
        Container::single("IMAGE", caption, Some(image_url.clone()), alt, item)
    };
    let fault = match before_write(&fake.state, THROTTLED).await {
        Ok(fault) => fault,
        Err(answer) => return answer,
    };
    let id = fake.state.next_id();
    fake.containers.add(&id, container);
    after_write(&fake.state, fault, json!({"id": id})).await
}

async fn publish(fake: &Fake, params: &HashMap<String, String>) -> Response {
    let creation_id = params.get("creation_id").cloned().unwrap_or_default();
    let Some(container) = fake.containers.get(&creation_id) else {
        return graph_error(StatusCode::BAD_REQUEST, 9007, "Media ID is not available");
    };
    if container.carousel_item {
        return item_published_alone();
    }
    if container.published.is_some() {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "This media container has already been published",
        );
    }
    let fault = match before_write(&fake.state, THROTTLED).await {
        Ok(fault) => fault,
        Err(answer) => return answer,
    };
    let (post, _) = fake.state.record(FakePost {
        id: String::new(),
        text: container.text.clone(),
        key: None,
        media: fake.containers.media(&container),
        extra: json!({"container": creation_id, "image_url": container.image_url,
            "image_urls": fake.containers.image_urls(&container),
            "children": container.children, "media_type": container.media_type}),
    });
    fake.containers.mark_published(&creation_id, &post.id);
    after_write(&fake.state, fault, json!({"id": post.id})).await
}

/// `POST /{ig-comment-id}/replies`: the account's answer under a comment, kept as a post
/// whose `extra` names the comment. Only top-level comments take replies.
async fn reply(fake: &Fake, comment: &str, params: &HashMap<String, String>) -> Response {
    let known = super::meta_inbox::answerable(&fake.state, Meta::Instagram);
    if !known.iter().any(|id| id == comment) {
        return no_such_object(comment);
    }
    let Some(message) = params.get("message").filter(|text| !text.is_empty()) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "The parameter message is required.",
        );
    };
    let fault = match before_write(&fake.state, THROTTLED).await {
        Ok(fault) => fault,
        Err(answer) => return answer,
    };
    let (post, _) = fake.state.record(FakePost {
        id: String::new(),
        text: message.clone(),
        key: None,
        media: Vec::new(),
        extra: super::meta_inbox::reply_extra("comment", json!({ "on": comment })),
    });
    after_write(&fake.state, fault, json!({"id": post.id})).await
}

/// `POST /oauth/access_token` on the login host: the app's id and secret, and a code this
/// fake issued for that redirect URI (or a test's own). Its errors have the older shape.
async fn exchange_code(
    State(fake): State<Fake>,
    Form(params): Form<HashMap<String, String>>,
) -> Response {
    let Some(code) = fake.authorizations.exchange(&params, APP_ID, APP_SECRET) else {
        let body = json!({"error_type": "OAuthException", "code": 400,
            "error_message": "Matching code was not found or was already used"});
        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    };
    fake.state.granted("authorization_code");
    ok(
        json!({"data": [{"access_token": format!("short-lived-{code}"), "user_id": IG_USER_ID,
        "permissions": "instagram_business_basic,instagram_business_content_publish"}]}),
    )
}

/// `GET /access_token?grant_type=ig_exchange_token`: a short-lived token becomes the
/// long-lived one the fake accepts.
async fn long_lived(
    State(fake): State<Fake>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let short = params
        .get("access_token")
        .is_some_and(|token| token.starts_with("short-lived-"));
    let secret = params.get("client_secret").map(String::as_str) == Some(APP_SECRET);
    if params.get("grant_type").map(String::as_str) != Some("ig_exchange_token")
        || !short
        || !secret
    {
        return invalid_token();
    }
    ok(json!({"access_token": fake.state.token, "token_type": "bearer", "expires_in": 5_183_944}))
}

/// `GET /refresh_access_token?grant_type=ig_refresh_token`: 60 more days.
async fn refresh(
    State(fake): State<Fake>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let current = params
        .get("access_token")
        .is_some_and(|token| *token == fake.state.token);
    if params.get("grant_type").map(String::as_str) != Some("ig_refresh_token") || !current {
        return invalid_token();
    }
    ok(json!({"access_token": fake.state.token, "token_type": "bearer", "expires_in": 5_184_000}))
}

fn permalink(media_id: &str) -> String {
    format!("https://www.instagram.com/p/{media_id}/")
}
