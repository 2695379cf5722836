//! The OpenAPI document is generated from the same route registrations the server uses; these
//! tests check it is served, is OpenAPI 3.1, and that what it promises is what the server does.

use reqwest::StatusCode;

use crate::helpers::{herald, run, spawn_app};

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
    let document: serde_json::Value = app
        .get("/api/v1/openapi.json")
        .await
        .json()
        .await
        .expect("JSON");
    let paths = document["paths"].as_object().expect("paths");
    assert!(paths.contains_key("/healthz") && paths.contains_key("/metrics"));
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().expect("operations") {
            assert_eq!(
                method, "get",
                "only GET operations exist so far; extend this test for others"
            );
            let status = app.get(path).await.status();
            let documented = operation["responses"].as_object().expect("responses");
            assert!(
                documented.contains_key(status.as_str()),
                "GET {path} answered {status}, documented: {:?}",
                documented.keys()
            );
        }
    }
}

#[tokio::test]
async fn herald_openapi_prints_the_document_the_server_serves() {
    let app = spawn_app().await;
    let served: serde_json::Value = app
        .get("/api/v1/openapi.json")
        .await
        .json()
        .await
        .expect("JSON");
    let (output, stdout, _) = run(herald().arg("openapi"));
    assert!(output.status.success());
    let printed: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(printed, served);
}
