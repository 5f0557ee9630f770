//! The Sentry-compatible REST API under `/api/0/`, plus GlitchTip's `/api/settings/`
//! and the allauth-style account endpoints.
//!
//! Every handler authenticates with [`Auth`] (token or session), resolves the
//! organization through [`faultline_domain::access::org_access`] — the one place
//! authorization is decided — and requires the scope its action needs. Handlers carry
//! `#[utoipa::path]` annotations, from which `/api/openapi.json` (also served at
//! `/api/docs`) is generated.

pub mod accounts;
mod alerts;
pub mod auth;
pub(crate) mod crons;
pub(crate) mod issues;
mod json;
pub(crate) mod members;
pub(crate) mod monitors;
mod organizations;
pub mod pagination;
mod projects;
mod root;
pub(crate) mod status_pages;
pub(crate) mod teams;
mod tokens;
mod users;
pub mod views;

use axum::routing::get;
use axum::Router;
use faultline_domain::access::{org_access, OrgAccess};
use faultline_store::Project;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use auth::{Auth, MaybeAuth};
pub use json::Json;

use crate::{ApiError, AppState};

#[derive(OpenApi)]
#[openapi(
    info(title = "Faultline API", description = "Sentry- and GlitchTip-compatible REST API"),
    components(schemas(views::UserOut, views::OrganizationOut, views::ProjectOut, views::KeyOut, views::TokenOut))
)]
struct ApiDoc;

/// The API routes and their OpenAPI document.
pub(crate) fn routes() -> Router<AppState> {
    let (router, mut doc) = OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi())
        .routes(routes!(root::api_root))
        .routes(routes!(root::settings))
        .routes(routes!(organizations::list_organizations, organizations::create_organization))
        .routes(routes!(
            organizations::get_organization,
            organizations::update_organization,
            organizations::delete_organization
        ))
        .routes(routes!(projects::list_all_projects))
        .routes(routes!(projects::list_organization_projects, projects::create_project))
        .routes(routes!(projects::get_project, projects::update_project, projects::delete_project))
        .routes(routes!(projects::list_keys, projects::create_key))
        .routes(routes!(projects::get_key, projects::update_key, projects::delete_key))
        .routes(routes!(tokens::list_tokens, tokens::create_token))
        .routes(routes!(tokens::delete_token))
        .routes(routes!(users::get_user, users::update_user))
        .routes(routes!(members::list_members, members::invite_member))
        .routes(routes!(members::get_member, members::update_member, members::delete_member))
        .routes(routes!(members::set_owner))
        .routes(routes!(members::join_team, members::leave_team))
        .routes(routes!(members::get_invitation, members::accept_invitation))
        .routes(routes!(teams::list_teams, teams::create_team))
        .routes(routes!(teams::get_team, teams::update_team, teams::delete_team))
        .routes(routes!(teams::team_members))
        .routes(routes!(teams::team_projects, teams::create_team_project))
        .routes(routes!(teams::project_teams))
        .routes(routes!(teams::add_project_team, teams::remove_project_team))
        .routes(routes!(teams::organization_environments))
        .routes(routes!(teams::project_environments))
        .routes(routes!(teams::update_environment))
        .routes(routes!(teams::get_project_alerts, teams::set_project_alerts))
        .routes(routes!(alerts::list_alerts, alerts::create_alert))
        .routes(routes!(alerts::update_alert, alerts::delete_alert))
        .routes(routes!(alerts::list_deliveries))
        .routes(routes!(alerts::test_alert))
        .merge(monitor_routes())
        .routes(routes!(crons::list_organization_cron_monitors))
        .routes(routes!(crons::list_cron_monitors, crons::create_cron_monitor))
        .routes(routes!(crons::get_cron_monitor, crons::update_cron_monitor, crons::delete_cron_monitor))
        .routes(routes!(crons::pause_cron_monitor))
        .routes(routes!(crons::unpause_cron_monitor))
        .routes(routes!(crons::list_cron_check_ins))
        .merge(status_page_routes())
        .merge(issue_routes())
        .split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    let doc = std::sync::Arc::new(doc);
    let openapi = {
        let doc = doc.clone();
        move || {
            let doc = doc.clone();
            async move { Json(doc.as_ref().clone()) }
        }
    };
    router
        .route("/api/openapi.json", get(openapi.clone()))
        .route("/api/docs", get(openapi))
        // Public by design (the key is the secret), so not in the authenticated document.
        .route(
            "/api/0/organizations/{organization_slug}/heartbeat_check/{endpoint_id}/",
            get(monitors::heartbeat).post(monitors::heartbeat),
        )
        .merge(accounts::routes())
}

