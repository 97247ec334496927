//! Headless Chromium driven through W3C WebDriver (the Debian `chromedriver`, started on a free
//! port), over the same blocking `ureq` client the API tests use: no async runtime in the
//! harness. Elements are found by role and accessible name only, as a screen reader finds them:
//! a role's candidate elements are collected in the page, and each is kept when Chromium's own
//! accessibility tree (`computedrole` / `computedlabel`) gives that role and name.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::server::free_port;

/// The W3C key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long a lookup waits for its element to appear.
pub const WAIT: Duration = Duration::from_secs(15);

/// CSS selectors of the elements that may carry `role` (implicitly or explicitly).
fn candidates(role: &str) -> String {
    let implicit = match role {
        "button" => "button, input[type=submit], input[type=button]",
        "link" => "a[href]",
        "textbox" => "input:not([type]), input[type=text], input[type=email], input[type=password], input[type=url], input[type=search], input[type=tel], textarea",
        "spinbutton" => "input[type=number]",
        // Chromium names the role of date inputs `Date` (no ARIA role maps it).
        "date" => "input[type=date]",
        "combobox" => "select",
        "checkbox" => "input[type=checkbox]",
        "heading" => "h1, h2, h3, h4, h5, h6",
        "table" => "table",
        "region" => "section[aria-label], section[aria-labelledby]",
        "navigation" => "nav",
        "img" => "img",
        _ => "input",
    };
    format!("{implicit}, [role={role}]")
}

/// Whether Chromium is installed (scripts/setup.sh installs it).
pub fn available() -> bool {
    chromium_binary().is_some() && which("chromedriver").is_some()
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

fn chromium_binary() -> Option<PathBuf> {
    which("chromium").or_else(|| which("chromium-browser"))
}

/// One browser session (its own chromedriver and fresh profile); ends on drop.
pub struct Browser {
    driver: Child,
    url: String,
    profile: PathBuf,
    http: ureq::Agent,
}

/// An element of the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element(pub String);

/// Chromium switches of a browser with a camera: a fake device (a test pattern) that pages may
/// use without a permission prompt.
pub const FAKE_CAMERA: [&str; 2] = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
];

impl Browser {
    /// Starts headless Chromium with a window of `width` x `height` CSS pixels.
    pub fn start(width: u32, height: u32) -> Browser {
        Browser::start_with(width, height, &[])
    }

