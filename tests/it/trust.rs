//! Trust, tested with what attackers and careless users send: input that used to
//! kill a handler, password guessing, credentials revoked and accounts deactivated,
//! the audit chain under tampering, and backups taken while clients write.

use crate::common;

use common::{api_token, start_in_process, TestDb};
use diming::domain::Role;
use serde_json::{json, Value};
use std::process::Command;

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

#[allow(clippy::panic, reason = "a test reports the request that failed")]
async fn post(url: &str, body: &Value, token: Option<&str>) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = client().post(url).json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap_or_else(|e| panic!("POST {url} {body}: the connection failed: {e}"));
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.expect("body");
    (status, headers, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Strings careless users and attackers send: multibyte characters at every byte
/// offset a code could be cut at, controls, markup, overlong and empty ones.
fn nasty_strings() -> Vec<String> {
    let mut v: Vec<String> = [
        "6é",
        "65é",
        "6523é4",
        "652324é",
        "65232410é",
        "乐土驿",
        "６５２３２４",
        "652324\u{0}",
        "\u{202e}652324",
        "652324100\u{301}",
        "😀😀😀",
        "",
        " ",
        "\t\n",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "%00",
        "\u{feff}652324",
        "65232410020１",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push("乐".repeat(5000));
    v.push("6".repeat(100_000));
    v
}

#[tokio::test]
async fn no_string_in_any_field_of_the_name_check_kills_the_handler() {
    let app = start_in_process().await;
    let url = format!("{}/api/v1/places/check", app.base);
    // The reported input first: it used to reset the connection.
    let (status, _, body) =
        post(&url, &json!({"name": "乐土驿镇", "category": "township", "division_code": "6é"}), None).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["field"], "division_code", "{body}");
    for category in ["township", "village", "river", "AAA", "乐土驿"] {
        for s in nasty_strings() {
            for body in [
                json!({"name": "乐土驿镇", "category": category, "division_code": s}),
                json!({"name": s, "category": category, "division_code": "652324100"}),
                json!({"name": "乐土驿镇", "category": category, "romanization": s, "id": s}),
                json!({"name": s, "category": s}),
            ] {
                let (status, headers, answer) = post(&url, &body, None).await;
                assert!(matches!(status, 200 | 400 | 413 | 422), "{status} for {body}: {answer}");
                if status != 200 {
                    let ct = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
                    assert_eq!(ct, "application/problem+json", "{body}");
                }
            }
        }
    }
    // An unknown category is named at the boundary, not passed to the rules.
    let (status, _, body) = post(&url, &json!({"name": "乐土驿镇", "category": "AAA"}), None).await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (400, Some("category")), "{body}");
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = start_in_process().await;
    for path in ["/", "/index.html", "/api/v1/divisions?level=county", "/nowhere", "/ogc"] {
        let res = client().get(format!("{}{path}", app.base)).send().await.expect("get");
        let h = res.headers();
        let csp = h.get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{path}: {csp}");
        assert_eq!(h.get("x-content-type-options").map(|v| v.as_bytes()), Some(&b"nosniff"[..]), "{path}");
        assert!(h.get("referrer-policy").is_some(), "{path}");
    }
}

