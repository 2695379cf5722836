//! `/api/v1/accounts/{id}/lockdown`, `/api/v1/lockdown`, `/api/v1/incidents…`: the day an
//! account is hacked (issue 20). Handlers are thin: `services::lockdown` and
//! `services::incidents` do the work.

use crate::domain::ids::{AccountId, PostId, UserId};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::access::Permission;
use crate::http::auth::Caller;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::{ApiError, AppState, Problem};
use crate::services::{attacker_posts, incidents, lockdown};
use crate::store::IncidentRecord;

/// What a lockdown should also do.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"end_sessions_of": [4], "drill": false}))]
pub struct LockdownRequest {
    /// Members whose sessions end now (a member whose device may be the way in).
    #[serde(default)]
    pub end_sessions_of: Vec<UserId>,
    /// Practise: every step is recorded, marked as a drill, and nothing real changes.
    #[serde(default)]
    pub drill: bool,
}

/// "I think this account is hacked".
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"what": "A post about free crypto appeared that none of us wrote"}))]
pub struct ReportRequest {
    /// What made the member think so: 1 to 5000 characters, not only spaces.
    #[schema(
        min_length = 1,
        max_length = 5000,
        pattern = r"^[^\x00]*[^\x00\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00]*$"
    )]
    pub what: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"text": "X support ticket 12345 opened"}))]
pub struct NoteRequest {
    /// 1 to 5000 characters, not only spaces.
    #[schema(
        min_length = 1,
        max_length = 5000,
        pattern = r"^[^\x00]*[^\x00\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00]*$"
    )]
    pub text: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"lessons": "The password was reused; now every account has its own."}))]
pub struct CloseRequest {
    /// What the team learnt, for the report: at most 5000 characters.
    #[serde(default)]
    #[schema(max_length = 5000)]
    pub lessons: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "holding", "account_ids": [2, 3]}))]
pub struct StatementRequest {
    pub kind: TemplateKind,
    /// The company's other accounts to draft the statement on.
    pub account_ids: Vec<AccountId>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TemplateKind {
    Holding,
    AllClear,
}

impl TemplateKind {
    fn as_str(self) -> &'static str {
        match self {
            TemplateKind::Holding => "holding",
            TemplateKind::AllClear => "all_clear",
        }
    }
}

/// A step of the recovery checklist (every network has the same seven).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecoveryStepKey {
    RegainAccess,
    ChangePassword,
    #[serde(rename = "reenrol_2fa")]
    #[schema(rename = "reenrol_2fa")]
    Reenrol2fa,
    RemoveSessionsApps,
    CheckRecoveryContacts,
    DeleteAttackerPosts,
    ReconnectHerald,
}

impl RecoveryStepKey {
    fn as_str(self) -> &'static str {
        match self {
            RecoveryStepKey::RegainAccess => "regain_access",
            RecoveryStepKey::ChangePassword => "change_password",
            RecoveryStepKey::Reenrol2fa => "reenrol_2fa",
            RecoveryStepKey::RemoveSessionsApps => "remove_sessions_apps",
            RecoveryStepKey::CheckRecoveryContacts => "check_recovery_contacts",
            RecoveryStepKey::DeleteAttackerPosts => "delete_attacker_posts",
            RecoveryStepKey::ReconnectHerald => "reconnect_herald",
        }
    }
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"text": "Our {account} account on {network} was compromised; ignore messages from it."}))]
pub struct TemplateBody {
    /// `{account}` and `{network}` are filled in. 1 to 5000 characters, not only spaces.
    #[schema(
        min_length = 1,
        max_length = 5000,
        pattern = r"^[^\x00]*[^\x00\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00]*$"
    )]
    pub text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Drafts {
    /// The drafts made, one per account named.
    pub posts: Vec<PostId>,
}

/// An incident in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentSummary {
    pub id: i64,
    pub account_id: AccountId,
    pub account_name: String,
    /// `detection`, `member` or `lockdown`.
    pub opened_by: String,
    /// `open`, `locked_down` or `closed`.
    pub status: String,
    pub drill: bool,
    pub summary: String,
    #[schema(format = DateTime)]
    pub opened_at: String,
    #[schema(format = DateTime)]
    pub locked_at: Option<String>,
    #[schema(format = DateTime)]
    pub recovered_at: Option<String>,
    #[schema(format = DateTime)]
    pub closed_at: Option<String>,
    pub owner_id: Option<UserId>,
}

