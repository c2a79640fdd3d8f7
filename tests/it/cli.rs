//! `diming serve` as a process: first start loads the bundled data once, the
//! address line, and start-up errors that name the file instead of panicking.

use crate::common;

use common::{serve_expecting_failure, spawn_serve, TempDir};
use diming::store::prelude::*;

async fn history_rows(url: &str, entity: &str, id: &str) -> usize {
    let store = diming::store::SqliteStore::open(url).await.expect("open");
    store.history(entity, id).await.expect("history").len()
}

#[tokio::test]
async fn serve_on_an_empty_database_loads_the_dataset_once_and_a_second_serve_does_not_reload() {
    let dir = TempDir::new("cli-load");
    let url = dir.sqlite_url("diming.db");
    {
        let s = spawn_serve(&url, &[]).expect("first serve");
        assert!(s.base.starts_with("http://127.0.0.1:"));
        let (status, _, body) = common::get_json(&format!("{}/api/v1/divisions?level=township", s.base)).await;
        assert_eq!(status, 200);
        assert_eq!(body["numberMatched"], 19);
        assert!(s.stderr.lock().expect("log").contains("loaded the bundled dataset"));
    }
    {
        let s = spawn_serve(&url, &[]).expect("second serve");
        let (_, _, body) = common::get_json(&format!("{}/api/v1/facilities?limit=1", s.base)).await;
        assert_eq!(body["numberMatched"], 180);
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(!s.stderr.lock().expect("log").contains("loaded the bundled dataset"));
    }
    assert_eq!(history_rows(&url, "facility", "f0001").await, 1);
    assert_eq!(history_rows(&url, "division", "652324101").await, 1);
}

#[tokio::test]
async fn two_serves_racing_on_one_empty_database_load_it_exactly_once() {
    let dir = TempDir::new("cli-race");
    let url = dir.sqlite_url("diming.db");
    let a = std::thread::spawn({
        let url = url.clone();
        move || spawn_serve(&url, &[])
    });
    let b = spawn_serve(&url, &[]).expect("serve b");
    let a = a.join().expect("thread").expect("serve a");
    for s in [&a, &b] {
        let (_, _, body) = common::get_json(&format!("{}/api/v1/settlements?limit=1", s.base)).await;
        assert_eq!(body["numberMatched"], 222);
    }
    drop((a, b));
    assert_eq!(history_rows(&url, "settlement", "652324101201").await, 1);
}

#[test]
fn a_file_that_is_not_a_database_is_refused_with_its_name() {
    let dir = TempDir::new("cli-notdb");
    let path = dir.path().join("notes.db");
    std::fs::write(
        &path,
        "这不是数据库 — this is not a database, just some text that is long enough to fill a header page.".repeat(20),
    )
    .expect("write");
    let (ok, err) = serve_expecting_failure(&format!("sqlite://{}", path.display()));
    assert!(!ok);
    assert!(err.contains("notes.db"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_sqlite_database_of_another_application_is_refused_and_left_alone() {
    let dir = TempDir::new("cli-foreign");
    let path = dir.path().join("other.db");
    let url = format!("sqlite://{}", path.display());
    let rt = tokio::runtime::Runtime::new().expect("rt");
    rt.block_on(async {
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .connect()
            .await
            .expect("connect");
        sqlx::query("CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount REAL)")
            .execute(&mut conn)
            .await
            .expect("create");
    });
    let (ok, err) = serve_expecting_failure(&url);
    assert!(!ok);
    assert!(err.contains("other.db") && err.contains("invoices"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // Nothing was added to it.
    let tables: Vec<String> = rt.block_on(async {
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new().filename(&path).connect().await.expect("connect");
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&mut conn)
            .await
            .expect("tables")
    });
    assert_eq!(tables, ["invoices"]);
}

#[test]
fn a_directory_or_an_unknown_scheme_is_a_clear_start_up_error() {
    let dir = TempDir::new("cli-dir");
    let (ok, err) = serve_expecting_failure(&format!("sqlite://{}", dir.path().display()));
    assert!(!ok);
    assert!(err.contains(&dir.path().display().to_string()), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let (ok, err) = serve_expecting_failure("mysql://localhost/x");
    assert!(!ok);
    assert!(err.contains("mysql://localhost/x"), "{err}");
}

#[test]
fn a_bad_listen_address_names_the_setting() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_diming"))
        .args(["serve", "--listen", "not-an-address"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--listen"), "{err}");
}

#[tokio::test]
async fn the_readme_run_command_serves_the_bundled_county() {
    let dir = TempDir::new("cli-readme");
    let url = dir.sqlite_url("diming.db");
    let mut child = std::process::Command::new(common::manifest_dir().join("scripts/serve.sh"))
        .args(["--listen", "127.0.0.1:0", "--database", &url])
        // The README command builds in release; here it reuses the test build.
        .env("DIMING_PROFILE", "dev")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("scripts/serve.sh");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(a) = line.strip_prefix("listening on ") {
                let _ = tx.send(a.to_string());
            }
        }
    });
    // A clean checkout rebuilds the binary without the dev-dependency features (≈ 2 min).
    let base = rx.recv_timeout(std::time::Duration::from_secs(900));
    let result = match &base {
        Ok(base) => Some(common::get_json(&format!("{base}/api/v1/divisions?level=village&limit=1")).await),
        Err(_) => None,
    };
    let _ = child.kill();
    let _ = child.wait();
    let (status, _, body) = result.expect("scripts/serve.sh printed no listening line");
    assert_eq!(status, 200);
    assert_eq!(body["numberMatched"], 222);
}

#[tokio::test]
async fn an_optional_raster_basemap_is_passed_to_the_page() {
    let dir = TempDir::new("cli-basemap");
    let url = dir.sqlite_url("diming.db");
    let tiles = "http://t0.tianditu.example/vec_w/wmts?TILEMATRIX={z}&TILEROW={y}&TILECOL={x}";
    let s = spawn_serve(&url, &["--basemap-url", tiles, "--basemap-attribution", "天地图"]).expect("serve");
    let (status, _, cfg) = common::get_json(&format!("{}/api/v1/page-config", s.base)).await;
    assert_eq!(status, 200);
    assert_eq!(cfg["basemap"]["url"], tiles);
    assert_eq!(cfg["basemap"]["gcj02"], false);
    drop(s);
    let s = spawn_serve(&url, &[]).expect("serve");
    let (_, _, cfg) = common::get_json(&format!("{}/api/v1/page-config", s.base)).await;
    assert!(cfg["basemap"].is_null(), "no basemap unless configured: the county and townships are the base map");
}
