//! The fake Threads API for one profile: containers (`POST /{threads-user-id}/threads`:
//! `TEXT`, `IMAGE`, an `IMAGE` carousel item with `is_carousel_item=true`, or a `CAROUSEL`
//! of two to twenty items named as `children`), their `status`, `threads_publish`, the
//! profile's threads, `/me`, `DELETE /{threads-media-id}`, the authorization window
//! (`/oauth/authorize`, on threads.com for real, approved at once) and the token endpoints
//! (`/oauth/access_token`, redeeming the window's codes only with their redirect URI;
//! `/access_token` with `th_exchange_token`, `/refresh_access_token` with
//! `th_refresh_token`). Writes draw faults; a post exists only once a container is published.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde_json::{Value, json};

use super::authorize::Authorizations;
use super::containers::{Container, Containers, invalid_parameter, item_published_alone};
use super::facebook::{
    after_write, before_write, graph_error, invalid_token, newest, no_such_object, ok,
};
use super::{FakePost, FakeServer, FakeState};
use crate::threads::API_VERSION;

/// The one profile the fake holds.
pub const USER_ID: &str = "25000000000000001";
pub const USERNAME: &str = "herald.bakery";
pub const NAME: &str = "Herald Bakery";
/// The Threads app the fake knows (its own id, apart from the Meta app's).
pub const APP_ID: &str = "990602627938098";
pub const APP_SECRET: &str = "fake-threads-app-secret";

/// The app-and-user call count code Threads answers when throttled.
const THROTTLED: i64 = 4;

/// How many items a carousel holds.
const CAROUSEL_ITEMS: std::ops::RangeInclusive<usize> = 2..=20;

#[derive(Debug, Clone)]
struct Fake {
    state: Arc<FakeState>,
    containers: Arc<Containers>,
    /// The media each reply container answers (`reply_to_id`), by container id.
    replies_to: Arc<std::sync::Mutex<HashMap<String, String>>>,
    /// The authorization window binds codes to the app secret, not PKCE.
    authorizations: Arc<Authorizations>,
}

