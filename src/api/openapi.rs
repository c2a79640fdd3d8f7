//! The OpenAPI 3 document served at `GET /api/v1/openapi.json`, generated from the
//! code.
//!
//! Owns: the document's info, tags and security schemes; the schemas of the
//! registry's closed vocabularies (built from the domain's own `ALL` lists, so they
//! cannot drift); the query-parameter sets and the schemas of answers that the
//! handlers render by hand (GeoJSON, coverage). The paths come from each
//! handler's `#[utoipa::path]`, collected by `OpenApiRouter` as `app()` registers
//! the route, so a route is never served undocumented.
//!
//! Must not: parse requests. `Params` and `parse_json` do that at run time; the
//! parameter sets here only describe what they accept (bounds, defaults), and the
//! API tests check the two agree.

use super::problem::{FieldError, Problem};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use std::sync::Arc;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

pub use crate::schema::*;
pub use params::*;
pub use schemas::*;

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
        (name = "auth", description = "登录与令牌 sessions (the page) and API tokens (applications)"),
    ),
    components(schemas(
        Problem, FieldError, FacilityKindSchema, FacilityStatusSchema, PlaceStatusSchema,
        DivisionLevelSchema, ProvenanceSchema, PlaceCategorySchema, OperatorSchema,
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
                ("query", "bbox-crs") => Some(crs_names(&Crs::OGC)),
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

/// Query parameters, as `Params` reads them. Descriptions give unit, bounds and default.
mod params {
    #![allow(dead_code)] // described, never built: `Params` parses the query

    use super::{DivisionLevelSchema, PlaceCategorySchema};
    use super::{FacilityKindSchema, FacilityStatusSchema, PlaceStatusSchema};
    use utoipa::IntoParams;

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
    }

    /// `limit` and `offset` of the registry's collections.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct ListPage {
        /// Page size: 1..=10000, default 1000 (a whole county's layer in one answer).
        #[param(minimum = 1, maximum = 10000, default = 1000)]
        pub limit: Option<u32>,
        /// Features to skip, from 0; default 0. `links` give the next and previous pages.
        #[param(minimum = 0, default = 0)]
        pub offset: Option<u64>,
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
    }

    /// `GET /settlements` filters.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub struct SettlementsQuery {
        /// 乡镇代码 Only settlements of this township (9-digit code).
        #[param(pattern = r"^(\d{6}|\d{9}|\d{12})$", example = "652324101")]
        pub township: Option<String>,
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
        /// `minLon,minLat,maxLon,maxLat`, CGCS2000 degrees, minimum not above maximum: only
        /// facilities inside the box.
        #[param(style = Form, explode = false, min_items = 4, max_items = 4, example = json!([86.15, 44.25, 86.3, 44.35]))]
        pub bbox: Option<Vec<f64>>,
        /// Which statuses, comma-separated (`status=open,planned`); default: every status.
        #[param(style = Form, explode = false, min_items = 1)]
        pub status: Option<Vec<FacilityStatusSchema>>,
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

/// Schemas of answers the handlers render by hand.
mod schemas {
    #![allow(dead_code)] // described, never built: the handlers render these shapes

    use super::{DivisionLevelSchema, FacilityKindSchema, FacilityStatusSchema, OperatorSchema};
    use super::{PlaceCategorySchema, PlaceStatusSchema, ProvenanceSchema};
    use serde::Serialize;
    use serde_json::{Map, Value};
    use utoipa::ToSchema;

    #[derive(Serialize, ToSchema)]
    pub enum FeatureType {
        Feature,
    }

    #[derive(Serialize, ToSchema)]
    pub enum FeatureCollectionType {
        FeatureCollection,
    }

    /// A GeoJSON geometry (RFC 7946); positions are `[lon, lat]` in CGCS2000 (EPSG:4490).
    #[derive(Serialize, ToSchema)]
    pub struct Geometry {
        #[serde(rename = "type")]
        #[schema(
            example = "MultiPolygon",
            pattern = "^(Point|MultiPoint|LineString|MultiLineString|Polygon|MultiPolygon)$"
        )]
        pub kind: String,
        /// Positions, nested as the geometry type requires.
        #[schema(value_type = Vec<Value>)]
        pub coordinates: Vec<Value>,
    }

    #[derive(Serialize, ToSchema)]
    pub enum PointType {
        Point,
    }

    /// A GeoJSON Point: `[lon, lat]` in CGCS2000 (EPSG:4490).
    #[derive(Serialize, ToSchema)]
    pub struct PointGeometry {
        #[serde(rename = "type")]
        pub kind: PointType,
        #[schema(min_items = 2, max_items = 2, example = json!([86.21, 44.3]))]
        pub coordinates: Vec<f64>,
    }

    /// A link to another page of a collection.
    #[derive(Serialize, ToSchema)]
    pub struct Link {
        /// `next` or `prev`.
        pub rel: String,
        pub href: String,
        #[serde(rename = "type")]
        pub media_type: String,
    }

    /// Paging counts shared by every FeatureCollection.
    #[derive(Serialize, ToSchema)]
    pub struct Counts {
        /// Features in this answer.
        #[serde(rename = "numberReturned")]
        pub number_returned: u64,
        /// Features matching the request, over all pages.
        #[serde(rename = "numberMatched", skip_serializing_if = "Option::is_none")]
        pub number_matched: Option<u64>,
        /// `next` / `prev` pages, when there are.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub links: Vec<Link>,
    }

    /// Properties of a division Feature.
    #[derive(Serialize, ToSchema)]
    pub struct DivisionProperties {
        /// Official code at its level: 6-digit county `652324`, 9-digit township
        /// `652324100`, 12-digit village `652324100201`.
        #[schema(example = "652324101")]
        pub code: String,
        pub level: DivisionLevelSchema,
        #[schema(example = "乐土驿镇")]
        pub name: String,
        pub parent_code: Option<String>,
        /// Romanization (罗马字母拼写), e.g. `Letuyi Zhen`.
        pub pinyin: String,
        /// An XPCC (兵团) unit.
        pub is_xpcc: bool,
        pub provenance: ProvenanceSchema,
        pub valid_from: Option<String>,
        pub valid_to: Option<String>,
        /// Geodesic area on the GRS80 ellipsoid, km² (polygons only).
        pub area_km2: Option<f64>,
        pub version: i64,
    }

    /// A division: MultiPolygon for county and townships (null where unknown), Point for
    /// village seats.
    #[derive(Serialize, ToSchema)]
    pub struct DivisionFeature {
        #[serde(rename = "type")]
        pub kind: FeatureType,
        /// The division code.
        pub id: String,
        pub geometry: Option<Geometry>,
        pub properties: DivisionProperties,
    }

    #[derive(Serialize, ToSchema)]
    pub struct DivisionCollection {
        #[serde(rename = "type")]
        pub kind: FeatureCollectionType,
        pub features: Vec<DivisionFeature>,
        #[serde(flatten)]
        pub counts: Counts,
    }

    /// Properties of a settlement (a village-level unit: 村, 社区).
    #[derive(Serialize, ToSchema)]
    pub struct SettlementProperties {
        /// 12-digit village-level code.
        #[schema(example = "652324101201")]
        pub code: String,
        pub name: String,
        pub short_name: Option<String>,
        pub township_code: String,
        pub township_name: Option<String>,
        /// `村` or `社区` style of unit, as the registry records it.
        pub village_kind: String,
        /// Resident population; null where unknown.
        pub population: Option<u64>,
        /// Residents aged 60 and over; null where unknown.
        pub population_60plus: Option<u64>,
        pub is_xpcc: bool,
        pub provenance: ProvenanceSchema,
        pub version: i64,
    }

    #[derive(Serialize, ToSchema)]
    pub struct SettlementFeature {
        #[serde(rename = "type")]
        pub kind: FeatureType,
        /// The settlement code.
        pub id: String,
        pub geometry: PointGeometry,
        pub properties: SettlementProperties,
    }

    #[derive(Serialize, ToSchema)]
    pub struct SettlementCollection {
        #[serde(rename = "type")]
        pub kind: FeatureCollectionType,
        pub features: Vec<SettlementFeature>,
        #[serde(flatten)]
        pub counts: Counts,
    }

    /// Properties of a facility; its kind-specific attributes (`address`, `opened_on`,
    /// `nursing_beds`, `plots_total`, `plots_free`, `cemetery_type`, `facility_level`,
    /// `medical_care`, `closed_on`, `close_reason`, …) are further properties.
    #[derive(Serialize, ToSchema)]
    pub struct FacilityProperties {
        #[schema(example = "f0001")]
        pub id: String,
        pub name: String,
        pub kind: FacilityKindSchema,
        /// The kind in Chinese, e.g. 养老机构.
        pub kind_label: String,
        pub township_code: String,
        pub township_name: Option<String>,
        pub capacity_beds: Option<u32>,
        pub operator: Option<OperatorSchema>,
        pub status: FacilityStatusSchema,
        pub provenance: ProvenanceSchema,
        pub updated_at: String,
        /// The record's version, also served as its `ETag`.
        pub version: i64,
        /// Nearest and within only: geodesic distance from the query point, metres
        /// (GRS80, rounded to the millimetre).
        pub distance_m: Option<f64>,
    }

    #[derive(Serialize, ToSchema)]
    pub struct FacilityFeature {
        #[serde(rename = "type")]
        pub kind: FeatureType,
        /// The facility id.
        pub id: String,
        pub geometry: PointGeometry,
        pub properties: FacilityProperties,
    }

    #[derive(Serialize, ToSchema)]
    pub struct FacilityCollection {
        #[serde(rename = "type")]
        pub kind: FeatureCollectionType,
        pub features: Vec<FacilityFeature>,
        #[serde(flatten)]
        pub counts: Counts,
    }

    /// What an import did (or, on a dry run, would do).
    #[derive(Serialize, ToSchema)]
    pub struct ImportReportDoc {
        pub layer: String,
        /// `geojson` or `csv`.
        pub format: String,
        /// As detected: `UTF-8`, `UTF-8 (BOM)`, `UTF-16LE`, `GB18030`…
        pub encoding: String,
        pub crs: String,
        pub dry_run: bool,
        pub rows: u64,
        pub created: u64,
        pub updated: u64,
        pub unchanged: u64,
        /// Whether the writes were made.
        pub committed: bool,
        /// Ids of the records created or updated.
        pub ids: Vec<String>,
        /// Per updating row: `{row, id, fields}`, the fields that change.
        #[schema(value_type = Vec<Object>)]
        pub changes: Vec<serde_json::Value>,
        /// Problems `{row, field, message}` (none when the import succeeded).
        #[schema(value_type = Vec<Object>)]
        pub errors: Vec<serde_json::Value>,
        /// Notes that did not stop the import `{row, field, message}`.
        #[schema(value_type = Vec<Object>)]
        pub warnings: Vec<serde_json::Value>,
    }

    /// Properties of a standard place name (标准地名); further attributes may follow.
    #[derive(Serialize, ToSchema)]
    pub struct PlaceProperties {
        pub id: String,
        #[schema(example = "乐土驿镇")]
        pub name: String,
        /// 专名 specific term.
        pub specific_term: String,
        /// 通名 generic term.
        pub generic_term: String,
        pub category: PlaceCategorySchema,
        pub category_label: Option<String>,
        pub division_code: Option<String>,
        pub division_name: Option<String>,
        /// 罗马字母拼写, e.g. `Letuyi Zhen`.
        pub romanization: String,
        /// `suggested` (from the rules) or `officer`.
        pub romanization_source: String,
        /// 含义与由来 origin of the name.
        pub origin: Option<String>,
        pub alternate_names: Vec<String>,
        pub historic_names: Vec<String>,
        pub minority_form: Option<crate::domain::MinorityForm>,
        pub status: PlaceStatusSchema,
        pub status_label: String,
        pub proposed_by: Option<String>,
        pub decided_by: Option<String>,
        /// 批准机关.
        pub approving_body: Option<String>,
        /// 批准文号.
        pub document_no: Option<String>,
        /// 批准日期 `YYYY-MM-DD`.
        pub decided_on: Option<String>,
        pub predecessor_id: Option<String>,
        pub successor_id: Option<String>,
        pub provenance: ProvenanceSchema,
        /// Search only: how the record matched `q`.
        #[serde(rename = "match")]
        pub matched: Option<String>,
        /// The record's version, also served as its `ETag`.
        pub version: i64,
        pub updated_at: String,
    }

    #[derive(Serialize, ToSchema)]
    pub struct PlaceFeature {
        #[serde(rename = "type")]
        pub kind: FeatureType,
        pub id: String,
        pub geometry: Option<Geometry>,
        pub properties: PlaceProperties,
        /// Writes only: the naming rules' warnings (errors refuse the write with 422).
        pub findings: Option<Vec<crate::naming::rules::Finding>>,
    }

    #[derive(Serialize, ToSchema)]
    pub struct PlaceCollection {
        #[serde(rename = "type")]
        pub kind: FeatureCollectionType,
        pub features: Vec<PlaceFeature>,
        #[serde(rename = "numberReturned")]
        pub number_returned: u64,
        /// Null when `q` is given (search stops at the page asked for).
        #[serde(rename = "numberMatched")]
        pub number_matched: Option<u64>,
    }

    /// `POST /places/check`: the rules' verdict on a name.
    #[derive(Serialize, ToSchema)]
    pub struct CheckAnswer {
        /// False when any finding is an error.
        pub ok: bool,
        #[schema(example = "Letuyi Zhen")]
        pub romanization: String,
        pub specific_term: String,
        pub generic_term: String,
        pub findings: Vec<crate::naming::rules::Finding>,
    }

    /// A coverage rule from the rules file (`data/coverage_rules.toml`).
    #[derive(Serialize, ToSchema)]
    pub struct CoverageRule {
        pub id: String,
        pub kind: FacilityKindSchema,
        /// `distance` (within `radius_m`), `presence` (in the same `scope`) or `capacity`
        /// (`beds_per_1000` residents, `per` population or elderly).
        #[serde(rename = "type")]
        #[schema(pattern = "^(distance|presence|capacity)$")]
        pub rule_type: String,
        /// Distance rules: geodesic metres.
        pub radius_m: Option<f64>,
        /// Presence rules: `village` or `township`.
        pub scope: Option<String>,
        /// Capacity rules: `population` or `elderly`.
        pub per: Option<String>,
        pub beds_per_1000: Option<f64>,
        /// Share of population (0..=1) a township must reach.
        pub target: f64,
        /// Only settlements of these kinds are demand points (all when absent).
        pub settlements: Option<Vec<String>>,
        /// Only facilities whose attributes have these values.
        #[serde(rename = "where")]
        pub where_: Option<Map<String, Value>>,
        pub label: String,
        /// The plan sentence the rule comes from.
        pub plan: String,
    }

    #[derive(Serialize, ToSchema)]
    pub struct CoverageRules {
        pub rules: Vec<CoverageRule>,
    }

    #[derive(Serialize, ToSchema)]
    pub struct TownshipCoverage {
        pub code: String,
        pub name: String,
        pub is_xpcc: bool,
        pub settlements: u64,
        pub settlements_covered: u64,
        pub population: u64,
        pub population_covered: u64,
        /// `population_covered / population`, or the settlement ratio where population is unknown.
        pub coverage_ratio: f64,
        pub target: f64,
        pub meets_target: bool,
        /// Facilities of the rule's set located in the township.
        pub facilities: u64,
        /// Capacity rules only.
        pub beds: Option<u64>,
        pub beds_required: Option<f64>,
        /// Codes of the uncovered settlements.
        pub uncovered: Vec<String>,
    }

    #[derive(Serialize, ToSchema)]
    pub struct CountyCoverage {
        pub settlements: u64,
        pub settlements_covered: u64,
        pub population: u64,
        pub population_covered: u64,
        pub coverage_ratio: f64,
        pub townships: u64,
        pub townships_meeting_target: u64,
    }

    /// Coverage per township and for the county. A settlement is covered when the
    /// geodesic distance from its point to the nearest counted facility, in any township,
    /// is ≤ `radius_m` (distance rules).
    #[derive(Serialize, ToSchema)]
    pub struct CoverageAnswer {
        pub kind: FacilityKindSchema,
        /// The rule used (the kind's default unless the request named one).
        pub rule: CoverageRule,
        /// What `population` counts: `residents` or `residents_60plus`.
        pub population_unit: String,
        pub include_xpcc: bool,
        pub statuses: Vec<FacilityStatusSchema>,
        pub townships: Vec<TownshipCoverage>,
        pub county: CountyCoverage,
        /// Whether any record behind this answer is sample data.
        pub synthetic_data: bool,
    }

    /// Properties of an uncovered settlement: the settlement's own, and what the gap is.
    #[derive(Serialize, ToSchema)]
    pub struct GapProperties {
        #[serde(flatten)]
        pub settlement: SettlementProperties,
        pub nearest_facility_id: Option<String>,
        /// Geodesic metres to the nearest counted facility (GRS80, millimetres).
        pub nearest_distance_m: Option<f64>,
    }

    #[derive(Serialize, ToSchema)]
    pub struct GapFeature {
        #[serde(rename = "type")]
        pub kind: FeatureType,
        pub id: String,
        pub geometry: PointGeometry,
        pub properties: GapProperties,
    }

    #[derive(Serialize, ToSchema)]
    pub struct GapCollection {
        #[serde(rename = "type")]
        pub kind: FeatureCollectionType,
        pub features: Vec<GapFeature>,
        #[serde(rename = "numberReturned")]
        pub number_returned: u64,
        /// The facility kind of the coverage question.
        #[serde(rename = "kind")]
        pub facility_kind: FacilityKindSchema,
        pub rule: CoverageRule,
    }

    #[derive(Serialize, ToSchema)]
    pub struct SitingPick {
        pub rank: u64,
        pub lon: f64,
        pub lat: f64,
        pub township_code: Option<String>,
        pub township_name: Option<String>,
        /// `settlement:CODE` or `grid`.
        pub candidate: String,
        pub gain_population: u64,
        pub gain_settlements: u64,
        /// Codes of the settlements this site would cover.
        pub covers: Vec<String>,
        /// County coverage ratio once this and every earlier pick are built.
        pub county_coverage_ratio_after: f64,
    }

    /// Greedy maximal-covering siting: where new facilities would close most gaps.
    #[derive(Serialize, ToSchema)]
    pub struct SitingAnswer {
        pub kind: FacilityKindSchema,
        pub rule_id: String,
        pub radius_m: Option<f64>,
        pub county_coverage_ratio_before: f64,
        pub county_coverage_ratio_after: f64,
        pub candidates_considered: u64,
        pub picks: Vec<SitingPick>,
        pub synthetic_data: bool,
    }

    #[derive(Serialize, ToSchema)]
    pub struct TownshipChange {
        pub code: String,
        pub name: String,
        pub coverage_ratio_before: f64,
        pub coverage_ratio_after: f64,
        pub meets_target_before: bool,
        pub meets_target_after: bool,
    }

    /// What the what-if changed; nothing is written.
    #[derive(Serialize, ToSchema)]
    pub struct WhatIfChanges {
        /// The added sites that count under the rule, with the township each falls in.
        pub added: Vec<Map<String, Value>>,
        /// Ids of the facilities left out.
        pub removed: Vec<String>,
        pub county_before: CountyCoverage,
        pub townships_changed: Vec<TownshipChange>,
        /// Always false.
        pub written: bool,
    }

    /// Coverage as if the facilities were added or removed.
    #[derive(Serialize, ToSchema)]
    pub struct WhatIfAnswer {
        #[serde(flatten)]
        pub coverage: CoverageAnswer,
        pub what_if: WhatIfChanges,
    }

    /// `GET /locate`: the divisions containing the point, from largest to smallest.
    #[derive(Serialize, ToSchema)]
    pub struct Located {
        pub lon: f64,
        pub lat: f64,
        /// Empty outside every division.
        pub divisions: Vec<LocatedDivision>,
    }

    #[derive(Serialize, ToSchema)]
    pub struct LocatedDivision {
        pub code: String,
        pub name: String,
        pub level: DivisionLevelSchema,
        pub provenance: ProvenanceSchema,
    }

    /// One stored version of a record.
    #[derive(Serialize, ToSchema)]
    pub struct HistoryRow {
        pub entity: String,
        pub entity_id: String,
        pub version: i64,
        /// The record as it was at this version.
        pub data: Map<String, Value>,
        pub changed_at: String,
        /// `user:NAME`, `token:NAME` or `system:…`.
        pub actor: String,
        /// e.g. `create`, `update`, `move`, `close`, `approve`, `rename`, `retire`.
        pub action: String,
    }

    /// Every version of a record, oldest first.
    #[derive(Serialize, ToSchema)]
    pub struct History {
        pub id: String,
        pub versions: Vec<HistoryRow>,
    }

    /// An account, without its secrets.
    #[derive(Serialize, ToSchema)]
    pub struct User {
        pub id: i64,
        pub username: String,
        pub display_name: String,
        /// `viewer`, `editor` (writes facilities and proposals), `approver` (approves,
        /// renames, retires names) or `admin`.
        #[schema(pattern = "^(viewer|editor|approver|admin)$")]
        pub role: String,
        pub active: bool,
    }

    /// Who is calling; `user` is null when nobody is logged in.
    #[derive(Serialize, ToSchema)]
    pub struct SessionInfo {
        pub user: Option<User>,
        /// Session only: the token to repeat in `X-CSRF-Token`.
        pub csrf_token: Option<String>,
        /// `session` or `token`.
        pub via: Option<String>,
    }

    /// A new session.
    #[derive(Serialize, ToSchema)]
    pub struct LoginAnswer {
        pub user: User,
        /// Repeat it in `X-CSRF-Token` on every write made with the session cookie.
        pub csrf_token: String,
        /// RFC 3339.
        pub expires_at: String,
    }

    /// A new API token: shown once, stored only as a hash.
    #[derive(Serialize, ToSchema)]
    pub struct TokenAnswer {
        /// Its id in `GET /tokens`, for `DELETE /tokens/{id}`.
        #[schema(pattern = "^[0-9a-f]{12}$")]
        pub id: String,
        pub name: String,
        /// Send it as `Authorization: Bearer TOKEN`.
        pub token: String,
        pub user: User,
    }

    #[derive(Serialize, ToSchema)]
    pub struct Category {
        pub slug: PlaceCategorySchema,
        pub label: String,
        /// Where the name must be unique: `province`, `county` or `township`.
        pub scope: String,
        /// Generic terms (通名) that fit, longest first.
        pub generic_terms: Vec<String>,
    }

    #[derive(Serialize, ToSchema)]
    pub struct Categories {
        pub categories: Vec<Category>,
    }

    /// One approved naming or renaming, with the fields an announcement (公告) carries.
    #[derive(Serialize, ToSchema)]
    pub struct Announcement {
        pub id: String,
        /// `naming` or `renaming`.
        pub kind: String,
        pub standard_name: String,
        pub romanization: String,
        pub division: Option<String>,
        pub division_code: Option<String>,
        /// `lon,lat` with 6 decimals.
        pub location: Option<String>,
        pub approving_body: Option<String>,
        pub document_no: Option<String>,
        pub date: Option<String>,
        pub previous_name: Option<String>,
        pub provenance: ProvenanceSchema,
    }

    #[derive(Serialize, ToSchema)]
    pub struct Announcements {
        pub since: String,
        pub announcements: Vec<Announcement>,
    }

    #[derive(Serialize, ToSchema)]
    pub struct Health {
        #[schema(example = "ok")]
        pub status: String,
    }
}
