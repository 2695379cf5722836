//! Pages for social accounts: the list with each account's security posture, adding an
//! account, and one account's page: its credentials (stored and revealed by its gatekeeper
//! only), its weekly queue (publishers), and its connection to the network (the gatekeeper
//! connects it with a token or an app password, which is sealed and never shown again).

use crate::domain::ids::{AccountId, PostId, UserId};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Layout, PageError, message, render, status_of};
use secrecy::{ExposeSecret, SecretString};

use super::people::FieldError;
use crate::domain::access::{AccountAction, Permission, check_account};
use crate::domain::accounts::{AccountLevel, Network, SecretField};
use crate::domain::people::Role;
use crate::domain::schedule::Slot;
use crate::http::auth::{Caller, CsrfForm};
use crate::http::{ApiError, AppState};
use crate::services::AppError;
use crate::services::accounts::{self, NewAccountRequest, Visible};
use crate::services::credentials;

/// One posture flag: a short label, good or needing attention.
#[derive(Debug, Clone)]
pub struct Flag {
    pub label: String,
    pub good: bool,
}

#[derive(Debug)]
pub struct Row {
    pub id: AccountId,
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
    members: Vec<(UserId, String)>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "social_account.html")]
struct AccountPage {
    layout: Layout,
    id: AccountId,
    name: String,
    network: &'static str,
    handle: String,
    colour: String,
    level: String,
    facts: Vec<String>,
    is_gatekeeper: bool,
    csrf: String,
    shown: Option<Shown>,
    error: Option<String>,
    /// The queue: its zone (as typed, after a refused save) and its slots.
    time_zone: String,
    slots: Vec<SlotRow>,
    may_edit_queue: bool,
    /// (1 = Monday, "Monday") … for the new slot's weekday.
    weekdays: Vec<(i8, &'static str)>,
    /// `not_connected`, `connected` or `reconnect_needed`, and as whom.
    connection: String,
    connected_as: Option<String>,
    /// Bluesky connects with an app password; the others with a token.
    app_password: bool,
    may_connect: bool,
    typed: Typed,
    access: Access,
    levels: [(&'static str, &'static str); 3],
    /// The posts scheduled on this account, soonest first: what its queue holds.
    queued: Vec<Queued>,
}

/// A scheduled post as the account's page lists it.
#[derive(Debug)]
struct Queued {
    id: PostId,
    excerpt: String,
    at: super::posts::ShownTime,
}

/// The account's people as its page lists them, and what the viewer may change.
#[derive(Debug)]
struct Access {
    gatekeeper: String,
    /// (member id, name, level) for each member with a grant.
    granted: Vec<(UserId, String, &'static str)>,
    /// Active members without access: (id, name).
    others: Vec<(UserId, String)>,
    /// The gatekeeper, or an owner: grant, change and revoke.
    may_manage: bool,
    /// Owners name the gatekeeper: every active member but the present one.
    gatekeeper_choices: Option<Vec<(UserId, String)>>,
}

/// The levels a grant may have, with what each may do, in people's words.
const LEVELS: [(&str, &str); 3] = [
    (
        "publisher",
        "Publisher: writes, approves and schedules posts, their own and others'",
    ),
    (
        "contributor",
        "Contributor: writes drafts and submits them; a publisher approves them",
    ),
    (
        "viewer",
        "Viewer: sees the account and its posts, changes nothing",
    ),
];

/// One weekly queue slot as the page lists it.
#[derive(Debug)]
struct SlotRow {
    /// `1@09:30`: what the form sends back for it.
    value: String,
    weekday: &'static str,
    time: String,
}

/// What the queue and connection forms held when a save was refused, and why, so the page
/// comes back as it was left. Tokens and passwords are never among them.
#[derive(Debug, Default)]
struct Typed {
    time_zone: Option<String>,
    add_weekday: i8,
    add_time: String,
    queue_error: Option<FieldError>,
    server: String,
    subject: String,
    identifier: String,
    connect_error: Option<String>,
}

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// A value the page shows once: a revealed credential or a newly generated password.
#[derive(Debug)]
enum Shown {
    Revealed(String),
    Generated(String),
}

/// Giving, changing or taking away a member's access: `level` is publisher, contributor,
/// viewer, or `none`.
#[derive(Debug, Deserialize)]
pub struct AccessForm {
    member_id: UserId,
    level: String,
}

/// Naming a new gatekeeper (owners).
#[derive(Debug, Deserialize)]
pub struct GatekeeperForm {
    member_id: UserId,
}

#[derive(Debug, Deserialize)]
pub struct CredentialForm {
    field: String,
    value: String,
}

#[derive(Debug, Deserialize)]
pub struct GenerateForm {
    #[serde(default)]
    length: String,
}

/// The connection form. Which fields count depends on the network: a token (with an optional
/// server and page or user id), or for Bluesky an identifier and an app password.
#[derive(Debug, Deserialize)]
pub struct ConnectForm {
    #[serde(default)]
    token: Option<SecretString>,
    #[serde(default)]
    password: Option<SecretString>,
    #[serde(default)]
    identifier: String,
    #[serde(default)]
    server: String,
    #[serde(default)]
    subject: String,
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
    Path(id): Path<AccountId>,
) -> Result<Response, PageError> {
    caller.require(Permission::ViewAccounts)?;
    account_view(&state, &caller, id, None, None, StatusCode::OK).await
}

pub async fn store_credential(
    State(state): State<AppState>,
    Path(id): Path<AccountId>,
    CsrfForm { caller, form }: CsrfForm<CredentialForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::UseVault)?;
    let field =
        SecretField::parse(&form.field).map_err(|error| ApiError::NotFound(error.to_string()))?;
    match credentials::put(
        &state,
        &caller.user,
        credentials::Slot {
            account_id: id,
            field,
        },
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
    Path(id): Path<AccountId>,
    CsrfForm { caller, form }: CsrfForm<RevealForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::UseVault)?;
    let field =
        SecretField::parse(&form.field).map_err(|error| ApiError::NotFound(error.to_string()))?;
    match credentials::reveal(
        &state,
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
                Some(Shown::Revealed(value.to_string())),
                None,
                StatusCode::OK,
            )
            .await
        }
        // An account that does not exist (or is hidden) fails account_view itself: a 404 page.
        Err(error) => {
            let status = status_of(&error);
            account_view(&state, &caller, id, None, Some(message(error)), status).await
        }
    }
}

