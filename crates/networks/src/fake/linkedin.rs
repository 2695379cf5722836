//! A fake LinkedIn: OAuth (the `/oauth/v2/authorization` page, approved at once;
//! `/oauth/v2/accessToken` with the client secret, redeeming its codes only with their
//! redirect URI; refresh, revoke), `/v2/userinfo`, organizations, the Images API and the
//! versioned Posts API (create with one image as `content.media` or two to twenty as
//! `content.multiImage.images`, answering with `x-restli-id`; find by author; delete) — with
//! LinkedIn's `{"status", "serviceErrorCode", "code", "message"}` bodies and 429 on
//! throttling. Like LinkedIn, it cuts a post's text at the first reserved character left
//! unescaped, and it has no idempotency key.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde_json::{Value, json};

use super::authorize::Authorizations;
use super::{FakePost, FakeServer, FakeState, Fault, FaultWords};

/// The member every token of the fake acts as, and the organization it administers.
pub const MEMBER_ID: &str = "782bbtaQ";
pub const MEMBER_URN: &str = "urn:li:person:782bbtaQ";
pub const ORGANIZATION_URN: &str = "urn:li:organization:2414183";
pub const CLIENT_ID: &str = "fake-client-id";
pub const CLIENT_SECRET: &str = "fake-client-secret";

/// The fewest and most images a multi-image post holds.
const MULTI_IMAGE: std::ops::RangeInclusive<usize> = 2..=20;

/// The characters the little text format reserves.
const RESERVED: &[char] = &[
    '\\', '|', '{', '}', '@', '[', ']', '(', ')', '<', '>', '#', '*', '_', '~',
];

struct Fake {
    state: Arc<FakeState>,
    revoked: AtomicBool,
    refresh: Mutex<String>,
    refreshes: AtomicU64,
    /// Images registered with `initializeUpload`, by URN: the bytes' media type once uploaded.
    images: Mutex<HashMap<String, Option<String>>>,
    /// LinkedIn binds codes to the client secret, not PKCE.
    authorizations: Arc<Authorizations>,
}

type Shared = Arc<Fake>;

pub fn router(state: Arc<FakeState>) -> Router {
    let fake = Arc::new(Fake {
        state,
        revoked: AtomicBool::new(false),
        refresh: Mutex::new("li-refresh-0".to_owned()),
        refreshes: AtomicU64::new(0),
        images: Mutex::new(HashMap::new()),
        authorizations: Arc::new(Authorizations::without_pkce()),
    });
    Router::new()
        .route(
            "/oauth/v2/authorization",
            fake.authorizations.page(CLIENT_ID),
        )
        .route("/oauth/v2/accessToken", post(access_token))
        .route("/oauth/v2/revoke", post(revoke))
        .route("/v2/userinfo", get(userinfo))
        .route("/rest/organizations/{id}", get(organization))
        .route("/rest/posts", post(create_post).get(find_posts))
        .route("/rest/posts/{urn}", get(read_post).delete(delete_post))
        .route(
            "/rest/organizationalEntityNotifications",
            get(notifications),
        )
        .route(
            "/rest/socialActions/{urn}/comments",
            get(comments).post(create_comment),
        )
        .route("/rest/images", post(initialize_upload))
        .route("/dms-uploads/{id}", axum::routing::put(upload_image))
        .with_state(fake)
}

pub async fn start(state: Arc<FakeState>) -> std::io::Result<FakeServer> {
    FakeServer::start(router(state.clone()), state).await
}

async fn access_token(
    State(fake): State<Shared>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    if field("client_id") != CLIENT_ID || field("client_secret") != CLIENT_SECRET {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        );
    }
    let redeemed = || {
        fake.authorizations
            .redeem_without_verifier(field("code"), field("redirect_uri"))
    };
    match field("grant_type") {
        "authorization_code"
            if !field("code").is_empty()
                && field("code") != "bad-code"
                && redeemed() != Some(false) => {}
        "authorization_code" => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Unable to retrieve access token: appid/redirect uri/code verifier does not \
                 match authorization code. Or authorization code expired.",
            );
        }
        "refresh_token" if field("refresh_token") == super::lock(&fake.refresh).as_str() => {}
        "refresh_token" => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The provided refresh token is invalid",
            );
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Unsupported grant type",
            );
        }
    }
    fake.state.granted(field("grant_type"));
    let next = fake.refreshes.fetch_add(1, Ordering::Relaxed) + 1;
    let refresh = format!("li-refresh-{next}");
    *super::lock(&fake.refresh) = refresh.clone();
    json_answer(
        StatusCode::OK,
        json!({
            "access_token": fake.state.token,
            "expires_in": 5_184_000,
            "refresh_token": refresh,
            "refresh_token_expires_in": 31_536_000,
            "scope": "openid,profile,w_member_social",
        }),
    )
}

