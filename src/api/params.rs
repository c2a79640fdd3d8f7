//! Query parameters parsed once at the boundary into domain types, collecting an
//! error per bad field so that one 400 names every problem.

use super::problem::{FieldError, Problem};
use crate::domain::{DivisionCode, DivisionLevel, FacilityKind, Lat, Lon, LonLat};
use crate::spatial::crs::Crs;
use crate::spatial::StatusSet;
use std::borrow::Cow;

/// Upper bound for `radius_m` and `max_distance_m`, metres (docs/API.md).
pub use crate::registry::coverage::MAX_DISTANCE_M;

pub struct Params<'q> {
    /// Borrowed from the query string unless percent-decoding had to allocate.
    pairs: Vec<(Cow<'q, str>, Cow<'q, str>)>,
    /// Values outside their schema: a 400.
    errors: Vec<FieldError>,
    /// Values each within their schema that together are refused: a 422 when
    /// nothing is malformed (e.g. a `bbox` whose corners are swapped).
    refused: Vec<FieldError>,
}

impl<'q> Params<'q> {
    pub fn parse(raw: Option<&'q str>) -> Self {
        let pairs = raw.map(|q| form_urlencoded::parse(q.as_bytes()).collect()).unwrap_or_default();
        Params { pairs, errors: Vec::new(), refused: Vec::new() }
    }

    /// A value within its schema that the request cannot be answered with (422).
    pub fn refuse(&mut self, field: &str, message: impl Into<String>) {
        self.refused.push(FieldError { row: None, field: field.to_string(), message: message.into() });
    }

    pub fn fail(&mut self, field: &str, message: impl Into<String>) {
        if !self.errors.iter().any(|e| e.field == field) {
            self.errors.push(FieldError { row: None, field: field.to_string(), message: message.into() });
        }
    }

