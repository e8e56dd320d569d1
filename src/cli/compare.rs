//! `slotsim compare DIR` and `slotsim report DIR`: read a finished sweep, compare its
//! variants with the baseline, and write `compare.csv`, the charts and the HTML report.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::output::comparison::{self, compare_frame, text_table};
use crate::output::plots::{Plot, write_plots};
use crate::output::report::write_report;
use crate::output::results::{SweepResults, load};
use crate::output::{Format, write_frame};
use crate::stats::compare::{self, Comparison, LEVEL, Precision, PrecisionItem, Warning};

/// Flags shared by `compare` and `report`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// Sweep directory, as written by `slotsim sweep --out DIR`.
    pub dir: PathBuf,
    /// Variant the others are compared with, seed by seed.
    #[arg(long, default_value = "base")]
    pub baseline: String,
    /// Wanted half-width of the 95% intervals, to learn how many replications it needs:
    /// 0.5 (in each metric's units), 5% (of the mean), or for one metric
    /// lead_days_mean=0.5. Repeatable; a metric's own target wins.
    #[arg(long, value_name = "X")]
    pub precision: Vec<PrecisionItem>,
    /// The calibration's directory the sweep drew its fitted fields from (`sweep
    /// --posterior DIR`): also shows which share of each headline metric's variance comes
    /// from what the fit leaves unknown.
    #[arg(long, value_name = "DIR")]
    pub posterior: Option<PathBuf>,
}

/// The metrics whose variance `compare --posterior` splits.
const SHARED_METRICS: [&str; 5] =
    ["lead_days_mean", "lead_days_p90", "deadline_miss_rate", "abandoned", "no_slot_share"];

/// `--posterior DIR`: checks that the sweep was run with that posterior and prints the
/// share of each headline metric's variance that comes from the fitted fields.
fn posterior_shares(args: &CompareArgs, c: &Compared, out: &mut impl Write) -> Result<()> {
    let Some(posterior) = super::calibrate::read_posterior(args.posterior.as_deref())? else { return Ok(()) };
    let dir = args.posterior.as_deref().unwrap_or(Path::new(""));
    match &c.results.manifest.posterior {
        Some(f) if *f == posterior.fingerprint() => {}
        Some(_) => bail!(
            "--posterior {}: the sweep in {} was run with another posterior; name the one it was run with",
            dir.display(),
            args.dir.display()
        ),
        None => bail!(
            "--posterior {}: the sweep in {} was run without a posterior (sweep --posterior DIR draws the fitted fields)",
            dir.display(),
            args.dir.display()
        ),
    }
    writeln!(
        out,
        "Share of each metric's variance over the replications that comes from the fitted fields ({}; the rest is the simulation's own noise):",
        posterior.paths.join(", ")
    )?;
    writeln!(out, "  {:<30} {}", "", SHARED_METRICS.map(|m| format!("{m:>20}")).join(""))?;
    for (label, shares) in crate::runner::calibrate::variance_shares(&posterior, &c.results.cells, &SHARED_METRICS) {
        let cells: Vec<String> = shares
            .iter()
            .map(|s| format!("{:>20}", s.map_or("–".to_string(), |s| format!("{:.0}%", s * 100.0))))
            .collect();
        writeln!(out, "  {label:<30} {}", cells.join(""))?;
    }
    Ok(())
}

/// A sweep read back and compared.
struct Compared {
    results: SweepResults,
    comparison: Comparison,
    warnings: Vec<Warning>,
    precision: Precision,
}

fn run(args: &CompareArgs) -> Result<Compared> {
    let results = load(&args.dir)?;
    let precision = Precision::from_items(&args.precision);
    let comparison = compare::compare(results.cells.clone(), &args.baseline, LEVEL, &precision)
        .with_context(|| format!("comparing the variants in {}", args.dir.display()))?;
    let warnings = compare::warnings(&comparison);
    Ok(Compared { results, comparison, warnings, precision })
}

fn warning_lines(c: &Compared) -> Vec<String> {
    comparison::warning_lines(&c.comparison, &c.warnings)
}

fn write_outputs(c: &Compared) -> Result<Vec<Plot>> {
    let dir = &c.results.dir;
    write_frame(&mut compare_frame(&c.comparison)?, &dir.join("compare.csv"), Format::Csv)?;
    write_plots(&dir.join("plots"), &c.comparison, &c.results.daily, c.results.start_date.as_deref())
}

fn print_warnings(c: &Compared) {
    let lines = warning_lines(c);
    if lines.is_empty() {
        return;
    }
    eprintln!("warning: some intervals are wider than asked for, or missing:");
    for l in lines {
        eprintln!("  {l}");
    }
}

/// `slotsim compare`: the table on screen, `compare.csv` and the charts.
///
/// # Errors
///
/// Not a finished sweep directory, an unknown baseline, or I/O failures.
pub fn compare(args: &CompareArgs) -> Result<ExitCode> {
    let c = run(args)?;
    let plots = write_outputs(&c)?;
    let mut out = std::io::stdout().lock();
    write!(out, "{}", text_table(&c.comparison, &c.results.manifest.scenario))?;
    posterior_shares(args, &c, &mut out)?;
    if c.precision.is_empty() {
        writeln!(out, "(--precision 5% tells how many replications ±5% intervals would need)")?;
    }
    writeln!(out, "written: {}", c.results.dir.join("compare.csv").display())?;
    for p in &plots {
        writeln!(out, "written: {} and .svg", p.png.display())?;
    }
    out.flush()?;
    print_warnings(&c);
    Ok(ExitCode::SUCCESS)
}

/// `slotsim report`: everything `compare` writes, and `report.html`.
///
/// # Errors
///
/// As [`compare`], and failures writing the page.
pub fn report(args: &CompareArgs) -> Result<ExitCode> {
    // A directory of `calibrate`: the fit's page.
    if !args.dir.join("manifest.json").exists() && args.dir.join("calibrate.json").exists() {
        let path = args.dir.join("report.html");
        crate::output::calibration::write_report(&args.dir, &path)?;
        println!("report written to {}", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    // A directory of `optimize` or `select` (no sweep manifest): a page that leads with the
    // answer.
    if !args.dir.join("manifest.json").exists()
        && let Some((kind, path)) = crate::output::answer_report::answer_in(&args.dir)
    {
        let page = crate::output::answer_report::write_answer_report(&args.dir, kind, &path)?;
        println!("report written to {}", page.display());
        return Ok(ExitCode::SUCCESS);
    }
    let c = run(args)?;
    let plots = write_outputs(&c)?;
    let path = write_report(&c.results.dir, &c.results.manifest, &c.comparison, &warning_lines(&c), &plots)?;
    print_warnings(&c);
    println!("report written to {}", path.display());
    Ok(ExitCode::SUCCESS)
}
