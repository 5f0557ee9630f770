//! Turning claimed queue rows into a [`DigestBatch`]: decode each envelope, run the
//! pure processing on its items, and collect what the store writes. CPU only.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use faultline_processing::{EventContext, GroupingStrategy, ItemKind, Processor};
use faultline_protocol::{decode_body, ContentEncoding, Envelope, ItemType};
use faultline_store::{
    compress_json, compress_payload, DigestBatch, DigestSettings, NewAttachment, NewCheckIn, NewEvent, NewTransaction,
    NewUserReport, ProjectId, QueueMeta, Queued, SessionCounts, Timestamp,
};
use serde_json::Value;
use uuid::Uuid;

use super::dictionaries::ForBatch;

/// Largest decoded queue payload (well above the ingest caps).
const MAX_DECODED: usize = 512 * 1024 * 1024;

/// What happened to the items of a batch, for logs.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct ItemStats {
    pub events: usize,
    pub transactions: usize,
    pub other: usize,
    pub dropped: usize,
    pub failed: usize,
}

impl ItemStats {
    fn add(&mut self, o: ItemStats) {
        self.events += o.events;
        self.transactions += o.transactions;
        self.other += o.other;
        self.dropped += o.dropped;
        self.failed += o.failed;
    }
}

/// A processed event's JSON, kept to train its project's dictionary.
pub(crate) type Sample = (ProjectId, Vec<u8>);

/// Builds the batch for `rows` (all of them: unparseable rows are consumed and
/// logged, never retried forever), and the samples `compression` asks for.
pub(crate) fn build(
    processor: &Processor,
    rows: &[Queued],
    settings: &HashMap<ProjectId, DigestSettings>,
    compression: &ForBatch,
) -> (DigestBatch, ItemStats, Vec<Sample>) {
    let mut batch = DigestBatch {
        queue_ids: rows.iter().map(|r| r.id).collect(),
        lease_until: rows.iter().filter_map(|r| r.locked_until).min(),
        ..DigestBatch::default()
    };
    let mut stats = ItemStats::default();
    let mut samples = Vec::new();
    for row in rows {
        let settings = settings.get(&row.project_id);
        stats.add(add_row(processor, row, settings, compression, &mut batch, &mut samples));
    }
    (batch, stats, samples)
}

/// Merges `part` into `into` (for batches built in parallel).
pub(crate) fn merge(into: &mut DigestBatch, part: DigestBatch) {
    into.queue_ids.extend(part.queue_ids);
    into.lease_until = match (into.lease_until, part.lease_until) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    into.events.extend(part.events);
    into.transactions.extend(part.transactions);
    into.attachments.extend(part.attachments);
    into.user_reports.extend(part.user_reports);
    into.sessions.extend(part.sessions);
    into.client_reports.extend(part.client_reports);
    into.check_ins.extend(part.check_ins);
}

fn parse_time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    match v? {
        Value::String(s) => DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc)),
        Value::Number(n) => n.as_f64().and_then(Timestamp::from_secs_f64).map(Timestamp::to_datetime),
        _ => None,
    }
}

