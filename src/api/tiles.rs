//! Vector tiles: `GET /tiles/{layer}/{z}/{x}/{y}.mvt` (Mapbox Vector Tile, Web
//! Mercator XYZ grid) of divisions, settlements and facilities from the
//! snapshot, and a TileJSON document per layer (`GET /tiles/{layer}.json`). The
//! answers carry the registry's validators (`ETag`, `304`) like every data answer.

use super::params::Params;
use super::problem::Problem;
use super::AppState;
use crate::coverage::{CountyRow, Coverage, TownshipCoverage};
use crate::domain::DivisionLevel;
use crate::spatial::tiles::{encode, Attr, LayerBuilder, TileId, MAX_ZOOM};
use crate::spatial::{Snapshot, StatusSet};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::HashMap;

const MVT: &str = "application/vnd.mapbox-vector-tile";

/// The tiled layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    Divisions,
    Settlements,
    Facilities,
    Coverage,
}

/// From this zoom the polygon layers hold townships as well as counties (below it
/// a tile would carry tens of thousands of townships no one could see).
const TOWNSHIP_ZOOM: u8 = 8;

impl Layer {
    const ALL: [Layer; 4] = [Layer::Divisions, Layer::Settlements, Layer::Facilities, Layer::Coverage];

    fn parse(s: &str) -> Option<Layer> {
        Layer::ALL.into_iter().find(|l| l.name() == s)
    }

    fn name(self) -> &'static str {
        match self {
            Layer::Divisions => "divisions",
            Layer::Settlements => "settlements",
            Layer::Facilities => "facilities",
            Layer::Coverage => "coverage",
        }
    }

    /// Below this zoom a tile would hold too much of the country to be drawn.
    fn min_zoom(self) -> u8 {
        match self {
            Layer::Divisions | Layer::Coverage => 3,
            Layer::Settlements | Layer::Facilities => 7,
        }
    }

    /// The query parameters the layer takes.
    fn params(self) -> &'static [&'static str] {
        match self {
            Layer::Divisions | Layer::Settlements => &[],
            Layer::Facilities => &["kind", "status"],
            Layer::Coverage => &["kind", "rule", "radius_m", "status", "include_xpcc"],
        }
    }

    fn fields(self) -> serde_json::Value {
        match self {
            Layer::Divisions => {
                json!({"code": "String", "name": "String", "level": "String", "provenance": "String", "geometry_provenance": "String"})
            }
            Layer::Settlements => {
                json!({"code": "String", "name": "String", "township_code": "String", "population": "Number", "provenance": "String", "location_provenance": "String", "population_provenance": "String"})
            }
            Layer::Facilities => {
                json!({"id": "String", "name": "String", "kind": "String", "status": "String", "township_code": "String", "capacity_beds": "Number", "provenance": "String"})
            }
            Layer::Coverage => json!({
                "code": "String", "name": "String", "level": "String", "kind": "String",
                "coverage_ratio": "Number", "target": "Number", "meets_target": "Boolean",
                "population": "Number", "population_covered": "Number",
                "settlements": "Number", "settlements_covered": "Number", "facilities": "Number",
                "townships": "Number", "townships_meeting_target": "Number",
                "provenance": "String", "geometry_provenance": "String", "synthetic_data": "Boolean"
            }),
        }
    }
}

/// The path segment is not echoed: it is whatever a client sent.
fn unknown_layer() -> Problem {
    let names: Vec<&str> = Layer::ALL.iter().map(|l| l.name()).collect();
    Problem::not_found(format!("没有这个图层 (no such tile layer)；可用 (available): {}", names.join(", ")))
}

fn count(n: impl TryInto<i64>) -> Option<Attr<'static>> {
    n.try_into().ok().map(Attr::Int)
}

/// What a layer's query asks: the facilities' filter, or the coverage question.
struct LayerQuery {
    kind: Option<crate::domain::FacilityKind>,
    statuses: StatusSet,
    ask: Option<crate::registry::coverage::Ask>,
}

