//! Extractors for request bodies and path and query parameters whose failures are problem+json
//! naming the field or parameter, instead of axum's plain-text rejections. Text that a database
//! cannot store (a NUL character: PostgreSQL refuses it, SQLite would keep it) is refused here,
//! naming the field, the same on both.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Path, Request};
use axum::http::request::Parts;
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
        serde_path_to_error::deserialize(integral_numbers_as_integers(value))
            .map(ApiJson)
            .map_err(|error| {
                let field = error.path().to_string();
                let field = match field.as_str() {
                    "." => missing_field(error.inner()).unwrap_or_default(),
                    _ => field,
                };
                ApiError::InvalidBody {
                    message: format!("the JSON does not have the expected fields: {error}"),
                    field,
                }
            })
    }
}

/// JSON Schema counts `3.0` as the integer 3 (and so do the JSON encoders of some languages);
/// serde would refuse it for an integer field. Whole numbers in integer range become integers.
fn integral_numbers_as_integers(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Number(number) if number.is_f64() => match number.as_f64() {
            // Both bounds are exactly representable; `as` is exact for whole numbers inside them.
            #[allow(clippy::cast_possible_truncation)]
            Some(float) if float.fract() == 0.0 && (-9.2e18..9.2e18).contains(&float) => {
                Value::from(float as i64)
            }
            _ => Value::Number(number),
        },
        Value::Array(items) => items
            .into_iter()
            .map(integral_numbers_as_integers)
            .collect(),
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(name, item)| (name, integral_numbers_as_integers(item)))
                .collect(),
        ),
        other => other,
    }
}

/// The name in serde's "missing field `name`", the one error reported at the top level.
fn missing_field(error: &impl std::fmt::Display) -> Option<String> {
    let text = error.to_string();
    let name = text.strip_prefix("missing field `")?.split('`').next()?;
    Some(name.to_owned())
}

/// Path parameters (`/posts/{id}`): one that does not parse is a 400 naming it.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(bad_path_parameter(parts, &rejection)),
        }
    }
}

fn bad_path_parameter(parts: &Parts, rejection: &PathRejection) -> ApiError {
    use axum::extract::path::ErrorKind;
    // The route's template names the parameters in order: `/accounts/{id}/grants/{user_id}`.
    let names: Vec<&str> = parts
        .extensions
        .get::<MatchedPath>()
        .map(|matched| {
            matched
                .as_str()
                .split('/')
                .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
                .collect()
        })
        .unwrap_or_default();
    let (parameter, value, expected) = match rejection {
        PathRejection::FailedToDeserializePathParams(failure) => match failure.kind() {
            ErrorKind::ParseErrorAtKey {
                key,
                value,
                expected_type,
            } => (key.as_str(), value.as_str(), *expected_type),
            ErrorKind::ParseErrorAtIndex {
                index,
                value,
                expected_type,
            } => (
                names.get(*index).copied().unwrap_or("?"),
                value.as_str(),
                *expected_type,
            ),
            ErrorKind::ParseError {
                value,
                expected_type,
            } => (
                names.first().copied().unwrap_or("?"),
                value.as_str(),
                *expected_type,
            ),
            _ => (names.first().copied().unwrap_or("?"), "", ""),
        },
        _ => (names.first().copied().unwrap_or("?"), "", ""),
    };
    let wanted = if expected.ends_with("i64") {
        "a whole number (up to 9223372036854775807)"
    } else {
        "text"
    };
    let message = if value.is_empty() {
        format!("the path parameter `{parameter}` cannot be read")
    } else {
        let value: String = value.chars().take(40).collect();
        format!("the path parameter `{parameter}` must be {wanted}, not `{value}`")
    };
    ApiError::BadParameter {
        parameter: parameter.to_owned(),
        message,
    }
}

/// Query parameters (`?limit=50`): one that is missing or does not parse is a 400 naming it.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let pairs = form_urlencoded::parse(query.as_bytes());
        if let Some((name, _)) = pairs
            .clone()
            .find(|(name, value)| name.contains('\0') || value.contains('\0'))
        {
            return Err(ApiError::BadParameter {
                message: format!(
                    "the query parameter `{}` holds a NUL character (U+0000); remove it",
                    name.replace('\0', "\\u0000")
                ),
                parameter: name.replace('\0', "\\u0000"),
            });
        }
        serde_path_to_error::deserialize(serde_urlencoded::Deserializer::new(pairs))
            .map(ApiQuery)
            .map_err(|error| {
                let parameter = match error.path().to_string().as_str() {
                    "." => missing_field(error.inner()).unwrap_or_default(),
                    path => path.to_owned(),
                };
                ApiError::BadParameter {
                    message: format!("the query parameter `{parameter}`: {}", error.inner()),
                    parameter,
                }
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
    let field = field.replace('\0', "\\u0000");
    ApiError::InvalidBody {
        message: format!(
            "`{field}` holds a NUL character (U+0000), which Herald does not store; remove it"
        ),
        field,
    }
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
