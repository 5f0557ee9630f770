//! Stack traces: frame shapes, `filename`/`abs_path`, `in_app` defaults, frame limits.

use std::sync::LazyLock;

use serde_json::Value;

use crate::trim;
use crate::util::{coerce_bool, coerce_i64, coerce_string, url_path, Errors, Object};

/// Frames kept per stack trace; the middle ones are dropped beyond this.
pub(crate) const MAX_FRAMES: usize = 250;

const STRING_FIELDS: [&str; 14] = [
    "filename",
    "abs_path",
    "function",
    "raw_function",
    "module",
    "package",
    "platform",
    "context_line",
    "symbol",
    "instruction_addr",
    "symbol_addr",
    "image_addr",
    "addr_mode",
    "source_link",
];

/// The frame fields of Sentry's event protocol: those of its event schema's `Frame`, plus
/// Relay's `data`, `trust` and `source_link`, which the schema leaves out. Other keys
/// (such as the .NET SDK's `instruction_offset`) are dropped, as Sentry drops them.
const FRAME_FIELDS: [&str; 25] = [
    "abs_path",
    "addr_mode",
    "colno",
    "context_line",
    "filename",
    "function",
    "function_id",
    "image_addr",
    "in_app",
    "instruction_addr",
    "lineno",
    "lock",
    "module",
    "package",
    "platform",
    "post_context",
    "pre_context",
    "raw_function",
    "stack_start",
    "symbol",
    "symbol_addr",
    "vars",
    "data",
    "trust",
    "source_link",
];

/// Normalizes a stack trace object in place (`path` names it in errors). Returns
/// false when it is unusable (not an object, or no frames) and should be dropped.
pub(crate) fn normalize(st: &mut Value, path: impl std::fmt::Display + Copy, errors: &mut Errors) -> bool {
    let Value::Object(obj) = st else {
        if !st.is_null() {
            errors.invalid(path, st.clone());
        }
        return false;
    };
    // Bare list of frames is not valid; `frames` must be a list.
    match obj.get_mut("frames") {
        Some(Value::Array(_)) => {}
        Some(Value::Null) | None => return false,
        Some(_) => {
            if let Some(bad) = obj.remove("frames") {
                errors.invalid(format_args!("{path}.frames"), bad);
            }
            return false;
        }
    }
    let Some(Value::Array(frames)) = obj.get_mut("frames") else { return false };
    let mut kept = Vec::with_capacity(frames.len());
    for (i, frame) in std::mem::take(frames).into_iter().enumerate() {
        match frame {
            Value::Object(mut f) => {
                normalize_frame(&mut f, path, i, errors);
                kept.push(Value::Object(f));
            }
            Value::Null => {}
            other => errors.invalid(format_args!("{path}.frames.{i}"), other),
        }
    }
    if kept.is_empty() {
        return false;
    }
    set_in_app_defaults(&mut kept);
    if kept.len() > MAX_FRAMES {
        let total = kept.len();
        let head = MAX_FRAMES / 2;
        let tail = MAX_FRAMES - head;
        kept.drain(head..total - tail);
        obj.insert("frames_omitted".into(), Value::Array(vec![head.into(), (total - tail).into()]));
    }
    obj.insert("frames".into(), Value::Array(kept));
    if !matches!(obj.get("registers"), None | Some(Value::Object(_))) {
        obj.remove("registers");
    }
    true
}

fn normalize_frame(f: &mut Object, path: impl std::fmt::Display + Copy, i: usize, errors: &mut Errors) {
    if !normalize_frame_fast(f) {
        normalize_frame_general(f, path, i, errors);
    }
    if f.keys().any(|k| !FRAME_FIELDS.contains(&k.as_str())) {
        f.retain(|k, _| FRAME_FIELDS.contains(&k.as_str()));
    }
}

