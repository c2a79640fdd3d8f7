//! Coverage against hand-checked fixtures (one per rule type), a brute-force
//! oracle, and the HTTP and CLI surfaces: what-if equals a real write, gaps equal
//! the uncovered lists, siting's gains are what what-if then shows.

use crate::common;

use common::get_json;
use diming::coverage::{compute, supplies, CoverageOptions, Rules, Supply};
use diming::domain::{Division, DivisionLevel, Facility, FacilityKind, FacilityStatus, LonLat, Provenance, Settlement};
use diming::spatial::{Snapshot, StatusSet};
use geo_types::{polygon, Geometry, MultiPolygon};
use geographiclib_rs::{Geodesic, InverseGeodesic};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

const OPEN: CoverageOptions = CoverageOptions { include_xpcc: false, statuses: StatusSet(1), area: None };

fn square(x0: f64, x1: f64) -> Option<Geometry<f64>> {
    Some(Geometry::MultiPolygon(MultiPolygon(vec![
        polygon![(x: x0, y: 44.0), (x: x1, y: 44.0), (x: x1, y: 44.1), (x: x0, y: 44.1), (x: x0, y: 44.0)],
    ])))
}

fn division(code: &str, level: DivisionLevel, geometry: Option<Geometry<f64>>) -> Division {
    Division {
        code: code.parse().expect("code"),
        level,
        name: format!("单位{code}"),
        pinyin: String::new(),
        parent_code: code.parse::<diming::domain::DivisionCode>().expect("code").parent().filter(|_| code.len() > 6),
        geometry,
        is_xpcc: false,
        provenance: Provenance::Real,
        geometry_provenance: Some(Provenance::Synthetic),
        valid_from: "2023-06-30".into(),
        valid_to: None,
        properties: serde_json::Map::new(),
        version: 1,
    }
}

fn settlement(code: &str, lon: f64, population: u64, elderly: u64) -> Settlement {
    Settlement {
        code: code.parse().expect("code"),
        name: format!("居民点{code}"),
        short_name: format!("居民点{code}"),
        township_code: code[..9].parse().expect("code"),
        village_kind: "village".into(),
        location: LonLat::try_from([lon, 44.05]).expect("point"),
        population: Some(population),
        population_60plus: Some(elderly),
        is_xpcc: false,
        provenance: Provenance::Real,
        location_provenance: Provenance::Synthetic,
        population_provenance: Some(Provenance::Synthetic),
        version: 1,
    }
}

fn facility(id: &str, township: &str, lon: f64, beds: u32) -> Facility {
    Facility {
        id: id.into(),
        name: format!("设施{id}"),
        kind: FacilityKind::CareHome,
        township_code: township.parse().expect("code"),
        location: LonLat::try_from([lon, 44.05]).expect("point"),
        status: FacilityStatus::Open,
        capacity_beds: Some(beds),
        operator: Some("public".into()),
        attributes: serde_json::Map::new(),
        provenance: Provenance::Synthetic,
        version: 1,
        updated_at: "2024-01-01T00:00:00Z".into(),
    }
}

/// Two townships side by side, three settlements, two care homes:
/// s1 (86.02) is 80 m from f1 (86.021); s2 (86.09) is ≈ 5.5 km from f1 and ≈ 8 km
/// from f2; s3 (86.15) is ≈ 3.2 km from f2 (86.19).
fn fixture() -> Snapshot {
    let divisions = vec![
        division("652324", DivisionLevel::County, square(86.0, 86.2)),
        division("652324101", DivisionLevel::Township, square(86.0, 86.1)),
        division("652324102", DivisionLevel::Township, square(86.1, 86.2)),
    ];
    let settlements = vec![
        settlement("652324101201", 86.02, 1000, 200),
        settlement("652324101202", 86.09, 3000, 500),
        settlement("652324102201", 86.15, 2000, 400),
    ];
    let facilities = vec![facility("f1", "652324101", 86.021, 20), facility("f2", "652324102", 86.19, 30)];
    Snapshot::build(1, divisions, settlements, facilities)
}

