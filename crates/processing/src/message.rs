//! `logentry`: merging the legacy `message` field, and formatting the template with its
//! parameters (Python `%` style or curly `{}` style) into `formatted`.

use std::fmt::Write as _;

use serde_json::Value;

use crate::util::{coerce_string, truncate_chars, Errors, Object};

/// Longest formatted message or template kept, in characters.
pub(crate) const MAX_MESSAGE_CHARS: usize = 8192;

/// Merges `message` into `logentry` and formats it. After this, the event has either no
/// `logentry` or one with a non-empty `formatted` (and `message`/`params` when they differ).
pub(crate) fn normalize(event: &mut Object, errors: &mut Errors) {
    let message = event.remove("message");
    let logentry = event.remove("logentry");
    let entry = match (logentry, message) {
        (Some(l), m) if !l.is_null() => {
            let entry = to_entry(l, "logentry", errors);
            match (entry, m) {
                (Some(e), _) => Some(e),
                (None, Some(m)) => to_entry(m, "message", errors),
                (None, None) => None,
            }
        }
        (_, Some(m)) => to_entry(m, "message", errors),
        _ => None,
    };
    let Some(mut entry) = entry else { return };
    finish(&mut entry);
    if entry.contains_key("formatted") {
        event.insert("logentry".into(), Value::Object(entry));
    }
}

/// A string or `{message, params, formatted}` object as a logentry object.
fn to_entry(v: Value, path: &str, errors: &mut Errors) -> Option<Object> {
    match v {
        Value::Null => None,
        Value::String(s) => {
            let mut o = Object::new();
            o.insert("formatted".into(), Value::String(s));
            Some(o)
        }
        Value::Number(_) | Value::Bool(_) => {
            let mut o = Object::new();
            o.insert("formatted".into(), Value::String(coerce_string(&v).unwrap_or_default()));
            Some(o)
        }
        Value::Object(mut o) => {
            for key in ["message", "formatted"] {
                match o.get(key) {
                    Some(Value::String(_)) | None => {}
                    Some(Value::Number(_) | Value::Bool(_)) => {
                        let s = coerce_string(&o[key]).unwrap_or_default();
                        o.insert(key.into(), Value::String(s));
                    }
                    Some(Value::Null) => {
                        o.remove(key);
                    }
                    Some(_) => {
                        if let Some(bad) = o.remove(key) {
                            errors.invalid(format_args!("{path}.{key}"), bad);
                        }
                    }
                }
            }
            match o.get("params") {
                None | Some(Value::Array(_) | Value::Object(_)) => {}
                Some(Value::Null) => {
                    o.remove("params");
                }
                Some(_) => {
                    // A single scalar parameter.
                    let p = o.remove("params").unwrap_or(Value::Null);
                    o.insert("params".into(), Value::Array(vec![p]));
                }
            }
            Some(o)
        }
        Value::Array(_) => {
            errors.invalid(path, v);
            None
        }
    }
}

/// Formats `message` with `params` when `formatted` is missing, moves a lone `message`
/// to `formatted`, drops a `message` equal to `formatted`, trims both to 8192.
fn finish(entry: &mut Object) {
    let has_formatted = matches!(entry.get("formatted"), Some(Value::String(s)) if !s.is_empty());
    if !has_formatted {
        entry.remove("formatted");
        if let Some(Value::String(template)) = entry.get("message") {
            let formatted = entry.get("params").and_then(|p| format(template, p)).unwrap_or_else(|| template.clone());
            if !formatted.is_empty() {
                entry.insert("formatted".into(), Value::String(formatted));
            }
        }
    }
    if entry.get("message") == entry.get("formatted")
        || matches!(entry.get("message"), Some(Value::String(s)) if s.is_empty())
    {
        entry.remove("message");
    }
    for key in ["formatted", "message"] {
        if let Some(Value::String(s)) = entry.get_mut(key) {
            truncate_chars(s, MAX_MESSAGE_CHARS);
        }
    }
}

/// Formats a message template with its parameters: `%`-style when the template contains
/// `%` (positional, or `%(name)s` with an object), else curly style (`{}`, `{0}`,
/// `{name}`). `None` when there is nothing to format or the parameters do not fit.
pub(crate) fn format(template: &str, params: &Value) -> Option<String> {
    match params {
        Value::Array(a) if !a.is_empty() => {
            if template.contains('%') {
                percent_format(template, Args::List(a))
            } else if template.contains('{') {
                curly_format(template, Args::List(a))
            } else {
                None
            }
        }
        Value::Object(o) if !o.is_empty() => {
            if template.contains("%(") {
                percent_format(template, Args::Map(o))
            } else if template.contains('{') {
                curly_format(template, Args::Map(o))
            } else {
                None
            }
        }
        _ => None,
    }
}

