//! Sign-in pages: log in, register, log out, reset password, confirm email, accept an
//! invitation.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use faultline_domain::{accounts, members, DomainError};
use faultline_store::{hash_secret, MemberId, User};
use serde::Deserialize;

use super::{check_csrf, local_next, page, Chrome, MaybeViewer, Viewer};
use crate::api::accounts::{check_origin, cleared_cookies, send_confirmation, session_cookies, SESSION_DAYS};
use crate::api::auth::{cookie, SESSION_COOKIE};
use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/register", get(register_page).post(register))
        .route("/logout", post(logout))
        .route("/reset-password", get(reset_page).post(reset_request))
        .route("/reset-password/set-new-password/{key}", get(set_password_page).post(set_password))
        .route("/profile/confirm-email/{key}", get(confirm_email))
        .route("/accept/{member_id}/{token}", get(accept_page).post(accept))
}

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    chrome: Chrome,
    next: String,
    email: String,
    error: Option<String>,
    notice: Option<String>,
    registration_open: bool,
}

#[derive(Template)]
#[template(path = "auth/register.html")]
struct RegisterPage {
    chrome: Chrome,
    next: String,
    email: String,
    error: Option<String>,
    registration_open: bool,
}

#[derive(Template)]
#[template(path = "auth/reset_request.html")]
struct ResetRequestPage {
    chrome: Chrome,
    sent: bool,
}

#[derive(Template)]
#[template(path = "auth/reset_set.html")]
struct ResetSetPage {
    chrome: Chrome,
    key: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "auth/message.html")]
struct MessagePage {
    chrome: Chrome,
    heading: String,
    message: String,
    is_error: bool,
    link: String,
    link_text: String,
}

