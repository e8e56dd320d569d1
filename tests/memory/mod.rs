//! The memory guard through the real binary: an oversized scenario is refused before
//! anything is written, and the estimate stays within a factor of two of the peak
//! resident size measured (the child's own `ru_maxrss`, from `wait4`) on the bundled
//! scenario and on one 16 times larger.

use std::path::{Path, PathBuf};
use std::process::Command;

use slotsim::runner::{Plan, memory};
use slotsim::scenario::Scenario;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_slotsim"))
}

struct Temp(PathBuf);
impl Temp {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("slotsim-memory-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Temp(p)
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

fn embassy() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/embassy.toml")).unwrap()
}

/// `text` with arrivals, bursts, slots, backlog, legacy requests and quota and old-portal
/// bookings multiplied by `k`, and `days` days.
fn scaled(text: &str, k: u32, days: u32) -> String {
    let mut doc: toml::Table = text.parse().unwrap();
    let f = f64::from(k);
    let table = |doc: &mut toml::Table, name: &str| doc.get_mut(name).unwrap().as_table_mut().unwrap().clone();
    let mut demand = table(&mut doc, "demand");
    demand["arrivals_per_day"] = (demand["arrivals_per_day"].as_float().unwrap() * f).into();
    demand["initial_backlog"] = (demand["initial_backlog"].as_integer().unwrap() * i64::from(k)).into();
    for b in demand["burst"].as_array_mut().unwrap() {
        b["extra"] = (b["extra"].as_float().unwrap() * f).into();
    }
    doc["demand"] = demand.into();
    let mut legacy = table(&mut doc, "legacy");
    for key in ["requests", "quota_per_day"] {
        legacy[key] = (legacy[key].as_integer().unwrap() * i64::from(k)).into();
    }
    doc["legacy"] = legacy.into();
    let mut pre = table(&mut doc, "preexisting");
    pre["bookings"] = (pre["bookings"].as_integer().unwrap() * i64::from(k)).into();
    doc["preexisting"] = pre.into();
    for service in doc["service"].as_array_mut().unwrap() {
        for band in service["bands"].as_array_mut().unwrap() {
            band["slots"] = (band["slots"].as_integer().unwrap() * i64::from(k)).into();
        }
    }
    doc["days"] = i64::from(days).into();
    doc["name"] = format!("embassy-x{k}-{days}d").into();
    toml::to_string(&doc).unwrap()
}

/// Runs `cmd` to its end and returns its exit code and its own peak resident size in
/// bytes. Measured by a small Python process that starts it and reads
/// `getrusage(RUSAGE_CHILDREN)`: a child started straight from this test process would
/// count this process's own peak, which it shares until it executes the binary.
fn peak_rss(cmd: Command) -> (Option<i32>, u64) {
    const MEASURE: &str = "import resource, subprocess, sys\n\
        code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode\n\
        print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n";
    let o = Command::new("python3")
        .args(["-c", MEASURE])
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .output()
        .expect("python3 (which the test command needs anyway) measures the child");
    let text = String::from_utf8_lossy(&o.stdout);
    let mut fields = text.split_whitespace();
    let code = fields.next().and_then(|c| c.parse().ok());
    let kb: u64 = fields.next().and_then(|k| k.parse().ok()).unwrap_or_else(|| panic!("no measurement: {text}"));
    (code, kb * 1024)
}

/// The estimate `slotsim sweep --variant base --replications n --threads threads` makes.
fn estimate(text: &str, n: u64, threads: usize) -> f64 {
    let scenario = Scenario::from_toml_str(text).unwrap();
    let plan = Plan::new(&scenario, Some(&["base".to_string()]), 1, n).unwrap();
    memory::sweep(&plan, plan.jobs(), threads).total()
}

fn sweep_command(t: &Temp, text: &str, name: &str, n: u64, threads: usize) -> Command {
    let file = t.path(&format!("{name}.toml"));
    std::fs::write(&file, text).unwrap();
    let mut cmd = bin();
    cmd.arg("sweep").arg(&file).args(["--variant", "base", "--replications", &n.to_string()]);
    cmd.args([
        "--threads",
        &threads.to_string(),
        "--out",
        t.path(&format!("out-{name}-{n}-{threads}")).to_str().unwrap(),
    ]);
    cmd
}

#[test]
fn the_estimate_is_within_a_factor_of_two_of_the_measured_peak() {
    let t = Temp::new("factor");
    let text = embassy();
    for (name, scenario) in [("embassy", text.clone()), ("embassy-x16", scaled(&text, 16, 365))] {
        let (code, measured) = peak_rss(sweep_command(&t, &scenario, name, 1, 1));
        assert_eq!(code, Some(0), "{name}");
        let estimated = estimate(&scenario, 1, 1);
        let ratio = estimated / measured as f64;
        eprintln!(
            "{name}: estimated {:.1} MB, measured peak {:.1} MB, ratio {ratio:.2}",
            estimated / 1e6,
            measured as f64 / 1e6
        );
        assert!((0.5..=2.0).contains(&ratio), "{name}: estimate {estimated} vs measured {measured}: ratio {ratio}");
    }
}

#[test]
fn a_sweep_holds_nothing_per_party_beyond_the_replications_in_flight() {
    // If finished replications kept anything per party, 32 replications would hold
    // ~24 times what 8 do beyond the program; they may only reuse the same buffers.
    let t = Temp::new("flat");
    let text = scaled(&embassy(), 4, 365);
    let (code, eight) = peak_rss(sweep_command(&t, &text, "x4", 8, 1));
    assert_eq!(code, Some(0));
    let (code, many) = peak_rss(sweep_command(&t, &text, "x4", 32, 1));
    assert_eq!(code, Some(0));
    let per_replication = estimate(&text, 1, 1) - memory::FIXED_BYTES as f64;
    eprintln!("x4: peak {:.1} MB for 8 replications, {:.1} MB for 32", eight as f64 / 1e6, many as f64 / 1e6);
    assert!((many as f64) < eight as f64 + 0.5 * per_replication, "8: {eight} B, 32: {many} B");
}

/// A million arrivals a day for ten years.
/// Its variant gives `select` two candidates.
const HUGE: &str = "name = \"huge\"\ndays = 3650\n[demand]\narrivals_per_day = 1000000.0\n\
    [[variant]]\nname = \"w\"\nset = { \"allocation.policy\" = \"waitlist\" }\n";

#[test]
fn an_oversized_scenario_is_refused_before_anything_is_written_by_every_command_that_simulates() {
    let t = Temp::new("huge");
    std::fs::write(t.path("huge.toml"), HUGE).unwrap();
    let limits: &[&[&str]] = if Path::new("/proc/meminfo").exists() {
        &[&["--max-memory", "16G"], &[]]
    } else {
        &[&["--max-memory", "16G"]]
    };
    for limit in limits {
        let commands: [(&str, &[&str]); 5] = [
            ("run", &[]),
            ("sweep", &["--replications", "4", "--threads", "2"]),
            ("sweep", &["--replications", "4", "--threads", "2", "--precision", "lead_days_mean=1"]),
            ("optimize", &["--vary", "service.0.bands.*.slots=10..20", "--target", "lead_days_mean<=5"]),
            ("select", &["--metric", "lead_days_mean"]),
        ];
        for (i, (command, args)) in commands.into_iter().enumerate() {
            let out = t.path(&format!("out-{i}-{}", limit.len()));
            let mut cmd = bin();
            cmd.arg(command).arg(t.path("huge.toml")).args(["--out", out.to_str().unwrap()]).args(*limit).args(args);
            let o = cmd.output().unwrap();
            let stderr = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{command} {limit:?}: {stderr}");
            for part in ["not enough memory", "estimated peak", "TiB", "available", "Reduce", "arrivals_per_day"] {
                assert!(stderr.contains(part), "{command} {limit:?}: {part:?} missing from: {stderr}");
            }
            if limit.is_empty() {
                assert!(stderr.contains("MemAvailable") || stderr.contains("cgroup"), "{stderr}");
            } else {
                assert!(stderr.contains("16.0 GiB available (--max-memory 16G)"), "{stderr}");
            }
            assert!(!out.exists(), "{command} {limit:?} wrote {}", out.display());
        }
    }
}

#[test]
fn bad_max_memory_values_are_refused() {
    let t = Temp::new("badmax");
    std::fs::write(t.path("s.toml"), "name = \"s\"\ndays = 5\n").unwrap();
    for bad in ["lots", "0", "12X"] {
        let o = bin()
            .arg("run")
            .arg(t.path("s.toml"))
            .args(["--max-memory", bad, "--out", t.path("o").to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{bad}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("--max-memory"), "{bad}");
        assert!(!t.path("o").exists());
    }
    // A scenario that fits runs under a limit it meets.
    let o = bin()
        .arg("run")
        .arg(t.path("s.toml"))
        .args(["--max-memory", "4G", "--out", t.path("o").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
