//! Removing a deleted project's data in the background.

use anyhow::Context;
use faultline_store::ProjectId;

use crate::WorkerContext;

/// Job name.
pub const DELETE: &str = "delete_project";

/// Deletes a soft-deleted project and everything in it.
pub async fn delete(ctx: &WorkerContext, payload: &str) -> anyhow::Result<()> {
    let payload: serde_json::Value = serde_json::from_str(payload).context("malformed job")?;
    let id = ProjectId(payload["project_id"].as_i64().context("no project_id")?);
    match ctx.store.delete_project(id).await {
        Ok(()) | Err(faultline_store::StoreError::NotFound) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
