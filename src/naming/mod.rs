//! Place-name rules and romanization.
//!
//! Owns: Hanyu Pinyin romanization of standard names per the place-name spelling
//! rules (specific and generic term written separately, each capitalized, no tone
//! marks: 乐土驿镇 → `Letuyi Zhen`), with a reviewed table of readings for
//! polyphonic characters in `data/naming/polyphones.csv`. Must not: do I/O at
//! query time or know about storage.

pub mod categories;
pub mod registry;
pub mod rules;
pub mod search;

use pinyin::ToPinyin;
use std::sync::LazyLock;

/// Generic terms (通名) recognised at the end of a name, longest first.
const GENERIC_TERMS: &[&str] = &[
    "虚拟生活区",
    "连队生活区",
    "居民委员会",
    "村民委员会",
    "村民委会",
    "村委会",
    "民族乡",
    "工业区",
    "试验站",
    "生活区",
    "街道",
    "社区",
    "农场",
    "林场",
    "县",
    "镇",
    "乡",
    "村",
    "团",
];

static POLYPHONES: LazyLock<Vec<(Vec<char>, Vec<String>)>> = LazyLock::new(|| {
    let mut v: Vec<(Vec<char>, Vec<String>)> = include_str!("../../data/naming/polyphones.csv")
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut cols = line.split(',');
            let phrase: Vec<char> = cols.next()?.chars().collect();
            let syllables: Vec<String> = cols.next()?.split_whitespace().map(str::to_string).collect();
            (phrase.len() == syllables.len() && !phrase.is_empty()).then_some((phrase, syllables))
        })
        .collect();
    // Longest phrase first, so 乐土 wins over a single-character reading.
    v.sort_by_key(|p| std::cmp::Reverse(p.0.len()));
    v
});

/// Split a name into its specific term (专名) and generic term (通名), if the name
/// ends with a known generic term and has something before it.
pub fn split_generic(name: &str) -> (&str, Option<&str>) {
    for g in GENERIC_TERMS {
        if let Some(specific) = name.strip_suffix(g) {
            if !specific.is_empty() {
                return (specific, Some(g));
            }
        }
    }
    (name, None)
}

/// Toneless pinyin syllables of a Chinese text; characters without a reading
/// (digits, Latin letters) are kept as they are.
pub fn syllables(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::with_capacity(chars.len());
    let mut rest: &[char] = &chars;
    while let Some((&c, after_c)) = rest.split_first() {
        if let Some((phrase, readings)) = POLYPHONES.iter().find(|(p, _)| rest.starts_with(p)) {
            out.extend(readings.iter().cloned());
            // `rest` starts with the (non-empty) phrase, so this always advances.
            rest = rest.get(phrase.len()..).unwrap_or_default();
            continue;
        }
        match c.to_pinyin() {
            Some(p) => out.push(p.plain().to_string()),
            None => out.push(c.to_string()),
        }
        rest = after_c;
    }
    out
}

fn capitalized_word(syllables: &[String]) -> String {
    let joined: String = syllables.concat();
    let mut cs = joined.chars();
    match cs.next() {
        Some(first) => first.to_uppercase().chain(cs).collect(),
        None => String::new(),
    }
}

/// The romanization of a standard name: `乐土驿镇` → `Letuyi Zhen`.
pub fn romanize(name: &str) -> String {
    romanize_with(name, None)
}

/// Romanize with a known generic term (from the category), else the built-in list.
pub fn romanize_with(name: &str, generic: Option<&str>) -> String {
    let (specific, generic) = match generic.and_then(|g| name.strip_suffix(g).filter(|s| !s.is_empty()).map(|s| (s, g)))
    {
        Some((s, g)) => (s, Some(g)),
        None => split_generic(name),
    };
    let mut parts = vec![capitalized_word(&syllables(specific))];
    if let Some(g) = generic {
        parts.push(capitalized_word(&syllables(g)));
    }
    parts.retain(|p| !p.is_empty());
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn township_names_romanize_with_the_generic_term_apart() {
        assert_eq!(romanize("乐土驿镇"), "Letuyi Zhen");
        assert_eq!(romanize("玛纳斯县"), "Manasi Xian");
        assert_eq!(romanize("广东地乡"), "Guangdongdi Xiang");
        assert_eq!(romanize("旱卡子滩乡"), "Hankazitan Xiang");
        assert_eq!(romanize("六户地镇"), "Liuhudi Zhen");
        assert_eq!(romanize("楼南村"), "Lounan Cun");
    }
}
