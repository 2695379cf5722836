//! `/api/v1/webhooks`: owners' webhook endpoints (from a browser session only: the signing
//! secret is shown when an endpoint is made), their delivery log, a test event, and turning an
//! endpoint back on after Herald turned it off.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::access::Permission;
use crate::domain::webhooks::{WebhookEvent, WebhookFormat};
use crate::http::auth::Caller;
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::{ApiError, AppState};
use crate::services::webhooks::{self, DeliveryView, EndpointView, NewWebhook};

/// A new endpoint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "url": "https://hooks.slack.com/services/T000/B000/XXXX",
    "description": "#social in Slack",
    "format": "slack",
    "events": ["post.failed", "incident.opened", "credentials.rotate_now"]
}))]
pub struct CreateRequest {
    /// https:// (http:// only where private addresses are allowed, for testing).
    pub url: String,
    /// Up to 200 characters, no control characters.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub description: String,
    pub format: WebhookFormat,
    /// At least one; `test` is not chosen, it is sent with `POST /api/v1/webhooks/{id}/test`.
    #[schema(min_items = 1)]
    pub events: Vec<WebhookEvent>,
}

/// A new endpoint and its signing secret, shown this once.
#[derive(Serialize, ToSchema)]
pub struct CreatedView {
    pub endpoint: EndpointView,
    /// `whsec_…`: verify `webhook-signature` with it (Standard Webhooks). Shown only now.
    pub secret: String,
}

/// An endpoint and its newest deliveries.
#[derive(Serialize, ToSchema)]
pub struct EndpointDetail {
    pub endpoint: EndpointView,
    /// Newest first, at most 50.
    pub deliveries: Vec<DeliveryView>,
}

/// Lists webhook endpoints
///
/// Owners only, from a browser session.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", security(("session" = [])),
    responses(
        (status = 200, description = "Every endpoint, oldest first", body = Vec<EndpointView>),
        (status = 403, description = "Not an owner, or an API token", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<EndpointView>>, ApiError> {
    caller.require(Permission::ManageIntegrations)?;
    Ok(Json(webhooks::list(&state.services, &caller.user).await?))
}

/// Adds a webhook endpoint
///
/// The URL is checked as every outbound request is: no private or local address unless the
/// operator allows them. Deliveries are signed (Standard Webhooks); the secret is in the
/// answer, this once. Audited.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", security(("session" = [])), request_body = CreateRequest,
    responses(
        (status = 201, description = "Added; keep the secret", body = CreatedView),
        (status = 403, description = "Not an owner, an API token, or a missing `X-CSRF-Token`", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A URL Herald may not send to, no events, or a description too long", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<CreateRequest>,
) -> Result<Response, ApiError> {
    caller.require(Permission::ManageIntegrations)?;
    let created = webhooks::create(
        &state.services,
        &caller.user,
        &NewWebhook {
            url: request.url,
            description: request.description,
            format: request.format,
            events: request.events,
        },
        state.clock.now(),
    )
    .await?;
    let view = CreatedView {
        endpoint: created.endpoint,
        secret: created.secret.expose_secret().to_owned(),
    };
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// An endpoint and its delivery log
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("session" = [])), params(("id" = i64, Path)),
    responses(
        (status = 200, description = "The endpoint and its newest deliveries", body = EndpointDetail),
        (status = 403, description = "Not an owner, or an API token", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<EndpointDetail>, ApiError> {
    caller.require(Permission::ManageIntegrations)?;
    let (endpoint, deliveries) = webhooks::show(&state.services, &caller.user, id).await?;
    Ok(Json(EndpointDetail {
        endpoint,
        deliveries,
    }))
}

/// Deletes an endpoint
///
/// Nothing more is delivered to it; waiting deliveries are given up. Audited.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("session" = [])), params(("id" = i64, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not an owner, an API token, or a missing `X-CSRF-Token`", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ManageIntegrations)?;
    webhooks::delete(&state.services, &caller.user, id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a test event
///
/// One signed delivery of a `test` event, at once; the answer is its log entry (delivered, or
/// why not). Not retried.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/test", tag = "webhooks", security(("session" = [])), params(("id" = i64, Path)),
    responses(
        (status = 200, description = "Tried; see `state` and `error`", body = DeliveryView),
        (status = 403, description = "Not an owner, an API token, or a missing `X-CSRF-Token`", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn test(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<DeliveryView>, ApiError> {
    caller.require(Permission::ManageIntegrations)?;
    let base = super::people::public_base(&state, &headers);
    let delivery =
        webhooks::send_test(&state.services, &base, &caller.user, id, state.clock.now()).await?;
    Ok(Json(delivery))
}

/// Turns an endpoint back on
///
/// After Herald turned it off for failing; its failures are forgotten. Audited.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/enable", tag = "webhooks", security(("session" = [])), params(("id" = i64, Path)),
    responses(
        (status = 200, description = "On again", body = EndpointView),
        (status = 403, description = "Not an owner, an API token, or a missing `X-CSRF-Token`", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = crate::http::Problem, content_type = "application/problem+json"),
    ))]
pub async fn enable(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<EndpointView>, ApiError> {
    caller.require(Permission::ManageIntegrations)?;
    Ok(Json(
        webhooks::enable(&state.services, &caller.user, id, state.clock.now()).await?,
    ))
}
