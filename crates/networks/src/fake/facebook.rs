//! The fake Facebook Graph API for one Page: `/{page-id}/feed`, `/{page-id}/photos` (form
//! `url` or multipart `source`), `/{page-id}/posts`, `/{post-id}` (read, delete),
//! `/me/permissions`, `/oauth/access_token` and `/me/accounts`, with Graph error bodies and
//! Meta's throttling answer (HTTP 400, a throttling code and the usage headers).
//!
//! The helpers below the router are shared with the Instagram and Threads fakes, which speak
//! the same error body and the same faults.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::{FakePost, FakeServer, FakeState, Fault};
use crate::facebook::GRAPH_VERSION;

/// The one Page the fake holds.
pub const PAGE_ID: &str = "1000001";
pub const PAGE_NAME: &str = "Herald Test Bakery";
pub const PAGE_USERNAME: &str = "heraldtestbakery";

/// What a throttled answer's usage headers say to wait, in minutes.
pub const REGAIN_MINUTES: u64 = 7;

/// The Page throttling code (`There have been too many calls to this Page`, Business Use Case).
const PAGE_THROTTLED: i64 = 80001;

pub fn router(state: Arc<FakeState>) -> Router {
    Router::new()
        .route(
            &format!("/{GRAPH_VERSION}/{{node}}"),
            get(read_node).delete(delete_post),
        )
        .route(
            &format!("/{GRAPH_VERSION}/{{node}}/{{edge}}"),
            get(read_edge).post(create).delete(delete_edge),
        )
        .with_state(state)
}

pub async fn start(state: Arc<FakeState>) -> std::io::Result<FakeServer> {
    FakeServer::start(router(state.clone()), state).await
}

async fn read_node(
    State(state): State<Arc<FakeState>>,
    Path(node): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !state.authorized(&headers) {
        return invalid_token();
    }
    if node == "me" || node == PAGE_ID {
        return ok(json!({"id": PAGE_ID, "name": PAGE_NAME, "username": PAGE_USERNAME}));
    }
    match state.post(&node) {
        Some(post) => {
            ok(json!({"id": post.id, "message": post.text, "permalink_url": permalink(&post.id)}))
        }
        None => no_such_object(&node),
    }
}

async fn read_edge(
    State(state): State<Arc<FakeState>>,
    Path((node, edge)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    match (node.as_str(), edge.as_str()) {
        ("oauth", "access_token") => exchange(&params),
        ("me", "accounts") => match bearer(&headers) {
            Some(token) if token.starts_with("long-user-") => ok(json!({"data": [{
                "id": PAGE_ID, "name": PAGE_NAME, "access_token": state.token,
                "category": "Bakery", "tasks": ["CREATE_CONTENT", "MANAGE", "MODERATE"],
            }]})),
            _ => invalid_token(),
        },
        (PAGE_ID, "posts" | "feed") => {
            if !state.authorized(&headers) {
                return invalid_token();
            }
            let posts: Vec<Value> = newest(&state, &params)
                .into_iter()
                .map(|post| json!({"id": post.id, "message": post.text, "permalink_url": permalink(&post.id)}))
                .collect();
            ok(json!({"data": posts, "paging": {}}))
        }
        _ => no_such_object(&node),
    }
}

/// `GET /oauth/access_token`: a code becomes a short-lived user token, and
/// `grant_type=fb_exchange_token` makes one long-lived.
fn exchange(params: &HashMap<String, String>) -> Response {
    let app = ["client_id", "client_secret"]
        .iter()
        .all(|name| params.get(*name).is_some_and(|value| !value.is_empty()));
    if !app {
        return graph_error(
            StatusCode::BAD_REQUEST,
            101,
            "Missing client_id or client_secret",
        );
    }
    if params.get("grant_type").map(String::as_str) == Some("fb_exchange_token") {
        return match params.get("fb_exchange_token") {
            Some(token) if token.starts_with("user-") => ok(
                json!({"access_token": format!("long-{token}"), "token_type": "bearer", "expires_in": 5_183_944}),
            ),
            _ => invalid_token(),
        };
    }
    match params.get("code").map(String::as_str) {
        None | Some("") | Some("bad-code") => graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "Invalid verification code format.",
        ),
        Some(code) => ok(
            json!({"access_token": format!("user-{code}"), "token_type": "bearer", "expires_in": 3600}),
        ),
    }
}

async fn create(
    State(state): State<Arc<FakeState>>,
    Path((node, edge)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !state.authorized(&headers) {
        return invalid_token();
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
        "feed" => create_post(&state, &params).await,
        "photos" => create_photo(&state, &params, &files).await,
        _ => no_such_object(&edge),
    }
}

async fn create_post(state: &FakeState, params: &HashMap<String, String>) -> Response {
    let Some(message) = params.get("message").filter(|message| !message.is_empty()) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "(#100) Missing message or attachment",
        );
    };
    let fault = match before_write(state, PAGE_THROTTLED).await {
        Ok(fault) => fault,
        Err(answer) => return answer,
    };
    let (post, _) = state.record(FakePost {
        id: format!("{PAGE_ID}_{}", state.next_id()),
        text: message.clone(),
        key: None,
        media: Vec::new(),
        extra: json!({}),
    });
    after_write(state, fault, json!({"id": post.id})).await
}

