//! Standard place names (标准地名): the naming-rules check and the lifecycle
//! proposed → approved → renamed | retired. Editors propose, edit and propose
//! renamings; approvers approve (never their own proposal) and retire. Every write
//! re-runs the naming rules: an error finding refuses it (with the findings),
//! warnings come back with the record. The steps themselves are `Place`'s
//! (`domain::place`); here they meet the rules, the roles and the store.

use super::{is_iso_date, today, FieldError, Registry, RegistryError, RegistryResult};
use crate::accounts::Caller;
use crate::domain::{Decision, DivisionCode, LifecycleError, MinorityForm, Place, PlaceStatus, Provenance, Role};
use crate::naming::categories::category;
use crate::naming::registry::PlaceRegistry;
use crate::naming::rules::{check, CheckInput, CheckResult, Finding, Severity};
use crate::spatial::Snapshot;
use crate::store::{HistoryRow, PlaceChange};
use serde::{Deserialize, Serialize};

/// Who proposes and edits names, and who decides on them.
const PROPOSES: Role = Role::Editor;
const DECIDES: Role = Role::Approver;

/// A name to check.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckBody {
    /// The proposed standard name.
    #[schema(example = "乐土驿镇")]
    pub name: String,
    #[schema(value_type = crate::schema::PlaceCategorySchema)]
    pub category: String,
    /// The division it lies in (county, township or village-level code).
    #[schema(example = "652324101", pattern = "^([0-9]{6}|[0-9]{9}|[0-9]{12})$")]
    pub division_code: Option<String>,
    /// The record being changed, left out of its own conflicts.
    pub id: Option<String>,
    /// An officer's romanization, checked instead of the suggestion.
    pub romanization: Option<String>,
}

/// A place name's fields; all optional so PATCH can send only changes. Proposing
/// (`POST`) needs `name` and `category`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceInput {
    /// The standard name, not empty.
    #[schema(example = "乐土驿镇", min_length = 1, pattern = "[^\\s\\u0085]")]
    pub name: Option<String>,
    #[schema(value_type = Option<crate::schema::PlaceCategorySchema>)]
    pub category: Option<String>,
    /// The division it lies in: a known county, township or village-level code (default:
    /// the township the point lies in; an unknown code is refused with 422).
    #[schema(pattern = "^([0-9]{6}|[0-9]{9}|[0-9]{12})$")]
    pub division_code: Option<String>,
    /// With `lat`: a Point location, CGCS2000 degrees.
    #[schema(minimum = -180.0, maximum = 180.0)]
    pub lon: Option<f64>,
    #[schema(minimum = -90.0, maximum = 90.0)]
    pub lat: Option<f64>,
    /// Any GeoJSON geometry (a road's line, an area's polygon); `lon`/`lat` win if both are given.
    /// (Its schema is `GeometryInput`, set in the document by `api::openapi::refine`.)
    #[schema(value_type = Option<Object>)]
    pub geometry: Option<geojson::Geometry>,
    /// An officer's romanization, kept instead of the suggested one.
    pub romanization: Option<String>,
    /// 含义与由来.
    pub origin: Option<String>,
    pub alternate_names: Option<Vec<String>>,
    pub historic_names: Option<Vec<String>>,
    pub minority_form: Option<MinorityForm>,
}

/// An approval or retirement decision.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    /// 批准机关, not empty.
    #[schema(example = "玛纳斯县人民政府", min_length = 1, pattern = "[^\\s\\u0085]")]
    pub approving_body: String,
    /// 批准文号, not empty.
    #[schema(example = "玛政函〔2026〕12号", min_length = 1, pattern = "[^\\s\\u0085]")]
    pub document_no: String,
    /// 批准日期 `YYYY-MM-DD`; default today (UTC).
    #[schema(format = Date)]
    pub date: Option<String>,
    /// Retirement only (required there): 废止原因, not blank.
    #[schema(min_length = 1, pattern = "[^\\s\\u0085]")]
    pub reason: Option<String>,
}

