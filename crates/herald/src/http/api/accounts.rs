//! `/api/v1/accounts`: the company's social accounts, their gatekeepers and who may use them.

use crate::domain::ids::{AccountId, UserId};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::access::{AccountAction, Permission};
use crate::domain::accounts::{AccountLevel, Network};
use crate::http::auth::Caller;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::{ApiError, AppState};
use crate::services::accounts::{self, NewAccountRequest, Visible};

/// A social account to add. The web form's `NewAccountRequest` carries its `csrf` field
/// too, so the API has its own body that refuses fields it does not know.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "network": "mastodon", "handle": "@cafelune@social.example", "display_name": "Café Lune",
    "avatar_colour": "#1f5f5b", "gatekeeper_id": 1, "confirm_before_publish": false
}))]
pub struct NewAccount {
    pub network: Network,
    /// The account's handle as the network writes it; each network has its own rule (see
    /// `NewAccountByNetwork`).
    #[schema(min_length = 1)]
    pub handle: String,
    /// The name people see in Herald: not blank, at most 100 characters, no control
    /// characters.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub display_name: String,
    /// `#rrggbb`, shown beside every post so the account is unmistakable.
    #[schema(pattern = "^#[0-9A-Fa-f]{6}$", example = "#1f5f5b")]
    pub avatar_colour: String,
    /// The active member who alone decides who else may use the account.
    pub gatekeeper_id: UserId,
    /// Ask for explicit confirmation every time something is published to it.
    #[serde(default)]
    pub confirm_before_publish: bool,
}

/// [`NewAccount`] with each network's handle rule: what `POST /api/v1/accounts` takes. Only
/// the document uses it; the handler reads a `NewAccount`.
#[derive(Debug)]
pub struct NewAccountByNetwork;

impl utoipa::PartialSchema for NewAccountByNetwork {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        use utoipa::openapi::schema::AllOfBuilder;
        let per_network = handles_by_network();
        AllOfBuilder::new()
            .description(Some(
                "A social account to add, with each network's rule for its handle: X 1 to 15 \
                 letters, digits or underscores; Instagram and Threads 1 to 30 letters, digits, \
                 dots or underscores; Bluesky a domain name; Mastodon the user (at most 30 \
                 letters, digits or underscores) and the server; LinkedIn and Facebook the \
                 page's name in its web address. A leading `@` is optional.",
            ))
            .examples([serde_json::json!({
                "network": "mastodon", "handle": "@cafelune@social.example",
                "display_name": "Café Lune", "avatar_colour": "#1f5f5b", "gatekeeper_id": 1,
                "confirm_before_publish": false
            })])
            .item(utoipa::openapi::Ref::from_schema_name(NewAccount::name()))
            .item(per_network)
            .into()
    }
}

/// Each network's rule for a handle (the rules of `Handle::parse`, without the spaces around a
/// handle that it forgives), as one `network` + `handle` object per network: the document's
/// shape of every request that names a network and a handle.
pub(crate) fn handles_by_network() -> utoipa::openapi::schema::OneOfBuilder {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    let rules = [
        ("x", "^@*[A-Za-z0-9_]{1,15}$", 31, "@cafelune"),
        ("instagram", "^@*[A-Za-z0-9._]{1,30}$", 46, "@cafe.lune"),
        ("threads", "^@*[A-Za-z0-9._]{1,30}$", 46, "@cafe.lune"),
        (
            "bluesky",
            r"^@*[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$",
            253,
            "cafelune.bsky.social",
        ),
        (
            "mastodon",
            r"^@*[A-Za-z0-9_]{1,30}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$",
            255,
            "@cafelune@social.example",
        ),
        ("linkedin", "^[A-Za-z0-9._-]{1,100}$", 100, "harbour-homes"),
        ("facebook", "^[A-Za-z0-9._-]{1,100}$", 100, "harbour.homes"),
    ];
    rules.into_iter().fold(
        OneOfBuilder::new(),
        |one_of, (network, pattern, longest, like)| {
            let handle = ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(pattern))
                .max_length(Some(longest))
                .examples([like]);
            one_of.item(
                ObjectBuilder::new()
                    .title(Some(network))
                    .property(
                        "network",
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .enum_values(Some([network])),
                    )
                    .property("handle", handle),
            )
        },
    )
}

