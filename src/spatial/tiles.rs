//! Mapbox Vector Tiles of the snapshot's layers on the Web Mercator tile grid
//! (XYZ, as MapLibre asks): the features whose geometry meets a tile (with a
//! buffer), polygons cut to the buffered tile and simplified to a tile pixel,
//! coordinates in the tile's 4096 grid, scalar attributes as tags. Encoding by
//! geozero's MVT writer.

use geo::{BooleanOps, BoundingRect, Intersects, MapCoords, Simplify};
use geo_types::{Coord, Geometry, MultiPolygon, Point, Rect};
use geozero::mvt::{tile, Message, TagsBuilder, Tile, TileValue};
use geozero::ToMvt;

/// The grid of a tile.
pub const EXTENT: u32 = 4096;
/// The buffer around a tile, in grid units (features cut there, not at the edge).
const BUFFER: f64 = 64.0;
/// Deepest zoom served.
pub const MAX_ZOOM: u8 = 22;
/// Web Mercator's half circumference, metres.
const HALF: f64 = 20_037_508.342_789_244;
/// The latitude where Web Mercator ends.
const MAX_LAT: f64 = 85.051_128_779_806_6;

/// A tile address, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileId {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

impl TileId {
    pub fn new(z: u8, x: u32, y: u32) -> Option<TileId> {
        let n = 1u64 << z.min(MAX_ZOOM);
        (z <= MAX_ZOOM && u64::from(x) < n && u64::from(y) < n).then_some(TileId { z, x, y })
    }

    /// `[left, bottom, right, top]` in Web Mercator metres.
    pub fn mercator_bounds(&self) -> [f64; 4] {
        let size = 2.0 * HALF / f64::from(1u32 << self.z);
        let left = -HALF + f64::from(self.x) * size;
        let top = HALF - f64::from(self.y) * size;
        [left, top - size, left + size, top]
    }

    /// The tile grown by the buffer, in lon/lat (`[minx, miny, maxx, maxy]`).
    pub fn lonlat_bounds_buffered(&self) -> [f64; 4] {
        let [l, b, r, t] = self.buffered();
        let (x0, y0) = to_lonlat(l, b);
        let (x1, y1) = to_lonlat(r, t);
        [x0, y0, x1, y1]
    }

    /// The tile itself in lon/lat.
    pub fn lonlat_bounds(&self) -> [f64; 4] {
        let [l, b, r, t] = self.mercator_bounds();
        let (x0, y0) = to_lonlat(l, b);
        let (x1, y1) = to_lonlat(r, t);
        [x0, y0, x1, y1]
    }

    fn buffered(&self) -> [f64; 4] {
        let [l, b, r, t] = self.mercator_bounds();
        let pad = (r - l) * BUFFER / f64::from(EXTENT);
        [l - pad, b - pad, r + pad, t + pad]
    }

    /// A pixel of the tile's grid, metres.
    fn pixel(&self) -> f64 {
        let [l, _, r, _] = self.mercator_bounds();
        (r - l) / f64::from(EXTENT)
    }
}

/// Lon/lat to Web Mercator metres (latitude clamped to the projection's range).
pub fn to_mercator(lon: f64, lat: f64) -> (f64, f64) {
    let lat = lat.clamp(-MAX_LAT, MAX_LAT);
    let x = lon * HALF / 180.0;
    let y = (std::f64::consts::FRAC_PI_4 + lat.to_radians() / 2.0).tan().ln() * HALF / std::f64::consts::PI;
    (x, y)
}

fn to_lonlat(x: f64, y: f64) -> (f64, f64) {
    let lon = x / HALF * 180.0;
    let lat = (2.0 * (y / HALF * std::f64::consts::PI).exp().atan() - std::f64::consts::FRAC_PI_2).to_degrees();
    (lon, lat)
}

/// An attribute value of a tile feature.
pub enum Attr<'a> {
    Str(&'a str),
    Int(i64),
    Num(f64),
    Bool(bool),
}

/// One layer of a tile being built.
pub struct LayerBuilder {
    tile: TileId,
    name: String,
    features: Vec<tile::Feature>,
    tags: TagsBuilder<String>,
}

impl LayerBuilder {
    pub fn new(tile: TileId, name: &str) -> Self {
        LayerBuilder { tile, name: name.to_string(), features: Vec::new(), tags: TagsBuilder::new() }
    }

