//! `optimize` and `select` through the binary: identical outputs for the same command
//! (whatever the thread count), replications reproduced by `run --set`, exit 1 when
//! nothing meets, and bad input with nothing written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::search::reference;

struct Temp(PathBuf);

impl Temp {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("slotsim-search-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        let variants = "\n[[variant]]\nname = \"more\"\nset = { \"service.0.bands.0.slots\" = 17 }\n\
                        \n[[variant]]\nname = \"most\"\nset = { \"service.0.bands.0.slots\" = 19 }\n";
        std::fs::write(p.join("scenario.toml"), format!("{}{variants}", reference::scenario(15))).unwrap();
        Temp(p)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    fn scenario(&self) -> String {
        self.path("scenario.toml").display().to_string()
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn slotsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_slotsim")).args(args).output().expect("the slotsim binary runs")
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The JSON without the command line (which names the output directory).
fn json_without_command(p: &Path) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(&read(p)).unwrap();
    v.as_object_mut().unwrap().remove("command");
    v
}

const VARY: &str = "service.0.bands.*.slots=10..24";

fn optimize(t: &Temp, out: &str, extra: &[&str]) -> Output {
    let out = t.path(out).display().to_string();
    let s = t.scenario();
    let mut args = vec!["optimize", &s, "--vary", VARY, "--out", &out];
    args.extend_from_slice(extra);
    slotsim(&args)
}

#[test]
fn optimize_twice_gives_identical_files_on_any_thread_count() {
    let t = Temp::new("twice");
    let a = optimize(&t, "a", &["--target", "lead_days_mean<=1.55", "--threads", "1"]);
    let b = optimize(&t, "b", &["--target", "lead_days_mean<=1.55", "--threads", "2"]);
    assert!(a.status.success() && b.status.success(), "{:?}\n{:?}", text(&a), text(&b));
    for f in ["optimize.csv", "summary.csv"] {
        assert_eq!(read(&t.path("a").join(f)), read(&t.path("b").join(f)), "{f}");
    }
    assert_eq!(json_without_command(&t.path("a/optimize.json")), json_without_command(&t.path("b/optimize.json")));
    let (out, _) = text(&a);
    assert!(
        out.starts_with("The smallest service.0.bands.*.slots in 10..24 with mean lead_days_mean <= 1.55 is 16"),
        "{out}"
    );
    assert!(out.contains("meets at 16") && out.contains("fails at 15"), "the deciding intervals on both sides: {out}");
    let json = json_without_command(&t.path("a/optimize.json"));
    assert_eq!(json["answer"], 16);
    assert_eq!(json["seeds"]["first"], 1);
    let csv = read(&t.path("a/optimize.csv"));
    assert!(csv.starts_with("value,replications,verdict,examined,lead_days_mean_mean,lead_days_mean_low,lead_days_mean_high,lead_days_mean_verdict\n"), "{csv}");
    assert_eq!(
        json["replications"],
        csv.lines().skip(1).map(|l| l.split(',').nth(1).unwrap().parse::<u64>().unwrap()).sum::<u64>()
    );

    let s = t.scenario();
    let sel = |out: &str, threads: &str| {
        let out = t.path(out).display().to_string();
        slotsim(&["select", &s, "--metric", "lead_days_mean", "--delta", "0.01", "--threads", threads, "--out", &out])
    };
    let (a, b) = (sel("sa", "1"), sel("sb", "2"));
    assert!(a.status.success() && b.status.success(), "{:?}", text(&a));
    for f in ["select.csv", "summary.csv"] {
        assert_eq!(read(&t.path("sa").join(f)), read(&t.path("sb").join(f)), "{f}");
    }
    let json = json_without_command(&t.path("sa/select.json"));
    assert_eq!(json, json_without_command(&t.path("sb/select.json")));
    assert_eq!(json["selected"], "most");
    let (out, _) = text(&a);
    assert!(out.starts_with("Choose most: it has the lowest mean lead_days_mean"), "{out}");
    assert!(out.contains("a fixed design of equal replications with the same guarantee would need 3 × "), "{out}");
}

#[test]
fn every_optimize_replication_is_reproduced_by_run() {
    let t = Temp::new("reproduce");
    let o = optimize(&t, "o", &["--target", "lead_days_mean<=1.55", "--variant", "more", "--seed-start", "5"]);
    // The variant fixes 17 slots, but --vary sets them again: the search is over the path.
    assert!(o.status.success(), "{:?}", text(&o));
    let summary = read(&t.path("o/summary.csv"));
    let mut lines = summary.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("scenario,variant,service.0.bands.*.slots,seed,"), "{header}");
    let rows: Vec<&str> = lines.collect();
    // The first and last replication of every value examined.
    let mut picked: Vec<&str> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let value = row.split(',').nth(2).unwrap();
        let next_value = rows.get(i + 1).map(|r| r.split(',').nth(2).unwrap());
        let prev_value = i.checked_sub(1).map(|j| rows[j].split(',').nth(2).unwrap());
        if prev_value != Some(value) || next_value != Some(value) {
            picked.push(row);
        }
    }
    assert!(picked.len() >= 4, "{picked:?}");
    for row in picked {
        let fields: Vec<&str> = row.split(',').collect();
        let (variant, value, seed) = (fields[1], fields[2], fields[3]);
        assert_eq!(variant, "more");
        let out = t.path(&format!("run-{value}-{seed}")).display().to_string();
        let set = format!("service.0.bands.*.slots={value}");
        let s = t.scenario();
        let r = slotsim(&["run", &s, "--variant", variant, "--seed", seed, "--set", &set, "--out", &out]);
        assert!(r.status.success(), "{:?}", text(&r));
        let again = read(&Path::new(&out).join("summary.csv"));
        let again: Vec<&str> = again.lines().collect();
        assert_eq!(again[0], header, "the same columns");
        assert_eq!(again[1], row, "value {value}, seed {seed}");
    }
    // optimize.csv's means are the means of those rows.
    let csv = read(&t.path("o/optimize.csv"));
    let lead_col = header.split(',').position(|c| c == "lead_days_mean").unwrap();
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let xs: Vec<f64> = rows
            .iter()
            .map(|r| r.split(',').collect::<Vec<_>>())
            .filter(|r| r[2] == f[0])
            .map(|r| r[lead_col].parse().unwrap())
            .collect();
        assert_eq!(xs.len(), f[1].parse::<usize>().unwrap());
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!((mean - f[4].parse::<f64>().unwrap()).abs() < 1e-12, "{line}");
    }
}

