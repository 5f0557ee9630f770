//! The one storage facade over SQLite (the embedded default) and PostgreSQL.
//!
//! [`Store`] is cheap to clone and holds the connection pools. Every query method
//! lives in the module of the data it touches (`users`, `organizations`, `queue`, …)
//! as an `impl Store` block. Queries are written once in portable SQL with `$n`
//! placeholders, and the `read!`/`write!`/`transaction!` macros compile the same
//! body once per backend; where the dialects differ, the method picks the SQL text
//! by [`Store::kind`].
//!
//! SQLite runs in WAL mode with `synchronous = FULL` (a committed write survives a
//! crash, which is what an ingest acknowledgement promises). All writes go through a
//! single connection, so writers never contend for SQLite's lock; reads use a pool.
//!
//! Times are unix microseconds ([`Timestamp`]) on both backends.

#[macro_use]
mod backend;
mod alerts;
mod attachments;
mod chunks;
mod comments;
mod crons;
mod dictionary;
mod digest;
mod error;
mod event_reads;
mod ids;
mod issue_stats;
mod issue_tags;
mod issues;
mod jobs;
mod maintenance;
mod monitors;
mod organizations;
mod payload;
mod performance;
mod projects;
mod queue;
mod release_health;
mod retention;
mod schema;
mod search;
mod sessions;
mod status_pages;
mod teams;
mod time;
mod tokens;
mod triage;
mod user_reports;
mod users;

#[cfg(feature = "test-support")]
pub mod testing;

pub use alerts::{
    AlertDelivery, AlertNotification, AlertRecipient, AlertRule, NewAlertNotification, NewAlertRecipient, NewAlertRule,
    ALERT_DELIVERY_JOB,
};
pub use attachments::Attachment;
pub use backend::Store;
pub use comments::Comment;
pub use crons::{
    CheckInPage, CronCheckIn, CronEnvState, CronMonitor, CronMonitorEnv, CronStep, CronTransition, HistoryWrite,
    NewCronMonitor, NewCronTransition, PendingCheckIn,
};
pub use dictionary::{train_dictionary, EventDictionary, PayloadDictionary, FRAME_ID_BASE};
pub use digest::{
    BatchOutcome, DigestBatch, NewAttachment, NewCheckIn, NewEvent, NewTransaction, NewUserReport, SessionCounts,
};
pub use error::StoreError;
pub use event_reads::EventRow;
pub use faultline_config::{DatabaseConfig, DatabaseKind};
pub use ids::*;
pub use issue_tags::{IssueRelease, OrganizationTagKey, ReleaseIssue, ReleaseSummary, TagSummary, TagValueCount};
pub use issues::{status as issue_status, Issue, StoredEvent};
pub use jobs::{Job, NewJob};
pub use monitors::{
    AdvisoryLock, CheckResult, Monitor, MonitorCheck, MonitorRollup, MonitorTransition, NewMonitor, ROLLUPS,
};
pub use organizations::{Member, Organization, Role};
pub use payload::{compress_json, compress_payload, decompress_payload};
pub use performance::CheckInRow;
pub use projects::{DigestSettings, KeyAuth, NewProject, Project, ProjectKey, ProjectListing};
pub use queue::{Handoff, NewQueued, QueueMeta, Queued};
pub use schema::{migration_versions, ColumnInfo};
pub use search::{
    level_name, level_number, parse_event_id, priority_score, status_name, status_number, IssueFilter, IssueRow,
    IssueSort, IssueSortKey, SearchError, SearchFilter, SearchQuery, SearchTerm,
};
pub use sessions::{hash_secret, EmailToken, Session};
pub use status_pages::{
    MaintenanceWindow, MonitorChoice, NewMaintenanceWindow, NewStatusPage, PageMonitor, RollupCounts, StatusIncident,
    StatusIncidentUpdate, StatusPage,
};
pub use teams::{EnvironmentRow, MemberRow, Team};
pub use time::Timestamp;
pub use tokens::ApiToken;
pub use user_reports::UserReport;
pub use users::{NewUser, User};

/// Shorthand for results of store calls.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
