//! OGC API – Features at `/ogc`: Part 1 Core + GeoJSON, and Part 2 (CRS by reference)
//! for CRS84, EPSG:4490, EPSG:4326 and EPSG:4538.
//!
//! Collections are read from the same snapshot and name registry as REST v1, so
//! both always agree. Coordinates follow each CRS's authority axis order (OGC API
//! Part 2): CRS84 is lon/lat, EPSG:4490/4326 are lat/lon, EPSG:4538 is
//! northing/easting; `bbox` with `bbox-crs` is read the same way.

use super::geojson_out::{page, GEO_JSON};
use super::ogc_collections::{queryables, Bound, Collection, Record};
use super::params::Params;
use super::problem::Problem;
use super::AppState;
use crate::domain::{DivisionLevel, Place};
use crate::naming::registry::PlaceRegistry;
use crate::spatial::crs::{transform_geojson, Crs, Transformer};
use crate::spatial::filter::{Filter, FilterError, Lang, Shape, Type};
use crate::spatial::{DivisionEntry, FacilityEntry, SettlementEntry, Snapshot};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use geo::{BoundingRect, Intersects};
use geo_types::{Coord, LineString, Point, Polygon, Rect};
use serde_json::{json, Value};
use std::borrow::Cow;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const LIMIT_DEFAULT: usize = 10;
const LIMIT_MAX: usize = 10_000;
const JSON: &str = "application/json";
const SCHEMA_JSON: &str = "application/schema+json";
const QUERYABLES_REL: &str = "http://www.opengis.net/def/rel/ogc/1.0/queryables";

/// The OGC routes (documented in the OpenAPI document like every other).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(landing))
        .routes(routes!(conformance))
        .routes(routes!(collections))
        .routes(routes!(collection))
        .routes(routes!(collection_queryables))
        .routes(routes!(items, super::ogc_write::create_item))
        .routes(routes!(
            item,
            super::ogc_write::replace_item,
            super::ogc_write::update_item,
            super::ogc_write::delete_item
        ))
}

const JSON_400: &str = "A parameter is unknown or malformed; `errors` names each";

fn unknown_collection(id: &str) -> Problem {
    Problem::not_found(format!(
        "没有这个要素集 (no such collection): {id}；可用 (available): divisions, facilities, settlements, places"
    ))
}

/// `scheme://host` of this request, for absolute links (honours `X-Forwarded-*`).
pub(crate) fn base_url(headers: &HeaderMap) -> String {
    let pick = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let host = pick("x-forwarded-host")
        .or_else(|| pick("host"))
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]_".contains(c)))
        .unwrap_or("localhost");
    let proto = match pick("x-forwarded-proto") {
        Some("https") => "https",
        _ => "http",
    };
    format!("{proto}://{host}")
}

fn json_response(body: Value) -> Response {
    let mut res = axum::Json(body).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
    res
}

fn link(rel: &str, kind: &str, href: String, title: &str) -> Value {
    json!({"rel": rel, "type": kind, "title": title, "href": href})
}

/// `f` may ask for JSON/GeoJSON, the only encodings served.
fn check_format(p: &mut Params) {
    if let Some(f) = p.raw("f") {
        if !matches!(f.as_str(), "json" | "geojson" | "application/json" | "application/geo+json") {
            p.fail("f", format!("不支持的格式 '{f}' (unsupported format; json or geojson)"));
        }
    }
}

