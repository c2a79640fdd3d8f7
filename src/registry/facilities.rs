//! Registering, editing, moving and closing facilities (editors), and their
//! history. Every write is validated first (all bad fields reported at once), is
//! one store transaction with its history row and audit entry, and swaps in a new
//! snapshot before it returns, so the next nearest or coverage query sees it.

use super::{is_iso_date, today, FieldError, Registry, RegistryError, RegistryResult};
use crate::accounts::Caller;
use crate::domain::{Facility, FacilityKind, FacilityStatus, LonLat, NewFacility, Provenance, Role};
use crate::spatial::Snapshot;
use crate::store::HistoryRow;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The fields a client may send; all optional so PATCH can send only changes.
/// Registering (`POST`) needs `name`, `kind`, `lon` and `lat`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FacilityInput {
    /// 名称, 1 to 100 characters, not only spaces.
    #[schema(
        example = "塔西河乡敬老院",
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000]*[^\s\u0000\u0085][^\u0000]*$"
    )]
    pub name: Option<String>,
    #[schema(value_type = Option<crate::schema::FacilityKindSchema>)]
    pub kind: Option<String>,
    /// Longitude, CGCS2000 degrees, in [-180, 180]; the point must lie in a township of the county.
    #[schema(minimum = -180.0, maximum = 180.0, example = 86.23)]
    pub lon: Option<f64>,
    /// Latitude, CGCS2000 degrees, in [-90, 90].
    #[schema(minimum = -90.0, maximum = 90.0, example = 43.93)]
    pub lat: Option<f64>,
    /// Optional check: the 9-digit code of the township the point lies in (422 if it lies elsewhere).
    #[schema(pattern = r"^\d{9}$")]
    pub township_code: Option<String>,
    /// Default `open` when registering.
    #[schema(value_type = Option<crate::schema::FacilityStatusSchema>)]
    pub status: Option<String>,
    /// 床位数, ≥ 0.
    #[schema(minimum = 0, maximum = 4294967295_i64)]
    #[serde(default, deserialize_with = "crate::domain::json::whole")]
    pub capacity_beds: Option<i64>,
    #[schema(value_type = Option<crate::schema::OperatorSchema>)]
    pub operator: Option<String>,
    /// 地址, kept in the attributes.
    pub address: Option<String>,
    /// 开业日期 `YYYY-MM-DD`, kept in the attributes.
    #[schema(format = Date)]
    pub opened_on: Option<String>,
    /// Kind-specific attributes; a key sent as null is removed. Checked: `nursing_beds`
    /// (integer ≥ 0, ≤ `capacity_beds`), `plots_total`, `plots_free` (integers ≥ 0, free ≤ total),
    /// `cemetery_type` (`public_welfare` | `commercial`), `facility_level` (`centre` | `station`),
    /// `medical_care` (boolean).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub attributes: Map<String, Value>,
    /// Set by a replacing write (OGC API Features `PUT`, a merge patch's nulls), never
    /// read from JSON: the fields to clear (`capacity_beds`, `operator`).
    #[serde(skip)]
    pub clear: Vec<&'static str>,
    /// Set by a replacing write: `attributes` replace the stored ones instead of merging.
    #[serde(skip)]
    pub replace_attributes: bool,
}

fn err(field: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(field, message)
}

/// Attributes are flat: each value a string, number, boolean or null.
pub(crate) fn flat_attributes(prefix: &str, attributes: &Map<String, Value>, errors: &mut Vec<FieldError>) {
    for (k, v) in attributes {
        if v.is_object() || v.is_array() {
            errors.push(err(
                &format!("{prefix}.{k}"),
                "须为文字、数、真假或 null，不可嵌套 (a string, number, boolean or null)",
            ));
        }
    }
}

fn non_negative(errors: &mut Vec<FieldError>, field: &str, v: Option<&Value>) -> Option<u64> {
    match v {
        None | Some(Value::Null) => None,
        // `12.0` is the whole number 12 (JSON Schema's `integer`).
        Some(v) => {
            match v.as_number().and_then(crate::domain::json::whole_number).and_then(|n| u64::try_from(n).ok()) {
                Some(n) => Some(n),
                _ => {
                    errors.push(err(field, "须为非负整数 (must be a whole number ≥ 0)"));
                    None
                }
            }
        }
    }
}

