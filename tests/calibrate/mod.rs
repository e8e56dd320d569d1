//! `calibrate` and `--posterior`: the new metric `no_slot_share`, a fit's simulations
//! equal to the whole run's on the observed days, coverage of the credible intervals over
//! truths drawn from the prior (simulation-based calibration at small scale), the misfit
//! verdict when the desk's capacity changed and the scenario does not say so, sharded
//! fits equal to one fit, posterior draws reproduced by `run`, and bad input refused with
//! nothing written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::AtomicBool;

use slotsim::runner::calibrate::{CalibrateProblem, CalibrateQuestion, FitSpec};
use slotsim::scenario::Scenario;
use slotsim::stats::abc::Settings;
use slotsim::stats::observed;

/// A small desk: 120 days, two bands of 8 on working days, a launch backlog, people who
/// give up after about two months. What the tests fit: the arrival rate and the backlog.
fn desk(extra: &str) -> String {
    format!(
        r#"
name = "small desk"
start = "2021-06-14"
days = 120

[[service]]
name = "passport"
bands = [{{ start = "09:00", slots = 8 }}, {{ start = "14:00", slots = 8 }}]

[release]
kind = "rolling"
horizon_days = 30
min_lead_days = 1

[demand]
arrivals_per_day = 12.0
initial_backlog = 250
patience_days = 60.0

[behaviour]
human_checks_per_day = 3.0
bot_share = 0.05
{extra}"#
    )
}

fn scenario(text: &str) -> Scenario {
    Scenario::from_toml_str(text).unwrap()
}

fn fits() -> Vec<FitSpec> {
    vec!["demand.arrivals_per_day=6..20".parse().unwrap(), "demand.initial_backlog=0..600".parse().unwrap()]
}

/// The wide observation file of a run's daily `booked`, `waiting` and `first_free_day`
/// on every third day.
fn observed_text(run: &slotsim::model::RunRecord, start: i64) -> String {
    let mut text = String::from("date,booked,waiting,first_free_day\n");
    for d in run.daily.iter().filter(|d| d.day % 3 == 0) {
        let date = slotsim::scenario::dates::civil_from_days(start + i64::from(d.day));
        let first = d.first_free_day.map_or("none".to_string(), |f| f.to_string());
        text.push_str(&format!("{date},{},{},{first}\n", d.booked, d.waiting));
    }
    text
}

fn question(observed: observed::Observations, simulations: usize) -> CalibrateQuestion {
    CalibrateQuestion {
        variant: "base".into(),
        fits: fits(),
        observed,
        summaries: Vec::new(),
        simulations,
        seed_start: 1,
        predictive: 40,
        settings: Settings { accept: 0.1, coverage_checks: 150 },
    }
}

#[test]
fn no_slot_share_is_the_share_of_time_nothing_was_bookable() {
    // No demand: from the first release on, something is always bookable.
    let idle = scenario(
        &desk("")
            .replace("arrivals_per_day = 12.0", "arrivals_per_day = 0.0")
            .replace("initial_backlog = 250", "initial_backlog = 0"),
    );
    let run = slotsim::model::simulate(&idle.model_config().unwrap(), 1);
    assert_eq!(slotsim::stats::summarize(&run).no_slot_share, Some(0.0));
    // Overwhelming demand: slots go within minutes of release, so nothing is bookable
    // most of the time; every day that ended with nothing bookable counts some of it.
    let busy = scenario(&desk("").replace("initial_backlog = 250", "initial_backlog = 3000"));
    let run = slotsim::model::simulate(&busy.model_config().unwrap(), 1);
    let summary = slotsim::stats::summarize(&run);
    let share = summary.no_slot_share.unwrap();
    assert!(share > 0.9 && share <= 1.0, "{share}");
    let daily: Vec<f64> = run.daily.iter().map(|d| d.no_slot_share()).collect();
    assert!(daily.iter().all(|s| (0.0..=1.0).contains(s)));
    assert!((daily.iter().sum::<f64>() / daily.len() as f64 - share).abs() < 1e-12, "the summary is the days' mean");
    for d in &run.daily {
        if d.first_free_day.is_none() {
            assert!(d.no_slot_seconds > 0, "day {} ended with nothing bookable, so part of it had nothing", d.day);
        }
    }
}

