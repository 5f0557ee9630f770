//! Who may do what: scopes, the role → scope matrix, API token scopes, and the check
//! every organization-scoped request goes through.
//!
//! This module is the one place authorization is decided. A request carries a
//! [`Principal`] (a user from a session, or a user through an API token); for an
//! organization, [`org_access`] resolves the principal's effective scopes: the
//! member's role scopes, narrowed by the token's scopes when a token is used.
//! Someone who is not a member gets `NotFound`, never `Forbidden`, so the existence of
//! another organization's objects does not leak.

use std::fmt;

use faultline_store::{Member, Organization, Role, Store, User};

use crate::DomainError;

/// A permission, named as in Sentry and GlitchTip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// See projects.
    ProjectRead,
    /// Change projects.
    ProjectWrite,
    /// Delete projects, manage keys.
    ProjectAdmin,
    /// Create releases, upload source maps.
    ProjectReleases,
    /// See teams.
    TeamRead,
    /// Change teams.
    TeamWrite,
    /// Delete teams.
    TeamAdmin,
    /// See issues and events.
    EventRead,
    /// Triage issues.
    EventWrite,
    /// Delete issues.
    EventAdmin,
    /// See the organization.
    OrgRead,
    /// Change the organization.
    OrgWrite,
    /// Delete the organization.
    OrgAdmin,
    /// See members.
    MemberRead,
    /// Invite and change members.
    MemberWrite,
    /// Remove members.
    MemberAdmin,
    /// Manage integrations (roles only; tokens never carry it).
    OrgIntegrations,
}

impl Scope {
    /// Every scope, in GlitchTip's token bit order (`org:integrations` last, not a
    /// token bit).
    pub const ALL: [Scope; 17] = [
        Scope::ProjectRead,
        Scope::ProjectWrite,
        Scope::ProjectAdmin,
        Scope::ProjectReleases,
        Scope::TeamRead,
        Scope::TeamWrite,
        Scope::TeamAdmin,
        Scope::EventRead,
        Scope::EventWrite,
        Scope::EventAdmin,
        Scope::OrgRead,
        Scope::OrgWrite,
        Scope::OrgAdmin,
        Scope::MemberRead,
        Scope::MemberWrite,
        Scope::MemberAdmin,
        Scope::OrgIntegrations,
    ];

    /// The wire name (`project:read`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ProjectRead => "project:read",
            Scope::ProjectWrite => "project:write",
            Scope::ProjectAdmin => "project:admin",
            Scope::ProjectReleases => "project:releases",
            Scope::TeamRead => "team:read",
            Scope::TeamWrite => "team:write",
            Scope::TeamAdmin => "team:admin",
            Scope::EventRead => "event:read",
            Scope::EventWrite => "event:write",
            Scope::EventAdmin => "event:admin",
            Scope::OrgRead => "org:read",
            Scope::OrgWrite => "org:write",
            Scope::OrgAdmin => "org:admin",
            Scope::MemberRead => "member:read",
            Scope::MemberWrite => "member:write",
            Scope::MemberAdmin => "member:admin",
            Scope::OrgIntegrations => "org:integrations",
        }
    }

    /// From a wire name.
    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == s.trim())
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scopes(u32);

/// The scopes an API token may carry (GlitchTip's 16 token bits).
const TOKEN_MASK: u32 = (1 << 16) - 1;

impl Scopes {
    /// No scope.
    pub const NONE: Scopes = Scopes(0);

    /// Every scope.
    pub fn all() -> Scopes {
        Scope::ALL.into_iter().collect()
    }

    /// Whether `scope` is in the set.
    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// Both sets' common scopes.
    pub fn intersect(self, other: Scopes) -> Scopes {
        Scopes(self.0 & other.0)
    }

    /// The scopes, in canonical order.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    /// Wire names, in canonical order.
    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Scope::as_str).collect()
    }

    /// Parses names (comma or whitespace separated); unknown names are an error.
    pub fn parse_list(text: &str) -> Result<Scopes, DomainError> {
        let mut out = Scopes::NONE;
        for name in text.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()) {
            let scope = Scope::parse(name).ok_or_else(|| DomainError::Invalid(format!("unknown scope {name:?}")))?;
            out.0 |= scope.bit();
        }
        Ok(out)
    }

    /// GlitchTip's token bit field.
    pub fn to_token_bits(self) -> i64 {
        i64::from(self.0 & TOKEN_MASK)
    }

    /// From GlitchTip's token bit field.
    pub fn from_token_bits(bits: i64) -> Scopes {
        Scopes(u32::try_from(bits).unwrap_or(0) & TOKEN_MASK)
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Scopes {
        Scopes(iter.into_iter().fold(0, |acc, s| acc | s.bit()))
    }
}

