use super::{DivisionCode, DomainError, Provenance};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// Where a standard name is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlaceStatus {
    /// Approved: the standard name (标准名称).
    Approved,
    /// Proposed, awaiting approval.
    Proposed,
    /// Replaced by an approved renaming; still resolves, points to its successor.
    Renamed,
    /// Retired (废止); still resolves.
    Retired,
}

impl PlaceStatus {
    pub const ALL: [PlaceStatus; 4] =
        [PlaceStatus::Approved, PlaceStatus::Proposed, PlaceStatus::Renamed, PlaceStatus::Retired];

    pub fn as_str(self) -> &'static str {
        match self {
            PlaceStatus::Approved => "approved",
            PlaceStatus::Proposed => "proposed",
            PlaceStatus::Renamed => "renamed",
            PlaceStatus::Retired => "retired",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            PlaceStatus::Approved => "已批准",
            PlaceStatus::Proposed => "待审批",
            PlaceStatus::Renamed => "已更名",
            PlaceStatus::Retired => "已废止",
        }
    }
    /// Names in use: the ones duplicates and homophones are checked against.
    pub fn in_use(self) -> bool {
        matches!(self, PlaceStatus::Approved | PlaceStatus::Proposed)
    }
}

impl FromStr for PlaceStatus {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, DomainError> {
        match s {
            "approved" => Ok(PlaceStatus::Approved),
            "proposed" => Ok(PlaceStatus::Proposed),
            "renamed" => Ok(PlaceStatus::Renamed),
            "retired" => Ok(PlaceStatus::Retired),
            _ => Err(DomainError::new("状态须为 proposed、approved、renamed 或 retired (unknown status)")),
        }
    }
}

/// A minority-language form of a name (e.g. Kazakh for 清水河子哈萨克民族乡).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MinorityForm {
    /// ISO 639 code, e.g. `kk` (Kazakh), `ug` (Uyghur), `mn` (Mongolian).
    pub lang: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub romanization: Option<String>,
}

/// A standard place name (标准地名) as the registry keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub id: String,
    /// The standard name, e.g. 乐土驿镇.
    pub name: String,
    /// 专名, e.g. 乐土驿.
    pub specific_term: String,
    /// 通名, e.g. 镇.
    pub generic_term: String,
    /// A category slug of the national place-name classification (see `naming::categories`).
    pub category: String,
    /// The division the named thing lies in (a township code, or the county's).
    pub division_code: Option<DivisionCode>,
    pub geometry: Option<geo_types::Geometry<f64>>,
    /// Hanyu Pinyin per the place-name spelling rules, e.g. `Letuyi Zhen`.
    pub romanization: String,
    /// `suggested` (made by diming) or `officer` (corrected by an officer; kept).
    pub romanization_source: String,
    /// 含义/来历: what the name means and where it comes from.
    pub origin: Option<String>,
    pub alternate_names: Vec<String>,
    pub historic_names: Vec<String>,
    pub minority_form: Option<MinorityForm>,
    pub status: PlaceStatus,
    pub proposed_by: Option<String>,
    pub decided_by: Option<String>,
    pub approving_body: Option<String>,
    pub document_no: Option<String>,
    /// ISO date of approval, renaming or retirement.
    pub decided_on: Option<String>,
    pub predecessor_id: Option<String>,
    pub successor_id: Option<String>,
    pub provenance: Provenance,
    /// Further facts (retirement reason, source of a seeded record…).
    pub attributes: serde_json::Map<String, serde_json::Value>,
    pub version: i64,
    pub updated_at: String,
}

/// An approving body's decision on a name: 批准机关, 批准文号 and the date
/// (`YYYY-MM-DD`), checked before it reaches a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub approving_body: String,
    pub document_no: String,
    pub date: String,
}

/// Why a step of the lifecycle is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LifecycleError {
    /// The record's status does not allow the step.
    Conflict(String),
    /// The step is not this person's to take (approving one's own proposal).
    Forbidden(String),
}

