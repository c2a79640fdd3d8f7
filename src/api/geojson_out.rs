//! Responses assembled from the snapshot's pre-rendered GeoJSON.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

pub const GEO_JSON: &str = "application/geo+json";

/// A FeatureCollection from rendered features, with paging counts and links.
pub struct Collection {
    pub features: Vec<String>,
    pub number_matched: Option<usize>,
    pub next: Option<String>,
    pub prev: Option<String>,
}

impl IntoResponse for Collection {
    fn into_response(self) -> Response {
        let len: usize = self.features.iter().map(String::len).sum();
        let mut body = String::with_capacity(len + self.features.len() + 200);
        body.push_str(r#"{"type":"FeatureCollection","features":["#);
        for (i, f) in self.features.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(f);
        }
        body.push_str("],\"numberReturned\":");
        body.push_str(&self.features.len().to_string());
        if let Some(m) = self.number_matched {
            body.push_str(",\"numberMatched\":");
            body.push_str(&m.to_string());
        }
        let mut links = Vec::new();
        if let Some(n) = &self.next {
            links.push(serde_json::json!({"rel": "next", "href": n, "type": GEO_JSON}).to_string());
        }
        if let Some(p) = &self.prev {
            links.push(serde_json::json!({"rel": "prev", "href": p, "type": GEO_JSON}).to_string());
        }
        if !links.is_empty() {
            body.push_str(",\"links\":[");
            body.push_str(&links.join(","));
            body.push(']');
        }
        body.push('}');
        geo_json(StatusCode::OK, body)
    }
}

pub fn geo_json(status: StatusCode, body: String) -> Response {
    let mut res = (status, body).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(GEO_JSON));
    res
}

/// `limit`/`offset` paging over `total` matches: the slice bounds and the links.
pub fn page(
    path: &str,
    query: &str,
    total: usize,
    limit: usize,
    offset: usize,
) -> (std::ops::Range<usize>, Option<String>, Option<String>) {
    let start = offset.min(total);
    let end = (start + limit).min(total);
    let rest: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k != "offset" && k != "limit")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let link = |off: usize| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &rest {
            s.append_pair(k, v);
        }
        s.append_pair("limit", &limit.to_string());
        s.append_pair("offset", &off.to_string());
        format!("{path}?{}", s.finish())
    };
    let next = (end < total).then(|| link(end));
    let prev = (start > 0).then(|| link(start.saturating_sub(limit)));
    (start..end, next, prev)
}
