//! The ingest handlers. Each reads and bounds its body, turns it into an envelope,
//! authenticates, and hands it to [`accept`].

use std::net::{IpAddr, SocketAddr};

use axum::body::Body as HttpBody;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use faultline_protocol::envelope::item_header;
use faultline_protocol::{
    decode_store_body, parse_security_report, probe_event, DecodeError, Envelope, EnvelopeWriter, ItemType,
};
use faultline_store::{compress_payload, NewQueued, QueueMeta, Timestamp};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::auth::{authenticate, Authenticated, Credentials};
use super::body::{self, Reservation};
use super::spool::Spooled;
use super::IngestError;
use crate::AppState;

/// Largest check-in payload.
const MAX_CHECK_IN_SIZE: usize = 100 * 1024;
/// Queue payloads larger than this are stored zstd-compressed.
const COMPRESS_ABOVE: usize = 2048;

type Peer = ConnectInfo<SocketAddr>;

fn finish(state: &AppState, result: Result<Response, IngestError>) -> Response {
    state.ingest.counters.count(result.is_ok());
    match result {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

fn frozen(state: &AppState) -> Result<(), IngestError> {
    if state.config.ingest.maintenance_freeze {
        return Err(IngestError::Unavailable {
            retry_after: 300,
            detail: "Events are not currently being accepted due to maintenance.".into(),
        });
    }
    Ok(())
}

fn project_id(raw: &str) -> Result<i64, IngestError> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| IngestError::NotFound(format!("{raw:?} is not a project id")))
}

