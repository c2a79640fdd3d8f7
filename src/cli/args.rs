//! The command line's grammar: every command, option and its type. Values are
//! parsed here into the registry's own types (layer, format, encoding, CRS,
//! role, facility kind), so a command never sees text it must check again.

use clap::{Parser, Subcommand, ValueEnum};
use diming::domain::{FacilityKind, Role};
use diming::import::read::Format as FileFormat;
use diming::import::reference::Region;
use diming::import::Layer;
use diming::registry::coverage::MAX_DISTANCE_M;
use diming::registry::export::Encoding;
use diming::registry::import::IMPORT_CRS;
use diming::spatial::crs::Crs;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "diming", version, about = "地名 — county civil-affairs geographic registry")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Where the registry is: its database, the bundled dataset for an empty one,
/// and the coverage rules.
#[derive(clap::Args)]
pub struct RegistryArgs {
    /// Database URL.
    #[arg(long, env = "DIMING_DATABASE_URL", default_value = "sqlite://diming.db")]
    pub database: String,
    /// The bundled dataset to load into an empty database.
    #[arg(long, env = "DIMING_DATA_DIR")]
    pub data: Option<PathBuf>,
    /// Coverage rules (TOML).
    #[arg(long, env = "DIMING_RULES")]
    pub rules: Option<PathBuf>,
    /// For an empty database: the region to build from the national reference data
    /// instead of the bundled dataset — a province (2 digits), prefecture (4),
    /// county-level unit (6) or `all`.
    #[arg(long, env = "DIMING_REGION", value_parser = region)]
    pub region: Option<Region>,
    /// With --region: synthesise a labelled sample set of facilities per township.
    #[arg(long, env = "DIMING_SAMPLE_FACILITIES")]
    pub sample_facilities: bool,
}

