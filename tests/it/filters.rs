//! CQL2 filters on OGC `items` (OGC API Features Part 3): the forms of the
//! examples of OGC 21-065 that apply to these collections, each checked against
//! a brute-force evaluation over every feature (written here, independently of
//! the server) or the equivalent REST answer; the cql2-json form of each gives
//! the same features; the queryables read exactly the properties the features
//! carry; malformed and hostile filters are a 400 that says where, and leave the
//! server serving.

use crate::common::{self, get_json};
use serde_json::Value;
use std::collections::BTreeSet;

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Every feature of `collection` matching `filter` (ids, in order), following `next`.
async fn ids(base: &str, collection: &str, query: &str) -> Result<Vec<String>, (u16, Value)> {
    let mut next = Some(format!("{base}/ogc/collections/{collection}/items?limit=10000&{query}"));
    let mut out = Vec::new();
    let mut matched = None;
    while let Some(u) = next.take() {
        let (status, _, page) = get_json(&u).await;
        if status != 200 {
            return Err((status, page));
        }
        matched = page["numberMatched"].as_u64();
        for f in page["features"].as_array().expect("features") {
            out.push(f["id"].as_str().expect("id").to_string());
        }
        next = page["links"]
            .as_array()
            .and_then(|l| l.iter().find(|l| l["rel"] == "next"))
            .and_then(|l| l["href"].as_str())
            .map(str::to_string);
    }
    assert_eq!(matched, Some(out.len() as u64), "numberMatched counts the matches: {query}");
    Ok(out)
}

async fn all(base: &str, collection: &str) -> Vec<Value> {
    let (status, _, page) = get_json(&format!("{base}/ogc/collections/{collection}/items?limit=10000")).await;
    assert_eq!(status, 200);
    page["features"].as_array().expect("features").clone()
}

fn s<'a>(f: &'a Value, k: &str) -> Option<&'a str> {
    f["properties"][k].as_str()
}

fn n(f: &Value, k: &str) -> Option<f64> {
    f["properties"][k].as_f64()
}

fn point(f: &Value) -> Option<(f64, f64)> {
    let c = f["geometry"]["coordinates"].as_array()?;
    Some((c.first()?.as_f64()?, c.get(1)?.as_f64()?))
}

type Oracle = fn(&Value) -> bool;

