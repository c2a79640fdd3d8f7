//! Siting: where `count` new facilities would newly cover the most population.
//!
//! Distance rules: greedy maximal covering. Candidates are the demand settlements
//! and a grid (spacing radius/2, 250 m to 5 km) around the uncovered ones, kept
//! where a township of the county holds them; each candidate covers the uncovered
//! settlements within the radius (exact geodesic). Picks are made greedily by
//! marginal covered population with lazy re-evaluation (gains only shrink), ties
//! to the earlier candidate. Presence rules: the uncovered village (or township)
//! with the most people first, sited at its settlement.

use super::engine::{parallel_map, Coverage, CoverageOptions};
use super::rules::{RuleKind, Scope};
use crate::spatial::{PointIndex, Snapshot, StatusSet};
use serde::Serialize;
use std::collections::{BinaryHeap, HashMap, HashSet};
use thiserror::Error;
use utoipa::ToSchema;

/// Above this many uncovered settlements the grid is left out (settlements only).
const GRID_MAX_UNCOVERED: usize = 20_000;

#[derive(Debug, Error, PartialEq)]
pub enum SitingError {
    #[error("选址只适用于距离或存在规则 (siting needs a distance or presence rule; `{0}` is a capacity rule)")]
    CapacityRule(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SitingPick {
    pub rank: usize,
    pub lon: f64,
    pub lat: f64,
    pub township_code: Option<String>,
    pub township_name: Option<String>,
    /// `settlement:CODE` or `grid`.
    pub candidate: String,
    pub gain_population: u64,
    pub gain_settlements: usize,
    /// Codes of the settlements this site would cover.
    pub covers: Vec<String>,
    /// County coverage ratio once this and every earlier pick are built.
    pub county_coverage_ratio_after: f64,
}

/// Greedy maximal-covering siting: where new facilities would close most gaps.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SitingAnswer {
    #[schema(value_type = crate::domain::FacilityKind)]
    pub kind: &'static str,
    pub rule_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub radius_m: Option<f64>,
    pub county_coverage_ratio_before: f64,
    pub county_coverage_ratio_after: f64,
    pub candidates_considered: usize,
    pub picks: Vec<SitingPick>,
    pub synthetic_data: bool,
}

struct Uncovered {
    point: [f64; 2],
    weight: u64,
    code: String,
}

/// Propose up to `count` sites for the coverage `cov` (computed for the same rule).
pub fn site(
    snap: &Snapshot,
    cov: &Coverage,
    opts: &CoverageOptions,
    count: usize,
) -> Result<SitingAnswer, SitingError> {
    let settlements = snap.settlements();
    let uncovered: Vec<Uncovered> = cov
        .results
        .iter()
        .filter(|r| !r.covered)
        .filter_map(|r| {
            let s = &settlements.get(r.idx)?.settlement;
            Some(Uncovered {
                point: [s.location.lon(), s.location.lat()],
                weight: s.population.unwrap_or(1),
                code: s.code.to_string(),
            })
        })
        .collect();
    let total = cov.county.population.max(1) as f64;
    let before = cov.county.coverage_ratio;
    let mut answer = SitingAnswer {
        kind: cov.kind,
        rule_id: cov.rule.id.clone(),
        radius_m: cov.rule.radius_m(),
        county_coverage_ratio_before: before,
        county_coverage_ratio_after: before,
        candidates_considered: 0,
        picks: Vec::new(),
        synthetic_data: cov.synthetic_data,
    };
    let township_of =
        |p: [f64; 2]| snap.township_at(p[0], p[1]).map(|d| (d.division.code.to_string(), d.division.name.clone()));
    let mut covered_pop = cov.county.population_covered;
    match cov.rule.rule {
        RuleKind::Capacity { .. } => return Err(SitingError::CapacityRule(cov.rule.id.clone())),
        RuleKind::Presence { scope } => {
            // Group the uncovered by the division that lacks a facility.
            // Members in `uncovered` order, each with its position there (the tie-break).
            let mut by_key: HashMap<String, Vec<(usize, &Uncovered)>> = HashMap::new();
            for (i, u) in uncovered.iter().enumerate() {
                let key = match scope {
                    Scope::Village => u.code.clone(),
                    Scope::Township => u.code.get(..9).unwrap_or(&u.code).to_string(),
                };
                by_key.entry(key).or_default().push((i, u));
            }
            let mut groups: Vec<(String, Vec<(usize, &Uncovered)>)> = by_key.into_iter().collect();
            answer.candidates_considered = groups.len();
            let gain = |g: &[(usize, &Uncovered)]| g.iter().map(|(_, u)| u.weight).sum::<u64>();
            groups.sort_by(|a, b| gain(&b.1).cmp(&gain(&a.1)).then(a.0.cmp(&b.0)));
            for (rank, (_, members)) in groups.iter().take(count).enumerate() {
                // Site at the group's most populous settlement (the earlier of equals).
                let best =
                    members.iter().copied().max_by(|&(a, ua), &(b, ub)| ua.weight.cmp(&ub.weight).then(b.cmp(&a)));
                let Some((_, best)) = best else { continue };
                let g = gain(members);
                covered_pop += g;
                let t = township_of(best.point);
                answer.picks.push(SitingPick {
                    rank: rank + 1,
                    lon: best.point[0],
                    lat: best.point[1],
                    township_name: t.as_ref().map(|t| t.1.clone()),
                    township_code: t.map(|t| t.0),
                    candidate: format!("settlement:{}", best.code),
                    gain_population: g,
                    gain_settlements: members.len(),
                    covers: members.iter().map(|(_, u)| u.code.clone()).collect(),
                    county_coverage_ratio_after: covered_pop as f64 / total,
                });
            }
        }
        RuleKind::Distance { radius_m } => {
            let u_index =
                PointIndex::new(uncovered.len(), uncovered.iter().enumerate().map(|(i, u)| (i as u32, u.point, 1)));
            // Candidates: demand settlements, then the grid around the uncovered.
            let mut candidates: Vec<([f64; 2], String)> = cov
                .results
                .iter()
                .filter_map(|r| {
                    let s = &settlements.get(r.idx)?.settlement;
                    Some(([s.location.lon(), s.location.lat()], format!("settlement:{}", s.code)))
                })
                .collect();
            if uncovered.len() <= GRID_MAX_UNCOVERED {
                candidates.extend(grid_around(&uncovered, radius_m).into_iter().map(|p| (p, "grid".to_string())));
            }
            // A proposed site lies in a township of the area asked about.
            let allowed = |p: [f64; 2]| {
                snap.township_at(p[0], p[1]).is_some_and(|d| {
                    (opts.include_xpcc || !d.division.is_xpcc)
                        && opts.area.is_none_or(|a| a.holds(d.division.code.as_str()))
                })
            };
            let covers: Vec<Vec<u32>> = parallel_map(&candidates, |(p, label)| {
                if label == "grid" && !allowed(*p) {
                    return Vec::new();
                }
                u_index.within(*p, radius_m, StatusSet::ANY).into_iter().map(|h| h.idx).collect()
            });
            answer.candidates_considered = covers.iter().filter(|c| !c.is_empty()).count();
            // `covers` holds positions in `uncovered` (the points of `u_index`);
            // `done[u]`: uncovered settlement `u` is covered by an earlier pick.
            let mut done = vec![false; uncovered.len()];
            let open = |done: &[bool], u: u32| done.get(u as usize) == Some(&false);
            let gain_of = |c: &[u32], done: &[bool]| -> u64 {
                c.iter().filter(|&&u| open(done, u)).filter_map(|&u| uncovered.get(u as usize)).map(|u| u.weight).sum()
            };
            // Max-heap on (gain, earlier candidate first).
            let mut heap: BinaryHeap<(u64, std::cmp::Reverse<usize>)> = covers
                .iter()
                .enumerate()
                .filter(|(_, c)| !c.is_empty())
                .map(|(i, c)| (gain_of(c, &done), std::cmp::Reverse(i)))
                .collect();
            let mut taken: HashSet<usize> = HashSet::new();
            while answer.picks.len() < count {
                let Some((g, std::cmp::Reverse(i))) = heap.pop() else {
                    break;
                };
                // `covers` was computed from `candidates`, one per candidate.
                let (Some(cover), Some((p, label))) = (covers.get(i), candidates.get(i)) else { continue };
                let fresh = gain_of(cover, &done);
                if fresh != g {
                    if fresh > 0 {
                        heap.push((fresh, std::cmp::Reverse(i)));
                    }
                    continue;
                }
                if g == 0 || !taken.insert(i) {
                    break;
                }
                let newly: Vec<u32> = cover.iter().copied().filter(|&u| open(&done, u)).collect();
                for &u in &newly {
                    if let Some(d) = done.get_mut(u as usize) {
                        *d = true;
                    }
                }
                covered_pop += g;
                let t = township_of(*p);
                answer.picks.push(SitingPick {
                    rank: answer.picks.len() + 1,
                    lon: p[0],
                    lat: p[1],
                    township_name: t.as_ref().map(|t| t.1.clone()),
                    township_code: t.map(|t| t.0),
                    candidate: label.clone(),
                    gain_population: g,
                    gain_settlements: newly.len(),
                    covers: newly.iter().filter_map(|&u| uncovered.get(u as usize)).map(|u| u.code.clone()).collect(),
                    county_coverage_ratio_after: covered_pop as f64 / total,
                });
            }
        }
    }
    answer.county_coverage_ratio_after = covered_pop as f64 / total;
    Ok(answer)
}

/// Grid points (spacing radius/2, clamped to 250 m..5 km) within `radius_m` of an
/// uncovered settlement, each once.
fn grid_around(uncovered: &[Uncovered], radius_m: f64) -> Vec<[f64; 2]> {
    let step_m = (radius_m / 2.0).clamp(250.0, 5_000.0);
    let dlat = step_m / 111_320.0;
    // One grid for all: its longitude step set at the mean latitude.
    let mean_lat = uncovered.iter().map(|u| u.point[1]).sum::<f64>() / uncovered.len().max(1) as f64;
    let dlon = step_m / (111_320.0 * mean_lat.to_radians().cos().max(0.05));
    let reach_lat = (radius_m / step_m).ceil() as i64;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for u in uncovered {
        let scale = (mean_lat.to_radians().cos() / u.point[1].to_radians().cos().max(0.05)).max(1.0);
        let reach = (reach_lat as f64 * scale).ceil() as i64;
        let (ci, cj) = ((u.point[0] / dlon).round() as i64, (u.point[1] / dlat).round() as i64);
        for i in ci - reach..=ci + reach {
            for j in cj - reach..=cj + reach {
                let p = [i as f64 * dlon, j as f64 * dlat];
                if crate::spatial::geodesic::distance_m(u.point, p) <= radius_m && seen.insert((i, j)) {
                    out.push(p);
                }
            }
        }
    }
    out
}
