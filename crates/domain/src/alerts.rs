//! Alert rules: what a valid rule and recipient are, and what an alert says. The API
//! and the alert page of the UI check bodies here; the worker renders an
//! [`AlertContent`] for each kind of recipient.

use faultline_store::{AlertRule, NewAlertRecipient, NewAlertRule, NewJob, Project, Store, ALERT_DELIVERY_JOB};
use serde::{Deserialize, Serialize};

use crate::DomainError;

/// Levels a rule may require at least, lowest first.
pub const LEVELS: [&str; 5] = ["debug", "info", "warning", "error", "fatal"];

/// Kinds of recipients; every kind but `email` posts to a URL.
pub const RECIPIENT_TYPES: [&str; 11] = [
    "email",
    "webhook",
    "slack",
    "mattermost",
    "discord",
    "googlechat",
    "teams",
    "ntfy",
    "telegram",
    "pagerduty",
    "zulip",
];

/// The longest period a rule may count over or wait between alerts: a year, in minutes.
const MAX_MINUTES: i64 = 525_600;

/// One labelled fact of an alert ("Environment: production").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertField {
    /// The label.
    pub title: String,
    /// The value.
    pub value: String,
}

impl AlertField {
    /// A field.
    pub fn new(title: impl Into<String>, value: impl Into<String>) -> AlertField {
        AlertField { title: title.into(), value: value.into() }
    }
}

/// What one alert says, independent of the channel that carries it: an issue alert,
/// a test notification, or (later) a monitor going down or recovering. The worker
/// renders it for each kind of recipient; the outbox stores it as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertContent {
    /// What happened, in one line: the issue's title, "api.example.com is down".
    pub title: String,
    /// More words, may be empty: the issue's culprit, why a check failed.
    #[serde(default)]
    pub text: String,
    /// Short facts every channel shows (for issues, GlitchTip's webhook fields:
    /// Project, Environment, Server Name, Release and the recipient's extra tags).
    #[serde(default)]
    pub fields: Vec<AlertField>,
    /// More facts for the long-form channels (email, PagerDuty's custom details).
    #[serde(default)]
    pub details: Vec<AlertField>,
    /// Where to look (absolute URL).
    pub link: String,
    /// The link's label: "View Issue".
    pub link_label: String,
    /// A short name of the thing, shown with the link: "WEB-12".
    #[serde(default)]
    pub reference: String,
    /// The project's name.
    pub project: String,
    /// One of [`LEVELS`]; picks colours, priorities and severities.
    pub level: String,
    /// The same for every notification about one thing (PagerDuty's `dedup_key`):
    /// `faultline-issue-<id>`, `faultline-monitor-<id>`.
    pub dedup_key: String,
    /// The thing is over (a monitor recovered): PagerDuty resolves, colours turn green.
    #[serde(default)]
    pub resolved: bool,
}

fn invalid(message: &str) -> DomainError {
    DomainError::Invalid(message.to_string())
}

/// The parts of an http(s) URL that validation looks at.
struct UrlParts<'a> {
    userinfo: Option<&'a str>,
    path: &'a str,
    query: &'a str,
}

impl UrlParts<'_> {
    /// The (undecoded) value of query parameter `key`, when it is set and not empty.
    fn param(&self, key: &str) -> Option<&str> {
        self.query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
            .filter(|v| !v.is_empty())
    }
}

/// Splits an absolute http(s) URL with a host; `None` when it is not one.
fn split_url(url: &str) -> Option<UrlParts<'_>> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let rest = rest.split('#').next().unwrap_or_default();
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = match before_query.find('/') {
        Some(at) => before_query.split_at(at),
        None => (before_query, ""),
    };
    let (userinfo, host) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    // Only whether there is a host name matters (`[::1]:8080` has one, `:8080` has not).
    let hostname = host.rsplit_once(':').map_or(host, |(h, _)| h);
    if hostname.is_empty() {
        return None;
    }
    Some(UrlParts { userinfo, path, query })
}

/// Checks a recipient's URL for its kind; the error says which form is expected.
fn validate_url(kind: &str, url: &str) -> Result<(), DomainError> {
    let Some(parts) = split_url(url) else {
        let article = if kind == "ntfy" { "An" } else { "A" };
        return Err(DomainError::Invalid(format!("{article} {kind} recipient needs an http(s) url.")));
    };
    let form_ok = match kind {
        "ntfy" => !parts.path.trim_matches('/').is_empty(),
        "telegram" => parts.path.ends_with("/sendMessage") && parts.param("chat_id").is_some(),
        "pagerduty" => parts.param("routing_key").is_some(),
        "zulip" => {
            let credentials =
                parts.userinfo.and_then(|u| u.split_once(':')).is_some_and(|(u, k)| !u.is_empty() && !k.is_empty());
            let path_ok = matches!(parts.path, "" | "/") || parts.path.ends_with("/api/v1/messages");
            credentials && path_ok && parts.param("stream").or_else(|| parts.param("to")).is_some()
        }
        _ => true,
    };
    if form_ok {
        return Ok(());
    }
    Err(invalid(match kind {
        "ntfy" => "An ntfy recipient's url is the topic's: https://ntfy.sh/<topic>.",
        "telegram" => "A telegram recipient's url is https://api.telegram.org/bot<token>/sendMessage?chat_id=<chat id>.",
        "pagerduty" => {
            "A pagerduty recipient's url needs the integration's routing key: \
             https://events.pagerduty.com/v2/enqueue?routing_key=<key>."
        }
        _ => {
            "A zulip recipient's url is https://<bot email>:<API key>@<server>/api/v1/messages?stream=<stream>[&topic=<topic>] \
             (write the @ of the bot's email as %40)."
        }
    }))
}

