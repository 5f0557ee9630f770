//! Turns health transitions (uptime monitors and cron monitors) into notifications:
//! every rule with `uptime` set on the monitor's project notifies its recipients
//! (GlitchTip's "send alert on any uptime monitor check failure"), except during a
//! maintenance window. Each transition is claimed once (`mark_transition_alerted`),
//! and each notification has a unique key, so several workers send it once.

use faultline_domain::alerts::{AlertContent, AlertField};
use faultline_store::{MonitorTransition, Store, StoreError, Timestamp};

use crate::WorkerContext;

/// Transitions handled per round.
const ROUND: i64 = 200;

/// Handles every pending transition, then asks for a delivery run.
pub(crate) async fn deliver_transitions(ctx: &WorkerContext) {
    let mut queued = 0;
    loop {
        let pending = match ctx.store.unalerted_transitions(ROUND).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read monitor transitions");
                return;
            }
        };
        let n = pending.len();
        for t in pending {
            match ctx.store.mark_transition_alerted(t.id).await {
                Ok(true) => match notify(ctx, &t).await {
                    Ok(count) => queued += count,
                    Err(e) => tracing::warn!(transition = t.id, error = %e, "cannot alert a monitor transition"),
                },
                Ok(false) => {}
                Err(e) => tracing::warn!(transition = t.id, error = %e, "cannot claim a monitor transition"),
            }
        }
        if n < ROUND as usize {
            break;
        }
    }
    if queued > 0 {
        crate::jobs::alerts::enqueue_delivery(&ctx.store, Timestamp::now()).await;
    }
}

async fn notify(ctx: &WorkerContext, t: &MonitorTransition) -> Result<usize, StoreError> {
    let store = &ctx.store;
    let Some(project_id) = t.project_id else { return Ok(0) };
    let rules: Vec<_> = store.alert_rules(project_id).await?.into_iter().filter(|r| r.uptime).collect();
    if rules.is_empty() {
        return Ok(0);
    }
    if let Some(monitor) = t.monitor_id {
        if store.monitor_in_maintenance(monitor, t.created_at).await? {
            tracing::info!(transition = t.id, monitor, "no alert: the monitor is in maintenance");
            return Ok(0);
        }
    }
    let content = content(ctx, store, t).await?;
    let payload = serde_json::to_value(&content).unwrap_or_default();
    let mut queued = 0;
    for rule in rules {
        if rule.environment.as_ref().is_some_and(|e| t.environment.as_ref() != Some(e)) {
            continue;
        }
        for r in store.alert_recipients(rule.id).await? {
            if store.enqueue_transition_alert(t.id, rule.id, r.id, &t.kind, &payload).await? {
                queued += 1;
            }
        }
    }
    Ok(queued)
}

/// What the notification says: which monitor, what happened, why, and for how long.
async fn content(ctx: &WorkerContext, store: &Store, t: &MonitorTransition) -> Result<AlertContent, StoreError> {
    let org = store.organization_by_id(t.organization_id).await?;
    let project = match t.project_id {
        Some(p) => store.project(p).await.map(|p| p.name).unwrap_or_default(),
        None => String::new(),
    };
    let http = &ctx.config.http;
    let base = format!("{}{}/{}", http.public_url, http.base_path, org.slug);
    let (name, target, link, dedup) = if let Some(id) = t.monitor_id {
        let m = store.monitor(t.organization_id, id).await?;
        let target = if m.kind == "heartbeat" { "heartbeat".to_string() } else { m.url.clone() };
        (m.name, target, format!("{base}/uptime-monitors/{id}"), format!("faultline-monitor-{id}"))
    } else if let Some(id) = t.cron_monitor_id {
        let m = store.cron_monitor(id).await?;
        let project_slug = store.project(m.project_id).await.map(|p| p.slug).unwrap_or_default();
        let env = t.environment.clone().unwrap_or_default();
        let link = format!("{base}/crons/{project_slug}/{}", m.slug);
        (m.name, format!("cron {} ({env})", m.slug), link, format!("faultline-cron-{id}-{env}"))
    } else {
        return Err(StoreError::NotFound);
    };
    let (title, level, resolved) = match t.kind.as_str() {
        "monitor.down" => (format!("{name} is down"), "error", false),
        "monitor.up" => (format!("{name} is back up"), "info", true),
        "monitor.tls_expiring" => (format!("The certificate of {name} expires soon"), "warning", false),
        "cron.missed" => (format!("{name} missed a check-in"), "error", false),
        "cron.failed" => (format!("{name} failed"), "error", false),
        "cron.recovered" => (format!("{name} recovered"), "info", true),
        other => (format!("{name}: {other}"), "warning", false),
    };
    let mut fields = vec![AlertField::new("Monitor", name.clone()), AlertField::new("Target", target)];
    if !project.is_empty() {
        fields.push(AlertField::new("Project", project.clone()));
    }
    if let Some(env) = &t.environment {
        fields.push(AlertField::new("Environment", env.clone()));
    }
    let mut details = vec![AlertField::new("Reason", t.reason.clone()), AlertField::new("Event", t.kind.clone())];
    if let (true, Some(since)) = (resolved, t.down_since) {
        let secs = (t.created_at.micros() - since.micros()).max(0) / 1_000_000;
        details.push(AlertField::new("Down for", human_duration(secs)));
    }
    details.push(AlertField::new("At", t.created_at.to_rfc3339()));
    let text = if resolved {
        match t.down_since {
            Some(since) => format!(
                "Recovered after {}.",
                human_duration((t.created_at.micros() - since.micros()).max(0) / 1_000_000)
            ),
            None => "Recovered.".to_string(),
        }
    } else {
        format!("Reason: {}.", t.reason)
    };
    Ok(AlertContent {
        title,
        text,
        fields,
        details,
        link,
        link_label: "View Monitor".into(),
        reference: name,
        project,
        level: level.into(),
        dedup_key: dedup,
        resolved,
    })
}

/// `3h 5m`, `2m 10s`, `45s`.
pub(crate) fn human_duration(secs: i64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_naturally() {
        use super::human_duration;
        assert_eq!(human_duration(45), "45s");
        assert_eq!(human_duration(130), "2m 10s");
        assert_eq!(human_duration(3 * 3600 + 300), "3h 5m");
        assert_eq!(human_duration(2 * 86_400 + 3600), "2d 1h");
    }
}
