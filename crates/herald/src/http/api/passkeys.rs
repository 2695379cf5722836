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
use crate::services::people::passkeys;
use crate::services::people::step_up::FreshCode;

/// Options for the browser's WebAuthn call, and the token to send back with its answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "options": {"publicKey": {
        "challenge": "m4Xq1b9T0sRkVz7yWn2LpZs8HfA3eUo6iGqNtKw5Yc0",
        "rpId": "herald.sunnycafe.example",
        "allowCredentials": [{"type": "public-key", "id": "pQ7v2sLk9ZrT4yWn1bXc8HfA3eUo6iGq"}],
        "userVerification": "preferred",
        "timeout": 300000
    }},
    "state": "SFYBAAAAAdR2q8kLmN0pXv7cQ2mVb9RkT4yWn1LpZs8HfA3eUo6iGqNtKw5Yc"
}))]
pub struct Ceremony {
    /// Pass `publicKey` to `navigator.credentials.create` or `.get` (binary fields are
    /// base64url).
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
    /// Send this back, unchanged, with the browser's answer; valid for 5 minutes, once.
    pub state: String,
}

/// The browser's answer to `navigator.credentials.create`, and a name for the passkey.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "work laptop",
    "state": "SFYBAAAAAdR2q8kLmN0pXv7cQ2mVb9RkT4yWn1LpZs8HfA3eUo6iGqNtKw5Yc",
    "credential": {
        "id": "pQ7v2sLk9ZrT4yWn1bXc8HfA3eUo6iGq", "rawId": "pQ7v2sLk9ZrT4yWn1bXc8HfA3eUo6iGq",
        "type": "public-key",
        "response": {"attestationObject": "o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YVjESZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2NFAAAAAQ", "clientDataJSON": "eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIiwiY2hhbGxlbmdlIjoibTRYcTFiOVQwc1JrVno3eVduMkxwWnM4SGZBM2VVbzZpR3FOdEt3NVljMCJ9"},
        "extensions": {}
    }
}))]
pub struct NewPasskey {
    /// What to call it: 1 to 100 characters, not only spaces; surrounding spaces are dropped.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00]*[^\x00\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00]*$"
    )]
    pub name: String,
    /// From `POST /api/v1/passkeys/registration`.
    pub state: String,
    /// The `PublicKeyCredential` the browser gave, as JSON with base64url binary fields.
    #[schema(value_type = Object)]
    pub credential: RegisterPublicKeyCredential,
}

/// Who is signing in with a passkey.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "owner@sunnycafe.example", "password": "croissant tram lighthouse 42"}))]
pub struct PasskeySignInStart {
    pub email: String,
    pub password: String,
}

/// The browser's answer to `navigator.credentials.get`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "state": "SFYBAAAAAdR2q8kLmN0pXv7cQ2mVb9RkT4yWn1LpZs8HfA3eUo6iGqNtKw5Yc",
    "credential": {
        "id": "pQ7v2sLk9ZrT4yWn1bXc8HfA3eUo6iGq", "rawId": "pQ7v2sLk9ZrT4yWn1bXc8HfA3eUo6iGq",
        "type": "public-key",
        "response": {"authenticatorData": "SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFAAAABQ", "clientDataJSON": "eyJ0eXBlIjoid2ViYXV0aG4uZ2V0IiwiY2hhbGxlbmdlIjoibTRYcTFiOVQwc1JrVno3eVduMkxwWnM4SGZBM2VVbzZpR3FOdEt3NVljMCJ9", "signature": "MEUCIQDxq9mJ2vZ0cW5h3yKp8sR1tL4nB7eX6fA0gD2uH9iJkQIgT3yWn1LpZs8HfA3eUo6iGqNtKw5Yc0m4Xq1b9T0sRkU", "userHandle": null},
        "extensions": {}
    }
}))]
pub struct PasskeySignInFinish {
    /// From `POST /api/v1/auth/passkey/options`.
    pub state: String,
    /// The `PublicKeyCredential` the browser gave, as JSON with base64url binary fields.
    #[schema(value_type = Object)]
    pub credential: PublicKeyCredential,
}

