//! Sends one queued email through `EMAIL_URL`.
//!
//! `smtp://` is plain SMTP (opportunistic STARTTLS is not attempted), `smtp+tls://`
//! and `submission://` require STARTTLS, `smtps://` (or `smtp+ssl://`) is TLS from the
//! first byte. `consolemail://` writes the message to the log; so does an unset
//! `EMAIL_URL`, with a warning.

use anyhow::{bail, Context};
use faultline_domain::mail::Email;
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::WorkerContext;

pub use faultline_domain::mail::JOB as KIND;

/// Sends the message in `payload`.
pub async fn run(ctx: &WorkerContext, payload: &str) -> anyhow::Result<()> {
    let email: Email = serde_json::from_str(payload).context("malformed email job")?;
    let from = &ctx.config.email.from;
    let Some(url) = ctx.config.email.url.as_ref() else {
        tracing::warn!(to = %email.to, subject = %email.subject, text = %email.text, "EMAIL_URL is not set; the email was only logged");
        return Ok(());
    };
    let url = url.expose();
    if url.starts_with("consolemail:") || url.starts_with("dummymail:") {
        tracing::info!(to = %email.to, subject = %email.subject, text = %email.text, "email (console backend)");
        return Ok(());
    }
    let message = build(from, &email)?;
    transport(url)?.send(message).await.context("the mail server refused the message")?;
    tracing::info!(to = %email.to, subject = %email.subject, "email sent");
    Ok(())
}

fn build(from: &str, email: &Email) -> anyhow::Result<Message> {
    let from: Mailbox = from.parse().with_context(|| format!("DEFAULT_FROM_EMAIL {from:?} is not an address"))?;
    let to: Mailbox = email.to.parse().with_context(|| format!("{:?} is not an address", email.to))?;
    let builder = Message::builder().from(from).to(to).subject(&email.subject);
    let text = SinglePart::builder().header(ContentType::TEXT_PLAIN).body(email.text.clone());
    let message = match &email.html {
        Some(html) => builder.multipart(
            MultiPart::alternative()
                .singlepart(text)
                .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html.clone())),
        )?,
        None => builder.singlepart(text)?,
    };
    Ok(message)
}

/// A transport for `url` (`scheme://[user[:password]@]host[:port]`).
fn transport(url: &str) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let (scheme, rest) = url.split_once("://").context("EMAIL_URL has no scheme")?;
    let rest = rest.split(['/', '?']).next().unwrap_or_default();
    let (userinfo, hostport) = match rest.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, rest),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, Some(p.parse::<u16>().context("EMAIL_URL port")?)),
        None => (hostport, None),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    let tls = |required: bool| -> anyhow::Result<Tls> {
        let params = TlsParameters::new(host.clone())?;
        Ok(if required { Tls::Required(params) } else { Tls::Wrapper(params) })
    };
    let (tls, default_port) = match scheme {
        "smtp" => (Tls::None, 25),
        "smtp+tls" | "submission" => (tls(true)?, 587),
        "smtps" | "smtp+ssl" => (tls(false)?, 465),
        other => bail!("unsupported EMAIL_URL scheme {other:?}"),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host)
        .port(port.unwrap_or(default_port))
        .tls(tls)
        .timeout(Some(std::time::Duration::from_secs(20)));
    if let Some(userinfo) = userinfo {
        let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
        let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
        builder = builder.credentials(Credentials::new(decode(user), decode(password)));
    }
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    // The SMTP transports start their connection pool on the Tokio runtime.
    #[tokio::test]
    async fn urls() {
        assert!(transport("smtp://127.0.0.1:2525").is_ok());
        assert!(transport("smtp+tls://user:p%40ss@mail.example.com").is_ok());
        assert!(transport("smtps://mail.example.com:465").is_ok());
        assert!(transport("pigeon://x").is_err());
        let message = build(
            "Faultline <faultline@example.com>",
            &faultline_domain::mail::password_reset("a@example.com", "https://x/reset"),
        )
        .unwrap();
        let text = String::from_utf8(message.formatted()).unwrap();
        assert!(text.contains("Subject: Reset your Faultline password"), "{text}");
        assert!(text.contains("multipart/alternative"), "{text}");
    }
}
