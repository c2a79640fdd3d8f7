//! Coverage benchmarks (see BENCHMARKS.md).
//!
//! * `manas/all_kinds`: the bundled Manas dataset, loaded as the app does; one
//!   iteration computes coverage for the default rule of every facility kind
//!   (open facilities, XPCC excluded). Target ≤ 5 ms.
//! * `national/*`: China's 620,573 real village-level units (NBS 2023) as
//!   settlements, each at a seeded random point inside its real county polygon
//!   (AMap), townships from their street codes, 100,000 care homes near random
//!   settlements. `coverage_care_home_10km_all_townships` (target ≤ 2 s on 2 cores)
//!   and `siting_10_picks` over a 5 km coverage (target ≤ 10 s).
//! * Baseline, timed once with `Instant` in the same run: for each of 20,000
//!   sampled settlements, scan the facilities of its own county until one is
//!   within the radius; extrapolated to all settlements.
//!
//! Everything random is seeded (ChaCha8); all setup is outside the timed loops.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/it/common/china.rs"]
mod china;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use diming::coverage::{self, CoverageOptions, Rules};
use diming::domain::{
    Division, DivisionCode, DivisionLevel, Facility, FacilityKind, FacilityStatus, LonLat, Provenance, Settlement,
};
use diming::spatial::geodesic::distance_m;
use diming::spatial::{PointIndex, PolygonIndex, RingEdges, Snapshot, StatusSet};
use geo_types::Geometry;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Map;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const FACILITIES: usize = 100_000;
/// Tries per village before giving up on a point inside its county.
const MAX_TRIES: usize = 1_000_000;
/// Settlements sampled for the naive baseline.
const BASELINE_SAMPLE: usize = 20_000;

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rules() -> Rules {
    Rules::load(&manifest().join("data/coverage_rules.toml")).expect("rules")
}

fn open_only() -> CoverageOptions {
    CoverageOptions { include_xpcc: false, statuses: StatusSet(FacilityStatus::Open.bit()), area: None }
}

fn bench_manas(c: &mut Criterion) {
    let t0 = Instant::now();
    let ds =
        diming::import::dataset::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("data/manas")).expect("dataset");
    let counts = (ds.divisions.len(), ds.settlements.len(), ds.facilities.len());
    let snap = Snapshot::build(1, ds.divisions, ds.settlements, ds.facilities);
    let rules = rules();
    let opts = open_only();
    let kinds: Vec<_> =
        FacilityKind::ALL.iter().map(|&k| rules.default_for(k).expect("default rule").clone()).collect();
    println!(
        "manas setup: {} divisions, {} settlements, {} facilities, snapshot in {:.1} ms",
        counts.0,
        counts.1,
        counts.2,
        t0.elapsed().as_secs_f64() * 1e3
    );
    // Per kind, once, for the report.
    for rule in &kinds {
        let t = Instant::now();
        let cov = coverage::compute(&snap, rule, &opts, coverage::supplies(&snap, rule, &opts));
        println!(
            "manas {:<18} {:>8.3} ms  supplies={:<3} demand={:<3} covered={}/{} ratio={:.3}",
            rule.id,
            t.elapsed().as_secs_f64() * 1e3,
            cov.supplies.len(),
            cov.results.len(),
            cov.county.settlements_covered,
            cov.county.settlements,
            cov.county.coverage_ratio
        );
    }

    let mut group = c.benchmark_group("manas");
    group.bench_function("all_kinds", |b| {
        b.iter(|| {
            kinds
                .iter()
                .map(|rule| {
                    coverage::compute(&snap, rule, &opts, coverage::supplies(&snap, rule, &opts))
                        .county
                        .settlements_covered
                })
                .sum::<usize>()
        })
    });
    group.finish();
}

/// A village row of `nbs2023_villages.csv.gz`.
struct Village {
    code: String,
    name: String,
    street: String,
    area: String,
}

fn unquote(s: &str) -> &str {
    s.trim().trim_matches('"')
}

