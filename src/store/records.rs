//! Backend-neutral pieces: the dataset bundle and the JSON form of a record that
//! history and audit keep.

use crate::domain::{Division, Facility, Place, Settlement};
use serde_json::{json, Value};

/// A complete registry to load into an empty database.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// Names the dataset and its content, e.g. `manas-nbs2023@1a2b3c4d`.
    pub id: String,
    pub divisions: Vec<Division>,
    pub settlements: Vec<Settlement>,
    pub facilities: Vec<Facility>,
    /// Standard names to seed the naming registry with.
    pub places: Vec<Place>,
}

/// The county-level unit a record lies in, as the change feed files it: the first
/// six digits of a division's or settlement's code, of a facility's township, of a
/// name's division; `None` for other entities and for names outside any division.
pub fn county_of(entity: &str, id: &str, record: &Value) -> Option<String> {
    let code = match entity {
        "division" | "settlement" => Some(id),
        "facility" => record.get("township_code").and_then(Value::as_str),
        "place" => record.get("division_code").and_then(Value::as_str),
        _ => None,
    }?;
    code.get(..6).filter(|c| c.bytes().all(|b| b.is_ascii_digit())).map(str::to_string)
}

pub fn division_json(d: &Division) -> Value {
    json!({
        "code": d.code.as_str(), "level": d.level.as_str(), "name": d.name, "pinyin": d.pinyin,
        "parent_code": d.parent_code.as_ref().map(|c| c.as_str()),
        "geometry": d.geometry.as_ref().map(|g| serde_json::to_value(geojson::Geometry::from(g)).unwrap_or(Value::Null)),
        "is_xpcc": d.is_xpcc, "provenance": d.provenance.as_str(),
        "geometry_provenance": d.geometry_provenance.map(|p| p.as_str()),
        "valid_from": d.valid_from, "valid_to": d.valid_to, "properties": d.properties, "version": d.version,
    })
}

pub fn settlement_json(s: &Settlement) -> Value {
    json!({
        "code": s.code.as_str(), "name": s.name, "short_name": s.short_name,
        "township_code": s.township_code.as_str(), "village_kind": s.village_kind,
        "lon": s.location.lon(), "lat": s.location.lat(),
        "population": s.population, "population_60plus": s.population_60plus,
        "is_xpcc": s.is_xpcc, "provenance": s.provenance.as_str(),
        "location_provenance": s.location_provenance.as_str(),
        "population_provenance": s.population_provenance.map(|p| p.as_str()), "version": s.version,
    })
}

pub fn facility_json(f: &Facility) -> Value {
    json!({
        "id": f.id, "name": f.name, "kind": f.kind.as_str(), "township_code": f.township_code.as_str(),
        "lon": f.location.lon(), "lat": f.location.lat(), "status": f.status.as_str(),
        "capacity_beds": f.capacity_beds, "operator": f.operator, "attributes": f.attributes,
        "provenance": f.provenance.as_str(), "version": f.version, "updated_at": f.updated_at,
    })
}

pub fn place_json(p: &Place) -> Value {
    json!({
        "id": p.id, "name": p.name, "specific_term": p.specific_term, "generic_term": p.generic_term,
        "category": p.category, "division_code": p.division_code.as_ref().map(|c| c.as_str()),
        "geometry": p.geometry.as_ref().map(|g| serde_json::to_value(geojson::Geometry::from(g)).unwrap_or(Value::Null)),
        "romanization": p.romanization, "romanization_source": p.romanization_source, "origin": p.origin,
        "alternate_names": p.alternate_names, "historic_names": p.historic_names, "minority_form": p.minority_form,
        "status": p.status.as_str(), "proposed_by": p.proposed_by, "decided_by": p.decided_by,
        "approving_body": p.approving_body, "document_no": p.document_no, "decided_on": p.decided_on,
        "predecessor_id": p.predecessor_id, "successor_id": p.successor_id,
        "provenance": p.provenance.as_str(), "attributes": p.attributes, "version": p.version, "updated_at": p.updated_at,
    })
}
