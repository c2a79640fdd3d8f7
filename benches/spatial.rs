//! Spatial micro-benchmarks at national scale, each against the naive baseline.
//!
//! * `nearest5/*`: exact geodesic nearest-5 over random facilities in China's bbox
//!   (diming's `PointIndex`), and the naive lon/lat R-tree baseline that takes the
//!   5 nearest in degrees and then computes their geodesic distances (not exact).
//! * `locate/*`: which of the 2,877 real county polygons contains a point
//!   (diming's `PolygonIndex`), against an R-tree of bounding boxes + `geo::Contains`.
//!
//! Query points are pre-generated (seeded) and cycled through inside the timed
//! loop; every index is built outside it. One query per iteration.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/it/common/china.rs"]
mod china;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use diming::spatial::geodesic::{distance_m, ecef};
use diming::spatial::{PointIndex, PolygonIndex, RingEdges, StatusSet};
use geo::Contains;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::RTree;
use std::hint::black_box;
use std::time::Duration;

/// China's bounding box, degrees.
const LON: (f64, f64) = (73.0, 135.0);
const LAT: (f64, f64) = (18.0, 53.0);
/// Pre-generated query points per bench (a power of two: cycled with a mask).
const QUERIES: usize = 4096;

fn random_points(rng: &mut ChaCha8Rng, n: usize) -> Vec<[f64; 2]> {
    (0..n).map(|_| [rng.gen_range(LON.0..LON.1), rng.gen_range(LAT.0..LAT.1)]).collect()
}

fn bench_nearest(c: &mut Criterion) {
    let mut group = c.benchmark_group("nearest5");
    group.throughput(Throughput::Elements(1));
    let queries = random_points(&mut ChaCha8Rng::seed_from_u64(7), QUERIES);
    let mut parts_1m = None;

    for (label, n) in [("100k", 100_000usize), ("1M", 1_000_000)] {
        let points = random_points(&mut ChaCha8Rng::seed_from_u64(42), n);
        let index = PointIndex::new(n, points.iter().enumerate().map(|(i, p)| (i as u32, *p, 1u8)));
        assert_eq!(index.len(), n);
        let mut i = 0usize;
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| {
                let q = queries[i & (QUERIES - 1)];
                i += 1;
                index.nearest(black_box(q), 5, None, StatusSet::ANY)
            })
        });
        drop(index);

        if n == 1_000_000 {
            parts_1m = Some(points.clone());
            // Naive: nearest 5 in degrees, then the geodesic distance of those 5.
            let tree: RTree<[f64; 2]> = RTree::bulk_load(points.clone());
            let mut i = 0usize;
            group.bench_function(BenchmarkId::new("nearest5_baseline_rstar_lonlat", label), |b| {
                b.iter(|| {
                    let q = black_box(queries[i & (QUERIES - 1)]);
                    i += 1;
                    tree.nearest_neighbor_iter(&q).take(5).map(|p| (*p, distance_m(q, *p))).collect::<Vec<_>>()
                })
            });
        }
    }
    group.finish();
    if let Some(points) = parts_1m {
        bench_nearest_parts(c, &points, &queries);
    }
}

/// Two reference points for `nearest5/1M`: the same exact chord-bounded walk over
/// an rstar R-tree in ECEF (diming's first design), and one Karney geodesic
/// distance — the floor of an exact nearest-5 is five of them.
fn bench_nearest_parts(c: &mut Criterion, points: &[[f64; 2]], queries: &[[f64; 2]]) {
    let tree: RTree<GeomWithData<[f64; 3], [f64; 2]>> =
        RTree::bulk_load(points.iter().map(|p| GeomWithData::new(ecef(*p), *p)).collect());
    let mut group = c.benchmark_group("nearest5");
    group.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    group.bench_function("baseline_rstar_ecef_exact/1M", |b| {
        b.iter(|| {
            let q = black_box(queries[i & (QUERIES - 1)]);
            i += 1;
            let mut best: Vec<f64> = Vec::with_capacity(6);
            for (item, d2) in tree.nearest_neighbor_iter_with_distance_2(&ecef(q)) {
                if best.len() == 5 && d2.sqrt() > best[4] + 1e-6 {
                    break;
                }
                best.push(distance_m(q, item.data));
                best.sort_by(f64::total_cmp);
                best.truncate(5);
            }
            best
        })
    });
    group.finish();
    let mut group = c.benchmark_group("parts");
    let pairs: Vec<([f64; 2], [f64; 2])> =
        queries.iter().map(|q| (*q, tree.nearest_neighbor(&ecef(*q)).map_or(*q, |n| n.data))).collect();
    let mut i = 0usize;
    group.bench_function("one_geodesic_distance_m", |b| {
        b.iter(|| {
            let (a, p) = black_box(pairs[i & (QUERIES - 1)]);
            i += 1;
            distance_m(a, p)
        })
    });
    group.finish();
}

fn bench_locate(c: &mut Criterion) {
    let counties = china::counties();
    assert_eq!(counties.len(), 2877, "county polygons");
    let index = PolygonIndex::new(counties.iter().map(|c| RingEdges::new(&c.polygon)).collect());

    // Random points in the bbox that fall inside some county, by diming's own index.
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut queries = Vec::with_capacity(QUERIES);
    while queries.len() < QUERIES {
        let [lon, lat] = random_points(&mut rng, 1)[0];
        if index.locate(lon, lat).is_some() {
            queries.push([lon, lat]);
        }
    }

    // Baseline: R-tree of bounding boxes, then geo::Contains on each candidate.
    let boxes: Vec<GeomWithData<Rectangle<[f64; 2]>, usize>> = index_bboxes(&index);
    let bbox_tree = RTree::bulk_load(boxes);
    let polygons: Vec<geo::MultiPolygon<f64>> = counties.into_iter().map(|c| c.polygon).collect();

    // Sanity: both agree on (almost) every query; borders may differ by convention.
    let disagree = queries
        .iter()
        .filter(|q| {
            let a = index.locate(q[0], q[1]);
            let b = baseline_locate(&bbox_tree, &polygons, q[0], q[1]);
            a != b
        })
        .count();
    assert!(disagree <= QUERIES / 1000, "diming and baseline disagree on {disagree} of {QUERIES} points");

    let mut group = c.benchmark_group("locate");
    group.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    group.bench_function("china_2877", |b| {
        b.iter(|| {
            let q = black_box(queries[i & (QUERIES - 1)]);
            i += 1;
            index.locate(q[0], q[1])
        })
    });
    let mut i = 0usize;
    group.bench_function("locate_baseline_bbox_tree_geo_contains", |b| {
        b.iter(|| {
            let q = black_box(queries[i & (QUERIES - 1)]);
            i += 1;
            baseline_locate(&bbox_tree, &polygons, q[0], q[1])
        })
    });
    group.finish();
}

fn index_bboxes(index: &PolygonIndex) -> Vec<GeomWithData<Rectangle<[f64; 2]>, usize>> {
    (0..index.len())
        .map(|i| {
            let b = index.get(i).bbox();
            GeomWithData::new(Rectangle::from_corners([b[0], b[1]], [b[2], b[3]]), i)
        })
        .collect()
}

/// What naive code does: the first candidate box whose polygon contains the point.
fn baseline_locate(
    tree: &RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>,
    polygons: &[geo::MultiPolygon<f64>],
    lon: f64,
    lat: f64,
) -> Option<usize> {
    let p = geo::Point::new(lon, lat);
    tree.locate_all_at_point(&[lon, lat]).map(|g| g.data).find(|&i| polygons[i].contains(&p))
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = bench_nearest, bench_locate
}
criterion_main!(benches);
