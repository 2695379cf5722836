//! `/api/v1/accounts/{id}/credentials`: the account's sealed login, 2FA seed, recovery codes
//! and notes. Gatekeepers only, from a browser session only (never an API token).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::credentials;
use crate::domain::access::Permission;
use crate::domain::accounts::SecretField;
use crate::http::auth::Caller;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::{ApiError, AppState};

#[derive(Deserialize, ToSchema)]
pub struct StoreRequest {
    pub value: String,
}

#[derive(Deserialize, ToSchema)]
pub struct RevealRequest {
    /// The gatekeeper's own current authenticator code (or a recovery code). Needed for
    /// `login_password`, `totp_seed` and `recovery_codes`.
    #[serde(default)]
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoredView {
    /// zxcvbn score 0–4, for passwords.
    pub strength: Option<u8>,
    /// Other accounts with the same password: rotate one of them.
    pub shared_with: Vec<i64>,
    /// Found in the imported breach data: rotate it. Absent for other fields, and when no
    /// breach data was imported (`herald breaches import`).
    pub breached: Option<bool>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct GenerateRequest {
    /// Characters; default 24 (or the network's limit), at least 16.
    pub length: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct GeneratedView {
    /// A new random password to the network's rules. Not stored: set it on the network, then
    /// store it with `PUT …/credentials/login_password`.
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostureView {
    /// False when the gatekeeper has left: an owner must name a new one.
    pub gatekeeper_active: bool,
    /// Absent when no network password is stored.
    pub password: Option<PasswordPostureView>,
    pub network_2fa_recorded: bool,
    /// Reasons of open "rotate now" requests: `reused`, `breached`, `member_left`,
    /// `gatekeeper_changed`, `incident`.
    pub rotate_now: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordPostureView {
    /// zxcvbn score 0–4.
    pub strength: Option<i64>,
    pub age_days: i64,
    pub reused: bool,
    pub breached: bool,
}

#[derive(Serialize, ToSchema)]
pub struct RevealedView {
    pub value: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NetworkCodeView {
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FactView {
    pub field: String,
    pub updated_at: String,
    pub updated_by: i64,
    pub strength: Option<i64>,
    pub reused: bool,
}

fn field(text: &str) -> Result<SecretField, ApiError> {
    SecretField::parse(text).map_err(|error| ApiError::NotFound(error.to_string()))
}

/// What is stored for the account (never the values).
#[utoipa::path(get, path = "/api/v1/accounts/{id}/credentials", tag = "accounts", security(("token" = ["accounts:read"]), ("session" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "Stored fields, their age, strength and reuse", body = [FactView]), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such account", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn facts(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<FactView>>, ApiError> {
    caller.require(Permission::ViewAccounts)?;
    let facts = credentials::facts(&state.store, &caller.user, id).await?;
    Ok(Json(
        facts
            .into_iter()
            .map(|fact| FactView {
                field: fact.field,
                updated_at: fact.updated_at.to_string(),
                updated_by: fact.updated_by,
                strength: fact.strength,
                reused: fact.reused,
            })
            .collect(),
    ))
}

/// Stores (or replaces) one credential of the account. Gatekeeper only.
#[utoipa::path(put, path = "/api/v1/accounts/{id}/credentials/{field}", tag = "accounts", security(("session" = [])), request_body = StoreRequest, params(("id" = i64, Path), ("field" = String, Path)),
    responses((status = 200, description = "Stored, sealed", body = StoredView), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 403, description = "Not the gatekeeper, or an API token", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such account or field", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "Not an acceptable value", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, name)): ApiPath<(i64, String)>,
    ApiJson(request): ApiJson<StoreRequest>,
) -> Result<Json<StoredView>, ApiError> {
    caller.require(Permission::UseVault)?;
    let stored = credentials::put(
        &state.store,
        &state.keys,
        &state.breaches,
        &caller.user,
        credentials::Slot {
            account_id: id,
            field: field(&name)?,
        },
        &request.value,
        state.clock.now(),
    )
    .await?;
    Ok(Json(StoredView {
        strength: stored.strength,
        shared_with: stored.shared_with,
        breached: stored.breached,
    }))
}

/// A new random password to the account's network rules, for its gatekeeper. Not stored.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/password-generator", tag = "accounts", security(("session" = [])), request_body = GenerateRequest, params(("id" = i64, Path)),
    responses((status = 200, description = "A new password", body = GeneratedView), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 403, description = "Not the gatekeeper, or an API token", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such account", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "A length the network does not accept", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn generate(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<GenerateRequest>,
) -> Result<Json<GeneratedView>, ApiError> {
    caller.require(Permission::UseVault)?;
    let password =
        credentials::generate_password(&state.store, &caller.user, id, request.length).await?;
    Ok(Json(GeneratedView {
        password: password.to_string(),
    }))
}

/// The account's security posture: password strength, age, reuse, breach, network 2FA, and
/// open "rotate now" requests. Nothing secret.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/posture", tag = "accounts", security(("token" = ["accounts:read"]), ("session" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "The posture", body = PostureView), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such account", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn posture(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<PostureView>, ApiError> {
    caller.require(Permission::ViewAccounts)?;
    let posture = credentials::posture(&state.store, &caller.user, id, state.clock.now()).await?;
    Ok(Json(PostureView {
        gatekeeper_active: posture.gatekeeper_active,
        password: posture.password.map(|password| PasswordPostureView {
            strength: password.strength,
            age_days: password.age_days,
            reused: password.reused,
            breached: password.breached,
        }),
        network_2fa_recorded: posture.network_2fa_recorded,
        rotate_now: posture.rotate_now,
    }))
}

/// Reveals one credential to the gatekeeper, after their own second factor. Audited.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/credentials/{field}/reveal", tag = "accounts", security(("session" = [])), request_body = RevealRequest, params(("id" = i64, Path), ("field" = String, Path)),
    responses((status = 200, description = "The value", body = RevealedView), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 403, description = "Not the gatekeeper, wrong code, OAuth tokens, or an API token", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such account, field or stored value", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn reveal(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, name)): ApiPath<(i64, String)>,
    ApiJson(request): ApiJson<RevealRequest>,
) -> Result<Json<RevealedView>, ApiError> {
    caller.require(Permission::UseVault)?;
    let value = credentials::reveal(
        &state.store,
        &state.keys,
        &caller.user,
        id,
        field(&name)?,
        &request.code,
        state.clock.now(),
    )
    .await?;
    Ok(Json(RevealedView {
        value: value.to_string(),
    }))
}

/// The current code of the network's own 2FA, from the stored seed (gatekeeper, after their
/// own second factor). Audited.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/network-code", tag = "accounts", security(("session" = [])), request_body = RevealRequest, params(("id" = i64, Path)),
    responses((status = 200, description = "The network's current code", body = NetworkCodeView), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 403, description = "Not the gatekeeper or wrong code", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such account or no seed stored", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn network_code(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<RevealRequest>,
) -> Result<Json<NetworkCodeView>, ApiError> {
    caller.require(Permission::UseVault)?;
    let code = credentials::network_code(
        &state.store,
        &state.keys,
        &caller.user,
        id,
        &request.code,
        state.clock.now(),
    )
    .await?;
    Ok(Json(NetworkCodeView { code }))
}

debug_without_secrets!(RevealedView, GeneratedView);

#[derive(Debug, Serialize, ToSchema)]
pub struct RotationView {
    pub id: i64,
    /// `reused`, `breached`, `member_left`, `gatekeeper_changed` or `incident`.
    pub reason: String,
    pub detail: String,
    pub requested_at: String,
    /// When the password was changed, and by whom; absent while it is still to do.
    pub done_at: Option<String>,
    pub done_by: Option<i64>,
}

/// The account's "rotate now" requests: why, when, and who did it.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/rotations", tag = "accounts", security(("token" = ["accounts:read"]), ("session" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "Requests, oldest first", body = [RotationView]), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such account", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn rotations(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<RotationView>>, ApiError> {
    caller.require(Permission::ViewAccounts)?;
    let rotations = credentials::rotations(&state.store, &caller.user, id).await?;
    Ok(Json(
        rotations
            .into_iter()
            .map(|rotation| RotationView {
                id: rotation.id,
                reason: rotation.reason,
                detail: rotation.detail,
                requested_at: rotation.requested_at.to_string(),
                done_at: rotation.done_at.map(|at| at.to_string()),
                done_by: rotation.done_by,
            })
            .collect(),
    ))
}
