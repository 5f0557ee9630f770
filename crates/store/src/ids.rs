//! Typed row ids, so an issue id is never passed where a project id is expected.

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, sqlx::Type, serde::Serialize, serde::Deserialize)]
        #[sqlx(transparent)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }
    )*};
}

id_type!(
    /// A user.
    UserId,
    /// An organization.
    OrganizationId,
    /// A membership (or pending invitation) in an organization.
    MemberId,
    /// A team.
    TeamId,
    /// A project.
    ProjectId,
    /// A project's client key.
    ProjectKeyId,
    /// An API token.
    ApiTokenId,
    /// An issue (a group of events).
    IssueId,
    /// A release.
    ReleaseId,
    /// An environment.
    EnvironmentId,
    /// A row of the ingest queue.
    QueueId,
    /// A background job.
    JobId,
);
