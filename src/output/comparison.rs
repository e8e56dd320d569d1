//! A comparison as people and programs read it: a text table for the terminal, the
//! `compare.csv` frame, warnings and one-sentence verdicts in plain language.

use polars::prelude::*;

use crate::stats::compare::{Better, Comparison, Difference, Estimate, Row, Verdict, Warning};

/// Decimals that show `spread` (a half-width) to two significant digits, at most 8.
fn decimals(spread: f64) -> usize {
    if !(spread.is_finite() && spread > 0.0) {
        return 0;
    }
    (1 - spread.log10().floor() as i64).clamp(0, 8) as usize
}

/// A chart tick: as few decimals as the value needs (`70`, `0.885`).
pub fn tick(x: f64) -> String {
    let s = format!("{x:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.to_string() }
}

/// A number for reading: about four significant digits, no exponent.
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    let a = x.abs();
    let d = if a == 0.0 || a >= 1000.0 || (a >= 1.0 && x.fract() == 0.0) {
        0
    } else if a >= 100.0 {
        1
    } else if a >= 1.0 {
        2
    } else {
        // Three significant digits.
        (2 - a.log10().floor() as i64).clamp(0, 8) as usize
    };
    fixed(x, d)
}

fn fixed(x: f64, d: usize) -> String {
    let s = format!("{x:.d$}");
    // "-0.00" reads as a sign error.
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') { s[1..].to_string() } else { s }
}

/// A value and its half-width at a shared precision: `22.78 ± 0.71`.
pub fn mean_pm(e: &Estimate) -> String {
    match e.half_width {
        Some(h) if h > 0.0 => {
            let d = decimals(h);
            format!("{} ± {}", fixed(e.mean, d), fixed(h, d))
        }
        Some(_) => format!("{} ± 0", num(e.mean)),
        None => num(e.mean),
    }
}

/// An interval `[lo, hi]` at the precision of its half-width.
pub fn interval(e: &Estimate) -> String {
    match e.interval() {
        Some((lo, hi)) => {
            let d = e.half_width.map_or(0, decimals);
            let d = if e.half_width == Some(0.0) { decimals(e.mean.abs()) } else { d };
            format!("[{}, {}]", fixed(lo, d), fixed(hi, d))
        }
        None => "–".into(),
    }
}

/// A signed difference at the precision of its half-width: `-4.93`.
pub fn signed(e: &Estimate) -> String {
    let s = match e.half_width {
        Some(h) if h > 0.0 => fixed(e.mean, decimals(h)),
        _ => num(e.mean),
    };
    if e.mean > 0.0 && !s.chars().all(|c| c == '0' || c == '.') { format!("+{s}") } else { s }
}

/// Cell indices grouped by grid point, in order of first appearance; within a group the
/// baseline comes first.
pub fn by_grid_point(c: &Comparison) -> Vec<(String, Vec<usize>)> {
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, cell) in c.cells.iter().enumerate() {
        let label = cell.grid_label();
        match groups.iter_mut().find(|(l, _)| *l == label) {
            Some((_, v)) => v.push(i),
            None => groups.push((label, vec![i])),
        }
    }
    for (_, cells) in &mut groups {
        cells.sort_by_key(|&i| c.cells[i].variant != c.baseline);
    }
    groups
}

/// Metric names in table order.
pub fn metric_order(c: &Comparison) -> Vec<&str> {
    c.cells.first().map(|cell| cell.metrics.iter().map(|(m, _)| m.as_str()).collect()).unwrap_or_default()
}

/// The row of `cell` and `metric`.
pub fn row<'a>(c: &'a Comparison, cell: usize, metric: &str) -> Option<&'a Row> {
    c.rows.iter().find(|r| r.cell == cell && r.metric == metric)
}

/// How many replications each cell has (most metrics are defined in all of them).
pub fn replications(c: &Comparison) -> usize {
    c.rows.iter().filter_map(|r| r.estimate.map(|e| e.n)).max().unwrap_or(0)
}

/// The seeds the cells ran, as `1–30`, or a count if they are not consecutive.
pub fn seed_range(c: &Comparison) -> String {
    let mut seeds: Vec<u64> =
        c.cells.iter().flat_map(|cell| cell.metrics.iter().flat_map(|(_, v)| v.iter().map(|&(s, _)| s))).collect();
    seeds.sort_unstable();
    seeds.dedup();
    match (seeds.first(), seeds.last()) {
        (Some(a), Some(b)) if (b - a) as usize + 1 == seeds.len() => {
            if a == b {
                format!("seed {a}")
            } else {
                format!("seeds {a}–{b}")
            }
        }
        _ => format!("{} distinct seeds", seeds.len()),
    }
}

