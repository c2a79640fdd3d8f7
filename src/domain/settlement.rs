use super::{DivisionCode, LonLat, Provenance};

/// A settlement (居民点): a village-level unit (村, 社区, 连队生活区) as a demand
/// point of coverage, at its seat.
#[derive(Debug, Clone, PartialEq)]
pub struct Settlement {
    /// The 12-digit code of the village-level unit.
    pub code: DivisionCode,
    /// The official (NBS) name, e.g. `楼南村村民委员会`.
    pub name: String,
    /// The settlement's own name without the committee suffix, e.g. `楼南村`.
    pub short_name: String,
    pub township_code: DivisionCode,
    /// `village`, `community`, `virtual` or `xpcc` (a corps company quarter).
    pub village_kind: String,
    pub location: LonLat,
    /// Resident population; `None` where unknown.
    pub population: Option<u64>,
    /// Residents aged 60 and over; `None` where unknown.
    pub population_60plus: Option<u64>,
    pub is_xpcc: bool,
    /// Where the code and name come from (NBS 2023: `real`).
    pub provenance: Provenance,
    /// Where the point comes from.
    pub location_provenance: Provenance,
    /// Where the population figures come from; `None` when there are none.
    pub population_provenance: Option<Provenance>,
    pub version: i64,
}
