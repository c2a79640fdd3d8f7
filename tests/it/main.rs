//! The integration tests, one binary: black-box tests over HTTP against a server
//! on port 0, the CLI as a process, the page in a real Chromium, GDAL and QGIS as
//! clients, and the spatial oracles. One module per area; the PostgreSQL pass of
//! `scripts/test.sh` selects the store-backed modules by name.

mod common;

mod answers;
mod api;
mod architecture;
mod browser;
mod changes;
mod cli;
mod coverage;
mod crash;
mod dataset;
mod facility_write;
mod filters;
mod incremental;
mod interop;
mod ogc_write;
mod parsers;
mod places;
mod postgres;
mod region;
mod spatial_oracle;
mod store;
mod tiles;
mod trust;
mod webhooks;
