//! Errors become HTTP here and nowhere else. API paths answer `application/problem+json`
//! (RFC 9457) with a specific `detail`; pages answer a calm HTML page. Internal errors are an
//! opaque 500 whose cause is logged, never shown.

use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::pages;
use crate::services::AppError;
use crate::store::StoreError;

/// A problem details object (RFC 9457).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`; `code` says which problem this is.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The HTTP status phrase.
    pub title: String,
    pub status: u16,
    /// What went wrong with this request, in a sentence meant for people.
    pub detail: String,
    /// A stable, machine-readable name for the problem, such as `not_found`.
    pub code: &'static str,
    /// For invalid input: the body field, or the path or query parameter, the problem is with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Every way an API request can fail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    BadRequest(String),
    /// A path or query parameter that is missing or does not parse.
    #[error("{message}")]
    BadParameter { parameter: String, message: String },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Gone(String),
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// A JSON body field of the wrong type or shape (`field` is its path, such as `slots[0].weekday`).
    #[error("{message}")]
    InvalidBody { field: String, message: String },
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_seconds: i64,
    },
    #[error("{0}")]
    Unavailable(String),
    /// A request body axum could not read (wrong content type, malformed JSON, too large).
    #[error("{1}")]
    Rejected(StatusCode, String),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn internal(error: impl std::error::Error + Send + Sync + 'static) -> ApiError {
        ApiError::Internal(Box::new(error))
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::BadParameter { .. } => (StatusCode::BAD_REQUEST, "bad_parameter"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::Gone(_) => (StatusCode::GONE, "gone"),
            ApiError::Invalid { .. } | ApiError::InvalidBody { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid")
            }
            ApiError::TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_requests")
            }
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Rejected(status, _) => (*status, "bad_request_body"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    pub fn problem(&self) -> Problem {
        let (status, code) = self.status_and_code();
        let detail = match self {
            ApiError::Internal(_) => {
                "Something went wrong on our side; it has been logged. Please try again.".to_owned()
            }
            // A NUL from a path or query parameter is named, not echoed.
            other => other.to_string().replace('\0', "\\u0000"),
        };
        Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            code,
            field: match self {
                ApiError::Invalid { field, .. } => Some((*field).to_owned()),
                ApiError::BadParameter { parameter, .. } => Some(parameter.clone()),
                ApiError::InvalidBody { field, .. } => Some(field.clone()),
                _ => None,
            },
        }
    }
}

/// A message as people read it on a page: a sentence, starting with a capital. The services'
/// messages are written to be read inside others ("the policy blocks this post: …"), and the
/// API keeps them so; a page is where they start a sentence.
pub(crate) fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) if first.is_lowercase() => first.to_uppercase().chain(chars).collect(),
        _ => message.to_owned(),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(source) = &self {
            tracing::error!(error = %error_chain(source.as_ref()), "internal error");
        }
        let problem = self.problem();
        let status =
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_string(&problem).unwrap_or_default();
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response();
        if let ApiError::TooManyRequests {
            retry_after_seconds,
            ..
        } = self
            && let Ok(value) = header::HeaderValue::from_str(&retry_after_seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// A database failure in a handler is an internal error: logged in full, shown as an opaque 500.
impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        ApiError::internal(error)
    }
}

