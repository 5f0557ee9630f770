use std::path::Path;

use super::*;

fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::from_sources(&Sources::from_env(vars.iter().map(|(k, v)| (k.to_string(), v.to_string()))))
}

fn problems(vars: &[(&str, &str)]) -> String {
    load(vars).expect_err("configuration should be refused").to_string()
}

#[test]
fn defaults_to_sqlite_in_the_data_dir() {
    let config = load(&[]).unwrap();
    assert_eq!(config.database.kind, DatabaseKind::Sqlite);
    assert_eq!(config.database.sqlite_path(), Some(Path::new("data/faultline.db")));
    assert_eq!(config.http.port, 8000);
    assert_eq!(config.http.bind_address.to_string(), "0.0.0.0");
    assert_eq!(config.http.public_url, "http://localhost:8000");
    assert_eq!(config.http.base_path, "");
    assert!(config.secret_key.is_none(), "generated later, in the data dir");
    assert!(config.features.user_registration);
    assert!(!config.features.organization_creation);
    assert_eq!(config.retention.event_days, 90);
    assert_eq!(config.retention.uptime_check_days, 90);
    assert_eq!(config.ingest.max_unzipped_size, 100 * 1024 * 1024);
}

#[test]
fn glitchtip_variables_keep_their_meaning() {
    let config = load(&[
        ("DATABASE_URL", "postgres://app:pw@db:5432/gt"),
        ("SECRET_KEY", "0123456789abcdef0123"),
        ("PORT", "9000"),
        ("BIND_ADDRESS", "127.0.0.1"),
        ("GLITCHTIP_DOMAIN", "https://errors.example.com/"),
        ("BASE_PATH", "/glitchtip/"),
        ("ENABLE_USER_REGISTRATION", "False"),
        ("ENABLE_OPEN_USER_REGISTRATION", "True"),
        ("GLITCHTIP_MAX_EVENT_LIFE_DAYS", "30"),
        ("GLITCHTIP_MAX_UPTIME_CHECK_LIFE_DAYS", "7"),
        ("GLITCHTIP_MAX_UNZIPPED_PAYLOAD_SIZE", "2621440"),
        ("MAINTENANCE_EVENT_FREEZE", "on"),
        ("REDIS_URL", "redis://cache:6379/0"),
        ("DATABASE_POOL_MAX_SIZE", "5"),
        ("FAULTLINE_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1"),
    ])
    .unwrap();
    assert_eq!(config.database.kind, DatabaseKind::Postgres);
    assert_eq!(config.database.pool_max_size, 5);
    assert_eq!(config.http.port, 9000);
    assert_eq!(config.http.public_url, "https://errors.example.com");
    assert_eq!(config.http.base_path, "/glitchtip");
    assert!(!config.features.user_registration);
    assert!(config.features.organization_creation);
    assert_eq!(config.retention.event_days, 30);
    assert_eq!(config.retention.transaction_days, 30);
    assert_eq!(config.retention.uptime_check_days, 7);
    assert_eq!(config.ingest.max_unzipped_size, 2_621_440);
    assert!(config.ingest.maintenance_freeze);
    assert_eq!(config.valkey_url.unwrap().expose(), "redis://cache:6379/0");
    assert_eq!(config.ingest.trusted_proxies, vec!["10.0.0.0/8", "127.0.0.1"]);
}

#[test]
fn split_database_variables_build_a_postgres_url() {
    let config = load(&[
        ("DATABASE_HOST", "db"),
        ("DATABASE_USER", "gt"),
        ("DATABASE_PASSWORD", "pw"),
        ("DATABASE_NAME", "glitchtip"),
        ("SECRET_KEY", "0123456789abcdef0123"),
    ])
    .unwrap();
    assert_eq!(config.database.url.expose(), "postgres://gt:pw@db:5432/glitchtip");
    assert_eq!(config.database.redacted_url(), "postgres://gt:********@db:5432/glitchtip");
}

#[test]
fn postgres_requires_a_secret_key() {
    let msg = problems(&[("DATABASE_URL", "postgresql://localhost/x")]);
    assert!(msg.contains("SECRET_KEY is required with PostgreSQL"), "{msg}");
}