/// `(collection, cql2-text, oracle)`: the example forms of OGC 21-065 over these collections.
fn cases() -> Vec<(&'static str, &'static str, Oracle)> {
    vec![
        // Example 1: equality on an identifier.
        ("facilities", "id = 'f0001'", |f| f["id"] == "f0001"),
        // Example 2: a numeric comparison.
        ("facilities", "capacity_beds < 60", |f| n(f, "capacity_beds").is_some_and(|b| b < 60.0)),
        ("settlements", "population >= 1500", |f| n(f, "population").is_some_and(|p| p >= 1500.0)),
        ("divisions", "area_km2 > 500.5", |f| n(f, "area_km2").is_some_and(|a| a > 500.5)),
        // Examples 5–7: LIKE, NOT LIKE, by characters.
        ("facilities", "name LIKE '%敬老院%'", |f| s(f, "name").is_some_and(|x| x.contains("敬老院"))),
        ("places", "name LIKE '%路'", |f| s(f, "name").is_some_and(|x| x.ends_with('路'))),
        ("places", "name NOT LIKE '玛纳斯%'", |f| s(f, "name").is_some_and(|x| !x.starts_with("玛纳斯"))),
        ("settlements", "name LIKE '__村%'", |f| s(f, "name").is_some_and(|x| x.chars().nth(2) == Some('村'))),
        // Example 8: a boolean.
        ("settlements", "is_xpcc = true", |f| f["properties"]["is_xpcc"] == true),
        ("divisions", "is_xpcc", |f| f["properties"]["is_xpcc"] == true),
        // Examples 9–12: AND, OR, NOT with nesting.
        ("facilities", "kind = 'care_home' AND (status = 'open' OR capacity_beds > 100)", |f| {
            s(f, "kind") == Some("care_home")
                && (s(f, "status") == Some("open") || n(f, "capacity_beds").is_some_and(|b| b > 100.0))
        }),
        ("facilities", "(kind = 'cemetery' AND status = 'open') OR (name LIKE '%中心%' OR name LIKE '%站')", |f| {
            (s(f, "kind") == Some("cemetery") && s(f, "status") == Some("open"))
                || s(f, "name").is_some_and(|x| x.contains("中心") || x.ends_with('站'))
        }),
        // NOT over a comparison with a null is unknown: a facility without beds is not kept.
        ("facilities", "NOT (capacity_beds < 50) OR kind = 'cemetery'", |f| {
            n(f, "capacity_beds").is_some_and(|b| b >= 50.0) || s(f, "kind") == Some("cemetery")
        }),
        // Examples 13–14: temporal literals.
        ("facilities", "updated_at < TIMESTAMP('2030-01-01T00:00:00Z')", |f| s(f, "updated_at").is_some()),
        ("divisions", "valid_from >= DATE('2000-01-01')", |f| s(f, "valid_from").is_some_and(|d| d >= "2000-01-01")),
        // Example 15: BETWEEN.
        ("settlements", "population BETWEEN 500 AND 1500", |f| {
            n(f, "population").is_some_and(|p| (500.0..=1500.0).contains(&p))
        }),
        ("settlements", "population NOT BETWEEN 500 AND 1500", |f| {
            n(f, "population").is_some_and(|p| !(500.0..=1500.0).contains(&p))
        }),
        // Examples 16–17: IN, NOT IN.
        ("facilities", "kind IN ('care_home', 'day_care', 'cemetery')", |f| {
            matches!(s(f, "kind"), Some("care_home" | "day_care" | "cemetery"))
        }),
        ("places", "status NOT IN ('approved')", |f| s(f, "status").is_some_and(|x| x != "approved")),
        // Examples 18–19: IS NULL, IS NOT NULL.
        ("facilities", "capacity_beds IS NULL", |f| f["properties"]["capacity_beds"].is_null()),
        ("facilities", "operator IS NOT NULL", |f| !f["properties"]["operator"].is_null()),
        ("places", "origin IS NULL AND division_code IS NOT NULL", |f| {
            f["properties"]["origin"].is_null() && !f["properties"]["division_code"].is_null()
        }),
        // Property-property comparison.
        ("settlements", "population_60plus * 1 IS NULL OR population_60plus < population", |_| true),
        (
            "settlements",
            "population_60plus < population",
            |f| matches!((n(f, "population_60plus"), n(f, "population")), (Some(a), Some(b)) if a < b),
        ),
        // Case-insensitive comparison.
        ("divisions", "CASEI(pinyin) LIKE '%zhen'", |f| {
            s(f, "pinyin").is_some_and(|x| x.to_lowercase().ends_with("zhen"))
        }),
        // Spatial: points in a box and in a polygon (the oracle compares coordinates).
        ("facilities", "S_INTERSECTS(geometry, BBOX(86.0, 44.0, 86.4, 44.4))", |f| {
            point(f).is_some_and(|(x, y)| (86.0..=86.4).contains(&x) && (44.0..=44.4).contains(&y))
        }),
        ("settlements", "S_WITHIN(geometry, POLYGON((86.0 44.0, 86.4 44.0, 86.4 44.4, 86.0 44.4, 86.0 44.0)))", |f| {
            point(f).is_some_and(|(x, y)| x > 86.0 && x < 86.4 && y > 44.0 && y < 44.4)
        }),
        ("facilities", "S_DISJOINT(geometry, BBOX(86.0, 44.0, 86.4, 44.4)) AND kind = 'care_home'", |f| {
            s(f, "kind") == Some("care_home")
                && point(f).is_some_and(|(x, y)| !((86.0..=86.4).contains(&x) && (44.0..=44.4).contains(&y)))
        }),
    ]
}

