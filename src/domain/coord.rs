use super::DomainError;
use serde::{Deserialize, Serialize};

/// Longitude in degrees, finite and within [-180, 180].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
pub struct Lon(f64);

/// Latitude in degrees, finite and within [-90, 90].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
pub struct Lat(f64);

impl TryFrom<f64> for Lon {
    type Error = DomainError;
    fn try_from(v: f64) -> Result<Self, DomainError> {
        if v.is_finite() && (-180.0..=180.0).contains(&v) {
            Ok(Lon(v))
        } else {
            Err(DomainError::new(
                "经度必须是 -180 到 180 之间的有限数 (longitude must be a finite number in [-180, 180])",
            ))
        }
    }
}

impl TryFrom<f64> for Lat {
    type Error = DomainError;
    fn try_from(v: f64) -> Result<Self, DomainError> {
        if v.is_finite() && (-90.0..=90.0).contains(&v) {
            Ok(Lat(v))
        } else {
            Err(DomainError::new("纬度必须是 -90 到 90 之间的有限数 (latitude must be a finite number in [-90, 90])"))
        }
    }
}

impl Lon {
    pub fn get(self) -> f64 {
        self.0
    }
}
impl Lat {
    pub fn get(self) -> f64 {
        self.0
    }
}

/// A validated position, `[lon, lat]` in CGCS2000 degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "[f64; 2]", into = "[f64; 2]")]
pub struct LonLat {
    lon: f64,
    lat: f64,
}

impl LonLat {
    pub fn new(lon: Lon, lat: Lat) -> Self {
        Self { lon: lon.get(), lat: lat.get() }
    }
    pub fn lon(&self) -> f64 {
        self.lon
    }
    pub fn lat(&self) -> f64 {
        self.lat
    }
}

impl TryFrom<[f64; 2]> for LonLat {
    type Error = DomainError;
    fn try_from([lon, lat]: [f64; 2]) -> Result<Self, DomainError> {
        Ok(Self::new(Lon::try_from(lon)?, Lat::try_from(lat)?))
    }
}

impl From<LonLat> for [f64; 2] {
    fn from(p: LonLat) -> Self {
        [p.lon, p.lat]
    }
}

impl From<LonLat> for geo_types::Point<f64> {
    fn from(p: LonLat) -> Self {
        geo_types::Point::new(p.lon, p.lat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_and_non_finite_coordinates_are_refused() {
        assert!(Lon::try_from(180.0).is_ok());
        assert!(Lon::try_from(180.000001).is_err());
        assert!(Lat::try_from(-90.5).is_err());
        assert!(Lon::try_from(f64::NAN).is_err());
        assert!(Lat::try_from(f64::INFINITY).is_err());
        assert!(LonLat::try_from([86.2, 44.3]).is_ok());
    }
}
