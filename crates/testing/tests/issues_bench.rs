//! Issues API benchmark (ignored by default): seeds 10,000 issues and 1,000,000 events
//! into a fresh SQLite file and a fresh PostgreSQL schema through `Store::write_batch`
//! (synthetic events sharing one compressed payload), then times the issue list
//! (default sort, a `level:` filter, a free-text search, GitLab's `is:unresolved` by
//! frequency), the issue detail and the latest event: the store calls the handlers
//! make, and the full HTTP request against the real server on 127.0.0.1. Medians of
//! several runs after a warm-up.
//!
//! ```text
//! TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/faultline_dev \
//!   cargo test --release -p faultline-testing --test issues_bench -- --ignored --nocapture --test-threads 1
//! ```
//!
//! `BENCH_EVENTS` and `BENCH_ISSUES` change the size; `BENCH_PAUSE_SECS` keeps the data
//! that long at the end, for `EXPLAIN`.

use std::future::Future;
use std::time::{Duration, Instant};

use faultline_domain::access::Scopes;
use faultline_store::{
    compress_payload, DigestBatch, IssueFilter, IssueId, IssueSort, IssueSortKey, NewEvent, NewQueued, OrganizationId,
    Role, SearchQuery, Store, Timestamp,
};
use faultline_testing::{TestApp, TestBackend};
use uuid::Uuid;

const RUNS: usize = 9;
const TYPES: [&str; 10] = [
    "ValueError",
    "KeyError",
    "TypeError",
    "ZeroDivisionError",
    "RuntimeError",
    "IOError",
    "OSError",
    "AttributeError",
    "IndexError",
    "NameError",
];
const WORDS: [&str; 37] = [
    "connection",
    "refused",
    "invalid",
    "input",
    "missing",
    "field",
    "timeout",
    "expired",
    "token",
    "permission",
    "denied",
    "cannot",
    "parse",
    "response",
    "unexpected",
    "value",
    "null",
    "pointer",
    "overflow",
    "division",
    "zero",
    "file",
    "not",
    "found",
    "database",
    "locked",
    "deadlock",
    "detected",
    "quota",
    "exceeded",
    "index",
    "range",
    "session",
    "closed",
    "socket",
    "reset",
    "peer",
];

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A realistic normalized Python event (~4 KB of JSON), compressed once and shared.
fn payload() -> Vec<u8> {
    let frames: Vec<serde_json::Value> = (0..12)
        .map(|i| {
            serde_json::json!({
                "function": format!("handler_{i}"), "module": format!("app.module_{i}"),
                "filename": format!("app/module_{i}.py"), "abs_path": format!("/srv/app/app/module_{i}.py"),
                "lineno": 10 + i, "in_app": i > 6, "context_line": format!("    result = step_{i}(request, payload)"),
                "pre_context": ["def handler(request):", "    payload = request.json()"],
                "post_context": ["    return result", ""],
                "vars": {"request": "<WSGIRequest: GET '/api/orders/'>", "payload": "{'id': 42}"}
            })
        })
        .collect();
    let event = serde_json::json!({
        "event_id": "00000000000000000000000000000000", "platform": "python", "level": "error",
        "timestamp": 1_700_000_000.0, "received": 1_700_000_000.0, "logger": "app.views",
        "title": "ValueError: invalid input", "culprit": "app.views in index", "type": "error",
        "metadata": {"type": "ValueError", "value": "invalid input", "filename": "app/views.py", "function": "index"},
        "exception": {"values": [{"type": "ValueError", "value": "invalid input", "stacktrace": {"frames": frames}}]},
        "request": {"url": "https://shop.example.com/api/orders/", "method": "GET",
            "headers": [["User-Agent", "Mozilla/5.0"], ["Accept", "application/json"]]},
        "user": {"id": "42", "email": "ada@example.com", "ip_address": "10.0.0.1"},
        "contexts": {"os": {"name": "Linux", "version": "6.1"}, "runtime": {"name": "CPython", "version": "3.12.1"}},
        "breadcrumbs": {"values": (0..20).map(|i| serde_json::json!({"timestamp": 1_700_000_000.0 + i as f64,
            "category": "query", "message": format!("SELECT * FROM orders WHERE id = {i}")})).collect::<Vec<_>>()},
        "tags": [["level", "error"], ["environment", "production"]],
        "sdk": {"name": "sentry.python", "version": "2.0.0"}, "hashes": ["0"],
    });
    compress_payload(serde_json::to_string(&event).unwrap().as_bytes())
}