#[tokio::test]
async fn cql2_filters_give_the_features_a_brute_force_evaluation_gives_in_text_and_json() {
    let app = common::start_in_process().await;
    let base = &app.base;
    let mut features: std::collections::HashMap<&str, Vec<Value>> = Default::default();
    for c in ["divisions", "facilities", "settlements", "places"] {
        features.insert(c, all(base, c).await);
    }
    let mut nonempty = 0;
    for (collection, text, oracle) in cases() {
        let want: Vec<String> = features[collection]
            .iter()
            .filter(|f| oracle(f))
            .map(|f| f["id"].as_str().expect("id").to_string())
            .collect();
        if text.contains("* 1") {
            // Arithmetic is not among the conformance classes declared: a 400 naming it.
            let (status, body) = ids(base, collection, &format!("filter={}", enc(text))).await.expect_err(text);
            assert_eq!(status, 400, "{text}: {body}");
            assert!(body.to_string().contains("arithmetic"), "{body}");
            continue;
        }
        let got =
            ids(base, collection, &format!("filter={}", enc(text))).await.unwrap_or_else(|e| panic!("{text}: {e:?}"));
        assert_eq!(got, want, "{collection}: {text}");
        let json = cql2::parse_text(text).expect("cql2").to_json().expect("json");
        let got_json = ids(base, collection, &format!("filter-lang=cql2-json&filter={}", enc(&json)))
            .await
            .unwrap_or_else(|e| panic!("{json}: {e:?}"));
        assert_eq!(got_json, want, "{collection}: {json}");
        nonempty += usize::from(!want.is_empty() && want.len() < features[collection].len());
    }
    assert!(nonempty >= 20, "most cases select some features, not none or all: {nonempty}");
}

#[tokio::test]
async fn cql2_equals_the_rest_answers_for_the_same_question() {
    let app = common::start_in_process().await;
    let base = &app.base;
    let rest_ids = |v: &Value| -> BTreeSet<String> {
        v["features"].as_array().expect("features").iter().map(|f| f["id"].as_str().expect("id").to_string()).collect()
    };
    // Equality filters and the REST listing.
    let (_, _, rest) = get_json(&format!("{base}/api/v1/facilities?kind=care_home&status=open&limit=10000")).await;
    let got: BTreeSet<String> =
        ids(base, "facilities", &format!("filter={}", enc("kind = 'care_home' AND status = 'open'")))
            .await
            .expect("ok")
            .into_iter()
            .collect();
    assert!(!got.is_empty());
    assert_eq!(got, rest_ids(&rest));
    // The same as queryables given as parameters.
    let params: BTreeSet<String> =
        ids(base, "facilities", "kind=care_home&status=open").await.expect("ok").into_iter().collect();
    assert_eq!(params, got);

    // S_DWITHIN in geodesic metres and the REST `within`, at several radii around several points.
    let facilities = all(base, "facilities").await;
    let mut checked = 0;
    for f in facilities.iter().step_by(37) {
        let (x, y) = point(f).expect("point");
        for r in [500.0, 3_000.0, 12_345.6, 40_000.0] {
            let (status, _, rest) = get_json(&format!(
                "{base}/api/v1/facilities/within?lon={x}&lat={y}&radius_m={r}&status=open,planned,closed&limit=10000"
            ))
            .await;
            assert_eq!(status, 200, "{rest}");
            let text = format!("S_DWITHIN(geometry, POINT({x} {y}), {r})");
            let got: BTreeSet<String> =
                ids(base, "facilities", &format!("filter={}", enc(&text))).await.expect("ok").into_iter().collect();
            assert_eq!(got, rest_ids(&rest), "{text}");
            checked += got.len();
        }
    }
    assert!(checked > 20, "{checked}");

    // The divisions that hold a point and `locate`.
    let settlements = all(base, "settlements").await;
    for st in settlements.iter().step_by(23) {
        let (x, y) = point(st).expect("point");
        let (_, _, located) = get_json(&format!("{base}/api/v1/locate?lon={x}&lat={y}")).await;
        let want: BTreeSet<String> = located["divisions"]
            .as_array()
            .expect("divisions")
            .iter()
            .filter(|d| matches!(d["level"].as_str(), Some("county" | "township")))
            .map(|d| d["code"].as_str().expect("code").to_string())
            .collect();
        let text = format!("S_INTERSECTS(geometry, POINT({x} {y}))");
        let got: BTreeSet<String> =
            ids(base, "divisions", &format!("filter={}", enc(&text))).await.expect("ok").into_iter().collect();
        assert_eq!(got, want, "{text}");
        assert!(!got.is_empty());
    }

    // A filter and `bbox` together, in EPSG:4490 (lat/lon) for both.
    let crs = enc("http://www.opengis.net/def/crs/EPSG/0/4490");
    let text = enc("S_INTERSECTS(geometry, POLYGON((44.0 86.0, 44.0 86.4, 44.4 86.4, 44.4 86.0, 44.0 86.0)))");
    let a: BTreeSet<String> =
        ids(base, "facilities", &format!("filter={text}&filter-crs={crs}&bbox=44.1,86.1,45,87&bbox-crs={crs}"))
            .await
            .expect("ok")
            .into_iter()
            .collect();
    let want: BTreeSet<String> = facilities
        .iter()
        .filter(|f| point(f).is_some_and(|(x, y)| (86.1..=86.4).contains(&x) && (44.1..=44.4).contains(&y)))
        .map(|f| f["id"].as_str().expect("id").to_string())
        .collect();
    assert!(!want.is_empty());
    assert_eq!(a, want);
}

