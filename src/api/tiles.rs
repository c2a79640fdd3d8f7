//! Vector tiles: `GET /tiles/{layer}/{z}/{x}/{y}.mvt` (Mapbox Vector Tile, Web
//! Mercator XYZ grid) of divisions, settlements and facilities from the
//! snapshot, and a TileJSON document per layer (`GET /tiles/{layer}.json`). The
//! answers carry the registry's validators (`ETag`, `304`) like every data answer.

use super::problem::Problem;
use super::AppState;
use crate::domain::DivisionLevel;
use crate::spatial::tiles::{encode, Attr, LayerBuilder, TileId, MAX_ZOOM};
use crate::spatial::StatusSet;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

const MVT: &str = "application/vnd.mapbox-vector-tile";

/// The tiled layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    Divisions,
    Settlements,
    Facilities,
}

impl Layer {
    fn parse(s: &str) -> Option<Layer> {
        match s {
            "divisions" => Some(Layer::Divisions),
            "settlements" => Some(Layer::Settlements),
            "facilities" => Some(Layer::Facilities),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Layer::Divisions => "divisions",
            Layer::Settlements => "settlements",
            Layer::Facilities => "facilities",
        }
    }

    /// Below this zoom a tile would hold too much of the country to be drawn.
    fn min_zoom(self) -> u8 {
        match self {
            Layer::Divisions => 5,
            Layer::Settlements | Layer::Facilities => 7,
        }
    }

    fn fields(self) -> serde_json::Value {
        match self {
            Layer::Divisions => {
                json!({"code": "String", "name": "String", "level": "String", "provenance": "String", "geometry_provenance": "String"})
            }
            Layer::Settlements => {
                json!({"code": "String", "name": "String", "township_code": "String", "population": "Number", "provenance": "String", "location_provenance": "String"})
            }
            Layer::Facilities => {
                json!({"id": "String", "name": "String", "kind": "String", "status": "String", "township_code": "String", "capacity_beds": "Number", "provenance": "String"})
            }
        }
    }
}

fn unknown_layer(s: &str) -> Problem {
    Problem::not_found(format!(
        "没有这个图层 (no such tile layer): {s}；可用 (available): divisions, settlements, facilities"
    ))
}

/// `/tiles/{layer}/{z}/{x}/{y}.mvt`
#[utoipa::path(get, path = "/tiles/{layer}/{z}/{x}/{y}", tag = "ogc", operation_id = "vector_tile",
    summary = "矢量瓦片 A vector tile",
    description = "A Mapbox Vector Tile (Web Mercator XYZ grid, extent 4096, 64-unit buffer) of one layer: \
        `divisions` (county and township polygons, cut to the tile and simplified to a tile pixel; from zoom 5), \
        `settlements` and `facilities` (points; from zoom 7). Attributes: the layer's scalar properties (see its \
        TileJSON). Empty tiles are `204`. The `y` segment ends in `.mvt`.",
    params(
        ("layer" = String, Path, description = "`divisions`, `settlements` or `facilities`", example = "facilities"),
        ("z" = String, Path, description = "Zoom, 0..=22", pattern = r"^\d{1,2}$", example = "8"),
        ("x" = String, Path, description = "Column, 0..2^z", pattern = r"^\d{1,7}$", example = "189"),
        ("y" = String, Path, description = "Row, 0..2^z, then `.mvt`", pattern = r"^\d{1,7}\.mvt$", example = "92.mvt"),
    ),
    responses(
        (status = 200, description = "The tile: a binary protobuf (vector_tile.proto 2.1)", content_type = "application/vnd.mapbox-vector-tile", body = String),
        (status = 204, description = "Nothing of the layer in this tile"),
        (status = 400, description = "The tile address is malformed (not whole numbers, no `.mvt`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such layer", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The address is outside the grid (z > 22, x or y ≥ 2^z), or below the layer's minimum zoom", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn tile(
    State(state): State<AppState>,
    Path((layer, z, x, y)): Path<(String, String, String, String)>,
) -> Result<Response, Problem> {
    let l = Layer::parse(&layer).ok_or_else(|| unknown_layer(&layer))?;
    let bad = || Problem::invalid_field("tile", "须为 z/x/y.mvt，均为整数 (z/x/y.mvt, whole numbers)");
    let z: u8 = z.parse().map_err(|_| bad())?;
    let x: u32 = x.parse().map_err(|_| bad())?;
    let y: u32 = y.strip_suffix(".mvt").and_then(|y| y.parse().ok()).ok_or_else(bad)?;
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
    let snap = state.snapshot_guard();
    let mut b = LayerBuilder::new(id, l.name());
    let [x0, y0, x1, y1] = id.lonlat_bounds_buffered();
    let inside = |lon: f64, lat: f64| (x0..=x1).contains(&lon) && (y0..=y1).contains(&lat);
    match l {
        Layer::Facilities => {
            for i in snap.facilities_in_bbox([x0, y0, x1, y1], None, StatusSet::ANY) {
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
            for e in snap.settlements() {
                let s = &e.settlement;
                if !inside(s.location.lon(), s.location.lat()) {
                    continue;
                }
                b.point(
                    s.location.lon(),
                    s.location.lat(),
                    &[
                        ("code", Some(Attr::Str(s.code.as_str()))),
                        ("name", Some(Attr::Str(&s.name))),
                        ("township_code", Some(Attr::Str(s.township_code.as_str()))),
                        ("population", s.population.and_then(|p| i64::try_from(p).ok()).map(Attr::Int)),
                        ("provenance", Some(Attr::Str(s.provenance.as_str()))),
                        ("location_provenance", Some(Attr::Str(s.location_provenance.as_str()))),
                    ],
                );
            }
        }
        Layer::Divisions => {
            for e in snap.divisions() {
                let d = &e.division;
                if !matches!(d.level, DivisionLevel::County | DivisionLevel::Township) {
                    continue;
                }
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
    let body = encode(vec![b]);
    if body.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let mut res = (StatusCode::OK, body).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(MVT));
    Ok(res)
}

/// `/tiles/{layer}.json`
#[utoipa::path(get, path = "/tiles/{tilejson}", tag = "ogc", operation_id = "tilejson",
    summary = "TileJSON 瓦片说明 A layer's TileJSON",
    description = "TileJSON 3.0 of a tiled layer: the tile URL template, zooms, bounds and the layer's fields.",
    params(("tilejson" = String, Path, description = "`divisions.json`, `settlements.json` or `facilities.json`", example = "facilities.json")),
    responses(
        (status = 200, description = "TileJSON", body = Object),
        (status = 404, description = "No such layer", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn tilejson(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(file): Path<String>,
) -> Result<Response, Problem> {
    let name = file.strip_suffix(".json").unwrap_or(&file);
    let l = Layer::parse(name).ok_or_else(|| unknown_layer(&file))?;
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
        "tiles": [format!("{base}/tiles/{}/{{z}}/{{x}}/{{y}}.mvt", l.name())],
        "minzoom": l.min_zoom(),
        "maxzoom": MAX_ZOOM,
        "bounds": bounds,
        "vector_layers": [{"id": l.name(), "fields": l.fields(), "minzoom": l.min_zoom(), "maxzoom": MAX_ZOOM}],
        "attribution": "diming; 乡镇边界、村点、设施含合成示例数据 (provenance: synthetic)",
    });
    Ok(axum::Json(body).into_response())
}
