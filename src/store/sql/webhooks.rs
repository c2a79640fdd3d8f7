//! `WebhookStore` for both backends: subscriptions (audited like a record, the
//! secret never in the audit), their delivery cursor and lease, and the delivery log.

use super::{Backend, Change, Column, SqlStore};
use crate::store::{
    now_rfc3339, Actor, Attempt, Delivery, NewWebhook, StoreError, StoreResult, Webhook, WebhookStatus, WebhookStore,
};
use async_trait::async_trait;
use serde_json::{json, Value};
use sqlx::{ColumnIndex, Encode, Executor, Row, Type};

fn list(s: &str) -> Vec<String> {
    s.split(',').filter(|p| !p.is_empty()).map(str::to_string).collect()
}

/// The subscription as its audit entry shows it: everything but the secret.
fn audited(w: &Webhook) -> Value {
    json!({
        "id": w.id, "url": w.url, "layers": w.entities, "counties": w.counties, "status": w.status.as_str(),
        "delivered_through": w.delivered_through, "version": w.version,
    })
}

#[async_trait]
impl<DB> WebhookStore for SqlStore<DB>
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
    async fn create_webhook(&self, new: &NewWebhook, actor: &Actor) -> StoreResult<Webhook> {
        let mut tx = self.begin_write().await?;
        let at = now_rfc3339();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO webhooks (url, layers, counties, secret, status, delivered_through, created_at, created_by) \
             VALUES ($1, $2, $3, $4, 'active', $5, $6, $7) RETURNING id",
        )
        .bind(&new.url)
        .bind(new.entities.join(","))
        .bind(new.counties.join(","))
        .bind(&new.secret)
        .bind(new.after)
        .bind(&at)
        .bind(&actor.0)
        .fetch_one(&mut *tx)
        .await?;
        let row = sqlx::query("SELECT * FROM webhooks WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
        let w = Self::webhook_from_row(&row)?;
        let after = audited(&w);
        let entity_id = id.to_string();
        Self::record(&mut tx, Change::new("webhook", &entity_id, 1, "create", &after, &at), actor).await?;
        tx.commit().await?;
        Ok(w)
    }

    async fn webhooks(&self) -> StoreResult<Vec<Webhook>> {
        self.all("SELECT * FROM webhooks ORDER BY id", Self::webhook_from_row).await
    }

    async fn webhook(&self, id: i64) -> StoreResult<Option<Webhook>> {
        let row = sqlx::query("SELECT * FROM webhooks WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(Self::webhook_from_row).transpose()
    }

    async fn webhook_secret(&self, id: i64) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar("SELECT secret FROM webhooks WHERE id = $1").bind(id).fetch_optional(&self.pool).await?)
    }

    async fn change_webhook(
        &self,
        id: i64,
        expected_version: Option<i64>,
        status: WebhookStatus,
        after: Option<i64>,
        action: &str,
        actor: &Actor,
    ) -> StoreResult<Webhook> {
        let mut tx = self.begin_write().await?;
        let at = now_rfc3339();
        let row = sqlx::query("SELECT * FROM webhooks WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?;
        let before = row.as_ref().map(Self::webhook_from_row).transpose()?;
        let Some(before) = before else {
            return Err(StoreError::NotFound { entity: "webhook", id: id.to_string() });
        };
        if let Some(v) = expected_version.filter(|v| *v != before.version) {
            return Err(StoreError::Stale {
                entity: "webhook",
                id: id.to_string(),
                current: before.version,
                expected: v,
            });
        }
        // A replay or a re-activation starts afresh: due now, no failures counted.
        sqlx::query(
            "UPDATE webhooks SET status = $1, delivered_through = $2, attempts = 0, failing_since_ms = NULL, \
             next_attempt_ms = 0, version = version + 1 WHERE id = $3 AND version = $4",
        )
        .bind(status.as_str())
        .bind(after.unwrap_or(before.delivered_through))
        .bind(id)
        .bind(before.version)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query("SELECT * FROM webhooks WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
        let w = Self::webhook_from_row(&row)?;
        let (b, a) = (audited(&before), audited(&w));
        let entity_id = id.to_string();
        let change = Change {
            entity: "webhook",
            entity_id: &entity_id,
            version: w.version,
            action,
            before: Some(&b),
            after: &a,
            at: &at,
        };
        Self::record(&mut tx, change, actor).await?;
        tx.commit().await?;
        Ok(w)
    }

    async fn claim_webhook(&self, id: i64, owner: &str, now_ms: i64, until_ms: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE webhooks SET lease_owner = $1, lease_until_ms = $2 WHERE id = $3 AND status <> 'disabled' \
             AND next_attempt_ms <= $4 AND (lease_until_ms < $4 OR lease_owner IS NULL OR lease_owner = $1)",
        )
        .bind(owner)
        .bind(until_ms)
        .bind(id)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(DB::rows_affected(&done) == 1)
    }

    async fn record_attempt(&self, a: &Attempt) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        // Only while the lease is this deliverer's, and never moving the cursor back
        // (an administrator's replay in between wins).
        let done = sqlx::query(
            "UPDATE webhooks SET delivered_through = CASE WHEN $1 IS NULL THEN delivered_through ELSE $1 END, \
             attempts = $2, status = CASE WHEN status = 'disabled' THEN status ELSE $3 END, failing_since_ms = $4, \
             next_attempt_ms = $5, last_error = $6, \
             last_delivery_at = CASE WHEN $1 IS NULL THEN last_delivery_at ELSE $7 END, \
             lease_owner = NULL, lease_until_ms = 0 WHERE id = $8 AND lease_owner = $9",
        )
        .bind(a.delivered_through)
        .bind(a.attempts)
        .bind(a.status.as_str())
        .bind(a.failing_since_ms)
        .bind(a.next_attempt_ms)
        .bind(a.delivery.as_ref().and_then(|d| d.error.clone()))
        .bind(now_rfc3339())
        .bind(a.webhook_id)
        .bind(&a.owner)
        .execute(&mut *tx)
        .await?;
        if DB::rows_affected(&done) == 1 {
            if let Some(d) = &a.delivery {
                sqlx::query(
                    "INSERT INTO webhook_deliveries (webhook_id, at, first_seq, last_seq, changes, status_code, error, \
                     duration_ms, ok) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(a.webhook_id)
                .bind(&d.at)
                .bind(d.first_seq)
                .bind(d.last_seq)
                .bind(d.changes)
                .bind(d.status_code)
                .bind(&d.error)
                .bind(d.duration_ms)
                .bind(d.ok)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn deliveries(&self, id: i64, limit: i64) -> StoreResult<Vec<Delivery>> {
        let rows = sqlx::query("SELECT * FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id DESC LIMIT $2")
            .bind(id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Delivery {
                    id: r.try_get("id")?,
                    webhook_id: r.try_get("webhook_id")?,
                    at: r.try_get("at")?,
                    first_seq: r.try_get("first_seq")?,
                    last_seq: r.try_get("last_seq")?,
                    changes: r.try_get("changes")?,
                    status_code: r.try_get("status_code")?,
                    error: r.try_get("error")?,
                    duration_ms: r.try_get("duration_ms")?,
                    ok: r.try_get("ok")?,
                })
            })
            .collect()
    }
}

impl<DB> SqlStore<DB>
where
    DB: Backend,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    String: Column<DB>,
    Option<String>: Column<DB>,
    i64: Column<DB>,
    Option<i64>: Column<DB>,
{
    fn webhook_from_row(r: &DB::Row) -> StoreResult<Webhook> {
        let status: String = r.try_get("status")?;
        Ok(Webhook {
            id: r.try_get("id")?,
            url: r.try_get("url")?,
            entities: list(&r.try_get::<String, _>("layers")?),
            counties: list(&r.try_get::<String, _>("counties")?),
            status: status.parse().map_err(|e: String| StoreError::Corrupt(e))?,
            delivered_through: r.try_get("delivered_through")?,
            attempts: r.try_get("attempts")?,
            failing_since_ms: r.try_get("failing_since_ms")?,
            next_attempt_ms: r.try_get("next_attempt_ms")?,
            last_error: r.try_get("last_error")?,
            last_delivery_at: r.try_get("last_delivery_at")?,
            created_at: r.try_get("created_at")?,
            created_by: r.try_get("created_by")?,
            version: r.try_get("version")?,
        })
    }
}
