//! DSNs: `{scheme}://{public_key}[:{secret}]@{host}[{path}]/{project_id}`.

use std::fmt;
use std::str::FromStr;

use crate::auth::normalize_key;

/// A parsed DSN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dsn {
    /// `http` or `https`.
    pub scheme: String,
    /// The public key, normalized.
    pub public_key: String,
    /// The deprecated secret, if present.
    pub secret_key: Option<String>,
    /// Host, with the port if any.
    pub host: String,
    /// Path prefix before the project id: `""` or `/prefix`.
    pub path: String,
    /// Project id.
    pub project_id: u64,
}

/// Why a DSN did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid DSN: {0}")]
pub struct DsnError(&'static str);

impl Dsn {
    /// The DSN of `public_key` for project `project_id` on a server reached at
    /// `public_url` (scheme, host and optional path, e.g. `https://host/prefix`).
    pub fn for_server(public_url: &str, public_key: &str, project_id: u64) -> String {
        let (scheme, rest) = public_url.split_once("://").unwrap_or(("http", public_url));
        let rest = rest.trim_end_matches('/');
        format!("{scheme}://{public_key}@{rest}/{project_id}")
    }
}

impl FromStr for Dsn {
    type Err = DsnError;

    fn from_str(s: &str) -> Result<Dsn, DsnError> {
        let (scheme, rest) = s.trim().split_once("://").ok_or(DsnError("missing scheme"))?;
        if scheme != "http" && scheme != "https" {
            return Err(DsnError("the scheme must be http or https"));
        }
        let (userinfo, rest) = rest.split_once('@').ok_or(DsnError("missing public key"))?;
        let (public, secret) = match userinfo.split_once(':') {
            Some((p, s)) => (p, Some(s.to_string())),
            None => (userinfo, None),
        };
        let public_key = normalize_key(public).ok_or(DsnError("the public key must be 32 hex characters"))?;
        let rest = rest.trim_end_matches('/');
        let (host_and_path, project) = rest.rsplit_once('/').ok_or(DsnError("missing project id"))?;
        let project_id = project.parse().map_err(|_| DsnError("the project id must be a number"))?;
        let (host, path) = match host_and_path.find('/') {
            Some(i) => (&host_and_path[..i], host_and_path[i..].trim_end_matches('/')),
            None => (host_and_path, ""),
        };
        if host.is_empty() {
            return Err(DsnError("missing host"));
        }
        Ok(Dsn {
            scheme: scheme.to_string(),
            public_key,
            secret_key: secret,
            host: host.to_string(),
            path: path.to_string(),
            project_id,
        })
    }
}

impl fmt::Display for Dsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}@{}{}/{}", self.scheme, self.public_key, self.host, self.path, self.project_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        let dsn: Dsn = "https://0123456789abcdef0123456789abcdef@errors.example.com:8443/sentry/42".parse().unwrap();
        assert_eq!(dsn.host, "errors.example.com:8443");
        assert_eq!(dsn.path, "/sentry");
        assert_eq!(dsn.project_id, 42);
        assert_eq!(dsn.to_string(), "https://0123456789abcdef0123456789abcdef@errors.example.com:8443/sentry/42");
        let with_secret: Dsn = "http://0123456789abcdef0123456789abcdef:s3cr3t@h/1".parse().unwrap();
        assert_eq!(with_secret.secret_key.as_deref(), Some("s3cr3t"));
        assert_eq!(with_secret.path, "");
        assert!("ftp://k@h/1".parse::<Dsn>().is_err());
        assert!("http://nothex@h/1".parse::<Dsn>().is_err());
        assert!("http://0123456789abcdef0123456789abcdef@h/x".parse::<Dsn>().is_err());
    }

    #[test]
    fn for_server() {
        assert_eq!(Dsn::for_server("https://e.example.com/gt", "k", 7), "https://k@e.example.com/gt/7");
        assert_eq!(Dsn::for_server("http://localhost:8000", "k", 1), "http://k@localhost:8000/1");
    }
}
