//! The dashboard in headless Chromium against the real server with auth on: sign in with the
//! admin key, classify a cat photo and see "cat", open every tab and see the data this test
//! created there, no console errors, keyboard navigation of the tabs, and axe-core at 360 px
//! with no serious or critical violations. Screenshots of each tab (desktop and 360 px) go to
//! `<target dir>/dashboard-screenshots/`.
//!
//! Needs `chromium`, `chromium-driver` (Debian) and axe-core (`npm ci --prefix
//! crates/cli/tests/browser`); `.ci/run` installs them. Without them the test prints why and
//! passes, unless `CI=true`, where it fails.

mod browser;
mod common;

use browser::{Browser, Driver, Tools};
use common::*;
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

/// `<target dir>/dashboard-screenshots`, next to the binary's `debug/` (or `release/`).
fn screenshots() -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_infergate"));
    bin.parent().unwrap().parent().unwrap().join("dashboard-screenshots")
}

/// Selects a tab by clicking it and waits until its panel shows `ready` (a JS expression).
async fn open_tab(b: &Browser, id: &str, what: &str, ready: &str) {
    b.click(&format!("#tab-{id}")).await;
    b.wait_for(
        &format!("the {id} tab to show {what}"),
        &format!("return !document.querySelector('#panel-{id}').hidden && ({ready})"),
        WAIT,
    )
    .await;
}

async fn shoot(b: &Browser, name: &str) {
    b.screenshot(&screenshots().join(format!("{name}.png"))).await;
}

