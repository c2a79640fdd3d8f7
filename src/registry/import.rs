//! Import: a GeoJSON or CSV file becomes registry writes, held to exactly the
//! rules of the single-record endpoints (the same validators), all checked before
//! anything is written and every row error reported; then one store transaction.
//!
//! `POST /api/v1/import?layer=&format=&crs=&dry_run=` and `diming import` share
//! `Registry::import`.

use super::facilities::{validate, FacilityInput};
use super::places::{apply_rules, merge, PlaceInput};
use super::{is_iso_date, Registry, RegistryError, RegistryResult};
use crate::accounts::{Caller, Denied};
use crate::domain::{
    Division, DivisionCode, DivisionLevel, FacilityKind, LonLat, NewFacility, PlaceStatus, Provenance, RegionCode,
    Role, Settlement,
};
use crate::import::read::{read, Format, Record, RowError};
use crate::import::Layer;
use crate::spatial::crs::Crs;
use crate::store::ImportOp;
use geo_types::{Geometry, MultiPolygon};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The CRSs a file may be in: those of OGC output, and GCJ-02 from Chinese web maps.
pub const IMPORT_CRS: [Crs; 5] = [Crs::Crs84, Crs::Epsg4490, Crs::Epsg4326, Crs::Epsg4538, Crs::Gcj02];

/// What to import and how.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    pub layer: Layer,
    /// Detected from the content when `None`.
    pub format: Option<Format>,
    /// CRS84 (CGCS2000 lon/lat) when `None`, or what a GeoJSON file declares.
    pub crs: Option<Crs>,
    pub dry_run: bool,
    /// When given, every row must be a record of this county (or region): an
    /// officer's file cannot touch another county's records.
    pub county: Option<RegionCode>,
}

/// The outcome: counts, and every row problem.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub layer: Layer,
    pub format: Format,
    pub encoding: &'static str,
    pub crs: &'static str,
    pub dry_run: bool,
    /// Rows (features) read.
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Whether the writes were made (false for a dry run or when any row failed).
    pub committed: bool,
    /// Ids of the records created or updated, in file order (after the writes).
    pub ids: Vec<String>,
    /// For each row that updates a record: which fields change (a preview on a dry run).
    pub changes: Vec<RowChange>,
    pub errors: Vec<RowError>,
    pub warnings: Vec<RowError>,
}

/// What one row changes in an existing record.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RowChange {
    pub row: usize,
    pub id: String,
    pub fields: Vec<String>,
}

/// Names of the top-level members that differ between two JSON objects
/// (`attributes.x` / `properties.x` one level down).
fn changed_fields(before: &Value, after: &Value) -> Vec<String> {
    let (Some(a), Some(b)) = (before.as_object(), after.as_object()) else { return vec!["*".into()] };
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    for k in keys {
        if matches!(k.as_str(), "version" | "updated_at") {
            continue;
        }
        match (a.get(k), b.get(k)) {
            (Some(Value::Object(x)), Some(Value::Object(y))) if x != y => {
                let sub = changed_fields(&Value::Object(x.clone()), &Value::Object(y.clone()));
                out.extend(sub.into_iter().map(|s| format!("{k}.{s}")));
            }
            (x, y) if x != y => out.push(k.clone()),
            _ => {}
        }
    }
    out
}

/// The role a layer's import needs: facilities and names are editors' work;
/// divisions and settlements change the county's official units.
pub fn required_role(layer: Layer) -> Role {
    match layer {
        Layer::Facilities | Layer::Places => Role::Editor,
        Layer::Divisions | Layer::Settlements => Role::Approver,
    }
}

impl Registry {
    /// Whether `who` may import into `layer` (also checked by `import`; the API
    /// asks first, before it reads a large body).
    pub fn may_import(&self, who: &Caller, layer: Layer) -> RegistryResult<()> {
        let needed = required_role(layer);
        who.permit(needed).map_err(|d| match d {
            Denied::Forbidden { .. } => RegistryError::Forbidden(format!(
                "导入 {} 需要 {} 角色 (importing {} needs the {} role)",
                layer.as_str(),
                needed.label_zh(),
                layer.as_str(),
                needed.as_str()
            )),
            other => other.into(),
        })
    }

    /// Read, validate and (unless a dry run or invalid) write `bytes` as `req.layer`:
    /// `Rows` with every row's problems if any is refused, nothing written then.
    /// `progress` is told how many writes are done, now and then.
    pub async fn import(
        &self,
        who: &Caller,
        bytes: &[u8],
        req: &ImportRequest,
        progress: &(dyn Fn(usize) + Send + Sync),
    ) -> RegistryResult<ImportReport> {
        self.may_import(who, req.layer)?;
        run(self, who, bytes, req, progress).await
    }
}

