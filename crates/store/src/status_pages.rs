//! Status pages: the pages of an organization with the monitors they show (in groups,
//! in order), incidents with their timestamped updates, and maintenance windows.
//!
//! The reads of `monitors` and `monitor_rollups` a page needs (current health, day and
//! hour rollups for the 90-day strip and the uptime figures) live here too, so a page
//! never depends on how monitors are written. [`Store::monitor_in_maintenance`] is what
//! alerting asks before it notifies about a monitor.

use crate::{OrganizationId, Result, Store, StoreError, Timestamp};

/// A status page.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StatusPage {
    /// Id.
    pub id: i64,
    /// Organization.
    pub organization_id: OrganizationId,
    /// Name (the page's title).
    pub name: String,
    /// Slug, unique in the organization.
    pub slug: String,
    /// Anyone may see it (else members only).
    pub is_public: bool,
    /// A line under the title.
    pub description: String,
    /// Created.
    pub created_at: Timestamp,
}

/// The fields of a page to create or replace; `monitors` are `(monitor id, group)` in
/// display order (an empty group name: no group).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewStatusPage {
    /// Name.
    pub name: String,
    /// Slug.
    pub slug: String,
    /// Public.
    pub is_public: bool,
    /// Description.
    pub description: String,
    /// Monitors with their group, in order.
    pub monitors: Vec<(i64, String)>,
}

/// A monitor as a page shows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PageMonitor {
    /// The monitor's id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// What it checks.
    pub url: String,
    /// `unknown`, `up`, `pending` or `down`.
    pub health: String,
    /// Since when it is in that state.
    pub health_since: Option<Timestamp>,
    /// Paused monitors are shown but count for nothing.
    pub paused: bool,
    /// The group on this page (empty: none).
    pub group_name: String,
    /// Position on this page.
    pub position: i64,
}

/// A monitor of the organization, to choose from.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MonitorChoice {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Health.
    pub health: String,
}

/// Up and down counts of one rollup bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct RollupCounts {
    /// Monitor.
    pub monitor_id: i64,
    /// Resolution in seconds (60, 3600, 86400).
    pub resolution: i64,
    /// Bucket start, unix seconds.
    pub bucket: i64,
    /// Successful checks.
    pub up_count: i64,
    /// Failed checks.
    pub down_count: i64,
}

/// An incident on a page.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StatusIncident {
    /// Id.
    pub id: i64,
    /// Page.
    pub status_page_id: i64,
    /// Title.
    pub title: String,
    /// `investigating`, `identified`, `monitoring` or `resolved` (the latest update's).
    pub status: String,
    /// `minor`, `major` or `critical`.
    pub impact: String,
    /// Opened.
    pub created_at: Timestamp,
    /// When an update resolved it.
    pub resolved_at: Option<Timestamp>,
}

/// An update of an incident.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StatusIncidentUpdate {
    /// Id.
    pub id: i64,
    /// Incident.
    pub incident_id: i64,
    /// The status it moved the incident to.
    pub status: String,
    /// What happened.
    pub message: String,
    /// When.
    pub created_at: Timestamp,
}

/// A scheduled maintenance window.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MaintenanceWindow {
    /// Id.
    pub id: i64,
    /// Organization.
    pub organization_id: OrganizationId,
    /// The page whose monitors it covers; `None`: every monitor of the organization.
    pub status_page_id: Option<i64>,
    /// Title.
    pub title: String,
    /// Start (inclusive).
    pub starts_at: Timestamp,
    /// End (exclusive).
    pub ends_at: Timestamp,
    /// Created.
    pub created_at: Timestamp,
}

/// The fields of a window to create or replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMaintenanceWindow {
    /// Page (`None`: organization-wide).
    pub status_page_id: Option<i64>,
    /// Title.
    pub title: String,
    /// Start.
    pub starts_at: Timestamp,
    /// End.
    pub ends_at: Timestamp,
}

const PAGE_COLUMNS: &str = "id, organization_id, name, slug, is_public, description, created_at";
const INCIDENT_COLUMNS: &str = "id, status_page_id, title, status, impact, created_at, resolved_at";
const WINDOW_COLUMNS: &str = "id, organization_id, status_page_id, title, starts_at, ends_at, created_at";

impl Store {
    // ---- pages ----

    /// An organization's status pages, by name.
    pub async fn status_pages(&self, organization: OrganizationId) -> Result<Vec<StatusPage>> {
        let sql = format!("SELECT {PAGE_COLUMNS} FROM status_pages WHERE organization_id = $1 ORDER BY name, id");
        let rows = read!(self, |pool| sqlx::query_as::<_, StatusPage>(&sql).bind(organization).fetch_all(pool).await)?;
        Ok(rows)
    }