/// One of your passkeys.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 1, "name": "work laptop", "created_at": "2026-03-02T09:20:00Z",
    "last_used_at": "2026-03-04T08:01:33Z"
}))]
pub struct PasskeyView {
    pub id: i64,
    pub name: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
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

/// Lists your passkeys
///
/// The caller's passkeys, with when each was added and last used. From a browser session only.
#[utoipa::path(get, path = "/api/v1/passkeys", tag = "people", operation_id = "list_passkeys", security(("session" = [])),
    responses(
        (status = 200, description = "Your passkeys", body = [PasskeyView]),
        (status = 403, description = "Not with an API token", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
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

/// Starts adding a passkey
///
/// Step 1 of adding a passkey: after a fresh authenticator code, options to pass to the
/// browser's `navigator.credentials.create` and a `state` to send back with its answer to
/// `POST /api/v1/passkeys`. From a browser session only; needs `public_url` to name Herald's
/// host by domain name.
#[utoipa::path(post, path = "/api/v1/passkeys/registration", tag = "people", security(("session" = [])), request_body = FreshCode,
    responses(
        (status = 200, description = "Options for navigator.credentials.create", body = Ceremony),
        (status = 401, description = "Not signed in, or signed out after 5 wrong codes in a row", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not with an API token, or a missing `X-CSRF-Token`", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The code is not right", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Passkeys are not available: `public_url` does not name Herald's host by domain name", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn start_registration(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<FreshCode>,
) -> Result<Json<Ceremony>, ApiError> {
    caller.require(Permission::ManageOwnSecondFactors)?;
    let (options, token) = passkeys::start_registration(
        &state,
        relying_party(&state)?,
        &caller.user,
        &request.code,
        state.clock.now(),
    )
    .await?;
    ceremony(options, token)
}

/// Finishes adding a passkey
///
/// Step 2 of adding a passkey: a name for it, the `state` from step 1 and the browser's
/// answer. The passkey is saved and can be used to sign in instead of a code. From a browser
/// session only; audited.
#[utoipa::path(post, path = "/api/v1/passkeys", tag = "people", security(("session" = [])), request_body = NewPasskey,
    responses(
        (status = 201, description = "Added", body = PasskeyView),
        (status = 403, description = "Not with an API token, or a missing `X-CSRF-Token`", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The name is not acceptable, the prompt expired, or the answer did not verify; `field` names which", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Passkeys are not available: `public_url` does not name Herald's host by domain name", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn finish_registration(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<NewPasskey>,
) -> Result<Response, ApiError> {
    caller.require(Permission::ManageOwnSecondFactors)?;
    let now = state.clock.now();
    let id = passkeys::finish_registration(
        &state,
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

/// Removes a passkey
///
/// After a fresh authenticator code, one of the caller's passkeys stops working. From a
/// browser session only; audited.
#[utoipa::path(delete, path = "/api/v1/passkeys/{id}", tag = "people", operation_id = "remove_passkey", security(("session" = [])),
    params(("id" = i64, Path, description = "The passkey's id", example = 1)),
    request_body = FreshCode,
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Not signed in, or signed out after 5 wrong codes in a row", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not with an API token, or a missing `X-CSRF-Token`", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 404, description = "You have no passkey with this id", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The code is not right", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<FreshCode>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageOwnSecondFactors)?;
    passkeys::remove(&state, &caller.user, id, &request.code, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts signing in with a passkey
///
/// Step 1 of signing in with a passkey instead of a code: email address and password give
/// options for `navigator.credentials.get` and a `state`. The answer is alike whether the
/// password is right or not (and whether the address has passkeys): the password's verdict
/// comes with the passkey's, from `POST /api/v1/auth/passkey`.
#[utoipa::path(post, path = "/api/v1/auth/passkey/options", tag = "people", request_body = PasskeySignInStart,
    responses(
        (status = 200, description = "Options for navigator.credentials.get", body = Ceremony),
        (status = 429, description = "Too many failures; see Retry-After", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Passkeys are not available: `public_url` does not name Herald's host by domain name", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn start_sign_in(
    State(state): State<AppState>,
    origin: SignInOrigin,
    ApiJson(request): ApiJson<PasskeySignInStart>,
) -> Result<Json<Ceremony>, ApiError> {
    let (options, token) = passkeys::start_sign_in(
        &state,
        relying_party(&state)?,
        &request.email,
        &request.password,
        origin.from(),
        state.clock.now(),
    )
    .await?;
    ceremony(options, token)
}

/// Finishes signing in with a passkey
///
/// Step 2: the `state` from step 1 and the browser's answer. When the password was right and
/// the passkey verifies, the member is signed in (session cookie set), as with
/// `POST /api/v1/auth/login`.
#[utoipa::path(post, path = "/api/v1/auth/passkey", tag = "people", request_body = PasskeySignInFinish,
    responses(
        (status = 200, description = "Signed in (session cookie set)", body = super::people::SessionView),
        (status = 401, description = "The email address, password or passkey is not right", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The prompt expired or was used, or `credential` is not a passkey answer", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Passkeys are not available: `public_url` does not name Herald's host by domain name", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn finish_sign_in(
    State(state): State<AppState>,
    origin: SignInOrigin,
    ApiJson(request): ApiJson<PasskeySignInFinish>,
) -> Result<Response, ApiError> {
    let done = passkeys::finish_sign_in(
        &state,
        relying_party(&state)?,
        &request.state,
        &request.credential,
        origin.from(),
        state.clock.now(),
    )
    .await?;
    Ok(signed_in(&state, StatusCode::OK, done, None))
}
