//! The GeoJSON Features the registry answers for its layers: the envelope, and the
//! properties of a division, a settlement and a facility.
//!
//! Owns: the one place these shapes are written down. The snapshot serializes each
//! record through these types once, when it is built (requests copy the rendered
//! text); the OpenAPI document derives its schemas from the same types (`ToSchema`
//! is a documentation derive), so the document cannot describe another shape.
//! Must not: know about HTTP.

use crate::domain::{Division, DivisionLevel, Facility, FacilityKind, FacilityStatus, Provenance, Settlement};
use serde::Serialize;
use serde_json::{Map, Value};
use std::borrow::Cow;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Ref, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// The `type` of a GeoJSON Feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub enum FeatureType {
    Feature,
}

/// The `type` of a GeoJSON FeatureCollection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub enum FeatureCollectionType {
    FeatureCollection,
}

/// The `type` of a GeoJSON Point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub enum PointType {
    Point,
}

/// A GeoJSON Point: `[lon, lat]` in CGCS2000 (EPSG:4490).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PointGeometry {
    #[serde(rename = "type")]
    pub kind: PointType,
    #[schema(min_items = 2, max_items = 2, example = json!([86.21, 44.3]))]
    pub coordinates: [f64; 2],
}

impl PointGeometry {
    pub fn new(lon: f64, lat: f64) -> Self {
        PointGeometry { kind: PointType::Point, coordinates: [lon, lat] }
    }
}

/// The schema of any GeoJSON geometry (`geojson::Geometry` as it serializes): the
/// document's `Geometry` component. `api::openapi::refine` writes it out in full
/// (each RFC 7946 type with its depth of positions); this is its outline.
pub struct Geometry;

impl PartialSchema for Geometry {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .property("type", ObjectBuilder::new().schema_type(Type::String))
            .property("coordinates", ObjectBuilder::new().schema_type(Type::Array))
            .required("type")
            .required("coordinates")
            .description(Some("A GeoJSON geometry (RFC 7946); positions are `[lon, lat]` in CGCS2000 (EPSG:4490)."))
            .into()
    }
}

impl ToSchema for Geometry {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Geometry")
    }
}

/// `operator` of a facility, or null: the `Operator` vocabulary of the document
/// (its values are the facility write's own list, which this layer does not see).
fn nullable_operator() -> Schema {
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .item(Ref::from_schema_name("Operator"))
        .into()
}

/// The JSON text of a value that cannot fail to serialize (string keys, plain data).
fn to_json(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| String::from("null"))
}

/// Source properties that do not shadow a field of the record.
fn extra(source: &Map<String, Value>, fields: &[&str]) -> Map<String, Value> {
    source.iter().filter(|(k, _)| !fields.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// Properties of a division Feature; further properties of the source file follow.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DivisionProperties {
    /// Official code at its level: 6-digit county `652324`, 9-digit township
    /// `652324100`, 12-digit village `652324100201`.
    #[schema(example = "652324101")]
    pub code: String,
    pub level: DivisionLevel,
    #[schema(example = "乐土驿镇")]
    pub name: String,
    pub parent_code: Option<String>,
    /// Romanization (罗马字母拼写), e.g. `Letuyi Zhen`.
    pub pinyin: String,
    /// An XPCC (兵团) unit.
    pub is_xpcc: bool,
    /// Where the code and name come from (`real`: NBS 2023).
    pub provenance: Provenance,
    /// Where the geometry comes from; null when there is no geometry. A synthetic
    /// geometry is sample data (示例数据), even where the name is real.
    pub geometry_provenance: Option<Provenance>,
    pub valid_from: String,
    pub valid_to: Option<String>,
    /// Geodesic area on the GRS80 ellipsoid, km², to 0.001 (polygons only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area_km2: Option<f64>,
    pub version: i64,
    /// The source's further properties (e.g. `parent_code_outside_registry`).
    #[serde(flatten)]
    pub more: Map<String, Value>,
}

impl DivisionProperties {
    /// The names of the fields above, which a source property never shadows.
    pub const FIELDS: [&'static str; 12] = [
        "code",
        "level",
        "name",
        "parent_code",
        "pinyin",
        "is_xpcc",
        "provenance",
        "geometry_provenance",
        "valid_from",
        "valid_to",
        "area_km2",
        "version",
    ];

    pub fn new(d: &Division, area_km2: Option<f64>) -> Self {
        DivisionProperties {
            code: d.code.to_string(),
            level: d.level,
            name: d.name.clone(),
            parent_code: d.parent_code.as_ref().map(ToString::to_string),
            pinyin: d.pinyin.clone(),
            is_xpcc: d.is_xpcc,
            provenance: d.provenance,
            geometry_provenance: d.geometry_provenance,
            valid_from: d.valid_from.clone(),
            valid_to: d.valid_to.clone(),
            area_km2: area_km2.map(|a| (a * 1000.0).round() / 1000.0),
            version: d.version,
            more: extra(&d.properties, &Self::FIELDS),
        }
    }
}

/// A division: MultiPolygon for county and townships (null where unknown), Point for
/// village seats.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DivisionFeature {
    #[serde(rename = "type")]
    pub kind: FeatureType,
    /// The division code.
    pub id: String,
    #[schema(value_type = Option<Geometry>)]
    pub geometry: Option<geojson::Geometry>,
    pub properties: DivisionProperties,
}

