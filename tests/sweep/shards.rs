//! `--shard auto` under each scheduler's variables, and every refusal of `merge`.

use super::*;

/// The scheduler variables `--shard auto` reads: removed from every child here, so that a
/// test run inside a job array sees only what the test sets.
const SCHEDULER_VARIABLES: [&str; 6] = [
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_MIN",
    "SLURM_ARRAY_TASK_COUNT",
    "AWS_BATCH_JOB_ARRAY_INDEX",
    "AWS_BATCH_JOB_ARRAY_SIZE",
    "JOB_COMPLETION_INDEX",
];

/// `slotsim sweep` of the test scenario with `--shard FLAG` and exactly `vars` set.
fn shard_sweep(t: &Temp, out: &str, flag: &str, vars: &[(&str, String)]) -> std::process::Output {
    let mut cmd = bin();
    cmd.arg("sweep").arg(t.path("scenario.toml"));
    cmd.args(["--replications", "100", "--shard", flag, "--out", t.path(out).to_str().unwrap()]);
    for v in SCHEDULER_VARIABLES {
        cmd.env_remove(v);
    }
    cmd.envs(vars.iter().map(|(k, v)| (k, v)));
    cmd.output().unwrap()
}

fn merge_dirs(t: &Temp, parts: &[&str], out: &str) -> std::process::Output {
    bin()
        .arg("merge")
        .args(parts.iter().map(|p| t.path(p)))
        .args(["--out", t.path(out).to_str().unwrap()])
        .output()
        .unwrap()
}

fn assert_equal_to_single(t: &Temp, merged: &str) {
    for table in ["summary.csv", "daily.csv"] {
        assert_eq!(bytes(&t.path("single").join(table)), bytes(&t.path(merged).join(table)), "{merged}/{table}");
    }
}

/// A refused merge: exit 2, a message with every `needles`, and no output directory.
fn assert_refused(t: &Temp, parts: &[&str], needles: &[&str]) {
    let out = format!("refused-{}", parts.join("-").replace('/', "_"));
    let o = merge_dirs(t, parts, &out);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{parts:?}: {stderr}");
    for n in needles {
        assert!(stderr.contains(n), "{parts:?}: {n:?} missing from: {stderr}");
    }
    assert!(!t.path(&out).exists(), "{parts:?}: a refused merge wrote {out}");
}

