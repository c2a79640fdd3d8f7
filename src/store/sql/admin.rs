//! `AdminStore` for both backends: the registry as a whole — its copy out and in,
//! and the audit chain's sealing and reading.

use super::{Backend, Column, SqlStore, AUDIT_INSERT, HISTORY_INSERT};
use crate::domain::{Division, Place};
use crate::store::{AdminStore, AuditEntry, Dump, DumpToken, DumpUser, RegistryStore, StoreError, StoreResult};
use async_trait::async_trait;
use sqlx::{ColumnIndex, Encode, Executor, Row, Type};

#[async_trait]
impl<DB> AdminStore for SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> &'a str: Encode<'a, DB> + ColumnIndex<DB::Row>,
    for<'a> Option<&'a str>: Encode<'a, DB>,
    str: Type<DB>,
    usize: ColumnIndex<DB::Row>,
    String: Column<DB>,
    Option<String>: Column<DB>,
    i64: Column<DB>,
    Option<i64>: Column<DB>,
    f64: Column<DB>,
    bool: Column<DB>,
{
    fn describe(&self) -> String {
        self.url.clone()
    }

    async fn dump(&self) -> StoreResult<Dump> {
        let pool = &self.pool;
        let meta: Vec<(String, String)> = sqlx::query("SELECT key, value FROM meta ORDER BY key")
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("key")?, r.try_get("value")?)))
            .collect::<StoreResult<_>>()?;
        let history = self.all("SELECT * FROM history ORDER BY id", Self::history_from_row).await?;
        let audit = self.all("SELECT * FROM audit ORDER BY id", Self::audit_from_row).await?;
        let users = sqlx::query("SELECT * FROM users ORDER BY id")
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| {
                Ok(DumpUser {
                    user: Self::user_from_row(r)?,
                    password_hash: r.try_get("password_hash")?,
                    created_at: r.try_get("created_at")?,
                    version: r.try_get("version")?,
                })
            })
            .collect::<StoreResult<_>>()?;
        let api_tokens = sqlx::query("SELECT * FROM api_tokens ORDER BY created_at, token_hash")
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| {
                Ok(DumpToken {
                    token_hash: r.try_get("token_hash")?,
                    user_id: r.try_get("user_id")?,
                    name: r.try_get("name")?,
                    created_at: r.try_get("created_at")?,
                    revoked_at: r.try_get("revoked_at")?,
                })
            })
            .collect::<StoreResult<_>>()?;
        Ok(Dump {
            meta,
            divisions: self.divisions().await?,
            settlements: self.settlements().await?,
            facilities: self.facilities().await?,
            places: self.places().await?,
            history,
            audit,
            users,
            api_tokens,
        })
    }

    async fn restore(&self, dump: &Dump) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let held: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM divisions").fetch_one(&mut *tx).await?;
        let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&mut *tx).await?;
        if held > 0 || users > 0 {
            tx.rollback().await?;
            return Err(StoreError::Foreign {
                target: self.describe(),
                reason: "the target registry is not empty (copy only into a new database)".into(),
            });
        }
        for (k, v) in dump.meta.iter().filter(|(k, _)| k != "application") {
            sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2)").bind(k).bind(v).execute(&mut *tx).await?;
        }
        let mut divisions: Vec<&Division> = dump.divisions.iter().collect();
        divisions.sort_by_key(|d| (d.level, d.code.clone()));
        for d in divisions {
            Self::insert_division(&mut tx, d).await?;
        }
        for s in &dump.settlements {
            Self::insert_settlement(&mut tx, s).await?;
        }
        for f in &dump.facilities {
            Self::insert_facility(&mut tx, f).await?;
        }
        Self::counter_past(&mut tx, "facilities", 'f', dump.facilities.iter().map(|f| f.id.as_str())).await?;
        Self::counter_past(&mut tx, "places", 'p', dump.places.iter().map(|p| p.id.as_str())).await?;
        // Names point at each other (renamings): rows first, then the links.
        for p in &dump.places {
            Self::insert_place(&mut tx, &Place { predecessor_id: None, successor_id: None, ..p.clone() }).await?;
        }
        for p in dump.places.iter().filter(|p| p.predecessor_id.is_some() || p.successor_id.is_some()) {
            sqlx::query("UPDATE places SET predecessor_id = $1, successor_id = $2 WHERE id = $3")
                .bind(&p.predecessor_id)
                .bind(&p.successor_id)
                .bind(&p.id)
                .execute(&mut *tx)
                .await?;
        }
        for h in &dump.history {
            sqlx::query(HISTORY_INSERT)
                .bind(&h.entity)
                .bind(&h.entity_id)
                .bind(h.version)
                .bind(h.data.to_string())
                .bind(&h.changed_at)
                .bind(&h.actor)
                .bind(&h.action)
                .bind(h.seq)
                .bind(crate::store::records::county_of(&h.entity, &h.entity_id, &h.data))
                .execute(&mut *tx)
                .await?;
        }
        // Ids and hashes as they were: the chain verifies in the copy too.
        for a in &dump.audit {
            sqlx::query(AUDIT_INSERT)
                .bind(a.id)
                .bind(&a.at)
                .bind(&a.actor)
                .bind(&a.action)
                .bind(&a.entity)
                .bind(&a.entity_id)
                .bind(a.before.as_ref().map(|v| v.to_string()))
                .bind(a.after.as_ref().map(|v| v.to_string()))
                .bind(&a.prev_hash)
                .bind(&a.hash)
                .execute(&mut *tx)
                .await?;
        }
        // Account ids are the target's own; tokens follow their account.
        let mut ids = std::collections::HashMap::new();
        for u in &dump.users {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO users (username, display_name, role, password_hash, active, created_at, version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(&u.user.username)
            .bind(&u.user.display_name)
            .bind(u.user.role.as_str())
            .bind(&u.password_hash)
            .bind(u.user.active)
            .bind(&u.created_at)
            .bind(u.version)
            .fetch_one(&mut *tx)
            .await?;
            ids.insert(u.user.id, id);
        }
        for t in &dump.api_tokens {
            let Some(user_id) = ids.get(&t.user_id) else { continue };
            sqlx::query(
                "INSERT INTO api_tokens (token_hash, user_id, name, created_at, revoked_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&t.token_hash)
            .bind(user_id)
            .bind(&t.name)
            .bind(&t.created_at)
            .bind(&t.revoked_at)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(sql) = DB::NOTIFY {
            sqlx::query(sql).bind("restore").execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn seal_audit(&self) -> StoreResult<usize> {
        let mut tx = self.begin_write().await?;
        let first: Option<i64> =
            sqlx::query_scalar("SELECT MIN(id) FROM audit WHERE hash IS NULL").fetch_one(&mut *tx).await?;
        let Some(first) = first else {
            // Every early return ends its transaction explicitly: a dropped one is rolled
            // back only when its pooled connection is next used, and on PostgreSQL it
            // holds the write lock until then (it hung `audit verify` after a restore).
            tx.rollback().await?;
            return Ok(0);
        };
        let prev: Option<Option<String>> =
            sqlx::query_scalar("SELECT hash FROM audit WHERE id < $1 ORDER BY id DESC LIMIT 1")
                .bind(first)
                .fetch_optional(&mut *tx)
                .await?;
        let mut prev = prev.flatten().unwrap_or_else(|| crate::store::chain::GENESIS.to_string());
        let rows =
            sqlx::query("SELECT * FROM audit WHERE id >= $1 ORDER BY id").bind(first).fetch_all(&mut *tx).await?;
        let mut n = 0;
        for r in &rows {
            let e = Self::audit_from_row(r)?;
            let hash = crate::store::chain::hash_of(&e, &prev);
            sqlx::query("UPDATE audit SET prev_hash = $1, hash = $2 WHERE id = $3")
                .bind(&prev)
                .bind(&hash)
                .bind(e.id)
                .execute(&mut *tx)
                .await?;
            prev = hash;
            n += 1;
        }
        tx.commit().await?;
        Ok(n)
    }

    async fn audit_page(&self, after: i64, limit: usize) -> StoreResult<Vec<AuditEntry>> {
        let rows = sqlx::query("SELECT * FROM audit WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(Self::audit_from_row).collect()
    }
}
