//! Issue search: the query syntax of the issue stream, the filters and sorts of the
//! issues API, and the queries behind it.
//!
//! The syntax is Sentry's and GlitchTip's: `is:unresolved|resolved|ignored|assigned|
//! unassigned`, `assigned:me|<email>`, `level:<name>`, `has:<tag>`, any other
//! `key:value` (including `release:` and `environment:`) as an exact tag match, `!` in
//! front of a filter to negate it, double quotes around values with spaces, and the
//! remaining words as free text through the full-text index. A query that is just an
//! event id (32 hex digits or a UUID) finds the issue holding that event.
//!
//! The WHERE clause is built with [`QueryBuilder`] and is the same on both backends
//! except for the full-text condition (FTS5 `MATCH` on SQLite, `plainto_tsquery` on
//! PostgreSQL).

use std::collections::HashMap;

use faultline_config::DatabaseKind;
use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::{issue_status, Issue, IssueId, OrganizationId, ProjectId, Result, Store, Timestamp, UserId};

/// One filter of a search query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchFilter {
    /// `is:unresolved|resolved|ignored`.
    Status(i16),
    /// `is:assigned`.
    Assigned,
    /// `is:unassigned`.
    Unassigned,
    /// `assigned:me` (the viewer) or `assigned:<email>`.
    AssignedTo(String),
    /// `level:<name>`.
    Level(i16),
    /// `has:<tag>`.
    Has(String),
    /// `<key>:<value>`: an exact tag match (`release:`, `environment:`, …).
    Tag(String, String),
}

/// A filter, possibly negated (`!level:info`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerm {
    /// What to match.
    pub filter: SearchFilter,
    /// Whether to exclude matches instead.
    pub negated: bool,
}

/// A parsed search query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// Structured filters, all of which must hold.
    pub terms: Vec<SearchTerm>,
    /// Free text for the full-text index.
    pub text: Option<String>,
    /// The query was an event id: only the issue holding that event matches.
    pub event_id: Option<Uuid>,
}

/// A query that cannot be understood; the text says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SearchError(pub String);

/// GlitchTip's level number for a level name (with common aliases).
pub fn level_number(name: &str) -> Option<i16> {
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "sample" | "notset" => 0,
        "debug" | "trace" => 1,
        "info" | "log" => 2,
        "warning" | "warn" => 3,
        "error" => 4,
        "fatal" | "critical" => 5,
        _ => return None,
    })
}

/// The level name of a level number.
pub fn level_name(level: i16) -> &'static str {
    match level {
        0 => "sample",
        1 => "debug",
        2 => "info",
        3 => "warning",
        5 => "fatal",
        _ => "error",
    }
}

/// The status number of a status name (`muted` is Sentry's old name for ignored).
pub fn status_number(name: &str) -> Option<i16> {
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "unresolved" => issue_status::UNRESOLVED,
        "resolved" => issue_status::RESOLVED,
        "ignored" | "muted" => issue_status::IGNORED,
        _ => return None,
    })
}

/// The status name of a status number.
pub fn status_name(status: i16) -> &'static str {
    match status {
        issue_status::RESOLVED => "resolved",
        issue_status::IGNORED => "ignored",
        _ => "unresolved",
    }
}

/// A 32-hex-digit or hyphenated UUID event id.
pub fn parse_event_id(text: &str) -> Option<Uuid> {
    let text = text.trim();
    if !matches!(text.len(), 32 | 36) {
        return None;
    }
    Uuid::try_parse(text).ok()
}

/// A token of the query with the position of its first unquoted `:`.
struct Token {
    text: String,
    colon: Option<usize>,
    quoted: bool,
}

