//! Typed readers that collect every problem instead of stopping at the first.

use std::str::FromStr;

use crate::sources::{Origin, Sources};
use crate::{ConfigError, Secret};

pub(crate) struct Problems<'a> {
    src: &'a Sources,
    problems: Vec<String>,
}

impl<'a> Problems<'a> {
    pub(crate) fn new(src: &'a Sources) -> Self {
        Problems { src, problems: Vec::new() }
    }

    pub(crate) fn push(&mut self, problem: String) {
        self.problems.push(problem);
    }

    pub(crate) fn finish(self) -> Result<(), ConfigError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError { problems: self.problems })
        }
    }

    pub(crate) fn origin(&self, key: &str) -> Option<Origin> {
        self.src.get(key).map(|(_, o)| o)
    }

    /// A string value, trimmed; `None` when unset.
    pub(crate) fn string(&self, key: &str) -> Option<String> {
        self.src.get(key).map(|(v, _)| v.trim().to_string())
    }

    /// A non-empty string value; empty counts as unset.
    pub(crate) fn nonempty(&self, key: &str) -> Option<String> {
        self.string(key).filter(|s| !s.is_empty())
    }

    pub(crate) fn parse_or<T: FromStr>(&mut self, key: &str, default: T, expected: &str) -> T {
        match self.src.get(key) {
            None => default,
            Some((raw, _)) if raw.trim().is_empty() => default,
            Some((raw, origin)) => match raw.trim().parse() {
                Ok(v) => v,
                Err(_) => {
                    self.problems.push(format!("{key}={raw:?} (from {origin}) is not valid: expected {expected}"));
                    default
                }
            },
        }
    }

    /// Booleans the way django-environ reads them: true/yes/on/1/y/t and their
    /// opposites, any case.
    pub(crate) fn bool(&mut self, key: &str) -> Option<bool> {
        let (raw, origin) = self.src.get(key)?;
        match raw.trim().to_ascii_lowercase().as_str() {
            "" => None,
            "1" | "true" | "t" | "yes" | "y" | "on" | "ok" => Some(true),
            "0" | "false" | "f" | "no" | "n" | "off" => Some(false),
            _ => {
                self.problems.push(format!("{key}={raw:?} (from {origin}) is not a boolean: use true or false"));
                None
            }
        }
    }

    pub(crate) fn bool_or(&mut self, key: &str, default: bool) -> bool {
        self.bool(key).unwrap_or(default)
    }

    /// A comma-separated list; `None` when unset.
    pub(crate) fn list(&self, key: &str) -> Option<Vec<String>> {
        self.string(key).map(|s| s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect())
    }

    /// A byte size: a plain number of bytes, or with a `KB`/`MB`/`GB` (powers of 1024)
    /// suffix.
    pub(crate) fn size_or(&mut self, key: &str, default: usize) -> usize {
        let Some((raw, origin)) = self.src.get(key) else { return default };
        match parse_size(raw) {
            Some(0) | None => {
                self.problems.push(format!(
                    "{key}={raw:?} (from {origin}) is not a size: use a positive number of bytes, optionally with KB, MB or GB"
                ));
                default
            }
            Some(n) => n,
        }
    }

    pub(crate) fn days_or(&mut self, key: &str, default: u32) -> u32 {
        let days = self.parse_or(key, default, "a whole number of days");
        if days == 0 {
            self.problems.push(format!("{key} must be at least 1 day"));
            return default;
        }
        days
    }
}

fn parse_size(raw: &str) -> Option<usize> {
    let s = raw.trim().to_ascii_uppercase();
    let (digits, mult) = if let Some(d) = s.strip_suffix("GB").or_else(|| s.strip_suffix("GIB")) {
        (d, 1024 * 1024 * 1024)
    } else if let Some(d) = s.strip_suffix("MB").or_else(|| s.strip_suffix("MIB")) {
        (d, 1024 * 1024)
    } else if let Some(d) = s.strip_suffix("KB").or_else(|| s.strip_suffix("KIB")) {
        (d, 1024)
    } else {
        (s.strip_suffix('B').unwrap_or(&s), 1)
    };
    digits.trim().parse::<usize>().ok()?.checked_mul(mult)
}

/// `GLITCHTIP_DOMAIN`, or its older names; must be an http(s) URL.
pub(crate) fn public_url(p: &mut Problems<'_>, port: u16) -> String {
    let found =
        ["GLITCHTIP_DOMAIN", "GLITCHTIP_URL", "APP_URL"].into_iter().find_map(|k| p.nonempty(k).map(|v| (k, v)));
    let Some((key, url)) = found else {
        return format!("http://localhost:{port}");
    };
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') => url.trim_end_matches('/').to_string(),
        _ => {
            p.push(format!(
                "{key}={url:?} must be the full URL users reach Faultline at, with scheme, e.g. https://faultline.example.com"
            ));
            format!("http://localhost:{port}")
        }
    }
}

/// `BASE_PATH` normalised to `""` or `/prefix`.
pub(crate) fn base_path(p: &mut Problems<'_>) -> String {
    let raw = p.nonempty("BASE_PATH").or_else(|| p.nonempty("FORCE_SCRIPT_NAME")).unwrap_or_default();
    let trimmed = raw.trim_matches('/');
    if trimmed.is_empty() {
        return String::new();
    }
    if trimmed.contains(['?', '#', ' ']) || trimmed.contains("//") {
        p.push(format!("BASE_PATH={raw:?} must be a plain path such as /faultline"));
        return String::new();
    }
    format!("/{trimmed}")
}

/// `FAULTLINE_TRUSTED_PROXIES`: each entry an IP address or CIDR range.
pub(crate) fn trusted_proxies(p: &mut Problems<'_>) -> Vec<String> {
    let entries = p.list("FAULTLINE_TRUSTED_PROXIES").unwrap_or_default();
    for entry in &entries {
        let (addr, prefix) = match entry.split_once('/') {
            Some((a, n)) => (a, Some(n)),
            None => (entry.as_str(), None),
        };
        let ip_ok = addr.parse::<std::net::IpAddr>().ok();
        let prefix_ok = match (ip_ok, prefix) {
            (Some(_), None) => true,
            (Some(ip), Some(n)) => n.parse::<u8>().is_ok_and(|n| n <= if ip.is_ipv4() { 32 } else { 128 }),
            (None, _) => false,
        };
        if !prefix_ok {
            p.push(format!(
                "FAULTLINE_TRUSTED_PROXIES: {entry:?} is not an IP address or CIDR range such as 10.0.0.0/8"
            ));
        }
    }
    entries
}

/// `EMAIL_URL`, checked for a supported scheme.
pub(crate) fn email_url(p: &mut Problems<'_>) -> Option<Secret> {
    let url = p.nonempty("EMAIL_URL")?;
    let scheme = url.split("://").next().unwrap_or_default().to_ascii_lowercase();
    if !matches!(scheme.as_str(), "smtp" | "smtps" | "smtp+tls" | "submission" | "consolemail" | "dummymail")
        || !url.contains("://")
    {
        p.push(format!("EMAIL_URL must start with smtp://, smtps:// or consolemail:// (got scheme {scheme:?})"));
        return None;
    }
    Some(Secret::new(url))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("2621440"), Some(2_621_440));
        assert_eq!(parse_size("20MB"), Some(20 * 1024 * 1024));
        assert_eq!(parse_size(" 1 kb "), Some(1024));
        assert_eq!(parse_size("3GiB"), Some(3 * 1024 * 1024 * 1024));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("-1"), None);
    }
}
