//! `report DIR` for a directory written by `optimize` or `select`: a self-contained page
//! that leads with the answer, then the values or candidates examined, the method and the
//! command, all read from `optimize.json` or `select.json`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::Value;

use super::files::write_text;
use super::report::escape;

/// Which answer a directory holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerKind {
    /// `optimize.json`.
    Optimize,
    /// `select.json`.
    Select,
}

/// The answer file in `dir`, if there is one.
pub fn answer_in(dir: &Path) -> Option<(AnswerKind, PathBuf)> {
    [(AnswerKind::Optimize, "optimize.json"), (AnswerKind::Select, "select.json")]
        .into_iter()
        .map(|(k, f)| (k, dir.join(f)))
        .find(|(_, p)| p.exists())
}

fn num(v: &Value) -> String {
    match v.as_f64() {
        Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{x:.0}"),
        Some(x) if x.abs() >= 100.0 => format!("{x:.1}"),
        Some(x) if x.abs() >= 1.0 => format!("{x:.2}"),
        Some(x) => format!("{x:.4}"),
        None => "–".into(),
    }
}

fn interval(v: &Value) -> String {
    format!("{} [{}, {}]", num(&v["mean"]), num(&v["low"]), num(&v["high"]))
}

/// The page for an answer, as a string.
pub fn render(kind: AnswerKind, a: &Value) -> String {
    let mut h = String::new();
    let title = match kind {
        AnswerKind::Optimize => format!("slotsim optimize: {}", a["scenario"].as_str().unwrap_or("")),
        AnswerKind::Select => "slotsim select".to_string(),
    };
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>body {{ font-family: \"DejaVu Sans\", Helvetica, Arial, sans-serif; margin: 0 auto; max-width: 1100px; padding: 1.5em; color: #222; }} table {{ border-collapse: collapse; }} th, td {{ border: 1px solid #ccc; padding: 0.3em 0.55em; }} th {{ background: #f0f4f8; }} td.num {{ text-align: right; font-variant-numeric: tabular-nums; }} tr.answer td {{ background: #dff3e4; font-weight: bold; }} .answer-text {{ font-size: 1.25em; border-left: 5px solid #0072b2; padding: 0.3em 0.8em; }} .meta {{ color: #555; }}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        escape(&title),
        escape(&title)
    );
    h.push_str("<section id=\"answer\">\n<h2>Answer</h2>\n<div class=\"answer-text\">\n");
    for line in a["answer_text"].as_array().into_iter().flatten() {
        let _ = writeln!(h, "<p>{}</p>", escape(line.as_str().unwrap_or("").trim()));
    }
    h.push_str("</div>\n</section>\n");
    match kind {
        AnswerKind::Optimize => optimize_table(&mut h, a),
        AnswerKind::Select => select_table(&mut h, a),
    }
    let warnings = a.get("warnings").or_else(|| a.get("notes"));
    if let Some(w) = warnings.and_then(Value::as_array).filter(|w| !w.is_empty()) {
        h.push_str("<section id=\"warnings\">\n<h2>Warnings and notes</h2>\n<ul>\n");
        for x in w {
            let _ = writeln!(h, "<li>{}</li>", escape(x.as_str().unwrap_or("")));
        }
        h.push_str("</ul>\n</section>\n");
    }
    let _ = write!(
        h,
        "<section id=\"method\">\n<h2>Method</h2>\n<p>{}</p>\n<p class=\"meta\">Seeds {}–{} (common to every value or candidate); scenario hash {}; slotsim {}; command <code>{}</code>.</p>\n</section>\n</body>\n</html>\n",
        escape(a["method"].as_str().unwrap_or("")),
        num(&a["seeds"]["first"]),
        num(&a["seeds"]["last"]),
        escape(a["scenario_hash"].as_str().unwrap_or("")),
        escape(a["version"].as_str().unwrap_or("")),
        escape(&a["command"].as_array().into_iter().flatten().filter_map(Value::as_str).collect::<Vec<_>>().join(" ")),
    );
    h
}

fn optimize_table(h: &mut String, a: &Value) {
    let targets: Vec<&Value> = a["targets"].as_array().into_iter().flatten().collect();
    let _ = write!(
        h,
        "<section id=\"values\">\n<h2>Values examined</h2>\n<p>Each value of <code>{}</code> the search looked at, with the mean of every target metric and its interval at the look that decided it.</p>\n<table>\n<thead><tr><th>Value</th><th>Replications</th><th>Verdict</th>",
        escape(a["path"].as_str().unwrap_or(""))
    );
    for t in &targets {
        let _ = write!(
            h,
            "<th>{} {} {}</th>",
            escape(t["metric"].as_str().unwrap_or("")),
            escape(t["bound"].as_str().unwrap_or("")),
            num(&t["limit"])
        );
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    let mut values: Vec<&Value> = a["values"].as_array().into_iter().flatten().collect();
    values.sort_by_key(|v| v["value"].as_i64());
    for v in values {
        let is_answer = v["value"] == a["answer"];
        let _ = write!(
            h,
            "<tr{}><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td>",
            if is_answer { " class=\"answer\"" } else { "" },
            num(&v["value"]),
            num(&v["replications"]),
            escape(v["verdict"].as_str().unwrap_or(""))
        );
        for t in v["targets"].as_array().into_iter().flatten() {
            let _ = write!(h, "<td class=\"num\">{}</td>", escape(&interval(t)));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table>\n</section>\n");
}

fn select_table(h: &mut String, a: &Value) {
    let _ = write!(
        h,
        "<section id=\"candidates\">\n<h2>Candidates</h2>\n<p>Mean of <code>{}</code> (better {}) with its 95% interval over the replications each candidate used.</p>\n<table>\n<thead><tr><th>Candidate</th><th>Mean [95% interval]</th><th>Replications</th><th>Eliminated after</th><th>Constraints</th></tr></thead>\n<tbody>\n",
        escape(a["metric"].as_str().unwrap_or("")),
        escape(a["better"].as_str().unwrap_or(""))
    );
    for c in a["candidates"].as_array().into_iter().flatten() {
        let chosen = c["name"] == a["selected"];
        let _ = writeln!(
            h,
            "<tr{}><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            if chosen { " class=\"answer\"" } else { "" },
            escape(c["name"].as_str().unwrap_or("")),
            escape(&interval(c)),
            num(&c["replications"]),
            num(&c["eliminated_at"]),
            escape(c["feasible"].as_str().unwrap_or(""))
        );
    }
    h.push_str("</tbody>\n</table>\n</section>\n");
}

/// Writes `dir/report.html` for the answer in `path`.
///
/// # Errors
///
/// The answer file cannot be read or parsed, or the page cannot be written.
pub fn write_answer_report(dir: &Path, kind: AnswerKind, path: &Path) -> Result<PathBuf> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let value: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not slotsim's answer file", path.display()))?;
    let html = render(kind, &value);
    let out = dir.join("report.html");
    write_text(&out, &html)?;
    Ok(out)
}
