//! Pages for social accounts: the list with each account's security posture, adding an
//! account, and one account's credentials (stored and revealed by its gatekeeper only).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Layout, PageError, render};
use crate::accounts::{self, NewAccountRequest, Visible};
use crate::credentials;
use crate::domain::access::{AccountAction, Permission};
use crate::domain::accounts::{AccountLevel, Network, SecretField};
use crate::domain::people::Role;
use crate::http::auth::{Caller, CsrfForm};
use crate::http::{ApiError, AppState, assets};
use crate::people::PeopleError;

/// One posture flag: a short label, good or needing attention.
#[derive(Debug, Clone)]
pub struct Flag {
    pub label: String,
    pub good: bool,
}

#[derive(Debug)]
pub struct Row {
    pub id: i64,
    pub name: String,
    pub handle: String,
    pub network: &'static str,
    pub colour: String,
    pub level: String,
    pub gatekeeper: String,
    pub gatekeeper_active: bool,
    pub flags: Vec<Flag>,
}

#[derive(Template)]
#[template(path = "accounts.html")]
struct AccountsPage {
    layout: Layout,
    rows: Vec<Row>,
    can_add: bool,
    csrf: String,
    networks: Vec<(&'static str, &'static str)>,
    members: Vec<(i64, String)>,
    error: Option<String>,
    colours_script: String,
}

#[derive(Template)]
#[template(path = "social_account.html")]
struct AccountPage {
    layout: Layout,
    id: i64,
    name: String,
    network: &'static str,
    handle: String,
    colour: String,
    level: String,
    facts: Vec<String>,
    is_gatekeeper: bool,
    csrf: String,
    revealed: Option<String>,
    error: Option<String>,
    colours_script: String,
}

#[derive(Debug, Deserialize)]
pub struct CredentialForm {
    field: String,
    value: String,
}

#[derive(Debug, Deserialize)]
pub struct RevealForm {
    field: String,
    #[serde(default)]
    code: String,
}

pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Response, PageError> {
    caller.require(Permission::ViewAccounts)?;
    list_view(&state, &caller, None).await
}

pub async fn add(
    State(state): State<AppState>,
    CsrfForm { caller, form }: CsrfForm<NewAccountRequest>,
) -> Result<Response, PageError> {
    caller.require(Permission::AddAccounts)?;
    match accounts::create(&state.store, &caller.user, &form, state.clock.now()).await {
        Ok(account) => Ok(Redirect::to(&format!("/accounts/{}", account.id)).into_response()),
        Err(error) => list_view(&state, &caller, Some(message(error))).await,
    }
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    caller.require(Permission::ViewAccounts)?;
    account_view(&state, &caller, id, None, None, StatusCode::OK).await
}

pub async fn store_credential(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm { caller, form }: CsrfForm<CredentialForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::UseVault)?;
    let field =
        SecretField::parse(&form.field).map_err(|error| ApiError::NotFound(error.to_string()))?;
    match credentials::put(
        &state.store,
        &state.keys,
        &caller.user,
        id,
        field,
        &form.value,
        state.clock.now(),
    )
    .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/accounts/{id}")).into_response()),
        Err(error) => {
            let status = status_of(&error);
            account_view(&state, &caller, id, None, Some(message(error)), status).await
        }
    }
}

pub async fn reveal(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm { caller, form }: CsrfForm<RevealForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::UseVault)?;
    let field =
        SecretField::parse(&form.field).map_err(|error| ApiError::NotFound(error.to_string()))?;
    match credentials::reveal(
        &state.store,
        &state.keys,
        &caller.user,
        id,
        field,
        &form.code,
        state.clock.now(),
    )
    .await
    {
        Ok(value) => {
            account_view(
                &state,
                &caller,
                id,
                Some(value.to_string()),
                None,
                StatusCode::OK,
            )
            .await
        }
        Err(PeopleError::NotFound(message)) if message.starts_with("there is no account") => {
            Err(ApiError::NotFound(message).into())
        }
        Err(error) => {
            let status = status_of(&error);
            account_view(&state, &caller, id, None, Some(message(error)), status).await
        }
    }
}