/// A lockdown or recovery step.
#[derive(Debug, Serialize, ToSchema)]
pub struct StepView {
    pub step: String,
    /// `lockdown` or `recovery`.
    pub phase: String,
    /// `pending`, `done`, `failed` or `not_possible`.
    pub outcome: String,
    pub detail: String,
    pub by_user: Option<UserId>,
    #[schema(format = DateTime)]
    pub at: String,
}

/// A line of the timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    #[schema(format = DateTime)]
    pub at: String,
    /// `evidence`, `lockdown`, `recovery`, `note`, `status`, or `audit` (an audit entry about
    /// the account made while the incident was open, in words).
    pub kind: String,
    pub actor_id: Option<UserId>,
    /// The step, or for an `audit` line the audit action (`account.credential_stored`, …).
    pub step: Option<String>,
    pub outcome: Option<String>,
    pub text: String,
}

/// An item of the network's recovery checklist.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChecklistItem {
    pub step: String,
    pub label: String,
    pub how: String,
    /// The network's own page for it.
    pub link: Option<String>,
    /// Herald checks it before it can be ticked.
    pub verified_by_herald: bool,
}

/// An incident with its steps, timeline and checklist.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentDetail {
    #[serde(flatten)]
    pub incident: IncidentSummary,
    pub steps: Vec<StepView>,
    pub timeline: Vec<EventView>,
    pub checklist: Vec<ChecklistItem>,
    pub lessons: Option<String>,
}

/// Locks an account down
///
/// Pauses the account's queue (scheduled posts are taken off the schedule, nothing is sent),
/// sends its posts waiting for approval back, revokes Herald's tokens at the network where its
/// API allows and drops them from the vault, marks its credentials "rotate now" (reason
/// incident), ends the sessions of the members named and tells everyone with access. Every
/// step's outcome is in the answer (`done`, `failed` with why, `not_possible` on this
/// network). Idempotent: a second call while the incident is open answers the same incident.
/// The gatekeeper or an owner.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/lockdown", tag = "incidents", operation_id = "lock_down_account", security(("token" = ["accounts:write"]), ("session" = [])), request_body = LockdownRequest, params(("id" = i64, Path)),
    responses((status = 200, description = "The account's incident, locked down", body = IncidentDetail), (status = 403, description = "Not the gatekeeper or an owner", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json"), (status = 422, description = "A member named does not exist, or is the caller (end your own sessions on Your account)", body = Problem, content_type = "application/problem+json")))]
pub async fn lock_down(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<AccountId>,
    ApiJson(request): ApiJson<LockdownRequest>,
) -> Result<Json<IncidentDetail>, ApiError> {
    caller.require(Permission::ManageAccountAccess)?;
    let request = lockdown::Request {
        end_sessions_of: request.end_sessions_of,
        drill: request.drill,
    };
    let view = lockdown::lock_down(&state.services, &caller.user, id, &request).await?;
    Ok(Json(detail(view)))
}

/// Locks down every account the caller may
///
/// The lockdown of `POST /api/v1/accounts/{id}/lockdown` for every account the caller keeps
/// the gate of (an owner: all of them).
#[utoipa::path(post, path = "/api/v1/lockdown", tag = "incidents", operation_id = "lock_down_all_accounts", security(("token" = ["accounts:write"]), ("session" = [])), request_body = LockdownRequest,
    responses((status = 200, description = "Each account's incident", body = [IncidentDetail]), (status = 422, description = "A member named does not exist", body = Problem, content_type = "application/problem+json")))]
pub async fn lock_down_all(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<LockdownRequest>,
) -> Result<Json<Vec<IncidentDetail>>, ApiError> {
    caller.require(Permission::ManageAccountAccess)?;
    let request = lockdown::Request {
        end_sessions_of: request.end_sessions_of,
        drill: request.drill,
    };
    let views = lockdown::lock_down_all(&state.services, &caller.user, &request).await?;
    Ok(Json(views.into_iter().map(detail).collect()))
}

/// Reports a possibly hacked account
///
/// "I think this account is hacked": opens the account's incident (or adds to the open one)
/// and tells its gatekeeper and the owners. Anyone who may see the account.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/incidents", tag = "incidents", operation_id = "report_incident", security(("token" = ["accounts:read"]), ("session" = [])), request_body = ReportRequest, params(("id" = i64, Path)),
    responses((status = 201, description = "The account's incident", body = IncidentDetail), (status = 404, description = "No such account, or not visible to you", body = Problem, content_type = "application/problem+json"), (status = 422, description = "Say what made you think so", body = Problem, content_type = "application/problem+json")))]