/// Checks a rule and its recipients.
pub fn validate(rule: &NewAlertRule, recipients: &[NewAlertRecipient]) -> Result<(), DomainError> {
    for (value, field) in [
        (rule.timespan_minutes, "timespanMinutes"),
        (rule.quantity, "quantity"),
        (rule.interval_minutes, "intervalMinutes"),
    ] {
        if !(1..=MAX_MINUTES).contains(&value) {
            return Err(DomainError::Invalid(format!("{field} must be between 1 and {MAX_MINUTES}.")));
        }
    }
    if rule.users_quantity.is_some_and(|n| !(1..=1_000_000).contains(&n)) {
        return Err(invalid("usersAffected must be between 1 and 1000000."));
    }
    match (&rule.tag_key, &rule.tag_value) {
        (None, None) => {}
        (Some(k), Some(v)) if !k.is_empty() && k.chars().count() <= 32 && v.chars().count() <= 200 => {}
        _ => return Err(invalid("A tag filter needs tagKey (at most 32 characters) and tagValue (at most 200).")),
    }
    if rule.min_level.as_deref().is_some_and(|l| !LEVELS.contains(&l)) {
        return Err(invalid("minLevel must be one of debug, info, warning, error, fatal."));
    }
    if rule.name.chars().count() > 255 {
        return Err(invalid("name is too long."));
    }
    for r in recipients {
        if !RECIPIENT_TYPES.contains(&r.recipient_type.as_str()) {
            return Err(DomainError::Invalid(format!("recipientType must be one of {}.", RECIPIENT_TYPES.join(", "))));
        }
        if r.recipient_type != "email" {
            validate_url(&r.recipient_type, &r.url)?;
        }
        if let Some(secret) = &r.secret {
            // Standard Webhooks secrets: `whsec_` and base64.
            let valid = secret.strip_prefix("whsec_").is_some_and(|b| {
                b.len() >= 4
                    && b.len() % 4 == 0
                    && b.trim_end_matches('=').chars().all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/')
            });
            if !valid {
                return Err(invalid("secret must be whsec_ followed by base64."));
            }
        }
    }
    Ok(())
}

/// What a test notification of a rule says; `link` is where it points.
pub fn test_content(project: &str, rule_id: i64, rule_name: &str, link: &str) -> AlertContent {
    AlertContent {
        title: format!("Test notification for \"{rule_name}\""),
        text: "This is a test of the alert's recipients.".into(),
        fields: vec![AlertField::new("Project", project)],
        details: Vec::new(),
        link: link.into(),
        link_label: "View Issue".into(),
        reference: "TEST".into(),
        project: project.into(),
        level: "info".into(),
        dedup_key: format!("faultline-test-{rule_id}"),
        resolved: false,
    }
}

