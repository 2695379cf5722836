//! The "Your account" page: who you are, your password, your authenticator app and recovery
//! codes, your passkeys and your sessions. Its forms call the same `crate::services::people` functions as
//! the JSON API; a failed form comes back with the message beside its field.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::people::{FieldError, NoFields, signed_out};
use super::{Layout, PageError, render};
use crate::domain::access::Permission;
use crate::domain::people::Role;
use crate::http::api::account::current_session;
use crate::http::assets;
use crate::http::auth::{Caller, CsrfForm};
use crate::http::{ApiError, AppState};
use crate::services::AppError;
use crate::services::people::enrolment::{self, Enrolment};
use crate::services::people::own_account::{
    self, NewAuthenticatorConfirm, NewAuthenticatorStart, OwnSession, PasswordChange,
};
use crate::services::people::passkeys;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    passkeys: Vec<crate::store::PasskeyRecord>,
    passkeys_available: bool,
    passkeys_script: String,
    name: String,
    email: String,
    role: Role,
    recovery_codes_left: i64,
    csrf: String,
    sessions: Vec<OwnSession>,
    /// The browsers this member signed in from, the most recent first.
    devices: Vec<crate::store::SignInDeviceRecord>,
    /// A sentence saying what just changed.
    notice: Option<String>,
    error: Option<FieldError>,
    /// A new authenticator to scan and confirm.
    enrolment: Option<Enrolment>,
    /// New recovery codes, shown once.
    new_codes: Vec<String>,
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
}

debug_without_secrets!(CodeForm);

/// A form's own fields, without the `csrf` field `CsrfForm` has checked: the API's body structs
/// refuse fields they do not know, so the page reads only theirs out of the form.
#[derive(Deserialize)]
pub struct FormFields<T> {
    #[serde(flatten)]
    fields: T,
}

/// The fields hold passwords and codes: left out.
impl<T> std::fmt::Debug for FormFields<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FormFields { .. }")
    }
}

/// What the page shows besides the member's details.
#[derive(Default)]
struct Extras {
    notice: Option<String>,
    error: Option<FieldError>,
    enrolment: Option<Enrolment>,
    new_codes: Vec<String>,
}

pub async fn page(State(state): State<AppState>, caller: Caller) -> Result<Response, PageError> {
    caller.require(Permission::ViewOwnAccount)?;
    show(&state, &caller, Extras::default()).await
}

pub async fn change_password(
    State(state): State<AppState>,
    CsrfForm { caller, form }: CsrfForm<FormFields<PasswordChange>>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManageOwnSecondFactors)?;
    let current = current_session(&caller).unwrap_or_default();
    let changed = own_account::change_password(
        &state,
        &caller.user,
        &current,
        &form.fields,
        &caller.ip,
        state.clock.now(),
    )
    .await;
    let extras = match changed {
        Ok(ended) => Extras {
            notice: Some(format!(
                "Your password is changed. {ended} other session(s) ended; sign in there with the new password."
            )),
            ..Extras::default()
        },
        Err(error) => failed(error)?,
    };
    show(&state, &caller, extras).await
}

pub async fn start_authenticator(
    State(state): State<AppState>,
    CsrfForm { caller, form }: CsrfForm<FormFields<NewAuthenticatorStart>>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManageOwnSecondFactors)?;
    let started =
        own_account::start_new_authenticator(&state, &caller.user, &form.fields, state.clock.now())
            .await;
    let extras = match started {
        Ok(enrolment) => Extras {
            enrolment: Some(enrolment),
            ..Extras::default()
        },
        Err(error) => failed(error)?,
    };
    show(&state, &caller, extras).await
}

pub async fn confirm_authenticator(
    State(state): State<AppState>,
    CsrfForm { caller, form }: CsrfForm<FormFields<NewAuthenticatorConfirm>>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManageOwnSecondFactors)?;
    let now = state.clock.now();
    let confirmed =
        own_account::confirm_authenticator(&state, &caller.user, &form.fields, &caller.ip, now)
            .await;
    let extras = match confirmed {
        Ok(()) => Extras {
            notice: Some(
                "Your new authenticator app is in use; the old one no longer works.".to_owned(),
            ),
            ..Extras::default()
        },
        Err(error) => Extras {
            // Same secret, same token: the member does not scan again after a typo.
            enrolment: enrolment::resume_replacement(
                &state.keys,
                "Herald",
                &caller.user.email,
                &form.fields.enrolment_token,
                now,
            ),
            ..failed(error)?
        },
    };
    show(&state, &caller, extras).await
}

