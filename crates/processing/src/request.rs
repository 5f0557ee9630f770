//! The HTTP request interface: method, URL split into query and fragment, headers,
//! query string and cookies as sorted lists of pairs, parsed body, content type.

use serde_json::Value;

use crate::trim;
use crate::util::{coerce_string, expect_object, Errors, Object};

/// Normalizes `event.request` in place.
pub(crate) fn normalize(event: &mut Object, errors: &mut Errors) {
    if !expect_object(event, "request", "request", errors) {
        return;
    }
    let Some(Value::Object(req)) = event.get_mut("request") else { return };
    for key in ["url", "method", "fragment", "inferred_content_type"] {
        crate::util::normalize_string_field(req, key, format_args!("request.{key}"), errors);
    }
    if let Some(Value::String(m)) = req.get_mut("method") {
        m.make_ascii_uppercase();
    }
    // URL: query string and fragment move out.
    if let Some(Value::String(url)) = req.get("url") {
        let url = url.clone();
        let (rest, fragment) = match url.split_once('#') {
            Some((r, f)) => (r, Some(f)),
            None => (url.as_str(), None),
        };
        let (base, query) = match rest.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (rest, None),
        };
        if let Some(q) = query {
            let empty = match req.get("query_string") {
                None | Some(Value::Null) => true,
                Some(Value::String(s)) => s.is_empty(),
                Some(Value::Array(a)) => a.is_empty(),
                Some(Value::Object(o)) => o.is_empty(),
                Some(_) => false,
            };
            if empty && !q.is_empty() {
                req.insert("query_string".into(), Value::String(q.to_string()));
            }
        }
        if let Some(f) = fragment {
            if !f.is_empty() && !req.contains_key("fragment") {
                req.insert("fragment".into(), Value::String(f.to_string()));
            }
        }
        if query.is_some() || fragment.is_some() {
            req.insert("url".into(), Value::String(base.to_string()));
        }
    }
    // Headers.
    let mut headers = match req.remove("headers") {
        Some(v) => pairs(v, PairKind::Header, "request.headers", errors),
        None => Vec::new(),
    };
    for (k, _) in headers.iter_mut() {
        if !is_header_name(k) {
            *k = header_name(k);
        }
    }
    // Cookies: from `cookies`, else from the Cookie header; the header itself is dropped.
    let mut cookies = match req.remove("cookies") {
        Some(Value::String(s)) => parse_cookies(&s),
        Some(v) => pairs(v, PairKind::Other, "request.cookies", errors),
        None => Vec::new(),
    };
    if cookies.is_empty() {
        for (k, v) in &headers {
            if k == "Cookie" {
                cookies.extend(parse_cookies(v));
            }
        }
    }
    headers.retain(|(k, _)| k != "Cookie");
    headers.sort();
    cookies.sort();
    let content_type = headers.iter().find(|(k, _)| k == "Content-Type").map(|(_, v)| v.clone());
    if !headers.is_empty() {
        req.insert("headers".into(), to_value(headers));
    }
    if !cookies.is_empty() {
        req.insert("cookies".into(), to_value(cookies));
    }
    // Query string.
    if let Some(q) = req.remove("query_string") {
        let mut list = match q {
            Value::String(s) => parse_query(s.strip_prefix('?').unwrap_or(&s)),
            v => pairs(v, PairKind::Other, "request.query_string", errors),
        };
        list.sort();
        if !list.is_empty() {
            req.insert("query_string".into(), to_value(list));
        }
    }
    // Env.
    expect_object(req, "env", "request.env", errors);
    // Body.
    let mut inferred = None;
    if let Some(data) = req.get_mut("data") {
        if let Value::String(s) = data {
            let ct = content_type.as_deref().unwrap_or("").to_ascii_lowercase();
            let trimmed = s.trim_start();
            if ct.contains("json") || trimmed.starts_with('{') || trimmed.starts_with('[') {
                if let Ok(parsed) = serde_json::from_str::<Value>(s) {
                    if parsed.is_object() || parsed.is_array() {
                        *data = parsed;
                        inferred = Some("application/json");
                    }
                }
            } else if ct.contains("x-www-form-urlencoded") {
                let mut obj = Object::new();
                for (k, v) in parse_query(s) {
                    obj.insert(k, Value::String(v));
                }
                *data = Value::Object(obj);
                inferred = Some("application/x-www-form-urlencoded");
            }
        } else if data.is_object() || data.is_array() {
            inferred = Some("application/json");
        }
        if data.is_null() {
            req.remove("data");
        } else if let Some(d) = req.get_mut("data") {
            trim::databag(d, trim::REQUEST_DATA);
        }
    }
    if !req.contains_key("inferred_content_type") {
        if let Some(ct) = content_type.or(inferred.map(str::to_owned)) {
            req.insert("inferred_content_type".into(), Value::String(ct));
        }
    }
    if req.is_empty() {
        event.remove("request");
    }
}

