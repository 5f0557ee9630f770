//! Faultline's typed configuration.
//!
//! Settings come from environment variables with GlitchTip's names (so an existing
//! GlitchTip deployment's environment keeps its meaning) and, optionally, from a TOML
//! file whose keys are the same names (`DATABASE_URL = "…"`, case-insensitive).
//! The environment wins over the file. Everything is parsed and validated once, at
//! start; every problem found is reported together, each with how to fix it.
//!
//! [`Config::from_sources`] is pure (no I/O) and is what the tests exercise;
//! [`Config::load`] reads the process environment and the file, then
//! [`Config::prepare_data_dir`] does the little I/O configuration needs (creating the
//! data directory, generating a SQLite-only secret key).

mod database;
mod parse;
mod secret;
mod sources;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

pub use database::{DatabaseConfig, DatabaseKind};
pub use secret::Secret;
pub use sources::Sources;

use parse::Problems;

/// The environment variable naming an optional TOML configuration file.
pub const CONFIG_FILE_VAR: &str = "FAULTLINE_CONFIG";

/// Everything Faultline can be configured with.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the SQLite database, the generated secret key and other local state live
    /// (`FAULTLINE_DATA_DIR`, default `./data`).
    pub data_dir: PathBuf,
    /// Which database to use and how (`DATABASE_URL`, `DATABASE_POOL_MAX_SIZE`, …).
    pub database: DatabaseConfig,
    /// Signs sessions, tokens and links (`SECRET_KEY`). `None` until
    /// [`Config::prepare_data_dir`] generated one for SQLite.
    pub secret_key: Option<Secret>,
    /// Listening address and public URL.
    pub http: HttpConfig,
    /// Feature switches.
    pub features: Features,
    /// Ingest bounds.
    pub ingest: IngestConfig,
    /// Data retention.
    pub retention: Retention,
    /// Outgoing email.
    pub email: EmailConfig,
    /// Valkey/Redis, when configured (`VALKEY_URL`, alias `REDIS_URL`).
    pub valkey_url: Option<Secret>,
    /// Log output.
    pub logging: LoggingConfig,
    /// Background processing.
    pub workers: WorkerConfig,
}

/// HTTP listener and the URL users reach Faultline at.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// `BIND_ADDRESS`, default `0.0.0.0`.
    pub bind_address: IpAddr,
    /// `PORT`, default 8000.
    pub port: u16,
    /// `GLITCHTIP_DOMAIN` (aliases `GLITCHTIP_URL`, `APP_URL`): scheme, host and port used
    /// in DSNs and email links, without a trailing slash. Default `http://localhost:<PORT>`.
    pub public_url: String,
    /// `BASE_PATH` (alias `FORCE_SCRIPT_NAME`): a path prefix when served below the
    /// root, normalised to `""` or `/prefix` without a trailing slash.
    pub base_path: String,
    /// `ALLOWED_HOSTS`: host names accepted in the `Host` header; `*` allows all.
    pub allowed_hosts: Vec<String>,
    /// `CSRF_TRUSTED_ORIGINS`: extra origins allowed to post forms with a session cookie.
    pub csrf_trusted_origins: Vec<String>,
}

/// Feature switches, named as in GlitchTip.
#[derive(Debug, Clone)]
pub struct Features {
    /// `ENABLE_USER_REGISTRATION` (default true). The first user may always register.
    pub user_registration: bool,
    /// `ENABLE_ORGANIZATION_CREATION` (alias `ENABLE_OPEN_USER_REGISTRATION`, default
    /// false). The first organization may always be created; superusers always may.
    pub organization_creation: bool,
    /// `GLITCHTIP_ENABLE_UPTIME` (default true): uptime monitors and status pages.
    pub uptime: bool,
    /// `ENABLE_OBSERVABILITY_API` (default false): Prometheus metrics.
    pub observability_api: bool,
}