pub async fn recovery_codes(
    State(state): State<AppState>,
    CsrfForm { caller, form }: CsrfForm<CodeForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManageOwnSecondFactors)?;
    let made = own_account::regenerate_recovery_codes(
        &state,
        &caller.user,
        &form.code,
        &caller.ip,
        state.clock.now(),
    )
    .await;
    let extras = match made {
        Ok(codes) => Extras {
            new_codes: codes.iter().map(|code| code.as_str().to_owned()).collect(),
            ..Extras::default()
        },
        Err(error) => failed(error)?,
    };
    show(&state, &caller, extras).await
}

pub async fn remove_passkey(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm { caller, form }: CsrfForm<CodeForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManageOwnSecondFactors)?;
    let removed = passkeys::remove(&state, &caller.user, id, &form.code, state.clock.now()).await;
    let extras = match removed {
        Ok(()) => Extras {
            notice: Some("The passkey is removed.".to_owned()),
            ..Extras::default()
        },
        Err(error) => failed(error)?,
    };
    show(&state, &caller, extras).await
}

pub async fn end_session(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm { caller, .. }: CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManageOwnSessions)?;
    let current = current_session(&caller).unwrap_or_default();
    let sessions = own_account::sessions(
        &state.store,
        &state.config,
        &caller.user,
        Some(&current),
        state.clock.now(),
    )
    .await?;
    let ending_this_one = sessions
        .iter()
        .any(|session| session.current && session.summary.public_id == id);
    own_account::end_session(
        &state.store,
        &caller.user,
        &id,
        &caller.ip,
        state.clock.now(),
    )
    .await?;
    if ending_this_one {
        return Ok(signed_out(&state));
    }
    Ok(Redirect::to("/account").into_response())
}

pub async fn end_other_sessions(
    State(state): State<AppState>,
    CsrfForm { caller, .. }: CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManageOwnSessions)?;
    let current = current_session(&caller).unwrap_or_default();
    let ended = own_account::end_other_sessions(
        &state.store,
        &caller.user,
        &current,
        &caller.ip,
        state.clock.now(),
    )
    .await?;
    let extras = Extras {
        notice: Some(format!("{ended} other session(s) ended.")),
        ..Extras::default()
    };
    show(&state, &caller, extras).await
}

/// A refusal to show beside its field; signing out everywhere (five wrong codes) and internal
/// errors are not the form's business.
fn failed(error: AppError) -> Result<Extras, PageError> {
    match error {
        AppError::SteppedOut | AppError::Store(_) | AppError::Internal(_) => {
            Err(PageError::from(error))
        }
        other => Ok(Extras {
            error: Some(FieldError::from(other)),
            ..Extras::default()
        }),
    }
}

async fn show(state: &AppState, caller: &Caller, extras: Extras) -> Result<Response, PageError> {
    let now = state.clock.now();
    let current = current_session(caller);
    let status = extras
        .error
        .as_ref()
        .map_or(StatusCode::OK, |error| error.status);
    let page = AccountPage {
        layout: Layout::signed_in("Your account · Herald", "/account", caller),
        passkeys: state.store.passkeys_of(caller.user.id).await?,
        passkeys_available: state.webauthn.is_some(),
        passkeys_script: assets::url("passkeys.js"),
        name: caller.user.name.clone(),
        email: caller.user.email.clone(),
        role: caller.user.role,
        recovery_codes_left: state
            .store
            .recovery_codes_left(caller.user.id)
            .await
            .map_err(ApiError::internal)?,
        csrf: caller.csrf_token().unwrap_or_default().to_owned(),
        sessions: own_account::sessions(
            &state.store,
            &state.config,
            &caller.user,
            current.as_deref(),
            now,
        )
        .await?,
        devices: state
            .store
            .sign_in_devices(caller.user.id)
            .await
            .map_err(ApiError::internal)?,
        notice: extras.notice,
        error: extras.error,
        enrolment: extras.enrolment,
        new_codes: extras.new_codes,
    };
    Ok(render(status, &page))
}
