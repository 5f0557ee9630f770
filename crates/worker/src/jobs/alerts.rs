//! Delivers due alert notifications from the outbox: each notification's content is
//! rendered for its recipient's channel ([`channels`]) and POSTed (signed with
//! Standard Webhooks headers when the recipient has a secret), or mailed to the
//! project's team members who want it, through the email job. Each attempt is logged;
//! a failure is retried with exponential backoff, and a later run is scheduled for it.
//! Runs after every firing and once a minute (for retries whose run was lost).

use std::time::Duration;

use anyhow::Context;
use base64::Engine;
use faultline_domain::alerts::AlertContent;
use faultline_domain::mail::Email;
use faultline_store::{AlertNotification, NewJob, Store, Timestamp};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::alerts::channels::{self, Rendered};
use crate::WorkerContext;

/// The job kind.
pub const KIND: &str = faultline_store::ALERT_DELIVERY_JOB;
/// Attempts before a notification is given up.
pub const MAX_ATTEMPTS: i64 = 6;
/// Notifications claimed per round.
const CLAIM: i64 = 20;
/// How long a claimed notification is ours.
const LEASE: Duration = Duration::from_secs(60);
/// Webhook timeout (GlitchTip's).
const TIMEOUT: Duration = Duration::from_secs(10);

/// Enqueues a delivery run at `at`.
pub async fn enqueue_delivery(store: &Store, at: Timestamp) {
    let job = NewJob { run_at: at, max_attempts: 3, ..NewJob::now(KIND, Value::Null) };
    if let Err(e) = store.enqueue_job(&job).await {
        tracing::warn!(error = %e, "cannot schedule alert delivery");
    }
}

/// 5 s, 20 s, 80 s, 320 s, … capped at an hour.
pub fn backoff(attempts: i64) -> Duration {
    let exp = attempts.clamp(1, 8) as u32 - 1;
    Duration::from_secs(5u64.saturating_mul(4u64.pow(exp))).min(Duration::from_secs(3600))
}

/// The Standard Webhooks signature of `body`: `v1,<base64 HMAC-SHA256("{id}.{ts}.{body}")>`
/// keyed with the decoded `whsec_` secret.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> anyhow::Result<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(secret.strip_prefix("whsec_").unwrap_or(secret)).context("the secret is not base64")?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).context("bad key")?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Ok(format!("v1,{}", b64.encode(mac.finalize().into_bytes())))
}

/// Delivers every due notification (several rounds until none is due).
pub async fn run(ctx: &WorkerContext) -> anyhow::Result<()> {
    let client = reqwest::Client::builder().timeout(TIMEOUT).build().context("HTTP client")?;
    loop {
        let due = ctx.store.claim_alert_notifications(CLAIM, LEASE).await?;
        if due.is_empty() {
            return Ok(());
        }
        // One dead recipient must not delay the others: deliver concurrently.
        let rounds = due.iter().map(|n| deliver(ctx, &client, n));
        let results = futures_util::future::join_all(rounds).await;
        let mut next_retry: Option<Timestamp> = None;
        for (n, (code, error)) in due.iter().zip(results) {
            let retry_at = match &error {
                Some(_) if n.attempts < MAX_ATTEMPTS => Some(Timestamp::now().plus(backoff(n.attempts))),
                _ => None,
            };
            if let Some(e) = &error {
                tracing::warn!(notification = n.id, recipient = n.recipient_id, attempts = n.attempts, error = %e, "alert delivery failed");
            }
            ctx.store.record_alert_delivery(n, code, error.as_deref(), retry_at).await?;
            if let Some(at) = retry_at {
                next_retry = Some(next_retry.map_or(at, |t: Timestamp| t.min(at)));
            }
        }
        if let Some(at) = next_retry {
            enqueue_delivery(&ctx.store, at).await;
        }
    }
}

/// What a notification in the outbox holds.
enum Stored {
    /// The alert's neutral content, rendered here for the recipient's channel.
    Content(Box<AlertContent>),
    /// A body rendered when it fired (webhook notifications queued before content existed).
    Body(Vec<u8>),
}