/// Splits on whitespace outside double quotes; quotes are removed.
fn tokenize(query: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut colon = None;
    let mut quoted = false;
    let mut in_quotes = false;
    for c in query.chars() {
        if in_quotes {
            if c == '"' {
                in_quotes = false;
            } else {
                current.push(c);
            }
        } else if c == '"' {
            in_quotes = true;
            quoted = true;
        } else if c.is_whitespace() {
            if !current.is_empty() || quoted {
                out.push(Token { text: std::mem::take(&mut current), colon: colon.take(), quoted });
            }
            quoted = false;
        } else {
            if c == ':' && colon.is_none() {
                colon = Some(current.len());
            }
            current.push(c);
        }
    }
    if !current.is_empty() || quoted {
        out.push(Token { text: current, colon, quoted });
    }
    out
}

fn is_key(key: &str) -> bool {
    !key.is_empty() && key.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '@' | '/'))
}

impl SearchQuery {
    /// Parses a query of the issue stream.
    pub fn parse(query: &str) -> Result<SearchQuery, SearchError> {
        let mut out = SearchQuery::default();
        if let Some(id) = parse_event_id(query) {
            out.event_id = Some(id);
            return Ok(out);
        }
        let mut words: Vec<String> = Vec::new();
        for token in tokenize(query) {
            let Some(colon) = token.colon else {
                words.push(token.text);
                continue;
            };
            let (raw_key, value) = (&token.text[..colon], &token.text[colon + 1..]);
            let (negated, key) = match raw_key.strip_prefix('!') {
                Some(k) => (true, k),
                None => (false, raw_key),
            };
            if !is_key(key) || (value.is_empty() && !token.quoted) {
                words.push(token.text);
                continue;
            }
            let filter = match key {
                "is" => match value.to_ascii_lowercase().as_str() {
                    "assigned" => SearchFilter::Assigned,
                    "unassigned" => SearchFilter::Unassigned,
                    v => SearchFilter::Status(
                        status_number(v).ok_or_else(|| SearchError(format!("unsupported value for is: {value:?}")))?,
                    ),
                },
                "level" => SearchFilter::Level(
                    level_number(value).ok_or_else(|| SearchError(format!("unknown level {value:?}")))?,
                ),
                "has" => SearchFilter::Has(value.to_string()),
                "assigned" | "assigned_to" => SearchFilter::AssignedTo(value.to_string()),
                _ => SearchFilter::Tag(key.to_string(), value.to_string()),
            };
            out.terms.push(SearchTerm { filter, negated });
        }
        let text = words.join(" ");
        let text = text.trim();
        if !text.is_empty() {
            out.text = Some(text.to_string());
        }
        Ok(out)
    }

    /// Whether the query has a status filter (callers that default to `is:unresolved`
    /// check this).
    pub fn has_status(&self) -> bool {
        self.terms.iter().any(|t| matches!(t.filter, SearchFilter::Status(_)))
    }
}

