//! `slotsim serve`: the JSON interface against what `slotsim run` writes for the same
//! seeds, bad requests against the command line's messages, concurrent and dropped runs,
//! Ctrl-C, and the page itself in headless Chromium driven over W3C WebDriver
//! (chromedriver).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use slotsim::scenario::Scenario;
use slotsim::serve::{App, Running};

/// 60 days of a desk that cannot keep up, with a staffing period and a variant.
const SCENARIO: &str = r#"
name = "tiny desk"
days = 60

[[service]]
name = "passport"
bands = [{ start = "09:00", slots = 10 }, { start = "10:00", slots = 10 }]

[[service.period]]
from = "2021-07-01"
until = "2021-07-14"
bands = [{ start = "09:00", slots = 14 }]

[demand]
arrivals_per_day = 25.0
initial_backlog = 100

[release]
horizon_days = 30

[[variant]]
name = "waitlist"
set = { "allocation.policy" = "waitlist" }
"#;

fn slotsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_slotsim")).args(args).output().expect("the slotsim binary runs")
}

/// A fresh directory for this test process.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("serve-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The scenario written to `dir`, and a server for it on a free port of 127.0.0.1.
fn server(dir: &Path, text: &str) -> (Running, String) {
    let path = dir.join("desk.toml");
    std::fs::write(&path, text).unwrap();
    let name = path.display().to_string();
    let app = App::new(name.clone(), Scenario::from_toml_str(text).unwrap(), 0);
    let running = slotsim::serve::start(app, "127.0.0.1:0".parse().unwrap()).expect("the server starts");
    (running, name)
}

fn url(addr: SocketAddr, path: &str) -> String {
    format!("http://{addr}{path}")
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(300)))
        .build()
        .into()
}

/// Status and body of a POST of `body` (JSON).
fn post(addr: SocketAddr, path: &str, body: &Value) -> (u16, Value) {
    let mut r = agent().post(&url(addr, path)).send_json(body).expect("the server answers");
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}")))
}

fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut r = agent().get(&url(addr, path)).call().expect("the server answers");
    (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
}

/// The rows of a CSV file as written, text by column (the test tables quote nothing).
fn csv_rows(path: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(!text.contains('"'), "{} quotes a cell; this reader does not unquote", path.display());
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines.map(|l| header.iter().map(|h| h.to_string()).zip(l.split(',').map(str::to_string)).collect()).collect()
}

