//! Security headers on every response, whatever produced it.
//!
//! The content security policy allows only Herald's own scripts, styles and images (no inline
//! script, no CDN), forbids framing, and asks browsers to report violations to `/csp-report`.
//! It uses `report-uri` alone: browsers that see `report-to` as well prefer the Reporting API,
//! which batches reports for up to a minute, and a blocked injection should be seen at once.

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::IntoResponse;
use axum::response::Response;

use super::{ApiError, AppState};

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; \
frame-ancestors 'none'; base-uri 'none'; object-src 'none'; report-uri /csp-report";

const HSTS: &str = "max-age=63072000; includeSubDomains";

pub async fn headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let fixed: [(HeaderName, &'static str); 7] = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        // Same-origin: nothing leaks to other sites, and Herald's own forms carry a real
        // `Origin` (under `no-referrer` browsers send `Origin: null`, which `same_origin`
        // must refuse because other sites can produce it too).
        (header::REFERRER_POLICY, "same-origin"),
        (
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=(), payment=()",
        ),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    // Pages and API answers can hold private data: no cache may keep them unless the handler
    // said otherwise (static assets do).
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    if state.config.served_over_tls() {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    response
}

/// Refuses state-changing requests that a browser says come from another site. Browsers send
/// `Origin` with every cross-site POST; together with SameSite=Strict cookies and CSRF tokens
/// this also covers forms used before signing in (setup, sign-in, invitations).
pub async fn same_origin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let unsafe_method = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok());
    // `Origin: null` (sandboxed frames, cross-site redirects) is as foreign as any other site.
    if let (true, Some(origin)) = (unsafe_method, origin)
        && !same_site(
            origin,
            request.headers().get(header::HOST),
            state.config.public_url.as_deref(),
        )
    {
        let error = ApiError::Forbidden(format!(
            "this request came from another site ({origin}); Herald only accepts changes from its own pages"
        ));
        return error.into_response();
    }
    next.run(request).await
}

fn same_site(origin: &str, host: Option<&HeaderValue>, public_url: Option<&str>) -> bool {
    if let Some(public) = public_url
        && origin == public.trim_end_matches('/')
    {
        return true;
    }
    let host = host.and_then(|value| value.to_str().ok()).unwrap_or("");
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        == Some(host)
}