#[test]
fn optimize_exits_1_when_no_value_meets() {
    let t = Temp::new("none");
    let o = optimize(&t, "o", &["--target", "lead_days_mean<=0.5", "--max-replications", "40"]);
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
    let (out, _) = text(&o);
    assert!(out.starts_with("No value of service.0.bands.*.slots in 10..24 meets mean lead_days_mean <= 0.5"), "{out}");
    assert!(out.contains("even the easiest end fails: at 24"), "{out}");
    assert_eq!(json_without_command(&t.path("o/optimize.json"))["answer"], serde_json::Value::Null);
}

/// A bad call: exit code 2, a message containing every `wanted` piece, nothing written.
fn rejected(t: &Temp, args: &[&str], wanted: &[&str]) {
    let out = t.path("never");
    let mut all: Vec<&str> = args.to_vec();
    let o = out.display().to_string();
    all.extend_from_slice(&["--out", &o]);
    let r = slotsim(&all);
    let (stdout, stderr) = text(&r);
    assert_eq!(r.status.code(), Some(2), "{args:?}: {stdout} {stderr}");
    for w in wanted {
        assert!(stderr.contains(w), "{args:?}: {stderr:?} lacks {w:?}");
    }
    assert!(!out.exists(), "{args:?} wrote {}", out.display());
}

