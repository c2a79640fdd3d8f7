//! Name search at national scale: 1,000,000 names, target ≤ 2 ms p50 per query.
//!
//! * Names: China's 620,573 real village-level units (NBS 2023,
//!   `nbs2023_villages.csv.gz`), plus generated ones up to 1,000,000: a real
//!   township's first 2 characters + a real village's specific part + one of
//!   村/社区/路/街. Rank 3 ("retired") for a seeded 5 %, else 0.
//! * Queries (seeded, pre-generated, cycled, one per iteration, limit 10, keep all):
//!   `chinese` 2–4 character substrings of names (half prefixes, half from a random
//!   start), `pinyin` full pinyin of a name's specific part, `initials` the first
//!   3–5 pinyin initials of a name, `one_typo` half pinyin (≥ 5 letters) with one
//!   letter replaced, half a full Chinese name with one character replaced by
//!   another Han character that occurs in the corpus. `mixed` is 1,024 of each
//!   class, shuffled.
//! * Baseline, in the same run: a linear scan of all names with `str::contains`
//!   for the Chinese class (all matches collected: ranking needs them all).
//! * Per-query percentiles (p50/p90/p99) of every set, timed with `Instant`; the
//!   first pass alone (limit 0); the slowest mixed queries with the candidate
//!   counts they work through (recomputed by brute force); one-typo pinyin recall
//!   against a linear scan; and a bench-only prototype of a ranking-ordered first
//!   pass with early exit, checked for identical top 10 against the index.
//!   `NAMING_BENCH_CRITERION_ONLY=1` skips all of that (for profiling).
//!
//! Everything random is seeded (ChaCha8); all setup is outside the timed loops.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/it/common/china.rs"]
mod china;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use diming::naming::search::within_one_prefix;
use diming::naming::search::{normalize_latin, MatchKind, SearchIndex};
use diming::naming::syllables;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeSet, HashMap};
use std::hint::black_box;
use std::time::{Duration, Instant};

const TOTAL: usize = 1_000_000;
/// Queries per set (a power of two: cycled with a mask).
const QUERIES: usize = 4096;
const LIMIT: usize = 10;
/// Postings larger than this are skipped by the index's one-typo pass (mirrors
/// `FUZZY_POSTING_MAX` in src/naming/search.rs; diagnosis only).
const FUZZY_POSTING_MAX: usize = 50_000;

/// Generic endings stripped to get a village name's specific part, longest first.
const SUFFIXES: &[&str] = &[
    "社区居民委员会",
    "社区居委会",
    "村民委员会",
    "居民委员会",
    "村民委会",
    "村委会",
    "居委会",
    "委员会",
    "管理区",
    "生活区",
    "嘎查",
    "社区",
    "村",
    "路",
    "街",
];
const GENERATED_GENERICS: &[&str] = &["村", "社区", "路", "街"];

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
enum Class {
    Chinese,
    Pinyin,
    Initials,
    TypoPinyin,
    TypoHan,
}

impl Class {
    fn label(self) -> &'static str {
        match self {
            Class::Chinese => "chinese",
            Class::Pinyin => "pinyin",
            Class::Initials => "initials",
            Class::TypoPinyin => "one_typo(pinyin)",
            Class::TypoHan => "one_typo(han)",
        }
    }
}

#[derive(Clone)]
struct Query {
    q: String,
    class: Class,
    /// The name the query was made from.
    src: u32,
}

fn read_names(file: &str) -> Vec<String> {
    let text = china::read_gz(&china::reference_data_dir().join("china").join(file));
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let col = rdr.headers().expect("csv header").iter().position(|h| h == "name").expect("name column");
    rdr.records().map(|r| r.expect("csv record")[col].to_string()).collect()
}

fn specific(name: &str) -> &str {
    SUFFIXES.iter().find_map(|s| name.strip_suffix(s).filter(|x| !x.is_empty())).unwrap_or(name)
}

fn is_han(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c)
}

fn vm_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn pinyin_of(text: &str) -> String {
    normalize_latin(&syllables(text).concat())
}

