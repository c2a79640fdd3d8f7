//! The REST surface over HTTP, as other applications use it: shapes, paging,
//! ETags, and bad input answered with problem+json naming the field — never a 500.

mod common;

use common::get_json;

#[tokio::test]
async fn health_answers_ok() {
    let app = common::start_in_process().await;
    let (status, _, body) = get_json(&format!("{}/health", app.base)).await;
    assert_eq!(status, 200);
    assert_eq!(body, serde_json::json!({"status": "ok"}));
}

#[tokio::test]
async fn divisions_filter_by_level_and_parent_and_page_with_links() {
    let app = common::start_in_process().await;
    let (_, _, t) = get_json(&format!("{}/api/v1/divisions?level=township", app.base)).await;
    assert_eq!(t["numberMatched"], 19);
    let (_, _, v) = get_json(&format!("{}/api/v1/divisions?level=village&parent=652324101", app.base)).await;
    assert_eq!(v["numberMatched"], 9, "乐土驿镇 has 9 village-level units");
    let (_, _, p1) = get_json(&format!("{}/api/v1/divisions?level=village&limit=100", app.base)).await;
    assert_eq!(p1["numberReturned"], 100);
    assert_eq!(p1["numberMatched"], 222);
    let next = p1["links"].as_array().expect("links").iter().find(|l| l["rel"] == "next").expect("next");
    let (_, _, p2) = get_json(&format!("{}{}", app.base, next["href"].as_str().expect("href"))).await;
    assert_eq!(p2["numberReturned"], 100);
    assert_ne!(p1["features"][0]["id"], p2["features"][0]["id"]);
    let (_, _, p3) = get_json(&format!("{}/api/v1/divisions?level=village&limit=100&offset=200", app.base)).await;
    assert_eq!(p3["numberReturned"], 22);
    assert!(p3["links"].as_array().expect("links").iter().all(|l| l["rel"] != "next"));
}

#[tokio::test]
async fn one_division_is_a_feature_with_its_romanization() {
    let app = common::start_in_process().await;
    let (status, ct, f) = get_json(&format!("{}/api/v1/divisions/652324101", app.base)).await;
    assert_eq!((status, ct.as_str()), (200, "application/geo+json"));
    assert_eq!(f["type"], "Feature");
    assert_eq!(f["properties"]["name"], "乐土驿镇");
    assert_eq!(f["properties"]["pinyin"], "Letuyi Zhen");
    assert_eq!(f["properties"]["level"], "township");
    assert!(f["properties"]["area_km2"].as_f64().expect("area") > 10.0);
}

#[tokio::test]
async fn unknown_codes_and_ids_are_404_problems() {
    let app = common::start_in_process().await;
    for path in [
        "/api/v1/divisions/999999",
        "/api/v1/divisions/abc",
        "/api/v1/facilities/f9999",
        "/api/v1/settlements/652324999999",
        "/api/v1/nothing",
    ] {
        let (status, ct, body) = get_json(&format!("{}{path}", app.base)).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(ct, "application/problem+json", "{path}");
        assert_eq!(body["status"], 404);
        assert!(body["title"].is_string() && body["detail"].is_string());
    }
}

#[tokio::test]
async fn a_facility_carries_its_version_as_an_etag() {
    let app = common::start_in_process().await;
    let res = reqwest::get(format!("{}/api/v1/facilities/f0001", app.base)).await.expect("get");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], "\"1\"");
    let f: serde_json::Value = res.json().await.expect("json");
    for key in ["id", "name", "kind", "township_code", "capacity_beds", "operator", "status", "provenance", "version"] {
        assert!(f["properties"].get(key).is_some(), "missing {key}");
    }
}

#[tokio::test]
async fn facilities_filter_by_kind_township_and_bbox() {
    let app = common::start_in_process().await;
    let (_, _, all) = get_json(&format!("{}/api/v1/facilities", app.base)).await;
    let (_, _, care) = get_json(&format!("{}/api/v1/facilities?kind=care_home", app.base)).await;
    let n_care =
        all["features"].as_array().expect("features").iter().filter(|f| f["properties"]["kind"] == "care_home").count();
    assert_eq!(care["numberMatched"], n_care);
    let (_, _, town) = get_json(&format!("{}/api/v1/facilities?township=652324100", app.base)).await;
    assert!(town["features"].as_array().expect("f").iter().all(|f| f["properties"]["township_code"] == "652324100"));
    let bbox = [86.15, 44.25, 86.30, 44.35];
    let (_, _, boxed) =
        get_json(&format!("{}/api/v1/facilities?bbox={},{},{},{}", app.base, bbox[0], bbox[1], bbox[2], bbox[3])).await;
    let inside = |f: &serde_json::Value| {
        let c = &f["geometry"]["coordinates"];
        let (x, y) = (c[0].as_f64().expect("x"), c[1].as_f64().expect("y"));
        x >= bbox[0] && x <= bbox[2] && y >= bbox[1] && y <= bbox[3]
    };
    let expect = all["features"].as_array().expect("f").iter().filter(|f| inside(f)).count();
    assert!(expect > 0);
    assert_eq!(boxed["numberMatched"], expect);
}