/// Queues a test notification to every recipient of `rule` (delivered, signed,
/// retried and logged like a real one); `link` is where it points. How many were queued.
pub async fn send_test(store: &Store, project: &Project, rule: &AlertRule, link: &str) -> Result<usize, DomainError> {
    let recipients = store.alert_recipients(rule.id).await?;
    let payload = serde_json::to_value(test_content(&project.name, rule.id, &rule.name, link)).unwrap_or_default();
    for r in &recipients {
        store.enqueue_alert_test(rule.id, r.id, &payload).await?;
    }
    store.enqueue_job(&NewJob::now(ALERT_DELIVERY_JOB, serde_json::Value::Null)).await?;
    Ok(recipients.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> NewAlertRule {
        NewAlertRule {
            name: "Errors".into(),
            timespan_minutes: 1,
            quantity: 1,
            uptime: false,
            on_new_issue: true,
            on_regression: true,
            min_level: Some("error".into()),
            environment: None,
            interval_minutes: 60,
            users_quantity: None,
            tag_key: None,
            tag_value: None,
            on_frequency: true,
        }
    }

    fn hook(url: &str, secret: Option<&str>) -> NewAlertRecipient {
        NewAlertRecipient {
            recipient_type: "webhook".into(),
            url: url.into(),
            secret: secret.map(String::from),
            tags_to_add: "[]".into(),
        }
    }

    fn of(kind: &str, url: &str) -> Result<(), DomainError> {
        validate(&rule(), &[NewAlertRecipient { recipient_type: kind.into(), ..hook(url, None) }])
    }

    #[test]
    fn rules_and_recipients() {
        assert!(validate(
            &rule(),
            &[hook("https://hooks.example.com/x", Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))]
        )
        .is_ok());
        assert!(validate(&NewAlertRule { quantity: 0, ..rule() }, &[]).is_err());
        assert!(validate(&NewAlertRule { interval_minutes: MAX_MINUTES + 1, ..rule() }, &[]).is_err());
        assert!(validate(&NewAlertRule { min_level: Some("loud".into()), ..rule() }, &[]).is_err());
        assert!(validate(&NewAlertRule { name: "x".repeat(256), ..rule() }, &[]).is_err());
        assert!(validate(&NewAlertRule { users_quantity: Some(0), ..rule() }, &[]).is_err());
        assert!(validate(&NewAlertRule { tag_key: Some("browser".into()), ..rule() }, &[]).is_err());
        let tagged = NewAlertRule { tag_key: Some("browser".into()), tag_value: Some("Firefox".into()), ..rule() };
        assert!(validate(&tagged, &[]).is_ok());
        assert!(validate(&rule(), &[hook("ftp://x", None)]).is_err());
        assert!(validate(&rule(), &[hook("https://", None)]).is_err());
        assert!(validate(&rule(), &[hook("https://x y", None)]).is_err());
        assert!(validate(&rule(), &[hook("https://x", Some("plain"))]).is_err());
        let email = NewAlertRecipient { recipient_type: "email".into(), url: String::new(), ..hook("", None) };
        assert!(validate(&rule(), &[email]).is_ok());
        let pigeon = NewAlertRecipient { recipient_type: "pigeon".into(), ..hook("https://x", None) };
        let err = validate(&rule(), &[pigeon]).unwrap_err().to_string();
        assert!(err.contains("pagerduty") && err.contains("zulip"), "{err}");
    }

    #[test]
    fn urls_per_kind() {
        for kind in ["slack", "mattermost", "discord", "googlechat", "teams"] {
            assert!(of(kind, "https://hooks.example.com/services/T/B/x").is_ok(), "{kind}");
            let err = of(kind, "hooks.example.com").unwrap_err().to_string();
            assert_eq!(err, format!("A {kind} recipient needs an http(s) url."));
        }
        assert!(of("ntfy", "https://ntfy.sh/faultline-alerts").is_ok());
        assert!(of("ntfy", "https://user:pass@ntfy.example.com/alerts").is_ok());
        assert!(of("ntfy", "https://ntfy.sh/").unwrap_err().to_string().contains("topic"));

        assert!(of("telegram", "https://api.telegram.org/bot123:ABC/sendMessage?chat_id=-1001234").is_ok());
        assert!(
            of("telegram", "https://api.telegram.org/bot123:ABC/sendMessage?chat_id=@ops&message_thread_id=4").is_ok()
        );
        assert!(of("telegram", "https://api.telegram.org/bot123:ABC/sendMessage").is_err());
        assert!(of("telegram", "https://api.telegram.org/bot123:ABC/getMe?chat_id=1")
            .unwrap_err()
            .to_string()
            .contains("sendMessage"));

        assert!(of("pagerduty", "https://events.pagerduty.com/v2/enqueue?routing_key=R0UT1NGKEY").is_ok());
        assert!(of("pagerduty", "https://events.pagerduty.com/v2/enqueue?routing_key=").is_err());
        assert!(of("pagerduty", "https://events.pagerduty.com/v2/enqueue")
            .unwrap_err()
            .to_string()
            .contains("routing_key"));

        assert!(
            of("zulip", "https://bot%40example.com:KEY@chat.example.com/api/v1/messages?stream=ops&topic=web").is_ok()
        );
        assert!(of("zulip", "https://bot%40example.com:KEY@chat.example.com?stream=ops").is_ok());
        assert!(of("zulip", "https://chat.example.com/api/v1/messages?stream=ops").is_err(), "no credentials");
        assert!(of("zulip", "https://bot:KEY@chat.example.com/api/v1/messages").is_err(), "no stream");
        assert!(of("zulip", "https://bot:KEY@chat.example.com/other?stream=ops").is_err(), "not the messages API");
    }

    #[test]
    fn content_is_camel_case_json() {
        let content = test_content("web", 7, "Errors", "https://faultline.example.com/acme/issues");
        let json = serde_json::to_value(&content).unwrap();
        assert_eq!(json["linkLabel"], "View Issue");
        assert_eq!(json["dedupKey"], "faultline-test-7");
        assert_eq!(json["fields"][0], serde_json::json!({"title": "Project", "value": "web"}));
        assert_eq!(serde_json::from_value::<AlertContent>(json).unwrap(), content);
        // Old outbox rows (GlitchTip bodies, issue facts) are not content.
        assert!(serde_json::from_str::<AlertContent>(r#"{"alias":"GlitchTip","text":"GlitchTip Alert"}"#).is_err());
    }
}
