//! Name search: Chinese substring, full pinyin (case and spaces ignored), pinyin
//! initials (`ltyz` → 乐土驿镇), tolerant of one typo; ranked exact > prefix >
//! substring > one-typo, then by status (approved first, retired last), then shorter
//! names, then insertion order.
//!
//! Postings: character bigrams (and single characters) of the Chinese name, ASCII
//! trigrams of the pinyin and the initials, and 1–2 letter prefixes. A query reads
//! the rarest posting list that must contain every match and verifies each
//! candidate, so selective queries touch few entries even among millions.

use super::syllables;
use std::collections::HashMap;

/// How a record matched a search (`match` in its properties).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    Exact,
    Prefix,
    Substring,
    OneTypo,
}

impl MatchKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchKind::Exact => "exact",
            MatchKind::Prefix => "prefix",
            MatchKind::Substring => "substring",
            MatchKind::OneTypo => "one_typo",
        }
    }
}

struct Entry {
    name: Vec<char>,
    pinyin: String,
    initials: String,
    rank: u8,
}

/// Postings larger than this are not read for one-typo candidates (too common to help).
const FUZZY_POSTING_MAX: usize = 50_000;

#[derive(Default)]
pub struct SearchIndex {
    entries: Vec<Entry>,
    /// Entry indices sorted by pinyin, and by initials: prefix ranges for one-typo search.
    by_pinyin: Vec<u32>,
    by_initials: Vec<u32>,
    uni: HashMap<char, Vec<u32>>,
    bi: HashMap<(char, char), Vec<u32>>,
    tri: HashMap<[u8; 3], Vec<u32>>,
    pre: HashMap<Vec<u8>, Vec<u32>>,
}

fn push_unique(list: &mut Vec<u32>, i: u32) {
    if list.last() != Some(&i) {
        list.push(i);
    }
}

/// Lowercase ASCII letters only: how pinyin queries are compared.
pub fn normalize_latin(q: &str) -> String {
    q.chars().filter(|c| c.is_ascii_alphabetic()).map(|c| c.to_ascii_lowercase()).collect()
}

fn is_han(c: char) -> bool {
    ('\u{3400}'..='\u{9FFF}').contains(&c)
        || ('\u{F900}'..='\u{FAFF}').contains(&c)
        || ('\u{20000}'..='\u{3FFFF}').contains(&c)
}