async fn revoke(State(fake): State<Shared>, Form(form): Form<HashMap<String, String>>) -> Response {
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    if field("client_id") != CLIENT_ID || field("client_secret") != CLIENT_SECRET {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        );
    }
    if field("token") == fake.state.token {
        fake.revoked.store(true, Ordering::Relaxed);
    }
    StatusCode::OK.into_response()
}

async fn userinfo(State(fake): State<Shared>, headers: HeaderMap) -> Response {
    if !fake.authorized(&headers) {
        return unauthorized();
    }
    json_answer(
        StatusCode::OK,
        json!({
            "sub": MEMBER_ID,
            "name": "Herald Test",
            "given_name": "Herald",
            "family_name": "Test",
            "locale": { "country": "GB", "language": "en" },
        }),
    )
}

async fn organization(
    State(fake): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !fake.authorized(&headers) {
        return unauthorized();
    }
    if let Some(refusal) = unversioned(&headers) {
        return refusal;
    }
    if format!("urn:li:organization:{id}") != ORGANIZATION_URN {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "Organization not found");
    }
    let profile = |field: &str, default: &str| json!(fake.state.profile_field(field, default));
    json_answer(
        StatusCode::OK,
        json!({ "id": 2414183,
                "localizedName": profile("localizedName", "Herald Bakery"),
                "vanityName": profile("vanityName", "herald-bakery"),
                "localizedDescription": profile("localizedDescription", "Bread and buns, baked daily."),
                "localizedWebsite": profile("localizedWebsite", "https://bakery.example"),
                "logoV2": { "original": profile("logo", "urn:li:digitalmediaAsset:C4D0BAQbakery") } }),
    )
}