/// The summary row `slotsim run SCENARIO --seed SEED --set ...` writes.
fn run_row(scenario: &str, seed: u64, sets: &[&str], out: &Path) -> std::collections::BTreeMap<String, String> {
    let seed = seed.to_string();
    let out_s = out.display().to_string();
    let mut args = vec!["run", scenario, "--seed", &seed, "--out", &out_s];
    for s in sets {
        args.extend(["--set", s]);
    }
    let o = slotsim(&args);
    assert!(o.status.success(), "slotsim {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    let mut rows = csv_rows(&out.join("summary.csv"));
    assert_eq!(rows.len(), 1);
    rows.remove(0)
}

/// A served cell equals the file's text: an empty cell is null, a number is the number
/// the text spells (exactly), anything else the same text.
fn same(served: &Value, written: &str) -> bool {
    match served {
        Value::Null => written.is_empty(),
        Value::Number(n) => written.parse::<f64>().ok() == n.as_f64(),
        Value::String(s) => s == written,
        Value::Bool(b) => b.to_string() == written,
        _ => false,
    }
}

fn assert_rows_equal(served: &serde_json::Map<String, Value>, written: &std::collections::BTreeMap<String, String>) {
    let columns: Vec<&String> = served.keys().collect();
    assert_eq!(columns, written.keys().collect::<Vec<_>>(), "the columns differ");
    for (k, v) in written {
        assert!(same(&served[k], v), "{k}: served {} but `slotsim run` wrote {v:?}", served[k]);
    }
}

/// The message the command line prints for `slotsim run SCENARIO --set SET`.
fn cli_message(scenario: &str, set: &str, out: &Path) -> String {
    let o = slotsim(&["run", scenario, "--set", set, "--out", &out.display().to_string()]);
    assert_eq!(o.status.code(), Some(2), "slotsim run --set {set} should refuse");
    let err = String::from_utf8(o.stderr).unwrap();
    err.trim_end().strip_prefix("error: ").unwrap_or_else(|| panic!("no error line: {err}")).to_string()
}

#[test]
fn sweep_rows_equal_what_run_writes_for_the_same_seeds() {
    let dir = scratch("sweep");
    let (server, scenario) = server(&dir, SCENARIO);
    let addr = server.addr();
    let (status, body) = get(addr, "/api/scenario");
    assert_eq!(status, 200);
    let resolved: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(resolved["name"], "tiny desk");
    assert_eq!(resolved["variant_names"], json!(["base", "waitlist"]));
    assert_eq!(resolved["allocation"]["policy"], "fcfs");
    assert_eq!(resolved["confirmation"]["lead_days"], 14, "defaults are filled in");

    let request = json!({
        "set": { "service.0.bands.*.slots": 12, "allocation.urgent_share": "0.1" },
        "variant": "waitlist",
        "replications": 3,
        "seed_start": 5,
    });
    let (status, body) = post(addr, "/api/sweep", &request);
    assert_eq!(status, 200, "{body}");
    let rows = body["summary"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    for (i, row) in rows.iter().enumerate() {
        let seed = 5 + i as u64;
        assert_eq!(row["seed"], seed);
        assert_eq!(row["variant"], "waitlist");
        let out = dir.join(format!("run-{seed}"));
        let sets = ["service.0.bands.*.slots=12", "allocation.urgent_share=0.1"];
        let seed_s = seed.to_string();
        let out_s = out.display().to_string();
        let mut args = vec!["run", &scenario, "--variant", "waitlist", "--seed", &seed_s, "--out", &out_s];
        for s in sets {
            args.extend(["--set", s]);
        }
        let o = slotsim(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let written = csv_rows(&out.join("summary.csv")).remove(0);
        assert_rows_equal(row.as_object().unwrap(), &written);
    }
    // The set values changed the run: the file's own first row differs.
    let file_row = run_row(&scenario, 5, &[], &dir.join("file-5"));
    assert!(!same(&rows[0]["slots_offered"], &file_row["slots_offered"]));
}

#[test]
fn bad_requests_get_400_with_the_command_lines_message() {
    let dir = scratch("bad");
    let (server, scenario) = server(&dir, SCENARIO);
    let addr = server.addr();
    for (path, value, typed) in [
        ("service.0.bandz.0.slots", json!(3), "3"),
        ("service.0.bands.7.slots", json!(3), "3"),
        ("service.0.bands.0.slots", json!(-3), "-3"),
        ("allocation.policy", json!("firstcome"), "firstcome"),
        ("release.horizon_days", json!("0"), "0"),
        ("allocation.overbook_share", json!(2.5), "2.5"),
    ] {
        let (status, body) = post(addr, "/api/sweep", &json!({ "set": { path: value }, "replications": 2 }));
        assert_eq!(status, 400, "{path}={value}: {body}");
        let want = cli_message(&scenario, &format!("{path}={typed}"), &dir.join("cli"));
        assert_eq!(body["error"], want, "{path}={value}");
        assert_eq!(body["path"], path, "the page is told which control is at fault");
        // The page's run refuses it the same way before anything runs.
        let (status, run) = post(addr, "/api/run", &json!({ "set": { path: value } }));
        assert_eq!((status, &run["error"]), (400, &body["error"]));
    }
    let (status, body) = post(addr, "/api/sweep", &json!({ "replications": 100_000 }));
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("at most 200"), "{body}");
    let (status, body) = post(addr, "/api/sweep", &json!({ "replications": 0 }));
    assert_eq!(status, 400, "{body}");
    let (status, body) = post(addr, "/api/sweep", &json!({ "variant": "nope" }));
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("no variant named `nope`"), "{body}");
    let big = "x".repeat(100_000);
    let (status, body) = post(addr, "/api/sweep", &json!({ "set": { "name": big } }));
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("larger than the limit"), "{body}");
    let (status, body) = post(addr, "/api/sweep", &json!({ "replicatons": 3 }));
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("replicatons"), "{body}");
    assert_eq!(get(addr, "/api/runs/99/edited.toml").0, 404);
}

/// The lines of a streamed answer, until its last.
fn stream(addr: SocketAddr, path: &str, body: &Value) -> Vec<Value> {
    let mut r = agent().post(&url(addr, path)).send_json(body).expect("the server answers");
    if r.status().as_u16() != 200 {
        panic!("{path}: {} {}", r.status(), r.body_mut().read_to_string().unwrap());
    }
    let reader = BufReader::new(r.into_body().into_reader());
    reader.lines().map(|l| serde_json::from_str(&l.unwrap()).unwrap()).collect()
}

