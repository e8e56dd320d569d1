//! `slotsim optimize` and `slotsim select`: flags parsed into the library's questions,
//! which check themselves (nothing is simulated or written on bad input); the answer in
//! the library's words, printed and written.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use super::load;
use super::memory;
use super::progress::{Progress as Display, interrupt_flag};
use crate::output::answer::{
    optimize_frame, optimize_json, replications_frame, select_frame, select_json, write_csv, write_json,
};
use crate::output::answer_text::{optimize_answer, optimize_warnings, select_answer, select_notes};
use crate::runner::search::{
    self, OptimizeProblem, OptimizeQuestion, Progress, SearchError, SelectProblem, SelectQuestion,
};
use crate::stats::Summary;
use crate::stats::compare::metric_info;
use crate::stats::sequential::{Bound, Looks, Requirement};

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
    /// Refuse to start if the estimated peak memory exceeds this (e.g. 8G; default: the
    /// memory available).
    #[arg(long, value_name = "SIZE")]
    pub max_memory: Option<String>,
    /// Draw the fitted fields of each replication from a calibration's posterior
    /// (DIR/posterior.csv, as `slotsim calibrate` writes it): the answer then covers what
    /// the fit leaves unknown. The draw is chosen by the seed, the same for every candidate.
    #[arg(long, value_name = "DIR")]
    pub posterior: Option<PathBuf>,
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
    /// Refuse to start if the estimated peak memory exceeds this (e.g. 8G; default: the
    /// memory available).
    #[arg(long, value_name = "SIZE")]
    pub max_memory: Option<String>,
    /// Draw the fitted fields of each replication from a calibration's posterior
    /// (DIR/posterior.csv, as `slotsim calibrate` writes it): the answer then covers what
    /// the fit leaves unknown. The draw is chosen by the seed, the same for every candidate.
    #[arg(long, value_name = "DIR")]
    pub posterior: Option<PathBuf>,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
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
    Ok((path.trim().to_string(), crate::scenario::paths::value_from_text(value)))
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

/// Parses `METRIC<=X` / `METRIC>=X` items of `flag`, refusing unknown metrics and warning
/// about a bound in a metric's worse direction (probably a slip).
fn parse_requirements(items: &[String], flag: &str) -> Result<Vec<Requirement>> {
    let mut out = Vec::new();
    for item in items {
        let r: Requirement = item.parse().map_err(|e| anyhow::anyhow!("{flag} {item}: {e}"))?;
        crate::stats::metrics::lookup(&r.metric).map_err(|e| anyhow::anyhow!("{flag} {item}: {e}"))?;
        let info = metric_info(&r.metric);
        if r.against(info.better) {
            let (asked, meant) = if r.bound == Bound::AtLeast { ("at least", "<=") } else { ("at most", ">=") };
            eprintln!(
                "warning: {flag} {item}: {} is better {} ({}), so this asks for it to be {asked} a limit; did you mean {}{meant}{}?",
                r.metric,
                info.better.name(),
                info.label,
                r.metric,
                r.limit
            );
        }
        out.push(r);
    }
    Ok(out)
}

/// A library error with the flag it came from, for the command line's message.
fn flagged(e: SearchError, optimize: Option<&OptimizeArgs>, select: Option<&SelectArgs>) -> anyhow::Error {
    let flag = match (&e, optimize, select) {
        (SearchError::Confidence(c), _, _) => Some(format!("--confidence {c}")),
        (SearchError::Delta(d), _, _) => Some(format!("--delta {d}")),
        (SearchError::Replications { .. }, Some(_), _) => Some("--first-look / --max-replications".to_string()),
        (SearchError::Replications { .. }, _, Some(_)) => Some("--first-stage / --max-replications".to_string()),
        (SearchError::Path(_) | SearchError::Value { .. } | SearchError::EmptyRange { .. }, Some(a), _) => {
            Some(format!("--vary {}", a.vary))
        }
        (SearchError::UnknownMetric(_) | SearchError::Direction(_), _, Some(a)) => {
            Some(format!("--metric {}", a.metric))
        }
        (SearchError::UnknownDirection(_), _, Some(a)) => {
            return anyhow::anyhow!("--metric {}: {e} (add --higher-is-better if higher is better)", a.metric);
        }
        (SearchError::PilotZero(_), _, _) => return anyhow::anyhow!("--delta is needed: {e}"),
        _ => None,
    };
    match flag {
        Some(f) => anyhow::anyhow!("{f}: {e}"),
        None => anyhow::Error::new(e),
    }
}

fn command_line() -> Vec<String> {
    std::env::args().collect()
}

fn create_out(out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))
}

