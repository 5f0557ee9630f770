//! IP addresses: `{{auto}}`, `REMOTE_ADDR` → `user.ip_address`, the client IP for
//! browser and mobile platforms, and anonymization.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::Value;

use crate::util::{Errors, Object};

const AUTO: &str = "{{auto}}";

/// Fills and validates IP addresses (Relay's order), then anonymizes them if asked.
pub(crate) fn normalize(event: &mut Object, client_ip: Option<IpAddr>, scrub_ip: bool, errors: &mut Errors) {
    let client = client_ip.map(|ip| ip.to_string());
    // request.env.REMOTE_ADDR
    let mut remote_addr: Option<String> = None;
    if let Some(Value::Object(env)) = event.get_mut("request").and_then(|r| r.get_mut("env")) {
        match env.get("REMOTE_ADDR") {
            Some(Value::String(s)) if s == AUTO => match &client {
                Some(c) => {
                    env.insert("REMOTE_ADDR".into(), Value::String(c.clone()));
                }
                None => {
                    env.remove("REMOTE_ADDR");
                }
            },
            _ => {}
        }
        if let Some(Value::String(s)) = env.get("REMOTE_ADDR") {
            if s.trim().parse::<IpAddr>().is_ok() {
                remote_addr = Some(s.trim().to_string());
            }
        }
    }
    // user.ip_address
    let platform = event.get("platform").and_then(Value::as_str).unwrap_or("");
    let infer = matches!(platform, "javascript" | "cocoa" | "objc");
    let mut ip = match event.get("user").and_then(|u| u.get("ip_address")) {
        Some(Value::String(s)) if s == AUTO => client.clone(),
        Some(Value::String(s)) => match s.trim().parse::<IpAddr>() {
            Ok(ip) => Some(ip.to_string()),
            Err(_) => {
                errors.invalid("user.ip_address", Value::String(s.clone()));
                None
            }
        },
        Some(Value::Null) | None => None,
        Some(other) => {
            errors.invalid("user.ip_address", other.clone());
            None
        }
    };
    if ip.is_none() {
        ip = remote_addr;
    }
    if ip.is_none() && infer {
        ip = client;
    }
    match ip {
        Some(ip) => {
            let user = event.entry("user").or_insert_with(|| Value::Object(Object::new()));
            if let Value::Object(u) = user {
                u.insert("ip_address".into(), Value::String(ip));
            }
        }
        None => {
            if let Some(Value::Object(u)) = event.get_mut("user") {
                u.remove("ip_address");
            }
        }
    }
    if scrub_ip {
        if let Some(Value::Object(u)) = event.get_mut("user") {
            anonymize_field(u, "ip_address");
        }
        if let Some(Value::Object(env)) = event.get_mut("request").and_then(|r| r.get_mut("env")) {
            anonymize_field(env, "REMOTE_ADDR");
        }
    }
}

fn anonymize_field(obj: &mut Object, key: &str) {
    if let Some(Value::String(s)) = obj.get_mut(key) {
        if let Ok(ip) = s.trim().parse::<IpAddr>() {
            *s = anonymize(ip).to_string();
        }
    }
}

/// IPv4: the last octet zeroed; IPv6: the last 80 bits zeroed.
pub(crate) fn anonymize(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            IpAddr::V4(Ipv4Addr::new(a, b, c, 0))
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 80) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(event: Value, client: Option<&str>, scrub: bool) -> Value {
        let mut o = event.as_object().cloned().unwrap();
        let mut e = Errors::default();
        normalize(&mut o, client.map(|c| c.parse().unwrap()), scrub, &mut e);
        Value::Object(o)
    }

    #[test]
    fn anonymization() {
        assert_eq!(anonymize("71.249.111.206".parse().unwrap()).to_string(), "71.249.111.0");
        assert_eq!(anonymize("2001:db8:85a3:1234:5678:8a2e:370:7334".parse().unwrap()).to_string(), "2001:db8:85a3::");
        assert_eq!(anonymize("::1".parse().unwrap()).to_string(), "::");
    }

    #[test]
    fn auto_and_remote_addr() {
        let ev = run(json!({"user": {"ip_address": "{{auto}}", "username": "u"}}), Some("173.75.141.54"), false);
        assert_eq!(ev["user"], json!({"ip_address": "173.75.141.54", "username": "u"}));
        let ev = run(json!({"request": {"env": {"REMOTE_ADDR": "{{auto}}"}}}), Some("10.1.2.3"), false);
        assert_eq!(ev["request"]["env"]["REMOTE_ADDR"], "10.1.2.3");
        assert_eq!(ev["user"]["ip_address"], "10.1.2.3");
        let ev = run(json!({"request": {"env": {"REMOTE_ADDR": "192.168.1.7"}}}), None, true);
        assert_eq!(ev["request"]["env"]["REMOTE_ADDR"], "192.168.1.0");
        assert_eq!(ev["user"]["ip_address"], "192.168.1.0");
        let ev = run(json!({"user": {"ip_address": "{{auto}}"}}), None, false);
        assert_eq!(ev["user"], json!({}));
    }

    #[test]
    fn client_ip_only_for_browser_and_mobile() {
        let ev = run(json!({"platform": "javascript"}), Some("71.249.111.206"), false);
        assert_eq!(ev["user"]["ip_address"], "71.249.111.206");
        let ev = run(json!({"platform": "cocoa"}), Some("71.249.111.206"), true);
        assert_eq!(ev["user"]["ip_address"], "71.249.111.0");
        let ev = run(json!({"platform": "python"}), Some("71.249.111.206"), false);
        assert!(ev.get("user").is_none());
    }

    #[test]
    fn invalid_ip_dropped() {
        let mut o = json!({"user": {"ip_address": "nope", "id": "1"}}).as_object().cloned().unwrap();
        let mut e = Errors::default();
        normalize(&mut o, None, false, &mut e);
        assert_eq!(o["user"], json!({"id": "1"}));
        assert_eq!(e.list[0]["name"], "user.ip_address");
    }
}
