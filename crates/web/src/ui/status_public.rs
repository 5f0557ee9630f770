//! The public face of status pages, at GlitchTip's path `/status-pages/{org}/{slug}/`:
//! the page itself (overall status, monitor groups with 90-day bars and uptime,
//! incidents with their updates, maintenance), a JSON feed (`{slug}.json`), an RSS 2.0
//! feed of incidents, updates and maintenance (`{slug}/rss`), and SVG badges for a page
//! and for one monitor (`/api/0/organizations/{org}/monitors/{id}/badge.svg`).
//!
//! A public page is served to anyone; a private one only to members of its
//! organization (session cookie or API token). Anonymous visitors of a private or
//! unknown page are sent to the login page, anyone else gets a 404, so nothing tells
//! a private page from a missing one. A monitor's badge is public only while the
//! monitor is on a public page.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use faultline_domain::access::{org_access, Scope};
use faultline_domain::status_pages::{self as rules, DayBar, Overall, HISTORY_DAYS};
use faultline_store::{
    MaintenanceWindow, Organization, PageMonitor, StatusIncident, StatusIncidentUpdate, StatusPage, Timestamp,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{page, Chrome};
use crate::api::MaybeAuth;
use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/status-pages/{org}/{page}", get(page_or_json))
        .route("/status-pages/{org}/{page}/", get(html_page))
        .route("/status-pages/{org}/{page}/rss", get(rss_feed))
        .route("/status-pages/{org}/{page}/badge.svg", get(page_badge))
        .route("/api/0/organizations/{organization_slug}/monitors/{monitor_id}/badge.svg", get(monitor_badge))
}

/// How many incidents a page and its feeds look at.
const INCIDENT_LIMIT: i64 = 50;
/// Resolved incidents stay on the page this long.
const RECENT_DAYS: i64 = 14;

/// A page the caller may see, with its organization.
struct Visible {
    org: Organization,
    page: StatusPage,
}

/// Why a page is not shown.
enum Hidden {
    /// Anonymous: a login might help.
    Anonymous,
    /// Logged in, or nothing to log in for.
    NotFound,
}