/// `slotsim optimize`.
///
/// # Errors
///
/// Bad input (nothing is run or written), or I/O failures.
pub fn optimize(args: &OptimizeArgs) -> Result<ExitCode> {
    let (scenario, _) = load(&args.scenario)?;
    let (path, lo, hi) = parse_vary(&args.vary)?;
    let requirements = parse_requirements(&args.targets, "--target")?;
    let question = OptimizeQuestion {
        variant: args.variant.clone(),
        path,
        lo,
        hi,
        largest: args.largest,
        requirements,
        confidence: args.confidence,
        looks: Looks { first: args.first_look, max: args.max_replications },
        seed_start: args.seed_start,
        posterior: super::calibrate::read_posterior(args.posterior.as_deref())?,
    };
    let problem = OptimizeProblem::new(scenario, question)
        .map_err(|e| flagged(e, Some(args), None))
        .with_context(|| args.scenario.display().to_string())?;
    let estimate = crate::runner::memory::search(problem.end_cells(), crate::runner::workers(args.threads));
    memory::check(&estimate, args.max_memory.as_deref(), true, &args.scenario)?;

    let stop = interrupt_flag();
    let display = Display::spinner(true);
    let started = std::time::Instant::now();
    let progress = |p: &Progress| {
        display.message(|| format!("examining {}", p.doing));
        display.set(p.replications as u64);
    };
    let outcome = search::optimize(&problem, args.threads, &stop, &progress)?;
    display.finish();
    if outcome.interrupted {
        eprintln!("interrupted after {} replications: nothing written", outcome.replications());
        return Ok(ExitCode::from(130));
    }
    let secs = started.elapsed().as_secs_f64();
    let q = problem.question();
    let scenario = problem.scenario();
    let hash = scenario.variant(&q.variant)?.hash();
    create_out(&args.out)?;
    write_csv(optimize_frame(&problem, &outcome)?, &args.out.join("optimize.csv"))?;
    let cells: Vec<_> = outcome.examined.iter().map(|e| e.cell.clone()).collect();
    let summaries: Vec<&[Summary]> = outcome.examined.iter().map(|e| e.summaries.as_slice()).collect();
    write_csv(replications_frame(&scenario.name, cells, &summaries, q.seed_start)?, &args.out.join("summary.csv"))?;
    write_json(&optimize_json(&problem, &outcome, &hash, &command_line()), &args.out.join("optimize.json"))?;

    let mut out = std::io::stdout().lock();
    for l in optimize_answer(&problem, &outcome) {
        writeln!(out, "{l}")?;
    }
    writeln!(out, "{:.1} s; written: {}/optimize.csv, optimize.json, summary.csv", secs, args.out.display())?;
    out.flush()?;
    for w in optimize_warnings(&problem, &outcome) {
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
    let constraints = parse_requirements(&args.subject_to, "--subject-to")?;
    let question = SelectQuestion {
        metric: args.metric.clone(),
        higher_is_better: args.higher_is_better,
        delta: args.delta,
        confidence: args.confidence,
        constraints,
        first_stage: args.first_stage,
        max_replications: args.max_replications,
        seed_start: args.seed_start,
        posterior: super::calibrate::read_posterior(args.posterior.as_deref())?,
    };
    let chosen = (!args.variants.is_empty()).then_some(args.variants.as_slice());
    let problem = SelectProblem::new(&scenario, chosen, question)
        .map_err(|e| flagged(e, None, Some(args)))
        .with_context(|| args.scenario.display().to_string())?;
    let estimate = crate::runner::memory::search(problem.cells(), crate::runner::workers(args.threads));
    memory::check(&estimate, args.max_memory.as_deref(), true, &args.scenario)?;

    let stop = interrupt_flag();
    let display = Display::spinner(true);
    let started = std::time::Instant::now();
    let progress = |p: &Progress| {
        display.message(|| p.doing.clone());
        display.set(p.replications as u64);
    };
    let outcome = search::select(&problem, args.threads, &stop, &progress).map_err(|e| flagged(e, None, Some(args)))?;
    display.finish();
    if outcome.interrupted {
        eprintln!("interrupted after {} replications: nothing written", outcome.simulated());
        return Ok(ExitCode::from(130));
    }
    let secs = started.elapsed().as_secs_f64();
    let hash = scenario.variant("base")?.hash();
    create_out(&args.out)?;
    write_csv(select_frame(&problem, &outcome)?, &args.out.join("select.csv"))?;
    let summaries: Vec<&[Summary]> = outcome.candidates.iter().map(|c| c.summaries.as_slice()).collect();
    write_csv(
        replications_frame(&scenario.name, problem.cells().to_vec(), &summaries, outcome.seed_start)?,
        &args.out.join("summary.csv"),
    )?;
    write_json(&select_json(&problem, &outcome, &hash, &command_line()), &args.out.join("select.json"))?;

    let mut out = std::io::stdout().lock();
    for l in select_answer(&problem, &outcome) {
        writeln!(out, "{l}")?;
    }
    writeln!(out, "{secs:.1} s; written: {}/select.csv, select.json, summary.csv", args.out.display())?;
    out.flush()?;
    for n in select_notes(&problem, &outcome) {
        eprintln!("note: {n}");
    }
    Ok(if outcome.selected.is_some() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
