//! Pages for the day an account is hacked (issue 20): an account's "if this account is
//! hacked" page (lock down in one click, or report it), the incidents list, one incident
//! (timeline, steps, recovery checklist, statements, close) and its printable report.
//! Handlers are thin: `services::lockdown` and `services::incidents` do the work.

use crate::domain::ids::{AccountId, UserId};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Layout, PageError, message, render, status_of};
use crate::domain::access::{AccountAction, Permission, check_account};
use crate::http::AppState;
use crate::http::auth::{Caller, CsrfForm};
use crate::services::incidents::member_name as names;
use crate::services::{accounts, attacker_posts, incidents, lockdown};
use crate::store::UserRecord;

/// A line of a list or a timeline, ready to show.
#[derive(Debug)]
pub struct Line {
    pub at: String,
    pub kind: String,
    pub who: String,
    pub outcome: String,
    pub text: String,
}

#[derive(Debug)]
pub struct ChecklistLine {
    pub key: &'static str,
    pub label: &'static str,
    pub how: String,
    pub link: Option<&'static str>,
    pub verified: bool,
    /// Who ticked it and when, once ticked.
    pub ticked: Option<String>,
    /// What Herald last did for it, when that did not finish it (posts to delete by hand).
    pub note: Option<String>,
}

#[derive(Debug)]
pub struct Phase {
    pub name: &'static str,
    pub took: String,
}

#[derive(Template)]
#[template(path = "account_incident.html")]
struct AccountIncidentPage {
    layout: Layout,
    id: AccountId,
    name: String,
    network: &'static str,
    may_lead: bool,
    open_incident: Option<i64>,
    members: Vec<(UserId, String)>,
    csrf: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "incidents.html")]
struct IncidentsPage {
    layout: Layout,
    rows: Vec<Row>,
}

#[derive(Debug)]
pub struct Row {
    pub id: i64,
    pub account: String,
    pub status: String,
    pub drill: bool,
    pub summary: String,
    pub opened_at: String,
}

#[derive(Template)]
#[template(path = "incident.html")]
struct IncidentPage {
    layout: Layout,
    view: Shown,
    csrf: String,
    /// The company's other accounts, for the holding statement.
    others: Vec<(AccountId, String)>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "incident_report.html")]
struct ReportPage {
    layout: Layout,
    view: Shown,
}

/// An incident as its page shows it.
#[derive(Debug)]
pub struct Shown {
    pub id: i64,
    pub account_id: AccountId,
    pub account: String,
    pub handle: String,
    pub network: &'static str,
    pub status: String,
    pub drill: bool,
    pub summary: String,
    pub opened: String,
    pub lead: String,
    pub may_lead: bool,
    pub closed: bool,
    pub lessons: String,
    pub lockdown: Vec<Line>,
    pub any_failed: bool,
    pub checklist: Vec<ChecklistLine>,
    /// Herald can delete the attacker's posts through the network's API.
    pub deletes_posts: bool,
    pub timeline: Vec<Line>,
    pub phases: Vec<Phase>,
}

#[derive(Debug, Deserialize)]
pub struct ReportForm {
    #[serde(default)]
    what: String,
}

#[derive(Debug, Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    text: String,
}

#[derive(Debug, Deserialize)]
pub struct CloseForm {
    #[serde(default)]
    lessons: String,
}

#[derive(Debug, Deserialize)]
pub struct EmptyForm {}

/// `/accounts/{id}/incident`: lock the account down, or say it looks hacked.
pub async fn account_page(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<AccountId>,
) -> Result<Response, PageError> {
    caller.require(Permission::ViewAccounts)?;
    account_view(&state, &caller, id, None, StatusCode::OK).await
}

pub async fn lock_down(
    State(state): State<AppState>,
    Path(id): Path<AccountId>,
    CsrfForm { caller, form }: CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManageAccountAccess)?;
    let request = lockdown::Request {
        end_sessions_of: ids(&form, "end_sessions_of"),
        drill: form.iter().any(|(key, _)| key == "drill"),
    };
    let done = lockdown::lock_down(&state.services, &caller.user, id, &request).await;
    match done {
        Ok(view) => Ok(to_incident(view.incident.id)),
        Err(error) => {
            let status = status_of(&error);
            account_view(&state, &caller, id, Some(message(error)), status).await
        }
    }
}

pub async fn report(
    State(state): State<AppState>,
    Path(id): Path<AccountId>,
    CsrfForm { caller, form }: CsrfForm<ReportForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::ViewAccounts)?;
    match incidents::report(
        &state.store,
        &caller.user,
        id,
        &form.what,
        state.clock.now(),
    )
    .await
    {
        Ok(view) => Ok(to_incident(view.incident.id)),
        Err(error) => {
            let status = status_of(&error);
            account_view(&state, &caller, id, Some(message(error)), status).await
        }
    }
}

