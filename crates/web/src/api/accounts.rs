//! Sign-in, sign-up, sign-out and password flows, at django-allauth's headless
//! browser paths (`/_allauth/browser/v1/…`) and in its response shapes, so GlitchTip's
//! front end and scripts written for it keep working. The web UI uses the same domain
//! functions.
//!
//! Sessions are server-side: the cookie holds a random token whose hash keys the
//! `sessions` table; a new token is issued at every login (rotation). Failed logins
//! are rate-limited per client address and email.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::api::Json;
use faultline_domain::{accounts, mail, DomainError};
use faultline_store::{hash_secret, User};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{cookie, Auth, MaybeAuth, CSRF_COOKIE, SESSION_COOKIE};
use crate::{ApiError, AppState};

/// Failed logins allowed per address and email within [`LOGIN_WINDOW`].
const LOGIN_ATTEMPTS: u32 = 10;
const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Session lifetime.
pub const SESSION_DAYS: i64 = 14;

/// Failed-login counters.
#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, (Instant, u32)>>,
}

impl LoginLimiter {
    fn key(ip: &str, email: &str) -> String {
        format!("{ip}|{}", email.trim().to_lowercase())
    }

    /// Whether this address may try `email` now.
    pub fn allowed(&self, ip: &str, email: &str) -> bool {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures
            .get(&Self::key(ip, email))
            .is_none_or(|(since, n)| since.elapsed() > LOGIN_WINDOW || *n < LOGIN_ATTEMPTS)
    }

    /// Counts a failure.
    pub fn failed(&self, ip: &str, email: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() > 100_000 {
            failures.retain(|_, (since, _)| since.elapsed() <= LOGIN_WINDOW);
        }
        let entry = failures.entry(Self::key(ip, email)).or_insert((Instant::now(), 0));
        if entry.0.elapsed() > LOGIN_WINDOW {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }

    /// Forgets failures after a success.
    pub fn succeeded(&self, ip: &str, email: &str) {
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).remove(&Self::key(ip, email));
    }
}

pub(crate) fn routes() -> Router<AppState> {
    let base = "/_allauth/browser/v1";
    Router::new()
        .route(&format!("{base}/config"), get(config))
        .route(&format!("{base}/auth/session"), get(session).delete(logout))
        .route(&format!("{base}/auth/login"), post(login))
        .route(&format!("{base}/auth/signup"), post(signup))
        .route(&format!("{base}/auth/password/request"), post(password_request))
        .route(&format!("{base}/auth/password/reset"), post(password_reset))
        .route(&format!("{base}/auth/email/verify"), post(email_verify))
        .route(&format!("{base}/account/password/change"), post(password_change))
}

fn allauth_error(status: StatusCode, message: &str, code: &str, param: Option<&str>) -> Response {
    let mut error = json!({ "message": message, "code": code });
    if let Some(param) = param {
        error["param"] = json!(param);
    }
    (status, Json(json!({ "status": status.as_u16(), "errors": [error] }))).into_response()
}

fn domain_error(e: DomainError, param: Option<&str>) -> Response {
    match e {
        DomainError::Invalid(msg) => allauth_error(StatusCode::BAD_REQUEST, &msg, "invalid", param),
        DomainError::Conflict(msg) => allauth_error(StatusCode::BAD_REQUEST, &msg, "email_taken", Some("email")),
        DomainError::Forbidden(msg) => allauth_error(StatusCode::FORBIDDEN, &msg, "signup_closed", None),
        other => ApiError::from(other).into_response(),
    }
}

fn authenticated(user: &User) -> Value {
    json!({
        "status": 200,
        "data": {
            "user": {
                "id": user.id.0, "display": if user.name.is_empty() { &user.email } else { &user.name },
                "email": user.email, "username": user.email, "has_usable_password": user.password_hash.is_some(),
            },
            "methods": [{"method": "password", "email": user.email}],
        },
        "meta": { "is_authenticated": true },
    })
}

fn anonymous() -> Response {
    let body = json!({
        "status": 401,
        "data": { "flows": [{"id": "login"}, {"id": "signup"}, {"id": "password_reset_by_code"}] },
        "meta": { "is_authenticated": false },
    });
    (StatusCode::UNAUTHORIZED, Json(body)).into_response()
}

