//! The four OGC collections, and their queryables (OGC API Features Part 3): every
//! scalar property a feature carries, with its type, and how each is read off a
//! record of the snapshot. A CQL2 `filter` may name any of them, and each scalar one
//! is also a `name=value` parameter of `items`.

use crate::domain::{DivisionLevel, FacilityKind, FacilityStatus, Operator, Place, PlaceStatus, Provenance};
use crate::spatial::filter::{Feature, Queryable, Scalar, Shape, Type};
use crate::spatial::{DivisionEntry, FacilityEntry, SettlementEntry, Snapshot};
use std::sync::LazyLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Collection {
    Divisions,
    Facilities,
    Settlements,
    Places,
}

impl Collection {
    pub(crate) const ALL: [Collection; 4] =
        [Collection::Divisions, Collection::Facilities, Collection::Settlements, Collection::Places];

    pub(crate) fn id(self) -> &'static str {
        match self {
            Collection::Divisions => "divisions",
            Collection::Facilities => "facilities",
            Collection::Settlements => "settlements",
            Collection::Places => "places",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.id() == s)
    }

    pub(crate) fn title(self) -> &'static str {
        match self {
            Collection::Divisions => "行政区划（县、乡镇）Administrative divisions (county and townships)",
            Collection::Facilities => "民政服务设施 Civil-affairs service facilities",
            Collection::Settlements => "居民点（村、社区）Settlements (villages and communities)",
            Collection::Places => "标准地名 Standard place names",
        }
    }

    pub(crate) fn description(self) -> &'static str {
        match self {
            Collection::Divisions => {
                "县级与乡级行政区划面（MultiPolygon）。代码与名称为国家统计局 2023 年区划代码（provenance）；\
                 每条记录的边界来源见 geometry_provenance（synthetic 为合成示例数据）。\
                 County and township polygons; codes and names are real (NBS 2023), and each polygon says where it comes from in geometry_provenance."
            }
            Collection::Facilities => {
                "社区服务、养老、殡葬等民政服务设施（Point），含规划与已关闭设施（status）。合成数据（provenance: synthetic）。\
                 Community service centres, care homes, cemeteries and other facilities, all statuses."
            }
            Collection::Settlements => {
                "村级单位驻地点（Point）及人口，为覆盖分析的需求点。代码与名称真实；位置与人口的来源见 \
                 location_provenance、population_provenance（synthetic 为合成示例数据）。\
                 Village-level units as demand points; codes and names real, points and populations labelled by location_provenance and population_provenance."
            }
            Collection::Places => {
                "标准地名及其审批状态；几何类型混合（点、线、面，或无几何）。\
                 Standard place names with their approval status; geometry types are mixed (point, line, polygon or none)."
            }
        }
    }

    /// A hint for GIS clients; `places` mixes types and says so.
    pub(crate) fn geometry_type(self) -> &'static str {
        match self {
            Collection::Divisions => "MultiPolygon",
            Collection::Facilities | Collection::Settlements => "Point",
            Collection::Places => "Geometry",
        }
    }
}