async fn create_post(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(refusal) = unversioned(&headers) {
        return refusal;
    }
    let fault = match fake.before_write(&headers).await {
        Ok(fault) => fault,
        Err(response) => return response,
    };
    let author = body["author"].as_str().unwrap_or_default().to_owned();
    if author != MEMBER_URN && author != ORGANIZATION_URN {
        return error(
            StatusCode::FORBIDDEN,
            "ACCESS_DENIED",
            &format!("Not enough permissions to create a post as author {author}"),
        );
    }
    let commentary = body["commentary"].as_str().unwrap_or_default().to_owned();
    let media = match fake.content_images(&body["content"]) {
        Ok(media) => media,
        Err(reason) => return error(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_CONTENT", &reason),
    };
    let count = fake.state.next_id();
    let (post, _) = fake.state.record(FakePost {
        id: format!("urn:li:share:{count}"),
        text: shown(&commentary),
        key: None,
        media,
        extra: json!({
            "author": author,
            "commentary": commentary,
            "visibility": body["visibility"],
            "content": body["content"],
            "linkedin_version": header_text(&headers, "linkedin-version"),
        }),
    });
    let mut created = StatusCode::CREATED.into_response();
    if let Ok(id) = HeaderValue::from_str(&post.id) {
        created.headers_mut().insert("x-restli-id", id);
    }
    fake.after_write(fault, created).await
}

/// `POST /rest/images?action=initializeUpload`: registers an image and answers where to PUT it.
async fn initialize_upload(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(refusal) = unversioned(&headers) {
        return refusal;
    }
    if !fake.authorized(&headers) {
        return unauthorized();
    }
    let owner = body["initializeUploadRequest"]["owner"]
        .as_str()
        .unwrap_or_default();
    if query.get("action").map(String::as_str) != Some("initializeUpload")
        || (owner != MEMBER_URN && owner != ORGANIZATION_URN)
    {
        return error(
            StatusCode::BAD_REQUEST,
            "ILLEGAL_ARGUMENT",
            "initializeUploadRequest needs an owner the token may act for",
        );
    }
    let id = fake.state.next_id();
    let urn = format!("urn:li:image:C4E10AQ{id}");
    fake.images
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(urn.clone(), None);
    let host = header_text(&headers, "host").unwrap_or_default();
    json_answer(
        StatusCode::OK,
        json!({ "value": {
            "uploadUrlExpiresAt": 1_900_000_000_000_i64,
            "uploadUrl": format!("http://{host}/dms-uploads/{id}"),
            "image": urn,
        }}),
    )
}

/// `PUT` of an image's bytes to the address `initializeUpload` gave.
async fn upload_image(
    State(fake): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !fake.authorized(&headers) {
        return unauthorized();
    }
    let urn = format!("urn:li:image:C4E10AQ{id}");
    let mut images = fake
        .images
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(slot) = images.get_mut(&urn) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if body.is_empty() {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let mime = header_text(&headers, "content-type")
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    *slot = Some(mime);
    StatusCode::CREATED.into_response()
}

async fn find_posts(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !fake.authorized(&headers) {
        return unauthorized();
    }
    if let Some(refusal) = unversioned(&headers) {
        return refusal;
    }
    let (Some("author"), Some(author)) = (query.get("q").map(String::as_str), query.get("author"))
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "ILLEGAL_ARGUMENT",
            "Invalid query parameters passed to request",
        );
    };
    let count = query
        .get("count")
        .and_then(|count| count.parse::<usize>().ok())
        .unwrap_or(10);
    let elements: Vec<Value> = fake
        .state
        .posts()
        .iter()
        .rev()
        .filter(|post| post.extra["author"].as_str() == Some(author.as_str()))
        .take(count)
        .map(|post| {
            json!({
                "id": post.id,
                "author": post.extra["author"],
                "commentary": post.extra["commentary"],
                "visibility": post.extra["visibility"],
                "lifecycleState": "PUBLISHED",
                "distribution": { "feedDistribution": "MAIN_FEED" },
            })
        })
        .collect();
    let total = elements.len();
    json_answer(
        StatusCode::OK,
        json!({ "elements": elements, "paging": { "start": 0, "count": count, "total": total, "links": [] } }),
    )
}

async fn delete_post(
    State(fake): State<Shared>,
    Path(urn): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(refusal) = unversioned(&headers) {
        return refusal;
    }
    let fault = match fake.before_write(&headers).await {
        Ok(fault) => fault,
        Err(response) => return response,
    };
    if !fake.state.remove(&urn) {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "Post not found");
    }
    fake.after_write(fault, StatusCode::NO_CONTENT.into_response())
        .await
}

impl Fake {
    /// The alt text and media type of each image a post's `content` names (`media`, or
    /// `multiImage.images` of two to twenty), each of which must have been uploaded. Else
    /// why the content is invalid.
    fn content_images(&self, content: &Value) -> Result<Vec<(String, String)>, String> {
        let named: Vec<&Value> = match (&content["media"], &content["multiImage"]["images"]) {
            (Value::Null, Value::Null) => Vec::new(),
            (single, Value::Null) => vec![single],
            (Value::Null, Value::Array(images)) if MULTI_IMAGE.contains(&images.len()) => {
                images.iter().collect()
            }
            (Value::Null, _) => {
                return Err(
                    "/content/multiImage/images must hold between 2 and 20 images".to_owned(),
                );
            }
            _ => return Err("A post's content is one of media or multiImage, not both".to_owned()),
        };
        let images = super::lock(&self.images);
        named
            .into_iter()
            .map(|image| {
                let urn = image["id"].as_str().unwrap_or_default();
                let Some(Some(mime)) = images.get(urn) else {
                    return Err(format!("Image {urn} has not been uploaded"));
                };
                let alt = image["altText"].as_str().unwrap_or_default();
                Ok((alt.to_owned(), mime.clone()))
            })
            .collect()
    }

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