impl ToSchema for NewAccountByNetwork {
    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::Schema>)>) {
        schemas.push((
            NewAccount::name().into(),
            <NewAccount as utoipa::PartialSchema>::schema(),
        ));
        <NewAccount as ToSchema>::schemas(schemas);
    }
}

impl From<NewAccount> for NewAccountRequest {
    fn from(account: NewAccount) -> NewAccountRequest {
        NewAccountRequest {
            network: account.network,
            handle: account.handle,
            display_name: account.display_name,
            avatar_colour: account.avatar_colour,
            gatekeeper_id: account.gatekeeper_id,
            confirm_before_publish: account.confirm_before_publish,
        }
    }
}

/// A social account as the caller sees it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 1, "network": "mastodon", "handle": "@cafelune@social.example", "display_name": "Café Lune",
    "avatar_colour": "#1f5f5b", "gatekeeper_id": 1, "confirm_before_publish": false,
    "your_level": "gatekeeper"
}))]
pub struct AccountView {
    pub id: AccountId,
    pub network: Network,
    pub handle: String,
    pub display_name: String,
    pub avatar_colour: String,
    pub gatekeeper_id: UserId,
    pub confirm_before_publish: bool,
    /// The caller's own level on the account; absent for owners and admins who see it only to
    /// manage it.
    pub your_level: Option<AccountLevel>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GrantView {
    pub user_id: UserId,
    pub level: AccountLevel,
}

/// A social account, with who else may use it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 1, "network": "mastodon", "handle": "@cafelune@social.example", "display_name": "Café Lune",
    "avatar_colour": "#1f5f5b", "gatekeeper_id": 1, "confirm_before_publish": false,
    "your_level": "gatekeeper", "grants": [{"user_id": 4, "level": "contributor"}]
}))]
pub struct AccountDetail {
    #[serde(flatten)]
    pub account: AccountView,
    /// Who else may use the account; only for its gatekeeper and owners.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grants: Option<Vec<GrantView>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"level": "contributor"}))]
pub struct GrantRequest {
    pub level: GrantLevel,
}

/// A level that can be granted: the gatekeeper is named by an owner
/// (`PUT …/gatekeeper`), not granted.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum GrantLevel {
    Publisher,
    Contributor,
    Viewer,
}

impl From<GrantLevel> for AccountLevel {
    fn from(level: GrantLevel) -> AccountLevel {
        match level {
            GrantLevel::Publisher => AccountLevel::Publisher,
            GrantLevel::Contributor => AccountLevel::Contributor,
            GrantLevel::Viewer => AccountLevel::Viewer,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"user_id": 4}))]
pub struct GatekeeperRequest {
    /// An active member of the organisation.
    pub user_id: UserId,
}

impl From<Visible> for AccountView {
    fn from(visible: Visible) -> AccountView {
        let account = visible.account;
        AccountView {
            id: account.id,
            network: account.network,
            handle: account.handle,
            display_name: account.display_name,
            avatar_colour: account.avatar_colour,
            gatekeeper_id: account.gatekeeper_id,
            confirm_before_publish: account.confirm_before_publish,
            your_level: visible.level,
        }
    }
}

