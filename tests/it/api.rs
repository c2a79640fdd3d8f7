//! The REST surface over HTTP, as other applications use it: shapes, paging,
//! ETags, and bad input answered with problem+json naming the field — never a 500.

use crate::common;

use common::get_json;

#[tokio::test]
async fn health_answers_ok() {
    let app = common::start_in_process().await;
    let (status, _, body) = get_json(&format!("{}/health", app.base)).await;
    assert_eq!(status, 200);
    let marker = app.state.store().change_marker().await.expect("marker");
    assert!(marker > 0, "the loaded dataset is audited");
    assert_eq!(body, serde_json::json!({"status": "ok", "sequence": marker}));
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

    // The same 222 by keyset pages: `after` a code, then the `next` links; `offset`
    // with `after` skips from the cursor.
    let ids = |page: &serde_json::Value| -> Vec<String> {
        page["features"]
            .as_array()
            .expect("features")
            .iter()
            .map(|f| f["id"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let (_, _, all) = get_json(&format!("{}/api/v1/divisions?level=village&limit=1000", app.base)).await;
    let all = ids(&all);
    let mut url = format!("{}/api/v1/divisions?level=village&limit=100&after=652324000", app.base);
    let mut walked = Vec::new();
    let mut pages = 0;
    loop {
        let (status, _, page) = get_json(&url).await;
        assert_eq!(status, 200, "{url}");
        assert_eq!(page["numberMatched"], 222);
        let links = page["links"].as_array().cloned().unwrap_or_default();
        assert!(links.iter().all(|l| l["rel"] != "prev"));
        walked.extend(ids(&page));
        pages += 1;
        match page["links"].as_array().cloned().unwrap_or_default().iter().find(|l| l["rel"] == "next") {
            Some(next) => url = format!("{}{}", app.base, next["href"].as_str().expect("href")),
            None => break,
        }
    }
    assert_eq!((walked.len(), pages), (222, 3));
    assert_eq!(walked, all);
    let cursor = &all[99];
    let (_, _, skip) =
        get_json(&format!("{}/api/v1/divisions?level=village&limit=5&offset=10&after={cursor}", app.base)).await;
    assert_eq!(ids(&skip), all[110..115].to_vec());
    let last = &all[221];
    let (_, _, end) = get_json(&format!("{}/api/v1/settlements?after={last}", app.base)).await;
    assert_eq!(end["numberReturned"], 0, "nothing sorts after the last code: {end}");
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
        ("/api/v1/facilities?bbox=86.3,44,86.2,1e9", "bbox"),
        ("/api/v1/facilities?limit=0", "limit"),
        ("/api/v1/facilities?offset=-1", "offset"),
        ("/api/v1/facilities?after=", "after"),
        ("/api/v1/facilities?after=f1%00", "after"),
        ("/api/v1/facilities?after=%E2%80%AEf1%0A", "after"),
        ("/api/v1/facilities?after=f1&after=f2", "after"),
        ("/api/v1/divisions?after=65232410", "after"),
        ("/api/v1/divisions?after=%EF%BC%96%EF%BC%95", "after"),
        ("/api/v1/settlements?after=x", "after"),
        ("/api/v1/facilities?township=65232410", "township"),
        ("/api/v1/divisions?level=province", "level"),
        ("/api/v1/divisions?parent=x", "parent"),
        ("/api/v1/settlements?township=abc", "township"),
    ];
    let long_cursor = format!("/api/v1/facilities?after={}", "界".repeat(201));
    let cases = cases.iter().copied().chain([(long_cursor.as_str(), "after")]);
    for (path, field) in cases {
        let (status, ct, body) = get_json(&format!("{}{path}", app.base)).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(ct, "application/problem+json", "{path}");
        let fields: Vec<&str> =
            body["errors"].as_array().expect("errors").iter().map(|e| e["field"].as_str().expect("field")).collect();
        assert!(fields.contains(&field), "{path}: {fields:?} should name {field}");
    }
    // Values each within their schema that together cannot be answered: a 422 naming the field.
    for (path, field) in [
        ("/api/v1/facilities?bbox=86.3,44,86.2,45", "bbox"),
        ("/api/v1/facilities?bbox=86.2,95,86.3,96", "bbox"),
        ("/api/v1/coverage?kind=day_care&rule=care_home_beds", "rule"),
        ("/api/v1/coverage?include_xpcc=true", "kind"),
    ] {
        let (status, ct, body) = get_json(&format!("{}{path}", app.base)).await;
        assert_eq!((status, ct.as_str()), (422, "application/problem+json"), "{path}: {body}");
        assert_eq!(body["errors"][0]["field"], field, "{path}: {body}");
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
    // The badge is in the page; the script shows it for the layers that are sample data
    // (GET /api/v1/counties), checked in Chromium (tests/browser).
    assert!(text.contains("示例数据") && text.contains("sample-badge"));
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

/// Every (method, path) of the API: docs/API.md's table and the router's routes.
const ENDPOINTS: &[(&str, &str)] = &[
    ("get", "/api/v1/tokens"),
    ("delete", "/api/v1/tokens/{id}"),
    ("get", "/api/v1/sessions"),
    ("delete", "/api/v1/sessions/{id}"),
    ("get", "/api/v1/users"),
    ("post", "/api/v1/users/{username}/deactivate"),
    ("post", "/api/v1/users/{username}/activate"),
    ("get", "/api/v1/audit"),
    ("get", "/api/v1/changes"),
    ("get", "/api/v1/webhooks"),
    ("post", "/api/v1/webhooks"),
    ("get", "/api/v1/webhooks/{id}"),
    ("delete", "/api/v1/webhooks/{id}"),
    ("post", "/api/v1/webhooks/{id}/replay"),
    ("get", "/api/v1/webhooks/{id}/deliveries"),
    ("get", "/health"),
    ("get", "/api/v1/openapi.json"),
    ("get", "/api/v1/page-config"),
    ("get", "/api/v1/divisions"),
    ("get", "/api/v1/divisions/{code}"),
    ("get", "/api/v1/locate"),
    ("get", "/api/v1/counties"),
    ("get", "/api/v1/settlements"),
    ("get", "/api/v1/settlements/{code}"),
    ("get", "/api/v1/facilities"),
    ("post", "/api/v1/facilities"),
    ("get", "/api/v1/facilities/nearest"),
    ("get", "/api/v1/facilities/within"),
    ("get", "/api/v1/facilities/{id}"),
    ("patch", "/api/v1/facilities/{id}"),
    ("post", "/api/v1/facilities/{id}/close"),
    ("get", "/api/v1/facilities/{id}/history"),
    ("get", "/api/v1/coverage"),
    ("get", "/api/v1/coverage/gaps"),
    ("get", "/api/v1/coverage/siting"),
    ("post", "/api/v1/coverage/what-if"),
    ("get", "/api/v1/coverage/rules"),
    ("get", "/api/v1/places"),
    ("post", "/api/v1/places"),
    ("post", "/api/v1/places/check"),
    ("get", "/api/v1/places/categories"),
    ("get", "/api/v1/places/announcements"),
    ("get", "/api/v1/places/{id}"),
    ("patch", "/api/v1/places/{id}"),
    ("get", "/api/v1/places/{id}/history"),
    ("post", "/api/v1/places/{id}/approve"),
    ("post", "/api/v1/places/{id}/rename"),
    ("post", "/api/v1/places/{id}/retire"),
    ("get", "/api/v1/session"),
    ("post", "/api/v1/session"),
    ("delete", "/api/v1/session"),
    ("post", "/api/v1/tokens"),
    ("post", "/api/v1/import"),
    ("get", "/api/v1/export"),
    ("get", "/ogc"),
    ("get", "/ogc/conformance"),
    ("get", "/ogc/collections"),
    ("get", "/ogc/collections/{collection}"),
    ("get", "/ogc/collections/{collection}/queryables"),
    ("get", "/ogc/collections/{collection}/items"),
    ("get", "/ogc/collections/{collection}/items/{id}"),
    ("post", "/ogc/collections/{collection}/items"),
    ("put", "/ogc/collections/{collection}/items/{id}"),
    ("patch", "/ogc/collections/{collection}/items/{id}"),
    ("delete", "/ogc/collections/{collection}/items/{id}"),
    ("get", "/tiles/{layer}/{z}/{x}/{y}"),
    ("get", "/tiles/{tilejson}"),
];

/// The endpoints that need a login: they write to the registry or mint a token.
const WRITES: &[(&str, &str)] = &[
    ("post", "/ogc/collections/{collection}/items"),
    ("put", "/ogc/collections/{collection}/items/{id}"),
    ("patch", "/ogc/collections/{collection}/items/{id}"),
    ("delete", "/ogc/collections/{collection}/items/{id}"),
    ("post", "/api/v1/facilities"),
    ("patch", "/api/v1/facilities/{id}"),
    ("post", "/api/v1/facilities/{id}/close"),
    ("post", "/api/v1/places"),
    ("patch", "/api/v1/places/{id}"),
    ("post", "/api/v1/places/{id}/approve"),
    ("post", "/api/v1/places/{id}/rename"),
    ("post", "/api/v1/places/{id}/retire"),
    ("post", "/api/v1/tokens"),
];

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

async fn openapi_document(base: &str) -> serde_json::Value {
    let (status, ct, doc) = get_json(&format!("{base}/api/v1/openapi.json")).await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("application/json"), "{ct}");
    doc
}

/// `#/components/schemas/Name` → the schema, else the schema itself.
fn resolve<'a>(doc: &'a serde_json::Value, schema: &'a serde_json::Value) -> &'a serde_json::Value {
    match schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(name) => &doc["components"]["schemas"][name],
        None => schema,
    }
}

#[tokio::test]
async fn the_openapi_document_lists_every_endpoint_with_its_problems_and_security() {
    let app = common::start_in_process().await;
    let doc = openapi_document(&app.base).await;
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "{}", doc["openapi"]);
    assert_eq!(doc["info"]["title"], "diming 地名 — 玛纳斯县民政地理登记 API");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let description = doc["info"]["description"].as_str().expect("description");
    assert!(description.contains("EPSG:4490") && description.contains("GRS80"), "{description}");

    // Exactly the endpoints above: none missing, none the list does not know.
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS.iter().filter(|m| item.get(**m).is_some()) {
            documented.push((m.to_string(), path.clone()));
        }
    }
    let mut expected: Vec<(String, String)> = ENDPOINTS.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    documented.sort();
    expected.sort();
    assert_eq!(documented, expected);

    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(
        (schemes["session"]["in"].as_str(), schemes["session"]["name"].as_str()),
        (Some("cookie"), Some("diming_session"))
    );
    assert_eq!(
        (schemes["csrf"]["in"].as_str(), schemes["csrf"]["name"].as_str()),
        (Some("header"), Some("X-CSRF-Token"))
    );

    let mut operation_ids = std::collections::HashSet::new();
    for (m, p) in ENDPOINTS {
        let op = &doc["paths"][*p][*m];
        let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{m} {p}: no operationId"));
        assert!(operation_ids.insert(id.to_string()), "{m} {p}: operationId {id} twice");
        assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()), "{m} {p}: no summary");
        assert!(op["tags"].as_array().is_some_and(|t| !t.is_empty()), "{m} {p}: no tag");
        let responses = op["responses"].as_object().unwrap_or_else(|| panic!("{m} {p}: no responses"));
        assert!(responses.keys().any(|s| s.starts_with('2')), "{m} {p}: no success response");
        // Every error answer is a problem.
        for (status, r) in responses.iter().filter(|(s, _)| s.starts_with('4')) {
            let schema = &r["content"]["application/problem+json"]["schema"];
            assert_eq!(schema["$ref"], "#/components/schemas/Problem", "{m} {p} {status}");
        }
        // Every `{param}` of the path is declared.
        for name in p.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))) {
            let declared = op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|q| q["name"] == name && q["in"] == "path" && q["required"] == true));
            assert!(declared, "{m} {p}: path parameter {name} undeclared");
        }
    }
    for (m, p) in WRITES {
        let op = &doc["paths"][*p][*m];
        for status in ["400", "401", "403"] {
            assert!(op["responses"][status].is_object(), "{m} {p}: no {status}");
        }
        let body = &op["requestBody"]["content"];
        assert!(
            ["application/json", "application/geo+json", "application/merge-patch+json"]
                .iter()
                .any(|ct| body[*ct]["schema"].is_object()),
            "{m} {p}: no request body"
        );
        let security = op["security"].as_array().unwrap_or_else(|| panic!("{m} {p}: no security"));
        assert!(security.iter().any(|s| s.get("bearer").is_some()), "{m} {p}: no bearer");
        assert!(
            security.iter().any(|s| s.get("session").is_some() && s.get("csrf").is_some()),
            "{m} {p}: no session + CSRF"
        );
        assert!(security.iter().all(|s| !s.as_object().is_some_and(|o| o.is_empty())), "{m} {p}: anonymous allowed");
    }
    // The import takes the file itself as its body, and needs a login like every write.
    let import = &doc["paths"]["/api/v1/import"]["post"];
    for status in ["400", "401", "403", "412", "413"] {
        assert!(import["responses"][status].is_object(), "import: no {status}");
    }
    assert!(import["requestBody"]["content"].as_object().is_some_and(|c| !c.is_empty()), "import: no body");
    assert!(import["security"].as_array().is_some_and(|s| s.iter().any(|x| x.get("bearer").is_some())));
    for (m, p) in ENDPOINTS.iter().filter(|(m, _)| *m == "patch") {
        let op = &doc["paths"][*p][*m];
        assert!(op["responses"]["412"].is_object() && op["responses"]["428"].is_object(), "{m} {p}");
    }

    let nearest = &doc["paths"]["/api/v1/facilities/nearest"]["get"]["parameters"];
    let param = |name: &str| {
        nearest.as_array().expect("parameters").iter().find(|q| q["name"] == name && q["in"] == "query").cloned()
    };
    for name in ["lon", "lat", "kind", "limit", "max_distance_m", "status"] {
        let q = param(name).unwrap_or_else(|| panic!("nearest: no {name}"));
        let required = q["required"] == true;
        assert_eq!(required, name == "lon" || name == "lat", "nearest: {name} required = {required}");
    }
    let limit = param("limit").expect("limit");
    assert_eq!((limit["schema"]["minimum"].as_f64(), limit["schema"]["maximum"].as_f64()), (Some(1.0), Some(100.0)));
    assert_eq!(limit["schema"]["default"], 10);
    let kind = param("kind").expect("kind");
    let kinds = &resolve(&doc, &kind["schema"])["enum"];
    assert_eq!(kinds.as_array().map(Vec::len), Some(diming::domain::FacilityKind::ALL.len()));
    assert!(kinds.as_array().expect("kinds").iter().any(|k| k == "care_home"));
}

