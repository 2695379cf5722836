//! Images on a draft from its page, for browsers without scripts: upload one with its alt
//! text (a multipart form, its CSRF token read from the form's `csrf` part), and remove one.
//! The same service as `/api/v1/posts/{id}/media`; a refusal shows the post's page again with
//! the message beside the field, the typed alt text kept and the draft untouched.

use crate::domain::ids::PostId;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::PageError;
use super::people::{FieldError, NoFields};
use super::posts::{Typed, post_view};
use crate::domain::access::Permission;
use crate::domain::accounts::Network;
use crate::domain::media::{LARGEST_UPLOAD, Limits};
use crate::http::auth::{Caller, CsrfForm};
use crate::http::{ApiError, AppState};
use crate::services::AppError;
use crate::services::media;

/// What the upload form sent.
#[derive(Debug, Default)]
struct Upload {
    csrf: Option<String>,
    file: Option<Vec<u8>>,
    alt: String,
    /// Why the form could not be read to its end (too large, cut short), if it could not.
    unreadable: Option<FieldError>,
}

/// `POST /posts/{id}/media`: attaches the uploaded image with its alt text to the draft.
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<PostId>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    caller.require(Permission::WritePosts)?;
    // Decided before the body is read, as the API does: only the draft's author gets further.
    media::may_attach(&state.store, &caller.user, id)
        .await
        .map_err(ApiError::from)?;
    let form = form.map_err(|rejection| {
        ApiError::Rejected(
            rejection.status(),
            "send the upload form as multipart/form-data".to_owned(),
        )
    })?;
    let upload = read(form).await;
    // CsrfForm cannot read a multipart body, so the token is checked here, by the same check.
    caller.check_form_csrf(upload.csrf.as_deref())?;
    let typed = Typed {
        alt: Some(upload.alt.clone()),
        ..Typed::default()
    };
    if let Some(error) = upload.unreadable {
        return post_view(&state, &caller, id, Some(error), typed).await;
    }
    let Some(file) = upload.file.filter(|file| !file.is_empty()) else {
        let error = AppError::Invalid {
            field: "file",
            message: "choose an image file to attach".to_owned(),
        };
        return post_view(&state, &caller, id, Some(error.into()), typed).await;
    };
    let attached = media::attach(
        &state,
        &caller.user,
        id,
        file,
        &upload.alt,
        state.clock.now(),
    )
    .await;
    match attached {
        Ok(_) => Ok(Redirect::to(&format!("/posts/{id}#images")).into_response()),
        Err(error @ AppError::NotFound { .. }) => Err(error.into()),
        Err(error) => post_view(&state, &caller, id, Some(error.into()), typed).await,
    }
}

/// `POST /posts/{id}/media/{media_id}/remove`: takes an image off the draft.
pub async fn remove(
    State(state): State<AppState>,
    Path((id, media_id)): Path<(PostId, i64)>,
    CsrfForm { caller, .. }: CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    caller.require(Permission::WritePosts)?;
    let removed = media::remove(&state, &caller.user, id, media_id, state.clock.now()).await;
    match removed {
        Ok(()) => Ok(Redirect::to(&format!("/posts/{id}#images")).into_response()),
        Err(error @ AppError::NotFound { .. }) => Err(error.into()),
        Err(error) => post_view(&state, &caller, id, Some(error.into()), Typed::default()).await,
    }
}

/// What `network` takes, in words for the upload form: "PNG, JPEG, GIF or WebP, at most
/// 5 MB each, up to 4 images".
pub fn rule(network: Network, limits: &Limits) -> String {
    let types: Vec<&str> = limits.types.iter().map(|kind| kind.label()).collect();
    let types = match types.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    };
    let size = match limits.largest_bytes {
        bytes if bytes % 1_000_000 == 0 => format!("{} MB", bytes / 1_000_000),
        bytes if bytes % (1024 * 1024) == 0 => format!("{} MiB", bytes / (1024 * 1024)),
        bytes => format!("{bytes} bytes"),
    };
    let count = match limits.most_images {
        1 => "one image".to_owned(),
        most => format!("up to {most} images"),
    };
    format!(
        "{} takes {types}, at most {size} each, {count}",
        network.label()
    )
}

/// Reads the form's parts in order; a part that cannot be read ends the reading with the
/// reason, kept for after the CSRF check.
async fn read(mut form: Multipart) -> Upload {
    let mut upload = Upload::default();
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return upload,
            Err(error) => {
                upload.unreadable = Some(unreadable(error.status(), &error.body_text()));
                return upload;
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        let read = match name.as_str() {
            "csrf" => field.text().await.map(|text| upload.csrf = Some(text)),
            "alt" => field.text().await.map(|text| upload.alt = text),
            "file" => field
                .bytes()
                .await
                .map(|bytes| upload.file = Some(bytes.to_vec())),
            _ => Ok(()),
        };
        if let Err(error) = read {
            upload.unreadable = Some(unreadable(error.status(), &error.body_text()));
            return upload;
        }
    }
}

fn unreadable(status: StatusCode, detail: &str) -> FieldError {
    let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
        format!(
            "the file is larger than any network takes (at most {} MiB)",
            LARGEST_UPLOAD / (1024 * 1024)
        )
    } else {
        format!("the upload could not be read: {detail}")
    };
    FieldError {
        field: "file",
        message,
        status,
    }
}
