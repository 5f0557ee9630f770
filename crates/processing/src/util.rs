//! Small helpers over `serde_json::Value` shared by the processing steps.

use md5::{Digest, Md5};
use serde_json::{Map, Value};

/// The JSON object type used throughout.
pub(crate) type Object = Map<String, Value>;

/// Processing errors recorded into the event's `errors` list.
#[derive(Debug, Default)]
pub(crate) struct Errors {
    pub(crate) list: Vec<Value>,
}

impl Errors {
    /// A sub-object of the wrong shape was dropped.
    pub(crate) fn invalid(&mut self, name: impl std::fmt::Display, value: Value) {
        let mut e = Object::new();
        e.insert("type".into(), Value::String("invalid_data".into()));
        e.insert("name".into(), Value::String(name.to_string()));
        e.insert("value".into(), summarize(value));
        self.list.push(Value::Object(e));
    }

    /// Any other error, with extra fields.
    pub(crate) fn push(&mut self, ty: &str, name: &str, extra: Object) {
        let mut e = Object::new();
        e.insert("type".into(), Value::String(ty.into()));
        e.insert("name".into(), Value::String(name.into()));
        for (k, v) in extra {
            e.insert(k, v);
        }
        self.list.push(Value::Object(e));
    }
}

/// Keeps recorded invalid values small: long strings are cut and big containers replaced.
fn summarize(value: Value) -> Value {
    match value {
        Value::String(s) if s.chars().count() > 200 => Value::String(truncate_ellipsis(&s, 200)),
        Value::Array(a) if a.len() > 20 || a.iter().any(is_big) => {
            Value::String(format!("[array of {} items]", a.len()))
        }
        Value::Object(o) if o.len() > 20 || o.values().any(is_big) => {
            Value::String(format!("{{object with {} keys}}", o.len()))
        }
        v => v,
    }
}

fn is_big(v: &Value) -> bool {
    match v {
        Value::String(s) => s.len() > 200,
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => false,
    }
}

/// Truncates to `max` characters, replacing the last kept one with `…` when cut
/// (`"x" * 201` → `"x" * 199 + "…"`), like GlitchTip's `truncatechars`.
pub(crate) fn truncate_ellipsis(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some(_) => {
            let cut = s.char_indices().nth(max.saturating_sub(1)).map_or(s.len(), |(i, _)| i);
            let mut out = String::with_capacity(cut + 3);
            out.push_str(&s[..cut]);
            out.push('…');
            out
        }
    }
}

/// Truncates to at most `max` characters without any marker.
pub(crate) fn truncate_chars(s: &mut String, max: usize) -> bool {
    if s.len() <= max {
        return false;
    }
    if let Some((i, _)) = s.char_indices().nth(max) {
        s.truncate(i);
        true
    } else {
        false
    }
}

/// The number of characters, without counting past `limit + 1`.
pub(crate) fn char_len_exceeds(s: &str, limit: usize) -> bool {
    s.len() > limit && s.chars().nth(limit).is_some()
}

/// A string from a string, number or boolean; `None` for anything else.
pub(crate) fn coerce_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "True".into() } else { "False".into() }),
        _ => None,
    }
}

/// Normalizes a scalar field to a string in place. Numbers and booleans become strings,
/// null is removed, anything else is removed with an `invalid_data` error.
pub(crate) fn normalize_string_field(obj: &mut Object, key: &str, path: impl std::fmt::Display, errors: &mut Errors) {
    let Some(v) = obj.get_mut(key) else { return };
    match v {
        Value::String(_) => {}
        Value::Null => {
            obj.remove(key);
        }
        Value::Number(_) | Value::Bool(_) => {
            let s = coerce_string(v).unwrap_or_default();
            *v = Value::String(s);
        }
        _ => {
            if let Some(bad) = obj.remove(key) {
                errors.invalid(path, bad);
            }
        }
    }
}