/// One frame object, of any shape.
fn normalize_frame_general(f: &mut Object, path: impl std::fmt::Display + Copy, i: usize, errors: &mut Errors) {
    for key in STRING_FIELDS {
        match f.get(key) {
            None | Some(Value::String(_)) => {}
            Some(Value::Number(_) | Value::Bool(_)) => {
                let s = coerce_string(&f[key]).unwrap_or_default();
                f.insert(key.into(), Value::String(s));
            }
            Some(Value::Null) => {
                f.remove(key);
            }
            Some(_) => {
                if let Some(bad) = f.remove(key) {
                    errors.invalid(format_args!("{path}.frames.{i}.{key}"), bad);
                }
            }
        }
    }
    for key in ["lineno", "colno"] {
        if let Some(v) = f.get(key) {
            match coerce_i64(v) {
                Some(n) if n >= 0 => {
                    f.insert(key.into(), n.into());
                }
                _ => {
                    if let Some(bad) = f.remove(key) {
                        if !bad.is_null() {
                            errors.invalid(format_args!("{path}.frames.{i}.{key}"), bad);
                        }
                    }
                }
            }
        }
    }
    for key in ["in_app", "stack_start"] {
        if let Some(v) = f.get(key) {
            match coerce_bool(v) {
                Some(b) => {
                    f.insert(key.into(), Value::Bool(b));
                }
                None => {
                    f.remove(key);
                }
            }
        }
    }
    for key in ["pre_context", "post_context"] {
        match f.get_mut(key) {
            None => {}
            Some(Value::Array(lines)) => {
                for line in lines.iter_mut() {
                    if !line.is_string() {
                        *line = Value::String(coerce_string(line).unwrap_or_default());
                    }
                    if let Value::String(s) = line {
                        trim::context_line(s);
                    }
                }
            }
            Some(_) => {
                f.remove(key);
            }
        }
    }
    if let Some(Value::String(s)) = f.get_mut("context_line") {
        trim::context_line(s);
    }
    match f.get_mut("vars") {
        None | Some(Value::Object(_)) => {}
        Some(Value::Array(a)) => {
            let obj: Object = std::mem::take(a).into_iter().enumerate().map(|(i, v)| (i.to_string(), v)).collect();
            f.insert("vars".into(), Value::Object(obj));
        }
        Some(Value::Null) => {
            f.remove("vars");
        }
        Some(_) => {
            if let Some(bad) = f.remove("vars") {
                errors.invalid(format_args!("{path}.frames.{i}.vars"), bad);
            }
        }
    }
    if let Some(vars) = f.get_mut("vars") {
        trim::databag(vars, trim::FRAME_VARS);
    }
    // filename <-> abs_path, URL filenames to their path.
    let filename = f.get("filename").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
    let abs_path = f.get("abs_path").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
    match (&filename, &abs_path) {
        (Some(fname), None) => {
            f.insert("abs_path".into(), Value::String(fname.clone()));
        }
        (None, Some(abs)) => {
            f.insert("filename".into(), Value::String(abs.clone()));
        }
        _ => {}
    }
    if let Some(Value::String(fname)) = f.get_mut("filename") {
        url_path_in_place(fname);
    }
}

/// Whether every known field of a frame already has its normalized type, so that
/// normalizing changes no field's type and records no error.
fn is_well_formed(f: &Object) -> bool {
    f.iter().all(|(k, v)| match k.as_str() {
        "lineno" | "colno" => matches!(v, Value::Number(n) if n.as_u64().is_some_and(|n| i64::try_from(n).is_ok())),
        "in_app" | "stack_start" => v.is_boolean(),
        "pre_context" | "post_context" => matches!(v, Value::Array(lines) if lines.iter().all(Value::is_string)),
        "vars" => v.is_object(),
        k if STRING_FIELDS.contains(&k) => v.is_string(),
        _ => true,
    })
}

/// Normalizes a well-formed frame (see [`is_well_formed`]) with one pass over its fields,
/// as the general path would; returns false, having changed nothing, for any other.
fn normalize_frame_fast(f: &mut Object) -> bool {
    if !is_well_formed(f) {
        return false;
    }
    let (mut filename, mut abs_path) = (None, None);
    for (k, v) in f.iter_mut() {
        match (k.as_str(), v) {
            ("pre_context" | "post_context", Value::Array(lines)) => {
                for line in lines {
                    if let Value::String(s) = line {
                        trim::context_line(s);
                    }
                }
            }
            ("context_line", Value::String(s)) => trim::context_line(s),
            ("vars", vars) => trim::databag(vars, trim::FRAME_VARS),
            ("filename", Value::String(s)) => filename = Some(s),
            ("abs_path", Value::String(s)) => abs_path = Some(s),
            _ => {}
        }
    }
    // filename <-> abs_path (a missing or empty one takes the other), URL filenames to
    // their path.
    let fname_set = filename.as_ref().is_some_and(|s| !s.is_empty());
    let abs_set = abs_path.as_ref().is_some_and(|s| !s.is_empty());
    let mut insert = None;
    match (filename, abs_path) {
        (Some(fname), abs) if fname_set && !abs_set => {
            match abs {
                Some(a) => a.clone_from(fname),
                None => insert = Some(("abs_path", fname.clone())),
            }
            url_path_in_place(fname);
        }
        (fname, Some(abs)) if abs_set && !fname_set => match fname {
            Some(fname) => {
                fname.clone_from(abs);
                url_path_in_place(fname);
            }
            None => {
                let mut copy = abs.clone();
                url_path_in_place(&mut copy);
                insert = Some(("filename", copy));
            }
        },
        (Some(fname), _) => url_path_in_place(fname),
        (None, _) => {}
    }
    if let Some((key, value)) = insert {
        f.insert(key.into(), Value::String(value));
    }
    true
}

