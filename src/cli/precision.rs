//! `slotsim sweep --precision METRIC=H`: a sweep that adds replications, a chunk of seeds
//! per cell at a time, until every cell's 95% interval of each named metric has
//! half-width at most H (absolute, or `H%` of the cell's mean), or `--max-replications`.
//!
//! Replications are kept in memory between rounds; the directory is written once, at the
//! end, through the same writer as a fixed sweep of the seeds it ended with, so its tables
//! are byte-identical to `slotsim sweep --replications N` with that N. Interrupted, it
//! writes nothing.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Result, bail};

use super::load;
use crate::output::Format;
use crate::output::sweep_dir::{Manifest, SweepDir};
use crate::runner::search::metric_value;
use crate::runner::{self, CHUNK, Finish, Plan, Replication, Sink};
use crate::stats::Summary;
use crate::stats::compare::{PrecisionItem, Target, estimate, required_replications};

/// A sink that keeps every replication, in delivery order.
#[derive(Default)]
struct Keep(Vec<Replication>);

impl Sink for Keep {
    type Error = anyhow::Error;
    fn chunk(&mut self, _: usize, rows: Vec<Replication>) -> Result<()> {
        self.0.extend(rows);
        Ok(())
    }
}

/// What the flags of a precision sweep say.
pub(super) struct PrecisionSweep<'a> {
    pub scenario: &'a Path,
    pub replications: Option<u64>,
    pub max_replications: u64,
    pub seed_start: u64,
    pub threads: usize,
    pub out: PathBuf,
    pub format: Format,
    pub variants: &'a [String],
    pub precision: &'a [PrecisionItem],
}

/// One cell's shortfall: metric, half-width reached, wanted, replications it suggests.
struct Shortfall {
    cell: String,
    metric: String,
    half_width: Option<f64>,
    wanted: f64,
    need: u64,
}

fn shortfalls(plan: &Plan, rows: &[Vec<Summary>], targets: &[(String, Target)]) -> Vec<Shortfall> {
    let mut out = Vec::new();
    for (c, cell) in plan.cells.iter().enumerate() {
        for (metric, target) in targets {
            let xs: Vec<f64> = rows[c].iter().filter_map(|s| metric_value(s, metric)).collect();
            let Some(e) = estimate(&xs, 0.95) else { continue };
            let wanted = target.half_width(e.mean);
            let met = e.half_width.is_some_and(|h| h <= wanted);
            if !met {
                let need = e.sd.and_then(|sd| required_replications(sd, e.n, wanted, 0.95)).unwrap_or(u64::MAX);
                out.push(Shortfall {
                    cell: crate::runner::search::cell_label(cell),
                    metric: metric.clone(),
                    half_width: e.half_width,
                    wanted,
                    need,
                });
            }
        }
    }
    out
}

