//! Top-level attributes: level, platform, release, environment, dist, logger, tags,
//! fingerprint, modules, sdk, extra, user, contexts, breadcrumbs, threads.

use serde_json::Value;

use crate::scrub;
use crate::stacktrace;
use crate::time;
use crate::trim;
use crate::util::{
    coerce_string, expect_object, normalize_string_field, truncate_chars, truncate_ellipsis, Errors, Object,
};

/// Tag keys and values are cut to this many characters.
pub(crate) const MAX_TAG_CHARS: usize = 200;
/// Breadcrumbs kept (the most recent ones).
pub(crate) const MAX_BREADCRUMBS: usize = 100;

const VALID_PLATFORMS: [&str; 27] = [
    "as3",
    "c",
    "cfml",
    "cocoa",
    "csharp",
    "dart",
    "elixir",
    "elm",
    "go",
    "groovy",
    "haskell",
    "java",
    "javascript",
    "kotlin",
    "lua",
    "native",
    "node",
    "objc",
    "other",
    "perl",
    "php",
    "powershell",
    "python",
    "ruby",
    "rust",
    "swift",
    "unity",
];

/// A level name from a string (with aliases) or a Python logging number; `None` if unknown.
pub(crate) fn parse_level(v: &Value) -> Option<&'static str> {
    match v {
        Value::String(s) => {
            let s = s.trim();
            const NAMES: [(&str, &str); 12] = [
                ("error", "error"),
                ("info", "info"),
                ("warning", "warning"),
                ("debug", "debug"),
                ("fatal", "fatal"),
                ("warn", "warning"),
                ("critical", "fatal"),
                ("log", "info"),
                ("trace", "debug"),
                ("notice", "info"),
                ("err", "error"),
                ("information", "info"),
            ];
            NAMES.iter().find(|(name, _)| s.eq_ignore_ascii_case(name)).map(|(_, level)| *level)
        }
        Value::Number(n) => match n.as_i64()? {
            0..=10 => Some("debug"),
            11..=20 => Some("info"),
            21..=30 => Some("warning"),
            31..=40 => Some("error"),
            41..=100 => Some("fatal"),
            _ => None,
        },
        _ => None,
    }
}

/// GlitchTip's level number.
pub(crate) fn level_number(level: &str) -> i16 {
    match level {
        "debug" => 1,
        "info" => 2,
        "warning" => 3,
        "fatal" => 5,
        _ => 4,
    }
}

/// `level` (default `error`, `info` for transactions) and `platform` (default `other`).
pub(crate) fn level_and_platform(event: &mut Object, default_level: &'static str, errors: &mut Errors) {
    let level = match event.get("level") {
        None | Some(Value::Null) => default_level,
        Some(v) => match parse_level(v) {
            Some(l) => l,
            None => {
                errors.invalid("level", v.clone());
                "error"
            }
        },
    };
    crate::util::set_str(event, "level", level);
    let platform = match event.get("platform") {
        Some(Value::String(p)) => {
            let p = p.trim().to_ascii_lowercase();
            VALID_PLATFORMS.iter().find(|v| **v == p).copied().unwrap_or("other")
        }
        _ => "other",
    };
    crate::util::set_str(event, "platform", platform);
}

/// Release, environment and dist: trimmed; invalid releases dropped with an error;
/// environment and dist cut to 64 characters.
pub(crate) fn release_environment_dist(event: &mut Object, errors: &mut Errors) {
    for key in ["release", "environment", "dist"] {
        normalize_string_field(event, key, key, errors);
        let Some(Value::String(s)) = event.get_mut(key) else { continue };
        let trimmed = s.trim();
        if trimmed.len() != s.len() {
            *s = trimmed.to_string();
        }
        let invalid = s.contains(['\n', '\r', '\t'])
            || (key == "release" && (s == "." || s == ".." || crate::util::char_len_exceeds(s, 200)));
        if s.is_empty() {
            event.remove(key);
        } else if invalid {
            if let Some(bad) = event.remove(key) {
                errors.invalid(key, bad);
            }
        } else if key != "release" {
            truncate_chars(s, 64);
        }
    }
}