/// Merge `input` over `base` (a new facility when `None`) and validate the result.
/// Malformed or missing fields are `Invalid`; a point outside the county, or a
/// township that is not the one the point lies in, `Refused`.
pub(crate) fn validate(snap: &Snapshot, input: FacilityInput, base: Option<&Facility>) -> RegistryResult<NewFacility> {
    // `errors`: a value outside its schema (400); `refused`: values each valid that
    // together, or with the stored record, break a rule (422).
    let mut errors = Vec::new();
    let mut refused = Vec::new();
    let name = input.name.or(base.map(|b| b.name.clone())).map(|n| n.trim().to_string()).unwrap_or_default();
    if name.is_empty() {
        errors.push(err("name", "名称不能为空 (name is required)"));
    } else if name.chars().count() > 100 {
        errors.push(err("name", "名称不超过 100 个字 (at most 100 characters)"));
    }
    let kind = match (input.kind, base) {
        (Some(k), _) => k.parse::<FacilityKind>().map_err(|e| errors.push(err("kind", e.message))).ok(),
        (None, Some(b)) => Some(b.kind),
        (None, None) => {
            errors.push(err("kind", "缺少设施类型 (kind is required)"));
            None
        }
    };
    let status = match (input.status, base) {
        (Some(s), _) => s.parse::<FacilityStatus>().map_err(|e| errors.push(err("status", e.message))).ok(),
        (None, b) => Some(b.map_or(FacilityStatus::Open, |b| b.status)),
    };
    let lon = input.lon.or(base.map(|b| b.location.lon()));
    let lat = input.lat.or(base.map(|b| b.location.lat()));
    let location = match (lon, lat) {
        (Some(lon), Some(lat)) => match LonLat::try_from([lon, lat]) {
            Ok(p) => Some(p),
            Err(e) => {
                let field = if crate::domain::Lon::try_from(lon).is_err() { "lon" } else { "lat" };
                errors.push(err(field, e.message));
                None
            }
        },
        (None, _) => {
            errors.push(err("lon", "缺少经度 (lon is required)"));
            None
        }
        (_, None) => {
            errors.push(err("lat", "缺少纬度 (lat is required)"));
            None
        }
    };
    let capacity_beds = match input.capacity_beds {
        Some(b) if b < 0 => {
            errors.push(err("capacity_beds", "床位数不能为负 (must not be negative)"));
            None
        }
        Some(b) => u32::try_from(b).map_err(|_| errors.push(err("capacity_beds", "床位数过大 (too large)"))).ok(),
        None if input.clear.contains(&"capacity_beds") => None,
        None => base.and_then(|b| b.capacity_beds),
    };
    let operator = match input.operator {
        None if input.clear.contains(&"operator") => None,
        op => op.or(base.and_then(|b| b.operator.clone())),
    };
    if let Some(op) = &operator {
        if let Err(e) = op.parse::<crate::domain::Operator>() {
            errors.push(err("operator", e.message));
        }
    }
    // Kind-specific attributes: start from the stored ones, apply the sent ones
    // (null removes one), then check what the plan's indicators need.
    let mut attributes = match base {
        Some(b) if !input.replace_attributes => b.attributes.clone(),
        _ => Map::new(),
    };
    flat_attributes("attributes", &input.attributes, &mut errors);
    for (k, v) in input.attributes {
        if v.is_null() {
            attributes.remove(&k);
        } else {
            attributes.insert(k, v);
        }
    }
    if let Some(a) = input.address {
        attributes.insert("address".into(), Value::String(a));
    }
    if let Some(d) = input.opened_on {
        if is_iso_date(&d) {
            attributes.insert("opened_on".into(), Value::String(d));
        } else {
            errors.push(err("opened_on", "日期格式须为 YYYY-MM-DD (a date like 2024-05-01)"));
        }
    }
    let nursing = non_negative(&mut errors, "attributes.nursing_beds", attributes.get("nursing_beds"));
    if let (Some(n), Some(c)) = (nursing, capacity_beds) {
        if n > u64::from(c) {
            refused.push(err(
                "attributes.nursing_beds",
                "护理型床位不能多于总床位 (nursing beds cannot exceed capacity_beds)",
            ));
        }
    }
    let total = non_negative(&mut errors, "attributes.plots_total", attributes.get("plots_total"));
    let free = non_negative(&mut errors, "attributes.plots_free", attributes.get("plots_free"));
    // Kept as whole numbers, however the client wrote them (`12.0` → `12`).
    for (key, n) in [("nursing_beds", nursing), ("plots_total", total), ("plots_free", free)] {
        if let Some(n) = n {
            attributes.insert(key.into(), n.into());
        }
    }
    if let (Some(t), Some(f)) = (total, free) {
        if f > t {
            refused.push(err("attributes.plots_free", "空余墓位不能多于总墓位 (plots_free cannot exceed plots_total)"));
        }
    }
    if let Some(v) = attributes.get("cemetery_type") {
        if !matches!(v.as_str(), Some("public_welfare" | "commercial")) {
            errors.push(err("attributes.cemetery_type", "须为 public_welfare（公益性）或 commercial（经营性）"));
        }
    }
    if let Some(v) = attributes.get("facility_level") {
        if !matches!(v.as_str(), Some("centre" | "station")) {
            errors.push(err("attributes.facility_level", "须为 centre（中心）或 station（站）"));
        }
    }
    if let Some(v) = attributes.get("medical_care") {
        if !v.is_boolean() {
            errors.push(err("attributes.medical_care", "须为 true 或 false（医养结合）"));
        }
    }
    RegistryError::from_checks(errors, refused)?;
    let (Some(kind), Some(status), Some(location)) = (kind, status, location) else {
        return Err(RegistryError::invalid("body", "invalid"));
    };
    // Where the point falls decides the township.
    let Some(township) = snap.township_at(location.lon(), location.lat()) else {
        return Err(RegistryError::refused("lon", outside_message(snap, location)));
    };
    if let Some(given) = input.township_code.filter(|g| g != township.division.code.as_str()) {
        return Err(RegistryError::refused(
            "township_code",
            format!(
                "该点位于 {}（{}），不在 {given} (the point lies in {}, not {given})",
                township.division.name, township.division.code, township.division.code
            ),
        ));
    }
    Ok(NewFacility {
        name,
        kind,
        township_code: township.division.code.clone(),
        location,
        status,
        capacity_beds,
        operator,
        attributes,
        provenance: base.map_or(Provenance::Registered, |b| b.provenance),
    })
}

