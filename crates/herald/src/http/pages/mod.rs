//! Server-rendered HTML pages. Templates live in `templates/` and are compiled into the binary.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::{AppState, assets};
use crate::store::JobCounts;

/// What every page's layout (`base.html`) needs.
#[derive(Debug)]
pub struct Layout {
    pub title: String,
    pub stylesheet: String,
    pub icon: String,
}

impl Layout {
    pub fn new(title: &str) -> Layout {
        Layout {
            title: title.to_owned(),
            stylesheet: assets::url("herald.css"),
            icon: assets::url("favicon.svg"),
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
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    status: u16,
    heading: &'a str,
    detail: &'a str,
}

/// The start page: how Herald itself is doing.
pub async fn home(State(state): State<AppState>) -> Response {
    let database_ok = state.store.ping().await.is_ok();
    let jobs = state.store.job_counts().await.ok();
    let page = HomePage {
        layout: Layout::new("Herald"),
        version: env!("CARGO_PKG_VERSION"),
        database: match state.store.backend_name() {
            "postgres" => "PostgreSQL",
            _ => "SQLite",
        },
        database_ok,
        jobs,
    };
    render(StatusCode::OK, &page)
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

fn render(status: StatusCode, page: &impl Template) -> Response {
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
