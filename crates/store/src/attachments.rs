//! Files attached to events.

use uuid::Uuid;

use crate::{decompress_payload, ProjectId, Result, Store, Timestamp};

/// A stored attachment (its bytes are fetched with [`Store::attachment_data`]).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Attachment {
    /// Id.
    pub id: i64,
    /// Project.
    pub project_id: ProjectId,
    /// The event it belongs to.
    pub event_id: Uuid,
    /// File name.
    pub name: String,
    /// MIME type.
    pub content_type: String,
    /// `event.attachment`, `event.minidump`, …
    pub attachment_type: String,
    /// Size in bytes.
    pub size: i64,
    /// zstd-compressed bytes.
    pub data: Vec<u8>,
    /// Stored at.
    pub created_at: Timestamp,
}

impl Store {
    /// The attachments of an event.
    pub async fn attachments(&self, project: ProjectId, event_id: Uuid) -> Result<Vec<Attachment>> {
        let rows = read!(self, |pool| sqlx::query_as::<_, Attachment>(
            "SELECT id, project_id, event_id, name, content_type, attachment_type, size, data, created_at
             FROM attachments WHERE project_id = $1 AND event_id = $2 ORDER BY id"
        )
        .bind(project)
        .bind(event_id)
        .fetch_all(pool)
        .await)?;
        Ok(rows)
    }

    /// An attachment's bytes.
    pub fn attachment_data(&self, attachment: &Attachment) -> Result<Vec<u8>> {
        decompress_payload(&attachment.data)
    }
}
