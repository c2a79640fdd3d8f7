//! `GET /api/v1/changes`: the change feed for other applications, as JSON pages or
//! newline-delimited JSON, with a long-poll. What it reads and how it waits is the
//! registry's (`registry::changes`); here the query is parsed and the page written.

use super::answers::{Change, Changes};
use super::params::Params;
use super::problem::Problem;
use super::AppState;
use crate::registry::changes::{ChangeLayer, MAX_WAIT_S};
use crate::store::FeedQuery;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::time::Duration;

const NDJSON: &str = "application/x-ndjson";

/// `GET /api/v1/changes?after=&layer=&county=&limit=&wait=&format=`
#[utoipa::path(
    get,
    path = "/changes",
    tag = "changes",
    operation_id = "list_changes",
    summary = "变更流 The change feed",
    description = "Every committed change to the registry's divisions, settlements, facilities and place names, \
        in the order of the change sequence: each the record as the change left it. Replaying the feed from \
        `after=0` and applying each record by its layer and id rebuilds the registry's records exactly; a \
        follower stores `next_after` and asks again from there. `wait` makes an empty answer wait for the next \
        change (a long-poll). No validators: a page is read from the database, which may be ahead of this \
        instance.",
    params(super::openapi::ChangesQuery),
    responses(
        (status = 200, description = "A page of changes: JSON, or one change per line as newline-delimited JSON",
            content(
                (super::openapi::ChangesAnswer = "application/json"),
                (super::openapi::Change = "application/x-ndjson"),
            ),
            headers(
                ("Next-After" = i64, description = "The page's `next_after`: ask for `after=` this next"),
                ("Link" = String, description = "The next page, `rel=\"next\"`"),
            )),
        super::responses::InvalidQuery,
    ),
)]
pub async fn list_changes(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, Problem> {
    let mut p = Params::parse(q.as_deref());
    p.reject_unknown(&["after", "layer", "county", "limit", "wait", "format"]);
    let after = p.integer("after", 0, 0, i64::MAX as usize) as i64;
    let layers = match p.raw("layer") {
        None => Vec::new(),
        Some(v) => {
            let mut out = Vec::new();
            for part in v.split(',') {
                match part.trim().parse::<ChangeLayer>() {
                    Ok(l) if !out.contains(&l) => out.push(l),
                    Ok(_) => {}
                    Err(e) => p.fail("layer", e),
                }
            }
            out
        }
    };
    let county = p.county();
    let limit = p.integer("limit", 1000, 1, 10_000);
    let wait = p.integer("wait", 0, 0, MAX_WAIT_S);
    let ndjson = match p.raw("format").as_deref() {
        None => accepts_ndjson(&headers),
        Some("json") => false,
        Some("ndjson") => true,
        Some(_) => {
            p.fail("format", "须为 json 或 ndjson (must be json or ndjson)");
            false
        }
    };
    p.finish()?;
    let entities: Vec<&'static str> = layers.iter().map(|l| l.entity()).collect();
    let counties: Vec<&str> = county.iter().map(|c| c.as_str()).collect();
    let query = FeedQuery { after, entities: &entities, counties: &counties, limit: limit as i64 };
    let page = state.changes(&query, Duration::from_secs(wait as u64), state.closing()).await?;
    let more = page.entries.len() >= limit;
    let changes = page.entries.into_iter().map(Change::try_from).collect::<Result<Vec<_>, _>>()?;
    let next = next_link(q.as_deref().unwrap_or(""), page.through);
    let mut res = if ndjson {
        let mut body = String::new();
        for c in &changes {
            body.push_str(&serde_json::to_string(c).map_err(|e| Problem::internal(&e))?);
            body.push('\n');
        }
        let mut res = (StatusCode::OK, body).into_response();
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(NDJSON));
        res
    } else {
        axum::Json(Changes { changes, next_after: page.through, more }).into_response()
    };
    let h = res.headers_mut();
    h.insert("next-after", HeaderValue::from(page.through));
    if let Ok(v) = HeaderValue::from_str(&format!("<{next}>; rel=\"next\"")) {
        h.insert(header::LINK, v);
    }
    Ok(res)
}

/// Whether the `Accept` header asks for newline-delimited JSON before JSON.
fn accepts_ndjson(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else { return false };
    accept.split(',').map(|t| t.split(';').next().unwrap_or("").trim()).find_map(|t| match t {
        NDJSON | "application/jsonl" => Some(true),
        "application/json" | "*/*" | "application/*" => Some(false),
        _ => None,
    }) == Some(true)
}

/// The same query with `after` moved to `through`.
fn next_link(query: &str, through: i64) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k != "after") {
        out.append_pair(&k, &v);
    }
    out.append_pair("after", &through.to_string());
    format!("/api/v1/changes?{}", out.finish())
}
