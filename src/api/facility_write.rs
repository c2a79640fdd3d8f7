//! Registering, editing, moving and closing facilities over HTTP, and their
//! history: the requests parsed at the boundary, the use cases of
//! `registry::facilities` called, the record answered with its version as `ETag`.

use super::body::JsonBody;
use super::geojson_out::geo_json;
use super::params::if_match;
use super::problem::Problem;
use super::AppState;
use crate::accounts::Caller;
use crate::registry::facilities::{CloseInput, FacilityInput};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

fn feature_response(state: &AppState, id: &str, status: StatusCode) -> Response {
    let snap = state.snapshot_guard();
    match snap.facility(id) {
        Some(f) => {
            let mut res = geo_json(status, f.feature_json());
            if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", f.facility.version)) {
                res.headers_mut().insert(header::ETAG, v);
            }
            if status == StatusCode::CREATED {
                if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/facilities/{id}")) {
                    res.headers_mut().insert(header::LOCATION, v);
                }
            }
            res
        }
        None => Problem::not_found(format!("facility {id}")).into_response(),
    }
}

/// `POST /api/v1/facilities` (editor).
#[utoipa::path(
    post,
    path = "/facilities",
    tag = "facilities",
    operation_id = "create_facility",
    summary = "登记设施 Register a facility (editor)",
    description = "Registers a facility; `name`, `kind`, `lon` and `lat` are required, `status` defaults to \
        `open`. The township is where the point falls (a `township_code` that disagrees is refused). \
        The next nearest, within or coverage query sees it.",
    request_body(content = FacilityInput, content_type = "application/json"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 201, description = "Registered; the new facility as a Feature", body = super::openapi::FacilityFeature, content_type = "application/geo+json",
            headers(("ETag" = String, description = "The version, `\"1\"`"), ("Location" = String, description = "`/api/v1/facilities/{id}`"))),
        (status = 400, description = "The body is malformed, or a field is missing or invalid; `errors` names every bad field", body = Problem, content_type = "application/problem+json"),
        super::responses::NotLoggedIn,
        super::responses::NotEditor,
        super::responses::TooLarge,
        (status = 422, description = "The point is outside every township of the county, or `township_code` is not the township it lies in", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<FacilityInput>,
) -> Result<Response, Problem> {
    let f = state.create_facility(&caller, input).await?;
    Ok(feature_response(&state, &f.id, StatusCode::CREATED))
}

/// `PATCH /api/v1/facilities/{id}` (editor) with `If-Match`.
#[utoipa::path(
    patch,
    path = "/facilities/{id}",
    tag = "facilities",
    operation_id = "update_facility",
    summary = "修改设施 Edit or move a facility (editor)",
    description = "Changes only the fields sent (`attributes`: a key sent as null is removed). A closed \
        facility is reopened only by setting `status` to `open` or `planned`. Send the `ETag` you read \
        in `If-Match`.",
    params(
        ("id" = String, Path, description = "Facility id", example = "f0001"),
        ("If-Match" = String, Header, description = "The version the change is based on: the `ETag` read, e.g. `\"3\"` (also `W/\"3\"` or `3`)", pattern = "^(W/)?\"?[0-9]{1,18}\"?$"),
    ),
    request_body(content = FacilityInput, content_type = "application/json"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "Changed; the facility as a Feature", body = super::openapi::FacilityFeature, content_type = "application/geo+json", headers(("ETag" = String, description = "The new version, e.g. `\"4\"`"))),
        super::responses::InvalidBody,
        super::responses::NotLoggedIn,
        super::responses::NotEditor,
        super::responses::FacilityNotFound,
        (status = 409, description = "The facility is closed and the change does not reopen it", body = Problem, content_type = "application/problem+json"),
        super::responses::Stale,
        super::responses::TooLarge,
        (status = 422, description = "The point is outside every township, or `township_code` is not the township it lies in", body = Problem, content_type = "application/problem+json"),
        super::responses::IfMatchMissing,
    ),
)]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<FacilityInput>,
) -> Result<Response, Problem> {
    let expected = if_match(&headers)?.ok_or_else(Problem::precondition_required)?;
    state.update_facility(&caller, &id, expected, input).await?;
    Ok(feature_response(&state, &id, StatusCode::OK))
}

/// `POST /api/v1/facilities/{id}/close` (editor): status `closed`, with the date
/// and reason kept in its attributes. No record is ever deleted.
#[utoipa::path(
    post,
    path = "/facilities/{id}/close",
    tag = "facilities",
    operation_id = "close_facility",
    summary = "关闭设施 Close a facility (editor)",
    description = "Sets `status` to `closed` and keeps the date and reason in its attributes (`closed_on`, \
        `close_reason`); no record is ever deleted. `If-Match` is optional: when sent, a stale version is a 412.",
    params(
        ("id" = String, Path, description = "Facility id", example = "f0001"),
        ("If-Match" = Option<String>, Header, description = "Optional: the version the closure is based on, e.g. `\"3\"`", pattern = "^(W/)?\"?[0-9]{1,18}\"?$"),
    ),
    request_body(content = CloseInput, content_type = "application/json"),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "Closed; the facility as a Feature", body = super::openapi::FacilityFeature, content_type = "application/geo+json", headers(("ETag" = String, description = "The new version, e.g. `\"4\"`"))),
        (status = 400, description = "The body or `If-Match` is malformed, the reason is empty or the date is not `YYYY-MM-DD`", body = Problem, content_type = "application/problem+json"),
        super::responses::NotLoggedIn,
        super::responses::NotEditor,
        super::responses::FacilityNotFound,
        (status = 409, description = "The facility is already closed", body = Problem, content_type = "application/problem+json"),
        super::responses::Stale,
        super::responses::TooLarge,
    ),
)]
pub async fn close(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<CloseInput>,
) -> Result<Response, Problem> {
    let expected = if_match(&headers)?;
    state.close_facility(&caller, &id, expected, input).await?;
    Ok(feature_response(&state, &id, StatusCode::OK))
}

/// `GET /api/v1/facilities/{id}/history`: every version, oldest first, with who
/// changed it and how.
#[utoipa::path(
    get,
    path = "/facilities/{id}/history",
    tag = "facilities",
    operation_id = "facility_history",
    summary = "设施沿革 A facility's history",
    description = "Every version of the facility, oldest first, with who changed it and how.",
    params(("id" = String, Path, description = "Facility id", example = "f0001")),
    responses(
        (status = 200, description = "Every version, oldest first", body = super::openapi::History),
        super::responses::FacilityNotFound,
    ),
)]
pub async fn history(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<super::answers::History>, Problem> {
    let rows = state.facility_history(&id).await?;
    Ok(Json(super::answers::History { id, versions: rows }))
}