/// Ensures `obj[key]` is an object; a null is removed silently, anything else is
/// removed with an error. Returns whether an object is there.
pub(crate) fn expect_object(obj: &mut Object, key: &str, path: impl std::fmt::Display, errors: &mut Errors) -> bool {
    match obj.get(key) {
        None => false,
        Some(Value::Object(_)) => true,
        Some(Value::Null) => {
            obj.remove(key);
            false
        }
        Some(_) => {
            if let Some(bad) = obj.remove(key) {
                errors.invalid(path, bad);
            }
            false
        }
    }
}

/// `obj[key] = value`, reusing the key when already there.
pub(crate) fn set(obj: &mut Object, key: &str, value: Value) {
    match obj.get_mut(key) {
        Some(slot) => *slot = value,
        None => {
            obj.insert(key.into(), value);
        }
    }
}

/// `obj[key] = value` for a string, without allocating when it is already there.
pub(crate) fn set_str(obj: &mut Object, key: &str, value: &str) {
    match obj.get_mut(key) {
        Some(Value::String(s)) if s == value => {}
        Some(slot) => *slot = Value::String(value.into()),
        None => {
            obj.insert(key.into(), Value::String(value.into()));
        }
    }
}

/// A non-empty string field.
pub(crate) fn get_str<'a>(obj: &'a Object, key: &str) -> Option<&'a str> {
    match obj.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.as_str()),
        _ => None,
    }
}

/// An integer from a number or a numeric string.
pub(crate) fn coerce_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64)),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
}

/// A boolean from a boolean, `"true"`/`"false"`, or 0/1.
pub(crate) fn coerce_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Some(true),
            "false" | "no" | "0" => Some(false),
            _ => None,
        },
        Value::Number(n) => match n.as_i64() {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
        _ => None,
    }
}

/// Lowercase 32-hex MD5 of the input.
pub(crate) fn md5_hex(parts: &[&[u8]]) -> String {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    hex32(&h.finalize())
}

/// Lowercase hex of a 16-byte digest.
pub(crate) fn hex32(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 0xf) as usize] as char);
    }
    s
}

/// The first line as Python's `str.splitlines()[0]` would give it (`""` for an empty string).
pub(crate) fn first_line(s: &str) -> &str {
    let end = s
        .char_indices()
        .find(|(_, c)| {
            matches!(
                c,
                '\n' | '\r' | '\u{0b}' | '\u{0c}' | '\u{1c}' | '\u{1d}' | '\u{1e}' | '\u{85}' | '\u{2028}' | '\u{2029}'
            )
        })
        .map_or(s.len(), |(i, _)| i);
    &s[..end]
}

/// The path of a URL (`http://foo.com/foo.js?x` → `/foo.js`), for stack-frame filenames.
pub(crate) fn url_path(s: &str) -> Option<&str> {
    let rest = ["http://", "https://", "file://", "applewebdata://"]
        .iter()
        .find_map(|p| strip_prefix_ci(s, p))
        .or_else(|| strip_prefix_ci(s, "file:"))?;
    let path_start = rest.find('/').unwrap_or(rest.len());
    let path = &rest[path_start..];
    let end = path.find(['?', '#']).unwrap_or(path.len());
    Some(&path[..end])
}

/// The network location (`host[:port]`) of a URL, as Python's `urlparse(..).netloc`.
pub(crate) fn url_netloc(s: &str) -> &str {
    let Some(idx) = s.find("//") else { return "" };
    // Python requires a scheme (letters, digits, +-.) before `//`, or `//` at the start.
    let scheme = &s[..idx];
    let scheme_ok = scheme.is_empty()
        || (scheme.ends_with(':')
            && scheme[..scheme.len() - 1].chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            && scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic()));
    if !scheme_ok {
        return "";
    }
    let rest = &s[idx + 2..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    &rest[..end]
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    if s.len() >= prefix.len() && s.is_char_boundary(prefix.len()) && s[..prefix.len()].eq_ignore_ascii_case(prefix) {
        Some(&s[prefix.len()..])
    } else {
        None
    }
}

