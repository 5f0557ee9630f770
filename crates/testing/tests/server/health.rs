//! Health endpoints, request ids, BASE_PATH and shutdown.

use faultline_testing::{app_tests, TestApp, TestBackend};

async fn liveness_answers_ok(app: TestApp) {
    let res = app.get("/_health/").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "ok");
}

async fn health_reports_database_and_queue(app: TestApp) {
    let res = app.get("/api/0/internal/health").await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["healthy"]["database"], true, "{body}");
    assert_eq!(body["problems"], serde_json::json!([]));
    assert_eq!(body["queue"]["depth"], 0);
    assert!(body["queue"]["pendingJobs"].is_number(), "{body}");
}

async fn every_response_carries_a_request_id(app: TestApp) {
    let res = app.get("/_health/").await;
    let id = res.headers().get("x-request-id").expect("generated request id").to_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let res = app.http.get(app.url("/_health/")).header("x-request-id", "abc-123").send().await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123", "a client's id is kept");
    let res = app.get("/no/such/page").await;
    assert_eq!(res.status(), 404);
    assert!(res.headers().contains_key("x-request-id"));
}

async fn shutdown_is_graceful_and_prompt(app: TestApp) {
    let url = app.url("/_health/");
    let started = std::time::Instant::now();
    app.stop().await;
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "stopped in {:?}", started.elapsed());
    assert!(reqwest::get(&url).await.is_err(), "no longer accepting connections");
}

app_tests!(
    liveness_answers_ok,
    health_reports_database_and_queue,
    every_response_carries_a_request_id,
    shutdown_is_graceful_and_prompt,
);

#[tokio::test]
async fn base_path_prefixes_every_route() {
    let app = TestApp::builder(TestBackend::Sqlite).env("BASE_PATH", "/glitchtip/").start().await.unwrap();
    assert!(app.base_url.ends_with("/glitchtip"), "{}", app.base_url);
    assert_eq!(app.get("/_health/").await.status(), 200);
    let root = app.base_url.trim_end_matches("/glitchtip").to_string();
    assert_eq!(reqwest::get(format!("{root}/_health/")).await.unwrap().status(), 404);
}
