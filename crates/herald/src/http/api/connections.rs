//! `/api/v1/accounts/{id}/connection`: the gatekeeper connects Herald to the account at its
//! network. The tokens go into the vault; the answer says only as whom Herald now posts.

use axum::Json;
use axum::extract::State;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::connections;
use crate::domain::access::Permission;
use crate::http::auth::Caller;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::{ApiError, AppState};

/// How the gatekeeper connects the account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum ConnectRequest {
    /// A token made at the network (a Mastodon application token, a Facebook Page token).
    AccessToken {
        #[schema(value_type = String)]
        token: SecretString,
        /// The page or user id the token acts for, where the network needs one.
        #[serde(default)]
        subject: Option<String>,
        /// The account's own server (a Mastodon instance), when not the configured default.
        #[serde(default)]
        server: Option<String>,
    },
    /// A Bluesky app password.
    AppPassword {
        identifier: String,
        #[schema(value_type = String)]
        password: SecretString,
        #[serde(default)]
        server: Option<String>,
    },
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Connection {
    /// `connected`.
    pub connection: String,
    /// Who Herald posts as on the network.
    pub connected_as: String,
}

/// Connects the account (its gatekeeper, from a browser session): checks the credentials with
/// the network and keeps the tokens in the vault.
#[utoipa::path(put, path = "/api/v1/accounts/{id}/connection", tag = "accounts", security(("session" = [])), request_body = ConnectRequest, params(("id" = i64, Path)),
    responses((status = 200, description = "Connected", body = Connection), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 403, description = "Not the gatekeeper, or an API token", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such account", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "The network refused the credentials", body = crate::http::Problem, content_type = "application/problem+json"), (status = 503, description = "The network could not be asked", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn connect(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<ConnectRequest>,
) -> Result<Json<Connection>, ApiError> {
    caller.require(Permission::UseVault)?;
    let grant = match request {
        ConnectRequest::AccessToken {
            token,
            subject,
            server,
        } => networks::Grant::AccessToken {
            token,
            subject,
            server,
        },
        ConnectRequest::AppPassword {
            identifier,
            password,
            server,
        } => networks::Grant::AppPassword {
            identifier,
            password,
            server,
        },
    };
    let now = state.clock.now();
    let handle = connections::connect(
        &state.store,
        &state.keys,
        &state.networks,
        &caller.user,
        id,
        &grant,
        now,
    )
    .await?;
    Ok(Json(Connection {
        connection: "connected".to_owned(),
        connected_as: handle,
    }))
}
