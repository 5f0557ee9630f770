//! Cron monitoring end to end: the Python sentry-sdk (`capture_checkin`, `@monitor`
//! with `monitor_config`), Sentry's HTTP form, Healthchecks-style ping URLs, missed
//! and timed-out runs (the sweeper driven with an explicit `now`), thresholds,
//! failures opening an issue and recoveries resolving it, pausing.

use std::process::Command;
use std::time::{Duration, Instant};

use faultline_store::{
    issue_status, CheckInPage, CronCheckIn, CronMonitor, CronTransition, Issue, ProjectId, Timestamp,
};
use faultline_testing::{app_tests, clients, TestApp, TestProject};
use serde_json::{json, Value};
use uuid::Uuid;

/// Waits until the queue is digested and every received check-in is processed
/// (the synthetic issue events the engine queues included).
async fn settle(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut quiet = 0;
    while quiet < 3 {
        assert!(Instant::now() < deadline, "cron check-ins were not processed in time");
        let depth = app.store.queue_depth().await.unwrap();
        let pending = app.store.pending_check_ins(1).await.unwrap();
        quiet = if depth == 0 && pending.is_empty() { quiet + 1 } else { 0 };
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn monitor(app: &TestApp, p: &TestProject, slug: &str) -> CronMonitor {
    app.store.cron_monitor_by_slug(ProjectId(p.id), slug).await.unwrap().unwrap_or_else(|| panic!("no monitor {slug}"))
}

/// Runs oldest first.
async fn runs(app: &TestApp, m: &CronMonitor) -> Vec<CronCheckIn> {
    let mut rows = app.store.cron_check_ins(m.id, &CheckInPage { limit: 100, ..CheckInPage::default() }).await.unwrap();
    rows.reverse();
    rows
}

fn statuses(rows: &[CronCheckIn]) -> Vec<&str> {
    rows.iter().map(|r| r.status.as_str()).collect()
}

/// Transition kinds, oldest first.
async fn transitions(app: &TestApp, m: &CronMonitor) -> Vec<CronTransition> {
    let mut t = app.store.cron_transitions(m.id, 100).await.unwrap();
    t.reverse();
    t
}

fn kinds(t: &[CronTransition]) -> Vec<&str> {
    t.iter().map(|t| t.kind.as_str()).collect()
}

async fn cron_issues(app: &TestApp, p: &TestProject) -> Vec<Issue> {
    let issues = app.store.project_issues(ProjectId(p.id), 100).await.unwrap();
    issues.into_iter().filter(|i| i.title.starts_with("Cron failure")).collect()
}

async fn sweep_at(app: &TestApp, at: Timestamp) {
    faultline_worker::crons::sweep(&app.store, at.to_datetime()).await.unwrap();
    settle(app).await;
}

fn plus_minutes(t: Timestamp, minutes: i64) -> Timestamp {
    Timestamp::from_micros(t.micros() + minutes * 60_000_000)
}

/// `GET|POST /api/<id>/cron/<slug>/<key>/` with a query and an optional JSON body.
async fn http_check_in(app: &TestApp, p: &TestProject, slug: &str, query: &str, body: Option<Value>) -> u16 {
    let url = app.url(&format!("/api/{}/cron/{slug}/{}/?{query}", p.id, p.key));
    let res = match body {
        Some(body) => app.http.post(url).json(&body).send().await.unwrap(),
        None => app.http.get(url).send().await.unwrap(),
    };
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    if status == 202 {
        assert_eq!(text, "", "Sentry's HTTP form answers 202 without a body");
    }
    status
}

const PYTHON_CRONS: &str = r#"
import sys, sentry_sdk
from sentry_sdk.crons import capture_checkin, monitor
dsn = sys.argv[1]
sentry_sdk.init(dsn=dsn, environment="prod")
config = {"schedule": {"type": "crontab", "value": "0 * * * *"}, "timezone": "Europe/Vienna",
          "checkin_margin": 5, "max_runtime": 10, "failure_issue_threshold": 1, "recovery_threshold": 1}
check_in_id = capture_checkin(monitor_slug="Nightly Report", status="in_progress", monitor_config=config)
capture_checkin(monitor_slug="Nightly Report", check_in_id=check_in_id, status="ok", duration=1.5,
                monitor_config=config)
capture_checkin(monitor_slug="unconfigured", status="ok")

@monitor(monitor_slug="decorated-job",
         monitor_config={"schedule": {"type": "interval", "value": 2, "unit": "hour"}, "checkin_margin": 3})
def job():
    return 42

@monitor(monitor_slug="failing-job",
         monitor_config={"schedule": {"type": "crontab", "value": "*/15 * * * *"}})
def failing():
    raise RuntimeError("boom")

job()
try:
    failing()
except RuntimeError:
    pass
print("check_in", check_in_id)
sentry_sdk.flush(timeout=10)
"#;

async fn python_sdk_check_ins(app: TestApp) {
    let Some(python) = clients::python() else { return };
    let p = app.create_project("acme", "jobs").await;
    let out = Command::new(python).arg("-c").arg(PYTHON_CRONS).arg(&p.dsn).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    settle(&app).await;

    // capture_checkin with monitor_config: the monitor is created (slugified) with it.
    let nightly = monitor(&app, &p, "nightly-report").await;
    assert_eq!((nightly.schedule_type.as_str(), nightly.schedule.as_str()), ("crontab", "0 * * * *"));
    assert_eq!(nightly.timezone, "Europe/Vienna");
    assert_eq!((nightly.checkin_margin_min, nightly.max_runtime_min), (5, 10));
    // Start and finish are one run, with the SDK's duration.
    let rows = runs(&app, &nightly).await;
    assert_eq!(statuses(&rows), ["ok"], "{rows:?}");
    assert_eq!(rows[0].duration, Some(1_500_000));
    assert_eq!(rows[0].environment.as_deref(), Some("prod"));
    assert!(rows[0].finished_at.is_some());
    let check_in_id = stdout.lines().find_map(|l| l.strip_prefix("check_in ")).unwrap().trim().to_string();
    assert_eq!(rows[0].check_in_id.simple().to_string(), check_in_id);
    let envs = app.store.cron_monitor_envs(nightly.id).await.unwrap();
    assert_eq!(envs.len(), 1);
    assert_eq!(envs[0].environment, "prod");
    assert_eq!(envs[0].state.last_status.as_deref(), Some("ok"));
    assert!(!envs[0].state.failing);
    let next = envs[0].state.next_checkin_at.expect("next run expected");
    assert_eq!(next.micros() % 3_600_000_000, 0, "on the hour");
    assert_eq!(envs[0].deadline_at, Some(plus_minutes(next, 5)));

    // Unknown slug without a configuration: nothing is created (Sentry's behaviour).
    assert!(app.store.cron_monitor_by_slug(ProjectId(p.id), "unconfigured").await.unwrap().is_none());

    // The @monitor decorator: in_progress then ok, merged into one run.
    let decorated = monitor(&app, &p, "decorated-job").await;
    assert_eq!((decorated.schedule_type.as_str(), decorated.schedule.as_str()), ("interval", "2 hour"));
    assert_eq!(decorated.checkin_margin_min, 3);
    let rows = runs(&app, &decorated).await;
    assert_eq!(statuses(&rows), ["ok"], "{rows:?}");
    assert!(rows[0].duration.is_some());

    // A failing job: an error run, the monitor fails, and an issue opens.
    let failing = monitor(&app, &p, "failing-job").await;
    assert_eq!(statuses(&runs(&app, &failing).await), ["error"]);
    assert_eq!(kinds(&transitions(&app, &failing).await), ["cron.failed"]);
    let issues = cron_issues(&app, &p).await;
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].title, "Cron failure: failing-job (error)");
    assert_eq!(issues[0].status, issue_status::UNRESOLVED);
    let tags = app.store.issue_tag_values(issues[0].id).await.unwrap();
    for (key, value) in [("monitor.slug", "failing-job"), ("environment", "prod")] {
        assert!(tags.iter().any(|t| t.0 == key && t.1 == value), "{key}={value} in {tags:?}");
    }
    assert!(tags.iter().any(|t| t.0 == "monitor.id" && t.1 == failing.id.to_string()), "{tags:?}");
}

