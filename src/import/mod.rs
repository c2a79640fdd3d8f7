//! Readers that turn files into validated registry records, reporting problems
//! with the file, the row or feature, and the field.
//!
//! Owns: the bundled dataset loader (`dataset`) and the file reader for `diming import`
//! and `POST /api/v1/import` (`read`: encoding, format, CRS). Must not: write to the store
//! itself — callers hand the validated records to a `Store` in one transaction.

pub mod dataset;
pub mod read;
pub mod reference;
pub mod region;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ImportError {
    #[error("cannot read {file}: {message}")]
    Read { file: String, message: String },
    #[error("{file}, feature {index} ({id}), field `{field}`: {message}")]
    Field { file: String, index: usize, id: String, field: String, message: String },
}

/// A registry layer that can be imported and exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    Divisions,
    Facilities,
    Settlements,
    Places,
}

impl Layer {
    pub const ALL: [Layer; 4] = [Layer::Divisions, Layer::Facilities, Layer::Settlements, Layer::Places];

    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Divisions => "divisions",
            Layer::Facilities => "facilities",
            Layer::Settlements => "settlements",
            Layer::Places => "places",
        }
    }

    pub fn parse(s: &str) -> Option<Layer> {
        Layer::ALL.into_iter().find(|l| l.as_str() == s)
    }
}