    /// Like [`Browser::start`], with extra Chromium switches (e.g. [`FAKE_CAMERA`]).
    pub fn start_with(width: u32, height: u32, switches: &[&str]) -> Browser {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts (scripts/setup.sh installs chromium-driver)");
        let http: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while http.get(&format!("{base}/status")).call().is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = std::env::temp_dir().join(format!(
            "safemarket-chromium-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let binary = chromium_binary().expect("chromium is installed");
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--lang=en-US",
        ]
        .iter()
        .chain(switches)
        .map(|a| a.to_string())
        .collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        args.push(format!("--window-size={width},{height}"));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": binary, "args": args},
        }}});
        let mut resp = http
            .post(&format!("{base}/session"))
            .send_json(&caps)
            .expect("a WebDriver session");
        let body: Value = resp.body_mut().read_json().expect("session JSON");
        let id = body["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {body}"))
            .to_string();
        let browser = Browser {
            driver,
            url: format!("{base}/session/{id}"),
            profile,
            http,
        };
        browser.cmd(
            "POST",
            "/window/rect",
            json!({"width": width, "height": height}),
        );
        browser
    }

    fn cmd(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.url);
        let result = match method {
            "GET" => self.http.get(&url).call(),
            "DELETE" => self.http.delete(&url).call(),
            _ => self.http.post(&url).send_json(&body),
        };
        let mut resp = result.unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let status = resp.status().as_u16();
        let value: Value = resp.body_mut().read_json().unwrap_or(Value::Null);
        assert!(status < 300, "WebDriver {method} {path}: {status} {value}");
        value["value"].clone()
    }

    /// Opens `url`.
    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", json!({"url": url}));
    }

    /// Reloads the page.
    pub fn reload(&self) {
        self.cmd("POST", "/refresh", json!({}));
    }

    /// Sends the DevTools command `cmd` with `params` (chromedriver's CDP bridge).
    pub fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.cmd(
            "POST",
            "/goog/cdp/execute",
            json!({"cmd": cmd, "params": params}),
        )
    }

    /// Runs `source` in every document loaded from now on, before the page's own scripts
    /// (stand-ins for browser APIs Chromium on Linux lacks).
    pub fn before_page_scripts(&self, source: &str) {
        self.cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({"source": source}),
        );
    }

    /// The `sessionStorage` item `key` of the page's origin.
    pub fn session_item(&self, key: &str) -> Option<String> {
        self.exec("return sessionStorage.getItem(arguments[0]);", json!([key]))
            .as_str()
            .map(str::to_string)
    }

    /// Runs `script` (a function body; `arguments` are `args`) and answers its value.
    pub fn exec(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            json!({"script": script, "args": args}),
        )
    }

    /// Runs an async `script` whose last argument is the callback.
    pub fn exec_async(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/async",
            json!({"script": script, "args": args}),
        )
    }

    fn computed(&self, e: &Element, what: &str) -> String {
        let url = format!("{}/element/{}/{what}", self.url, e.0);
        match self.http.get(&url).call() {
            Ok(mut r) if r.status().as_u16() < 300 => r
                .body_mut()
                .read_json::<Value>()
                .ok()
                .and_then(|v| v["value"].as_str().map(normalise))
                .unwrap_or_default(),
            _ => String::new(),
        }
    }

    /// The elements with `role` whose accessible name is `name` (`None`: any name), now.
    pub fn all(&self, role: &str, name: Option<&str>) -> Vec<Element> {
        let found = self.exec(
            "return Array.from(document.querySelectorAll(arguments[0])).filter(e => e.getClientRects().length > 0);",
            json!([candidates(role)]),
        );
        let want = name.map(normalise);
        found
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| v[ELEMENT].as_str().map(|s| Element(s.to_string())))
            .filter(|e| same_role(&self.computed(e, "computedrole"), role))
            .filter(|e| {
                want.as_ref()
                    .is_none_or(|w| &self.computed(e, "computedlabel") == w)
            })
            .collect()
    }

    /// The first element with `role` and `name`, waiting for it up to [`WAIT`].
    #[track_caller]
    pub fn find(&self, role: &str, name: &str) -> Element {
        self.wait_for(role, Some(name))
    }

    /// The first element with `role` of any name, waiting up to [`WAIT`].
    #[track_caller]
    pub fn find_role(&self, role: &str) -> Element {
        self.wait_for(role, None)
    }

    #[track_caller]
    fn wait_for(&self, role: &str, name: Option<&str>) -> Element {
        let started = Instant::now();
        loop {
            if let Some(e) = self.all(role, name).into_iter().next() {
                return e;
            }
            if started.elapsed() > WAIT {
                let text = self.exec("return document.body.innerText;", json!([]));
                panic!("no {role} named {name:?} within {WAIT:?}; page text: {text}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until `check` holds (up to [`WAIT`]).
    #[track_caller]
    pub fn wait_until(&self, what: &str, check: impl Fn(&Browser) -> bool) {
        let started = Instant::now();
        while !check(self) {
            if started.elapsed() > WAIT {
                let text = self.exec("return document.body.innerText;", json!([]));
                panic!("{what}: not within {WAIT:?}; page text: {text}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Clicks `e`.
    pub fn click(&self, e: &Element) {
        self.cmd("POST", &format!("/element/{}/click", e.0), json!({}));
    }

    /// Replaces the text of the field `e` with `text`, typed.
    pub fn fill(&self, e: &Element, text: &str) {
        self.cmd("POST", &format!("/element/{}/clear", e.0), json!({}));
        self.cmd(
            "POST",
            &format!("/element/{}/value", e.0),
            json!({"text": text}),
        );
    }

    /// Sets the value of a control that keys cannot type portably (date inputs, selects) and
    /// fires `input` and `change`, as a user's choice does.
    pub fn set_value(&self, e: &Element, value: &str) {
        self.exec(
            "const e = arguments[0]; e.value = arguments[1]; e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true}));",
            json!([{ELEMENT: e.0}, value]),
        );
    }

    /// The rendered text of `e`.
    pub fn text(&self, e: &Element) -> String {
        self.cmd("GET", &format!("/element/{}/text", e.0), json!({}))
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The accessible name of `e`.
    pub fn name(&self, e: &Element) -> String {
        self.computed(e, "computedlabel")
    }

    /// The value of the attribute or property `name` of `e`.
    pub fn property(&self, e: &Element, name: &str) -> Value {
        self.cmd(
            "GET",
            &format!("/element/{}/property/{name}", e.0),
            json!({}),
        )
    }

    /// The page's visible text.
    pub fn page_text(&self) -> String {
        self.exec("return document.body.innerText;", json!([]))
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// `<html lang>`.
    pub fn html_lang(&self) -> String {
        self.exec("return document.documentElement.lang;", json!([]))
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Saves a PNG screenshot of the window to `path`.
    pub fn screenshot(&self, path: &Path) {
        use base64::Engine;
        let data = self.cmd("GET", "/screenshot", json!({}));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or_default())
            .expect("screenshot is base64");
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        std::fs::write(path, bytes).expect("screenshot written");
    }

    /// Resizes the window.
    pub fn resize(&self, width: u32, height: u32) {
        self.cmd(
            "POST",
            "/window/rect",
            json!({"width": width, "height": height}),
        );
    }

    /// Keeps a screenshot of the page as `target/screenshots/<name>.png`.
    pub fn shot(&self, name: &str) {
        self.screenshot(
            &crate::server::project_root()
                .join("target/screenshots")
                .join(format!("{name}.png")),
        );
    }

    /// Fails unless axe-core finds no serious or critical violation on `screen`.
    #[track_caller]
    pub fn assert_accessible(&self, screen: &str) {
        let violations = self.axe_violations();
        assert!(
            violations.is_empty(),
            "{screen}: axe-core serious/critical: {violations:#?}"
        );
    }

    /// Runs axe-core (node_modules/axe-core, injected into the page) with the WCAG 2.1 A/AA
    /// rules and answers the serious and critical violations as `rule: targets` lines.
    pub fn axe_violations(&self) -> Vec<String> {
        let source = std::fs::read_to_string(
            crate::server::project_root().join("node_modules/axe-core/axe.min.js"),
        )
        .expect("npm axe-core is installed (package.json)");
        self.exec(&format!("{source}\n;return true;"), json!([]));
        let result = self.exec_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
                .then(r => done(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                    .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))))
                .catch(e => done(['axe failed: ' + e]));",
            json!([]),
        );
        result
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    }
}

/// Whether Chromium's computed role is `wanted`: ARIA 1.3 renamed `img` to `image`, and newer
/// Chromium reports the new name, so both name an image.
fn same_role(computed: &str, wanted: &str) -> bool {
    let canonical = |r: &str| {
        let r = r.to_ascii_lowercase();
        if r == "img" {
            "image".to_string()
        } else {
            r
        }
    };
    canonical(computed) == canonical(wanted)
}

fn normalise(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.http.delete(&self.url).call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