#[derive(Clone, Copy, PartialEq)]
enum PairKind {
    Header,
    Other,
}

/// An object or a list of `[k, v]` pairs as a list of string pairs. PHP's
/// `{"Name": ["v"]}` lists are joined.
fn pairs(v: Value, kind: PairKind, path: &str, errors: &mut Errors) -> Vec<(String, String)> {
    let mut out = Vec::new();
    match v {
        Value::Object(o) => {
            out.reserve(o.len());
            for (k, v) in o {
                if let Some(s) = pair_value(v, kind) {
                    out.push((k, s));
                }
            }
        }
        Value::Array(a) => {
            out.reserve(a.len());
            for item in a {
                if let Value::Array(pair) = item {
                    if pair.len() >= 2 {
                        let mut pair = pair.into_iter();
                        let (k, v) = (pair.next().unwrap_or_default(), pair.next().unwrap_or_default());
                        if let (Some(k), Some(v)) = (owned_string(k), pair_value(v, kind)) {
                            out.push((k, v));
                        }
                    }
                }
            }
        }
        Value::Null => {}
        other => errors.invalid(path, other),
    }
    out
}

/// [`coerce_string`], moving a string out instead of copying it.
fn owned_string(v: Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s),
        v => coerce_string(&v),
    }
}

fn pair_value(v: Value, kind: PairKind) -> Option<String> {
    match v {
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().filter_map(coerce_string).collect();
            if parts.is_empty() {
                None
            } else {
                Some(parts.join(if kind == PairKind::Header { ", " } else { "," }))
            }
        }
        v => owned_string(v),
    }
}

fn to_value(pairs: Vec<(String, String)>) -> Value {
    Value::Array(pairs.into_iter().map(|(k, v)| Value::Array(vec![Value::String(k), Value::String(v)])).collect())
}

/// `content-type` / `DNT` → `Content-Type` / `Dnt`.
/// Whether [`header_name`] would leave a name as it is (checked for the common
/// characters only; anything else goes through [`header_name`]).
fn is_header_name(name: &str) -> bool {
    let mut upper = true;
    !name.is_empty()
        && name.bytes().all(|b| {
            let ok = (b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && b == if upper { b.to_ascii_uppercase() } else { b.to_ascii_lowercase() };
            upper = b == b'-';
            ok
        })
}

fn header_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.trim().chars() {
        if upper {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        upper = c == '-';
    }
    out
}

/// `a=1; b=2` → pairs.
fn parse_cookies(s: &str) -> Vec<(String, String)> {
    s.split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.trim().to_string(), v.trim().to_string()),
            None => (p.to_string(), String::new()),
        })
        .collect()
}