/// The new name a renaming proposes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameBody {
    /// The new standard name, not empty.
    #[schema(min_length = 1, pattern = "[^\\s\\u0085]")]
    pub name: String,
    /// An officer's romanization, kept instead of the suggested one.
    pub romanization: Option<String>,
    /// 含义与由来 of the new name.
    pub origin: Option<String>,
}

/// A record as a write left it, with the naming rules' warnings.
#[derive(Debug, Clone)]
pub struct Saved {
    pub place: Place,
    pub findings: Vec<Finding>,
}

/// Whether an announcement names a place for the first time or renames one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AnnouncementKind {
    Naming,
    Renaming,
}

/// One approved naming or renaming, with the fields an announcement (地名公告) carries.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Announcement {
    pub id: String,
    pub kind: AnnouncementKind,
    pub standard_name: String,
    pub romanization: String,
    /// The name of the division it lies in.
    pub division: Option<String>,
    pub division_code: Option<String>,
    /// `lon,lat` of the point (or of a point inside a line or area), 6 decimals.
    pub location: Option<String>,
    pub approving_body: Option<String>,
    pub document_no: Option<String>,
    /// `YYYY-MM-DD`.
    pub date: Option<String>,
    pub previous_name: Option<String>,
    pub provenance: Provenance,
}

fn lifecycle(e: LifecycleError) -> RegistryError {
    match e {
        LifecycleError::Conflict(m) => RegistryError::Conflict(m),
        LifecycleError::Forbidden(m) => RegistryError::Forbidden(m),
    }
}

fn not_found(id: &str) -> RegistryError {
    RegistryError::NotFound(format!("没有编号为 {id} 的地名 (no place name with this id)"))
}

fn unknown_category(c: &str) -> FieldError {
    FieldError::new("category", format!("未知的地名类别“{c}” (unknown category)"))
}

/// Refused when any finding is an error, with every finding.
fn refuse(result: &CheckResult) -> RegistryResult<()> {
    if result.ok {
        return Ok(());
    }
    let errors = result
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| FieldError::new("name", format!("[{}] {}", f.rule, f.message)))
        .collect();
    Err(RegistryError::Refused { errors, findings: result.findings.clone() })
}

