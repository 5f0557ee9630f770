//! User agent → `browser`, `os`/`client_os` and `device` contexts.
//!
//! Browser and OS come from uap-core's regexes (the `uaparser` crate, built once per
//! [`crate::Processor`] on first use, device rules off); the device comes from a small
//! hand-written heuristic. Results are cached per user-agent string.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

use regex::Regex;
use serde_json::Value;
use uaparser::{Parser as _, UserAgentParser};

use crate::util::Object;

static REGEXES: &[u8] = include_bytes!("../data/uap-regexes.yaml");

/// Entries kept in the per-string cache before it is cleared.
const CACHE_CAPACITY: usize = 4096;
/// User agents longer than this are not parsed (nor cached).
const MAX_UA_LEN: usize = 1024;

/// What a user agent says about the client.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct UaInfo {
    /// Browser name and version.
    pub(crate) browser: Option<(String, Option<String>)>,
    /// OS name and version.
    pub(crate) os: Option<(String, Option<String>)>,
    /// Device family, model, brand.
    pub(crate) device: Option<(String, String, Option<String>)>,
}

/// The user-agent parser and its cache.
#[derive(Default)]
pub(crate) struct UaParser {
    parser: OnceLock<Option<UserAgentParser>>,
    cache: Mutex<HashMap<Box<str>, Arc<UaInfo>>>,
}

impl UaParser {
    fn parser(&self) -> Option<&UserAgentParser> {
        self.parser
            .get_or_init(|| {
                UserAgentParser::builder().with_unicode_support(false).with_device(false).build_from_bytes(REGEXES).ok()
            })
            .as_ref()
    }

    /// Parses a user agent, from the cache when seen before.
    pub(crate) fn parse(&self, ua: &str) -> Arc<UaInfo> {
        if ua.len() > MAX_UA_LEN || ua.trim().is_empty() {
            return Arc::new(UaInfo::default());
        }
        if let Some(hit) = self.lock().get(ua) {
            return hit.clone();
        }
        let info = Arc::new(self.parse_uncached(ua));
        let mut cache = self.lock();
        if cache.len() >= CACHE_CAPACITY {
            cache.clear();
        }
        cache.insert(ua.into(), info.clone());
        info
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Arc<UaInfo>>> {
        self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn parse_uncached(&self, ua: &str) -> UaInfo {
        let mut info = UaInfo { device: device(ua), ..UaInfo::default() };
        let Some(parser) = self.parser() else { return info };
        let agent = parser.parse_user_agent(ua);
        if agent.family != "Other" && !agent.family.is_empty() {
            let version = join_version(&[agent.major.as_deref(), agent.minor.as_deref(), agent.patch.as_deref()]);
            info.browser = Some((agent.family.into_owned(), version));
        }
        let os = parser.parse_os(ua);
        if os.family != "Other" && !os.family.is_empty() {
            let mut version = join_version(&[
                os.major.as_deref(),
                os.minor.as_deref(),
                os.patch.as_deref(),
                os.patch_minor.as_deref(),
            ]);
            // Browsers freeze these versions in the UA string.
            if (os.family == "Windows" && version.as_deref() == Some("10"))
                || (os.family == "Mac OS X" && version.as_deref() == Some("10.15.7"))
            {
                version = version.map(|v| format!(">={v}"));
            }
            info.os = Some((os.family.into_owned(), version));
        }
        info
    }
}

fn join_version(parts: &[Option<&str>]) -> Option<String> {
    let mut out = String::new();
    for p in parts {
        match p {
            Some(p) if !p.is_empty() => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(p);
            }
            _ => break,
        }
    }
    (!out.is_empty()).then_some(out)
}

static ANDROID_MODEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"Android[^;)]*;(?:\s*[a-zA-Z]{2}[-_][a-zA-Z]{2};)?\s*([^;)]+?)\s*(?:Build/[^;)]*)?\)")
        .expect("the Android model pattern is valid")
});

/// Device family, model and brand from the user agent.
fn device(ua: &str) -> Option<(String, String, Option<String>)> {
    let apple = |name: &str| Some((name.to_string(), name.to_string(), Some("Apple".to_string())));
    if ua.contains("iPhone") {
        return apple("iPhone");
    }
    if ua.contains("iPad") {
        return apple("iPad");
    }
    if ua.contains("iPod") {
        return apple("iPod");
    }
    if ua.contains("Android") {
        let model = ANDROID_MODEL.captures(ua)?.get(1)?.as_str().trim();
        if model.is_empty() || model == "K" || model.starts_with("Linux") || model.starts_with("Mobile") {
            return None;
        }
        return Some((model.to_string(), model.to_string(), None));
    }
    if ua.contains("Macintosh") {
        return apple("Mac");
    }
    None
}