#[tokio::test]
async fn password_guessing_is_answered_with_429_and_the_real_user_gets_in_after_the_wait() {
    let app = start_in_process().await;
    let password = "the real password 2026";
    let new = diming::store::NewUser {
        username: "officer".into(),
        display_name: "经办人".into(),
        role: Role::Editor,
        password_hash: diming::accounts::hash_password(password).expect("hash"),
    };
    app.state.store().create_user(&new, &diming::store::Actor::system("test")).await.expect("user");
    let url = format!("{}/api/v1/session", app.base);
    let mut first_429 = None;
    let mut retry_after = 0;
    for i in 1..=50 {
        let (status, headers, body) =
            post(&url, &json!({"username": "officer", "password": format!("guess {i}")}), None).await;
        assert!(matches!(status, 401 | 429), "try {i}: {status} {body}");
        if status == 429 && first_429.is_none() {
            first_429 = Some(i);
            retry_after =
                headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0);
            assert_eq!(body["type"], "/problems/too-many-requests", "{body}");
        }
    }
    let first = first_429.expect("50 wrong passwords were never throttled");
    assert!(first < 10, "the first 429 came at try {first}");
    assert!((1..=900).contains(&retry_after), "Retry-After: {retry_after}");
    // Even the right password waits while the account is throttled…
    let (status, headers, _) = post(&url, &json!({"username": "officer", "password": password}), None).await;
    assert_eq!(status, 429);
    // …and works once the wait it names is over. (Throttled tries are held a moment
    // and not checked; a try after a wait has lapsed is, and a wrong one doubles it.)
    let wait: u64 = headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0);
    assert!((1..=60).contains(&wait), "Retry-After after 50 tries: {wait}");
    tokio::time::sleep(std::time::Duration::from_secs(wait + 1)).await;
    let (status, _, body) = post(&url, &json!({"username": "officer", "password": password}), None).await;
    assert_eq!(status, 200, "{body}");
    // Another account from the same test address was not locked out by one account's guesses.
    let (status, _, _) = post(&url, &json!({"username": "nobody", "password": "wrong password"}), None).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn revoked_tokens_ended_sessions_and_deactivated_accounts_stop_working_at_once() {
    let app = start_in_process().await;
    let store = app.state.store();
    let admin = api_token(store, "admin", Role::Admin).await;
    let editor = api_token(store, "editor", Role::Editor).await;
    let whoami = |t: String| {
        let base = app.base.clone();
        async move {
            let res = client().get(format!("{base}/api/v1/tokens")).bearer_auth(t).send().await.expect("get");
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, mine) = whoami(editor.clone()).await;
    assert_eq!(status, 200, "{mine}");
    let tokens = mine["tokens"].as_array().expect("tokens");
    assert_eq!(tokens.len(), 1, "an editor sees only their own tokens: {mine}");
    assert!(mine.to_string().find(&editor).is_none(), "a listing never shows the token itself");
    let id = tokens[0]["id"].as_str().expect("id").to_string();
    // An editor may not list everybody's, nor revoke another's; malformed ids are 400.
    let res =
        client().get(format!("{}/api/v1/tokens?all=true", app.base)).bearer_auth(&editor).send().await.expect("get");
    assert_eq!(res.status(), 403);
    let (_, all) = whoami(admin.clone()).await;
    let admin_id = all["tokens"][0]["id"].as_str().expect("id").to_string();
    let res = client()
        .delete(format!("{}/api/v1/tokens/{admin_id}", app.base))
        .bearer_auth(&editor)
        .send()
        .await
        .expect("del");
    assert_eq!(res.status(), 403);
    for bad in ["zz", "乐土驿镇乐土驿镇乐土驿镇", "0123456789abcdef", "%2e%2e"] {
        let res =
            client().delete(format!("{}/api/v1/tokens/{bad}", app.base)).bearer_auth(&admin).send().await.expect("del");
        assert!(matches!(res.status().as_u16(), 400 | 404 | 405), "{bad}: {}", res.status());
    }
    // The admin revokes the editor's token: the next request with it is 401.
    let res =
        client().delete(format!("{}/api/v1/tokens/{id}", app.base)).bearer_auth(&admin).send().await.expect("del");
    assert_eq!(res.status(), 200);
    assert_eq!(whoami(editor).await.0, 401);

    // Deactivation: a second editor with a token and a live session.
    let editor2 = api_token(store, "editor2", Role::Editor).await;
    let login = client()
        .post(format!("{}/api/v1/session", app.base))
        .json(&json!({"username": "editor2", "password": "correct horse battery"}))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 200);
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .to_string();
    let res =
        client().get(format!("{}/api/v1/sessions", app.base)).header("cookie", &cookie).send().await.expect("get");
    let sessions: Value = res.json().await.expect("json");
    assert_eq!(sessions["sessions"].as_array().map(Vec::len), Some(1), "{sessions}");
    let res = client()
        .post(format!("{}/api/v1/users/editor2/deactivate", app.base))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 200);
    assert_eq!(whoami(editor2).await.0, 401, "the token of a deactivated account stops at once");
    let res = client().get(format!("{}/api/v1/session", app.base)).header("cookie", &cookie).send().await.expect("get");
    let me: Value = res.json().await.expect("json");
    assert_eq!(me["user"], Value::Null, "the session of a deactivated account is over: {me}");
    // An admin cannot lock themselves out.
    let res = client()
        .post(format!("{}/api/v1/users/admin/deactivate", app.base))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 409);
    // Every one of these changes is in the audit.
    let head = store.change_marker().await.expect("marker");
    let res = client()
        .get(format!("{}/api/v1/audit?after={}&limit=1000", app.base, head - 20))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("get");
    let audit: Value = res.json().await.expect("json");
    assert_eq!(audit["next_after"], Value::Null, "the last page says so: {audit}");
    assert!(
        audit["entries"]
            .as_array()
            .is_some_and(|e| e.len() == 20 && e.iter().all(|e| e["hash"].as_str().is_some_and(|h| h.len() == 64))),
        "{audit}"
    );
    let actions: Vec<&str> =
        audit["entries"].as_array().expect("entries").iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"revoke") && actions.contains(&"deactivate"), "{actions:?}");
}

