//! Every documented GET answers what its schema says, all the way down: each GET of
//! `GET /api/v1/openapi.json` is called (the document's paths, not a list kept
//! here) and its body is validated against the operation's full JSON Schema, every
//! `$ref` resolved, by a JSON Schema validator (draft 2020-12, as OpenAPI 3.1 uses).
#![allow(clippy::panic)] // its helpers too: a failed setup or call stops the test loudly

use crate::common;
use serde_json::{json, Value};

/// The operation's schema for `media`, with the document's components beside it so
/// that its `#/components/...` references resolve.
fn validator(doc: &Value, schema: &Value) -> jsonschema::Validator {
    let mut root = match schema {
        Value::Object(m) => Value::Object(m.clone()),
        other => json!({"allOf": [other]}),
    };
    root["components"] = doc["components"].clone();
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&root)
        .unwrap_or_else(|e| panic!("the schema does not compile: {e}: {schema}"))
}

/// A query string from `(name, value)` pairs; arrays are comma-joined.
fn query(pairs: &[(String, Value)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        let text = match v {
            Value::String(t) => t.clone(),
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join(","),
            other => other.to_string(),
        };
        s.append_pair(k, &text);
    }
    s.finish()
}

struct Answer {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

async fn get(client: &reqwest::Client, url: &str) -> Answer {
    let res = client.get(url).send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = res.status().as_u16();
    let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let body = res.bytes().await.expect("body").to_vec();
    Answer { status, content_type, body }
}

/// The answer checked against the schema the document gives its status and media
/// type; the problems found, empty when it conforms.
fn check(doc: &Value, op: &Value, url: &str, a: &Answer) -> Vec<String> {
    let response = &op["responses"][a.status.to_string()];
    let Some(content) = response["content"].as_object() else {
        return vec![format!("GET {url}: status {} is not documented", a.status)];
    };
    let Some((media, body_schema)) = content.iter().find(|(m, _)| a.content_type.starts_with(m.as_str())) else {
        let media: Vec<&String> = content.keys().collect();
        return vec![format!("GET {url}: {} is not one of {media:?}", a.content_type)];
    };
    if media.ends_with("ndjson") {
        // Newline-delimited JSON: each line one instance of the schema.
        let v = validator(doc, &body_schema["schema"]);
        let mut problems = Vec::new();
        for (n, line) in String::from_utf8_lossy(&a.body).lines().enumerate() {
            match serde_json::from_str::<Value>(line) {
                Ok(instance) => problems.extend(
                    v.iter_errors(&instance)
                        .map(|e| format!("GET {url} ({}): line {}, at {}: {e}", a.status, n + 1, e.instance_path())),
                ),
                Err(e) => problems.push(format!("GET {url}: line {} is not JSON ({e})", n + 1)),
            }
        }
        return problems.into_iter().take(5).collect();
    }
    let instance: Value = if media.ends_with("json") {
        match serde_json::from_slice(&a.body) {
            Ok(v) => v,
            Err(e) => return vec![format!("GET {url}: not JSON ({e})")],
        }
    } else {
        Value::String(String::from_utf8_lossy(&a.body).into_owned())
    };
    let v = validator(doc, &body_schema["schema"]);
    v.iter_errors(&instance)
        .map(|e| format!("GET {url} ({}): at {}: {e} (schema {})", a.status, e.instance_path(), e.schema_path()))
        .take(5)
        .collect()
}

/// Records beyond the bundled dataset, so that the lists have members of every kind:
/// an approved naming (announcements, a place's history), a login session.
async fn make_records(base: &str, editor: &str, approver: &str) {
    let client = reqwest::Client::new();
    let p: Value = client
        .post(format!("{base}/api/v1/places"))
        .bearer_auth(editor)
        .json(&json!({"name": "凤鸣路", "category": "street", "lon": 86.215, "lat": 44.305, "origin": "取“凤鸣朝阳”之意"}))
        .send()
        .await
        .expect("propose")
        .json()
        .await
        .expect("proposed");
    let id = p["id"].as_str().unwrap_or_else(|| panic!("no id: {p}"));
    let approved = client
        .post(format!("{base}/api/v1/places/{id}/approve"))
        .bearer_auth(approver)
        .json(&json!({"approving_body": "玛纳斯县人民政府", "document_no": "玛政函〔2026〕18号", "date": "2026-11-20"}))
        .send()
        .await
        .expect("approve");
    assert_eq!(approved.status().as_u16(), 200, "{:?}", approved.text().await);
    let login = client
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"username": "answers_admin", "password": "correct horse battery"}))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status().as_u16(), 200);
}

