//! `/api/v1/import/preview` and `/api/v1/import`: a CSV of posts checked row by row, then
//! imported; and `/api/v1/accounts/{id}/schedule.csv` and `…/schedule.ics`: one account's
//! schedule as CSV (which imports again) and as an iCalendar feed.

use crate::domain::ids::AccountId;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::posts::PostResponse;
use crate::domain::access::Permission;
use crate::domain::accounts::Network;
use crate::http::auth::Caller;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::{ApiError, AppState};
use crate::services::export;
use crate::services::import::{self, Choice, Preview, Problem, Row};

/// A CSV file to check.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"csv": "date,time,message,link,account\n2026-12-24,08:00,Mince pies are back at the counter,,@cafelune@social.example\n2026-12-27,10:30,Open viewing at 12 Harbour Row this Saturday,https://estate.example/12-harbour-row,@harbourhomes@social.example\n"}))]
pub struct PreviewRequest {
    /// The file's text: a header row naming the columns `date`, `time`, `message`, `account`
    /// and optionally `link` (separated by `,` or `;`), then one row per post, at most 500.
    pub csv: String,
}

/// A CSV file to import.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"csv": "date,time,message,link,account\n2026-12-24,08:00,Mince pies are back at the counter,,@cafelune@social.example\n2026-12-27,10:30,Open viewing at 12 Harbour Row this Saturday,https://estate.example/12-harbour-row,@harbourhomes@social.example\n", "only_valid": false}))]
pub struct ImportRequest {
    /// The file's text, as for the preview. An empty file, a header without the required
    /// columns, or more than 500 rows is a problem with the whole file (422).
    pub csv: String,
    /// Import the rows without problems and skip the others; otherwise any problem refuses
    /// the whole file.
    #[serde(default)]
    pub only_valid: bool,
}

/// Every row of the file as Herald reads it, with its problems.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "separator": ",", "columns": ["date", "time", "message", "link", "account"],
    "clean": false, "valid_rows": 1, "file_problems": [],
    "rows": [
        {"row": 2, "account": "@cafelune@social.example", "account_id": 1, "network": "mastodon",
         "at": "2026-12-24T08:00:00Z", "local_time": "2026-12-24 08:00 (Europe/London)",
         "text": "Mince pies are back at the counter", "valid": true, "problems": [],
         "notes": ["waits for approval by a publisher of the account"]},
        {"row": 3, "account": "@harbourhomes@social.example", "account_id": null, "network": null,
         "at": "2026-12-27T10:30:00Z", "local_time": null,
         "text": "Open viewing at 12 Harbour Row this Saturday https://estate.example/12-harbour-row",
         "valid": false,
         "problems": [{"row": 3, "column": "account", "message": "no account @harbourhomes@social.example that you can write for"}],
         "notes": []}
    ]
}))]
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
    pub account_id: Option<AccountId>,
    pub network: Option<Network>,
    /// When it goes out: RFC 3339 UTC, and as the account's time zone shows it.
    #[schema(format = DateTime)]
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

/// What the import did.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "imported": [{"row": 2, "post": {
        "id": 12, "account_id": 1, "author_id": 3, "text": "Mince pies are back at the counter",
        "version": 1, "state": "scheduled",
        "length": {"used": 34, "limit": 500, "unit": "characters", "bytes": null},
        "scheduled_at": "2026-12-24T08:00:00Z", "published_at": null,
        "time_zone": "Europe/London", "remote_id": null, "remote_url": null, "problem": null,
        "history": [], "attempts": []
    }}],
    "skipped": []
}))]
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

/// Checks a CSV of posts
///
/// Reads a CSV of posts and lists every row as Herald reads it, with its problems and what will
/// happen to it; problems are in the answer, not an error. Needs posts:write; nothing is saved.
#[utoipa::path(post, path = "/api/v1/import/preview", tag = "import", security(("token" = ["posts:write"]), ("session" = [])), request_body = PreviewRequest,
    responses((status = 200, description = "Every row with its problems", body = PreviewResponse), (status = 403, description = "Cannot write posts", body = crate::http::Problem, content_type = "application/problem+json")))]
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

/// Imports a CSV of posts
///
/// Imports a CSV of posts, each a post by the caller through the usual workflow: scheduled at its
/// time on accounts the caller may publish to, otherwise submitted for approval. Any problem
/// refuses the whole file (422) unless `only_valid` is set; a row failing part-way answers 409
/// naming the rows already imported.
#[utoipa::path(post, path = "/api/v1/import", tag = "import", security(("token" = ["posts:write"]), ("session" = [])), request_body = ImportRequest,
    responses((status = 200, description = "Imported", body = ImportResponse), (status = 403, description = "Cannot write posts", body = crate::http::Problem, content_type = "application/problem+json"), (status = 409, description = "Stopped part-way: the detail names the rows imported", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "Problems in the file; nothing imported", body = crate::http::Problem, content_type = "application/problem+json")))]
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
    let report = import::import_to_the_end(
        state.services.clone(),
        caller.user.clone(),
        request.csv,
        choice,
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

/// Exports an account's schedule as CSV
///
/// The account's scheduled and published posts as CSV, in the import's columns plus `state` and
/// `post_id`, so the file imports again. Anyone who may see the account may download it.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/schedule.csv", tag = "import", security(("token" = ["accounts:read"]), ("session" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "The schedule, as an attachment", body = String, content_type = "text/csv", example = "date,time,message,link,account,state,post_id\n2026-12-24,08:00,Mince pies are back at the counter,,@cafelune@social.example,scheduled,12\n"), (status = 404, description = "No such account", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn schedule_csv(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<AccountId>,
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

/// Exports an account's schedule as iCalendar
///
/// The account's schedule as an iCalendar feed (RFC 5545), one event per post, for a calendar app
/// to subscribe to. Anyone who may see the account may fetch it.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/schedule.ics", tag = "import", security(("token" = ["accounts:read"]), ("session" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "The feed, as an attachment", body = String, content_type = "text/calendar", example = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Herald//Herald 0.1.0//EN\r\nBEGIN:VEVENT\r\nUID:post-12@herald.example.com\r\nDTSTART:20261224T080000Z\r\nSUMMARY:Mince pies are back at the counter\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"), (status = 404, description = "No such account", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn schedule_ics(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<AccountId>,
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
