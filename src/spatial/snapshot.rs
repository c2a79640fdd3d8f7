//! The snapshot: one consistent, read-only picture of the registry with its
//! indexes and each record's GeoJSON rendered once (through the types of
//! `spatial::features`), swapped in whole after every committed write (readers
//! hold an `Arc` and never wait).

use super::facility_layer::{FacilityBase, FacilityLayer};
use super::features::{DivisionFeature, FacilityFeature, SettlementFeature};
use super::points::{Hit, StatusSet};
use super::polygons::{PolygonIndex, RingEdges};
use crate::domain::{Division, DivisionLevel, Facility, FacilityKind, Settlement};
use geo_types::{Geometry, MultiPolygon};
use rstar::primitives::GeomWithData;
use rstar::{RTree, AABB};
use std::collections::HashMap;
use std::sync::Arc;

pub struct DivisionEntry {
    pub division: Division,
    /// The whole GeoJSON Feature.
    pub feature_json: String,
    /// Geodesic area, km², for county and township polygons.
    pub area_km2: Option<f64>,
}

pub struct SettlementEntry {
    pub settlement: Settlement,
    pub feature_json: String,
}

pub struct FacilityEntry {
    pub facility: Facility,
    /// `{"type":"Feature",…,"properties":{` — a distance can be spliced in after it.
    pub feature_head: String,
    /// `"id":…}}` — the properties and the closing braces.
    pub feature_tail: String,
}

impl FacilityEntry {
    pub fn feature_json(&self) -> String {
        let mut s = String::with_capacity(self.feature_head.len() + self.feature_tail.len());
        s.push_str(&self.feature_head);
        s.push_str(&self.feature_tail);
        s
    }
}

pub struct Snapshot {
    /// Increases with every change; caches derived from a snapshot key on it.
    pub generation: u64,
    /// The change sequence (audit id) this snapshot includes.
    pub sequence: i64,
    /// Divisions and settlements: shared by every snapshot until one of them changes.
    areas: Arc<Areas>,
    /// Facilities: a base and the writes since (`facility_layer`).
    facilities: FacilityLayer,
    counties_held: Arc<Vec<super::counties::CountySummary>>,
}

/// What only a division or settlement change (an import, `init`) rebuilds.
struct Areas {
    divisions: Vec<DivisionEntry>,
    division_by_code: HashMap<String, usize>,
    counties: PolygonIndex,
    county_div: Vec<usize>,
    townships: PolygonIndex,
    township_div: Vec<usize>,
    settlements: Vec<SettlementEntry>,
    settlement_by_code: HashMap<String, usize>,
    /// Settlement points (lon/lat) with their index in `settlements`.
    settlement_points: RTree<GeomWithData<[f64; 2], u32>>,
}

