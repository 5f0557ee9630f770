//! Organizations.

use faultline_store::{Organization, Store};

use crate::access::{OrgAccess, Principal, Scope};
use crate::projects::organization_slug;
use crate::DomainError;

/// Creates an organization owned by `principal`. Allowed for the first organization
/// of the server, when `ENABLE_ORGANIZATION_CREATION` is on, and for superusers.
pub async fn create(
    store: &Store,
    principal: &Principal,
    name: &str,
    creation_enabled: bool,
) -> Result<Organization, DomainError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(DomainError::Invalid("the name must have 1 to 64 characters".into()));
    }
    let first = store.organization_count().await? == 0;
    if !(first || creation_enabled || principal.user.is_superuser) {
        return Err(DomainError::Forbidden("Organization creation is disabled on this server.".into()));
    }
    let base = organization_slug(name);
    if base.is_empty() {
        return Err(DomainError::Invalid("the name needs a letter or digit".into()));
    }
    // Like Django's unique slugs: name, name-1, name-2, …
    for n in 0..50 {
        let slug = if n == 0 { base.clone() } else { format!("{base}-{n}") };
        match store.create_organization_with_owner(name, &slug, principal.user.id).await {
            Ok(org) => return Ok(org),
            Err(e) if e.is_conflict() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(DomainError::Conflict(format!("no free slug for {name:?}")))
}

/// Renames an organization and sets its switches (`org:write`).
pub async fn update(
    store: &Store,
    access: &OrgAccess,
    name: Option<&str>,
    open_membership: Option<bool>,
    scrub_ip_addresses: Option<bool>,
) -> Result<Organization, DomainError> {
    access.require(Scope::OrgWrite)?;
    let current = &access.org;
    let name = name.map(str::trim).unwrap_or(&current.name);
    if name.is_empty() || name.chars().count() > 64 {
        return Err(DomainError::Invalid("the name must have 1 to 64 characters".into()));
    }
    Ok(store
        .update_organization(
            current.id,
            name,
            open_membership.unwrap_or(current.open_membership),
            scrub_ip_addresses.unwrap_or(current.scrub_ip_addresses),
        )
        .await?)
}

/// Deletes an organization and everything in it (`org:admin`).
pub async fn delete(store: &Store, access: &OrgAccess) -> Result<(), DomainError> {
    access.require(Scope::OrgAdmin)?;
    store.delete_organization(access.org.id).await?;
    Ok(())
}