fn read_villages(dir: &Path) -> Vec<Village> {
    let text = china::read_gz(&dir.join("china/nbs2023_villages.csv.gz"));
    let mut lines = text.lines();
    assert_eq!(
        lines.next().map(str::trim),
        Some("code,name,streetCode,provinceCode,cityCode,areaCode"),
        "villages header"
    );
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 6, "village row {l}");
            Village {
                code: unquote(f[0]).to_string(),
                name: unquote(f[1]).to_string(),
                street: unquote(f[2]).to_string(),
                area: unquote(f[5]).to_string(),
            }
        })
        .collect()
}

/// Street (township) names by code, from `nbs2023_streets.csv.gz`.
fn read_street_names(dir: &Path) -> HashMap<String, String> {
    let text = china::read_gz(&dir.join("china/nbs2023_streets.csv.gz"));
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f.len() >= 2).then(|| (unquote(f[0]).to_string(), unquote(f[1]).to_string()))
        })
        .collect()
}

/// A point up to `max_m` from `p` (uniform in the disk, flat-earth offsets).
fn jitter(rng: &mut ChaCha8Rng, p: [f64; 2], max_m: f64) -> [f64; 2] {
    let r = max_m * rng.gen::<f64>().sqrt();
    let th = rng.gen::<f64>() * std::f64::consts::TAU;
    let dlat = r * th.sin() / 111_320.0;
    let dlon = r * th.cos() / (111_320.0 * p[1].to_radians().cos().max(0.05));
    [(p[0] + dlon).clamp(-180.0, 180.0), (p[1] + dlat).clamp(-90.0, 90.0)]
}

struct National {
    snap: Snapshot,
    setup: Duration,
}

