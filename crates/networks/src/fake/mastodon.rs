//! A fake Mastodon instance: app registration, OAuth token and revoke, `verify_credentials`,
//! an account's statuses, `POST /api/v2/media` and `POST /api/v1/statuses` honouring
//! `Idempotency-Key`, and delete — with Mastodon's `{"error": …}` bodies and its
//! `X-RateLimit-*` headers (the reset an ISO 8601 time).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Form, Json, Router};
use serde_json::{Value, json};

use super::{FakePost, FakeServer, FakeState, Fault, FaultWords};

/// The account every token of the fake acts as.
pub const ACCOUNT_ID: &str = "109000000000000001";
pub const USERNAME: &str = "herald";
/// The application every registration at the fake gets.
pub const CLIENT_ID: &str = "fake-client-id";
pub const CLIENT_SECRET: &str = "fake-client-secret";

struct Fake {
    state: Arc<FakeState>,
    revoked: AtomicBool,
    /// Uploaded attachments by id: (alt text, media type).
    media: Mutex<HashMap<String, (String, String)>>,
    authorizations: super::authorize::Authorizations,
    /// The profile as `update_credentials` last set it: display name and note (bio).
    profile: Mutex<(String, String)>,
}

type Shared = Arc<Fake>;

pub fn router(state: Arc<FakeState>) -> Router {
    let fake = Arc::new(Fake {
        state,
        revoked: AtomicBool::new(false),
        media: Mutex::new(HashMap::new()),
        authorizations: super::authorize::Authorizations::default(),
        profile: Mutex::new(("Herald Test".to_owned(), String::new())),
    });
    Router::new()
        .route("/oauth/authorize", get(authorize))
        .route("/api/v1/apps", post(register_app))
        .route("/oauth/token", post(token))
        .route("/oauth/revoke", post(revoke))
        .route(
            "/api/v1/accounts/verify_credentials",
            get(verify_credentials),
        )
        .route("/api/v1/accounts/{id}/statuses", get(account_statuses))
        .route("/api/v2/media", post(upload_media))
        .route("/api/v1/statuses", post(create_status))
        .route("/api/v1/statuses/{id}", delete(delete_status))
        .route(
            "/api/v1/accounts/update_credentials",
            axum::routing::patch(update_credentials),
        )
        .route("/api/v1/notifications", get(notifications))
        .with_state(fake)
}

pub async fn start(state: Arc<FakeState>) -> std::io::Result<FakeServer> {
    FakeServer::start(router(state.clone()), state).await
}

async fn register_app(Form(form): Form<HashMap<String, String>>) -> Response {
    json_answer(
        StatusCode::OK,
        json!({
            "id": "1",
            "name": form.get("client_name"),
            "redirect_uri": form.get("redirect_uris"),
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        }),
    )
}

/// The instance's "Authorize" page, approved at once: back with a code (PKCE S256).
async fn authorize(
    State(fake): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    fake.authorizations.authorize(&query, CLIENT_ID)
}