#[utoipa::path(get, path = "/ogc", tag = "ogc", operation_id = "ogc_landing",
    summary = "OGC API Features 首页 Landing page",
    params(("f" = Option<String>, Query, description = "`json` (the only encoding)")),
    responses(
        (status = 200, description = "Title, description and links to the API definition, conformance and collections", body = Object),
        (status = 400, description = JSON_400, body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn landing(headers: HeaderMap, RawQuery(q): RawQuery) -> Result<Response, Problem> {
    let mut p = Params::parse(q.as_deref());
    check_format(&mut p);
    p.reject_unknown(&["f"]);
    p.finish()?;
    let base = base_url(&headers);
    Ok(json_response(json!({
        "title": "diming 地名 — 玛纳斯县民政地理登记 OGC API Features",
        "description": "玛纳斯县（652324）行政区划、居民点、民政服务设施与标准地名。坐标为 CGCS2000；距离为 GRS80 椭球面测地线米。\
                        Manas County registry: divisions, settlements, facilities and standard place names (CGCS2000).",
        "links": [
            link("self", JSON, format!("{base}/ogc"), "本页 (this document)"),
            link("service-desc", "application/vnd.oai.openapi+json;version=3.1", format!("{base}/api/v1/openapi.json"), "OpenAPI 文档 (the API definition)"),
            link("conformance", JSON, format!("{base}/ogc/conformance"), "符合的标准 (conformance classes)"),
            link("data", JSON, format!("{base}/ogc/collections"), "要素集 (collections)"),
        ]
    })))
}

#[utoipa::path(get, path = "/ogc/conformance", tag = "ogc", operation_id = "ogc_conformance",
    summary = "符合的标准 Conformance classes",
    description = "OGC API Features Part 1 Core and GeoJSON, Part 2 CRS by reference, Part 4 create, replace, update \
        and delete (facilities and places), Part 3 queryables and CQL2 filters \
        (cql2-text and cql2-json: basic CQL2, advanced comparison, case-insensitive comparison, property-property, \
        spatial functions).",
    params(("f" = Option<String>, Query, description = "`json`")),
    responses(
        (status = 200, description = "`conformsTo`", body = Object),
        (status = 400, description = JSON_400, body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn conformance(RawQuery(q): RawQuery) -> Result<Response, Problem> {
    let mut p = Params::parse(q.as_deref());
    check_format(&mut p);
    p.reject_unknown(&["f"]);
    p.finish()?;
    Ok(json_response(json!({"conformsTo": [
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
        "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
        "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
        "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
        "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
        "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
        "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
        "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
        "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
        "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
        "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
        "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
        "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
        "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
    ]})))
}

#[utoipa::path(get, path = "/ogc/collections", tag = "ogc", operation_id = "ogc_collections",
    summary = "要素集 The four collections",
    description = "`divisions` (county and township MultiPolygons), `facilities` and `settlements` (Points), `places` \
        (mixed geometry types), each with its extent, the CRSs offered and the storage CRS (EPSG:4490).",
    params(("f" = Option<String>, Query, description = "`json`")),
    responses(
        (status = 200, description = "The collections", body = Object),
        (status = 400, description = JSON_400, body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn collections(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Problem> {
    let mut p = Params::parse(q.as_deref());
    check_format(&mut p);
    p.reject_unknown(&["f"]);
    p.finish()?;
    let base = base_url(&headers);
    let snap = state.snapshot_guard();
    let places = state.places();
    let list: Vec<Value> = Collection::ALL.iter().map(|&c| collection_json(c, &base, &snap, &places)).collect();
    Ok(json_response(json!({
        "links": [link("self", JSON, format!("{base}/ogc/collections"), "要素集 (collections)")],
        "crs": Crs::OGC.iter().map(|c| c.uri()).collect::<Vec<_>>(),
        "collections": list,
    })))
}

#[utoipa::path(get, path = "/ogc/collections/{collection}", tag = "ogc", operation_id = "ogc_collection",
    summary = "一个要素集 One collection",
    params(
        ("collection" = String, Path, description = "`divisions`, `facilities`, `settlements` or `places`", example = "facilities"),
        ("f" = Option<String>, Query, description = "`json`"),
    ),
    responses(
        (status = 200, description = "The collection's description", body = Object),
        (status = 400, description = JSON_400, body = Problem, content_type = "application/problem+json"),
        super::responses::CollectionNotFound,
    ),
)]
async fn collection(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, Problem> {
    let c = Collection::parse(&id).ok_or_else(|| unknown_collection(&id))?;
    let mut p = Params::parse(q.as_deref());
    check_format(&mut p);
    p.reject_unknown(&["f"]);
    p.finish()?;
    let snap = state.snapshot_guard();
    let places = state.places();
    Ok(json_response(collection_json(c, &base_url(&headers), &snap, &places)))
}

fn collection_json(c: Collection, base: &str, snap: &Snapshot, places: &PlaceRegistry) -> Value {
    let href = format!("{base}/ogc/collections/{}", c.id());
    // Divisions, facilities and settlements lie inside the county outlines held:
    // their union bounds them without reading every feature; the name registry
    // keeps the places' extent.
    let bbox = match c {
        Collection::Places => places.extent(),
        _ => snap
            .counties()
            .iter()
            .filter_map(|county| county.bbox)
            .reduce(|[a0, a1, a2, a3], [b0, b1, b2, b3]| [a0.min(b0), a1.min(b1), a2.max(b2), a3.max(b3)]),
    }
    .map(|b| b.to_vec());
    json!({
        "id": c.id(),
        "title": c.title(),
        "description": c.description(),
        "itemType": "feature",
        "geometryType": c.geometry_type(),
        "extent": {"spatial": {"bbox": [bbox.unwrap_or_else(|| vec![-180.0, -90.0, 180.0, 90.0])], "crs": Crs::Crs84.uri()}},
        "crs": Crs::OGC.iter().map(|c| c.uri()).collect::<Vec<_>>(),
        "storageCrs": Crs::Epsg4490.uri(),
        "queryables": queryables(c).iter().map(|q| q.name).collect::<Vec<_>>(),
        "links": [
            link("self", JSON, href.clone(), c.title()),
            link("items", GEO_JSON, format!("{href}/items"), "要素 (the features)"),
            link(QUERYABLES_REL, SCHEMA_JSON, format!("{href}/queryables"), "可查询属性 (queryables)"),
        ],
    })
}

/// Whether a feature's geometry meets the `bbox` area.
fn meets(shape: &Shape, area: &Polygon<f64>, area_rect: &Rect<f64>) -> bool {
    match shape {
        Shape::Point(x, y) => area.intersects(&Point::new(*x, *y)),
        Shape::Geometry(g) => g.bounding_rect().is_some_and(|r| r.intersects(area_rect)) && area.intersects(*g),
        Shape::Empty => false,
    }
}

/// How a feature is rendered: pre-rendered by the snapshot, or a place built on demand.
enum Source<'a> {
    Json(&'a str),
    Facility(&'a FacilityEntry),
    Place(&'a Place),
}

struct Candidate<'a> {
    source: Source<'a>,
    record: Record<'a>,
    geom: Shape<'a>,
    /// The division code that places the feature in a county (`county=`, `region=`).
    area_code: Option<&'a str>,
}

fn division_candidate(d: &DivisionEntry) -> Candidate<'_> {
    Candidate {
        source: Source::Json(&d.feature_json),
        record: Record::Division(d),
        geom: d.division.geometry.as_ref().map_or(Shape::Empty, Shape::Geometry),
        area_code: Some(d.division.code.as_str()),
    }
}

fn facility_candidate(f: &FacilityEntry) -> Candidate<'_> {
    Candidate {
        source: Source::Facility(f),
        record: Record::Facility(f),
        geom: Shape::Point(f.facility.location.lon(), f.facility.location.lat()),
        area_code: Some(f.facility.township_code.as_str()),
    }
}

fn settlement_candidate(s: &SettlementEntry) -> Candidate<'_> {
    Candidate {
        source: Source::Json(&s.feature_json),
        record: Record::Settlement(s),
        geom: Shape::Point(s.settlement.location.lon(), s.settlement.location.lat()),
        area_code: Some(s.settlement.code.as_str()),
    }
}

fn place_candidate(p: &Place) -> Candidate<'_> {
    Candidate {
        source: Source::Place(p),
        record: Record::Place(p),
        geom: p.geometry.as_ref().map_or(Shape::Empty, Shape::Geometry),
        area_code: p.division_code.as_ref().map(|c| c.as_str()),
    }
}

fn is_area(d: &DivisionEntry) -> bool {
    matches!(d.division.level, DivisionLevel::County | DivisionLevel::Township)
}

/// The features of collection `c` in id order, as candidates for the filters: for
/// facilities within `rect` (CRS84) by the spatial index, and from the `skip`th
/// on by position (give `skip` only when nothing else filters).
fn candidates<'a>(
    c: Collection,
    snap: &'a Snapshot,
    places: &'a [Place],
    rect: Option<[f64; 4]>,
    skip: usize,
) -> Box<dyn Iterator<Item = Candidate<'a>> + 'a> {
    match (c, rect) {
        (Collection::Facilities, Some(r)) => Box::new(
            snap.facilities_in_bbox(r, None, crate::spatial::StatusSet::ANY)
                .into_iter()
                .skip(skip)
                .map(|i| facility_candidate(snap.facility_at(i))),
        ),
        (Collection::Facilities, None) => Box::new(snap.facilities_after(None, skip).map(facility_candidate)),
        (Collection::Divisions, _) => {
            Box::new(snap.divisions().iter().filter(|d| is_area(d)).skip(skip).map(division_candidate))
        }
        (Collection::Settlements, _) => Box::new(snap.settlements().iter().skip(skip).map(settlement_candidate)),
        (Collection::Places, _) => Box::new(places.iter().skip(skip).map(place_candidate)),
    }
}

/// The feature `id` of collection `c`, looked up, not searched for.
fn candidate<'a>(c: Collection, snap: &'a Snapshot, places: &'a PlaceRegistry, id: &str) -> Option<Candidate<'a>> {
    match c {
        Collection::Divisions => snap.division(id).filter(|d| is_area(d)).map(division_candidate),
        Collection::Facilities => snap.facility(id).map(facility_candidate),
        Collection::Settlements => snap.settlement(id).map(settlement_candidate),
        Collection::Places => places.get(id).map(place_candidate),
    }
}

impl Candidate<'_> {
    fn render(&self, snap: &Snapshot) -> Cow<'_, str> {
        match &self.source {
            Source::Json(s) => Cow::Borrowed(s),
            Source::Facility(f) => Cow::Owned(f.feature_json()),
            Source::Place(p) => {
                let division = p.division_code.as_ref().and_then(|c| snap.division(c.as_str()));
                let name = division.map(|d| d.division.name.as_str());
                Cow::Owned(crate::naming::registry::place_feature(p, name, None).to_string())
            }
        }
    }
}