async fn run(
    registry: &Registry,
    who: &Caller,
    bytes: &[u8],
    req: &ImportRequest,
    progress: &(dyn Fn(usize) + Send + Sync),
) -> RegistryResult<ImportReport> {
    let input = read(bytes, req.format, req.crs);
    let mut report = ImportReport {
        layer: req.layer,
        format: input.format,
        encoding: input.encoding,
        crs: input.crs.code(),
        dry_run: req.dry_run,
        rows: input.records.len() + input.errors.iter().filter(|e| e.row > 0).count(),
        created: 0,
        updated: 0,
        unchanged: 0,
        committed: false,
        ids: Vec::new(),
        changes: Vec::new(),
        errors: input.errors,
        warnings: input.warnings,
    };
    if report.rows == 0 && report.errors.is_empty() {
        report.errors.push(RowError::new(0, "file", "文件中没有记录 (the file holds no rows)"));
    }
    let ops = {
        let mut plan = Plan { registry, who, report: &mut report, ops: Vec::new(), county: req.county };
        match req.layer {
            Layer::Facilities => plan.facilities(input.records),
            Layer::Places => plan.places(input.records),
            Layer::Settlements => plan.settlements(input.records),
            Layer::Divisions => plan.divisions(input.records),
        }
        plan.ops
    };
    report.errors.sort_by_key(|e| e.row);
    if !report.errors.is_empty() {
        return Err(RegistryError::Rows(report.errors));
    }
    if req.dry_run || ops.is_empty() {
        return Ok(report);
    }
    report.ids = registry.store().import(&ops, &who.actor(), progress).await?;
    report.committed = true;
    registry.refresh().await?;
    Ok(report)
}

struct Plan<'a> {
    registry: &'a Registry,
    who: &'a Caller,
    report: &'a mut ImportReport,
    ops: Vec<ImportOp>,
    /// Only records of this county may change (`ImportRequest::county`).
    county: Option<RegionCode>,
}

/// A string field, trimmed; numbers are taken as their text.
fn take_str(f: &mut Map<String, Value>, k: &str) -> Option<String> {
    match f.remove(k)? {
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s.trim().to_string()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// An integer field from a number or its text.
fn take_int(f: &mut Map<String, Value>, k: &str, errors: &mut Vec<(String, String)>) -> Option<i64> {
    match f.remove(k)? {
        Value::Null => None,
        Value::Number(n) if n.as_i64().is_some() => n.as_i64(),
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) if s.trim().parse::<i64>().is_ok() => s.trim().parse().ok(),
        other => {
            errors.push((k.to_string(), format!("{other} 不是整数 (not a whole number)")));
            None
        }
    }
}

fn take_bool(f: &mut Map<String, Value>, k: &str, errors: &mut Vec<(String, String)>) -> Option<bool> {
    match f.remove(k)? {
        Value::Null => None,
        Value::Bool(b) => Some(b),
        Value::String(s) => match s.trim() {
            "" => None,
            "true" | "1" | "是" | "yes" => Some(true),
            "false" | "0" | "否" | "no" => Some(false),
            other => {
                errors.push((k.to_string(), format!("'{other}' 须为 true/false（是/否）")));
                None
            }
        },
        other => {
            errors.push((k.to_string(), format!("{other} 须为 true/false（是/否）")));
            None
        }
    }
}

/// A CSV cell's text as the JSON value it stands for (numbers, booleans, JSON).
fn typed(v: Value) -> Value {
    let Value::String(s) = &v else { return v };
    let t = s.trim();
    // "0994…" (a phone number, a code) stays text; so does anything with a leading zero.
    let leading_zero = t.len() > 1 && t.starts_with('0') && !t.starts_with("0.");
    if !leading_zero {
        if let Ok(n) = t.parse::<i64>() {
            return Value::from(n);
        }
        if let Some(x) = t.parse::<f64>().ok().filter(|x| x.is_finite()) {
            return Value::from(x);
        }
    }
    match t {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        _ => {}
    }
    if t.starts_with('[') || t.starts_with('{') {
        if let Ok(j) = serde_json::from_str::<Value>(t) {
            return j;
        }
    }
    v
}

/// The `code` of a division or settlement; a GeoJSON feature's `id` stands for it
/// (and, when both are given, the code wins).
fn code_of(f: &mut Map<String, Value>) -> Option<String> {
    let id = take_str(f, "id");
    take_str(f, "code").or(id)
}

/// A cell typed as the stored value it replaces is typed, and codes stay text.
fn typed_like(key: &str, v: Value, stored: Option<&Value>) -> Value {
    if matches!(stored, Some(Value::String(_))) || key == "code" || key.ends_with("_code") {
        return v;
    }
    typed(v)
}

/// A list field: a JSON array, or text split at 、 ; ，.
fn take_list(f: &mut Map<String, Value>, k: &str) -> Option<Vec<String>> {
    match f.remove(k)? {
        Value::Array(a) => {
            Some(a.into_iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string)).collect())
        }
        Value::String(s) => {
            let t = s.trim();
            if t.starts_with('[') {
                if let Ok(v) = serde_json::from_str::<Vec<String>>(t) {
                    return Some(v);
                }
            }
            Some(
                t.split(['、', ';', '；', '，']).map(str::trim).filter(|x| !x.is_empty()).map(str::to_string).collect(),
            )
        }
        _ => None,
    }
}

