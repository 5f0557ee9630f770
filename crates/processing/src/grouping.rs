//! Grouping hashes.
//!
//! * [`GroupingStrategy::Default`]: a simplified version of Sentry's newstyle grouping —
//!   exception types plus stack-frame components (module or file, cleaned function,
//!   stable context line), an in-app variant and a system variant; without usable frames,
//!   the exception values or the message template with variable parts replaced by
//!   placeholders.
//! * [`GroupingStrategy::GlitchTip`]: GlitchTip's `md5(title + culprit + type)`.
//!
//! Both honour the event's `fingerprint`, where `{{ default }}` stands for the default
//! grouping.

use std::borrow::Cow;
use std::sync::LazyLock;

use md5::{Digest, Md5};
use regex::Regex;
use serde_json::Value;

use crate::title::{is_native, trim_native_function};
use crate::util::{basename, first_line, hex32, url_netloc, Object};
use crate::{EventType, GroupingStrategy};

/// One contributing value, tagged with its kind so that values of different kinds
/// never collide. Values borrow from the event where they can.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Component<'a> {
    kind: u8,
    value: Cow<'a, str>,
}

fn comp<'a>(kind: u8, value: impl Into<Cow<'a, str>>) -> Component<'a> {
    Component { kind, value: value.into() }
}

const K_TYPE: u8 = b't';
const K_VALUE: u8 = b'v';
const K_MODULE: u8 = b'm';
const K_FILE: u8 = b'f';
const K_FUNCTION: u8 = b'F';
const K_CONTEXT: u8 = b'c';
const K_MESSAGE: u8 = b'M';
const K_FINGERPRINT: u8 = b'p';
const K_NS_ERROR: u8 = b'n';
const K_CSP: u8 = b's';
const K_FRAME: u8 = b'|';

/// The event's grouping hashes, most specific first.
pub(crate) fn hashes(
    event: &Object,
    strategy: GroupingStrategy,
    ty: EventType,
    title: &str,
    culprit: &str,
) -> Vec<String> {
    let fingerprint: Option<Vec<Option<&str>>> = match event.get("fingerprint") {
        Some(Value::Array(parts)) if !parts.is_empty() => Some(parts.iter().map(Value::as_str).collect()),
        _ => None,
    };
    match strategy {
        GroupingStrategy::GlitchTip => vec![glitchtip_hash(title, culprit, ty, fingerprint.as_deref())],
        GroupingStrategy::Default => default_hashes(event, ty, fingerprint.as_deref()),
    }
}

/// GlitchTip's hash: `md5(title + culprit + str(type))`, with the fingerprint parts
/// concatenated (`"{{ default }}"` → that input, null → `""`) when there is one.
pub(crate) fn glitchtip_hash(
    title: &str,
    culprit: &str,
    ty: EventType,
    fingerprint: Option<&[Option<&str>]>,
) -> String {
    let type_number = (ty as i32).to_string();
    let default_input = [title, culprit, type_number.as_str()];
    let mut h = Md5::new();
    match fingerprint {
        Some(parts) => {
            for part in parts {
                match part {
                    Some("{{ default }}") => default_input.iter().for_each(|p| h.update(p.as_bytes())),
                    Some(p) => h.update(p.as_bytes()),
                    None => {}
                }
            }
        }
        None => default_input.iter().for_each(|p| h.update(p.as_bytes())),
    }
    hex32(&h.finalize())
}

fn is_default_marker(part: &str) -> bool {
    matches!(part, "{{ default }}" | "{{default}}")
}

