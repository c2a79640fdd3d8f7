//! Coverage: per township, which share of the population is within reach of each
//! kind of facility under the plan's rules; the gaps; where new facilities would
//! close most of them (siting); and the same questions as if facilities were
//! added or removed (what-if).
//!
//! Owns: the rules file, the engine and the greedy maximal-covering siting. Must
//! not: write anything, or know about HTTP. Reads only the spatial snapshot.
//!
//! # Units
//! Distances are geodesic metres on GRS80; populations are residents (or residents
//! aged 60+ for capacity rules `per = "elderly"`).

mod engine;
mod rules;
mod siting;

pub use engine::{
    compute, demand, supplies, CountyCoverage, CountyRow, Coverage, CoverageOptions, SettlementResult, Supply,
    TownshipCoverage,
};
pub use rules::{Per, Rule, RuleError, RuleKind, Rules, Scope};
pub use siting::{site, SitingAnswer, SitingError, SitingPick};
