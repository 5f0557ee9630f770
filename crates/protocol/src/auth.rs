//! Public keys and the ways SDKs send them.

use std::collections::HashMap;

use base64::Engine;

/// Normalizes a public key to 32 lowercase hex characters. Accepts the dashed UUID
/// form and any case; `None` when it is not a key.
pub fn normalize_key(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let mut out = String::with_capacity(32);
    for c in raw.chars() {
        match c {
            '-' => continue,
            c if c.is_ascii_hexdigit() => out.push(c.to_ascii_lowercase()),
            _ => return None,
        }
    }
    (out.len() == 32).then_some(out)
}

/// Parses `Sentry sentry_key=…, sentry_version=7, sentry_client=…` into its pairs
/// (keys lower-cased). The `Sentry ` prefix is optional here; callers decide whether
/// they require it. `None` when there are no pairs.
pub fn parse_sentry_auth(header: &str) -> Option<HashMap<String, String>> {
    let header = header.trim();
    let rest = match header.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("sentry ") => &header[7..],
        _ => header,
    };
    let mut pairs = HashMap::new();
    for part in rest.split(',') {
        let Some((k, v)) = part.split_once('=') else { continue };
        let v = v.trim().trim_matches('"');
        pairs.insert(k.trim().to_ascii_lowercase(), v.to_string());
    }
    (!pairs.is_empty()).then_some(pairs)
}

/// The public key of `Authorization: Basic base64(public:secret)`.
pub fn parse_basic_auth(header: &str) -> Option<String> {
    let header = header.trim();
    let encoded = match header.get(..6) {
        Some(prefix) if prefix.eq_ignore_ascii_case("basic ") => header[6..].trim(),
        _ => return None,
    };
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(text.split(':').next().unwrap_or_default().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(normalize_key("0123456789ABCDEF0123456789abcdef").unwrap(), "0123456789abcdef0123456789abcdef");
        assert_eq!(normalize_key("01234567-89ab-cdef-0123-456789abcdef").unwrap(), "0123456789abcdef0123456789abcdef");
        assert!(normalize_key("xyz").is_none());
        assert!(normalize_key("0123456789abcdef0123456789abcde").is_none());
        assert!(normalize_key("0123456789abcdef0123456789abcdeg").is_none());
    }

    #[test]
    fn sentry_header() {
        let pairs = parse_sentry_auth(
            "Sentry sentry_version=7, sentry_client=sentry.python/2.0.0, sentry_key=abc, sentry_secret=x",
        )
        .unwrap();
        assert_eq!(pairs["sentry_key"], "abc");
        assert_eq!(pairs["sentry_client"], "sentry.python/2.0.0");
        assert_eq!(parse_sentry_auth("sentry_key=\"k\"").unwrap()["sentry_key"], "k");
        assert!(parse_sentry_auth("Sentry").is_none());
    }

    #[test]
    fn basic() {
        // base64("pub:secret")
        assert_eq!(parse_basic_auth("Basic cHViOnNlY3JldA==").unwrap(), "pub");
        assert!(parse_basic_auth("Bearer abc").is_none());
        assert!(parse_basic_auth("Basic !!!").is_none());
    }
}
