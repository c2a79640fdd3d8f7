//! PostgreSQL/PostGIS: several instances on one database, what GIS tools see, and
//! the copy of a county's SQLite registry. These need a PostgreSQL server: they are
//! ignored in the plain `cargo test` (reported as ignored, never as passed) and
//! `scripts/test.sh` runs them with `--include-ignored` when one is reachable,
//! together with the rest of the suite against PostgreSQL.

use crate::common;

use common::{get_json, psql, TestDb};
use diming::domain::Role;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn pg_db(tag: &str) -> TestDb {
    let db = TestDb::new(tag);
    assert!(db.is_postgres(), "set DIMING_TEST_POSTGRES to an administrator's URL (scripts/test.sh does)");
    db
}

/// An API token of a new account with `role`, made through the store.
async fn token(url: &str, role: Role) -> String {
    let store = diming::store::open(url).await.expect("open");
    let name = format!("{}-{}", role.as_str(), &diming::accounts::new_token()[..6]);
    common::api_token(store.as_ref(), &name, role).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: scripts/test.sh runs these with DIMING_TEST_POSTGRES set"]
async fn two_instances_see_each_others_writes_within_a_second_and_lose_no_update() {
    let db = pg_db("two");
    // Both start at once on the empty database: one migrates and loads, the other waits.
    let (a, b) = tokio::join!(
        tokio::task::spawn_blocking({
            let url = db.url.clone();
            move || common::spawn_serve(&url, &[])
        }),
        tokio::task::spawn_blocking({
            let url = db.url.clone();
            move || common::spawn_serve(&url, &[])
        })
    );
    let (a, b) = (a.unwrap().expect("serve a"), b.unwrap().expect("serve b"));
    let loads = psql(&db.url, "SELECT COUNT(*) FROM audit WHERE action = 'load' AND entity = 'facility'");
    let (_, _, fac) = get_json(&format!("{}/api/v1/facilities?limit=10000", b.base)).await;
    assert_eq!(loads, fac["numberMatched"].to_string(), "the dataset was loaded once");

    let editor = token(&db.url, Role::Editor).await;
    let client = Client::new();
    // A write on A …
    let res = client
        .post(format!("{}/api/v1/facilities", a.base))
        .bearer_auth(&editor)
        .json(&json!({"name": "凤城社区日间照料中心", "kind": "day_care", "lon": 86.233947, "lat": 44.282799}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let written = Instant::now();
    let created: Value = res.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    // … is answered by B's nearest, coverage and item within a second.
    let seen = loop {
        let (_, _, near) = get_json(&format!(
            "{}/api/v1/facilities/nearest?lon=86.233947&lat=44.282799&limit=1&kind=day_care",
            b.base
        ))
        .await;
        if near["features"][0]["id"] == id.as_str() {
            break written.elapsed();
        }
        assert!(written.elapsed() < Duration::from_secs(5), "B never saw {id}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(seen < Duration::from_secs(1), "B saw A's write after {seen:?}");
    let (status, _, _) = get_json(&format!("{}/api/v1/facilities/{id}", b.base)).await;
    assert_eq!(status, 200);

    // Two editors change version 1 at the same moment, one through each instance:
    // one wins, the other gets 412, and history holds both versions in order.
    let patch = |base: &str, name: &str| {
        client
            .patch(format!("{base}/api/v1/facilities/{id}"))
            .bearer_auth(&editor)
            .header("If-Match", "\"1\"")
            .json(&json!({"name": name}))
            .send()
    };
    let (ra, rb) =
        tokio::join!(patch(&a.base, "凤城社区日间照料中心（甲）"), patch(&b.base, "凤城社区日间照料中心（乙）"));
    let mut statuses = [ra.unwrap().status(), rb.unwrap().status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::PRECONDITION_FAILED]);
    let (_, _, hist) = get_json(&format!("{}/api/v1/facilities/{id}/history", b.base)).await;
    let versions: Vec<i64> =
        hist["versions"].as_array().unwrap().iter().map(|v| v["version"].as_i64().unwrap()).collect();
    assert_eq!(versions, [1, 2]);
    // And both instances now answer the winner's name.
    let winner = hist["versions"][1]["data"]["name"].clone();
    let deadline = Instant::now() + Duration::from_secs(2);
    for base in [&a.base, &b.base] {
        loop {
            let (_, _, f) = get_json(&format!("{base}/api/v1/facilities/{id}")).await;
            if f["properties"]["name"] == winner {
                break;
            }
            assert!(Instant::now() < deadline, "{base} still answers {}", f["properties"]["name"]);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test.sh runs these with DIMING_TEST_POSTGRES set"]
async fn gis_tools_find_postgis_geometry_columns_in_cgcs2000_with_gist_indexes() {
    let app = {
        assert!(common::postgres_admin_url().is_some(), "DIMING_TEST_POSTGRES is not set");
        common::start_in_process().await
    };
    let url = &app.db.url;
    // QGIS lists layers from PostGIS's geometry_columns.
    let cols = psql(url, "SELECT f_table_name || ':' || f_geometry_column || ':' || srid || ':' || type FROM geometry_columns ORDER BY 1");
    assert_eq!(
        cols.lines().collect::<Vec<_>>(),
        [
            "divisions:geom:4490:GEOMETRY",
            "facilities:geom:4490:POINT",
            "places:geom:4490:GEOMETRY",
            "settlements:geom:4490:POINT"
        ]
    );
    for table in ["divisions", "facilities", "places", "settlements"] {
        let gist = psql(
            url,
            &format!(
                "SELECT COUNT(*) FROM pg_indexes WHERE tablename = '{table}' AND indexdef ILIKE '%USING gist (geom)%'"
            ),
        );
        assert_eq!(gist, "1", "{table} has a GiST index on geom");
    }
    // The geometry is the registry's: every facility lies in the township it names,
    // and the township polygons are valid MultiPolygons.
    let misplaced = psql(
        url,
        "SELECT COUNT(*) FROM facilities f JOIN divisions d ON d.code = f.township_code WHERE NOT ST_Intersects(d.geom, f.geom)",
    );
    assert_eq!(misplaced, "0");
    let invalid = psql(url, "SELECT COUNT(*) FROM divisions WHERE level <> 'village' AND (NOT ST_IsValid(geom) OR GeometryType(geom) <> 'MULTIPOLYGON')");
    assert_eq!(invalid, "0");
    // A write through the API is in the geometry column at once.
    let editor = token(url, Role::Editor).await;
    let res = Client::new()
        .post(format!("{}/api/v1/facilities", app.base))
        .bearer_auth(&editor)
        .json(&json!({"name": "西关社区服务站", "kind": "community_service", "lon": 86.218414, "lat": 44.31968}))
        .send()
        .await
        .unwrap();
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let wkt = psql(url, &format!("SELECT ST_AsText(geom) FROM facilities WHERE id = '{id}'"));
    assert_eq!(wkt, "POINT(86.218414 44.31968)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: scripts/test.sh runs these with DIMING_TEST_POSTGRES set"]
async fn migrate_db_copies_a_sqlite_registry_with_history_audit_and_accounts() {
    let dir = common::TempDir::new("migrate");
    let sqlite = dir.sqlite_url("county.db");
    // A county registry with a few changes of its own.
    let source = common::spawn_serve(&sqlite, &[]).expect("serve sqlite");
    let editor = token(&sqlite, Role::Editor).await;
    let client = Client::new();
    let res = client
        .post(format!("{}/api/v1/facilities", source.base))
        .bearer_auth(&editor)
        .json(&json!({"name": "东关社区日间照料中心", "kind": "day_care", "lon": 86.223262, "lat": 44.308026}))
        .send()
        .await
        .unwrap();
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let res = client
        .patch(format!("{}/api/v1/facilities/{id}", source.base))
        .bearer_auth(&editor)
        .header("If-Match", "\"1\"")
        .json(&json!({"capacity_beds": 30}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    drop(source);

    let target = pg_db("migrate");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_diming"))
        .args(["migrate-db", "--from", &sqlite, "--to", &target.url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("已复制"));
    // A second copy into the now full database is refused and changes nothing.
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_diming"))
        .args(["migrate-db", "--from", &sqlite, "--to", &target.url])
        .output()
        .unwrap();
    assert!(!again.status.success());

    // Both registries answer the same, history and audit included, and the token still works.
    let (a, b) =
        (common::spawn_serve(&sqlite, &[]).expect("sqlite"), common::spawn_serve(&target.url, &[]).expect("pg"));
    for path in [
        "/api/v1/facilities?limit=10000".to_string(),
        "/api/v1/divisions?limit=10000".to_string(),
        "/api/v1/settlements?limit=10000".to_string(),
        "/api/v1/places?limit=100".to_string(),
        format!("/api/v1/facilities/{id}/history"),
        "/api/v1/coverage?kind=care_home".to_string(),
        "/api/v1/facilities/nearest?lon=86.2&lat=44.3&limit=5".to_string(),
    ] {
        let (_, _, x) = get_json(&format!("{}{path}", a.base)).await;
        let (_, _, y) = get_json(&format!("{}{path}", b.base)).await;
        assert_eq!(x, y, "{path}");
    }
    let store_a = diming::store::open(&sqlite).await.unwrap();
    let store_b = diming::store::open(&target.url).await.unwrap();
    let (da, db) = (store_a.dump().await.unwrap(), store_b.dump().await.unwrap());
    assert_eq!(da.history.len(), db.history.len());
    assert_eq!(da.audit.len(), db.audit.len());
    assert_eq!(
        store_a.audit("facility", &id).await.unwrap().len(),
        store_b.audit("facility", &id).await.unwrap().len()
    );
    let res = client
        .patch(format!("{}/api/v1/facilities/{id}", b.base))
        .bearer_auth(&editor)
        .header("If-Match", "\"2\"")
        .json(&json!({"capacity_beds": 40}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "the copied API token works on PostgreSQL");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test.sh runs these with DIMING_TEST_POSTGRES set"]
async fn a_database_of_another_application_is_refused_and_left_alone() {
    let db = pg_db("foreign");
    psql(&db.url, "CREATE TABLE invoices (id int primary key, total numeric)");
    let err = diming::store::open(&db.url).await.err().expect("refused");
    let text = err.to_string();
    assert!(text.contains("invoices") && text.contains("不是 diming"), "{text}");
    assert_eq!(psql(&db.url, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'facilities'"), "0");
    // A password in the URL never shows in an error.
    let bad = db.url.replacen("postgres://postgres@", "postgres://postgres:s3cret@", 1);
    let err = diming::store::open(&format!("{bad}_missing")).await.err().expect("no such database");
    assert!(!err.to_string().contains("s3cret"), "{err}");
}
