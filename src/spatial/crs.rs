//! Coordinate reference systems at the edges (import, export, OGC output).
//!
//! `proj::Proj` is neither `Send` nor `Sync`: build one per call (or per thread),
//! never keep one in shared state.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum CrsError {
    #[error("cannot set up the transformation {from} → {to}: {message}")]
    Setup { from: String, to: String, message: String },
    #[error("cannot transform ({x}, {y}): {message}")]
    Transform { x: f64, y: f64, message: String },
}

/// Transform `(x, y)` points from one CRS to another, axis order as GIS
/// software uses it (lon/lat, easting/northing).
pub fn transform(from: &str, to: &str, points: &[(f64, f64)]) -> Result<Vec<(f64, f64)>, CrsError> {
    let p = proj::Proj::new_known_crs(from, to, None).map_err(|e| CrsError::Setup {
        from: from.into(),
        to: to.into(),
        message: e.to_string(),
    })?;
    points
        .iter()
        .map(|&(x, y)| p.convert((x, y)).map_err(|e| CrsError::Transform { x, y, message: e.to_string() }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgcs2000_to_gauss_kruger_zone_29_matches_the_known_values() {
        // Checked on these machines (DESIGN.md): (86.21, 44.30) → E 436957.198, N 4907460.476.
        let out = transform("EPSG:4490", "EPSG:4538", &[(86.21, 44.30)]).expect("proj");
        let (e, n) = out[0];
        assert!((e - 436_957.198).abs() < 0.01 && (n - 4_907_460.476).abs() < 0.01, "{e} {n}");
        let back = transform("EPSG:4538", "EPSG:4490", &out).expect("proj");
        assert!((back[0].0 - 86.21).abs() < 1e-9 && (back[0].1 - 44.30).abs() < 1e-9);
    }
}
