//! Secrets that never reach a log line by accident.

use std::fmt;
use std::io::Write;
use std::path::Path;

/// A secret string. `Debug` and [`Secret::redacted`] never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the few places that need it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A display form: URLs keep scheme, user and host with the password masked;
    /// anything else becomes `********`.
    pub fn redacted(&self) -> String {
        redact_url(&self.0).unwrap_or_else(|| "********".into())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.redacted())
    }
}

/// `scheme://user:pass@host/path` → `scheme://user:********@host/path`. `None` when
/// the value is not a URL.
pub(crate) fn redact_url(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme.is_empty() || !scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) {
        return None;
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return Some(url.to_string());
    };
    let user = userinfo.split(':').next().unwrap_or_default();
    let masked = if userinfo.contains(':') { format!("{user}:********") } else { user.to_string() };
    Some(format!("{scheme}://{masked}@{host}{tail}"))
}

/// Reads the key kept at `path`, or generates and saves a new one (owner-only
/// permissions). Returns whether it was generated.
pub(crate) fn load_or_generate(path: &Path) -> std::io::Result<(Secret, bool)> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let key = existing.trim();
        if !key.is_empty() {
            return Ok((Secret::new(key), false));
        }
    }
    let mut bytes = [0u8; 32];
    rand::Rng::fill(&mut rand::thread_rng(), &mut bytes);
    let key = hex::encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(key.as_bytes())?;
    file.sync_all()?;
    Ok((Secret::new(key), true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_everything_but_the_password() {
        assert_eq!(
            redact_url("postgres://app:hunter2@db:5432/faultline").unwrap(),
            "postgres://app:********@db:5432/faultline"
        );
        assert_eq!(redact_url("smtp://mail.example.com:25").unwrap(), "smtp://mail.example.com:25");
        assert_eq!(redact_url("redis://:pw@cache/0").unwrap(), "redis://:********@cache/0");
        assert!(redact_url("just-a-key").is_none());
        assert_eq!(format!("{:?}", Secret::new("abc")), "Secret(********)");
    }

    #[test]
    fn generated_key_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret_key");
        let (first, generated) = load_or_generate(&path).unwrap();
        assert!(generated);
        assert_eq!(first.expose().len(), 64);
        let (second, generated) = load_or_generate(&path).unwrap();
        assert!(!generated);
        assert_eq!(first, second);
    }
}
