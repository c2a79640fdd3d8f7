//! `diming` — the command line: parse, configure, build the app, run.

use anyhow::Context;
use clap::{Parser, Subcommand};
use diming::config::{default_dir, Config};
use diming::store::{self, Actor, LoadOutcome};
use diming::{app, AppState};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "diming",
    version,
    about = "地名 — county civil-affairs geographic registry"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and the page; an empty database is migrated and loaded with the bundled dataset.
    Serve {
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, env = "DIMING_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Database URL.
        #[arg(
            long,
            env = "DIMING_DATABASE_URL",
            default_value = "sqlite://diming.db"
        )]
        database: String,
        /// The bundled dataset to load into an empty database.
        #[arg(long, env = "DIMING_DATA_DIR")]
        data: Option<PathBuf>,
        /// The page's static files.
        #[arg(long, env = "DIMING_WEB_DIR")]
        web: Option<PathBuf>,
    },
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DIMING_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("错误 (error): cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("错误 (error): {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            listen,
            database,
            data,
            web,
        } => {
            let config = Config {
                listen,
                database_url: normalize_sqlite_url(&database),
                data_dir: data.unwrap_or_else(|| default_dir("data").join("manas")),
                web_dir: web.unwrap_or_else(|| default_dir("web")),
            };
            serve(config).await
        }
    }
}

/// `sqlite:FILE` and `sqlite://FILE` both name a file relative to the working directory.
fn normalize_sqlite_url(url: &str) -> String {
    url.to_string()
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let started = Instant::now();
    let store = store::open(&config.database_url).await?;
    if store.loaded_dataset().await?.is_none() {
        let dataset = diming::import::dataset::load_dir(&config.data_dir).with_context(|| {
            format!(
                "cannot read the bundled dataset in {}",
                config.data_dir.display()
            )
        })?;
        match store
            .load_dataset(&dataset, &Actor::system("dataset"))
            .await?
        {
            LoadOutcome::Loaded {
                dataset,
                divisions,
                settlements,
                facilities,
            } => tracing::info!(
                %dataset, divisions, settlements, facilities,
                "loaded the bundled dataset (synthetic layers are labelled provenance=synthetic)"
            ),
            LoadOutcome::AlreadyLoaded { dataset } => {
                tracing::info!(%dataset, "dataset already loaded by another process")
            }
        }
    }
    let web_dir = config.web_dir.is_dir().then(|| config.web_dir.clone());
    let state = AppState::new(store, web_dir).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (--listen / DIMING_LISTEN)",
                config.listen
            )
        })?;
    let addr = listener.local_addr()?;
    tracing::info!(database = %config.database_for_log(), startup_ms = started.elapsed().as_millis() as u64, "ready");
    println!("listening on http://{addr}");
    std::io::stdout().flush().ok();
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
