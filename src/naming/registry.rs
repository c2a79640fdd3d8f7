//! The names in memory: every place record, its GeoJSON rendered once, and the
//! search index; rebuilt after every committed write, like the spatial snapshot.

use super::search::{MatchKind, SearchIndex};
use crate::domain::{Place, PlaceStatus};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

pub struct PlaceRegistry {
    places: Vec<Place>,
    by_id: HashMap<String, usize>,
    index: SearchIndex,
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
        PlaceRegistry { places, by_id, index }
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

/// A place as a GeoJSON Feature (geometry as stored: point, line or polygon).
pub fn place_feature(p: &Place, township_name: Option<&str>, matched: Option<MatchKind>) -> Value {
    let mut props = Map::new();
    props.insert("id".into(), json!(p.id));
    props.insert("name".into(), json!(p.name));
    props.insert("specific_term".into(), json!(p.specific_term));
    props.insert("generic_term".into(), json!(p.generic_term));
    props.insert("category".into(), json!(p.category));
    props.insert("category_label".into(), json!(super::categories::category(&p.category).map(|c| c.label)));
    props.insert("division_code".into(), json!(p.division_code.as_ref().map(|c| c.as_str())));
    props.insert("division_name".into(), json!(township_name));
    props.insert("romanization".into(), json!(p.romanization));
    props.insert("romanization_source".into(), json!(p.romanization_source));
    props.insert("origin".into(), json!(p.origin));
    props.insert("alternate_names".into(), json!(p.alternate_names));
    props.insert("historic_names".into(), json!(p.historic_names));
    props.insert("minority_form".into(), json!(p.minority_form));
    props.insert("status".into(), json!(p.status.as_str()));
    props.insert("status_label".into(), json!(p.status.label_zh()));
    props.insert("proposed_by".into(), json!(p.proposed_by));
    props.insert("decided_by".into(), json!(p.decided_by));
    props.insert("approving_body".into(), json!(p.approving_body));
    props.insert("document_no".into(), json!(p.document_no));
    props.insert("decided_on".into(), json!(p.decided_on));
    props.insert("predecessor_id".into(), json!(p.predecessor_id));
    props.insert("successor_id".into(), json!(p.successor_id));
    props.insert("provenance".into(), json!(p.provenance.as_str()));
    for (k, v) in &p.attributes {
        props.entry(k.clone()).or_insert_with(|| v.clone());
    }
    if let Some(m) = matched {
        props.insert("match".into(), json!(m.as_str()));
    }
    props.insert("version".into(), json!(p.version));
    props.insert("updated_at".into(), json!(p.updated_at));
    let geometry = p.geometry.as_ref().map(|g| serde_json::to_value(geojson::Geometry::from(g)).unwrap_or(Value::Null));
    json!({"type": "Feature", "id": p.id, "geometry": geometry, "properties": props})
}
