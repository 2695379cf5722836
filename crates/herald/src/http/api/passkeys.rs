//! `/api/v1` routes for passkeys: adding and removing one's own, and signing in with one.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use webauthn_rs::Webauthn;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use super::people::signed_in;
use crate::domain::access::Permission;
use crate::http::auth::{Caller, SignInOrigin};
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::{ApiError, AppState};
use crate::people::passkeys;
use crate::people::step_up::FreshCode;

/// Options for the browser's WebAuthn call, and the token to send back with its answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ceremony {
    /// Pass `publicKey` to `navigator.credentials.create` or `.get` (binary fields are
    /// base64url).
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
    pub state: String,
}

#[derive(Deserialize, ToSchema)]
pub struct NewPasskey {
    pub name: String,
    pub state: String,
    #[schema(value_type = Object)]
    pub credential: RegisterPublicKeyCredential,
}

#[derive(Deserialize, ToSchema)]
pub struct PasskeySignInStart {
    pub email: String,
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
pub struct PasskeySignInFinish {
    pub state: String,
    #[schema(value_type = Object)]
    pub credential: PublicKeyCredential,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyView {
    pub id: i64,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

fn relying_party(state: &AppState) -> Result<&Webauthn, ApiError> {
    state.webauthn.as_deref().ok_or_else(|| {
        ApiError::Unavailable(
            "passkeys need public_url to name Herald's host by domain name".to_owned(),
        )
    })
}

fn ceremony(options: impl Serialize, state: String) -> Result<Json<Ceremony>, ApiError> {
    let options = serde_json::to_value(options).map_err(ApiError::internal)?;
    Ok(Json(Ceremony { options, state }))
}

/// The caller's passkeys.
#[utoipa::path(get, path = "/api/v1/passkeys", tag = "people", security(("session" = [])),
    responses((status = 200, description = "Passkeys", body = [PasskeyView]), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 403, description = "Not with an API token", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<PasskeyView>>, ApiError> {
    caller.require(Permission::ManageOwnSecondFactors)?;
    let passkeys = state.store.passkeys_of(caller.user.id).await?;
    Ok(Json(
        passkeys
            .into_iter()
            .map(|passkey| PasskeyView {
                id: passkey.id,
                name: passkey.name,
                created_at: passkey.created_at.to_string(),
                last_used_at: passkey.last_used_at.map(|at| at.to_string()),
            })
            .collect(),
    ))
}

/// Starts adding a passkey, after a fresh code from the authenticator app.
#[utoipa::path(post, path = "/api/v1/passkeys/registration", tag = "people", security(("session" = [])), request_body = FreshCode,
    responses((status = 200, description = "Options for navigator.credentials.create", body = Ceremony), (status = 401, description = "Not signed in, or signed out after 5 wrong codes in a row", body = crate::http::Problem, content_type = "application/problem+json"), (status = 403, description = "Not with an API token", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "The code is not right", body = crate::http::Problem, content_type = "application/problem+json"), (status = 503, description = "Passkeys are not available here", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn start_registration(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<FreshCode>,
) -> Result<Json<Ceremony>, ApiError> {
    caller.require(Permission::ManageOwnSecondFactors)?;
    let (options, token) = passkeys::start_registration(
        &state.store,
        &state.keys,
        relying_party(&state)?,
        &caller.user,
        &request.code,
        state.clock.now(),
    )
    .await?;
    ceremony(options, token)
}

/// Finishes adding a passkey with the browser's answer.
#[utoipa::path(post, path = "/api/v1/passkeys", tag = "people", security(("session" = [])), request_body = NewPasskey,
    responses((status = 201, description = "Added", body = PasskeyView), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 403, description = "Not with an API token", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "The answer did not verify", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn finish_registration(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<NewPasskey>,
) -> Result<Response, ApiError> {
    caller.require(Permission::ManageOwnSecondFactors)?;
    let now = state.clock.now();
    let id = passkeys::finish_registration(
        &state.store,
        &state.keys,
        relying_party(&state)?,
        &caller.user,
        &request.name,
        &request.state,
        &request.credential,
        now,
    )
    .await?;
    let view = PasskeyView {
        id,
        name: request.name.trim().to_owned(),
        created_at: now.to_string(),
        last_used_at: None,
    };
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// Removes one of the caller's passkeys, after a fresh code from the authenticator app.
#[utoipa::path(delete, path = "/api/v1/passkeys/{id}", tag = "people", security(("session" = [])), params(("id" = i64, Path)), request_body = FreshCode,
    responses((status = 204, description = "Removed"), (status = 401, description = "Not signed in, or signed out after 5 wrong codes in a row", body = crate::http::Problem, content_type = "application/problem+json"), (status = 403, description = "Not with an API token", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such passkey of yours", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "The code is not right", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<FreshCode>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageOwnSecondFactors)?;
    passkeys::remove(
        &state.store,
        &state.keys,
        &caller.user,
        id,
        &request.code,
        state.clock.now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts signing in with a passkey instead of a code. The answer is alike whether the
/// password is right or not (and whether the address has passkeys): the password's verdict
/// comes with the passkey's, from `POST /api/v1/auth/passkey`.
#[utoipa::path(post, path = "/api/v1/auth/passkey/options", tag = "people", request_body = PasskeySignInStart,
    responses((status = 200, description = "Options for navigator.credentials.get", body = Ceremony), (status = 429, description = "Too many failures", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn start_sign_in(
    State(state): State<AppState>,
    origin: SignInOrigin,
    ApiJson(request): ApiJson<PasskeySignInStart>,
) -> Result<Json<Ceremony>, ApiError> {
    let (options, token) = passkeys::start_sign_in(
        &state.store,
        &state.keys,
        &state.config,
        relying_party(&state)?,
        &request.email,
        &request.password,
        origin.from(),
        state.clock.now(),
    )
    .await?;
    ceremony(options, token)
}

/// Finishes signing in with the passkey's answer.
#[utoipa::path(post, path = "/api/v1/auth/passkey", tag = "people", request_body = PasskeySignInFinish,
    responses((status = 200, description = "Signed in (session cookie set)", body = super::people::SessionView), (status = 401, description = "The email address, password or passkey is not right", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "The prompt expired", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn finish_sign_in(
    State(state): State<AppState>,
    origin: SignInOrigin,
    ApiJson(request): ApiJson<PasskeySignInFinish>,
) -> Result<Response, ApiError> {
    let done = passkeys::finish_sign_in(
        &state.store,
        &state.keys,
        &state.config,
        relying_party(&state)?,
        &request.state,
        &request.credential,
        origin.from(),
        state.clock.now(),
    )
    .await?;
    Ok(signed_in(&state, StatusCode::OK, done, None))
}
