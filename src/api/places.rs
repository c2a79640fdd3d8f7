//! Standard place names (标准地名) for zoning officers: search, records and their
//! history, the naming-rules check, and the lifecycle proposed → approved →
//! renamed | retired. Editors propose and edit; approvers approve (never their
//! own proposal), rename and retire. Every write re-runs the rules: an error
//! finding refuses it with 422 and the findings; warnings are returned with it.

use super::answers::{Announcement, AnnouncementKind, Announcements, Categories, History, PlaceCollection};
use super::body::parse_json;
use super::geojson_out::geo_json;
use super::params::if_match;
use super::params::Params;
use super::problem::{FieldError, Problem};
use super::AppState;
use crate::accounts::Caller;
use crate::domain::{DivisionCode, MinorityForm, Place, PlaceStatus, Provenance, Role};
use crate::naming::categories::category;
use crate::naming::registry::PlaceFeature;
use crate::naming::rules::{check, CheckInput, CheckResult, Finding};
use crate::spatial::features::FeatureCollectionType;
use crate::store::PlaceChange;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

fn township_name(state: &AppState, code: Option<&DivisionCode>) -> Option<String> {
    let snap = state.snapshot_guard();
    code.and_then(|c| snap.division(c.as_str())).map(|d| d.division.name.clone())
}

fn feature(state: &AppState, p: &Place) -> PlaceFeature {
    PlaceFeature::new(p, township_name(state, p.division_code.as_ref()).as_deref(), None)
}

fn with_etag(mut res: Response, version: i64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&format!("\"{version}\"")) {
        res.headers_mut().insert(header::ETAG, v);
    }
    res
}

/// The first record a write returned (the store returns one per change asked for).
fn first_saved(saved: &[Place]) -> Result<&Place, Problem> {
    saved.first().ok_or_else(|| Problem::internal(&"the store returned no record for a write"))
}

fn place_response(state: &AppState, p: &Place, status: StatusCode, findings: &[Finding]) -> Response {
    let f = PlaceFeature { findings: findings.to_vec(), ..feature(state, p) };
    with_etag(geo_json(status, serde_json::to_string(&f).unwrap_or_default()), p.version)
}

/// 422 with the rule findings, when any is an error.
fn refuse(result: &CheckResult) -> Result<(), Problem> {
    if result.ok {
        return Ok(());
    }
    let errors = result
        .findings
        .iter()
        .filter(|f| f.severity == crate::naming::rules::Severity::Error)
        .map(|f| FieldError { row: None, field: "name".into(), message: format!("[{}] {}", f.rule, f.message) })
        .collect();
    let mut p = Problem::unprocessable(errors);
    p.findings = result.findings.iter().map(|f| serde_json::to_value(f).unwrap_or(Value::Null)).collect();
    Err(p)
}