fn rule(toml: &str) -> diming::coverage::Rule {
    let rules: Rules = toml.parse().expect("rules");
    rules.rules[0].clone()
}

#[test]
fn a_distance_rule_covers_what_lies_within_the_radius() {
    let snap = fixture();
    let r = rule("[care_home]\ntype = \"distance\"\nradius_m = 5000\ntarget = 0.9\n");
    let c = compute(&snap, &r, &OPEN, supplies(&snap, &r, &OPEN));
    let a = &c.townships[0];
    assert_eq!((a.settlements, a.settlements_covered, a.population, a.population_covered), (2, 1, 4000, 1000));
    assert_eq!(a.uncovered, ["652324101202"]);
    assert!((a.coverage_ratio - 0.25).abs() < 1e-12);
    assert!(!a.meets_target);
    let b = &c.townships[1];
    assert_eq!((b.population, b.population_covered, b.meets_target), (2000, 2000, true));
    assert_eq!((c.county.population, c.county.population_covered), (6000, 3000));
    assert!((c.county.coverage_ratio - 0.5).abs() < 1e-12);
    // The nearest distances are the geodesic ones.
    let g = Geodesic::new(6_378_137.0, 1.0 / 298.257_222_101);
    let d: f64 = g.inverse(44.05, 86.09, 44.05, 86.021);
    let s2 = c.results.iter().find(|r| r.idx == 1).expect("s2");
    assert!((s2.nearest_distance_m.expect("d") - d).abs() < 1e-6);
    assert_eq!(s2.nearest_facility_id.as_deref(), Some("f1"));
    // A larger radius covers s2 too.
    let wide = r.with_radius(5_600.0);
    assert_eq!(compute(&snap, &wide, &OPEN, supplies(&snap, &wide, &OPEN)).county.population_covered, 6000);
}

#[test]
fn a_presence_rule_counts_the_settlements_own_village_or_township() {
    let snap = fixture();
    let town = rule("[care_home]\ntype = \"presence\"\nscope = \"township\"\n");
    let c = compute(&snap, &town, &OPEN, supplies(&snap, &town, &OPEN));
    assert_eq!(c.county.population_covered, 6000);
    let only_f1: Vec<Supply> = supplies(&snap, &town, &OPEN).into_iter().filter(|s| s.id == "f1").collect();
    let c = compute(&snap, &town, &OPEN, only_f1);
    assert_eq!(c.townships[1].population_covered, 0);
    assert_eq!(c.townships[0].population_covered, 4000);
    // Village scope: a facility counts for the settlement nearest to it in its township.
    let village = rule("[care_home]\ntype = \"presence\"\nscope = \"village\"\n");
    let c = compute(&snap, &village, &OPEN, supplies(&snap, &village, &OPEN));
    assert_eq!(c.townships[0].uncovered, ["652324101202"]);
    assert_eq!(c.townships[1].settlements_covered, 1);
    assert_eq!(c.county.population_covered, 3000);
}

#[test]
fn a_capacity_rule_weighs_beds_against_the_norm() {
    let snap = fixture();
    let r = rule("[care_home]\ntype = \"capacity\"\nper = \"elderly\"\nbeds_per_1000 = 40\ntarget = 1.0\n");
    let c = compute(&snap, &r, &OPEN, supplies(&snap, &r, &OPEN));
    assert_eq!(c.population_unit, "residents_60plus");
    let a = &c.townships[0];
    // 700 elderly need 28 beds; 20 beds serve 500 of them.
    assert_eq!((a.population, a.population_covered, a.beds, a.beds_required), (700, 500, Some(20), Some(28.0)));
    assert!(!a.meets_target);
    let b = &c.townships[1];
    // 400 elderly need 16 beds; 30 beds serve them all.
    assert_eq!((b.population, b.population_covered, b.meets_target), (400, 400, true));
    let per_pop = rule("[care_home]\ntype = \"capacity\"\nper = \"population\"\nbeds_per_1000 = 5\n");
    let c = compute(&snap, &per_pop, &OPEN, supplies(&snap, &per_pop, &OPEN));
    // 4000 residents need 20 beds: exactly met.
    assert_eq!((c.townships[0].population_covered, c.townships[0].meets_target), (4000, true));
}

