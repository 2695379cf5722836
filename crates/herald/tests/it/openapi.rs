//! The OpenAPI document is generated from the same route registrations the server uses; these
//! tests check it is served, is OpenAPI 3.1, and that what it promises is what the server does.

use reqwest::StatusCode;

use crate::helpers::{herald, run, spawn_app};

/// The document as the server serves it.
async fn served_document(app: &crate::helpers::TestApp) -> serde_json::Value {
    app.get("/api/v1/openapi.json")
        .await
        .json()
        .await
        .expect("the OpenAPI document is JSON")
}

#[tokio::test]
async fn the_openapi_document_is_served_and_is_openapi_3_1() {
    let app = spawn_app().await;
    let response = app.get("/api/v1/openapi.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let document: serde_json::Value = response.json().await.expect("JSON");
    assert!(
        document["openapi"]
            .as_str()
            .expect("version")
            .starts_with("3.1")
    );
    assert_eq!(document["info"]["title"], "Herald API");
    assert!(document["components"]["schemas"]["Problem"].is_object());
}

#[tokio::test]
async fn every_documented_operation_answers_with_a_documented_status() {
    let app = spawn_app().await;
    let document = served_document(&app).await;
    let paths = document["paths"].as_object().expect("paths");
    assert!(paths.contains_key("/healthz") && paths.contains_key("/metrics"));
    let mut called = 0;
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().expect("operations") {
            // Every operation answers a signed-out caller with one of its documented statuses;
            // operations with parameters or bodies are exercised by their own feature tests.
            let takes_input = path.contains('{')
                || operation.get("parameters").is_some()
                || operation.get("requestBody").is_some();
            if takes_input {
                continue;
            }
            let method =
                reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let response = app
                .client
                .request(method.clone(), app.url(path))
                .send()
                .await
                .expect("request");
            let status = response.status();
            let documented = operation["responses"].as_object().expect("responses");
            assert!(
                documented.contains_key(status.as_str()),
                "{method} {path} answered {status}, documented: {:?}",
                documented.keys()
            );
            called += 1;
        }
    }
    assert!(called >= 6, "only {called} operations were called");
}

#[tokio::test]
async fn herald_openapi_prints_the_document_the_server_serves() {
    let app = spawn_app().await;
    let served = served_document(&app).await;
    let (output, stdout, _) = run(herald().arg("openapi"));
    assert!(output.status.success());
    let printed: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(printed, served);
}

/// A path or query parameter that does not parse, or is missing, is a 400 problem naming it.
#[tokio::test]
async fn a_malformed_or_missing_parameter_is_a_problem_naming_it() {
    let (app, clock) = crate::people::app().await;
    let owner = crate::people::set_up(&app, &clock).await;
    let cases = [
        ("/api/v1/posts/abc", "id", "`abc`"),
        (
            "/api/v1/posts/1/media/99999999999999999999",
            "media_id",
            "a whole number",
        ),
        ("/api/v1/audit?limit=many", "limit", "limit"),
        ("/api/v1/calendar", "from", "from"),
    ];
    for (path, parameter, words) in cases {
        let response = owner.get(&app, path).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
        let problem: serde_json::Value = response.json().await.expect("JSON");
        assert_eq!(problem["code"], "bad_parameter", "{path}: {problem}");
        assert_eq!(problem["field"], parameter, "{path}: {problem}");
        let detail = problem["detail"].as_str().expect("detail");
        assert!(
            detail.contains(&format!("`{parameter}`")) && detail.contains(words),
            "{path}: {detail}"
        );
    }
}

/// JSON Schema counts 7.0 as the integer 7, and so does Herald; 7.5 is refused naming the field.
#[tokio::test]
async fn a_whole_number_written_with_a_decimal_point_is_an_integer() {
    let (app, clock) = crate::people::app().await;
    let owner = crate::people::set_up(&app, &clock).await;
    let token = |days: serde_json::Value| serde_json::json!({ "name": "reports", "scopes": ["me:read"], "expires_in_days": days });
    let accepted = owner
        .post(&app, "/api/v1/tokens", token(serde_json::json!(7.0)))
        .await;
    assert_eq!(accepted.status(), StatusCode::CREATED);
    let refused = owner
        .post(&app, "/api/v1/tokens", token(serde_json::json!(7.5)))
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: serde_json::Value = refused.json().await.expect("JSON");
    assert_eq!(problem["field"], "expires_in_days", "{problem}");
}

#[tokio::test]
async fn the_audit_filters_are_documented_as_query_parameters_with_their_limits() {
    let app = spawn_app().await;
    let document = served_document(&app).await;
    let parameters = document["paths"]["/api/v1/audit"]["get"]["parameters"]
        .as_array()
        .expect("parameters");
    assert!(
        parameters
            .iter()
            .all(|parameter| parameter["in"] == "query")
    );
    let limit = parameters
        .iter()
        .find(|parameter| parameter["name"] == "limit")
        .expect("limit");
    assert_eq!(limit["required"], false);
    assert_eq!(limit["schema"]["minimum"], 1);
    assert_eq!(limit["schema"]["maximum"], 500);
}
