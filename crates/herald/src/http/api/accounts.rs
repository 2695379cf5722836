//! `/api/v1/accounts`: the company's social accounts, their gatekeepers and who may use them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::{self, NewAccountRequest, Visible};
use crate::domain::access::{AccountAction, Permission};
use crate::domain::accounts::{AccountLevel, Network};
use crate::http::auth::Caller;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::{ApiError, AppState};

/// A social account as the caller sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    pub id: i64,
    pub network: Network,
    pub handle: String,
    pub display_name: String,
    pub avatar_colour: String,
    pub gatekeeper_id: i64,
    pub confirm_before_publish: bool,
    /// The caller's own level on the account; absent for owners and admins who see it only to
    /// manage it.
    pub your_level: Option<AccountLevel>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GrantView {
    pub user_id: i64,
    pub level: AccountLevel,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountDetail {
    #[serde(flatten)]
    pub account: AccountView,
    /// Who else may use the account; only for its gatekeeper and owners.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grants: Option<Vec<GrantView>>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct GrantRequest {
    /// `publisher`, `contributor` or `viewer`.
    pub level: AccountLevel,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct GatekeeperRequest {
    pub user_id: i64,
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

/// The accounts the caller may see. A member without a grant does not see an account at all.
#[utoipa::path(get, path = "/api/v1/accounts", tag = "accounts", security(("token" = ["accounts:read"]), ("session" = [])),
    responses((status = 200, description = "Accounts", body = [AccountView]), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 403, description = "Token lacks accounts:read", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<AccountView>>, ApiError> {
    caller.require(Permission::ViewAccounts)?;
    let visible = accounts::visible(&state.store, &caller.user).await?;
    Ok(Json(visible.into_iter().map(AccountView::from).collect()))
}

/// Adds an account and names its gatekeeper (owners and admins).
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", security(("token" = ["accounts:write"]), ("session" = [])), request_body = NewAccountRequest,
    responses((status = 201, description = "Added", body = AccountView), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 403, description = "Owners and admins only", body = crate::http::Problem, content_type = "application/problem+json"), (status = 409, description = "Already added", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "A field is not acceptable", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<NewAccountRequest>,
) -> Result<Response, ApiError> {
    caller.require(Permission::AddAccounts)?;
    let account = accounts::create(&state.store, &caller.user, &request, state.clock.now()).await?;
    let view = AccountView::from(Visible {
        level: accounts::level_of(&state.store, &account, caller.user.id).await?,
        account,
    });
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// One account, with its grants for its gatekeeper and owners. Accounts the caller may not see
/// are 404, like accounts that do not exist.
#[utoipa::path(get, path = "/api/v1/accounts/{id}", tag = "accounts", security(("token" = ["accounts:read"]), ("session" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "The account", body = AccountDetail), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such account, or not visible to you", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
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

/// Gives a member access to the account (its gatekeeper, or an owner; audited either way).
#[utoipa::path(put, path = "/api/v1/accounts/{id}/grants/{user_id}", tag = "accounts", security(("token" = ["accounts:write"]), ("session" = [])), request_body = GrantRequest, params(("id" = i64, Path), ("user_id" = i64, Path)),
    responses((status = 204, description = "Granted"), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 403, description = "Not the gatekeeper or an owner", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such account", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "Not an active member, or not a level", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn grant(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, user_id)): ApiPath<(i64, i64)>,
    ApiJson(request): ApiJson<GrantRequest>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageAccountAccess)?;
    accounts::grant(
        &state.store,
        &caller.user,
        id,
        user_id,
        request.level,
        state.clock.now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Takes a member's access to the account away.
#[utoipa::path(delete, path = "/api/v1/accounts/{id}/grants/{user_id}", tag = "accounts", security(("token" = ["accounts:write"]), ("session" = [])), params(("id" = i64, Path), ("user_id" = i64, Path)),
    responses((status = 204, description = "Revoked"), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 403, description = "Not the gatekeeper or an owner", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such account or grant", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, user_id)): ApiPath<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageAccountAccess)?;
    accounts::revoke(&state.store, &caller.user, id, user_id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Names a new gatekeeper (owners only; audited).
#[utoipa::path(put, path = "/api/v1/accounts/{id}/gatekeeper", tag = "accounts", security(("token" = ["accounts:write"]), ("session" = [])), request_body = GatekeeperRequest, params(("id" = i64, Path)),
    responses((status = 200, description = "Reassigned", body = AccountView), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 403, description = "Owners only", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such account", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "Not an active member", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn reassign_gatekeeper(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
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
