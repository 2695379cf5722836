//! The fake Facebook Graph API for one Page: `/{page-id}/feed` (with `message`, and
//! `attached_media[i]={"media_fbid":…}` naming unpublished photos), `/{page-id}/photos` (form
//! `url` or multipart `source`; with `published=false` a photo without a post),
//! `/{page-id}/posts`, `/{post-id}` (read, delete), `/me/permissions`, the login dialog
//! (`/{version}/dialog/oauth`, on www.facebook.com for real, approved at once),
//! `/oauth/access_token` (redeeming the dialog's codes only with their redirect URI) and
//! `/me/accounts`, with Graph error bodies and Meta's throttling answer (HTTP 400, a
//! throttling code and the usage headers). The inbox's lists (comments, `tagged`,
//! conversations and messages) are `meta_inbox.rs`'s; answers to them are
//! `POST /{object-id}/comments` and the Send API (`POST /{page-id}/messages`).
//!
//! The helpers below the router are shared with the Instagram and Threads fakes, which speak
//! the same error body and the same faults.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::authorize::Authorizations;
use super::meta_inbox::Meta;
use super::{FakePost, FakeServer, FakeState, Fault, FaultWords};
use crate::facebook::GRAPH_VERSION;

/// The one Page the fake holds.
pub const PAGE_ID: &str = "1000001";
pub const PAGE_NAME: &str = "Herald Test Bakery";
pub const PAGE_USERNAME: &str = "heraldtestbakery";
/// The Meta app the fake knows.
pub const APP_ID: &str = "1234567890";
pub const APP_SECRET: &str = "fake-meta-app-secret";

/// What a throttled answer's usage headers say to wait, in minutes.
pub const REGAIN_MINUTES: u64 = 7;

/// The Page throttling code (`There have been too many calls to this Page`, Business Use Case).
const PAGE_THROTTLED: i64 = 80001;

struct Fake {
    state: Arc<FakeState>,
    /// The login dialog binds codes to the app secret, not PKCE.
    authorizations: Authorizations,
    /// Photos uploaded with `published=false` and not yet attached to a post, by id.
    unpublished: Mutex<HashMap<String, Photo>>,
}

/// An unpublished photo: its alt text, media type, and where it came from.
#[derive(Debug, Clone)]
struct Photo {
    alt: String,
    mime: String,
    url: Option<String>,
}

type Shared = Arc<Fake>;

pub fn router(state: Arc<FakeState>) -> Router {
    let fake = Arc::new(Fake {
        state,
        authorizations: Authorizations::without_pkce(),
        unpublished: Mutex::new(HashMap::new()),
    });
    Router::new()
        .route(
            &format!("/{GRAPH_VERSION}/{{node}}"),
            get(read_node).delete(delete_post),
        )
        .route(
            &format!("/{GRAPH_VERSION}/{{node}}/{{edge}}"),
            get(read_edge).post(create).delete(delete_edge),
        )
        .with_state(fake)
}

pub async fn start(state: Arc<FakeState>) -> std::io::Result<FakeServer> {
    FakeServer::start(router(state.clone()), state).await
}

async fn read_node(
    State(fake): State<Shared>,
    Path(node): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if !fake.state.authorized(&headers) {
        return invalid_token();
    }
    if node == "me" || node == PAGE_ID {
        let profile = |field: &str, default: &str| json!(fake.state.profile_field(field, default));
        return ok(super::profile::with_fields(
            json!({"id": PAGE_ID, "name": profile("name", PAGE_NAME),
                   "username": profile("username", PAGE_USERNAME)}),
            params.get("fields"),
            vec![
                ("about", profile("about", "Bread and buns, baked daily.")),
                ("website", profile("website", "https://bakery.example")),
                (
                    "picture",
                    json!({"data": {"url": fake.state.profile_field("picture", "https://scontent.example/bakery.jpg"),
                                    "is_silhouette": false}}),
                ),
            ],
        ));
    }
    match fake.state.post(&node) {
        Some(post) => {
            ok(json!({"id": post.id, "message": post.text, "permalink_url": permalink(&post.id)}))
        }
        None => no_such_object(&node),
    }
}