fn str_field(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn add_row(
    processor: &Processor,
    row: &Queued,
    settings: Option<&DigestSettings>,
    compression: &ForBatch,
    batch: &mut DigestBatch,
    samples: &mut Vec<Sample>,
) -> ItemStats {
    let mut stats = ItemStats::default();
    let Some(settings) = settings else {
        // The project is gone; the store skips its rows too.
        stats.dropped += 1;
        return stats;
    };
    let meta: QueueMeta = serde_json::from_str(&row.meta).unwrap_or_default();
    let decoded;
    let bytes: &[u8] = match meta.encoding.as_deref() {
        None => &row.payload,
        Some(encoding) => {
            // Queued bodies passed the size caps at ingest; the cap here only guards
            // against corruption.
            let decoding = ContentEncoding::from_header(Some(encoding))
                .map_err(|e| e.to_string())
                .and_then(|enc| decode_body(&row.payload, enc, MAX_DECODED).map_err(|e| e.to_string()));
            match decoding {
                Ok(b) => {
                    decoded = b;
                    &decoded
                }
                Err(e) => {
                    tracing::error!(queue_id = %row.id, error = %e, "corrupt queued payload; dropped");
                    stats.failed += 1;
                    return stats;
                }
            }
        }
    };
    let envelope = match Envelope::parse(bytes) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(queue_id = %row.id, error = %e, "unparseable queued envelope; dropped");
            stats.failed += 1;
            return stats;
        }
    };
    let received = row.received_at.to_datetime();
    let fallback_event_id =
        envelope.event_id().or_else(|| meta.event_id.as_deref().and_then(|s| Uuid::try_parse(s).ok()));
    let ctx = EventContext {
        received,
        sent_at: parse_time(envelope.header.get("sent_at")),
        client_ip: meta.client_ip.as_deref().and_then(|ip| ip.parse().ok()),
        sdk_client: meta.sdk_client.as_deref(),
        fallback_event_id,
        scrub_ip: settings.scrub_ip,
        scrub_data: settings.scrub_data,
        grouping: GroupingStrategy::from_setting(&settings.grouping),
    };
    let project_id = row.project_id;
    let hour = row.received_at.hour_bucket();

    for item in &envelope.items {
        match &item.ty {
            ItemType::Event | ItemType::Security => {
                let kind = if item.ty == ItemType::Security { ItemKind::Security } else { ItemKind::Event };
                match processor.process_event(item.payload, kind, &ctx) {
                    Ok(p) => {
                        let payload = compress_json(&p.event, compression.dictionaries.get(&project_id).map(|d| &**d));
                        if compression.sample.contains(&project_id) {
                            samples.extend(serde_json::to_vec(&p.event).ok().map(|json| (project_id, json)));
                        }
                        batch.events.push(NewEvent {
                            queue_id: row.id,
                            project_id,
                            event_id: p.event_id,
                            timestamp: Timestamp::from_datetime(p.timestamp),
                            received_at: row.received_at,
                            level: p.level,
                            ty: p.ty as i16,
                            title: p.title,
                            culprit: p.culprit,
                            metadata: p.metadata.to_string(),
                            hashes: p.hashes,
                            release: p.release,
                            environment: p.environment,
                            tags: p.tags,
                            payload,
                            search: [p.search.title, p.search.culprit, p.search.message, p.search.filenames],
                        });
                        stats.events += 1;
                    }
                    Err(e) => {
                        tracing::warn!(queue_id = %row.id, error = %e, "event dropped");
                        stats.failed += 1;
                    }
                }
            }
            ItemType::Transaction => match processor.process_transaction(item.payload, &ctx) {
                Ok(t) => {
                    // Transactions are shaped unlike the errors dictionaries learn from.
                    let payload = compress_json(&t.event, None);
                    batch.transactions.push(NewTransaction {
                        queue_id: row.id,
                        project_id,
                        event_id: t.event_id,
                        name: t.name,
                        op: t.op,
                        method: t.method,
                        trace_id: t.trace_id,
                        status: t.status,
                        start: Timestamp::from_datetime(t.start),
                        end: Timestamp::from_datetime(t.end),
                        release: t.release,
                        environment: t.environment,
                        received_at: row.received_at,
                        payload,
                    });
                    stats.transactions += 1;
                }
                Err(e) => {
                    tracing::warn!(queue_id = %row.id, error = %e, "transaction dropped");
                    stats.failed += 1;
                }
            },
            ItemType::Attachment => {
                let Some(event_id) = fallback_event_id else {
                    stats.dropped += 1;
                    continue;
                };
                batch.attachments.push(NewAttachment {
                    queue_id: row.id,
                    project_id,
                    event_id,
                    name: item.header_str("filename").unwrap_or("attachment").to_string(),
                    content_type: item.header_str("content_type").unwrap_or("application/octet-stream").to_string(),
                    attachment_type: item.header_str("attachment_type").unwrap_or("event.attachment").to_string(),
                    size: item.payload.len() as i64,
                    data: compress_payload(item.payload),
                });
                stats.other += 1;
            }
            ItemType::UserReport => {
                let Ok(report) = serde_json::from_slice::<Value>(item.payload) else {
                    stats.failed += 1;
                    continue;
                };
                let event_id = report
                    .get("event_id")
                    .and_then(Value::as_str)
                    .and_then(|s| Uuid::try_parse(s).ok())
                    .or(fallback_event_id);
                let (Some(event_id), Some(comments)) = (event_id, report.get("comments").and_then(Value::as_str))
                else {
                    stats.failed += 1;
                    continue;
                };
                batch.user_reports.push(NewUserReport {
                    queue_id: row.id,
                    project_id,
                    event_id,
                    name: str_field(&report, "name"),
                    email: str_field(&report, "email"),
                    comments: comments.to_string(),
                    created_at: row.received_at,
                });
                stats.other += 1;
            }
            ItemType::Feedback => {
                // New-style feedback: an event with a `feedback` context.
                let Ok(event) = serde_json::from_slice::<Value>(item.payload) else {
                    stats.failed += 1;
                    continue;
                };
                let feedback = event.pointer("/contexts/feedback").cloned().unwrap_or(Value::Null);
                let message = feedback.get("message").and_then(Value::as_str);
                let event_id = feedback
                    .get("associated_event_id")
                    .and_then(Value::as_str)
                    .or_else(|| event.get("event_id").and_then(Value::as_str))
                    .and_then(|s| Uuid::try_parse(s).ok())
                    .or(fallback_event_id);
                let (Some(event_id), Some(message)) = (event_id, message) else {
                    stats.failed += 1;
                    continue;
                };
                batch.user_reports.push(NewUserReport {
                    queue_id: row.id,
                    project_id,
                    event_id,
                    name: str_field(&feedback, "name"),
                    email: str_field(&feedback, "contact_email"),
                    comments: message.to_string(),
                    created_at: row.received_at,
                });
                stats.other += 1;
            }
            ItemType::Session => {
                if let Ok(session) = serde_json::from_slice::<Value>(item.payload) {
                    add_session(batch, row, &session, hour);
                    stats.other += 1;
                } else {
                    stats.failed += 1;
                }
            }
            ItemType::Sessions => {
                if let Ok(sessions) = serde_json::from_slice::<Value>(item.payload) {
                    add_aggregates(batch, row, &sessions, hour);
                    stats.other += 1;
                } else {
                    stats.failed += 1;
                }
            }
            ItemType::ClientReport => {
                if let Ok(report) = serde_json::from_slice::<Value>(item.payload) {
                    for d in report.get("discarded_events").and_then(Value::as_array).into_iter().flatten() {
                        let quantity = d.get("quantity").and_then(Value::as_i64).unwrap_or(0);
                        if quantity > 0 {
                            batch.client_reports.push((
                                row.id,
                                project_id,
                                hour,
                                str_field(d, "category").chars().take(64).collect(),
                                str_field(d, "reason").chars().take(64).collect(),
                                quantity,
                            ));
                        }
                    }
                    stats.other += 1;
                } else {
                    stats.failed += 1;
                }
            }
            ItemType::CheckIn => {
                let Ok(check_in) = serde_json::from_slice::<Value>(item.payload) else {
                    stats.failed += 1;
                    continue;
                };
                let id = check_in.get("check_in_id").and_then(Value::as_str).and_then(|s| Uuid::try_parse(s).ok());
                let slug = check_in.get("monitor_slug").and_then(Value::as_str).filter(|s| !s.is_empty());
                let (Some(check_in_id), Some(slug)) = (id, slug) else {
                    stats.failed += 1;
                    continue;
                };
                batch.check_ins.push(NewCheckIn {
                    queue_id: row.id,
                    project_id,
                    monitor_slug: slug.chars().take(128).collect(),
                    check_in_id,
                    status: str_field(&check_in, "status"),
                    environment: check_in.get("environment").and_then(Value::as_str).map(String::from),
                    duration: check_in.get("duration").and_then(Value::as_f64).map(|s| (s * 1e6) as i64),
                    payload: check_in.to_string(),
                    received_at: row.received_at,
                });
                stats.other += 1;
            }
            _ => stats.dropped += 1,
        }
    }
    stats
}

