//! Who is calling: an API token (`Authorization: Bearer …`) or a session cookie.
//!
//! Session-authenticated writes must carry the session's CSRF token in
//! `X-CSRFToken` (JavaScript reads it from the `csrftoken` cookie, Django-style) or
//! come from a form that echoes it; token-authenticated requests need none, as
//! browsers never send tokens on their own.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use faultline_domain::access::{Principal, Scopes};
use faultline_store::{hash_secret, Session};

use crate::{ApiError, AppState};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "faultline_session";
/// The cookie JavaScript reads the CSRF token from.
pub const CSRF_COOKIE: &str = "csrftoken";

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Auth {
    /// The user and, with a token, its scopes.
    pub principal: Principal,
    /// The session, when authenticated by cookie.
    pub session: Option<Session>,
}

/// The caller, if authenticated.
#[derive(Debug, Clone)]
pub struct MaybeAuth(pub Option<Auth>);

/// A cookie's value from the request headers.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token")).then(|| token.trim())
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Resolves the caller from the request, or `None` when it carries no credentials.
/// Invalid credentials are an error (a wrong token must not silently become
/// anonymous).
pub(crate) async fn resolve(state: &AppState, parts: &Parts) -> Result<Option<Auth>, ApiError> {
    if let Some(token) = bearer(&parts.headers) {
        let found = state.store.api_token_by_hash(&hash_secret(token)).await?;
        let Some((token, user)) = found else {
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, "Invalid token."));
        };
        let principal = Principal { user, token_scopes: Some(Scopes::from_token_bits(token.scopes)) };
        return Ok(Some(Auth { principal, session: None }));
    }
    let Some(cookie_token) = cookie(&parts.headers, SESSION_COOKIE) else { return Ok(None) };
    let Some((session, user)) = state.store.session(&hash_secret(cookie_token)).await? else {
        // An expired or unknown session is simply anonymous.
        return Ok(None);
    };
    if !is_safe(&parts.method) {
        let sent = parts.headers.get("x-csrftoken").and_then(|v| v.to_str().ok());
        if sent != Some(session.csrf_token.as_str()) {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "CSRF Failed: CSRF token missing or incorrect."));
        }
    }
    Ok(Some(Auth { principal: Principal { user, token_scopes: None }, session: Some(session) }))
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(auth) = parts.extensions.get::<Auth>() {
            return Ok(auth.clone());
        }
        match resolve(state, parts).await? {
            Some(auth) => {
                parts.extensions.insert(auth.clone());
                Ok(auth)
            }
            None => Err(ApiError::new(StatusCode::UNAUTHORIZED, "Authentication credentials were not provided.")),
        }
    }
}

impl FromRequestParts<AppState> for MaybeAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(auth) = parts.extensions.get::<Auth>() {
            return Ok(MaybeAuth(Some(auth.clone())));
        }
        Ok(MaybeAuth(resolve(state, parts).await?))
    }
}
