//! The answers handlers build from several records: each a type that is both what
//! the handler serializes and, through `ToSchema`, the OpenAPI document's schema
//! of it. (Answers that are one record or one engine result use that type itself:
//! `coverage::Coverage`, `naming::rules::CheckResult`, `spatial::features::*`…)
//!
//! Must not: decide anything. The handlers choose what goes in; these only shape it.

use super::Basemap;
use crate::coverage::{CountyCoverage, Coverage, Rule};
use crate::domain::{DivisionLevel, Provenance, User};
use crate::naming::categories::Category;
use crate::naming::registry::PlaceFeature;
use crate::registry::coverage::{PlacedSite, TownshipChange};
use crate::registry::places::Announcement;
use crate::spatial::features::{FeatureCollectionType, FeatureType, PointGeometry, SettlementProperties};
use crate::spatial::Snapshot;
use crate::store::HistoryRow;
use serde::Serialize;
use utoipa::ToSchema;

/// `GET /counties`: the county-level units the registry holds.
#[derive(Debug, Serialize, ToSchema)]
pub struct Counties {
    /// In code order.
    pub counties: Vec<crate::spatial::counties::CountySummary>,
    /// Which layers hold sample data in any county listed: where every flag is
    /// false the page shows no 示例数据 label.
    pub sample_data: crate::spatial::counties::SampleLayers,
}

pub use crate::registry::changes::Change;

/// `GET /api/v1/changes`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Changes {
    /// In the order of the sequence (and, within one change, of writing).
    pub changes: Vec<Change>,
    /// Ask for `after=next_after` next: every change up to it is in this page or
    /// does not match the filters.
    #[schema(minimum = 0, example = 4711)]
    pub next_after: i64,
    /// The page was full: more changes are there now.
    pub more: bool,
}

/// `GET /health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
    /// The change sequence applied: the number of the last committed write this
    /// instance's answers include.
    #[schema(minimum = 0, example = 4711)]
    pub sequence: i64,
}

/// What the page needs from the server's settings and vocabularies.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageConfig {
    /// The optional raster basemap.
    pub basemap: Option<Basemap>,
    /// The closed vocabularies with their Chinese labels, for the page's menus and
    /// texts: the page repeats none of them.
    pub vocabularies: Vocabularies,
}

/// The registry's closed vocabularies, each value with its label, in the domain's order.
#[derive(Debug, Serialize, ToSchema)]
pub struct Vocabularies {
    pub kinds: Vec<Term>,
    pub facility_statuses: Vec<Term>,
    pub operators: Vec<Term>,
    pub roles: Vec<Term>,
    /// Where a part of a record comes from (`provenance`, `geometry_provenance`, …).
    pub provenances: Vec<Term>,
}

/// A value and its Chinese label.
#[derive(Debug, Serialize, ToSchema)]
pub struct Term {
    pub value: &'static str,
    pub label: &'static str,
}

/// Every version of a record, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct History {
    pub id: String,
    pub versions: Vec<HistoryRow>,
}

/// A new session.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginAnswer {
    pub user: User,
    /// Repeat it in `X-CSRF-Token` on every write made with the session cookie.
    pub csrf_token: String,
    /// RFC 3339.
    pub expires_at: String,
}

/// How the caller is authenticated.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    Session,
    Token,
}

/// Who is calling; `user` is null when nobody is logged in.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    pub user: Option<User>,
    /// Session only: the token to repeat in `X-CSRF-Token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
    /// Absent when nobody is logged in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
}

/// A new API token: shown once, stored only as a hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenAnswer {
    /// Its id in `GET /tokens`, for `DELETE /tokens/{id}`.
    #[schema(pattern = "^[0-9a-f]{12}$")]
    pub id: String,
    pub name: String,
    /// Send it as `Authorization: Bearer TOKEN`.
    pub token: String,
    pub user: User,
}

/// Every place-name category.
#[derive(Debug, Serialize, ToSchema)]
pub struct Categories {
    #[schema(value_type = Vec<Category>)]
    pub categories: &'static [Category],
}

