//! The SQL both backends share: row mapping, history and audit, every write in
//! one transaction, version checks repeated in SQL. Written once with `$N`
//! placeholders (PostgreSQL's, which SQLite reads too) and instantiated per backend
//! by `sql_backend!`, so SQLite and PostgreSQL cannot drift apart. What differs —
//! opening, the write lock, change notification — stays in each backend's module.

/// Instantiate the shared store code for a backend: `$store` (a struct with
/// `pool`, `url` and an async `begin_write`), its database, row and argument
/// types, and the SQL that announces a change inside a transaction, if any.
macro_rules! sql_backend {
    ($store:ident, $db:ty, $row:ty, $args:ty, $notify:expr) => {
        mod shared {
            #![allow(clippy::redundant_closure_for_method_calls)]
            use super::$store;
            use crate::store::records::{division_json, facility_json, place_json, settlement_json};
            use crate::store::{
                now_rfc3339, Actor, AuditEntry, Dataset, Dump, DumpToken, DumpUser, HistoryRow, ImportOp, LoadOutcome,
                NewUser, PlaceChange, LoginSession, Store, StoreError, StoreResult, ApiToken,
            };
            use crate::domain::{
                Division, DivisionCode, DivisionLevel, Facility, FacilityKind, FacilityStatus, LonLat, NewFacility,
                Place, PlaceStatus, Provenance, Role, Settlement, User,
            };
            use async_trait::async_trait;
            use serde_json::Value;
            use sqlx::{Row, Transaction};

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

async fn record(tx: &mut Transaction<'static, $db>, c: Change<'_>, actor: &Actor) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO history (entity, entity_id, version, data, changed_at, actor, action) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(c.entity)
    .bind(c.entity_id)
    .bind(c.version)
    .bind(c.after.to_string())
    .bind(c.at)
    .bind(&actor.0)
    .bind(c.action)
    .execute(&mut **tx)
    .await?;
    // The chain's next link, read under the write lock every writer holds.
    let (id, prev) = chain_head(tx).await?;
    let id = id + 1;
    let hash = crate::store::chain::entry_hash(
        id, &prev, c.at, &actor.0, c.action, c.entity, c.entity_id, c.before, Some(c.after),
    );
    sqlx::query("INSERT INTO audit (id, at, actor, action, entity, entity_id, before, after, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
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
    if let Some(sql) = $notify {
        sqlx::query(sql).bind(c.entity).execute(&mut **tx).await?;
    }
    Ok(())
}

/// The newest audit entry's id and hash (0 and `GENESIS` for an empty audit).
async fn chain_head(tx: &mut Transaction<'static, $db>) -> StoreResult<(i64, String)> {
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

/// The next free number of ids like `f0042` in `table`, inside the write
/// transaction (so two writers cannot take the same one). Ids an import brought
/// (`fac-7`) do not count; the scan is done here so the SQL is the same everywhere.
async fn next_number(tx: &mut Transaction<'static, $db>, table: &'static str, prefix: char) -> StoreResult<i64> {
    let sql = format!("SELECT id FROM {table} WHERE id LIKE '{prefix}%'");
    let ids: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_all(&mut **tx).await?;
    let max = ids
        .iter()
        .filter_map(|id| id.strip_prefix(prefix))
        .filter(|digits| digits.bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|digits| digits.parse::<i64>().ok())
        .max();
    Ok(max.unwrap_or(0) + 1)
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn parse_json_map(s: &str, what: &str) -> StoreResult<serde_json::Map<String, Value>> {
    match serde_json::from_str::<Value>(s).map_err(|e| corrupt(what, e))? {
        Value::Object(m) => Ok(m),
        _ => Err(corrupt(what, "not a JSON object")),
    }
}

fn division_from_row(r: &$row) -> StoreResult<Division> {
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
        valid_from: r.try_get("valid_from")?,
        valid_to: r.try_get("valid_to")?,
        properties: parse_json_map(&r.try_get::<String, _>("properties")?, &what)?,
        version: r.try_get("version")?,
    })
}

fn settlement_from_row(r: &$row) -> StoreResult<Settlement> {
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
        version: r.try_get("version")?,
    })
}

const PLACE_COLUMNS: &str = "id, name, specific_term, generic_term, category, division_code, geometry, romanization, \
     romanization_source, origin, alternate_names, historic_names, minority_form, status, proposed_by, decided_by, \
     approving_body, document_no, decided_on, predecessor_id, successor_id, attributes, provenance, version, updated_at";

async fn insert_place(tx: &mut Transaction<'static, $db>, p: &Place) -> StoreResult<()> {
    let sql = format!("INSERT INTO places ({PLACE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)");
    bind_place(sqlx::query(sqlx::AssertSqlSafe(sql)), p).execute(&mut **tx).await?;
    Ok(())
}

fn bind_place<'q>(
    q: sqlx::query::Query<'q, $db, $args>,
    p: &'q Place,
) -> sqlx::query::Query<'q, $db, $args> {
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

