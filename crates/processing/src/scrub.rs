//! PII scrubbing: values under sensitive keys become `[Filtered]`; credit card numbers,
//! PEM private keys, URL passwords and bearer tokens inside strings are filtered.
//!
//! Strings are first checked with cheap byte scans; the regexes run only on strings
//! that could match.

use std::sync::LazyLock;

use memchr::memmem::Finder;
use regex::Regex;
use serde_json::Value;

use crate::util::Object;

/// The replacement text.
pub(crate) const FILTERED: &str = "[Filtered]";

/// Key fragments that mark a value as sensitive (case-insensitive substring match).
const SENSITIVE_KEYS: [&str; 16] = [
    "password",
    "secret",
    "passwd",
    "api_key",
    "apikey",
    "api-key",
    "auth",
    "credentials",
    "mysql_pwd",
    "privatekey",
    "private_key",
    "token",
    "otp",
    "two-factor",
    "two_factor",
    "set-cookie",
];

/// For each byte, the fragments of [`SENSITIVE_KEYS`] (as bits) whose byte at `AT` it is,
/// in either case.
const fn fragments_with_byte<const AT: usize>() -> [u16; 256] {
    let mut t = [0u16; 256];
    let mut i = 0;
    while i < SENSITIVE_KEYS.len() {
        let b = SENSITIVE_KEYS[i].as_bytes()[AT];
        t[b as usize] |= 1 << i;
        t[b.to_ascii_uppercase() as usize] |= 1 << i;
        i += 1;
    }
    t
}
const FIRST: [u16; 256] = fragments_with_byte::<0>();
const SECOND: [u16; 256] = fragments_with_byte::<1>();

/// Whether a key names sensitive data.
pub(crate) fn is_sensitive_key(key: &str) -> bool {
    let b = key.as_bytes();
    if b.len() < 3 || b.len() > 256 {
        return false;
    }
    // Only the fragments whose first two bytes match at a position are compared there
    // (case-insensitively: the fragments are lowercase ASCII).
    for i in 0..b.len() - 1 {
        let mut candidates = FIRST[b[i] as usize] & SECOND[b[i + 1] as usize];
        while candidates != 0 {
            let n = SENSITIVE_KEYS[candidates.trailing_zeros() as usize].as_bytes();
            candidates &= candidates - 1;
            if b.len() - i >= n.len() && b[i..i + n.len()].eq_ignore_ascii_case(n) {
                return true;
            }
        }
    }
    false
}

static PEM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?s)-----BEGIN[A-Z ]*PRIVATE KEY-----.*?(?:-----END[A-Z ]*PRIVATE KEY-----|\z)")
        .expect("the PEM pattern is valid")
});
static URL_AUTH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(//[a-z0-9%_.~+!$&'()*,;=-]+):([^@/\s]+)@").expect("the URL credentials pattern is valid")
});
static BEARER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(bearer)\s+[a-z0-9._~+/=-]+").expect("the bearer pattern is valid"));

/// The literal triggers of the PEM and bearer filters.
const LITERALS: [&str; 3] = ["PRIVATE KEY-----", "earer", "EARER"];

/// Finds any of [`LITERALS`] in one vectorized pass (where the CPU allows; else one
/// search per literal).
static LITERAL_SEARCH: LazyLock<Option<aho_corasick::packed::Searcher>> =
    LazyLock::new(|| aho_corasick::packed::Config::new().builder().extend(LITERALS).build());