/// `GET /api/v1/places?q=&category=&township=&status=&limit=&offset=`
#[utoipa::path(
    get,
    path = "/places",
    tag = "places",
    operation_id = "list_places",
    summary = "地名检索 Search standard place names",
    description = "Standard place names as a FeatureCollection. `q` matches the Chinese name, the pinyin \
        (case and spaces ignored) and the pinyin initials, best match first.",
    params(super::openapi::PlacesQuery),
    responses(
        (status = 200, description = "FeatureCollection of place names", body = super::openapi::PlaceCollection, content_type = "application/geo+json"),
        (status = 400, description = "A parameter is malformed (an unknown category or status, a bad code, a limit out of range); `errors` names it", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn list(State(state): State<AppState>, RawQuery(q): RawQuery) -> Result<Response, Problem> {
    let mut p = Params::parse(q.as_deref());
    let text = p.raw("q").filter(|s| !s.trim().is_empty());
    let cat = p.raw("category");
    if let Some(c) = &cat {
        if category(c).is_none() {
            return Err(Problem::invalid_field("category", format!("未知的地名类别 {c} (unknown category)")));
        }
    }
    let township = p.code("township");
    let statuses: Option<Vec<PlaceStatus>> = match p.raw("status") {
        None => None,
        Some(s) => Some(
            s.split(',')
                .map(|x| x.trim().parse::<PlaceStatus>())
                .collect::<Result<_, _>>()
                .map_err(|e| Problem::invalid_field("status", e.message))?,
        ),
    };
    let limit = p.integer("limit", 10, 1, 1000);
    let offset = p.integer("offset", 0, 0, 1_000_000);
    p.finish()?;
    let reg = state.places();
    let keep = |pl: &Place| {
        cat.as_ref().is_none_or(|c| &pl.category == c)
            && township
                .as_ref()
                .is_none_or(|t| pl.division_code.as_ref().is_some_and(|d| d.as_str().starts_with(t.as_str())))
            && statuses.as_ref().is_none_or(|s| s.contains(&pl.status))
    };
    let (matched, page): (usize, Vec<PlaceFeature>) = match &text {
        Some(t) => {
            let hits = reg.search(t, offset + limit, keep);
            let n = hits.len();
            let page = hits
                .into_iter()
                .skip(offset)
                .map(|(pl, k)| {
                    PlaceFeature::new(pl, township_name(&state, pl.division_code.as_ref()).as_deref(), Some(k))
                })
                .collect();
            (n, page)
        }
        None => {
            let all: Vec<&Place> = reg.places().iter().filter(|pl| keep(pl)).collect();
            let page = all.iter().skip(offset).take(limit).map(|pl| feature(&state, pl)).collect();
            (all.len(), page)
        }
    };
    let body = PlaceCollection {
        kind: FeatureCollectionType::FeatureCollection,
        number_returned: page.len(),
        features: page,
        number_matched: if text.is_some() { None } else { Some(matched) },
    };
    Ok(geo_json(StatusCode::OK, serde_json::to_string(&body).unwrap_or_default()))
}

/// `GET /api/v1/places/{id}`: any record, retired and renamed ones too.
#[utoipa::path(
    get,
    path = "/places/{id}",
    tag = "places",
    operation_id = "get_place",
    summary = "一条地名 One place name",
    description = "Any record, retired and renamed ones too, with its version as the `ETag`.",
    params(("id" = String, Path, description = "Place-name id", example = "p00001")),
    responses(
        (status = 200, description = "The place name as a Feature", body = super::openapi::PlaceFeature, content_type = "application/geo+json", headers(("ETag" = String, description = "The record's version"))),
        super::responses::PlaceNotFound,
    ),
)]
pub async fn get(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, Problem> {
    let reg = state.places();
    let p = reg
        .get(&id)
        .ok_or_else(|| Problem::not_found(format!("没有编号为 {id} 的地名 (no place name with this id)")))?;
    Ok(place_response(&state, p, StatusCode::OK, &[]))
}

/// `GET /api/v1/places/{id}/history`
#[utoipa::path(
    get,
    path = "/places/{id}/history",
    tag = "places",
    operation_id = "place_history",
    summary = "地名沿革 A place name's history",
    description = "Every version of the record, oldest first, with who changed it and how.",
    params(("id" = String, Path, description = "Place-name id", example = "p00001")),
    responses(
        (status = 200, description = "Every version, oldest first", body = super::openapi::History),
        super::responses::PlaceNotFound,
    ),
)]
pub async fn history(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<History>, Problem> {
    let rows = state.store().history("place", &id).await?;
    if rows.is_empty() {
        return Err(Problem::not_found(format!("没有编号为 {id} 的地名 (no place name with this id)")));
    }
    Ok(Json(History { id, versions: rows }))
}

/// A name to check.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckBody {
    /// The proposed standard name.
    #[schema(example = "乐土驿镇")]
    name: String,
    #[schema(value_type = super::openapi::PlaceCategorySchema)]
    category: String,
    /// The division it lies in (county, township or village-level code).
    #[schema(example = "652324101", pattern = "^([0-9]{6}|[0-9]{9}|[0-9]{12})$")]
    division_code: Option<String>,
    /// The record being changed, left out of its own conflicts.
    id: Option<String>,
    /// An officer's romanization, checked instead of the suggestion.
    romanization: Option<String>,
}

