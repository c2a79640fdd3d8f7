//! The schemas of the registry's closed vocabularies (facility kind and status,
//! place-name status and category, division level, provenance, operator), built
//! from the domain's own `ALL` lists so the OpenAPI document cannot drift from
//! what the parsers accept. Documentation only: used by `#[schema(value_type = …)]`
//! on request and answer types in `registry` and `api`; no HTTP here.

use crate::domain::{DivisionLevel, FacilityKind, FacilityStatus, PlaceStatus, Provenance};
use std::borrow::Cow;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// A string schema whose values are the domain's own list.
pub fn string_enum(values: impl IntoIterator<Item = &'static str>, description: String) -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values)).description(Some(description)).into()
}

/// A closed vocabulary whose schema is generated from the domain's list of values.
macro_rules! vocabulary {
    ($(#[$doc:meta])* $ty:ident = $name:literal, $schema:expr) => {
        $(#[$doc])*
        #[derive(serde::Serialize)] // lets the doc-only schemas below use serde's attributes
        pub struct $ty;

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
    /// `kind` of a facility.
    FacilityKindSchema = "FacilityKind",
    string_enum(
        FacilityKind::ALL.map(FacilityKind::as_str),
        format!(
            "设施类型 Facility kind: {}",
            FacilityKind::ALL.map(|k| format!("`{}` {}", k.as_str(), k.label_zh())).join(", ")
        )
    )
);
vocabulary!(
    /// `status` of a facility.
    FacilityStatusSchema = "FacilityStatus",
    string_enum(
        FacilityStatus::ALL.map(FacilityStatus::as_str),
        "设施状态 Facility status: `open` 运营, `planned` 规划, `closed` 关闭 (records are never deleted).".into()
    )
);
vocabulary!(
    /// `status` of a place name.
    PlaceStatusSchema = "PlaceStatus",
    string_enum(
        PlaceStatus::ALL.map(PlaceStatus::as_str),
        format!(
            "地名状态 Place-name status: {}",
            PlaceStatus::ALL.map(|s| format!("`{}` {}", s.as_str(), s.label_zh())).join(", ")
        )
    )
);
vocabulary!(
    /// `level` of a division.
    DivisionLevelSchema = "DivisionLevel",
    string_enum(
        DivisionLevel::ALL.map(DivisionLevel::as_str),
        "区划级别 Division level: `county` 县 (6-digit code), `township` 乡镇 (9 digits), \
         `village` 村/社区 (12 digits)."
            .into()
    )
);
vocabulary!(
    /// Where a record comes from.
    ProvenanceSchema = "Provenance",
    string_enum(
        Provenance::ALL.map(Provenance::as_str),
        "来源 Provenance: `real` published open data, `synthetic` sample data made by the dataset \
         script (示例数据), `registered` entered through diming."
            .into()
    )
);
vocabulary!(
    /// `category` of a place name.
    PlaceCategorySchema = "PlaceCategory",
    string_enum(
        crate::naming::categories::CATEGORIES.iter().map(|c| c.slug),
        format!(
            "地名类别 Place-name category: {}",
            crate::naming::categories::CATEGORIES
                .iter()
                .map(|c| format!("`{}` {}", c.slug, c.label))
                .collect::<Vec<_>>()
                .join(", ")
        )
    )
);
vocabulary!(
    /// `operator` of a facility.
    OperatorSchema = "Operator",
    string_enum(
        crate::domain::Operator::ALL.map(crate::domain::Operator::as_str),
        format!(
            "运营方式 Operator: {}",
            crate::domain::Operator::ALL.map(|o| format!("`{}` {}", o.as_str(), o.label_zh())).join(", ")
        )
    )
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vocabulary_value_parses_as_the_domain_type() {
        for k in FacilityKind::ALL {
            assert_eq!(k.as_str().parse::<FacilityKind>(), Ok(k));
        }
        for s in FacilityStatus::ALL {
            assert_eq!(s.as_str().parse::<FacilityStatus>(), Ok(s));
        }
        for s in PlaceStatus::ALL {
            assert_eq!(s.as_str().parse::<PlaceStatus>(), Ok(s));
        }
        for l in DivisionLevel::ALL {
            assert_eq!(l.as_str().parse::<DivisionLevel>(), Ok(l));
        }
        for p in Provenance::ALL {
            assert_eq!(p.as_str().parse::<Provenance>(), Ok(p));
        }
        for o in crate::domain::Operator::ALL {
            assert_eq!(o.as_str().parse::<crate::domain::Operator>(), Ok(o));
        }
    }
}