async fn visible(
    state: &AppState,
    auth: &MaybeAuth,
    org: &str,
    slug: &str,
) -> Result<Result<Visible, Hidden>, ApiError> {
    let hidden = if auth.0.is_some() { Hidden::NotFound } else { Hidden::Anonymous };
    let Some(organization) = state.store.organization_by_slug(org).await? else { return Ok(Err(hidden)) };
    let page = match state.store.status_page(organization.id, slug).await {
        Ok(page) => page,
        Err(faultline_store::StoreError::NotFound) => return Ok(Err(hidden)),
        Err(e) => return Err(e.into()),
    };
    if !page.is_public {
        let Some(auth) = &auth.0 else { return Ok(Err(hidden)) };
        match org_access(&state.store, &auth.principal, org).await {
            Ok(access) if access.scopes.contains(Scope::OrgRead) => {}
            Ok(_) | Err(faultline_domain::DomainError::NotFound) => return Ok(Err(Hidden::NotFound)),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Ok(Visible { org: organization, page }))
}

/// Everything a page, its feeds and its badge show, computed at one instant.
pub(crate) struct Snapshot {
    pub overall: Overall,
    pub components: Vec<Component>,
    pub incidents: Vec<(StatusIncident, Vec<StatusIncidentUpdate>)>,
    pub windows: Vec<MaintenanceWindow>,
    pub now: Timestamp,
}

pub(crate) struct Component {
    pub monitor: PageMonitor,
    pub status: &'static str,
    pub bars: Vec<DayBar>,
    pub uptime: Option<f64>,
}

pub(crate) async fn snapshot(state: &AppState, org: &Organization, page: &StatusPage) -> Result<Snapshot, ApiError> {
    let now = Timestamp::now();
    let monitors = state.store.status_page_monitors(page.id).await?;
    let ids: Vec<i64> = monitors.iter().map(|m| m.id).collect();
    let start = rules::history_start(now, HISTORY_DAYS);
    let mut rollups = state.store.status_rollups(&ids, 86_400, start).await?;
    rollups.extend(state.store.status_rollups(&ids, 3_600, start + (HISTORY_DAYS as i64 - 1) * 86_400).await?);
    let windows = state.store.page_maintenance_windows(org.id, page.id, now).await?;
    let in_maintenance = windows.iter().any(|w| rules::window_active(w, now));
    let mut incidents = Vec::new();
    for incident in state.store.status_incidents(page.id, INCIDENT_LIMIT).await? {
        let updates = state.store.status_incident_updates(incident.id).await?;
        incidents.push((incident, updates));
    }
    let open: Vec<&str> =
        incidents.iter().filter(|(i, _)| i.resolved_at.is_none()).map(|(i, _)| i.impact.as_str()).collect();
    let overall = rules::overall_status(&monitors, &open, in_maintenance);
    let components = monitors
        .into_iter()
        .map(|monitor| {
            let bars = rules::day_bars(monitor.id, &rollups, now, HISTORY_DAYS);
            let uptime = rules::bars_uptime(&bars);
            let status = rules::component_status(&monitor, in_maintenance);
            Component { monitor, status, bars, uptime }
        })
        .collect();
    Ok(Snapshot { overall, components, incidents, windows, now })
}

fn page_url(state: &AppState, org: &str, slug: &str) -> String {
    let http = &state.config.http;
    format!("{}{}/status-pages/{org}/{slug}/", http.public_url, http.base_path)
}

fn when(t: Timestamp) -> String {
    t.to_datetime().format("%Y-%m-%d %H:%M UTC").to_string()
}

// ---- the page ----

struct BarView {
    class: &'static str,
    tip: String,
}

struct ComponentView {
    name: String,
    status: &'static str,
    label: &'static str,
    since: Option<String>,
    uptime: String,
    bars: Vec<BarView>,
}

struct GroupView {
    name: String,
    components: Vec<ComponentView>,
}

struct UpdateView {
    status: String,
    message: String,
    when: String,
}

struct IncidentView {
    id: i64,
    title: String,
    status: String,
    impact: String,
    started: String,
    resolved: Option<String>,
    updates: Vec<UpdateView>,
}

struct WindowView {
    title: String,
    starts: String,
    ends: String,
}

#[derive(Template)]
#[template(path = "status/public.html")]
struct PublicPage {
    chrome: Chrome,
    name: String,
    description: String,
    org: String,
    slug: String,
    is_public: bool,
    overall: &'static str,
    overall_label: &'static str,
    groups: Vec<GroupView>,
    active: Vec<IncidentView>,
    recent: Vec<IncidentView>,
    maintenance_now: Vec<WindowView>,
    maintenance_next: Vec<WindowView>,
    updated: String,
    history_days: usize,
}

fn incident_view(incident: &StatusIncident, updates: &[StatusIncidentUpdate]) -> IncidentView {
    IncidentView {
        id: incident.id,
        title: incident.title.clone(),
        status: incident.status.clone(),
        impact: incident.impact.clone(),
        started: when(incident.created_at),
        resolved: incident.resolved_at.map(when),
        updates: updates
            .iter()
            .map(|u| UpdateView { status: u.status.clone(), message: u.message.clone(), when: when(u.created_at) })
            .collect(),
    }
}

fn window_view(w: &MaintenanceWindow) -> WindowView {
    WindowView { title: w.title.clone(), starts: when(w.starts_at), ends: when(w.ends_at) }
}

async fn html_page(
    State(state): State<AppState>,
    auth: MaybeAuth,
    Path((org, slug)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let Visible { org, page: status_page } = match visible(&state, &auth, &org, &slug).await? {
        Ok(v) => v,
        Err(Hidden::Anonymous) => {
            let here = format!("{}/status-pages/{org}/{slug}/", state.config.http.base_path);
            let next: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
            return Ok(Redirect::to(&format!("{}/login?next={next}", state.config.http.base_path)).into_response());
        }
        Err(Hidden::NotFound) => return Err(not_found()),
    };
    let snap = snapshot(&state, &org, &status_page).await?;
    let mut groups: Vec<GroupView> = Vec::new();
    for c in &snap.components {
        let view = ComponentView {
            name: c.monitor.name.clone(),
            status: c.status,
            label: rules::component_label(c.status),
            since: c.monitor.health_since.filter(|_| c.status != "unknown").map(when),
            uptime: rules::format_percent(c.uptime),
            bars: c
                .bars
                .iter()
                .map(|b| BarView {
                    class: b.class,
                    tip: match b.percent {
                        Some(_) => format!("{}: {} uptime", b.date, rules::format_percent(b.percent)),
                        None => format!("{}: no data", b.date),
                    },
                })
                .collect(),
        };
        match groups.last_mut() {
            Some(g) if g.name == c.monitor.group_name => g.components.push(view),
            _ => groups.push(GroupView { name: c.monitor.group_name.clone(), components: vec![view] }),
        }
    }
    let recent_since = snap.now.plus_secs(-RECENT_DAYS * 86_400);
    let active = snap.incidents.iter().filter(|(i, _)| i.resolved_at.is_none()).map(|(i, u)| incident_view(i, u));
    let recent = snap
        .incidents
        .iter()
        .filter(|(i, _)| i.resolved_at.is_some_and(|r| r >= recent_since))
        .map(|(i, u)| incident_view(i, u));
    let view = PublicPage {
        chrome: Chrome::anonymous(&state),
        name: status_page.name.clone(),
        description: status_page.description.clone(),
        org: org.slug.clone(),
        slug: status_page.slug.clone(),
        is_public: status_page.is_public,
        overall: snap.overall.as_str(),
        overall_label: snap.overall.label(),
        groups,
        active: active.collect(),
        recent: recent.collect(),
        maintenance_now: snap.windows.iter().filter(|w| rules::window_active(w, snap.now)).map(window_view).collect(),
        maintenance_next: snap.windows.iter().filter(|w| w.starts_at > snap.now).map(window_view).collect(),
        updated: when(snap.now),
        history_days: HISTORY_DAYS,
    };
    let mut response = page(StatusCode::OK, &view);
    // Always fresh in the browser: whoever just posted an update sees it.
    let fresh = if status_page.is_public { "no-cache" } else { "private, no-cache" };
    response.headers_mut().insert(http::header::CACHE_CONTROL, HeaderValue::from_static(fresh));
    Ok(response)
}

fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "There is no status page at this address.")
}

