//! `diming` — the command line: parse, configure, build the app, run.

#![cfg_attr(not(test), warn(clippy::string_slice, clippy::indexing_slicing))]
mod cli;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use diming::config::{default_dir, Config};
use diming::coverage::{self, CoverageOptions, Rules};
use diming::domain::{FacilityKind, FacilityStatus, Role};
use diming::spatial::StatusSet;
use diming::store::{self, Actor, LoadOutcome, Store};
use diming::{app, AppOptions, AppState};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

#[derive(Parser)]
#[command(name = "diming", version, about = "地名 — county civil-affairs geographic registry")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct Registry {
    /// Database URL.
    #[arg(long, env = "DIMING_DATABASE_URL", default_value = "sqlite://diming.db")]
    database: String,
    /// The bundled dataset to load into an empty database.
    #[arg(long, env = "DIMING_DATA_DIR")]
    data: Option<PathBuf>,
    /// Coverage rules (TOML).
    #[arg(long, env = "DIMING_RULES")]
    rules: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and the page; an empty database is migrated and loaded with the bundled dataset.
    Serve {
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, env = "DIMING_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[command(flatten)]
        registry: Registry,
        /// The page's static files.
        #[arg(long, env = "DIMING_WEB_DIR")]
        web: Option<PathBuf>,
        /// Optional raster basemap tile URL template ({z}/{x}/{y}), e.g. Tianditu.
        #[arg(long, env = "DIMING_BASEMAP_URL")]
        basemap_url: Option<String>,
        /// Attribution shown with the basemap.
        #[arg(long, env = "DIMING_BASEMAP_ATTRIBUTION", default_value = "")]
        basemap_attribution: String,
        /// The basemap's tiles are in GCJ-02 (AMap, Tencent): the page warns of the offset.
        #[arg(long, env = "DIMING_BASEMAP_GCJ02")]
        basemap_gcj02: bool,
    },
    /// Print per-township coverage of one facility kind (乡镇覆盖率).
    Coverage {
        /// Facility kind, e.g. care_home.
        #[arg(long)]
        kind: FacilityKind,
        /// Use a distance rule with this radius instead of the kind's default rule.
        #[arg(long)]
        radius_m: Option<f64>,
        /// A named rule from the rules file (e.g. care_home_beds).
        #[arg(long)]
        rule: Option<String>,
        /// Count XPCC (兵团) units too.
        #[arg(long)]
        include_xpcc: bool,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[command(flatten)]
        registry: Registry,
    },
    /// Import a GeoJSON or CSV file into a layer: every row is checked first and all
    /// problems are listed (row, field, message); then one transaction, all or nothing.
    Import {
        /// The file (GeoJSON or CSV; UTF-8, UTF-16 with BOM, or GBK/GB18030 — detected).
        file: PathBuf,
        /// facilities, places, settlements or divisions.
        #[arg(long)]
        layer: String,
        /// The file's CRS: EPSG:4490 (default, CGCS2000 lon/lat), EPSG:4326, CRS84,
        /// EPSG:4538 (CGCS2000 Gauss-Krüger CM 87E, x/y in metres) or GCJ-02 (AMap/Tencent).
        #[arg(long)]
        crs: Option<String>,
        /// geojson or csv (default: detected from the content).
        #[arg(long)]
        format: Option<String>,
        /// Check everything and report, write nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        registry: Registry,
    },
    /// Export a layer as GeoJSON or CSV, in any supported CRS.
    Export {
        /// divisions, facilities, settlements or places.
        #[arg(long)]
        layer: String,
        /// geojson (default) or csv.
        #[arg(long, default_value = "geojson")]
        format: String,
        /// EPSG:4490 / CRS84 (default), EPSG:4326, EPSG:4538 or GCJ-02.
        #[arg(long)]
        crs: Option<String>,
        /// utf-8 (default; CSV gets a BOM) or gbk (GB18030).
        #[arg(long, default_value = "utf-8")]
        encoding: String,
        /// Write here instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        #[command(flatten)]
        registry: Registry,
    },
    /// Copy a whole registry into a new database (e.g. a county's SQLite file into
    /// PostgreSQL): every record, its history and audit, accounts and API tokens,
    /// in one transaction; the target must be empty.
    MigrateDb {
        /// The source, e.g. sqlite://diming.db.
        #[arg(long)]
        from: String,
        /// The target, e.g. postgres://diming@db.example/diming.
        #[arg(long)]
        to: String,
    },
    /// Accounts: `diming user add NAME --role admin` creates the first administrator.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// The audit's hash chain.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// A consistent copy of the registry while the service runs and writes (SQLite:
    /// `VACUUM INTO`; PostgreSQL: `pg_dump`), checked before it is reported done.
    Backup {
        /// The backup file to write (must not exist).
        #[arg(long, short)]
        output: PathBuf,
        /// Database URL.
        #[arg(long, env = "DIMING_DATABASE_URL", default_value = "sqlite://diming.db")]
        database: String,
    },
    /// Put a backup back (stop the service first): it must be a diming registry whose
    /// audit chain verifies. A SQLite file replaced is kept beside it.
    Restore {
        /// The backup file.
        file: PathBuf,
        /// Database URL.
        #[arg(long, env = "DIMING_DATABASE_URL", default_value = "sqlite://diming.db")]
        database: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk the chain; names the first entry changed or removed, else prints the head.
    Verify {
        /// Database URL.
        #[arg(long, env = "DIMING_DATABASE_URL", default_value = "sqlite://diming.db")]
        database: String,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account; the password is read from DIMING_PASSWORD or from the
    /// first line of standard input (at least 10 characters).
    Add {
        username: String,
        /// viewer, editor, approver or admin.
        #[arg(long, default_value = "viewer")]
        role: Role,
        /// The name shown in the page and the audit (defaults to the username).
        #[arg(long)]
        name: Option<String>,
        /// Database URL.
        #[arg(long, env = "DIMING_DATABASE_URL", default_value = "sqlite://diming.db")]
        database: String,
    },
    /// List the accounts.
    List {
        #[arg(long, env = "DIMING_DATABASE_URL", default_value = "sqlite://diming.db")]
        database: String,
    },
    /// Deactivate an account: its sessions end and its API tokens stop working at once.
    Deactivate {
        username: String,
        #[arg(long, env = "DIMING_DATABASE_URL", default_value = "sqlite://diming.db")]
        database: String,
    },
    /// Reactivate an account.
    Activate {
        username: String,
        #[arg(long, env = "DIMING_DATABASE_URL", default_value = "sqlite://diming.db")]
        database: String,
    },
    /// List API tokens (id, account, name, created, revoked), of one account or all.
    Tokens {
        username: Option<String>,
        #[arg(long, env = "DIMING_DATABASE_URL", default_value = "sqlite://diming.db")]
        database: String,
    },
    /// Revoke an API token by the id `tokens` shows.
    RevokeToken {
        id: String,
        #[arg(long, env = "DIMING_DATABASE_URL", default_value = "sqlite://diming.db")]
        database: String,
    },
    /// List live login sessions, of one account or all.
    Sessions {
        username: Option<String>,
        #[arg(long, env = "DIMING_DATABASE_URL", default_value = "sqlite://diming.db")]
        database: String,
    },
    /// End a login session by the id `sessions` shows.
    EndSession {
        id: String,
        #[arg(long, env = "DIMING_DATABASE_URL", default_value = "sqlite://diming.db")]
        database: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
    Csv,
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DIMING_LOG").unwrap_or_else(|_| "info,sqlx=warn".into()),
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
    match cli.command {
        Command::Serve { listen, registry, web, basemap_url, basemap_attribution, basemap_gcj02 } => {
            let basemap =
                basemap_url.map(|url| diming::Basemap { url, attribution: basemap_attribution, gcj02: basemap_gcj02 });
            let config = Config {
                listen,
                database_url: registry.database.clone(),
                data_dir: registry.data.clone().unwrap_or_else(|| default_dir("data").join("manas")),
                web_dir: web.unwrap_or_else(|| default_dir("web")),
            };
            serve(config, load_rules(registry.rules.as_deref())?, basemap).await
        }
        Command::Coverage { kind, radius_m, rule, include_xpcc, format, registry } => {
            coverage_cli(kind, radius_m, rule, include_xpcc, format, &registry).await
        }
        Command::Import { file, layer, crs, format, dry_run, registry } => {
            import_cli(&file, &layer, crs.as_deref(), format.as_deref(), dry_run, &registry).await
        }
        Command::Export { layer, format, crs, encoding, output, registry } => {
            export_cli(&layer, &format, crs.as_deref(), &encoding, output.as_deref(), &registry).await
        }
        Command::MigrateDb { from, to } => migrate_db(&from, &to).await,
        Command::User { command: UserCommand::Add { username, role, name, database } } => {
            user_add(&username, role, name, &database).await
        }
        Command::User { command } => match command {
            UserCommand::Add { .. } => Ok(()),
            UserCommand::List { database } => cli::admin::users(&database).await,
            UserCommand::Deactivate { username, database } => cli::admin::set_active(&database, &username, false).await,
            UserCommand::Activate { username, database } => cli::admin::set_active(&database, &username, true).await,
            UserCommand::Tokens { username, database } => cli::admin::tokens(&database, username.as_deref()).await,
            UserCommand::RevokeToken { id, database } => cli::admin::revoke_token(&database, &id).await,
            UserCommand::Sessions { username, database } => cli::admin::sessions(&database, username.as_deref()).await,
            UserCommand::EndSession { id, database } => cli::admin::end_session(&database, &id).await,
        },
        Command::Audit { command: AuditCommand::Verify { database } } => cli::admin::audit_verify(&database).await,
        Command::Backup { output, database } => cli::admin::backup(&database, &output).await,
        Command::Restore { file, database } => cli::admin::restore(&database, &file).await,
    }
}

fn load_rules(path: Option<&Path>) -> anyhow::Result<Rules> {
    let path = path.map(Path::to_path_buf).unwrap_or_else(|| default_dir("data").join("coverage_rules.toml"));
    Rules::load(&path)
        .with_context(|| format!("cannot use the coverage rules in {} (--rules / DIMING_RULES)", path.display()))
}

/// Open the registry, loading the bundled dataset if the database is empty.
async fn open_registry(database_url: &str, data_dir: &Path) -> anyhow::Result<Arc<dyn Store>> {
    let store = store::open(database_url).await?;
    if store.loaded_dataset().await?.is_none() {
        let dataset = diming::import::dataset::load_dir(data_dir)
            .with_context(|| format!("cannot read the bundled dataset in {}", data_dir.display()))?;
        match store.load_dataset(&dataset, &Actor::system("dataset")).await? {
            LoadOutcome::Loaded { dataset, divisions, settlements, facilities } => tracing::info!(
                %dataset, divisions, settlements, facilities,
                "loaded the bundled dataset (synthetic layers are labelled provenance=synthetic)"
            ),
            LoadOutcome::AlreadyLoaded { dataset } => {
                tracing::info!(%dataset, "dataset already loaded by another process")
            }
        }
    }
    Ok(store)
}

async fn serve(config: Config, rules: Rules, basemap: Option<diming::Basemap>) -> anyhow::Result<()> {
    let started = Instant::now();
    let store = open_registry(&config.database_url, &config.data_dir).await?;
    let web_dir = config.web_dir.is_dir().then(|| config.web_dir.clone());
    let state = AppState::new(store, AppOptions { web_dir, rules, basemap }).await?;
    state.watch_store();
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {} (--listen / DIMING_LISTEN)", config.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(database = %config.database_for_log(), startup_ms = started.elapsed().as_millis() as u64, "ready");
    println!("listening on http://{addr}");
    std::io::stdout().flush().ok();
    // Answers go out whole at once; never wait on Nagle's algorithm.
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(listener, app(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

async fn coverage_cli(
    kind: FacilityKind,
    radius_m: Option<f64>,
    rule_id: Option<String>,
    include_xpcc: bool,
    format: Format,
    registry: &Registry,
) -> anyhow::Result<()> {
    let rules = load_rules(registry.rules.as_deref())?;
    let base = match &rule_id {
        Some(id) => {
            rules.get(id).filter(|r| r.kind == kind).with_context(|| format!("no rule `{id}` for {kind} (--rule)"))?
        }
        None => rules.default_for(kind).with_context(|| format!("no default rule for {kind}"))?,
    };
    let rule = match radius_m {
        Some(r) if r > 0.0 && r <= 1_000_000.0 => base.with_radius(r),
        Some(r) => anyhow::bail!("--radius-m must be > 0 and ≤ 1000000, not {r}"),
        None => base.clone(),
    };
    let data_dir = registry.data.clone().unwrap_or_else(|| default_dir("data").join("manas"));
    let store = open_registry(&registry.database, &data_dir).await?;
    let state = AppState::new(store, AppOptions { web_dir: None, rules: rules.clone(), basemap: None }).await?;
    let snap = state.snapshot();
    let opts = CoverageOptions { include_xpcc, statuses: StatusSet(FacilityStatus::Open.bit()) };
    let cov = coverage::compute(&snap, &rule, &opts, coverage::supplies(&snap, &rule, &opts));
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&cov)?)?,
        Format::Csv => {
            writeln!(out, "code,name,settlements,settlements_covered,population,population_covered,coverage_ratio,target,meets_target")?;
            for t in &cov.townships {
                writeln!(
                    out,
                    "{},{},{},{},{},{},{:.4},{},{}",
                    t.code,
                    t.name,
                    t.settlements,
                    t.settlements_covered,
                    t.population,
                    t.population_covered,
                    t.coverage_ratio,
                    t.target,
                    t.meets_target
                )?;
            }
        }
        Format::Table => {
            let rule_text = match rule.radius_m() {
                Some(r) => format!("{}（{} 米内）", rule.label, r),
                None => rule.label.clone(),
            };
            writeln!(out, "{} {} — 覆盖规则 rule: {} ({})", kind.label_zh(), kind, rule.id, rule_text)?;
            if cov.synthetic_data {
                writeln!(out, "注意：含合成示例数据 (includes synthetic sample data)")?;
            }
            let header = [
                "代码 code",
                "乡镇 township",
                "居民点",
                "已覆盖",
                "人口 population",
                "已覆盖人口",
                "覆盖率",
                "目标",
                "达标",
            ];
            let mut rows: Vec<[String; 9]> = cov
                .townships
                .iter()
                .map(|t| {
                    [
                        t.code.clone(),
                        t.name.clone(),
                        t.settlements.to_string(),
                        t.settlements_covered.to_string(),
                        t.population.to_string(),
                        t.population_covered.to_string(),
                        format!("{:.1}%", t.coverage_ratio * 100.0),
                        format!("{:.0}%", t.target * 100.0),
                        if t.meets_target { "是".into() } else { "否".into() },
                    ]
                })
                .collect();
            let c = &cov.county;
            let county_code = snap
                .divisions()
                .iter()
                .find(|d| d.division.level == diming::domain::DivisionLevel::County)
                .map(|d| d.division.code.to_string())
                .unwrap_or_default();
            rows.push([
                county_code,
                "全县 county".into(),
                c.settlements.to_string(),
                c.settlements_covered.to_string(),
                c.population.to_string(),
                c.population_covered.to_string(),
                format!("{:.1}%", c.coverage_ratio * 100.0),
                String::new(),
                format!("{}/{}", c.townships_meeting_target, c.townships),
            ]);
            print_table(&mut out, &header, &rows)?;
        }
    }
    Ok(())
}

/// The registry with its snapshot, as the server would hold it.
async fn cli_state(registry: &Registry) -> anyhow::Result<AppState> {
    let rules = load_rules(registry.rules.as_deref())?;
    let data_dir = registry.data.clone().unwrap_or_else(|| default_dir("data").join("manas"));
    let store = open_registry(&registry.database, &data_dir).await?;
    Ok(AppState::new(store, AppOptions { web_dir: None, rules, basemap: None }).await?)
}

/// Build the query an import or export would take over HTTP, and parse it the same way.
fn query_of(pairs: &[(&str, Option<&str>)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if let Some(v) = v {
            s.append_pair(k, v);
        }
    }
    s.finish()
}

async fn import_cli(
    file: &Path,
    layer: &str,
    crs: Option<&str>,
    format: Option<&str>,
    dry_run: bool,
    registry: &Registry,
) -> anyhow::Result<()> {
    use diming::api::import::{run, ImportFailure, ImportRequest, IMPORT_CRS};
    let layer = diming::import::Layer::parse(layer)
        .with_context(|| format!("--layer must be facilities, places, settlements or divisions, not {layer}"))?;
    let crs = match crs {
        Some(c) => Some(
            diming::spatial::crs::Crs::parse(c)
                .filter(|c| IMPORT_CRS.contains(c))
                .with_context(|| format!("--crs {c}: use EPSG:4490, EPSG:4326, CRS84, EPSG:4538 or GCJ-02"))?,
        ),
        None => None,
    };
    let format = match format {
        Some(f) => {
            Some(diming::import::read::Format::parse(f).with_context(|| format!("--format {f}: geojson or csv"))?)
        }
        None => match file.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("csv" | "txt") => Some(diming::import::read::Format::Csv),
            Some("geojson" | "json") => Some(diming::import::read::Format::GeoJson),
            _ => None,
        },
    };
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let state = cli_state(registry).await?;
    // The command line has the database itself: it acts with full rights, audited as such.
    let user = diming::domain::User {
        id: 0,
        username: "cli".into(),
        display_name: "命令行导入".into(),
        role: Role::Admin,
        active: true,
    };
    let actor = Actor(format!("system:import {}", file.file_name().and_then(|n| n.to_str()).unwrap_or("file")));
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message("写入 writing");
    let progress = {
        let bar = bar.clone();
        move |done: usize| {
            bar.set_position(done as u64);
        }
    };
    let req = ImportRequest { layer, format, crs, dry_run };
    // Rows are checked before the bar appears; the bar counts the writes.
    let total_hint = bytes.iter().filter(|&&b| b == b'\n').count();
    if total_hint > 1000 && !dry_run {
        bar.set_length(total_hint as u64);
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let outcome = run(&state, &user, &actor, &bytes, &req, &progress).await;
    bar.finish_and_clear();
    let mut err = std::io::stderr().lock();
    match outcome {
        Ok(r) => {
            for w in &r.warnings {
                writeln!(err, "提示 (warning): {w}")?;
            }
            for c in &r.changes {
                writeln!(err, "第 {} 行 (row {}) 更新 updates {}: {}", c.row, c.row, c.id, c.fields.join(", "))?;
            }
            let verb =
                if r.dry_run { "试导入（未写入）dry run, nothing written" } else { "已导入 imported" };
            println!(
                "{verb}: {} — {} 行 rows, 新增 created {}, 更新 updated {}, 未变 unchanged {} ({}, {}, {})",
                r.layer.as_str(),
                r.rows,
                r.created,
                r.updated,
                r.unchanged,
                match r.format {
                    diming::import::read::Format::GeoJson => "GeoJSON",
                    diming::import::read::Format::Csv => "CSV",
                },
                r.encoding,
                r.crs
            );
            Ok(())
        }
        Err(ImportFailure::Invalid(r)) => {
            for e in &r.errors {
                writeln!(err, "{e}")?;
            }
            anyhow::bail!(
                "{} 处错误，未写入任何记录 ({} problems in {}; nothing was written)",
                r.errors.len(),
                r.errors.len(),
                file.display()
            )
        }
        Err(ImportFailure::Denied(p)) => anyhow::bail!("{}", p.detail),
        Err(ImportFailure::Store(e)) => Err(e.into()),
    }
}

async fn export_cli(
    layer: &str,
    format: &str,
    crs: Option<&str>,
    encoding: &str,
    output: Option<&Path>,
    registry: &Registry,
) -> anyhow::Result<()> {
    let query =
        query_of(&[("layer", Some(layer)), ("format", Some(format)), ("crs", crs), ("encoding", Some(encoding))]);
    let mut p = diming::api::params::Params::parse(Some(&query));
    let req = diming::api::export::parse_request(&mut p, diming::import::read::Format::GeoJson);
    if let Err(problem) = p.finish() {
        let msgs: Vec<String> = problem.errors.iter().map(|e| format!("--{}: {}", e.field, e.message)).collect();
        anyhow::bail!("{}", msgs.join("; "));
    }
    let req = req.context("--layer is required")?;
    let state = cli_state(registry).await?;
    let places = state.places();
    let bytes = diming::api::export::export(&state.snapshot(), places.places(), req).map_err(anyhow::Error::msg)?;
    match output {
        Some(path) => {
            std::fs::write(path, &bytes).with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("已导出 exported {} → {} ({} bytes)", layer, path.display(), bytes.len());
        }
        None => std::io::stdout().lock().write_all(&bytes)?,
    }
    Ok(())
}

async fn migrate_db(from: &str, to: &str) -> anyhow::Result<()> {
    if let Some(path) = from.strip_prefix("sqlite://").or_else(|| from.strip_prefix("sqlite:")) {
        let path = path.split('?').next().unwrap_or(path);
        anyhow::ensure!(Path::new(path).is_file(), "--from {from}: no such file");
    }
    anyhow::ensure!(from != to, "--from and --to name the same database");
    let source = store::open(from).await?;
    let dump = source.dump().await?;
    let target = store::open(to).await?;
    target.restore(&dump).await?;
    let check = target.dump().await?;
    let counts = |d: &store::Dump| {
        [
            d.divisions.len(),
            d.settlements.len(),
            d.facilities.len(),
            d.places.len(),
            d.history.len(),
            d.audit.len(),
            d.users.len(),
            d.api_tokens.len(),
        ]
    };
    anyhow::ensure!(
        counts(&check) == counts(&dump),
        "the copy differs from the source: {:?} vs {:?}",
        counts(&check),
        counts(&dump)
    );
    println!(
        "已复制 copied {} → {}: {} 区划 divisions, {} 居民点 settlements, {} 设施 facilities, {} 地名 places, {} 版本 history rows, {} 审计 audit entries, {} 账号 accounts, {} 令牌 API tokens (sessions are not copied: users log in again)",
        source.describe(),
        target.describe(),
        dump.divisions.len(),
        dump.settlements.len(),
        dump.facilities.len(),
        dump.places.len(),
        dump.history.len(),
        dump.audit.len(),
        dump.users.len(),
        dump.api_tokens.len()
    );
    Ok(())
}

async fn user_add(username: &str, role: Role, name: Option<String>, database: &str) -> anyhow::Result<()> {
    let password = match std::env::var("DIMING_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            eprint!("密码 (password, at least 10 characters): ");
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    diming::accounts::check_password_policy(&password).map_err(anyhow::Error::msg)?;
    let username = username.trim();
    anyhow::ensure!(!username.is_empty(), "the username is empty");
    let store = store::open(database).await?;
    let hash = diming::accounts::hash_password(&password).map_err(anyhow::Error::msg)?;
    let new = store::NewUser {
        username: username.to_string(),
        display_name: name.unwrap_or_else(|| username.to_string()),
        role,
        password_hash: hash,
    };
    let user = store.create_user(&new, &Actor::system("cli")).await?;
    println!(
        "已创建用户 {}（{}） created user {} with role {}",
        user.username,
        role.label_zh(),
        user.username,
        role.as_str()
    );
    Ok(())
}

/// A plain-text table whose columns line up with CJK text (double-width characters).
fn print_table(out: &mut impl Write, header: &[&str; 9], rows: &[[String; 9]]) -> std::io::Result<()> {
    use unicode_width::UnicodeWidthStr;
    let mut widths: Vec<usize> = header.iter().map(|h| h.width()).collect();
    for r in rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.width());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                let pad = " ".repeat(w - c.width());
                // Text left-aligned, numbers right-aligned.
                if i < 2 {
                    format!("{c}{pad}")
                } else {
                    format!("{pad}{c}")
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    writeln!(out, "{}", line(header.to_vec()))?;
    writeln!(out, "{}", widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  "))?;
    for r in rows {
        writeln!(out, "{}", line(r.iter().map(String::as_str).collect()))?;
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
