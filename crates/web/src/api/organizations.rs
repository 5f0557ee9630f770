//! Organizations.

use crate::api::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use faultline_domain::access::Scope;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::views::{OrganizationOut, ProjectOut};
use super::{org, Auth};
use crate::{ApiError, AppState};

/// The organizations the caller belongs to.
#[utoipa::path(get, path = "/api/0/organizations/", tag = "organizations",
    responses((status = 200, body = Vec<OrganizationOut>)))]
pub(crate) async fn list_organizations(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<Vec<OrganizationOut>>, ApiError> {
    require_token_scope(&auth, Scope::OrgRead)?;
    let orgs = state.store.organizations_of(Some(auth.principal.user.id)).await?;
    Ok(Json(orgs.iter().map(OrganizationOut::from).collect()))
}

/// Body of `POST /api/0/organizations/`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct NewOrganization {
    name: String,
}

/// Creates an organization; the caller becomes its owner.
#[utoipa::path(post, path = "/api/0/organizations/", tag = "organizations", request_body = NewOrganization,
    responses((status = 201, body = OrganizationOut), (status = 403, description = "Creation disabled")))]
pub(crate) async fn create_organization(
    State(state): State<AppState>,
    auth: Auth,
    Json(body): Json<NewOrganization>,
) -> Result<(StatusCode, Json<OrganizationOut>), ApiError> {
    require_token_scope(&auth, Scope::OrgWrite)?;
    let org = faultline_domain::organizations::create(
        &state.store,
        &auth.principal,
        &body.name,
        state.config.features.organization_creation,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(OrganizationOut::from(&org))))
}

/// An organization with its projects and the caller's role.
#[utoipa::path(get, path = "/api/0/organizations/{organization_slug}/", tag = "organizations",
    params(("organization_slug" = String, Path)), responses((status = 200, body = Object), (status = 404)))]
pub(crate) async fn get_organization(
    State(state): State<AppState>,
    auth: Auth,
    Path(slug): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    access.require(Scope::OrgRead)?;
    let projects = state.store.organization_projects(access.org.id).await?;
    let mut out = serde_json::to_value(OrganizationOut::from(&access.org)).unwrap_or_default();
    out["projects"] = json!(projects.iter().map(|p| ProjectOut::from(p, None)).collect::<Vec<_>>());
    out["role"] = json!(access.role().as_str());
    out["orgRole"] = json!(access.role().as_str());
    out["access"] = json!(access.scopes.names());
    Ok(Json(out))
}

/// Body of `PUT /api/0/organizations/{slug}/`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrganizationUpdate {
    name: Option<String>,
    open_membership: Option<bool>,
    #[serde(rename = "scrubIPAddresses")]
    scrub_ip_addresses: Option<bool>,
}

/// Renames an organization or changes its switches (managers and owners).
#[utoipa::path(put, path = "/api/0/organizations/{organization_slug}/", tag = "organizations",
    params(("organization_slug" = String, Path)), request_body = OrganizationUpdate,
    responses((status = 200, body = OrganizationOut), (status = 403), (status = 404)))]
pub(crate) async fn update_organization(
    State(state): State<AppState>,
    auth: Auth,
    Path(slug): Path<String>,
    Json(body): Json<OrganizationUpdate>,
) -> Result<Json<OrganizationOut>, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    let org = faultline_domain::organizations::update(
        &state.store,
        &access,
        body.name.as_deref(),
        body.open_membership,
        body.scrub_ip_addresses,
    )
    .await?;
    state.ingest.keys.invalidate();
    Ok(Json(OrganizationOut::from(&org)))
}

/// Deletes an organization and everything in it (owners).
#[utoipa::path(delete, path = "/api/0/organizations/{organization_slug}/", tag = "organizations",
    params(("organization_slug" = String, Path)), responses((status = 204), (status = 403), (status = 404)))]
pub(crate) async fn delete_organization(
    State(state): State<AppState>,
    auth: Auth,
    Path(slug): Path<String>,
) -> Result<StatusCode, ApiError> {
    let access = org(&state, &auth, &slug).await?;
    faultline_domain::organizations::delete(&state.store, &access).await?;
    state.ingest.keys.invalidate();
    Ok(StatusCode::NO_CONTENT)
}

/// Routes outside an organization still honour a token's scopes.
pub(crate) fn require_token_scope(auth: &Auth, scope: Scope) -> Result<(), ApiError> {
    if auth.principal.token_allows(scope) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("You do not have permission to perform this action ({scope} required)."),
        ))
    }
}