/// The lifecycle proposed → approved → renamed | retired. Each step checks that
/// the record is where the step starts and returns the records as they become;
/// the caller writes them (one transaction) after the naming rules agree.
impl Place {
    /// Whether a proposal may be approved by `approver`: it must be a proposal,
    /// and approval comes from someone other than the proposer.
    pub fn check_approval(&self, approver: &str) -> Result<(), LifecycleError> {
        if self.status != PlaceStatus::Proposed {
            return Err(LifecycleError::Conflict(format!(
                "{} {}，不是待审批的申报 (not a proposal)",
                self.id,
                self.status.label_zh()
            )));
        }
        if self.proposed_by.as_deref() == Some(approver) {
            return Err(LifecycleError::Forbidden(
                "审批人不能审批自己提出的申报 (approval must come from someone other than the proposer)".into(),
            ));
        }
        Ok(())
    }

    /// Approve a proposal: it becomes the standard name. A renaming proposal also
    /// returns its predecessor, now `renamed` and pointing here (the predecessor
    /// must still be approved).
    pub fn approve(
        &self,
        approver: &str,
        decision: &Decision,
        predecessor: Option<&Place>,
    ) -> Result<(Place, Option<Place>), LifecycleError> {
        self.check_approval(approver)?;
        let mut approved = self.clone();
        approved.status = PlaceStatus::Approved;
        approved.decided_by = Some(approver.to_string());
        approved.record(decision);
        let renamed = match predecessor {
            None => None,
            Some(old) if old.status != PlaceStatus::Approved => {
                return Err(LifecycleError::Conflict(format!(
                    "被更名的 {} 已{} (the renamed record changed)",
                    old.id,
                    old.status.label_zh()
                )))
            }
            Some(old) => {
                let mut old = old.clone();
                old.status = PlaceStatus::Renamed;
                old.successor_id = Some(self.id.clone());
                old.decided_on = Some(decision.date.clone());
                if !old.historic_names.contains(&old.name) {
                    old.historic_names.push(old.name.clone());
                }
                Some(old)
            }
        };
        Ok((approved, renamed))
    }

    /// A proposal to rename this approved name by `proposer`: a new record whose
    /// predecessor is this one, carrying its description; the new name's fields
    /// are then set by the caller.
    pub fn renaming(&self, proposer: &str) -> Result<Place, LifecycleError> {
        if self.status != PlaceStatus::Approved {
            return Err(LifecycleError::Conflict(format!(
                "{} {}，只能为已批准的地名提出更名 (only approved names are renamed)",
                self.id,
                self.status.label_zh()
            )));
        }
        let mut p = self.clone();
        p.id = String::new();
        p.status = PlaceStatus::Proposed;
        p.proposed_by = Some(proposer.to_string());
        p.decided_by = None;
        p.approving_body = None;
        p.document_no = None;
        p.decided_on = None;
        p.predecessor_id = Some(self.id.clone());
        p.successor_id = None;
        p.provenance = Provenance::Registered;
        p.historic_names = vec![self.name.clone()];
        // The old name's romanization, even an officer's, is not the new name's.
        p.romanization = String::new();
        p.romanization_source = "suggested".into();
        Ok(p)
    }

    /// Retire (废止) an approved name or a proposal, for `reason`.
    pub fn retire(&self, by: &str, decision: &Decision, reason: &str) -> Result<Place, LifecycleError> {
        if !matches!(self.status, PlaceStatus::Approved | PlaceStatus::Proposed) {
            return Err(LifecycleError::Conflict(format!(
                "{} 已{} (already {})",
                self.id,
                self.status.label_zh(),
                self.status.as_str()
            )));
        }
        let mut p = self.clone();
        p.status = PlaceStatus::Retired;
        p.decided_by = Some(by.to_string());
        p.record(decision);
        p.attributes.insert("retire_reason".into(), serde_json::Value::String(reason.trim().to_string()));
        Ok(p)
    }

    /// Whether an edit may be made: a proposal in everything, an approved name
    /// only in its description (`changes_name` is false), nothing after that.
    pub fn check_edit(&self, changes_name: bool) -> Result<(), LifecycleError> {
        match self.status {
            PlaceStatus::Proposed => Ok(()),
            PlaceStatus::Approved if !changes_name => Ok(()),
            PlaceStatus::Approved => Err(LifecycleError::Conflict(
                "已批准的地名不能直接改名或改类别，请提出更名 (propose a renaming instead)".into(),
            )),
            _ => Err(LifecycleError::Conflict(format!(
                "{} 已{}，不能再修改 (no longer editable)",
                self.id,
                self.status.label_zh()
            ))),
        }
    }