/// `Set-Cookie` values for a session and its CSRF token.
pub fn session_cookies(state: &AppState, token: &str, csrf: &str) -> [HeaderValue; 2] {
    let secure = if state.config.http.public_url.starts_with("https://") { "; Secure" } else { "" };
    let path = if state.config.http.base_path.is_empty() { "/" } else { &state.config.http.base_path };
    let max_age = SESSION_DAYS * 86_400;
    [
        format!("{SESSION_COOKIE}={token}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"),
        format!("{CSRF_COOKIE}={csrf}; Path={path}; Max-Age={max_age}; SameSite=Lax{secure}"),
    ]
    .map(|c| HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static("")))
}

/// `Set-Cookie` values that end a session.
pub fn cleared_cookies(state: &AppState) -> [HeaderValue; 2] {
    let path = if state.config.http.base_path.is_empty() { "/" } else { &state.config.http.base_path };
    [SESSION_COOKIE, CSRF_COOKIE].map(|name| {
        HeaderValue::from_str(&format!("{name}=; Path={path}; Max-Age=0; SameSite=Lax"))
            .unwrap_or_else(|_| HeaderValue::from_static(""))
    })
}

/// Refuses cross-site form posts to cookie endpoints: a browser's `Origin`, when
/// sent, must be this server's or a trusted origin.
pub fn check_origin(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(origin) = headers.get(http::header::ORIGIN).and_then(|v| v.to_str().ok()) else { return Ok(()) };
    let own = state.config.http.public_url.trim_end_matches('/');
    let host = headers.get(http::header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let same_host = origin.split_once("://").is_some_and(|(_, h)| h == host);
    if origin == own || same_host || state.config.http.csrf_trusted_origins.iter().any(|o| o == origin) {
        Ok(())
    } else {
        Err(ApiError::new(StatusCode::FORBIDDEN, "CSRF Failed: Origin checking failed."))
    }
}

/// Starts a session for `user` and answers allauth's authenticated payload with the
/// cookies.
pub(crate) async fn begin_session(
    state: &AppState,
    user: &User,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let ua = headers.get(http::header::USER_AGENT).and_then(|v| v.to_str().ok());
    let ip = peer.ip().to_string();
    let (token, csrf) = accounts::start_session(&state.store, user, Some(&ip), ua, SESSION_DAYS).await?;
    // Rotation: a session cookie the client still had is ended.
    if let Some(old) = cookie(headers, SESSION_COOKIE) {
        state.store.delete_session(&hash_secret(old)).await?;
    }
    let mut response = Json(authenticated(user)).into_response();
    for c in session_cookies(state, &token, &csrf) {
        response.headers_mut().append(http::header::SET_COOKIE, c);
    }
    Ok(response)
}

async fn config(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let open = state.config.features.user_registration || state.store.user_count().await? == 0;
    Ok(Json(json!({
        "status": 200,
        "data": {
            "account": { "login_methods": ["email"], "is_open_for_signup": open, "email_verification_by_code_enabled": false },
            "socialaccount": { "providers": [] },
            "mfa": { "supported_types": [] },
        },
    })))
}

async fn session(MaybeAuth(auth): MaybeAuth) -> Response {
    match auth.filter(|a| a.session.is_some()) {
        Some(auth) => Json(authenticated(&auth.principal.user)).into_response(),
        None => anonymous(),
    }
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    check_origin(&state, &headers)?;
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        state.store.delete_session(&hash_secret(token)).await?;
    }
    let mut response = anonymous();
    for c in cleared_cookies(&state) {
        response.headers_mut().append(http::header::SET_COOKIE, c);
    }
    Ok(response)
}

