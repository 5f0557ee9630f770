//! The user-feedback widget: `GET /api/embed/error-page/` serves the dialog script
//! that `Sentry.showReportDialog()` loads; the dialog posts its form back to the same
//! URL, which queues a user report for the event.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use faultline_domain::accounts::validate_email;
use faultline_protocol::envelope::item_header;
use faultline_protocol::{Dsn, EnvelopeWriter};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::auth::{authenticate, Credentials};
use super::body;
use super::IngestError;
use crate::AppState;

const SCRIPT: &str = include_str!("../../assets/error-page.js");

fn query_map(uri: &Uri) -> Map<String, Value> {
    form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), Value::from(v.into_owned())))
        .collect()
}

/// The DSN's key and the event id from the query string.
async fn authorize(
    state: &AppState,
    query: &Map<String, Value>,
) -> Result<(super::auth::Authenticated, Uuid), IngestError> {
    let dsn = query
        .get("dsn")
        .and_then(Value::as_str)
        .ok_or_else(|| IngestError::BadRequest("missing dsn in the query string".into()))?;
    let parsed: Dsn = dsn.parse().map_err(|e| IngestError::BadRequest(format!("{e}")))?;
    let event_id = query
        .get("eventId")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::try_parse(s).ok())
        .ok_or_else(|| IngestError::BadRequest("missing or invalid eventId in the query string".into()))?;
    let project = i64::try_from(parsed.project_id).ok();
    let creds = Credentials { envelope_dsn: Some(dsn), ..Default::default() };
    let auth = authenticate(&state.store, &state.ingest.keys, &creds, project).await?;
    Ok((auth, event_id))
}

/// `GET /api/embed/error-page/?dsn=…&eventId=…`: the dialog script.
pub(crate) async fn script(State(state): State<AppState>, uri: Uri) -> Response {
    let result = async {
        let query = query_map(&uri);
        authorize(&state, &query).await?;
        let text = |key: &str, default: &str| {
            query.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).unwrap_or(default).to_string()
        };
        let endpoint = format!("{}{}/api/embed/error-page/?{}", state.config.http.public_url, state.config.http.base_path, uri.query().unwrap_or_default());
        let options = json!({
            "endpoint": endpoint,
            "title": text("title", "It looks like we're having issues."),
            "subtitle": text("subtitle", "Our team has been notified."),
            "subtitle2": text("subtitle2", "If you'd like to help, tell us what happened below."),
            "labelName": text("labelName", "Name"),
            "labelEmail": text("labelEmail", "Email"),
            "labelComments": text("labelComments", "What happened?"),
            "labelClose": text("labelClose", "Close"),
            "labelSubmit": text("labelSubmit", "Submit Crash Report"),
            "errorGeneric": text("errorGeneric", "An unknown error occurred while submitting your report. Please try again."),
            "errorFormEntry": text("errorFormEntry", "Some fields were invalid. Please correct the errors and try again."),
            "successMessage": text("successMessage", "Your feedback has been sent. Thank you!"),
            "name": text("name", ""),
            "email": text("email", ""),
        });
        // JSON is valid JS; escaping '<' keeps "</script>" from ending an inline script.
        let options = options.to_string().replace('<', "\\u003c");
        let script = SCRIPT.replacen("/*OPTIONS*/ {}", &options, 1);
        Ok::<_, IngestError>(([(http::header::CONTENT_TYPE, "application/javascript; charset=utf-8")], script).into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `POST /api/embed/error-page/?dsn=…&eventId=…` with `name`, `email`, `comments`.
pub(crate) async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let result = async {
        let query = query_map(&uri);
        let (auth, event_id) = authorize(&state, &query).await?;
        let body::Body { bytes, reservation, .. } = body::read(&state, &headers, body).await?;
        let form: std::collections::HashMap<String, String> = form_urlencoded::parse(&bytes).into_owned().collect();
        let field = |k: &str| form.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
        let (name, email, comments) = (field("name"), field("email"), field("comments"));
        let mut errors = Map::new();
        if name.is_empty() {
            errors.insert("name".into(), json!(["This field is required."]));
        }
        if validate_email(&email).is_err() {
            errors.insert("email".into(), json!(["Enter a valid email address."]));
        }
        if comments.is_empty() {
            errors.insert("comments".into(), json!(["This field is required."]));
        }
        if !errors.is_empty() {
            return Ok::<_, IngestError>(
                (http::StatusCode::BAD_REQUEST, Json(json!({ "errors": errors }))).into_response(),
            );
        }
        let report = json!({
            "event_id": event_id.simple().to_string(),
            "name": name.chars().take(128).collect::<String>(),
            "email": email.chars().take(75).collect::<String>(),
            "comments": comments.chars().take(4096).collect::<String>(),
        });
        let mut writer = EnvelopeWriter::new(&json!({ "event_id": event_id.simple().to_string() }));
        writer.item(item_header("user_report"), &serde_json::to_vec(&report).unwrap_or_default());
        super::endpoints::accept_raw(&state, auth, writer.finish(), peer, &headers, reservation).await?;
        Ok(Json(json!({})).into_response())
    }
    .await;
    state.ingest.counters.count(result.is_ok());
    result.unwrap_or_else(IntoResponse::into_response)
}
