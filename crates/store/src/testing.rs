//! Fresh, migrated databases for tests (feature `test-support`).
//!
//! SQLite: a new file in a temporary directory. PostgreSQL: a new schema in the
//! database named by `TEST_DATABASE_URL`, dropped when the [`TestDb`] is dropped.
//! Without `TEST_DATABASE_URL` PostgreSQL tests are skipped, unless `CI` is set: then
//! they fail, so a CI run can never pass without having exercised PostgreSQL.

use std::sync::atomic::{AtomicU32, Ordering};

use faultline_config::DatabaseConfig;
use sqlx::Connection;

use crate::Store;

/// A migrated store that cleans up after itself.
pub struct TestDb {
    /// The store.
    pub store: Store,
    /// How to reach the same database (e.g. to start a server on it).
    pub config: DatabaseConfig,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, schema: String },
}

/// The backends a test can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    /// SQLite file.
    Sqlite,
    /// PostgreSQL schema.
    Postgres,
}

impl TestDb {
    /// A fresh database on `backend`; `None` when PostgreSQL is not configured and this
    /// is not CI (the caller skips).
    pub async fn new(backend: TestBackend) -> Option<TestDb> {
        match backend {
            TestBackend::Sqlite => Some(TestDb::sqlite().await),
            TestBackend::Postgres => TestDb::postgres().await,
        }
    }

    /// A fresh SQLite database.
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("create a temp dir");
        let config = DatabaseConfig::sqlite(&dir.path().join("faultline.db"));
        let store = Store::connect(&config).await.expect("open SQLite");
        store.migrate().await.expect("migrate SQLite");
        TestDb { store, config, cleanup: Cleanup::Sqlite(dir) }
    }

    /// A fresh PostgreSQL schema, or `None` to skip (see the module docs).
    pub async fn postgres() -> Option<TestDb> {
        let admin_url = postgres_url()?;
        let schema = unique_schema_name();
        let mut conn = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at TEST_DATABASE_URL is unreachable: {e}"));
        sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&mut conn).await.expect("create test schema");
        let _ = conn.close().await;

        let separator = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{separator}options=-c%20search_path%3D{schema}");
        let mut config = DatabaseConfig::postgres(&url);
        config.pool_max_size = 5;
        let store = Store::connect(&config).await.expect("connect to the test schema");
        store.migrate().await.expect("migrate PostgreSQL");
        Some(TestDb { store, config, cleanup: Cleanup::Postgres { admin_url, schema } })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, schema } = &self.cleanup {
            let (admin_url, schema) = (admin_url.clone(), schema.clone());
            // Drop may run inside or outside a runtime; a plain thread with its own
            // runtime works in both.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                rt.block_on(async {
                    let mut conn = sqlx::PgConnection::connect(&admin_url).await.ok()?;
                    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&mut conn).await.ok()?;
                    conn.close().await.ok()
                })
            })
            .join();
        }
    }
}

/// `TEST_DATABASE_URL`, or `None` to skip; panics when `CI` is set and it is missing.
pub fn postgres_url() -> Option<String> {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("CI is set but TEST_DATABASE_URL is not: PostgreSQL tests must run in CI")
        }
        _ => {
            eprintln!("skipping a PostgreSQL test: TEST_DATABASE_URL is not set");
            None
        }
    }
}

fn unique_schema_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let salt: u32 = rand::random();
    format!("ft_{}_{}_{:08x}", std::process::id(), n, salt)
}
