//! Sentry's event-detail JSON (`/api/0/…/events/<id>/`) from a stored normalized event.
//!
//! Objects are built in bulk from their entries (listed in key order, so that building
//! the B-tree costs no sorting), and each frame and breadcrumb is read in one pass over
//! its fields.

use serde_json::{Map, Value};

use crate::time;
use crate::util::Object;
use crate::EventLinks;

/// Builds an object from `(key, value)` pairs with distinct keys (best in key order).
fn obj<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn cloned(v: Option<&Value>) -> Value {
    v.cloned().unwrap_or(Value::Null)
}

fn str_or_null(v: Option<&Value>) -> Value {
    match v {
        Some(Value::String(s)) => Value::String(s.clone()),
        _ => Value::Null,
    }
}

fn time_string(v: Option<&Value>) -> Value {
    v.and_then(time::parse).map_or(Value::Null, |m| Value::String(time::to_api_string(m)))
}

fn object_or_empty(v: Option<&Value>) -> Value {
    match v {
        Some(Value::Object(o)) => Value::Object(o.clone()),
        _ => Value::Object(Map::new()),
    }
}

/// Builds the representation. Never fails: missing or odd fields become nulls.
pub(crate) fn represent(event: &Value, links: &EventLinks) -> Value {
    let empty = Object::new();
    let ev = event.as_object().unwrap_or(&empty);
    let get = |k: &str| ev.get(k);
    let event_id = get("event_id").and_then(Value::as_str).unwrap_or("").replace('-', "").to_lowercase();
    let title = get("title").and_then(Value::as_str).unwrap_or("<untitled>").to_string();
    let metadata = match get("metadata") {
        Some(Value::Object(m)) => Value::Object(m.clone()),
        _ => obj([("title", Value::String(title.clone()))]),
    };
    let formatted = get("logentry").and_then(|l| l.get("formatted")).and_then(Value::as_str);
    let message = formatted.unwrap_or(title.as_str()).to_string();
    let date_received = links
        .received
        .map(|r| Value::String(time::to_api_string(r.timestamp_micros())))
        .unwrap_or_else(|| time_string(get("received")));
    let tags: Vec<Value> = match get("tags") {
        Some(Value::Array(pairs)) => pairs
            .iter()
            .filter_map(|p| match p {
                Value::Array(kv) if kv.len() == 2 => Some(obj([("key", kv[0].clone()), ("value", kv[1].clone())])),
                _ => None,
            })
            .collect(),
        Some(Value::Object(map)) => {
            map.iter().map(|(k, v)| obj([("key", Value::String(k.clone())), ("value", v.clone())])).collect()
        }
        _ => Vec::new(),
    };
    let release = match get("release") {
        Some(Value::String(r)) => {
            obj([("shortVersion", Value::String(r.clone())), ("version", Value::String(r.clone()))])
        }
        _ => Value::Null,
    };
    let user = match get("user") {
        Some(Value::Object(u)) if !u.is_empty() => {
            // The user's own fields first: on a duplicate key the last entry wins, so the
            // fixed fields below take precedence.
            let mut entries: Vec<(String, Value)> = Vec::with_capacity(u.len() + 6);
            entries.extend(u.iter().map(|(k, v)| (k.clone(), v.clone())));
            for key in ["email", "id", "ip_address", "name", "username"] {
                entries.push((key.into(), str_or_null(u.get(key))));
            }
            entries.push(("data".into(), object_or_empty(u.get("data"))));
            Value::Object(entries.into_iter().collect())
        }
        _ => Value::Null,
    };
    let sdk = match get("sdk") {
        Some(Value::Object(s)) => Value::Object(s.clone()),
        _ => Value::Null,
    };
    let location =
        get("metadata").and_then(|m| m.get("filename")).cloned().filter(Value::is_string).unwrap_or(Value::Null);
    let fingerprints = match get("hashes") {
        Some(Value::Array(h)) => Value::Array(h.iter().filter(|x| x.is_string()).cloned().collect()),
        _ => Value::Array(Vec::new()),
    };
    let errors = match get("errors") {
        Some(Value::Array(e)) => Value::Array(e.clone()),
        _ => Value::Array(Vec::new()),
    };
    obj([
        ("context", object_or_empty(get("extra"))),
        ("contexts", object_or_empty(get("contexts"))),
        ("crashFile", Value::Null),
        ("culprit", Value::String(get("culprit").and_then(Value::as_str).unwrap_or("").to_string())),
        ("dateCreated", time_string(get("timestamp"))),
        ("dateReceived", date_received),
        ("dist", str_or_null(get("dist"))),
        ("entries", Value::Array(entries(ev))),
        ("environment", str_or_null(get("environment"))),
        ("errors", errors),
        ("eventID", Value::String(event_id.clone())),
        ("fingerprints", fingerprints),
        ("groupID", Value::String(links.issue_id.to_string())),
        ("id", Value::String(event_id)),
        ("location", location),
        ("message", Value::String(message)),
        ("metadata", metadata),
        ("nextEventID", links.next_event_id.clone().map_or(Value::Null, Value::String)),
        ("packages", object_or_empty(get("modules"))),
        ("platform", str_or_null(get("platform"))),
        ("previousEventID", links.previous_event_id.clone().map_or(Value::Null, Value::String)),
        ("projectID", Value::String(links.project_id.to_string())),
        ("release", release),
        ("sdk", sdk),
        ("tags", Value::Array(tags)),
        ("title", Value::String(title)),
        ("type", Value::String(get("type").and_then(Value::as_str).unwrap_or("default").to_string())),
        ("user", user),
        ("userReport", Value::Null),
    ])
}