/// The fields a schema requires at its top level (through `$ref` and `allOf`).
fn required_fields(doc: &serde_json::Value, schema: &serde_json::Value) -> Vec<String> {
    let schema = resolve(doc, schema);
    let mut fields: Vec<String> =
        schema["required"].as_array().into_iter().flatten().filter_map(|f| f.as_str().map(str::to_string)).collect();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        fields.extend(required_fields(doc, part));
    }
    fields
}

/// A query string from `(name, value)` pairs; array examples are comma-joined.
fn query(pairs: &[(String, serde_json::Value)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        let text = match v {
            serde_json::Value::String(t) => t.clone(),
            serde_json::Value::Array(items) => items.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(","),
            other => other.to_string(),
        };
        s.append_pair(k, &text);
    }
    s.finish()
}

/// What the document says a GET takes is what the handler accepts: every documented
/// GET answers 200 in its documented media type with the documented examples, a
/// missing required parameter is a 400 naming it, and each numeric bound is the
/// handler's (the bound itself accepted, one past it refused).
#[tokio::test]
async fn documented_query_parameters_and_bounds_are_the_ones_the_handlers_enforce() {
    let app = common::start_in_process().await;
    let doc = openapi_document(&app.base).await;
    // As an administrator, so the GETs that need a role answer too.
    let token = common::api_token(app.state.store(), "bounds_admin", diming::domain::Role::Admin).await;
    // A webhook subscription for the webhook GETs' example id.
    let hook = reqwest::Client::new()
        .post(format!("{}/api/v1/webhooks", app.base))
        .bearer_auth(&token)
        .json(&serde_json::json!({"url": "http://127.0.0.1:9/hook"}))
        .send()
        .await
        .expect("subscribe");
    assert_eq!(hook.status(), 201);
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
    );
    let client = reqwest::Client::builder().default_headers(headers).build().expect("client");
    let fetch = |url: String| {
        let client = client.clone();
        async move {
            let res = client.get(&url).send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
            let status = res.status().as_u16();
            let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            let body = res.text().await.expect("body");
            (status, ct, body)
        }
    };
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let Some(op) = item.get("get") else { continue };
        let params: Vec<serde_json::Value> = op["parameters"].as_array().cloned().unwrap_or_default();
        // Path parameters take their example; query parameters with an example are sent.
        let mut url_path = path.clone();
        for p in params.iter().filter(|p| p["in"] == "path") {
            let example = p["example"].as_str().unwrap_or_else(|| panic!("{path}: {} has no example", p["name"]));
            url_path = url_path.replace(&format!("{{{}}}", p["name"].as_str().expect("name")), example);
        }
        let query_params: Vec<&serde_json::Value> = params.iter().filter(|p| p["in"] == "query").collect();
        let base: Vec<(String, serde_json::Value)> = query_params
            .iter()
            .filter(|p| p["required"] == true || p.get("example").is_some())
            .map(|p| {
                let example =
                    p.get("example").unwrap_or_else(|| panic!("{path}: required {} has no example", p["name"]));
                (p["name"].as_str().expect("name").to_string(), example.clone())
            })
            .collect();
        let url = |pairs: &[(String, serde_json::Value)]| format!("{}{url_path}?{}", app.base, query(pairs));

        let (status, ct, body) = fetch(url(&base)).await;
        assert_eq!(status, 200, "GET {path} with the documented examples: {body}");
        let media: Vec<&String> = op["responses"]["200"]["content"].as_object().expect("200 content").keys().collect();
        assert!(media.iter().any(|m| ct.starts_with(m.as_str())), "GET {path}: {ct} is not one of {media:?}");
        let schema = &op["responses"]["200"]["content"][ct.as_str()]["schema"];
        if ct.contains("json") {
            let answer: serde_json::Value = serde_json::from_str(&body).expect("JSON answer");
            for field in required_fields(&doc, schema) {
                assert!(answer.get(&field).is_some(), "GET {path}: the answer lacks documented field {field}");
            }
        }
        checked += 1;

        let expect_400 = |pairs: Vec<(String, serde_json::Value)>, name: String| {
            let u = url(&pairs);
            let fetch = &fetch;
            async move {
                let (status, ct, body) = fetch(u.clone()).await;
                assert_eq!((status, ct.as_str()), (400, "application/problem+json"), "{u}: {body}");
                let v: serde_json::Value = serde_json::from_str(&body).expect("problem");
                let fields: Vec<&str> =
                    v["errors"].as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect();
                assert!(fields.contains(&name.as_str()), "{u}: {fields:?} should name {name}");
            }
        };
        for p in query_params.iter().filter(|p| p["required"] == true) {
            let name = p["name"].as_str().expect("name").to_string();
            let without: Vec<_> = base.iter().filter(|(k, _)| *k != name).cloned().collect();
            expect_400(without, name).await;
        }
        for p in &query_params {
            let name = p["name"].as_str().expect("name").to_string();
            let schema = &p["schema"];
            let with = |v: f64| {
                let mut pairs: Vec<_> = base.iter().filter(|(k, _)| *k != name).cloned().collect();
                // `Display` writes whole numbers without a fraction: `limit=1`, not `1.0`.
                pairs.push((name.clone(), serde_json::Value::String(v.to_string())));
                pairs
            };
            if let Some(max) = schema["maximum"].as_f64() {
                let (status, _, body) = fetch(url(&with(max))).await;
                assert_eq!(status, 200, "GET {path} {name}={max}: {body}");
                expect_400(with(max + 1.0), name.clone()).await;
            }
            if let Some(min) = schema["minimum"].as_f64() {
                let (status, _, body) = fetch(url(&with(min))).await;
                assert_eq!(status, 200, "GET {path} {name}={min}: {body}");
                expect_400(with(min - 1.0), name.clone()).await;
            }
            if let Some(min) = schema["exclusiveMinimum"].as_f64() {
                expect_400(with(min), name.clone()).await;
            }
        }
    }
    assert!(checked >= 20, "only {checked} GET operations checked");
}