#[test]
fn a_fits_simulations_equal_the_whole_runs_on_the_observed_days() {
    let s = scenario(&desk("").replace("days = 120", "days = 240"));
    let run = slotsim::model::simulate(&s.model_config().unwrap(), 5);
    // Observe 20 days up to day 57 only: members run 57 + 1 + horizon days, not 240.
    let text: String = observed_text(&run, s.start_day()).lines().take(21).map(|l| format!("{l}\n")).collect();
    let obs = observed::parse(&text, "obs.csv", s.start_day(), s.days).unwrap();
    assert_eq!(obs.last_day(), Some(57));
    let problem = CalibrateProblem::new(&s, question(obs.clone(), 200)).unwrap();
    assert_eq!(problem.simulated_days(), 57 + 1 + 30);
    let member = problem.member(3, &mut Default::default()).unwrap();
    let values = problem.values(&member.latent);
    let full = problem.fitted(&values).unwrap();
    let whole = slotsim::model::simulate(&full.model_config().unwrap(), 1 + 3);
    for (o, got) in obs.entries.iter().zip(&member.entries) {
        let want = o.column.value(&whole.daily[o.day as usize]).unwrap_or(problem.no_slot_value());
        assert_eq!(*got, want, "{} on day {}", o.column, o.day);
    }
}

/// Simulation-based calibration at small scale: 120 truths drawn from the prior, each
/// with its own simulated series, fitted from one table of 800 simulations. The 90%
/// intervals must hold at least 90% less three binomial standard errors (3 × 2.7 = 8.2
/// points): too narrow is the defect; the 50% intervals within 50% ± 3 sd (± 13.7 points)
/// below and at most 80% above (somewhat too wide is allowed). The full run (200 truths,
/// the bundled example) is BENCHMARKS.md's.
#[test]
fn credible_intervals_hold_truths_drawn_from_the_prior() {
    let s = scenario(&desk(""));
    let run = slotsim::model::simulate(&s.model_config().unwrap(), 99);
    let obs = observed::parse(&observed_text(&run, s.start_day()), "obs.csv", s.start_day(), s.days).unwrap();
    let problem = CalibrateProblem::new(&s, question(obs, 800)).unwrap();
    let stop = AtomicBool::new(false);
    let members = problem.simulate_members(0..800, 2, &stop, &|_| {}).unwrap().unwrap();
    let fit = problem.fit(&members).unwrap();
    // The fit of the series made at 12 a day and 250: both truths inside the 90% interval.
    for (j, truth) in [12.0, 250.0].into_iter().enumerate() {
        let (lo, hi) = fit.posterior.interval90[j];
        assert!(lo <= truth && truth <= hi, "parameter {j}: {truth} outside {lo}..{hi}");
    }
    let run = problem.coverage_run(&fit, 120, 2, &stop, &|_| {}).unwrap().unwrap();
    for (j, shares) in run.shares().iter().enumerate() {
        let (c50, c90) = (shares[0].0, shares[1].0);
        assert!(c90 >= 0.9 - 0.082, "parameter {j}: the 90% intervals held {c90}");
        assert!((0.5 - 0.137..=0.8).contains(&c50), "parameter {j}: the 50% intervals held {c50}");
    }
    // The intervals answer something: narrower than half the prior range.
    let width = |j: usize| fit.posterior.interval90[j].1 - fit.posterior.interval90[j].0;
    assert!(width(0) < 7.0 && width(1) < 300.0, "{} {}", width(0), width(1));
    assert!(run.remote <= 6, "{} of 120 truths judged remote", run.remote);
}

