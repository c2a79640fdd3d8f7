//! Coverage, gaps, siting, what-if and the rules, over HTTP: questions read at
//! the boundary, answered by the registry's coverage use cases
//! (`registry::coverage`).

use super::answers::{GapCollection, WhatIfAnswer, WhatIfChanges};
use super::body::JsonBody;
use super::geojson_out::geo_json;
use super::params::Params;
use super::problem::{FieldError, Problem};
use super::AppState;
use crate::coverage::{self, Coverage};
use crate::domain::{FacilityKind, RegionCode};
use crate::registry::coverage::{Ask, NewSite};
use crate::spatial::StatusSet;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

fn bool_param(p: &mut Params, name: &str) -> Result<bool, Problem> {
    match p.raw(name).as_deref() {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(_) => Err(Problem::invalid_field(name, "须为 true 或 false (must be true or false)")),
    }
}

/// The coverage question of the query: `kind`, `rule`, `radius_m`, `status`, `include_xpcc`.
pub(crate) fn ask(p: &mut Params) -> Result<Ask, Problem> {
    Ok(Ask {
        kind: p.kind(),
        rule: p.raw("rule"),
        radius_m: p.distance_m("radius_m", false),
        statuses: Some(p.statuses(StatusSet::OPEN)),
        include_xpcc: bool_param(p, "include_xpcc")?,
        county: p.county(),
        region: p.region(),
    })
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
    let asked = ask(&mut p);
    p.finish()?;
    let (_, cov) = state.coverage(&state.question(&asked?)?).await?;
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
    let asked = ask(&mut p);
    p.finish()?;
    let (snap, cov) = state.coverage(&state.question(&asked?)?).await?;
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
    let asked = ask(&mut p);
    p.finish()?;
    let asked = asked?;
    let question = state.question(&asked)?;
    Ok(Json(state.siting(&question, count, asked.rule.is_some()).await?))
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
    /// The county asked about (6 digits): required when the registry holds more than one.
    #[schema(pattern = r"^\d{6}$", example = "652324")]
    pub county: Option<String>,
    /// A prefecture (4 digits) or province (2) asked about instead, answered per county.
    #[schema(pattern = r"^(\d{2}|\d{4}|\d{6})$", example = "6523")]
    pub region: Option<String>,
    /// Facilities to add, each at a point inside a township of the registry.
    #[serde(default)]
    pub add: Vec<NewSite>,
    /// Ids of existing facilities to leave out.
    #[serde(default)]
    pub remove: Vec<String>,
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
    JsonBody(w): JsonBody<WhatIf>,
) -> Result<Json<WhatIfAnswer>, Problem> {
    // The body's vocabularies, read as the query parameters of `GET /coverage` are.
    let mut malformed = Vec::new();
    let kind = match w.kind.as_deref().map(str::parse::<FacilityKind>).transpose() {
        Ok(k) => k,
        Err(e) => {
            malformed.push(FieldError::new("kind", e.message));
            None
        }
    };
    let statuses = match w.status.as_deref().map(StatusSet::parse).transpose() {
        Ok(s) => s,
        Err(message) => {
            malformed.push(FieldError::new("status", message));
            None
        }
    };
    let mut area = |field: &str, v: Option<&str>, county: bool| match v.map(str::parse::<RegionCode>) {
        None => None,
        Some(Ok(c)) if c.is_county() || !county => Some(c),
        Some(_) => {
            let message = if county {
                "须为 6 位县级区划代码 (a 6-digit county code)"
            } else {
                "须为 2、4 或 6 位数字 (2, 4 or 6 digits)"
            };
            malformed.push(FieldError::new(field, message));
            None
        }
    };
    let county = area("county", w.county.as_deref(), true);
    let region = area("region", w.region.as_deref(), false);
    if !malformed.is_empty() {
        return Err(Problem::invalid(malformed));
    }
    let asked = Ask {
        kind,
        rule: w.rule.clone(),
        radius_m: w.radius_m,
        statuses,
        include_xpcc: w.include_xpcc,
        county,
        region,
    };
    let question = state.question(&asked)?;
    let outcome = state.what_if(&question, &w.add, &w.remove).await?;
    let what_if = WhatIfChanges {
        added: outcome.added,
        removed: w.remove,
        county_before: outcome.before.county.clone(),
        townships_changed: outcome.changes,
        written: false,
    };
    Ok(Json(WhatIfAnswer { coverage: outcome.after, what_if }))
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
