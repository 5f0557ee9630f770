//! A validating scan of an event payload at ingest: checks that it is well-formed
//! JSON (valid UTF-8, nesting at most 128 deep, serde_json's limit) and picks out the
//! few fields ingest needs, without building the document.

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

/// What ingest learns from an event payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventProbe {
    /// `event_id`, when present and a valid UUID.
    pub event_id: Option<Uuid>,
    /// `type` (`transaction`, `feedback`, …), when present.
    pub ty: Option<String>,
    /// Whether an `exception` key is present (the event counts as an error).
    pub has_exception: bool,
}

/// The payload is not an acceptable JSON object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid event JSON: {0}")]
pub struct ProbeError(pub String);

#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    event_id: Option<Value>,
    #[serde(default, rename = "type")]
    ty: Option<Value>,
    #[serde(default)]
    exception: Option<IgnoredAny>,
}

/// Deepest nesting of arrays and objects accepted.
pub const MAX_DEPTH: usize = 128;

/// Whether brackets nest deeper than `max` outside of strings.
fn exceeds_depth(json: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in json {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Scans an event (or transaction) payload.
pub fn probe_event(payload: &[u8]) -> Result<EventProbe, ProbeError> {
    let trimmed = payload.trim_ascii_start();
    if trimmed.first() != Some(&b'{') {
        return Err(ProbeError("expected a JSON object".into()));
    }
    // serde_json does not check UTF-8 inside values it skips, so check it up front.
    let text = std::str::from_utf8(payload).map_err(|e| ProbeError(format!("not valid UTF-8 ({e})")))?;
    // Nor does it apply its recursion limit there, so bound nesting ourselves.
    if exceeds_depth(payload, MAX_DEPTH) {
        return Err(ProbeError(format!("nested more than {MAX_DEPTH} levels deep")));
    }
    let probe: Probe = serde_json::from_str(text).map_err(|e| ProbeError(e.to_string()))?;
    Ok(EventProbe {
        event_id: probe.event_id.as_ref().and_then(Value::as_str).and_then(|s| Uuid::try_parse(s).ok()),
        ty: probe.ty.as_ref().and_then(Value::as_str).map(str::to_string),
        has_exception: probe.exception.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_id_and_type() {
        let p =
            probe_event(br#"{"event_id":"9ec79c33-ec99-42ab-8353-589fcb2e04dc","type":"transaction","x":[1,{"y":2}]}"#)
                .unwrap();
        assert_eq!(p.event_id.unwrap().simple().to_string(), "9ec79c33ec9942ab8353589fcb2e04dc");
        assert_eq!(p.ty.as_deref(), Some("transaction"));
        assert!(!p.has_exception);
        assert!(probe_event(br#"{"exception":{"values":[]}}"#).unwrap().has_exception);
        assert_eq!(probe_event(br#"{"event_id":42}"#).unwrap().event_id, None, "lenient about odd ids");
    }

    #[test]
    fn refuses_bad_json() {
        assert!(probe_event(b"[1,2]").is_err());
        assert!(probe_event(b"{\"a\":").is_err());
        assert!(probe_event(b"{\"a\":\"\xff\xfe\"}").unwrap_err().0.contains("UTF-8"));
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(200), "]".repeat(200));
        assert!(probe_event(deep.as_bytes()).unwrap_err().0.contains("nested more than 128"));
        let brackets_in_strings = format!("{{\"a\":\"{}\\\"{}\"}}", "[".repeat(200), "{".repeat(200));
        assert!(probe_event(brackets_in_strings.as_bytes()).is_ok(), "{brackets_in_strings}");
        let ok = format!("{{\"a\":{}{}}}", "[".repeat(100), "]".repeat(100));
        assert!(probe_event(ok.as_bytes()).is_ok());
    }
}
