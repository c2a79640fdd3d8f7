//! Export: a whole layer as GeoJSON or CSV, in any CRS diming knows.
//!
//! `GET /api/v1/export?layer=&format=&crs=&encoding=` and `diming export` share
//! `export`. GeoJSON in another CRS than CRS84 carries the old-style `crs` member
//! GIS software reads (coordinates in GIS order: lon/lat, easting/northing). CSV
//! has every property as a column, then `lon,lat` (`easting,northing` when
//! projected) for point layers or `wkt` for the others; it is UTF-8 with a BOM
//! (Excel opens it right) or, with `encoding=gbk`, GB18030, whose two-byte part is
//! GBK. What `export` writes, `import` reads back unchanged.

use super::import::IMPORT_CRS;
use super::params::Params;
use super::problem::Problem;
use super::AppState;
use crate::domain::Place;
use crate::import::read::Format;
use crate::import::Layer;
use crate::spatial::crs::{transform_geojson, Crs, Transformer};
use crate::spatial::Snapshot;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 with a byte-order mark.
    Utf8,
    /// GB18030 (GBK for every character GBK has).
    Gbk,
}

impl Encoding {
    /// The names `parse` reads (ASCII case aside).
    pub const SPELLINGS: [&'static str; 6] = ["utf-8", "utf8", "gbk", "gb18030", "gb2312", "cp936"];

    pub fn parse(s: &str) -> Option<Encoding> {
        match s.to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Some(Encoding::Utf8),
            "gbk" | "gb18030" | "gb2312" | "cp936" => Some(Encoding::Gbk),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct ExportRequest {
    pub layer: Layer,
    pub format: Format,
    pub crs: Crs,
    pub encoding: Encoding,
}

/// Every record of the layer as a GeoJSON Feature in CRS84, in code/id order.
fn features(snap: &Snapshot, places: &[Place], layer: Layer) -> Vec<Value> {
    let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap_or(Value::Null);
    match layer {
        Layer::Divisions => snap.divisions().iter().map(|d| parse(&d.feature_json)).collect(),
        Layer::Facilities => snap.facilities().iter().map(|f| parse(&f.feature_json())).collect(),
        Layer::Settlements => snap.settlements().iter().map(|s| parse(&s.feature_json)).collect(),
        Layer::Places => places
            .iter()
            .map(|p| {
                let name =
                    p.division_code.as_ref().and_then(|c| snap.division(c.as_str())).map(|d| d.division.name.as_str());
                crate::naming::registry::place_feature(p, name, None)
            })
            .collect(),
    }
}

/// The file's bytes.
pub fn export(snap: &Snapshot, places: &[Place], req: ExportRequest) -> Result<Vec<u8>, String> {
    let mut feats = features(snap, places, req.layer);
    if req.crs != Crs::Crs84 {
        Transformer::with(Crs::Crs84, req.crs, |t| feats.iter_mut().try_for_each(|f| transform_geojson(f, t, false)))
            .and_then(|r| r)
            .map_err(|e| e.to_string())?;
    }
    let text = match req.format {
        Format::GeoJson => {
            let mut fc = Map::new();
            fc.insert("type".into(), Value::from("FeatureCollection"));
            fc.insert("name".into(), Value::from(format!("manas_{}", req.layer.as_str())));
            if req.crs != Crs::Crs84 {
                let name = match req.crs {
                    Crs::Gcj02 => "GCJ-02".to_string(),
                    c => format!("urn:ogc:def:crs:{}", c.code().replace(':', "::")),
                };
                fc.insert("crs".into(), serde_json::json!({"type": "name", "properties": {"name": name}}));
            }
            fc.insert("features".into(), Value::Array(feats));
            let mut s = Value::Object(fc).to_string();
            s.push('\n');
            s
        }
        Format::Csv => csv_text(&feats, req.crs)?,
    };
    Ok(match (req.format, req.encoding) {
        (Format::Csv, Encoding::Utf8) => {
            let mut out = vec![0xEF, 0xBB, 0xBF];
            out.extend_from_slice(text.as_bytes());
            out
        }
        // GeoJSON is UTF-8 (RFC 7946 §11): `encoding` is for CSV only.
        (Format::GeoJson, _) => text.into_bytes(),
        (Format::Csv, Encoding::Gbk) => encoding_rs::GB18030.encode(&text).0.into_owned(),
    })
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn csv_text(feats: &[Value], crs: Crs) -> Result<String, String> {
    let mut columns: Vec<String> = Vec::new();
    for f in feats {
        if let Some(Value::Object(props)) = f.get("properties") {
            for k in props.keys() {
                if !columns.contains(k) {
                    columns.push(k.clone());
                }
            }
        }
    }
    // Identity and name first, then the rest as they come.
    columns.sort_by_key(|c| match c.as_str() {
        "id" => 0,
        "code" => 1,
        "name" => 2,
        _ => 3,
    });
    let points_only =
        feats.iter().all(|f| matches!(f.pointer("/geometry/type").and_then(Value::as_str), None | Some("Point")));
    let geo_columns: Vec<&str> = match (points_only, crs.is_projected()) {
        (true, false) => vec!["lon", "lat"],
        (true, true) => vec!["easting", "northing"],
        (false, _) => vec!["wkt"],
    };
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let header: Vec<&str> = columns.iter().map(String::as_str).chain(geo_columns.iter().copied()).collect();
    w.write_record(&header).map_err(|e| e.to_string())?;
    for f in feats {
        let props = f.get("properties").and_then(Value::as_object);
        let mut row: Vec<String> =
            columns.iter().map(|c| props.and_then(|p| p.get(c)).map_or_else(String::new, cell)).collect();
        let geometry = f.get("geometry").filter(|g| !g.is_null());
        if points_only {
            let c = geometry.and_then(|g| g.get("coordinates"));
            row.push(c.and_then(|c| c.get(0)).map_or_else(String::new, cell));
            row.push(c.and_then(|c| c.get(1)).map_or_else(String::new, cell));
        } else {
            let wkt = match geometry {
                Some(g) => {
                    let g: geojson::Geometry = serde_json::from_value(g.clone()).map_err(|e| e.to_string())?;
                    let g: geo_types::Geometry<f64> = g.try_into().map_err(|e: geojson::Error| e.to_string())?;
                    wkt::ToWkt::wkt_string(&g)
                }
                None => String::new(),
            };
            row.push(wkt);
        }
        w.write_record(&row).map_err(|e| e.to_string())?;
    }
    String::from_utf8(w.into_inner().map_err(|e| e.to_string())?).map_err(|e| e.to_string())
}

/// Read `layer`, `format`, `crs` and `encoding` (all but `layer` optional).
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
    Some(ExportRequest { layer: layer?, format: format?, crs, encoding: encoding? })
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
        GB18030. What export writes, import reads back unchanged.",
    params(super::openapi::ExportQuery),
    responses(
        (status = 200, description = "The file (`Content-Disposition: attachment`; `Content-Crs` names its CRS): a GeoJSON FeatureCollection, or CSV text",
            content((Object = "application/geo+json"), (String = "text/csv"))),
        super::responses::InvalidQuery,
    ),
)]
pub async fn download(State(state): State<AppState>, RawQuery(q): RawQuery) -> Result<Response, Problem> {
    let mut p = Params::parse(q.as_deref());
    let req = parse_request(&mut p, Format::GeoJson);
    p.reject_unknown(&["layer", "format", "crs", "encoding"]);
    p.finish()?;
    let Some(req) = req else { return Err(Problem::invalid_field("layer", "required")) };
    let snap = state.snapshot();
    let places = state.places();
    let bytes = export(&snap, places.places(), req).map_err(|e| Problem::internal(&e))?;
    let (content_type, ext) = match (req.format, req.encoding) {
        (Format::GeoJson, _) => ("application/geo+json", "geojson"),
        (Format::Csv, Encoding::Utf8) => ("text/csv; charset=utf-8", "csv"),
        (Format::Csv, Encoding::Gbk) => ("text/csv; charset=gb18030", "csv"),
    };
    let date = time::OffsetDateTime::now_utc().date().to_string();
    let file = format!("manas-{}-{}.{ext}", req.layer.as_str(), date);
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
