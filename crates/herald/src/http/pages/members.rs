//! The members page (`/members`, owners and admins): who is on the team, with each one's role
//! (changed in place); invitations waiting to be accepted (a new link, or withdrawn); a new
//! invitation; deactivating someone after a page that says what will happen; resetting a
//! lost second factor.

use crate::domain::ids::UserId;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::people::{FieldError, NoFields};
use super::posts::{ShownTime, shown_time};
use super::{Layout, PageError, render};
use crate::domain::access::{self, Permission};
use crate::domain::people::Role;
use crate::domain::schedule::Zone;
use crate::http::AppState;
use crate::http::api::people::{InvitationView, invitation_view};
use crate::http::auth::{Caller, CsrfForm};
use crate::services::AppError;
use crate::services::people::invitations::{self, Invited};
use crate::services::people::{members, second_factor_reset};
use crate::store::{AccountRecord, UserRecord};

#[derive(Template)]
#[template(path = "members.html")]
struct MembersPage {
    layout: Layout,
    members: Vec<MemberRow>,
    pending: Vec<PendingRow>,
    csrf: String,
    can_make_owners: bool,
    invited: Option<(InvitationView, ShownTime)>,
    error: Option<FieldError>,
}

#[derive(Debug)]
struct MemberRow {
    user: UserRecord,
    role_label: &'static str,
    /// Whether the caller may change this member's role, deactivate them or reset their
    /// second factor (not themselves; admins not owners).
    manageable: bool,
}

#[derive(Debug)]
struct PendingRow {
    reference: String,
    email: String,
    role_label: &'static str,
    invited_by: String,
    expires: ShownTime,
    expired: bool,
}

#[derive(Template)]
#[template(path = "deactivate.html")]
struct DeactivatePage {
    layout: Layout,
    csrf: String,
    member: UserRecord,
    /// Accounts they keep as gatekeeper: a new gatekeeper is needed, the password changed.
    kept: Vec<String>,
    /// Accounts they may use through a grant.
    granted: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct InviteForm {
    email: String,
    role: Role,
}

#[derive(Debug, Deserialize)]
pub struct RoleForm {
    role: Role,
}

pub async fn page(State(state): State<AppState>, caller: Caller) -> Result<Response, PageError> {
    caller.require(Permission::ViewMembers)?;
    view(&state, &caller, None, None).await
}

pub async fn invite(
    State(state): State<AppState>,
    headers: HeaderMap,
    CsrfForm { caller, form }: CsrfForm<InviteForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManageMembers)?;
    let now = state.clock.now();
    let invited = invitations::invite(
        &state.store,
        &state.config,
        &caller.user,
        &form.email,
        form.role,
        now,
    )
    .await;
    after_invitation(&state, &headers, &caller, invited).await
}

/// A new link for a waiting invitation; the old one stops working.
pub async fn renew(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(reference): Path<String>,
    CsrfForm { caller, .. }: CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManageMembers)?;
    let now = state.clock.now();
    let invited =
        invitations::renew(&state.store, &state.config, &caller.user, &reference, now).await;
    after_invitation(&state, &headers, &caller, invited).await
}

pub async fn withdraw(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    CsrfForm { caller, .. }: CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManageMembers)?;
    let now = state.clock.now();
    done(
        &state,
        &caller,
        invitations::cancel(&state.store, &caller.user, &reference, now).await,
    )
    .await
}

pub async fn change_role(
    State(state): State<AppState>,
    Path(id): Path<UserId>,
    CsrfForm { caller, form }: CsrfForm<RoleForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManageMembers)?;
    let now = state.clock.now();
    let changed = members::change_role(&state.store, &caller.user, id, form.role, now).await;
    done(&state, &caller, changed).await
}

