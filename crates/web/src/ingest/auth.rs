//! Which key sent the request, and whether it may.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use faultline_protocol::{normalize_key, parse_basic_auth, parse_sentry_auth, Dsn};
use faultline_store::{KeyAuth, Store, StoreError};
use http::HeaderMap;

use super::IngestError;

/// Entries kept at most; beyond that the cache starts over (it is only a cache, and
/// random keys from a misbehaving client must not grow it without bound).
const MAX_ENTRIES: usize = 100_000;

/// Key lookups, cached in memory so ingest never queries the database per request.
/// Known keys are kept for `positive_ttl`, unknown ones for `negative_ttl`; both are
/// forgotten at once by [`KeyCache::invalidate`] when keys, projects or organizations
/// change in this process (other instances see changes within the TTL).
pub struct KeyCache {
    entries: RwLock<HashMap<String, (Instant, Option<KeyAuth>)>>,
    positive_ttl: Duration,
    negative_ttl: Duration,
}

impl KeyCache {
    /// An empty cache.
    pub fn new(positive_ttl: Duration, negative_ttl: Duration) -> KeyCache {
        KeyCache { entries: RwLock::new(HashMap::new()), positive_ttl, negative_ttl }
    }

    /// The key's ingest view, from the cache or the store.
    pub async fn get(&self, store: &Store, key: &str) -> Result<Option<KeyAuth>, StoreError> {
        if let Some((at, auth)) = self.entries.read().unwrap_or_else(|e| e.into_inner()).get(key) {
            let ttl = if auth.is_some() { self.positive_ttl } else { self.negative_ttl };
            if at.elapsed() < ttl {
                return Ok(auth.clone());
            }
        }
        let auth = store.key_auth(key).await?;
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key.to_string(), (Instant::now(), auth.clone()));
        Ok(auth)
    }

    /// Forgets everything (call after changing keys, projects or organizations).
    pub fn invalidate(&self) {
        self.entries.write().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// Where a request may carry its key.
#[derive(Default)]
pub(crate) struct Credentials<'a> {
    pub headers: Option<&'a HeaderMap>,
    pub query: Option<&'a str>,
    pub path_key: Option<&'a str>,
    pub envelope_dsn: Option<&'a str>,
}

/// A request whose key may send to its project.
pub(crate) struct Authenticated {
    pub auth: KeyAuth,
    /// `sentry_client` (`name/version`), when sent.
    pub client: Option<String>,
}

/// Extracts the key (refusing conflicting ones), looks it up and checks that it may
/// send to `project_id` (when the URL names one).
pub(crate) async fn authenticate(
    store: &Store,
    cache: &KeyCache,
    creds: &Credentials<'_>,
    project_id: Option<i64>,
) -> Result<Authenticated, IngestError> {
    let mut found: Vec<(&'static str, String)> = Vec::new();
    let mut client = None;

    if let Some(headers) = creds.headers {
        if let Some(value) = headers.get("x-sentry-auth") {
            let pairs = value.to_str().ok().and_then(parse_sentry_auth).unwrap_or_default();
            let key = pairs
                .get("sentry_key")
                .ok_or_else(|| IngestError::Unauthorized("X-Sentry-Auth carries no sentry_key".into()))?;
            found.push(("X-Sentry-Auth", key.clone()));
            client = pairs.get("sentry_client").cloned();
        }
        if let Some(value) = headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
            if value.len() > 7 && value[..7].eq_ignore_ascii_case("sentry ") {
                let pairs = parse_sentry_auth(value).unwrap_or_default();
                let key = pairs
                    .get("sentry_key")
                    .ok_or_else(|| IngestError::Unauthorized("Authorization: Sentry carries no sentry_key".into()))?;
                found.push(("Authorization", key.clone()));
                client = client.or_else(|| pairs.get("sentry_client").cloned());
            } else if let Some(key) = parse_basic_auth(value) {
                found.push(("Authorization", key));
            }
        }
    }
    if let Some(query) = creds.query {
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            match name.as_ref() {
                "sentry_key" | "glitchtip_key" => found.push(("the query string", value.into_owned())),
                "sentry_client" => client = client.or(Some(value.into_owned())),
                _ => {}
            }
        }
    }
    if let Some(key) = creds.path_key {
        found.push(("the URL", key.to_string()));
    }
    if let Some(dsn) = creds.envelope_dsn {
        let dsn: Dsn = dsn.parse().map_err(|e| IngestError::Unauthorized(format!("the envelope header's dsn: {e}")))?;
        found.push(("the envelope header's dsn", dsn.public_key));
    }

    let mut key: Option<String> = None;
    for (source, raw) in &found {
        let normalized = normalize_key(raw).ok_or_else(|| {
            IngestError::Unauthorized(format!("invalid public key in {source}: expected 32 hexadecimal characters"))
        })?;
        match &key {
            Some(k) if *k != normalized => {
                let sources: Vec<&str> = found.iter().map(|(s, _)| *s).collect();
                return Err(IngestError::Unauthorized(format!(
                    "conflicting public keys in {}; send one key",
                    sources.join(" and ")
                )));
            }
            _ => key = Some(normalized),
        }
    }
    let Some(key) = key else {
        return Err(IngestError::Unauthorized(
            "missing authentication: send X-Sentry-Auth, or sentry_key in the query string".into(),
        ));
    };

    let auth = cache
        .get(store, &key)
        .await
        .map_err(|e| IngestError::storage(&e))?
        .ok_or_else(|| IngestError::Unauthorized("unknown public key".into()))?;
    if let Some(pid) = project_id {
        if auth.project_id.0 != pid {
            return Err(IngestError::Forbidden(format!("the key does not belong to project {pid}")));
        }
    }
    if !auth.key_active {
        return Err(IngestError::Forbidden("this key is disabled".into()));
    }
    if auth.project_deleted {
        return Err(IngestError::Forbidden("the project has been deleted".into()));
    }
    if !auth.org_active {
        return Err(IngestError::Forbidden("the organization is disabled".into()));
    }
    Ok(Authenticated { auth, client })
}
