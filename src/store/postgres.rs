//! PostgreSQL/PostGIS backend (`postgres://USER@HOST/DB`): several diming instances
//! on one database. Writes are serialised by a transaction-level advisory lock (as
//! SQLite serialises them by its write lock), version checks are repeated in SQL,
//! and every committed change is announced with NOTIFY so the other instances
//! refresh their snapshots at once.

use super::sql::{Backend, SqlStore};
use super::{redact, StoreError, StoreResult};
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions, PgQueryResult};
use sqlx::{Postgres, Transaction};
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The NOTIFY channel of registry changes; the payload names the entity.
pub const CHANNEL: &str = "diming_changes";

/// The advisory lock key every writer takes ('dimg').
const WRITE_LOCK: i64 = 0x6469_6d67;

/// The registry in a PostgreSQL database (`postgres:` URLs), shared by instances.
pub type PgStore = SqlStore<Postgres>;

impl PgStore {
    /// Connect and migrate (under sqlx's migration lock, so instances starting together
    /// migrate once). A database holding other applications' tables is refused.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let shown = redact(url);
        let open_err = |e: sqlx::Error| StoreError::Open { target: shown.clone(), reason: e.to_string() };
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(open_err)?;
        let store = PgStore { pool, url: shown.clone() };
        store.check_ownership().await?;
        MIGRATOR.run(&store.pool).await?;
        Ok(store)
    }

    /// An empty database, or one diming made; anything else is another application's.
    async fn check_ownership(&self) -> StoreResult<()> {
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
               AND table_name NOT IN ('spatial_ref_sys', '_sqlx_migrations')
             ORDER BY 1",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| StoreError::Open { target: self.url.clone(), reason: e.to_string() })?;
        if tables.is_empty() {
            return Ok(());
        }
        let marked: Option<String> = if tables.iter().any(|t| t == "meta") {
            sqlx::query_scalar("SELECT value FROM meta WHERE key = 'application'").fetch_optional(&self.pool).await?
        } else {
            None
        };
        if marked.as_deref() == Some("diming") {
            Ok(())
        } else {
            Err(StoreError::Foreign {
                target: self.url.clone(),
                reason: format!("it already holds other tables ({})", tables.join(", ")),
            })
        }
    }
}

impl Backend for Postgres {
    /// On `CHANNEL`; delivered to the listeners when the transaction commits, not before.
    const NOTIFY: Option<&'static str> = Some("SELECT pg_notify('diming_changes', $1)");

    async fn begin_write(pool: &PgPool) -> StoreResult<Transaction<'static, Postgres>> {
        let mut tx = pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(WRITE_LOCK).execute(&mut *tx).await?;
        Ok(tx)
    }

    /// LISTEN on the change channel; a lost connection is re-established by the
    /// listener, and a signal is sent after it so nothing missed meanwhile is lost.
    fn watch_changes(pool: &PgPool) -> tokio::sync::mpsc::Receiver<()> {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let pool = pool.clone();
        tokio::spawn(async move {
            loop {
                let mut listener = match PgListener::connect_with(&pool).await {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot LISTEN for registry changes; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                if let Err(e) = listener.listen(CHANNEL).await {
                    tracing::warn!(error = %e, "cannot LISTEN for registry changes; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                // Whatever happened before we listened (or while reconnecting) is checked once.
                if tx.send(()).await.is_err() {
                    return;
                }
                loop {
                    match listener.try_recv().await {
                        Ok(Some(_)) => {
                            // Coalesce: a full channel already holds a pending signal.
                            if let Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) = tx.try_send(()) {
                                return;
                            }
                        }
                        Ok(None) => {
                            // The connection was lost and is being re-established.
                            if tx.send(()).await.is_err() {
                                return;
                            }
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "LISTEN connection failed; reconnecting");
                            break;
                        }
                    }
                }
            }
        });
        rx
    }

    fn rows_affected(done: &PgQueryResult) -> u64 {
        done.rows_affected()
    }
}