fn cache(response: &mut Response, public: bool, seconds: u32) {
    let value = format!("{}, max-age={seconds}", if public { "public" } else { "private" });
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(http::header::CACHE_CONTROL, value);
    }
}

/// Public feeds and badges may be read by scripts on other sites (no credentials).
fn shareable(response: &mut Response, public: bool) {
    if public {
        response.headers_mut().insert(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    }
}

// ---- JSON feed ----

/// `{slug}.json` is the JSON feed; a bare `{slug}` goes to the page.
async fn page_or_json(
    State(state): State<AppState>,
    auth: MaybeAuth,
    Path((org, page)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let Some(slug) = page.strip_suffix(".json") else {
        return Ok(
            Redirect::permanent(&format!("{}/status-pages/{org}/{page}/", state.config.http.base_path)).into_response()
        );
    };
    let Ok(Visible { org, page }) = visible(&state, &auth, &org, slug).await? else {
        return Err(ApiError::not_found());
    };
    let snap = snapshot(&state, &org, &page).await?;
    let mut response = axum::Json(feed_json(&state, &org, &page, &snap)).into_response();
    cache(&mut response, page.is_public, 30);
    shareable(&mut response, page.is_public);
    Ok(response)
}

/// The JSON feed: the page, its overall status, its components, incidents and
/// maintenance.
pub(crate) fn feed_json(state: &AppState, org: &Organization, page: &StatusPage, snap: &Snapshot) -> Value {
    json!({
        "page": {
            "name": page.name,
            "slug": page.slug,
            "description": page.description,
            "url": page_url(state, &org.slug, &page.slug),
            "updatedAt": snap.now,
        },
        "status": {"indicator": snap.overall.as_str(), "description": snap.overall.label()},
        "components": snap.components.iter().map(|c| json!({
            "id": c.monitor.id,
            "name": c.monitor.name,
            "group": (!c.monitor.group_name.is_empty()).then_some(&c.monitor.group_name),
            "status": c.status,
            "since": c.monitor.health_since,
            "uptime90d": c.uptime.map(|u| (u * 1000.0).floor() / 1000.0),
            "history": c.bars.iter().map(|b| json!({
                "date": b.date,
                "up": b.up,
                "down": b.down,
                "uptime": b.percent.map(|p| (p * 1000.0).floor() / 1000.0),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "incidents": snap.incidents.iter().map(|(i, updates)| json!({
            "id": i.id,
            "title": i.title,
            "status": i.status,
            "impact": i.impact,
            "createdAt": i.created_at,
            "resolvedAt": i.resolved_at,
            "updates": updates.iter().map(|u| json!({
                "status": u.status,
                "message": u.message,
                "createdAt": u.created_at,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "maintenance": snap.windows.iter().map(|w| json!({
            "id": w.id,
            "title": w.title,
            "startsAt": w.starts_at,
            "endsAt": w.ends_at,
            "active": rules::window_active(w, snap.now),
        })).collect::<Vec<_>>(),
    })
}

// ---- RSS ----

/// Escapes text for XML element content and attribute values, dropping the control
/// characters XML 1.0 cannot carry.
pub(crate) fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

fn rfc2822(t: Timestamp) -> String {
    t.to_datetime().to_rfc2822()
}

async fn rss_feed(
    State(state): State<AppState>,
    auth: MaybeAuth,
    Path((org, slug)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let Ok(Visible { org, page }) = visible(&state, &auth, &org, &slug).await? else {
        return Err(ApiError::not_found());
    };
    let snap = snapshot(&state, &org, &page).await?;
    let link = page_url(&state, &org.slug, &page.slug);
    // Items: every update of every incident, and every scheduled window, newest first.
    let mut items: Vec<(Timestamp, String)> = Vec::new();
    for (incident, updates) in &snap.incidents {
        for u in updates {
            let title = format!("{}: {}", incident.title, capitalized(&u.status));
            let description =
                if u.message.is_empty() { format!("Impact: {}.", incident.impact) } else { u.message.clone() };
            items.push((
                u.created_at,
                item(
                    &title,
                    &description,
                    &format!("{link}#incident-{}", incident.id),
                    &format!("incident-{}-update-{}", incident.id, u.id),
                    u.created_at,
                ),
            ));
        }
    }
    for w in &snap.windows {
        let title = format!("Scheduled maintenance: {}", w.title);
        let description = format!("From {} to {}.", when(w.starts_at), when(w.ends_at));
        items.push((w.created_at, item(&title, &description, &link, &format!("maintenance-{}", w.id), w.created_at)));
    }
    items.sort_by_key(|item| std::cmp::Reverse(item.0));
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\">\n<channel>\n",
    );
    xml.push_str(&format!(
        "<atom:link href=\"{}\" rel=\"self\" type=\"application/rss+xml\"/>\n",
        xml_escape(&format!("{link}rss"))
    ));
    xml.push_str(&format!("<title>{}</title>\n", xml_escape(&format!("{} status", page.name))));
    xml.push_str(&format!("<link>{}</link>\n", xml_escape(&link)));
    let description = if page.description.is_empty() {
        format!("Incidents and maintenance of {}", page.name)
    } else {
        page.description.clone()
    };
    xml.push_str(&format!("<description>{}</description>\n", xml_escape(&description)));
    xml.push_str(&format!("<lastBuildDate>{}</lastBuildDate>\n", rfc2822(snap.now)));
    for (_, item) in items {
        xml.push_str(&item);
    }
    xml.push_str("</channel>\n</rss>\n");
    let mut response = xml.into_response();
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/rss+xml; charset=utf-8"));
    cache(&mut response, page.is_public, 60);
    shareable(&mut response, page.is_public);
    Ok(response)
}

fn item(title: &str, description: &str, link: &str, guid: &str, at: Timestamp) -> String {
    format!(
        "<item>\n<title>{}</title>\n<link>{}</link>\n<description>{}</description>\n<guid isPermaLink=\"false\">{}</guid>\n<pubDate>{}</pubDate>\n</item>\n",
        xml_escape(title),
        xml_escape(link),
        xml_escape(description),
        xml_escape(guid),
        rfc2822(at)
    )
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

// ---- badges ----

/// A flat two-part badge, like shields.io's.
pub(crate) fn badge_svg(label: &str, value: &str, colour: &str) -> String {
    // Verdana 11px averages about 7 px a character; pad 10 px on each part.
    let width = |s: &str| s.chars().count() as u32 * 7 + 10;
    let (lw, vw) = (width(label), width(value));
    let total = lw + vw;
    let (label, value) = (xml_escape(label), xml_escape(value));
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{total}\" height=\"20\" role=\"img\" aria-label=\"{label}: {value}\">\
<title>{label}: {value}</title>\
<linearGradient id=\"s\" x2=\"0\" y2=\"100%\"><stop offset=\"0\" stop-color=\"#bbb\" stop-opacity=\".1\"/><stop offset=\"1\" stop-opacity=\".1\"/></linearGradient>\
<clipPath id=\"r\"><rect width=\"{total}\" height=\"20\" rx=\"3\" fill=\"#fff\"/></clipPath>\
<g clip-path=\"url(#r)\"><rect width=\"{lw}\" height=\"20\" fill=\"#555\"/><rect x=\"{lw}\" width=\"{vw}\" height=\"20\" fill=\"{colour}\"/><rect width=\"{total}\" height=\"20\" fill=\"url(#s)\"/></g>\
<g fill=\"#fff\" text-anchor=\"middle\" font-family=\"Verdana,Geneva,DejaVu Sans,sans-serif\" font-size=\"11\">\
<text x=\"{lx}\" y=\"14\">{label}</text><text x=\"{vx}\" y=\"14\">{value}</text></g></svg>",
        lx = lw / 2,
        vx = lw + vw / 2,
    )
}

fn svg_response(svg: String, public: bool) -> Response {
    let mut response = svg.into_response();
    let headers = response.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml; charset=utf-8"));
    headers.insert("content-security-policy", HeaderValue::from_static("default-src 'none'"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    cache(&mut response, public, 60);
    shareable(&mut response, public);
    response
}

async fn page_badge(
    State(state): State<AppState>,
    auth: MaybeAuth,
    Path((org, slug)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let Ok(Visible { org, page }) = visible(&state, &auth, &org, &slug).await? else {
        return Err(ApiError::not_found());
    };
    let snap = snapshot(&state, &org, &page).await?;
    let value = snap.overall.label().to_lowercase();
    let value = if snap.overall == Overall::Operational { "operational".to_string() } else { value };
    Ok(svg_response(badge_svg("status", &value, snap.overall.colour()), page.is_public))
}

/// `?type=status|uptime&period=24h|7d|30d`.
#[derive(Debug, Deserialize)]
struct BadgeQuery {
    #[serde(rename = "type")]
    kind: Option<String>,
    period: Option<String>,
}

async fn monitor_badge(
    State(state): State<AppState>,
    auth: MaybeAuth,
    Path((org, id)): Path<(String, String)>,
    Query(q): Query<BadgeQuery>,
) -> Result<Response, ApiError> {
    let Some(organization) = state.store.organization_by_slug(&org).await? else { return Err(ApiError::not_found()) };
    let id: i64 = id.parse().map_err(|_| ApiError::not_found())?;
    let (monitor, public) = match state.store.status_badge_monitor(organization.id, id).await {
        Ok(found) => found,
        Err(faultline_store::StoreError::NotFound) => return Err(ApiError::not_found()),
        Err(e) => return Err(e.into()),
    };
    if !public {
        let Some(auth) = &auth.0 else { return Err(ApiError::not_found()) };
        let access = org_access(&state.store, &auth.principal, &org).await?;
        access.require(Scope::OrgRead)?;
    }
    let now = Timestamp::now();
    let svg = match q.kind.as_deref().unwrap_or("status") {
        "status" => {
            let in_maintenance = state.store.monitor_in_maintenance(monitor.id, now).await?;
            let status = rules::component_status(&monitor, in_maintenance);
            let (value, colour) = match status {
                "operational" => ("up", Overall::Operational.colour()),
                "degraded" => ("pending", Overall::Degraded.colour()),
                "major_outage" => ("down", Overall::MajorOutage.colour()),
                "maintenance" => ("maintenance", Overall::Maintenance.colour()),
                "paused" => ("paused", "#9f9f9f"),
                _ => ("unknown", "#9f9f9f"),
            };
            badge_svg("status", value, colour)
        }
        "uptime" => {
            let period = q.period.as_deref().unwrap_or("24h");
            let seconds = match period {
                "24h" => 86_400,
                "7d" => 7 * 86_400,
                "30d" => 30 * 86_400,
                _ => return Err(ApiError::bad_request("period must be 24h, 7d or 30d.")),
            };
            let since = (now.micros() / 1_000_000 - seconds).div_euclid(3_600) * 3_600;
            let rollups = state.store.status_rollups(&[monitor.id], 3_600, since).await?;
            let (up, down) = rollups.iter().fold((0, 0), |(u, d), r| (u + r.up_count, d + r.down_count));
            let percent = rules::uptime_percent(up, down);
            let colour = match rules::bar_class(percent) {
                "bar-ok" => "#2da44e",
                "bar-minor" => "#7cb342",
                "bar-major" => "#bf8700",
                "bar-down" => "#cf222e",
                _ => "#9f9f9f",
            };
            badge_svg(&format!("uptime {period}"), &rules::format_percent(percent), colour)
        }
        _ => return Err(ApiError::bad_request("type must be status or uptime.")),
    };
    Ok(svg_response(svg, public))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_xml() {
        assert_eq!(xml_escape("a <b> & \"c\" 'd'\u{1}"), "a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos;");
        let svg = badge_svg("status", "<up>", "#fff");
        assert!(svg.contains("&lt;up&gt;") && !svg.contains("<up>"));
    }
}
