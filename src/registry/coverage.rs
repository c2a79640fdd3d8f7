//! Coverage questions: which rule a question means (the one resolution of
//! `rule`, `kind` and `radius_m`), coverage from the cache of the current
//! snapshot, siting, and what-if. The computations are `crate::coverage`'s; here
//! they meet the registry's rules file, its snapshot and its cache.

use super::{FieldError, Registry, RegistryError, RegistryResult};
use crate::coverage::{self, Coverage, CoverageOptions, Rule, SitingAnswer, Supply};
use crate::domain::{FacilityKind, LonLat, RegionCode};
use crate::spatial::{Snapshot, StatusSet};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::Arc;

/// The largest radius a question may name, in metres.
pub const MAX_DISTANCE_M: f64 = 1_000_000.0;

/// A coverage question as asked: every part optional but `kind` or `rule`.
#[derive(Debug, Clone, Default)]
pub struct Ask {
    pub kind: Option<FacilityKind>,
    /// A rule id of the rules file.
    pub rule: Option<String>,
    /// Turns the rule into a distance rule with this geodesic radius, metres.
    pub radius_m: Option<f64>,
    /// Which statuses count (default: open).
    pub statuses: Option<StatusSet>,
    pub include_xpcc: bool,
    /// The county asked about (6 digits).
    pub county: Option<RegionCode>,
    /// A prefecture or province (or county) asked about, answered per county.
    pub region: Option<RegionCode>,
}

/// A question resolved: the rule that applies and what counts.
#[derive(Debug, Clone)]
pub struct Question {
    pub rule: Rule,
    pub opts: CoverageOptions,
}

/// Why a rule cannot be resolved: an unknown id is a value outside its
/// vocabulary (`Invalid`); a rule for another kind, a kind without a default or
/// no kind at all are refusals of valid values (`Refused`).
fn resolve_rule(rules: &crate::coverage::Rules, ask: &Ask) -> RegistryResult<Rule> {
    let base = match (ask.rule.as_deref(), ask.kind) {
        (Some(id), k) => {
            let r = rules
                .get(id)
                .ok_or_else(|| RegistryError::invalid("rule", format!("没有名为 {id} 的覆盖规则 (no such rule)")))?;
            if k.is_some_and(|k| k != r.kind) {
                return Err(RegistryError::refused(
                    "rule",
                    format!("规则 {id} 属于 {}，与 kind 不符 (the rule is for another kind)", r.kind),
                ));
            }
            r.clone()
        }
        (None, Some(k)) => rules.default_for(k).cloned().ok_or_else(|| {
            RegistryError::refused("kind", format!("{k} 没有默认覆盖规则 (no default rule for this kind)"))
        })?,
        (None, None) => {
            return Err(RegistryError::refused("kind", "缺少必填参数 kind 或 rule (kind or rule is required)"))
        }
    };
    match ask.radius_m {
        Some(r) if !(r > 0.0 && r <= MAX_DISTANCE_M) => {
            Err(RegistryError::invalid("radius_m", "须大于 0 且不超过 1000000 米 (must be > 0 and ≤ 1,000,000 metres)"))
        }
        Some(r) => Ok(base.with_radius(r)),
        None => Ok(base),
    }
}

/// A facility a what-if adds.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSite {
    /// Longitude, CGCS2000 degrees, in [-180, 180].
    #[schema(minimum = -180.0, maximum = 180.0, example = 86.23)]
    pub lon: f64,
    /// Latitude, CGCS2000 degrees, in [-90, 90].
    #[schema(minimum = -90.0, maximum = 90.0, example = 43.93)]
    pub lat: f64,
    pub name: Option<String>,
    /// Beds, for capacity rules.
    #[serde(default, deserialize_with = "crate::domain::json::whole")]
    pub capacity_beds: Option<u32>,
    /// Attributes a rule's `where` may ask for (e.g. `{"facility_level": "centre"}`);
    /// a site that does not match the rule does not count.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

/// A new site as a what-if placed it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlacedSite {
    /// `what-if-N`, N its place in `add` from 1.
    pub id: String,
    pub name: Option<String>,
    pub lon: f64,
    pub lat: f64,
    /// The township the point falls in.
    pub township_code: String,
    pub township_name: String,
}

/// A township whose coverage a what-if changes.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TownshipChange {
    pub code: String,
    pub name: String,
    pub coverage_ratio_before: f64,
    pub coverage_ratio_after: f64,
    pub meets_target_before: bool,
    pub meets_target_after: bool,
}