/// `logger` (Java-style names over 64 characters keep their tail behind `*`),
/// `transaction` and `culprit` (200 characters).
pub(crate) fn logger_transaction(event: &mut Object) {
    if let Some(Value::String(l)) = event.get_mut("logger") {
        if crate::util::char_len_exceeds(l, 64) {
            *l = shorten_logger(l);
        }
    }
    trim::string_field(event, "transaction", 200);
    trim::string_field(event, "culprit", 200);
}

fn shorten_logger(l: &str) -> String {
    let mut tail = String::new();
    for part in l.rsplit('.') {
        let candidate = if tail.is_empty() { part.to_string() } else { format!("{part}.{tail}") };
        if candidate.chars().count() + 1 > 64 {
            break;
        }
        tail = candidate;
    }
    if tail.is_empty() {
        let mut s = l.to_string();
        truncate_chars(&mut s, 64);
        s
    } else {
        format!("*{tail}")
    }
}

/// Event tags as a list of pairs: object or pair-list input, scalars as strings,
/// `environment` moved out, reserved keys dropped, keys deduplicated, cut to 200.
pub(crate) fn tags(event: &mut Object, errors: &mut Errors) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let raw = match event.remove("tags") {
        None | Some(Value::Null) => return out,
        Some(v) => v,
    };
    let push = |k: Option<String>, v: &Value, out: &mut Vec<(String, String)>| {
        let (Some(k), Some(v)) = (k, coerce_string(v)) else { return };
        out.push((k, v));
    };
    match raw {
        Value::Object(o) => {
            for (k, v) in o {
                push(Some(k), &v, &mut out);
            }
        }
        Value::Array(a) => {
            for item in a {
                match item {
                    Value::Array(p) if p.len() == 2 => push(coerce_string(&p[0]), &p[1], &mut out),
                    Value::String(s) => {
                        if let Some((k, v)) = s.split_once(':') {
                            push(Some(k.to_string()), &Value::String(v.to_string()), &mut out);
                        }
                    }
                    _ => {}
                }
            }
        }
        other => errors.invalid("tags", other),
    }
    let mut seen: Vec<(String, String)> = Vec::with_capacity(out.len());
    for (mut k, mut v) in out {
        let kt = k.trim();
        if kt.len() != k.len() {
            k = kt.to_string();
        }
        if k.is_empty() || v.is_empty() {
            continue;
        }
        if k == "environment" {
            if !event.contains_key("environment") {
                event.insert("environment".into(), Value::String(v));
            }
            continue;
        }
        if matches!(k.as_str(), "release" | "dist" | "user" | "filename" | "function") {
            continue;
        }
        truncate_chars(&mut k, MAX_TAG_CHARS);
        truncate_chars(&mut v, MAX_TAG_CHARS);
        if seen.iter().any(|(sk, _)| *sk == k) {
            continue;
        }
        seen.push((k, v));
    }
    seen
}

/// `fingerprint`: a list of strings (scalars coerced, nulls kept).
pub(crate) fn fingerprint(event: &mut Object, errors: &mut Errors) {
    match event.remove("fingerprint") {
        None | Some(Value::Null) => {}
        Some(Value::Array(parts)) => {
            let parts: Vec<Value> = parts
                .into_iter()
                .filter_map(|p| match p {
                    Value::Null => Some(Value::Null),
                    v => coerce_string(&v).map(Value::String),
                })
                .collect();
            if !parts.is_empty() {
                event.insert("fingerprint".into(), Value::Array(parts));
            }
        }
        Some(other) => errors.invalid("fingerprint", other),
    }
}