fn default_hashes(event: &Object, ty: EventType, fingerprint: Option<&[Option<&str>]>) -> Vec<String> {
    let variants = || default_variants(event, ty);
    let inputs: Vec<Vec<Component<'_>>> = match fingerprint {
        Some(parts) if parts.iter().any(|p| p.is_some_and(is_default_marker)) => variants()
            .into_iter()
            .map(|variant| {
                let mut out = Vec::new();
                for part in parts {
                    match part {
                        Some(p) if is_default_marker(p) => out.extend(variant.iter().cloned()),
                        Some(p) => out.push(comp(K_FINGERPRINT, *p)),
                        None => out.push(comp(K_FINGERPRINT, "")),
                    }
                }
                out
            })
            .collect(),
        Some(parts) => vec![parts.iter().map(|p| comp(K_FINGERPRINT, p.unwrap_or(""))).collect()],
        None => variants(),
    };
    let mut out: Vec<String> = Vec::with_capacity(inputs.len());
    for components in inputs {
        let h = hash_components(&components);
        if !out.contains(&h) {
            out.push(h);
        }
    }
    out
}

fn hash_components(components: &[Component<'_>]) -> String {
    let mut h = Md5::new();
    for c in components {
        h.update([c.kind]);
        h.update(c.value.as_bytes());
        h.update([0]);
    }
    hex32(&h.finalize())
}

/// The component lists of the app variant and, when different, the system variant.
fn default_variants(event: &Object, ty: EventType) -> Vec<Vec<Component<'_>>> {
    let platform = event.get("platform").and_then(Value::as_str).unwrap_or("other");
    if ty == EventType::Csp {
        let csp = event.get("csp");
        let get = |k: &str| csp.and_then(|c| c.get(k)).and_then(Value::as_str).unwrap_or("");
        let blocked = get("blocked_uri");
        let netloc = url_netloc(blocked);
        return vec![vec![
            comp(K_CSP, get("effective_directive")),
            comp(K_CSP, if netloc.is_empty() { blocked } else { netloc }),
        ]];
    }
    let exceptions: Vec<&Value> = event
        .get("exception")
        .and_then(|e| e.get("values"))
        .and_then(Value::as_array)
        .map(|v| v.iter().collect())
        .unwrap_or_default();
    if !exceptions.is_empty() {
        let stacks: Vec<Vec<FrameInfo<'_>>> =
            exceptions.iter().map(|e| usable_frames(e.get("stacktrace"), platform)).collect();
        let build = |app_only: bool| -> Vec<Component<'_>> {
            let mut out = Vec::new();
            for (exc, frames) in exceptions.iter().zip(&stacks) {
                let synthetic =
                    exc.get("mechanism").and_then(|m| m.get("synthetic")).and_then(Value::as_bool).unwrap_or(false);
                if !synthetic {
                    if let Some(t) = exc.get("type").and_then(Value::as_str) {
                        out.push(comp(K_TYPE, t));
                    }
                }
                if let Some(ns) = exc.get("mechanism").and_then(|m| m.get("meta")).and_then(|m| m.get("ns_error")) {
                    if let (Some(domain), Some(code)) = (ns.get("domain"), ns.get("code")) {
                        out.push(comp(K_NS_ERROR, format!("{domain}:{code}")));
                    }
                }
                let before = out.len();
                for f in frames.iter().filter(|f| !app_only || f.in_app) {
                    f.push_components(&mut out);
                }
                if out.len() == before {
                    if let Some(v) = exc.get("value").and_then(Value::as_str) {
                        out.push(comp(K_VALUE, normalize_message(v)));
                    }
                }
            }
            out
        };
        let has_in_app = stacks.iter().flatten().any(|f| f.in_app);
        let system = build(false);
        if has_in_app {
            let app = build(true);
            if app != system {
                return vec![app, system];
            }
            return vec![app];
        }
        return vec![system];
    }
    // A stack trace without an exception (top level, or the single thread).
    let thread_stack = event
        .get("threads")
        .and_then(|t| t.get("values"))
        .and_then(Value::as_array)
        .filter(|t| t.len() == 1)
        .and_then(|t| t[0].get("stacktrace"));
    let frames = usable_frames(event.get("stacktrace").or(thread_stack), platform);
    if !frames.is_empty() {
        let collect = |app_only: bool| -> Vec<Component<'_>> {
            let mut out = Vec::new();
            for f in frames.iter().filter(|f| !app_only || f.in_app) {
                f.push_components(&mut out);
            }
            out
        };
        let system = collect(false);
        if frames.iter().any(|f| f.in_app) {
            let app = collect(true);
            if app != system {
                return vec![app, system];
            }
        }
        return vec![system];
    }
    let message =
        event.get("logentry").and_then(|l| l.get("message").or_else(|| l.get("formatted"))).and_then(Value::as_str);
    match message {
        Some(m) => vec![vec![comp(K_MESSAGE, normalize_message(m))]],
        None => vec![Vec::new()],
    }
}