fn id_body(id: Option<Uuid>) -> Response {
    match id {
        Some(id) => Json(json!({ "id": id.simple().to_string() })).into_response(),
        None => Json(json!({})).into_response(),
    }
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// What [`accept`] needs besides the state.
struct Accept {
    auth: Authenticated,
    /// The envelope, plain or (when `encoding` is set) compressed as it arrived.
    envelope: Vec<u8>,
    encoding: Option<&'static str>,
    /// The plain envelope, when `envelope` is compressed.
    plain: Option<Vec<u8>>,
    event_id: Option<Uuid>,
    /// Whether `event_id` was assigned here (the payload does not carry it).
    assigned_id: bool,
    /// Whether the payload carries that event (so a repeat of the id is a duplicate);
    /// envelopes of attachments or feedback only reference it.
    carries_event: bool,
    events: u64,
    client_ip: IpAddr,
    user_agent: Option<String>,
    reservation: Reservation,
}

/// Applies limits and duplicate detection, then makes the envelope durable.
/// Returns the event id to answer with.
async fn accept(state: &AppState, a: Accept) -> Result<Option<Uuid>, IngestError> {
    let ingest = &state.ingest;
    let project = a.auth.auth.project_id;
    if let Some(id) = a.event_id.filter(|_| a.carries_event) {
        if ingest.limits.is_duplicate(project, id) {
            tracing::debug!(event_id = %id.simple(), "duplicate event id dropped");
            return Ok(Some(id));
        }
    }
    ingest.limits.check(&state.store, &a.auth.auth, a.events).await?;
    let (payload, encoding, plain) = match a.encoding {
        Some(encoding) => (a.envelope, Some(encoding), a.plain),
        None if a.envelope.len() > COMPRESS_ABOVE => (compress_payload(&a.envelope), Some("zstd"), Some(a.envelope)),
        None => (a.envelope, None, None),
    };
    let mut meta = QueueMeta {
        client_ip: Some(a.client_ip.to_string()),
        key_id: a.auth.auth.key_id.0,
        sdk_client: a.auth.client,
        user_agent: a.user_agent,
        event_id: a.event_id.filter(|_| a.assigned_id).map(|id| id.simple().to_string()),
        encoding: encoding.map(String::from),
    };
    let stored_meta = serde_json::to_string(&meta).unwrap_or_default();
    // The in-process digest gets the envelope plain, so it need not decode it again.
    let plain = plain.filter(|_| ingest.spool.hands_off()).map(|p| {
        meta.encoding = None;
        (p, serde_json::to_string(&meta).unwrap_or_default())
    });
    ingest
        .spool
        .append(Spooled {
            row: NewQueued { project_id: project, received_at: Timestamp::now(), meta: stored_meta, payload },
            plain,
        })
        .await?;
    // The request's bytes were held until durable; from here the handoff bounds them.
    drop(a.reservation);
    ingest.limits.note_enqueued();
    if let Some(id) = a.event_id.filter(|_| a.carries_event) {
        ingest.limits.remember(project, id);
    }
    Ok(a.event_id)
}

/// Queues an envelope that carries no event (feedback, check-ins).
pub(crate) async fn accept_raw(
    state: &AppState,
    auth: Authenticated,
    envelope: Vec<u8>,
    peer: SocketAddr,
    headers: &HeaderMap,
    reservation: Reservation,
) -> Result<(), IngestError> {
    accept(
        state,
        Accept {
            encoding: None,
            plain: None,
            auth,
            envelope,
            event_id: None,
            assigned_id: false,
            carries_event: false,
            events: 0,
            client_ip: state.ingest.proxies.client_ip(peer, headers),
            user_agent: header_str(headers, "user-agent").map(String::from),
            reservation,
        },
    )
    .await
    .map(|_| ())
}

/// Checks an envelope's items: sizes, well-formed event JSON, at most one event.
/// Returns the event id (from the header or the event) and the number of items that
/// count against event limits.
fn validate_items(state: &AppState, envelope: &Envelope<'_>) -> Result<(Option<Uuid>, u64), IngestError> {
    let max_event = state.config.ingest.max_event_size;
    let mut event_id = envelope.event_id();
    let mut events = 0;
    let mut primary = 0;
    for (index, item) in envelope.items.iter().enumerate() {
        if item.ty.is_event_like() {
            if item.payload.len() > max_event {
                return Err(IngestError::TooLarge(format!(
                    "item {index} ({}) is larger than {max_event} bytes",
                    item.ty
                )));
            }
            let probe = probe_event(item.payload)
                .map_err(|e| IngestError::BadRequest(format!("item {index} ({}): {e}", item.ty)))?;
            if matches!(item.ty, ItemType::Event | ItemType::Transaction) {
                primary += 1;
                event_id = event_id.or(probe.event_id);
            }
            events += 1;
        } else if item.ty == ItemType::CheckIn && item.payload.len() > MAX_CHECK_IN_SIZE {
            return Err(IngestError::TooLarge(format!(
                "item {index} (check_in) is larger than {MAX_CHECK_IN_SIZE} bytes"
            )));
        }
    }
    if primary > 1 {
        return Err(IngestError::BadRequest("an envelope may carry only one event or transaction".into()));
    }
    Ok((event_id, events))
}

/// `POST /api/<project>/envelope/`
pub(crate) async fn envelope(
    State(state): State<AppState>,
    Path(pid): Path<String>,
    ConnectInfo(peer): Peer,
    uri: Uri,
    headers: HeaderMap,
    body: HttpBody,
) -> Response {
    let result = async {
        frozen(&state)?;
        let pid = project_id(&pid)?;
        let body = body::read(&state, &headers, body).await?;
        envelope_bytes(&state, Some(pid), peer, &uri, &headers, body).await
    }
    .await;
    finish(&state, result)
}

async fn envelope_bytes(
    state: &AppState,
    pid: Option<i64>,
    peer: SocketAddr,
    uri: &Uri,
    headers: &HeaderMap,
    body: body::Body,
) -> Result<Response, IngestError> {
    let envelope = Envelope::parse(&body.bytes).map_err(|e| IngestError::BadRequest(e.to_string()))?;
    let creds =
        Credentials { headers: Some(headers), query: uri.query(), envelope_dsn: envelope.dsn(), ..Default::default() };
    let auth = authenticate(&state.store, &state.ingest.keys, &creds, pid).await?;
    let (event_id, events) = validate_items(state, &envelope)?;
    let has_primary = envelope.items.iter().any(|i| matches!(i.ty, ItemType::Event | ItemType::Transaction));
    let (event_id, assigned_id) = match event_id {
        Some(id) => (Some(id), false),
        None if has_primary => (Some(Uuid::new_v4()), true),
        None => (None, false),
    };
    drop(envelope);
    let (envelope, encoding, plain) = match body.compressed {
        Some((raw, encoding)) => (raw, Some(encoding), Some(body.bytes)),
        None => (body.bytes, None, None),
    };
    let id = accept(
        state,
        Accept {
            auth,
            envelope,
            encoding,
            plain,
            event_id,
            assigned_id,
            carries_event: has_primary,
            events,
            client_ip: state.ingest.proxies.client_ip(peer, headers),
            user_agent: header_str(headers, "user-agent").map(String::from),
            reservation: body.reservation,
        },
    )
    .await?;
    Ok(id_body(id))
}

/// `POST /api/<project>/store/`
pub(crate) async fn store(
    State(state): State<AppState>,
    Path(pid): Path<String>,
    ConnectInfo(peer): Peer,
    uri: Uri,
    headers: HeaderMap,
    body: HttpBody,
) -> Response {
    let result = async {
        frozen(&state)?;
        let pid = project_id(&pid)?;
        let body = body::read(&state, &headers, body).await?;
        store_bytes(&state, Some(pid), peer, &uri, &headers, body).await
    }
    .await;
    finish(&state, result)
}

/// `POST /api/store/`: the project comes from the key.
pub(crate) async fn store_without_project(
    State(state): State<AppState>,
    ConnectInfo(peer): Peer,
    uri: Uri,
    headers: HeaderMap,
    body: HttpBody,
) -> Response {
    let result = async {
        frozen(&state)?;
        let body = body::read(&state, &headers, body).await?;
        store_bytes(&state, None, peer, &uri, &headers, body).await
    }
    .await;
    finish(&state, result)
}

async fn store_bytes(
    state: &AppState,
    pid: Option<i64>,
    peer: SocketAddr,
    uri: &Uri,
    headers: &HeaderMap,
    body: body::Body,
) -> Result<Response, IngestError> {
    let content_type = header_str(headers, "content-type").unwrap_or_default();
    if content_type.starts_with("application/x-sentry-envelope") {
        return envelope_bytes(state, pid, peer, uri, headers, body).await;
    }
    let creds = Credentials { headers: Some(headers), query: uri.query(), ..Default::default() };
    let auth = authenticate(&state.store, &state.ingest.keys, &creds, pid).await?;
    let event = decode_store_body(&body.bytes, state.config.ingest.max_event_size).map_err(|e| match e {
        DecodeError::TooLarge { limit } => IngestError::TooLarge(format!("the event is larger than {limit} bytes")),
        other => IngestError::BadRequest(other.to_string()),
    })?;
    let probe = probe_event(&event).map_err(|e| IngestError::BadRequest(e.to_string()))?;
    let ty = if probe.ty.as_deref() == Some("transaction") { "transaction" } else { "event" };
    let (event_id, assigned_id) = match probe.event_id {
        Some(id) => (id, false),
        None => (Uuid::new_v4(), true),
    };
    let mut writer = EnvelopeWriter::new(&json!({ "event_id": event_id.simple().to_string() }));
    writer.item(item_header(ty), &event);
    let envelope = writer.finish();
    let id = accept(
        state,
        Accept {
            encoding: None,
            plain: None,
            auth,
            envelope,
            event_id: Some(event_id),
            assigned_id,
            carries_event: true,
            events: 1,
            client_ip: state.ingest.proxies.client_ip(peer, headers),
            user_agent: header_str(headers, "user-agent").map(String::from),
            reservation: body.reservation,
        },
    )
    .await?;
    Ok(id_body(id))
}

/// The 1×1 transparent GIF answered to `GET /store/`.
const PIXEL: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";

/// `GET /api/<project>/store/?sentry_data=…&sentry_key=…`: an event in the query
/// string (image beacons); answered with a pixel.
pub(crate) async fn store_get(
    State(state): State<AppState>,
    Path(pid): Path<String>,
    ConnectInfo(peer): Peer,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let result = async {
        frozen(&state)?;
        let pid = project_id(&pid)?;
        let data = uri
            .query()
            .and_then(|q| {
                form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "sentry_data").map(|(_, v)| v.into_owned())
            })
            .ok_or_else(|| IngestError::BadRequest("missing sentry_data in the query string".into()))?;
        let body = body::Body { bytes: data.into_bytes(), reservation: Reservation::default(), compressed: None };
        let mut plain = headers.clone();
        plain.remove("content-type");
        store_bytes(&state, Some(pid), peer, &uri, &plain, body).await?;
        Ok(([(http::header::CONTENT_TYPE, "image/gif")], PIXEL).into_response())
    }
    .await;
    finish(&state, result)
}