#[tokio::test]
async fn nearest_over_http_is_sorted_and_matches_an_independent_geodesic_scan() {
    use geographiclib_rs::{Geodesic, InverseGeodesic};
    let app = common::start_in_process().await;
    let (_, _, all) = get_json(&format!("{}/api/v1/facilities?kind=care_home&status=open", app.base)).await;
    let g = Geodesic::new(6_378_137.0, 1.0 / 298.257_222_101);
    for (lon, lat) in [(86.21, 44.30), (86.45, 44.2), (85.9, 43.6), (86.3, 45.2), (87.5, 44.0)] {
        let (status, _, body) =
            get_json(&format!("{}/api/v1/facilities/nearest?lon={lon}&lat={lat}&kind=care_home&limit=5", app.base))
                .await;
        assert_eq!(status, 200);
        let got: Vec<(String, f64)> = body["features"]
            .as_array()
            .expect("features")
            .iter()
            .map(|f| (f["id"].as_str().expect("id").to_string(), f["properties"]["distance_m"].as_f64().expect("d")))
            .collect();
        let mut expect: Vec<(f64, String)> = all["features"]
            .as_array()
            .expect("f")
            .iter()
            .map(|f| {
                let c = &f["geometry"]["coordinates"];
                let d: f64 = g.inverse(lat, lon, c[1].as_f64().expect("lat"), c[0].as_f64().expect("lon"));
                (d, f["id"].as_str().expect("id").to_string())
            })
            .collect();
        expect.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
        assert_eq!(got.len(), 5);
        for ((id, d), (ed, eid)) in got.iter().zip(&expect) {
            assert_eq!(id, eid);
            assert!((d - ed).abs() < 1e-3);
        }
    }
    let (_, _, capped) =
        get_json(&format!("{}/api/v1/facilities/nearest?lon=86.21&lat=44.30&max_distance_m=1500", app.base)).await;
    assert!(capped["features"]
        .as_array()
        .expect("f")
        .iter()
        .all(|f| f["properties"]["distance_m"].as_f64().expect("d") <= 1500.0));
}

#[tokio::test]
async fn within_lists_everything_in_the_radius_nearest_first() {
    let app = common::start_in_process().await;
    let (status, _, body) =
        get_json(&format!("{}/api/v1/facilities/within?lon=86.21&lat=44.30&radius_m=3000", app.base)).await;
    assert_eq!(status, 200);
    let d: Vec<f64> = body["features"]
        .as_array()
        .expect("f")
        .iter()
        .map(|f| f["properties"]["distance_m"].as_f64().expect("d"))
        .collect();
    assert!(!d.is_empty());
    assert!(d.windows(2).all(|w| w[0] <= w[1]));
    assert!(d.iter().all(|x| *x <= 3000.0));
    assert_eq!(body["numberMatched"], d.len());
}

#[tokio::test]
async fn locate_names_county_and_township_and_nothing_outside() {
    let app = common::start_in_process().await;
    let (_, _, inside) = get_json(&format!("{}/api/v1/locate?lon=86.458&lat=44.1994", app.base)).await;
    let names: Vec<&str> =
        inside["divisions"].as_array().expect("d").iter().map(|d| d["name"].as_str().expect("n")).collect();
    assert_eq!(names, ["玛纳斯县", "乐土驿镇"]);
    assert_eq!(inside["divisions"][0]["level"], "county");
    let (_, _, outside) = get_json(&format!("{}/api/v1/locate?lon=116.4&lat=39.9", app.base)).await;
    assert_eq!(outside["divisions"], serde_json::json!([]));
}

