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