#[derive(Clone, Copy)]
enum Args<'a> {
    List(&'a [Value]),
    Map(&'a Object),
}

fn percent_format(template: &str, args: Args<'_>) -> Option<String> {
    let mut out = String::with_capacity(template.len() + 16);
    let mut chars = template.chars().peekable();
    let mut next_index = 0usize;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        // %(name)
        let arg = if chars.peek() == Some(&'(') {
            chars.next();
            let mut name = String::new();
            loop {
                match chars.next()? {
                    ')' => break,
                    ch => name.push(ch),
                }
            }
            match args {
                Args::Map(m) => m.get(&name)?,
                Args::List(_) => return None,
            }
        } else {
            match args {
                Args::List(l) => {
                    let v = l.get(next_index)?;
                    next_index += 1;
                    v
                }
                Args::Map(_) => return None,
            }
        };
        // flags, width, precision, length
        let mut left = false;
        let mut zero = false;
        let mut plus = false;
        while let Some(&f) = chars.peek() {
            match f {
                '-' => left = true,
                '0' => zero = true,
                '+' => plus = true,
                ' ' | '#' => {}
                _ => break,
            }
            chars.next();
        }
        let mut width = 0usize;
        while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
            width = width.saturating_mul(10).saturating_add(d as usize).min(1000);
            chars.next();
        }
        let mut precision: Option<usize> = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = 0usize;
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                p = p.saturating_mul(10).saturating_add(d as usize).min(100);
                chars.next();
            }
            precision = Some(p);
        }
        while matches!(chars.peek(), Some('h' | 'l' | 'L')) {
            chars.next();
        }
        let conv = chars.next()?;
        let mut piece = match conv {
            's' => {
                let mut s = py_str(arg);
                if let Some(p) = precision {
                    truncate_chars(&mut s, p);
                }
                s
            }
            'r' | 'a' => py_repr(arg),
            'd' | 'i' | 'u' => {
                let n = as_int(arg)?;
                let mut s = n.to_string();
                if plus && n >= 0 {
                    s.insert(0, '+');
                }
                s
            }
            'f' | 'F' => {
                let f = as_float(arg)?;
                format!("{:.*}", precision.unwrap_or(6), f)
            }
            'e' | 'E' => {
                let f = as_float(arg)?;
                let s = format!("{:.*e}", precision.unwrap_or(6), f);
                let s = python_exponent(&s);
                if conv == 'E' {
                    s.to_uppercase()
                } else {
                    s
                }
            }
            'g' | 'G' => {
                let f = as_float(arg)?;
                py_float(f)
            }
            'x' => format!("{:x}", as_int(arg)?),
            'X' => format!("{:X}", as_int(arg)?),
            'o' => format!("{:o}", as_int(arg)?),
            'c' => match arg {
                Value::String(s) if s.chars().count() == 1 => s.clone(),
                _ => char::from_u32(u32::try_from(as_int(arg)?).ok()?)?.to_string(),
            },
            _ => return None,
        };
        let len = piece.chars().count();
        if width > len {
            let pad = width - len;
            if left {
                piece.extend(std::iter::repeat_n(' ', pad));
            } else if zero && matches!(conv, 'd' | 'i' | 'u' | 'f' | 'F' | 'x' | 'X' | 'o') {
                let sign = piece.starts_with(['-', '+']);
                let at = usize::from(sign);
                piece.insert_str(at, &"0".repeat(pad));
            } else {
                piece.insert_str(0, &" ".repeat(pad));
            }
        }
        out.push_str(&piece);
        if out.len() > MAX_MESSAGE_CHARS * 4 {
            break;
        }
    }
    Some(out)
}

fn curly_format(template: &str, args: Args<'_>) -> Option<String> {
    let mut out = String::with_capacity(template.len() + 16);
    let mut chars = template.chars().peekable();
    let mut auto = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut field = String::new();
                loop {
                    match chars.next()? {
                        '}' => break,
                        '{' => return None,
                        ch => field.push(ch),
                    }
                }
                let name = field.split([':', '!']).next().unwrap_or("");
                let arg = if name.is_empty() {
                    let v = match args {
                        Args::List(l) => l.get(auto)?,
                        Args::Map(_) => return None,
                    };
                    auto += 1;
                    v
                } else if let Ok(i) = name.parse::<usize>() {
                    match args {
                        Args::List(l) => l.get(i)?,
                        Args::Map(m) => m.get(name)?,
                    }
                } else {
                    match args {
                        Args::Map(m) => m.get(name)?,
                        Args::List(_) => return None,
                    }
                };
                if field[name.len()..].starts_with("!r") {
                    out.push_str(&py_repr(arg));
                } else {
                    out.push_str(&py_str(arg));
                }
            }
            _ => out.push(c),
        }
    }
    Some(out)
}

fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f.trunc() as i64)),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

fn as_float(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

fn python_exponent(s: &str) -> String {
    // Rust prints `1.5e2`, Python `1.5e+02`.
    match s.split_once('e') {
        Some((m, e)) => {
            let (sign, digits) = e.strip_prefix('-').map_or(("+", e), |d| ("-", d));
            format!("{m}e{sign}{digits:0>2}")
        }
        None => s.to_string(),
    }
}

/// Python's `str()` of a float.
fn py_float(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { "inf" } else { "-inf" }.into()
    } else if f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        f.to_string()
    }
}