/// "Where it fell": outside every township, and how far from the county outline.
fn outside_message(snap: &Snapshot, p: LonLat) -> String {
    // The county nearest the point by its bounding box (a registry may hold many).
    let gap = |b: &[f64; 4]| {
        let dx = (b[0] - p.lon()).max(p.lon() - b[2]).max(0.0);
        let dy = (b[1] - p.lat()).max(p.lat() - b[3]).max(0.0);
        dx * dx + dy * dy
    };
    let county = snap
        .counties()
        .iter()
        .filter_map(|c| Some((gap(c.bbox.as_ref()?), c)))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .and_then(|(_, c)| snap.division(&c.code));
    let (name, dist_km) = match county.and_then(|c| c.division.geometry.as_ref().map(|g| (c, g))) {
        Some((c, geo_types::Geometry::MultiPolygon(mp))) => {
            let d =
                mp.0.iter()
                    .flat_map(|poly| poly.exterior().0.iter())
                    .map(|v| crate::spatial::geodesic::distance_m([p.lon(), p.lat()], [v.x, v.y]))
                    .fold(f64::INFINITY, f64::min);
            (c.division.name.clone(), d / 1000.0)
        }
        _ => (String::from("本县"), f64::NAN),
    };
    format!(
        "点 ({}, {}) 不在{}任何乡镇内，距县界约 {:.1} 公里 (the point is outside the county, about {:.1} km from its outline)",
        p.lon(),
        p.lat(),
        name,
        dist_km,
        dist_km
    )
}

