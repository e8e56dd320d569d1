//! Charts of a comparison, each written as PNG and SVG into `DIR/plots/`:
//!
//! - `lead_time`: the lead-time distribution per variant, from each replication's
//!   50th, 90th and 99th percentiles (mean over replications, 95% interval);
//! - `waiting`: the backlog of parties looking for an appointment, day by day (median and
//!   10–90% band across replications);
//! - `first_free_day`: how far ahead the earliest free slot is, day by day (same bands);
//! - `capacity`: each variant's capacity plan (passport slots per week) under its backlog,
//!   so that a staffing plan can be read against the wait it leaves;
//! - `headline`: headline metrics per variant with their 95% intervals.
//!
//! Text is drawn with DejaVu Sans, built into the binary (see `assets/README.md`), so the
//! charts look the same on every machine and need no system fonts.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context, Result, anyhow, bail};
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::comparison::{better_text, row, tick};
use super::files::write_text;
use super::results::DailyBands;
use crate::stats::compare::{Band, Comparison, Estimate};

static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
pub(crate) const FAMILY: &str = "sans-serif";

/// Registers the built-in font with plotters, once.
pub(crate) fn register_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok { Ok(()) } else { bail!("the built-in font assets/DejaVuSans.ttf could not be loaded") }
}

/// Okabe and Ito's palette, distinguishable with the common colour-vision deficiencies
/// (yellow left out: it vanishes on white), then five further dark, distinct colours so
/// that up to twelve variants never share one.
const PALETTE: [RGBColor; 12] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
    RGBColor(153, 0, 0),
    RGBColor(117, 112, 179),
    RGBColor(140, 86, 75),
    RGBColor(128, 128, 0),
    RGBColor(127, 127, 127),
];

fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// One chart, written in both formats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plot {
    /// File stem (`lead_time`, ...).
    pub name: &'static str,
    /// What it shows, in a sentence (used as a caption).
    pub caption: String,
    /// The PNG file.
    pub png: PathBuf,
    /// The SVG file.
    pub svg: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    LeadTime,
    Waiting,
    FirstFree,
    Capacity,
    Headline,
}

impl Kind {
    const ALL: [Kind; 5] = [Kind::LeadTime, Kind::Waiting, Kind::FirstFree, Kind::Capacity, Kind::Headline];

    fn name(self) -> &'static str {
        match self {
            Kind::LeadTime => "lead_time",
            Kind::Waiting => "waiting",
            Kind::FirstFree => "first_free_day",
            Kind::Capacity => "capacity",
            Kind::Headline => "headline",
        }
    }

    fn size(self) -> (u32, u32) {
        match self {
            Kind::Headline => (1400, 900),
            Kind::Capacity => (1100, 1000),
            _ => (1100, 640),
        }
    }
}

/// Everything the charts draw from.
struct Inputs<'a> {
    comparison: &'a Comparison,
    daily: &'a [DailyBands],
    start_date: Option<&'a str>,
    replications: usize,
}

impl Inputs<'_> {
    fn labels(&self) -> Vec<String> {
        self.comparison.cells.iter().map(|c| c.short_label()).collect()
    }

    fn estimate(&self, cell: usize, metric: &str) -> Option<Estimate> {
        row(self.comparison, cell, metric).and_then(|r| r.estimate)
    }

    /// The x-axis description of a chart by cell.
    fn cell_axis(&self) -> String {
        match self.comparison.cells.first() {
            Some(c) if !c.grid.is_empty() => {
                format!("variant @ {}", c.grid.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>().join(";"))
            }
            _ => "variant".into(),
        }
    }

    fn day_axis(&self) -> String {
        match self.start_date {
            Some(d) => format!("date (the run starts on {d})"),
            None => "day of the run (days since the start)".into(),
        }
    }
}

