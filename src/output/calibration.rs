//! The files of `calibrate`: `posterior.csv`, `calibrate.json`, `predictive.csv` and
//! `fitted.toml`; the reference table's chunks (`.reference/`, so that a fit resumes and
//! a Slurm array can run its simulations in parts); reading a posterior back for
//! `--posterior`; the answer in words; and the page `report DIR` draws of a fit.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use plotters::prelude::*;
use serde_json::{Value, json};

use super::files::write_text;
use super::report::escape;
use crate::runner::VERSION;
use crate::runner::calibrate::{CalibrateProblem, CoverageRun, Fit, Member, Misfit, Posterior, PredictivePoint};
use crate::stats::observed::Reading;

/// The reference table's chunks, under the fit's directory.
pub const REFERENCE_DIR: &str = ".reference";

/// What a fit's reference table is a table of: chunks written under another identity are
/// not reused.
pub fn reference_identity(problem: &CalibrateProblem) -> String {
    let q = problem.question();
    let mut s = format!(
        "slotsim {VERSION}\nscenario {}\nvariant {}\nseed_start {}\nsimulations {}\ndays {}\n",
        problem.scenario().hash(),
        q.variant,
        q.seed_start,
        q.simulations,
        problem.simulated_days()
    );
    for p in problem.parameters() {
        let _ = writeln!(s, "fit {} {:?}", p.path, p.prior);
    }
    for o in &q.observed.entries {
        let _ = writeln!(s, "observed {} {}", o.column.name(), o.day);
    }
    for o in &q.summaries {
        let _ = writeln!(s, "observe {} se {}", o.metric, o.se);
    }
    s
}

/// The chunk file of chunk `c`.
pub fn chunk_path(dir: &Path, c: usize) -> PathBuf {
    dir.join(REFERENCE_DIR).join(format!("chunk-{c:06}.csv"))
}

/// Prepares `dir/.reference` for `identity`: a directory of another identity is refused
/// (its chunks would mix two tables), one of the same is kept for its chunks.
///
/// # Errors
///
/// I/O errors, or a directory holding another fit's table.
pub fn open_reference(dir: &Path, identity: &str) -> Result<()> {
    let reference = dir.join(REFERENCE_DIR);
    let id_path = reference.join("identity.txt");
    if id_path.exists() {
        let existing =
            std::fs::read_to_string(&id_path).with_context(|| format!("cannot read {}", id_path.display()))?;
        if existing != identity {
            bail!(
                "{} holds the simulations of another fit (other scenario, fitted fields, observed days, seeds or --simulations); use another --out, or remove {} to start afresh",
                dir.display(),
                reference.display()
            );
        }
        return Ok(());
    }
    std::fs::create_dir_all(&reference).with_context(|| format!("cannot create {}", reference.display()))?;
    write_text(&id_path, identity)
}

/// Writes a chunk of members atomically: one line per member, `index`, its latent
/// values, its values at the observed entries, its summary observations (each number
/// in the shortest form that reads back to the same value).
///
/// # Errors
///
/// I/O errors.
pub fn write_chunk(path: &Path, members: &[Member]) -> Result<()> {
    let mut text = String::new();
    for m in members {
        let _ = write!(text, "{}", m.index);
        for v in m.latent.iter().chain(&m.entries).chain(&m.summaries) {
            let _ = write!(text, ",{v}");
        }
        text.push('\n');
    }
    write_text(path, &text)
}

/// Reads a chunk written by [`write_chunk`] for `problem`.
///
/// # Errors
///
/// I/O errors, or a line of the wrong shape.
pub fn read_chunk(path: &Path, problem: &CalibrateProblem) -> Result<Vec<Member>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (p, e, s) = (problem.parameters().len(), problem.question().observed.len(), problem.question().summaries.len());
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let mut cells = line.split(',');
            let bad = || anyhow::anyhow!("{}, line {}: not a member of this fit's table", path.display(), i + 1);
            let index: usize = cells.next().and_then(|c| c.parse().ok()).ok_or_else(bad)?;
            let values: Vec<f64> = cells.map(|c| c.parse::<f64>().map_err(|_| bad())).collect::<Result<_>>()?;
            if values.len() != p + e + s {
                return Err(bad());
            }
            Ok(Member {
                index,
                latent: values[..p].to_vec(),
                entries: values[p..p + e].to_vec(),
                summaries: values[p + e..].to_vec(),
            })
        })
        .collect()
}