/// Labels officers write for coded values, mapped to the codes.
fn code_for_label(field: &str, v: &str) -> Option<&'static str> {
    match field {
        "kind" => FacilityKind::ALL.into_iter().find(|k| k.label_zh() == v).map(|k| k.as_str()).or(match v {
            "社区服务中心" | "社区服务站" | "社区综合服务站" | "社区综合服务中心" | "便民服务中心" => {
                Some("community_service")
            }
            "敬老院" | "养老院" | "社会福利中心" | "福利院" | "养老服务中心" => Some("care_home"),
            "公益性公墓" | "经营性公墓" | "墓地" => Some("cemetery"),
            "殡仪服务站" | "殡葬服务站" => Some("funeral_home"),
            "日间照料站" | "老年人日间照料中心" => Some("day_care"),
            "救助站" => Some("relief_station"),
            "婚姻登记中心" => Some("marriage_registry"),
            "儿童福利院" | "未成年人保护中心" => Some("child_welfare"),
            _ => None,
        }),
        "status" => match v {
            "运营" | "开放" | "在用" | "正常" => Some("open"),
            "规划" | "在建" | "拟建" => Some("planned"),
            "关闭" | "停用" | "撤销" => Some("closed"),
            _ => None,
        },
        "operator" => match v {
            "公办" => Some("public"),
            "公建民营" => Some("public_private"),
            "民办" => Some("private"),
            _ => None,
        },
        _ => None,
    }
}