/// Python's `str()` of a JSON value.
pub(crate) fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        _ => py_repr(v),
    }
}

/// Python's `repr()` of a JSON value.
fn py_repr(v: &Value) -> String {
    let mut out = String::new();
    write_repr(&mut out, v, 0);
    out
}

fn write_repr(out: &mut String, v: &Value, depth: usize) {
    match v {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => {
                let _ = write!(out, "{i}");
            }
            (None, Some(u)) => {
                let _ = write!(out, "{u}");
            }
            _ => out.push_str(&py_float(n.as_f64().unwrap_or(0.0))),
        },
        Value::String(s) => {
            let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
            out.push(quote);
            for c in s.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if c == quote => {
                        out.push('\\');
                        out.push(c);
                    }
                    c => out.push(c),
                }
            }
            out.push(quote);
        }
        Value::Array(a) => {
            if depth > 8 {
                out.push_str("[...]");
                return;
            }
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(out, x, depth + 1);
            }
            out.push(']');
        }
        Value::Object(o) => {
            if depth > 8 {
                out.push_str("{...}");
                return;
            }
            out.push('{');
            for (i, (k, x)) in o.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(out, &Value::String(k.clone()), depth + 1);
                out.push_str(": ");
                write_repr(out, x, depth + 1);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(t: &str, p: Value) -> Option<String> {
        format(t, &p)
    }

    #[test]
    fn percent_style() {
        assert_eq!(f("This is a warning: %s", json!(["warning"])).unwrap(), "This is a warning: warning");
        assert_eq!(f("%s and %d%%", json!(["a", "42"])).unwrap(), "a and 42%");
        assert_eq!(f("%05d|%-3s|%3s|%.2f", json!([42, "a", "b", 1.23456])).unwrap(), "00042|a  |  b|1.23");
        assert_eq!(f("%(user)s did %(n)d", json!({"user": "bob", "n": 3})).unwrap(), "bob did 3");
        assert_eq!(f("%r %s %s %s", json!(["x", null, true, 1.0])).unwrap(), "'x' None True 1.0");
        assert_eq!(f("%s", json!([[1, "a"]])).unwrap(), "[1, 'a']");
        assert_eq!(f("%x %o %e", json!([255, 8, 1500.0])).unwrap(), "ff 10 1.500000e+03");
        assert_eq!(f("%d", json!(["abc"])), None);
        assert_eq!(f("%s %s", json!(["only one"])), None);
        assert_eq!(f("%(missing)s", json!({"a": 1})), None);
        assert_eq!(f("trailing %", json!(["x"])), None);
    }

    #[test]
    fn curly_style() {
        assert_eq!(f("Here is a new {foo}", json!({"foo": "error"})).unwrap(), "Here is a new error");
        assert_eq!(f("{} and {}", json!(["a", 2])).unwrap(), "a and 2");
        assert_eq!(f("{1} {0} {{x}}", json!(["a", "b"])).unwrap(), "b a {x}");
        assert_eq!(f("{name!r} {n:>5}", json!({"name": "x", "n": 1})).unwrap(), "'x' 1");
        assert_eq!(f("{nope}", json!({"foo": 1})), None);
        assert_eq!(f("{", json!(["a"])), None);
        assert_eq!(f("no placeholders", json!(["a"])), None);
        assert_eq!(f("{}", json!([])), None);
    }

    fn norm(event: Value) -> Value {
        let mut o = event.as_object().cloned().unwrap();
        let mut e = Errors::default();
        normalize(&mut o, &mut e);
        o.get("logentry").cloned().unwrap_or(Value::Null)
    }

    #[test]
    fn logentry_shapes() {
        assert_eq!(norm(json!({"message": "hi"})), json!({"formatted": "hi"}));
        assert_eq!(
            norm(json!({"message": {"message": "Here is a new {foo}", "params": {"foo": "error"}}})),
            json!({"message": "Here is a new {foo}", "params": {"foo": "error"}, "formatted": "Here is a new error"})
        );
        assert_eq!(
            norm(json!({"logentry": {"message": "m", "formatted": "m"}})),
            json!({"formatted": "m"}),
            "message equal to formatted is dropped"
        );
        assert_eq!(
            norm(json!({"logentry": {"message": "This is a warning: %s", "params": []}})),
            json!({"formatted": "This is a warning: %s", "params": []})
        );
        assert_eq!(norm(json!({"logentry": {"message": "x %s", "params": "y"}}))["formatted"], "x y");
        assert_eq!(norm(json!({"logentry": {}})), Value::Null);
        assert_eq!(norm(json!({"message": 5})), json!({"formatted": "5"}));
        assert_eq!(norm(json!({"logentry": {"formatted": "a"}, "message": "b"})), json!({"formatted": "a"}));
        assert_eq!(norm(json!({"logentry": null, "message": "b"})), json!({"formatted": "b"}));
        let long = "y".repeat(9000);
        assert_eq!(norm(json!({ "message": long }))["formatted"].as_str().unwrap().len(), 8192);
    }
}