/// The entries in the order Sentry returns them: message, exception, breadcrumbs,
/// request, csp.
fn entries(ev: &Object) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(Value::Object(l)) = ev.get("logentry") {
        let mut data = Map::new();
        for key in ["message", "params", "formatted"] {
            if let Some(v) = l.get(key) {
                data.insert(key.into(), v.clone());
            }
        }
        if !data.is_empty() {
            out.push(entry("message", Value::Object(data)));
        }
    }
    if let Some(values) = ev.get("exception").and_then(|e| e.get("values")).and_then(Value::as_array) {
        let values: Vec<Value> = values.iter().map(exception_value).collect();
        let has_system = values.iter().any(|v| v.pointer("/stacktrace/hasSystemFrames") == Some(&Value::Bool(true)));
        if !values.is_empty() {
            let data = obj([
                ("excOmitted", Value::Null),
                ("hasSystemFrames", Value::Bool(has_system)),
                ("values", Value::Array(values)),
            ]);
            out.push(entry("exception", data));
        }
    }
    if let Some(values) = ev.get("breadcrumbs").and_then(|b| b.get("values")).and_then(Value::as_array) {
        let values: Vec<Value> = values.iter().filter_map(Value::as_object).map(breadcrumb).collect();
        if !values.is_empty() {
            out.push(entry("breadcrumbs", obj([("values", Value::Array(values))])));
        }
    }
    if let Some(Value::Object(r)) = ev.get("request") {
        out.push(entry("request", request(r)));
    }
    if let Some(Value::Object(c)) = ev.get("csp") {
        out.push(entry("csp", Value::Object(c.clone())));
    }
    out
}

fn entry(ty: &str, data: Value) -> Value {
    obj([("data", data), ("type", Value::String(ty.to_string()))])
}

fn exception_value(e: &Value) -> Value {
    let st = match e.get("stacktrace") {
        Some(st @ Value::Object(_)) => stacktrace(st),
        _ => Value::Null,
    };
    let raw = match e.get("raw_stacktrace") {
        Some(st @ Value::Object(_)) => stacktrace(st),
        _ => Value::Null,
    };
    obj([
        ("mechanism", cloned(e.get("mechanism"))),
        ("module", str_or_null(e.get("module"))),
        ("rawStacktrace", raw),
        ("stacktrace", st),
        ("threadId", cloned(e.get("thread_id"))),
        ("type", str_or_null(e.get("type"))),
        ("value", str_or_null(e.get("value"))),
    ])
}

