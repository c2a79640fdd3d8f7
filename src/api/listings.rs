//! Divisions, settlements and facilities as GeoJSON, with filters and paging.

use super::geojson_out::{geo_json, Collection};
use super::params::Params;
use super::problem::Problem;
use super::AppState;
use crate::spatial::StatusSet;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Collection listings: `limit` 1..=10,000, default 1,000 (a whole county's layer
/// in one answer); `offset` from 0.
const LIST_DEFAULT: usize = 1000;
const LIST_MAX: usize = 10_000;

/// Which page of a listing: `limit`, `offset` (features to skip) and the keyset
/// cursor `after` (the code or id the previous page ended with; `offset` then
/// skips from there).
struct Page {
    limit: usize,
    offset: usize,
    after: Option<String>,
}

impl Page {
    /// `limit`, `offset` and `after` of a listing whose cursor is `after`'s value as
    /// `cursor` parses it (a code, an id).
    fn parse(p: &mut Params, cursor: impl FnOnce(&mut Params) -> Option<String>) -> Page {
        let limit = p.integer("limit", LIST_DEFAULT, 1, LIST_MAX);
        let offset = p.integer("offset", 0, 0, usize::MAX);
        let after = cursor(p);
        Page { limit, offset, after }
    }
}

/// A page of a listing, only its features rendered (`render`): `total` features
/// match in all; `items` are the matching ones in key order, from the cursor on
/// when `after` is given, the first `skipped` of the page's offset already left
/// out (an index that positions itself). A page costs what it returns (and
/// `offset` what it skips unless positioned), not what matched.
#[allow(clippy::too_many_arguments)]
fn paged<T>(
    path: &str,
    query: &str,
    total: usize,
    items: impl Iterator<Item = T>,
    skipped: usize,
    page: Page,
    key: impl Fn(&T) -> String,
    render: impl Fn(T) -> String,
) -> Collection {
    match page.after {
        None => {
            let (range, next, prev) = super::geojson_out::page(path, query, total, page.limit, page.offset);
            // `page` keeps the range within 0..total.
            let features = items.skip(range.start.saturating_sub(skipped)).take(range.len()).map(render).collect();
            Collection { features, number_matched: Some(total), next, prev }
        }
        Some(_) => {
            let mut items = items.skip(page.offset.saturating_sub(skipped)).take(page.limit + 1).collect::<Vec<T>>();
            let more = items.len() > page.limit;
            items.truncate(page.limit);
            let next = if more {
                items.last().map(|last| super::geojson_out::cursor_link(path, query, page.limit, &key(last)))
            } else {
                None
            };
            let features = items.into_iter().map(render).collect();
            Collection { features, number_matched: Some(total), next, prev: None }
        }
    }
}

/// The `after` cursor of a listing keyed by division code.
fn code_cursor(p: &mut Params) -> Option<String> {
    p.code("after").map(|c| c.as_str().to_string())
}

/// `GET /api/v1/counties?region=&q=`
#[utoipa::path(
    get,
    path = "/counties",
    tag = "divisions",
    operation_id = "list_counties",
    summary = "县级单位 The counties the registry holds",
    description = "Every county-level unit of the registry with its prefecture and province, bounding box, \
        what it holds, and which of its layers are still sample data (`sample_data`): the region \
        picker's list and the answer to where 示例数据 labels belong. `region` keeps those of a \
        province (2 digits), prefecture (4) or county (6); `q` those whose name contains it or whose \
        code, prefecture or province code starts with it.",
    params(super::openapi::CountiesQuery),
    responses(
        (status = 200, description = "The counties", body = super::answers::Counties),
        super::responses::InvalidQuery,
    ),
)]
pub async fn list_counties(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<axum::Json<super::answers::Counties>, Problem> {
    let mut p = Params::parse(q.as_deref());
    let region = p.region();
    let text = p.raw("q").map(|t| t.trim().to_string());
    if text.as_ref().is_some_and(|t| t.chars().count() > 100) {
        p.fail("q", "检索词不超过 100 个字符 (at most 100 characters)");
    }
    p.finish()?;
    let snap = state.snapshot_guard();
    let matches = |c: &crate::spatial::counties::CountySummary| {
        text.as_deref().is_none_or(|t| {
            let names = [Some(&c.name), c.prefecture_name.as_ref(), c.province_name.as_ref()];
            c.code.starts_with(t) || names.into_iter().flatten().any(|n| n.contains(t))
        })
    };
    let counties: Vec<_> = snap
        .counties()
        .iter()
        .filter(|c| region.is_none_or(|r| r.holds(&c.code)))
        .filter(|c| matches(c))
        .cloned()
        .collect();
    let sample_data =
        counties.iter().fold(Default::default(), |a: crate::spatial::counties::SampleLayers, c| a.or(c.sample_data));
    Ok(axum::Json(super::answers::Counties { counties, sample_data }))
}

/// `GET /api/v1/divisions?level=&parent=&limit=&offset=`
#[utoipa::path(
    get,
    path = "/divisions",
    tag = "divisions",
    operation_id = "list_divisions",
    summary = "行政区划列表 List divisions",
    description = "The counties, their townships and village-level units as a FeatureCollection, \
        filtered by level, parent, county and region, in pages (`links` give the next and previous pages). \
        Geometry: MultiPolygon for county and townships (null where unknown), Point for village seats.",
    params(super::openapi::DivisionsQuery, super::openapi::ListPage),
    responses(
        (status = 200, description = "FeatureCollection of divisions", body = super::openapi::DivisionCollection, content_type = "application/geo+json"),
        super::responses::InvalidQuery,
    ),
)]
pub async fn list_divisions(State(state): State<AppState>, RawQuery(q): RawQuery) -> Result<Collection, Problem> {
    let mut p = Params::parse(q.as_deref());
    let level = p.level();
    let parent = p.code("parent");
    let county = p.county();
    let region = p.region();
    let page = Page::parse(&mut p, code_cursor);
    p.finish()?;
    let snap = state.snapshot_guard();
    let wanted = |d: &&crate::spatial::DivisionEntry| {
        level.is_none_or(|l| d.division.level == l)
            && parent.as_ref().is_none_or(|c| d.division.parent_code.as_ref() == Some(c))
            && county.is_none_or(|c| c.holds(d.division.code.as_str()))
            && region.is_none_or(|r| r.holds(d.division.code.as_str()))
    };
    let filtered = level.is_some() || parent.is_some() || county.is_some() || region.is_some();
    let total = if filtered { snap.divisions().iter().filter(wanted).count() } else { snap.divisions().len() };
    let items = snap.divisions_after(page.after.as_deref()).iter().filter(wanted);
    let key = |d: &&crate::spatial::DivisionEntry| d.division.code.to_string();
    let render = |d: &crate::spatial::DivisionEntry| d.feature_json.clone();
    Ok(paged("/api/v1/divisions", q.as_deref().unwrap_or(""), total, items, 0, page, key, render))
}

