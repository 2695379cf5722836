//! `/healthz`, `/metrics`, error answers and the CSP report endpoint, over real HTTP.

use reqwest::StatusCode;
use secrecy::SecretString;

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn healthz_answers_ok_while_the_database_answers() {
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.expect("JSON body");
    assert_eq!(
        body,
        serde_json::json!({ "status": "ok", "database": app.store.backend_name() })
    );
}

#[tokio::test]
async fn healthz_answers_503_with_a_problem_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.store.close().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: serde_json::Value = response.json().await.expect("JSON body");
    assert_eq!(problem["detail"], "the database is not answering");
    assert_eq!(problem["status"], 503);
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_and_report_jobs() {
    let app = spawn_app().await;
    for _ in 0..3 {
        app.get("/healthz").await;
    }
    app.get("/no/such/page").await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/plain")
    );
    let text = response.text().await.expect("body");
    assert!(
        text.contains(
            r#"herald_http_requests_total{method="GET",route="/healthz",status="200"} 3"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"herald_http_requests_total{method="GET",route="unmatched",status="404"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains("# TYPE herald_http_request_duration_seconds histogram"),
        "{text}"
    );
    assert!(text.contains(r#"herald_jobs{state="queued"}"#), "{text}");
    assert!(
        !text.contains("/no/such/page"),
        "raw paths never become labels"
    );
}

#[tokio::test]
async fn metrics_need_the_bearer_token_when_one_is_configured() {
    let app = spawn_app_with(|config| {
        config.http.metrics_token = Some(SecretString::from("scrape-me-please"));
    })
    .await;
    let denied = app.get("/metrics").await;
    assert_eq!(denied.status(), StatusCode::UNAUTHORIZED);
    let problem = denied.text().await.expect("body");
    assert!(!problem.contains("scrape-me-please"));

    let wrong = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-me-pleasE")
        .send()
        .await
        .expect("request");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let allowed = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-me-please")
        .send()
        .await
        .expect("request");
    assert_eq!(allowed.status(), StatusCode::OK);
}

#[tokio::test]
async fn odd_methods_and_unknown_paths_never_grow_the_metrics_label_sets() {
    let app = spawn_app().await;
    let series = |metrics: &str| {
        metrics
            .lines()
            .filter(|line| line.starts_with("herald_http_requests_total{"))
            .count()
    };
    // Sends odd and standard methods to a known route and to unknown paths, `prefix`-named.
    let odd_requests = |prefix: &'static str| {
        let app = &app;
        async move {
            for n in 0..40 {
                let method = reqwest::Method::from_bytes(format!("{prefix}{n}").as_bytes())
                    .expect("a method token");
                for path in ["/healthz".to_owned(), format!("/no/such/page/{prefix}/{n}")] {
                    let _ = app
                        .client
                        .request(method.clone(), app.url(&path))
                        .send()
                        .await
                        .expect("request");
                }
                let _ = app.get(&format!("/no/such/page/{prefix}/{n}")).await;
            }
            app.get("/metrics").await.text().await.expect("body")
        }
    };
    // A scrape is counted after it is answered: one first, so both counts below include it.
    let _ = app.get("/metrics").await;
    let first = odd_requests("FOO").await;
    let second = odd_requests("BAR").await;
    for metrics in [&first, &second] {
        assert!(
            !metrics.contains("FOO") && !metrics.contains("BAR"),
            "a method became a label: {metrics}"
        );
        assert!(!metrics.contains("/no/such"), "a raw path became a label");
    }
    assert_eq!(series(&first), series(&second), "{second}");
    assert!(
        second.contains(r#"method="other",route="/healthz",status="405"} 80"#),
        "{second}"
    );
}

#[tokio::test]
async fn metrics_are_off_without_a_token_when_herald_listens_beyond_loopback() {
    let open = spawn_app_with(|config| {
        config.listen = "0.0.0.0:0".parse().expect("address");
    })
    .await;
    let local = format!("http://127.0.0.1:{}/metrics", open.addr.port());
    let denied = open.client.get(&local).send().await.expect("request");
    assert_eq!(denied.status(), StatusCode::UNAUTHORIZED);
    let problem = denied.text().await.expect("body");
    assert!(problem.contains("http.metrics_token"), "{problem}");

    let with_token = spawn_app_with(|config| {
        config.listen = "0.0.0.0:0".parse().expect("address");
        config.http.metrics_token = Some(SecretString::from("scrape-me-please"));
    })
    .await;
    let allowed = with_token
        .client
        .get(format!(
            "http://127.0.0.1:{}/metrics",
            with_token.addr.port()
        ))
        .bearer_auth("scrape-me-please")
        .send()
        .await
        .expect("request");
    assert_eq!(allowed.status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_api_routes_and_wrong_methods_answer_problem_json() {
    let app = spawn_app().await;
    let missing = app.get("/api/v1/nothing-here").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );
    let problem: serde_json::Value = missing.json().await.expect("JSON");
    assert_eq!(problem["detail"], "no API route GET /api/v1/nothing-here");
    assert_eq!(problem["code"], "not_found");

    let wrong = app
        .client
        .delete(app.url("/healthz"))
        .send()
        .await
        .expect("request");
    assert_eq!(wrong.status(), StatusCode::METHOD_NOT_ALLOWED);
    let wrong_api = app
        .client
        .post(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("request");
    assert_eq!(wrong_api.status(), StatusCode::METHOD_NOT_ALLOWED);
    let problem: serde_json::Value = wrong_api.json().await.expect("JSON");
    assert_eq!(
        problem["detail"],
        "/api/v1/openapi.json does not accept POST requests."
    );
}

#[tokio::test]
async fn unknown_pages_answer_a_readable_html_404() {
    let app = spawn_app().await;
    let response = app.get("/settings/nowhere").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/html")
    );
    let html = response.text().await.expect("body");
    assert!(html.contains("Page not found"));
    assert!(html.contains("There is no page at /settings/nowhere."));
}

#[tokio::test]
async fn html_in_a_path_is_escaped_on_the_404_page() {
    let app = spawn_app().await;
    let html = app
        .get("/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        .await
        .text()
        .await
        .expect("body");
    assert!(!html.contains("<script>alert(1)"), "{html}");
}

#[tokio::test]
async fn browsers_can_report_csp_violations_which_are_counted() {
    let app = spawn_app().await;
    let report = serde_json::json!({ "csp-report": {
        "document-uri": "http://herald.local/",
        "violated-directive": "script-src",
        "blocked-uri": "https://evil.example/x.js?token=abc",
    }});
    let response = app
        .client
        .post(app.url("/csp-report"))
        .header("content-type", "application/csp-report")
        .body(report.to_string())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let metrics = app.get("/metrics").await.text().await.expect("body");
    assert!(
        metrics.contains("herald_csp_violations_total 1"),
        "{metrics}"
    );

    let wrong_type = app
        .client
        .post(app.url("/csp-report"))
        .body("x")
        .send()
        .await
        .expect("request");
    assert_eq!(wrong_type.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let garbage = app
        .client
        .post(app.url("/csp-report"))
        .header("content-type", "application/csp-report")
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_request_body_over_the_limit_is_refused() {
    let app = spawn_app_with(|config| config.http.max_body_bytes = 1024).await;
    let response = app
        .client
        .post(app.url("/csp-report"))
        .header("content-type", "application/csp-report")
        .body(vec![b' '; 4096])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn the_stylesheet_is_served_from_the_binary_with_a_cache_validator() {
    let app = spawn_app().await;
    let html = app.get("/setup").await.text().await.expect("body");
    let href = html
        .split("href=\"")
        .find_map(|part| {
            part.split('"')
                .next()
                .filter(|href| href.starts_with("/assets/herald.css"))
        })
        .expect("the page links its stylesheet");
    let css = app.get(href).await;
    assert_eq!(css.status(), StatusCode::OK);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    let etag = css.headers()["etag"].clone();
    assert!(css.text().await.expect("body").contains(":root"));
    let again = app
        .client
        .get(app.url(href))
        .header("if-none-match", etag)
        .send()
        .await
        .expect("request");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(
        app.get("/assets/nope.js").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn herald_serves_from_postgresql_when_given_a_database_url() {
    let Some(url) = crate::helpers::postgres_url().await else {
        return;
    };
    let clock =
        herald::clock::ManualClock::new(jiff::Timestamp::from_second(1_800_000_000).expect("time"));
    let app = crate::helpers::spawn_app_with_clock(
        |config| config.database.url = Some(SecretString::from(url)),
        std::sync::Arc::new(clock.clone()),
    )
    .await;
    let body: serde_json::Value = app.get("/healthz").await.json().await.expect("JSON body");
    assert_eq!(
        body,
        serde_json::json!({ "status": "ok", "database": "postgres" })
    );
    assert!(
        !app.data_dir.join("herald.db").exists(),
        "no SQLite file when PostgreSQL is used"
    );
    // The whole people flow works on PostgreSQL too.
    let owner = crate::people::set_up(&app, &clock).await;
    let member =
        crate::people::invite_and_join(&app, &clock, &owner, "pg@sunny.example", "member").await;
    let html = owner.get(&app, "/status").await.text().await.expect("page");
    assert!(html.contains("PostgreSQL"), "{html}");
    assert_eq!(
        member.get(&app, "/api/v1/me").await.status(),
        StatusCode::OK
    );

    // Tokens, offboarding, throttling and the audit chain behave the same on PostgreSQL.
    let token: serde_json::Value = member
        .post(
            &app,
            "/api/v1/tokens",
            serde_json::json!({ "name": "t", "scopes": ["me:read"], "expires_in_days": 1 }),
        )
        .await
        .json()
        .await
        .expect("JSON");
    let secret = token["secret"].as_str().expect("secret").to_owned();
    let bearer = || {
        reqwest::Client::new()
            .get(app.url("/api/v1/me"))
            .bearer_auth(&secret)
            .send()
    };
    assert_eq!(bearer().await.expect("request").status(), StatusCode::OK);
    let deactivated = owner
        .post(
            &app,
            &format!("/api/v1/members/{}/deactivate", member.id),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(deactivated.status(), StatusCode::OK);
    assert_eq!(
        bearer().await.expect("request").status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        member.get(&app, "/api/v1/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let wrong_login = || {
        reqwest::Client::new()
            .post(app.url("/api/v1/auth/login"))
            .json(&serde_json::json!({ "email": owner.email, "password": "wrong wrong wrong", "code": "123456" }))
            .send()
    };
    for _ in 0..4 {
        assert_eq!(
            wrong_login().await.expect("request").status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        wrong_login().await.expect("request").status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let master =
        herald::data_dir::load_master_key(&app.data_dir.join("master.key")).expect("master key");
    let key = herald::services::audit::signing_key(&master);
    herald::services::audit::checkpoint(&app.store, &key, clock_now(&clock))
        .await
        .expect("checkpoint");
    let verified = herald::services::audit::verify(&app.store, &key.verifying_key())
        .await
        .expect("chain intact");
    assert!(verified.entries >= 8, "{verified:?}");
}

fn clock_now(clock: &herald::clock::ManualClock) -> jiff::Timestamp {
    use herald::clock::Clock;
    clock.now()
}

/// Signs in with a NUL character in the e-mail, signed out, and expects a 422 naming the field.
async fn a_nul_character_is_refused_naming_the_field(app: &crate::helpers::TestApp) {
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(
            &serde_json::json!({ "email": "a\u{0}b@x.example", "password": "p", "code": "123456" }),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: serde_json::Value = response.json().await.expect("JSON");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("`email`") && detail.contains("NUL")),
        "{problem}"
    );
    assert_eq!(
        (&problem["code"], &problem["field"]),
        (&serde_json::json!("invalid"), &serde_json::json!("email"))
    );
    // The sign-in page's form, the same.
    let page = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("email", "a\u{0}b@x.example"),
            ("password", "p"),
            ("code", "123456"),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = page.text().await.expect("body");
    assert!(body.contains("`email`") && body.contains("NUL"), "{body}");
}

#[tokio::test]
async fn a_nul_character_in_any_text_is_refused_alike_on_sqlite_and_postgresql() {
    a_nul_character_is_refused_naming_the_field(&spawn_app().await).await;
    let Some(url) = crate::helpers::postgres_url().await else {
        return;
    };
    let app = spawn_app_with(|config| config.database.url = Some(SecretString::from(url))).await;
    a_nul_character_is_refused_naming_the_field(&app).await;
}

#[tokio::test]
async fn a_bad_path_or_query_parameter_is_answered_with_a_problem_naming_it() {
    let (app, clock) = crate::people::app().await;
    let owner = crate::people::set_up(&app, &clock).await;
    for (path, names) in [
        ("/api/v1/posts/abc", "abc"),
        ("/api/v1/calendar?from=2026-12-01T00:00:00Z", "`to`"),
    ] {
        let response = owner.get(&app, path).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
        let problem: serde_json::Value = response.json().await.expect("JSON");
        assert_eq!(problem["status"], 400);
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|detail| detail.contains(names)),
            "{path}: {problem}"
        );
    }
}
