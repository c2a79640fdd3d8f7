//! Incremental snapshots (issue 15): after a random sequence of 1,000 facility
//! creates, moves, edits and closes — each applied to the snapshot as a delta, with
//! background merges of the delta into a new base on the way — every answer equals
//! the answer of a snapshot built from scratch from the store: nearest, within,
//! bbox, locate, listings, the county summaries and coverage per township.

use crate::common;
use diming::accounts::Caller;
use diming::coverage::{compute, supplies, CoverageOptions};
use diming::domain::FacilityKind;
use diming::registry::facilities::{CloseInput, FacilityInput};
use diming::spatial::{Snapshot, StatusSet};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A random point inside a township of the registry (rejection sampling in its bbox).
fn point_in_county(snap: &Snapshot, rng: &mut ChaCha8Rng) -> [f64; 2] {
    loop {
        let p = [rng.gen_range(85.6..86.5), rng.gen_range(43.5..45.3)];
        if snap.township_at(p[0], p[1]).is_some() {
            return p;
        }
    }
}

fn input(name: String, kind: FacilityKind, p: [f64; 2]) -> FacilityInput {
    FacilityInput {
        name: Some(name),
        kind: Some(kind.as_str().into()),
        lon: Some(p[0]),
        lat: Some(p[1]),
        ..FacilityInput::default()
    }
}

