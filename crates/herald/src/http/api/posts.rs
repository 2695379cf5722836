//! `/api/v1/posts`: drafts, submission (checked against the policy and the network's length
//! rule), approval and sending back; and `/api/v1/text-length` for the composer's live counts.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::access::Permission;
use crate::domain::accounts::Network;
use crate::domain::post_text::{self, Length};
use crate::domain::posts::PostState;
use crate::http::auth::Caller;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::{ApiError, AppState};
use crate::posts::{self, PostView};

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewPost {
    pub account_id: i64,
    pub text: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EditPost {
    pub text: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SubmitRequest {
    /// The version of the text being submitted, from the post as last read (`version`).
    /// Required: a post whose text changed since answers 409 and stays a draft.
    pub version: i64,
    /// Owners only: why this post may go out although the policy blocks it. Audited.
    #[serde(default)]
    pub override_reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ApproveRequest {
    /// The version of the text the approver read (`version` of the post). Required: a post
    /// whose text changed since answers 409 and is not approved.
    pub version: i64,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SendBackRequest {
    /// What the author should change.
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SettleRequest {
    /// Whether the post is on the network.
    pub on_network: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostResponse {
    pub id: i64,
    pub account_id: i64,
    pub author_id: i64,
    pub text: String,
    /// The version of the text, raised by every change to the text or images; submit and
    /// approve must name it.
    pub version: i64,
    pub state: PostState,
    pub length: Length,
    /// When it goes (or went) out, RFC 3339 UTC.
    pub scheduled_at: Option<String>,
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
    pub started_at: String,
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
    pub at: String,
    pub actor_id: Option<i64>,
    pub from_state: Option<String>,
    pub to_state: String,
    pub note: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LengthRequest {
    pub text: String,
}

#[derive(Debug, Serialize, ToSchema)]
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

/// Writes a draft for one account (contributor access and the current policy accepted).
#[utoipa::path(post, path = "/api/v1/posts", tag = "posts", security(("token" = ["posts:write"]), ("session" = [])), request_body = NewPost,
    responses((status = 201, description = "Drafted", body = PostResponse), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 403, description = "No contributor access, or the policy not yet accepted", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such account", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "Empty or too long for the network", body = crate::http::Problem, content_type = "application/problem+json")))]
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

/// A post, its length for its network, and its history.
#[utoipa::path(get, path = "/api/v1/posts/{id}", tag = "posts", security(("token" = ["accounts:read"]), ("session" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "The post", body = PostResponse), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such post", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<PostResponse>, ApiError> {
    caller.require(Permission::ViewAccounts)?;
    Ok(Json(
        posts::view(&state.store, &caller.user, id).await?.into(),
    ))
}

/// Changes a draft's text (its author).
#[utoipa::path(patch, path = "/api/v1/posts/{id}", tag = "posts", security(("token" = ["posts:write"]), ("session" = [])), request_body = EditPost, params(("id" = i64, Path)),
    responses((status = 200, description = "Changed", body = PostResponse), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 403, description = "Not the author", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such post", body = crate::http::Problem, content_type = "application/problem+json"), (status = 409, description = "No longer a draft", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "Empty or too long", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn edit(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
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

/// Submits a draft: blocked by a "block" finding (unless an owner overrides with a reason),
/// sent for approval when the author is a contributor or the policy asks, approved otherwise.
#[utoipa::path(post, path = "/api/v1/posts/{id}/submit", tag = "posts", security(("token" = ["posts:write"]), ("session" = [])), request_body = SubmitRequest, params(("id" = i64, Path)),
    responses((status = 200, description = "Submitted (or approved at once)", body = PostResponse), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 403, description = "Not the author, policy not accepted, or an override by a non-owner", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such post", body = crate::http::Problem, content_type = "application/problem+json"), (status = 409, description = "Not a draft, or the text changed since the version named: read it again", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "Blocked by the policy, or too long", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<SubmitRequest>,
) -> Result<Json<PostResponse>, ApiError> {
    caller.require(Permission::WritePosts)?;
    let now = state.clock.now();
    let reason = request.override_reason.as_deref();
    let max_attempts = state.config.jobs.max_attempts;
    let seen = posts::Seen {
        id,
        version: request.version,
    };
    let view = posts::submit(
        &state.store,
        &state.policy,
        &caller.user,
        seen,
        reason,
        max_attempts,
        now,
    )
    .await?;
    Ok(Json(view.into()))
}

/// Approves someone else's submitted post (publisher access; never one's own), at the version
/// of its text the approver read.
#[utoipa::path(post, path = "/api/v1/posts/{id}/approve", tag = "posts", security(("token" = ["posts:write"]), ("session" = [])), request_body = ApproveRequest, params(("id" = i64, Path)),
    responses((status = 200, description = "Approved", body = PostResponse), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 403, description = "No publisher access, or one's own post", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such post", body = crate::http::Problem, content_type = "application/problem+json"), (status = 409, description = "Not submitted, or the text changed since the version named: read it again", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "No version named", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
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

/// Sends a submitted or approved post back to its author as a draft.
#[utoipa::path(post, path = "/api/v1/posts/{id}/send-back", tag = "posts", security(("token" = ["posts:write"]), ("session" = [])), request_body = SendBackRequest, params(("id" = i64, Path)),
    responses((status = 200, description = "A draft again", body = PostResponse), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 403, description = "No publisher access", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such post", body = crate::http::Problem, content_type = "application/problem+json"), (status = 409, description = "Not submitted or approved", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn send_back(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
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

/// Settles an unconfirmed post by hand: it is on the network (published), or it is not
/// (failed; it can be rescheduled). Publisher access.
#[utoipa::path(post, path = "/api/v1/posts/{id}/settle", tag = "posts", security(("token" = ["posts:write"]), ("session" = [])), request_body = SettleRequest, params(("id" = i64, Path)),
    responses((status = 200, description = "Published or failed", body = PostResponse), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 403, description = "No publisher access", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such post", body = crate::http::Problem, content_type = "application/problem+json"), (status = 409, description = "Not unconfirmed", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn settle(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<SettleRequest>,
) -> Result<Json<PostResponse>, ApiError> {
    caller.require(Permission::WritePosts)?;
    let now = state.clock.now();
    let view =
        posts::settle_unconfirmed(&state.store, &caller.user, id, request.on_network, now).await?;
    Ok(Json(view.into()))
}

/// The text's length as every network counts it, and whether it fits: the composer's counter.
#[utoipa::path(post, path = "/api/v1/text-length", tag = "posts", security(("token" = ["accounts:read"]), ("session" = [])), request_body = LengthRequest,
    responses((status = 200, description = "One entry per network", body = [NetworkLength]), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json")))]
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
