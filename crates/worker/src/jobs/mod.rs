//! The job kinds. A job is an async function `run(&WorkerContext, payload)`; it must
//! tolerate running twice (a lease can expire while it runs).

pub mod alerts;
pub mod email;
pub mod projects;
pub mod retention;

use anyhow::bail;
use faultline_store::Job;

use crate::WorkerContext;

/// Runs one claimed job.
pub async fn run(ctx: &WorkerContext, job: &Job) -> anyhow::Result<()> {
    match job.kind.as_str() {
        retention::KIND => retention::run(ctx).await,
        alerts::KIND => alerts::run(ctx).await,
        email::KIND => email::run(ctx, &job.payload).await,
        projects::DELETE => projects::delete(ctx, &job.payload).await,
        other => bail!("unknown job kind {other:?}"),
    }
}