/// `POST /api/v1/places/check`: the rules' findings for a name; no login, writes nothing.
#[utoipa::path(
    post,
    path = "/places/check",
    tag = "places",
    operation_id = "check_place_name",
    summary = "地名规则检查 Check a name against the naming rules",
    description = "The naming rules' findings for a proposed name and its suggested romanization. \
        Needs no login and writes nothing.",
    request_body(content = CheckBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The verdict: `ok` is false when any finding is an error", body = super::openapi::CheckAnswer),
        (status = 400, description = "The body is malformed, the category is unknown or the division code is not 6, 9 or 12 digits; `errors` names the field", body = Problem, content_type = "application/problem+json"),
        super::responses::TooLarge,
    ),
)]
pub async fn check_name(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<CheckResult>, Problem> {
    let b: CheckBody = parse_json(body)?;
    // Parsed at the boundary: the rules see only a known category and a well-formed code.
    let mut errors = Vec::new();
    if category(&b.category).is_none() {
        errors.push(FieldError {
            row: None,
            field: "category".into(),
            message: format!("未知的地名类别“{}” (unknown category)", b.category),
        });
    }
    let code = match b.division_code.as_deref().map(str::parse::<DivisionCode>).transpose() {
        Ok(c) => c,
        Err(e) => {
            errors.push(FieldError { row: None, field: "division_code".into(), message: e.message });
            None
        }
    };
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    let reg = state.places();
    let input = CheckInput {
        name: &b.name,
        category: &b.category,
        division_code: code.as_ref().map(|c| c.as_str()),
        id: b.id.as_deref(),
        romanization: b.romanization.as_deref(),
    };
    Ok(Json(check(&input, reg.places())))
}

/// A place name's fields; all optional so PATCH can send only changes. Proposing
/// (`POST`) needs `name` and `category`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceInput {
    /// The standard name, not empty.
    #[schema(example = "乐土驿镇", min_length = 1, pattern = "[^\\s\\u0085]")]
    name: Option<String>,
    #[schema(value_type = Option<super::openapi::PlaceCategorySchema>)]
    category: Option<String>,
    /// The division it lies in: a known county, township or village-level code (default:
    /// the township the point lies in; an unknown code is refused with 422).
    #[schema(pattern = "^([0-9]{6}|[0-9]{9}|[0-9]{12})$")]
    division_code: Option<String>,
    /// With `lat`: a Point location, CGCS2000 degrees.
    #[schema(minimum = -180.0, maximum = 180.0)]
    lon: Option<f64>,
    #[schema(minimum = -90.0, maximum = 90.0)]
    lat: Option<f64>,
    /// Any GeoJSON geometry (a road's line, an area's polygon); `lon`/`lat` win if both are given.
    #[schema(value_type = Option<super::openapi::Geometry>)]
    geometry: Option<geojson::Geometry>,
    /// An officer's romanization, kept instead of the suggested one.
    romanization: Option<String>,
    /// 含义与由来.
    origin: Option<String>,
    alternate_names: Option<Vec<String>>,
    historic_names: Option<Vec<String>>,
    #[schema(value_type = Option<super::openapi::MinorityForm>)]
    minority_form: Option<MinorityForm>,
}

/// Merge `input` over `base` and validate the shape (400); the naming rules come after.
pub(super) fn merge(state: &AppState, input: PlaceInput, base: Option<&Place>) -> Result<Place, Problem> {
    // `errors`: values outside their schema (400); `refused`: valid values the registry refuses (422).
    let mut errors = Vec::new();
    let mut refused = Vec::new();
    let name = input.name.or(base.map(|b| b.name.clone())).map(|n| n.trim().to_string()).unwrap_or_default();
    if name.is_empty() {
        errors.push(FieldError {
            row: None, field: "name".into(), message: "地名不能为空 (name is required)".into()
        });
    }
    let cat = input.category.or(base.map(|b| b.category.clone())).unwrap_or_default();
    if category(&cat).is_none() {
        errors.push(FieldError {
            row: None,
            field: "category".into(),
            message: format!("未知的地名类别“{cat}” (unknown category)"),
        });
    }
    let mut geometry = base.and_then(|b| b.geometry.clone());
    if let Some(g) = input.geometry {
        match crate::spatial::geojson_in::to_geo(g) {
            Ok(g) => geometry = Some(g),
            Err(e) => errors.push(FieldError { row: None, field: "geometry".into(), message: e }),
        }
    }
    if let (Some(lon), Some(lat)) = (input.lon, input.lat) {
        match crate::domain::LonLat::try_from([lon, lat]) {
            Ok(p) => geometry = Some(geo_types::Geometry::Point(p.into())),
            Err(e) => errors.push(FieldError { row: None, field: "lon".into(), message: e.message }),
        }
    }
    // The division: as given, else where the point falls, else as before.
    let snap = state.snapshot_guard();
    let mut division = base.and_then(|b| b.division_code.clone());
    if let Some(geo_types::Geometry::Point(pt)) = &geometry {
        if let Some(t) = snap.township_at(pt.x(), pt.y()) {
            division = Some(t.division.code.clone());
        }
    }
    if let Some(d) = input.division_code {
        match d.parse::<DivisionCode>() {
            Ok(c) if snap.division(c.as_str()).is_some() => division = Some(c),
            Ok(c) => refused.push(FieldError {
                row: None,
                field: "division_code".into(),
                message: format!("没有代码为 {c} 的区划 (unknown division)"),
            }),
            Err(e) => errors.push(FieldError { row: None, field: "division_code".into(), message: e.message }),
        }
    }
    if !errors.is_empty() {
        errors.extend(refused);
        return Err(Problem::invalid(errors));
    }
    if !refused.is_empty() {
        return Err(Problem::unprocessable(refused));
    }
    let romanization_given = input.romanization.clone();
    let mut p = Place {
        id: base.map(|b| b.id.clone()).unwrap_or_default(),
        name,
        specific_term: String::new(),
        generic_term: String::new(),
        category: cat,
        division_code: division,
        geometry,
        romanization: base.map(|b| b.romanization.clone()).unwrap_or_default(),
        romanization_source: base.map_or("suggested".into(), |b| b.romanization_source.clone()),
        origin: input.origin.or(base.and_then(|b| b.origin.clone())),
        alternate_names: input.alternate_names.or(base.map(|b| b.alternate_names.clone())).unwrap_or_default(),
        historic_names: input.historic_names.or(base.map(|b| b.historic_names.clone())).unwrap_or_default(),
        minority_form: input.minority_form.or(base.and_then(|b| b.minority_form.clone())),
        status: base.map_or(PlaceStatus::Proposed, |b| b.status),
        proposed_by: base.and_then(|b| b.proposed_by.clone()),
        decided_by: base.and_then(|b| b.decided_by.clone()),
        approving_body: base.and_then(|b| b.approving_body.clone()),
        document_no: base.and_then(|b| b.document_no.clone()),
        decided_on: base.and_then(|b| b.decided_on.clone()),
        predecessor_id: base.and_then(|b| b.predecessor_id.clone()),
        successor_id: base.and_then(|b| b.successor_id.clone()),
        provenance: base.map_or(Provenance::Registered, |b| b.provenance),
        attributes: base.map(|b| b.attributes.clone()).unwrap_or_default(),
        version: base.map_or(1, |b| b.version),
        updated_at: String::new(),
    };
    if let Some(r) = romanization_given.filter(|r| !r.trim().is_empty()) {
        p.romanization = r.trim().to_string();
        p.romanization_source = "officer".into();
    }
    Ok(p)
}

