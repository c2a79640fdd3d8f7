//! The coverage engine: one pass over the demand settlements against the rule's
//! facility set, then totals per township and for the county.

use super::rules::{Per, Rule, RuleKind, Scope};
use crate::domain::{RegionCode, Settlement};
use crate::spatial::{PointIndex, Snapshot, StatusSet};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use utoipa::ToSchema;

/// What a coverage question counts beyond its rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CoverageOptions {
    /// Count XPCC (兵团) settlements, townships and facilities too.
    pub include_xpcc: bool,
    /// Which facility statuses count (default: open).
    pub statuses: StatusSet,
    /// Only the settlements of this county, prefecture or province (all when `None`).
    /// Facilities count wherever they are: a settlement near a county border may be
    /// served across it.
    pub area: Option<RegionCode>,
}

/// A facility as the engine sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Supply {
    pub id: String,
    pub point: [f64; 2],
    pub township_code: String,
    pub beds: u32,
    /// The village-level unit the facility says it serves, if any.
    pub serves: Option<String>,
}

/// One demand settlement's answer (kept for gaps and siting; not serialized).
#[derive(Debug, Clone, PartialEq)]
pub struct SettlementResult {
    /// Index into `Snapshot::settlements()`.
    pub idx: usize,
    pub covered: bool,
    pub nearest_facility_id: Option<String>,
    pub nearest_distance_m: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TownshipCoverage {
    pub code: String,
    pub name: String,
    pub is_xpcc: bool,
    pub settlements: usize,
    pub settlements_covered: usize,
    pub population: u64,
    pub population_covered: u64,
    /// `population_covered / population`, or the settlement ratio where population is unknown.
    pub coverage_ratio: f64,
    pub target: f64,
    pub meets_target: bool,
    /// Facilities of the rule's set located in the township.
    pub facilities: usize,
    /// Capacity rules only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beds: Option<u64>,
    /// Capacity rules only: beds the rule asks for, to 0.1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beds_required: Option<f64>,
    /// Codes of the uncovered settlements.
    pub uncovered: Vec<String>,
}

/// One county-level unit of an answer, with its population-weighted coverage.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CountyRow {
    #[schema(example = "652324")]
    pub code: String,
    #[schema(example = "玛纳斯县")]
    pub name: String,
    pub settlements: usize,
    pub settlements_covered: usize,
    pub population: u64,
    pub population_covered: u64,
    /// `population_covered / population` over the county's townships.
    pub coverage_ratio: f64,
    pub target: f64,
    pub meets_target: bool,
    pub townships: usize,
    pub townships_meeting_target: usize,
}

/// The totals of the whole area asked (a county, or a prefecture or province).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CountyCoverage {
    pub settlements: usize,
    pub settlements_covered: usize,
    pub population: u64,
    pub population_covered: u64,
    pub coverage_ratio: f64,
    pub townships: usize,
    pub townships_meeting_target: usize,
}

/// Coverage per township and for the county. A settlement is covered when the
/// geodesic distance from its point to the nearest counted facility, in any township,
/// is ≤ `radius_m` (distance rules).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = CoverageAnswer)]
pub struct Coverage {
    #[schema(value_type = crate::domain::FacilityKind)]
    pub kind: &'static str,
    /// The rule used (the kind's default unless the request named one).
    pub rule: Rule,
    /// What `population` counts: `residents` or `residents_60plus`.
    pub population_unit: &'static str,
    pub include_xpcc: bool,
    /// The facility statuses counted.
    #[schema(value_type = Vec<crate::domain::FacilityStatus>)]
    pub statuses: Vec<&'static str>,
    /// The area asked (`county` or `region`: 2, 4 or 6 digits); null for the whole registry.
    #[schema(example = "652324")]
    pub area: Option<String>,
    pub townships: Vec<TownshipCoverage>,
    /// One row per county-level unit with demand in the answer, in code order: for a
    /// prefecture or province the choropleth's values; drill down with `county=`.
    pub counties: Vec<CountyRow>,
    /// The totals of the whole area asked (named `county` since the first API).
    pub county: CountyCoverage,
    /// Whether any record behind this answer is sample data.
    pub synthetic_data: bool,
    #[serde(skip)]
    pub results: Vec<SettlementResult>,
    #[serde(skip)]
    pub supplies: Vec<Supply>,
}

