//! Membership rules: invitations, roles, removal, ownership.

use faultline_store::{MemberId, MemberRow, Role, Store, User};

use crate::access::{OrgAccess, Scope};
use crate::accounts::{secrets, validate_email};
use crate::DomainError;

/// An invitation just created: the member row id and the secret for the link.
#[derive(Debug, Clone)]
pub struct Invitation {
    /// The pending membership.
    pub member: MemberId,
    /// The token to put in the accept link.
    pub token: String,
}

/// Parses a role name (`member`, `admin`, `manager`, `owner`).
pub fn parse_role(name: &str) -> Result<Role, DomainError> {
    Ok(match name.trim().to_ascii_lowercase().as_str() {
        "member" => Role::Member,
        "admin" => Role::Admin,
        "manager" => Role::Manager,
        "owner" => Role::Owner,
        other => {
            return Err(DomainError::Invalid(format!("unknown role {other:?}: use member, admin, manager or owner")))
        }
    })
}

/// Invites `email` with `role`. Managers and owners may invite; only owners may invite
/// owners. With registration closed, only addresses that already have an account
/// may be invited (they could not sign up otherwise).
pub async fn invite(
    store: &Store,
    access: &OrgAccess,
    inviter: &User,
    email: &str,
    role: Role,
    registration_open: bool,
) -> Result<Invitation, DomainError> {
    access.require(Scope::MemberWrite)?;
    validate_email(email)?;
    if role == Role::Owner && access.role() < Role::Owner {
        return Err(DomainError::Forbidden("Only owners may invite owners.".into()));
    }
    if !registration_open && store.user_by_email(email).await?.is_none() {
        return Err(DomainError::Invalid(
            "Registration is closed on this server: only people who already have an account can be invited.".into(),
        ));
    }
    let token = secrets::hex(24);
    let member = store
        .invite_member(access.org.id, email.trim(), role, &faultline_store::hash_secret(&token), inviter.id)
        .await
        .map_err(|e| match e {
            e if e.is_conflict() => DomainError::Conflict(format!("{} is already a member or invited.", email.trim())),
            e => e.into(),
        })?;
    Ok(Invitation { member, token })
}

/// A new token for a pending invitation (resend).
pub async fn reinvite(store: &Store, access: &OrgAccess, member: &MemberRow) -> Result<String, DomainError> {
    access.require(Scope::MemberWrite)?;
    if !member.pending() {
        return Err(DomainError::Invalid("This member already accepted the invitation.".into()));
    }
    let token = secrets::hex(24);
    store.set_invite_token(member.id, &faultline_store::hash_secret(&token)).await?;
    Ok(token)
}

/// Changes a member's role: never above the caller's own, never leaving the
/// organization without an owner.
pub async fn change_role(store: &Store, access: &OrgAccess, member: &MemberRow, role: Role) -> Result<(), DomainError> {
    access.require(Scope::MemberWrite)?;
    if role > access.role() || member.role() > access.role() {
        return Err(DomainError::Forbidden("You cannot grant or change a role above your own.".into()));
    }
    if member.role() == Role::Owner && role != Role::Owner && store.owner_count(access.org.id).await? <= 1 {
        return Err(DomainError::Invalid("An organization needs at least one owner.".into()));
    }
    store.set_member_role(member.id, role).await?;
    Ok(())
}

/// Removes a member. Anyone may leave; removing others needs `member:admin`, and
/// only owners remove owners. The last owner stays.
pub async fn remove(store: &Store, access: &OrgAccess, caller: &User, member: &MemberRow) -> Result<(), DomainError> {
    let leaving = member.user_id == Some(caller.id);
    if !leaving {
        access.require(Scope::MemberAdmin)?;
        if member.role() == Role::Owner && access.role() < Role::Owner {
            return Err(DomainError::Forbidden("Only owners can remove owners.".into()));
        }
    }
    if member.role() == Role::Owner && !member.pending() && store.owner_count(access.org.id).await? <= 1 {
        return Err(DomainError::Invalid("The last owner cannot be removed; transfer ownership first.".into()));
    }
    store.delete_member(member.id).await?;
    Ok(())
}

/// Makes a member an owner (owners only).
pub async fn transfer_ownership(store: &Store, access: &OrgAccess, member: &MemberRow) -> Result<(), DomainError> {
    access.require(crate::access::Scope::OrgAdmin)?;
    if access.role() < Role::Owner {
        return Err(DomainError::Forbidden("Only owners can transfer ownership.".into()));
    }
    if member.pending() {
        return Err(DomainError::Invalid("The invitation has not been accepted yet.".into()));
    }
    store.set_member_role(member.id, Role::Owner).await?;
    Ok(())
}

/// Accepts an invitation as `user`.
pub async fn accept(store: &Store, member: MemberId, token: &str, user: &User) -> Result<(), DomainError> {
    let hash = faultline_store::hash_secret(token);
    let invitation = store.invitation(member, &hash).await?.ok_or(DomainError::NotFound)?;
    if store.membership(invitation.organization_id, user.id).await?.is_some() {
        store.delete_member(member).await?;
        return Err(DomainError::Conflict("You are already a member of this organization.".into()));
    }
    store.accept_invitation(member, &hash, user.id).await?;
    Ok(())
}
