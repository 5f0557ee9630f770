//! Members and invitations, teams (their members and projects), environments, and
//! per-user project alert settings.

use crate::{MemberId, OrganizationId, Project, ProjectId, Result, Role, Store, StoreError, TeamId, Timestamp, UserId};

/// A member or pending invitation, with the user's name and email.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    /// Membership id.
    pub id: MemberId,
    /// Organization.
    pub organization_id: OrganizationId,
    /// The user; `None` while the invitation is pending.
    pub user_id: Option<UserId>,
    /// The invited address (pending invitations).
    pub invite_email: Option<String>,
    /// The user's email.
    pub user_email: Option<String>,
    /// The user's name.
    pub user_name: Option<String>,
    /// Role number.
    pub role: i16,
    /// Created.
    pub created_at: Timestamp,
}

impl MemberRow {
    /// The role.
    pub fn role(&self) -> Role {
        Role::from_i16(self.role).unwrap_or(Role::Member)
    }

    /// The address to show: the user's, or the invited one.
    pub fn email(&self) -> &str {
        self.user_email.as_deref().or(self.invite_email.as_deref()).unwrap_or_default()
    }

    /// Whether this is an invitation not yet accepted.
    pub fn pending(&self) -> bool {
        self.user_id.is_none()
    }
}

/// A team.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Team {
    /// Id.
    pub id: TeamId,
    /// Organization.
    pub organization_id: OrganizationId,
    /// Slug (also its name).
    pub slug: String,
    /// Created.
    pub created_at: Timestamp,
}

/// An environment as seen from a project.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EnvironmentRow {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Hidden in the project's environment pickers.
    pub is_hidden: bool,
}

const MEMBER_SELECT: &str = "SELECT m.id, m.organization_id, m.user_id, m.email AS invite_email, u.email AS user_email,
        u.name AS user_name, m.role, m.created_at
     FROM organization_members m LEFT JOIN users u ON u.id = m.user_id";

impl Store {
    /// An organization's members and pending invitations, by email.
    pub async fn members(&self, org: OrganizationId) -> Result<Vec<MemberRow>> {
        let sql = format!("{MEMBER_SELECT} WHERE m.organization_id = $1 ORDER BY COALESCE(u.email, m.email), m.id");
        let rows = read!(self, |pool| sqlx::query_as::<_, MemberRow>(&sql).bind(org).fetch_all(pool).await)?;
        Ok(rows)
    }

    /// One member of an organization.
    pub async fn member(&self, org: OrganizationId, id: MemberId) -> Result<Option<MemberRow>> {
        let sql = format!("{MEMBER_SELECT} WHERE m.organization_id = $1 AND m.id = $2");
        let row =
            read!(self, |pool| sqlx::query_as::<_, MemberRow>(&sql).bind(org).bind(id).fetch_optional(pool).await)?;
        Ok(row)
    }

