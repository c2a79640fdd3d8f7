//! Reading import files: GeoJSON or CSV, in UTF-8 (with or without BOM), UTF-16
//! with BOM, or GBK/GB18030 — detected, never assumed — and in any CRS diming
//! knows, reprojected to CGCS2000 lon/lat on the way in.
//!
//! The reader only shapes rows; what a row must contain is the layer's business
//! (`registry::import`). Problems are collected per row, never stopping at the first.

use crate::spatial::crs::{Crs, Transformer};
use geo::MapCoords;
use geo_types::{Coord, Geometry, Point};
use serde_json::{Map, Value};
use std::fmt;

/// A problem with one row (or the file when `row` is 0).
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct RowError {
    /// CSV: the line as a spreadsheet numbers it (the header is row 1).
    /// GeoJSON: the feature's 1-based position. 0: the file as a whole.
    pub row: usize,
    pub field: String,
    pub message: String,
}

impl RowError {
    pub fn new(row: usize, field: &str, message: impl Into<String>) -> Self {
        RowError { row, field: field.to_string(), message: message.into() }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.row == 0 {
            write!(f, "{}: {}", self.field, self.message)
        } else {
            write!(f, "第 {} 行 (row {}) {}: {}", self.row, self.row, self.field, self.message)
        }
    }
}

/// The file format: `geojson` or `csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    GeoJson,
    Csv,
}

