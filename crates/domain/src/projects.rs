//! Organizations and projects: slugs, provisioning, DSNs.

use faultline_protocol::Dsn;
use faultline_store::{NewProject, Organization, Project, ProjectKey, Store};

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
