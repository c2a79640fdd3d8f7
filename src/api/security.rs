//! What every answer carries for safety, page and API alike: a strict
//! Content-Security-Policy (self only, plus the configured basemap's origin; no
//! inline script), `nosniff`, a referrer policy and `frame-ancestors 'none'`; and
//! the last line of defence: a panic in a handler becomes a logged 500
//! problem+json instead of a reset connection. Before any handler: a path or
//! query that holds a control character (NUL, newline, escape…) once decoded is a
//! 400 naming the parameter — no identifier, code or search term has one, and the
//! PostgreSQL store cannot even hold a NUL.

use super::problem::Problem;
use super::Basemap;
use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;

/// The origin (`scheme://host[:port]`) of a basemap tile URL template, if it has one
/// a CSP source can name (http or https, a host of URL characters only).
pub fn basemap_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_ok = !host.is_empty()
        && !host.contains('@')
        && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    host_ok.then(|| format!("{}://{}", scheme.to_ascii_lowercase(), host.to_ascii_lowercase()))
}

/// The page's policy. MapLibre runs its workers from `blob:` URLs and decodes
/// tiles into `blob:`/`data:` images; nothing else is loosened.
pub fn content_security_policy(basemap: Option<&Basemap>) -> String {
    let extra = basemap.and_then(|b| basemap_origin(&b.url)).map(|o| format!(" {o}")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:{extra}; \
         connect-src 'self'{extra}; worker-src 'self' blob:; child-src 'self' blob:; font-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Wrap the whole router: the headers on every answer, and panics caught.
pub fn harden(router: Router, basemap: Option<&Basemap>) -> Router {
    let csp = HeaderValue::from_str(&content_security_policy(basemap))
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'"));
    let set = |name: HeaderName, value: HeaderValue| SetResponseHeaderLayer::overriding(name, value);
    router
        .layer(set(header::CONTENT_SECURITY_POLICY, csp))
        .layer(set(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(set(header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin")))
        .layer(set(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(axum::middleware::from_fn(refuse_control_characters))
        .layer(CatchPanicLayer::custom(panic_answer))
}

/// A C0 control character or DEL: never part of a path segment or a query value here.
pub fn is_control(c: char) -> bool {
    c.is_ascii_control()
}

/// The first part of a request target that decodes to a control character: a path
/// segment (`path`) or a query parameter (its name).
fn control_character_in(uri: &axum::http::Uri) -> Option<String> {
    let path = percent_encoding::percent_decode_str(uri.path()).decode_utf8_lossy();
    if path.chars().any(is_control) {
        return Some("path".into());
    }
    let query = uri.query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, v)| k.chars().any(is_control) || v.chars().any(is_control))
        .map(|(k, _)| if k.chars().any(is_control) { "query".to_string() } else { k.into_owned() })
}

async fn refuse_control_characters(req: Request, next: Next) -> Response {
    match control_character_in(req.uri()) {
        Some(field) => Problem::invalid_field(&field, "含控制字符 (contains a control character)").into_response(),
        None => next.run(req).await,
    }
}

fn panic_answer(cause: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = cause
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| cause.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    Problem::internal(&format!("handler panicked: {what}")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_basemap_origin_is_taken_whole_or_not_at_all() {
        let o = |u: &str| basemap_origin(u);
        assert_eq!(o("https://t0.tianditu.gov.cn/vec_w/wmts?T={z}").as_deref(), Some("https://t0.tianditu.gov.cn"));
        assert_eq!(o("http://127.0.0.1:8081/{z}/{x}/{y}.png").as_deref(), Some("http://127.0.0.1:8081"));
        assert_eq!(o("javascript:alert(1)"), None);
        assert_eq!(o("https://evil.example; script-src *"), None);
        assert_eq!(o("https://user@host/x"), None);
        assert_eq!(o("ftp://host/x"), None);
        assert_eq!(o("乐土驿://镇"), None);
    }

    #[test]
    fn control_characters_in_the_target_are_named() {
        let c = |u: &str| control_character_in(&u.parse().expect("uri"));
        assert_eq!(c("/api/v1/users/%E4%B9%90%00/deactivate").as_deref(), Some("path"));
        assert_eq!(c("/api/v1/places?q=%0Aletuyi").as_deref(), Some("q"));
        assert_eq!(c("/api/v1/places?%7F=1").as_deref(), Some("query"));
        assert_eq!(c("/api/v1/places?q=%E4%B9%90%E5%9C%9F+%E9%A9%BF"), None);
        assert_eq!(c("/api/v1/places/p1"), None);
    }

    #[test]
    fn the_policy_allows_no_inline_script_and_no_framing() {
        let p = content_security_policy(None);
        assert!(p.contains("script-src 'self';") && !p.contains("unsafe"));
        assert!(p.contains("frame-ancestors 'none'"));
    }
}
