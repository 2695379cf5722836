//! `/api/v1` routes for looking after one's own account (password, authenticator, recovery
//! codes, sessions), an owner's reset of a member's second factor, and the enrolment that
//! follows such a reset at sign-in. Each handler extracts, calls `crate::services::people`, and answers.

use crate::domain::ids::UserId;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

use super::people::{UserView, welcome};
use crate::domain::access::Permission;
use crate::http::auth::{Caller, ClientIp, Via};
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::{ApiError, AppState};
use crate::services::people::enrolment::Enrolment;
use crate::services::people::own_account::{
    self, NewAuthenticatorConfirm, NewAuthenticatorStart, PasswordChange,
};
use crate::services::people::second_factor_reset::{self, EnrolFinish, EnrolStart};
use crate::services::people::step_up::FreshCode;
use crate::services::people::token_hash;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"other_sessions_ended": 2}))]
pub struct PasswordChanged {
    /// Your other sessions, all ended; this one stays.
    pub other_sessions_ended: u64,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"recovery_codes": [
    "7k2m-9qhd-4xwp-n3c8", "c3vn-8trf-1bze-q6mk", "h5ra-2m0d-ytk4-wq9e", "p8zs-6bnf-3cvx-t1hg",
    "r2qe-m7w5-kd0a-zn4b", "v9jt-4hcy-8gpm-e2sf", "x1db-5kzr-0wqn-7mty", "a6fg-3s8e-jv2c-k5hp",
    "e4nw-9t1b-q7ra-m3dz", "g0ck-2yvf-6hsx-b8jn"
]}))]
pub struct NewRecoveryCodes {
    /// Ten codes, each usable once instead of an authenticator code. Shown once: store them
    /// safely. Every earlier code stopped working.
    pub recovery_codes: Vec<String>,
}

/// One of your sessions. Never its token.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "_0Mv9yTN8CZ_wGfRL5npJiW5BuX_SjfzRjHbKEfU5QY",
    "created_at": "2026-03-02T09:15:00Z",
    "last_seen_at": "2026-03-04T17:42:10Z",
    "ip": "203.0.113.24",
    "current": true
}))]
pub struct SessionInfo {
    /// Names the session for `DELETE /api/v1/me/sessions/{id}`.
    pub id: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub last_seen_at: String,
    /// The address it was started from.
    pub ip: Option<String>,
    /// The session this request came with.
    pub current: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"sessions_ended": 2}))]
pub struct SessionsEnded {
    pub sessions_ended: u64,
}

/// The hash of the caller's session token; `None` for an API token.
pub(crate) fn current_session(caller: &Caller) -> Option<String> {
    match &caller.via {
        Via::Session { cookie, .. } => Some(token_hash(cookie)),
        Via::Token { .. } => None,
    }
}

fn session_only(caller: &Caller) -> Result<String, ApiError> {
    current_session(caller)
        .ok_or_else(|| ApiError::Forbidden("only from a signed-in browser session".to_owned()))
}