/// Merge `input` over `base` and validate the shape (`Invalid`) and the division
/// (`Refused` if unknown); the naming rules come after (`apply_rules`).
pub(crate) fn merge(snap: &Snapshot, input: PlaceInput, base: Option<&Place>) -> RegistryResult<Place> {
    let mut errors = Vec::new();
    let mut refused = Vec::new();
    let name = input.name.or(base.map(|b| b.name.clone())).map(|n| n.trim().to_string()).unwrap_or_default();
    if name.is_empty() {
        errors.push(FieldError::new("name", "地名不能为空 (name is required)"));
    }
    let cat = input.category.or(base.map(|b| b.category.clone())).unwrap_or_default();
    if category(&cat).is_none() {
        errors.push(unknown_category(&cat));
    }
    let mut geometry = base.and_then(|b| b.geometry.clone());
    if let Some(g) = input.geometry {
        match crate::spatial::geojson_in::to_geo(g) {
            Ok(g) => geometry = Some(g),
            Err(e) => errors.push(FieldError::new("geometry", e)),
        }
    }
    if let (Some(lon), Some(lat)) = (input.lon, input.lat) {
        match crate::domain::LonLat::try_from([lon, lat]) {
            Ok(p) => geometry = Some(geo_types::Geometry::Point(p.into())),
            Err(e) => errors.push(FieldError::new("lon", e.message)),
        }
    }
    // The division: as given, else where the point falls, else as before.
    let mut division = base.and_then(|b| b.division_code.clone());
    if let Some(geo_types::Geometry::Point(pt)) = &geometry {
        if let Some(t) = snap.township_at(pt.x(), pt.y()) {
            division = Some(t.division.code.clone());
        }
    }
    if let Some(d) = input.division_code {
        match d.parse::<DivisionCode>() {
            Ok(c) if snap.division(c.as_str()).is_some() => division = Some(c),
            Ok(c) => {
                refused.push(FieldError::new("division_code", format!("没有代码为 {c} 的区划 (unknown division)")))
            }
            Err(e) => errors.push(FieldError::new("division_code", e.message)),
        }
    }
    RegistryError::from_checks(errors, refused)?;
    let mut p = Place {
        id: base.map(|b| b.id.clone()).unwrap_or_default(),
        name,
        specific_term: String::new(),
        generic_term: String::new(),
        category: cat,
        division_code: division,
        geometry,
        romanization: base.map(|b| b.romanization.clone()).unwrap_or_default(),
        romanization_source: base.map_or("suggested".into(), |b| b.romanization_source.clone()),
        origin: input.origin.or(base.and_then(|b| b.origin.clone())),
        alternate_names: input.alternate_names.or(base.map(|b| b.alternate_names.clone())).unwrap_or_default(),
        historic_names: input.historic_names.or(base.map(|b| b.historic_names.clone())).unwrap_or_default(),
        minority_form: input.minority_form.or(base.and_then(|b| b.minority_form.clone())),
        status: base.map_or(PlaceStatus::Proposed, |b| b.status),
        proposed_by: base.and_then(|b| b.proposed_by.clone()),
        decided_by: base.and_then(|b| b.decided_by.clone()),
        approving_body: base.and_then(|b| b.approving_body.clone()),
        document_no: base.and_then(|b| b.document_no.clone()),
        decided_on: base.and_then(|b| b.decided_on.clone()),
        predecessor_id: base.and_then(|b| b.predecessor_id.clone()),
        successor_id: base.and_then(|b| b.successor_id.clone()),
        provenance: base.map_or(Provenance::Registered, |b| b.provenance),
        attributes: base.map(|b| b.attributes.clone()).unwrap_or_default(),
        version: base.map_or(1, |b| b.version),
        updated_at: String::new(),
    };
    if let Some(r) = input.romanization.filter(|r| !r.trim().is_empty()) {
        p.romanization = r.trim().to_string();
        p.romanization_source = "officer".into();
    }
    Ok(p)
}

/// Run the rules over a merged record (against every other name) and fill in its
/// terms and romanization; `Refused` with the findings if any is an error.
pub(crate) fn apply_rules(names: &PlaceRegistry, p: &mut Place) -> RegistryResult<CheckResult> {
    let officer = (p.romanization_source == "officer").then(|| p.romanization.clone());
    let input = CheckInput {
        name: &p.name,
        category: &p.category,
        division_code: p.division_code.as_ref().map(|c| c.as_str()),
        id: (!p.id.is_empty()).then_some(p.id.as_str()),
        romanization: officer.as_deref(),
    };
    let result = check(&input, names.places());
    refuse(&result)?;
    p.specific_term = result.specific_term.clone();
    p.generic_term = result.generic_term.clone();
    p.romanization = result.romanization.clone();
    Ok(result)
}

/// A decision's fields, checked: both texts given, the date `YYYY-MM-DD` (today if none).
/// A decision's fields checked (the approving body and document number given, the date a date).
pub(crate) fn decision(d: &DecisionInput) -> RegistryResult<Decision> {
    let mut errors = Vec::new();
    if d.approving_body.trim().is_empty() {
        errors.push(FieldError::new("approving_body", "须填写批准机关 (the approving body)"));
    }
    if d.document_no.trim().is_empty() {
        errors.push(FieldError::new("document_no", "须填写批准文号 (the document number)"));
    }
    let date = d.date.clone().unwrap_or_else(today);
    if !is_iso_date(&date) {
        errors.push(FieldError::new("date", "日期格式须为 YYYY-MM-DD"));
    }
    RegistryError::from_checks(errors, Vec::new())?;
    Ok(Decision { approving_body: d.approving_body.clone(), document_no: d.document_no.clone(), date })
}

fn first(saved: Vec<Place>) -> RegistryResult<Place> {
    saved.into_iter().next().ok_or_else(|| RegistryError::Internal("the store returned no record for a write".into()))
}

