//! The files of `optimize` and `select`: `optimize.csv` and `optimize.json`, `select.csv`
//! and `select.json`, and `summary.csv` with every replication they ran (the same columns
//! as a sweep's, so that `slotsim run` reproduces any row).

use std::path::Path;

use anyhow::Result;
use polars::prelude::*;
use serde_json::{Value, json};

use super::answer_text::{optimize_answer, optimize_warnings, select_answer, select_notes};
use super::files::{Format, write_atomic, write_frame};
use super::tables::summary_frame;
use crate::runner::search::{OptimizeOutcome, OptimizeProblem, SelectOutcome, SelectProblem, cell_label};
use crate::runner::{Plan, Replication, VERSION};
use crate::stats::compare::estimate;
use crate::stats::sequential::{Check, Requirement};

/// Column-name prefixes for requirements: the metric, with `_2`, `_3` for repeats.
fn prefixes(requirements: &[Requirement]) -> Vec<String> {
    (0..requirements.len())
        .map(|j| {
            let metric = &requirements[j].metric;
            let before = requirements[..j].iter().filter(|r| &r.metric == metric).count();
            if before == 0 { metric.clone() } else { format!("{metric}_{}", before + 1) }
        })
        .collect()
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn check_columns(prefix: &str, checks: &[&Check]) -> Vec<Column> {
    vec![
        Column::new(format!("{prefix}_mean").into(), checks.iter().map(|c| finite(c.mean)).collect::<Vec<_>>()),
        Column::new(format!("{prefix}_low").into(), checks.iter().map(|c| finite(c.low)).collect::<Vec<_>>()),
        Column::new(format!("{prefix}_high").into(), checks.iter().map(|c| finite(c.high)).collect::<Vec<_>>()),
        Column::new(format!("{prefix}_verdict").into(), checks.iter().map(|c| c.decision.name()).collect::<Vec<_>>()),
    ]
}

/// `optimize.csv`: one row per value examined, by value: the value, replications, the
/// verdict, the order it was examined in, and per requirement the mean, the interval's
/// bounds (at the per-look level of the Bonferroni split) and the requirement's verdict.
///
/// # Errors
///
/// A polars error.
pub fn optimize_frame(problem: &OptimizeProblem, outcome: &OptimizeOutcome) -> PolarsResult<DataFrame> {
    let mut rows: Vec<(usize, &crate::runner::search::Examined)> = outcome.examined.iter().enumerate().collect();
    rows.sort_by_key(|(_, e)| e.value);
    let mut cols = vec![
        Column::new("value".into(), rows.iter().map(|(_, e)| e.value).collect::<Vec<_>>()),
        Column::new("replications".into(), rows.iter().map(|(_, e)| e.summaries.len() as u64).collect::<Vec<_>>()),
        Column::new("verdict".into(), rows.iter().map(|(_, e)| e.decision.name()).collect::<Vec<_>>()),
        Column::new("examined".into(), rows.iter().map(|(i, _)| *i as u64 + 1).collect::<Vec<_>>()),
    ];
    for (j, prefix) in prefixes(&problem.question().requirements).iter().enumerate() {
        let checks: Vec<&Check> = rows.iter().map(|(_, e)| &e.checks[j]).collect();
        cols.extend(check_columns(prefix, &checks));
    }
    DataFrame::new(rows.len(), cols)
}

fn requirement_json(r: &Requirement) -> Value {
    json!({ "metric": r.metric, "bound": r.bound.symbol(), "limit": r.limit })
}

fn check_json(r: &Requirement, c: &Check) -> Value {
    json!({
        "metric": r.metric, "bound": r.bound.symbol(), "limit": r.limit,
        "mean": finite(c.mean), "low": finite(c.low), "high": finite(c.high), "verdict": c.decision.name(),
    })
}

/// `optimize.json`: the answer (a number, or null), the question, the method, the
/// replications and seeds, and every value examined.
pub fn optimize_json(
    problem: &OptimizeProblem,
    outcome: &OptimizeOutcome,
    scenario_hash: &str,
    command: &[String],
) -> Value {
    let q = problem.question();
    let values: Vec<Value> = outcome
        .examined
        .iter()
        .map(|e| {
            json!({
                "value": e.value,
                "replications": e.summaries.len(),
                "seeds": [q.seed_start, q.seed_start + e.summaries.len() as u64 - 1],
                "verdict": e.decision.name(),
                "scenario_hash": e.cell.hash,
                "targets": q.requirements.iter().zip(&e.checks).map(|(r, c)| check_json(r, c)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let most = outcome.examined.iter().map(|e| e.summaries.len()).max().unwrap_or(0) as u64;
    json!({
        "answer": outcome.answer,
        "path": q.path,
        "range": [q.lo, q.hi],
        "search": if q.largest { "largest" } else { "smallest" },
        "variant": q.variant,
        "targets": q.requirements.iter().map(requirement_json).collect::<Vec<_>>(),
        "confidence": q.confidence,
        "method": format!(
            "bisection assuming the targets get easier as the value {}; each value examined decided by Student-t intervals at looks after {:?} replications (common seeds), each tail at alpha/(values x targets x looks) = {:.3e} (Bonferroni over at most {} values, {} targets and {} looks); undecided at the last look counts as not meeting",
            if q.largest { "falls" } else { "grows" },
            outcome.looks, outcome.alpha_per_look, outcome.max_examined, q.requirements.len(), outcome.looks.len()
        ),
        "replications": outcome.replications(),
        "grid_equivalent_replications": outcome.grid_equivalent(q.lo, q.hi) as u64,
        "seeds": { "first": q.seed_start, "last": q.seed_start + most.saturating_sub(1), "common": true },
        "values": values,
        "warnings": optimize_warnings(problem, outcome),
        "answer_text": optimize_answer(problem, outcome),
        "scenario": problem.scenario().name,
        "scenario_hash": scenario_hash,
        "version": VERSION,
        "command": command,
    })
}

/// `summary.csv` for a search: every replication run, one row each, with the varied path
/// (or the candidates' grid) as columns.
///
/// # Errors
///
/// A polars error.
pub fn replications_frame(
    scenario: &str,
    cells: Vec<crate::runner::Cell>,
    summaries: &[&[crate::stats::Summary]],
    seed_start: u64,
) -> PolarsResult<DataFrame> {
    let grid_paths = cells.first().map(|c| c.point.values.iter().map(|(p, _)| p.clone()).collect()).unwrap_or_default();
    let plan = Plan { scenario: scenario.to_string(), cells, grid_paths, seed_start, replications: 0 };
    let rows: Vec<Replication> = summaries
        .iter()
        .enumerate()
        .flat_map(|(cell, s)| {
            s.iter().enumerate().map(move |(i, summary)| Replication {
                job: 0,
                cell,
                seed: seed_start + i as u64,
                summary: summary.clone(),
                daily: Vec::new(),
            })
        })
        .collect();
    summary_frame(&plan, &rows)
}

/// A candidate's grid point as `path=value;…`, empty without a grid.
fn grid_text(cell: &crate::runner::Cell) -> String {
    if cell.point.values.is_empty() { String::new() } else { cell.point.label() }
}

/// A candidate's mean and 95% interval of `metric` over the replications it used.
fn used_estimate(
    problem: &SelectProblem,
    outcome: &SelectOutcome,
    i: usize,
) -> (Option<f64>, Option<f64>, Option<f64>) {
    let c = &outcome.candidates[i];
    let xs: Vec<f64> = c.summaries[..c.used.min(c.summaries.len())]
        .iter()
        .filter_map(|s| crate::stats::metrics::value(s, &problem.question().metric))
        .collect();
    let e = estimate(&xs, 0.95);
    let interval = e.and_then(|e| e.interval());
    (e.map(|e| e.mean), interval.map(|i| i.0), interval.map(|i| i.1))
}

/// `select.csv`: one row per candidate: its label, variant and grid point, the ranked
/// metric's mean and 95% interval over the replications used, replications used and
/// simulated, the stage KN eliminated it at, feasibility per constraint, and whether it
/// was chosen.
///
/// # Errors
///
/// A polars error.
pub fn select_frame(problem: &SelectProblem, outcome: &SelectOutcome) -> PolarsResult<DataFrame> {
    let q = problem.question();
    let k = problem.cells().len();
    let est: Vec<_> = (0..k).map(|i| used_estimate(problem, outcome, i)).collect();
    let mut cols = vec![
        Column::new("candidate".into(), problem.cells().iter().map(cell_label).collect::<Vec<_>>()),
        Column::new("variant".into(), problem.cells().iter().map(|c| c.variant.clone()).collect::<Vec<_>>()),
        Column::new("grid".into(), problem.cells().iter().map(grid_text).collect::<Vec<_>>()),
        Column::new(format!("{}_mean", q.metric).into(), est.iter().map(|e| e.0).collect::<Vec<_>>()),
        Column::new(format!("{}_low", q.metric).into(), est.iter().map(|e| e.1).collect::<Vec<_>>()),
        Column::new(format!("{}_high", q.metric).into(), est.iter().map(|e| e.2).collect::<Vec<_>>()),
        Column::new("replications".into(), outcome.candidates.iter().map(|c| c.used as u64).collect::<Vec<_>>()),
        Column::new(
            "simulated".into(),
            outcome.candidates.iter().map(|c| c.summaries.len() as u64).collect::<Vec<_>>(),
        ),
        Column::new(
            "eliminated_at".into(),
            outcome.candidates.iter().map(|c| c.eliminated_at.map(|n| n as u64)).collect::<Vec<_>>(),
        ),
        Column::new("feasible".into(), outcome.candidates.iter().map(|c| c.feasible.name()).collect::<Vec<_>>()),
        Column::new("selected".into(), (0..k).map(|i| outcome.selected == Some(i)).collect::<Vec<_>>()),
    ];
    for (j, prefix) in prefixes(&q.constraints).iter().enumerate() {
        let checks: Vec<&Check> = outcome.candidates.iter().map(|c| &c.feasibility[j]).collect();
        if checks.len() == k {
            cols.extend(check_columns(prefix, &checks));
        }
    }
    DataFrame::new(k, cols)
}

/// `select.json`: the chosen candidate's name under `"selected"` (null if none), the
/// question, the method, and per candidate its mean, interval and replications.
pub fn select_json(problem: &SelectProblem, outcome: &SelectOutcome, scenario_hash: &str, command: &[String]) -> Value {
    let q = problem.question();
    let k = problem.cells().len();
    let candidates: Vec<Value> = (0..k)
        .map(|i| {
            let (mean, low, high) = used_estimate(problem, outcome, i);
            let c = &outcome.candidates[i];
            json!({
                "name": cell_label(&problem.cells()[i]),
                "variant": problem.cells()[i].variant,
                "grid": grid_text(&problem.cells()[i]),
                "mean": mean, "low": low, "high": high,
                "replications": c.used,
                "simulated": c.summaries.len(),
                "eliminated_at": c.eliminated_at,
                "feasible": c.feasible.name(),
                "constraints": q.constraints.iter().zip(&c.feasibility).map(|(r, ch)| check_json(r, ch)).collect::<Vec<_>>(),
                "scenario_hash": problem.cells()[i].hash,
            })
        })
        .collect();
    let most = outcome.candidates.iter().map(|c| c.summaries.len()).max().unwrap_or(0) as u64;
    json!({
        "selected": outcome.selected.map(|i| cell_label(&problem.cells()[i])),
        "decided": outcome.decided,
        "metric": q.metric,
        "better": if problem.higher_is_better() { "higher" } else { "lower" },
        "delta": outcome.delta,
        "confidence": q.confidence,
        "subject_to": q.constraints.iter().map(requirement_json).collect::<Vec<_>>(),
        "method": format!(
            "Kim and Nelson's fully sequential KN on paired differences over common seeds, first stage n0 = {}, one stage at a time (simulated in batches of {}), error {:.4} (h^2 = {:.4}){}",
            q.first_stage,
            crate::runner::search::SELECT_BATCH,
            outcome.alpha_selection,
            outcome.h2,
            if q.constraints.is_empty() {
                String::new()
            } else {
                format!(", after sequential feasibility checks with error {:.4} (Bonferroni over candidates, constraints and looks)", outcome.alpha_feasibility)
            }
        ),
        "first_stage": q.first_stage,
        "candidates": candidates,
        "replications": outcome.used(),
        "simulated": outcome.simulated(),
        "fixed_design": outcome.fixed_per_candidate.map(|n| json!({ "per_candidate": n, "total": n * k })),
        "seeds": { "first": outcome.seed_start, "last": outcome.seed_start + most.saturating_sub(1), "common": true },
        "notes": select_notes(problem, outcome),
        "answer_text": select_answer(problem, outcome),
        "scenario_hash": scenario_hash,
        "version": VERSION,
        "command": command,
    })
}

/// Writes a JSON value atomically, pretty-printed with a final newline.
///
/// # Errors
///
/// I/O errors.
pub fn write_json(value: &Value, path: &Path) -> Result<()> {
    write_atomic(path, |w| {
        serde_json::to_writer_pretty(&mut *w, value)?;
        std::io::Write::write_all(w, b"\n")?;
        Ok(())
    })
}

/// Writes a frame as CSV, atomically.
///
/// # Errors
///
/// I/O or polars errors.
pub fn write_csv(mut df: DataFrame, path: &Path) -> Result<()> {
    write_frame(&mut df, path, Format::Csv)
}
