//! Same scenario and seed, same bytes; and common random numbers across policies and
//! variants.

use std::path::Path;
use std::process::Command;

use slotsim::model::{PartyKind, Workspace, simulate, simulate_in};
use slotsim::stats::summarize;

use crate::model::support::{self, config_of};

/// A scenario that touches every feature, with variants for every policy and two that
/// change the capacity and the release kind.
const SCENARIO: &str = r#"
name = "reproducible"
start = "2021-06-14"
days = 60
warmup_days = 3

[office]
holidays = ["2021-06-29"]

[[service]]
name = "passport"
bands = [{ start = "09:00", slots = 12 }, { start = "10:00", slots = 12 }]

[[service]]
name = "pickup"
bands = [{ start = "14:00", slots = 15 }]

[release]
time = "07:00"
jitter_minutes = 30
horizon_days = 30

[demand]
arrivals_per_day = 30.0
initial_backlog = 40
patience_days = 25.0

[behaviour]
bot_share = 0.2
cancel_per_day = 0.01
processing_days = { min = 5, max = 10 }

[allocation]
bot_detection_prob = 0.2

[legacy]
requests = 80
quota_per_day = 6

[preexisting]
bookings = 40
over_days = 20

[[variant]]
name = "waitlist"
set = { "allocation.policy" = "waitlist" }

[[variant]]
name = "priority"
set = { "allocation.policy" = "priority" }

[[variant]]
name = "lottery"
set = { "allocation.policy" = "lottery", "allocation.lottery_every_days" = 3 }

[[variant]]
name = "more slots"
set = { "service.0.bands.0.slots" = 20 }

[[variant]]
name = "weekly batch"
set = { "release.kind" = "batch", "release.every_days" = 7 }
"#;

fn slotsim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_slotsim")).args(args).output().expect("the slotsim binary runs")
}

fn assert_same_files(a: &Path, b: &Path, names: &[&str]) {
    for name in names {
        let x = std::fs::read(a.join(name)).unwrap_or_else(|e| panic!("{}: {e}", a.join(name).display()));
        let y = std::fs::read(b.join(name)).unwrap_or_else(|e| panic!("{}: {e}", b.join(name).display()));
        assert!(!x.is_empty(), "{name} is empty");
        assert!(x == y, "{name} differs between two identical runs");
    }
}

