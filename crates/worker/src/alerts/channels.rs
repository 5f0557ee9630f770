//! One alert, rendered for each kind of recipient. Every channel is made from the same
//! neutral [`AlertContent`] (an issue alert, a test notification, a monitor going
//! down or coming back), so anything that can say what happened can use all of them:
//! [`render`] turns it into the request to send, [`email`] into a message.
//!
//! `webhook`, `discord` and `googlechat` keep GlitchTip's bodies byte for byte.

use anyhow::{bail, Context};
use base64::Engine;
use faultline_domain::alerts::{AlertContent, AlertField};
use reqwest::Url;
use serde_json::{json, Value};

/// The POST to send for one notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rendered {
    /// Where to (credentials and channel parameters taken out of the recipient's URL).
    pub url: String,
    /// The body's media type.
    pub content_type: &'static str,
    /// Other headers (lower-case names).
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Vec<u8>,
}

const JSON: &str = "application/json";

/// The request that tells `content` to a recipient of `kind` at `url`.
pub(crate) fn render(kind: &str, url: &str, content: &AlertContent) -> anyhow::Result<Rendered> {
    // The URL may hold credentials: never repeat it in an error.
    let mut url = Url::parse(url).map_err(|e| anyhow::anyhow!("the recipient's url is not valid ({e})"))?;
    let mut headers = Vec::new();
    if let Some(auth) = take_basic_auth(&mut url) {
        headers.push(("authorization", auth));
    }
    let json_body = |value: Value| (JSON, value.to_string().into_bytes());
    let (content_type, body) = match kind {
        "webhook" => json_body(glitchtip(content)),
        "slack" => json_body(slack(content)),
        "mattermost" => json_body(mattermost(content)),
        "discord" => json_body(discord(content)),
        "googlechat" => json_body(google_chat(content)),
        "teams" => json_body(teams(content)),
        "ntfy" => {
            headers.extend(ntfy_headers(content));
            ("text/plain; charset=utf-8", ntfy_message(content).into_bytes())
        }
        "telegram" => {
            let chat = take_param(&mut url, "chat_id").context("the telegram url has no chat_id")?;
            let thread = take_param(&mut url, "message_thread_id");
            json_body(telegram(content, &chat, thread.as_deref()))
        }
        "pagerduty" => {
            let key = take_param(&mut url, "routing_key").context("the pagerduty url has no routing_key")?;
            json_body(pagerduty(content, &key))
        }
        "zulip" => {
            let to = take_param(&mut url, "stream")
                .or_else(|| take_param(&mut url, "to"))
                .context("the zulip url names no stream")?;
            let topic = take_param(&mut url, "topic");
            let kind = take_param(&mut url, "type").unwrap_or_else(|| "stream".into());
            if matches!(url.path(), "" | "/") {
                url.set_path("/api/v1/messages");
            }
            ("application/x-www-form-urlencoded", zulip(content, &kind, &to, topic.as_deref()).into_bytes())
        }
        other => bail!("unknown recipient type {other:?}"),
    };
    Ok(Rendered { url: url.to_string(), content_type, headers, body })
}

/// The subject, text and HTML of the alert mail.
pub(crate) struct Mail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The alert as an email (text and an HTML alternative).
pub(crate) fn email(c: &AlertContent) -> Mail {
    let state = if c.resolved { "resolved" } else { c.level.as_str() };
    let subject = format!("[{}] {}: {}", c.project, state, one_line(&c.title));
    let facts: Vec<&AlertField> = c.fields.iter().chain(&c.details).collect();
    let mut text = format!("GlitchTip Alert\n\n{}\n", c.title);
    if !c.text.is_empty() {
        text.push_str(&format!("{}\n", c.text));
    }
    text.push('\n');
    for f in &facts {
        text.push_str(&format!("{}: {}\n", f.title, f.value));
    }
    text.push_str(&format!("\n{}: {}\n", link_label(c), c.link));

    let rows: String = facts
        .iter()
        .map(|f| {
            format!(
                "<tr><th style=\"text-align:left;padding:2px 12px 2px 0;color:#555;font-weight:600\">{}</th><td>{}</td></tr>",
                html(&f.title),
                html(&f.value)
            )
        })
        .collect();
    let text_html = if c.text.is_empty() {
        String::new()
    } else {
        format!("<p><code style=\"font-size:13px\">{}</code></p>", html(&c.text))
    };
    let html = format!(
        "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;color:#1d1d1f\">\
         <div style=\"border-left:4px solid {color};padding-left:12px\">\
         <p style=\"color:#666;font-size:12px;margin:0\">{project} · {state}</p>\
         <h2 style=\"margin:4px 0\">{title}</h2>{text_html}</div>\
         <table style=\"border-collapse:collapse;margin:12px 0\">{rows}</table>\
         <p><a href=\"{link}\" style=\"display:inline-block;padding:10px 16px;background:#3b4cc0;\
         color:#fff;text-decoration:none;border-radius:4px\">{label}</a></p>\
         <p style=\"color:#666;font-size:12px\">{link}</p></body></html>",
        color = color(c),
        project = html(&c.project),
        state = html(state),
        title = html(&c.title),
        link = html(&c.link),
        label = html(&link_label(c)),
    );
    Mail { subject, text, html }
}

