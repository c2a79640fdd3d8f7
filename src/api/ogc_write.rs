//! OGC API Features Part 4 (Create, Replace, Update and Delete) on `facilities`
//! and `places`: a GeoJSON Feature read at the boundary into the same inputs the
//! REST writes take, then the same use cases — validation, roles, one transaction
//! with its history row and audit entry. `DELETE` closes a facility or retires a
//! name; nothing is erased. Changes need `If-Match` with the version read (`412`
//! when stale, `428` when missing).

use super::body::parse_json;
use super::geojson_out::geo_json;
use super::ogc_collections::Collection;
use super::params::if_match;
use super::problem::{FieldError, Problem};
use super::AppState;
use crate::accounts::Caller;
use crate::registry::facilities::{CloseInput, FacilityInput};
use crate::registry::places::{DecisionInput, PlaceInput};
use crate::spatial::crs::{transform_geojson, Crs, Transformer};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value};

/// A GeoJSON Feature sent to `items`: its geometry in `Content-Crs` (default CRS84,
/// authority axis order), its properties those of a feature of the collection.
/// The server's own `id`, `links` and read-only properties (`version`, `updated_at`,
/// …) may be sent back as read and are ignored (a GIS client sends the feature it
/// read); other members (foreign members) are refused, so that nothing a client
/// meant to write is silently dropped.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeatureInput {
    /// `Feature`.
    #[serde(rename = "type")]
    #[schema(value_type = FeatureInputType)]
    pub kind: String,
    /// Ignored: the id is the server's (the path's, for `PUT` and `PATCH`). A string or a
    /// number, as GeoJSON has it.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub id: Option<Value>,
    /// A Point for facilities; any geometry (or null) for places.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub geometry: Option<Value>,
    /// The feature's properties, as a GET of the collection shows them: strings, numbers,
    /// booleans, null, and for places the lists `alternate_names`, `historic_names` and the
    /// object `minority_form`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub properties: Option<Map<String, Value>>,
    /// Ignored: the links are the server's (as a GET returned them). Each a flat object
    /// (`href`, `rel`, `type`, `title`…: strings, numbers, booleans or null).
    #[serde(default)]
    #[expect(dead_code, reason = "read so that a feature sent back as read is taken; its links are the server's")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub links: Option<Vec<std::collections::BTreeMap<String, Option<ScalarValue>>>>,
}