impl SearchIndex {
    /// Build from `(name, rank)` pairs; index `i` of the result is the pair's position.
    pub fn build<'a>(names: impl IntoIterator<Item = (&'a str, u8)>) -> Self {
        let mut ix = SearchIndex::default();
        for (i, (name, rank)) in names.into_iter().enumerate() {
            let i = i as u32;
            let chars: Vec<char> = name.chars().collect();
            let syl = syllables(name);
            let pinyin: String = normalize_latin(&syl.concat());
            let initials: String =
                syl.iter().filter_map(|s| s.chars().next()).filter(|c| c.is_ascii_alphabetic()).collect();
            for &c in &chars {
                push_unique(ix.uni.entry(c).or_default(), i);
            }
            for (&a, &b) in chars.iter().zip(chars.iter().skip(1)) {
                push_unique(ix.bi.entry((a, b)).or_default(), i);
            }
            for s in [&pinyin, &initials] {
                for t in trigrams(s.as_bytes()) {
                    push_unique(ix.tri.entry(t).or_default(), i);
                }
                for p in (1..=2).filter_map(|n| s.as_bytes().get(..n)) {
                    push_unique(ix.pre.entry(p.to_vec()).or_default(), i);
                }
            }
            ix.entries.push(Entry { name: chars, pinyin, initials, rank });
        }
        ix.by_pinyin = sorted_by(&ix.entries, |e| e.pinyin.as_str());
        ix.by_initials = sorted_by(&ix.entries, |e| e.initials.as_str());
        ix
    }

    /// The entry at an index read from this index's own postings or sorted lists.
    #[expect(
        clippy::indexing_slicing,
        reason = "postings and sorted lists hold only indices of `entries`, pushed by `build` as each entry was added"
    )]
    #[inline]
    fn entry(&self, i: u32) -> &Entry {
        &self.entries[i as usize]
    }

    /// Entries whose pinyin (or initials) starts with `prefix`, at most `cap`.
    fn prefix_range(&self, prefix: &str, initials: bool, cap: usize) -> &[u32] {
        let sorted = if initials { &self.by_initials } else { &self.by_pinyin };
        let key = |i: u32| {
            let e = self.entry(i);
            if initials {
                e.initials.as_str()
            } else {
                e.pinyin.as_str()
            }
        };
        let lo = sorted.partition_point(|&i| key(i) < prefix);
        let from_lo = sorted.get(lo..).unwrap_or_default();
        let n = from_lo.partition_point(|&i| key(i).starts_with(prefix));
        from_lo.get(..n.min(cap)).unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The best `limit` matches among entries that pass `keep`, ranked.
    pub fn search(&self, q: &str, limit: usize, keep: impl Fn(u32) -> bool) -> Vec<(u32, MatchKind)> {
        let q = q.trim();
        let mut hits: Vec<(MatchKind, u8, usize, u32)> = Vec::new();
        if q.chars().any(is_han) {
            let qc: Vec<char> = q.chars().filter(|c| !c.is_whitespace()).collect();
            let lists: Vec<Option<&Vec<u32>>> = if qc.len() >= 2 {
                qc.iter().zip(qc.iter().skip(1)).map(|(&a, &b)| self.bi.get(&(a, b))).collect()
            } else {
                vec![qc.first().and_then(|c| self.uni.get(c))]
            };
            let candidates = rarest_intersection(&lists);
            for &i in &candidates {
                let e = self.entry(i);
                if let Some(kind) = classify_chars(&e.name, &qc) {
                    if keep(i) {
                        hits.push((kind, e.rank, e.name.len(), i));
                    }
                }
            }
            if hits.len() < limit && qc.len() >= 2 {
                self.fuzzy_han(&qc, &keep, &mut hits);
            }
        } else {
            let ql = normalize_latin(q);
            if ql.is_empty() {
                return Vec::new();
            }
            let lists: Vec<Option<&Vec<u32>>> = if ql.len() >= 3 {
                trigrams(ql.as_bytes()).map(|t| self.tri.get(&t)).collect()
            } else {
                vec![self.pre.get(ql.as_bytes())]
            };
            let candidates = rarest_intersection(&lists);
            for &i in &candidates {
                let e = self.entry(i);
                if let Some(kind) = classify_latin(e, &ql) {
                    if keep(i) {
                        hits.push((kind, e.rank, e.name.len(), i));
                    }
                }
            }
            if hits.len() < limit && ql.len() >= 4 {
                self.fuzzy_latin(&ql, &keep, &mut hits);
            }
        }
        let k = limit.min(hits.len());
        if k == 0 {
            return Vec::new();
        }
        if hits.len() > k {
            hits.select_nth_unstable(k - 1);
            hits.truncate(k);
        }
        hits.sort_unstable();
        hits.into_iter().map(|(kind, _, _, i)| (i, kind)).collect()
    }

    fn fuzzy_han(&self, qc: &[char], keep: &impl Fn(u32) -> bool, hits: &mut Vec<(MatchKind, u8, usize, u32)>) {
        let seen: std::collections::HashSet<u32> = hits.iter().map(|h| h.3).collect();
        // Any one-character typo keeps all but one character: the two rarest
        // characters' postings hold every candidate.
        let mut lists: Vec<&Vec<u32>> = qc.iter().filter_map(|c| self.uni.get(c)).collect();
        lists.sort_by_key(|l| l.len());
        let mut cands: Vec<u32> =
            lists.iter().take(2).filter(|l| l.len() <= FUZZY_POSTING_MAX).flat_map(|l| l.iter().copied()).collect();
        cands.sort_unstable();
        cands.dedup();
        for i in cands {
            if seen.contains(&i) {
                continue;
            }
            let e = self.entry(i);
            if one_typo_chars(&e.name, qc) && keep(i) {
                hits.push((MatchKind::OneTypo, e.rank, e.name.len(), i));
            }
        }
    }

    fn fuzzy_latin(&self, ql: &str, keep: &impl Fn(u32) -> bool, hits: &mut Vec<(MatchKind, u8, usize, u32)>) {
        let seen: std::collections::HashSet<u32> = hits.iter().map(|h| h.3).collect();
        // Pigeonhole: one edit leaves one half of the query intact. Either the first
        // half is a prefix of the name's pinyin (or initials), or the second half's
        // rarest trigram occurs in it.
        let half = ql.len() / 2;
        let mut cands: Vec<u32> = Vec::new();
        for initials in [false, true] {
            // `ql` is ASCII (normalize_latin), so `half` is a character boundary.
            cands.extend_from_slice(self.prefix_range(ql.get(..half).unwrap_or(ql), initials, FUZZY_POSTING_MAX));
        }
        let second = ql.as_bytes().get(half..).unwrap_or_default();
        if second.len() >= 3 {
            if let Some(list) = trigrams(second).filter_map(|t| self.tri.get(&t)).min_by_key(|l| l.len()) {
                // All of it: cutting this list could drop the only match.
                cands.extend(list.iter());
            }
        }
        cands.sort_unstable();
        cands.dedup();
        for i in cands {
            if seen.contains(&i) {
                continue;
            }
            let e = self.entry(i);
            let close = [&e.pinyin, &e.initials].iter().any(|s| within_one_prefix(s.as_bytes(), ql.as_bytes()));
            if close && keep(i) {
                hits.push((MatchKind::OneTypo, e.rank, e.name.len(), i));
            }
        }
    }
}