async fn http_form_timeouts_misses_and_recovery(app: TestApp) {
    let p = app.create_project("acme", "backups").await;
    let config = json!({"schedule": {"type": "crontab", "value": "0 3 1 1 *"}, "checkin_margin": 10,
        "max_runtime": 30});
    // A JSON body with monitor_config upserts the monitor.
    assert_eq!(
        http_check_in(&app, &p, "backup", "", Some(json!({"status": "in_progress", "monitor_config": config}))).await,
        202
    );
    settle(&app).await;
    let m = monitor(&app, &p, "backup").await;
    assert_eq!((m.schedule.as_str(), m.checkin_margin_min, m.max_runtime_min), ("0 3 1 1 *", 10, 30));
    let env = app.store.cron_monitor_env(m.id, "production").await.unwrap();
    let started = env.state.in_progress_at.expect("a run in progress");
    assert_eq!(env.deadline_at, Some(plus_minutes(started, 30)));

    // Nothing happens before the deadline; after it the run times out.
    sweep_at(&app, plus_minutes(started, 29)).await;
    assert_eq!(statuses(&runs(&app, &m).await), ["in_progress"]);
    sweep_at(&app, plus_minutes(started, 31)).await;
    let rows = runs(&app, &m).await;
    assert_eq!(statuses(&rows), ["timeout"], "the run's own row becomes the timeout");
    assert_eq!(rows[0].duration, Some(31 * 60_000_000));
    assert_eq!(kinds(&transitions(&app, &m).await), ["cron.failed"]);
    let issues = cron_issues(&app, &p).await;
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].title, "Cron failure: backup (timeout)");
    // Sweeping again changes nothing (idempotent).
    sweep_at(&app, plus_minutes(started, 32)).await;
    assert_eq!(runs(&app, &m).await.len(), 1);

    // A successful run recovers the monitor and resolves the issue.
    assert_eq!(http_check_in(&app, &p, "backup", "status=in_progress", None).await, 202);
    assert_eq!(http_check_in(&app, &p, "backup", "status=ok&check_in_id=latest&duration=12.5", None).await, 202);
    settle(&app).await;
    let rows = runs(&app, &m).await;
    assert_eq!(statuses(&rows), ["timeout", "ok"], "{rows:?}");
    assert_eq!(rows[1].duration, Some(12_500_000));
    let t = transitions(&app, &m).await;
    assert_eq!(kinds(&t), ["cron.failed", "cron.recovered"]);
    assert_eq!(t[1].down_since, t[0].down_since);
    let issue = app.store.issue(issues[0].id).await.unwrap();
    assert_eq!(issue.status, issue_status::RESOLVED, "recovery resolves the issue");

    // The next run (03:00 on 1 January) does not come: missed after the margin.
    let env = app.store.cron_monitor_env(m.id, "production").await.unwrap();
    let next = env.state.next_checkin_at.unwrap();
    assert_eq!(env.deadline_at, Some(plus_minutes(next, 10)));
    sweep_at(&app, plus_minutes(next, 9)).await;
    assert_eq!(runs(&app, &m).await.len(), 2);
    sweep_at(&app, plus_minutes(next, 10)).await;
    let rows = runs(&app, &m).await;
    assert_eq!(statuses(&rows), ["timeout", "ok", "missed"]);
    assert_eq!(rows[2].received_at, next, "a missed run is recorded at its expected time");
    assert_eq!(kinds(&transitions(&app, &m).await), ["cron.failed", "cron.recovered", "cron.missed"]);
    // The same issue regresses (one issue per monitor and environment).
    let issues = cron_issues(&app, &p).await;
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].status, issue_status::UNRESOLVED);
    assert_eq!(issues[0].times_seen, 2);

    // Unknown statuses are refused; an unknown slug without config creates nothing.
    assert_eq!(http_check_in(&app, &p, "backup", "status=bogus", None).await, 400);
    assert_eq!(http_check_in(&app, &p, "nobody", "status=ok", None).await, 202);
    settle(&app).await;
    assert!(app.store.cron_monitor_by_slug(ProjectId(p.id), "nobody").await.unwrap().is_none());
}

