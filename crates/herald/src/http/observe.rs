//! Request logging and metrics. Each request gets a span named `http.request` with its method,
//! route pattern and a request id (also sent back as `x-request-id`). The raw path and query
//! are never logged: they can carry ids and tokens.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::metrics::Metrics;

pub async fn requests(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let request_id = format!("{:016x}", rand::random::<u64>());
    let span = tracing::info_span!(
        "http.request",
        http.method = %method,
        http.route = %route,
        request.id = %request_id,
    );
    let mut response = next.run(request).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    metrics.record_request(method.as_str(), &route, status, elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(
            http.status = status,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request answered"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}