/// `POST /api/<project>/security/` and `/csp-report/`: browser CSP reports.
pub(crate) async fn security(
    State(state): State<AppState>,
    Path(pid): Path<String>,
    ConnectInfo(peer): Peer,
    uri: Uri,
    headers: HeaderMap,
    body: HttpBody,
) -> Response {
    let result = async {
        frozen(&state)?;
        let pid = project_id(&pid)?;
        let body = body::read(&state, &headers, body).await?;
        let creds = Credentials { headers: Some(&headers), query: uri.query(), ..Default::default() };
        let auth = authenticate(&state.store, &state.ingest.keys, &creds, Some(pid)).await?;
        if body.bytes.len() > state.config.ingest.max_event_size {
            return Err(IngestError::TooLarge("the report is too large".into()));
        }
        let user_agent = header_str(&headers, "user-agent");
        let reports =
            parse_security_report(&body.bytes, user_agent).map_err(|e| IngestError::BadRequest(e.to_string()))?;
        let first_id = Uuid::new_v4();
        let mut writer = EnvelopeWriter::new(&json!({}));
        for (n, mut report) in reports.into_iter().enumerate() {
            let id = if n == 0 { first_id } else { Uuid::new_v4() };
            report["event_id"] = Value::from(id.simple().to_string());
            writer.item(item_header("security"), &serde_json::to_vec(&report).unwrap_or_default());
        }
        let envelope = writer.finish();
        let events = Envelope::parse(&envelope).map(|e| e.items.len() as u64).unwrap_or(1);
        accept(
            &state,
            Accept {
                encoding: None,
                plain: None,
                auth,
                envelope,
                event_id: Some(first_id),
                assigned_id: false,
                carries_event: true,
                events,
                client_ip: state.ingest.proxies.client_ip(peer, &headers),
                user_agent: user_agent.map(String::from),
                reservation: body.reservation,
            },
        )
        .await?;
        Ok(StatusCode::CREATED.into_response())
    }
    .await;
    finish(&state, result)
}