    /// The faults that strike after the write was made. Garbage (or JSON of the wrong shape)
    /// is a success without the `x-restli-id` header.
    async fn after_write(&self, fault: Fault, answer: Response) -> Response {
        self.state.after_write(fault, &Words, answer).await
    }
}

/// LinkedIn's words for the injected faults: its error body, and a 429 with no reset header
/// (LinkedIn documents none for its daily quotas).
struct Words;

impl FaultWords for Words {
    fn unavailable(&self) -> Response {
        unavailable()
    }

    fn rate_limited(&self) -> Response {
        error(
            StatusCode::TOO_MANY_REQUESTS,
            "TOO_MANY_REQUESTS",
            "Resource level throttle APPLICATION DAY limit for calls to this resource is \
             reached.",
        )
    }

    fn revoked(&self) -> Response {
        unauthorized()
    }

    fn garbage(&self) -> &'static str {
        "<html><body>Request timed out</body></html>"
    }
}

/// The refusal of a request without `LinkedIn-Version` (an active YYYYMM) and the Rest.li
/// 2.0.0 header, as versioned APIs refuse it.
fn unversioned(headers: &HeaderMap) -> Option<Response> {
    let Some(version) = header_text(headers, "linkedin-version") else {
        return Some(error(
            StatusCode::BAD_REQUEST,
            "VERSION_MISSING",
            "A version must be present. Please specify a version by adding the \
             LinkedIn-Version header.",
        ));
    };
    if version.len() != 6 || !version.bytes().all(|byte| byte.is_ascii_digit()) {
        return Some(error(
            StatusCode::UPGRADE_REQUIRED,
            "NONEXISTENT_VERSION",
            &format!("Requested version {version} is not active"),
        ));
    }
    if header_text(headers, "x-restli-protocol-version").as_deref() != Some("2.0.0") {
        return Some(error(
            StatusCode::BAD_REQUEST,
            "ILLEGAL_ARGUMENT",
            "X-Restli-Protocol-Version 2.0.0 is required",
        ));
    }
    None
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// The text people see for a little-format commentary: escapes undone, and — as LinkedIn
/// does — everything from the first unescaped reserved character (bar a hashtag's `#`) cut.
fn shown(commentary: &str) -> String {
    let mut text = String::with_capacity(commentary.len());
    let mut chars = commentary.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(next) => text.push(next),
                None => break,
            },
            '#' => text.push(c),
            c if RESERVED.contains(&c) => break,
            c => text.push(c),
        }
    }
    text
}

fn json_answer(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

/// LinkedIn's error body.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let service_code = match status {
        StatusCode::UNAUTHORIZED => 65600,
        StatusCode::TOO_MANY_REQUESTS => 101,
        StatusCode::FORBIDDEN => 100,
        _ => 0,
    };
    json_answer(
        status,
        json!({
            "status": status.as_u16(),
            "serviceErrorCode": service_code,
            "code": code,
            "message": message,
        }),
    )
}

fn oauth_error(status: StatusCode, code: &str, description: &str) -> Response {
    json_answer(
        status,
        json!({ "error": code, "error_description": description }),
    )
}

fn unauthorized() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "INVALID_ACCESS_TOKEN",
        "Invalid access token",
    )
}

fn unavailable() -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "SERVICE_UNAVAILABLE",
        "Service Unavailable",
    )
}

// The inbox: posts that mention the organization (notifications) and comments on its posts,
// over what tests sent with `FakeState::receive` (a comment names its post with
// `FakeIncoming::on`; a mention is a post of the sender's, `urn:li:share:<item id>`).

/// `GET /rest/organizationalEntityNotifications?q=criteria&actions=List(SHARE_MENTION)`:
/// the organization's mentions, newest first, `start` and `count` (10 by default).
async fn notifications(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refusal) = fake.inbox_refusal(&headers) {
        return refusal;
    }
    let field = |name: &str| query.get(name).map(String::as_str).unwrap_or_default();
    if field("q") != "criteria"
        || field("organizationalEntity") != ORGANIZATION_URN
        || !field("actions").starts_with("List(")
    {
        return error(
            StatusCode::BAD_REQUEST,
            "ILLEGAL_ARGUMENT",
            "Invalid query parameters passed to request",
        );
    }
    let wants_mentions = field("actions").contains("SHARE_MENTION");
    // A notification stays when its post is deleted; reading the post then answers 404.
    fake.inbox_page(
        &query,
        true,
        |item| wants_mentions && item.kind == crate::IncomingKind::Mention && item.on.is_none(),
        |id, item, at| {
            json!({
                "action": "SHARE_MENTION",
                "organizationalEntity": ORGANIZATION_URN,
                "sourcePost": mention_urn(id),
                "actor": actor(item),
                "lastModifiedAt": at.as_millisecond(),
            })
        },
    )
}

