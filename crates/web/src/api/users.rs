//! The caller's own user.

use crate::api::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::views::UserOut;
use super::Auth;
use crate::{ApiError, AppState};

/// `me`, or the caller's own id (superusers may read anyone).
async fn target(state: &AppState, auth: &Auth, id: &str) -> Result<faultline_store::User, ApiError> {
    let me = &auth.principal.user;
    if id == "me" || id == me.id.to_string() {
        return Ok(me.clone());
    }
    if !me.is_superuser {
        return Err(ApiError::not_found());
    }
    let id = id.parse().map_err(|_| ApiError::not_found())?;
    Ok(state.store.user(faultline_store::UserId(id)).await?)
}

/// A user (`me` for the caller).
#[utoipa::path(get, path = "/api/0/users/{user_id}/", tag = "users", params(("user_id" = String, Path)),
    responses((status = 200, body = UserOut), (status = 404)))]
pub(crate) async fn get_user(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<UserOut>, ApiError> {
    Ok(Json(UserOut::from(&target(&state, &auth, &id).await?)))
}

/// Body of a profile update.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserUpdate {
    name: Option<String>,
    subscribe_by_default: Option<bool>,
    /// UI preferences (e.g. `{"preferredTheme": "dark"}`), merged into the current ones.
    #[schema(value_type = Object)]
    options: Option<Value>,
}

/// Changes the caller's name, alert default and UI preferences.
#[utoipa::path(put, path = "/api/0/users/{user_id}/", tag = "users", params(("user_id" = String, Path)),
    request_body = UserUpdate, responses((status = 200, body = UserOut), (status = 404)))]
pub(crate) async fn update_user(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<UserUpdate>,
) -> Result<Json<UserOut>, ApiError> {
    let user = target(&state, &auth, &id).await?;
    if user.id != auth.principal.user.id {
        return Err(ApiError::not_found());
    }
    let mut options: serde_json::Map<String, Value> = serde_json::from_str(&user.options).unwrap_or_default();
    if let Some(Value::Object(more)) = body.options {
        options.extend(more);
    }
    let name: String = body.name.unwrap_or(user.name.clone()).trim().chars().take(150).collect();
    let updated = state
        .store
        .update_user_profile(
            user.id,
            &name,
            body.subscribe_by_default.unwrap_or(user.subscribe_by_default),
            &Value::Object(options).to_string(),
        )
        .await?;
    Ok(Json(UserOut::from(&updated)))
}