fn ratio(covered: u64, total: u64, s_covered: usize, s_total: usize) -> f64 {
    if total > 0 {
        covered as f64 / total as f64
    } else if s_total > 0 {
        s_covered as f64 / s_total as f64
    } else {
        1.0
    }
}

/// The facilities a rule counts in this snapshot, before any what-if change.
pub fn supplies(snap: &Snapshot, rule: &Rule, opts: &CoverageOptions) -> Vec<Supply> {
    snap.facilities()
        .map(|e| &e.facility)
        .filter(|f| f.kind == rule.kind && opts.statuses.contains(f.status.bit()))
        .filter(|f| rule.where_.iter().all(|(k, v)| f.attributes.get(k) == Some(v)))
        .filter(|f| opts.include_xpcc || !snap.division(f.township_code.as_str()).is_some_and(|d| d.division.is_xpcc))
        .map(|f| Supply {
            id: f.id.clone(),
            point: [f.location.lon(), f.location.lat()],
            township_code: f.township_code.to_string(),
            beds: f.capacity_beds.unwrap_or(0),
            serves: f.attributes.get("serves_code").and_then(|v| v.as_str()).map(str::to_string),
        })
        .collect()
}

/// The demand settlements of a rule: indices into `Snapshot::settlements()`.
pub fn demand(snap: &Snapshot, rule: &Rule, opts: &CoverageOptions) -> Vec<usize> {
    snap.settlements()
        .iter()
        .enumerate()
        .filter(|(_, s)| opts.include_xpcc || !s.settlement.is_xpcc)
        .filter(|(_, s)| opts.area.is_none_or(|a| a.holds(s.settlement.code.as_str())))
        .filter(|(_, s)| rule.settlements.as_ref().is_none_or(|k| k.contains(&s.settlement.village_kind)))
        .map(|(i, _)| i)
        .collect()
}