/// GlitchTip's attachment colour by level; green for a recovery.
fn color(c: &AlertContent) -> &'static str {
    if c.resolved {
        return "#2eb886";
    }
    match c.level.as_str() {
        "debug" | "info" => "#4b60b4",
        "warning" => "#e9b949",
        _ => "#e52b50",
    }
}

/// "View Issue WEB-12".
fn link_label(c: &AlertContent) -> String {
    if c.reference.is_empty() {
        c.link_label.clone()
    } else {
        format!("{} {}", c.link_label, c.reference)
    }
}

/// "[web] error: TypeError …", the one-line form for previews and fallbacks.
fn summary(c: &AlertContent) -> String {
    let state = if c.resolved { "resolved" } else { c.level.as_str() };
    format!("[{}] {}: {}", c.project, state, one_line(&c.title))
}

fn emoji(c: &AlertContent) -> &'static str {
    if c.resolved {
        return "✅";
    }
    match c.level.as_str() {
        "debug" | "info" => "🔵",
        "warning" => "🟠",
        _ => "🔴",
    }
}

/// At most `max` characters, with an ellipsis when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Control characters (line breaks included) as spaces.
fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// Escapes text for HTML (and Telegram's HTML subset).
fn html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Escapes text for Slack's mrkdwn.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Takes `user:password@` out of `url` as a basic `authorization` header value.
fn take_basic_auth(url: &mut Url) -> Option<String> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
    let credentials = format!("{}:{}", decode(url.username()), decode(url.password().unwrap_or_default()));
    let _ = url.set_username("");
    let _ = url.set_password(None);
    Some(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credentials)))
}

/// Takes query parameter `key` out of `url`: its decoded value, when set and not empty.
fn take_param(url: &mut Url, key: &str) -> Option<String> {
    let mut found = None;
    let mut kept = Vec::new();
    for (k, v) in url.query_pairs() {
        if k == key {
            found.get_or_insert_with(|| v.into_owned());
        } else {
            kept.push((k.into_owned(), v.into_owned()));
        }
    }
    found.as_ref()?;
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
    found.filter(|v| !v.is_empty())
}

/// GlitchTip's Slack-compatible webhook body, exactly.
fn glitchtip(c: &AlertContent) -> Value {
    let fields: Vec<Value> =
        c.fields.iter().map(|f| json!({"title": f.title, "value": f.value, "short": true})).collect();
    json!({
        "alias": "GlitchTip",
        "text": "GlitchTip Alert",
        "attachments": [{
            "title": c.title,
            "title_link": c.link,
            "text": c.text,
            "image_url": null,
            "color": color(c),
            "fields": fields,
            "mrkdown_in": ["text"],
        }],
        "sections": [{
            "activityTitle": c.title,
            "activitySubtitle": format!("[{}]({})", link_label(c), c.link),
        }],
    })
}

/// GlitchTip's Discord body: an embed with the level's colour as an integer.
fn discord(c: &AlertContent) -> Value {
    let color = i64::from_str_radix(color(c).trim_start_matches('#'), 16).unwrap_or(0);
    json!({
        "content": "GlitchTip Alert",
        "embeds": [{
            "title": c.title,
            "description": c.text,
            "color": color,
            "url": c.link,
            "fields": c.fields
                .iter()
                .map(|f| json!({"name": f.title, "value": f.value, "inline": true}))
                .collect::<Vec<_>>(),
        }],
    })
}

/// GlitchTip's Google Chat body: a card with the fields and a "View Issue" button.
fn google_chat(c: &AlertContent) -> Value {
    let mut widgets: Vec<Value> =
        c.fields.iter().map(|f| json!({"decoratedText": {"topLabel": f.title, "text": f.value}})).collect();
    widgets
        .push(json!({"buttonList": {"buttons": [{"text": c.link_label, "onClick": {"openLink": {"url": c.link}}}]}}));
    json!({
        "cardsV2": [{
            "cardId": "createCardMessage",
            "card": {
                "header": {"title": "GlitchTip Alert", "subtitle": c.project},
                "sections": [{"header": c.title, "widgets": widgets}],
            },
        }],
    })
}

