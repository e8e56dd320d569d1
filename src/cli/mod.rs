//! The `slotsim` command line: flags parsed here, then handed to the library.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

use crate::output::merge::merge;
use crate::output::sweep_dir::{Manifest, SweepDir};
use crate::output::tables::{bookings_frame, daily_frame, parties_frame, summary_frame};
use crate::output::{Format, write_frame};
use crate::runner::{self, Finish, Plan, Replication};
use crate::scenario::Scenario;
use crate::stats;

mod calibrate;
mod compare;
mod memory;
mod precision;
mod progress;
mod search;
mod serve;
mod shard;

/// Simulates an appointment-booking portal (a consulate's passport desk) and compares
/// slot-allocation policies over seeded replications.
#[derive(Debug, Parser)]
#[command(name = "slotsim", version, about, long_about = None, after_help = "The scenario format: docs/scenario.md; the model and its metrics: docs/model.md; commands: docs/commands.md.")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one replication and write summary.csv, daily.csv and parties.csv.
    Run {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// Seed (default: the scenario's `seed`).
        #[arg(long)]
        seed: Option<u64>,
        /// Variant to run (default: the base scenario).
        #[arg(long, default_value = "base")]
        variant: String,
        /// Output directory (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Also write bookings.csv, every booking with its e-mail, deadline and end.
        #[arg(long)]
        trace: bool,
        /// Refuse to run if the estimated peak memory exceeds this (e.g. 8G; default: the
        /// memory available, from /proc/meminfo and the cgroup limit).
        #[arg(long, value_name = "SIZE")]
        max_memory: Option<String>,
        /// Set a field before running, PATH=VALUE (repeatable; `*` for every index), e.g.
        /// --set service.0.bands.*.slots=30: reproduces a row of `optimize`'s summary.csv.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<String>,
        /// Draw the fitted fields of each replication from a calibration's posterior
        /// (DIR/posterior.csv as `slotsim calibrate` writes it), the draw chosen by the seed.
        #[arg(long, value_name = "DIR")]
        posterior: Option<PathBuf>,
    },
    /// Validate a scenario and print it resolved, with every default filled in.
    Check {
        /// Scenario file (TOML).
        scenario: PathBuf,
    },
    /// Run every variant (and [sweep] grid point) for many seeds, in parallel.
    Sweep {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// Seeds per variant and grid point (default: the scenario's [sweep] replications).
        #[arg(long)]
        replications: Option<u64>,
        /// First seed.
        #[arg(long, default_value_t = 1)]
        seed_start: u64,
        /// Worker threads (0 = one per core).
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// Output directory (default: results/<scenario file name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Table format.
        #[arg(long, value_enum, default_value_t = Format::Csv)]
        format: Format,
        /// Finish an interrupted sweep in --out.
        #[arg(long)]
        resume: bool,
        /// Run only part I of N (0-based), e.g. --shard 0/4; combine with `slotsim merge`.
        /// `auto` takes I and N from a Slurm or AWS Batch job array's environment, `auto/N`
        /// takes I from Slurm, AWS Batch or Kubernetes (JOB_COMPLETION_INDEX).
        #[arg(long, value_name = "I/N|auto|auto/N")]
        shard: Option<String>,
        /// Only these variants (repeatable; default: all, `base` first).
        #[arg(long = "variant")]
        variants: Vec<String>,
        /// Refuse to start if the estimated peak memory exceeds this (e.g. 8G; default: the
        /// memory available, from /proc/meminfo and the cgroup limit).
        #[arg(long, value_name = "SIZE")]
        max_memory: Option<String>,
        /// Add replications, a chunk of seeds per cell at a time, until every cell's 95%
        /// interval of METRIC has half-width at most H (or H% of its mean), e.g.
        /// lead_days_p90=2 (repeatable; --replications is then the first round).
        #[arg(long, value_name = "METRIC=H")]
        precision: Vec<crate::stats::compare::PrecisionItem>,
        /// With --precision: most replications per cell.
        #[arg(long, default_value_t = 2000)]
        max_replications: u64,
        /// Draw the fitted fields of each replication from a calibration's posterior
        /// (DIR/posterior.csv as `slotsim calibrate` writes it), the draw chosen by the seed.
        #[arg(long, value_name = "DIR")]
        posterior: Option<PathBuf>,
    },
    /// Combine the directories of a sharded sweep into the tables one sweep would write.
    Merge {
        /// Shard directories.
        #[arg(required = true)]
        shards: Vec<PathBuf>,
        /// Where to write (default: the first shard directory).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Compare the variants of a finished sweep with a baseline: means, 95% intervals and
    /// paired differences on screen, in DIR/compare.csv, and charts in DIR/plots/.
    Compare(compare::CompareArgs),
    /// Everything `compare` writes, and DIR/report.html: one self-contained page.
    Report(compare::CompareArgs),
    /// The smallest (or largest) value of an integer parameter at which every target on a
    /// metric's mean holds, at a stated confidence: optimize.csv, optimize.json, summary.csv.
    Optimize(search::OptimizeArgs),
    /// The variant (or grid point) with the best mean of a metric, within --delta of the
    /// best at a stated confidence (Kim and Nelson's KN): select.csv, select.json.
    Select(search::SelectArgs),
    /// Fit scenario fields to observed series, with credible intervals whose coverage is
    /// checked: posterior.csv, calibrate.json, predictive.csv, fitted.toml.
    Calibrate(calibrate::CalibrateArgs),
    /// Serve the what-if page for planners on http://127.0.0.1:8080/: the scenario's levers
    /// as a form, runs against the file's own over common seeds, optimize, and downloads.
    Serve(serve::ServeArgs),
}