async fn token(State(fake): State<Shared>, Form(form): Form<HashMap<String, String>>) -> Response {
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    if field("grant_type") != "authorization_code" || field("code").is_empty() {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    if field("code") == "bad-code" || field("code_verifier").is_empty() {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let redeemed =
        fake.authorizations
            .redeem(field("code"), field("code_verifier"), field("redirect_uri"));
    if redeemed == Some(false) {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    fake.state.granted(field("grant_type"));
    json_answer(
        StatusCode::OK,
        json!({
            "access_token": fake.state.token,
            "token_type": "Bearer",
            "scope": field("scope"),
            "created_at": 1_800_000_000,
        }),
    )
}

async fn revoke(State(fake): State<Shared>, Form(form): Form<HashMap<String, String>>) -> Response {
    if form.get("client_id").is_none_or(String::is_empty) {
        return oauth_error(StatusCode::FORBIDDEN, "unauthorized_client");
    }
    if form.get("token") == Some(&fake.state.token) {
        fake.revoked.store(true, Ordering::Relaxed);
    }
    json_answer(StatusCode::OK, json!({}))
}

async fn verify_credentials(State(fake): State<Shared>, headers: HeaderMap) -> Response {
    if !fake.authorized(&headers) {
        return unauthorized();
    }
    json_answer(StatusCode::OK, account(&fake, &headers))
}

async fn account_statuses(
    State(fake): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !fake.authorized(&headers) {
        return unauthorized();
    }
    if id != ACCOUNT_ID {
        return error(StatusCode::NOT_FOUND, "Record not found");
    }
    let statuses: Vec<Value> = fake
        .state
        .posts()
        .iter()
        .rev()
        .take(40)
        .map(|post| status(&fake, &headers, post))
        .collect();
    json_answer(StatusCode::OK, Value::Array(statuses))
}

async fn upload_media(State(fake): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let fault = match fake.before_write(&headers).await {
        Ok(fault) => fault,
        Err(response) => return response,
    };
    let parts = multipart_fields(&headers, &body);
    let Some((_, mime)) = parts.iter().find(|(name, _)| name == "file") else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Validation failed: File content type is invalid, File is invalid",
        );
    };
    let alt = parts
        .iter()
        .find(|(name, _)| name == "description")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    let id = fake.state.next_id();
    super::lock(&fake.media).insert(id.clone(), (alt.clone(), mime.clone()));
    let attachment = json!({
        "id": id,
        "type": "image",
        "url": format!("{}/media/{id}", origin(&headers)),
        "description": alt,
    });
    fake.after_write(fault, json_answer(StatusCode::OK, attachment))
        .await
}

async fn create_status(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let fault = match fake.before_write(&headers).await {
        Ok(fault) => fault,
        Err(response) => return response,
    };
    let text = form
        .iter()
        .find(|(name, _)| name == "status")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    let media_ids: Vec<String> = form
        .iter()
        .filter(|(name, _)| name == "media_ids[]")
        .map(|(_, value)| value.clone())
        .collect();
    if text.trim().is_empty() && media_ids.is_empty() {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Validation failed: Text can't be blank",
        );
    }
    let mut media = Vec::with_capacity(media_ids.len());
    {
        let held = super::lock(&fake.media);
        for id in &media_ids {
            let Some(attachment) = held.get(id) else {
                return error(StatusCode::UNPROCESSABLE_ENTITY, "Record not found");
            };
            media.push(attachment.clone());
        }
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let (post, _) = fake.state.record(FakePost {
        id: String::new(),
        text,
        key,
        media,
        extra: json!({
            "media_ids": media_ids,
            "in_reply_to_id": field(&form, "in_reply_to_id"),
            "visibility": field(&form, "visibility"),
        }),
    });
    fake.after_write(
        fault,
        json_answer(StatusCode::OK, status(&fake, &headers, &post)),
    )
    .await
}

async fn delete_status(
    State(fake): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let fault = match fake.before_write(&headers).await {
        Ok(fault) => fault,
        Err(response) => return response,
    };
    let Some(post) = fake.state.post(&id) else {
        return error(StatusCode::NOT_FOUND, "Record not found");
    };
    fake.state.remove(&id);
    let mut deleted = status(&fake, &headers, &post);
    deleted["text"] = json!(post.text);
    fake.after_write(fault, json_answer(StatusCode::OK, deleted))
        .await
}

impl Fake {
    fn authorized(&self, headers: &HeaderMap) -> bool {
        !self.revoked.load(Ordering::Relaxed) && self.state.authorized(headers)
    }

    /// The token check and the faults that strike before anything is written.
    async fn before_write(&self, headers: &HeaderMap) -> Result<Fault, Response> {
        if !self.authorized(headers) {
            return Err(unauthorized());
        }
        self.state.before_write(&Words).await
    }

    /// The faults that strike after the write was made.
    async fn after_write(&self, fault: Fault, answer: Response) -> Response {
        self.state.after_write(fault, &Words, answer).await
    }
}

/// Mastodon's words for the injected faults: `{"error"}` bodies, and `X-RateLimit-*` (the
/// reset an ISO 8601 time) on a 429.
struct Words;

impl FaultWords for Words {
    fn unavailable(&self) -> Response {
        error(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
    }

    fn rate_limited(&self) -> Response {
        rate_limited()
    }

    fn revoked(&self) -> Response {
        unauthorized()
    }

    fn garbage(&self) -> &'static str {
        "<html><body>We're sorry, but something went wrong.</body></html>"
    }
}

fn account(fake: &Fake, headers: &HeaderMap) -> Value {
    let (display_name, note) = super::lock(&fake.profile).clone();
    json!({
        "id": ACCOUNT_ID,
        "username": USERNAME,
        "acct": USERNAME,
        "display_name": display_name,
        "note": render(&note),
        "avatar": format!("{}/avatars/{USERNAME}.png", origin(headers)),
        "fields": [],
        "url": format!("{}/@{USERNAME}", origin(headers)),
    })
}

fn status(fake: &Fake, headers: &HeaderMap, post: &FakePost) -> Value {
    let origin = origin(headers);
    let attachments: Vec<Value> = post
        .media
        .iter()
        .map(|(alt, _)| json!({ "type": "image", "description": alt }))
        .collect();
    json!({
        "id": post.id,
        "created_at": "2026-12-01T07:00:00.000Z",
        "visibility": "public",
        "uri": format!("{origin}/users/{USERNAME}/statuses/{}", post.id),
        "url": format!("{origin}/@{USERNAME}/{}", post.id),
        "content": render(&post.text),
        "media_attachments": attachments,
        "account": account(fake, headers),
    })
}

/// Plain text as Mastodon renders it: escaped, paragraphs in `<p>`, line breaks `<br />`.
fn render(text: &str) -> String {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;");
    escaped
        .split("\n\n")
        .map(|paragraph| format!("<p>{}</p>", paragraph.replace('\n', "<br />")))
        .collect()
}

/// `http://host:port` from the request, for the URLs statuses carry.
fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// The fields of a `multipart/form-data` body: text fields with their value, file fields
/// with their part's media type. Enough for the fake; not a general parser.
fn multipart_fields(headers: &HeaderMap, body: &[u8]) -> Vec<(String, String)> {
    let Some(boundary) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split("boundary=").nth(1))
        .map(|boundary| format!("--{}", boundary.trim_matches('"')))
    else {
        return Vec::new();
    };
    let body = String::from_utf8_lossy(body);
    let mut fields = Vec::new();
    for part in body.split(boundary.as_str()) {
        let Some((head, value)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        let Some(name) = head
            .split("name=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
        else {
            continue;
        };
        let content_type = head.lines().find_map(|line| {
            let (field, value) = line.split_once(':')?;
            field
                .eq_ignore_ascii_case("content-type")
                .then(|| value.trim().to_owned())
        });
        let value = match content_type {
            Some(content_type) if head.contains("filename=") => content_type,
            _ => value.trim_end_matches("\r\n").to_owned(),
        };
        fields.push((name.to_owned(), value));
    }
    fields
}

fn json_answer(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    json_answer(status, json!({ "error": message }))
}

fn oauth_error(status: StatusCode, code: &str) -> Response {
    json_answer(
        status,
        json!({
            "error": code,
            "error_description": "The provided authorization grant is invalid, expired, revoked, \
                                  does not match the redirection URI used in the authorization \
                                  request, or was issued to another client.",
        }),
    )
}

fn unauthorized() -> Response {
    error(StatusCode::UNAUTHORIZED, "The access token is invalid")
}

/// 429 with Mastodon's headers: the limit resets one second from now.
fn rate_limited() -> Response {
    let reset = reset_time(1);
    let mut response = error(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", header::HeaderValue::from_static("300"));
    headers.insert(
        "x-ratelimit-remaining",
        header::HeaderValue::from_static("0"),
    );
    if let Ok(value) = header::HeaderValue::from_str(&reset) {
        headers.insert("x-ratelimit-reset", value);
    }
    response
}

/// An ISO 8601 time `seconds` from now, with microseconds as Mastodon writes it.
#[allow(
    clippy::disallowed_methods,
    reason = "the fake stands in for a network, whose rate-limit window runs on its own clock"
)]
fn reset_time(seconds: i64) -> String {
    let now = jiff::Timestamp::now();
    let reset = now
        .checked_add(jiff::SignedDuration::from_secs(seconds))
        .unwrap_or(now);
    reset.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// `PATCH /api/v1/accounts/update_credentials`: whoever holds the token changes the profile
/// (display name, note), as an attacker with the account would.
async fn update_credentials(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !fake.authorized(&headers) {
        return unauthorized();
    }
    {
        let mut profile = super::lock(&fake.profile);
        if let Some(name) = form.get("display_name") {
            profile.0.clone_from(name);
        }
        if let Some(note) = form.get("note") {
            profile.1.clone_from(note);
        }
    }
    json_answer(StatusCode::OK, account(&fake, &headers))
}

// The inbox: `GET /api/v1/notifications` over what tests sent with `FakeState::receive`.

/// A form field's value, if sent.
fn field(form: &[(String, String)], name: &str) -> Option<String> {
    form.iter()
        .find(|(field, _)| field == name)
        .map(|(_, value)| value.clone())
}

/// `GET /api/v1/notifications`: `types[]`, `limit` (40, at most 80), `max_id`, `since_id`,
/// `min_id` (the page just newer than it), newest first, `Link` with `next` and `prev`.
async fn notifications(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    if !fake.authorized(&headers) {
        return unauthorized();
    }
    if fake.state.inbox_read_limited() {
        return rate_limited();
    }
    let param = |name: &str| field(&query, name);
    let number = |name: &str| param(name).and_then(|value| value.parse::<u64>().ok());
    let limit = number("limit").unwrap_or(40).clamp(1, 80) as usize;
    let types: Vec<String> = query
        .iter()
        .filter(|(name, _)| name == "types[]")
        .map(|(_, value)| value.clone())
        .collect();
    let (items, faults) = fake.state.incoming();
    let wanted = items.into_iter().filter(|(_, item, _)| {
        let kind = notification_type(item.kind);
        types.is_empty() || types.iter().any(|wanted| wanted == kind)
    });
    let mut page: Vec<_> = if faults.same_page {
        wanted.take(limit).collect()
    } else if let Some(min_id) = number("min_id") {
        let mut newer: Vec<_> = wanted.filter(|(id, ..)| *id > min_id).collect();
        newer.reverse();
        newer.truncate(limit);
        newer.reverse();
        newer
    } else {
        wanted
            .filter(|(id, ..)| number("max_id").is_none_or(|max| *id < max))
            .filter(|(id, ..)| number("since_id").is_none_or(|since| *id > since))
            .take(limit)
            .collect()
    };
    page.sort_by_key(|item| std::cmp::Reverse(item.0));
    let origin = origin(&headers);
    let body: Vec<Value> = page
        .iter()
        .map(|(id, item, at)| notification(&origin, *id, item, *at))
        .collect();
    let mut response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        super::inbox::with_surrogates(&json!(body)),
    )
        .into_response();
    if let (Some((newest, ..)), Some((oldest, ..))) = (page.first(), page.last()) {
        let link = format!(
            "<{origin}/api/v1/notifications?max_id={oldest}>; rel=\"next\", <{origin}/api/v1/notifications?min_id={newest}>; rel=\"prev\""
        );
        if let Ok(value) = header::HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    response
}

fn notification_type(kind: crate::IncomingKind) -> &'static str {
    match kind {
        crate::IncomingKind::Follower => "follow",
        _ => "mention",
    }
}

/// A Notification entity, with its Status for mentions (replies answer the account's status;
/// messages are `direct`), `null` once the status is deleted.
fn notification(
    origin: &str,
    id: u64,
    item: &super::inbox::FakeIncoming,
    at: jiff::Timestamp,
) -> Value {
    use crate::IncomingKind;
    let account = json!({
        "id": item.sender_id,
        "username": item.sender_handle.trim_start_matches('@').split('@').next().unwrap_or_default(),
        "acct": item.sender_handle.trim_start_matches('@'),
        "display_name": item.sender_name,
        "url": format!("{origin}/@{}", item.sender_handle.trim_start_matches('@')),
    });
    let created = at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let status = match item.kind {
        IncomingKind::Follower => Value::Null,
        _ if item.deleted => Value::Null,
        kind => {
            let status_id = id + 500_000;
            json!({
                "id": status_id.to_string(),
                "created_at": created,
                "visibility": if kind == IncomingKind::Message { "direct" } else { "public" },
                "in_reply_to_id": (kind == IncomingKind::Reply).then_some("1"),
                "in_reply_to_account_id": (kind == IncomingKind::Reply).then_some(ACCOUNT_ID),
                "url": format!("{origin}/@{}/{status_id}", item.sender_handle.trim_start_matches('@')),
                "content": render(&item.text),
                "account": account,
            })
        }
    };
    json!({
        "id": id.to_string(),
        "type": notification_type(item.kind),
        "created_at": created,
        "account": account,
        "status": status,
    })
}