impl Plan<'_> {
    fn error(&mut self, row: usize, field: &str, message: impl Into<String>) {
        self.report.errors.push(RowError::new(row, field, message));
    }

    /// Whether the record a row changes, placed by `code` in `field`, is inside the
    /// import's county; if not, the row's error is noted.
    fn in_county(&mut self, row: usize, field: &str, code: Option<&str>) -> bool {
        let Some(county) = self.county else { return true };
        if code.is_some_and(|c| county.holds(c)) {
            return true;
        }
        let what = code.map_or_else(|| "（无）".to_string(), str::to_string);
        self.error(
            row,
            field,
            format!(
                "{what} 不在 {} 内：本次导入只可改动该县的记录 (this import may change only that county's records)",
                county.as_str()
            ),
        );
        false
    }

    /// A row refused by a record's own rules: each field it names, at this row.
    fn problem(&mut self, row: usize, e: RegistryError) {
        for e in e.into_field_errors() {
            self.report.errors.push(RowError { row, field: e.field, message: e.message });
        }
    }

    /// A code not seen earlier in the file, whose `version` column (if any) is the
    /// stored record's; otherwise the row's error is noted and `false` returned.
    fn fresh(
        &mut self,
        row: usize,
        code: &DivisionCode,
        seen: &mut HashMap<String, usize>,
        f: &mut Map<String, Value>,
        stored: Option<i64>,
    ) -> bool {
        if let Some(first) = seen.insert(code.to_string(), row) {
            self.error(row, "code", format!("与第 {first} 行重复 (the same code as row {first})"));
            return false;
        }
        let mut bad = Vec::new();
        let version = take_int(f, "version", &mut bad);
        for (field, message) in bad {
            self.error(row, &field, message);
        }
        match (stored, version) {
            (Some(s), Some(v)) if s != v => {
                self.error(row, "version", format!("当前为第 {s} 版：已被他人修改 (changed since; now version {s})"));
                false
            }
            _ => true,
        }
    }

    fn facilities(&mut self, records: Vec<Record>) {
        let snap = self.registry.snapshot();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for rec in records {
            let row = rec.row;
            let mut f = rec.fields;
            let mut bad = Vec::new();
            let id = take_str(&mut f, "id");
            let version = take_int(&mut f, "version", &mut bad);
            // What an export adds that is not an input.
            for k in ["township_name", "kind_label", "provenance", "updated_at", "distance_m"] {
                f.remove(k);
            }
            if let Some(id) = &id {
                if let Some(first) = seen.insert(id.clone(), row) {
                    self.error(row, "id", format!("编号 {id} 与第 {first} 行重复 (the same id as row {first})"));
                    continue;
                }
                if id.len() > 40 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                    self.error(
                        row,
                        "id",
                        "编号只能含字母、数字、- 和 _，不超过 40 个字符 (letters, digits, - and _ only)",
                    );
                    continue;
                }
            }
            let base = id.as_deref().and_then(|id| snap.facility(id)).map(|e| &e.facility);
            if let (Some(b), Some(v)) = (base, version) {
                if b.version != v {
                    self.error(
                        row,
                        "version",
                        format!(
                            "{} 当前为第 {} 版，文件中为第 {v} 版：已被他人修改 (changed since; now version {})",
                            b.id, b.version, b.version
                        ),
                    );
                    continue;
                }
            }
            let mut obj = Map::new();
            match rec.geometry {
                Some(Geometry::Point(p)) => {
                    obj.insert("lon".into(), Value::from(p.x()));
                    obj.insert("lat".into(), Value::from(p.y()));
                }
                Some(_) => bad.push(("geometry".into(), "设施须为点 (a facility is a Point)".into())),
                None => {}
            }
            for k in ["name", "township_code", "address", "opened_on"] {
                if let Some(s) = take_str(&mut f, k) {
                    obj.insert(k.into(), Value::String(s));
                }
            }
            for k in ["kind", "status", "operator"] {
                if let Some(s) = take_str(&mut f, k) {
                    let code = code_for_label(k, &s).map(str::to_string).unwrap_or(s);
                    obj.insert(k.into(), Value::String(code));
                }
            }
            if let Some(b) = take_int(&mut f, "capacity_beds", &mut bad) {
                obj.insert("capacity_beds".into(), Value::from(b));
            }
            let mut attributes = match f.remove("attributes") {
                Some(Value::Object(m)) => m,
                _ => Map::new(),
            };
            for (k, v) in f {
                let v = typed_like(&k, v, base.and_then(|b| b.attributes.get(&k)));
                attributes.insert(k, v);
            }
            // Columns an update leaves empty keep their stored attributes.
            obj.insert("attributes".into(), Value::Object(attributes));
            for (field, message) in bad.drain(..) {
                self.error(row, &field, message);
            }
            let input: FacilityInput = match serde_path_to_error::deserialize(Value::Object(obj)) {
                Ok(i) => i,
                Err(e) => {
                    self.error(row, &e.path().to_string(), e.inner().to_string());
                    continue;
                }
            };
            match validate(&snap, input, base) {
                Err(p) => self.problem(row, p),
                Ok(mut fields) => match base {
                    Some(b)
                        if {
                            // A reprojection round trip is not a move.
                            if same_point(b.location, fields.location) {
                                fields.location = b.location;
                            }
                            NewFacility::from(b) == fields
                        } =>
                    {
                        self.report.unchanged += 1
                    }
                    Some(b)
                        if !(self.in_county(row, "township_code", Some(b.township_code.as_str()))
                            && self.in_county(row, "township_code", Some(fields.township_code.as_str()))) => {}
                    Some(b) => {
                        self.report.updated += 1;
                        let after = b.with_fields(&fields, b.version, &b.updated_at);
                        let diff =
                            changed_fields(&crate::store::facility_json(b), &crate::store::facility_json(&after));
                        self.report.changes.push(RowChange { row, id: b.id.clone(), fields: diff });
                        self.ops.push(ImportOp::UpdateFacility {
                            id: b.id.clone(),
                            expected_version: b.version,
                            fields,
                        });
                    }
                    None if !self.in_county(row, "township_code", Some(fields.township_code.as_str())) => {}
                    None => {
                        self.report.created += 1;
                        let fields = NewFacility { provenance: Provenance::Registered, ..fields };
                        self.ops.push(ImportOp::CreateFacility { id, fields });
                    }
                },
            }
        }
    }

    fn places(&mut self, records: Vec<Record>) {
        let registry = self.registry.places();
        let mut seen: HashMap<(String, String), usize> = HashMap::new();
        for rec in records {
            let row = rec.row;
            let mut f = rec.fields;
            let mut bad = Vec::new();
            if let Some(id) = take_str(&mut f, "id") {
                match registry.get(&id) {
                    Some(existing)
                        if f.get("name").and_then(Value::as_str).is_none_or(|n| n.trim() == existing.name) =>
                    {
                        self.report.unchanged += 1;
                    }
                    Some(_) => self.error(
                        row,
                        "name",
                        format!("{id} 已登记；更改标准地名须走更名审批 (registered names change through rename and approval)"),
                    ),
                    None => self.error(row, "id", format!("没有编号为 {id} 的地名；新地名请留空编号 (unknown id; leave it empty for a new name)")),
                }
                continue;
            }
            let status = match take_str(&mut f, "status").as_deref() {
                None | Some("proposed") | Some("待审批") => PlaceStatus::Proposed,
                Some("approved") | Some("已批准") => PlaceStatus::Approved,
                Some(other) => {
                    self.error(row, "status", format!("导入的地名状态须为 proposed 或 approved，不能为 '{other}'"));
                    continue;
                }
            };
            let mut obj = Map::new();
            if let Some(g) = rec.geometry {
                obj.insert("geometry".into(), serde_json::to_value(geojson::Geometry::from(&g)).unwrap_or(Value::Null));
            }
            for k in ["name", "division_code", "romanization", "origin"] {
                if let Some(s) = take_str(&mut f, k) {
                    obj.insert(k.into(), Value::String(s));
                }
            }
            if let Some(c) = take_str(&mut f, "category") {
                let slug = crate::naming::categories::CATEGORIES
                    .iter()
                    .find(|x| x.label == c)
                    .map_or(c, |x| x.slug.to_string());
                obj.insert("category".into(), Value::String(slug));
            }
            for k in ["alternate_names", "historic_names"] {
                if let Some(list) = take_list(&mut f, k) {
                    obj.insert(k.into(), Value::from(list));
                }
            }
            let decision =
                (take_str(&mut f, "approving_body"), take_str(&mut f, "document_no"), take_str(&mut f, "decided_on"));
            for k in [
                "specific_term",
                "generic_term",
                "category_label",
                "division_name",
                "romanization_source",
                "status_label",
                "proposed_by",
                "decided_by",
                "predecessor_id",
                "successor_id",
                "provenance",
                "version",
                "updated_at",
                "minority_form",
            ] {
                f.remove(k);
            }
            for k in f.keys() {
                bad.push((k.clone(), "未知字段 (unknown field)".to_string()));
            }
            for (field, message) in bad {
                self.error(row, &field, message);
            }
            let input: PlaceInput = match serde_path_to_error::deserialize(Value::Object(obj)) {
                Ok(i) => i,
                Err(e) => {
                    self.error(row, &e.path().to_string(), e.inner().to_string());
                    continue;
                }
            };
            let mut p = match merge(&self.registry.snapshot_guard(), input, None) {
                Ok(p) => p,
                Err(e) => {
                    self.problem(row, e);
                    continue;
                }
            };
            if let Err(e) = apply_rules(&self.registry.places(), &mut p) {
                self.problem(row, e);
                continue;
            }
            let key = (p.name.clone(), p.division_code.as_ref().map(|c| c.to_string()).unwrap_or_default());
            if let Some(first) = seen.insert(key, row) {
                self.error(
                    row,
                    "name",
                    format!("与第 {first} 行同名同区划 (the same name in the same division as row {first})"),
                );
                continue;
            }
            p.proposed_by = Some(self.who.name());
            if status == PlaceStatus::Approved {
                if !self.who.allows(Role::Approver) {
                    self.error(
                        row,
                        "status",
                        "导入已批准地名需要审批人角色 (importing approved names needs the approver role)",
                    );
                    continue;
                }
                let (Some(body), Some(doc), Some(on)) = decision else {
                    self.error(row, "approving_body", "已批准地名须有批准机关、批准文号与批准日期 (approving_body, document_no and decided_on are required)");
                    continue;
                };
                if !is_iso_date(&on) {
                    self.error(row, "decided_on", "日期格式须为 YYYY-MM-DD");
                    continue;
                }
                p.status = PlaceStatus::Approved;
                p.decided_by = Some(self.who.name());
                p.approving_body = Some(body);
                p.document_no = Some(doc);
                p.decided_on = Some(on);
            }
            if !self.in_county(row, "division_code", p.division_code.as_ref().map(|c| c.as_str())) {
                continue;
            }
            self.report.created += 1;
            self.ops.push(ImportOp::CreatePlace(Box::new(p)));
        }
    }

    fn settlements(&mut self, records: Vec<Record>) {
        let snap = self.registry.snapshot();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for rec in records {
            let row = rec.row;
            let mut f = rec.fields;
            let mut bad = Vec::new();
            let Some(code) = code_of(&mut f) else {
                self.error(row, "code", "缺少 12 位村级代码 (the 12-digit code is required)");
                continue;
            };
            let code: DivisionCode = match code.parse() {
                Ok(c) if DivisionCode::level(&c) == DivisionLevel::Village => c,
                Ok(_) => {
                    self.error(row, "code", "居民点代码须为 12 位村级代码 (a 12-digit village-level code)");
                    continue;
                }
                Err(e) => {
                    self.error(row, "code", e.message);
                    continue;
                }
            };
            let base = snap.settlement(code.as_str()).map(|e| &e.settlement);
            if !self.fresh(row, &code, &mut seen, &mut f, base.map(|b| b.version)) {
                continue;
            }
            let township_code = match take_str(&mut f, "township_code") {
                Some(t) => t.parse::<DivisionCode>().map_err(|e| bad.push(("township_code".into(), e.message))).ok(),
                None => base.map(|b| b.township_code.clone()).or_else(|| code.parent()),
            };
            if let Some(t) = &township_code {
                let known = snap.division(t.as_str()).is_some_and(|d| d.division.level == DivisionLevel::Township);
                if !known {
                    bad.push(("township_code".into(), format!("没有代码为 {t} 的乡镇 (no such township)")));
                }
            }
            let name = take_str(&mut f, "name").or(base.map(|b| b.name.clone()));
            if name.is_none() {
                bad.push(("name".into(), "缺少名称 (name is required)".into()));
            }
            let location = match rec.geometry {
                Some(Geometry::Point(p)) => {
                    LonLat::try_from([p.x(), p.y()]).map_err(|e| bad.push(("lon".into(), e.message))).ok()
                }
                Some(_) => {
                    bad.push(("geometry".into(), "居民点须为点 (a settlement is a Point)".into()));
                    None
                }
                None => base.map(|b| b.location).or_else(|| {
                    bad.push(("lon".into(), "缺少坐标 (coordinates are required)".into()));
                    None
                }),
            };
            let population = take_int(&mut f, "population", &mut bad);
            let population_60plus = take_int(&mut f, "population_60plus", &mut bad);
            for (k, v) in [("population", population), ("population_60plus", population_60plus)] {
                if v.is_some_and(|n| n < 0) {
                    bad.push((k.into(), "人口不能为负 (must not be negative)".into()));
                }
            }
            let is_xpcc = take_bool(&mut f, "is_xpcc", &mut bad);
            let short_name = take_str(&mut f, "short_name");
            let village_kind = take_str(&mut f, "village_kind");
            if let Some(k) = &village_kind {
                if !matches!(k.as_str(), "village" | "community" | "virtual" | "xpcc" | "other") {
                    bad.push(("village_kind".into(), "须为 village、community、virtual、xpcc 或 other".into()));
                }
            }
            for k in ["township_name", "provenance", "location_provenance", "population_provenance", "updated_at"] {
                f.remove(k);
            }
            for k in f.keys() {
                bad.push((k.clone(), "未知字段 (unknown field)".to_string()));
            }
            if !bad.is_empty() {
                for (field, message) in bad {
                    self.error(row, &field, message);
                }
                continue;
            }
            let (Some(name), Some(township_code), Some(location)) = (name, township_code, location) else { continue };
            let short = short_name.or(base.map(|b| b.short_name.clone())).unwrap_or_else(|| {
                name.trim_end_matches("村民委员会")
                    .trim_end_matches("居民委员会")
                    .trim_end_matches("社区居委会")
                    .to_string()
            });
            if let Some(t) = snap.township_at(location.lon(), location.lat()) {
                if t.division.code != township_code {
                    self.report.warnings.push(RowError::new(
                        row,
                        "township_code",
                        format!(
                            "该点位于 {}（{}）(the point lies in another township)",
                            t.division.name, t.division.code
                        ),
                    ));
                }
            }
            // Each part keeps its provenance unless this row changes it: what an
            // officer imports is `registered`.
            let (location, location_provenance) = match base {
                Some(b) if same_point(b.location, location) => (b.location, b.location_provenance),
                _ => (location, Provenance::Registered),
            };
            let population = population.map(|p| p as u64).or(base.and_then(|b| b.population));
            let population_60plus = population_60plus.map(|p| p as u64).or(base.and_then(|b| b.population_60plus));
            let population_provenance = match base {
                Some(b) if b.population == population && b.population_60plus == population_60plus => {
                    b.population_provenance
                }
                _ if population.is_some() || population_60plus.is_some() => Some(Provenance::Registered),
                _ => None,
            };
            let provenance = match base {
                Some(b) if b.name == name => b.provenance,
                _ => Provenance::Registered,
            };
            let s = Settlement {
                code: code.clone(),
                name,
                short_name: short,
                township_code,
                village_kind: village_kind.or(base.map(|b| b.village_kind.clone())).unwrap_or_else(|| "village".into()),
                location,
                population,
                population_60plus,
                is_xpcc: is_xpcc.or(base.map(|b| b.is_xpcc)).unwrap_or(false),
                provenance,
                location_provenance,
                population_provenance,
                version: base.map_or(1, |b| b.version),
            };
            match base {
                Some(b) if *b == s => self.report.unchanged += 1,
                _ if !self.in_county(row, "code", Some(s.code.as_str())) => {}
                Some(b) => {
                    self.report.updated += 1;
                    let diff = changed_fields(&crate::store::settlement_json(b), &crate::store::settlement_json(&s));
                    self.report.changes.push(RowChange { row, id: b.code.to_string(), fields: diff });
                    self.ops.push(ImportOp::PutSettlement { settlement: s, expected_version: Some(b.version) });
                }
                None => {
                    self.report.created += 1;
                    self.ops.push(ImportOp::PutSettlement { settlement: s, expected_version: None });
                }
            }
        }
    }

    fn divisions(&mut self, records: Vec<Record>) {
        let snap = self.registry.snapshot();
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut planned: Vec<(DivisionLevel, ImportOp)> = Vec::new();
        let codes_in_file: Vec<String> = records
            .iter()
            .filter_map(|r| r.fields.get("code").and_then(Value::as_str).map(|s| s.trim().to_string()))
            .collect();
        for rec in records {
            let row = rec.row;
            let mut f = rec.fields;
            let mut bad = Vec::new();
            let Some(code) = code_of(&mut f) else {
                self.error(row, "code", "缺少区划代码 (code is required)");
                continue;
            };
            let code: DivisionCode = match code.parse() {
                Ok(c) => c,
                Err(e) => {
                    self.error(row, "code", e.message);
                    continue;
                }
            };
            let level = code.level();
            let base = snap.division(code.as_str()).map(|e| &e.division);
            if !self.fresh(row, &code, &mut seen, &mut f, base.map(|b| b.version)) {
                continue;
            }
            if let Some(l) = take_str(&mut f, "level") {
                if l != level.as_str() {
                    bad.push((
                        "level".into(),
                        format!(
                            "代码 {code} 为 {} 级，与 '{l}' 不符 (the code's level is {})",
                            level.as_str(),
                            level.as_str()
                        ),
                    ));
                }
            }
            let parent = match level {
                DivisionLevel::County => None,
                _ => code.parent(),
            };
            f.remove("parent_code");
            if let Some(p) = &parent {
                if snap.division(p.as_str()).is_none() && !codes_in_file.iter().any(|c| c == p.as_str()) {
                    bad.push(("code".into(), format!("上级区划 {p} 不存在 (the parent division {p} does not exist)")));
                }
            }
            let name = take_str(&mut f, "name").or(base.map(|b| b.name.clone()));
            if name.is_none() {
                bad.push(("name".into(), "缺少名称 (name is required)".into()));
            }
            let geometry = match (rec.geometry, level) {
                (None, _) => base.and_then(|b| b.geometry.clone()),
                (Some(Geometry::Polygon(p)), DivisionLevel::County | DivisionLevel::Township) => {
                    Some(Geometry::MultiPolygon(MultiPolygon(vec![p])))
                }
                (Some(g @ Geometry::MultiPolygon(_)), DivisionLevel::County | DivisionLevel::Township) => Some(g),
                (Some(g @ Geometry::Point(_)), DivisionLevel::Village) => Some(g),
                (Some(_), DivisionLevel::Village) => {
                    bad.push(("geometry".into(), "村级区划为驻地点 (a village-level division is a Point)".into()));
                    None
                }
                (Some(_), _) => {
                    bad.push((
                        "geometry".into(),
                        "县、乡级区划须为面 (a county or township is a Polygon or MultiPolygon)".into(),
                    ));
                    None
                }
            };
            if let Some(g) = &geometry {
                if let Some(e) = geometry_problem(g) {
                    bad.push(("geometry".into(), e));
                }
            }
            let pinyin = take_str(&mut f, "pinyin");
            let is_xpcc = take_bool(&mut f, "is_xpcc", &mut bad);
            let valid_from = take_str(&mut f, "valid_from");
            let valid_to = take_str(&mut f, "valid_to");
            for d in [&valid_from, &valid_to].into_iter().flatten() {
                if !is_iso_date(d) {
                    bad.push(("valid_from".into(), format!("'{d}' 须为 YYYY-MM-DD")));
                }
            }
            for k in ["area_km2", "provenance", "geometry_provenance", "updated_at"] {
                f.remove(k);
            }
            if !bad.is_empty() {
                for (field, message) in bad {
                    self.error(row, &field, message);
                }
                continue;
            }
            let Some(name) = name else { continue };
            // Each part keeps its provenance unless this row changes it: what an
            // officer imports is `registered`.
            let (geometry, geometry_provenance) = match (base.and_then(|b| b.geometry.as_ref()), geometry) {
                (Some(old), Some(new)) if same_geometry(old, &new) => {
                    (Some(old.clone()), base.and_then(|b| b.geometry_provenance))
                }
                (_, Some(new)) => (Some(new), Some(Provenance::Registered)),
                (_, None) => (None, None),
            };
            let provenance = match base {
                Some(b) if b.name == name => b.provenance,
                _ => Provenance::Registered,
            };
            let mut properties = base.map(|b| b.properties.clone()).unwrap_or_default();
            for (k, v) in f {
                let v = typed_like(&k, v, base.and_then(|b| b.properties.get(&k)));
                properties.insert(k, v);
            }
            let today = time::OffsetDateTime::now_utc().date().to_string();
            let d = Division {
                code: code.clone(),
                level,
                pinyin: pinyin
                    .or(base.filter(|b| b.name == name).map(|b| b.pinyin.clone()))
                    .unwrap_or_else(|| crate::naming::romanize(&name)),
                name,
                parent_code: parent,
                geometry,
                is_xpcc: is_xpcc.or(base.map(|b| b.is_xpcc)).unwrap_or(false),
                provenance,
                geometry_provenance,
                valid_from: valid_from.or(base.map(|b| b.valid_from.clone())).unwrap_or(today),
                valid_to: valid_to.or(base.and_then(|b| b.valid_to.clone())),
                properties,
                version: base.map_or(1, |b| b.version),
            };
            match base {
                Some(b) if *b == d => self.report.unchanged += 1,
                _ if !self.in_county(row, "code", Some(d.code.as_str())) => {}
                Some(b) => {
                    self.report.updated += 1;
                    let diff = changed_fields(&crate::store::division_json(b), &crate::store::division_json(&d));
                    self.report.changes.push(RowChange { row, id: b.code.to_string(), fields: diff });
                    planned.push((level, ImportOp::PutDivision { division: d, expected_version: Some(b.version) }));
                }
                None => {
                    self.report.created += 1;
                    planned.push((level, ImportOp::PutDivision { division: d, expected_version: None }));
                }
            }
        }
        self.repartition(&snap, &mut planned);
        // Parents before children.
        planned.sort_by_key(|(level, _)| *level);
        self.ops.extend(planned.into_iter().map(|(_, op)| op));
    }
}

