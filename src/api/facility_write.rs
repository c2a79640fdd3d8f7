//! Registering, editing, moving and closing facilities (editors), and their
//! history. Every write is validated first (all bad fields reported at once), is
//! one store transaction with its history row and audit entry, and swaps in a new
//! snapshot before the answer, so the next nearest or coverage query sees it.

use super::body::parse_json;
use super::geojson_out::geo_json;
use super::params::if_match;
use super::problem::{FieldError, Problem};
use super::AppState;
use crate::accounts::Caller;
use crate::domain::{Facility, FacilityKind, FacilityStatus, LonLat, NewFacility, Provenance, Role};
use crate::spatial::Snapshot;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
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
    name: Option<String>,
    #[schema(value_type = Option<super::openapi::FacilityKindSchema>)]
    kind: Option<String>,
    /// Longitude, CGCS2000 degrees, in [-180, 180]; the point must lie in a township of the county.
    #[schema(minimum = -180.0, maximum = 180.0, example = 86.23)]
    lon: Option<f64>,
    /// Latitude, CGCS2000 degrees, in [-90, 90].
    #[schema(minimum = -90.0, maximum = 90.0, example = 43.93)]
    lat: Option<f64>,
    /// Optional check: the 9-digit code of the township the point lies in (422 if it lies elsewhere).
    #[schema(pattern = r"^\d{9}$")]
    township_code: Option<String>,
    /// Default `open` when registering.
    #[schema(value_type = Option<super::openapi::FacilityStatusSchema>)]
    status: Option<String>,
    /// 床位数, ≥ 0.
    #[schema(minimum = 0, maximum = 4294967295_i64)]
    #[serde(default, deserialize_with = "super::body::whole")]
    capacity_beds: Option<i64>,
    #[schema(value_type = Option<super::openapi::OperatorSchema>)]
    operator: Option<String>,
    /// 地址, kept in the attributes.
    address: Option<String>,
    /// 开业日期 `YYYY-MM-DD`, kept in the attributes.
    #[schema(format = Date)]
    opened_on: Option<String>,
    /// Kind-specific attributes; a key sent as null is removed. Checked: `nursing_beds`
    /// (integer ≥ 0, ≤ `capacity_beds`), `plots_total`, `plots_free` (integers ≥ 0, free ≤ total),
    /// `cemetery_type` (`public_welfare` | `commercial`), `facility_level` (`centre` | `station`),
    /// `medical_care` (boolean).
    #[serde(default)]
    #[schema(value_type = Object)]
    attributes: Map<String, Value>,
}

pub(super) const OPERATORS: [&str; 3] = ["public", "public_private", "private"];

fn err(field: &str, message: impl Into<String>) -> FieldError {
    FieldError { row: None, field: field.to_string(), message: message.into() }
}

/// Attributes are flat: each value a string, number, boolean or null.
pub(super) fn flat_attributes(prefix: &str, attributes: &Map<String, Value>, errors: &mut Vec<FieldError>) {
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

pub(super) fn is_iso_date(s: &str) -> bool {
    time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).is_ok()
}

/// Merge `input` over `base` (a new facility when `None`) and validate the result.
/// Malformed or missing fields are a 400; a point outside the county, or a
/// township that is not the one the point lies in, a 422.
pub(super) fn validate(snap: &Snapshot, input: FacilityInput, base: Option<&Facility>) -> Result<NewFacility, Problem> {
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
        None => base.and_then(|b| b.capacity_beds),
    };
    let operator = input.operator.or(base.and_then(|b| b.operator.clone()));
    if let Some(op) = &operator {
        if !OPERATORS.contains(&op.as_str()) {
            errors.push(err("operator", "须为 public（公办）、public_private（公建民营）或 private（民办）"));
        }
    }
    // Kind-specific attributes: start from the stored ones, apply the sent ones
    // (null removes one), then check what the plan's indicators need.
    let mut attributes = base.map(|b| b.attributes.clone()).unwrap_or_default();
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
    if !errors.is_empty() {
        errors.extend(refused);
        return Err(Problem::invalid(errors));
    }
    if !refused.is_empty() {
        return Err(Problem::unprocessable(refused));
    }
    let (Some(kind), Some(status), Some(location)) = (kind, status, location) else {
        return Err(Problem::invalid(vec![err("body", "invalid")]));
    };
    // Where the point falls decides the township.
    let Some(township) = snap.township_at(location.lon(), location.lat()) else {
        return Err(Problem::unprocessable(vec![err("lon", outside_message(snap, location))]));
    };
    if let Some(given) = input.township_code.filter(|g| g != township.division.code.as_str()) {
        return Err(Problem::unprocessable(vec![err(
            "township_code",
            format!(
                "该点位于 {}（{}），不在 {given} (the point lies in {}, not {given})",
                township.division.name, township.division.code, township.division.code
            ),
        )]));
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
    let county = snap.divisions().iter().find(|d| d.division.level == crate::domain::DivisionLevel::County);
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

fn feature_response(state: &AppState, id: &str, status: StatusCode) -> Response {
    let snap = state.snapshot_guard();
    match snap.facility(id) {
        Some(f) => {
            let mut res = geo_json(status, f.feature_json());
            if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", f.facility.version)) {
                res.headers_mut().insert(header::ETAG, v);
            }
            if status == StatusCode::CREATED {
                if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/facilities/{id}")) {
                    res.headers_mut().insert(header::LOCATION, v);
                }
            }
            res
        }
        None => Problem::not_found(format!("facility {id}")).into_response(),
    }
}