#[test]
fn sqlite_urls_and_bare_paths() {
    let dir = tempfile::tempdir().unwrap();
    let existing = dir.path().join("existing.db");
    std::fs::write(&existing, b"").unwrap();

    let config = load(&[("DATABASE_URL", "sqlite://var/lib/x.db")]).unwrap();
    assert_eq!(config.database.sqlite_path(), Some(Path::new("var/lib/x.db")));
    let config = load(&[("DATABASE_URL", existing.to_str().unwrap())]).unwrap();
    assert_eq!(config.database.sqlite_path(), Some(existing.as_path()));

    let missing = dir.path().join("typo.db");
    let msg = problems(&[("DATABASE_URL", missing.to_str().unwrap())]);
    assert!(msg.contains("neither a postgres:// URL nor an existing SQLite file"), "{msg}");
    assert!(msg.contains("sqlite://"), "says how to fix it: {msg}");

    let msg = problems(&[("DATABASE_URL", "mysql://root@localhost/db")]);
    assert!(msg.contains("unsupported scheme \"mysql\""), "{msg}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let err = load(&[
        ("PORT", "eighty"),
        ("ENABLE_USER_REGISTRATION", "maybe"),
        ("GLITCHTIP_DOMAIN", "errors.example.com"),
        ("LOG_FORMAT", "xml"),
        ("GLITCHTIP_MAX_EVENT_LIFE_DAYS", "0"),
        ("FAULTLINE_TRUSTED_PROXIES", "10.0.0.0/33"),
    ])
    .unwrap_err();
    assert_eq!(err.problems.len(), 6, "{err}");
    let msg = err.to_string();
    assert!(msg.contains("PORT=\"eighty\" (from the environment) is not valid"), "{msg}");
    assert!(msg.contains("ENABLE_USER_REGISTRATION=\"maybe\""), "{msg}");
    assert!(msg.contains("with scheme"), "{msg}");
}

#[test]
fn file_values_sit_below_the_environment() {
    let toml = r#"
        port = 7000
        GLITCHTIP_DOMAIN = "https://from-file.example.com"
        allowed_hosts = ["a.example.com", "b.example.com"]
        enable_user_registration = false
    "#;
    let sources = Sources::from_env([("PORT", "7100")]).with_toml(toml, Path::new("faultline.toml")).unwrap();
    let config = Config::from_sources(&sources).unwrap();
    assert_eq!(config.http.port, 7100, "environment wins");
    assert_eq!(config.http.public_url, "https://from-file.example.com");
    assert_eq!(config.http.allowed_hosts, vec!["a.example.com", "b.example.com"]);
    assert!(!config.features.user_registration);

    let err = Sources::from_env([("X", "y")]).with_toml("port = [", Path::new("bad.toml")).unwrap_err();
    assert!(err.to_string().contains("bad.toml is not valid TOML"), "{err}");

    let sources = Sources::default().with_toml("port = \"x\"", Path::new("f.toml")).unwrap();
    let msg = Config::from_sources(&sources).unwrap_err().to_string();
    assert!(msg.contains("(from f.toml)"), "names the file: {msg}");
}

#[test]
fn describe_redacts_secrets() {
    let config = load(&[
        ("DATABASE_URL", "postgres://app:topsecret@db/gt"),
        ("SECRET_KEY", "a-very-secret-key-value"),
        ("EMAIL_URL", "smtp://mailer:mailpass@smtp.example.com:587"),
    ])
    .unwrap();
    let text = format!("{:?}", config.describe());
    assert!(!text.contains("topsecret"), "{text}");
    assert!(!text.contains("a-very-secret-key-value"), "{text}");
    assert!(!text.contains("mailpass"), "{text}");
    assert!(text.contains("smtp://mailer:********@smtp.example.com:587"), "{text}");
    assert!(!format!("{config:?}").contains("topsecret"));
}

#[test]
fn sqlite_secret_key_is_generated_in_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut config = load(&[("FAULTLINE_DATA_DIR", data.to_str().unwrap())]).unwrap();
    let warning = config.prepare_data_dir().unwrap().unwrap();
    assert!(warning.contains("generated"), "{warning}");
    let key = config.secret().clone();
    let mut again = load(&[("FAULTLINE_DATA_DIR", data.to_str().unwrap())]).unwrap();
    again.prepare_data_dir().unwrap();
    assert_eq!(again.secret(), &key, "the same key on the next start");
}