/// `modules`: an object of version strings.
pub(crate) fn modules(event: &mut Object, errors: &mut Errors) {
    if !expect_object(event, "modules", "modules", errors) {
        return;
    }
    if let Some(Value::Object(m)) = event.get_mut("modules") {
        m.retain(|_, v| match v {
            Value::String(_) | Value::Null => true,
            Value::Number(_) | Value::Bool(_) => {
                *v = Value::String(coerce_string(v).unwrap_or_default());
                true
            }
            _ => false,
        });
        if m.is_empty() {
            event.remove("modules");
        }
    }
}

/// `sdk`: name and version strings, `packages` as a list, backfilled from the
/// `sentry_client` of the auth header (`name/version`).
pub(crate) fn sdk(event: &mut Object, sdk_client: Option<&str>, errors: &mut Errors) {
    if expect_object(event, "sdk", "sdk", errors) {
        if let Some(Value::Object(sdk)) = event.get_mut("sdk") {
            normalize_string_field(sdk, "name", "sdk.name", errors);
            normalize_string_field(sdk, "version", "sdk.version", errors);
            // A list of objects (the usual shape) stays in place.
            let packages_ok =
                matches!(sdk.get("packages"), Some(Value::Array(list)) if list.iter().all(Value::is_object));
            if !packages_ok {
                match sdk.remove("packages") {
                    None | Some(Value::Null) => {}
                    Some(Value::Array(list)) => {
                        sdk.insert(
                            "packages".into(),
                            Value::Array(list.into_iter().filter(Value::is_object).collect()),
                        );
                    }
                    Some(Value::Object(o)) => {
                        let looks_like_package = o.contains_key("name") && o.values().all(|v| !v.is_object());
                        let list = if looks_like_package {
                            vec![Value::Object(o)]
                        } else {
                            o.into_iter()
                                .map(|(name, version)| {
                                    let mut p = Object::new();
                                    p.insert("name".into(), Value::String(name));
                                    if let Some(v) = coerce_string(&version) {
                                        p.insert("version".into(), Value::String(v));
                                    }
                                    Value::Object(p)
                                })
                                .collect()
                        };
                        sdk.insert("packages".into(), Value::Array(list));
                    }
                    Some(other) => errors.invalid("sdk.packages", other),
                }
            }
            if let Some(i) = sdk.get("integrations") {
                if !i.is_array() {
                    sdk.remove("integrations");
                }
            }
        }
        return;
    }
    if let Some(client) = sdk_client.map(str::trim).filter(|c| !c.is_empty()) {
        let mut sdk = Object::new();
        match client.split_once('/') {
            Some((name, version)) => {
                sdk.insert("name".into(), Value::String(name.into()));
                sdk.insert("version".into(), Value::String(version.into()));
            }
            None => {
                sdk.insert("name".into(), Value::String(client.into()));
            }
        }
        event.insert("sdk".into(), Value::Object(sdk));
    }
}

/// `extra`: an object, trimmed.
pub(crate) fn extra(event: &mut Object, errors: &mut Errors) {
    if expect_object(event, "extra", "extra", errors) {
        if let Some(e) = event.get_mut("extra") {
            trim::databag(e, trim::EXTRA);
        }
    }
}

const USER_STRINGS: [&str; 6] = ["id", "email", "username", "ip_address", "name", "segment"];

