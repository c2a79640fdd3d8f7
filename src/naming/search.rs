//! Name search: Chinese substring, full pinyin (case and spaces ignored), pinyin
//! initials (`ltyz` → 乐土驿镇), tolerant of one typo; ranked exact > prefix >
//! substring > one-typo, then by status (approved first, retired last), then shorter
//! names, then insertion order.
//!
//! Entries are numbered in ranking order (status rank, then length in characters,
//! then insertion), so every posting list is already in result order within a match
//! kind and each kind's scan stops once `limit` matches of that kind or better are in
//! hand: a query of a common ending (社区, 委员会: ≈ 90 % of village names) verifies a
//! few dozen entries, not a quarter of a million. Postings: character bigrams (and
//! single characters) of the Chinese name, ASCII trigrams of the pinyin and the
//! initials, 1–2 letter prefixes, and the names by their first one or two characters
//! and their pinyin and initials by their first trigram (prefix matches in ranking
//! order). Exact matches are found whole: by the (rank, length) block of the names
//! starting like the query, or by the equal block of the pinyin- and initials-sorted
//! lists. `search_exhaustive` — every candidate of the rarest postings verified — is
//! the oracle the tests hold `search` to.

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
    /// The position of the name in `build`'s input: what `search` answers with.
    ext: u32,
}

