//! The answers of `optimize` and `select` in words: the sentence, the deciding intervals,
//! the replications against a fixed design, and the warnings and notes. Printed by the
//! command line, kept in `optimize.json` and `select.json` under `answer_text`, and shown
//! by the report; one text for all three.

use crate::runner::search::{OptimizeOutcome, OptimizeProblem, SelectOutcome, SelectProblem, cell_label};
use crate::stats::compare::{estimate, metric_info};
use crate::stats::metrics;
use crate::stats::sequential::{Check, Decision};

/// A number with as many decimals as its size calls for (`–` if not finite).
pub fn fmt_x(x: f64) -> String {
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
        .question()
        .requirements
        .iter()
        .zip(&e.checks)
        .map(|(r, c)| format!("mean {} {}", r.metric, interval_text(c)))
        .collect();
    Some(format!("at {value}: {}", parts.join("; ")))
}

/// Under a posterior: which share of each metric's variance over `summaries` comes from
/// the fitted fields (one line), or nothing without a posterior.
fn posterior_share<'a>(
    cell: &crate::runner::Cell,
    seed_start: u64,
    summaries: &[crate::stats::Summary],
    metrics: impl Iterator<Item = &'a str>,
) -> Option<String> {
    let p = cell.posterior.as_ref()?;
    let parts: Vec<String> = metrics
        .map(|m| match crate::runner::calibrate::parameter_share(cell, seed_start, summaries, m) {
            Some(share) => format!("{:.0}% of the variance of {m}", share * 100.0),
            None => format!("too few replications to split the variance of {m}"),
        })
        .collect();
    Some(format!(
        "  under the calibration's posterior ({} draws of {}, one per seed): the fitted fields account for {}; the rest is the simulation's own noise, and the intervals include both",
        p.posterior.draws.len(),
        p.posterior.paths.join(", "),
        parts.join(", ")
    ))
}

/// The answer of `optimize`: the sentence, the deciding intervals on both sides, and the
/// replications against an exhaustive grid.
pub fn optimize_answer(problem: &OptimizeProblem, outcome: &OptimizeOutcome) -> Vec<String> {
    let q = problem.question();
    let (path, lo, hi) = (&q.path, q.lo, q.hi);
    let mut lines = Vec::new();
    let targets: Vec<String> = q.requirements.iter().map(|r| format!("mean {r}")).collect();
    let which = if q.largest { "largest" } else { "smallest" };
    let confidence = format!("{}%", q.confidence * 100.0);
    match outcome.answer {
        Some(a) => {
            lines.push(format!(
                "The {which} {path} in {lo}..{hi} with {} is {a} (at {confidence} confidence for the answer as a whole).",
                targets.join(" and ")
            ));
            if let Some(t) = value_text(problem, outcome, a) {
                lines.push(format!("  meets {t}"));
            }
            let neighbour = if q.largest { a.checked_add(1) } else { a.checked_sub(1) };
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
            let easiest = if q.largest { lo } else { hi };
            if let Some(t) = value_text(problem, outcome, easiest) {
                lines.push(format!("  even the easiest end fails: {t}"));
            }
        }
    }
    if let Some(e) = outcome.answer.and_then(|a| outcome.examined.iter().find(|e| e.value == a)) {
        lines.extend(posterior_share(
            &e.cell,
            q.seed_start,
            &e.summaries,
            q.requirements.iter().map(|r| r.metric.as_str()),
        ));
    }
    lines.push(format!(
        "  (intervals: Student t at {:.3}% two-sided, each look's share of the {confidence} confidence)",
        100.0 * (1.0 - 2.0 * outcome.alpha_per_look)
    ));
    lines.push(format!(
        "{} values examined by bisection, {} replications with common seeds {}..; an exhaustive grid of the {} values at equal precision would need {}.",
        outcome.examined.len(),
        outcome.replications(),
        q.seed_start,
        hi.abs_diff(lo) + 1,
        outcome.grid_equivalent(lo, hi)
    ));
    lines
}

/// What may make `optimize`'s answer wrong: estimates against the assumed monotonicity,
/// and values still undecided at the replication limit.
pub fn optimize_warnings(problem: &OptimizeProblem, outcome: &OptimizeOutcome) -> Vec<String> {
    let q = problem.question();
    let mut warnings = Vec::new();
    for c in &outcome.contradictions {
        warnings.push(format!(
            "{} is not monotone as assumed: from {} to {} it moved by {} (paired 95% interval {} to {}); the search assumes the targets get easier as the value {}, so the answer may be wrong",
            c.metric,
            c.from,
            c.to,
            fmt_x(c.difference),
            fmt_x(c.low),
            fmt_x(c.high),
            if q.largest { "falls" } else { "grows" }
        ));
    }
    for e in outcome.examined.iter().filter(|e| e.decision == Decision::Undecided) {
        warnings.push(format!(
            "{} = {} was still undecided after {} replications and counts as not meeting the targets (raise the replication limit to decide it)",
            q.path,
            e.value,
            e.summaries.len()
        ));
    }
    warnings
}

