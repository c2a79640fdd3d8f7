//! `diming serve`: open the registry, follow other processes' writes, serve HTTP
//! until SIGINT or SIGTERM.

use super::args::RegistryArgs;
use anyhow::Context;
use diming::config::{default_dir, Config};
use diming::registry::Registry;
use diming::{AppState, Basemap};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

pub async fn serve(
    listen: SocketAddr,
    registry: &RegistryArgs,
    web: Option<PathBuf>,
    basemap: Option<Basemap>,
    deliveries: diming::registry::webhooks::DeliveryOptions,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let config = Config {
        listen,
        database_url: registry.database.clone(),
        data_dir: super::data_dir(registry),
        web_dir: web.unwrap_or_else(|| default_dir("web")),
    };
    let rules = super::load_rules(registry.rules.as_deref())?;
    let store = super::open_store(registry).await?;
    let web_dir = config.web_dir.is_dir().then(|| config.web_dir.clone());
    let registry = Registry::open(store, rules).await?;
    registry.watch_store();
    let state = AppState::with_registry(registry, web_dir, basemap);
    let timeout = deliveries.timeout;
    let deliverer = state.registry().deliver_webhooks(deliveries, state.closing());
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {} (--listen / DIMING_LISTEN)", config.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(database = %config.database_for_log(), startup_ms = started.elapsed().as_millis() as u64, "ready");
    println!("listening on http://{addr}");
    std::io::stdout().flush().ok();
    diming::api::serve(listener, state, shutdown_signal()).await?;
    // The delivery in flight finishes and is recorded (a receiver's 2xx is not
    // forgotten by a restart).
    if tokio::time::timeout(timeout + std::time::Duration::from_secs(5), deliverer).await.is_err() {
        tracing::warn!("webhooks: the delivery in flight did not finish in time");
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
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