/// A Slack incoming webhook: Block Kit blocks (header, text, up to ten fields, a
/// button, context) and `text` as the notification's fallback.
fn slack(c: &AlertContent) -> Value {
    let mrkdwn = |text: &str, max: usize| slack_escape(&cut(text, max));
    // Slack refuses an empty header.
    let title = if c.title.trim().is_empty() { "(no title)".to_string() } else { cut(&one_line(&c.title), 150) };
    let mut blocks = vec![json!({"type": "header", "text": {"type": "plain_text", "text": title, "emoji": true}})];
    if !c.text.is_empty() {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn(&c.text, 2900)}}));
    }
    if !c.fields.is_empty() {
        let fields: Vec<Value> = c
            .fields
            .iter()
            .take(10)
            .map(|f| json!({"type": "mrkdwn", "text": format!("*{}*\n{}", mrkdwn(&f.title, 100), mrkdwn(&f.value, 1800))}))
            .collect();
        blocks.push(json!({"type": "section", "fields": fields}));
    }
    blocks.push(json!({
        "type": "actions",
        "elements": [{
            "type": "button",
            "action_id": "faultline-open",
            "text": {"type": "plain_text", "text": cut(&link_label(c), 75), "emoji": true},
            "url": c.link,
        }],
    }));
    let state = if c.resolved { "resolved" } else { c.level.as_str() };
    let context =
        [c.reference.as_str(), state, "Faultline"].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>();
    blocks
        .push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": slack_escape(&context.join(" · "))}]}));
    json!({"text": slack_escape(&summary(c)), "blocks": blocks})
}

/// A Mattermost incoming webhook: one Slack-style attachment.
fn mattermost(c: &AlertContent) -> Value {
    let fields: Vec<Value> =
        c.fields.iter().map(|f| json!({"short": true, "title": f.title, "value": f.value})).collect();
    let footer = if c.reference.is_empty() { "Faultline".to_string() } else { format!("{} · Faultline", c.reference) };
    json!({
        "attachments": [{
            "fallback": summary(c),
            "color": color(c),
            "title": c.title,
            "title_link": c.link,
            "text": c.text,
            "fields": fields,
            "footer": footer,
        }],
    })
}

/// A Microsoft Teams Workflows webhook ("Post to a channel when a webhook request is
/// received"): a message with an Adaptive Card 1.4.
fn teams(c: &AlertContent) -> Value {
    let title_color = if c.resolved {
        "Good"
    } else {
        match c.level.as_str() {
            "debug" | "info" => "Accent",
            "warning" => "Warning",
            _ => "Attention",
        }
    };
    let state = if c.resolved { "resolved" } else { c.level.as_str() };
    let mut body = vec![
        json!({"type": "TextBlock", "text": format!("{} · {}", c.project, state), "size": "Small", "isSubtle": true, "wrap": true}),
        json!({"type": "TextBlock", "text": c.title, "size": "Large", "weight": "Bolder", "color": title_color, "wrap": true}),
    ];
    if !c.text.is_empty() {
        body.push(json!({"type": "TextBlock", "text": c.text, "wrap": true, "isSubtle": true}));
    }
    if !c.fields.is_empty() {
        let facts: Vec<Value> = c.fields.iter().map(|f| json!({"title": f.title, "value": f.value})).collect();
        body.push(json!({"type": "FactSet", "facts": facts}));
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "msteams": {"width": "Full"},
                "body": body,
                "actions": [{"type": "Action.OpenUrl", "title": link_label(c), "url": c.link}],
            },
        }],
    })
}

/// ntfy's priority (1 min … 5 max) for a level.
fn ntfy_priority(c: &AlertContent) -> u8 {
    if c.resolved {
        return 3;
    }
    match c.level.as_str() {
        "fatal" => 5,
        "error" => 4,
        "debug" => 2,
        _ => 3,
    }
}

/// A header value: as it is when it is printable ASCII, else an RFC 2047 encoded word
/// (which ntfy decodes).
fn header_text(text: &str) -> String {
    let text = one_line(text);
    if text.chars().all(|c| c.is_ascii() && !c.is_ascii_control()) {
        text
    } else {
        format!("=?UTF-8?B?{}?=", base64::engine::general_purpose::STANDARD.encode(text))
    }
}

/// ntfy's headers: Title, Priority, Tags (an emoji and the level) and Click.
fn ntfy_headers(c: &AlertContent) -> Vec<(&'static str, String)> {
    let tag = if c.resolved {
        "white_check_mark"
    } else {
        match c.level.as_str() {
            "debug" | "info" => "information_source",
            "warning" => "warning",
            _ => "rotating_light",
        }
    };
    let state = if c.resolved { "resolved" } else { c.level.as_str() };
    vec![
        ("title", header_text(&cut(&c.title, 200))),
        ("priority", ntfy_priority(c).to_string()),
        ("tags", format!("{tag},{state}")),
        ("click", c.link.clone()),
    ]
}

