//! Nearest, within-radius and locate: exact geodesic answers from the snapshot.

use super::answers::{Located, LocatedDivision};
use super::geojson_out::{geo_json, Counts, COLLECTION_HEAD};
use super::params::Params;
use super::problem::Problem;
use super::AppState;
use crate::domain::FacilityStatus;
use crate::spatial::{Hit, Snapshot, StatusSet};
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;

const OPEN: StatusSet = StatusSet(1 << (FacilityStatus::Open as u8));

/// A FeatureCollection of facilities with `distance_m` spliced into each one's
/// pre-rendered properties, written straight into one buffer.
fn with_distance(snap: &Snapshot, hits: &[Hit], number_matched: Option<usize>) -> Response {
    let mut body = String::with_capacity(64 + hits.len() * 800);
    body.push_str(COLLECTION_HEAD);
    let mut num = ryu::Buffer::new();
    for (i, h) in hits.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        let f = snap.facility_at(h.idx);
        body.push_str(&f.feature_head);
        body.push_str("\"distance_m\":");
        // Millimetres: finer digits say nothing a geodesic on a 0.1 m coordinate can.
        let d = (h.distance_m * 1000.0).round() / 1000.0;
        body.push_str(if d.is_finite() { num.format_finite(d) } else { "null" });
        body.push(',');
        body.push_str(&f.feature_tail);
    }
    Counts { number_returned: hits.len(), number_matched, links: Vec::new() }.close(&mut body);
    geo_json(StatusCode::OK, body)
}

/// `GET /api/v1/facilities/nearest?lon=&lat=&kind=&limit=&max_distance_m=&status=`
#[utoipa::path(
    get,
    path = "/facilities/nearest",
    tag = "facilities",
    operation_id = "nearest_facilities",
    summary = "最近的设施 Nearest facilities",
    description = "The `limit` facilities nearest to the point (of `kind` if given, `open` unless `status` \
        names others), ordered by geodesic distance on the GRS80 ellipsoid ascending, ties by `id`; \
        each feature's properties add `distance_m` (metres).",
    params(super::openapi::PointQuery, super::openapi::NearestQuery),
    responses(
        (status = 200, description = "FeatureCollection of facilities, nearest first, with `distance_m`", body = super::openapi::FacilityCollection, content_type = "application/geo+json"),
        super::responses::InvalidQuery,
    ),
)]
pub async fn nearest(State(state): State<AppState>, RawQuery(q): RawQuery) -> Result<Response, Problem> {
    let mut p = Params::parse(q.as_deref());
    let at = p.point();
    let kind = p.kind();
    let limit = p.integer("limit", 10, 1, 100);
    let max = p.distance_m("max_distance_m", false);
    let statuses = p.statuses(OPEN);
    p.finish()?;
    let Some(at) = at else {
        return Err(Problem::invalid_field("lon", "required"));
    };
    let snap = state.snapshot_guard();
    let hits = snap.nearest([at.lon(), at.lat()], kind, limit, max, statuses);
    Ok(with_distance(&snap, &hits, None))
}

/// `GET /api/v1/facilities/within?lon=&lat=&radius_m=&kind=&status=&limit=`: all
/// facilities within a geodesic radius, nearest first (`limit` up to 10,000).
#[utoipa::path(
    get,
    path = "/facilities/within",
    tag = "facilities",
    operation_id = "facilities_within",
    summary = "半径内的设施 Facilities within a radius",
    description = "Every facility within `radius_m` geodesic metres of the point (GRS80 ellipsoid), \
        nearest first, ties by `id`, with `distance_m`; `open` unless `status` names others. \
        `numberMatched` counts them all, `limit` caps the features returned.",
    params(super::openapi::PointQuery, super::openapi::WithinQuery),
    responses(
        (status = 200, description = "FeatureCollection of facilities, nearest first, with `distance_m`", body = super::openapi::FacilityCollection, content_type = "application/geo+json"),
        super::responses::InvalidQuery,
    ),
)]
pub async fn within(State(state): State<AppState>, RawQuery(q): RawQuery) -> Result<Response, Problem> {
    let mut p = Params::parse(q.as_deref());
    let at = p.point();
    let radius = p.distance_m("radius_m", true);
    let kind = p.kind();
    let statuses = p.statuses(OPEN);
    let limit = p.integer("limit", 10_000, 1, 10_000);
    p.finish()?;
    let (Some(at), Some(radius)) = (at, radius) else {
        return Err(Problem::invalid_field("radius_m", "required"));
    };
    let snap = state.snapshot_guard();
    let hits = snap.within([at.lon(), at.lat()], kind, radius, statuses);
    Ok(with_distance(&snap, hits.get(..limit).unwrap_or(&hits), Some(hits.len())))
}

/// `GET /api/v1/locate?lon=&lat=`: the divisions containing the point, largest first.
#[utoipa::path(
    get,
    path = "/locate",
    tag = "spatial",
    operation_id = "locate",
    summary = "定位 Which divisions contain a point",
    description = "The divisions containing the point, from largest to smallest (county, township); \
        `divisions` is empty outside every division.",
    params(super::openapi::PointQuery),
    responses(
        (status = 200, description = "The point and the divisions containing it", body = super::openapi::Located),
        (status = 400, description = "`lon` or `lat` is missing or malformed", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn locate(State(state): State<AppState>, RawQuery(q): RawQuery) -> Result<Json<Located>, Problem> {
    let mut p = Params::parse(q.as_deref());
    let at = p.point();
    p.finish()?;
    let Some(at) = at else {
        return Err(Problem::invalid_field("lon", "required"));
    };
    let snap = state.snapshot_guard();
    let divisions = snap
        .locate(at.lon(), at.lat())
        .into_iter()
        .map(|d| LocatedDivision {
            code: d.division.code.to_string(),
            name: d.division.name.clone(),
            level: d.division.level,
            provenance: d.division.provenance,
            geometry_provenance: d.division.geometry_provenance,
        })
        .collect();
    Ok(Json(Located { lon: at.lon(), lat: at.lat(), divisions }))
}