#[test]
fn bad_input_is_named_and_nothing_is_written() {
    let t = Temp::new("bad");
    let s = t.scenario();
    let s = s.as_str();
    let opt = |rest: &[&'static str]| -> Vec<&str> {
        let mut v = vec!["optimize", s];
        v.extend_from_slice(rest);
        v
    };
    let target = "lead_days_mean<=1.5";
    rejected(
        &t,
        &opt(&["--vary", VARY, "--target", "lead_days<=3"]),
        &["unknown metric `lead_days`", "lead_days_p90", "utilization"],
    );
    rejected(&t, &opt(&["--vary", "service.0.slots=10..20", "--target", target]), &["no field `slots`"]);
    rejected(&t, &opt(&["--vary", "service.3.bands.*.slots=10..20", "--target", target]), &["`3` is not an index"]);
    rejected(&t, &opt(&["--vary", "demand.arrivals_per_day=10..20", "--target", target]), &["not an integer"]);
    rejected(&t, &opt(&["--vary", "allocation.policy=1..2", "--target", target]), &["not an integer"]);
    rejected(
        &t,
        &opt(&["--vary", "service.0.bands.*.slots=20..10", "--target", target]),
        &["LO (20) is greater than HI (10)"],
    );
    rejected(&t, &opt(&["--vary", "service.0.bands.*.slots=a..b", "--target", target]), &["PATH=LO..HI"]);
    rejected(
        &t,
        &opt(&["--vary", "service.0.bands.*.slots=-5..10", "--target", target]),
        &["the value -5 is not allowed"],
    );
    for c in ["--confidence=0", "--confidence=1", "--confidence=1.5", "--confidence=-0.2"] {
        rejected(&t, &opt(&["--vary", VARY, "--target", target, c]), &["--confidence", "between 0 and 1"]);
    }
    rejected(&t, &opt(&["--vary", VARY, "--target", "lead_days_mean=3"]), &["METRIC<=X"]);
    let sel = |rest: &[&'static str]| -> Vec<&str> {
        let mut v = vec!["select", s];
        v.extend_from_slice(rest);
        v
    };
    for d in ["--delta=0", "--delta=-1"] {
        rejected(&t, &sel(&["--metric", "lead_days_mean", d]), &["--delta", "positive"]);
    }
    rejected(&t, &sel(&["--metric", "waiting_time"]), &["unknown metric `waiting_time`", "lead_days_mean"]);
    rejected(&t, &sel(&["--metric", "lead_days_mean", "--confidence", "1"]), &["between 0 and 1"]);
    rejected(&t, &sel(&["--metric", "lead_days_mean", "--subject-to", "nope>=1"]), &["unknown metric `nope`"]);
    rejected(&t, &sel(&["--metric", "lead_days_mean", "--variant", "more"]), &["at least two candidates"]);

    // A target in the worse direction of a metric is warned about, and runs.
    let out = t.path("warned").display().to_string();
    let r = slotsim(&["optimize", s, "--vary", VARY, "--target", "utilization<=0.9", "--out", &out]);
    let (_, stderr) = text(&r);
    assert!(r.status.success(), "{stderr}");
    assert!(stderr.contains("warning: --target utilization<=0.9: utilization is better higher"), "{stderr}");
    assert!(stderr.contains("did you mean utilization>=0.9"), "{stderr}");
}

