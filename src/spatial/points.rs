//! Exact geodesic nearest-k and within-radius over points.
//!
//! Points live in k-d trees (kiddo) in earth-centred cartesian metres (ECEF on
//! GRS80), one tree per status so a status filter never walks excluded points. The
//! straight chord between two surface points is never longer than the geodesic
//! between them, so taking candidates in chord order and stopping once the next
//! chord exceeds the k-th best geodesic distance yields the exact geodesic
//! nearest-k; for short distances chord and geodesic agree to ~d³/24R², so a query
//! evaluates about k geodesics and asks the tree for k + 1 candidates once. An
//! R-tree in lon/lat answers bounding-box queries.
//!
//! # Units
//! Metres; positions `[lon, lat]` degrees.

use super::geodesic::{distance_m, ecef};
use kiddo::immutable::float::kdtree::ImmutableKdTree;
use kiddo::SquaredEuclidean;
use rstar::primitives::GeomWithData;
use rstar::{RTree, AABB};
use std::num::NonZero;

/// Slack, metres, added to chord bounds so float rounding in the chord (~1e-9 m)
/// can never cut off a candidate whose geodesic is equal within rounding.
const SLACK_M: f64 = 1e-6;

/// A set of facility statuses as bits (see `FacilityStatus::bit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusSet(pub u8);

impl StatusSet {
    pub const ANY: StatusSet = StatusSet(0xff);
    /// What counts unless a question names other statuses: open facilities.
    pub const OPEN: StatusSet = StatusSet(1 << (crate::domain::FacilityStatus::Open as u8));

    pub fn contains(self, bit: u8) -> bool {
        self.0 & bit != 0
    }

    /// `open,planned`: at least one known status, comma-separated.
    pub fn parse(list: &str) -> Result<StatusSet, String> {
        let mut set = 0u8;
        for part in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            set |= part.parse::<crate::domain::FacilityStatus>().map_err(|e| e.message)?.bit();
        }
        if set == 0 {
            return Err("须至少给出一个状态 (name at least one of open, planned, closed)".into());
        }
        Ok(StatusSet(set))
    }
}

/// One answer: the item's index in the caller's table and its geodesic distance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub idx: u32,
    pub distance_m: f64,
}

/// The points of one status: a k-d tree over ECEF, and per tree item its table
/// index and lon/lat (kept beside the tree so a query touches no other table).
/// A tree item: its table index and `[lon, lat]`.
type Item = (u32, [f64; 2]);

struct StatusTree {
    tree: ImmutableKdTree<f64, u32, 3, 32>,
    items: Vec<Item>,
}

impl StatusTree {
    fn new(items: Vec<Item>) -> Self {
        let xyz: Vec<[f64; 3]> = items.iter().map(|(_, p)| ecef(*p)).collect();
        Self { tree: ImmutableKdTree::new_from_slice(&xyz), items }
    }

    /// The item behind a tree answer.
    #[expect(
        clippy::indexing_slicing,
        reason = "the tree was built from `items` in `new`, so every item it answers is a position in `items`"
    )]
    #[inline]
    fn item(&self, tree_item: u32) -> Item {
        self.items[tree_item as usize]
    }
}

/// Points with a status bit each; indices refer to the caller's table, whose order
/// is the tie-break (ties in distance go to the smaller index).
pub struct PointIndex {
    by_status: Vec<(u8, StatusTree)>,
    lonlat: RTree<GeomWithData<[f64; 2], u32>>,
    /// `lonlat` and status per table index (sparse tables keep unused slots).
    points: Vec<([f64; 2], u8)>,
    len: usize,
}