impl DivisionFeature {
    pub fn new(d: &Division, area_km2: Option<f64>) -> Self {
        DivisionFeature {
            kind: FeatureType::Feature,
            id: d.code.to_string(),
            geometry: d.geometry.as_ref().map(geojson::Geometry::from),
            properties: DivisionProperties::new(d, area_km2),
        }
    }

    pub fn to_json(&self) -> String {
        to_json(self)
    }
}

/// Properties of a settlement (a village-level unit: 村, 社区).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SettlementProperties {
    /// 12-digit village-level code.
    #[schema(example = "652324101201")]
    pub code: String,
    pub name: String,
    pub short_name: String,
    pub township_code: String,
    pub township_name: Option<String>,
    /// `村` or `社区` style of unit, as the registry records it.
    pub village_kind: String,
    /// Resident population; null where unknown.
    pub population: Option<u64>,
    /// Residents aged 60 and over; null where unknown.
    pub population_60plus: Option<u64>,
    pub is_xpcc: bool,
    /// Where the code and name come from (`real`: NBS 2023).
    pub provenance: Provenance,
    /// Where the point comes from.
    pub location_provenance: Provenance,
    /// Where the population figures come from; null when there are none.
    pub population_provenance: Option<Provenance>,
    pub version: i64,
}

impl SettlementProperties {
    /// `township_name`: the name of the settlement's township, where the registry has it.
    pub fn new(s: &Settlement, township_name: Option<&str>) -> Self {
        SettlementProperties {
            code: s.code.to_string(),
            name: s.name.clone(),
            short_name: s.short_name.clone(),
            township_code: s.township_code.to_string(),
            township_name: township_name.map(str::to_string),
            village_kind: s.village_kind.clone(),
            population: s.population,
            population_60plus: s.population_60plus,
            is_xpcc: s.is_xpcc,
            provenance: s.provenance,
            location_provenance: s.location_provenance,
            population_provenance: s.population_provenance,
            version: s.version,
        }
    }
}

/// A settlement as a Point Feature.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SettlementFeature {
    #[serde(rename = "type")]
    pub kind: FeatureType,
    /// The settlement code.
    pub id: String,
    pub geometry: PointGeometry,
    pub properties: SettlementProperties,
}

impl SettlementFeature {
    pub fn new(s: &Settlement, township_name: Option<&str>) -> Self {
        SettlementFeature {
            kind: FeatureType::Feature,
            id: s.code.to_string(),
            geometry: PointGeometry::new(s.location.lon(), s.location.lat()),
            properties: SettlementProperties::new(s, township_name),
        }
    }

    pub fn to_json(&self) -> String {
        to_json(self)
    }
}

/// Properties of a facility; its kind-specific attributes (`address`, `opened_on`,
/// `nursing_beds`, `plots_total`, `plots_free`, `cemetery_type`, `facility_level`,
/// `medical_care`, `closed_on`, `close_reason`, …) follow as further properties.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FacilityProperties {
    // First, so that it can be spliced into the rendered text (`FacilityFeature::split`).
    /// Nearest and within only: geodesic distance from the query point, metres
    /// (GRS80, rounded to the millimetre).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<f64>,
    #[schema(example = "f0001")]
    pub id: String,
    pub name: String,
    pub kind: FacilityKind,
    /// The kind in Chinese, e.g. 养老机构.
    pub kind_label: &'static str,
    pub township_code: String,
    pub township_name: Option<String>,
    pub capacity_beds: Option<u32>,
    #[schema(schema_with = nullable_operator)]
    pub operator: Option<String>,
    pub status: FacilityStatus,
    pub provenance: Provenance,
    /// RFC 3339 time of the last change.
    pub updated_at: String,
    /// The record's version, also served as its `ETag`.
    pub version: i64,
    /// The kind-specific attributes.
    #[serde(flatten)]
    pub attributes: Map<String, Value>,
}

impl FacilityProperties {
    /// The names of the fields above, which an attribute never shadows.
    pub const FIELDS: [&'static str; 13] = [
        "distance_m",
        "id",
        "name",
        "kind",
        "kind_label",
        "township_code",
        "township_name",
        "capacity_beds",
        "operator",
        "status",
        "provenance",
        "updated_at",
        "version",
    ];

    pub fn new(f: &Facility, township_name: Option<&str>) -> Self {
        FacilityProperties {
            distance_m: None,
            id: f.id.clone(),
            name: f.name.clone(),
            kind: f.kind,
            kind_label: f.kind.label_zh(),
            township_code: f.township_code.to_string(),
            township_name: township_name.map(str::to_string),
            capacity_beds: f.capacity_beds,
            operator: f.operator.clone(),
            status: f.status,
            provenance: f.provenance,
            updated_at: f.updated_at.clone(),
            version: f.version,
            attributes: extra(&f.attributes, &Self::FIELDS),
        }
    }
}

