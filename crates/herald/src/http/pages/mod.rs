//! Server-rendered HTML pages. Templates live in `templates/` and are compiled into the binary.

pub mod account;
pub mod accounts;
pub mod audit;
pub mod calendar;
pub mod import;
pub mod inbox;
pub mod incidents;
pub mod mail;
pub mod media;
pub mod members;
pub mod oauth;
pub mod people;
pub mod policy;
pub mod posts;
pub mod security;
pub mod staff;
pub mod training;
pub mod webhooks;

use crate::domain::ids::PostId;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::auth::{Caller, CsrfForm};
use super::{ApiError, AppState, assets};
use crate::domain::access::Permission;
use crate::domain::schedule::Zone;
use crate::services::accounts::Visible;
use crate::services::schedule;
use crate::store::{JobCounts, PostRecord};

/// What every page's layout (`base.html`) needs.
#[derive(Debug)]
pub struct Layout {
    pub title: String,
    pub stylesheet: String,
    pub icon: String,
    /// layout.js: the phone menu, avatars' colours, times in the viewer's zone.
    pub script: String,
    /// The navigation, for a signed-in member.
    pub nav: Option<Nav>,
}

#[derive(Debug)]
pub struct Nav {
    pub name: String,
    pub csrf: String,
    /// The main menu's links this member may use.
    pub items: Vec<NavItem>,
    /// The link of the page shown, marked as the current one.
    pub current: &'static str,
    pub show_status: bool,
}

#[derive(Debug)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
}

/// A page that could not be shown: signed-out visitors are sent to sign in, everything else
/// gets the error page with a specific message.
#[derive(Debug)]
pub struct PageError {
    error: ApiError,
    /// The page's heading where it says more than the status does ("Post not found").
    title: Option<&'static str>,
}

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> PageError {
        PageError { error, title: None }
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(error: crate::store::StoreError) -> PageError {
        PageError::from(ApiError::from(error))
    }
}

impl From<crate::services::AppError> for PageError {
    fn from(error: crate::services::AppError) -> PageError {
        let title = match &error {
            crate::services::AppError::NotFound { entity, .. } => Some(entity.missing()),
            _ => None,
        };
        PageError {
            error: ApiError::from(error),
            title,
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if let ApiError::Unauthorized(_) = self.error {
            return Redirect::to("/login").into_response();
        }
        if let ApiError::Internal(source) = &self.error {
            tracing::error!(error = %super::error::error_chain(source.as_ref()), "internal error");
        }
        let problem = self.error.problem();
        let status =
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let detail = super::error::sentence(&problem.detail);
        let title = self.title.unwrap_or(&problem.title);
        match render_error(status, title, &detail) {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, detail).into_response(),
        }
    }
}