async fn thresholds_count_runs_in_a_row(app: TestApp) {
    let p = app.create_project("acme", "etl").await;
    let config = json!({"schedule": {"type": "interval", "value": 1, "unit": "hour"},
        "failure_issue_threshold": 2, "recovery_threshold": 2});
    let send = |status: &'static str| {
        let body = json!({"status": status, "monitor_config": config});
        let app = &app;
        let p = &p;
        async move {
            assert_eq!(http_check_in(app, p, "etl", "environment=staging", Some(body)).await, 202);
            settle(app).await;
        }
    };
    send("error").await;
    let m = monitor(&app, &p, "etl").await;
    assert!(kinds(&transitions(&app, &m).await).is_empty(), "one failure is below the threshold");
    assert!(cron_issues(&app, &p).await.is_empty());
    send("ok").await;
    send("error").await;
    assert!(transitions(&app, &m).await.is_empty(), "the success reset the count");
    send("error").await;
    assert_eq!(kinds(&transitions(&app, &m).await), ["cron.failed"]);
    let issues = cron_issues(&app, &p).await;
    assert_eq!(issues.len(), 1);
    // Still failing: the next failure joins the issue, without a new transition.
    send("error").await;
    assert_eq!(kinds(&transitions(&app, &m).await), ["cron.failed"]);
    assert_eq!(app.store.issue(issues[0].id).await.unwrap().times_seen, 2);
    send("ok").await;
    assert_eq!(kinds(&transitions(&app, &m).await), ["cron.failed"], "one success is below the recovery threshold");
    send("ok").await;
    let t = transitions(&app, &m).await;
    assert_eq!(kinds(&t), ["cron.failed", "cron.recovered"]);
    assert_eq!(t[1].environment.as_deref(), Some("staging"));
    assert_eq!(app.store.issue(issues[0].id).await.unwrap().status, issue_status::RESOLVED);
    let env = app.store.cron_monitor_env(m.id, "staging").await.unwrap();
    assert_eq!((env.state.consecutive_ok, env.state.consecutive_failures, env.state.failing), (2, 0, false));
}