#[test]
fn closed_and_planned_facilities_count_only_when_asked() {
    let mut snapf = fixture();
    let divisions: Vec<Division> = snapf.divisions().iter().map(|d| d.division.clone()).collect();
    let settlements: Vec<Settlement> = snapf.settlements().iter().map(|s| s.settlement.clone()).collect();
    let mut facilities: Vec<Facility> = snapf.facilities().map(|f| f.facility.clone()).collect();
    facilities[1].status = FacilityStatus::Planned;
    snapf = Snapshot::build(2, divisions, settlements, facilities);
    let r = rule("[care_home]\ntype = \"distance\"\nradius_m = 5000\n");
    assert_eq!(compute(&snapf, &r, &OPEN, supplies(&snapf, &r, &OPEN)).townships[1].population_covered, 0);
    let both = CoverageOptions { include_xpcc: false, statuses: StatusSet(0b011), area: None };
    assert_eq!(compute(&snapf, &r, &both, supplies(&snapf, &r, &both)).townships[1].population_covered, 2000);
}

#[tokio::test]
async fn the_engine_equals_a_brute_force_oracle_on_random_facilities() {
    let app = common::start_in_process().await;
    let snap = app.state.snapshot();
    let g = Geodesic::new(6_378_137.0, 1.0 / 298.257_222_101);
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for round in 0..20 {
        let radius = rng.gen_range(1_000.0..20_000.0);
        let r = rule(&format!("[care_home]\ntype = \"distance\"\nradius_m = {radius}\ntarget = 0.8\n"));
        let mut sup = Vec::new();
        while sup.len() < rng.gen_range(1..60) {
            let p = [rng.gen_range(85.6..86.55), rng.gen_range(43.4..45.33)];
            if let Some(t) = snap.township_at(p[0], p[1]) {
                sup.push(Supply {
                    id: format!("r{}", sup.len()),
                    point: p,
                    township_code: t.division.code.to_string(),
                    beds: 0,
                    serves: None,
                });
            }
        }
        let include_xpcc = round % 2 == 0;
        let opts = CoverageOptions { include_xpcc, statuses: StatusSet(1), area: None };
        let c = compute(&snap, &r, &opts, sup.clone());
        // Oracle: every settlement against every facility.
        let mut expect: std::collections::BTreeMap<String, (u64, u64, usize)> = Default::default();
        for s in snap.settlements().iter().map(|s| &s.settlement) {
            if s.is_xpcc && !include_xpcc {
                continue;
            }
            let covered = sup.iter().any(|f| {
                let d: f64 = g.inverse(s.location.lat(), s.location.lon(), f.point[1], f.point[0]);
                d <= radius
            });
            let e = expect.entry(s.township_code.to_string()).or_default();
            e.0 += s.population.unwrap_or(0);
            e.1 += if covered { s.population.unwrap_or(0) } else { 0 };
            e.2 += usize::from(covered);
        }
        let got: std::collections::BTreeMap<String, (u64, u64, usize)> = c
            .townships
            .iter()
            .map(|t| (t.code.clone(), (t.population, t.population_covered, t.settlements_covered)))
            .collect();
        assert_eq!(got, expect, "round {round} radius {radius}");
    }
}

async fn coverage_json(base: &str, q: &str) -> serde_json::Value {
    let (status, _, body) = get_json(&format!("{base}/api/v1/coverage?{q}")).await;
    assert_eq!(status, 200, "{q}: {body}");
    body
}