/// A run day as a calendar date: `Jul 2021` on the first of a month, else `2021-07-14`.
fn date_label(start: Option<i64>, day: f64) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let Some(start) = start else { return tick(day) };
    let date = crate::scenario::dates::civil_from_days(start + day.round() as i64);
    match (date.get(0..4), date.get(5..7).and_then(|m| m.parse::<usize>().ok()), date.ends_with("-01")) {
        (Some(y), Some(m), true) if (1..=12).contains(&m) => format!("{} {y}", MONTHS[m - 1]),
        _ => date,
    }
}

/// The metrics of the `headline` chart.
const HEADLINE: [&str; 6] =
    ["lead_days_mean", "lead_days_p90", "book_days_mean", "deadline_miss_rate", "utilization", "waiting_at_end"];

/// Draws every chart into `dir` (created if missing) as PNG and SVG.
///
/// # Errors
///
/// The font cannot be loaded, a chart cannot be drawn, or a file cannot be written.
pub fn write_plots(
    dir: &Path,
    comparison: &Comparison,
    daily: &[DailyBands],
    start_date: Option<&str>,
) -> Result<Vec<Plot>> {
    register_font()?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let replications = super::comparison::replications(comparison);
    let inputs = Inputs { comparison, daily, start_date, replications };
    let mut plots = Vec::new();
    for kind in Kind::ALL {
        let (png, svg) = (dir.join(format!("{}.png", kind.name())), dir.join(format!("{}.svg", kind.name())));
        write_png(kind, &inputs, &png)?;
        write_svg(kind, &inputs, &svg)?;
        plots.push(Plot { name: kind.name(), caption: caption(kind, &inputs), png, svg });
    }
    Ok(plots)
}

fn caption(kind: Kind, p: &Inputs) -> String {
    let n = p.replications;
    match kind {
        Kind::LeadTime => format!(
            "Lead time from arrival to the appointment at which a party was served. Bars: the 50th, 90th and 99th percentiles of each replication, averaged over {n} replications; whiskers: 95% confidence intervals of those averages."
        ),
        Kind::Waiting => format!(
            "Parties still looking for an appointment at the end of each day. Line: median over {n} replications; shaded: the middle 80% of replications (10th to 90th percentile)."
        ),
        Kind::FirstFree => format!(
            "How many days ahead the earliest bookable free slot was at the end of each day. Line: median over {n} replications; shaded: 10th to 90th percentile. Where the line stops, half or more of the replications had no free slot at all."
        ),
        Kind::Capacity => format!(
            "Each variant's capacity plan against the backlog it leaves. Top: parties still looking at the end of each day (median over {n} replications, shaded 10th to 90th percentile). Bottom: passport slots offered in the 7 days ending on each day under the variant's plan (periods of extra or reduced staff, closed weeks, extra weekdays)."
        ),
        Kind::Headline => {
            let mut text = format!(
                "Headline metrics per variant: mean over {n} replications (dot) with its 95% confidence interval (whiskers)"
            );
            if p.comparison.cells.iter().all(|c| c.grid.is_empty()) {
                text.push_str(&format!("; the dashed line is the mean of {}", p.comparison.baseline));
            }
            text.push('.');
            text
        }
    }
}

fn write_png(kind: Kind, p: &Inputs, path: &Path) -> Result<()> {
    // Drawn to a temporary file (whose extension tells the encoder the format), then
    // renamed into place, so that a reader never sees half a picture.
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}.png", std::process::id()));
    let result = (|| {
        {
            let root = BitMapBackend::new(&tmp, kind.size()).into_drawing_area();
            draw(kind, &root, p).map_err(|e| anyhow!("drawing {}: {e}", path.display()))?;
        }
        std::fs::rename(&tmp, path).with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn write_svg(kind: Kind, p: &Inputs, path: &Path) -> Result<()> {
    let svg = svg_text(kind, p).with_context(|| format!("drawing {}", path.display()))?;
    write_text(path, &svg)
}

fn svg_text(kind: Kind, p: &Inputs) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, kind.size()).into_drawing_area();
        draw(kind, &root, p).map_err(|e| anyhow!("{e}"))?;
    }
    Ok(svg)
}