fn place_from_row(r: &$row) -> StoreResult<Place> {
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

/// Every row of a query, mapped.
async fn all<T>(
    pool: &sqlx::Pool<$db>,
    sql: &'static str,
    map: fn(&$row) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    sqlx::query(sql).fetch_all(pool).await?.iter().map(map).collect()
}

fn audit_from_row(r: &$row) -> StoreResult<AuditEntry> {
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

fn user_from_row(r: &$row) -> StoreResult<User> {
    Ok(User {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        role: r.try_get::<String, _>("role")?.parse::<Role>().map_err(|e| corrupt("user", e))?,
        active: r.try_get("active")?,
    })
}

fn api_token_from_row(r: &$row) -> StoreResult<ApiToken> {
    Ok(ApiToken {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        username: r.try_get("username")?,
        name: r.try_get("name")?,
        created_at: r.try_get("created_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

fn login_session_from_row(r: &$row) -> StoreResult<LoginSession> {
    Ok(LoginSession {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        username: r.try_get("username")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
    })
}

fn facility_from_row(r: &$row) -> StoreResult<Facility> {
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

async fn insert_facility(tx: &mut Transaction<'static, $db>, f: &Facility) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO facilities (id, name, kind, township_code, lon, lat, status, capacity_beds, operator, attributes, provenance, version, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&f.id)
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
    .execute(&mut **tx)
    .await?;
    Ok(())
}

type Tx = Transaction<'static, $db>;

/// The next free numbers within one write transaction: read from the table once,
/// then counted on, so a large import does not rescan the ids for every row.
#[derive(Default)]
struct Numbers {
    facility: Option<i64>,
    place: Option<i64>,
}

impl Numbers {
    async fn next(slot: &mut Option<i64>, tx: &mut Tx, table: &'static str, prefix: char) -> StoreResult<i64> {
        let n = match *slot {
            Some(n) => n,
            None => next_number(tx, table, prefix).await?,
        };
        *slot = Some(n + 1);
        Ok(n)
    }

    /// An id given explicitly (`f0500`) moves the count past it.
    fn taken(slot: &mut Option<i64>, id: &str) {
        if let (Some(n), Some(k)) = (*slot, id.get(1..).and_then(|d| d.parse::<i64>().ok())) {
            *slot = Some(n.max(k + 1));
        }
    }
}

async fn create_facility_tx(
    tx: &mut Tx,
    id: Option<&str>,
    numbers: &mut Numbers,
    new: &NewFacility,
    actor: &Actor,
    at: &str,
) -> StoreResult<Facility> {
    let id = match id {
        Some(id) => {
            let taken: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM facilities WHERE id = $1").bind(id).fetch_one(&mut **tx).await?;
            if taken > 0 {
                return Err(StoreError::Duplicate { entity: "facility", id: id.to_string() });
            }
            Numbers::taken(&mut numbers.facility, id);
            id.to_string()
        }
        None => format!("f{:04}", Numbers::next(&mut numbers.facility, tx, "facilities", 'f').await?),
    };
    let f = Facility::new(id, new, at);
    insert_facility(tx, &f).await?;
    record(tx, Change::new("facility", &f.id, 1, "create", &facility_json(&f), at), actor).await?;
    Ok(f)
}

fn stale(entity: &'static str, id: &str, current: i64, expected: i64) -> StoreError {
    StoreError::Stale { entity, id: id.to_string(), current, expected }
}

async fn update_facility_tx(
    tx: &mut Tx,
    id: &str,
    expected_version: i64,
    fields: &NewFacility,
    action: &str,
    actor: &Actor,
    at: &str,
) -> StoreResult<Facility> {
    let before = sqlx::query("SELECT * FROM facilities WHERE id = $1").bind(id).fetch_optional(&mut **tx).await?;
    let Some(before) = before.as_ref().map(facility_from_row).transpose()? else {
        return Err(StoreError::NotFound { entity: "facility", id: id.to_string() });
    };
    if before.version != expected_version {
        return Err(stale("facility", id, before.version, expected_version));
    }
    let after = before.with_fields(fields, before.version + 1, at);
    // The version check is repeated in SQL, so it also holds against writers
    // that do not share this process.
    let done = sqlx::query(
        "UPDATE facilities SET name = $1, kind = $2, township_code = $3, lon = $4, lat = $5, status = $6, capacity_beds = $7,
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
    if done.rows_affected() != 1 {
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
    record(tx, change, actor).await?;
    Ok(after)
}

async fn create_place_tx(
    tx: &mut Tx,
    numbers: &mut Numbers,
    place: &Place,
    action: &str,
    actor: &Actor,
    at: &str,
) -> StoreResult<Place> {
    let next = Numbers::next(&mut numbers.place, tx, "places", 'p').await?;
    let p = Place { id: format!("p{next:05}"), version: 1, updated_at: at.to_string(), ..place.clone() };
    insert_place(tx, &p).await?;
    let after = place_json(&p);
    record(tx, Change::new("place", &p.id, 1, action, &after, at), actor).await?;
    Ok(p)
}

async fn insert_division(tx: &mut Tx, d: &Division) -> StoreResult<()> {
    let geometry = d.geometry.as_ref().map(|g| geojson::Geometry::from(g).to_string());
    sqlx::query(
        "INSERT INTO divisions (code, level, name, pinyin, parent_code, geometry, is_xpcc, provenance, valid_from, valid_to, properties, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(d.code.as_str())
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
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_settlement(tx: &mut Tx, s: &Settlement) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO settlements (code, name, short_name, township_code, village_kind, lon, lat, population, population_60plus, is_xpcc, provenance, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(s.code.as_str())
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
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Insert a settlement (`expected` `None`) or replace it at `expected`, recorded as `import`.
async fn put_settlement_tx(
    tx: &mut Tx,
    s: &Settlement,
    expected: Option<i64>,
    actor: &Actor,
    at: &str,
) -> StoreResult<()> {
    let code = s.code.as_str();
    let row = sqlx::query("SELECT * FROM settlements WHERE code = $1").bind(code).fetch_optional(&mut **tx).await?;
    let before = row.as_ref().map(settlement_from_row).transpose()?;
    let after = match (&before, expected) {
        (None, None) => {
            let s = Settlement { version: 1, ..s.clone() };
            insert_settlement(tx, &s).await?;
            s
        }
        (Some(b), Some(v)) if b.version == v => {
            let s = Settlement { version: v + 1, ..s.clone() };
            let done = sqlx::query("DELETE FROM settlements WHERE code = $1 AND version = $2")
                .bind(code)
                .bind(v)
                .execute(&mut **tx)
                .await?;
            if done.rows_affected() != 1 {
                return Err(stale("settlement", code, b.version, v));
            }
            insert_settlement(tx, &s).await?;
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
    record(tx, change, actor).await
}

/// Insert a division (`expected` `None`) or replace it at `expected`, recorded as `import`.
async fn put_division_tx(tx: &mut Tx, d: &Division, expected: Option<i64>, actor: &Actor, at: &str) -> StoreResult<()> {
    let code = d.code.as_str();
    let row = sqlx::query("SELECT * FROM divisions WHERE code = $1").bind(code).fetch_optional(&mut **tx).await?;
    let before = row.as_ref().map(division_from_row).transpose()?;
    let after = match (&before, expected) {
        (None, None) => {
            let d = Division { version: 1, ..d.clone() };
            insert_division(tx, &d).await?;
            d
        }
        (Some(b), Some(v)) if b.version == v => {
            let d = Division { version: v + 1, ..d.clone() };
            let geometry = d.geometry.as_ref().map(|g| geojson::Geometry::from(g).to_string());
            let done = sqlx::query(
                "UPDATE divisions SET level = $1, name = $2, pinyin = $3, parent_code = $4, geometry = $5, is_xpcc = $6,
                     provenance = $7, valid_from = $8, valid_to = $9, properties = $10, version = $11
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
            .execute(&mut **tx)
            .await?;
            if done.rows_affected() != 1 {
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
    record(tx, change, actor).await
}

#[async_trait]
impl Store for $store {
    fn describe(&self) -> String {
        self.url.clone()
    }

    async fn loaded_dataset(&self) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = 'dataset'").fetch_optional(&self.pool).await?)
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
        // Parents before children, so foreign keys hold row by row.
        let mut divisions: Vec<&Division> = ds.divisions.iter().collect();
        divisions.sort_by_key(|d| (d.level, d.code.clone()));
        for d in divisions {
            insert_division(&mut tx, d).await?;
            record(&mut tx, Change::new("division", d.code.as_str(), d.version, "load", &division_json(d), &at), actor)
                .await?;
        }
        for s in &ds.settlements {
            insert_settlement(&mut tx, s).await?;
            record(
                &mut tx,
                Change::new("settlement", s.code.as_str(), s.version, "load", &settlement_json(s), &at),
                actor,
            )
            .await?;
        }
        for f in &ds.facilities {
            insert_facility(&mut tx, f).await?;
            record(&mut tx, Change::new("facility", &f.id, f.version, "load", &facility_json(f), &at), actor).await?;
        }
        for p in &ds.places {
            insert_place(&mut tx, p).await?;
            let after = place_json(p);
            record(&mut tx, Change::new("place", &p.id, p.version, "load", &after, &at), actor).await?;
        }
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
        all(&self.pool, "SELECT * FROM divisions ORDER BY code", division_from_row).await
    }

    async fn settlements(&self) -> StoreResult<Vec<Settlement>> {
        all(&self.pool, "SELECT * FROM settlements ORDER BY code", settlement_from_row).await
    }

    async fn facilities(&self) -> StoreResult<Vec<Facility>> {
        all(&self.pool, "SELECT * FROM facilities ORDER BY id", facility_from_row).await
    }

    async fn facility(&self, id: &str) -> StoreResult<Option<Facility>> {
        sqlx::query("SELECT * FROM facilities WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(facility_from_row)
            .transpose()
    }

    async fn create_facility(&self, new: &NewFacility, actor: &Actor) -> StoreResult<Facility> {
        let mut tx = self.begin_write().await?;
        let f = create_facility_tx(&mut tx, None, &mut Numbers::default(), new, actor, &now_rfc3339()).await?;
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
        let f = update_facility_tx(&mut tx, id, expected_version, fields, action, actor, &now_rfc3339()).await?;
        tx.commit().await?;
        Ok(f)
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
        for (i, op) in batch.iter().enumerate() {
            let id = match op {
                ImportOp::CreateFacility { id, fields } => {
                    create_facility_tx(&mut tx, id.as_deref(), &mut numbers, fields, actor, &at).await?.id
                }
                ImportOp::UpdateFacility { id, expected_version, fields } => {
                    update_facility_tx(&mut tx, id, *expected_version, fields, "import", actor, &at).await?.id
                }
                ImportOp::CreatePlace(p) => create_place_tx(&mut tx, &mut numbers, p, "import", actor, &at).await?.id,
                ImportOp::PutSettlement { settlement, expected_version } => {
                    put_settlement_tx(&mut tx, settlement, *expected_version, actor, &at).await?;
                    settlement.code.to_string()
                }
                ImportOp::PutDivision { division, expected_version } => {
                    put_division_tx(&mut tx, division, *expected_version, actor, &at).await?;
                    division.code.to_string()
                }
            };
            ids.push(id);
            if i % 500 == 499 {
                progress(i + 1);
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
        rows.iter()
            .map(|r| {
                let data: String = r.try_get("data")?;
                Ok(HistoryRow {
                    entity: r.try_get("entity")?,
                    entity_id: r.try_get("entity_id")?,
                    version: r.try_get("version")?,
                    data: serde_json::from_str(&data).map_err(|e| corrupt("history", e))?,
                    changed_at: r.try_get("changed_at")?,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                })
            })
            .collect()
    }

    async fn audit(&self, entity: &str, id: &str) -> StoreResult<Vec<AuditEntry>> {
        let rows = sqlx::query("SELECT * FROM audit WHERE entity = $1 AND entity_id = $2 ORDER BY id")
            .bind(entity)
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(audit_from_row).collect()
    }

    async fn create_user(&self, new: &NewUser, actor: &Actor) -> StoreResult<User> {
        let mut tx = self.begin_write().await?;
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
            .bind(&new.username)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            tx.rollback().await?;
            return Err(StoreError::Duplicate { entity: "user", id: new.username.clone() });
        }
        let at = now_rfc3339();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (username, display_name, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&new.username)
        .bind(&new.display_name)
        .bind(new.role.as_str())
        .bind(&new.password_hash)
        .bind(&at)
        .fetch_one(&mut *tx)
        .await?;
        let user = User {
            id,
            username: new.username.clone(),
            display_name: new.display_name.clone(),
            role: new.role,
            active: true,
        };
        // The history and audit keep the account, never its password hash.
        let after = serde_json::to_value(&user).unwrap_or(Value::Null);
        let change = Change {
            entity: "user",
            entity_id: &user.username,
            version: 1,
            action: "create",
            before: None,
            after: &after,
            at: &at,
        };
        record(&mut tx, change, actor).await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn user_by_name(&self, username: &str) -> StoreResult<Option<(User, String)>> {
        let row =
            sqlx::query("SELECT * FROM users WHERE username = $1").bind(username).fetch_optional(&self.pool).await?;
        row.map(|r| Ok((user_from_row(&r)?, r.try_get("password_hash")?))).transpose()
    }

    async fn count_users(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await?)
    }

    async fn create_session(
        &self,
        user_id: i64,
        token_hash: &str,
        csrf_token: &str,
        expires_at: &str,
    ) -> StoreResult<()> {
        let now = now_rfc3339();
        sqlx::query("DELETE FROM sessions WHERE expires_at < $1").bind(&now).execute(&self.pool).await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(csrf_token)
        .bind(&now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn session_user(&self, token_hash: &str) -> StoreResult<Option<(User, String)>> {
        let row = sqlx::query(
            "SELECT u.*, s.csrf_token FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(now_rfc3339())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((user_from_row(&r)?, r.try_get("csrf_token")?))).transpose()
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&self.pool).await?;
        Ok(())
    }

    async fn create_api_token(&self, user_id: i64, name: &str, token_hash: &str, actor: &Actor) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let at = now_rfc3339();
        sqlx::query("INSERT INTO api_tokens (token_hash, user_id, name, created_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(user_id)
            .bind(name)
            .bind(&at)
            .execute(&mut *tx)
            .await?;
        // Named by account and a prefix of the hash: names need not be unique, and
        // the token itself is never kept.
        let entity_id = format!("{user_id}:{}", token_hash.get(..12).unwrap_or(token_hash));
        let after = serde_json::json!({"user_id": user_id, "name": name});
        let change = Change {
            entity: "api_token",
            entity_id: &entity_id,
            version: 1,
            action: "create",
            before: None,
            after: &after,
            at: &at,
        };
        record(&mut tx, change, actor).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn token_user(&self, token_hash: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query(
            "SELECT u.* FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        all(&self.pool, "SELECT * FROM users ORDER BY id", user_from_row).await
    }

    async fn set_user_active(&self, username: &str, active: bool, actor: &Actor) -> StoreResult<User> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("SELECT * FROM users WHERE username = $1").bind(username).fetch_optional(&mut *tx).await?;
        let Some(before) = row.as_ref().map(user_from_row).transpose()? else {
            tx.rollback().await?;
            return Err(StoreError::NotFound { entity: "user", id: username.to_string() });
        };
        let version: i64 = row.as_ref().map(|r| r.try_get("version")).transpose()?.unwrap_or(1);
        if before.active == active {
            tx.rollback().await?;
            return Ok(before);
        }
        sqlx::query("UPDATE users SET active = $1, version = version + 1 WHERE id = $2")
            .bind(active)
            .bind(before.id)
            .execute(&mut *tx)
            .await?;
        if !active {
            // Nothing of a deactivated account keeps working, not even a live session.
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(before.id).execute(&mut *tx).await?;
        }
        let after_user = User { active, ..before.clone() };
        let (b, a) = (serde_json::to_value(&before).unwrap_or(Value::Null), serde_json::to_value(&after_user).unwrap_or(Value::Null));
        let at = now_rfc3339();
        let change = Change {
            entity: "user",
            entity_id: username,
            version: version + 1,
            action: if active { "activate" } else { "deactivate" },
            before: Some(&b),
            after: &a,
            at: &at,
        };
        record(&mut tx, change, actor).await?;
        tx.commit().await?;
        Ok(after_user)
    }

    async fn api_tokens(&self, user_id: Option<i64>) -> StoreResult<Vec<ApiToken>> {
        let rows = sqlx::query(
            "SELECT substr(t.token_hash, 1, 12) AS id, t.user_id, u.username, t.name, t.created_at, t.revoked_at \
             FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE $1 IS NULL OR t.user_id = $1 ORDER BY t.created_at, t.token_hash",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(api_token_from_row).collect()
    }

    async fn revoke_api_token(&self, id: &str, actor: &Actor) -> StoreResult<ApiToken> {
        let mut tx = self.begin_write().await?;
        // An id is the hash's first 12 hex digits: a range of the primary key, not a scan.
        let (from, to) = (id.to_string(), format!("{id}g"));
        let select = "SELECT substr(t.token_hash, 1, 12) AS id, t.user_id, u.username, t.name, t.created_at, t.revoked_at \
             FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash >= $1 AND t.token_hash < $2";
        let row = sqlx::query(select).bind(&from).bind(&to).fetch_optional(&mut *tx).await?;
        let Some(before) = row.as_ref().map(api_token_from_row).transpose()? else {
            tx.rollback().await?;
            return Err(StoreError::NotFound { entity: "api_token", id: id.to_string() });
        };
        if before.revoked_at.is_some() {
            tx.rollback().await?;
            return Ok(before);
        }
        let at = now_rfc3339();
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE token_hash >= $2 AND token_hash < $3")
            .bind(&at)
            .bind(&from)
            .bind(&to)
            .execute(&mut *tx)
            .await?;
        let after = ApiToken { revoked_at: Some(at.clone()), ..before.clone() };
        let entity_id = format!("{}:{id}", before.user_id);
        let (b, a) = (serde_json::to_value(&before).unwrap_or(Value::Null), serde_json::to_value(&after).unwrap_or(Value::Null));
        let change = Change { entity: "api_token", entity_id: &entity_id, version: 2, action: "revoke", before: Some(&b), after: &a, at: &at };
        record(&mut tx, change, actor).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn sessions(&self, user_id: Option<i64>) -> StoreResult<Vec<LoginSession>> {
        let rows = sqlx::query(
            "SELECT substr(s.token_hash, 1, 12) AS id, s.user_id, u.username, s.created_at, s.expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE ($1 IS NULL OR s.user_id = $1) AND s.expires_at > $2 \
             ORDER BY s.created_at, s.token_hash",
        )
        .bind(user_id)
        .bind(now_rfc3339())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(login_session_from_row).collect()
    }

    async fn end_session(&self, id: &str, actor: &Actor) -> StoreResult<LoginSession> {
        let mut tx = self.begin_write().await?;
        // An id is the hash's first 12 hex digits: a range of the primary key, not a scan.
        let (from, to) = (id.to_string(), format!("{id}g"));
        let row = sqlx::query(
            "SELECT substr(s.token_hash, 1, 12) AS id, s.user_id, u.username, s.created_at, s.expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash >= $1 AND s.token_hash < $2",
        )
        .bind(&from)
        .bind(&to)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(before) = row.as_ref().map(login_session_from_row).transpose()? else {
            tx.rollback().await?;
            return Err(StoreError::NotFound { entity: "session", id: id.to_string() });
        };
        sqlx::query("DELETE FROM sessions WHERE token_hash >= $1 AND token_hash < $2")
            .bind(&from)
            .bind(&to)
            .execute(&mut *tx)
            .await?;
        let at = now_rfc3339();
        let entity_id = format!("{}:{id}", before.user_id);
        let b = serde_json::to_value(&before).unwrap_or(Value::Null);
        let change = Change { entity: "session", entity_id: &entity_id, version: 2, action: "end", before: Some(&b), after: &Value::Null, at: &at };
        record(&mut tx, change, actor).await?;
        tx.commit().await?;
        Ok(before)
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
        let prev: Option<Option<String>> = sqlx::query_scalar("SELECT hash FROM audit WHERE id < $1 ORDER BY id DESC LIMIT 1")
            .bind(first)
            .fetch_optional(&mut *tx)
            .await?;
        let mut prev = prev.flatten().unwrap_or_else(|| crate::store::chain::GENESIS.to_string());
        let rows = sqlx::query("SELECT * FROM audit WHERE id >= $1 ORDER BY id").bind(first).fetch_all(&mut *tx).await?;
        let mut n = 0;
        for r in &rows {
            let e = audit_from_row(r)?;
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
        rows.iter().map(audit_from_row).collect()
    }

    async fn places(&self) -> StoreResult<Vec<Place>> {
        all(&self.pool, "SELECT * FROM places ORDER BY id", place_from_row).await
    }

    async fn create_place(&self, place: &Place, actor: &Actor) -> StoreResult<Place> {
        let mut tx = self.begin_write().await?;
        let p = create_place_tx(&mut tx, &mut Numbers::default(), place, "create", actor, &now_rfc3339()).await?;
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
            let Some(before) = row.as_ref().map(place_from_row).transpose()? else {
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
            let done = bind_place(sqlx::query(sqlx::AssertSqlSafe(sql)), &after)
                .bind(id)
                .bind(c.expected_version)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() != 1 {
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
            record(&mut tx, change, actor).await?;
            out.push(after);
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn change_marker(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(id) FROM audit").fetch_one(&self.pool).await?.unwrap_or(0))
    }

    fn watch(&self) -> tokio::sync::mpsc::Receiver<()> {
        self.watch_changes()
    }

    async fn dump(&self) -> StoreResult<Dump> {
        let pool = &self.pool;
        let meta: Vec<(String, String)> = sqlx::query("SELECT key, value FROM meta ORDER BY key")
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("key")?, r.try_get("value")?)))
            .collect::<StoreResult<_>>()?;
        let history = sqlx::query("SELECT * FROM history ORDER BY id")
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| {
                let data: String = r.try_get("data")?;
                Ok(HistoryRow {
                    entity: r.try_get("entity")?,
                    entity_id: r.try_get("entity_id")?,
                    version: r.try_get("version")?,
                    data: serde_json::from_str(&data).map_err(|e| corrupt("history", e))?,
                    changed_at: r.try_get("changed_at")?,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                })
            })
            .collect::<StoreResult<_>>()?;
        let audit = all(pool, "SELECT * FROM audit ORDER BY id", audit_from_row).await?;
        let users = sqlx::query("SELECT * FROM users ORDER BY id")
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| {
                Ok(DumpUser {
                    user: user_from_row(r)?,
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
            insert_division(&mut tx, d).await?;
        }
        for s in &dump.settlements {
            insert_settlement(&mut tx, s).await?;
        }
        for f in &dump.facilities {
            insert_facility(&mut tx, f).await?;
        }
        // Names point at each other (renamings): rows first, then the links.
        for p in &dump.places {
            insert_place(&mut tx, &Place { predecessor_id: None, successor_id: None, ..p.clone() }).await?;
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
            sqlx::query(
                "INSERT INTO history (entity, entity_id, version, data, changed_at, actor, action) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&h.entity)
            .bind(&h.entity_id)
            .bind(h.version)
            .bind(h.data.to_string())
            .bind(&h.changed_at)
            .bind(&h.actor)
            .bind(&h.action)
            .execute(&mut *tx)
            .await?;
        }
        // Ids and hashes as they were: the chain verifies in the copy too.
        for a in &dump.audit {
            sqlx::query("INSERT INTO audit (id, at, actor, action, entity, entity_id, before, after, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
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
                "INSERT INTO users (username, display_name, role, password_hash, active, created_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
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
            sqlx::query("INSERT INTO api_tokens (token_hash, user_id, name, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(&t.token_hash)
                .bind(user_id)
                .bind(&t.name)
                .bind(&t.created_at)
                .bind(&t.revoked_at)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(sql) = $notify {
            sqlx::query(sql).bind("restore").execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

        }
    };
}