/// A record of one of the collections, as a filter reads it.
#[derive(Clone, Copy)]
pub(crate) enum Record<'a> {
    Division(&'a DivisionEntry),
    Facility(&'a FacilityEntry),
    Settlement(&'a SettlementEntry),
    Place(&'a Place),
}

fn provenance(name: &'static str, title: &'static str) -> Queryable {
    Queryable::one_of(name, title, Provenance::ALL.map(Provenance::as_str))
}

static DIVISIONS: LazyLock<Vec<Queryable>> = LazyLock::new(|| {
    vec![
        Queryable::new("code", Type::String, "区划代码 Division code"),
        Queryable::one_of("level", "级别 Level", [DivisionLevel::County.as_str(), DivisionLevel::Township.as_str()]),
        Queryable::new("name", Type::String, "名称 Name"),
        Queryable::new("parent_code", Type::String, "上级区划代码 Parent code"),
        Queryable::new("pinyin", Type::String, "罗马字母拼写 Romanization"),
        Queryable::new("is_xpcc", Type::Boolean, "兵团单位 XPCC unit"),
        provenance("provenance", "代码与名称来源 Provenance of code and name"),
        provenance("geometry_provenance", "边界来源 Provenance of the outline"),
        Queryable::new("valid_from", Type::Date, "生效日期 In force from"),
        Queryable::new("valid_to", Type::Date, "失效日期 In force until"),
        Queryable::new("area_km2", Type::Number, "面积（平方千米，GRS80）Geodesic area, km²"),
        Queryable::new("version", Type::Integer, "版本 Version"),
        Queryable::new("geometry", Type::Geometry("geometry-multipolygon"), "边界 Outline"),
    ]
});

static FACILITIES: LazyLock<Vec<Queryable>> = LazyLock::new(|| {
    vec![
        Queryable::new("id", Type::String, "编号 Id"),
        Queryable::new("name", Type::String, "名称 Name"),
        Queryable::one_of("kind", "类型 Kind", FacilityKind::ALL.map(FacilityKind::as_str)),
        Queryable::one_of("kind_label", "类型（中文）Kind in Chinese", FacilityKind::ALL.map(FacilityKind::label_zh)),
        Queryable::new("township_code", Type::String, "乡镇代码 Township code"),
        Queryable::new("township_name", Type::String, "乡镇 Township"),
        Queryable::new("capacity_beds", Type::Integer, "床位 Beds"),
        Queryable::one_of("operator", "举办主体 Operator", Operator::ALL.map(Operator::as_str)),
        Queryable::one_of("status", "状态 Status", FacilityStatus::ALL.map(FacilityStatus::as_str)),
        provenance("provenance", "来源 Provenance"),
        Queryable::new("updated_at", Type::Timestamp, "更新时间 Last change"),
        Queryable::new("version", Type::Integer, "版本 Version"),
        Queryable::new("address", Type::String, "地址 Address"),
        Queryable::new("opened_on", Type::Date, "开业日期 Opened on"),
        Queryable::new("closed_on", Type::Date, "关闭日期 Closed on"),
        Queryable::new("close_reason", Type::String, "关闭原因 Reason for closing"),
        Queryable::new("nursing_beds", Type::Integer, "护理型床位 Nursing beds"),
        Queryable::new("plots_total", Type::Integer, "墓位总数 Plots"),
        Queryable::new("plots_free", Type::Integer, "可用墓位 Free plots"),
        Queryable::one_of("cemetery_type", "公墓类型 Cemetery type", ["public_welfare", "commercial"]),
        Queryable::one_of("facility_level", "设施层级 Level", ["centre", "station"]),
        Queryable::new("medical_care", Type::Boolean, "医养结合 Medical care"),
        Queryable::new("geometry", Type::Geometry("geometry-point"), "位置 Location"),
    ]
});

static SETTLEMENTS: LazyLock<Vec<Queryable>> = LazyLock::new(|| {
    vec![
        Queryable::new("code", Type::String, "村级代码 Code"),
        Queryable::new("name", Type::String, "名称 Official name"),
        Queryable::new("short_name", Type::String, "简称 Name"),
        Queryable::new("township_code", Type::String, "乡镇代码 Township code"),
        Queryable::new("township_name", Type::String, "乡镇 Township"),
        Queryable::new("village_kind", Type::String, "村级单位类型 Kind of unit"),
        Queryable::new("population", Type::Integer, "常住人口 Population"),
        Queryable::new("population_60plus", Type::Integer, "60 岁以上人口 Aged 60 and over"),
        Queryable::new("is_xpcc", Type::Boolean, "兵团单位 XPCC unit"),
        provenance("provenance", "代码与名称来源 Provenance of code and name"),
        provenance("location_provenance", "位置来源 Provenance of the point"),
        provenance("population_provenance", "人口来源 Provenance of the population"),
        Queryable::new("version", Type::Integer, "版本 Version"),
        Queryable::new("geometry", Type::Geometry("geometry-point"), "驻地 Seat"),
    ]
});

static PLACES: LazyLock<Vec<Queryable>> = LazyLock::new(|| {
    vec![
        Queryable::new("id", Type::String, "编号 Id"),
        Queryable::new("name", Type::String, "标准名称 Standard name"),
        Queryable::new("specific_term", Type::String, "专名 Specific term"),
        Queryable::new("generic_term", Type::String, "通名 Generic term"),
        Queryable::one_of("category", "类别 Category", crate::naming::categories::CATEGORIES.iter().map(|c| c.slug)),
        Queryable::new("division_code", Type::String, "所在区划代码 Division code"),
        Queryable::new("romanization", Type::String, "罗马字母拼写 Romanization"),
        Queryable::one_of("romanization_source", "拼写来源 Romanization source", ["suggested", "officer"]),
        Queryable::new("origin", Type::String, "含义与来历 Meaning and origin"),
        Queryable::one_of("status", "状态 Status", PlaceStatus::ALL.map(PlaceStatus::as_str)),
        Queryable::new("proposed_by", Type::String, "申报人 Proposed by"),
        Queryable::new("decided_by", Type::String, "审批人 Decided by"),
        Queryable::new("approving_body", Type::String, "批准机关 Approving body"),
        Queryable::new("document_no", Type::String, "批准文号 Document number"),
        Queryable::new("decided_on", Type::Date, "批准日期 Decided on"),
        Queryable::new("predecessor_id", Type::String, "原名称 Predecessor"),
        Queryable::new("successor_id", Type::String, "新名称 Successor"),
        provenance("provenance", "来源 Provenance"),
        Queryable::new("version", Type::Integer, "版本 Version"),
        Queryable::new("updated_at", Type::Timestamp, "更新时间 Last change"),
        Queryable::new("geometry", Type::Geometry("geometry-any"), "几何 Geometry"),
    ]
});

/// The queryables of collection `c`.
pub(crate) fn queryables(c: Collection) -> &'static [Queryable] {
    match c {
        Collection::Divisions => &DIVISIONS,
        Collection::Facilities => &FACILITIES,
        Collection::Settlements => &SETTLEMENTS,
        Collection::Places => &PLACES,
    }
}

/// A record with the snapshot it is read from (for the names of townships).
pub(crate) struct Bound<'a> {
    pub record: Record<'a>,
    pub shape: Shape<'a>,
    pub snap: &'a Snapshot,
}

impl Bound<'_> {
    fn division_name(&self, code: &str) -> Scalar<'_> {
        Scalar::opt_str(self.snap.division(code).map(|d| d.division.name.as_str()))
    }
}

