//! Request-body extractors whose failures are problem+json with a specific detail, instead of
//! axum's plain-text rejections. Text that a database cannot store (a NUL character: PostgreSQL
//! refuses it, SQLite would keep it) is refused here, naming the field, the same on both.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::ApiError;

/// A JSON request body.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let Json(value) = Json::<serde_json::Value>::from_request(request, state)
            .await
            .map_err(describe)?;
        if let Some(field) = field_with_nul(&value) {
            return Err(nul_refused(&field));
        }
        // The error names the field it is about (`network: unknown variant …`), as axum's does.
        serde_path_to_error::deserialize(value)
            .map(ApiJson)
            .map_err(|error| {
                ApiError::Rejected(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("the JSON does not have the expected fields: {error}"),
                )
            })
    }
}

/// A form posted by someone not signed in (sign-in, setup, an invitation): read as axum's
/// `Form` would, but a field holding a NUL character is refused naming it, as everywhere.
#[derive(Debug)]
pub struct PlainForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for PlainForm<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|rejection| ApiError::Rejected(rejection.status(), rejection.body_text()))?;
        refuse_nul_in_form(&bytes)?;
        serde_urlencoded::from_bytes(&bytes)
            .map(PlainForm)
            .map_err(|error| ApiError::BadRequest(format!("the form is not complete: {error}")))
    }
}

/// Refuses a URL-encoded form one of whose names or values holds a NUL character.
pub fn refuse_nul_in_form(bytes: &[u8]) -> Result<(), ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes).unwrap_or_default();
    match pairs
        .iter()
        .find(|(name, value)| name.contains('\0') || value.contains('\0'))
    {
        Some((name, _)) => Err(nul_refused(name)),
        None => Ok(()),
    }
}

/// The refusal of a field holding a NUL character.
pub fn nul_refused(field: &str) -> ApiError {
    ApiError::Rejected(
        StatusCode::UNPROCESSABLE_ENTITY,
        format!(
            "`{}` holds a NUL character (U+0000), which Herald does not store; remove it",
            field.replace('\0', "\\u0000")
        ),
    )
}

/// The path (`email`, `rows[2].text`) of the first string or key in `value` that holds a NUL.
fn field_with_nul(value: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(text) if text.contains('\0') => Some(String::new()),
        Value::Array(items) => items.iter().enumerate().find_map(|(index, item)| {
            field_with_nul(item).map(|inner| format!("[{index}]{}", dotted(&inner)))
        }),
        Value::Object(fields) => fields.iter().find_map(|(name, item)| {
            if name.contains('\0') {
                return Some(name.replace('\0', "\\u0000"));
            }
            field_with_nul(item).map(|inner| format!("{name}{}", dotted(&inner)))
        }),
        _ => None,
    }
}

/// `inner` as it follows a name: `.name`, `[2]`, or nothing.
fn dotted(inner: &str) -> String {
    match inner.chars().next() {
        None => String::new(),
        Some('[') => inner.to_owned(),
        Some(_) => format!(".{inner}"),
    }
}

fn describe(rejection: JsonRejection) -> ApiError {
    let detail = match &rejection {
        JsonRejection::MissingJsonContentType(_) => {
            "send the body as JSON with Content-Type: application/json".to_owned()
        }
        JsonRejection::JsonSyntaxError(_) => {
            format!("the body is not valid JSON: {}", rejection.body_text())
        }
        JsonRejection::JsonDataError(_) => format!(
            "the JSON does not have the expected fields: {}",
            rejection.body_text()
        ),
        _ => rejection.body_text(),
    };
    ApiError::Rejected(rejection.status(), detail)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_field_holding_a_nul_is_named_however_deep() {
        assert_eq!(
            field_with_nul(&json!({ "email": "a\u{0}b" })),
            Some("email".to_owned())
        );
        assert_eq!(
            field_with_nul(&json!({ "rows": [{ "text": "ok" }, { "text": "x\u{0}" }] })),
            Some("rows[1].text".to_owned())
        );
        assert_eq!(field_with_nul(&json!(["\u{0}"])), Some("[0]".to_owned()));
        assert_eq!(field_with_nul(&json!({ "text": "fine", "n": 3 })), None);
    }
}
