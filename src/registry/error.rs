//! Why a use case refused or failed. Each variant is one kind of answer; `api`
//! gives each its status and problem type in one table, the command line prints
//! the message.

use crate::accounts::Denied;
use crate::import::read::RowError;
use crate::naming::rules::Finding;
use crate::store::StoreError;
use serde::Serialize;
use std::fmt;

/// One invalid or refused field.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct FieldError {
    /// For imports: the row (CSV line as a spreadsheet numbers it, or GeoJSON feature number).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<usize>,
    /// The query parameter, header or body field, as a path for nested ones
    /// (`add[1].lon`, `attributes.nursing_beds`); `body` for the body as a whole.
    #[schema(example = "lon")]
    pub field: String,
    /// What is wrong, in Chinese and English.
    #[schema(example = "缺少必填参数 (required)")]
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        FieldError { row: None, field: field.to_string(), message: message.into() }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.row {
            Some(row) => write!(f, "第 {row} 行 (row {row}) {}: {}", self.field, self.message),
            None => write!(f, "{}: {}", self.field, self.message),
        }
    }
}

#[derive(Debug)]
pub enum RegistryError {
    /// Values outside their schema, one entry per field (HTTP 400).
    Invalid(Vec<FieldError>),
    /// Values that each match their schema but that the registry's rules refuse,
    /// alone or together (HTTP 422); `findings` when a naming rule refused.
    Refused { errors: Vec<FieldError>, findings: Vec<Finding> },
    /// The rows of an imported file that are refused; nothing was written (HTTP 422).
    Rows(Vec<RowError>),
    /// No such record (HTTP 404).
    NotFound(String),
    /// The record's state does not allow the change (HTTP 409).
    Conflict(String),
    /// The caller is not allowed: no login, a missing role or CSRF token (HTTP 401/403).
    Denied(Denied),
    /// A rule of the registry about who may act, beyond roles (an approver of
    /// their own proposal; an import layer's role) (HTTP 403).
    Forbidden(String),
    /// The store refused or failed (stale versions, duplicates, I/O).
    Store(StoreError),
    /// A computation failed unexpectedly (HTTP 500).
    Internal(String),
}

pub type RegistryResult<T> = Result<T, RegistryError>;

impl RegistryError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        RegistryError::Invalid(vec![FieldError::new(field, message)])
    }

    pub fn refused(field: &str, message: impl Into<String>) -> Self {
        RegistryError::Refused { errors: vec![FieldError::new(field, message)], findings: Vec::new() }
    }

    /// The one outcome of a validation that collected `errors` (outside their
    /// schema) and `refused` (refused by a rule): 400 if any field is malformed
    /// (reporting the refusals too), else 422 if any is refused.
    pub fn from_checks(mut errors: Vec<FieldError>, refused: Vec<FieldError>) -> RegistryResult<()> {
        if !errors.is_empty() {
            errors.extend(refused);
            return Err(RegistryError::Invalid(errors));
        }
        if !refused.is_empty() {
            return Err(RegistryError::Refused { errors: refused, findings: Vec::new() });
        }
        Ok(())
    }

    /// The fields named, for a row's report in an import.
    pub fn into_field_errors(self) -> Vec<FieldError> {
        match self {
            RegistryError::Invalid(e) | RegistryError::Refused { errors: e, .. } => e,
            RegistryError::Rows(rows) => rows
                .into_iter()
                .map(|r| FieldError { row: (r.row > 0).then_some(r.row), field: r.field, message: r.message })
                .collect(),
            other => vec![FieldError::new("row", other.to_string())],
        }
    }
}

impl From<StoreError> for RegistryError {
    fn from(e: StoreError) -> Self {
        RegistryError::Store(e)
    }
}

impl From<Denied> for RegistryError {
    fn from(d: Denied) -> Self {
        RegistryError::Denied(d)
    }
}

fn list(f: &mut fmt::Formatter<'_>, errors: &[FieldError]) -> fmt::Result {
    let parts: Vec<String> = errors.iter().map(ToString::to_string).collect();
    f.write_str(&parts.join("; "))
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryError::Invalid(errors) | RegistryError::Refused { errors, .. } => list(f, errors),
            RegistryError::Rows(rows) => {
                write!(f, "{} 处错误，未写入任何记录 ({} problems; nothing was written)", rows.len(), rows.len())
            }
            RegistryError::NotFound(m) | RegistryError::Conflict(m) | RegistryError::Forbidden(m) => f.write_str(m),
            RegistryError::Denied(d) => write!(f, "{d}"),
            RegistryError::Store(e) => write!(f, "{e}"),
            RegistryError::Internal(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for RegistryError {}
