//! The SQL both backends share, as ordinary Rust generic over sqlx's `Database`:
//! row mapping, history and audit, every write in one transaction, version checks
//! repeated in SQL. One text with `$N` placeholders (PostgreSQL's, which SQLite
//! reads too), so SQLite and PostgreSQL cannot drift apart. What differs — the
//! write lock, change notification — is each database's `Backend`, kept with its
//! opening code (`sqlite`, `postgres`).
//!
//! The store traits are implemented once for `SqlStore<DB>`, by concern
//! (`registry`, `accounts`, `admin`); this module holds what they share. The
//! helpers here and each of those impls restate the same `where` clause: Rust does
//! not pass bounds on other types (`i64: Column<DB>`, the executor of
//! `&mut DB::Connection`) from a trait on to its users, so they cannot be named
//! once behind `Backend`.

mod accounts;
mod admin;
mod registry;
mod webhooks;

use crate::domain::{
    Division, DivisionCode, DivisionLevel, Facility, FacilityKind, FacilityStatus, LonLat, NewFacility, Place,
    PlaceStatus, Provenance, Role, Settlement, User,
};
use crate::store::records::{division_json, facility_json, place_json, settlement_json};
use crate::store::{Actor, ApiToken, AuditEntry, HistoryRow, LoginSession, StoreError, StoreResult};
use serde_json::Value;
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Transaction, Type};
use std::collections::HashSet;
use std::future::Future;

/// A registry in a SQL database: `SqliteStore` and `PgStore` are its two kinds.
pub struct SqlStore<DB: Database> {
    pub(super) pool: Pool<DB>,
    /// The database location, without its password.
    pub(super) url: String,
}

/// What the shared SQL needs of a database beyond sqlx's `Database`.
pub trait Backend: Database<Arguments: IntoArguments<Self>> {
    /// Run inside every write transaction with what changed as `$1`, so that other
    /// instances hear of it when it commits; `None` where they poll instead.
    const NOTIFY: Option<&'static str>;

    /// A transaction holding the registry's write lock: writers queue instead of
    /// failing on a conflict, and the audit chain has no forks.
    fn begin_write(pool: &Pool<Self>) -> impl Future<Output = StoreResult<Transaction<'static, Self>>> + Send;

    /// Signals that another process may have written (`RegistryStore::watch`).
    fn watch_changes(pool: &Pool<Self>) -> tokio::sync::mpsc::Receiver<()>;

    /// How many rows a statement changed (each driver has its own result type).
    fn rows_affected(done: &Self::QueryResult) -> u64;
}

/// A Rust type kept in a column: bound as a parameter and read back.
pub trait Column<DB: Database>: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB> {}

impl<DB: Database, T> Column<DB> for T where T: for<'a> Encode<'a, DB> + for<'r> Decode<'r, DB> + Type<DB> {}

type Tx<DB> = Transaction<'static, DB>;

/// One change to record: the history row and the audit entry written with it.
struct Change<'a> {
    entity: &'a str,
    entity_id: &'a str,
    version: i64,
    action: &'a str,
    before: Option<&'a Value>,
    after: &'a Value,
    at: &'a str,
}

impl<'a> Change<'a> {
    /// A change with no earlier state (a load or a creation).
    fn new(entity: &'a str, entity_id: &'a str, version: i64, action: &'a str, after: &'a Value, at: &'a str) -> Self {
        Change { entity, entity_id, version, action, before: None, after, at }
    }
}

/// The next free numbers within one write transaction: read from the `counters`
/// row once, then counted on (`next_id`).
#[derive(Default)]
struct Numbers {
    facility: Option<i64>,
    place: Option<i64>,
}

impl Numbers {
    /// An id given explicitly (`f0500`) moves the count past it.
    fn taken(slot: &mut Option<i64>, id: &str) {
        if let (Some(n), Some(k)) = (*slot, id.get(1..).and_then(|d| d.parse::<i64>().ok())) {
            *slot = Some(n.max(k + 1));
        }
    }
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn stale(entity: &'static str, id: &str, current: i64, expected: i64) -> StoreError {
    StoreError::Stale { entity, id: id.to_string(), current, expected }
}

fn parse_json_map(s: &str, what: &str) -> StoreResult<serde_json::Map<String, Value>> {
    match serde_json::from_str::<Value>(s).map_err(|e| corrupt(what, e))? {
        Value::Object(m) => Ok(m),
        _ => Err(corrupt(what, "not a JSON object")),
    }
}

/// A place's columns, in the order `bind_place` binds them.
macro_rules! place_columns {
    () => {
        "id, name, specific_term, generic_term, category, division_code, geometry, romanization, \
         romanization_source, origin, alternate_names, historic_names, minority_form, status, proposed_by, \
         decided_by, approving_body, document_no, decided_on, predecessor_id, successor_id, attributes, \
         provenance, version, updated_at"
    };
}

const PLACE_COLUMNS: &str = place_columns!();

const HISTORY_INSERT: &str =
    "INSERT INTO history (entity, entity_id, version, data, changed_at, actor, action, seq, county) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// The history table as a multi-row insert, in the order `insert_history` binds.
const HISTORY_ROWS: Insert = Insert {
    head: "INSERT INTO history (entity, entity_id, version, data, changed_at, actor, action, seq, county) VALUES ",
    columns: 9,
};

const DIVISION_INSERT: Insert = Insert {
    head: "INSERT INTO divisions (code, level, name, pinyin, parent_code, geometry, is_xpcc, provenance, valid_from, \
           valid_to, properties, version, geometry_provenance) VALUES ",
    columns: 13,
};

const SETTLEMENT_INSERT: Insert = Insert {
    head: "INSERT INTO settlements (code, name, short_name, township_code, village_kind, lon, lat, population, \
           population_60plus, is_xpcc, provenance, version, location_provenance, population_provenance) VALUES ",
    columns: 14,
};

const FACILITY_INSERT: Insert = Insert {
    head: "INSERT INTO facilities (id, name, kind, township_code, lon, lat, status, capacity_beds, operator, \
           attributes, provenance, version, updated_at) VALUES ",
    columns: 13,
};

const PLACE_INSERT: Insert =
    Insert { head: concat!("INSERT INTO places (", place_columns!(), ") VALUES "), columns: 25 };

/// Parameters bound in one statement at most. Far under SQLite's limit (32,766)
/// and PostgreSQL's (65,535) on purpose: binding looks each parameter's name up in
/// a list (`sqlite3_bind_parameter_name`), so a statement's binding cost grows with
/// the square of its parameters — 25,000 took 1–2 s, 1,000 take well under 1 ms.
const MAX_PARAMETERS: usize = 1_000;

/// Rows in one statement at most, so that a statement's text stays small.
const MAX_ROWS: usize = 1_000;

/// A multi-row `INSERT`: the text up to `VALUES` and the parameters of a row.
#[derive(Clone, Copy)]
struct Insert {
    head: &'static str,
    columns: usize,
}

impl Insert {
    fn rows_per_statement(self) -> usize {
        (MAX_PARAMETERS / self.columns.max(1)).clamp(1, MAX_ROWS)
    }

