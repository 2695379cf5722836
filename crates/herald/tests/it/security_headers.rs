//! Every response, whatever produced it, carries strict security headers.

use crate::helpers::{spawn_app, spawn_app_with};

const PATHS: &[&str] = &[
    "/",
    "/healthz",
    "/metrics",
    "/api/v1/openapi.json",
    "/api/v1/missing",
    "/missing",
    "/assets/herald.css",
];

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in PATHS {
        let response = app.get(path).await;
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().expect("ascii");
        assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert!(
            headers.get("strict-transport-security").is_none(),
            "{path}: no HSTS over plain HTTP"
        );
        assert!(headers.contains_key("x-request-id"), "{path}");
    }
}

#[tokio::test]
async fn pages_are_not_cached_but_assets_are() {
    let app = spawn_app().await;
    assert_eq!(app.get("/").await.headers()["cache-control"], "no-store");
    assert_eq!(
        app.get("/api/v1/openapi.json").await.headers()["cache-control"],
        "no-store"
    );
    let css = app.get("/assets/herald.css").await;
    assert!(
        css.headers()["cache-control"]
            .to_str()
            .expect("ascii")
            .contains("max-age")
    );
}

#[tokio::test]
async fn hsts_is_sent_when_herald_is_served_over_tls() {
    let app =
        spawn_app_with(|config| config.public_url = Some("https://herald.example.com".to_owned()))
            .await;
    for path in PATHS {
        let response = app.get(path).await;
        let hsts = response
            .headers()
            .get("strict-transport-security")
            .expect("HSTS");
        assert!(
            hsts.to_str().expect("ascii").starts_with("max-age="),
            "{path}"
        );
    }
}
