//! Property tests of every parser that takes outside bytes: arbitrary input gives a
//! clear error or a valid value, never a panic. Bounded case counts (the test
//! command runs them every time).

use diming::api::params::{if_match, Params};
use diming::domain::DivisionCode;
use diming::import::read::{read, Format};
use diming::naming::rules::{check, CheckInput};
use diming::spatial::crs::Crs;
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() }
}

/// Cells a spreadsheet could hold: numbers, Chinese, WKT, quotes, separators, controls.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[-+]?[0-9]{0,4}(\\.[0-9]{0,8})?(e[-+]?[0-9]{1,3})?",
        "(POINT|POLYGON|MULTIPOLYGON|LINESTRING) ?\\(\\(?[-0-9 .,()]{0,40}\\)?\\)?",
        "[乐土驿镇敬老院社区服务站公办规划\u{0}\u{feff}\"';,\t\n ]{0,12}",
        Just(String::new()),
    ]
}

fn header() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop_oneof![
            Just("名称".to_string()),
            Just("类型".to_string()),
            Just("经度".to_string()),
            Just("纬度".to_string()),
            Just("wkt".to_string()),
            Just("id".to_string()),
            Just("version".to_string()),
            Just("床位".to_string()),
            Just("X".to_string()),
            Just("Y".to_string()),
            any::<String>(),
        ],
        0..8,
    )
}

fn csv_text() -> impl Strategy<Value = String> {
    (
        header(),
        prop::collection::vec(prop::collection::vec(cell(), 0..9), 0..6),
        prop_oneof![Just(','), Just('\t'), Just(';')],
    )
        .prop_map(|(h, rows, sep)| {
            let sep = sep.to_string();
            let mut s = h.join(&sep);
            for r in rows {
                s.push('\n');
                s.push_str(&r.join(&sep));
            }
            s
        })
}

fn encodings(text: &str) -> Vec<Vec<u8>> {
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice(text.as_bytes());
    let (gbk, _, _) = encoding_rs::GBK.encode(text);
    vec![text.as_bytes().to_vec(), bom, utf16, gbk.into_owned()]
}

fn crs_choice() -> impl Strategy<Value = Option<Crs>> {
    prop_oneof![Just(None), Just(Crs::parse("EPSG:4490")), Just(Crs::parse("EPSG:4538")), Just(Crs::parse("GCJ-02"))]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn import_reads_any_csv_in_any_encoding_without_panicking(text in csv_text(), crs in crs_choice()) {
        for bytes in encodings(&text) {
            let r = read(&bytes, Some(Format::Csv), crs);
            // Every error says what is wrong.
            prop_assert!(r.errors.iter().all(|e| !e.message.is_empty()));
            let _ = read(&bytes, None, crs);
        }
    }

    #[test]
    fn import_reads_any_bytes_and_any_geojson_without_panicking(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
        props in prop::collection::vec((any::<String>(), cell()), 0..5),
        coords in prop::collection::vec(any::<f64>(), 0..5),
    ) {
        let _ = read(&bytes, None, None);
        let _ = read(&bytes, Some(Format::GeoJson), None);
        let props: serde_json::Map<String, serde_json::Value> =
            props.into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect();
        let nums: Vec<serde_json::Value> = coords.iter().map(|c| serde_json::json!(c)).collect();
        let doc = serde_json::json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": nums}},
            {"type": "Feature", "properties": null, "geometry": null},
        ]});
        let _ = read(doc.to_string().as_bytes(), Some(Format::GeoJson), Some(Crs::Crs84));
    }

    #[test]
    fn codes_parse_only_when_they_are_6_9_or_12_digits(s in any::<String>()) {
        if let Ok(c) = s.parse::<DivisionCode>() {
            prop_assert!(matches!(c.as_str().len(), 6 | 9 | 12) && c.as_str().bytes().all(|b| b.is_ascii_digit()));
            let _ = c.parent();
        }
    }

    #[test]
    fn crs_names_and_query_strings_never_panic(q in any::<String>(), name in any::<String>()) {
        let _ = Crs::parse(&name);
        let mut p = Params::parse(Some(&q));
        let _ = p.point();
        let _ = p.bbox();
        let _ = p.kind();
        let _ = p.level();
        let _ = p.code("township");
        let _ = p.statuses(diming::spatial::StatusSet::ANY);
        let _ = p.integer("limit", 10, 1, 10_000);
        let _ = p.distance_m("radius_m", false);
        let _ = p.boolean("include_xpcc");
        let _ = p.crs("crs", &Crs::OGC);
        p.reject_unknown(&["lon", "lat"]);
        let _ = p.finish();
    }

    #[test]
    fn if_match_takes_any_header_bytes(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
        if let Ok(v) = axum::http::HeaderValue::from_bytes(&bytes) {
            let mut h = axum::http::HeaderMap::new();
            h.insert(axum::http::header::IF_MATCH, v);
            let _ = if_match(&h);
        }
    }

    #[test]
    fn the_naming_rules_check_any_strings(name in any::<String>(), code in any::<String>(), cat in any::<String>(), rom in any::<String>()) {
        let input = CheckInput { name: &name, category: &cat, division_code: Some(&code), id: Some(&code), romanization: Some(&rom) };
        let r = check(&input, &[]);
        prop_assert!(r.ok || !r.findings.is_empty());
        let township = CheckInput { name: &name, category: "township", division_code: Some(&code), id: None, romanization: None };
        let _ = check(&township, &[]);
    }
}