    /// The statement for `rows` rows: `head ($1, …, $c), ($c+1, …), …`.
    fn sql(self, rows: usize) -> String {
        use std::fmt::Write;
        let mut sql = String::with_capacity(self.head.len() + rows * self.columns * 6);
        sql.push_str(self.head);
        let mut n = 0;
        for r in 0..rows {
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for c in 0..self.columns {
                n += 1;
                let _ = write!(sql, "{}${n}", if c == 0 { "" } else { ", " });
            }
            sql.push(')');
        }
        sql
    }
}

/// A history row to insert with others of the same write.
struct HistoryIn<'a> {
    entity: &'static str,
    entity_id: String,
    version: i64,
    data: String,
    at: &'a str,
    actor: &'a str,
    action: &'a str,
    /// The change of the sequence that wrote it (its audit entry's id).
    seq: i64,
    county: Option<String>,
}

type Query<'q, DB> = sqlx::query::Query<'q, DB, <DB as Database>::Arguments>;

const AUDIT_ROWS: Insert = Insert {
    head: "INSERT INTO audit (id, at, actor, action, entity, entity_id, before, after, prev_hash, hash) VALUES ",
    columns: 10,
};

/// A creation's audit entry to insert with others of the same write, its hash
/// already chained to the entry before it.
struct AuditIn<'a> {
    id: i64,
    at: &'a str,
    actor: &'a str,
    entity_id: String,
    after: String,
    prev: String,
    hash: String,
}

const AUDIT_INSERT: &str =
    "INSERT INTO audit (id, at, actor, action, entity, entity_id, before, after, prev_hash, hash) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

