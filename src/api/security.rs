//! What every answer carries for safety, page and API alike: a strict
//! Content-Security-Policy (self only, plus the configured basemap's origin; no
//! inline script), `nosniff`, a referrer policy and `frame-ancestors 'none'`; and
//! the last line of defence: a panic in a handler becomes a logged 500
//! problem+json instead of a reset connection.

use super::problem::Problem;
use super::Basemap;
use axum::http::{header, HeaderName, HeaderValue};
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
        .layer(CatchPanicLayer::custom(panic_answer))
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
    fn the_policy_allows_no_inline_script_and_no_framing() {
        let p = content_security_policy(None);
        assert!(p.contains("script-src 'self';") && !p.contains("unsafe"));
        assert!(p.contains("frame-ancestors 'none'"));
    }
}
