//! Alert rules: what a valid rule and recipient are. The API checks bodies here, and
//! so will the alert page of the UI.

use faultline_store::{AlertRule, NewAlertRecipient, NewAlertRule, NewJob, Project, Store, ALERT_DELIVERY_JOB};
use serde_json::json;

use crate::DomainError;

/// Levels a rule may require at least, lowest first.
pub const LEVELS: [&str; 5] = ["debug", "info", "warning", "error", "fatal"];

/// Kinds of recipients; every kind but `email` posts to a URL.
pub const RECIPIENT_TYPES: [&str; 4] = ["email", "webhook", "discord", "googlechat"];

/// The longest period a rule may count over or wait between alerts: a year, in minutes.
const MAX_MINUTES: i64 = 525_600;

fn invalid(message: &str) -> DomainError {
    DomainError::Invalid(message.to_string())
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
    if rule.min_level.as_deref().is_some_and(|l| !LEVELS.contains(&l)) {
        return Err(invalid("minLevel must be one of debug, info, warning, error, fatal."));
    }
    if rule.name.chars().count() > 255 {
        return Err(invalid("name is too long."));
    }
    for r in recipients {
        if !RECIPIENT_TYPES.contains(&r.recipient_type.as_str()) {
            return Err(invalid("recipientType must be email, webhook, discord or googlechat."));
        }
        if r.recipient_type != "email" {
            let rest = r.url.strip_prefix("https://").or_else(|| r.url.strip_prefix("http://"));
            if rest.is_none_or(|host| host.is_empty() || host.chars().any(char::is_whitespace)) {
                return Err(invalid("A webhook recipient needs an http(s) url."));
            }
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

/// Queues a test notification to every recipient of `rule` (delivered, signed,
/// retried and logged like a real one); `link` is where it points. How many were queued.
pub async fn send_test(store: &Store, project: &Project, rule: &AlertRule, link: &str) -> Result<usize, DomainError> {
    let recipients = store.alert_recipients(rule.id).await?;
    for r in &recipients {
        // The facts of a made-up issue; the worker renders them for each recipient.
        let payload = json!({
            "title": format!("Test notification for \"{}\"", rule.name),
            "culprit": "This is a test of the alert's recipients.",
            "shortId": "TEST",
            "level": "info",
            "levelNumber": 2,
            "project": project.name,
            "link": link,
            "count": 0,
        });
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
        assert!(validate(&rule(), &[hook("ftp://x", None)]).is_err());
        assert!(validate(&rule(), &[hook("https://", None)]).is_err());
        assert!(validate(&rule(), &[hook("https://x", Some("plain"))]).is_err());
        let email = NewAlertRecipient { recipient_type: "email".into(), url: String::new(), ..hook("", None) };
        assert!(validate(&rule(), &[email]).is_ok());
        let pigeon = NewAlertRecipient { recipient_type: "pigeon".into(), ..hook("https://x", None) };
        assert!(validate(&rule(), &[pigeon]).is_err());
    }
}
