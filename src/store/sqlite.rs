//! SQLite backend: the embedded default (`sqlite://diming.db`), WAL, foreign keys on.

use super::sql::{Backend, SqlStore};
use super::{StoreError, StoreResult};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteQueryResult, SqliteSynchronous};
use sqlx::{Pool, Sqlite, Transaction};
use std::str::FromStr;
use std::time::Duration;

/// `PRAGMA application_id` of a diming registry ('dimg').
const APPLICATION_ID: i64 = 0x6469_6d67;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The registry in a SQLite file (`sqlite:` URLs).
pub type SqliteStore = SqlStore<Sqlite>;

impl SqliteStore {
    /// Open (creating if missing) and migrate. A file that is not SQLite, or a SQLite
    /// file of another application, is refused with an error naming the file.
    ///
    /// Two processes creating one file at the same instant can meet SQLITE_BUSY where
    /// SQLite does not call the busy handler (the switch to WAL on a brand-new file), so
    /// a busy open is retried for up to 30 s before it is reported.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            match Self::try_open(url).await {
                Err(OpenFailure::Busy(e)) if std::time::Instant::now() < deadline => {
                    tracing::debug!(error = %e, "database busy while opening; retrying");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(OpenFailure::Busy(e)) => {
                    return Err(StoreError::Open { target: url.to_string(), reason: e.to_string() })
                }
                Err(OpenFailure::Other(e)) => return Err(e),
                Ok(store) => return Ok(store),
            }
        }
    }

    async fn try_open(url: &str) -> Result<Self, OpenFailure> {
        let target = url.to_string();
        let open_err = |e: sqlx::Error| {
            if is_busy(&e) {
                OpenFailure::Busy(e)
            } else {
                OpenFailure::Other(StoreError::Open { target: target.clone(), reason: e.to_string() })
            }
        };
        let options = SqliteConnectOptions::from_str(url)
            .map_err(open_err)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit is on the disk before it is acknowledged, power loss included.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // 64 MiB of page cache per connection (SQLite's default is 2 MiB): a load
            // of the whole country inserts into indexes in random key order (names,
            // history keys), and with a small cache every such insert evicts a dirty
            // page that must be written to the WAL again.
            .pragma("cache_size", "-65536")
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await.map_err(open_err)?;
        let store = SqliteStore { pool, url: target.clone() };
        // Check and migrate under one write lock, so a second process starting at the
        // same moment waits and then finds a finished registry, not a half-made one.
        let mut tx = store.pool.begin_with("BEGIN IMMEDIATE").await.map_err(open_err)?;
        store.check_ownership(&mut tx).await.map_err(OpenFailure::Other)?;
        match MIGRATOR.run_direct(None, &mut *tx, false).await {
            Ok(()) => {}
            Err(sqlx::migrate::MigrateError::Execute(e)) if is_busy(&e) => return Err(OpenFailure::Busy(e)),
            Err(e) => return Err(OpenFailure::Other(e.into())),
        }
        tx.commit().await.map_err(open_err)?;
        Ok(store)
    }

    async fn check_ownership(&self, tx: &mut Transaction<'static, Sqlite>) -> StoreResult<()> {
        let foreign = |reason: String| StoreError::Foreign { target: self.url.clone(), reason };
        let app_id: i64 = sqlx::query_scalar("PRAGMA application_id")
            .fetch_one(&mut **tx)
            .await
            .map_err(|e| StoreError::Open { target: self.url.clone(), reason: e.to_string() })?;
        if app_id == APPLICATION_ID {
            return Ok(());
        }
        if app_id != 0 {
            return Err(foreign(format!("application_id is {app_id:#x}, not diming's")));
        }
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .fetch_all(&mut **tx)
        .await?;
        let ours = tables.iter().all(|t| t == "_sqlx_migrations");
        if ours {
            Ok(())
        } else {
            Err(foreign(format!("it already holds other tables ({})", tables.join(", "))))
        }
    }
}

impl SqliteStore {
    /// A consistent copy of the registry at `url` into a new file, while other
    /// connections go on writing (`VACUUM INTO` reads one snapshot of the WAL).
    pub async fn backup(url: &str, output: &std::path::Path) -> StoreResult<()> {
        let store = Self::open(url).await?;
        let target = output.to_str().ok_or_else(|| StoreError::Open {
            target: output.display().to_string(),
            reason: "the path is not valid UTF-8".into(),
        })?;
        sqlx::query("VACUUM INTO ?1").bind(target).execute(&store.pool).await?;
        Ok(())
    }

    /// The file a `sqlite:` URL names.
    pub fn file_of(url: &str) -> Option<std::path::PathBuf> {
        let options = SqliteConnectOptions::from_str(url).ok()?;
        Some(options.get_filename().to_path_buf())
    }
}

enum OpenFailure {
    Busy(sqlx::Error),
    Other(StoreError),
}

/// SQLITE_BUSY or SQLITE_LOCKED, with any extended code.
fn is_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            db.code().and_then(|c| c.parse::<i32>().ok()).is_some_and(|c| matches!(c & 0xff, 5 | 6))
        }
        _ => false,
    }
}

impl Backend for Sqlite {
    /// Other processes poll (`watch_changes`); SQLite has no notification.
    const NOTIFY: Option<&'static str> = None;

    async fn begin_write(pool: &Pool<Sqlite>) -> StoreResult<Transaction<'static, Sqlite>> {
        // IMMEDIATE takes the write lock up front, so two writers queue on the busy
        // timeout instead of failing on a lock upgrade.
        Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Another process (a second `serve`, `diming import`) writing to the same file is
    /// noticed by polling the change marker twice a second: one indexed `MAX(id)`.
    fn watch_changes(pool: &Pool<Sqlite>) -> tokio::sync::mpsc::Receiver<()> {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let pool = pool.clone();
        tokio::spawn(async move {
            let mut last: Option<i64> = None;
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            loop {
                tick.tick().await;
                let marker: Result<Option<i64>, _> =
                    sqlx::query_scalar("SELECT MAX(id) FROM audit").fetch_one(&pool).await;
                let Ok(marker) = marker else { continue };
                if last.is_some_and(|l| l != marker.unwrap_or(0)) && tx.send(()).await.is_err() {
                    return; // nobody listens any more
                }
                last = Some(marker.unwrap_or(0));
            }
        });
        rx
    }

    fn rows_affected(done: &SqliteQueryResult) -> u64 {
        done.rows_affected()
    }
}
