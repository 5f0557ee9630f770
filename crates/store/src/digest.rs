//! Writing one digested batch: everything a batch of queue rows produced, stored in
//! one transaction together with the deletion of those rows.
//!
//! The transaction starts by taking ownership of the batch's queue rows: deleting them
//! (PostgreSQL, and SQLite's in-database queue) or recording their receipts (SQLite's
//! spool, a separate file whose rows are deleted after the commit; see `queue`). Only
//! items of rows this transaction owns are written: if a lease expired and another
//! worker already stored a row (or is storing it), this worker skips it. So every queued
//! payload is stored exactly once, even for items that have no natural unique key
//! (attachments, sessions, client reports). Events are additionally idempotent on
//! `(project_id, event_id)`.
//!
//! Multi-row statements come in a few fixed shapes ([`crate::chunks`]), which the
//! connection keeps prepared.
//!
//! Counters (issue counts, tags, hourly statistics) are aggregated in memory first and
//! written with one upsert per distinct key, sorted, which keeps the statement count
//! low and avoids deadlocks between concurrent workers on PostgreSQL.

use std::collections::{BTreeMap, HashMap, HashSet};

use faultline_config::DatabaseKind;
use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::chunks::{insert_chunks, padded, IN_LIST};
use crate::{EnvironmentId, IssueId, OrganizationId, ProjectId, QueueId, ReleaseId, Result, Store, Timestamp};

/// A processed error, message or CSP event.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// The queue row it came from.
    pub queue_id: QueueId,
    /// Project.
    pub project_id: ProjectId,
    /// Event id.
    pub event_id: Uuid,
    /// The event's own time.
    pub timestamp: Timestamp,
    /// When the server accepted it.
    pub received_at: Timestamp,
    /// Level number (0 sample … 5 fatal).
    pub level: i16,
    /// Issue type number (0 default, 1 error, 2 csp).
    pub ty: i16,
    /// Title.
    pub title: String,
    /// Culprit.
    pub culprit: String,
    /// Metadata (JSON).
    pub metadata: String,
    /// Grouping hashes, most specific first.
    pub hashes: Vec<String>,
    /// Release version.
    pub release: Option<String>,
    /// Environment name.
    pub environment: Option<String>,
    /// Tags to aggregate.
    pub tags: Vec<(String, String)>,
    /// The normalized event, zstd-compressed.
    pub payload: Vec<u8>,
    /// Full-text search fields: title, culprit, message, file names.
    pub search: [String; 4],
}

/// A processed transaction.
#[derive(Debug, Clone)]
pub struct NewTransaction {
    /// The queue row it came from.
    pub queue_id: QueueId,
    /// Project.
    pub project_id: ProjectId,
    /// Event id.
    pub event_id: Uuid,
    /// Transaction name.
    pub name: String,
    /// Operation.
    pub op: String,
    /// HTTP method.
    pub method: String,
    /// Trace id.
    pub trace_id: Option<String>,
    /// Trace status.
    pub status: String,
    /// Start.
    pub start: Timestamp,
    /// End.
    pub end: Timestamp,
    /// Release version.
    pub release: Option<String>,
    /// Environment name.
    pub environment: Option<String>,
    /// When accepted.
    pub received_at: Timestamp,
    /// The normalized transaction, zstd-compressed.
    pub payload: Vec<u8>,
}

/// A file attached to an event.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    /// The queue row it came from.
    pub queue_id: QueueId,
    /// Project.
    pub project_id: ProjectId,
    /// The event it belongs to.
    pub event_id: Uuid,
    /// File name.
    pub name: String,
    /// MIME type.
    pub content_type: String,
    /// `event.attachment`, `event.minidump`, …
    pub attachment_type: String,
    /// Uncompressed size.
    pub size: i64,
    /// The bytes, zstd-compressed.
    pub data: Vec<u8>,
}

/// User feedback about an event.
#[derive(Debug, Clone)]
pub struct NewUserReport {
    /// The queue row it came from.
    pub queue_id: QueueId,
    /// Project.
    pub project_id: ProjectId,
    /// The event it is about.
    pub event_id: Uuid,
    /// Reporter's name.
    pub name: String,
    /// Reporter's email.
    pub email: String,
    /// What they said.
    pub comments: String,
    /// When received.
    pub created_at: Timestamp,
}

/// Session counts for one project, release, environment and hour.
#[derive(Debug, Clone, Default)]
pub struct SessionCounts {
    /// Sessions started.
    pub started: i64,
    /// Ended normally.
    pub exited: i64,
    /// Ended with handled errors.
    pub errored: i64,
    /// Crashed.
    pub crashed: i64,
    /// Ended abnormally (killed, hung).
    pub abnormal: i64,
}