fn diming(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_diming"))
        .args(args)
        .current_dir(common::manifest_dir())
        .output()
        .expect("run diming");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[tokio::test]
async fn audit_verify_passes_on_a_busy_registry_and_names_the_entry_edited_by_hand() {
    let db = TestDb::new("audit-chain");
    let served = common::spawn_serve(&db.url, &[]).expect("serve");
    let (ok, out, err) = diming(&["audit", "verify", "--database", &db.url]);
    assert!(ok, "a fresh registry verifies: {out}{err}");
    // Busy: writes from several clients at once.
    let store = diming::store::open(&db.url).await.expect("open");
    let token = api_token(store.as_ref(), "editor", Role::Editor).await;
    let mut writers = Vec::new();
    for w in 0..8 {
        let (base, token) = (served.base.clone(), token.clone());
        writers.push(tokio::spawn(async move {
            for i in 0..10 {
                let body = json!({"name": format!("测试服务站{w}-{i}"), "kind": "community_service", "lon": 86.23 + 0.0001 * f64::from(i), "lat": 43.93});
                let res = client().post(format!("{base}/api/v1/facilities")).bearer_auth(&token).json(&body).send().await.expect("post");
                assert_eq!(res.status(), 201);
            }
        }));
    }
    for w in writers {
        w.await.expect("writer");
    }
    let (ok, out, err) = diming(&["audit", "verify", "--database", &db.url]);
    assert!(ok, "a busy registry verifies: {out}{err}");
    assert!(out.contains("条记录"), "{out}");
    // One row edited by hand, as someone with database access would.
    let victim: i64 = 42;
    if db.is_postgres() {
        let url = db.url.clone();
        common::psql(&url, &format!("UPDATE audit SET actor = 'user:someone-else' WHERE id = {victim}"));
    } else {
        let path = db.url.trim_start_matches("sqlite://");
        let out = Command::new("python3")
            .args(["-c", &format!("import sqlite3; c = sqlite3.connect('{path}'); c.execute(\"UPDATE audit SET actor = 'user:someone-else' WHERE id = {victim}\"); c.commit()")])
            .output()
            .expect("python3");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let (ok, out, err) = diming(&["audit", "verify", "--database", &db.url]);
    assert!(!ok, "an edited entry must fail verification: {out}");
    assert!(err.contains(&format!("审计记录 {victim} ")), "names the entry: {err}");
    drop(served);
}

#[tokio::test]
async fn a_backup_taken_while_clients_write_restores_to_that_moment_with_its_chain() {
    // SQLite: `VACUUM INTO` while the service writes; PostgreSQL: `pg_dump`, restored with
    // `pg_restore` into a new database.
    let db = TestDb::new("backup");
    let served = common::spawn_serve(&db.url, &[]).expect("serve");
    let store = diming::store::open(&db.url).await.expect("open");
    let token = api_token(store.as_ref(), "editor", Role::Editor).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..8 {
        let (base, token, stop) = (served.base.clone(), token.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) && i < 400 {
                let body = json!({"name": format!("备份测试站{w}-{i}"), "kind": "community_service", "lon": 86.23, "lat": 43.93});
                let res = client().post(format!("{base}/api/v1/facilities")).bearer_auth(&token).json(&body).send().await.expect("post");
                assert_eq!(res.status(), 201);
                i += 1;
            }
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let dir = common::TempDir::new("backup-out");
    let file = dir.path().join(if db.is_postgres() { "backup.dump" } else { "backup.db" });
    let file_s = file.to_string_lossy().to_string();
    let (ok, out, err) = diming(&["backup", "--output", &file_s, "--database", &db.url]);
    assert!(ok, "backup while writing: {out}{err}");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for w in writers {
        w.await.expect("writer");
    }
    drop(served);
    // Restore into a new place, then compare with the source as it was at the backup's
    // last audit entry: every facility the backup holds is the source's version as of
    // then, and every facility created up to then is there.
    let target_db = db.is_postgres().then(|| TestDb::new("restored"));
    let target = target_db.as_ref().map_or_else(|| dir.sqlite_url("restored.db"), |t| t.url.clone());
    let (ok, out, err) = diming(&["restore", &file_s, "--database", &target]);
    assert!(ok, "restore: {out}{err}");
    let restored = diming::store::open(&target).await.expect("open restored");
    let (ok, out, err) = diming(&["audit", "verify", "--database", &target]);
    assert!(ok, "the restored chain verifies: {out}{err}");
    let head = restored.change_marker().await.expect("marker");
    let source_audit = store.audit_page(0, 1_000_000).await.expect("audit");
    assert!(source_audit.len() as i64 > head, "the writers went on after the backup, so the source is ahead");
    let created_by_then: std::collections::BTreeSet<String> = source_audit
        .iter()
        .filter(|e| e.id <= head && e.entity == "facility" && matches!(e.action.as_str(), "create" | "load"))
        .map(|e| e.entity_id.clone())
        .collect();
    let held: std::collections::BTreeSet<String> =
        restored.facilities().await.expect("facilities").into_iter().map(|f| f.id.to_string()).collect();
    assert_eq!(held, created_by_then);
    assert!(held.len() > 180, "some writes landed before the backup: {}", held.len());
    // A file that is not a registry is refused, and nothing is replaced.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database").expect("write");
    let (ok, _, err) = diming(&["restore", &junk.to_string_lossy(), "--database", &target]);
    assert!(!ok && err.contains("diming"), "{err}");
    assert!(diming(&["audit", "verify", "--database", &target]).0, "the target was left as it was");
}

#[tokio::test]
async fn the_credential_and_audit_endpoints_and_commands_refuse_garbage_clearly() {
    let app = start_in_process().await;
    let admin = api_token(app.state.store(), "admin", Role::Admin).await;
    let marker = app.state.store().change_marker().await.expect("marker");
    for path in [
        "/api/v1/audit?after=乐土驿",
        "/api/v1/audit?after=-1",
        "/api/v1/audit?limit=0",
        "/api/v1/audit?limit=99999999999999999999999",
        "/api/v1/audit?after=1%00",
        "/api/v1/audit?bogus=1",
        "/api/v1/tokens?all=maybe",
        "/api/v1/sessions?all=",
    ] {
        let res = client().get(format!("{}{path}", app.base)).bearer_auth(&admin).send().await.expect("get");
        assert_eq!(res.status().as_u16(), 400, "{path}");
        assert_eq!(
            res.headers().get("content-type").and_then(|v| v.to_str().ok()),
            Some("application/problem+json"),
            "{path}"
        );
    }
    let long = "乐".repeat(3000);
    for name in ["%3Cscript%3Ealert(1)%3C%2Fscript%3E", "%E4%B9%90%00", long.as_str()] {
        let res = client()
            .post(format!("{}/api/v1/users/{name}/deactivate", app.base))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("post");
        assert!(matches!(res.status().as_u16(), 404 | 414 | 400), "{name}: {}", res.status());
    }
    assert_eq!(app.state.store().change_marker().await.expect("marker"), marker, "nothing was written");

    let db = TestDb::new("cli-garbage");
    let dir = common::TempDir::new("cli-garbage");
    let existing = dir.path().join("exists.db");
    std::fs::write(&existing, b"keep me").expect("write");
    let existing_s = existing.to_string_lossy().to_string();
    for args in [
        vec!["user", "revoke-token", "乐土驿镇<script>", "--database", &db.url],
        vec!["user", "end-session", "0123456789abcdef0", "--database", &db.url],
        vec!["user", "deactivate", "nobody\u{202e}", "--database", &db.url],
        vec!["backup", "--output", &existing_s, "--database", &db.url],
        vec!["audit", "verify", "--database", "sqlite:///nonexistent-dir/乐/x.db"],
    ] {
        let (ok, _, err) = diming(&args);
        assert!(!ok && err.contains("错误"), "{args:?}: {err}");
    }
    assert_eq!(
        std::fs::read(&existing).expect("read"),
        b"keep me",
        "an existing file is never overwritten by a backup"
    );
}

/// A value of `schema` (resolving `$ref`s into `doc`): its example, its first
/// enumerated value, or the simplest value of its type; objects get every property.
fn sample(doc: &Value, schema: &Value, depth: usize) -> Value {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or_default();
        return sample(doc, &doc["components"]["schemas"][name], depth);
    }
    if let Some(e) = schema.get("example") {
        return e.clone();
    }
    if let Some(first) = schema.get("enum").and_then(|e| e.get(0)) {
        return first.clone();
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(first) = schema
            .get(key)
            .and_then(|e| e.as_array())
            .and_then(|a| a.iter().find(|s| s.get("type").and_then(Value::as_str) != Some("null")).or(a.first()))
        {
            return sample(doc, first, depth);
        }
    }
    let ty = match schema.get("type") {
        Some(Value::Array(types)) => types.iter().filter_map(Value::as_str).find(|t| *t != "null").unwrap_or("null"),
        Some(Value::String(t)) => t.as_str(),
        _ if schema.get("properties").is_some() => "object",
        _ => "string",
    };
    match ty {
        "object" if depth < 4 => Value::Object(
            schema
                .get("properties")
                .and_then(Value::as_object)
                .map(|p| p.iter().map(|(k, s)| (k.clone(), sample(doc, s, depth + 1))).collect())
                .unwrap_or_default(),
        ),
        "array" if depth < 4 => json!([sample(doc, schema.get("items").unwrap_or(&Value::Null), depth + 1)]),
        "integer" => json!(schema.get("minimum").and_then(Value::as_i64).unwrap_or(1)),
        "number" => json!(schema.get("minimum").and_then(Value::as_f64).unwrap_or(1.0)),
        "boolean" => json!(false),
        "null" => Value::Null,
        _ => json!("x"),
    }
}

/// The JSON paths of every string leaf of a sample body.
fn string_leaves(v: &Value, path: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    match v {
        Value::String(_) => out.push(path.clone()),
        Value::Object(m) => {
            for (k, x) in m {
                path.push(json!(k));
                string_leaves(x, path, out);
                path.pop();
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                path.push(json!(i));
                string_leaves(x, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn set_at(v: &mut Value, path: &[Value], to: &str) {
    let mut here = v;
    for step in path {
        here = match step {
            Value::String(k) => &mut here[k.as_str()],
            Value::Number(i) => &mut here[usize::try_from(i.as_u64().unwrap_or(0)).unwrap_or(0)],
            _ => return,
        };
    }
    *here = json!(to);
}

#[tokio::test]
#[allow(clippy::panic, reason = "a test reports the request that failed")]
async fn no_hostile_string_in_any_parameter_or_body_field_of_any_operation_kills_a_handler() {
    let app = start_in_process().await;
    let admin = api_token(app.state.store(), "admin", Role::Admin).await;
    let doc: Value = client()
        .get(format!("{}/api/v1/openapi.json", app.base))
        .send()
        .await
        .expect("doc")
        .json()
        .await
        .expect("json");
    let strings = {
        let mut s = nasty_strings();
        s.extend(
            ["乐土驿镇\u{7}", "e\u{301}\u{301}\u{301}", "𠀀𪚥", "\\u0000", "../../etc/passwd", "NaN", "-0"]
                .map(String::from),
        );
        s
    };
    let mut sent = 0usize;
    let mut operations = 0usize;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("operation") {
            if !matches!(method.as_str(), "get" | "post" | "patch" | "put" | "delete") {
                continue;
            }
            operations += 1;
            let params: Vec<&Value> = op["parameters"].as_array().map(|a| a.iter().collect()).unwrap_or_default();
            let param_sample = |p: &Value| -> String {
                match sample(&doc, &p["schema"], 0) {
                    Value::String(s) => s,
                    Value::Array(a) => a
                        .iter()
                        .map(|x| x.as_str().map(String::from).unwrap_or(x.to_string()))
                        .collect::<Vec<_>>()
                        .join(","),
                    other => other.to_string(),
                }
            };
            let body_schema = &op["requestBody"]["content"]["application/json"]["schema"];
            let body = (!body_schema.is_null()).then(|| sample(&doc, body_schema, 0));
            // One request per (field, string): the field hostile, everything else its sample.
            let mut cases: Vec<(Option<String>, Option<Vec<Value>>)> = Vec::new();
            for p in &params {
                if matches!(p["in"].as_str(), Some("path" | "query")) {
                    cases.push((p["name"].as_str().map(String::from), None));
                }
            }
            if let Some(b) = &body {
                let mut leaves = Vec::new();
                string_leaves(b, &mut Vec::new(), &mut leaves);
                cases.extend(leaves.into_iter().map(|l| (None, Some(l))));
            }
            for (param, leaf) in &cases {
                for s in &strings {
                    if param.is_some() && s.len() > 20_000 {
                        continue; // longer than a URI can be (http's limit is 64 kB)
                    }
                    let value_of = |p: &Value| {
                        if p["name"].as_str() == param.as_deref() {
                            s.clone()
                        } else {
                            param_sample(p)
                        }
                    };
                    let mut url_path = app.base.clone();
                    let mut rest = path.clone();
                    for p in params.iter().filter(|p| p["in"] == "path") {
                        let name = p["name"].as_str().unwrap_or_default();
                        let v = value_of(p);
                        let enc =
                            percent_encoding::utf8_percent_encode(&v, percent_encoding::NON_ALPHANUMERIC).to_string();
                        rest = rest.replace(&format!("{{{name}}}"), &enc);
                    }
                    url_path.push_str(&rest);
                    let query: Vec<(String, String)> = params
                        .iter()
                        .filter(|p| {
                            p["in"] == "query" && (p["required"] == true || p["name"].as_str() == param.as_deref())
                        })
                        .map(|p| (p["name"].as_str().unwrap_or_default().to_string(), value_of(p)))
                        .collect();
                    let mut req = client()
                        .request(method.to_uppercase().parse().expect("method"), &url_path)
                        .query(&query)
                        .bearer_auth(&admin)
                        .header("if-match", "\"1\"");
                    if let Some(b) = &body {
                        let mut b = b.clone();
                        if let Some(l) = leaf {
                            set_at(&mut b, l, s);
                        }
                        req = req.json(&b);
                    }
                    let what = format!(
                        "{} {path} {param:?} {leaf:?} = {:?}",
                        method.to_uppercase(),
                        s.chars().take(20).collect::<String>()
                    );
                    let res = req
                        .send()
                        .await
                        .unwrap_or_else(|e| panic!("{what}: the connection failed: {}", e.without_url()));
                    let status = res.status().as_u16();
                    let ctype =
                        res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                    let text = res.text().await.unwrap_or_else(|e| panic!("{what}: the answer broke off: {e}"));
                    assert!(status < 500, "{what}: {status} {text}");
                    if status >= 400 && !matches!(status, 414 | 431) {
                        assert_eq!(ctype, "application/problem+json", "{what}: {status} {text}");
                    }
                    sent += 1;
                }
            }
        }
    }
    assert!(operations >= 40, "the document lists the operations ({operations})");
    assert!(sent >= 2000, "every field was tried ({sent} requests)");
}

#[tokio::test]
async fn short_positions_and_nul_characters_in_bodies_and_files_are_named_never_a_500() {
    let app = start_in_process().await;
    let editor = api_token(app.state.store(), "editor", Role::Editor).await;
    let marker = app.state.store().change_marker().await.expect("marker");
    // A position of one number used to panic in the GeoJSON conversion.
    let (status, _, p) = post(
        &format!("{}/api/v1/places", app.base),
        &json!({"name": "乐土驿镇", "category": "township",
                "geometry": {"type": "MultiPolygon", "coordinates": [[[[0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]]]}}),
        Some(&editor),
    )
    .await;
    assert_eq!((status, p["errors"][0]["field"].as_str()), (400, Some("geometry")), "{p}");
    let (status, _, p) = post(
        &format!("{}/api/v1/places", app.base),
        &json!({"name": "乐土驿\u{0}镇", "category": "township"}),
        Some(&editor),
    )
    .await;
    assert_eq!((status, p["errors"][0]["field"].as_str()), (400, Some("name")), "{p}");
    let import = |body: String, ctype: &'static str| {
        let url = format!("{}/api/v1/import?layer=facilities", app.base);
        let editor = editor.clone();
        async move {
            let res = client()
                .post(url)
                .bearer_auth(editor)
                .header("content-type", ctype)
                .body(body)
                .send()
                .await
                .expect("the connection held");
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.expect("problem+json"))
        }
    };
    let geojson = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "乐土驿镇敬老院", "kind": "care_home"}, "geometry": {"type": "Point", "coordinates": [86.2]}}
    ]});
    let (status, p) = import(geojson.to_string(), "application/geo+json").await;
    assert_eq!((status, p["errors"][0]["row"].as_u64()), (422, Some(1)), "{p}");
    let csv = "名称,类型,经度,纬度\n乐土驿镇\u{0}敬老院,care_home,86.23,43.93\n".to_string();
    let (status, p) = import(csv, "text/csv").await;
    // A CSV's rows count from its header line.
    assert_eq!(
        (status, p["errors"][0]["row"].as_u64(), p["errors"][0]["field"].as_str()),
        (422, Some(2), Some("name")),
        "{p}"
    );
    assert_eq!(app.state.store().change_marker().await.expect("marker"), marker, "nothing was written");
}
