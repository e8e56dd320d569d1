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

/// `slotsim sweep` of the test scenario with `args` and exactly the scheduler `vars` set.
fn sweep_with(t: &Temp, out: &str, args: &[&str], vars: &[(&str, String)]) -> std::process::Output {
    let mut cmd = bin();
    cmd.arg("sweep").arg(t.path("scenario.toml")).args(args).args(["--out", t.path(out).to_str().unwrap()]);
    for v in SCHEDULER_VARIABLES {
        cmd.env_remove(v);
    }
    cmd.envs(vars.iter().map(|(k, v)| (k, v)));
    cmd.output().unwrap()
}

/// The chunk numbers in `dir/.chunks` (none if it has no chunk folder).
fn chunk_files(t: &Temp, dir: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(t.path(dir).join(".chunks"))
        .map(|entries| entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn an_array_of_more_tasks_than_chunks_merges_to_the_single_sweep() {
    let t = Temp::new("moretasks");
    // 2 variants × 6 seeds: one chunk, as `sbatch --array=1-3` of a small sweep gets.
    sweep(&t, "single", &["--replications", "6", "--threads", "1"]);
    for id in 1..=3 {
        let vars = [
            ("SLURM_ARRAY_TASK_ID", id.to_string()),
            ("SLURM_ARRAY_TASK_MIN", "1".to_string()),
            ("SLURM_ARRAY_TASK_COUNT", "3".to_string()),
        ];
        let o = sweep_with(&t, &format!("p{id}"), &["--replications", "6", "--threads", "1", "--shard", "auto"], &vars);
        assert!(o.status.success(), "task {id}: {}", String::from_utf8_lossy(&o.stderr));
        let dir = t.path(&format!("p{id}"));
        assert!(dir.join("manifest.json").exists(), "task {id} wrote its manifest");
        assert!(!dir.join("summary.csv").exists() && !dir.join("daily.csv").exists(), "a part writes no final table");
        if id > 1 {
            assert!(String::from_utf8_lossy(&o.stdout).contains("none of the sweep's 1 chunk(s)"));
        }
    }
    // Part 0 holds the one chunk, and keeps it for merge; the others hold none.
    assert_eq!(chunk_files(&t, "p1"), ["daily-000000.parquet", "summary-000000.parquet"]);
    assert!(chunk_files(&t, "p2").is_empty() && chunk_files(&t, "p3").is_empty());
    let o = merge_dirs(&t, &["p1", "p2", "p3"], "all");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_equal_to_single(&t, "all");

    // Merged without --out, into the first part given: one that holds no chunk.
    let o = bin().arg("merge").args(["p3", "p1", "p2"].map(|p| t.path(p))).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_equal_to_single(&t, "p3");
    assert!(!t.path("p3/.chunks").exists());
}

#[test]
fn parts_without_chunks_are_parts_all_the_same() {
    let t = Temp::new("emptyparts");
    // 2 variants × 100 seeds: 4 chunks (64, 64, 64, 8 replications) for 6 parts.
    sweep(&t, "single", &["--replications", "100"]);
    for i in 0..6 {
        let o = sweep_with(&t, &format!("s{i}"), &["--replications", "100", "--shard", &format!("{i}/6")], &[]);
        assert!(o.status.success(), "{i}/6: {}", String::from_utf8_lossy(&o.stderr));
        let expected = if i < 4 { 2 } else { 0 };
        assert_eq!(chunk_files(&t, &format!("s{i}")).len(), expected, "part {i}/6");
        assert!(!t.path(&format!("s{i}/summary.csv")).exists());
    }
    // One part of one: every chunk, still a part.
    let o = sweep_with(&t, "whole", &["--replications", "100", "--shard", "0/1"], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(chunk_files(&t, "whole").len(), 8);
    assert!(!t.path("whole/summary.csv").exists());

    // A missing part that owns chunks is named; parts that own none are not needed.
    assert_refused(&t, &["s0", "s1", "s3", "s4", "s5"], &["part(s) 2 of 6 are missing", "chunk(s) 2 of 4"]);
    let o = merge_dirs(&t, &["s0", "s1", "s2", "s3"], "without-empty");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_equal_to_single(&t, "without-empty");
    let o = merge_dirs(&t, &["s5", "s4", "s3", "s2", "s1", "s0"], "all-six");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_equal_to_single(&t, "all-six");
    let o = merge_dirs(&t, &["whole"], "from-one");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_equal_to_single(&t, "from-one");
    // An empty part and the part of one overlap nowhere; the part of one and part 0 of 6 do.
    assert_refused(&t, &["whole", "s0"], &["overlap", "part 0/1", "part 0/6"]);
    let o = merge_dirs(&t, &["whole", "s5"], "whole-and-empty");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_equal_to_single(&t, "whole-and-empty");

    // A part is resumed as a part: nothing to run, and still no final table.
    let o = sweep_with(&t, "s5", &["--replications", "100", "--shard", "5/6", "--resume"], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!t.path("s5/summary.csv").exists());
}

#[test]
fn a_shard_finished_as_a_whole_sweep_by_an_older_slotsim_is_explained() {
    let t = Temp::new("oldshard");
    let o = sweep_with(&t, "old", &["--replications", "6", "--shard", "0/3"], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // What an older slotsim left: the part's chunks assembled into final tables.
    sweep(&t, "single", &["--replications", "6"]);
    for table in ["summary.csv", "daily.csv"] {
        std::fs::copy(t.path("single").join(table), t.path("old").join(table)).unwrap();
    }
    std::fs::remove_dir_all(t.path("old/.chunks")).unwrap();
    for i in 1..3 {
        let o = sweep_with(&t, &format!("old{i}"), &["--replications", "6", "--shard", &format!("{i}/3")], &[]);
        assert!(o.status.success());
    }
    assert_refused(&t, &["old", "old1", "old2"], &["part 0/3", "older slotsim", "whole sweep's tables"]);
    let o = sweep_with(&t, "old", &["--replications", "6", "--shard", "0/3", "--resume"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("older slotsim"));
}

#[test]
fn parquet_shards_merge_to_the_single_parquet_sweep() {
    let t = Temp::new("pqshards");
    let args = ["--replications", "40", "--format", "parquet"];
    sweep(&t, "single", &args);
    for i in 0..3 {
        let o = sweep_with(&t, &format!("q{i}"), &[&args[..], &["--shard", &format!("{i}/3")]].concat(), &[]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let o = merge_dirs(&t, &["q0", "q1", "q2"], "merged");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for table in ["summary.parquet", "daily.parquet"] {
        let single = slotsim::output::read_frame(&t.path("single").join(table)).unwrap();
        let merged = slotsim::output::read_frame(&t.path("merged").join(table)).unwrap();
        assert_eq!(single.schema(), merged.schema(), "{table}");
        assert!(single.equals_missing(&merged), "{table}");
    }
    let daily = slotsim::output::read_frame(&t.path("merged/daily.parquet")).unwrap();
    assert_eq!(daily.column("date").unwrap().dtype(), &polars::prelude::DataType::Date);
}
