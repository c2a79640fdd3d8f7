//! `crs=GCJ-02` on the REST endpoints, for apps that draw on AMap or Tencent maps:
//! the request's `lon`, `lat` and `bbox` are read as GCJ-02, and every geometry
//! (and every `lon`/`lat` pair) of the answer is written in GCJ-02. Distances stay
//! true geodesic metres between the real (CGCS2000) points.
//!
//! One layer around `/api/v1` does it, so no handler knows about GCJ-02. Only reads
//! (GET, HEAD) take it; imports name their CRS themselves.

use super::problem::Problem;
use crate::spatial::crs::{transform_geojson, Crs, Transformer};
use crate::spatial::gcj02;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// Largest answer rewritten (a whole layer is far smaller).
const MAX_BODY: usize = 256 * 1024 * 1024;

pub async fn layer(req: Request, next: Next) -> Response {
    let Some(query) = req.uri().query() else { return next.run(req).await };
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let Some((_, value)) = pairs.iter().find(|(k, _)| k == "crs") else { return next.run(req).await };
    // The import and export endpoints read `crs` themselves.
    let path = req.uri().path();
    if path.ends_with("/import") || path.ends_with("/export") {
        return next.run(req).await;
    }
    match Crs::from_param(value) {
        Some(Crs::Gcj02) => {}
        Some(Crs::Crs84 | Crs::Epsg4490 | Crs::Epsg4326) => return next.run(req).await,
        _ => {
            return Problem::invalid_field(
                "crs",
                format!(
                    "REST 接口支持 crs=GCJ-02（或默认的 CGCS2000 经纬度），不支持 '{value}'；其他坐标系请用 /ogc 或 /api/v1/export \
                     (REST takes crs=GCJ-02; for other CRSs use /ogc or the export)"
                ),
            )
            .into_response()
        }
    }
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return Problem::invalid_field("crs", "只有查询接口接受 crs=GCJ-02 (only reads take crs=GCJ-02)")
            .into_response();
    }
    let query = wgs84_query(&pairs);
    let (mut parts, body) = req.into_parts();
    let new_uri = format!("{}?{query}", parts.uri.path());
    match new_uri.parse() {
        Ok(u) => parts.uri = u,
        Err(_) => return Problem::invalid_field("crs", "cannot rewrite the query").into_response(),
    }
    let res = next.run(Request::from_parts(parts, body)).await;
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json") || t.starts_with("application/geo+json"));
    if !res.status().is_success() || !is_json {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return Problem::internal(&"answer too large to rewrite in GCJ-02").into_response();
    };
    let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let done = Transformer::with(Crs::Crs84, Crs::Gcj02, |t| {
        transform_geojson(&mut value, t, false)?;
        lon_lat_pairs(&mut value);
        Ok::<(), crate::spatial::crs::CrsError>(())
    });
    if let Err(e) = done.and_then(|r| r) {
        return Problem::internal(&e).into_response();
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert("content-crs", HeaderValue::from_static("GCJ-02"));
    Response::from_parts(parts, Body::from(value.to_string()))
}

/// The query with its `lon`, `lat` and `bbox` converted from GCJ-02 to CGCS2000.
fn wgs84_query(pairs: &[(String, String)]) -> String {
    let number = |k: &str| pairs.iter().find(|(n, _)| n == k).and_then(|(_, v)| v.trim().parse::<f64>().ok());
    let point = match (number("lon"), number("lat")) {
        (Some(x), Some(y)) => Some(gcj02::to_wgs84(x, y)),
        _ => None,
    };
    let mut rewritten = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        let v = match (k.as_str(), point) {
            ("lon", Some((x, _))) => x.to_string(),
            ("lat", Some((_, y))) => y.to_string(),
            ("bbox", _) => {
                let n: Vec<f64> = v.split(',').filter_map(|s| s.trim().parse().ok()).collect();
                if let &[x1, y1, x2, y2] = n.as_slice() {
                    let (a, b) = (gcj02::to_wgs84(x1, y1), gcj02::to_wgs84(x2, y2));
                    format!("{},{},{},{}", a.0, a.1, b.0, b.1)
                } else {
                    v.clone() // malformed: the handler names it
                }
            }
            _ => v.clone(),
        };
        rewritten.append_pair(k, &v);
    }
    rewritten.finish()
}

/// Objects with numeric `lon` and `lat` members (locate's echo, siting's candidates).
fn lon_lat_pairs(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let (Some(x), Some(y)) = (map.get("lon").and_then(Value::as_f64), map.get("lat").and_then(Value::as_f64))
            {
                let (gx, gy) = gcj02::from_wgs84(x, y);
                map.insert("lon".into(), Value::from(gx));
                map.insert("lat".into(), Value::from(gy));
            }
            for (k, child) in map.iter_mut() {
                if k != "geometry" {
                    lon_lat_pairs(child);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(lon_lat_pairs),
        _ => {}
    }
}