async fn create_photo(
    state: &FakeState,
    params: &HashMap<String, String>,
    files: &[Upload],
) -> Response {
    let source = files.iter().find(|file| file.name == "source");
    let url = params.get("url");
    let mime = match (source, url) {
        (Some(source), _) => source.content_type.clone(),
        (None, Some(url)) => mime_of(url).to_owned(),
        (None, None) => {
            return graph_error(StatusCode::BAD_REQUEST, 324, "(#324) Requires upload file");
        }
    };
    let fault = match before_write(state, PAGE_THROTTLED).await {
        Ok(fault) => fault,
        Err(answer) => return answer,
    };
    // `caption` is the photo's text; `message` is its deprecated name.
    let caption = params.get("caption").or_else(|| params.get("message"));
    let alt = params.get("alt_text_custom").cloned().unwrap_or_default();
    let photo_id = state.next_id();
    let (post, _) = state.record(FakePost {
        id: format!("{PAGE_ID}_{photo_id}"),
        text: caption.cloned().unwrap_or_default(),
        key: None,
        media: vec![(alt, mime)],
        extra: json!({"photo_id": photo_id, "url": url, "uploaded_bytes": source.map(|file| file.size)}),
    });
    after_write(state, fault, json!({"id": photo_id, "post_id": post.id})).await
}

async fn delete_post(
    State(state): State<Arc<FakeState>>,
    Path(node): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !state.authorized(&headers) {
        return invalid_token();
    }
    if state.post(&node).is_none() {
        return no_such_object(&node);
    }
    let fault = match before_write(&state, PAGE_THROTTLED).await {
        Ok(fault) => fault,
        Err(answer) => return answer,
    };
    state.remove(&node);
    after_write(&state, fault, json!({"success": true})).await
}

async fn delete_edge(
    State(state): State<Arc<FakeState>>,
    Path((node, edge)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !state.authorized(&headers) {
        return invalid_token();
    }
    if (node.as_str(), edge.as_str()) != ("me", "permissions") {
        return no_such_object(&edge);
    }
    let fault = match before_write(&state, PAGE_THROTTLED).await {
        Ok(fault) => fault,
        Err(answer) => return answer,
    };
    after_write(&state, fault, json!({"success": true})).await
}

fn permalink(post_id: &str) -> String {
    format!("https://www.facebook.com/{post_id}")
}

// Shared with the Instagram and Threads fakes.

/// Draws the fault for a write. The failures that leave nothing written answer at once (or
/// after hanging, for a lost request); the others come back for [`after_write`].
pub(crate) async fn before_write(state: &FakeState, throttle_code: i64) -> Result<Fault, Response> {
    match state.draw() {
        Fault::Unavailable => Err(unavailable()),
        Fault::RateLimited => Err(throttled(throttle_code)),
        Fault::LostBefore => {
            state.hang().await;
            Err(unavailable())
        }
        Fault::Unauthorized => Err(graph_error_with_subcode(
            StatusCode::BAD_REQUEST,
            190,
            460,
            "Error validating access token: The session has been invalidated because the user changed their password.",
        )),
        other => Ok(other),
    }
}

/// Answers a write that was made, as the drawn fault says: hanging past the client's
/// time-out, a 200 that is not JSON, or the real answer.
pub(crate) async fn after_write(state: &FakeState, fault: Fault, answer: Value) -> Response {
    match fault {
        Fault::LostAfter => {
            state.hang().await;
            ok(answer)
        }
        Fault::GarbageAfter => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body>Sorry, something went wrong.</body></html>",
        )
            .into_response(),
        _ => ok(answer),
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
    state.posts().into_iter().rev().take(limit).collect()
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

/// An Instagram or Threads container: what step one received, and the post step two made.
#[derive(Debug, Clone)]
pub(crate) struct Container {
    pub text: String,
    pub media_type: String,
    pub image_url: Option<String>,
    pub alt: String,
    pub published: Option<String>,
}

/// The containers a fake holds, by id.
#[derive(Debug, Default)]
pub(crate) struct Containers {
    held: Mutex<HashMap<String, Container>>,
}

impl Containers {
    pub(crate) fn add(&self, id: &str, container: Container) {
        self.lock().insert(id.to_owned(), container);
    }

    pub(crate) fn get(&self, id: &str) -> Option<Container> {
        self.lock().get(id).cloned()
    }

    pub(crate) fn mark_published(&self, id: &str, media_id: &str) {
        if let Some(container) = self.lock().get_mut(id) {
            container.published = Some(media_id.to_owned());
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Container>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
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