/// Run the rules over a merged record and fill in its terms and romanization.
pub(super) fn apply_rules(state: &AppState, p: &mut Place) -> Result<CheckResult, Problem> {
    let reg = state.places();
    let officer = (p.romanization_source == "officer").then(|| p.romanization.clone());
    let input = CheckInput {
        name: &p.name,
        category: &p.category,
        division_code: p.division_code.as_ref().map(|c| c.as_str()),
        id: (!p.id.is_empty()).then_some(p.id.as_str()),
        romanization: officer.as_deref(),
    };
    let result = check(&input, reg.places());
    refuse(&result)?;
    p.specific_term = result.specific_term.clone();
    p.generic_term = result.generic_term.clone();
    p.romanization = result.romanization.clone();
    Ok(result)
}

fn current(state: &AppState, id: &str) -> Result<Place, Problem> {
    state
        .places()
        .get(id)
        .cloned()
        .ok_or_else(|| Problem::not_found(format!("没有编号为 {id} 的地名 (no place name with this id)")))
}

/// `POST /api/v1/places` (editor): propose a name.
#[utoipa::path(
    post,
    path = "/places",
    tag = "places",
    operation_id = "propose_place",
    summary = "申报地名 Propose a name (editor)",
    description = "Proposes a name (status `proposed`); `name` and `category` are required. The naming \
        rules run first: an error refuses it with 422, warnings come back in `findings`. The division \
        is `division_code` if given, else the township the point lies in.",
    request_body(content = PlaceInput, content_type = "application/json"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 201, description = "Proposed; the record as a Feature, with the rules' warnings in `findings`", body = super::openapi::PlaceFeature, content_type = "application/geo+json",
            headers(("ETag" = String, description = "The version, `\"1\"`"), ("Location" = String, description = "`/api/v1/places/{id}`"))),
        (status = 400, description = "The body is malformed, or a field is missing or invalid (name, category, geometry, point, division); `errors` names every bad field", body = Problem, content_type = "application/problem+json"),
        super::responses::NotLoggedIn,
        super::responses::NotEditor,
        super::responses::TooLarge,
        super::responses::NamingRefused,
    ),
)]
pub async fn propose(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let user = caller.require(Role::Editor)?.clone();
    let input: PlaceInput = parse_json(body)?;
    let mut p = merge(&state, input, None)?;
    let result = apply_rules(&state, &mut p)?;
    p.status = PlaceStatus::Proposed;
    p.proposed_by = Some(user.username.clone());
    let created = state.store().create_place(&p, &caller.actor()).await?;
    state.refresh_places().await?;
    let mut res = place_response(&state, &created, StatusCode::CREATED, &result.findings);
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/places/{}", created.id)) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

/// `PATCH /api/v1/places/{id}` (editor, `If-Match`): a proposal may change in
/// everything; an approved name only in its description (origin, alternate and
/// historic names, minority form, location) and its romanization — renaming it is
/// `POST …/rename`.
#[utoipa::path(
    patch,
    path = "/places/{id}",
    tag = "places",
    operation_id = "update_place",
    summary = "修改地名 Edit a place name (editor)",
    description = "A proposal may change in everything; an approved name only in its description \
        (origin, alternate and historic names, minority form, location) and its romanization — \
        renaming it is `POST /api/v1/places/{id}/rename`. Renamed and retired records are no longer \
        editable. The naming rules run again. Send the `ETag` you read in `If-Match`.",
    params(
        ("id" = String, Path, description = "Place-name id", example = "p00001"),
        ("If-Match" = String, Header, description = "The version the change is based on: the `ETag` read, e.g. `\"3\"`", pattern = "^(W/)?\"?[0-9]{1,18}\"?$"),
    ),
    request_body(content = PlaceInput, content_type = "application/json"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "Changed; the record as a Feature, with the rules' warnings in `findings`", body = super::openapi::PlaceFeature, content_type = "application/geo+json", headers(("ETag" = String, description = "The record's version"))),
        super::responses::InvalidBody,
        super::responses::NotLoggedIn,
        super::responses::NotEditor,
        super::responses::PlaceNotFound,
        (status = 409, description = "An approved name's `name` or `category` cannot change (propose a renaming), or the record is renamed or retired", body = Problem, content_type = "application/problem+json"),
        super::responses::Stale,
        super::responses::TooLarge,
        super::responses::NamingRefused,
        super::responses::IfMatchMissing,
    ),
)]
pub async fn edit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    caller.require(Role::Editor)?;
    let expected = if_match(&headers)?.ok_or_else(Problem::precondition_required)?;
    let input: PlaceInput = parse_json(body)?;
    let base = current(&state, &id)?;
    match base.status {
        PlaceStatus::Proposed => {}
        PlaceStatus::Approved if input.name.is_none() && input.category.is_none() => {}
        PlaceStatus::Approved => {
            return Err(Problem::conflict("已批准的地名不能直接改名或改类别，请提出更名 (propose a renaming instead)"));
        }
        _ => {
            return Err(Problem::conflict(format!(
                "{id} 已{}，不能再修改 (no longer editable)",
                base.status.label_zh()
            )))
        }
    }
    let mut p = merge(&state, input, Some(&base))?;
    let result = apply_rules(&state, &mut p)?;
    let change = PlaceChange { expected_version: expected, place: p, action: "update".into() };
    let saved = state.store().update_places(&[change], &caller.actor()).await?;
    state.refresh_places().await?;
    Ok(place_response(&state, first_saved(&saved)?, StatusCode::OK, &result.findings))
}

