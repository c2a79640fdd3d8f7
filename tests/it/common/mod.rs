//! Test harness: the real binary or the real router on 127.0.0.1:0, and HTTP.
#![allow(clippy::panic)] // test helpers: a failed setup should stop the test loudly
#![allow(dead_code)]

pub mod china;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let p = std::env::temp_dir().join(format!("diming-test-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    pub fn sqlite_url(&self, name: &str) -> String {
        format!("sqlite://{}", self.0.join(name).display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The PostgreSQL server the suite runs against, when `DIMING_TEST_POSTGRES` names one
/// (an administrator's URL, e.g. `postgres://postgres@127.0.0.1:5432/postgres`);
/// `scripts/test.sh` sets it when a server is reachable and says so when not.
pub fn postgres_admin_url() -> Option<String> {
    std::env::var("DIMING_TEST_POSTGRES").ok().filter(|s| !s.is_empty())
}

/// A fresh, empty registry database for one test: SQLite in a temporary directory,
/// or, in the PostgreSQL pass, a database of its own (`CREATE DATABASE`), dropped
/// afterwards.
pub struct TestDb {
    pub url: String,
    _dir: TempDir,
    postgres: Option<(String, String)>,
}

impl TestDb {
    pub fn new(tag: &str) -> Self {
        let dir = TempDir::new(tag);
        match postgres_admin_url() {
            None => TestDb { url: dir.sqlite_url("t.db"), _dir: dir, postgres: None },
            Some(admin) => {
                let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let name = format!("diming_{}_{}_{n}", tag.replace('-', "_"), std::process::id());
                psql(&admin, &format!("CREATE DATABASE {name}"));
                let url = match admin.rfind('/') {
                    Some(i) if admin[..i].contains("://") && i > admin.find("://").unwrap_or(0) + 2 => {
                        format!("{}/{name}", &admin[..i])
                    }
                    _ => format!("{admin}/{name}"),
                };
                TestDb { url, _dir: dir, postgres: Some((admin, name)) }
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }
}

static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Run one SQL statement with `psql` as the administrator; a failure stops the test.
pub fn psql(admin_url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([admin_url, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .expect("psql (postgresql-client) is needed for the PostgreSQL tests");
    assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.postgres {
            let _ = Command::new("psql")
                .args([admin.as_str(), "-X", "-q", "-c", &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")])
                .output();
        }
    }
}

/// `diming serve` as a child process; killed on drop.
pub struct Served {
    pub child: Child,
    pub base: String,
    pub stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `diming serve --listen 127.0.0.1:0 --database URL`, from the crate root.
fn serve_command(database_url: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_diming"));
    c.args(["serve", "--listen", "127.0.0.1:0", "--database", database_url]).current_dir(manifest_dir());
    c
}

/// Start the real binary on port 0 and wait for its `listening on` line.
pub fn spawn_serve(database_url: &str, extra_args: &[&str]) -> Result<Served, String> {
    let mut child = serve_command(database_url)
        .args(extra_args)
        .current_dir(manifest_dir())
        .env("DIMING_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let stderr_buf = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let stderr = child.stderr.take().expect("stderr");
    let sb = stderr_buf.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Ok(mut s) = sb.lock() {
                s.push_str(&line);
                s.push('\n');
            }
        }
    });
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = line.strip_prefix("listening on ") {
                let _ = tx.send(addr.trim().to_string());
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(180)) {
        Ok(base) => Ok(Served { child, base, stderr: stderr_buf }),
        Err(_) => {
            let _ = child.kill();
            let status = child.wait().ok();
            std::thread::sleep(Duration::from_millis(100));
            let err = stderr_buf.lock().map(|s| s.clone()).unwrap_or_default();
            Err(format!("serve did not start (status {status:?}): {err}"))
        }
    }
}

/// Run `diming serve` expecting it to fail; returns (exit success?, stderr).
pub fn serve_expecting_failure(database_url: &str) -> (bool, String) {
    let mut child = serve_command(database_url).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut err);
            }
            return (status.success(), err);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return (true, "still running after 120 s".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The real router, in process, on 127.0.0.1:0, over a fresh loaded SQLite file.
pub struct InProcess {
    pub base: String,
    pub state: diming::AppState,
    pub db: TestDb,
}

pub async fn start_in_process() -> InProcess {
    let db = TestDb::new("inproc");
    let store = diming::store::open(&db.url).await.expect("open");
    let ds = diming::import::dataset::load_dir(&manifest_dir().join("data/manas")).expect("dataset");
    store.load_dataset(&ds, &diming::store::Actor::system("test")).await.expect("load");
    let rules = diming::coverage::Rules::load(&manifest_dir().join("data/coverage_rules.toml")).expect("rules");
    let options = diming::AppOptions { web_dir: Some(manifest_dir().join("web")), rules, basemap: None };
    let state = diming::AppState::new(store, options).await.expect("state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = diming::app(state.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await;
    });
    InProcess { base: format!("http://{addr}"), state, db }
}

pub async fn get_json(url: &str) -> (u16, String, serde_json::Value) {
    let res = reqwest::get(url).await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = res.status().as_u16();
    let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let text = res.text().await.expect("body");
    let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {url}: not JSON ({e}): {text}"));
    (status, ct, v)
}

/// An account `username` with `role` and an API token for it, made through the store.
pub async fn api_token(store: &dyn diming::store::Store, username: &str, role: diming::domain::Role) -> String {
    let hash = diming::accounts::hash_password("correct horse battery").expect("hash");
    let new = diming::store::NewUser {
        username: username.to_string(),
        display_name: role.label_zh().into(),
        role,
        password_hash: hash,
    };
    let actor = diming::store::Actor::system("test");
    let user = store.create_user(&new, &actor).await.expect("user");
    let token = diming::accounts::new_token();
    store.create_api_token(user.id, "tests", &diming::accounts::token_hash(&token), &actor).await.expect("token");
    token
}
