//! Nearest, within-radius and locate: exact geodesic answers from the snapshot.

use super::geojson_out::Collection;
use super::params::Params;
use super::problem::Problem;
use super::AppState;
use crate::domain::FacilityStatus;
use crate::spatial::{Hit, Snapshot, StatusSet};
use axum::extract::{RawQuery, State};
use axum::Json;
use serde::Serialize;

const OPEN: StatusSet = StatusSet(1 << (FacilityStatus::Open as u8));

fn with_distance(snap: &Snapshot, hits: &[Hit]) -> Vec<String> {
    hits.iter()
        .map(|h| {
            let f = snap.facility_at(h.idx);
            let d = serde_json::Number::from_f64(h.distance_m)
                .map(|n| n.to_string())
                .unwrap_or_else(|| "null".into());
            let mut s = String::with_capacity(f.feature_head.len() + f.feature_tail.len() + 32);
            s.push_str(&f.feature_head);
            s.push_str("\"distance_m\":");
            s.push_str(&d);
            s.push(',');
            s.push_str(&f.feature_tail);
            s
        })
        .collect()
}

/// `GET /api/v1/facilities/nearest?lon=&lat=&kind=&limit=&max_distance_m=&status=`
pub async fn nearest(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Collection, Problem> {
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
    let snap = state.snapshot();
    let hits = snap.nearest([at.lon(), at.lat()], kind, limit, max, statuses);
    Ok(Collection {
        features: with_distance(&snap, &hits),
        number_matched: None,
        next: None,
        prev: None,
    })
}

/// `GET /api/v1/facilities/within?lon=&lat=&radius_m=&kind=&status=&limit=`: all
/// facilities within a geodesic radius, nearest first (`limit` up to 10,000).
pub async fn within(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Collection, Problem> {
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
    let snap = state.snapshot();
    let hits = snap.within([at.lon(), at.lat()], kind, radius, statuses);
    let matched = hits.len();
    Ok(Collection {
        features: with_distance(&snap, &hits[..matched.min(limit)]),
        number_matched: Some(matched),
        next: None,
        prev: None,
    })
}

#[derive(Serialize)]
pub struct Located {
    lon: f64,
    lat: f64,
    divisions: Vec<LocatedDivision>,
}

#[derive(Serialize)]
struct LocatedDivision {
    code: String,
    name: String,
    level: &'static str,
    provenance: &'static str,
}

/// `GET /api/v1/locate?lon=&lat=`: the divisions containing the point, largest first.
pub async fn locate(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Json<Located>, Problem> {
    let mut p = Params::parse(q.as_deref());
    let at = p.point();
    p.finish()?;
    let Some(at) = at else {
        return Err(Problem::invalid_field("lon", "required"));
    };
    let snap = state.snapshot();
    let divisions = snap
        .locate(at.lon(), at.lat())
        .into_iter()
        .map(|d| LocatedDivision {
            code: d.division.code.to_string(),
            name: d.division.name.clone(),
            level: d.division.level.as_str(),
            provenance: d.division.provenance.as_str(),
        })
        .collect();
    Ok(Json(Located {
        lon: at.lon(),
        lat: at.lat(),
        divisions,
    }))
}