/// `posterior.csv`: one row per draw, `draw`, `weight`, one column per fitted path.
///
/// # Errors
///
/// I/O errors.
pub fn write_posterior(path: &Path, problem: &CalibrateProblem, fit: &Fit) -> Result<()> {
    let mut text = String::from("draw,weight");
    for p in problem.parameters() {
        let _ = write!(text, ",{}", csv_field(&p.path));
    }
    text.push('\n');
    for (d, (values, w)) in fit.posterior.draws.iter().zip(&fit.posterior.weights).enumerate() {
        let _ = write!(text, "{d},{w}");
        for v in values {
            let _ = write!(text, ",{v}");
        }
        text.push('\n');
    }
    write_text(path, &text)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

/// Reads `DIR/posterior.csv` (as written by `calibrate`) for `--posterior DIR`.
///
/// # Errors
///
/// A missing file, or one whose header or rows are not a posterior's; each message names
/// the file and line.
pub fn read_posterior(dir: &Path) -> Result<Posterior> {
    let path = dir.join("posterior.csv");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "--posterior {}: cannot read {} (a directory written by slotsim calibrate)",
            dir.display(),
            path.display()
        )
    })?;
    let mut lines = text.lines();
    let header: Vec<String> =
        lines.next().unwrap_or_default().split(',').map(|h| h.trim().trim_matches('"').to_string()).collect();
    if header.len() < 3 || header[0] != "draw" || header[1] != "weight" {
        bail!("{}, line 1: expected the header draw,weight,PATH,... of a posterior", path.display());
    }
    let paths = header[2..].to_vec();
    let mut draws = Vec::new();
    for (i, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split(',').collect();
        let at = |msg: String| anyhow::anyhow!("{}, line {}: {msg}", path.display(), i + 2);
        if cells.len() != header.len() {
            return Err(at(format!("{} cells where the header has {}", cells.len(), header.len())));
        }
        let draw: u32 =
            cells[0].trim().parse().map_err(|_| at(format!("draw `{}` is not a whole number", cells[0])))?;
        let mut numbers = Vec::with_capacity(cells.len() - 1);
        for (c, cell) in cells[1..].iter().enumerate() {
            let v: f64 = cell
                .trim()
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .ok_or_else(|| at(format!("`{cell}` in column {} is not a number", header[c + 1])))?;
            numbers.push(v);
        }
        draws.push((draw, numbers[0], numbers[1..].to_vec()));
    }
    Posterior::new(paths, draws).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// `predictive.csv`: per observed date and column, what was observed and the posterior
/// predictive 5%, 50% and 95% points.
///
/// # Errors
///
/// I/O errors.
pub fn write_predictive(path: &Path, problem: &CalibrateProblem, points: &[PredictivePoint]) -> Result<()> {
    let start = problem.scenario().start_day();
    let mut text =
        String::from("date,column,observed,observed_lower,observed_upper,predicted_p05,predicted_p50,predicted_p95\n");
    for p in points {
        let date = crate::scenario::dates::civil_from_days(start + i64::from(p.day));
        let (observed, lower, upper) = match p.reading {
            Reading::Value(v) => (v.to_string(), String::new(), String::new()),
            Reading::NoSlot => ("none".to_string(), String::new(), String::new()),
            Reading::Between { lower, upper } => (
                String::new(),
                lower.map(|v| v.to_string()).unwrap_or_default(),
                upper.map(|v| v.to_string()).unwrap_or_default(),
            ),
        };
        let predicted =
            |v: f64| if p.column.name() == "first_free_day" && v >= p.no_slot { "none".into() } else { v.to_string() };
        let _ = writeln!(
            text,
            "{date},{},{observed},{lower},{upper},{},{},{}",
            p.column.name(),
            predicted(p.q05),
            predicted(p.q50),
            predicted(p.q95)
        );
    }
    write_text(path, &text)
}

