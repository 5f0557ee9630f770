//! Assembles a Faultline process: opens and migrates the store, then starts the HTTP
//! server, the background workers and the scheduler as asked, and stops them
//! gracefully. `faultline serve`, `faultline worker` and the test harness all start
//! the server through [`start`].

pub mod logging;
pub mod memory;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use faultline_config::Config;
use faultline_store::{Handoff, Store};
use faultline_web::{AppState, Ingest};
use faultline_worker::WorkerContext;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long in-flight HTTP requests get to finish after shutdown starts.
const HTTP_GRACE: Duration = Duration::from_secs(20);

/// What to run in this process.
pub struct StartOptions {
    /// Serve HTTP on this listener.
    pub listener: Option<TcpListener>,
    /// Run job runners and the scheduler.
    pub workers: bool,
}

/// A started Faultline process.
pub struct Running {
    /// Where HTTP is served, if it is.
    pub local_addr: Option<SocketAddr>,
    /// The store (shared with the running tasks).
    pub store: Store,
    /// The effective configuration.
    pub config: Arc<Config>,
    /// Ingest's shared parts, when serving HTTP.
    pub ingest: Option<Arc<Ingest>>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    http: Option<JoinHandle<std::io::Result<()>>>,
}

/// Prepares the data directory, connects, migrates and starts what `options` asks
/// for. Returns once everything is accepting work.
pub async fn start(mut config: Config, options: StartOptions) -> anyhow::Result<Running> {
    if let Some(warning) = config.prepare_data_dir()? {
        tracing::warn!("{warning}");
    }
    let store = Store::connect(&config.database).await?;
    store.migrate().await.context("cannot bring the database schema up to date")?;
    tracing::info!(database = %config.database.redacted_url(), "database ready");

    let config = Arc::new(config);
    let shutdown = CancellationToken::new();
    let tasks = TaskTracker::new();
    tasks.spawn(checkpoints(store.clone(), shutdown.clone()));
    // When this process digests, ingest hands it what it commits.
    let handoff = options.workers.then(|| Arc::new(Handoff::new()));
    if let Some(handoff) = &handoff {
        let ctx = WorkerContext { store: store.clone(), config: config.clone(), handoff: handoff.clone() };
        faultline_worker::spawn(ctx, &shutdown, &tasks);
    }
    let mut local_addr = None;
    let mut http = None;
    let mut ingest_handle = None;
    if let Some(listener) = options.listener {
        let addr = listener.local_addr()?;
        local_addr = Some(addr);
        let ingest = Arc::new(Ingest::start(&config, &store, &tasks, handoff.clone()));
        ingest_handle = Some(ingest.clone());
        let state = AppState::new(config.clone(), store.clone(), ingest);
        http = Some(tokio::spawn(faultline_web::serve(listener, state, shutdown.clone(), HTTP_GRACE)));
        tracing::info!(address = %addr, url = %config.http.public_url, "serving HTTP");
    }
    Ok(Running { local_addr, store, config, ingest: ingest_handle, shutdown, tasks, http })
}

/// How often SQLite's write-ahead logs are copied back into the database files.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Runs the store's checkpoints beside its writers until shutdown (see
/// [`Store::checkpoint`]).
async fn checkpoints(store: Store, shutdown: CancellationToken) {
    if store.kind() != faultline_store::DatabaseKind::Sqlite {
        return;
    }
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(CHECKPOINT_EVERY) => {}
        }
        if let Err(e) = store.checkpoint().await {
            tracing::warn!(error = %e, "checkpoint failed; the next one will retry");
        }
    }
}

impl Running {
    /// Cancelling this token starts a graceful shutdown.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Starts a graceful shutdown and waits for it to finish.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.wait().await
    }

    /// Waits until shutdown (or the HTTP server failing), then lets in-flight requests
    /// and jobs finish and closes the store.
    pub async fn wait(self) -> anyhow::Result<()> {
        let Running { store, shutdown, tasks, http, ingest, .. } = self;
        // The spooler drains and stops once every handle to ingest is gone.
        drop(ingest);
        let mut result = Ok(());
        match http {
            Some(http) => {
                let served = http.await;
                // Whatever ended the server ends the process.
                shutdown.cancel();
                result = match served {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(anyhow::Error::new(e).context("the HTTP server failed")),
                    Err(e) => Err(anyhow::Error::new(e).context("the HTTP server task failed")),
                };
            }
            None => shutdown.cancelled().await,
        }
        tasks.close();
        tasks.wait().await;
        store.close().await;
        tracing::info!("stopped");
        result
    }
}
