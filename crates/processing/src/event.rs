//! Finishing an error, message or CSP event: type, title, culprit, metadata, grouping,
//! tags and search text, written into the normalized document.

use serde_json::Value;

use crate::normalize::Normalized;
use crate::util::{basename, Object};
use crate::{fields, grouping, tags, time, title, EventType, GroupingStrategy, ProcessedEvent, SearchText};

/// How many distinct file names go into the search text.
const MAX_SEARCH_FILENAMES: usize = 5;

/// Builds the [`ProcessedEvent`] from a normalized event.
pub(crate) fn finish(n: Normalized, security: bool, strategy: GroupingStrategy) -> ProcessedEvent {
    let Normalized { mut event, event_id, timestamp, tags: own_tags, errors, .. } = n;
    let ty = title::event_type(&event, security);
    let summary = title::summarize(&event, ty);
    let hashes = grouping::hashes(&event, strategy, ty, &summary.title, &summary.culprit);
    let tags = tags::build(&event, own_tags, false);
    let user_key = tags::user_tag(&event);
    let level = event.get("level").and_then(Value::as_str).map_or(4, fields::level_number);
    let release = event.get("release").and_then(Value::as_str).map(str::to_owned);
    let environment = event.get("environment").and_then(Value::as_str).map(str::to_owned);
    let search = SearchText {
        title: summary.title.clone(),
        culprit: summary.culprit.clone(),
        message: search_message(&event),
        filenames: search_filenames(&event),
    };
    let type_name = match ty {
        EventType::Default => "default",
        EventType::Error => "error",
        EventType::Csp => "csp",
    };
    event.insert("type".into(), Value::String(type_name.into()));
    event.insert("title".into(), Value::String(summary.title.clone()));
    event.insert("culprit".into(), Value::String(summary.culprit.clone()));
    event.insert("metadata".into(), Value::Object(summary.metadata.clone()));
    event.insert("hashes".into(), Value::Array(hashes.iter().cloned().map(Value::String).collect()));
    event.insert("tags".into(), tags.to_value());
    event.insert("errors".into(), Value::Array(errors.list));
    ProcessedEvent {
        event_id,
        event: Value::Object(event),
        ty,
        level,
        title: summary.title,
        culprit: summary.culprit,
        metadata: Value::Object(summary.metadata),
        hashes,
        timestamp: time::to_datetime(timestamp),
        release,
        environment,
        tags: tags.0,
        user_key,
        search,
    }
}

fn exceptions(event: &Object) -> &[Value] {
    event.get("exception").and_then(|e| e.get("values")).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// The formatted message, then the exception values.
fn search_message(event: &Object) -> String {
    let mut parts: Vec<&str> = Vec::new();
    if let Some(f) = event.get("logentry").and_then(|l| l.get("formatted")).and_then(Value::as_str) {
        parts.push(f);
    }
    for e in exceptions(event) {
        if let Some(v) = e.get("value").and_then(Value::as_str) {
            parts.push(v);
        }
    }
    parts.join(" ")
}

/// Distinct file basenames of the stack frames, crash frames first.
fn search_filenames(event: &Object) -> String {
    let mut names: Vec<&str> = Vec::new();
    'outer: for e in exceptions(event).iter().rev() {
        let Some(frames) = e.get("stacktrace").and_then(|s| s.get("frames")).and_then(Value::as_array) else {
            continue;
        };
        for f in frames.iter().rev() {
            let Some(name) = f.get("filename").or_else(|| f.get("abs_path")).and_then(Value::as_str) else { continue };
            let base = basename(name);
            if !base.is_empty() && !names.contains(&base) {
                names.push(base);
                if names.len() >= MAX_SEARCH_FILENAMES {
                    break 'outer;
                }
            }
        }
    }
    names.join(" ")
}
