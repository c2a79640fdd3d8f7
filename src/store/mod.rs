//! The registry's source of truth: SQL tables, history and audit, behind three
//! traits by concern — `RegistryStore` (the records), `AccountStore` (users and
//! their credentials), `AdminStore` (the registry as a whole) — that `Store` joins
//! for `Arc<dyn Store>`.
//!
//! Owns: transactions, version checks, history rows and audit entries. Every write
//! is one transaction that changes the record, appends its history row and its audit
//! entry, or changes nothing. Must not: know about HTTP or the spatial snapshot;
//! the SQL both backends share is written once (`sql`, generic over sqlx's
//! `Database`); what is dialect-specific (opening, locking, notification) stays
//! inside its backend module (`sqlite`, `postgres`).

pub mod chain;
mod postgres;
mod records;
mod sql;
mod sqlite;

pub use postgres::PgStore;
pub use records::{division_json, facility_json, place_json, settlement_json, Dataset};
pub use sqlite::SqliteStore;

use crate::domain::{Division, Facility, NewFacility, Place, Role, Settlement, User};
use async_trait::async_trait;
use serde::Serialize;
use std::sync::Arc;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("无法打开数据库 {target} (cannot open the database): {reason}")]
    Open { target: String, reason: String },
    #[error("{target} 不是 diming 地名库 (is not a diming registry): {reason}")]
    Foreign { target: String, reason: String },
    #[error("不支持的数据库地址 {0} (unsupported database URL; use sqlite://FILE or postgres://USER@HOST/DB)")]
    UnsupportedUrl(String),
    #[error("{entity} {id} already exists")]
    Duplicate { entity: &'static str, id: String },
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: String },
    #[error("{entity} {id} is at version {current}, not {expected}")]
    Stale { entity: &'static str, id: String, current: i64, expected: i64 },
    #[error("stored record is not valid: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Who made a change: `user:NAME`, `token:NAME` or `system:WHAT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(pub String);

impl Actor {
    pub fn system(what: &str) -> Self {
        Actor(format!("system:{what}"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadOutcome {
    Loaded { dataset: String, divisions: usize, settlements: usize, facilities: usize },
    AlreadyLoaded { dataset: String },
}

/// One stored version of a record.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HistoryRow {
    pub entity: String,
    pub entity_id: String,
    pub version: i64,
    /// The change of the registry's sequence that wrote this version (the number
    /// `GET /health` and `GET /api/v1/changes` count in).
    pub seq: i64,
    /// The record as it was at this version.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub changed_at: String,
    /// `user:NAME`, `token:NAME` or `system:…`.
    pub actor: String,
    /// e.g. `create`, `update`, `move`, `close`, `approve`, `rename`, `retire`.
    pub action: String,
}

/// One committed change of the sequence: which record, not what it became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRef {
    pub seq: i64,
    pub entity: String,
    pub entity_id: String,
}

/// The layers of the change feed, by the entity their history rows name.
pub const FEED_ENTITIES: [&str; 4] = ["division", "settlement", "facility", "place"];

/// What a page of the change feed asks for (`RegistryStore::feed`).
#[derive(Debug, Clone)]
pub struct FeedQuery<'a> {
    /// Only changes numbered above this.
    pub after: i64,
    /// Only records of these entities (a subset of `FEED_ENTITIES`; empty: all of them).
    pub entities: &'a [&'static str],
    /// Only records of these county-level units (6 digits each; empty: of any or none).
    pub counties: &'a [&'a str],
    /// Records at least, when there are so many: the page ends with a whole change
    /// (a county added at once is never split), so it may hold more.
    pub limit: i64,
}

/// A record as one change left it, for the change feed.
#[derive(Debug, Clone)]
pub struct FeedEntry {
    pub seq: i64,
    pub entity: String,
    pub entity_id: String,
    pub version: i64,
    pub at: String,
    pub action: String,
    /// The record's JSON text as history keeps it (`records::*_json`).
    pub data: String,
}

/// A page of the change feed.
#[derive(Debug, Clone)]
pub struct FeedPage {
    pub entries: Vec<FeedEntry>,
    /// Every change numbered up to this is in `entries` or does not match: the next
    /// page asks for changes after it. At least the query's `after`.
    pub through: i64,
}