/// The desk dropped from two bands of 8 to one of 5 from day 40 on, and the scenario does not say so:
/// no arrival rate and backlog reproduce that, and the fit says misfit (naming the
/// observations) instead of a confident wrong answer; the same fit of a series the
/// scenario can make says no misfit.
#[test]
fn a_capacity_change_the_scenario_misses_is_a_misfit() {
    let s = scenario(&desk(""));
    let changed = scenario(&desk(
        "\n[[service.period]]\nfrom = \"2021-07-24\"\nuntil = \"2021-10-11\"\nbands = [{ start = \"09:00\", slots = 5 }]\n",
    ));
    let stop = AtomicBool::new(false);
    let verdict = |truth: &Scenario| {
        let run = slotsim::model::simulate(&truth.model_config().unwrap(), 7);
        let obs = observed::parse(&observed_text(&run, s.start_day()), "obs.csv", s.start_day(), s.days).unwrap();
        let problem = CalibrateProblem::new(&s, question(obs, 600)).unwrap();
        let members = problem.simulate_members(0..600, 2, &stop, &|_| {}).unwrap().unwrap();
        let fit = problem.fit(&members).unwrap();
        let predictive = problem.predictive(&fit, 2, &stop).unwrap().unwrap();
        problem.check(&fit, &predictive).1
    };
    let misfit = verdict(&changed);
    assert!(misfit.misfit, "{misfit:?}");
    assert!(!misfit.detail.is_empty() && misfit.detail.iter().any(|d| d.contains("2021")), "{misfit:?}");
    let fine = verdict(&s);
    assert!(!fine.misfit, "{fine:?}");
}

// ----- through the binary ------------------------------------------------------------

struct Temp(PathBuf);

impl Temp {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("slotsim-calibrate-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        let s = scenario(&desk(""));
        std::fs::write(
            p.join("desk.toml"),
            desk("\n[[variant]]\nname = \"waitlist\"\nset = { \"allocation.policy\" = \"waitlist\" }\n"),
        )
        .unwrap();
        let run = slotsim::model::simulate(&s.model_config().unwrap(), 99);
        std::fs::write(p.join("obs.csv"), observed_text(&run, s.start_day())).unwrap();
        Temp(p)
    }
    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
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

fn calibrate(t: &Temp, out: &str, extra: &[&str]) -> Output {
    let (s, o, out) = (t.path("desk.toml"), t.path("obs.csv"), t.path(out));
    let mut args = vec![
        "calibrate",
        &s,
        "--observed",
        &o,
        "--fit",
        "demand.arrivals_per_day=6..20",
        "--fit",
        "demand.initial_backlog=0..600",
        "--simulations",
        "300",
        "--predictive",
        "20",
        "--out",
        &out,
    ];
    args.extend_from_slice(extra);
    slotsim(&args)
}

fn read(p: &str) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn json_without_command(p: &str) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(&read(p)).unwrap();
    v.as_object_mut().unwrap().remove("command");
    v
}