/// Coverage of `rule` over the snapshot, with `supplies` as the facility set
/// (`supplies(snap, rule, opts)`, or a what-if variant of it).
pub fn compute(snap: &Snapshot, rule: &Rule, opts: &CoverageOptions, supplies: Vec<Supply>) -> Coverage {
    let index = PointIndex::new(supplies.len(), supplies.iter().enumerate().map(|(i, s)| (i as u32, s.point, 1)));
    let settlements = snap.settlements();
    // Each demand settlement with its index into `Snapshot::settlements()`.
    let demand: Vec<(usize, &Settlement)> =
        demand(snap, rule, opts).into_iter().filter_map(|i| Some((i, &settlements.get(i)?.settlement))).collect();

    // The nearest facility of every demand settlement, exact geodesic; in parallel.
    let nearest: Vec<Option<(u32, f64)>> = parallel_map(&demand, |&(_, s)| {
        index
            .nearest([s.location.lon(), s.location.lat()], 1, None, StatusSet::ANY)
            .first()
            .map(|h| (h.idx, h.distance_m))
    });

    let with_supply_township: HashSet<&str> = supplies.iter().map(|s| s.township_code.as_str()).collect();
    let with_supply_village: HashSet<String> = match rule.rule {
        RuleKind::Presence { scope: Scope::Village } => village_assignment(snap, &supplies),
        _ => HashSet::new(),
    };
    let mut results: Vec<SettlementResult> = demand
        .iter()
        .zip(&nearest)
        .map(|(&(i, s), n)| {
            let covered = match rule.rule {
                RuleKind::Distance { radius_m } => n.is_some_and(|(_, d)| d <= radius_m),
                RuleKind::Presence { scope: Scope::Township } => {
                    with_supply_township.contains(s.township_code.as_str())
                }
                RuleKind::Presence { scope: Scope::Village } => with_supply_village.contains(s.code.as_str()),
                RuleKind::Capacity { .. } => false, // decided per township below
            };
            SettlementResult {
                idx: i,
                covered,
                nearest_facility_id: n.and_then(|(j, _)| supplies.get(j as usize)).map(|f| f.id.clone()),
                nearest_distance_m: n.map(|(_, d)| d),
            }
        })
        .collect();

    // An answer rests on the settlements' points and populations and the facilities.
    let synthetic = crate::domain::Provenance::Synthetic;
    let synthetic_data = demand
        .iter()
        .any(|(_, s)| s.location_provenance == synthetic || s.population_provenance == Some(synthetic))
        || supplies.iter().any(|s| snap.facility(&s.id).is_some_and(|f| f.facility.provenance.as_str() == "synthetic"));

    // Per township, in code order: each result with its settlement.
    let mut by_township: BTreeMap<&str, Vec<(&mut SettlementResult, &Settlement)>> = BTreeMap::new();
    for (res, &(_, s)) in results.iter_mut().zip(&demand) {
        by_township.entry(s.township_code.as_str()).or_default().push((res, s));
    }
    let facilities_in: HashMap<&str, (usize, u64)> = supplies.iter().fold(HashMap::new(), |mut m, s| {
        let e = m.entry(s.township_code.as_str()).or_insert((0, 0));
        e.0 += 1;
        e.1 += u64::from(s.beds);
        m
    });

    let elderly = matches!(rule.rule, RuleKind::Capacity { per: Per::Elderly, .. });
    let weight = |s: &Settlement| -> Option<u64> {
        if elderly {
            s.population_60plus
        } else {
            s.population
        }
    };
    let mut townships = Vec::with_capacity(by_township.len());
    for (&code, rows) in &mut by_township {
        let population: u64 = rows.iter().filter_map(|(_, s)| weight(s)).sum();
        let (n_fac, beds) = facilities_in.get(code).copied().unwrap_or((0, 0));
        let (mut beds_out, mut beds_required) = (None, None);
        let population_covered: u64;
        if let RuleKind::Capacity { beds_per_1000, .. } = rule.rule {
            let required = population as f64 * beds_per_1000 / 1000.0;
            let served = ((beds as f64) * 1000.0 / beds_per_1000).floor() as u64;
            population_covered = served.min(population);
            let meets = population_covered as f64 >= rule.target * population as f64 - 1e-9;
            for (res, _) in rows.iter_mut() {
                res.covered = meets;
            }
            beds_out = Some(beds);
            beds_required = Some((required * 10.0).round() / 10.0);
        } else {
            population_covered = rows.iter().filter(|(res, _)| res.covered).filter_map(|(_, s)| weight(s)).sum();
        }
        let settlements_covered = rows.iter().filter(|(res, _)| res.covered).count();
        let coverage_ratio = ratio(population_covered, population, settlements_covered, rows.len());
        let division = snap.division(code);
        townships.push(TownshipCoverage {
            name: division.map(|d| d.division.name.clone()).unwrap_or_default(),
            is_xpcc: division.is_some_and(|d| d.division.is_xpcc),
            code: code.to_string(),
            settlements: rows.len(),
            settlements_covered,
            population,
            population_covered,
            coverage_ratio,
            target: rule.target,
            meets_target: coverage_ratio >= rule.target - 1e-9,
            facilities: n_fac,
            beds: beds_out,
            beds_required,
            uncovered: rows.iter().filter(|(res, _)| !res.covered).map(|(_, s)| s.code.to_string()).collect(),
        });
    }
    let population: u64 = townships.iter().map(|t| t.population).sum();
    let population_covered: u64 = townships.iter().map(|t| t.population_covered).sum();
    let s_total: usize = townships.iter().map(|t| t.settlements).sum();
    let s_covered: usize = townships.iter().map(|t| t.settlements_covered).sum();
    let county = CountyCoverage {
        settlements: s_total,
        settlements_covered: s_covered,
        population,
        population_covered,
        coverage_ratio: ratio(population_covered, population, s_covered, s_total),
        townships: townships.len(),
        townships_meeting_target: townships.iter().filter(|t| t.meets_target).count(),
    };
    drop(by_township);
    results.sort_by_key(|r| r.idx);
    let counties = county_rows(snap, &townships, rule.target);
    Coverage {
        kind: rule.kind.as_str(),
        rule: rule.clone(),
        population_unit: if elderly { "residents_60plus" } else { "residents" },
        include_xpcc: opts.include_xpcc,
        statuses: crate::domain::FacilityStatus::ALL
            .iter()
            .filter(|s| opts.statuses.contains(s.bit()))
            .map(|s| s.as_str())
            .collect(),
        area: opts.area.map(|a| a.to_string()),
        townships,
        counties,
        county,
        synthetic_data,
        results,
        supplies,
    }
}

