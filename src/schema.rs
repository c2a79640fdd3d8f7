//! The OpenAPI schemas of the registry's closed vocabularies (facility kind and
//! status, place-name status and category, division level, provenance,
//! operator), implemented on the domain types themselves and built from their own
//! `ALL` lists, so the document cannot drift from what the parsers accept.
//! Documentation only: used by the derived schemas of the types `registry` and
//! `api` read and answer; no HTTP here.

use crate::domain::{DivisionLevel, FacilityKind, FacilityStatus, Operator, PlaceStatus, Provenance};
use std::borrow::Cow;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// A string schema whose values are the domain's own list.
pub fn string_enum(values: impl IntoIterator<Item = &'static str>, description: String) -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values)).description(Some(description)).into()
}

/// A closed vocabulary of the domain, whose schema is generated from the domain's
/// list of values. (The domain type serializes as `as_str`; a test checks it.)
macro_rules! vocabulary {
    ($ty:ty = $name:literal, $schema:expr) => {
        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                $schema
            }
        }

        impl ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

vocabulary!(
    FacilityKind = "FacilityKind",
    string_enum(
        FacilityKind::ALL.map(FacilityKind::as_str),
        format!(
            "设施类型 Facility kind: {}",
            FacilityKind::ALL.map(|k| format!("`{}` {}", k.as_str(), k.label_zh())).join(", ")
        )
    )
);
vocabulary!(
    FacilityStatus = "FacilityStatus",
    string_enum(
        FacilityStatus::ALL.map(FacilityStatus::as_str),
        "设施状态 Facility status: `open` 运营, `planned` 规划, `closed` 关闭 (records are never deleted).".into()
    )
);
vocabulary!(
    PlaceStatus = "PlaceStatus",
    string_enum(
        PlaceStatus::ALL.map(PlaceStatus::as_str),
        format!(
            "地名状态 Place-name status: {}",
            PlaceStatus::ALL.map(|s| format!("`{}` {}", s.as_str(), s.label_zh())).join(", ")
        )
    )
);
vocabulary!(
    DivisionLevel = "DivisionLevel",
    string_enum(
        DivisionLevel::ALL.map(DivisionLevel::as_str),
        "区划级别 Division level: `county` 县 (6-digit code), `township` 乡镇 (9 digits), \
         `village` 村/社区 (12 digits)."
            .into()
    )
);
vocabulary!(
    Provenance = "Provenance",
    string_enum(
        Provenance::ALL.map(Provenance::as_str),
        "来源 Provenance: `real` published open data, `synthetic` sample data made by the dataset \
         script (示例数据), `registered` entered through diming."
            .into()
    )
);

vocabulary!(
    Operator = "Operator",
    string_enum(
        Operator::ALL.map(Operator::as_str),
        format!(
            "运营方式 Operator: {}",
            Operator::ALL.map(|o| format!("`{}` {}", o.as_str(), o.label_zh())).join(", ")
        )
    )
);

vocabulary!(
    crate::registry::changes::ChangeLayer = "ChangeLayer",
    string_enum(
        crate::registry::changes::ChangeLayer::ALL.map(crate::registry::changes::ChangeLayer::as_str),
        "变更流图层 A layer of the change feed: `divisions` 区划, `settlements` 居民点, `facilities` 设施, \
         `places` 地名."
            .into()
    )
);

vocabulary!(
    crate::store::WebhookStatus = "WebhookStatus",
    string_enum(
        crate::store::WebhookStatus::ALL.map(crate::store::WebhookStatus::as_str),
        "订阅状态 A webhook subscription's state: `active` 正常, `failing` 投递持续失败 (deliveries have failed \
         for longer than the server's `--webhook-failing-after`; still retried), `disabled` 已停用."
            .into()
    )
);

/// The vocabularies by the names the parameter sets and request bodies use.
pub type FacilityKindSchema = FacilityKind;
pub type FacilityStatusSchema = FacilityStatus;
pub type PlaceStatusSchema = PlaceStatus;
pub type DivisionLevelSchema = DivisionLevel;
pub type OperatorSchema = Operator;
pub type ChangeLayerSchema = crate::registry::changes::ChangeLayer;
pub use crate::naming::categories::PlaceCategory as PlaceCategorySchema;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::naming::search::MatchKind;

    /// The vocabularies list `as_str`; the answers serialize the domain types themselves.
    fn serializes_as(value: impl serde::Serialize, text: &str) {
        assert_eq!(serde_json::to_value(value).ok(), Some(serde_json::Value::from(text)));
    }

    #[test]
    fn every_vocabulary_value_parses_as_the_domain_type_and_is_what_it_serializes_as() {
        for k in FacilityKind::ALL {
            assert_eq!(k.as_str().parse::<FacilityKind>(), Ok(k));
            serializes_as(k, k.as_str());
        }
        for s in FacilityStatus::ALL {
            assert_eq!(s.as_str().parse::<FacilityStatus>(), Ok(s));
            serializes_as(s, s.as_str());
        }
        for s in PlaceStatus::ALL {
            assert_eq!(s.as_str().parse::<PlaceStatus>(), Ok(s));
            serializes_as(s, s.as_str());
        }
        for l in DivisionLevel::ALL {
            assert_eq!(l.as_str().parse::<DivisionLevel>(), Ok(l));
            serializes_as(l, l.as_str());
        }
        for p in Provenance::ALL {
            assert_eq!(p.as_str().parse::<Provenance>(), Ok(p));
            serializes_as(p, p.as_str());
        }
        for o in Operator::ALL {
            assert_eq!(o.as_str().parse::<Operator>(), Ok(o));
        }
        for m in [MatchKind::Exact, MatchKind::Prefix, MatchKind::Substring, MatchKind::OneTypo] {
            serializes_as(m, m.as_str());
        }
    }
}
