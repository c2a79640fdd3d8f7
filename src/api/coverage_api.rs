//! Coverage, gaps, siting, what-if and the rules, over HTTP.

use super::answers::{AddedSite, GapCollection, TownshipChange, WhatIfAnswer, WhatIfChanges};
use super::body::parse_json;
use super::geojson_out::geo_json;
use super::params::Params;
use super::problem::{FieldError, Problem};
use super::AppState;
use crate::coverage::{self, Coverage, CoverageOptions, Rule, Supply};
use crate::domain::{FacilityKind, FacilityStatus, LonLat};
use crate::spatial::{Snapshot, StatusSet};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Arc;

const OPEN: StatusSet = StatusSet(1 << (FacilityStatus::Open as u8));

/// The rule a request asks for: `rule=ID`, else the kind's default; `radius_m=`
/// turns it into a distance rule with that radius.
fn resolve_rule(
    state: &AppState,
    kind: Option<FacilityKind>,
    rule_id: Option<&str>,
    radius_m: Option<f64>,
) -> Result<Rule, Problem> {
    let rules = state.rules();
    let base = match (rule_id, kind) {
        (Some(id), k) => {
            let r = rules
                .get(id)
                .ok_or_else(|| Problem::invalid_field("rule", format!("没有名为 {id} 的覆盖规则 (no such rule)")))?;
            if k.is_some_and(|k| k != r.kind) {
                // Each value is valid; together they conflict: 422, as for any rule the schema cannot state.
                return Err(conflicting(
                    "rule",
                    format!("规则 {id} 属于 {}，与 kind 不符 (the rule is for another kind)", r.kind),
                ));
            }
            r.clone()
        }
        (None, Some(k)) => rules
            .default_for(k)
            .cloned()
            .ok_or_else(|| conflicting("kind", format!("{k} 没有默认覆盖规则 (no default rule for this kind)")))?,
        (None, None) => return Err(conflicting("kind", "缺少必填参数 kind 或 rule (kind or rule is required)")),
    };
    Ok(match radius_m {
        Some(r) => base.with_radius(r),
        None => base,
    })
}

/// Values that each match the schema but together are refused (422).
fn conflicting(field: &str, message: impl Into<String>) -> Problem {
    Problem::unprocessable(vec![super::problem::FieldError { row: None, field: field.into(), message: message.into() }])
}

fn bool_param(p: &mut Params, name: &str) -> Result<bool, Problem> {
    match p.raw(name).as_deref() {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(_) => Err(Problem::invalid_field(name, "须为 true 或 false (must be true or false)")),
    }
}

struct Question {
    rule: Rule,
    opts: CoverageOptions,
}

fn question(state: &AppState, p: &mut Params) -> Result<Question, Problem> {
    let kind = p.kind();
    let rule_id = p.raw("rule");
    let radius = p.distance_m("radius_m", false);
    let statuses = p.statuses(OPEN);
    let include_xpcc = bool_param(p, "include_xpcc")?;
    let rule = resolve_rule(state, kind, rule_id.as_deref(), radius);
    Ok(Question { opts: CoverageOptions { include_xpcc, statuses }, rule: rule? })
}

/// Coverage from the cache of the current snapshot, computed off the async workers.
async fn cached(state: &AppState, q: &Question) -> Result<(Arc<Snapshot>, Arc<Coverage>), Problem> {
    let snap = state.snapshot();
    let key = format!(
        "{}|{:?}|{:?}",
        serde_json::to_string(&q.rule).unwrap_or_default(),
        q.opts.include_xpcc,
        q.opts.statuses
    );
    if let Some(c) = state.coverage_cache_get(snap.generation, &key) {
        return Ok((snap, c));
    }
    let (s, rule, opts) = (snap.clone(), q.rule.clone(), q.opts);
    let cov = tokio::task::spawn_blocking(move || {
        let supplies = coverage::supplies(&s, &rule, &opts);
        coverage::compute(&s, &rule, &opts, supplies)
    })
    .await
    .map_err(|e| Problem::internal(&e))?;
    let cov = Arc::new(cov);
    state.coverage_cache_put(snap.generation, key, cov.clone());
    Ok((snap, cov))
}