/// `user`: known fields as strings, unknown fields moved into `user.data`; an empty
/// user is removed.
pub(crate) fn user(event: &mut Object, errors: &mut Errors) {
    if !expect_object(event, "user", "user", errors) {
        return;
    }
    let Some(Value::Object(u)) = event.get_mut("user") else { return };
    for key in USER_STRINGS {
        normalize_string_field(u, key, format_args!("user.{key}"), errors);
    }
    if let Some(Value::String(email)) = u.get_mut("email") {
        if email.len() > 75 {
            *email = truncate_ellipsis(email, 75);
        }
    }
    for key in ["data", "geo"] {
        expect_object(u, key, format_args!("user.{key}"), errors);
    }
    let unknown: Vec<String> =
        u.keys().filter(|k| !USER_STRINGS.contains(&k.as_str()) && *k != "data" && *k != "geo").cloned().collect();
    if !unknown.is_empty() {
        let mut moved = Object::new();
        for k in unknown {
            if let Some(v) = u.remove(&k) {
                moved.insert(k, v);
            }
        }
        let data = u.entry("data").or_insert_with(|| Value::Object(Object::new()));
        if let Value::Object(d) = data {
            for (k, v) in moved {
                d.entry(k).or_insert(v);
            }
        }
    }
    if let Some(d) = u.get_mut("data") {
        trim::databag(d, trim::CONTEXT);
    }
    u.retain(|_, v| !(v.is_null() || matches!(v, Value::String(s) if s.is_empty())));
    if u.is_empty() {
        event.remove("user");
    }
}

const KNOWN_CONTEXTS: [&str; 14] = [
    "device",
    "os",
    "client_os",
    "runtime",
    "app",
    "browser",
    "gpu",
    "trace",
    "monitor",
    "profile",
    "replay",
    "response",
    "cloud_resource",
    "culture",
];

/// `contexts`: an object of objects, each with a `type`; OS and runtime names parsed
/// from `raw_description`; `reprocessing` removed.
pub(crate) fn contexts(event: &mut Object, errors: &mut Errors) {
    if !expect_object(event, "contexts", "contexts", errors) {
        return;
    }
    let Some(Value::Object(contexts)) = event.get_mut("contexts") else { return };
    contexts.remove("reprocessing");
    // In key order, as the errors are recorded.
    contexts.retain(|key, ctx| {
        let Value::Object(c) = ctx else {
            let bad = std::mem::take(ctx);
            if !bad.is_null() {
                errors.invalid(format_args!("contexts.{key}"), bad);
            }
            return false;
        };
        if !matches!(c.get("type"), Some(Value::String(_))) {
            let name = if key == "client_os" {
                "os"
            } else {
                KNOWN_CONTEXTS.iter().find(|k| **k == key).copied().unwrap_or("default")
            };
            c.insert("type".into(), Value::String(name.into()));
        }
        let ty = c.get("type").and_then(Value::as_str).unwrap_or("");
        if matches!(ty, "os" | "runtime") && !c.contains_key("name") {
            let ty = ty.to_string();
            if let Some(raw) = c.get("raw_description").and_then(Value::as_str).map(str::to_owned) {
                parse_raw_description(c, &ty, &raw);
            }
        }
        trim::databag(ctx, trim::CONTEXT);
        true
    });
    if contexts.is_empty() {
        event.remove("contexts");
    }
}

fn parse_raw_description(c: &mut Object, ty: &str, raw: &str) {
    let raw = raw.trim();
    let tokens: Vec<&str> = raw.split_whitespace().collect();
    let Some(vpos) = tokens.iter().position(|t| t.starts_with(|ch: char| ch.is_ascii_digit())) else {
        if !raw.is_empty() {
            c.insert("name".into(), Value::String(raw.to_string()));
        }
        return;
    };
    let mut name = tokens[..vpos].join(" ");
    let version: String = tokens[vpos]
        .chars()
        .take_while(|ch| ch.is_ascii_digit() || *ch == '.')
        .collect::<String>()
        .trim_end_matches('.')
        .into();
    if ty == "os" {
        if let Some(stripped) = name.strip_prefix("Microsoft ") {
            name = stripped.to_string();
        }
        if name.is_empty() {
            return;
        }
        let kernel = matches!(name.as_str(), "Linux" | "Darwin" | "FreeBSD" | "OpenBSD" | "NetBSD");
        c.insert("name".into(), Value::String(name));
        if !version.is_empty() {
            let key = if kernel { "kernel_version" } else { "version" };
            c.entry(key).or_insert(Value::String(version));
        }
    } else {
        if name.is_empty() {
            return;
        }
        c.insert("name".into(), Value::String(name));
        if !version.is_empty() {
            c.entry("version").or_insert(Value::String(tokens[vpos].to_string()));
        }
    }
}

