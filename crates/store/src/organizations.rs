//! Organizations and their members.

use crate::{MemberId, OrganizationId, Result, Store, Timestamp, UserId};

/// An organization: the tenant that owns teams, projects and members.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Organization {
    /// Id.
    pub id: OrganizationId,
    /// Display name.
    pub name: String,
    /// URL slug, unique on the server.
    pub slug: String,
    /// Inactive organizations are hidden.
    pub is_active: bool,
    /// When false, ingest refuses its events with 429.
    pub is_accepting_events: bool,
    /// Percentage (0–100) of events refused, GlitchTip's throttle.
    pub event_throttle_rate: i32,
    /// Members may join any team.
    pub open_membership: bool,
    /// Anonymize client IP addresses of events.
    pub scrub_ip_addresses: bool,
    /// Created.
    pub created_at: Timestamp,
}

/// A member's role, ordered by power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Reads and triages.
    Member = 0,
    /// Also manages projects and teams.
    Admin = 1,
    /// Also manages members and the organization.
    Manager = 2,
    /// Everything, including deleting the organization.
    Owner = 3,
}

impl Role {
    /// From the stored number.
    pub fn from_i16(n: i16) -> Option<Role> {
        Some(match n {
            0 => Role::Member,
            1 => Role::Admin,
            2 => Role::Manager,
            3 => Role::Owner,
            _ => return None,
        })
    }

    /// The API name (`member`, `admin`, `manager`, `owner`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Owner => "owner",
        }
    }
}

/// A user's membership in an organization.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Member {
    /// Id.
    pub id: MemberId,
    /// Organization.
    pub organization_id: OrganizationId,
    /// The user, unless this is a pending invitation.
    pub user_id: Option<UserId>,
    /// Invited address of a pending invitation.
    pub email: Option<String>,
    /// Stored role number; see [`Member::role`].
    #[sqlx(rename = "role")]
    pub role_number: i16,
    /// Created.
    pub created_at: Timestamp,
}

impl Member {
    /// The member's role (unknown numbers read as the weakest role).
    pub fn role(&self) -> Role {
        Role::from_i16(self.role_number).unwrap_or(Role::Member)
    }
}

const ORG_COLUMNS: &str = "id, name, slug, is_active, is_accepting_events, event_throttle_rate, open_membership, \
     scrub_ip_addresses, created_at";

impl Store {
    /// Creates an organization; `Conflict` when the slug is taken.
    pub async fn create_organization(&self, name: &str, slug: &str) -> Result<Organization> {
        let sql =
            format!("INSERT INTO organizations (name, slug, created_at) VALUES ($1, $2, $3) RETURNING {ORG_COLUMNS}");
        let org = write!(self, |pool| sqlx::query_as::<_, Organization>(&sql)
            .bind(name)
            .bind(slug)
            .bind(Timestamp::now())
            .fetch_one(pool)
            .await)?;
        Ok(org)
    }

    /// The organization with this slug.
    pub async fn organization_by_slug(&self, slug: &str) -> Result<Option<Organization>> {
        let sql = format!("SELECT {ORG_COLUMNS} FROM organizations WHERE slug = $1");
        let org = read!(self, |pool| sqlx::query_as::<_, Organization>(&sql).bind(slug).fetch_optional(pool).await)?;
        Ok(org)
    }

    /// Adds a user to an organization with a role; `Conflict` when already a member.
    pub async fn add_member(&self, org: OrganizationId, user: UserId, role: Role) -> Result<Member> {
        let member = write!(self, |pool| sqlx::query_as::<_, Member>(
            "INSERT INTO organization_members (organization_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)
             RETURNING id, organization_id, user_id, email, role, created_at"
        )
        .bind(org)
        .bind(user)
        .bind(role as i16)
        .bind(Timestamp::now())
        .fetch_one(pool)
        .await)?;
        Ok(member)
    }

    /// The memberships of a user.
    pub async fn memberships(&self, user: UserId) -> Result<Vec<Member>> {
        let members = read!(self, |pool| sqlx::query_as::<_, Member>(
            "SELECT id, organization_id, user_id, email, role, created_at FROM organization_members
             WHERE user_id = $1 ORDER BY organization_id"
        )
        .bind(user)
        .fetch_all(pool)
        .await)?;
        Ok(members)
    }
}

