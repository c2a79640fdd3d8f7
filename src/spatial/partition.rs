//! A partition of a real outline into cells around seed points: the synthetic
//! township polygons of a county (`import::region`).
//!
//! The cells are the Voronoi regions of the seeds in a local frame where a degree of
//! longitude is shortened by cos(latitude), so that cells are round on the ground,
//! clipped to the outline. All cells come from one slicing of the outline by the
//! Voronoi edges (i_overlay, on a fixed grid of 1e-7°), so neighbours share their
//! vertices exactly, the cells never overlap, and their union is the outline on that
//! grid (about 1 cm). Holes in the outline stay holes.

use geo::{Area, BoundingRect, InteriorPoint};
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use i_overlay::core::fill_rule::FillRule;
use i_overlay::float::slice::FloatSlice;
use spade::{DelaunayTriangulation, Point2, Triangulation};

/// The grid the slicing works on: 1e-7 degree.
const SCALE: f64 = 1e7;

/// A local frame: `x = (lon - lon0)·cos(lat0)`, `y = lat - lat0`, in degrees.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    lon0: f64,
    lat0: f64,
    kx: f64,
    /// Width and height of the outline's box in the frame.
    pub width: f64,
    pub height: f64,
}

impl Frame {
    /// The frame of an outline's bounding box (its south-west corner is the origin).
    pub fn of(outline: &MultiPolygon<f64>) -> Option<Frame> {
        let b = outline.bounding_rect()?;
        let kx = ((b.min().y + b.max().y) / 2.0).to_radians().cos();
        Some(Frame {
            lon0: b.min().x,
            lat0: b.min().y,
            kx,
            width: (b.max().x - b.min().x) * kx,
            height: b.max().y - b.min().y,
        })
    }
    pub fn to_local(&self, c: Coord<f64>) -> [f64; 2] {
        [(c.x - self.lon0) * self.kx, c.y - self.lat0]
    }
    pub fn to_lonlat(&self, p: [f64; 2]) -> Coord<f64> {
        Coord { x: p[0] / self.kx + self.lon0, y: p[1] + self.lat0 }
    }
    /// Squared distance in the frame between two lon/lat points.
    pub fn dist2(&self, a: Coord<f64>, b: Coord<f64>) -> f64 {
        let dx = (a.x - b.x) * self.kx;
        let dy = a.y - b.y;
        dx * dx + dy * dy
    }
}

/// The cells of `outline` around `seeds` (lon/lat), one MultiPolygon per seed, in
/// seed order; a seed whose cell misses the outline gets an empty MultiPolygon.
/// Seeds should be distinct and inside the outline.
pub fn voronoi_cells(outline: &MultiPolygon<f64>, seeds: &[Coord<f64>]) -> Vec<MultiPolygon<f64>> {
    let mut cells: Vec<Vec<Polygon<f64>>> = vec![Vec::new(); seeds.len()];
    let Some(frame) = Frame::of(outline) else { return cells.into_iter().map(MultiPolygon).collect() };
    if seeds.len() == 1 {
        return vec![outline.clone()];
    }
    let local: Vec<[f64; 2]> = seeds.iter().map(|s| frame.to_local(*s)).collect();

    // Far dummy seeds on a wide circle bound every real seed's Voronoi region, so
    // the edges that can cross the outline all have two finite ends.
    let extent = frame.width.max(frame.height).max(1e-6);
    let (cx, cy) = (frame.width / 2.0, frame.height / 2.0);
    let mut triangulation: DelaunayTriangulation<Point2<f64>> = DelaunayTriangulation::new();
    for p in &local {
        // A duplicate seed is the same vertex: its cell stays empty.
        let _ = triangulation.insert(Point2::new(p[0], p[1]));
    }
    for k in 0..8 {
        let a = f64::from(k) * std::f64::consts::FRAC_PI_4;
        let _ = triangulation.insert(Point2::new(cx + 20.0 * extent * a.cos(), cy + 20.0 * extent * a.sin()));
    }
    let margin = extent * 0.01;
    let window = [-margin, -margin, frame.width + margin, frame.height + margin];
    let mut cuts: Vec<Vec<[f64; 2]>> = Vec::new();
    for edge in triangulation.undirected_voronoi_edges() {
        let [a, b] = edge.vertices();
        if let (Some(fa), Some(fb)) = (a.as_delaunay_face(), b.as_delaunay_face()) {
            let (pa, pb) = (fa.circumcenter(), fb.circumcenter());
            if let Some(segment) = clip([pa.x, pa.y], [pb.x, pb.y], window) {
                cuts.push(segment.to_vec());
            }
        }
    }

    let subject: Vec<Vec<Vec<[f64; 2]>>> = outline
        .0
        .iter()
        .map(|p| std::iter::once(p.exterior()).chain(p.interiors()).map(|r| ring_to_local(&frame, r)).collect())
        .collect();
    let shapes = match subject.slice_by_fixed_scale(&cuts, FillRule::EvenOdd, SCALE) {
        Ok(s) => s,
        Err(_) => return fallback(outline, seeds.len()),
    };
    for shape in shapes {
        let mut rings = shape
            .into_iter()
            .map(|c| LineString::from(c.into_iter().map(|p| Coord { x: p[0], y: p[1] }).collect::<Vec<_>>()));
        let Some(exterior) = rings.next() else { continue };
        let piece_local = Polygon::new(exterior, rings.collect());
        if piece_local.unsigned_area() == 0.0 {
            continue;
        }
        let Some(inside) = piece_local.interior_point() else { continue };
        let nearest = local
            .iter()
            .enumerate()
            .map(|(i, s)| (i, (s[0] - inside.x()).powi(2) + (s[1] - inside.y()).powi(2)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, _)| i);
        if let Some(cell) = nearest.and_then(|i| cells.get_mut(i)) {
            cell.push(polygon_to_lonlat(&frame, &piece_local));
        }
    }
    cells.into_iter().map(MultiPolygon).collect()
}