/// Runs the precision sweep.
///
/// # Errors
///
/// Bad input (nothing is run or written) or I/O failures.
pub(super) fn sweep(p: &PrecisionSweep) -> Result<ExitCode> {
    let (scenario, text) = load(p.scenario)?;
    let mut targets = Vec::new();
    for item in p.precision {
        let Some(metric) = &item.metric else {
            bail!("--precision needs a metric, as METRIC=H or METRIC=H% (e.g. lead_days_p90=2 or lead_days_mean=5%)");
        };
        let names = Summary::metric_names();
        if !names.contains(&metric.as_str()) {
            bail!("--precision {metric}: unknown metric `{metric}`; the metrics are: {}", names.join(", "));
        }
        targets.push((metric.clone(), item.target));
    }
    let first = match p.replications {
        Some(n) => n,
        None => scenario.sweep_replications()?.map_or(CHUNK as u64, u64::from),
    };
    if first < 2 || p.max_replications < first {
        bail!(
            "--precision needs --replications of at least 2 and --max-replications at least as many (got {first} and {})",
            p.max_replications
        );
    }
    if p.out.join("manifest.json").exists() {
        bail!("{} already holds a sweep: choose another --out, or delete it to run again", p.out.display());
    }
    let chosen = (!p.variants.is_empty()).then_some(p.variants);
    let plan_for = |start: u64, n: u64| {
        Plan::new(&scenario, chosen, start, n).map_err(|e| anyhow::anyhow!("{}: {e}", p.scenario.display()))
    };
    let first_plan = plan_for(p.seed_start, first)?;
    let cells = first_plan.cells.len();

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        let _ = ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
        });
    }
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_style(indicatif::ProgressStyle::with_template("{spinner} {msg} · {elapsed}").expect("valid template"));
        b.enable_steady_tick(std::time::Duration::from_millis(200));
        b
    });
    let started = std::time::Instant::now();
    // Per cell, every replication so far (seed order), with its daily rows.
    let mut kept: Vec<Vec<Replication>> = vec![Vec::new(); cells];
    let mut have = 0u64;
    let mut next = first;
    loop {
        let plan = plan_for(p.seed_start + have, next - have)?;
        let jobs = plan.jobs();
        let chunks: Vec<usize> = (0..plan.chunks()).collect();
        let done_before: usize = kept.iter().map(Vec::len).sum();
        let progress = |n: usize| {
            if let Some(b) = &bar {
                b.set_message(format!("{} replications per cell, {} in all", next, done_before + n));
            }
        };
        let mut sink = Keep::default();
        if runner::sweep(&plan, &chunks, p.threads, &stop, &mut sink, &progress)? == Finish::Interrupted
            || sink.0.len() < jobs
        {
            if let Some(b) = &bar {
                b.finish_and_clear();
            }
            eprintln!("interrupted: nothing written");
            return Ok(ExitCode::from(130));
        }
        for r in sink.0 {
            kept[r.cell].push(r);
        }
        have = next;
        let summaries: Vec<Vec<Summary>> = kept.iter().map(|c| c.iter().map(|r| r.summary.clone()).collect()).collect();
        let short = shortfalls(&first_plan, &summaries, &targets);
        if short.is_empty() || have >= p.max_replications {
            if let Some(b) = &bar {
                b.finish_and_clear();
            }
            write(p, &scenario, &text, plan_for(p.seed_start, have)?, kept)?;
            report(p, have, &short, started.elapsed().as_secs_f64(), cells)?;
            return Ok(ExitCode::SUCCESS);
        }
        // The most any cell needs, in whole chunks of seeds, at least one more chunk.
        let need = short.iter().map(|s| s.need).max().unwrap_or(have + 1);
        let step = CHUNK as u64;
        next = need.max(have + 1).div_ceil(step).saturating_mul(step).min(p.max_replications);
    }
}

/// Writes the directory as the fixed sweep of `plan` writes it.
fn write(
    p: &PrecisionSweep,
    scenario: &crate::scenario::Scenario,
    text: &str,
    plan: Plan,
    kept: Vec<Vec<Replication>>,
) -> Result<()> {
    let base = scenario.variant("base")?;
    let manifest = Manifest::new(&plan, &p.scenario.display().to_string(), text, &base, p.format, None);
    let mut dir = SweepDir::open(&p.out, &plan, manifest, false)?;
    let n = plan.replications as usize;
    let mut rows: Vec<Replication> = Vec::with_capacity(plan.jobs());
    for (cell, reps) in kept.into_iter().enumerate() {
        for (i, mut r) in reps.into_iter().enumerate() {
            r.job = cell * n + i;
            r.cell = cell;
            rows.push(r);
        }
    }
    let mut rows = rows.into_iter();
    for c in 0..plan.chunks() {
        let chunk: Vec<Replication> = rows.by_ref().take(plan.chunk_jobs(c).len()).collect();
        dir.chunk(c, chunk)?;
    }
    dir.finish()?;
    Ok(())
}

fn report(p: &PrecisionSweep, n: u64, short: &[Shortfall], secs: f64, cells: usize) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let asked: Vec<String> =
        p.precision.iter().map(|i| format!("{} {}", i.metric.as_deref().unwrap_or(""), i.target)).collect();
    if short.is_empty() {
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
        for s in short {
            let got = s.half_width.map_or("no interval".to_string(), |h| format!("±{h:.4}"));
            let need = if s.need == u64::MAX { "?".to_string() } else { s.need.to_string() };
            writeln!(out, "  {}: {} {got}, wanted ±{:.4} (about {need} replications)", s.cell, s.metric, s.wanted)?;
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
