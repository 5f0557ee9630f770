//! Projects and their client keys (DSNs).

use crate::{OrganizationId, ProjectId, ProjectKeyId, Result, Store, Timestamp};

/// A project: where events arrive.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Project {
    /// Id (the number at the end of the DSN).
    pub id: ProjectId,
    /// Owning organization.
    pub organization_id: OrganizationId,
    /// Display name.
    pub name: String,
    /// URL slug, unique within the organization.
    pub slug: String,
    /// SDK platform (`python`, `javascript`, …).
    pub platform: Option<String>,
    /// When the first event arrived.
    pub first_event_at: Option<Timestamp>,
    /// Anonymize client IPs.
    pub scrub_ip_addresses: bool,
    /// Scrub sensitive data (passwords, tokens, …) from events.
    pub scrub_data: bool,
    /// Percentage (0–100) of events refused.
    pub event_throttle_rate: i32,
    /// Grouping strategy: `default` or `glitchtip`.
    pub grouping: String,
    /// Soft-deleted projects accept nothing and are purged in the background.
    pub is_deleted: bool,
    /// Created.
    pub created_at: Timestamp,
}

/// What is needed to create a project.
#[derive(Debug, Clone)]
pub struct NewProject {
    /// Owning organization.
    pub organization_id: OrganizationId,
    /// Display name.
    pub name: String,
    /// URL slug.
    pub slug: String,
    /// SDK platform.
    pub platform: Option<String>,
}

/// A client key: the public part of a DSN.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProjectKey {
    /// Id.
    pub id: ProjectKeyId,
    /// Project.
    pub project_id: ProjectId,
    /// 32 lowercase hex characters.
    pub public_key: String,
    /// Label shown in settings.
    pub label: String,
    /// Disabled keys are refused.
    pub is_active: bool,
    /// Events allowed per window, when limited.
    pub rate_limit_count: Option<i32>,
    /// The rate-limit window in seconds.
    pub rate_limit_window: Option<i32>,
    /// Created.
    pub created_at: Timestamp,
}

/// Everything ingest needs to decide about a request, in one row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct KeyAuth {
    /// The key's id.
    pub key_id: ProjectKeyId,
    /// The public key.
    pub public_key: String,
    /// The key's project.
    pub project_id: ProjectId,
    /// The project's organization.
    pub organization_id: OrganizationId,
    /// Key enabled.
    pub key_active: bool,
    /// Key rate limit (events per window).
    pub rate_limit_count: Option<i32>,
    /// Key rate-limit window in seconds.
    pub rate_limit_window: Option<i32>,
    /// Project soft-deleted.
    pub project_deleted: bool,
    /// Project throttle percentage.
    pub project_throttle_rate: i32,
    /// Project IP scrubbing.
    pub project_scrub_ip: bool,
    /// Organization accepts events.
    pub org_accepting_events: bool,
    /// Organization active.
    pub org_active: bool,
    /// Organization throttle percentage.
    pub org_throttle_rate: i32,
    /// Organization IP scrubbing.
    pub org_scrub_ip: bool,
    /// Project events per minute, if limited.
    pub project_rate_limit: Option<i32>,
    /// Organization events per minute, if limited.
    pub org_rate_limit: Option<i32>,
    /// Organization events per calendar month, if limited.
    pub org_monthly_quota: Option<i64>,
}

const PROJECT_COLUMNS: &str = "id, organization_id, name, slug, platform, first_event_at, scrub_ip_addresses, \
     scrub_data, event_throttle_rate, grouping, is_deleted, created_at";
const KEY_COLUMNS: &str =
    "id, project_id, public_key, label, is_active, rate_limit_count, rate_limit_window, created_at";

impl Store {
    /// Creates a project; `Conflict` when the slug is taken in the organization.
    pub async fn create_project(&self, new: &NewProject) -> Result<Project> {
        let sql = format!(
            "INSERT INTO projects (organization_id, name, slug, platform, created_at) VALUES ($1, $2, $3, $4, $5)
             RETURNING {PROJECT_COLUMNS}"
        );
        let project = write!(self, |pool| sqlx::query_as::<_, Project>(&sql)
            .bind(new.organization_id)
            .bind(&new.name)
            .bind(&new.slug)
            .bind(&new.platform)
            .bind(Timestamp::now())
            .fetch_one(pool)
            .await)?;
        Ok(project)
    }

    /// The project with this id.
    pub async fn project(&self, id: ProjectId) -> Result<Project> {
        let sql = format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE id = $1");
        let project = read!(self, |pool| sqlx::query_as::<_, Project>(&sql).bind(id).fetch_one(pool).await)?;
        Ok(project)
    }

