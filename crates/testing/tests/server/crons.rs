//! Cron monitoring end to end: the Python sentry-sdk (`capture_checkin`, `@monitor`
//! with `monitor_config`), Sentry's HTTP form, Healthchecks-style ping URLs, missed
//! and timed-out runs (the sweeper driven with an explicit `now`), thresholds,
//! failures opening an issue and recoveries resolving it, pausing.

use std::process::Command;
use std::time::{Duration, Instant};

use faultline_domain::access::Scopes;
use faultline_store::{
    issue_status, CheckInPage, CronCheckIn, CronMonitor, CronTransition, Issue, ProjectId, Role, Timestamp,
};
use faultline_testing::{app_tests, clients, TestApp, TestProject};
use reqwest::Method;
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

    // The job's late finish of the timed-out run changes nothing.
    let timed_out = rows[0].check_in_id.simple().to_string();
    assert_eq!(http_check_in(&app, &p, "backup", &format!("status=ok&check_in_id={timed_out}"), None).await, 202);
    settle(&app).await;
    assert_eq!(statuses(&runs(&app, &m).await), ["timeout"]);
    assert_eq!(kinds(&transitions(&app, &m).await), ["cron.failed"]);

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
    // Two sweepers at once (two workers): the run is missed once.
    let at = plus_minutes(next, 10).to_datetime();
    let (a, b) =
        tokio::join!(faultline_worker::crons::sweep(&app.store, at), faultline_worker::crons::sweep(&app.store, at));
    assert!(a.unwrap() + b.unwrap() >= 1);
    settle(&app).await;
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

    // By the project's public key and the slug, creating the monitor on demand.
    assert_eq!(ping(&app, &format!("/ping/{}/db-dump/fail", p.key), None).await.status(), 200);
    assert_eq!(ping(&app, &format!("/ping/{}/Weekly Report", p.key), None).await.status(), 404);
    assert_eq!(ping(&app, &format!("/ping/{}/Weekly Report?create=1", p.key), None).await.status(), 200);
    assert_eq!(ping(&app, &format!("/ping/{}/weekly-report/start", p.key), None).await.status(), 200);
    settle(&app).await;
    assert_eq!(statuses(&runs(&app, &m).await).last(), Some(&"error"));
    assert_eq!(runs(&app, &m).await.len(), 7);
    let weekly = monitor(&app, &p, "weekly-report").await;
    assert_eq!((weekly.schedule.as_str(), weekly.checkin_margin_min), ("1 day", 60));
    assert_eq!(statuses(&runs(&app, &weekly).await), ["ok", "in_progress"]);
    assert_eq!(ping(&app, &format!("/ping/{}/db-dump", Uuid::new_v4().simple()), None).await.status(), 404);

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

    // The run history is pruned after its retention.
    assert_eq!(faultline_worker::crons::prune(&app.store, plus_minutes(Timestamp::now(), -60)).await.unwrap(), 0);
    assert_eq!(faultline_worker::crons::prune(&app.store, plus_minutes(Timestamp::now(), 1)).await.unwrap(), 2);
    assert!(runs(&app, &m).await.is_empty());
}

const PASSWORD: &str = "a long password";

/// An owner of `acme` with an all-scopes API token.
async fn owner_token(app: &TestApp) -> String {
    let user =
        faultline_domain::accounts::register(&app.store, true, "owner@acme.test", PASSWORD, "Owner").await.unwrap();
    let org = app.store.organization_by_slug("acme").await.unwrap().unwrap();
    app.store.add_member(org.id, user.id, Role::Owner).await.unwrap();
    let scopes = Scopes::parse_list("org:read,project:read,project:write,event:read").unwrap();
    faultline_domain::tokens::create(&app.store, &user, "crons", scopes).await.unwrap().1
}

async fn api(app: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>) -> (u16, Value, String) {
    let mut req = app.http.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let link = res.headers().get("link").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null), link)
}