/// GlitchTip's uptime monitors and their checks.
fn monitor_routes() -> OpenApiRouter<AppState> {
    use monitors as m;
    OpenApiRouter::new()
        .routes(routes!(m::list_monitors, m::create_monitor))
        .routes(routes!(m::get_monitor, m::update_monitor, m::delete_monitor))
        .routes(routes!(m::list_checks))
}

/// Status pages, their incidents, and maintenance windows.
fn status_page_routes() -> OpenApiRouter<AppState> {
    use status_pages as s;
    OpenApiRouter::new()
        .routes(routes!(s::list_status_pages, s::create_status_page))
        .routes(routes!(s::get_status_page, s::update_status_page, s::delete_status_page))
        .routes(routes!(s::list_incidents, s::create_incident))
        .routes(routes!(s::get_incident, s::update_incident, s::delete_incident))
        .routes(routes!(s::list_windows, s::create_window))
        .routes(routes!(s::get_window, s::update_window, s::delete_window))
}

/// Issues, events, comments, user reports and the statistics Grafana reads.
fn issue_routes() -> OpenApiRouter<AppState> {
    use issues::{comments, detail, events, list, stats};
    OpenApiRouter::new()
        .routes(routes!(
            list::list_organization_issues,
            list::update_organization_issues,
            list::delete_organization_issues
        ))
        .routes(routes!(list::list_project_issues, list::update_project_issues, list::delete_project_issues))
        .routes(routes!(detail::get_issue, detail::update_issue, detail::delete_issue))
        .routes(routes!(
            detail::get_organization_issue,
            detail::update_organization_issue,
            detail::delete_organization_issue
        ))
        .routes(routes!(detail::list_issue_tags))
        .routes(routes!(detail::get_issue_tag))
        .routes(routes!(detail::list_issue_tag_values))
        .routes(routes!(detail::issues_stats))
        .routes(routes!(events::list_issue_events))
        .routes(routes!(events::latest_issue_event))
        .routes(routes!(events::oldest_issue_event))
        .routes(routes!(events::get_issue_event))
        .routes(routes!(events::list_organization_issue_events))
        .routes(routes!(events::get_organization_issue_event))
        .routes(routes!(events::get_event_json))
        .routes(routes!(events::list_project_events))
        .routes(routes!(events::get_project_event))
        .routes(routes!(events::list_issue_hashes, events::delete_issue_hashes))
        .routes(routes!(comments::list_comments, comments::create_comment))
        .routes(routes!(comments::update_comment, comments::delete_comment))
        .routes(routes!(comments::list_issue_user_reports))
        .routes(routes!(comments::list_organization_issue_user_reports))
        .routes(routes!(comments::list_project_user_reports))
        .routes(routes!(stats::stats_v2))
        .routes(routes!(stats::events_stats))
        .routes(routes!(stats::organization_tags))
}

/// Resolves the caller's access to an organization (404 when not a member).
pub(crate) async fn org(state: &AppState, auth: &Auth, slug: &str) -> Result<OrgAccess, ApiError> {
    Ok(org_access(&state.store, &auth.principal, slug).await?)
}

/// A live project of an accessible organization (404 otherwise).
pub(crate) async fn project(state: &AppState, access: &OrgAccess, slug: &str) -> Result<Project, ApiError> {
    state.store.project_by_slug(access.org.id, slug).await?.ok_or_else(ApiError::not_found)
}