#[tokio::test]
async fn every_documented_get_answers_what_its_full_schema_says() {
    let app = common::start_in_process().await;
    let store = app.state.store();
    // As an administrator, so the GETs that need a role answer too.
    let admin = common::api_token(store, "answers_admin", diming::domain::Role::Admin).await;
    let editor = common::api_token(store, "answers_editor", diming::domain::Role::Editor).await;
    let approver = common::api_token(store, "answers_approver", diming::domain::Role::Approver).await;
    make_records(&app.base, &editor, &approver).await;
    // A webhook subscription (no deliverer runs here: its log stays empty).
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/webhooks", app.base))
        .bearer_auth(&admin)
        .json(&json!({"url": "http://127.0.0.1:9/hook", "layers": ["facilities"]}))
        .send()
        .await
        .expect("subscribe");
    assert_eq!(res.status(), 201);
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        reqwest::header::HeaderValue::from_str(&format!("Bearer {admin}")).expect("header"),
    );
    let client = reqwest::Client::builder().default_headers(headers).build().expect("client");
    let doc: Value = serde_json::from_slice(&get(&client, &format!("{}/api/v1/openapi.json", app.base)).await.body)
        .expect("the document");

    let mut gets = 0;
    let mut answers = 0;
    let mut problems = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let Some(op) = item.get("get") else { continue };
        gets += 1;
        let params: Vec<Value> = op["parameters"].as_array().cloned().unwrap_or_default();
        // Path parameters take their example: real records (division 652324101,
        // settlement 652324101201, facility f0001, place p00001…).
        let mut url_path = path.clone();
        for p in params.iter().filter(|p| p["in"] == "path") {
            let name = p["name"].as_str().expect("name");
            let example = p["example"].as_str().unwrap_or_else(|| panic!("GET {path}: {name} has no example"));
            url_path = url_path.replace(&format!("{{{name}}}"), example);
        }
        let query_params: Vec<&Value> = params.iter().filter(|p| p["in"] == "query").collect();
        let value_of = |p: &Value| {
            let name = p["name"].as_str().expect("name").to_string();
            let example = p.get("example").cloned().unwrap_or_else(|| panic!("GET {path}: {name} has no example"));
            (name, example)
        };
        let required: Vec<(String, Value)> =
            query_params.iter().filter(|p| p["required"] == true).map(|p| value_of(p)).collect();
        let examples: Vec<(String, Value)> = query_params
            .iter()
            .filter(|p| p["required"] == true || p.get("example").is_some())
            .map(|p| value_of(p))
            .collect();
        let url = |pairs: &[(String, Value)]| format!("{}{url_path}?{}", app.base, query(pairs));

        // With every example: a 200. The required parameters alone: a 200, or a
        // documented problem where the operation needs one of two (`kind` or `rule`).
        for (pairs, refusable) in [(&examples, false), (&required, true)] {
            let u = url(pairs);
            let a = get(&client, &u).await;
            if !(a.status == 200 || refusable && (400..500).contains(&a.status)) {
                problems.push(format!("GET {u}: {} {}", a.status, String::from_utf8_lossy(&a.body)));
                continue;
            }
            problems.extend(check(&doc, op, &u, &a));
            answers += 1;
        }
        // Each value of each closed vocabulary (kind, rule, layer, format, crs…), with
        // the required parameters: the other shapes an operation answers (a capacity
        // rule's beds, CSV, GCJ-02). A refusal must be a documented problem.
        for p in &query_params {
            let name = p["name"].as_str().expect("name");
            let schema = match p["schema"]["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
                Some(component) => &doc["components"]["schemas"][component],
                None => &p["schema"],
            };
            for value in schema["enum"].as_array().into_iter().flatten().filter(|v| v.is_string()) {
                let mut pairs: Vec<(String, Value)> = required.iter().filter(|(n, _)| n != name).cloned().collect();
                pairs.push((name.to_string(), value.clone()));
                let u = url(&pairs);
                let a = get(&client, &u).await;
                if !(a.status == 200 || (400..500).contains(&a.status)) {
                    problems.push(format!("GET {u}: {} {}", a.status, String::from_utf8_lossy(&a.body)));
                    continue;
                }
                problems.extend(check(&doc, op, &u, &a));
                answers += 1;
            }
        }
    }
    assert!(problems.is_empty(), "{} answers disagree with the document:\n{}", problems.len(), problems.join("\n"));
    assert!(gets >= 30, "only {gets} GET operations in the document");
    println!("{gets} documented GET operations, {answers} answers validated against their full schemas");
}
