//! Coordinate reference systems at the edges (import, export, OGC output, GCJ-02).
//!
//! The registry keeps CGCS2000 longitude/latitude (EPSG:4490 in GIS axis order).
//! CGCS2000 and WGS84 differ by centimetres and are treated as one datum (docs/API.md),
//! so CRS84, EPSG:4326 and EPSG:4490 share coordinates; EPSG:4538 (CGCS2000 3-degree
//! Gauss-Krüger, CM 87°E, Manas's zone) goes through PROJ; GCJ-02 through
//! [`super::gcj02`].
//!
//! `proj::Proj` is neither `Send` nor `Sync`: a [`Transformer`] lives in one thread
//! (a cache per thread), never in shared state, never across an `.await`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CrsError {
    #[error("cannot set up the transformation {from} → {to}: {message}")]
    Setup { from: String, to: String, message: String },
    #[error("cannot transform ({x}, {y}): {message}")]
    Transform { x: f64, y: f64, message: String },
}

/// A CRS diming reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Crs {
    /// OGC CRS84: WGS84 longitude, latitude (GeoJSON's own).
    Crs84,
    /// CGCS2000 geographic; authority axis order latitude, longitude.
    Epsg4490,
    /// WGS84 geographic; authority axis order latitude, longitude.
    Epsg4326,
    /// CGCS2000 / 3-degree Gauss-Krüger CM 87E, metres; authority axis order northing, easting.
    Epsg4538,
    /// The GCJ-02 datum of Chinese web maps, longitude, latitude.
    Gcj02,
}

impl Crs {
    /// The CRSs OGC API Features offers (Part 2), default first.
    pub const OGC: [Crs; 4] = [Crs::Crs84, Crs::Epsg4490, Crs::Epsg4326, Crs::Epsg4538];

    /// The OGC URI (`http://www.opengis.net/def/crs/…`); GCJ-02 has none and gets a name.
    pub fn uri(self) -> &'static str {
        match self {
            Crs::Crs84 => "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
            Crs::Epsg4490 => "http://www.opengis.net/def/crs/EPSG/0/4490",
            Crs::Epsg4326 => "http://www.opengis.net/def/crs/EPSG/0/4326",
            Crs::Epsg4538 => "http://www.opengis.net/def/crs/EPSG/0/4538",
            Crs::Gcj02 => "GCJ-02",
        }
    }

    /// The short name: `CRS84`, `EPSG:4490`…, `GCJ-02`.
    pub fn code(self) -> &'static str {
        match self {
            Crs::Crs84 => "OGC:CRS84",
            Crs::Epsg4490 => "EPSG:4490",
            Crs::Epsg4326 => "EPSG:4326",
            Crs::Epsg4538 => "EPSG:4538",
            Crs::Gcj02 => "GCJ-02",
        }
    }

    /// The names a query parameter may give this CRS (ASCII case aside): the OGC URI,
    /// the `AUTHORITY:CODE` code and the bare code.
    pub fn spellings(self) -> &'static [&'static str] {
        match self {
            Crs::Crs84 => {
                &["http://www.opengis.net/def/crs/OGC/1.3/CRS84", "OGC:CRS84", "CRS84", "urn:ogc:def:crs:OGC:1.3:CRS84"]
            }
            Crs::Epsg4490 => {
                &["http://www.opengis.net/def/crs/EPSG/0/4490", "EPSG:4490", "4490", "urn:ogc:def:crs:EPSG::4490"]
            }
            Crs::Epsg4326 => {
                &["http://www.opengis.net/def/crs/EPSG/0/4326", "EPSG:4326", "4326", "urn:ogc:def:crs:EPSG::4326"]
            }
            Crs::Epsg4538 => {
                &["http://www.opengis.net/def/crs/EPSG/0/4538", "EPSG:4538", "4538", "urn:ogc:def:crs:EPSG::4538"]
            }
            Crs::Gcj02 => &["GCJ-02", "GCJ02"],
        }
    }

    /// Read a CRS named by a request parameter: exactly one of its `spellings`
    /// (ASCII case ignored), as the OpenAPI document enumerates them.
    pub fn from_param(s: &str) -> Option<Crs> {
        [Crs::Crs84, Crs::Epsg4490, Crs::Epsg4326, Crs::Epsg4538, Crs::Gcj02]
            .into_iter()
            .find(|c| c.spellings().iter().any(|n| n.eq_ignore_ascii_case(s)))
    }

    /// Read a CRS from a URI, a URN or a short code (`EPSG:4538`, `4538`, `CRS84`,
    /// `GCJ-02`), as files name them (a GeoJSON `crs` member, a `.prj`-like header).
    pub fn parse(s: &str) -> Option<Crs> {
        let t = s.trim().trim_start_matches('<').trim_end_matches('>').to_ascii_uppercase();
        let tail = t.rsplit(['/', ':']).find(|p| !p.is_empty()).unwrap_or("").to_string();
        let epsg = t.contains("EPSG") || t.chars().all(|c| c.is_ascii_digit());
        match (tail.as_str(), epsg) {
            ("CRS84", _) | ("WGS84", _) => Some(Crs::Crs84),
            ("4490", true) => Some(Crs::Epsg4490),
            ("4326", true) => Some(Crs::Epsg4326),
            ("4538", true) => Some(Crs::Epsg4538),
            _ if t == "GCJ-02" || t == "GCJ02" => Some(Crs::Gcj02),
            _ => None,
        }
    }

    /// Whether the authority defines the first axis as north (latitude or northing):
    /// OGC API Part 2 answers in that order; GIS files (GeoJSON, CSV x/y) do not.
    pub fn north_first(self) -> bool {
        matches!(self, Crs::Epsg4490 | Crs::Epsg4326 | Crs::Epsg4538)
    }

    /// Metres (projected) rather than degrees.
    pub fn is_projected(self) -> bool {
        self == Crs::Epsg4538
    }

    /// CGCS2000 longitude/latitude bounds where this CRS is meant to be used, if limited.
    pub fn area_of_use(self) -> Option<[f64; 4]> {
        match self {
            // EPSG's area of use for 4538: China between 85.5°E and 88.5°E.
            Crs::Epsg4538 => Some([85.5, 26.0, 88.5, 49.0]),
            _ => None,
        }
    }
}