pub async fn resume(
    State(state): State<AppState>,
    Path(id): Path<AccountId>,
    CsrfForm { caller, form: _ }: CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManageAccountAccess)?;
    match incidents::resume(&state.store, &caller.user, id, state.clock.now()).await {
        Ok(()) => Ok(Redirect::to(&format!("/accounts/{id}")).into_response()),
        Err(error) => {
            let status = status_of(&error);
            account_view(&state, &caller, id, Some(message(error)), status).await
        }
    }
}

/// `/incidents`: the incidents of the accounts the member may see.
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Response, PageError> {
    caller.require(Permission::ViewAccounts)?;
    let rows = incidents::list(&state.store, &caller.user)
        .await?
        .into_iter()
        .map(|(incident, account)| Row {
            id: incident.id,
            account: account.display_name,
            status: incident.status,
            drill: incident.drill,
            summary: incident.summary,
            opened_at: incident.opened_at.to_string(),
        })
        .collect();
    let page = IncidentsPage {
        layout: Layout::signed_in("Incidents · Herald", "/incidents", &caller),
        rows,
    };
    Ok(render(StatusCode::OK, &page))
}

/// `/incidents/{id}`.
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    caller.require(Permission::ViewAccounts)?;
    incident_view(&state, &caller, id, None, StatusCode::OK).await
}

/// `/incidents/{id}/report`: printable.
pub async fn report_page(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    caller.require(Permission::ViewAccounts)?;
    let view = incidents::view(&state.store, &caller.user, id).await?;
    let users = state.store.list_users().await?;
    let page = ReportPage {
        layout: Layout::signed_in(
            &format!("Incident {id} report · Herald"),
            "/incidents",
            &caller,
        ),
        view: shown(view, &users),
    };
    Ok(render(StatusCode::OK, &page))
}

pub async fn retry(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm { caller, form: _ }: CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManageAccountAccess)?;
    let done = lockdown::retry(&state.services, &caller.user, id).await;
    after(&state, &caller, id, done.map(drop)).await
}

pub async fn tick(
    State(state): State<AppState>,
    Path((id, step)): Path<(i64, String)>,
    CsrfForm { caller, form: _ }: CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManageAccountAccess)?;
    let done = incidents::tick(&state.services, &caller.user, id, &step).await;
    after(&state, &caller, id, done.map(drop)).await
}

/// Deletes the attacker's posts through the network (or lists them to delete by hand).
pub async fn delete_attacker_posts(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm { caller, form: _ }: CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManageAccountAccess)?;
    let done = attacker_posts::remove(&state.services, &caller.user, id).await;
    after(&state, &caller, id, done.map(drop)).await
}

pub async fn note(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm { caller, form }: CsrfForm<NoteForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManageAccountAccess)?;
    let done = incidents::note(
        &state.store,
        &caller.user,
        id,
        &form.text,
        state.clock.now(),
    )
    .await;
    after(&state, &caller, id, done.map(drop)).await
}

pub async fn close(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm { caller, form }: CsrfForm<CloseForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManageAccountAccess)?;
    let done = incidents::close(&state.services, &caller.user, id, &form.lessons).await;
    after(&state, &caller, id, done.map(drop)).await
}

pub async fn statements(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm { caller, form }: CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    caller.require(Permission::WritePosts)?;
    let kind = form
        .iter()
        .find(|(key, _)| key == "kind")
        .map_or("", |(_, value)| value.as_str());
    let accounts = ids(&form, "account_ids");
    let done = incidents::statements(
        &state.store,
        &caller.user,
        id,
        kind,
        &accounts,
        state.clock.now(),
    )
    .await;
    match done {
        Ok(posts) if posts.len() == 1 => {
            Ok(Redirect::to(&format!("/posts/{}", posts[0])).into_response())
        }
        other => after(&state, &caller, id, other.map(drop)).await,
    }
}

/// Back to the incident, or the incident again with the error.
async fn after(
    state: &AppState,
    caller: &Caller,
    id: i64,
    done: Result<(), crate::services::AppError>,
) -> Result<Response, PageError> {
    match done {
        Ok(()) => Ok(to_incident(id)),
        Err(error) => {
            let status = status_of(&error);
            incident_view(state, caller, id, Some(message(error)), status).await
        }
    }
}