async fn read_edge(
    State(fake): State<Shared>,
    Path((node, edge)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    match (node.as_str(), edge.as_str()) {
        // The dialog is on www.facebook.com; here it shares the Graph host's paths.
        ("dialog", "oauth") => fake.authorizations.authorize(&params, APP_ID),
        ("oauth", "access_token") => fake.exchange(&params),
        ("me", "accounts") => match bearer(&headers) {
            Some(token) if token.starts_with("long-user-") => ok(json!({"data": [{
                "id": PAGE_ID, "name": PAGE_NAME, "access_token": fake.state.token,
                "category": "Bakery", "tasks": ["CREATE_CONTENT", "MANAGE", "MODERATE"],
            }]})),
            _ => invalid_token(),
        },
        (PAGE_ID, "posts" | "feed") => {
            if !fake.state.authorized(&headers) {
                return invalid_token();
            }
            // The posts people commented on (the inbox's) are the most recently active.
            let mut posts = Meta::Facebook.listed_objects(&fake.state);
            posts.extend(newest(&fake.state, &params).into_iter().map(
                |post| json!({"id": post.id, "message": post.text, "permalink_url": permalink(&post.id)}),
            ));
            ok(json!({"data": posts, "paging": {}}))
        }
        _ => {
            if !fake.state.authorized(&headers) {
                return invalid_token();
            }
            Meta::Facebook
                .read(&fake.state, PAGE_ID, &node, &edge, &params)
                .unwrap_or_else(|| no_such_object(&node))
        }
    }
}

impl Fake {
    /// `GET /oauth/access_token`: the dialog's code becomes a short-lived user token (only
    /// with the redirect URI it was issued for), and `grant_type=fb_exchange_token` makes one
    /// long-lived. Both need the app's id and secret.
    fn exchange(&self, params: &HashMap<String, String>) -> Response {
        let field = |name: &str| params.get(name).map(String::as_str).unwrap_or_default();
        if field("client_id") != APP_ID || field("client_secret") != APP_SECRET {
            return graph_error(
                StatusCode::BAD_REQUEST,
                101,
                "Error validating application. Invalid application ID or secret.",
            );
        }
        if field("grant_type") == "fb_exchange_token" {
            return match field("fb_exchange_token") {
                token if token.starts_with("user-") => {
                    self.state.granted("fb_exchange_token");
                    ok(
                        json!({"access_token": format!("long-{token}"), "token_type": "bearer", "expires_in": 5_183_944}),
                    )
                }
                _ => invalid_token(),
            };
        }
        let code = field("code");
        if code.is_empty() || code == "bad-code" {
            return graph_error(
                StatusCode::BAD_REQUEST,
                100,
                "Invalid verification code format.",
            );
        }
        let redeemed = self
            .authorizations
            .redeem_without_verifier(code, field("redirect_uri"));
        if redeemed == Some(false) {
            return graph_error(
                StatusCode::BAD_REQUEST,
                100,
                "Error validating verification code. Please make sure your redirect_uri is \
                 identical to the one you used in the OAuth dialog request",
            );
        }
        self.state.granted("authorization_code");
        ok(
            json!({"access_token": format!("user-{code}"), "token_type": "bearer", "expires_in": 3600}),
        )
    }
}

async fn create(
    State(fake): State<Shared>,
    Path((node, edge)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !fake.state.authorized(&headers) {
        return invalid_token();
    }
    if edge == "comments" {
        return reply_comment(&fake, &node, &headers, &body).await;
    }
    if (node.as_str(), edge.as_str()) == (PAGE_ID, "messages") {
        return send_message(&fake.state, &body, PAGE_THROTTLED).await;
    }
    if node != PAGE_ID {
        return graph_error(
            StatusCode::FORBIDDEN,
            200,
            "(#200) The user hasn't authorized the application to perform this action",
        );
    }
    let Some((params, files)) = read_params(&headers, &body) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "(#100) Could not read the parameters",
        );
    };
    match edge.as_str() {
        "feed" => create_post(&fake, &params).await,
        "photos" => create_photo(&fake, &params, &files).await,
        _ => no_such_object(&edge),
    }
}

async fn create_post(fake: &Fake, params: &HashMap<String, String>) -> Response {
    let photos = match fake.attached(params) {
        Ok(photos) => photos,
        Err(reason) => return graph_error(StatusCode::BAD_REQUEST, 100, &reason),
    };
    let message = params.get("message").cloned().unwrap_or_default();
    if message.is_empty() && photos.is_empty() {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "(#100) Missing message or attachment",
        );
    }
    let fault = match before_write(&fake.state, PAGE_THROTTLED).await {
        Ok(fault) => fault,
        Err(answer) => return answer,
    };
    // Attached, a photo is the post's and no longer unpublished.
    let attached: Vec<Photo> = {
        let mut unpublished = super::lock(&fake.unpublished);
        photos
            .iter()
            .filter_map(|id| unpublished.remove(id))
            .collect()
    };
    let urls: Vec<Option<String>> = attached.iter().map(|photo| photo.url.clone()).collect();
    let (post, _) = fake.state.record(FakePost {
        id: format!("{PAGE_ID}_{}", fake.state.next_id()),
        text: message,
        key: None,
        media: attached
            .into_iter()
            .map(|photo| (photo.alt, photo.mime))
            .collect(),
        extra: json!({"attached_media": photos, "urls": urls}),
    });
    after_write(&fake.state, fault, json!({"id": post.id})).await
}

