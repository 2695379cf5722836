//! A fake Bluesky PDS: the XRPC subset the adapter uses, with the reference PDS's shapes
//! (`{"error", "message"}` bodies, `RateLimit-*` headers, 400 `InvalidToken` for a token it does
//! not know, 400 `RecordNotFound`, a bare 500 for a record key that is taken) and one account,
//! [`DID`] / [`HANDLE`], whose app password is [`APP_PASSWORD`].
//!
//! The access token it accepts is [`FakeState::token`] (make it with [`access_jwt`] to give it an
//! expiry the adapter can read); refresh tokens it makes itself, rotating on every refresh.
//! Faults apply to the repository writes (`createRecord`, `deleteRecord`, `uploadBlob`).
//!
//! It stands in for Bluesky's chat service too (`chat.bsky.convo.getLog`, `getConvo`,
//! `sendMessage`), reached as through a real PDS: only with the service-proxy header
//! `atproto-proxy: did:web:api.bsky.chat#bsky_chat`.
//!
//! It is also the account's OAuth authorization server and PLC directory
//! ([`super::bluesky_oauth`]): DPoP-bound tokens it issued work wherever the bearer token does.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use unicode_segmentation::UnicodeSegmentation;

use super::{FakePost, FakeServer, FakeState, FaultWords};

/// The fake account's DID.
pub const DID: &str = "did:plc:heraldfakeaccountxyz2345";
/// The fake account's handle.
pub const HANDLE: &str = "herald.test";
/// Its display name, in its profile record.
pub const DISPLAY_NAME: &str = "Herald Fake";
/// The app password the fake accepts.
pub const APP_PASSWORD: &str = "fake-appp-pass-word";
/// Another account the fake resolves, to mention.
pub const FRIEND_HANDLE: &str = "friend.test";
pub const FRIEND_DID: &str = "did:plc:heraldfakefriendxyz2345";

/// How many requests the fake says are allowed in a rate-limit window.
const WINDOW_LIMIT: u32 = 5000;

/// An unsigned JWT-shaped token for `sub` that expires at `exp` (Unix seconds), as the
/// reference PDS issues them (`typ` `at+jwt`, scope `com.atproto.appPass`).
pub fn access_jwt(sub: &str, exp: i64) -> String {
    jwt(
        "at+jwt",
        &json!({"scope": "com.atproto.appPass", "sub": sub, "exp": exp}),
    )
}

