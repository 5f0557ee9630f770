//! `DATABASE_URL` and friends.

use std::path::{Path, PathBuf};

use crate::parse::Problems;
use crate::secret::redact_url;
use crate::Secret;

/// The two supported databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    /// Embedded SQLite, the default.
    Sqlite,
    /// PostgreSQL, for production and several instances.
    Postgres,
}

/// Where the database is and how many connections to use.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// Which backend.
    pub kind: DatabaseKind,
    /// The connection URL (`postgres://…`), or `sqlite://<path>` for SQLite.
    pub url: Secret,
    /// SQLite only: the database file.
    pub sqlite_file: Option<PathBuf>,
    /// `DATABASE_POOL_MAX_SIZE` (default 20): most connections held open. With SQLite
    /// this bounds readers; writes always go through one connection.
    pub pool_max_size: u32,
}

impl DatabaseConfig {
    /// A SQLite database in `path`.
    pub fn sqlite(path: &Path) -> DatabaseConfig {
        DatabaseConfig {
            kind: DatabaseKind::Sqlite,
            url: Secret::new(format!("sqlite://{}", path.display())),
            sqlite_file: Some(path.to_path_buf()),
            pool_max_size: 20,
        }
    }

    /// A PostgreSQL database at `url`.
    pub fn postgres(url: &str) -> DatabaseConfig {
        DatabaseConfig { kind: DatabaseKind::Postgres, url: Secret::new(url), sqlite_file: None, pool_max_size: 20 }
    }

    /// The SQLite file, if this is a file-backed SQLite database.
    pub fn sqlite_path(&self) -> Option<&Path> {
        self.sqlite_file.as_deref()
    }

    /// The URL with any password masked.
    pub fn redacted_url(&self) -> String {
        redact_url(self.url.expose()).unwrap_or_else(|| self.url.expose().to_string())
    }
}

pub(crate) fn from_sources(p: &mut Problems<'_>, data_dir: &Path) -> DatabaseConfig {
    let pool_max_size = p.parse_or("DATABASE_POOL_MAX_SIZE", 20u32, "a number of connections, at least 1").max(1);
    let mut config = match p.nonempty("DATABASE_URL") {
        Some(url) => parse_url(p, &url),
        None => match p.nonempty("DATABASE_HOST") {
            // GlitchTip's split variables.
            Some(host) => {
                let user = p.nonempty("DATABASE_USER").unwrap_or_else(|| "postgres".into());
                let password = p.nonempty("DATABASE_PASSWORD").map(|pw| format!(":{pw}")).unwrap_or_default();
                let port = p.nonempty("DATABASE_PORT").unwrap_or_else(|| "5432".into());
                let name = p.nonempty("DATABASE_NAME").unwrap_or_else(|| "postgres".into());
                DatabaseConfig::postgres(&format!("postgres://{user}{password}@{host}:{port}/{name}"))
            }
            None => DatabaseConfig::sqlite(&data_dir.join("faultline.db")),
        },
    };
    config.pool_max_size = pool_max_size;
    config
}

fn parse_url(p: &mut Problems<'_>, url: &str) -> DatabaseConfig {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        return DatabaseConfig::postgres(url);
    }
    if let Some(rest) = lower.strip_prefix("sqlite:").map(|_| &url["sqlite:".len()..]) {
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let path = rest.split('?').next().unwrap_or_default();
        if path.is_empty() || path == ":memory:" {
            p.push("DATABASE_URL=sqlite:// needs a file path, e.g. sqlite://data/faultline.db (in-memory databases are not supported)".into());
            return DatabaseConfig::sqlite(Path::new("data/faultline.db"));
        }
        return DatabaseConfig::sqlite(Path::new(path));
    }
    if url.contains("://") {
        let scheme = url.split("://").next().unwrap_or_default();
        p.push(format!(
            "DATABASE_URL uses the unsupported scheme {scheme:?}; use postgres://user:password@host:5432/name or sqlite://path/to/file.db"
        ));
        return DatabaseConfig::sqlite(Path::new("data/faultline.db"));
    }
    // A bare path is accepted only when the file exists, so a typo in a URL never
    // silently creates a new empty database.
    let path = Path::new(url);
    if path.is_file() {
        return DatabaseConfig::sqlite(path);
    }
    p.push(format!(
        "DATABASE_URL={url:?} is neither a postgres:// URL nor an existing SQLite file; to create a new SQLite database write sqlite://{url}"
    ));
    DatabaseConfig::sqlite(Path::new("data/faultline.db"))
}
