use super::{DivisionCode, DomainError, Provenance};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// Where a standard name is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlaceStatus {
    /// Approved: the standard name (标准名称).
    Approved,
    /// Proposed, awaiting approval.
    Proposed,
    /// Replaced by an approved renaming; still resolves, points to its successor.
    Renamed,
    /// Retired (废止); still resolves.
    Retired,
}

impl PlaceStatus {
    pub const ALL: [PlaceStatus; 4] =
        [PlaceStatus::Approved, PlaceStatus::Proposed, PlaceStatus::Renamed, PlaceStatus::Retired];

    pub fn as_str(self) -> &'static str {
        match self {
            PlaceStatus::Approved => "approved",
            PlaceStatus::Proposed => "proposed",
            PlaceStatus::Renamed => "renamed",
            PlaceStatus::Retired => "retired",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            PlaceStatus::Approved => "已批准",
            PlaceStatus::Proposed => "待审批",
            PlaceStatus::Renamed => "已更名",
            PlaceStatus::Retired => "已废止",
        }
    }
    /// Names in use: the ones duplicates and homophones are checked against.
    pub fn in_use(self) -> bool {
        matches!(self, PlaceStatus::Approved | PlaceStatus::Proposed)
    }
}

impl FromStr for PlaceStatus {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, DomainError> {
        match s {
            "approved" => Ok(PlaceStatus::Approved),
            "proposed" => Ok(PlaceStatus::Proposed),
            "renamed" => Ok(PlaceStatus::Renamed),
            "retired" => Ok(PlaceStatus::Retired),
            _ => Err(DomainError::new("状态须为 proposed、approved、renamed 或 retired (unknown status)")),
        }
    }
}

/// A minority-language form of a name (e.g. Kazakh for 清水河子哈萨克民族乡).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MinorityForm {
    /// ISO 639 code, e.g. `kk` (Kazakh), `ug` (Uyghur), `mn` (Mongolian).
    pub lang: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub romanization: Option<String>,
}

/// A standard place name (标准地名) as the registry keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub id: String,
    /// The standard name, e.g. 乐土驿镇.
    pub name: String,
    /// 专名, e.g. 乐土驿.
    pub specific_term: String,
    /// 通名, e.g. 镇.
    pub generic_term: String,
    /// A category slug of the national place-name classification (see `naming::categories`).
    pub category: String,
    /// The division the named thing lies in (a township code, or the county's).
    pub division_code: Option<DivisionCode>,
    pub geometry: Option<geo_types::Geometry<f64>>,
    /// Hanyu Pinyin per the place-name spelling rules, e.g. `Letuyi Zhen`.
    pub romanization: String,
    /// `suggested` (made by diming) or `officer` (corrected by an officer; kept).
    pub romanization_source: String,
    /// 含义/来历: what the name means and where it comes from.
    pub origin: Option<String>,
    pub alternate_names: Vec<String>,
    pub historic_names: Vec<String>,
    pub minority_form: Option<MinorityForm>,
    pub status: PlaceStatus,
    pub proposed_by: Option<String>,
    pub decided_by: Option<String>,
    pub approving_body: Option<String>,
    pub document_no: Option<String>,
    /// ISO date of approval, renaming or retirement.
    pub decided_on: Option<String>,
    pub predecessor_id: Option<String>,
    pub successor_id: Option<String>,
    pub provenance: Provenance,
    /// Further facts (retirement reason, source of a seeded record…).
    pub attributes: serde_json::Map<String, serde_json::Value>,
    pub version: i64,
    pub updated_at: String,
}
