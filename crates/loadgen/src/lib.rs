//! The events the load generator sends, shared with the benchmarks that time what
//! the server does with them.

use rand::Rng;
use serde_json::{json, Value};

/// A gzip member of `bytes`, as SDKs compress bodies.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = e.write_all(bytes);
    e.finish().unwrap_or_default()
}

/// `event` as an envelope with a `sent_at` and an SDK in its header, as SDKs send it.
/// `sent_at` is unix seconds.
pub fn envelope(event: &Value, sent_at: f64) -> Vec<u8> {
    let payload = serde_json::to_vec(event).unwrap_or_default();
    let header = json!({"sent_at": rfc3339(sent_at), "sdk": {"name": "sentry.python", "version": "2.0.0"}});
    let mut envelope = serde_json::to_vec(&header).unwrap_or_default();
    envelope.push(b'\n');
    envelope.extend_from_slice(format!("{{\"type\":\"event\",\"length\":{}}}\n", payload.len()).as_bytes());
    envelope.extend_from_slice(&payload);
    envelope.push(b'\n');
    envelope
}

const EXCEPTIONS: &[(&str, &str)] = &[
    ("ValueError", "invalid literal for int() with base 10: '{v}'"),
    ("KeyError", "'{v}'"),
    ("ZeroDivisionError", "division by zero"),
    ("TypeError", "unsupported operand type(s) for +: 'int' and 'str' (item {v})"),
    ("AttributeError", "'NoneType' object has no attribute 'user_{v}'"),
    ("ConnectionError", "Max retries exceeded with url: /api/v{v}/items"),
    ("PermissionError", "[Errno 13] Permission denied: '/var/data/{v}.json'"),
    ("TimeoutError", "Operation timed out after {v} ms"),
];

/// Unix seconds as RFC 3339 (UTC, microseconds), as SDKs write `sent_at`.
fn rfc3339(secs: f64) -> String {
    let micros = (secs * 1e6) as i64;
    let (days, rest) = (micros.div_euclid(86_400_000_000), micros.rem_euclid(86_400_000_000));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s, us) = (rest / 3_600_000_000, rest / 60_000_000 % 60, rest / 1_000_000 % 60, rest % 1_000_000);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{us:06}Z")
}

/// One realistic Python error event for issue `issue`, about `target` bytes, that
/// happened in the minute before `now` (unix seconds).
pub fn event(rng: &mut rand::rngs::StdRng, issue: usize, target: usize, now: f64) -> Value {
    let (ty, value) = EXCEPTIONS[issue % EXCEPTIONS.len()];
    let v: u32 = rng.gen_range(1..100_000);
    let frames: Vec<Value> = (0..15)
        .map(|f| {
            let in_app = f >= 8;
            let module = if in_app { format!("shop.module_{issue}_{f}") } else { format!("django.core.handlers.layer_{f}") };
            let path = module.replace('.', "/");
            json!({
                "filename": format!("{path}.py"),
                "abs_path": format!("{}/{path}.py", if in_app { "/srv/app" } else { "/usr/lib/python3.11/site-packages" }),
                "function": format!("handle_{issue}_{f}"),
                "module": module,
                "lineno": 10 + f * 7,
                "context_line": format!("        result = self.process_{f}(request, payload)"),
                "pre_context": ["    def handle(self, request):", "        payload = request.json()", "        self.validate(payload)"],
                "post_context": ["        return result", "", "    def validate(self, payload):"],
                "in_app": in_app,
                "vars": {
                    "self": format!("<shop.views.Handler object at 0x7f{:08x}>", rng.gen::<u32>()),
                    "request": "<WSGIRequest: POST '/api/checkout/'>",
                    "payload": format!("{{'order': {v}, 'items': [1, 2, 3], 'currency': 'EUR'}}"),
                    "attempt": f.to_string(),
                }
            })
        })
        .collect();
    let mut crumbs = Vec::new();
    let mut event = json!({
        "platform": "python",
        "level": "error",
        "timestamp": now - rng.gen_range(0.0..60.0),
        "server_name": format!("web-{}", rng.gen_range(1..5)),
        "release": "shop@2.4.1",
        "environment": if rng.gen_bool(0.8) { "production" } else { "staging" },
        "logger": "django.request",
        "transaction": format!("/api/checkout/{issue}/"),
        "exception": {"values": [{
            "type": ty,
            "value": value.replace("{v}", &v.to_string()),
            "module": "builtins",
            "mechanism": {"type": "django", "handled": false},
            "stacktrace": {"frames": frames}
        }]},
        "tags": {"customer_tier": if rng.gen_bool(0.3) { "gold" } else { "free" }, "region": "eu-west-1"},
        "user": {"id": rng.gen_range(1..5000).to_string(), "email": format!("user{}@example.com", rng.gen_range(1..5000)), "ip_address": "{{auto}}"},
        "request": {
            "url": format!("https://shop.example.com/api/checkout/{issue}/"),
            "method": "POST",
            "query_string": "source=web&ref=campaign",
            "headers": {
                "User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
                "Accept": "application/json", "Content-Type": "application/json", "Host": "shop.example.com",
                "Authorization": "Bearer abcdefghijklmnopqrstuvwxyz0123456789", "Cookie": "sessionid=abc123; csrftoken=xyz"
            },
            "data": {"order": v, "items": [1, 2, 3], "password": "hunter2"},
            "env": {"SERVER_NAME": "shop", "SERVER_PORT": "443"}
        },
        "contexts": {
            "runtime": {"name": "CPython", "version": "3.11.6"},
            "os": {"name": "Linux", "version": "6.1"},
            "trace": {"trace_id": format!("{:032x}", rng.gen::<u128>()), "span_id": format!("{:016x}", rng.gen::<u64>()), "op": "http.server"}
        },
        "modules": {"django": "4.2.7", "requests": "2.31.0", "sentry-sdk": "2.0.0", "celery": "5.3.4"},
        "extra": {"sys.argv": ["manage.py", "runserver"], "order_total": v as f64 / 100.0},
        "sdk": {"name": "sentry.python.django", "version": "2.0.0", "packages": [{"name": "pypi:sentry-sdk", "version": "2.0.0"}]},
        "breadcrumbs": {"values": []},
    });
    while serde_json::to_vec(&event).map(|b| b.len()).unwrap_or(target) < target && crumbs.len() < 200 {
        crumbs.push(json!({
            "timestamp": now - 60.0 + crumbs.len() as f64 * 0.1,
            "type": "default",
            "category": if crumbs.len() % 3 == 0 { "query" } else { "httplib" },
            "level": "info",
            "message": format!("SELECT \"shop_order\".\"id\", \"shop_order\".\"total\" FROM \"shop_order\" WHERE \"shop_order\".\"id\" = {}", rng.gen_range(1..100_000)),
            "data": {"duration_ms": rng.gen_range(1..50)}
        }));
        event["breadcrumbs"]["values"] = Value::Array(crumbs.clone());
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0.0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(rfc3339(1_709_251_199.5), "2024-02-29T23:59:59.500000Z");
        assert_eq!(rfc3339(1_735_689_600.0), "2025-01-01T00:00:00.000000Z");
    }
}