/// `POST /api/v1/facilities` (editor).
#[utoipa::path(
    post,
    path = "/facilities",
    tag = "facilities",
    operation_id = "create_facility",
    summary = "登记设施 Register a facility (editor)",
    description = "Registers a facility; `name`, `kind`, `lon` and `lat` are required, `status` defaults to \
        `open`. The township is where the point falls (a `township_code` that disagrees is refused). \
        The next nearest, within or coverage query sees it.",
    request_body(content = FacilityInput, content_type = "application/json"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 201, description = "Registered; the new facility as a Feature", body = super::openapi::FacilityFeature, content_type = "application/geo+json",
            headers(("ETag" = String, description = "The version, `\"1\"`"), ("Location" = String, description = "`/api/v1/facilities/{id}`"))),
        (status = 400, description = "The body is malformed, or a field is missing or invalid; `errors` names every bad field", body = Problem, content_type = "application/problem+json"),
        super::responses::NotLoggedIn,
        super::responses::NotEditor,
        super::responses::TooLarge,
        (status = 422, description = "The point is outside every township of the county, or `township_code` is not the township it lies in", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    caller.require(Role::Editor)?;
    let input: FacilityInput = parse_json(body)?;
    let new = validate(&state.snapshot_guard(), input, None)?;
    let f = state.store().create_facility(&new, &caller.actor()).await?;
    state.refresh_snapshot().await?;
    Ok(feature_response(&state, &f.id, StatusCode::CREATED))
}

/// `PATCH /api/v1/facilities/{id}` (editor) with `If-Match`.
#[utoipa::path(
    patch,
    path = "/facilities/{id}",
    tag = "facilities",
    operation_id = "update_facility",
    summary = "修改设施 Edit or move a facility (editor)",
    description = "Changes only the fields sent (`attributes`: a key sent as null is removed). A closed \
        facility is reopened only by setting `status` to `open` or `planned`. Send the `ETag` you read \
        in `If-Match`.",
    params(
        ("id" = String, Path, description = "Facility id", example = "f0001"),
        ("If-Match" = String, Header, description = "The version the change is based on: the `ETag` read, e.g. `\"3\"` (also `W/\"3\"` or `3`)", pattern = "^(W/)?\"?[0-9]{1,18}\"?$"),
    ),
    request_body(content = FacilityInput, content_type = "application/json"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "Changed; the facility as a Feature", body = super::openapi::FacilityFeature, content_type = "application/geo+json", headers(("ETag" = String, description = "The new version, e.g. `\"4\"`"))),
        super::responses::InvalidBody,
        super::responses::NotLoggedIn,
        super::responses::NotEditor,
        super::responses::FacilityNotFound,
        (status = 409, description = "The facility is closed and the change does not reopen it", body = Problem, content_type = "application/problem+json"),
        super::responses::Stale,
        super::responses::TooLarge,
        (status = 422, description = "The point is outside every township, or `township_code` is not the township it lies in", body = Problem, content_type = "application/problem+json"),
        super::responses::IfMatchMissing,
    ),
)]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    caller.require(Role::Editor)?;
    let expected = if_match(&headers)?.ok_or_else(Problem::precondition_required)?;
    let input: FacilityInput = parse_json(body)?;
    let current = state
        .store()
        .facility(&id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("没有编号为 {id} 的设施 (no facility with this id)")))?;
    if current.status == FacilityStatus::Closed
        && input.status.as_deref() != Some("open")
        && input.status.as_deref() != Some("planned")
    {
        return Err(Problem::conflict(format!(
            "{id} 已关闭；如需重新开放请同时设置 status (closed; set status to reopen it)"
        )));
    }
    let moved = input.lon.is_some_and(|x| x != current.location.lon())
        || input.lat.is_some_and(|y| y != current.location.lat());
    let fields = validate(&state.snapshot_guard(), input, Some(&current))?;
    let action = if moved { "move" } else { "update" };
    state.store().update_facility(&id, expected, &fields, action, &caller.actor()).await?;
    state.refresh_snapshot().await?;
    Ok(feature_response(&state, &id, StatusCode::OK))
}