impl Registry {
    fn current_place(&self, id: &str) -> RegistryResult<Place> {
        self.places().get(id).cloned().ok_or_else(|| not_found(id))
    }

    /// The naming rules' findings for a name; writes nothing, needs no role.
    pub fn check_name(&self, b: &CheckBody) -> RegistryResult<CheckResult> {
        // Parsed at the boundary: the rules see only a known category and a well-formed code.
        let mut errors = Vec::new();
        if category(&b.category).is_none() {
            errors.push(unknown_category(&b.category));
        }
        let code = match b.division_code.as_deref().map(str::parse::<DivisionCode>).transpose() {
            Ok(c) => c,
            Err(e) => {
                errors.push(FieldError::new("division_code", e.message));
                None
            }
        };
        RegistryError::from_checks(errors, Vec::new())?;
        let input = CheckInput {
            name: &b.name,
            category: &b.category,
            division_code: code.as_ref().map(|c| c.as_str()),
            id: b.id.as_deref(),
            romanization: b.romanization.as_deref(),
        };
        Ok(check(&input, self.places().places()))
    }

    /// Propose a name (status `proposed`); `name` and `category` are required.
    pub async fn propose_place(&self, who: &Caller, input: PlaceInput) -> RegistryResult<Saved> {
        who.permit(PROPOSES)?;
        let mut p = merge(&self.snapshot_guard(), input, None)?;
        let result = apply_rules(&self.places(), &mut p)?;
        p.status = PlaceStatus::Proposed;
        p.proposed_by = Some(who.name());
        let created = self.store().create_place(&p, &who.actor()).await?;
        self.refresh_places().await?;
        Ok(Saved { place: created, findings: result.findings })
    }

    /// Edit a record at version `expected`: a proposal in everything, an approved
    /// name only in its description and romanization.
    pub async fn edit_place(&self, who: &Caller, id: &str, expected: i64, input: PlaceInput) -> RegistryResult<Saved> {
        who.permit(PROPOSES)?;
        let base = self.current_place(id)?;
        base.check_edit(input.name.is_some() || input.category.is_some()).map_err(lifecycle)?;
        let mut p = merge(&self.snapshot_guard(), input, Some(&base))?;
        let result = apply_rules(&self.places(), &mut p)?;
        let change = PlaceChange { expected_version: expected, place: p, action: "update".into() };
        let saved = self.store().update_places(&[change], &who.actor()).await?;
        self.refresh_places().await?;
        Ok(Saved { place: first(saved)?, findings: result.findings })
    }

    /// Approve a proposal (never by its proposer); a renaming proposal also marks
    /// its predecessor `renamed`, in the same transaction. The rules run again.
    pub async fn approve_place(
        &self,
        who: &Caller,
        id: &str,
        expected: Option<i64>,
        d: &DecisionInput,
    ) -> RegistryResult<Saved> {
        who.permit(DECIDES)?;
        let decided = decision(d)?;
        let mut p = self.current_place(id)?;
        let approver = who.name();
        p.check_approval(&approver).map_err(lifecycle)?;
        let expected = expected.unwrap_or(p.version);
        // The registry may have changed since the proposal: check again.
        let result = apply_rules(&self.places(), &mut p)?;
        let predecessor = p.predecessor_id.as_deref().map(|old| self.current_place(old)).transpose()?;
        let (approved, renamed) = p.approve(&approver, &decided, predecessor.as_ref()).map_err(lifecycle)?;
        let mut changes = vec![PlaceChange { expected_version: expected, place: approved, action: "approve".into() }];
        if let (Some(old), Some(before)) = (renamed, predecessor) {
            changes.push(PlaceChange { expected_version: before.version, place: old, action: "rename".into() });
        }
        let saved = self.store().update_places(&changes, &who.actor()).await?;
        self.refresh_places().await?;
        Ok(Saved { place: first(saved)?, findings: result.findings })
    }

