//! Standard place names over HTTP: search, records and their history, the
//! naming-rules check, and the lifecycle steps of `registry::places`, each answered
//! with the record as a Feature (its version as `ETag`, the rules' warnings in
//! `findings`).

use super::answers::{Announcements, Categories, History, PlaceCollection};
use super::body::JsonBody;
use super::geojson_out::geo_json;
use super::params::if_match;
use super::params::Params;
use super::problem::Problem;
use super::AppState;
use crate::accounts::Caller;
use crate::domain::{Place, PlaceStatus};
use crate::naming::categories::category;
use crate::naming::registry::PlaceFeature;
use crate::naming::rules::CheckResult;
use crate::registry::places::{CheckBody, DecisionInput, PlaceInput, RenameBody, Saved};
use crate::spatial::features::FeatureCollectionType;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

fn feature(state: &AppState, p: &Place) -> PlaceFeature {
    PlaceFeature::new(p, state.division_name(p.division_code.as_ref()).as_deref(), None)
}

fn with_etag(mut res: Response, version: i64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&format!("\"{version}\"")) {
        res.headers_mut().insert(header::ETAG, v);
    }
    res
}

/// The saved record as a Feature, with the rules' warnings in `findings`.
pub(crate) fn feature_json(state: &AppState, saved: &Saved) -> String {
    let f = PlaceFeature { findings: saved.findings.clone(), ..feature(state, &saved.place) };
    serde_json::to_string(&f).unwrap_or_default()
}

fn place_response(state: &AppState, saved: &Saved, status: StatusCode) -> Response {
    with_etag(geo_json(status, feature_json(state, saved)), saved.place.version)
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
                    PlaceFeature::new(pl, state.division_name(pl.division_code.as_ref()).as_deref(), Some(k))
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
    let names = state.places();
    let p = names
        .get(&id)
        .ok_or_else(|| Problem::not_found(format!("没有编号为 {id} 的地名 (no place name with this id)")))?;
    Ok(with_etag(geo_json(StatusCode::OK, serde_json::to_string(&feature(&state, p)).unwrap_or_default()), p.version))
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
    let rows = state.place_history(&id).await?;
    Ok(Json(History { id, versions: rows }))
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
    JsonBody(b): JsonBody<CheckBody>,
) -> Result<Json<CheckResult>, Problem> {
    Ok(Json(state.check_name(&b)?))
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
    JsonBody(input): JsonBody<PlaceInput>,
) -> Result<Response, Problem> {
    let saved = state.propose_place(&caller, input).await?;
    let mut res = place_response(&state, &saved, StatusCode::CREATED);
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/places/{}", saved.place.id)) {
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
    JsonBody(input): JsonBody<PlaceInput>,
) -> Result<Response, Problem> {
    let expected = if_match(&headers)?.ok_or_else(Problem::precondition_required)?;
    let saved = state.edit_place(&caller, &id, expected, input).await?;
    Ok(place_response(&state, &saved, StatusCode::OK))
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
    request_body(content = DecisionInput, content_type = "application/json"),
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
    JsonBody(d): JsonBody<DecisionInput>,
) -> Result<Response, Problem> {
    let expected = if_match(&headers)?;
    let saved = state.approve_place(&caller, &id, expected, &d).await?;
    Ok(place_response(&state, &saved, StatusCode::OK))
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
    JsonBody(r): JsonBody<RenameBody>,
) -> Result<Response, Problem> {
    let saved = state.rename_place(&caller, &id, r).await?;
    Ok(place_response(&state, &saved, StatusCode::CREATED))
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
    request_body(content = DecisionInput, content_type = "application/json"),
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
    JsonBody(d): JsonBody<DecisionInput>,
) -> Result<Response, Problem> {
    let expected = if_match(&headers)?;
    let saved = state.retire_place(&caller, &id, expected, &d).await?;
    Ok(place_response(&state, &saved, StatusCode::OK))
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
    let announcements = state.announcements(&since);
    if format == "json" {
        return Ok(Json(Announcements { since, announcements }).into_response());
    }
    let rows: Vec<Value> = announcements.iter().map(|a| serde_json::to_value(a).unwrap_or_default()).collect();
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
        let line: Vec<String> = fields
            .iter()
            .map(|f| {
                let v = r[*f].as_str().unwrap_or("").replace('"', "\"\"");
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
