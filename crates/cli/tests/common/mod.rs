//! Test harness: the real `infergate` binary on an ephemeral port over a temporary data
//! directory, plus paths to the shared models and photos.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The workspace root (where `.venv` lives).
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// `../shared` next to the workspace.
pub fn shared() -> PathBuf {
    workspace().join("../shared")
}

/// The fp32 MobileNetV2.
pub fn fp32_model() -> PathBuf {
    shared().join("models/mobilenetv2-12-fp32.onnx")
}

/// ImageNet class names.
pub fn imagenet_labels() -> PathBuf {
    shared().join("models/imagenet_classes.txt")
}

/// A photo from `shared/data`.
pub fn photo(name: &str) -> Vec<u8> {
    std::fs::read(shared().join("data").join(name)).unwrap()
}

/// The `infergate` binary, run from the workspace root (so it finds `.venv`).
pub fn infergate() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_infergate"));
    cmd.current_dir(workspace()).env_remove("ORT_DYLIB_PATH").env("RUST_LOG", "warn");
    cmd
}

/// Runs `infergate models add NAME --file FILE …` into `data_dir`.
pub fn add_model(data_dir: &Path, name: &str, extra: &[&str]) -> Output {
    let out = infergate().args(["models", "add", name, "--data-dir"]).arg(data_dir).args(extra).output().unwrap();
    out
}

/// Registers the fp32 model as `mobilenet` with the cat-dog task and ImageNet labels.
pub fn add_catdog(data_dir: &Path) {
    let out = add_model(
        data_dir,
        "mobilenet",
        &[
            "--file",
            fp32_model().to_str().unwrap(),
            "--labels",
            imagenet_labels().to_str().unwrap(),
            "--task",
            "cat-dog",
        ],
    );
    assert!(out.status.success(), "models add failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// A running server; killed on drop.
pub struct Server {
    child: Child,
    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    /// The lines of stdout after the first (`listening on …`), as they come.
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
}

/// How long a server may take to say it listens, or to print its first admin key.
const START_TIMEOUT: Duration = Duration::from_secs(60);

impl Server {
    /// Starts `infergate serve --addr 127.0.0.1:0 --data-dir DIR` with extra args and env,
    /// with auth off unless `env` sets `INFERGATE_AUTH`.
    pub fn start(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        Server::start_on("127.0.0.1:0", data_dir, args, env)
    }

    /// [`Server::start`] listening on `addr` (e.g. the address of a server that was stopped, to
    /// restart it where its clients expect it).
    pub fn start_on(addr: &str, data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = infergate();
        cmd.args(["serve", "--addr", addr, "--data-dir"]).arg(data_dir).args(args);
        cmd.env("INFERGATE_AUTH", "off");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr = child.stderr.take().unwrap();
        let (etx, erx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            let _ = etx.send(text);
        });
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(l) if l.starts_with("listening on ") => l,
            other => {
                let _ = child.kill();
                let err = erx.recv_timeout(Duration::from_secs(5)).unwrap_or_default();
                panic!("server did not start: {other:?}\nstderr:\n{err}");
            }
        };
        let url = line.trim().trim_start_matches("listening on ").to_string();
        Server { child, url, stdout: rx, stderr: erx }
    }

    /// Starts the server with auth on over a data directory without keys, and returns it
    /// with the admin token it prints on this first start.
    pub fn start_with_auth(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (Server, String) {
        let env: Vec<(&str, &str)> = [("INFERGATE_AUTH", "on")].into_iter().chain(env.iter().copied()).collect();
        let server = Server::start(data_dir, args, &env);
        let deadline = std::time::Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match server.stdout.recv_timeout(left) {
                Ok(line) if line.starts_with("ig_") => return (server, line.trim().to_string()),
                Ok(_) => continue,
                Err(e) => panic!("the server printed no admin token ({e}); stderr:\n{}", server.stop()),
            }
        }
    }

    /// Stops the server and returns what it wrote to stderr.
    pub fn stop(self) -> String {
        self.stop_with_stdout().1
    }

    /// Stops the server and returns the rest of its stdout (after the lines already read)
    /// and its stderr.
    pub fn stop_with_stdout(mut self) -> (String, String) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut stdout = String::new();
        while let Ok(line) = self.stdout.recv_timeout(Duration::from_secs(5)) {
            stdout.push_str(&line);
            stdout.push('\n');
        }
        (stdout, self.stderr.recv_timeout(Duration::from_secs(5)).unwrap_or_default())
    }

    /// Sends SIGTERM and waits for the process to exit; returns its exit code and stderr.
    pub fn terminate(mut self) -> (Option<i32>, String) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success(), "kill -TERM {pid} failed");
        let status = self.child.wait().unwrap();
        (status.code(), self.stderr.recv_timeout(Duration::from_secs(5)).unwrap_or_default())
    }

    /// `url` + `path`.
    pub fn at(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh HTTP client.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(120)).build().unwrap()
}

/// POSTs `body` with `content_type` and returns status and JSON.
pub async fn post(url: &str, content_type: &str, body: Vec<u8>) -> (u16, serde_json::Value) {
    let resp = client().post(url).header("content-type", content_type).body(body).send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON (HTTP {status}): {text}"));
    (status, json)
}

/// GETs `url` and returns status and JSON.
pub async fn get(url: &str) -> (u16, serde_json::Value) {
    let resp = client().get(url).send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON (HTTP {status}): {text}"));
    (status, json)
}

/// Re-encodes a photo in another format.
pub fn reencode(jpeg: &[u8], format: image::ImageFormat) -> Vec<u8> {
    let img = image::load_from_memory(jpeg).unwrap();
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// Every file under `dir`, recursively (empty if `dir` does not exist).
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A running `infergate agent`; killed on drop.
pub struct Agent {
    child: Child,
    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns `cmd` (an `infergate agent …` command line) and waits for its `listening on` line.
pub fn spawn_agent(mut cmd: Command) -> Agent {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("the agent exited before listening").unwrap();
        if let Some(url) = line.trim().strip_prefix("listening on ") {
            break url.to_string();
        }
    };
    std::thread::spawn(move || for _ in lines.by_ref() {});
    Agent { child, url }
}

/// A fake RAPL package zone under `root` whose counter a thread advances from `start_uj` by
/// 10 mJ every 5 ms (about 2 W), written atomically as the kernel's file changes, until `stop`.
pub fn moving_rapl(
    root: &Path,
    start_uj: u64,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let zone = root.join("sys/class/powercap/intel-rapl:0");
    std::fs::create_dir_all(&zone).unwrap();
    std::fs::write(zone.join("name"), "package-0\n").unwrap();
    std::fs::write(zone.join("max_energy_range_uj"), "262143328850\n").unwrap();
    std::fs::write(zone.join("energy_uj"), format!("{start_uj}\n")).unwrap();
    std::thread::spawn(move || {
        let mut uj = start_uj;
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
            uj += 10_000;
            std::fs::write(zone.join("energy_uj.tmp"), format!("{uj}\n")).unwrap();
            std::fs::rename(zone.join("energy_uj.tmp"), zone.join("energy_uj")).unwrap();
        }
    })
}