#[test]
fn a_fit_through_the_binary_writes_its_files_and_shards_give_the_same_fit() {
    let t = Temp::new("files");
    let whole = calibrate(&t, "whole", &["--threads", "2"]);
    assert!(whole.status.success(), "{}", String::from_utf8_lossy(&whole.stderr));
    let said = String::from_utf8_lossy(&whole.stdout);
    assert!(said.contains("demand.arrivals_per_day is") && said.contains("90% credible interval"), "{said}");
    let json = json_without_command(&t.path("whole/calibrate.json"));
    for key in ["parameters", "misfit", "misfit_detail", "method", "simulations", "seeds", "scenario_hash", "version"] {
        assert!(json.get(key).is_some(), "calibrate.json lacks {key}");
    }
    let p = &json["parameters"]["demand.initial_backlog"];
    assert!(
        p["interval90"][0].as_f64() <= p["estimate"].as_f64() && p["estimate"].as_f64() <= p["interval90"][1].as_f64()
    );
    assert_eq!(p["estimate"].as_f64().unwrap().fract(), 0.0, "an integer field's estimate is whole");
    assert!(
        read(&t.path("whole/posterior.csv"))
            .starts_with("draw,weight,demand.arrivals_per_day,demand.initial_backlog\n")
    );
    assert!(read(&t.path("whole/predictive.csv")).lines().count() > 100);
    let fitted = read(&t.path("whole/fitted.toml"));
    assert!(Scenario::from_toml_str(&fitted).is_ok(), "fitted.toml is a scenario");

    // The same table in two parts (as a Slurm array runs it), then the fit: the same files.
    for part in ["0/2", "1/2"] {
        let o = calibrate(&t, "sharded", &["--shard", part, "--threads", "1"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(!Path::new(&t.path("sharded/calibrate.json")).exists(), "a part does not fit");
    }
    let o = calibrate(&t, "sharded", &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(json_without_command(&t.path("sharded/calibrate.json")), json);
    for f in ["posterior.csv", "predictive.csv", "fitted.toml"] {
        assert_eq!(read(&t.path(&format!("sharded/{f}"))), read(&t.path(&format!("whole/{f}"))), "{f}");
    }

    // The page of the fit.
    let o = slotsim(&["report", &t.path("whole")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page = read(&t.path("whole/report.html"));
    assert!(page.contains("id=\"predictive-booked\"") && page.contains("id=\"posterior-1\"") && page.contains("<svg"));

    // The posterior feeds a sweep of the file's variants: rows carry their draw, the draw
    // is the seed's (the same under both variants), and `run` reproduces a row exactly.
    let post = t.path("whole");
    let o = slotsim(&[
        "sweep",
        &t.path("desk.toml"),
        "--replications",
        "4",
        "--posterior",
        &post,
        "--out",
        &t.path("sweep"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary = read(&t.path("sweep/summary.csv"));
    let header: Vec<&str> = summary.lines().next().unwrap().split(',').collect();
    let at = header.iter().position(|h| *h == "posterior_draw").expect("posterior_draw column");
    let rows: Vec<Vec<&str>> = summary.lines().skip(1).map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 8);
    for k in 0..4 {
        assert_eq!(rows[k][at], rows[k + 4][at], "seed {}: one draw under both variants", k + 1);
    }
    let o = slotsim(&[
        "run",
        &t.path("desk.toml"),
        "--variant",
        "waitlist",
        "--seed",
        "3",
        "--posterior",
        &post,
        "--out",
        &t.path("run"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let run = read(&t.path("run/summary.csv"));
    assert_eq!(run.lines().nth(1).unwrap(), summary.lines().nth(1 + 4 + 2).unwrap(), "run reproduces the sweep's row");
    let o = slotsim(&["compare", &t.path("sweep"), "--posterior", &post]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("comes from the fitted fields"));
}

/// Every refusal: exit 2, the file and line or the flag named, nothing written.
#[test]
fn bad_input_is_refused_with_nothing_written() {
    let t = Temp::new("bad");
    let write = |name: &str, text: &str| {
        std::fs::write(t.0.join(name), text).unwrap();
        t.path(name)
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--observed".into(), write("a.csv", "date,bookd\n2021-06-20,3\n")], "a.csv, line 1"),
        (vec!["--observed".into(), write("b.csv", "date,booked\n2023-01-01,3\n")], "outside"),
        (vec!["--observed".into(), write("c.csv", "date,booked\n2021-06-20,three\n")], "line 2"),
        (vec!["--fit".into(), "demand.arrivals_per_day=20..6".into()], "empty"),
        (vec!["--fit".into(), "allocation.policy=1..3".into()], "not a number"),
        (vec!["--fit".into(), "demand.arrivals_per_dya=1..3".into()], "demand.arrivals_per_dya"),
        (vec!["--observe".into(), "lead_days_mean=30".into()], "lead_days_mean=30"),
    ];
    for (k, (flags, says)) in cases.iter().enumerate() {
        let out = t.path(&format!("out{k}"));
        let (s, o) = (t.path("desk.toml"), t.path("obs.csv"));
        let mut args: Vec<&str> = vec!["calibrate", &s, "--out", &out, "--simulations", "200"];
        let replaces_observed = flags[0] == "--observed";
        if !replaces_observed {
            args.extend(["--observed", &o]);
        }
        if flags[0] != "--fit" {
            args.extend(["--fit", "demand.arrivals_per_day=6..20"]);
        }
        args.extend(flags.iter().map(String::as_str));
        let o = slotsim(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "case {k}: {err}");
        assert!(err.contains(says), "case {k}: `{says}` not in {err}");
        assert!(!Path::new(&out).exists(), "case {k}: {out} was written");
    }
    // A posterior whose fields the scenario lacks.
    let post = t.0.join("post");
    std::fs::create_dir_all(&post).unwrap();
    std::fs::write(post.join("posterior.csv"), "draw,weight,demand.no_such_field\n0,1,3\n").unwrap();
    let out = t.path("run");
    let o = slotsim(&["run", &t.path("desk.toml"), "--posterior", &post.display().to_string(), "--out", &out]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("demand.no_such_field"), "{err}");
    assert!(!Path::new(&out).exists());
}
