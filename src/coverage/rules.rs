//! Coverage rules, read from `data/coverage_rules.toml`: one table per rule; the
//! table named after a facility kind is that kind's default rule.

use crate::domain::FacilityKind;
use serde::Serialize;
use std::collections::BTreeMap;
use std::str::FromStr;
use thiserror::Error;
use utoipa::ToSchema;

#[derive(Debug, Error, PartialEq)]
#[error("覆盖规则 {rule} 的 {field} 有误 (coverage rule `{rule}`, field `{field}`): {message}")]
pub struct RuleError {
    pub rule: String,
    pub field: String,
    pub message: String,
}

/// Which division a presence rule looks in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = PresenceScope)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Village,
    Township,
}

/// Whose count a capacity rule's norm is per 1,000 of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Per {
    Population,
    Elderly,
}

/// What makes a settlement covered: `type` is `distance`, `presence` or `capacity`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum RuleKind {
    /// Covered when a facility lies within `radius_m` (geodesic metres).
    Distance { radius_m: f64 },
    /// Covered when the settlement's village or township has a facility.
    Presence { scope: Scope },
    /// Beds against `beds_per_1000` residents (or residents aged 60+).
    Capacity { per: Per, beds_per_1000: f64 },
}

/// A coverage rule from the rules file (`data/coverage_rules.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = CoverageRule)]
pub struct Rule {
    pub id: String,
    pub kind: FacilityKind,
    #[serde(flatten)]
    pub rule: RuleKind,
    /// Share of population (0..=1) a township must reach.
    pub target: f64,
    /// Only settlements of these kinds are demand points (all when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settlements: Option<Vec<String>>,
    /// Only facilities whose attributes have these values.
    #[serde(rename = "where", skip_serializing_if = "BTreeMap::is_empty")]
    pub where_: BTreeMap<String, serde_json::Value>,
    pub label: String,
    /// The plan sentence the rule comes from.
    pub plan: String,
}

impl Rule {
    /// The same rule with another radius: what `radius_m=` on a request asks for.
    pub fn with_radius(&self, radius_m: f64) -> Rule {
        let mut r = self.clone();
        r.rule = RuleKind::Distance { radius_m };
        if !matches!(self.rule, RuleKind::Distance { .. }) {
            r.id = format!("{}@{}m", self.id, radius_m);
        }
        r
    }

    pub fn radius_m(&self) -> Option<f64> {
        match self.rule {
            RuleKind::Distance { radius_m } => Some(radius_m),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = CoverageRules)]
pub struct Rules {
    pub rules: Vec<Rule>,
}

impl Rules {
    /// The kind's default rule: the table named after the kind.
    pub fn default_for(&self, kind: FacilityKind) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == kind.as_str())
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    pub fn load(path: &std::path::Path) -> Result<Rules, RuleError> {
        let text = std::fs::read_to_string(path).map_err(|e| RuleError {
            rule: "*".into(),
            field: path.display().to_string(),
            message: e.to_string(),
        })?;
        text.parse()
    }
}

impl FromStr for Rules {
    type Err = RuleError;

    fn from_str(text: &str) -> Result<Rules, RuleError> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| RuleError {
            rule: "*".into(),
            field: "toml".into(),
            message: e.to_string(),
        })?;
        let mut rules = Vec::new();
        for (id, value) in table {
            let err = |field: &str, message: &str| RuleError {
                rule: id.clone(),
                field: field.into(),
                message: message.into(),
            };
            let t = value.as_table().ok_or_else(|| err("*", "须为表 (must be a table)"))?;
            let str_of = |field: &str| t.get(field).and_then(|v| v.as_str()).map(str::to_string);
            let num_of =
                |field: &str| t.get(field).and_then(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)));
            let kind: FacilityKind = str_of("kind")
                .unwrap_or_else(|| id.clone())
                .parse()
                .map_err(|e: crate::domain::DomainError| err("kind", &e.message))?;
            let rule = match str_of("type").as_deref() {
                Some("distance") => {
                    let r = num_of("radius_m").ok_or_else(|| err("radius_m", "缺少 (required)"))?;
                    if !(r > 0.0 && r <= 1_000_000.0) {
                        return Err(err("radius_m", "须大于 0 且不超过 1000000 (must be in (0, 1e6])"));
                    }
                    RuleKind::Distance { radius_m: r }
                }
                Some("presence") => RuleKind::Presence {
                    scope: match str_of("scope").as_deref() {
                        Some("village") => Scope::Village,
                        Some("township") => Scope::Township,
                        _ => return Err(err("scope", "须为 village 或 township")),
                    },
                },
                Some("capacity") => {
                    let per = match str_of("per").as_deref() {
                        Some("population") | None => Per::Population,
                        Some("elderly") => Per::Elderly,
                        _ => return Err(err("per", "须为 population 或 elderly")),
                    };
                    let b = num_of("beds_per_1000").ok_or_else(|| err("beds_per_1000", "缺少 (required)"))?;
                    if !(b > 0.0 && b.is_finite()) {
                        return Err(err("beds_per_1000", "须大于 0 (must be > 0)"));
                    }
                    RuleKind::Capacity { per, beds_per_1000: b }
                }
                _ => return Err(err("type", "须为 distance、presence 或 capacity")),
            };
            let target = num_of("target").unwrap_or(1.0);
            if !(0.0..=1.0).contains(&target) {
                return Err(err("target", "须在 0 到 1 之间 (a share from 0 to 1)"));
            }
            let settlements = match t.get("settlements") {
                None => None,
                Some(v) => Some(
                    v.as_array()
                        .ok_or_else(|| err("settlements", "须为字符串数组 (a list of kinds)"))?
                        .iter()
                        .map(|s| s.as_str().map(str::to_string).ok_or_else(|| err("settlements", "须为字符串数组")))
                        .collect::<Result<Vec<_>, _>>()?,
                ),
            };
            let mut where_ = BTreeMap::new();
            if let Some(w) = t.get("where") {
                let w = w.as_table().ok_or_else(|| err("where", "须为表 (a table of attribute = value)"))?;
                for (k, v) in w {
                    let v = serde_json::to_value(v).map_err(|e| err("where", &e.to_string()))?;
                    where_.insert(k.clone(), v);
                }
            }
            rules.push(Rule {
                label: str_of("label").unwrap_or_else(|| id.clone()),
                plan: str_of("plan").unwrap_or_default(),
                id,
                kind,
                rule,
                target,
                settlements,
                where_,
            });
        }
        Ok(Rules { rules })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_rules_parse_and_every_kind_has_a_default() {
        let rules: Rules = include_str!("../../data/coverage_rules.toml").parse().expect("rules");
        for k in FacilityKind::ALL {
            assert!(rules.default_for(k).is_some(), "{k} has no default rule");
        }
        assert_eq!(rules.default_for(FacilityKind::CareHome).and_then(Rule::radius_m), Some(10_000.0));
    }

    #[test]
    fn a_bad_rule_is_refused_naming_the_rule_and_field() {
        let e = "[care_home]\ntype = \"distance\"\nradius_m = -5\n".parse::<Rules>().expect_err("bad");
        assert_eq!((e.rule.as_str(), e.field.as_str()), ("care_home", "radius_m"));
        let e = "[x]\nkind = \"spaceport\"\ntype = \"distance\"\nradius_m = 5\n".parse::<Rules>().expect_err("bad");
        assert_eq!(e.field, "kind");
        let e = "[cemetery]\ntype = \"presence\"\nscope = \"province\"\n".parse::<Rules>().expect_err("bad");
        assert_eq!(e.field, "scope");
    }
}