/// A value of a link object sent back: a JSON scalar, as OGC links have them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ScalarValue {
    Bool(#[expect(dead_code, reason = "ignored")] bool),
    Number(#[expect(dead_code, reason = "ignored")] serde_json::Number),
    Text(#[expect(dead_code, reason = "ignored")] String),
}

/// The CRSs a body's geometry may be in (`Content-Crs`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // a schema only
pub enum ContentCrs {
    #[schema(rename = "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>")]
    Crs84,
    #[schema(rename = "<http://www.opengis.net/def/crs/EPSG/0/4490>")]
    Epsg4490,
    #[schema(rename = "<http://www.opengis.net/def/crs/EPSG/0/4326>")]
    Epsg4326,
    #[schema(rename = "<http://www.opengis.net/def/crs/EPSG/0/4538>")]
    Epsg4538,
}

/// The collections that take writes.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // a schema only
pub enum WritableCollection {
    Facilities,
    Places,
}

/// The one value of a Feature's `type`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // a schema only
pub enum FeatureInputType {
    Feature,
}

/// Properties of a facility feature that only the server writes.
const FACILITY_READ_ONLY: &[&str] =
    &["id", "kind_label", "township_name", "provenance", "updated_at", "version", "distance_m"];
/// Properties of a place feature that only the server (or a decision) writes.
const PLACE_READ_ONLY: &[&str] = &[
    "id",
    "specific_term",
    "generic_term",
    "category_label",
    "division_name",
    "romanization_source",
    "status",
    "status_label",
    "proposed_by",
    "decided_by",
    "approving_body",
    "document_no",
    "decided_on",
    "predecessor_id",
    "successor_id",
    "provenance",
    "matched",
    "version",
    "updated_at",
    "attributes",
    "findings",
];
/// Properties of a place a client writes.
const PLACE_FIELDS: &[&str] = &[
    "name",
    "category",
    "division_code",
    "romanization",
    "origin",
    "alternate_names",
    "historic_names",
    "minority_form",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Create,
    Replace,
    Patch,
}

fn writable(id: &str) -> Result<Collection, Problem> {
    match Collection::parse(id) {
        Some(c @ (Collection::Facilities | Collection::Places)) => Ok(c),
        Some(_) => {
            let mut p = Problem::method_not_allowed();
            p.detail = format!(
                "要素集 {id} 只读：区划与居民点经导入更新 (read only: divisions and settlements change by import)"
            );
            Err(p)
        }
        None => Err(Problem::not_found(format!("没有这个要素集 (no such collection): {id}"))),
    }
}

/// The `Content-Crs` of the body (`<URI>` or a bare URI); default CRS84.
fn content_crs(headers: &HeaderMap) -> Result<Crs, Problem> {
    let Some(v) = headers.get("content-crs") else { return Ok(Crs::Crs84) };
    let s = v.to_str().unwrap_or("").trim().trim_start_matches('<').trim_end_matches('>');
    Crs::from_param(s).filter(|c| Crs::OGC.contains(c)).ok_or_else(|| {
        Problem::invalid_field(
            "Content-Crs",
            format!(
                "不支持的坐标系 (unsupported CRS; one of: {})",
                Crs::OGC.iter().map(|c| c.uri()).collect::<Vec<_>>().join(", ")
            ),
        )
    })
}

/// The feature's geometry in CRS84 (lon/lat), as GeoJSON.
fn geometry_crs84(geometry: Option<Value>, crs: Crs) -> Result<Option<Value>, Problem> {
    let Some(mut g) = geometry.filter(|g| !g.is_null()) else { return Ok(None) };
    if crs != Crs::Crs84 {
        Transformer::with(crs, Crs::Crs84, |t| transform_geojson(&mut g, t, crs.north_first()))
            .and_then(|r| r)
            .map_err(|e| Problem::invalid_field("geometry", format!("无法转换坐标 (cannot transform): {e}")))?;
    }
    Ok(Some(g))
}

fn read_feature(body: Result<Bytes, BytesRejection>) -> Result<(Option<Value>, Map<String, Value>), Problem> {
    let v: Value = parse_json(body)?;
    if !v.is_object() {
        return Err(Problem::invalid_field("body", "须为 GeoJSON Feature 对象 (a GeoJSON Feature object)"));
    }
    if v.get("type").and_then(Value::as_str) != Some("Feature") {
        return Err(Problem::invalid_field("type", "须为 Feature (a GeoJSON Feature)"));
    }
    let f: FeatureInput = parse_json(Ok(Bytes::from(v.to_string())))?;
    if f.kind != "Feature" {
        return Err(Problem::invalid_field("type", "须为 Feature (a GeoJSON Feature)"));
    }
    if f.id.as_ref().is_some_and(|id| !(id.is_string() || id.is_number() || id.is_null())) {
        return Err(Problem::invalid_field("id", "须为文字或数 (a string or a number)"));
    }
    Ok((f.geometry, f.properties.unwrap_or_default()))
}

/// A facility feature as the REST input (and, for `PUT`, what to clear).
fn facility_input(
    geometry: Option<Value>,
    properties: Map<String, Value>,
    crs: Crs,
    mode: Mode,
) -> Result<FacilityInput, Problem> {
    let mut fields = Map::new();
    let mut attributes = Map::new();
    let mut nulls = Vec::new();
    for (k, v) in properties {
        match k.as_str() {
            k if FACILITY_READ_ONLY.contains(&k) => {}
            "name" | "kind" | "status" | "operator" | "township_code" | "address" | "opened_on" | "capacity_beds" => {
                if v.is_null() {
                    nulls.push(k);
                } else {
                    fields.insert(k, v);
                }
            }
            _ => {
                attributes.insert(k, v);
            }
        }
    }
    match geometry_crs84(geometry, crs)? {
        Some(g) => {
            let point = g
                .get("coordinates")
                .and_then(Value::as_array)
                .filter(|_| g.get("type").and_then(Value::as_str) == Some("Point"));
            let Some(c) = point.filter(|c| (2..=3).contains(&c.len())) else {
                return Err(Problem::invalid_field("geometry", "设施须为点 (a facility is a Point)"));
            };
            fields.insert("lon".into(), c.first().cloned().unwrap_or(Value::Null));
            fields.insert("lat".into(), c.get(1).cloned().unwrap_or(Value::Null));
        }
        None if mode == Mode::Patch => {}
        None => return Err(Problem::invalid_field("geometry", "缺少位置 (a Point is required)")),
    }
    // Address and opening date are attributes: a null removes them.
    for k in &nulls {
        if matches!(k.as_str(), "address" | "opened_on") {
            attributes.insert(k.clone(), Value::Null);
        }
    }
    fields.insert("attributes".into(), Value::Object(attributes));
    let mut input: FacilityInput =
        parse_json(Ok(Bytes::from(Value::Object(fields).to_string()))).map_err(as_feature)?;
    let cleared = |k: &str| nulls.iter().any(|n| n == k);
    for k in ["capacity_beds", "operator"] {
        let absent = match k {
            "capacity_beds" => input.capacity_beds.is_none(),
            _ => input.operator.is_none(),
        };
        if cleared(k) || (mode == Mode::Replace && absent) {
            input.clear.push(k);
        }
    }
    input.replace_attributes = mode == Mode::Replace;
    Ok(input)
}

/// A place feature as the REST input.
fn place_input(geometry: Option<Value>, properties: Map<String, Value>, crs: Crs) -> Result<PlaceInput, Problem> {
    let mut fields = Map::new();
    let mut errors = Vec::new();
    for (k, v) in properties {
        if PLACE_FIELDS.contains(&k.as_str()) {
            if !v.is_null() {
                fields.insert(k, v);
            }
        } else if !PLACE_READ_ONLY.contains(&k.as_str()) {
            errors.push(FieldError {
                row: None,
                field: format!("properties.{k}"),
                message: format!(
                    "地名没有这一属性 (not a property of a place name; writable: {})",
                    PLACE_FIELDS.join(", ")
                ),
            });
        }
    }
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    if let Some(g) = geometry_crs84(geometry, crs)? {
        fields.insert("geometry".into(), g);
    }
    parse_json(Ok(Bytes::from(Value::Object(fields).to_string()))).map_err(as_feature)
}

/// A problem with the REST input's fields named as the Feature's: `lon`, `lat` and
/// `geometry` are the geometry, the rest (attributes too) properties. The Feature's
/// schema leaves its properties to the collection, so a value the collection does
/// not take is a 422 (the envelope — JSON, an object, `type` — is the 400).
fn as_feature(mut p: Problem) -> Problem {
    for e in &mut p.errors {
        let field = e.field.strip_prefix("attributes.").unwrap_or(&e.field);
        e.field = match field {
            "lon" | "lat" | "geometry" => "geometry".to_string(),
            f if f.starts_with("geometry") || f.starts_with("properties.") => f.to_string(),
            "body" => "body".to_string(),
            f => format!("properties.{f}"),
        };
    }
    if p.status == StatusCode::BAD_REQUEST {
        return Problem::unprocessable(p.errors);
    }
    p
}

fn answer(body: String, version: i64, status: StatusCode, location: Option<String>) -> Response {
    let mut res = geo_json(status, body);
    if let Ok(v) = HeaderValue::from_str(&format!("\"{version}\"")) {
        res.headers_mut().insert(header::ETAG, v);
    }
    if let Some(l) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        res.headers_mut().insert(header::LOCATION, l);
    }
    res
}

fn facility_answer(state: &AppState, id: &str, status: StatusCode) -> Response {
    let snap = state.snapshot_guard();
    match snap.facility(id) {
        Some(f) => {
            let location = (status == StatusCode::CREATED).then(|| format!("/ogc/collections/facilities/items/{id}"));
            answer(f.feature_json(), f.facility.version, status, location)
        }
        None => Problem::not_found(format!("facility {id}")).into_response(),
    }
}

fn place_answer(state: &AppState, saved: &crate::registry::places::Saved, status: StatusCode) -> Response {
    let body = super::places::feature_json(state, saved);
    let id = &saved.place.id;
    let location = (status == StatusCode::CREATED).then(|| format!("/ogc/collections/places/items/{id}"));
    answer(body, saved.place.version, status, location)
}

#[utoipa::path(post, path = "/ogc/collections/{collection}/items", tag = "ogc", operation_id = "ogc_create_item",
    summary = "新增要素 Add a feature (editor)",
    description = "Registers a facility or proposes a place name (`201`, `Location` of the new feature, its \
        version as `ETag`). `divisions` and `settlements` are read only (`405`). See the REST writes for the rules.",
    params(
        ("collection" = inline(WritableCollection), Path, description = "`facilities` or `places` (the others are read only: `405`)", example = "facilities"),
        ("Content-Crs" = inline(Option<ContentCrs>), Header, description = "The CRS of the body's geometry, `<URI>`; default CRS84"),
    ),
    request_body(content = FeatureInput, content_type = "application/geo+json"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 201, description = "Added; the feature", body = Object, content_type = "application/geo+json",
            headers(("ETag" = String, description = "The version, `\"1\"`"), ("Location" = String, description = "The new feature's URL"))),
        super::responses::InvalidFeature,
        super::responses::NotLoggedIn,
        super::responses::NotEditor,
        super::responses::CollectionNotFound,
        super::responses::ReadOnlyCollection,
        super::responses::TooLarge,
        super::responses::FeatureRefused,
    ),
)]
pub async fn create_item(
    State(state): State<AppState>,
    caller: Caller,
    Path(collection): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let c = writable(&collection)?;
    let crs = content_crs(&headers)?;
    let (geometry, properties) = read_feature(body)?;
    match c {
        Collection::Facilities => {
            let input = facility_input(geometry, properties, crs, Mode::Create).map_err(as_feature)?;
            let f = state.create_facility(&caller, input).await.map_err(|e| as_feature(e.into()))?;
            Ok(facility_answer(&state, &f.id, StatusCode::CREATED))
        }
        _ => {
            let input = place_input(geometry, properties, crs).map_err(as_feature)?;
            let saved = state.propose_place(&caller, input).await.map_err(|e| as_feature(e.into()))?;
            Ok(place_answer(&state, &saved, StatusCode::CREATED))
        }
    }
}

