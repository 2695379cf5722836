//! `GET /healthz` for load balancers and `GET /metrics` for Prometheus.

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Json, Response};
use secrecy::ExposeSecret;
use serde::Serialize;
use utoipa::ToSchema;

use super::{ApiError, AppState};
use crate::domain::constant_time_eq;

/// Herald is up and its database answers.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "ok", "database": "sqlite"}))]
pub struct Health {
    /// Always `ok`.
    #[schema(value_type = String, pattern = "^ok$")]
    pub status: &'static str,
    #[schema(schema_with = database_schema)]
    pub database: &'static str,
}

fn database_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(["sqlite", "postgres"]))
        .description(Some("The database Herald uses."))
        .build()
}

/// Health check
///
/// Whether Herald and its database answer, for load balancers and uptime checks. Anyone may
/// call it; it needs no sign-in and changes nothing.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "system",
    responses(
        (status = 200, description = "Herald and its database answer", body = Health),
        (status = 503, description = "The database does not answer", body = super::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state.store.ping().await.map_err(|error| {
        tracing::warn!(error = %error, "health check: database not answering");
        ApiError::Unavailable("the database is not answering".to_owned())
    })?;
    Ok(Json(Health {
        status: "ok",
        database: state.store.backend_name(),
    }))
}

/// Prometheus metrics
///
/// Metrics in the Prometheus text format: requests and their durations, background jobs and
/// Content-Security-Policy reports. When
/// `http.metrics_token` is set, the request must carry it as a bearer token; without one,
/// metrics are served only while Herald listens on a loopback address, where only this machine
/// can ask.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "system",
    responses(
        (status = 200, description = "Prometheus text exposition format", body = String, content_type = "text/plain",
            example = json!("# TYPE herald_jobs gauge\nherald_jobs{state=\"queued\"} 2\n")),
        (status = 401, description = "The metrics token was not given, or none is configured while Herald listens beyond loopback", body = super::Problem, content_type = "application/problem+json"),
    ),
    security((), ("metrics_token" = []))
)]
pub async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    match &state.config.http.metrics_token {
        Some(token) => {
            let given = headers
                .get(header::AUTHORIZATION)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.strip_prefix("Bearer "))
                .unwrap_or("");
            if !constant_time_eq(given.as_bytes(), token.expose_secret().as_bytes()) {
                return Err(ApiError::Unauthorized(
                    "metrics need the configured bearer token".to_owned(),
                ));
            }
        }
        None if !state.config.listen.ip().is_loopback() => {
            return Err(ApiError::Unauthorized(
                "metrics are off: Herald listens beyond this machine and no http.metrics_token is set; set one and send it as a bearer token".to_owned(),
            ));
        }
        None => {}
    }
    let jobs = state.store.job_counts().await.map_err(ApiError::internal)?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(jobs),
    )
        .into_response())
}
