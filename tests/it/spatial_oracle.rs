//! Every spatial answer against a brute-force oracle: 10,000 seeded random points
//! in and around Manas County for nearest-k, within-radius and locate; border and
//! vertex points; and locate over all 2,877 real county polygons of China.

use crate::common;

use diming::domain::FacilityKind;
use diming::spatial::{PointIndex, PolygonIndex, RingEdges, Snapshot, StatusSet};
use geo::Contains;
use geographiclib_rs::{Geodesic, InverseGeodesic};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The oracle's own ellipsoid, built here rather than taken from diming.
fn grs80() -> Geodesic {
    Geodesic::new(6_378_137.0, 1.0 / 298.257_222_101)
}

fn oracle_distance(g: &Geodesic, a: [f64; 2], b: [f64; 2]) -> f64 {
    g.inverse(a[1], a[0], b[1], b[0])
}

async fn manas_snapshot() -> std::sync::Arc<Snapshot> {
    let app = common::start_in_process().await;
    app.state.snapshot()
}

/// Points in the county's bbox grown by ~20 km, so some fall outside.
fn random_points(n: usize, seed: u64) -> Vec<[f64; 2]> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| [rng.gen_range(85.3..86.85), rng.gen_range(43.2..45.5)]).collect()
}

#[tokio::test]
async fn nearest_k_equals_a_brute_force_geodesic_scan_for_10000_points() {
    let snap = manas_snapshot().await;
    let g = grs80();
    let facilities: Vec<_> = snap.facilities().map(|f| f.facility.clone()).collect();
    let kinds: Vec<Option<FacilityKind>> =
        std::iter::once(None).chain(FacilityKind::ALL.iter().copied().map(Some)).collect();
    for (i, p) in random_points(10_000, 1).into_iter().enumerate() {
        let kind = kinds[i % kinds.len()];
        let k = 1 + i % 7;
        let got = snap.nearest(p, kind, k, None, StatusSet::ANY);
        let mut expect: Vec<(f64, &str)> = facilities
            .iter()
            .filter(|f| kind.is_none_or(|k| f.kind == k))
            .map(|f| (oracle_distance(&g, p, [f.location.lon(), f.location.lat()]), f.id.as_str()))
            .collect();
        expect.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
        expect.truncate(k);
        assert_eq!(got.len(), expect.len(), "point {p:?} kind {kind:?}");
        for (h, (d, id)) in got.iter().zip(&expect) {
            let f = &snap.facility_at(h.idx).facility;
            assert_eq!(f.id, *id, "point {p:?} kind {kind:?} k {k}");
            assert!((h.distance_m - d).abs() < 1e-3, "distance {} vs oracle {d}", h.distance_m);
        }
    }
}

#[tokio::test]
async fn within_radius_equals_a_brute_force_scan() {
    let snap = manas_snapshot().await;
    let g = grs80();
    for (i, p) in random_points(10_000, 2).into_iter().enumerate() {
        let radius = [500.0, 2_000.0, 5_000.0, 15_000.0, 60_000.0][i % 5];
        let got: Vec<&str> = snap
            .within(p, None, radius, StatusSet::ANY)
            .iter()
            .map(|h| snap.facility_at(h.idx).facility.id.as_str())
            .collect();
        let mut expect: Vec<(f64, &str)> = snap
            .facilities()
            .map(|f| {
                (oracle_distance(&g, p, [f.facility.location.lon(), f.facility.location.lat()]), f.facility.id.as_str())
            })
            .filter(|(d, _)| *d <= radius)
            .collect();
        expect.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
        let expect: Vec<&str> = expect.into_iter().map(|(_, id)| id).collect();
        assert_eq!(got, expect, "point {p:?} radius {radius}");
    }
}

#[tokio::test]
async fn nearest_respects_max_distance_and_status() {
    let snap = manas_snapshot().await;
    let g = grs80();
    for p in random_points(2_000, 3) {
        let max = 8_000.0;
        for h in snap.nearest(p, Some(FacilityKind::CommunityService), 10, Some(max), StatusSet(1)) {
            let f = &snap.facility_at(h.idx).facility;
            assert!(oracle_distance(&g, p, [f.location.lon(), f.location.lat()]) <= max);
            assert_eq!(f.status.as_str(), "open");
        }
    }
}