/// A chart drawn as SVG text, for a page that shows it inline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SvgChart {
    /// Short name (`lead_time`, ...), as the files of [`write_plots`] are named.
    pub name: &'static str,
    /// What it shows, in a sentence.
    pub caption: String,
    /// The SVG document.
    pub svg: String,
}

/// Every chart of [`write_plots`] as SVG text, in memory: nothing is written.
///
/// # Errors
///
/// The font cannot be loaded, or a chart cannot be drawn.
pub fn svg_charts(comparison: &Comparison, daily: &[DailyBands], start_date: Option<&str>) -> Result<Vec<SvgChart>> {
    register_font()?;
    let replications = super::comparison::replications(comparison);
    let inputs = Inputs { comparison, daily, start_date, replications };
    Kind::ALL
        .into_iter()
        .map(|kind| {
            let svg = svg_text(kind, &inputs).with_context(|| format!("drawing the {} chart", kind.name()))?;
            Ok(SvgChart { name: kind.name(), caption: caption(kind, &inputs), svg })
        })
        .collect()
}

fn draw<DB: DrawingBackend>(kind: Kind, root: &DrawingArea<DB, Shift>, p: &Inputs) -> DrawResult<(), DB> {
    root.fill(&WHITE)?;
    match kind {
        Kind::LeadTime => lead_time(root, p)?,
        Kind::Waiting => over_time(
            root,
            p,
            "Waiting backlog: parties looking for an appointment at the end of each day",
            "parties waiting (end of day)",
            None,
            |d| &d.waiting,
        )?,
        Kind::FirstFree => over_time(
            root,
            p,
            "Earliest free appointment: days ahead of the first bookable free slot",
            "days ahead of the earliest free slot",
            Some("no line: no free slot at all in half or more of the replications"),
            |d| &d.first_free_day,
        )?,
        Kind::Capacity => {
            let (top, bottom) = root.split_vertically(560);
            over_time(
                &top,
                p,
                "Backlog: parties looking for an appointment at the end of each day",
                "parties waiting (end of day)",
                None,
                |d| &d.waiting,
            )?;
            capacity_plan(&bottom, p)?;
        }
        Kind::Headline => headline(root, p)?,
    }
    root.present()
}

/// A chart over the run's days (x labelled with calendar dates where the start is known)
/// from 0 to `top`, with its mesh drawn.
fn day_chart<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    p: &Inputs,
    title: &str,
    y_desc: &str,
    last_day: u32,
    top: f64,
) -> DrawResult<DayChart<'a, DB>, DB> {
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FAMILY, 24))
        .margin(20)
        .x_label_area_size(55)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..f64::from(last_day), 0.0..top)?;
    let start = p.start_date.and_then(crate::scenario::dates::parse_date);
    chart
        .configure_mesh()
        .x_desc(p.day_axis())
        .y_desc(y_desc)
        .x_labels(8)
        .x_label_formatter(&|x| date_label(start, *x))
        .y_label_formatter(&|y| tick(*y))
        .label_style((FAMILY, 15))
        .axis_desc_style((FAMILY, 17))
        .draw()?;
    Ok(chart)
}

type DayChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The key of a chart over days, in its upper right corner.
fn day_key<'a, DB: DrawingBackend + 'a>(chart: &mut DayChart<'a, DB>) -> DrawResult<(), DB> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.5))
        .label_font((FAMILY, 15))
        .draw()?;
    Ok(())
}