/// One audited action, with the record before and after.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    /// The hash of the entry before (`chain::GENESIS` for the first); `None` only
    /// for an entry written around the chain.
    pub prev_hash: Option<String>,
    /// SHA-256 of this entry's content and `prev_hash` (`chain::entry_hash`).
    pub hash: Option<String>,
}

/// The registry's records and their past: divisions, settlements, facilities and
/// place names, their load, imports and writes, the history and audit of a record,
/// and the signals that another process wrote.
#[async_trait]
pub trait RegistryStore: Send + Sync + 'static {
    /// The id of the bundled dataset this database was loaded from, if any.
    async fn loaded_dataset(&self) -> StoreResult<Option<String>>;

    /// Load a dataset into an empty registry, once: every record with its history
    /// row and audit entry, in one transaction. A second call (from this or another
    /// process) finds the marker and loads nothing.
    async fn load_dataset(&self, dataset: &Dataset, actor: &Actor) -> StoreResult<LoadOutcome>;

    /// Add county-level units' records (each dataset holds one county, by its code,
    /// and what lies in it), skipping every county whose division is already there,
    /// in one transaction: every record with its history row (action `init`) and one
    /// audit entry per county (entity `region`). Existing records are never touched.
    /// Returns, per county, whether it was added. (Several counties per transaction:
    /// a commit waits for the disk, and the country has 2,978 of them.)
    async fn add_counties(&self, counties: &[(String, Dataset)], actor: &Actor) -> StoreResult<Vec<bool>>;

    async fn divisions(&self) -> StoreResult<Vec<Division>>;
    async fn settlements(&self) -> StoreResult<Vec<Settlement>>;
    async fn facilities(&self) -> StoreResult<Vec<Facility>>;
    async fn facility(&self, id: &str) -> StoreResult<Option<Facility>>;

    /// Register a facility; it gets a fresh id and version 1.
    async fn create_facility(&self, new: &NewFacility, actor: &Actor) -> StoreResult<Facility>;

    /// Replace a facility's fields if it is still at `expected_version`
    /// (`StoreError::Stale` otherwise); `action` names the change for the audit
    /// (`update`, `move`, `close`…).
    async fn update_facility(
        &self,
        id: &str,
        expected_version: i64,
        fields: &NewFacility,
        action: &str,
        actor: &Actor,
    ) -> StoreResult<Facility>;

    async fn places(&self) -> StoreResult<Vec<Place>>;

    /// Register a place name; the store gives it an id (`p00001`…) and version 1,
    /// ignoring those of `place`.
    async fn create_place(&self, place: &Place, actor: &Actor) -> StoreResult<Place>;

    /// Replace several place records in one transaction, each only if still at its
    /// expected version (a renaming approves one name and retires another).
    async fn update_places(&self, changes: &[PlaceChange], actor: &Actor) -> StoreResult<Vec<Place>>;

    /// Apply a validated import in one transaction, all or nothing: every record
    /// with its history row and audit entry. `progress` is told how many
    /// operations are done, now and then.
    async fn import(
        &self,
        batch: &[ImportOp],
        actor: &Actor,
        progress: &(dyn Fn(usize) + Send + Sync),
    ) -> StoreResult<Vec<String>>;

    /// Every stored version of a record, oldest first.
    async fn history(&self, entity: &str, id: &str) -> StoreResult<Vec<HistoryRow>>;

    /// Audit entries for a record, oldest first.
    async fn audit(&self, entity: &str, id: &str) -> StoreResult<Vec<AuditEntry>>;

    /// Grows with every committed write, whichever process made it (the newest audit id).
    async fn change_marker(&self) -> StoreResult<i64>;

    /// The change sequence after `after`: up to `limit` committed changes in order,
    /// each its sequence number (the audit id) and the record it changed. Writes
    /// hold the write lock while they take their number, so numbers commit in order
    /// and a reader that has applied up to `n` has missed nothing below it.
    async fn changes_after(&self, after: i64, limit: i64) -> StoreResult<Vec<ChangeRef>>;

    /// A page of the change feed: the records of the registry's layers as each
    /// committed change after `q.after` left them, in the order of the sequence, from
    /// an index whatever the registry's size.
    async fn feed(&self, q: &FeedQuery<'_>) -> StoreResult<FeedPage>;

    /// Signals that another process may have written: PostgreSQL's LISTEN/NOTIFY, or
    /// for SQLite a cheap poll of `change_marker`. A signal may be spurious; compare
    /// the marker.
    fn watch(&self) -> tokio::sync::mpsc::Receiver<()>;
}