pub async fn generate(
    State(state): State<AppState>,
    Path(id): Path<AccountId>,
    CsrfForm { caller, form }: CsrfForm<GenerateForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::UseVault)?;
    let length = match form.length.trim() {
        "" => None,
        text => match text.parse::<usize>() {
            Ok(length) => Some(length),
            Err(_) => {
                let error = Some("enter the length as a number of characters".to_owned());
                return account_view(
                    &state,
                    &caller,
                    id,
                    None,
                    error,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
        },
    };
    match credentials::generate_password(&state.store, &caller.user, id, length).await {
        Ok(password) => {
            let shown = Some(Shown::Generated(password.to_string()));
            account_view(&state, &caller, id, shown, None, StatusCode::OK).await
        }
        Err(error @ AppError::NotFound { .. }) => Err(error.into()),
        Err(error) => {
            let status = status_of(&error);
            account_view(&state, &caller, id, None, Some(message(error)), status).await
        }
    }
}

/// Saves the weekly queue: the time zone, the listed slots less the one whose "Remove" was
/// pressed, plus the new slot when a time was given. One form, so it works without scripts.
pub async fn save_queue(
    State(state): State<AppState>,
    Path(id): Path<AccountId>,
    CsrfForm { caller, form }: CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    caller.require(Permission::WritePosts)?;
    let value = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim().to_owned())
            .unwrap_or_default()
    };
    let mut typed = Typed {
        time_zone: Some(value("time_zone")),
        add_weekday: value("add_weekday").parse().unwrap_or(1),
        add_time: value("add_time"),
        ..Typed::default()
    };
    let removed = value("remove");
    let listed = form
        .iter()
        .filter(|(key, value)| key == "slot" && *value != removed)
        .map(|(_, value)| read_slot(value));
    let added = (!typed.add_time.is_empty()).then(|| Slot::new(typed.add_weekday, &typed.add_time));
    let slots = listed.chain(added).collect::<Result<Vec<_>, _>>();
    let saved = match slots {
        Ok(slots) => {
            let zone = typed.time_zone.clone().unwrap_or_default();
            let now = state.clock.now();
            crate::services::schedule::set_queue(&state.store, &caller.user, id, &zone, &slots, now)
                .await
        }
        Err(error) => Err(AppError::Invalid {
            field: "add_time",
            message: error.to_string(),
        }),
    };
    match saved {
        Ok(()) => Ok(Redirect::to(&format!("/accounts/{id}#queue")).into_response()),
        Err(error @ AppError::NotFound { .. }) => Err(error.into()),
        Err(error) => {
            let error = FieldError::from(error);
            let status = error.status;
            typed.queue_error = Some(error);
            account_view_with(&state, &caller, id, None, None, status, typed).await
        }
    }
}