    /// Owners of an organization.
    pub async fn owner_count(&self, org: OrganizationId) -> Result<i64> {
        let n = read!(self, |pool| {
            sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM organization_members WHERE organization_id = $1 AND role = 3 AND user_id IS NOT NULL"
        )
        .bind(org)
        .fetch_one(pool)
        .await
        })?;
        Ok(n)
    }

    /// Records an invitation; `Conflict` when the address is already a member or invited.
    pub async fn invite_member(
        &self,
        org: OrganizationId,
        email: &str,
        role: Role,
        token_hash: &str,
        invited_by: UserId,
    ) -> Result<MemberId> {
        let existing = read!(self, |pool| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM organization_members m LEFT JOIN users u ON u.id = m.user_id
             WHERE m.organization_id = $1 AND (lower(m.email) = lower($2) OR lower(u.email) = lower($2))"
        )
        .bind(org)
        .bind(email)
        .fetch_one(pool)
        .await)?;
        if existing > 0 {
            return Err(StoreError::Conflict(format!("{email} is already a member or invited")));
        }
        let id = write!(self, |pool| {
            sqlx::query_scalar::<_, MemberId>(
            "INSERT INTO organization_members (organization_id, email, role, invite_token_hash, invited_by_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"
        )
        .bind(org)
        .bind(email.trim())
        .bind(role as i16)
        .bind(token_hash)
        .bind(invited_by)
        .bind(Timestamp::now())
        .fetch_one(pool)
        .await
        })?;
        Ok(id)
    }

    /// Replaces a pending invitation's token (resending it).
    pub async fn set_invite_token(&self, member: MemberId, token_hash: &str) -> Result<()> {
        write!(self, |pool| sqlx::query(
            "UPDATE organization_members SET invite_token_hash = $1 WHERE id = $2 AND user_id IS NULL"
        )
        .bind(token_hash)
        .bind(member)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The pending invitation with this id and token hash.
    pub async fn invitation(&self, member: MemberId, token_hash: &str) -> Result<Option<MemberRow>> {
        let sql = format!("{MEMBER_SELECT} WHERE m.id = $1 AND m.invite_token_hash = $2 AND m.user_id IS NULL");
        let row = read!(self, |pool| sqlx::query_as::<_, MemberRow>(&sql)
            .bind(member)
            .bind(token_hash)
            .fetch_optional(pool)
            .await)?;
        Ok(row)
    }

    /// Binds a pending invitation to `user`. `NotFound` for a wrong or used token;
    /// `Conflict` when the user is already a member.
    pub async fn accept_invitation(&self, member: MemberId, token_hash: &str, user: UserId) -> Result<()> {
        let done = write!(self, |pool| sqlx::query(
            "UPDATE organization_members SET user_id = $1, email = NULL, invite_token_hash = NULL
             WHERE id = $2 AND invite_token_hash = $3 AND user_id IS NULL"
        )
        .bind(user)
        .bind(member)
        .bind(token_hash)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Changes a member's role.
    pub async fn set_member_role(&self, member: MemberId, role: Role) -> Result<()> {
        write!(self, |pool| sqlx::query("UPDATE organization_members SET role = $1 WHERE id = $2")
            .bind(role as i16)
            .bind(member)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Removes a member (or withdraws an invitation).
    pub async fn delete_member(&self, member: MemberId) -> Result<()> {
        write!(self, |pool| sqlx::query("DELETE FROM organization_members WHERE id = $1")
            .bind(member)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Slugs of the teams a member is in.
    pub async fn member_team_slugs(&self, member: MemberId) -> Result<Vec<String>> {
        let rows = read!(self, |pool| {
            sqlx::query_scalar::<_, String>(
            "SELECT t.slug FROM teams t JOIN team_members tm ON tm.team_id = t.id WHERE tm.member_id = $1 ORDER BY t.slug"
        )
        .bind(member)
        .fetch_all(pool)
        .await
        })?;
        Ok(rows)
    }

    /// Creates a team; `Conflict` when the slug is taken.
    pub async fn create_team(&self, org: OrganizationId, slug: &str) -> Result<Team> {
        let team = write!(self, |pool| sqlx::query_as::<_, Team>(
            "INSERT INTO teams (organization_id, slug, created_at) VALUES ($1, $2, $3)
             RETURNING id, organization_id, slug, created_at"
        )
        .bind(org)
        .bind(slug)
        .bind(Timestamp::now())
        .fetch_one(pool)
        .await)?;
        Ok(team)
    }

    /// An organization's teams, by slug.
    pub async fn teams(&self, org: OrganizationId) -> Result<Vec<Team>> {
        let rows = read!(self, |pool| sqlx::query_as::<_, Team>(
            "SELECT id, organization_id, slug, created_at FROM teams WHERE organization_id = $1 ORDER BY slug"
        )
        .bind(org)
        .fetch_all(pool)
        .await)?;
        Ok(rows)
    }

    /// A team by slug.
    pub async fn team(&self, org: OrganizationId, slug: &str) -> Result<Option<Team>> {
        let row = read!(self, |pool| sqlx::query_as::<_, Team>(
            "SELECT id, organization_id, slug, created_at FROM teams WHERE organization_id = $1 AND slug = $2"
        )
        .bind(org)
        .bind(slug)
        .fetch_optional(pool)
        .await)?;
        Ok(row)
    }

    /// Renames a team.
    pub async fn rename_team(&self, team: TeamId, slug: &str) -> Result<Team> {
        let row = write!(self, |pool| sqlx::query_as::<_, Team>(
            "UPDATE teams SET slug = $1 WHERE id = $2 RETURNING id, organization_id, slug, created_at"
        )
        .bind(slug)
        .bind(team)
        .fetch_one(pool)
        .await)?;
        Ok(row)
    }

    /// Deletes a team (its projects and members stay in the organization).
    pub async fn delete_team(&self, team: TeamId) -> Result<()> {
        write!(self, |pool| sqlx::query("DELETE FROM teams WHERE id = $1")
            .bind(team)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Puts a member in a team (no-op when already in it).
    pub async fn add_team_member(&self, team: TeamId, member: MemberId) -> Result<()> {
        write!(self, |pool| sqlx::query(
            "INSERT INTO team_members (team_id, member_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        )
        .bind(team)
        .bind(member)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Takes a member out of a team.
    pub async fn remove_team_member(&self, team: TeamId, member: MemberId) -> Result<()> {
        write!(self, |pool| sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND member_id = $2")
            .bind(team)
            .bind(member)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// A team's members.
    pub async fn team_members(&self, team: TeamId) -> Result<Vec<MemberRow>> {
        let sql = format!(
            "{MEMBER_SELECT} JOIN team_members tm ON tm.member_id = m.id WHERE tm.team_id = $1 ORDER BY COALESCE(u.email, m.email)"
        );
        let rows = read!(self, |pool| sqlx::query_as::<_, MemberRow>(&sql).bind(team).fetch_all(pool).await)?;
        Ok(rows)
    }

    /// Gives a team a project (no-op when it has it).
    pub async fn add_team_project(&self, team: TeamId, project: ProjectId) -> Result<()> {
        write!(self, |pool| sqlx::query(
            "INSERT INTO team_projects (team_id, project_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        )
        .bind(team)
        .bind(project)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Takes a project from a team.
    pub async fn remove_team_project(&self, team: TeamId, project: ProjectId) -> Result<()> {
        write!(self, |pool| sqlx::query("DELETE FROM team_projects WHERE team_id = $1 AND project_id = $2")
            .bind(team)
            .bind(project)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// A team's live projects.
    pub async fn team_projects(&self, team: TeamId) -> Result<Vec<Project>> {
        let rows = read!(self, |pool| sqlx::query_as::<_, Project>(
            "SELECT p.id, p.organization_id, p.name, p.slug, p.platform, p.first_event_at, p.scrub_ip_addresses,
                    p.scrub_data, p.event_throttle_rate, p.grouping, p.is_deleted, p.created_at
             FROM projects p JOIN team_projects tp ON tp.project_id = p.id
             WHERE tp.team_id = $1 AND NOT p.is_deleted ORDER BY p.name"
        )
        .bind(team)
        .fetch_all(pool)
        .await)?;
        Ok(rows)
    }

    /// The teams that have a project.
    pub async fn project_teams(&self, project: ProjectId) -> Result<Vec<Team>> {
        let rows = read!(self, |pool| {
            sqlx::query_as::<_, Team>(
            "SELECT t.id, t.organization_id, t.slug, t.created_at FROM teams t JOIN team_projects tp ON tp.team_id = t.id
             WHERE tp.project_id = $1 ORDER BY t.slug"
        )
        .bind(project)
        .fetch_all(pool)
        .await
        })?;
        Ok(rows)
    }

    /// Users who should get a project's alert emails: members of the project's teams
    /// whose per-project setting is on, or who have no setting and subscribe by
    /// default. Returns `(user id, email)`.
    pub async fn project_alert_recipients(&self, project: ProjectId) -> Result<Vec<(UserId, String)>> {
        let rows = read!(self, |pool| sqlx::query_as::<_, (UserId, String)>(
            "SELECT DISTINCT u.id, u.email FROM users u
             JOIN organization_members m ON m.user_id = u.id
             JOIN team_members tm ON tm.member_id = m.id
             JOIN team_projects tp ON tp.team_id = tm.team_id
             LEFT JOIN user_project_alerts a ON a.user_id = u.id AND a.project_id = tp.project_id
             WHERE tp.project_id = $1 AND u.is_active
               AND (a.status = 1 OR (a.status IS NULL AND u.subscribe_by_default))
             ORDER BY u.email"
        )
        .bind(project)
        .fetch_all(pool)
        .await)?;
        Ok(rows)
    }

    /// A user's explicit per-project alert settings: `(project, 0 off | 1 on)`.
    pub async fn user_project_alerts(&self, user: UserId) -> Result<Vec<(ProjectId, i16)>> {
        let rows = read!(self, |pool| sqlx::query_as::<_, (ProjectId, i16)>(
            "SELECT project_id, status FROM user_project_alerts WHERE user_id = $1 ORDER BY project_id"
        )
        .bind(user)
        .fetch_all(pool)
        .await)?;
        Ok(rows)
    }

    /// Sets (or with `None` clears) a user's alert setting for a project.
    pub async fn set_user_project_alert(&self, user: UserId, project: ProjectId, status: Option<i16>) -> Result<()> {
        match status {
            Some(status) => write!(self, |pool| sqlx::query(
                "INSERT INTO user_project_alerts (user_id, project_id, status) VALUES ($1, $2, $3)
                 ON CONFLICT (user_id, project_id) DO UPDATE SET status = excluded.status"
            )
            .bind(user)
            .bind(project)
            .bind(status)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?,
            None => write!(self, |pool| sqlx::query(
                "DELETE FROM user_project_alerts WHERE user_id = $1 AND project_id = $2"
            )
            .bind(user)
            .bind(project)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?,
        };
        Ok(())
    }

    /// An organization's environments (names), by name.
    pub async fn organization_environments(&self, org: OrganizationId) -> Result<Vec<(i64, String)>> {
        let rows = read!(self, |pool| sqlx::query_as::<_, (i64, String)>(
            "SELECT id, name FROM environments WHERE organization_id = $1 ORDER BY name"
        )
        .bind(org)
        .fetch_all(pool)
        .await)?;
        Ok(rows)
    }

    /// A project's environments with their visibility, by name.
    pub async fn project_environments(&self, project: ProjectId) -> Result<Vec<EnvironmentRow>> {
        let rows = read!(self, |pool| {
            sqlx::query_as::<_, EnvironmentRow>(
            "SELECT e.id, e.name, ep.is_hidden FROM environments e JOIN environment_projects ep ON ep.environment_id = e.id
             WHERE ep.project_id = $1 ORDER BY e.name"
        )
        .bind(project)
        .fetch_all(pool)
        .await
        })?;
        Ok(rows)
    }

    /// Hides or shows an environment in a project; `NotFound` if the project has no
    /// such environment.
    pub async fn set_environment_hidden(&self, project: ProjectId, name: &str, hidden: bool) -> Result<()> {
        let done = write!(self, |pool| {
            sqlx::query(
            "UPDATE environment_projects SET is_hidden = $1 WHERE project_id = $2
             AND environment_id IN (SELECT e.id FROM environments e JOIN projects p ON p.organization_id = e.organization_id
                                    WHERE p.id = $2 AND e.name = $3)"
        )
        .bind(hidden)
        .bind(project)
        .bind(name)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
        })?;
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