/// Adds `browser`, `os` (for JavaScript, or when the event has no OS context) or
/// `client_os`, and `device` contexts from the request's `User-Agent`, without
/// replacing any context the SDK sent.
pub(crate) fn apply(event: &mut Object, parser: &UaParser) {
    let ua = match event.get("request").and_then(|r| r.get("headers")) {
        Some(Value::Array(headers)) => headers.iter().find_map(|h| match h {
            Value::Array(p) if p.len() == 2 && p[0].as_str() == Some("User-Agent") => p[1].as_str(),
            _ => None,
        }),
        _ => None,
    };
    let Some(ua) = ua else { return };
    let info = parser.parse(ua);
    if info.browser.is_none() && info.os.is_none() && info.device.is_none() {
        return;
    }
    let javascript = event.get("platform").and_then(Value::as_str) == Some("javascript");
    let contexts = match event.entry("contexts").or_insert_with(|| Value::Object(Object::new())) {
        Value::Object(c) => c,
        other => {
            *other = Value::Object(Object::new());
            let Value::Object(c) = other else { return };
            c
        }
    };
    if let Some((name, version)) = &info.browser {
        if !contexts.contains_key("browser") {
            contexts.insert("browser".into(), named_context("browser", name, version.as_deref()));
        }
    }
    if let Some((name, version)) = &info.os {
        let key = if javascript || !contexts.contains_key("os") { "os" } else { "client_os" };
        if !contexts.contains_key(key) {
            contexts.insert(key.into(), named_context("os", name, version.as_deref()));
        }
    }
    if let Some((family, model, brand)) = &info.device {
        if !contexts.contains_key("device") {
            let mut d = Object::new();
            d.insert("family".into(), Value::String(family.clone()));
            d.insert("model".into(), Value::String(model.clone()));
            if let Some(b) = brand {
                d.insert("brand".into(), Value::String(b.clone()));
            }
            d.insert("type".into(), Value::String("device".into()));
            contexts.insert("device".into(), Value::Object(d));
        }
    }
}

fn named_context(ty: &str, name: &str, version: Option<&str>) -> Value {
    let mut o = Object::new();
    o.insert("name".into(), Value::String(name.into()));
    if let Some(v) = version {
        o.insert("version".into(), Value::String(v.into()));
    }
    o.insert("type".into(), Value::String(ty.into()));
    Value::Object(o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    static PARSER: LazyLock<UaParser> = LazyLock::new(UaParser::default);

    #[test]
    fn parses_browsers_and_os() {
        let i = PARSER.parse("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:76.0) Gecko/20100101 Firefox/76.0");
        assert_eq!(i.browser, Some(("Firefox".into(), Some("76.0".into()))));
        assert_eq!(i.os, Some(("Ubuntu".into(), None)));
        assert_eq!(i.device, None);
        let i = PARSER.parse(
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/105.0.0.0 Safari/537.36",
        );
        assert_eq!(i.browser, Some(("Chrome".into(), Some("105.0.0".into()))));
        assert_eq!(i.os, Some(("Linux".into(), None)));
        let i = PARSER.parse(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        );
        assert_eq!(i.os, Some(("Windows".into(), Some(">=10".into()))));
        let i = PARSER.parse("curl/8.0");
        assert_eq!(i.browser.as_ref().map(|b| b.0.as_str()), Some("curl"));
        assert_eq!(*PARSER.parse("???"), UaInfo::default());
    }

    #[test]
    fn devices() {
        let i = PARSER.parse(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
        );
        assert_eq!(i.device, Some(("iPhone".into(), "iPhone".into(), Some("Apple".into()))));
        assert_eq!(i.os.as_ref().map(|o| o.0.as_str()), Some("iOS"));
        let i = PARSER.parse(
            "Mozilla/5.0 (Linux; Android 9; SM-G960F Build/PPR1.180610.011) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/74.0.3729.157 Mobile Safari/537.36",
        );
        assert_eq!(i.device, Some(("SM-G960F".into(), "SM-G960F".into(), None)));
        let i =
            PARSER.parse("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 Chrome/120.0.0.0 Mobile Safari/537.36");
        assert_eq!(i.device, None);
        let i = PARSER.parse(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
        );
        assert_eq!(i.device.as_ref().map(|d| d.1.as_str()), Some("Mac"));
        assert_eq!(i.os, Some(("Mac OS X".into(), Some(">=10.15.7".into()))));
    }

    #[test]
    fn cache_is_bounded() {
        let p = UaParser::default();
        for i in 0..(CACHE_CAPACITY + 10) {
            p.parse(&format!("agent/{i}"));
        }
        assert!(p.lock().len() <= CACHE_CAPACITY);
        let a = p.parse("agent/1");
        let b = p.parse("agent/1");
        assert!(Arc::ptr_eq(&a, &b));
    }

    fn contexts_for(platform: &str, contexts: Value) -> Value {
        let mut ev = json!({
            "platform": platform,
            "contexts": contexts,
            "request": {"headers": [["User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/105.0.0.0 Safari/537.36"]]}
        })
        .as_object()
        .cloned()
        .unwrap();
        apply(&mut ev, &PARSER);
        ev.remove("contexts").unwrap()
    }

    #[test]
    fn contexts() {
        let c = contexts_for("python", json!({}));
        assert_eq!(c["browser"], json!({"name": "Chrome", "version": "105.0.0", "type": "browser"}));
        assert_eq!(c["os"], json!({"name": "Linux", "type": "os"}));
        let c = contexts_for("php", json!({"os": {"name": "Linux", "version": "5.14"}}));
        assert_eq!(c["os"], json!({"name": "Linux", "version": "5.14"}));
        assert_eq!(c["client_os"], json!({"name": "Linux", "type": "os"}));
        let c = contexts_for("javascript", json!({"browser": {"name": "Mine"}}));
        assert_eq!(c["browser"], json!({"name": "Mine"}));
        assert_eq!(c["os"]["name"], "Linux");
    }
}