#[test]
fn precision_sweep_equals_a_fixed_sweep_of_its_seeds() {
    let t = Temp::new("precision");
    let s = t.scenario();
    let (p, f) = (t.path("p").display().to_string(), t.path("f").display().to_string());
    let r = slotsim(&["sweep", &s, "--precision", "lead_days_mean=0.03", "--replications", "10", "--out", &p]);
    let (out, err) = text(&r);
    assert!(r.status.success(), "{out}{err}");
    assert!(out.starts_with("precision reached: lead_days_mean ±0.03 in every cell, with "), "{out}");
    let manifest: serde_json::Value = serde_json::from_str(&read(&t.path("p/manifest.json"))).unwrap();
    let n = manifest["replications"].as_u64().unwrap();
    // More than the first round, in whole chunks of seeds.
    assert!(n > 10 && n.is_multiple_of(64), "{n}");
    let r = slotsim(&["sweep", &s, "--replications", &n.to_string(), "--out", &f]);
    assert!(r.status.success(), "{:?}", text(&r));
    for table in ["summary.csv", "daily.csv"] {
        assert!(
            read(&t.path("p").join(table)) == read(&t.path("f").join(table)),
            "{table} differs from the fixed sweep"
        );
    }
    // Every cell's interval is as narrow as asked, and it was not after the first round.
    let rows = read(&t.path("p/summary.csv"));
    let header: Vec<&str> = rows.lines().next().unwrap().split(',').collect();
    let (vcol, lcol) = (1, header.iter().position(|c| *c == "lead_days_mean").unwrap());
    let mut by: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for line in rows.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        by.entry(f[vcol].to_string()).or_default().push(f[lcol].parse().unwrap());
    }
    let half = |xs: &[f64]| slotsim::stats::compare::estimate(xs, 0.95).unwrap().half_width.unwrap();
    assert!(by.values().all(|xs| half(xs) <= 0.03));
    assert!(by.values().any(|xs| half(&xs[..10]) > 0.03));
    rejected(&t, &["sweep", &s, "--precision", "nope=1"], &["unknown metric `nope`"]);
    rejected(&t, &["sweep", &s, "--precision", "5%"], &["--precision needs a metric"]);
}

#[test]
fn reports_lead_with_the_answer_and_a_planners_summary() {
    let t = Temp::new("report");
    let o = optimize(&t, "o", &["--target", "lead_days_mean<=1.55"]);
    assert!(o.status.success(), "{:?}", text(&o));
    let r = slotsim(&["report", t.path("o").to_str().unwrap()]);
    assert!(r.status.success(), "{:?}", text(&r));
    let page = read(&t.path("o/report.html"));
    let answer = page.find("<section id=\"answer\">").expect("an answer section");
    let sentence = page.find("is 16 (at 95% confidence").expect("the answer sentence");
    let values = page.find("Values examined").expect("the values examined");
    assert!(answer < sentence && sentence < values, "the page leads with the answer");
    assert!(page.contains("<tr class=\"answer\"><td class=\"num\">16</td>"), "the answer's row is marked");

    // A sweep's report starts with the planner's summary, best per metric marked.
    let s = t.scenario();
    let out = t.path("sweep").display().to_string();
    assert!(slotsim(&["sweep", &s, "--replications", "6", "--out", &out]).status.success());
    let r = slotsim(&["report", &out]);
    assert!(r.status.success(), "{:?}", text(&r));
    let page = read(&t.path("sweep/report.html"));
    let summary = page.find("<section id=\"summary\">").expect("a summary section");
    assert!(summary < page.find("<section id=\"verdicts\">").unwrap(), "summary first");
    let table = &page[summary..page[summary..].find("</table>").unwrap() + summary];
    // 19 slots (variant `most`) has the shortest lead time; 15 (base) the highest utilization.
    let row_of = |v: &str| table.lines().find(|l| l.contains(&format!("data-variant=\"{v}\""))).unwrap().to_string();
    let cells = |row: &str| row.split("<td").skip(2).map(|c| c.contains("★")).collect::<Vec<_>>();
    let header = &table[..table.find("</thead>").unwrap()];
    let metrics: Vec<&str> = header.split("<code>").skip(1).map(|c| &c[..c.find("</code>").unwrap()]).collect();
    let lead = metrics.iter().position(|m| *m == "lead_days_mean").unwrap();
    let util = metrics.iter().position(|m| *m == "utilization").unwrap();
    assert!(cells(&row_of("most"))[lead] && !cells(&row_of("base"))[lead], "{table}");
    assert!(cells(&row_of("base"))[util] && !cells(&row_of("most"))[util], "{table}");
    let svg = read(&t.path("sweep/plots/waiting.svg"));
    assert!(
        svg.contains("date (the run starts on 2021-06-14)") && svg.lines().any(|l| l.trim() == "2021-06-14"),
        "time axes in calendar dates"
    );
}