#[derive(Template)]
#[template(path = "auth/accept.html")]
struct AcceptPage {
    chrome: Chrome,
    org_name: String,
    member_id: String,
    token: String,
    here: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn registration_open(state: &AppState) -> Result<bool, ApiError> {
    Ok(state.config.features.user_registration || state.store.user_count().await? == 0)
}

/// Sets the session cookies and redirects to `next`.
async fn logged_in(
    state: &AppState,
    user: &User,
    peer: SocketAddr,
    headers: &HeaderMap,
    next: &str,
) -> Result<Response, ApiError> {
    let ua = headers.get(http::header::USER_AGENT).and_then(|v| v.to_str().ok());
    let (token, csrf) =
        accounts::start_session(&state.store, user, Some(&peer.ip().to_string()), ua, SESSION_DAYS).await?;
    if let Some(old) = cookie(headers, SESSION_COOKIE) {
        state.store.delete_session(&hash_secret(old)).await?;
    }
    let mut response = Redirect::to(next).into_response();
    for c in session_cookies(state, &token, &csrf) {
        response.headers_mut().append(http::header::SET_COOKIE, c);
    }
    Ok(response)
}

async fn login_page(
    State(state): State<AppState>,
    MaybeViewer(viewer): MaybeViewer,
    Query(q): Query<NextQuery>,
) -> Result<Response, ApiError> {
    let next = local_next(&state, q.next.as_deref());
    if viewer.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    let open = registration_open(&state).await?;
    Ok(page(
        StatusCode::OK,
        &LoginPage {
            chrome: Chrome::anonymous(&state),
            next,
            email: String::new(),
            error: None,
            notice: None,
            registration_open: open,
        },
    ))
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, ApiError> {
    check_origin(&state, &headers)?;
    let next = local_next(&state, form.next.as_deref());
    let ip = peer.ip().to_string();
    let error = if !state.login_limiter.allowed(&ip, &form.email) {
        "Too many failed login attempts. Try again later.".to_string()
    } else {
        match accounts::authenticate(&state.store, &form.email, &form.password).await {
            Ok(user) => {
                state.login_limiter.succeeded(&ip, &form.email);
                return logged_in(&state, &user, peer, &headers, &next).await;
            }
            Err(DomainError::Invalid(msg)) => {
                state.login_limiter.failed(&ip, &form.email);
                msg
            }
            Err(e) => return Err(e.into()),
        }
    };
    let open = registration_open(&state).await?;
    Ok(page(
        StatusCode::BAD_REQUEST,
        &LoginPage {
            chrome: Chrome::anonymous(&state),
            next,
            email: form.email,
            error: Some(error),
            notice: None,
            registration_open: open,
        },
    ))
}

async fn register_page(State(state): State<AppState>, Query(q): Query<NextQuery>) -> Result<Response, ApiError> {
    let next = local_next(&state, q.next.as_deref());
    let open = registration_open(&state).await?;
    Ok(page(
        StatusCode::OK,
        &RegisterPage {
            chrome: Chrome::anonymous(&state),
            next,
            email: String::new(),
            error: None,
            registration_open: open,
        },
    ))
}

#[derive(Deserialize)]
struct RegisterForm {
    email: String,
    password: String,
    password2: String,
    next: Option<String>,
}

async fn register(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<RegisterForm>,
) -> Result<Response, ApiError> {
    check_origin(&state, &headers)?;
    let next = local_next(&state, form.next.as_deref());
    let error = if form.password != form.password2 {
        "The two passwords do not match.".to_string()
    } else {
        match accounts::register(&state.store, state.config.features.user_registration, &form.email, &form.password, "")
            .await
        {
            Ok(user) => {
                send_confirmation(&state, &user).await?;
                return logged_in(&state, &user, peer, &headers, &next).await;
            }
            Err(DomainError::Invalid(msg) | DomainError::Conflict(msg) | DomainError::Forbidden(msg)) => msg,
            Err(e) => return Err(e.into()),
        }
    };
    let open = registration_open(&state).await?;
    Ok(page(
        StatusCode::BAD_REQUEST,
        &RegisterPage {
            chrome: Chrome::anonymous(&state),
            next,
            email: form.email,
            error: Some(error),
            registration_open: open,
        },
    ))
}

#[derive(Deserialize)]
struct LogoutForm {
    #[serde(default)]
    csrfmiddlewaretoken: String,
}

async fn logout(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<LogoutForm>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    state.store.delete_session(&viewer.session.id).await?;
    let mut response = Redirect::to(&format!("{}/login", state.config.http.base_path)).into_response();
    for c in cleared_cookies(&state) {
        response.headers_mut().append(http::header::SET_COOKIE, c);
    }
    Ok(response)
}

async fn reset_page(State(state): State<AppState>) -> Response {
    page(StatusCode::OK, &ResetRequestPage { chrome: Chrome::anonymous(&state), sent: false })
}

#[derive(Deserialize)]
struct EmailForm {
    email: String,
}

async fn reset_request(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<EmailForm>,
) -> Result<Response, ApiError> {
    check_origin(&state, &headers)?;
    crate::api::accounts::request_password_reset(&state, &form.email).await?;
    Ok(page(StatusCode::OK, &ResetRequestPage { chrome: Chrome::anonymous(&state), sent: true }))
}

async fn set_password_page(State(state): State<AppState>, Path(key): Path<String>) -> Response {
    page(StatusCode::OK, &ResetSetPage { chrome: Chrome::anonymous(&state), key, error: None })
}

#[derive(Deserialize)]
struct PasswordForm {
    password: String,
    password2: String,
}

async fn set_password(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(key): Path<String>,
    Form(form): Form<PasswordForm>,
) -> Result<Response, ApiError> {
    check_origin(&state, &headers)?;
    let error = if form.password != form.password2 {
        "The two passwords do not match.".to_string()
    } else {
        match accounts::reset_password(&state.store, &key, &form.password).await {
            Ok(user) => {
                let next = format!("{}/", state.config.http.base_path);
                return logged_in(&state, &user, peer, &headers, &next).await;
            }
            Err(DomainError::Invalid(msg)) => msg,
            Err(e) => return Err(e.into()),
        }
    };
    Ok(page(StatusCode::BAD_REQUEST, &ResetSetPage { chrome: Chrome::anonymous(&state), key, error: Some(error) }))
}

async fn message_chrome(state: &AppState, viewer: &Option<Viewer>) -> Result<Chrome, ApiError> {
    match viewer {
        Some(v) => Chrome::for_viewer(state, v, None).await,
        None => Ok(Chrome::anonymous(state)),
    }
}

async fn confirm_email(
    State(state): State<AppState>,
    MaybeViewer(viewer): MaybeViewer,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    let chrome = message_chrome(&state, &viewer).await?;
    let (status, message, is_error) = match accounts::verify_email(&state.store, &key).await {
        Ok(user) => (StatusCode::OK, format!("Thank you: {} is confirmed.", user.email), false),
        Err(DomainError::Invalid(msg)) => (StatusCode::BAD_REQUEST, msg, true),
        Err(e) => return Err(e.into()),
    };
    Ok(page(
        status,
        &MessagePage {
            chrome,
            heading: "Confirm email".into(),
            message,
            is_error,
            link: String::new(),
            link_text: "Continue".into(),
        },
    ))
}

async fn accept_page(
    State(state): State<AppState>,
    MaybeViewer(viewer): MaybeViewer,
    Path((member_id, token)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = MemberId(member_id.parse().map_err(|_| ApiError::not_found())?);
    let invitation = state.store.invitation(id, &hash_secret(&token)).await?;
    let chrome = message_chrome(&state, &viewer).await?;
    let Some(invitation) = invitation else {
        return Ok(page(
            StatusCode::NOT_FOUND,
            &MessagePage {
                chrome,
                heading: "Organization invite".into(),
                message: "This invitation is invalid or was already used.".into(),
                is_error: true,
                link: String::new(),
                link_text: "Home".into(),
            },
        ));
    };
    let org = state.store.organization_by_id(invitation.organization_id).await?;
    let here = format!("{}/accept/{member_id}/{token}", state.config.http.base_path);
    Ok(page(StatusCode::OK, &AcceptPage { chrome, org_name: org.name, member_id, token, here, error: None }))
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrfmiddlewaretoken: String,
}

async fn accept(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((member_id, token)): Path<(String, String)>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, ApiError> {
    check_csrf(&viewer, &form.csrfmiddlewaretoken)?;
    let id = MemberId(member_id.parse().map_err(|_| ApiError::not_found())?);
    let invitation = state.store.invitation(id, &hash_secret(&token)).await?.ok_or_else(ApiError::not_found)?;
    let org = state.store.organization_by_id(invitation.organization_id).await?;
    match members::accept(&state.store, id, &token, &viewer.user).await {
        Ok(()) | Err(DomainError::Conflict(_)) => {
            Ok(Redirect::to(&format!("{}/{}/issues", state.config.http.base_path, org.slug)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