/// Free text as an FTS5 query: every word as a quoted string (implicit AND), so no
/// user input is ever read as FTS5 syntax. `None` when no word has a letter or digit.
pub fn fts5_query(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| w.replace('*', ""))
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// Free text for `plainto_tsquery`; `None` when no word has a letter or digit.
fn tsquery_text(text: &str) -> Option<String> {
    let words: Vec<String> =
        text.split_whitespace().map(|w| w.replace('*', "")).filter(|w| w.chars().any(char::is_alphanumeric)).collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// A `LIKE` pattern for text with `*` wildcards (`%`, `_` and `\` escaped).
fn like_pattern(text: &str) -> String {
    let mut out = String::from("%");
    for c in text.chars() {
        match c {
            '*' => out.push('%'),
            '%' | '_' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push('%');
    out
}

/// Which issues to list.
#[derive(Debug, Clone)]
pub struct IssueFilter {
    /// The organization (always enforced).
    pub organization: OrganizationId,
    /// Only these projects (of the organization); empty: all of them.
    pub projects: Vec<ProjectId>,
    /// Only these issues; empty: any.
    pub ids: Vec<IssueId>,
    /// First seen at or after.
    pub first_seen_from: Option<Timestamp>,
    /// First seen at or before.
    pub first_seen_to: Option<Timestamp>,
    /// Seen in one of these environments (tag `environment`); empty: any.
    pub environments: Vec<String>,
    /// The parsed `query`.
    pub query: SearchQuery,
    /// Who is asking (for `assigned:me`).
    pub viewer: Option<UserId>,
}

impl IssueFilter {
    /// Every live issue of an organization.
    pub fn organization(organization: OrganizationId) -> IssueFilter {
        IssueFilter {
            organization,
            projects: Vec::new(),
            ids: Vec::new(),
            first_seen_from: None,
            first_seen_to: None,
            environments: Vec::new(),
            query: SearchQuery::default(),
            viewer: None,
        }
    }
}

/// What to sort issues by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IssueSortKey {
    /// Last seen (Sentry's `date`).
    #[default]
    LastSeen,
    /// First seen (`new`).
    FirstSeen,
    /// Event count (`freq`).
    Count,
    /// `log10(count) + last_seen_epoch / 300000`, GlitchTip's priority.
    Priority,
    /// Users affected (`user`).
    Users,
}

/// A sort order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssueSort {
    /// The key.
    pub key: IssueSortKey,
    /// Largest first.
    pub descending: bool,
}

impl Default for IssueSort {
    fn default() -> Self {
        IssueSort { key: IssueSortKey::LastSeen, descending: true }
    }
}

impl IssueSort {
    /// From Sentry's names (`date`, `new`, `freq`, `priority`, `user`; always largest
    /// first) or GlitchTip's (`last_seen`, `first_seen`, `count`, `priority`, with `-`
    /// for descending). `priority` alone follows Sentry (highest first), as Grafana
    /// sends it; GlitchTip's lowest-first is `+priority`.
    pub fn parse(text: &str) -> Option<IssueSort> {
        let text = text.trim();
        let (descending, name) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let sentry = |key| Some(IssueSort { key, descending: true });
        let glitchtip = |key| Some(IssueSort { key, descending });
        match name {
            "" | "date" | "inbox" | "trends" => sentry(IssueSortKey::LastSeen),
            "new" => sentry(IssueSortKey::FirstSeen),
            "freq" => sentry(IssueSortKey::Count),
            "user" => sentry(IssueSortKey::Users),
            "priority" if !descending && !text.starts_with('+') => sentry(IssueSortKey::Priority),
            "priority" => glitchtip(IssueSortKey::Priority),
            "last_seen" => glitchtip(IssueSortKey::LastSeen),
            "first_seen" => glitchtip(IssueSortKey::FirstSeen),
            "count" | "times_seen" => glitchtip(IssueSortKey::Count),
            "users" | "user_count" => glitchtip(IssueSortKey::Users),
            _ => None,
        }
    }
}

/// An issue as listed: the issue plus its assignee.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IssueRow {
    /// The issue.
    #[sqlx(flatten)]
    pub issue: Issue,
    /// Who it is assigned to.
    pub assigned_to_id: Option<UserId>,
}

pub(crate) const ISSUE_ROW_COLUMNS: &str = "issues.id, issues.project_id, issues.short_id, issues.title, \
     issues.culprit, issues.type, issues.level, issues.status, issues.metadata, issues.times_seen, \
     issues.first_seen, issues.last_seen, issues.resolved_at, issues.regressed_at, issues.is_public, \
     issues.assigned_to_id";

/// A filter with its project scope resolved: the live projects of the organization
/// (only the requested ones, when the filter names some). Only [`Store::scope`]
/// makes one, so every issue query is confined to one organization.
pub(crate) struct Scoped<'f> {
    filter: &'f IssueFilter,
    projects: Vec<ProjectId>,
}

fn push_in_list<'a, DB>(q: &mut QueryBuilder<'a, DB>, column: &str, ids: &[i64])
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    // One value as `=`, so the planner can walk a `(project_id, …)` index in order.
    if let [one] = ids {
        q.push(format!("{column} = "));
        q.push_bind(*one);
        return;
    }
    q.push(format!("{column} IN ("));
    let mut list = q.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    q.push(")");
}

