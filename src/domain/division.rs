use super::DomainError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An official division code at its own level: 6 digits for a county (`652324`),
/// 9 for a township (`652324100`), 12 for a village-level unit (`652324100201`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DivisionCode(String);

impl DivisionCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn level(&self) -> DivisionLevel {
        match self.0.len() {
            6 => DivisionLevel::County,
            9 => DivisionLevel::Township,
            _ => DivisionLevel::Village,
        }
    }
    /// The code of the unit this one lies in (a village's township, a township's county).
    pub fn parent(&self) -> Option<DivisionCode> {
        match self.0.len() {
            12 => self.0.get(..9).map(|p| DivisionCode(p.to_string())),
            9 => self.0.get(..6).map(|p| DivisionCode(p.to_string())),
            _ => None,
        }
    }
}

impl FromStr for DivisionCode {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, DomainError> {
        if matches!(s.len(), 6 | 9 | 12) && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(DivisionCode(s.to_string()))
        } else {
            Err(DomainError::new(
                "区划代码须为 6 位（县级）、9 位（乡级）或 12 位（村级）数字 (a division code has 6, 9 or 12 digits)",
            ))
        }
    }
}

impl TryFrom<String> for DivisionCode {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, DomainError> {
        s.parse()
    }
}

impl From<DivisionCode> for String {
    fn from(c: DivisionCode) -> String {
        c.0
    }
}

impl fmt::Display for DivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An area named by the head of its division codes: a province (2 digits, `65`),
/// a prefecture (4, `6523`) or a county-level unit (6, `652324`). It holds every
/// division whose code starts with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionCode {
    digits: [u8; 6],
    len: u8,
}

impl RegionCode {
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored (see `from_str`).
        self.digits.get(..usize::from(self.len)).and_then(|d| std::str::from_utf8(d).ok()).unwrap_or("")
    }
    /// Whether the division (or facility township) with this code lies in the area.
    pub fn holds(&self, code: &str) -> bool {
        code.starts_with(self.as_str())
    }
    /// `province`, `prefecture` or `county`.
    pub fn level(&self) -> &'static str {
        match self.len {
            2 => "province",
            4 => "prefecture",
            _ => "county",
        }
    }
    pub fn is_county(&self) -> bool {
        self.len == 6
    }
}

impl FromStr for RegionCode {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, DomainError> {
        let bytes = s.as_bytes();
        if !matches!(bytes.len(), 2 | 4 | 6) || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(DomainError::new(
                "地区代码须为 2 位（省级）、4 位（地级）或 6 位（县级）数字 (a region code has 2, 4 or 6 digits)",
            ));
        }
        let mut digits = [0u8; 6];
        for (d, b) in digits.iter_mut().zip(bytes) {
            *d = *b;
        }
        Ok(RegionCode { digits, len: bytes.len() as u8 })
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DivisionLevel {
    County,
    Township,
    Village,
}

impl DivisionLevel {
    pub const ALL: [DivisionLevel; 3] = [DivisionLevel::County, DivisionLevel::Township, DivisionLevel::Village];

    pub fn as_str(self) -> &'static str {
        match self {
            DivisionLevel::County => "county",
            DivisionLevel::Township => "township",
            DivisionLevel::Village => "village",
        }
    }
}

impl FromStr for DivisionLevel {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, DomainError> {
        match s {
            "county" => Ok(DivisionLevel::County),
            "township" => Ok(DivisionLevel::Township),
            "village" => Ok(DivisionLevel::Village),
            _ => Err(DomainError::new(
                "级别须为 county、township 或 village (level must be county, township or village)",
            )),
        }
    }
}

/// Where a record comes from. `synthetic` records were made by
/// `scripts/make_manas_dataset.py` and must be labelled as sample data wherever shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provenance {
    /// Published open data (see data/README.md for the source of each layer).
    Real,
    /// Made up by the dataset script, deterministically; sample data.
    Synthetic,
    /// Entered or imported by an officer through diming.
    Registered,
}

impl Provenance {
    pub const ALL: [Provenance; 3] = [Provenance::Real, Provenance::Synthetic, Provenance::Registered];

    pub fn as_str(self) -> &'static str {
        match self {
            Provenance::Real => "real",
            Provenance::Synthetic => "synthetic",
            Provenance::Registered => "registered",
        }
    }

    /// The label officers read; every synthetic part shows 示例数据.
    pub fn label_zh(self) -> &'static str {
        match self {
            Provenance::Real => "公开数据",
            Provenance::Synthetic => "示例数据（合成）",
            Provenance::Registered => "登记",
        }
    }
}

impl FromStr for Provenance {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, DomainError> {
        match s {
            "real" => Ok(Provenance::Real),
            "synthetic" => Ok(Provenance::Synthetic),
            "registered" => Ok(Provenance::Registered),
            _ => Err(DomainError::new("provenance must be real, synthetic or registered")),
        }
    }
}

/// An administrative division (行政区划): the county, a township-level unit or a
/// village-level unit. County and township geometries are MultiPolygons; a
/// village-level unit's geometry is its seat point.
#[derive(Debug, Clone, PartialEq)]
pub struct Division {
    pub code: DivisionCode,
    pub level: DivisionLevel,
    pub name: String,
    /// Hanyu Pinyin romanization per the place-name spelling rules (e.g. `Letuyi Zhen`).
    pub pinyin: String,
    pub parent_code: Option<DivisionCode>,
    pub geometry: Option<geo_types::Geometry<f64>>,
    /// A unit of the Xinjiang Production and Construction Corps (兵团), not run by the county.
    pub is_xpcc: bool,
    /// Where the code and name come from (NBS 2023 codes and names are `real`).
    pub provenance: Provenance,
    /// Where the geometry comes from; `None` when there is no geometry.
    pub geometry_provenance: Option<Provenance>,
    /// ISO date from which this record is in force.
    pub valid_from: String,
    pub valid_to: Option<String>,
    /// Further facts kept with the record (seat point, kind of unit, sources).
    pub properties: serde_json::Map<String, serde_json::Value>,
    pub version: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_code_is_two_four_or_six_digits_and_holds_what_starts_with_it() {
        let r: RegionCode = "6523".parse().expect("valid");
        assert_eq!((r.as_str(), r.level()), ("6523", "prefecture"));
        assert!(r.holds("652324100") && !r.holds("650102"));
        for bad in ["", "6", "652", "65232", "6523241", "65x3", "６５", "65\u{202e}"] {
            assert!(bad.parse::<RegionCode>().is_err(), "{bad}");
        }
    }

    #[test]
    fn codes_know_their_level_and_parent() {
        let c: DivisionCode = "652324100201".parse().expect("valid");
        assert_eq!(c.level(), DivisionLevel::Village);
        assert_eq!(c.parent().map(String::from).as_deref(), Some("652324100"));
        assert!("65232410".parse::<DivisionCode>().is_err());
        assert!("65232410x".parse::<DivisionCode>().is_err());
    }
}
