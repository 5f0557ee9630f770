//! `GET /api/0/` (who am I) and `GET /api/settings/` (what this server allows).

use crate::api::Json;
use axum::extract::State;
use serde_json::{json, Value};

use super::views::UserOut;
use super::MaybeAuth;
use crate::{ApiError, AppState};

/// Who the caller is, and a token's scopes (what `sentry-cli info` shows).
#[utoipa::path(get, path = "/api/0/", tag = "root", responses((status = 200, description = "The caller", body = Object)))]
pub(crate) async fn api_root(MaybeAuth(auth): MaybeAuth) -> Result<Json<Value>, ApiError> {
    let Some(auth) = auth else {
        return Ok(Json(json!({"version": "0", "user": null, "auth": null})));
    };
    let user = UserOut::from(&auth.principal.user);
    let scopes = match auth.principal.token_scopes {
        Some(scopes) => scopes.names(),
        None => faultline_domain::access::Scopes::all().names(),
    };
    Ok(Json(json!({"version": "0", "user": user, "auth": {"scopes": scopes}})))
}

/// Server settings the UI and clients read before logging in.
#[utoipa::path(get, path = "/api/settings/", tag = "root", responses((status = 200, description = "Settings", body = Object)))]
pub(crate) async fn settings(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let first_user = state.store.user_count().await? == 0;
    let features = &state.config.features;
    Ok(Json(json!({
        "socialApps": [],
        "billingEnabled": false,
        "iPaidForGlitchTip": true,
        "enableUserRegistration": features.user_registration || first_user,
        "enableSocialAppsUserRegistration": features.user_registration || first_user,
        "enableOrganizationCreation": features.organization_creation,
        "enableUptime": features.uptime,
        "stripePublicKey": null,
        "plausibleURL": null,
        "plausibleDomain": null,
        "chatwootWebsiteToken": null,
        "sentryDSN": null,
        "sentryTracesSampleRate": null,
        "environment": null,
        "version": env!("CARGO_PKG_VERSION"),
        "serverTimeZone": "UTC",
        "glitchtipInstanceName": null,
    })))
}