static LITERAL_FINDERS: LazyLock<[Finder<'static>; 3]> = LazyLock::new(|| LITERALS.map(Finder::new));

fn has_literal(bytes: &[u8]) -> bool {
    match &*LITERAL_SEARCH {
        Some(searcher) => searcher.find(bytes).is_some(),
        None => LITERAL_FINDERS.iter().any(|f| f.find(bytes).is_some()),
    }
}

/// The number of ASCII digits (vectorizes: per-chunk byte counters).
fn count_digits(bytes: &[u8]) -> usize {
    bytes
        .chunks(255)
        .map(|chunk| usize::from(chunk.iter().fold(0u8, |n, b| n + u8::from(b.wrapping_sub(b'0') < 10))))
        .sum()
}

/// What a string holds of each filter's trigger.
struct Scan {
    digits: usize,
    at: bool,
    literal: bool,
}

fn scan(bytes: &[u8]) -> Scan {
    Scan { digits: count_digits(bytes), at: memchr::memchr(b'@', bytes).is_some(), literal: has_literal(bytes) }
}

/// Filters sensitive substrings of a string in place; returns whether it changed.
pub(crate) fn scrub_string(s: &mut String) -> bool {
    if s.len() < 12 {
        return false;
    }
    // Cheap vectorized scans find which filters can apply; the regexes run only when
    // their literal trigger is present.
    let mut found = scan(s.as_bytes());
    let mut changed = false;
    if found.digits >= 15 {
        if let Some(new) = filter_cards(s) {
            *s = new;
            changed = true;
            found = scan(s.as_bytes());
        }
    }
    if found.literal && s.contains("PRIVATE KEY-----") {
        let new = PEM.replace_all(s, FILTERED);
        if new != s.as_str() {
            *s = new.into_owned();
            changed = true;
        }
    }
    if found.at && s.contains("//") {
        let new = URL_AUTH.replace_all(s, format!("$1:{FILTERED}@").as_str());
        if new != s.as_str() {
            *s = new.into_owned();
            changed = true;
        }
    }
    if found.literal && (s.contains("earer") || s.contains("EARER")) {
        let new = BEARER.replace_all(s, format!("$1 {FILTERED}").as_str());
        if new != s.as_str() {
            *s = new.into_owned();
            changed = true;
        }
    }
    changed
}

/// Replaces card numbers (Visa, Mastercard, Amex, Discover prefixes; 15 or 16 digits,
/// optionally grouped with spaces or dashes; Luhn-valid; not inside a longer number).
fn filter_cards(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out: Option<String> = None;
    let mut last = 0usize;
    let mut i = 0usize;
    while i < b.len() {
        let boundary = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        if !(b[i].is_ascii_digit() && boundary) {
            i += 1;
            continue;
        }
        // Collect digits with single separators.
        let mut digits = [0u8; 20];
        let mut n = 0usize;
        let mut j = i;
        let mut end = i;
        while j < b.len() && n < 20 {
            if b[j].is_ascii_digit() {
                digits[n] = b[j] - b'0';
                n += 1;
                j += 1;
                end = j;
            } else if (b[j] == b' ' || b[j] == b'-') && j + 1 < b.len() && b[j + 1].is_ascii_digit() {
                j += 1;
            } else {
                break;
            }
        }
        let after_ok = end >= b.len() || !b[end].is_ascii_alphanumeric();
        if after_ok && is_card(&digits[..n]) {
            let o = out.get_or_insert_with(|| String::with_capacity(s.len()));
            o.push_str(&s[last..i]);
            o.push_str(FILTERED);
            last = end;
            i = end;
        } else {
            // Skip the whole digit run.
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    out.map(|mut o| {
        o.push_str(&s[last..]);
        o
    })
}

fn is_card(d: &[u8]) -> bool {
    let prefix_ok = match d.len() {
        15 => d[0] == 3 && (d[1] == 4 || d[1] == 7),
        16 => {
            d[0] == 4
                || (d[0] == 5 && (1..=5).contains(&d[1]))
                || (d[0] == 2 && (2..=7).contains(&d[1]))
                || (d[0] == 6 && (d[1] == 5 || d[..4] == [6, 0, 1, 1]))
        }
        _ => false,
    };
    prefix_ok && luhn(d)
}

fn luhn(d: &[u8]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            let x = u32::from(x);
            if i % 2 == 1 {
                let y = x * 2;
                if y > 9 {
                    y - 9
                } else {
                    y
                }
            } else {
                x
            }
        })
        .sum();
    sum % 10 == 0
}

/// Scrubs a free-form value: sensitive keys filtered, strings pattern-scrubbed.
pub(crate) fn scrub_value(v: &mut Value) {
    match v {
        Value::String(s) => {
            scrub_string(s);
        }
        Value::Array(a) => a.iter_mut().for_each(scrub_value),
        Value::Object(o) => scrub_object(o),
        _ => {}
    }
}

fn scrub_object(o: &mut Object) {
    for (k, v) in o.iter_mut() {
        if is_sensitive_key(k) {
            filter(v);
        } else {
            scrub_value(v);
        }
    }
}

fn filter(v: &mut Value) {
    match v {
        Value::Null => {}
        Value::String(s) if s.is_empty() => {}
        _ => *v = Value::String(FILTERED.into()),
    }
}

/// Scrubs a list of `[key, value]` pairs; `all` filters every value.
fn scrub_pairs(v: &mut Value, all: bool, extra_sensitive: &[&str]) {
    let Value::Array(list) = v else { return };
    for pair in list.iter_mut() {
        let Value::Array(p) = pair else { continue };
        if p.len() < 2 {
            continue;
        }
        let key = p[0].as_str().unwrap_or("");
        let sensitive = all || is_sensitive_key(key) || extra_sensitive.iter().any(|k| key.eq_ignore_ascii_case(k));
        if sensitive {
            filter(&mut p[1]);
        } else {
            scrub_value(&mut p[1]);
        }
    }
}

fn scrub_frames(st: Option<&mut Value>) {
    let Some(Value::Array(frames)) = st.and_then(|s| s.get_mut("frames")) else { return };
    for f in frames {
        if let Some(vars) = f.get_mut("vars") {
            scrub_value(vars);
        }
    }
}

/// Scrubs the event's request, stack-frame variables, `extra`, contexts, breadcrumbs and
/// log entry.
#[cfg(test)]
pub(crate) fn scrub_event(event: &mut Object) {
    scrub_event_parts(event, true);
}

/// [`scrub_event`], breadcrumbs only when `breadcrumbs` is set (the pipeline scrubs them
/// while normalizing them).
pub(crate) fn scrub_event_parts(event: &mut Object, breadcrumbs: bool) {
    if let Some(Value::Object(req)) = event.get_mut("request") {
        if let Some(h) = req.get_mut("headers") {
            scrub_pairs(h, false, &["Cookie", "Set-Cookie", "X-Api-Key", "X-Auth-Token", "Proxy-Authorization"]);
        }
        if let Some(c) = req.get_mut("cookies") {
            scrub_pairs(c, true, &[]);
        }
        if let Some(q) = req.get_mut("query_string") {
            scrub_pairs(q, false, &[]);
        }
        for key in ["env", "data", "url"] {
            if let Some(v) = req.get_mut(key) {
                scrub_value(v);
            }
        }
    }
    if let Some(Value::Array(values)) = event.get_mut("exception").and_then(|e| e.get_mut("values")) {
        for e in values {
            scrub_frames(e.get_mut("stacktrace"));
            scrub_frames(e.get_mut("raw_stacktrace"));
        }
    }
    scrub_frames(event.get_mut("stacktrace"));
    if let Some(Value::Array(threads)) = event.get_mut("threads").and_then(|t| t.get_mut("values")) {
        for t in threads {
            scrub_frames(t.get_mut("stacktrace"));
        }
    }
    if let Some(extra) = event.get_mut("extra") {
        scrub_value(extra);
    }
    if let Some(Value::Object(contexts)) = event.get_mut("contexts") {
        for ctx in contexts.values_mut() {
            scrub_value(ctx);
        }
    }
    if let Some(Value::Array(crumbs)) =
        event.get_mut("breadcrumbs").filter(|_| breadcrumbs).and_then(|b| b.get_mut("values"))
    {
        for c in crumbs {
            if let Some(d) = c.get_mut("data") {
                scrub_value(d);
            }
            if let Some(Value::String(m)) = c.get_mut("message") {
                scrub_string(m);
            }
        }
    }
    if let Some(Value::Object(entry)) = event.get_mut("logentry") {
        for key in ["params", "formatted", "message"] {
            if let Some(v) = entry.get_mut(key) {
                scrub_value(v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sensitive_keys() {
        for k in
            ["password", "DB_PASSWORD", "XAUTHORITY", "SSH_AUTH_SOCK", "api_key", "X-Api-Key", "csrf_token", "apiKey"]
        {
            assert!(is_sensitive_key(k), "{k}");
        }
        for k in ["PATH", "HOME", "user", "SENTRY_DSN", "id", "a", "Accept"] {
            assert!(!is_sensitive_key(k), "{k}");
        }
    }

    /// The key check agrees with the plain definition (lowercase, then any fragment).
    #[test]
    fn sensitive_keys_match_reference() {
        fn reference(key: &str) -> bool {
            if key.len() < 3 || key.len() > 256 {
                return false;
            }
            let lower = key.to_ascii_lowercase();
            SENSITIVE_KEYS.iter().any(|n| lower.contains(n))
        }
        let pieces = [
            "pass",
            "word",
            "PASSWD",
            "Auth",
            "api",
            "_",
            "-",
            "key",
            "Tok",
            "en",
            "x",
            "Ötp",
            "two",
            "factor",
            "set-",
            "cookie",
            "MYSQL_PWD",
            "private",
            "Secret",
            "cred",
            "entials",
            "é",
            "o",
            "tp",
            "a",
        ];
        let mut x: u64 = 7;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut key = String::new();
            let mut y = x;
            for _ in 0..(x % 6) {
                key.push_str(pieces[(y % pieces.len() as u64) as usize]);
                y /= pieces.len() as u64;
            }
            assert_eq!(is_sensitive_key(&key), reference(&key), "{key}");
        }
        assert!(is_sensitive_key(&format!("{}password", "x".repeat(248))));
        assert!(!is_sensitive_key(&format!("{}password", "x".repeat(249))));
    }

    /// The vectorized trigger search agrees with one search per literal.
    #[test]
    fn literal_triggers() {
        for s in [
            "",
            "Bearer x",
            "BEARER",
            "bEaRer",
            "-----BEGIN RSA PRIVATE KEY-----",
            "PRIVATE KEY----",
            "clearer",
            "no trigger at all in this fairly long string of text, none at all",
            "x".repeat(100).as_str(),
        ] {
            let plain = LITERAL_FINDERS.iter().any(|f| f.find(s.as_bytes()).is_some());
            assert_eq!(has_literal(s.as_bytes()), plain, "{s}");
            assert_eq!(plain, LITERALS.iter().any(|l| s.contains(l)), "{s}");
        }
        assert_eq!(count_digits("a1b22c333".repeat(100).as_bytes()), 600);
    }

    #[test]
    fn cards() {
        let mut s = "card 4111 1111 1111 1111 here".to_string();
        assert!(scrub_string(&mut s));
        assert_eq!(s, "card [Filtered] here");
        let mut s = "4111-1111-1111-1111".to_string();
        assert!(scrub_string(&mut s));
        assert_eq!(s, "[Filtered]");
        let mut s = "amex 378282246310005".to_string();
        assert!(scrub_string(&mut s));
        // Not Luhn-valid, or a timestamp, or inside a longer number: kept.
        for keep in ["4111 1111 1111 1112", "t=1599504394897123", "id 41111111111111119999", "x4111111111111111"] {
            let mut s = keep.to_string();
            assert!(!scrub_string(&mut s), "{keep}");
            assert_eq!(s, keep);
        }
    }

    #[test]
    fn keys_urls_bearer() {
        let mut s = "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----".to_string();
        assert!(scrub_string(&mut s));
        assert_eq!(s, FILTERED);
        let mut s = "postgres://app:hunter2@db:5432/app".to_string();
        assert!(scrub_string(&mut s));
        assert_eq!(s, "postgres://app:[Filtered]@db:5432/app");
        let mut s = "http://b51e7d1344884130b74078abfc9c7428@localhost:8000/19".to_string();
        assert!(!scrub_string(&mut s), "a DSN without a password is kept");
        let mut s = "Authorization: Bearer abc.def-ghi".to_string();
        assert!(scrub_string(&mut s));
        assert_eq!(s, "Authorization: Bearer [Filtered]");
    }

    #[test]
    fn event_areas_and_non_sensitive_data_kept() {
        let mut ev = json!({
            "request": {
                "headers": [["Authorization", "Basic abc"], ["Cookie", "a=b"], ["Host", "x"], ["X-Api-Key", "k"]],
                "cookies": [["theme", "dark"]],
                "query_string": [["token", "t"], ["page", "2"]],
                "env": {"SECRET_KEY": "s", "SERVER_NAME": "web"},
                "data": {"user": {"password": "p", "name": "bob"}, "card": "4242424242424242"},
            },
            "exception": {"values": [{"stacktrace": {"frames": [{"vars": {"api_key": "k", "n": 1}}]}}]},
            "extra": {"note": "fine", "auth": {"x": 1}, "empty_token": ""},
            "contexts": {"app": {"secret": "s", "name": "app"}},
            "breadcrumbs": {"values": [{"message": "Bearer abcdef123", "data": {"passwd": "x"}}]},
            "logentry": {"formatted": "paid with 4242 4242 4242 4242", "params": ["4242424242424242", "ok"]},
            "user": {"email": "a@b.c"},
        });
        scrub_event(ev.as_object_mut().unwrap());
        let r = &ev["request"];
        assert_eq!(
            r["headers"],
            json!([
                ["Authorization", "[Filtered]"],
                ["Cookie", "[Filtered]"],
                ["Host", "x"],
                ["X-Api-Key", "[Filtered]"]
            ])
        );
        assert_eq!(r["cookies"], json!([["theme", "[Filtered]"]]));
        assert_eq!(r["query_string"], json!([["token", "[Filtered]"], ["page", "2"]]));
        assert_eq!(r["env"], json!({"SECRET_KEY": "[Filtered]", "SERVER_NAME": "web"}));
        assert_eq!(r["data"], json!({"user": {"password": "[Filtered]", "name": "bob"}, "card": "[Filtered]"}));
        assert_eq!(
            ev["exception"]["values"][0]["stacktrace"]["frames"][0]["vars"],
            json!({"api_key": "[Filtered]", "n": 1})
        );
        assert_eq!(ev["extra"], json!({"note": "fine", "auth": "[Filtered]", "empty_token": ""}));
        assert_eq!(ev["contexts"]["app"], json!({"secret": "[Filtered]", "name": "app"}));
        assert_eq!(
            ev["breadcrumbs"]["values"][0],
            json!({"message": "Bearer [Filtered]", "data": {"passwd": "[Filtered]"}})
        );
        assert_eq!(ev["logentry"], json!({"formatted": "paid with [Filtered]", "params": ["[Filtered]", "ok"]}));
        assert_eq!(ev["user"], json!({"email": "a@b.c"}));
    }
}
