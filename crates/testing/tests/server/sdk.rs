//! Real Sentry clients against the running server: Python sentry-sdk (gzip and
//! brotli), @sentry/node and sentry-cli. What they send must end up stored.

use std::process::Command;

use faultline_testing::{app_tests, clients, TestApp};
use std::time::Duration;
use uuid::Uuid;

const PYTHON_SCRIPT: &str = r#"
import sys, sentry_sdk
dsn, algo = sys.argv[1], sys.argv[2]
sentry_sdk.init(dsn=dsn, release="shop@1.2.3", environment="staging", traces_sample_rate=1.0,
                auto_session_tracking=False, _experiments={"transport_compression_algo": algo})
sentry_sdk.set_tag("checkout.step", "payment")
sentry_sdk.set_user({"id": "42", "email": "ada@example.com"})

def divide(a, b):
    return a / b

try:
    divide(1, 0)
except ZeroDivisionError:
    print("exception", sentry_sdk.capture_exception())
print("message", sentry_sdk.capture_message("Payment of 42 EUR failed for order 1001", level="warning"))
with sentry_sdk.start_transaction(op="task", name="checkout") as txn:
    with txn.start_child(op="db", description="SELECT 1"):
        pass
with sentry_sdk.new_scope() as scope:
    scope.add_attachment(bytes=b"hello attachment", filename="note.txt", content_type="text/plain")
    print("attached", sentry_sdk.capture_message("with an attachment"))
scope = sentry_sdk.get_isolation_scope()
scope.start_session(session_mode="application")
scope.end_session()
sentry_sdk.flush(timeout=10)
"#;

fn ids(stdout: &str, label: &str) -> Uuid {
    let line = stdout.lines().find(|l| l.starts_with(label)).unwrap_or_else(|| panic!("no {label} line in {stdout}"));
    Uuid::try_parse(line.split_whitespace().last().unwrap()).unwrap()
}

async fn python_sdk(app: TestApp, algo: &str) {
    let Some(python) = clients::python() else { return };
    let p = app.create_project("acme", &format!("py-{algo}")).await;
    let out = Command::new(python).arg("-c").arg(PYTHON_SCRIPT).arg(&p.dsn).arg(algo).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    app.wait_for_digest(Duration::from_secs(30)).await;
    let project = faultline_store::ProjectId(p.id);

    let exception = app.store.event(project, ids(&stdout, "exception")).await.unwrap().expect("exception stored");
    let issue = app.store.issue(exception.issue_id).await.unwrap();
    assert_eq!(issue.title, "ZeroDivisionError: division by zero");
    assert!(issue.culprit.contains("divide"), "{}", issue.culprit);
    assert_eq!(issue.level, 4);
    let json = exception.json().unwrap();
    assert_eq!(json["release"], "shop@1.2.3");
    assert_eq!(json["environment"], "staging");
    let tags = app.store.issue_tag_values(issue.id).await.unwrap();
    assert!(tags.iter().any(|t| t.0 == "checkout.step" && t.1 == "payment"), "{tags:?}");

    let message = app.store.event(project, ids(&stdout, "message")).await.unwrap().expect("message stored");
    let issue = app.store.issue(message.issue_id).await.unwrap();
    assert_eq!(issue.title, "Payment of 42 EUR failed for order 1001");
    assert_eq!(issue.level, 3, "warning");

    let attached = ids(&stdout, "attached");
    assert!(app.store.event(project, attached).await.unwrap().is_some());
    let attachments = app.store.attachments(project, attached).await.unwrap();
    assert_eq!(attachments.len(), 1, "{attachments:?}");
    assert_eq!(attachments[0].name, "note.txt");
    assert_eq!(app.store.attachment_data(&attachments[0]).unwrap(), b"hello attachment");

    assert_eq!(app.store.project_transaction_count(project).await.unwrap(), 1, "the transaction");
    let sessions = app.store.project_session_totals(project).await.unwrap();
    assert!(sessions.started >= 1, "{sessions:?}");
}

async fn python_sdk_gzip(app: TestApp) {
    python_sdk(app, "gzip").await;
}

async fn python_sdk_brotli(app: TestApp) {
    python_sdk(app, "br").await;
}

const NODE_SCRIPT: &str = r#"
const Sentry = require("@sentry/node");
Sentry.init({ dsn: process.argv[1], release: "node-app@1.0.0", tracesSampleRate: 0, defaultIntegrations: false });
function readConfig(cfg) { return cfg.database.host; }
let exceptionId;
try { readConfig({}); } catch (e) { exceptionId = Sentry.captureException(e); }
console.log("exception", exceptionId);
console.log("message", Sentry.captureMessage("node says hello"));
Sentry.flush(10000).then(() => process.exit(0));
"#;

async fn node_sdk(app: TestApp) {
    let Some(modules) = clients::node_modules() else { return };
    let p = app.create_project("acme", "node").await;
    let out = Command::new("node").arg("-e").arg(NODE_SCRIPT).arg(&p.dsn).env("NODE_PATH", &modules).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    app.wait_for_digest(Duration::from_secs(30)).await;
    let project = faultline_store::ProjectId(p.id);
    let exception = app.store.event(project, ids(&stdout, "exception")).await.unwrap().expect("exception stored");
    let issue = app.store.issue(exception.issue_id).await.unwrap();
    assert!(issue.title.starts_with("TypeError: Cannot read properties of undefined"), "{}", issue.title);
    assert!(issue.culprit.contains("readConfig"), "{}", issue.culprit);
    let message = app.store.event(project, ids(&stdout, "message")).await.unwrap().expect("message stored");
    let json = message.json().unwrap();
    assert_eq!(app.store.issue(message.issue_id).await.unwrap().title, "node says hello", "{json:#}");
}

async fn sentry_cli_send_event(app: TestApp) {
    let Some(cli) = clients::sentry_cli() else { return };
    let p = app.create_project("acme", "cli").await;
    let out = Command::new(cli)
        .args(["send-event", "-m", "Deploy finished with warnings", "--no-environ", "--level", "warning"])
        .env("SENTRY_DSN", &p.dsn)
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    let id = text
        .split(|c: char| !c.is_ascii_hexdigit() && c != '-')
        .find_map(|w| (w.len() >= 32).then(|| Uuid::try_parse(w).ok()).flatten())
        .unwrap_or_else(|| panic!("no event id in {text}"));
    app.wait_for_digest(Duration::from_secs(30)).await;
    let event = app.store.event(faultline_store::ProjectId(p.id), id).await.unwrap().expect("stored");
    let issue = app.store.issue(event.issue_id).await.unwrap();
    assert_eq!(issue.title, "Deploy finished with warnings");
    assert_eq!(issue.level, 3);
}

app_tests!(python_sdk_gzip, python_sdk_brotli, node_sdk, sentry_cli_send_event);