/// The entries in every list (all must hold a match), computed from the two
/// rarest lists; a missing list means no entry can match.
fn rarest_intersection(lists: &[Option<&Vec<u32>>]) -> Vec<u32> {
    if lists.iter().any(|l| l.is_none()) {
        return Vec::new();
    }
    let mut ls: Vec<&Vec<u32>> = lists.iter().flatten().copied().collect();
    ls.sort_by_key(|l| l.len());
    match ls.as_slice() {
        [] => Vec::new(),
        [only] => only.to_vec(),
        [a, b, ..] => {
            // Both sorted ascending: a merge, galloping through the longer list.
            let mut out = Vec::with_capacity(a.len());
            let mut rest: &[u32] = b;
            for &x in a.iter() {
                rest = rest.get(rest.partition_point(|&y| y < x)..).unwrap_or_default();
                if rest.first() == Some(&x) {
                    out.push(x);
                }
            }
            out
        }
    }
}

fn classify_chars(name: &[char], q: &[char]) -> Option<MatchKind> {
    if name == q {
        Some(MatchKind::Exact)
    } else if name.starts_with(q) {
        Some(MatchKind::Prefix)
    } else if name.windows(q.len()).any(|w| w == q) {
        Some(MatchKind::Substring)
    } else {
        None
    }
}

fn classify_latin(e: &Entry, q: &str) -> Option<MatchKind> {
    if e.pinyin == q || e.initials == q {
        Some(MatchKind::Exact)
    } else if e.pinyin.starts_with(q) || e.initials.starts_with(q) {
        Some(MatchKind::Prefix)
    } else if e.pinyin.contains(q) {
        Some(MatchKind::Substring)
    } else {
        None
    }
}

/// Whether `q` is within one edit of `s` or of one of its prefixes (the one-typo rule).
pub fn within_one_prefix(s: &[u8], q: &[u8]) -> bool {
    [q.len().saturating_sub(1), q.len(), q.len() + 1]
        .into_iter()
        .filter(|&n| n >= 1)
        .filter_map(|n| s.get(..n))
        .any(|prefix| edit_distance_at_most_one(prefix, q))
}

/// Whether the name is within one character edit of the query, or of a window of
/// the query's length (a typo inside a longer name).
fn one_typo_chars(name: &[char], q: &[char]) -> bool {
    if edit_distance_at_most_one(name, q) {
        return true;
    }
    name.len() > q.len() && name.windows(q.len()).any(|w| w.iter().zip(q).filter(|(a, b)| a != b).count() <= 1)
}

fn edit_distance_at_most_one<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    let (a, b) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if b.len() - a.len() > 1 {
        return false;
    }
    let p = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    if a.len() == b.len() {
        // One substitution at the first difference; all after it must agree.
        a.iter().zip(b).skip(p + 1).all(|(x, y)| x == y)
    } else {
        // One insertion into `a` at the first difference (`p <= a.len() < b.len()`).
        a.get(p..) == b.get(p + 1..)
    }
}

/// The byte trigrams of `s`, in order.
fn trigrams(s: &[u8]) -> impl Iterator<Item = [u8; 3]> + '_ {
    s.windows(3).filter_map(|w| <[u8; 3]>::try_from(w).ok())
}

/// Indices of `entries` ordered by `key`; equal keys keep insertion order.
fn sorted_by(entries: &[Entry], key: impl Fn(&Entry) -> &str) -> Vec<u32> {
    let mut keyed: Vec<(&str, u32)> = entries.iter().enumerate().map(|(i, e)| (key(e), i as u32)).collect();
    keyed.sort_by_key(|&(k, _)| k);
    keyed.into_iter().map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ix() -> SearchIndex {
        SearchIndex::build([
            ("乐土驿镇", 0),
            ("乐土驿镇敬老院", 0),
            ("玛纳斯镇", 0),
            ("兰州湾镇", 0),
            ("老乐土驿镇", 3),
        ])
    }

    fn names(ix: &SearchIndex, q: &str) -> Vec<(u32, MatchKind)> {
        ix.search(q, 10, |_| true)
    }

    #[test]
    fn chinese_pinyin_and_initials_find_the_name_ranked() {
        let ix = ix();
        assert_eq!(
            names(&ix, "乐土驿")[..3],
            [(0, MatchKind::Prefix), (1, MatchKind::Prefix), (4, MatchKind::Substring)]
        );
        assert_eq!(names(&ix, "乐土驿镇")[0], (0, MatchKind::Exact));
        assert_eq!(names(&ix, "ltyz")[0], (0, MatchKind::Exact));
        assert_eq!(names(&ix, "Letuyi Zhen")[0], (0, MatchKind::Exact));
        assert_eq!(names(&ix, "LETUYI")[0], (0, MatchKind::Prefix));
        assert_eq!(names(&ix, "manasi")[0], (2, MatchKind::Prefix));
    }

    #[test]
    fn one_typo_is_forgiven() {
        let ix = ix();
        // Typos are forgiven against a whole pinyin or its prefix, not mid-word.
        assert_eq!(names(&ix, "letuyu"), vec![(0, MatchKind::OneTypo), (1, MatchKind::OneTypo)]);
        assert!(names(&ix, "乐士驿镇").iter().any(|&(i, k)| i == 0 && k == MatchKind::OneTypo));
        assert!(names(&ix, "lanzhouwn").iter().any(|&(i, _)| i == 3));
        assert!(names(&ix, "xyzxyz").is_empty());
    }
}