pub async fn report(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<AccountId>,
    ApiJson(request): ApiJson<ReportRequest>,
) -> Result<Response, ApiError> {
    caller.require(Permission::ViewAccounts)?;
    let view = incidents::report(
        &state.store,
        &caller.user,
        id,
        &request.what,
        state.clock.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(detail(view))).into_response())
}

/// Resumes a locked-down account's queue
///
/// Only once its incident is closed. The posts the lockdown took off the schedule stay
/// approved, to be scheduled again one by one. The gatekeeper or an owner.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/resume", tag = "incidents", operation_id = "resume_account_queue", security(("token" = ["accounts:write"]), ("session" = [])), params(("id" = i64, Path)),
    responses((status = 204, description = "Resumed"), (status = 403, description = "Not the gatekeeper or an owner", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json"), (status = 409, description = "The incident is still open, or the queue is not paused", body = Problem, content_type = "application/problem+json")))]
pub async fn resume(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<AccountId>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageAccountAccess)?;
    incidents::resume(&state.store, &caller.user, id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists incidents
///
/// The incidents of the accounts the caller may see, newest first; drills are marked.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", operation_id = "list_incidents", security(("token" = ["accounts:read"]), ("session" = [])),
    responses((status = 200, description = "Incidents", body = [IncidentSummary])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<IncidentSummary>>, ApiError> {
    caller.require(Permission::ViewAccounts)?;
    let listed = incidents::list(&state.store, &caller.user).await?;
    Ok(Json(
        listed
            .into_iter()
            .map(|(incident, account)| summary(incident, &account.display_name))
            .collect(),
    ))
}

/// Reads an incident
///
/// With its lockdown and recovery steps, its timeline and the network's recovery checklist.
#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents", operation_id = "get_incident", security(("token" = ["accounts:read"]), ("session" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "The incident", body = IncidentDetail), (status = 404, description = "No such incident, or not visible to you", body = Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<IncidentDetail>, ApiError> {
    caller.require(Permission::ViewAccounts)?;
    Ok(Json(detail(
        incidents::view(&state.store, &caller.user, id).await?,
    )))
}

/// Adds a note to an incident's timeline
#[utoipa::path(post, path = "/api/v1/incidents/{id}/notes", tag = "incidents", operation_id = "add_incident_note", security(("token" = ["accounts:write"]), ("session" = [])), request_body = NoteRequest, params(("id" = i64, Path)),
    responses((status = 200, description = "The incident", body = IncidentDetail), (status = 404, description = "No such incident", body = Problem, content_type = "application/problem+json"), (status = 422, description = "Write a few words", body = Problem, content_type = "application/problem+json")))]
pub async fn note(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<NoteRequest>,
) -> Result<Json<IncidentDetail>, ApiError> {
    caller.require(Permission::ManageAccountAccess)?;
    let view = incidents::note(
        &state.store,
        &caller.user,
        id,
        &request.text,
        state.clock.now(),
    )
    .await?;
    Ok(Json(detail(view)))
}

/// Ticks a recovery step
///
/// The steps Herald can check (`change_password`, `reenrol_2fa`, `reconnect_herald`) answer
/// 409 until it sees them done. The gatekeeper or an owner.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/steps/{step}", tag = "incidents", operation_id = "tick_recovery_step", security(("token" = ["accounts:write"]), ("session" = [])), params(("id" = i64, Path), ("step" = inline(RecoveryStepKey), Path)),
    responses((status = 200, description = "The incident", body = IncidentDetail), (status = 403, description = "Not the gatekeeper or an owner", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such incident", body = Problem, content_type = "application/problem+json"), (status = 409, description = "Herald does not see it done yet, or the incident is closed", body = Problem, content_type = "application/problem+json")))]
pub async fn tick(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, step)): ApiPath<(i64, RecoveryStepKey)>,
) -> Result<Json<IncidentDetail>, ApiError> {
    caller.require(Permission::ManageAccountAccess)?;
    let view = incidents::tick(&state.services, &caller.user, id, step.as_str()).await?;
    Ok(Json(detail(view)))
}

/// What became of the attacker's posts, with the incident as it stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttackerPostRemoval {
    pub incident: IncidentDetail,
    /// Deleted through the network's API now (the network's ids).
    pub deleted: Vec<String>,
    /// The network's API cannot delete them (Instagram): delete each by hand at its link.
    pub by_hand: Vec<PostToDeleteByHand>,
    /// The network refused or did not answer; asking again tries these again.
    pub failed: Vec<PostNotDeleted>,
    /// Deleted by Herald at an earlier request.
    pub deleted_before: usize,
}

