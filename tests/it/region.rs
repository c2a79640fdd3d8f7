//! `diming init --region CODE` as a process, then `serve`: the registry of any
//! county of China holds exactly its NBS 2023 codes and names, its real outline,
//! townships that partition it, labelled synthetic parts, and answers `locate`
//! inside it; a second run adds nothing and changes nothing.

use crate::common::{self, china, spawn_serve, TempDir};
use geo::orient::{Direction, Orient};
use geo::{Area, BooleanOps, BoundingRect, Contains, GeodesicArea};
use geo_types::{Geometry, MultiPolygon, Point};
use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;

/// The NBS 2023 township- and village-level codes and names of one county.
fn reference_units(county: &str) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let dir = china::reference_data_dir().join("china");
    let read = |file: &str| -> BTreeMap<String, String> {
        let text = china::read_gz(&dir.join(file));
        let mut rdr = csv::Reader::from_reader(text.as_bytes());
        rdr.records()
            .map(|r| r.expect("row"))
            .filter(|r| r.get(0).is_some_and(|c| c.starts_with(county)))
            .map(|r| (r.get(0).expect("code").to_string(), r.get(1).expect("name").to_string()))
            .collect()
    };
    (read("nbs2023_streets.csv.gz"), read("nbs2023_villages.csv.gz"))
}

fn init(url: &str, region: &str, extra: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_diming"))
        .args(["init", "--region", region, "--database", url])
        .args(extra)
        .current_dir(common::manifest_dir())
        .output()
        .expect("run diming init");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "init --region {region} failed: {text}");
    text
}

async fn features(base: &str, query: &str) -> Vec<Value> {
    let (status, _, body) = common::get_json(&format!("{base}/api/v1/{query}")).await;
    assert_eq!(status, 200, "{query}: {body}");
    let features = body["features"].as_array().expect("features").clone();
    assert_eq!(body["numberMatched"].as_u64(), Some(features.len() as u64), "{query}: one page holds them all");
    features
}

fn geometry(f: &Value) -> Option<MultiPolygon<f64>> {
    let g: geojson::Geometry = serde_json::from_value(f["geometry"].clone()).ok()?;
    match Geometry::<f64>::try_from(g).ok()? {
        Geometry::MultiPolygon(m) => Some(m),
        Geometry::Polygon(p) => Some(MultiPolygon(vec![p])),
        _ => None,
    }
}

fn codes_and_names(features: &[Value]) -> BTreeMap<String, String> {
    features
        .iter()
        .map(|f| {
            let p = &f["properties"];
            (p["code"].as_str().expect("code").to_string(), p["name"].as_str().expect("name").to_string())
        })
        .collect()
}

