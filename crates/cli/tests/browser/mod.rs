//! A small W3C WebDriver client (over `reqwest`) driving headless Chromium through Debian's
//! `chromedriver`, and axe-core (from npm, `crates/cli/tests/browser/node_modules`) for the
//! accessibility check. Used by the dashboard tests.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The key W3C WebDriver uses for an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Chromium's flags: headless, as root, and quiet (nothing fetched from the network).
pub const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
];

/// What the browser tests need, or why they cannot run here.
pub struct Tools {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
    /// axe-core's `axe.min.js`.
    pub axe: PathBuf,
}

/// Finds Chromium, chromedriver and axe-core. `Err` says what is missing and how to get it.
pub fn tools() -> Result<Tools, String> {
    let find = |names: &[&str]| {
        names.iter().map(|n| PathBuf::from("/usr/bin").join(n)).find(|p| p.exists()).or_else(|| {
            std::env::var_os("PATH").and_then(|path| {
                std::env::split_paths(&path).flat_map(|d| names.iter().map(move |n| d.join(n))).find(|p| p.exists())
            })
        })
    };
    let chromium = find(&["chromium", "chromium-browser"])
        .ok_or("no chromium: apt-get install chromium chromium-driver (as .ci/run does)")?;
    let chromedriver =
        find(&["chromedriver"]).ok_or("no chromedriver: apt-get install chromium-driver (as .ci/run does)")?;
    let axe = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/node_modules/axe-core/axe.min.js");
    if !axe.exists() {
        return Err("no axe-core: npm ci --prefix crates/cli/tests/browser (as .ci/run does)".into());
    }
    Ok(Tools { chromium, chromedriver, axe })
}

/// The tools, or `None` after printing why the test is skipped; under `CI=true` a missing tool
/// fails the test instead.
pub fn tools_or_skip() -> Option<Tools> {
    match tools() {
        Ok(t) => Some(t),
        Err(why) if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") => panic!("browser tests need {why}"),
        Err(why) => {
            eprintln!("SKIPPED: the browser test needs {why}");
            None
        }
    }
}

/// A running chromedriver; killed on drop.
pub struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    /// Starts chromedriver on a free loopback port and waits until it is ready.
    pub async fn start(tools: &Tools) -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(&tools.chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver { child, url: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = http().get(format!("{}/status", driver.url)).send().await {
                if let Ok(v) = r.json::<Value>().await {
                    if v["value"]["ready"] == true {
                        return driver;
                    }
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not become ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(120)).build().unwrap()
}

/// One browser session (a headless Chromium); closed on [`Browser::close`].
pub struct Browser {
    base: String,
    client: reqwest::Client,
}

/// An element of the page.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Browser {
    /// Opens a session with the browser's console log kept (for [`Browser::console_errors`]).
    pub async fn open(driver: &Driver, tools: &Tools) -> Browser {
        let caps = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": { "binary": tools.chromium, "args": CHROMIUM_ARGS },
                "goog:loggingPrefs": { "browser": "ALL" },
            }}
        });
        let client = http();
        let resp: Value =
            client.post(format!("{}/session", driver.url)).json(&caps).send().await.unwrap().json().await.unwrap();
        let id = resp["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {resp}")).to_string();
        Browser { base: format!("{}/session/{id}", driver.url), client }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.client.request(method.clone(), format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let v: Value = resp.json().await.unwrap();
        assert!(status.is_success(), "WebDriver {method} {path}: {status} {v}");
        v["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    /// The first element matching `css`.
    pub async fn find(&self, css: &str) -> Element {
        let v = self.post("/element", json!({ "using": "css selector", "value": css })).await;
        Element(v[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {v}")).to_string())
    }

    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.post(&format!("/element/{}/click", e.0), json!({})).await;
    }

    /// Types `text` into the element (for a file input: an absolute path uploads that file).
    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.post(&format!("/element/{}/value", e.0), json!({ "text": text })).await;
    }

    /// Sends keys to the focused element (WebDriver key codes, e.g. `\u{E014}` ArrowRight).
    pub async fn keys_to_active(&self, text: &str) {
        let v = self.call(reqwest::Method::GET, "/element/active", None).await;
        let id = v[ELEMENT].as_str().expect("an element has focus").to_string();
        self.post(&format!("/element/{id}/value"), json!({ "text": text })).await;
    }

    /// Runs `script` (a function body; `arguments` are `args`) and returns what it returns.
    pub async fn execute(&self, script: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": args })).await
    }

    /// Runs `script`, which calls `arguments[arguments.length - 1](result)` when done.
    pub async fn execute_async(&self, script: &str, args: Value) -> Value {
        self.post("/execute/async", json!({ "script": script, "args": args })).await
    }

    /// Waits until `script` (a function body) returns something truthy, and returns it; panics
    /// with `what` and the page's text after `timeout`.
    pub async fn wait_for(&self, what: &str, script: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self.execute(script, json!([])).await;
            let truthy = !(v.is_null() || v == false || v == "" || v == 0);
            if truthy {
                return v;
            }
            if Instant::now() > deadline {
                let text = self.execute("return document.body.innerText", json!([])).await;
                panic!("waited for {what}; the page says:\n{}", text.as_str().unwrap_or_default());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The page as a PNG file at `path`.
    pub async fn screenshot(&self, path: &Path) {
        use base64::Engine;
        let v = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap()).unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// Emulates a screen `width` × `height` CSS pixels (a phone at 360 px, say).
    pub async fn viewport(&self, width: u32, height: u32, mobile: bool) {
        self.post(
            "/goog/cdp/execute",
            json!({ "cmd": "Emulation.setDeviceMetricsOverride",
                    "params": { "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile } }),
        )
        .await;
    }

    /// The browser console's entries since the last call (Chromium's log endpoint).
    pub async fn console(&self) -> Vec<Value> {
        let v = self.post("/se/log", json!({ "type": "browser" })).await;
        v.as_array().cloned().unwrap_or_default()
    }

    /// The console's errors (level SEVERE) since the last call, as text.
    pub async fn console_errors(&self) -> Vec<String> {
        self.console()
            .await
            .into_iter()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Runs axe-core on the page and returns its violations of impact `serious` or `critical`.
    pub async fn axe_serious(&self, tools: &Tools) -> Vec<Value> {
        let source = std::fs::read_to_string(&tools.axe).unwrap();
        self.execute(&source, json!([])).await;
        let script = "const done = arguments[arguments.length - 1];
            axe.run(document, { resultTypes: ['violations'] })
               .then(r => done(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                   .map(v => ({ id: v.id, impact: v.impact, help: v.help,
                                nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary) }))))
               .catch(e => done([{ id: 'axe-error', help: String(e) }]));";
        let v = self.execute_async(script, json!([])).await;
        v.as_array().cloned().unwrap_or_default()
    }

    /// Ends the session (closes the browser).
    pub async fn close(self) {
        let _ = self.client.delete(&self.base).send().await;
    }
}