/// `GET /api/v1/divisions/{code}`
#[utoipa::path(
    get,
    path = "/divisions/{code}",
    tag = "divisions",
    operation_id = "get_division",
    summary = "一个行政区划 One division",
    description = "The division with this code as a Feature, with its romanization (`pinyin`) and, for \
        polygons, its geodesic area in km².",
    params(("code" = String, Path, description = "Division code: 6-digit county, 9-digit township or 12-digit village-level code", example = "652324101")),
    responses(
        (status = 200, description = "The division as a Feature", body = super::openapi::DivisionFeature, content_type = "application/geo+json"),
        (status = 404, description = "No division with this code", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn get_division(State(state): State<AppState>, Path(code): Path<String>) -> Result<Response, Problem> {
    let snap = state.snapshot_guard();
    let d = snap
        .division(&code)
        .ok_or_else(|| Problem::not_found(format!("没有代码为 {code} 的区划 (no division with this code)")))?;
    Ok(geo_json(StatusCode::OK, d.feature_json.clone()))
}

/// `GET /api/v1/settlements?township=&limit=&offset=`
#[utoipa::path(
    get,
    path = "/settlements",
    tag = "settlements",
    operation_id = "list_settlements",
    summary = "居民点列表 List settlements",
    description = "The demand points of coverage: village-level units (村, 社区) as Points, with population.",
    params(super::openapi::SettlementsQuery, super::openapi::ListPage),
    responses(
        (status = 200, description = "FeatureCollection of settlements", body = super::openapi::SettlementCollection, content_type = "application/geo+json"),
        super::responses::InvalidQuery,
    ),
)]
pub async fn list_settlements(State(state): State<AppState>, RawQuery(q): RawQuery) -> Result<Collection, Problem> {
    let mut p = Params::parse(q.as_deref());
    let township = p.code("township");
    let county = p.county();
    let page = Page::parse(&mut p, code_cursor);
    p.finish()?;
    let snap = state.snapshot_guard();
    let wanted = |s: &&crate::spatial::SettlementEntry| {
        township.as_ref().is_none_or(|t| &s.settlement.township_code == t)
            && county.is_none_or(|c| c.holds(s.settlement.code.as_str()))
    };
    let filtered = township.is_some() || county.is_some();
    let total = if filtered { snap.settlements().iter().filter(wanted).count() } else { snap.settlements().len() };
    let items = snap.settlements_after(page.after.as_deref()).iter().filter(wanted);
    let key = |s: &&crate::spatial::SettlementEntry| s.settlement.code.to_string();
    let render = |s: &crate::spatial::SettlementEntry| s.feature_json.clone();
    Ok(paged("/api/v1/settlements", q.as_deref().unwrap_or(""), total, items, 0, page, key, render))
}