/// Render a feature in `crs` (authority axis order), adding `extra` top-level members.
fn feature_in(json: &str, crs: Crs, extra: Option<(&str, Value)>) -> Result<String, Problem> {
    if crs == Crs::Crs84 && extra.is_none() {
        return Ok(json.to_string());
    }
    let mut v: Value = serde_json::from_str(json).map_err(|e| Problem::internal(&e))?;
    if crs != Crs::Crs84 {
        Transformer::with(Crs::Crs84, crs, |t| transform_geojson(&mut v, t, crs.north_first()))
            .and_then(|r| r)
            .map_err(|e| Problem::internal(&e))?;
    }
    if let (Some((k, x)), Value::Object(map)) = (extra, &mut v) {
        map.insert(k.to_string(), x);
    }
    Ok(v.to_string())
}

fn with_crs(mut res: Response, crs: Crs) -> Response {
    if let Ok(v) = HeaderValue::from_str(&format!("<{}>", crs.uri())) {
        res.headers_mut().insert("content-crs", v);
    }
    res
}

/// `bbox` read in `bbox-crs` (authority axis order) as an area in CRS84.
fn bbox_area(p: &mut Params, bbox_crs: Crs) -> Option<Polygon<f64>> {
    let raw = p.raw("bbox")?;
    let nums: Vec<f64> = raw.split(',').filter_map(|s| s.trim().parse::<f64>().ok()).collect();
    let nums = match (nums.as_slice(), raw.split(',').count()) {
        (&[a1, a2, b1, b2], 4) => [a1, a2, b1, b2],
        (&[a1, a2, _, b1, b2, _], 6) => [a1, a2, b1, b2],
        _ => {
            p.fail("bbox", "须为四个（或六个）数 (four or six numbers: lower-left and upper-right corners)");
            return None;
        }
    };
    // To x (lon/easting), y (lat/northing).
    let [a1, a2, b1, b2] = nums;
    let (min, max) = if bbox_crs.north_first() { ((a2, a1), (b2, b1)) } else { ((a1, a2), (b1, b2)) };
    let finite = nums.iter().all(|x| x.is_finite());
    let ordered = min.0 <= max.0 && min.1 <= max.1;
    let in_range = bbox_crs.is_projected()
        || ((-180.0..=180.0).contains(&min.0)
            && (-180.0..=180.0).contains(&max.0)
            && (-90.0..=90.0).contains(&min.1)
            && (-90.0..=90.0).contains(&max.1));
    if !finite {
        p.fail("bbox", "须为有限的数 (finite numbers)");
        return None;
    }
    if !(ordered && in_range) {
        // Four numbers, as the schema says; which corner is which, and the range, depend on `bbox-crs`: 422.
        let order = if bbox_crs.north_first() {
            "minLat/minN,minLon/minE,maxLat/maxN,maxLon/maxE"
        } else {
            "minLon,minLat,maxLon,maxLat"
        };
        p.refuse(
            "bbox",
            format!(
                "须为 {order}，最小值不大于最大值 (corners in the axis order of {}, lower-left first)",
                bbox_crs.code()
            ),
        );
        return None;
    }
    if !bbox_crs.is_projected() {
        return Some(Rect::new(Coord { x: min.0, y: min.1 }, Coord { x: max.0, y: max.1 }).to_polygon());
    }
    // A projected box is curved in lon/lat: densify its edges, then transform.
    const STEPS: usize = 16;
    let mut ring = Vec::with_capacity(4 * STEPS + 1);
    let corners = [(min.0, min.1), (max.0, min.1), (max.0, max.1), (min.0, max.1), (min.0, min.1)];
    for (from, to) in corners.iter().zip(corners.iter().skip(1)) {
        for i in 0..STEPS {
            let t = i as f64 / STEPS as f64;
            ring.push((from.0 + (to.0 - from.0) * t, from.1 + (to.1 - from.1) * t));
        }
    }
    if let Some(&first) = ring.first() {
        ring.push(first); // closed: the first position again
    }
    match Transformer::with(bbox_crs, Crs::Crs84, |t| ring.iter().map(|&q| t.convert(q)).collect::<Result<Vec<_>, _>>())
    {
        Ok(Ok(pts)) => Some(Polygon::new(LineString::from(pts), vec![])),
        _ => {
            p.refuse("bbox", format!("无法将该范围转换到经纬度 (cannot transform this box from {})", bbox_crs.code()));
            None
        }
    }
}

