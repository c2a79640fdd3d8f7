//! `RegistryStore` for both backends: the records, their load and import, their
//! history and audit, and the change marker.

use super::{Backend, Change, Column, Numbers, SqlStore, PLACE_COLUMNS};
use crate::domain::{Division, Facility, NewFacility, Place, Settlement};
use crate::store::records::place_json;
use crate::store::{
    now_rfc3339, Actor, AuditEntry, Dataset, HistoryRow, ImportOp, LoadOutcome, PlaceChange, RegistryStore, StoreError,
    StoreResult,
};
use async_trait::async_trait;
use sqlx::{ColumnIndex, Encode, Executor, Row, Type};

/// New facilities an import writes in one batch of multi-row statements.
const IMPORT_RUN: usize = 1_000;

#[async_trait]
impl<DB> RegistryStore for SqlStore<DB>
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
    async fn loaded_dataset(&self) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = 'dataset'").fetch_optional(&self.pool).await?)
    }

    async fn add_counties(&self, counties: &[(String, Dataset)], actor: &Actor) -> StoreResult<Vec<bool>> {
        let mut tx = self.begin_write().await?;
        let at = now_rfc3339();
        let mut added = Vec::with_capacity(counties.len());
        for (county, ds) in counties {
            let there: Option<String> = sqlx::query_scalar("SELECT code FROM divisions WHERE code = $1")
                .bind(county.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            if there.is_some() {
                added.push(false);
                continue;
            }
            // One audit entry for the county; a history row per record, written by it.
            let summary = serde_json::json!({
                "dataset": ds.id, "divisions": ds.divisions.len(), "settlements": ds.settlements.len(),
                "facilities": ds.facilities.len(), "places": ds.places.len(),
            });
            let seq = Self::audit(&mut tx, &Change::new("region", county, 1, "init", &summary, &at), actor).await?;
            Self::insert_dataset(&mut tx, ds, "init", &at, actor, Some(seq)).await?;
            added.push(true);
        }
        if added.iter().any(|a| *a) {
            sqlx::query(
                "INSERT INTO meta (key, value) SELECT 'dataset', $1 WHERE NOT EXISTS (SELECT 1 FROM meta WHERE key = 'dataset')",
            )
            .bind("nbs2023-regions")
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(added)
    }

    async fn load_dataset(&self, ds: &Dataset, actor: &Actor) -> StoreResult<LoadOutcome> {
        let mut tx = self.begin_write().await?;
        let existing: Option<String> =
            sqlx::query_scalar("SELECT value FROM meta WHERE key = 'dataset'").fetch_optional(&mut *tx).await?;
        if let Some(dataset) = existing {
            tx.rollback().await?;
            return Ok(LoadOutcome::AlreadyLoaded { dataset });
        }
        let at = now_rfc3339();
        Self::insert_dataset(&mut tx, ds, "load", &at, actor, None).await?;
        sqlx::query("INSERT INTO meta (key, value) VALUES ('dataset', $1), ('dataset_loaded_at', $2)")
            .bind(&ds.id)
            .bind(&at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(LoadOutcome::Loaded {
            dataset: ds.id.clone(),
            divisions: ds.divisions.len(),
            settlements: ds.settlements.len(),
            facilities: ds.facilities.len(),
        })
    }

    async fn divisions(&self) -> StoreResult<Vec<Division>> {
        self.all("SELECT * FROM divisions ORDER BY code", Self::division_from_row).await
    }

    async fn settlements(&self) -> StoreResult<Vec<Settlement>> {
        self.all("SELECT * FROM settlements ORDER BY code", Self::settlement_from_row).await
    }

    async fn facilities(&self) -> StoreResult<Vec<Facility>> {
        self.all("SELECT * FROM facilities ORDER BY id", Self::facility_from_row).await
    }

    async fn facility(&self, id: &str) -> StoreResult<Option<Facility>> {
        sqlx::query("SELECT * FROM facilities WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(Self::facility_from_row)
            .transpose()
    }

    async fn create_facility(&self, new: &NewFacility, actor: &Actor) -> StoreResult<Facility> {
        let mut tx = self.begin_write().await?;
        let f = Self::create_facility_tx(&mut tx, None, &mut Numbers::default(), new, actor, &now_rfc3339()).await?;
        tx.commit().await?;
        Ok(f)
    }

    async fn update_facility(
        &self,
        id: &str,
        expected_version: i64,
        fields: &NewFacility,
        action: &str,
        actor: &Actor,
    ) -> StoreResult<Facility> {
        let mut tx = self.begin_write().await?;
        let f = Self::update_facility_tx(&mut tx, id, expected_version, fields, action, actor, &now_rfc3339()).await?;
        tx.commit().await?;
        Ok(f)
    }

    async fn places(&self) -> StoreResult<Vec<Place>> {
        self.all("SELECT * FROM places ORDER BY id", Self::place_from_row).await
    }

    async fn create_place(&self, place: &Place, actor: &Actor) -> StoreResult<Place> {
        let mut tx = self.begin_write().await?;
        let p = Self::create_place_tx(&mut tx, &mut Numbers::default(), place, "create", actor, &now_rfc3339()).await?;
        tx.commit().await?;
        Ok(p)
    }

    async fn update_places(&self, changes: &[PlaceChange], actor: &Actor) -> StoreResult<Vec<Place>> {
        let mut tx = self.begin_write().await?;
        let at = now_rfc3339();
        let mut out = Vec::with_capacity(changes.len());
        for c in changes {
            let id = c.place.id.as_str();
            let row = sqlx::query("SELECT * FROM places WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?;
            let Some(before) = row.as_ref().map(Self::place_from_row).transpose()? else {
                tx.rollback().await?;
                return Err(StoreError::NotFound { entity: "place", id: id.to_string() });
            };
            if before.version != c.expected_version {
                tx.rollback().await?;
                return Err(StoreError::Stale {
                    entity: "place",
                    id: id.to_string(),
                    current: before.version,
                    expected: c.expected_version,
                });
            }
            let after = Place { version: before.version + 1, updated_at: at.clone(), ..c.place.clone() };
            let sets: Vec<String> =
                PLACE_COLUMNS.split(", ").enumerate().map(|(i, col)| format!("{} = ${}", col.trim(), i + 1)).collect();
            let sql = format!("UPDATE places SET {} WHERE id = $26 AND version = $27", sets.join(", "));
            let done = Self::bind_place(sqlx::query(sqlx::AssertSqlSafe(sql)), &after)
                .bind(id)
                .bind(c.expected_version)
                .execute(&mut *tx)
                .await?;
            if DB::rows_affected(&done) != 1 {
                tx.rollback().await?;
                return Err(StoreError::Stale {
                    entity: "place",
                    id: id.to_string(),
                    current: before.version,
                    expected: c.expected_version,
                });
            }
            let (b, a) = (place_json(&before), place_json(&after));
            let change = Change {
                entity: "place",
                entity_id: id,
                version: after.version,
                action: &c.action,
                before: Some(&b),
                after: &a,
                at: &at,
            };
            Self::record(&mut tx, change, actor).await?;
            out.push(after);
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn import(
        &self,
        batch: &[ImportOp],
        actor: &Actor,
        progress: &(dyn Fn(usize) + Send + Sync),
    ) -> StoreResult<Vec<String>> {
        let mut tx = self.begin_write().await?;
        let at = now_rfc3339();
        let mut ids = Vec::with_capacity(batch.len());
        let mut numbers = Numbers::default();
        let mut i = 0;
        while i < batch.len() {
            // A run of new facilities (most of a facility import) in multi-row statements.
            let run: Vec<(Option<&str>, &NewFacility)> = batch
                .get(i..)
                .unwrap_or_default()
                .iter()
                .take(IMPORT_RUN)
                .map_while(|op| match op {
                    ImportOp::CreateFacility { id, fields } => Some((id.as_deref(), fields)),
                    _ => None,
                })
                .collect();
            if !run.is_empty() {
                let created = Self::create_facilities_tx(&mut tx, &run, &mut numbers, actor, &at).await?;
                ids.extend(created.into_iter().map(|f| f.id));
                i += run.len();
                progress(i);
                continue;
            }
            let Some(op) = batch.get(i) else { break };
            let id = match op {
                ImportOp::CreateFacility { id, fields } => {
                    Self::create_facility_tx(&mut tx, id.as_deref(), &mut numbers, fields, actor, &at).await?.id
                }
                ImportOp::UpdateFacility { id, expected_version, fields } => {
                    Self::update_facility_tx(&mut tx, id, *expected_version, fields, "import", actor, &at).await?.id
                }
                ImportOp::CreatePlace(p) => {
                    Self::create_place_tx(&mut tx, &mut numbers, p, "import", actor, &at).await?.id
                }
                ImportOp::PutSettlement { settlement, expected_version } => {
                    Self::put_settlement_tx(&mut tx, settlement, *expected_version, actor, &at).await?;
                    settlement.code.to_string()
                }
                ImportOp::PutDivision { division, expected_version } => {
                    Self::put_division_tx(&mut tx, division, *expected_version, actor, &at).await?;
                    division.code.to_string()
                }
            };
            ids.push(id);
            i += 1;
            if i % 500 == 0 {
                progress(i);
            }
        }
        tx.commit().await?;
        progress(batch.len());
        Ok(ids)
    }

    async fn history(&self, entity: &str, id: &str) -> StoreResult<Vec<HistoryRow>> {
        let rows = sqlx::query("SELECT * FROM history WHERE entity = $1 AND entity_id = $2 ORDER BY version")
            .bind(entity)
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(Self::history_from_row).collect()
    }

    async fn audit(&self, entity: &str, id: &str) -> StoreResult<Vec<AuditEntry>> {
        let rows = sqlx::query("SELECT * FROM audit WHERE entity = $1 AND entity_id = $2 ORDER BY id")
            .bind(entity)
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(Self::audit_from_row).collect()
    }

    async fn change_marker(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(id) FROM audit").fetch_one(&self.pool).await?.unwrap_or(0))
    }

    async fn changes_after(&self, after: i64, limit: i64) -> StoreResult<Vec<crate::store::ChangeRef>> {
        let rows = sqlx::query("SELECT id, entity, entity_id FROM audit WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(crate::store::ChangeRef {
                    seq: r.try_get("id")?,
                    entity: r.try_get("entity")?,
                    entity_id: r.try_get("entity_id")?,
                })
            })
            .collect()
    }

    async fn feed(&self, q: &crate::store::FeedQuery<'_>) -> StoreResult<crate::store::FeedPage> {
        use crate::store::{FeedEntry, FeedPage, FEED_ENTITIES};
        // Every change up to the marker has committed (numbers are taken under the
        // write lock): the page reads no further, so `through` never passes a
        // change still to commit.
        let marker = self.change_marker().await?;
        let entities: &[&str] = if q.entities.is_empty() { &FEED_ENTITIES } else { q.entities };
        let limit = q.limit.max(1);
        // `entity || ''`, not `entity`: the planner would otherwise read the rows by the
        // (entity, …) key and sort every change after the cursor to find the first
        // page (1 s a page at national scale); through (seq, id) the page costs what it
        // returns.
        let mut filter = String::from("(entity || '') IN (");
        for i in 0..entities.len() {
            filter.push_str(&format!("{}${}", if i == 0 { "" } else { ", " }, i + 3));
        }
        filter.push(')');
        if !q.counties.is_empty() {
            filter.push_str(" AND county IN (");
            for i in 0..q.counties.len() {
                filter.push_str(&format!("{}${}", if i == 0 { "" } else { ", " }, entities.len() + 3 + i));
            }
            filter.push(')');
        }
        const COLUMNS: &str = "SELECT id, seq, entity, entity_id, version, data, changed_at, action FROM history";
        let page_sql = format!("{COLUMNS} WHERE seq > $1 AND seq <= $2 AND {filter} ORDER BY seq, id LIMIT {limit}");
        let rest_sql = format!("{COLUMNS} WHERE seq = $1 AND id > $2 AND {filter} ORDER BY id");
        let read = |r: &DB::Row| -> StoreResult<(i64, FeedEntry)> {
            Ok((
                r.try_get("id")?,
                FeedEntry {
                    seq: r.try_get("seq")?,
                    entity: r.try_get("entity")?,
                    entity_id: r.try_get("entity_id")?,
                    version: r.try_get("version")?,
                    at: r.try_get("changed_at")?,
                    action: r.try_get("action")?,
                    data: r.try_get("data")?,
                },
            ))
        };
        let mut query = sqlx::query(sqlx::AssertSqlSafe(page_sql)).bind(q.after).bind(marker);
        for e in entities {
            query = query.bind(*e);
        }
        for c in q.counties {
            query = query.bind(*c);
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut entries = Vec::with_capacity(rows.len());
        let mut last = None;
        for r in &rows {
            let (id, e) = read(r)?;
            last = Some((e.seq, id));
            entries.push(e);
        }
        let full = rows.len() as i64 >= limit;
        let through = match last {
            Some((seq, id)) if full => {
                // The rest of the last change: a page ends with a whole change.
                let mut query = sqlx::query(sqlx::AssertSqlSafe(rest_sql)).bind(seq).bind(id);
                for e in entities {
                    query = query.bind(*e);
                }
                for c in q.counties {
                    query = query.bind(*c);
                }
                for r in &query.fetch_all(&self.pool).await? {
                    entries.push(read(r)?.1);
                }
                seq
            }
            _ => marker.max(q.after),
        };
        Ok(FeedPage { entries, through })
    }

    fn watch(&self) -> tokio::sync::mpsc::Receiver<()> {
        DB::watch_changes(&self.pool)
    }
}
