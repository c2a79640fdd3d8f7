//! The spatial snapshot and its indexes: nearest, within-radius, bbox and locate.
//!
//! Owns: the in-memory, read-only picture of the registry that queries run against,
//! and the geodesic arithmetic. Must not: write to the store or know about HTTP.
//!
//! # Units
//! Positions are `[lon, lat]` degrees (CGCS2000); distances are geodesic metres on
//! the GRS80 ellipsoid.

pub mod counties;
pub mod crs;
pub mod facility_layer;
pub mod features;
pub mod filter;
pub mod gcj02;
pub mod geodesic;
pub mod geojson_in;
pub mod partition;
mod points;
mod polygons;
mod snapshot;
pub mod tiles;

pub use points::{Hit, PointIndex, StatusSet};
pub use polygons::{PolygonIndex, RingEdges};
pub use snapshot::{DivisionEntry, FacilityEntry, SettlementEntry, Snapshot};