    /// Creates a client key with a fresh random public key.
    pub async fn create_project_key(&self, project: ProjectId, label: &str) -> Result<ProjectKey> {
        let public_key = uuid::Uuid::new_v4().simple().to_string();
        let sql = format!(
            "INSERT INTO project_keys (project_id, public_key, label, created_at) VALUES ($1, $2, $3, $4)
             RETURNING {KEY_COLUMNS}"
        );
        let key = write!(self, |pool| sqlx::query_as::<_, ProjectKey>(&sql)
            .bind(project)
            .bind(public_key)
            .bind(label)
            .bind(Timestamp::now())
            .fetch_one(pool)
            .await)?;
        Ok(key)
    }

    /// A project's keys, oldest first.
    pub async fn project_keys(&self, project: ProjectId) -> Result<Vec<ProjectKey>> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM project_keys WHERE project_id = $1 ORDER BY id");
        let keys = read!(self, |pool| sqlx::query_as::<_, ProjectKey>(&sql).bind(project).fetch_all(pool).await)?;
        Ok(keys)
    }

    /// The ingest view of a public key, whatever its project (the caller checks that it
    /// matches the URL's project and that everything is enabled).
    pub async fn key_auth(&self, public_key: &str) -> Result<Option<KeyAuth>> {
        let auth = read!(self, |pool| sqlx::query_as::<_, KeyAuth>(
            "SELECT k.id AS key_id, k.public_key, k.project_id, p.organization_id, k.is_active AS key_active,
                    k.rate_limit_count, k.rate_limit_window, p.is_deleted AS project_deleted,
                    p.event_throttle_rate AS project_throttle_rate, p.scrub_ip_addresses AS project_scrub_ip,
                    o.is_accepting_events AS org_accepting_events, o.is_active AS org_active,
                    o.event_throttle_rate AS org_throttle_rate, o.scrub_ip_addresses AS org_scrub_ip,
                    p.event_rate_limit AS project_rate_limit, o.event_rate_limit AS org_rate_limit,
                    o.monthly_event_quota AS org_monthly_quota
             FROM project_keys k JOIN projects p ON p.id = k.project_id JOIN organizations o ON o.id = p.organization_id
             WHERE k.public_key = $1"
        )
        .bind(public_key)
        .fetch_optional(pool)
        .await)?;
        Ok(auth)
    }
}

/// What digestion needs to know about a project.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DigestSettings {
    /// The project.
    pub project_id: ProjectId,
    /// Anonymize IPs: the organization's or the project's switch.
    pub scrub_ip: bool,
    /// Scrub sensitive data.
    pub scrub_data: bool,
    /// Grouping strategy name.
    pub grouping: String,
    /// The project's newest event dictionary, to compress its events with.
    pub dictionary_id: Option<i64>,
}

impl Store {
    /// Digestion settings of these projects (missing projects are absent).
    pub async fn digest_settings(&self, ids: &[ProjectId]) -> Result<Vec<DigestSettings>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(500) {
            let rows = read!(self, |pool| {
                let mut q = sqlx::QueryBuilder::new(
                    "SELECT p.id AS project_id, (p.scrub_ip_addresses OR o.scrub_ip_addresses) AS scrub_ip,
                            p.scrub_data, p.grouping,
                            (SELECT MAX(d.id) FROM event_dictionaries d WHERE d.project_id = p.id) AS dictionary_id
                     FROM projects p JOIN organizations o ON o.id = p.organization_id WHERE p.id IN (",
                );
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                q.push(")");
                q.build_query_as::<DigestSettings>().fetch_all(pool).await
            })?;
            out.extend(rows);
        }
        Ok(out)
    }
}

/// A project with its organization slug and keys, for listings.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProjectListing {
    /// Organization slug.
    pub organization_slug: String,
    /// Project slug.
    pub project_slug: String,
    /// Project id.
    pub project_id: ProjectId,
    /// A public key (projects with several keys appear once per key).
    pub public_key: Option<String>,
}

impl Store {
    /// Every live project with its keys, ordered by organization and project slug.
    pub async fn project_listing(&self) -> Result<Vec<ProjectListing>> {
        let rows = read!(self, |pool| sqlx::query_as::<_, ProjectListing>(
            "SELECT o.slug AS organization_slug, p.slug AS project_slug, p.id AS project_id, k.public_key
             FROM projects p JOIN organizations o ON o.id = p.organization_id
             LEFT JOIN project_keys k ON k.project_id = p.id AND k.is_active
             WHERE NOT p.is_deleted ORDER BY o.slug, p.slug, k.id"
        )
        .fetch_all(pool)
        .await)?;
        Ok(rows)
    }
}

