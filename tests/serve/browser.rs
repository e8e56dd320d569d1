//! The page in headless Chromium, driven over W3C WebDriver (chromedriver): a lever
//! changed, Run pressed, the figures shown compared with `slotsim run` for the same seeds,
//! and a bad value's message next to its control.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{KillOnDrop, agent, cli_message, run_row, scratch, server, url};

/// The key of an element reference in WebDriver's answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn tool(names: &[&str]) -> Option<std::path::PathBuf> {
    let mut dirs = vec![std::path::PathBuf::from("/usr/bin")];
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.iter().flat_map(|d| names.iter().map(move |n| d.join(n))).find(|p| p.is_file())
}

/// A test whose external tool is missing: skipped with a notice in a plain `cargo test`,
/// failed when `CI` is set (CI must run every tier).
fn missing_tool(test: &str, what: &str) {
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!("{test}: {what}, and CI is set: CI must run this test (bash scripts/test installs it)");
    }
    println!("NOTICE: skipping {test}: {what} (bash scripts/test installs it; with CI set this fails)");
}

/// A WebDriver session on a chromedriver of its own, ended (and the driver stopped) when
/// dropped.
struct Browser {
    base: String,
    _driver: KillOnDrop,
}

impl Browser {
    fn start(chromium: &std::path::Path, chromedriver: &std::path::Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = KillOnDrop(driver);
        let root = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while agent().get(&format!("{root}/status")).call().is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not answer");
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({ "capabilities": { "alwaysMatch": { "browserName": "chrome", "goog:chromeOptions": {
            "binary": chromium.display().to_string(),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1100"],
        } } } });
        let session = call("POST", &format!("{root}/session"), Some(&caps));
        let id = session["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {session}"));
        Self { base: format!("{root}/session/{id}"), _driver: driver }
    }

    fn go(&self, page: &str) {
        call("POST", &format!("{}/url", self.base), Some(&json!({ "url": page })));
    }

    fn script(&self, script: &str) -> Value {
        call("POST", &format!("{}/execute/sync", self.base), Some(&json!({ "script": script, "args": [] })))
    }

    fn find(&self, css: &str) -> String {
        let found =
            call("POST", &format!("{}/element", self.base), Some(&json!({ "using": "css selector", "value": css })));
        found[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {found}")).to_string()
    }

    /// Clears the field and types `text` into it, as a person would.
    fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        call("POST", &format!("{}/element/{e}/clear", self.base), Some(&json!({})));
        call("POST", &format!("{}/element/{e}/value", self.base), Some(&json!({ "text": text })));
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        call("POST", &format!("{}/element/{e}/click", self.base), Some(&json!({})));
    }

    /// Waits (at most `secs`) for `script` to return something other than null or "".
    fn wait_for(&self, script: &str, secs: u64) -> Value {
        let started = Instant::now();
        loop {
            let v = self.script(script);
            if !(v.is_null() || v == "") {
                return v;
            }
            assert!(started.elapsed() < Duration::from_secs(secs), "waited {secs} s for `{script}`");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn screenshot(&self) -> Vec<u8> {
        let b64 = call("GET", &format!("{}/screenshot", self.base), None);
        decode_base64(b64.as_str().unwrap())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = agent().delete(&self.base).call();
    }
}

/// A WebDriver command; its `value`.
fn call(method: &str, url: &str, body: Option<&Value>) -> Value {
    let a = agent();
    let mut response = match (method, body) {
        ("POST", Some(b)) => a.post(url).send_json(b),
        _ => a.get(url).call(),
    }
    .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let text = response.body_mut().read_to_string().unwrap();
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{method} {url}: {text}"));
    assert!(response.status().is_success(), "{method} {url}: {v}");
    v["value"].clone()
}

fn decode_base64(s: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let digits: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=').map(value).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &d)| n | (u32::from(d) << (18 - 6 * i)));
        out.extend(n.to_be_bytes()[1..chunk.len()].iter());
    }
    out
}

/// The text of the headline table's cell of `metric` and column `cell`.
fn shown(browser: &Browser, metric: &str, cell: &str) -> String {
    let script = format!(
        "const c = document.querySelector('#headline tr[data-metric=\"{metric}\"] td[data-cell=\"{cell}\"]'); return c ? c.textContent : null;"
    );
    browser.wait_for(&script, 5).as_str().unwrap().to_string()
}

/// `12.34 ± 0.56` → (12.34, decimals 2).
fn figure(text: &str) -> (f64, usize) {
    let mean = text.split('±').next().unwrap().trim();
    let decimals = mean.split_once('.').map_or(0, |(_, d)| d.len());
    (mean.parse().unwrap_or_else(|_| panic!("not a number: {text:?}")), decimals)
}