/// The status of each service error: the one table the API ([`ApiError`]'s `From`) and the
/// pages (`pages::status_of`) share. A store failure is a 500 everywhere.
pub fn status_for(error: &AppError) -> StatusCode {
    match error {
        AppError::AlreadySetUp | AppError::Conflict(_) | AppError::EnrolAgain => {
            StatusCode::CONFLICT
        }
        AppError::Denied(_) => StatusCode::FORBIDDEN,
        AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::WrongCredentials | AppError::SteppedOut => StatusCode::UNAUTHORIZED,
        AppError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        AppError::InvitationGone => StatusCode::GONE,
        AppError::NotFound { .. } => StatusCode::NOT_FOUND,
        AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        AppError::Store(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> ApiError {
        match error {
            AppError::AlreadySetUp | AppError::Conflict(_) => ApiError::Conflict(error.to_string()),
            AppError::Denied(_) => ApiError::Forbidden(error.to_string()),
            AppError::Invalid { field, message } => ApiError::Invalid { field, message },
            AppError::WrongCredentials | AppError::SteppedOut => {
                ApiError::Unauthorized(error.to_string())
            }
            AppError::EnrolAgain => ApiError::Conflict(error.to_string()),
            AppError::Throttled {
                retry_after_seconds,
            } => ApiError::TooManyRequests {
                message: error.to_string(),
                retry_after_seconds,
            },
            AppError::InvitationGone => ApiError::Gone(error.to_string()),
            AppError::NotFound { message, .. } => ApiError::NotFound(message),
            AppError::Unavailable(message) => ApiError::Unavailable(message),
            AppError::Store(store) => ApiError::internal(store),
            AppError::Internal(message) => ApiError::internal(AppError::Internal(message)),
        }
    }
}

/// The fallback for paths no route matches.
pub async fn not_found(method: Method, uri: Uri) -> Response {
    let detail = format!("There is no page at {}.", uri.path());
    if is_api(&uri) {
        return ApiError::NotFound(format!("no API route {method} {}", uri.path())).into_response();
    }
    error_page(StatusCode::NOT_FOUND, "Page not found", &detail)
}

/// The fallback for a known path asked with the wrong method.
pub async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    let detail = format!("{} does not accept {method} requests.", uri.path());
    if is_api(&uri) {
        return ApiError::MethodNotAllowed(detail).into_response();
    }
    error_page(StatusCode::METHOD_NOT_ALLOWED, "Not allowed", &detail)
}

fn is_api(uri: &Uri) -> bool {
    uri.path() == "/api" || uri.path().starts_with("/api/")
}

fn error_page(status: StatusCode, title: &str, detail: &str) -> Response {
    match pages::render_error(status, title, detail) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(error = %error, "error page failed to render");
            (status, detail.to_owned()).into_response()
        }
    }
}

/// The error and its causes on one line (see `telemetry::error_chain`).
pub use crate::telemetry::error_chain;

/// Under `/api/`, turns any error answer that is not yet problem+json (axum's own rejections of
/// a path or query parameter, a body over the limit, a time-out) into one, keeping its status
/// and its words as the detail: every API error is RFC 9457, whoever produced it.
pub async fn api_problems(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/problem+json"));
    if !is_api || is_problem || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    // axum's rejection texts are a line; anything longer is not one of them.
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let detail = match text.trim() {
        "" => status
            .canonical_reason()
            .unwrap_or("the request failed")
            .to_lowercase(),
        text => text.to_owned(),
    };
    let mut problem = ApiError::Rejected(status, detail).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            problem.headers_mut().insert(name.clone(), value.clone());
        }
    }
    problem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_and_the_pages_give_each_service_error_the_same_status() {
        let errors = || {
            vec![
                AppError::AlreadySetUp,
                AppError::Invalid {
                    field: "email",
                    message: "no".to_owned(),
                },
                AppError::WrongCredentials,
                AppError::SteppedOut,
                AppError::EnrolAgain,
                AppError::Throttled {
                    retry_after_seconds: 2,
                },
                AppError::InvitationGone,
                AppError::Conflict("c".to_owned()),
                AppError::Denied("d".to_owned()),
                AppError::not_found(crate::services::Entity::Post, "n"),
                AppError::Unavailable("u".to_owned()),
                AppError::Store(StoreError::LeaseLost),
                AppError::Internal("i".to_owned()),
            ]
        };
        for (error, copy) in errors().into_iter().zip(errors()) {
            let table = status_for(&error);
            let api = ApiError::from(copy).problem().status;
            assert_eq!(api, table.as_u16(), "{error:?}");
        }
    }
}