fn release_env(attrs: Option<&Value>) -> (String, String) {
    let attrs = attrs.cloned().unwrap_or(Value::Null);
    (str_field(&attrs, "release"), str_field(&attrs, "environment"))
}

/// One session update: `init` starts a session; a final status ends it.
fn add_session(batch: &mut DigestBatch, row: &Queued, s: &Value, hour: Timestamp) {
    let (release, environment) = release_env(s.get("attrs"));
    let mut counts = SessionCounts::default();
    if s.get("init").and_then(Value::as_bool).unwrap_or(false) {
        counts.started = 1;
    }
    let errors = s.get("errors").and_then(Value::as_i64).unwrap_or(0);
    match s.get("status").and_then(Value::as_str).unwrap_or("ok") {
        "exited" if errors > 0 => counts.errored = 1,
        "exited" => counts.exited = 1,
        "errored" => counts.errored = 1,
        "crashed" => counts.crashed = 1,
        "abnormal" => counts.abnormal = 1,
        _ => {}
    }
    let bucket = parse_time(s.get("started")).map(|t| Timestamp::from_datetime(t).hour_bucket()).unwrap_or(hour);
    batch.sessions.push((row.id, row.project_id, release, environment, bucket, counts));
}

/// Pre-aggregated sessions: each bucket's outcomes are sessions that started then.
fn add_aggregates(batch: &mut DigestBatch, row: &Queued, s: &Value, hour: Timestamp) {
    let (release, environment) = release_env(s.get("attrs"));
    for a in s.get("aggregates").and_then(Value::as_array).into_iter().flatten() {
        let n = |k: &str| a.get(k).and_then(Value::as_i64).unwrap_or(0).max(0);
        let counts = SessionCounts {
            started: n("exited") + n("errored") + n("abnormal") + n("crashed"),
            exited: n("exited"),
            errored: n("errored"),
            crashed: n("crashed"),
            abnormal: n("abnormal"),
        };
        let bucket = parse_time(a.get("started")).map(|t| Timestamp::from_datetime(t).hour_bucket()).unwrap_or(hour);
        batch.sessions.push((row.id, row.project_id, release.clone(), environment.clone(), bucket, counts));
    }
}