/// ntfy's message: the text and the fields, one a line.
fn ntfy_message(c: &AlertContent) -> String {
    let mut lines = Vec::new();
    if !c.text.is_empty() {
        lines.push(cut(&c.text, 1000));
        lines.push(String::new());
    }
    // ntfy turns a message over 4096 bytes into an attachment: stay well below.
    let mut size: usize = lines.iter().map(|l| l.len() + 1).sum();
    for f in &c.fields {
        let line = format!("{}: {}", cut(&f.title, 100), cut(&f.value, 300));
        size += line.len() + 1;
        if size > NTFY_MAX_BYTES {
            break;
        }
        lines.push(line);
    }
    if lines.is_empty() {
        lines.push(summary(c));
    }
    lines.join("\n")
}

/// The most a ntfy message takes (its limit is 4096 bytes).
const NTFY_MAX_BYTES: usize = 3900;
/// The most a Telegram message takes (its limit is 4096 characters, after entities).
const TELEGRAM_MAX_CHARS: usize = 4000;

/// Telegram's `sendMessage` with `parse_mode` HTML (everything escaped).
fn telegram(c: &AlertContent, chat: &str, thread: Option<&str>) -> Value {
    let mut text = format!("{} <b>{}</b>", emoji(c), html(&cut(&one_line(&c.title), 300)));
    if !c.text.is_empty() {
        text.push_str(&format!("\n{}", html(&cut(&c.text, 1000))));
    }
    let link = format!("\n\n<a href=\"{}\">{}</a>", html(&c.link), html(&link_label(c)));
    // Whole fields only, as many as fit beside the link (escaped text only overestimates).
    let mut budget = TELEGRAM_MAX_CHARS.saturating_sub(text.chars().count() + link.chars().count() + 1);
    let mut fields = String::new();
    for f in &c.fields {
        let line = format!("\n<b>{}:</b> {}", html(&cut(&f.title, 100)), html(&cut(&f.value, 300)));
        let n = line.chars().count();
        if n > budget {
            break;
        }
        budget -= n;
        fields.push_str(&line);
    }
    if !fields.is_empty() {
        text.push('\n');
        text.push_str(&fields);
    }
    text.push_str(&link);
    // A numeric chat id goes as a number, a @channel name as a string.
    let chat_id = chat.parse::<i64>().map_or_else(|_| json!(chat), |id| json!(id));
    let mut body = json!({
        "chat_id": chat_id,
        "text": text,
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": true},
    });
    if let Some(thread) = thread.and_then(|t| t.parse::<i64>().ok()) {
        body["message_thread_id"] = json!(thread);
    }
    body
}

/// A PagerDuty Events API v2 event: `trigger` (or `resolve` for a recovery) under
/// the stable dedup key, so repeats join one incident.
fn pagerduty(c: &AlertContent, routing_key: &str) -> Value {
    if c.resolved {
        return json!({"routing_key": routing_key, "event_action": "resolve", "dedup_key": c.dedup_key});
    }
    let severity = match c.level.as_str() {
        "fatal" => "critical",
        "error" => "error",
        "warning" => "warning",
        _ => "info",
    };
    let mut details = serde_json::Map::new();
    if !c.text.is_empty() {
        details.insert("text".into(), json!(c.text));
    }
    for f in c.fields.iter().chain(&c.details) {
        details.insert(f.title.clone(), json!(f.value));
    }
    json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": cut(&c.dedup_key, 255),
        "client": "Faultline",
        "client_url": c.link,
        "payload": {
            "summary": cut(&summary(c), 1024),
            "source": c.project,
            "severity": severity,
            "class": c.level,
            "custom_details": details,
        },
        "links": [{"href": c.link, "text": link_label(c)}],
    })
}

