//! `slotsim optimize` and `slotsim select`: flags, validation (nothing is simulated or
//! written on bad input), the printed answer, and the files.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, bail};

use super::load;
use crate::output::answer::{
    optimize_frame, optimize_json, replications_frame, select_frame, select_json, write_csv, write_json,
};
use crate::runner::Plan;
use crate::runner::search::{
    self, OptimizeOutcome, OptimizeProblem, Progress, SelectOutcome, SelectProblem, cell_label, integer_paths,
};
use crate::stats::Summary;
use crate::stats::compare::{Better, metric_info};
use crate::stats::sequential::{Check, Decision, Looks, Requirement};

/// Flags of `slotsim optimize`.
#[derive(Debug, clap::Args)]
pub struct OptimizeArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// The integer parameter searched and its range, as PATH=LO..HI; PATH is a dotted path
    /// as in a variant's `set`, `*` for every index (service.0.bands.*.slots=10..40).
    #[arg(long, value_name = "PATH=LO..HI")]
    pub vary: String,
    /// A requirement on a metric's mean, METRIC<=X or METRIC>=X (repeatable; all must hold).
    #[arg(long = "target", value_name = "METRIC<=X", required = true)]
    pub targets: Vec<String>,
    /// Variant to optimize (default: the base scenario).
    #[arg(long, default_value = "base")]
    pub variant: String,
    /// Find the largest value instead (the targets get harder as the value grows).
    #[arg(long)]
    pub largest: bool,
    /// Probability that the answer as a whole is right.
    #[arg(long, default_value_t = 0.95)]
    pub confidence: f64,
    /// Most replications per value; a value still undecided then counts as not meeting.
    #[arg(long, default_value_t = 1000)]
    pub max_replications: usize,
    /// Replications at a value's first look; later looks double it.
    #[arg(long, default_value_t = 10)]
    pub first_look: usize,
    /// First seed: every value runs seeds S, S+1, ... (for independent repetitions).
    #[arg(long, default_value_t = 1)]
    pub seed_start: u64,
    /// Worker threads (0 = one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
}

/// Flags of `slotsim select`.
#[derive(Debug, clap::Args)]
pub struct SelectArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// The metric ranked, in its better direction (lead_days_mean: lower is better).
    #[arg(long)]
    pub metric: String,
    /// Indifference zone: the smallest difference in the metric worth telling apart, in its
    /// units (default: 5% of the candidates' mean over a pilot of --first-stage seeds that
    /// the procedure then does not reuse).
    #[arg(long)]
    pub delta: Option<f64>,
    /// Probability that the choice is within delta of the best (of those meeting the
    /// constraints).
    #[arg(long, default_value_t = 0.95)]
    pub confidence: f64,
    /// A constraint on a metric's mean, METRIC<=X or METRIC>=X (repeatable).
    #[arg(long = "subject-to", value_name = "METRIC<=X")]
    pub subject_to: Vec<String>,
    /// Most replications per candidate.
    #[arg(long, default_value_t = 1000)]
    pub max_replications: usize,
    /// First-stage replications n0 of KN (at least 2; 10 as in Kim and Nelson's study).
    #[arg(long, default_value_t = 10)]
    pub first_stage: usize,
    /// Only these variants (repeatable; default: every variant, `base` included).
    #[arg(long = "variant")]
    pub variants: Vec<String>,
    /// Higher values of the metric are better (for a metric whose direction is not known).
    #[arg(long)]
    pub higher_is_better: bool,
    /// First seed.
    #[arg(long, default_value_t = 1)]
    pub seed_start: u64,
    /// Worker threads (0 = one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
}

/// The metric names a requirement or ranking may use.
fn known_metric(metric: &str, flag: &str) -> Result<()> {
    let names = Summary::metric_names();
    if !names.contains(&metric) {
        bail!("{flag}: unknown metric `{metric}`; the metrics are: {}", names.join(", "));
    }
    Ok(())
}

