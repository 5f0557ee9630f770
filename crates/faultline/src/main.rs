//! The `faultline` command.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use faultline::{logging, start, StartOptions};
use faultline_config::{Config, DatabaseKind};
use faultline_domain::{accounts, DomainError};
use faultline_store::Store;
use tokio::net::TcpListener;

// Event processing allocates many small objects; mimalloc handles that pattern far
// better than the system allocator (about 1.7x faster JSON parsing here).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay`: its place in `mi_option_e` (mimalloc.h), which
/// the Rust bindings do not name.
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

/// mimalloc keeps freed memory committed for a second before it gives it back to the
/// OS. Under load that second of churn is tens of MB resident that nothing uses; a
/// tenth of a second keeps the reuse and gives back the rest (peak RSS under load
/// 158 → 147–149 MB at no measured cost in throughput: docs/benchmarks.md). An
/// operator's `MIMALLOC_PURGE_DELAY` still decides.
#[allow(unsafe_code)]
fn tune_allocator() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: only stores an option's value, which mimalloc allows at any time.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 100) };
    }
}

#[derive(Parser)]
#[command(name = "faultline", version, about = "Self-hosted, Sentry-compatible error tracking in one binary")]
struct Cli {
    /// A TOML file with settings (keys are the environment variable names); the
    /// environment overrides it. Also read from FAULTLINE_CONFIG.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP and run the background workers and scheduler (the default).
    Serve,
    /// Run only the background workers and scheduler.
    Worker,
    /// Serve only HTTP (ingest, API, UI); run `faultline worker` elsewhere to digest.
    Web,
    /// Apply database migrations and exit.
    Migrate,
    /// Create a superuser (non-interactive).
    Createsuperuser {
        /// Email address; or DJANGO_SUPERUSER_EMAIL.
        #[arg(long)]
        email: Option<String>,
        /// Password; or DJANGO_SUPERUSER_PASSWORD.
        #[arg(long)]
        password: Option<String>,
    },
    /// Print the effective configuration, secrets redacted.
    Config,
    /// Create and list projects (prints DSNs, for scripts and load tests).
    Projects {
        #[command(subcommand)]
        command: ProjectsCommand,
    },
    /// Create API tokens (so automation can start from nothing).
    Tokens {
        #[command(subcommand)]
        command: TokensCommand,
    },
}

#[derive(Subcommand)]
enum TokensCommand {
    /// Create a token for a user and print it.
    Create {
        /// The user's email.
        #[arg(long)]
        email: String,
        /// Comma-separated scopes, e.g. org:read,project:write,event:read.
        #[arg(long)]
        scopes: String,
        /// A label to recognize it by.
        #[arg(long, default_value = "")]
        label: String,
    },
}

#[derive(Subcommand)]
enum ProjectsCommand {
    /// Create a project (and its organization if needed); prints its DSN.
    Create {
        /// Organization slug; created if it does not exist.
        #[arg(long)]
        org: String,
        /// Project name.
        #[arg(long)]
        name: String,
        /// SDK platform (python, javascript, node, …).
        #[arg(long)]
        platform: Option<String>,
    },
    /// List every project as `org/project DSN`.
    List,
}

fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref())?;
    let command = cli.command.unwrap_or(Command::Serve);
    if !matches!(command, Command::Config) {
        logging::init(&config.logging);
    }
    match command {
        Command::Serve => serve(config, true, true).await,
        Command::Worker => serve(config, false, true).await,
        Command::Web => serve(config, true, false).await,
        Command::Migrate => migrate(config).await,
        Command::Createsuperuser { email, password } => createsuperuser(config, email, password).await,
        Command::Config => {
            print_config(&config);
            Ok(())
        }
        Command::Projects { command } => projects(config, command).await,
        Command::Tokens { command: TokensCommand::Create { email, scopes, label } } => {
            create_token(config, &email, &scopes, &label).await
        }
    }
}

async fn serve(config: Config, http: bool, workers: bool) -> anyhow::Result<()> {
    let listener = if http {
        let addr = (config.http.bind_address, config.http.port);
        let listener = TcpListener::bind(addr).await.with_context(|| {
            format!("cannot listen on {}:{} (set PORT or BIND_ADDRESS to use another)", addr.0, addr.1)
        })?;
        Some(listener)
    } else {
        None
    };
    let running = start(config, StartOptions { listener, workers }).await?;
    tokio::spawn(faultline::memory::give_back_startup_code());
    let token = running.shutdown_token();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing in-flight requests and jobs");
        token.cancel();
    });
    running.wait().await
}

async fn wait_for_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}