/// The whole numbers a repeated form field holds (checkboxes); others are skipped.
fn ids<T: std::str::FromStr>(form: &[(String, String)], name: &str) -> Vec<T> {
    form.iter()
        .filter(|(key, _)| key == name)
        .filter_map(|(_, value)| value.parse().ok())
        .collect()
}

fn to_incident(id: i64) -> Response {
    Redirect::to(&format!("/incidents/{id}")).into_response()
}

async fn account_view(
    state: &AppState,
    caller: &Caller,
    id: AccountId,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let visible = accounts::open(&state.store, &caller.user, id, AccountAction::View).await?;
    let may_lead = check_account(caller.user.role, visible.level, AccountAction::LockDown).is_ok();
    let open_incident = state
        .store
        .open_incident_of(id)
        .await?
        .map(|incident| incident.id);
    let members = state
        .store
        .list_users()
        .await?
        .into_iter()
        .filter(|user| user.active)
        .map(|user| (user.id, format!("{} ({})", user.name, user.email)))
        .collect();
    let page = AccountIncidentPage {
        layout: Layout::signed_in(
            &format!("If {} is hacked · Herald", visible.account.display_name),
            "/accounts",
            caller,
        ),
        id,
        name: visible.account.display_name,
        network: visible.account.network.label(),
        may_lead,
        open_incident,
        members,
        csrf: caller.csrf_token().unwrap_or_default().to_owned(),
        error,
    };
    Ok(render(status, &page))
}

async fn incident_view(
    state: &AppState,
    caller: &Caller,
    id: i64,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let view = incidents::view(&state.store, &caller.user, id).await?;
    let users = state.store.list_users().await?;
    let own = view.account.id;
    let others = accounts::visible(&state.store, &caller.user)
        .await?
        .into_iter()
        .filter(|visible| visible.account.id != own && visible.level.is_some())
        .map(|visible| (visible.account.id, visible.account.display_name))
        .collect();
    let page = IncidentPage {
        layout: Layout::signed_in(&format!("Incident {id} · Herald"), "/incidents", caller),
        view: shown(view, &users),
        csrf: caller.csrf_token().unwrap_or_default().to_owned(),
        others,
        error,
    };
    Ok(render(status, &page))
}

fn shown(view: incidents::View, users: &[UserRecord]) -> Shown {
    let name = |id| names(users, id);
    let line = |at: jiff::Timestamp, kind: &str, who, outcome: &str, text: &str| Line {
        at: at.to_string(),
        kind: kind.to_owned(),
        who: name(who),
        outcome: outcome.replace('_', " "),
        text: text.to_owned(),
    };
    let lockdown: Vec<Line> = view
        .steps
        .iter()
        .filter(|step| step.phase == "lockdown")
        .map(|step| {
            line(
                step.at,
                &step.step.replace('_', " "),
                step.by_user,
                &step.outcome,
                &step.detail,
            )
        })
        .collect();
    let checklist = view
        .checklist
        .iter()
        .map(|item| ChecklistLine {
            key: item.key,
            label: item.label,
            how: item.how.clone(),
            link: item.link,
            verified: item.verified_by_herald,
            ticked: view
                .steps
                .iter()
                .find(|step| step.step == item.key && step.outcome == "done")
                .map(|step| format!("{} at {}", name(step.by_user), step.at)),
            note: view
                .steps
                .iter()
                .find(|step| step.step == item.key && step.outcome != "done")
                .map(|step| step.detail.clone()),
        })
        .collect();
    let timeline = view
        .timeline
        .iter()
        .map(|event| {
            line(
                event.at,
                &event.kind,
                event.actor_id,
                event.outcome.as_deref().unwrap_or(""),
                &event.text,
            )
        })
        .collect();
    let phases = incidents::phases(&view.incident)
        .into_iter()
        .map(|(phase, from, to)| Phase {
            name: phase,
            took: match (from, to) {
                (Some(from), Some(to)) => incidents::human_duration(to.duration_since(from)),
                _ => "not reached".to_owned(),
            },
        })
        .collect();
    let incident = view.incident;
    Shown {
        id: incident.id,
        account_id: view.account.id,
        account: view.account.display_name,
        handle: view.account.handle,
        network: view.account.network.label(),
        any_failed: lockdown.iter().any(|step| step.outcome == "failed"),
        status: incident.status.replace('_', " "),
        drill: incident.drill,
        summary: incident.summary,
        opened: incident.opened_at.to_string(),
        lead: name(incident.owner_id),
        may_lead: view.may_lead,
        closed: incident.closed_at.is_some(),
        lessons: incident.lessons.unwrap_or_default(),
        lockdown,
        checklist,
        deletes_posts: crate::domain::incidents::deletes_posts(view.account.network),
        timeline,
        phases,
    }
}
