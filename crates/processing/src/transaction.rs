//! Transactions: normalized like events, plus name, op, method, trace id, status and
//! start/end times.

use serde_json::Value;

use crate::normalize::Normalized;
use crate::{tags, time, ProcessedTransaction};

/// The name used when a transaction has none.
const UNLABELED: &str = "<unlabeled transaction>";

/// Builds the [`ProcessedTransaction`] from a normalized transaction.
pub(crate) fn finish(n: Normalized) -> ProcessedTransaction {
    let Normalized { mut event, event_id, timestamp, start_timestamp, tags: own_tags, errors } = n;
    let name =
        event.get("transaction").and_then(Value::as_str).filter(|s| !s.is_empty()).unwrap_or(UNLABELED).to_string();
    event.insert("transaction".into(), Value::String(name.clone()));
    event.insert("type".into(), Value::String("transaction".into()));
    let trace = event.get("contexts").and_then(|c| c.get("trace"));
    let trace_str = |k: &str| trace.and_then(|t| t.get(k)).and_then(Value::as_str).filter(|s| !s.is_empty());
    let op = trace_str("op").unwrap_or("").to_string();
    let trace_id = trace_str("trace_id").map(str::to_owned);
    let status = trace_str("status").unwrap_or("ok").to_string();
    let method = event.get("request").and_then(|r| r.get("method")).and_then(Value::as_str).unwrap_or("").to_string();
    let start = start_timestamp.unwrap_or(timestamp);
    let end = timestamp.max(start);
    let tags = tags::build(&event, own_tags, true);
    event.insert("tags".into(), tags.to_value());
    event.insert("errors".into(), Value::Array(errors.list));
    let release = event.get("release").and_then(Value::as_str).map(str::to_owned);
    let environment = event.get("environment").and_then(Value::as_str).map(str::to_owned);
    ProcessedTransaction {
        event_id,
        event: Value::Object(event),
        name,
        op,
        method,
        trace_id,
        status,
        start: time::to_datetime(start),
        end: time::to_datetime(end),
        release,
        environment,
        tags: tags.0,
    }
}