/// The `filter` (with `filter-lang` and `filter-crs`) and the queryables given as
/// parameters, as one filter; each error names its parameter and, for a filter, where.
fn parse_filters(p: &mut Params, c: Collection) -> Option<Filter> {
    let lang = match p.raw("filter-lang") {
        None => Lang::Text,
        Some(l) => Lang::parse(&l).unwrap_or_else(|| {
            p.fail("filter-lang", format!("不支持的过滤语言 '{l}' (unsupported; cql2-text or cql2-json)"));
            Lang::Text
        }),
    };
    let filter_crs = p.crs("filter-crs", &Crs::OGC).unwrap_or(Crs::Crs84);
    let cql = p.raw("filter").and_then(|text| match Filter::parse(&text, lang, queryables(c), filter_crs) {
        Ok(f) => Some(f),
        Err(e) => {
            p.fail("filter", filter_message(&e));
            None
        }
    });
    let raw: Vec<(&'static str, String)> = queryables(c)
        .iter()
        .filter(|q| !matches!(q.ty, Type::Geometry(_)))
        .filter_map(|q| p.raw(q.name).map(|v| (q.name, v)))
        .collect();
    let pairs: Vec<(&str, &str)> = raw.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let equal = match Filter::equalities(queryables(c), &pairs) {
        Ok(f) => f,
        Err((name, e)) => {
            p.fail(&name, e.message);
            None
        }
    };
    Filter::both(cql, equal)
}

fn filter_message(e: &FilterError) -> String {
    e.to_string()
}

#[utoipa::path(get, path = "/ogc/collections/{collection}/queryables", tag = "ogc", operation_id = "ogc_queryables",
    summary = "可查询属性 Queryables of a collection",
    description = "A JSON Schema of every property a `filter` may name (OGC API Features Part 3): each scalar \
        property of the collection's features with its type and, where closed, its values; `geometry` for the \
        spatial functions.",
    params(
        ("collection" = String, Path, description = "`divisions`, `facilities`, `settlements` or `places`", example = "facilities"),
        ("f" = Option<String>, Query, description = "`json`"),
    ),
    responses(
        (status = 200, description = "JSON Schema of the queryables", body = Object, content_type = "application/schema+json"),
        (status = 400, description = JSON_400, body = Problem, content_type = "application/problem+json"),
        super::responses::CollectionNotFound,
    ),
)]
async fn collection_queryables(
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, Problem> {
    let c = Collection::parse(&id).ok_or_else(|| unknown_collection(&id))?;
    let mut p = Params::parse(q.as_deref());
    check_format(&mut p);
    p.reject_unknown(&["f"]);
    p.finish()?;
    let href = format!("{}/ogc/collections/{}/queryables", base_url(&headers), c.id());
    let properties: serde_json::Map<String, Value> =
        queryables(c).iter().map(|q| (q.name.to_string(), q.schema())).collect();
    let body = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": href,
        "type": "object",
        "title": c.title(),
        "properties": properties,
        "additionalProperties": false,
    });
    let mut res = axum::Json(body).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(SCHEMA_JSON));
    Ok(res)
}