/// One part of a multipart body.
pub(crate) struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: Bytes,
}

pub(crate) async fn multipart(headers: &HeaderMap, bytes: Vec<u8>) -> Result<Vec<Part>, IngestError> {
    let content_type = header_str(headers, "content-type").unwrap_or_default();
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| IngestError::BadRequest("expected a multipart/form-data body with a boundary".into()))?;
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::convert::Infallible>(Bytes::from(bytes)) });
    let mut form = multer::Multipart::new(stream, boundary);
    let mut parts = Vec::new();
    while let Some(field) =
        form.next_field().await.map_err(|e| IngestError::BadRequest(format!("invalid multipart body: {e}")))?
    {
        let name = field.name().unwrap_or_default().to_string();
        let filename = field.file_name().map(String::from);
        let content_type = field.content_type().map(|m| m.to_string());
        let data = field.bytes().await.map_err(|e| IngestError::BadRequest(format!("invalid multipart body: {e}")))?;
        parts.push(Part { name, filename, content_type, data });
    }
    Ok(parts)
}

/// Puts `value` at the path of a bracketed form name: `sentry[tags][a]` → tags.a.
fn insert_bracketed(root: &mut Map<String, Value>, path: &str, value: Value) {
    let keys: Vec<&str> = path.split('[').map(|k| k.trim_end_matches(']')).filter(|k| !k.is_empty()).collect();
    let Some((last, parents)) = keys.split_last() else { return };
    let mut node = root;
    for key in parents {
        let entry = node.entry(key.to_string()).or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else { return };
        node = next;
    }
    node.insert(last.to_string(), value);
}

fn attachment_header(part: &Part, attachment_type: &str) -> Map<String, Value> {
    let mut header = item_header("attachment");
    header.insert("filename".into(), Value::from(part.filename.clone().unwrap_or_else(|| part.name.clone())));
    header.insert(
        "content_type".into(),
        Value::from(part.content_type.clone().unwrap_or_else(|| "application/octet-stream".into())),
    );
    header.insert("attachment_type".into(), Value::from(attachment_type));
    header
}