/// Bounds applied while accepting events.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// `FAULTLINE_MAX_BODY_SIZE`: largest request body as sent, possibly compressed
    /// (default 20 MiB).
    pub max_body_size: usize,
    /// `GLITCHTIP_MAX_UNZIPPED_PAYLOAD_SIZE`: largest body after decompression
    /// (default 100 MiB). Enforced while decompressing.
    pub max_unzipped_size: usize,
    /// `FAULTLINE_MAX_EVENT_SIZE`: largest single event or transaction item
    /// (default 1 MiB).
    pub max_event_size: usize,
    /// `MAINTENANCE_EVENT_FREEZE`: answer 503 on every ingest endpoint.
    pub maintenance_freeze: bool,
    /// `FAULTLINE_INGEST_MEMORY`: bytes of request bodies held in memory at once across
    /// all ingest requests (default 128 MiB); beyond it requests get 503.
    pub memory_budget: usize,
    /// `FAULTLINE_MAX_QUEUE_DEPTH`: accepted payloads waiting for digestion beyond which
    /// ingest answers 503 (default 1,000,000).
    pub max_queue_depth: u64,
    /// `FAULTLINE_TRUSTED_PROXIES`: addresses or CIDR ranges whose `X-Forwarded-For` is
    /// believed; the client IP is otherwise the peer address.
    pub trusted_proxies: Vec<String>,
}

/// How long data is kept, in days.
#[derive(Debug, Clone)]
pub struct Retention {
    /// `GLITCHTIP_MAX_EVENT_LIFE_DAYS` (default 90).
    pub event_days: u32,
    /// `GLITCHTIP_MAX_TRANSACTION_EVENT_LIFE_DAYS` (default: event days).
    pub transaction_days: u32,
    /// `GLITCHTIP_MAX_UPTIME_CHECK_LIFE_DAYS` (default: event days).
    pub uptime_check_days: u32,
    /// `GLITCHTIP_MAX_FILE_LIFE_DAYS` (default: event days).
    pub file_days: u32,
}

/// Outgoing email.
#[derive(Debug, Clone)]
pub struct EmailConfig {
    /// `EMAIL_URL`: `smtp://user:pass@host:port`, `smtps://…` or `consolemail://`.
    /// Unset means mail is written to the log.
    pub url: Option<Secret>,
    /// `DEFAULT_FROM_EMAIL` (default `faultline@localhost`).
    pub from: String,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Logging.
#[derive(Debug, Clone)]
pub struct LoggingConfig {
    /// `LOG_FORMAT`: `text` (default) or `json`.
    pub format: LogFormat,
    /// `LOG_LEVEL` (default `info`), or a full `RUST_LOG` filter which takes precedence.
    pub filter: String,
}

/// Background processing.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// `FAULTLINE_WORKER_CONCURRENCY`: background jobs run at once (default 4).
    pub concurrency: usize,
}

/// Configuration that could not be used; lists every problem found.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n{}", .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError {
    /// One line per problem: what is wrong and how to fix it.
    pub problems: Vec<String>,
}

