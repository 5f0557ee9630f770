//! Exceptions: shapes, type/value split, the top-level stack trace moved in, empty
//! exceptions dropped, mechanism flags.

use serde_json::Value;

use crate::message::MAX_MESSAGE_CHARS;
use crate::stacktrace;
use crate::util::{coerce_bool, coerce_string, truncate_chars, Errors, Object};

/// Normalizes `event.exception` (already shaped `{"values": [...]}` by the legacy step).
pub(crate) fn normalize(event: &mut Object, errors: &mut Errors) {
    let Some(Value::Object(exc)) = event.get_mut("exception") else {
        event.remove("exception");
        return;
    };
    let Some(Value::Array(values)) = exc.get_mut("values") else {
        event.remove("exception");
        return;
    };
    let mut kept = Vec::with_capacity(values.len());
    for (i, value) in std::mem::take(values).into_iter().enumerate() {
        let path = format_args!("exception.values.{i}");
        match value {
            Value::Object(mut e) => {
                if normalize_one(&mut e, path, errors) {
                    kept.push(Value::Object(e));
                }
            }
            Value::Null => {}
            other => errors.invalid(path, other),
        }
    }
    // A single exception takes the top-level stack trace.
    if kept.len() == 1 && kept[0].get("stacktrace").is_none() {
        if let Some(mut st) = event.remove("stacktrace") {
            if stacktrace::normalize(&mut st, "stacktrace", errors) {
                if let Value::Object(e) = &mut kept[0] {
                    e.insert("stacktrace".into(), st);
                }
            }
        }
    }
    if kept.is_empty() {
        event.remove("exception");
    } else if let Some(Value::Object(exc)) = event.get_mut("exception") {
        exc.insert("values".into(), Value::Array(kept));
    }
}

fn normalize_one(e: &mut Object, path: impl std::fmt::Display + Copy, errors: &mut Errors) -> bool {
    for key in ["type", "value", "module"] {
        match e.get(key) {
            None | Some(Value::String(_)) => {}
            Some(Value::Null) => {
                e.remove(key);
            }
            Some(v) => match coerce_string(v) {
                Some(s) => {
                    e.insert(key.into(), Value::String(s));
                }
                None => {
                    if let Some(bad) = e.remove(key) {
                        errors.invalid(format_args!("{path}.{key}"), bad);
                    }
                }
            },
        }
    }
    if let Some(Value::String(v)) = e.get_mut("value") {
        truncate_chars(v, MAX_MESSAGE_CHARS);
    }
    // "Foo: bar" without a type.
    let has_type = matches!(e.get("type"), Some(Value::String(t)) if !t.is_empty());
    if !has_type {
        if let Some(Value::String(v)) = e.get("value") {
            if let Some((ty, rest)) = split_type_value(v) {
                let (ty, rest) = (ty.to_string(), rest.to_string());
                e.insert("type".into(), Value::String(ty));
                e.insert("value".into(), Value::String(rest));
            }
        }
    }
    for key in ["type", "value"] {
        if matches!(e.get(key), Some(Value::String(s)) if s.is_empty()) {
            e.remove(key);
        }
    }
    if !e.contains_key("type") && !e.contains_key("value") {
        return false;
    }
    if let Some(tid) = e.get("thread_id") {
        if !(tid.is_string() || tid.is_number()) {
            e.remove("thread_id");
        }
    }
    match e.get_mut("mechanism") {
        None => {}
        Some(Value::Object(m)) => {
            match m.get("type") {
                Some(Value::String(_)) => {}
                Some(v) if coerce_string(v).is_some() => {
                    let s = coerce_string(v).unwrap_or_default();
                    m.insert("type".into(), Value::String(s));
                }
                _ => {
                    m.insert("type".into(), Value::String("generic".into()));
                }
            }
            for key in ["handled", "synthetic"] {
                if let Some(v) = m.get(key) {
                    match coerce_bool(v) {
                        Some(b) => {
                            m.insert(key.into(), Value::Bool(b));
                        }
                        None => {
                            m.remove(key);
                        }
                    }
                }
            }
        }
        Some(Value::String(s)) => {
            let mut m = Object::new();
            m.insert("type".into(), Value::String(std::mem::take(s)));
            e.insert("mechanism".into(), Value::Object(m));
        }
        Some(_) => {
            if let Some(bad) = e.remove("mechanism") {
                if !bad.is_null() {
                    errors.invalid(format_args!("{path}.mechanism"), bad);
                }
            }
        }
    }
    for key in ["stacktrace", "raw_stacktrace"] {
        if let Some(st) = e.get_mut(key) {
            if !stacktrace::normalize(st, format_args!("{path}.{key}"), errors) {
                e.remove(key);
            }
        }
    }
    true
}

/// `"ValueError: bad"` → `("ValueError", "bad")`; the prefix must be a word (`^\w+:`).
fn split_type_value(v: &str) -> Option<(&str, &str)> {
    let colon = v.find(':')?;
    let ty = &v[..colon];
    if ty.is_empty() || !ty.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return None;
    }
    Some((ty, v[colon + 1..].trim_start()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn norm(event: Value) -> (Value, Vec<Value>) {
        let mut o = event.as_object().cloned().unwrap();
        let mut e = Errors::default();
        normalize(&mut o, &mut e);
        (Value::Object(o), e.list)
    }

    #[test]
    fn splits_type_and_value() {
        let (ev, _) = norm(json!({"exception": {"values": [{"value": "ZeroDivisionError: division by zero"}]}}));
        assert_eq!(ev["exception"]["values"][0], json!({"type": "ZeroDivisionError", "value": "division by zero"}));
        let (ev, _) = norm(json!({"exception": {"values": [{"value": "not a type: x y"}]}}));
        assert_eq!(ev["exception"]["values"][0], json!({"value": "not a type: x y"}));
        let (ev, _) = norm(json!({"exception": {"values": [{"type": "T", "value": "A: b"}]}}));
        assert_eq!(ev["exception"]["values"][0]["value"], "A: b");
    }

    #[test]
    fn drops_empty_and_moves_stacktrace() {
        let (ev, errs) = norm(json!({
            "exception": {"values": [{}, {"type": "", "value": ""}, 3, {"type": "E", "value": 42}]},
            "stacktrace": {"frames": [{"function": "f", "filename": "a.py"}]}
        }));
        let values = ev["exception"]["values"].as_array().unwrap();
        assert_eq!(values.len(), 1);
        assert_eq!(values[0]["value"], "42");
        assert_eq!(values[0]["stacktrace"]["frames"][0]["function"], "f");
        assert!(ev.get("stacktrace").is_none());
        assert_eq!(errs.len(), 1);
        let (ev, _) = norm(json!({"exception": {"values": [{}]}}));
        assert!(ev.get("exception").is_none());
    }

    #[test]
    fn mechanism() {
        let (ev, _) = norm(json!({"exception": {"values": [
            {"type": "A", "mechanism": {"handled": "false", "synthetic": 1}},
            {"type": "B", "mechanism": "onerror"},
        ]}}));
        assert_eq!(
            ev["exception"]["values"][0]["mechanism"],
            json!({"type": "generic", "handled": false, "synthetic": true})
        );
        assert_eq!(ev["exception"]["values"][1]["mechanism"], json!({"type": "onerror"}));
    }
}