/// The query of a tile or TileJSON request: what the layer takes read into its
/// types, anything else refused.
fn read_query(l: Layer, q: Option<&str>) -> Result<LayerQuery, Problem> {
    let mut p = Params::parse(q);
    let mut out = LayerQuery { kind: None, statuses: StatusSet::ANY, ask: None };
    let mut asked = None;
    match l {
        Layer::Divisions | Layer::Settlements => {}
        Layer::Facilities => {
            out.kind = p.kind();
            out.statuses = p.statuses(StatusSet::ANY);
        }
        Layer::Coverage => asked = Some(super::coverage_api::ask(&mut p)),
    }
    let taken = l.params();
    for name in super::openapi::TILE_PARAMS {
        if !taken.contains(name) && p.raw(name).is_some() {
            p.refuse(name, format!("{} 图层不接受此参数 (the {} layer does not take it)", l.name(), l.name()));
        }
    }
    p.reject_unknown(super::openapi::TILE_PARAMS);
    p.finish()?;
    out.ask = asked.transpose()?;
    Ok(out)
}

/// `/tiles/{layer}/{z}/{x}/{y}.mvt`
#[utoipa::path(get, path = "/tiles/{layer}/{z}/{x}/{y}", tag = "ogc", operation_id = "vector_tile",
    summary = "矢量瓦片 A vector tile",
    description = "A Mapbox Vector Tile (Web Mercator XYZ grid, extent 4096, 64-unit buffer) of one layer: \
        `divisions` (county polygons from zoom 3, and township polygons too from zoom 8; cut to the tile and \
        simplified to a tile pixel), `settlements` and `facilities` (points; from zoom 7), and `coverage` \
        (the choropleth of a coverage question over the whole registry: county polygons with their \
        population-weighted `coverage_ratio` below zoom 8, township polygons with theirs from zoom 8; \
        `kind` or `rule` required, as for `GET /api/v1/coverage`). Attributes: the layer's scalar \
        properties (see its TileJSON); MVT has no null, so an absent value leaves its key out. \
        `kind` and `status` filter `facilities` (default: every status); a parameter the layer does not take \
        is refused (422). Empty tiles are `204`. The `y` segment ends in `.mvt`.",
    params(
        ("layer" = String, Path, description = "`divisions`, `settlements`, `facilities` or `coverage`", example = "coverage"),
        ("z" = String, Path, description = "Zoom, 0..=22", pattern = r"^\d{1,2}$", example = "8"),
        ("x" = String, Path, description = "Column, 0..2^z", pattern = r"^\d{1,7}$", example = "189"),
        ("y" = String, Path, description = "Row, 0..2^z, then `.mvt`", pattern = r"^\d{1,7}\.mvt$", example = "92.mvt"),
        super::openapi::TileQuery,
    ),
    responses(
        (status = 200, description = "The tile: a binary protobuf (vector_tile.proto 2.1)", content_type = "application/vnd.mapbox-vector-tile", body = String),
        (status = 204, description = "Nothing of the layer in this tile"),
        (status = 400, description = "The tile address is malformed (not whole numbers, no `.mvt`), or a parameter is malformed or not one of its values", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such layer", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The address is outside the grid (z > 22, x or y ≥ 2^z), or below the layer's minimum zoom; a parameter the layer does not take; a coverage tile without `kind` or `rule`, or with a rule for another kind", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn tile(
    State(state): State<AppState>,
    Path((layer, z, x, y)): Path<(String, String, String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, Problem> {
    let l = Layer::parse(&layer).ok_or_else(unknown_layer)?;
    let bad = || Problem::invalid_field("tile", "须为 z/x/y.mvt，均为整数 (z/x/y.mvt, whole numbers)");
    let z: u8 = z.parse().map_err(|_| bad())?;
    let x: u32 = x.parse().map_err(|_| bad())?;
    let y: u32 = y.strip_suffix(".mvt").and_then(|y| y.parse().ok()).ok_or_else(bad)?;
    let LayerQuery { kind, statuses, ask } = read_query(l, q.as_deref())?;
    // Well formed, but not a tile of the grid (or not of this layer): refused.
    let refuse = |field: &str, message: String| {
        Problem::unprocessable(vec![super::problem::FieldError { row: None, field: field.into(), message }])
    };
    let id = TileId::new(z, x, y).ok_or_else(|| {
        refuse("tile", format!("不在瓦片网格内 (outside the grid: z ≤ {MAX_ZOOM}, x and y below 2^z)"))
    })?;
    if z < l.min_zoom() {
        return Err(refuse(
            "z",
            format!("{} 图层自第 {} 级起提供 (the layer is tiled from zoom {})", l.name(), l.min_zoom(), l.min_zoom()),
        ));
    }
    let window = id.lonlat_bounds_buffered();
    let levels: &[DivisionLevel] =
        if z < TOWNSHIP_ZOOM { &[DivisionLevel::County] } else { &[DivisionLevel::County, DivisionLevel::Township] };
    let mut b = LayerBuilder::new(id, l.name());
    let body = match l {
        Layer::Coverage => {
            let question = match ask {
                Some(a) => state.question_everywhere(&a)?,
                None => return Err(Problem::internal(&"the coverage question was not read")),
            };
            let (snap, cov) = state.coverage(&question).await?;
            let level = if z < TOWNSHIP_ZOOM { DivisionLevel::County } else { DivisionLevel::Township };
            let tile = tokio::task::spawn_blocking(move || {
                coverage_layer(&mut b, &snap, &cov, level, window);
                encode(vec![b])
            });
            tile.await.map_err(|e| Problem::internal(&e))?
        }
        _ => {
            let snap = state.snapshot_guard();
            match l {
                Layer::Facilities => {
                    for i in snap.facilities_in_bbox(window, kind, statuses) {
                        let f = &snap.facility_at(i).facility;
                        b.point(
                            f.location.lon(),
                            f.location.lat(),
                            &[
                                ("id", Some(Attr::Str(&f.id))),
                                ("name", Some(Attr::Str(&f.name))),
                                ("kind", Some(Attr::Str(f.kind.as_str()))),
                                ("status", Some(Attr::Str(f.status.as_str()))),
                                ("township_code", Some(Attr::Str(f.township_code.as_str()))),
                                ("capacity_beds", f.capacity_beds.map(|c| Attr::Int(i64::from(c)))),
                                ("provenance", Some(Attr::Str(f.provenance.as_str()))),
                            ],
                        );
                    }
                }
                Layer::Settlements => {
                    for e in snap.settlements_in_bbox(window) {
                        let s = &e.settlement;
                        b.point(
                            s.location.lon(),
                            s.location.lat(),
                            &[
                                ("code", Some(Attr::Str(s.code.as_str()))),
                                ("name", Some(Attr::Str(&s.name))),
                                ("township_code", Some(Attr::Str(s.township_code.as_str()))),
                                ("population", s.population.and_then(count)),
                                ("provenance", Some(Attr::Str(s.provenance.as_str()))),
                                ("location_provenance", Some(Attr::Str(s.location_provenance.as_str()))),
                                ("population_provenance", s.population_provenance.map(|p| Attr::Str(p.as_str()))),
                            ],
                        );
                    }
                }
                _ => {
                    for &level in levels {
                        for e in snap.divisions_in_bbox(level, window) {
                            let d = &e.division;
                            let Some(g) = &d.geometry else { continue };
                            b.polygons(
                                g,
                                &[
                                    ("code", Some(Attr::Str(d.code.as_str()))),
                                    ("name", Some(Attr::Str(&d.name))),
                                    ("level", Some(Attr::Str(d.level.as_str()))),
                                    ("provenance", Some(Attr::Str(d.provenance.as_str()))),
                                    ("geometry_provenance", d.geometry_provenance.map(|p| Attr::Str(p.as_str()))),
                                ],
                            );
                        }
                    }
                }
            }
            encode(vec![b])
        }
    };
    if body.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let mut res = (StatusCode::OK, body).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(MVT));
    Ok(res)
}

/// The coverage choropleth in a tile: the counties (or townships) meeting it, each
/// with its row of the coverage answer; a unit the answer has no row for (no
/// demand, or 兵团 left out) is drawn without values.
fn coverage_layer(b: &mut LayerBuilder, snap: &Snapshot, cov: &Coverage, level: DivisionLevel, window: [f64; 4]) {
    // Only the rows of the level drawn (a tile of counties needs no township rows).
    let counties: HashMap<&str, &CountyRow> = match level {
        DivisionLevel::County => cov.counties.iter().map(|c| (c.code.as_str(), c)).collect(),
        _ => HashMap::new(),
    };
    let townships: HashMap<&str, &TownshipCoverage> = match level {
        DivisionLevel::Township => cov.townships.iter().map(|t| (t.code.as_str(), t)).collect(),
        _ => HashMap::new(),
    };
    for e in snap.divisions_in_bbox(level, window) {
        let d = &e.division;
        let Some(g) = &d.geometry else { continue };
        let mut attrs = vec![
            ("code", Some(Attr::Str(d.code.as_str()))),
            ("name", Some(Attr::Str(&d.name))),
            ("level", Some(Attr::Str(d.level.as_str()))),
            ("kind", Some(Attr::Str(cov.kind))),
            ("provenance", Some(Attr::Str(d.provenance.as_str()))),
            ("geometry_provenance", d.geometry_provenance.map(|p| Attr::Str(p.as_str()))),
            // Whether any record behind the answer (populations, facilities) is sample data.
            ("synthetic_data", Some(Attr::Bool(cov.synthetic_data))),
        ];
        if let Some(c) = counties.get(d.code.as_str()) {
            attrs.extend([
                ("coverage_ratio", Some(Attr::Num(c.coverage_ratio))),
                ("target", Some(Attr::Num(c.target))),
                ("meets_target", Some(Attr::Bool(c.meets_target))),
                ("population", count(c.population)),
                ("population_covered", count(c.population_covered)),
                ("settlements", count(c.settlements)),
                ("settlements_covered", count(c.settlements_covered)),
                ("townships", count(c.townships)),
                ("townships_meeting_target", count(c.townships_meeting_target)),
            ]);
        }
        if let Some(t) = townships.get(d.code.as_str()) {
            attrs.extend([
                ("coverage_ratio", Some(Attr::Num(t.coverage_ratio))),
                ("target", Some(Attr::Num(t.target))),
                ("meets_target", Some(Attr::Bool(t.meets_target))),
                ("population", count(t.population)),
                ("population_covered", count(t.population_covered)),
                ("settlements", count(t.settlements)),
                ("settlements_covered", count(t.settlements_covered)),
                ("facilities", count(t.facilities)),
            ]);
        }
        b.polygons(g, &attrs);
    }
}

/// `/tiles/{layer}.json`
#[utoipa::path(get, path = "/tiles/{tilejson}", tag = "ogc", operation_id = "tilejson",
    summary = "TileJSON 瓦片说明 A layer's TileJSON",
    description = "TileJSON 3.0 of a tiled layer: the tile URL template (with the query given: `coverage.json?kind=care_home` is the care-home choropleth), zooms, bounds and the layer's fields.",
    params(
        ("tilejson" = String, Path, description = "`divisions.json`, `settlements.json`, `facilities.json` or `coverage.json`", example = "coverage.json"),
        super::openapi::TileQuery,
    ),
    responses(
        (status = 200, description = "TileJSON; the tile URL carries the query given (the layer's filter or coverage question)", body = Object),
        (status = 400, description = "A parameter is malformed or not one of its values", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such layer", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A parameter the layer does not take; `coverage.json` without `kind` or `rule`, or with a rule for another kind", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn tilejson(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, Problem> {
    let name = file.strip_suffix(".json").unwrap_or(&file);
    let l = Layer::parse(name).ok_or_else(unknown_layer)?;
    // The tiles' URL carries the (checked) query: a coverage map names its question.
    let LayerQuery { ask, .. } = read_query(l, q.as_deref())?;
    if let Some(a) = &ask {
        state.question_everywhere(a)?;
    }
    let query = q.filter(|q| !q.is_empty()).map(|q| format!("?{q}")).unwrap_or_default();
    let base = super::ogc::base_url(&headers);
    let snap = state.snapshot_guard();
    let bounds = snap
        .counties()
        .iter()
        .filter_map(|c| c.bbox)
        .reduce(|[a0, a1, a2, a3], [b0, b1, b2, b3]| [a0.min(b0), a1.min(b1), a2.max(b2), a3.max(b3)])
        .unwrap_or([-180.0, -85.0, 180.0, 85.0]);
    let body = json!({
        "tilejson": "3.0.0",
        "name": l.name(),
        "tiles": [format!("{base}/tiles/{}/{{z}}/{{x}}/{{y}}.mvt{query}", l.name())],
        "minzoom": l.min_zoom(),
        "maxzoom": MAX_ZOOM,
        "bounds": bounds,
        "vector_layers": [{"id": l.name(), "fields": l.fields(), "minzoom": l.min_zoom(), "maxzoom": MAX_ZOOM}],
        "attribution": "diming; 乡镇边界、村点、设施含合成示例数据 (provenance: synthetic)",
    });
    Ok(axum::Json(body).into_response())
}