/// Why and when a facility closes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseInput {
    /// 关闭日期 `YYYY-MM-DD`; default today (UTC).
    #[schema(format = Date, example = "2026-11-28")]
    date: Option<String>,
    /// 关闭原因, not empty.
    #[schema(min_length = 1, example = "并入县社会福利中心")]
    reason: String,
}

/// `POST /api/v1/facilities/{id}/close` (editor): status `closed`, with the date
/// and reason kept in its attributes. No record is ever deleted.
#[utoipa::path(
    post,
    path = "/facilities/{id}/close",
    tag = "facilities",
    operation_id = "close_facility",
    summary = "关闭设施 Close a facility (editor)",
    description = "Sets `status` to `closed` and keeps the date and reason in its attributes (`closed_on`, \
        `close_reason`); no record is ever deleted. `If-Match` is optional: when sent, a stale version is a 412.",
    params(
        ("id" = String, Path, description = "Facility id", example = "f0001"),
        ("If-Match" = Option<String>, Header, description = "Optional: the version the closure is based on, e.g. `\"3\"`", pattern = "^(W/)?\"?[0-9]{1,18}\"?$"),
    ),
    request_body(content = CloseInput, content_type = "application/json"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "Closed; the facility as a Feature", body = super::openapi::FacilityFeature, content_type = "application/geo+json", headers(("ETag" = String, description = "The new version, e.g. `\"4\"`"))),
        (status = 400, description = "The body or `If-Match` is malformed, the reason is empty or the date is not `YYYY-MM-DD`", body = Problem, content_type = "application/problem+json"),
        super::responses::NotLoggedIn,
        super::responses::NotEditor,
        super::responses::FacilityNotFound,
        (status = 409, description = "The facility is already closed", body = Problem, content_type = "application/problem+json"),
        super::responses::Stale,
        super::responses::TooLarge,
    ),
)]
pub async fn close(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    caller.require(Role::Editor)?;
    let c: CloseInput = parse_json(body)?;
    let mut errors = Vec::new();
    if c.reason.trim().is_empty() {
        errors.push(err("reason", "须说明关闭原因 (give the reason)"));
    }
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let date = c.date.unwrap_or(today);
    if !is_iso_date(&date) {
        errors.push(err("date", "日期格式须为 YYYY-MM-DD (a date like 2026-11-28)"));
    }
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    let current = state
        .store()
        .facility(&id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("没有编号为 {id} 的设施 (no facility with this id)")))?;
    if current.status == FacilityStatus::Closed {
        return Err(Problem::conflict(format!("{id} 已于此前关闭 (already closed)")));
    }
    let expected = if_match(&headers)?.unwrap_or(current.version);
    let mut attributes = current.attributes.clone();
    attributes.insert("closed_on".into(), Value::String(date));
    attributes.insert("close_reason".into(), Value::String(c.reason.trim().to_string()));
    let fields = NewFacility { status: FacilityStatus::Closed, attributes, ..NewFacility::from(&current) };
    state.store().update_facility(&id, expected, &fields, "close", &caller.actor()).await?;
    state.refresh_snapshot().await?;
    Ok(feature_response(&state, &id, StatusCode::OK))
}

/// `GET /api/v1/facilities/{id}/history`: every version, oldest first, with who
/// changed it and how.
#[utoipa::path(
    get,
    path = "/facilities/{id}/history",
    tag = "facilities",
    operation_id = "facility_history",
    summary = "设施沿革 A facility's history",
    description = "Every version of the facility, oldest first, with who changed it and how.",
    params(("id" = String, Path, description = "Facility id", example = "f0001")),
    responses(
        (status = 200, description = "Every version, oldest first", body = super::openapi::History),
        super::responses::FacilityNotFound,
    ),
)]
pub async fn history(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<super::answers::History>, Problem> {
    let rows = state.store().history("facility", &id).await?;
    if rows.is_empty() {
        return Err(Problem::not_found(format!("没有编号为 {id} 的设施 (no facility with this id)")));
    }
    Ok(Json(super::answers::History { id, versions: rows }))
}
