//! The store's promises: every write is one transaction with its history row and
//! audit entry; a stale version changes nothing; concurrent edits lose nothing.

use crate::common;

use diming::domain::{FacilityKind, FacilityStatus, LonLat, NewFacility, Provenance};
use diming::store::{Actor, LoadOutcome, Store, StoreError};
use std::sync::Arc;

async fn loaded() -> (Arc<dyn Store>, common::TestDb) {
    let dir = common::TestDb::new("store");
    let store = diming::store::open(&dir.url).await.expect("open");
    let ds = diming::import::dataset::load_dir(&common::manifest_dir().join("data/manas")).expect("dataset");
    assert!(matches!(store.load_dataset(&ds, &Actor::system("test")).await.expect("load"), LoadOutcome::Loaded { .. }));
    assert!(matches!(
        store.load_dataset(&ds, &Actor::system("test")).await.expect("load"),
        LoadOutcome::AlreadyLoaded { .. }
    ));
    (store, dir)
}

fn new_care_home() -> NewFacility {
    NewFacility {
        name: "兰州湾镇敬老院".into(),
        kind: FacilityKind::CareHome,
        township_code: "652324106".parse().expect("code"),
        location: LonLat::try_from([86.455, 44.34]).expect("point"),
        status: FacilityStatus::Planned,
        capacity_beds: Some(60),
        operator: Some("public".into()),
        attributes: serde_json::Map::new(),
        provenance: Provenance::Registered,
    }
}

#[tokio::test]
async fn creating_a_facility_writes_version_1_with_history_and_audit() {
    let (store, _dir) = loaded().await;
    let f = store.create_facility(&new_care_home(), &Actor("user:zhang".into())).await.expect("create");
    assert_eq!(f.version, 1);
    assert_eq!(f.id, "f0181");
    let h = store.history("facility", &f.id).await.expect("history");
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].action, "create");
    let a = store.audit("facility", &f.id).await.expect("audit");
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].actor, "user:zhang");
    assert!(a[0].before.is_none());
    assert_eq!(a[0].after.as_ref().expect("after")["name"], "兰州湾镇敬老院");
}

/// Generated ids count on from the largest loaded one, past an id given
/// explicitly (never reusing a number), and go on counting in a later
/// transaction and after a reopen.
#[tokio::test]
async fn generated_ids_count_past_loaded_and_explicit_ids_without_reuse() {
    let (store, dir) = loaded().await;
    let actor = Actor("user:zhang".into());
    let a = store.create_facility(&new_care_home(), &actor).await.expect("create");
    // In one import: an explicit id just ahead of the count, then generated ones.
    let ops = [
        diming::store::ImportOp::CreateFacility { id: Some("f0183".into()), fields: new_care_home() },
        diming::store::ImportOp::CreateFacility { id: None, fields: new_care_home() },
        diming::store::ImportOp::CreateFacility { id: None, fields: new_care_home() },
    ];
    let ids = store.import(&ops, &actor, &|_| {}).await.expect("import");
    let b = store.create_facility(&new_care_home(), &actor).await.expect("create");
    drop(store);
    let store = diming::store::open(&dir.url).await.expect("reopen");
    let c = store.create_facility(&new_care_home(), &actor).await.expect("create");
    assert_eq!(a.id, "f0181");
    assert_eq!(ids, ["f0183", "f0184", "f0185"], "counted on past the explicit id");
    assert_eq!((b.id.as_str(), c.id.as_str()), ("f0186", "f0187"));
}

