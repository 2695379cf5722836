//! A fake X API v2: OAuth 2.0 token (code with PKCE, rotating refresh tokens, Basic auth for
//! the confidential client), revoke, `GET /2/users/me`, a user's posts, image upload with alt
//! text, and create and delete posts — with X's problem bodies and `x-rate-limit-*` headers
//! (the reset in epoch seconds). Like X it has no idempotency key.
//!
//! Its inbox: the mentions timeline, and direct messages (`GET /2/dm_events`, sending with
//! `POST /2/dm_conversations/:id/messages` or `/with/:participant_id/messages`) in the shapes
//! of <https://docs.x.com/x-api/direct-messages/lookup/introduction> and
//! <https://docs.x.com/x-api/direct-messages/manage/introduction>.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use serde_json::{Value, json};

use super::{FakePost, FakeServer, FakeState, Fault, FaultWords};

/// The user every token of the fake acts as.
pub const USER_ID: &str = "2244994945";
pub const USERNAME: &str = "herald_test";
/// The confidential client the fake knows; a request without Basic auth is a public client.
pub const CLIENT_ID: &str = "fake-client-id";
pub const CLIENT_SECRET: &str = "fake-client-secret";

struct Fake {
    state: Arc<FakeState>,
    revoked: AtomicBool,
    /// The refresh token now valid; X rotates it on every refresh.
    refresh: Mutex<String>,
    refreshes: AtomicU64,
    /// Uploaded images by id: (alt text, media type).
    media: Mutex<HashMap<String, (String, String)>>,
    authorizations: super::authorize::Authorizations,
}

type Shared = Arc<Fake>;

pub fn router(state: Arc<FakeState>) -> Router {
    let fake = Arc::new(Fake {
        state,
        revoked: AtomicBool::new(false),
        refresh: Mutex::new("refresh-0".to_owned()),
        refreshes: AtomicU64::new(0),
        media: Mutex::new(HashMap::new()),
        authorizations: super::authorize::Authorizations::default(),
    });
    Router::new()
        .route("/i/oauth2/authorize", get(authorize))
        .route("/2/oauth2/token", post(token))
        .route("/2/oauth2/revoke", post(revoke))
        .route("/2/users/me", get(me))
        .route("/2/users/{id}/tweets", get(user_tweets))
        .route("/2/media/upload", post(upload_media))
        .route("/2/media/metadata", post(media_metadata))
        .route("/2/tweets", post(create_tweet))
        .route("/2/tweets/{id}", delete(delete_tweet))
        .route("/2/users/{id}/mentions", get(mentions))
        .route("/2/dm_events", get(dm_events))
        .route(
            "/2/dm_conversations/{id}/dm_events",
            get(conversation_events),
        )
        .route(
            "/2/dm_conversations/with/{participant}/dm_events",
            get(participant_events),
        )
        .route(
            "/2/dm_conversations/{id}/messages",
            post(send_to_conversation),
        )
        .route(
            "/2/dm_conversations/with/{participant}/messages",
            post(send_to_participant),
        )
        .with_state(fake)
}

pub async fn start(state: Arc<FakeState>) -> std::io::Result<FakeServer> {
    FakeServer::start(router(state.clone()), state).await
}

/// X's consent page, approved at once: back to the redirect URI with a code (PKCE S256).
async fn authorize(
    State(fake): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    fake.authorizations.authorize(&query, CLIENT_ID)
}

async fn token(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !client_authenticated(&headers) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized_client",
            "Missing valid authorization header",
        );
    }
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    match field("grant_type") {
        "authorization_code" => {
            if field("code").is_empty() || field("code") == "bad-code" {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Value passed for the authorization code was invalid.",
                );
            }
            if field("code_verifier").is_empty() {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Missing required parameter [code_verifier].",
                );
            }
            let redeemed = fake.authorizations.redeem(
                field("code"),
                field("code_verifier"),
                field("redirect_uri"),
            );
            if redeemed == Some(false) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Value passed for the authorization code was invalid.",
                );
            }
        }
        "refresh_token" => {
            if field("refresh_token") != super::lock(&fake.refresh).as_str() {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Value passed for the token was invalid.",
                );
            }
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Unsupported grant type.",
            );
        }
    }
    fake.state.granted(field("grant_type"));
    let next = fake.refreshes.fetch_add(1, Ordering::Relaxed) + 1;
    let refresh = format!("refresh-{next}");
    *super::lock(&fake.refresh) = refresh.clone();
    json_answer(
        StatusCode::OK,
        json!({
            "token_type": "bearer",
            "expires_in": 7200,
            "access_token": fake.state.token,
            "scope": crate::x::SCOPES,
            "refresh_token": refresh,
        }),
    )
}