/// An approval or retirement decision.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// 批准机关, not empty.
    #[schema(example = "玛纳斯县人民政府", min_length = 1, pattern = "[^\\s\\u0085]")]
    approving_body: String,
    /// 批准文号, not empty.
    #[schema(example = "玛政函〔2026〕12号", min_length = 1, pattern = "[^\\s\\u0085]")]
    document_no: String,
    /// 批准日期 `YYYY-MM-DD`; default today (UTC).
    #[schema(format = Date)]
    date: Option<String>,
    /// Retirement only (required there): 废止原因.
    reason: Option<String>,
}

fn decision_fields(d: &Decision) -> Result<String, Problem> {
    let mut errors = Vec::new();
    if d.approving_body.trim().is_empty() {
        errors.push(FieldError {
            row: None,
            field: "approving_body".into(),
            message: "须填写批准机关 (the approving body)".into(),
        });
    }
    if d.document_no.trim().is_empty() {
        errors.push(FieldError {
            row: None,
            field: "document_no".into(),
            message: "须填写批准文号 (the document number)".into(),
        });
    }
    let date = d.date.clone().unwrap_or_else(|| time::OffsetDateTime::now_utc().date().to_string());
    if time::Date::parse(&date, time::macros::format_description!("[year]-[month]-[day]")).is_err() {
        errors.push(FieldError { row: None, field: "date".into(), message: "日期格式须为 YYYY-MM-DD".into() });
    }
    if errors.is_empty() {
        Ok(date)
    } else {
        Err(Problem::invalid(errors))
    }
}