/// `fitted.toml`: the fitted variant with the estimates set (with the file's variants
/// kept when the base was fitted, so that they apply on top of the fit).
///
/// # Errors
///
/// An estimate the scenario rejects.
pub fn fitted_toml(problem: &CalibrateProblem, fit: &Fit) -> Result<String> {
    let mut fitted = problem.fitted(&fit.posterior.estimate)?;
    if problem.question().variant == "base" {
        fitted.variants = problem.scenario().variants.clone();
        fitted.sweep = problem.scenario().sweep.clone();
    }
    let mut text = String::from(
        "# Written by slotsim calibrate: the scenario with the fitted fields set to their\n# posterior medians (calibrate.json has their intervals).\n",
    );
    for (p, v) in problem.parameters().iter().zip(&fit.posterior.estimate) {
        let _ = writeln!(text, "# fitted: {} = {}", p.path, number(*v));
    }
    text.push_str(&toml::to_string(&fitted).context("the fitted scenario cannot be written as TOML")?);
    Ok(text)
}

/// A number as readers see it: whole numbers without decimals, others to 3 significant
/// digits or 2 decimals.
pub fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// The answer in words: one sentence per fitted field with its 90% interval, the
/// coverage check, and the misfit verdict.
pub fn answer_lines(problem: &CalibrateProblem, fit: &Fit, misfit: &Misfit) -> Vec<String> {
    let mut lines = Vec::new();
    for (j, p) in problem.parameters().iter().enumerate() {
        let (lo, hi) = fit.posterior.interval90[j];
        let (lo50, hi50) = fit.posterior.interval50[j];
        lines.push(format!(
            "{} is {} (90% credible interval {} to {}; 50%: {} to {}), fitted within {}..{}.",
            p.path,
            number(fit.posterior.estimate[j]),
            number(lo),
            number(hi),
            number(lo50),
            number(hi50),
            number(p.prior.lo),
            number(p.prior.hi)
        ));
    }
    let checks = problem.question().settings.coverage_checks.min(problem.question().simulations / 2);
    let widened: Vec<String> = problem
        .parameters()
        .iter()
        .zip(fit.coverage())
        .flat_map(|(p, c)| {
            c.iter().filter(|c| c.widening > 1.0).map(move |c| {
                format!(
                    "{}'s {:.0}% interval ×{:.2} (unwidened, it held {:.1}%)",
                    p.path,
                    c.level * 100.0,
                    c.widening,
                    c.raw * 100.0
                )
            })
        })
        .collect();
    if widened.is_empty() {
        lines.push(format!(
            "Checked on {checks} members of the table fitted as if observed: the intervals held their truths as often as they claim, with two standard errors to spare; none was widened."
        ));
    } else {
        lines.push(format!(
            "Widened so that they hold the truth as often as they claim, with two standard errors to spare, on {checks} members of the table fitted as if observed: {}.",
            widened.join("; ")
        ));
    }
    if misfit.misfit {
        lines.push(format!(
            "MISFIT: no fitted value reproduces these observations, so the fit above is not to be trusted: {}. Does the scenario miss a change (capacity, release, demand) that the desk saw?",
            misfit.detail.join("; ")
        ));
    } else {
        lines.push("The observations lie within what the fitted model produces (no misfit).".into());
    }
    lines
}

/// `calibrate.json`.
pub fn calibrate_json(
    problem: &CalibrateProblem,
    fit: &Fit,
    misfit: &Misfit,
    coverage_run: Option<&CoverageRun>,
    command: &[String],
) -> Value {
    let q = problem.question();
    let mut parameters = serde_json::Map::new();
    for (j, p) in problem.parameters().iter().enumerate() {
        let c = fit.coverage()[j];
        parameters.insert(
            p.path.clone(),
            json!({
                "estimate": fit.posterior.estimate[j],
                "interval50": [fit.posterior.interval50[j].0, fit.posterior.interval50[j].1],
                "interval90": [fit.posterior.interval90[j].0, fit.posterior.interval90[j].1],
                "prior": { "low": p.prior.lo, "high": p.prior.hi, "scale": if p.prior.log { "log" } else { "linear" }, "integer": p.prior.integer },
                "coverage_check": c.iter().map(|c| json!({
                    "level": c.level, "held_unwidened": c.raw, "widening": c.widening, "held_widened": c.widened,
                })).collect::<Vec<_>>(),
            }),
        );
    }
    let mut out = json!({
        "scenario": problem.scenario().name,
        "variant": q.variant,
        "parameters": parameters,
        "misfit": misfit.misfit,
        "misfit_detail": misfit.detail,
        "remoteness": fit.posterior.remoteness,
        "method": format!(
            "approximate Bayesian computation on a reference table: semi-automatic summaries (ridge regression of the fitted fields on block means of the observed columns), rejection of all but the nearest {:.0}% with Epanechnikov weights, local-linear regression adjustment, and intervals widened where a leave-one-out check on {} members found them to hold the truth too rarely",
            q.settings.accept * 100.0,
            q.settings.coverage_checks.min(q.simulations / 2)
        ),
        "simulations": q.simulations,
        "predictive_simulations": q.predictive,
        "simulated_days": problem.simulated_days(),
        "observations": q.observed.len(),
        "summary_observations": q.summaries.iter().map(|o| json!({"metric": o.metric, "value": o.value, "se": o.se})).collect::<Vec<_>>(),
        "seed_start": q.seed_start,
        "seeds": format!("{}..{}", q.seed_start, q.seed_start + q.simulations as u64 + q.predictive as u64 - 1),
        "scenario_hash": problem.scenario().hash(),
        "version": VERSION,
        "answer_text": answer_lines(problem, fit, misfit),
        "command": command,
    });
    if let Some(run) = coverage_run {
        out["coverage_run"] = coverage_json(problem, run);
    }
    out
}

