//! Server-rendered HTML pages. Templates live in `templates/` and are compiled into the binary.

pub mod account;
pub mod accounts;
pub mod calendar;
pub mod import;
pub mod media;
pub mod oauth;
pub mod people;
pub mod policy;
pub mod posts;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::auth::{Caller, CsrfForm};
use super::{ApiError, AppState, assets};
use crate::domain::access::Permission;
use crate::store::{JobCounts, NotificationRecord, PostRecord};

/// What every page's layout (`base.html`) needs.
#[derive(Debug)]
pub struct Layout {
    pub title: String,
    pub stylesheet: String,
    pub icon: String,
    /// The navigation, for a signed-in member.
    pub nav: Option<Nav>,
}

#[derive(Debug)]
pub struct Nav {
    pub name: String,
    pub csrf: String,
    pub show_members: bool,
    pub show_audit: bool,
}

/// A page that could not be shown: signed-out visitors are sent to sign in, everything else
/// gets the error page with a specific message.
#[derive(Debug)]
pub struct PageError(ApiError);

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> PageError {
        PageError(error)
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(error: crate::store::StoreError) -> PageError {
        PageError(ApiError::from(error))
    }
}

impl From<crate::services::AppError> for PageError {
    fn from(error: crate::services::AppError) -> PageError {
        PageError(ApiError::from(error))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if let ApiError::Unauthorized(_) = self.0 {
            return Redirect::to("/login").into_response();
        }
        if let ApiError::Internal(source) = &self.0 {
            tracing::error!(error = %super::error::error_chain(source.as_ref()), "internal error");
        }
        let problem = self.0.problem();
        let status =
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match render_error(status, &problem.title, &problem.detail) {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, problem.detail).into_response(),
        }
    }
}

impl Layout {
    pub fn new(title: &str) -> Layout {
        Layout {
            title: title.to_owned(),
            stylesheet: assets::url("herald.css"),
            icon: assets::url("favicon.svg"),
            nav: None,
        }
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    version: &'static str,
    database: &'static str,
    database_ok: bool,
    jobs: Option<JobCounts>,
    notifications: Vec<NotificationRecord>,
    csrf: String,
    /// Posts waiting for the caller's approval, and the caller's own latest posts.
    to_review: Vec<PostRecord>,
    mine: Vec<PostRecord>,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    status: u16,
    heading: &'a str,
    detail: &'a str,
}

/// The start page: setup on first run, sign-in when signed out, otherwise how Herald is doing.
pub async fn home(
    State(state): State<AppState>,
    caller: Option<Caller>,
) -> Result<Response, PageError> {
    let Some(caller) = caller else {
        let needs_setup = crate::services::people::setup::needed(&state.store)
            .await
            .map_err(ApiError::from)?;
        return Ok(Redirect::to(if needs_setup { "/setup" } else { "/login" }).into_response());
    };
    let database_ok = state.store.ping().await.is_ok();
    let jobs = state.store.job_counts().await.ok();
    let page = HomePage {
        layout: Layout::signed_in("Herald", &caller),
        version: env!("CARGO_PKG_VERSION"),
        database: match state.store.backend_name() {
            "postgres" => "PostgreSQL",
            _ => "SQLite",
        },
        database_ok,
        jobs,
        notifications: state
            .store
            .notifications_of(caller.user.id, 20)
            .await
            .map_err(ApiError::from)?
            .into_iter()
            .filter(|notification| notification.read_at.is_none())
            .collect(),
        csrf: caller.csrf_token().unwrap_or_default().to_owned(),
        to_review: crate::services::posts::awaiting_review(&state.store, &caller.user)
            .await
            .map_err(ApiError::from)?,
        mine: state
            .store
            .posts_by(caller.user.id, 10)
            .await
            .map_err(ApiError::from)?,
    };
    Ok(render(StatusCode::OK, &page))
}

/// Marks the caller's notifications read, then back to the home page.
pub async fn notifications_read(
    State(state): State<AppState>,
    CsrfForm { caller, .. }: CsrfForm<people::NoFields>,
) -> Result<Response, PageError> {
    caller.require(Permission::ViewOwnAccount)?;
    state
        .store
        .mark_notifications_read(caller.user.id, state.clock.now())
        .await
        .map_err(ApiError::from)?;
    Ok(Redirect::to("/").into_response())
}

/// Renders the calm error page used for 404s and the like.
pub fn render_error(
    status: StatusCode,
    heading: &str,
    detail: &str,
) -> Result<String, askama::Error> {
    ErrorPage {
        layout: Layout::new(heading),
        status: status.as_u16(),
        heading,
        detail,
    }
    .render()
}

pub(super) fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(error = %error, "page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "This page could not be shown; the error has been logged.",
            )
                .into_response()
        }
    }
}

/// The message a page shows for a failed action: the same words the API would answer with.
pub(crate) fn message(error: crate::services::AppError) -> String {
    ApiError::from(error).problem().detail
}

/// The status a page answers with when an action failed and the page is shown again.
pub(crate) fn status_of(error: &crate::services::AppError) -> StatusCode {
    super::error::status_for(error)
}