    fn push(&mut self, geometry: Geometry<f64>, attrs: &[(&str, Option<Attr>)]) {
        let [l, b, r, t] = self.tile.mercator_bounds();
        let Ok(mut f) = geometry.to_mvt(EXTENT, l, b, r, t) else { return };
        if f.geometry.is_empty() {
            return;
        }
        for (k, v) in attrs {
            let value = match v {
                Some(Attr::Str(s)) => TileValue::Str((*s).to_string()),
                Some(Attr::Int(i)) => TileValue::Sint(*i),
                Some(Attr::Num(x)) => TileValue::Double(*x),
                Some(Attr::Bool(b)) => TileValue::Bool(*b),
                None => continue, // MVT has no null: the key is left out
            };
            let (ki, vi) = self.tags.insert((*k).to_string(), value);
            f.tags.push(ki);
            f.tags.push(vi);
        }
        self.features.push(f);
    }

    /// A point (lon/lat), if it lies in the buffered tile.
    pub fn point(&mut self, lon: f64, lat: f64, attrs: &[(&str, Option<Attr>)]) {
        let [x0, y0, x1, y1] = self.tile.lonlat_bounds_buffered();
        if !(x0..=x1).contains(&lon) || !(y0..=y1).contains(&lat) {
            return;
        }
        let (x, y) = to_mercator(lon, lat);
        self.push(Geometry::Point(Point::new(x, y)), attrs);
    }

    /// A polygon or multipolygon (lon/lat), cut to the buffered tile and simplified
    /// to a pixel of it.
    pub fn polygons(&mut self, geometry: &Geometry<f64>, attrs: &[(&str, Option<Attr>)]) {
        let [x0, y0, x1, y1] = self.tile.lonlat_bounds_buffered();
        let window = Rect::new(Coord { x: x0, y: y0 }, Coord { x: x1, y: y1 });
        let mp: MultiPolygon<f64> = match geometry {
            Geometry::MultiPolygon(mp) => mp.clone(),
            Geometry::Polygon(p) => MultiPolygon(vec![p.clone()]),
            _ => return,
        };
        let Some(rect) = mp.bounding_rect() else { return };
        if !rect.intersects(&window) {
            return;
        }
        // Wholly inside the buffered tile (a county on a low-zoom tile): nothing to cut.
        let inside = x0 <= rect.min().x && rect.max().x <= x1 && y0 <= rect.min().y && rect.max().y <= y1;
        let cut = if inside { mp } else { mp.intersection(&MultiPolygon(vec![window.to_polygon()])) };
        if cut.0.is_empty() {
            return;
        }
        let merc = cut.map_coords(|c| {
            let (x, y) = to_mercator(c.x, c.y);
            Coord { x, y }
        });
        let simple = merc.simplify(self.tile.pixel());
        self.push(Geometry::MultiPolygon(simple), attrs);
    }

    fn finish(self) -> tile::Layer {
        let (keys, values) = self.tags.into_tags();
        tile::Layer {
            version: 2,
            name: self.name,
            features: self.features,
            keys,
            values: values.into_iter().map(Into::into).collect(),
            extent: Some(EXTENT),
        }
    }
}

/// The encoded tile of these layers (empty layers left out).
pub fn encode(layers: Vec<LayerBuilder>) -> Vec<u8> {
    let tile =
        Tile { layers: layers.into_iter().filter(|l| !l.features.is_empty()).map(LayerBuilder::finish).collect() };
    tile.encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_bounds_and_projection_agree() {
        let t = TileId::new(8, 189, 92).expect("tile");
        let [x0, y0, x1, y1] = t.lonlat_bounds();
        assert!((x0 - 85.78125).abs() < 1e-9 && (x1 - 87.1875).abs() < 1e-9, "{x0} {x1}");
        assert!(y0 < 44.3 && 44.3 < y1, "{y0} {y1}");
        let (mx, my) = to_mercator(86.2, 44.3);
        let (lon, lat) = to_lonlat(mx, my);
        assert!((lon - 86.2).abs() < 1e-9 && (lat - 44.3).abs() < 1e-9);
        assert!(TileId::new(8, 256, 0).is_none() && TileId::new(23, 0, 0).is_none());
    }
}