/// Where slicing refuses an outline (out of the grid's range): the whole outline
/// goes to the first seed, so the partition stays exact.
fn fallback(outline: &MultiPolygon<f64>, n: usize) -> Vec<MultiPolygon<f64>> {
    (0..n).map(|i| if i == 0 { outline.clone() } else { MultiPolygon(Vec::new()) }).collect()
}

fn ring_to_local(frame: &Frame, ring: &LineString<f64>) -> Vec<[f64; 2]> {
    let mut pts: Vec<[f64; 2]> = ring.0.iter().map(|c| frame.to_local(*c)).collect();
    if pts.len() > 1 && pts.first() == pts.last() {
        pts.pop();
    }
    pts
}

fn polygon_to_lonlat(frame: &Frame, p: &Polygon<f64>) -> Polygon<f64> {
    let ring =
        |r: &LineString<f64>| LineString::from(r.0.iter().map(|c| frame.to_lonlat([c.x, c.y])).collect::<Vec<_>>());
    Polygon::new(ring(p.exterior()), p.interiors().iter().map(ring).collect())
}

/// The part of segment `a`–`b` inside the box `[xmin, ymin, xmax, ymax]`
/// (Liang–Barsky), if any.
fn clip(a: [f64; 2], b: [f64; 2], [xmin, ymin, xmax, ymax]: [f64; 4]) -> Option<[[f64; 2]; 2]> {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let (mut t0, mut t1) = (0.0_f64, 1.0_f64);
    for (p, q) in [(-dx, a[0] - xmin), (dx, xmax - a[0]), (-dy, a[1] - ymin), (dy, ymax - a[1])] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
        }
    }
    (t0 < t1).then(|| [[a[0] + t0 * dx, a[1] + t0 * dy], [a[0] + t1 * dx, a[1] + t1 * dy]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{BooleanOps, Contains};
    use geo_types::{coord, polygon, Point};

    fn square_with_hole() -> MultiPolygon<f64> {
        MultiPolygon(vec![polygon!(
            exterior: [(x: 86.0, y: 44.0), (x: 87.0, y: 44.0), (x: 87.0, y: 45.0), (x: 86.0, y: 45.0), (x: 86.0, y: 44.0)],
            interiors: [[(x: 86.4, y: 44.4), (x: 86.6, y: 44.4), (x: 86.6, y: 44.6), (x: 86.4, y: 44.6), (x: 86.4, y: 44.4)]],
        )])
    }

    #[test]
    fn cells_partition_the_outline_and_keep_its_hole() {
        let outline = square_with_hole();
        let seeds = [
            coord! { x: 86.2, y: 44.2 },
            coord! { x: 86.8, y: 44.3 },
            coord! { x: 86.5, y: 44.8 },
            coord! { x: 86.1, y: 44.9 },
        ];
        let cells = voronoi_cells(&outline, &seeds);
        assert_eq!(cells.len(), 4);
        let total: f64 = cells.iter().map(|c| c.unsigned_area()).sum();
        // The grid is 1e-7°: the union differs from the outline by less than its perimeter times that.
        assert!((total - outline.unsigned_area()).abs() < 5e-7, "{total}");
        for (i, a) in cells.iter().enumerate() {
            assert!(a.contains(&Point::from(seeds[i])), "cell {i} holds its seed");
            assert!(!a.contains(&Point::new(86.5, 44.5)), "the hole stays a hole");
            for b in cells.iter().skip(i + 1) {
                assert!(a.intersection(b).unsigned_area() < 1e-12, "cells do not overlap");
            }
        }
    }

    #[test]
    fn one_seed_takes_the_whole_outline() {
        let outline = square_with_hole();
        assert_eq!(voronoi_cells(&outline, &[coord! { x: 86.2, y: 44.2 }]), vec![outline]);
    }

    #[test]
    fn clip_keeps_the_inside_part() {
        assert_eq!(clip([-1.0, 0.5], [2.0, 0.5], [0.0, 0.0, 1.0, 1.0]), Some([[0.0, 0.5], [1.0, 0.5]]));
        assert_eq!(clip([-1.0, 2.0], [2.0, 2.0], [0.0, 0.0, 1.0, 1.0]), None);
    }
}
