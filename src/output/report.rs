//! `DIR/report.html`: one self-contained page (no network, no scripts) with the scenario,
//! plain-language verdicts against the baseline, the comparison table and the charts,
//! embedded as PNG data URIs.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::comparison::{
    better_text, by_grid_point, headline, interval, mean_pm, metric_order, row, signed, verdict_sentence,
};
use super::files::write_text;
use super::plots::Plot;
use super::sweep_dir::Manifest;
use crate::stats::compare::{Comparison, Verdict};

/// A chart as embedded in the page.
#[derive(Debug, Clone)]
pub struct Figure {
    /// Short name (`lead_time`).
    pub name: String,
    /// What it shows.
    pub caption: String,
    /// The PNG file's bytes.
    pub png: Vec<u8>,
}

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Standard base64 (RFC 4648, with padding).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The CSS class of a verdict's cell: better, worse, changed (no better direction) or same.
pub fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Better => "better",
        Verdict::Worse => "worse",
        Verdict::Higher | Verdict::Lower => "changed",
        Verdict::NoDifference | Verdict::Undetermined | Verdict::NoData => "same",
    }
}

const STYLE: &str = r#"
body { font-family: "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; margin: 0 auto; max-width: 1200px; padding: 1.5em; color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2em; }
h2 { border-bottom: 2px solid #0072b2; padding-bottom: 0.2em; margin-top: 2em; }
.meta { color: #555; }
nav a { margin-right: 1em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.55em; vertical-align: top; }
th { background: #f0f4f8; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.group-start td { border-top: 2px solid #888; }
td.better { background: #dff3e4; }
td.worse { background: #fbe0dc; }
td.changed { background: #e3eefa; }
td.same { color: #555; }
code { font-size: 0.9em; color: #444; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { color: #444; margin-top: 0.3em; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
.warnings li { color: #8a4b00; }
"#;

/// The page, as a string.
pub fn render(manifest: &Manifest, comparison: &Comparison, warnings: &[String], figures: &[Figure]) -> String {
    let c = comparison;
    let mut h = String::new();
    let title = format!("slotsim report: {}", manifest.scenario);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(&title)
    );
    let _ = write!(
        h,
        "<header>\n<h1>Policy comparison: {}</h1>\n<p class=\"meta\">{}</p>\n</header>\n",
        escape(&manifest.scenario),
        escape(&headline(c, &manifest.scenario))
    );
    h.push_str("<nav><a href=\"#summary\">Summary</a><a href=\"#verdicts\">Verdicts</a><a href=\"#comparison\">Comparison table</a><a href=\"#charts\">Charts</a><a href=\"#scenario\">Scenario</a>");
    if !warnings.is_empty() {
        h.push_str("<a href=\"#warnings\">Warnings</a>");
    }
    h.push_str("</nav>\n");

    planner_summary(&mut h, c);
    verdicts(&mut h, c);
    table(&mut h, c);

    h.push_str("<section id=\"charts\">\n<h2>Charts</h2>\n");
    for f in figures {
        let _ = write!(
            h,
            "<figure id=\"figure-{name}\">\n<img src=\"data:image/png;base64,{data}\" alt=\"{alt}\">\n<figcaption>{caption}</figcaption>\n</figure>\n",
            name = escape(&f.name),
            data = base64(&f.png),
            alt = escape(&f.caption),
            caption = escape(&f.caption),
        );
    }
    h.push_str("</section>\n");

    scenario(&mut h, manifest);

    if !warnings.is_empty() {
        h.push_str("<section id=\"warnings\">\n<h2>Warnings</h2>\n<ul class=\"warnings\">\n");
        for w in warnings {
            let _ = writeln!(h, "<li>{}</li>", escape(w));
        }
        h.push_str("</ul>\n</section>\n");
    }
    let _ = write!(
        h,
        "<footer>\n<p class=\"meta\">Made by slotsim {} from the sweep started with <code>{}</code>.</p>\n</footer>\n</body>\n</html>\n",
        escape(&manifest.version),
        escape(&manifest.command.join(" "))
    );
    h
}

/// The headline metrics of the planner's summary, in order.
pub const SUMMARY_METRICS: [&str; 7] = [
    "lead_days_mean",
    "lead_days_p90",
    "deadline_miss_rate",
    "book_days_mean",
    "utilization",
    "slots_wasted_unbooked",
    "waiting_at_end",
];

/// The cell with the best mean of `metric` (in its better direction), if the direction is
/// known; ties go to the first.
pub fn best_cell(c: &Comparison, metric: &str) -> Option<usize> {
    let better = crate::stats::compare::metric_info(metric).better;
    let sign = match better {
        crate::stats::compare::Better::Lower => -1.0,
        crate::stats::compare::Better::Higher => 1.0,
        crate::stats::compare::Better::Neutral => return None,
    };
    let means =
        (0..c.cells.len()).filter_map(|i| row(c, i, metric).and_then(|r| r.estimate).map(|e| (i, sign * e.mean)));
    means
        .fold(None, |best: Option<(usize, f64)>, (i, m)| match best {
            Some((_, b)) if b >= m => best,
            _ => Some((i, m)),
        })
        .map(|(i, _)| i)
}

/// The planner's summary: one compact table, a row per variant (and grid point), the
/// headline metrics as mean ± half-width of the 95% interval, the best per metric marked.
fn planner_summary(h: &mut String, c: &Comparison) {
    let metrics: Vec<&str> = SUMMARY_METRICS
        .into_iter()
        .filter(|m| (0..c.cells.len()).any(|i| row(c, i, m).is_some_and(|r| r.estimate.is_some())))
        .collect();
    h.push_str("<section id=\"summary\">\n<h2>Summary for planners</h2>\n");
    let _ = writeln!(
        h,
        "<p>Mean over replications ± the half-width of its {}% confidence interval; ★ marks the best variant on each metric (lower or higher, as the header says). The long tables below have every metric.</p>",
        c.level * 100.0
    );
    h.push_str("<table class=\"summary\">\n<thead><tr><th>Variant</th>");
    for m in &metrics {
        let info = crate::stats::compare::metric_info(m);
        let _ = write!(
            h,
            "<th>{} <code>{}</code><br>{}, {} is better</th>",
            escape(info.label),
            escape(m),
            escape(info.unit),
            info.better.name()
        );
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    let best: Vec<Option<usize>> = metrics.iter().map(|m| best_cell(c, m)).collect();
    for (i, cell) in c.cells.iter().enumerate() {
        let _ = write!(h, "<tr data-variant=\"{}\"><td>{}</td>", escape(&cell.variant), escape(&cell.label()));
        for (k, m) in metrics.iter().enumerate() {
            let text = row(c, i, m).and_then(|r| r.estimate).map_or("–".to_string(), |e| mean_pm(&e));
            if best[k] == Some(i) {
                let _ = write!(h, "<td class=\"num better best\">★ {}</td>", escape(&text));
            } else {
                let _ = write!(h, "<td class=\"num\">{}</td>", escape(&text));
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table>\n</section>\n");
}

fn verdicts(h: &mut String, c: &Comparison) {
    h.push_str("<section id=\"verdicts\">\n<h2>Verdicts against the baseline</h2>\n");
    let _ = writeln!(
        h,
        "<p>Each variant is compared with <strong>{}</strong> on the same seeds (the same applicants arriving at the same times), so differences come from the policy, not from luck of the draw. A difference counts only if its {}% confidence interval excludes zero.</p>",
        escape(&c.baseline),
        c.level * 100.0
    );
    for (_, cells) in by_grid_point(c) {
        for &cell in &cells {
            if c.cells[cell].variant == c.baseline {
                continue;
            }
            let label = c.cells[cell].label();
            let rows: Vec<_> = metric_order(c).into_iter().filter_map(|m| row(c, cell, m)).collect();
            let with = |v: &[Verdict]| -> Vec<&str> {
                rows.iter()
                    .filter(|r| r.difference.as_ref().is_some_and(|d| v.contains(&d.verdict)))
                    .map(|r| r.info.label)
                    .collect()
            };
            let (better, worse, same) =
                (with(&[Verdict::Better]), with(&[Verdict::Worse]), with(&[Verdict::NoDifference]));
            let _ = write!(h, "<h3>{} compared with {}</h3>\n<p>", escape(&label), escape(&c.baseline));
            let list = |names: &[&str]| names.iter().map(|n| escape(n)).collect::<Vec<_>>().join("; ");
            let _ = write!(h, "<strong>Better</strong> on {} metric(s)", better.len());
            if !better.is_empty() {
                let _ = write!(h, ": {}", list(&better));
            }
            let _ = write!(h, ". <strong>Worse</strong> on {}", worse.len());
            if !worse.is_empty() {
                let _ = write!(h, ": {}", list(&worse));
            }
            let _ = writeln!(h, ". No significant difference on {}.</p>", same.len());
            let _ = write!(
                h,
                "<table class=\"verdicts\" data-cell=\"{}\">\n<thead><tr><th>Metric</th><th>Which way is better</th><th>{} vs {}</th></tr></thead>\n<tbody>\n",
                escape(&label),
                escape(&label),
                escape(&c.baseline)
            );
            for r in rows {
                let (Some(d), Some(sentence)) = (&r.difference, verdict_sentence(c, r)) else {
                    continue;
                };
                let _ = writeln!(
                    h,
                    "<tr><td>{} <code>{}</code></td><td>{}</td><td class=\"{}\">{}</td></tr>",
                    escape(r.info.label),
                    escape(&r.metric),
                    better_text(r.info.better),
                    verdict_class(d.verdict),
                    escape(&sentence)
                );
            }
            h.push_str("</tbody>\n</table>\n");
        }
    }
    h.push_str("</section>\n");
}

fn table(h: &mut String, c: &Comparison) {
    let level = format!("{}%", c.level * 100.0);
    h.push_str("<section id=\"comparison\">\n<h2>Comparison table</h2>\n");
    let _ = writeln!(
        h,
        "<p>Mean over replications with its {level} confidence interval (Student t), and the paired difference from <strong>{}</strong> over common seeds (Δ = variant − {}). The same figures are in <code>compare.csv</code>.</p>",
        escape(&c.baseline),
        escape(&c.baseline)
    );
    for (label, cells) in by_grid_point(c) {
        if !label.is_empty() {
            let _ = writeln!(h, "<h3>Grid point {}</h3>", escape(&label));
        }
        let _ = write!(
            h,
            "<table class=\"comparison\">\n<thead><tr><th>Metric</th><th>Unit</th><th>Better</th><th>Variant</th><th>n</th><th>Mean ± {level} CI</th><th>{level} CI</th><th>Δ vs {}</th><th>{level} CI of Δ</th><th>Verdict</th></tr></thead>\n<tbody>\n",
            escape(&c.baseline)
        );
        for metric in metric_order(c) {
            for (k, &cell) in cells.iter().enumerate() {
                let Some(r) = row(c, cell, metric) else {
                    continue;
                };
                let e = r.estimate;
                let (delta, ci, verdict, class) = match &r.difference {
                    Some(d) => (
                        d.estimate.as_ref().map_or("–".into(), signed),
                        d.estimate.as_ref().map_or("–".into(), interval),
                        d.verdict.name(),
                        verdict_class(d.verdict),
                    ),
                    None => ("baseline".to_string(), String::new(), "", ""),
                };
                let _ = writeln!(
                    h,
                    "<tr class=\"row{}\" data-metric=\"{}\" data-variant=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"{class}\">{}</td></tr>",
                    if k == 0 { " group-start" } else { "" },
                    escape(metric),
                    escape(&c.cells[cell].variant),
                    if k == 0 {
                        format!("{} <code>{}</code>", escape(r.info.label), escape(metric))
                    } else {
                        String::new()
                    },
                    if k == 0 { escape(r.info.unit) } else { String::new() },
                    if k == 0 { r.info.better.name() } else { "" },
                    escape(&c.cells[cell].variant),
                    e.map_or(0, |e| e.n),
                    e.as_ref().map_or("–".into(), |e| escape(&mean_pm(e))),
                    e.as_ref().map_or("–".into(), |e| escape(&interval(e))),
                    escape(&delta),
                    escape(&ci),
                    verdict,
                );
            }
        }
        h.push_str("</tbody>\n</table>\n");
    }
    h.push_str("</section>\n");
}

fn scenario(h: &mut String, m: &Manifest) {
    h.push_str("<section id=\"scenario\">\n<h2>Scenario</h2>\n<table class=\"facts\">\n<tbody>\n");
    let seeds = if m.replications == 1 {
        format!("{}", m.seed_start)
    } else {
        format!("{} to {}", m.seed_start, m.seed_start + m.replications - 1)
    };
    let mut variants: Vec<&str> = Vec::new();
    for cell in &m.cells {
        if !variants.contains(&cell.variant.as_str()) {
            variants.push(&cell.variant);
        }
    }
    let facts = [
        ("Scenario", m.scenario.clone()),
        ("Scenario file", m.scenario_file.clone()),
        ("Resolved base scenario hash", m.scenario_hash.clone()),
        ("Variants", variants.join(", ")),
        ("Grid axes", if m.grid_paths.is_empty() { "none".into() } else { m.grid_paths.join(", ") }),
        ("Replications per variant and grid point", m.replications.to_string()),
        ("Seeds", seeds),
        ("slotsim version", m.version.clone()),
    ];
    for (k, v) in facts {
        let _ = writeln!(h, "<tr><th>{}</th><td>{}</td></tr>", escape(k), escape(&v));
    }
    h.push_str("</tbody>\n</table>\n");
    let _ = writeln!(
        h,
        "<details open>\n<summary>Resolved base scenario (every default filled in)</summary>\n<pre>{}</pre>\n</details>",
        escape(&m.resolved_toml)
    );
    let _ = writeln!(
        h,
        "<details>\n<summary>Scenario file as given, with its variants</summary>\n<pre>{}</pre>\n</details>",
        escape(&m.scenario_toml)
    );
    h.push_str("</section>\n");
}

/// Writes `dir/report.html` from the charts in `plots` (read from their PNG files).
///
/// # Errors
///
/// A chart cannot be read or the page cannot be written.
pub fn write_report(
    dir: &Path,
    manifest: &Manifest,
    comparison: &Comparison,
    warnings: &[String],
    plots: &[Plot],
) -> Result<PathBuf> {
    let figures = plots
        .iter()
        .map(|p| {
            let png = std::fs::read(&p.png).with_context(|| format!("cannot read {}", p.png.display()))?;
            Ok(Figure { name: p.name.to_string(), caption: p.caption.clone(), png })
        })
        .collect::<Result<Vec<_>>>()?;
    let html = render(manifest, comparison, warnings, &figures);
    let path = dir.join("report.html");
    write_text(&path, &html)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648() {
        // The test vectors of RFC 4648, section 10.
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
        assert_eq!(base64(&[0xff, 0xfe, 0x00]), "//4A");
    }

    #[test]
    fn escaping() {
        assert_eq!(escape("a<b & \"c\" 'd'>"), "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;");
    }
}
