//! `diming` — the command line: parse (`cli::args`), then hand each command to
//! its module in `cli/`, which calls the registry's use cases.

#![cfg_attr(not(test), warn(clippy::string_slice, clippy::indexing_slicing))]
mod cli;

use clap::Parser;
use cli::args::{AuditCommand, Cli, Command, UserCommand};

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DIMING_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn,sqlx::query=error".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
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
    use cli::{admin, coverage, interop, serve};
    match cli.command {
        Command::Serve {
            listen,
            registry,
            web,
            basemap_url,
            basemap_attribution,
            basemap_gcj02,
            webhook_retry_max,
            webhook_failing_after,
            webhook_timeout,
        } => {
            let basemap =
                basemap_url.map(|url| diming::Basemap { url, attribution: basemap_attribution, gcj02: basemap_gcj02 });
            let deliveries = diming::registry::webhooks::DeliveryOptions {
                retry_max: std::time::Duration::from_secs(webhook_retry_max),
                failing_after: std::time::Duration::from_secs(webhook_failing_after),
                timeout: std::time::Duration::from_secs(webhook_timeout),
                ..Default::default()
            };
            serve::serve(listen, &registry, web, basemap, deliveries).await
        }
        Command::Init { registry } => cli::init::run(&registry).await,
        Command::Coverage { kind, radius_m, rule, include_xpcc, county, format, registry } => {
            coverage::run(coverage::Options { kind, radius_m, rule, include_xpcc, county, format }, &registry).await
        }
        Command::Import { file, layer, crs, format, dry_run, county, registry } => {
            interop::import(interop::ImportOptions { file: &file, layer, crs, format, dry_run, county }, &registry)
                .await
        }
        Command::Export { layer, format, crs, encoding, output, county, registry } => {
            let o = interop::ExportOptions { layer, format, crs, encoding, output: output.as_deref(), region: county };
            interop::export(o, &registry).await
        }
        Command::MigrateDb { from, to } => interop::migrate_db(&from, &to).await,
        Command::User { command } => match command {
            UserCommand::Add { username, role, name, db } => admin::user_add(&username, role, name, &db.database).await,
            UserCommand::List { db } => admin::users(&db.database).await,
            UserCommand::Deactivate { username, db } => admin::set_active(&db.database, &username, false).await,
            UserCommand::Activate { username, db } => admin::set_active(&db.database, &username, true).await,
            UserCommand::Tokens { username, db } => admin::tokens(&db.database, username.as_deref()).await,
            UserCommand::RevokeToken { id, db } => admin::revoke_token(&db.database, &id).await,
            UserCommand::Sessions { username, db } => admin::sessions(&db.database, username.as_deref()).await,
            UserCommand::EndSession { id, db } => admin::end_session(&db.database, &id).await,
        },
        Command::Webhook { command } => admin::webhook(command).await,
        Command::Audit { command: AuditCommand::Verify { db } } => admin::audit_verify(&db.database).await,
        Command::Backup { output, db } => admin::backup(&db.database, &output).await,
        Command::Restore { file, db } => admin::restore(&db.database, &file).await,
    }
}
