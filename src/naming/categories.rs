//! Place-name categories: slugs for the national place-name classification
//! (GB/T 18521 地名分类与类别代码编制规则, simplified to what a county keeps), the
//! scope in which a name must be unique (2022 Regulations on Place Names, art. 9),
//! and the generic terms (通名) that fit each.

use serde::Serialize;
use std::borrow::Cow;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// Where duplicates and homophones are looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = UniquenessScope)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// The whole province (codes sharing the first 2 digits).
    Province,
    /// The county (first 6 digits).
    County,
    /// The township (first 9 digits): e.g. street names within a town.
    Township,
}

impl Scope {
    pub fn digits(self) -> usize {
        match self {
            Scope::Province => 2,
            Scope::County => 6,
            Scope::Township => 9,
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Scope::Province => "本省（区）",
            Scope::County => "本县",
            Scope::Township => "本乡镇",
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Category {
    #[schema(value_type = PlaceCategory)]
    pub slug: &'static str,
    pub label: &'static str,
    /// Where the name must be unique.
    pub scope: Scope,
    /// Generic terms (通名) that fit, longest first when matched.
    #[schema(value_type = Vec<String>)]
    pub generic_terms: &'static [&'static str],
}

/// The slugs of `CATEGORIES` as a closed vocabulary: the `PlaceCategory` schema of
/// the OpenAPI document (a place's `category` is a slug, kept as a string).
pub struct PlaceCategory;

impl PartialSchema for PlaceCategory {
    fn schema() -> RefOr<Schema> {
        let labels: Vec<String> = CATEGORIES.iter().map(|c| format!("`{}` {}", c.slug, c.label)).collect();
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(CATEGORIES.iter().map(|c| c.slug)))
            .description(Some(format!("地名类别 Place-name category: {}", labels.join(", "))))
            .into()
    }
}

impl ToSchema for PlaceCategory {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("PlaceCategory")
    }
}

pub const CATEGORIES: &[Category] = &[
    Category {
        slug: "county", label: "县级行政区", scope: Scope::Province, generic_terms: &["县", "市", "区", "旗"]
    },
    Category {
        slug: "township",
        label: "乡级行政区及类似单位",
        scope: Scope::Province,
        generic_terms: &["民族乡", "街道", "镇", "乡", "农场", "林场", "工业区", "试验站", "团"],
    },
    Category {
        slug: "village",
        label: "村（居）民委员会",
        scope: Scope::County,
        generic_terms: &["村民委员会", "居民委员会", "村民委会", "村委会", "生活区", "社区", "村"],
    },
    Category {
        slug: "settlement",
        label: "居民点（自然村、片区）",
        scope: Scope::County,
        generic_terms: &[
            "庄子", "新村", "村", "庄", "屯", "湾", "营", "堡", "寨", "户", "地", "滩", "渠", "工", "片区", "小区",
            "家园",
        ],
    },
    Category {
        slug: "street",
        label: "道路街巷",
        scope: Scope::Township,
        generic_terms: &["大道", "大街", "胡同", "路", "街", "巷", "道"],
    },
    Category {
        slug: "river",
        label: "河流沟渠",
        scope: Scope::County,
        generic_terms: &["河", "江", "溪", "沟", "渠", "泉"],
    },
    Category {
        slug: "lake", label: "湖泊", scope: Scope::County, generic_terms: &["海子", "淖尔", "湖", "泊", "池"]
    },
    Category { slug: "reservoir", label: "水库", scope: Scope::County, generic_terms: &["水库"] },
    Category {
        slug: "mountain",
        label: "山峰山岭",
        scope: Scope::County,
        generic_terms: &["达坂", "山", "峰", "岭", "坡"],
    },
    Category {
        slug: "public_facility",
        label: "公共服务设施（民政设施等）",
        scope: Scope::County,
        generic_terms: &[
            "福利中心",
            "服务中心",
            "照料中心",
            "服务站",
            "殡仪馆",
            "敬老院",
            "养老院",
            "公墓",
            "陵园",
            "中心",
            "院",
            "站",
            "馆",
            "处",
            "所",
            "园",
        ],
    },
    Category { slug: "square_park", label: "广场公园", scope: Scope::County, generic_terms: &["广场", "公园"] },
    Category { slug: "bridge", label: "桥梁", scope: Scope::County, generic_terms: &["大桥", "桥"] },
];

pub fn category(slug: &str) -> Option<&'static Category> {
    CATEGORIES.iter().find(|c| c.slug == slug)
}

/// The generic term a name ends with, among the category's; `None` when none fits.
pub fn generic_of(name: &str, cat: &Category) -> Option<&'static str> {
    let mut terms: Vec<&'static str> = cat.generic_terms.to_vec();
    terms.sort_by_key(|t| std::cmp::Reverse(t.chars().count()));
    terms.into_iter().find(|g| name.len() > g.len() && name.ends_with(g))
}

/// Another category whose generic term the name ends with (a likely mix-up).
pub fn other_category_for(name: &str, cat: &Category) -> Option<(&'static Category, &'static str)> {
    CATEGORIES
        .iter()
        .filter(|c| c.slug != cat.slug)
        .find_map(|c| generic_of(name, c).filter(|g| !cat.generic_terms.contains(g)).map(|g| (c, g)))
}