async fn create_photo(fake: &Fake, params: &HashMap<String, String>, files: &[Upload]) -> Response {
    let source = files.iter().find(|file| file.name == "source");
    let url = params.get("url");
    let mime = match (source, url) {
        (Some(source), _) => source.content_type.clone(),
        (None, Some(url)) => mime_of(url).to_owned(),
        (None, None) => {
            return graph_error(StatusCode::BAD_REQUEST, 324, "(#324) Requires upload file");
        }
    };
    let fault = match before_write(&fake.state, PAGE_THROTTLED).await {
        Ok(fault) => fault,
        Err(answer) => return answer,
    };
    let alt = params.get("alt_text_custom").cloned().unwrap_or_default();
    let photo_id = fake.state.next_id();
    if params.get("published").map(String::as_str) == Some("false") {
        let photo = Photo {
            alt,
            mime,
            url: url.cloned(),
        };
        super::lock(&fake.unpublished).insert(photo_id.clone(), photo);
        return after_write(&fake.state, fault, json!({"id": photo_id})).await;
    }
    // `caption` is the photo's text; `message` is its deprecated name.
    let caption = params.get("caption").or_else(|| params.get("message"));
    let (post, _) = fake.state.record(FakePost {
        id: format!("{PAGE_ID}_{photo_id}"),
        text: caption.cloned().unwrap_or_default(),
        key: None,
        media: vec![(alt, mime)],
        extra: json!({"photo_id": photo_id, "url": url, "uploaded_bytes": source.map(|file| file.size)}),
    });
    after_write(
        &fake.state,
        fault,
        json!({"id": photo_id, "post_id": post.id}),
    )
    .await
}

/// `POST /{object-id}/comments` on a comment, a post people commented on, or a post that
/// tagged the Page: the Page's answer, kept as a post whose `extra` names what it answered.
async fn reply_comment(fake: &Fake, object: &str, headers: &HeaderMap, body: &[u8]) -> Response {
    let known = super::meta_inbox::answerable(&fake.state, Meta::Facebook);
    if !known.iter().any(|id| id == object) {
        return no_such_object(object);
    }
    let Some((params, _)) = read_params(headers, body) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "(#100) Could not read the parameters",
        );
    };
    let Some(message) = params.get("message").filter(|text| !text.is_empty()) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "(#100) Missing message or attachment",
        );
    };
    let fault = match before_write(&fake.state, PAGE_THROTTLED).await {
        Ok(fault) => fault,
        Err(answer) => return answer,
    };
    let (post, _) = fake.state.record(FakePost {
        id: format!("{object}_{}", fake.state.next_id()),
        text: message.clone(),
        key: None,
        media: Vec::new(),
        extra: super::meta_inbox::reply_extra("comment", json!({ "on": object })),
    });
    after_write(&fake.state, fault, json!({"id": post.id})).await
}

/// The Send API (`POST /{page-id}/messages`, and Instagram's `POST /{ig-user-id}/messages`):
/// JSON naming `recipient.id` (someone who wrote to the account), `message.text` and, on
/// Messenger, `messaging_type`. Kept as a post whose `extra` names the recipient.
pub(crate) async fn send_message(state: &FakeState, body: &[u8], throttle_code: i64) -> Response {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "(#100) The request body must be JSON",
        );
    };
    let recipient = request["recipient"]["id"].as_str().unwrap_or_default();
    let text = request["message"]["text"].as_str().unwrap_or_default();
    let messenger = throttle_code == PAGE_THROTTLED;
    if messenger && request["messaging_type"] != "RESPONSE" {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "(#100) messaging_type must be RESPONSE, UPDATE or MESSAGE_TAG",
        );
    }
    let (items, _) = state.incoming();
    let wrote = items.iter().any(|(_, item, _)| {
        item.kind == crate::IncomingKind::Message && item.sender_id == recipient
    });
    if !wrote || text.is_empty() {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "(#100) No matching user found",
        );
    }
    let fault = match before_write(state, throttle_code).await {
        Ok(fault) => fault,
        Err(answer) => return answer,
    };
    let id = format!("m_sent_{}", state.next_id());
    state.record(FakePost {
        id: id.clone(),
        text: text.to_owned(),
        key: None,
        media: Vec::new(),
        extra: super::meta_inbox::reply_extra(
            "message",
            json!({ "recipient": recipient, "messaging_type": request["messaging_type"] }),
        ),
    });
    after_write(
        state,
        fault,
        json!({"recipient_id": recipient, "message_id": id}),
    )
    .await
}