fn jwt(typ: &str, claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(json!({"typ": typ, "alg": "HS256"}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.fakesignature")
}

/// The fake PDS's routes.
pub fn router(state: Arc<FakeState>) -> Router {
    let oauth = super::bluesky_oauth::Server::new(state.clone());
    let fake = Arc::new(Fake {
        state,
        session: Mutex::new(SessionState {
            serial: 1,
            revoked: false,
        }),
        blobs: Mutex::new(HashSet::new()),
    });
    Router::new()
        .route(
            "/xrpc/com.atproto.server.createSession",
            post(create_session),
        )
        .route(
            "/xrpc/com.atproto.server.refreshSession",
            post(refresh_session),
        )
        .route(
            "/xrpc/com.atproto.server.deleteSession",
            post(delete_session),
        )
        .route("/xrpc/com.atproto.server.getSession", get(get_session))
        .route(
            "/xrpc/com.atproto.identity.resolveHandle",
            get(resolve_handle),
        )
        .route("/xrpc/com.atproto.repo.uploadBlob", post(upload_blob))
        .route("/xrpc/com.atproto.repo.createRecord", post(create_record))
        .route("/xrpc/com.atproto.repo.getRecord", get(get_record))
        .route("/xrpc/com.atproto.repo.deleteRecord", post(delete_record))
        .route("/xrpc/com.atproto.repo.listRecords", get(list_records))
        .route(
            "/xrpc/app.bsky.notification.listNotifications",
            get(list_notifications),
        )
        .route("/xrpc/chat.bsky.convo.getLog", get(chat_log))
        .route("/xrpc/chat.bsky.convo.getConvo", get(chat_convo))
        .route("/xrpc/chat.bsky.convo.sendMessage", post(chat_send))
        .with_state(fake)
        .layer(axum::middleware::from_fn_with_state(
            oauth.clone(),
            super::bluesky_oauth::check_dpop,
        ))
        .merge(super::bluesky_oauth::routes(oauth))
}

/// Starts the fake PDS on a free loopback port.
pub async fn start(state: Arc<FakeState>) -> std::io::Result<FakeServer> {
    FakeServer::start(router(state.clone()), state).await
}

#[derive(Debug)]
struct Fake {
    state: Arc<FakeState>,
    session: Mutex<SessionState>,
    /// The CIDs of uploaded blobs, which records may refer to.
    blobs: Mutex<HashSet<String>>,
}

#[derive(Debug)]
struct SessionState {
    /// The refresh token in force is the one made with this serial.
    serial: u64,
    /// deleteSession was called: no refresh token works.
    revoked: bool,
}

impl Fake {
    fn refresh_token(&self, serial: u64) -> String {
        jwt(
            "refresh+jwt",
            &json!({"scope": "com.atproto.refresh", "sub": DID, "jti": format!("fake-{serial}")}),
        )
    }

    fn session(&self) -> MutexGuard<'_, SessionState> {
        self.session.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn session_body(&self, serial: u64) -> Value {
        json!({
            "accessJwt": self.state.token,
            "refreshJwt": self.refresh_token(serial),
            "handle": HANDLE,
            "did": DID,
            "active": true,
        })
    }

    /// Whether the request carries the refresh token in force.
    fn has_refresh_token(&self, headers: &HeaderMap) -> bool {
        let session = self.session();
        !session.revoked && bearer(headers) == Some(self.refresh_token(session.serial).as_str())
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

fn xrpc_error(status: StatusCode, error: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "message": message})),
    )
        .into_response()
}

/// What the reference PDS answers for a token it does not accept: 401 with none, 400
/// `InvalidToken` for one it cannot verify.
fn unauthenticated(headers: &HeaderMap) -> Response {
    if bearer(headers).is_none() {
        return xrpc_error(
            StatusCode::UNAUTHORIZED,
            "AuthMissing",
            "Authentication Required",
        );
    }
    xrpc_error(
        StatusCode::BAD_REQUEST,
        "InvalidToken",
        "Token could not be verified",
    )
}

fn rate_limited() -> Response {
    let mut response = xrpc_error(
        StatusCode::TOO_MANY_REQUESTS,
        "RateLimitExceeded",
        "Rate Limit Exceeded",
    );
    let reset = network_clock_seconds() + 1;
    let headers = response.headers_mut();
    headers.insert("ratelimit-limit", HeaderValue::from(WINDOW_LIMIT));
    headers.insert("ratelimit-remaining", HeaderValue::from(0));
    headers.insert("ratelimit-reset", HeaderValue::from(reset));
    headers.insert("ratelimit-policy", HeaderValue::from_static("5000;w=3600"));
    response
}

/// The fake network's own clock, for its `RateLimit-Reset` times: it stands for a server
/// elsewhere, which has a clock of its own; Herald's code never reads this.
#[expect(
    clippy::disallowed_methods,
    reason = "the fake network's clock, not Herald's"
)]
fn network_clock_seconds() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// The PDS's words for the injected faults: XRPC error bodies, `RateLimit-*` (the reset in
/// epoch seconds) on a 429, and a bare 500 at last for a request that hung.
struct Words;