async fn open_store(mut config: Config) -> anyhow::Result<Store> {
    if let Some(warning) = config.prepare_data_dir()? {
        tracing::warn!("{warning}");
    }
    let store = Store::connect(&config.database).await?;
    store.migrate().await.context("cannot bring the database schema up to date")?;
    Ok(store)
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    let kind = config.database.kind;
    let store = open_store(config).await?;
    store.close().await;
    let latest =
        faultline_store::migration_versions(kind).last().map(|(v, d)| format!("{v} ({d})")).unwrap_or_default();
    println!("database schema is up to date (latest migration {latest})");
    Ok(())
}

async fn createsuperuser(config: Config, email: Option<String>, password: Option<String>) -> anyhow::Result<()> {
    let from_env = |names: &[&str]| names.iter().find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()));
    let Some(email) = email.or_else(|| from_env(&["DJANGO_SUPERUSER_EMAIL", "FAULTLINE_SUPERUSER_EMAIL"])) else {
        bail!("no email given: pass --email or set DJANGO_SUPERUSER_EMAIL");
    };
    let Some(password) = password.or_else(|| from_env(&["DJANGO_SUPERUSER_PASSWORD", "FAULTLINE_SUPERUSER_PASSWORD"]))
    else {
        bail!("no password given: pass --password or set DJANGO_SUPERUSER_PASSWORD");
    };
    let store = open_store(config).await?;
    let result = accounts::create_superuser(&store, &email, &password).await;
    store.close().await;
    match result {
        Ok(user) => {
            println!("superuser {} created (id {})", user.email, user.id);
            Ok(())
        }
        Err(DomainError::Store(e)) => Err(e.into()),
        Err(e) => bail!("{e}"),
    }
}

async fn projects(config: Config, command: ProjectsCommand) -> anyhow::Result<()> {
    let (public_url, base_path) = (config.http.public_url.clone(), config.http.base_path.clone());
    let store = open_store(config).await?;
    let result = match command {
        ProjectsCommand::Create { org, name, platform } => {
            match faultline_domain::projects::provision(&store, &org, &name, platform.as_deref()).await {
                Ok(p) => {
                    println!("{}", faultline_domain::projects::dsn(&public_url, &base_path, &p.key));
                    Ok(())
                }
                Err(DomainError::Store(e)) => Err(e.into()),
                Err(e) => Err(anyhow::anyhow!("{e}")),
            }
        }
        ProjectsCommand::List => match store.project_listing().await {
            Ok(rows) => {
                for row in rows {
                    let dsn = row
                        .public_key
                        .map(|k| {
                            faultline_protocol::Dsn::for_server(
                                &format!("{public_url}{base_path}"),
                                &k,
                                row.project_id.0 as u64,
                            )
                        })
                        .unwrap_or_else(|| "(no active key)".into());
                    println!("{}/{} {dsn}", row.organization_slug, row.project_slug);
                }
                Ok(())
            }
            Err(e) => Err(e.into()),
        },
    };
    store.close().await;
    result
}

async fn create_token(config: Config, email: &str, scopes: &str, label: &str) -> anyhow::Result<()> {
    let scopes = match faultline_domain::access::Scopes::parse_list(scopes) {
        Ok(s) => s,
        Err(e) => bail!("{e}; scopes are {}", faultline_domain::access::Scopes::all().names().join(", ")),
    };
    let store = open_store(config).await?;
    let result = async {
        let Some(user) = store.user_by_email(email).await? else { bail!("no user with the email {email}") };
        match faultline_domain::tokens::create(&store, &user, label, scopes).await {
            Ok((_, secret)) => {
                println!("{secret}");
                Ok(())
            }
            Err(DomainError::Store(e)) => Err(e.into()),
            Err(e) => bail!("{e}"),
        }
    }
    .await;
    store.close().await;
    result
}

fn print_config(config: &Config) {
    for (name, value) in config.describe() {
        let value = match (name, value.as_str()) {
            ("SECRET_KEY", "(unset)") if config.database.kind == DatabaseKind::Sqlite => {
                format!(
                    "(unset: generated on first start and kept in {})",
                    config.data_dir.join("secret_key").display()
                )
            }
            _ => value,
        };
        println!("{name}={value}");
    }
}

#[cfg(test)]
mod tests {
    /// The option number is not named by the bindings: check that it is the purge
    /// delay of the mimalloc in use (default 1,000 ms in v3), so an upgrade that
    /// renumbers the options fails here instead of silently tuning something else.
    #[test]
    #[allow(unsafe_code)]
    fn option_number_is_the_purge_delay() {
        assert!(
            std::env::var_os("MIMALLOC_PURGE_DELAY").is_none(),
            "MIMALLOC_PURGE_DELAY is set: unset it to run this test"
        );
        // SAFETY: reads an option's value.
        let default = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert_eq!(default, 1000, "mi_option_e has changed: look up mi_option_purge_delay in mimalloc.h");
        super::tune_allocator();
        // SAFETY: as above.
        assert_eq!(unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) }, 100);
    }
}
