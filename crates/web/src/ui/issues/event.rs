//! What the detail page shows of one event, read from the normalized event JSON as
//! stored: exceptions and frames, breadcrumbs, request, user, contexts, extra, SDK and
//! processing errors. Every shape is read defensively: SDKs send maps or lists of
//! pairs, strings or numbers, and missing parts are left out.

use serde_json::Value;

use faultline_store::Timestamp;

/// A value as text: strings as they are, the rest as compact JSON.
pub(crate) fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        v => v.to_string(),
    }
}

fn str_of(value: &Value, key: &str) -> Option<String> {
    value.get(key).map(text).filter(|s| !s.is_empty())
}

/// A map, a list of `[key, value]` pairs, a list of `{key, value}` objects or a query
/// string, as pairs.
pub(crate) fn pairs(value: &Value) -> Vec<(String, String)> {
    match value {
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(|item| match item {
                Value::Array(pair) if pair.len() == 2 => Some((text(&pair[0]), text(&pair[1]))),
                Value::Object(o) => Some((o.get("key").map(text)?, o.get("value").map(text).unwrap_or_default())),
                _ => None,
            })
            .collect(),
        Value::String(s) if !s.is_empty() => form_urlencoded::parse(s.trim_start_matches('?').as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
        _ => Vec::new(),
    }
}

/// A Sentry timestamp (seconds or RFC 3339) for people.
fn time_text(value: &Value) -> String {
    match value {
        Value::Number(n) => n
            .as_f64()
            .and_then(Timestamp::from_secs_f64)
            .map(|t| t.to_datetime().format("%Y-%m-%d %H:%M:%S%.3f").to_string())
            .unwrap_or_default(),
        Value::String(s) => Timestamp::parse_rfc3339(s)
            .map(|t| t.to_datetime().format("%Y-%m-%d %H:%M:%S%.3f").to_string())
            .unwrap_or_else(|| s.clone()),
        _ => String::new(),
    }
}

/// A numbered source line.
pub(crate) struct SourceLine {
    pub number: i64,
    pub code: String,
    pub current: bool,
}

pub(crate) struct Frame {
    pub location: String,
    pub function: String,
    pub in_app: bool,
    pub lines: Vec<SourceLine>,
    pub vars: Vec<(String, String)>,
}

pub(crate) struct Exception {
    pub ty: String,
    pub value: String,
    pub module: String,
    pub mechanism: String,
    pub handled: Option<bool>,
    pub frames: Vec<Frame>,
}

impl Exception {
    /// `handled`, `unhandled` or nothing.
    pub fn handled_text(&self) -> &'static str {
        match self.handled {
            Some(true) => "handled",
            Some(false) => "unhandled",
            None => "",
        }
    }
}

pub(crate) struct Crumb {
    pub time: String,
    pub category: String,
    pub level: String,
    pub message: String,
    pub data: String,
}

pub(crate) struct Section {
    pub title: String,
    pub rows: Vec<(String, String)>,
}

pub(crate) struct Request {
    pub url: String,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
    pub body: String,
    pub env: Vec<(String, String)>,
    pub cookies: Vec<(String, String)>,
}

/// An event, ready to show.
pub(crate) struct EventView {
    pub message: String,
    pub exceptions: Vec<Exception>,
    /// The exceptions as a plain-text traceback, to copy into a ticket or a chat.
    pub raw_traceback: String,
    pub crumbs: Vec<Crumb>,
    pub crumb_categories: Vec<String>,
    pub request: Option<Request>,
    pub user: Vec<(String, String)>,
    pub contexts: Vec<Section>,
    pub extra: Vec<(String, String)>,
    pub sdk: Vec<(String, String)>,
    pub errors: Vec<Section>,
    /// A Content-Security-Policy report.
    pub csp: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
    pub environment: String,
    pub release: String,
    pub platform: String,
}

fn frame(f: &Value) -> Frame {
    let file =
        str_of(f, "filename").or_else(|| str_of(f, "abs_path")).or_else(|| str_of(f, "module")).unwrap_or_default();
    let mut location = file;
    if let Some(line) = f.get("lineno").and_then(Value::as_i64) {
        location.push_str(&format!(":{line}"));
        if let Some(col) = f.get("colno").and_then(Value::as_i64) {
            location.push_str(&format!(":{col}"));
        }
    }
    let mut lines = Vec::new();
    if let (Some(lineno), Some(current)) = (f.get("lineno").and_then(Value::as_i64), f.get("context_line")) {
        let pre: Vec<String> =
            f.get("pre_context").and_then(Value::as_array).map(|a| a.iter().map(text).collect()).unwrap_or_default();
        let post: Vec<String> =
            f.get("post_context").and_then(Value::as_array).map(|a| a.iter().map(text).collect()).unwrap_or_default();
        let first = lineno - pre.len() as i64;
        for (i, code) in pre.into_iter().enumerate() {
            lines.push(SourceLine { number: first + i as i64, code, current: false });
        }
        lines.push(SourceLine { number: lineno, code: text(current), current: true });
        for (i, code) in post.into_iter().enumerate() {
            lines.push(SourceLine { number: lineno + 1 + i as i64, code, current: false });
        }
    }
    Frame {
        location,
        function: str_of(f, "function").unwrap_or_else(|| "?".into()),
        in_app: f.get("in_app").and_then(Value::as_bool).unwrap_or(false),
        lines,
        vars: f.get("vars").map(pairs).unwrap_or_default(),
    }
}