/// Everything the issue asks of one county's registry, through the CLI and HTTP.
async fn check_county(code: &str, name: &str) {
    let dir = TempDir::new(&format!("region-{code}"));
    let url = dir.sqlite_url("diming.db");
    let said = init(&url, code, &[]);
    assert!(said.contains("新增 1"), "{said}");
    let outline = china::counties().into_iter().find(|c| c.adcode == code).expect("reference outline").polygon;
    let (towns, villages) = reference_units(code);
    assert!(!towns.is_empty() && !villages.is_empty());

    let served = spawn_serve(&url, &[]).expect("serve");
    let base = served.base.clone();
    let counties = features(&base, "divisions?level=county").await;
    assert_eq!(codes_and_names(&counties), BTreeMap::from([(code.to_string(), name.to_string())]));
    assert_eq!(geometry(&counties[0]).as_ref(), Some(&outline), "{code}: the county outline is the reference polygon");
    assert_eq!(counties[0]["properties"]["provenance"], "real");

    let townships = features(&base, "divisions?level=township&limit=10000").await;
    assert_eq!(codes_and_names(&townships), towns, "{code}: township codes and names are exactly NBS 2023");
    let village_divisions = features(&base, "divisions?level=village&limit=10000").await;
    assert_eq!(codes_and_names(&village_divisions), villages, "{code}: village codes and names are exactly NBS 2023");
    let settlements = features(&base, "settlements?limit=10000").await;
    assert_eq!(settlements.len(), villages.len(), "{code}: one settlement per village-level unit");

    // Townships partition the outline: area within 0.1 %, no overlaps.
    let polygons: Vec<(String, MultiPolygon<f64>)> = townships
        .iter()
        .map(|t| (t["properties"]["code"].as_str().expect("code").to_string(), geometry(t).expect("township polygon")))
        .collect();
    let total: f64 = polygons.iter().map(|(_, p)| p.orient(Direction::Default).geodesic_area_unsigned()).sum();
    // geo's geodesic area reads a clockwise ring as the rest of the globe: orient first.
    let want = outline.orient(Direction::Default).geodesic_area_unsigned();
    assert!((total - want).abs() / want < 1e-3, "{code}: townships {total} m² vs county {want} m²");
    for (i, (a_code, a)) in polygons.iter().enumerate() {
        for (b_code, b) in polygons.iter().skip(i + 1) {
            let overlap = a.intersection(b).unsigned_area();
            assert!(overlap < 1e-12, "{code}: {a_code} and {b_code} overlap by {overlap} deg²");
        }
    }
    // Every part says where it comes from: real codes and names, synthetic geometry,
    // points and populations.
    assert_eq!(counties[0]["properties"]["geometry_provenance"], "real");
    for f in townships.iter().chain(&village_divisions) {
        let p = &f["properties"];
        assert_eq!(
            (&p["provenance"], &p["geometry_provenance"]),
            (&"real".into(), &"synthetic".into()),
            "{code}: {}",
            p["code"]
        );
    }
    for f in &settlements {
        let p = &f["properties"];
        assert_eq!(
            (&p["provenance"], &p["location_provenance"], &p["population_provenance"]),
            (&"real".into(), &"synthetic".into(), &"synthetic".into()),
            "{code}: {}",
            p["code"]
        );
    }
    for s in &settlements {
        let township = s["properties"]["township_code"].as_str().expect("township");
        let (_, poly) = polygons.iter().find(|(c, _)| c == township).expect("its township");
        let c = s["geometry"]["coordinates"].as_array().expect("point");
        let p = Point::new(c[0].as_f64().expect("lon"), c[1].as_f64().expect("lat"));
        assert!(poly.contains(&p), "{code}: settlement {} lies in its township", s["properties"]["code"]);
    }

    // locate at 1,000 random points inside the outline names the county and one of its townships.
    let bbox = outline.bounding_rect().expect("bbox");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(code.parse().expect("code"));
    let mut asked = 0;
    let client = reqwest::Client::new();
    while asked < 1000 {
        let p = Point::new(rng.gen_range(bbox.min().x..bbox.max().x), rng.gen_range(bbox.min().y..bbox.max().y));
        if !outline.contains(&p) {
            continue;
        }
        asked += 1;
        let url = format!("{base}/api/v1/locate?lon={}&lat={}", p.x(), p.y());
        let body: Value = client.get(&url).send().await.expect("locate").json().await.expect("json");
        let levels: Vec<(&str, &str)> = body["divisions"]
            .as_array()
            .expect("divisions")
            .iter()
            .map(|d| (d["level"].as_str().unwrap_or(""), d["code"].as_str().unwrap_or("")))
            .collect();
        assert!(levels.contains(&("county", code)), "{code}: {url} → {body}");
        assert!(
            levels.iter().any(|(l, c)| *l == "township" && towns.contains_key(*c)),
            "{code}: {url} names one of the county's townships: {body}"
        );
    }
    drop(served);

    // A second run adds nothing and changes nothing.
    let again = init(&url, code, &[]);
    assert!(again.contains("新增 0"), "{again}");
    let store = diming::store::SqliteStore::open(&url).await.expect("open");
    use diming::store::prelude::*;
    let first = towns.keys().next().expect("a township");
    assert_eq!(store.history("division", first).await.expect("history").len(), 1, "{code}: not written twice");
    let audit = store.audit("region", code).await.expect("audit");
    assert_eq!(audit.iter().filter(|e| e.action == "init").count(), 1, "{code}: one audit entry for the county");
}