/// Only the database (administrative commands read no dataset or rules).
#[derive(clap::Args)]
pub struct DatabaseArg {
    /// Database URL.
    #[arg(long, env = "DIMING_DATABASE_URL", default_value = "sqlite://diming.db")]
    pub database: String,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve the API and the page; an empty database is migrated and loaded with the bundled dataset.
    Serve {
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, env = "DIMING_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[command(flatten)]
        registry: RegistryArgs,
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
        /// Webhooks: the longest wait between two attempts of a failing delivery, seconds
        /// (the first retry waits 1 s, each next one twice as long).
        #[arg(long, env = "DIMING_WEBHOOK_RETRY_MAX", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
        webhook_retry_max: u64,
        /// Webhooks: deliveries failing for this many seconds mark the subscription `failing`.
        #[arg(long, env = "DIMING_WEBHOOK_FAILING_AFTER", default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
        webhook_failing_after: u64,
        /// Webhooks: the whole request's timeout, seconds.
        #[arg(long, env = "DIMING_WEBHOOK_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
        webhook_timeout: u64,
    },
    /// Build the registry of a region from the national reference data (real codes,
    /// names and outlines; synthetic township polygons, village points and
    /// populations, labelled). Adds the counties not yet in the database and
    /// changes nothing that is there. Without --region: the bundled Manas dataset.
    Init {
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Print per-township coverage of one facility kind (乡镇覆盖率).
    Coverage {
        /// Facility kind, e.g. care_home.
        #[arg(long)]
        kind: FacilityKind,
        /// Use a distance rule with this radius (metres, > 0 and ≤ 1000000) instead of the kind's default rule.
        #[arg(long, value_parser = radius_m)]
        radius_m: Option<f64>,
        /// A named rule from the rules file (e.g. care_home_beds).
        #[arg(long)]
        rule: Option<String>,
        /// Count XPCC (兵团) units too.
        #[arg(long)]
        include_xpcc: bool,
        /// The county to answer for (6-digit code); needed when the registry holds more
        /// than one. `--region` (a prefecture or province) answers per county instead.
        #[arg(long, value_parser = county)]
        county: Option<diming::domain::RegionCode>,
        #[arg(long, value_enum, default_value_t = Output::Table)]
        format: Output,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Import a GeoJSON or CSV file into a layer: every row is checked first and all
    /// problems are listed (row, field, message); then one transaction, all or nothing.
    Import {
        /// The file (GeoJSON or CSV; UTF-8, UTF-16 with BOM, or GBK/GB18030 — detected).
        file: PathBuf,
        /// facilities, places, settlements or divisions.
        #[arg(long, value_parser = layer)]
        layer: Layer,
        /// The file's CRS: EPSG:4490 (default, CGCS2000 lon/lat), EPSG:4326, CRS84,
        /// EPSG:4538 (CGCS2000 Gauss-Krüger CM 87E, x/y in metres) or GCJ-02 (AMap/Tencent).
        #[arg(long, value_parser = file_crs)]
        crs: Option<Crs>,
        /// geojson or csv (default: from the file's extension, else detected from the content).
        #[arg(long, value_parser = file_format)]
        format: Option<FileFormat>,
        /// Check everything and report, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Every row must be a record of this county (6-digit code): a file cannot
        /// change another county's records.
        #[arg(long, value_parser = county)]
        county: Option<diming::domain::RegionCode>,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Export a layer as GeoJSON or CSV, in any supported CRS.
    Export {
        /// divisions, facilities, settlements or places.
        #[arg(long, value_parser = layer)]
        layer: Layer,
        /// geojson (default) or csv.
        #[arg(long, value_parser = file_format, default_value = "geojson")]
        format: FileFormat,
        /// EPSG:4490 / CRS84 (default), EPSG:4326, EPSG:4538 or GCJ-02.
        #[arg(long, value_parser = file_crs)]
        crs: Option<Crs>,
        /// utf-8 (default; CSV gets a BOM) or gbk (GB18030).
        #[arg(long, value_parser = encoding, default_value = "utf-8")]
        encoding: Encoding,
        /// Write here instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Only the records of this county (6-digit code).
        #[arg(long, value_parser = county)]
        county: Option<diming::domain::RegionCode>,
        #[command(flatten)]
        registry: RegistryArgs,
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
    /// Webhook subscriptions: `diming webhook add URL --layer facilities --county 652324`
    /// POSTs each committed change there, signed (docs/API.md, "Webhooks").
    Webhook {
        #[command(subcommand)]
        command: WebhookCommand,
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
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// Put a backup back (stop the service first): it must be a diming registry whose
    /// audit chain verifies. A SQLite file replaced is kept beside it.
    Restore {
        /// The backup file.
        file: PathBuf,
        #[command(flatten)]
        db: DatabaseArg,
    },
}

#[derive(Subcommand)]
pub enum WebhookCommand {
    /// Subscribe a URL; prints the subscription and its signing secret (shown only now).
    Add {
        /// An http or https URL.
        url: String,
        /// Only this layer (divisions, settlements, facilities, places); repeat for more.
        #[arg(long = "layer")]
        layers: Vec<String>,
        /// Only this county (6 digits); repeat for more.
        #[arg(long = "county")]
        counties: Vec<String>,
        /// The signing secret (16..=256 characters); default: a random one.
        #[arg(long, env = "DIMING_WEBHOOK_SECRET")]
        secret: Option<String>,
        /// Deliver the changes after this number (0: the whole registry); default: only new ones.
        #[arg(long)]
        after: Option<i64>,
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// List the subscriptions and where their deliveries stand.
    List {
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// Stop a subscription's deliveries (it stays, with its log).
    Disable {
        id: i64,
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// Deliver again after change `--after` (default: retry now), active again.
    Replay {
        id: i64,
        #[arg(long)]
        after: Option<i64>,
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// A subscription's latest delivery attempts.
    Deliveries {
        id: i64,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[command(flatten)]
        db: DatabaseArg,
    },
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Walk the chain; names the first entry changed or removed, else prints the head.
    Verify {
        #[command(flatten)]
        db: DatabaseArg,
    },
}

#[derive(Subcommand)]
pub enum UserCommand {
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
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// List the accounts.
    List {
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// Deactivate an account: its sessions end and its API tokens stop working at once.
    Deactivate {
        username: String,
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// Reactivate an account.
    Activate {
        username: String,
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// List API tokens (id, account, name, created, revoked), of one account or all.
    Tokens {
        username: Option<String>,
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// Revoke an API token by the id `tokens` shows.
    RevokeToken {
        id: String,
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// List live login sessions, of one account or all.
    Sessions {
        username: Option<String>,
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// End a login session by the id `sessions` shows.
    EndSession {
        id: String,
        #[command(flatten)]
        db: DatabaseArg,
    },
}

/// How `coverage` prints.
#[derive(Clone, Copy, ValueEnum)]
pub enum Output {
    Table,
    Json,
    Csv,
}

fn layer(s: &str) -> Result<Layer, String> {
    Layer::parse(s).ok_or_else(|| format!("须为 {} (one of these layers)", Layer::ALL.map(Layer::as_str).join(", ")))
}

fn file_format(s: &str) -> Result<FileFormat, String> {
    FileFormat::parse(s).ok_or_else(|| "须为 geojson 或 csv (geojson or csv)".to_string())
}

fn encoding(s: &str) -> Result<Encoding, String> {
    Encoding::parse(s).ok_or_else(|| "须为 utf-8 或 gbk (utf-8 or gbk)".to_string())
}

fn file_crs(s: &str) -> Result<Crs, String> {
    Crs::parse(s)
        .filter(|c| IMPORT_CRS.contains(c))
        .ok_or_else(|| "use EPSG:4490, EPSG:4326, CRS84, EPSG:4538 or GCJ-02".to_string())
}

fn radius_m(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(r) if r > 0.0 && r <= MAX_DISTANCE_M => Ok(r),
        _ => Err(format!("radius must be > 0 and ≤ {MAX_DISTANCE_M} metres")),
    }
}

fn county(s: &str) -> Result<diming::domain::RegionCode, String> {
    match s.parse::<diming::domain::RegionCode>() {
        Ok(c) if c.is_county() => Ok(c),
        _ => Err("须为 6 位县级区划代码 (a county is named by its 6-digit code)".into()),
    }
}

fn region(s: &str) -> Result<Region, String> {
    s.parse()
}
