//! Request-body extractors whose failures are problem+json with a specific detail, instead of
//! axum's plain-text rejections.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use super::ApiError;

/// A JSON request body.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(describe(rejection)),
        }
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