/// A URL file name becomes its path.
fn url_path_in_place(fname: &mut String) {
    if let Some(p) = url_path(fname) {
        if !p.is_empty() {
            *fname = p.to_string();
        }
    }
}

/// `in_app` defaults: frames under library paths are not in-app; when the SDK sent no
/// `in_app` at all for the stack trace, the other frames are in-app. SDK values stay.
fn set_in_app_defaults(frames: &mut [Value]) {
    let any_set = frames.iter().any(|f| f.get("in_app").is_some_and(Value::is_boolean));
    for frame in frames.iter_mut() {
        let Value::Object(f) = frame else { continue };
        if f.get("in_app").is_some_and(Value::is_boolean) {
            continue;
        }
        let library = ["abs_path", "filename", "module"]
            .iter()
            .filter_map(|k| f.get(*k).and_then(Value::as_str))
            .any(is_library_path);
        if library {
            f.insert("in_app".into(), Value::Bool(false));
        } else if !any_set {
            f.insert("in_app".into(), Value::Bool(true));
        }
    }
}

/// Whether a path points into third-party or standard-library code.
pub(crate) fn is_library_path(path: &str) -> bool {
    const MARKERS: [&str; 14] = [
        "site-packages/",
        "dist-packages/",
        "node_modules/",
        "/usr/lib/",
        "/usr/local/lib/",
        "vendor/",
        "/gems/",
        "<frozen",
        "/lib/python",
        "/.cargo/registry/",
        "/rustc/",
        "/go/pkg/mod/",
        "/usr/local/go/src/",
        "webpack/bootstrap",
    ];
    // Every marker holds a `/` (a `\\` becomes one) or a `<`.
    if !path.bytes().any(|b| matches!(b, b'/' | b'\\' | b'<')) {
        return false;
    }
    static SEARCH: LazyLock<Option<aho_corasick::packed::Searcher>> =
        LazyLock::new(|| aho_corasick::packed::Config::new().builder().extend(MARKERS).build());
    let any = |p: &str| match &*SEARCH {
        Some(searcher) => searcher.find(p).is_some(),
        None => MARKERS.iter().any(|m| p.contains(m)),
    };
    if path.contains('\\') {
        any(&path.replace('\\', "/"))
    } else {
        any(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn norm(st: Value) -> Value {
        let mut st = st;
        let mut e = Errors::default();
        assert!(normalize(&mut st, "stacktrace", &mut e));
        st
    }

    #[test]
    fn filename_and_abs_path() {
        let st = norm(json!({"frames": [
            {"filename": "http://127.0.0.1:8080/dist/bundle.js", "function": "?", "lineno": "2", "colno": 7},
            {"abs_path": "/srv/app/views.py"},
            {"filename": "a.py", "abs_path": "/x/a.py"},
        ]}));
        let f = &st["frames"];
        assert_eq!(f[0]["filename"], "/dist/bundle.js");
        assert_eq!(f[0]["abs_path"], "http://127.0.0.1:8080/dist/bundle.js");
        assert_eq!(f[0]["lineno"], 2);
        assert_eq!(f[1]["filename"], "/srv/app/views.py");
        assert_eq!(f[2]["filename"], "a.py");
        assert_eq!(f[2]["abs_path"], "/x/a.py");
    }

    #[test]
    fn in_app_defaults() {
        let st = norm(json!({"frames": [
            {"abs_path": "/usr/local/lib/python3.8/site-packages/django/core/handlers/base.py"},
            {"abs_path": "/code/errors/views.py"},
            {"filename": "node_modules\\react\\index.js"},
        ]}));
        assert_eq!(st["frames"][0]["in_app"], false);
        assert_eq!(st["frames"][1]["in_app"], true);
        assert_eq!(st["frames"][2]["in_app"], false);

        // SDK values are kept; unknown frames stay unset when any frame is set.
        let st = norm(json!({"frames": [
            {"abs_path": "/usr/lib/python3/site-packages/x.py", "in_app": true},
            {"abs_path": "/code/a.py"},
            {"abs_path": "/code/b.py", "in_app": false},
        ]}));
        assert_eq!(st["frames"][0]["in_app"], true);
        assert!(st["frames"][1].get("in_app").is_none());
        assert_eq!(st["frames"][2]["in_app"], false);
    }

    /// The one-pass path gives what the general path gives, on well-formed frames.
    #[test]
    fn fast_frames_match_general_path() {
        let frames = [
            json!({"filename": "http://x.io/a.js?v=1", "function": "f", "lineno": 3, "colno": 7, "in_app": true}),
            json!({"abs_path": "/srv/app/views.py", "pre_context": ["a", "b"], "context_line": "c".repeat(2000), "vars": {"x": "y"}}),
            json!({"filename": "", "abs_path": "file:///home/me/x.js", "stack_start": false}),
            json!({"filename": "a.py", "abs_path": ""}),
            json!({"filename": "", "abs_path": ""}),
            json!({"module": "m", "package": "p", "raw_function": "r", "symbol": "s", "instruction_addr": "0x1"}),
            json!({"filename": "app:///main.js", "vars": {"deep": {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}}}),
            json!({}),
        ];
        for frame in frames {
            let mut fast = frame.as_object().cloned().unwrap();
            let mut general = fast.clone();
            assert!(normalize_frame_fast(&mut fast), "{frame}");
            let mut e = Errors::default();
            normalize_frame_general(&mut general, "st", 0, &mut e);
            assert_eq!(fast, general, "{frame}");
            assert!(e.list.is_empty());
        }
        for frame in [json!({"lineno": "3"}), json!({"lineno": 1.0}), json!({"function": null}), json!({"vars": [1]})] {
            let mut f = frame.as_object().cloned().unwrap();
            assert!(!normalize_frame_fast(&mut f));
            assert_eq!(Value::Object(f), frame, "unchanged when not taken");
        }
    }

    #[test]
    fn unknown_frame_fields_dropped() {
        let st =
            norm(json!({"frames": [{"function": "OnGet", "instruction_offset": 1, "trust": "cfi", "lineno": "19"}]}));
        assert_eq!(st["frames"][0], json!({"function": "OnGet", "trust": "cfi", "lineno": 19, "in_app": true}));
    }

    #[test]
    fn library_paths() {
        for (path, want) in [
            ("/usr/local/lib/python3.8/site-packages/django/core/handlers/base.py", true),
            ("C:\\app\\node_modules\\x.js", true),
            ("<frozen importlib._bootstrap>", true),
            ("/code/app/views.py", false),
            ("django.core.handlers", false),
            ("webpack/bootstrap 1234", true),
            ("", false),
        ] {
            assert_eq!(is_library_path(path), want, "{path}");
        }
    }

    #[test]
    fn frame_limit_keeps_first_and_last() {
        let frames: Vec<Value> = (0..300).map(|i| json!({"function": format!("f{i}"), "in_app": true})).collect();
        let st = norm(json!({ "frames": frames }));
        let f = st["frames"].as_array().unwrap();
        assert_eq!(f.len(), MAX_FRAMES);
        assert_eq!(f[0]["function"], "f0");
        assert_eq!(f[124]["function"], "f124");
        assert_eq!(f[125]["function"], "f175");
        assert_eq!(f[249]["function"], "f299");
        assert_eq!(st["frames_omitted"], json!([125, 175]));
    }

    #[test]
    fn bad_shapes() {
        let mut e = Errors::default();
        let mut st = json!({"frames": "nope"});
        assert!(!normalize(&mut st, "stacktrace", &mut e));
        let mut st = json!({"frames": [1, null, {"function": ["x"], "vars": "v", "pre_context": [null, 1, "a"]}]});
        assert!(normalize(&mut st, "stacktrace", &mut e));
        assert_eq!(st["frames"].as_array().unwrap().len(), 1);
        assert!(st["frames"][0].get("function").is_none());
        assert!(st["frames"][0].get("vars").is_none());
        assert_eq!(st["frames"][0]["pre_context"], json!(["", "1", "a"]));
        let names: Vec<&str> = e.list.iter().map(|x| x["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            ["stacktrace.frames", "stacktrace.frames.0", "stacktrace.frames.2.function", "stacktrace.frames.2.vars"]
        );
        let mut st = json!({"frames": []});
        assert!(!normalize(&mut st, "stacktrace", &mut e));
    }
}
