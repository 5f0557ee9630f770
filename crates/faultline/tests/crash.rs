//! The durability promise: an event answered 200 is never lost. Start the real server
//! process, send load, `kill -9` it mid-stream, restart it, and check that every
//! acknowledged event is stored exactly once.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use faultline_config::DatabaseConfig;
use faultline_store::testing::TestDb;
use faultline_store::{ProjectId, Store};
use uuid::Uuid;

fn faultline(dir: &Path, database_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_faultline"));
    cmd.env_clear();
    for key in ["PATH", "HOME"] {
        if let Ok(v) = std::env::var(key) {
            cmd.env(key, v);
        }
    }
    cmd.env("FAULTLINE_DATA_DIR", dir)
        .env("DATABASE_URL", database_url)
        .env("SECRET_KEY", "crash-test-secret-key-0123456789")
        .current_dir(dir);
    cmd
}

/// Starts `faultline serve` on a free port and waits for its readiness log line.
fn start(dir: &Path, database_url: &str) -> (Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = faultline(dir, database_url)
        .env("PORT", port.to_string())
        .env("BIND_ADDRESS", "127.0.0.1")
        .env("LOG_LEVEL", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let line = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())).expect("server becomes ready");
        if line.contains("serving HTTP") {
            break;
        }
    }
    std::thread::spawn(move || while rx.recv().is_ok() {});
    (child, port)
}

fn envelope(id: Uuid, n: usize) -> Vec<u8> {
    let event = serde_json::json!({
        "event_id": id.simple().to_string(),
        "platform": "python",
        "exception": {"values": [{"type": "CrashTestError", "value": format!("event {n}"),
            "stacktrace": {"frames": [{"function": "send", "module": "crash.test", "filename": "crash.py", "lineno": n % 50, "in_app": true}]}}]},
        "extra": {"padding": "x".repeat(2000)},
    });
    let payload = serde_json::to_vec(&event).unwrap();
    let mut out =
        format!("{{\"event_id\":\"{}\"}}\n{{\"type\":\"event\",\"length\":{}}}\n", id.simple(), payload.len())
            .into_bytes();
    out.extend(payload);
    // A session too: session counts have no natural key, so one digested twice would
    // count twice (events are also unique by id, which would hide it).
    let session = serde_json::json!({"sid": id.simple().to_string(), "init": true, "status": "exited",
        "attrs": {"release": "crash@1", "environment": "test"}});
    out.extend(b"\n{\"type\":\"session\"}\n");
    out.extend(serde_json::to_vec(&session).unwrap());
    out
}

async fn crash_and_recover(db_url: String, store: Store) {
    let dir = tempfile::tempdir().unwrap();
    let out = faultline(dir.path(), &db_url)
        .args(["projects", "create", "--org", "crash", "--name", "test"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dsn = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let key = dsn.split("://").nth(1).unwrap().split('@').next().unwrap().to_string();
    let project_id: i64 = dsn.rsplit('/').next().unwrap().parse().unwrap();

    let (mut server, port) = start(dir.path(), &db_url);
    let acked: Arc<Mutex<HashSet<Uuid>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/api/{project_id}/envelope/?sentry_key={key}");
    let mut senders = Vec::new();
    for worker in 0..8 {
        let (client, url, acked, stop) = (client.clone(), url.clone(), acked.clone(), stop.clone());
        senders.push(tokio::spawn(async move {
            let mut n = worker;
            while !stop.load(Ordering::Relaxed) {
                let id = Uuid::new_v4();
                match client.post(&url).body(envelope(id, n)).send().await {
                    Ok(res) if res.status() == 200 => {
                        acked.lock().unwrap().insert(id);
                    }
                    Ok(_) => {}
                    Err(_) => break, // the server is gone
                }
                n += 8;
            }
        }));
    }
    // Kill it mid-stream, once a good number of events were acknowledged.
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < 400 {
        assert!(Instant::now() < deadline, "the server acknowledged too few events");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for s in senders {
        let _ = s.await;
    }
    let acked: HashSet<Uuid> = acked.lock().unwrap().clone();

    // Restart and let it digest what the queue holds.
    let (mut server, port) = start(dir.path(), &db_url);
    let health = format!("http://127.0.0.1:{port}/api/0/internal/health");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let body: serde_json::Value = client.get(&health).send().await.unwrap().json().await.unwrap();
        if body["queue"]["depth"] == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the queue did not drain: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
    server.wait().unwrap();

    let project = ProjectId(project_id);
    let mut missing = Vec::new();
    for id in &acked {
        if store.event(project, *id).await.unwrap().is_none() {
            missing.push(*id);
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged events were lost: {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(5)]
    );
    let stored = store.project_event_count(project).await.unwrap();
    assert!(stored as usize >= acked.len());
    let issue = &store.project_issues(project, 10).await.unwrap();
    let counted: i64 = issue.iter().map(|i| i.times_seen).sum();
    assert_eq!(counted, stored, "every stored event counted once, none twice");
    let sessions = store.project_session_totals(project).await.unwrap();
    assert_eq!(sessions.started, stored, "every stored envelope's session counted once, none twice");
    eprintln!("crash test: {} acknowledged, {} stored (the rest were in flight when killed)", acked.len(), stored);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_loses_no_acknowledged_event_after_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.db");
    let config = DatabaseConfig::sqlite(&path);
    let url = format!("sqlite://{}", path.display());
    // Migrate first so the test can open the store read-side while the server runs.
    let store = Store::connect(&config).await.unwrap();
    store.migrate().await.unwrap();
    crash_and_recover(url, store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_loses_no_acknowledged_event_after_kill_9() {
    let Some(db) = TestDb::postgres().await else { return };
    crash_and_recover(db.config.url.expose().to_string(), db.store.clone()).await;
}