impl Plan<'_> {
    /// An imported township boundary replaces a synthetic one: the county's remaining
    /// synthetic township polygons are made again so that, with every real or
    /// registered one, they still partition the county outline — the Voronoi cells
    /// of their seats over the outline less the non-synthetic polygons. A cell far
    /// from the change is unchanged; the neighbours are clipped, and take over what
    /// the old synthetic polygon covered beyond the imported one.
    fn repartition(&mut self, snap: &crate::spatial::Snapshot, planned: &mut Vec<(DivisionLevel, ImportOp)>) {
        use geo::{Area, BooleanOps, InteriorPoint, Intersects};
        let synthetic = Some(Provenance::Synthetic);
        // The townships this import gives a non-synthetic polygon, by county, with their rows.
        let mut counties: HashMap<String, usize> = HashMap::new();
        let mut imported: HashMap<String, Division> = HashMap::new();
        for (level, op) in planned.iter() {
            if let (DivisionLevel::Township, ImportOp::PutDivision { division: d, .. }) = (level, op) {
                // Any township polygon this import changes that is not synthetic itself.
                let old = snap.division(d.code.as_str()).and_then(|b| b.division.geometry.as_ref());
                let moved = d.geometry.as_ref().is_some_and(|new| !old.is_some_and(|o| same_geometry(o, new)));
                if moved && d.geometry_provenance != synthetic {
                    let row = self.report.changes.iter().find(|c| c.id == d.code.as_str()).map_or(0, |c| c.row);
                    counties.entry(d.code.as_str().get(..6).unwrap_or_default().to_string()).or_insert(row);
                }
                imported.insert(d.code.to_string(), d.clone());
            }
        }
        for (county, row) in counties {
            let Some(Geometry::MultiPolygon(outline)) =
                snap.division(&county).and_then(|c| c.division.geometry.clone())
            else {
                continue;
            };
            // What changes: the old and new polygons of the county's imported townships.
            let mut changed = MultiPolygon::<f64>(Vec::new());
            for d in imported.values().filter(|d| d.code.as_str().starts_with(county.as_str())) {
                let old = snap.division(d.code.as_str()).and_then(|e| e.division.geometry.as_ref());
                for g in [old, d.geometry.as_ref()].into_iter().flatten() {
                    if let Geometry::MultiPolygon(m) = g {
                        changed.0.extend(m.0.iter().cloned());
                    }
                }
            }
            let mut fixed = MultiPolygon::<f64>(Vec::new());
            let mut redo: Vec<(&Division, geo_types::Coord<f64>)> = Vec::new();
            for e in snap.divisions().iter().filter(|e| {
                e.division.level == DivisionLevel::Township && e.division.code.as_str().starts_with(county.as_str())
            }) {
                let d = imported.get(e.division.code.as_str()).unwrap_or(&e.division);
                let poly = match &d.geometry {
                    Some(Geometry::MultiPolygon(m)) => m.clone(),
                    _ => continue,
                };
                // Only the synthetic polygons that touch the change are made again.
                let near = d.geometry_provenance == synthetic
                    && !imported.contains_key(d.code.as_str())
                    && poly.intersects(&changed);
                if near {
                    let seat = d
                        .properties
                        .get("seat")
                        .and_then(|s| s.as_array())
                        .and_then(|a| Some(geo_types::Coord { x: a.first()?.as_f64()?, y: a.get(1)?.as_f64()? }));
                    let Some(seat) = seat.or_else(|| poly.interior_point().map(|p| p.0)) else { continue };
                    redo.push((&e.division, seat));
                } else {
                    fixed = fixed.union(&poly);
                }
            }
            if redo.is_empty() {
                continue;
            }
            let free = outline.difference(&fixed);
            let seats: Vec<_> = redo.iter().map(|(_, s)| *s).collect();
            let cells = crate::spatial::partition::voronoi_cells(&free, &seats);
            let mut clipped = Vec::new();
            for ((d, _), cell) in redo.into_iter().zip(cells) {
                // A seat covered by the imported polygon: what is left of the old one.
                // The cut snaps to a 1e-7° grid: take the kept polygons out once more, in
                // floating point, so that no cell overlaps them. A seat the kept polygons
                // cover gets no cell: that township is left without a polygon, and said so.
                let cell = cell.difference(&fixed);
                // A cell the change does not reach comes out of the new cut the same but for
                // its vertices' order and last bits: it is kept as it was.
                let same = match &d.geometry {
                    Some(Geometry::MultiPolygon(old)) => old.xor(&cell).unsigned_area() < 1e-10,
                    _ => cell.0.is_empty(),
                };
                if same {
                    continue;
                }
                let geometry = (!cell.0.is_empty()).then_some(Geometry::MultiPolygon(cell));
                if geometry.is_none() {
                    self.report.warnings.push(RowError::new(
                        row,
                        "geometry",
                        format!(
                            "{}（{}）的合成边界已被导入的边界完全覆盖，现无边界 (its synthetic polygon is wholly covered by imported ones and is removed)",
                            d.name, d.code
                        ),
                    ));
                }
                let geometry_provenance = geometry.as_ref().and(d.geometry_provenance);
                let after = Division { geometry, geometry_provenance, ..d.clone() };
                self.report.updated += 1;
                self.report.changes.push(RowChange { row, id: d.code.to_string(), fields: vec!["geometry".into()] });
                clipped.push(d.name.clone());
                planned.push((
                    DivisionLevel::Township,
                    ImportOp::PutDivision { division: after, expected_version: Some(d.version) },
                ));
            }
            if !clipped.is_empty() {
                self.report.warnings.push(RowError::new(
                    row,
                    "geometry",
                    format!(
                        "为保持乡镇边界无缝无叠，重新生成了 {} 个合成（示例）乡镇边界：{} (synthetic township polygons redrawn so the county stays partitioned)",
                        clipped.len(),
                        clipped.join("、")
                    ),
                ));
            }
        }
    }
}