impl Layout {
    pub fn new(title: &str) -> Layout {
        Layout {
            title: title.to_owned(),
            stylesheet: assets::url("herald.css"),
            icon: assets::url("favicon.svg"),
            script: assets::url("layout.js"),
            nav: None,
        }
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    first_name: String,
    notifications: Vec<Notice>,
    csrf: String,
    checklist: Option<Vec<crate::services::home::Step>>,
    to_review: Vec<PostLine>,
    drafts: Vec<PostLine>,
    next_out: Vec<PostLine>,
    attention: Vec<AttentionLine>,
    may_write: bool,
}

/// A notification as the home page lists it.
#[derive(Debug)]
struct Notice {
    subject: String,
    body: String,
    link: Option<String>,
    at: posts::ShownTime,
}

/// A post in one of the home page's lists: what, on which account, by whom, when.
#[derive(Debug)]
struct PostLine {
    id: PostId,
    excerpt: String,
    account: String,
    colour: String,
    network: &'static str,
    author: String,
    at: posts::ShownTime,
    zone: String,
    /// A reviewer's note on a sent-back draft.
    note: Option<String>,
}

#[derive(Debug)]
struct AttentionLine {
    account: String,
    colour: String,
    problem: String,
    href: String,
}

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage {
    layout: Layout,
    version: &'static str,
    database: &'static str,
    database_ok: bool,
    jobs: Option<JobCounts>,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    status: u16,
    heading: &'a str,
    detail: &'a str,
}

/// The start page: setup on first run, sign-in when signed out, otherwise the member's work:
/// what to set up, approve, finish, what goes out next and what needs attention.
pub async fn home(
    State(state): State<AppState>,
    caller: Option<Caller>,
) -> Result<Response, PageError> {
    let Some(caller) = caller else {
        let needs_setup = crate::services::people::setup::needed(&state.store).await?;
        return Ok(Redirect::to(if needs_setup { "/setup" } else { "/login" }).into_response());
    };
    let now = state.clock.now();
    let overview = crate::services::home::overview(&state.store, &caller.user, now).await?;
    let users = state.store.list_users().await?;
    let name_of = |id: crate::domain::ids::UserId| member_name(&users, id);
    let line = |post: PostRecord, seen: &Visible, note: Option<String>| {
        let zone = schedule::zone_of(&seen.account).unwrap_or_else(|_| Zone::utc());
        let at = post
            .published_at
            .or(post.scheduled_at)
            .unwrap_or(post.updated_at);
        PostLine {
            id: post.id,
            excerpt: excerpt(&post.text),
            account: seen.account.display_name.clone(),
            colour: seen.account.avatar_colour.clone(),
            network: seen.account.network.label(),
            author: name_of(post.author_id),
            at: posts::shown_time(&zone, at),
            zone: zone.name().to_owned(),
            note: note.filter(|note| !note.trim().is_empty()),
        }
    };
    let utc = Zone::utc();
    let page = HomePage {
        layout: Layout::signed_in("Home · Herald", "/", &caller),
        first_name: caller
            .user
            .name
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned(),
        notifications: state
            .store
            .notifications_of(caller.user.id, 20)
            .await?
            .into_iter()
            .filter(|notification| notification.read_at.is_none())
            .map(|notification| Notice {
                at: posts::shown_time(&utc, notification.created_at),
                subject: notification.subject,
                body: notification.body,
                link: notification.link,
            })
            .collect(),
        csrf: caller.csrf_token().unwrap_or_default().to_owned(),
        checklist: overview.checklist,
        to_review: overview
            .to_review
            .into_iter()
            .map(|(post, seen)| line(post, &seen, None))
            .collect(),
        drafts: overview
            .drafts
            .into_iter()
            .map(|(post, seen, note)| line(post, &seen, note))
            .collect(),
        next_out: overview
            .next_out
            .into_iter()
            .map(|(post, seen)| line(post, &seen, None))
            .collect(),
        attention: overview
            .attention
            .into_iter()
            .map(|attention| AttentionLine {
                account: attention.account.account.display_name,
                colour: attention.account.account.avatar_colour,
                problem: attention.problem,
                href: attention.href,
            })
            .collect(),
        may_write: caller.require(Permission::WritePosts).is_ok(),
    };
    Ok(render(StatusCode::OK, &page))
}

/// How Herald itself is doing (database, background jobs, version): for owners.
pub async fn status(State(state): State<AppState>, caller: Caller) -> Result<Response, PageError> {
    caller.require(Permission::ViewAuditLog)?;
    let page = StatusPage {
        layout: Layout::signed_in("System status · Herald", "/status", &caller),
        version: env!("CARGO_PKG_VERSION"),
        database: match state.store.backend_name() {
            "postgres" => "PostgreSQL",
            _ => "SQLite",
        },
        database_ok: state.store.ping().await.is_ok(),
        jobs: state.store.job_counts().await.ok(),
    };
    Ok(render(StatusCode::OK, &page))
}

/// A member's name as the pages show it; an id no member has any more reads "A former member".
pub(crate) fn member_name(
    users: &[crate::store::UserRecord],
    id: crate::domain::ids::UserId,
) -> String {
    users
        .iter()
        .find(|user| user.id == id)
        .map_or_else(|| "A former member".to_owned(), |user| user.name.clone())
}

/// The first line of a post, at most 90 characters, for lists.
pub(crate) fn excerpt(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    let mut out: String = line.chars().take(90).collect();
    if out.len() < text.trim_end().len() {
        out.push('…');
    }
    out
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
    super::error::sentence(&ApiError::from(error).problem().detail)
}

/// The status a page answers with when an action failed and the page is shown again.
pub(crate) fn status_of(error: &crate::services::AppError) -> StatusCode {
    super::error::status_for(error)
}