#[test]
fn nearest_k_is_exact_on_20000_random_facilities_across_china() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let pts: Vec<[f64; 2]> = (0..20_000).map(|_| [rng.gen_range(73.0..135.0), rng.gen_range(18.0..53.0)]).collect();
    let idx = PointIndex::new(pts.len(), pts.iter().enumerate().map(|(i, p)| (i as u32, *p, 1)));
    let g = grs80();
    for _ in 0..300 {
        let q = [rng.gen_range(70.0..140.0), rng.gen_range(15.0..56.0)];
        let got = idx.nearest(q, 5, None, StatusSet::ANY);
        let mut all: Vec<(f64, u32)> =
            pts.iter().enumerate().map(|(i, p)| (oracle_distance(&g, q, *p), i as u32)).collect();
        all.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
        for (h, (d, i)) in got.iter().zip(&all) {
            assert_eq!(h.idx, *i);
            assert!((h.distance_m - d).abs() < 1e-3);
        }
    }
}

#[tokio::test]
async fn locate_equals_brute_force_over_all_township_polygons() {
    let snap = manas_snapshot().await;
    let townships: Vec<_> = snap.divisions().iter().filter(|d| d.division.level.as_str() == "township").collect();
    let polygons: Vec<geo_types::MultiPolygon<f64>> = townships
        .iter()
        .map(|d| match d.division.geometry.clone() {
            Some(geo_types::Geometry::MultiPolygon(mp)) => mp,
            other => panic!("township without a MultiPolygon: {other:?}"),
        })
        .collect();
    let mut inside = 0;
    for p in random_points(10_000, 5) {
        let got = snap.township_at(p[0], p[1]).map(|d| d.division.code.to_string());
        let brute = snap.township_at_brute_force(p[0], p[1]).map(|d| d.division.code.to_string());
        assert_eq!(got, brute, "point {p:?}");
        // And against geo's own predicate (random points are never on an edge).
        let by_geo: Vec<String> = townships
            .iter()
            .zip(&polygons)
            .filter(|(_, mp)| mp.contains(&geo_types::Point::new(p[0], p[1])))
            .map(|(d, _)| d.division.code.to_string())
            .collect();
        assert_eq!(got.clone().into_iter().collect::<Vec<_>>(), by_geo, "point {p:?}");
        let located = snap.locate(p[0], p[1]);
        if got.is_some() {
            inside += 1;
            assert_eq!(located.len(), 2);
            assert_eq!(located[0].division.code.as_str(), "652324");
        }
    }
    assert!(inside > 2_500, "too few points fell inside the county: {inside}");
}

#[tokio::test]
async fn a_point_on_a_township_border_or_vertex_resolves_to_exactly_one_township() {
    let snap = manas_snapshot().await;
    let county = snap.division("652324").expect("county");
    let county_edges = match &county.division.geometry {
        Some(geo_types::Geometry::MultiPolygon(mp)) => RingEdges::new(mp),
        _ => panic!("county geometry"),
    };
    let mut checked = 0;
    for d in snap.divisions().iter().filter(|d| d.division.level.as_str() == "township") {
        let Some(geo_types::Geometry::MultiPolygon(mp)) = &d.division.geometry else {
            continue;
        };
        for poly in &mp.0 {
            for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                for line in ring.lines() {
                    // The vertex itself and the midpoint of the edge.
                    for (x, y) in [
                        (line.start.x, line.start.y),
                        ((line.start.x + line.end.x) / 2.0, (line.start.y + line.end.y) / 2.0),
                    ] {
                        let n = snap.locate(x, y).iter().filter(|d| d.division.level.as_str() == "township").count();
                        assert!(n <= 1, "({x}, {y}) is in {n} townships");
                        // The townships partition the county: by the same border rule, a
                        // point the county holds is in exactly one township, any other in none.
                        let expected = usize::from(county_edges.contains(x, y));
                        assert_eq!(n, expected, "({x}, {y}): in {n} townships, county says {expected}");
                        checked += expected;
                    }
                }
            }
        }
    }
    assert!(checked > 500, "too few interior border points checked: {checked}");
}