/// The simulation-based calibration run, as JSON.
pub fn coverage_json(problem: &CalibrateProblem, run: &CoverageRun) -> Value {
    let shares = run.shares();
    let mut per = serde_json::Map::new();
    for (p, s) in problem.parameters().iter().zip(&shares) {
        per.insert(
            p.path.clone(),
            json!({
                "interval50": {"held": s[0].0, "ci95": [s[0].1, s[0].2]},
                "interval90": {"held": s[1].0, "ci95": [s[1].1, s[1].2]},
            }),
        );
    }
    json!({ "truths": run.truths, "parameters": per, "remote_false_alarms": run.remote })
}

/// The simulation-based calibration run as a table in words.
pub fn coverage_lines(problem: &CalibrateProblem, run: &CoverageRun) -> Vec<String> {
    let mut lines = vec![format!(
        "Simulation-based calibration: {} truths drawn from the prior, each with its own simulated series:",
        run.truths
    )];
    for (p, s) in problem.parameters().iter().zip(run.shares()) {
        lines.push(format!(
            "  {}: 50% interval held {:.1}% (95% CI {:.1}–{:.1}); 90% interval held {:.1}% (95% CI {:.1}–{:.1})",
            p.path,
            s[0].0 * 100.0,
            s[0].1 * 100.0,
            s[0].2 * 100.0,
            s[1].0 * 100.0,
            s[1].1 * 100.0,
            s[1].2 * 100.0
        ));
    }
    lines.push(format!("  observations judged remote (false misfit alarms): {} of {}", run.remote, run.truths));
    lines
}

// ----- the page ----------------------------------------------------------------------

/// A predictive row read back from `predictive.csv`.
struct Row {
    date: String,
    column: String,
    observed: Option<f64>,
    lower: Option<f64>,
    upper: Option<f64>,
    none: bool,
    band: [Option<f64>; 3],
}

fn read_predictive(path: &Path) -> Result<Vec<Row>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let number = |s: &str| s.parse::<f64>().ok();
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (c.len() == 8).then(|| Row {
                date: c[0].into(),
                column: c[1].into(),
                observed: number(c[2]),
                lower: number(c[3]),
                upper: number(c[4]),
                none: c[2] == "none",
                // `none` (no slot bookable) stands above every number: the chart's top.
                band: [5, 6, 7].map(|k| if c[k] == "none" { Some(f64::INFINITY) } else { number(c[k]) }),
            })
        })
        .collect())
}

