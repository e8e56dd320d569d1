//! `slotsim calibrate`: flags into a [`CalibrateQuestion`], the reference table's chunks
//! simulated (or found from an earlier or sharded run), the fit, its files and its answer.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use anyhow::{Context, Result, bail};

use super::progress::{Progress, interrupt_flag};
use super::{load, memory, shard};
use crate::output::answer::write_json;
use crate::output::calibration as files;
use crate::runner::calibrate::{CalibrateProblem, CalibrateQuestion, FitSpec, Member};
use crate::runner::{self, CHUNK};
use crate::stats::abc::Settings;
use crate::stats::observed::{self, SummaryObservation};

/// Flags of `slotsim calibrate`.
#[derive(Debug, clap::Args)]
pub struct CalibrateArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// What was observed: a CSV file, wide (`date` and daily-table columns) or long
    /// (`date,metric,value[,lower,upper]`).
    #[arg(long, value_name = "OBS.csv")]
    pub observed: PathBuf,
    /// A field to fit and its prior range, PATH=LO..HI (uniform) or PATH~log=LO..HI
    /// (log-uniform); repeatable, `*` for every index.
    #[arg(long = "fit", value_name = "PATH=LO..HI", required = true)]
    pub fits: Vec<String>,
    /// A summary metric observed over the run with its standard error, METRIC=VALUE±SE
    /// (or +-), e.g. no_slot_share=0.44±0.02 (repeatable).
    #[arg(long = "observe", value_name = "METRIC=VALUE±SE")]
    pub observe: Vec<String>,
    /// Variant fitted (default: the base scenario).
    #[arg(long, default_value = "base")]
    pub variant: String,
    /// Simulations in the reference table.
    #[arg(long, default_value_t = 4000)]
    pub simulations: usize,
    /// Posterior predictive simulations (for predictive.csv and the misfit check).
    #[arg(long, default_value_t = 100)]
    pub predictive: usize,
    /// Share of the reference table kept nearest the observations.
    #[arg(long, default_value_t = 0.1)]
    pub accept: f64,
    /// Members of the table fitted as if observed, to check and correct the intervals'
    /// coverage.
    #[arg(long, default_value_t = 1000)]
    pub coverage_checks: usize,
    /// Also run simulation-based calibration: N truths from the prior, each with its own
    /// simulated series, fitted; their coverage goes into calibrate.json and coverage.csv.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub check_coverage: usize,
    /// First seed: member i of the table runs with seed S+i.
    #[arg(long, default_value_t = 1)]
    pub seed_start: u64,
    /// Worker threads (0 = one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Simulate only part I of N of the table (e.g. 0/4, or `auto` in a Slurm or AWS Batch
    /// array) and stop; a run without --shard on the same --out then fits.
    #[arg(long, value_name = "I/N|auto|auto/N")]
    pub shard: Option<String>,
    /// Refuse to start if the estimated peak memory exceeds this (e.g. 8G).
    #[arg(long, value_name = "SIZE")]
    pub max_memory: Option<String>,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
}

/// Parses the flags into a checked problem; nothing is written.
fn problem(args: &CalibrateArgs) -> Result<CalibrateProblem> {
    let (scenario, _) = load(&args.scenario)?;
    let resolved = scenario.variant(&args.variant).map_err(|e| anyhow::anyhow!("{}: {e}", args.scenario.display()))?;
    let text = std::fs::read_to_string(&args.observed)
        .with_context(|| format!("--observed: cannot read {}", args.observed.display()))?;
    let observed = observed::parse(&text, &args.observed.display().to_string(), resolved.start_day(), resolved.days)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let fits = args
        .fits
        .iter()
        .map(|f| f.parse::<FitSpec>().map_err(|e| anyhow::anyhow!("--fit {e}")))
        .collect::<Result<Vec<_>>>()?;
    let summaries = args
        .observe
        .iter()
        .map(|o| o.parse::<SummaryObservation>().map_err(|e| anyhow::anyhow!("--observe {o}: {e}")))
        .collect::<Result<Vec<_>>>()?;
    if args.simulations == 0 {
        bail!("--simulations 0: the reference table needs simulations (e.g. 4000)");
    }
    if args.predictive < 20 {
        bail!("--predictive {}: at least 20 posterior predictive simulations are needed", args.predictive);
    }
    if !(args.accept > 0.0 && args.accept < 1.0) {
        bail!("--accept {}: a share strictly between 0 and 1 (e.g. 0.1)", args.accept);
    }
    let question = CalibrateQuestion {
        variant: args.variant.clone(),
        fits,
        observed,
        summaries,
        simulations: args.simulations,
        seed_start: args.seed_start,
        predictive: args.predictive,
        settings: Settings { accept: args.accept, coverage_checks: args.coverage_checks },
    };
    CalibrateProblem::new(&scenario, question).map_err(|e| anyhow::anyhow!("{}: --fit {e}", args.scenario.display()))
}