    /// A page by slug.
    pub async fn status_page(&self, organization: OrganizationId, slug: &str) -> Result<StatusPage> {
        let sql = format!("SELECT {PAGE_COLUMNS} FROM status_pages WHERE organization_id = $1 AND slug = $2");
        let row = read!(self, |pool| sqlx::query_as::<_, StatusPage>(&sql)
            .bind(organization)
            .bind(slug)
            .fetch_optional(pool)
            .await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// Creates a page with its monitors. A taken slug is a `Conflict`; a monitor of
    /// another organization is `NotFound`.
    pub async fn create_status_page(&self, organization: OrganizationId, page: &NewStatusPage) -> Result<StatusPage> {
        self.check_page_monitors(organization, &page.monitors).await?;
        let now = Timestamp::now();
        let id: i64 = transaction!(self, |tx| {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO status_pages (organization_id, name, slug, is_public, description, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(organization)
            .bind(&page.name)
            .bind(&page.slug)
            .bind(page.is_public)
            .bind(&page.description)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            for (position, (monitor, group)) in page.monitors.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO status_page_monitors (status_page_id, monitor_id, group_name, position)
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(id)
                .bind(*monitor)
                .bind(group)
                .bind(position as i64)
                .execute(&mut *tx)
                .await?;
            }
            id
        });
        self.status_page_by_id(organization, id).await
    }

    /// Replaces a page's fields and monitors (found by its current slug).
    pub async fn update_status_page(
        &self,
        organization: OrganizationId,
        slug: &str,
        page: &NewStatusPage,
    ) -> Result<StatusPage> {
        self.check_page_monitors(organization, &page.monitors).await?;
        let current = self.status_page(organization, slug).await?;
        transaction!(self, |tx| {
            sqlx::query(
                "UPDATE status_pages SET name = $1, slug = $2, is_public = $3, description = $4
                 WHERE organization_id = $5 AND id = $6",
            )
            .bind(&page.name)
            .bind(&page.slug)
            .bind(page.is_public)
            .bind(&page.description)
            .bind(organization)
            .bind(current.id)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM status_page_monitors WHERE status_page_id = $1")
                .bind(current.id)
                .execute(&mut *tx)
                .await?;
            for (position, (monitor, group)) in page.monitors.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO status_page_monitors (status_page_id, monitor_id, group_name, position)
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(current.id)
                .bind(*monitor)
                .bind(group)
                .bind(position as i64)
                .execute(&mut *tx)
                .await?;
            }
        });
        self.status_page_by_id(organization, current.id).await
    }

    /// Deletes a page (its monitors list, incidents and page windows go with it).
    pub async fn delete_status_page(&self, organization: OrganizationId, slug: &str) -> Result<()> {
        let done =
            write!(self, |pool| sqlx::query("DELETE FROM status_pages WHERE organization_id = $1 AND slug = $2")
                .bind(organization)
                .bind(slug)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn status_page_by_id(&self, organization: OrganizationId, id: i64) -> Result<StatusPage> {
        let sql = format!("SELECT {PAGE_COLUMNS} FROM status_pages WHERE organization_id = $1 AND id = $2");
        let row = read!(self, |pool| sqlx::query_as::<_, StatusPage>(&sql)
            .bind(organization)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        row.ok_or(StoreError::NotFound)
    }

    async fn check_page_monitors(&self, organization: OrganizationId, monitors: &[(i64, String)]) -> Result<()> {
        if monitors.is_empty() {
            return Ok(());
        }
        let known: Vec<i64> = self.status_monitor_choices(organization).await?.into_iter().map(|m| m.id).collect();
        if monitors.iter().all(|(id, _)| known.contains(id)) {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    /// The organization's monitors a page may show, by name.
    pub async fn status_monitor_choices(&self, organization: OrganizationId) -> Result<Vec<MonitorChoice>> {
        let rows = read!(self, |pool| sqlx::query_as::<_, MonitorChoice>(
            "SELECT id, name, health FROM monitors WHERE organization_id = $1 ORDER BY name, id"
        )
        .bind(organization)
        .fetch_all(pool)
        .await)?;
        Ok(rows)
    }

    /// The monitors a page shows, in order.
    pub async fn status_page_monitors(&self, page: i64) -> Result<Vec<PageMonitor>> {
        let rows = read!(self, |pool| sqlx::query_as::<_, PageMonitor>(
            "SELECT m.id, m.name, m.url, m.health, m.health_since, m.paused, s.group_name, s.position
             FROM status_page_monitors s JOIN monitors m ON m.id = s.monitor_id
             WHERE s.status_page_id = $1 ORDER BY s.position, m.id"
        )
        .bind(page)
        .fetch_all(pool)
        .await)?;
        Ok(rows)
    }

    /// A monitor of the organization as a badge shows it (group and position empty),
    /// and whether it is on one of the organization's public pages.
    pub async fn status_badge_monitor(&self, organization: OrganizationId, id: i64) -> Result<(PageMonitor, bool)> {
        let row = read!(self, |pool| sqlx::query_as::<_, PageMonitor>(
            "SELECT id, name, url, health, health_since, paused, '' AS group_name, CAST(0 AS BIGINT) AS position
             FROM monitors WHERE organization_id = $1 AND id = $2"
        )
        .bind(organization)
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        let monitor = row.ok_or(StoreError::NotFound)?;
        let public: i64 = read!(self, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM status_page_monitors s JOIN status_pages p ON p.id = s.status_page_id
             WHERE s.monitor_id = $1 AND p.is_public = TRUE AND p.organization_id = $2"
        )
        .bind(id)
        .bind(organization)
        .fetch_one(pool)
        .await)?;
        Ok((monitor, public > 0))
    }

    /// Rollup counts of `monitors` at `resolution` whose bucket starts at or after
    /// `since` (unix seconds), oldest first.
    pub async fn status_rollups(&self, monitors: &[i64], resolution: i64, since: i64) -> Result<Vec<RollupCounts>> {
        let mut out = Vec::new();
        for monitor in monitors {
            let rows = read!(self, |pool| sqlx::query_as::<_, RollupCounts>(
                "SELECT monitor_id, resolution, bucket, up_count, down_count FROM monitor_rollups
                 WHERE monitor_id = $1 AND resolution = $2 AND bucket >= $3 ORDER BY bucket"
            )
            .bind(*monitor)
            .bind(resolution)
            .bind(since)
            .fetch_all(pool)
            .await)?;
            out.extend(rows);
        }
        Ok(out)
    }

    // ---- incidents ----

    /// A page's incidents, newest first, at most `limit`.
    pub async fn status_incidents(&self, page: i64, limit: i64) -> Result<Vec<StatusIncident>> {
        let sql = format!(
            "SELECT {INCIDENT_COLUMNS} FROM status_incidents WHERE status_page_id = $1
             ORDER BY created_at DESC, id DESC LIMIT $2"
        );
        let rows =
            read!(self, |pool| sqlx::query_as::<_, StatusIncident>(&sql).bind(page).bind(limit).fetch_all(pool).await)?;
        Ok(rows)
    }

    /// One incident of a page.
    pub async fn status_incident(&self, page: i64, id: i64) -> Result<StatusIncident> {
        let sql = format!("SELECT {INCIDENT_COLUMNS} FROM status_incidents WHERE status_page_id = $1 AND id = $2");
        let row = read!(self, |pool| sqlx::query_as::<_, StatusIncident>(&sql)
            .bind(page)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// The updates of an incident, newest first.
    pub async fn status_incident_updates(&self, incident: i64) -> Result<Vec<StatusIncidentUpdate>> {
        let rows = read!(self, |pool| sqlx::query_as::<_, StatusIncidentUpdate>(
            "SELECT id, incident_id, status, message, created_at FROM status_incident_updates
             WHERE incident_id = $1 ORDER BY created_at DESC, id DESC"
        )
        .bind(incident)
        .fetch_all(pool)
        .await)?;
        Ok(rows)
    }

    /// Opens an incident with its first update (`status` and `message`).
    pub async fn create_status_incident(
        &self,
        page: i64,
        title: &str,
        status: &str,
        impact: &str,
        message: &str,
    ) -> Result<StatusIncident> {
        let now = Timestamp::now();
        let resolved = (status == "resolved").then_some(now);
        let id: i64 = transaction!(self, |tx| {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO status_incidents (status_page_id, title, status, impact, created_at, resolved_at)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(page)
            .bind(title)
            .bind(status)
            .bind(impact)
            .bind(now)
            .bind(resolved)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO status_incident_updates (incident_id, status, message, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(status)
            .bind(message)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            id
        });
        self.status_incident(page, id).await
    }

    /// Posts an update: the incident takes its status (resolved: stamped; reopened:
    /// cleared), and optionally a new title or impact.
    pub async fn update_status_incident(
        &self,
        page: i64,
        id: i64,
        status: &str,
        message: &str,
        title: Option<&str>,
        impact: Option<&str>,
    ) -> Result<StatusIncident> {
        let current = self.status_incident(page, id).await?;
        let now = Timestamp::now();
        let resolved_at = if status == "resolved" { current.resolved_at.or(Some(now)) } else { None };
        transaction!(self, |tx| {
            sqlx::query(
                "UPDATE status_incidents SET status = $1, resolved_at = $2, title = $3, impact = $4
                 WHERE status_page_id = $5 AND id = $6",
            )
            .bind(status)
            .bind(resolved_at)
            .bind(title.unwrap_or(&current.title))
            .bind(impact.unwrap_or(&current.impact))
            .bind(page)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO status_incident_updates (incident_id, status, message, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(status)
            .bind(message)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        });
        self.status_incident(page, id).await
    }

    /// Deletes an incident and its updates.
    pub async fn delete_status_incident(&self, page: i64, id: i64) -> Result<()> {
        let done =
            write!(self, |pool| sqlx::query("DELETE FROM status_incidents WHERE status_page_id = $1 AND id = $2")
                .bind(page)
                .bind(id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    // ---- maintenance windows ----

    /// The organization's windows, latest start first.
    pub async fn maintenance_windows(&self, organization: OrganizationId) -> Result<Vec<MaintenanceWindow>> {
        let sql = format!(
            "SELECT {WINDOW_COLUMNS} FROM maintenance_windows WHERE organization_id = $1
             ORDER BY starts_at DESC, id DESC"
        );
        let rows =
            read!(self, |pool| sqlx::query_as::<_, MaintenanceWindow>(&sql).bind(organization).fetch_all(pool).await)?;
        Ok(rows)
    }

    /// One window.
    pub async fn maintenance_window(&self, organization: OrganizationId, id: i64) -> Result<MaintenanceWindow> {
        let sql = format!("SELECT {WINDOW_COLUMNS} FROM maintenance_windows WHERE organization_id = $1 AND id = $2");
        let row = read!(self, |pool| sqlx::query_as::<_, MaintenanceWindow>(&sql)
            .bind(organization)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// The windows that concern a page (its own and the organization-wide ones) and
    /// end after `after`, soonest first.
    pub async fn page_maintenance_windows(
        &self,
        organization: OrganizationId,
        page: i64,
        after: Timestamp,
    ) -> Result<Vec<MaintenanceWindow>> {
        let sql = format!(
            "SELECT {WINDOW_COLUMNS} FROM maintenance_windows
             WHERE organization_id = $1 AND (status_page_id IS NULL OR status_page_id = $2) AND ends_at > $3
             ORDER BY starts_at, id"
        );
        let rows = read!(self, |pool| sqlx::query_as::<_, MaintenanceWindow>(&sql)
            .bind(organization)
            .bind(page)
            .bind(after)
            .fetch_all(pool)
            .await)?;
        Ok(rows)
    }

    async fn check_window_page(&self, organization: OrganizationId, page: Option<i64>) -> Result<()> {
        if let Some(page) = page {
            let n: i64 = read!(self, |pool| sqlx::query_scalar(
                "SELECT COUNT(*) FROM status_pages WHERE organization_id = $1 AND id = $2"
            )
            .bind(organization)
            .bind(page)
            .fetch_one(pool)
            .await)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
        }
        Ok(())
    }

    /// Schedules a window (a page of another organization is `NotFound`).
    pub async fn create_maintenance_window(
        &self,
        organization: OrganizationId,
        window: &NewMaintenanceWindow,
    ) -> Result<MaintenanceWindow> {
        self.check_window_page(organization, window.status_page_id).await?;
        let id: i64 = write!(self, |pool| {
            sqlx::query_scalar(
            "INSERT INTO maintenance_windows (organization_id, status_page_id, title, starts_at, ends_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"
        )
        .bind(organization)
        .bind(window.status_page_id)
        .bind(&window.title)
        .bind(window.starts_at)
        .bind(window.ends_at)
        .bind(Timestamp::now())
        .fetch_one(pool)
        .await
        })?;
        self.maintenance_window(organization, id).await
    }

    /// Replaces a window's fields.
    pub async fn update_maintenance_window(
        &self,
        organization: OrganizationId,
        id: i64,
        window: &NewMaintenanceWindow,
    ) -> Result<MaintenanceWindow> {
        self.check_window_page(organization, window.status_page_id).await?;
        let done = write!(self, |pool| sqlx::query(
            "UPDATE maintenance_windows SET status_page_id = $1, title = $2, starts_at = $3, ends_at = $4
             WHERE organization_id = $5 AND id = $6"
        )
        .bind(window.status_page_id)
        .bind(&window.title)
        .bind(window.starts_at)
        .bind(window.ends_at)
        .bind(organization)
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        self.maintenance_window(organization, id).await
    }

    /// Deletes a window.
    pub async fn delete_maintenance_window(&self, organization: OrganizationId, id: i64) -> Result<()> {
        let done =
            write!(self, |pool| sqlx::query("DELETE FROM maintenance_windows WHERE organization_id = $1 AND id = $2")
                .bind(organization)
                .bind(id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Whether a maintenance window covers the monitor at `at`: an organization-wide
    /// window of its organization, or a window of a page that shows it. Alerting asks
    /// this before notifying. An unknown monitor is in no window.
    pub async fn monitor_in_maintenance(&self, monitor: i64, at: Timestamp) -> Result<bool> {
        let n: i64 = read!(self, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM maintenance_windows w JOIN monitors m ON m.organization_id = w.organization_id
             WHERE m.id = $1 AND w.starts_at <= $2 AND w.ends_at > $2
               AND (w.status_page_id IS NULL OR w.status_page_id IN
                    (SELECT status_page_id FROM status_page_monitors WHERE monitor_id = $1))"
        )
        .bind(monitor)
        .bind(at)
        .fetch_one(pool)
        .await)?;
        Ok(n > 0)
    }

    /// The status pages that show a monitor (for [`Store::monitor_in_maintenance`]'s
    /// pure counterpart in the domain).
    pub async fn monitor_status_page_ids(&self, monitor: i64) -> Result<Vec<i64>> {
        let rows = read!(self, |pool| sqlx::query_scalar(
            "SELECT status_page_id FROM status_page_monitors WHERE monitor_id = $1 ORDER BY status_page_id"
        )
        .bind(monitor)
        .fetch_all(pool)
        .await)?;
        Ok(rows)
    }
}

/// Test helpers: monitors and rollups without the monitor engine.
#[cfg(feature = "test-support")]
impl Store {
    /// Inserts an HTTP monitor in `health` (`unknown`, `up`, `pending`, `down`); returns its id.
    /// Its next check is a century away, so a running scheduler leaves it alone.
    pub async fn insert_test_monitor(
        &self,
        organization: OrganizationId,
        name: &str,
        url: &str,
        health: &str,
    ) -> Result<i64> {
        let now = Timestamp::now();
        let key = uuid::Uuid::new_v4();
        let id: i64 = write!(self, |pool| {
            sqlx::query_scalar(
            "INSERT INTO monitors (organization_id, name, monitor_type, kind, url, method, headers, accepted_status,
                 keyword_absent, follow_redirects, verify_tls, interval_s, timeout_s, retry_interval_s,
                 failure_threshold, recovery_threshold, tls_warn_days, heartbeat_key, paused, health, health_since,
                 consecutive_failures, consecutive_successes, next_check_at, created_at)
             VALUES ($1, $2, 'GET', 'http', $3, 'GET', '[]', '200-299', FALSE, TRUE, TRUE, 60, 20, 20, 2, 1, 14,
                 $4, FALSE, $5, $6, 0, 0, $7, $6) RETURNING id"
        )
        .bind(organization)
        .bind(name)
        .bind(url)
        .bind(key)
        .bind(health)
        .bind(now)
        .bind(now.plus_secs(100 * 365 * 86_400))
        .fetch_one(pool)
        .await
        })?;
        Ok(id)
    }

    /// Sets a test monitor's health.
    pub async fn set_test_monitor_health(&self, monitor: i64, health: &str) -> Result<()> {
        write!(self, |pool| sqlx::query("UPDATE monitors SET health = $1 WHERE id = $2")
            .bind(health)
            .bind(monitor)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Writes (or replaces) one rollup row.
    pub async fn insert_test_rollup(
        &self,
        monitor: i64,
        resolution: i64,
        bucket: i64,
        up_count: i64,
        down_count: i64,
    ) -> Result<()> {
        write!(self, |pool| sqlx::query(
            "INSERT INTO monitor_rollups (monitor_id, resolution, bucket, up_count, down_count, total_ms)
             VALUES ($1, $2, $3, $4, $5, 0)
             ON CONFLICT (monitor_id, resolution, bucket) DO UPDATE
             SET up_count = excluded.up_count, down_count = excluded.down_count"
        )
        .bind(monitor)
        .bind(resolution)
        .bind(bucket)
        .bind(up_count)
        .bind(down_count)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }
}