impl PointIndex {
    /// `items`: (table index, `[lon, lat]`, status bit). The table is `0..table_len`.
    ///
    /// # Panics
    /// If a table index is not below `table_len` (a caller's bug: every caller
    /// numbers its own table with `enumerate()`).
    #[expect(clippy::indexing_slicing, reason = "callers pass indices from enumerate() over a table of table_len rows")]
    pub fn new(table_len: usize, items: impl IntoIterator<Item = (u32, [f64; 2], u8)>) -> Self {
        let mut points = vec![([f64::NAN, f64::NAN], 0u8); table_len];
        let mut groups: Vec<(u8, Vec<Item>)> = Vec::new();
        let mut l = Vec::new();
        for (i, p, status) in items {
            points[i as usize] = (p, status);
            l.push(GeomWithData::new(p, i));
            match groups.iter_mut().find(|(s, _)| *s == status) {
                Some((_, g)) => g.push((i, p)),
                None => groups.push((status, vec![(i, p)])),
            }
        }
        let len = l.len();
        let by_status = groups.into_iter().map(|(s, g)| (s, StatusTree::new(g))).collect();
        Self { by_status, lonlat: RTree::bulk_load(l), points, len }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The `k` nearest points whose status is in `statuses`, at most `max_m` away,
    /// ordered by geodesic distance then index.
    pub fn nearest(&self, at: [f64; 2], k: usize, max_m: Option<f64>, statuses: StatusSet) -> Vec<Hit> {
        let mut best: Vec<Hit> = Vec::with_capacity(k + 1);
        if k == 0 {
            return best;
        }
        let q = ecef(at);
        for (status, st) in &self.by_status {
            if !statuses.contains(*status) || st.items.is_empty() {
                continue;
            }
            let mut n = k + 1;
            loop {
                let found = match max_m {
                    Some(m) => st.tree.nearest_n_within::<SquaredEuclidean>(
                        &q,
                        (m + SLACK_M) * (m + SLACK_M),
                        NonZero::new(n).unwrap_or(NonZero::<usize>::MIN),
                        true,
                    ),
                    None => st.tree.nearest_n::<SquaredEuclidean>(&q, NonZero::new(n).unwrap_or(NonZero::<usize>::MIN)),
                };
                let mut done = found.len() < n;
                for nn in &found {
                    let chord = nn.distance.sqrt();
                    // `best` is full: its last is the k-th best.
                    if best.len() == k && best.last().is_some_and(|kth| chord > kth.distance_m + SLACK_M) {
                        done = true;
                        break;
                    }
                    let (idx, p) = st.item(nn.item);
                    if best.iter().any(|h| h.idx == idx) {
                        continue; // seen in an earlier, smaller round
                    }
                    let g = distance_m(at, p);
                    if max_m.is_some_and(|m| g > m) {
                        continue;
                    }
                    let hit = Hit { idx, distance_m: g };
                    if best.len() == k && best.last().is_some_and(|kth| !before(&hit, kth)) {
                        continue;
                    }
                    let pos = best.partition_point(|h| before(h, &hit));
                    best.insert(pos, hit);
                    best.truncate(k);
                }
                if done || n >= st.items.len() {
                    break;
                }
                // Every candidate so far could still beat the k-th: ask for more.
                n = (n * 4).min(st.items.len());
            }
        }
        best
    }

    /// Every point with a status in `statuses` within `radius_m`, nearest first.
    pub fn within(&self, at: [f64; 2], radius_m: f64, statuses: StatusSet) -> Vec<Hit> {
        let q = ecef(at);
        let r = radius_m + SLACK_M;
        let mut hits = Vec::new();
        for (status, st) in &self.by_status {
            if !statuses.contains(*status) || st.items.is_empty() {
                continue;
            }
            for nn in st.tree.within_unsorted::<SquaredEuclidean>(&q, r * r) {
                let (idx, p) = st.item(nn.item);
                let g = distance_m(at, p);
                if g <= radius_m {
                    hits.push(Hit { idx, distance_m: g });
                }
            }
        }
        hits.sort_by(|a, b| if before(a, b) { std::cmp::Ordering::Less } else { std::cmp::Ordering::Greater });
        hits
    }

    /// Indices of the points inside a `[min_lon, min_lat, max_lon, max_lat]` box
    /// (edges included), in index order.
    pub fn in_bbox(&self, bbox: [f64; 4], statuses: StatusSet) -> Vec<u32> {
        let env = AABB::from_corners([bbox[0], bbox[1]], [bbox[2], bbox[3]]);
        let mut v: Vec<u32> = self
            .lonlat
            .locate_in_envelope(&env)
            .map(|item| item.data)
            .filter(|&i| self.points.get(i as usize).is_some_and(|p| statuses.contains(p.1)))
            .collect();
        v.sort_unstable();
        v
    }

    /// Whether the table index is in this index.
    pub fn has(&self, idx: u32) -> bool {
        self.points.get(idx as usize).is_some_and(|p| p.1 != 0)
    }

    /// The oracle for tests: geodesic distance to every point, sorted.
    pub fn brute_force(&self, at: [f64; 2], statuses: StatusSet) -> Vec<Hit> {
        let mut all: Vec<Hit> = self
            .points
            .iter()
            .enumerate()
            .filter(|(_, (_, s))| *s != 0 && statuses.contains(*s))
            .map(|(i, (p, _))| Hit { idx: i as u32, distance_m: distance_m(at, *p) })
            .collect();
        all.sort_by(|a, b| if before(a, b) { std::cmp::Ordering::Less } else { std::cmp::Ordering::Greater });
        all
    }
}

#[inline]
fn before(a: &Hit, b: &Hit) -> bool {
    (a.distance_m, a.idx) < (b.distance_m, b.idx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_is_ordered_by_geodesic_distance_then_index() {
        // Longitudes exact in binary, so the two neighbours are exactly equidistant.
        let pts = [[86.5, 44.25], [86.75, 44.25], [86.25, 44.25], [86.5, 44.5]];
        let idx = PointIndex::new(4, pts.iter().enumerate().map(|(i, p)| (i as u32, *p, 1)));
        let got = idx.nearest([86.5, 44.25], 3, None, StatusSet::ANY);
        assert_eq!(got[0].idx, 0);
        assert_eq!(got[0].distance_m, 0.0);
        // 86.25 and 86.75 are equidistant: the smaller index first.
        assert_eq!((got[1].idx, got[2].idx), (1, 2));
        assert_eq!(got[1].distance_m, got[2].distance_m);
        assert!(idx.nearest([86.5, 44.25], 5, Some(500.0), StatusSet::ANY).len() == 1);
    }
}