/// Connects the account at its network (its gatekeeper only): the same service as
/// `PUT /api/v1/accounts/{id}/connection`. What was typed comes back on a refusal, except
/// the token or password, which is never written into a page.
pub async fn connect(
    State(state): State<AppState>,
    Path(id): Path<AccountId>,
    CsrfForm { caller, form }: CsrfForm<ConnectForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::UseVault)?;
    let typed = Typed {
        server: form.server.trim().to_owned(),
        subject: form.subject.trim().to_owned(),
        identifier: form.identifier.trim().to_owned(),
        ..Typed::default()
    };
    let optional = |text: &str| Some(text.to_owned()).filter(|text| !text.is_empty());
    let filled = |secret: Option<SecretString>| {
        secret.filter(|secret| !secret.expose_secret().trim().is_empty())
    };
    let grant = match (filled(form.password), filled(form.token)) {
        (Some(password), _) if !typed.identifier.is_empty() => Some(networks::Grant::AppPassword {
            identifier: typed.identifier.clone(),
            password,
            server: optional(&typed.server),
        }),
        (_, Some(token)) => Some(networks::Grant::AccessToken {
            token,
            subject: optional(&typed.subject),
            server: optional(&typed.server),
        }),
        _ => None,
    };
    let result = match grant {
        Some(grant) => {
            crate::services::connections::connect(
                &state,
                &caller.user,
                id,
                &grant,
                state.clock.now(),)
            .await
        }
        None => Err(AppError::Invalid {
            field: "credentials",
            message: "paste the token (or, for Bluesky, the handle and an app password) made at the network".to_owned(),
        }),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/accounts/{id}#connection")).into_response()),
        Err(error @ AppError::NotFound { .. }) => Err(error.into()),
        Err(error) => {
            let status = status_of(&error);
            let typed = Typed {
                connect_error: Some(message(error)),
                ..typed
            };
            account_view_with(&state, &caller, id, None, None, status, typed).await
        }
    }
}

/// Gives a member access to the account at a level, changes it, or (`none`) takes it away:
/// the same services as `PUT`/`DELETE /api/v1/accounts/{id}/grants/{user_id}`.
pub async fn access(
    State(state): State<AppState>,
    Path(id): Path<AccountId>,
    CsrfForm { caller, form }: CsrfForm<AccessForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManageAccountAccess)?;
    let now = state.clock.now();
    let (store, user) = (&state.store, &caller.user);
    let result = match form.level.as_str() {
        "none" => accounts::revoke(store, user, id, form.member_id, now).await,
        level => match AccountLevel::parse_grant(level) {
            Ok(level) => accounts::grant(store, user, id, form.member_id, level, now).await,
            Err(_) => Err(AppError::Invalid {
                field: "level",
                message: "Choose publisher, contributor, viewer or no access.".to_owned(),
            }),
        },
    };
    after_change(&state, &caller, id, result.map(drop), "access").await
}

/// Names a new gatekeeper (owners only): the same service as
/// `PUT /api/v1/accounts/{id}/gatekeeper`; the former one is told, and the password is marked
/// "rotate now".
pub async fn gatekeeper(
    State(state): State<AppState>,
    Path(id): Path<AccountId>,
    CsrfForm { caller, form }: CsrfForm<GatekeeperForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManageAccountAccess)?;
    let now = state.clock.now();
    let result =
        accounts::reassign_gatekeeper(&state.store, &caller.user, id, form.member_id, now).await;
    after_change(&state, &caller, id, result.map(drop), "access").await
}

/// Back to the account's section after a change, or the page again with the refusal.
async fn after_change(
    state: &AppState,
    caller: &Caller,
    id: AccountId,
    result: Result<(), AppError>,
    section: &str,
) -> Result<Response, PageError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/accounts/{id}#{section}")).into_response()),
        Err(error) => {
            let status = status_of(&error);
            account_view(state, caller, id, None, Some(message(error)), status).await
        }
    }
}

/// `1@09:30` (as the queue form lists a slot) as a slot.
fn read_slot(value: &str) -> Result<Slot, crate::domain::schedule::ScheduleError> {
    let (weekday, time) = value.split_once('@').unwrap_or(("", value));
    let weekday = weekday
        .parse()
        .map_err(|_| crate::domain::schedule::ScheduleError::BadWeekday)?;
    Slot::new(weekday, time)
}