impl Format {
    /// The names `parse` reads (ASCII case aside).
    pub const SPELLINGS: [&'static str; 6] =
        ["geojson", "json", "application/geo+json", "application/json", "csv", "text/csv"];

    pub fn parse(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "geojson" | "json" | "application/geo+json" | "application/json" => Some(Format::GeoJson),
            "csv" | "text/csv" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// The first field holding a NUL character anywhere in its value (no record keeps
/// one; PostgreSQL cannot store it).
fn nul_field(fields: &Map<String, Value>) -> Option<String> {
    fields
        .iter()
        .find(|(k, v)| k.contains('\0') || crate::domain::json::nul_path(v).is_some())
        .map(|(k, _)| k.replace('\0', "\\0"))
}

/// One row: its fields under canonical names, and its geometry in CGCS2000 lon/lat.
#[derive(Debug, Clone)]
pub struct Record {
    pub row: usize,
    pub fields: Map<String, Value>,
    pub geometry: Option<Geometry<f64>>,
}

/// What was read, and how the file was understood.
#[derive(Debug)]
pub struct Read {
    pub records: Vec<Record>,
    pub errors: Vec<RowError>,
    pub warnings: Vec<RowError>,
    pub encoding: &'static str,
    pub format: Format,
    pub crs: Crs,
}

/// Decode text: a BOM decides; else valid UTF-8 is UTF-8; else GB18030 (a
/// superset of GBK and GB2312), which must decode without a single error.
pub fn decode(bytes: &[u8]) -> Result<(String, &'static str), RowError> {
    if let Some((enc, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        // `bom` is the length of the BOM `bytes` starts with.
        let (text, had_errors) = enc.decode_without_bom_handling(bytes.get(bom..).unwrap_or_default());
        if had_errors {
            return Err(RowError::new(
                0,
                "file",
                format!("文件不是有效的 {} 编码 (not valid {})", enc.name(), enc.name()),
            ));
        }
        return Ok((text.into_owned(), if enc == encoding_rs::UTF_8 { "UTF-8 (BOM)" } else { enc.name() }));
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok((s.to_string(), "UTF-8"));
    }
    let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
    if had_errors {
        return Err(RowError::new(
            0,
            "file",
            "无法识别文件编码：既不是 UTF-8 也不是 GBK/GB18030 (the file is neither UTF-8 nor GBK/GB18030)",
        ));
    }
    Ok((text.into_owned(), "GB18030"))
}

/// Canonical field names for the headers officers' spreadsheets use.
fn canonical(header: &str) -> String {
    let h = header.trim().trim_start_matches('\u{feff}').trim();
    let lower = h.to_lowercase();
    let name = match lower.as_str() {
        "经度" | "lng" | "long" | "longitude" => "lon",
        "纬度" | "latitude" => "lat",
        "东坐标" | "east" | "easting" | "e" => "easting",
        "北坐标" | "north" | "northing" | "n" => "northing",
        "几何" | "geometry" | "the_geom" | "geom" => "wkt",
        "编号" | "fid" => "id",
        "版本" => "version",
        "名称" | "标准名称" | "地名" => "name",
        "类型" | "设施类型" => "kind",
        "状态" => "status",
        "床位" | "床位数" | "beds" => "capacity_beds",
        "运营方式" | "举办性质" => "operator",
        "地址" => "address",
        "乡镇代码" | "乡镇" => "township_code",
        "代码" | "区划代码" | "统计用区划代码" => "code",
        "人口" | "常住人口" => "population",
        "60岁以上人口" => "population_60plus",
        "类别" | "地名类别" => "category",
        "所在区划" | "所在区划代码" => "division_code",
        "拼音" | "罗马字母拼写" => "romanization",
        "含义" | "来历" | "含义来历" => "origin",
        "别名" => "alternate_names",
        "曾用名" => "historic_names",
        "批准机关" => "approving_body",
        "批准文号" => "document_no",
        "批准日期" => "decided_on",
        "级别" | "层级" => "level",
        "上级代码" => "parent_code",
        _ => return lower,
    };
    name.to_string()
}

/// Read `bytes` as `format` (or detect it), with coordinates in `crs` (default CRS84).
pub fn read(bytes: &[u8], format: Option<Format>, crs: Option<Crs>) -> Read {
    let mut out = Read {
        records: Vec::new(),
        errors: Vec::new(),
        warnings: Vec::new(),
        encoding: "UTF-8",
        format: format.unwrap_or(Format::Csv),
        crs: crs.unwrap_or(Crs::Crs84),
    };
    let text = match decode(bytes) {
        Ok((t, enc)) => {
            out.encoding = enc;
            t
        }
        Err(e) => {
            out.errors.push(e);
            return out;
        }
    };
    let format =
        format.unwrap_or_else(|| if text.trim_start().starts_with('{') { Format::GeoJson } else { Format::Csv });
    out.format = format;
    match format {
        Format::GeoJson => read_geojson(&text, crs, &mut out),
        Format::Csv => read_csv(&text, &mut out),
    }
    out
}

fn transformer_or_error(crs: Crs, out: &mut Read) -> Option<()> {
    match Transformer::with(crs, Crs::Crs84, |_| ()) {
        Ok(()) => Some(()),
        Err(e) => {
            out.errors.push(RowError::new(0, "crs", e.to_string()));
            None
        }
    }
}

fn reproject(g: Geometry<f64>, crs: Crs) -> Result<Geometry<f64>, String> {
    if matches!(crs, Crs::Crs84 | Crs::Epsg4490 | Crs::Epsg4326) {
        return Ok(g);
    }
    Transformer::with(crs, Crs::Crs84, |t| {
        g.try_map_coords(|c: Coord<f64>| t.convert((c.x, c.y)).map(|(x, y)| Coord { x, y }))
    })
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("坐标无法转换 (cannot transform): {e}"))
}

fn read_geojson(text: &str, crs: Option<Crs>, out: &mut Read) {
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            out.errors.push(RowError::new(0, "file", format!("不是有效的 JSON (not valid JSON): {e}")));
            return;
        }
    };
    // An old-style `crs` member (GDAL writes one for non-CRS84 files).
    let named = value.pointer("/crs/properties/name").and_then(Value::as_str);
    let file_crs = match named {
        Some(n) => match Crs::parse(n) {
            Some(c) => Some(c),
            None => {
                out.errors.push(RowError::new(0, "crs", format!("文件声明的坐标系 {n} 不受支持 (unsupported CRS)")));
                return;
            }
        },
        None => None,
    };
    let crs = match (crs, file_crs) {
        (Some(a), Some(b)) if a != b => {
            out.errors.push(RowError::new(
                0,
                "crs",
                format!("参数指定 {} 而文件声明 {} (the file declares another CRS)", a.code(), b.code()),
            ));
            return;
        }
        (a, b) => a.or(b).unwrap_or(Crs::Crs84),
    };
    out.crs = crs;
    if transformer_or_error(crs, out).is_none() {
        return;
    }
    let features: Vec<Value> = match value.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => match value.get("features") {
            Some(Value::Array(f)) => f.clone(),
            _ => {
                out.errors.push(RowError::new(
                    0,
                    "features",
                    "FeatureCollection 缺少 features 数组 (features missing)",
                ));
                return;
            }
        },
        Some("Feature") => vec![value.clone()],
        _ => {
            out.errors.push(RowError::new(
                0,
                "type",
                "须为 GeoJSON FeatureCollection 或 Feature (a FeatureCollection or a Feature)",
            ));
            return;
        }
    };
    for (i, f) in features.into_iter().enumerate() {
        let row = i + 1;
        let mut fields: Map<String, Value> = match f.get("properties") {
            Some(Value::Object(m)) => m.iter().map(|(k, v)| (canonical(k), v.clone())).collect(),
            Some(Value::Null) | None => Map::new(),
            Some(_) => {
                out.errors.push(RowError::new(row, "properties", "须为对象 (must be an object)"));
                continue;
            }
        };
        if let Some(id) = f.get("id").filter(|v| !v.is_null()) {
            fields.entry("id".to_string()).or_insert_with(|| match id {
                Value::String(s) => Value::String(s.clone()),
                other => Value::String(other.to_string()),
            });
        }
        let geometry = match f.get("geometry") {
            None | Some(Value::Null) => None,
            Some(g) => match serde_json::from_value::<geojson::Geometry>(g.clone())
                .map_err(|e| e.to_string())
                .and_then(crate::spatial::geojson_in::to_geo)
            {
                Ok(g) => match reproject(g, crs) {
                    Ok(g) => Some(g),
                    Err(e) => {
                        out.errors.push(RowError::new(row, "geometry", e));
                        continue;
                    }
                },
                Err(e) => {
                    out.errors.push(RowError::new(row, "geometry", format!("几何无效 (invalid geometry): {e}")));
                    continue;
                }
            },
        };
        if let Some(field) = nul_field(&fields) {
            out.errors.push(RowError::new(row, &field, "含空字符 NUL (contains a NUL character)"));
            continue;
        }
        out.records.push(Record { row, fields, geometry });
    }
}