/// `GET /api/v1/coverage?kind=&radius_m=&rule=&status=&include_xpcc=`
#[utoipa::path(
    get,
    path = "/coverage",
    tag = "coverage",
    operation_id = "coverage",
    summary = "覆盖率 Coverage per township and county",
    description = "Which share of each township's population is within reach of a kind of facility. \
        A settlement is covered when the geodesic distance (GRS80) from its point to the nearest \
        counted facility, in any township, is ≤ `radius_m`; `coverage_ratio` is \
        `population_covered / population`, or the settlement ratio where population is unknown. \
        Without `radius_m` or `rule` the kind's default rule from the rules file applies, and \
        `rule` in the answer says which rule was used.",
    params(super::openapi::CoverageQuery),
    responses(
        (status = 200, description = "Coverage per township and for the county", body = super::openapi::CoverageAnswer),
        (status = 400, description = "A parameter is malformed or not one of its values; `errors` names the field", body = Problem, content_type = "application/problem+json"),
        super::responses::CoverageRefused,
    ),
)]
pub async fn coverage(State(state): State<AppState>, RawQuery(q): RawQuery) -> Result<Json<Arc<Coverage>>, Problem> {
    let mut p = Params::parse(q.as_deref());
    let qn = question(&state, &mut p);
    p.finish()?;
    let (_, cov) = cached(&state, &qn?).await?;
    Ok(Json(cov))
}

/// `GET /api/v1/coverage/gaps?…`: the uncovered settlements as GeoJSON.
#[utoipa::path(
    get,
    path = "/coverage/gaps",
    tag = "coverage",
    operation_id = "coverage_gaps",
    summary = "覆盖缺口 Uncovered settlements",
    description = "The settlements the coverage question leaves uncovered, as Points, each with its nearest \
        counted facility and the geodesic distance to it in metres.",
    params(super::openapi::CoverageQuery),
    responses(
        (status = 200, description = "FeatureCollection of uncovered settlements", body = super::openapi::GapCollection, content_type = "application/geo+json"),
        (status = 400, description = "A parameter is malformed or not one of its values; `errors` names the field", body = Problem, content_type = "application/problem+json"),
        super::responses::CoverageRefused,
    ),
)]
pub async fn gaps(State(state): State<AppState>, RawQuery(q): RawQuery) -> Result<Response, Problem> {
    let mut p = Params::parse(q.as_deref());
    let qn = question(&state, &mut p);
    p.finish()?;
    let (snap, cov) = cached(&state, &qn?).await?;
    // `cov` was computed over `snap` (the cache is keyed by its generation).
    let body = GapCollection::new(&snap, &cov);
    Ok(geo_json(StatusCode::OK, serde_json::to_string(&body).unwrap_or_default()))
}