#[tokio::test]
async fn bad_query_parameters_get_a_400_problem_naming_the_field_never_a_500() {
    let app = common::start_in_process().await;
    let cases: &[(&str, &str)] = &[
        ("/api/v1/facilities/nearest?lat=44.3", "lon"),
        ("/api/v1/facilities/nearest?lon=86.2", "lat"),
        ("/api/v1/facilities/nearest?lon=abc&lat=44.3", "lon"),
        ("/api/v1/facilities/nearest?lon=NaN&lat=44.3", "lon"),
        ("/api/v1/facilities/nearest?lon=inf&lat=44.3", "lon"),
        ("/api/v1/facilities/nearest?lon=181&lat=44.3", "lon"),
        ("/api/v1/facilities/nearest?lon=86.2&lat=-90.5", "lat"),
        ("/api/v1/facilities/nearest?lon=86.2&lat=44.3&kind=spaceport", "kind"),
        ("/api/v1/facilities/nearest?lon=86.2&lat=44.3&limit=0", "limit"),
        ("/api/v1/facilities/nearest?lon=86.2&lat=44.3&limit=101", "limit"),
        ("/api/v1/facilities/nearest?lon=86.2&lat=44.3&limit=ten", "limit"),
        ("/api/v1/facilities/nearest?lon=86.2&lat=44.3&max_distance_m=0", "max_distance_m"),
        ("/api/v1/facilities/nearest?lon=86.2&lat=44.3&max_distance_m=-5", "max_distance_m"),
        ("/api/v1/facilities/nearest?lon=86.2&lat=44.3&max_distance_m=1000001", "max_distance_m"),
        ("/api/v1/facilities/nearest?lon=86.2&lat=44.3&status=demolished", "status"),
        ("/api/v1/facilities/nearest?lon=86.2&lon=86.3&lat=44.3", "lon"),
        ("/api/v1/facilities/within?lon=86.2&lat=44.3", "radius_m"),
        ("/api/v1/facilities/within?lon=86.2&lat=44.3&radius_m=0", "radius_m"),
        ("/api/v1/facilities/within?lon=86.2&lat=44.3&radius_m=1e9", "radius_m"),
        ("/api/v1/facilities/within?lon=86.2&lat=44.3&radius_m=x", "radius_m"),
        ("/api/v1/facilities/within?lon=86.2&lat=44.3&radius_m=100&kind=x", "kind"),
        ("/api/v1/locate?lon=86.2", "lat"),
        ("/api/v1/locate?lon=&lat=44", "lon"),
        ("/api/v1/facilities?bbox=1,2,3", "bbox"),
        ("/api/v1/facilities?bbox=86.3,44,86.2,45", "bbox"),
        ("/api/v1/facilities?limit=0", "limit"),
        ("/api/v1/facilities?offset=-1", "offset"),
        ("/api/v1/facilities?township=65232410", "township"),
        ("/api/v1/divisions?level=province", "level"),
        ("/api/v1/divisions?parent=x", "parent"),
        ("/api/v1/settlements?township=abc", "township"),
    ];
    for (path, field) in cases {
        let (status, ct, body) = get_json(&format!("{}{path}", app.base)).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(ct, "application/problem+json", "{path}");
        let fields: Vec<&str> =
            body["errors"].as_array().expect("errors").iter().map(|e| e["field"].as_str().expect("field")).collect();
        assert!(fields.contains(field), "{path}: {fields:?} should name {field}");
        assert!(body["errors"][0]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

#[tokio::test]
async fn a_wrong_method_is_a_405_problem() {
    let app = common::start_in_process().await;
    let res =
        reqwest::Client::new().post(format!("{}/api/v1/locate?lon=1&lat=2", app.base)).send().await.expect("post");
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn the_page_is_served_at_the_root_and_says_sample_data() {
    let app = common::start_in_process().await;
    let res = reqwest::get(format!("{}/", app.base)).await.expect("get");
    assert_eq!(res.status(), 200);
    let text = res.text().await.expect("text");
    assert!(text.contains("示例数据") && text.contains("synthetic"));
}

#[tokio::test]
async fn a_committed_write_is_visible_to_the_next_nearest_query() {
    use diming::domain::{FacilityKind, FacilityStatus, LonLat, NewFacility, Provenance};
    let app = common::start_in_process().await;
    // 塔西河乡 has no care home; put one at its seat area and ask from there.
    let (lon, lat) = (86.23, 43.93);
    let url = format!("{}/api/v1/facilities/nearest?lon={lon}&lat={lat}&kind=care_home&limit=1", app.base);
    let (_, _, before) = get_json(&url).await;
    let before_d = before["features"][0]["properties"]["distance_m"].as_f64().expect("d");
    assert!(before_d > 5_000.0, "{before_d}");
    let new = NewFacility {
        name: "塔西河乡敬老院".into(),
        kind: FacilityKind::CareHome,
        township_code: "652324203".parse().expect("code"),
        location: LonLat::try_from([lon, lat]).expect("point"),
        status: FacilityStatus::Open,
        capacity_beds: Some(40),
        operator: Some("public".into()),
        attributes: serde_json::Map::new(),
        provenance: Provenance::Registered,
    };
    let created =
        app.state.store().create_facility(&new, &diming::store::Actor("user:test".into())).await.expect("create");
    app.state.refresh().await.expect("refresh");
    let (_, _, after) = get_json(&url).await;
    assert_eq!(after["features"][0]["id"], created.id.as_str());
    assert_eq!(after["features"][0]["properties"]["distance_m"], 0.0);
    assert_eq!(after["features"][0]["properties"]["provenance"], "registered");
}
