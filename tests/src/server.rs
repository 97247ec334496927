//! Starting and stopping `wrangler dev`.

use std::fs::{self, File};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

/// Process groups of every server still running, so Ctrl-C can stop them all.
static RUNNING: Mutex<Vec<u32>> = Mutex::new(Vec::new());
static CTRL_C: Once = Once::new();
static SEQ: AtomicUsize = AtomicUsize::new(0);

/// The repository root (the parent of this crate).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// A fresh, empty persist directory under `target/blackbox/`.
pub fn fresh_state_dir() -> PathBuf {
    let n = SEQ.fetch_add(1, Ordering::SeqCst);
    let dir = project_root()
        .join("target/blackbox")
        .join(format!("state-{}-{n}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create state dir");
    dir
}

/// A free TCP port on 127.0.0.1 (bound then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn wrangler(root: &Path) -> Command {
    let mut cmd = Command::new(root.join("node_modules/.bin/wrangler"));
    cmd.current_dir(root)
        .env("WRANGLER_SEND_METRICS", "false")
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    cmd
}

fn signal_group(pgid: u32, signal: i32) {
    if let Ok(pgid) = i32::try_from(pgid) {
        // SAFETY: kill(2) has no memory-safety preconditions; a negative pid names a group.
        unsafe {
            libc::kill(-pgid, signal);
        }
    }
}

