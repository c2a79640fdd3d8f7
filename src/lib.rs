//! diming (地名) — the geographic registry of a county civil-affairs bureau.
//!
//! Administrative divisions, settlements (the demand points of coverage), service
//! facilities and standard place names, held in SQL (the source of truth, with
//! history and audit) and served from an in-memory spatial snapshot.
//!
//! Data flows `import → store → spatial snapshot → registry → api / cli`;
//! dependencies point downward: `api, cli → registry → coverage, spatial, naming,
//! store → domain`.
//!
//! # Units
//! Coordinates are `[lon, lat]` degrees in CGCS2000 (EPSG:4490). Every distance is a
//! geodesic distance in metres on the GRS80 ellipsoid (Karney's method).

// No byte-offset slicing or unchecked indexing on outside values: every such spot
// is written with `get`, or carries an `#[expect]` saying why its index is safe.
#![cfg_attr(not(test), warn(clippy::string_slice, clippy::indexing_slicing))]

pub mod accounts;
pub mod api;
pub mod config;
pub mod coverage;
pub mod domain;
pub mod import;
pub mod naming;
pub mod registry;
pub mod schema;
pub mod spatial;
pub mod store;

pub use api::{app, AppOptions, AppState, Basemap};
