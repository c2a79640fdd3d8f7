//! Point-in-MultiPolygon for many polygons: an R-tree of polygon envelopes to find
//! candidates, then, per polygon, its edges sorted into horizontal bands so that a
//! crossing-number test only looks at the few edges of one band.
//!
//! Border rule: a point is tested as if moved an infinitesimal step towards +lon and
//! +lat (edges are half-open in latitude and a crossing counts only strictly east
//! of the point). Each edge is stored with its endpoints in one canonical order, so
//! neighbours that share an edge compute the same crossing; a point on a border
//! shared by two polygons of a partition is therefore inside exactly one of them —
//! the one north-east of it. Holes and multiple parts need no special case: all
//! rings of a MultiPolygon count together (even-odd).

use geo_types::{Coord, MultiPolygon};
use rstar::{RTree, RTreeObject, AABB};

/// The edges of all rings of one MultiPolygon, banded by latitude.
#[derive(Debug, Clone)]
pub struct RingEdges {
    /// Edges as `[x1, y1, x2, y2]` with `(y1, x1) < (y2, x2)`; horizontal edges dropped.
    edges: Vec<[f64; 4]>,
    /// Edge indices per band (CSR layout: `band_start[b]..band_start[b + 1]`).
    band_start: Vec<u32>,
    band_edges: Vec<u32>,
    min_y: f64,
    band_h_inv: f64,
    bands: usize,
    bbox: [f64; 4],
}

impl RingEdges {
    pub fn new(mp: &MultiPolygon<f64>) -> Self {
        let mut edges = Vec::new();
        let mut bbox = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
        for poly in &mp.0 {
            for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                for line in ring.lines() {
                    let (a, b) = canonical(line.start, line.end);
                    bbox = [bbox[0].min(a.x).min(b.x), bbox[1].min(a.y), bbox[2].max(a.x).max(b.x), bbox[3].max(b.y)];
                    if a.y != b.y {
                        edges.push([a.x, a.y, b.x, b.y]);
                    }
                }
            }
        }
        let bands = (edges.len() / 2).clamp(1, 1 << 16);
        let height = (bbox[3] - bbox[1]).max(f64::MIN_POSITIVE);
        let band_h_inv = bands as f64 / height;
        let band_of = |y: f64| (((y - bbox[1]) * band_h_inv) as usize).min(bands - 1);
        let mut counts = vec![0u32; bands + 1];
        #[expect(clippy::indexing_slicing, reason = "band_of is at most bands - 1, and counts has bands + 1 slots")]
        for e in &edges {
            for b in band_of(e[1])..=band_of(e[3]) {
                counts[b + 1] += 1;
            }
        }
        // Prefix sums: band b's edges are band_edges[counts[b]..counts[b + 1]].
        let mut sum = 0;
        for c in &mut counts {
            sum += *c;
            *c = sum;
        }
        let mut fill = counts.clone();
        let mut band_edges = vec![0u32; sum as usize];
        #[expect(
            clippy::indexing_slicing,
            reason = "band_of is at most bands - 1 (fill has bands + 1 slots), and fill[b] stays below counts[b + 1], \
                      at most band_edges.len(), since band b is filled with exactly the edges counted for it above"
        )]
        for (i, e) in edges.iter().enumerate() {
            for b in band_of(e[1])..=band_of(e[3]) {
                band_edges[fill[b] as usize] = i as u32;
                fill[b] += 1;
            }
        }
        Self { edges, band_start: counts, band_edges, min_y: bbox[1], band_h_inv, bands, bbox }
    }

    /// `[min_lon, min_lat, max_lon, max_lat]`.
    pub fn bbox(&self) -> [f64; 4] {
        self.bbox
    }

    /// Whether `(x, y)` is inside, by the border rule in the module docs.
    #[expect(
        clippy::indexing_slicing,
        reason = "b is at most bands - 1 and band_start has bands + 1 entries, each range of it lies in band_edges, \
                  and band_edges holds indices of edges (all built together in `new`)"
    )]
    #[inline]
    pub fn contains(&self, x: f64, y: f64) -> bool {
        if !(y >= self.bbox[1] && y < self.bbox[3] && x < self.bbox[2]) {
            return false;
        }
        let b = (((y - self.min_y) * self.band_h_inv) as usize).min(self.bands - 1);
        let mut inside = false;
        for &i in &self.band_edges[self.band_start[b] as usize..self.band_start[b + 1] as usize] {
            inside ^= crosses(&self.edges[i as usize], x, y);
        }
        inside
    }

    /// The same test over every edge, without the bands: the oracle for tests.
    pub fn contains_brute_force(&self, x: f64, y: f64) -> bool {
        self.edges.iter().fold(false, |inside, e| inside ^ crosses(e, x, y))
    }

    pub fn edge_count(&self) -> usize {
        self.edges.len()
    }
}