/// Coverage before and after a what-if.
#[derive(Debug, Clone)]
pub struct WhatIfOutcome {
    pub before: Arc<Coverage>,
    pub after: Coverage,
    pub added: Vec<PlacedSite>,
    pub changes: Vec<TownshipChange>,
}

/// The most county choices an error lists by name.
const CHOICES_LISTED: usize = 30;

fn choices(counties: &[crate::spatial::counties::CountySummary]) -> String {
    let mut s: Vec<String> = counties.iter().take(CHOICES_LISTED).map(|c| format!("{} {}", c.code, c.name)).collect();
    if counties.len() > CHOICES_LISTED {
        s.push(format!(
            "…共 {} 个，见 GET /api/v1/counties (all {} in GET /api/v1/counties)",
            counties.len(),
            counties.len()
        ));
    }
    s.join("、")
}

/// Which area a question asks about: the county or region named, which must hold
/// a county of the registry; none named is the whole registry when it holds one
/// county, and an error naming the choices when it holds more.
fn resolve_area(snap: &Snapshot, ask: &Ask) -> RegistryResult<Option<RegionCode>> {
    let counties = snap.counties();
    let (field, area) = match (ask.county, ask.region) {
        // Both: the county, which must lie in the region.
        (Some(c), Some(r)) if !r.holds(c.as_str()) => {
            return Err(RegistryError::refused(
                "county",
                format!("县 {c} 不在地区 {r} 内 (the county is not in the region)"),
            ))
        }
        (Some(c), _) => ("county", Some(c)),
        (None, Some(r)) => ("region", Some(r)),
        (None, None) => ("county", None),
    };
    match area {
        Some(a) if counties.iter().any(|c| a.holds(&c.code)) => Ok(Some(a)),
        // A well-formed code the registry does not hold: refused, as an unknown division is.
        Some(a) => Err(RegistryError::refused(
            field,
            format!("登记中没有地区 {a} 的县级单位；可选 (no county of the registry lies in {a}; choices): {}", choices(counties)),
        )),
        None if counties.len() > 1 => Err(RegistryError::invalid(
            "county",
            format!(
                "登记中有 {} 个县级单位，须给出 county 或 region (the registry holds {} counties: name one with county=, or a prefecture or province with region=): {}",
                counties.len(),
                counties.len(),
                choices(counties)
            ),
        )),
        None => Ok(None),
    }
}

/// The rule a question means under `rules` (asked before any registry is open).
pub fn rule(rules: &crate::coverage::Rules, ask: &Ask) -> RegistryResult<Rule> {
    resolve_rule(rules, ask)
}

/// The rule and options a question means under `rules`, over `snap`.
pub fn question(rules: &crate::coverage::Rules, snap: &Snapshot, ask: &Ask) -> RegistryResult<Question> {
    let rule = resolve_rule(rules, ask)?;
    let area = resolve_area(snap, ask)?;
    Ok(Question {
        rule,
        opts: CoverageOptions {
            include_xpcc: ask.include_xpcc,
            statuses: ask.statuses.unwrap_or(StatusSet::OPEN),
            area,
        },
    })
}

impl Registry {
    /// The rule and options a question means under the registry's rules.
    pub fn question(&self, ask: &Ask) -> RegistryResult<Question> {
        question(&self.rules(), &self.snapshot(), ask)
    }

    /// The question over every county of the registry at once (a map tile spans
    /// counties): the rule and options of `ask`, which names no area.
    pub fn question_everywhere(&self, ask: &Ask) -> RegistryResult<Question> {
        let rule = resolve_rule(&self.rules(), ask)?;
        Ok(Question {
            rule,
            opts: CoverageOptions {
                include_xpcc: ask.include_xpcc,
                statuses: ask.statuses.unwrap_or(StatusSet::OPEN),
                area: None,
            },
        })
    }

    /// Coverage of the current snapshot, from its cache or computed off the async
    /// workers; with the snapshot it was computed over.
    pub async fn coverage(&self, q: &Question) -> RegistryResult<(Arc<Snapshot>, Arc<Coverage>)> {
        let snap = self.snapshot();
        let key = format!(
            "{}|{:?}|{:?}|{:?}",
            serde_json::to_string(&q.rule).unwrap_or_default(),
            q.opts.include_xpcc,
            q.opts.statuses,
            q.opts.area.map(|a| a.to_string())
        );
        if let Some(c) = self.coverage_cache_get(snap.generation, &key) {
            return Ok((snap, c));
        }
        let (s, rule, opts) = (snap.clone(), q.rule.clone(), q.opts);
        let cov = tokio::task::spawn_blocking(move || {
            let supplies = coverage::supplies(&s, &rule, &opts);
            coverage::compute(&s, &rule, &opts, supplies)
        })
        .await
        .map_err(|e| RegistryError::Internal(e.to_string()))?;
        let cov = Arc::new(cov);
        self.coverage_cache_put(snap.generation, key, cov.clone());
        Ok((snap, cov))
    }