/// Appends ` WHERE …` selecting the live issues of a scoped filter (table `issues`).
pub(crate) fn push_issue_where<'a, DB>(q: &mut QueryBuilder<'a, DB>, scoped: &Scoped<'_>, kind: DatabaseKind)
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i16: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Uuid: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let f = scoped.filter;
    let projects: Vec<i64> = scoped.projects.iter().map(|p| p.0).collect();
    q.push(" WHERE ");
    push_in_list(q, "issues.project_id", &projects);
    q.push(" AND NOT issues.is_deleted");
    if !f.ids.is_empty() {
        q.push(" AND issues.id IN (");
        let mut list = q.separated(", ");
        for id in &f.ids {
            list.push_bind(id.0);
        }
        q.push(")");
    }
    if let Some(from) = f.first_seen_from {
        q.push(" AND issues.first_seen >= ");
        q.push_bind(from.micros());
    }
    if let Some(to) = f.first_seen_to {
        q.push(" AND issues.first_seen <= ");
        q.push_bind(to.micros());
    }
    if !f.environments.is_empty() {
        q.push(" AND EXISTS (SELECT 1 FROM issue_tags env WHERE env.issue_id = issues.id AND env.key = 'environment' AND env.value IN (");
        let mut list = q.separated(", ");
        for e in &f.environments {
            list.push_bind(e.clone());
        }
        q.push("))");
    }
    if let Some(event_id) = f.query.event_id {
        q.push(" AND issues.id IN (SELECT ev.issue_id FROM events ev WHERE ev.event_id = ");
        q.push_bind(event_id);
        q.push(" AND ");
        push_in_list(q, "ev.project_id", &projects);
        q.push(")");
    }
    for term in &f.query.terms {
        q.push(if term.negated { " AND NOT " } else { " AND " });
        match &term.filter {
            SearchFilter::Status(s) => {
                q.push("(issues.status = ");
                q.push_bind(*s);
                q.push(")");
            }
            SearchFilter::Level(l) => {
                q.push("(issues.level = ");
                q.push_bind(*l);
                q.push(")");
            }
            SearchFilter::Assigned => {
                q.push("(issues.assigned_to_id IS NOT NULL)");
            }
            SearchFilter::Unassigned => {
                q.push("(issues.assigned_to_id IS NULL)");
            }
            SearchFilter::AssignedTo(who) => {
                if who.eq_ignore_ascii_case("me") || who.eq_ignore_ascii_case("[me]") {
                    q.push("(issues.assigned_to_id IS NOT NULL AND issues.assigned_to_id = ");
                    q.push_bind(f.viewer.map_or(-1, |u| u.0));
                    q.push(")");
                } else {
                    let who = who.strip_prefix("user:").unwrap_or(who);
                    q.push("(issues.assigned_to_id IS NOT NULL AND issues.assigned_to_id IN (SELECT id FROM users WHERE lower(email) = lower(");
                    q.push_bind(who.to_string());
                    q.push(") OR CAST(id AS TEXT) = ");
                    q.push_bind(who.to_string());
                    q.push("))");
                }
            }
            SearchFilter::Has(key) => {
                q.push("EXISTS (SELECT 1 FROM issue_tags t WHERE t.issue_id = issues.id AND t.key = ");
                q.push_bind(key.clone());
                q.push(")");
            }
            SearchFilter::Tag(key, value) => {
                q.push("EXISTS (SELECT 1 FROM issue_tags t WHERE t.issue_id = issues.id AND t.key = ");
                q.push_bind(key.clone());
                q.push(" AND t.value = ");
                q.push_bind(value.clone());
                q.push(")");
            }
        }
    }
    if let Some(text) = &f.query.text {
        let fts = match kind {
            DatabaseKind::Sqlite => fts5_query(text),
            DatabaseKind::Postgres => tsquery_text(text),
        };
        let wildcard = text.contains('*');
        let (like, fts_sql) = match kind {
            DatabaseKind::Sqlite => {
                ("issues.title LIKE ", "issues.id IN (SELECT rowid FROM issue_search WHERE issue_search MATCH ")
            }
            DatabaseKind::Postgres => (
                "issues.title ILIKE ",
                "issues.id IN (SELECT issue_id FROM issue_search WHERE document @@ plainto_tsquery('simple', ",
            ),
        };
        match (fts, wildcard) {
            (Some(fts), false) => {
                q.push(" AND ");
                q.push(fts_sql);
                q.push_bind(fts);
                q.push(if kind == DatabaseKind::Postgres { "))" } else { ")" });
            }
            (Some(fts), true) => {
                q.push(" AND (");
                q.push(like);
                q.push_bind(like_pattern(text));
                q.push(" ESCAPE '\\' OR ");
                q.push(fts_sql);
                q.push_bind(fts);
                q.push(if kind == DatabaseKind::Postgres { ")))" } else { "))" });
            }
            // Nothing indexable (only punctuation): match the title literally.
            (None, _) => {
                q.push(" AND ");
                q.push(like);
                q.push_bind(like_pattern(text));
                q.push(" ESCAPE '\\'");
            }
        }
    }
}