/// The grouping-relevant parts of one frame.
#[derive(Debug)]
struct FrameInfo<'a> {
    in_app: bool,
    components: Vec<Component<'a>>,
}

impl<'a> FrameInfo<'a> {
    fn push_components(&self, out: &mut Vec<Component<'a>>) {
        out.push(comp(K_FRAME, ""));
        out.extend(self.components.iter().cloned());
    }
}

const CONTEXT_LINE_PLATFORMS: [&str; 5] = ["python", "javascript", "node", "php", "ruby"];

/// Frames that contribute something, with recursion collapsed.
fn usable_frames<'a>(st: Option<&'a Value>, event_platform: &'a str) -> Vec<FrameInfo<'a>> {
    let Some(frames) = st.and_then(|s| s.get("frames")).and_then(Value::as_array) else { return Vec::new() };
    let mut out = Vec::with_capacity(frames.len());
    let mut prev: Option<FrameView<'_>> = None;
    for frame in frames {
        let view = FrameView::of(frame);
        if prev.as_ref().is_some_and(|p| p.same_frame(&view)) {
            continue;
        }
        let components = frame_components(&view, event_platform);
        let in_app = view.in_app.and_then(Value::as_bool).unwrap_or(false);
        prev = Some(view);
        if components.is_empty() {
            continue;
        }
        out.push(FrameInfo { in_app, components });
    }
    out
}

/// The fields of a frame that grouping reads, found in one pass.
#[derive(Default)]
struct FrameView<'a> {
    abs_path: Option<&'a Value>,
    module: Option<&'a Value>,
    filename: Option<&'a Value>,
    function: Option<&'a Value>,
    raw_function: Option<&'a Value>,
    lineno: Option<&'a Value>,
    colno: Option<&'a Value>,
    platform: Option<&'a Value>,
    context_line: Option<&'a Value>,
    in_app: Option<&'a Value>,
}

