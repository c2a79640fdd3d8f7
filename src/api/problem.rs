//! problem+json (RFC 9457): the one shape of every error the API answers, and the
//! one table from error to status and title.

use crate::registry::RegistryError;
use crate::store::StoreError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub use crate::registry::FieldError;

/// An error answer (RFC 9457), served as `application/problem+json`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "type": "/problems/invalid-input",
    "title": "请求参数无效 (invalid input)",
    "status": 400,
    "detail": "参数有误 (invalid): lon",
    "errors": [{"field": "lon", "message": "缺少必填参数 (required)"}]
}))]
pub struct Problem {
    /// The kind of problem, a URI reference such as `/problems/invalid-input`,
    /// `/problems/unauthorized`, `/problems/stale-version`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Short summary of the kind, in Chinese and English.
    pub title: &'static str,
    /// The HTTP status code.
    #[serde(serialize_with = "ser_status")]
    #[schema(value_type = u16, minimum = 400, maximum = 599)]
    pub status: StatusCode,
    /// What went wrong in this request.
    pub detail: String,
    /// Invalid input (400) and refusals (422): one entry per field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Naming-rule findings behind a 422 (rule, severity, message, conflicts).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<crate::naming::rules::Finding>)]
    pub findings: Vec<serde_json::Value>,
    /// Seconds for the `Retry-After` header of a 429 (not in the body).
    #[serde(skip)]
    pub retry_after: Option<u32>,
}

fn ser_status<S: serde::Serializer>(s: &StatusCode, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_u16(s.as_u16())
}

impl Problem {
    fn new(status: StatusCode, kind: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        Problem {
            kind,
            title,
            status,
            detail: detail.into(),
            errors: Vec::new(),
            findings: Vec::new(),
            retry_after: None,
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
        Problem::invalid(vec![FieldError { row: None, field: field.to_string(), message: message.into() }])
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::NOT_FOUND, "/problems/not-found", "未找到 (not found)", detail)
    }

    /// 401: no credentials, or wrong ones.
    pub fn unauthorized() -> Self {
        Problem::unauthorized_with("需要登录或 API 令牌 (log in, or send Authorization: Bearer TOKEN)")
    }

    pub fn unauthorized_with(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::UNAUTHORIZED, "/problems/unauthorized", "未登录 (not authenticated)", detail)
    }

    /// 403: known caller, not allowed.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::FORBIDDEN, "/problems/forbidden", "无权限 (forbidden)", detail)
    }

    /// 409: the change conflicts with the record's state.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::CONFLICT, "/problems/conflict", "操作冲突 (conflict)", detail)
    }

    /// 422: well-formed, but the registry's rules refuse it.
    pub fn unprocessable(errors: Vec<FieldError>) -> Self {
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        let mut p = Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "/problems/refused",
            "不符合登记规则 (refused by the registry's rules)",
            format!("不符合规则 (refused): {}", fields.join(", ")),
        );
        p.errors = errors;
        p
    }

    /// 428: a change to an existing record must say which version it is based on.
    pub fn precondition_required() -> Self {
        Problem::new(
            StatusCode::PRECONDITION_REQUIRED,
            "/problems/if-match-required",
            "需要 If-Match (If-Match required)",
            "修改已有记录须在 If-Match 头中给出所依据的版本（ETag） (send the ETag you read in If-Match)",
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

    /// 429 with `Retry-After` (whole seconds, rounded up).
    pub fn too_many_requests(wait: std::time::Duration) -> Self {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let mut p = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "/problems/too-many-requests",
            "尝试次数过多 (too many attempts)",
            format!("登录失败次数过多，请 {secs} 秒后再试 (too many failed logins; try again in {secs} s)"),
        );
        p.retry_after = Some(u32::try_from(secs.max(1)).unwrap_or(u32::MAX));
        p
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
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(secs) = self.retry_after {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Duplicate { entity, id } => Problem::conflict(format!("{entity} {id} 已存在 (already exists)")),
            StoreError::NotFound { entity, id } => Problem::not_found(format!("{entity} {id} 不存在 (does not exist)")),
            StoreError::Stale { entity, id, current, expected } => Problem::stale(format!(
                "{entity} {id} 当前版本为 {current}，而请求基于版本 {expected} (is at version {current}, the request was based on {expected})"
            )),
            other => Problem::internal(&other),
        }
    }
}

/// The one table from a use case's error to its answer.
impl From<RegistryError> for Problem {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::Invalid(errors) => Problem::invalid(errors),
            RegistryError::Refused { errors, findings } => {
                let mut p = Problem::unprocessable(errors);
                p.findings = findings.iter().map(|f| serde_json::to_value(f).unwrap_or_default()).collect();
                p
            }
            RegistryError::Rows(rows) => {
                let n = rows.len();
                let mut p = Problem::unprocessable(RegistryError::Rows(rows).into_field_errors());
                p.detail = format!("{n} 处错误，未写入任何记录 ({n} problems; nothing was written)");
                p
            }
            RegistryError::NotFound(m) => Problem::not_found(m),
            RegistryError::Conflict(m) => Problem::conflict(m),
            RegistryError::Denied(d) => d.into(),
            RegistryError::Forbidden(m) => Problem::forbidden(m),
            RegistryError::Store(e) => e.into(),
            RegistryError::Internal(m) => Problem::internal(&m),
        }
    }
}