pub fn router(state: Arc<FakeState>) -> Router {
    let fake = Fake {
        state,
        containers: Arc::default(),
        replies_to: Arc::default(),
        authorizations: Arc::new(Authorizations::without_pkce()),
    };
    Router::new()
        .route("/oauth/authorize", fake.authorizations.page(APP_ID))
        .route(
            &format!("/{API_VERSION}/{{node}}"),
            get(read_node).delete(delete_thread),
        )
        .route(
            &format!("/{API_VERSION}/{{node}}/{{edge}}"),
            get(read_edge).post(create),
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
    if node == "me" || node == USER_ID {
        let profile = |field: &str, default: &str| json!(fake.state.profile_field(field, default));
        return ok(super::profile::with_fields(
            json!({"id": USER_ID, "username": profile("username", USERNAME),
                   "name": profile("name", NAME)}),
            params.get("fields"),
            vec![
                (
                    "threads_biography",
                    profile("threads_biography", "Bread and buns, baked daily."),
                ),
                (
                    "threads_profile_picture_url",
                    profile(
                        "threads_profile_picture_url",
                        "https://scontent.example/bakery.jpg",
                    ),
                ),
            ],
        ));
    }
    if fake.containers.get(&node).is_some() {
        return ok(json!({"id": node, "status": "FINISHED"}));
    }
    match fake.state.post(&node) {
        Some(post) => {
            ok(json!({"id": post.id, "text": post.text, "permalink": permalink(&post.id)}))
        }
        None => no_such_object(&node),
    }
}

async fn read_edge(
    State(fake): State<Fake>,
    Path((node, edge)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if !fake.state.authorized(&headers) {
        return invalid_token();
    }
    // `me` names the token's own profile, as the user id does.
    let own = node == USER_ID || node == "me";
    match edge.as_str() {
        "threads" if own => list_threads(&fake, &params),
        "mentions" if own => mentions(&fake.state, &params),
        "conversation" | "replies" => conversation(&fake.state, &node, &params),
        _ => no_such_object(&node),
    }
}

/// The profile's own threads (its replies are not threads), newest first, each saying
/// whether anyone has answered it.
fn list_threads(fake: &Fake, params: &HashMap<String, String>) -> Response {
    let (incoming, _) = fake.state.incoming();
    let threads: Vec<Value> = newest(&fake.state, params)
        .into_iter()
        .filter(|post| post.extra["reply_to_id"].is_null())
        .map(|post| {
            let has_replies = incoming
                .iter()
                .any(|(_, item, _)| item.on.as_deref() == Some(post.id.as_str()));
            json!({"id": post.id, "text": post.text, "permalink": permalink(&post.id),
                   "has_replies": has_replies})
        })
        .collect();
    ok(json!({"data": threads, "paging": {}}))
}

async fn create(
    State(fake): State<Fake>,
    Path((node, edge)): Path<(String, String)>,
    headers: HeaderMap,
    Form(params): Form<HashMap<String, String>>,
) -> Response {
    if !fake.state.authorized(&headers) {
        return invalid_token();
    }
    if node != USER_ID {
        return no_such_object(&node);
    }
    match edge.as_str() {
        "threads" => create_container(&fake, &params).await,
        "threads_publish" => publish(&fake, &params).await,
        _ => no_such_object(&edge),
    }
}

async fn create_container(fake: &Fake, params: &HashMap<String, String>) -> Response {
    let container = match container(fake, params) {
        Ok(container) => container,
        Err(reason) => return invalid_parameter(&reason),
    };
    // Threads counts the limit in characters; this fake counts Unicode scalar values.
    if container.text.chars().count() > 500 {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "The text is longer than 500 characters",
        );
    }
    let fault = match before_write(&fake.state, THROTTLED).await {
        Ok(fault) => fault,
        Err(answer) => return answer,
    };
    let id = fake.state.next_id();
    fake.containers.add(&id, container);
    if let Some(media) = params.get("reply_to_id") {
        super::lock(&fake.replies_to).insert(id.clone(), media.clone());
    }
    after_write(&fake.state, fault, json!({"id": id})).await
}

/// The container `params` describe, or why Threads refuses it.
fn container(fake: &Fake, params: &HashMap<String, String>) -> Result<Container, String> {
    let text = params.get("text").cloned().unwrap_or_default();
    let image_url = params.get("image_url").filter(|url| !url.is_empty());
    let media_type = params
        .get("media_type")
        .map(String::as_str)
        .unwrap_or_default();
    let item = params.get("is_carousel_item").map(String::as_str) == Some("true");
    let alt = params.get("alt_text").cloned().unwrap_or_default();
    match (media_type, image_url) {
        ("CAROUSEL", _) => fake
            .containers
            .carousel(params.get("children"), text, CAROUSEL_ITEMS),
        ("TEXT", _) if !text.is_empty() && !item => {
            Ok(Container::single("TEXT", text, None, alt, item))
        }
        ("IMAGE", Some(url)) => Ok(Container::single(
            "IMAGE",
            text,
            Some(url.clone()),
            alt,
            item,
        )),
        _ => Err("a TEXT post needs text and an IMAGE post an image_url".to_owned()),
    }
}

async fn publish(fake: &Fake, params: &HashMap<String, String>) -> Response {
    let creation_id = params.get("creation_id").cloned().unwrap_or_default();
    let Some(container) = fake.containers.get(&creation_id) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            24,
            "The requested resource does not exist",
        );
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
        extra: json!({"container": creation_id, "media_type": container.media_type,
            "reply_to_id": super::lock(&fake.replies_to).get(&creation_id),
            "image_url": container.image_url, "image_urls": fake.containers.image_urls(&container),
            "children": container.children}),
    });
    fake.containers.mark_published(&creation_id, &post.id);
    after_write(&fake.state, fault, json!({"id": post.id})).await
}

async fn delete_thread(
    State(fake): State<Fake>,
    Path(node): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !fake.state.authorized(&headers) {
        return invalid_token();
    }
    if fake.state.post(&node).is_none() {
        return no_such_object(&node);
    }
    let fault = match before_write(&fake.state, THROTTLED).await {
        Ok(fault) => fault,
        Err(answer) => return answer,
    };
    fake.state.remove(&node);
    after_write(
        &fake.state,
        fault,
        json!({"success": true, "deleted_id": node}),
    )
    .await
}

/// `POST /oauth/access_token`: the app's id and secret and a code this fake issued for that
/// redirect URI (or a test's own) become a short-lived token and the user id (a number).
async fn exchange_code(
    State(fake): State<Fake>,
    Form(params): Form<HashMap<String, String>>,
) -> Response {
    let Some(code) = fake.authorizations.exchange(&params, APP_ID, APP_SECRET) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request",
        );
    };
    fake.state.granted("authorization_code");
    let user_id: u64 = USER_ID.parse().unwrap_or_default();
    ok(json!({"access_token": format!("short-lived-{code}"), "user_id": user_id}))
}