impl<'a> FrameView<'a> {
    fn of(frame: &'a Value) -> FrameView<'a> {
        let mut v = FrameView::default();
        let Value::Object(o) = frame else { return v };
        for (k, x) in o {
            let slot = match k.as_str() {
                "abs_path" => &mut v.abs_path,
                "module" => &mut v.module,
                "filename" => &mut v.filename,
                "function" => &mut v.function,
                "raw_function" => &mut v.raw_function,
                "lineno" => &mut v.lineno,
                "colno" => &mut v.colno,
                "platform" => &mut v.platform,
                "context_line" => &mut v.context_line,
                "in_app" => &mut v.in_app,
                _ => continue,
            };
            *slot = Some(x);
        }
        v
    }

    /// Recursion: the same location as the previous frame.
    fn same_frame(&self, b: &FrameView<'_>) -> bool {
        self.abs_path == b.abs_path
            && self.module == b.module
            && self.filename == b.filename
            && self.function == b.function
            && self.lineno == b.lineno
            && self.colno == b.colno
    }
}

/// A non-empty string field.
fn non_empty(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn frame_components<'a>(frame: &FrameView<'a>, event_platform: &'a str) -> Vec<Component<'a>> {
    let platform = non_empty(frame.platform).unwrap_or(event_platform);
    let javascript = matches!(platform, "javascript" | "node");
    let mut out = Vec::with_capacity(3);
    // Module, else file name.
    let abs_path = non_empty(frame.abs_path).unwrap_or("");
    let module = non_empty(frame.module).filter(|m| !(javascript && m.contains('/') && abs_path.ends_with(m)));
    if let Some(m) = module {
        out.push(comp(K_MODULE, clean_module(m)));
    } else if let Some(f) = non_empty(frame.filename).or(non_empty(frame.abs_path)) {
        let f = f.split(['?', '#']).next().unwrap_or(f);
        if !matches!(f, "<anonymous>" | "[native code]" | "native" | "/") {
            let base = basename(f);
            if !base.is_empty() {
                let lower = if base.bytes().any(|b| !b.is_ascii() || b.is_ascii_uppercase()) {
                    Cow::Owned(base.to_lowercase())
                } else {
                    Cow::Borrowed(base)
                };
                out.push(comp(K_FILE, lower));
            }
        }
    }
    // Context line for platforms whose source lines are stable.
    let mut has_context = false;
    if CONTEXT_LINE_PLATFORMS.contains(&platform) {
        if let Some(line) = non_empty(frame.context_line) {
            if line.len() <= 120 * 4 {
                let normalized = collapse_whitespace(line);
                if !normalized.is_empty() && normalized.chars().count() <= 120 {
                    out.push(comp(K_CONTEXT, normalized));
                    has_context = true;
                }
            }
        }
    }
    // Function (JavaScript: only without a context line).
    if !(javascript && has_context) {
        if let Some(func) = non_empty(frame.function)
            .or_else(|| non_empty(frame.raw_function))
            .and_then(|f| clean_function(f, platform))
        {
            out.push(comp(K_FUNCTION, func));
        }
    }
    out
}

static MODULE_NOISE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\$\$Lambda\$[^.]*|GeneratedMethodAccessor\d+|GeneratedConstructorAccessor\d+|\$\$(?:EnhancerBy|FastClassBy)[A-Za-z]*\$\$[0-9a-fA-F]+|\$\$_javassist_\d+|\$fn__\d+",
    )
    .expect("the module pattern is valid")
});

fn clean_module(m: &str) -> Cow<'_, str> {
    if !m.contains('$') && !m.contains("Accessor") {
        return Cow::Borrowed(m);
    }
    MODULE_NOISE.replace_all(m, |c: &regex::Captures<'_>| {
        let s = &c[0];
        if s.starts_with("$$Lambda$") {
            "$$Lambda$".to_string()
        } else if s.starts_with("GeneratedMethodAccessor") {
            "GeneratedMethodAccessor".to_string()
        } else if s.starts_with("GeneratedConstructorAccessor") {
            "GeneratedConstructorAccessor".to_string()
        } else if s.starts_with("$fn__") {
            "$fn__<auto>".to_string()
        } else {
            "<auto>".to_string()
        }
    })
}

/// Words separated by single spaces, as `line.split_whitespace().collect::<Vec<_>>().join(" ")`;
/// borrowed when the line, trimmed, already is so (checked for ASCII lines).
fn collapse_whitespace(line: &str) -> Cow<'_, str> {
    let ws = |b: u8| matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ');
    if line.is_ascii() {
        let b = line.as_bytes();
        let start = b.iter().position(|&c| !ws(c)).unwrap_or(b.len());
        let end = b.iter().rposition(|&c| !ws(c)).map_or(start, |i| i + 1);
        let inner = &b[start..end];
        if inner.windows(2).all(|w| !ws(w[0]) || (w[0] == b' ' && !ws(w[1]))) {
            return Cow::Borrowed(&line[start..end]);
        }
    }
    Cow::Owned(line.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// A function name as it should group, or `None` when it carries no information.
fn clean_function<'a>(f: &'a str, platform: &str) -> Option<Cow<'a, str>> {
    let f = f.trim();
    if matches!(f, "?" | "<anonymous>" | "<redacted>" | "<unknown>" | "eval" | "{closure}" | "[native code]" | "")
        || f.starts_with("lambda$")
        || f.contains("{closure}")
    {
        return None;
    }
    match platform {
        "javascript" | "node" => {
            let mut f = f.strip_prefix("new ").unwrap_or(f);
            f = f.strip_prefix("Object.").unwrap_or(f);
            f = f.strip_prefix("async ").unwrap_or(f);
            (!f.is_empty() && f != "<anonymous>").then_some(Cow::Borrowed(f))
        }
        "ruby" => {
            if f.starts_with("block ") || f == "block" {
                return Some(Cow::Borrowed("block"));
            }
            // erb templates: `_app_views_x_html_erb___123_456` → without the numbers.
            if f.contains("_erb") {
                let trimmed = f.trim_end_matches(|c: char| c.is_ascii_digit() || c == '_');
                return Some(Cow::Borrowed(trimmed));
            }
            Some(Cow::Borrowed(f))
        }
        p if is_native(p) => Some(Cow::Owned(trim_native_function(f))),
        _ => Some(Cow::Borrowed(f)),
    }
}