/// A raw cron check-in.
#[derive(Debug, Clone)]
pub struct NewCheckIn {
    /// The queue row it came from.
    pub queue_id: QueueId,
    /// Project.
    pub project_id: ProjectId,
    /// Monitor slug.
    pub monitor_slug: String,
    /// Check-in id.
    pub check_in_id: Uuid,
    /// `ok`, `error`, `in_progress`.
    pub status: String,
    /// Environment.
    pub environment: Option<String>,
    /// Duration in microseconds.
    pub duration: Option<i64>,
    /// The check-in JSON.
    pub payload: String,
    /// When accepted.
    pub received_at: Timestamp,
}

/// Everything one batch of queue rows produced.
#[derive(Debug, Clone, Default)]
pub struct DigestBatch {
    /// The queue rows this batch consumes.
    pub queue_ids: Vec<QueueId>,
    /// When the earliest lease of those rows ends, if known (claimed rows): on SQLite
    /// a batch stores spool rows only well within it.
    pub lease_until: Option<Timestamp>,
    /// Error, message and CSP events.
    pub events: Vec<NewEvent>,
    /// Transactions.
    pub transactions: Vec<NewTransaction>,
    /// Attachments.
    pub attachments: Vec<NewAttachment>,
    /// User feedback.
    pub user_reports: Vec<NewUserReport>,
    /// Session counts keyed by (queue row, project, release, environment, hour).
    pub sessions: Vec<(QueueId, ProjectId, String, String, Timestamp, SessionCounts)>,
    /// Client report counts: (queue row, project, hour, category, reason, quantity).
    pub client_reports: Vec<(QueueId, ProjectId, Timestamp, String, String, i64)>,
    /// Cron check-ins.
    pub check_ins: Vec<NewCheckIn>,
}

/// What writing a batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Queue rows consumed by this transaction.
    pub rows: usize,
    /// Queue rows skipped because another worker consumed them.
    pub rows_taken_elsewhere: usize,
    /// Events stored.
    pub events: usize,
    /// Events skipped as already stored.
    pub duplicate_events: usize,
    /// Issues created.
    pub new_issues: Vec<IssueId>,
    /// Resolved issues reopened by a new event.
    pub regressed_issues: Vec<IssueId>,
    /// Issues that received events, with how many.
    pub touched_issues: Vec<(IssueId, i64)>,
    /// Transactions stored.
    pub transactions: usize,
}

#[derive(Clone, Copy)]
struct ProjectRow {
    org: OrganizationId,
    deleted: bool,
}

/// Per-issue counters accumulated over the batch.
#[derive(Default)]
struct IssueAgg {
    count: i64,
    last_seen: i64,
}

/// Looks up the ids of named per-organization rows (releases, environments) for
/// `(project, name)` pairs, creating missing ones and their link to the project.
/// Returns `(project, name) → id`. Two statements when nothing is new.
macro_rules! names_on_sight {
    ($tx:ident, $projects:expr, $wanted:expr, $table:literal, $name:literal, $link:literal, $link_id:literal) => {{
        let mut wanted: Vec<(ProjectId, &str)> = $wanted.into_iter().filter(|(_, n)| !n.is_empty()).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut by_name: HashMap<(OrganizationId, String), i64> = HashMap::new();
        let mut pairs: Vec<(OrganizationId, &str)> = wanted.iter().map(|(p, n)| ($projects[p].org, *n)).collect();
        pairs.sort_unstable();
        pairs.dedup();
        for chunk in pairs.chunks(IN_LIST) {
            let mut q = QueryBuilder::new(concat!(
                "SELECT id, organization_id, ",
                $name,
                " FROM ",
                $table,
                " WHERE (organization_id, ",
                $name,
                ") IN (VALUES "
            ));
            let mut list = q.separated(", ");
            for (org, name) in padded(chunk) {
                list.push("(");
                list.push_bind_unseparated(*org);
                list.push_unseparated(", ");
                list.push_bind_unseparated(*name);
                list.push_unseparated(")");
            }
            q.push(")");
            let found: Vec<(i64, OrganizationId, String)> = q.build_query_as().fetch_all(&mut *$tx).await?;
            by_name.extend(found.into_iter().map(|(id, org, name)| ((org, name), id)));
        }
        let missing: Vec<&(OrganizationId, &str)> =
            pairs.iter().filter(|(o, n)| !by_name.contains_key(&(*o, n.to_string()))).collect();
        for chunk in insert_chunks(&missing) {
            let mut q =
                QueryBuilder::new(concat!("INSERT INTO ", $table, " (organization_id, ", $name, ", created_at) "));
            q.push_values(chunk, |mut row, (org, name)| {
                row.push_bind(*org).push_bind(*name).push_bind(Timestamp::now());
            });
            // DO UPDATE (a no-op) so that a name created meanwhile by another worker
            // is returned too.
            q.push(concat!(
                " ON CONFLICT (organization_id, ",
                $name,
                ") DO UPDATE SET ",
                $name,
                " = excluded.",
                $name,
                " RETURNING id, organization_id, ",
                $name
            ));
            let created: Vec<(i64, OrganizationId, String)> = q.build_query_as().fetch_all(&mut *$tx).await?;
            by_name.extend(created.into_iter().map(|(id, org, name)| ((org, name), id)));
        }
        let mut ids: HashMap<(ProjectId, String), i64> = HashMap::new();
        for (project, name) in &wanted {
            if let Some(id) = by_name.get(&($projects[project].org, name.to_string())) {
                ids.insert((*project, name.to_string()), *id);
            }
        }
        let links: Vec<(i64, ProjectId)> = ids.iter().map(|((p, _), id)| (*id, *p)).collect();
        let mut linked: HashSet<(i64, ProjectId)> = HashSet::new();
        for chunk in links.chunks(IN_LIST) {
            let mut q = QueryBuilder::new(concat!(
                "SELECT ",
                $link_id,
                ", project_id FROM ",
                $link,
                " WHERE (",
                $link_id,
                ", project_id) IN (VALUES "
            ));
            let mut list = q.separated(", ");
            for (id, project) in padded(chunk) {
                list.push("(");
                list.push_bind_unseparated(*id);
                list.push_unseparated(", ");
                list.push_bind_unseparated(*project);
                list.push_unseparated(")");
            }
            q.push(")");
            let found: Vec<(i64, ProjectId)> = q.build_query_as().fetch_all(&mut *$tx).await?;
            linked.extend(found);
        }
        let unlinked: Vec<&(i64, ProjectId)> = links.iter().filter(|l| !linked.contains(l)).collect();
        for chunk in insert_chunks(&unlinked) {
            let mut q = QueryBuilder::new(concat!("INSERT INTO ", $link, " (", $link_id, ", project_id) "));
            q.push_values(chunk, |mut row, (id, project)| {
                row.push_bind(*id).push_bind(*project);
            });
            q.push(" ON CONFLICT DO NOTHING");
            q.build().execute(&mut *$tx).await?;
        }
        ids
    }};
}

