//! The `faultline` binary, run as a user would.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use faultline_store::testing::TestDb;

fn faultline(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_faultline"));
    // A clean environment: only what the test sets (plus PATH/HOME for the runtime).
    cmd.env_clear();
    for key in ["PATH", "HOME"] {
        if let Ok(v) = std::env::var(key) {
            cmd.env(key, v);
        }
    }
    cmd.env("FAULTLINE_DATA_DIR", data_dir).current_dir(data_dir);
    cmd
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn createsuperuser_twice(mut make: impl FnMut() -> Command) {
    let first = make()
        .args(["createsuperuser", "--email", "admin@example.com", "--password", "correct horse"])
        .output()
        .unwrap();
    assert!(first.status.success(), "{}", text(&first));
    assert!(text(&first).contains("superuser admin@example.com created"), "{}", text(&first));

    let second = make()
        .args(["createsuperuser", "--email", "ADMIN@example.com", "--password", "correct horse"])
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(1), "{}", text(&second));
    let out = text(&second);
    assert!(out.contains("already exists"), "{out}");
    assert!(!out.contains("panicked"), "{out}");
}

#[test]
fn createsuperuser_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    createsuperuser_twice(|| faultline(dir.path()));
    assert!(dir.path().join("faultline.db").exists(), "SQLite created in the data dir");
    assert!(dir.path().join("secret_key").exists(), "secret key generated and kept");
}

#[tokio::test]
async fn createsuperuser_on_postgres() {
    let Some(db) = TestDb::postgres().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let url = db.config.url.expose().to_string();
    createsuperuser_twice(|| {
        let mut cmd = faultline(dir.path());
        cmd.env("DATABASE_URL", &url).env("SECRET_KEY", "a-test-secret-key-long-enough");
        cmd
    });
    let user = db.store.user_by_email("admin@example.com").await.unwrap().expect("created in PostgreSQL");
    assert!(user.is_superuser);
}

#[test]
fn createsuperuser_reads_the_environment_and_checks_input() {
    let dir = tempfile::tempdir().unwrap();
    let ok = faultline(dir.path())
        .arg("createsuperuser")
        .env("DJANGO_SUPERUSER_EMAIL", "env@example.com")
        .env("DJANGO_SUPERUSER_PASSWORD", "from the env")
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", text(&ok));

    let missing = faultline(dir.path()).args(["createsuperuser", "--email", "x@example.com"]).output().unwrap();
    assert!(!missing.status.success());
    assert!(text(&missing).contains("--password"), "{}", text(&missing));

    let weak = faultline(dir.path())
        .args(["createsuperuser", "--email", "y@example.com", "--password", "123"])
        .output()
        .unwrap();
    assert!(!weak.status.success());
    assert!(text(&weak).contains("at least 8 characters"), "{}", text(&weak));
}

#[test]
fn config_prints_effective_values_with_secrets_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let out = faultline(dir.path())
        .arg("config")
        .env("DATABASE_URL", "postgres://app:hunter2@db.example.com/gt")
        .env("SECRET_KEY", "super-secret-value-123")
        .env("PORT", "9123")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("PORT=9123"), "{stdout}");
    assert!(stdout.contains("DATABASE_URL=postgres://app:********@db.example.com/gt"), "{stdout}");
    assert!(!stdout.contains("hunter2") && !stdout.contains("super-secret-value-123"), "{stdout}");
}

#[test]
fn invalid_configuration_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let out = faultline(dir.path()).arg("migrate").env("PORT", "http").env("DATABASE_URL", "nope.db").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let msg = text(&out);
    assert!(msg.contains("PORT=\"http\""), "{msg}");
    assert!(msg.contains("sqlite://nope.db"), "suggests the fix: {msg}");
    assert!(!msg.contains("panicked"), "{msg}");
}

#[test]
fn unreachable_postgres_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = faultline(dir.path())
        .arg("migrate")
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/nothing")
        .env("SECRET_KEY", "a-test-secret-key-long-enough")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let msg = text(&out);
    assert!(msg.contains("cannot open the database at postgres://postgres@127.0.0.1:1/nothing"), "{msg}");
}

/// Starts `faultline serve` and waits for its "serving HTTP" log line.
fn spawn_server(dir: &Path) -> (Child, u16) {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut child = faultline(dir)
        .env("PORT", port.to_string())
        .env("BIND_ADDRESS", "127.0.0.1")
        .env("LOG_FORMAT", "json")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let line = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())).expect("server logs readiness");
        if line.contains("serving HTTP") {
            let parsed: serde_json::Value = serde_json::from_str(&line).expect("JSON log lines");
            assert_eq!(parsed["level"], "INFO");
            break;
        }
    }
    // Keep draining so the child never blocks on a full pipe.
    std::thread::spawn(move || while rx.recv().is_ok() {});
    (child, port)
}

#[test]
fn serve_answers_health_and_exits_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, port) = spawn_server(dir.path());
    let body = http_get(port, "/_health/");
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    assert!(body.ends_with("ok"), "{body}");

    let sent = Instant::now();
    let kill = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(sent.elapsed() < Duration::from_secs(5), "still running 5 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM");
}

fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    out
}
