//! The national reference data in `data/china/` (see `data/README.md`): the five
//! NBS 2023 code tables, the county-level outlines and the GeoNames places. Read
//! for one region at a time: a province, a prefecture, a county or the country.

use super::ImportError;
use crate::config::default_dir;
use crate::domain::RegionCode;
use geo_types::{Geometry, MultiPolygon};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The folder that holds `china/`: `DIMING_REFERENCE_DATA`, else the bundled `data/`.
pub fn reference_dir() -> PathBuf {
    std::env::var_os("DIMING_REFERENCE_DATA").map(PathBuf::from).unwrap_or_else(|| default_dir("data"))
}

/// What `--region` names: the whole country, or a province (2 digits), prefecture
/// (4) or county-level unit (6) by its NBS code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Region {
    All,
    Code(RegionCode),
}

impl Region {
    /// Whether a county-level code (6 digits) lies in this region.
    pub fn holds(&self, county: &str) -> bool {
        match self {
            Region::All => true,
            Region::Code(c) => c.holds(county),
        }
    }
    pub fn as_str(&self) -> &str {
        match self {
            Region::All => "all",
            Region::Code(c) => c.as_str(),
        }
    }
    /// The area to ask questions about (`None`: the whole registry).
    pub fn area(&self) -> Option<RegionCode> {
        match self {
            Region::All => None,
            Region::Code(c) => Some(*c),
        }
    }
}

impl FromStr for Region {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "all" {
            Ok(Region::All)
        } else if let Ok(c) = s.parse::<RegionCode>() {
            Ok(Region::Code(c))
        } else {
            Err("地区代码须为 all 或 2 位（省）、4 位（地）、6 位（县）数字 \
                 (a region is `all` or a 2-, 4- or 6-digit NBS code)"
                .into())
        }
    }
}

impl std::fmt::Display for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A county-level unit of the NBS 2023 table, with its parent chain.
#[derive(Debug, Clone)]
pub struct RefCounty {
    pub code: String,
    pub name: String,
    pub prefecture_code: String,
    pub prefecture_name: String,
    pub province_code: String,
    pub province_name: String,
    /// The AMap outline with the same code, where there is one.
    pub outline: Option<MultiPolygon<f64>>,
    pub townships: Vec<RefTownship>,
}

#[derive(Debug, Clone)]
pub struct RefTownship {
    pub code: String,
    pub name: String,
    pub villages: Vec<RefUnit>,
}

#[derive(Debug, Clone)]
pub struct RefUnit {
    pub code: String,
    pub name: String,
}

/// A GeoNames populated place with its Chinese names.
#[derive(Debug, Clone)]
pub struct RefPlace {
    pub lon: f64,
    pub lat: f64,
}

/// The reference data of one region.
#[derive(Debug, Default)]
pub struct Reference {
    pub counties: Vec<RefCounty>,
    /// GeoNames places by each of their Chinese names (`乐土驿`, `乐土驿镇`).
    pub places: HashMap<String, Vec<RefPlace>>,
}

fn open_gz(path: &Path) -> Result<Box<dyn Read>, ImportError> {
    let file = std::fs::File::open(path)
        .map_err(|e| ImportError::Read { file: path.display().to_string(), message: e.to_string() })?;
    Ok(Box::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file))))
}