fn title(issue: usize) -> (String, String) {
    let ty = TYPES[issue % TYPES.len()];
    let words = format!("{} {} {}", WORDS[issue % 37], WORDS[(issue / 37) % 37], WORDS[(issue / 7) % 37]);
    (format!("{ty}: {words} #{issue}"), format!("{ty} {words}"))
}

fn level(issue: usize) -> (i16, &'static str) {
    match issue % 20 {
        0..=11 => (4, "error"),
        12..=15 => (3, "warning"),
        16..=18 => (2, "info"),
        _ => (5, "fatal"),
    }
}

/// Seeds `issues` issues and `events` events; returns the busiest issue.
async fn seed(store: &Store, project: faultline_store::ProjectId, issues: usize, events: usize) -> IssueId {
    let payload = payload();
    let start = Timestamp::now().plus_secs(-30 * 86_400);
    let span: i64 = 30 * 86_400 * 1_000_000 - 60_000_000;
    let batch_size = 5_000;
    let began = Instant::now();
    let mut busiest = None;
    let mut k = 0;
    while k < events {
        store
            .enqueue(
                &[NewQueued { project_id: project, received_at: Timestamp::now(), meta: "{}".into(), payload: vec![] }],
                None,
            )
            .await
            .unwrap();
        let queue_id = store.claim_queued(1, Duration::from_secs(600)).await.unwrap()[0].id;
        let mut batch = Vec::with_capacity(batch_size);
        for k in k..(k + batch_size).min(events) {
            // A quarter of the events go to the first 100 issues; the rest spread evenly.
            let issue = if k % 4 == 0 { (k / 4) % 100.min(issues) } else { ((k - k / 4 - 1) * 7919) % issues };
            let (title, words) = title(issue);
            let (level, level_name) = level(issue);
            let received = start.plus(Duration::from_micros((span as u128 * k as u128 / events as u128) as u64));
            batch.push(NewEvent {
                queue_id,
                project_id: project,
                event_id: Uuid::from_u128(k as u128 + 1),
                timestamp: received,
                received_at: received,
                level,
                ty: 1,
                title: title.clone(),
                culprit: format!("app.module_{} in handler", issue % 50),
                metadata: format!(r#"{{"type":"{}","value":"{words}"}}"#, TYPES[issue % TYPES.len()]),
                hashes: vec![format!("{issue:032x}")],
                release: Some(format!("1.{}", k * 10 / events)),
                environment: Some(if issue % 3 == 0 { "staging" } else { "production" }.into()),
                tags: vec![
                    ("level".into(), level_name.into()),
                    ("environment".into(), if issue % 3 == 0 { "staging" } else { "production" }.into()),
                    ("release".into(), format!("1.{}", k * 10 / events)),
                    ("user".into(), format!("id:{}", k % 500)),
                    ("browser".into(), format!("Chrome {}", 110 + issue % 5)),
                ],
                payload: payload.clone(),
                search: [title, format!("app.module_{} in handler", issue % 50), words, "views.py models.py".into()],
            });
        }
        let n = batch.len();
        let out = store
            .write_batch(&DigestBatch { queue_ids: vec![queue_id], events: batch, ..DigestBatch::default() })
            .await
            .unwrap();
        assert_eq!(out.events, n);
        if busiest.is_none() {
            busiest = out.new_issues.first().copied();
        }
        k += n;
        if k % 100_000 == 0 {
            eprintln!("  seeded {k} events in {:.1} s", began.elapsed().as_secs_f64());
        }
    }
    eprintln!(
        "  seeded {events} events in {:.1} s ({:.0} events/s)",
        began.elapsed().as_secs_f64(),
        events as f64 / began.elapsed().as_secs_f64()
    );
    busiest.expect("issues were created")
}

/// Median wall time of `RUNS` runs of `f`, after one warm-up run.
async fn median<F, Fut>(mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    f().await;
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let t = Instant::now();
        f().await;
        times.push(t.elapsed());
    }
    times.sort();
    times[RUNS / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

async fn run(backend: TestBackend) {
    let Some(app) = TestApp::builder(backend).workers(false).start().await else { return };
    let events = env_usize("BENCH_EVENTS", 1_000_000);
    let issues = env_usize("BENCH_ISSUES", 10_000);
    eprintln!("{backend:?}: seeding {issues} issues, {events} events");
    let p = app.create_project("bench", "web").await;
    let project = faultline_store::ProjectId(p.id);
    let store = app.store.clone();
    let busiest = seed(&store, project, issues, events).await;
    let org = store.organization_by_slug("bench").await.unwrap().unwrap();
    assert_eq!(store.count_issues(&IssueFilter::organization(org.id)).await.unwrap(), issues as i64);
    // Half of the issues resolved, as in a tracker in use.
    let ids: Vec<IssueId> =
        store.matching_issues(&IssueFilter::organization(org.id)).await.unwrap().into_iter().map(|m| m.0).collect();
    let resolved: Vec<IssueId> = ids.iter().copied().filter(|i| i.0 % 2 == 0).collect();
    store.set_issues_status(&resolved, faultline_store::issue_status::RESOLVED).await.unwrap();

    let user = store
        .create_user(&faultline_store::NewUser { email: "bench@example.com".into(), ..Default::default() })
        .await
        .unwrap();
    store.add_member(org.id, user.id, Role::Owner).await.unwrap();
    let token =
        faultline_domain::tokens::create(&store, &user, "bench", Scopes::parse_list("event:read,org:read").unwrap())
            .await
            .unwrap()
            .1;

    let (session, _) = faultline_domain::accounts::start_session(&store, &user, None, None, 1).await.unwrap();
    let auth = Credentials { token, session };

    let title = format!("{backend:?}, {issues} issues, {events} events, right after the load");
    measure(&app, &auth, org.id, busiest, &title).await;
    let t = Instant::now();
    store.analyze_busy_tables().await.unwrap();
    eprintln!("  analyzed in {:.1} s", t.elapsed().as_secs_f64());
    let title = format!("{backend:?}, {issues} issues, {events} events, after ANALYZE (VACUUM ANALYZE on PostgreSQL)");
    measure(&app, &auth, org.id, busiest, &title).await;
    let pause = env_usize("BENCH_PAUSE_SECS", 0);
    if pause > 0 {
        eprintln!("  pausing {pause} s (the data stays for inspection until then)");
        tokio::time::sleep(Duration::from_secs(pause as u64)).await;
    }
    app.stop().await;
}

/// An API token and a UI session of the benchmark's user.
struct Credentials {
    token: String,
    session: String,
}

/// Times the list, detail and latest-event requests, as store calls and over HTTP, and
/// the web UI's issue pages.
async fn measure(app: &TestApp, auth: &Credentials, org: OrganizationId, busiest: IssueId, title: &str) {
    let store = app.store.clone();
    let token = auth.token.clone();
    let filter = |q: &str| IssueFilter { query: SearchQuery::parse(q).unwrap(), ..IssueFilter::organization(org) };
    let store_list = |f: IssueFilter, sort: IssueSort| {
        let store = store.clone();
        move || {
            let store = store.clone();
            let f = f.clone();
            async move {
                let rows = store.search_issues(&f, sort, 0, 26).await.unwrap();
                store.count_issues(&f).await.unwrap();
                let ids: Vec<IssueId> = rows.iter().map(|r| r.issue.id).collect();
                store.issue_user_counts(&ids).await.unwrap();
                store.comment_counts(&ids).await.unwrap();
                store.issue_top_tag_values(&ids, &["handled", "logger"]).await.unwrap();
                store.issues_hourly_counts(&ids, Timestamp::now().plus_secs(-86_400)).await.unwrap();
                assert!(!rows.is_empty());
            }
        }
    };
    let http = |path: String| {
        let token = token.clone();
        move || {
            let url = app.url(&path);
            let token = token.clone();
            async move {
                let res = app.http.get(url).bearer_auth(token).send().await.unwrap();
                assert_eq!(res.status(), 200);
                res.bytes().await.unwrap();
            }
        }
    };
    let freq = IssueSort { key: IssueSortKey::Count, descending: true };
    let rows: Vec<(&str, Duration, Duration)> = vec![
        (
            "issue list, default sort (last seen)",
            median(store_list(filter(""), IssueSort::default())).await,
            median(http("/api/0/organizations/bench/issues/?limit=25".into())).await,
        ),
        (
            "issue list, `is:unresolved level:warning`",
            median(store_list(filter("is:unresolved level:warning"), IssueSort::default())).await,
            median(http("/api/0/organizations/bench/issues/?limit=25&query=is%3Aunresolved%20level%3Awarning".into()))
                .await,
        ),
        (
            "issue list, free text `timeout`",
            median(store_list(filter("timeout"), IssueSort::default())).await,
            median(http("/api/0/organizations/bench/issues/?limit=25&query=timeout".into())).await,
        ),
        (
            "issue list, GitLab `is:unresolved`, sort=freq",
            median(store_list(filter("is:unresolved"), freq)).await,
            median(http("/api/0/projects/bench/web/issues/?limit=20&query=is%3Aunresolved&sort=freq".into())).await,
        ),
        (
            "issue detail (busiest issue)",
            median(|| {
                let store = store.clone();
                async move {
                    let row = store.issue_row(busiest).await.unwrap();
                    store.project(row.issue.project_id).await.unwrap();
                    store.issue_user_counts(&[busiest]).await.unwrap();
                    store.comment_counts(&[busiest]).await.unwrap();
                    store.issue_top_tag_values(&[busiest], &["handled", "logger"]).await.unwrap();
                    store.issues_hourly_counts(&[busiest], Timestamp::now().plus_secs(-86_400)).await.unwrap();
                    store.issue_first_last_release(busiest).await.unwrap();
                    store.issue_user_report_page(busiest, 0, 0).await.unwrap();
                    store.issue_tag_summary(busiest, None, 0).await.unwrap();
                }
            })
            .await,
            median(http(format!("/api/0/issues/{busiest}/"))).await,
        ),
        (
            "latest event (busiest issue)",
            median(|| {
                let store = store.clone();
                async move {
                    let e = store.issue_edge_event(busiest, true).await.unwrap().unwrap();
                    store.event_neighbours(&e).await.unwrap();
                    store.event_user_report(e.event.project_id, e.event.event_id).await.unwrap();
                    e.event.json().unwrap();
                }
            })
            .await,
            median(http(format!("/api/0/issues/{busiest}/events/latest/"))).await,
        ),
    ];
    println!("\n{title} (median of {RUNS}):");
    println!("| Request | store calls | HTTP request |");
    println!("| --- | ---: | ---: |");
    for (name, s, h) in rows {
        println!("| {name} | {} | {} |", ms(s), ms(h));
    }
    let page = |path: String| {
        let cookie = format!("faultline_session={}", auth.session);
        move || {
            let url = app.url(&path);
            let cookie = cookie.clone();
            async move {
                let res = app.http.get(url).header("cookie", cookie).send().await.unwrap();
                assert_eq!(res.status(), 200);
                assert!(res.text().await.unwrap().contains("</html>"));
            }
        }
    };
    for (name, path) in [
        ("UI issue list (default: is:unresolved)", "/bench/issues".to_string()),
        ("UI issue list, free text `timeout`, 14 days", "/bench/issues?query=timeout&statsPeriod=14d".to_string()),
        ("UI issue detail with latest event (busiest issue)", format!("/bench/issues/{busiest}")),
    ] {
        println!("| {name} | | {} |", ms(median(page(path)).await));
    }
    let all = filter("");
    let search =
        median(|| async { store.search_issues(&all, IssueSort::default(), 0, 26).await.map(|_| ()).unwrap() }).await;
    let count = median(|| async { store.count_issues(&all).await.map(|_| ()).unwrap() }).await;
    println!("| (default list: the page query alone / the count alone) | {} / {} | |", ms(search), ms(count));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: seeds a million events"]
async fn issues_api_sqlite() {
    run(TestBackend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: seeds a million events"]
async fn issues_api_postgres() {
    run(TestBackend::Postgres).await;
}
