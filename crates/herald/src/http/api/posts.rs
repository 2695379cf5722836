//! `/api/v1/posts`: drafts, submission (checked against the policy and the network's length
//! rule), approval and sending back, the list of posts; and `/api/v1/text-length` for the
//! composer's live counts.

// utoipa's expansion of `params(ListQuery)` names the type with a path the lint dislikes.
#![allow(unused_qualifications)]

use crate::domain::ids::{AccountId, PostId, UserId};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::access::Permission;
use crate::domain::accounts::Network;
use crate::domain::post_text::{self, Length};
use crate::domain::posts::PostState;
use crate::http::auth::Caller;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::{ApiError, AppState};
use crate::services::posts::{self, PostView};

/// A new draft.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"account_id": 1, "text": "Fresh cinnamon buns from 8 tomorrow, while they last!"}))]
pub struct NewPost {
    /// The social account it is for.
    pub account_id: AccountId,
    /// The post's text: not blank, and no longer than the account's network allows (see
    /// `POST /api/v1/text-length`); at most 63,206 bytes on any network.
    #[schema(min_length = 1)]
    pub text: String,
}

/// A draft's new text.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"text": "Fresh cinnamon buns from 8 tomorrow, and oat milk is back!"}))]
pub struct EditPost {
    /// Not blank, and no longer than the account's network allows.
    #[schema(min_length = 1)]
    pub text: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"version": 2}))]
pub struct SubmitRequest {
    /// The version of the text being submitted, from the post as last read (`version`).
    /// Required: a post whose text changed since answers 409 and stays a draft.
    pub version: i64,
    /// Owners only: why this post may go out although the policy blocks it. Kept in the
    /// audit log; at most 1,000 characters.
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub override_reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"version": 2}))]
pub struct ApproveRequest {
    /// The version of the text the approver read (`version` of the post). Required: a post
    /// whose text changed since answers 409 and is not approved.
    pub version: i64,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"note": "Please name the bakery on Market Street, not just \"our bakery\"."}))]
pub struct SendBackRequest {
    /// What the author should change; may be empty. The post's history keeps its first 500
    /// characters.
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"on_network": true}))]
pub struct SettleRequest {
    /// Whether the post is on the network.
    pub on_network: bool,
}

/// A post as Herald keeps it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 7, "account_id": 1, "author_id": 3,
    "text": "Fresh cinnamon buns from 8 tomorrow, while they last!",
    "version": 2, "state": "scheduled",
    "length": {"used": 53, "limit": 500, "unit": "characters", "bytes": null},
    "scheduled_at": "2026-12-24T08:00:00Z", "published_at": null, "time_zone": "Europe/London",
    "remote_id": null, "remote_url": null, "problem": null,
    "history": [
        {"at": "2026-12-20T10:12:00Z", "actor_id": 3, "from_state": null, "to_state": "draft", "note": ""},
        {"at": "2026-12-20T10:20:00Z", "actor_id": 3, "from_state": "draft", "to_state": "submitted", "note": ""},
        {"at": "2026-12-20T11:02:00Z", "actor_id": 1, "from_state": "submitted", "to_state": "scheduled", "note": ""}
    ],
    "attempts": []
}))]
pub struct PostResponse {
    pub id: PostId,
    pub account_id: AccountId,
    pub author_id: UserId,
    pub text: String,
    /// The version of the text, raised by every change to the text or images; submit and
    /// approve must name it.
    pub version: i64,
    pub state: PostState,
    pub length: Length,
    /// When it goes (or went) out, RFC 3339 UTC.
    #[schema(format = DateTime)]
    pub scheduled_at: Option<String>,
    /// When the network took it, RFC 3339 UTC.
    #[schema(format = DateTime)]
    pub published_at: Option<String>,
    /// The account's time zone, in which people see these times.
    pub time_zone: String,
    /// The network's id for the published post, and where to see it.
    pub remote_id: Option<String>,
    pub remote_url: Option<String>,
    /// Why it failed or is unconfirmed.
    pub problem: Option<String>,
    pub history: Vec<HistoryEntry>,
    pub attempts: Vec<AttemptEntry>,
}

/// One publishing attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptEntry {
    #[schema(format = DateTime)]
    pub started_at: String,
    #[schema(format = DateTime)]
    pub finished_at: Option<String>,
    /// `published`, `retry`, `failed`, `unconfirmed`, or `interrupted` (Herald stopped during
    /// the attempt and a later one took over); none while under way.
    #[schema(examples("published"))]
    pub outcome: Option<String>,
    pub detail: String,
}