/// Reads and validates a scenario file.
fn load(path: &Path) -> Result<(Scenario, String)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read scenario {}", path.display()))?;
    let scenario = Scenario::from_toml_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok((scenario, text))
}

/// Runs the command line; the exit code is 0 on success, 130 when interrupted.
///
/// # Errors
///
/// Bad input or I/O failures, with context.
pub fn main() -> Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { scenario } => check(&scenario),
        Command::Run { scenario, seed, variant, out, trace, set, max_memory, posterior } => {
            run(&scenario, seed, &variant, &out, trace, &set, max_memory.as_deref(), posterior.as_deref())
        }
        Command::Sweep {
            scenario,
            replications,
            seed_start,
            threads,
            out,
            format,
            resume,
            shard,
            variants,
            max_memory,
            precision,
            max_replications,
            posterior,
        } => {
            let options = SweepOptions { threads, format, resume, shard, variants, max_memory, posterior };
            if precision.is_empty() {
                return sweep(&scenario, replications, seed_start, out, &options);
            }
            if options.resume || options.shard.is_some() {
                bail!(
                    "--precision decides the replications as it goes: it cannot be combined with --resume or --shard"
                );
            }
            let out = out.unwrap_or_else(|| default_out(&scenario));
            precision::sweep(&precision::PrecisionFlags {
                scenario: &scenario,
                replications,
                max_replications,
                seed_start,
                threads: options.threads,
                out,
                format: options.format,
                variants: &options.variants,
                precision: &precision,
                max_memory: options.max_memory.as_deref(),
                posterior: options.posterior.as_deref(),
            })
        }
        Command::Merge { shards, out } => {
            let out = out.unwrap_or_else(|| shards[0].clone());
            merge(&shards, &out)?;
            writeln!(std::io::stdout(), "merged {} shard(s) into {}", shards.len(), out.display())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Compare(args) => compare::compare(&args),
        Command::Report(args) => compare::report(&args),
        Command::Optimize(args) => search::optimize(&args),
        Command::Select(args) => search::select(&args),
        Command::Calibrate(args) => calibrate::calibrate(&args),
        Command::Serve(args) => serve::serve(&args),
    }
}

fn check(path: &Path) -> Result<ExitCode> {
    let (scenario, _) = load(path)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "# {} is valid. Resolved base scenario (hash {}):", path.display(), scenario.hash())?;
    write!(out, "{}", scenario.resolved_toml())?;
    for v in &scenario.variants {
        let resolved = scenario.variant(&v.name)?;
        writeln!(out, "\n# variant \"{}\" (hash {}) sets:", v.name, resolved.hash())?;
        for (k, val) in &v.set {
            writeln!(out, "#   {k} = {val}")?;
        }
    }
    let grid = scenario.grid()?;
    if grid.len() > 1 {
        writeln!(out, "\n# sweep grid: {} points", grid.len())?;
    }
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::too_many_arguments)] // One argument per flag of `slotsim run`.
fn run(
    path: &Path,
    seed: Option<u64>,
    variant: &str,
    out: &Path,
    trace: bool,
    set: &[String],
    max_memory: Option<&str>,
    posterior: Option<&Path>,
) -> Result<ExitCode> {
    let (scenario, _) = load(path)?;
    let posterior = calibrate::read_posterior(posterior)?;
    let seed = seed.unwrap_or(scenario.seed);
    let plan = if set.is_empty() {
        Plan::new(&scenario, Some(&[variant.to_string()]), seed, 1)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
    } else {
        let sets = set.iter().map(|s| search::parse_set(s)).collect::<Result<Vec<_>>>()?;
        Plan::with_sets(&scenario, variant, &sets, seed, 1).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
    };
    let mut plan = plan;
    if let Some(p) = &posterior {
        plan.attach_posterior(p).map_err(|e| anyhow::anyhow!("{}: --posterior: {e}", path.display()))?;
    }
    let cell = &plan.cells[0];
    let estimate = runner::memory::run(&cell.config, memory::PARTY_TABLE_COLUMNS);
    memory::check(&estimate, max_memory, false, path)?;
    let started = std::time::Instant::now();
    let record = cell.simulate(seed);
    let elapsed = started.elapsed();
    let summary = stats::summarize(&record);
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let row = Replication { job: 0, cell: 0, seed, summary: summary.clone(), daily: record.daily.clone() };
    let rows = [row];
    write_frame(&mut summary_frame(&plan, &rows)?, &out.join("summary.csv"), Format::Csv)?;
    write_frame(&mut daily_frame(&plan, &rows)?, &out.join("daily.csv"), Format::Csv)?;
    write_frame(&mut parties_frame(&record)?, &out.join("parties.csv"), Format::Csv)?;
    if trace {
        write_frame(&mut bookings_frame(&record, cell.scenario.start_day())?, &out.join("bookings.csv"), Format::Csv)?;
    }
    let mut stdout = std::io::stdout().lock();
    crate::output::summary_text::write_summary(&mut stdout, &scenario.name, variant, seed, &summary, elapsed)?;
    writeln!(stdout, "tables written to {}", out.display())?;
    Ok(ExitCode::SUCCESS)
}

