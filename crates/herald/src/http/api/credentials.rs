//! `/api/v1/accounts/{id}/credentials`: the account's sealed login, 2FA seed, recovery codes
//! and notes. Gatekeepers only, from a browser session only (never an API token).

use crate::domain::ids::{AccountId, UserId};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::access::Permission;
use crate::domain::accounts::SecretField;
use crate::http::auth::Caller;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::{ApiError, AppState};
use crate::services::credentials;

/// A credential's new value.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"value": "Harbour-Lantern-Oat-27!"}))]
pub struct StoreRequest {
    /// Not blank, at most 4,096 characters. A `totp_seed` is the network's base32 seed.
    #[schema(min_length = 1, max_length = 4096)]
    pub value: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "492817"}))]
pub struct RevealRequest {
    /// The gatekeeper's own current authenticator code (or a recovery code). Needed for
    /// `login_password`, `totp_seed` and `recovery_codes`, and for the network's code.
    #[serde(default)]
    pub code: String,
}

/// The credentials a gatekeeper may type in: every field but `oauth_tokens`, which only
/// connecting the account stores (`PUT …/connection`).
#[derive(Debug, ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // Documents the path parameter; the handler parses it as a `SecretField`.
pub enum TypedField {
    LoginUsername,
    LoginPassword,
    TotpSeed,
    RecoveryCodes,
    Notes,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"strength": 4, "shared_with": [], "breached": false}))]
pub struct StoredView {
    /// zxcvbn score 0–4, for passwords.
    pub strength: Option<u8>,
    /// Other accounts with the same password: rotate one of them.
    pub shared_with: Vec<AccountId>,
    /// Found in the imported breach data: rotate it. Absent for other fields, and when no
    /// breach data was imported (`herald breaches import`).
    pub breached: Option<bool>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"length": 24}))]
pub struct GenerateRequest {
    /// Characters; default 24 (or the network's limit). At least 16, and at most what the
    /// network takes: 72 on Mastodon, 128 on X, LinkedIn, Facebook, Instagram and Threads,
    /// 256 on Bluesky.
    #[serde(default)]
    #[schema(minimum = 16, maximum = 256)]
    pub length: Option<usize>,
}

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"password": "hT7#qWm9vK2$xRb4nZp8Lc3&"}))]
pub struct GeneratedView {
    /// A new random password to the network's rules. Not stored: set it on the network, then
    /// store it with `PUT …/credentials/login_password`.
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "gatekeeper_active": true,
    "password": {"strength": 4, "age_days": 41, "reused": false, "breached": false},
    "network_2fa_recorded": true, "rotate_now": []
}))]
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
#[schema(example = json!({"value": "Harbour-Lantern-Oat-27!"}))]
pub struct RevealedView {
    pub value: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"code": "305716"}))]
pub struct NetworkCodeView {
    pub code: String,
}

/// What is stored for one credential, without its value.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"field": "login_password", "updated_at": "2026-11-02T14:05:00Z", "updated_by": 1, "strength": 4, "reused": false}))]
pub struct FactView {
    #[schema(value_type = SecretField)]
    pub field: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    pub updated_by: UserId,
    pub strength: Option<i64>,
    pub reused: bool,
}

fn field(text: &str) -> Result<SecretField, ApiError> {
    SecretField::parse(text).map_err(|error| ApiError::NotFound(error.to_string()))
}

/// Lists an account's stored credentials
///
/// Which credentials are stored for the account, when and by whom they were last changed, and a
/// password's strength and reuse; never the values. Anyone who may see the account may ask.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/credentials", tag = "accounts", security(("token" = ["accounts:read"]), ("session" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "Stored fields, their age, strength and reuse", body = [FactView]), (status = 404, description = "No such account", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn facts(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<AccountId>,
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