#[tokio::test(flavor = "multi_thread")]
async fn hutubi_county_xinjiang() {
    check_county("652323", "呼图壁县").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn chaoyang_district_beijing() {
    check_county("110105", "朝阳区").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn nanshan_district_shenzhen() {
    check_county("440305", "南山区").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wuhua_district_kunming() {
    check_county("530102", "五华区").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dongsheng_district_ordos() {
    check_county("150602", "东胜区").await;
}

#[test]
fn a_region_that_is_not_a_code_is_a_usage_error_and_an_unknown_one_names_itself() {
    let dir = TempDir::new("region-bad");
    let url = dir.sqlite_url("diming.db");
    let huge = "6".repeat(120_000);
    let bad = ["65232", "6523x4", "<script>", "全部", "", "６５", "65\u{202e}", "\u{1b}[31m65", "ALL", &huge];
    for bad in bad {
        let out = Command::new(env!("CARGO_BIN_EXE_diming"))
            .args(["init", "--region", bad, "--database", &url])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{bad}: a usage error");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--region"), "{bad}");
    }
    for bad in ["65232x", "6523", "６５２３２３", "<b>652323</b>", "652323\u{202e}"] {
        let out = Command::new(env!("CARGO_BIN_EXE_diming"))
            .args(["coverage", "--kind", "care_home", "--county", bad, "--database", &url])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "--county {bad}: a usage error");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--county"), "{bad}");
    }
    assert!(!dir.path().join("diming.db").exists(), "no usage error opened the database");
    let out = Command::new(env!("CARGO_BIN_EXE_diming"))
        .args(["init", "--region", "99", "--database", &url])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("99"), "names the region");
}