#[test]
fn shard_auto_under_each_scheduler_merges_to_the_single_sweep() {
    let t = Temp::new("auto");
    sweep(&t, "single", &["--replications", "100"]);
    // Slurm, an array numbered from 1 (--array=1-3).
    for id in 1..=3 {
        let vars = [
            ("SLURM_ARRAY_TASK_ID", id.to_string()),
            ("SLURM_ARRAY_TASK_MIN", "1".to_string()),
            ("SLURM_ARRAY_TASK_COUNT", "3".to_string()),
        ];
        let o = shard_sweep(&t, &format!("slurm{id}"), "auto", &vars);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stderr).contains(&format!("shard {}/3", id - 1)));
    }
    // AWS Batch, indexes from 0.
    for i in 0..3 {
        let vars = [("AWS_BATCH_JOB_ARRAY_INDEX", i.to_string()), ("AWS_BATCH_JOB_ARRAY_SIZE", "3".to_string())];
        let o = shard_sweep(&t, &format!("aws{i}"), "auto", &vars);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    // A Kubernetes indexed job gives no count: auto/N.
    for i in 0..3 {
        let o = shard_sweep(&t, &format!("k8s{i}"), "auto/3", &[("JOB_COMPLETION_INDEX", i.to_string())]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    for (name, parts) in [
        ("slurm", ["slurm1", "slurm2", "slurm3"]),
        ("aws", ["aws0", "aws1", "aws2"]),
        ("k8s", ["k8s0", "k8s1", "k8s2"]),
    ] {
        let o = merge_dirs(&t, &parts, &format!("merged-{name}"));
        assert!(o.status.success(), "{name}: {}", String::from_utf8_lossy(&o.stderr));
        assert_equal_to_single(&t, &format!("merged-{name}"));
    }
}

#[test]
fn shard_auto_without_or_with_several_schedulers_is_refused() {
    let t = Temp::new("autobad");
    let none = shard_sweep(&t, "none", "auto", &[]);
    assert_eq!(none.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&none.stderr);
    for v in &SCHEDULER_VARIABLES[..5] {
        assert!(stderr.contains(v), "{v} missing from: {stderr}");
    }
    let vars = [
        ("SLURM_ARRAY_TASK_ID", "0".to_string()),
        ("SLURM_ARRAY_TASK_MIN", "0".to_string()),
        ("SLURM_ARRAY_TASK_COUNT", "2".to_string()),
        ("JOB_COMPLETION_INDEX", "0".to_string()),
    ];
    let several = shard_sweep(&t, "several", "auto/2", &vars);
    assert_eq!(several.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&several.stderr);
    assert!(stderr.contains("several") && stderr.contains("JOB_COMPLETION_INDEX"), "{stderr}");
    assert!(!t.path("none").exists() && !t.path("several").exists(), "nothing is written");
}

#[test]
fn merge_refuses_parts_that_do_not_make_one_whole_sweep() {
    let t = Temp::new("mergebad");
    for i in 0..3 {
        sweep(&t, &format!("p{i}"), &["--replications", "100", "--shard", &format!("{i}/3")]);
    }
    // Another scenario: the same sweep of a scenario with one more slot per band.
    let other = SCENARIO.replace("slots = 10 }", "slots = 11 }");
    std::fs::write(t.path("other.toml"), other).unwrap();
    let status = bin()
        .arg("sweep")
        .arg(t.path("other.toml"))
        .args(["--replications", "100", "--shard", "2/3", "--out", t.path("q2").to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    assert_refused(&t, &["p0", "p1", "q2"], &["different sweeps", "scenario"]);

    // Another version: part 2's manifest as a different slotsim would have written it.
    copy_dir(&t.path("p2"), &t.path("v2"));
    let manifest = std::fs::read_to_string(t.path("v2/manifest.json")).unwrap();
    let version = format!("\"version\": \"{}\"", env!("CARGO_PKG_VERSION"));
    assert!(manifest.contains(&version));
    std::fs::write(t.path("v2/manifest.json"), manifest.replace(&version, "\"version\": \"0.0.1-other\"")).unwrap();
    assert_refused(&t, &["p0", "p1", "v2"], &["different sweeps", "slotsim version", "0.0.1-other"]);

    // Overlapping parts: one part given twice (two copies), and the same directory twice.
    copy_dir(&t.path("p1"), &t.path("p1copy"));
    assert_refused(&t, &["p0", "p1", "p1copy", "p2"], &["overlap", "part 1/3"]);
    assert_refused(&t, &["p0", "p1", "p1", "p2"], &["given twice"]);
    // A whole sweep's part 0 of 2 overlaps part 0 of 3 (chunk 0).
    sweep(&t, "h0", &["--replications", "100", "--shard", "0/2"]);
    assert_refused(&t, &["p0", "h0", "p1", "p2"], &["overlap", "part 0/2", "chunk(s) 0"]);

    // A missing part.
    assert_refused(&t, &["p0", "p2"], &["part(s) 1 of 3 are missing"]);

    // An unfinished part: part 1 with one of its chunks not (yet) written.
    copy_dir(&t.path("p1"), &t.path("u1"));
    std::fs::remove_file(t.path("u1/.chunks/summary-000001.parquet")).unwrap();
    assert_refused(&t, &["p0", "u1", "p2"], &["unfinished", "part 1/3", "--resume"]);

    // An output directory holding another sweep is not overwritten.
    sweep(&t, "whole", &["--replications", "3"]);
    let before = bytes(&t.path("whole/summary.csv"));
    let o = merge_dirs(&t, &["p0", "p1", "p2"], "whole");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("already holds a sweep"));
    assert_eq!(bytes(&t.path("whole/summary.csv")), before);

    // And the three right parts still merge.
    let o = merge_dirs(&t, &["p2", "p0", "p1"], "merged");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn resume_refuses_another_part() {
    let t = Temp::new("resumepart");
    sweep(&t, "p0", &["--replications", "100", "--shard", "0/3"]);
    std::fs::remove_file(t.path("p0/.chunks/summary-000000.parquet")).unwrap();
    let o = bin()
        .arg("sweep")
        .arg(t.path("scenario.toml"))
        .args(["--replications", "100", "--shard", "1/3", "--resume", "--out", t.path("p0").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("holds part 0/3 of this sweep, not part 1/3"));
    assert!(!t.path("p0/.chunks/summary-000001.parquet").exists(), "part 1's chunks were not written");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}
