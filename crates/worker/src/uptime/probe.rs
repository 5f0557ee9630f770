//! Runs one check of a monitor: an HTTP request, a TCP connect, or a TLS handshake
//! whose certificate expiry is read. No state here: the caller decides what the
//! result means.

use std::time::{Duration, Instant};

use faultline_monitoring::uptime::{Reason, StatusRanges};
use faultline_store::{Monitor, Timestamp};

/// The most of a body searched for the keyword (GlitchTip's limit).
const MAX_BODY: usize = 2 * 1024 * 1024;
/// The most of a body kept with a failed keyword check.
const MAX_KEPT: usize = 64 * 1024;

/// What a check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// Up.
    pub up: bool,
    /// Why not.
    pub reason: Option<Reason>,
    /// Time to the answer.
    pub response_ms: Option<i64>,
    /// Body excerpt of a failed keyword check, or the error text.
    pub data: Option<String>,
    /// The certificate's expiry, when the check spoke TLS.
    pub tls_expires_at: Option<Timestamp>,
}

impl Probe {
    fn down(reason: Reason, response_ms: Option<i64>, data: Option<String>) -> Probe {
        Probe { up: false, reason: Some(reason), response_ms, data, tls_expires_at: None }
    }
}

/// HTTP clients for each combination of the redirect and TLS-verification switches.
#[derive(Clone)]
pub struct Clients([reqwest::Client; 4]);

impl Clients {
    /// Builds the four clients.
    pub fn new() -> anyhow::Result<Clients> {
        let build = |follow: bool, verify: bool| {
            reqwest::Client::builder()
                .user_agent(concat!("Faultline-Uptime/", env!("CARGO_PKG_VERSION")))
                .redirect(if follow {
                    reqwest::redirect::Policy::limited(10)
                } else {
                    reqwest::redirect::Policy::none()
                })
                .danger_accept_invalid_certs(!verify)
                .tls_info(true)
                .pool_idle_timeout(Duration::from_secs(90))
                .build()
        };
        Ok(Clients([build(false, false)?, build(false, true)?, build(true, false)?, build(true, true)?]))
    }

    fn get(&self, follow: bool, verify: bool) -> &reqwest::Client {
        &self.0[usize::from(follow) * 2 + usize::from(verify)]
    }
}

/// Checks `m` once.
pub async fn probe(clients: &Clients, m: &Monitor) -> Probe {
    let timeout = Duration::from_secs(m.timeout_s.clamp(1, 60) as u64);
    match m.kind.as_str() {
        "tcp" => tcp(&m.url, timeout).await,
        "tls" => {
            // The handshake is what matters; any HTTP answer will do.
            let mut p = http(clients, m, timeout, false).await;
            if let (Some(expires), true) = (p.tls_expires_at, p.up) {
                if expires <= Timestamp::now() {
                    p = Probe {
                        tls_expires_at: Some(expires),
                        ..Probe::down(Reason::CertificateExpired, p.response_ms, None)
                    };
                }
            }
            p
        }
        _ => http(clients, m, timeout, true).await,
    }
}

async fn tcp(target: &str, timeout: Duration) -> Probe {
    let addr = target.trim_start_matches("tcp://").trim_end_matches('/');
    let started = Instant::now();
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => {
            Probe { up: true, reason: None, response_ms: Some(elapsed_ms(started)), data: None, tls_expires_at: None }
        }
        Ok(Err(e)) => Probe::down(Reason::Network, None, Some(e.to_string())),
        Err(_) => Probe::down(Reason::Timeout, None, None),
    }
}

async fn http(clients: &Clients, m: &Monitor, timeout: Duration, judge: bool) -> Probe {
    let method = reqwest::Method::from_bytes(m.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let client = clients.get(m.follow_redirects, m.verify_tls);
    let mut req = client.request(method, &m.url).timeout(timeout);
    let headers: Vec<(String, String)> = serde_json::from_str(&m.headers).unwrap_or_default();
    for (name, value) in headers {
        req = req.header(name, value);
    }
    if let Some(body) = &m.body {
        req = req.body(body.clone());
    }
    let started = Instant::now();
    let deadline = started + timeout;
    let mut resp = match req.send().await {
        Ok(resp) => resp,
        Err(e) => return Probe::down(classify(&e), None, Some(error_chain(&e))),
    };
    let tls_expires_at = resp
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .and_then(certificate_expiry);
    let status = resp.status().as_u16();
    let mut response_ms = elapsed_ms(started);
    let with_tls = |p: Probe| Probe { tls_expires_at, ..p };
    if !judge {
        return with_tls(Probe { up: true, reason: None, response_ms: Some(response_ms), data: None, tls_expires_at });
    }
    let accepted = StatusRanges::parse(&m.accepted_status).is_ok_and(|r| r.accepts(status));
    if !accepted {
        return with_tls(Probe::down(Reason::Status, Some(response_ms), Some(format!("HTTP {status}"))));
    }
    let Some(keyword) = m.keyword.as_deref().filter(|k| !k.is_empty()) else {
        return with_tls(Probe { up: true, reason: None, response_ms: Some(response_ms), data: None, tls_expires_at });
    };
    // Read up to 2 MB within what is left of the timeout.
    let mut body = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline.into(), resp.chunk()).await {
            Err(_) => return with_tls(Probe::down(Reason::Timeout, None, None)),
            Ok(Ok(None)) => break,
            Ok(Err(e)) => return with_tls(Probe::down(classify(&e), None, Some(error_chain(&e)))),
            Ok(Ok(Some(chunk))) => {
                body.extend_from_slice(&chunk);
                if body.len() >= MAX_BODY {
                    body.truncate(MAX_BODY);
                    break;
                }
            }
        }
    }
    response_ms = elapsed_ms(started);
    let found = memfind(&body, keyword.as_bytes());
    if found != m.keyword_absent {
        with_tls(Probe { up: true, reason: None, response_ms: Some(response_ms), data: None, tls_expires_at })
    } else {
        let kept = String::from_utf8_lossy(&body[..body.len().min(MAX_KEPT)]).into_owned();
        with_tls(Probe::down(Reason::Body, Some(response_ms), Some(kept)))
    }
}

fn memfind(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

fn classify(e: &reqwest::Error) -> Reason {
    if e.is_timeout() {
        return Reason::Timeout;
    }
    let chain = error_chain(e).to_ascii_lowercase();
    if chain.contains("certificate") || chain.contains("tls") || chain.contains("handshake") {
        Reason::Ssl
    } else {
        Reason::Network
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn elapsed_ms(started: Instant) -> i64 {
    started.elapsed().as_millis().min(i64::MAX as u128) as i64
}

/// The `notAfter` of a DER certificate.
pub fn certificate_expiry(der: &[u8]) -> Option<Timestamp> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(Timestamp::from_micros(cert.validity().not_after.timestamp().checked_mul(1_000_000)?))
}
