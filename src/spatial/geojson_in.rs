//! GeoJSON geometries read from outside: every position is checked (two or three
//! finite numbers) before the conversion to `geo_types`, which indexes positions
//! without checking and would panic on `[0.0]`.

use geojson::{GeometryValue as Value, Position};

fn position(p: &Position, at: &str) -> Result<(), String> {
    if (2..=3).contains(&p.as_slice().len()) && p.as_slice().iter().all(|x| x.is_finite()) {
        Ok(())
    } else {
        Err(format!("{at}: 坐标须为 2 或 3 个有限的数 (a position is two or three finite numbers)"))
    }
}

fn positions(ps: &[Position], at: &str) -> Result<(), String> {
    ps.iter().enumerate().try_for_each(|(i, p)| position(p, &format!("{at}[{i}]")))
}

fn rings(rs: &[Vec<Position>], at: &str) -> Result<(), String> {
    rs.iter().enumerate().try_for_each(|(i, r)| positions(r, &format!("{at}[{i}]")))
}

fn check(v: &Value, at: &str) -> Result<(), String> {
    match v {
        Value::Point { coordinates: p } => position(p, at),
        Value::MultiPoint { coordinates: ps } | Value::LineString { coordinates: ps } => positions(ps, at),
        Value::MultiLineString { coordinates: rs } | Value::Polygon { coordinates: rs } => rings(rs, at),
        Value::MultiPolygon { coordinates: ps } => {
            ps.iter().enumerate().try_for_each(|(i, p)| rings(p, &format!("{at}[{i}]")))
        }
        Value::GeometryCollection { geometries: gs } => {
            gs.iter().enumerate().try_for_each(|(i, g)| check(&g.value, &format!("geometries[{i}].coordinates")))
        }
    }
}

/// A checked GeoJSON geometry as `geo_types`; the error names the bad position
/// (`coordinates[0][0][1]`).
pub fn to_geo(g: geojson::Geometry) -> Result<geo_types::Geometry<f64>, String> {
    check(&g.value, "coordinates")?;
    geo_types::Geometry::<f64>::try_from(g).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_or_endless_position_is_an_error_not_a_panic() {
        let g = |s: &str| s.parse::<geojson::Geometry>().map_err(|e| e.to_string()).and_then(to_geo);
        assert!(g(r#"{"type":"MultiPolygon","coordinates":[[[[0.0],[0,0],[0,0],[0,0]]]]}"#)
            .is_err_and(|e| e.starts_with("coordinates[0][0][0]")));
        assert!(g(r#"{"type":"Point","coordinates":[]}"#).is_err());
        assert!(g(r#"{"type":"LineString","coordinates":[[1,2,3,4],[1,2]]}"#).is_err());
        assert!(g(r#"{"type":"Point","coordinates":[86.2,44.3]}"#).is_ok());
    }
}