/// The flags of `slotsim sweep` besides the scenario, replications, seeds and output.
struct SweepOptions {
    threads: usize,
    format: Format,
    resume: bool,
    shard: Option<String>,
    variants: Vec<String>,
    max_memory: Option<String>,
    posterior: Option<PathBuf>,
}

/// `results/<scenario file name>`.
fn default_out(path: &Path) -> PathBuf {
    PathBuf::from("results")
        .join(path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "sweep".into()))
}

fn sweep(
    path: &Path,
    replications: Option<u64>,
    seed_start: u64,
    out: Option<PathBuf>,
    options: &SweepOptions,
) -> Result<ExitCode> {
    let SweepOptions { threads, format, resume, ref shard, ref variants, ref max_memory, ref posterior } = *options;
    let (scenario, text) = load(path)?;
    let posterior = calibrate::read_posterior(posterior.as_deref())?;
    let shard = shard.as_deref().map(shard::resolve).transpose()?;
    let replications = match replications {
        Some(n) => n,
        None => scenario
            .sweep_replications()?
            .map(u64::from)
            .context("--replications N is needed (the scenario's [sweep] sets no replications)")?,
    };
    if replications == 0 {
        bail!("--replications 0: at least 1 replication is needed");
    }
    let out = out.unwrap_or_else(|| default_out(path));
    let chosen = (!variants.is_empty()).then_some(variants.as_slice());
    let mut plan = Plan::new(&scenario, chosen, seed_start, replications)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if let Some(p) = &posterior {
        plan.attach_posterior(p).map_err(|e| anyhow::anyhow!("{}: --posterior: {e}", path.display()))?;
    }
    // The chunks this process runs: its part's, or every one.
    let owned: Vec<usize> = (0..plan.chunks()).filter(|&c| shard.is_none_or(|s| s.owns(c))).collect();
    let in_shard = owned.iter().map(|&c| plan.chunk_jobs(c).len()).sum::<usize>();
    let estimate = runner::memory::sweep(&plan, in_shard, runner::workers(threads));
    memory::check(&estimate, max_memory.as_deref(), true, path)?;
    let base = scenario.variant("base")?;
    let manifest = Manifest::new(&plan, &path.display().to_string(), &text, &base, format, shard);
    let mut dir = SweepDir::open(&out, &plan, manifest, resume)?;
    if dir.is_finished() {
        writeln!(std::io::stdout(), "the sweep in {} is already finished; nothing to resume", out.display())?;
        return Ok(ExitCode::SUCCESS);
    }
    let done = dir.done()?;
    let todo: Vec<usize> = owned.into_iter().filter(|c| !done.contains(c)).collect();
    let total: usize = todo.iter().map(|&c| plan.chunk_jobs(c).len()).sum();

    let stop = progress::interrupt_flag();
    let bar = progress::Progress::bar(total as u64);
    let progress = |n: usize| bar.set(n as u64);
    let started = std::time::Instant::now();
    let finish = runner::sweep(&plan, &todo, threads, &stop, &mut dir, &progress)?;
    bar.finish();
    let secs = started.elapsed().as_secs_f64();
    if finish == Finish::Interrupted {
        eprintln!(
            "interrupted: finished chunks are saved in {}; run the same command with --resume to finish",
            out.display()
        );
        return Ok(ExitCode::from(130));
    }
    eprintln!("{total} replications in {secs:.2} s ({:.1}/s)", total as f64 / secs.max(1e-9));
    if dir.finish()? {
        writeln!(
            std::io::stdout(),
            "{} replications of {} cell(s) written to {}/summary.{ext} and daily.{ext}",
            plan.jobs(),
            plan.cells.len(),
            out.display(),
            ext = format.extension()
        )?;
    } else if let Some(s) = shard.filter(|_| in_shard == 0) {
        writeln!(
            std::io::stdout(),
            "shard done: part {s} holds none of the sweep's {} chunk(s) (more parts than chunks), so it ran nothing; \
             {} merges with the other parts all the same (`slotsim merge`)",
            plan.chunks(),
            out.display()
        )?;
    } else {
        writeln!(
            std::io::stdout(),
            "shard done: its chunks are in {}; combine the shards with `slotsim merge`",
            out.display()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