impl FaultWords for Words {
    fn unavailable(&self) -> Response {
        xrpc_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "NotEnoughResources",
            "Service Unavailable",
        )
    }

    fn rate_limited(&self) -> Response {
        rate_limited()
    }

    fn revoked(&self) -> Response {
        xrpc_error(
            StatusCode::UNAUTHORIZED,
            "InvalidToken",
            "Token has been revoked",
        )
    }

    fn after_hanging(&self) -> Response {
        self.server_error()
    }

    fn server_error(&self) -> Response {
        xrpc_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "Internal Server Error",
        )
    }

    fn garbage(&self) -> &'static str {
        "<html><body>upstream connect error</body></html>"
    }
}

#[derive(Deserialize)]
struct Login {
    identifier: String,
    password: String,
}

async fn create_session(State(fake): State<Arc<Fake>>, body: Bytes) -> Response {
    let Ok(login) = serde_json::from_slice::<Login>(&body) else {
        return xrpc_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "Input must have the property \"identifier\"",
        );
    };
    let known = [HANDLE, DID].contains(&login.identifier.to_ascii_lowercase().as_str());
    if !known || login.password != APP_PASSWORD {
        return xrpc_error(
            StatusCode::UNAUTHORIZED,
            "AuthenticationRequired",
            "Invalid identifier or password",
        );
    }
    let serial = {
        let mut session = fake.session();
        session.serial += 1;
        session.revoked = false;
        session.serial
    };
    axum::Json(fake.session_body(serial)).into_response()
}

async fn refresh_session(State(fake): State<Arc<Fake>>, headers: HeaderMap) -> Response {
    if !fake.has_refresh_token(&headers) {
        return xrpc_error(
            StatusCode::BAD_REQUEST,
            "ExpiredToken",
            "Token has been revoked",
        );
    }
    let serial = {
        let mut session = fake.session();
        session.serial += 1;
        session.serial
    };
    axum::Json(fake.session_body(serial)).into_response()
}

async fn delete_session(State(fake): State<Arc<Fake>>, headers: HeaderMap) -> Response {
    if !fake.has_refresh_token(&headers) {
        return xrpc_error(
            StatusCode::BAD_REQUEST,
            "ExpiredToken",
            "Token has been revoked",
        );
    }
    fake.session().revoked = true;
    StatusCode::OK.into_response()
}

async fn get_session(State(fake): State<Arc<Fake>>, headers: HeaderMap) -> Response {
    if !fake.state.authorized(&headers) {
        return unauthenticated(&headers);
    }
    axum::Json(json!({"did": DID, "handle": HANDLE, "active": true})).into_response()
}

#[derive(Deserialize)]
struct HandleQuery {
    handle: String,
}

async fn resolve_handle(Query(query): Query<HandleQuery>) -> Response {
    let did = match query.handle.to_ascii_lowercase().as_str() {
        HANDLE => DID,
        FRIEND_HANDLE => FRIEND_DID,
        _ => {
            return xrpc_error(
                StatusCode::BAD_REQUEST,
                "HandleNotFound",
                "Unable to resolve handle",
            );
        }
    };
    axum::Json(json!({"did": did})).into_response()
}

/// A CID-shaped name for some bytes.
fn cid(prefix: &str, bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest[..20].iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}")
}

async fn upload_blob(State(fake): State<Arc<Fake>>, headers: HeaderMap, body: Bytes) -> Response {
    if !fake.state.authorized(&headers) {
        return unauthenticated(&headers);
    }
    let fault = match fake.state.before_write(&Words).await {
        Ok(fault) => fault,
        Err(answer) => return answer,
    };
    let mime = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let link = cid("bafkrei", &body);
    fake.blobs
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(link.clone());
    let answer = axum::Json(json!({"blob": {
        "$type": "blob",
        "ref": {"$link": link},
        "mimeType": mime,
        "size": body.len(),
    }}))
    .into_response();
    fake.state.after_write(fault, &Words, answer).await
}

#[derive(Deserialize)]
struct CreateRecord {
    repo: String,
    collection: String,
    #[serde(default)]
    rkey: Option<String>,
    record: Value,
}