/// What deactivating a member will do, and the button that does it.
pub async fn confirm_deactivation(
    State(state): State<AppState>,
    Path(id): Path<UserId>,
    caller: Caller,
) -> Result<Response, PageError> {
    caller.require(Permission::ManageMembers)?;
    let departure = members::departure(&state.store, &caller.user, id).await?;
    let name = |account: AccountRecord| {
        format!(
            "{} ({} {})",
            account.display_name,
            account.network.label(),
            account.handle
        )
    };
    let page = DeactivatePage {
        layout: Layout::signed_in("Deactivate a member · Herald", "/members", &caller),
        csrf: caller.csrf_token().unwrap_or_default().to_owned(),
        member: departure.member,
        kept: departure.kept.into_iter().map(name).collect(),
        granted: departure.granted.into_iter().map(name).collect(),
    };
    Ok(render(StatusCode::OK, &page))
}

pub async fn deactivate(
    State(state): State<AppState>,
    Path(id): Path<UserId>,
    CsrfForm { caller, .. }: CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManageMembers)?;
    let now = state.clock.now();
    done(
        &state,
        &caller,
        members::deactivate(&state.store, &caller.user, id, now).await,
    )
    .await
}

pub async fn reset_second_factor(
    State(state): State<AppState>,
    Path(id): Path<UserId>,
    CsrfForm { caller, .. }: CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManageMembers)?;
    let now = state.clock.now();
    let reset =
        second_factor_reset::reset_by(&state.store, &caller.user, id, &caller.ip, now).await;
    done(&state, &caller, reset).await
}

/// Back to the members page after an action, or the page again with why it was refused.
async fn done<T>(
    state: &AppState,
    caller: &Caller,
    outcome: Result<T, AppError>,
) -> Result<Response, PageError> {
    match outcome {
        Ok(_) => Ok(Redirect::to("/members").into_response()),
        Err(error) => view(state, caller, None, Some(FieldError::from(error))).await,
    }
}

async fn after_invitation(
    state: &AppState,
    headers: &HeaderMap,
    caller: &Caller,
    invited: Result<Invited, AppError>,
) -> Result<Response, PageError> {
    match invited {
        Ok(invited) => {
            let link = invitation_view(state, headers, &invited);
            let expires = shown_time(&Zone::utc(), invited.expires_at);
            view(state, caller, Some((link, expires)), None).await
        }
        Err(error) => view(state, caller, None, Some(FieldError::from(error))).await,
    }
}

async fn view(
    state: &AppState,
    caller: &Caller,
    invited: Option<(InvitationView, ShownTime)>,
    error: Option<FieldError>,
) -> Result<Response, PageError> {
    let status = error.as_ref().map_or(StatusCode::OK, |error| error.status);
    let users = state.store.list_users().await?;
    let now = state.clock.now();
    let utc = Zone::utc();
    let name_of = |id: UserId| super::member_name(&users, id);
    let pending = invitations::pending(&state.store)
        .await?
        .into_iter()
        .map(|invitation| PendingRow {
            reference: invitation.reference,
            email: invitation.email,
            role_label: role_label(invitation.role),
            invited_by: name_of(invitation.invited_by),
            expires: shown_time(&utc, invitation.expires_at),
            expired: invitation.expires_at <= now,
        })
        .collect();
    let members = users
        .iter()
        .map(|user| MemberRow {
            role_label: role_label(user.role),
            manageable: user.id != caller.user.id
                && access::may_manage(caller.user.role, user.role, None).is_ok(),
            user: user.clone(),
        })
        .collect();
    let page = MembersPage {
        layout: Layout::signed_in("Members · Herald", "/members", caller),
        members,
        pending,
        csrf: caller.csrf_token().unwrap_or_default().to_owned(),
        can_make_owners: caller.user.role == Role::Owner,
        invited,
        error,
    };
    Ok(render(status, &page))
}

fn role_label(role: Role) -> &'static str {
    match role {
        Role::Owner => "Owner",
        Role::Admin => "Admin",
        Role::Member => "Member",
    }
}