#[tokio::test]
async fn coverage_over_http_has_the_api_shape_and_excludes_xpcc_by_default() {
    let app = common::start_in_process().await;
    let c = coverage_json(&app.base, "kind=care_home&radius_m=5000").await;
    assert_eq!(c["kind"], "care_home");
    assert_eq!(c["rule"]["type"], "distance");
    assert_eq!(c["rule"]["radius_m"], 5000.0);
    assert_eq!(c["townships"].as_array().expect("t").len(), 14);
    let t = &c["townships"][0];
    for key in [
        "code",
        "name",
        "settlements",
        "settlements_covered",
        "population",
        "population_covered",
        "coverage_ratio",
        "target",
        "meets_target",
        "uncovered",
    ] {
        assert!(t.get(key).is_some(), "township lacks {key}");
    }
    assert_eq!(c["county"]["population"], 192_098, "county-run population is the census figure");
    assert_eq!(c["synthetic_data"], true);
    let all = coverage_json(&app.base, "kind=care_home&radius_m=5000&include_xpcc=true").await;
    assert_eq!(all["townships"].as_array().expect("t").len(), 19);
    // Without radius_m the kind's default rule applies, and says so.
    let d = coverage_json(&app.base, "kind=community_service").await;
    assert_eq!(d["rule"]["type"], "presence");
    assert_eq!(d["rule"]["id"], "community_service");
    let beds = coverage_json(&app.base, "kind=care_home&rule=care_home_beds").await;
    assert_eq!(beds["population_unit"], "residents_60plus");
}

#[tokio::test]
async fn gaps_are_exactly_the_uncovered_settlements() {
    let app = common::start_in_process().await;
    for q in [
        "kind=care_home&radius_m=5000",
        "kind=community_service",
        "kind=cemetery",
        "kind=care_home&radius_m=3000&include_xpcc=true",
    ] {
        let c = coverage_json(&app.base, q).await;
        let mut uncovered: Vec<String> = c["townships"]
            .as_array()
            .expect("t")
            .iter()
            .flat_map(|t| t["uncovered"].as_array().expect("u").iter().map(|u| u.as_str().expect("s").to_string()))
            .collect();
        uncovered.sort();
        let (status, ct, gaps) = get_json(&format!("{}/api/v1/coverage/gaps?{q}", app.base)).await;
        assert_eq!((status, ct.as_str()), (200, "application/geo+json"));
        let mut codes: Vec<String> = gaps["features"]
            .as_array()
            .expect("f")
            .iter()
            .map(|f| f["properties"]["code"].as_str().expect("c").to_string())
            .collect();
        codes.sort();
        assert_eq!(codes, uncovered, "{q}");
        for f in gaps["features"].as_array().expect("f") {
            let p = &f["properties"];
            assert!(p["nearest_facility_id"].is_string() || p["nearest_facility_id"].is_null());
            // A real name at a synthetic point with a synthetic population.
            assert_eq!((&p["provenance"], &p["location_provenance"]), (&"real".into(), &"synthetic".into()));
        }
    }
}