#[test]
fn locate_over_all_2877_real_county_polygons_of_china_equals_brute_force() {
    let counties = common::china::counties();
    assert_eq!(counties.len(), 2877);
    let index = PolygonIndex::new(counties.iter().map(|c| RingEdges::new(&c.polygon)).collect());
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let mut hits = 0;
    for i in 0..10_000 {
        let (lon, lat) = (rng.gen_range(73.0..135.0), rng.gen_range(18.0..53.0));
        let got = index.locate(lon, lat);
        // Oracle 1: every polygon in order, every edge, no bands and no tree (a bbox
        // test first only skips polygons that cannot contain the point).
        let in_bbox = |i: usize| {
            let b = index.get(i).bbox();
            lon >= b[0] && lon <= b[2] && lat >= b[1] && lat <= b[3]
        };
        let brute = (0..counties.len()).find(|&i| in_bbox(i) && index.get(i).contains_brute_force(lon, lat));
        assert_eq!(got, brute, "({lon}, {lat})");
        if i < 1_000 {
            assert_eq!(got, index.locate_brute_force(lon, lat), "({lon}, {lat})");
        }
        // Oracle 2: geo's own predicate (random points are never on an edge).
        let by_geo: Vec<usize> = (0..counties.len())
            .filter(|&i| in_bbox(i) && counties[i].polygon.contains(&geo_types::Point::new(lon, lat)))
            .collect();
        assert_eq!(got.into_iter().collect::<Vec<_>>(), by_geo, "({lon}, {lat})");
        hits += usize::from(got.is_some());
    }
    assert!(hits > 3_000, "{hits}");
}

#[test]
fn nearest_k_is_exact_with_duplicates_ties_mixed_statuses_and_max_distance() {
    // A coarse grid: many points share a position or lie at equal distances, so the
    // index must ask for more candidates than k and break ties by index.
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let pts: Vec<([f64; 2], u8)> = (0..3_000)
        .map(|_| {
            let p = [86.0 + f64::from(rng.gen_range(0..20u8)) * 0.01, 44.0 + f64::from(rng.gen_range(0..20u8)) * 0.01];
            (p, 1u8 << rng.gen_range(0..3u8))
        })
        .collect();
    let idx = PointIndex::new(pts.len(), pts.iter().enumerate().map(|(i, (p, s))| (i as u32, *p, *s)));
    let g = grs80();
    for round in 0..500 {
        let q = if round % 2 == 0 {
            pts[rng.gen_range(0..pts.len())].0
        } else {
            [rng.gen_range(85.9..86.3), rng.gen_range(43.9..44.3)]
        };
        let statuses = StatusSet(rng.gen_range(1..8u8));
        let k = rng.gen_range(1..40);
        let max = (round % 3 == 0).then_some(rng.gen_range(100.0..5_000.0));
        let got = idx.nearest(q, k, max, statuses);
        let mut expect: Vec<(f64, u32)> = pts
            .iter()
            .enumerate()
            .filter(|(_, (_, s))| statuses.contains(*s))
            .map(|(i, (p, _))| (oracle_distance(&g, q, *p), i as u32))
            .filter(|(d, _)| max.is_none_or(|m| *d <= m))
            .collect();
        expect.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
        expect.truncate(k);
        let got_pairs: Vec<u32> = got.iter().map(|h| h.idx).collect();
        let expect_ids: Vec<u32> = expect.iter().map(|(_, i)| *i).collect();
        assert_eq!(got_pairs, expect_ids, "round {round} q {q:?} k {k} max {max:?} statuses {statuses:?}");
        for (h, (d, _)) in got.iter().zip(&expect) {
            assert!((h.distance_m - d).abs() < 1e-3);
        }
        let radius = rng.gen_range(50.0..3_000.0);
        let within: Vec<u32> = idx.within(q, radius, statuses).iter().map(|h| h.idx).collect();
        let mut w: Vec<(f64, u32)> = pts
            .iter()
            .enumerate()
            .filter(|(_, (_, s))| statuses.contains(*s))
            .map(|(i, (p, _))| (oracle_distance(&g, q, *p), i as u32))
            .filter(|(d, _)| *d <= radius)
            .collect();
        w.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
        assert_eq!(within, w.into_iter().map(|(_, i)| i).collect::<Vec<_>>(), "round {round}");
    }
}
