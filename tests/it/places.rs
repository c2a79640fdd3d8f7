//! Place names for zoning officers, over HTTP: search, every naming rule (one case
//! refused, one passing), the lifecycle proposed → approved → renamed | retired,
//! who may do what, concurrent edits, and the announcements.

use crate::common;

use common::get_json;
use diming::domain::Role;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

struct Env {
    app: common::InProcess,
    client: Client,
    tokens: std::collections::HashMap<String, String>,
}

async fn env() -> Env {
    let app = common::start_in_process().await;
    let store = app.state.store();
    let mut tokens = std::collections::HashMap::new();
    for (name, role) in [
        ("viewer", Role::Viewer),
        ("editor", Role::Editor),
        ("editor2", Role::Editor),
        ("approver", Role::Approver),
        ("admin", Role::Admin),
    ] {
        tokens.insert(name.to_string(), common::api_token(store, name, role).await);
    }
    Env { app, client: Client::new(), tokens }
}

impl Env {
    fn url(&self, p: &str) -> String {
        format!("{}{p}", self.app.base)
    }
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        who: Option<&str>,
        body: Option<Value>,
        etag: Option<&str>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut rb = self.client.request(method, self.url(path));
        if let Some(w) = who {
            rb = rb.bearer_auth(&self.tokens[w]);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        if let Some(e) = etag {
            rb = rb.header("If-Match", e);
        }
        let res = rb.send().await.expect("send");
        let (s, h) = (res.status(), res.headers().clone());
        let text = res.text().await.expect("text");
        (s, h, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
    async fn post(
        &self,
        path: &str,
        who: Option<&str>,
        body: Value,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        self.call(reqwest::Method::POST, path, who, Some(body), None).await
    }
    async fn check(&self, body: Value) -> Value {
        let (s, _, v) = self.post("/api/v1/places/check", None, body).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }
}

fn rules_of(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| format!("{}:{}", f["rule"].as_str().unwrap_or(""), f["severity"].as_str().unwrap_or("")))
        .collect()
}

#[tokio::test]
async fn search_finds_names_by_chinese_pinyin_initials_and_with_one_typo() {
    let e = env().await;
    let names = |v: &Value| {
        v["features"]
            .as_array()
            .expect("f")
            .iter()
            .map(|f| f["properties"]["name"].as_str().expect("n").to_string())
            .collect::<Vec<_>>()
    };
    let (_, _, v) = get_json(&e.url("/api/v1/places?q=乐土驿")).await;
    assert_eq!(names(&v)[0], "乐土驿镇");
    let (_, _, v) = get_json(&e.url("/api/v1/places?q=ltyz")).await;
    assert_eq!(names(&v)[0], "乐土驿镇");
    assert_eq!(v["features"][0]["properties"]["match"], "exact");
    let (_, _, v) = get_json(&e.url("/api/v1/places?q=Letuyi%20Zhen")).await;
    assert_eq!(names(&v)[0], "乐土驿镇");
    let (_, _, v) = get_json(&e.url("/api/v1/places?q=letuyu")).await;
    assert_eq!(names(&v)[0], "乐土驿镇", "one typo");
    let (_, _, v) = get_json(&e.url("/api/v1/places?q=乐士驿镇")).await;
    assert_eq!(names(&v)[0], "乐土驿镇", "one wrong character");
    let (_, _, v) = get_json(&e.url("/api/v1/places?category=township&limit=100")).await;
    assert_eq!(v["numberMatched"], 19);
    let (_, _, v) = get_json(&e.url("/api/v1/places?q=玛纳斯&category=river")).await;
    assert_eq!(names(&v), ["玛纳斯河"]);
    let (status, _, _) = get_json(&e.url("/api/v1/places?category=galaxy")).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn every_naming_rule_refuses_one_name_and_passes_another() {
    let e = env().await;
    let cases: &[(&str, &str, &str, &str)] = &[
        // (name, category, division, expected "rule:severity" or "" for a clean pass)
        ("乐土驿镇", "township", "652324102", "duplicate_in_scope:error"),
        ("城关镇", "township", "652324102", "duplicate_in_scope:error"), // 城关镇 is 652302101 in Fukang (NBS)
        ("凤鸣镇", "township", "652324102", ""),
        ("楼南村", "village", "652324101", "duplicate_in_scope:error"),
        ("楼南新村", "village", "652324101", ""),
        ("乐土义镇", "township", "652324102", "homophone_in_scope:warning"),
        ("A区1号路", "street", "652324100", "non_standard_characters:error"),
        ("一号路", "street", "652324100", ""),
        ("中山路", "street", "652324100", "personal_name:error"),
        ("中兴路", "street", "652324100", ""),
        ("维也纳小区", "settlement", "652324100", "foreign_name:error"),
        ("天山小区", "settlement", "652324100", ""),
        ("新安镇", "river", "652324100", "generic_term_category:error"),
        ("新安河", "river", "652324100", ""),
        ("新安", "river", "652324100", "generic_term_missing:warning"),
    ];
    for (name, cat, div, expect) in cases {
        let v = e.check(json!({"name": name, "category": cat, "division_code": div})).await;
        let rules = rules_of(&v);
        if expect.is_empty() {
            assert!(rules.is_empty(), "{name}: {rules:?}");
            assert_eq!(v["ok"], true);
        } else {
            assert!(rules.iter().any(|r| r == expect), "{name}: {rules:?}, expected {expect}");
            assert_eq!(v["ok"], !expect.ends_with(":error"), "{name}");
        }
        assert!(v["romanization"].as_str().is_some_and(|r| !r.is_empty()));
    }
    // Romanization: the suggestion follows the spelling rules; an officer's must be well-formed.
    let v = e.check(json!({"name": "凤鸣镇", "category": "township", "division_code": "652324102"})).await;
    assert_eq!(v["romanization"], "Fengming Zhen");
    let v = e.check(json!({"name": "凤鸣镇", "category": "township", "division_code": "652324102", "romanization": "fengming zhen"})).await;
    assert!(rules_of(&v).contains(&"romanization_format:error".to_string()));
    let v = e.check(json!({"name": "凤鸣镇", "category": "township", "division_code": "652324102", "romanization": "Fengming Zhen"})).await;
    assert_eq!(v["ok"], true);
    let c = e.check(json!({"name": "乐土驿镇", "category": "township", "division_code": "652324102"})).await;
    let conflicts = c["findings"][0]["conflicts"].as_array().expect("conflicts");
    assert!(conflicts.iter().any(|x| x == "nbs:652324101"), "{c}");
}

#[tokio::test]
async fn the_lifecycle_proposed_approved_renamed_retired_keeps_every_version() {
    let e = env().await;
    let (s, h, p) = e
        .post(
            "/api/v1/places",
            Some("editor"),
            json!({"name": "凤鸣路", "category": "street", "lon": 86.215, "lat": 44.305, "origin": "取“凤鸣朝阳”之意"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let id = p["id"].as_str().expect("id").to_string();
    assert_eq!(h["etag"], "\"1\"");
    assert_eq!(p["properties"]["status"], "proposed");
    assert_eq!(p["properties"]["division_code"], "652324100", "derived from the point");
    assert_eq!(p["properties"]["romanization"], "Fengming Lu");
    // The proposer cannot approve it; a viewer cannot either.
    let decision =
        json!({"approving_body": "玛纳斯县人民政府", "document_no": "玛政函〔2026〕18号", "date": "2026-11-20"});
    assert_eq!(
        e.post(&format!("/api/v1/places/{id}/approve"), Some("viewer"), decision.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    let (s, _, _) = e
        .post(&format!("/api/v1/places/{id}/approve"), Some("admin"), json!({"approving_body": "", "document_no": "x"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "approving body required");
    let (s, _, a) = e.post(&format!("/api/v1/places/{id}/approve"), Some("approver"), decision.clone()).await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert_eq!(a["properties"]["status"], "approved");
    assert_eq!(a["properties"]["decided_by"], "approver");
    // An officer corrects the romanization; the correction is kept.
    let (s, _, c) = e
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/places/{id}"),
            Some("editor"),
            Some(json!({"romanization": "Fengming Lu"})),
            Some("\"2\""),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["properties"]["romanization_source"], "officer");
    // An approved name is not renamed by editing.
    let (s, _, _) = e
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/places/{id}"),
            Some("editor"),
            Some(json!({"name": "凤翔路"})),
            Some("\"3\""),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    // Renaming: propose, then approve; the old record points to its successor.
    let (s, _, r) = e.post(&format!("/api/v1/places/{id}/rename"), Some("editor2"), json!({"name": "凤翔路"})).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let new_id = r["id"].as_str().expect("id").to_string();
    let (s, _, _) = e
        .post(
            &format!("/api/v1/places/{new_id}/approve"),
            Some("approver"),
            json!({"approving_body": "玛纳斯县人民政府", "document_no": "玛政函〔2026〕21号", "date": "2026-11-25"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, _, old) = get_json(&e.url(&format!("/api/v1/places/{id}"))).await;
    assert_eq!(old["properties"]["status"], "renamed");
    assert_eq!(old["properties"]["successor_id"], new_id.as_str());
    let (_, _, new) = get_json(&e.url(&format!("/api/v1/places/{new_id}"))).await;
    assert_eq!(new["properties"]["predecessor_id"], id.as_str());
    assert_eq!(new["properties"]["historic_names"], json!(["凤鸣路"]));
    // Search ranks the approved name before the renamed one.
    let (_, _, v) = get_json(&e.url("/api/v1/places?q=凤")).await;
    let order: Vec<&str> =
        v["features"].as_array().expect("f").iter().map(|f| f["properties"]["status"].as_str().expect("s")).collect();
    assert_eq!(order.first(), Some(&"approved"), "{order:?}");
    // Retire it; it still resolves.
    let (s, _, t) = e.post(&format!("/api/v1/places/{new_id}/retire"), Some("approver"), json!({"approving_body": "玛纳斯县人民政府", "document_no": "玛政函〔2026〕30号", "reason": "道路改造后并入天山路"})).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let (s, _, gone) = get_json(&e.url(&format!("/api/v1/places/{new_id}"))).await;
    assert_eq!((s, gone["properties"]["status"].as_str()), (200, Some("retired")));
    // The same name again is allowed, with a warning about the retired one.
    let v = e.check(json!({"name": "凤翔路", "category": "street", "division_code": "652324100"})).await;
    assert!(rules_of(&v).contains(&"reuses_retired_name:warning".to_string()), "{v}");
    // Every version is kept.
    let (_, _, h1) = get_json(&e.url(&format!("/api/v1/places/{id}/history"))).await;
    let actions: Vec<&str> =
        h1["versions"].as_array().expect("v").iter().map(|v| v["action"].as_str().expect("a")).collect();
    assert_eq!(actions, ["create", "approve", "update", "rename"]);
    let (_, _, h2) = get_json(&e.url(&format!("/api/v1/places/{new_id}/history"))).await;
    let actions: Vec<&str> =
        h2["versions"].as_array().expect("v").iter().map(|v| v["action"].as_str().expect("a")).collect();
    assert_eq!(actions, ["create", "approve", "retire"]);
}

#[tokio::test]
async fn a_refused_name_gets_422_with_its_findings_and_writes_nothing() {
    let e = env().await;
    let (s, h, p) = e
        .post(
            "/api/v1/places",
            Some("editor"),
            json!({"name": "曼哈顿花园小区", "category": "settlement", "division_code": "652324100"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(h["content-type"], "application/problem+json");
    assert_eq!(p["findings"][0]["rule"], "foreign_name");
    assert!(p["errors"][0]["message"].as_str().expect("m").contains("外国"));
    let (s, _, p) = e.post("/api/v1/places", Some("editor"), json!({"category": "street"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{p}");
    let (_, _, v) = get_json(&e.url("/api/v1/places?status=proposed")).await;
    assert_eq!(v["numberMatched"], 0);
}

#[tokio::test]
async fn who_may_write_names_each_endpoint_and_role() {
    let e = env().await;
    let mut n = 0;
    let mut fresh = || {
        n += 1;
        format!("测{}路", ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "百", "千"][n % 12])
            + &"甲".repeat(n / 12)
    };
    for (who, propose, approve, retire) in [
        (None, StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED),
        (Some("viewer"), StatusCode::FORBIDDEN, StatusCode::FORBIDDEN, StatusCode::FORBIDDEN),
        (Some("editor"), StatusCode::CREATED, StatusCode::FORBIDDEN, StatusCode::FORBIDDEN),
        (Some("approver"), StatusCode::CREATED, StatusCode::OK, StatusCode::OK),
        (Some("admin"), StatusCode::CREATED, StatusCode::OK, StatusCode::OK),
    ] {
        let (s, _, _) = e
            .post("/api/v1/places", who, json!({"name": fresh(), "category": "street", "division_code": "652324100"}))
            .await;
        assert_eq!(s, propose, "propose as {who:?}");
        // A proposal by editor2, to approve.
        let (_, _, p) = e
            .post(
                "/api/v1/places",
                Some("editor2"),
                json!({"name": fresh(), "category": "street", "division_code": "652324100"}),
            )
            .await;
        let id = p["id"].as_str().expect("id").to_string();
        let (s, _, _) = e
            .call(
                reqwest::Method::PATCH,
                &format!("/api/v1/places/{id}"),
                who,
                Some(json!({"origin": "测试"})),
                Some("\"1\""),
            )
            .await;
        let edit_expect = if propose == StatusCode::CREATED { StatusCode::OK } else { propose };
        assert_eq!(s, edit_expect, "edit as {who:?}");
        let (s, _, _) = e
            .post(
                &format!("/api/v1/places/{id}/approve"),
                who,
                json!({"approving_body": "县政府", "document_no": "1号"}),
            )
            .await;
        assert_eq!(s, approve, "approve as {who:?}");
        let (s, _, _) = e.post(&format!("/api/v1/places/{id}/rename"), who, json!({"name": fresh()})).await;
        let rename_expect = match approve {
            StatusCode::OK => StatusCode::CREATED,
            _ if propose == StatusCode::CREATED => StatusCode::CONFLICT, // still a proposal: nothing to rename
            other => other,
        };
        assert_eq!(s, rename_expect, "rename as {who:?}");
        let (s, _, _) = e
            .post(
                &format!("/api/v1/places/{id}/retire"),
                who,
                json!({"approving_body": "县政府", "document_no": "2号", "reason": "测试"}),
            )
            .await;
        assert_eq!(s, retire, "retire as {who:?}");
    }
}

#[tokio::test]
async fn two_concurrent_edits_of_one_name_one_412_nothing_lost() {
    let e = env().await;
    let (_, _, p) = e
        .post(
            "/api/v1/places",
            Some("editor"),
            json!({"name": "凤鸣路", "category": "street", "division_code": "652324100"}),
        )
        .await;
    let id = p["id"].as_str().expect("id").to_string();
    let path = format!("/api/v1/places/{id}");
    let (a, b) = tokio::join!(
        e.call(reqwest::Method::PATCH, &path, Some("editor"), Some(json!({"origin": "甲"})), Some("\"1\"")),
        e.call(reqwest::Method::PATCH, &path, Some("editor2"), Some(json!({"origin": "乙"})), Some("\"1\""))
    );
    let mut s = [a.0, b.0];
    s.sort();
    assert_eq!(s, [StatusCode::OK, StatusCode::PRECONDITION_FAILED]);
    let winner = if a.0 == StatusCode::OK { "甲" } else { "乙" };
    let (_, _, now) = get_json(&e.url(&path)).await;
    assert_eq!(now["properties"]["origin"], winner);
    let (_, _, h) = get_json(&e.url(&format!("{path}/history"))).await;
    assert_eq!(h["versions"].as_array().expect("v").len(), 2);
    assert_eq!(
        e.call(reqwest::Method::PATCH, &path, Some("editor"), Some(json!({"origin": "丙"})), None).await.0,
        StatusCode::PRECONDITION_REQUIRED
    );
}

#[tokio::test]
async fn announcements_list_approved_namings_and_renamings_with_their_six_fields() {
    let e = env().await;
    let (_, _, p) = e
        .post(
            "/api/v1/places",
            Some("editor"),
            json!({"name": "凤鸣路", "category": "street", "lon": 86.215, "lat": 44.305}),
        )
        .await;
    let id = p["id"].as_str().expect("id").to_string();
    e.post(
        &format!("/api/v1/places/{id}/approve"),
        Some("approver"),
        json!({"approving_body": "玛纳斯县人民政府", "document_no": "玛政函〔2026〕18号", "date": "2026-11-20"}),
    )
    .await;
    let (_, _, r) = e.post(&format!("/api/v1/places/{id}/rename"), Some("editor"), json!({"name": "凤翔路"})).await;
    let rid = r["id"].as_str().expect("id").to_string();
    e.post(
        &format!("/api/v1/places/{rid}/approve"),
        Some("approver"),
        json!({"approving_body": "玛纳斯县人民政府", "document_no": "玛政函〔2026〕21号", "date": "2026-11-25"}),
    )
    .await;
    let (s, _, a) = get_json(&e.url("/api/v1/places/announcements?since=2026-11-01")).await;
    assert_eq!(s, 200);
    let list = a["announcements"].as_array().expect("list");
    assert_eq!(list.len(), 1, "the renamed 凤鸣路 is no longer a standard name; its renaming is: {list:?}");
    let x = &list[0];
    assert_eq!(
        (x["standard_name"].as_str(), x["kind"].as_str(), x["previous_name"].as_str()),
        (Some("凤翔路"), Some("renaming"), Some("凤鸣路"))
    );
    for f in ["standard_name", "romanization", "division", "location", "approving_body", "date"] {
        assert!(x[f].as_str().is_some_and(|v| !v.is_empty()), "{f} missing: {x}");
    }
    let (_, _, later) = get_json(&e.url("/api/v1/places/announcements?since=2026-11-26")).await;
    assert_eq!(later["announcements"].as_array().expect("l").len(), 0);
    let res = reqwest::get(e.url("/api/v1/places/announcements?since=2026-11-01&format=csv")).await.expect("csv");
    assert!(res.headers()["content-type"].to_str().expect("ct").starts_with("text/csv"));
    let csv = res.text().await.expect("text");
    assert!(csv.starts_with("\u{feff}标准名称,罗马字母拼写,所在政区,地理位置,批准机关,批准时间"), "{csv}");
    assert!(csv.contains("凤翔路,Fengxiang Lu,玛纳斯镇,"), "{csv}");
    assert_eq!(get_json(&e.url("/api/v1/places/announcements?since=yesterday")).await.0, 400);
}

#[tokio::test]
async fn every_seeded_name_uses_standard_characters_and_a_fitting_generic_term() {
    let e = env().await;
    let reg = e.app.state.places();
    assert!(reg.places().len() > 400, "divisions, the river and facilities: {}", reg.places().len());
    for p in reg.places() {
        let r = diming::naming::rules::check(
            &diming::naming::rules::CheckInput {
                name: &p.name,
                category: &p.category,
                division_code: p.division_code.as_ref().map(|c| c.as_str()),
                id: Some(&p.id),
                romanization: None,
            },
            reg.places(),
        );
        let rules: Vec<&str> = r.findings.iter().map(|f| f.rule).collect();
        assert!(!rules.contains(&"non_standard_characters"), "{}: {rules:?}", p.name);
        assert!(!rules.contains(&"generic_term_category"), "{}: {rules:?}", p.name);
    }
    // A variant character outside the table is refused (尓 for 尔).
    let v = e.check(json!({"name": "阿克苏尓路", "category": "street", "division_code": "652324100"})).await;
    assert!(rules_of(&v).contains(&"non_standard_characters:error".to_string()), "{v}");
}

#[tokio::test]
async fn garbage_to_the_name_endpoints_is_a_named_problem_and_writes_nothing() {
    let e = env().await;
    let raw = |path: &str, who: Option<&str>, body: &str| {
        let mut rb = e.client.post(e.url(path)).header("content-type", "application/json").body(body.to_string());
        if let Some(w) = who {
            rb = rb.bearer_auth(&e.tokens[w]);
        }
        rb
    };
    for (path, who, body, field) in [
        ("/api/v1/places/check", None, "not json", "body"),
        ("/api/v1/places/check", None, "{\"name\": ", "name"),
        ("/api/v1/places/check", None, r#"{"name": "凤鸣路"}"#, "category"),
        ("/api/v1/places/check", None, r#"{"name": "凤鸣路", "category": "street", "colour": 1}"#, "colour"),
        ("/api/v1/places", Some("editor"), r#"{"name": "凤鸣路", "category": "street", "lon": 300, "lat": 44}"#, "lon"),
        (
            "/api/v1/places",
            Some("editor"),
            r#"{"name": "凤鸣路", "category": "street", "division_code": "12345"}"#,
            "division_code",
        ),
        (
            "/api/v1/places/p00003/retire",
            Some("approver"),
            r#"{"approving_body": "县政府", "document_no": "1号"}"#,
            "reason",
        ),
        (
            "/api/v1/places/p00003/approve",
            Some("approver"),
            r#"{"approving_body": "县政府", "document_no": "1号", "date": "soon"}"#,
            "date",
        ),
        ("/api/v1/places/p00003/rename", Some("editor"), r#"{"new_name": "x"}"#, "new_name"),
    ] {
        let res = raw(path, who, body).send().await.expect("send");
        let status = res.status();
        assert_eq!(res.headers()["content-type"], "application/problem+json", "{path} {body}");
        let p: Value = res.json().await.expect("json");
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {p}");
        let fields: Vec<&str> =
            p["errors"].as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect();
        assert!(fields.iter().any(|f| f.starts_with(field)), "{path} {body}: {fields:?}");
    }
    let (s, _, p) = e
        .call(
            reqwest::Method::PATCH,
            "/api/v1/places/p00003",
            Some("editor"),
            Some(json!({"colour": "red"})),
            Some("\"1\""),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{p}");
    assert_eq!(get_json(&e.url("/api/v1/places/p99999/history")).await.0, 404);
    assert_eq!(get_json(&e.url("/api/v1/places/p99999")).await.0, 404);
    // Nothing was written: p00003 (乐土驿镇) still has only its seeded version.
    let (_, _, h) = get_json(&e.url("/api/v1/places/p00003/history")).await;
    assert_eq!(h["versions"].as_array().expect("v").len(), 1);
    let (_, _, v) = get_json(&e.url("/api/v1/places?status=proposed")).await;
    assert_eq!(v["numberMatched"], 0);
}