#[inline]
fn canonical(a: Coord<f64>, b: Coord<f64>) -> (Coord<f64>, Coord<f64>) {
    if (a.y, a.x) <= (b.y, b.x) {
        (a, b)
    } else {
        (b, a)
    }
}

#[inline(always)]
fn crosses(e: &[f64; 4], x: f64, y: f64) -> bool {
    // Half-open in y: [y1, y2). The ray goes east; count crossings strictly east.
    if y < e[1] || y >= e[3] {
        return false;
    }
    if x < e[0].min(e[2]) {
        return true;
    }
    if x >= e[0].max(e[2]) {
        return false;
    }
    let xi = e[0] + (y - e[1]) * (e[2] - e[0]) / (e[3] - e[1]);
    x < xi
}

struct Envelope {
    bbox: [f64; 4],
    idx: u32,
}

impl RTreeObject for Envelope {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        AABB::from_corners([self.bbox[0], self.bbox[1]], [self.bbox[2], self.bbox[3]])
    }
}

/// Many MultiPolygons, for "which of them contains this point".
pub struct PolygonIndex {
    polygons: Vec<RingEdges>,
    tree: RTree<Envelope>,
}

impl PolygonIndex {
    pub fn new(polygons: Vec<RingEdges>) -> Self {
        let tree = RTree::bulk_load(
            polygons.iter().enumerate().map(|(i, p)| Envelope { bbox: p.bbox(), idx: i as u32 }).collect(),
        );
        Self { polygons, tree }
    }

    pub fn len(&self) -> usize {
        self.polygons.len()
    }

    pub fn is_empty(&self) -> bool {
        self.polygons.is_empty()
    }

    /// # Panics
    /// If `i` is not below `len()`.
    #[expect(clippy::indexing_slicing, reason = "documented to panic like slice indexing; callers pass i < len()")]
    pub fn get(&self, i: usize) -> &RingEdges {
        &self.polygons[i]
    }

    /// The smallest index of a polygon containing the point, if any. In a partition
    /// at most one polygon contains any point, so "smallest" only matters for
    /// overlapping inputs, where it keeps the answer deterministic.
    pub fn locate(&self, lon: f64, lat: f64) -> Option<usize> {
        let mut best: Option<usize> = None;
        for env in self.tree.locate_in_envelope_intersecting(&AABB::from_point([lon, lat])) {
            let i = env.idx as usize;
            if best.is_none_or(|b| i < b) && self.polygons.get(i).is_some_and(|p| p.contains(lon, lat)) {
                best = Some(i);
            }
        }
        best
    }

    /// Every polygon containing the point, in index order.
    pub fn locate_all(&self, lon: f64, lat: f64) -> Vec<usize> {
        let mut v: Vec<usize> = self
            .tree
            .locate_in_envelope_intersecting(&AABB::from_point([lon, lat]))
            .map(|e| e.idx as usize)
            .filter(|&i| self.polygons.get(i).is_some_and(|p| p.contains(lon, lat)))
            .collect();
        v.sort_unstable();
        v
    }