/// The page of a fit's directory: the answer, each observed column inside its predictive
/// band over calendar dates, each parameter's posterior, and the method.
///
/// # Errors
///
/// A file of the directory that cannot be read or drawn.
pub fn render_report(dir: &Path) -> Result<String> {
    let json_path = dir.join("calibrate.json");
    let a: Value = serde_json::from_str(
        &std::fs::read_to_string(&json_path).with_context(|| format!("cannot read {}", json_path.display()))?,
    )
    .with_context(|| format!("{} is not JSON", json_path.display()))?;
    let rows = read_predictive(&dir.join("predictive.csv"))?;
    let posterior = read_posterior(dir)?;
    let mut h = String::new();
    let title = format!("slotsim calibrate: {}", a["scenario"].as_str().unwrap_or(""));
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{t}</title>\n<style>body {{ font-family: \"DejaVu Sans\", Helvetica, Arial, sans-serif; margin: 0 auto; max-width: 1100px; padding: 1.5em; color: #222; }} .answer-text {{ font-size: 1.15em; border-left: 5px solid #0072b2; padding: 0.3em 0.8em; }} .misfit {{ border-left-color: #d55e00; background: #fdeee4; }} figure {{ margin: 1em 0; }} figcaption {{ color: #555; }} pre {{ white-space: pre-wrap; }}</style>\n</head>\n<body>\n<h1>{t}</h1>\n",
        t = escape(&title)
    );
    let class = if a["misfit"].as_bool() == Some(true) { "answer-text misfit" } else { "answer-text" };
    let _ = writeln!(h, "<section id=\"answer\">\n<h2>Fit</h2>\n<div class=\"{class}\">");
    for line in a["answer_text"].as_array().into_iter().flatten() {
        let _ = writeln!(h, "<p>{}</p>", escape(line.as_str().unwrap_or("")));
    }
    h.push_str("</div>\n</section>\n<section id=\"predictive\">\n<h2>Observed against the fitted model</h2>\n");
    let mut columns: Vec<&str> = rows.iter().map(|r| r.column.as_str()).collect();
    columns.dedup();
    for column in columns {
        let of: Vec<&Row> = rows.iter().filter(|r| r.column == column).collect();
        let svg = predictive_svg(column, &of)?;
        let _ = writeln!(
            h,
            "<figure class=\"chart\" id=\"predictive-{column}\">{svg}<figcaption>{}: observed (dots; bars where only bounds were known; crosses at the top for \"none\") inside the posterior predictive band (shaded: 5% to 95% of {} simulations drawn from the posterior; line: median).</figcaption></figure>",
            escape(column),
            a["predictive_simulations"]
        );
    }
    h.push_str("</section>\n<section id=\"posterior\">\n<h2>Posterior of each fitted field</h2>\n");
    for (j, path) in posterior.paths.iter().enumerate() {
        let p = &a["parameters"][path];
        let svg = posterior_svg(path, &posterior, j, p)?;
        let _ = writeln!(
            h,
            "<figure class=\"chart\" id=\"posterior-{j}\">{svg}<figcaption>{}: weighted posterior draws (bars), over the prior range {}..{}; shaded: the 90% credible interval; line: the estimate.</figcaption></figure>",
            escape(path),
            p["prior"]["low"],
            p["prior"]["high"]
        );
    }
    let _ = writeln!(
        h,
        "</section>\n<section id=\"method\">\n<h2>Method</h2>\n<p>{}.</p>\n<p class=\"meta\">{} simulations; seeds {}; scenario hash {}; slotsim {}.</p>\n<pre>{}</pre>\n</section>\n</body>\n</html>",
        escape(a["method"].as_str().unwrap_or("")),
        a["simulations"],
        escape(a["seeds"].as_str().unwrap_or("")),
        escape(a["scenario_hash"].as_str().unwrap_or("")),
        escape(a["version"].as_str().unwrap_or("")),
        escape(&a["command"].as_array().into_iter().flatten().filter_map(Value::as_str).collect::<Vec<_>>().join(" "))
    );
    Ok(h)
}

/// Writes the page of a fit's directory to `path`.
///
/// # Errors
///
/// As [`render_report`], or I/O errors.
pub fn write_report(dir: &Path, path: &Path) -> Result<()> {
    let page = render_report(dir)?;
    write_text(path, &page)
}

const SIZE: (u32, u32) = (1000, 380);

fn predictive_svg(column: &str, rows: &[&Row]) -> Result<String> {
    super::plots::register_font()?;
    let days: Vec<f64> = rows.iter().map(|r| crate::scenario::dates::parse_date(&r.date).unwrap_or(0) as f64).collect();
    let (x0, x1) =
        (days.iter().copied().fold(f64::INFINITY, f64::min), days.iter().copied().fold(f64::NEG_INFINITY, f64::max));
    // The axis reaches the 99th percentile of what is drawn, with room above: a launch
    // day's rush (thousands of bookings on day one) would flatten the rest. Values beyond
    // the top, and `none`, are drawn at the top.
    let mut drawn: Vec<f64> = rows
        .iter()
        .flat_map(|r| [r.observed, r.upper, r.lower, r.band[2]])
        .flatten()
        .filter(|v| v.is_finite())
        .collect();
    let top = crate::stats::summary::select_quantile(&mut drawn, 0.99).unwrap_or(1.0).max(1e-9) * 1.15;
    let clip = |v: f64| v.min(top);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("{column}: observed and posterior predictive"), (super::plots::FAMILY, 20))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1.max(x0 + 1.0), 0.0..top)
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .x_labels(8)
            .x_label_formatter(&|x| crate::scenario::dates::civil_from_days(*x as i64))
            .y_desc(column)
            .label_style((super::plots::FAMILY, 13))
            .draw()
            .map_err(draw_error)?;
        let band: Vec<(f64, f64)> = days.iter().zip(rows).filter_map(|(&d, r)| Some((d, clip(r.band[2]?)))).collect();
        let low: Vec<(f64, f64)> =
            days.iter().zip(rows).rev().filter_map(|(&d, r)| Some((d, clip(r.band[0]?)))).collect();
        let shade = RGBColor(0, 114, 178);
        chart
            .draw_series(std::iter::once(Polygon::new(
                band.iter().chain(&low).copied().collect::<Vec<_>>(),
                shade.mix(0.2),
            )))
            .map_err(draw_error)?;
        chart
            .draw_series(LineSeries::new(
                days.iter().zip(rows).filter_map(|(&d, r)| Some((d, clip(r.band[1]?)))),
                shade.stroke_width(2),
            ))
            .map_err(draw_error)?;
        let ink = RGBColor(213, 94, 0);
        chart
            .draw_series(
                days.iter().zip(rows).filter_map(|(&d, r)| Some(Circle::new((d, clip(r.observed?)), 2, ink.filled()))),
            )
            .map_err(draw_error)?;
        chart
            .draw_series(days.iter().zip(rows).filter(|(_, r)| r.lower.is_some() || r.upper.is_some()).map(
                |(&d, r)| {
                    PathElement::new(
                        vec![(d, r.lower.unwrap_or(0.0)), (d, r.upper.unwrap_or(top))],
                        ink.stroke_width(1),
                    )
                },
            ))
            .map_err(draw_error)?;
        chart
            .draw_series(
                days.iter().zip(rows).filter(|(_, r)| r.none).map(|(&d, _)| Cross::new((d, top * 0.97), 3, ink)),
            )
            .map_err(draw_error)?;
        root.present().map_err(draw_error)?;
    }
    Ok(svg)
}

