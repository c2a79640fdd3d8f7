//! Responses assembled from the snapshot's pre-rendered GeoJSON: the
//! FeatureCollection envelope around rendered features, and its schemas.

use crate::spatial::features::{DivisionFeature, FacilityFeature, FeatureCollectionType, SettlementFeature};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

pub const GEO_JSON: &str = "application/geo+json";

/// A FeatureCollection from rendered features, with paging counts and links.
pub struct Collection {
    pub features: Vec<String>,
    pub number_matched: Option<usize>,
    pub next: Option<String>,
    pub prev: Option<String>,
}

/// Which page a link leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Rel {
    Next,
    Prev,
}

/// A link to another page of a collection.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Link {
    pub rel: Rel,
    pub href: String,
    /// Always `application/geo+json`.
    #[serde(rename = "type")]
    pub media_type: &'static str,
}

/// The members of every FeatureCollection after its features: paging counts and links.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Counts {
    /// Features in this answer.
    #[serde(rename = "numberReturned")]
    pub number_returned: usize,
    /// Features matching the request, over all pages.
    #[serde(rename = "numberMatched", skip_serializing_if = "Option::is_none")]
    pub number_matched: Option<usize>,
    /// `next` / `prev` pages, when there are.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
}

impl Counts {
    /// Close a FeatureCollection whose `features` array is open in `body`: the
    /// array's bracket, these members, the object's brace.
    pub fn close(&self, body: &mut String) {
        let members = serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"));
        body.push(']');
        if let Some(rest) = members.strip_prefix('{').filter(|r| *r != "}") {
            body.push(',');
            body.push_str(rest);
        } else {
            body.push('}');
        }
    }
}

/// The start of every FeatureCollection written from rendered features.
pub const COLLECTION_HEAD: &str = r#"{"type":"FeatureCollection","features":["#;

impl Collection {
    fn body(&self) -> String {
        let len: usize = self.features.iter().map(String::len).sum();
        let mut body = String::with_capacity(len + self.features.len() + 200);
        body.push_str(COLLECTION_HEAD);
        for (i, f) in self.features.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(f);
        }
        let link = |rel, href: &String| Link { rel, href: href.clone(), media_type: GEO_JSON };
        let links = [(Rel::Next, &self.next), (Rel::Prev, &self.prev)]
            .into_iter()
            .filter_map(|(rel, href)| href.as_ref().map(|h| link(rel, h)))
            .collect();
        Counts { number_returned: self.features.len(), number_matched: self.number_matched, links }.close(&mut body);
        body
    }
}

impl IntoResponse for Collection {
    fn into_response(self) -> Response {
        geo_json(StatusCode::OK, self.body())
    }
}

// The collections `Collection` writes, for the document: the envelope
// (`COLLECTION_HEAD`, then `Counts`) around features rendered by the snapshot from
// `spatial::features`. The test below checks the writer against these types.

/// A FeatureCollection of divisions.
#[derive(Serialize, ToSchema)]
#[cfg_attr(not(test), allow(dead_code, reason = "the schema of what `Collection` writes; built in its test"))]
pub struct DivisionCollection {
    #[serde(rename = "type")]
    pub kind: FeatureCollectionType,
    pub features: Vec<DivisionFeature>,
    #[serde(flatten)]
    pub counts: Counts,
}

/// A FeatureCollection of settlements.
#[derive(Serialize, ToSchema)]
#[cfg_attr(not(test), allow(dead_code, reason = "the schema of what `Collection` writes; built in its test"))]
pub struct SettlementCollection {
    #[serde(rename = "type")]
    pub kind: FeatureCollectionType,
    pub features: Vec<SettlementFeature>,
    #[serde(flatten)]
    pub counts: Counts,
}

/// A FeatureCollection of facilities (with `distance_m` from nearest and within).
#[derive(Serialize, ToSchema)]
#[cfg_attr(not(test), allow(dead_code, reason = "the schema of what `Collection` writes; built in its test"))]
pub struct FacilityCollection {
    #[serde(rename = "type")]
    pub kind: FeatureCollectionType,
    pub features: Vec<FacilityFeature>,
    #[serde(flatten)]
    pub counts: Counts,
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

/// The link to the page after the feature keyed `after` (a keyset page): the
/// query without its `offset`, `limit` and `after`, then those of the next page.
pub fn cursor_link(path: &str, query: &str, limit: usize, after: &str) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if k != "offset" && k != "limit" && k != "after" {
            s.append_pair(&k, &v);
        }
    }
    s.append_pair("limit", &limit.to_string());
    s.append_pair("after", after);
    format!("{path}?{}", s.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{LonLat, Provenance, Settlement};

    fn settlement(code: &str) -> Settlement {
        Settlement {
            code: code.parse().expect("code"),
            name: "头工村".into(),
            short_name: "头工".into(),
            township_code: "652324101".parse().expect("code"),
            village_kind: "村".into(),
            location: LonLat::try_from([86.23, 43.93]).expect("point"),
            population: Some(1200),
            population_60plus: None,
            is_xpcc: false,
            provenance: Provenance::Real,
            location_provenance: Provenance::Synthetic,
            population_provenance: Some(Provenance::Synthetic),
            version: 1,
        }
    }

    #[test]
    fn the_collection_writer_writes_the_documented_envelope() {
        let features: Vec<SettlementFeature> = ["652324101201", "652324101202"]
            .iter()
            .map(|c| SettlementFeature::new(&settlement(c), Some("乐土驿镇")))
            .collect();
        for (matched, next, prev) in
            [(Some(7), Some("/n"), Some("/p")), (None, None, None), (Some(2), None, Some("/p"))]
        {
            let written = Collection {
                features: features.iter().map(SettlementFeature::to_json).collect(),
                number_matched: matched,
                next: next.map(str::to_string),
                prev: prev.map(str::to_string),
            }
            .body();
            let links = [(Rel::Next, next), (Rel::Prev, prev)]
                .into_iter()
                .filter_map(|(rel, h)| h.map(|h| Link { rel, href: h.into(), media_type: GEO_JSON }))
                .collect();
            let typed = SettlementCollection {
                kind: FeatureCollectionType::FeatureCollection,
                features: features.clone(),
                counts: Counts { number_returned: 2, number_matched: matched, links },
            };
            let written: serde_json::Value = serde_json::from_str(&written).expect("JSON");
            assert_eq!(written, serde_json::to_value(&typed).expect("JSON"));
        }
        let empty = Collection { features: vec![], number_matched: None, next: None, prev: None }.body();
        assert_eq!(empty, r#"{"type":"FeatureCollection","features":[],"numberReturned":0}"#);
    }
}