#[tokio::test]
async fn an_update_at_the_current_version_bumps_it_and_keeps_before_and_after() {
    let (store, _dir) = loaded().await;
    let f = store.create_facility(&new_care_home(), &Actor("user:zhang".into())).await.expect("create");
    let mut change = new_care_home();
    change.status = FacilityStatus::Open;
    change.capacity_beds = Some(80);
    let g = store.update_facility(&f.id, 1, &change, "update", &Actor("user:li".into())).await.expect("update");
    assert_eq!(g.version, 2);
    let h = store.history("facility", &f.id).await.expect("history");
    assert_eq!(h.iter().map(|r| r.version).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(h[1].data["capacity_beds"], 80);
    let a = store.audit("facility", &f.id).await.expect("audit");
    assert_eq!(a[1].before.as_ref().expect("before")["capacity_beds"], 60);
    assert_eq!(a[1].after.as_ref().expect("after")["status"], "open");
}

#[tokio::test]
async fn a_stale_update_changes_nothing() {
    let (store, _dir) = loaded().await;
    let before = store.facility("f0001").await.expect("get").expect("exists");
    let mut change = new_care_home();
    change.name = "改名".into();
    let err = store.update_facility("f0001", 7, &change, "update", &Actor("user:li".into())).await.expect_err("stale");
    assert!(matches!(err, StoreError::Stale { current: 1, expected: 7, .. }), "{err}");
    assert_eq!(store.facility("f0001").await.expect("get").expect("exists"), before);
    assert_eq!(store.history("facility", "f0001").await.expect("history").len(), 1);
    let missing =
        store.update_facility("f9999", 1, &change, "update", &Actor("user:li".into())).await.expect_err("missing");
    assert!(matches!(missing, StoreError::NotFound { .. }));
}

#[tokio::test]
async fn two_concurrent_edits_of_one_version_one_wins_one_is_stale_nothing_lost() {
    let (store, _dir) = loaded().await;
    let mut a = new_care_home();
    a.name = "甲".into();
    let mut b = new_care_home();
    b.name = "乙".into();
    let (s1, s2) = (store.clone(), store.clone());
    let t1 = tokio::spawn(async move { s1.update_facility("f0003", 1, &a, "update", &Actor("user:a".into())).await });
    let t2 = tokio::spawn(async move { s2.update_facility("f0003", 1, &b, "update", &Actor("user:b".into())).await });
    let r1 = t1.await.expect("join");
    let r2 = t2.await.expect("join");
    let ok = [&r1, &r2].iter().filter(|r| r.is_ok()).count();
    let stale = [&r1, &r2].iter().filter(|r| matches!(r, Err(StoreError::Stale { .. }))).count();
    assert_eq!((ok, stale), (1, 1), "{r1:?} {r2:?}");
    let winner = if r1.is_ok() { "甲" } else { "乙" };
    assert_eq!(store.facility("f0003").await.expect("get").expect("exists").name, winner);
    let h = store.history("facility", "f0003").await.expect("history");
    assert_eq!(h.len(), 2);
    assert_eq!(h[1].data["name"], winner);
}

/// An import's runs of new facilities go in multi-row statements: 2,500 rows across
/// batch boundaries, ids given and generated, an update in the middle, end up as
/// the same records, history rows and audit chain as writes one by one would —
/// every row its own link of the chain, in order, verified by `diming audit verify`;
/// an id given twice in the file, or one the registry holds, refuses the whole import.
#[tokio::test]
async fn a_large_import_batches_its_new_facilities_and_the_audit_chain_verifies() {
    let (store, dir) = loaded().await;
    let actor = Actor("user:import".into());
    let before = store.change_marker().await.expect("marker");
    let mut ops = Vec::new();
    for i in 0..2_500u32 {
        let mut f = new_care_home();
        f.name = format!("批量导入敬老院{i}");
        // Coordinates with all 17 digits, as reprojected ones have: the chain must
        // hash what a reader parses back (serde_json's exact float parsing).
        f.location = LonLat::try_from([86.455 + f64::from(i) / 3.0e6, 44.34 + f64::from(i) / 7.0e6]).expect("point");
        let id = (i % 7 == 3).then(|| format!("imp-{i}"));
        ops.push(diming::store::ImportOp::CreateFacility { id, fields: f });
        if i == 1_200 {
            let mut change = new_care_home();
            change.name = "导入中途修改".into();
            ops.push(diming::store::ImportOp::UpdateFacility {
                id: "f0002".into(),
                expected_version: 1,
                fields: change,
            });
        }
    }
    let ids = store.import(&ops, &actor, &|_| {}).await.expect("import");
    assert_eq!(ids.len(), 2_501);
    assert_eq!(ids[3], "imp-3");
    assert_eq!(ids[0], "f0181");
    assert_eq!(ids[1_201], "f0002", "the update in the middle keeps its place");
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "no id twice");
    // One change per row, numbered on from the marker without a gap.
    let changes = store.changes_after(before, 10_000).await.expect("changes");
    assert_eq!(changes.len(), 2_501);
    assert!(changes.windows(2).all(|w| w[1].seq == w[0].seq + 1));
    assert_eq!(
        changes.iter().map(|c| c.entity_id.as_str()).collect::<Vec<_>>(),
        ids.iter().map(String::as_str).collect::<Vec<_>>()
    );
    for id in [&ids[0], &ids[999], &ids[1_000], &ids[2_500]] {
        let h = store.history("facility", id).await.expect("history");
        assert_eq!((h.len(), h[0].action.as_str(), h[0].actor.as_str()), (1, "create", "user:import"), "{id}");
        let f = store.facility(id).await.expect("get").expect("stored");
        assert_eq!(h[0].data["name"], f.name);
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_diming"))
        .args(["audit", "verify", "--database", &dir.url])
        .output()
        .expect("verify");
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));

    // Refused whole: an id twice in the file, or one the registry holds.
    let marker = store.change_marker().await.expect("marker");
    for dup in ["imp-dup", "imp-3"] {
        let ops: Vec<_> = [Some(dup), None, Some("imp-dup")]
            .into_iter()
            .map(|id| diming::store::ImportOp::CreateFacility { id: id.map(str::to_string), fields: new_care_home() })
            .collect();
        let ops = if dup == "imp-3" { ops[..2].to_vec() } else { ops };
        let err = store.import(&ops, &actor, &|_| {}).await.expect_err("duplicate");
        assert!(matches!(err, StoreError::Duplicate { .. }), "{err}");
    }
    assert_eq!(store.change_marker().await.expect("marker"), marker, "nothing written");
}