/// One leg of a transformation to or from the registry's lon/lat.
enum Leg {
    Identity,
    Proj(proj::Proj),
    ToGcj,
    FromGcj,
}

impl Leg {
    fn apply(&self, (x, y): (f64, f64)) -> Result<(f64, f64), CrsError> {
        match self {
            Leg::Identity => Ok((x, y)),
            Leg::Proj(p) => p.convert((x, y)).map_err(|e| CrsError::Transform { x, y, message: e.to_string() }),
            Leg::ToGcj => Ok(super::gcj02::from_wgs84(x, y)),
            Leg::FromGcj => Ok(super::gcj02::to_wgs84(x, y)),
        }
    }
}

/// Converts points between two CRSs in GIS axis order (lon/lat, easting/northing).
pub struct Transformer {
    /// From the source CRS to the registry's lon/lat.
    inbound: Leg,
    /// From the registry's lon/lat to the target CRS.
    outbound: Leg,
}

fn proj_leg(from: &str, to: &str) -> Result<Leg, CrsError> {
    proj::Proj::new_known_crs(from, to, None).map(Leg::Proj).map_err(|e| CrsError::Setup {
        from: from.into(),
        to: to.into(),
        message: e.to_string(),
    })
}

impl Transformer {
    pub fn new(from: Crs, to: Crs) -> Result<Self, CrsError> {
        let inbound = match from {
            Crs::Crs84 | Crs::Epsg4490 | Crs::Epsg4326 => Leg::Identity,
            Crs::Epsg4538 if to == Crs::Epsg4538 => Leg::Identity,
            Crs::Epsg4538 => proj_leg("EPSG:4538", "EPSG:4490")?,
            Crs::Gcj02 if to == Crs::Gcj02 => Leg::Identity,
            Crs::Gcj02 => Leg::FromGcj,
        };
        let outbound = match to {
            _ if from == to => Leg::Identity,
            Crs::Crs84 | Crs::Epsg4490 | Crs::Epsg4326 => Leg::Identity,
            Crs::Epsg4538 => proj_leg("EPSG:4490", "EPSG:4538")?,
            Crs::Gcj02 => Leg::ToGcj,
        };
        Ok(Transformer { inbound, outbound })
    }

    /// Nothing to do: source and target share coordinates.
    pub fn is_identity(&self) -> bool {
        matches!((&self.inbound, &self.outbound), (Leg::Identity, Leg::Identity))
    }

    pub fn convert(&self, p: (f64, f64)) -> Result<(f64, f64), CrsError> {
        self.outbound.apply(self.inbound.apply(p)?)
    }

    /// Run `f` with this thread's transformer for `from → to`, made once per thread.
    pub fn with<R>(from: Crs, to: Crs, f: impl FnOnce(&Transformer) -> R) -> Result<R, CrsError> {
        thread_local! {
            static CACHE: RefCell<HashMap<(Crs, Crs), Rc<Transformer>>> = RefCell::new(HashMap::new());
        }
        let t = CACHE.with(|c| -> Result<Rc<Transformer>, CrsError> {
            if let Some(t) = c.borrow().get(&(from, to)) {
                return Ok(t.clone());
            }
            let t = Rc::new(Transformer::new(from, to)?);
            c.borrow_mut().insert((from, to), t.clone());
            Ok(t)
        })?;
        Ok(f(&t))
    }
}