/// Why and when a facility closes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseInput {
    /// 关闭日期 `YYYY-MM-DD`; default today (UTC).
    #[schema(format = Date, example = "2026-11-28")]
    pub date: Option<String>,
    /// 关闭原因, not empty.
    #[schema(min_length = 1, example = "并入县社会福利中心")]
    pub reason: String,
}

/// Who may change facilities.
const EDITS: Role = Role::Editor;

fn not_found(id: &str) -> RegistryError {
    RegistryError::NotFound(format!("没有编号为 {id} 的设施 (no facility with this id)"))
}

impl Registry {
    /// Register a facility; `name`, `kind`, `lon` and `lat` are required, `status`
    /// defaults to `open`, the township is where the point falls.
    pub async fn create_facility(&self, who: &Caller, input: FacilityInput) -> RegistryResult<Facility> {
        who.permit(EDITS)?;
        let new = validate(&self.snapshot_guard(), input, None)?;
        let f = self.store().create_facility(&new, &who.actor()).await?;
        self.refresh_snapshot().await?;
        Ok(f)
    }

    /// Change the fields sent of the facility at version `expected` (a closed
    /// facility only by reopening it); a changed point is audited as a move.
    pub async fn update_facility(
        &self,
        who: &Caller,
        id: &str,
        expected: i64,
        input: FacilityInput,
    ) -> RegistryResult<Facility> {
        who.permit(EDITS)?;
        let current = self.store().facility(id).await?.ok_or_else(|| not_found(id))?;
        let reopens = matches!(input.status.as_deref(), Some("open" | "planned"));
        if current.status == FacilityStatus::Closed && !reopens {
            return Err(RegistryError::Conflict(format!(
                "{id} 已关闭；如需重新开放请同时设置 status (closed; set status to reopen it)"
            )));
        }
        let moved = input.lon.is_some_and(|x| x != current.location.lon())
            || input.lat.is_some_and(|y| y != current.location.lat());
        let fields = validate(&self.snapshot_guard(), input, Some(&current))?;
        let action = if moved { "move" } else { "update" };
        let f = self.store().update_facility(id, expected, &fields, action, &who.actor()).await?;
        self.refresh_snapshot().await?;
        Ok(f)
    }

    /// Close a facility (status `closed`, the date and reason kept in its
    /// attributes); no record is ever deleted. `expected`: the version the closure
    /// is based on, if the caller said.
    pub async fn close_facility(
        &self,
        who: &Caller,
        id: &str,
        expected: Option<i64>,
        input: CloseInput,
    ) -> RegistryResult<Facility> {
        who.permit(EDITS)?;
        let mut errors = Vec::new();
        if input.reason.trim().is_empty() {
            errors.push(err("reason", "须说明关闭原因 (give the reason)"));
        }
        let date = input.date.unwrap_or_else(today);
        if !is_iso_date(&date) {
            errors.push(err("date", "日期格式须为 YYYY-MM-DD (a date like 2026-11-28)"));
        }
        RegistryError::from_checks(errors, Vec::new())?;
        let current = self.store().facility(id).await?.ok_or_else(|| not_found(id))?;
        if current.status == FacilityStatus::Closed {
            return Err(RegistryError::Conflict(format!("{id} 已于此前关闭 (already closed)")));
        }
        let expected = expected.unwrap_or(current.version);
        let mut attributes = current.attributes.clone();
        attributes.insert("closed_on".into(), Value::String(date));
        attributes.insert("close_reason".into(), Value::String(input.reason.trim().to_string()));
        let fields = NewFacility { status: FacilityStatus::Closed, attributes, ..NewFacility::from(&current) };
        let f = self.store().update_facility(id, expected, &fields, "close", &who.actor()).await?;
        self.refresh_snapshot().await?;
        Ok(f)
    }

    /// Every version of a facility, oldest first, with who changed it and how.
    pub async fn facility_history(&self, id: &str) -> RegistryResult<Vec<HistoryRow>> {
        let rows = self.store().history("facility", id).await?;
        if rows.is_empty() {
            return Err(not_found(id));
        }
        Ok(rows)
    }
}