impl<DB> SqlStore<DB>
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
    async fn begin_write(&self) -> StoreResult<Tx<DB>> {
        DB::begin_write(&self.pool).await
    }

    /// Every row of `sql`, each mapped as it arrives: the rows are never all held
    /// at once beside what they map to (at national scale that was gigabytes).
    async fn all<T: Send>(&self, sql: &'static str, map: fn(&DB::Row) -> StoreResult<T>) -> StoreResult<Vec<T>> {
        use futures_util::TryStreamExt;
        let mut rows = sqlx::query(sql).fetch(&self.pool);
        let mut out = Vec::new();
        while let Some(row) = rows.try_next().await? {
            out.push(map(&row)?);
        }
        Ok(out)
    }

    /// A change's audit entry, and its history row naming that entry as its change.
    async fn record(tx: &mut Tx<DB>, c: Change<'_>, actor: &Actor) -> StoreResult<()> {
        let seq = Self::audit(tx, &c, actor).await?;
        Self::history(tx, &c, actor, seq).await
    }

    /// Every record of a dataset, parents before children (so foreign keys hold row by
    /// row), each with its history row as `action`; with an audit entry each when
    /// `audited_as` is `None`, else the caller has audited the whole as that change.
    async fn insert_dataset(
        tx: &mut Tx<DB>,
        ds: &crate::store::Dataset,
        action: &str,
        at: &str,
        actor: &Actor,
        audited_as: Option<i64>,
    ) -> StoreResult<()> {
        let mut divisions: Vec<&Division> = ds.divisions.iter().collect();
        divisions.sort_by_key(|d| (d.level, d.code.clone()));
        Self::counter_past(tx, "facilities", 'f', ds.facilities.iter().map(|f| f.id.as_str())).await?;
        Self::counter_past(tx, "places", 'p', ds.places.iter().map(|p| p.id.as_str())).await?;
        let Some(seq) = audited_as else {
            // Each record its own link of the audit chain, in order.
            for d in divisions {
                Self::insert_division(tx, d).await?;
                Self::record(
                    tx,
                    Change::new("division", d.code.as_str(), d.version, action, &division_json(d), at),
                    actor,
                )
                .await?;
            }
            for s in &ds.settlements {
                Self::insert_settlement(tx, s).await?;
                let after = settlement_json(s);
                Self::record(tx, Change::new("settlement", s.code.as_str(), s.version, action, &after, at), actor)
                    .await?;
            }
            for f in &ds.facilities {
                Self::insert_facility(tx, f).await?;
                Self::record(tx, Change::new("facility", &f.id, f.version, action, &facility_json(f), at), actor)
                    .await?;
            }
            for p in &ds.places {
                Self::insert_place(tx, p).await?;
                Self::record(tx, Change::new("place", &p.id, p.version, action, &place_json(p), at), actor).await?;
            }
            return Ok(());
        };
        // The caller audited the whole: rows and history rows in multi-row statements.
        let row = |entity: &'static str, entity_id: &str, version: i64, data: Value| HistoryIn {
            entity,
            entity_id: entity_id.to_string(),
            version,
            county: crate::store::records::county_of(entity, entity_id, &data),
            data: data.to_string(),
            at,
            actor: &actor.0,
            action,
            seq,
        };
        Self::insert_divisions(tx, &divisions).await?;
        let history: Vec<HistoryIn> =
            divisions.iter().map(|d| row("division", d.code.as_str(), d.version, division_json(d))).collect();
        Self::insert_history(tx, &history).await?;
        Self::insert_rows(tx, SETTLEMENT_INSERT, &ds.settlements, Self::bind_settlement).await?;
        let history: Vec<HistoryIn> =
            ds.settlements.iter().map(|s| row("settlement", s.code.as_str(), s.version, settlement_json(s))).collect();
        Self::insert_history(tx, &history).await?;
        Self::insert_rows(tx, FACILITY_INSERT, &ds.facilities, Self::bind_facility).await?;
        let history: Vec<HistoryIn> =
            ds.facilities.iter().map(|f| row("facility", &f.id, f.version, facility_json(f))).collect();
        Self::insert_history(tx, &history).await?;
        Self::insert_rows(tx, PLACE_INSERT, &ds.places, Self::bind_place).await?;
        let history: Vec<HistoryIn> = ds.places.iter().map(|p| row("place", &p.id, p.version, place_json(p))).collect();
        Self::insert_history(tx, &history).await
    }

    /// The history row of a change (its record as it became), written by change `seq`.
    async fn history(tx: &mut Tx<DB>, c: &Change<'_>, actor: &Actor, seq: i64) -> StoreResult<()> {
        sqlx::query(HISTORY_INSERT)
            .bind(c.entity)
            .bind(c.entity_id)
            .bind(c.version)
            .bind(c.after.to_string())
            .bind(c.at)
            .bind(&actor.0)
            .bind(c.action)
            .bind(seq)
            .bind(crate::store::records::county_of(c.entity, c.entity_id, c.after))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// The audit entry of a change, the chain's next link; its id is the change's
    /// number in the sequence.
    async fn audit(tx: &mut Tx<DB>, c: &Change<'_>, actor: &Actor) -> StoreResult<i64> {
        // The chain's next link, read under the write lock every writer holds.
        let (id, prev) = Self::chain_head(tx).await?;
        let id = id + 1;
        let hash = crate::store::chain::entry_hash(
            id,
            &prev,
            c.at,
            &actor.0,
            c.action,
            c.entity,
            c.entity_id,
            c.before,
            Some(c.after),
        );
        sqlx::query(AUDIT_INSERT)
            .bind(id)
            .bind(c.at)
            .bind(&actor.0)
            .bind(c.action)
            .bind(c.entity)
            .bind(c.entity_id)
            .bind(c.before.map(|b| b.to_string()))
            .bind(c.after.to_string())
            .bind(&prev)
            .bind(&hash)
            .execute(&mut **tx)
            .await?;
        // Other instances learn of the change (PostgreSQL: NOTIFY at commit).
        if let Some(sql) = DB::NOTIFY {
            sqlx::query(sql).bind(c.entity).execute(&mut **tx).await?;
        }
        Ok(id)
    }

    /// The newest audit entry's id and hash (0 and `GENESIS` for an empty audit).
    async fn chain_head(tx: &mut Tx<DB>) -> StoreResult<(i64, String)> {
        let row = sqlx::query("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetch_optional(&mut **tx).await?;
        match row {
            None => Ok((0, crate::store::chain::GENESIS.to_string())),
            Some(r) => {
                let id: i64 = r.try_get("id")?;
                let hash: Option<String> = r.try_get("hash")?;
                // Unsealed entries are sealed when the registry opens; one left here
                // means a writer went around the store.
                let hash = hash.ok_or_else(|| corrupt("audit", format!("entry {id} carries no hash")))?;
                Ok((id, hash))
            }
        }
    }

    /// The next free generated id of `table` (`f0001`, `p00001`: `prefix` and at
    /// least `width` digits): `next_ids` for one.
    async fn next_id(
        slot: &mut Option<i64>,
        tx: &mut Tx<DB>,
        table: &'static str,
        prefix: char,
        width: usize,
    ) -> StoreResult<String> {
        let ids = Self::next_ids(slot, tx, table, prefix, width, 1, &HashSet::new()).await?;
        ids.into_iter().next().ok_or_else(|| corrupt(table, "no id numbered"))
    }

    /// `k` free generated ids of `table` for one write, none of them in `exclude`
    /// (ids the same write brings). The number comes from the `counters` row, read
    /// once per transaction (`slot` counts on from there) and written back; an id
    /// already taken (given explicitly, loaded, copied) is stepped over, found by
    /// one lookup per batch of candidates — never a scan of the table.
    async fn next_ids(
        slot: &mut Option<i64>,
        tx: &mut Tx<DB>,
        table: &'static str,
        prefix: char,
        width: usize,
        k: usize,
        exclude: &HashSet<&str>,
    ) -> StoreResult<Vec<String>> {
        let mut out = Vec::with_capacity(k);
        if k == 0 {
            return Ok(out);
        }
        let mut n = Self::counter_start(*slot, tx, table).await?;
        while out.len() < k {
            let want = i64::try_from(k - out.len()).unwrap_or(i64::MAX);
            let candidates: Vec<String> = (n..n.saturating_add(want)).map(|i| format!("{prefix}{i:0width$}")).collect();
            let refs: Vec<&str> = candidates.iter().map(String::as_str).collect();
            let held = Self::ids_held(tx, table, &refs).await?;
            out.extend(candidates.into_iter().filter(|c| !held.contains(c) && !exclude.contains(c.as_str())));
            n = n.saturating_add(want);
        }
        *slot = Some(n);
        Self::advance_counter(tx, table, n).await?;
        Ok(out)
    }

    /// Which of `ids` `table` holds, in statements of at most 500 ids.
    async fn ids_held(tx: &mut Tx<DB>, table: &'static str, ids: &[&str]) -> StoreResult<HashSet<String>> {
        let mut held = HashSet::new();
        for chunk in ids.chunks(500) {
            let list: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!("SELECT id FROM {table} WHERE id IN ({})", list.join(", "));
            let mut q = sqlx::query_scalar::<DB, String>(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                q = q.bind(*id);
            }
            held.extend(q.fetch_all(&mut **tx).await?);
        }
        Ok(held)
    }

    /// Where `table`'s generated ids count from: `slot` once this transaction has
    /// counted, else the `counters` row (1 when there is none).
    async fn counter_start(slot: Option<i64>, tx: &mut Tx<DB>, table: &'static str) -> StoreResult<i64> {
        if let Some(n) = slot {
            return Ok(n);
        }
        Ok(sqlx::query_scalar::<DB, i64>("SELECT next FROM counters WHERE name = $1")
            .bind(table)
            .fetch_optional(&mut **tx)
            .await?
            .unwrap_or(1))
    }

    /// Move `table`'s counter to at least `next`.
    async fn advance_counter(tx: &mut Tx<DB>, table: &'static str, next: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO counters (name, next) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE \
             SET next = CASE WHEN counters.next > excluded.next THEN counters.next ELSE excluded.next END",
        )
        .bind(table)
        .bind(next)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Counters past the generated-form ids among `ids` (records loaded or copied
    /// with their ids), so the next generated id need not step over them.
    async fn counter_past<'i>(
        tx: &mut Tx<DB>,
        table: &'static str,
        prefix: char,
        ids: impl Iterator<Item = &'i str>,
    ) -> StoreResult<()> {
        let max = ids
            .filter_map(|id| id.strip_prefix(prefix))
            .filter(|d| !d.is_empty() && d.len() <= 15 && d.bytes().all(|b| b.is_ascii_digit()))
            .filter_map(|d| d.parse::<i64>().ok())
            .max();
        match max {
            Some(m) => Self::advance_counter(tx, table, m + 1).await,
            None => Ok(()),
        }
    }

    fn division_from_row(r: &DB::Row) -> StoreResult<Division> {
        let code: String = r.try_get("code")?;
        let what = format!("division {code}");
        let geometry: Option<String> = r.try_get("geometry")?;
        let geometry = match geometry {
            Some(g) => {
                let g: geojson::Geometry = g.parse::<geojson::Geometry>().map_err(|e| corrupt(&what, e))?;
                Some(crate::spatial::geojson_in::to_geo(g).map_err(|e| corrupt(&what, e))?)
            }
            None => None,
        };
        let parent: Option<String> = r.try_get("parent_code")?;
        Ok(Division {
            code: code.parse().map_err(|e| corrupt(&what, e))?,
            level: r.try_get::<String, _>("level")?.parse::<DivisionLevel>().map_err(|e| corrupt(&what, e))?,
            name: r.try_get("name")?,
            pinyin: r.try_get("pinyin")?,
            parent_code: parent.map(|p| p.parse::<DivisionCode>()).transpose().map_err(|e| corrupt(&what, e))?,
            geometry,
            is_xpcc: r.try_get("is_xpcc")?,
            provenance: r.try_get::<String, _>("provenance")?.parse().map_err(|e| corrupt(&what, e))?,
            geometry_provenance: r
                .try_get::<Option<String>, _>("geometry_provenance")?
                .map(|p| p.parse())
                .transpose()
                .map_err(|e| corrupt(&what, e))?,
            valid_from: r.try_get("valid_from")?,
            valid_to: r.try_get("valid_to")?,
            properties: parse_json_map(&r.try_get::<String, _>("properties")?, &what)?,
            version: r.try_get("version")?,
        })
    }

    fn settlement_from_row(r: &DB::Row) -> StoreResult<Settlement> {
        let code: String = r.try_get("code")?;
        let what = format!("settlement {code}");
        let population: Option<i64> = r.try_get("population")?;
        let population_60plus: Option<i64> = r.try_get("population_60plus")?;
        Ok(Settlement {
            code: code.parse().map_err(|e| corrupt(&what, e))?,
            name: r.try_get("name")?,
            short_name: r.try_get("short_name")?,
            township_code: r.try_get::<String, _>("township_code")?.parse().map_err(|e| corrupt(&what, e))?,
            village_kind: r.try_get("village_kind")?,
            location: LonLat::try_from([r.try_get("lon")?, r.try_get("lat")?]).map_err(|e| corrupt(&what, e))?,
            population: population.map(|p| p.max(0) as u64),
            population_60plus: population_60plus.map(|p| p.max(0) as u64),
            is_xpcc: r.try_get("is_xpcc")?,
            provenance: r.try_get::<String, _>("provenance")?.parse().map_err(|e| corrupt(&what, e))?,
            location_provenance: r
                .try_get::<String, _>("location_provenance")?
                .parse()
                .map_err(|e| corrupt(&what, e))?,
            population_provenance: r
                .try_get::<Option<String>, _>("population_provenance")?
                .map(|p| p.parse())
                .transpose()
                .map_err(|e| corrupt(&what, e))?,
            version: r.try_get("version")?,
        })
    }

    fn facility_from_row(r: &DB::Row) -> StoreResult<Facility> {
        let id: String = r.try_get("id")?;
        let what = format!("facility {id}");
        let beds: Option<i64> = r.try_get("capacity_beds")?;
        Ok(Facility {
            name: r.try_get("name")?,
            kind: r.try_get::<String, _>("kind")?.parse::<FacilityKind>().map_err(|e| corrupt(&what, e))?,
            township_code: r.try_get::<String, _>("township_code")?.parse().map_err(|e| corrupt(&what, e))?,
            location: LonLat::try_from([r.try_get("lon")?, r.try_get("lat")?]).map_err(|e| corrupt(&what, e))?,
            status: r.try_get::<String, _>("status")?.parse::<FacilityStatus>().map_err(|e| corrupt(&what, e))?,
            capacity_beds: beds.map(|b| u32::try_from(b).unwrap_or(u32::MAX)),
            operator: r.try_get("operator")?,
            attributes: parse_json_map(&r.try_get::<String, _>("attributes")?, &what)?,
            provenance: r.try_get::<String, _>("provenance")?.parse::<Provenance>().map_err(|e| corrupt(&what, e))?,
            version: r.try_get("version")?,
            updated_at: r.try_get("updated_at")?,
            id,
        })
    }

    fn place_from_row(r: &DB::Row) -> StoreResult<Place> {
        let id: String = r.try_get("id")?;
        let what = format!("place {id}");
        let geometry: Option<String> = r.try_get("geometry")?;
        let geometry = match geometry {
            Some(g) => Some(
                crate::spatial::geojson_in::to_geo(g.parse::<geojson::Geometry>().map_err(|e| corrupt(&what, e))?)
                    .map_err(|e| corrupt(&what, e))?,
            ),
            None => None,
        };
        let division: Option<String> = r.try_get("division_code")?;
        let names = |col: &str| -> StoreResult<Vec<String>> {
            serde_json::from_str(&r.try_get::<String, _>(col)?).map_err(|e| corrupt(&what, e))
        };
        let minority: Option<String> = r.try_get("minority_form")?;
        Ok(Place {
            name: r.try_get("name")?,
            specific_term: r.try_get("specific_term")?,
            generic_term: r.try_get("generic_term")?,
            category: r.try_get("category")?,
            division_code: division.map(|d| d.parse::<DivisionCode>()).transpose().map_err(|e| corrupt(&what, e))?,
            geometry,
            romanization: r.try_get::<Option<String>, _>("romanization")?.unwrap_or_default(),
            romanization_source: r.try_get("romanization_source")?,
            origin: r.try_get("origin")?,
            alternate_names: names("alternate_names")?,
            historic_names: names("historic_names")?,
            minority_form: minority.map(|m| serde_json::from_str(&m)).transpose().map_err(|e| corrupt(&what, e))?,
            status: r.try_get::<String, _>("status")?.parse::<PlaceStatus>().map_err(|e| corrupt(&what, e))?,
            proposed_by: r.try_get("proposed_by")?,
            decided_by: r.try_get("decided_by")?,
            approving_body: r.try_get("approving_body")?,
            document_no: r.try_get("document_no")?,
            decided_on: r.try_get("decided_on")?,
            predecessor_id: r.try_get("predecessor_id")?,
            successor_id: r.try_get("successor_id")?,
            attributes: parse_json_map(&r.try_get::<String, _>("attributes")?, &what)?,
            provenance: r.try_get::<String, _>("provenance")?.parse().map_err(|e| corrupt(&what, e))?,
            version: r.try_get("version")?,
            updated_at: r.try_get("updated_at")?,
            id,
        })
    }

    fn history_from_row(r: &DB::Row) -> StoreResult<HistoryRow> {
        let data: String = r.try_get("data")?;
        Ok(HistoryRow {
            entity: r.try_get("entity")?,
            entity_id: r.try_get("entity_id")?,
            version: r.try_get("version")?,
            seq: r.try_get("seq")?,
            data: serde_json::from_str(&data).map_err(|e| corrupt("history", e))?,
            changed_at: r.try_get("changed_at")?,
            actor: r.try_get("actor")?,
            action: r.try_get("action")?,
        })
    }

    fn audit_from_row(r: &DB::Row) -> StoreResult<AuditEntry> {
        let parse = |s: Option<String>| -> StoreResult<Option<Value>> {
            s.map(|s| serde_json::from_str(&s).map_err(|e| corrupt("audit", e))).transpose()
        };
        Ok(AuditEntry {
            id: r.try_get("id")?,
            at: r.try_get("at")?,
            actor: r.try_get("actor")?,
            action: r.try_get("action")?,
            entity: r.try_get("entity")?,
            entity_id: r.try_get("entity_id")?,
            before: parse(r.try_get("before")?)?,
            after: parse(r.try_get("after")?)?,
            prev_hash: r.try_get("prev_hash")?,
            hash: r.try_get("hash")?,
        })
    }

    fn user_from_row(r: &DB::Row) -> StoreResult<User> {
        Ok(User {
            id: r.try_get("id")?,
            username: r.try_get("username")?,
            display_name: r.try_get("display_name")?,
            role: r.try_get::<String, _>("role")?.parse::<Role>().map_err(|e| corrupt("user", e))?,
            active: r.try_get("active")?,
        })
    }

    fn api_token_from_row(r: &DB::Row) -> StoreResult<ApiToken> {
        Ok(ApiToken {
            id: r.try_get("id")?,
            user_id: r.try_get("user_id")?,
            username: r.try_get("username")?,
            name: r.try_get("name")?,
            created_at: r.try_get("created_at")?,
            revoked_at: r.try_get("revoked_at")?,
        })
    }

    fn login_session_from_row(r: &DB::Row) -> StoreResult<LoginSession> {
        Ok(LoginSession {
            id: r.try_get("id")?,
            user_id: r.try_get("user_id")?,
            username: r.try_get("username")?,
            created_at: r.try_get("created_at")?,
            expires_at: r.try_get("expires_at")?,
        })
    }

    async fn insert_division(tx: &mut Tx<DB>, d: &Division) -> StoreResult<()> {
        Self::insert_divisions(tx, std::slice::from_ref(&d)).await
    }

    async fn insert_settlement(tx: &mut Tx<DB>, s: &Settlement) -> StoreResult<()> {
        Self::insert_rows(tx, SETTLEMENT_INSERT, std::slice::from_ref(s), Self::bind_settlement).await
    }

    async fn insert_facility(tx: &mut Tx<DB>, f: &Facility) -> StoreResult<()> {
        Self::insert_rows(tx, FACILITY_INSERT, std::slice::from_ref(f), Self::bind_facility).await
    }

    async fn insert_place(tx: &mut Tx<DB>, p: &Place) -> StoreResult<()> {
        Self::insert_rows(tx, PLACE_INSERT, std::slice::from_ref(p), Self::bind_place).await
    }

    /// Divisions in the given order (parents first, for the foreign keys).
    async fn insert_divisions(tx: &mut Tx<DB>, divisions: &[&Division]) -> StoreResult<()> {
        Self::insert_rows(tx, DIVISION_INSERT, divisions, |q, d| Self::bind_division(q, d)).await
    }

    /// Rows of one table in as few statements as the databases' parameter limits
    /// allow (`INSERT … VALUES (…), (…)`), each row bound by `bind` in the order of
    /// the statement's columns. A large load costs a few hundred statements, not
    /// one per row.
    async fn insert_rows<T: Sync>(
        tx: &mut Tx<DB>,
        insert: Insert,
        rows: &[T],
        bind: for<'q> fn(Query<'q, DB>, &T) -> Query<'q, DB>,
    ) -> StoreResult<()> {
        for chunk in rows.chunks(insert.rows_per_statement()) {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(insert.sql(chunk.len())));
            for row in chunk {
                q = bind(q, row);
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// History rows of records written together (`action` at `at` by `actor`).
    async fn insert_history(tx: &mut Tx<DB>, rows: &[HistoryIn<'_>]) -> StoreResult<()> {
        Self::insert_rows(tx, HISTORY_ROWS, rows, |q, h| {
            q.bind(h.entity)
                .bind(&h.entity_id)
                .bind(h.version)
                .bind(&h.data)
                .bind(h.at)
                .bind(h.actor)
                .bind(h.action)
                .bind(h.seq)
                .bind(h.county.as_deref())
        })
        .await
    }

    fn bind_division<'q>(q: Query<'q, DB>, d: &Division) -> Query<'q, DB> {
        let geometry = d.geometry.as_ref().map(|g| geojson::Geometry::from(g).to_string());
        q.bind(d.code.as_str())
            .bind(d.level.as_str())
            .bind(&d.name)
            .bind(&d.pinyin)
            .bind(d.parent_code.as_ref().map(|c| c.as_str()))
            .bind(geometry)
            .bind(d.is_xpcc)
            .bind(d.provenance.as_str())
            .bind(&d.valid_from)
            .bind(&d.valid_to)
            .bind(Value::Object(d.properties.clone()).to_string())
            .bind(d.version)
            .bind(d.geometry_provenance.map(Provenance::as_str))
    }

    fn bind_settlement<'q>(q: Query<'q, DB>, s: &Settlement) -> Query<'q, DB> {
        q.bind(s.code.as_str())
            .bind(&s.name)
            .bind(&s.short_name)
            .bind(s.township_code.as_str())
            .bind(&s.village_kind)
            .bind(s.location.lon())
            .bind(s.location.lat())
            .bind(s.population.map(|p| p as i64))
            .bind(s.population_60plus.map(|p| p as i64))
            .bind(s.is_xpcc)
            .bind(s.provenance.as_str())
            .bind(s.version)
            .bind(s.location_provenance.as_str())
            .bind(s.population_provenance.map(Provenance::as_str))
    }

    fn bind_facility<'q>(q: Query<'q, DB>, f: &Facility) -> Query<'q, DB> {
        q.bind(&f.id)
            .bind(&f.name)
            .bind(f.kind.as_str())
            .bind(f.township_code.as_str())
            .bind(f.location.lon())
            .bind(f.location.lat())
            .bind(f.status.as_str())
            .bind(f.capacity_beds.map(i64::from))
            .bind(&f.operator)
            .bind(Value::Object(f.attributes.clone()).to_string())
            .bind(f.provenance.as_str())
            .bind(f.version)
            .bind(&f.updated_at)
    }

    /// A place's columns, in the order of `PLACE_COLUMNS`.
    fn bind_place<'q>(
        q: sqlx::query::Query<'q, DB, DB::Arguments>,
        p: &Place,
    ) -> sqlx::query::Query<'q, DB, DB::Arguments> {
        q.bind(&p.id)
            .bind(&p.name)
            .bind(&p.specific_term)
            .bind(&p.generic_term)
            .bind(&p.category)
            .bind(p.division_code.as_ref().map(|c| c.as_str()))
            .bind(p.geometry.as_ref().map(|g| geojson::Geometry::from(g).to_string()))
            .bind(&p.romanization)
            .bind(&p.romanization_source)
            .bind(&p.origin)
            .bind(serde_json::to_string(&p.alternate_names).unwrap_or_else(|_| "[]".into()))
            .bind(serde_json::to_string(&p.historic_names).unwrap_or_else(|_| "[]".into()))
            .bind(p.minority_form.as_ref().and_then(|m| serde_json::to_string(m).ok()))
            .bind(p.status.as_str())
            .bind(&p.proposed_by)
            .bind(&p.decided_by)
            .bind(&p.approving_body)
            .bind(&p.document_no)
            .bind(&p.decided_on)
            .bind(&p.predecessor_id)
            .bind(&p.successor_id)
            .bind(Value::Object(p.attributes.clone()).to_string())
            .bind(p.provenance.as_str())
            .bind(p.version)
            .bind(&p.updated_at)
    }

    async fn create_facility_tx(
        tx: &mut Tx<DB>,
        id: Option<&str>,
        numbers: &mut Numbers,
        new: &NewFacility,
        actor: &Actor,
        at: &str,
    ) -> StoreResult<Facility> {
        let id = match id {
            Some(id) => {
                let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM facilities WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut **tx)
                    .await?;
                if taken > 0 {
                    return Err(StoreError::Duplicate { entity: "facility", id: id.to_string() });
                }
                Numbers::taken(&mut numbers.facility, id);
                Self::counter_past(tx, "facilities", 'f', std::iter::once(id)).await?;
                id.to_string()
            }
            None => Self::next_id(&mut numbers.facility, tx, "facilities", 'f', 4).await?,
        };
        let f = Facility::new(id, new, at);
        Self::insert_facility(tx, &f).await?;
        Self::record(tx, Change::new("facility", &f.id, 1, "create", &facility_json(&f), at), actor).await?;
        Ok(f)
    }

    /// Facilities created together (an import's run of new rows): the ids given
    /// checked (none twice, none held) and the others numbered, then the rows, their
    /// audit entries (each its own link of the chain, in order: one read of the
    /// chain's head) and history rows in multi-row statements. The same records,
    /// chain and change sequence as `create_facility_tx` row by row, in a handful of
    /// statements per thousand rows instead of six or seven per row.
    async fn create_facilities_tx(
        tx: &mut Tx<DB>,
        rows: &[(Option<&str>, &NewFacility)],
        numbers: &mut Numbers,
        actor: &Actor,
        at: &str,
    ) -> StoreResult<Vec<Facility>> {
        let given: Vec<&str> = rows.iter().filter_map(|r| r.0).collect();
        let mut seen: HashSet<&str> = HashSet::with_capacity(given.len());
        if let Some(id) = given.iter().find(|id| !seen.insert(id)) {
            return Err(StoreError::Duplicate { entity: "facility", id: id.to_string() });
        }
        let held = Self::ids_held(tx, "facilities", &given).await?;
        if let Some(id) = given.iter().find(|id| held.contains(**id)) {
            return Err(StoreError::Duplicate { entity: "facility", id: id.to_string() });
        }
        for id in &given {
            Numbers::taken(&mut numbers.facility, id);
        }
        Self::counter_past(tx, "facilities", 'f', given.iter().copied()).await?;
        let need = rows.len() - given.len();
        let mut fresh = Self::next_ids(&mut numbers.facility, tx, "facilities", 'f', 4, need, &seen).await?.into_iter();
        let mut created = Vec::with_capacity(rows.len());
        for (id, new) in rows {
            let id = match id {
                Some(id) => id.to_string(),
                None => fresh.next().ok_or_else(|| corrupt("facility ids", "fewer numbered than asked"))?,
            };
            created.push(Facility::new(id, new, at));
        }
        Self::insert_rows(tx, FACILITY_INSERT, &created, Self::bind_facility).await?;
        let (mut seq, mut prev) = Self::chain_head(tx).await?;
        let mut audit = Vec::with_capacity(created.len());
        let mut history = Vec::with_capacity(created.len());
        for f in &created {
            seq += 1;
            let after = facility_json(f);
            let hash = crate::store::chain::entry_hash(
                seq,
                &prev,
                at,
                &actor.0,
                "create",
                "facility",
                &f.id,
                None,
                Some(&after),
            );
            let data = after.to_string();
            history.push(HistoryIn {
                entity: "facility",
                entity_id: f.id.clone(),
                version: f.version,
                data: data.clone(),
                at,
                actor: &actor.0,
                action: "create",
                seq,
                county: crate::store::records::county_of("facility", &f.id, &after),
            });
            let link = std::mem::replace(&mut prev, hash.clone());
            audit.push(AuditIn {
                id: seq,
                at,
                actor: &actor.0,
                entity_id: f.id.clone(),
                after: data,
                prev: link,
                hash,
            });
        }
        Self::insert_rows(tx, AUDIT_ROWS, &audit, |q, a| {
            q.bind(a.id)
                .bind(a.at)
                .bind(a.actor)
                .bind("create")
                .bind("facility")
                .bind(&a.entity_id)
                .bind(None::<String>)
                .bind(&a.after)
                .bind(&a.prev)
                .bind(&a.hash)
        })
        .await?;
        if let (Some(sql), false) = (DB::NOTIFY, created.is_empty()) {
            sqlx::query(sql).bind("facility").execute(&mut **tx).await?;
        }
        Self::insert_history(tx, &history).await?;
        Ok(created)
    }

    async fn update_facility_tx(
        tx: &mut Tx<DB>,
        id: &str,
        expected_version: i64,
        fields: &NewFacility,
        action: &str,
        actor: &Actor,
        at: &str,
    ) -> StoreResult<Facility> {
        let before = sqlx::query("SELECT * FROM facilities WHERE id = $1").bind(id).fetch_optional(&mut **tx).await?;
        let Some(before) = before.as_ref().map(Self::facility_from_row).transpose()? else {
            return Err(StoreError::NotFound { entity: "facility", id: id.to_string() });
        };
        if before.version != expected_version {
            return Err(stale("facility", id, before.version, expected_version));
        }
        let after = before.with_fields(fields, before.version + 1, at);
        // The version check is repeated in SQL, so it also holds against writers
        // that do not share this process.
        let done = sqlx::query(
            "UPDATE facilities SET name = $1, kind = $2, township_code = $3, lon = $4, lat = $5, status = $6, \
             capacity_beds = $7,
             operator = $8, attributes = $9, provenance = $10, version = version + 1, updated_at = $11
         WHERE id = $12 AND version = $13",
        )
        .bind(&after.name)
        .bind(after.kind.as_str())
        .bind(after.township_code.as_str())
        .bind(after.location.lon())
        .bind(after.location.lat())
        .bind(after.status.as_str())
        .bind(after.capacity_beds.map(i64::from))
        .bind(&after.operator)
        .bind(Value::Object(after.attributes.clone()).to_string())
        .bind(after.provenance.as_str())
        .bind(at)
        .bind(id)
        .bind(expected_version)
        .execute(&mut **tx)
        .await?;
        if DB::rows_affected(&done) != 1 {
            return Err(stale("facility", id, before.version, expected_version));
        }
        let before_json = facility_json(&before);
        let change = Change {
            entity: "facility",
            entity_id: id,
            version: after.version,
            action,
            before: Some(&before_json),
            after: &facility_json(&after),
            at,
        };
        Self::record(tx, change, actor).await?;
        Ok(after)
    }

    async fn create_place_tx(
        tx: &mut Tx<DB>,
        numbers: &mut Numbers,
        place: &Place,
        action: &str,
        actor: &Actor,
        at: &str,
    ) -> StoreResult<Place> {
        let id = Self::next_id(&mut numbers.place, tx, "places", 'p', 5).await?;
        let p = Place { id, version: 1, updated_at: at.to_string(), ..place.clone() };
        Self::insert_place(tx, &p).await?;
        let after = place_json(&p);
        Self::record(tx, Change::new("place", &p.id, 1, action, &after, at), actor).await?;
        Ok(p)
    }

    /// Insert a settlement (`expected` `None`) or replace it at `expected`, recorded as `import`.
    async fn put_settlement_tx(
        tx: &mut Tx<DB>,
        s: &Settlement,
        expected: Option<i64>,
        actor: &Actor,
        at: &str,
    ) -> StoreResult<()> {
        let code = s.code.as_str();
        let row = sqlx::query("SELECT * FROM settlements WHERE code = $1").bind(code).fetch_optional(&mut **tx).await?;
        let before = row.as_ref().map(Self::settlement_from_row).transpose()?;
        let after = match (&before, expected) {
            (None, None) => {
                let s = Settlement { version: 1, ..s.clone() };
                Self::insert_settlement(tx, &s).await?;
                s
            }
            (Some(b), Some(v)) if b.version == v => {
                let s = Settlement { version: v + 1, ..s.clone() };
                let done = sqlx::query("DELETE FROM settlements WHERE code = $1 AND version = $2")
                    .bind(code)
                    .bind(v)
                    .execute(&mut **tx)
                    .await?;
                if DB::rows_affected(&done) != 1 {
                    return Err(stale("settlement", code, b.version, v));
                }
                Self::insert_settlement(tx, &s).await?;
                s
            }
            (Some(b), v) => return Err(stale("settlement", code, b.version, v.unwrap_or(0))),
            (None, Some(_)) => return Err(StoreError::NotFound { entity: "settlement", id: code.to_string() }),
        };
        let before_json = before.as_ref().map(settlement_json);
        let change = Change {
            entity: "settlement",
            entity_id: code,
            version: after.version,
            action: "import",
            before: before_json.as_ref(),
            after: &settlement_json(&after),
            at,
        };
        Self::record(tx, change, actor).await
    }

    /// Insert a division (`expected` `None`) or replace it at `expected`, recorded as `import`.
    async fn put_division_tx(
        tx: &mut Tx<DB>,
        d: &Division,
        expected: Option<i64>,
        actor: &Actor,
        at: &str,
    ) -> StoreResult<()> {
        let code = d.code.as_str();
        let row = sqlx::query("SELECT * FROM divisions WHERE code = $1").bind(code).fetch_optional(&mut **tx).await?;
        let before = row.as_ref().map(Self::division_from_row).transpose()?;
        let after = match (&before, expected) {
            (None, None) => {
                let d = Division { version: 1, ..d.clone() };
                Self::insert_division(tx, &d).await?;
                d
            }
            (Some(b), Some(v)) if b.version == v => {
                let d = Division { version: v + 1, ..d.clone() };
                let geometry = d.geometry.as_ref().map(|g| geojson::Geometry::from(g).to_string());
                let done = sqlx::query(
                    "UPDATE divisions SET level = $1, name = $2, pinyin = $3, parent_code = $4, geometry = $5, \
                     is_xpcc = $6,
                     provenance = $7, valid_from = $8, valid_to = $9, properties = $10, version = $11, \
                     geometry_provenance = $14
                 WHERE code = $12 AND version = $13",
                )
                .bind(d.level.as_str())
                .bind(&d.name)
                .bind(&d.pinyin)
                .bind(d.parent_code.as_ref().map(|c| c.as_str()))
                .bind(geometry)
                .bind(d.is_xpcc)
                .bind(d.provenance.as_str())
                .bind(&d.valid_from)
                .bind(&d.valid_to)
                .bind(Value::Object(d.properties.clone()).to_string())
                .bind(d.version)
                .bind(code)
                .bind(v)
                .bind(d.geometry_provenance.map(Provenance::as_str))
                .execute(&mut **tx)
                .await?;
                if DB::rows_affected(&done) != 1 {
                    return Err(stale("division", code, b.version, v));
                }
                d
            }
            (Some(b), v) => return Err(stale("division", code, b.version, v.unwrap_or(0))),
            (None, Some(_)) => return Err(StoreError::NotFound { entity: "division", id: code.to_string() }),
        };
        let before_json = before.as_ref().map(division_json);
        let change = Change {
            entity: "division",
            entity_id: code,
            version: after.version,
            action: "import",
            before: before_json.as_ref(),
            after: &division_json(&after),
            at,
        };
        Self::record(tx, change, actor).await
    }
}
