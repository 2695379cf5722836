//! `/api/v1/accounts/{id}/connection`: the gatekeeper connects Herald to the account at its
//! network. The tokens go into the vault; the answer says only as whom Herald now posts.

use crate::domain::ids::AccountId;
use axum::Json;
use axum::extract::State;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::access::Permission;
use crate::http::auth::Caller;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::{ApiError, AppState};
use crate::services::connections;

/// How the gatekeeper connects the account: `method` says which fields follow.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
#[schema(example = json!({"method": "access_token", "token": "wX3k9Qv2-cafe-lune-app-token", "server": "social.example"}))]
pub enum ConnectRequest {
    /// A token made at the network (a Mastodon application token, a Facebook Page token).
    AccessToken {
        /// As the network shows it, without line breaks or other control characters.
        #[schema(value_type = String, min_length = 1, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
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
        /// The account's handle or e-mail address at Bluesky.
        #[schema(example = "cafelune.bsky.social")]
        identifier: String,
        /// The app password, without line breaks or other control characters.
        #[schema(value_type = String, min_length = 1, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$", example = "abcd-efgh-ijkl-mnop")]
        password: SecretString,
        /// The account's own PDS, when not the configured default.
        #[serde(default)]
        server: Option<String>,
    },
}

/// [`ConnectRequest`] as the document shows it: each method's object refuses fields it does
/// not know, as the `deny_unknown_fields` on the enum makes serde do (utoipa says so only for
/// structs).
#[derive(Debug)]
pub struct ConnectBody;

impl utoipa::PartialSchema for ConnectBody {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, Schema};
        let mut schema = <ConnectRequest as utoipa::PartialSchema>::schema();
        if let utoipa::openapi::RefOr::T(Schema::OneOf(methods)) = &mut schema {
            for method in &mut methods.items {
                if let utoipa::openapi::RefOr::T(Schema::Object(fields)) = method {
                    fields.additional_properties =
                        Some(Box::new(AdditionalProperties::FreeForm(false)));
                }
            }
        }
        schema
    }
}

impl ToSchema for ConnectBody {
    fn name() -> std::borrow::Cow<'static, str> {
        ConnectRequest::name()
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"connection": "connected", "connected_as": "@cafelune@social.example"}))]
pub struct Connection {
    /// `connected`.
    pub connection: String,
    /// Who Herald posts as on the network.
    pub connected_as: String,
}

/// Connects an account to its network
///
/// Connects Herald to the account at its network with a token or an app password: Herald checks
/// them with the network and keeps the tokens it gets in the vault. The account's gatekeeper only,
/// from a browser session; audited. The answer says only as whom Herald now posts.
#[utoipa::path(put, path = "/api/v1/accounts/{id}/connection", tag = "accounts", security(("session" = [])), request_body = ConnectBody, params(("id" = i64, Path)),
    responses((status = 200, description = "Connected", body = Connection), (status = 403, description = "Not the gatekeeper, or an API token", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such account", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "The network refused the credentials", body = crate::http::Problem, content_type = "application/problem+json"), (status = 503, description = "The network could not be asked", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn connect(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<AccountId>,
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
    let handle = connections::connect(&state, &caller.user, id, &grant, now).await?;
    Ok(Json(Connection {
        connection: "connected".to_owned(),
        connected_as: handle,
    }))
}