async fn revoke(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !client_authenticated(&headers) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized_client",
            "Missing valid authorization header",
        );
    }
    if form.get("token") == Some(&fake.state.token) {
        fake.revoked.store(true, Ordering::Relaxed);
    }
    json_answer(StatusCode::OK, json!({ "revoked": true }))
}

/// The user, with the `user.fields` asked for (`description`, `profile_image_url`, `url`).
async fn me(
    State(fake): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if !fake.authorized(&headers) {
        return unauthorized();
    }
    let profile = |field: &str, default: &str| json!(fake.state.profile_field(field, default));
    let user = super::profile::with_fields(
        json!({ "id": USER_ID, "name": profile("name", "Herald Test"),
                "username": profile("username", USERNAME) }),
        query.get("user.fields"),
        vec![
            (
                "description",
                profile("description", "Bread and buns, baked daily."),
            ),
            (
                "profile_image_url",
                profile(
                    "profile_image_url",
                    "https://pbs.twimg.com/profile_images/1/bakery_normal.jpg",
                ),
            ),
            ("url", profile("url", "https://t.co/bakery")),
        ],
    );
    json_answer(StatusCode::OK, json!({ "data": user }))
}

async fn user_tweets(
    State(fake): State<Shared>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if !fake.authorized(&headers) {
        return unauthorized();
    }
    if id != USER_ID {
        return problem(
            StatusCode::BAD_REQUEST,
            "Invalid Request",
            "One or more parameters to your request was invalid.",
        );
    }
    // Newest first, 100 a page; the page token is the offset of the page's first post.
    let offset: usize = query
        .get("pagination_token")
        .and_then(|token| token.parse().ok())
        .unwrap_or(0);
    let posts = fake.state.posts();
    let tweets: Vec<Value> = posts
        .iter()
        .rev()
        .skip(offset)
        .take(100)
        .map(|post| {
            json!({
                "id": post.id,
                "text": shown(&post.text),
                "edit_history_tweet_ids": [post.id],
            })
        })
        .collect();
    if tweets.is_empty() {
        // X leaves `data` out when there is nothing to show.
        return json_answer(StatusCode::OK, json!({ "meta": { "result_count": 0 } }));
    }
    let count = tweets.len();
    let mut meta = json!({ "result_count": count });
    if offset + count < posts.len() {
        meta["next_token"] = json!((offset + count).to_string());
    }
    json_answer(StatusCode::OK, json!({ "data": tweets, "meta": meta }))
}

async fn upload_media(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let fault = match fake.before_write(&headers).await {
        Ok(fault) => fault,
        Err(response) => return response,
    };
    let decoded = body["media"]
        .as_str()
        .and_then(|media| base64::engine::general_purpose::STANDARD.decode(media).ok());
    let (Some(bytes), Some(mime)) = (decoded, body["media_type"].as_str()) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "Invalid Request",
            "One or more parameters to your request was invalid.",
        );
    };
    let id = fake.state.next_id();
    super::lock(&fake.media).insert(id.clone(), (String::new(), mime.to_owned()));
    let uploaded = json!({
        "data": {
            "id": id,
            "media_key": format!("3_{id}"),
            "size": bytes.len(),
            "expires_after_secs": 86400,
            "processing_info": { "state": "succeeded" },
        }
    });
    fake.after_write(fault, json_answer(StatusCode::OK, uploaded))
        .await
}

async fn media_metadata(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let fault = match fake.before_write(&headers).await {
        Ok(fault) => fault,
        Err(response) => return response,
    };
    let id = body["id"].as_str().unwrap_or_default().to_owned();
    let alt = body["metadata"]["alt_text"]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    {
        let mut media = super::lock(&fake.media);
        let Some(held) = media.get_mut(&id) else {
            return problem(
                StatusCode::BAD_REQUEST,
                "Invalid Request",
                "Unknown media id.",
            );
        };
        held.0 = alt.clone();
    }
    let answer = json!({
        "data": { "id": id, "associated_metadata": { "alt_text": { "text": alt } } }
    });
    fake.after_write(fault, json_answer(StatusCode::OK, answer))
        .await
}

