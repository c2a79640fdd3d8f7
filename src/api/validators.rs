//! Cache validators on the registry's data answers: a strong `ETag` made of the
//! change sequence the instance had applied when the answer was made and a hash of
//! what selects the answer (path, query, and the headers that shape it), with
//! `Cache-Control: no-cache` (a client may keep the answer and must revalidate
//! before reusing it). `If-None-Match` with a current ETag is answered `304 Not
//! Modified` without computing the answer again.
//!
//! Any committed write raises the sequence, so it changes the validator of every
//! answer it could change (and of others: never fewer). The sequence is read
//! before the answer is made and is raised only after what it names is published,
//! so an answer holds at least the changes its ETag names; the sequence is the
//! database's, so ETags mean the same on every instance. An answer that already
//! has an ETag (a facility's version, for `If-Match`) keeps it and is revalidated
//! against it.

use super::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The answers that carry validators: the registry's data, the same for every
/// caller. (Accounts, sessions, tokens and the audit depend on who asks; the
/// OpenAPI document and the page's settings on the deployment.)
const DATA: [&str; 10] = [
    "/api/v1/counties",
    "/api/v1/coverage",
    "/api/v1/divisions",
    "/api/v1/export",
    "/api/v1/facilities",
    "/api/v1/locate",
    "/api/v1/places",
    "/api/v1/settlements",
    "/ogc",
    "/tiles",
];

/// Whether a GET of `path` (a request's path, or an OpenAPI path template)
/// carries validators.
pub fn carries_validators(path: &str) -> bool {
    DATA.iter().any(|p| path.strip_prefix(p).is_some_and(|rest| rest.is_empty() || rest.starts_with('/')))
}

/// The headers besides the URL that change an answer (OGC links name the host).
const SHAPING: [header::HeaderName; 3] = [
    header::HOST,
    header::HeaderName::from_static("x-forwarded-host"),
    header::HeaderName::from_static("x-forwarded-proto"),
];

/// The ETag of the answer to `req` at `sequence` under coverage rules whose
/// fingerprint is `rules` (an instance restarted with other rules answers
/// coverage differently at the same sequence).
fn etag_for(sequence: i64, rules: u64, req: &Request) -> String {
    let uri = req.uri();
    let rules = rules.to_le_bytes();
    let mut parts: Vec<&[u8]> = vec![uri.path().as_bytes(), uri.query().unwrap_or("").as_bytes(), &rules];
    for name in &SHAPING {
        parts.push(req.headers().get(name).map_or(&b""[..], HeaderValue::as_bytes));
    }
    format!("\"{sequence}-{:016x}\"", crate::registry::stable_hash(&parts))
}

/// Whether `If-None-Match` names `etag` (weak comparison, RFC 9110 §13.1.2), or
/// is `*` when `star` (only for an answer known to exist).
fn none_match(headers: &HeaderMap, etag: &str, star: bool) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_string();
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').map(str::trim).any(|t| (star && t == "*") || bare(t) == bare(etag)))
}

fn not_modified(etag: &HeaderValue) -> Response {
    let mut res = StatusCode::NOT_MODIFIED.into_response();
    res.headers_mut().insert(header::ETAG, etag.clone());
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}

pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !(req.method() == Method::GET || req.method() == Method::HEAD) || !carries_validators(req.uri().path()) {
        return next.run(req).await;
    }
    // Before the answer is made: it then holds at least this much.
    let sequence = state.registry().applied_sequence();
    let rules = state.registry().rules_fingerprint();
    let Ok(etag) = HeaderValue::from_str(&etag_for(sequence, rules, &req)) else { return next.run(req).await };
    let asked = req.headers().clone();
    if none_match(&asked, etag.to_str().unwrap_or_default(), false) {
        return not_modified(&etag);
    }
    let mut res = next.run(req).await;
    if res.status() != StatusCode::OK {
        return res;
    }
    let own = res.headers().get(header::ETAG).cloned();
    let etag = own.unwrap_or(etag);
    if none_match(&asked, etag.to_str().unwrap_or_default(), true) {
        return not_modified(&etag);
    }
    res.headers_mut().insert(header::ETAG, etag);
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_paths_and_only_they_carry_validators() {
        for p in ["/api/v1/facilities", "/api/v1/facilities/{id}", "/api/v1/coverage/gaps", "/ogc", "/ogc/collections"]
        {
            assert!(carries_validators(p), "{p}");
        }
        for p in [
            "/api/v1/users",
            "/api/v1/session",
            "/api/v1/audit",
            "/api/v1/openapi.json",
            "/health",
            "/ogcx",
            "/api/v1/facilitiesx",
        ] {
            assert!(!carries_validators(p), "{p}");
        }
    }

    #[test]
    fn if_none_match_compares_weakly_in_lists_and_takes_a_star() {
        let mut h = HeaderMap::new();
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"1-a\", W/\"7-b\""));
        assert!(none_match(&h, "\"7-b\"", false));
        assert!(none_match(&h, "\"1-a\"", false));
        assert!(!none_match(&h, "\"7-c\"", true));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(none_match(&h, "\"9-z\"", true));
        assert!(!none_match(&h, "\"9-z\"", false), "* only for an answer that exists");
        assert!(!none_match(&HeaderMap::new(), "\"9-z\"", true));
    }
}