impl Snapshot {
    pub fn build(
        generation: u64,
        mut divisions: Vec<Division>,
        mut settlements: Vec<Settlement>,
        mut facilities: Vec<Facility>,
    ) -> Self {
        divisions.sort_by(|a, b| a.code.cmp(&b.code));
        settlements.sort_by(|a, b| a.code.cmp(&b.code));
        facilities.sort_by(|a, b| a.id.cmp(&b.id));
        let counties_held = super::counties::summarize(divisions.iter(), settlements.iter(), facilities.iter());
        let names: HashMap<String, String> =
            divisions.iter().map(|d| (d.code.as_str().to_string(), d.name.clone())).collect();

        // Parsing outlines, their areas and edge indexes, and rendering are per
        // division: done in as many contiguous slices as there are cores.
        let prepared = in_parallel(divisions, |d| {
            let mp = as_multipolygon(d.geometry.as_ref());
            let area_km2 = mp.as_ref().map(super::geodesic::multipolygon_area_km2);
            let edges = match d.level {
                DivisionLevel::County | DivisionLevel::Township => mp.as_ref().map(RingEdges::new),
                DivisionLevel::Village => None,
            };
            (DivisionEntry { feature_json: render_division(&d, area_km2), division: d, area_km2 }, edges)
        });
        let mut county_polys = Vec::new();
        let mut county_div = Vec::new();
        let mut township_polys = Vec::new();
        let mut township_div = Vec::new();
        let mut divisions = Vec::with_capacity(prepared.len());
        for (i, (entry, edges)) in prepared.into_iter().enumerate() {
            if let Some(edges) = edges {
                if entry.division.level == DivisionLevel::County {
                    county_polys.push(edges);
                    county_div.push(i);
                } else {
                    township_polys.push(edges);
                    township_div.push(i);
                }
            }
            divisions.push(entry);
        }
        let division_by_code = divisions.iter().enumerate().map(|(i, d)| (d.division.code.to_string(), i)).collect();
        tracing::debug!("divisions rendered");

        let settlements: Vec<SettlementEntry> = in_parallel(settlements, |s| SettlementEntry {
            feature_json: render_settlement(&s, &names),
            settlement: s,
        });
        let settlement_by_code =
            settlements.iter().enumerate().map(|(i, s)| (s.settlement.code.to_string(), i)).collect();
        let settlement_points = RTree::bulk_load(
            settlements
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let p = [s.settlement.location.lon(), s.settlement.location.lat()];
                    GeomWithData::new(p, u32::try_from(i).unwrap_or(u32::MAX))
                })
                .collect(),
        );
        tracing::debug!("settlements rendered");

        let facilities: Vec<FacilityEntry> = facilities
            .into_iter()
            .map(|f| {
                let (feature_head, feature_tail) = render_facility(&f, names.get(f.township_code.as_str()));
                FacilityEntry { facility: f, feature_head, feature_tail }
            })
            .collect();

        Self {
            generation,
            sequence: 0,
            areas: Arc::new(Areas {
                divisions,
                division_by_code,
                counties: PolygonIndex::new(county_polys),
                county_div,
                townships: PolygonIndex::new(township_polys),
                township_div,
                settlements,
                settlement_by_code,
                settlement_points,
            }),
            facilities: FacilityLayer::new(FacilityBase::new(facilities)),
            counties_held: Arc::new(counties_held),
        }
    }

    /// This snapshot with one facility written (created, or changed in place of the
    /// one with its id): costs what the facility delta holds, not the registry.
    pub fn with_facility(&self, generation: u64, f: Facility) -> Snapshot {
        let mut counties = (*self.counties_held).clone();
        if let Some(old) = self.facility(&f.id) {
            super::counties::count_facility(&mut counties, &old.facility, -1);
        }
        super::counties::count_facility(&mut counties, &f, 1);
        let name = self.division(f.township_code.as_str()).map(|d| &d.division.name);
        let (feature_head, feature_tail) = render_facility(&f, name);
        Snapshot {
            generation,
            sequence: self.sequence,
            areas: self.areas.clone(),
            facilities: self.facilities.with(FacilityEntry { facility: f, feature_head, feature_tail }),
            counties_held: Arc::new(counties),
        }
    }

    /// The same picture with another facility layer (a merge's new base) and the
    /// same generation: every answer is unchanged.
    pub fn with_facility_layer(&self, facilities: FacilityLayer) -> Snapshot {
        Snapshot {
            generation: self.generation,
            sequence: self.sequence,
            areas: self.areas.clone(),
            facilities,
            counties_held: self.counties_held.clone(),
        }
    }

    /// The facilities, for a merge.
    pub fn facility_layer(&self) -> &FacilityLayer {
        &self.facilities
    }

    /// The county-level units held, in code order.
    pub fn counties(&self) -> &[super::counties::CountySummary] {
        &self.counties_held
    }
    pub fn county(&self, code: &str) -> Option<&super::counties::CountySummary> {
        self.counties_held.binary_search_by(|c| c.code.as_str().cmp(code)).ok().and_then(|i| self.counties_held.get(i))
    }

    pub fn divisions(&self) -> &[DivisionEntry] {
        &self.areas.divisions
    }
    pub fn division(&self, code: &str) -> Option<&DivisionEntry> {
        self.areas.division_by_code.get(code).and_then(|&i| self.areas.divisions.get(i))
    }
    pub fn settlements(&self) -> &[SettlementEntry] {
        &self.areas.settlements
    }
    pub fn settlement(&self, code: &str) -> Option<&SettlementEntry> {
        self.areas.settlement_by_code.get(code).and_then(|&i| self.areas.settlements.get(i))
    }
    /// Every facility, in id order.
    pub fn facilities(&self) -> impl Iterator<Item = &FacilityEntry> + '_ {
        self.facilities.iter()
    }
    /// The facilities whose id sorts after `after`, in id order (a keyset page),
    /// less the first `skip` (positioned, not walked).
    pub fn facilities_after<'a>(
        &'a self,
        after: Option<&str>,
        skip: usize,
    ) -> impl Iterator<Item = &'a FacilityEntry> + 'a {
        self.facilities.iter_after_skip(after, skip)
    }
    /// The divisions whose code sorts after `after`, in code order.
    pub fn divisions_after(&self, after: Option<&str>) -> &[DivisionEntry] {
        let all = &self.areas.divisions;
        let start = after.map_or(0, |a| all.partition_point(|d| d.division.code.as_str() <= a));
        all.get(start..).unwrap_or_default()
    }
    /// The settlements whose code sorts after `after`, in code order.
    pub fn settlements_after(&self, after: Option<&str>) -> &[SettlementEntry] {
        let all = &self.areas.settlements;
        let start = after.map_or(0, |a| all.partition_point(|s| s.settlement.code.as_str() <= a));
        all.get(start..).unwrap_or_default()
    }
    /// How many facilities.
    pub fn facility_count(&self) -> usize {
        self.facilities.len()
    }
    pub fn facility(&self, id: &str) -> Option<&FacilityEntry> {
        self.facilities.get(id)
    }
    /// The facility behind a `Hit` or a slot from this snapshot's queries.
    ///
    /// # Panics
    /// If `idx` is not a slot of this snapshot's facilities (a caller's bug: slots
    /// come from this snapshot's own queries).
    #[expect(clippy::expect_used, reason = "slots come from this snapshot's own queries")]
    pub fn facility_at(&self, idx: u32) -> &FacilityEntry {
        self.facilities.at(idx).expect("a slot of this snapshot")
    }

    /// The `limit` nearest facilities (of `kind` if given), exact geodesic order.
    pub fn nearest(
        &self,
        at: [f64; 2],
        kind: Option<FacilityKind>,
        limit: usize,
        max_distance_m: Option<f64>,
        statuses: StatusSet,
    ) -> Vec<Hit> {
        self.facilities.nearest(at, kind, limit, max_distance_m, statuses)
    }

    /// Every facility (of `kind` if given) within `radius_m`, nearest first.
    pub fn within(&self, at: [f64; 2], kind: Option<FacilityKind>, radius_m: f64, statuses: StatusSet) -> Vec<Hit> {
        self.facilities.within(at, kind, radius_m, statuses)
    }

    /// Facilities inside a lon/lat box, in id order.
    pub fn facilities_in_bbox(&self, bbox: [f64; 4], kind: Option<FacilityKind>, statuses: StatusSet) -> Vec<u32> {
        self.facilities.in_bbox(bbox, kind, statuses)
    }

    /// The brute-force oracle over one kind's facilities (tests only).
    pub fn nearest_brute_force(&self, at: [f64; 2], kind: Option<FacilityKind>, statuses: StatusSet) -> Vec<Hit> {
        self.facilities.brute_force(at, kind, statuses)
    }

    /// The counties or townships whose outline's bounding box meets `bbox`
    /// (`[west, south, east, north]`), in code order; none for other levels.
    pub fn divisions_in_bbox(&self, level: DivisionLevel, bbox: [f64; 4]) -> Vec<&DivisionEntry> {
        let (index, div) = match level {
            DivisionLevel::County => (&self.areas.counties, &self.areas.county_div),
            DivisionLevel::Township => (&self.areas.townships, &self.areas.township_div),
            DivisionLevel::Village => return Vec::new(),
        };
        index.intersecting(bbox).into_iter().filter_map(|i| self.division_of(div, i)).collect()
    }

    /// The settlements inside a lon/lat box, in code order.
    pub fn settlements_in_bbox(&self, bbox: [f64; 4]) -> Vec<&SettlementEntry> {
        let window = AABB::from_corners([bbox[0], bbox[1]], [bbox[2], bbox[3]]);
        let mut idx: Vec<u32> = self.areas.settlement_points.locate_in_envelope(&window).map(|p| p.data).collect();
        idx.sort_unstable();
        idx.into_iter().filter_map(|i| self.areas.settlements.get(i as usize)).collect()
    }

    /// Divisions containing the point, largest first: the county, then the
    /// township. A point on a border shared by two townships is in exactly one
    /// (see `spatial::polygons` for the rule).
    pub fn locate(&self, lon: f64, lat: f64) -> Vec<&DivisionEntry> {
        let mut out = Vec::with_capacity(2);
        let township = self.township_at(lon, lat);
        let county = match township.and_then(|t| t.division.parent_code.as_ref()) {
            Some(parent) => self.division(parent.as_str()),
            None => self.areas.counties.locate(lon, lat).and_then(|i| self.division_of(&self.areas.county_div, i)),
        };
        out.extend(county);
        out.extend(township);
        out
    }

    /// The township containing the point, by the same rule as `locate`.
    pub fn township_at(&self, lon: f64, lat: f64) -> Option<&DivisionEntry> {
        self.areas.townships.locate(lon, lat).and_then(|i| self.division_of(&self.areas.township_div, i))
    }

    /// The division of polygon `i` of `counties` or `townships` (`polygon_div` is
    /// the matching `county_div` or `township_div`).
    fn division_of(&self, polygon_div: &[usize], i: usize) -> Option<&DivisionEntry> {
        polygon_div.get(i).and_then(|&d| self.areas.divisions.get(d))
    }

    /// The oracle for `township_at`: every township polygon, every edge.
    pub fn township_at_brute_force(&self, lon: f64, lat: f64) -> Option<&DivisionEntry> {
        self.areas.townships.locate_brute_force(lon, lat).and_then(|i| self.division_of(&self.areas.township_div, i))
    }
}

