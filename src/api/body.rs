//! JSON request bodies parsed at the boundary: a malformed body is a 400
//! problem naming the field (`add[1].lon`), an oversized one a 413. A NUL
//! character in any string or key is refused (no field of the registry holds one,
//! and PostgreSQL cannot store it).

use super::problem::{FieldError, Problem};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

/// A JSON request body parsed into `T` at the boundary: the extractor every
/// handler that takes JSON uses; its rejection is the problem `parse_json` names.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> axum::extract::FromRequest<S> for JsonBody<T> {
    type Rejection = Problem;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Problem> {
        let bytes = <Bytes as axum::extract::FromRequest<S>>::from_request(req, state).await;
        parse_json(bytes).map(JsonBody)
    }
}

pub fn parse_json<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, Problem> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::too_large()
        } else {
            Problem::invalid_field("body", e.body_text())
        }
    })?;
    // A JSON text can carry NUL only as the escape `\u0000`: look closer only then.
    if bytes.windows(6).any(|w| w == br"\u0000") {
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) {
            if let Some(path) = crate::domain::json::nul_path(&value) {
                let field = if path.is_empty() { "body".to_string() } else { path };
                return Err(Problem::invalid_field(&field, "含空字符 NUL (contains a NUL character)"));
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_anywhere_is_named_by_its_path() {
        let parse = |s: &str| parse_json::<serde_json::Value>(Ok(Bytes::from(s.to_string())));
        let field = |s: &str| parse(s).err().and_then(|p| p.errors.first().map(|e| e.field.clone()));
        assert_eq!(field(r#"{"add":[{"name":"a"},{"name":"乐\u0000"}]}"#).as_deref(), Some("add[1].name"));
        assert_eq!(field(r#"{"k\u0000":1}"#).as_deref(), Some("body"));
        assert_eq!(field(r#""\u0000""#).as_deref(), Some("body"));
        assert!(parse(r#"{"name":"\\u0000 is text"}"#).is_ok(), "an escaped backslash is not a NUL");
        assert!(parse(r#"{"name":"乐土驿\n镇"}"#).is_ok(), "other control characters are for the rules to judge");
    }
}
