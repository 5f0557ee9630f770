//! Connection pools per backend and the macros that run one query body on either.

use std::str::FromStr;
use std::time::Duration;

use faultline_config::{DatabaseConfig, DatabaseKind};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::Connection;

use crate::error::StoreError;

/// Runs `$body` with `$pool` bound to a pool that may be used for reads. The body is
/// compiled once per backend, so it must be valid for both.
macro_rules! read {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.backend {
            $crate::backend::Backend::Sqlite { read: $pool, .. } => $body,
            $crate::backend::Backend::Postgres($pool) => $body,
        }
    };
}

/// Like `read!`, with the pool that may write (SQLite's single writer connection).
macro_rules! write {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.backend {
            $crate::backend::Backend::Sqlite { write: $pool, .. } => $body,
            $crate::backend::Backend::Postgres($pool) => $body,
        }
    };
}

/// Like `write!`, with the pool of the ingest spool: on SQLite its own database file
/// (`<name>-spool.db`, with its own writer, so accepting events never waits for the
/// digest's writes), on PostgreSQL the main pool. The table is `ingest_queue` in both.
macro_rules! spool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.backend {
            $crate::backend::Backend::Sqlite { spool: $pool, .. } => $body,
            $crate::backend::Backend::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` inside one write transaction bound to `$tx` (use `&mut *$tx` as the
/// executor) and commits it; an early return (`?`) rolls back.
macro_rules! transaction {
    ($store:expr, |$tx:ident| $body:expr) => {
        match &$store.backend {
            $crate::backend::Backend::Sqlite { write, .. } => {
                let mut $tx = write.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            $crate::backend::Backend::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}

#[derive(Clone)]
pub(crate) enum Backend {
    Sqlite { read: SqlitePool, write: SqlitePool, spool: SqlitePool, spool_checkpoints: SqlitePool },
    Postgres(PgPool),
}

/// The storage facade. Clone it freely: clones share the pools.
#[derive(Clone)]
pub struct Store {
    pub(crate) backend: Backend,
    /// SQLite: the spool's smallest id as observed now and then, oldest first, for
    /// pruning digest receipts (see `queue`).
    pub(crate) spool_floors: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<(std::time::Instant, i64)>>>,
    /// Projects' dictionaries read so far, for decompressing their events.
    pub(crate) decoders: crate::dictionary::Decoders,
}

/// The spool's file beside the SQLite database: `data/faultline.db` →
/// `data/faultline-spool.db`.
pub fn spool_path(database: &std::path::Path) -> std::path::PathBuf {
    let stem = database.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "faultline".into());
    let name = match database.extension() {
        Some(ext) => format!("{stem}-spool.{}", ext.to_string_lossy()),
        None => format!("{stem}-spool"),
    };
    database.with_file_name(name)
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("kind", &self.kind()).finish()
    }
}

impl Store {
    /// Opens the pools (creating a missing SQLite file). Does not migrate.
    pub async fn connect(config: &DatabaseConfig) -> Result<Store, StoreError> {
        let backend = match config.kind {
            DatabaseKind::Sqlite => {
                let path = config
                    .sqlite_path()
                    .ok_or_else(|| StoreError::Connect("a SQLite database needs a file path".into()))?;
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // FULL: an acknowledged (committed) write survives power loss, not
                    // only a crash. Group commit keeps the fsync count low.
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(Duration::from_secs(30))
                    .foreign_keys(true)
                    // For new files: an event's compressed payload (2–3 KB) fills a
                    // 4 KiB page alone; 8 KiB pages hold three.
                    .page_size(8192)
                    .pragma("temp_store", "memory")
                    .statement_cache_capacity(crate::chunks::STATEMENT_CACHE)
                    // Checkpoints run beside the writers ([`Store::checkpoint`]). The
                    // writer's own, once the WAL holds 64 MiB, then has little left to
                    // copy, and lets the WAL start over (only a checkpoint that caught
                    // up with the writer can), which keeps the file from growing.
                    .pragma("wal_autocheckpoint", "8192")
                    .pragma("journal_size_limit", "67108864");
                // Page caches are per connection, in KiB (negative = size, not pages):
                // the writer keeps the hot index pages; readers share the OS page cache
                // through mmap and keep small caches of their own, so memory does not
                // grow with the number of readers.
                let write = sqlite_pool()
                    .max_connections(1)
                    .min_connections(1)
                    .acquire_timeout(Duration::from_secs(60))
                    .idle_timeout(None)
                    .connect_with(options.clone().pragma("cache_size", "-16384"))
                    .await
                    .map_err(|e| connect_error(config, e))?;
                let read = sqlite_pool()
                    .max_connections(config.pool_max_size.clamp(1, 8))
                    .min_connections(0)
                    .idle_timeout(Duration::from_secs(60))
                    .connect_with(options.clone().pragma("cache_size", "-2048").pragma("mmap_size", "268435456"))
                    .await
                    .map_err(|e| connect_error(config, e))?;
                // The spool: one connection does its appends, claims and deletes, a
                // second its checkpoints. It holds blobs that are written once and read
                // at most once, so it needs little cache. Small pages: a commit of one
                // event rewrites the page it lands on into the WAL, and under light
                // load each event is its own commit. 2 KiB rather than 4: a typical
                // 2.2 KB gzip body took a 4 KiB page of its own; now it fills an
                // overflow page and leaves a small cell on a leaf page it shares, a
                // fifth fewer bytes written in all (docs/benchmarks.md).
                let spool_options = options
                    .filename(spool_path(path))
                    .foreign_keys(false)
                    .page_size(2048)
                    // 64 MiB of 2 KiB pages, as for the main database.
                    .pragma("wal_autocheckpoint", "32768")
                    .pragma("cache_size", "-4096");
                let spool = sqlite_pool()
                    .max_connections(1)
                    .min_connections(1)
                    .acquire_timeout(Duration::from_secs(60))
                    .idle_timeout(None)
                    .connect_with(spool_options.clone())
                    .await
                    .map_err(|e| connect_error(config, e))?;
                let spool_checkpoints = sqlite_pool()
                    .max_connections(1)
                    .min_connections(0)
                    .idle_timeout(Duration::from_secs(60))
                    .connect_with(spool_options)
                    .await
                    .map_err(|e| connect_error(config, e))?;
                Backend::Sqlite { read, write, spool, spool_checkpoints }
            }
            DatabaseKind::Postgres => {
                let options = PgConnectOptions::from_str(config.url.expose())
                    .map_err(|e| connect_error(config, e))?
                    .statement_cache_capacity(crate::chunks::STATEMENT_CACHE);
                // One direct attempt first: a refused connection fails at once with its
                // real cause instead of after the pool's acquire timeout.
                sqlx::PgConnection::connect_with(&options)
                    .await
                    .map_err(|e| connect_error(config, e))?
                    .close()
                    .await
                    .map_err(|e| connect_error(config, e))?;
                let pool = PgPoolOptions::new()
                    .max_connections(config.pool_max_size.max(2))
                    .min_connections(0)
                    .acquire_timeout(Duration::from_secs(30))
                    .idle_timeout(Duration::from_secs(300))
                    .connect_lazy_with(options);
                Backend::Postgres(pool)
            }
        };
        Ok(Store { backend, spool_floors: Default::default(), decoders: Default::default() })
    }

    /// Which backend this store talks to.
    pub fn kind(&self) -> DatabaseKind {
        match self.backend {
            Backend::Sqlite { .. } => DatabaseKind::Sqlite,
            Backend::Postgres(_) => DatabaseKind::Postgres,
        }
    }

    /// Applies pending migrations (embedded in the binary). Safe to run from several
    /// processes at once on PostgreSQL (sqlx takes an advisory lock).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite { write, spool, .. } => {
                crate::schema::SQLITE_MIGRATOR.run(write).await?;
                crate::schema::SQLITE_SPOOL_MIGRATOR.run(spool).await?;
                self.reset_receipts_of_a_new_spool().await?;
            }
            Backend::Postgres(pool) => crate::schema::POSTGRES_MIGRATOR.run(pool).await?,
        }
        Ok(())
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        read!(self, |pool| sqlx::query("SELECT 1").execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// SQLite: copies committed WAL pages back into the database files (a passive
    /// checkpoint, which never waits for or blocks the writers), so commits only
    /// append to the WAL and checkpointing runs beside them. The process calls this
    /// periodically; a no-op on PostgreSQL.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        if let Backend::Sqlite { read, spool_checkpoints, .. } = &self.backend {
            sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(read).await?;
            sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(spool_checkpoints).await?;
        }
        Ok(())
    }

    /// Closes every connection, waiting for checked-out ones to come back.
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite { read, write, spool, spool_checkpoints } => {
                read.close().await;
                write.close().await;
                spool.close().await;
                spool_checkpoints.close().await;
            }
            Backend::Postgres(pool) => pool.close().await,
        }
    }
}

/// Pool options for a SQLite file. No ping before each acquire: a connection to a
/// local file cannot go stale, and each ping is a round trip to the connection's
/// thread. At 1,000 events/s the pings were a sixth of the SQLite threads' context
/// switches (docs/benchmarks.md). PostgreSQL keeps its pings: there they notice a
/// restarted server before a request does.
fn sqlite_pool() -> SqlitePoolOptions {
    SqlitePoolOptions::new().test_before_acquire(false)
}

fn connect_error(config: &DatabaseConfig, e: sqlx::Error) -> StoreError {
    StoreError::Connect(format!("cannot open the database at {}: {e}", config.redacted_url()))
}
