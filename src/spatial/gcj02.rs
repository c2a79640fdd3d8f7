//! GCJ-02, the obfuscated datum Chinese web maps (AMap, Tencent) draw in.
//!
//! The forward formula is the widely published one (public domain, as in
//! googollee/eviltransform); the inverse is solved by fixed-point iteration to
//! 1e-10° (≈ 0.01 mm), so a round trip is exact for practical purposes. Outside
//! China's rectangle the offset is zero, as the services themselves do.

/// Krasovsky 1940 semi-major axis and eccentricity², as in the formula.
const A: f64 = 6_378_245.0;
const EE: f64 = 0.006_693_421_622_965_943;

fn out_of_china(lon: f64, lat: f64) -> bool {
    !(72.004..=137.8347).contains(&lon) || !(0.8293..=55.8271).contains(&lat)
}

fn raw_lat(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn raw_lon(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// The GCJ-02 offset (Δlon, Δlat) in degrees at a WGS84/CGCS2000 point.
fn offset(lon: f64, lat: f64) -> (f64, f64) {
    use std::f64::consts::PI;
    let d_lat = raw_lat(lon - 105.0, lat - 35.0);
    let d_lon = raw_lon(lon - 105.0, lat - 35.0);
    let rad = lat / 180.0 * PI;
    let magic = 1.0 - EE * rad.sin() * rad.sin();
    let sqrt_magic = magic.sqrt();
    let d_lat = (d_lat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrt_magic) * PI);
    let d_lon = (d_lon * 180.0) / (A / sqrt_magic * rad.cos() * PI);
    (d_lon, d_lat)
}

/// WGS84 (≈ CGCS2000) lon/lat → GCJ-02 lon/lat.
pub fn from_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    if out_of_china(lon, lat) {
        return (lon, lat);
    }
    let (dx, dy) = offset(lon, lat);
    (lon + dx, lat + dy)
}

/// GCJ-02 lon/lat → WGS84 (≈ CGCS2000) lon/lat, the exact inverse of [`from_wgs84`].
pub fn to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    if out_of_china(lon, lat) {
        return (lon, lat);
    }
    let (dx, dy) = offset(lon, lat);
    let (mut x, mut y) = (lon - dx, lat - dy);
    for _ in 0..30 {
        let (gx, gy) = from_wgs84(x, y);
        let (ex, ey) = (lon - gx, lat - gy);
        x += ex;
        y += ey;
        if ex.abs() < 1e-10 && ey.abs() < 1e-10 {
            break;
        }
    }
    (x, y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_beijing_railway_station_pair() {
        // WGS-84 (39.90105, 116.42079) → GCJ-02 (39.90245, 116.42703), as published with the formula.
        let (lon, lat) = from_wgs84(116.42079, 39.90105);
        assert!((lon - 116.42703).abs() < 2e-5 && (lat - 39.90245).abs() < 2e-5, "{lon} {lat}");
    }

    #[test]
    fn the_inverse_round_trips_below_a_millimetre_and_outside_china_nothing_moves() {
        for &(lon, lat) in &[(86.21, 44.30), (85.9, 43.6), (121.47, 31.23), (100.0, 20.0)] {
            let (gx, gy) = from_wgs84(lon, lat);
            assert!((gx - lon).abs() > 1e-4, "Manas and the rest of China are offset");
            let (x, y) = to_wgs84(gx, gy);
            assert!((x - lon).abs() < 1e-8 && (y - lat).abs() < 1e-8, "{x} {y}");
        }
        assert_eq!(from_wgs84(2.35, 48.85), (2.35, 48.85));
        assert_eq!(to_wgs84(2.35, 48.85), (2.35, 48.85));
    }
}
