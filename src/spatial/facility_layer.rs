//! The facilities of a snapshot as a large, immutable base with a small delta of
//! the writes since the base was built: a write costs what the delta holds, not
//! what the registry holds. The base (every facility with its point indexes, built
//! in O(n log n)) is rebuilt from base + delta in the background once the delta
//! passes `MERGE_AT` entries; until then queries ask the base and the delta and
//! merge the answers, exactly as a base built from scratch would give them.
//!
//! Slots: base entries are numbered `0..base.len()` in id order, delta entries
//! `base.len()..` in write order; `Hit::idx` and `facility_at` use these numbers.
//! A slot whose record a later write replaced is *shadowed*: queries skip it.

use super::points::{Hit, PointIndex, StatusSet};
use super::snapshot::FacilityEntry;
use crate::domain::FacilityKind;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// Delta entries at which a background merge into a new base is started. A query
/// scans the delta in full, so this bounds the extra work of every query (~µs).
pub const MERGE_AT: usize = 512;

/// Every facility as of a rebuild, with its point indexes.
pub struct FacilityBase {
    entries: Vec<FacilityEntry>,
    by_id: HashMap<String, u32>,
    all: PointIndex,
    by_kind: Vec<PointIndex>,
}

impl FacilityBase {
    /// `entries` in id order.
    pub fn new(mut entries: Vec<FacilityEntry>) -> Self {
        entries.sort_by(|a, b| a.facility.id.cmp(&b.facility.id));
        let by_id = entries.iter().enumerate().map(|(i, f)| (f.facility.id.clone(), i as u32)).collect();
        let point = |(i, f): (usize, &FacilityEntry)| {
            (i as u32, [f.facility.location.lon(), f.facility.location.lat()], f.facility.status.bit())
        };
        let all = PointIndex::new(entries.len(), entries.iter().enumerate().map(point));
        let by_kind = FacilityKind::ALL
            .iter()
            .map(|k| {
                PointIndex::new(
                    entries.len(),
                    entries.iter().enumerate().filter(|(_, f)| f.facility.kind == *k).map(point),
                )
            })
            .collect();
        FacilityBase { entries, by_id, all, by_kind }
    }

    fn index(&self, kind: Option<FacilityKind>) -> Option<&PointIndex> {
        match kind {
            Some(k) => self.by_kind.get(k.index()),
            None => Some(&self.all),
        }
    }
}

/// The writes since the base: small, copied on each write.
#[derive(Clone, Default)]
struct Delta {
    /// Slot `base_len + j` is `entries[j]`.
    entries: Vec<Arc<FacilityEntry>>,
    /// Id → the live delta slot of that facility.
    latest: BTreeMap<String, u32>,
    /// Slots (base or delta) replaced by a later write.
    shadowed: HashSet<u32>,
    /// Shadowed base slots, per kind (`FacilityKind::index`), and in all.
    shadowed_base_by_kind: [usize; FacilityKind::ALL.len()],
    shadowed_base: usize,
}

/// The facilities of one snapshot.
#[derive(Clone)]
pub struct FacilityLayer {
    base: Arc<FacilityBase>,
    delta: Arc<Delta>,
}

impl FacilityLayer {
    pub fn new(base: FacilityBase) -> Self {
        FacilityLayer { base: Arc::new(base), delta: Arc::new(Delta::default()) }
    }

    fn base_len(&self) -> u32 {
        self.base.entries.len() as u32
    }

    /// How many facilities.
    pub fn len(&self) -> usize {
        // Each id of the delta either replaced one base slot (counted once in
        // `shadowed_base`) or is new.
        self.base.entries.len() - self.delta.shadowed_base + self.delta.latest.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries in the delta (what a merge would fold into the base).
    pub fn delta_len(&self) -> usize {
        self.delta.entries.len()
    }

    /// The facility in slot `idx`.
    pub fn at(&self, idx: u32) -> Option<&FacilityEntry> {
        let n = self.base_len();
        if idx < n {
            self.base.entries.get(idx as usize)
        } else {
            self.delta.entries.get((idx - n) as usize).map(Arc::as_ref)
        }
    }

    fn slot_of(&self, id: &str) -> Option<u32> {
        match self.delta.latest.get(id) {
            Some(&s) => Some(s),
            None => self.base.by_id.get(id).copied(),
        }
    }

    pub fn get(&self, id: &str) -> Option<&FacilityEntry> {
        self.slot_of(id).and_then(|s| self.at(s))
    }

    fn live(&self, idx: u32) -> bool {
        !self.delta.shadowed.contains(&idx)
    }

    /// Every facility in id order: the base (less what was replaced) merged with the delta.
    pub fn iter(&self) -> impl Iterator<Item = &FacilityEntry> + '_ {
        self.iter_after(None)
    }