/// Slots offered in the 7 days ending on each day, per variant: a staffing plan as a line
/// (weekly sums, so that weekends and holidays do not turn it into a comb).
fn capacity_plan<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, p: &Inputs) -> DrawResult<(), DB> {
    let labels = p.labels();
    let weekly: Vec<Vec<(f64, f64)>> = p
        .daily
        .iter()
        .map(|d| {
            // From the seventh day on: a sum over fewer days would read as a cut.
            (6..d.capacity.len())
                .filter_map(|k| {
                    let week = &d.capacity[k - 6..=k];
                    let sum: Option<f64> = week.iter().copied().sum();
                    Some((f64::from(d.days[k]), sum?))
                })
                .collect()
        })
        .collect();
    let last_day = p.daily.iter().filter_map(|d| d.days.last()).copied().max().unwrap_or(1).max(1);
    let top = weekly.iter().flatten().map(|&(_, y)| y).fold(0.0, f64::max);
    let top = if top > 0.0 { top * 1.3 } else { 1.0 };
    let mut chart = day_chart(
        root,
        p,
        "Capacity plan: passport slots offered in the last 7 days",
        "slots per 7 days",
        last_day,
        top,
    )?;
    if weekly.iter().all(Vec::is_empty) {
        chart.draw_series(std::iter::once(Text::new(
            "this sweep's daily table has no capacity column (written by an older slotsim)",
            (f64::from(last_day) * 0.05, top * 0.5),
            (FAMILY, 17),
        )))?;
        return Ok(());
    }
    for (i, line) in weekly.into_iter().enumerate() {
        let c = color(i);
        let label = labels.get(i).cloned().unwrap_or_default();
        chart
            .draw_series(std::iter::once(PathElement::new(line, c.stroke_width(3))))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(3)));
    }
    day_key(&mut chart)
}

/// A categorical axis: cells at 0, 1, ..., n − 1, each with a tick (labelled by name
/// through [`category_label`]), and room for bars on either side of a tick.
struct Categories {
    n: usize,
    inner: plotters::coord::types::RangedCoordf64,
}

fn categories(n: usize) -> Categories {
    Categories { n, inner: (-0.5..n as f64 - 0.5).into() }
}

impl Ranged for Categories {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: plotters::coord::ranged1d::KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() { Vec::new() } else { (0..self.n).map(|i| i as f64).collect() }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

/// Variant labels shortened with an ellipsis where they would run into their neighbours
/// on an x axis `width` pixels wide at font `size` (DejaVu Sans: about 0.6 em a character).
fn fitted_labels(labels: &[String], width: u32, size: u32) -> Vec<String> {
    let slot = f64::from(width) / labels.len().max(1) as f64;
    let fits = ((0.95 * slot) / (0.6 * f64::from(size))).floor().max(4.0) as usize;
    labels
        .iter()
        .map(|l| if l.chars().count() <= fits { l.clone() } else { l.chars().take(fits - 1).chain(['…']).collect() })
        .collect()
}

fn category_label(labels: &[String], x: f64) -> String {
    let i = x.round();
    if (x - i).abs() < 1e-6 && i >= 0.0 { labels.get(i as usize).cloned().unwrap_or_default() } else { String::new() }
}

fn lead_time<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, p: &Inputs) -> DrawResult<(), DB> {
    const BLUES: [RGBColor; 3] = [RGBColor(158, 202, 225), RGBColor(66, 146, 198), RGBColor(8, 69, 148)];
    let series = [
        ("lead_days_p50", "50th percentile: half of the served parties waited at most this long"),
        ("lead_days_p90", "90th percentile: 9 in 10 waited at most this long"),
        ("lead_days_p99", "99th percentile: 99 in 100 waited at most this long"),
    ];
    let labels = p.labels();
    let n = labels.len();
    let values: Vec<Vec<Option<Estimate>>> =
        (0..n).map(|c| series.iter().map(|(m, _)| p.estimate(c, m)).collect()).collect();
    let top = values.iter().flatten().flatten().map(|e| e.interval().map_or(e.mean, |i| i.1)).fold(0.0, f64::max);
    // Room above the bars for the legend.
    let top = if top > 0.0 { top * 1.45 } else { 1.0 };
    let labels = fitted_labels(&labels, root.dim_in_pixel().0.saturating_sub(120), 15);
    let mut chart = ChartBuilder::on(root)
        .caption("Lead time from arrival to appointment, by variant", (FAMILY, 26))
        .margin(20)
        .x_label_area_size(55)
        .y_label_area_size(80)
        .build_cartesian_2d(categories(n), 0.0..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_desc(p.cell_axis())
        .y_desc("lead time (days from arrival to appointment)")
        .x_label_formatter(&|x| category_label(&labels, *x))
        .y_label_formatter(&|y| tick(*y))
        .label_style((FAMILY, 15))
        .axis_desc_style((FAMILY, 17))
        .draw()?;
    let width = 0.8 / series.len() as f64;
    for (k, (_, legend)) in series.iter().enumerate() {
        let fill = BLUES[k];
        let offset = (k as f64 - (series.len() as f64 - 1.0) / 2.0) * width;
        chart
            .draw_series(values.iter().enumerate().filter_map(|(i, v)| {
                let x = i as f64 + offset;
                v[k].map(|e| Rectangle::new([(x - width * 0.45, 0.0), (x + width * 0.45, e.mean)], fill.filled()))
            }))?
            .label(*legend)
            .legend(move |(x, y)| Rectangle::new([(x, y - 7), (x + 16, y + 7)], fill.filled()));
        chart.draw_series(
            values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| {
                    let e = v[k]?;
                    let (lo, hi) = e.interval()?;
                    Some(whisker(i as f64 + offset, lo.max(0.0), hi, width * 0.15, BLACK.stroke_width(2)))
                })
                .flatten(),
        )?;
    }
    chart
        .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
        .label(format!("whiskers: 95% confidence interval over {} replications", p.replications))
        .legend(|(x, y)| PathElement::new(vec![(x + 8, y - 8), (x + 8, y + 8)], BLACK.stroke_width(2)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.5))
        .label_font((FAMILY, 15))
        .draw()?;
    Ok(())
}