#[tokio::test]
async fn queryables_read_exactly_the_properties_the_features_carry() {
    let app = common::start_in_process().await;
    let base = &app.base;
    let (_, _, conf) = get_json(&format!("{base}/ogc/conformance")).await;
    let conf = conf["conformsTo"].to_string();
    for class in ["ogcapi-features-3/1.0/conf/filter", "cql2/1.0/conf/cql2-text", "cql2/1.0/conf/spatial-functions"] {
        assert!(conf.contains(class), "{class}");
    }
    for c in ["divisions", "facilities", "settlements", "places"] {
        let res = reqwest::get(format!("{base}/ogc/collections/{c}/queryables")).await.expect("get");
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "application/schema+json");
        let schema: Value = res.json().await.expect("json");
        let props = schema["properties"].as_object().expect("properties");
        assert!(props.contains_key("geometry") && props.len() >= 12, "{c}: {}", props.len());
        let (_, _, coll) = get_json(&format!("{base}/ogc/collections/{c}")).await;
        assert!(coll["links"].to_string().contains("/queryables"), "{coll}");
        let id_prop = if matches!(c, "divisions" | "settlements") { "code" } else { "id" };
        // For a few features, every scalar queryable: `id AND p = value` (or `p IS NULL`)
        // selects exactly that feature, so each queryable reads what the feature shows.
        for f in all(base, c).await.iter().step_by(17).take(6) {
            let id = f["id"].as_str().expect("id");
            for (name, schema) in props {
                if name == "geometry" {
                    continue;
                }
                let v = &f["properties"][name];
                let test = match (v, schema["type"].as_str(), schema["format"].as_str()) {
                    (Value::Null, _, _) => format!("{name} IS NULL"),
                    (Value::String(x), _, Some("date")) => format!("{name} = DATE('{x}')"),
                    (Value::String(x), _, Some("date-time")) => format!("{name} = TIMESTAMP('{x}')"),
                    (Value::String(x), _, _) => format!("{name} = '{}'", x.replace('\'', "''")),
                    (Value::Number(x), _, _) => format!("{name} = {x}"),
                    (Value::Bool(b), _, _) => format!("{name} = {b}"),
                    other => panic!("{c}.{name}: not scalar: {other:?}"),
                };
                let text = format!("{id_prop} = '{id}' AND {test}");
                let got =
                    ids(base, c, &format!("filter={}", enc(&text))).await.unwrap_or_else(|e| panic!("{text}: {e:?}"));
                assert_eq!(got, vec![id.to_string()], "{c}: {text}");
            }
        }
    }
}

