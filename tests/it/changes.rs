//! The change feed (issue 16): replaying `GET /api/v1/changes` from 0 gives the
//! registry's records exactly, after a random mix of 1,000 writes (on PostgreSQL in
//! the PostgreSQL pass); as JSON pages, as NDJSON, filtered by layer and county; the
//! long-poll answers with the next change; the migration that numbers the history
//! of an older registry gives what live writes give; and what careless and hostile
//! clients send is a 400, never a failure.

use crate::common;
use diming::accounts::Caller;
use diming::domain::FacilityKind;
use diming::registry::facilities::{CloseInput, FacilityInput};
use diming::registry::places::{DecisionInput, PlaceInput};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use std::collections::BTreeMap;

type Records = BTreeMap<(String, String), Value>;

/// The registry's records now, keyed by layer and id, as history keeps them.
async fn records(store: &dyn diming::store::Store) -> Records {
    use diming::store::{division_json, facility_json, place_json, settlement_json};
    let mut out = Records::new();
    for d in store.divisions().await.expect("divisions") {
        out.insert(("divisions".into(), d.code.to_string()), division_json(&d));
    }
    for s in store.settlements().await.expect("settlements") {
        out.insert(("settlements".into(), s.code.to_string()), settlement_json(&s));
    }
    for f in store.facilities().await.expect("facilities") {
        out.insert(("facilities".into(), f.id.clone()), facility_json(&f));
    }
    for p in store.places().await.expect("places") {
        out.insert(("places".into(), p.id.clone()), place_json(&p));
    }
    out
}

/// Replay the feed from 0 through its pages, checking order and `next_after` on
/// the way; the records by layer and id, and every change seen.
async fn replay(base: &str, filter: &str, limit: usize) -> (Records, Vec<Value>) {
    let mut after = 0;
    let mut out = Records::new();
    let mut seen = Vec::new();
    loop {
        let url = format!("{base}/api/v1/changes?after={after}&limit={limit}{filter}");
        let (status, ct, page) = common::get_json(&url).await;
        assert_eq!(status, 200, "{url}: {page}");
        assert!(ct.starts_with("application/json"), "{ct}");
        let changes = page["changes"].as_array().expect("changes").clone();
        let next = page["next_after"].as_i64().expect("next_after");
        assert!(next >= after, "{url}: next_after {next} behind {after}");
        let mut last = after;
        for c in &changes {
            let seq = c["seq"].as_i64().expect("seq");
            assert!(seq > after && seq <= next && seq >= last, "{url}: seq {seq} out of order");
            last = seq;
            let key = (c["layer"].as_str().expect("layer").to_string(), c["id"].as_str().expect("id").to_string());
            assert_eq!(c["record"]["version"], c["version"], "{c}");
            out.insert(key, c["record"].clone());
        }
        seen.extend(changes.iter().cloned());
        if !page["more"].as_bool().expect("more") {
            assert!(changes.len() < limit, "a short page says no more");
            // Asking again from its end gives nothing new.
            let (_, _, again) = common::get_json(&format!("{base}/api/v1/changes?after={next}{filter}")).await;
            assert_eq!(again["changes"].as_array().map(Vec::len), Some(0));
            assert_eq!(again["next_after"].as_i64(), Some(next));
            return (out, seen);
        }
        assert!(changes.len() >= limit);
        after = next;
    }
}

fn facility_input(name: String, kind: FacilityKind, p: [f64; 2]) -> FacilityInput {
    FacilityInput {
        name: Some(name),
        kind: Some(kind.as_str().into()),
        lon: Some(p[0]),
        lat: Some(p[1]),
        ..FacilityInput::default()
    }
}

/// A number in Chinese digits (names take no Arabic numerals).
fn chinese(n: usize) -> String {
    n.to_string()
        .chars()
        .map(|c| "零一二三四五六七八九".chars().nth(c as usize - '0' as usize).unwrap_or('零'))
        .collect()
}