#[test]
fn ctrl_c_stops_optimize_cleanly_with_nothing_written() {
    let t = Temp::new("sigint");
    let out = t.path("o");
    let embassy = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/embassy.toml");
    let child = Command::new(env!("CARGO_BIN_EXE_slotsim"))
        .args(["optimize", embassy, "--vary", "service.0.bands.*.slots=20..60", "--target", "lead_days_p90<=60"])
        .args(["--threads", "1", "--out", out.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Long enough to be simulating (a run of the embassy takes ~0.1 s), far shorter than
    // the search (80 of them on one thread).
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let o = child.wait_with_output().unwrap();
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted after") && stderr.contains("nothing written"), "{stderr}");
    assert!(!out.exists(), "nothing is written");
}

#[test]
fn estimates_against_the_assumed_monotonicity_are_warned_about() {
    // Utilization falls as slots grow, so `>=` gets harder, not easier, with the value:
    // searching for the smallest value (without --largest) sees that and says so.
    let t = Temp::new("monotone");
    let o = optimize(&t, "o", &["--target", "utilization>=0.74"]);
    let (out, stderr) = text(&o);
    assert!(o.status.success(), "{out}{stderr}");
    assert!(stderr.contains("warning: utilization is not monotone as assumed: from "), "{stderr}");
    assert!(stderr.contains("the search assumes the targets get easier as the value grows"), "{stderr}");
    let json = json_without_command(&t.path("o/optimize.json"));
    assert!(json["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("not monotone")));
    // With --largest the same question is monotone: no warning, and the answer is 17.
    let o = optimize(&t, "l", &["--target", "utilization>=0.74", "--largest"]);
    let (out, stderr) = text(&o);
    assert!(o.status.success() && !stderr.contains("not monotone"), "{out}{stderr}");
    assert!(
        out.starts_with("The largest service.0.bands.*.slots in 10..24 with mean utilization >= 0.74 is 17"),
        "{out}"
    );
    assert!(out.contains("meets at 17") && out.contains("fails at 18"), "{out}");
}

#[test]
fn select_without_a_feasible_candidate_exits_1_and_a_missing_delta_comes_from_a_pilot() {
    let t = Temp::new("select-none");
    let s = t.scenario();
    let out = t.path("none").display().to_string();
    let r = slotsim(&[
        "select",
        &s,
        "--metric",
        "lead_days_mean",
        "--delta",
        "0.05",
        "--subject-to",
        "utilization>=0.99",
        "--out",
        &out,
    ]);
    let (stdout, stderr) = text(&r);
    assert_eq!(r.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.starts_with("No candidate meets mean utilization >= 0.99: nothing to choose."), "{stdout}");
    assert_eq!(json_without_command(&t.path("none/select.json"))["selected"], serde_json::Value::Null);

    let out = t.path("pilot").display().to_string();
    let r = slotsim(&["select", &s, "--metric", "lead_days_mean", "--out", &out]);
    let (stdout, stderr) = text(&r);
    assert!(r.status.success(), "{stdout}{stderr}");
    assert!(
        stderr.contains("delta not given: ") && stderr.contains("(not reused: the procedure starts at seed 11)"),
        "{stderr}"
    );
    let json = json_without_command(&t.path("pilot/select.json"));
    assert_eq!(json["seeds"]["first"], 11);
    assert_eq!(json["selected"], "most");
}