impl Store {
    /// Writes a digested batch in one transaction, consuming its queue rows.
    pub async fn write_batch(&self, batch: &DigestBatch) -> Result<BatchOutcome> {
        let kind = self.kind();
        let (spool_ids, main_ids): (Vec<QueueId>, Vec<QueueId>) = batch.queue_ids.iter().partition(|id| id.0 > 0);
        // SQLite spool rows are stored only within their lease (see `queue`); past it,
        // another batch may hold them, and this one leaves them be.
        let in_lease = batch.lease_until.is_none_or(|until| Timestamp::now().plus(crate::queue::LEASE_MARGIN) < until);
        let receipts: Vec<QueueId> = match kind {
            DatabaseKind::Sqlite if in_lease => spool_ids.clone(),
            _ => Vec::new(),
        };
        let outcome = transaction!(self, |tx| {
            let mut out = BatchOutcome::default();

            // 1. Take ownership of the queue rows (see `queue` for the two backends).
            let mut owned: HashSet<QueueId> = HashSet::new();
            let deletions = match kind {
                DatabaseKind::Postgres => spool_ids.clone(),
                DatabaseKind::Sqlite => main_ids.iter().map(|id| QueueId(-id.0)).collect(),
            };
            let sign = if kind == DatabaseKind::Sqlite { -1 } else { 1 };
            for chunk in deletions.chunks(IN_LIST) {
                let mut q = QueryBuilder::new("DELETE FROM ingest_queue WHERE id IN (");
                let mut list = q.separated(", ");
                for id in padded(chunk) {
                    list.push_bind(*id);
                }
                q.push(") RETURNING id");
                let ids: Vec<QueueId> = q.build_query_scalar().fetch_all(&mut *tx).await?;
                owned.extend(ids.into_iter().map(|id| QueueId(sign * id.0)));
            }
            if !receipts.is_empty() {
                sqlx::query("DELETE FROM ingest_digested WHERE queue_id < $1")
                    .bind(self.receipts_floor())
                    .execute(&mut *tx)
                    .await?;
            }
            for chunk in receipts.chunks(IN_LIST) {
                // One writer: what this look-up finds cannot change before the insert.
                let mut q = QueryBuilder::new("SELECT queue_id FROM ingest_digested WHERE queue_id IN (");
                let mut list = q.separated(", ");
                for id in padded(chunk) {
                    list.push_bind(*id);
                }
                q.push(")");
                let stored: HashSet<QueueId> = q.build_query_scalar().fetch_all(&mut *tx).await?.into_iter().collect();
                let fresh: Vec<QueueId> = chunk.iter().copied().filter(|id| !stored.contains(id)).collect();
                if fresh.is_empty() {
                    continue;
                }
                for part in insert_chunks(&fresh) {
                    let mut q = QueryBuilder::new("INSERT INTO ingest_digested (queue_id) ");
                    q.push_values(part, |mut row, id| {
                        row.push_bind(*id);
                    });
                    q.build().execute(&mut *tx).await?;
                }
                owned.extend(fresh);
            }
            out.rows = owned.len();
            out.rows_taken_elsewhere = batch.queue_ids.len() - owned.len();

            // 2. The projects involved (missing or deleted ones are skipped).
            let mut project_ids: Vec<ProjectId> = batch
                .events
                .iter()
                .map(|e| e.project_id)
                .chain(batch.transactions.iter().map(|t| t.project_id))
                .chain(batch.attachments.iter().map(|a| a.project_id))
                .chain(batch.user_reports.iter().map(|r| r.project_id))
                .chain(batch.sessions.iter().map(|s| s.1))
                .chain(batch.client_reports.iter().map(|c| c.1))
                .chain(batch.check_ins.iter().map(|c| c.project_id))
                .collect();
            project_ids.sort();
            project_ids.dedup();
            let mut projects: HashMap<ProjectId, ProjectRow> = HashMap::new();
            for chunk in project_ids.chunks(IN_LIST) {
                let mut q = QueryBuilder::new("SELECT id, organization_id, is_deleted FROM projects WHERE id IN (");
                let mut list = q.separated(", ");
                for id in padded(chunk) {
                    list.push_bind(*id);
                }
                q.push(")");
                let rows: Vec<(ProjectId, OrganizationId, bool)> = q.build_query_as().fetch_all(&mut *tx).await?;
                for (id, org, deleted) in rows {
                    projects.insert(id, ProjectRow { org, deleted });
                }
            }
            let live = |queue_id: QueueId, project: ProjectId| {
                owned.contains(&queue_id) && projects.get(&project).is_some_and(|p| !p.deleted)
            };

            let events: Vec<&NewEvent> = batch.events.iter().filter(|e| live(e.queue_id, e.project_id)).collect();
            let transactions: Vec<&NewTransaction> =
                batch.transactions.iter().filter(|t| live(t.queue_id, t.project_id)).collect();

            // 3. Releases and environments, created on sight: one look-up for the
            // batch, an insert only for new names.
            let wanted_releases: Vec<(ProjectId, &str)> = events
                .iter()
                .filter_map(|e| e.release.as_deref().map(|r| (e.project_id, r)))
                .chain(transactions.iter().filter_map(|t| t.release.as_deref().map(|r| (t.project_id, r))))
                .collect();
            let releases: HashMap<(ProjectId, String), ReleaseId> =
                names_on_sight!(tx, projects, wanted_releases, "releases", "version", "release_projects", "release_id")
                    .into_iter()
                    .map(|(k, id)| (k, ReleaseId(id)))
                    .collect();
            let wanted_envs: Vec<(ProjectId, &str)> = events
                .iter()
                .filter_map(|e| e.environment.as_deref().map(|r| (e.project_id, r)))
                .chain(transactions.iter().filter_map(|t| t.environment.as_deref().map(|r| (t.project_id, r))))
                .collect();
            let environments: HashMap<(ProjectId, String), EnvironmentId> = names_on_sight!(
                tx,
                projects,
                wanted_envs,
                "environments",
                "name",
                "environment_projects",
                "environment_id"
            )
            .into_iter()
            .map(|(k, id)| (k, EnvironmentId(id)))
            .collect();

            // 4. Known hashes of the projects involved.
            let mut hash_owner: HashMap<(ProjectId, String), IssueId> = HashMap::new();
            let mut by_project: BTreeMap<ProjectId, Vec<&str>> = BTreeMap::new();
            for e in &events {
                by_project.entry(e.project_id).or_default().extend(e.hashes.iter().map(String::as_str));
            }
            for (project, mut hashes) in by_project {
                hashes.sort_unstable();
                hashes.dedup();
                for chunk in hashes.chunks(IN_LIST) {
                    let mut q = QueryBuilder::new("SELECT hash, issue_id FROM issue_hashes WHERE project_id = ");
                    q.push_bind(project);
                    q.push(" AND hash IN (");
                    let mut list = q.separated(", ");
                    for h in padded(chunk) {
                        list.push_bind(*h);
                    }
                    q.push(")");
                    let rows: Vec<(String, IssueId)> = q.build_query_as().fetch_all(&mut *tx).await?;
                    for (hash, issue) in rows {
                        hash_owner.insert((project, hash), issue);
                    }
                }
            }

            // 5. Each event's issue: an existing one by any hash, or a new one.
            let mut event_issue: Vec<IssueId> = Vec::with_capacity(events.len());
            for e in &events {
                let Some(primary) = e.hashes.first() else {
                    return Err(crate::StoreError::Corrupt(format!("event {} has no grouping hash", e.event_id)));
                };
                let known = e.hashes.iter().find_map(|h| hash_owner.get(&(e.project_id, h.clone())).copied());
                let issue = match known {
                    Some(issue) => issue,
                    None => {
                        let short_id: i64 = sqlx::query_scalar(
                            "UPDATE projects SET next_short_id = next_short_id + 1 WHERE id = $1 RETURNING next_short_id",
                        )
                        .bind(e.project_id)
                        .fetch_one(&mut *tx)
                        .await?;
                        let created: IssueId = sqlx::query_scalar(
                            "INSERT INTO issues (project_id, short_id, title, culprit, type, level, metadata, first_seen, last_seen)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
                        )
                        .bind(e.project_id)
                        .bind(short_id)
                        .bind(&e.title)
                        .bind(&e.culprit)
                        .bind(e.ty)
                        .bind(e.level)
                        .bind(&e.metadata)
                        .bind(e.received_at)
                        .fetch_one(&mut *tx)
                        .await?;
                        let claimed: Option<IssueId> = sqlx::query_scalar(
                            "INSERT INTO issue_hashes (project_id, issue_id, hash, created_at) VALUES ($1, $2, $3, $4)
                             ON CONFLICT (project_id, hash) DO NOTHING RETURNING issue_id",
                        )
                        .bind(e.project_id)
                        .bind(created)
                        .bind(primary)
                        .bind(e.received_at)
                        .fetch_optional(&mut *tx)
                        .await?;
                        let issue = match claimed {
                            Some(_) => {
                                out.new_issues.push(created);
                                created
                            }
                            None => {
                                // Another worker created this issue meanwhile (PostgreSQL):
                                // join it and drop ours.
                                sqlx::query("DELETE FROM issues WHERE id = $1").bind(created).execute(&mut *tx).await?;
                                sqlx::query_scalar(
                                    "SELECT issue_id FROM issue_hashes WHERE project_id = $1 AND hash = $2",
                                )
                                .bind(e.project_id)
                                .bind(primary)
                                .fetch_one(&mut *tx)
                                .await?
                            }
                        };
                        hash_owner.insert((e.project_id, primary.clone()), issue);
                        issue
                    }
                };
                // Every other hash of the event joins the issue too, so later events
                // matching any variant find it.
                for h in &e.hashes {
                    if hash_owner.contains_key(&(e.project_id, h.clone())) {
                        continue;
                    }
                    sqlx::query(
                        "INSERT INTO issue_hashes (project_id, issue_id, hash, created_at) VALUES ($1, $2, $3, $4)
                         ON CONFLICT (project_id, hash) DO NOTHING",
                    )
                    .bind(e.project_id)
                    .bind(issue)
                    .bind(h)
                    .bind(e.received_at)
                    .execute(&mut *tx)
                    .await?;
                    hash_owner.insert((e.project_id, h.clone()), issue);
                }
                event_issue.push(issue);
            }

            // 6. The events themselves; duplicates (same project and id) are skipped.
            let mut stored: HashSet<(ProjectId, Uuid)> = HashSet::new();
            let mut rows: Vec<(usize, &NewEvent)> = events.iter().copied().enumerate().collect();
            if kind == DatabaseKind::Sqlite {
                // SQLite's one writer makes a look-up first exact, and inserting
                // without RETURNING spares the driver a message per row.
                let mut known: HashSet<(ProjectId, Uuid)> = HashSet::new();
                for chunk in rows.chunks(IN_LIST) {
                    let mut q = QueryBuilder::new(
                        "SELECT project_id, event_id FROM events WHERE (project_id, event_id) IN (VALUES ",
                    );
                    let mut list = q.separated(", ");
                    for (_, e) in padded(chunk) {
                        list.push("(");
                        list.push_bind_unseparated(e.project_id);
                        list.push_unseparated(", ");
                        list.push_bind_unseparated(e.event_id);
                        list.push_unseparated(")");
                    }
                    q.push(")");
                    let found: Vec<(ProjectId, Uuid)> = q.build_query_as().fetch_all(&mut *tx).await?;
                    known.extend(found);
                }
                let mut first = HashSet::new();
                rows.retain(|(_, e)| {
                    !known.contains(&(e.project_id, e.event_id)) && first.insert((e.project_id, e.event_id))
                });
                stored.extend(rows.iter().map(|(_, e)| (e.project_id, e.event_id)));
            }
            for chunk in insert_chunks(&rows) {
                let mut q = QueryBuilder::new(
                    "INSERT INTO events (project_id, issue_id, event_id, timestamp, received_at, level, release_id, environment_id, payload) ",
                );
                q.push_values(chunk, |mut row, (i, e)| {
                    row.push_bind(e.project_id)
                        .push_bind(event_issue[*i])
                        .push_bind(e.event_id)
                        .push_bind(e.timestamp)
                        .push_bind(e.received_at)
                        .push_bind(e.level)
                        .push_bind(e.release.as_ref().and_then(|r| releases.get(&(e.project_id, r.clone())).copied()))
                        .push_bind(
                            e.environment.as_ref().and_then(|n| environments.get(&(e.project_id, n.clone())).copied()),
                        )
                        .push_bind(&e.payload);
                });
                q.push(" ON CONFLICT (project_id, event_id) DO NOTHING");
                if kind == DatabaseKind::Postgres {
                    q.push(" RETURNING project_id, event_id");
                    let inserted: Vec<(ProjectId, Uuid)> = q.build_query_as().fetch_all(&mut *tx).await?;
                    stored.extend(inserted);
                } else {
                    q.build().execute(&mut *tx).await?;
                }
            }
            let mut seen_in_batch: HashSet<(ProjectId, Uuid)> = HashSet::new();
            let counted: Vec<(usize, &NewEvent)> = events
                .iter()
                .copied()
                .enumerate()
                .filter(|(_, e)| {
                    stored.contains(&(e.project_id, e.event_id)) && seen_in_batch.insert((e.project_id, e.event_id))
                })
                .collect();
            out.events = counted.len();
            out.duplicate_events = events.len() - counted.len();

            // 7. Counters: issues, tags, hourly statistics.
            let mut issues: BTreeMap<IssueId, IssueAgg> = BTreeMap::new();
            let mut tags: BTreeMap<(IssueId, &str, &str), (i64, i64, i64)> = BTreeMap::new();
            let mut issue_hours: BTreeMap<(IssueId, i64), i64> = BTreeMap::new();
            let mut project_hours: BTreeMap<(ProjectId, i16, i64), i64> = BTreeMap::new();
            for (i, e) in &counted {
                let issue = event_issue[*i];
                let received = e.received_at.micros();
                let agg = issues.entry(issue).or_default();
                agg.count += 1;
                agg.last_seen = agg.last_seen.max(received);
                for (k, v) in &e.tags {
                    let t = tags.entry((issue, k.as_str(), v.as_str())).or_insert((0, received, received));
                    t.0 += 1;
                    t.1 = t.1.min(received);
                    t.2 = t.2.max(received);
                }
                let hour = e.received_at.hour_bucket().micros();
                *issue_hours.entry((issue, hour)).or_default() += 1;
                *project_hours.entry((e.project_id, 0, hour)).or_default() += 1;
            }
            let (greatest, least) = match kind {
                DatabaseKind::Postgres => ("GREATEST", "LEAST"),
                DatabaseKind::Sqlite => ("MAX", "MIN"),
            };
            // The batch's issues, a chunk of them per statement.
            let issue_rows: Vec<_> = issues.iter().collect();
            for chunk in insert_chunks(&issue_rows) {
                let mut q = QueryBuilder::new(format!(
                    "UPDATE issues SET times_seen = times_seen + v.column2, last_seen = {greatest}(last_seen, v.column3),
                        regressed_at = CASE WHEN status = 1 THEN v.column3 ELSE regressed_at END,
                        resolved_at = CASE WHEN status = 1 THEN NULL ELSE resolved_at END,
                        status = CASE WHEN status = 1 THEN 0 ELSE status END
                     FROM (VALUES "
                ));
                let mut list = q.separated(", ");
                for (issue, agg) in chunk {
                    list.push("(");
                    list.push_bind_unseparated(**issue);
                    list.push_unseparated(", ");
                    list.push_bind_unseparated(agg.count);
                    list.push_unseparated(", ");
                    list.push_bind_unseparated(Timestamp::from_micros(agg.last_seen));
                    list.push_unseparated(")");
                }
                q.push(") AS v WHERE issues.id = v.column1 RETURNING issues.id, issues.regressed_at");
                let updated: Vec<(IssueId, Option<Timestamp>)> = q.build_query_as().fetch_all(&mut *tx).await?;
                for (issue, regressed_at) in updated {
                    let last_seen = issues[&issue].last_seen;
                    if regressed_at == Some(Timestamp::from_micros(last_seen)) && !out.new_issues.contains(&issue) {
                        out.regressed_issues.push(issue);
                    }
                }
            }
            out.regressed_issues.sort();
            out.touched_issues = issues.iter().map(|(issue, agg)| (*issue, agg.count)).collect();
            let tag_rows: Vec<_> = tags.into_iter().collect();
            for chunk in insert_chunks(&tag_rows) {
                let mut q = QueryBuilder::new(
                    "INSERT INTO issue_tags (issue_id, key, value, times_seen, first_seen, last_seen) ",
                );
                q.push_values(chunk, |mut row, ((issue, k, v), (n, first, last))| {
                    row.push_bind(*issue)
                        .push_bind(*k)
                        .push_bind(*v)
                        .push_bind(*n)
                        .push_bind(Timestamp::from_micros(*first))
                        .push_bind(Timestamp::from_micros(*last));
                });
                q.push(format!(
                    " ON CONFLICT (issue_id, key, value) DO UPDATE SET times_seen = issue_tags.times_seen + excluded.times_seen,
                      first_seen = {least}(issue_tags.first_seen, excluded.first_seen),
                      last_seen = {greatest}(issue_tags.last_seen, excluded.last_seen)"
                ));
                q.build().execute(&mut *tx).await?;
            }
            let hour_rows: Vec<_> = issue_hours.into_iter().collect();
            for chunk in insert_chunks(&hour_rows) {
                let mut q = QueryBuilder::new("INSERT INTO issue_hourly_stats (issue_id, bucket, times_seen) ");
                q.push_values(chunk, |mut row, ((issue, hour), n)| {
                    row.push_bind(*issue).push_bind(*hour).push_bind(*n);
                });
                q.push(" ON CONFLICT (issue_id, bucket) DO UPDATE SET times_seen = issue_hourly_stats.times_seen + excluded.times_seen");
                q.build().execute(&mut *tx).await?;
            }

            // 8. Transactions: groups on sight, rows idempotent on event id.
            let mut groups: HashMap<(ProjectId, &str, &str, &str), i64> = HashMap::new();
            for t in &transactions {
                let key = (t.project_id, t.name.as_str(), t.op.as_str(), t.method.as_str());
                if groups.contains_key(&key) {
                    continue;
                }
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO transaction_groups (project_id, name, op, method, created_at) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (project_id, name, op, method) DO UPDATE SET name = excluded.name RETURNING id",
                )
                .bind(t.project_id)
                .bind(&t.name)
                .bind(&t.op)
                .bind(&t.method)
                .bind(Timestamp::now())
                .fetch_one(&mut *tx)
                .await?;
                groups.insert(key, id);
            }
            for t in &transactions {
                let group = groups[&(t.project_id, t.name.as_str(), t.op.as_str(), t.method.as_str())];
                let inserted: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO transactions (project_id, group_id, event_id, trace_id, start_timestamp, timestamp, duration,
                        status, release_id, environment_id, received_at, payload)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                     ON CONFLICT (project_id, event_id) DO NOTHING RETURNING id",
                )
                .bind(t.project_id)
                .bind(group)
                .bind(t.event_id)
                .bind(&t.trace_id)
                .bind(t.start)
                .bind(t.end)
                .bind((t.end.micros() - t.start.micros()).max(0))
                .bind(&t.status)
                .bind(t.release.as_ref().and_then(|r| releases.get(&(t.project_id, r.clone())).copied()))
                .bind(t.environment.as_ref().and_then(|n| environments.get(&(t.project_id, n.clone())).copied()))
                .bind(t.received_at)
                .bind(&t.payload)
                .fetch_optional(&mut *tx)
                .await?;
                if inserted.is_some() {
                    out.transactions += 1;
                    *project_hours.entry((t.project_id, 1, t.received_at.hour_bucket().micros())).or_default() += 1;
                }
            }
            let project_rows: Vec<_> = project_hours.into_iter().collect();
            for chunk in insert_chunks(&project_rows) {
                let mut q =
                    QueryBuilder::new("INSERT INTO project_hourly_stats (project_id, category, bucket, times_seen) ");
                q.push_values(chunk, |mut row, ((project, category, hour), n)| {
                    row.push_bind(*project).push_bind(*category).push_bind(*hour).push_bind(*n);
                });
                q.push(" ON CONFLICT (project_id, category, bucket) DO UPDATE SET times_seen = project_hourly_stats.times_seen + excluded.times_seen");
                q.build().execute(&mut *tx).await?;
            }

            // 9. First event of a project.
            let mut firsts: BTreeMap<ProjectId, i64> = BTreeMap::new();
            for (_, e) in &counted {
                let t = firsts.entry(e.project_id).or_insert(i64::MAX);
                *t = (*t).min(e.received_at.micros());
            }
            for (project, first) in firsts {
                sqlx::query("UPDATE projects SET first_event_at = $1 WHERE id = $2 AND first_event_at IS NULL")
                    .bind(Timestamp::from_micros(first))
                    .bind(project)
                    .execute(&mut *tx)
                    .await?;
            }

            // 10. Full-text documents of new issues.
            let new_set: HashSet<IssueId> = out.new_issues.iter().copied().collect();
            let mut indexed: HashSet<IssueId> = HashSet::new();
            for (i, e) in events.iter().enumerate() {
                let issue = event_issue[i];
                if !new_set.contains(&issue) || !indexed.insert(issue) {
                    continue;
                }
                let [title, culprit, message, filenames] = &e.search;
                match kind {
                    DatabaseKind::Sqlite => {
                        sqlx::query(
                            "INSERT INTO issue_search (rowid, title, culprit, message, filenames) VALUES ($1, $2, $3, $4, $5)",
                        )
                        .bind(issue)
                        .bind(title)
                        .bind(culprit)
                        .bind(message)
                        .bind(filenames)
                        .execute(&mut *tx)
                        .await?;
                    }
                    DatabaseKind::Postgres => {
                        sqlx::query(
                            "INSERT INTO issue_search (issue_id, document) VALUES ($1,
                               setweight(to_tsvector('simple', $2), 'A') || setweight(to_tsvector('simple', $3), 'B')
                               || to_tsvector('simple', $4) || to_tsvector('simple', $5))
                             ON CONFLICT (issue_id) DO NOTHING",
                        )
                        .bind(issue)
                        .bind(title)
                        .bind(culprit)
                        .bind(message)
                        .bind(filenames)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
            }

            // 11. Attachments, feedback, sessions, client reports, check-ins.
            for a in batch.attachments.iter().filter(|a| live(a.queue_id, a.project_id)) {
                sqlx::query(
                    "INSERT INTO attachments (project_id, event_id, name, content_type, attachment_type, size, data, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(a.project_id)
                .bind(a.event_id)
                .bind(&a.name)
                .bind(&a.content_type)
                .bind(&a.attachment_type)
                .bind(a.size)
                .bind(&a.data)
                .bind(Timestamp::now())
                .execute(&mut *tx)
                .await?;
            }
            for r in batch.user_reports.iter().filter(|r| live(r.queue_id, r.project_id)) {
                sqlx::query(
                    "INSERT INTO user_reports (project_id, issue_id, event_id, name, email, comments, created_at)
                     VALUES ($1, (SELECT issue_id FROM events WHERE project_id = $1 AND event_id = $2), $2, $3, $4, $5, $6)
                     ON CONFLICT (project_id, event_id) DO NOTHING",
                )
                .bind(r.project_id)
                .bind(r.event_id)
                .bind(&r.name)
                .bind(&r.email)
                .bind(&r.comments)
                .bind(r.created_at)
                .execute(&mut *tx)
                .await?;
            }
            if !counted.is_empty() {
                // Feedback that arrived before its event.
                sqlx::query(
                    "UPDATE user_reports SET issue_id = (SELECT e.issue_id FROM events e
                        WHERE e.project_id = user_reports.project_id AND e.event_id = user_reports.event_id)
                     WHERE issue_id IS NULL AND created_at > $1",
                )
                .bind(Timestamp::now().plus_secs(-7 * 86_400))
                .execute(&mut *tx)
                .await?;
            }
            let mut sessions: BTreeMap<(ProjectId, &str, &str, i64), SessionCounts> = BTreeMap::new();
            for (queue_id, project, release, env, hour, counts) in &batch.sessions {
                if !live(*queue_id, *project) {
                    continue;
                }
                let s = sessions.entry((*project, release.as_str(), env.as_str(), hour.micros())).or_default();
                s.started += counts.started;
                s.exited += counts.exited;
                s.errored += counts.errored;
                s.crashed += counts.crashed;
                s.abnormal += counts.abnormal;
            }
            for ((project, release, env, hour), s) in sessions {
                sqlx::query(
                    "INSERT INTO session_hourly_stats (project_id, release, environment, bucket, started, exited, errored, crashed, abnormal)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                     ON CONFLICT (project_id, release, environment, bucket) DO UPDATE SET
                        started = session_hourly_stats.started + excluded.started,
                        exited = session_hourly_stats.exited + excluded.exited,
                        errored = session_hourly_stats.errored + excluded.errored,
                        crashed = session_hourly_stats.crashed + excluded.crashed,
                        abnormal = session_hourly_stats.abnormal + excluded.abnormal",
                )
                .bind(project)
                .bind(release)
                .bind(env)
                .bind(hour)
                .bind(s.started)
                .bind(s.exited)
                .bind(s.errored)
                .bind(s.crashed)
                .bind(s.abnormal)
                .execute(&mut *tx)
                .await?;
            }
            let mut reports: BTreeMap<(ProjectId, i64, &str, &str), i64> = BTreeMap::new();
            for (queue_id, project, hour, category, reason, n) in &batch.client_reports {
                if live(*queue_id, *project) {
                    *reports.entry((*project, hour.micros(), category.as_str(), reason.as_str())).or_default() += n;
                }
            }
            for ((project, hour, category, reason), n) in reports {
                sqlx::query(
                    "INSERT INTO client_report_stats (project_id, bucket, category, reason, quantity) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (project_id, bucket, category, reason) DO UPDATE SET
                        quantity = client_report_stats.quantity + excluded.quantity",
                )
                .bind(project)
                .bind(hour)
                .bind(category)
                .bind(reason)
                .bind(n)
                .execute(&mut *tx)
                .await?;
            }
            for c in batch.check_ins.iter().filter(|c| live(c.queue_id, c.project_id)) {
                sqlx::query(
                    "INSERT INTO cron_checkins (project_id, monitor_slug, check_in_id, status, environment, duration, payload, received_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(c.project_id)
                .bind(&c.monitor_slug)
                .bind(c.check_in_id)
                .bind(&c.status)
                .bind(&c.environment)
                .bind(c.duration)
                .bind(&c.payload)
                .bind(c.received_at)
                .execute(&mut *tx)
                .await?;
            }
            out
        });
        if let Err(e) = self.consume_spooled(&receipts).await {
            // The receipts make the next claim of these rows only delete them.
            tracing::warn!(error = %e, "cannot delete digested rows from the spool; they will be skipped later");
        }
        Ok(outcome)
    }
}