/// Notes on `select`'s choice: the pilot that set delta, a procedure stopped at the limit,
/// candidates whose constraints stayed undecided.
pub fn select_notes(problem: &SelectProblem, outcome: &SelectOutcome) -> Vec<String> {
    let q = problem.question();
    let mut notes = Vec::new();
    if let Some(p) = &outcome.pilot {
        notes.push(format!(
            "delta not given: {} = 5% of the pilot mean {} of {} over seeds {}..{} (not reused: the procedure starts at seed {})",
            outcome.delta,
            fmt_x(p.mean),
            q.metric,
            p.seeds.0,
            p.seeds.1,
            outcome.seed_start
        ));
    }
    if !outcome.decided && outcome.selected.is_some() {
        notes.push(format!(
            "KN had not finished at the limit of {} replications: the candidate with the best mean among those left was taken, without the guarantee",
            q.max_replications
        ));
    }
    for (i, c) in outcome.candidates.iter().enumerate() {
        if c.feasible == Decision::Undecided {
            notes.push(format!(
                "{}: its constraints were still undecided after {} replications; it counts as not meeting them",
                cell_label(&problem.cells()[i]),
                c.summaries.len()
            ));
        }
    }
    notes
}

/// The answer of `select`: the choice with its guarantee, the replications per candidate,
/// and what a fixed design would have needed.
pub fn select_answer(problem: &SelectProblem, outcome: &SelectOutcome) -> Vec<String> {
    let q = problem.question();
    let cells = problem.cells();
    let mut lines = Vec::new();
    let info = metric_info(&q.metric);
    let unit = if info.unit.is_empty() { String::new() } else { format!(" {}", info.unit) };
    let best = if problem.higher_is_better() { "highest" } else { "lowest" };
    let among = if q.constraints.is_empty() {
        String::new()
    } else {
        let c: Vec<String> = q.constraints.iter().map(|r| format!("mean {r}")).collect();
        format!(" among the candidates with {}", c.join(" and "))
    };
    let confidence = format!("{}%", q.confidence * 100.0);
    match outcome.selected {
        Some(i) => {
            let c = &outcome.candidates[i];
            let xs: Vec<f64> = c.summaries[..c.used].iter().filter_map(|s| metrics::value(s, &q.metric)).collect();
            let shown = estimate(&xs, 0.95)
                .map(|e| match e.interval() {
                    Some((lo, hi)) => format!("{}{unit}, 95% interval {} to {}", fmt_x(e.mean), fmt_x(lo), fmt_x(hi)),
                    None => format!("{}{unit}", fmt_x(e.mean)),
                })
                .unwrap_or_default();
            let guarantee = if outcome.decided {
                format!(
                    "with {confidence} confidence it is within {}{unit} of the best{}",
                    outcome.delta,
                    if among.is_empty() { "" } else { " of them" }
                )
            } else {
                "the procedure had not finished at the replication limit, so there is no guarantee".to_string()
            };
            lines.push(format!(
                "Choose {}: it has the {best} mean {} ({shown}){among}; {guarantee}.",
                cell_label(&cells[i]),
                q.metric
            ));
        }
        None => lines.push(format!(
            "No candidate meets{}: nothing to choose.",
            among.trim_start_matches(" among the candidates with")
        )),
    }
    if let Some(i) = outcome.selected {
        let c = &outcome.candidates[i];
        lines.extend(posterior_share(
            &cells[i],
            outcome.seed_start,
            &c.summaries[..c.used],
            std::iter::once(q.metric.as_str()),
        ));
    }
    lines.push(format!("replications used per candidate (common seeds {}..):", outcome.seed_start));
    for (i, c) in outcome.candidates.iter().enumerate() {
        let fate = match (outcome.selected == Some(i), c.eliminated_at, c.feasible) {
            (true, _, _) => "chosen".to_string(),
            (_, _, Decision::Fails) => "fails the constraints".to_string(),
            (_, _, Decision::Undecided) => "constraints undecided".to_string(),
            (_, Some(r), _) => format!("eliminated after {r}"),
            (_, None, _) => "still in at the limit".to_string(),
        };
        lines.push(format!("  {:<30} {:>6}  ({fate})", cell_label(&cells[i]), c.used));
    }
    let k = cells.len();
    let pilot = outcome.pilot.as_ref().map_or(0, |p| p.replications);
    match outcome.fixed_per_candidate {
        Some(n) => lines.push(format!(
            "{} replications in all{}; a fixed design of equal replications with the same guarantee would need {k} × {n} = {}.",
            outcome.used(),
            if pilot > 0 { format!(" plus a pilot of {pilot}") } else { String::new() },
            k * n
        )),
        None => lines.push(format!("{} replications in all.", outcome.used())),
    }
    lines
}
