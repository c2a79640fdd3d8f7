//! JSON request bodies parsed at the boundary: a malformed body is a 400
//! problem naming the field (`add[1].lon`), an oversized one a 413.

use super::problem::{FieldError, Problem};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

pub fn parse_json<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, Problem> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::too_large()
        } else {
            Problem::invalid_field("body", e.body_text())
        }
    })?;
    let de = &mut serde_json::Deserializer::from_slice(&bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let at_root = path == "." || path == "?" || path.is_empty();
        // serde names a missing field only in its message: name it in `field` too.
        let missing =
            e.inner().to_string().strip_prefix("missing field `").and_then(|r| r.split('`').next().map(str::to_string));
        let field = match (missing, at_root) {
            (Some(m), true) => m,
            (Some(m), false) => format!("{path}.{m}"),
            (None, true) => "body".to_string(),
            (None, false) => path,
        };
        Problem::invalid(vec![FieldError {
            row: None,
            field,
            message: format!("请求体无效 (invalid JSON body): {}", e.inner()),
        }])
    })
}