/// `POST /api/v1/places/{id}/approve` (approver, not the proposer): the proposal
/// becomes the standard name; a renaming proposal also marks its predecessor
/// `renamed`, in the same transaction.
#[utoipa::path(
    post,
    path = "/places/{id}/approve",
    tag = "places",
    operation_id = "approve_place",
    summary = "批准地名 Approve a proposal (approver)",
    description = "The proposal becomes the standard name, with the approving body, document number and \
        date. A renaming proposal also marks its predecessor `renamed`, in the same transaction. The \
        approver cannot be the proposer. The naming rules run again.",
    params(("id" = String, Path, description = "Place-name id", example = "p00001"), ("If-Match" = Option<String>, Header, description = "Optional: the version the decision is based on, e.g. `\"3\"`; when sent, a stale version is a 412", pattern = "^(W/)?\"?[0-9]{1,18}\"?$")),
    request_body(content = Decision, content_type = "application/json"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "Approved; the record as a Feature", body = super::openapi::PlaceFeature, content_type = "application/geo+json", headers(("ETag" = String, description = "The record's version"))),
        (status = 400, description = "The body or `If-Match` is malformed, the approving body or document number is empty, or the date is not `YYYY-MM-DD`", body = Problem, content_type = "application/problem+json"),
        super::responses::NotLoggedIn,
        (status = 403, description = "The account is not an approver, it proposed this name itself, or a session write lacks the right `X-CSRF-Token`", body = Problem, content_type = "application/problem+json"),
        super::responses::PlaceNotFound,
        (status = 409, description = "The record is not a proposal, or the record it renames is no longer approved", body = Problem, content_type = "application/problem+json"),
        super::responses::Stale,
        super::responses::TooLarge,
        super::responses::NamingRefused,
    ),
)]
pub async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let user = caller.require(Role::Approver)?.clone();
    let d: Decision = parse_json(body)?;
    let date = decision_fields(&d)?;
    let mut p = current(&state, &id)?;
    if p.status != PlaceStatus::Proposed {
        return Err(Problem::conflict(format!("{id} {}，不是待审批的申报 (not a proposal)", p.status.label_zh())));
    }
    if p.proposed_by.as_deref() == Some(user.username.as_str()) {
        return Err(Problem::forbidden(
            "审批人不能审批自己提出的申报 (approval must come from someone other than the proposer)",
        ));
    }
    let expected = if_match(&headers)?.unwrap_or(p.version);
    // The registry may have changed since the proposal: check again.
    let result = apply_rules(&state, &mut p)?;
    p.status = PlaceStatus::Approved;
    p.decided_by = Some(user.username.clone());
    p.approving_body = Some(d.approving_body.trim().to_string());
    p.document_no = Some(d.document_no.trim().to_string());
    p.decided_on = Some(date.clone());
    let mut changes = vec![PlaceChange { expected_version: expected, place: p.clone(), action: "approve".into() }];
    if let Some(old_id) = p.predecessor_id.clone() {
        let mut old = current(&state, &old_id)?;
        if old.status != PlaceStatus::Approved {
            return Err(Problem::conflict(format!(
                "被更名的 {old_id} 已{} (the renamed record changed)",
                old.status.label_zh()
            )));
        }
        let v = old.version;
        old.status = PlaceStatus::Renamed;
        old.successor_id = Some(p.id.clone());
        old.decided_on = Some(date);
        if !old.historic_names.contains(&old.name) {
            old.historic_names.push(old.name.clone());
        }
        changes.push(PlaceChange { expected_version: v, place: old, action: "rename".into() });
    }
    let saved = state.store().update_places(&changes, &caller.actor()).await?;
    state.refresh_places().await?;
    Ok(place_response(&state, first_saved(&saved)?, StatusCode::OK, &result.findings))
}

/// The new name a renaming proposes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameBody {
    /// The new standard name, not empty.
    #[schema(min_length = 1, pattern = "[^\\s\\u0085]")]
    name: String,
    /// An officer's romanization, kept instead of the suggested one.
    romanization: Option<String>,
    /// 含义与由来 of the new name.
    origin: Option<String>,
}

