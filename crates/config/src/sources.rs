//! Where settings come from: the environment, then an optional TOML file.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::ConfigError;

/// Which source supplied a value; quoted in error messages so users know where to look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// An environment variable.
    Env,
    /// A key in the TOML file.
    File(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Env => f.write_str("the environment"),
            Origin::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Raw settings by variable name (upper case), before parsing.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    env: HashMap<String, String>,
    file: HashMap<String, String>,
    file_path: Option<PathBuf>,
}

impl Sources {
    /// Settings from the given environment pairs only.
    pub fn from_env<I, K, V>(vars: I) -> Sources
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Sources { env: vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect(), ..Sources::default() }
    }

    /// Settings from the process environment (variables that are not valid UTF-8 are
    /// ignored).
    pub fn from_process_env() -> Sources {
        Sources::from_env(std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))))
    }

    /// Adds a TOML file's keys below the environment.
    pub fn with_file(self, path: &Path) -> Result<Sources, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            problems: vec![format!(
                "cannot read configuration file {} ({e}); fix the path in {} or remove it",
                path.display(),
                crate::CONFIG_FILE_VAR
            )],
        })?;
        self.with_toml(&text, path)
    }

    /// Adds TOML text (as if read from `path`) below the environment.
    pub fn with_toml(mut self, text: &str, path: &Path) -> Result<Sources, ConfigError> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError {
            problems: vec![format!("{} is not valid TOML: {}", path.display(), e.message())],
        })?;
        let mut problems = Vec::new();
        for (key, value) in table {
            let text = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                toml::Value::Array(items) => {
                    let mut parts = Vec::new();
                    for item in items {
                        match item {
                            toml::Value::String(s) => parts.push(s),
                            other => parts.push(other.to_string()),
                        }
                    }
                    parts.join(",")
                }
                other => {
                    problems.push(format!(
                        "{}: `{key}` must be a string, number, boolean or list, not a {}",
                        path.display(),
                        other.type_str()
                    ));
                    continue;
                }
            };
            self.file.insert(key.to_ascii_uppercase(), text);
        }
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        self.file_path = Some(path.to_path_buf());
        Ok(self)
    }

    /// The value for `key` and where it came from. Empty environment values count as
    /// set (GlitchTip uses `VALKEY_URL=""` to mean "off").
    pub fn get(&self, key: &str) -> Option<(&str, Origin)> {
        if let Some(v) = self.env.get(key) {
            return Some((v.as_str(), Origin::Env));
        }
        let path = self.file_path.clone().unwrap_or_default();
        self.file.get(key).map(|v| (v.as_str(), Origin::File(path)))
    }
}