    /// The `count` best new sites for a distance or presence rule. A capacity rule
    /// is refused: `rule_was_named` says whether the caller named it (a value
    /// outside the siting rules' vocabulary) or reached it as a kind's default.
    pub async fn siting(&self, q: &Question, count: usize, rule_was_named: bool) -> RegistryResult<SitingAnswer> {
        let (snap, cov) = self.coverage(q).await?;
        let opts = q.opts;
        tokio::task::spawn_blocking(move || coverage::site(&snap, &cov, &opts, count))
            .await
            .map_err(|e| RegistryError::Internal(e.to_string()))?
            .map_err(|e| {
                if rule_was_named {
                    RegistryError::invalid("rule", e.to_string())
                } else {
                    RegistryError::refused("kind", e.to_string())
                }
            })
    }

    /// Coverage as if `add` were built and `remove` closed; writes nothing.
    pub async fn what_if(&self, q: &Question, add: &[NewSite], remove: &[String]) -> RegistryResult<WhatIfOutcome> {
        let (snap, before) = self.coverage(q).await?;
        // `malformed`: a value outside its schema; `refused`: valid values the registry refuses.
        let mut malformed = Vec::new();
        let mut refused = Vec::new();
        let mut placed = Vec::new();
        let mut supplies_added = Vec::new();
        for (i, a) in add.iter().enumerate() {
            super::facilities::flat_attributes(&format!("add[{i}].attributes"), &a.attributes, &mut malformed);
            let p = match LonLat::try_from([a.lon, a.lat]) {
                Err(e) => {
                    malformed.push(FieldError::new(&format!("add[{i}].lon"), e.message));
                    continue;
                }
                Ok(p) => p,
            };
            let Some(t) = snap.township_at(p.lon(), p.lat()) else {
                refused.push(FieldError::new(
                    &format!("add[{i}]"),
                    format!("({}, {}) 不在本县任何乡镇内 (the point is in no township of the registry)", a.lon, a.lat),
                ));
                continue;
            };
            if a.attributes.iter().any(|(k, v)| q.rule.where_.get(k).is_some_and(|want| want != v)) {
                continue; // does not match the rule's `where`: it would not count
            }
            let id = format!("what-if-{}", i + 1);
            placed.push(PlacedSite {
                id: id.clone(),
                name: a.name.clone(),
                lon: p.lon(),
                lat: p.lat(),
                township_code: t.division.code.to_string(),
                township_name: t.division.name.clone(),
            });
            supplies_added.push(Supply {
                id,
                point: [p.lon(), p.lat()],
                township_code: t.division.code.to_string(),
                beds: a.capacity_beds.unwrap_or(0),
                serves: None,
            });
        }
        for (i, id) in remove.iter().enumerate() {
            if snap.facility(id).is_none() {
                refused.push(FieldError::new(
                    &format!("remove[{i}]"),
                    format!("没有编号为 {id} 的设施 (no such facility)"),
                ));
            }
        }
        RegistryError::from_checks(malformed, refused)?;
        let removed: HashSet<String> = remove.iter().cloned().collect();
        let (s, rule, opts, base) = (snap.clone(), q.rule.clone(), q.opts, before.clone());
        let after = tokio::task::spawn_blocking(move || {
            let supplies: Vec<Supply> =
                base.supplies.iter().filter(|s| !removed.contains(&s.id)).cloned().chain(supplies_added).collect();
            coverage::compute(&s, &rule, &opts, supplies)
        })
        .await
        .map_err(|e| RegistryError::Internal(e.to_string()))?;
        let changes = after
            .townships
            .iter()
            .filter_map(|t| {
                let b = before.townships.iter().find(|b| b.code == t.code)?;
                (b.coverage_ratio != t.coverage_ratio || b.meets_target != t.meets_target).then(|| TownshipChange {
                    code: t.code.clone(),
                    name: t.name.clone(),
                    coverage_ratio_before: b.coverage_ratio,
                    coverage_ratio_after: t.coverage_ratio,
                    meets_target_before: b.meets_target,
                    meets_target_after: t.meets_target,
                })
            })
            .collect();
        Ok(WhatIfOutcome { before, after, added: placed, changes })
    }
}