    /// Propose a new name for an approved one: a new record whose predecessor is
    /// this one; approving it renames.
    pub async fn rename_place(&self, who: &Caller, id: &str, r: RenameBody) -> RegistryResult<Saved> {
        who.permit(PROPOSES)?;
        let template = self.current_place(id)?.renaming(&who.name()).map_err(lifecycle)?;
        let input =
            PlaceInput { name: Some(r.name), romanization: r.romanization, origin: r.origin, ..Default::default() };
        let mut p = merge(&self.snapshot_guard(), input, Some(&template))?;
        let result = apply_rules(&self.places(), &mut p)?;
        let created = self.store().create_place(&p, &who.actor()).await?;
        self.refresh_places().await?;
        Ok(Saved { place: created, findings: result.findings })
    }

    /// Retire (废止) a name or a proposal; the record stays and still resolves.
    pub async fn retire_place(
        &self,
        who: &Caller,
        id: &str,
        expected: Option<i64>,
        d: &DecisionInput,
    ) -> RegistryResult<Saved> {
        who.permit(DECIDES)?;
        let decided = decision(d)?;
        let reason = d
            .reason
            .clone()
            .filter(|r| !r.trim().is_empty())
            .ok_or_else(|| RegistryError::invalid("reason", "须说明废止原因 (give the reason)"))?;
        let p = self.current_place(id)?;
        let expected = expected.unwrap_or(p.version);
        let retired = p.retire(&who.name(), &decided, &reason).map_err(lifecycle)?;
        let change = PlaceChange { expected_version: expected, place: retired, action: "retire".into() };
        let saved = self.store().update_places(&[change], &who.actor()).await?;
        self.refresh_places().await?;
        Ok(Saved { place: first(saved)?, findings: Vec::new() })
    }

    /// Every version of a place record, oldest first.
    pub async fn place_history(&self, id: &str) -> RegistryResult<Vec<HistoryRow>> {
        let rows = self.store().history("place", id).await?;
        if rows.is_empty() {
            return Err(not_found(id));
        }
        Ok(rows)
    }

    /// The name of the division a record lies in.
    pub fn division_name(&self, code: Option<&DivisionCode>) -> Option<String> {
        let snap = self.snapshot_guard();
        code.and_then(|c| snap.division(c.as_str())).map(|d| d.division.name.clone())
    }

    /// Approved namings and renamings decided on or after `since` (`YYYY-MM-DD`,
    /// or every one), not seeded records, oldest first.
    pub fn announcements(&self, since: &str) -> Vec<Announcement> {
        let names = self.places();
        let mut rows: Vec<Announcement> = names
            .places()
            .iter()
            .filter(|pl| matches!(pl.status, PlaceStatus::Approved) && pl.approving_body.is_some())
            .filter(|pl| pl.decided_on.as_deref().is_some_and(|d| d >= since))
            .map(|pl| {
                let loc = pl.geometry.as_ref().and_then(|g| match g {
                    geo_types::Geometry::Point(pt) => Some((pt.x(), pt.y())),
                    other => geo::InteriorPoint::interior_point(other).map(|pt| (pt.x(), pt.y())),
                });
                let previous = pl.predecessor_id.as_ref().and_then(|id| names.get(id)).map(|o| o.name.clone());
                Announcement {
                    id: pl.id.clone(),
                    kind: if previous.is_some() { AnnouncementKind::Renaming } else { AnnouncementKind::Naming },
                    standard_name: pl.name.clone(),
                    romanization: pl.romanization.clone(),
                    division: self.division_name(pl.division_code.as_ref()),
                    division_code: pl.division_code.as_ref().map(|c| c.to_string()),
                    location: loc.map(|(x, y)| format!("{x:.6},{y:.6}")),
                    approving_body: pl.approving_body.clone(),
                    document_no: pl.document_no.clone(),
                    date: pl.decided_on.clone(),
                    previous_name: previous,
                    provenance: pl.provenance,
                }
            })
            .collect();
        rows.sort_by(|a, b| a.date.cmp(&b.date).then(a.id.cmp(&b.id)));
        rows
    }
}