async fn create_record(State(fake): State<Arc<Fake>>, headers: HeaderMap, body: Bytes) -> Response {
    if !fake.state.authorized(&headers) {
        return unauthenticated(&headers);
    }
    let fault = match fake.state.before_write(&Words).await {
        Ok(fault) => fault,
        Err(answer) => return answer,
    };
    let Ok(input) = serde_json::from_slice::<CreateRecord>(&body) else {
        return xrpc_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "Input must be a createRecord body",
        );
    };
    if input.repo != DID && input.repo != HANDLE {
        return xrpc_error(
            StatusCode::UNAUTHORIZED,
            "AuthenticationRequired",
            "the repo is not this token's account",
        );
    }
    if input.collection != "app.bsky.feed.post" {
        return xrpc_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "the fake PDS only holds app.bsky.feed.post records",
        );
    }
    let rkey = match input.rkey {
        Some(rkey) if !is_tid(&rkey) => {
            return xrpc_error(
                StatusCode::BAD_REQUEST,
                "InvalidRequest",
                &format!(
                    "Invalid record key for app.bsky.feed.post: Invalid TID string (got {rkey:?}) at $"
                ),
            );
        }
        Some(rkey) => rkey,
        None => tid_from(&fake.state.next_id()),
    };
    let post = match check_post(&fake, &input.record) {
        Ok(post) => post,
        Err(problem) => {
            let message = format!("Invalid app.bsky.feed.post record: {problem}");
            return xrpc_error(StatusCode::BAD_REQUEST, "InvalidRequest", &message);
        }
    };
    let (held, made) = fake.state.record(FakePost {
        id: rkey.clone(),
        key: Some(rkey.clone()),
        ..post
    });
    if !made {
        // The reference PDS (0.5) fails deep in its repository code when the key is taken.
        return xrpc_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "Internal Server Error",
        );
    }
    let answer = axum::Json(json!({
        "uri": format!("at://{DID}/app.bsky.feed.post/{}", held.id),
        "cid": cid("bafyrei", held.extra.to_string().as_bytes()),
        "commit": {"cid": cid("bafyrei", held.id.as_bytes()), "rev": tid_from(&held.id)},
        "validationStatus": "valid",
    }))
    .into_response();
    fake.state.after_write(fault, &Words, answer).await
}

/// Checks a post record the way the lexicon does (the parts Herald writes) and turns it into
/// the post the fake holds.
fn check_post(fake: &Fake, record: &Value) -> Result<FakePost, String> {
    if record["$type"] != "app.bsky.feed.post" {
        return Err("Record/$type must be app.bsky.feed.post".to_owned());
    }
    let Some(text) = record["text"].as_str() else {
        return Err("Record must have the property \"text\"".to_owned());
    };
    if text.len() > 3000 || text.graphemes(true).count() > 300 {
        return Err("Record/text must not be longer than 300 graphemes".to_owned());
    }
    let created = record["createdAt"].as_str().unwrap_or_default();
    if created.parse::<jiff::Timestamp>().is_err() {
        return Err("Record/createdAt must be a valid datetime".to_owned());
    }
    for facet in record["facets"].as_array().into_iter().flatten() {
        let start = facet["index"]["byteStart"].as_u64();
        let end = facet["index"]["byteEnd"].as_u64();
        let inside = matches!((start, end), (Some(start), Some(end)) if start <= end && end <= text.len() as u64);
        if !inside {
            return Err("Record/facets/index must lie within the text".to_owned());
        }
    }
    let mut media = Vec::new();
    if let Some(embed) = record.get("embed") {
        if embed["$type"] != "app.bsky.embed.images" {
            return Err("the fake PDS only takes app.bsky.embed.images embeds".to_owned());
        }
        let blobs = fake.blobs.lock().unwrap_or_else(PoisonError::into_inner);
        for image in embed["images"].as_array().into_iter().flatten() {
            let link = image["image"]["ref"]["$link"].as_str().unwrap_or_default();
            if !blobs.contains(link) {
                return Err(format!("Could not find blob: {link}"));
            }
            let Some(alt) = image["alt"].as_str() else {
                return Err("Record/embed/images/alt is required".to_owned());
            };
            let mime = image["image"]["mimeType"].as_str().unwrap_or_default();
            media.push((alt.to_owned(), mime.to_owned()));
        }
    }
    Ok(FakePost {
        id: String::new(),
        text: text.to_owned(),
        key: None,
        media,
        extra: record.clone(),
    })
}