fn stacktrace(st: &Value) -> Value {
    let frames: &[Value] = st.get("frames").and_then(Value::as_array).map_or(&[], Vec::as_slice);
    let in_app = frames.iter().filter(|f| f.get("in_app").and_then(Value::as_bool) == Some(true)).count();
    let has_system_frames = in_app > 0 && in_app < frames.len();
    obj([
        ("frames", Value::Array(frames.iter().map(frame).collect())),
        ("framesOmitted", cloned(st.get("frames_omitted"))),
        ("hasSystemFrames", Value::Bool(has_system_frames)),
        ("registers", cloned(st.get("registers"))),
    ])
}

/// The fields of a frame that the representation reads, found in one pass.
#[derive(Default)]
struct FrameFields<'a> {
    filename: Option<&'a Value>,
    abs_path: Option<&'a Value>,
    module: Option<&'a Value>,
    package: Option<&'a Value>,
    platform: Option<&'a Value>,
    instruction_addr: Option<&'a Value>,
    symbol_addr: Option<&'a Value>,
    function: Option<&'a Value>,
    raw_function: Option<&'a Value>,
    symbol: Option<&'a Value>,
    lineno: Option<&'a Value>,
    colno: Option<&'a Value>,
    in_app: Option<&'a Value>,
    trust: Option<&'a Value>,
    vars: Option<&'a Value>,
    pre_context: Option<&'a Value>,
    context_line: Option<&'a Value>,
    post_context: Option<&'a Value>,
}