#[utoipa::path(get, path = "/ogc/collections/{collection}/items", tag = "ogc", operation_id = "ogc_items",
    summary = "要素 Features of a collection",
    description = "A page of features with `numberMatched`, `numberReturned`, `timeStamp` and `self`/`next`/`prev` \
        links. `filter` takes a CQL2 expression (OGC API Features Part 3; `filter-lang` `cql2-text` or \
        `cql2-json`) over the collection's queryables (`/queryables`): comparisons, `LIKE`, `IN`, `BETWEEN`, \
        `IS NULL`, `CASEI`, `AND`/`OR`/`NOT`, the spatial functions `S_INTERSECTS`, `S_WITHIN`, `S_CONTAINS`, \
        `S_DISJOINT`, `S_EQUALS`, `S_TOUCHES`, `S_OVERLAPS`, `S_CROSSES` (in lon/lat, literal geometries in \
        `filter-crs`) and `S_DWITHIN(geometry, G, metres)` in geodesic metres on GRS80. A malformed filter is a 400 \
        naming the line and column. Every scalar queryable is also a `name=value` parameter (equality). On every \
        collection `county` (6 digits) and `region` (2, 4 or 6 digits) give the features of a county, prefecture or \
        province. Coordinates \
        in the authority axis order of `crs` (lat/lon for EPSG:4490 and 4326, northing/easting for EPSG:4538); \
        `Content-Crs` names the CRS.",
    params(
        ("collection" = String, Path, description = "`divisions`, `facilities`, `settlements` or `places`", example = "facilities"),
        super::openapi::OgcItemsQuery,
    ),
    responses(
        (status = 200, description = "FeatureCollection", body = Object, content_type = "application/geo+json",
            headers(("Content-Crs" = String, description = "The CRS of the coordinates, `<URI>`"))),
        (status = 400, description = JSON_400, body = Problem, content_type = "application/problem+json"),
        super::responses::CollectionNotFound,
    ),
)]
async fn items(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, Problem> {
    let c = Collection::parse(&id).ok_or_else(|| unknown_collection(&id))?;
    let mut p = Params::parse(q.as_deref());
    check_format(&mut p);
    // Above the maximum, the maximum is used (OGC API Features /req/core/fc-limit-response-1).
    let limit = match p.raw("limit") {
        None => LIMIT_DEFAULT,
        // int64 in the document: up to i64::MAX, then the maximum is used.
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) if n >= 1 => usize::try_from(n).unwrap_or(LIMIT_MAX).min(LIMIT_MAX),
            _ => {
                p.fail(
                    "limit",
                    format!("'{v}' 须为不小于 1 的整数 (an integer ≥ 1; at most {LIMIT_MAX} are returned)"),
                );
                LIMIT_DEFAULT
            }
        },
    };
    let offset = p.integer("offset", 0, 0, usize::MAX);
    let crs = p.crs("crs", &Crs::OGC).unwrap_or(Crs::Crs84);
    let bbox_crs = p.crs("bbox-crs", &Crs::OGC).unwrap_or(Crs::Crs84);
    let area = bbox_area(&mut p, bbox_crs);
    // No feature here has a time; `datetime` is accepted and selects them all.
    let _ = p.raw("datetime");
    let filter = parse_filters(&mut p, c);
    let county = p.county();
    let region = p.region();
    let mut known = vec![
        "f",
        "limit",
        "offset",
        "crs",
        "bbox",
        "bbox-crs",
        "datetime",
        "county",
        "region",
        "filter",
        "filter-lang",
        "filter-crs",
    ];
    known.extend(queryables(c).iter().filter(|q| !matches!(q.ty, Type::Geometry(_))).map(|q| q.name));
    p.reject_unknown(&known);
    p.finish()?;

    let snap = state.snapshot_guard();
    let places = state.places();
    let area_rect = area.as_ref().and_then(|a| a.bounding_rect());
    let keep = |cand: &Candidate| {
        [county, region].iter().flatten().all(|r| cand.area_code.is_some_and(|code| r.holds(code)))
            && match (&area, &area_rect) {
                (Some(a), Some(r)) => meets(&cand.geom, a, r),
                _ => true,
            }
            && filter.as_ref().is_none_or(|f| f.matches(&Bound { record: cand.record, shape: cand.geom, snap: &snap }))
    };
    // The index narrows to the box's bounding rectangle and the filter's; `keep`
    // tests the box and the filter themselves.
    let rect =
        match (area_rect.map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]), filter.as_ref().and_then(Filter::rect))
        {
            (Some(a), Some(b)) => Some([a[0].max(b[0]), a[1].max(b[1]), a[2].min(b[2]), a[3].min(b[3])]),
            (a, b) => a.or(b),
        }
        // Boxes that do not meet: nothing matches, which `keep` finds without the index.
        .filter(|r| r.iter().all(|x| x.is_finite()) && r[0] <= r[2] && r[1] <= r[3]);
    let unfiltered = filter.is_none() && county.is_none() && region.is_none() && area.is_none();
    // Counted without rendering; then only the page is rendered. Facilities in a
    // box come from the index once, kept for the page; unfiltered facilities are
    // counted and positioned by the layer; the rest are counted, then walked to the page.
    let in_box: Option<Vec<Candidate>> = match (c, rect) {
        (Collection::Facilities, Some(_)) => {
            Some(candidates(c, &snap, places.places(), rect, 0).filter(|cand| keep(cand)).collect())
        }
        _ => None,
    };
    let matched = match (&in_box, c, unfiltered) {
        (Some(found), _, _) => found.len(),
        (None, Collection::Facilities, true) => snap.facility_count(),
        _ => candidates(c, &snap, places.places(), rect, 0).filter(|cand| keep(cand)).count(),
    };
    let base = base_url(&headers);
    let path = format!("{base}/ogc/collections/{}/items", c.id());
    let query = q.as_deref().unwrap_or("");
    let (range, next, prev) = page(&path, query, matched, limit, offset);
    let returned = range.len();
    let page_items: Box<dyn Iterator<Item = Candidate>> = match in_box {
        Some(found) => Box::new(found.into_iter().skip(range.start)),
        None if unfiltered => candidates(c, &snap, places.places(), rect, range.start),
        None => Box::new(candidates(c, &snap, places.places(), rect, 0).filter(|cand| keep(cand)).skip(range.start)),
    };
    let mut body = String::with_capacity(returned * 600 + 1000);
    body.push_str(r#"{"type":"FeatureCollection","features":["#);
    for (i, cand) in page_items.take(returned).enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&feature_in(&cand.render(&snap), crs, None)?);
    }
    body.push_str("],");
    let self_href = if query.is_empty() { path.clone() } else { format!("{path}?{query}") };
    let mut links = vec![
        link("self", GEO_JSON, self_href, "本页 (this page)"),
        link("collection", JSON, format!("{base}/ogc/collections/{}", c.id()), c.title()),
    ];
    if let Some(n) = next {
        links.push(link("next", GEO_JSON, n, "下一页 (next page)"));
    }
    if let Some(pv) = prev {
        links.push(link("prev", GEO_JSON, pv, "上一页 (previous page)"));
    }
    let tail = json!({
        "numberMatched": matched,
        "numberReturned": returned,
        "timeStamp": crate::store::now_rfc3339(),
        "links": links,
    })
    .to_string();
    body.push_str(tail.get(1..).unwrap_or_default());
    let mut res = (StatusCode::OK, body).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(GEO_JSON));
    Ok(with_crs(res, crs))
}