/// `a=1&b=x+y` → decoded pairs (blank values kept).
pub(crate) fn parse_query(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    if !s.contains(['%', '+']) {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// The request URL without query and fragment, for the `url` tag.
pub(crate) fn url_without_query(url: &str) -> &str {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    &url[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn norm(req: Value) -> Value {
        let mut o = Object::new();
        o.insert("request".into(), req);
        let mut e = Errors::default();
        normalize(&mut o, &mut e);
        o.remove("request").unwrap_or(Value::Null)
    }

    #[test]
    fn headers_sorted_and_cookie_header_parsed() {
        let r = norm(json!({
            "method": "get",
            "url": "http://localhost:8001/divide-zero/?foo=bar&foo=bars&lol=ha#top",
            "headers": {"DNT": "1", "content-type": "text/plain", "Cookie": "a=1; sessionid=xyz", "X-Num": 5, "X-Null": null},
        }));
        assert_eq!(r["method"], "GET");
        assert_eq!(r["url"], "http://localhost:8001/divide-zero/");
        assert_eq!(r["fragment"], "top");
        assert_eq!(r["query_string"], json!([["foo", "bar"], ["foo", "bars"], ["lol", "ha"]]));
        assert_eq!(r["headers"], json!([["Content-Type", "text/plain"], ["Dnt", "1"], ["X-Num", "5"]]));
        assert_eq!(r["cookies"], json!([["a", "1"], ["sessionid", "xyz"]]));
        assert_eq!(r["inferred_content_type"], "text/plain");
    }

    #[test]
    fn php_header_lists_and_empty_cookie() {
        let r = norm(json!({"headers": {"Cookie": ["[Filtered]"], "Accept": ["a", "b"], "Content-Type": [""]}}));
        assert_eq!(r["headers"], json!([["Accept", "a, b"], ["Content-Type", ""]]));
        assert_eq!(r["cookies"], json!([["[Filtered]", ""]]));
        assert_eq!(r["inferred_content_type"], "");
        let r = norm(json!({"headers": {"Cookie": "", "Host": "x"}, "query_string": ""}));
        assert_eq!(r["headers"], json!([["Host", "x"]]));
        assert!(r.get("cookies").is_none());
        assert!(r.get("query_string").is_none());
    }

    #[test]
    fn query_and_body() {
        let r = norm(json!({"query_string": "?a=1+2&b=%41%zz&c", "data": "{\"x\": 1}"}));
        assert_eq!(r["query_string"], json!([["a", "1 2"], ["b", "A%zz"], ["c", ""]]));
        assert_eq!(r["data"], json!({"x": 1}));
        assert_eq!(r["inferred_content_type"], "application/json");
        let r = norm(json!({"headers": [["Content-Type", "application/x-www-form-urlencoded"]], "data": "a=1&b=2"}));
        assert_eq!(r["data"], json!({"a": "1", "b": "2"}));
        let r = norm(json!({"query_string": {"q": "x"}, "data": "plain"}));
        assert_eq!(r["query_string"], json!([["q", "x"]]));
        assert_eq!(r["data"], "plain");
        assert!(r.get("inferred_content_type").is_none());
    }

    #[test]
    fn bad_shapes() {
        let mut o = json!({"request": "GET /"}).as_object().cloned().unwrap();
        let mut e = Errors::default();
        normalize(&mut o, &mut e);
        assert!(o.get("request").is_none());
        assert_eq!(e.list[0], json!({"type": "invalid_data", "name": "request", "value": "GET /"}));
        let r = norm(json!({"headers": "x", "env": [1], "url": 5}));
        assert_eq!(r, json!({"url": "5"}));
    }

    #[test]
    fn header_name_fast_check() {
        for name in [
            "User-Agent",
            "Dnt",
            "X-Api-Key",
            "A",
            "X-1-B",
            "Content_type",
            "user-agent",
            "DNT",
            "X--Y",
            "-X",
            "X-",
            "",
            " Host",
            "Ünï",
            "x_Y",
            "X-y",
        ] {
            if is_header_name(name) {
                assert_eq!(header_name(name), name, "{name}");
            }
        }
        assert!(is_header_name("Content-Type") && !is_header_name("content-type"));
    }

    #[test]
    fn header_names() {
        assert_eq!(header_name("user-agent"), "User-Agent");
        assert_eq!(header_name("X-API-KEY"), "X-Api-Key");
        assert_eq!(header_name("DNT"), "Dnt");
    }
}