impl<'a> FrameFields<'a> {
    fn of(f: &'a Value) -> FrameFields<'a> {
        let mut out = FrameFields::default();
        let Value::Object(o) = f else { return out };
        for (k, v) in o {
            let slot = match k.as_str() {
                "filename" => &mut out.filename,
                "abs_path" => &mut out.abs_path,
                "module" => &mut out.module,
                "package" => &mut out.package,
                "platform" => &mut out.platform,
                "instruction_addr" => &mut out.instruction_addr,
                "symbol_addr" => &mut out.symbol_addr,
                "function" => &mut out.function,
                "raw_function" => &mut out.raw_function,
                "symbol" => &mut out.symbol,
                "lineno" => &mut out.lineno,
                "colno" => &mut out.colno,
                "in_app" => &mut out.in_app,
                "trust" => &mut out.trust,
                "vars" => &mut out.vars,
                "pre_context" => &mut out.pre_context,
                "context_line" => &mut out.context_line,
                "post_context" => &mut out.post_context,
                _ => continue,
            };
            *slot = Some(v);
        }
        out
    }
}

fn frame(f: &Value) -> Value {
    let ff = FrameFields::of(f);
    obj([
        ("absPath", cloned(ff.abs_path)),
        ("colNo", cloned(ff.colno)),
        ("context", context(&ff)),
        ("errors", Value::Null),
        ("filename", cloned(ff.filename)),
        ("function", cloned(ff.function)),
        ("inApp", Value::Bool(ff.in_app.and_then(Value::as_bool).unwrap_or(false))),
        ("instructionAddr", cloned(ff.instruction_addr)),
        ("lineNo", cloned(ff.lineno)),
        ("module", cloned(ff.module)),
        ("package", cloned(ff.package)),
        ("platform", cloned(ff.platform)),
        ("rawFunction", cloned(ff.raw_function)),
        ("symbol", cloned(ff.symbol)),
        ("symbolAddr", cloned(ff.symbol_addr)),
        ("trust", cloned(ff.trust)),
        ("vars", cloned(ff.vars)),
    ])
}

/// `[[lineno, line], …]` from `pre_context`, `context_line` and `post_context`.
fn context(f: &FrameFields<'_>) -> Value {
    fn lines(v: Option<&Value>) -> &[Value] {
        v.and_then(Value::as_array).map_or(&[], Vec::as_slice)
    }
    let Some(lineno) = f.lineno.and_then(Value::as_i64) else { return Value::Array(Vec::new()) };
    let pre = lines(f.pre_context);
    let post = lines(f.post_context);
    let line = f.context_line;
    if line.is_none() && pre.is_empty() && post.is_empty() {
        return Value::Array(Vec::new());
    }
    let start = lineno - pre.len() as i64;
    let mut out = Vec::with_capacity(pre.len() + post.len() + 1);
    for (n, l) in (start..).zip(pre.iter().chain(line).chain(post)) {
        out.push(Value::Array(vec![Value::from(n), l.clone()]));
    }
    Value::Array(out)
}

fn breadcrumb(b: &Object) -> Value {
    let (mut timestamp, mut ty, mut category, mut level, mut message, mut data, mut event_id) =
        (None, None, None, None, None, None, None);
    for (k, v) in b {
        let slot = match k.as_str() {
            "timestamp" => &mut timestamp,
            "type" => &mut ty,
            "category" => &mut category,
            "level" => &mut level,
            "message" => &mut message,
            "data" => &mut data,
            "event_id" => &mut event_id,
            _ => continue,
        };
        *slot = Some(v);
    }
    let data = match data {
        Some(Value::Object(d)) if !d.is_empty() => Value::Object(d.clone()),
        _ => Value::Null,
    };
    let s = |v: Option<&Value>, default: &str| Value::String(v.and_then(Value::as_str).unwrap_or(default).to_string());
    obj([
        ("category", str_or_null(category)),
        ("data", data),
        ("event_id", str_or_null(event_id)),
        ("level", s(level, "info")),
        ("message", str_or_null(message)),
        ("timestamp", time_string(timestamp)),
        ("type", s(ty, "default")),
    ])
}

fn request(r: &Object) -> Value {
    let list = |k: &str| match r.get(k) {
        Some(Value::Array(a)) => Value::Array(a.clone()),
        _ => Value::Array(Vec::new()),
    };
    let env = match r.get("env") {
        Some(Value::Object(e)) => Value::Object(e.clone()),
        _ => Value::Null,
    };
    obj([
        ("cookies", list("cookies")),
        ("data", cloned(r.get("data"))),
        ("env", env),
        ("fragment", Value::String(r.get("fragment").and_then(Value::as_str).unwrap_or("").to_string())),
        ("headers", list("headers")),
        ("inferredContentType", str_or_null(r.get("inferred_content_type"))),
        ("method", str_or_null(r.get("method"))),
        ("query", list("query_string")),
        ("url", str_or_null(r.get("url"))),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn context_lines() {
        let f = json!({"lineno": 10, "pre_context": ["a", "b"], "context_line": "c", "post_context": ["d"]});
        let ctx = |f: &Value| context(&FrameFields::of(f));
        assert_eq!(ctx(&f), json!([[8, "a"], [9, "b"], [10, "c"], [11, "d"]]));
        assert_eq!(ctx(&json!({"lineno": 3})), json!([]));
        assert_eq!(ctx(&json!({"context_line": "x"})), json!([]));
    }

    #[test]
    fn odd_input_is_tolerated() {
        for v in [json!(null), json!([1]), json!({"exception": 5, "breadcrumbs": {"values": [1, {}]}, "tags": "x"})] {
            let r = represent(&v, &EventLinks::default());
            assert!(r["entries"].is_array());
        }
    }

    #[test]
    fn system_frames() {
        let st = json!({"frames": [{"in_app": true}, {"in_app": false}]});
        assert_eq!(stacktrace(&st)["hasSystemFrames"], true);
        let st = json!({"frames": [{"in_app": false}, {}]});
        assert_eq!(stacktrace(&st)["hasSystemFrames"], false);
    }
}
