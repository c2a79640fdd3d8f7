use super::{DivisionCode, DomainError, LonLat, Provenance};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The kinds of service facility a civil-affairs bureau keeps (see docs/API.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FacilityKind {
    CommunityService,
    CareHome,
    Cemetery,
    FuneralHome,
    DayCare,
    ReliefStation,
    MarriageRegistry,
    ChildWelfare,
}

impl FacilityKind {
    pub const ALL: [FacilityKind; 8] = [
        FacilityKind::CommunityService,
        FacilityKind::CareHome,
        FacilityKind::Cemetery,
        FacilityKind::FuneralHome,
        FacilityKind::DayCare,
        FacilityKind::ReliefStation,
        FacilityKind::MarriageRegistry,
        FacilityKind::ChildWelfare,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FacilityKind::CommunityService => "community_service",
            FacilityKind::CareHome => "care_home",
            FacilityKind::Cemetery => "cemetery",
            FacilityKind::FuneralHome => "funeral_home",
            FacilityKind::DayCare => "day_care",
            FacilityKind::ReliefStation => "relief_station",
            FacilityKind::MarriageRegistry => "marriage_registry",
            FacilityKind::ChildWelfare => "child_welfare",
        }
    }

    /// The Chinese name of the kind, as officers call it.
    pub fn label_zh(self) -> &'static str {
        match self {
            FacilityKind::CommunityService => "城乡社区综合服务设施",
            FacilityKind::CareHome => "养老机构",
            FacilityKind::Cemetery => "公墓",
            FacilityKind::FuneralHome => "殡仪馆",
            FacilityKind::DayCare => "日间照料中心",
            FacilityKind::ReliefStation => "救助管理站",
            FacilityKind::MarriageRegistry => "婚姻登记处",
            FacilityKind::ChildWelfare => "儿童福利机构",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

impl FromStr for FacilityKind {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, DomainError> {
        FacilityKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            DomainError::new(format!(
                "未知的设施类型 '{s}' (unknown facility kind; one of: {})",
                FacilityKind::ALL.map(|k| k.as_str()).join(", ")
            ))
        })
    }
}

impl fmt::Display for FacilityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who runs a facility (运营方式), as the plan's indicators count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    Public,
    PublicPrivate,
    Private,
}

impl Operator {
    pub const ALL: [Operator; 3] = [Operator::Public, Operator::PublicPrivate, Operator::Private];

    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Public => "public",
            Operator::PublicPrivate => "public_private",
            Operator::Private => "private",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Operator::Public => "公办",
            Operator::PublicPrivate => "公建民营",
            Operator::Private => "民办",
        }
    }
}

impl FromStr for Operator {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, DomainError> {
        Operator::ALL.into_iter().find(|o| o.as_str() == s).ok_or_else(|| {
            DomainError::new(format!(
                "须为 {} (one of: {})",
                Operator::ALL.map(|o| format!("{}（{}）", o.as_str(), o.label_zh())).join("、"),
                Operator::ALL.map(Operator::as_str).join(", ")
            ))
        })
    }
}

/// `open` facilities count in nearest, within and coverage unless a request names others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FacilityStatus {
    Open,
    Planned,
    Closed,
}

impl FacilityStatus {
    pub const ALL: [FacilityStatus; 3] = [FacilityStatus::Open, FacilityStatus::Planned, FacilityStatus::Closed];
    pub fn as_str(self) -> &'static str {
        match self {
            FacilityStatus::Open => "open",
            FacilityStatus::Planned => "planned",
            FacilityStatus::Closed => "closed",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            FacilityStatus::Open => "运营中",
            FacilityStatus::Planned => "规划中",
            FacilityStatus::Closed => "已关闭",
        }
    }
    /// A bit for status sets (`StatusSet`).
    pub fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl FromStr for FacilityStatus {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, DomainError> {
        match s {
            "open" => Ok(FacilityStatus::Open),
            "planned" => Ok(FacilityStatus::Planned),
            "closed" => Ok(FacilityStatus::Closed),
            _ => Err(DomainError::new(format!("未知的状态 '{s}' (unknown status; one of: open, planned, closed)"))),
        }
    }
}

/// A service facility (设施) as the registry keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Facility {
    /// Stable string id, e.g. `f0001`.
    pub id: String,
    pub name: String,
    pub kind: FacilityKind,
    /// The township the point lies in.
    pub township_code: DivisionCode,
    pub location: LonLat,
    pub status: FacilityStatus,
    pub capacity_beds: Option<u32>,
    /// `public` (公办), `public_private` (公建民营) or `private` (民办).
    pub operator: Option<String>,
    /// Kind-specific facts (nursing beds, cemetery type, plots, the settlement served…).
    pub attributes: serde_json::Map<String, serde_json::Value>,
    pub provenance: Provenance,
    pub version: i64,
    /// RFC 3339 time of the last change.
    pub updated_at: String,
}

impl Facility {
    /// A new record with `id`, version 1, written at `at`.
    pub fn new(id: String, fields: &NewFacility, at: &str) -> Self {
        Facility {
            id,
            name: fields.name.clone(),
            kind: fields.kind,
            township_code: fields.township_code.clone(),
            location: fields.location,
            status: fields.status,
            capacity_beds: fields.capacity_beds,
            operator: fields.operator.clone(),
            attributes: fields.attributes.clone(),
            provenance: fields.provenance,
            version: 1,
            updated_at: at.to_string(),
        }
    }

    /// This record with `fields` in place of its own, at `version`, written at `at`.
    pub fn with_fields(&self, fields: &NewFacility, version: i64, at: &str) -> Self {
        Facility { version, ..Facility::new(self.id.clone(), fields, at) }
    }
}

/// A facility to be registered; the store gives it an id and version 1.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFacility {
    pub name: String,
    pub kind: FacilityKind,
    pub township_code: DivisionCode,
    pub location: LonLat,
    pub status: FacilityStatus,
    pub capacity_beds: Option<u32>,
    pub operator: Option<String>,
    pub attributes: serde_json::Map<String, serde_json::Value>,
    pub provenance: Provenance,
}

impl From<&Facility> for NewFacility {
    /// A facility's fields, to change some and write them back.
    fn from(f: &Facility) -> Self {
        NewFacility {
            name: f.name.clone(),
            kind: f.kind,
            township_code: f.township_code.clone(),
            location: f.location,
            status: f.status,
            capacity_beds: f.capacity_beds,
            operator: f.operator.clone(),
            attributes: f.attributes.clone(),
            provenance: f.provenance,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_slugs() {
        for k in FacilityKind::ALL {
            assert_eq!(k.as_str().parse::<FacilityKind>(), Ok(k));
        }
        assert!("nursing_home".parse::<FacilityKind>().is_err());
    }
}
