//! `slotsim sweep --precision METRIC=H`: the flags handed to the runner's precision sweep
//! ([`crate::runner::precision`]), the directory written once at the end through the same
//! writer as a fixed sweep (so its tables are byte-identical to `slotsim sweep
//! --replications N` with the N it ended with), and the report. Interrupted, it writes
//! nothing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use super::progress::{Progress, interrupt_flag};
use super::{load, memory};
use crate::output::Format;
use crate::output::sweep_dir::{Manifest, SweepDir};
use crate::runner::precision::{PrecisionOutcome, PrecisionQuestion, PrecisionSweep, Shortfall};
use crate::runner::{CHUNK, Sink, workers};
use crate::stats::compare::PrecisionItem;

/// What the flags of a precision sweep say.
pub(super) struct PrecisionFlags<'a> {
    pub scenario: &'a Path,
    pub replications: Option<u64>,
    pub max_replications: u64,
    pub seed_start: u64,
    pub threads: usize,
    pub out: PathBuf,
    pub format: Format,
    pub variants: &'a [String],
    pub precision: &'a [PrecisionItem],
    pub max_memory: Option<&'a str>,
    pub posterior: Option<&'a Path>,
}

/// Runs the precision sweep.
///
/// # Errors
///
/// Bad input (nothing is run or written) or I/O failures.
pub(super) fn sweep(p: &PrecisionFlags) -> Result<ExitCode> {
    let (scenario, text) = load(p.scenario)?;
    let mut targets = Vec::new();
    for item in p.precision {
        let Some(metric) = &item.metric else {
            bail!("--precision needs a metric, as METRIC=H or METRIC=H% (e.g. lead_days_p90=2 or lead_days_mean=5%)");
        };
        targets.push((metric.clone(), item.target));
    }
    let first = match p.replications {
        Some(n) => n,
        None => scenario.sweep_replications()?.map_or(CHUNK as u64, u64::from),
    };
    if p.out.join("manifest.json").exists() {
        bail!("{} already holds a sweep: choose another --out, or delete it to run again", p.out.display());
    }
    let question = PrecisionQuestion {
        targets,
        first,
        max_replications: p.max_replications,
        seed_start: p.seed_start,
        variants: (!p.variants.is_empty()).then(|| p.variants.to_vec()),
    };
    let mut precision = PrecisionSweep::new(&scenario, question)
        .map_err(|e| anyhow::anyhow!("--precision (with --replications and --max-replications): {e}"))
        .with_context(|| p.scenario.display().to_string())?;
    if let Some(posterior) = super::calibrate::read_posterior(p.posterior)? {
        precision
            .attach_posterior(&posterior)
            .map_err(|e| anyhow::anyhow!("{}: --posterior: {e}", p.scenario.display()))?;
    }
    let estimate = crate::runner::memory::precision(precision.first_plan(), p.max_replications, workers(p.threads));
    memory::check(&estimate, p.max_memory, true, p.scenario)?;

    let stop = interrupt_flag();
    let display = Progress::spinner(false);
    let started = std::time::Instant::now();
    let outcome = precision.run(p.threads, &stop, &|at| {
        display.message(|| format!("{} replications per cell, {} in all", at.per_cell, at.done));
    });
    display.finish();
    if outcome.interrupted {
        eprintln!("interrupted: nothing written");
        return Ok(ExitCode::from(130));
    }
    let secs = started.elapsed().as_secs_f64();
    let base = scenario.variant("base")?;
    write(p, &text, &base, &outcome)?;
    report(p, &outcome, secs)?;
    Ok(ExitCode::SUCCESS)
}

/// Writes the directory as the fixed sweep of the outcome's plan writes it.
fn write(p: &PrecisionFlags, text: &str, base: &crate::scenario::Scenario, outcome: &PrecisionOutcome) -> Result<()> {
    let plan = &outcome.plan;
    let manifest = Manifest::new(plan, &p.scenario.display().to_string(), text, base, p.format, None);
    let mut dir = SweepDir::open(&p.out, plan, manifest, false)?;
    let mut rows = outcome.replications.iter().cloned();
    for c in 0..plan.chunks() {
        let chunk: Vec<_> = rows.by_ref().take(plan.chunk_jobs(c).len()).collect();
        dir.chunk(c, chunk)?;
    }
    dir.finish()?;
    Ok(())
}

fn shortfall_line(s: &Shortfall) -> String {
    let got = s.half_width.map_or("no interval".to_string(), |h| format!("±{h:.4}"));
    let need = s.need.map_or("?".to_string(), |n| n.to_string());
    format!("  {}: {} {got}, wanted ±{:.4} (about {need} replications)", s.cell, s.metric, s.wanted)
}

fn report(p: &PrecisionFlags, outcome: &PrecisionOutcome, secs: f64) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let n = outcome.plan.replications;
    let cells = outcome.plan.cells.len();
    let asked: Vec<String> =
        p.precision.iter().map(|i| format!("{} {}", i.metric.as_deref().unwrap_or(""), i.target)).collect();
    if outcome.shortfalls.is_empty() {
        writeln!(
            out,
            "precision reached: {} in every cell, with {n} replications per cell (seeds {}..{}), {:.1} s",
            asked.join(", "),
            p.seed_start,
            p.seed_start + n - 1,
            secs
        )?;
    } else {
        writeln!(
            out,
            "precision not reached at --max-replications {n} (seeds {}..{}):",
            p.seed_start,
            p.seed_start + n - 1
        )?;
        for s in &outcome.shortfalls {
            writeln!(out, "{}", shortfall_line(s))?;
        }
    }
    writeln!(
        out,
        "{} replications of {cells} cell(s) written to {}/summary.{ext} and daily.{ext}; the same as `slotsim sweep --replications {n} --seed-start {}`",
        n as usize * cells,
        p.out.display(),
        p.seed_start,
        ext = p.format.extension()
    )?;
    Ok(())
}
