//! Event processing, as pure functions: no I/O, no async, no database.
//!
//! The digest workers call [`Processor::process_event`] for every error, message and
//! security item and [`Processor::process_transaction`] for every transaction; the
//! API and the UI call [`represent_event`] to show a stored event. Everything here is
//! deterministic given its inputs (the received time and any fallback event id come
//! in through [`EventContext`]), which is what makes digestion idempotent.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

mod event;
mod exception;
mod fields;
mod grouping;
mod ip;
mod legacy;
mod message;
mod normalize;
mod represent;
mod request;
mod scrub;
mod stacktrace;
mod tags;
mod time;
mod title;
mod transaction;
mod trim;
mod user_agent;
mod util;

/// How events of a project are grouped into issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupingStrategy {
    /// Exception type plus in-app frames; parameterized messages without a stack.
    #[default]
    Default,
    /// GlitchTip's exact hash, `md5(title + culprit + type)`, for imported projects.
    GlitchTip,
}

impl GroupingStrategy {
    /// From the project setting (`default` or `glitchtip`); unknown values mean default.
    pub fn from_setting(s: &str) -> GroupingStrategy {
        match s {
            "glitchtip" => GroupingStrategy::GlitchTip,
            _ => GroupingStrategy::Default,
        }
    }
}

/// Which kind of envelope item a payload came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    /// An `event` item (error or message) or a legacy store body.
    Event,
    /// A `security` item: a CSP report skeleton `{"csp": {…}, "request": {…}}`.
    Security,
}

/// Issue type, numbered as GlitchTip stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// A message without an exception.
    Default = 0,
    /// An exception.
    Error = 1,
    /// A CSP violation.
    Csp = 2,
}

/// Facts about the request and the project that processing needs.
#[derive(Debug, Clone)]
pub struct EventContext<'a> {
    /// When the server accepted the payload.
    pub received: DateTime<Utc>,
    /// The envelope header's `sent_at`, for clock-drift correction.
    pub sent_at: Option<DateTime<Utc>>,
    /// The client's IP address (replaces `{{auto}}`).
    pub client_ip: Option<IpAddr>,
    /// `sentry_client` from the auth header (backfills `sdk`).
    pub sdk_client: Option<&'a str>,
    /// The id to use when the payload has none (envelope header or assigned at ingest).
    pub fallback_event_id: Option<Uuid>,
    /// Anonymize IP addresses (organization or project setting).
    pub scrub_ip: bool,
    /// Scrub passwords, tokens, cookies, card numbers … (project setting).
    pub scrub_data: bool,
    /// The project's grouping strategy.
    pub grouping: GroupingStrategy,
}

/// Text indexed for full-text issue search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchText {
    /// The title.
    pub title: String,
    /// The culprit.
    pub culprit: String,
    /// The formatted message or exception values.
    pub message: String,
    /// Basenames of stack-frame files, space-separated.
    pub filenames: String,
}

/// A normalized error, message or CSP event, ready to store.
#[derive(Debug, Clone)]
pub struct ProcessedEvent {
    /// The event id.
    pub event_id: Uuid,
    /// The normalized event (Sentry's stored event shape, snake_case), including
    /// `title`, `culprit`, `metadata`, `type`, `hashes`, `tags` (as pairs) and
    /// `errors` (processing errors).
    pub event: Value,
    /// Issue type.
    pub ty: EventType,
    /// GlitchTip level number: 0 sample, 1 debug, 2 info, 3 warning, 4 error, 5 fatal.
    pub level: i16,
    /// Title (at most 100 characters plus `…`).
    pub title: String,
    /// Culprit (at most 200 characters plus `…`).
    pub culprit: String,
    /// Metadata (`type`, `value`, `filename`, `function`, or CSP fields).
    pub metadata: Value,
    /// Grouping hashes, 32 lowercase hex characters each, most specific first.
    pub hashes: Vec<String>,
    /// The event's own time (normalized, clock-drift corrected).
    pub timestamp: DateTime<Utc>,
    /// Release, if any.
    pub release: Option<String>,
    /// Environment, if any.
    pub environment: Option<String>,
    /// Tags to index: the event's own plus synthesized ones (level, browser, os, …).
    pub tags: Vec<(String, String)>,
    /// Who was affected (user id, else email, else IP), for "users affected".
    pub user_key: Option<String>,
    /// For the full-text index.
    pub search: SearchText,
}