/// `GET /access_token?grant_type=th_exchange_token`: the long-lived token the fake accepts.
async fn long_lived(
    State(fake): State<Fake>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let short = params
        .get("access_token")
        .is_some_and(|token| token.starts_with("short-lived-"));
    let secret = params.get("client_secret").map(String::as_str) == Some(APP_SECRET);
    if params.get("grant_type").map(String::as_str) != Some("th_exchange_token")
        || !short
        || !secret
    {
        return invalid_token();
    }
    ok(json!({"access_token": fake.state.token, "token_type": "bearer", "expires_in": 5_183_944}))
}

/// `GET /refresh_access_token?grant_type=th_refresh_token`: 60 more days.
async fn refresh(
    State(fake): State<Fake>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let current = params
        .get("access_token")
        .is_some_and(|token| *token == fake.state.token);
    if params.get("grant_type").map(String::as_str) != Some("th_refresh_token") || !current {
        return invalid_token();
    }
    ok(json!({"access_token": fake.state.token, "token_type": "bearer", "expires_in": 5_184_000}))
}

pub(crate) fn permalink(media_id: &str) -> String {
    format!("https://www.threads.com/@{USERNAME}/post/{media_id}")
}

// The inbox: mentions and the replies under the profile's posts, over what tests sent with
// `FakeState::receive` (a reply names its post with `FakeIncoming::on`).

/// `GET /{threads-user-id}/mentions`: the posts that mention the profile.
fn mentions(state: &FakeState, params: &HashMap<String, String>) -> Response {
    inbox_page(state, params, |item| {
        item.kind == crate::IncomingKind::Mention && item.on.is_none()
    })
}

/// `GET /{threads-media-id}/conversation` (and `/replies`, the same here: the fake's replies
/// are all top-level): the replies under one of the profile's posts.
fn conversation(state: &FakeState, media: &str, params: &HashMap<String, String>) -> Response {
    if state.post(media).is_none() {
        return no_such_object(media);
    }
    inbox_page(state, params, |item| item.on.as_deref() == Some(media))
}

/// One page of the items `wanted` picks, newest first (as `reverse=true` asks; the fake
/// serves mentions in the same order): `limit` (25 by default, at most 100) and the fake's
/// own `after` cursor (`c<id>`: below that item), refused when the faults say so; a
/// rate-limited read answers as a throttled Graph call does.
fn inbox_page(
    state: &FakeState,
    params: &HashMap<String, String>,
    wanted: impl Fn(&super::inbox::FakeIncoming) -> bool,
) -> Response {
    if state.inbox_read_limited() {
        return super::facebook::throttled(THROTTLED);
    }
    let limit = params
        .get("limit")
        .and_then(|limit| limit.parse::<usize>().ok())
        .unwrap_or(25)
        .clamp(1, 100);
    let (items, faults) = state.incoming();
    let below = match params.get("after") {
        None => None,
        Some(_) if faults.reject_cursors => {
            return graph_error(StatusCode::BAD_REQUEST, 100, "Invalid parameter: after");
        }
        Some(cursor) => match cursor
            .strip_prefix('c')
            .and_then(|id| id.parse::<u64>().ok())
        {
            Some(id) => Some(id),
            None => return graph_error(StatusCode::BAD_REQUEST, 100, "Invalid parameter: after"),
        },
    };
    let below = if faults.same_page { None } else { below };
    let matching: Vec<_> = items
        .into_iter()
        .filter(|(_, item, _)| !item.deleted && wanted(item))
        .filter(|(id, ..)| below.is_none_or(|below| *id < below))
        .collect();
    let more = matching.len() > limit;
    let page: Vec<_> = matching.into_iter().take(limit).collect();
    let data: Vec<Value> = page
        .iter()
        .map(|(id, item, at)| {
            let username = item.sender_handle.trim_start_matches('@');
            json!({
                "id": id.to_string(),
                "text": item.text,
                "username": username,
                "permalink": format!("https://www.threads.com/@{username}/post/{id}"),
                "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S%z").to_string(),
                "media_type": "TEXT_POST",
                "is_reply_owned_by_me": false,
            })
        })
        .collect();
    let mut paging = json!({});
    if let (Some((first, ..)), Some((last, ..))) = (page.first(), page.last()) {
        paging["cursors"] = json!({"before": format!("c{first}"), "after": format!("c{last}")});
        if more {
            paging["next"] = json!(format!(
                "https://graph.threads.net/{API_VERSION}/next?after=c{last}"
            ));
        }
    }
    (
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        super::inbox::with_surrogates(&json!({"data": data, "paging": paging})),
    )
        .into_response()
}
