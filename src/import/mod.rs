//! Readers that turn files into validated registry records, reporting problems
//! with the file, the row or feature, and the field.
//!
//! Owns: the bundled dataset loader (`dataset`). Must not: write to the store
//! itself — callers hand the validated records to a `Store` in one transaction.

pub mod dataset;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ImportError {
    #[error("cannot read {file}: {message}")]
    Read { file: String, message: String },
    #[error("{file}, feature {index} ({id}), field `{field}`: {message}")]
    Field { file: String, index: usize, id: String, field: String, message: String },
}
