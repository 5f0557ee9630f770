//! Outgoing email. Mail is queued as a durable `email` job (the worker sends it with
//! retries), so a slow or failing mail server never blocks a request.

use faultline_store::{NewJob, Store};
use serde::{Deserialize, Serialize};

use crate::DomainError;

/// The `email` job's name.
pub const JOB: &str = "email";

/// One message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body, when there is one.
    pub html: Option<String>,
}

/// Queues a message.
pub async fn send_later(store: &Store, email: &Email) -> Result<(), DomainError> {
    let job = NewJob { max_attempts: 8, ..NewJob::now(JOB, serde_json::to_value(email).unwrap_or_default()) };
    store.enqueue_job(&job).await?;
    Ok(())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn html(title: &str, paragraphs: &[&str], link: &str, button: &str) -> String {
    let body: String = paragraphs.iter().map(|p| format!("<p>{}</p>", escape(p))).collect();
    format!(
        "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;color:#1d1d1f\">\
         <h2>{}</h2>{body}<p><a href=\"{}\" style=\"display:inline-block;padding:10px 16px;background:#3b4cc0;\
         color:#fff;text-decoration:none;border-radius:4px\">{}</a></p>\
         <p style=\"color:#666;font-size:12px\">{}</p></body></html>",
        escape(title),
        escape(link),
        escape(button),
        escape(link)
    )
}

/// The password reset message.
pub fn password_reset(to: &str, link: &str) -> Email {
    let intro = "Someone (hopefully you) asked to reset the password of your Faultline account.";
    let outro = "The link works once and expires in 24 hours. If you did not ask for it, ignore this email.";
    Email {
        to: to.into(),
        subject: "Reset your Faultline password".into(),
        text: format!("{intro}\n\nSet a new password: {link}\n\n{outro}\n"),
        html: Some(html("Reset your password", &[intro, outro], link, "Set a new password")),
    }
}

/// The email confirmation message.
pub fn confirm_email(to: &str, link: &str) -> Email {
    let intro = "Please confirm that this is your email address for Faultline.";
    Email {
        to: to.into(),
        subject: "Confirm your email address".into(),
        text: format!("{intro}\n\nConfirm: {link}\n"),
        html: Some(html("Confirm your email address", &[intro], link, "Confirm")),
    }
}

/// The invitation to join an organization.
pub fn invitation(to: &str, inviter: &str, organization: &str, link: &str) -> Email {
    let intro = format!("{inviter} invited you to join the organization {organization} on Faultline.");
    Email {
        to: to.into(),
        subject: format!("You are invited to join {organization} on Faultline"),
        text: format!("{intro}\n\nAccept the invitation: {link}\n"),
        html: Some(html(&format!("Join {organization}"), &[&intro], link, "Accept the invitation")),
    }
}