fn initials_of(text: &str) -> String {
    syllables(text)
        .iter()
        .filter_map(|s| s.chars().next())
        .filter(|c| c.is_ascii_alphabetic())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

struct Corpus {
    names: Vec<String>,
    ranks: Vec<u8>,
    real: usize,
}

fn corpus() -> Corpus {
    let mut names = read_names("nbs2023_villages.csv.gz");
    assert_eq!(names.len(), 620_573, "real village-level names");
    let real = names.len();
    let townships: Vec<String> = read_names("nbs2023_streets.csv.gz")
        .into_iter()
        .map(|t| t.chars().take(2).collect::<String>())
        .filter(|t| t.chars().count() == 2)
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(2023);
    while names.len() < TOTAL {
        let t = &townships[rng.gen_range(0..townships.len())];
        let v = specific(&names[rng.gen_range(0..real)]);
        let g = GENERATED_GENERICS[rng.gen_range(0..GENERATED_GENERICS.len())];
        let name = format!("{t}{v}{g}");
        names.push(name);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let ranks = (0..TOTAL).map(|_| if rng.gen_bool(0.05) { 3 } else { 0 }).collect();
    Corpus { names, ranks, real }
}

fn gen_query(rng: &mut ChaCha8Rng, names: &[String], han: &[char], class: Class) -> Query {
    loop {
        let src = rng.gen_range(0..names.len());
        let name = &names[src];
        let q = match class {
            Class::Chinese => {
                let chars: Vec<char> = name.chars().collect();
                if chars.len() < 2 {
                    continue;
                }
                let k = rng.gen_range(2..=4).min(chars.len());
                let start = if rng.gen_bool(0.5) { 0 } else { rng.gen_range(0..=chars.len() - k) };
                chars[start..start + k].iter().collect()
            }
            Class::Pinyin => {
                let p = pinyin_of(specific(name));
                if p.len() < 2 {
                    continue;
                }
                p
            }
            Class::Initials => {
                let ini = initials_of(name);
                if ini.len() < 3 {
                    continue;
                }
                ini[..rng.gen_range(3..=5).min(ini.len())].to_string()
            }
            Class::TypoPinyin => {
                let mut p = pinyin_of(specific(name)).into_bytes();
                if p.len() < 5 {
                    continue;
                }
                let pos = rng.gen_range(0..p.len());
                let orig = p[pos];
                p[pos] = loop {
                    let c = b'a' + rng.gen_range(0..26u8);
                    if c != orig {
                        break c;
                    }
                };
                String::from_utf8(p).expect("ascii")
            }
            Class::TypoHan => {
                let mut chars: Vec<char> = name.chars().collect();
                if chars.len() < 3 {
                    continue;
                }
                let pos = rng.gen_range(0..chars.len());
                let orig = chars[pos];
                chars[pos] = loop {
                    let c = han[rng.gen_range(0..han.len())];
                    if c != orig {
                        break c;
                    }
                };
                chars.into_iter().collect()
            }
        };
        return Query { q, class, src: src as u32 };
    }
}

struct QuerySets {
    chinese: Vec<Query>,
    pinyin: Vec<Query>,
    initials: Vec<Query>,
    one_typo: Vec<Query>,
    mixed: Vec<Query>,
}

fn query_sets(names: &[String], real: usize) -> QuerySets {
    // Replacement characters: every Han character that occurs in a real name.
    let han: Vec<char> = names[..real]
        .iter()
        .flat_map(|n| n.chars())
        .filter(|&c| is_han(c))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(4096);
    let mut set = |class: Class| (0..QUERIES).map(|_| gen_query(&mut rng, names, &han, class)).collect::<Vec<_>>();
    let chinese = set(Class::Chinese);
    let pinyin = set(Class::Pinyin);
    let initials = set(Class::Initials);
    let typo_pinyin = set(Class::TypoPinyin);
    let typo_han = set(Class::TypoHan);
    let one_typo: Vec<Query> =
        typo_pinyin.iter().zip(&typo_han).flat_map(|(a, b)| [a.clone(), b.clone()]).take(QUERIES).collect();
    let quarter = QUERIES / 4;
    let mut mixed: Vec<Query> =
        [&chinese, &pinyin, &initials, &one_typo].iter().flat_map(|s| s[..quarter].iter().cloned()).collect();
    mixed.shuffle(&mut ChaCha8Rng::seed_from_u64(99));
    QuerySets { chinese, pinyin, initials, one_typo, mixed }
}

#[derive(Clone, Copy)]
struct Timed {
    t: Duration,
    hits: usize,
    fuzzy: bool,
    found_src: bool,
}

/// Per-query time of the exhaustive oracle (`search_exhaustive`: every candidate of
/// the rarest postings verified, as the search was before it stopped early), the
/// baseline in the same run; and how many of its answers `search` equals.
fn exhaustive_times(ix: &SearchIndex, qs: &[Query]) -> (Vec<Duration>, usize) {
    for q in qs.iter().take(256) {
        black_box(ix.search_exhaustive(&q.q, LIMIT, |_| true));
    }
    let same =
        qs.iter().filter(|q| ix.search(&q.q, LIMIT, |_| true) == ix.search_exhaustive(&q.q, LIMIT, |_| true)).count();
    let times = qs
        .iter()
        .map(|q| {
            let t0 = Instant::now();
            black_box(ix.search_exhaustive(black_box(&q.q), LIMIT, |_| true));
            t0.elapsed()
        })
        .collect();
    (times, same)
}

fn summary(ts: &[Duration]) -> String {
    let mut ts = ts.to_vec();
    ts.sort_unstable();
    let mean = ts.iter().sum::<Duration>() / ts.len() as u32;
    let tail = ts[ts.len() * 9 / 10..].iter().sum::<Duration>();
    format!(
        "p50 {}  p90 {}  p99 {}  max {}  mean {}  (slowest 10% = {:.0}% of the time)",
        ms(pct(&ts, 0.5)),
        ms(pct(&ts, 0.9)),
        ms(pct(&ts, 0.99)),
        ms(pct(&ts, 1.0)),
        ms(mean),
        100.0 * tail.as_secs_f64() / ts.iter().sum::<Duration>().as_secs_f64()
    )
}

/// Each query once, timed alone, after an untimed warm-up on the first 256.
fn time_each(ix: &SearchIndex, names: &[String], qs: &[Query]) -> Vec<Timed> {
    for q in qs.iter().take(256) {
        black_box(ix.search(&q.q, LIMIT, |_| true));
    }
    qs.iter()
        .map(|q| {
            let t0 = Instant::now();
            let r = ix.search(black_box(&q.q), LIMIT, |_| true);
            let t = t0.elapsed();
            let src = &names[q.src as usize];
            Timed {
                t,
                hits: r.len(),
                // The one-typo pass runs iff the exact pass found fewer than `LIMIT`.
                fuzzy: r.len() < LIMIT || r.iter().any(|&(_, k)| k == MatchKind::OneTypo),
                found_src: r.iter().any(|&(i, _)| names[i as usize] == *src),
            }
        })
        .collect()
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn report(ix: &SearchIndex, label: &str, qs: &[Query], timed: &[Timed]) {
    let ts: Vec<Duration> = timed.iter().map(|t| t.t).collect();
    let n = timed.len() as f64;
    let frac = |f: &dyn Fn(&Timed) -> bool| 100.0 * timed.iter().filter(|t| f(t)).count() as f64 / n;
    println!("per-query {label:<17} n={:<5} {}", qs.len(), summary(&ts));
    println!(
        "          {label:<17} empty {:.1}%  one-typo pass ran {:.1}%  source name in top 10 {:.1}%",
        frac(&|t| t.hits == 0),
        frac(&|t| t.fuzzy),
        frac(&|t| t.found_src),
    );
    let (oracle, same) = exhaustive_times(ix, qs);
    let (om, m) = (oracle.iter().sum::<Duration>(), ts.iter().sum::<Duration>());
    println!(
        "          {label:<17} exhaustive oracle (the search before early stopping): {}  mean {:.1}× the index's; same answers {same}/{}",
        summary(&oracle),
        om.as_secs_f64() / m.as_secs_f64(),
        qs.len()
    );
}

/// The candidate counts the index works through for a query, recomputed from the
/// names by brute force (diagnosis only; mirrors src/naming/search.rs as of
/// d4b6153: first pass = intersection of the two rarest postings, then verify;
/// one-typo pass = Han: the two rarest characters' postings (each ≤ 50,000);
/// pinyin: prefix ranges of the first half on sorted pinyin and initials plus the
/// second half's rarest trigram, each capped at 50,000).
struct Diag<'a> {
    names: &'a [String],
    pinyin: &'a [(String, String)],
    uni: HashMap<char, usize>,
    bi: HashMap<(char, char), usize>,
    tri: HashMap<[u8; 3], usize>,
}

impl<'a> Diag<'a> {
    fn new(names: &'a [String], pinyin: &'a [(String, String)]) -> Self {
        let (mut uni, mut bi, mut tri) = (HashMap::new(), HashMap::new(), HashMap::new());
        for (n, (p, ini)) in names.iter().zip(pinyin) {
            let cs: Vec<char> = n.chars().collect();
            for c in cs.iter().copied().collect::<BTreeSet<char>>() {
                *uni.entry(c).or_default() += 1;
            }
            for w in cs.windows(2).map(|w| (w[0], w[1])).collect::<BTreeSet<_>>() {
                *bi.entry(w).or_default() += 1;
            }
            let ts: BTreeSet<[u8; 3]> =
                [p, ini].iter().flat_map(|s| s.as_bytes().windows(3).map(|w| [w[0], w[1], w[2]])).collect();
            for t in ts {
                *tri.entry(t).or_default() += 1;
            }
        }
        Diag { names, pinyin, uni, bi, tri }
    }

    fn has_tri(&self, i: usize, t: &str) -> bool {
        self.pinyin[i].0.contains(t) || self.pinyin[i].1.contains(t)
    }

    fn explain(&self, q: &str) -> String {
        if q.chars().any(is_han) {
            let qc: Vec<char> = q.chars().collect();
            let mut bis: Vec<(usize, String)> = qc
                .windows(2)
                .map(|w| (self.bi.get(&(w[0], w[1])).copied().unwrap_or(0), format!("{}{}", w[0], w[1])))
                .collect();
            bis.sort_unstable();
            let first = match bis.as_slice() {
                [] => "single character: its whole posting verified".to_string(),
                [(n, a)] => format!("posting {a:?} = {n} verified"),
                [(na, a), (nb, b), ..] => {
                    let both = self.names.iter().filter(|n| n.contains(a.as_str()) && n.contains(b.as_str())).count();
                    format!("rarest bigrams {a:?}={na} ∩ {b:?}={nb} → {both} verified")
                }
            };
            let mut uni: Vec<(usize, char)> = qc.iter().map(|&c| (self.uni.get(&c).copied().unwrap_or(0), c)).collect();
            uni.sort_unstable();
            let fuzzy: usize = uni.iter().take(2).map(|u| u.0).filter(|&n| n <= FUZZY_POSTING_MAX).sum();
            format!("{first}; one-typo: two rarest chars {:?} → ≤ {fuzzy} candidates", &uni[..uni.len().min(2)])
        } else {
            let ql = normalize_latin(q);
            if ql.len() < 3 {
                let n = self.pinyin.iter().filter(|(p, i)| p.starts_with(&ql) || i.starts_with(&ql)).count();
                return format!("prefix posting {ql:?} = {n} verified");
            }
            let mut tris: Vec<(usize, String)> = ql
                .as_bytes()
                .windows(3)
                .map(|w| {
                    let t = String::from_utf8(w.to_vec()).expect("ascii");
                    (self.tri.get(&[w[0], w[1], w[2]]).copied().unwrap_or(0), t)
                })
                .collect();
            tris.sort_unstable();
            let first = match tris.as_slice() {
                [(n, a)] => format!("posting {a:?} = {n} verified"),
                [(na, a), (nb, b), ..] => {
                    let both = (0..self.names.len()).filter(|&i| self.has_tri(i, a) && self.has_tri(i, b)).count();
                    format!("rarest trigrams {a:?}={na} ∩ {b:?}={nb} → {both} verified")
                }
                [] => String::new(),
            };
            if ql.len() < 4 {
                return first;
            }
            let half = &ql[..ql.len() / 2];
            let pre_p = self.pinyin.iter().filter(|(p, _)| p.starts_with(half)).count();
            let pre_i = self.pinyin.iter().filter(|(_, i)| i.starts_with(half)).count();
            let second = &ql.as_bytes()[ql.len() / 2..];
            let sec = second.windows(3).filter_map(|w| self.tri.get(&[w[0], w[1], w[2]]).copied()).min().unwrap_or(0);
            let cap = |n: usize| n.min(FUZZY_POSTING_MAX);
            format!(
                "{first}; one-typo: prefix {half:?} pinyin {pre_p} + initials {pre_i} + 2nd-half rarest trigram {sec} → {} candidates (capped)",
                cap(pre_p) + cap(pre_i) + cap(sec)
            )
        }
    }

    /// Entries within one edit of the query or of a prefix of it, by linear scan
    /// (the definition the index's one-typo pass uses).
    fn true_one_typo(&self, ql: &str) -> usize {
        self.pinyin
            .iter()
            .filter(|(p, ini)| [p, ini].iter().any(|s| within_one_prefix(s.as_bytes(), ql.as_bytes())))
            .count()
    }
}

/// One-typo pinyin recall: of the queries that come back empty, how many have
/// entries within one edit (by linear scan)?
fn diagnose_typo_misses(ix: &SearchIndex, diag: &Diag, qs: &[Query]) {
    let mut empty = 0usize;
    let mut missed = 0usize;
    let mut examples = Vec::new();
    let sample: Vec<&Query> = qs.iter().filter(|q| q.class == Class::TypoPinyin).take(1000).collect();
    for q in &sample {
        if !ix.search(&q.q, LIMIT, |_| true).is_empty() {
            continue;
        }
        empty += 1;
        let truth = diag.true_one_typo(&q.q);
        if truth == 0 {
            continue;
        }
        missed += 1;
        if examples.len() < 6 {
            examples.push(format!("{:?}: {truth} entries within one edit | {}", q.q, diag.explain(&q.q)));
        }
    }
    println!(
        "one_typo(pinyin) recall over {} queries: {empty} empty; {missed} of those have entries within one edit (missed)",
        sample.len()
    );
    for e in examples {
        println!("  missed {e}");
    }
}

fn bench_search(c: &mut Criterion) {
    let t0 = Instant::now();
    let Corpus { names, ranks, real } = corpus();
    println!(
        "setup: {} names ({} real, {} generated) read/generated in {:.2?}",
        names.len(),
        real,
        names.len() - real,
        t0.elapsed()
    );
    let text_bytes: usize = names.iter().map(|n| n.len()).sum();
    println!("setup: name text {:.1} MiB UTF-8", text_bytes as f64 / 1048576.0);

    let rss0 = vm_rss_kib();
    let t0 = Instant::now();
    let ix = SearchIndex::build(names.iter().zip(&ranks).map(|(n, &r)| (n.as_str(), r)));
    let build = t0.elapsed();
    let rss1 = vm_rss_kib();
    assert_eq!(ix.len(), TOTAL);
    println!("setup: SearchIndex::build over {TOTAL} names took {build:.2?}");
    if let (Some(a), Some(b)) = (rss0, rss1) {
        println!(
            "setup: VmRSS {:.0} MiB before build, {:.0} MiB after → index ≈ {:.0} MiB",
            a as f64 / 1024.0,
            b as f64 / 1024.0,
            (b as f64 - a as f64) / 1024.0
        );
    }

    let t0 = Instant::now();
    let sets = query_sets(&names, real);
    println!("setup: query sets generated in {:.2?}", t0.elapsed());
    for q in sets.mixed.iter().take(12) {
        println!("  example {:<18} {}", q.class.label(), q.q);
    }

    // Per-query percentiles (the target is p50 per query) and diagnosis;
    // NAMING_BENCH_CRITERION_ONLY=1 skips them (for profiling one criterion bench).
    if std::env::var_os("NAMING_BENCH_CRITERION_ONLY").is_none() {
        let mixed_timed = time_each(&ix, &names, &sets.mixed);
        report(&ix, "mixed", &sets.mixed, &mixed_timed);
        for (label, qs) in [("chinese", &sets.chinese), ("pinyin", &sets.pinyin), ("initials", &sets.initials)] {
            report(&ix, label, qs, &time_each(&ix, &names, qs));
        }
        let typo_timed = time_each(&ix, &names, &sets.one_typo);
        report(&ix, "one_typo", &sets.one_typo, &typo_timed);
        for class in [Class::TypoPinyin, Class::TypoHan] {
            let (qs, timed): (Vec<Query>, Vec<Timed>) = sets
                .one_typo
                .iter()
                .zip(&typo_timed)
                .filter(|(q, _)| q.class == class)
                .map(|(q, t)| (q.clone(), *t))
                .unzip();
            report(&ix, class.label(), &qs, &timed);
        }

        // The slowest mixed queries, with the posting sizes they read.
        let t0 = Instant::now();
        let pinyin: Vec<(String, String)> = names.iter().map(|n| (pinyin_of(n), initials_of(n))).collect();
        println!("diagnosis: pinyin + initials of all names alone took {:.2?} (part of build)", t0.elapsed());
        let diag = Diag::new(&names, &pinyin);
        let mut order: Vec<usize> = (0..mixed_timed.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(mixed_timed[i].t));
        println!("slowest mixed queries, 4 per class:");
        let mut shown: HashMap<Class, usize> = HashMap::new();
        for &i in &order {
            let n = shown.entry(sets.mixed[i].class).or_default();
            *n += 1;
            if *n > 4 {
                continue;
            }
            let (q, t) = (&sets.mixed[i], &mixed_timed[i]);
            println!(
                "  {:>9} {:<17} {:<14} hits {:>2} fuzzy {:<5} | {}",
                ms(t.t),
                q.class.label(),
                q.q,
                t.hits,
                t.fuzzy,
                diag.explain(&q.q)
            );
        }
        // Over the whole mixed set: share of time per class.
        let mut by_class: HashMap<Class, (Duration, usize)> = HashMap::new();
        for (q, t) in sets.mixed.iter().zip(&mixed_timed) {
            let e = by_class.entry(q.class).or_default();
            e.0 += t.t;
            e.1 += 1;
        }
        let total: Duration = mixed_timed.iter().map(|t| t.t).sum();
        let mut classes: Vec<_> = by_class.into_iter().collect();
        classes.sort_by_key(|c| c.0);
        for (class, (d, n)) in classes {
            println!(
                "  mixed time share {:<17} {:>5.1}% over {n} queries (mean {})",
                class.label(),
                100.0 * d.as_secs_f64() / total.as_secs_f64(),
                ms(d / n as u32)
            );
        }
        diagnose_typo_misses(&ix, &diag, &sets.one_typo);
        drop(diag);
        drop(pinyin);
    }

    let mut group = c.benchmark_group("search");
    group.throughput(Throughput::Elements(1));
    for (label, qs) in [
        ("1M_mixed", &sets.mixed),
        ("1M_chinese", &sets.chinese),
        ("1M_pinyin", &sets.pinyin),
        ("1M_initials", &sets.initials),
        ("1M_one_typo", &sets.one_typo),
    ] {
        let mut i = 0usize;
        group.bench_function(label, |b| {
            b.iter(|| {
                let q = &qs[i & (QUERIES - 1)].q;
                i += 1;
                ix.search(black_box(q), LIMIT, |_| true)
            })
        });
    }

    // Baseline: what naive code does, a full scan with `contains` (every match is
    // needed before ranking).
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    let mut i = 0usize;
    group.bench_function("1M_chinese_baseline_linear_contains", |b| {
        b.iter(|| {
            let q = black_box(sets.chinese[i & (QUERIES - 1)].q.as_str());
            i += 1;
            names.iter().enumerate().filter(|(_, n)| n.contains(q)).map(|(j, _)| j as u32).collect::<Vec<u32>>()
        })
    });
    group.finish();

    // Same baseline per query with Instant over 200 queries, for the ratio.
    if std::env::var_os("NAMING_BENCH_CRITERION_ONLY").is_some() {
        return;
    }
    let t0 = Instant::now();
    let mut found = 0usize;
    for q in sets.chinese.iter().take(200) {
        found += names.iter().filter(|n| n.contains(q.q.as_str())).count();
    }
    let base = t0.elapsed() / 200;
    let t0 = Instant::now();
    for q in sets.chinese.iter().take(200) {
        black_box(ix.search(&q.q, LIMIT, |_| true));
    }
    let idx = t0.elapsed() / 200;
    println!(
        "baseline: linear contains over {TOTAL} names, mean {} per Chinese query ({} matches on average); index mean {} on the same 200 → {:.0}× faster",
        ms(base),
        found / 200,
        ms(idx),
        base.as_secs_f64() / idx.as_secs_f64()
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = bench_search
}
criterion_main!(benches);