    /// The polygons whose bounding box meets `bbox` (`[west, south, east, north]`),
    /// in index order.
    pub fn intersecting(&self, bbox: [f64; 4]) -> Vec<usize> {
        let window = AABB::from_corners([bbox[0], bbox[1]], [bbox[2], bbox[3]]);
        let mut v: Vec<usize> = self.tree.locate_in_envelope_intersecting(&window).map(|e| e.idx as usize).collect();
        v.sort_unstable();
        v
    }

    /// The oracle for `intersecting`: every polygon's box, no index.
    pub fn intersecting_brute_force(&self, bbox: [f64; 4]) -> Vec<usize> {
        let meets = |b: [f64; 4]| b[0] <= bbox[2] && bbox[0] <= b[2] && b[1] <= bbox[3] && bbox[1] <= b[3];
        (0..self.polygons.len()).filter(|&i| self.polygons.get(i).is_some_and(|p| meets(p.bbox()))).collect()
    }

    /// The oracle: every polygon, every edge, no index.
    pub fn locate_brute_force(&self, lon: f64, lat: f64) -> Option<usize> {
        self.polygons.iter().position(|p| p.contains_brute_force(lon, lat))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{polygon, MultiPolygon};

    fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![polygon![(x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1), (x: x0, y: y0)]])
    }

    #[test]
    fn a_point_on_a_shared_border_belongs_to_exactly_one_side() {
        let idx = PolygonIndex::new(vec![
            RingEdges::new(&square(0.0, 0.0, 1.0, 1.0)),
            RingEdges::new(&square(1.0, 0.0, 2.0, 1.0)),
        ]);
        // On the shared edge x = 1: the eastern square (north-east rule).
        assert_eq!(idx.locate_all(1.0, 0.5), vec![1]);
        // Shared vertex at the bottom: north-east again.
        assert_eq!(idx.locate_all(1.0, 0.0), vec![1]);
        // Top edge is exclusive, west edge inclusive.
        assert_eq!(idx.locate_all(0.5, 1.0), Vec::<usize>::new());
        assert_eq!(idx.locate_all(0.0, 0.5), vec![0]);
    }

    #[test]
    fn boxes_meeting_a_window_equal_the_brute_force_answer() {
        let mut squares = Vec::new();
        for i in 0..40 {
            let (x, y) = (f64::from(i % 8) * 1.5, f64::from(i / 8) * 1.5);
            squares.push(RingEdges::new(&square(x, y, x + 1.0 + f64::from(i % 3), y + 1.0)));
        }
        let idx = PolygonIndex::new(squares);
        for w in [
            [0.0, 0.0, 0.5, 0.5],
            [2.0, 2.0, 6.0, 3.0],
            [-5.0, -5.0, 50.0, 50.0],
            [100.0, 100.0, 101.0, 101.0],
            [1.0, 1.0, 1.0, 1.0],
        ] {
            assert_eq!(idx.intersecting(w), idx.intersecting_brute_force(w), "{w:?}");
        }
        assert_eq!(idx.intersecting([-5.0, -5.0, 50.0, 50.0]).len(), 40);
        assert!(idx.intersecting([100.0, 100.0, 101.0, 101.0]).is_empty());
    }

    #[test]
    fn a_hole_is_outside() {
        let outer = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 4.0, y: 0.0), (x: 4.0, y: 4.0), (x: 0.0, y: 4.0), (x: 0.0, y: 0.0)],
            interiors: [[(x: 1.0, y: 1.0), (x: 2.0, y: 1.0), (x: 2.0, y: 2.0), (x: 1.0, y: 2.0), (x: 1.0, y: 1.0)]],
        );
        let r = RingEdges::new(&MultiPolygon(vec![outer]));
        assert!(r.contains(0.5, 0.5));
        assert!(!r.contains(1.5, 1.5));
        assert!(r.contains(3.0, 3.0));
    }
}