/// Accounts and their credentials: users, login sessions and API tokens, each kept
/// by its hash only.
#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// Create an account (`Duplicate` if the name is taken), audited.
    async fn create_user(&self, new: &NewUser, actor: &Actor) -> StoreResult<User>;
    /// An account and its password hash.
    async fn user_by_name(&self, username: &str) -> StoreResult<Option<(User, String)>>;
    async fn count_users(&self) -> StoreResult<i64>;
    /// Keep a session (by its token's hash) until `expires_at` (RFC 3339).
    async fn create_session(
        &self,
        user_id: i64,
        token_hash: &str,
        csrf_token: &str,
        expires_at: &str,
    ) -> StoreResult<()>;
    /// The live session's account and CSRF token.
    async fn session_user(&self, token_hash: &str) -> StoreResult<Option<(User, String)>>;
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;
    /// Keep an API token (by its hash) for an account, audited.
    async fn create_api_token(&self, user_id: i64, name: &str, token_hash: &str, actor: &Actor) -> StoreResult<()>;
    /// The account of a live (not revoked) API token.
    async fn token_user(&self, token_hash: &str) -> StoreResult<Option<User>>;
    /// Every account, by id.
    async fn users(&self) -> StoreResult<Vec<User>>;
    /// Activate or deactivate an account, audited; deactivating ends its sessions,
    /// and its tokens stop working at once (every request reads `active`).
    async fn set_user_active(&self, username: &str, active: bool, actor: &Actor) -> StoreResult<User>;
    /// API tokens (revoked ones too), of one account or of all.
    async fn api_tokens(&self, user_id: Option<i64>) -> StoreResult<Vec<ApiToken>>;
    /// Revoke a token by its id (`ApiToken::id`), audited; `NotFound` if none.
    async fn revoke_api_token(&self, id: &str, actor: &Actor) -> StoreResult<ApiToken>;
    /// Live sessions, of one account or of all.
    async fn sessions(&self, user_id: Option<i64>) -> StoreResult<Vec<LoginSession>>;
    /// End a session by its id (`LoginSession::id`), audited; `NotFound` if none.
    async fn end_session(&self, id: &str, actor: &Actor) -> StoreResult<LoginSession>;
}

/// The registry as a whole, for its administration: where it is, its copy out and
/// in, and the audit chain read in pages and sealed.
#[async_trait]
pub trait AdminStore: Send + Sync + 'static {
    /// The database location, without secrets, for logs and errors.
    fn describe(&self) -> String;

    /// Every record, version, audit entry, account and API token (not the sessions).
    async fn dump(&self) -> StoreResult<Dump>;

    /// Write a dump into an empty registry, in one transaction.
    async fn restore(&self, dump: &Dump) -> StoreResult<()>;

    /// Seal audit entries written before the chain existed, in id order; how many.
    async fn seal_audit(&self) -> StoreResult<usize>;
    /// Audit entries with an id above `after`, oldest first, at most `limit`.
    async fn audit_page(&self, after: i64, limit: usize) -> StoreResult<Vec<AuditEntry>>;
}

/// What the application needs from a database, all three concerns in one, as
/// `open` returns it (`Arc<dyn Store>`). Implementations: `SqliteStore`, `PgStore`.
pub trait Store: RegistryStore + AccountStore + AdminStore + WebhookStore {}

impl<T: RegistryStore + AccountStore + AdminStore + WebhookStore> Store for T {}

/// A webhook subscription's state (`active`, `failing` after deliveries failed for
/// longer than the configured time, `disabled` by an administrator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookStatus {
    Active,
    Failing,
    Disabled,
}