/// A hit: its kind and the entry's number (ranking order), so that sorting hits
/// sorts them as results.
type Hit = (MatchKind, u32);

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
    /// Names by their first character, and by their first two.
    starts1: HashMap<char, Vec<u32>>,
    starts2: HashMap<(char, char), Vec<u32>>,
    /// Pinyin, and initials, by their first trigram.
    starts_pinyin: HashMap<[u8; 3], Vec<u32>>,
    starts_initials: HashMap<[u8; 3], Vec<u32>>,
    /// The ranks present, ascending.
    ranks: Vec<u8>,
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
        // Ranking order: rank, then length in characters, then the input's order.
        let mut items: Vec<(u8, usize, u32, &str)> = names
            .into_iter()
            .enumerate()
            .map(|(i, (name, rank))| (rank, name.chars().count(), i as u32, name))
            .collect();
        items.sort_unstable();
        for (j, &(rank, _, ext, name)) in items.iter().enumerate() {
            let i = j as u32;
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
            if let Some(&a) = chars.first() {
                ix.starts1.entry(a).or_default().push(i);
                if let Some(&b) = chars.get(1) {
                    ix.starts2.entry((a, b)).or_default().push(i);
                }
            }
            for (s, starts) in [(&pinyin, &mut ix.starts_pinyin), (&initials, &mut ix.starts_initials)] {
                if let Some(t) = trigrams(s.as_bytes()).next() {
                    starts.entry(t).or_default().push(i);
                }
            }
            for s in [&pinyin, &initials] {
                for t in trigrams(s.as_bytes()) {
                    push_unique(ix.tri.entry(t).or_default(), i);
                }
                for p in (1..=2).filter_map(|n| s.as_bytes().get(..n)) {
                    push_unique(ix.pre.entry(p.to_vec()).or_default(), i);
                }
            }
            ix.entries.push(Entry { name: chars, pinyin, initials, rank, ext });
        }
        ix.ranks = items.iter().map(|&(r, ..)| r).collect();
        ix.ranks.dedup();
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

    /// The best `limit` matches among entries that pass `keep` (given the input
    /// position), ranked: each kind's scan stops once `limit` matches of that kind
    /// or better are in hand.
    pub fn search(&self, q: &str, limit: usize, keep: impl Fn(u32) -> bool) -> Vec<(u32, MatchKind)> {
        let q = q.trim();
        if limit == 0 {
            return Vec::new();
        }
        let keep = |j: u32| keep(self.entry(j).ext);
        let mut hits: Vec<Hit> = Vec::new();
        if q.chars().any(is_han) {
            let qc: Vec<char> = q.chars().filter(|c| !c.is_whitespace()).collect();
            self.han_first_pass(&qc, limit, &keep, &mut hits);
            if hits.len() < limit && qc.len() >= 2 {
                self.fuzzy_han(&qc, limit, &keep, &mut hits);
            }
        } else {
            let ql = normalize_latin(q);
            if ql.is_empty() {
                return Vec::new();
            }
            if ql.len() >= 3 {
                self.latin_first_pass(&ql, limit, &keep, &mut hits);
            } else {
                // One or two letters: every name whose pinyin or initials start so.
                for &j in self.pre.get(ql.as_bytes()).map(Vec::as_slice).unwrap_or_default() {
                    if let Some(kind) = classify_latin(self.entry(j), &ql) {
                        if keep(j) {
                            hits.push((kind, j));
                        }
                    }
                }
            }
            if hits.len() < limit && ql.len() >= 4 {
                self.fuzzy_latin(&ql, limit, true, &keep, &mut hits);
            }
        }
        self.best(hits, limit)
    }

    /// The oracle for `search`: every candidate of the rarest postings verified,
    /// then the best `limit` (`limit = 0`: every match, for measuring).
    pub fn search_exhaustive(&self, q: &str, limit: usize, keep: impl Fn(u32) -> bool) -> Vec<(u32, MatchKind)> {
        let q = q.trim();
        let keep = |j: u32| keep(self.entry(j).ext);
        let mut hits: Vec<Hit> = Vec::new();
        if q.chars().any(is_han) {
            let qc: Vec<char> = q.chars().filter(|c| !c.is_whitespace()).collect();
            let lists: Vec<Option<&Vec<u32>>> = if qc.len() >= 2 {
                qc.iter().zip(qc.iter().skip(1)).map(|(&a, &b)| self.bi.get(&(a, b))).collect()
            } else {
                vec![qc.first().and_then(|c| self.uni.get(c))]
            };
            for j in rarest_intersection(&lists) {
                if let Some(kind) = classify_chars(&self.entry(j).name, &qc) {
                    if keep(j) {
                        hits.push((kind, j));
                    }
                }
            }
            if hits.len() < limit && qc.len() >= 2 {
                self.fuzzy_han(&qc, usize::MAX, &keep, &mut hits);
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
            for j in rarest_intersection(&lists) {
                if let Some(kind) = classify_latin(self.entry(j), &ql) {
                    if keep(j) {
                        hits.push((kind, j));
                    }
                }
            }
            if hits.len() < limit && ql.len() >= 4 {
                self.fuzzy_latin(&ql, usize::MAX, false, &keep, &mut hits);
            }
        }
        let n = if limit == 0 { hits.len() } else { limit };
        self.best(hits, n)
    }

    /// The first `limit` hits in result order, as input positions.
    fn best(&self, mut hits: Vec<Hit>, limit: usize) -> Vec<(u32, MatchKind)> {
        let k = limit.min(hits.len());
        if k == 0 {
            return Vec::new();
        }
        if hits.len() > k {
            hits.select_nth_unstable(k - 1);
            hits.truncate(k);
        }
        hits.sort_unstable();
        hits.into_iter().map(|(kind, j)| (self.entry(j).ext, kind)).collect()
    }

    /// Exact, prefix and substring matches of a Chinese query, each kind in ranking
    /// order until `limit` matches are in hand.
    fn han_first_pass(&self, qc: &[char], limit: usize, keep: &impl Fn(u32) -> bool, hits: &mut Vec<Hit>) {
        let (Some(&a), n) = (qc.first(), qc.len()) else { return };
        let starts = match qc.get(1) {
            Some(&b) => self.starts2.get(&(a, b)),
            None => self.starts1.get(&a),
        };
        let starts = starts.map(Vec::as_slice).unwrap_or_default();
        let key = |j: u32| {
            let e = self.entry(j);
            (e.rank, e.name.len())
        };
        // Exact: per rank, the block of names of the query's length that start like it.
        for &r in &self.ranks {
            let from = starts.get(starts.partition_point(|&j| key(j) < (r, n))..).unwrap_or_default();
            let block = from.get(..from.partition_point(|&j| key(j) <= (r, n))).unwrap_or_default();
            hits.extend(block.iter().filter(|&&j| self.entry(j).name == qc && keep(j)).map(|&j| (MatchKind::Exact, j)));
        }
        // Prefix: the first in ranking order.
        for &j in starts {
            if hits.len() >= limit {
                return;
            }
            let e = self.entry(j);
            if e.name.len() > n && e.name.starts_with(qc) && keep(j) {
                hits.push((MatchKind::Prefix, j));
            }
        }
        // Substring, not at the start: the two rarest postings, intersected lazily.
        let lists: Vec<Option<&Vec<u32>>> = if n >= 2 {
            qc.iter().zip(qc.iter().skip(1)).map(|(&a, &b)| self.bi.get(&(a, b))).collect()
        } else {
            vec![self.uni.get(&a)]
        };
        self.lazy_intersection(&lists, limit, hits, |j| {
            let name = &self.entry(j).name;
            (!name.starts_with(qc) && name.windows(n).any(|w| w == qc) && keep(j)).then_some(MatchKind::Substring)
        });
    }

    /// Exact, prefix and substring matches of a pinyin or initials query of three
    /// letters or more, each kind in ranking order until `limit` are in hand.
    fn latin_first_pass(&self, ql: &str, limit: usize, keep: &impl Fn(u32) -> bool, hits: &mut Vec<Hit>) {
        let is_exact = |e: &Entry| e.pinyin == ql || e.initials == ql;
        // Exact: the equal blocks of the pinyin- and initials-sorted lists.
        let mut exact: Vec<u32> = Vec::new();
        for initials in [false, true] {
            let sorted = if initials { &self.by_initials } else { &self.by_pinyin };
            let text = |j: u32| if initials { self.entry(j).initials.as_str() } else { self.entry(j).pinyin.as_str() };
            let from = sorted.get(sorted.partition_point(|&j| text(j) < ql)..).unwrap_or_default();
            exact.extend(from.iter().take_while(|&&j| text(j) == ql).copied().filter(|&j| keep(j)));
        }
        exact.sort_unstable();
        exact.dedup();
        hits.extend(exact.into_iter().map(|j| (MatchKind::Exact, j)));
        // Prefix: the first of the names whose pinyin, or initials, start like the query.
        let need = limit.saturating_sub(hits.len());
        if need == 0 {
            return;
        }
        let Some(first) = trigrams(ql.as_bytes()).next() else { return };
        let mut prefix: Vec<u32> = Vec::new();
        for initials in [false, true] {
            let starts = if initials { &self.starts_initials } else { &self.starts_pinyin };
            let mut got = 0;
            for &j in starts.get(&first).map(Vec::as_slice).unwrap_or_default() {
                if got >= need {
                    break;
                }
                let e = self.entry(j);
                let s = if initials { &e.initials } else { &e.pinyin };
                if s.starts_with(ql) && !is_exact(e) && keep(j) {
                    prefix.push(j);
                    got += 1;
                }
            }
        }
        prefix.sort_unstable();
        prefix.dedup();
        hits.extend(prefix.into_iter().take(need).map(|j| (MatchKind::Prefix, j)));
        // Substring of the pinyin: the two rarest trigram postings, intersected lazily.
        let lists: Vec<Option<&Vec<u32>>> = trigrams(ql.as_bytes()).map(|t| self.tri.get(&t)).collect();
        self.lazy_intersection(&lists, limit, hits, |j| {
            (classify_latin(self.entry(j), ql) == Some(MatchKind::Substring) && keep(j)).then_some(MatchKind::Substring)
        });
    }

    /// Walks the entries in every list (all must hold a match; a missing list means
    /// none can) in ranking order, from the two rarest lists, pushing what `hit`
    /// makes of each until `hits` holds `limit`.
    fn lazy_intersection(
        &self,
        lists: &[Option<&Vec<u32>>],
        limit: usize,
        hits: &mut Vec<Hit>,
        hit: impl Fn(u32) -> Option<MatchKind>,
    ) {
        if hits.len() >= limit || lists.iter().any(|l| l.is_none()) {
            return;
        }
        let mut ls: Vec<&Vec<u32>> = lists.iter().flatten().copied().collect();
        ls.sort_by_key(|l| l.len());
        let Some(a) = ls.first() else { return };
        let mut rest: &[u32] = ls.get(1).map_or(&[], |b| b.as_slice());
        let two = ls.len() >= 2;
        for &j in a.iter() {
            if hits.len() >= limit {
                return;
            }
            if two {
                rest = rest.get(rest.partition_point(|&y| y < j)..).unwrap_or_default();
                match rest.first() {
                    None => return,
                    Some(&y) if y != j => continue,
                    Some(_) => {}
                }
            }
            if let Some(kind) = hit(j) {
                hits.push((kind, j));
            }
        }
    }

    /// One-typo matches of a Chinese query, in ranking order, until `hits` holds
    /// `limit` (the oracle passes `usize::MAX`).
    fn fuzzy_han(&self, qc: &[char], limit: usize, keep: &impl Fn(u32) -> bool, hits: &mut Vec<Hit>) {
        let seen: std::collections::HashSet<u32> = hits.iter().map(|h| h.1).collect();
        // Any one-character typo keeps all but one character: the two rarest
        // characters' postings hold every candidate.
        let mut lists: Vec<&Vec<u32>> = qc.iter().filter_map(|c| self.uni.get(c)).collect();
        lists.sort_by_key(|l| l.len());
        let lists: Vec<&[u32]> =
            lists.iter().take(2).filter(|l| l.len() <= FUZZY_POSTING_MAX).map(|l| l.as_slice()).collect();
        for i in union_ascending(lists) {
            if hits.len() >= limit {
                return;
            }
            if seen.contains(&i) {
                continue;
            }
            let e = self.entry(i);
            if one_typo_chars(&e.name, qc) && keep(i) {
                hits.push((MatchKind::OneTypo, i));
            }
        }
    }

    /// One-typo matches of a pinyin or initials query, in ranking order, until
    /// `hits` holds `limit` (the oracle passes `usize::MAX` and `narrow = false`).
    fn fuzzy_latin(&self, ql: &str, limit: usize, narrow: bool, keep: &impl Fn(u32) -> bool, hits: &mut Vec<Hit>) {
        let seen: std::collections::HashSet<u32> = hits.iter().map(|h| h.1).collect();
        // Pigeonhole: one edit leaves one half of the query intact. Either the first
        // half is a prefix of the name's pinyin (or initials), or the second half's
        // rarest trigram occurs in it.
        let half = ql.len() / 2;
        let mut by_prefix: Vec<u32> = Vec::new();
        for initials in [false, true] {
            // `ql` is ASCII (normalize_latin), so `half` is a character boundary.
            by_prefix.extend_from_slice(self.prefix_range(ql.get(..half).unwrap_or(ql), initials, FUZZY_POSTING_MAX));
        }
        by_prefix.sort_unstable();
        by_prefix.dedup();
        let second = ql.as_bytes().get(half..).unwrap_or_default();
        // The names holding the intact second half: every one of its trigrams occurs
        // in them, so the two rarest trigram lists intersected hold them all (the
        // oracle reads the whole rarest list instead, the wider set).
        let holding: Vec<u32> = if second.len() >= 3 && narrow {
            rarest_intersection(&trigrams(second).map(|t| self.tri.get(&t)).collect::<Vec<_>>())
        } else {
            Vec::new()
        };
        let mut lists: Vec<&[u32]> = vec![&by_prefix, &holding];
        if second.len() >= 3 && !narrow {
            if let Some(list) = trigrams(second).filter_map(|t| self.tri.get(&t)).min_by_key(|l| l.len()) {
                // All of it: cutting this list could drop the only match.
                lists.push(list);
            }
        }
        for i in union_ascending(lists) {
            if hits.len() >= limit {
                return;
            }
            if seen.contains(&i) {
                continue;
            }
            let e = self.entry(i);
            let close = [&e.pinyin, &e.initials].iter().any(|s| within_one_prefix(s.as_bytes(), ql.as_bytes()));
            if close && keep(i) {
                hits.push((MatchKind::OneTypo, i));
            }
        }
    }
}