/// `GET /rest/socialActions/{post}/comments`: the comments on one of the organization's posts,
/// newest first, `start` and `count`; 404 for a post that is not there.
async fn comments(
    State(fake): State<Shared>,
    Path(urn): Path<String>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refusal) = fake.inbox_refusal(&headers) {
        return refusal;
    }
    if fake.state.post(&urn).is_none() {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "Post not found");
    }
    let activity = urn.rsplit(':').next().unwrap_or_default().to_owned();
    fake.inbox_page(
        &query,
        false,
        |item| item.on.as_deref() == Some(urn.as_str()),
        |id, item, at| {
            let comment = format!("urn:li:comment:(urn:li:activity:{activity},{id})");
            json!({
                "id": id.to_string(),
                "$URN": comment,
                "commentUrn": comment,
                "actor": actor(item),
                "object": format!("urn:li:activity:{activity}"),
                "message": { "text": item.text, "attributes": [] },
                "created": { "actor": actor(item), "time": at.as_millisecond() },
                "lastModified": { "actor": actor(item), "time": at.as_millisecond() },
            })
        },
    )
}

/// `POST /rest/socialActions/{urn}/comments`: a comment as the organization, on a post or
/// (with `parentComment`) under a comment; 201 with the comment and its URN in `x-restli-id`.
async fn create_comment(
    State(fake): State<Shared>,
    Path(target): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(refusal) = unversioned(&headers) {
        return refusal;
    }
    let fault = match fake.before_write(&headers).await {
        Ok(fault) => fault,
        Err(response) => return response,
    };
    let actor = body["actor"].as_str().unwrap_or_default().to_owned();
    if actor != ORGANIZATION_URN && actor != MEMBER_URN {
        return error(
            StatusCode::FORBIDDEN,
            "ACCESS_DENIED",
            &format!("Not enough permissions to comment as {actor}"),
        );
    }
    let text = body["message"]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let object = body["object"].as_str().unwrap_or_default().to_owned();
    let parent = body["parentComment"].as_str().map(str::to_owned);
    let answers_comment = target.starts_with("urn:li:comment:");
    if text.is_empty()
        || object.is_empty()
        || answers_comment != (parent.as_deref() == Some(target.as_str()))
    {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "UNPROCESSABLE_ENTITY",
            "A comment needs message.text and object, and parentComment exactly when it answers a comment",
        );
    }
    let id = fake.state.next_id();
    let urn = format!(
        "urn:li:comment:(urn:li:activity:{},{id})",
        object.rsplit(':').next().unwrap_or_default()
    );
    let (post, _) = fake.state.record(FakePost {
        id: urn.clone(),
        text: text.clone(),
        key: None,
        media: Vec::new(),
        extra: json!({ "comment_on": target, "object": object, "parentComment": parent, "actor": actor }),
    });
    let mut created = json_answer(
        StatusCode::CREATED,
        json!({ "id": id, "commentUrn": post.id, "$URN": post.id, "actor": actor,
                "object": object, "message": { "text": text } }),
    );
    if let Ok(value) = HeaderValue::from_str(&post.id) {
        created.headers_mut().insert("x-restli-id", value);
    }
    fake.after_write(fault, created).await
}

