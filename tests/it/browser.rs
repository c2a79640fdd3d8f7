//! The page in a real headless Chromium (Debian's), driven by
//! tests/browser/planner.mjs through puppeteer-core. Screenshots are written to
//! artifacts/browser/. `scripts/test.sh` installs Chromium and the Node packages.

use crate::common;

use diming::domain::Role;

const PASSWORD: &str = "browser test password";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_planner_map_and_facility_editing_work_in_chromium() {
    let app = common::start_in_process().await;
    for (name, role) in [
        ("planner_viewer", Role::Viewer),
        ("zoning_editor", Role::Editor),
        ("section_chief", Role::Approver),
        ("bureau_admin", Role::Admin),
    ] {
        let new = diming::store::NewUser {
            username: name.into(),
            display_name: format!("测试{}", role.label_zh()),
            role,
            password_hash: diming::accounts::hash_password(PASSWORD).expect("hash"),
        };
        app.state.store().create_user(&new, &diming::store::Actor::system("test")).await.expect("user");
    }
    // Two webhook subscriptions, one of them failing (as a deliverer records it).
    let system = diming::accounts::Caller::System { what: "browser test".into() };
    let registry = app.state.registry();
    for url in ["https://platform.example.gov.cn/hooks/diming", "http://127.0.0.1:9/<img src=x onerror=alert(1)>"] {
        let input = diming::registry::webhooks::WebhookInput { url: url.into(), ..Default::default() };
        registry.create_webhook(&system, input).await.expect("subscribe");
    }
    let store = registry.store();
    assert!(store.claim_webhook(2, "browser-test", 0, i64::MAX).await.expect("claim"));
    let failed = diming::store::Attempt {
        webhook_id: 2,
        owner: "browser-test".into(),
        delivery: Some(diming::store::Delivery {
            id: 0,
            webhook_id: 2,
            at: "2026-12-06T08:00:00Z".into(),
            first_seq: 1,
            last_seq: 1,
            changes: 1,
            status_code: Some(500),
            error: Some("HTTP 500".into()),
            duration_ms: 3,
            ok: false,
        }),
        delivered_through: None,
        attempts: 9,
        status: diming::store::WebhookStatus::Failing,
        failing_since_ms: Some(1_765_000_000_000),
        next_attempt_ms: i64::MAX,
    };
    store.record_attempt(&failed).await.expect("a failing subscription");
    let env = [
        ("DIMING_ADMIN", "bureau_admin"),
        ("DIMING_VIEWER", "planner_viewer"),
        ("DIMING_EDITOR", "zoning_editor"),
        ("DIMING_APPROVER", "section_chief"),
        ("DIMING_PASSWORD", PASSWORD),
    ];
    run_script("planner.mjs", &app.base, &env, 52).await;
}

/// Runs a script of tests/browser against `base`; it must pass at least `min_checks`.
async fn run_script(script: &str, base: &str, env: &[(&'static str, &'static str)], min_checks: usize) {
    let dir = common::manifest_dir();
    let artifacts = dir.join("artifacts/browser");
    let mut cmd = std::process::Command::new("node");
    cmd.arg(dir.join("tests/browser").join(script))
        .current_dir(dir.join("tests/browser"))
        .env("DIMING_BASE", base)
        .env("DIMING_ARTIFACTS", &artifacts)
        .envs(env.iter().copied());
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("node (scripts/test.sh installs it with Chromium and puppeteer-core)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(out.status.success(), "{script}: browser checks failed:\n{stdout}\n{stderr}");
    let report: serde_json::Value =
        serde_json::from_str(stdout.trim().lines().last().unwrap_or("{}")).expect("json report");
    assert_eq!(report["ok"], true);
    assert!(report["checks"].as_array().is_some_and(|c| c.len() >= min_checks), "{report}");
}

/// The region picker, a prefecture's county choropleth and the drill-down to two
/// counties (呼图壁县, 朝阳区), over a registry `diming init --region` built:
/// tests/browser/region.mjs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_region_picker_shows_a_prefecture_per_county_and_each_county_in_chromium() {
    let tmp = common::TempDir::new("browser-region");
    let url = tmp.sqlite_url("diming.db");
    for region in ["6523", "110105"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_diming"))
            .args(["init", "--region", region, "--sample-facilities", "--database", &url])
            .current_dir(common::manifest_dir())
            .output()
            .expect("diming init");
        assert!(out.status.success(), "init {region}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let served = common::spawn_serve(&url, &[]).expect("serve");
    run_script("region.mjs", &served.base, &[], 23).await;
}