async fn list_view(
    state: &AppState,
    caller: &Caller,
    error: Option<String>,
) -> Result<Response, PageError> {
    let users = state.store.list_users().await?;
    let name_of = |id: i64| users.iter().find(|user| user.id == id);
    let mut rows = Vec::new();
    for Visible { account, level } in accounts::visible(&state.store, &caller.user).await? {
        let gatekeeper = name_of(account.gatekeeper_id);
        rows.push(Row {
            flags: posture(state, account.id).await?,
            id: account.id,
            name: account.display_name,
            handle: account.handle,
            network: account.network.label(),
            colour: account.avatar_colour,
            level: level.map_or_else(|| "manage only".to_owned(), |level| level.to_string()),
            gatekeeper: gatekeeper.map_or_else(String::new, |user| user.name.clone()),
            gatekeeper_active: gatekeeper.is_some_and(|user| user.active),
        });
    }
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = AccountsPage {
        layout: Layout::signed_in("Social accounts · Herald", caller),
        rows,
        can_add: caller.user.role >= Role::Admin,
        csrf: caller.csrf_token().unwrap_or_default().to_owned(),
        networks: Network::ALL
            .iter()
            .map(|network| (network.as_str(), network.label()))
            .collect(),
        members: users
            .iter()
            .filter(|user| user.active)
            .map(|user| (user.id, user.name.clone()))
            .collect(),
        error,
        colours_script: assets::url("colours.js"),
    };
    Ok(render(status, &page))
}

async fn account_view(
    state: &AppState,
    caller: &Caller,
    id: i64,
    revealed: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let visible = accounts::open(&state.store, &caller.user, id, AccountAction::View)
        .await
        .map_err(ApiError::from)?;
    let facts = credentials::facts(&state.store, &caller.user, id)
        .await
        .map_err(ApiError::from)?;
    let account = visible.account;
    let page = AccountPage {
        layout: Layout::signed_in(&format!("{} · Herald", account.display_name), caller),
        id,
        name: account.display_name,
        network: account.network.label(),
        handle: account.handle,
        colour: account.avatar_colour,
        level: visible
            .level
            .map_or_else(|| "manage only".to_owned(), |level| level.to_string()),
        facts: facts
            .iter()
            .map(|fact| {
                let mut text = format!(
                    "{} · stored {}",
                    fact.field.replace('_', " "),
                    fact.updated_at.strftime("%Y-%m-%d")
                );
                if let Some(score) = fact.strength {
                    text.push_str(&format!(" · strength {score}/4"));
                }
                if fact.reused {
                    text.push_str(" · used on another account too");
                }
                text
            })
            .collect(),
        is_gatekeeper: visible.level == Some(AccountLevel::Gatekeeper),
        csrf: caller.csrf_token().unwrap_or_default().to_owned(),
        revealed,
        error,
        colours_script: assets::url("colours.js"),
    };
    Ok(render(status, &page))
}

/// The posture flags of one account: what is stored, how strong, reused, to rotate.
async fn posture(state: &AppState, account_id: i64) -> Result<Vec<Flag>, PageError> {
    let secrets = state.store.secrets_of(account_id).await?;
    let password = secrets
        .iter()
        .find(|secret| secret.field == SecretField::LoginPassword.as_str());
    let mut flags = Vec::new();
    let flag = |label: &str, good: bool| Flag {
        label: label.to_owned(),
        good,
    };
    match password {
        None => flags.push(flag("no password stored", false)),
        Some(password) => {
            let strong = password.strength.is_some_and(|score| score >= 3);
            flags.push(flag(
                if strong {
                    "strong password"
                } else {
                    "weak password"
                },
                strong,
            ));
            if let Some(fingerprint) = &password.fingerprint
                && !state
                    .store
                    .accounts_sharing_password(account_id, fingerprint)
                    .await?
                    .is_empty()
            {
                flags.push(flag("password reused", false));
            }
            let age = password
                .updated_at
                .duration_until(state.clock.now())
                .as_hours()
                / 24;
            flags.push(flag(&format!("password {age} days old"), true));
        }
    }
    let has_seed = secrets
        .iter()
        .any(|secret| secret.field == SecretField::TotpSeed.as_str());
    flags.push(flag(
        if has_seed {
            "2FA recorded"
        } else {
            "2FA not recorded"
        },
        has_seed,
    ));
    if state
        .store
        .rotations_of(account_id)
        .await?
        .iter()
        .any(|rotation| rotation.done_at.is_none())
    {
        flags.push(flag("rotate now", false));
    }
    Ok(flags)
}

fn message(error: PeopleError) -> String {
    ApiError::from(error).problem().detail
}

fn status_of(error: &PeopleError) -> StatusCode {
    match error {
        PeopleError::Denied(_) => StatusCode::FORBIDDEN,
        PeopleError::NotFound(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}