/// Builds the Worker once per test run (what `wrangler dev` would do on every start), so the
/// servers below start from the same artefact and never rebuild concurrently.
pub fn build_worker_once() {
    static BUILT: Once = Once::new();
    BUILT.call_once(|| {
        let root = project_root();
        let out = Command::new("sh")
            .arg("scripts/build-worker.sh")
            .current_dir(&root)
            .env("WRANGLER_COMMAND", "dev")
            .output()
            .expect("run scripts/build-worker.sh");
        assert!(
            out.status.success(),
            "worker build failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

/// Applies the D1 migrations to `state` (what `make dev` does before starting).
pub fn apply_migrations(state: &Path) {
    let root = project_root();
    let out = wrangler(&root)
        .args(["d1", "migrations", "apply", "DB", "--local", "--persist-to"])
        .arg(state)
        .output()
        .expect("run wrangler d1 migrations apply");
    assert!(
        out.status.success(),
        "migrations failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The vars of the public rate limits, which [`Server::start`] sets to `0` (off) by default.
pub const PUBLIC_RATE_VARS: [&str; 2] = ["PUBLIC_WRITE_RATE_PER_MINUTE", "PUBLIC_RATE_PER_MINUTE"];

/// A running `wrangler dev`; stopped (whole process group) on drop.
pub struct Server {
    child: Mutex<Child>,
    pgid: u32,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The persist directory it runs on.
    pub state: PathBuf,
    log: PathBuf,
}

impl Server {
    /// Starts `wrangler dev` on a free port over `state` with extra `--var NAME:VALUE`s and waits
    /// until the Worker answers (any HTTP status on `/api/health`), at most `timeout`.
    pub fn start(state: &Path, vars: &[(&str, &str)]) -> Server {
        Server::start_on(state, vars, free_port())
    }

    /// [`Server::start`] on `port`: a server started again where a stopped one was (same
    /// state, same origin), as a browser that lost its network finds it again.
    pub fn start_on(state: &Path, vars: &[(&str, &str)], port: u16) -> Server {
        CTRL_C.call_once(|| {
            let _ = ctrlc::set_handler(|| {
                if let Ok(groups) = RUNNING.lock() {
                    groups.iter().for_each(|g| signal_group(*g, libc::SIGKILL));
                }
                std::process::exit(130);
            });
        });
        build_worker_once();
        let root = project_root();
        let log = state.with_extension("log");
        let log_file = File::create(&log).expect("create log");
        let mut cmd = wrangler(&root);
        // The build above is the one these servers run; skip wrangler's own [build].
        cmd.env("SAFEMARKET_PREBUILT", "1")
            .args(["dev", "--ip", "127.0.0.1", "--port", &port.to_string()])
            // `/__scheduled?cron=...` runs the Cron Trigger on demand.
            .args(["--show-interactive-dev-session=false", "--test-scheduled"])
            .arg("--persist-to")
            .arg(state);
        for (name, value) in vars {
            cmd.args(["--var", &format!("{name}:{value}")]);
        }
        // Every test and bench client comes from 127.0.0.1: the public rate limits are off
        // unless a caller sets them (tests/api/rate_limits.rs does).
        for name in PUBLIC_RATE_VARS {
            if !vars.iter().any(|(n, _)| *n == name) {
                cmd.args(["--var", &format!("{name}:0")]);
            }
        }
        let child = cmd
            .stdout(log_file.try_clone().expect("log"))
            .stderr(log_file)
            .process_group(0)
            .spawn()
            .expect("spawn wrangler dev");
        RUNNING.lock().expect("registry").push(child.id());
        let pgid = child.id();
        let server = Server {
            child: Mutex::new(child),
            pgid,
            base: format!("http://127.0.0.1:{port}"),
            state: state.to_path_buf(),
            log,
        };
        server.wait_until_up(Duration::from_secs(240));
        server
    }

    fn wait_until_up(&self, timeout: Duration) {
        let started = Instant::now();
        let api = crate::Api::new(&self.base);
        while started.elapsed() < timeout {
            if api.try_get("/api/health").is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!(
            "wrangler dev did not answer within {timeout:?}; log:\n{}",
            self.log_tail()
        );
    }

    /// The server's whole log so far (wrangler's output and the Worker's console lines).
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last part of the server's log (for failure messages).
    pub fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let start = text.len().saturating_sub(4000);
        text.get(start..).unwrap_or(&text).to_string()
    }

    /// Stops the server and waits for it to exit.
    pub fn stop(self) {
        self.stop_ref();
    }

    /// Stops the server (for servers held in statics, which are never dropped).
    pub fn stop_ref(&self) {
        let pgid = self.pgid;
        signal_group(pgid, libc::SIGTERM);
        let Ok(mut child) = self.child.lock() else {
            return;
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // wrangler may outlive SIGTERM while it tears down workerd; nothing of it may survive.
        signal_group(pgid, libc::SIGKILL);
        let _ = child.wait();
        if let Ok(mut groups) = RUNNING.lock() {
            groups.retain(|g| *g != pgid);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop_ref();
    }
}

/// Key names in a local KV namespace of a persist directory, read with `wrangler kv key list`
/// (out of band, the way an operator would look).
pub fn kv_keys(state: &Path, binding: &str, prefix: &str) -> Vec<String> {
    let root = project_root();
    let out = wrangler(&root)
        .args([
            "kv",
            "key",
            "list",
            "--binding",
            binding,
            "--local",
            "--prefix",
            prefix,
            "--persist-to",
        ])
        .arg(state)
        .output()
        .expect("run wrangler kv key list");
    assert!(
        out.status.success(),
        "kv key list failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let start = stdout.find('[').unwrap_or(0);
    let keys: serde_json::Value =
        serde_json::from_str(stdout.get(start..).unwrap_or("[]")).unwrap_or_default();
    keys.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|k| k["name"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// The rows of one SQL query against the local D1 database of a persist directory, read with
/// `wrangler d1 execute --json` (out of band, the way an operator would look).
pub fn d1_rows(state: &Path, sql: &str) -> Vec<serde_json::Value> {
    let root = project_root();
    let out = wrangler(&root)
        .args([
            "d1",
            "execute",
            "DB",
            "--local",
            "--json",
            "--command",
            sql,
            "--persist-to",
        ])
        .arg(state)
        .output()
        .expect("run wrangler d1 execute");
    assert!(
        out.status.success(),
        "d1 execute failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let start = stdout.find('[').unwrap_or(0);
    let results: serde_json::Value =
        serde_json::from_str(stdout.get(start..).unwrap_or("[]")).unwrap_or_default();
    results[0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}