/// Zulip's `POST /api/v1/messages` form; the topic defaults to the project.
fn zulip(c: &AlertContent, kind: &str, to: &str, topic: Option<&str>) -> String {
    let mut content = format!("{} **{}**", emoji(c), one_line(&c.title));
    if !c.text.is_empty() {
        content.push_str(&format!("\n{}", c.text));
    }
    if !c.fields.is_empty() {
        content.push('\n');
    }
    for f in &c.fields {
        content.push_str(&format!("\n**{}**: {}", f.title, f.value));
    }
    content.push_str(&format!("\n\n[{}]({})", link_label(c), c.link));
    let topic = cut(&one_line(topic.unwrap_or(&c.project)), 60);
    let mut form = Url::parse("http://form.invalid/").expect("a valid URL");
    form.query_pairs_mut()
        .append_pair("type", kind)
        .append_pair("to", to)
        .append_pair("topic", &topic)
        .append_pair("content", &cut(&content, 9000));
    form.query().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_domain::alerts::test_content;

    // The bodies the GlitchTip-compatible renderers produced before content existed
    // (captured from the previous implementation): they must not change.
    const ISSUE_WEBHOOK: &str = r##"{"alias":"GlitchTip","attachments":[{"color":"#e52b50","fields":[{"short":true,"title":"Project","value":"web"},{"short":true,"title":"Environment","value":"production"},{"short":true,"title":"Release","value":"app@1.2"},{"short":true,"title":"browser","value":"Firefox 120"}],"image_url":null,"mrkdown_in":["text"],"text":"app/views.py in checkout","title":"TypeError: <x> & \"y\"","title_link":"https://faultline.example.com/acme/issues/42"}],"sections":[{"activitySubtitle":"[View Issue WEB-7](https://faultline.example.com/acme/issues/42)","activityTitle":"TypeError: <x> & \"y\""}],"text":"GlitchTip Alert"}"##;
    const ISSUE_DISCORD: &str = r##"{"content":"GlitchTip Alert","embeds":[{"color":15018832,"description":"app/views.py in checkout","fields":[{"inline":true,"name":"Project","value":"web"},{"inline":true,"name":"Environment","value":"production"},{"inline":true,"name":"Release","value":"app@1.2"},{"inline":true,"name":"browser","value":"Firefox 120"}],"title":"TypeError: <x> & \"y\"","url":"https://faultline.example.com/acme/issues/42"}]}"##;
    const ISSUE_GOOGLECHAT: &str = r##"{"cardsV2":[{"card":{"header":{"subtitle":"web","title":"GlitchTip Alert"},"sections":[{"header":"TypeError: <x> & \"y\"","widgets":[{"decoratedText":{"text":"web","topLabel":"Project"}},{"decoratedText":{"text":"production","topLabel":"Environment"}},{"decoratedText":{"text":"app@1.2","topLabel":"Release"}},{"decoratedText":{"text":"Firefox 120","topLabel":"browser"}},{"buttonList":{"buttons":[{"onClick":{"openLink":{"url":"https://faultline.example.com/acme/issues/42"}},"text":"View Issue"}]}}]}]},"cardId":"createCardMessage"}]}"##;
    const TEST_WEBHOOK: &str = r##"{"alias":"GlitchTip","attachments":[{"color":"#4b60b4","fields":[{"short":true,"title":"Project","value":"web"}],"image_url":null,"mrkdown_in":["text"],"text":"This is a test of the alert's recipients.","title":"Test notification for \"R\"","title_link":"https://f/acme/issues"}],"sections":[{"activitySubtitle":"[View Issue TEST](https://f/acme/issues)","activityTitle":"Test notification for \"R\""}],"text":"GlitchTip Alert"}"##;
    const TEST_DISCORD: &str = r##"{"content":"GlitchTip Alert","embeds":[{"color":4939956,"description":"This is a test of the alert's recipients.","fields":[{"inline":true,"name":"Project","value":"web"}],"title":"Test notification for \"R\"","url":"https://f/acme/issues"}]}"##;
    const TEST_GOOGLECHAT: &str = r##"{"cardsV2":[{"card":{"header":{"subtitle":"web","title":"GlitchTip Alert"},"sections":[{"header":"Test notification for \"R\"","widgets":[{"decoratedText":{"text":"web","topLabel":"Project"}},{"buttonList":{"buttons":[{"onClick":{"openLink":{"url":"https://f/acme/issues"}},"text":"View Issue"}]}}]}]},"cardId":"createCardMessage"}]}"##;

    fn issue() -> AlertContent {
        let facts = json!({
            "issueId": "42", "shortId": "WEB-7", "title": "TypeError: <x> & \"y\"", "culprit": "app/views.py in checkout",
            "level": "error", "levelNumber": 4, "project": "web", "projectSlug": "web", "organization": "acme",
            "link": "https://faultline.example.com/acme/issues/42", "count": 3,
            "firstSeen": "2026-11-22T08:00:00.000000Z", "lastSeen": "2026-11-22T08:05:00.000000Z",
            "environment": "production", "release": "app@1.2", "serverName": null,
            "tags": {"browser": {"value": "Firefox 120", "n": 2}, "release": {"value": "app@1.2", "n": 3}},
        });
        crate::alerts::issue_content(&facts, &["browser".into(), "missing".into()], Some("new_issue"))
    }

    fn body(kind: &str, url: &str, c: &AlertContent) -> Value {
        serde_json::from_slice(&render(kind, url, c).unwrap().body).unwrap()
    }

    fn text(kind: &str, c: &AlertContent) -> String {
        String::from_utf8(render(kind, "https://hooks.example.com/x", c).unwrap().body).unwrap()
    }

    fn header<'a>(r: &'a Rendered, name: &str) -> Option<&'a str> {
        r.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }

    #[test]
    fn glitchtip_bodies_are_unchanged() {
        assert_eq!(text("webhook", &issue()), ISSUE_WEBHOOK);
        assert_eq!(text("discord", &issue()), ISSUE_DISCORD);
        assert_eq!(text("googlechat", &issue()), ISSUE_GOOGLECHAT);
        let test = test_content("web", 1, "R", "https://f/acme/issues");
        assert_eq!(text("webhook", &test), TEST_WEBHOOK);
        assert_eq!(text("discord", &test), TEST_DISCORD);
        assert_eq!(text("googlechat", &test), TEST_GOOGLECHAT);
        let r = render("webhook", "https://hooks.example.com/x?a=1", &issue()).unwrap();
        assert_eq!((r.url.as_str(), r.content_type, r.headers.len()), ("https://hooks.example.com/x?a=1", JSON, 0));
    }

    #[test]
    fn content_of_an_issue() {
        let c = issue();
        assert_eq!(c.dedup_key, "faultline-issue-42");
        assert_eq!(c.reference, "WEB-7");
        assert_eq!(c.level, "error");
        let titles: Vec<&str> = c.fields.iter().map(|f| f.title.as_str()).collect();
        assert_eq!(titles, ["Project", "Environment", "Release", "browser"]);
        let details: Vec<&str> = c.details.iter().map(|f| f.title.as_str()).collect();
        assert_eq!(details, ["Level", "Events", "First seen", "Last seen", "Trigger"]);
    }

    #[test]
    fn slack_blocks_with_a_fallback() {
        let b = body("slack", "https://hooks.slack.com/services/T/B/x", &issue());
        assert_eq!(b["text"], "[web] error: TypeError: &lt;x&gt; &amp; \"y\"");
        let blocks = b["blocks"].as_array().unwrap();
        assert_eq!(blocks[0]["type"], "header");
        assert_eq!(blocks[0]["text"], json!({"type": "plain_text", "text": "TypeError: <x> & \"y\"", "emoji": true}));
        assert_eq!(blocks[1]["text"]["text"], "app/views.py in checkout");
        assert_eq!(blocks[2]["fields"][0], json!({"type": "mrkdwn", "text": "*Project*\nweb"}));
        assert_eq!(blocks[3]["elements"][0]["url"], "https://faultline.example.com/acme/issues/42");
        assert_eq!(blocks[3]["elements"][0]["text"]["text"], "View Issue WEB-7");
        assert_eq!(blocks[4]["elements"][0]["text"], "WEB-7 · error · Faultline");
        // Long titles fit Slack's limits.
        let long = AlertContent { title: "x".repeat(500), ..issue() };
        let b = body("slack", "https://hooks.slack.com/services/T/B/x", &long);
        assert_eq!(b["blocks"][0]["text"]["text"].as_str().unwrap().chars().count(), 150);
    }

    #[test]
    fn mattermost_attachment() {
        let b = body("mattermost", "https://chat.example.com/hooks/abc", &issue());
        let a = &b["attachments"][0];
        assert_eq!(a["title"], "TypeError: <x> & \"y\"");
        assert_eq!(a["title_link"], "https://faultline.example.com/acme/issues/42");
        assert_eq!(a["color"], "#e52b50");
        assert_eq!(a["fallback"], "[web] error: TypeError: <x> & \"y\"");
        assert_eq!(a["fields"][1], json!({"short": true, "title": "Environment", "value": "production"}));
    }

    #[test]
    fn teams_adaptive_card() {
        let b = body(
            "teams",
            "https://prod.westeurope.logic.azure.com/workflows/x/triggers/manual/paths/invoke?sig=s",
            &issue(),
        );
        assert_eq!(b["type"], "message");
        let a = &b["attachments"][0];
        assert_eq!(a["contentType"], "application/vnd.microsoft.card.adaptive");
        let card = &a["content"];
        assert_eq!((card["type"].as_str(), card["version"].as_str()), (Some("AdaptiveCard"), Some("1.4")));
        assert_eq!(card["body"][1]["text"], "TypeError: <x> & \"y\"");
        assert_eq!(card["body"][1]["color"], "Attention");
        assert_eq!(card["body"][3]["type"], "FactSet");
        assert_eq!(card["body"][3]["facts"][0], json!({"title": "Project", "value": "web"}));
        assert_eq!(
            card["actions"][0],
            json!({"type": "Action.OpenUrl", "title": "View Issue WEB-7", "url": "https://faultline.example.com/acme/issues/42"})
        );
        let resolved = AlertContent { resolved: true, ..issue() };
        let b = body("teams", "https://example.com/x", &resolved);
        assert_eq!(b["attachments"][0]["content"]["body"][1]["color"], "Good");
    }

    #[test]
    fn ntfy_headers_and_message() {
        let r = render("ntfy", "https://ntfy.sh/faultline-alerts", &issue()).unwrap();
        assert_eq!(r.url, "https://ntfy.sh/faultline-alerts");
        assert_eq!(r.content_type, "text/plain; charset=utf-8");
        assert_eq!(header(&r, "title"), Some("TypeError: <x> & \"y\""));
        assert_eq!(header(&r, "priority"), Some("4"));
        assert_eq!(header(&r, "tags"), Some("rotating_light,error"));
        assert_eq!(header(&r, "click"), Some("https://faultline.example.com/acme/issues/42"));
        let message = String::from_utf8(r.body).unwrap();
        assert!(message.starts_with("app/views.py in checkout\n\nProject: web\nEnvironment: production"), "{message}");
        // Non-ASCII titles go as RFC 2047 words; line breaks never reach a header.
        let c = AlertContent {
            title: "Zahlung fehlgeschlagen: Müller\r\nX-Evil: 1".into(),
            level: "fatal".into(),
            ..issue()
        };
        let r = render("ntfy", "https://user:p%40ss@ntfy.example.com/alerts", &c).unwrap();
        let title = header(&r, "title").unwrap();
        let b64 = title.strip_prefix("=?UTF-8?B?").and_then(|t| t.strip_suffix("?=")).unwrap();
        let decoded = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
        assert_eq!(String::from_utf8(decoded).unwrap(), "Zahlung fehlgeschlagen: Müller  X-Evil: 1");
        assert_eq!(header(&r, "priority"), Some("5"));
        assert_eq!(header(&r, "authorization"), Some("Basic dXNlcjpwQHNz"), "user:p@ss");
        assert_eq!(r.url, "https://ntfy.example.com/alerts");
        let up = AlertContent { resolved: true, ..issue() };
        let r = render("ntfy", "https://ntfy.sh/t", &up).unwrap();
        assert_eq!((header(&r, "priority"), header(&r, "tags")), (Some("3"), Some("white_check_mark,resolved")));
    }

    #[test]
    fn telegram_html_is_escaped() {
        let url = "https://api.telegram.org/bot123:ABC/sendMessage?chat_id=-1001234&message_thread_id=7";
        let r = render("telegram", url, &issue()).unwrap();
        assert_eq!(r.url, "https://api.telegram.org/bot123:ABC/sendMessage");
        let b: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(b["chat_id"], -1001234);
        assert_eq!(b["message_thread_id"], 7);
        assert_eq!(b["parse_mode"], "HTML");
        let text = b["text"].as_str().unwrap();
        assert!(
            text.starts_with("🔴 <b>TypeError: &lt;x&gt; &amp; &quot;y&quot;</b>\napp/views.py in checkout\n"),
            "{text}"
        );
        assert!(text.contains("\n<b>Release:</b> app@1.2"), "{text}");
        assert!(
            text.ends_with("<a href=\"https://faultline.example.com/acme/issues/42\">View Issue WEB-7</a>"),
            "{text}"
        );
        let b = body("telegram", "https://api.telegram.org/bot1:A/sendMessage?chat_id=%40ops_channel", &issue());
        assert_eq!(b["chat_id"], "@ops_channel");
        assert!(render("telegram", "https://api.telegram.org/bot1:A/sendMessage", &issue()).is_err());
    }

    #[test]
    fn long_alerts_fit_telegram_and_ntfy() {
        let many = (0..60).map(|i| AlertField::new(format!("tag{i}"), "<&>".repeat(100))).collect();
        let c = AlertContent { text: "t".repeat(5000), fields: many, ..issue() };
        let b = body("telegram", "https://api.telegram.org/bot1:A/sendMessage?chat_id=1", &c);
        let text = b["text"].as_str().unwrap();
        assert!(text.chars().count() <= 4096, "{}", text.chars().count());
        assert!(text.contains("<b>tag0:</b> &lt;&amp;&gt;"), "whole fields first");
        assert!(text.ends_with("View Issue WEB-7</a>"), "the link is always there");
        let message = render("ntfy", "https://ntfy.sh/t", &c).unwrap().body;
        assert!(message.len() <= 4096, "{}", message.len());
        let empty = AlertContent { title: " ".into(), ..issue() };
        assert_eq!(body("slack", "https://hooks.slack.com/x", &empty)["blocks"][0]["text"]["text"], "(no title)");
    }

    #[test]
    fn pagerduty_events_v2() {
        let url = "https://events.pagerduty.com/v2/enqueue?routing_key=R0UT1NGKEY";
        let r = render("pagerduty", url, &issue()).unwrap();
        assert_eq!(r.url, "https://events.pagerduty.com/v2/enqueue");
        let b: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(b["routing_key"], "R0UT1NGKEY");
        assert_eq!(b["event_action"], "trigger");
        assert_eq!(b["dedup_key"], "faultline-issue-42");
        assert_eq!(b["payload"]["summary"], "[web] error: TypeError: <x> & \"y\"");
        assert_eq!(b["payload"]["severity"], "error");
        assert_eq!(b["payload"]["source"], "web");
        assert_eq!(b["payload"]["custom_details"]["Environment"], "production");
        assert_eq!(b["payload"]["custom_details"]["Events"], "3");
        assert_eq!(b["payload"]["custom_details"]["text"], "app/views.py in checkout");
        assert_eq!(
            b["links"][0],
            json!({"href": "https://faultline.example.com/acme/issues/42", "text": "View Issue WEB-7"})
        );
        let fatal = AlertContent { level: "fatal".into(), ..issue() };
        assert_eq!(body("pagerduty", url, &fatal)["payload"]["severity"], "critical");
        let resolved = AlertContent { resolved: true, ..issue() };
        assert_eq!(
            body("pagerduty", url, &resolved),
            json!({"routing_key": "R0UT1NGKEY", "event_action": "resolve", "dedup_key": "faultline-issue-42"})
        );
    }

    #[test]
    fn zulip_form_with_basic_auth() {
        let url = "https://alerts-bot%40example.com:APIKEY@chat.example.com/api/v1/messages?stream=ops&topic=errors";
        let r = render("zulip", url, &issue()).unwrap();
        assert_eq!(r.url, "https://chat.example.com/api/v1/messages");
        assert_eq!(r.content_type, "application/x-www-form-urlencoded");
        let expected = base64::engine::general_purpose::STANDARD.encode("alerts-bot@example.com:APIKEY");
        assert_eq!(header(&r, "authorization"), Some(format!("Basic {expected}").as_str()));
        let form = Url::parse(&format!("http://x/?{}", String::from_utf8(r.body).unwrap())).unwrap();
        let form: std::collections::HashMap<String, String> = form.query_pairs().into_owned().collect();
        assert_eq!(form["type"], "stream");
        assert_eq!(form["to"], "ops");
        assert_eq!(form["topic"], "errors");
        assert!(
            form["content"].starts_with("🔴 **TypeError: <x> & \"y\"**\napp/views.py in checkout\n"),
            "{}",
            form["content"]
        );
        assert!(form["content"].ends_with("[View Issue WEB-7](https://faultline.example.com/acme/issues/42)"));
        // The server alone: the messages API; no topic: the project.
        let r = render("zulip", "https://bot:KEY@chat.example.com?stream=ops", &issue()).unwrap();
        assert_eq!(r.url, "https://chat.example.com/api/v1/messages");
        assert!(String::from_utf8(r.body).unwrap().contains("&topic=web&"));
    }

    #[test]
    fn email_has_text_and_html() {
        let mail = email(&issue());
        assert_eq!(mail.subject, "[web] error: TypeError: <x> & \"y\"");
        assert!(mail.text.contains("TypeError: <x> & \"y\"\napp/views.py in checkout\n"), "{}", mail.text);
        assert!(mail.text.contains("Events: 3\n"), "{}", mail.text);
        assert!(mail.text.contains("View Issue WEB-7: https://faultline.example.com/acme/issues/42"), "{}", mail.text);
        assert!(
            mail.html.contains("<h2 style=\"margin:4px 0\">TypeError: &lt;x&gt; &amp; &quot;y&quot;</h2>"),
            "{}",
            mail.html
        );
        assert!(mail.html.contains(">Trigger</th><td>a new issue</td>"), "{}", mail.html);
        assert_eq!(
            email(&AlertContent { resolved: true, ..issue() }).subject,
            "[web] resolved: TypeError: <x> & \"y\""
        );
    }

    #[test]
    fn parameters_are_taken_out_and_others_kept() {
        let mut url = Url::parse("https://x/p?a=1&routing_key=k%20y&b=two%20words").unwrap();
        assert_eq!(take_param(&mut url, "routing_key").as_deref(), Some("k y"));
        assert_eq!(url.as_str(), "https://x/p?a=1&b=two+words");
        assert_eq!(take_param(&mut url, "missing"), None);
        let mut url = Url::parse("https://x/p?only=1").unwrap();
        assert_eq!(take_param(&mut url, "only").as_deref(), Some("1"));
        assert_eq!(url.as_str(), "https://x/p");
        assert!(render("pigeon", "https://x", &issue()).unwrap_err().to_string().contains("pigeon"));
        let err = render("webhook", "not a url with a t0ken", &issue()).unwrap_err().to_string();
        assert!(!err.contains("t0ken"), "{err}");
    }
}
