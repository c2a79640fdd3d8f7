//! problem+json (RFC 9457): the one shape of every error the API answers, and the
//! one table from error to status and title.

use crate::store::StoreError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: &'static str,
    #[serde(serialize_with = "ser_status")]
    pub status: StatusCode,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

fn ser_status<S: serde::Serializer>(s: &StatusCode, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_u16(s.as_u16())
}

impl Problem {
    fn new(
        status: StatusCode,
        kind: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Problem {
            kind,
            title,
            status,
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    /// 400: the request's parameters or body are malformed; one entry per bad field.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        let mut p = Problem::new(
            StatusCode::BAD_REQUEST,
            "/problems/invalid-input",
            "请求参数无效 (invalid input)",
            format!("参数有误 (invalid): {}", fields.join(", ")),
        );
        p.errors = errors;
        p
    }

    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Problem::invalid(vec![FieldError {
            field: field.to_string(),
            message: message.into(),
        }])
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Problem::new(
            StatusCode::NOT_FOUND,
            "/problems/not-found",
            "未找到 (not found)",
            detail,
        )
    }

    pub fn too_large() -> Self {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "/problems/too-large",
            "请求体过大 (request body too large)",
            "the request body exceeds the limit",
        )
    }

    pub fn method_not_allowed() -> Self {
        Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "/problems/method-not-allowed",
            "不支持该请求方法 (method not allowed)",
            "this resource does not accept that HTTP method",
        )
    }

    pub fn stale(detail: impl Into<String>) -> Self {
        Problem::new(
            StatusCode::PRECONDITION_FAILED,
            "/problems/stale-version",
            "记录已被他人修改 (the record has changed since you read it)",
            detail,
        )
    }

    /// 500, opaque to the caller; the cause is logged once, here.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "/problems/internal",
            "服务器内部错误 (internal error)",
            "the server could not answer; the error has been logged",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_string(&self).unwrap_or_else(|_| "{}".to_string());
        let mut res = (self.status, body).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        res
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { entity, id } => Problem::not_found(format!("{entity} {id} 不存在 (does not exist)")),
            StoreError::Stale { entity, id, current, expected } => Problem::stale(format!(
                "{entity} {id} 当前版本为 {current}，而请求基于版本 {expected} (is at version {current}, the request was based on {expected})"
            )),
            other => Problem::internal(&other),
        }
    }
}