/// What a role may do (Sentry's matrix, as GlitchTip uses it).
pub fn role_scopes(role: Role) -> Scopes {
    use Scope::*;
    let member = [EventRead, EventWrite, EventAdmin, ProjectReleases, ProjectRead, OrgRead, MemberRead, TeamRead];
    let admin = [ProjectWrite, ProjectAdmin, TeamWrite, TeamAdmin, OrgIntegrations];
    let manager = [MemberWrite, MemberAdmin, OrgWrite];
    let owner = [OrgAdmin];
    let mut scopes: Vec<Scope> = member.to_vec();
    if role >= Role::Admin {
        scopes.extend(admin);
    }
    if role >= Role::Manager {
        scopes.extend(manager);
    }
    if role >= Role::Owner {
        scopes.extend(owner);
    }
    scopes.into_iter().collect()
}

/// Who is making a request.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user.
    pub user: User,
    /// With an API token: its scopes; with a session: `None` (the role decides).
    pub token_scopes: Option<Scopes>,
}

impl Principal {
    /// The scopes this principal can ever have in an organization where it holds
    /// `role` (or is a superuser).
    fn scopes_for(&self, role: Option<Role>) -> Scopes {
        let base = if self.user.is_superuser { Scopes::all() } else { role.map(role_scopes).unwrap_or_default() };
        match self.token_scopes {
            Some(token) => base.intersect(token),
            None => base,
        }
    }

    /// Whether an API token (if any) allows `scope` at all (for routes outside any
    /// organization, such as `GET /api/0/projects/`).
    pub fn token_allows(&self, scope: Scope) -> bool {
        self.token_scopes.is_none_or(|s| s.contains(scope))
    }
}

/// A principal's standing in one organization.
#[derive(Debug, Clone)]
pub struct OrgAccess {
    /// The organization.
    pub org: Organization,
    /// The membership (absent for a superuser who is not a member).
    pub member: Option<Member>,
    /// Effective scopes.
    pub scopes: Scopes,
}

impl OrgAccess {
    /// `Ok` when `scope` is allowed, else `Forbidden`.
    pub fn require(&self, scope: Scope) -> Result<(), DomainError> {
        if self.scopes.contains(scope) {
            Ok(())
        } else {
            Err(DomainError::Forbidden(format!(
                "You do not have permission to perform this action ({scope} required)."
            )))
        }
    }

    /// The member's role (superusers who are not members count as owners).
    pub fn role(&self) -> Role {
        self.member.as_ref().map_or(Role::Owner, Member::role)
    }
}

/// Resolves `principal`'s access to the organization `slug`. Not a member (and not a
/// superuser), or no such organization: `NotFound`.
pub async fn org_access(store: &Store, principal: &Principal, slug: &str) -> Result<OrgAccess, DomainError> {
    let org = store.organization_by_slug(slug).await?.ok_or(DomainError::NotFound)?;
    let member = store.membership(org.id, principal.user.id).await?;
    if member.is_none() && !principal.user.is_superuser {
        return Err(DomainError::NotFound);
    }
    let scopes = principal.scopes_for(member.as_ref().map(Member::role));
    Ok(OrgAccess { org, member, scopes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_nest() {
        let member = role_scopes(Role::Member);
        let admin = role_scopes(Role::Admin);
        let manager = role_scopes(Role::Manager);
        let owner = role_scopes(Role::Owner);
        assert!(member.contains(Scope::EventAdmin) && !member.contains(Scope::ProjectWrite));
        assert!(admin.contains(Scope::ProjectAdmin) && !admin.contains(Scope::MemberWrite));
        assert!(manager.contains(Scope::OrgWrite) && !manager.contains(Scope::OrgAdmin));
        assert_eq!(owner, Scopes::all());
        for s in member.iter() {
            assert!(admin.contains(s) && manager.contains(s) && owner.contains(s));
        }
    }

    #[test]
    fn token_bits_follow_glitchtip() {
        let scopes = Scopes::parse_list("project:read, event:write org:read").unwrap();
        assert_eq!(scopes.to_token_bits(), 1 | (1 << 8) | (1 << 10));
        assert_eq!(Scopes::from_token_bits(scopes.to_token_bits()), scopes);
        assert_eq!(
            Scopes::from_token_bits(i64::from(u32::MAX)).names().len(),
            16,
            "org:integrations is not a token bit"
        );
        assert!(Scopes::parse_list("project:read,nope").is_err());
        assert_eq!(scopes.names(), ["project:read", "event:write", "org:read"]);
    }
}