impl Feature for Bound<'_> {
    fn shape(&self) -> Shape<'_> {
        self.shape
    }

    fn property(&self, name: &str) -> Scalar<'_> {
        match self.record {
            Record::Division(e) => {
                let d = &e.division;
                match name {
                    "code" => Scalar::Str(d.code.as_str()),
                    "level" => Scalar::Str(d.level.as_str()),
                    "name" => Scalar::Str(&d.name),
                    "parent_code" => Scalar::opt_str(d.parent_code.as_ref().map(|c| c.as_str())),
                    "pinyin" => Scalar::Str(&d.pinyin),
                    "is_xpcc" => Scalar::Bool(d.is_xpcc),
                    "provenance" => Scalar::Str(d.provenance.as_str()),
                    "geometry_provenance" => Scalar::opt_str(d.geometry_provenance.map(Provenance::as_str)),
                    "valid_from" => Scalar::Str(&d.valid_from),
                    "valid_to" => Scalar::opt_str(d.valid_to.as_deref()),
                    // As the feature shows it: to the square metre.
                    "area_km2" => Scalar::opt_num(e.area_km2.map(|a| (a * 1000.0).round() / 1000.0)),
                    "version" => Scalar::Num(d.version as f64),
                    _ => Scalar::Null,
                }
            }
            Record::Facility(e) => {
                let f = &e.facility;
                match name {
                    "id" => Scalar::Str(&f.id),
                    "name" => Scalar::Str(&f.name),
                    "kind" => Scalar::Str(f.kind.as_str()),
                    "kind_label" => Scalar::Str(f.kind.label_zh()),
                    "township_code" => Scalar::Str(f.township_code.as_str()),
                    "township_name" => self.division_name(f.township_code.as_str()),
                    "capacity_beds" => Scalar::opt_num(f.capacity_beds),
                    "operator" => Scalar::opt_str(f.operator.as_deref()),
                    "status" => Scalar::Str(f.status.as_str()),
                    "provenance" => Scalar::Str(f.provenance.as_str()),
                    "updated_at" => Scalar::Str(&f.updated_at),
                    "version" => Scalar::Num(f.version as f64),
                    other => Scalar::of_json(f.attributes.get(other)),
                }
            }
            Record::Settlement(e) => {
                let s = &e.settlement;
                match name {
                    "code" => Scalar::Str(s.code.as_str()),
                    "name" => Scalar::Str(&s.name),
                    "short_name" => Scalar::Str(&s.short_name),
                    "township_code" => Scalar::Str(s.township_code.as_str()),
                    "township_name" => self.division_name(s.township_code.as_str()),
                    "village_kind" => Scalar::Str(&s.village_kind),
                    "population" => Scalar::opt_num(s.population.map(|n| n as f64)),
                    "population_60plus" => Scalar::opt_num(s.population_60plus.map(|n| n as f64)),
                    "is_xpcc" => Scalar::Bool(s.is_xpcc),
                    "provenance" => Scalar::Str(s.provenance.as_str()),
                    "location_provenance" => Scalar::Str(s.location_provenance.as_str()),
                    "population_provenance" => Scalar::opt_str(s.population_provenance.map(Provenance::as_str)),
                    "version" => Scalar::Num(s.version as f64),
                    _ => Scalar::Null,
                }
            }
            Record::Place(p) => match name {
                "id" => Scalar::Str(&p.id),
                "name" => Scalar::Str(&p.name),
                "specific_term" => Scalar::Str(&p.specific_term),
                "generic_term" => Scalar::Str(&p.generic_term),
                "category" => Scalar::Str(&p.category),
                "division_code" => Scalar::opt_str(p.division_code.as_ref().map(|c| c.as_str())),
                "romanization" => Scalar::Str(&p.romanization),
                "romanization_source" => Scalar::Str(&p.romanization_source),
                "origin" => Scalar::opt_str(p.origin.as_deref()),
                "status" => Scalar::Str(p.status.as_str()),
                "proposed_by" => Scalar::opt_str(p.proposed_by.as_deref()),
                "decided_by" => Scalar::opt_str(p.decided_by.as_deref()),
                "approving_body" => Scalar::opt_str(p.approving_body.as_deref()),
                "document_no" => Scalar::opt_str(p.document_no.as_deref()),
                "decided_on" => Scalar::opt_str(p.decided_on.as_deref()),
                "predecessor_id" => Scalar::opt_str(p.predecessor_id.as_deref()),
                "successor_id" => Scalar::opt_str(p.successor_id.as_deref()),
                "provenance" => Scalar::Str(p.provenance.as_str()),
                "version" => Scalar::Num(p.version as f64),
                "updated_at" => Scalar::Str(&p.updated_at),
                _ => Scalar::Null,
            },
        }
    }
}
