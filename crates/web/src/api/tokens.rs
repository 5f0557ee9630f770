//! The caller's API tokens.

use crate::api::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use faultline_domain::access::Scopes;
use faultline_store::ApiTokenId;
use serde::Deserialize;
use utoipa::ToSchema;

use super::views::TokenOut;
use super::Auth;
use crate::{ApiError, AppState};

/// The caller's tokens (secrets are never shown again).
#[utoipa::path(get, path = "/api/0/api-tokens/", tag = "tokens", responses((status = 200, body = Vec<TokenOut>)))]
pub(crate) async fn list_tokens(State(state): State<AppState>, auth: Auth) -> Result<Json<Vec<TokenOut>>, ApiError> {
    let tokens = state.store.api_tokens_of(auth.principal.user.id).await?;
    Ok(Json(tokens.iter().map(|t| TokenOut::from(t, None)).collect()))
}

/// Body of a token creation.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct NewToken {
    label: Option<String>,
    scopes: Vec<String>,
}

/// Creates a token for the caller; the response holds its secret, once. A token can
/// only be created through a session or by a token that holds every scope requested.
#[utoipa::path(post, path = "/api/0/api-tokens/", tag = "tokens", request_body = NewToken,
    responses((status = 201, body = TokenOut), (status = 400), (status = 403)))]
pub(crate) async fn create_token(
    State(state): State<AppState>,
    auth: Auth,
    Json(body): Json<NewToken>,
) -> Result<(StatusCode, Json<TokenOut>), ApiError> {
    let scopes = Scopes::parse_list(&body.scopes.join(","))?;
    if let Some(held) = auth.principal.token_scopes {
        if scopes.intersect(held) != scopes {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "A token cannot create a token with more scopes than it has.",
            ));
        }
    }
    let (token, secret) = faultline_domain::tokens::create(
        &state.store,
        &auth.principal.user,
        body.label.as_deref().unwrap_or_default(),
        scopes,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(TokenOut::from(&token, Some(secret)))))
}

/// Deletes one of the caller's tokens.
#[utoipa::path(delete, path = "/api/0/api-tokens/{token_id}/", tag = "tokens",
    params(("token_id" = String, Path)), responses((status = 204), (status = 404)))]
pub(crate) async fn delete_token(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: ApiTokenId = id.parse().map_err(|_| ApiError::not_found())?;
    state.store.delete_api_token(auth.principal.user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