/// `f` over `items` on every core (contiguous slices, one scoped thread each), the
/// results in the items' order.
fn in_parallel<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    if threads < 2 || items.len() < 1_000 {
        return items.into_iter().map(f).collect();
    }
    let per = items.len().div_ceil(threads);
    let mut slices: Vec<Vec<T>> = Vec::with_capacity(threads);
    let mut rest = items.into_iter();
    loop {
        let slice: Vec<T> = rest.by_ref().take(per).collect();
        if slice.is_empty() {
            break;
        }
        slices.push(slice);
    }
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            slices.into_iter().map(|slice| scope.spawn(move || slice.into_iter().map(f).collect::<Vec<R>>())).collect();
        let mut out = Vec::new();
        for h in handles {
            match h.join() {
                Ok(part) => out.extend(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        out
    })
}

fn as_multipolygon(g: Option<&Geometry<f64>>) -> Option<MultiPolygon<f64>> {
    match g? {
        Geometry::MultiPolygon(mp) => Some(mp.clone()),
        Geometry::Polygon(p) => Some(MultiPolygon(vec![p.clone()])),
        _ => None,
    }
}

fn render_division(d: &Division, area_km2: Option<f64>) -> String {
    DivisionFeature::new(d, area_km2).to_json()
}

fn render_settlement(s: &Settlement, names: &HashMap<String, String>) -> String {
    SettlementFeature::new(s, names.get(s.township_code.as_str()).map(String::as_str)).to_json()
}

fn render_facility(f: &Facility, township_name: Option<&String>) -> (String, String) {
    FacilityFeature::new(f, township_name.map(String::as_str)).split()
}