fn stored(n: &AlertNotification) -> anyhow::Result<Stored> {
    if let Ok(content) = serde_json::from_str::<AlertContent>(&n.payload) {
        return Ok(Stored::Content(Box::new(content)));
    }
    // Older rows: GlitchTip bodies for webhooks, the issue's facts for email and tests.
    if n.reason != "test" && matches!(n.recipient_type.as_str(), "webhook" | "discord" | "googlechat") {
        return Ok(Stored::Body(n.payload.clone().into_bytes()));
    }
    let facts: Value = serde_json::from_str(&n.payload).context("malformed alert payload")?;
    Ok(Stored::Content(Box::new(crate::alerts::issue_content(&facts, &[], None))))
}

/// One attempt: `(response code, error)`.
async fn deliver(
    ctx: &WorkerContext,
    client: &reqwest::Client,
    n: &AlertNotification,
) -> (Option<i64>, Option<String>) {
    let failed = |e: anyhow::Error| (None, Some(format!("{e:#}")));
    let request = match stored(n) {
        Ok(Stored::Content(content)) if n.recipient_type == "email" => {
            return match email(ctx, n, &content).await {
                Ok(()) => (None, None),
                Err(e) => failed(e),
            };
        }
        Ok(Stored::Content(content)) => match channels::render(&n.recipient_type, &n.url, &content) {
            Ok(request) => request,
            Err(e) => return failed(e),
        },
        Ok(Stored::Body(body)) => {
            Rendered { url: n.url.clone(), content_type: "application/json", headers: Vec::new(), body }
        }
        Err(e) => return failed(e),
    };
    post(client, n, request).await
}

/// POSTs a rendered notification, signed when the recipient has a secret.
async fn post(client: &reqwest::Client, n: &AlertNotification, request: Rendered) -> (Option<i64>, Option<String>) {
    let mut req = client.post(&request.url).header("content-type", request.content_type);
    for (name, value) in &request.headers {
        req = req.header(*name, value);
    }
    if let Some(secret) = &n.secret {
        let id = format!("msg_{}", n.id);
        let ts = Timestamp::now().micros() / 1_000_000;
        match sign(secret, &id, ts, &request.body) {
            Ok(signature) => {
                req = req
                    .header("webhook-id", id)
                    .header("webhook-timestamp", ts.to_string())
                    .header("webhook-signature", signature);
            }
            Err(e) => return (None, Some(format!("{e:#}"))),
        }
    }
    match req.body(request.body).send().await {
        Ok(res) if res.status().is_success() => (Some(i64::from(res.status().as_u16())), None),
        Ok(res) => {
            let code = res.status().as_u16();
            // What the service says is wrong (Telegram, Zulip and PagerDuty explain).
            let answer = res.text().await.unwrap_or_default();
            let answer: String = answer.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(300).collect();
            let error = if answer.is_empty() {
                format!("the receiver answered HTTP {code}")
            } else {
                format!("the receiver answered HTTP {code}: {answer}")
            };
            (Some(i64::from(code)), Some(error))
        }
        Err(e) => (None, Some(error_chain(&e.without_url()))),
    }
}

/// An error and its causes, in one line (the URL left out: it may hold a token).
fn error_chain(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// Queues one mail per recipient user (once per notification and user, even when the
/// delivery runs again): text with an HTML alternative.
async fn email(ctx: &WorkerContext, n: &AlertNotification, content: &AlertContent) -> anyhow::Result<()> {
    let mail = channels::email(content);
    for (user, to) in ctx.store.project_alert_recipients(n.project_id).await? {
        let email = Email { to, subject: mail.subject.clone(), text: mail.text.clone(), html: Some(mail.html.clone()) };
        let job = NewJob {
            unique_key: Some(format!("alert-mail:{}:{}", n.id, user.0)),
            max_attempts: 8,
            ..NewJob::now(faultline_domain::mail::JOB, serde_json::to_value(&email)?)
        };
        ctx.store.enqueue_job(&job).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_standard_webhooks_example() {
        // The example of the Standard Webhooks reference libraries.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let sig = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff(1), Duration::from_secs(5));
        assert_eq!(backoff(2), Duration::from_secs(20));
        assert_eq!(backoff(9), Duration::from_secs(3600));
    }
}