/// One step in a post's life.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    #[schema(format = DateTime)]
    pub at: String,
    pub actor_id: Option<UserId>,
    pub from_state: Option<String>,
    pub to_state: String,
    pub note: String,
}

/// A text to count.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"text": "Our new flat white is here ☕ https://cafe.example/menu"}))]
pub struct LengthRequest {
    pub text: String,
}

/// One network's count of the text.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"network": "x", "fits": true, "used": 50, "limit": 280, "unit": "weighted characters", "bytes": null}))]
pub struct NetworkLength {
    pub network: Network,
    pub fits: bool,
    #[serde(flatten)]
    pub length: Length,
}

impl From<PostView> for PostResponse {
    fn from(view: PostView) -> PostResponse {
        PostResponse {
            id: view.post.id,
            account_id: view.post.account_id,
            author_id: view.post.author_id,
            text: view.post.text,
            version: view.post.version,
            state: view.post.state,
            length: view.length,
            scheduled_at: view.post.scheduled_at.map(|at| at.to_string()),
            published_at: view.post.published_at.map(|at| at.to_string()),
            time_zone: view.time_zone,
            remote_id: view.post.remote_id,
            remote_url: view.post.remote_url,
            problem: view.post.problem,
            attempts: view
                .attempts
                .into_iter()
                .map(|attempt| AttemptEntry {
                    started_at: attempt.started_at.to_string(),
                    finished_at: attempt.finished_at.map(|at| at.to_string()),
                    outcome: attempt.outcome,
                    detail: attempt.detail,
                })
                .collect(),
            history: view
                .history
                .into_iter()
                .map(|event| HistoryEntry {
                    at: event.at.to_string(),
                    actor_id: event.actor_id,
                    from_state: event.from_state,
                    to_state: event.to_state,
                    note: event.note,
                })
                .collect(),
        }
    }
}

/// Which posts to list; every filter is optional.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only this account's posts; an account the caller cannot see is 404.
    #[param(example = 1)]
    pub account_id: Option<AccountId>,
    /// Only posts in this state.
    pub state: Option<PostState>,
    /// Only this member's posts (none for an id no member has).
    #[param(example = 3)]
    pub author_id: Option<UserId>,
    /// Published, due or last changed at or after this RFC 3339 time.
    #[param(format = DateTime, example = "2026-12-01T00:00:00Z")]
    pub from: Option<String>,
    /// Published, due or last changed before this RFC 3339 time; after `from`.
    #[param(format = DateTime, example = "2027-01-01T00:00:00Z")]
    pub to: Option<String>,
    /// The page, from 1 (the default).
    #[param(minimum = 1, example = 1)]
    pub page: Option<i64>,
    /// Posts a page, 1 to 200; 50 by default.
    #[param(minimum = 1, maximum = 200, example = 50)]
    pub per_page: Option<i64>,
}

