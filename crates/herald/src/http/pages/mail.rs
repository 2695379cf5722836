//! E-mail pages: a member's choices per kind of notification (`/account/notifications`), and
//! the owners' mail settings (`/settings/mail`): whether mail is set up, the newest messages
//! with why any is waiting, and a "send a test e-mail" button that says what is wrong.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::posts::{ShownTime, shown_time};
use super::{Layout, PageError, render};
use crate::domain::access::Permission;
use crate::domain::notifications::{MailMode, NotificationKind};
use crate::domain::schedule::Zone;
use crate::http::AppState;
use crate::http::auth::{Caller, CsrfForm};
use crate::services::mail::{self, Preference};

#[derive(Template)]
#[template(path = "mail_preferences.html")]
struct PreferencesPage {
    layout: Layout,
    csrf: String,
    preferences: Vec<Preference>,
    mail_on: bool,
    is_owner: bool,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "mail_settings.html")]
struct SettingsPage {
    layout: Layout,
    csrf: String,
    server: Option<String>,
    from: String,
    waiting: i64,
    messages: Vec<MessageRow>,
    to: String,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Debug)]
struct MessageRow {
    recipient: String,
    subject: String,
    at: ShownTime,
    sent: bool,
    attempts: i64,
    last_error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct TestForm {
    #[serde(default)]
    to: String,
}

pub async fn preferences(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, PageError> {
    caller.require(Permission::ViewOwnAccount)?;
    preferences_page(&state, &caller, None, None).await
}

/// Saves the choices: one field per kind, named by the kind, valued `now`, `digest` or `none`.
pub async fn save_preferences(
    State(state): State<AppState>,
    CsrfForm { caller, form }: CsrfForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManageOwnNotifications)?;
    let choices: Vec<(NotificationKind, MailMode)> = NotificationKind::ALL
        .into_iter()
        .filter(|kind| !kind.is_security_alert())
        .filter_map(|kind| {
            let mode = MailMode::parse(form.get(kind.as_str())?)?;
            Some((kind, mode))
        })
        .collect();
    let now = state.clock.now();
    match mail::set_preferences(&state.services, &caller.user, &choices, now).await {
        Ok(_) => {
            let notice = "Saved. Security alerts still come at once.".to_owned();
            preferences_page(&state, &caller, Some(notice), None).await
        }
        Err(error) => preferences_page(&state, &caller, None, Some(error.to_string())).await,
    }
}

async fn preferences_page(
    state: &AppState,
    caller: &Caller,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Response, PageError> {
    let page = PreferencesPage {
        layout: Layout::signed_in("E-mail notifications · Herald", "/account", caller),
        csrf: caller.csrf_token().unwrap_or_default().to_owned(),
        preferences: mail::preferences(&state.services, &caller.user).await?,
        mail_on: mail::configured(&state.services),
        is_owner: caller.require(Permission::ManageIntegrations).is_ok(),
        notice,
        error,
    };
    Ok(render(StatusCode::OK, &page))
}

pub async fn settings(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, PageError> {
    caller.require(Permission::ManageIntegrations)?;
    settings_page(&state, &caller, String::new(), None, None).await
}

pub async fn send_test(
    State(state): State<AppState>,
    CsrfForm { caller, form }: CsrfForm<TestForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManageIntegrations)?;
    let now = state.clock.now();
    match mail::send_test(&state.services, &caller.user, &form.to, now).await {
        Ok(()) => {
            let notice = format!(
                "The mail server took a test e-mail for {}. Check that it arrived.",
                form.to.trim()
            );
            settings_page(&state, &caller, form.to, Some(notice), None).await
        }
        Err(error) => settings_page(&state, &caller, form.to, None, Some(error.to_string())).await,
    }
}

async fn settings_page(
    state: &AppState,
    caller: &Caller,
    to: String,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Response, PageError> {
    let config = &state.config.mail;
    let utc = Zone::utc();
    let messages = mail::recent(&state.services)
        .await?
        .into_iter()
        .map(|message| MessageRow {
            recipient: message.recipient,
            subject: message.subject,
            at: shown_time(&utc, message.sent_at.unwrap_or(message.created_at)),
            sent: message.sent_at.is_some(),
            attempts: message.attempts,
            last_error: message.last_error,
        })
        .collect();
    let to = if to.is_empty() {
        caller.user.email.clone()
    } else {
        to
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = SettingsPage {
        layout: Layout::signed_in("Mail settings · Herald", "/account", caller),
        csrf: caller.csrf_token().unwrap_or_default().to_owned(),
        server: config.host.as_ref().map(|host| {
            let security = match config.security {
                crate::config::MailSecurity::Tls => "TLS",
                crate::config::MailSecurity::Starttls => "STARTTLS",
                crate::config::MailSecurity::None => "no encryption (this machine only)",
            };
            format!("{host}:{} with {security}", config.port)
        }),
        from: config.from.clone().unwrap_or_default(),
        waiting: state.store.mail_waiting().await?,
        messages,
        to,
        notice,
        error,
    };
    Ok(render(status, &page))
}