#[utoipa::path(get, path = "/ogc/collections/{collection}/items/{id}", tag = "ogc", operation_id = "ogc_item",
    summary = "一个要素 One feature",
    params(
        ("collection" = String, Path, description = "`divisions`, `facilities`, `settlements` or `places`", example = "facilities"),
        ("id" = String, Path, description = "The feature's id (code for divisions and settlements)", example = "f0001"),
        ("crs" = Option<String>, Query, description = "The CRS of the answer (default CRS84)"),
        ("f" = Option<String>, Query, description = "`json` or `geojson`"),
    ),
    responses(
        (status = 200, description = "Feature", body = Object, content_type = "application/geo+json",
            headers(("Content-Crs" = String, description = "The CRS of the coordinates, `<URI>`"))),
        (status = 400, description = JSON_400, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such collection or feature", body = Problem, content_type = "application/problem+json"),
    ),
)]
async fn item(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, fid)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, Problem> {
    let c = Collection::parse(&id).ok_or_else(|| unknown_collection(&id))?;
    let mut p = Params::parse(q.as_deref());
    check_format(&mut p);
    let crs = p.crs("crs", &Crs::OGC).unwrap_or(Crs::Crs84);
    p.reject_unknown(&["f", "crs"]);
    p.finish()?;
    let snap = state.snapshot_guard();
    let places = state.places();
    let found = candidate(c, &snap, &places, &fid).ok_or_else(|| {
        Problem::not_found(format!("要素集 {id} 中没有要素 {fid} (no such feature in this collection)"))
    })?;
    let base = base_url(&headers);
    let href = format!("{base}/ogc/collections/{}", c.id());
    let links = json!([
        link("self", GEO_JSON, format!("{href}/items/{fid}"), "本要素 (this feature)"),
        link("collection", JSON, href, c.title()),
    ]);
    let body = feature_in(&found.render(&snap), crs, Some(("links", links)))?;
    let mut res = (StatusCode::OK, body).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(GEO_JSON));
    // A feature that takes writes carries its version as its ETag, the value Part 4's
    // `If-Match` names (as the REST answers do); the others the registry's validator.
    let version = match found.source {
        Source::Facility(f) => Some(f.facility.version),
        Source::Place(p) => Some(p.version),
        Source::Json(_) => None,
    };
    if let Some(v) = version.and_then(|v| HeaderValue::from_str(&format!("\"{v}\"")).ok()) {
        res.headers_mut().insert(header::ETAG, v);
    }
    Ok(with_crs(res, crs))
}