/// `slotsim calibrate`.
///
/// # Errors
///
/// Bad input (nothing written), or I/O failures.
pub fn calibrate(args: &CalibrateArgs) -> Result<ExitCode> {
    let problem = problem(args)?;
    let shard = args.shard.as_deref().map(shard::resolve).transpose()?;
    let threads = runner::workers(args.threads);
    let cell = problem.cell(&problem.draw(0))?;
    let estimate = runner::memory::search(std::iter::once(&cell), threads);
    memory::check(&estimate, args.max_memory.as_deref(), true, &args.scenario)?;

    let out = &args.out;
    files::open_reference(out, &files::reference_identity(&problem))?;
    let n = args.simulations;
    let chunks = n.div_ceil(CHUNK);
    let owned: Vec<usize> = match shard {
        Some(s) => s.chunks(chunks).collect(),
        None => (0..chunks).collect(),
    };
    let missing: Vec<usize> = owned.iter().copied().filter(|&c| !files::chunk_path(out, c).exists()).collect();
    let stop = interrupt_flag();
    let started = std::time::Instant::now();
    if !missing.is_empty() {
        let progress = Progress::bar((missing.len() * CHUNK).min(n) as u64);
        let mut done = 0;
        // A few chunks at a time: every core busy, and a chunk on disk as soon as its
        // batch is through (an interrupted fit resumes from there).
        for batch in missing.chunks(threads.max(1) * 2) {
            let ranges: Vec<std::ops::Range<usize>> =
                batch.iter().map(|&c| c * CHUNK..((c + 1) * CHUNK).min(n)).collect();
            let members = ranges.iter().flat_map(Clone::clone);
            let simulated = problem.simulate_members(members, threads, &stop, &|k| progress.set((done + k) as u64))?;
            let Some(members) = simulated else {
                progress.finish();
                eprintln!(
                    "interrupted: the chunks finished so far are kept in {}; run the same command to go on",
                    out.display()
                );
                return Ok(ExitCode::from(130));
            };
            let mut at = 0;
            for (&c, r) in batch.iter().zip(&ranges) {
                files::write_chunk(&files::chunk_path(out, c), &members[at..at + r.len()])?;
                at += r.len();
            }
            done += members.len();
        }
        progress.finish();
    }
    let simulating = started.elapsed();
    if let Some(s) = shard {
        writeln!(
            std::io::stdout(),
            "part {} of {}: {} chunk(s) of the reference table in {}; when every part is done, run the same command without --shard to fit",
            s.index(),
            s.count(),
            owned.len(),
            out.join(files::REFERENCE_DIR).display()
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut members: Vec<Member> = Vec::with_capacity(n);
    for c in 0..chunks {
        members.extend(files::read_chunk(&files::chunk_path(out, c), &problem)?);
    }
    if members.len() != n || members.iter().enumerate().any(|(i, m)| m.index != i) {
        bail!(
            "{}: the reference table's chunks do not hold members 0..{n} in order; remove {} to start afresh",
            out.display(),
            out.join(files::REFERENCE_DIR).display()
        );
    }
    let fitting = std::time::Instant::now();
    let fit = problem.fit(&members)?;
    let fit_time = fitting.elapsed();
    let spinner = Progress::spinner(false);
    spinner.message(|| "posterior predictive simulations".into());
    let predictive_started = std::time::Instant::now();
    let Some(predictive) = problem.predictive(&fit, threads, &stop)? else {
        spinner.finish();
        eprintln!("interrupted before the fit's files were written");
        return Ok(ExitCode::from(130));
    };
    spinner.finish();
    let (points, misfit) = problem.check(&fit, &predictive);
    let predictive_time = predictive_started.elapsed();
    let coverage_run = if args.check_coverage > 0 {
        let progress = Progress::bar(args.check_coverage as u64);
        let run = problem.coverage_run(&fit, args.check_coverage, threads, &stop, &|k| progress.set(k as u64))?;
        progress.finish();
        match run {
            Some(run) => Some(run),
            None => {
                eprintln!("interrupted before the fit's files were written");
                return Ok(ExitCode::from(130));
            }
        }
    } else {
        None
    };

    let command: Vec<String> = std::env::args().collect();
    files::write_posterior(&out.join("posterior.csv"), &problem, &fit)?;
    files::write_predictive(&out.join("predictive.csv"), &problem, &points)?;
    let fitted = files::fitted_toml(&problem, &fit)?;
    crate::output::files::write_text(&out.join("fitted.toml"), &fitted)?;
    if let Some(run) = &coverage_run {
        let mut text = String::from("parameter,level,truths,held,held_low95,held_high95\n");
        for (p, s) in problem.parameters().iter().zip(run.shares()) {
            for (level, (share, lo, hi)) in [0.5, 0.9].iter().zip(s) {
                text.push_str(&format!("{},{level},{},{share},{lo},{hi}\n", p.path, run.truths));
            }
        }
        crate::output::files::write_text(&out.join("coverage.csv"), &text)?;
    }
    let json = files::calibrate_json(&problem, &fit, &misfit, coverage_run.as_ref(), &command);
    write_json(&json, &out.join("calibrate.json"))?;

    let mut stdout = std::io::stdout().lock();
    for line in files::answer_lines(&problem, &fit, &misfit) {
        writeln!(stdout, "{line}")?;
    }
    if let Some(run) = &coverage_run {
        for line in files::coverage_lines(&problem, run) {
            writeln!(stdout, "{line}")?;
        }
    }
    writeln!(
        stdout,
        "{n} simulations of {} days ({:.1} s simulating{}), fit {:.2} s, {} predictive simulations {:.1} s; files in {}",
        problem.simulated_days(),
        simulating.as_secs_f64(),
        if missing.len() < owned.len() { ", the rest found from an earlier run" } else { "" },
        fit_time.as_secs_f64(),
        args.predictive,
        predictive_time.as_secs_f64(),
        out.display()
    )?;
    if misfit.misfit {
        eprintln!(
            "warning: misfit: the fitted model does not reproduce the observations (see calibrate.json's misfit_detail)"
        );
    }
    if stop.load(Ordering::Relaxed) {
        return Ok(ExitCode::from(130));
    }
    Ok(ExitCode::SUCCESS)
}

/// The directory of `--posterior`, read.
///
/// # Errors
///
/// As [`files::read_posterior`].
pub(super) fn read_posterior(
    dir: Option<&Path>,
) -> Result<Option<std::sync::Arc<crate::runner::calibrate::Posterior>>> {
    dir.map(|d| files::read_posterior(d).map(std::sync::Arc::new)).transpose()
}