/// A post of the attacker's to delete by hand.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostToDeleteByHand {
    pub remote_id: String,
    /// Where the network shows it, when it says.
    pub link: Option<String>,
}

/// A post of the attacker's the network did not delete.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostNotDeleted {
    pub remote_id: String,
    pub reason: String,
}

/// Deletes the posts the attacker made
///
/// The recovery step `delete_attacker_posts`: every post the watcher found that Herald did not
/// publish, since the incident opened, is deleted through the network's API where it allows
/// (all but Instagram) and listed with its link otherwise. Herald must be connected again
/// first (the lockdown revoked its tokens); a drill deletes nothing. Each deletion is audited.
/// The gatekeeper or an owner.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/attacker-posts/delete", tag = "incidents", operation_id = "delete_attacker_posts", security(("token" = ["accounts:write"]), ("session" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "What became of each post, and the incident", body = AttackerPostRemoval), (status = 403, description = "Not the gatekeeper or an owner", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such incident", body = Problem, content_type = "application/problem+json"), (status = 409, description = "Herald is not connected to the account again yet, or the incident is closed", body = Problem, content_type = "application/problem+json")))]
pub async fn delete_attacker_posts(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<AttackerPostRemoval>, ApiError> {
    caller.require(Permission::ManageAccountAccess)?;
    let (view, removal) = attacker_posts::remove(&state.services, &caller.user, id).await?;
    Ok(Json(AttackerPostRemoval {
        incident: detail(view),
        deleted: removal.deleted,
        by_hand: removal
            .by_hand
            .into_iter()
            .map(|(remote_id, link)| PostToDeleteByHand { remote_id, link })
            .collect(),
        failed: removal
            .failed
            .into_iter()
            .map(|(remote_id, reason)| PostNotDeleted { remote_id, reason })
            .collect(),
        deleted_before: removal.already,
    }))
}

/// Tries the lockdown's failed steps again
#[utoipa::path(post, path = "/api/v1/incidents/{id}/retry", tag = "incidents", operation_id = "retry_lockdown_steps", security(("token" = ["accounts:write"]), ("session" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "The incident", body = IncidentDetail), (status = 403, description = "Not the gatekeeper or an owner", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such incident", body = Problem, content_type = "application/problem+json"), (status = 409, description = "The incident is closed", body = Problem, content_type = "application/problem+json")))]
pub async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<IncidentDetail>, ApiError> {
    caller.require(Permission::ManageAccountAccess)?;
    let view = lockdown::retry(&state.services, &caller.user, id).await?;
    Ok(Json(detail(view)))
}

/// Closes an incident
///
/// Needs every "rotate now" of the account answered and Herald's connection working again
/// (not in a drill). The queue stays paused until `POST /api/v1/accounts/{id}/resume`.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/close", tag = "incidents", operation_id = "close_incident", security(("token" = ["accounts:write"]), ("session" = [])), request_body = CloseRequest, params(("id" = i64, Path)),
    responses((status = 200, description = "The incident, closed", body = IncidentDetail), (status = 403, description = "Not the gatekeeper or an owner", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such incident", body = Problem, content_type = "application/problem+json"), (status = 409, description = "Credentials still to change, the connection does not work yet, or closed already", body = Problem, content_type = "application/problem+json"), (status = 422, description = "Lessons too long", body = Problem, content_type = "application/problem+json")))]
pub async fn close(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<CloseRequest>,
) -> Result<Json<IncidentDetail>, ApiError> {
    caller.require(Permission::ManageAccountAccess)?;
    let view = incidents::close(&state.services, &caller.user, id, &request.lessons).await?;
    Ok(Json(detail(view)))
}

/// Drafts the holding statement or the all-clear
///
/// The template, filled in, as a draft on each of the company's other accounts named (submit
/// each as usual: policy and approval apply), and a notice to every member.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/statements", tag = "incidents", operation_id = "draft_incident_statements", security(("token" = ["posts:write"]), ("session" = [])), request_body = StatementRequest, params(("id" = i64, Path)),
    responses((status = 201, description = "The drafts", body = Drafts), (status = 403, description = "No contributor access to an account named", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such incident or account", body = Problem, content_type = "application/problem+json"), (status = 422, description = "The incident's own account named, or the text does not fit a network", body = Problem, content_type = "application/problem+json")))]
pub async fn statements(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<StatementRequest>,
) -> Result<Response, ApiError> {
    caller.require(Permission::WritePosts)?;
    let posts = incidents::statements(
        &state.store,
        &caller.user,
        id,
        request.kind.as_str(),
        &request.account_ids,
        state.clock.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(Drafts { posts })).into_response())
}

/// The incident report as Markdown
///
/// Timeline, what was posted, what was done and how long each phase took.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/report", tag = "incidents", operation_id = "incident_report", security(("token" = ["accounts:read"]), ("session" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "The report", body = String, content_type = "text/markdown"), (status = 404, description = "No such incident", body = Problem, content_type = "application/problem+json")))]
pub async fn report_markdown(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    caller.require(Permission::ViewAccounts)?;
    let view = incidents::view(&state.store, &caller.user, id).await?;
    let users = state.store.list_users().await.map_err(ApiError::internal)?;
    let markdown = incidents::report_markdown(&view, &|id| incidents::member_name(&users, id));
    Ok((
        [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
        markdown,
    )
        .into_response())
}

/// Reads a holding-statement template
#[utoipa::path(get, path = "/api/v1/incident-templates/{kind}", tag = "incidents", operation_id = "get_incident_template", security(("token" = ["accounts:read"]), ("session" = [])), params(("kind" = inline(TemplateKind), Path)),
    responses((status = 200, description = "The template", body = TemplateBody)))]
pub async fn template(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(kind): ApiPath<TemplateKind>,
) -> Result<Json<TemplateBody>, ApiError> {
    caller.require(Permission::ViewAccounts)?;
    let text = incidents::template(&state.store, kind.as_str()).await?;
    Ok(Json(TemplateBody { text }))
}

/// Changes a holding-statement template
///
/// Owners only.
#[utoipa::path(put, path = "/api/v1/incident-templates/{kind}", tag = "incidents", operation_id = "set_incident_template", security(("token" = ["accounts:write"]), ("session" = [])), request_body = TemplateBody, params(("kind" = inline(TemplateKind), Path)),
    responses((status = 204, description = "Saved"), (status = 403, description = "Owners only", body = Problem, content_type = "application/problem+json"), (status = 422, description = "Write a few words", body = Problem, content_type = "application/problem+json")))]
pub async fn set_template(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(kind): ApiPath<TemplateKind>,
    ApiJson(body): ApiJson<TemplateBody>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageAccountAccess)?;
    incidents::set_template(
        &state.store,
        &caller.user,
        kind.as_str(),
        &body.text,
        state.clock.now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn summary(incident: IncidentRecord, account_name: &str) -> IncidentSummary {
    let time = |at: Option<jiff::Timestamp>| at.map(|at| at.to_string());
    IncidentSummary {
        id: incident.id,
        account_id: incident.account_id,
        account_name: account_name.to_owned(),
        opened_by: incident.opened_by,
        status: incident.status,
        drill: incident.drill,
        summary: incident.summary,
        opened_at: incident.opened_at.to_string(),
        locked_at: time(incident.locked_at),
        recovered_at: time(incident.recovered_at),
        closed_at: time(incident.closed_at),
        owner_id: incident.owner_id,
    }
}

fn detail(view: incidents::View) -> IncidentDetail {
    let lessons = view.incident.lessons.clone();
    IncidentDetail {
        incident: summary(view.incident, &view.account.display_name),
        steps: view
            .steps
            .into_iter()
            .map(|step| StepView {
                step: step.step,
                phase: step.phase,
                outcome: step.outcome,
                detail: step.detail,
                by_user: step.by_user,
                at: step.at.to_string(),
            })
            .collect(),
        timeline: view
            .timeline
            .into_iter()
            .map(|event| EventView {
                at: event.at.to_string(),
                kind: event.kind,
                actor_id: event.actor_id,
                step: event.step,
                outcome: event.outcome,
                text: event.text,
            })
            .collect(),
        checklist: view
            .checklist
            .into_iter()
            .map(|item| ChecklistItem {
                step: item.key.to_owned(),
                label: item.label.to_owned(),
                how: item.how,
                link: item.link.map(str::to_owned),
                verified_by_herald: item.verified_by_herald,
            })
            .collect(),
        lessons,
    }
}