/// `POST /api/v1/places/{id}/rename` (editor): propose a new name for an approved
/// one; approving it renames.
#[utoipa::path(
    post,
    path = "/places/{id}/rename",
    tag = "places",
    operation_id = "rename_place",
    summary = "提出更名 Propose a renaming (editor)",
    description = "Proposes a new name for an approved one: a new record (status `proposed`) whose \
        predecessor is this one; approving it renames. The naming rules run first.",
    params(("id" = String, Path, description = "Place-name id", example = "p00001")),
    request_body(content = RenameBody, content_type = "application/json"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 201, description = "Proposed; the new record as a Feature, with the rules' warnings in `findings`", body = super::openapi::PlaceFeature, content_type = "application/geo+json", headers(("ETag" = String, description = "The record's version"))),
        (status = 400, description = "The body is malformed or the name is empty; `errors` names the field", body = Problem, content_type = "application/problem+json"),
        super::responses::NotLoggedIn,
        super::responses::NotEditor,
        super::responses::PlaceNotFound,
        (status = 409, description = "Only approved names are renamed", body = Problem, content_type = "application/problem+json"),
        super::responses::TooLarge,
        super::responses::NamingRefused,
    ),
)]
pub async fn rename(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let user = caller.require(Role::Editor)?.clone();
    let r: RenameBody = parse_json(body)?;
    let old = current(&state, &id)?;
    if old.status != PlaceStatus::Approved {
        return Err(Problem::conflict(format!(
            "{id} {}，只能为已批准的地名提出更名 (only approved names are renamed)",
            old.status.label_zh()
        )));
    }
    let input = PlaceInput { name: Some(r.name), romanization: r.romanization, origin: r.origin, ..Default::default() };
    let mut p = merge(&state, input, Some(&old))?;
    p.id = String::new();
    p.origin = p.origin.filter(|_| true);
    let result = apply_rules(&state, &mut p)?;
    p.status = PlaceStatus::Proposed;
    p.proposed_by = Some(user.username.clone());
    p.decided_by = None;
    p.approving_body = None;
    p.document_no = None;
    p.decided_on = None;
    p.predecessor_id = Some(old.id.clone());
    p.successor_id = None;
    p.provenance = Provenance::Registered;
    p.historic_names = vec![old.name.clone()];
    let created = state.store().create_place(&p, &caller.actor()).await?;
    state.refresh_places().await?;
    Ok(place_response(&state, &created, StatusCode::CREATED, &result.findings))
}

/// `POST /api/v1/places/{id}/retire` (approver): the name is retired (废止); the
/// record stays and still resolves.
#[utoipa::path(
    post,
    path = "/places/{id}/retire",
    tag = "places",
    operation_id = "retire_place",
    summary = "废止地名 Retire a name (approver)",
    description = "The name is retired (废止) with the approving body, document number, date and \
        reason; the record stays and still resolves.",
    params(("id" = String, Path, description = "Place-name id", example = "p00001"), ("If-Match" = Option<String>, Header, description = "Optional: the version the decision is based on, e.g. `\"3\"`; when sent, a stale version is a 412", pattern = "^(W/)?\"?[0-9]{1,18}\"?$")),
    request_body(content = Decision, content_type = "application/json"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "Retired; the record as a Feature", body = super::openapi::PlaceFeature, content_type = "application/geo+json", headers(("ETag" = String, description = "The record's version"))),
        (status = 400, description = "The body or `If-Match` is malformed, the approving body, document number or reason is empty, or the date is not `YYYY-MM-DD`", body = Problem, content_type = "application/problem+json"),
        super::responses::NotLoggedIn,
        (status = 403, description = "The account is not an approver, or a session write lacks the right `X-CSRF-Token`", body = Problem, content_type = "application/problem+json"),
        super::responses::PlaceNotFound,
        (status = 409, description = "The record is already renamed or retired", body = Problem, content_type = "application/problem+json"),
        super::responses::Stale,
        super::responses::TooLarge,
    ),
)]
pub async fn retire(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let user = caller.require(Role::Approver)?.clone();
    let d: Decision = parse_json(body)?;
    let date = decision_fields(&d)?;
    let reason = d
        .reason
        .clone()
        .filter(|r| !r.trim().is_empty())
        .ok_or_else(|| Problem::invalid_field("reason", "须说明废止原因 (give the reason)"))?;
    let mut p = current(&state, &id)?;
    if !matches!(p.status, PlaceStatus::Approved | PlaceStatus::Proposed) {
        return Err(Problem::conflict(format!("{id} 已{} (already {})", p.status.label_zh(), p.status.as_str())));
    }
    let expected = if_match(&headers)?.unwrap_or(p.version);
    p.status = PlaceStatus::Retired;
    p.decided_by = Some(user.username.clone());
    p.approving_body = Some(d.approving_body.trim().to_string());
    p.document_no = Some(d.document_no.trim().to_string());
    p.decided_on = Some(date);
    p.attributes.insert("retire_reason".into(), Value::String(reason.trim().to_string()));
    let saved = state
        .store()
        .update_places(
            &[PlaceChange { expected_version: expected, place: p, action: "retire".into() }],
            &caller.actor(),
        )
        .await?;
    state.refresh_places().await?;
    Ok(place_response(&state, first_saved(&saved)?, StatusCode::OK, &[]))
}