/// One post in a list.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 7, "account_id": 1, "account_name": "Café Lune", "network": "mastodon", "author_id": 3,
    "text": "Fresh cinnamon buns from 8 tomorrow, while they last!", "version": 2,
    "state": "scheduled", "scheduled_at": "2026-12-24T08:00:00Z", "published_at": null,
    "updated_at": "2026-12-20T11:02:00Z"
}))]
pub struct PostSummary {
    pub id: PostId,
    pub account_id: AccountId,
    pub account_name: String,
    pub network: Network,
    pub author_id: UserId,
    pub text: String,
    pub version: i64,
    pub state: PostState,
    /// RFC 3339 UTC.
    #[schema(format = DateTime)]
    pub scheduled_at: Option<String>,
    #[schema(format = DateTime)]
    pub published_at: Option<String>,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// One page of posts.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostPage {
    pub posts: Vec<PostSummary>,
    /// How many posts match, over all pages.
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// Lists posts
///
/// The posts on the accounts the caller can see, newest activity first (published, due, or last
/// changed), one page at a time, optionally only one account's, one state's, one author's, or
/// those between `from` and `to`.
#[utoipa::path(get, path = "/api/v1/posts", operation_id = "list_posts", tag = "posts", security(("token" = ["accounts:read"]), ("session" = [])), params(ListQuery),
    responses((status = 200, description = "One page, newest first", body = PostPage), (status = 404, description = "No such account", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "A time that is not RFC 3339, `to` not after `from`, or a page size out of range", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<PostPage>, ApiError> {
    caller.require(Permission::ViewAccounts)?;
    let time = |field: &'static str, text: &Option<String>| {
        text.as_deref()
            .map(|text| {
                text.parse::<jiff::Timestamp>()
                    .map_err(|_| ApiError::Invalid {
                        field,
                        message: format!(
                            "{field} must be an RFC 3339 time such as 2026-12-01T00:00:00Z"
                        ),
                    })
            })
            .transpose()
    };
    let filter = posts::ListFilter {
        account_id: query.account_id,
        state: query.state,
        author_id: query.author_id,
        from: time("from", &query.from)?,
        to: time("to", &query.to)?,
    };
    let page = query.page.unwrap_or(1);
    let per_page = query.per_page.unwrap_or(50);
    let list = posts::list(&state.store, &caller.user, &filter, page, per_page).await?;
    Ok(Json(PostPage {
        posts: list
            .posts
            .into_iter()
            .map(|(post, seen)| PostSummary {
                id: post.id,
                account_id: post.account_id,
                account_name: seen.account.display_name,
                network: seen.account.network,
                author_id: post.author_id,
                text: post.text,
                version: post.version,
                state: post.state,
                scheduled_at: post.scheduled_at.map(|at| at.to_string()),
                published_at: post.published_at.map(|at| at.to_string()),
                updated_at: post.updated_at.to_string(),
            })
            .collect(),
        total: list.total,
        page,
        per_page,
    }))
}

/// Writes a draft
///
/// Writes a new draft for one social account. The caller needs contributor access (or more) to
/// the account and must have accepted the current policy; the text must fit the account's network.
#[utoipa::path(post, path = "/api/v1/posts", operation_id = "create_post", tag = "posts", security(("token" = ["posts:write"]), ("session" = [])), request_body = NewPost,
    responses((status = 201, description = "Drafted", body = PostResponse), (status = 403, description = "No contributor access, or the policy not yet accepted", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such account", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "Empty or too long for the network", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<NewPost>,
) -> Result<(StatusCode, Json<PostResponse>), ApiError> {
    caller.require(Permission::WritePosts)?;
    let now = state.clock.now();
    let view = posts::create(
        &state.store,
        &caller.user,
        request.account_id,
        &request.text,
        now,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view.into())))
}

/// Reads a post
///
/// The post, its length as its network counts it, its history and its publishing attempts. Anyone
/// who may see the post's account may read it; a post on an account the caller cannot see is 404.
#[utoipa::path(get, path = "/api/v1/posts/{id}", operation_id = "show_post", tag = "posts", security(("token" = ["accounts:read"]), ("session" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "The post", body = PostResponse), (status = 404, description = "No such post", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<PostId>,
) -> Result<Json<PostResponse>, ApiError> {
    caller.require(Permission::ViewAccounts)?;
    Ok(Json(
        posts::view(&state.store, &caller.user, id).await?.into(),
    ))
}