/// Stores a credential
///
/// Stores or replaces one credential of the account, sealed in the vault. The account's
/// gatekeeper only, from a browser session (never an API token); audited. A new password answers
/// the account's open "rotate now" requests.
#[utoipa::path(put, path = "/api/v1/accounts/{id}/credentials/{field}", tag = "accounts", security(("session" = [])), request_body = StoreRequest, params(("id" = i64, Path), ("field" = inline(TypedField), Path, description = "Which credential")),
    responses((status = 200, description = "Stored, sealed", body = StoredView), (status = 403, description = "Not the gatekeeper, or an API token", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such account or field", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "Not an acceptable value", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, name)): ApiPath<(AccountId, String)>,
    ApiJson(request): ApiJson<StoreRequest>,
) -> Result<Json<StoredView>, ApiError> {
    caller.require(Permission::UseVault)?;
    let stored = credentials::put(
        &state,
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

/// Generates a password
///
/// A new random password to the account's network rules, for its gatekeeper from a browser
/// session. Nothing is stored: set it on the network, then store it as `login_password`.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/password-generator", tag = "accounts", security(("session" = [])), request_body = GenerateRequest, params(("id" = i64, Path)),
    responses((status = 200, description = "A new password", body = GeneratedView), (status = 403, description = "Not the gatekeeper, or an API token", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such account", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "A length the network does not accept", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn generate(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<AccountId>,
    ApiJson(request): ApiJson<GenerateRequest>,
) -> Result<Json<GeneratedView>, ApiError> {
    caller.require(Permission::UseVault)?;
    let password =
        credentials::generate_password(&state.store, &caller.user, id, request.length).await?;
    Ok(Json(GeneratedView {
        password: password.to_string(),
    }))
}

/// Reads an account's security posture
///
/// The account's password strength, age, reuse and breach status, whether the network's own 2FA
/// is recorded, and its open "rotate now" requests. Nothing secret; anyone who may see the
/// account may ask.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/posture", tag = "accounts", security(("token" = ["accounts:read"]), ("session" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "The posture", body = PostureView), (status = 404, description = "No such account", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn posture(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<AccountId>,
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

/// Reveals a credential
///
/// Shows one stored credential to the account's gatekeeper, from a browser session. Passwords,
/// 2FA seeds and recovery codes need the gatekeeper's own current second-factor code; every
/// reveal is audited.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/credentials/{field}/reveal", tag = "accounts", security(("session" = [])), request_body = RevealRequest, params(("id" = i64, Path), ("field" = SecretField, Path, description = "Which credential; `oauth_tokens` is never revealed (403)")),
    responses((status = 200, description = "The value", body = RevealedView), (status = 403, description = "Not the gatekeeper, wrong code, OAuth tokens, or an API token", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such account, field or stored value", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn reveal(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, name)): ApiPath<(AccountId, String)>,
    ApiJson(request): ApiJson<RevealRequest>,
) -> Result<Json<RevealedView>, ApiError> {
    caller.require(Permission::UseVault)?;
    let value = credentials::reveal(
        &state,
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

/// Reads the network's current 2FA code
///
/// The current code of the network's own 2FA, computed from the stored seed, for the account's
/// gatekeeper from a browser session after their own second-factor code. Audited.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/network-code", tag = "accounts", security(("session" = [])), request_body = RevealRequest, params(("id" = i64, Path)),
    responses((status = 200, description = "The network's current code", body = NetworkCodeView), (status = 403, description = "Not the gatekeeper or wrong code", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such account or no seed stored", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn network_code(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<AccountId>,
    ApiJson(request): ApiJson<RevealRequest>,
) -> Result<Json<NetworkCodeView>, ApiError> {
    caller.require(Permission::UseVault)?;
    let code =
        credentials::network_code(&state, &caller.user, id, &request.code, state.clock.now())
            .await?;
    Ok(Json(NetworkCodeView { code }))
}

debug_without_secrets!(RevealedView, GeneratedView);

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 3, "reason": "member_left", "detail": "Sam Barista left the organisation",
    "requested_at": "2026-11-20T09:00:00Z", "done_at": null, "done_by": null
}))]
pub struct RotationView {
    pub id: i64,
    /// `reused`, `breached`, `member_left`, `gatekeeper_changed` or `incident`.
    pub reason: String,
    pub detail: String,
    #[schema(format = DateTime)]
    pub requested_at: String,
    /// When the password was changed, and by whom; absent while it is still to do.
    #[schema(format = DateTime)]
    pub done_at: Option<String>,
    pub done_by: Option<UserId>,
}

/// Lists an account's "rotate now" requests
///
/// The account's requests to change its password: why, when, and when and by whom it was done.
/// Anyone who may see the account may ask.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/rotations", tag = "accounts", security(("token" = ["accounts:read"]), ("session" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "Requests, oldest first", body = [RotationView]), (status = 404, description = "No such account", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn rotations(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<AccountId>,
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