impl Store {
    /// Enables or disables a key.
    pub async fn set_project_key_active(&self, key: ProjectKeyId, active: bool) -> Result<()> {
        write!(self, |pool| sqlx::query("UPDATE project_keys SET is_active = $1 WHERE id = $2")
            .bind(active)
            .bind(key)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Sets (or with `None` clears) a key's rate limit: `count` events per `window` seconds.
    pub async fn set_project_key_rate_limit(&self, key: ProjectKeyId, limit: Option<(i32, i32)>) -> Result<()> {
        write!(self, |pool| sqlx::query(
            "UPDATE project_keys SET rate_limit_count = $1, rate_limit_window = $2 WHERE id = $3"
        )
        .bind(limit.map(|l| l.0))
        .bind(limit.map(|l| l.1))
        .bind(key)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }
}

impl Store {
    /// A live project by organization and slug.
    pub async fn project_by_slug(&self, org: OrganizationId, slug: &str) -> Result<Option<Project>> {
        let sql = format!(
            "SELECT {PROJECT_COLUMNS} FROM projects WHERE organization_id = $1 AND slug = $2 AND NOT is_deleted"
        );
        let p = read!(self, |pool| sqlx::query_as::<_, Project>(&sql).bind(org).bind(slug).fetch_optional(pool).await)?;
        Ok(p)
    }

    /// The live projects of an organization, by name.
    pub async fn organization_projects(&self, org: OrganizationId) -> Result<Vec<Project>> {
        let sql = format!(
            "SELECT {PROJECT_COLUMNS} FROM projects WHERE organization_id = $1 AND NOT is_deleted ORDER BY name, id"
        );
        let p = read!(self, |pool| sqlx::query_as::<_, Project>(&sql).bind(org).fetch_all(pool).await)?;
        Ok(p)
    }

    /// Saves a project's editable fields (name, slug, platform, throttle rate, scrubbing
    /// switches, grouping) as `p` has them.
    pub async fn update_project(&self, p: &Project) -> Result<Project> {
        let sql = format!(
            "UPDATE projects SET name = $1, slug = $2, platform = $3, event_throttle_rate = $4, scrub_ip_addresses = $5,
                scrub_data = $6, grouping = $7 WHERE id = $8 AND NOT is_deleted RETURNING {PROJECT_COLUMNS}"
        );
        let p = write!(self, |pool| sqlx::query_as::<_, Project>(&sql)
            .bind(&p.name)
            .bind(&p.slug)
            .bind(&p.platform)
            .bind(p.event_throttle_rate)
            .bind(p.scrub_ip_addresses)
            .bind(p.scrub_data)
            .bind(&p.grouping)
            .bind(p.id)
            .fetch_one(pool)
            .await)?;
        Ok(p)
    }

    /// Deletes a project and everything in it.
    pub async fn delete_project(&self, id: ProjectId) -> Result<()> {
        let done = write!(self, |pool| sqlx::query("DELETE FROM projects WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(crate::StoreError::NotFound);
        }
        Ok(())
    }

    /// A project's key by its public key.
    pub async fn project_key(&self, project: ProjectId, public_key: &str) -> Result<Option<ProjectKey>> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM project_keys WHERE project_id = $1 AND public_key = $2");
        let k = read!(self, |pool| sqlx::query_as::<_, ProjectKey>(&sql)
            .bind(project)
            .bind(public_key)
            .fetch_optional(pool)
            .await)?;
        Ok(k)
    }

    /// Updates a key's label, switch and rate limit.
    pub async fn update_project_key(
        &self,
        id: ProjectKeyId,
        label: &str,
        is_active: bool,
        rate_limit: Option<(i32, i32)>,
    ) -> Result<ProjectKey> {
        let sql = format!(
            "UPDATE project_keys SET label = $1, is_active = $2, rate_limit_count = $3, rate_limit_window = $4
             WHERE id = $5 RETURNING {KEY_COLUMNS}"
        );
        let k = write!(self, |pool| sqlx::query_as::<_, ProjectKey>(&sql)
            .bind(label)
            .bind(is_active)
            .bind(rate_limit.map(|r| r.0))
            .bind(rate_limit.map(|r| r.1))
            .bind(id)
            .fetch_one(pool)
            .await)?;
        Ok(k)
    }

    /// Deletes a key.
    pub async fn delete_project_key(&self, id: ProjectKeyId) -> Result<()> {
        write!(self, |pool| sqlx::query("DELETE FROM project_keys WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }
}

impl Store {
    /// Hides a project at once (its slug is freed); its data is removed later in the
    /// background by [`Store::delete_project`].
    pub async fn soft_delete_project(&self, id: ProjectId) -> Result<()> {
        let suffix = format!("-deleted-{}", id.0);
        let done = write!(self, |pool| sqlx::query(
            "UPDATE projects SET is_deleted = TRUE, slug = slug || $1 WHERE id = $2 AND NOT is_deleted"
        )
        .bind(&suffix)
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(crate::StoreError::NotFound);
        }
        Ok(())
    }
}
