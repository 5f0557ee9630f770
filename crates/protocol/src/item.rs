//! Envelope item types and the rate-limit categories they count against.

use std::fmt;

/// The type of an envelope item. Unknown types are kept as [`ItemType::Unknown`] and
/// skipped, never rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ItemType {
    /// An error or message event.
    Event,
    /// A performance transaction.
    Transaction,
    /// A browser security report (CSP); produced by the security endpoint.
    Security,
    /// A file attached to an event (`attachment_type` says which kind).
    Attachment,
    /// A release-health session update.
    Session,
    /// Pre-aggregated sessions.
    Sessions,
    /// Legacy user feedback `{event_id, name, email, comments}`.
    UserReport,
    /// New user feedback, an event with a `feedback` context.
    Feedback,
    /// SDK outcome counts.
    ClientReport,
    /// A cron monitor check-in.
    CheckIn,
    /// Structured logs (a container of log records).
    Log,
    /// Standalone spans.
    Span,
    /// A profile.
    Profile,
    /// A continuous-profiling chunk.
    ProfileChunk,
    /// Session replay metadata.
    ReplayEvent,
    /// Session replay recording.
    ReplayRecording,
    /// Session replay video.
    ReplayVideo,
    /// Any other type, kept by name.
    Unknown(String),
}

/// What a quota or rate limit counts (the `X-Sentry-Rate-Limits` categories).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataCategory {
    /// Messages without an exception.
    Default,
    /// Errors.
    Error,
    /// Transactions.
    Transaction,
    /// Security reports.
    Security,
    /// Attachments.
    Attachment,
    /// Sessions.
    Session,
    /// Profiles.
    Profile,
    /// Replays.
    Replay,
    /// Cron check-ins.
    Monitor,
    /// Spans.
    Span,
    /// Log records.
    LogItem,
    /// User feedback.
    Feedback,
}

impl ItemType {
    /// From the item header's `type`.
    pub fn parse(name: &str) -> ItemType {
        match name {
            "event" => ItemType::Event,
            "transaction" => ItemType::Transaction,
            "security" | "raw_security" => ItemType::Security,
            "attachment" => ItemType::Attachment,
            "session" => ItemType::Session,
            "sessions" => ItemType::Sessions,
            "user_report" => ItemType::UserReport,
            "feedback" => ItemType::Feedback,
            "client_report" => ItemType::ClientReport,
            "check_in" => ItemType::CheckIn,
            "log" => ItemType::Log,
            "span" => ItemType::Span,
            "profile" => ItemType::Profile,
            "profile_chunk" | "profile_chunk_ui" => ItemType::ProfileChunk,
            "replay_event" => ItemType::ReplayEvent,
            "replay_recording" => ItemType::ReplayRecording,
            "replay_video" => ItemType::ReplayVideo,
            other => ItemType::Unknown(other.to_string()),
        }
    }

    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            ItemType::Event => "event",
            ItemType::Transaction => "transaction",
            ItemType::Security => "security",
            ItemType::Attachment => "attachment",
            ItemType::Session => "session",
            ItemType::Sessions => "sessions",
            ItemType::UserReport => "user_report",
            ItemType::Feedback => "feedback",
            ItemType::ClientReport => "client_report",
            ItemType::CheckIn => "check_in",
            ItemType::Log => "log",
            ItemType::Span => "span",
            ItemType::Profile => "profile",
            ItemType::ProfileChunk => "profile_chunk",
            ItemType::ReplayEvent => "replay_event",
            ItemType::ReplayRecording => "replay_recording",
            ItemType::ReplayVideo => "replay_video",
            ItemType::Unknown(name) => name,
        }
    }

    /// Whether the payload is one JSON event that must be valid and small
    /// (the 1 MiB event limit).
    pub fn is_event_like(&self) -> bool {
        matches!(self, ItemType::Event | ItemType::Transaction | ItemType::Feedback | ItemType::Security)
    }

    /// The category this item counts against. Events count as `error` when they
    /// carry an exception and `default` otherwise; callers refine that.
    pub fn category(&self) -> Option<DataCategory> {
        Some(match self {
            ItemType::Event => DataCategory::Error,
            ItemType::Transaction => DataCategory::Transaction,
            ItemType::Security => DataCategory::Security,
            ItemType::Attachment => DataCategory::Attachment,
            ItemType::Session | ItemType::Sessions => DataCategory::Session,
            ItemType::UserReport | ItemType::Feedback => DataCategory::Feedback,
            ItemType::CheckIn => DataCategory::Monitor,
            ItemType::Log => DataCategory::LogItem,
            ItemType::Span => DataCategory::Span,
            ItemType::Profile | ItemType::ProfileChunk => DataCategory::Profile,
            ItemType::ReplayEvent | ItemType::ReplayRecording | ItemType::ReplayVideo => DataCategory::Replay,
            ItemType::ClientReport | ItemType::Unknown(_) => return None,
        })
    }
}

impl fmt::Display for ItemType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl DataCategory {
    /// The name used in `X-Sentry-Rate-Limits`.
    pub fn as_str(self) -> &'static str {
        match self {
            DataCategory::Default => "default",
            DataCategory::Error => "error",
            DataCategory::Transaction => "transaction",
            DataCategory::Security => "security",
            DataCategory::Attachment => "attachment",
            DataCategory::Session => "session",
            DataCategory::Profile => "profile",
            DataCategory::Replay => "replay",
            DataCategory::Monitor => "monitor",
            DataCategory::Span => "span",
            DataCategory::LogItem => "log_item",
            DataCategory::Feedback => "feedback",
        }
    }
}
