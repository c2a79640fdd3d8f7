//! OGC API Features Part 4 on `facilities` and `places`: a client that speaks only
//! OGC (GeoJSON Features, `If-Match` with the ETag read, `Content-Crs`) adds,
//! changes, replaces and deletes; each write goes through the REST rules, roles,
//! history and audit; delete closes or retires, never erases; stale and missing
//! versions are 412 and 428; careless and hostile bodies are refused naming the
//! member: 400 for what is not a Feature, 422 for a Feature the collection does not take.

use crate::common::{self, get_json};
use diming::domain::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut rb = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.header("content-type", "application/geo+json").body(b);
        }
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        let res = rb.send().await.expect("request");
        let status = res.status();
        let h = res.headers().clone();
        let text = res.text().await.expect("body");
        let v = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (status, h, v)
    }
}

fn etag(h: &reqwest::header::HeaderMap) -> String {
    h.get("etag").and_then(|v| v.to_str().ok()).expect("etag").to_string()
}

fn feature(props: Value, lon: f64, lat: f64) -> String {
    json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": props})
        .to_string()
}

fn fields(p: &Value) -> Vec<String> {
    p["errors"]
        .as_array()
        .map(|e| e.iter().filter_map(|x| x["field"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn an_ogc_client_adds_changes_replaces_and_deletes_a_facility_through_the_rest_rules() {
    let app = common::start_in_process().await;
    let editor = common::api_token(app.state.store(), "ogc_editor", Role::Editor).await;
    let viewer = common::api_token(app.state.store(), "ogc_viewer", Role::Viewer).await;
    let c = Client { base: app.base.clone(), http: reqwest::Client::new() };
    let items = "/ogc/collections/facilities/items";
    let (_, _, conf) = get_json(&format!("{}/ogc/conformance", app.base)).await;
    assert!(conf.to_string().contains("ogcapi-features-4/1.0/conf/create-replace-delete"));

    let new = feature(
        json!({"name": "塔西河乡敬老院", "kind": "care_home", "capacity_beds": 60, "operator": "public",
               "nursing_beds": 20, "medical_care": true, "address": "塔西河乡幸福路"}),
        86.23,
        43.93,
    );
    // Who may: nobody without a login, not a viewer.
    assert_eq!(c.send(Method::POST, items, None, Some(new.clone()), &[]).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(c.send(Method::POST, items, Some(&viewer), Some(new.clone()), &[]).await.0, StatusCode::FORBIDDEN);
    let (s, h, f) = c.send(Method::POST, items, Some(&editor), Some(new.clone()), &[]).await;
    assert_eq!(s, StatusCode::CREATED, "{f}");
    let id = f["id"].as_str().expect("id").to_string();
    let location = h["location"].to_str().expect("location").to_string();
    assert_eq!(location, format!("{items}/{id}"));
    assert_eq!(etag(&h), "\"1\"");
    let (s, _, read) = get_json(&format!("{}{location}", app.base)).await;
    assert_eq!(s, 200);
    assert_eq!(read["properties"]["name"], "塔西河乡敬老院");
    assert_eq!(read["properties"]["nursing_beds"], 20);
    assert_eq!(read["properties"]["township_code"].as_str().map(|c| c.len()), Some(9), "where the point falls");

    // PATCH: what is sent; a null removes; `If-Match` is required and must be current.
    let patch = json!({"type": "Feature", "properties": {"capacity_beds": 80, "medical_care": null}}).to_string();
    let (s, _, p) = c.send(Method::PATCH, &location, Some(&editor), Some(patch.clone()), &[]).await;
    assert_eq!(s, StatusCode::PRECONDITION_REQUIRED, "{p}");
    let (s, h, p) =
        c.send(Method::PATCH, &location, Some(&editor), Some(patch.clone()), &[("if-match", "\"1\"")]).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(etag(&h), "\"2\"");
    assert_eq!(p["properties"]["capacity_beds"], 80);
    assert!(p["properties"].get("medical_care").is_none(), "{p}");
    assert_eq!(p["properties"]["address"], "塔西河乡幸福路", "kept");
    let (s, _, _) = c.send(Method::PATCH, &location, Some(&editor), Some(patch), &[("if-match", "\"1\"")]).await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED);

    // PUT: the feature as read back (read-only properties and all), renamed and moved,
    // its point sent in EPSG:4490 (lat/lon); what it leaves out is cleared.
    let (_, _, mut back) = get_json(&format!("{}{location}", app.base)).await;
    let props = back["properties"].as_object_mut().expect("props");
    props.insert("name".into(), json!("塔西河乡中心敬老院"));
    props.remove("nursing_beds");
    props.remove("capacity_beds");
    back["geometry"] = json!({"type": "Point", "coordinates": [43.931, 86.231]});
    assert!(back["links"].is_array(), "the links go back as read: {back}");
    let crs = [("if-match", "\"2\""), ("content-crs", "<http://www.opengis.net/def/crs/EPSG/0/4490>")];
    let (s, h, p) = c.send(Method::PUT, &location, Some(&editor), Some(back.to_string()), &crs).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(etag(&h), "\"3\"");
    assert_eq!(p["properties"]["name"], "塔西河乡中心敬老院");
    assert_eq!(p["geometry"]["coordinates"], json!([86.231, 43.931]));
    assert!(p["properties"]["capacity_beds"].is_null(), "{p}");
    assert!(p["properties"].get("nursing_beds").is_none(), "{p}");
    assert_eq!(p["properties"]["address"], "塔西河乡幸福路", "sent back, kept");

    // DELETE closes; the feature stays, closed; a second one is a conflict.
    let (s, _, _) = c.send(Method::DELETE, &location, Some(&editor), None, &[]).await;
    assert_eq!(s, StatusCode::PRECONDITION_REQUIRED);
    let (s, _, p) = c.send(Method::DELETE, &location, Some(&editor), None, &[("if-match", "\"3\"")]).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{p}");
    let (s, _, closed) = get_json(&format!("{}{location}", app.base)).await;
    assert_eq!(s, 200);
    assert_eq!(closed["properties"]["status"], "closed");
    assert!(closed["properties"]["close_reason"].as_str().is_some_and(|r| r.contains("OGC")));
    let (s, _, _) = c.send(Method::DELETE, &location, Some(&editor), None, &[("if-match", "\"4\"")]).await;
    assert_eq!(s, StatusCode::CONFLICT);

    // Every write is in the history, by whom.
    let (_, _, history) = get_json(&format!("{}/api/v1/facilities/{id}/history", app.base)).await;
    let versions = history["versions"].as_array().expect("versions");
    assert_eq!(versions.len(), 4, "{history}");
    assert!(versions.iter().all(|v| v.to_string().contains("ogc_editor")), "{history}");
}

#[tokio::test]
async fn careless_and_hostile_ogc_writes_are_refused_and_name_the_member() {
    let app = common::start_in_process().await;
    let editor = common::api_token(app.state.store(), "ogc_editor", Role::Editor).await;
    let c = Client { base: app.base.clone(), http: reqwest::Client::new() };
    let items = "/ogc/collections/facilities/items";
    let (_, _, health) = get_json(&format!("{}/health", app.base)).await;
    let before = health["sequence"].clone();
    assert!(before.is_u64(), "{health}");
    let cases: Vec<(String, StatusCode, &str)> = vec![
        ("not json".into(), StatusCode::BAD_REQUEST, "body"),
        (json!({"type": "FeatureCollection", "features": []}).to_string(), StatusCode::BAD_REQUEST, "type"),
        (json!([1, 2]).to_string(), StatusCode::BAD_REQUEST, "body"),
        (
            json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [86.23, 43.93]},
                   "properties": {"name": "某院", "kind": "care_home"}, "style": {"color": "red"}})
            .to_string(),
            StatusCode::BAD_REQUEST,
            "style",
        ),
        (
            json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [86.23, 43.93]},
                   "properties": {"name": "某院", "kind": "care_home"}, "links": "self"})
            .to_string(),
            StatusCode::BAD_REQUEST,
            "links",
        ),
        (
            json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[86, 44], [86.1, 44], [86, 44.1], [86, 44]]]},
                   "properties": {"name": "某院", "kind": "care_home"}})
            .to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "geometry",
        ),
        (json!({"type": "Feature", "geometry": null, "properties": {"name": "某院", "kind": "care_home"}}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "geometry"),
        (feature(json!({"name": 7, "kind": "care_home"}), 86.23, 43.93), StatusCode::UNPROCESSABLE_ENTITY, "properties.name"),
        (feature(json!({"name": "某院", "kind": "castle"}), 86.23, 43.93), StatusCode::UNPROCESSABLE_ENTITY, "properties.kind"),
        (feature(json!({"name": "某院", "kind": "care_home", "nursing_beds": -1}), 86.23, 43.93), StatusCode::UNPROCESSABLE_ENTITY, "properties.nursing_beds"),
        (feature(json!({"name": "某院", "kind": "care_home", "extra": {"nested": 1}}), 86.23, 43.93), StatusCode::UNPROCESSABLE_ENTITY, "properties.extra"),
        (feature(json!({"name": "某院", "kind": "care_home"}), 120.0, 30.0), StatusCode::UNPROCESSABLE_ENTITY, "geometry"),
        (feature(json!({"name": "某院", "kind": "care_home"}), 1e300, 30.0), StatusCode::UNPROCESSABLE_ENTITY, "geometry"),
        (feature(json!({"name": "<img src=x onerror=alert(1)>\u{0}", "kind": "care_home"}), 86.23, 43.93), StatusCode::BAD_REQUEST, "properties.name"),
    ];
    for (body, want, field) in &cases {
        let (s, _, p) = c.send(Method::POST, items, Some(&editor), Some(body.clone()), &[]).await;
        assert_eq!(s, *want, "{body}: {p}");
        assert!(fields(&p).iter().any(|f| f == field), "{body}: should name {field}: {p}");
    }
    // A bad Content-Crs; read-only collections; unknown collections.
    let ok = feature(json!({"name": "某院", "kind": "care_home"}), 86.23, 43.93);
    let (s, _, p) =
        c.send(Method::POST, items, Some(&editor), Some(ok.clone()), &[("content-crs", "<EPSG:3857>")]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{p}");
    let (s, _, _) =
        c.send(Method::POST, "/ogc/collections/divisions/items", Some(&editor), Some(ok.clone()), &[]).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    let (s, _, _) = c
        .send(
            Method::DELETE,
            "/ogc/collections/settlements/items/652324100201",
            Some(&editor),
            None,
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    let (s, _, _) = c.send(Method::POST, "/ogc/collections/castles/items", Some(&editor), Some(ok.clone()), &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) =
        c.send(Method::PATCH, &format!("{items}/f9999999"), Some(&editor), Some(ok), &[("if-match", "\"1\"")]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Nothing of that was written.
    let (_, _, health) = get_json(&format!("{}/health", app.base)).await;
    assert_eq!(health["sequence"], before, "no change was committed");
}

#[tokio::test]
async fn an_ogc_client_proposes_edits_and_retires_a_place_name() {
    let app = common::start_in_process().await;
    let editor = common::api_token(app.state.store(), "ogc_editor", Role::Editor).await;
    let approver = common::api_token(app.state.store(), "ogc_approver", Role::Approver).await;
    let c = Client { base: app.base.clone(), http: reqwest::Client::new() };
    let items = "/ogc/collections/places/items";
    let (s, h, p) = c
        .send(
            Method::POST,
            items,
            Some(&editor),
            Some(feature(json!({"name": "凤鸣路", "category": "street"}), 86.215, 44.305)),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    assert_eq!(p["properties"]["status"], "proposed");
    let location = h["location"].to_str().expect("location").to_string();
    // Sent back as read, with an origin added.
    let (_, _, mut back) = get_json(&format!("{}{location}", app.base)).await;
    back["properties"]["origin"] = json!("取“凤鸣朝阳”之意");
    let (s, h, p) =
        c.send(Method::PATCH, &location, Some(&editor), Some(back.to_string()), &[("if-match", "\"1\"")]).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["properties"]["origin"], "取“凤鸣朝阳”之意");
    let v = etag(&h);
    // A property a place does not have is named, not dropped.
    let (s, _, p) = c
        .send(
            Method::PATCH,
            &location,
            Some(&editor),
            Some(json!({"type": "Feature", "properties": {"colour": "red"}}).to_string()),
            &[("if-match", &v)],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(fields(&p).contains(&"properties.colour".to_string()), "{p}");
    // Retiring needs an approver and the decision.
    let (s, _, _) = c.send(Method::DELETE, &location, Some(&approver), None, &[("if-match", &v)]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let decision =
        json!({"approving_body": "玛纳斯县人民政府", "document_no": "玛政函〔2026〕19号", "reason": "规划取消"})
            .to_string();
    let (s, _, _) = c.send(Method::DELETE, &location, Some(&editor), Some(decision.clone()), &[("if-match", &v)]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, p) = c.send(Method::DELETE, &location, Some(&approver), Some(decision), &[("if-match", &v)]).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{p}");
    let (_, _, gone) = get_json(&format!("{}{location}", app.base)).await;
    assert_eq!(gone["properties"]["status"], "retired");
}

/// A real client: OWSLib (PyPI, in the virtualenv scripts/setup.sh --test makes)
/// creates, replaces and deletes a facility with its Part 4 calls
/// (tests/clients/owslib_part4.py); each change is in the facility's history,
/// under the token's user. (QGIS is the client, but Debian 12 ships QGIS
/// 3.22, whose OGC API Features provider does not edit: see docs/API.md.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owslib_creates_replaces_and_deletes_a_facility_through_part_4() {
    let app = common::start_in_process().await;
    let token = common::api_token(app.state.store(), "owslib_editor", Role::Editor).await;
    let python = common::manifest_dir().join("target/clients-venv/bin/python");
    assert!(python.exists(), "{} is missing: run scripts/setup.sh --test", python.display());
    let (base, script) = (app.base.clone(), common::manifest_dir().join("tests/clients/owslib_part4.py"));
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python).arg(script).arg(&base).arg(&token).output().expect("python")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "owslib: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let seen: Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    assert_eq!(seen["status_after_delete"], "closed", "{seen}");
    assert!(seen["stale"].as_str().is_some_and(|s| s.contains("412") || s.contains("version")), "{seen}");
    let id = seen["id"].as_str().expect("id");
    let (s, _, history) = get_json(&format!("{}/api/v1/facilities/{id}/history", app.base)).await;
    assert_eq!(s, 200, "{history}");
    let versions = history["versions"].as_array().expect("versions");
    let actions: Vec<&str> = versions.iter().filter_map(|v| v["action"].as_str()).collect();
    assert_eq!(actions.len(), 3, "{history}");
    assert_eq!(versions[0]["data"]["capacity_beds"], 30);
    assert_eq!(versions[1]["data"]["capacity_beds"], 45);
    assert_eq!(versions[1]["data"]["name"], "OWSLib 测试敬老院（扩建）");
    assert_eq!(versions[2]["data"]["status"], "closed");
    assert!(versions.iter().all(|v| v["actor"].as_str().is_some_and(|a| a.contains("owslib_editor"))), "{history}");
}