/// A Python-style traceback of a chain of exceptions (each stored oldest frame first,
/// the chain oldest exception first), which reads well for every platform.
pub(crate) fn raw_traceback(exceptions: &[Value]) -> String {
    let mut out = String::new();
    for (i, e) in exceptions.iter().enumerate() {
        if i > 0 {
            out.push_str("\nThe above exception was the direct cause of the following exception:\n\n");
        }
        let frames = e.get("stacktrace").and_then(|s| s.get("frames")).and_then(Value::as_array);
        if let Some(frames) = frames.filter(|f| !f.is_empty()) {
            out.push_str("Traceback (most recent call last):\n");
            for f in frames {
                let file = str_of(f, "filename").or_else(|| str_of(f, "abs_path")).or_else(|| str_of(f, "module"));
                out.push_str(&format!("  File \"{}\"", file.unwrap_or_else(|| "?".into())));
                if let Some(line) = f.get("lineno").and_then(Value::as_i64) {
                    out.push_str(&format!(", line {line}"));
                }
                out.push_str(&format!(", in {}\n", str_of(f, "function").unwrap_or_else(|| "?".into())));
                if let Some(code) = str_of(f, "context_line").filter(|c| !c.trim().is_empty()) {
                    out.push_str(&format!("    {}\n", code.trim()));
                }
            }
        }
        let ty = str_of(e, "type").unwrap_or_else(|| "Error".into());
        match str_of(e, "value").filter(|v| !v.is_empty()) {
            Some(value) => out.push_str(&format!("{ty}: {value}\n")),
            None => out.push_str(&format!("{ty}\n")),
        }
    }
    out
}