/// Changes a draft's text
///
/// Replaces the text of a draft; only its author may, and only while it is a draft. The post's
/// `version` goes up, so a submit or approval naming the old version is refused.
#[utoipa::path(patch, path = "/api/v1/posts/{id}", tag = "posts", security(("token" = ["posts:write"]), ("session" = [])), request_body = EditPost, params(("id" = i64, Path)),
    responses((status = 200, description = "Changed", body = PostResponse), (status = 403, description = "Not the author", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such post", body = crate::http::Problem, content_type = "application/problem+json"), (status = 409, description = "No longer a draft", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "Empty or too long", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn edit(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<PostId>,
    ApiJson(request): ApiJson<EditPost>,
) -> Result<Json<PostResponse>, ApiError> {
    caller.require(Permission::WritePosts)?;
    let now = state.clock.now();
    Ok(Json(
        posts::edit(&state.store, &caller.user, id, &request.text, now)
            .await?
            .into(),
    ))
}

/// Submits a draft
///
/// Submits the author's draft at the `version` they read. A "block" finding of the policy stops it,
/// unless an owner overrides with a reason (audited). It then waits for approval when the author is
/// a contributor or the policy asks, and is approved at once otherwise.
#[utoipa::path(post, path = "/api/v1/posts/{id}/submit", tag = "posts", security(("token" = ["posts:write"]), ("session" = [])), request_body = SubmitRequest, params(("id" = i64, Path)),
    responses((status = 200, description = "Submitted (or approved at once)", body = PostResponse), (status = 403, description = "Not the author, policy not accepted, or an override by a non-owner", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such post", body = crate::http::Problem, content_type = "application/problem+json"), (status = 409, description = "Not a draft, or the text changed since the version named: read it again", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "Blocked by the policy, or too long", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<PostId>,
    ApiJson(request): ApiJson<SubmitRequest>,
) -> Result<Json<PostResponse>, ApiError> {
    caller.require(Permission::WritePosts)?;
    let now = state.clock.now();
    let reason = request.override_reason.as_deref();
    let seen = posts::Seen {
        id,
        version: request.version,
    };
    let view = posts::submit(&state, &caller.user, seen, reason, now).await?;
    Ok(Json(view.into()))
}

/// Approves a submitted post
///
/// Approves someone else's submitted post at the `version` the approver read; needs publisher
/// access to the account, and no one approves their own post. A post with a time is scheduled.
#[utoipa::path(post, path = "/api/v1/posts/{id}/approve", tag = "posts", security(("token" = ["posts:write"]), ("session" = [])), request_body = ApproveRequest, params(("id" = i64, Path)),
    responses((status = 200, description = "Approved", body = PostResponse), (status = 403, description = "No publisher access, or one's own post", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such post", body = crate::http::Problem, content_type = "application/problem+json"), (status = 409, description = "Not submitted, or the text changed since the version named: read it again", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "No version named", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<PostId>,
    ApiJson(request): ApiJson<ApproveRequest>,
) -> Result<Json<PostResponse>, ApiError> {
    caller.require(Permission::WritePosts)?;
    let now = state.clock.now();
    let seen = posts::Seen {
        id,
        version: request.version,
    };
    Ok(Json(
        posts::approve(
            &state.store,
            &caller.user,
            seen,
            state.config.jobs.max_attempts,
            now,
        )
        .await?
        .into(),
    ))
}

/// Sends a post back to its author
///
/// Turns a submitted or approved post back into a draft, with a note for the author saying what to
/// change. Needs publisher access to the account.
#[utoipa::path(post, path = "/api/v1/posts/{id}/send-back", tag = "posts", security(("token" = ["posts:write"]), ("session" = [])), request_body = SendBackRequest, params(("id" = i64, Path)),
    responses((status = 200, description = "A draft again", body = PostResponse), (status = 403, description = "No publisher access", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such post", body = crate::http::Problem, content_type = "application/problem+json"), (status = 409, description = "Not submitted or approved", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn send_back(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<PostId>,
    ApiJson(request): ApiJson<SendBackRequest>,
) -> Result<Json<PostResponse>, ApiError> {
    caller.require(Permission::WritePosts)?;
    let now = state.clock.now();
    Ok(Json(
        posts::send_back(&state.store, &caller.user, id, &request.note, now)
            .await?
            .into(),
    ))
}

/// Settles an unconfirmed post
///
/// For a post whose publishing could not be confirmed: says by hand whether it is on the network
/// (it becomes published) or not (it becomes failed and can be rescheduled). Needs publisher
/// access to the account.
#[utoipa::path(post, path = "/api/v1/posts/{id}/settle", tag = "posts", security(("token" = ["posts:write"]), ("session" = [])), request_body = SettleRequest, params(("id" = i64, Path)),
    responses((status = 200, description = "Published or failed", body = PostResponse), (status = 403, description = "No publisher access", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such post", body = crate::http::Problem, content_type = "application/problem+json"), (status = 409, description = "Not unconfirmed", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn settle(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<PostId>,
    ApiJson(request): ApiJson<SettleRequest>,
) -> Result<Json<PostResponse>, ApiError> {
    caller.require(Permission::WritePosts)?;
    let now = state.clock.now();
    let view =
        posts::settle_unconfirmed(&state.store, &caller.user, id, request.on_network, now).await?;
    Ok(Json(view.into()))
}

/// Counts a text for every network
///
/// The text's length as each network counts it, and whether it fits: the composer's live counter.
/// Any signed-in member may ask; nothing is saved.
#[utoipa::path(post, path = "/api/v1/text-length", tag = "posts", security(("token" = ["accounts:read"]), ("session" = [])), request_body = LengthRequest,
    responses((status = 200, description = "One entry per network", body = [NetworkLength])))]
pub async fn text_length(
    caller: Caller,
    ApiJson(request): ApiJson<LengthRequest>,
) -> Result<Json<Vec<NetworkLength>>, ApiError> {
    caller.require(Permission::ViewAccounts)?;
    Ok(Json(
        Network::ALL
            .into_iter()
            .map(|network| {
                let length = post_text::length(network, &request.text, None);
                NetworkLength {
                    network,
                    fits: length.fits(),
                    length,
                }
            })
            .collect(),
    ))
}