fn delimiter(text: &str) -> u8 {
    let first = text.lines().next().unwrap_or("");
    [b',', b'\t', b';'].into_iter().max_by_key(|&d| first.bytes().filter(|&b| b == d).count()).unwrap_or(b',')
}

fn read_csv(text: &str, out: &mut Read) {
    let crs = out.crs;
    if transformer_or_error(crs, out).is_none() {
        return;
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter(text))
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(canonical).collect(),
        Err(e) => {
            out.errors.push(RowError::new(1, "header", format!("无法读取表头 (cannot read the header): {e}")));
            return;
        }
    };
    if headers.iter().all(|h| h.is_empty()) {
        out.errors.push(RowError::new(1, "header", "文件为空或缺少表头 (empty file or no header row)"));
        return;
    }
    let has = |h: &str| headers.iter().any(|x| x == h);
    let (xk, yk) = if has("lon") || has("lat") {
        ("lon", "lat")
    } else if has("easting") || has("northing") {
        ("easting", "northing")
    } else {
        ("x", "y")
    };
    if crs.is_projected() && xk == "lon" {
        out.errors.push(RowError::new(
            1,
            "lon",
            format!(
                "{} 为投影坐标系，请用 x/y 或 东坐标/北坐标 列 (a projected CRS needs x/y or easting/northing columns)",
                crs.code()
            ),
        ));
        return;
    }
    let mut swapped_rows = 0usize;
    for (i, rec) in reader.records().enumerate() {
        // The header is spreadsheet row 1; a quoted field may span lines, so use the parser's position.
        let row = rec.as_ref().ok().and_then(|r| r.position()).map_or(i + 2, |p| p.line() as usize);
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                out.errors.push(RowError::new(i + 2, "row", format!("无法解析此行 (cannot parse): {e}")));
                continue;
            }
        };
        if rec.iter().all(str::is_empty) {
            continue;
        }
        if rec.len() > headers.len() {
            out.errors.push(RowError::new(
                row,
                "row",
                format!("列数 {} 多于表头 {} (more columns than the header)", rec.len(), headers.len()),
            ));
            continue;
        }
        let mut fields = Map::new();
        for (h, v) in headers.iter().zip(rec.iter()) {
            if !v.is_empty() && !h.is_empty() {
                fields.insert(h.clone(), Value::String(v.to_string()));
            }
        }
        let mut geometry = None;
        let num = |k: &str, fields: &Map<String, Value>| -> Result<Option<f64>, String> {
            match fields.get(k).and_then(Value::as_str) {
                None => Ok(None),
                Some(s) => s
                    .replace(',', "")
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .map(Some)
                    .ok_or_else(|| format!("'{s}' 不是数值 (not a number)")),
            }
        };
        let (x, y) = (num(xk, &fields), num(yk, &fields));
        let mut bad = false;
        for (k, r) in [(xk, &x), (yk, &y)] {
            if let Err(e) = r {
                out.errors.push(RowError::new(row, k, e.clone()));
                bad = true;
            }
        }
        match (x, y) {
            (Ok(Some(mut x)), Ok(Some(mut y))) => {
                // Chinese survey tables call northing X and easting Y; in the
                // Gauss-Krüger zone a northing is millions of metres, an easting is not.
                if crs.is_projected() && xk == "x" && x > 1.0e6 && y < 1.0e6 {
                    std::mem::swap(&mut x, &mut y);
                    swapped_rows += 1;
                }
                match reproject(Geometry::Point(Point::new(x, y)), crs) {
                    Ok(g) => geometry = Some(g),
                    Err(e) => {
                        out.errors.push(RowError::new(row, xk, e));
                        bad = true;
                    }
                }
            }
            (Ok(Some(_)), Ok(None)) => {
                out.errors.push(RowError::new(row, yk, "缺少坐标 (coordinate missing)"));
                bad = true;
            }
            (Ok(None), Ok(Some(_))) => {
                out.errors.push(RowError::new(row, xk, "缺少坐标 (coordinate missing)"));
                bad = true;
            }
            _ => {}
        }
        if let Some(w) = fields.get("wkt").and_then(Value::as_str) {
            match wkt::TryFromWkt::try_from_wkt_str(w) {
                Ok(g) => match reproject(g, crs) {
                    Ok(g) => geometry = Some(g),
                    Err(e) => {
                        out.errors.push(RowError::new(row, "wkt", e));
                        bad = true;
                    }
                },
                Err(e) => {
                    out.errors.push(RowError::new(row, "wkt", format!("WKT 无效 (invalid WKT): {e}")));
                    bad = true;
                }
            }
        }
        for k in [xk, yk, "wkt"] {
            fields.remove(k);
        }
        if !bad {
            if let Some(field) = nul_field(&fields) {
                out.errors.push(RowError::new(row, &field, "含空字符 NUL (contains a NUL character)"));
                continue;
            }
            out.records.push(Record { row, fields, geometry });
        }
    }
    if swapped_rows > 0 {
        out.warnings.push(RowError::new(
            0,
            "x",
            format!(
                "{swapped_rows} 行的 X 为北坐标、Y 为东坐标（测绘习惯），已按此读取 (X read as northing, Y as easting, as Chinese survey tables write them)"
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gbk_utf8_and_boms_are_detected() {
        let (gbk, _, _) = encoding_rs::GBK.encode("名称,经度\n敬老院,86.2\n");
        assert_eq!(decode(&gbk).unwrap(), ("名称,经度\n敬老院,86.2\n".to_string(), "GB18030"));
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice("名称".as_bytes());
        assert_eq!(decode(&bom).unwrap(), ("名称".to_string(), "UTF-8 (BOM)"));
        assert_eq!(decode("名称".as_bytes()).unwrap().1, "UTF-8");
        assert!(decode(&[0x81, 0x20, 0xFF, 0xFF]).is_err());
    }

    #[test]
    fn csv_rows_are_numbered_as_a_spreadsheet_shows_them_and_reprojected() {
        let text = "名称,类型,X,Y\n甲,care_home,4907460.476,436957.198\n乙,care_home,oops,436957.198\n";
        let r = read(text.as_bytes(), None, Some(Crs::Epsg4538));
        assert_eq!(r.format, Format::Csv);
        assert_eq!(r.records.len(), 1);
        let Some(Geometry::Point(p)) = r.records[0].geometry else { panic!("a point") };
        assert!((p.x() - 86.21).abs() < 1e-8 && (p.y() - 44.30).abs() < 1e-8, "{p:?}");
        assert_eq!(r.records[0].fields["name"], "甲");
        assert_eq!(r.errors, vec![RowError::new(3, "x", "'oops' 不是数值 (not a number)")]);
        assert_eq!(r.warnings.len(), 1, "X/Y read as survey northing/easting");
    }
}