/// `--region 6523` (Changji prefecture): seven county-level units, each answered
/// on its own or all per county; a question that names none is refused with the
/// choices, and hostile area values are refused naming their parameter.
#[tokio::test(flavor = "multi_thread")]
async fn a_prefecture_is_answered_per_county_and_a_question_must_name_its_county() {
    let dir = TempDir::new("region-6523");
    let url = dir.sqlite_url("diming.db");
    let said = init(&url, "6523", &["--sample-facilities"]);
    assert!(said.contains("新增 7"), "{said}");
    let served = spawn_serve(&url, &[]).expect("serve");
    let base = served.base.clone();

    let (status, _, list) = common::get_json(&format!("{base}/api/v1/counties")).await;
    assert_eq!(status, 200, "{list}");
    let counties = list["counties"].as_array().expect("counties");
    let codes: Vec<&str> = counties.iter().map(|c| c["code"].as_str().expect("code")).collect();
    assert_eq!(codes, ["652301", "652302", "652323", "652324", "652325", "652327", "652328"]);
    for c in counties {
        assert_eq!((c["prefecture_name"].as_str(), c["province_code"].as_str()), (Some("昌吉回族自治州"), Some("65")));
        assert!(c["bbox"].as_array().is_some_and(|b| b.len() == 4), "{c}");
        assert!(c["townships"].as_u64() > Some(0) && c["facilities"].as_u64() > Some(0), "{c}");
        assert_eq!(c["sample_data"]["township_boundaries"], true);
    }
    assert_eq!(list["sample_data"]["facilities"], true);
    let (_, _, found) = common::get_json(&format!("{base}/api/v1/counties?q=%E7%8E%9B%E7%BA%B3%E6%96%AF")).await;
    assert_eq!(found["counties"].as_array().map(|c| c.len()), Some(1), "q=玛纳斯: {found}");
    let (_, _, none) = common::get_json(&format!("{base}/api/v1/counties?region=11")).await;
    assert_eq!(none["counties"], serde_json::json!([]));

    // No county named: a 400 naming the field and the choices.
    let (status, _, refused) = common::get_json(&format!("{base}/api/v1/coverage?kind=care_home")).await;
    assert_eq!(status, 400, "{refused}");
    let text = refused.to_string();
    assert!(
        text.contains("\"county\"") && text.contains("652323 呼图壁县") && text.contains("652324 玛纳斯县"),
        "{text}"
    );
    for q in ["coverage/gaps?kind=care_home", "coverage/siting?kind=community_service"] {
        let (status, _, body) = common::get_json(&format!("{base}/api/v1/{q}")).await;
        assert_eq!(status, 400, "{q}: {body}");
    }

    // The prefecture per county: seven rows that add up to the whole.
    let (status, _, cov) =
        common::get_json(&format!("{base}/api/v1/coverage?kind=community_service&region=6523")).await;
    assert_eq!(status, 200, "{cov}");
    let rows = cov["counties"].as_array().expect("county rows");
    assert_eq!(rows.len(), 7, "{cov}");
    let sum: u64 = rows.iter().map(|r| r["population"].as_u64().expect("population")).sum();
    assert_eq!(Some(sum), cov["county"]["population"].as_u64());
    assert_eq!(cov["area"], "6523");
    let covered: u64 = rows.iter().map(|r| r["population_covered"].as_u64().expect("covered")).sum();
    assert_eq!(Some(covered), cov["county"]["population_covered"].as_u64());

    // One county: its townships only, and the same figures as its row above.
    let (status, _, one) =
        common::get_json(&format!("{base}/api/v1/coverage?kind=community_service&county=652323")).await;
    assert_eq!(status, 200, "{one}");
    let towns = one["townships"].as_array().expect("townships");
    assert!(!towns.is_empty() && towns.iter().all(|t| t["code"].as_str().is_some_and(|c| c.starts_with("652323"))));
    let row = rows.iter().find(|r| r["code"] == "652323").expect("its row");
    assert_eq!(one["counties"].as_array().map(|c| c.len()), Some(1));
    assert_eq!(one["counties"][0], *row, "a county alone answers as its row of the prefecture");
    let body = serde_json::json!({"kind": "community_service", "county": "652323"});
    let res = reqwest::Client::new()
        .post(format!("{base}/api/v1/coverage/what-if"))
        .json(&body)
        .send()
        .await
        .expect("what-if");
    assert_eq!(res.status(), 200);
    let (status, _, gaps) =
        common::get_json(&format!("{base}/api/v1/coverage/gaps?kind=community_service&county=652323")).await;
    assert_eq!(status, 200);
    assert!(gaps["features"]
        .as_array()
        .expect("gaps")
        .iter()
        .all(|g| g["properties"]["code"].as_str().is_some_and(|c| c.starts_with("652323"))));

    // Listings of one county.
    for (path, key) in [("divisions", "code"), ("settlements", "code"), ("facilities", "township_code")] {
        let (status, _, page) = common::get_json(&format!("{base}/api/v1/{path}?county=652325&limit=10000")).await;
        assert_eq!(status, 200, "{path}");
        let f = page["features"].as_array().expect("features");
        assert!(
            !f.is_empty() && f.iter().all(|f| f["properties"][key].as_str().is_some_and(|c| c.starts_with("652325"))),
            "{path}"
        );
    }

    // The change feed of one county: the county added at once is one change, every
    // record of it `init`, its facilities those the listing has; another county is
    // another change.
    let (status, _, feed) = common::get_json(&format!("{base}/api/v1/changes?county=652325&limit=10000")).await;
    assert_eq!(status, 200, "{feed}");
    let changes = feed["changes"].as_array().expect("changes");
    let seqs: std::collections::BTreeSet<i64> = changes.iter().filter_map(|c| c["seq"].as_i64()).collect();
    assert_eq!(seqs.len(), 1, "one county, one change: {seqs:?}");
    assert!(changes.iter().all(|c| c["action"] == "init"));
    let fed: std::collections::BTreeSet<&str> =
        changes.iter().filter(|c| c["layer"] == "facilities").filter_map(|c| c["id"].as_str()).collect();
    let (_, _, listed) = common::get_json(&format!("{base}/api/v1/facilities?county=652325&limit=10000")).await;
    let listed: std::collections::BTreeSet<&str> =
        listed["features"].as_array().expect("features").iter().filter_map(|f| f["id"].as_str()).collect();
    assert!(!fed.is_empty() && fed == listed, "{} fed, {} listed", fed.len(), listed.len());
    let (_, _, other) = common::get_json(&format!("{base}/api/v1/changes?county=652323&limit=1")).await;
    let other_seq = other["changes"][0]["seq"].as_i64().expect("a change of 652323");
    assert!(!seqs.contains(&other_seq));
    // A page of one record still ends with the whole change.
    let (_, _, one) = common::get_json(&format!("{base}/api/v1/changes?county=652325&limit=1")).await;
    assert_eq!(one["changes"].as_array().map(Vec::len), Some(changes.len()));
    assert_eq!(one["more"], true);

    // OGC collections, export and import of one county.
    for (collection, rest) in [("divisions", "divisions"), ("facilities", "facilities"), ("settlements", "settlements")]
    {
        let (_, _, page) = common::get_json(&format!("{base}/api/v1/{rest}?county=652325&limit=10000")).await;
        // OGC `divisions` holds the county and its townships (village seats are `settlements`).
        let expected = page["features"]
            .as_array()
            .expect("features")
            .iter()
            .filter(|f| collection != "divisions" || f["properties"]["level"] != "village")
            .count();
        let (status, _, ogc) =
            common::get_json(&format!("{base}/ogc/collections/{collection}/items?county=652325&limit=10000")).await;
        assert_eq!(status, 200, "{collection}: {ogc}");
        let f = ogc["features"].as_array().expect("features");
        assert_eq!((ogc["numberMatched"].as_u64(), f.len()), (Some(expected as u64), expected), "{collection}");
        let code = |f: &Value| {
            let p = &f["properties"];
            p["township_code"].as_str().or(p["code"].as_str()).unwrap_or_default().to_string()
        };
        assert!(f.iter().all(|f| code(f).starts_with("652325")), "{collection}");
        let (_, _, all) =
            common::get_json(&format!("{base}/ogc/collections/{collection}/items?region=6523&limit=1")).await;
        let (_, _, none) = common::get_json(&format!("{base}/ogc/collections/{collection}/items?region=11")).await;
        assert!(all["numberMatched"].as_u64() > Some(expected as u64), "{collection}: {all}");
        assert_eq!(none["numberMatched"], 0, "{collection}");
        for bad in ["county=6523", "county=%3Cscript%3E", "region=6%E2%80%AE5", "county="] {
            let (status, _, body) = common::get_json(&format!("{base}/ogc/collections/{collection}/items?{bad}")).await;
            assert_eq!(status, 400, "{collection}?{bad}: {body}");
        }
    }
    let res = reqwest::get(format!("{base}/api/v1/export?layer=facilities&county=652325")).await.expect("export");
    assert_eq!(res.status(), 200);
    let disposition = res.headers()["content-disposition"].to_str().expect("ascii").to_string();
    assert!(disposition.contains("diming_652325_facilities_"), "{disposition}");
    let exported: Value = res.json().await.expect("geojson");
    let (_, _, listed) = common::get_json(&format!("{base}/api/v1/facilities?county=652325&limit=10000")).await;
    assert_eq!(exported["features"].as_array().map(Vec::len), listed["features"].as_array().map(Vec::len));
    assert_eq!(exported["name"], "diming_652325_facilities");
    let (status, _, mismatch) =
        common::get_json(&format!("{base}/api/v1/export?layer=facilities&county=652325&region=6524")).await;
    assert_eq!(status, 422, "{mismatch}");
    // An import limited to one county refuses a row of another, naming it; nothing is written.
    let other = &listed["features"][0];
    let row = |name: &str| {
        serde_json::json!({"type": "Feature", "geometry": other["geometry"], "properties": {
            "name": name, "kind": "care_home", "township_code": other["properties"]["township_code"]}})
    };
    let file = dir.path().join("other-county.geojson");
    let fc = serde_json::json!({"type": "FeatureCollection", "features": [row("县外养老院")]});
    std::fs::write(&file, fc.to_string()).expect("write");
    let run = |county: &str| {
        Command::new(env!("CARGO_BIN_EXE_diming"))
            .args(["import", file.to_str().expect("path"), "--layer", "facilities", "--dry-run"])
            .args(["--county", county, "--database", &url])
            .output()
            .expect("run diming import")
    };
    let refused = run("652323");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && said.contains("不在 652323 内"), "{said}");
    let accepted = run("652325");
    assert!(accepted.status.success(), "{}", String::from_utf8_lossy(&accepted.stderr));

    // What attackers and careless users send.
    for q in [
        "coverage?kind=care_home&county=65232",
        "coverage?kind=care_home&county=6523",
        "coverage?kind=care_home&county=%3Cscript%3E",
        "coverage?kind=care_home&region=%EF%BC%96%EF%BC%95",
        "coverage?kind=care_home&region=65%E2%80%AE",
        "coverage?kind=care_home&county=",
        "divisions?county=6523",
        "counties?region=abc",
        "counties?q=",
    ] {
        let (status, _, body) = common::get_json(&format!("{base}/api/v1/{q}")).await;
        assert_eq!(status, 400, "{q}: {body}");
        let field = if q.contains("region=") && !q.contains("county=") {
            "region"
        } else if q.contains("q=") {
            "q"
        } else {
            "county"
        };
        assert!(body["errors"].to_string().contains(field), "{q} names {field}: {body}");
    }
    // Well-formed codes the registry does not hold, or a county outside the region:
    // refused (422) naming the field, as an unknown division is.
    for q in [
        "coverage?kind=care_home&county=110105",
        "coverage?kind=care_home&county=000000",
        "coverage?kind=care_home&region=11",
        "coverage?kind=care_home&county=652323&region=6524",
    ] {
        let (status, _, body) = common::get_json(&format!("{base}/api/v1/{q}")).await;
        assert_eq!(status, 422, "{q}: {body}");
        let field = if q.contains("county=") { "county" } else { "region" };
        assert!(body["errors"].to_string().contains(field), "{q} names {field}: {body}");
    }
    // Hostile what-if bodies: malformed areas are 400 naming the field, nothing written.
    let client = reqwest::Client::new();
    for body in [
        serde_json::json!({"kind": "care_home", "county": "<script>alert(1)</script>"}),
        serde_json::json!({"kind": "care_home", "county": "６５２３２３"}),
        serde_json::json!({"kind": "care_home", "county": "6523"}),
        serde_json::json!({"kind": "care_home", "region": "65\u{202e}"}),
        serde_json::json!({"kind": "care_home", "region": "\u{0}\u{1b}"}),
        serde_json::json!({"kind": "care_home", "county": 652323}),
        serde_json::json!({"kind": "care_home", "region": "6".repeat(100_000)}),
    ] {
        let res = client.post(format!("{base}/api/v1/coverage/what-if")).json(&body).send().await.expect("what-if");
        assert_eq!(res.status(), 400, "{body}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
    }
    // Text search for counties treats markup and control characters as text: no match.
    for q in ["%3Cscript%3E", "%E2%80%AE", "%27%20OR%201%3D1"] {
        let (status, _, found) = common::get_json(&format!("{base}/api/v1/counties?q={q}")).await;
        assert_eq!((status, &found["counties"]), (200, &serde_json::json!([])), "q={q}");
    }
    // Control characters are refused at the boundary, naming the parameter.
    let (status, _, refused) = common::get_json(&format!("{base}/api/v1/counties?q=%00%1B%5B31m")).await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["errors"].to_string().contains("\"q\""), "{refused}");
    let long = "县".repeat(101);
    let (status, _, _) = common::get_json(&format!("{base}/api/v1/counties?q={long}")).await;
    assert_eq!(status, 400);
}

