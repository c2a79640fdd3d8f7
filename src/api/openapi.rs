//! The OpenAPI 3 document served at `GET /api/v1/openapi.json`, generated from the
//! code.
//!
//! Owns: the document's info, tags and security schemes; the schemas of the
//! registry's closed vocabularies (built from the domain's own `ALL` lists, so they
//! cannot drift); the query-parameter sets. The paths come from each handler's
//! `#[utoipa::path]`, collected by `OpenApiRouter` as `app()` registers the route,
//! so a route is never served undocumented. The schemas of the answers are derived
//! from the types the handlers serialize (`ToSchema` where each is defined:
//! `spatial::features`, `coverage`, `naming`, `api::answers`…), re-exported below
//! by the names the annotations use; the problems many operations share are
//! declared once in `api::responses`.
//!
//! Must not: parse requests. `Params` and `parse_json` do that at run time; the
//! parameter sets here only describe what they accept (bounds, defaults), and the
//! API tests check the two agree.

use super::problem::{FieldError, Problem};
use crate::domain::{DivisionLevel, FacilityKind, FacilityStatus, PlaceStatus, Provenance};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use std::sync::Arc;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

pub use params::*;

const DESCRIPTION: &str = "\
玛纳斯县民政局的地理登记：行政区划、居民点、民政服务设施、标准地名与设施覆盖分析。\n\n\
The geographic registry of the Manas County civil-affairs bureau: administrative divisions, \
settlements, service facilities, standard place names and facility coverage.\n\n\
**Coordinates** are `[lon, lat]` decimal degrees in CGCS2000 (EPSG:4490), served as GeoJSON \
(RFC 7946, `application/geo+json`). CGCS2000 and WGS84 differ by centimetres; diming treats \
them as the same datum. 坐标为 CGCS2000（EPSG:4490）经纬度，经度在前。\n\n\
**Distances** are geodesic metres on the GRS80 (CGCS2000) ellipsoid (Karney's method), never \
degrees and never a planar approximation; field names carry their unit (`distance_m`, \
`radius_m`, `area_km2`). 距离均为 GRS80 椭球面上的测地线距离，单位米。\n\n\
**Errors** are `application/problem+json` (RFC 9457) with `type`, `title`, `status`, \
`detail` and, for invalid input, `errors: [{field, message}]`: 400 malformed input, \
401/403 authentication, 404 unknown id, 409 conflict, 412 stale `If-Match`, 413 body too \
large, 422 refused by the registry's rules, 428 `If-Match` missing. A method a path does not \
accept is a 405 problem.\n\n\
**Writes** need an API token (`Authorization: Bearer TOKEN`, from `POST /api/v1/tokens`) or \
the page's session cookie together with the `X-CSRF-Token` header returned at login. \
Facilities and place names carry a `version`, served as their `ETag`; a change to an existing \
record sends it back in `If-Match`.\n\n\
**GCJ-02**: any read that takes or answers coordinates also takes `crs=GCJ-02` (for apps on AMap or \
Tencent maps): `lon`, `lat` and `bbox` are then read in GCJ-02 and every geometry and `lon`/`lat` of the \
answer is written in GCJ-02 (`Content-Crs: GCJ-02`); distances stay true geodesic metres. Other CRSs: \
`/ogc` (OGC API Features with `crs`) and `/api/v1/export`.";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "diming 地名 — 玛纳斯县民政地理登记 API",
        description = DESCRIPTION,
        license(name = "MIT", identifier = "MIT"),
    ),
    tags(
        (name = "service", description = "服务 service: health, this document, the page's settings"),
        (name = "divisions", description = "行政区划 administrative divisions: county, townships, village-level units"),
        (name = "settlements", description = "居民点 settlements: village-level units (村, 社区), the demand points of coverage"),
        (name = "facilities", description = "设施 civil-affairs service facilities: listing, nearest, within a radius, registration and history"),
        (name = "spatial", description = "空间查询 where a point lies"),
        (name = "coverage", description = "覆盖分析 coverage of settlements by facilities under the plan's rules, gaps, siting, what-if"),
        (name = "places", description = "标准地名 standard place names: search, naming-rules check, proposal, approval, renaming, retirement"),
        (name = "interop", description = "互操作 import and export of layers (GeoJSON, CSV; CGCS2000, WGS84, Gauss-Krüger, GCJ-02; UTF-8, GBK)"),
        (name = "ogc", description = "OGC API – Features (Part 1 Core + GeoJSON, Part 2 CRS) for GIS clients, at `/ogc`"),
        (name = "changes", description = "变更流 the change feed: every committed change in order, for applications that follow the registry"),
        (name = "auth", description = "登录与令牌 sessions (the page) and API tokens (applications)"),
    ),
    components(schemas(
        Problem, FieldError, FacilityKind, FacilityStatus, PlaceStatus, DivisionLevel, Provenance,
        PlaceCategorySchema, OperatorSchema,
    )),
    modifiers(&SecuritySchemes),
)]
struct ApiDoc;

/// The part of the document no handler annotation gives: info, tags, security
/// schemes and the shared schemas. `app()` adds the paths.
pub fn base() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}

