//! Browser security reports: Content-Security-Policy violations, sent with the
//! `report-uri` directive (`{"csp-report": {…}}`) or the Reporting API's `report-to`
//! (`[{"type": "csp-violation", "body": {…}}]`).
//!
//! Each report becomes the skeleton of a CSP event: `{"csp": {…}, "request": {…},
//! "logger": "csp"}` with Sentry's snake_case CSP keys.

use serde_json::{json, Map, Value};

/// Why a security report was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid security report: {0}")]
pub struct SecurityReportError(pub String);

/// Parses a report body into CSP event skeletons. `user_agent` is the submitting
/// browser's `User-Agent` (report-uri form carries none of its own).
pub fn parse_security_report(body: &[u8], user_agent: Option<&str>) -> Result<Vec<Value>, SecurityReportError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| SecurityReportError(format!("not valid JSON ({e})")))?;
    match value {
        Value::Object(mut map) => {
            if let Some(Value::Object(report)) = map.remove("csp-report") {
                return Ok(vec![csp_event(from_report_uri(&report), user_agent)]);
            }
            // A single Reporting API entry, not wrapped in a list.
            if map.get("type").and_then(Value::as_str) == Some("csp-violation") {
                return from_report_to(vec![Value::Object(map)], user_agent);
            }
            let kind = map.keys().next().cloned().unwrap_or_default();
            Err(SecurityReportError(format!("unsupported report type {kind:?}; only CSP reports are accepted")))
        }
        Value::Array(entries) => from_report_to(entries, user_agent),
        _ => Err(SecurityReportError("expected a JSON object or list".into())),
    }
}

fn from_report_uri(report: &Map<String, Value>) -> Map<String, Value> {
    const KEYS: [(&str, &str); 12] = [
        ("document-uri", "document_uri"),
        ("referrer", "referrer"),
        ("blocked-uri", "blocked_uri"),
        ("effective-directive", "effective_directive"),
        ("violated-directive", "violated_directive"),
        ("original-policy", "original_policy"),
        ("disposition", "disposition"),
        ("status-code", "status_code"),
        ("source-file", "source_file"),
        ("line-number", "line_number"),
        ("column-number", "column_number"),
        ("script-sample", "script_sample"),
    ];
    rename(report, &KEYS)
}

fn from_report_to(entries: Vec<Value>, user_agent: Option<&str>) -> Result<Vec<Value>, SecurityReportError> {
    const KEYS: [(&str, &str); 11] = [
        ("documentURL", "document_uri"),
        ("referrer", "referrer"),
        ("blockedURL", "blocked_uri"),
        ("effectiveDirective", "effective_directive"),
        ("originalPolicy", "original_policy"),
        ("disposition", "disposition"),
        ("statusCode", "status_code"),
        ("sourceFile", "source_file"),
        ("lineNumber", "line_number"),
        ("columnNumber", "column_number"),
        ("sample", "script_sample"),
    ];
    let mut out = Vec::new();
    for entry in entries {
        let Value::Object(entry) = entry else { continue };
        if entry.get("type").and_then(Value::as_str) != Some("csp-violation") {
            continue;
        }
        let Some(Value::Object(body)) = entry.get("body") else { continue };
        let mut csp = rename(body, &KEYS);
        if let Some(directive) = csp.get("effective_directive").cloned() {
            csp.entry("violated_directive").or_insert(directive);
        }
        let ua = entry.get("user_agent").and_then(Value::as_str).or(user_agent);
        out.push(csp_event(csp, ua));
    }
    if out.is_empty() {
        return Err(SecurityReportError("the list holds no csp-violation reports".into()));
    }
    Ok(out)
}

fn rename(source: &Map<String, Value>, keys: &[(&str, &str)]) -> Map<String, Value> {
    let mut csp = Map::new();
    for (from, to) in keys {
        if let Some(v) = source.get(*from) {
            if !v.is_null() {
                csp.insert((*to).to_string(), v.clone());
            }
        }
    }
    csp
}

fn csp_event(csp: Map<String, Value>, user_agent: Option<&str>) -> Value {
    let mut request = Map::new();
    if let Some(url) = csp.get("document_uri") {
        request.insert("url".into(), url.clone());
    }
    if let Some(ua) = user_agent {
        request.insert("headers".into(), json!([["User-Agent", ua]]));
    }
    json!({ "logger": "csp", "csp": csp, "request": request })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_uri_form() {
        let body = br#"{"csp-report":{"blocked-uri":"http://example.com/css/style.css","disposition":"report",
            "document-uri":"http://example.com/signup.html","effective-directive":"style-src-elem",
            "original-policy":"default-src 'none'","referrer":"","status-code":200,"violated-directive":"style-src-elem"}}"#;
        let events = parse_security_report(body, Some("Mozilla/5.0")).unwrap();
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(e["csp"]["blocked_uri"], "http://example.com/css/style.css");
        assert_eq!(e["csp"]["effective_directive"], "style-src-elem");
        assert_eq!(e["csp"]["status_code"], 200);
        assert_eq!(e["request"]["url"], "http://example.com/signup.html");
        assert_eq!(e["request"]["headers"][0][1], "Mozilla/5.0");
    }

    #[test]
    fn report_to_form() {
        let body = br#"[{"type":"csp-violation","age":10,"url":"https://a.example/","user_agent":"UA/1",
            "body":{"documentURL":"https://a.example/","blockedURL":"inline","effectiveDirective":"script-src-elem",
            "originalPolicy":"script-src 'self'","disposition":"enforce","statusCode":200,"sample":"alert(1)"}},
            {"type":"deprecation","body":{}}]"#;
        let events = parse_security_report(body, None).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["csp"]["blocked_uri"], "inline");
        assert_eq!(events[0]["csp"]["violated_directive"], "script-src-elem");
        assert_eq!(events[0]["csp"]["script_sample"], "alert(1)");
        assert_eq!(events[0]["request"]["headers"][0][1], "UA/1");
    }

    #[test]
    fn refuses_other_reports() {
        assert!(parse_security_report(br#"{"expect-ct-report":{}}"#, None).unwrap_err().0.contains("expect-ct-report"));
        assert!(parse_security_report(b"[]", None).is_err());
        assert!(parse_security_report(b"nope", None).is_err());
    }
}