/// Transform `(x, y)` points from one CRS to another, in GIS axis order.
pub fn transform(from: Crs, to: Crs, points: &[(f64, f64)]) -> Result<Vec<(f64, f64)>, CrsError> {
    Transformer::with(from, to, |t| points.iter().map(|&p| t.convert(p)).collect())?
}

/// Transform every position of a GeoJSON value in place: a Feature, a
/// FeatureCollection, a Geometry or any object holding them. With
/// `north_first`, positions are written latitude/northing first.
pub fn transform_geojson(value: &mut serde_json::Value, t: &Transformer, north_first: bool) -> Result<(), CrsError> {
    use serde_json::Value;
    fn positions(v: &mut Value, t: &Transformer, swap: bool) -> Result<(), CrsError> {
        let Value::Array(items) = v else { return Ok(()) };
        if items.first().is_some_and(Value::is_number) {
            if let [first, second, ..] = items.as_mut_slice() {
                if let (Some(x), Some(y)) = (first.as_f64(), second.as_f64()) {
                    let (x, y) = t.convert((x, y))?;
                    let (a, b) = if swap { (y, x) } else { (x, y) };
                    *first = number(a);
                    *second = number(b);
                }
            }
            return Ok(());
        }
        items.iter_mut().try_for_each(|i| positions(i, t, swap))
    }
    match value {
        Value::Object(map) => {
            let is_geometry = map.get("type").and_then(Value::as_str).is_some_and(|ty| {
                matches!(ty, "Point" | "MultiPoint" | "LineString" | "MultiLineString" | "Polygon" | "MultiPolygon")
            });
            if is_geometry {
                if let Some(c) = map.get_mut("coordinates") {
                    positions(c, t, north_first)?;
                }
                return Ok(());
            }
            for key in ["geometry", "geometries", "features"] {
                if let Some(v) = map.get_mut(key) {
                    transform_geojson(v, t, north_first)?;
                }
            }
            Ok(())
        }
        Value::Array(items) => items.iter_mut().try_for_each(|i| transform_geojson(i, t, north_first)),
        _ => Ok(()),
    }
}

fn number(x: f64) -> serde_json::Value {
    serde_json::Number::from_f64(x).map(serde_json::Value::Number).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgcs2000_to_gauss_kruger_zone_29_matches_the_known_values() {
        // Checked on these machines (docs/ARCHITECTURE.md): (86.21, 44.30) → E 436957.198, N 4907460.476.
        let out = transform(Crs::Epsg4490, Crs::Epsg4538, &[(86.21, 44.30)]).expect("proj");
        let (e, n) = out[0];
        assert!((e - 436_957.198).abs() < 0.01 && (n - 4_907_460.476).abs() < 0.01, "{e} {n}");
        let back = transform(Crs::Epsg4538, Crs::Epsg4490, &out).expect("proj");
        assert!((back[0].0 - 86.21).abs() < 1e-9 && (back[0].1 - 44.30).abs() < 1e-9);
    }

    #[test]
    fn crs_names_in_every_spelling_clients_use() {
        for (s, c) in [
            ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", Crs::Crs84),
            ("<http://www.opengis.net/def/crs/EPSG/0/4538>", Crs::Epsg4538),
            ("urn:ogc:def:crs:EPSG::4490", Crs::Epsg4490),
            ("EPSG:4326", Crs::Epsg4326),
            ("epsg:4538", Crs::Epsg4538),
            ("4490", Crs::Epsg4490),
            ("OGC:CRS84", Crs::Crs84),
            ("gcj-02", Crs::Gcj02),
        ] {
            assert_eq!(Crs::parse(s), Some(c), "{s}");
        }
        for s in ["EPSG:3857", "", "4491", "http://www.opengis.net/def/crs/EPSG/0/2000"] {
            assert_eq!(Crs::parse(s), None, "{s}");
        }
        for c in Crs::OGC {
            assert_eq!(Crs::parse(c.uri()), Some(c));
            assert_eq!(Crs::parse(c.code()), Some(c));
        }
    }

    #[test]
    fn geojson_positions_are_transformed_and_swapped_for_authority_order() {
        let mut v = serde_json::json!({"type": "Feature", "properties": {"lon": 1},
            "geometry": {"type": "MultiPolygon", "coordinates": [[[[86.21, 44.30], [86.22, 44.30], [86.21, 44.31], [86.21, 44.30]]]]}});
        Transformer::with(Crs::Crs84, Crs::Epsg4538, |t| transform_geojson(&mut v, t, true)).unwrap().unwrap();
        let first = &v["geometry"]["coordinates"][0][0][0];
        assert!((first[0].as_f64().unwrap() - 4_907_460.476).abs() < 0.01, "{first}");
        assert!((first[1].as_f64().unwrap() - 436_957.198).abs() < 0.01, "{first}");
        assert_eq!(v["properties"]["lon"], 1);
    }
}