/// `GET /api/v1/settlements/{code}`
#[utoipa::path(
    get,
    path = "/settlements/{code}",
    tag = "settlements",
    operation_id = "get_settlement",
    summary = "一个居民点 One settlement",
    description = "The settlement with this code as a Point Feature, with its population.",
    params(("code" = String, Path, description = "12-digit village-level code", example = "652324101201")),
    responses(
        (status = 200, description = "The settlement as a Feature", body = super::openapi::SettlementFeature, content_type = "application/geo+json"),
        (status = 404, description = "No settlement with this code", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn get_settlement(State(state): State<AppState>, Path(code): Path<String>) -> Result<Response, Problem> {
    let snap = state.snapshot_guard();
    let s = snap
        .settlement(&code)
        .ok_or_else(|| Problem::not_found(format!("没有代码为 {code} 的居民点 (no settlement with this code)")))?;
    Ok(geo_json(StatusCode::OK, s.feature_json.clone()))
}

/// `GET /api/v1/facilities?kind=&township=&bbox=&status=&limit=&offset=`
#[utoipa::path(
    get,
    path = "/facilities",
    tag = "facilities",
    operation_id = "list_facilities",
    summary = "设施列表 List facilities",
    description = "Facilities as a FeatureCollection of Points, filtered by kind, township, bounding box \
        and status (every status unless `status` is given), in pages.",
    params(super::openapi::FacilitiesQuery, super::openapi::ListPage),
    responses(
        (status = 200, description = "FeatureCollection of facilities", body = super::openapi::FacilityCollection, content_type = "application/geo+json"),
        super::responses::InvalidQuery,
    ),
)]
pub async fn list_facilities(State(state): State<AppState>, RawQuery(q): RawQuery) -> Result<Collection, Problem> {
    let mut p = Params::parse(q.as_deref());
    let kind = p.kind();
    let township = p.code("township");
    let county = p.county();
    let bbox = p.bbox();
    let statuses = p.statuses(StatusSet::ANY);
    let page = Page::parse(&mut p, |p| p.cursor("after"));
    p.finish()?;
    let snap = state.snapshot_guard();
    let wanted = |f: &&crate::spatial::FacilityEntry| {
        let f = &f.facility;
        kind.is_none_or(|k| f.kind == k)
            && statuses.contains(f.status.bit())
            && township.as_ref().is_none_or(|t| &f.township_code == t)
            && county.is_none_or(|c| c.holds(f.township_code.as_str()))
    };
    let key = |f: &&crate::spatial::FacilityEntry| f.facility.id.clone();
    let render = |f: &crate::spatial::FacilityEntry| f.feature_json();
    let query = q.as_deref().unwrap_or("");
    let after = page.after.clone();
    let after = after.as_deref();
    Ok(match bbox {
        Some(b) => {
            // The spatial index answers in id order.
            let matched: Vec<&crate::spatial::FacilityEntry> = snap
                .facilities_in_bbox(b, kind, statuses)
                .into_iter()
                .map(|i| snap.facility_at(i))
                .filter(wanted)
                .collect();
            let total = matched.len();
            let items = matched.into_iter().filter(|f| after.is_none_or(|a| f.facility.id.as_str() > a));
            paged("/api/v1/facilities", query, total, items, 0, page, key, render)
        }
        None => {
            let filtered = kind.is_some() || township.is_some() || county.is_some() || statuses != StatusSet::ANY;
            if filtered {
                let total = snap.facilities().filter(wanted).count();
                let items = snap.facilities_after(after, 0).filter(wanted);
                paged("/api/v1/facilities", query, total, items, 0, page, key, render)
            } else {
                // Unfiltered: the layer positions itself at the offset.
                let skip = page.offset.min(snap.facility_count());
                let items = snap.facilities_after(after, skip);
                paged("/api/v1/facilities", query, snap.facility_count(), items, skip, page, key, render)
            }
        }
    })
}

/// `GET /api/v1/facilities/{id}`, with its version as the `ETag`.
#[utoipa::path(
    get,
    path = "/facilities/{id}",
    tag = "facilities",
    operation_id = "get_facility",
    summary = "一个设施 One facility",
    description = "The facility with this id as a Point Feature, with its version as the `ETag`.",
    params(("id" = String, Path, description = "Facility id", example = "f0001")),
    responses(
        (status = 200, description = "The facility as a Feature", body = super::openapi::FacilityFeature, content_type = "application/geo+json",
            headers(("ETag" = String, description = "The record's version, e.g. `\"3\"`; send it back in `If-Match` to change the record"))),
        super::responses::FacilityNotFound,
    ),
)]
pub async fn get_facility(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, Problem> {
    let snap = state.snapshot_guard();
    let f = snap
        .facility(&id)
        .ok_or_else(|| Problem::not_found(format!("没有编号为 {id} 的设施 (no facility with this id)")))?;
    let mut res = geo_json(StatusCode::OK, f.feature_json());
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", f.facility.version)) {
        res.headers_mut().insert(header::ETAG, v);
    }
    Ok(res.into_response())
}