#[derive(Deserialize)]
struct Credentials {
    email: String,
    password: String,
    #[serde(default)]
    name: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(body): Json<Credentials>,
) -> Result<Response, ApiError> {
    check_origin(&state, &headers)?;
    let ip = peer.ip().to_string();
    if !state.login_limiter.allowed(&ip, &body.email) {
        return Ok(allauth_error(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed login attempts. Try again later.",
            "too_many_login_attempts",
            None,
        ));
    }
    match accounts::authenticate(&state.store, &body.email, &body.password).await {
        Ok(user) => {
            state.login_limiter.succeeded(&ip, &body.email);
            begin_session(&state, &user, peer, &headers).await
        }
        Err(DomainError::Invalid(msg)) => {
            state.login_limiter.failed(&ip, &body.email);
            Ok(allauth_error(StatusCode::BAD_REQUEST, &msg, "email_password_mismatch", Some("password")))
        }
        Err(e) => Err(e.into()),
    }
}

async fn signup(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(body): Json<Credentials>,
) -> Result<Response, ApiError> {
    check_origin(&state, &headers)?;
    let user = match accounts::register(
        &state.store,
        state.config.features.user_registration,
        &body.email,
        &body.password,
        body.name.as_deref().unwrap_or_default(),
    )
    .await
    {
        Ok(user) => user,
        Err(e) => return Ok(domain_error(e, Some("password"))),
    };
    send_confirmation(&state, &user).await?;
    begin_session(&state, &user, peer, &headers).await
}

/// Queues the email-confirmation message for `user`.
pub(crate) async fn send_confirmation(state: &AppState, user: &User) -> Result<(), ApiError> {
    let token = accounts::email_token(&state.store, user, "verify", 72).await?;
    let link = format!("{}{}/profile/confirm-email/{token}", state.config.http.public_url, state.config.http.base_path);
    mail::send_later(&state.store, &mail::confirm_email(&user.email, &link)).await?;
    Ok(())
}

#[derive(Deserialize)]
struct EmailOnly {
    email: String,
}

async fn password_request(State(state): State<AppState>, Json(body): Json<EmailOnly>) -> Result<Response, ApiError> {
    request_password_reset(&state, &body.email).await?;
    // The answer is the same whether or not the address has an account.
    Ok(Json(json!({ "status": 200 })).into_response())
}

/// Emails a password reset link to `email` when it belongs to an active account.
pub(crate) async fn request_password_reset(state: &AppState, email: &str) -> Result<(), ApiError> {
    if let Some(user) = state.store.user_by_email(email).await?.filter(|u| u.is_active) {
        let token = accounts::email_token(&state.store, &user, "reset", 24).await?;
        let link = format!(
            "{}{}/reset-password/set-new-password/{token}",
            state.config.http.public_url, state.config.http.base_path
        );
        mail::send_later(&state.store, &mail::password_reset(&user.email, &link)).await?;
    }
    Ok(())
}

#[derive(Deserialize)]
struct ResetIn {
    key: String,
    password: String,
}

async fn password_reset(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(body): Json<ResetIn>,
) -> Result<Response, ApiError> {
    check_origin(&state, &headers)?;
    match accounts::reset_password(&state.store, &body.key, &body.password).await {
        Ok(user) => begin_session(&state, &user, peer, &headers).await,
        Err(e) => Ok(domain_error(e, Some("key"))),
    }
}

#[derive(Deserialize)]
struct KeyIn {
    key: String,
}

async fn email_verify(State(state): State<AppState>, Json(body): Json<KeyIn>) -> Result<Response, ApiError> {
    match accounts::verify_email(&state.store, &body.key).await {
        Ok(user) => Ok(Json(authenticated(&user)).into_response()),
        Err(e) => Ok(domain_error(e, Some("key"))),
    }
}

#[derive(Deserialize)]
struct ChangeIn {
    current_password: String,
    new_password: String,
}

async fn password_change(
    State(state): State<AppState>,
    auth: Auth,
    Json(body): Json<ChangeIn>,
) -> Result<Response, ApiError> {
    let keep = auth.session.as_ref().map(|s| s.id.clone());
    match accounts::change_password(
        &state.store,
        &auth.principal.user,
        &body.current_password,
        &body.new_password,
        keep.as_deref(),
    )
    .await
    {
        Ok(()) => Ok(Json(authenticated(&auth.principal.user)).into_response()),
        Err(e) => Ok(domain_error(e, Some("new_password"))),
    }
}