/// Every answer the facility layer gives, as comparable text.
fn answers(snap: &Snapshot, probes: &[[f64; 2]], rules: &diming::coverage::Rules) -> Vec<String> {
    let mut out = Vec::new();
    let kinds: Vec<Option<FacilityKind>> =
        std::iter::once(None).chain(FacilityKind::ALL.iter().copied().map(Some)).collect();
    let id = |i: u32| snap.facility_at(i).facility.id.clone();
    for (i, p) in probes.iter().enumerate() {
        let kind = kinds[i % kinds.len()];
        let statuses = if i % 3 == 0 { StatusSet::OPEN } else { StatusSet::ANY };
        let near: Vec<(String, String)> = snap
            .nearest(*p, kind, 1 + i % 9, None, statuses)
            .iter()
            .map(|h| (id(h.idx), format!("{:.6}", h.distance_m)))
            .collect();
        let within: Vec<String> = snap.within(*p, kind, 8_000.0, statuses).iter().map(|h| id(h.idx)).collect();
        let bbox = [p[0] - 0.1, p[1] - 0.1, p[0] + 0.1, p[1] + 0.1];
        let boxed: Vec<String> = snap.facilities_in_bbox(bbox, kind, statuses).into_iter().map(id).collect();
        out.push(format!("{p:?} {kind:?} near {near:?} within {within:?} bbox {boxed:?}"));
        let located: Vec<&str> = snap.locate(p[0], p[1]).iter().map(|d| d.division.code.as_str()).collect();
        out.push(format!("locate {located:?}"));
    }
    out.push(format!("count {}", snap.facility_count()));
    out.extend(snap.facilities().map(|f| f.feature_json()));
    out.extend(snap.counties().iter().map(|c| format!("{c:?}")));
    for kind in FacilityKind::ALL {
        let Some(rule) = rules.default_for(kind) else { continue };
        let opts = CoverageOptions { include_xpcc: false, statuses: StatusSet::OPEN, area: None };
        let cov = compute(snap, rule, &opts, supplies(snap, rule, &opts));
        out.push(serde_json::to_string(&cov.townships).expect("coverage"));
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_random_facility_writes_give_the_answers_of_a_snapshot_built_from_scratch() {
    let app = common::start_in_process().await;
    let registry = app.state.registry().clone();
    let who = Caller::System { what: "incremental test".into() };
    let mut rng = ChaCha8Rng::seed_from_u64(15);
    let mut ids: Vec<String> = registry.snapshot().facilities().map(|f| f.facility.id.clone()).collect();
    let mut merges_seen = 0;
    let mut last_delta = 0;
    for step in 0..1_000 {
        let snap = registry.snapshot();
        let roll = rng.gen_range(0..10);
        let kind = FacilityKind::ALL[rng.gen_range(0..FacilityKind::ALL.len())];
        if roll < 4 || ids.is_empty() {
            let f = registry
                .create_facility(&who, input(format!("测试设施{step}"), kind, point_in_county(&snap, &mut rng)))
                .await
                .expect("create");
            ids.push(f.id);
            continue;
        }
        let id = ids[rng.gen_range(0..ids.len())].clone();
        let current = snap.facility(&id).expect("in the snapshot").facility.clone();
        assert_eq!(registry.store().facility(&id).await.expect("store"), Some(current.clone()), "{id} at step {step}");
        let closed = current.status == diming::domain::FacilityStatus::Closed;
        match roll {
            4..=5 => {
                let p = point_in_county(&snap, &mut rng);
                let mut change = FacilityInput { lon: Some(p[0]), lat: Some(p[1]), ..FacilityInput::default() };
                if closed {
                    change.status = Some("open".into());
                }
                registry.update_facility(&who, &id, current.version, change).await.expect("move");
            }
            6..=7 => {
                let change = FacilityInput {
                    name: Some(format!("改名设施{step}")),
                    capacity_beds: Some(rng.gen_range(0..300)),
                    status: Some(if rng.gen_bool(0.5) { "planned" } else { "open" }.into()),
                    ..FacilityInput::default()
                };
                registry.update_facility(&who, &id, current.version, change).await.expect("edit");
            }
            _ if !closed => {
                let close = CloseInput { reason: "测试关闭".into(), date: None };
                registry.close_facility(&who, &id, Some(current.version), close).await.expect("close");
            }
            _ => {}
        }
        let delta = registry.snapshot().facility_layer().delta_len();
        if delta < last_delta {
            merges_seen += 1;
        }
        last_delta = delta;
    }
    // The merges ran in the background; at least one must have been folded in by now or soon.
    for _ in 0..100 {
        if merges_seen > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        if registry.snapshot().facility_layer().delta_len() < last_delta {
            merges_seen += 1;
        }
    }
    assert!(merges_seen > 0, "1,000 writes pass the merge threshold: a merge must have happened");

    let incremental = registry.snapshot();
    assert!(incremental.facility_layer().delta_len() > 0 || merges_seen > 0);
    let store = registry.store();
    let scratch = Snapshot::build(
        0,
        store.divisions().await.expect("divisions"),
        store.settlements().await.expect("settlements"),
        store.facilities().await.expect("facilities"),
    );
    let probes: Vec<[f64; 2]> = (0..400).map(|_| [rng.gen_range(85.3..86.85), rng.gen_range(43.2..45.5)]).collect();
    let rules = registry.rules();
    let (a, b) = (answers(&incremental, &probes, &rules), answers(&scratch, &probes, &rules));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y, "incremental vs from scratch");
    }

    // Through HTTP too: a listing page deep in the registry, and a facility just written.
    let total = incremental.facility_count();
    let (status, _, page) =
        common::get_json(&format!("{}/api/v1/facilities?limit=7&offset={}", app.base, total - 10)).await;
    assert_eq!(status, 200);
    assert_eq!(page["numberMatched"].as_u64(), Some(total as u64));
    let expected: Vec<String> = scratch.facilities().skip(total - 10).take(7).map(|f| f.facility.id.clone()).collect();
    let got: Vec<String> = page["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["properties"]["id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(got, expected);

    // Keyset pages (`after=`, then each `next` link), all and of one kind, walk the
    // same ids in the same order as the scratch snapshot, each exactly once.
    for (filter, kind) in [("", None), ("&kind=care_home", Some(FacilityKind::CareHome))] {
        let expected: Vec<String> = scratch
            .facilities()
            .filter(|f| kind.is_none_or(|k| f.facility.kind == k))
            .map(|f| f.facility.id.clone())
            .collect();
        let mut url = format!("{}/api/v1/facilities?limit=97&after=0{filter}", app.base);
        let mut walked = Vec::new();
        loop {
            let (status, _, page) = common::get_json(&url).await;
            assert_eq!(status, 200, "{url}");
            assert_eq!(page["numberMatched"].as_u64(), Some(expected.len() as u64), "{url}");
            walked.extend(
                page["features"]
                    .as_array()
                    .expect("features")
                    .iter()
                    .map(|f| f["id"].as_str().unwrap_or_default().to_string()),
            );
            match page["links"].as_array().cloned().unwrap_or_default().iter().find(|l| l["rel"] == "next") {
                Some(next) => url = format!("{}{}", app.base, next["href"].as_str().expect("href")),
                None => break,
            }
        }
        assert_eq!(walked, expected, "keyset walk{filter}");
    }
}

/// Two instances on one database (on PostgreSQL in the PostgreSQL pass): a follower
/// that is running applies the leader's 100 writes from the change sequence; one
/// that was stopped while they happened starts with them; both then give the
/// leader's answers and report its sequence.
#[tokio::test(flavor = "multi_thread")]
async fn a_follower_catches_up_with_100_writes_whether_it_was_running_or_stopped() {
    let app = common::start_in_process().await;
    let leader = app.state.registry().clone();
    let open = || async {
        let store = diming::store::open(&app.db.url).await.expect("open");
        let rules =
            diming::coverage::Rules::load(&common::manifest_dir().join("data/coverage_rules.toml")).expect("rules");
        let r = diming::registry::Registry::open(store, rules).await.expect("registry");
        r.watch_store();
        r
    };
    let running = open().await;
    let who = Caller::System { what: "leader".into() };
    let mut rng = ChaCha8Rng::seed_from_u64(100);
    let mut ids = Vec::new();
    for i in 0..100 {
        let snap = leader.snapshot();
        if i % 3 == 2 {
            let id: &String = &ids[rng.gen_range(0..ids.len())];
            let f = snap.facility(id).expect("written").facility.clone();
            let p = point_in_county(&snap, &mut rng);
            let change = FacilityInput { lon: Some(p[0]), lat: Some(p[1]), ..FacilityInput::default() };
            leader.update_facility(&who, id, f.version, change).await.expect("move");
        } else {
            let kind = FacilityKind::ALL[i % FacilityKind::ALL.len()];
            let f = leader
                .create_facility(&who, input(format!("跟随测试{i}"), kind, point_in_county(&snap, &mut rng)))
                .await
                .expect("create");
            ids.push(f.id);
        }
    }
    let head = leader.applied_sequence();
    assert_eq!(head, leader.store().change_marker().await.expect("marker"));
    let stopped = open().await;
    // The running follower hears of the writes (NOTIFY, or SQLite's poll) and applies them.
    for _ in 0..200 {
        if running.applied_sequence() >= head {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(running.applied_sequence(), head, "the running follower caught up");
    assert_eq!(stopped.applied_sequence(), head, "the restarted follower starts caught up");
    let probes: Vec<[f64; 2]> = (0..200).map(|_| [rng.gen_range(85.3..86.85), rng.gen_range(43.2..45.5)]).collect();
    let rules = leader.rules();
    let want = answers(&leader.snapshot(), &probes, &rules);
    assert_eq!(answers(&running.snapshot(), &probes, &rules), want, "running follower");
    assert_eq!(answers(&stopped.snapshot(), &probes, &rules), want, "restarted follower");
}