/// `GET /api/v1/coverage/siting?kind=&radius_m=&count=&rule=&include_xpcc=`
#[utoipa::path(
    get,
    path = "/coverage/siting",
    tag = "coverage",
    operation_id = "coverage_siting",
    summary = "选址建议 Where new facilities would close most gaps",
    description = "Up to `count` sites, chosen greedily (maximal covering): each adds the most uncovered \
        population. Distance and presence rules only.",
    params(super::openapi::SitingQuery, super::openapi::CoverageQuery),
    responses(
        (status = 200, description = "The proposed sites and the coverage they reach", body = super::openapi::SitingAnswer),
        (status = 400, description = "A parameter is malformed or not one of its values (`rule` lists only distance and presence rules: a capacity rule has no siting); `errors` names the field", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Neither `kind` nor `rule` is given, the rule is for another kind, or the kind's default rule is a capacity rule; `errors` names the field", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn siting(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Json<coverage::SitingAnswer>, Problem> {
    let mut p = Params::parse(q.as_deref());
    let count = p.integer("count", 5, 1, 50);
    let explicit_rule = p.raw("rule").is_some();
    let qn = question(&state, &mut p);
    p.finish()?;
    let qn = qn?;
    let (snap, cov) = cached(&state, &qn).await?;
    let opts = qn.opts;
    let answer = tokio::task::spawn_blocking(move || coverage::site(&snap, &cov, &opts, count))
        .await
        .map_err(|e| Problem::internal(&e))?
        .map_err(|e| {
            // A capacity rule named in `rule` is not one of its values (400); reached as a kind's default, 422.
            if explicit_rule {
                Problem::invalid_field("rule", e.to_string())
            } else {
                conflicting("kind", e.to_string())
            }
        })?;
    Ok(Json(answer))
}

/// A what-if question: the coverage question of `GET /coverage`, and the change.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WhatIf {
    /// The kind of facility (`kind` or `rule` is required).
    #[schema(value_type = Option<super::openapi::FacilityKindSchema>)]
    pub kind: Option<String>,
    /// A rule id from `GET /api/v1/coverage/rules`.
    pub rule: Option<String>,
    /// Geodesic radius in metres, > 0 and ≤ 1,000,000: turns the rule into a distance rule.
    #[schema(exclusive_minimum = 0.0, maximum = 1000000.0)]
    pub radius_m: Option<f64>,
    /// Count XPCC (兵团) settlements, townships and facilities too.
    #[serde(default)]
    pub include_xpcc: bool,
    /// Which facility statuses count, comma-separated (`open,planned`); default `open`.
    #[schema(example = "open,planned", pattern = "^(open|planned|closed)(,(open|planned|closed))*$")]
    pub status: Option<String>,
    /// Facilities to add, each at a point inside a township of the county.
    #[serde(default)]
    pub add: Vec<NewSite>,
    /// Ids of existing facilities to leave out.
    #[serde(default)]
    pub remove: Vec<String>,
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
    #[serde(default, deserialize_with = "super::body::whole")]
    pub capacity_beds: Option<u32>,
    /// Attributes a rule's `where` may ask for (e.g. `{"facility_level": "centre"}`);
    /// a site that does not match the rule does not count.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub attributes: serde_json::Map<String, Value>,
}

