//! The test harness: [`TestApp`] starts the real Faultline server in-process, on
//! `127.0.0.1:0`, against a fresh SQLite file or PostgreSQL schema, exactly as
//! `faultline serve` does. It returns once the server accepts connections, so tests
//! never sleep waiting for it.
//!
//! Write a black-box test once as `async fn name(app: TestApp)` and instantiate it
//! for both backends with [`app_tests!`].

pub mod browser;
pub mod smtp;

use std::sync::Arc;

use faultline::{start, Running, StartOptions};
use faultline_config::{Config, Sources};
use faultline_store::Store;

pub use faultline_store::testing::{TestBackend, TestDb};

/// A running server over a fresh database.
pub struct TestApp {
    /// `http://127.0.0.1:<port>` (plus `BASE_PATH` when configured).
    pub base_url: String,
    /// The server's store, for arranging data and asserting on it.
    pub store: Store,
    /// The server's configuration.
    pub config: Arc<Config>,
    /// An HTTP client.
    pub http: reqwest::Client,
    running: Option<Running>,
    _db: TestDb,
    _data_dir: tempfile::TempDir,
}

/// Configures a [`TestApp`] before starting it.
pub struct TestAppBuilder {
    backend: TestBackend,
    env: Vec<(String, String)>,
    workers: bool,
}

impl TestAppBuilder {
    /// Sets a configuration variable, as if in the environment.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Whether to run background workers and the scheduler (default: yes).
    pub fn workers(mut self, on: bool) -> Self {
        self.workers = on;
        self
    }

    /// Starts the server; `None` when the backend is unavailable outside CI (skip).
    pub async fn start(self) -> Option<TestApp> {
        let db = TestDb::new(self.backend).await?;
        let data_dir = tempfile::tempdir().expect("temp data dir");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let mut env = vec![
            ("DATABASE_URL".to_string(), db.config.url.expose().to_string()),
            ("SECRET_KEY".into(), "test-secret-key-0123456789abcdef".into()),
            ("FAULTLINE_DATA_DIR".into(), data_dir.path().display().to_string()),
            ("GLITCHTIP_DOMAIN".into(), format!("http://{addr}")),
            ("BIND_ADDRESS".into(), "127.0.0.1".into()),
            ("PORT".into(), addr.port().to_string()),
            ("LOG_LEVEL".into(), "warn".into()),
        ];
        env.extend(self.env);
        let config = Config::from_sources(&Sources::from_env(env)).expect("valid test configuration");
        let base_url = format!("http://{addr}{}", config.http.base_path);
        let running = start(config, StartOptions { listener: Some(listener), workers: self.workers })
            .await
            .expect("server starts");
        Some(TestApp {
            base_url,
            store: running.store.clone(),
            config: running.config.clone(),
            http: reqwest::Client::new(),
            running: Some(running),
            _db: db,
            _data_dir: data_dir,
        })
    }
}

/// Where the real Sentry clients installed by `scripts/test-deps` are.
pub mod clients {
    use std::path::PathBuf;

    fn find(var: &str, what: &str) -> Option<PathBuf> {
        match std::env::var_os(var).map(PathBuf::from) {
            Some(path) if path.exists() => Some(path),
            _ if std::env::var_os("CI").is_some() => {
                panic!("{what} is missing under CI: {var} must point to it (scripts/test installs it)")
            }
            _ => {
                eprintln!("skipping: {what} not installed ({var} unset; run scripts/test or scripts/test-deps)");
                None
            }
        }
    }

    /// The venv Python with `sentry-sdk`.
    pub fn python() -> Option<PathBuf> {
        find("FAULTLINE_TEST_PYTHON", "Python sentry-sdk")
    }

    /// The `sentry-cli` binary.
    pub fn sentry_cli() -> Option<PathBuf> {
        find("FAULTLINE_TEST_SENTRY_CLI", "sentry-cli")
    }

    /// The `node_modules` holding `@sentry/node`.
    pub fn node_modules() -> Option<PathBuf> {
        find("FAULTLINE_TEST_NODE_MODULES", "@sentry/node")
    }
}

/// A project created for a test, with its default key.
#[derive(Debug, Clone)]
pub struct TestProject {
    /// Project id.
    pub id: i64,
    /// Organization slug.
    pub org: String,
    /// Project slug.
    pub slug: String,
    /// The default key's id.
    pub key_id: faultline_store::ProjectKeyId,
    /// The default key's public part.
    pub key: String,
    /// The DSN.
    pub dsn: String,
}

impl TestApp {
    /// Creates a project (and its organization if needed) with a default key.
    pub async fn create_project(&self, org: &str, name: &str) -> TestProject {
        let p = faultline_domain::projects::provision(&self.store, org, name, Some("python")).await.expect("provision");
        TestProject {
            id: p.project.id.0,
            org: p.organization.slug,
            slug: p.project.slug,
            key_id: p.key.id,
            dsn: faultline_domain::projects::dsn(&self.config.http.public_url, &self.config.http.base_path, &p.key),
            key: p.key.public_key,
        }
    }

    /// `/api/<id>/envelope/` of a project, absolute.
    pub fn envelope_url(&self, project: &TestProject) -> String {
        self.url(&format!("/api/{}/envelope/", project.id))
    }

    /// Waits until every queued payload has been digested (the queue is empty), up to
    /// `timeout`; panics after.
    pub async fn wait_for_digest(&self, timeout: std::time::Duration) {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if self.store.queue_depth().await.expect("queue depth") == 0 {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "the queue was not digested within {timeout:?}");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// A builder for a server on `backend`.
    pub fn builder(backend: TestBackend) -> TestAppBuilder {
        TestAppBuilder { backend, env: Vec::new(), workers: true }
    }

    /// A server with the default test configuration; `None` to skip.
    pub async fn start(backend: TestBackend) -> Option<TestApp> {
        TestApp::builder(backend).start().await
    }

    /// The absolute URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.expect("GET")
    }

    /// Gracefully stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await.expect("clean shutdown");
        }
    }

    /// Forgets cached key lookups (what the API does after changing keys).
    pub fn invalidate_keys(&self) {
        if let Some(ingest) = self.running.as_ref().and_then(|r| r.ingest.as_ref()) {
            ingest.keys.invalidate();
        }
    }

    /// The shutdown token of the running server.
    pub fn shutdown_token(&self) -> tokio_util::sync::CancellationToken {
        self.running.as_ref().expect("running").shutdown_token()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(running) = &self.running {
            running.shutdown_token().cancel();
        }
    }
}

/// Instantiates `async fn case(app: TestApp)` functions for SQLite and PostgreSQL:
/// `app_tests!(health_answers, …);` in a module that defines them. With
/// `app_tests!(configure = f; …)`, `f(TestAppBuilder) -> TestAppBuilder` adjusts the
/// server first.
#[macro_export]
macro_rules! app_tests {
    (configure = $configure:ident; $($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let builder = super::$configure($crate::TestApp::builder($crate::TestBackend::Sqlite));
                    let app = builder.start().await.expect("SQLite is always available");
                    super::$case(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let builder = super::$configure($crate::TestApp::builder($crate::TestBackend::Postgres));
                    let Some(app) = builder.start().await else { return };
                    super::$case(app).await;
                }
            )*
        }
    };
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let app = $crate::TestApp::start($crate::TestBackend::Sqlite).await.expect("SQLite is always available");
                    super::$case(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(app) = $crate::TestApp::start($crate::TestBackend::Postgres).await else { return };
                    super::$case(app).await;
                }
            )*
        }
    };
}