    /// The value of a parameter; given twice, or given empty (`rule=`), is an error
    /// (the OpenAPI document gives every string parameter `minLength: 1`).
    pub fn raw(&mut self, name: &str) -> Option<String> {
        let mut values = self.pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.to_string());
        let first = values.next();
        if values.next().is_some() {
            self.fail(name, "参数重复 (given more than once)");
            return None;
        }
        if first.as_deref().is_some_and(|v| v.trim().is_empty()) {
            self.fail(name, "参数值为空：不需要时请省略该参数 (empty; leave the parameter out instead)");
            return None;
        }
        first
    }

    /// A keyset cursor (the id a previous page ended with): 1..=200 characters, no
    /// control characters. Any such text is a valid position: the page starts after it.
    pub fn cursor(&mut self, name: &str) -> Option<String> {
        let mut values = self.pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.to_string());
        let v = values.next()?;
        if values.next().is_some() {
            self.fail(name, "参数重复 (given more than once)");
            return None;
        }
        if v.is_empty() || v.chars().count() > 200 || v.chars().any(char::is_control) {
            self.fail(name, "游标为 1 至 200 个字符，不含控制字符 (1 to 200 characters, no control characters)");
            return None;
        }
        Some(v)
    }

    /// `true`/`1` or `false`/`0`; `None` when absent.
    pub fn boolean(&mut self, name: &str) -> Option<bool> {
        match self.raw(name)?.trim() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => {
                self.fail(name, "须为 true 或 false (must be true or false)");
                None
            }
        }
    }

    fn number(&mut self, name: &str) -> Option<f64> {
        let v = self.raw(name)?;
        match v.trim().parse::<f64>() {
            Ok(x) if x.is_finite() => Some(x),
            _ => {
                self.fail(name, format!("'{v}' 不是有限数值 (not a finite number)"));
                None
            }
        }
    }

    fn required<T>(&mut self, name: &str, v: Option<T>) -> Option<T> {
        if v.is_none() && !self.errors.iter().any(|e| e.field == name) {
            self.fail(name, "缺少必填参数 (required)");
        }
        v
    }

    /// A required point from `lon` and `lat`.
    pub fn point(&mut self) -> Option<LonLat> {
        let lon = self.number("lon");
        let lon = self.required("lon", lon).and_then(|x| match Lon::try_from(x) {
            Ok(l) => Some(l),
            Err(e) => {
                self.fail("lon", e.message);
                None
            }
        });
        let lat = self.number("lat");
        let lat = self.required("lat", lat).and_then(|x| match Lat::try_from(x) {
            Ok(l) => Some(l),
            Err(e) => {
                self.fail("lat", e.message);
                None
            }
        });
        Some(LonLat::new(lon?, lat?))
    }

    /// A distance in metres, > 0 and ≤ 1,000,000.
    pub fn distance_m(&mut self, name: &str, required: bool) -> Option<f64> {
        let v = self.number(name);
        let v = if required { self.required(name, v) } else { v };
        let v = v?;
        if v > 0.0 && v <= MAX_DISTANCE_M {
            Some(v)
        } else {
            self.fail(name, "须大于 0 且不超过 1000000 米 (must be > 0 and ≤ 1,000,000 metres)");
            None
        }
    }

    /// An integer in `min..=max`, or `default` when absent.
    pub fn integer(&mut self, name: &str, default: usize, min: usize, max: usize) -> usize {
        // Documented as int64: nothing above i64::MAX, whatever the caller allows.
        let max = max.min(i64::MAX as usize);
        let Some(v) = self.raw(name) else {
            return default;
        };
        match v.trim().parse::<usize>() {
            Ok(n) if (min..=max).contains(&n) => n,
            _ => {
                self.fail(name, format!("须为 {min} 到 {max} 之间的整数 (must be an integer in {min}..={max})"));
                default
            }
        }
    }

    pub fn kind(&mut self) -> Option<FacilityKind> {
        let v = self.raw("kind")?;
        match v.parse() {
            Ok(k) => Some(k),
            Err(e) => {
                self.fail("kind", e.message);
                None
            }
        }
    }

    /// `status=open,planned`; `default` when absent.
    pub fn statuses(&mut self, default: StatusSet) -> StatusSet {
        let Some(v) = self.raw("status") else {
            return default;
        };
        match StatusSet::parse(&v) {
            Ok(set) => set,
            Err(message) => {
                self.fail("status", message);
                default
            }
        }
    }

    /// `bbox=minLon,minLat,maxLon,maxLat`.
    pub fn bbox(&mut self) -> Option<[f64; 4]> {
        let v = self.raw("bbox")?;
        // Every part must be a number: `1,x,2,3,4` is not four numbers.
        let nums: Vec<f64> = v.split(',').map(|s| s.trim().parse::<f64>().unwrap_or(f64::NAN)).collect();
        let lon = -180.0..=180.0;
        let lat = -90.0..=90.0;
        match nums.as_slice() {
            &[w, s, e, n] if nums.iter().all(|x| lon.contains(x)) => {
                if lat.contains(&s) && lat.contains(&n) && w <= e && s <= n {
                    Some([w, s, e, n])
                } else {
                    self.refuse(
                        "bbox",
                        "纬度须在 [-90, 90] 内且最小值不大于最大值 (latitudes within [-90, 90], minimum ≤ maximum)",
                    );
                    None
                }
            }
            _ => {
                self.fail("bbox", "须为 minLon,minLat,maxLon,maxLat 四个 [-180, 180] 内的数 (four numbers minLon,minLat,maxLon,maxLat)");
                None
            }
        }
    }

    pub fn level(&mut self) -> Option<DivisionLevel> {
        let v = self.raw("level")?;
        match v.parse() {
            Ok(l) => Some(l),
            Err(e) => {
                let e: crate::domain::DomainError = e;
                self.fail("level", e.message);
                None
            }
        }
    }

    pub fn code(&mut self, name: &str) -> Option<DivisionCode> {
        let v = self.raw(name)?;
        match v.parse() {
            Ok(c) => Some(c),
            Err(e) => {
                let e: crate::domain::DomainError = e;
                self.fail(name, e.message);
                None
            }
        }
    }

    /// `county`: a county-level unit's 6-digit code.
    pub fn county(&mut self) -> Option<crate::domain::RegionCode> {
        let v = self.raw("county")?;
        match v.parse::<crate::domain::RegionCode>() {
            Ok(c) if c.is_county() => Some(c),
            _ => {
                self.fail("county", "须为 6 位县级区划代码 (a county is named by its 6-digit code)");
                None
            }
        }
    }

    /// `region`: a province (2 digits), prefecture (4) or county (6).
    pub fn region(&mut self) -> Option<crate::domain::RegionCode> {
        let v = self.raw("region")?;
        match v.parse::<crate::domain::RegionCode>() {
            Ok(c) => Some(c),
            Err(e) => {
                self.fail("region", e.message);
                None
            }
        }
    }

    /// A CRS among `allowed` (by URI or code, e.g. `EPSG:4538`); absent → `None`.
    pub fn crs(&mut self, name: &str, allowed: &[Crs]) -> Option<Crs> {
        let v = self.raw(name)?;
        match Crs::from_param(&v).filter(|c| allowed.contains(c)) {
            Some(c) => Some(c),
            None => {
                let names: Vec<&str> = allowed.iter().map(|c| c.uri()).collect();
                self.fail(name, format!("不支持的坐标系 '{v}' (unsupported CRS; one of: {})", names.join(", ")));
                None
            }
        }
    }

    /// A parameter not in `known` is an error naming it (OGC API Features requires this).
    pub fn reject_unknown(&mut self, known: &[&str]) {
        let unknown: Vec<String> =
            self.pairs.iter().filter(|(k, _)| !known.contains(&k.as_ref())).map(|(k, _)| k.to_string()).collect();
        for k in unknown {
            self.fail(&k, format!("未知参数 (unknown parameter; known: {})", known.join(", ")));
        }
    }

    /// Every error so far: a 400 naming each malformed value (and any refused one),
    /// else a 422 naming the refused ones.
    pub fn finish(mut self) -> Result<(), Problem> {
        if !self.errors.is_empty() {
            self.errors.append(&mut self.refused);
            Err(Problem::invalid(self.errors))
        } else if !self.refused.is_empty() {
            Err(Problem::unprocessable(self.refused))
        } else {
            Ok(())
        }
    }
}

/// The version an `If-Match` header names (`"3"`, `W/"3"` or `3`); `None` when absent.
pub fn if_match(headers: &axum::http::HeaderMap) -> Result<Option<i64>, Problem> {
    let Some(v) = headers.get(axum::http::header::IF_MATCH) else { return Ok(None) };
    let s = v.to_str().unwrap_or("").trim().trim_start_matches("W/").trim_matches('"');
    s.parse::<i64>()
        .map(Some)
        .map_err(|_| Problem::invalid_field("If-Match", "须为本接口返回的 ETag，如 \"3\" (the ETag this API returned)"))
}