impl Fake {
    /// The photo ids of `attached_media[0]`, `attached_media[1]`, …: each JSON
    /// `{"media_fbid": "…"}` naming an unpublished photo of this Page. Else why not.
    fn attached(&self, params: &HashMap<String, String>) -> Result<Vec<String>, String> {
        let unpublished = super::lock(&self.unpublished);
        (0..)
            .map_while(|index| {
                let name = format!("attached_media[{index}]");
                params.get(&name).map(|value| (name, value))
            })
            .map(|(name, value)| {
                let id = serde_json::from_str::<Value>(value)
                    .ok()
                    .and_then(|media| media["media_fbid"].as_str().map(str::to_owned))
                    .filter(|id| unpublished.contains_key(id));
                id.ok_or_else(|| {
                    format!("(#100) {name} must name an unpublished photo of this Page")
                })
            })
            .collect()
    }
}

async fn delete_post(
    State(fake): State<Shared>,
    Path(node): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !fake.state.authorized(&headers) {
        return invalid_token();
    }
    if fake.state.post(&node).is_none() {
        return no_such_object(&node);
    }
    let fault = match before_write(&fake.state, PAGE_THROTTLED).await {
        Ok(fault) => fault,
        Err(answer) => return answer,
    };
    fake.state.remove(&node);
    after_write(&fake.state, fault, json!({"success": true})).await
}

async fn delete_edge(
    State(fake): State<Shared>,
    Path((node, edge)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !fake.state.authorized(&headers) {
        return invalid_token();
    }
    if (node.as_str(), edge.as_str()) != ("me", "permissions") {
        return no_such_object(&edge);
    }
    let fault = match before_write(&fake.state, PAGE_THROTTLED).await {
        Ok(fault) => fault,
        Err(answer) => return answer,
    };
    after_write(&fake.state, fault, json!({"success": true})).await
}

fn permalink(post_id: &str) -> String {
    format!("https://www.facebook.com/{post_id}")
}

// Shared with the Instagram and Threads fakes.

/// Draws the fault for a write, as [`FakeState::before_write`] does, in the Graph's words; a
/// throttled write answers with `throttle_code` (the network's own).
pub(crate) async fn before_write(state: &FakeState, throttle_code: i64) -> Result<Fault, Response> {
    state.before_write(&Graph { throttle_code }).await
}

/// Answers a write that was made, as [`FakeState::after_write`] does, with `answer` as the
/// Graph's JSON.
pub(crate) async fn after_write(state: &FakeState, fault: Fault, answer: Value) -> Response {
    let graph = Graph { throttle_code: 0 };
    state.after_write(fault, &graph, ok(answer)).await
}

/// The Graph's words for the injected faults: its error body, a revoked session as 400 with
/// code 190, and throttling as 400 with the network's code and the usage headers.
struct Graph {
    throttle_code: i64,
}

impl FaultWords for Graph {
    fn unavailable(&self) -> Response {
        unavailable()
    }

    fn rate_limited(&self) -> Response {
        throttled(self.throttle_code)
    }

    fn revoked(&self) -> Response {
        graph_error_with_subcode(
            StatusCode::BAD_REQUEST,
            190,
            460,
            "Error validating access token: The session has been invalidated because the user changed their password.",
        )
    }

    fn garbage(&self) -> &'static str {
        "<html><body>Sorry, something went wrong.</body></html>"
    }
}

pub(crate) fn ok(body: Value) -> Response {
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// `{"error": {"message", "type", "code", "fbtrace_id"}}` with `status`.
pub(crate) fn graph_error(status: StatusCode, code: i64, message: &str) -> Response {
    let body = json!({"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AFakeTraceId"}});
    (status, axum::Json(body)).into_response()
}

fn graph_error_with_subcode(
    status: StatusCode,
    code: i64,
    subcode: i64,
    message: &str,
) -> Response {
    let body = json!({"error": {"message": message, "type": "OAuthException", "code": code,
        "error_subcode": subcode, "fbtrace_id": "AFakeTraceId"}});
    (status, axum::Json(body)).into_response()
}

/// Meta answers a bad token with 400 and code 190.
pub(crate) fn invalid_token() -> Response {
    graph_error(
        StatusCode::BAD_REQUEST,
        190,
        "Invalid OAuth access token - Cannot parse access token",
    )
}

