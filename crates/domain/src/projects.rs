//! Organizations and projects: slugs, provisioning, DSNs.

use faultline_protocol::Dsn;
use faultline_store::{NewProject, Organization, Project, ProjectKey, Store, TeamId};

use crate::access::{OrgAccess, Scope};
use crate::DomainError;

/// Organization slugs that would collide with top-level routes of the web UI.
const RESERVED_ORG_SLUGS: &[&str] = &[
    "new",
    "api",
    "settings",
    "organizations",
    "projects",
    "static",
    "_health",
    "_allauth",
    "accept",
    "login",
    "logout",
    "register",
    "profile",
    "reset-password",
    "confirm-email",
    "status-pages",
    "auth",
];

/// A URL slug from a name: lowercase ASCII letters, digits and single dashes, at most
/// 50 characters.
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.trim().chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() || c == '_' {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug: String = slug.trim_end_matches('-').chars().take(50).collect();
    slug.trim_end_matches('-').to_string()
}

/// An organization slug: [`slugify`], moved aside from names the UI's routes use.
pub fn organization_slug(name: &str) -> String {
    let slug = slugify(name);
    if RESERVED_ORG_SLUGS.contains(&slug.as_str()) {
        format!("{slug}-1")
    } else {
        slug
    }
}

/// A project slug: [`slugify`], with `new` (the creation page) moved aside.
pub fn project_slug(name: &str) -> String {
    let slug = slugify(name);
    if slug == "new" {
        "new-1".into()
    } else {
        slug
    }
}

/// The DSN of a key, for a server reached at `public_url` below `base_path`.
pub fn dsn(public_url: &str, base_path: &str, key: &ProjectKey) -> String {
    Dsn::for_server(&format!("{public_url}{base_path}"), &key.public_key, key.project_id.0 as u64)
}

/// Creates a project in an organization the caller may write projects in, with a
/// default key, optionally owned by `team`. The name needs 1 to 64 characters with a
/// letter or digit; a taken slug is a conflict.
pub async fn create(
    store: &Store,
    access: &OrgAccess,
    name: &str,
    platform: Option<&str>,
    team: Option<TeamId>,
) -> Result<(Project, ProjectKey), DomainError> {
    access.require(Scope::ProjectWrite)?;
    let name = name.trim();
    let slug = project_slug(name);
    if name.is_empty() || slug.is_empty() || name.chars().count() > 64 {
        return Err(DomainError::Invalid("the name must have 1 to 64 characters, with a letter or digit".into()));
    }
    let new = NewProject {
        organization_id: access.org.id,
        name: name.to_string(),
        slug,
        platform: platform.map(str::trim).filter(|p| !p.is_empty()).map(String::from),
    };
    let project = store.create_project(&new).await.map_err(|e| match e {
        e if e.is_conflict() => DomainError::Conflict("A project with this slug already exists.".into()),
        e => e.into(),
    })?;
    let key = store.create_project_key(project.id, "Default").await?;
    if let Some(team) = team {
        store.add_team_project(team, project.id).await?;
    }
    Ok((project, key))
}

/// What a project update may change; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct ProjectChanges {
    /// New name.
    pub name: Option<String>,
    /// New slug (slugified).
    pub slug: Option<String>,
    /// New platform (`Some("")` clears it).
    pub platform: Option<String>,
    /// Percentage of events dropped, 0 to 100.
    pub event_throttle_rate: Option<i32>,
    /// Drop IP addresses.
    pub scrub_ip_addresses: Option<bool>,
    /// Scrub sensitive data.
    pub scrub_data: Option<bool>,
    /// `default` or `glitchtip`.
    pub grouping: Option<String>,
}