fn csv_rows<T: for<'de> Deserialize<'de>>(
    dir: &Path,
    name: &str,
    mut keep: impl FnMut(&T) -> bool,
) -> Result<Vec<T>, ImportError> {
    let path = dir.join(name);
    let file = path.display().to_string();
    let mut out = Vec::new();
    for row in csv::Reader::from_reader(open_gz(&path)?).deserialize::<T>() {
        let row = row.map_err(|e| ImportError::Read { file: file.clone(), message: e.to_string() })?;
        if keep(&row) {
            out.push(row);
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
struct CodeName {
    code: String,
    name: String,
}

#[derive(Deserialize)]
struct Street {
    code: String,
    name: String,
    #[serde(rename = "areaCode")]
    area_code: String,
}

#[derive(Deserialize)]
struct Village {
    code: String,
    name: String,
    #[serde(rename = "streetCode")]
    street_code: String,
}

#[derive(Deserialize)]
struct GeoNamesRow {
    zh_names: String,
    lon: f64,
    lat: f64,
}

#[derive(Deserialize)]
struct OutlineCollection<'a> {
    #[serde(borrow)]
    features: Vec<OutlineFeature<'a>>,
}

#[derive(Deserialize)]
struct OutlineFeature<'a> {
    properties: OutlineProps,
    #[serde(borrow)]
    geometry: &'a serde_json::value::RawValue,
}

#[derive(Deserialize)]
struct OutlineProps {
    adcode: String,
}

/// The county-level units of `region` with their townships, villages and outlines,
/// from `dir/china/`. A region that names no unit is an error naming the region.
pub fn read(dir: &Path, region: &Region) -> Result<Reference, ImportError> {
    let china = dir.join("china");
    let wanted = |code: &str| region.holds(code) || matches!(region, Region::Code(c) if c.as_str().starts_with(code));
    let provinces: BTreeMap<String, String> =
        csv_rows::<CodeName>(&china, "nbs2023_provinces.csv.gz", |r| wanted(&r.code))?
            .into_iter()
            .map(|r| (r.code, r.name))
            .collect();
    let prefectures: BTreeMap<String, String> =
        csv_rows::<CodeName>(&china, "nbs2023_cities.csv.gz", |r| wanted(&r.code))?
            .into_iter()
            .map(|r| (r.code, r.name))
            .collect();
    let areas = csv_rows::<CodeName>(&china, "nbs2023_areas.csv.gz", |r| region.holds(&r.code))?;
    if areas.is_empty() {
        return Err(ImportError::Read {
            file: china.join("nbs2023_areas.csv.gz").display().to_string(),
            message: format!(
                "NBS 2023 区划代码中没有地区 {region} (no county-level unit has a code starting {region})"
            ),
        });
    }
    let mut villages: HashMap<String, Vec<RefUnit>> = HashMap::new();
    for v in csv_rows::<Village>(&china, "nbs2023_villages.csv.gz", |r| region.holds(&r.code))? {
        villages.entry(v.street_code).or_default().push(RefUnit { code: v.code, name: v.name });
    }
    let mut townships: HashMap<String, Vec<RefTownship>> = HashMap::new();
    for s in csv_rows::<Street>(&china, "nbs2023_streets.csv.gz", |r| region.holds(&r.code))? {
        let mut units = villages.remove(&s.code).unwrap_or_default();
        units.sort_by(|a, b| a.code.cmp(&b.code));
        townships.entry(s.area_code).or_default().push(RefTownship { code: s.code, name: s.name, villages: units });
    }
    let mut outlines = read_outlines(&china, region)?;
    let mut counties = Vec::with_capacity(areas.len());
    for a in areas {
        let prefecture_code = a.code.get(..4).unwrap_or_default().to_string();
        let province_code = a.code.get(..2).unwrap_or_default().to_string();
        let mut towns = townships.remove(&a.code).unwrap_or_default();
        towns.sort_by(|x, y| x.code.cmp(&y.code));
        counties.push(RefCounty {
            outline: outlines.remove(&a.code),
            prefecture_name: prefectures.get(&prefecture_code).cloned().unwrap_or_default(),
            province_name: provinces.get(&province_code).cloned().unwrap_or_default(),
            code: a.code,
            name: a.name,
            prefecture_code,
            province_code,
            townships: towns,
        });
    }
    counties.sort_by(|a, b| a.code.cmp(&b.code));
    let mut places: HashMap<String, Vec<RefPlace>> = HashMap::new();
    for p in csv_rows::<GeoNamesRow>(&china, "geonames_cn_cities500.csv.gz", |_| true)? {
        for name in p.zh_names.split('|').filter(|n| !n.is_empty()) {
            places.entry(name.to_string()).or_default().push(RefPlace { lon: p.lon, lat: p.lat });
        }
    }
    Ok(Reference { counties, places })
}

/// The prefecture and province a county-level unit lies in, by NBS 2023:
/// `[(prefecture code, name), (province code, name)]`, from the two small tables
/// of `dir/china/`; `None` where the tables cannot be read or hold no such code.
pub fn parents(dir: &Path, county: &str) -> Option<[(String, String); 2]> {
    let china = dir.join("china");
    let (pref, prov) = (county.get(..4)?, county.get(..2)?);
    let find = |file: &str, code: &str| -> Option<(String, String)> {
        let rows = csv_rows::<CodeName>(&china, file, |r| r.code == code).ok()?;
        rows.into_iter().next().map(|r| (r.code, r.name))
    };
    Some([find("nbs2023_cities.csv.gz", pref)?, find("nbs2023_provinces.csv.gz", prov)?])
}

/// The outlines of the region's county-level units, by code. Only the wanted
/// geometries are parsed.
fn read_outlines(china: &Path, region: &Region) -> Result<HashMap<String, MultiPolygon<f64>>, ImportError> {
    let path = china.join("county_boundaries_amap_wgs84.geojson.gz");
    let file = path.display().to_string();
    let mut text = String::new();
    open_gz(&path)?
        .read_to_string(&mut text)
        .map_err(|e| ImportError::Read { file: file.clone(), message: e.to_string() })?;
    let fc: OutlineCollection =
        serde_json::from_str(&text).map_err(|e| ImportError::Read { file: file.clone(), message: e.to_string() })?;
    let mut out = HashMap::new();
    for f in fc.features.into_iter().filter(|f| region.holds(&f.properties.adcode)) {
        let g: geojson::Geometry = serde_json::from_str(f.geometry.get())
            .map_err(|e| ImportError::Read { file: file.clone(), message: format!("{}: {e}", f.properties.adcode) })?;
        let geometry = crate::spatial::geojson_in::to_geo(g)
            .map_err(|e| ImportError::Read { file: file.clone(), message: format!("{}: {e}", f.properties.adcode) })?;
        let polygon = match geometry {
            Geometry::Polygon(p) => MultiPolygon(vec![p]),
            Geometry::MultiPolygon(m) => m,
            _ => continue,
        };
        out.insert(f.properties.adcode, polygon);
    }
    Ok(out)
}
