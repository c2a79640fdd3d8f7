//! The names in memory: every place record and the search index, rebuilt after
//! every committed write like the spatial snapshot; and a place's GeoJSON Feature,
//! whose types are also the OpenAPI document's schemas.

use super::categories::PlaceCategory;
use super::rules::Finding;
use super::search::{MatchKind, SearchIndex};
use crate::domain::{MinorityForm, Place, PlaceStatus, Provenance};
use crate::spatial::features::{FeatureType, Geometry};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use utoipa::ToSchema;

pub struct PlaceRegistry {
    places: Vec<Place>,
    by_id: HashMap<String, usize>,
    index: SearchIndex,
    /// `[minLon, minLat, maxLon, maxLat]` of every place's geometry (an extent
    /// asked for on every OGC collections page, so not recomputed there).
    extent: Option<[f64; 4]>,
}

fn status_rank(s: PlaceStatus) -> u8 {
    match s {
        PlaceStatus::Approved => 0,
        PlaceStatus::Proposed => 1,
        PlaceStatus::Renamed => 2,
        PlaceStatus::Retired => 3,
    }
}

impl PlaceRegistry {
    pub fn build(mut places: Vec<Place>) -> Self {
        places.sort_by(|a, b| a.id.cmp(&b.id));
        let by_id = places.iter().enumerate().map(|(i, p)| (p.id.clone(), i)).collect();
        let index = SearchIndex::build(places.iter().map(|p| (p.name.as_str(), status_rank(p.status))));
        let extent = places.iter().filter_map(|p| geo::BoundingRect::bounding_rect(p.geometry.as_ref()?)).fold(
            None,
            |acc: Option<[f64; 4]>, r| {
                let [x0, y0, x1, y1] =
                    acc.unwrap_or([f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY]);
                Some([x0.min(r.min().x), y0.min(r.min().y), x1.max(r.max().x), y1.max(r.max().y)])
            },
        );
        PlaceRegistry { places, by_id, index, extent }
    }

    /// The bounding box of every place's geometry, if any has one.
    pub fn extent(&self) -> Option<[f64; 4]> {
        self.extent
    }

    pub fn places(&self) -> &[Place] {
        &self.places
    }

    pub fn get(&self, id: &str) -> Option<&Place> {
        self.by_id.get(id).and_then(|&i| self.places.get(i))
    }

    /// Matches of `q` that pass `keep`, best first (see `naming::search`).
    pub fn search(&self, q: &str, limit: usize, keep: impl Fn(&Place) -> bool) -> Vec<(&Place, MatchKind)> {
        self.index
            .search(q, limit, |i| self.places.get(i as usize).is_some_and(&keep))
            .into_iter()
            .filter_map(|(i, k)| Some((self.places.get(i as usize)?, k)))
            .collect()
    }
}

/// Properties of a standard place name (标准地名); its further attributes (e.g.
/// `retire_reason`) follow.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PlaceProperties {
    pub id: String,
    #[schema(example = "乐土驿镇")]
    pub name: String,
    /// 专名 specific term.
    pub specific_term: String,
    /// 通名 generic term.
    pub generic_term: String,
    #[schema(value_type = PlaceCategory)]
    pub category: String,
    pub category_label: Option<&'static str>,
    pub division_code: Option<String>,
    pub division_name: Option<String>,
    /// 罗马字母拼写, e.g. `Letuyi Zhen`.
    pub romanization: String,
    /// `suggested` (from the rules) or `officer`.
    pub romanization_source: String,
    /// 含义与由来 origin of the name.
    pub origin: Option<String>,
    pub alternate_names: Vec<String>,
    pub historic_names: Vec<String>,
    pub minority_form: Option<MinorityForm>,
    pub status: PlaceStatus,
    pub status_label: &'static str,
    pub proposed_by: Option<String>,
    pub decided_by: Option<String>,
    /// 批准机关.
    pub approving_body: Option<String>,
    /// 批准文号.
    pub document_no: Option<String>,
    /// 批准日期 `YYYY-MM-DD`.
    pub decided_on: Option<String>,
    pub predecessor_id: Option<String>,
    pub successor_id: Option<String>,
    pub provenance: Provenance,
    /// Search only: how the record matched `q`.
    #[serde(rename = "match", skip_serializing_if = "Option::is_none")]
    pub matched: Option<MatchKind>,
    /// The record's version, also served as its `ETag`.
    pub version: i64,
    pub updated_at: String,
    /// The record's further attributes.
    #[serde(flatten)]
    pub attributes: Map<String, Value>,
}

impl PlaceProperties {
    /// The names of the fields above, which an attribute never shadows.
    pub const FIELDS: [&'static str; 27] = [
        "id",
        "name",
        "specific_term",
        "generic_term",
        "category",
        "category_label",
        "division_code",
        "division_name",
        "romanization",
        "romanization_source",
        "origin",
        "alternate_names",
        "historic_names",
        "minority_form",
        "status",
        "status_label",
        "proposed_by",
        "decided_by",
        "approving_body",
        "document_no",
        "decided_on",
        "predecessor_id",
        "successor_id",
        "provenance",
        "match",
        "version",
        "updated_at",
    ];
}

/// A standard place name as a GeoJSON Feature (geometry as stored: point, line or
/// polygon, or null).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PlaceFeature {
    #[serde(rename = "type")]
    pub kind: FeatureType,
    pub id: String,
    #[schema(value_type = Option<Geometry>)]
    pub geometry: Option<geojson::Geometry>,
    pub properties: PlaceProperties,
    /// Writes only: the naming rules' warnings (errors refuse the write with 422).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
}

/// A place as a GeoJSON Feature, as JSON (export and OGC rework it as JSON).
pub fn place_feature(p: &Place, township_name: Option<&str>, matched: Option<MatchKind>) -> Value {
    serde_json::to_value(PlaceFeature::new(p, township_name, matched)).unwrap_or(Value::Null)
}

impl PlaceFeature {
    /// A place as a GeoJSON Feature, without findings.
    pub fn new(p: &Place, township_name: Option<&str>, matched: Option<MatchKind>) -> PlaceFeature {
        let properties = PlaceProperties {
            id: p.id.clone(),
            name: p.name.clone(),
            specific_term: p.specific_term.clone(),
            generic_term: p.generic_term.clone(),
            category: p.category.clone(),
            category_label: super::categories::category(&p.category).map(|c| c.label),
            division_code: p.division_code.as_ref().map(ToString::to_string),
            division_name: township_name.map(str::to_string),
            romanization: p.romanization.clone(),
            romanization_source: p.romanization_source.clone(),
            origin: p.origin.clone(),
            alternate_names: p.alternate_names.clone(),
            historic_names: p.historic_names.clone(),
            minority_form: p.minority_form.clone(),
            status: p.status,
            status_label: p.status.label_zh(),
            proposed_by: p.proposed_by.clone(),
            decided_by: p.decided_by.clone(),
            approving_body: p.approving_body.clone(),
            document_no: p.document_no.clone(),
            decided_on: p.decided_on.clone(),
            predecessor_id: p.predecessor_id.clone(),
            successor_id: p.successor_id.clone(),
            provenance: p.provenance,
            matched,
            version: p.version,
            updated_at: p.updated_at.clone(),
            attributes: p
                .attributes
                .iter()
                .filter(|(k, _)| !PlaceProperties::FIELDS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        PlaceFeature {
            kind: FeatureType::Feature,
            id: p.id.clone(),
            geometry: p.geometry.as_ref().map(geojson::Geometry::from),
            properties,
            findings: Vec::new(),
        }
    }
}
