//! Title, culprit and metadata, as GlitchTip derives them (glitchtip-backend.md §3.3).

use serde_json::Value;

use crate::util::{first_line, get_str, truncate_ellipsis, url_netloc, Object};
use crate::EventType;

/// Titles are cut to this many characters (99 plus `…`).
pub(crate) const MAX_TITLE: usize = 100;
/// Culprits are cut to this many characters (199 plus `…`).
pub(crate) const MAX_CULPRIT: usize = 200;

/// Title, culprit and metadata of an event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Summary {
    /// Truncated title.
    pub(crate) title: String,
    /// The title before truncation.
    pub(crate) full_title: String,
    /// Truncated culprit.
    pub(crate) culprit: String,
    /// Metadata object.
    pub(crate) metadata: Object,
}

/// The issue type of a normalized event.
pub(crate) fn event_type(event: &Object, security: bool) -> EventType {
    if security {
        return EventType::Csp;
    }
    match event.get("exception").and_then(|e| e.get("values")) {
        // A message with an attached stack trace (JS SDKs send `captureMessage` so)
        // is a synthetic, typeless exception: still a message.
        Some(Value::Array(v)) if !v.is_empty() => {
            if v.iter().all(is_synthetic_message) && has_message(event) {
                EventType::Default
            } else {
                EventType::Error
            }
        }
        _ => EventType::Default,
    }
}

fn is_synthetic_message(exception: &Value) -> bool {
    exception.get("type").and_then(Value::as_str).is_none_or(str::is_empty)
        && exception.pointer("/mechanism/synthetic").and_then(Value::as_bool) == Some(true)
}

fn has_message(event: &Object) -> bool {
    event.get("logentry").and_then(|l| l.get("formatted")).and_then(Value::as_str).is_some_and(|s| !s.is_empty())
}

/// Computes title, culprit and metadata.
pub(crate) fn summarize(event: &Object, ty: EventType) -> Summary {
    match ty {
        EventType::Csp => csp(event),
        EventType::Error => {
            let metadata = error_metadata(event);
            let full_title = error_title(&metadata);
            let title = truncate_ellipsis(&full_title, MAX_TITLE);
            Summary { title, full_title, culprit: culprit(event), metadata }
        }
        EventType::Default => {
            let full_title = event
                .get("logentry")
                .and_then(|l| l.get("formatted"))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .unwrap_or("<untitled>")
                .to_string();
            let title = truncate_ellipsis(&full_title, MAX_TITLE);
            let mut metadata = Object::new();
            metadata.insert("title".into(), Value::String(title.clone()));
            Summary { title, full_title, culprit: culprit(event), metadata }
        }
    }
}

fn csp(event: &Object) -> Summary {
    let empty = Object::new();
    let csp = event.get("csp").and_then(Value::as_object).unwrap_or(&empty);
    let directive = get_str(csp, "effective_directive").unwrap_or("");
    let blocked = get_str(csp, "blocked_uri").unwrap_or("");
    let netloc = url_netloc(blocked);
    let title = format!("Blocked '{}' from '{}'", directive.replace("-src", ""), netloc);
    let mut metadata = Object::new();
    metadata.insert("directive".into(), Value::String(directive.to_string()));
    let uri = if netloc.is_empty() { blocked } else { netloc };
    metadata.insert("uri".into(), Value::String(uri.to_string()));
    metadata.insert("message".into(), Value::String(title.clone()));
    Summary {
        title: truncate_ellipsis(&title, MAX_TITLE),
        full_title: title,
        culprit: truncate_ellipsis(directive, MAX_CULPRIT),
        metadata,
    }
}

fn last_exception(event: &Object) -> Option<&Object> {
    event.get("exception")?.get("values")?.as_array()?.last()?.as_object()
}