#[test]
fn the_page_runs_an_edit_and_shows_what_run_computes() {
    const TEST: &str = "the_page_runs_an_edit_and_shows_what_run_computes";
    let Some(chromium) = tool(&["chromium", "chromium-browser"]) else {
        return missing_tool(TEST, "chromium is not installed (apt-get install chromium)");
    };
    let Some(chromedriver) = tool(&["chromedriver"]) else {
        return missing_tool(TEST, "chromedriver is not installed (apt-get install chromium-driver)");
    };
    let dir = scratch("browser");
    let (server, scenario) = server(&dir, super::SCENARIO);
    let browser = Browser::start(&chromium, &chromedriver);
    browser.go(&url(server.addr(), "/"));
    browser.wait_for("return document.body.dataset.ready", 20);

    // A bad value: the command line's message, next to its control.
    browser.type_into("[data-path='service.0.bands.1.slots']", "-4");
    browser.click("#run");
    let message = browser
        .wait_for("return document.querySelector('[data-error-for=\"service.0.bands.1.slots\"]').textContent", 20);
    let want = cli_message(&scenario, "service.0.bands.1.slots=-4", &dir.join("cli"));
    assert_eq!(message, want.as_str());
    assert_eq!(browser.script("return document.getElementById('results').hidden"), true, "nothing ran");

    // An edit: 7 slots in the first band (the second back to the file's 10), 5 seeds.
    browser.click("#reset");
    browser.type_into("[data-path='service.0.bands.0.slots']", "7");
    browser.type_into("#replications", "5");
    browser.click("#run");
    browser.wait_for("return document.getElementById('results').hidden ? null : 'shown'", 120);
    assert_eq!(browser.script("return document.getElementById('form-error').textContent"), "");

    let (mut edited, mut file) = (Vec::new(), Vec::new());
    for seed in 1..=5 {
        let e = run_row(&scenario, seed, &["service.0.bands.0.slots=7"], &dir.join(format!("e{seed}")));
        let f = run_row(&scenario, seed, &[], &dir.join(format!("f{seed}")));
        edited.push(e["lead_days_p90"].parse::<f64>().unwrap());
        file.push(f["lead_days_p90"].parse::<f64>().unwrap());
    }
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
    for (column, values) in [("edited", &edited), ("the file", &file)] {
        let text = shown(&browser, "lead_days_p90", column);
        let (value, decimals) = figure(&text);
        let tolerance = 0.5 * 10f64.powi(-(decimals as i32)) + 1e-9;
        assert!(
            (value - mean(values)).abs() <= tolerance,
            "{column}: the page shows {text:?}, the mean of `slotsim run`'s lead_days_p90 over seeds 1-5 is {}",
            mean(values)
        );
    }
    // Paired differences with the report's wording, the charts, the downloads.
    let verdict = shown(&browser, "lead_days_p90", "difference");
    assert!(verdict.contains('['), "{verdict}");
    let sentence = browser.script(
        "return document.querySelector('#headline tr[data-metric=\"lead_days_p90\"] td:last-child').textContent",
    );
    let sentence = sentence.as_str().unwrap();
    assert!(
        ["Better: ", "Worse: ", "No significant difference: "].iter().any(|v| sentence.starts_with(v)),
        "{sentence}"
    );
    assert_eq!(browser.script("return document.querySelectorAll('#charts svg').length"), 5);
    assert_eq!(browser.script("return document.querySelectorAll('#downloads a').length"), 6);
    if let Some(path) = std::env::var_os("SLOTSIM_SCREENSHOT") {
        std::fs::write(path, browser.screenshot()).unwrap();
    }

    // Cancel: a long run (a year of the embassy, 2 × 200 replications) stops on the server.
    let embassy = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/embassy.toml")).unwrap();
    let (long, _) = super::server(&scratch("browser-cancel"), &embassy);
    browser.go(&url(long.addr(), "/"));
    browser.wait_for("return document.body.dataset.ready", 20);
    browser.type_into("#replications", "200");
    browser.click("#run");
    browser.wait_for(
        "const t = document.getElementById('progress-text').textContent; return t.includes('of 400') ? t : null;",
        30,
    );
    assert!(long.runs_under_way() > 0);
    browser.click("#cancel");
    browser.wait_for(
        "const t = document.getElementById('progress-text').textContent; return t === 'cancelled' ? t : null;",
        10,
    );
    let cancelled = Instant::now();
    while long.runs_under_way() > 0 {
        // The whole run takes some 20 s (dev profile); a stopped one ends within a replication.
        assert!(cancelled.elapsed() < Duration::from_secs(5), "the run went on after Cancel");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(browser.script("return document.getElementById('results').hidden"), true);
}
