//! Sweeps through the real binary: thread-count independence, reproduction of rows by
//! `run`, interruption and resumption, shards and merge, and CSV/Parquet agreement.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod shards;

const SCENARIO: &str = r#"
name = "sweep-test"
days = 60
[demand]
arrivals_per_day = 25
initial_backlog = 150
patience_days = 30
[behaviour]
bot_share = 0.1
cancel_per_day = 0.01
[[service]]
name = "passport"
bands = [{ start = "09:00", slots = 10 }, { start = "10:00", slots = 10 }]
[[service]]
name = "pickup"
bands = [{ start = "12:00", slots = 20 }]
[legacy]
requests = 60
quota_per_day = 5
[[variant]]
name = "waitlist"
set = { "allocation.policy" = "waitlist" }
"#;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_slotsim"))
}

struct Temp(PathBuf);
impl Temp {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("slotsim-sweep-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        let s = Temp(p);
        std::fs::write(s.0.join("scenario.toml"), SCENARIO).unwrap();
        s
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}
impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn sweep(t: &Temp, out: &str, extra: &[&str]) {
    let status = bin()
        .arg("sweep")
        .arg(t.path("scenario.toml"))
        .args(["--out", t.path(out).to_str().unwrap()])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "sweep {extra:?} failed");
}

/// Starts a one-thread sweep of 130 replications per variant into `out` and returns once
/// its first chunk is on disk (or after two minutes), with that chunk's path.
fn start_and_await_first_chunk(t: &Temp, out: &Path, stderr: Stdio) -> (std::process::Child, PathBuf) {
    let child = bin()
        .arg("sweep")
        .arg(t.path("scenario.toml"))
        .args(["--replications", "130", "--threads", "1", "--out", out.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let first = out.join(".chunks/summary-000000.parquet");
    let started = Instant::now();
    while !first.exists() && started.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(5));
    }
    (child, first)
}

