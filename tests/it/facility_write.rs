//! Registering, editing, moving and closing facilities over HTTP, with accounts:
//! who may write, If-Match and 412, history, and bad input that writes nothing.

use crate::common;

use common::get_json;
use diming::domain::Role;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

struct Env {
    app: common::InProcess,
    client: Client,
    tokens: std::collections::HashMap<Role, String>,
}

/// A loaded registry with one account and API token per role.
async fn env() -> Env {
    let app = common::start_in_process().await;
    let store = app.state.store();
    let mut tokens = std::collections::HashMap::new();
    for role in [Role::Viewer, Role::Editor, Role::Approver, Role::Admin] {
        tokens.insert(role, common::api_token(store, role.as_str(), role).await);
    }
    Env { app, client: Client::new(), tokens }
}

impl Env {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app.base)
    }
    fn auth(&self, rb: reqwest::RequestBuilder, role: Option<Role>) -> reqwest::RequestBuilder {
        match role {
            Some(r) => rb.bearer_auth(&self.tokens[&r]),
            None => rb,
        }
    }
    async fn send(&self, rb: reqwest::RequestBuilder) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let res = rb.send().await.expect("send");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        (status, headers, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
    async fn create(&self, role: Option<Role>, body: Value) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        self.send(self.auth(self.client.post(self.url("/api/v1/facilities")).json(&body), role)).await
    }
    async fn patch(
        &self,
        role: Option<Role>,
        id: &str,
        etag: Option<&str>,
        body: Value,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut rb = self.client.patch(self.url(&format!("/api/v1/facilities/{id}"))).json(&body);
        if let Some(e) = etag {
            rb = rb.header("If-Match", e);
        }
        self.send(self.auth(rb, role)).await
    }
}

fn care_home_at_taxihe() -> Value {
    json!({"name": "塔西河乡敬老院", "kind": "care_home", "lon": 86.23, "lat": 43.93, "capacity_beds": 60,
           "operator": "public", "attributes": {"nursing_beds": 20, "medical_care": true}, "opened_on": "2026-11-01"})
}