/// An officer's real boundary for one township replaces its synthetic polygon: the
/// neighbouring synthetic polygons are clipped (and fill what the old one covered
/// beyond the new one) so the townships still partition the county; the imported
/// township's geometry is `registered` while its NBS name stays `real`, and a
/// synthetic township away from it is untouched.
#[tokio::test(flavor = "multi_thread")]
async fn an_imported_township_boundary_replaces_its_synthetic_polygon_and_the_partition_stays_exact() {
    let dir = TempDir::new("region-boundary");
    let url = dir.sqlite_url("diming.db");
    init(&url, "652323", &[]);
    let outline = china::counties().into_iter().find(|c| c.adcode == "652323").expect("outline").polygon;
    let townships_now = |base: String| async move {
        let f = features(&base, "divisions?level=township&limit=10000").await;
        f.into_iter()
            .filter_map(|t| {
                Some((t["properties"]["code"].as_str()?.to_string(), (geometry(&t)?, t["properties"].clone())))
            })
            .collect::<BTreeMap<String, (MultiPolygon<f64>, Value)>>()
    };
    let served = spawn_serve(&url, &[]).expect("serve");
    let before = townships_now(served.base.clone()).await;
    drop(served);

    // The township with the most neighbours; its new boundary takes the left 60 % of
    // its own and its neighbours' bounding box out of their union.
    let touches = |a: &MultiPolygon<f64>, b: &MultiPolygon<f64>| {
        use geo::Intersects;
        a.intersects(b)
    };
    let (code, (poly, props)) = before
        .iter()
        .max_by_key(|(c, (p, _))| before.iter().filter(|(d, (q, _))| d != c && touches(p, q)).count())
        .expect("a township");
    let neighbours: Vec<&String> =
        before.iter().filter(|(d, (q, _))| *d != code && touches(poly, q)).map(|(d, _)| d).collect();
    let union = neighbours.iter().fold(poly.clone(), |u, n| u.union(&before[*n].0));
    let far =
        before.iter().find(|(_, (q, _))| !touches(q, &union)).map(|(d, _)| d.clone()).expect("a township away from it");
    let b = poly.bounding_rect().expect("bbox");
    let cut = geo_types::Rect::new((b.min().x - 0.5, b.min().y - 0.5), (b.min().x + 0.6 * b.width(), b.max().y + 0.5));
    let new = union.intersection(&MultiPolygon(vec![cut.to_polygon()]));
    let file = dir.path().join("boundary.geojson");
    let feature = serde_json::json!({"type": "FeatureCollection", "features": [{"type": "Feature",
        "properties": {"code": code, "name": props["name"]},
        "geometry": serde_json::to_value(geojson::Geometry::from(&Geometry::MultiPolygon(new.clone()))).expect("json")}]});
    std::fs::write(&file, feature.to_string()).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_diming"))
        .args(["import", file.to_str().expect("path"), "--layer", "divisions", "--database", &url])
        .current_dir(common::manifest_dir())
        .output()
        .expect("import");
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{said}");
    assert!(said.contains("重新生成了"), "the report names the redrawn synthetic townships: {said}");

    let served = spawn_serve(&url, &[]).expect("serve");
    let after = townships_now(served.base.clone()).await;
    let (got, p) = &after[code];
    assert!((got.unsigned_area() - new.unsigned_area()).abs() < 1e-9, "{code}: the imported boundary is stored");
    assert_eq!((&p["provenance"], &p["geometry_provenance"]), (&"real".into(), &"registered".into()));
    let changed: Vec<&String> = neighbours.iter().copied().filter(|n| after[*n].0 != before[*n].0).collect();
    assert!(!changed.is_empty(), "some neighbour was clipped");
    for n in &changed {
        assert_eq!(after[*n].1["geometry_provenance"], "synthetic", "{n} stays sample data");
    }
    assert_eq!(after[&far].0, before[&far].0, "{far}, away from the change, is untouched");

    // Still a partition of the outline.
    let total: f64 = after.values().map(|(p, _)| p.orient(Direction::Default).geodesic_area_unsigned()).sum();
    let want = outline.orient(Direction::Default).geodesic_area_unsigned();
    assert!((total - want).abs() / want < 1e-3, "townships {total} m² vs county {want} m²");
    // Overlaps only of residue: the redrawn cells are cut on a 1e-7° grid and the kept
    // polygons taken out again in floating point, which leaves below 1e-9 deg² (about
    // 12 m², along borders tens of kilometres long) where a real overlap is km².
    let polys: Vec<(&String, &MultiPolygon<f64>)> = after.iter().map(|(c, (p, _))| (c, p)).collect();
    for (i, (a, pa)) in polys.iter().enumerate() {
        for (b, pb) in polys.iter().skip(i + 1) {
            let overlap = pa.intersection(*pb).unsigned_area();
            assert!(overlap < 1e-9, "{a} and {b} overlap by {overlap} deg²");
        }
    }
    // The page's layer labels follow: township boundaries are still partly sample data.
    let (_, _, list) = common::get_json(&format!("{}/api/v1/counties", served.base)).await;
    assert_eq!(list["counties"][0]["sample_data"]["township_boundaries"], true);
}