/// Names of the security schemes, as the handlers' `security(...)` use them.
pub const BEARER: &str = "bearer";
pub const SESSION: &str = "session";
pub const CSRF: &str = "csrf";

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "API 令牌 (API token) for applications: `Authorization: Bearer TOKEN`, \
                         created once with `POST /api/v1/tokens`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            SESSION,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::accounts::SESSION_COOKIE,
                "登录会话 (the page's session cookie), set by `POST /api/v1/session`. A write \
                 authenticated by it must also send the `X-CSRF-Token` header.",
            ))),
        );
        components.add_security_scheme(
            CSRF,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-CSRF-Token",
                "CSRF 令牌: the `csrf_token` returned at login; required with the session cookie \
                 on every write (a missing or wrong one is a 403).",
            ))),
        );
    }
}

/// The serialized document, built once when the app is.
#[derive(Clone)]
pub struct Document(pub Arc<str>);

/// What the document needs to know of the running registry: the coverage rules
/// it was started with (their ids are the `rule` parameter's values).
pub struct Vocabulary {
    /// Every rule id.
    pub rules: Vec<String>,
    /// The ids of the rules siting can answer (not the capacity rules).
    pub siting_rules: Vec<String>,
}

impl Document {
    pub fn new(doc: &utoipa::openapi::OpenApi, vocabulary: &Vocabulary) -> Self {
        // Serializing plain data cannot fail; an empty object would show it if it did.
        let mut value = serde_json::to_value(doc).unwrap_or_else(|_| serde_json::json!({}));
        refine::apply(&mut value, vocabulary);
        Document(Arc::from(value.to_string()))
    }
}

/// What the derived document cannot say by itself, said once for every operation:
/// how `Params` reads strings (never empty, never a control character), the closed
/// vocabularies of the free-text-looking parameters (taken from the parsers' own
/// lists), the 400 every operation can answer, and the bodies whose fields are
/// required on creation only.
mod refine {
    use super::Vocabulary;
    use crate::spatial::crs::Crs;
    use serde_json::{json, Map, Value};

    /// The cache validators of a data answer (`api::validators`): `If-None-Match`
    /// taken, `ETag` and `Cache-Control` on the answer, `304` with no body.
    fn validated(op: &mut Value) {
        let Some(op) = op.as_object_mut() else { return };
        if let Some(params) = op.entry("parameters").or_insert_with(|| json!([])).as_array_mut() {
            params.push(json!({
                "name": "If-None-Match",
                "in": "header",
                "required": false,
                "description": "An `ETag` of an earlier answer: `304 Not Modified`, no body, while it is current \
                    (a list, weak comparison; `*` for any answer that exists).",
                "schema": {"type": "string"},
            }));
        }
        let etag = json!({
            "description": "Validator of the answer: the change sequence it holds and what selects it, \
                e.g. `\"5120-9f3c0a1b2c3d4e5f\"` (a facility: its version, `\"3\"`). A write changes it.",
            "schema": {"type": "string"},
        });
        let cache = json!({"description": "`no-cache`: keep the answer, revalidate before reusing it", "schema": {"type": "string"}});
        let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else { return };
        if let Some(ok) = responses.get_mut("200").and_then(Value::as_object_mut) {
            if let Some(headers) = ok.entry("headers").or_insert_with(|| json!({})).as_object_mut() {
                headers.entry("ETag").or_insert(etag.clone());
                headers.insert("Cache-Control".into(), cache.clone());
            }
        }
        responses.insert(
            "304".into(),
            json!({
                "description": "Not modified: the `If-None-Match` validator is current; no body",
                "headers": {"ETag": etag, "Cache-Control": cache},
            }),
        );
    }

    /// No C0 control character and no DEL (the server refuses them in any path or query).
    pub const NO_CONTROL: &str = "^[^\\u0000-\\u001F\\u007F]*$";
    /// As `NO_CONTROL`, and not only white space (a query value is trimmed; a blank one is refused).
    pub const NON_BLANK: &str =
        "^[^\\u0000-\\u001F\\u007F]*[^\\s\\u0000-\\u001F\\u007F\\u0085][^\\u0000-\\u001F\\u007F]*$";
    /// No NUL (the server refuses it in any JSON string).
    pub const NO_NUL: &str = "^[^\\u0000]*$";

