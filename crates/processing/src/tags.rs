//! Tags to index: the event's own, then ones synthesized from contexts, user, release,
//! level, request and exception mechanism (glitchtip-backend.md §3.5, Sentry's set).

use serde_json::Value;

use crate::fields::MAX_TAG_CHARS;
use crate::request::url_without_query;
use crate::util::{truncate_chars, Object};

/// Ordered tag list with replace-on-set semantics.
#[derive(Debug, Default)]
pub(crate) struct Tags(pub(crate) Vec<(String, String)>);

impl Tags {
    fn set(&mut self, key: &str, value: &str) {
        let value = value.trim();
        if value.is_empty() {
            return;
        }
        let mut v = value.to_string();
        truncate_chars(&mut v, MAX_TAG_CHARS);
        if let Some(slot) = self.0.iter_mut().find(|(k, _)| k == key) {
            slot.1 = v;
        } else {
            self.0.push((key.to_string(), v));
        }
    }

    /// The tags as the event's `tags` value: `[[k, v], …]`.
    pub(crate) fn to_value(&self) -> Value {
        Value::Array(
            self.0
                .iter()
                .map(|(k, v)| Value::Array(vec![Value::String(k.clone()), Value::String(v.clone())]))
                .collect(),
        )
    }
}

fn s<'a>(v: Option<&'a Value>, key: &str) -> Option<&'a str> {
    v.and_then(|v| v.get(key)).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

/// The `user` tag value: `id:…`, `username:…`, `email:…` or `ip:…`.
pub(crate) fn user_tag(event: &Object) -> Option<String> {
    let user = event.get("user");
    [("id", "id"), ("username", "username"), ("email", "email"), ("ip_address", "ip")]
        .iter()
        .find_map(|(field, prefix)| s(user, field).map(|v| format!("{prefix}:{v}")))
}

/// Builds the tag list. `transaction` events get no level/logger/handled tags.
pub(crate) fn build(event: &Object, own: Vec<(String, String)>, transaction_event: bool) -> Tags {
    let mut tags = Tags(own);
    let contexts = event.get("contexts");
    let browser = contexts.and_then(|c| c.get("browser"));
    if let Some(name) = s(browser, "name") {
        if let Some(version) = s(browser, "version") {
            tags.set("browser", &format!("{name} {version}"));
        }
        tags.set("browser.name", name);
    }
    let os = contexts.and_then(|c| c.get("os"));
    if let Some(name) = s(os, "name") {
        if let Some(version) = s(os, "version") {
            tags.set("os", &format!("{name} {version}"));
        }
        tags.set("os.name", name);
    }
    if let Some(model) = s(contexts.and_then(|c| c.get("device")), "model") {
        tags.set("device", model);
    }
    if let Some(user) = user_tag(event) {
        tags.set("user", &user);
    }
    let top = |k: &str| event.get(k).and_then(Value::as_str).unwrap_or("");
    tags.set("environment", top("environment"));
    tags.set("release", top("release"));
    tags.set("server_name", top("server_name"));
    tags.set("site", top("site"));
    if !transaction_event {
        tags.set("level", top("level"));
        tags.set("logger", top("logger"));
    }
    tags.set("transaction", top("transaction"));
    if let Some(url) = s(event.get("request"), "url") {
        tags.set("url", url_without_query(url));
    }
    if !transaction_event {
        let mechanism = event
            .get("exception")
            .and_then(|e| e.get("values"))
            .and_then(Value::as_array)
            .and_then(|v| v.last())
            .and_then(|e| e.get("mechanism"));
        if let Some(handled) = mechanism.and_then(|m| m.get("handled")).and_then(Value::as_bool) {
            tags.set("handled", if handled { "yes" } else { "no" });
        }
        if let Some(ty) = s(mechanism, "type") {
            tags.set("mechanism", ty);
        }
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn synthesized_tags() {
        let ev = json!({
            "contexts": {"browser": {"name": "Firefox", "version": "76.0"}, "os": {"name": "Ubuntu"}, "device": {"model": "SM-G960F"}},
            "user": {"email": "a@b.c", "ip_address": "1.2.3.4"},
            "environment": "production", "release": "1.0", "server_name": "web-1", "level": "error", "logger": "",
            "transaction": "/x/", "request": {"url": "http://localhost/x/?q=1"},
            "exception": {"values": [{"type": "E", "mechanism": {"type": "django", "handled": false}}]},
        });
        let tags =
            build(ev.as_object().unwrap(), vec![("level".into(), "custom".into()), ("a".into(), "b".into())], false);
        assert_eq!(
            tags.0,
            [
                ("level", "error"),
                ("a", "b"),
                ("browser", "Firefox 76.0"),
                ("browser.name", "Firefox"),
                ("os.name", "Ubuntu"),
                ("device", "SM-G960F"),
                ("user", "email:a@b.c"),
                ("environment", "production"),
                ("release", "1.0"),
                ("server_name", "web-1"),
                ("transaction", "/x/"),
                ("url", "http://localhost/x/"),
                ("handled", "no"),
                ("mechanism", "django"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        assert_eq!(tags.to_value()[0], json!(["level", "error"]));
    }

    #[test]
    fn user_tag_order() {
        let ev = json!({"user": {"id": "1", "email": "x@y.z", "username": "u"}});
        assert_eq!(user_tag(ev.as_object().unwrap()).as_deref(), Some("id:1"));
        let ev = json!({"user": {"username": "user", "ip_address": "1.1.1.1"}});
        assert_eq!(user_tag(ev.as_object().unwrap()).as_deref(), Some("username:user"));
        let ev = json!({"user": {"ip_address": "1.1.1.1"}});
        assert_eq!(user_tag(ev.as_object().unwrap()).as_deref(), Some("ip:1.1.1.1"));
        assert_eq!(user_tag(json!({}).as_object().unwrap()), None);
    }
}