async fn create_tweet(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let fault = match fake.before_write(&headers).await {
        Ok(fault) => fault,
        Err(response) => return response,
    };
    let text = body["text"].as_str().unwrap_or_default().to_owned();
    let media_ids: Vec<String> = body["media"]["media_ids"]
        .as_array()
        .map(|ids| {
            ids.iter()
                .filter_map(|id| id.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if text.is_empty() && media_ids.is_empty() {
        return invalid_request("Post text or media is required.");
    }
    let mut media = Vec::with_capacity(media_ids.len());
    {
        let held = super::lock(&fake.media);
        for id in &media_ids {
            let Some(image) = held.get(id) else {
                return invalid_request("Your media IDs are invalid.");
            };
            media.push(image.clone());
        }
    }
    let (post, _) = fake.state.record(FakePost {
        id: String::new(),
        text,
        key: None,
        media,
        extra: json!({ "media_ids": media_ids, "reply": body.get("reply") }),
    });
    let created = json!({ "data": { "id": post.id, "text": shown(&post.text) } });
    fake.after_write(fault, json_answer(StatusCode::CREATED, created))
        .await
}

async fn delete_tweet(
    State(fake): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let fault = match fake.before_write(&headers).await {
        Ok(fault) => fault,
        Err(response) => return response,
    };
    if !fake.state.remove(&id) {
        return problem(
            StatusCode::NOT_FOUND,
            "Not Found Error",
            &format!("Could not find tweet with id: [{id}]."),
        );
    }
    fake.after_write(
        fault,
        json_answer(StatusCode::OK, json!({ "data": { "deleted": true } })),
    )
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

/// X's words for the injected faults: problem bodies, and `x-rate-limit-*` on a 429.
struct Words;

impl FaultWords for Words {
    fn unavailable(&self) -> Response {
        unavailable()
    }

    fn rate_limited(&self) -> Response {
        rate_limited()
    }

    fn revoked(&self) -> Response {
        unauthorized()
    }

    fn garbage(&self) -> &'static str {
        "<html><body>Something went wrong, but don't fret.</body></html>"
    }
}

/// A confidential client sends Basic auth; a public one sends none. Wrong Basic auth fails.
fn client_authenticated(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
    else {
        return true;
    };
    let expected =
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    value.strip_prefix("Basic ") == Some(expected.as_str())
}

/// Text as X shows it back: `&`, `<` and `>` escaped, every link wrapped in a `t.co` one.
fn shown(text: &str) -> String {
    let mut links = 0;
    let words: Vec<String> = text
        .split(' ')
        .map(|word| {
            if word.starts_with("https://") || word.starts_with("http://") {
                links += 1;
                format!("https://t.co/fake{links}")
            } else {
                word.replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
            }
        })
        .collect();
    words.join(" ")
}

fn json_answer(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

/// X's RFC 7807 problem body.
fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    json_answer(
        status,
        json!({ "title": title, "detail": detail, "type": "about:blank", "status": status.as_u16() }),
    )
}

fn invalid_request(message: &str) -> Response {
    json_answer(
        StatusCode::BAD_REQUEST,
        json!({
            "errors": [{ "parameters": {}, "message": message }],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        }),
    )
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_answer(
        status,
        json!({ "error": error, "error_description": description }),
    )
}

fn unauthorized() -> Response {
    problem(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized")
}

fn unavailable() -> Response {
    problem(
        StatusCode::SERVICE_UNAVAILABLE,
        "Service Unavailable",
        "Service Unavailable",
    )
}

/// 429 with X's headers: the window resets at the next second.
fn rate_limited() -> Response {
    let mut response = problem(
        StatusCode::TOO_MANY_REQUESTS,
        "Too Many Requests",
        "Too Many Requests",
    );
    let headers = response.headers_mut();
    headers.insert("x-rate-limit-limit", HeaderValue::from_static("100"));
    headers.insert("x-rate-limit-remaining", HeaderValue::from_static("0"));
    headers.insert("x-rate-limit-reset", HeaderValue::from(reset_second(1)));
    response
}

/// The Unix time `seconds` from now.
#[allow(
    clippy::disallowed_methods,
    reason = "the fake stands in for a network, whose rate-limit window runs on its own clock"
)]
fn reset_second(seconds: i64) -> i64 {
    jiff::Timestamp::now().as_second() + seconds
}

// The inbox: the mentions timeline over what tests sent with `FakeState::receive`.

/// `GET /2/users/:id/mentions`: `since_id`, `max_results` (5 to 100), `pagination_token` (the
/// fake's: the id below which the page starts), newest first, authors in `includes.users`.
async fn mentions(
    State(fake): State<Shared>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if !fake.authorized(&headers) {
        return unauthorized();
    }
    if fake.state.inbox_read_limited() {
        return rate_limited();
    }
    if id != USER_ID {
        return problem(
            StatusCode::BAD_REQUEST,
            "Invalid Request",
            "One or more parameters to your request was invalid.",
        );
    }
    let number = |name: &str| query.get(name).and_then(|value| value.parse::<u64>().ok());
    let max = number("max_results").unwrap_or(10).clamp(5, 100) as usize;
    let (items, faults) = fake.state.incoming();
    let below = if faults.same_page {
        None
    } else {
        number("pagination_token")
    };
    let page: Vec<_> = items
        .into_iter()
        .filter(|(_, item, _)| {
            !item.deleted
                && !matches!(
                    item.kind,
                    crate::IncomingKind::Follower | crate::IncomingKind::Message
                )
        })
        .filter(|(id, ..)| number("since_id").is_none_or(|since| *id > since))
        .filter(|(id, ..)| below.is_none_or(|below| *id < below))
        .collect();
    let more = page.len() > max;
    let page: Vec<_> = page.into_iter().take(max).collect();
    if page.is_empty() {
        return json_answer(StatusCode::OK, json!({ "meta": { "result_count": 0 } }));
    }
    let tweets: Vec<Value> = page
        .iter()
        .map(|(id, item, at)| {
            let mut tweet = json!({
                "id": id.to_string(),
                "text": item.text,
                "author_id": item.sender_id,
                "created_at": at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                "edit_history_tweet_ids": [id.to_string()],
            });
            if item.kind == crate::IncomingKind::Reply {
                tweet["in_reply_to_user_id"] = json!(USER_ID);
            }
            tweet
        })
        .collect();
    let users: Vec<Value> = page
        .iter()
        .map(|(_, item, _)| {
            json!({
                "id": item.sender_id,
                "username": item.sender_handle.trim_start_matches('@'),
                "name": item.sender_name,
            })
        })
        .collect();
    let mut meta = json!({
        "result_count": page.len(),
        "newest_id": page.first().map(|(id, ..)| id.to_string()),
        "oldest_id": page.last().map(|(id, ..)| id.to_string()),
    });
    if more {
        meta["next_token"] = json!(page.last().map(|(id, ..)| id.to_string()));
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        super::inbox::with_surrogates(
            &json!({ "data": tweets, "includes": { "users": users }, "meta": meta }),
        ),
    )
        .into_response()
}

// Direct messages: `GET /2/dm_events` over the messages tests sent with
// `FakeState::receive` (kind `Message`) and the ones the account sent back.

/// The 1:1 conversation of a message: X names it by the two user ids, the smaller first.
fn conversation_of(item: &super::inbox::FakeIncoming) -> String {
    item.conversation
        .clone()
        .unwrap_or_else(|| one_to_one(&item.sender_id))
}

fn one_to_one(participant: &str) -> String {
    let (a, b) = if participant < USER_ID {
        (participant, USER_ID)
    } else {
        (USER_ID, participant)
    };
    format!("{a}-{b}")
}

/// 403 as X answers a token without the scope an endpoint needs.
fn forbidden_scope() -> Response {
    json_answer(
        StatusCode::FORBIDDEN,
        json!({
            "title": "Forbidden",
            "detail": "You are not permitted to perform this action.",
            "type": "https://api.twitter.com/2/problems/client-forbidden",
            "reason": "missing-scopes",
            "status": 403,
        }),
    )
}

/// `GET /2/dm_events`: newest first; `max_results` (1 to 100, default 100),
/// `pagination_token` (the fake's: the id below which the page starts), `event_types`,
/// `dm_event.fields` (only `id`, `event_type` and `text` unless more are asked for), and the
/// senders in `includes.users` with `expansions=sender_id`.
async fn dm_events(
    State(fake): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    events(&fake, &query, &headers, None)
}

/// `GET /2/dm_conversations/:dm_conversation_id/dm_events`: one conversation's events.
async fn conversation_events(
    State(fake): State<Shared>,
    Path(conversation): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    events(&fake, &query, &headers, Some(conversation))
}

/// `GET /2/dm_conversations/with/:participant_id/dm_events`: the 1:1 conversation's events.
async fn participant_events(
    State(fake): State<Shared>,
    Path(participant): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    events(&fake, &query, &headers, Some(one_to_one(&participant)))
}

/// The events of every conversation, or of `conversation`.
fn events(
    fake: &Fake,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    conversation: Option<String>,
) -> Response {
    if !fake.authorized(headers) {
        return unauthorized();
    }
    if fake.state.messages_read_limited() {
        return rate_limited();
    }
    let (items, faults) = fake.state.incoming();
    if faults.messages_forbidden {
        return forbidden_scope();
    }
    let asked = |name: &str, value: &str| {
        query
            .get(name)
            .is_some_and(|list| list.split(',').any(|part| part == value))
    };
    if query.contains_key("event_types") && !asked("event_types", "MessageCreate") {
        return json_answer(StatusCode::OK, json!({ "meta": { "result_count": 0 } }));
    }
    let number = |name: &str| query.get(name).and_then(|value| value.parse::<u64>().ok());
    if query.contains_key("pagination_token")
        && (faults.reject_cursors || number("pagination_token").is_none())
    {
        return invalid_request("The `pagination_token` query parameter value is not valid.");
    }
    let max = number("max_results").unwrap_or(100).clamp(1, 100) as usize;
    let below = if faults.same_page {
        None
    } else {
        number("pagination_token")
    };
    let page: Vec<_> = items
        .into_iter()
        .filter(|(_, item, _)| !item.deleted && item.kind == crate::IncomingKind::Message)
        .filter(|(_, item, _)| {
            conversation
                .as_ref()
                .is_none_or(|conversation| conversation_of(item) == *conversation)
        })
        .filter(|(id, ..)| below.is_none_or(|below| *id < below))
        .collect();
    let more = page.len() > max;
    let page: Vec<_> = page.into_iter().take(max).collect();
    if page.is_empty() {
        return json_answer(StatusCode::OK, json!({ "meta": { "result_count": 0 } }));
    }
    let events: Vec<Value> = page
        .iter()
        .map(|(id, item, at)| {
            let mut event = json!({
                "id": id.to_string(),
                "event_type": "MessageCreate",
                "text": item.text,
            });
            if asked("dm_event.fields", "created_at") {
                event["created_at"] = json!(at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
            }
            if asked("dm_event.fields", "sender_id") {
                event["sender_id"] = json!(item.sender_id);
            }
            if asked("dm_event.fields", "dm_conversation_id") {
                event["dm_conversation_id"] = json!(conversation_of(item));
            }
            event
        })
        .collect();
    let mut body = json!({
        "data": events,
        "meta": { "result_count": page.len() },
    });
    if asked("expansions", "sender_id") {
        let mut users: Vec<Value> = Vec::new();
        for (_, item, _) in &page {
            if users
                .iter()
                .all(|user| user["id"] != item.sender_id.as_str())
            {
                users.push(json!({
                    "id": item.sender_id,
                    "username": item.sender_handle.trim_start_matches('@'),
                    "name": item.sender_name,
                }));
            }
        }
        body["includes"] = json!({ "users": users });
    }
    if more {
        body["meta"]["next_token"] = json!(page.last().map(|(id, ..)| id.to_string()));
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        super::inbox::with_surrogates(&body),
    )
        .into_response()
}

/// `POST /2/dm_conversations/:dm_conversation_id/messages`, to a conversation the account is in.
async fn send_to_conversation(
    State(fake): State<Shared>,
    Path(conversation): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let (items, _) = fake.state.incoming();
    let known = items.iter().any(|(_, item, _)| {
        item.kind == crate::IncomingKind::Message && conversation_of(item) == conversation
    });
    if !known {
        return problem(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "You are not a participant in this conversation.",
        );
    }
    send_message(&fake, &headers, conversation, &body).await
}

/// `POST /2/dm_conversations/with/:participant_id/messages`: the 1:1 conversation.
async fn send_to_participant(
    State(fake): State<Shared>,
    Path(participant): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    send_message(&fake, &headers, one_to_one(&participant), &body).await
}

async fn send_message(
    fake: &Fake,
    headers: &HeaderMap,
    conversation: String,
    body: &Value,
) -> Response {
    let fault = match fake.before_write(headers).await {
        Ok(fault) => fault,
        Err(response) => return response,
    };
    if fake.state.inbox_faults().messages_forbidden {
        return forbidden_scope();
    }
    let Some(text) = body["text"].as_str().filter(|text| !text.is_empty()) else {
        return invalid_request("Message text or attachments are required.");
    };
    let own = super::inbox::FakeIncoming::message(USERNAME, "Herald Test", text);
    let id = fake.state.send_message(
        &conversation,
        text,
        super::inbox::FakeIncoming {
            sender_id: USER_ID.to_owned(),
            ..own
        },
    );
    let created = json!({
        "data": { "dm_conversation_id": conversation, "dm_event_id": id.to_string() }
    });
    fake.after_write(fault, json_answer(StatusCode::CREATED, created))
        .await
}
