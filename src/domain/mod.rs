//! The registry's nouns, validated on construction.
//!
//! Owns: coordinates, codes, kinds, statuses and the records built from them.
//! Must not: do I/O or depend on axum, sqlx or any other framework. (`utoipa::ToSchema`
//! on the records the API answers as they are, `User` and `MinorityForm`, is a
//! documentation derive: the OpenAPI schema of the type itself.)

mod account;
mod coord;
mod division;
mod facility;
pub mod json;
mod place;
mod settlement;

pub use account::{Role, User};
pub use coord::{Lat, Lon, LonLat};
pub use division::{Division, DivisionCode, DivisionLevel, Provenance, RegionCode};
pub use facility::{Facility, FacilityKind, FacilityStatus, NewFacility, Operator};
pub use place::{Decision, LifecycleError, MinorityForm, Place, PlaceStatus};
pub use settlement::Settlement;

/// A value that failed validation, with a message meant for the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DomainError {
    pub message: String,
}

impl DomainError {
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into() }
    }
}