#[tokio::test]
async fn malformed_and_hostile_filters_are_a_400_that_says_where() {
    let app = common::start_in_process().await;
    let base = &app.base;
    let deep = format!("{}kind = 'care_home'{}", "(".repeat(5000), ")".repeat(5000));
    let deep_json = format!("{}{}", "{\"op\":\"not\",\"args\":[".repeat(300), "true]}".repeat(300));
    let long = format!("name = '{}'", "a".repeat(16_400));
    let bad: Vec<(&str, String, &str)> = vec![
        ("cql2-text", "kind = 'care_home' AND".into(), "column"),
        ("cql2-text", "kind = 'care_home".into(), "column"),
        ("cql2-text", "kind == 'care_home'".into(), "column"),
        ("cql2-text", "名称 = '敬老院' AND (".into(), "column"),
        ("cql2-text", "colour = 'red'".into(), "queryable"),
        ("cql2-text", "capacity_beds = 'many'".into(), "capacity_beds"),
        ("cql2-text", "kind = 'carehome'".into(), "care_home"),
        ("cql2-text", "name > 3".into(), "name"),
        ("cql2-text", "capacity_beds".into(), "boolean"),
        ("cql2-text", "'a' LIKE 'b'".into(), "LIKE"),
        ("cql2-text", "S_INTERSECTS(geometry, POINT(200 95))".into(), "longitude"),
        ("cql2-text", "S_INTERSECTS(geometry, POLYGON((1 2, 3)))".into(), "column 39"),
        ("cql2-text", "S_DWITHIN(geometry, POINT(86 44), -5)".into(), "metres"),
        ("cql2-text", "S_DWITHIN(geometry, POINT(86 44), 5, kilometers)".into(), "metres"),
        ("cql2-text", "S_INTERSECTS(name, POINT(86 44))".into(), "geometry"),
        ("cql2-text", "T_AFTER(updated_at, TIMESTAMP('2020-01-01T00:00:00Z'))".into(), "temporal"),
        ("cql2-text", "updated_at > TIMESTAMP('yesterday')".into(), "RFC 3339"),
        ("cql2-text", "capacity_beds + 1 > 3".into(), "arithmetic"),
        ("cql2-text", "'; DROP TABLE facilities; --".into(), "column"),
        ("cql2-text", "kind = 'care_home'\u{0}".into(), "control"),
        ("cql2-text", deep, "nested"),
        ("cql2-text", long, "longer"),
        ("cql2-text", "   ".into(), "empty"),
        ("cql2-json", "{\"op\":\"=\",\"args\":[{\"property\":\"kind\"}".into(), "column"),
        ("cql2-json", "{\"op\":\"=\",\"args\":\"kind\"}".into(), "cql2"),
        ("cql2-json", "{\"op\":\"frobnicate\",\"args\":[]}".into(), "unsupported"),
        ("cql2-json", "{\"op\":\"s_intersects\",\"args\":[{\"property\":\"geometry\"},{\"type\":\"Point\",\"coordinates\":[86]}]}".into(), "cql2-json"),
        ("cql2-json", deep_json, "nested"),
        ("cql2-json", "[]".into(), "boolean"),
        ("cql3", "kind = 'care_home'".into(), "filter-lang"),
    ];
    for (lang, filter, says) in &bad {
        let url = format!("{base}/ogc/collections/facilities/items?filter-lang={}&filter={}", enc(lang), enc(filter));
        let res = reqwest::get(&url).await.expect("request");
        let status = res.status().as_u16();
        let body = res.text().await.expect("body");
        let shown: String = filter.chars().take(80).collect();
        assert_eq!(status, 400, "{lang} {shown}: {body}");
        assert!(body.contains(says), "{lang} {shown}: should say '{says}': {body}");
    }
    // A syntax error names the line and column (1-based, in characters).
    let (status, _, body) =
        get_json(&format!("{base}/ogc/collections/facilities/items?filter={}", enc("名称 = 1 AND ("))).await;
    assert_eq!(status, 400);
    assert!(body.to_string().contains("line 1, column 13)"), "columns count characters: {body}");
    // Still serving.
    let (status, _, _) = get_json(&format!("{base}/health")).await;
    assert_eq!(status, 200);
    // filter-crs is one of the CRSs offered.
    let (status, _, _) =
        get_json(&format!("{base}/ogc/collections/facilities/items?filter=true&filter-crs=EPSG:3857")).await;
    assert_eq!(status, 400);
}