impl WebhookStatus {
    pub const ALL: [WebhookStatus; 3] = [WebhookStatus::Active, WebhookStatus::Failing, WebhookStatus::Disabled];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookStatus::Active => "active",
            WebhookStatus::Failing => "failing",
            WebhookStatus::Disabled => "disabled",
        }
    }
}

impl std::str::FromStr for WebhookStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        WebhookStatus::ALL.into_iter().find(|w| w.as_str() == s).ok_or_else(|| format!("unknown webhook status {s}"))
    }
}

/// A webhook subscription, without its secret.
#[derive(Debug, Clone, Serialize)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    /// The entities it follows (`FEED_ENTITIES`; empty: all).
    pub entities: Vec<String>,
    /// The counties it follows (6 digits each; empty: all).
    pub counties: Vec<String>,
    pub status: WebhookStatus,
    /// Every change up to this number has been delivered (or did not match).
    pub delivered_through: i64,
    /// Failed attempts since the last delivery that succeeded.
    pub attempts: i64,
    pub failing_since_ms: Option<i64>,
    pub next_attempt_ms: i64,
    pub last_error: Option<String>,
    pub last_delivery_at: Option<String>,
    pub created_at: String,
    pub created_by: String,
    pub version: i64,
}

/// A subscription to register.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: String,
    pub entities: Vec<String>,
    pub counties: Vec<String>,
    pub secret: String,
    /// Deliver the changes after this number (the current sequence: only new ones; 0: all).
    pub after: i64,
}

/// One attempt to deliver a batch of changes.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    pub id: i64,
    pub webhook_id: i64,
    /// When the attempt ended (RFC 3339).
    pub at: String,
    /// The first and last change number it carried.
    pub first_seq: i64,
    pub last_seq: i64,
    pub changes: i64,
    /// The receiver's HTTP status; null when no answer came.
    pub status_code: Option<i64>,
    /// Why it failed (`HTTP 500`, `timeout`, `cannot connect`…).
    pub error: Option<String>,
    pub duration_ms: i64,
    /// Acknowledged with a 2xx: the cursor moved past it.
    pub ok: bool,
}

/// What an attempt left a subscription at (`WebhookStore::record_attempt`).
#[derive(Debug, Clone)]
pub struct Attempt {
    pub webhook_id: i64,
    /// The deliverer that holds the lease: an attempt by one whose lease was taken
    /// over is not recorded.
    pub owner: String,
    /// `None` when nothing was sent (no change matched up to `through`).
    pub delivery: Option<Delivery>,
    /// On success, the cursor's new place.
    pub delivered_through: Option<i64>,
    pub attempts: i64,
    pub status: WebhookStatus,
    pub failing_since_ms: Option<i64>,
    pub next_attempt_ms: i64,
}

/// Webhook subscriptions, their delivery cursors and their delivery log. What an
/// administrator changes is audited; a delivery's bookkeeping is not a change of
/// the registry and takes no number of the sequence.
#[async_trait]
pub trait WebhookStore: Send + Sync + 'static {
    async fn create_webhook(&self, new: &NewWebhook, actor: &Actor) -> StoreResult<Webhook>;
    async fn webhooks(&self) -> StoreResult<Vec<Webhook>>;
    async fn webhook(&self, id: i64) -> StoreResult<Option<Webhook>>;
    /// The secret its deliveries are signed with.
    async fn webhook_secret(&self, id: i64) -> StoreResult<Option<String>>;
    /// Set its status (`disabled`, or back to `active`) and, with `after`, move its
    /// cursor there (a replay from that change on), if still at `expected_version`.
    async fn change_webhook(
        &self,
        id: i64,
        expected_version: Option<i64>,
        status: WebhookStatus,
        after: Option<i64>,
        action: &str,
        actor: &Actor,
    ) -> StoreResult<Webhook>;
    /// Take the lease of a subscription due for an attempt (`next_attempt_ms` passed,
    /// not disabled, no other owner's lease running) until `until_ms`.
    async fn claim_webhook(&self, id: i64, owner: &str, now_ms: i64, until_ms: i64) -> StoreResult<bool>;
    /// Record an attempt and release the lease, in one transaction.
    async fn record_attempt(&self, attempt: &Attempt) -> StoreResult<()>;
    /// Its latest deliveries, newest first.
    async fn deliveries(&self, id: i64, limit: i64) -> StoreResult<Vec<Delivery>>;
}

