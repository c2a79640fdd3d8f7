//! Crash safety: the server is killed with SIGKILL while 8 clients write and a CLI
//! import of 100,000 rows runs on the same registry. After a restart every write
//! that was acknowledged is there with its history and audit entries, the import is
//! all there or not at all, and the audit chain verifies. Both backends.

use crate::common;

use common::{api_token, TestDb};
use diming::domain::Role;
use serde_json::json;
use std::io::Write;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_writes_and_an_import_loses_no_acknowledged_write() {
    let db = TestDb::new("crash");
    let served = common::spawn_serve(&db.url, &[]).expect("serve");
    let store = diming::store::open(&db.url).await.expect("open");
    let token = api_token(store.as_ref(), "editor", Role::Editor).await;
    let before = store.facilities().await.expect("facilities").len();

    // A 100,000-row import, started on the same registry.
    let dir = common::TempDir::new("crash-import");
    let csv = dir.path().join("big.csv");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&csv).expect("csv"));
        writeln!(f, "名称,类型,经度,纬度").expect("write");
        for i in 0..100_000u32 {
            let (dx, dy) = (f64::from(i % 300) * 1e-5, f64::from(i / 300) * 1e-6);
            writeln!(f, "导入测试站{i},community_service,{:.6},{:.6}", 86.23 + dx, 43.93 + dy).expect("write");
        }
    }
    let mut import = Command::new(env!("CARGO_BIN_EXE_diming"))
        .args(["import", &csv.to_string_lossy(), "--layer", "facilities", "--database", &db.url])
        .current_dir(common::manifest_dir())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("import");

    // 8 clients write until the server dies; each keeps what was acknowledged.
    let acknowledged = Arc::new(Mutex::new(Vec::<(String, i64)>::new()));
    let mut writers = Vec::new();
    for w in 0..8 {
        let (base, token, acked) = (served.base.clone(), token.clone(), acknowledged.clone());
        writers.push(tokio::spawn(async move {
            let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().expect("client");
            for i in 0..10_000 {
                let body = json!({"name": format!("崩溃测试站{w}-{i}"), "kind": "community_service", "lon": 86.23, "lat": 43.93});
                let Ok(res) = client.post(format!("{base}/api/v1/facilities")).bearer_auth(&token).json(&body).send().await else {
                    return; // the server is gone
                };
                if res.status().as_u16() != 201 {
                    return;
                }
                let Ok(f) = res.json::<serde_json::Value>().await else { return };
                let id = f["id"].as_str().or(f["properties"]["id"].as_str());
                if let (Some(id), Some(v)) = (id, f["properties"]["version"].as_i64()) {
                    acked.lock().expect("lock").push((id.to_string(), v));
                }
            }
        }));
    }
    // Kill while the import is inside its one write transaction, not before it.
    let writing = wait_until_import_writes(&db, &mut import).await;
    assert!(writing, "the import never reached its write transaction");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut served = served;
    served.child.kill().expect("SIGKILL the server"); // Child::kill is SIGKILL on Unix
    let _ = served.child.wait();
    let _ = import.kill();
    let _ = import.wait();
    for w in writers {
        let _ = w.await;
    }
    drop(served);
    let acked = acknowledged.lock().expect("lock").clone();
    assert!(acked.len() >= 8, "some writes were acknowledged before the kill: {}", acked.len());

    // Restart on the same registry.
    let served = common::spawn_serve(&db.url, &[]).expect("restart");
    let store = diming::store::open(&db.url).await.expect("reopen");
    let facilities = store.facilities().await.expect("facilities");
    let ids: std::collections::HashSet<&str> = facilities.iter().map(|f| f.id.as_str()).collect();
    for (id, version) in &acked {
        assert!(ids.contains(id.as_str()), "acknowledged facility {id} is lost");
        let history = store.history("facility", id).await.expect("history");
        assert!(history.iter().any(|h| h.version == *version), "{id} v{version} has no history row");
        assert!(!store.audit("facility", id).await.expect("audit").is_empty(), "{id} has no audit entry");
    }
    let imported = facilities.iter().filter(|f| f.name.starts_with("导入测试站")).count();
    eprintln!("acknowledged {} writes; the import left {imported} of 100000 rows", acked.len());
    assert!(imported == 0 || imported == 100_000, "the import is all or nothing, not {imported} rows");
    let unacknowledged = facilities.len() - before - imported - acked.len();
    assert!(unacknowledged <= 8, "at most one write per client was in flight: {unacknowledged}");
    let out = Command::new(env!("CARGO_BIN_EXE_diming"))
        .args(["audit", "verify", "--database", &db.url])
        .output()
        .expect("verify");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The restarted server answers with what the store holds.
    let (status, _, v) = common::get_json(&format!("{}/api/v1/facilities?limit=1&offset=0", served.base)).await;
    assert_eq!(status, 200, "{v}");
}

/// Whether the import's write transaction is under way: on SQLite its pages spill
/// into the WAL file (megabytes, where single writes add kilobytes); on PostgreSQL a
/// transaction of the registry's database has been open for over a second.
async fn wait_until_import_writes(db: &TestDb, import: &mut std::process::Child) -> bool {
    for _ in 0..1200 {
        if import.try_wait().ok().flatten().is_some() {
            return false;
        }
        let writing = if db.is_postgres() {
            let name = db.url.rsplit('/').next().unwrap_or_default().to_string();
            let admin = common::postgres_admin_url().unwrap_or_default();
            let n = common::psql(
                &admin,
                &format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{name}' AND now() - xact_start > interval '1 second'"),
            );
            n.trim() != "0"
        } else {
            // The write lock held for over a second: only the import's transaction
            // holds it that long (a single write holds it for milliseconds).
            let path = db.url.trim_start_matches("sqlite://").to_string();
            let probe = "import sqlite3, sys\ntry:\n    c = sqlite3.connect(sys.argv[1], timeout=1.0, isolation_level=None)\n    c.execute('BEGIN IMMEDIATE'); c.execute('ROLLBACK'); print('free')\nexcept sqlite3.OperationalError:\n    print('held')";
            let out = Command::new("python3").args(["-c", probe, &path]).output().expect("python3");
            String::from_utf8_lossy(&out.stdout).trim() == "held"
        };
        if writing {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}
