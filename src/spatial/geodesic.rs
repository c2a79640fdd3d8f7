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