/// A facility as a Point Feature.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FacilityFeature {
    #[serde(rename = "type")]
    pub kind: FeatureType,
    /// The facility id.
    pub id: String,
    pub geometry: PointGeometry,
    pub properties: FacilityProperties,
}

/// A Feature's envelope with empty properties: the text up to where they open.
#[derive(Serialize)]
struct Envelope<'a> {
    #[serde(rename = "type")]
    kind: FeatureType,
    id: &'a str,
    geometry: &'a PointGeometry,
    properties: Empty,
}

#[derive(Serialize)]
struct Empty {}

impl FacilityFeature {
    pub fn new(f: &Facility, township_name: Option<&str>) -> Self {
        FacilityFeature {
            kind: FeatureType::Feature,
            id: f.id.clone(),
            geometry: PointGeometry::new(f.location.lon(), f.location.lat()),
            properties: FacilityProperties::new(f, township_name),
        }
    }

    /// The rendered Feature cut where its properties open: `head` ends with
    /// `"properties":{`, `tail` is the rest. `head + tail` is the Feature; `head +
    /// "distance_m":D, + tail` is the Feature with `distance_m = D` (the field comes
    /// first), which is how nearest and within answer without serializing again.
    pub fn split(&self) -> (String, String) {
        let envelope = Envelope { kind: self.kind, id: &self.id, geometry: &self.geometry, properties: Empty {} };
        let mut head = to_json(&envelope);
        // `…"properties":{}}`: keep the brace that opens the properties.
        head.truncate(head.len().saturating_sub(2));
        let properties = to_json(&self.properties);
        let tail = format!("{}}}", properties.strip_prefix('{').unwrap_or(&properties));
        (head, tail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{DivisionCode, LonLat};

    fn facility() -> Facility {
        let mut attributes = Map::new();
        attributes.insert("nursing_beds".into(), Value::from(40));
        attributes.insert("version".into(), Value::from("shadowed"));
        Facility {
            id: "f0001".into(),
            name: "乐土驿镇敬老院".into(),
            kind: FacilityKind::CareHome,
            township_code: "652324101".parse::<DivisionCode>().expect("code"),
            location: LonLat::try_from([86.23, 43.93]).expect("point"),
            status: FacilityStatus::Open,
            capacity_beds: Some(60),
            operator: Some("public".into()),
            attributes,
            provenance: Provenance::Synthetic,
            version: 3,
            updated_at: "2024-05-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn a_facility_split_at_its_properties_is_the_feature_with_or_without_a_distance() {
        let mut f = FacilityFeature::new(&facility(), Some("乐土驿镇"));
        let (head, tail) = f.split();
        assert!(head.ends_with("\"properties\":{"), "{head}");
        assert_eq!(format!("{head}{tail}"), to_json(&f));
        f.properties.distance_m = Some(1234.567);
        assert_eq!(format!("{head}\"distance_m\":1234.567,{tail}"), to_json(&f));
    }

    #[test]
    fn an_attribute_never_shadows_a_field_and_the_field_lists_name_every_field() {
        let f = FacilityProperties { distance_m: Some(1.0), ..FacilityProperties::new(&facility(), None) };
        let v = serde_json::to_value(&f).expect("json");
        assert_eq!(v["version"], 3, "the record's version, not the attribute");
        assert_eq!(v["nursing_beds"], 40);
        let mut keys: Vec<&str> = v.as_object().expect("object").keys().map(String::as_str).collect();
        keys.retain(|k| *k != "nursing_beds");
        let mut fields = FacilityProperties::FIELDS.to_vec();
        keys.sort_unstable();
        fields.sort_unstable();
        assert_eq!(keys, fields);
    }

    #[test]
    fn the_division_field_list_names_every_field() {
        let d = Division {
            code: "652324101".parse().expect("code"),
            level: DivisionLevel::Township,
            name: "乐土驿镇".into(),
            pinyin: "Letuyi Zhen".into(),
            parent_code: Some("652324".parse().expect("code")),
            geometry: None,
            is_xpcc: false,
            provenance: Provenance::Real,
            geometry_provenance: None,
            valid_from: "2023-01-01".into(),
            valid_to: None,
            properties: Map::from_iter([("level".to_string(), Value::from("x")), ("extra".into(), Value::from(1))]),
            version: 1,
        };
        let v = serde_json::to_value(DivisionProperties::new(&d, Some(12.34567))).expect("json");
        assert_eq!(
            (v["level"].as_str(), v["area_km2"].as_f64(), v["extra"].as_i64()),
            (Some("township"), Some(12.346), Some(1))
        );
        let mut keys: Vec<&str> =
            v.as_object().expect("object").keys().map(String::as_str).filter(|k| *k != "extra").collect();
        let mut fields = DivisionProperties::FIELDS.to_vec();
        keys.sort_unstable();
        fields.sort_unstable();
        assert_eq!(keys, fields);
    }
}
