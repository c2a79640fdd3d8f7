//! Webhooks (issue 16): a receiver started by the test gets every change of 200
//! writes exactly once and in order, each delivery's signature verifying — while it
//! answers 500 for a while (the subscription turns `failing`, then recovers) and
//! while diming is stopped and restarted with writes made meanwhile. The API refuses
//! what careless and hostile administrators send, and is closed to non-admins.

use crate::common::{self, api_token, TestDb};
use diming::domain::Role;
use hmac::Mac;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &str = "a test secret of some length";

#[derive(Default)]
struct Received {
    /// `(seq, id, version)` of every change acknowledged, in arrival order.
    changes: Vec<(i64, String, i64)>,
    /// Deliveries refused while failing, and with a bad signature.
    refused: usize,
    bad_signatures: usize,
    failing: bool,
}

/// Verify `Diming-Signature: t=…,v1=…` as a receiver would, by the documented recipe.
fn verifies(header: Option<&str>, body: &[u8]) -> bool {
    let Some(h) = header else { return false };
    let mut t = None;
    let mut v1 = None;
    for part in h.split(',') {
        match part.split_once('=') {
            Some(("t", x)) => t = Some(x.to_string()),
            Some(("v1", x)) => v1 = Some(x.to_string()),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else { return false };
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    expected == v1
}

async fn receiver(state: Arc<Mutex<Received>>) -> String {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode};
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let state = state.clone();
            async move {
                let mut r = state.lock().expect("state");
                if !verifies(headers.get("diming-signature").and_then(|v| v.to_str().ok()), &body) {
                    r.bad_signatures += 1;
                    return StatusCode::UNAUTHORIZED;
                }
                if r.failing {
                    r.refused += 1;
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                let payload: Value = serde_json::from_slice(&body).expect("JSON");
                for c in payload["changes"].as_array().expect("changes") {
                    r.changes.push((
                        c["seq"].as_i64().expect("seq"),
                        c["id"].as_str().expect("id").to_string(),
                        c["version"].as_i64().expect("version"),
                    ));
                }
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/hook")
}

async fn write(client: &reqwest::Client, base: &str, token: &str, name: String) {
    let body = json!({"name": name, "kind": "community_service", "lon": 86.23, "lat": 43.93});
    let res =
        client.post(format!("{base}/api/v1/facilities")).bearer_auth(token).json(&body).send().await.expect("post");
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn webhook(client: &reqwest::Client, base: &str, token: &str, id: i64) -> Value {
    let res = client.get(format!("{base}/api/v1/webhooks/{id}")).bearer_auth(token).send().await.expect("get");
    assert_eq!(res.status(), 200);
    res.json().await.expect("webhook")
}

fn stop(mut served: common::Served) {
    let pid = served.child.id().to_string();
    let _ = std::process::Command::new("kill").args(["-TERM", &pid]).status();
    let _ = served.child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_receiver_gets_every_change_once_in_order_through_failures_and_a_restart() {
    let db = TestDb::new("webhooks");
    let args = ["--webhook-retry-max", "1", "--webhook-failing-after", "2"];
    let served = common::spawn_serve(&db.url, &args).expect("serve");
    let store = diming::store::open(&db.url).await.expect("open");
    let admin = api_token(store.as_ref(), "hook_admin", Role::Admin).await;
    let editor = api_token(store.as_ref(), "hook_editor", Role::Editor).await;
    let received = Arc::new(Mutex::new(Received::default()));
    let url = receiver(received.clone()).await;
    let client = reqwest::Client::new();
    let base = served.base.clone();

    let res = client
        .post(format!("{base}/api/v1/webhooks"))
        .bearer_auth(&admin)
        .json(&json!({"url": url, "layers": ["facilities"], "counties": ["652324"], "secret": SECRET}))
        .send()
        .await
        .expect("subscribe");
    assert_eq!(res.status(), 201);
    let hook: Value = res.json().await.expect("hook");
    let id = hook["id"].as_i64().expect("id");
    assert_eq!(hook["secret"], SECRET, "the secret is shown once, at creation");
    let start = hook["delivered_through"].as_i64().expect("cursor");
    let (_, _, listed) = {
        let res = client.get(format!("{base}/api/v1/webhooks")).bearer_auth(&admin).send().await.expect("list");
        (0, 0, res.json::<Value>().await.expect("list"))
    };
    assert!(listed["webhooks"][0].get("secret").is_none(), "never in a listing: {listed}");

    // 80 writes, the receiver well.
    for i in 0..80 {
        write(&client, &base, &editor, format!("订阅测试站{i}")).await;
    }
    wait_until("80 changes arrived", || received.lock().map(|r| r.changes.len() >= 80).unwrap_or(false)).await;

    // The receiver fails; 40 writes meanwhile; the subscription turns `failing`.
    received.lock().expect("state").failing = true;
    for i in 80..120 {
        write(&client, &base, &editor, format!("订阅测试站{i}")).await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let w = webhook(&client, &base, &admin, id).await;
        if w["status"] == "failing" {
            assert!(w["attempts"].as_i64() > Some(1) && w["last_error"] == "HTTP 500", "{w}");
            break;
        }
        assert!(Instant::now() < deadline, "never marked failing: {w}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    received.lock().expect("state").failing = false;
    wait_until("120 changes arrived", || received.lock().map(|r| r.changes.len() >= 120).unwrap_or(false)).await;
    wait_until("active again", || true).await;
    let w = webhook(&client, &base, &admin, id).await;
    assert_eq!(w["status"], "active", "a delivery that succeeds ends the failing state: {w}");
    assert_eq!(w["attempts"], 0);

    // 40 more, then diming stops; 40 are written while it is down (by another
    // process on the same database), and it starts again.
    for i in 120..160 {
        write(&client, &base, &editor, format!("订阅测试站{i}")).await;
    }
    stop(served);
    let registry = diming::registry::Registry::open(
        store.clone(),
        diming::coverage::Rules::load(&common::manifest_dir().join("data/coverage_rules.toml")).expect("rules"),
    )
    .await
    .expect("registry");
    let who = diming::accounts::Caller::System { what: "webhook test".into() };
    for i in 160..200 {
        let input = diming::registry::facilities::FacilityInput {
            name: Some(format!("订阅测试站{i}")),
            kind: Some("community_service".into()),
            lon: Some(86.23),
            lat: Some(43.93),
            ..Default::default()
        };
        registry.create_facility(&who, input).await.expect("create while diming is down");
    }
    let served = common::spawn_serve(&db.url, &args).expect("serve again");
    wait_until("200 changes arrived", || received.lock().map(|r| r.changes.len() >= 200).unwrap_or(false)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // Exactly the feed's changes after the subscription's start, in order, once each.
    let (_, _, feed) = common::get_json(&format!(
        "{}/api/v1/changes?after={start}&layer=facilities&county=652324&limit=10000",
        served.base
    ))
    .await;
    let expected: Vec<(i64, String, i64)> = feed["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            (
                c["seq"].as_i64().unwrap_or(0),
                c["id"].as_str().unwrap_or("").to_string(),
                c["version"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(expected.len(), 200);
    {
        let r = received.lock().expect("state");
        assert_eq!(r.bad_signatures, 0);
        assert!(r.refused > 1, "the receiver refused some while failing");
        assert_eq!(r.changes.len(), expected.len(), "nothing lost, nothing acknowledged delivered twice");
        assert!(r.changes == expected, "in the order of the sequence");
    }

    // The delivery log says what happened, newest first.
    let res = client
        .get(format!("{}/api/v1/webhooks/{id}/deliveries?limit=1000", served.base))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("deliveries");
    let log: Value = res.json().await.expect("log");
    let log = log["deliveries"].as_array().expect("deliveries");
    assert!(log.iter().any(|d| d["ok"] == false && d["status_code"] == 500));
    assert!(log.iter().any(|d| d["ok"] == true));
    let ids: Vec<i64> = log.iter().filter_map(|d| d["id"].as_i64()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");

    // A replay from the start delivers everything again, then it is disabled.
    let res = client
        .post(format!("{}/api/v1/webhooks/{id}/replay", served.base))
        .bearer_auth(&admin)
        .json(&json!({"after": start}))
        .send()
        .await
        .expect("replay");
    assert_eq!(res.status(), 200);
    wait_until("the replay arrived", || received.lock().map(|r| r.changes.len() >= 400).unwrap_or(false)).await;
    {
        let r = received.lock().expect("state");
        assert!(r.changes.get(200..400).is_some_and(|again| again == expected.as_slice()));
    }
    let res = client
        .delete(format!("{}/api/v1/webhooks/{id}", served.base))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("disable");
    assert_eq!(res.status(), 200);
    let w: Value = res.json().await.expect("disabled");
    assert_eq!(w["status"], "disabled");
    write(&client, &served.base, &editor, "停用后的设施".into()).await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(received.lock().expect("state").changes.len(), 400, "a disabled subscription gets nothing");
    // Its management is audited (never with the secret).
    let audit = store.audit("webhook", &id.to_string()).await.expect("audit");
    assert_eq!(audit.iter().map(|a| a.action.as_str()).collect::<Vec<_>>(), ["create", "replay", "disable"]);
    assert!(audit.iter().all(|a| !a.after.as_ref().is_some_and(|v| v.to_string().contains(SECRET))));
}

#[tokio::test(flavor = "multi_thread")]
async fn subscriptions_are_for_administrators_and_refuse_what_careless_ones_send() {
    let app = common::start_in_process().await;
    let store = app.state.registry().store();
    let admin = api_token(store, "hook_admin2", Role::Admin).await;
    let editor = api_token(store, "hook_editor2", Role::Editor).await;
    let client = reqwest::Client::new();
    let base = &app.base;
    let ok = json!({"url": "http://127.0.0.1:9/hook"});
    for (token, status) in [(None, 401), (Some(&editor), 403)] {
        let mut req = client.post(format!("{base}/api/v1/webhooks")).json(&ok);
        let mut list = client.get(format!("{base}/api/v1/webhooks"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
            list = list.bearer_auth(t);
        }
        assert_eq!(req.send().await.expect("post").status(), status);
        assert_eq!(list.send().await.expect("list").status(), status);
    }
    // Outside the schema: 400; strings the schema allows that are no usable URL,
    // county or secret: 422. Each names its field.
    for (body, status) in [
        (json!({"url": "ftp://example.org/x"}), 422),
        (json!({"url": "file:///etc/passwd"}), 422),
        (json!({"url": "http://user:pw@example.org/"}), 422),
        (json!({"url": "javascript:alert(1)"}), 422),
        (json!({"url": "not a url"}), 422),
        (json!({"url": "0000"}), 422),
        (json!({"url": "http://example.org/#frag"}), 422),
        (json!({"url": ""}), 400),
        (json!({"url": format!("http://example.org/{}", "a".repeat(2100))}), 400),
        (json!({"url": "http://example.org/", "layers": ["streets"]}), 400),
        (json!({"url": "http://example.org/", "counties": ["6523"]}), 422),
        (json!({"url": "http://example.org/", "counties": ["<script>"]}), 422),
        (json!({"url": "http://example.org/", "secret": "short"}), 400),
        (json!({"url": "http://example.org/", "secret": "sixteen chars\u{7}\u{7}\u{7}\u{7}"}), 422),
        (json!({"url": "http://example.org/", "secret": "sixteen chars\u{0}\u{0}\u{0}\u{0}"}), 400),
        (json!({"url": "http://example.org/", "after": -1}), 400),
        (json!({"url": "http://example.org/", "after": 1.5}), 400),
        (json!({"url": "http://example.org/", "surprise": true}), 400),
        (json!({"url": 42}), 400),
        (json!([]), 400),
    ] {
        let res =
            client.post(format!("{base}/api/v1/webhooks")).bearer_auth(&admin).json(&body).send().await.expect("post");
        assert_eq!(res.status(), status, "{body}");
        let p: Value = res.json().await.expect("problem");
        assert!(p["errors"].as_array().is_some_and(|e| !e.is_empty()), "{body}: {p}");
    }
    // A whole number written as a float is a whole number (JSON Schema's `integer`).
    let res = client
        .post(format!("{base}/api/v1/webhooks"))
        .bearer_auth(&admin)
        .json(&json!({"url": "http://127.0.0.1:9/float", "after": 3.0}))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 201);
    for path in ["abc", "0", "-1", "1.5", "99999999999999999999", "%3Cscript%3E"] {
        let res = client.get(format!("{base}/api/v1/webhooks/{path}")).bearer_auth(&admin).send().await.expect("get");
        assert_eq!(res.status(), 400, "{path}");
    }
    let res = client.get(format!("{base}/api/v1/webhooks/12345")).bearer_auth(&admin).send().await.expect("get");
    assert_eq!(res.status(), 404);
    for q in ["limit=0", "limit=1001", "limit=abc", "limit=%E4%B8%80", "limit=", "limit=1&limit=2", "x=%3Cscript%3E"] {
        let res = client
            .get(format!("{base}/api/v1/webhooks/1/deliveries?{q}"))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("deliveries");
        assert_eq!(res.status(), 400, "{q}");
        assert_eq!(res.headers()["content-type"], "application/problem+json", "{q}");
    }
    let res = client
        .post(format!("{base}/api/v1/webhooks"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body(vec![b'{'; 1536 * 1024])
        .send()
        .await
        .expect("a huge body is answered, not reset");
    assert_eq!(res.status(), 400, "1.5 MB of unclosed braces is malformed JSON");
    let listed: Value = client
        .get(format!("{base}/api/v1/webhooks"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let urls: Vec<&str> =
        listed["webhooks"].as_array().expect("webhooks").iter().filter_map(|w| w["url"].as_str()).collect();
    assert_eq!(urls, ["http://127.0.0.1:9/float"], "no refused request wrote a subscription");
    // A stale If-Match is a 412.
    let res = client.post(format!("{base}/api/v1/webhooks")).bearer_auth(&admin).json(&ok).send().await.expect("post");
    let hook: Value = res.json().await.expect("hook");
    let id = hook["id"].as_i64().expect("id");
    assert_eq!(hook["status"], "active");
    assert_eq!(hook["layers"], json!([]));
    let res = client
        .delete(format!("{base}/api/v1/webhooks/{id}"))
        .bearer_auth(&admin)
        .header("if-match", "\"7\"")
        .send()
        .await
        .expect("delete");
    assert_eq!(res.status(), 412);
}

#[test]
fn the_command_line_adds_lists_replays_and_disables_subscriptions() {
    let db = TestDb::new("webhook-cli");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_diming"))
            .arg("webhook")
            .args(args)
            .args(["--database", &db.url])
            .current_dir(common::manifest_dir())
            .output()
            .expect("diming webhook");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, out, err) =
        run(&["add", "http://127.0.0.1:9/hook", "--layer", "facilities", "--county", "652324", "--after", "0"]);
    assert!(ok, "{err}");
    assert!(
        out.starts_with("1\tactive\thttp://127.0.0.1:9/hook\tdelivered_through=0\tlayers=facilities\tcounties=652324"),
        "{out}"
    );
    let secret = out.lines().find_map(|l| l.split(": ").nth(1)).expect("the secret line");
    assert_eq!(secret.len(), 64, "a random secret of 32 bytes, hex");
    let (ok, out, _) = run(&["list"]);
    assert!(ok && out.contains("http://127.0.0.1:9/hook") && !out.contains(secret), "{out}");
    for bad in [
        &["add", "ftp://example.org/", "--after", "0"][..],
        &["add", "http://example.org/", "--layer", "streets"],
        &["add", "http://example.org/", "--county", "65"],
        &["add", "http://example.org/", "--secret", "short"],
        &["disable", "99"],
    ] {
        let (ok, _, err) = run(bad);
        assert!(!ok, "{bad:?} must fail");
        assert!(!err.trim().is_empty(), "{bad:?} says why");
    }
    let (ok, out, err) = run(&["replay", "1", "--after", "0"]);
    assert!(ok && out.contains("\tactive\t"), "{out}{err}");
    let (ok, out, err) = run(&["disable", "1"]);
    assert!(ok && out.contains("\tdisabled\t"), "{out}{err}");
    let (ok, out, _) = run(&["deliveries", "1"]);
    assert!(ok && out.is_empty(), "no deliveries were made: {out}");
}
