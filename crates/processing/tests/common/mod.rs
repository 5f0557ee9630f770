//! Shared helpers for the integration tests.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use faultline_processing::{EventContext, GroupingStrategy, Processor};
use serde_json::Value;

/// One processor for all tests (the user-agent parser is built once).
pub static PROCESSOR: LazyLock<Processor> = LazyLock::new(Processor::new);

/// `tests/fixtures/glitchtip/<rel>`.
pub fn fixture_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/glitchtip").join(rel)
}

/// The fixture's bytes.
pub fn fixture_bytes(rel: &str) -> Vec<u8> {
    std::fs::read(fixture_path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The fixture as JSON.
pub fn fixture_json(rel: &str) -> Value {
    serde_json::from_slice(&fixture_bytes(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Parses an RFC 3339 time.
pub fn time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{s}: {e}")).with_timezone(&Utc)
}

/// A context received at `received`, with data scrubbing on (the project default) and
/// IP scrubbing off.
pub fn ctx(received: DateTime<Utc>) -> EventContext<'static> {
    EventContext {
        received,
        sent_at: None,
        client_ip: None,
        sdk_client: None,
        fallback_event_id: None,
        scrub_ip: false,
        scrub_data: true,
        grouping: GroupingStrategy::Default,
    }
}

/// GlitchTip's test normalization of titles: Sentry cuts with `...`, GlitchTip with `…`.
pub fn upgrade_title(value: &str) -> String {
    if value.ends_with('…') {
        let chars: Vec<char> = value.chars().collect();
        return chars[..chars.len().saturating_sub(3)].iter().collect();
    }
    value.trim_matches('.').to_string()
}
