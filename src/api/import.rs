//! `POST /api/v1/import`: the query and the body read at the boundary, then the
//! registry's import (`registry::import`), whose report is the answer.

use super::params::Params;
use super::problem::Problem;
use super::AppState;
use crate::accounts::Caller;
use crate::import::read::Format;
use crate::import::Layer;
use crate::registry::import::{ImportReport, ImportRequest, IMPORT_CRS};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::Json;

/// `POST /api/v1/import?layer=&format=&crs=&dry_run=`: the file is the body.
#[utoipa::path(
    post,
    path = "/import",
    tag = "interop",
    operation_id = "import",
    summary = "导入 Import a GeoJSON or CSV file into a layer",
    description = "The file is the body (up to 64 MB): GeoJSON or CSV (comma, tab or semicolon), UTF-8 with or \
        without BOM, UTF-16 with BOM or GBK/GB18030, detected. Every row is validated by the same rules as the \
        single-record endpoints and every problem is reported as `errors: [{row, field, message}]` (CSV rows \
        numbered as a spreadsheet shows them, header = 1; GeoJSON features from 1) before anything is written; \
        then one transaction, all or nothing, with history and audit. A row with the `id`/`code` of a record \
        updates it if its `version` (when given) is current. With `county`, every row must be a record of \
        that county (by its code or township), else the row is refused: a county's file cannot change another's \
        records. Facilities and places need an editor, divisions \
        and settlements an approver.",
    params(super::openapi::ImportQuery),
    request_body(description = "The file: CSV (UTF-8 or GBK) or GeoJSON", content(
        (String = "text/csv"),
        (String = "application/geo+json"),
    )),
    security(("bearer" = []), ("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "Imported, or checked on a dry run", body = super::openapi::ImportReportDoc),
        (status = 400, description = "A parameter is malformed or not one of its values; `errors` names it; nothing was written", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The file or a row is refused (no header, a missing column, a bad value, a stale version); every problem is in `errors` with its `row`; nothing was written", body = Problem, content_type = "application/problem+json"),
        super::responses::NotLoggedIn,
        (status = 403, description = "The account's role may not import this layer, or a session write lacks `X-CSRF-Token`", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "A record changed while the import was being written; nothing was written", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The file is larger than 64 MB", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: axum::body::Body,
) -> Result<Json<ImportReport>, Problem> {
    let mut p = Params::parse(q.as_deref());
    let layer = match p.raw("layer") {
        Some(l) => Layer::parse(&l).or_else(|| {
            p.fail("layer", "须为 facilities、places、settlements 或 divisions");
            None
        }),
        None => {
            p.fail("layer", "缺少必填参数 (required): facilities、places、settlements 或 divisions");
            None
        }
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.split(';').next().unwrap_or("").trim().to_string());
    let format = match p.raw("format") {
        Some(f) => Format::parse(&f).or_else(|| {
            p.fail("format", "须为 geojson 或 csv (geojson or csv)");
            None
        }),
        None => content_type.as_deref().and_then(Format::parse),
    };
    let crs = p.crs("crs", &IMPORT_CRS);
    let dry_run = match p.raw("dry_run").as_deref() {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") | Some("") => true,
        Some(_) => {
            p.fail("dry_run", "须为 true 或 false");
            false
        }
    };
    let county = p.county();
    p.finish()?;
    let Some(layer) = layer else { return Err(Problem::invalid_field("layer", "required")) };
    state.may_import(&caller, layer)?;
    // Read here with the import's own limit (the JSON endpoints keep axum's 2 MB).
    let bytes = axum::body::to_bytes(body, super::IMPORT_MAX_BYTES).await.map_err(|_| Problem::too_large())?;
    let req = ImportRequest { layer, format, crs, dry_run, county };
    let report = state.import(&caller, &bytes, &req, &|_| ()).await?;
    Ok(Json(report))
}
