//! The county-level units a snapshot holds, each with where it lies (prefecture,
//! province, bounding box), what it holds, and which of its parts are still
//! sample data: what the region picker lists and what decides where the page and
//! the API show the 示例数据 label. Built once per snapshot, in one pass.

use crate::domain::{Division, DivisionLevel, Facility, Provenance, Settlement};
use geo::BoundingRect;
use geo_types::Geometry;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Which layers of a county still hold synthetic (sample) parts. A layer that is
/// `false` is fully real or registered: no 示例数据 label is shown for it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct SampleLayers {
    /// Some township-level polygon is synthetic.
    pub township_boundaries: bool,
    /// Some village-level seat or settlement point is synthetic.
    pub village_points: bool,
    /// Some settlement's population figures are synthetic.
    pub populations: bool,
    /// Some facility is synthetic.
    pub facilities: bool,
}

impl SampleLayers {
    pub fn any(&self) -> bool {
        self.township_boundaries || self.village_points || self.populations || self.facilities
    }
    pub fn or(self, o: SampleLayers) -> SampleLayers {
        SampleLayers {
            township_boundaries: self.township_boundaries || o.township_boundaries,
            village_points: self.village_points || o.village_points,
            populations: self.populations || o.populations,
            facilities: self.facilities || o.facilities,
        }
    }
}

/// One county-level unit of the registry.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CountySummary {
    #[schema(example = "652324")]
    pub code: String,
    #[schema(example = "玛纳斯县")]
    pub name: String,
    /// The prefecture-level unit (4 digits), where the record names it.
    #[schema(example = "6523")]
    pub prefecture_code: Option<String>,
    #[schema(example = "昌吉回族自治州")]
    pub prefecture_name: Option<String>,
    /// The province-level unit (2 digits), where the record names it.
    #[schema(example = "65")]
    pub province_code: Option<String>,
    #[schema(example = "新疆维吾尔自治区")]
    pub province_name: Option<String>,
    /// `[min lon, min lat, max lon, max lat]` of the outline (or of what the county
    /// holds where it has none); null when nothing of it has a geometry.
    pub bbox: Option<[f64; 4]>,
    pub townships: usize,
    pub villages: usize,
    pub settlements: usize,
    pub facilities: usize,
    /// Residents of its settlements, where known.
    pub population: u64,
    /// Which of its layers still hold sample data.
    pub sample_data: SampleLayers,
    /// Its synthetic facilities (what `sample_data.facilities` says), kept so one
    /// facility write updates the summary without a recount.
    #[serde(skip)]
    pub synthetic_facilities: usize,
}

/// Count one facility in (`delta` 1) or out (`delta` -1) of its county's summary.
pub fn count_facility(counties: &mut [CountySummary], f: &Facility, delta: isize) {
    let code = county_of(f.township_code.as_str());
    let Ok(i) = counties.binary_search_by(|c| c.code.as_str().cmp(code)) else { return };
    let Some(c) = counties.get_mut(i) else { return };
    c.facilities = c.facilities.saturating_add_signed(delta);
    if f.provenance == Provenance::Synthetic {
        c.synthetic_facilities = c.synthetic_facilities.saturating_add_signed(delta);
    }
    c.sample_data.facilities = c.synthetic_facilities > 0;
}

fn prop(d: &Division, key: &str) -> Option<String> {
    d.properties.get(key).and_then(|v| v.as_str()).filter(|s| !s.is_empty()).map(str::to_string)
}

fn grow(b: &mut Option<[f64; 4]>, r: geo_types::Rect<f64>) {
    let (lo, hi) = (r.min(), r.max());
    *b = Some(match *b {
        None => [lo.x, lo.y, hi.x, hi.y],
        Some([a, c, e, g]) => [a.min(lo.x), c.min(lo.y), e.max(hi.x), g.max(hi.y)],
    });
}

/// The county of a 9- or 12-digit code: its first six digits.
fn county_of(code: &str) -> &str {
    code.get(..6).unwrap_or(code)
}

/// Every county-level unit of the records, in code order.
pub fn summarize<'a>(
    divisions: impl Iterator<Item = &'a Division>,
    settlements: impl Iterator<Item = &'a Settlement>,
    facilities: impl Iterator<Item = &'a Facility>,
) -> Vec<CountySummary> {
    let synthetic = Some(Provenance::Synthetic);
    let mut out: BTreeMap<String, CountySummary> = BTreeMap::new();
    let mut held_bbox: BTreeMap<String, Option<[f64; 4]>> = BTreeMap::new();
    let mut others = Vec::new();
    for d in divisions {
        if d.level == DivisionLevel::County {
            let mut bbox = None;
            if let Some(r) = d.geometry.as_ref().and_then(Geometry::bounding_rect) {
                grow(&mut bbox, r);
            }
            out.insert(
                d.code.to_string(),
                CountySummary {
                    code: d.code.to_string(),
                    name: d.name.clone(),
                    prefecture_code: prop(d, "prefecture_code"),
                    prefecture_name: prop(d, "prefecture_name"),
                    province_code: prop(d, "province_code"),
                    province_name: prop(d, "province_name"),
                    bbox,
                    townships: 0,
                    villages: 0,
                    settlements: 0,
                    facilities: 0,
                    population: 0,
                    sample_data: SampleLayers::default(),
                    synthetic_facilities: 0,
                },
            );
        } else {
            others.push(d);
        }
    }
    for d in others {
        let Some(c) = out.get_mut(county_of(d.code.as_str())) else { continue };
        match d.level {
            DivisionLevel::Township => {
                c.townships += 1;
                c.sample_data.township_boundaries |= d.geometry_provenance == synthetic;
            }
            DivisionLevel::Village => {
                c.villages += 1;
                c.sample_data.village_points |= d.geometry_provenance == synthetic;
            }
            DivisionLevel::County => {}
        }
        if let Some(r) = d.geometry.as_ref().and_then(Geometry::bounding_rect) {
            grow(held_bbox.entry(c.code.clone()).or_default(), r);
        }
    }
    for s in settlements {
        let Some(c) = out.get_mut(county_of(s.code.as_str())) else { continue };
        c.settlements += 1;
        c.population += s.population.unwrap_or(0);
        c.sample_data.village_points |= s.location_provenance == Provenance::Synthetic;
        c.sample_data.populations |= s.population_provenance == synthetic;
    }
    for f in facilities {
        let Some(c) = out.get_mut(county_of(f.township_code.as_str())) else { continue };
        c.facilities += 1;
        if f.provenance == Provenance::Synthetic {
            c.synthetic_facilities += 1;
        }
        c.sample_data.facilities = c.synthetic_facilities > 0;
    }
    for (code, b) in held_bbox {
        if let Some(c) = out.get_mut(&code).filter(|c| c.bbox.is_none()) {
            c.bbox = b;
        }
    }
    out.into_values().collect()
}