#[tokio::test]
async fn what_if_equals_a_real_add_and_close_followed_by_coverage() {
    let app = common::start_in_process().await;
    let q = "kind=care_home&radius_m=8000";
    let before = coverage_json(&app.base, q).await;
    let body = json!({"kind": "care_home", "radius_m": 8000, "add": [{"lon": 86.23, "lat": 43.93, "name": "塔西河乡敬老院（拟建）"}], "remove": ["f0007"]});
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/coverage/what-if", app.base))
        .json(&body)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 200);
    let as_if: serde_json::Value = res.json().await.expect("json");
    assert_eq!(as_if["what_if"]["written"], false);
    assert!(!as_if["what_if"]["townships_changed"].as_array().expect("c").is_empty());
    // Nothing was written.
    assert_eq!(coverage_json(&app.base, q).await, before);
    // Now really do it: register the home, close f0007.
    let store = app.state.store();
    let new = diming::domain::NewFacility {
        name: "塔西河乡敬老院".into(),
        kind: FacilityKind::CareHome,
        township_code: "652324203".parse().expect("code"),
        location: LonLat::try_from([86.23, 43.93]).expect("p"),
        status: FacilityStatus::Open,
        capacity_beds: Some(40),
        operator: Some("public".into()),
        attributes: serde_json::Map::new(),
        provenance: Provenance::Registered,
    };
    let actor = diming::store::Actor("user:test".into());
    store.create_facility(&new, &actor).await.expect("create");
    let f7 = store.facility("f0007").await.expect("get").expect("f0007");
    let closed =
        diming::domain::NewFacility { status: FacilityStatus::Closed, ..diming::domain::NewFacility::from(&f7) };
    store.update_facility("f0007", f7.version, &closed, "close", &actor).await.expect("close");
    app.state.refresh().await.expect("refresh");
    let after = coverage_json(&app.base, q).await;
    assert_eq!(after["townships"], as_if["townships"]);
    assert_eq!(after["county"], as_if["county"]);
}

#[tokio::test]
async fn siting_gains_are_what_building_the_sites_would_add() {
    let app = common::start_in_process().await;
    let (status, _, s) =
        get_json(&format!("{}/api/v1/coverage/siting?kind=care_home&radius_m=5000&count=4", app.base)).await;
    assert_eq!(status, 200, "{s}");
    let picks = s["picks"].as_array().expect("picks");
    assert_eq!(picks.len(), 4);
    let gains: Vec<u64> = picks.iter().map(|p| p["gain_population"].as_u64().expect("gain")).collect();
    assert!(gains.windows(2).all(|w| w[0] >= w[1]), "greedy gains must not grow: {gains:?}");
    assert!(gains[0] > 0);
    for p in picks {
        assert!(p["township_name"].is_string(), "{p}");
    }
    let add: Vec<serde_json::Value> = picks.iter().map(|p| json!({"lon": p["lon"], "lat": p["lat"]})).collect();
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/coverage/what-if", app.base))
        .json(&json!({"kind": "care_home", "radius_m": 5000, "add": add}))
        .send()
        .await
        .expect("post");
    let as_if: serde_json::Value = res.json().await.expect("json");
    let before = as_if["what_if"]["county_before"]["population_covered"].as_u64().expect("before");
    let after = as_if["county"]["population_covered"].as_u64().expect("after");
    assert_eq!(after - before, gains.iter().sum::<u64>());
    // Presence rules site the uncovered villages with the most people first.
    let (_, _, v) = get_json(&format!("{}/api/v1/coverage/siting?kind=community_service&count=3", app.base)).await;
    let g: Vec<u64> =
        v["picks"].as_array().expect("p").iter().map(|p| p["gain_population"].as_u64().expect("g")).collect();
    assert!(g.windows(2).all(|w| w[0] >= w[1]) && !g.is_empty(), "{v}");
}