/// Changes your password
///
/// Send your current password, a fresh authenticator code and the new password (12 to 128
/// characters, checked as at joining, breached-password data included). Your other sessions
/// end; this one stays. From a browser session only; five wrong codes in a row sign you out
/// everywhere.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "people", security(("session" = [])), request_body = PasswordChange,
    responses(
        (status = 200, description = "Changed; your other sessions ended", body = PasswordChanged),
        (status = 401, description = "Not signed in, or signed out after 5 wrong codes in a row", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not with an API token, or a missing `X-CSRF-Token`", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The current password or code is not right, or the new password is not acceptable; `field` names which", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<PasswordChange>,
) -> Result<Json<PasswordChanged>, ApiError> {
    caller.require(Permission::ManageOwnSecondFactors)?;
    let current = session_only(&caller)?;
    let other_sessions_ended = own_account::change_password(
        &state,
        &caller.user,
        &current,
        &request,
        &caller.ip,
        state.clock.now(),
    )
    .await?;
    Ok(Json(PasswordChanged {
        other_sessions_ended,
    }))
}

/// Starts moving to a new authenticator
///
/// Step 1 of replacing your authenticator app: your password and a code from the app you use
/// now give a new secret to add to the new app. The old app keeps working until you confirm
/// with `POST /api/v1/me/authenticator/confirm`. From a browser session only.
#[utoipa::path(post, path = "/api/v1/me/authenticator", tag = "people", security(("session" = [])), request_body = NewAuthenticatorStart,
    responses(
        (status = 200, description = "Add this to the new app, then confirm with a code from it", body = Enrolment),
        (status = 401, description = "Not signed in, or signed out after 5 wrong codes in a row", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not with an API token, or a missing `X-CSRF-Token`", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The password or code is not right; `field` names which", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn start_new_authenticator(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<NewAuthenticatorStart>,
) -> Result<Json<Enrolment>, ApiError> {
    caller.require(Permission::ManageOwnSecondFactors)?;
    Ok(Json(
        own_account::start_new_authenticator(&state, &caller.user, &request, state.clock.now())
            .await?,
    ))
}

/// Confirms the new authenticator
///
/// Step 2 of replacing your authenticator app: the `enrolment_token` from step 1 and a code
/// from the new app. From now on only the new app works. From a browser session only; audited.
#[utoipa::path(post, path = "/api/v1/me/authenticator/confirm", tag = "people", security(("session" = [])), request_body = NewAuthenticatorConfirm,
    responses(
        (status = 204, description = "The new authenticator is in use"),
        (status = 403, description = "Not with an API token, or a missing `X-CSRF-Token`", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The code or the enrolment token is not right, or the token expired", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn confirm_authenticator(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<NewAuthenticatorConfirm>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageOwnSecondFactors)?;
    own_account::confirm_authenticator(
        &state,
        &caller.user,
        &request,
        &caller.ip,
        state.clock.now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces your recovery codes
///
/// After a fresh authenticator code, ten new recovery codes, shown this once; every earlier
/// code stops working. From a browser session only; five wrong codes in a row sign you out
/// everywhere.
#[utoipa::path(post, path = "/api/v1/me/recovery-codes", tag = "people", security(("session" = [])), request_body = FreshCode,
    responses(
        (status = 200, description = "The new codes, shown this once", body = NewRecoveryCodes),
        (status = 401, description = "Not signed in, or signed out after 5 wrong codes in a row", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not with an API token, or a missing `X-CSRF-Token`", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The code is not right", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn regenerate_recovery_codes(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<FreshCode>,
) -> Result<Json<NewRecoveryCodes>, ApiError> {
    caller.require(Permission::ManageOwnSecondFactors)?;
    let codes = own_account::regenerate_recovery_codes(
        &state,
        &caller.user,
        &request.code,
        &caller.ip,
        state.clock.now(),
    )
    .await?;
    Ok(Json(NewRecoveryCodes {
        recovery_codes: codes.iter().map(|code| code.as_str().to_owned()).collect(),
    }))
}

/// Lists your sessions
///
/// Your sessions that are still valid, most recently used first, with where they started and
/// which one is this. Never their tokens. From a browser session only.
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "people", security(("session" = [])),
    responses(
        (status = 200, description = "Your sessions", body = [SessionInfo]),
        (status = 403, description = "Not with an API token", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn sessions(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<SessionInfo>>, ApiError> {
    caller.require(Permission::ManageOwnSessions)?;
    let current = current_session(&caller);
    let sessions = own_account::sessions(
        &state.store,
        &state.config,
        &caller.user,
        current.as_deref(),
        state.clock.now(),
    )
    .await?;
    Ok(Json(
        sessions
            .into_iter()
            .map(|session| SessionInfo {
                id: session.summary.public_id,
                created_at: session.summary.created_at.to_string(),
                last_seen_at: session.summary.last_seen_at.to_string(),
                ip: session.summary.ip,
                current: session.current,
            })
            .collect(),
    ))
}

/// Ends one of your sessions
///
/// Signs out one session (a lost phone, a shared computer), named by the `id` from
/// `GET /api/v1/me/sessions`. From a browser session only; audited.
#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "people", security(("session" = [])),
    params(("id" = String, Path, description = "The session's `id` from `GET /api/v1/me/sessions`", example = "_0Mv9yTN8CZ_wGfRL5npJiW5BuX_SjfzRjHbKEfU5QY")),
    responses(
        (status = 204, description = "Ended"),
        (status = 403, description = "Not with an API token, or a missing `X-CSRF-Token`", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 404, description = "You have no session with this id", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn end_session(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageOwnSessions)?;
    own_account::end_session(
        &state.store,
        &caller.user,
        &id,
        &caller.ip,
        state.clock.now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends your other sessions
///
/// Signs out every session of yours except the one this request came with. From a browser
/// session only; audited.
#[utoipa::path(post, path = "/api/v1/me/sessions/end-others", tag = "people", security(("session" = [])),
    responses(
        (status = 200, description = "Ended", body = SessionsEnded),
        (status = 403, description = "Not with an API token, or a missing `X-CSRF-Token`", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn end_other_sessions(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<SessionsEnded>, ApiError> {
    caller.require(Permission::ManageOwnSessions)?;
    let current = session_only(&caller)?;
    let sessions_ended = own_account::end_other_sessions(
        &state.store,
        &caller.user,
        &current,
        &caller.ip,
        state.clock.now(),
    )
    .await?;
    Ok(Json(SessionsEnded { sessions_ended }))
}

/// Resets a member's second factor
///
/// For a member who lost their phone and recovery codes: their authenticator, recovery codes
/// and passkeys stop working and their sessions end; at their next sign-in their password
/// leads them to enrol a new authenticator (`POST /api/v1/auth/enrol`). Owners and admins
/// (only owners reset owners); not your own. The member and the owners are told.
#[utoipa::path(post, path = "/api/v1/members/{id}/reset-second-factor", tag = "people", security(("token" = ["members:write"]), ("session" = [])),
    params(("id" = i64, Path, description = "The member's id", example = 2)),
    responses(
        (status = 200, description = "Reset; the member and the owners were told", body = UserView),
        (status = 403, description = "Not allowed for this member, or a token without `members:write`", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No member has this id", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Yourself, or a deactivated member", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn reset_second_factor(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<UserId>,
) -> Result<Json<UserView>, ApiError> {
    caller.require(Permission::ManageMembers)?;
    let member = second_factor_reset::reset_by(
        &state.store,
        &caller.user,
        id,
        &caller.ip,
        state.clock.now(),
    )
    .await?;
    Ok(Json(UserView::from(&member)))
}

/// Starts enrolling again after a reset
///
/// Step 1 for a member whose second factor an owner reset: email address and password give a
/// new authenticator secret and an `enrolment_token` (valid 30 minutes). Anyone else gets the
/// answer of a failed sign-in, counted like one. Open until `sessions.invitation_hours` after
/// the reset.
#[utoipa::path(post, path = "/api/v1/auth/enrol", tag = "people", request_body = EnrolStart,
    responses(
        (status = 200, description = "Add this to an authenticator app, then finish with a code from it", body = Enrolment),
        (status = 401, description = "Email or password not right, or no reset pending", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The reset is too old; ask an owner to reset again", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failures; see Retry-After", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn start_enrolment(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(request): ApiJson<EnrolStart>,
) -> Result<Json<Enrolment>, ApiError> {
    Ok(Json(
        second_factor_reset::start_enrolment(&state, &request, &ip.to_string(), state.clock.now())
            .await?,
    ))
}

/// Finishes enrolling again after a reset
///
/// Step 2: the email address, password, `enrolment_token` from step 1 and a code from the new
/// authenticator. The authenticator is saved, the member is signed in (session cookie set) and
/// gets new recovery codes, shown this once. Works once per reset.
#[utoipa::path(post, path = "/api/v1/auth/enrol/finish", tag = "people", request_body = EnrolFinish,
    responses(
        (status = 201, description = "Enrolled and signed in (session cookie set); `recovery_codes` are shown this once", body = super::people::SessionView),
        (status = 401, description = "Email or password not right, or no reset pending", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The reset is too old; ask an owner to reset again", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The code or enrolment token is not right, or the token expired", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failures; see Retry-After", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn finish_enrolment(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(request): ApiJson<EnrolFinish>,
) -> Result<Response, ApiError> {
    let done =
        second_factor_reset::finish_enrolment(&state, &request, &ip.to_string(), state.clock.now())
            .await?;
    Ok(welcome(&state, done))
}

debug_without_secrets!(NewRecoveryCodes);