static PLACEHOLDERS: LazyLock<Regex> = LazyLock::new(|| {
    let parts = [
        // email
        r"(?P<email>[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,})",
        // url
        r"(?P<url>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\x22<>]+)",
        // uuid
        r"(?P<uuid>\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b)",
        // sha1, md5
        r"(?P<sha1>\b[0-9a-fA-F]{40}\b)",
        r"(?P<md5>\b[0-9a-fA-F]{32}\b)",
        // ISO 8601 and RFC 2822 dates
        r"(?P<date>\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b|\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2}(?: [+-]\d{4}| GMT)?)",
        // IPv4 and IPv6
        r"(?P<ip>\b(?:\d{1,3}\.){3}\d{1,3}\b|\b(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}\b|\b(?:[0-9a-fA-F]{1,4}:){2,6}(?::[0-9a-fA-F]{1,4}){1,5}\b)",
        // hex
        r"(?P<hex>\b0[xX][0-9a-fA-F]+\b)",
        // float, int
        r"(?P<float>-?\b\d+\.\d+)",
        r"(?P<int>-?\b\d+)",
        // ='quoted'
        r#"(?P<quoted>='[^']*'|="[^"]*")"#,
    ];
    Regex::new(&parts.join("|")).expect("the placeholder patterns are valid")
});

const PLACEHOLDER_NAMES: [&str; 11] =
    ["email", "url", "uuid", "sha1", "md5", "date", "ip", "hex", "float", "int", "quoted"];

