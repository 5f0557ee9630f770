//! Reading aggregated tag values: per issue (distributions, users affected, releases)
//! and per organization (the tag keys in use).

use std::collections::HashMap;

use sqlx::QueryBuilder;

use crate::{IssueId, OrganizationId, Result, Store, Timestamp};

/// One value of a tag on an issue.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TagValueCount {
    /// Tag key.
    pub key: String,
    /// Value.
    pub value: String,
    /// Events with it.
    pub times_seen: i64,
    /// First event with it.
    pub first_seen: Timestamp,
    /// Last event with it.
    pub last_seen: Timestamp,
}

/// The distribution of one tag key on an issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagSummary {
    /// Key.
    pub key: String,
    /// Events carrying the key.
    pub total_values: i64,
    /// Distinct values.
    pub unique_values: i64,
    /// The most frequent values, most frequent first.
    pub top_values: Vec<TagValueCount>,
}

/// A release as seen on an issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueRelease {
    /// Version.
    pub version: String,
    /// When the release was created (first seen by the server).
    pub created_at: Option<Timestamp>,
    /// When it was released, if recorded.
    pub released_at: Option<Timestamp>,
    /// First event of the issue in this release.
    pub first_seen: Timestamp,
    /// Last event of the issue in this release.
    pub last_seen: Timestamp,
}

/// A tag key used in an organization.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OrganizationTagKey {
    /// Key.
    pub key: String,
    /// Events carrying it.
    pub total_values: i64,
    /// Distinct values.
    pub unique_values: i64,
}

impl Store {
    /// The tag distributions of an issue (only `key` when given), keys sorted, at most
    /// `top` values each.
    pub async fn issue_tag_summary(&self, issue: IssueId, key: Option<&str>, top: usize) -> Result<Vec<TagSummary>> {
        let rows = read!(self, |pool| {
            let mut q = QueryBuilder::new(
                "SELECT key, value, times_seen, first_seen, last_seen FROM issue_tags WHERE issue_id = ",
            );
            q.push_bind(issue);
            if let Some(key) = key {
                q.push(" AND key = ");
                q.push_bind(key);
            }
            q.push(" ORDER BY key, times_seen DESC, value");
            q.build_query_as::<TagValueCount>().fetch_all(pool).await
        })?;
        let mut out: Vec<TagSummary> = Vec::new();
        for row in rows {
            match out.last_mut() {
                Some(s) if s.key == row.key => {
                    s.total_values += row.times_seen;
                    s.unique_values += 1;
                    if s.top_values.len() < top {
                        s.top_values.push(row);
                    }
                }
                _ => out.push(TagSummary {
                    key: row.key.clone(),
                    total_values: row.times_seen,
                    unique_values: 1,
                    top_values: if top > 0 { vec![row] } else { Vec::new() },
                }),
            }
        }
        Ok(out)
    }