fn is_tid(text: &str) -> bool {
    const ALPHABET: &str = "234567abcdefghijklmnopqrstuvwxyz";
    text.len() == 13
        && text.chars().all(|c| ALPHABET.contains(c))
        && text.starts_with(|c: char| "234567abcdefghij".contains(c))
}

/// A TID for a record the client named no key for.
fn tid_from(seed: &str) -> String {
    crate::bluesky::Bluesky::record_key(&format!("fake-pds/{seed}"))
}

#[derive(Deserialize)]
struct RecordQuery {
    repo: String,
    collection: String,
    rkey: String,
}

async fn get_record(State(fake): State<Arc<Fake>>, Query(query): Query<RecordQuery>) -> Response {
    let uri = format!("at://{}/{}/{}", query.repo, query.collection, query.rkey);
    let ours = query.repo == DID || query.repo == HANDLE;
    let value = match query.collection.as_str() {
        "app.bsky.feed.post" if ours => fake.state.post(&query.rkey).map(|post| post.extra),
        "app.bsky.actor.profile" if ours && query.rkey == "self" => Some(json!({
            "$type": "app.bsky.actor.profile",
            "displayName": DISPLAY_NAME,
        })),
        _ => None,
    };
    let Some(value) = value else {
        return xrpc_error(
            StatusCode::BAD_REQUEST,
            "RecordNotFound",
            &format!("Could not locate record: {uri}"),
        );
    };
    let cid = cid("bafyrei", value.to_string().as_bytes());
    axum::Json(json!({"uri": format!("at://{DID}/{}/{}", query.collection, query.rkey), "cid": cid, "value": value}))
        .into_response()
}

#[derive(Deserialize)]
struct DeleteRecord {
    repo: String,
    collection: String,
    rkey: String,
}

async fn delete_record(State(fake): State<Arc<Fake>>, headers: HeaderMap, body: Bytes) -> Response {
    if !fake.state.authorized(&headers) {
        return unauthenticated(&headers);
    }
    let fault = match fake.state.before_write(&Words).await {
        Ok(fault) => fault,
        Err(answer) => return answer,
    };
    let Ok(input) = serde_json::from_slice::<DeleteRecord>(&body) else {
        return xrpc_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "Input must be a deleteRecord body",
        );
    };
    if input.repo != DID && input.repo != HANDLE {
        return xrpc_error(
            StatusCode::UNAUTHORIZED,
            "AuthenticationRequired",
            "the repo is not this token's account",
        );
    }
    // Deleting a record that is not there succeeds, as on the reference PDS.
    if input.collection == "app.bsky.feed.post" {
        fake.state.remove(&input.rkey);
    }
    let answer = axum::Json(json!({"commit": {"cid": cid("bafyrei", input.rkey.as_bytes()), "rev": tid_from(&input.rkey)}}))
        .into_response();
    fake.state.after_write(fault, &Words, answer).await
}

#[derive(Deserialize)]
struct ListQuery {
    repo: String,
    collection: String,
}