/// Removes NUL characters from every string and key, in place.
pub(crate) fn remove_nul(v: &mut Value) {
    match v {
        Value::String(s) if s.contains('\0') => s.retain(|c| c != '\0'),
        Value::Array(a) => a.iter_mut().for_each(remove_nul),
        Value::Object(o) => {
            if o.keys().any(|k| k.contains('\0')) {
                let old = std::mem::take(o);
                for (mut k, mut val) in old {
                    k.retain(|c| c != '\0');
                    remove_nul(&mut val);
                    o.insert(k, val);
                }
            } else {
                o.values_mut().for_each(remove_nul);
            }
        }
        _ => {}
    }
}

/// The last path component of a file name (either slash).
pub(crate) fn basename(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn truncation_like_glitchtip() {
        assert_eq!(truncate_ellipsis(&"x".repeat(201), 200), format!("{}…", "x".repeat(199)));
        assert_eq!(truncate_ellipsis(&"x".repeat(200), 200), "x".repeat(200));
        assert_eq!(truncate_ellipsis("héllo wörld", 5), "héll…");
        let mut s = "ééé".to_string();
        assert!(truncate_chars(&mut s, 2));
        assert_eq!(s, "éé");
    }

    #[test]
    fn first_line_is_python_splitlines() {
        assert_eq!(first_line("a\nb"), "a");
        assert_eq!(first_line("a\r\nb"), "a");
        assert_eq!(first_line(""), "");
        assert_eq!(first_line("\nb"), "");
        assert_eq!(first_line("a\u{2028}b"), "a");
    }

    #[test]
    fn urls() {
        assert_eq!(url_path("http://foo.com/foo.js"), Some("/foo.js"));
        assert_eq!(url_path("https://foo.com/a/b.js?x=1#f"), Some("/a/b.js"));
        assert_eq!(url_path("file:///home/me/x.js"), Some("/home/me/x.js"));
        assert_eq!(url_path("/srv/app.py"), None);
        assert_eq!(url_path("http://foo.com"), Some(""));
        assert_eq!(url_netloc("http://example.com/css/style.css"), "example.com");
        assert_eq!(url_netloc("https://a.b:8080"), "a.b:8080");
        assert_eq!(url_netloc("inline"), "");
        assert_eq!(url_netloc("//cdn.x/y"), "cdn.x");
        assert_eq!(url_netloc("data"), "");
    }

    #[test]
    fn nul_removed_from_strings_and_keys() {
        let mut v = json!({"a\u{0}b": ["x\u{0}y", {"k": "\u{0}"}], "c": 1});
        remove_nul(&mut v);
        assert_eq!(v, json!({"ab": ["xy", {"k": ""}], "c": 1}));
    }

    #[test]
    fn coercions() {
        assert_eq!(coerce_string(&json!(1)), Some("1".into()));
        assert_eq!(coerce_string(&json!(true)), Some("True".into()));
        assert_eq!(coerce_string(&json!([1])), None);
        assert_eq!(coerce_i64(&json!("12")), Some(12));
        assert_eq!(coerce_i64(&json!(12.0)), Some(12));
        assert_eq!(coerce_i64(&json!(12.5)), None);
        assert_eq!(coerce_bool(&json!("false")), Some(false));
        let mut errors = Errors::default();
        let mut o = json!({"a": 1, "b": [1], "c": null, "d": "x"}).as_object().cloned().unwrap();
        for k in ["a", "b", "c", "d"] {
            normalize_string_field(&mut o, k, k, &mut errors);
        }
        assert_eq!(Value::Object(o), json!({"a": "1", "d": "x"}));
        assert_eq!(errors.list, vec![json!({"type": "invalid_data", "name": "b", "value": [1]})]);
    }

    #[test]
    fn md5_and_basename() {
        assert_eq!(md5_hex(&[b""]), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(basename("a/b/c.py"), "c.py");
        assert_eq!(basename("C:\\x\\y.cs"), "y.cs");
    }
}