fn parse_requirements(items: &[String], flag: &str) -> Result<Vec<Requirement>> {
    let mut out = Vec::new();
    for item in items {
        let r: Requirement = item.parse().map_err(|e| anyhow::anyhow!("{flag} {item}: {e}"))?;
        known_metric(&r.metric, flag)?;
        let info = metric_info(&r.metric);
        if r.against(info.better) {
            eprintln!(
                "warning: {flag} {item}: {} is better {} ({}), so this asks for it to be {} a limit; did you mean {}{}{}?",
                r.metric,
                info.better.name(),
                info.label,
                if r.bound == crate::stats::sequential::Bound::AtLeast { "at least" } else { "at most" },
                r.metric,
                if r.bound == crate::stats::sequential::Bound::AtLeast { "<=" } else { ">=" },
                r.limit
            );
        }
        out.push(r);
    }
    Ok(out)
}

fn check_confidence(c: f64) -> Result<()> {
    if !(c > 0.0 && c < 1.0) {
        bail!("--confidence {c}: a probability strictly between 0 and 1 is needed, e.g. 0.95");
    }
    Ok(())
}

/// `PATH=VALUE` for `run --set`: the value as TOML (`30`, `0.5`, `"waitlist"`, `true`),
/// or as text if it is not TOML (`waitlist`).
///
/// # Errors
///
/// No `=`, or an empty path.
pub(super) fn parse_set(s: &str) -> Result<(String, toml::Value)> {
    let (path, value) = s
        .split_once('=')
        .filter(|(p, _)| !p.trim().is_empty())
        .ok_or_else(|| anyhow::anyhow!("--set {s}: expected PATH=VALUE, e.g. --set service.0.bands.*.slots=30"))?;
    let value = value.trim();
    let parsed = toml::from_str::<toml::Table>(&format!("v = {value}")).ok().and_then(|mut t| t.remove("v"));
    Ok((path.trim().to_string(), parsed.unwrap_or_else(|| toml::Value::String(value.to_string()))))
}

/// `PATH=LO..HI` (LO and HI integers, LO ≤ HI).
fn parse_vary(s: &str) -> Result<(String, i64, i64)> {
    let err = || {
        anyhow::anyhow!(
            "--vary {s}: expected PATH=LO..HI with integers LO <= HI, e.g. --vary service.0.bands.*.slots=10..40"
        )
    };
    let (path, range) = s.rsplit_once('=').ok_or_else(err)?;
    let (lo, hi) = range.split_once("..").ok_or_else(err)?;
    let lo: i64 = lo.trim().parse().map_err(|_| err())?;
    let hi: i64 = hi.trim().trim_start_matches('=').parse().map_err(|_| err())?;
    let path = path.trim();
    if path.is_empty() {
        return Err(err());
    }
    if lo > hi {
        bail!("--vary {s}: LO ({lo}) is greater than HI ({hi}); give the range as LO..HI with LO <= HI");
    }
    Ok((path.to_string(), lo, hi))
}

/// Ctrl-C sets the returned flag; a second Ctrl-C exits at once (nothing half-written:
/// every file is written whole and renamed).
fn stop_flag() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let s = Arc::clone(&stop);
    let _ = ctrlc::set_handler(move || {
        if s.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
    stop
}

/// A progress bar on a terminal (stderr), nothing otherwise.
fn progress_bar() -> Option<indicatif::ProgressBar> {
    std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} · {pos} replications · {elapsed}")
                .expect("valid template"),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        bar
    })
}

fn command_line() -> Vec<String> {
    std::env::args().collect()
}

fn create_out(out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))
}

fn fmt_x(x: f64) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    let a = x.abs();
    if a >= 100.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
    }
}

fn interval_text(c: &Check) -> String {
    if c.low.is_finite() {
        format!("{} (interval {} to {}, {} replications)", fmt_x(c.mean), fmt_x(c.low), fmt_x(c.high), c.n)
    } else {
        format!("{} ({} replication(s), no interval)", fmt_x(c.mean), c.n)
    }
}