/// `breadcrumbs.values`: objects with parsed timestamps (shifted by the clock drift),
/// `type` and `level` defaults; at most the last 100.
#[cfg(test)]
pub(crate) fn breadcrumbs(event: &mut Object, drift: i64, errors: &mut Errors) {
    breadcrumbs_scrubbed(event, drift, false, errors);
}

/// [`breadcrumbs`], with each kept breadcrumb's `data` and `message` scrubbed when
/// `scrub` is set, as [`crate::scrub::scrub_event`] would scrub them (no later step
/// reads or changes breadcrumbs, so the result is the same, without another walk).
pub(crate) fn breadcrumbs_scrubbed(event: &mut Object, drift: i64, scrub: bool, errors: &mut Errors) {
    let Some(Value::Object(b)) = event.get_mut("breadcrumbs") else { return };
    let Some(Value::Array(values)) = b.get_mut("values") else {
        event.remove("breadcrumbs");
        return;
    };
    let list = std::mem::take(values);
    let skip = list.len().saturating_sub(MAX_BREADCRUMBS);
    let mut kept = Vec::with_capacity(list.len() - skip);
    for (i, crumb) in list.into_iter().enumerate().skip(skip) {
        let path = format_args!("breadcrumbs.values.{i}");
        let mut c = match crumb {
            Value::Object(c) => c,
            Value::Null => continue,
            other => {
                errors.invalid(path, other);
                continue;
            }
        };
        if !breadcrumb_fast(&mut c, drift, scrub) {
            breadcrumb_general(&mut c, path, drift, scrub, errors);
        }
        kept.push(Value::Object(c));
    }
    if kept.is_empty() {
        event.remove("breadcrumbs");
    } else if let Some(Value::Object(b)) = event.get_mut("breadcrumbs") {
        b.insert("values".into(), Value::Array(kept));
    }
}

/// One breadcrumb object, of any shape.
fn breadcrumb_general(
    c: &mut Object,
    path: impl std::fmt::Display + Copy,
    drift: i64,
    scrub: bool,
    errors: &mut Errors,
) {
    time::normalize_field(c, "timestamp", format_args!("{path}.timestamp"), drift, errors);
    for key in ["type", "category", "message", "event_id"] {
        normalize_string_field(c, key, format_args!("{path}.{key}"), errors);
    }
    if !matches!(c.get("type"), Some(Value::String(s)) if !s.is_empty()) {
        c.insert("type".into(), Value::String("default".into()));
    }
    let level = c.get("level").and_then(parse_level).unwrap_or("info");
    c.insert("level".into(), Value::String(level.into()));
    if let Some(Value::String(m)) = c.get_mut("message") {
        truncate_chars(m, crate::message::MAX_MESSAGE_CHARS);
    }
    if expect_object(c, "data", format_args!("{path}.data"), errors) {
        if let Some(d) = c.get_mut("data") {
            trim::databag(d, trim::CONTEXT);
        }
    }
    if scrub {
        if let Some(d) = c.get_mut("data") {
            scrub::scrub_value(d);
        }
        if let Some(Value::String(m)) = c.get_mut("message") {
            scrub::scrub_string(m);
        }
    }
}