/// `com.atproto.repo.listRecords` for the account's posts, newest first (the reference PDS's
/// default order), at most 50: the account's own timeline as the watcher reads it.
async fn list_records(State(fake): State<Arc<Fake>>, Query(query): Query<ListQuery>) -> Response {
    if query.repo != DID && query.repo != HANDLE {
        return xrpc_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "Could not find repo",
        );
    }
    let records: Vec<Value> = match query.collection.as_str() {
        "app.bsky.feed.post" => fake
            .state
            .posts()
            .iter()
            .rev()
            .take(50)
            .map(|post| {
                json!({
                    "uri": format!("at://{DID}/app.bsky.feed.post/{}", post.id),
                    "cid": cid("bafyrei", post.id.as_bytes()),
                    "value": post.extra,
                })
            })
            .collect(),
        _ => Vec::new(),
    };
    axum::Json(json!({ "records": records })).into_response()
}

// The inbox: `app.bsky.notification.listNotifications` over what tests sent with
// `FakeState::receive`.

/// `listNotifications`: `limit` (50, at most 100) and `cursor`, newest first; the cursor is
/// the fake's own (`c<id>`: below that item), and one it does not know is refused with 400.
async fn list_notifications(
    State(fake): State<Arc<Fake>>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    if !fake.state.authorized(&headers) {
        return unauthenticated(&headers);
    }
    if fake.state.inbox_read_limited() {
        return rate_limited();
    }
    let param = |name: &str| {
        query
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.clone())
    };
    let limit = param("limit")
        .and_then(|limit| limit.parse::<usize>().ok())
        .unwrap_or(50)
        .clamp(1, 100);
    let (items, faults) = fake.state.incoming();
    let below = match param("cursor") {
        None => None,
        Some(_) if faults.reject_cursors => {
            return xrpc_error(
                StatusCode::BAD_REQUEST,
                "InvalidRequest",
                "Malformed cursor",
            );
        }
        Some(cursor) => match cursor
            .strip_prefix('c')
            .and_then(|id| id.parse::<u64>().ok())
        {
            Some(id) => Some(id),
            None => {
                return xrpc_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidRequest",
                    "Malformed cursor",
                );
            }
        },
    };
    let below = if faults.same_page { None } else { below };
    let page: Vec<_> = items
        .into_iter()
        .filter(|(_, item, _)| !item.deleted && item.kind != crate::IncomingKind::Message)
        .filter(|(id, ..)| below.is_none_or(|below| *id < below))
        .take(limit)
        .collect();
    let cursor = (page.len() == limit)
        .then(|| page.last().map(|(id, ..)| format!("c{id}")))
        .flatten();
    let notifications: Vec<Value> = page
        .iter()
        .map(|(id, item, at)| bluesky_notification(*id, item, *at))
        .collect();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        super::inbox::with_surrogates(&json!({
            "cursor": cursor,
            "notifications": notifications,
            "priority": false,
            "seenAt": "2026-12-01T00:00:00.000Z",
        })),
    )
        .into_response()
}

/// A notification view: the record of the post (or follow), its author, the reason; replies
/// name a post of the account as their root and parent.
fn bluesky_notification(id: u64, item: &super::inbox::FakeIncoming, at: jiff::Timestamp) -> Value {
    use crate::IncomingKind;
    let time = at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let (reason, collection) = match item.kind {
        IncomingKind::Follower => ("follow", "app.bsky.graph.follow"),
        IncomingKind::Reply => ("reply", "app.bsky.feed.post"),
        _ => ("mention", "app.bsky.feed.post"),
    };
    let uri = format!(
        "at://{}/{collection}/{}",
        item.sender_id,
        tid_from(&id.to_string())
    );
    let mut record = if item.kind == IncomingKind::Follower {
        json!({ "$type": collection, "subject": DID, "createdAt": time })
    } else {
        json!({ "$type": collection, "text": item.text, "createdAt": time })
    };
    if item.kind == IncomingKind::Reply {
        let ours = json!({ "uri": format!("at://{DID}/app.bsky.feed.post/3kroot22222a2"), "cid": "bafyreirootcid" });
        record["reply"] = json!({ "root": ours, "parent": ours });
    }
    json!({
        "uri": uri,
        "cid": format!("bafyreifake{id}"),
        "author": {
            "did": item.sender_id,
            "handle": item.sender_handle,
            "displayName": item.sender_name,
        },
        "reason": reason,
        "record": record,
        "isRead": false,
        "indexedAt": time,
        "labels": [],
    })
}

