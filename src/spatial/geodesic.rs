//! Geodesic distance and area on the GRS80 ellipsoid (CGCS2000), Karney's method
//! via GeographicLib's Rust port, and the earth-centred (ECEF) chord used as an
//! exact lower bound when searching an R-tree.
//!
//! # Units
//! Metres and square metres; inputs in degrees.

use geographiclib_rs::{Geodesic, InverseGeodesic, PolygonArea, Winding};
use std::sync::LazyLock;

/// GRS80 semi-major axis, metres.
pub const GRS80_A: f64 = 6_378_137.0;
/// GRS80 flattening.
pub const GRS80_F: f64 = 1.0 / 298.257_222_101;

static GRS80: LazyLock<Geodesic> = LazyLock::new(|| Geodesic::new(GRS80_A, GRS80_F));

/// The ellipsoid every distance in diming is measured on.
pub fn grs80() -> &'static Geodesic {
    &GRS80
}

/// Geodesic distance in metres between two `[lon, lat]` points on GRS80.
pub fn distance_m(a: [f64; 2], b: [f64; 2]) -> f64 {
    let s: f64 = GRS80.inverse(a[1], a[0], b[1], b[0]);
    s
}

/// Earth-centred, earth-fixed cartesian coordinates (metres) of a point on the
/// GRS80 surface. The straight chord between two such points is never longer
/// than the geodesic between them, which makes it a safe search bound.
pub fn ecef(p: [f64; 2]) -> [f64; 3] {
    let e2 = GRS80_F * (2.0 - GRS80_F);
    let (slat, clat) = p[1].to_radians().sin_cos();
    let (slon, clon) = p[0].to_radians().sin_cos();
    let n = GRS80_A / (1.0 - e2 * slat * slat).sqrt();
    [n * clat * clon, n * clat * slon, n * (1.0 - e2) * slat]
}

