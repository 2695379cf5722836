//! `POST /csp-report`: browsers report here when the content security policy blocked something,
//! which on a page of Herald's means a bug or an attempted injection. Reports are counted and
//! logged by directive and blocked origin only; full URLs could carry tokens.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::Value;

use crate::metrics::Metrics;

use super::AppState;

/// Reports are small; anything larger is not a real report.
const MAX_REPORT_BYTES: usize = 64 * 1024;

pub async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let accepted = [
        "application/csp-report",
        "application/reports+json",
        "application/json",
    ];
    if !accepted.iter().any(|kind| content_type.starts_with(kind)) {
        return StatusCode::UNSUPPORTED_MEDIA_TYPE;
    }
    if body.len() > MAX_REPORT_BYTES {
        return StatusCode::PAYLOAD_TOO_LARGE;
    }
    let Ok(report) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    record(&state.metrics, &report);
    StatusCode::NO_CONTENT
}

/// Handles both the old `{"csp-report": {…}}` form and the Reporting API's list of reports.
fn record(metrics: &Arc<Metrics>, report: &Value) {
    let violations: Vec<&Value> = match report {
        Value::Array(reports) => reports.iter().filter_map(|r| r.get("body")).collect(),
        other => other.get("csp-report").into_iter().collect(),
    };
    for violation in violations {
        let directive = [
            "effectiveDirective",
            "effective-directive",
            "violated-directive",
        ]
        .iter()
        .find_map(|key| violation.get(*key).and_then(Value::as_str))
        .unwrap_or("unknown");
        let blocked = ["blockedURL", "blocked-uri"]
            .iter()
            .find_map(|key| violation.get(*key).and_then(Value::as_str))
            .map_or("unknown", origin_of);
        metrics.record_csp_violation();
        tracing::warn!(
            csp.directive = directive,
            csp.blocked = blocked,
            "content security policy violation"
        );
    }
}

/// `https://evil.example/x?token=…` becomes `https://evil.example`; keywords such as `inline`
/// stay as they are.
fn origin_of(uri: &str) -> &str {
    match uri.find("://") {
        Some(scheme_end) => {
            let rest = &uri[scheme_end + 3..];
            let host_end = rest
                .find(['/', '?', '#'])
                .map_or(uri.len(), |i| scheme_end + 3 + i);
            &uri[..host_end]
        }
        None => uri.split([':', '/', '?']).next().unwrap_or("unknown"),
    }
}

#[cfg(test)]
mod tests {
    use super::origin_of;

    #[test]
    fn blocked_uris_are_cut_down_to_their_origin() {
        assert_eq!(
            origin_of("https://evil.example/x?token=abc"),
            "https://evil.example"
        );
        assert_eq!(origin_of("https://evil.example"), "https://evil.example");
        assert_eq!(origin_of("inline"), "inline");
        assert_eq!(origin_of("data:text/html,secret"), "data");
    }
}
