//! `GET /api/v1/export`: the query read at the boundary, then the registry's
//! export (`registry::export`) as a download.

use super::params::Params;
use super::problem::Problem;
use super::AppState;

use crate::import::read::Format;
use crate::import::Layer;
use crate::registry::export::{Encoding, ExportRequest};
use crate::registry::import::IMPORT_CRS;
use crate::spatial::crs::Crs;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Read `layer`, `format`, `crs`, `encoding`, `county` and `region` (all but `layer` optional).
pub fn parse_request(p: &mut Params, default_format: Format) -> Option<ExportRequest> {
    let layer = match p.raw("layer") {
        Some(l) => Layer::parse(&l).or_else(|| {
            p.fail("layer", "须为 divisions、facilities、settlements 或 places");
            None
        }),
        None => {
            p.fail("layer", "缺少必填参数 (required): divisions、facilities、settlements 或 places");
            None
        }
    };
    let format = match p.raw("format") {
        Some(f) => Format::parse(&f).or_else(|| {
            p.fail("format", "须为 geojson 或 csv");
            None
        }),
        None => Some(default_format),
    };
    let crs = p.crs("crs", &IMPORT_CRS).unwrap_or(Crs::Crs84);
    let encoding = match p.raw("encoding") {
        Some(e) => Encoding::parse(&e).or_else(|| {
            p.fail("encoding", "须为 utf-8 或 gbk");
            None
        }),
        None => Some(Encoding::Utf8),
    };
    let county = p.county();
    let region = p.region();
    // Both given: the narrower, when one holds the other (else nothing matches: 422 below).
    let area = match (county, region) {
        (Some(c), Some(r)) if r.holds(c.as_str()) => Some(c),
        (Some(c), Some(r)) if c.holds(r.as_str()) => Some(r),
        (Some(c), Some(r)) => {
            p.refuse(
                "region",
                format!("县 {} 不在地区 {} 内 (the county is not in that region)", c.as_str(), r.as_str()),
            );
            None
        }
        (c, r) => c.or(r),
    };
    Some(ExportRequest { layer: layer?, format: format?, crs, encoding: encoding?, region: area })
}

/// `GET /api/v1/export?layer=&format=geojson|csv&crs=&encoding=utf-8|gbk`: a download.
#[utoipa::path(
    get,
    path = "/export",
    tag = "interop",
    operation_id = "export",
    summary = "导出 Export a layer as GeoJSON or CSV",
    description = "A whole layer as a download. GeoJSON outside CRS84 carries the `crs` member GIS software reads \
        (coordinates in GIS order: lon/lat, easting/northing); CSV has every property as a column, then `lon,lat` \
        (`easting,northing` in EPSG:4538) for point layers or `wkt`; UTF-8 CSV has a BOM, `encoding=gbk` writes \
        GB18030. `county` (6 digits) or `region` (2, 4 or 6 digits) export only the records of that county, \
        prefecture or province. What export writes, import reads back unchanged.",
    params(super::openapi::ExportQuery),
    responses(
        (status = 200, description = "The file (`Content-Disposition: attachment`; `Content-Crs` names its CRS): a GeoJSON FeatureCollection, or CSV text",
            content((Object = "application/geo+json"), (String = "text/csv"))),
        super::responses::InvalidQuery,
        super::responses::AreaRefused,
    ),
)]
pub async fn download(State(state): State<AppState>, RawQuery(q): RawQuery) -> Result<Response, Problem> {
    let mut p = Params::parse(q.as_deref());
    let req = parse_request(&mut p, Format::GeoJson);
    p.reject_unknown(&["layer", "format", "crs", "encoding", "county", "region"]);
    p.finish()?;
    let Some(req) = req else { return Err(Problem::invalid_field("layer", "required")) };
    let bytes = state.export(req)?;
    let (content_type, ext) = match (req.format, req.encoding) {
        (Format::GeoJson, _) => ("application/geo+json", "geojson"),
        (Format::Csv, Encoding::Utf8) => ("text/csv; charset=utf-8", "csv"),
        (Format::Csv, Encoding::Gbk) => ("text/csv; charset=gb18030", "csv"),
    };
    let date = time::OffsetDateTime::now_utc().date().to_string();
    let file = format!("{}_{date}.{ext}", req.file_stem());
    let mut res = (StatusCode::OK, bytes).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("<{}>", req.crs.uri())) {
        h.insert("content-crs", v);
    }
    Ok(res)
}
