//! Reading the composer's form: URL-encoded as before, or multipart when it carries an image
//! chosen before the first save. Either way the CSRF token is checked by the one form check.

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};

use super::ComposeForm;
use crate::domain::media::LARGEST_UPLOAD;
use crate::http::auth::Caller;
use crate::http::{ApiError, AppState};

/// An image chosen in the composer, with its description.
#[derive(Debug)]
pub(super) struct ChosenImage {
    pub bytes: Vec<u8>,
    pub alt: String,
}

/// What the composer sent: its fields, the image if one was chosen, and why the image could
/// not be read (too large, cut short) if it could not — the text is shown again then.
pub(super) struct Sent {
    pub form: ComposeForm,
    pub image: Option<ChosenImage>,
    pub unreadable: Option<String>,
}

pub(super) async fn read(
    state: &AppState,
    caller: &Caller,
    request: Request,
) -> Result<Sent, ApiError> {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("multipart/form-data"));
    let sent = if multipart {
        read_multipart(state, request).await?
    } else {
        let bytes = axum::body::to_bytes(request.into_body(), state.config.http.max_body_bytes)
            .await
            .map_err(|_| {
                ApiError::Rejected(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "the form is too large".to_owned(),
                )
            })?;
        let form = serde_urlencoded::from_bytes(&bytes)
            .map_err(|error| ApiError::BadRequest(format!("the form is not complete: {error}")))?;
        Sent {
            form,
            image: None,
            unreadable: None,
        }
    };
    caller.check_form_csrf(sent.form.rest.get("csrf").map(String::as_str))?;
    Ok(sent)
}

async fn read_multipart(state: &AppState, request: Request) -> Result<Sent, ApiError> {
    let mut parts = Multipart::from_request(request, state)
        .await
        .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    let mut form = ComposeForm::default();
    let (mut bytes, mut alt, mut unreadable) = (None, String::new(), None);
    loop {
        let field = match parts.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) => {
                unreadable = Some(image_unreadable(error.status(), &error.body_text()));
                break;
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name == "image" {
            match field.bytes().await {
                Ok(read) if read.is_empty() => {}
                Ok(read) => bytes = Some(read.to_vec()),
                Err(error) => {
                    unreadable = Some(image_unreadable(error.status(), &error.body_text()));
                    break;
                }
            }
            continue;
        }
        let text = field
            .text()
            .await
            .map_err(|error| ApiError::BadRequest(format!("the form cannot be read: {error}")))?;
        match name.as_str() {
            "account_id" => form.account_id = text,
            "text" => form.text = text,
            "intent" => form.intent = text,
            "at" => form.at = text,
            "image_alt" => alt = text,
            _ => {
                form.rest.insert(name, text);
            }
        }
    }
    Ok(Sent {
        form,
        image: bytes.map(|bytes| ChosenImage { bytes, alt }),
        unreadable,
    })
}

fn image_unreadable(status: StatusCode, detail: &str) -> String {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        format!(
            "The image is larger than any network takes (at most {} MiB). Choose a smaller one.",
            LARGEST_UPLOAD / (1024 * 1024)
        )
    } else {
        format!("The image could not be read: {detail}. Choose it again.")
    }
}