async fn api_manages_cron_monitors(app: TestApp) {
    let p = app.create_project("acme", "api").await;
    let token = owner_token(&app).await;
    let base = format!("/api/0/projects/acme/{}/cron-monitors/", p.slug);

    // Create in Sentry's shape; the schedule is validated with a clear 400.
    let body = json!({"name": "Nightly Backup", "config": {"schedule_type": "crontab", "schedule": "30 2 * * *",
        "timezone": "Europe/Vienna", "checkin_margin": 5, "max_runtime": 60, "failure_issue_threshold": 2}});
    let (status, created, _) = api(&app, &token, Method::POST, &base, Some(body.clone())).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["slug"], "nightly-backup");
    assert_eq!(created["name"], "Nightly Backup");
    assert_eq!(created["status"], "active");
    assert_eq!(created["config"]["schedule"], "30 2 * * *");
    assert_eq!(created["config"]["timezone"], "Europe/Vienna");
    assert_eq!(created["config"]["failure_issue_threshold"], 2);
    assert_eq!(created["scheduleDescription"], "every day at 02:30 (Europe/Vienna)");
    let ping_url = created["pingUrl"].as_str().unwrap().to_string();
    assert!(ping_url.contains("/ping/"), "{ping_url}");
    let (status, _, _) = api(&app, &token, Method::POST, &base, Some(body)).await;
    assert_eq!(status, 409, "the slug is taken");
    for (config, words) in [
        (json!({"schedule_type": "crontab", "schedule": "every day"}), "crontab"),
        (json!({"schedule": "0 * * * *", "timezone": "Mars/Olympus"}), "time zone"),
        (json!({"schedule_type": "interval", "schedule": [5, "fortnight"]}), "interval"),
        (json!({"schedule": "0 * * * *", "checkin_margin": -1}), "checkin_margin"),
    ] {
        let (status, err, _) =
            api(&app, &token, Method::POST, &base, Some(json!({"name": "bad", "config": config}))).await;
        assert_eq!(status, 400, "{err}");
        assert!(err["detail"].as_str().unwrap().contains(words), "{err}");
    }
    let (status, err, _) = api(&app, &token, Method::POST, &base, Some(json!({"name": "no config"}))).await;
    assert_eq!((status, err["detail"].is_string()), (400, true));

    // The SDK's shape works too, and the monitor receives check-ins at once.
    let sdk =
        json!({"slug": "every-5", "monitor_config": {"schedule": {"type": "interval", "value": 5, "unit": "minute"}}});
    let (status, every5, _) = api(&app, &token, Method::POST, &base, Some(sdk)).await;
    assert_eq!(status, 201, "{every5}");
    assert_eq!(every5["config"]["schedule"], json!([5, "minute"]));
    assert_eq!(every5["scheduleDescription"], "every 5 minutes");
    for status in ["ok", "error", "ok"] {
        assert_eq!(http_check_in(&app, &p, "every-5", &format!("status={status}"), None).await, 202);
    }
    settle(&app).await;

    // Lists: the project's and the organization's, with environments.
    let (status, list, _) = api(&app, &token, Method::GET, &base, None).await;
    assert_eq!(status, 200);
    let slugs: Vec<&str> = list.as_array().unwrap().iter().map(|m| m["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, ["every-5", "nightly-backup"]);
    let (_, org_list, _) = api(&app, &token, Method::GET, "/api/0/organizations/acme/cron-monitors/", None).await;
    assert_eq!(org_list.as_array().unwrap().len(), 2);
    let env = &list[0]["environments"][0];
    assert_eq!((env["name"].as_str(), env["status"].as_str()), (Some("production"), Some("ok")));
    assert!(env["nextCheckIn"].is_string() && env["lastCheckIn"].is_string(), "{env}");

    // Check-in history, newest first, paged with a cursor.
    let (status, page1, link) = api(&app, &token, Method::GET, &format!("{base}every-5/checkins/?limit=2"), None).await;
    assert_eq!(status, 200);
    let statuses: Vec<&str> = page1.as_array().unwrap().iter().map(|c| c["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["ok", "error"]);
    assert!(link.contains("rel=\"next\"") && link.contains("cursor=\"0:2:0\""), "{link}");
    let (_, page2, _) =
        api(&app, &token, Method::GET, &format!("{base}every-5/checkins/?limit=2&cursor=0:2:0"), None).await;
    assert_eq!(page2.as_array().unwrap().len(), 1);
    let (_, filtered, _) =
        api(&app, &token, Method::GET, &format!("{base}every-5/checkins/?environment=staging"), None).await;
    assert_eq!(filtered, json!([]));

    // Update: a new schedule, name and slug; pause and unpause.
    let (status, updated, _) = api(
        &app,
        &token,
        Method::PUT,
        &format!("{base}every-5/"),
        Some(json!({"name": "Every ten", "slug": "every-10", "config": {"schedule_type": "interval", "schedule": [10, "minute"]}})),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!((updated["slug"].as_str(), updated["name"].as_str()), (Some("every-10"), Some("Every ten")));
    assert_eq!(updated["config"]["schedule"], json!([10, "minute"]));
    let (status, err, _) = api(
        &app,
        &token,
        Method::PUT,
        &format!("{base}every-10/"),
        Some(json!({"config": {"schedule": "61 * * * *"}})),
    )
    .await;
    assert_eq!(status, 400, "{err}");
    let (status, paused, _) = api(&app, &token, Method::POST, &format!("{base}every-10/pause/"), None).await;
    assert_eq!((status, paused["status"].as_str(), paused["isPaused"].as_bool()), (200, Some("disabled"), Some(true)));
    assert_eq!(paused["environments"][0]["status"], "paused");
    let (_, resumed, _) = api(&app, &token, Method::POST, &format!("{base}every-10/unpause/"), None).await;
    assert_eq!(resumed["status"], "active");
    let next = Timestamp::parse_rfc3339(resumed["environments"][0]["nextCheckIn"].as_str().unwrap()).unwrap();
    assert!(next > Timestamp::now(), "resuming expects the next run from now");

    // Delete.
    let (status, _, _) = api(&app, &token, Method::DELETE, &format!("{base}every-10/"), None).await;
    assert_eq!(status, 204);
    let (status, _, _) = api(&app, &token, Method::GET, &format!("{base}every-10/"), None).await;
    assert_eq!(status, 404);
}

/// A session (cookie and CSRF token) of the owner, for pages.
async fn login(app: &TestApp) -> (reqwest::Client, String, String) {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let origin = app.base_url.trim_end_matches(app.config.http.base_path.as_str()).to_string();
    let res = http
        .post(app.url("/login"))
        .header("origin", origin)
        .form(&[("email", "owner@acme.test"), ("password", PASSWORD), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let mut cookies = Vec::new();
    let mut csrf = String::new();
    for value in res.headers().get_all("set-cookie") {
        let pair = value.to_str().unwrap().split(';').next().unwrap().to_string();
        if let Some(token) = pair.strip_prefix("csrftoken=") {
            csrf = token.to_string();
        }
        cookies.push(pair);
    }
    (http, cookies.join("; "), csrf)
}

async fn pages_show_monitors_and_their_runs(app: TestApp) {
    let p = app.create_project("acme", "site").await;
    owner_token(&app).await;
    let (http, cookie, csrf) = login(&app).await;
    let get = |path: String| {
        let req = http.get(app.url(&path)).header("cookie", &cookie);
        async move {
            let res = req.send().await.unwrap();
            let csp = res.headers().get("content-security-policy").map(|v| v.to_str().unwrap().to_string());
            (res.status().as_u16(), res.text().await.unwrap(), csp)
        }
    };
    let (status, html, _) = get("/acme/crons".into()).await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"no-crons\""), "{html}");

    let config =
        json!({"schedule": {"type": "crontab", "value": "*/10 * * * *"}, "max_runtime": 5, "checkin_margin": 30});
    assert_eq!(
        http_check_in(&app, &p, "sync", "", Some(json!({"status": "in_progress", "monitor_config": config}))).await,
        202
    );
    assert_eq!(http_check_in(&app, &p, "sync", "status=ok&check_in_id=latest", None).await, 202);
    assert_eq!(http_check_in(&app, &p, "sync", "status=error&environment=staging", None).await, 202);
    settle(&app).await;

    let (status, html, csp) = get("/acme/crons".into()).await;
    assert_eq!(status, 200);
    assert!(!csp.unwrap().contains("unsafe-inline"));
    assert!(html.contains("/acme/crons/site/sync"), "{html}");
    assert!(html.contains("every 10 minutes"), "{html}");
    assert!(html.contains("production") && html.contains("staging") && html.contains("failing"), "{html}");
    assert!(html.contains("next expected in"), "{html}");
    assert!(html.contains("Cron monitors</a>"), "the navigation links the page");

    let (status, html, _) = get("/acme/crons/site/sync".into()).await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"timeline\""), "{html}");
    assert_eq!(html.matches("<rect ").count(), 2, "one bar per run");
    assert!(html.contains("fill=\"#2f9e44\"") && html.contains("fill=\"#e03131\""), "{html}");
    assert!(html.contains("/ping/"), "the ping URL");
    assert!(
        html.contains("@monitor(monitor_slug=&quot;sync&quot;")
            || html.contains("@monitor(monitor_slug=&#34;sync&#34;"),
        "{html}"
    );
    assert!(html.contains("cron.failed"), "the transition");
    assert!(!html.contains(" style="), "no inline styles under the CSP");
    let (status, _, _) = get("/acme/crons/site/nope".into()).await;
    assert_eq!(status, 404);

    // Pause from the page.
    let res = http
        .post(app.url("/acme/crons/site/sync/pause"))
        .header("cookie", &cookie)
        .form(&[("csrfmiddlewaretoken", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(monitor(&app, &p, "sync").await.paused);
    let (_, html, _) = get("/acme/crons/site/sync".into()).await;
    assert!(html.contains(">Resume<"), "{html}");
    let res = http
        .post(app.url("/acme/crons/site/sync/pause"))
        .header("cookie", &cookie)
        .form(&[("csrfmiddlewaretoken", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}

async fn pages_in_a_browser(app: TestApp) {
    let p = app.create_project("acme", "browser").await;
    owner_token(&app).await;
    let config = json!({"schedule": {"type": "interval", "value": 1, "unit": "hour"}});
    assert_eq!(
        http_check_in(&app, &p, "hourly", "", Some(json!({"status": "ok", "monitor_config": config}))).await,
        202
    );
    assert_eq!(http_check_in(&app, &p, "hourly", "status=error", None).await, 202);
    settle(&app).await;
    let Some(browser) = faultline_testing::browser::Browser::start().await else { return };
    browser.login(&app, "owner@acme.test", PASSWORD).await;
    browser.open(&app, "/acme/crons").await;
    let problems = browser.csp_problems().await;
    assert!(problems.is_empty(), "list: {problems:#?}");
    browser.find("#crons a[href$='/crons/browser/hourly']").await.click().await.unwrap();
    browser.wait_for("#monitor-name", |t| t.starts_with("hourly")).await;
    assert_eq!(browser.find_all("#timeline rect").await.len(), 2);
    let problems = browser.csp_problems().await;
    assert!(problems.is_empty(), "detail: {problems:#?}");
    browser.find("#pause-toggle").await.click().await.unwrap();
    browser.wait_for("#pause-toggle", |t| t == "Resume").await;
    assert!(monitor(&app, &p, "hourly").await.paused);
    browser.quit().await;
}

/// The conditional step: a decision made on a state that moved is not applied, and
/// a check-in is consumed once.
async fn stale_steps_change_nothing(app: TestApp) {
    let p = app.create_project("acme", "steps").await;
    let config =
        faultline_monitoring::cron::Config::from_json(&json!({"schedule": {"type": "crontab", "value": "0 * * * *"}}))
            .unwrap();
    let m = app
        .store
        .create_cron_monitor(ProjectId(p.id), &faultline_worker::crons::new_monitor("steps", "steps", &config))
        .await
        .unwrap();
    let env = app.store.cron_monitor_env(m.id, "production").await.unwrap();
    let mut new = env.state.clone();
    new.consecutive_failures = 1;
    new.last_status = Some("missed".into());
    let step = faultline_store::CronStep {
        monitor_id: m.id,
        env_id: env.id,
        environment: env.environment.clone(),
        old: env.state.clone(),
        new,
        deadline_at: None,
        consumed: None,
        history: faultline_store::HistoryWrite::Insert {
            check_in_id: Uuid::new_v4(),
            status: "missed".into(),
            received_at: Timestamp::now(),
            finished_at: None,
            duration: None,
        },
        transition: None,
        events: Vec::new(),
        resolve_event: None,
    };
    assert!(app.store.commit_cron_step(&step).await.unwrap());
    // The same decision again: its old state no longer holds.
    assert!(!app.store.commit_cron_step(&step).await.unwrap());
    assert_eq!(statuses(&runs(&app, &m).await), ["missed"]);
    let env = app.store.cron_monitor_env(m.id, "production").await.unwrap();
    assert_eq!(env.state.consecutive_failures, 1);
}

app_tests!(
    api_manages_cron_monitors,
    stale_steps_change_nothing,
    pages_in_a_browser,
    pages_show_monitors_and_their_runs,
    python_sdk_check_ins,
    http_form_timeouts_misses_and_recovery,
    thresholds_count_runs_in_a_row,
    ping_urls_map_onto_check_ins,
    paused_monitors_record_but_never_alert,
);