fn push_order<DB: sqlx::Database>(q: &mut QueryBuilder<'_, DB>, sort: IssueSort) {
    let dir = if sort.descending { "DESC" } else { "ASC" };
    let column = match sort.key {
        IssueSortKey::LastSeen | IssueSortKey::Priority => "issues.last_seen",
        IssueSortKey::FirstSeen => "issues.first_seen",
        IssueSortKey::Count => "issues.times_seen",
        IssueSortKey::Users => "(SELECT COUNT(*) FROM issue_tags ut WHERE ut.issue_id = issues.id AND ut.key = 'user')",
    };
    q.push(format!(" ORDER BY {column} {dir}, issues.id {dir}"));
}

/// GlitchTip's priority score.
pub fn priority_score(times_seen: i64, last_seen: Timestamp) -> f64 {
    (times_seen.max(1) as f64).log10() + (last_seen.micros() as f64 / 1e6) / 300_000.0
}

impl Store {
    /// The live projects a filter may see: the organization's, narrowed to the
    /// requested ones; `None` when that leaves none (nothing can match).
    pub(crate) async fn scope<'f>(&self, filter: &'f IssueFilter) -> Result<Option<Scoped<'f>>> {
        let live = read!(self, |pool| sqlx::query_scalar::<_, ProjectId>(
            "SELECT id FROM projects WHERE organization_id = $1 AND NOT is_deleted ORDER BY id"
        )
        .bind(filter.organization)
        .fetch_all(pool)
        .await)?;
        let projects: Vec<ProjectId> = if filter.projects.is_empty() {
            live
        } else {
            live.into_iter().filter(|p| filter.projects.contains(p)).collect()
        };
        Ok((!projects.is_empty()).then_some(Scoped { filter, projects }))
    }

    /// A page of the issues matching `filter`, in `sort` order.
    pub async fn search_issues(
        &self,
        filter: &IssueFilter,
        sort: IssueSort,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<IssueRow>> {
        if sort.key == IssueSortKey::Priority {
            return self.search_issues_by_priority(filter, sort.descending, offset, limit).await;
        }
        let Some(scoped) = self.scope(filter).await? else { return Ok(Vec::new()) };
        let kind = self.kind();
        let rows = read!(self, |pool| {
            let mut q = QueryBuilder::new(format!("SELECT {ISSUE_ROW_COLUMNS} FROM issues"));
            push_issue_where(&mut q, &scoped, kind);
            push_order(&mut q, sort);
            q.push(" LIMIT ");
            q.push_bind(limit.max(0));
            q.push(" OFFSET ");
            q.push_bind(offset.max(0));
            q.build_query_as::<IssueRow>().fetch_all(pool).await
        })?;
        Ok(rows)
    }

    /// Priority is a logarithm, which SQLite lacks: rank the candidates here.
    async fn search_issues_by_priority(
        &self,
        filter: &IssueFilter,
        descending: bool,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<IssueRow>> {
        let Some(scoped) = self.scope(filter).await? else { return Ok(Vec::new()) };
        let kind = self.kind();
        let mut ranked: Vec<(i64, i64, Timestamp)> = read!(self, |pool| {
            let mut q = QueryBuilder::new("SELECT issues.id, issues.times_seen, issues.last_seen FROM issues");
            push_issue_where(&mut q, &scoped, kind);
            q.build_query_as::<(i64, i64, Timestamp)>().fetch_all(pool).await
        })?;
        ranked.sort_by(|a, b| {
            let (pa, pb) = (priority_score(a.1, a.2), priority_score(b.1, b.2));
            let order = pa.total_cmp(&pb).then(a.0.cmp(&b.0));
            if descending {
                order.reverse()
            } else {
                order
            }
        });
        let page: Vec<IssueId> = ranked
            .into_iter()
            .skip(usize::try_from(offset.max(0)).unwrap_or(usize::MAX))
            .take(usize::try_from(limit.max(0)).unwrap_or(0))
            .map(|r| IssueId(r.0))
            .collect();
        self.issue_rows(&page).await
    }

    /// Issues by id, in the order given (missing and deleted ones left out).
    pub async fn issue_rows(&self, ids: &[IssueId]) -> Result<Vec<IssueRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut found: HashMap<IssueId, IssueRow> = HashMap::new();
        for chunk in ids.chunks(500) {
            let rows = read!(self, |pool| {
                let mut q = QueryBuilder::new(format!(
                    "SELECT {ISSUE_ROW_COLUMNS} FROM issues WHERE NOT issues.is_deleted AND issues.id IN ("
                ));
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(id.0);
                }
                q.push(")");
                q.build_query_as::<IssueRow>().fetch_all(pool).await
            })?;
            found.extend(rows.into_iter().map(|r| (r.issue.id, r)));
        }
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    /// One live issue with its assignee.
    pub async fn issue_row(&self, id: IssueId) -> Result<IssueRow> {
        self.issue_rows(&[id]).await?.pop().ok_or(crate::StoreError::NotFound)
    }

    /// How many issues match `filter`.
    pub async fn count_issues(&self, filter: &IssueFilter) -> Result<i64> {
        let Some(scoped) = self.scope(filter).await? else { return Ok(0) };
        let kind = self.kind();
        let n = read!(self, |pool| {
            let mut q = QueryBuilder::new("SELECT COUNT(*) FROM issues");
            push_issue_where(&mut q, &scoped, kind);
            q.build_query_scalar::<i64>().fetch_one(pool).await
        })?;
        Ok(n)
    }

    /// The ids and projects of every issue matching `filter`, highest id first (for
    /// bulk changes).
    pub async fn matching_issues(&self, filter: &IssueFilter) -> Result<Vec<(IssueId, ProjectId)>> {
        let Some(scoped) = self.scope(filter).await? else { return Ok(Vec::new()) };
        let kind = self.kind();
        let rows = read!(self, |pool| {
            let mut q = QueryBuilder::new("SELECT issues.id, issues.project_id FROM issues");
            push_issue_where(&mut q, &scoped, kind);
            q.push(" ORDER BY issues.id DESC");
            q.build_query_as::<(IssueId, ProjectId)>().fetch_all(pool).await
        })?;
        Ok(rows)
    }

    /// The organization slug of a live issue in a live project, for authorization of
    /// routes that name only the issue.
    pub async fn issue_organization_slug(&self, issue: IssueId) -> Result<Option<String>> {
        let slug = read!(self, |pool| sqlx::query_scalar::<_, String>(
            "SELECT o.slug FROM issues i JOIN projects p ON p.id = i.project_id
             JOIN organizations o ON o.id = p.organization_id
             WHERE i.id = $1 AND NOT i.is_deleted AND NOT p.is_deleted"
        )
        .bind(issue)
        .fetch_optional(pool)
        .await)?;
        Ok(slug)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(filter: SearchFilter, negated: bool) -> SearchTerm {
        SearchTerm { filter, negated }
    }

    #[test]
    fn parses_the_syntax() {
        let q = SearchQuery::parse(
            r#"is:unresolved !level:info browser:"Firefox 1" has:user release:1.0 KeyError in views"#,
        )
        .unwrap();
        assert_eq!(
            q.terms,
            vec![
                term(SearchFilter::Status(0), false),
                term(SearchFilter::Level(2), true),
                term(SearchFilter::Tag("browser".into(), "Firefox 1".into()), false),
                term(SearchFilter::Has("user".into()), false),
                term(SearchFilter::Tag("release".into(), "1.0".into()), false),
            ]
        );
        assert_eq!(q.text.as_deref(), Some("KeyError in views"));
        assert_eq!(SearchQuery::parse("is:assigned").unwrap().terms[0].filter, SearchFilter::Assigned);
        assert_eq!(SearchQuery::parse("is:unassigned").unwrap().terms[0].filter, SearchFilter::Unassigned);
        assert_eq!(SearchQuery::parse("is:muted").unwrap().terms[0].filter, SearchFilter::Status(2));
        assert!(SearchQuery::parse("is:sleepy").is_err());
        assert!(SearchQuery::parse("level:loud").is_err());
        // A colon with nothing after it, or in a URL-ish word, is text.
        let q = SearchQuery::parse("Error: boom").unwrap();
        assert!(q.terms.is_empty());
        assert_eq!(q.text.as_deref(), Some("Error: boom"));
        // Quoted empty value is a filter on the empty value.
        assert_eq!(
            SearchQuery::parse(r#"site:"""#).unwrap().terms[0].filter,
            SearchFilter::Tag("site".into(), "".into())
        );
        assert_eq!(SearchQuery::parse("").unwrap(), SearchQuery::default());
    }

    #[test]
    fn event_ids() {
        let id = Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        assert_eq!(SearchQuery::parse(&id.simple().to_string()).unwrap().event_id, Some(id));
        assert_eq!(SearchQuery::parse(&id.hyphenated().to_string()).unwrap().event_id, Some(id));
        assert_eq!(SearchQuery::parse("0123456789abcdef").unwrap().event_id, None);
    }

    #[test]
    fn fts5_input_is_escaped() {
        assert_eq!(fts5_query(r#"a"b OR NEAR(x) *"#).as_deref(), Some(r#""a""b" "OR" "NEAR(x)""#));
        assert_eq!(fts5_query("*** !!"), None);
        assert_eq!(like_pattern("50%_*x"), r"%50\%\_%x%");
    }

    #[test]
    fn sorts() {
        let d = |key| IssueSort { key, descending: true };
        assert_eq!(IssueSort::parse("freq"), Some(d(IssueSortKey::Count)));
        assert_eq!(IssueSort::parse("new"), Some(d(IssueSortKey::FirstSeen)));
        assert_eq!(IssueSort::parse("date"), Some(d(IssueSortKey::LastSeen)));
        assert_eq!(IssueSort::parse("-last_seen"), Some(d(IssueSortKey::LastSeen)));
        assert_eq!(IssueSort::parse("priority"), Some(d(IssueSortKey::Priority)));
        assert_eq!(IssueSort::parse("-priority"), Some(d(IssueSortKey::Priority)));
        assert_eq!(IssueSort::parse("+priority"), Some(IssueSort { key: IssueSortKey::Priority, descending: false }));
        assert_eq!(IssueSort::parse("first_seen"), Some(IssueSort { key: IssueSortKey::FirstSeen, descending: false }));
        assert_eq!(IssueSort::parse("count"), Some(IssueSort { key: IssueSortKey::Count, descending: false }));
        assert_eq!(IssueSort::parse("bogus"), None);
    }
}