/// The one-line description of a comparison.
pub fn headline(c: &Comparison, scenario: &str) -> String {
    let mut variants: Vec<&str> = Vec::new();
    for cell in &c.cells {
        if !variants.contains(&cell.variant.as_str()) {
            variants.push(&cell.variant);
        }
    }
    let points = by_grid_point(c).len();
    let grid = if points > 1 { format!(" at {points} grid points") } else { String::new() };
    format!(
        "{scenario}: {} variant(s) ({}){grid}, {} replications each ({}); baseline \"{}\"; {}% intervals (Student t); Δ = variant − {} over common seeds",
        variants.len(),
        variants.join(", "),
        replications(c),
        seed_range(c),
        c.baseline,
        c.level * 100.0,
        c.baseline,
    )
}

/// The comparison as a text table, grouped by grid point, then metric.
pub fn text_table(c: &Comparison, scenario: &str) -> String {
    let mut out = headline(c, scenario);
    out.push_str("\n\n");
    let level = format!("{}%", c.level * 100.0);
    let header = [
        "metric".to_string(),
        "unit".to_string(),
        "better".to_string(),
        "variant".to_string(),
        "n".to_string(),
        format!("mean ± {level} CI"),
        format!("Δ vs {}", c.baseline),
        format!("{level} CI of Δ"),
        "verdict".to_string(),
    ];
    for (label, cells) in by_grid_point(c) {
        let mut lines: Vec<[String; 9]> = vec![header.clone()];
        for metric in metric_order(c) {
            for (k, &cell) in cells.iter().enumerate() {
                let Some(r) = row(c, cell, metric) else {
                    continue;
                };
                let (delta, ci, verdict) = match &r.difference {
                    Some(d) => (
                        d.estimate.as_ref().map_or("–".into(), signed),
                        d.estimate.as_ref().map_or("–".into(), interval),
                        d.verdict.name().to_string(),
                    ),
                    None => (String::new(), String::new(), String::new()),
                };
                lines.push([
                    if k == 0 { metric.to_string() } else { String::new() },
                    if k == 0 { r.info.unit.to_string() } else { String::new() },
                    if k == 0 { r.info.better.name().to_string() } else { String::new() },
                    c.cells[cell].variant.clone(),
                    r.estimate.map_or("0".into(), |e| e.n.to_string()),
                    r.estimate.as_ref().map_or("–".into(), mean_pm),
                    delta,
                    ci,
                    verdict,
                ]);
            }
        }
        if !label.is_empty() {
            out.push_str(&format!("grid point {label}\n"));
        }
        let widths: Vec<usize> =
            (0..9).map(|i| lines.iter().map(|l| l[i].chars().count()).max().unwrap_or(0)).collect();
        for l in &lines {
            let mut line = String::new();
            for (i, field) in l.iter().enumerate() {
                let pad = widths[i] - field.chars().count();
                // Numbers right-aligned, words left-aligned.
                if (4..=7).contains(&i) {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(field);
                } else {
                    line.push_str(field);
                    line.push_str(&" ".repeat(pad));
                }
                line.push_str("  ");
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

/// The `compare.csv` frame: one row per cell and metric.
///
/// # Errors
///
/// A polars error building the frame.
pub fn compare_frame(c: &Comparison) -> PolarsResult<DataFrame> {
    let rows = &c.rows;
    let cell = |r: &Row| &c.cells[r.cell];
    let est =
        |f: &dyn Fn(&Estimate) -> Option<f64>| rows.iter().map(|r| r.estimate.as_ref().and_then(f)).collect::<Vec<_>>();
    let diff = |f: &dyn Fn(&Difference) -> Option<f64>| {
        rows.iter().map(|r| r.difference.as_ref().and_then(f)).collect::<Vec<_>>()
    };
    let diff_est = |f: &dyn Fn(&Estimate) -> Option<f64>| diff(&|d| d.estimate.as_ref().and_then(f));
    let mut cols =
        vec![Column::new("variant".into(), rows.iter().map(|r| cell(r).variant.as_str()).collect::<Vec<_>>())];
    if let Some(first) = c.cells.first() {
        for (axis, (path, _)) in first.grid.iter().enumerate() {
            cols.push(Column::new(
                path.as_str().into(),
                rows.iter().map(|r| cell(r).grid.get(axis).map(|(_, v)| v.as_str())).collect::<Vec<_>>(),
            ));
        }
    }
    cols.extend([
        Column::new("metric".into(), rows.iter().map(|r| r.metric.as_str()).collect::<Vec<_>>()),
        Column::new("label".into(), rows.iter().map(|r| r.info.label).collect::<Vec<_>>()),
        Column::new("unit".into(), rows.iter().map(|r| r.info.unit).collect::<Vec<_>>()),
        Column::new("better".into(), rows.iter().map(|r| r.info.better.name()).collect::<Vec<_>>()),
        Column::new(
            "replications".into(),
            rows.iter().map(|r| r.estimate.map_or(0, |e| e.n as u64)).collect::<Vec<_>>(),
        ),
        Column::new("mean".into(), est(&|e| Some(e.mean))),
        Column::new("sd".into(), est(&|e| e.sd)),
        Column::new("ci_low".into(), est(&|e| e.interval().map(|i| i.0))),
        Column::new("ci_high".into(), est(&|e| e.interval().map(|i| i.1))),
        Column::new("half_width".into(), est(&|e| e.half_width)),
        Column::new(
            "baseline".into(),
            rows.iter().map(|r| r.difference.as_ref().map(|_| c.baseline.as_str())).collect::<Vec<_>>(),
        ),
        Column::new("baseline_mean".into(), diff(&|d| d.baseline_mean)),
        Column::new(
            "pairs".into(),
            rows.iter().map(|r| r.difference.as_ref().map(|d| d.pairs as u64)).collect::<Vec<_>>(),
        ),
        Column::new("diff_mean".into(), diff_est(&|e| Some(e.mean))),
        Column::new("diff_sd".into(), diff_est(&|e| e.sd)),
        Column::new("diff_ci_low".into(), diff_est(&|e| e.interval().map(|i| i.0))),
        Column::new("diff_ci_high".into(), diff_est(&|e| e.interval().map(|i| i.1))),
        Column::new(
            "significant".into(),
            rows.iter()
                .map(|r| r.difference.as_ref().and_then(|d| d.estimate.and_then(|e| e.excludes_zero())))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "verdict".into(),
            rows.iter().map(|r| r.difference.as_ref().map(|d| d.verdict.name())).collect::<Vec<_>>(),
        ),
        Column::new("target_half_width".into(), rows.iter().map(|r| r.target).collect::<Vec<_>>()),
        Column::new("needed_replications".into(), rows.iter().map(|r| r.needed).collect::<Vec<_>>()),
        Column::new(
            "needed_pairs".into(),
            rows.iter().map(|r| r.difference.as_ref().and_then(|d| d.needed)).collect::<Vec<_>>(),
        ),
    ]);
    DataFrame::new(rows.len(), cols)
}

/// The warnings as lines of text: metrics without an interval grouped by cell, then one
/// line per interval wider than asked, then the replications that would meet every target.
pub fn warning_lines(c: &Comparison, warnings: &[Warning]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut no_interval: Vec<(usize, usize, Vec<&str>)> = Vec::new();
    for w in warnings {
        if let Warning::NoInterval { cell, metric, n } = w {
            match no_interval.iter_mut().find(|(c_, n_, _)| c_ == cell && n_ == n) {
                Some((_, _, metrics)) => metrics.push(metric),
                None => no_interval.push((*cell, *n, vec![metric])),
            }
        }
    }
    for (cell, n, metrics) in no_interval {
        let shown = if metrics.len() > 6 {
            format!("{} metrics ({}, ...)", metrics.len(), metrics[..4].join(", "))
        } else {
            metrics.join(", ")
        };
        lines.push(format!(
            "{} · {shown}: defined in {n} replication(s), too few for a confidence interval (at least 2 are needed)",
            c.cells[cell].label()
        ));
    }
    lines.extend(warnings.iter().filter(|w| !matches!(w, Warning::NoInterval { .. })).map(|w| warning_text(c, w)));
    if let Some(need) = replications_needed(warnings) {
        lines.push(format!(
            "to meet every precision asked for, run the sweep again with --replications {need} (a conservative estimate from the present spread)"
        ));
    }
    lines
}

/// A warning as one line of text.
pub fn warning_text(c: &Comparison, w: &Warning) -> String {
    let cell = |i: usize| c.cells[i].label();
    match w {
        Warning::NoInterval { cell: i, metric, n } => format!(
            "{} · {metric}: defined in {n} replication(s), too few for a confidence interval (at least 2 are needed)",
            cell(*i)
        ),
        Warning::MeanTooWide { cell: i, metric, half_width, target, have, need } => format!(
            "{} · {metric}: mean known to ±{} with {have} replications, ±{} asked: about {need} replications needed",
            cell(*i),
            num(*half_width),
            num(*target)
        ),
        Warning::DifferenceTooWide { cell: i, metric, half_width, target, have, need } => format!(
            "{} · {metric}: difference from {} known to ±{} with {have} common seeds, ±{} asked: about {need} replications needed",
            cell(*i),
            c.baseline,
            num(*half_width),
            num(*target)
        ),
    }
}

/// The replications that would meet every precision target, if any target is missed.
pub fn replications_needed(warnings: &[Warning]) -> Option<u64> {
    warnings
        .iter()
        .filter_map(|w| match w {
            Warning::MeanTooWide { need, .. } | Warning::DifferenceTooWide { need, .. } => Some(*need),
            Warning::NoInterval { .. } => None,
        })
        .max()
}

/// A verdict on one row in plain language, e.g. `4.93 days lower than base (95% CI 4.25
/// to 5.61 lower): better.`; `None` for the baseline's own rows.
pub fn verdict_sentence(c: &Comparison, r: &Row) -> Option<String> {
    let d = r.difference.as_ref()?;
    let unit = if r.info.unit.is_empty() { String::new() } else { format!(" {}", r.info.unit) };
    let level = format!("{}%", c.level * 100.0);
    let Some(e) = d.estimate else {
        return Some(format!(
            "No comparison: no seed has this metric in both {} and {}.",
            c.cells[r.cell].variant, c.baseline
        ));
    };
    let Some((lo, hi)) = e.interval() else {
        return Some(format!(
            "Too few common replications ({}) for an interval; observed difference {}{unit}.",
            e.n,
            signed(&e)
        ));
    };
    if e.mean == 0.0 && lo == 0.0 && hi == 0.0 {
        return Some("No difference: the same in every replication.".to_string());
    }
    // Shares, ratios and indexes read better without their unit word.
    let unit = if matches!(r.info.unit, "share" | "ratio" | "index") { String::new() } else { unit };
    let d_ = e.half_width.map_or(2, |h| if h > 0.0 { decimals(h) } else { decimals(e.mean.abs()) });
    let (way, a, b) = if e.mean < 0.0 { ("lower", -hi, -lo) } else { ("higher", lo, hi) };
    let size = format!(
        "{}{unit} {way} than {} ({level} CI {} to {} {way})",
        fixed(e.mean.abs(), d_),
        c.baseline,
        fixed(a, d_),
        fixed(b, d_)
    );
    Some(match d.verdict {
        Verdict::Better => format!("Better: {size}."),
        Verdict::Worse => format!("Worse: {size}."),
        Verdict::Higher | Verdict::Lower => {
            format!("{}; neither better nor worse in itself.", capitalize(&size))
        }
        Verdict::NoDifference => format!(
            "No significant difference: {}{unit} on average, but the {level} CI ({} to {}) includes zero.",
            signed(&e),
            fixed(lo, d_),
            fixed(hi, d_)
        ),
        Verdict::Undetermined => "Too few replications to tell.".to_string(),
        Verdict::NoData => "Not defined in these runs.".to_string(),
    })
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

/// `lower is better`, `higher is better` or `neither way is better`.
pub fn better_text(b: Better) -> &'static str {
    match b {
        Better::Lower => "lower is better",
        Better::Higher => "higher is better",
        Better::Neutral => "neither way is better",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(num(2031.4), "2031");
        assert_eq!(num(22.7796), "22.78");
        assert_eq!(num(123.456), "123.5");
        assert_eq!(num(0.0085837), "0.00858");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(f64::NAN), "–");
        assert_eq!(num(-1.5), "-1.50");
        assert_eq!(num(880.0), "880");
        assert_eq!(num(20.0), "20");
    }

    #[test]
    fn means_and_intervals_share_a_precision() {
        let e = Estimate { n: 6, mean: 22.7796, sd: Some(0.9), half_width: Some(0.7123) };
        assert_eq!(mean_pm(&e), "22.78 ± 0.71");
        assert_eq!(interval(&e), "[22.07, 23.49]");
        let d = Estimate { n: 6, mean: -4.93, sd: Some(0.9), half_width: Some(0.68) };
        assert_eq!(signed(&d), "-4.93");
        assert_eq!(signed(&Estimate { mean: 3546.0, half_width: Some(12.3), ..d }), "+3546");
        assert_eq!(signed(&Estimate { mean: -0.0001, half_width: Some(0.5), ..d }), "0.00");
        assert_eq!(mean_pm(&Estimate { n: 1, mean: 5.5, sd: None, half_width: None }), "5.50");
    }
}