/// Normalizes a well-formed breadcrumb (known fields of the right types, a parsable
/// timestamp) in one pass over its fields, as the general path would; returns false,
/// having changed nothing, for any other, which then takes the general path.
fn breadcrumb_fast(c: &mut Object, drift: i64, scrub: bool) -> bool {
    let (mut timestamp, mut ty, mut level, mut message, mut data) = (None, None, None, None, None);
    for (k, v) in c.iter_mut() {
        match (k.as_str(), v) {
            ("timestamp", v) => timestamp = Some(v),
            ("type", Value::String(t)) => ty = Some(t),
            ("category" | "event_id", Value::String(_)) => {}
            ("message", Value::String(m)) => message = Some(m),
            ("level", v) => level = Some(v),
            ("data", v @ Value::Object(_)) => data = Some(v),
            ("type" | "category" | "event_id" | "message" | "data", _) => return false,
            _ => {}
        }
    }
    if let Some(t) = timestamp {
        let Some(m) = time::parse(t) else { return false };
        *t = time::to_value(time::shift(m, drift));
    }
    let has_type = match ty {
        Some(t) if t.is_empty() => {
            t.push_str("default");
            true
        }
        Some(_) => true,
        None => false,
    };
    let level_name = level.as_deref().and_then(parse_level).unwrap_or("info");
    let has_level = match level {
        Some(Value::String(l)) if l == level_name => true,
        Some(l) => {
            *l = Value::String(level_name.into());
            true
        }
        None => false,
    };
    if let Some(d) = data {
        trim::databag(d, trim::CONTEXT);
        if scrub {
            scrub::scrub_value(d);
        }
    }
    if let Some(m) = message {
        truncate_chars(m, crate::message::MAX_MESSAGE_CHARS);
        if scrub {
            scrub::scrub_string(m);
        }
    }
    if !has_type {
        c.insert("type".into(), Value::String("default".into()));
    }
    if !has_level {
        c.insert("level".into(), Value::String(level_name.into()));
    }
    true
}