fn value_text(problem: &OptimizeProblem, outcome: &OptimizeOutcome, value: i64) -> Option<String> {
    let e = outcome.examined.iter().find(|e| e.value == value)?;
    let parts: Vec<String> = problem
        .requirements
        .iter()
        .zip(&e.checks)
        .map(|(r, c)| format!("mean {} {}", r.metric, interval_text(c)))
        .collect();
    Some(format!("at {value}: {}", parts.join("; ")))
}

/// The answer as printed (and kept in `optimize.json` under `answer_text`): the sentence,
/// the deciding intervals on both sides, and the replications against a grid.
fn optimize_answer(
    args: &OptimizeArgs,
    problem: &OptimizeProblem,
    outcome: &OptimizeOutcome,
    path: &str,
    lo: i64,
    hi: i64,
) -> Vec<String> {
    let mut lines = Vec::new();
    let targets: Vec<String> = problem.requirements.iter().map(|r| format!("mean {r}")).collect();
    let which = if args.largest { "largest" } else { "smallest" };
    let confidence = format!("{}%", args.confidence * 100.0);
    match outcome.answer {
        Some(a) => {
            lines.push(format!(
                "The {which} {path} in {lo}..{hi} with {} is {a} (at {confidence} confidence for the answer as a whole).",
                targets.join(" and ")
            ));
            if let Some(t) = value_text(problem, outcome, a) {
                lines.push(format!("  meets {t}"));
            }
            let neighbour = if args.largest { a.checked_add(1) } else { a.checked_sub(1) };
            match neighbour.and_then(|n| value_text(problem, outcome, n)) {
                Some(t) => lines.push(format!("  fails {t}")),
                None => lines.push(format!("  ({a} is the end of the range: nothing beyond it was examined)")),
            }
        }
        None => {
            lines.push(format!(
                "No value of {path} in {lo}..{hi} meets {} at {confidence} confidence.",
                targets.join(" and ")
            ));
            let easiest = if args.largest { lo } else { hi };
            if let Some(t) = value_text(problem, outcome, easiest) {
                lines.push(format!("  even the easiest end fails: {t}"));
            }
        }
    }
    lines.push(format!(
        "  (intervals: Student t at {:.3}% two-sided, each look's share of the {confidence} confidence)",
        100.0 * (1.0 - 2.0 * outcome.alpha_per_look)
    ));
    lines.push(format!(
        "{} values examined by bisection, {} replications with common seeds {}..; an exhaustive grid of the {} values at equal precision would need {}.",
        outcome.examined.len(),
        outcome.replications(),
        args.seed_start,
        hi.abs_diff(lo) + 1,
        outcome.grid_equivalent(lo, hi)
    ));
    lines
}