async fn list_view(
    state: &AppState,
    caller: &Caller,
    error: Option<String>,
) -> Result<Response, PageError> {
    let users = state.store.list_users().await?;
    let name_of = |id: UserId| users.iter().find(|user| user.id == id);
    let mut rows = Vec::new();
    for Visible { account, level } in accounts::visible(&state.store, &caller.user).await? {
        let gatekeeper = name_of(account.gatekeeper_id);
        rows.push(Row {
            flags: posture(state, caller, account.id).await?,
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
        layout: Layout::signed_in("Social accounts · Herald", "/accounts", caller),
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
    };
    Ok(render(status, &page))
}

async fn account_view(
    state: &AppState,
    caller: &Caller,
    id: AccountId,
    shown: Option<Shown>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    account_view_with(state, caller, id, shown, error, status, Typed::default()).await
}

async fn account_view_with(
    state: &AppState,
    caller: &Caller,
    id: AccountId,
    shown: Option<Shown>,
    error: Option<String>,
    status: StatusCode,
    typed: Typed,
) -> Result<Response, PageError> {
    let visible = accounts::open(&state.store, &caller.user, id, AccountAction::View)
        .await
        .map_err(ApiError::from)?;
    let facts = credentials::facts(&state.store, &caller.user, id)
        .await
        .map_err(ApiError::from)?;
    let (zone, slots) = crate::services::schedule::queue(&state.store, &caller.user, id)
        .await
        .map_err(ApiError::from)?;
    let may = |action| check_account(caller.user.role, visible.level, action).is_ok();
    let may_edit_queue = may(AccountAction::Publish);
    let may_connect = may(AccountAction::Connect);
    let people = accounts::people(&state.store, &caller.user, id)
        .await
        .map_err(ApiError::from)?;
    let access = Access {
        gatekeeper: people.gatekeeper.name.clone(),
        granted: people
            .granted
            .iter()
            .map(|(member, level)| (member.id, member.name.clone(), level.as_str()))
            .collect(),
        others: people
            .others
            .iter()
            .map(|member| (member.id, member.name.clone()))
            .collect(),
        may_manage: may(AccountAction::ManageAccess),
        gatekeeper_choices: (caller.user.role == Role::Owner).then(|| {
            people
                .granted
                .iter()
                .map(|(member, _)| member)
                .filter(|member| member.active)
                .chain(&people.others)
                .map(|member| (member.id, member.name.clone()))
                .collect()
        }),
    };
    let upcoming = crate::services::posts::ListFilter {
        account_id: Some(id),
        state: Some(crate::domain::posts::PostState::Scheduled),
        ..crate::services::posts::ListFilter::default()
    };
    let mut queued: Vec<Queued> = crate::services::posts::list_in(
        &state.store,
        std::slice::from_ref(&visible),
        &upcoming,
        1,
        crate::services::posts::LONGEST_PAGE,
    )
    .await?
    .posts
    .into_iter()
    .filter_map(|(post, _)| {
        Some(Queued {
            id: post.id,
            excerpt: super::excerpt(&post.text),
            at: super::posts::shown_time(&zone, post.scheduled_at?),
        })
    })
    .collect();
    queued.sort_by(|a, b| a.at.iso.cmp(&b.at.iso));
    let account = visible.account;
    let page = AccountPage {
        queued,
        layout: Layout::signed_in(
            &format!("{} · Herald", account.display_name),
            "/accounts",
            caller,
        ),
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
        shown,
        error,
        time_zone: typed
            .time_zone
            .clone()
            .unwrap_or_else(|| zone.name().to_owned()),
        slots: slots
            .into_iter()
            .map(|slot| SlotRow {
                value: format!("{}@{}", slot.weekday, slot.time()),
                weekday: usize::try_from(slot.weekday - 1)
                    .ok()
                    .and_then(|index| WEEKDAYS.get(index))
                    .copied()
                    .unwrap_or(""),
                time: slot.time(),
            })
            .collect(),
        may_edit_queue,
        weekdays: (1..=7).zip(WEEKDAYS).collect(),
        connection: account.connection,
        connected_as: account.connected_as,
        app_password: account.network == Network::Bluesky,
        may_connect,
        typed,
        access,
        levels: LEVELS,
    };
    Ok(render(status, &page))
}

/// The posture flags of one account: what is stored, how strong, reused, breached, to rotate.
async fn posture(
    state: &AppState,
    caller: &Caller,
    account_id: AccountId,
) -> Result<Vec<Flag>, PageError> {
    let posture = credentials::posture(&state.store, &caller.user, account_id, state.clock.now())
        .await
        .map_err(ApiError::from)?;
    let flag = |label: &str, good: bool| Flag {
        label: label.to_owned(),
        good,
    };
    let mut flags = vec![if posture.gatekeeper_active {
        flag("gatekeeper set", true)
    } else {
        flag("needs a new gatekeeper", false)
    }];
    match &posture.password {
        None => flags.push(flag("no password stored", false)),
        Some(password) => {
            let strong = password.strength.is_some_and(|score| score >= 3);
            flags.push(if strong {
                flag("strong password", true)
            } else {
                flag("weak password", false)
            });
            if password.reused {
                flags.push(flag("password reused", false));
            }
            if password.breached {
                flags.push(flag("password breached", false));
            }
            flags.push(flag(
                &format!("password {} days old", password.age_days),
                true,
            ));
        }
    }
    flags.push(if posture.network_2fa_recorded {
        flag("2FA recorded", true)
    } else {
        flag("2FA not recorded", false)
    });
    if !posture.rotate_now.is_empty() {
        flags.push(flag("rotate now", false));
    }
    Ok(flags)
}