// Chat: Bluesky's chat service behind the PDS, over the messages tests sent with
// `FakeState::receive` (kind `Message`) and the ones the account sent back.

/// How many log entries one `getLog` answers (the lexicon has no limit to ask for).
pub const CHAT_LOG_PAGE: usize = 5;

/// The conversation of a message: the fake's one per sender unless the item names another.
fn convo_of(item: &super::inbox::FakeIncoming) -> String {
    item.conversation
        .clone()
        .unwrap_or_else(|| tid_from(&format!("convo/{}", item.sender_id)))
}

/// A log `rev` for an item id: sortable, as the chat service's are.
fn rev_of(id: u64) -> String {
    format!("r{id:012}")
}

/// The checks every chat call passes first: the token, the proxy header (a PDS without it
/// has no such method), the app password's privilege, and the rate limit.
fn chat_refusal(fake: &Fake, headers: &HeaderMap, read: bool) -> Option<Response> {
    if !fake.state.authorized(headers) {
        return Some(unauthenticated(headers));
    }
    let proxied = headers
        .get("atproto-proxy")
        .and_then(|value| value.to_str().ok())
        == Some("did:web:api.bsky.chat#bsky_chat");
    if !proxied {
        return Some(xrpc_error(
            StatusCode::NOT_IMPLEMENTED,
            "MethodNotImplemented",
            "Method Not Implemented",
        ));
    }
    if fake.state.inbox_faults().chat_unreachable {
        return Some(xrpc_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "could not resolve proxy did service url",
        ));
    }
    if fake.state.inbox_faults().messages_forbidden {
        return Some(xrpc_error(
            StatusCode::BAD_REQUEST,
            "InvalidToken",
            "Bad token scope",
        ));
    }
    if read && fake.state.messages_read_limited() {
        return Some(rate_limited());
    }
    None
}

/// `chat.bsky.convo.getLog`: the log after `cursor`, oldest first, [`CHAT_LOG_PAGE`] at a
/// time, and the cursor after the last; without a cursor, the newest page. A message deleted
/// since shows as a `deletedMessageView`.
async fn chat_log(
    State(fake): State<Arc<Fake>>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    if let Some(refusal) = chat_refusal(&fake, &headers, true) {
        return refusal;
    }
    let (mut items, faults) = fake.state.incoming();
    items.reverse();
    let messages: Vec<_> = items
        .into_iter()
        .filter(|(_, item, _)| item.kind == crate::IncomingKind::Message)
        .collect();
    let cursor = query
        .iter()
        .find(|(name, _)| name == "cursor")
        .map(|(_, value)| value.clone());
    let after = match cursor {
        None => None,
        Some(_) if faults.reject_cursors => {
            return xrpc_error(StatusCode::BAD_REQUEST, "InvalidRequest", "Invalid cursor");
        }
        Some(cursor) => match cursor
            .strip_prefix('r')
            .and_then(|id| id.parse::<u64>().ok())
        {
            Some(id) => Some(id),
            None => {
                return xrpc_error(StatusCode::BAD_REQUEST, "InvalidRequest", "Invalid cursor");
            }
        },
    };
    let page: Vec<_> = match (after, faults.same_page) {
        (Some(after), false) => messages
            .into_iter()
            .filter(|(id, ..)| *id > after)
            .take(CHAT_LOG_PAGE)
            .collect(),
        // The newest page, for a first read and for a service stuck on one page.
        _ => {
            let skip = messages.len().saturating_sub(CHAT_LOG_PAGE);
            messages.into_iter().skip(skip).collect()
        }
    };
    let next = page
        .last()
        .map(|(id, ..)| rev_of(*id))
        .or_else(|| after.map(rev_of));
    let logs: Vec<Value> = page
        .iter()
        .map(|(id, item, at)| {
            let time = at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
            let message = if item.deleted {
                json!({ "$type": "chat.bsky.convo.defs#deletedMessageView", "id": format!("m{id}"),
                        "rev": rev_of(*id), "sender": { "did": item.sender_id }, "sentAt": time })
            } else {
                json!({ "$type": "chat.bsky.convo.defs#messageView", "id": format!("m{id}"),
                        "rev": rev_of(*id), "text": item.text,
                        "sender": { "did": item.sender_id }, "sentAt": time })
            };
            json!({
                "$type": "chat.bsky.convo.defs#logCreateMessage",
                "rev": rev_of(*id),
                "convoId": convo_of(item),
                "message": message,
            })
        })
        .collect();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        super::inbox::with_surrogates(&json!({ "cursor": next, "logs": logs })),
    )
        .into_response()
}