/// Lists the accounts the caller may see
///
/// The social accounts the caller may see, each with the caller's own level on it. Owners and
/// admins see every account; other members only those they hold a grant on or keep the gate of.
#[utoipa::path(get, path = "/api/v1/accounts", operation_id = "list_accounts", tag = "accounts", security(("token" = ["accounts:read"]), ("session" = [])),
    responses((status = 200, description = "Accounts", body = [AccountView]), (status = 403, description = "Token lacks accounts:read", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<AccountView>>, ApiError> {
    caller.require(Permission::ViewAccounts)?;
    let visible = accounts::visible(&state.store, &caller.user).await?;
    Ok(Json(visible.into_iter().map(AccountView::from).collect()))
}

/// Adds a social account
///
/// Adds a social account and names its gatekeeper, the active member who alone decides who else
/// may use it. Owners and admins only; audited. The handle must follow the network's own rule.
#[utoipa::path(post, path = "/api/v1/accounts", operation_id = "create_account", tag = "accounts", security(("token" = ["accounts:write"]), ("session" = [])), request_body = NewAccountByNetwork,
    responses((status = 201, description = "Added", body = AccountView), (status = 403, description = "Owners and admins only", body = crate::http::Problem, content_type = "application/problem+json"), (status = 409, description = "Already added", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "A field is not acceptable", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<NewAccount>,
) -> Result<Response, ApiError> {
    caller.require(Permission::AddAccounts)?;
    let request = NewAccountRequest::from(request);
    let account = accounts::create(&state.store, &caller.user, &request, state.clock.now()).await?;
    let view = AccountView::from(Visible {
        level: accounts::level_of(&state.store, &account, caller.user.id).await?,
        account,
    });
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// Reads an account
///
/// One account; its gatekeeper and owners also see its grants. An account the caller may not see
/// answers 404, like one that does not exist.
#[utoipa::path(get, path = "/api/v1/accounts/{id}", tag = "accounts", security(("token" = ["accounts:read"]), ("session" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "The account", body = AccountDetail), (status = 404, description = "No such account, or not visible to you", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<AccountId>,
) -> Result<Json<AccountDetail>, ApiError> {
    caller.require(Permission::ViewAccounts)?;
    let visible = accounts::open(&state.store, &caller.user, id, AccountAction::View).await?;
    let may_manage = crate::domain::access::check_account(
        caller.user.role,
        visible.level,
        AccountAction::ManageAccess,
    )
    .is_ok();
    let grants = if may_manage {
        let grants = state.store.grants(id).await?;
        Some(
            grants
                .into_iter()
                .map(|(user_id, level)| GrantView { user_id, level })
                .collect(),
        )
    } else {
        None
    };
    Ok(Json(AccountDetail {
        account: AccountView::from(visible),
        grants,
    }))
}

/// Grants a member access to an account
///
/// Gives an active member publisher, contributor or viewer access to the account, or changes it.
/// The account's gatekeeper or an owner may; audited either way.
#[utoipa::path(put, path = "/api/v1/accounts/{id}/grants/{user_id}", tag = "accounts", security(("token" = ["accounts:write"]), ("session" = [])), request_body = GrantRequest, params(("id" = i64, Path), ("user_id" = i64, Path)),
    responses((status = 204, description = "Granted"), (status = 403, description = "Not the gatekeeper or an owner", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such account", body = crate::http::Problem, content_type = "application/problem+json"), (status = 409, description = "The member is the account's gatekeeper already", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "Not an active member, or not a level that can be granted", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn grant(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, user_id)): ApiPath<(AccountId, UserId)>,
    ApiJson(request): ApiJson<GrantRequest>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageAccountAccess)?;
    accounts::grant(
        &state.store,
        &caller.user,
        id,
        user_id,
        request.level.into(),
        state.clock.now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes a member's access to an account
///
/// Takes a member's grant on the account away. The account's gatekeeper or an owner may; audited.
#[utoipa::path(delete, path = "/api/v1/accounts/{id}/grants/{user_id}", tag = "accounts", security(("token" = ["accounts:write"]), ("session" = [])), params(("id" = i64, Path), ("user_id" = i64, Path)),
    responses((status = 204, description = "Revoked"), (status = 403, description = "Not the gatekeeper or an owner", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such account or grant", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, user_id)): ApiPath<(AccountId, UserId)>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageAccountAccess)?;
    accounts::revoke(&state.store, &caller.user, id, user_id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Names a new gatekeeper
///
/// Makes another active member the account's gatekeeper. Owners only; audited.
#[utoipa::path(put, path = "/api/v1/accounts/{id}/gatekeeper", tag = "accounts", security(("token" = ["accounts:write"]), ("session" = [])), request_body = GatekeeperRequest, params(("id" = i64, Path)),
    responses((status = 200, description = "Reassigned", body = AccountView), (status = 403, description = "Owners only", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such account", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "Not an active member", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn reassign_gatekeeper(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<AccountId>,
    ApiJson(request): ApiJson<GatekeeperRequest>,
) -> Result<Json<AccountView>, ApiError> {
    caller.require(Permission::ManageAccountAccess)?;
    let account = accounts::reassign_gatekeeper(
        &state.store,
        &caller.user,
        id,
        request.user_id,
        state.clock.now(),
    )
    .await?;
    let level = accounts::level_of(&state.store, &account, caller.user.id).await?;
    Ok(Json(AccountView::from(Visible { account, level })))
}