/// `POST /api/<project>/minidump/`: a native crash. The dump is kept as an attachment
/// and an event is created for it; the answer is the event id as plain text.
pub(crate) async fn minidump(
    State(state): State<AppState>,
    Path(pid): Path<String>,
    ConnectInfo(peer): Peer,
    uri: Uri,
    headers: HeaderMap,
    body: HttpBody,
) -> Response {
    let result = async {
        frozen(&state)?;
        let pid = project_id(&pid)?;
        let body::Body { bytes, reservation, .. } = body::read(&state, &headers, body).await?;
        let creds = Credentials { headers: Some(&headers), query: uri.query(), ..Default::default() };
        let auth = authenticate(&state.store, &state.ingest.keys, &creds, Some(pid)).await?;
        let parts = multipart(&headers, bytes).await?;
        let dump = parts
            .iter()
            .find(|p| p.name == "upload_file_minidump")
            .ok_or_else(|| IngestError::BadRequest("missing the upload_file_minidump field".into()))?;
        if !dump.data.starts_with(b"MDMP") {
            return Err(IngestError::BadRequest("upload_file_minidump is not a minidump (no MDMP signature)".into()));
        }
        let event_id = Uuid::new_v4();
        let mut event = Map::new();
        for part in parts.iter().filter(|p| p.filename.is_none()) {
            let text = String::from_utf8_lossy(&part.data).into_owned();
            if part.name == "sentry" {
                if let Ok(Value::Object(given)) = serde_json::from_str::<Value>(&text) {
                    event.extend(given);
                }
            } else if let Some(path) = part.name.strip_prefix("sentry[") {
                insert_bracketed(&mut event, &format!("[{path}"), Value::from(text));
            }
        }
        event.insert("event_id".into(), Value::from(event_id.simple().to_string()));
        event.entry("platform").or_insert_with(|| Value::from("native"));
        event.entry("level").or_insert_with(|| Value::from("fatal"));
        event.entry("exception").or_insert_with(|| {
            json!({"values": [{
                "type": "Minidump",
                "value": "Native crash (the minidump is attached; symbolication is not available yet)",
                "mechanism": {"type": "minidump", "handled": false}
            }]})
        });
        let mut writer = EnvelopeWriter::new(&json!({ "event_id": event_id.simple().to_string() }));
        writer.item(item_header("event"), &serde_json::to_vec(&event).unwrap_or_default());
        for part in parts.iter().filter(|p| p.filename.is_some() || p.name == "upload_file_minidump") {
            let kind = if part.name == "upload_file_minidump" { "event.minidump" } else { "event.attachment" };
            writer.item(attachment_header(part, kind), &part.data);
        }
        accept(
            &state,
            Accept {
                encoding: None,
                plain: None,
                auth,
                envelope: writer.finish(),
                event_id: Some(event_id),
                assigned_id: false,
                carries_event: true,
                events: 1,
                client_ip: state.ingest.proxies.client_ip(peer, &headers),
                user_agent: header_str(&headers, "user-agent").map(String::from),
                reservation,
            },
        )
        .await?;
        Ok(([(http::header::CONTENT_TYPE, "text/plain")], event_id.hyphenated().to_string()).into_response())
    }
    .await;
    finish(&state, result)
}

/// `POST /api/<project>/events/<event_id>/attachments/`: files for an event.
pub(crate) async fn attachments(
    State(state): State<AppState>,
    Path((pid, event_id)): Path<(String, String)>,
    ConnectInfo(peer): Peer,
    uri: Uri,
    headers: HeaderMap,
    body: HttpBody,
) -> Response {
    let result = async {
        frozen(&state)?;
        let pid = project_id(&pid)?;
        let event_id = Uuid::try_parse(&event_id)
            .map_err(|_| IngestError::BadRequest(format!("{event_id:?} is not an event id")))?;
        let body::Body { bytes, reservation, .. } = body::read(&state, &headers, body).await?;
        let creds = Credentials { headers: Some(&headers), query: uri.query(), ..Default::default() };
        let auth = authenticate(&state.store, &state.ingest.keys, &creds, Some(pid)).await?;
        let parts = multipart(&headers, bytes).await?;
        let mut writer = EnvelopeWriter::new(&json!({ "event_id": event_id.simple().to_string() }));
        let mut files = 0;
        for part in parts.iter().filter(|p| p.filename.is_some()) {
            let kind = if part.name == "upload_file_minidump" { "event.minidump" } else { "event.attachment" };
            writer.item(attachment_header(part, kind), &part.data);
            files += 1;
        }
        if files == 0 {
            return Err(IngestError::BadRequest("the form holds no files".into()));
        }
        accept(
            &state,
            Accept {
                encoding: None,
                plain: None,
                auth,
                envelope: writer.finish(),
                event_id: None,
                assigned_id: false,
                carries_event: false,
                events: 0,
                client_ip: state.ingest.proxies.client_ip(peer, &headers),
                user_agent: header_str(&headers, "user-agent").map(String::from),
                reservation,
            },
        )
        .await?;
        Ok(StatusCode::CREATED.into_response())
    }
    .await;
    finish(&state, result)
}