#[tokio::test]
async fn bad_coverage_requests_get_problems_naming_the_field() {
    let app = common::start_in_process().await;
    // Each value valid, together refused: 422.
    for (q, field) in [("/api/v1/coverage", "kind"), ("/api/v1/coverage?kind=cemetery&rule=care_home_beds", "rule")] {
        let (status, ct, body) = get_json(&format!("{}{q}", app.base)).await;
        assert_eq!((status, ct.as_str()), (422, "application/problem+json"), "{q}: {body}");
        assert_eq!(body["errors"][0]["field"], field, "{q}: {body}");
    }
    for (q, field) in [
        ("/api/v1/coverage?kind=spaceport", "kind"),
        ("/api/v1/coverage?kind=care_home&rule=nope", "rule"),
        ("/api/v1/coverage?kind=care_home&radius_m=0", "radius_m"),
        ("/api/v1/coverage?kind=care_home&radius_m=abc", "radius_m"),
        ("/api/v1/coverage?kind=care_home&include_xpcc=maybe", "include_xpcc"),
        ("/api/v1/coverage?kind=care_home&status=gone", "status"),
        ("/api/v1/coverage/gaps?kind=care_home&radius_m=-1", "radius_m"),
        ("/api/v1/coverage/siting?kind=care_home&count=0", "count"),
        ("/api/v1/coverage/siting?kind=care_home&count=51", "count"),
        ("/api/v1/coverage/siting?kind=care_home&rule=care_home_beds", "rule"),
    ] {
        let (status, ct, body) = get_json(&format!("{}{q}", app.base)).await;
        assert_eq!((status, ct.as_str()), (400, "application/problem+json"), "{q}: {body}");
        let fields: Vec<&str> =
            body["errors"].as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect();
        assert!(fields.contains(&field), "{q}: {fields:?}");
    }
    let client = reqwest::Client::new();
    let url = format!("{}/api/v1/coverage/what-if", app.base);
    for (body, status, field) in [
        ("{not json".to_string(), 400, "body"),
        (json!({"kind": "care_home", "add": [{"lat": 44.3}]}).to_string(), 400, "add[0]"),
        (json!({"kind": "care_home", "add": [{"lon": "x", "lat": 44.3}]}).to_string(), 400, "add[0].lon"),
        (json!({"kind": "care_home", "add": [{"lon": 116.4, "lat": 39.9}]}).to_string(), 422, "add[0]"),
        (json!({"kind": "care_home", "add": [{"lon": 200.0, "lat": 39.9}]}).to_string(), 400, "add[0].lon"),
        (json!({"kind": "care_home", "remove": ["f9999"]}).to_string(), 422, "remove[0]"),
        (json!({"kind": "care_home", "colour": "red"}).to_string(), 400, "colour"),
        (json!({"kind": "spaceport"}).to_string(), 400, "kind"),
    ] {
        let res =
            client.post(&url).header("content-type", "application/json").body(body.clone()).send().await.expect("post");
        assert_eq!(res.status(), status, "{body}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let p: serde_json::Value = res.json().await.expect("json");
        let fields: Vec<String> = p["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .filter_map(|e| e["field"].as_str().map(str::to_string))
            .collect();
        assert!(fields.iter().any(|f| f.starts_with(field)), "{body}: {fields:?}");
    }
}

#[tokio::test]
async fn the_rules_are_served_with_their_plan_sentences() {
    let app = common::start_in_process().await;
    let (status, _, r) = get_json(&format!("{}/api/v1/coverage/rules", app.base)).await;
    assert_eq!(status, 200);
    let rules = r["rules"].as_array().expect("rules");
    let cs = rules.iter().find(|r| r["id"] == "community_service").expect("community_service");
    assert!(cs["plan"].as_str().expect("plan").contains("全覆盖"));
}

#[test]
fn the_coverage_command_prints_townships_in_chinese_as_a_table_and_csv() {
    let db = common::TestDb::new("cov-cli");
    let url = db.url.clone();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_diming"))
            .args(["coverage", "--database", &url])
            .args(args)
            .current_dir(common::manifest_dir())
            .output()
            .expect("run");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8")
    };
    let table = run(&["--kind", "care_home", "--radius-m", "5000"]);
    assert!(table.contains("乐土驿镇") && table.contains("覆盖率") && table.contains("合成"), "{table}");
    let csv = run(&["--kind", "care_home", "--format", "csv"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + 14, "{csv}");
    assert!(lines[0].starts_with("code,name,"));
    assert!(lines.iter().any(|l| l.starts_with("652324101,乐土驿镇,")));
    let json: serde_json::Value =
        serde_json::from_str(&run(&["--kind", "cemetery", "--format", "json"])).expect("json");
    assert_eq!(json["kind"], "cemetery");
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_diming"))
        .args(["coverage", "--database", &url, "--kind", "spaceport"])
        .output()
        .expect("run");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("kind"));
}