impl Config {
    /// Reads the process environment and, when `FAULTLINE_CONFIG` (or `file`) names
    /// one, a TOML file.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let env = Sources::from_process_env();
        let file = file.map(Path::to_path_buf).or_else(|| env.get(CONFIG_FILE_VAR).map(|(v, _)| PathBuf::from(v)));
        let sources = match file {
            Some(path) => env.with_file(&path)?,
            None => env,
        };
        Config::from_sources(&sources)
    }

    /// Builds and validates the configuration from already-read sources. No I/O except
    /// checking whether a bare `DATABASE_URL` path exists.
    pub fn from_sources(src: &Sources) -> Result<Config, ConfigError> {
        let mut p = Problems::new(src);

        let data_dir = PathBuf::from(p.string("FAULTLINE_DATA_DIR").unwrap_or_else(|| "data".into()));
        let database = database::from_sources(&mut p, &data_dir);
        let secret_key = p.string("SECRET_KEY").map(Secret::new);
        if let (Some(key), Some(origin)) = (&secret_key, p.origin("SECRET_KEY")) {
            if key.expose().len() < 16 {
                p.push(format!(
                    "SECRET_KEY (from {origin}) is only {} characters; use at least 16 random characters, e.g. `openssl rand -hex 32`",
                    key.expose().len()
                ));
            }
        }
        if secret_key.is_none() && database.kind == DatabaseKind::Postgres {
            p.push(
                "SECRET_KEY is required with PostgreSQL: set it to a long random string (e.g. `openssl rand -hex 32`) and keep it stable across restarts"
                    .into(),
            );
        }

        let port = p.parse_or("PORT", 8000u16, "a TCP port number between 1 and 65535");
        if port == 0 {
            p.push("PORT must be between 1 and 65535".into());
        }
        let bind_address =
            p.parse_or("BIND_ADDRESS", IpAddr::from([0, 0, 0, 0]), "an IP address such as 0.0.0.0 or 127.0.0.1");
        let public_url = parse::public_url(&mut p, port);
        let base_path = parse::base_path(&mut p);
        let allowed_hosts = p.list("ALLOWED_HOSTS").unwrap_or_else(|| vec!["*".into()]);
        let csrf_trusted_origins = p.list("CSRF_TRUSTED_ORIGINS").unwrap_or_default();

        let features = Features {
            user_registration: p.bool_or("ENABLE_USER_REGISTRATION", true),
            organization_creation: p
                .bool("ENABLE_ORGANIZATION_CREATION")
                .or_else(|| p.bool("ENABLE_OPEN_USER_REGISTRATION"))
                .unwrap_or(false),
            uptime: p.bool_or("GLITCHTIP_ENABLE_UPTIME", true),
            observability_api: p.bool_or("ENABLE_OBSERVABILITY_API", false),
        };

        const MIB: usize = 1024 * 1024;
        let ingest = IngestConfig {
            max_body_size: p.size_or("FAULTLINE_MAX_BODY_SIZE", 20 * MIB),
            max_unzipped_size: p.size_or("GLITCHTIP_MAX_UNZIPPED_PAYLOAD_SIZE", 100 * MIB),
            max_event_size: p.size_or("FAULTLINE_MAX_EVENT_SIZE", MIB),
            maintenance_freeze: p.bool_or("MAINTENANCE_EVENT_FREEZE", false),
            memory_budget: p.size_or("FAULTLINE_INGEST_MEMORY", 128 * MIB),
            max_queue_depth: p.parse_or("FAULTLINE_MAX_QUEUE_DEPTH", 1_000_000u64, "a number of queued payloads"),
            trusted_proxies: parse::trusted_proxies(&mut p),
        };

        let event_days = p.days_or("GLITCHTIP_MAX_EVENT_LIFE_DAYS", 90);
        let retention = Retention {
            event_days,
            transaction_days: p.days_or("GLITCHTIP_MAX_TRANSACTION_EVENT_LIFE_DAYS", event_days),
            uptime_check_days: p.days_or("GLITCHTIP_MAX_UPTIME_CHECK_LIFE_DAYS", event_days),
            file_days: p.days_or("GLITCHTIP_MAX_FILE_LIFE_DAYS", event_days),
        };

        let email = EmailConfig {
            url: parse::email_url(&mut p),
            from: p.string("DEFAULT_FROM_EMAIL").unwrap_or_else(|| "faultline@localhost".into()),
        };

        let valkey_url =
            p.string("VALKEY_URL").or_else(|| p.string("REDIS_URL")).filter(|u| !u.is_empty()).map(Secret::new);
        if let Some(url) = &valkey_url {
            if !(url.expose().starts_with("redis://")
                || url.expose().starts_with("rediss://")
                || url.expose().starts_with("valkey://")
                || url.expose().starts_with("valkeys://"))
            {
                p.push("VALKEY_URL must start with redis://, rediss://, valkey:// or valkeys://".into());
            }
        }

        let logging = LoggingConfig {
            format: match p.string("LOG_FORMAT").as_deref().map(str::to_ascii_lowercase).as_deref() {
                None | Some("text") | Some("") => LogFormat::Text,
                Some("json") => LogFormat::Json,
                Some(other) => {
                    p.push(format!("LOG_FORMAT={other:?} is not supported; use `text` or `json`"));
                    LogFormat::Text
                }
            },
            filter: p
                .string("RUST_LOG")
                .or_else(|| p.string("LOG_LEVEL").map(|l| l.to_ascii_lowercase()))
                .unwrap_or_else(|| "info".into()),
        };

        let workers = WorkerConfig {
            concurrency: p.parse_or("FAULTLINE_WORKER_CONCURRENCY", 4usize, "a positive number").max(1),
        };

        p.finish()?;
        Ok(Config {
            data_dir,
            database,
            secret_key,
            http: HttpConfig { bind_address, port, public_url, base_path, allowed_hosts, csrf_trusted_origins },
            features,
            ingest,
            retention,
            email,
            valkey_url,
            logging,
            workers,
        })
    }

    /// Creates the data directory when SQLite lives in it and, for SQLite without a
    /// `SECRET_KEY`, generates one kept in `<data dir>/secret_key` (so sessions survive
    /// restarts). Returns a warning to log when a key was generated or reused.
    pub fn prepare_data_dir(&mut self) -> Result<Option<String>, ConfigError> {
        let io_err = |what: &str, path: &Path, e: std::io::Error| ConfigError {
            problems: vec![format!("cannot {what} {}: {e}", path.display())],
        };
        if let Some(path) = self.database.sqlite_path() {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| io_err("create directory", parent, e))?;
            }
        }
        if self.secret_key.is_some() {
            return Ok(None);
        }
        std::fs::create_dir_all(&self.data_dir).map_err(|e| io_err("create directory", &self.data_dir, e))?;
        let path = self.data_dir.join("secret_key");
        let (key, generated) = secret::load_or_generate(&path).map_err(|e| io_err("write secret key", &path, e))?;
        self.secret_key = Some(key);
        Ok(Some(if generated {
            format!(
                "SECRET_KEY is not set: generated one and saved it in {}; set SECRET_KEY explicitly in production",
                path.display()
            )
        } else {
            format!("SECRET_KEY is not set: using the key saved in {}", path.display())
        }))
    }

    /// The effective configuration as `(variable, value)` pairs, secrets redacted, for
    /// `faultline config`.
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        let redacted = |s: &Option<Secret>| s.as_ref().map_or_else(|| "(unset)".to_string(), |s| s.redacted());
        vec![
            ("FAULTLINE_DATA_DIR", self.data_dir.display().to_string()),
            ("DATABASE_URL", self.database.redacted_url()),
            ("DATABASE_POOL_MAX_SIZE", self.database.pool_max_size.to_string()),
            ("SECRET_KEY", redacted(&self.secret_key)),
            ("BIND_ADDRESS", self.http.bind_address.to_string()),
            ("PORT", self.http.port.to_string()),
            ("GLITCHTIP_DOMAIN", self.http.public_url.clone()),
            ("BASE_PATH", self.http.base_path.clone()),
            ("ALLOWED_HOSTS", self.http.allowed_hosts.join(",")),
            ("CSRF_TRUSTED_ORIGINS", self.http.csrf_trusted_origins.join(",")),
            ("ENABLE_USER_REGISTRATION", self.features.user_registration.to_string()),
            ("ENABLE_ORGANIZATION_CREATION", self.features.organization_creation.to_string()),
            ("GLITCHTIP_ENABLE_UPTIME", self.features.uptime.to_string()),
            ("ENABLE_OBSERVABILITY_API", self.features.observability_api.to_string()),
            ("FAULTLINE_MAX_BODY_SIZE", self.ingest.max_body_size.to_string()),
            ("GLITCHTIP_MAX_UNZIPPED_PAYLOAD_SIZE", self.ingest.max_unzipped_size.to_string()),
            ("FAULTLINE_MAX_EVENT_SIZE", self.ingest.max_event_size.to_string()),
            ("MAINTENANCE_EVENT_FREEZE", self.ingest.maintenance_freeze.to_string()),
            ("FAULTLINE_INGEST_MEMORY", self.ingest.memory_budget.to_string()),
            ("FAULTLINE_MAX_QUEUE_DEPTH", self.ingest.max_queue_depth.to_string()),
            ("FAULTLINE_TRUSTED_PROXIES", self.ingest.trusted_proxies.join(",")),
            ("GLITCHTIP_MAX_EVENT_LIFE_DAYS", self.retention.event_days.to_string()),
            ("GLITCHTIP_MAX_TRANSACTION_EVENT_LIFE_DAYS", self.retention.transaction_days.to_string()),
            ("GLITCHTIP_MAX_UPTIME_CHECK_LIFE_DAYS", self.retention.uptime_check_days.to_string()),
            ("GLITCHTIP_MAX_FILE_LIFE_DAYS", self.retention.file_days.to_string()),
            ("EMAIL_URL", redacted(&self.email.url)),
            ("DEFAULT_FROM_EMAIL", self.email.from.clone()),
            ("VALKEY_URL", redacted(&self.valkey_url)),
            (
                "LOG_FORMAT",
                match self.logging.format {
                    LogFormat::Text => "text".into(),
                    LogFormat::Json => "json".into(),
                },
            ),
            ("LOG_LEVEL", self.logging.filter.clone()),
            ("FAULTLINE_WORKER_CONCURRENCY", self.workers.concurrency.to_string()),
        ]
    }

    /// The secret key; call after [`Config::prepare_data_dir`].
    pub fn secret(&self) -> &Secret {
        self.secret_key.as_ref().expect("prepare_data_dir() sets the secret key")
    }
}

#[cfg(test)]
mod tests;