/// Runs `infergate ARGS --data-dir DIR`; its stdout.
fn cli(dir: &std::path::Path, args: &[&str]) -> String {
    let out = infergate().arg("--data-dir").arg(dir).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// `infergate agent` for one device, reporting every second, with no power sensor; killed on drop.
struct Agent(std::process::Child);

impl Agent {
    fn start(controller: &str, id: &str, token: &str, data: &std::path::Path) -> Agent {
        use std::io::BufRead;
        let sysfs = data.join("no-sensors");
        std::fs::create_dir_all(&sysfs).unwrap();
        let mut child = infergate()
            .args(["agent", "--controller", controller, "--token", token, "--device-id", id])
            .args(["--device-type", "jetson_nano", "--addr", "127.0.0.1:0", "--runtime", "tract"])
            .args(["--heartbeat-interval-s", "1", "--telemetry-interval-s", "1", "--data-dir"])
            .arg(data)
            .arg("--sysfs-root")
            .arg(&sysfs)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        loop {
            let line = lines.next().expect("the agent exited before listening").unwrap();
            if line.starts_with("listening on ") {
                break;
            }
        }
        std::thread::spawn(move || for _ in lines.by_ref() {});
        Agent(child)
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// GETs `url` with the key; status and JSON.
async fn get_with(url: &str, key: &str) -> (u16, serde_json::Value) {
    let resp = client().get(url).bearer_auth(key).send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

async fn assert_no_console_errors(b: &Browser, when: &str) {
    let errors = b.console_errors().await;
    assert!(errors.is_empty(), "console errors {when}: {errors:#?}");
}

#[tokio::test]
async fn the_dashboard_in_a_browser() {
    let Some(tools) = browser::tools_or_skip() else { return };
    let dir = tempfile::tempdir().unwrap();
    add_catdog(dir.path());
    add_catdog(dir.path()); // version 2, inactive: for activate and roll back
                            // A device type with an energy predictor, and a device of that type.
    let nano = shared().join("data/edge/jetson_nano/conv_layers_1_5__high_mac_model_info5.csv");
    cli(
        dir.path(),
        &["energy", "train", "--device", "jetson_nano", "--no-evaluation", "--data", nano.to_str().unwrap()],
    );
    let added = cli(dir.path(), &["devices", "add", "nano-1", "--type", "jetson_nano", "--json"]);
    let token: serde_json::Value = serde_json::from_str(&added).unwrap();
    // A router model for /predict and an evaluation for the Route tab.
    let t = shared().join("data/traces");
    let (trace, durations, memory, sample, coldstarts) = (
        t.join("azure2019_invocations_per_minute.csv"),
        t.join("azure2019_durations.csv"),
        t.join("azure2019_memory.csv"),
        t.join("azure2021_invocations_sample.csv"),
        t.join("lambda_perf_coldstart.json"),
    );
    let (dataset, report) = (dir.path().join("dataset.csv"), dir.path().join("report"));
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let simulate = ["route", "simulate", "--limit", "30", "--out", &s(&dataset), "--trace", &s(&trace)];
    cli(dir.path(), &[&simulate[..], &["--durations", &s(&durations), "--memory", &s(&memory)]].concat());
    cli(dir.path(), &["route", "train", "--data", &s(&dataset)]);
    cli(
        dir.path(),
        &["route", "evaluate", "--trace", &s(&sample), "--coldstarts", &s(&coldstarts), "--out", &s(&report)],
    );
    let (server, admin) = Server::start_with_auth(dir.path(), &[], &[("INFERGATE_HEARTBEAT_INTERVAL_S", "1")]);
    let agent = Agent::start(&server.url, "nano-1", token["token"].as_str().unwrap(), &dir.path().join("agent"));
    let driver = Driver::start(&tools).await;
    let b = Browser::open(&driver, &tools).await;
    let result = run(&b, &tools, &server, &admin).await;
    b.close().await;
    drop(driver);
    drop(agent);
    let stderr = server.stop();
    if let Err(e) = result {
        std::panic::resume_unwind(e_with(e, &stderr));
    }
}

fn e_with(e: Box<dyn std::any::Any + Send>, stderr: &str) -> Box<dyn std::any::Any + Send> {
    let msg = e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()));
    Box::new(format!("{}\n--- server stderr ---\n{stderr}", msg.unwrap_or_default()))
}

/// The steps, run so that a failure still closes the browser and shows the server's stderr.
async fn run(b: &Browser, tools: &Tools, server: &Server, admin: &str) -> Result<(), Box<dyn std::any::Any + Send>> {
    use futures::FutureExt;
    std::panic::AssertUnwindSafe(steps(b, tools, server, admin)).catch_unwind().await
}

async fn steps(b: &Browser, tools: &Tools, server: &Server, admin: &str) {
    // The page needs no key; a wrong key is refused and nothing is stored.
    b.goto(&server.url).await;
    b.wait_for("the sign-in form", "return !document.querySelector('#signin').hidden", WAIT).await;
    shoot(b, "0-sign-in").await;
    b.type_into("#api-key", "ig_not_a_key").await;
    b.click("#signin-form button[type=submit]").await;
    b.wait_for("the refusal", "return document.querySelector('#signin-error').textContent.includes('refused')", WAIT)
        .await;
    assert_eq!(b.execute("return sessionStorage.length", json!([])).await, 0);
    b.console_errors().await; // the 401 itself is logged by the browser

    // Sign in: the key is in sessionStorage, never in the URL.
    b.type_into("#api-key", admin).await;
    b.click("#signin-form button[type=submit]").await;
    b.wait_for("the tabs", "return !document.querySelector('#app').hidden", WAIT).await;
    let url = b.execute("return location.href", json!([])).await;
    assert!(!url.as_str().unwrap().contains(admin), "the key is not in the URL: {url}");
    assert_eq!(b.execute("return sessionStorage.getItem('infergate.apiKey')", json!([])).await, admin);
    b.wait_for("the admin role", "return document.querySelector('#whoami').textContent.includes('admin')", WAIT).await;

    // Classify: pick the cat photo, see "cat", its top-5, timings and flags, and the history.
    let cat = shared().join("data/catsdogs/test/cat/cat.4001.jpg").canonicalize().unwrap();
    b.type_into("#classify-file", cat.to_str().unwrap()).await;
    b.wait_for("the label", "return document.querySelector('#classify-label').textContent === 'cat'", WAIT).await;
    let top = b.execute("return document.querySelectorAll('#classify-top tbody tr').length", json!([])).await;
    assert_eq!(top, 5, "top-5 classes");
    let flags = b.execute("return document.querySelector('#classify-flags').textContent", json!([])).await;
    assert!(flags.as_str().unwrap().contains("cold start: yes"), "the first request loaded the model: {flags}");
    assert!(flags.as_str().unwrap().contains("cached: no"), "{flags}");
    let timings = b.execute("return document.querySelector('#classify-timings').textContent", json!([])).await;
    assert!(timings.as_str().unwrap().contains("inference"), "{timings}");
    b.wait_for(
        "a thumbnail in the history",
        "const img = document.querySelector('#classify-history img');
         return img && img.complete && img.naturalWidth > 0 && img.src.startsWith('blob:')",
        WAIT,
    )
    .await;
    // The same photo again: answered from the cache, now two records in the history.
    b.type_into("#classify-file", cat.to_str().unwrap()).await;
    b.wait_for(
        "the cached answer",
        "return document.querySelector('#classify-flags').textContent.includes('cached: yes')
            && document.querySelectorAll('#classify-history li').length === 2",
        WAIT,
    )
    .await;
    assert_no_console_errors(b, "on the Classify tab").await;
    shoot(b, "1-classify").await;

    // Models: both versions with MobileNetV2's profile; activate v2, roll back to v1, warm.
    open_tab(b, "models", "the profile", "document.querySelector('#models-table').textContent.includes('3,487,816')")
        .await;
    let table = b.execute("return document.querySelector('#models-table').textContent", json!([])).await;
    assert!(table.as_str().unwrap().contains("300,774,272"), "MACs: {table}");
    b.click("button[aria-label='Activate mobilenet version 2']").await;
    b.wait_for(
        "v2 active",
        "return !!document.querySelector(\"button[aria-label='Activate mobilenet version 1']\")",
        WAIT,
    )
    .await;
    b.click("button[aria-label='Roll back mobilenet']").await;
    b.wait_for(
        "the rollback",
        "return document.querySelector('#models-status').textContent.includes('Rolling back mobilenet: done (version 1)')
            && !!document.querySelector(\"button[aria-label='Activate mobilenet version 2']\")",
        WAIT,
    )
    .await;
    b.execute("document.querySelector('#warm-model').value = 'mobilenet/2'", json!([])).await;
    b.click("#warm-form button[type=submit]").await;
    b.wait_for(
        "v2 warm",
        "return document.querySelector('#models-status').textContent.includes('Warming mobilenet v2: done (version 2)')",
        WAIT,
    )
    .await;
    let (_, models) = get_with(&server.at("/v1/models"), admin).await;
    let v2 = models["models"].as_array().unwrap().iter().find(|m| m["version"] == 2).unwrap().clone();
    assert!(v2["instances"].as_u64().unwrap() >= 1, "{v2}");
    assert_no_console_errors(b, "on the Models tab").await;
    shoot(b, "2-models").await;

    // Route: the seed's /predict answered by the trained model; the evaluation's table and charts.
    open_tab(
        b,
        "route",
        "the evaluation",
        "document.querySelector('#evaluation-table').textContent.includes('policy')",
    )
    .await;
    b.wait_for(
        "the evaluation's charts",
        "const imgs = [...document.querySelectorAll('#evaluation-charts img')];
         return imgs.length >= 2 && imgs.every(i => i.complete && i.naturalWidth > 0)",
        WAIT,
    )
    .await;
    b.click("#predict-form button[type=submit]").await;
    let platform = b
        .wait_for(
            "the /predict answer",
            "const p = document.querySelector('#predict-result .big'); return p && p.textContent",
            WAIT,
        )
        .await;
    assert!(platform == "lambda" || platform == "ecs", "{platform}");
    assert_no_console_errors(b, "on the Route tab").await;
    shoot(b, "5-route").await;

    // Deployment: the agent's device online, the model's predicted energy on it; a budget below
    // the prediction is refused with the numbers, a larger one deploys and the agent gets ready.
    open_tab(
        b,
        "deployment",
        "the device online",
        "document.querySelector('#devices-table').textContent.includes('online')",
    )
    .await;
    b.wait_for(
        "the predicted energy",
        "return /mobilenet v1\\s*\\d/.test(document.querySelector('#energy-table').innerText)",
        WAIT,
    )
    .await;
    b.execute("document.querySelector('#deploy-model').value = 'mobilenet/1'", json!([])).await;
    b.type_into("#deploy-budget", "0.001").await;
    b.click("#deploy-form button[type=submit]").await;
    let refusal = b
        .wait_for(
            "the refusal",
            "const t = document.querySelector('#deploy-status').textContent;
             return t.includes('over budget') && t",
            WAIT,
        )
        .await;
    assert!(
        refusal.as_str().unwrap().contains("Predicted") && refusal.as_str().unwrap().contains("budget of 0.001 mWh"),
        "{refusal}"
    );
    // The refusal's 409 is the only thing the browser logs as an error.
    let errors = b.console_errors().await;
    assert!(errors.iter().all(|e| e.contains("/v1/deployments") && e.contains("409")), "{errors:#?}");
    b.execute("document.querySelector('#deploy-budget').value = ''", json!([])).await;
    b.type_into("#deploy-budget", "1000").await;
    b.click("#deploy-form button[type=submit]").await;
    b.wait_for(
        "the deployment",
        "return document.querySelector('#deploy-status').textContent.startsWith('Deployed')",
        WAIT,
    )
    .await;
    let mut ready = false;
    for _ in 0..600 {
        let (_, d) = get_with(&server.at("/v1/deployments?device=nano-1&limit=1"), admin).await;
        if d["deployments"][0]["state"] == "ready" {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "the agent reported the deployment ready");
    open_tab(
        b,
        "deployment",
        "the ready deployment",
        "document.querySelector('#deployments-table').textContent.includes('ready')",
    )
    .await;
    let deployments = b.execute("return document.querySelector('#deployments-table').innerText", json!([])).await;
    assert!(deployments.as_str().unwrap().contains("refused"), "{deployments}");
    assert_no_console_errors(b, "on the Deployment tab").await;
    shoot(b, "3-deployment").await;

    // A run on the device, so that it measures (here: estimates) energy per inference.
    let resp = client()
        .post(server.at("/v1/devices/nano-1/inference/start"))
        .bearer_auth(admin)
        .json(&json!({ "iterations": 20 }))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());

    // Monitoring: the device's telemetry chart grows with the agent's samples (refreshed every
    // 5 s), its latest sample names the deployed model; the gateway's latency and throughput.
    open_tab(
        b,
        "monitoring",
        "the telemetry chart",
        "document.querySelector('#telemetry-chart').src.startsWith('blob:')",
    )
    .await;
    let first: u64 = b
        .execute("return document.querySelector('#telemetry-chart').dataset.samples", json!([]))
        .await
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let first_src = b.execute("return document.querySelector('#telemetry-chart').src", json!([])).await;
    b.wait_for(
        "the telemetry chart to update",
        &format!("const img = document.querySelector('#telemetry-chart');
                  return Number(img.dataset.samples) > {first} && img.src !== {first_src} && img.complete && img.naturalWidth > 0"),
        WAIT,
    )
    .await;
    b.wait_for(
        "the deployed model in the latest sample",
        "return document.querySelector('#latest-table').textContent.includes('mobilenet')",
        WAIT,
    )
    .await;
    let gateway = b.execute("return document.querySelector('#gateway-table').innerText", json!([])).await;
    assert!(gateway.as_str().unwrap().contains("latency p95"), "{gateway}");
    b.wait_for(
        "the latency chart",
        "const i = document.querySelector('#latency-chart'); return i.complete && i.naturalWidth > 0",
        WAIT,
    )
    .await;
    assert_no_console_errors(b, "on the Monitoring tab").await;
    shoot(b, "4-monitoring").await;

    // Analytics: the history filtered by label, cost per 1,000, energy predicted vs measured.
    open_tab(b, "analytics", "the history", "document.querySelectorAll('#history-table tbody tr').length === 2").await;
    b.type_into("#history-label", "dog").await;
    b.click("#history-form button[type=submit]").await;
    b.wait_for(
        "no dogs",
        "return document.querySelector('#history-table').textContent.includes('No classification matches')",
        WAIT,
    )
    .await;
    b.execute("document.querySelector('#history-label').value = ''", json!([])).await;
    b.type_into("#history-label", "cat").await;
    b.click("#history-form button[type=submit]").await;
    b.wait_for("two cats", "return document.querySelector('#history-count').textContent === '2 classifications'", WAIT)
        .await;
    b.wait_for(
        "the cost chart",
        "const i = document.querySelector('#cost-chart'); return i.complete && i.naturalWidth > 0",
        WAIT,
    )
    .await;
    // The energy comparison appears once the run has reported a mean (re-opening the tab reloads it).
    let mut measured = false;
    for _ in 0..60 {
        open_tab(b, "analytics", "the energy table", "true").await;
        let t = b.execute("return document.querySelector('#energy-compare-table').innerText", json!([])).await;
        if t.as_str().unwrap().contains("nano-1") {
            measured = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(measured, "the device's predicted and measured energy are compared");
    b.wait_for("the energy chart", "const i = document.querySelector('#energy-chart'); return i.complete && i.naturalWidth > 0 && i.alt.includes('nano-1')", WAIT)
        .await;
    assert_no_console_errors(b, "on the Analytics tab").await;
    shoot(b, "6-analytics").await;

    // Keyboard: on the first tab (focused by the click), the arrow keys move along the tab list (wrapping).
    b.click("#tab-classify").await;
    let tabs =
        b.execute("return [...document.querySelectorAll('[role=tab]')].map(t => t.dataset.tab)", json!([])).await;
    let tabs: Vec<String> = serde_json::from_value(tabs).unwrap();
    b.keys_to_active("\u{E012}").await; // ArrowLeft from the first wraps to the last
    let selected = b.execute("return document.activeElement.dataset.tab", json!([])).await;
    assert_eq!(selected, tabs.last().unwrap().as_str());
    b.keys_to_active("\u{E011}").await; // Home
    assert_eq!(b.execute("return document.activeElement.dataset.tab", json!([])).await, tabs[0].as_str());
    assert_eq!(b.execute("return location.hash", json!([])).await, format!("#{}", tabs[0]));

    // Every tab at 360 px: nothing wider than the screen, no serious accessibility violation.
    b.viewport(360, 800, true).await;
    for id in &tabs {
        open_tab(b, id, "its panel", "true").await;
        tokio::time::sleep(Duration::from_millis(300)).await; // let its requests settle for the picture
        shoot(b, &format!("360-{id}")).await;
        let overflow = b
            .execute(
                "return [...document.querySelectorAll('body *')].filter(e => e.offsetParent !== null
                    && e.getBoundingClientRect().right > document.documentElement.clientWidth + 1
                    && !e.closest('.table-wrap')).map(e => e.tagName + '#' + e.id + '.' + e.className)",
                json!([]),
            )
            .await;
        assert_eq!(overflow, json!([]), "elements wider than 360 px on {id}");
        let violations = b.axe_serious(tools).await;
        assert!(violations.is_empty(), "axe on {id} at 360 px: {violations:#?}");
    }
    assert_no_console_errors(b, "at 360 px").await;

    // Signing out forgets the key.
    b.click("#sign-out").await;
    b.wait_for("the sign-in form", "return !document.querySelector('#signin').hidden", WAIT).await;
    assert_eq!(b.execute("return sessionStorage.getItem('infergate.apiKey')", json!([])).await, json!(null));
}