/// Applies `changes` to a project after checking them (the caller may write projects).
pub async fn update(
    store: &Store,
    access: &OrgAccess,
    p: Project,
    changes: ProjectChanges,
) -> Result<Project, DomainError> {
    access.require(Scope::ProjectWrite)?;
    let name = changes.name.as_deref().map(str::trim).unwrap_or(&p.name).to_string();
    let slug = changes.slug.as_deref().map(slugify).unwrap_or_else(|| p.slug.clone());
    if name.is_empty() || slug.is_empty() {
        return Err(DomainError::Invalid("name and slug must not be empty".into()));
    }
    let rate = changes.event_throttle_rate.unwrap_or(p.event_throttle_rate);
    if !(0..=100).contains(&rate) {
        return Err(DomainError::Invalid("eventThrottleRate must be between 0 and 100".into()));
    }
    let grouping = changes.grouping.unwrap_or_else(|| p.grouping.clone());
    if !matches!(grouping.as_str(), "default" | "glitchtip") {
        return Err(DomainError::Invalid("grouping must be \"default\" or \"glitchtip\"".into()));
    }
    let platform = match changes.platform {
        Some(p) if p.is_empty() => None,
        Some(p) => Some(p),
        None => p.platform.clone(),
    };
    let updated = Project {
        name,
        slug,
        platform,
        event_throttle_rate: rate,
        scrub_ip_addresses: changes.scrub_ip_addresses.unwrap_or(p.scrub_ip_addresses),
        scrub_data: changes.scrub_data.unwrap_or(p.scrub_data),
        grouping,
        ..p
    };
    store.update_project(&updated).await.map_err(|e| match e {
        e if e.is_conflict() => DomainError::Conflict("A project with this slug already exists.".into()),
        e => e.into(),
    })
}

/// Deletes a project (`project:admin`): it disappears at once and a background job
/// purges its events.
pub async fn delete(store: &Store, access: &OrgAccess, p: &Project) -> Result<(), DomainError> {
    access.require(Scope::ProjectAdmin)?;
    store.soft_delete_project(p.id).await?;
    let job = faultline_store::NewJob::now("delete_project", serde_json::json!({ "project_id": p.id.0 }));
    store.enqueue_job(&job).await?;
    Ok(())
}

/// Checks a key rate limit: `count` events per `window` seconds.
pub fn check_rate_limit(count: i32, window: i32) -> Result<(i32, i32), DomainError> {
    if count < 0 || window <= 0 {
        return Err(DomainError::Invalid("rateLimit needs count ≥ 0 and window > 0 seconds".into()));
    }
    Ok((count, window))
}

/// A project with its organization and first key, as provisioning created them.
#[derive(Debug, Clone)]
pub struct Provisioned {
    /// The organization (existing or new).
    pub organization: Organization,
    /// The new project.
    pub project: Project,
    /// Its default key.
    pub key: ProjectKey,
}

/// Creates a project (and its organization, if `org_slug` does not exist yet) with a
/// default key. Refuses a project name whose slug is taken in the organization.
pub async fn provision(
    store: &Store,
    org_slug: &str,
    name: &str,
    platform: Option<&str>,
) -> Result<Provisioned, DomainError> {
    let org_slug = organization_slug(org_slug);
    let slug = project_slug(name);
    if org_slug.is_empty() || slug.is_empty() {
        return Err(DomainError::Invalid("organization and project names need a letter or digit".into()));
    }
    let organization = match store.organization_by_slug(&org_slug).await? {
        Some(org) => org,
        None => store.create_organization(&org_slug, &org_slug).await.map_err(|e| match e {
            e if e.is_conflict() => DomainError::Conflict(format!("organization {org_slug} already exists")),
            e => e.into(),
        })?,
    };
    let new = NewProject {
        organization_id: organization.id,
        name: name.trim().to_string(),
        slug: slug.clone(),
        platform: platform.map(String::from),
    };
    let project = store.create_project(&new).await.map_err(|e| match e {
        e if e.is_conflict() => {
            DomainError::Conflict(format!("a project {slug} already exists in organization {org_slug}"))
        }
        e => e.into(),
    })?;
    let key = store.create_project_key(project.id, "Default").await?;
    Ok(Provisioned { organization, project, key })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slugify("My Web App!"), "my-web-app");
        assert_eq!(slugify("  --API v2--  "), "api-v2");
        assert_eq!(project_slug("new"), "new-1");
        assert_eq!(project_slug("api"), "api");
        assert_eq!(organization_slug("API"), "api-1");
        assert_eq!(slugify("Ünïcode"), "n-code");
        assert_eq!(slugify("a".repeat(80).as_str()).len(), 50);
    }
}