    /// A page of one tag's values on an issue, most frequent first, and how many
    /// values there are.
    pub async fn issue_tag_value_page(
        &self,
        issue: IssueId,
        key: &str,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<TagValueCount>, i64)> {
        let rows = read!(self, |pool| sqlx::query_as::<_, TagValueCount>(
            "SELECT key, value, times_seen, first_seen, last_seen FROM issue_tags WHERE issue_id = $1 AND key = $2
             ORDER BY times_seen DESC, value LIMIT $3 OFFSET $4"
        )
        .bind(issue)
        .bind(key)
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await)?;
        let total = read!(self, |pool| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM issue_tags WHERE issue_id = $1 AND key = $2"
        )
        .bind(issue)
        .bind(key)
        .fetch_one(pool)
        .await)?;
        Ok((rows, total))
    }

    /// Distinct `user` tag values per issue: the users affected (issues without any
    /// are absent).
    pub async fn issue_user_counts(&self, issues: &[IssueId]) -> Result<HashMap<IssueId, i64>> {
        let mut out = HashMap::new();
        for chunk in issues.chunks(500) {
            let rows = read!(self, |pool| {
                let mut q =
                    QueryBuilder::new("SELECT issue_id, COUNT(*) FROM issue_tags WHERE key = 'user' AND issue_id IN (");
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                q.push(") GROUP BY issue_id");
                q.build_query_as::<(IssueId, i64)>().fetch_all(pool).await
            })?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// The most frequent value of each of `keys` per issue (`handled`, `logger`, …).
    pub async fn issue_top_tag_values(
        &self,
        issues: &[IssueId],
        keys: &[&str],
    ) -> Result<HashMap<(IssueId, String), String>> {
        let mut out: HashMap<(IssueId, String), (String, i64)> = HashMap::new();
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        for chunk in issues.chunks(500) {
            let rows = read!(self, |pool| {
                let mut q = QueryBuilder::new("SELECT issue_id, key, value, times_seen FROM issue_tags WHERE key IN (");
                let mut list = q.separated(", ");
                for k in keys {
                    list.push_bind(*k);
                }
                q.push(") AND issue_id IN (");
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                q.push(")");
                q.build_query_as::<(IssueId, String, String, i64)>().fetch_all(pool).await
            })?;
            for (issue, key, value, n) in rows {
                let entry = out.entry((issue, key)).or_insert_with(|| (value.clone(), n));
                if n > entry.1 || (n == entry.1 && value < entry.0) {
                    *entry = (value, n);
                }
            }
        }
        Ok(out.into_iter().map(|(k, (v, _))| (k, v)).collect())
    }

    /// The first and last release an issue was seen in (by its `release` tag), with
    /// the release's dates when the release is known.
    pub async fn issue_first_last_release(
        &self,
        issue: IssueId,
    ) -> Result<(Option<IssueRelease>, Option<IssueRelease>)> {
        let rows = read!(self, |pool| sqlx::query_as::<
            _,
            (String, Timestamp, Timestamp, Option<Timestamp>, Option<Timestamp>),
        >(
            "SELECT t.value, t.first_seen, t.last_seen, r.created_at, r.released_at
             FROM issue_tags t
             JOIN issues i ON i.id = t.issue_id
             JOIN projects p ON p.id = i.project_id
             LEFT JOIN releases r ON r.organization_id = p.organization_id AND r.version = t.value
             WHERE t.issue_id = $1 AND t.key = 'release' AND t.value <> ''"
        )
        .bind(issue)
        .fetch_all(pool)
        .await)?;
        let releases: Vec<IssueRelease> = rows
            .into_iter()
            .map(|(version, first_seen, last_seen, created_at, released_at)| IssueRelease {
                version,
                created_at,
                released_at,
                first_seen,
                last_seen,
            })
            .collect();
        let first =
            releases.iter().min_by(|a, b| a.first_seen.cmp(&b.first_seen).then(a.version.cmp(&b.version))).cloned();
        let last =
            releases.iter().max_by(|a, b| a.last_seen.cmp(&b.last_seen).then(b.version.cmp(&a.version))).cloned();
        Ok((first, last))
    }

    /// The tag keys on an organization's live issues (last seen since `since`, when
    /// given), by key.
    pub async fn organization_tag_keys(
        &self,
        org: OrganizationId,
        since: Option<Timestamp>,
    ) -> Result<Vec<OrganizationTagKey>> {
        let rows = read!(self, |pool| {
            let mut q = QueryBuilder::new(
                "SELECT t.key, CAST(SUM(t.times_seen) AS BIGINT) AS total_values, COUNT(*) AS unique_values
                 FROM issue_tags t JOIN issues i ON i.id = t.issue_id
                 WHERE NOT i.is_deleted AND i.project_id IN (SELECT id FROM projects WHERE organization_id = ",
            );
            q.push_bind(org);
            q.push(" AND NOT is_deleted)");
            if let Some(since) = since {
                q.push(" AND i.last_seen >= ");
                q.push_bind(since);
            }
            q.push(" GROUP BY t.key ORDER BY t.key");
            q.build_query_as::<OrganizationTagKey>().fetch_all(pool).await
        })?;
        Ok(rows)
    }
}

/// A release of an organization with what its `release` tag counts.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ReleaseSummary {
    /// Version string.
    pub version: String,
    /// When it was first seen or created.
    pub created_at: Timestamp,
    /// When it was released, if known.
    pub released_at: Option<Timestamp>,
    /// Issues with at least one event in it.
    pub issues: i64,
    /// Events in it.
    pub events: i64,
    /// The newest event in it.
    pub last_event: Option<Timestamp>,
    /// Names of its projects, comma-separated.
    pub projects: String,
}

/// An issue seen in a release, with its events there.
#[derive(Debug, Clone)]
pub struct ReleaseIssue {
    /// The issue.
    pub issue: crate::Issue,
    /// Its events in the release.
    pub events: i64,
    /// First event in the release.
    pub first_seen: Timestamp,
    /// Last event in the release.
    pub last_seen: Timestamp,
}

/// The counts of a release, from the per-issue `release` tags of live issues.
const RELEASE_SUMMARY: &str = "SELECT r.version, r.created_at, r.released_at,
        (SELECT COUNT(*) FROM issue_tags t JOIN issues i ON i.id = t.issue_id
         WHERE t.key = 'release' AND t.value = r.version AND NOT i.is_deleted
           AND i.project_id IN (SELECT project_id FROM release_projects WHERE release_id = r.id)) AS issues,
        (SELECT CAST(COALESCE(SUM(t.times_seen), 0) AS BIGINT) FROM issue_tags t JOIN issues i ON i.id = t.issue_id
         WHERE t.key = 'release' AND t.value = r.version AND NOT i.is_deleted
           AND i.project_id IN (SELECT project_id FROM release_projects WHERE release_id = r.id)) AS events,
        (SELECT MAX(t.last_seen) FROM issue_tags t JOIN issues i ON i.id = t.issue_id
         WHERE t.key = 'release' AND t.value = r.version AND NOT i.is_deleted
           AND i.project_id IN (SELECT project_id FROM release_projects WHERE release_id = r.id)) AS last_event,
        COALESCE((SELECT STRING_AGG(p.name, ', ') FROM (SELECT p.name FROM release_projects rp
            JOIN projects p ON p.id = rp.project_id WHERE rp.release_id = r.id AND NOT p.is_deleted
            ORDER BY p.name) p), '') AS projects
     FROM releases r WHERE r.organization_id = $1";

impl Store {
    /// An organization's releases, newest first (at most `limit`).
    pub async fn organization_releases(&self, org: OrganizationId, limit: i64) -> Result<Vec<ReleaseSummary>> {
        let sql = format!("{RELEASE_SUMMARY} ORDER BY r.created_at DESC, r.id DESC LIMIT $2");
        let rows =
            read!(self, |pool| sqlx::query_as::<_, ReleaseSummary>(&sql).bind(org).bind(limit).fetch_all(pool).await)?;
        Ok(rows)
    }

    /// One release of an organization.
    pub async fn organization_release(&self, org: OrganizationId, version: &str) -> Result<Option<ReleaseSummary>> {
        let sql = format!("{RELEASE_SUMMARY} AND r.version = $2");
        let row = read!(self, |pool| sqlx::query_as::<_, ReleaseSummary>(&sql)
            .bind(org)
            .bind(version)
            .fetch_optional(pool)
            .await)?;
        Ok(row)
    }

    /// The live issues of an organization seen in `version`, by last event in it.
    pub async fn release_issues(&self, org: OrganizationId, version: &str, limit: i64) -> Result<Vec<ReleaseIssue>> {
        let sql = format!(
            "SELECT {}, t.times_seen AS release_events, t.first_seen AS release_first, t.last_seen AS release_last
             FROM issue_tags t JOIN issues ON issues.id = t.issue_id
             WHERE t.key = 'release' AND t.value = $2 AND NOT issues.is_deleted
               AND issues.project_id IN (SELECT id FROM projects WHERE organization_id = $1 AND NOT is_deleted)
             ORDER BY t.last_seen DESC, issues.id DESC LIMIT $3",
            crate::search::ISSUE_ROW_COLUMNS
        );
        let rows = read!(self, |pool| sqlx::query_as::<_, ReleaseIssueRow>(&sql)
            .bind(org)
            .bind(version)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        Ok(rows
            .into_iter()
            .map(|r| ReleaseIssue {
                issue: r.row.issue,
                events: r.release_events,
                first_seen: r.release_first,
                last_seen: r.release_last,
            })
            .collect())
    }
}

#[derive(sqlx::FromRow)]
struct ReleaseIssueRow {
    #[sqlx(flatten)]
    row: crate::IssueRow,
    release_events: i64,
    release_first: Timestamp,
    release_last: Timestamp,
}