fn decision(reason: Option<&str>) -> DecisionInput {
    DecisionInput {
        approving_body: "玛纳斯县人民政府".into(),
        document_no: "玛政函〔2026〕99号".into(),
        date: None,
        reason: reason.map(str::to_string),
    }
}

/// 1,000 random writes: facility creates, moves, edits and closes, and names
/// proposed, approved and retired.
async fn random_writes(registry: &diming::registry::Registry, seed: u64) {
    let officer = Caller::System { what: "changes test officer".into() };
    let approver = Caller::System { what: "changes test approver".into() };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut ids: Vec<String> = registry.snapshot().facilities().map(|f| f.facility.id.clone()).collect();
    let mut proposals: Vec<String> = Vec::new();
    let mut approved: Vec<String> = Vec::new();
    for step in 0..1_000 {
        let snap = registry.snapshot();
        let roll = rng.gen_range(0..20);
        let point = loop {
            let p = [rng.gen_range(85.6..86.5), rng.gen_range(43.5..45.3)];
            if snap.township_at(p[0], p[1]).is_some() {
                break p;
            }
        };
        match roll {
            0..=6 => {
                let kind = FacilityKind::ALL[rng.gen_range(0..FacilityKind::ALL.len())];
                let f = registry
                    .create_facility(&officer, facility_input(format!("变更测试{step}"), kind, point))
                    .await
                    .expect("create");
                ids.push(f.id);
            }
            7..=14 if !ids.is_empty() => {
                let id = ids[rng.gen_range(0..ids.len())].clone();
                let current = snap.facility(&id).expect("in the snapshot").facility.clone();
                let closed = current.status == diming::domain::FacilityStatus::Closed;
                if closed || roll < 12 {
                    // An edit (a closed one reopened), or with a new location a move.
                    let mut change = FacilityInput {
                        name: Some(format!("变更测试改名{step}")),
                        status: closed.then(|| "open".to_string()),
                        ..FacilityInput::default()
                    };
                    if roll >= 10 {
                        (change.lon, change.lat) = (Some(point[0]), Some(point[1]));
                    }
                    registry.update_facility(&officer, &id, current.version, change).await.expect("update");
                } else {
                    let close = CloseInput { reason: "变更测试关闭".into(), date: None };
                    registry.close_facility(&officer, &id, Some(current.version), close).await.expect("close");
                }
            }
            15..=16 => {
                let input = PlaceInput {
                    name: Some(format!("变更测试{}路", chinese(step))),
                    category: Some("street".into()),
                    lon: Some(point[0]),
                    lat: Some(point[1]),
                    ..PlaceInput::default()
                };
                let saved = registry.propose_place(&officer, input).await.expect("propose");
                proposals.push(saved.place.id);
            }
            17..=18 if !proposals.is_empty() => {
                let id = proposals.swap_remove(rng.gen_range(0..proposals.len()));
                registry.approve_place(&approver, &id, None, &decision(None)).await.expect("approve");
                approved.push(id);
            }
            _ if !approved.is_empty() => {
                let id = approved.swap_remove(rng.gen_range(0..approved.len()));
                registry.retire_place(&approver, &id, None, &decision(Some("变更测试废止"))).await.expect("retire");
            }
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn replaying_the_feed_from_zero_gives_the_registrys_records_after_a_thousand_random_writes() {
    let app = common::start_in_process().await;
    let registry = app.state.registry().clone();
    random_writes(&registry, 16).await;
    let store = registry.store();
    let now = records(store).await;

    // Whole, in pages of an odd size (pages end with whole changes), and in one.
    let (replayed, seen) = replay(&app.base, "", 337).await;
    assert_eq!(replayed.len(), now.len());
    assert!(replayed == now, "replayed records differ from the registry's");
    assert!(seen.len() > now.len(), "the feed holds every version, not only the last");
    let actions: std::collections::BTreeSet<&str> = seen.iter().filter_map(|c| c["action"].as_str()).collect();
    for a in ["load", "create", "update", "move", "close", "approve", "retire"] {
        assert!(actions.contains(a), "no `{a}` among {actions:?}");
    }
    let (big, _) = replay(&app.base, "", 10_000).await;
    assert!(big == now);

    // The sequence the feed ends with is the one the instance reports.
    let (_, _, health) = common::get_json(&format!("{}/health", app.base)).await;
    let last = seen.last().and_then(|c| c["seq"].as_i64()).expect("a change");
    assert!(health["sequence"].as_i64().expect("sequence") >= last);

    // One layer, one county, both: the matching subset, nothing else.
    for (filter, keep) in [
        ("&layer=facilities", Box::new(|l: &str, _: &Value| l == "facilities") as Box<dyn Fn(&str, &Value) -> bool>),
        ("&layer=places,divisions", Box::new(|l: &str, _: &Value| l == "places" || l == "divisions")),
        (
            "&county=652324&layer=facilities",
            Box::new(|l: &str, r: &Value| {
                l == "facilities" && r["township_code"].as_str().is_some_and(|t| t.starts_with("652324"))
            }),
        ),
        ("&county=110101", Box::new(|_: &str, _: &Value| false)),
    ] {
        let expected: Records =
            now.iter().filter(|((l, _), r)| keep(l, r)).map(|(k, v)| (k.clone(), v.clone())).collect();
        let (got, _) = replay(&app.base, filter, 211).await;
        assert!(got == expected, "{filter}: {} records, expected {}", got.len(), expected.len());
    }

    // NDJSON: the same changes, one per line, the page's end in `Next-After`.
    let client = reqwest::Client::new();
    let res = client
        .get(format!("{}/api/v1/changes?after=0&limit=10000", app.base))
        .header("accept", "application/x-ndjson")
        .send()
        .await
        .expect("ndjson");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/x-ndjson");
    let next: i64 = res.headers()["next-after"].to_str().expect("header").parse().expect("number");
    let text = res.text().await.expect("body");
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    let (_, _, page) = common::get_json(&format!("{}/api/v1/changes?after=0&limit=10000", app.base)).await;
    assert_eq!(Some(&lines), page["changes"].as_array());
    assert_eq!(Some(next), page["next_after"].as_i64());
    let res = client.get(format!("{}/api/v1/changes?format=ndjson&limit=3", app.base)).send().await.expect("ndjson");
    assert_eq!(res.headers()["content-type"], "application/x-ndjson");
    assert!(res.headers()["link"].to_str().expect("link").contains("after="));
    assert_eq!(res.text().await.expect("body").lines().count(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_poll_answers_with_the_next_change_and_an_idle_one_ends_empty() {
    let app = common::start_in_process().await;
    let (_, _, page) = common::get_json(&format!("{}/api/v1/changes?after=0&limit=10000", app.base)).await;
    let end = page["next_after"].as_i64().expect("next_after");

    // Nothing happens: the wait ends, empty, where it began.
    let (status, _, idle) = common::get_json(&format!("{}/api/v1/changes?after={end}&wait=1", app.base)).await;
    assert_eq!(status, 200);
    assert_eq!(idle["changes"].as_array().map(Vec::len), Some(0));
    assert_eq!(idle["next_after"].as_i64(), Some(end));

    // A write while a client waits (for facilities; a name change first, which it skips).
    let url = format!("{}/api/v1/changes?after={end}&layer=facilities&wait=60", app.base);
    let waiting = tokio::spawn(async move { common::get_json(&url).await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let registry = app.state.registry().clone();
    let who = Caller::System { what: "long-poll test".into() };
    let input = PlaceInput {
        name: Some("长轮询测试街".into()),
        category: Some("street".into()),
        lon: Some(86.2),
        lat: Some(44.3),
        ..PlaceInput::default()
    };
    registry.propose_place(&who, input).await.expect("propose");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let f = registry
        .create_facility(&who, facility_input("长轮询测试站".into(), FacilityKind::CommunityService, [86.2, 44.3]))
        .await
        .expect("create");
    let (status, _, got) = waiting.await.expect("the waiting client");
    assert_eq!(status, 200);
    let changes = got["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 1, "{got}");
    assert_eq!(changes[0]["id"], f.id.as_str());
    assert_eq!(changes[0]["action"], "create");
    assert_eq!(changes[0]["layer"], "facilities");
    assert!(got["next_after"].as_i64().expect("next_after") > end);
}

#[tokio::test(flavor = "multi_thread")]
async fn what_careless_and_hostile_clients_send_the_feed_is_a_400() {
    let app = common::start_in_process().await;
    for q in [
        "after=-1",
        "after=abc",
        "after=1.5",
        "after=99999999999999999999999",
        "after=",
        "after=1&after=2",
        "layer=streets",
        "layer=facilities,",
        "layer=%00",
        "layer=facilities%3Cscript%3E",
        "county=6523",
        "county=65232%E4%B8%80",
        "county=652324101",
        "limit=0",
        "limit=10001",
        "wait=61",
        "wait=-1",
        "format=xml",
        "format=",
        "sort=seq",
        "%FF%FE=1",
    ] {
        let (status, ct, body) = common::get_json(&format!("{}/api/v1/changes?{q}", app.base)).await;
        assert_eq!(status, 400, "{q}: {body}");
        assert_eq!(ct, "application/problem+json", "{q}");
        assert!(body["errors"].as_array().is_some_and(|e| !e.is_empty()), "{q}: {body}");
    }
    // Far past the end is no error: nothing there yet.
    let (status, _, body) = common::get_json(&format!("{}/api/v1/changes?after=9223372036854775807", app.base)).await;
    assert_eq!(status, 200);
    assert_eq!(body["changes"].as_array().map(Vec::len), Some(0));
    assert_eq!(body["next_after"].as_i64(), Some(i64::MAX));
}

/// A registry from before the feed: its history rows had no change numbers. The
/// migration's own statements, run again over rows whose numbers are wiped, give
/// every row the number and county a live write gave it.
#[tokio::test(flavor = "multi_thread")]
async fn the_migration_numbers_an_older_registrys_history_as_live_writes_do() {
    let app = common::start_in_process().await;
    let registry = app.state.registry().clone();
    random_writes(&registry, 7).await;
    let feed = |filter: &str| format!("{}/api/v1/changes?after=0&limit=10000{filter}", app.base);
    let (_, _, before) = common::get_json(&feed("")).await;
    let (_, _, county_before) = common::get_json(&feed("&county=652324")).await;
    assert!(!county_before["changes"].as_array().expect("changes").is_empty());
    let postgres = app.db.is_postgres();
    let file =
        if postgres { "migrations/postgres/0005_change_feed.sql" } else { "migrations/sqlite/0007_change_feed.sql" };
    let sql = std::fs::read_to_string(common::manifest_dir().join(file)).expect("migration");
    // Its statements that fill the columns (not those that add them or the indexes).
    let statements: Vec<String> = sql
        .split(';')
        .map(|s| s.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n"))
        .filter(|s| s.trim_start().starts_with("UPDATE"))
        .collect();
    assert_eq!(statements.len(), 3, "the migration fills seq twice and county once");
    run_sql(&app.db.url, postgres, "UPDATE history SET seq = 0, county = NULL").await;
    let (_, _, wiped) = common::get_json(&format!("{}/api/v1/changes?after=0&limit=10000", app.base)).await;
    assert_eq!(wiped["changes"].as_array().map(Vec::len), Some(0), "a wiped history feeds nothing");
    for s in &statements {
        run_sql(&app.db.url, postgres, s).await;
    }
    let (_, _, after) = common::get_json(&format!("{}/api/v1/changes?after=0&limit=10000", app.base)).await;
    assert_eq!(after["changes"], before["changes"]);
    let (_, _, county_after) = common::get_json(&feed("&county=652324")).await;
    assert_eq!(county_after["changes"], county_before["changes"]);
}

async fn run_sql(url: &str, postgres: bool, sql: &str) {
    if postgres {
        let pool = sqlx::PgPool::connect(url).await.expect("connect");
        sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).execute(&pool).await.expect(sql);
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.expect("connect");
        sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).execute(&pool).await.expect(sql);
    }
}