/// A normalized transaction, ready to store.
#[derive(Debug, Clone)]
pub struct ProcessedTransaction {
    /// The event id.
    pub event_id: Uuid,
    /// The normalized transaction, spans included.
    pub event: Value,
    /// Transaction name.
    pub name: String,
    /// `contexts.trace.op` (empty when absent).
    pub op: String,
    /// `request.method` (empty when absent).
    pub method: String,
    /// `contexts.trace.trace_id`.
    pub trace_id: Option<String>,
    /// `contexts.trace.status` (default `ok`).
    pub status: String,
    /// Start time.
    pub start: DateTime<Utc>,
    /// End time.
    pub end: DateTime<Utc>,
    /// Release, if any.
    pub release: Option<String>,
    /// Environment, if any.
    pub environment: Option<String>,
    /// Tags.
    pub tags: Vec<(String, String)>,
}

/// A payload that cannot be processed at all (not a JSON object).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot process the event: {0}")]
pub struct ProcessError(pub String);

/// Identifiers and neighbours shown with an event by the API.
#[derive(Debug, Clone, Default)]
pub struct EventLinks {
    /// Project id.
    pub project_id: i64,
    /// Issue id.
    pub issue_id: i64,
    /// When the server received it.
    pub received: Option<DateTime<Utc>>,
    /// Previous event of the same issue.
    pub previous_event_id: Option<String>,
    /// Next event of the same issue.
    pub next_event_id: Option<String>,
}

/// Processing state reused across events (compiled regexes, the user-agent parser).
/// Cheap to share between threads.
pub struct Processor {
    ua: user_agent::UaParser,
}

impl Default for Processor {
    fn default() -> Self {
        Processor::new()
    }
}

impl std::fmt::Debug for Processor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Processor").finish_non_exhaustive()
    }
}

impl Processor {
    /// A processor. Expensive parts (the user-agent parser) are built on first use.
    pub fn new() -> Processor {
        Processor { ua: user_agent::UaParser::default() }
    }

    /// Normalizes an event, computes title, culprit, metadata, tags and grouping.
    pub fn process_event(
        &self,
        payload: &[u8],
        kind: ItemKind,
        ctx: &EventContext<'_>,
    ) -> Result<ProcessedEvent, ProcessError> {
        let parsed = normalize::parse(payload)?;
        let security = kind == ItemKind::Security;
        let nkind = if security { normalize::Kind::Security } else { normalize::Kind::Event };
        let normalized = normalize::normalize(parsed, payload, nkind, ctx, &self.ua);
        Ok(event::finish(normalized, security, ctx.grouping))
    }

    /// Normalizes a transaction.
    pub fn process_transaction(
        &self,
        payload: &[u8],
        ctx: &EventContext<'_>,
    ) -> Result<ProcessedTransaction, ProcessError> {
        let parsed = normalize::parse(payload)?;
        let normalized = normalize::normalize(parsed, payload, normalize::Kind::Transaction, ctx, &self.ua);
        Ok(transaction::finish(normalized))
    }
}

/// Sentry's event-detail JSON (`/api/0/…/events/<id>/`) for a stored normalized event:
/// camelCase, `entries` (exception with frames and `context` lines, breadcrumbs,
/// message, request, csp), contexts, tags, user, sdk, packages, errors.
pub fn represent_event(event: &Value, links: &EventLinks) -> Value {
    represent::represent(event, links)
}
