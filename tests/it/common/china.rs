//! The 2,877 real county-level polygons of China (`data/china/`, see
//! `data/README.md`), for oracle tests and benchmarks at national scale.

#![allow(dead_code)]
#![allow(clippy::panic)]

use geo_types::{Geometry, MultiPolygon};
use std::io::Read;
use std::path::PathBuf;

pub struct County {
    pub adcode: String,
    pub name: String,
    pub polygon: MultiPolygon<f64>,
}

/// Where the reference data lives (the folder holding `china/`):
/// `DIMING_REFERENCE_DATA`, else the repository's own `data/`.
pub fn reference_data_dir() -> PathBuf {
    std::env::var_os("DIMING_REFERENCE_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data"))
}

pub fn read_gz(path: &std::path::Path) -> String {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let mut s = String::new();
    flate2::read::GzDecoder::new(file).read_to_string(&mut s).expect("gzip");
    s
}

pub fn counties() -> Vec<County> {
    let text = read_gz(&reference_data_dir().join("china/county_boundaries_amap_wgs84.geojson.gz"));
    let fc: geojson::FeatureCollection = serde_json::from_str(&text).expect("geojson");
    fc.features
        .into_iter()
        .map(|f| {
            let props = f.properties.clone().unwrap_or_default();
            let s = |k: &str| props.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
            let g: Geometry<f64> = Geometry::try_from(f.geometry.expect("geometry")).expect("geometry");
            let polygon = match g {
                Geometry::Polygon(p) => MultiPolygon(vec![p]),
                Geometry::MultiPolygon(mp) => mp,
                other => panic!("unexpected geometry {other:?}"),
            };
            County { adcode: s("adcode"), name: s("name"), polygon }
        })
        .collect()
}