/// `GET /api/v1/places/announcements?since=YYYY-MM-DD&format=json|csv`: approved
/// namings and renamings (not seeded records), with the six fields an
/// announcement carries: standard name, romanization, the division it lies in,
/// location, approving body and date (with the document number).
#[utoipa::path(
    get,
    path = "/places/announcements",
    tag = "places",
    operation_id = "place_announcements",
    summary = "地名公告 Naming and renaming announcements",
    description = "Approved namings and renamings (not seeded records), oldest first, with the six \
        fields an announcement carries: standard name, romanization, the division it lies in, \
        location, approving body and date (with the document number). `format=csv` gives a CSV file.",
    params(super::openapi::AnnouncementsQuery),
    responses(
        (status = 200, description = "The announcements",
            content(
                (super::openapi::Announcements = "application/json"),
                (String = "text/csv", example = "标准名称,罗马字母拼写,所在政区,地理位置,批准机关,批准时间,批准文号,类型,原名,编号"),
            )),
        (status = 400, description = "`since` is not `YYYY-MM-DD` or `format` is neither json nor csv", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn announcements(State(state): State<AppState>, RawQuery(q): RawQuery) -> Result<Response, Problem> {
    let mut p = Params::parse(q.as_deref());
    let since = p.raw("since").unwrap_or_default();
    let format = p.raw("format").unwrap_or_else(|| "json".into());
    p.finish()?;
    if !since.is_empty()
        && time::Date::parse(&since, time::macros::format_description!("[year]-[month]-[day]")).is_err()
    {
        return Err(Problem::invalid_field("since", "日期格式须为 YYYY-MM-DD"));
    }
    if format != "json" && format != "csv" {
        return Err(Problem::invalid_field("format", "须为 json 或 csv"));
    }
    let reg = state.places();
    let mut rows: Vec<Announcement> = reg
        .places()
        .iter()
        .filter(|pl| matches!(pl.status, PlaceStatus::Approved) && pl.approving_body.is_some())
        .filter(|pl| pl.decided_on.as_deref().is_some_and(|d| d >= since.as_str()))
        .map(|pl| {
            let loc = pl.geometry.as_ref().and_then(|g| match g {
                geo_types::Geometry::Point(pt) => Some((pt.x(), pt.y())),
                other => geo::InteriorPoint::interior_point(other).map(|pt| (pt.x(), pt.y())),
            });
            let previous = pl.predecessor_id.as_ref().and_then(|id| reg.get(id)).map(|o| o.name.clone());
            Announcement {
                id: pl.id.clone(),
                kind: if previous.is_some() { AnnouncementKind::Renaming } else { AnnouncementKind::Naming },
                standard_name: pl.name.clone(),
                romanization: pl.romanization.clone(),
                division: township_name(&state, pl.division_code.as_ref()),
                division_code: pl.division_code.as_ref().map(|c| c.to_string()),
                location: loc.map(|(x, y)| format!("{x:.6},{y:.6}")),
                approving_body: pl.approving_body.clone(),
                document_no: pl.document_no.clone(),
                date: pl.decided_on.clone(),
                previous_name: previous,
                provenance: pl.provenance,
            }
        })
        .collect();
    rows.sort_by(|a, b| a.date.cmp(&b.date).then(a.id.cmp(&b.id)));
    if format == "json" {
        return Ok(Json(Announcements { since, announcements: rows }).into_response());
    }
    let fields = [
        "standard_name",
        "romanization",
        "division",
        "location",
        "approving_body",
        "date",
        "document_no",
        "kind",
        "previous_name",
        "id",
    ];
    let mut csv =
        String::from("\u{feff}标准名称,罗马字母拼写,所在政区,地理位置,批准机关,批准时间,批准文号,类型,原名,编号\r\n");
    for r in &rows {
        let r = serde_json::to_value(r).unwrap_or_default();
        let line: Vec<String> = fields
            .iter()
            .map(|f| {
                let v = r.get(*f).and_then(Value::as_str).unwrap_or("").replace('"', "\"\"");
                if v.contains([',', '"', '\n']) {
                    format!("\"{v}\"")
                } else {
                    v
                }
            })
            .collect();
        csv.push_str(&line.join(","));
        csv.push_str("\r\n");
    }
    let mut res = (StatusCode::OK, csv).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    res.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"place-name-announcements.csv\""),
    );
    Ok(res)
}

/// `GET /api/v1/places/categories`: the category slugs, labels, scopes and generic terms.
#[utoipa::path(
    get,
    path = "/places/categories",
    tag = "places",
    operation_id = "place_categories",
    summary = "地名类别 Place-name categories",
    description = "The category slugs, labels, uniqueness scopes and generic terms (通名).",
    responses((status = 200, description = "Every category", body = super::openapi::Categories)),
)]
pub async fn categories() -> Json<Categories> {
    Json(Categories { categories: crate::naming::categories::CATEGORIES })
}