/// `threads.values[].stacktrace` and the top-level `stacktrace`.
pub(crate) fn threads_and_stacktrace(event: &mut Object, errors: &mut Errors) {
    if let Some(Value::Object(t)) = event.get_mut("threads") {
        if let Some(Value::Array(values)) = t.get_mut("values") {
            values.retain(Value::is_object);
            for (i, thread) in values.iter_mut().enumerate() {
                if let Value::Object(th) = thread {
                    if let Some(st) = th.get_mut("stacktrace") {
                        if !stacktrace::normalize(st, format_args!("threads.values.{i}.stacktrace"), errors) {
                            th.remove("stacktrace");
                        }
                    }
                }
            }
        }
    }
    if let Some(st) = event.get_mut("stacktrace") {
        if !stacktrace::normalize(st, "stacktrace", errors) {
            event.remove("stacktrace");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Object {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn levels() {
        for (input, want) in [
            (json!("warn"), "warning"),
            (json!("critical"), "fatal"),
            (json!("log"), "info"),
            (json!("ERROR"), "error"),
            (json!("bogus"), "error"),
            (json!(30), "warning"),
        ] {
            let mut ev = obj(json!({ "level": input }));
            level_and_platform(&mut ev, "error", &mut Errors::default());
            assert_eq!(ev["level"], want);
        }
        let mut ev = obj(json!({}));
        level_and_platform(&mut ev, "info", &mut Errors::default());
        assert_eq!(ev["level"], "info");
        assert_eq!(ev["platform"], "other");
        let mut ev = obj(json!({"platform": "Python"}));
        level_and_platform(&mut ev, "error", &mut Errors::default());
        assert_eq!(ev["platform"], "python");
        assert_eq!(level_number("warning"), 3);
    }

    #[test]
    fn release_env_dist() {
        let mut e = Errors::default();
        let mut ev = obj(json!({"release": " 1.0 ", "environment": "x".repeat(70), "dist": ""}));
        release_environment_dist(&mut ev, &mut e);
        assert_eq!(ev["release"], "1.0");
        assert_eq!(ev["environment"].as_str().unwrap().len(), 64);
        assert!(ev.get("dist").is_none());
        let mut ev = obj(json!({"release": "a\nb", "environment": 5}));
        release_environment_dist(&mut ev, &mut e);
        assert!(ev.get("release").is_none());
        assert_eq!(ev["environment"], "5");
        assert_eq!(e.list.len(), 1);
    }

    #[test]
    fn logger_shortening() {
        let l = "Microsoft.AspNetCore.Diagnostics.DeveloperExceptionPageMiddleware.Something.Long";
        let mut ev = obj(json!({ "logger": l }));
        logger_transaction(&mut ev);
        let s = ev["logger"].as_str().unwrap();
        assert!(s.starts_with('*') && s.chars().count() <= 64 && l.ends_with(&s[1..]), "{s}");
        let mut ev = obj(json!({"transaction": "x".repeat(201)}));
        logger_transaction(&mut ev);
        assert_eq!(ev["transaction"], format!("{}…", "x".repeat(199)));
    }

    #[test]
    fn tag_normalization() {
        let mut e = Errors::default();
        let mut ev = obj(
            json!({"tags": {"a": 1, "b": true, "environment": "prod", "release": "x", "": "v", "c": null, "d": ""}}),
        );
        let t = tags(&mut ev, &mut e);
        assert_eq!(t, vec![("a".into(), "1".into()), ("b".into(), "True".into())]);
        assert_eq!(ev["environment"], "prod");
        let mut ev = obj(json!({"tags": [["k", "v"], ["k", "w"], ["n", 2], "x:y", [1]]}));
        let t = tags(&mut ev, &mut e);
        assert_eq!(t, vec![("k".into(), "v".into()), ("n".into(), "2".into()), ("x".into(), "y".into())]);
        let mut ev = obj(json!({"tags": {"k": "v".repeat(300)}}));
        assert_eq!(tags(&mut ev, &mut e)[0].1.len(), 200);
        let mut ev = obj(json!({"tags": "nope"}));
        assert!(tags(&mut ev, &mut e).is_empty());
        assert_eq!(e.list.len(), 1);
    }

    #[test]
    fn sdk_and_modules() {
        let mut e = Errors::default();
        let mut ev = obj(
            json!({"sdk": {"name": "s", "version": 1, "packages": {"pypi:x": "1.0"}}, "modules": {"a": "1", "b": 2, "c": [1]}}),
        );
        sdk(&mut ev, None, &mut e);
        modules(&mut ev, &mut e);
        assert_eq!(ev["sdk"], json!({"name": "s", "version": "1", "packages": [{"name": "pypi:x", "version": "1.0"}]}));
        assert_eq!(ev["modules"], json!({"a": "1", "b": "2"}));
        let mut ev = obj(json!({}));
        sdk(&mut ev, Some("sentry.python/1.5.1"), &mut e);
        assert_eq!(ev["sdk"], json!({"name": "sentry.python", "version": "1.5.1"}));
    }

    #[test]
    fn users() {
        let mut e = Errors::default();
        let mut ev = obj(json!({"user": {"id": 1, "email": "a@b.c", "plan": "pro", "ip_address": null}}));
        user(&mut ev, &mut e);
        assert_eq!(ev["user"], json!({"id": "1", "email": "a@b.c", "data": {"plan": "pro"}}));
        let mut ev = obj(json!({"user": {}}));
        user(&mut ev, &mut e);
        assert!(ev.get("user").is_none());
        let mut ev = obj(json!({"user": 5}));
        user(&mut ev, &mut e);
        assert!(ev.get("user").is_none());
        assert_eq!(e.list[0], json!({"type": "invalid_data", "name": "user", "value": 5}));
    }

    #[test]
    fn context_types_and_descriptions() {
        let mut e = Errors::default();
        let mut ev = obj(json!({"contexts": {
            "server-os": {"type": "os", "raw_description": "Linux 5.4.0-7626-generic #30~1588169883~20.04~bbe668a-Ubuntu SMP"},
            "server-runtime": {"type": "runtime", "raw_description": ".NET Core 3.1.3"},
            "win": {"type": "os", "raw_description": "Microsoft Windows 10.0.19041"},
            "trace": {"trace_id": "abc"},
            "user": {"name": "Bob"},
            "bad": 5,
            "reprocessing": {"x": 1},
        }}));
        contexts(&mut ev, &mut e);
        let c = &ev["contexts"];
        assert_eq!(c["server-os"]["name"], "Linux");
        assert_eq!(c["server-os"]["kernel_version"], "5.4.0");
        assert_eq!(c["server-runtime"]["name"], ".NET Core");
        assert_eq!(c["server-runtime"]["version"], "3.1.3");
        assert_eq!(c["win"]["name"], "Windows");
        assert_eq!(c["win"]["version"], "10.0.19041");
        assert_eq!(c["trace"]["type"], "trace");
        assert_eq!(c["user"]["type"], "default");
        assert!(c.get("bad").is_none() && c.get("reprocessing").is_none());
        assert_eq!(e.list.len(), 1);
    }

    /// The one-pass path gives what the general path gives, on well-formed breadcrumbs,
    /// scrubbed or not.
    #[test]
    fn fast_breadcrumbs_match_general_path() {
        let crumbs = [
            json!({"timestamp": "2020-05-13T00:37:49.100000Z", "type": "", "category": "query", "message": "SELECT 4111 1111 1111 1111", "data": {}}),
            json!({"timestamp": 1599504392.5, "level": "WARN", "message": "m".repeat(9000), "data": {"password": "x", "n": 1}}),
            json!({"level": 20, "event_id": "e", "type": "http", "data": {"url": "http://u:p@h/x", "auth": "Bearer abc.def"}}),
            json!({"level": "info", "message": "Authorization: Bearer abc", "other": [1, 2]}),
            json!({"level": ["x"]}),
            json!({}),
        ];
        for crumb in crumbs {
            for (scrub, drift) in [(false, 0), (true, 0), (true, 3_600_000_000)] {
                let mut fast = crumb.as_object().cloned().unwrap();
                let mut general = fast.clone();
                assert!(breadcrumb_fast(&mut fast, drift, scrub), "{crumb}");
                let mut e = Errors::default();
                breadcrumb_general(&mut general, "b", drift, scrub, &mut e);
                assert_eq!(fast, general, "{crumb}");
                assert!(e.list.is_empty());
            }
        }
        for crumb in
            [json!({"timestamp": "nope"}), json!({"timestamp": null}), json!({"type": 1}), json!({"data": "x"})]
        {
            let mut c = crumb.as_object().cloned().unwrap();
            assert!(!breadcrumb_fast(&mut c, 0, true));
            assert_eq!(Value::Object(c), crumb, "unchanged when not taken");
        }
    }

    #[test]
    fn breadcrumb_defaults_and_limit() {
        let mut e = Errors::default();
        let crumbs: Vec<Value> =
            (0..120).map(|i| json!({"message": format!("m{i}"), "timestamp": 1599504392.0 + f64::from(i)})).collect();
        let mut ev = obj(json!({"breadcrumbs": {"values": crumbs}}));
        breadcrumbs(&mut ev, 0, &mut e);
        let v = ev["breadcrumbs"]["values"].as_array().unwrap();
        assert_eq!(v.len(), 100);
        assert_eq!(v[0]["message"], "m20");
        assert_eq!(v[0]["type"], "default");
        assert_eq!(v[0]["level"], "info");
        let mut ev = obj(json!({"breadcrumbs": {"values": [
            {"level": "log", "timestamp": "2022-02-16T16:03:21.362913Z", "data": {}},
            {"timestamp": "nope", "data": "x"},
            7,
        ]}}));
        breadcrumbs(&mut ev, 1_000_000, &mut e);
        let v = ev["breadcrumbs"]["values"].as_array().unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0]["level"], "info");
        assert_eq!(v[0]["timestamp"], json!(1645027402.362913));
        assert!(v[1].get("timestamp").is_none() && v[1].get("data").is_none());
    }
}
