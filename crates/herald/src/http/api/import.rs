//! `/api/v1/import/preview` and `/api/v1/import`: a CSV of posts checked row by row, then
//! imported; and `/api/v1/accounts/{id}/schedule.csv` and `…/schedule.ics`: one account's
//! schedule as CSV (which imports again) and as an iCalendar feed.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::posts::PostResponse;
use crate::domain::access::Permission;
use crate::domain::accounts::Network;
use crate::export;
use crate::http::auth::Caller;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::{ApiError, AppState};
use crate::import::{self, Choice, Preview, Problem, Row};

#[derive(Debug, Deserialize, ToSchema)]
pub struct PreviewRequest {
    /// The file's text: a header row (`date,time,message,link,account`), then one row per post.
    pub csv: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ImportRequest {
    pub csv: String,
    /// Import the rows without problems and skip the others; otherwise any problem refuses
    /// the whole file.
    #[serde(default)]
    pub only_valid: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewResponse {
    /// `,` or `;`, as the header uses.
    pub separator: String,
    pub columns: Vec<String>,
    /// The file is fine and every row valid: importing it all will work.
    pub clean: bool,
    /// How many rows importing only the valid ones would import.
    pub valid_rows: usize,
    /// Problems with the file as a whole; any of them stops the import.
    pub file_problems: Vec<ProblemEntry>,
    pub rows: Vec<RowEntry>,
}

/// One problem, with the row (the line it starts on; the header is line 1) and column.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemEntry {
    pub row: Option<usize>,
    pub column: Option<String>,
    pub message: String,
}

/// One row as Herald reads it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RowEntry {
    pub row: usize,
    /// What the `account` column said, and the account it names (if you may write for it).
    pub account: String,
    pub account_id: Option<i64>,
    pub network: Option<Network>,
    /// When it goes out: RFC 3339 UTC, and as the account's time zone shows it.
    pub at: Option<String>,
    pub local_time: Option<String>,
    /// The post's text: the message, and the link after a space; anything the policy blocks
    /// (a key, a card number) shown only in the guard's redacted form.
    pub text: String,
    pub valid: bool,
    pub problems: Vec<ProblemEntry>,
    /// Not problems: what will happen (an approval to wait for, a confirmation).
    pub notes: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResponse {
    pub imported: Vec<ImportedEntry>,
    /// Rows left out for their problems (only with `only_valid`).
    pub skipped: Vec<RowEntry>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportedEntry {
    pub row: usize,
    /// The post the row became: `scheduled`, or `submitted` while it waits for approval.
    pub post: PostResponse,
}

impl From<&Problem> for ProblemEntry {
    fn from(problem: &Problem) -> ProblemEntry {
        ProblemEntry {
            row: problem.row,
            column: problem.column.clone(),
            message: problem.message.clone(),
        }
    }
}

impl From<&Row> for RowEntry {
    fn from(row: &Row) -> RowEntry {
        RowEntry {
            row: row.row,
            account: row.account_text.clone(),
            account_id: row.account.as_ref().map(|account| account.id),
            network: row.account.as_ref().map(|account| account.network),
            at: row.at.map(|at| at.to_string()),
            local_time: row.local_time.clone(),
            text: row.shown_text.clone(),
            valid: row.problems.is_empty(),
            problems: row.problems.iter().map(ProblemEntry::from).collect(),
            notes: row.notes.clone(),
        }
    }
}

impl From<Preview> for PreviewResponse {
    fn from(preview: Preview) -> PreviewResponse {
        PreviewResponse {
            separator: preview.separator.to_string(),
            clean: preview.is_clean(),
            valid_rows: preview.valid_rows(),
            file_problems: preview
                .file_problems
                .iter()
                .map(ProblemEntry::from)
                .collect(),
            rows: preview.rows.iter().map(RowEntry::from).collect(),
            columns: preview.columns,
        }
    }
}

/// Reads a CSV of posts and lists every row with its problems. Nothing is saved.
#[utoipa::path(post, path = "/api/v1/import/preview", tag = "import", security(("token" = ["posts:write"]), ("session" = [])), request_body = PreviewRequest,
    responses((status = 200, description = "Every row with its problems", body = PreviewResponse), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 403, description = "Cannot write posts", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn preview(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<PreviewRequest>,
) -> Result<Json<PreviewResponse>, ApiError> {
    caller.require(Permission::WritePosts)?;
    let now = state.clock.now();
    let preview =
        import::preview(&state.store, &state.policy, &caller.user, &request.csv, now).await?;
    Ok(Json(preview.into()))
}

/// Imports a CSV of posts, each a post by the caller through the usual workflow: scheduled
/// at its time when the caller may publish, otherwise submitted for approval. Any problem
/// refuses the whole file unless `only_valid` is set. If a row fails part-way, the answer (409)
/// names the rows already imported and their posts.
#[utoipa::path(post, path = "/api/v1/import", tag = "import", security(("token" = ["posts:write"]), ("session" = [])), request_body = ImportRequest,
    responses((status = 200, description = "Imported", body = ImportResponse), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 403, description = "Cannot write posts", body = crate::http::Problem, content_type = "application/problem+json"), (status = 409, description = "Stopped part-way: the detail names the rows imported", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "Problems in the file; nothing imported", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<ImportRequest>,
) -> Result<Json<ImportResponse>, ApiError> {
    caller.require(Permission::WritePosts)?;
    let choice = if request.only_valid {
        Choice::OnlyValid
    } else {
        Choice::All
    };
    let now = state.clock.now();
    let max_attempts = state.config.jobs.max_attempts;
    let report = import::import_to_the_end(
        state.store.clone(),
        state.policy.clone(),
        caller.user.clone(),
        request.csv,
        choice,
        max_attempts,
        now,
    )
    .await?;
    if let Some(detail) = report.stopped_detail() {
        return Err(ApiError::Conflict(detail));
    }
    Ok(Json(ImportResponse {
        skipped: report.skipped.iter().map(RowEntry::from).collect(),
        imported: report
            .imported
            .into_iter()
            .map(|imported| ImportedEntry {
                row: imported.row,
                post: imported.post.into(),
            })
            .collect(),
    }))
}

/// One account's schedule as CSV, in the import's columns plus `state` and `post_id`.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/schedule.csv", tag = "import", security(("token" = ["accounts:read"]), ("session" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "The schedule", body = String, content_type = "text/csv"), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such account", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn schedule_csv(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    caller.require(Permission::ViewAccounts)?;
    let schedule = export::schedule(&state.store, &caller.user, id, state.clock.now()).await?;
    let body = export::csv(&schedule)?;
    Ok(download(
        "text/csv; charset=utf-8",
        &export::file_name(&schedule.account, "csv"),
        body,
    ))
}

/// One account's schedule as an iCalendar feed (RFC 5545): an event per post.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/schedule.ics", tag = "import", security(("token" = ["accounts:read"]), ("session" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "The feed", body = String, content_type = "text/calendar"), (status = 401, description = "Not signed in", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such account", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn schedule_ics(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    caller.require(Permission::ViewAccounts)?;
    let schedule = export::schedule(&state.store, &caller.user, id, state.clock.now()).await?;
    let host = state
        .config
        .public_url
        .as_deref()
        .and_then(host_of)
        .unwrap_or("herald");
    let body = export::ical(&schedule, host);
    Ok(download(
        "text/calendar; charset=utf-8",
        &export::file_name(&schedule.account, "ics"),
        body,
    ))
}

fn download(content_type: &'static str, file_name: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// `herald.example.com` from `https://herald.example.com:8443/`.
fn host_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host = rest.split(['/', ':', '?', '#']).next()?;
    Some(host).filter(|host| !host.is_empty())
}