/// The announcements since a date, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct Announcements {
    /// As asked (`YYYY-MM-DD`), empty for all.
    pub since: String,
    pub announcements: Vec<Announcement>,
}

/// Standard place names as a FeatureCollection.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlaceCollection {
    #[serde(rename = "type")]
    pub kind: FeatureCollectionType,
    pub features: Vec<PlaceFeature>,
    #[serde(rename = "numberReturned")]
    pub number_returned: usize,
    /// Null when `q` is given (search stops at the page asked for).
    #[serde(rename = "numberMatched")]
    pub number_matched: Option<usize>,
}

/// Properties of an uncovered settlement: the settlement's own, and what the gap is.
#[derive(Debug, Serialize, ToSchema)]
pub struct GapProperties {
    #[serde(flatten)]
    pub settlement: SettlementProperties,
    pub nearest_facility_id: Option<String>,
    /// Geodesic metres to the nearest counted facility (GRS80, to the millimetre).
    pub nearest_distance_m: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GapFeature {
    #[serde(rename = "type")]
    pub kind: FeatureType,
    /// The settlement code.
    pub id: String,
    pub geometry: PointGeometry,
    pub properties: GapProperties,
}

/// The settlements a coverage question leaves uncovered.
#[derive(Debug, Serialize, ToSchema)]
pub struct GapCollection {
    #[serde(rename = "type")]
    pub kind: FeatureCollectionType,
    pub features: Vec<GapFeature>,
    #[serde(rename = "numberReturned")]
    pub number_returned: usize,
    /// The facility kind of the coverage question.
    #[serde(rename = "kind")]
    #[schema(value_type = crate::domain::FacilityKind)]
    pub facility_kind: &'static str,
    pub rule: Rule,
}

impl GapCollection {
    /// The uncovered settlements of `cov`, which was computed over `snap`.
    pub fn new(snap: &Snapshot, cov: &Coverage) -> Self {
        let features: Vec<GapFeature> = cov
            .results
            .iter()
            .filter(|r| !r.covered)
            .filter_map(|r| {
                let s = &snap.settlements().get(r.idx)?.settlement;
                let township = snap.division(s.township_code.as_str()).map(|d| d.division.name.as_str());
                Some(GapFeature {
                    kind: FeatureType::Feature,
                    id: s.code.to_string(),
                    geometry: PointGeometry::new(s.location.lon(), s.location.lat()),
                    properties: GapProperties {
                        settlement: SettlementProperties::new(s, township),
                        nearest_facility_id: r.nearest_facility_id.clone(),
                        nearest_distance_m: r.nearest_distance_m.map(|d| (d * 1000.0).round() / 1000.0),
                    },
                })
            })
            .collect();
        GapCollection {
            kind: FeatureCollectionType::FeatureCollection,
            number_returned: features.len(),
            features,
            facility_kind: cov.kind,
            rule: cov.rule.clone(),
        }
    }
}

/// What the what-if changed; nothing is written.
#[derive(Debug, Serialize, ToSchema)]
pub struct WhatIfChanges {
    /// The added sites that count under the rule, with the township each falls in.
    pub added: Vec<PlacedSite>,
    /// Ids of the facilities left out.
    pub removed: Vec<String>,
    pub county_before: CountyCoverage,
    pub townships_changed: Vec<TownshipChange>,
    /// Always false.
    pub written: bool,
}

/// Coverage as if the facilities were added or removed.
#[derive(Debug, Serialize, ToSchema)]
pub struct WhatIfAnswer {
    #[serde(flatten)]
    pub coverage: Coverage,
    pub what_if: WhatIfChanges,
}

/// `GET /locate`: the divisions containing the point, from largest to smallest.
#[derive(Debug, Serialize, ToSchema)]
pub struct Located {
    pub lon: f64,
    pub lat: f64,
    /// Empty outside every division.
    pub divisions: Vec<LocatedDivision>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LocatedDivision {
    pub code: String,
    pub name: String,
    pub level: DivisionLevel,
    /// Where the code and name come from.
    pub provenance: Provenance,
    /// Where the outline that contains the point comes from: a `synthetic` one makes
    /// this answer sample data (示例数据).
    pub geometry_provenance: Option<Provenance>,
}