/// `GET|POST /api/<project>/cron/<monitor_slug>/<key>/`: an HTTP cron check-in.
pub(crate) async fn cron(
    State(state): State<AppState>,
    Path((pid, slug, key)): Path<(String, String, String)>,
    ConnectInfo(peer): Peer,
    uri: Uri,
    headers: HeaderMap,
    body: HttpBody,
) -> Response {
    let result = check_in(&state, &pid, &slug, Some(&key), peer, &uri, &headers, body).await;
    finish(&state, result)
}

/// `GET|POST /api/<project>/cron/<monitor_slug>/`: the key in a header or the query.
pub(crate) async fn cron_keyless(
    State(state): State<AppState>,
    Path((pid, slug)): Path<(String, String)>,
    ConnectInfo(peer): Peer,
    uri: Uri,
    headers: HeaderMap,
    body: HttpBody,
) -> Response {
    let result = check_in(&state, &pid, &slug, None, peer, &uri, &headers, body).await;
    finish(&state, result)
}

#[allow(clippy::too_many_arguments)]
async fn check_in(
    state: &AppState,
    pid: &str,
    slug: &str,
    key: Option<&str>,
    peer: SocketAddr,
    uri: &Uri,
    headers: &HeaderMap,
    body: HttpBody,
) -> Result<Response, IngestError> {
    frozen(state)?;
    let pid = project_id(pid)?;
    let body = body::read(state, headers, body).await?;
    if body.bytes.len() > MAX_CHECK_IN_SIZE {
        return Err(IngestError::TooLarge(format!("the check-in is larger than {MAX_CHECK_IN_SIZE} bytes")));
    }
    let creds = Credentials { headers: Some(headers), query: uri.query(), path_key: key, ..Default::default() };
    let auth = authenticate(&state.store, &state.ingest.keys, &creds, Some(pid)).await?;

    // Fields from a JSON body, overridden by the query string.
    let mut fields = match body.bytes.trim_ascii() {
        [] => Map::new(),
        text => match serde_json::from_slice::<Value>(text) {
            Ok(Value::Object(map)) => map,
            _ => return Err(IngestError::BadRequest("the check-in body must be a JSON object".into())),
        },
    };
    for (name, value) in form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        match name.as_ref() {
            "status" | "check_in_id" | "environment" => {
                fields.insert(name.into_owned(), Value::from(value.into_owned()));
            }
            "duration" => {
                let d: f64 = value.parse().map_err(|_| IngestError::BadRequest("duration must be a number".into()))?;
                fields.insert("duration".into(), Value::from(d));
            }
            _ => {}
        }
    }
    let status = fields.get("status").and_then(Value::as_str).unwrap_or("ok").to_string();
    if !matches!(status.as_str(), "ok" | "error" | "in_progress") {
        return Err(IngestError::BadRequest(format!(
            "unknown check-in status {status:?}: use ok, error or in_progress"
        )));
    }
    // `latest` (or the nil id) finishes the latest run in progress; no id at all is
    // a run of its own.
    let check_in_id = match fields.get("check_in_id").and_then(Value::as_str) {
        Some("latest") => Uuid::nil(),
        Some(id) => Uuid::try_parse(id).map_err(|_| IngestError::BadRequest(format!("{id:?} is not a check-in id")))?,
        None => Uuid::new_v4(),
    };
    fields.insert("check_in_id".into(), Value::from(check_in_id.simple().to_string()));
    fields.insert("monitor_slug".into(), Value::from(slug));
    fields.insert("status".into(), Value::from(status));

    let mut writer = EnvelopeWriter::new(&json!({}));
    writer.item(item_header("check_in"), &serde_json::to_vec(&fields).unwrap_or_default());
    accept(
        state,
        Accept {
            encoding: None,
            plain: None,
            auth,
            envelope: writer.finish(),
            event_id: None,
            assigned_id: false,
            carries_event: false,
            events: 0,
            client_ip: state.ingest.proxies.client_ip(peer, headers),
            user_agent: header_str(headers, "user-agent").map(String::from),
            reservation: body.reservation,
        },
    )
    .await?;
    // Sentry answers 202 with no body.
    Ok(StatusCode::ACCEPTED.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bracketed_names_nest() {
        let mut root = Map::new();
        insert_bracketed(&mut root, "[tags][build]", Value::from("42"));
        insert_bracketed(&mut root, "[release]", Value::from("1.0"));
        assert_eq!(Value::Object(root), json!({"tags": {"build": "42"}, "release": "1.0"}));
    }
}