/// The first two non-empty lines of a message (with `...` when more followed), with
/// emails, URLs, IPs, UUIDs, hashes, dates, hex, numbers and quoted values replaced by
/// placeholders.
pub(crate) fn normalize_message(message: &str) -> String {
    let mut lines = message.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut text = String::with_capacity(message.len().min(1024));
    for (i, line) in lines.by_ref().take(2).enumerate() {
        if i > 0 {
            text.push('\n');
        }
        text.push_str(line);
    }
    if lines.next().is_some() {
        text.push_str("...");
    }
    if text.is_empty() {
        text.push_str(first_line(message));
    }
    if !text.bytes().any(|b| b.is_ascii_digit() || b == b'@' || b == b':' || b == b'=') {
        return text;
    }
    PLACEHOLDERS
        .replace_all(&text, |c: &regex::Captures<'_>| {
            let name = PLACEHOLDER_NAMES.iter().find(|n| c.name(n).is_some()).copied().unwrap_or("int");
            if name == "quoted" {
                "=<quoted_str>".to_string()
            } else {
                format!("<{name}>")
            }
        })
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn h(v: Value) -> Vec<String> {
        let o = v.as_object().cloned().unwrap();
        let ty = crate::title::event_type(&o, false);
        hashes(&o, GroupingStrategy::Default, ty, "", "")
    }

    fn py_frame(function: &str, module: &str, line: &str, in_app: bool) -> Value {
        json!({"function": function, "module": module, "filename": format!("{module}.py"), "context_line": line, "in_app": in_app, "lineno": 1})
    }

    fn error(value: &str, frames: Vec<Value>) -> Value {
        json!({"platform": "python", "exception": {"values": [{"type": "KeyError", "value": value, "stacktrace": {"frames": frames}}]}})
    }

    #[test]
    fn whitespace_collapsing() {
        let lines = ["a b", " a", "a ", "a  b", "a\tb", "", " ", "x = d[key]", "a\u{0b}b", "é  x", "a\u{a0}b", "a \nb"];
        let more = ["    return x(y)  ", "\t\tif a == b:\r\n", "\u{0b}x\u{0c}", " a  b ", "  a b"];
        for line in lines.into_iter().chain(more) {
            assert_eq!(collapse_whitespace(line), line.split_whitespace().collect::<Vec<_>>().join(" "), "{line:?}");
        }
    }

    #[test]
    fn placeholders() {
        assert_eq!(normalize_message("User 42 not found"), "User <int> not found");
        assert_eq!(normalize_message("took 1.5s at 2024-01-01T10:00:00Z"), "took <float>s at <date>");
        assert_eq!(normalize_message("mail bob@example.com from 10.0.0.1"), "mail <email> from <ip>");
        assert_eq!(normalize_message("GET https://x.io/a?b=1 failed"), "GET <url> failed");
        assert_eq!(normalize_message("id 550e8400-e29b-41d4-a716-446655440000"), "id <uuid>");
        assert_eq!(normalize_message("hash d41d8cd98f00b204e9800998ecf8427e"), "hash <md5>");
        assert_eq!(normalize_message("sha da39a3ee5e6b4b0d3255bfef95601890afd80709"), "sha <sha1>");
        assert_eq!(normalize_message("ptr 0xdeadBEEF"), "ptr <hex>");
        assert_eq!(normalize_message("where name='bob' and x=\"y\""), "where name=<quoted_str> and x=<quoted_str>");
        assert_eq!(normalize_message("addr fe80:0:0:0:0:0:0:1"), "addr <ip>");
        assert_eq!(normalize_message("user123 and A::B"), "user123 and A::B");
        assert_eq!(normalize_message("a\n\nb\nc"), "a\nb...");
        assert_eq!(normalize_message("Tue, 5 Mar 2024 10:00:00 GMT"), "<date>");
    }

    #[test]
    fn same_bug_different_values_groups_together() {
        let a = h(error("'user_1'", vec![py_frame("get", "errors.views", "x = d[key]", true)]));
        let b = h(error("'user_2'", vec![py_frame("get", "errors.views", "x = d[key]", true)]));
        assert_eq!(a, b);
        // Messages with variable parts too.
        let a = h(json!({"logentry": {"formatted": "Order 17 failed for bob@x.io"}}));
        let b = h(json!({"logentry": {"formatted": "Order 99 failed for eve@y.io"}}));
        assert_eq!(a, b);
        let c = h(json!({"logentry": {"formatted": "Payment failed"}}));
        assert_ne!(a, c);
        // The template groups when present.
        let a = h(json!({"logentry": {"message": "Hi %s", "params": ["a"], "formatted": "Hi a"}}));
        let b = h(json!({"logentry": {"message": "Hi %s", "params": ["b"], "formatted": "Hi b"}}));
        assert_eq!(a, b);
    }

    #[test]
    fn different_in_app_stacks_split() {
        let a = h(error("x", vec![py_frame("get", "errors.views", "x = d[key]", true)]));
        let b = h(error("x", vec![py_frame("post", "errors.views", "y = d[key]", true)]));
        assert_ne!(a[0], b[0]);
        // System frames alone do not split the app variant.
        let a =
            h(error("x", vec![py_frame("inner", "django.core", "a()", false), py_frame("get", "app", "f()", true)]));
        let b =
            h(error("x", vec![py_frame("other", "django.other", "b()", false), py_frame("get", "app", "f()", true)]));
        assert_eq!(a[0], b[0]);
        assert_eq!(a.len(), 2);
        assert_ne!(a[1], b[1]);
        // Different types split.
        let mut c = error("x", vec![py_frame("get", "app", "f()", true)]);
        c["exception"]["values"][0]["type"] = json!("ValueError");
        assert_ne!(h(c)[0], a[0]);
    }

    #[test]
    fn frame_details() {
        // Recursion collapses; whitespace in context lines does not matter.
        let f = py_frame("rec", "m", "rec()", true);
        let a = h(error("x", vec![f.clone(), f.clone(), f.clone()]));
        let b = h(error("x", vec![f.clone()]));
        assert_eq!(a, b);
        let a = h(error("x", vec![py_frame("g", "m", "  a  =  1", true)]));
        let b = h(error("x", vec![py_frame("g", "m", "a = 1", true)]));
        assert_eq!(a, b);
        // Without usable frames the value is used (with placeholders).
        let a = h(json!({"exception": {"values": [{"type": "E", "value": "id 1"}]}}));
        let b = h(json!({"exception": {"values": [{"type": "E", "value": "id 2"}]}}));
        let c = h(json!({"exception": {"values": [{"type": "E", "value": "other"}]}}));
        assert_eq!(a, b);
        assert_ne!(a, c);
        // JS anonymous frames and `?` functions.
        let js = |func: &str, col: i64| {
            json!({"platform": "javascript", "exception": {"values": [{"type": "Error", "value": "v",
            "stacktrace": {"frames": [{"function": func, "filename": "/dist/bundle.js", "abs_path": "http://x/dist/bundle.js", "colno": col, "in_app": true}]}}]}})
        };
        assert_eq!(h(js("?", 1)), h(js("?", 2)));
        assert_ne!(h(js("Object.foo", 1)), h(js("bar", 1)));
        assert_eq!(h(js("Object.foo", 1)), h(js("foo", 9)));
        // Synthetic exception types do not group.
        let syn = |t: &str| {
            json!({"exception": {"values": [{"type": t, "mechanism": {"type": "x", "synthetic": true},
            "stacktrace": {"frames": [{"function": "main", "filename": "a.c", "in_app": true}]}}]}})
        };
        assert_eq!(h(syn("SIGSEGV")), h(syn("EXC_BAD_ACCESS")));
    }

    #[test]
    fn fingerprints() {
        let base = error("x", vec![py_frame("get", "app", "f()", true)]);
        let default = h(base.clone());
        let mut with_default = base.clone();
        with_default["fingerprint"] = json!(["{{ default }}"]);
        assert_eq!(h(with_default.clone()), default);
        with_default["fingerprint"] = json!(["{{default}}", "tenant-a"]);
        let a = h(with_default.clone());
        with_default["fingerprint"] = json!(["{{ default }}", "tenant-b"]);
        assert_ne!(a, h(with_default));
        // Without default, the fingerprint replaces grouping.
        let mut e1 = base.clone();
        e1["fingerprint"] = json!(["foo", null, "bar"]);
        let mut e2 = json!({"exception": {"values": [{"type": "lol"}]}});
        e2["fingerprint"] = json!(["foo", null, "bar"]);
        assert_eq!(h(e1.clone()), h(e2));
        assert_eq!(h(e1).len(), 1);
    }

    #[test]
    fn empty_event_hash_is_md5_of_nothing() {
        assert_eq!(h(json!({})), vec!["d41d8cd98f00b204e9800998ecf8427e".to_string()]);
    }

    #[test]
    fn glitchtip_strategy() {
        let o = json!({}).as_object().cloned().unwrap();
        let hash = hashes(
            &o,
            GroupingStrategy::GlitchTip,
            EventType::Error,
            "ZeroDivisionError: division by zero",
            "/divide-zero/",
        );
        assert_eq!(hash, vec![crate::util::md5_hex(&[b"ZeroDivisionError: division by zero/divide-zero/1"])]);
        let fp = [Some("foo"), None, Some("bar")];
        assert_eq!(glitchtip_hash("a", "b", EventType::Error, Some(&fp)), crate::util::md5_hex(&[b"foobar"]));
        let fp = [Some("{{ default }}"), Some("x")];
        assert_eq!(glitchtip_hash("t", "c", EventType::Default, Some(&fp)), crate::util::md5_hex(&[b"tc0x"]));
        // Hashes are 32 lowercase hex characters.
        assert!(hash[0].len() == 32 && hash[0].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }
}