fn posterior_svg(path: &str, posterior: &Posterior, j: usize, p: &Value) -> Result<String> {
    super::plots::register_font()?;
    let (lo, hi) = (p["prior"]["low"].as_f64().unwrap_or(0.0), p["prior"]["high"].as_f64().unwrap_or(1.0));
    let bins = 40;
    let width = (hi - lo) / bins as f64;
    let mut mass = vec![0.0; bins];
    for (d, w) in posterior.draws.iter().zip(posterior.weights()) {
        let k = (((d.1[j] - lo) / width).floor().max(0.0) as usize).min(bins - 1);
        mass[k] += w;
    }
    let top = mass.iter().copied().fold(0.0, f64::max).max(1e-9) * 1.1;
    let interval = &p["interval90"];
    let (i0, i1) = (interval[0].as_f64().unwrap_or(lo), interval[1].as_f64().unwrap_or(hi));
    let estimate = p["estimate"].as_f64().unwrap_or(lo);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, 300)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("posterior of {path}"), (super::plots::FAMILY, 20))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(lo..hi, 0.0..top)
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .x_desc(path)
            .y_desc("posterior weight")
            .label_style((super::plots::FAMILY, 13))
            .draw()
            .map_err(draw_error)?;
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(i0, 0.0), (i1, top)],
                RGBColor(0, 158, 115).mix(0.15).filled(),
            )))
            .map_err(draw_error)?;
        chart
            .draw_series(mass.iter().enumerate().map(|(k, &m)| {
                let x = lo + k as f64 * width;
                Rectangle::new([(x, 0.0), (x + width * 0.9, m)], RGBColor(0, 114, 178).filled())
            }))
            .map_err(draw_error)?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(estimate, 0.0), (estimate, top)],
                BLACK.stroke_width(2),
            )))
            .map_err(draw_error)?;
        root.present().map_err(draw_error)?;
    }
    Ok(svg)
}

fn draw_error<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow::anyhow!("drawing a calibration chart: {e}")
}