fn frames_of(st: Option<&Value>) -> &[Value] {
    st.and_then(|s| s.get("frames")).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn is_in_app(frame: &Value) -> bool {
    frame.get("in_app").and_then(Value::as_bool).unwrap_or(false)
}

/// `{type, value, filename, function}` from the last exception and its crash frame.
fn error_metadata(event: &Object) -> Object {
    let mut md = Object::new();
    let Some(exc) = last_exception(event) else { return md };
    let synthetic = exc.get("mechanism").and_then(|m| m.get("synthetic")).and_then(Value::as_bool).unwrap_or(false);
    if let Some(v) = get_str(exc, "value") {
        md.insert("value".into(), Value::String(truncate_ellipsis(v, 1024)));
    }
    if !synthetic {
        let ty = get_str(exc, "type").unwrap_or("Error");
        md.insert("type".into(), Value::String(truncate_ellipsis(ty, 128)));
    }
    let platform = event.get("platform").and_then(Value::as_str).unwrap_or("other");
    if let Some(frame) = crash_frame(frames_of(exc.get("stacktrace"))) {
        let f = frame.as_object();
        let filename = f.and_then(|f| get_str(f, "filename").or_else(|| get_str(f, "abs_path")));
        if let Some(name) = filename {
            md.insert("filename".into(), Value::String(name.to_string()));
        }
        if let Some(func) = function_name(frame, platform).filter(|f| f != "?") {
            md.insert("function".into(), Value::String(func));
        }
    }
    md
}

/// The last in-app frame with a usable function, else the last such frame.
fn crash_frame(frames: &[Value]) -> Option<&Value> {
    let usable =
        |f: &&Value| !matches!(f.get("function").and_then(Value::as_str), None | Some("<redacted>" | "<unknown>"));
    frames.iter().rev().filter(usable).find(|f| is_in_app(f)).or_else(|| frames.iter().rev().find(usable))
}

/// The frame's function name, trimmed for native platforms.
pub(crate) fn function_name(frame: &Value, platform: &str) -> Option<String> {
    let func = frame.get("function").and_then(Value::as_str).filter(|s| !s.is_empty());
    let raw = frame.get("raw_function").and_then(Value::as_str).filter(|s| !s.is_empty());
    let platform = frame.get("platform").and_then(Value::as_str).unwrap_or(platform);
    let name = func.or(raw)?;
    if is_native(platform) {
        Some(trim_native_function(name))
    } else {
        Some(name.to_string())
    }
}

pub(crate) fn is_native(platform: &str) -> bool {
    matches!(platform, "native" | "cocoa" | "objc" | "c" | "cpp" | "swift")
}

/// Native function names without arguments, return type and template arguments
/// (`std::vector<int> ns::Foo<T>::bar(int) const` → `ns::Foo<T>::bar`).
pub(crate) fn trim_native_function(name: &str) -> String {
    let name = name.trim();
    if name.starts_with("-[") || name.starts_with("+[") || name.starts_with('<') {
        return name.to_string();
    }
    let mut s = name.replace("(anonymous namespace)", "`anonymous namespace'");
    for suffix in [" const", " volatile", " &&", " &"] {
        if let Some(stripped) = s.strip_suffix(suffix) {
            s = stripped.to_string();
        }
    }
    // Drop the trailing argument list.
    if s.ends_with(')') {
        let mut depth = 0i32;
        let mut start = None;
        for (i, c) in s.char_indices().rev() {
            match c {
                ')' => depth += 1,
                '(' => {
                    depth -= 1;
                    if depth == 0 {
                        start = Some(i);
                        break;
                    }
                }
                _ => {}
            }
        }
        if let Some(i) = start {
            if i > 0 {
                s.truncate(i);
            }
        }
    }
    // Collapse template arguments and find the last top-level space (return type).
    let mut out = String::with_capacity(s.len());
    let mut depth = 0i32;
    for c in s.chars() {
        match c {
            '<' => {
                if depth == 0 {
                    out.push_str("<T>");
                }
                depth += 1;
            }
            '>' if depth > 0 => depth -= 1,
            ' ' if depth == 0 => out.clear(),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    if out.is_empty() {
        name.to_string()
    } else {
        out
    }
}

fn error_title(md: &Object) -> String {
    let Some(ty) = md.get("type").and_then(Value::as_str) else {
        return md.get("function").and_then(Value::as_str).unwrap_or("<unknown>").to_string();
    };
    match md.get("value").and_then(Value::as_str).filter(|v| !v.is_empty()) {
        None => ty.to_string(),
        Some(v) => format!("{ty}: {}", truncate_ellipsis(first_line(v), MAX_TITLE)),
    }
}

/// The explicit `transaction`/`culprit`, else the crash location, else the request URL.
pub(crate) fn culprit(event: &Object) -> String {
    if let Some(c) = get_str(event, "transaction").or_else(|| get_str(event, "culprit")) {
        return truncate_ellipsis(c, MAX_CULPRIT);
    }
    let platform = event.get("platform").and_then(Value::as_str).unwrap_or("other");
    let exc_stacks: Vec<&Value> = event
        .get("exception")
        .and_then(|e| e.get("values"))
        .and_then(Value::as_array)
        .map(|v| v.iter().filter_map(|e| e.get("stacktrace")).collect())
        .unwrap_or_default();
    let st = exc_stacks.last().copied().or_else(|| event.get("stacktrace"));
    let mut out = st.map(|st| stacktrace_culprit(frames_of(Some(st)), platform)).unwrap_or_default();
    if out.is_empty() {
        if let Some(url) = event.get("request").and_then(|r| r.get("url")).and_then(Value::as_str) {
            out = url.to_string();
        }
    }
    truncate_ellipsis(&out, MAX_CULPRIT)
}

fn stacktrace_culprit(frames: &[Value], platform: &str) -> String {
    let mut default: Option<String> = None;
    for frame in frames.iter().rev() {
        if is_in_app(frame) {
            let c = frame_culprit(frame, platform);
            if !c.is_empty() {
                return c;
            }
        } else if default.is_none() {
            default = Some(frame_culprit(frame, platform));
        }
    }
    default.unwrap_or_default()
}

fn frame_culprit(frame: &Value, platform: &str) -> String {
    let platform = frame.get("platform").and_then(Value::as_str).unwrap_or(platform);
    let s = |k: &str| frame.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    if matches!(platform, "objc" | "cocoa" | "native") {
        return s("function").unwrap_or("?").to_string();
    }
    let Some(fileloc) = s("module").or_else(|| s("filename")) else { return String::new() };
    let function = s("function").unwrap_or("?");
    if matches!(platform, "javascript" | "node") {
        format!("{function}({fileloc})")
    } else {
        format!("{fileloc} in {function}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn summary(v: Value) -> Summary {
        let o = v.as_object().cloned().unwrap();
        let ty = event_type(&o, o.contains_key("csp"));
        summarize(&o, ty)
    }

    #[test]
    fn error_titles() {
        let s = summary(json!({"platform": "python", "exception": {"values": [
            {"type": "A", "value": "first"},
            {"type": "ZeroDivisionError", "value": "division by zero\nmore", "stacktrace": {"frames": [
                {"function": "inner", "module": "django.core", "filename": "django/core.py", "in_app": false},
                {"function": "get", "module": "errors.views", "filename": "errors/views.py", "in_app": true},
                {"function": "helper", "module": "lib", "filename": "lib.py", "in_app": false},
            ]}}
        ]}}));
        assert_eq!(s.title, "ZeroDivisionError: division by zero");
        assert_eq!(
            Value::Object(s.metadata),
            json!({"type": "ZeroDivisionError", "value": "division by zero\nmore", "filename": "errors/views.py", "function": "get"})
        );
        assert_eq!(s.culprit, "errors.views in get");
    }

    #[test]
    fn title_truncation_and_fallbacks() {
        let long = "x".repeat(150);
        let s = summary(json!({"exception": {"values": [{"type": "E", "value": long}]}}));
        assert_eq!(s.title.chars().count(), 100);
        assert!(s.title.ends_with('…'));
        let s = summary(json!({"exception": {"values": [{"value": "no type"}]}}));
        assert_eq!(s.title, "Error: no type");
        let s = summary(json!({"exception": {"values": [{"type": "T", "value": "v", "mechanism": {"synthetic": true},
            "stacktrace": {"frames": [{"function": "crash_here", "in_app": true}]}}]}}));
        assert_eq!(s.title, "crash_here");
        let s = summary(json!({"exception": {"values": [{"type": "OnlyType"}]}}));
        assert_eq!(s.title, "OnlyType");
        let s = summary(json!({"logentry": {"formatted": "hello\nworld"}}));
        assert_eq!(s.title, "hello\nworld");
        assert_eq!(Value::Object(s.metadata), json!({"title": "hello\nworld"}));
        let s = summary(json!({}));
        assert_eq!(s.title, "<untitled>");
        assert_eq!(s.culprit, "");
    }

    #[test]
    fn culprits_per_platform() {
        let frame = json!({"function": "?", "filename": "/dist/bundle.js", "in_app": true});
        let s = summary(
            json!({"platform": "javascript", "exception": {"values": [{"type": "Error", "value": "x", "stacktrace": {"frames": [frame]}}]}}),
        );
        assert_eq!(s.culprit, "?(/dist/bundle.js)");
        assert_eq!(s.metadata.get("function"), None, "JS `?` is not a function name");
        assert_eq!(s.metadata["filename"], "/dist/bundle.js");
        let s = summary(
            json!({"platform": "cocoa", "exception": {"values": [{"type": "E", "stacktrace": {"frames": [{"function": "main", "in_app": true}]}}]}}),
        );
        assert_eq!(s.culprit, "main");
        let s = summary(json!({"platform": "csharp", "exception": {"values": [{"type": "E", "stacktrace": {"frames": [
            {"function": "Invoke", "module": "Microsoft.X", "in_app": false},
            {"function": "DivideByZero", "module": "myWebApp.Pages.DivideZeroModel", "filename": "/app/Pages/Divide-Zero.cs", "in_app": true}
        ]}}]}}));
        assert_eq!(s.culprit, "myWebApp.Pages.DivideZeroModel in DivideByZero");
        // No in-app frame: the last frame.
        let s = summary(json!({"platform": "python", "exception": {"values": [{"type": "E", "stacktrace": {"frames": [
            {"function": "a", "module": "m1", "in_app": false}, {"function": "b", "module": "m2", "in_app": false}
        ]}}]}}));
        assert_eq!(s.culprit, "m2 in b");
        // Explicit transaction, then the request URL.
        let s = summary(json!({"transaction": "/divide-zero/", "exception": {"values": [{"type": "E"}]}}));
        assert_eq!(s.culprit, "/divide-zero/");
        let s = summary(
            json!({"transaction": "", "request": {"url": "http://localhost:8080/"}, "logentry": {"formatted": "m"}}),
        );
        assert_eq!(s.culprit, "http://localhost:8080/");
        let s = summary(json!({"culprit": "x".repeat(201)}));
        assert_eq!(s.culprit, format!("{}…", "x".repeat(199)));
    }

    #[test]
    fn csp_title() {
        let s = summary(
            json!({"csp": {"blocked_uri": "http://example.com/css/style.css", "effective_directive": "style-src-elem"}}),
        );
        assert_eq!(s.title, "Blocked 'style-elem' from 'example.com'");
        assert_eq!(s.culprit, "style-src-elem");
        assert_eq!(
            Value::Object(s.metadata),
            json!({"directive": "style-src-elem", "uri": "example.com", "message": "Blocked 'style-elem' from 'example.com'"})
        );
        let s = summary(json!({"csp": {"blocked_uri": "inline", "effective_directive": "script-src"}}));
        assert_eq!(s.title, "Blocked 'script' from ''");
    }

    #[test]
    fn native_function_trimming() {
        assert_eq!(trim_native_function("std::vector<int> ns::Foo<T>::bar(int, char) const"), "ns::Foo<T>::bar");
        assert_eq!(trim_native_function("main"), "main");
        assert_eq!(
            trim_native_function("-[NSObject doesNotRecognizeSelector:]"),
            "-[NSObject doesNotRecognizeSelector:]"
        );
        assert_eq!(trim_native_function("void foo::bar()"), "foo::bar");
    }
}

#[cfg(test)]
mod synthetic_message_tests {
    use super::*;

    #[test]
    fn a_message_with_a_synthetic_stack_is_a_message() {
        let event: Object = serde_json::from_value(serde_json::json!({
            "logentry": {"formatted": "node says hello"},
            "exception": {"values": [{"value": "node says hello", "mechanism": {"type": "generic", "synthetic": true}}]}
        }))
        .unwrap();
        assert_eq!(event_type(&event, false), EventType::Default);
        assert_eq!(summarize(&event, EventType::Default).title, "node says hello");
        let real: Object = serde_json::from_value(serde_json::json!({
            "logentry": {"formatted": "x"},
            "exception": {"values": [{"type": "TypeError", "value": "boom"}]}
        }))
        .unwrap();
        assert_eq!(event_type(&real, false), EventType::Error);
    }
}
