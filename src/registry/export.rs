//! Export: a whole layer as GeoJSON or CSV, in any CRS diming knows.
//!
//! `GET /api/v1/export?layer=&format=&crs=&encoding=` and `diming export` share
//! `Registry::export`. GeoJSON in another CRS than CRS84 carries the old-style `crs` member
//! GIS software reads (coordinates in GIS order: lon/lat, easting/northing). CSV
//! has every property as a column, then `lon,lat` (`easting,northing` when
//! projected) for point layers or `wkt` for the others; it is UTF-8 with a BOM
//! (Excel opens it right) or, with `encoding=gbk`, GB18030, whose two-byte part is
//! GBK. What `export` writes, `import` reads back unchanged.

use super::Registry;
use crate::domain::{Place, RegionCode};
use crate::import::read::Format;
use crate::import::Layer;
use crate::spatial::crs::{transform_geojson, Crs, Transformer};
use crate::spatial::Snapshot;
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
    /// Only the records of this county, prefecture or province (`None`: all).
    pub region: Option<RegionCode>,
}

impl ExportRequest {
    /// The file's name without its extension, e.g. `diming_652324_facilities`.
    pub fn file_stem(&self) -> String {
        let area = self.region.as_ref().map_or("all", RegionCode::as_str);
        format!("diming_{area}_{}", self.layer.as_str())
    }
}

/// Every record of the layer (in `region`, if given) as a GeoJSON Feature in CRS84,
/// in code/id order.
fn features(snap: &Snapshot, places: &[Place], layer: Layer, region: Option<RegionCode>) -> Vec<Value> {
    let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap_or(Value::Null);
    let inside = |code: Option<&str>| region.is_none_or(|r| code.is_some_and(|c| r.holds(c)));
    match layer {
        Layer::Divisions => snap
            .divisions()
            .iter()
            .filter(|d| inside(Some(d.division.code.as_str())))
            .map(|d| parse(&d.feature_json))
            .collect(),
        Layer::Facilities => snap
            .facilities()
            .filter(|f| inside(Some(f.facility.township_code.as_str())))
            .map(|f| parse(&f.feature_json()))
            .collect(),
        Layer::Settlements => snap
            .settlements()
            .iter()
            .filter(|s| inside(Some(s.settlement.code.as_str())))
            .map(|s| parse(&s.feature_json))
            .collect(),
        Layer::Places => places
            .iter()
            .filter(|p| inside(p.division_code.as_ref().map(|c| c.as_str())))
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
    let mut feats = features(snap, places, req.layer, req.region);
    if req.crs != Crs::Crs84 {
        Transformer::with(Crs::Crs84, req.crs, |t| feats.iter_mut().try_for_each(|f| transform_geojson(f, t, false)))
            .and_then(|r| r)
            .map_err(|e| e.to_string())?;
    }
    let text = match req.format {
        Format::GeoJson => {
            let mut fc = Map::new();
            fc.insert("type".into(), Value::from("FeatureCollection"));
            fc.insert("name".into(), Value::from(req.file_stem()));
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

impl Registry {
    /// A whole layer as a file, from the current snapshot and name registry.
    pub fn export(&self, req: ExportRequest) -> Result<Vec<u8>, super::RegistryError> {
        let snap = self.snapshot();
        let names = self.places();
        export(&snap, names.places(), req).map_err(super::RegistryError::Internal)
    }
}