    pub fn apply(doc: &mut Value, v: &Vocabulary) {
        let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
        for (path, item) in paths.iter_mut() {
            let Some(ops) = item.as_object_mut() else { continue };
            for (method, op) in ops.iter_mut() {
                parameters(path, op, v);
                bad_request(op);
                if let Some(body) = op.pointer_mut("/requestBody/content/application~1json/schema") {
                    no_nul(body);
                }
                created_requires(path, method, op);
                if method == "get" && crate::api::validators::carries_validators(path) {
                    validated(op);
                }
            }
        }
        if let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
            for schema in schemas.values_mut() {
                no_nul(schema);
            }
            schemas.insert("Geometry".into(), geometry(false));
            schemas.insert("GeometryInput".into(), geometry(true));
            if let Some(r) = schemas.get_mut("WhatIf").and_then(|w| w.pointer_mut("/properties/rule")) {
                *r = json!({"type": ["string", "null"], "enum": v.rules.iter().map(|s| json!(s)).chain([Value::Null]).collect::<Vec<_>>()});
            }
            if let Some(a) = schemas.get_mut("FacilityInput").and_then(|f| f.pointer_mut("/properties/attributes")) {
                let count = json!({"type": ["integer", "null"], "minimum": 0, "maximum": 4294967295_u64});
                let of = |values: &[&str]| json!({"type": ["string", "null"], "enum": values.iter().map(|v| json!(v)).chain([Value::Null]).collect::<Vec<_>>()});
                let description = a.get("description").cloned().unwrap_or(Value::Null);
                *a = json!({
                    "type": "object",
                    "description": description,
                    "additionalProperties": flat_value(),
                    "properties": {
                        "nursing_beds": count, "plots_total": count, "plots_free": count,
                        "cemetery_type": of(&["public_welfare", "commercial"]),
                        "facility_level": of(&["centre", "station"]),
                        "medical_care": {"type": ["boolean", "null"]}
                    }
                });
            }
            if let Some(a) = schemas.get_mut("NewSite").and_then(|f| f.pointer_mut("/properties/attributes")) {
                if let Some(m) = a.as_object_mut() {
                    m.insert("additionalProperties".into(), flat_value());
                }
            }
            if let Some(g) = schemas.get_mut("PlaceInput").and_then(|p| p.pointer_mut("/properties/geometry")) {
                *g = json!({"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/GeometryInput"}]});
            }
            if let Some(g) = schemas.get_mut("FeatureInput").and_then(|p| p.pointer_mut("/properties/geometry")) {
                *g = json!({"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/GeometryInput"}]});
            }
            if let Some(id) = schemas.get_mut("FeatureInput").and_then(|p| p.pointer_mut("/properties/id")) {
                let description = id.get("description").cloned().unwrap_or(Value::Null);
                *id = json!({"type": ["string", "number", "null"], "pattern": NO_NUL, "description": description});
            }
            if let Some(links) = schemas.get_mut("FeatureInput").and_then(|p| p.pointer_mut("/properties/links")) {
                let description = links.get("description").cloned().unwrap_or(Value::Null);
                *links = json!({
                    "type": ["array", "null"],
                    "description": description,
                    "items": {"type": "object", "propertyNames": {"pattern": NO_NUL}, "additionalProperties": flat_value()},
                });
            }
            if let Some(props) = schemas.get_mut("FeatureInput").and_then(|p| p.pointer_mut("/properties/properties")) {
                let description = props.get("description").cloned().unwrap_or(Value::Null);
                *props = json!({
                    "type": ["object", "null"],
                    "description": description,
                    "propertyNames": {"pattern": NO_NUL},
                    "additionalProperties": {"anyOf": [
                        flat_value(),
                        {"type": "array", "items": flat_value()},
                        {"type": "object", "additionalProperties": flat_value(), "propertyNames": {"pattern": NO_NUL}},
                    ]},
                });
            }
        }
    }

    fn is_type(schema: &Map<String, Value>, ty: &str) -> bool {
        match schema.get("type") {
            Some(Value::String(t)) => t == ty,
            Some(Value::Array(ts)) => ts.iter().any(|t| t == ty),
            _ => false,
        }
    }

    /// The spellings of a CRS that `Crs::from_param` reads.
    fn crs_names(allowed: &[Crs]) -> Vec<Value> {
        allowed.iter().flat_map(|c| c.spellings().iter().map(|s| json!(s))).collect()
    }

    fn parameters(path: &str, op: &mut Value, v: &Vocabulary) {
        let has_bbox = op
            .get("parameters")
            .and_then(Value::as_array)
            .is_some_and(|ps| ps.iter().any(|p| p.get("name").and_then(Value::as_str) == Some("bbox")));
        if has_bbox {
            if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
                responses.entry("422").or_insert_with(|| {
                    json!({
                        "description": "`bbox` has four numbers, but its corners are swapped or out of the range of `bbox-crs`; `errors` names it",
                        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
                    })
                });
            }
        }
        let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else { return };
        for p in params.iter_mut() {
            let name = p.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
            let place = p.get("in").and_then(Value::as_str).unwrap_or_default().to_string();
            let Some(schema) = p.get_mut("schema").and_then(Value::as_object_mut) else { continue };
            if place == "header" {
                // An optional header is absent or a value, never `null`.
                if let Some(Value::Array(alts)) = schema.get_mut("oneOf") {
                    alts.retain(|a| a.get("type").and_then(Value::as_str) != Some("null"));
                    if let [only] = alts.as_slice() {
                        if let Some(one) = only.as_object().cloned() {
                            schema.remove("oneOf");
                            schema.extend(one);
                        }
                    }
                }
                if let Some(Value::Array(ts)) = schema.get_mut("type") {
                    ts.retain(|t| t != "null");
                    if ts.len() == 1 {
                        let t = ts.remove(0);
                        schema.insert("type".into(), t);
                    }
                }
                continue;
            }
            if place == "query" && name == "bbox" && is_type(schema, "array") {
                schema.insert("items".into(), json!({"type": "number", "minimum": -180, "maximum": 180}));
                continue;
            }
            if !is_type(schema, "string") {
                continue;
            }
            let vocabulary: Option<Vec<Value>> = match (place.as_str(), name.as_str()) {
                ("query", "f") => Some(vec![json!("json"), json!("geojson")]),
                ("query", "crs") if path.starts_with("/ogc") => Some(crs_names(&Crs::OGC)),
                ("query", "bbox-crs" | "filter-crs") => Some(crs_names(&Crs::OGC)),
                ("query", "crs") => Some(crs_names(&crate::registry::import::IMPORT_CRS)),
                ("query", "format") if !schema.contains_key("pattern") => {
                    Some(crate::import::read::Format::SPELLINGS.iter().map(|s| json!(s)).collect())
                }
                ("query", "encoding") => {
                    Some(crate::registry::export::Encoding::SPELLINGS.iter().map(|s| json!(s)).collect())
                }
                ("query", "rule") if path.ends_with("/siting") => {
                    Some(v.siting_rules.iter().map(|s| json!(s)).collect())
                }
                ("query", "rule") => Some(v.rules.iter().map(|s| json!(s)).collect()),
                ("query", "layer") => Some(crate::import::Layer::ALL.iter().map(|l| json!(l.as_str())).collect()),
                _ => None,
            };
            if place == "query" && name == "bbox" {
                // Four or six numbers; their range and order depend on `bbox-crs` (a 422 when wrong).
                let n = r"-?(\d{1,20}(\.\d{0,20})?|\.\d{1,20})([eE][-+]?\d{1,2})?";
                schema.insert("pattern".into(), format!("^{n}(,{n}){{3}}$|^{n}(,{n}){{5}}$").into());
                schema.remove("minLength");
                continue;
            }
            if let Some(values) = vocabulary {
                schema.remove("pattern");
                schema.remove("minLength");
                schema.insert("enum".into(), Value::Array(values));
                continue;
            }
            if place == "query" && !schema.contains_key("minLength") {
                schema.insert("minLength".into(), 1.into());
            }
            if !schema.contains_key("enum") && !schema.contains_key("pattern") && !schema.contains_key("format") {
                let pattern = if place == "query" { NON_BLANK } else { NO_CONTROL };
                schema.insert("pattern".into(), pattern.into());
            }
        }
    }

    /// Any operation can answer 400 (a control character in its path, a malformed value).
    fn bad_request(op: &mut Value) {
        let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else { return };
        responses.entry("400").or_insert_with(|| {
            json!({
                "description": "请求参数无效 A value that does not match its schema (a control character in the path or query, a malformed value); `errors` names each field",
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
            })
        });
    }

    /// An attribute's value: a string, number, boolean or null (no nesting).
    fn flat_value() -> Value {
        json!({"type": ["string", "number", "boolean", "null"], "pattern": NO_NUL})
    }

    /// Every free string of a request body refuses NUL.
    fn no_nul(schema: &mut Value) {
        match schema {
            Value::Object(m) => {
                if is_type(m, "object") && !m.contains_key("propertyNames") {
                    m.insert("propertyNames".into(), json!({"pattern": NO_NUL}));
                }
                if is_type(m, "string") && !m.contains_key("enum") && !m.contains_key("format") {
                    match m.get("pattern").and_then(Value::as_str) {
                        None => {
                            m.insert("pattern".into(), NO_NUL.into());
                        }
                        // An anchored pattern names every character; an open one (`\S`) gets the NUL rule beside it.
                        Some(p) if !p.starts_with('^') => {
                            m.insert("allOf".into(), json!([{"pattern": NO_NUL}]));
                        }
                        Some(_) => {}
                    }
                }
                for (k, child) in m.iter_mut() {
                    if matches!(
                        k.as_str(),
                        "properties" | "additionalProperties" | "items" | "allOf" | "anyOf" | "oneOf" | "prefixItems"
                    ) {
                        match child {
                            Value::Object(props) if k == "properties" => props.values_mut().for_each(no_nul),
                            other => no_nul(other),
                        }
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(no_nul),
            _ => {}
        }
    }

    /// Bodies shared by operations whose rules differ: on these, these fields are
    /// required and not null (the handlers refuse them otherwise, with a 400).
    fn created_requires(path: &str, method: &str, op: &mut Value) {
        let text = |max: Option<u64>| {
            let mut t = json!({"type": "string", "minLength": 1, "pattern": NO_NUL});
            if let (Some(m), Some(o)) = (max, t.as_object_mut()) {
                o.insert("maxLength".into(), m.into());
            }
            t
        };
        let fields: Vec<(&str, Value)> = match (method, path) {
            ("post", "/api/v1/facilities") => vec![
                ("name", text(Some(100))),
                ("kind", json!({"$ref": "#/components/schemas/FacilityKind"})),
                ("lon", json!({"type": "number", "minimum": -180, "maximum": 180})),
                ("lat", json!({"type": "number", "minimum": -90, "maximum": 90})),
            ],
            ("post", "/api/v1/places") => vec![
                (
                    "name",
                    json!({"type": "string", "minLength": 1, "pattern": "[^\\s\\u0085]", "allOf": [{"pattern": NO_NUL}]}),
                ),
                ("category", json!({"$ref": "#/components/schemas/PlaceCategory"})),
            ],
            ("post", "/api/v1/places/{id}/retire") => vec![("reason", text(None))],
            _ => return,
        };
        let Some(schema) = op.pointer_mut("/requestBody/content/application~1json/schema") else { return };
        let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
        let props: Map<String, Value> = fields.into_iter().map(|(n, s)| (n.to_string(), s)).collect();
        let base = schema.take();
        *schema = json!({"allOf": [base, {"type": "object", "required": names, "properties": props}]});
    }

    /// A GeoJSON geometry as RFC 7946 nests it: each type with its own depth of
    /// positions. `bounded`: a request's, in CGCS2000 degrees; an answer's may be in
    /// the projected CRS it asked for.
    fn geometry(bounded: bool) -> Value {
        let position = if bounded {
            json!({
                "type": "array", "minItems": 2, "maxItems": 3,
                "prefixItems": [
                    {"type": "number", "minimum": -180, "maximum": 180},
                    {"type": "number", "minimum": -90, "maximum": 90},
                    {"type": "number"}
                ]
            })
        } else {
            json!({"type": "array", "minItems": 2, "maxItems": 3, "items": {"type": "number"}})
        };
        let many = |inner: &Value, min: u64| json!({"type": "array", "items": inner, "minItems": min});
        let line = many(&position, 2);
        let ring = many(&position, 4);
        let polygon = many(&ring, 1);
        let one = |ty: &str, coordinates: Value| {
            json!({
                "type": "object", "required": ["type", "coordinates"],
                "properties": {"type": {"type": "string", "enum": [ty]}, "coordinates": coordinates}
            })
        };
        json!({
            "description": "A GeoJSON geometry (RFC 7946); positions are `[lon, lat]` in CGCS2000 (EPSG:4490) unless the operation says otherwise. A polygon's rings are closed (first position = last): a request's that is not is refused with 422.",
            "oneOf": [
                one("Point", position.clone()),
                one("MultiPoint", many(&position, 1)),
                one("LineString", line.clone()),
                one("MultiLineString", many(&line, 1)),
                one("Polygon", polygon.clone()),
                one("MultiPolygon", many(&polygon, 1)),
            ]
        })
    }
}

/// `GET /api/v1/openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "service",
    operation_id = "openapi",
    summary = "本文档 This OpenAPI 3 document",
    description = "The OpenAPI 3 description of every endpoint of the API, generated from the code.",
    responses((status = 200, description = "The OpenAPI document", body = Object, content_type = "application/json")),
)]
pub async fn openapi_json(Extension(doc): Extension<Document>) -> Response {
    let mut res = doc.0.to_string().into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

pub use crate::schema::*;

// The answers' schemas are derived from the types the handlers serialize; here by
// the names the handlers' annotations use. Besides the vocabularies above, the
// only schemas written here are the GeoJSON geometry (`Geometry`, in `refine`)
// and the request-only rules of `refine`.
pub use super::answers::{
    Announcements, Categories, GapCollection, Health, History, Located, LoginAnswer, PlaceCollection, SessionInfo,
    TokenAnswer, WhatIfAnswer,
};
pub use super::answers::{Change, Changes as ChangesAnswer};
pub use super::geojson_out::{DivisionCollection, FacilityCollection, SettlementCollection};
pub use crate::coverage::{Coverage as CoverageAnswer, Rules as CoverageRules, SitingAnswer};
pub use crate::naming::registry::PlaceFeature;
pub use crate::naming::rules::CheckResult as CheckAnswer;
pub use crate::registry::import::ImportReport as ImportReportDoc;
pub use crate::spatial::features::{DivisionFeature, FacilityFeature, SettlementFeature};

/// Query parameters, as `Params` reads them. Descriptions give unit, bounds and default.
mod params {
    #![allow(dead_code)] // described, never built: `Params` parses the query

    use super::{ChangeLayerSchema, FacilityKindSchema, FacilityStatusSchema, PlaceStatusSchema};
    use super::{DivisionLevelSchema, PlaceCategorySchema};
    use utoipa::IntoParams;

    /// `GET /changes`: where to start, what to follow, how to answer.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct ChangesQuery {
        /// 起点 Only changes numbered above this (`0`: from the start; then the last answer's
        /// `next_after`).
        #[param(minimum = 0, default = 0, example = 0)]
        pub after: Option<u64>,
        /// 图层 Only these layers, comma-separated (`layer=facilities,places`); default: all four.
        #[param(style = Form, explode = false, min_items = 1)]
        pub layer: Option<Vec<ChangeLayerSchema>>,
        /// 县级区划代码 Only records of this county-level unit (6-digit code): its divisions and
        /// settlements, the facilities of its townships, the names in it.
        #[param(pattern = r"^\d{6}$", example = "652324")]
        pub county: Option<String>,
        /// Records per page: 1..=10000, default 1000. A page ends with a whole change, so one that
        /// wrote many records at once (a county added by `init`) may make it longer.
        #[param(minimum = 1, maximum = 10000, default = 1000)]
        pub limit: Option<u32>,
        /// 长轮询 Long-poll: when no change matches yet, wait up to this many seconds (0..=60,
        /// default 0) for one before answering, empty if none came.
        #[param(minimum = 0, maximum = 60, default = 0)]
        pub wait: Option<u32>,
        /// `json` (default) or `ndjson`: one change per line (`application/x-ndjson`), the page's
        /// end in the `Next-After` header. `Accept: application/x-ndjson` asks for it too.
        pub format: Option<ChangesFormat>,
    }

    /// The representation of a page of the change feed.
    #[derive(utoipa::ToSchema)]
    #[schema(rename_all = "lowercase")]
    pub enum ChangesFormat {
        Json,
        Ndjson,
    }

    /// `lon`, `lat`: a required point.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct PointQuery {
        /// 经度 Longitude, decimal degrees CGCS2000 (EPSG:4490), finite, in [-180, 180].
        #[param(minimum = -180.0, maximum = 180.0, example = 86.21)]
        pub lon: f64,
        /// 纬度 Latitude, decimal degrees CGCS2000 (EPSG:4490), finite, in [-90, 90].
        #[param(minimum = -90.0, maximum = 90.0, example = 44.3)]
        pub lat: f64,
    }

    /// `GET /facilities/nearest`, besides the point.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct NearestQuery {
        /// 设施类型 Only facilities of this kind (all kinds when absent).
        pub kind: Option<FacilityKindSchema>,
        /// How many facilities, nearest first: 1..=100, default 10.
        #[param(minimum = 1, maximum = 100, default = 10)]
        pub limit: Option<u32>,
        /// Only facilities within this geodesic distance, metres: > 0 and ≤ 1,000,000 (no limit when absent).
        #[param(exclusive_minimum = 0.0, maximum = 1000000.0)]
        pub max_distance_m: Option<f64>,
        /// Which statuses count, comma-separated (`status=open,planned`); default `open`.
        #[param(style = Form, explode = false, min_items = 1, default = json!(["open"]))]
        pub status: Option<Vec<FacilityStatusSchema>>,
    }

    /// `GET /facilities/within`, besides the point.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct WithinQuery {
        /// 半径 Geodesic radius in metres: > 0 and ≤ 1,000,000.
        #[param(exclusive_minimum = 0.0, maximum = 1000000.0, example = 3000.0)]
        pub radius_m: f64,
        /// 设施类型 Only facilities of this kind (all kinds when absent).
        pub kind: Option<FacilityKindSchema>,
        /// Which statuses count, comma-separated (`status=open,planned`); default `open`.
        #[param(style = Form, explode = false, min_items = 1, default = json!(["open"]))]
        pub status: Option<Vec<FacilityStatusSchema>>,
        /// At most this many facilities, nearest first: 1..=10000, default 10000
        /// (`numberMatched` counts them all).
        #[param(minimum = 1, maximum = 10000, default = 10000)]
        pub limit: Option<u32>,
    }

    /// `POST /import` parameters.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct ImportQuery {
        /// The layer: `facilities`, `places`, `settlements` or `divisions`.
        #[param(example = "facilities")]
        pub layer: String,
        /// `geojson` or `csv`; default: from `Content-Type`, else detected from the content.
        pub format: Option<String>,
        /// The file's CRS: `EPSG:4490` (default; CGCS2000 lon/lat), `EPSG:4326`, `CRS84`, `EPSG:4538`
        /// (CGCS2000 Gauss-Krüger CM 87°E, metres) or `GCJ-02` (AMap/Tencent). A GeoJSON file's own `crs` member is honoured.
        pub crs: Option<String>,
        /// `true`: check and report everything, write nothing.
        #[param(default = false)]
        pub dry_run: Option<bool>,
        /// 县级区划代码 Every row must be a record of this county-level unit (6-digit code); rows of
        /// another county are refused (422).
        #[param(pattern = r"^\d{6}$", example = "652324")]
        pub county: Option<String>,
    }

    /// `GET /export` parameters.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct ExportQuery {
        /// The layer: `divisions`, `facilities`, `settlements` or `places`.
        #[param(example = "facilities")]
        pub layer: String,
        /// `geojson` (default) or `csv`.
        pub format: Option<String>,
        /// `EPSG:4490`/`CRS84` (default), `EPSG:4326`, `EPSG:4538` or `GCJ-02`.
        pub crs: Option<String>,
        /// CSV only: `utf-8` (default; with a BOM) or `gbk` (GB18030). GeoJSON is always UTF-8 (RFC 7946).
        pub encoding: Option<String>,
        /// 县级区划代码 Only the records of this county-level unit (6-digit code).
        #[param(pattern = r"^\d{6}$", example = "652324")]
        pub county: Option<String>,
        /// 地区 Only the records of this province (2 digits), prefecture (4) or county (6).
        #[param(pattern = r"^(\d{2}|\d{4}|\d{6})$", example = "6523")]
        pub region: Option<String>,
    }

    /// OGC API Features `items` parameters (the collection's queryables are accepted too).
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct OgcItemsQuery {
        /// Page size, default 10; above 10000 the maximum is used.
        #[param(minimum = 1, default = 10)]
        pub limit: Option<i64>,
        /// Features to skip, default 0.
        #[param(minimum = 0, default = 0)]
        pub offset: Option<u64>,
        /// Four (or six) numbers: the lower-left and upper-right corners, in the axis order of `bbox-crs`.
        pub bbox: Option<String>,
        /// The CRS of `bbox` (OGC URI or `EPSG:n`): CRS84 (default), EPSG:4490, EPSG:4326, EPSG:4538.
        #[param(rename = "bbox-crs")]
        pub bbox_crs: Option<String>,
        /// The CRS of the answer; coordinates in its authority axis order. Default CRS84.
        pub crs: Option<String>,
        /// Accepted; nothing here has a time, so every feature matches.
        pub datetime: Option<String>,
        /// `json` or `geojson` (the only encodings).
        pub f: Option<String>,
        /// 县级区划代码 Only features of this county-level unit (6-digit code; see `GET /api/v1/counties`):
        /// the county and its townships, the facilities and settlements of its townships, the names in it.
        #[param(pattern = r"^\d{6}$", example = "652324")]
        pub county: Option<String>,
        /// 地区 Only features of this province (2 digits), prefecture (4) or county (6).
        #[param(pattern = r"^(\d{2}|\d{4}|\d{6})$", example = "6523")]
        pub region: Option<String>,
        /// CQL2 过滤条件 A CQL2 filter over the collection's queryables (`/queryables`), in `filter-lang`,
        /// e.g. `kind = 'care_home' AND S_DWITHIN(geometry, POINT(86.2 44.3), 5000)`.
        #[param(min_length = 1, max_length = 16384, example = "status = 'open' AND name LIKE '%敬老院'")]
        pub filter: Option<String>,
        /// `cql2-text` (default) or `cql2-json`.
        #[param(rename = "filter-lang", inline)]
        pub filter_lang: Option<FilterLang>,
        /// The CRS of the filter's geometries (OGC URI or `EPSG:n`), in its axis order; default CRS84.
        #[param(rename = "filter-crs")]
        pub filter_crs: Option<String>,
    }

    /// `filter-lang` of OGC `items`.
    #[derive(utoipa::ToSchema)]
    pub enum FilterLang {
        #[schema(rename = "cql2-text")]
        Cql2Text,
        #[schema(rename = "cql2-json")]
        Cql2Json,
    }

    /// `limit` and `offset` of the registry's collections.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct ListPage {
        /// Page size: 1..=10000, default 1000 (a whole county's layer in one answer).
        #[param(minimum = 1, maximum = 10000, default = 1000)]
        pub limit: Option<u32>,
        /// Features to skip, from 0; default 0 (with `after`: skipped after the cursor). `links` give
        /// the next and previous pages (a keyset page, `after=`, links only the next).
        #[param(minimum = 0, default = 0)]
        pub offset: Option<u64>,
    }

    /// `GET /counties` filters.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct CountiesQuery {
        /// 地区 Only the counties of this province (2 digits), prefecture (4) or county (6).
        #[param(pattern = r"^(\d{2}|\d{4}|\d{6})$", example = "6523")]
        pub region: Option<String>,
        /// 检索 Only counties whose name (or prefecture's or province's name) contains this text,
        /// or whose code starts with it.
        #[param(min_length = 1, max_length = 100, example = "玛纳斯")]
        pub q: Option<String>,
    }

    /// `GET /divisions` filters.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct DivisionsQuery {
        /// 区划级别 Only divisions of this level.
        pub level: Option<DivisionLevelSchema>,
        /// 上级区划代码 Only divisions whose parent has this code (6-digit county, 9-digit township).
        #[param(pattern = r"^(\d{6}|\d{9}|\d{12})$", example = "652324101")]
        pub parent: Option<String>,
        /// 县级区划代码 Only records of this county-level unit (6-digit code; see `GET /counties`).
        #[param(pattern = r"^\d{6}$", example = "652324")]
        pub county: Option<String>,
        /// 地区 Only divisions of this province (2 digits), prefecture (4) or county (6), e.g.
        /// `level=county&region=6523` for a prefecture's county outlines.
        #[param(pattern = r"^(\d{2}|\d{4}|\d{6})$", example = "6523")]
        pub region: Option<String>,
        /// 游标 Keyset page: only records whose code sorts after this one (the last code of the
        /// previous page; the `next` link carries it). Costs what the page returns at any depth.
        #[param(pattern = r"^(\d{6}|\d{9}|\d{12})$", example = "652324101")]
        pub after: Option<String>,
    }

    /// `GET /settlements` filters.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct SettlementsQuery {
        /// 乡镇代码 Only settlements of this township (9-digit code).
        #[param(pattern = r"^(\d{6}|\d{9}|\d{12})$", example = "652324101")]
        pub township: Option<String>,
        /// 县级区划代码 Only records of this county-level unit (6-digit code; see `GET /counties`).
        #[param(pattern = r"^\d{6}$", example = "652324")]
        pub county: Option<String>,
        /// 游标 Keyset page: only records whose code sorts after this one (the last code of the
        /// previous page; the `next` link carries it). Costs what the page returns at any depth.
        #[param(pattern = r"^(\d{6}|\d{9}|\d{12})$", example = "652324101")]
        pub after: Option<String>,
    }

    /// `GET /facilities` filters.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct FacilitiesQuery {
        /// 设施类型 Only facilities of this kind.
        pub kind: Option<FacilityKindSchema>,
        /// 乡镇代码 Only facilities in this township (9-digit code).
        #[param(pattern = r"^(\d{6}|\d{9}|\d{12})$", example = "652324100")]
        pub township: Option<String>,
        /// 县级区划代码 Only records of this county-level unit (6-digit code; see `GET /counties`).
        #[param(pattern = r"^\d{6}$", example = "652324")]
        pub county: Option<String>,
        /// `minLon,minLat,maxLon,maxLat`, CGCS2000 degrees, minimum not above maximum: only
        /// facilities inside the box.
        #[param(style = Form, explode = false, min_items = 4, max_items = 4, example = json!([86.15, 44.25, 86.3, 44.35]))]
        pub bbox: Option<Vec<f64>>,
        /// Which statuses, comma-separated (`status=open,planned`); default: every status.
        #[param(style = Form, explode = false, min_items = 1)]
        pub status: Option<Vec<FacilityStatusSchema>>,
        /// 游标 Keyset page: only facilities whose id sorts after this one (the last id of the
        /// previous page; the `next` link carries it). Any text of 1..=200 characters without
        /// control characters is a position. Costs what the page returns at any depth.
        #[param(min_length = 1, max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F]+$", example = "f0100")]
        pub after: Option<String>,
    }

    /// The coverage question: which facilities, which rule.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct CoverageQuery {
        /// 设施类型 The kind of facility; its default rule applies unless `rule` is given.
        /// `kind` or `rule` is required.
        #[param(example = "care_home")]
        pub kind: Option<FacilityKindSchema>,
        /// 覆盖规则 A rule id from `GET /api/v1/coverage/rules` (must be for `kind` if both are given).
        pub rule: Option<String>,
        /// Turns the rule into a distance rule with this geodesic radius, metres: > 0 and ≤ 1,000,000.
        #[param(exclusive_minimum = 0.0, maximum = 1000000.0)]
        pub radius_m: Option<f64>,
        /// Which facility statuses count, comma-separated (`status=open,planned`); default `open`.
        #[param(style = Form, explode = false, min_items = 1, default = json!(["open"]))]
        pub status: Option<Vec<FacilityStatusSchema>>,
        /// Count XPCC (兵团) settlements, townships and facilities too: `true`/`false` (or `1`/`0`); default false.
        #[param(default = false)]
        pub include_xpcc: Option<bool>,
        /// 县 The county asked about (6-digit code, see `GET /counties`). Required when the
        /// registry holds more than one county (a 400 lists the choices), unless `region` is
        /// given; with `region`, it must lie in it and is what is answered.
        #[param(pattern = r"^\d{6}$", example = "652324")]
        pub county: Option<String>,
        /// 地区 A prefecture (4 digits) or province (2) — or a county (6) — asked about:
        /// `counties` has one row per county, and `townships` every township of the area.
        #[param(pattern = r"^(\d{2}|\d{4}|\d{6})$", example = "6523")]
        pub region: Option<String>,
    }

    /// Every query parameter a tile layer can take (`Layer::params` says which layer takes which).
    pub const TILE_PARAMS: &[&str] = &["kind", "status", "rule", "radius_m", "include_xpcc"];

    /// `GET /tiles/{layer}/…` parameters: `kind` and `status` filter `facilities`; with
    /// `rule`, `radius_m` and `include_xpcc` they ask the `coverage` layer's question.
    /// `divisions` and `settlements` take none; a parameter a layer does not take is a 422.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct TileQuery {
        /// 设施类型 `facilities`: only this kind. `coverage`: the kind asked about (`kind` or `rule` required).
        #[param(example = "care_home")]
        pub kind: Option<FacilityKindSchema>,
        /// Statuses, comma-separated. `facilities`: default every status; `coverage`: which count, default `open`.
        #[param(style = Form, explode = false, min_items = 1)]
        pub status: Option<Vec<FacilityStatusSchema>>,
        /// `coverage` only: a rule id from `GET /api/v1/coverage/rules`.
        pub rule: Option<String>,
        /// `coverage` only: a distance rule with this geodesic radius, metres: > 0 and ≤ 1,000,000.
        #[param(exclusive_minimum = 0.0, maximum = 1000000.0)]
        pub radius_m: Option<f64>,
        /// `coverage` only: count XPCC (兵团) settlements, townships and facilities too; default false.
        #[param(default = false)]
        pub include_xpcc: Option<bool>,
    }

    /// `GET /coverage/siting`, besides the coverage question.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct SitingQuery {
        /// How many sites to propose: 1..=50, default 5.
        #[param(minimum = 1, maximum = 50, default = 5)]
        pub count: Option<u32>,
    }

    /// `GET /places` filters and paging.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct PlacesQuery {
        /// 检索词 Matches the Chinese name, the pinyin (case and spaces ignored) and the pinyin
        /// initials; results best match first, and `numberMatched` is null.
        #[param(example = "letuyi")]
        pub q: Option<String>,
        /// 地名类别 Only names of this category.
        pub category: Option<PlaceCategorySchema>,
        /// 区划代码 Only names in this division or below (code prefix: county, township or village).
        #[param(pattern = r"^(\d{6}|\d{9}|\d{12})$", example = "652324101")]
        pub township: Option<String>,
        /// Only names in these statuses, comma-separated (`status=approved,proposed`); default: all.
        #[param(style = Form, explode = false, min_items = 1)]
        pub status: Option<Vec<PlaceStatusSchema>>,
        /// Page size: 1..=1000, default 10.
        #[param(minimum = 1, maximum = 1000, default = 10)]
        pub limit: Option<u32>,
        /// Records to skip: 0..=1000000, default 0.
        #[param(minimum = 0, maximum = 1000000, default = 0)]
        pub offset: Option<u32>,
    }

    /// `GET /places/announcements`.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct AnnouncementsQuery {
        /// Only decisions on or after this date (`YYYY-MM-DD`); all when absent.
        #[param(format = Date, example = "2024-01-01")]
        pub since: Option<String>,
        /// `json` (default) or `csv` (UTF-8 with BOM, the announcement's column headings in Chinese).
        #[param(pattern = "^(json|csv)$", default = "json")]
        pub format: Option<String>,
    }
}