#[tokio::test]
async fn each_write_endpoint_needs_an_editor_and_says_why_not() {
    let e = env().await;
    for (role, expect) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some(Role::Viewer), StatusCode::FORBIDDEN),
        (Some(Role::Editor), StatusCode::CREATED),
        (Some(Role::Approver), StatusCode::CREATED),
        (Some(Role::Admin), StatusCode::CREATED),
    ] {
        let (status, h, body) = e.create(role, care_home_at_taxihe()).await;
        assert_eq!(status, expect, "create as {role:?}: {body}");
        if status.is_client_error() {
            assert_eq!(h["content-type"], "application/problem+json");
        }
    }
    for (role, expect) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some(Role::Viewer), StatusCode::FORBIDDEN),
        (Some(Role::Editor), StatusCode::OK),
    ] {
        let (_, _, cur) = get_json(&e.url("/api/v1/facilities/f0001")).await;
        let etag = format!("\"{}\"", cur["properties"]["version"]);
        let (status, _, body) = e.patch(role, "f0001", Some(&etag), json!({"capacity_beds": 310})).await;
        assert_eq!(status, expect, "patch as {role:?}: {body}");
    }
    for (role, expect) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some(Role::Viewer), StatusCode::FORBIDDEN),
        (Some(Role::Editor), StatusCode::OK),
    ] {
        let rb = e.client.post(e.url("/api/v1/facilities/f0002/close")).json(&json!({"reason": "并入社会福利中心"}));
        let (status, _, body) = e.send(e.auth(rb, role)).await;
        assert_eq!(status, expect, "close as {role:?}: {body}");
    }
    // A wrong token is a 401, not an anonymous read.
    let (status, _, _) =
        e.send(e.client.post(e.url("/api/v1/facilities")).bearer_auth("nope").json(&care_home_at_taxihe())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_full_lifecycle_is_seen_at_once_by_nearest_coverage_and_history() {
    let e = env().await;
    let near = "/api/v1/facilities/nearest?lon=86.23&lat=43.93&kind=care_home&limit=1";
    let (_, _, before) = get_json(&e.url(near)).await;
    let (_, _, cov_before) = get_json(&e.url("/api/v1/coverage?kind=care_home&radius_m=20000")).await;

    let (status, h, f) = e.create(Some(Role::Editor), care_home_at_taxihe()).await;
    assert_eq!(status, StatusCode::CREATED, "{f}");
    let id = f["id"].as_str().expect("id").to_string();
    assert_eq!(h["etag"], "\"1\"");
    assert_eq!(h["location"], format!("/api/v1/facilities/{id}").as_str());
    assert_eq!(f["properties"]["township_code"], "652324203", "derived from the point");
    assert_eq!(f["properties"]["provenance"], "registered");
    let (_, _, after) = get_json(&e.url(near)).await;
    assert_ne!(before["features"][0]["id"], after["features"][0]["id"]);
    assert_eq!(after["features"][0]["id"], id.as_str());
    let (_, _, cov_after) = get_json(&e.url("/api/v1/coverage?kind=care_home&radius_m=20000")).await;
    let taxihe = |c: &Value| {
        c["townships"].as_array().expect("t").iter().find(|t| t["code"] == "652324203").expect("塔西河乡")
            ["population_covered"]
            .as_u64()
            .expect("n")
    };
    assert!(taxihe(&cov_after) > taxihe(&cov_before));

    // Edit, then move it into the next township, then close it.
    let (status, h, f) = e
        .patch(Some(Role::Editor), &id, Some("\"1\""), json!({"capacity_beds": 80, "operator": "public_private"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{f}");
    assert_eq!(h["etag"], "\"2\"");
    assert_eq!(f["properties"]["capacity_beds"], 80);
    let (status, _, f) = e.patch(Some(Role::Editor), &id, Some("\"2\""), json!({"lon": 86.458, "lat": 44.1994})).await;
    assert_eq!(status, StatusCode::OK, "{f}");
    assert_eq!(f["properties"]["township_code"], "652324101", "moved into 乐土驿镇");
    let rb = e
        .client
        .post(e.url(&format!("/api/v1/facilities/{id}/close")))
        .header("If-Match", "\"3\"")
        .json(&json!({"date": "2026-11-28", "reason": "撤并"}));
    let (status, _, f) = e.send(e.auth(rb, Some(Role::Editor))).await;
    assert_eq!(status, StatusCode::OK, "{f}");
    assert_eq!(f["properties"]["status"], "closed");
    assert_eq!(f["properties"]["close_reason"], "撤并");
    let (_, _, open_near) =
        get_json(&e.url("/api/v1/facilities/nearest?lon=86.458&lat=44.1994&kind=care_home&limit=1")).await;
    assert_ne!(open_near["features"][0]["id"], id.as_str(), "a closed home is not offered as nearest");
    // Closing twice is a conflict; the record is never deleted.
    let rb = e.client.post(e.url(&format!("/api/v1/facilities/{id}/close"))).json(&json!({"reason": "again"}));
    assert_eq!(e.send(e.auth(rb, Some(Role::Editor))).await.0, StatusCode::CONFLICT);
    let (status, _, still) = get_json(&e.url(&format!("/api/v1/facilities/{id}"))).await;
    assert_eq!((status, still["properties"]["status"].as_str()), (200, Some("closed")));

    let (_, _, hist) = get_json(&e.url(&format!("/api/v1/facilities/{id}/history"))).await;
    let versions = hist["versions"].as_array().expect("versions");
    let actions: Vec<&str> = versions.iter().map(|v| v["action"].as_str().expect("action")).collect();
    assert_eq!(actions, ["create", "update", "move", "close"]);
    assert!(versions.iter().all(|v| v["actor"] == "token:editor"));
    assert_eq!(versions.iter().map(|v| v["version"].as_i64().expect("v")).collect::<Vec<_>>(), [1, 2, 3, 4]);
    let audit = e.app.state.store().audit("facility", &id).await.expect("audit");
    assert_eq!(audit.len(), 4);
    assert_eq!(audit[2].before.as_ref().expect("before")["township_code"], "652324203");
}

#[tokio::test]
async fn two_concurrent_edits_one_gets_412_and_nothing_is_lost() {
    let e = env().await;
    let (a, b) = tokio::join!(
        e.patch(Some(Role::Editor), "f0004", Some("\"1\""), json!({"name": "甲敬老院"})),
        e.patch(Some(Role::Admin), "f0004", Some("\"1\""), json!({"name": "乙敬老院"})),
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::PRECONDITION_FAILED], "{} {}", a.2, b.2);
    let loser = if a.0 == StatusCode::PRECONDITION_FAILED { &a } else { &b };
    assert_eq!(loser.1["content-type"], "application/problem+json");
    let winner = if a.0 == StatusCode::OK { "甲敬老院" } else { "乙敬老院" };
    let (_, _, f) = get_json(&e.url("/api/v1/facilities/f0004")).await;
    assert_eq!(f["properties"]["name"], winner);
    let (_, _, hist) = get_json(&e.url("/api/v1/facilities/f0004/history")).await;
    assert_eq!(hist["versions"].as_array().expect("v").len(), 2);
    // Without If-Match an edit is refused outright.
    let (status, _, _) = e.patch(Some(Role::Editor), "f0004", None, json!({"name": "丙"})).await;
    assert_eq!(status, StatusCode::PRECONDITION_REQUIRED);
}

#[tokio::test]
async fn invalid_facilities_are_refused_naming_the_field_and_write_nothing() {
    let e = env().await;
    let base = care_home_at_taxihe();
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let without = |k: &str| {
        let mut b = base.clone();
        b.as_object_mut().expect("object").remove(k);
        b
    };
    for (body, status, field) in [
        (with("kind", json!("spaceport")), StatusCode::BAD_REQUEST, "kind"),
        (without("name"), StatusCode::BAD_REQUEST, "name"),
        (with("name", json!("   ")), StatusCode::BAD_REQUEST, "name"),
        (with("capacity_beds", json!(-5)), StatusCode::BAD_REQUEST, "capacity_beds"),
        (with("lon", json!(190.0)), StatusCode::BAD_REQUEST, "lon"),
        (without("lat"), StatusCode::BAD_REQUEST, "lat"),
        (with("operator", json!("state")), StatusCode::BAD_REQUEST, "operator"),
        (with("opened_on", json!("yesterday")), StatusCode::BAD_REQUEST, "opened_on"),
        (with("attributes", json!({"nursing_beds": 99})), StatusCode::UNPROCESSABLE_ENTITY, "attributes.nursing_beds"),
        (with("colour", json!("red")), StatusCode::BAD_REQUEST, "colour"),
        (with("lon", json!(116.4)), StatusCode::UNPROCESSABLE_ENTITY, "lon"),
        (with("township_code", json!("652324100")), StatusCode::UNPROCESSABLE_ENTITY, "township_code"),
    ] {
        let (got, h, p) = e.create(Some(Role::Editor), body.clone()).await;
        assert_eq!(got, status, "{body}: {p}");
        assert_eq!(h["content-type"], "application/problem+json");
        let fields: Vec<&str> =
            p["errors"].as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect();
        assert!(fields.iter().any(|f| f.starts_with(field)), "{body}: {fields:?}");
    }
    let (_, _, p) = e.create(Some(Role::Editor), with("lon", json!(116.4))).await;
    assert!(p["errors"][0]["message"].as_str().expect("m").contains("公里"), "says where it fell: {p}");
    // Nothing was written.
    let (_, _, all) = get_json(&e.url("/api/v1/facilities?limit=1")).await;
    assert_eq!(all["numberMatched"], 180);
    assert!(e.app.state.store().facility("f0181").await.expect("get").is_none());
}

#[tokio::test]
async fn a_page_session_needs_its_csrf_token_to_write_and_ends_at_logout() {
    let e = env().await;
    let (status, h, body) = e
        .send(
            e.client.post(e.url("/api/v1/session")).json(&json!({"username": "editor", "password": "wrong password!"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(h.get("set-cookie").is_none());
    let (status, h, body) = e
        .send(
            e.client
                .post(e.url("/api/v1/session"))
                .json(&json!({"username": "editor", "password": "correct horse battery"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let set_cookie = h["set-cookie"].to_str().expect("cookie");
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().expect("pair").to_string();
    let csrf = body["csrf_token"].as_str().expect("csrf").to_string();
    assert_eq!(body["user"]["role"], "editor");
    assert!(body["user"].get("password_hash").is_none());

    let post = |with_csrf: bool| {
        let mut rb = e.client.post(e.url("/api/v1/facilities")).header("cookie", &cookie).json(&care_home_at_taxihe());
        if with_csrf {
            rb = rb.header("x-csrf-token", &csrf);
        }
        rb
    };
    let (status, _, p) = e.send(post(false)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no CSRF token: {p}");
    let (status, _, f) = e.send(post(true)).await;
    assert_eq!(status, StatusCode::CREATED, "{f}");
    let (_, _, hist) = get_json(&e.url(&format!("/api/v1/facilities/{}/history", f["id"].as_str().expect("id")))).await;
    assert_eq!(hist["versions"][0]["actor"], "user:editor");

    let (status, _, me) = e.send(e.client.get(e.url("/api/v1/session")).header("cookie", &cookie)).await;
    assert_eq!((status, me["user"]["username"].as_str()), (StatusCode::OK, Some("editor")));
    let (status, _, _) = e.send(e.client.delete(e.url("/api/v1/session")).header("cookie", &cookie)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, me) = e.send(e.client.get(e.url("/api/v1/session")).header("cookie", &cookie)).await;
    assert_eq!((status, &me["user"]), (StatusCode::OK, &Value::Null), "logged out");
    let (status, _, _) = e.send(post(true)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_logged_in_officer_can_issue_an_api_token_for_an_application() {
    let e = env().await;
    let (status, _, t) = e
        .send(
            e.client
                .post(e.url("/api/v1/tokens"))
                .bearer_auth(&e.tokens[&Role::Editor])
                .json(&json!({"name": "养老地图应用"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let token = t["token"].as_str().expect("token");
    let (status, _, me) = e.send(e.client.get(e.url("/api/v1/session")).bearer_auth(token)).await;
    assert_eq!((status, me["via"].as_str()), (StatusCode::OK, Some("token")));
    let (status, _, _) = e.send(e.client.post(e.url("/api/v1/tokens")).json(&json!({"name": "x"}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[test]
fn user_add_creates_the_first_admin_who_can_then_log_in() {
    let db = common::TestDb::new("user-add");
    let url = db.url.clone();
    let run = |args: &[&str], password: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_diming"))
            .args(args)
            .args(["--database", &url])
            .env("DIMING_PASSWORD", password)
            .output()
            .expect("run")
    };
    let out = run(&["user", "add", "zhang", "--role", "admin", "--name", "张科长"], "a long enough secret");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("管理员"));
    let short = run(&["user", "add", "li"], "short");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("10"));
    let again = run(&["user", "add", "zhang"], "a long enough secret");
    assert!(!again.status.success());
    // The account works against a server on the same database.
    let rt = tokio::runtime::Runtime::new().expect("rt");
    rt.block_on(async {
        let s = common::spawn_serve(&url, &[]).expect("serve");
        let res = Client::new()
            .post(format!("{}/api/v1/session", s.base))
            .json(&json!({"username": "zhang", "password": "a long enough secret"}))
            .send()
            .await
            .expect("login");
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["user"]["role"], "admin");
        assert_eq!(body["user"]["display_name"], "张科长");
    });
}

#[tokio::test]
async fn garbage_to_close_history_patch_and_tokens_is_a_named_problem_and_writes_nothing() {
    let e = env().await;
    let close = |body: &str| {
        e.client
            .post(e.url("/api/v1/facilities/f0002/close"))
            .bearer_auth(&e.tokens[&Role::Editor])
            .header("content-type", "application/json")
            .body(body.to_string())
    };
    for (body, status, field) in [
        (r#"{"reason": "  "}"#, StatusCode::BAD_REQUEST, "reason"),
        (r#"{"reason": "撤并", "date": "28/11/2026"}"#, StatusCode::BAD_REQUEST, "date"),
        (r#"{"date": "2026-11-28"}"#, StatusCode::BAD_REQUEST, "reason"),
        ("not json", StatusCode::BAD_REQUEST, "body"),
    ] {
        let (s, h, p) = e.send(close(body)).await;
        assert_eq!(s, status, "{body}: {p}");
        assert_eq!(h["content-type"], "application/problem+json");
        let fields: Vec<&str> =
            p["errors"].as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect();
        assert!(fields.iter().any(|f| f.starts_with(field)), "{body}: {fields:?}");
    }
    let (_, _, f) = get_json(&e.url("/api/v1/facilities/f0002")).await;
    assert_eq!(f["properties"]["status"], "open", "nothing was closed");
    assert_eq!(get_json(&e.url("/api/v1/facilities/f9999/history")).await.0, 404);
    let (s, h, _) = e.patch(Some(Role::Editor), "f9999", Some("\"1\""), json!({"name": "x"})).await;
    assert_eq!((s, h["content-type"].to_str().expect("ct")), (StatusCode::NOT_FOUND, "application/problem+json"));
    let (s, _, p) = e
        .send(
            e.client
                .patch(e.url("/api/v1/facilities/f0002"))
                .bearer_auth(&e.tokens[&Role::Editor])
                .header("If-Match", "\"1\"")
                .header("content-type", "application/json")
                .body("{\"capacity_beds\":"),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{p}");
    let (s, _, p) = e.patch(Some(Role::Editor), "f0002", Some("one"), json!({"name": "x"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{p}");
    assert_eq!(p["errors"][0]["field"], "If-Match");
    let (_, _, hist) = get_json(&e.url("/api/v1/facilities/f0002/history")).await;
    assert_eq!(hist["versions"].as_array().expect("v").len(), 1, "nothing was written");
    let (s, _, p) = e
        .send(e.client.post(e.url("/api/v1/tokens")).bearer_auth(&e.tokens[&Role::Editor]).json(&json!({"name": " "})))
        .await;
    assert_eq!((s, p["errors"][0]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("name")));
    let (s, _, _) = e.send(e.client.post(e.url("/api/v1/session")).json(&json!({"username": "editor"}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "a login without a password is malformed");
}

#[test]
fn the_cli_refuses_bad_arguments_with_a_clear_message() {
    let db = common::TestDb::new("cli-bad");
    let url = db.url.clone();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_diming"))
            .args(args)
            .args(["--database", &url])
            .env("DIMING_PASSWORD", "a long enough secret")
            .output()
            .expect("run")
    };
    for (args, needle) in [
        (&["coverage", "--kind", "care_home", "--radius-m=-5"][..], "radius"),
        (&["coverage", "--kind", "care_home", "--rule", "nope"][..], "nope"),
        (&["user", "add", "li", "--role", "boss"][..], "role"),
        (&["user", "add", "  "][..], "username"),
    ] {
        let out = run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(err.contains(needle) && !err.contains("panicked"), "{args:?}: {err}");
    }
}

/// Cache validators: every data answer has an ETag and `Cache-Control: no-cache`;
/// `If-None-Match` with it is a 304 with no body until a write, then 200 with the
/// new body and a new ETag — on REST, OGC, coverage and one facility (whose ETag
/// is its version). Answers that depend on the caller carry none.
#[tokio::test]
async fn if_none_match_is_304_until_a_write_changes_the_answer() {
    let e = env().await;
    let urls = [
        "/api/v1/facilities?kind=care_home",
        "/api/v1/divisions/652324101",
        "/api/v1/coverage?kind=care_home",
        "/ogc/collections/facilities/items?limit=1000",
        "/api/v1/places?q=%E4%B9%90%E5%9C%9F%E9%A9%BF",
    ];
    let get = |url: &str, tag: Option<&str>| {
        let mut rb = e.client.get(e.url(url));
        if let Some(t) = tag {
            rb = rb.header("if-none-match", t);
        }
        rb.send()
    };
    let mut tags = Vec::new();
    for url in urls {
        let res = get(url, None).await.expect("get");
        assert_eq!(res.status(), 200, "{url}");
        let tag = res.headers().get("etag").and_then(|v| v.to_str().ok()).expect("an ETag").to_string();
        assert!(tag.starts_with('"') && tag.ends_with('"'), "a strong ETag: {tag}");
        assert_eq!(res.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-cache"), "{url}");
        let again = get(url, Some(&tag)).await.expect("get");
        assert_eq!(again.status(), 304, "{url}");
        assert_eq!(again.headers().get("etag").and_then(|v| v.to_str().ok()), Some(tag.as_str()));
        assert!(again.bytes().await.expect("body").is_empty(), "304 has no body");
        // In a list, weakly compared; a different one is answered in full.
        let listed = get(url, Some(&format!("\"0-x\", W/{tag}"))).await.expect("get");
        assert_eq!(listed.status(), 304, "{url}");
        assert_eq!(get(url, Some("\"0-x\"")).await.expect("get").status(), 200, "{url}");
        tags.push(tag);
    }
    let (_, one) = {
        let res = get("/api/v1/facilities/f0001", None).await.expect("get");
        (res.status(), res.headers().get("etag").and_then(|v| v.to_str().ok()).unwrap_or("").to_string())
    };
    assert_eq!(one, "\"1\"", "one facility keeps its version as the ETag");
    assert_eq!(get("/api/v1/facilities/f0001", Some("\"1\"")).await.expect("get").status(), 304);
    assert_eq!(get("/api/v1/facilities/f0001", Some("*")).await.expect("get").status(), 304);
    assert_eq!(get("/api/v1/facilities/f9999", Some("*")).await.expect("get").status(), 404, "* needs an answer");
    // Garbage validators are no match: the full answer, never a 304, an error or a reset.
    let huge = format!("\"{}\"", "界".repeat(20_000));
    let garbage: Vec<reqwest::header::HeaderValue> = vec![
        reqwest::header::HeaderValue::from_bytes(b"\"\xff\xfe\"").expect("opaque bytes"),
        reqwest::header::HeaderValue::from_str("<script>alert(1)</script>").expect("markup"),
        reqwest::header::HeaderValue::from_str(",,, W/ , \"\"").expect("empty tags"),
        reqwest::header::HeaderValue::from_bytes(huge.as_bytes()).expect("a 60 KB tag"),
    ];
    for value in garbage {
        let res = e.client.get(e.url(urls[0])).header("if-none-match", value).send().await.expect("answered");
        assert_eq!(res.status(), 200);
        assert!(!res.text().await.expect("body").is_empty());
    }
    let res = e.auth(e.client.get(e.url("/api/v1/users")), Some(Role::Admin)).send().await.expect("get");
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("etag").is_none(), "an answer that depends on the caller has no ETag");

    // A write: a care home in 塔西河乡, and f0001 moved.
    let (status, _, created) = e
        .send(e.auth(e.client.post(e.url("/api/v1/facilities")), Some(Role::Editor)).json(&care_home_at_taxihe()))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let new_id = created["properties"]["id"].as_str().expect("id").to_string();
    let (status, _, _) = e
        .send(
            e.auth(e.client.patch(e.url("/api/v1/facilities/f0001")), Some(Role::Editor))
                .header("if-match", "\"1\"")
                .json(&json!({"name": "乐土驿镇综合服务中心（改）"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for (url, tag) in urls.iter().zip(&tags) {
        let res = get(url, Some(tag)).await.expect("get");
        assert_eq!(res.status(), 200, "{url}: the write changed the validator");
        let fresh = res.headers().get("etag").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        assert_ne!(&fresh, tag, "{url}");
        let body = res.text().await.expect("body");
        if url.contains("facilities") {
            assert!(body.contains(&new_id), "{url}: the new body holds the new facility");
        }
        assert_eq!(get(url, Some(&fresh)).await.expect("get").status(), 304, "{url}: the new ETag is current");
    }
    let res = get("/api/v1/facilities/f0001", Some("\"1\"")).await.expect("get");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers().get("etag").and_then(|v| v.to_str().ok()), Some("\"2\""));

    // A name write alone changes the validators of the names too.
    let names = "/api/v1/places?q=%E5%87%A4%E9%B8%A3";
    let res = get(names, None).await.expect("get");
    let before = res.headers().get("etag").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let (status, _, _) = e
        .send(
            e.auth(e.client.post(e.url("/api/v1/places")), Some(Role::Editor))
                .json(&json!({"name": "凤鸣路", "category": "street", "lon": 86.215, "lat": 44.305})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let res = get(names, Some(&before)).await.expect("get");
    assert_eq!(res.status(), 200, "the proposal changed the names' validator");
    assert!(res.text().await.expect("body").contains("凤鸣路"));
}