/// A confidence interval drawn as a vertical line with caps, `half` wide on either side.
fn whisker(x: f64, lo: f64, hi: f64, half: f64, style: ShapeStyle) -> Vec<PathElement<(f64, f64)>> {
    vec![
        PathElement::new(vec![(x, lo), (x, hi)], style),
        PathElement::new(vec![(x - half, lo), (x + half, lo)], style),
        PathElement::new(vec![(x - half, hi), (x + half, hi)], style),
    ]
}

/// Runs of consecutive indexes where `f` gives a value.
fn runs<T>(n: usize, f: impl Fn(usize) -> Option<T>) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = Vec::new();
    let mut current = Vec::new();
    for i in 0..n {
        match f(i) {
            Some(v) => current.push(v),
            None if !current.is_empty() => out.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn over_time<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    p: &Inputs,
    title: &str,
    y_desc: &str,
    note: Option<&str>,
    pick: impl Fn(&DailyBands) -> &Vec<Band>,
) -> DrawResult<(), DB> {
    let labels = p.labels();
    let last_day = p.daily.iter().filter_map(|d| d.days.last()).copied().max().unwrap_or(1).max(1);
    let top = p.daily.iter().flat_map(|d| pick(d).iter().filter_map(|b| b.high.or(b.median))).fold(0.0, f64::max);
    // Room above the lines for the legend.
    let top = if top > 0.0 { top * 1.3 } else { 1.0 };
    let mut chart = day_chart(root, p, title, y_desc, last_day, top)?;
    for (i, d) in p.daily.iter().enumerate() {
        let c = color(i);
        let bands = pick(d);
        let at = |k: usize| f64::from(d.days[k]);
        for run in runs(bands.len(), |k| Some((at(k), bands[k].low?, bands[k].high?))) {
            let mut outline: Vec<(f64, f64)> = run.iter().map(|&(x, _, hi)| (x, hi)).collect();
            outline.extend(run.iter().rev().map(|&(x, lo, _)| (x, lo)));
            chart.draw_series(std::iter::once(Polygon::new(outline, c.mix(0.18).filled())))?;
        }
        let lines = runs(bands.len(), |k| Some((at(k), bands[k].median?)));
        let label = labels.get(i).cloned().unwrap_or_default();
        chart
            .draw_series(lines.into_iter().map(|run| PathElement::new(run, c.stroke_width(3))))?
            .label(format!("{label}: median"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(3)));
    }
    chart
        .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
        .label(format!("shaded: 10th to 90th percentile of {} replications", p.replications))
        .legend(|(x, y)| Rectangle::new([(x, y - 7), (x + 20, y + 7)], BLACK.mix(0.18).filled()));
    if let Some(note) = note {
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
            .label(note)
            .legend(|(x, y)| EmptyElement::at((x, y)));
    }
    day_key(&mut chart)
}

fn headline<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, p: &Inputs) -> DrawResult<(), DB> {
    let title =
        format!("Headline metrics per variant: mean and 95% confidence interval over {} replications", p.replications);
    let area = root.titled(&title, (FAMILY, 26))?;
    let labels = p.labels();
    let n = labels.len();
    // A key under the panels: each variant's colour and full name (axis labels may be cut).
    let height = area.dim_in_pixel().1;
    let (area, key) = area.split_vertically(height.saturating_sub(36));
    let mut x = 20;
    for (i, label) in labels.iter().enumerate() {
        key.draw(&Circle::new((x, 16), 6, color(i).filled()))?;
        key.draw(&Text::new(label.clone(), (x + 12, 8), (FAMILY, 15)))?;
        x += 12 + (label.chars().count() as f64 * 0.6 * 15.0) as i32 + 28;
    }
    let baseline = p.comparison.cells.iter().position(|c| c.variant == p.comparison.baseline);
    let gridded = p.comparison.cells.iter().any(|c| !c.grid.is_empty());
    for (panel, metric) in area.split_evenly((2, 3)).iter().zip(HEADLINE) {
        let info = crate::stats::compare::metric_info(metric);
        let values: Vec<Option<Estimate>> = (0..n).map(|c| p.estimate(c, metric)).collect();
        let ends: Vec<f64> =
            values.iter().flatten().flat_map(|e| e.interval().map_or([e.mean, e.mean], |(lo, hi)| [lo, hi])).collect();
        let caption = format!("{} ({}), {}", info.label, info.unit, better_text(info.better));
        let (lo, hi) = match (ends.iter().copied().reduce(f64::min), ends.iter().copied().reduce(f64::max)) {
            (Some(lo), Some(hi)) => (lo, hi),
            _ => {
                panel.draw(&Text::new(format!("{caption}: no data"), (20, 40), (FAMILY, 16)))?;
                continue;
            }
        };
        let pad = if hi > lo {
            (hi - lo) * 0.15
        } else if hi != 0.0 {
            hi.abs() * 0.1
        } else {
            1.0
        };
        // Metrics that cannot be negative keep a floor at zero.
        let floor = if lo >= 0.0 { (lo - pad).max(0.0) } else { lo - pad };
        let labels = fitted_labels(&labels, panel.dim_in_pixel().0.saturating_sub(94), 13);
        let mut chart = ChartBuilder::on(panel)
            .caption(&caption, (FAMILY, 16))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(categories(n), floor..(hi + pad))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_label_formatter(&|x| category_label(&labels, *x))
            .y_label_formatter(&|y| tick(*y))
            .y_desc(info.unit)
            .label_style((FAMILY, 13))
            .axis_desc_style((FAMILY, 14))
            .draw()?;
        // One reference line only makes sense without a grid: each grid point has its own.
        if let Some(base) = baseline.filter(|_| !gridded).and_then(|b| values[b]) {
            chart.draw_series(DashedLineSeries::new(
                vec![(-0.5, base.mean), (n as f64 - 0.5, base.mean)],
                6,
                4,
                BLACK.mix(0.45).stroke_width(1),
            ))?;
        }
        for (i, e) in values.iter().enumerate() {
            let Some(e) = e else { continue };
            let c = color(i);
            if let Some((lo, hi)) = e.interval() {
                chart.draw_series(whisker(i as f64, lo, hi, 0.06, c.stroke_width(2)))?;
            }
            chart.draw_series(std::iter::once(Circle::new((i as f64, e.mean), 6, c.filled())))?;
        }
    }
    Ok(())
}