/// The store traits, for calling their methods on a concrete store (a `dyn Store`
/// needs no import).
pub mod prelude {
    pub use super::{AccountStore, AdminStore, RegistryStore, Store, WebhookStore};
}

/// One write of an import (`RegistryStore::import`). Updates carry the version they were
/// validated against; a record changed since makes the whole import `Stale`.
#[derive(Debug, Clone)]
pub enum ImportOp {
    /// A new facility, with the id the file gave it or the next free one.
    CreateFacility {
        id: Option<String>,
        fields: NewFacility,
    },
    UpdateFacility {
        id: String,
        expected_version: i64,
        fields: NewFacility,
    },
    /// A new place name; the store numbers it.
    CreatePlace(Box<Place>),
    /// Insert (`expected_version` `None`) or replace a settlement.
    PutSettlement {
        settlement: Settlement,
        expected_version: Option<i64>,
    },
    /// Insert (`expected_version` `None`) or replace a division.
    PutDivision {
        division: Division,
        expected_version: Option<i64>,
    },
}

/// A whole registry, as `AdminStore::dump` reads it and `AdminStore::restore` writes it.
#[derive(Debug, Clone)]
pub struct Dump {
    pub meta: Vec<(String, String)>,
    pub divisions: Vec<Division>,
    pub settlements: Vec<Settlement>,
    pub facilities: Vec<Facility>,
    pub places: Vec<Place>,
    /// In the order written.
    pub history: Vec<HistoryRow>,
    pub audit: Vec<AuditEntry>,
    pub users: Vec<DumpUser>,
    pub api_tokens: Vec<DumpToken>,
}

#[derive(Debug, Clone)]
pub struct DumpUser {
    pub user: User,
    pub password_hash: String,
    pub created_at: String,
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct DumpToken {
    pub token_hash: String,
    pub user_id: i64,
    pub name: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// An API token as its owner and administrators see it: never the token, and its
/// id is the first 12 hex digits of the token's SHA-256 (which tell nothing of it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    #[schema(pattern = "^[0-9a-f]{12}$", example = "3f9a1c0b7d2e")]
    pub id: String,
    pub user_id: i64,
    pub username: String,
    /// The application it was made for.
    pub name: String,
    pub created_at: String,
    /// When it was revoked; `null` while it works.
    pub revoked_at: Option<String>,
}

/// A live login session (page), named like a token by a prefix of its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LoginSession {
    #[schema(pattern = "^[0-9a-f]{12}$", example = "a1b2c3d4e5f6")]
    pub id: String,
    pub user_id: i64,
    pub username: String,
    pub created_at: String,
    pub expires_at: String,
}

/// Whether a string is a token or session id as `ApiToken::id` gives them.
pub fn is_credential_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// One record of `RegistryStore::update_places`.
#[derive(Debug, Clone)]
pub struct PlaceChange {
    pub expected_version: i64,
    /// The new state; `id` names the record.
    pub place: Place,
    /// For the audit: `update`, `approve`, `rename`, `retire`…
    pub action: String,
}

/// An account to create; the password is already hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
}

/// Open the store a URL names, applying any pending migrations.
pub async fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    let store: Arc<dyn Store> = if url.starts_with("sqlite:") {
        Arc::new(SqliteStore::open(url).await?)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Arc::new(PgStore::open(url).await?)
    } else {
        return Err(StoreError::UnsupportedUrl(redact(url)));
    };
    // A registry from before the audit chain gets its entries sealed once.
    let sealed = store.seal_audit().await?;
    if sealed > 0 {
        tracing::info!(entries = sealed, "sealed the audit entries written before the hash chain");
    }
    Ok(store)
}

pub use crate::config::redact_url as redact;

/// `20261202T120000Z`, for file names.
pub fn now_stamp() -> String {
    let f = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::OffsetDateTime::now_utc().format(&f).unwrap_or_else(|_| "restore".to_string())
}

pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}
