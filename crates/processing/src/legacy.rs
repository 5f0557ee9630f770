//! Legacy shapes: `sentry.interfaces.*` keys, bare lists for `exception`,
//! `breadcrumbs` and `threads`, single objects where lists belong.

use serde_json::Value;

use crate::util::{Errors, Object};

const ALIASES: [(&str, &str); 11] = [
    ("sentry.interfaces.Exception", "exception"),
    ("sentry.interfaces.Message", "logentry"),
    ("sentry.interfaces.Http", "request"),
    ("sentry.interfaces.User", "user"),
    ("sentry.interfaces.Stacktrace", "stacktrace"),
    ("sentry.interfaces.Breadcrumbs", "breadcrumbs"),
    ("sentry.interfaces.Template", "template"),
    ("sentry.interfaces.Csp", "csp"),
    ("sentry.interfaces.Threads", "threads"),
    ("sentry.interfaces.DebugMeta", "debug_meta"),
    ("sentry.interfaces.Contexts", "contexts"),
];

/// Moves legacy interface keys to their modern names (a modern key already present wins).
pub(crate) fn convert(event: &mut Object, errors: &mut Errors) {
    // All aliases share the prefix: one pass over the keys instead of a lookup per alias.
    let aliased = event.keys().any(|k| k.starts_with("sentry.interfaces."));
    for &(old, new) in ALIASES.iter().filter(|_| aliased) {
        if let Some(v) = event.remove(old) {
            if !event.contains_key(new) || event.get(new).is_some_and(Value::is_null) {
                event.insert(new.into(), v);
            }
        }
    }
    for key in ["exception", "breadcrumbs", "threads"] {
        wrap_values(event, key, errors);
    }
}

/// `key: [..]` → `key: {"values": [..]}`; a single exception object (with `type` or
/// `value`) is wrapped too; `values` must be a list.
fn wrap_values(event: &mut Object, key: &str, errors: &mut Errors) {
    // Already `{"values": [...]}` with some values: stays as it is.
    if let Some(Value::Object(o)) = event.get(key) {
        if matches!(o.get("values"), Some(Value::Array(list)) if !list.is_empty()) {
            return;
        }
    }
    let Some(v) = event.remove(key) else { return };
    let wrapped = match v {
        Value::Null => return,
        Value::Array(list) => {
            if list.is_empty() {
                return;
            }
            let mut o = Object::new();
            o.insert("values".into(), Value::Array(list));
            o
        }
        Value::Object(mut o) => match o.get("values") {
            Some(Value::Array(list)) => {
                if list.is_empty() {
                    return;
                }
                o
            }
            Some(Value::Null) | None => {
                if key == "exception" && (o.contains_key("type") || o.contains_key("value")) {
                    let mut w = Object::new();
                    w.insert("values".into(), Value::Array(vec![Value::Object(o)]));
                    w
                } else {
                    return;
                }
            }
            Some(_) => {
                if let Some(bad) = o.remove("values") {
                    errors.invalid(format_args!("{key}.values"), bad);
                }
                return;
            }
        },
        other => {
            errors.invalid(key, other);
            return;
        }
    };
    event.insert(key.into(), Value::Object(wrapped));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn conv(v: Value) -> (Value, Vec<Value>) {
        let mut o = v.as_object().cloned().unwrap();
        let mut e = Errors::default();
        convert(&mut o, &mut e);
        (Value::Object(o), e.list)
    }

    #[test]
    fn aliases() {
        let (ev, _) = conv(json!({
            "sentry.interfaces.Exception": {"values": [{"type": "E"}]},
            "sentry.interfaces.Message": {"message": "m"},
            "sentry.interfaces.Http": {"url": "http://x"},
            "sentry.interfaces.User": {"id": 1},
            "sentry.interfaces.Stacktrace": {"frames": []},
            "user": {"id": 2},
        }));
        assert_eq!(ev["exception"]["values"][0]["type"], "E");
        assert_eq!(ev["logentry"]["message"], "m");
        assert_eq!(ev["request"]["url"], "http://x");
        assert_eq!(ev["user"]["id"], 2, "the modern key wins");
        assert!(ev.get("stacktrace").is_some());
        assert!(ev.as_object().unwrap().keys().all(|k| !k.starts_with("sentry.interfaces")));
    }

    #[test]
    fn bare_lists() {
        let (ev, errs) = conv(json!({
            "exception": [{"type": "A"}],
            "breadcrumbs": {"values": "nope"},
            "threads": 5,
        }));
        assert_eq!(ev["exception"], json!({"values": [{"type": "A"}]}));
        assert!(ev.get("breadcrumbs").is_none());
        assert!(ev.get("threads").is_none());
        assert_eq!(
            errs,
            vec![
                json!({"type": "invalid_data", "name": "breadcrumbs.values", "value": "nope"}),
                json!({"type": "invalid_data", "name": "threads", "value": 5}),
            ]
        );
        let (ev, _) = conv(json!({"exception": {"type": "A", "value": "b"}, "breadcrumbs": []}));
        assert_eq!(ev["exception"], json!({"values": [{"type": "A", "value": "b"}]}));
        assert!(ev.get("breadcrumbs").is_none());
    }
}