    fn record(&mut self, decision: &Decision) {
        self.approving_body = Some(decision.approving_body.trim().to_string());
        self.document_no = Some(decision.document_no.trim().to_string());
        self.decided_on = Some(decision.date.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(id: &str, name: &str, status: PlaceStatus, proposed_by: &str) -> Place {
        Place {
            id: id.into(),
            name: name.into(),
            specific_term: String::new(),
            generic_term: String::new(),
            category: "town".into(),
            division_code: None,
            geometry: None,
            romanization: "Letuyi Zhen".into(),
            romanization_source: "officer".into(),
            origin: Some("驿站".into()),
            alternate_names: vec![],
            historic_names: vec![],
            minority_form: None,
            status,
            proposed_by: Some(proposed_by.into()),
            decided_by: None,
            approving_body: None,
            document_no: None,
            decided_on: None,
            predecessor_id: None,
            successor_id: None,
            provenance: Provenance::Real,
            attributes: Default::default(),
            version: 3,
            updated_at: String::new(),
        }
    }

    fn decision() -> Decision {
        Decision {
            approving_body: " 玛纳斯县人民政府 ".into(),
            document_no: "玛政函〔2026〕12号".into(),
            date: "2026-12-01".into(),
        }
    }

    #[test]
    fn a_proposal_is_approved_by_someone_else_and_never_by_its_proposer() {
        let p = place("p1", "乐土驿镇", PlaceStatus::Proposed, "li");
        assert!(matches!(p.approve("li", &decision(), None), Err(LifecycleError::Forbidden(_))));
        let (approved, renamed) = p.approve("wang", &decision(), None).expect("approve");
        assert_eq!(approved.status, PlaceStatus::Approved);
        assert_eq!(approved.decided_by.as_deref(), Some("wang"));
        assert_eq!(approved.approving_body.as_deref(), Some("玛纳斯县人民政府"), "trimmed");
        assert!(renamed.is_none());
        assert!(matches!(approved.approve("zhao", &decision(), None), Err(LifecycleError::Conflict(_))), "twice");
    }

    #[test]
    fn approving_a_renaming_renames_its_predecessor_and_keeps_the_old_name_in_history() {
        let old = place("p1", "乐土驿镇", PlaceStatus::Approved, "li");
        let mut new = old.renaming("li").expect("renaming");
        assert_eq!((new.status, new.predecessor_id.as_deref()), (PlaceStatus::Proposed, Some("p1")));
        assert_eq!(new.romanization_source, "suggested", "the old name's romanization is not the new one's");
        assert_eq!(new.provenance, Provenance::Registered);
        new.id = "p2".into();
        new.name = "乐土镇".into();
        let (approved, renamed) = new.approve("wang", &decision(), Some(&old)).expect("approve");
        let renamed = renamed.expect("the predecessor changes too");
        assert_eq!(approved.status, PlaceStatus::Approved);
        assert_eq!((renamed.status, renamed.successor_id.as_deref()), (PlaceStatus::Renamed, Some("p2")));
        assert_eq!(renamed.historic_names, vec!["乐土驿镇".to_string()]);
        let retired = place("p1", "乐土驿镇", PlaceStatus::Retired, "li");
        assert!(matches!(new.approve("wang", &decision(), Some(&retired)), Err(LifecycleError::Conflict(_))));
        assert!(matches!(retired.renaming("li"), Err(LifecycleError::Conflict(_))), "only approved names are renamed");
    }

    #[test]
    fn retiring_and_editing_follow_the_status() {
        let p = place("p1", "乐土驿镇", PlaceStatus::Approved, "li");
        assert!(
            p.check_edit(false).is_ok() && p.check_edit(true).is_err(),
            "an approved name changes only in its description"
        );
        let r = p.retire("wang", &decision(), " 并入 ").expect("retire");
        assert_eq!(r.status, PlaceStatus::Retired);
        assert_eq!(r.attributes.get("retire_reason").and_then(|v| v.as_str()), Some("并入"));
        assert!(matches!(r.retire("wang", &decision(), "x"), Err(LifecycleError::Conflict(_))));
        assert!(r.check_edit(false).is_err(), "a retired record is no longer editable");
        assert!(place("p3", "新村", PlaceStatus::Proposed, "li").check_edit(true).is_ok());
    }
}