/// `GET /rest/posts/{urn}`: one of the organization's posts, or the post of a mention.
async fn read_post(
    State(fake): State<Shared>,
    Path(urn): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !fake.authorized(&headers) {
        return unauthorized();
    }
    if let Some(refusal) = unversioned(&headers) {
        return refusal;
    }
    if let Some(post) = fake.state.post(&urn) {
        return json_answer(
            StatusCode::OK,
            json!({ "id": post.id, "author": post.extra["author"], "commentary": post.extra["commentary"],
                    "lifecycleState": "PUBLISHED" }),
        );
    }
    let (items, _) = fake.state.incoming();
    let mention = items
        .iter()
        .find(|(id, item, _)| mention_urn(*id) == urn && !item.deleted);
    match mention {
        Some((_, item, at)) => {
            // The surrogate marker would be escaped as little text; it goes in after.
            let text = item.text.replace(super::inbox::LONE_SURROGATE, "\u{e000}");
            let body = json!({ "id": urn, "author": actor(item), "commentary": escape(&text),
                    "visibility": "PUBLIC", "lifecycleState": "PUBLISHED",
                    "createdAt": at.as_millisecond() });
            (
                StatusCode::OK,
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                body.to_string().replace('\u{e000}', "\\ud83d"),
            )
                .into_response()
        }
        None => error(StatusCode::NOT_FOUND, "NOT_FOUND", "Post not found"),
    }
}

impl Fake {
    /// The checks every inbox read passes first: the token, the version headers, and a rate
    /// limit the faults ask for (429, dated, as LinkedIn's daily quota answers).
    fn inbox_refusal(&self, headers: &HeaderMap) -> Option<Response> {
        if !self.authorized(headers) {
            return Some(unauthorized());
        }
        if let Some(refusal) = unversioned(headers) {
            return Some(refusal);
        }
        if self.state.inbox_read_limited() {
            let mut limited = Words.rate_limited();
            if let Ok(date) = HeaderValue::from_str(&http_date_now()) {
                limited.headers_mut().insert("date", date);
            }
            return Some(limited);
        }
        None
    }

    /// One page, newest first, of the items `wanted` picks (deleted ones too when
    /// `with_deleted`), each shown by `shown`: `start`
    /// and `count` (10 by default); a `start` past 0 refused when the faults say so, and
    /// ignored (the first page again) when the fake is stuck.
    fn inbox_page(
        &self,
        query: &HashMap<String, String>,
        with_deleted: bool,
        wanted: impl Fn(&super::inbox::FakeIncoming) -> bool,
        shown: impl Fn(u64, &super::inbox::FakeIncoming, &jiff::Timestamp) -> Value,
    ) -> Response {
        let number = |name: &str| {
            query
                .get(name)
                .and_then(|value| value.parse::<usize>().ok())
        };
        let count = number("count").unwrap_or(10).clamp(1, 100);
        let (items, faults) = self.state.incoming();
        let start = number("start").unwrap_or(0);
        if start > 0 && faults.reject_cursors {
            return error(
                StatusCode::BAD_REQUEST,
                "ILLEGAL_ARGUMENT",
                "Invalid paging parameter start",
            );
        }
        let start = if faults.same_page { 0 } else { start };
        let matching: Vec<_> = items
            .into_iter()
            .filter(|(_, item, _)| (with_deleted || !item.deleted) && wanted(item))
            .collect();
        let total = matching.len();
        let elements: Vec<Value> = matching
            .iter()
            .skip(start)
            .take(count)
            .map(|(id, item, at)| shown(*id, item, at))
            .collect();
        (
            StatusCode::OK,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            super::inbox::with_surrogates(&json!({
                "elements": elements,
                "paging": { "start": start, "count": count, "total": total, "links": [] },
            })),
        )
            .into_response()
    }
}

/// The URN of the post a mention item is.
fn mention_urn(id: u64) -> String {
    format!("urn:li:share:{id}")
}

/// The member a test's item comes from, as LinkedIn names them: a URN.
fn actor(item: &super::inbox::FakeIncoming) -> String {
    if item.sender_id.starts_with("urn:li:") {
        item.sender_id.clone()
    } else {
        format!("urn:li:person:{}", item.sender_id)
    }
}

/// Text in the little text format: reserved characters escaped.
fn escape(text: &str) -> String {
    crate::linkedin::escape(text)
}

/// The time now as an HTTP date (`Date`), by the fake's own clock.
#[allow(
    clippy::disallowed_methods,
    reason = "the fake stands in for a network, whose `Date` header runs on its own clock"
)]
fn http_date_now() -> String {
    jiff::Timestamp::now()
        .strftime("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}