/// `slotsim optimize`.
///
/// # Errors
///
/// Bad input (nothing is run or written), or I/O failures.
pub fn optimize(args: &OptimizeArgs) -> Result<ExitCode> {
    let (scenario, _) = load(&args.scenario)?;
    let (path, lo, hi) = parse_vary(&args.vary)?;
    check_confidence(args.confidence)?;
    let requirements = parse_requirements(&args.targets, "--target")?;
    if args.max_replications < 2 || args.first_look < 2 {
        bail!("--max-replications and --first-look need at least 2 replications (an interval needs two values)");
    }
    integer_paths(&scenario, &args.variant, &path).map_err(|e| anyhow::anyhow!("{}: {e}", args.scenario.display()))?;
    // Every value in range must make a valid scenario: check both ends before running.
    for v in [lo, hi] {
        let concrete = integer_paths(&scenario, &args.variant, &path)?;
        search::cell_at(&scenario, &args.variant, &path, &concrete, v)
            .map_err(|e| anyhow::anyhow!("--vary {}: the value {v} is not allowed: {e}", args.vary))?;
    }
    let problem = OptimizeProblem {
        scenario: scenario.clone(),
        variant: args.variant.clone(),
        path: path.clone(),
        lo,
        hi,
        largest: args.largest,
        requirements,
        confidence: args.confidence,
        looks: Looks { first: args.first_look, max: args.max_replications },
        seed_start: args.seed_start,
    };
    let stop = stop_flag();
    let bar = progress_bar();
    let started = std::time::Instant::now();
    let progress = |p: &Progress| {
        if let Some(b) = &bar {
            b.set_message(format!("examining {}", p.doing));
            b.set_position(p.replications as u64);
        }
    };
    let outcome = search::optimize(&problem, args.threads, &stop, &progress)?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if outcome.interrupted {
        eprintln!("interrupted after {} replications: nothing written", outcome.replications());
        return Ok(ExitCode::from(130));
    }
    let secs = started.elapsed().as_secs_f64();

    let mut warnings = Vec::new();
    for c in &outcome.contradictions {
        warnings.push(format!(
            "{} is not monotone as assumed: from {} to {} it moved by {} (paired 95% interval {} to {}); the search assumes the targets get easier as the value {}, so the answer may be wrong",
            c.metric, c.from, c.to, fmt_x(c.difference), fmt_x(c.low), fmt_x(c.high),
            if problem.largest { "falls" } else { "grows" }
        ));
    }
    for e in outcome.examined.iter().filter(|e| e.decision == Decision::Undecided) {
        warnings.push(format!(
            "{} = {} was still undecided after {} replications and counts as not meeting the targets (raise --max-replications to decide it)",
            path,
            e.value,
            e.summaries.len()
        ));
    }
    let lines = optimize_answer(args, &problem, &outcome, &path, lo, hi);
    let hash = scenario.variant(&args.variant)?.hash();
    create_out(&args.out)?;
    write_csv(optimize_frame(&problem, &outcome)?, &args.out.join("optimize.csv"))?;
    let cells: Vec<_> = outcome.examined.iter().map(|e| e.cell.clone()).collect();
    let summaries: Vec<&[Summary]> = outcome.examined.iter().map(|e| e.summaries.as_slice()).collect();
    write_csv(replications_frame(&scenario.name, cells, &summaries, args.seed_start)?, &args.out.join("summary.csv"))?;
    let mut json = optimize_json(&problem, &outcome, &hash, &command_line(), &warnings);
    json["answer_text"] = serde_json::json!(lines);
    write_json(&json, &args.out.join("optimize.json"))?;

    let mut out = std::io::stdout().lock();
    for l in &lines {
        writeln!(out, "{l}")?;
    }
    writeln!(out, "{:.1} s; written: {}/optimize.csv, optimize.json, summary.csv", secs, args.out.display())?;
    out.flush()?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    Ok(if outcome.answer.is_some() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// `slotsim select`.
///
/// # Errors
///
/// Bad input (nothing is run or written), or I/O failures.
pub fn select(args: &SelectArgs) -> Result<ExitCode> {
    let (scenario, _) = load(&args.scenario)?;
    known_metric(&args.metric, "--metric")?;
    check_confidence(args.confidence)?;
    if let Some(d) = args.delta
        && !(d > 0.0 && d.is_finite())
    {
        bail!("--delta {d}: the indifference zone must be a positive number in the metric's units, e.g. --delta 0.5");
    }
    let constraints = parse_requirements(&args.subject_to, "--subject-to")?;
    if args.first_stage < 2 || args.max_replications < args.first_stage {
        bail!("--first-stage needs at least 2 replications, and --max-replications at least as many");
    }
    let info = metric_info(&args.metric);
    let higher = match (info.better, args.higher_is_better) {
        (Better::Higher, _) | (Better::Neutral, true) => true,
        (Better::Lower, false) => false,
        (Better::Lower, true) => bail!("--higher-is-better: {} is better lower", args.metric),
        (Better::Neutral, false) => bail!(
            "--metric {}: which way this metric is better is not known; add --higher-is-better if higher is better, or choose a metric such as lead_days_mean",
            args.metric
        ),
    };
    let chosen = (!args.variants.is_empty()).then_some(args.variants.as_slice());
    let plan = Plan::new(&scenario, chosen, args.seed_start, 1)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.scenario.display()))?;
    if plan.cells.len() < 2 {
        bail!(
            "select needs at least two candidates (variants or [sweep] grid points); {} has {}",
            args.scenario.display(),
            plan.cells.len()
        );
    }
    let stop = stop_flag();
    let bar = progress_bar();
    let started = std::time::Instant::now();
    let mut notes = Vec::new();
    let mut seed_start = args.seed_start;
    let mut pilot_replications = 0;
    let delta = match args.delta {
        Some(d) => d,
        None => {
            let cells: Vec<&crate::runner::Cell> = plan.cells.iter().collect();
            let pilot = search::pilot(&cells, args.first_stage, seed_start, args.threads, &stop);
            let Some(pilot) = pilot else {
                eprintln!("interrupted: nothing written");
                return Ok(ExitCode::from(130));
            };
            let means: Vec<f64> = pilot
                .iter()
                .filter_map(|s| {
                    crate::stats::compare::mean(
                        &s.iter().filter_map(|x| search::metric_value(x, &args.metric)).collect::<Vec<_>>(),
                    )
                })
                .collect();
            let m = crate::stats::compare::mean(&means).unwrap_or(0.0).abs();
            if m.is_nan() || m <= 0.0 {
                bail!("--delta is needed: the pilot mean of {} is 0, so 5% of it is no indifference zone", args.metric);
            }
            let d = round2(0.05 * m);
            pilot_replications = pilot.iter().map(Vec::len).sum::<usize>();
            seed_start += args.first_stage as u64;
            notes.push(format!(
                "--delta not given: {d} = 5% of the pilot mean {} of {} over seeds {}..{} (not reused: the procedure starts at seed {seed_start})",
                fmt_x(m),
                args.metric,
                args.seed_start,
                seed_start - 1
            ));
            d
        }
    };
    let problem = SelectProblem {
        cells: plan.cells.clone(),
        metric: args.metric.clone(),
        higher_is_better: higher,
        delta,
        confidence: args.confidence,
        constraints,
        first_stage: args.first_stage,
        max_replications: args.max_replications,
        seed_start,
    };
    let progress = |p: &Progress| {
        if let Some(b) = &bar {
            b.set_message(p.doing.clone());
            b.set_position((p.replications + pilot_replications) as u64);
        }
    };
    let outcome = search::select(&problem, args.threads, &stop, &progress)?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if outcome.interrupted {
        eprintln!("interrupted after {} replications: nothing written", outcome.simulated() + pilot_replications);
        return Ok(ExitCode::from(130));
    }
    let secs = started.elapsed().as_secs_f64();
    if !outcome.decided && outcome.selected.is_some() {
        notes.push(format!(
            "KN had not finished at --max-replications {}: the candidate with the best mean among those left was taken, without the guarantee",
            args.max_replications
        ));
    }
    for (i, c) in outcome.candidates.iter().enumerate() {
        if c.feasible == Decision::Undecided {
            notes.push(format!(
                "{}: its constraints were still undecided after {} replications; it counts as not meeting them",
                cell_label(&problem.cells[i]),
                c.summaries.len()
            ));
        }
    }
    let hash = scenario.variant("base")?.hash();
    create_out(&args.out)?;
    write_csv(select_frame(&problem, &outcome)?, &args.out.join("select.csv"))?;
    let summaries: Vec<&[Summary]> = outcome.candidates.iter().map(|c| c.summaries.as_slice()).collect();
    write_csv(
        replications_frame(&scenario.name, problem.cells.clone(), &summaries, seed_start)?,
        &args.out.join("summary.csv"),
    )?;
    let lines = selection_answer(&problem, &outcome, pilot_replications);
    let mut json = select_json(&problem, &outcome, &hash, &command_line(), &notes);
    json["answer_text"] = serde_json::json!(lines);
    write_json(&json, &args.out.join("select.json"))?;

    let mut out = std::io::stdout().lock();
    for l in &lines {
        writeln!(out, "{l}")?;
    }
    writeln!(out, "{secs:.1} s; written: {}/select.csv, select.json, summary.csv", args.out.display())?;
    out.flush()?;
    for n in &notes {
        eprintln!("note: {n}");
    }
    Ok(if outcome.selected.is_some() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Two significant digits.
fn round2(x: f64) -> f64 {
    if x == 0.0 {
        return 0.0;
    }
    let p = 10f64.powi(x.abs().log10().floor() as i32 - 1);
    (x / p).round() * p
}

/// The choice as printed (and kept in `select.json` under `answer_text`).
fn selection_answer(problem: &SelectProblem, outcome: &SelectOutcome, pilot: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let info = metric_info(&problem.metric);
    let unit = if info.unit.is_empty() { String::new() } else { format!(" {}", info.unit) };
    let best = if problem.higher_is_better { "highest" } else { "lowest" };
    let among = if problem.constraints.is_empty() {
        String::new()
    } else {
        let c: Vec<String> = problem.constraints.iter().map(|r| format!("mean {r}")).collect();
        format!(" among the candidates with {}", c.join(" and "))
    };
    let confidence = format!("{}%", problem.confidence * 100.0);
    match outcome.selected {
        Some(i) => {
            let c = &outcome.candidates[i];
            let xs: Vec<f64> =
                c.summaries[..c.used].iter().filter_map(|s| search::metric_value(s, &problem.metric)).collect();
            let e = crate::stats::compare::estimate(&xs, 0.95);
            let shown = e
                .map(|e| match e.interval() {
                    Some((lo, hi)) => format!("{}{unit}, 95% interval {} to {}", fmt_x(e.mean), fmt_x(lo), fmt_x(hi)),
                    None => format!("{}{unit}", fmt_x(e.mean)),
                })
                .unwrap_or_default();
            let guarantee = if outcome.decided {
                format!(
                    "with {confidence} confidence it is within {}{unit} of the best{}",
                    problem.delta,
                    if among.is_empty() { "" } else { " of them" }
                )
            } else {
                "the procedure had not finished at --max-replications, so there is no guarantee".to_string()
            };
            lines.push(format!(
                "Choose {}: it has the {best} mean {} ({shown}){among}; {guarantee}.",
                cell_label(&problem.cells[i]),
                problem.metric
            ));
        }
        None => lines.push(format!(
            "No candidate meets{}: nothing to choose.",
            among.trim_start_matches(" among the candidates with")
        )),
    }
    lines.push(format!("replications used per candidate (common seeds {}..):", problem.seed_start));
    for (i, c) in outcome.candidates.iter().enumerate() {
        let fate = match (outcome.selected == Some(i), c.eliminated_at, c.feasible) {
            (true, _, _) => "chosen".to_string(),
            (_, _, Decision::Fails) => "fails the constraints".to_string(),
            (_, _, Decision::Undecided) => "constraints undecided".to_string(),
            (_, Some(r), _) => format!("eliminated after {r}"),
            (_, None, _) => "still in at the limit".to_string(),
        };
        lines.push(format!("  {:<30} {:>6}  ({fate})", cell_label(&problem.cells[i]), c.used));
    }
    let k = problem.cells.len();
    match outcome.fixed_per_candidate {
        Some(n) => lines.push(format!("{} replications in all{}; a fixed design of equal replications with the same guarantee would need {k} × {n} = {}.",
            outcome.used(),
            if pilot > 0 { format!(" plus a pilot of {pilot}") } else { String::new() },
            k * n
        )),
        None => lines.push(format!("{} replications in all.", outcome.used())),
    }
    lines
}