pub(crate) fn no_such_object(id: &str) -> Response {
    graph_error(
        StatusCode::BAD_REQUEST,
        100,
        &format!("Unsupported request - Object with ID '{id}' does not exist"),
    )
}

fn unavailable() -> Response {
    graph_error(
        StatusCode::SERVICE_UNAVAILABLE,
        2,
        "Service temporarily unavailable",
    )
}

/// A throttled call: HTTP 400 with the code, and the usage headers saying how long to wait.
pub(crate) fn throttled(code: i64) -> Response {
    let usage = json!({"call_count": 100, "total_cputime": 40, "total_time": 52,
        "estimated_time_to_regain_access": REGAIN_MINUTES});
    let business = json!({PAGE_ID: [{"type": "pages", "call_count": 100, "total_cputime": 40,
        "total_time": 52, "estimated_time_to_regain_access": REGAIN_MINUTES}]});
    let message = format!(
        "(#{code}) There have been too many calls from this account. Wait a bit and try again."
    );
    let body = json!({"error": {"message": message,
        "type": "OAuthException", "code": code, "fbtrace_id": "AFakeTraceId"}});
    (
        StatusCode::BAD_REQUEST,
        [
            ("x-app-usage", usage.to_string()),
            ("x-business-use-case-usage", business.to_string()),
        ],
        axum::Json(body),
    )
        .into_response()
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// The posts, newest first, as many as `limit` asks (25 by default).
pub(crate) fn newest(state: &FakeState, params: &HashMap<String, String>) -> Vec<FakePost> {
    let limit = params
        .get("limit")
        .and_then(|limit| limit.parse().ok())
        .unwrap_or(25);
    state
        .posts()
        .into_iter()
        .rev()
        .filter(|post| !super::meta_inbox::is_inbox_reply(&post.extra))
        .take(limit)
        .collect()
}

/// The media type an image address implies.
pub(crate) fn mime_of(url: &str) -> &'static str {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .to_ascii_lowercase();
    if path.ends_with(".png") {
        "image/png"
    } else if path.ends_with(".gif") {
        "image/gif"
    } else if path.ends_with(".webp") {
        "image/webp"
    } else {
        "image/jpeg"
    }
}

/// A file part of a multipart body: its field name, type and size.
#[derive(Debug)]
struct Upload {
    name: String,
    content_type: String,
    size: usize,
}

/// The parameters of a form or multipart body, and the files of a multipart one.
fn read_params(headers: &HeaderMap, body: &[u8]) -> Option<(HashMap<String, String>, Vec<Upload>)> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    match content_type.split_once("boundary=") {
        Some((kind, boundary)) if kind.starts_with("multipart/form-data") => {
            Some(multipart(boundary.trim_matches('"'), body))
        }
        _ => serde_urlencoded::from_bytes(body)
            .ok()
            .map(|params| (params, Vec::new())),
    }
}

/// Just enough of RFC 7578 for the fake: parts split on the boundary, each headers then data.
fn multipart(boundary: &str, body: &[u8]) -> (HashMap<String, String>, Vec<Upload>) {
    let delimiter = format!("--{boundary}").into_bytes();
    let mut params = HashMap::new();
    let mut files = Vec::new();
    let mut starts = Vec::new();
    let mut at = 0;
    while let Some(found) = find(body, &delimiter, at) {
        starts.push(found);
        at = found + delimiter.len();
    }
    for pair in starts.windows(2) {
        let part = &body[pair[0] + delimiter.len()..pair[1]];
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let part = part.strip_suffix(b"\r\n").unwrap_or(part);
        let Some(split) = find(part, b"\r\n\r\n", 0) else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..split]).to_string();
        let data = &part[split + 4..];
        let Some(name) = quoted(&head, "name=\"") else {
            continue;
        };
        if quoted(&head, "filename=\"").is_some() {
            let content_type = head
                .lines()
                .find_map(|line| {
                    let (key, value) = line.split_once(':')?;
                    key.eq_ignore_ascii_case("content-type")
                        .then(|| value.trim().to_owned())
                })
                .unwrap_or_else(|| "application/octet-stream".to_owned());
            files.push(Upload {
                name,
                content_type,
                size: data.len(),
            });
        } else {
            params.insert(name, String::from_utf8_lossy(data).to_string());
        }
    }
    (params, files)
}

fn quoted(head: &str, prefix: &str) -> Option<String> {
    let start = head.find(prefix)? + prefix.len();
    let end = head[start..].find('"')? + start;
    Some(head[start..end].to_owned())
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|position| position + from)
}