#[test]
fn run_twice_gives_byte_identical_tables() {
    let dir = support::temp_dir("repro-run");
    let file = dir.join("scenario.toml");
    std::fs::write(&file, SCENARIO).expect("write the scenario");
    let file = file.to_str().expect("utf-8 path");
    let outs = [dir.join("one"), dir.join("two")];
    for out in &outs {
        let o =
            slotsim(&["run", file, "--seed", "7", "--variant", "waitlist", "--out", out.to_str().unwrap(), "--trace"]);
        assert!(o.status.success(), "run failed: {}", String::from_utf8_lossy(&o.stderr));
    }
    assert_same_files(&outs[0], &outs[1], &["summary.csv", "daily.csv", "parties.csv", "bookings.csv"]);
    // And a different seed gives different tables (the comparison can fail).
    let other = dir.join("other");
    let o = slotsim(&["run", file, "--seed", "8", "--variant", "waitlist", "--out", other.to_str().unwrap()]);
    assert!(o.status.success());
    assert_ne!(std::fs::read(outs[0].join("parties.csv")).unwrap(), std::fs::read(other.join("parties.csv")).unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sweep_output_does_not_depend_on_the_thread_count() {
    let dir = support::temp_dir("repro-sweep");
    let file = dir.join("scenario.toml");
    // Shorter runs keep the sweep quick in the dev profile.
    std::fs::write(&file, SCENARIO.replace("days = 60", "days = 30")).expect("write the scenario");
    let file = file.to_str().expect("utf-8 path");
    let outs = [dir.join("t1"), dir.join("t2")];
    for (out, threads) in outs.iter().zip(["1", "2"]) {
        let o = slotsim(&[
            "sweep",
            file,
            "--replications",
            "3",
            "--threads",
            threads,
            "--variant",
            "base",
            "--variant",
            "lottery",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "sweep failed: {}", String::from_utf8_lossy(&o.stderr));
    }
    assert_same_files(&outs[0], &outs[1], &["summary.csv", "daily.csv"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_library_reproduces_a_run_exactly() {
    let config = config_of(SCENARIO, "base");
    let (a, b) = (simulate(&config, 3), simulate(&config, 3));
    assert_eq!(summarize(&a), summarize(&b));
    assert_eq!(format!("{:?}", a.bookings), format!("{:?}", b.bookings));
    assert_eq!(format!("{:?}", a.parties), format!("{:?}", b.parties));
    assert_eq!(a.daily, b.daily);
}

/// A sweep worker reuses one workspace for replication after replication, of any
/// variant: every record must equal a fresh run's. Variants of different lengths and
/// policies come one after another, so a buffer left dirty or sized for the previous run
/// would show here.
#[test]
fn a_reused_workspace_gives_the_same_runs() {
    let scenario = support::scenario(SCENARIO);
    let shorter = config_of(&SCENARIO.replace("days = 60", "days = 40"), "lottery");
    let configs: Vec<_> =
        scenario.variant_names().into_iter().map(|v| config_of(SCENARIO, v)).chain([shorter]).collect();
    let mut workspace = Workspace::default();
    for (i, config) in configs.iter().enumerate() {
        for seed in [1, 2] {
            let reused = simulate_in(&mut workspace, config, seed);
            let fresh = simulate(config, seed);
            let what = format!("config {i}, seed {seed}");
            assert_eq!(summarize(&reused), summarize(&fresh), "{what}");
            assert_eq!(format!("{:?}", reused.parties), format!("{:?}", fresh.parties), "{what}");
            assert_eq!(format!("{:?}", reused.bookings), format!("{:?}", fresh.bookings), "{what}");
            assert_eq!(reused.daily, fresh.daily, "{what}");
            workspace.recycle(reused);
        }
    }
}

/// What a party draws at arrival, as a comparable tuple.
type Drawn = (u32, i64, u32, i64, bool, bool, Option<i64>);

fn drawn(run: &slotsim::model::RunRecord, kind: PartyKind) -> Vec<Drawn> {
    let mut v: Vec<Drawn> = run
        .parties
        .iter()
        .filter(|p| p.kind() == kind)
        .map(|p| {
            let a = p.attributes();
            (p.index(), p.arrival(), a.size, a.need_by, a.bot, a.watcher, a.patience)
        })
        .collect();
    v.sort_by_key(|d| d.0);
    v
}

#[test]
fn parties_draw_the_same_attributes_under_every_policy_and_variant() {
    let scenario = support::scenario(SCENARIO);
    let names = scenario.variant_names();
    assert_eq!(names.len(), 6);
    for seed in [1, 2, 3] {
        let base = simulate(&config_of(SCENARIO, "base"), seed);
        let portal = drawn(&base, PartyKind::Portal);
        let legacy = drawn(&base, PartyKind::Legacy);
        let old = drawn(&base, PartyKind::Preexisting);
        assert!(portal.len() > 1000 && portal.iter().any(|d| d.4), "a population with bots");
        for name in &names[1..] {
            let run = simulate(&config_of(SCENARIO, name), seed);
            assert!(
                drawn(&run, PartyKind::Portal) == portal,
                "portal parties differ under variant {name}, seed {seed}"
            );
            assert!(drawn(&run, PartyKind::Legacy) == legacy, "legacy parties differ under variant {name}");
            assert!(drawn(&run, PartyKind::Preexisting) == old, "pre-existing parties differ under variant {name}");
            // The variants do change what happens (so the comparison is not vacuous).
            assert_ne!(format!("{:?}", run.bookings), format!("{:?}", base.bookings), "variant {name} changed nothing");
        }
        // Another seed draws another population.
        let other = simulate(&config_of(SCENARIO, "base"), seed + 100);
        assert_ne!(drawn(&other, PartyKind::Portal), portal);
    }
}