/// The union of ascending lists without repeats, ascending, made as it is read.
fn union_ascending(lists: Vec<&[u32]>) -> impl Iterator<Item = u32> + '_ {
    let mut heads: Vec<std::iter::Peekable<std::iter::Copied<std::slice::Iter<'_, u32>>>> =
        lists.into_iter().map(|l| l.iter().copied().peekable()).collect();
    std::iter::from_fn(move || {
        let next = heads.iter_mut().filter_map(|h| h.peek().copied()).min()?;
        for h in &mut heads {
            if h.peek() == Some(&next) {
                h.next();
            }
        }
        Some(next)
    })
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

    /// A small deterministic generator (the test needs no crate for it).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, n: usize) -> usize {
            self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ((self.0 >> 33) as usize) % n.max(1)
        }
    }

    #[test]
    fn the_early_stopping_search_equals_the_exhaustive_oracle() {
        // Few characters, so that names share bigrams, prefixes, whole names and
        // pinyin, as village names ending in 村, 社区 and 委员会 do.
        let alphabet: Vec<char> = "乐土驿镇社区村委员会玛纳斯兰州湾".chars().collect();
        let mut g = Lcg(20_261_207);
        let names: Vec<String> =
            (0..3_000).map(|_| (0..1 + g.next(6)).map(|_| alphabet[g.next(alphabet.len())]).collect()).collect();
        let ranks: Vec<u8> = (0..names.len()).map(|_| [0, 0, 0, 1, 2, 3][g.next(6)]).collect();
        let ix = SearchIndex::build(names.iter().map(String::as_str).zip(ranks.iter().copied()));
        let mut queries: Vec<String> = Vec::new();
        for _ in 0..400 {
            let n = &names[g.next(names.len())];
            let cs: Vec<char> = n.chars().collect();
            let a = g.next(cs.len());
            let b = a + 1 + g.next(cs.len() - a);
            queries.push(cs[a..b].iter().collect());
            queries.push(n.clone());
            queries.push((0..1 + g.next(3)).map(|_| alphabet[g.next(alphabet.len())]).collect());
            let syl = syllables(n);
            let pinyin = normalize_latin(&syl.concat());
            let initials: String = syl.iter().filter_map(|s| s.chars().next()).collect();
            queries.push(pinyin.clone());
            queries.push(pinyin.chars().take(1 + g.next(pinyin.len().max(1))).collect());
            queries.push(pinyin.chars().skip(g.next(pinyin.len().max(1))).collect());
            queries.push(initials);
            // One typo: a character of the name, a letter of its pinyin.
            let mut typo = cs.clone();
            typo[g.next(cs.len())] = alphabet[g.next(alphabet.len())];
            queries.push(typo.iter().collect());
            let mut letters: Vec<u8> = pinyin.clone().into_bytes();
            if !letters.is_empty() {
                let k = g.next(letters.len());
                letters[k] = b'a' + g.next(26) as u8;
            }
            queries.push(String::from_utf8(letters).unwrap_or_default());
            // A letter left out, and one too many.
            if pinyin.len() > 4 {
                let k = g.next(pinyin.len());
                queries.push(pinyin.chars().enumerate().filter(|&(j, _)| j != k).map(|(_, c)| c).collect());
                let mut more = pinyin.clone();
                more.insert(g.next(pinyin.len()), (b'a' + g.next(26) as u8) as char);
                queries.push(more);
            }
        }
        let mut compared = 0;
        for q in &queries {
            for limit in [1, 3, 10] {
                for filtered in [false, true] {
                    let keep = |i: u32| !filtered || i % 3 != 0;
                    assert_eq!(
                        ix.search(q, limit, keep),
                        ix.search_exhaustive(q, limit, keep),
                        "{q:?} limit {limit} filtered {filtered}"
                    );
                    compared += 1;
                }
            }
        }
        assert!(compared > 10_000);
        // And the answers are not all empty: the test compares real rankings.
        assert!(queries.iter().filter(|q| ix.search(q, 10, |_| true).len() == 10).count() > 1_000);
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