async fn ping(app: &TestApp, path: &str, body: Option<&str>) -> reqwest::Response {
    match body {
        Some(b) => app.http.post(app.url(path)).body(b.to_string()).send().await.unwrap(),
        None => app.http.get(app.url(path)).send().await.unwrap(),
    }
}

async fn ping_urls_map_onto_check_ins(app: TestApp) {
    let p = app.create_project("acme", "scripts").await;
    let new = faultline_worker::crons::new_monitor(
        "db-dump",
        "DB dump",
        &faultline_monitoring::cron::Config::from_json(&json!({"schedule": {"type": "crontab", "value": "0 * * * *"}}))
            .unwrap(),
    );
    let m = app.store.create_cron_monitor(ProjectId(p.id), &new).await.unwrap();
    let key = m.ping_key;

    // start and success tied by rid: one run with a duration and the captured body.
    let rid = Uuid::new_v4();
    let res = ping(&app, &format!("/ping/{key}/start?rid={rid}"), None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["ping-body-limit"], "10000");
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    assert_eq!(res.text().await.unwrap(), "OK");
    settle(&app).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let res = ping(&app, &format!("/ping/{key}?rid={rid}"), Some("dumped 42 tables")).await;
    assert_eq!(res.status(), 200);
    settle(&app).await;
    let rows = runs(&app, &m).await;
    assert_eq!(statuses(&rows), ["ok"], "{rows:?}");
    assert_eq!(rows[0].check_in_id, rid);
    assert!(rows[0].duration.unwrap() > 0);

    // Exit codes: 0 is success, anything else a failure (with the code kept).
    assert_eq!(ping(&app, &format!("/ping/{key}/0"), None).await.status(), 200);
    assert_eq!(ping(&app, &format!("/ping/{key}/3"), Some("disk full")).await.status(), 200);
    settle(&app).await;
    let rows = runs(&app, &m).await;
    assert_eq!(statuses(&rows), ["ok", "ok", "error"]);
    let failed: Value = serde_json::from_str(&rows[2].payload).unwrap();
    assert_eq!(failed["ping"]["exit_code"], 3);
    assert_eq!(failed["ping"]["body"], "disk full");
    assert_eq!(kinds(&transitions(&app, &m).await), ["cron.failed"]);

    // /log is recorded only; /fail fails; bodies are cut at the limit.
    let long = "x".repeat(12_000);
    assert_eq!(ping(&app, &format!("/ping/{key}/log"), Some(&long)).await.status(), 200);
    settle(&app).await;
    let rows = runs(&app, &m).await;
    assert_eq!(statuses(&rows), ["ok", "ok", "error", "log"]);
    let log: Value = serde_json::from_str(&rows[3].payload).unwrap();
    assert_eq!(log["ping"]["body"].as_str().unwrap().len(), 10_000);
    assert_eq!(log["ping"]["body_size"], 12_000);
    let env = app.store.cron_monitor_env(m.id, "production").await.unwrap();
    assert!(env.state.failing, "a log does not change the state");

    // Start without rid, then fail without rid: the fail closes the latest run.
    assert_eq!(ping(&app, &format!("/ping/{key}/start"), None).await.status(), 200);
    settle(&app).await;
    assert_eq!(ping(&app, &format!("/ping/{key}/fail?env=nightly"), None).await.status(), 200);
    assert_eq!(ping(&app, &format!("/ping/{key}/fail"), None).await.status(), 200);
    settle(&app).await;
    let rows = runs(&app, &m).await;
    assert_eq!(statuses(&rows), ["ok", "ok", "error", "log", "error", "error"], "{rows:?}");
    assert_eq!(rows[4].environment.as_deref(), Some("production"));
    assert!(rows[4].finished_at.is_some() && rows[4].duration.is_some(), "the started run was closed");
    assert_eq!(rows[5].environment.as_deref(), Some("nightly"));

    // Refusals.
    assert_eq!(ping(&app, &format!("/ping/{key}/256"), None).await.status(), 404);
    assert_eq!(ping(&app, &format!("/ping/{}", Uuid::new_v4()), None).await.status(), 404);
    assert_eq!(ping(&app, "/ping/not-a-key", None).await.status(), 404);
    assert_eq!(ping(&app, &format!("/ping/{key}?rid=nope"), None).await.status(), 400);
    let res = app.http.head(app.url(&format!("/ping/{key}"))).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

async fn paused_monitors_record_but_never_alert(app: TestApp) {
    let p = app.create_project("acme", "quiet").await;
    let config = json!({"schedule": {"type": "crontab", "value": "*/5 * * * *"}});
    assert_eq!(
        http_check_in(&app, &p, "quiet", "", Some(json!({"status": "ok", "monitor_config": config}))).await,
        202
    );
    settle(&app).await;
    let m = monitor(&app, &p, "quiet").await;
    app.store.set_cron_monitor_paused(m.id, true).await.unwrap();
    assert_eq!(http_check_in(&app, &p, "quiet", "status=error", None).await, 202);
    settle(&app).await;
    assert_eq!(statuses(&runs(&app, &m).await), ["ok", "error"]);
    let env = app.store.cron_monitor_env(m.id, "production").await.unwrap();
    // Paused: never swept, no transitions, no issues.
    sweep_at(&app, plus_minutes(env.deadline_at.unwrap(), 60)).await;
    assert_eq!(statuses(&runs(&app, &m).await), ["ok", "error"]);
    assert!(transitions(&app, &m).await.is_empty());
    assert!(cron_issues(&app, &p).await.is_empty());
}

app_tests!(
    python_sdk_check_ins,
    http_form_timeouts_misses_and_recovery,
    thresholds_count_runs_in_a_row,
    ping_urls_map_onto_check_ins,
    paused_monitors_record_but_never_alert,
);