    /// The facilities whose id sorts after `after` (all for `None`), in id order:
    /// found by binary search in the base and a range of the delta, so a deep page
    /// costs what it returns.
    pub fn iter_after<'a>(&'a self, after: Option<&str>) -> impl Iterator<Item = &'a FacilityEntry> + 'a {
        self.iter_after_skip(after, 0)
    }

    /// `iter_after(after)` less its first `skip` facilities, positioned by binary
    /// search over the base (each probe counts the delta's ids before it and the
    /// replaced base slots, both at most `MERGE_AT`-ish), not by walking `skip`.
    pub fn iter_after_skip<'a>(
        &'a self,
        after: Option<&str>,
        skip: usize,
    ) -> impl Iterator<Item = &'a FacilityEntry> + 'a {
        use std::ops::Bound;
        let entries = &self.base.entries;
        let b0 = after.map_or(0, |a| entries.partition_point(|e| e.facility.id.as_str() <= a));
        let lower = match after {
            Some(a) => Bound::Excluded(a),
            None => Bound::Unbounded,
        };
        // The delta's live ids after the cursor, and the replaced base slots at or
        // after `b0`, both sorted.
        let delta_ids: Vec<&str> =
            self.delta.latest.range::<str, _>((lower, Bound::Unbounded)).map(|(id, _)| id.as_str()).collect();
        let mut shadowed: Vec<u32> =
            self.delta.shadowed.iter().copied().filter(|&s| s < self.base_len() && s as usize >= b0).collect();
        shadowed.sort_unstable();
        // Facilities after the cursor that sort before base slot `p` (all of them at `p = n`).
        let rank = |p: usize| -> usize {
            let base_live = (p - b0) - shadowed.partition_point(|&s| (s as usize) < p);
            let delta_before = match entries.get(p) {
                Some(e) => delta_ids.partition_point(|id| *id < e.facility.id.as_str()),
                None => delta_ids.len(),
            };
            base_live + delta_before
        };
        // Start at the last slot `p` in b0..=n with rank(p) <= skip (rank never
        // decreases), the delta from that slot's id; or, when even slot b0 has more
        // than `skip` delta ids before it, at the cursor, walking at most those.
        let (p, from, rest) = if rank(b0) > skip {
            (b0, lower.map(str::to_string), skip)
        } else {
            let (mut lo, mut hi) = (b0, entries.len());
            while lo < hi {
                let mid = lo + (hi - lo).div_ceil(2);
                if rank(mid) <= skip {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            match entries.get(lo) {
                Some(e) => (lo, Bound::Included(e.facility.id.clone()), skip - rank(lo)),
                // Everything after the cursor is skipped.
                None => (lo, Bound::Unbounded, 0),
            }
        };
        let delta_exhausted = p == entries.len() && rank(b0) <= skip;
        let mut base =
            entries.iter().enumerate().skip(p).filter(|(i, _)| self.live(*i as u32)).map(|(_, e)| e).peekable();
        let mut delta = self
            .delta
            .latest
            .range((from, Bound::Unbounded))
            .filter(move |_| !delta_exhausted)
            .filter_map(|(_, &s)| self.at(s))
            .peekable();
        std::iter::from_fn(move || match (base.peek(), delta.peek()) {
            (Some(b), Some(d)) => {
                if b.facility.id < d.facility.id {
                    base.next()
                } else {
                    delta.next()
                }
            }
            (Some(_), None) => base.next(),
            (None, _) => delta.next(),
        })
        .skip(rest)
    }

    /// A copy with `entry` written (created, or replacing the facility of its id).
    pub fn with(&self, entry: FacilityEntry) -> FacilityLayer {
        let mut d = (*self.delta).clone();
        let slot = self.base_len() + d.entries.len() as u32;
        let id = entry.facility.id.clone();
        match d.latest.get(&id).copied() {
            Some(old) => {
                d.shadowed.insert(old);
            }
            None => {
                if let Some(&old) = self.base.by_id.get(&id) {
                    d.shadowed.insert(old);
                    d.shadowed_base += 1;
                    if let Some(e) = self.base.entries.get(old as usize) {
                        if let Some(c) = d.shadowed_base_by_kind.get_mut(e.facility.kind.index()) {
                            *c += 1;
                        }
                    }
                }
            }
        }
        d.entries.push(Arc::new(entry));
        d.latest.insert(id, slot);
        FacilityLayer { base: self.base.clone(), delta: Arc::new(d) }
    }

    /// The live delta entries of `kind` (any kind for `None`) with a status in `statuses`.
    fn delta_points(
        &self,
        kind: Option<FacilityKind>,
        statuses: StatusSet,
    ) -> impl Iterator<Item = (u32, [f64; 2])> + '_ {
        self.delta.latest.values().filter_map(move |&s| {
            let f = &self.at(s)?.facility;
            (kind.is_none_or(|k| f.kind == k) && statuses.contains(f.status.bit()))
                .then(|| (s, [f.location.lon(), f.location.lat()]))
        })
    }

    fn shadowed_in(&self, kind: Option<FacilityKind>) -> usize {
        match kind {
            Some(k) => self.delta.shadowed_base_by_kind.get(k.index()).copied().unwrap_or(0),
            None => self.delta.shadowed_base,
        }
    }

    /// Geodesic distance, then facility id: the order a base built from scratch gives
    /// (its slots are in id order).
    fn order(&self, a: &Hit, b: &Hit) -> Ordering {
        a.distance_m.total_cmp(&b.distance_m).then_with(|| {
            let id = |h: &Hit| self.at(h.idx).map(|e| e.facility.id.as_str());
            id(a).cmp(&id(b))
        })
    }

    /// The `limit` nearest, exact geodesic order.
    pub fn nearest(
        &self,
        at: [f64; 2],
        kind: Option<FacilityKind>,
        limit: usize,
        max_m: Option<f64>,
        statuses: StatusSet,
    ) -> Vec<Hit> {
        let Some(index) = self.base.index(kind) else { return Vec::new() };
        // Shadowed base slots may take places in the base's answer: ask for that many more.
        let mut hits: Vec<Hit> = index
            .nearest(at, limit + self.shadowed_in(kind), max_m, statuses)
            .into_iter()
            .filter(|h| self.live(h.idx))
            .collect();
        if self.delta.entries.is_empty() {
            hits.truncate(limit);
            return hits;
        }
        for (idx, p) in self.delta_points(kind, statuses) {
            let d = super::geodesic::distance_m(at, p);
            if max_m.is_none_or(|m| d <= m) {
                hits.push(Hit { idx, distance_m: d });
            }
        }
        hits.sort_by(|a, b| self.order(a, b));
        hits.truncate(limit);
        hits
    }

    /// Every facility within `radius_m`, nearest first.
    pub fn within(&self, at: [f64; 2], kind: Option<FacilityKind>, radius_m: f64, statuses: StatusSet) -> Vec<Hit> {
        let Some(index) = self.base.index(kind) else { return Vec::new() };
        let mut hits: Vec<Hit> =
            index.within(at, radius_m, statuses).into_iter().filter(|h| self.live(h.idx)).collect();
        if self.delta.entries.is_empty() {
            return hits;
        }
        for (idx, p) in self.delta_points(kind, statuses) {
            let d = super::geodesic::distance_m(at, p);
            if d <= radius_m {
                hits.push(Hit { idx, distance_m: d });
            }
        }
        hits.sort_by(|a, b| self.order(a, b));
        hits
    }

    /// Slots of the facilities inside a lon/lat box, in id order.
    pub fn in_bbox(&self, bbox: [f64; 4], kind: Option<FacilityKind>, statuses: StatusSet) -> Vec<u32> {
        let Some(index) = self.base.index(kind) else { return Vec::new() };
        let mut slots: Vec<u32> = index.in_bbox(bbox, statuses).into_iter().filter(|&i| self.live(i)).collect();
        if self.delta.entries.is_empty() {
            return slots;
        }
        let [x0, y0, x1, y1] = bbox;
        slots.extend(
            self.delta_points(kind, statuses)
                .filter(|(_, [x, y])| (x0..=x1).contains(x) && (y0..=y1).contains(y))
                .map(|(s, _)| s),
        );
        let id = |s: &u32| self.at(*s).map(|e| e.facility.id.as_str());
        slots.sort_by(|a, b| id(a).cmp(&id(b)));
        slots
    }

    /// The brute-force oracle: every live facility of `kind`, by geodesic distance then id.
    pub fn brute_force(&self, at: [f64; 2], kind: Option<FacilityKind>, statuses: StatusSet) -> Vec<Hit> {
        let Some(index) = self.base.index(kind) else { return Vec::new() };
        let mut hits: Vec<Hit> = index.brute_force(at, statuses).into_iter().filter(|h| self.live(h.idx)).collect();
        for (idx, p) in self.delta_points(kind, statuses) {
            hits.push(Hit { idx, distance_m: super::geodesic::distance_m(at, p) });
        }
        hits.sort_by(|a, b| self.order(a, b));
        hits
    }

    /// The entries of a merged base: what `iter` gives, as owned entries (shared
    /// text is copied once here, off the write path).
    pub fn merged_entries(&self) -> Vec<FacilityEntry> {
        self.iter()
            .map(|e| FacilityEntry {
                facility: e.facility.clone(),
                feature_head: e.feature_head.clone(),
                feature_tail: e.feature_tail.clone(),
            })
            .collect()
    }

    /// `merged` (a base built from `from`'s entries) with the writes made to `self`
    /// since `from` was taken applied again, in order: the layer a merge swaps in.
    /// `None` if `self` does not descend from `from` (a full rebuild came between).
    pub fn rebased(&self, from: &FacilityLayer, merged: Arc<FacilityBase>) -> Option<FacilityLayer> {
        if !Arc::ptr_eq(&self.base, &from.base) || self.delta.entries.len() < from.delta.entries.len() {
            return None;
        }
        let mut out = FacilityLayer { base: merged, delta: Arc::new(Delta::default()) };
        for e in self.delta.entries.iter().skip(from.delta.entries.len()) {
            out = out.with(FacilityEntry {
                facility: e.facility.clone(),
                feature_head: e.feature_head.clone(),
                feature_tail: e.feature_tail.clone(),
            });
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Facility, FacilityStatus, LonLat, NewFacility, Provenance};
    use proptest::prelude::*;

    fn entry(id: &str, version: i64) -> FacilityEntry {
        let fields = NewFacility {
            name: format!("设施{id}"),
            kind: FacilityKind::CareHome,
            township_code: "652324101".parse().expect("code"),
            location: LonLat::try_from([86.2, 44.3]).expect("point"),
            status: FacilityStatus::Open,
            capacity_beds: None,
            operator: None,
            attributes: Default::default(),
            provenance: Provenance::Registered,
        };
        let mut f = Facility::new(id.to_string(), &fields, "2026-12-04T00:00:00Z");
        f.version = version;
        FacilityEntry { facility: f, feature_head: String::new(), feature_tail: String::new() }
    }

    proptest! {
        /// Positioning by rank equals walking: for any base, any writes in the delta
        /// (new ids and replacements of base or delta ids), any cursor and any skip.
        #[test]
        fn iter_after_skip_equals_walking(
            base_ids in proptest::collection::btree_set(0u32..400, 0..120),
            writes in proptest::collection::vec(0u32..400, 0..60),
            after in proptest::option::of(0u32..400),
            skip in 0usize..200,
        ) {
            let id = |n: u32| format!("f{n:03}");
            let mut layer = FacilityLayer::new(FacilityBase::new(base_ids.iter().map(|&n| entry(&id(n), 1)).collect()));
            for (v, &n) in writes.iter().enumerate() {
                layer = layer.with(entry(&id(n), 2 + v as i64));
            }
            // The oracle: the final state as a plain ordered map.
            let mut model: BTreeMap<String, i64> = base_ids.iter().map(|&n| (id(n), 1)).collect();
            for (v, &n) in writes.iter().enumerate() {
                model.insert(id(n), 2 + v as i64);
            }
            let after = after.map(id);
            let walked: Vec<(String, i64)> = model
                .into_iter()
                .filter(|(i, _)| after.as_deref().is_none_or(|a| i.as_str() > a))
                .skip(skip)
                .collect();
            let positioned: Vec<(String, i64)> = layer
                .iter_after_skip(after.as_deref(), skip)
                .map(|e| (e.facility.id.clone(), e.facility.version))
                .collect();
            prop_assert_eq!(positioned, walked);
        }
    }
}