/// Reads the stored event. `newest_first` reverses the chain of exceptions and each
/// stack (Sentry stores both oldest first); `crumb_category` keeps only that category.
pub(crate) fn view(event: &Value, newest_first: bool, crumb_category: Option<&str>) -> EventView {
    let values = |key: &str| -> Vec<Value> {
        match event.get(key) {
            Some(Value::Array(a)) => a.clone(),
            Some(v) => v.get("values").and_then(Value::as_array).cloned().unwrap_or_default(),
            None => Vec::new(),
        }
    };
    let mut exceptions: Vec<Exception> = values("exception")
        .iter()
        .map(|e| {
            let mechanism = e.get("mechanism").cloned().unwrap_or(Value::Null);
            let mut frames: Vec<Frame> = e
                .get("stacktrace")
                .and_then(|s| s.get("frames"))
                .and_then(Value::as_array)
                .map(|fs| fs.iter().map(frame).collect())
                .unwrap_or_default();
            if newest_first {
                frames.reverse();
            }
            Exception {
                ty: str_of(e, "type").unwrap_or_default(),
                value: str_of(e, "value").unwrap_or_default(),
                module: str_of(e, "module").unwrap_or_default(),
                mechanism: str_of(&mechanism, "type").unwrap_or_default(),
                handled: mechanism.get("handled").and_then(Value::as_bool),
                frames,
            }
        })
        .collect();
    if newest_first {
        exceptions.reverse();
    }
    let all_crumbs = values("breadcrumbs");
    let mut crumb_categories: Vec<String> =
        all_crumbs.iter().filter_map(|c| str_of(c, "category").or_else(|| str_of(c, "type"))).collect();
    crumb_categories.sort();
    crumb_categories.dedup();
    let crumbs = all_crumbs
        .iter()
        .map(|c| Crumb {
            time: c.get("timestamp").map(time_text).unwrap_or_default(),
            category: str_of(c, "category").or_else(|| str_of(c, "type")).unwrap_or_default(),
            level: str_of(c, "level").unwrap_or_else(|| "info".into()),
            message: str_of(c, "message").unwrap_or_default(),
            data: c.get("data").filter(|d| !d.is_null()).map(text).unwrap_or_default(),
        })
        .filter(|c| crumb_category.is_none_or(|cat| c.category == cat))
        .collect();
    let request = event.get("request").filter(|r| r.is_object()).map(|r| Request {
        url: str_of(r, "url").unwrap_or_default(),
        method: str_of(r, "method").unwrap_or_default(),
        headers: r.get("headers").map(pairs).unwrap_or_default(),
        query: r.get("query_string").map(pairs).unwrap_or_default(),
        body: r.get("data").filter(|d| !d.is_null()).map(text).unwrap_or_default(),
        env: r.get("env").map(pairs).unwrap_or_default(),
        cookies: r.get("cookies").map(pairs).unwrap_or_default(),
    });
    let contexts = event
        .get("contexts")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(_, v)| v.is_object())
                .map(|(k, v)| Section {
                    title: k.clone(),
                    rows: pairs(v).into_iter().filter(|(key, _)| key != "type").collect(),
                })
                .collect()
        })
        .unwrap_or_default();
    let errors = event
        .get("errors")
        .and_then(Value::as_array)
        .map(|errs| {
            errs.iter()
                .map(|e| Section { title: str_of(e, "type").unwrap_or_else(|| "error".into()), rows: pairs(e) })
                .collect()
        })
        .unwrap_or_default();
    let message = event
        .get("logentry")
        .and_then(|l| str_of(l, "formatted").or_else(|| str_of(l, "message")))
        .or_else(|| match event.get("message") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(m) => str_of(m, "formatted").or_else(|| str_of(m, "message")),
            None => None,
        })
        .unwrap_or_default();
    EventView {
        raw_traceback: raw_traceback(&values("exception")),
        message,
        exceptions,
        crumbs,
        crumb_categories,
        request,
        user: event.get("user").map(pairs).unwrap_or_default(),
        contexts,
        extra: event.get("extra").map(pairs).unwrap_or_default(),
        sdk: event.get("sdk").filter(|s| s.is_object()).map(pairs).unwrap_or_default(),
        errors,
        csp: event.get("csp").filter(|c| c.is_object()).map(pairs).unwrap_or_default(),
        tags: event.get("tags").map(pairs).unwrap_or_default(),
        environment: str_of(event, "environment").unwrap_or_default(),
        release: str_of(event, "release").unwrap_or_default(),
        platform: str_of(event, "platform").unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_exceptions_crumbs_and_request() {
        let event = json!({
            "exception": {"values": [
                {"type": "KeyError", "value": "'a'", "stacktrace": {"frames": [
                    {"filename": "lib.py", "function": "get", "lineno": 3, "in_app": false},
                    {"filename": "app.py", "function": "main", "lineno": 10, "in_app": true,
                     "context_line": "x = d['a']", "pre_context": ["d = {}"], "post_context": ["print(x)"],
                     "vars": {"d": {}}}
                ]}},
                {"type": "ValueError", "value": "bad", "mechanism": {"type": "generic", "handled": false}}
            ]},
            "breadcrumbs": {"values": [
                {"timestamp": 1_700_000_000.5, "category": "http", "message": "GET /"},
                {"timestamp": "2024-05-01T12:00:00Z", "category": "log", "message": "hello"}
            ]},
            "request": {"url": "http://x/y", "method": "GET", "headers": [["Accept", "*/*"]], "query_string": "a=1&b=2"},
            "contexts": {"os": {"type": "os", "name": "Linux"}},
            "tags": [["browser", "Firefox"]],
        });
        let v = view(&event, true, None);
        assert_eq!(v.exceptions[0].ty, "ValueError");
        assert_eq!(v.exceptions[0].handled, Some(false));
        assert_eq!(v.exceptions[1].frames[0].function, "main");
        assert!(v.exceptions[1].frames[0].in_app);
        let lines = &v.exceptions[1].frames[0].lines;
        assert_eq!((lines[0].number, lines[1].number, lines[2].number), (9, 10, 11));
        assert!(lines[1].current);
        assert_eq!(v.exceptions[1].frames[0].vars, [("d".to_string(), "{}".to_string())]);
        let oldest = view(&event, false, Some("log"));
        assert_eq!(oldest.exceptions[0].ty, "KeyError");
        assert_eq!(oldest.exceptions[0].frames[0].function, "get");
        assert_eq!(oldest.crumbs.len(), 1);
        assert_eq!(v.crumb_categories, ["http", "log"]);
        let request = v.request.unwrap();
        assert_eq!(request.query, [("a".to_string(), "1".to_string()), ("b".to_string(), "2".to_string())]);
        assert_eq!(request.headers[0].0, "Accept");
        assert_eq!(v.contexts[0].rows, [("name".to_string(), "Linux".to_string())]);
        assert_eq!(v.tags[0].1, "Firefox");
        // The raw traceback keeps the stored order whatever the page shows.
        assert_eq!(
            v.raw_traceback,
            "Traceback (most recent call last):\n  File \"lib.py\", line 3, in get\n  File \"app.py\", line 10, in main\n    \
             x = d['a']\nKeyError: 'a'\n\nThe above exception was the direct cause of the following exception:\n\n\
             ValueError: bad\n"
        );
        assert_eq!(oldest.raw_traceback, v.raw_traceback);
    }
}