fn build_national() -> National {
    let t_all = Instant::now();
    let dir = china::reference_data_dir();

    let t = Instant::now();
    let counties = china::counties();
    assert_eq!(counties.len(), 2877, "county polygons");
    let edges: Vec<RingEdges> = counties.iter().map(|c| RingEdges::new(&c.polygon)).collect();
    let county_of: HashMap<&str, usize> = counties.iter().enumerate().map(|(i, c)| (c.adcode.as_str(), i)).collect();
    let villages = read_villages(&dir);
    let street_names = read_street_names(&dir);
    println!(
        "national: read {} county polygons and {} villages in {:.1} s",
        counties.len(),
        villages.len(),
        t.elapsed().as_secs_f64()
    );

    // Place each village inside its county polygon by rejection sampling in the bbox.
    let t = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(2023);
    let mut placed: Vec<(usize, [f64; 2])> = Vec::with_capacity(villages.len());
    let (mut skipped_no_polygon, mut skipped_no_point) = (0usize, 0usize);
    let mut missing_adcodes: BTreeMap<&str, usize> = BTreeMap::new();
    let mut tries_total = 0usize;
    let mut worst: (f64, &str) = (1.0, "");
    let mut tries_by_county: HashMap<usize, (usize, usize)> = HashMap::new();
    for (vi, v) in villages.iter().enumerate() {
        let Some(&ci) = county_of.get(v.area.as_str()) else {
            skipped_no_polygon += 1;
            *missing_adcodes.entry(v.area.as_str()).or_default() += 1;
            continue;
        };
        let e = &edges[ci];
        let b = e.bbox();
        let mut found = None;
        let mut tries = 0;
        while tries < MAX_TRIES {
            tries += 1;
            let lon = rng.gen_range(b[0]..b[2]);
            let lat = rng.gen_range(b[1]..b[3]);
            if e.contains(lon, lat) {
                found = Some([lon, lat]);
                break;
            }
        }
        tries_total += tries;
        let tc = tries_by_county.entry(ci).or_default();
        tc.0 += 1;
        tc.1 += tries;
        match found {
            Some(p) => placed.push((vi, p)),
            None => skipped_no_point += 1,
        }
    }
    for (&ci, &(n, tries)) in &tries_by_county {
        let rate = n as f64 / tries as f64;
        if rate < worst.0 {
            worst = (rate, counties[ci].adcode.as_str());
        }
    }
    // Sanity: diming's own locate agrees on the county (overlaps or gaps aside).
    let pindex = PolygonIndex::new(edges);
    let located_elsewhere = placed
        .iter()
        .filter(|(vi, p)| {
            let ci = county_of[villages[*vi].area.as_str()];
            !pindex.locate_all(p[0], p[1]).contains(&ci)
        })
        .count();
    println!(
        "national: placed {} villages, skipped {} (no polygon for areaCode; {} adcodes) + {} (no point after {MAX_TRIES} tries); \
         {:.2} tries/village, worst acceptance {:.4} in {}; {} placed points not located in their own county; {:.1} s",
        placed.len(),
        skipped_no_polygon,
        missing_adcodes.len(),
        skipped_no_point,
        tries_total as f64 / (placed.len() + skipped_no_point).max(1) as f64,
        worst.0,
        worst.1,
        located_elsewhere,
        t.elapsed().as_secs_f64()
    );
    let top_missing: Vec<_> = {
        let mut v: Vec<_> = missing_adcodes.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        v.into_iter().take(8).map(|(a, n)| format!("{a}:{n}")).collect()
    };
    println!("national: areaCodes without polygon (top): {}", top_missing.join(" "));

    // Records.
    let t = Instant::now();
    let used_streets: BTreeSet<&str> = placed.iter().map(|(vi, _)| villages[*vi].street.as_str()).collect();
    let street_county: HashMap<&str, &str> =
        placed.iter().map(|(vi, _)| (villages[*vi].street.as_str(), villages[*vi].area.as_str())).collect();
    let mut divisions: Vec<Division> = Vec::with_capacity(counties.len() + used_streets.len());
    let division = |code: &str, level, name: &str, parent: Option<&str>, geometry: Option<Geometry<f64>>| Division {
        geometry_provenance: geometry.as_ref().map(|_| Provenance::Real),
        code: code.parse().expect("division code"),
        level,
        name: name.to_string(),
        pinyin: String::new(),
        parent_code: parent.map(|p| p.parse::<DivisionCode>().expect("parent code")),
        geometry,
        is_xpcc: false,
        provenance: Provenance::Real,
        valid_from: "2023-01-01".into(),
        valid_to: None,
        properties: Map::new(),
        version: 1,
    };
    for c in &counties {
        divisions.push(division(
            &c.adcode,
            DivisionLevel::County,
            &c.name,
            None,
            Some(Geometry::MultiPolygon(c.polygon.clone())),
        ));
    }
    for &s in &used_streets {
        let name = street_names.get(s).map_or(s, String::as_str);
        divisions.push(division(s, DivisionLevel::Township, name, Some(street_county[s]), None));
    }
    let n_townships = used_streets.len();
    drop(counties);

    let settlements: Vec<Settlement> = placed
        .iter()
        .map(|&(vi, p)| {
            let v = &villages[vi];
            let population = rng.gen_range(200..3000u64);
            Settlement {
                code: v.code.parse().expect("village code"),
                name: v.name.clone(),
                short_name: v.name.clone(),
                township_code: v.street.parse().expect("street code"),
                village_kind: "village".into(),
                location: LonLat::try_from(p).expect("location"),
                population: Some(population),
                population_60plus: Some(population / 6),
                is_xpcc: false,
                provenance: Provenance::Real,
                location_provenance: Provenance::Synthetic,
                population_provenance: Some(Provenance::Synthetic),
                version: 1,
            }
        })
        .collect();
    let facilities: Vec<Facility> = (0..FACILITIES)
        .map(|i| {
            let s = &settlements[rng.gen_range(0..settlements.len())];
            let p = jitter(&mut rng, [s.location.lon(), s.location.lat()], 5_000.0);
            Facility {
                id: format!("f{i:07}"),
                name: format!("{}养老院", s.short_name),
                kind: FacilityKind::CareHome,
                township_code: s.township_code.clone(),
                location: LonLat::try_from(p).expect("location"),
                status: FacilityStatus::Open,
                capacity_beds: Some(50),
                operator: None,
                attributes: Map::new(),
                provenance: Provenance::Synthetic,
                version: 1,
                updated_at: "2024-01-01T00:00:00Z".into(),
            }
        })
        .collect();
    println!(
        "national: {} divisions ({} townships), {} settlements, {} facilities made in {:.1} s",
        divisions.len(),
        n_townships,
        settlements.len(),
        facilities.len(),
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let snap = Snapshot::build(1, divisions, settlements, facilities);
    println!("national: Snapshot::build in {:.1} s", t.elapsed().as_secs_f64());
    let setup = t_all.elapsed();
    println!("national: setup total {:.1} s", setup.as_secs_f64());
    National { snap, setup }
}

/// The naive baseline: for each sampled settlement, scan the facilities of its own
/// county (first 6 digits of the township code) until one is within the radius.
/// Returns (seconds for the sample, sampled indices, covered per sampled index).
fn naive_baseline(snap: &Snapshot, radius_m: f64, sample: usize) -> (f64, Vec<usize>, Vec<bool>) {
    let mut by_county: HashMap<&str, Vec<[f64; 2]>> = HashMap::new();
    for f in snap.facilities() {
        let f = &f.facility;
        if f.kind == FacilityKind::CareHome && f.status == FacilityStatus::Open {
            by_county.entry(&f.township_code.as_str()[..6]).or_default().push([f.location.lon(), f.location.lat()]);
        }
    }
    let settlements = snap.settlements();
    let mut idx: Vec<usize> = (0..settlements.len()).collect();
    idx.shuffle(&mut ChaCha8Rng::seed_from_u64(5));
    idx.truncate(sample);
    idx.sort_unstable();
    let t = Instant::now();
    let covered: Vec<bool> = idx
        .iter()
        .map(|&i| {
            let s = &settlements[i].settlement;
            let p = [s.location.lon(), s.location.lat()];
            by_county
                .get(&s.township_code.as_str()[..6])
                .is_some_and(|fs| fs.iter().any(|f| distance_m(p, *f) <= radius_m))
        })
        .collect();
    let secs = t.elapsed().as_secs_f64();
    black_box(&covered);
    (secs, idx, covered)
}

/// Where one national `compute` spends its time: the parts reachable through the
/// public API, timed once each, the nearest pass on as many threads as the engine
/// uses; the remainder is the engine's single-threaded bookkeeping.
fn phase_breakdown(snap: &Snapshot, rule: &coverage::Rule, opts: &CoverageOptions) {
    let t = Instant::now();
    black_box(coverage::compute(snap, rule, opts, coverage::supplies(snap, rule, opts)));
    let total = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let supplies = coverage::supplies(snap, rule, opts);
    let t_supplies = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let index = PointIndex::new(supplies.len(), supplies.iter().enumerate().map(|(i, s)| (i as u32, s.point, 1)));
    let t_index = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let demand = coverage::demand(snap, rule, opts);
    let t_demand = t.elapsed().as_secs_f64();
    let settlements = snap.settlements();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let t = Instant::now();
    let nearest: Vec<Option<(u32, f64)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = demand
            .chunks(demand.len().div_ceil(threads))
            .map(|c| {
                let index = &index;
                scope.spawn(move || {
                    c.iter()
                        .map(|&i| {
                            let s = &settlements[i].settlement;
                            index
                                .nearest([s.location.lon(), s.location.lat()], 1, None, StatusSet::ANY)
                                .first()
                                .map(|h| (h.idx, h.distance_m))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("thread")).collect()
    });
    let t_nearest = t.elapsed().as_secs_f64();
    black_box(&nearest);
    let t = Instant::now();
    drop(nearest);
    drop(index);
    drop(supplies);
    let t_drop = t.elapsed().as_secs_f64();
    let parts = t_supplies + t_index + t_demand + t_nearest;
    println!(
        "national 10 km compute, parts (one run each): supplies() {:.1} ms, PointIndex::new {:.1} ms, demand() {:.1} ms, \
         nearest on {threads} threads {:.1} ms, drop {:.1} ms; sum {:.1} ms of {:.1} ms -> rest (single-threaded per-settlement \
         results, per-township grouping and totals, drop) ~{:.1} ms",
        t_supplies * 1e3,
        t_index * 1e3,
        t_demand * 1e3,
        t_nearest * 1e3,
        t_drop * 1e3,
        parts * 1e3,
        total * 1e3,
        (total - parts) * 1e3
    );
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn bench_national(c: &mut Criterion) {
    let National { snap, setup } = build_national();
    let rules = rules();
    let opts = open_only();
    let rule10 = rules.default_for(FacilityKind::CareHome).expect("care_home rule").clone();
    assert_eq!(rule10.radius_m(), Some(10_000.0));
    let rule5 = rule10.with_radius(5_000.0);

    // One run of each, for the report (and to size the criterion runs).
    let t = Instant::now();
    let cov10 = coverage::compute(&snap, &rule10, &opts, coverage::supplies(&snap, &rule10, &opts));
    let once10 = t.elapsed().as_secs_f64();
    println!(
        "national 10 km: one compute {:.3} s; demand {}, covered {}, uncovered {}, population ratio {:.4}, townships {} ({} meet target {})",
        once10,
        cov10.results.len(),
        cov10.county.settlements_covered,
        cov10.county.settlements - cov10.county.settlements_covered,
        cov10.county.coverage_ratio,
        cov10.county.townships,
        cov10.county.townships_meeting_target,
        rule10.target
    );

    phase_breakdown(&snap, &rule10, &opts);

    // Every settlement is a demand point, so results[i] is settlement i.
    assert!(cov10.results.iter().enumerate().all(|(i, r)| r.idx == i));

    // Baseline, same run.
    let (secs, idx, naive) = naive_baseline(&snap, 10_000.0, BASELINE_SAMPLE);
    let n = snap.settlements().len();
    let extrapolated = secs * n as f64 / idx.len() as f64;
    let agree = idx.iter().zip(&naive).filter(|(&i, &c)| cov10.results[i].covered == c).count();
    let engine_only = idx.iter().zip(&naive).filter(|(&i, &c)| cov10.results[i].covered && !c).count();
    println!(
        "baseline (same-county scan, 1 thread): {} sampled settlements in {:.3} s = {:.2} µs each; extrapolated to {} settlements: {:.2} s; \
         agrees with the engine on {}/{} ({} covered only across a county border)",
        idx.len(),
        secs,
        secs * 1e6 / idx.len() as f64,
        n,
        extrapolated,
        agree,
        idx.len(),
        engine_only
    );
    drop(cov10);

    let t = Instant::now();
    let cov5 = coverage::compute(&snap, &rule5, &opts, coverage::supplies(&snap, &rule5, &opts));
    println!(
        "national 5 km: one compute {:.3} s; covered {}, uncovered {}, population ratio {:.4}",
        t.elapsed().as_secs_f64(),
        cov5.county.settlements_covered,
        cov5.county.settlements - cov5.county.settlements_covered,
        cov5.county.coverage_ratio
    );
    let t = Instant::now();
    let answer = coverage::site(&snap, &cov5, &opts, 10).expect("siting");
    let once_site = t.elapsed().as_secs_f64();
    println!(
        "national siting 10 picks @5 km: one run {:.3} s; candidates considered {}, ratio {:.4} -> {:.4}",
        once_site,
        answer.candidates_considered,
        answer.county_coverage_ratio_before,
        answer.county_coverage_ratio_after
    );
    for p in &answer.picks {
        println!(
            "  pick {:>2}: {} ({:.4},{:.4}) gain_population {} gain_settlements {} ratio_after {:.5}",
            p.rank, p.candidate, p.lon, p.lat, p.gain_population, p.gain_settlements, p.county_coverage_ratio_after
        );
    }
    println!("national setup (outside timing): {:.1} s", setup.as_secs_f64());

    let mut group = c.benchmark_group("national");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs_f64((once10 * 12.0).max(5.0)));
    group.bench_function("coverage_care_home_10km_all_townships", |b| {
        b.iter(|| {
            coverage::compute(&snap, &rule10, &opts, coverage::supplies(&snap, &rule10, &opts))
                .county
                .settlements_covered
        })
    });
    // Ten samples plus a warm-up must fit in about four minutes; else time 3 runs.
    if once_site * 11.0 <= 240.0 {
        group.measurement_time(Duration::from_secs_f64((once_site * 12.0).max(5.0)));
        group.bench_function("siting_10_picks", |b| {
            b.iter(|| coverage::site(&snap, &cov5, &opts, 10).expect("siting").picks.len())
        });
    } else {
        let runs: Vec<f64> = (0..3)
            .map(|_| {
                let t = Instant::now();
                black_box(coverage::site(&snap, &cov5, &opts, 10).expect("siting"));
                t.elapsed().as_secs_f64()
            })
            .collect();
        println!(
            "national/siting_10_picks (Instant, 3 runs, not criterion): {:?} s, median {:.3} s",
            runs,
            median(runs.clone())
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = bench_manas, bench_national
}
criterion_main!(benches);
