//! Request logging and metrics. Each request gets a span named `http.request` with its method,
//! route pattern and a request id (also sent back as `x-request-id`). The raw path and query
//! are never logged: they can carry ids and tokens. Metrics labels are bounded: the route is
//! the matched pattern (or `unmatched`), the method one of the standard ones (or `other`).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method};
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
    metrics.record_request(method_label(&method), &route, status, elapsed.as_secs_f64());
    // A line per request at debug only: at info, a busy server's log grows by hundreds of
    // bytes a request. Server errors are worth a line at any level.
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(http.status = status, latency_ms, "request answered");
        } else {
            tracing::debug!(http.status = status, latency_ms, "request answered");
        }
    });
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// The method as a metrics label: the standard ones by name, any other as `other`. A client may
/// send any token as a method; each would otherwise become a series of its own, forever.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
