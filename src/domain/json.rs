//! Two readings of outside JSON that every boundary shares: where a NUL character
//! hides (no record may hold one; PostgreSQL cannot store it), and a whole number
//! however JSON wrote it (`12` or `12.0`: JSON Schema's `integer` allows both).

use serde_json::Value;

/// The path (`add[1].name`, `""` for the value itself) of the first string or key
/// holding a NUL; a key with one is reported at the object that holds it. The
/// foreign members of a GeoJSON geometry are not looked at: the registry keeps a
/// geometry's shape only (it becomes `geo` types), so they are dropped unread.
pub fn nul_path(value: &Value) -> Option<String> {
    const GEOMETRY_TYPES: [&str; 7] =
        ["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"];
    const GEOMETRY_MEMBERS: [&str; 4] = ["type", "coordinates", "geometries", "bbox"];
    fn walk(value: &Value, path: &str) -> Option<String> {
        match value {
            Value::String(s) if s.contains('\0') => Some(path.to_string()),
            Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| walk(v, &format!("{path}[{i}]"))),
            Value::Object(map) => {
                let geometry = map.get("type").and_then(Value::as_str).is_some_and(|t| GEOMETRY_TYPES.contains(&t));
                map.iter().filter(|(k, _)| !geometry || GEOMETRY_MEMBERS.contains(&k.as_str())).find_map(|(k, v)| {
                    if k.contains('\0') {
                        Some(path.to_string())
                    } else {
                        walk(v, &if path.is_empty() { k.clone() } else { format!("{path}.{k}") })
                    }
                })
            }
            _ => None,
        }
    }
    walk(value, "")
}

/// A whole number, from `12` or `12.0`; `None` for a fraction or beyond ±9·10¹⁵
/// (where a float stops holding every integer).
pub fn whole_number(n: &serde_json::Number) -> Option<i64> {
    n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64))
}

/// An optional whole number that JSON may write as `12` or `12.0` (JSON Schema's
/// `integer` allows both); a fraction, or one outside the target type, is refused.
pub fn whole<'de, D, T>(de: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<i64>,
{
    use serde::Deserialize;
    let Some(n) = Option::<serde_json::Number>::deserialize(de)? else { return Ok(None) };
    let i = whole_number(&n).ok_or_else(|| serde::de::Error::custom(format!("须为整数 (a whole number, not {n})")))?;
    T::try_from(i).map(Some).map_err(|_| serde::de::Error::custom(format!("超出范围 (out of range: {i})")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_geometrys_foreign_members_are_not_looked_at_but_its_coordinates_and_other_objects_are() {
        let foreign = json!({"geometry": {"type": "Point", "coordinates": [86.2, 44.3], "x\u{0}": {"y": "\u{0}"}}});
        assert_eq!(nul_path(&foreign), None);
        let inside = json!({"geometry": {"type": "Point", "coordinates": [86.2, 44.3], "bbox": ["\u{0}"]}});
        assert_eq!(nul_path(&inside).as_deref(), Some("geometry.bbox[0]"));
        let not_a_geometry = json!({"o": {"type": "Feature", "x": "\u{0}"}});
        assert_eq!(nul_path(&not_a_geometry).as_deref(), Some("o.x"));
    }

    #[test]
    fn a_nul_is_found_by_its_path_and_whole_numbers_either_way() {
        assert_eq!(nul_path(&json!({"add": [{"name": "a"}, {"name": "乐\u{0}"}]})).as_deref(), Some("add[1].name"));
        assert_eq!(nul_path(&json!({"a": {"k\u{0}": 1}})).as_deref(), Some("a"));
        assert_eq!(nul_path(&json!("\u{0}")).as_deref(), Some(""));
        assert_eq!(nul_path(&json!({"name": "乐土驿\n镇"})), None);
        let n = |v: Value| v.as_number().and_then(whole_number);
        assert_eq!((n(json!(12)), n(json!(12.0)), n(json!(12.5)), n(json!(1e300))), (Some(12), Some(12), None, None));
    }
}