/// `POST /api/v1/coverage/what-if`: coverage as if facilities were added or
/// removed. Writes nothing.
#[utoipa::path(
    post,
    path = "/coverage/what-if",
    tag = "coverage",
    operation_id = "coverage_what_if",
    summary = "假设分析 Coverage as if facilities were added or removed",
    description = "The coverage question of `GET /coverage`, asked in the body, with facilities added at \
        points and existing ones left out. Needs no login and writes nothing.",
    request_body(content = WhatIf, content_type = "application/json"),
    responses(
        (status = 200, description = "Coverage after the change, with `what_if` saying what changed", body = super::openapi::WhatIfAnswer),
        (status = 400, description = "The body is malformed or a value is outside its schema; `errors` names each field (`add[1].lon`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A point is in no township, an id to remove is unknown, neither `kind` nor `rule` is given or they conflict; `errors` names each field (`add[1]`, `remove[0]`)", body = Problem, content_type = "application/problem+json"),
        super::responses::TooLarge,
    ),
)]
pub async fn what_if(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<WhatIfAnswer>, Problem> {
    let w: WhatIf = parse_json(body)?;
    // Reuse the query-parameter rules for kind, radius and status.
    let query = {
        let mut query = form_urlencoded::Serializer::new(String::new());
        if let Some(k) = &w.kind {
            query.append_pair("kind", k);
        }
        if let Some(r) = &w.rule {
            query.append_pair("rule", r);
        }
        if let Some(r) = w.radius_m {
            query.append_pair("radius_m", &r.to_string());
        }
        if let Some(s) = &w.status {
            query.append_pair("status", s);
        }
        query.append_pair("include_xpcc", if w.include_xpcc { "true" } else { "false" });
        query.finish()
    };
    let mut p = Params::parse(Some(&query));
    let qn = question(&state, &mut p);
    p.finish()?;
    let qn = qn?;
    let (snap, before) = cached(&state, &qn).await?;

    // `malformed`: a value outside its schema (400); `errors`: valid values the registry refuses (422).
    let mut malformed = Vec::new();
    let mut errors = Vec::new();
    let mut added = Vec::new();
    let mut added_summary = Vec::new();
    for (i, a) in w.add.iter().enumerate() {
        super::facility_write::flat_attributes(&format!("add[{i}].attributes"), &a.attributes, &mut malformed);
        match LonLat::try_from([a.lon, a.lat]) {
            Err(e) => malformed.push(FieldError { row: None, field: format!("add[{i}].lon"), message: e.message }),
            Ok(p) => match snap.township_at(p.lon(), p.lat()) {
                None => errors.push(FieldError {
                    row: None,
                    field: format!("add[{i}]"),
                    message: format!(
                        "({}, {}) 不在本县任何乡镇内 (the point is in no township of the registry)",
                        a.lon, a.lat
                    ),
                }),
                Some(t) => {
                    if a.attributes.iter().any(|(k, v)| qn.rule.where_.get(k).is_some_and(|want| want != v)) {
                        continue; // does not match the rule's `where`: it would not count
                    }
                    added_summary.push(AddedSite {
                        id: format!("what-if-{}", i + 1),
                        name: a.name.clone(),
                        lon: p.lon(),
                        lat: p.lat(),
                        township_code: t.division.code.to_string(),
                        township_name: t.division.name.clone(),
                    });
                    added.push(Supply {
                        id: format!("what-if-{}", i + 1),
                        point: [p.lon(), p.lat()],
                        township_code: t.division.code.to_string(),
                        beds: a.capacity_beds.unwrap_or(0),
                        serves: None,
                    })
                }
            },
        }
    }
    for (i, id) in w.remove.iter().enumerate() {
        if snap.facility(id).is_none() {
            errors.push(FieldError {
                row: None,
                field: format!("remove[{i}]"),
                message: format!("没有编号为 {id} 的设施 (no such facility)"),
            });
        }
    }
    if !malformed.is_empty() {
        malformed.extend(errors);
        return Err(Problem::invalid(malformed));
    }
    if !errors.is_empty() {
        return Err(Problem::unprocessable(errors));
    }
    let removed: HashSet<String> = w.remove.iter().cloned().collect();
    let (s, rule, opts, before2) = (snap.clone(), qn.rule.clone(), qn.opts, before.clone());
    let after = tokio::task::spawn_blocking(move || {
        let supplies: Vec<Supply> =
            before2.supplies.iter().filter(|s| !removed.contains(&s.id)).cloned().chain(added).collect();
        coverage::compute(&s, &rule, &opts, supplies)
    })
    .await
    .map_err(|e| Problem::internal(&e))?;
    let changes: Vec<TownshipChange> = after
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
    let what_if = WhatIfChanges {
        added: added_summary,
        removed: w.remove,
        county_before: before.county.clone(),
        townships_changed: changes,
        written: false,
    };
    Ok(Json(WhatIfAnswer { coverage: after, what_if }))
}

/// `GET /api/v1/coverage/rules`
#[utoipa::path(
    get,
    path = "/coverage/rules",
    tag = "coverage",
    operation_id = "coverage_rules",
    summary = "覆盖规则 The coverage rules",
    description = "The rules of `data/coverage_rules.toml`, from the plan: the default rule of each kind has the kind's name as its id.",
    responses((status = 200, description = "Every coverage rule", body = super::openapi::CoverageRules)),
)]
pub async fn rules(State(state): State<AppState>) -> Json<Value> {
    Json(serde_json::to_value(state.rules().as_ref()).unwrap_or(Value::Null))
}