async fn change(
    state: &AppState,
    caller: &Caller,
    c: Collection,
    id: &str,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    mode: Mode,
) -> Result<Response, Problem> {
    let crs = content_crs(headers)?;
    let (geometry, properties) = read_feature(body)?;
    let expected = if_match(headers)?.ok_or_else(Problem::precondition_required)?;
    match c {
        Collection::Facilities => {
            let input = facility_input(geometry, properties, crs, mode).map_err(as_feature)?;
            state.update_facility(caller, id, expected, input).await.map_err(|e| as_feature(e.into()))?;
            Ok(facility_answer(state, id, StatusCode::OK))
        }
        _ => {
            let input = place_input(geometry, properties, crs).map_err(as_feature)?;
            let saved = state.edit_place(caller, id, expected, input).await.map_err(|e| as_feature(e.into()))?;
            Ok(place_answer(state, &saved, StatusCode::OK))
        }
    }
}

#[utoipa::path(put, path = "/ogc/collections/{collection}/items/{id}", tag = "ogc", operation_id = "ogc_replace_item",
    summary = "替换要素 Replace a feature (editor)",
    description = "Replaces the feature with the one sent: for a facility, properties not sent are cleared \
        (beds, operator, every kind-specific attribute), its status kept unless sent; for a place, what \
        the REST edit may change. Send the `ETag` read in `If-Match`.",
    params(
        ("collection" = inline(WritableCollection), Path, description = "`facilities` or `places` (the others are read only: `405`)", example = "facilities"),
        ("id" = String, Path, description = "The feature's id", example = "f0001"),
        ("If-Match" = String, Header, description = "The version read, e.g. `\"3\"`", pattern = "^(W/)?\"?[0-9]{1,18}\"?$"),
        ("Content-Crs" = inline(Option<ContentCrs>), Header, description = "The CRS of the body's geometry, `<URI>`; default CRS84"),
    ),
    request_body(content = FeatureInput, content_type = "application/geo+json"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "Replaced; the feature", body = Object, content_type = "application/geo+json", headers(("ETag" = String, description = "The new version"))),
        super::responses::InvalidFeature,
        super::responses::NotLoggedIn,
        super::responses::NotEditor,
        super::responses::FeatureNotFound,
        super::responses::ReadOnlyCollection,
        (status = 409, description = "The record's state forbids the change (a closed facility not reopened, an approved name's name or category)", body = Problem, content_type = "application/problem+json"),
        super::responses::Stale,
        super::responses::TooLarge,
        super::responses::FeatureRefused,
        super::responses::IfMatchMissing,
    ),
)]
pub async fn replace_item(
    State(state): State<AppState>,
    caller: Caller,
    Path((collection, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let c = writable(&collection)?;
    change(&state, &caller, c, &id, &headers, body, Mode::Replace).await
}

#[utoipa::path(patch, path = "/ogc/collections/{collection}/items/{id}", tag = "ogc", operation_id = "ogc_update_item",
    summary = "修改要素 Update a feature (editor)",
    description = "Changes what is sent (a JSON merge patch of the Feature: a property sent as null is \
        removed where it may be). Send the `ETag` read in `If-Match`.",
    params(
        ("collection" = inline(WritableCollection), Path, description = "`facilities` or `places` (the others are read only: `405`)", example = "facilities"),
        ("id" = String, Path, description = "The feature's id", example = "f0001"),
        ("If-Match" = String, Header, description = "The version read, e.g. `\"3\"`", pattern = "^(W/)?\"?[0-9]{1,18}\"?$"),
        ("Content-Crs" = inline(Option<ContentCrs>), Header, description = "The CRS of the body's geometry, `<URI>`; default CRS84"),
    ),
    request_body(content = FeatureInput, content_type = "application/merge-patch+json"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "Changed; the feature", body = Object, content_type = "application/geo+json", headers(("ETag" = String, description = "The new version"))),
        super::responses::InvalidFeature,
        super::responses::NotLoggedIn,
        super::responses::NotEditor,
        super::responses::FeatureNotFound,
        super::responses::ReadOnlyCollection,
        (status = 409, description = "The record's state forbids the change (a closed facility not reopened, an approved name's name or category)", body = Problem, content_type = "application/problem+json"),
        super::responses::Stale,
        super::responses::TooLarge,
        super::responses::FeatureRefused,
        super::responses::IfMatchMissing,
    ),
)]
pub async fn update_item(
    State(state): State<AppState>,
    caller: Caller,
    Path((collection, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let c = writable(&collection)?;
    change(&state, &caller, c, &id, &headers, body, Mode::Patch).await
}

/// The decision sent with a `DELETE`, if a body was sent.
fn decision(body: Result<Bytes, BytesRejection>) -> Result<Option<DecisionInput>, Problem> {
    match body {
        Ok(b) if b.iter().all(u8::is_ascii_whitespace) || b.trim_ascii() == b"null" => Ok(None),
        other => {
            let d: DecisionInput = parse_json(other)?;
            crate::registry::places::decision(&d)?;
            if d.reason.as_ref().is_some_and(|r| r.trim().is_empty()) {
                return Err(Problem::invalid_field("reason", "原因不能为空 (the reason is blank)"));
            }
            Ok(Some(d))
        }
    }
}

fn decision_required() -> Problem {
    Problem::unprocessable(vec![FieldError {
        row: None,
        field: "body".into(),
        message: "废止地名须有批准机关与文号：请在请求体中给出 {\"approving_body\", \"document_no\", \"reason\"} \
            (a retirement needs the approving body and document number in the body)"
            .into(),
    }])
}

#[utoipa::path(delete, path = "/ogc/collections/{collection}/items/{id}", tag = "ogc", operation_id = "ogc_delete_item",
    summary = "删除要素 Delete a feature: close or retire (editor; approver for names)",
    description = "Nothing is erased: a facility is closed (reason `经 OGC API Features 删除`, today), a place \
        name retired (approver; the body gives the decision `{\"approving_body\", \"document_no\", \"reason\"}`). \
        The feature stays readable with its new status. Send the `ETag` read in `If-Match`.",
    params(
        ("collection" = inline(WritableCollection), Path, description = "`facilities` or `places` (the others are read only: `405`)", example = "facilities"),
        ("id" = String, Path, description = "The feature's id", example = "f0001"),
        ("If-Match" = String, Header, description = "The version read, e.g. `\"3\"`", pattern = "^(W/)?\"?[0-9]{1,18}\"?$"),
    ),
    request_body(content = Option<DecisionInput>, content_type = "application/json",
        description = "A place's retirement: the decision (required). A facility's closure: optional; its `reason` and `date` are kept"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 204, description = "Closed or retired"),
        (status = 400, description = "`If-Match` or the decision is malformed", body = Problem, content_type = "application/problem+json"),
        super::responses::NotLoggedIn,
        (status = 403, description = "The account may not do this (an editor closes, an approver retires), or a session write lacks the right `X-CSRF-Token`", body = Problem, content_type = "application/problem+json"),
        super::responses::FeatureNotFound,
        super::responses::ReadOnlyCollection,
        (status = 409, description = "Already closed or retired", body = Problem, content_type = "application/problem+json"),
        super::responses::Stale,
        super::responses::TooLarge,
        (status = 422, description = "A place's retirement without its decision", body = Problem, content_type = "application/problem+json"),
        super::responses::IfMatchMissing,
    ),
)]
pub async fn delete_item(
    State(state): State<AppState>,
    caller: Caller,
    Path((collection, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let c = writable(&collection)?;
    let decided = decision(body)?;
    let expected = if_match(&headers)?.ok_or_else(Problem::precondition_required)?;
    match c {
        Collection::Facilities => {
            let (date, reason) = decided.map(|d| (d.date, d.reason)).unwrap_or_default();
            let reason = reason.unwrap_or_else(|| "经 OGC API Features 删除 (deleted through OGC API Features)".into());
            state.close_facility(&caller, &id, Some(expected), CloseInput { date, reason }).await?;
        }
        _ => {
            let d = decided.ok_or_else(decision_required)?;
            state.retire_place(&caller, &id, Some(expected), &d).await?;
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