/// The province-wide naming rule reads the national reference: in a Beijing
/// registry, a township named like one of another Beijing district is a duplicate
/// in scope, and the same name in a Xinjiang scope is not.
#[tokio::test(flavor = "multi_thread")]
async fn township_names_are_checked_against_the_whole_province_in_any_province() {
    let dir = TempDir::new("region-naming");
    let url = dir.sqlite_url("diming.db");
    init(&url, "110105", &[]);
    let served = spawn_serve(&url, &[]).expect("serve");
    let check = |division: &'static str| {
        let base = served.base.clone();
        async move {
            let body = serde_json::json!({"name": "东华门街道", "category": "township", "division_code": division});
            let res = reqwest::Client::new()
                .post(format!("{base}/api/v1/places/check"))
                .json(&body)
                .send()
                .await
                .expect("check");
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.expect("json")
        }
    };
    let v = check("110105001").await;
    let dup = v["findings"].as_array().expect("findings").iter().find(|f| f["rule"] == "duplicate_in_scope");
    assert!(
        dup.is_some_and(|f| f["conflicts"].as_array().is_some_and(|c| c.iter().any(|x| x == "nbs:110101001"))),
        "东华门街道 is 东城区's (110101001): {v}"
    );
    let v = check("652324102").await;
    assert!(v["findings"].as_array().expect("findings").iter().all(|f| f["rule"] != "duplicate_in_scope"), "{v}");
}