/// The townships' totals per county-level unit (the first six digits of their codes).
fn county_rows(snap: &Snapshot, townships: &[TownshipCoverage], target: f64) -> Vec<CountyRow> {
    let mut rows: Vec<CountyRow> = Vec::new();
    for t in townships {
        let code = t.code.get(..6).unwrap_or(&t.code);
        if rows.last().is_none_or(|r| r.code != code) {
            rows.push(CountyRow {
                code: code.to_string(),
                name: snap.division(code).map(|d| d.division.name.clone()).unwrap_or_default(),
                settlements: 0,
                settlements_covered: 0,
                population: 0,
                population_covered: 0,
                coverage_ratio: 0.0,
                target,
                meets_target: false,
                townships: 0,
                townships_meeting_target: 0,
            });
        }
        if let Some(r) = rows.last_mut() {
            r.settlements += t.settlements;
            r.settlements_covered += t.settlements_covered;
            r.population += t.population;
            r.population_covered += t.population_covered;
            r.townships += 1;
            r.townships_meeting_target += usize::from(t.meets_target);
        }
    }
    for r in &mut rows {
        r.coverage_ratio = ratio(r.population_covered, r.population, r.settlements_covered, r.settlements);
        r.meets_target = r.coverage_ratio >= target - 1e-9;
    }
    rows
}

/// Which village-level units have a facility: the one a facility says it serves,
/// else the settlement nearest to it within its own township.
fn village_assignment(snap: &Snapshot, supplies: &[Supply]) -> HashSet<String> {
    let mut by_township: HashMap<&str, Vec<(usize, &Settlement)>> = HashMap::new();
    for (i, s) in snap.settlements().iter().enumerate() {
        by_township.entry(s.settlement.township_code.as_str()).or_default().push((i, &s.settlement));
    }
    let mut out = HashSet::new();
    for s in supplies {
        if let Some(code) = s.serves.as_ref().filter(|c| snap.settlement(c).is_some()) {
            out.insert(code.clone());
            continue;
        }
        let nearest = by_township.get(s.township_code.as_str()).and_then(|v| {
            v.iter()
                .map(|&(i, st)| {
                    (crate::spatial::geodesic::distance_m(s.point, [st.location.lon(), st.location.lat()]), i, st)
                })
                .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
        });
        if let Some((_, _, st)) = nearest {
            out.insert(st.code.to_string());
        }
    }
    out
}

/// `items.iter().map(f)` over the machine's cores, order kept.
pub(crate) fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || items.len() < 4096 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            items.chunks(chunk).map(|c| scope.spawn(|| c.iter().map(&f).collect::<Vec<R>>())).collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    })
}