impl Store {
    /// Events (errors and transactions) stored for an organization since `since`,
    /// from the hourly statistics.
    pub async fn organization_event_count_since(&self, org: OrganizationId, since: Timestamp) -> Result<i64> {
        let n = read!(self, |pool| sqlx::query_scalar::<_, i64>(
            "SELECT CAST(COALESCE(SUM(s.times_seen), 0) AS BIGINT) FROM project_hourly_stats s
             JOIN projects p ON p.id = s.project_id WHERE p.organization_id = $1 AND s.bucket >= $2"
        )
        .bind(org)
        .bind(since)
        .fetch_one(pool)
        .await)?;
        Ok(n)
    }
}

impl Store {
    /// A user's membership in an organization, if any (pending invitations excluded).
    pub async fn membership(&self, org: OrganizationId, user: UserId) -> Result<Option<Member>> {
        let member = read!(self, |pool| sqlx::query_as::<_, Member>(
            "SELECT id, organization_id, user_id, email, role, created_at FROM organization_members
             WHERE organization_id = $1 AND user_id = $2"
        )
        .bind(org)
        .bind(user)
        .fetch_optional(pool)
        .await)?;
        Ok(member)
    }

    /// The organizations a user belongs to (every organization for `None`), by name.
    pub async fn organizations_of(&self, user: Option<UserId>) -> Result<Vec<Organization>> {
        let orgs = match user {
            Some(user) => {
                let sql = format!(
                    "SELECT {ORG_COLUMNS} FROM organizations WHERE id IN
                     (SELECT organization_id FROM organization_members WHERE user_id = $1) ORDER BY name, id"
                );
                read!(self, |pool| sqlx::query_as::<_, Organization>(&sql).bind(user).fetch_all(pool).await)?
            }
            None => {
                let sql = format!("SELECT {ORG_COLUMNS} FROM organizations ORDER BY name, id");
                read!(self, |pool| sqlx::query_as::<_, Organization>(&sql).fetch_all(pool).await)?
            }
        };
        Ok(orgs)
    }
}

impl Store {
    /// Renames an organization and sets its switches.
    pub async fn update_organization(
        &self,
        id: OrganizationId,
        name: &str,
        open_membership: bool,
        scrub_ip_addresses: bool,
    ) -> Result<Organization> {
        let sql = format!(
            "UPDATE organizations SET name = $1, open_membership = $2, scrub_ip_addresses = $3 WHERE id = $4
             RETURNING {ORG_COLUMNS}"
        );
        let org = write!(self, |pool| sqlx::query_as::<_, Organization>(&sql)
            .bind(name)
            .bind(open_membership)
            .bind(scrub_ip_addresses)
            .bind(id)
            .fetch_one(pool)
            .await)?;
        Ok(org)
    }

    /// Deletes an organization and everything in it.
    pub async fn delete_organization(&self, id: OrganizationId) -> Result<()> {
        write!(self, |pool| sqlx::query("DELETE FROM organizations WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// How many organizations exist (the first may always be created).
    pub async fn organization_count(&self) -> Result<i64> {
        let n = read!(self, |pool| sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM organizations")
            .fetch_one(pool)
            .await)?;
        Ok(n)
    }
}

impl Store {
    /// Creates an organization with `owner` as its owner, atomically; `Conflict` when
    /// the slug is taken.
    pub async fn create_organization_with_owner(&self, name: &str, slug: &str, owner: UserId) -> Result<Organization> {
        let sql =
            format!("INSERT INTO organizations (name, slug, created_at) VALUES ($1, $2, $3) RETURNING {ORG_COLUMNS}");
        let org = transaction!(self, |tx| {
            let org = sqlx::query_as::<_, Organization>(&sql)
                .bind(name)
                .bind(slug)
                .bind(Timestamp::now())
                .fetch_one(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO organization_members (organization_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(org.id)
            .bind(owner)
            .bind(Role::Owner as i16)
            .bind(Timestamp::now())
            .execute(&mut *tx)
            .await?;
            org
        });
        Ok(org)
    }
}

impl Store {
    /// An organization by id.
    pub async fn organization_by_id(&self, id: OrganizationId) -> Result<Organization> {
        let sql = format!("SELECT {ORG_COLUMNS} FROM organizations WHERE id = $1");
        let org = read!(self, |pool| sqlx::query_as::<_, Organization>(&sql).bind(id).fetch_one(pool).await)?;
        Ok(org)
    }
}