#[test]
fn a_what_if_run_compares_and_its_downloads_reproduce() {
    let dir = scratch("whatif");
    let (server, _) = server(&dir, SCENARIO);
    let addr = server.addr();
    let request = json!({ "set": { "service.0.bands.0.slots": "16" }, "replications": 4, "seed_start": 2 });
    let lines = stream(addr, "/api/run", &request);
    let result = &lines.last().unwrap()["result"];
    assert!(result.is_object(), "{:?}", lines.last());
    let html = result["html"].as_str().unwrap();
    assert!(html.contains("data-metric=\"lead_days_p90\""));
    assert!(["Better: ", "Worse: ", "No significant difference: "].iter().any(|v| html.contains(v)), "{html}");
    let charts: Vec<&str> = result["charts"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(charts, ["lead_time", "waiting", "first_free_day", "capacity", "headline"]);
    assert!(result["charts"][1]["svg"].as_str().unwrap().starts_with("<svg"));
    let href = |name: &str| {
        result["downloads"].as_array().unwrap().iter().find(|d| d["name"] == name).unwrap()["href"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (status, toml) = get(addr, &href("edited.toml"));
    assert_eq!(status, 200);
    let edited = dir.join("edited.toml");
    std::fs::write(&edited, &toml).unwrap();
    let (_, summary) = get(addr, &href("edited-summary.csv"));
    std::fs::write(dir.join("served.csv"), &summary).unwrap();
    let served = csv_rows(&dir.join("served.csv"));
    assert_eq!(served.len(), 4);
    // The downloaded file, run as it is with the same seeds, gives the page's rows (less
    // the column of the field set, which a plain run does not have).
    for mut row in served {
        let seed: u64 = row["seed"].parse().unwrap();
        assert_eq!(row.remove("service.0.bands.0.slots").as_deref(), Some("16"));
        let written = run_row(&edited.display().to_string(), seed, &[], &dir.join(format!("r{seed}")));
        assert_eq!(row, written, "seed {seed}");
    }
    let (_, compare) = get(addr, &href("compare.csv"));
    assert!(compare.starts_with("variant,") || compare.contains("lead_days_p90"), "{compare}");
    // Progress came before the answer.
    assert!(lines.len() == 1 || lines[0]["total"] == 8, "{:?}", lines[0]);
}

#[test]
fn optimize_from_the_page_answers_as_the_command_line() {
    let dir = scratch("optimize");
    let (server, _) = server(&dir, SCENARIO);
    let request = json!({ "lo": 5, "hi": 40, "days": 25, "max_replications": 40 });
    let lines = stream(server.addr(), "/api/optimize", &request);
    let last = lines.last().unwrap();
    let answer: Vec<&str> = last["answer"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
    assert!(
        answer[0].starts_with("The smallest service.0.bands.*.slots in 5..40 with mean lead_days_p90 <= 25"),
        "{answer:?}"
    );
    // The same question on the command line, on the same (here unedited) scenario.
    let scenario = dir.join("desk.toml").display().to_string();
    let out = dir.join("cli").display().to_string();
    let o = slotsim(&[
        "optimize",
        &scenario,
        "--vary",
        "service.0.bands.*.slots=5..40",
        "--target",
        "lead_days_p90<=25",
        "--max-replications",
        "40",
        "--out",
        &out,
    ]);
    let printed = String::from_utf8(o.stdout).unwrap();
    assert!(o.status.success(), "{printed}{}", String::from_utf8_lossy(&o.stderr));
    for line in &answer {
        assert!(printed.contains(line), "the command line did not print {line:?}:\n{printed}");
    }
}

/// With a calibration's posterior loaded (`serve --posterior DIR`), the capacity question
/// asked from the page draws the fitted field seed by seed, as `optimize --posterior` does,
/// and says which share of the variance comes from it.
#[test]
fn optimize_from_the_page_under_a_posterior_answers_as_the_command_line() {
    let dir = scratch("optimize-posterior");
    let post = dir.join("fit");
    std::fs::create_dir_all(&post).unwrap();
    std::fs::write(post.join("posterior.csv"), "draw,weight,demand.arrivals_per_day\n0,1,20\n1,2,25\n2,1,30\n")
        .unwrap();
    let path = dir.join("desk.toml");
    std::fs::write(&path, SCENARIO).unwrap();
    let name = path.display().to_string();
    let mut app = App::new(name.clone(), Scenario::from_toml_str(SCENARIO).unwrap(), 0);
    app.posterior = Some(std::sync::Arc::new(slotsim::output::calibration::read_posterior(&post).unwrap()));
    let server = slotsim::serve::start(app, "127.0.0.1:0".parse().unwrap()).expect("the server starts");
    let request = json!({ "lo": 5, "hi": 40, "days": 25, "max_replications": 40 });
    let lines = stream(server.addr(), "/api/optimize", &request);
    let answer: Vec<String> =
        lines.last().unwrap()["answer"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_string()).collect();
    assert!(answer.iter().any(|l| l.contains("under the calibration's posterior")), "{answer:?}");
    let out = dir.join("cli").display().to_string();
    let post = post.display().to_string();
    let o = slotsim(&[
        "optimize",
        &name,
        "--vary",
        "service.0.bands.*.slots=5..40",
        "--target",
        "lead_days_p90<=25",
        "--max-replications",
        "40",
        "--posterior",
        &post,
        "--out",
        &out,
    ]);
    let printed = String::from_utf8(o.stdout).unwrap();
    assert!(o.status.success(), "{printed}{}", String::from_utf8_lossy(&o.stderr));
    for line in &answer {
        assert!(printed.contains(line.as_str()), "the command line did not print {line:?}:\n{printed}");
    }
}

#[test]
fn runs_at_once_and_a_dropped_connection_stops_its_run() {
    let dir = scratch("concurrent");
    let (server, _) = server(&dir, SCENARIO);
    let addr = server.addr();
    let request = json!({ "set": { "service.0.bands.*.slots": 9 }, "replications": 6 });
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| post(addr, "/api/sweep", &request));
        let b = s.spawn(|| post(addr, "/api/sweep", &request));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!((a.0, b.0), (200, 200));
    assert_eq!(a.1, b.1, "two runs at once give what each gives alone");
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(files, ["desk.toml"], "the server wrote nothing beside the scenario");

    // A long run, dropped after its first progress line: it stops.
    let long = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/embassy.toml")).unwrap();
    let (server, _) = self::server(&scratch("dropped"), &long);
    let addr = server.addr();
    let body = json!({ "replications": 200 }).to_string();
    let mut tcp = TcpStream::connect(addr).unwrap();
    write!(
        tcp,
        "POST /api/run HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut first = [0u8; 512];
    let n = tcp.read(&mut first).unwrap();
    assert!(String::from_utf8_lossy(&first[..n]).contains("200 OK"));
    let started = Instant::now();
    while server.runs_under_way() == 0 {
        assert!(started.elapsed() < Duration::from_secs(10), "the run never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(tcp);
    let dropped = Instant::now();
    while server.runs_under_way() > 0 {
        // 400 replications of a year of the embassy take some 20 s on two cores (dev
        // profile); a stopped run ends after the replications under way.
        assert!(dropped.elapsed() < Duration::from_secs(5), "the run went on after its connection closed");
        std::thread::sleep(Duration::from_millis(50));
    }
    server.stop().unwrap();
}

/// `slotsim serve` as a person starts it: the address printed, Ctrl-C, a port in use.
#[test]
fn the_command_serves_until_ctrl_c_and_refuses_a_port_in_use() {
    let dir = scratch("command");
    let scenario = dir.join("desk.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_slotsim"))
        .args(["serve", &scenario.display().to_string(), "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr: SocketAddr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    assert!(addr.ip().is_loopback(), "binds 127.0.0.1 unless told otherwise: {line}");
    let (status, page) = get(addr, "/");
    assert_eq!(status, 200);
    assert!(page.contains("<script src=\"/page.js\">") && !page.contains("http"), "nothing from elsewhere");

    let busy = slotsim(&["serve", &scenario.display().to_string(), "--port", &addr.port().to_string()]);
    assert_eq!(busy.status.code(), Some(2));
    let err = String::from_utf8_lossy(&busy.stderr);
    assert!(err.contains("the port is in use") && err.contains("--port"), "{err}");

    // Ctrl-C: a clean stop.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "serve did not stop on Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("stopped"), "{rest}");

    let open = Command::new(env!("CARGO_BIN_EXE_slotsim"))
        .args(["serve", &scenario.display().to_string(), "--port", "0", "--bind", "0.0.0.0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut open = KillOnDrop(open);
    let mut out = BufReader::new(open.0.stdout.take().unwrap());
    let (mut first, mut second) = (String::new(), String::new());
    out.read_line(&mut first).unwrap();
    out.read_line(&mut second).unwrap();
    assert!(second.contains("anyone who can reach port"), "{first}{second}");
}

/// A child process killed when dropped (a failing assertion must not leave it running).
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

mod browser;