/// Chord length, metres, between two ECEF points.
pub fn chord_m(a: [f64; 3], b: [f64; 3]) -> f64 {
    let d = [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt()
}

/// Longest edge piece, degrees, when densifying rings for area: a 0.01° chord
/// departs from its geodesic by about 2 cm.
const DENSIFY_DEG: f64 = 0.01;

/// Area in km² on GRS80 of a polygon given as rings of `[lon, lat]` (first ring the
/// exterior, the rest holes); orientation does not matter. Edges are straight
/// lines in lon/lat, as RFC 7946 defines them, so each edge is densified to
/// ≤ 0.01° before the geodesic polygon area is summed — otherwise a long edge
/// (65 km along a parallel at 45°N bulges ~80 m as a geodesic) would change the
/// area by square kilometres.
pub fn polygon_area_km2(polygon: &geo_types::Polygon<f64>) -> f64 {
    let ring_area = |ring: &geo_types::LineString<f64>| {
        let mut pa = PolygonArea::new(&GRS80, Winding::CounterClockwise);
        // A closed ring (at least two positions, the last repeating the first)
        // without its closing position.
        let pts = match ring.0.split_last() {
            Some((last, init)) if !init.is_empty() && ring.0.first() == Some(last) => init,
            _ => ring.0.as_slice(),
        };
        // Each position with the next one, the last with the first.
        for (a, &b) in pts.iter().zip(pts.iter().cycle().skip(1)) {
            let steps = (((b.x - a.x).abs().max((b.y - a.y).abs())) / DENSIFY_DEG).ceil().max(1.0) as usize;
            for s in 0..steps {
                let t = s as f64 / steps as f64;
                pa.add_point(a.y + (b.y - a.y) * t, a.x + (b.x - a.x) * t);
            }
        }
        // signed (`true`): a clockwise ring gives a negative area, not the rest of the earth.
        let (_perimeter, area, _count) = pa.compute(true);
        area.abs()
    };
    let mut a = ring_area(polygon.exterior());
    for hole in polygon.interiors() {
        a -= ring_area(hole);
    }
    a / 1.0e6
}

/// Geodesic area in km² of a MultiPolygon.
pub fn multipolygon_area_km2(mp: &geo_types::MultiPolygon<f64>) -> f64 {
    mp.0.iter().map(polygon_area_km2).sum()
}

/// The geodesic distance, metres, from `p` to the segment `a`–`b`, the segment
/// being straight in lon/lat as RFC 7946 draws edges (so that it agrees with the
/// planar `intersects` of the same shapes): the least geodesic distance from `p`
/// to any point of it, found by golden-section search along the segment (the
/// distance is unimodal along a segment much shorter than the earth).
pub fn distance_to_segment_m(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let at = |t: f64| [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t];
    let f = |t: f64| distance_m(p, at(t));
    let inv_phi = (5.0_f64.sqrt() - 1.0) / 2.0;
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    let mut x1 = hi - inv_phi * (hi - lo);
    let mut x2 = lo + inv_phi * (hi - lo);
    let (mut f1, mut f2) = (f(x1), f(x2));
    // 60 steps narrow [0, 1] to 1e-12 of the segment: well under a millimetre.
    for _ in 0..60 {
        if f1 <= f2 {
            hi = x2;
            x2 = x1;
            f2 = f1;
            x1 = hi - inv_phi * (hi - lo);
            f1 = f(x1);
        } else {
            lo = x1;
            x1 = x2;
            f1 = f2;
            x2 = lo + inv_phi * (hi - lo);
            f2 = f(x2);
        }
    }
    f1.min(f2).min(f(0.0)).min(f(1.0))
}

/// Length, metres, of the lon/lat-straight segment `a`–`b` (at least: measured
/// along four pieces, then given a thousandth more).
fn segment_length_m(a: [f64; 2], b: [f64; 2]) -> f64 {
    let at = |t: f64| [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t];
    let pieces: f64 = (0..4).map(|i| distance_m(at(f64::from(i) / 4.0), at(f64::from(i + 1) / 4.0))).sum();
    pieces * 1.001
}

/// A segment from one lon/lat position to another.
type Segment = ([f64; 2], [f64; 2]);

/// Points and segments (lon/lat) of a geometry.
fn parts(g: &geo_types::Geometry<f64>) -> (Vec<[f64; 2]>, Vec<Segment>) {
    use geo::CoordsIter;
    use geo_types::Geometry as G;
    fn lines(g: &G<f64>, out: &mut Vec<Segment>) {
        let mut of = |ls: &geo_types::LineString<f64>| {
            out.extend(ls.lines().map(|l| ([l.start.x, l.start.y], [l.end.x, l.end.y])));
        };
        match g {
            G::Point(_) | G::MultiPoint(_) => {}
            G::Line(l) => out.push(([l.start.x, l.start.y], [l.end.x, l.end.y])),
            G::LineString(ls) => of(ls),
            G::MultiLineString(m) => m.0.iter().for_each(of),
            G::Polygon(p) => {
                of(p.exterior());
                p.interiors().iter().for_each(of);
            }
            G::MultiPolygon(m) => m.0.iter().for_each(|p| {
                of(p.exterior());
                p.interiors().iter().for_each(&mut of);
            }),
            G::Rect(r) => lines(&G::Polygon(r.to_polygon()), out),
            G::Triangle(t) => lines(&G::Polygon(t.to_polygon()), out),
            G::GeometryCollection(c) => c.0.iter().for_each(|g| lines(g, out)),
        }
    }
    let points = g.coords_iter().map(|c| [c.x, c.y]).collect();
    let mut segments = Vec::new();
    lines(g, &mut segments);
    (points, segments)
}

/// Whether `p` is within `d` metres of the segment, deciding from the ends and
/// a triangle-inequality bound before searching along it.
fn point_near_segment(p: [f64; 2], a: [f64; 2], b: [f64; 2], d: f64) -> bool {
    let (da, db) = (distance_m(p, a), distance_m(p, b));
    if da <= d || db <= d {
        return true;
    }
    // For Q on the segment, 2·|PQ| ≥ |PA| + |PB| − |AB|.
    if (da + db - segment_length_m(a, b)) / 2.0 > d {
        return false;
    }
    distance_to_segment_m(p, a, b) <= d
}

/// Whether geometries `a` and `b` (lon/lat) come within `d` geodesic metres of
/// each other: they intersect, or a vertex of one lies within `d` of a vertex or
/// an edge of the other (between shapes that do not meet, the least distance is
/// reached at a vertex of one of them).
pub fn within_m(a: &geo_types::Geometry<f64>, b: &geo_types::Geometry<f64>, d: f64) -> bool {
    use geo::Intersects;
    if a.intersects(b) {
        return true;
    }
    let (pa, sa) = parts(a);
    let (pb, sb) = parts(b);
    let near = |points: &[[f64; 2]], other_points: &[[f64; 2]], other_segments: &[Segment]| {
        points.iter().any(|&p| {
            other_points.iter().any(|&q| distance_m(p, q) <= d)
                || other_segments.iter().any(|&(s, e)| point_near_segment(p, s, e, d))
        })
    };
    near(&pa, &pb, &sb) || near(&pb, &pa, &sa)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_degree_of_latitude_at_the_equator_matches_geographiclib() {
        // GeographicLib (GRS80): 0°N 0°E → 1°N 0°E is 110 574.389 m (WGS84 value, equal to 1 mm).
        let d = distance_m([0.0, 0.0], [0.0, 1.0]);
        assert!((d - 110_574.389).abs() < 0.01, "{d}");
    }

    #[test]
    fn the_distance_to_a_segment_matches_a_dense_sampling() {
        let cases = [
            ([86.2, 44.3], [86.0, 44.0], [86.5, 44.6]),
            ([86.2, 44.3], [86.3, 44.0], [86.3, 44.6]),
            ([86.2, 44.3], [86.25, 44.35], [86.4, 44.5]),
            ([120.0, 60.0], [110.0, 59.0], [130.0, 61.0]),
        ];
        for (p, a, b) in cases {
            let n = 100_000;
            let dense = (0..=n)
                .map(|i| {
                    let t = f64::from(i) / f64::from(n);
                    distance_m(p, [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t])
                })
                .fold(f64::INFINITY, f64::min);
            let found = distance_to_segment_m(p, a, b);
            assert!(found <= dense + 1e-6 && dense - found < 0.05, "{p:?} {a:?} {b:?}: {found} vs {dense}");
        }
    }

    #[test]
    fn within_a_distance_of_shapes() {
        use geo_types::{point, polygon, Geometry};
        let square: Geometry<f64> =
            polygon![(x: 86.0, y: 44.0), (x: 86.1, y: 44.0), (x: 86.1, y: 44.1), (x: 86.0, y: 44.1), (x: 86.0, y: 44.0)]
                .into();
        let outside: Geometry<f64> = point!(x: 86.05, y: 44.12).into();
        let gap = distance_to_segment_m([86.05, 44.12], [86.1, 44.1], [86.0, 44.1]);
        assert!((gap - distance_m([86.05, 44.12], [86.05, 44.1])).abs() < 1.0, "{gap}");
        assert!(within_m(&outside, &square, gap + 0.01) && !within_m(&outside, &square, gap - 0.01));
        assert!(within_m(&square, &outside, gap + 0.01) && !within_m(&square, &outside, gap - 0.01));
        let inside: Geometry<f64> = point!(x: 86.05, y: 44.05).into();
        assert!(within_m(&inside, &square, 0.0));
    }

    #[test]
    fn the_chord_never_exceeds_the_geodesic() {
        let pts = [[86.2, 44.3], [86.21, 44.31], [85.0, 40.0], [-70.0, -33.0], [120.0, 30.0]];
        for a in pts {
            for b in pts {
                let c = chord_m(ecef(a), ecef(b));
                let g = distance_m(a, b);
                assert!(c <= g + 1e-9, "{a:?} {b:?} chord {c} geodesic {g}");
            }
        }
    }
}