/// `chat.bsky.convo.getConvo`: the conversation's members (the account and the sender).
async fn chat_convo(
    State(fake): State<Arc<Fake>>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    if let Some(refusal) = chat_refusal(&fake, &headers, false) {
        return refusal;
    }
    let asked = query
        .iter()
        .find(|(name, _)| name == "convoId")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    let (items, _) = fake.state.incoming();
    let Some((_, sender, _)) = items.iter().find(|(_, item, _)| {
        item.kind == crate::IncomingKind::Message
            && item.sender_id != DID
            && convo_of(item) == asked
    }) else {
        return xrpc_error(StatusCode::BAD_REQUEST, "InvalidRequest", "Convo not found");
    };
    let member = |did: &str, handle: &str, name: &str| json!({ "did": did, "handle": handle, "displayName": name, "labels": [] });
    let members = json!([
        member(DID, HANDLE, DISPLAY_NAME),
        member(
            &sender.sender_id,
            &sender.sender_handle,
            &sender.sender_name
        ),
    ]);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        super::inbox::with_surrogates(&json!({ "convo": {
            "id": asked, "rev": "r0", "members": members, "muted": false, "unreadCount": 0,
        } })),
    )
        .into_response()
}

/// `chat.bsky.convo.sendMessage`: `{convoId, message: {text}}` to a conversation the account
/// is in; the message view back.
async fn chat_send(State(fake): State<Arc<Fake>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refusal) = chat_refusal(&fake, &headers, false) {
        return refusal;
    }
    let fault = match fake.state.before_write(&Words).await {
        Ok(fault) => fault,
        Err(answer) => return answer,
    };
    let input: Value = serde_json::from_slice(&body).unwrap_or_default();
    let (Some(convo), Some(text)) = (input["convoId"].as_str(), input["message"]["text"].as_str())
    else {
        return xrpc_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "Input must have the properties \"convoId\" and \"message\"",
        );
    };
    let (items, _) = fake.state.incoming();
    let known = items
        .iter()
        .any(|(_, item, _)| item.kind == crate::IncomingKind::Message && convo_of(item) == convo);
    if !known {
        return xrpc_error(StatusCode::BAD_REQUEST, "InvalidRequest", "Convo not found");
    }
    let own = super::inbox::FakeIncoming {
        sender_id: DID.to_owned(),
        ..super::inbox::FakeIncoming::message(HANDLE, DISPLAY_NAME, text)
    };
    let id = fake.state.send_message(convo, text, own);
    let answer = axum::Json(json!({
        "id": format!("m{id}"),
        "rev": rev_of(id),
        "text": text,
        "sender": { "did": DID },
        "sentAt": "2026-12-01T09:00:00.000Z",
    }))
    .into_response();
    fake.state.after_write(fault, &Words, answer).await
}