fn bytes(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn one_and_two_threads_write_identical_tables() {
    let t = Temp::new("threads");
    sweep(&t, "one", &["--replications", "70", "--threads", "1"]);
    sweep(&t, "two", &["--replications", "70", "--threads", "2"]);
    for table in ["summary.csv", "daily.csv"] {
        assert_eq!(bytes(&t.path("one").join(table)), bytes(&t.path("two").join(table)), "{table}");
    }
    // 2 variants × 70 seeds, ordered by variant then seed.
    let summary = String::from_utf8(bytes(&t.path("one/summary.csv"))).unwrap();
    let rows: Vec<&str> = summary.lines().skip(1).collect();
    assert_eq!(rows.len(), 140);
    assert!(rows[0].starts_with("sweep-test,base,1,"));
    assert!(rows[69].starts_with("sweep-test,base,70,"));
    assert!(rows[70].starts_with("sweep-test,waitlist,1,"));
    assert!(!t.path("one/.chunks").exists(), "chunks are removed once the tables are whole");
}

#[test]
fn a_sweep_row_is_reproduced_by_run() {
    let t = Temp::new("reproduce");
    sweep(&t, "sw", &["--replications", "5", "--seed-start", "11"]);
    let summary = String::from_utf8(bytes(&t.path("sw/summary.csv"))).unwrap();
    let row = summary.lines().find(|l| l.starts_with("sweep-test,waitlist,13,")).expect("row for seed 13");
    let status = bin()
        .arg("run")
        .arg(t.path("scenario.toml"))
        .args(["--seed", "13", "--variant", "waitlist", "--out", t.path("run").to_str().unwrap()])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let single = String::from_utf8(bytes(&t.path("run/summary.csv"))).unwrap();
    assert_eq!(single.lines().nth(1).unwrap(), row);
    assert_eq!(single.lines().next(), summary.lines().next(), "same columns");
}

#[test]
fn a_killed_sweep_resumes_to_identical_tables() {
    let t = Temp::new("resume");
    sweep(&t, "whole", &["--replications", "130", "--threads", "1"]);
    let out = t.path("killed");
    // Kill it (SIGKILL) as soon as the first chunk is on disk.
    let (mut child, first) = start_and_await_first_chunk(&t, &out, Stdio::null());
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(first.exists());
    let interrupted = !out.join("summary.csv").exists();
    // Whatever is on disk is whole: every chunk file reads back.
    if interrupted {
        for e in std::fs::read_dir(out.join(".chunks")).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if !name.starts_with('.') {
                slotsim::output::read_frame(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
            }
        }
    }
    // Without --resume the directory is refused; with it the sweep finishes.
    let refused = bin()
        .arg("sweep")
        .arg(t.path("scenario.toml"))
        .args(["--replications", "130", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--resume"));
    sweep(&t, "killed", &["--replications", "130", "--resume"]);
    for table in ["summary.csv", "daily.csv"] {
        assert_eq!(bytes(&t.path("whole").join(table)), bytes(&out.join(table)), "{table}");
    }
    // A resume with another plan is refused.
    let other = bin()
        .arg("sweep")
        .arg(t.path("scenario.toml"))
        .args(["--replications", "7", "--resume", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!other.status.success());
}

#[test]
fn merged_shards_equal_a_single_sweep() {
    let t = Temp::new("shards");
    sweep(&t, "single", &["--replications", "100"]);
    for i in 0..3 {
        sweep(&t, &format!("shard{i}"), &["--replications", "100", "--shard", &format!("{i}/3")]);
        assert!(!t.path(&format!("shard{i}/summary.csv")).exists(), "a shard alone writes no final table");
    }
    // Merging without every shard fails and names the gap.
    let partial = bin()
        .arg("merge")
        .arg(t.path("shard0"))
        .arg(t.path("shard1"))
        .args(["--out", t.path("partial").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!partial.status.success());
    assert!(String::from_utf8_lossy(&partial.stderr).contains("chunk"));
    let status = bin()
        .arg("merge")
        .args((0..3).map(|i| t.path(&format!("shard{i}"))))
        .args(["--out", t.path("merged").to_str().unwrap()])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    for table in ["summary.csv", "daily.csv"] {
        assert_eq!(bytes(&t.path("single").join(table)), bytes(&t.path("merged").join(table)), "{table}");
    }
}

#[test]
fn parquet_and_csv_hold_the_same_data() {
    let t = Temp::new("formats");
    sweep(&t, "csv", &["--replications", "6"]);
    sweep(&t, "pq", &["--replications", "6", "--format", "parquet"]);
    for table in ["summary", "daily"] {
        let csv = slotsim::output::read_frame(&t.path(&format!("csv/{table}.csv"))).unwrap();
        let pq = slotsim::output::read_frame(&t.path(&format!("pq/{table}.parquet"))).unwrap();
        assert_eq!(csv.shape(), pq.shape(), "{table}");
        assert_eq!(csv.get_column_names(), pq.get_column_names(), "{table}");
        for name in pq.get_column_names() {
            let (a, b) = (csv.column(name).unwrap(), pq.column(name).unwrap());
            // CSV loses integer widths and null-only column types; compare values as text.
            let a = a.cast(&polars::prelude::DataType::String).unwrap();
            let b = b.cast(&polars::prelude::DataType::String).unwrap();
            assert!(a.equals_missing(&b), "{table}.{name} differs");
        }
    }
}

#[test]
fn daily_parquet_dates_are_dates_and_csv_dates_iso_text() {
    use polars::prelude::DataType;
    let t = Temp::new("dates");
    sweep(&t, "csv", &["--replications", "2"]);
    sweep(&t, "pq", &["--replications", "2", "--format", "parquet"]);
    let pq = slotsim::output::read_frame(&t.path("pq/daily.parquet")).unwrap();
    let date = pq.column("date").unwrap();
    assert_eq!(date.dtype(), &DataType::Date, "Parquet's DATE type, for polars, pandas and DuckDB");
    // The CSV's text, as written: ISO dates, the same days.
    let csv = csv_columns(&String::from_utf8(bytes(&t.path("csv/daily.csv"))).unwrap());
    let text = &csv["date"];
    assert_eq!(text.len(), pq.height());
    assert_eq!(text[0], "2021-06-14", "the scenario's default start");
    let as_text = date.cast(&DataType::String).unwrap();
    let as_text: Vec<&str> = as_text.str().unwrap().iter().map(|d| d.expect("every day has a date")).collect();
    assert_eq!(as_text, text.iter().map(String::as_str).collect::<Vec<_>>());
    // Day 0 is the first date, and each day one more.
    let days = date.cast(&DataType::Int32).unwrap();
    let days: Vec<i32> = days.i32().unwrap().into_no_null_iter().collect();
    let day = pq.column("day").unwrap().cast(&DataType::Int32).unwrap();
    let day: Vec<i32> = day.i32().unwrap().into_no_null_iter().collect();
    let epoch_day_of_start = 18_792; // 2021-06-14
    assert!(days.iter().zip(&day).all(|(d, n)| *d == epoch_day_of_start + n));
}

#[test]
fn bad_sweep_arguments_are_refused_cleanly() {
    let t = Temp::new("badargs");
    for args in [
        vec!["--replications", "0"],
        vec!["--replications", "3", "--shard", "3/3"],
        vec!["--replications", "3", "--variant", "nope"],
    ] {
        let out = t.path("x");
        let o = bin()
            .arg("sweep")
            .arg(t.path("scenario.toml"))
            .args(&args)
            .args(["--out", out.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(!String::from_utf8_lossy(&o.stderr).trim().is_empty());
        assert!(!out.join("summary.csv").exists());
    }
}

#[test]
fn ctrl_c_stops_cleanly_and_resume_finishes() {
    let t = Temp::new("sigint");
    sweep(&t, "whole", &["--replications", "130", "--threads", "1"]);
    let out = t.path("interrupted");
    let (child, _) = start_and_await_first_chunk(&t, &out, Stdio::piped());
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    if !out.join("summary.csv").exists() {
        // It stopped before the end: exit 130 and a hint to resume.
        assert_eq!(output.status.code(), Some(130));
        assert!(String::from_utf8_lossy(&output.stderr).contains("--resume"));
        sweep(&t, "interrupted", &["--replications", "130", "--resume"]);
    }
    for table in ["summary.csv", "daily.csv"] {
        assert_eq!(bytes(&t.path("whole").join(table)), bytes(&out.join(table)), "{table}");
    }
}

#[test]
fn a_finished_sweep_is_neither_rerun_nor_overwritten() {
    let t = Temp::new("finished");
    sweep(&t, "done", &["--replications", "3"]);
    let before = bytes(&t.path("done/summary.csv"));
    let again = bin()
        .arg("sweep")
        .arg(t.path("scenario.toml"))
        .args(["--replications", "3", "--out", t.path("done").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("finished sweep"));
    let resumed = bin()
        .arg("sweep")
        .arg(t.path("scenario.toml"))
        .args(["--replications", "3", "--resume", "--out", t.path("done").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(resumed.status.success());
    assert!(String::from_utf8_lossy(&resumed.stdout).contains("already finished"));
    assert_eq!(bytes(&t.path("done/summary.csv")), before);
    assert!(!t.path("done/.chunks").exists());
}

/// The columns of a CSV table (no quoted commas in these tables), by header name.
fn csv_columns(text: &str) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().expect("a header").split(',').map(str::to_string).collect();
    let mut columns: std::collections::BTreeMap<String, Vec<String>> =
        header.iter().map(|h| (h.clone(), Vec::new())).collect();
    for line in lines {
        for (h, v) in header.iter().zip(line.split(',')) {
            columns.get_mut(h).expect("a column").push(v.to_string());
        }
    }
    columns
}

#[test]
fn lead_time_by_party_size_agrees_with_the_party_table() {
    let t = Temp::new("by-size");
    for (seed, variant) in [("3", "base"), ("4", "waitlist")] {
        let out = t.path(&format!("run-{seed}"));
        let status = bin()
            .arg("run")
            .arg(t.path("scenario.toml"))
            .args(["--seed", seed, "--variant", variant, "--out", out.to_str().unwrap()])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        let parties = csv_columns(&String::from_utf8(bytes(&out.join("parties.csv"))).unwrap());
        let summary = csv_columns(&String::from_utf8(bytes(&out.join("summary.csv"))).unwrap());
        let (mut sum, mut n) = ([0.0f64; 5], [0usize; 5]);
        let (counted, served, arrival, sizes) =
            (&parties["counted"], &parties["served_day"], &parties["arrival_day"], &parties["size"]);
        for i in 0..counted.len() {
            if counted[i] != "true" || served[i].is_empty() {
                continue;
            }
            let size: usize = sizes[i].parse().unwrap();
            let lead: f64 = served[i].parse::<f64>().unwrap() - arrival[i].parse::<f64>().unwrap();
            sum[size - 1] += lead;
            n[size - 1] += 1;
        }
        assert!(n.iter().filter(|&&k| k > 0).count() >= 4, "parties of several sizes served: {n:?}");
        for size in 1..=5 {
            let column = &summary[&format!("lead_days_mean_size{size}")][0];
            if n[size - 1] == 0 {
                assert!(column.is_empty(), "size {size}: no party served, but the column says {column}");
                continue;
            }
            let from_parties = sum[size - 1] / n[size - 1] as f64;
            let reported: f64 = column.parse().unwrap();
            // parties.csv holds days rounded for print; 1e-6 day is a tenth of a second.
            assert!(
                (reported - from_parties).abs() < 1e-6,
                "seed {seed}, size {size}: summary {reported}, parties.csv gives {from_parties}"
            );
        }
    }
}