/// Within 1e-9° (0.1 mm): what a reprojection round trip leaves of an unmoved point.
fn same_point(a: LonLat, b: LonLat) -> bool {
    (a.lon() - b.lon()).abs() < 1e-9 && (a.lat() - b.lat()).abs() < 1e-9
}

fn same_geometry(a: &Geometry<f64>, b: &Geometry<f64>) -> bool {
    use geo::CoordsIter;
    std::mem::discriminant(a) == std::mem::discriminant(b)
        && a.coords_count() == b.coords_count()
        && a.coords_iter().zip(b.coords_iter()).all(|(p, q)| (p.x - q.x).abs() < 1e-9 && (p.y - q.y).abs() < 1e-9)
}

/// A polygon that is not valid (self-intersecting rings, holes outside) or a
/// coordinate off the globe.
fn geometry_problem(g: &Geometry<f64>) -> Option<String> {
    use geo::CoordsIter;
    if g.coords_iter().any(|c| !(-180.0..=180.0).contains(&c.x) || !(-90.0..=90.0).contains(&c.y)) {
        return Some("坐标超出经纬度范围 (coordinates outside lon/lat bounds; is the CRS right?)".into());
    }
    if let Geometry::MultiPolygon(mp) = g {
        use geo::Validation;
        if let Some(e) = mp.check_validation().err() {
            return Some(format!("面无效 (invalid polygon): {e}"));
        }
    }
    None
}
