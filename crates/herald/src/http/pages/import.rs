//! The import page (`/import`): upload a CSV file of posts (or paste it), see every row with its
//! problems beside it, then import them all (only when all are valid) or only the valid ones.
//! One form does it all, so it works without JavaScript: the file's text comes back in the
//! page's text box, where it can be corrected and previewed again. The same service as the API.

use crate::domain::ids::PostId;
use askama::Template;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde::Deserialize;

use super::{Layout, PageError, message, render};
use crate::domain::access::Permission;
use crate::http::auth::Caller;
use crate::http::{ApiError, AppState};
use crate::services::import::{self, Choice, Preview, Report};

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    layout: Layout,
    csrf: String,
    csv: String,
    error: Option<String>,
    preview: Option<PreviewView>,
    done: Option<DoneView>,
}

struct PreviewView {
    clean: bool,
    total: usize,
    valid_rows: usize,
    file_problems: Vec<String>,
    rows: Vec<RowView>,
}

struct RowView {
    row: usize,
    account: String,
    when: String,
    text: String,
    /// (column, message)
    problems: Vec<(String, String)>,
    notes: Vec<String>,
}

struct DoneView {
    /// (row, post id, state)
    imported: Vec<(usize, PostId, &'static str)>,
    skipped: Vec<usize>,
    stopped: Option<String>,
}

/// What the form sends: the text box, or an uploaded file, and which button was pressed.
#[derive(Debug, Default, Deserialize)]
pub struct ImportForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    csv: String,
    /// `preview`, `all` or `valid`.
    #[serde(default)]
    intent: String,
}

pub async fn show(caller: Caller) -> Result<Response, PageError> {
    caller.require(Permission::WritePosts)?;
    Ok(page(
        &caller,
        String::new(),
        None,
        None,
        None,
        StatusCode::OK,
    ))
}

/// Previews or imports, as the pressed button says.
pub async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> Result<Response, PageError> {
    caller.require(Permission::WritePosts)?;
    let form = read_form(&state, &caller, request).await?;
    let csv = match form {
        Ok(form) => form,
        Err(shown) => {
            return Ok(page(
                &caller,
                String::new(),
                Some(shown),
                None,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
    };
    let now = state.clock.now();
    let (store, guard, user) = (&state.store, &state.policy, &caller.user);
    let choice = match csv.intent.as_str() {
        "all" => Choice::All,
        "valid" => Choice::OnlyValid,
        _ => {
            let preview = import::preview(store, guard, user, &csv.csv, now).await?;
            let view = preview_view(&preview);
            return Ok(page(
                &caller,
                csv.csv,
                None,
                Some(view),
                None,
                StatusCode::OK,
            ));
        }
    };
    let imported = import::import_to_the_end(
        state.services.clone(),
        user.clone(),
        csv.csv.clone(),
        choice,
        now,
    )
    .await;
    match imported {
        Ok(report) => {
            let done = done_view(&report);
            Ok(page(
                &caller,
                String::new(),
                None,
                None,
                Some(done),
                StatusCode::OK,
            ))
        }
        // Refused: nothing was saved; the rows come back with their problems, the text kept.
        Err(error) => {
            let shown = message(error);
            let preview = import::preview(store, guard, user, &csv.csv, now).await?;
            let view = preview_view(&preview);
            Ok(page(
                &caller,
                csv.csv,
                Some(shown),
                Some(view),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            ))
        }
    }
}

/// The form, from `multipart/form-data` (a file upload) or a plain form, checked against the
/// session's CSRF token. An unreadable file is a message for the page, not an error page.
async fn read_form(
    state: &AppState,
    caller: &Caller,
    request: Request,
) -> Result<Result<ImportForm, String>, PageError> {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("multipart/form-data"));
    let mut form = ImportForm::default();
    let mut file: Option<Vec<u8>> = None;
    if multipart {
        let mut parts = Multipart::from_request(request, state)
            .await
            .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
        while let Some(field) = parts
            .next_field()
            .await
            .map_err(|error| ApiError::BadRequest(format!("the form cannot be read: {error}")))?
        {
            let name = field.name().unwrap_or_default().to_owned();
            let bytes = field.bytes().await.map_err(|error| {
                ApiError::BadRequest(format!("the form cannot be read: {error}"))
            })?;
            let text = || String::from_utf8_lossy(&bytes).into_owned();
            match name.as_str() {
                "csrf" => form.csrf = text(),
                "intent" => form.intent = text(),
                "csv" => form.csv = text(),
                "file" if !bytes.is_empty() => file = Some(bytes.to_vec()),
                _ => {}
            }
        }
    } else {
        let bytes = axum::body::to_bytes(request.into_body(), state.config.http.max_body_bytes)
            .await
            .map_err(|_| ApiError::BadRequest("the form is too large".to_owned()))?;
        form = serde_urlencoded::from_bytes(&bytes)
            .map_err(|error| ApiError::BadRequest(format!("the form is not complete: {error}")))?;
    }
    caller.check_form_csrf(Some(&form.csrf))?;
    if let Some(bytes) = file {
        match String::from_utf8(bytes) {
            Ok(text) => form.csv = text,
            Err(_) => {
                return Ok(Err(
                    "the file is not UTF-8 text; save it from your spreadsheet as \"CSV UTF-8\" and upload it again".to_owned(),
                ));
            }
        }
    }
    Ok(Ok(form))
}

fn preview_view(preview: &Preview) -> PreviewView {
    PreviewView {
        clean: preview.is_clean(),
        total: preview.rows.len(),
        valid_rows: preview.valid_rows(),
        file_problems: preview
            .file_problems
            .iter()
            .map(|problem| problem.message.clone())
            .collect(),
        rows: preview
            .rows
            .iter()
            .map(|row| RowView {
                row: row.row,
                account: row
                    .account
                    .as_ref()
                    .map(|account| format!("{} ({})", account.handle, account.network.label()))
                    .unwrap_or_else(|| row.account_text.clone()),
                when: row.local_time.clone().unwrap_or_default(),
                text: row.shown_text.clone(),
                problems: row
                    .problems
                    .iter()
                    .map(|problem| {
                        let column = problem.column.clone().unwrap_or_else(|| "row".to_owned());
                        (column, problem.message.clone())
                    })
                    .collect(),
                notes: row.notes.clone(),
            })
            .collect(),
    }
}

fn done_view(report: &Report) -> DoneView {
    DoneView {
        imported: report
            .imported
            .iter()
            .map(|imported| {
                (
                    imported.row,
                    imported.post.post.id,
                    imported.post.post.state.as_str(),
                )
            })
            .collect(),
        skipped: report.skipped.iter().map(|row| row.row).collect(),
        stopped: report.stopped_detail(),
    }
}

fn page(
    caller: &Caller,
    csv: String,
    error: Option<String>,
    preview: Option<PreviewView>,
    done: Option<DoneView>,
    status: StatusCode,
) -> Response {
    let page = ImportPage {
        layout: Layout::signed_in("Import posts · Herald", "/posts", caller),
        csrf: caller.csrf_token().unwrap_or_default().to_owned(),
        csv,
        error,
        preview,
        done,
    };
    render(status, &page)
}
