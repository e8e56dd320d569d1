//! Comparing variants over replications: means with Student-t confidence intervals,
//! paired differences against a baseline over common seeds, verdicts, and how many
//! replications a wanted precision needs.
//!
//! Everything here is a pure function of plain per-replication values keyed by variant,
//! grid point and seed. Reading tables and printing belong to `output` and the CLI.
//!
//! ```
//! use slotsim::stats::compare::{estimate, paired_differences};
//!
//! let e = estimate(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.95).unwrap();
//! assert_eq!(e.mean, 3.0);
//! let (lo, hi) = e.interval().unwrap();
//! assert!(lo < 3.0 && 3.0 < hi);
//!
//! // Differences are taken over the seeds both variants ran.
//! let d = paired_differences(&[(1, 5.0), (2, 7.0), (3, 6.0)], &[(2, 4.0), (3, 4.5), (4, 9.0)]);
//! assert_eq!(d, vec![(2, 3.0), (3, 1.5)]);
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use statrs::distribution::{ContinuousCDF, StudentsT};

pub use super::metrics::{Better, MetricInfo};
use super::summary::{Metric, Summary, quantile};

/// The confidence level used by `slotsim compare`.
pub const LEVEL: f64 = 0.95;

/// A sample's mean with its confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Number of values.
    pub n: usize,
    /// Their mean.
    pub mean: f64,
    /// Sample standard deviation (divisor n − 1); `None` for a single value.
    pub sd: Option<f64>,
    /// Half-width of the two-sided Student-t interval; `None` for a single value.
    pub half_width: Option<f64>,
}

impl Estimate {
    /// The interval `(mean − half-width, mean + half-width)`, if there is one.
    pub fn interval(&self) -> Option<(f64, f64)> {
        self.half_width.map(|h| (self.mean - h, self.mean + h))
    }

    /// Whether the interval excludes 0 (`None` without an interval). A difference whose
    /// every pair is the same non-zero number has a zero-width interval and is significant.
    pub fn excludes_zero(&self) -> Option<bool> {
        self.interval().map(|(lo, hi)| lo > 0.0 || hi < 0.0)
    }
}

/// The mean; `None` if empty.
pub fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

/// The sample standard deviation (divisor n − 1); `None` for fewer than two values.
pub fn sample_sd(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    let m = mean(xs)?;
    let ss: f64 = xs.iter().map(|x| (x - m) * (x - m)).sum();
    Some((ss / (xs.len() - 1) as f64).sqrt())
}

/// The two-sided critical value of Student's t: the `(1 + level) / 2` quantile with `df`
/// degrees of freedom (2.776… for `level` 0.95 and `df` 4). `None` for `df` 0 or a level
/// outside (0, 1).
///
/// ```
/// let t = slotsim::stats::compare::t_critical(0.95, 9).unwrap();
/// assert!((t - 2.2621571627409915).abs() < 1e-9);
/// ```
pub fn t_critical(level: f64, df: usize) -> Option<f64> {
    if df == 0 || !(level > 0.0 && level < 1.0) {
        return None;
    }
    let t = StudentsT::new(0.0, 1.0, df as f64).ok()?;
    Some(t.inverse_cdf(0.5 + level / 2.0))
}

/// Mean, sample standard deviation and the Student-t interval at `level` of `xs`;
/// `None` if `xs` is empty. Non-finite values must be left out by the caller.
pub fn estimate(xs: &[f64], level: f64) -> Option<Estimate> {
    let mean = mean(xs)?;
    let sd = sample_sd(xs);
    let half_width =
        sd.zip(t_critical(level, xs.len().saturating_sub(1))).map(|(sd, t)| t * sd / (xs.len() as f64).sqrt());
    Some(Estimate { n: xs.len(), mean, sd, half_width })
}

/// `treatment − baseline` for every seed present in both, in seed order. Each slice holds
/// `(seed, value)` pairs; a seed appearing twice in one slice keeps its last value.
pub fn paired_differences(treatment: &[(u64, f64)], baseline: &[(u64, f64)]) -> Vec<(u64, f64)> {
    let base: BTreeMap<u64, f64> = baseline.iter().copied().collect();
    let treat: BTreeMap<u64, f64> = treatment.iter().copied().collect();
    treat.into_iter().filter_map(|(seed, x)| base.get(&seed).map(|b| (seed, x - b))).collect()
}

/// Replications needed for an interval of half-width `half_width`, given a pilot sample
/// of `n` values with standard deviation `sd`: ⌈(t · sd / h)²⌉ with t the critical value at
/// `level` for the pilot's n − 1 degrees of freedom, and never fewer than 2. Since t
/// shrinks as n grows, this errs on the safe side. `None` if the pilot has fewer than two
/// values, or the target is not positive while `sd` is.
///
/// ```
/// use slotsim::stats::compare::required_replications;
/// // sd 1.58 from 5 replications; a ±0.5 interval needs 78.
/// assert_eq!(required_replications(1.5811388300841898, 5, 0.5, 0.95), Some(78));
/// ```
pub fn required_replications(sd: f64, n: usize, half_width: f64, level: f64) -> Option<u64> {
    let t = t_critical(level, n.checked_sub(1)?)?;
    if sd == 0.0 {
        return Some(2);
    }
    // Written positively so that a NaN target fails too.
    if !(half_width.is_finite() && half_width > 0.0 && sd.is_finite()) {
        return None;
    }
    let needed = (t * sd / half_width).powi(2).ceil();
    needed.is_finite().then(|| (needed as u64).max(2))
}

/// The 10th, 50th and 90th percentiles of a sample across replications.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    /// 10th percentile.
    pub low: Option<f64>,
    /// Median.
    pub median: Option<f64>,
    /// 90th percentile.
    pub high: Option<f64>,
}

/// The 10–50–90% band of `present` values together with `missing` values that count as
/// larger than any (a day with no free slot is further away than every day that has one).
/// A percentile that falls on or next to a missing value is `None`. Percentiles
/// interpolate as in [`quantile`].
///
/// ```
/// use slotsim::stats::compare::band;
/// let b = band(&[4.0, 1.0, 3.0, 2.0, 5.0], 0);
/// assert_eq!(b.median, Some(3.0));
/// assert_eq!(band(&[1.0, 2.0], 3).median, None);
/// ```
pub fn band(present: &[f64], missing: usize) -> Band {
    let mut xs = present.to_vec();
    xs.sort_by(f64::total_cmp);
    xs.extend(std::iter::repeat_n(f64::INFINITY, missing));
    let q = |p| quantile(&xs, p).filter(|x: &f64| x.is_finite());
    Band { low: q(0.1), median: q(0.5), high: q(0.9) }
}

/// Label, unit and direction of a summary column; an unknown column is neutral and
/// without label (see [`super::metrics`], where every metric is registered).
pub fn metric_info(name: &str) -> MetricInfo {
    super::metrics::info(name)
}

/// The plain-language outcome of a paired comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Significantly better than the baseline.
    Better,
    /// Significantly worse than the baseline.
    Worse,
    /// Significantly higher, for a neutral metric.
    Higher,
    /// Significantly lower, for a neutral metric.
    Lower,
    /// The interval of the difference contains 0.
    NoDifference,
    /// Fewer than two common seeds: no interval.
    Undetermined,
    /// The metric is defined in no common seed (say `bot_advantage` without scripts).
    NoData,
}

impl Verdict {
    /// As written in tables: `better`, `worse`, `higher`, `lower`, `no significant
    /// difference`, `too few replications` or `no data`.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Better => "better",
            Verdict::Worse => "worse",
            Verdict::Higher => "higher",
            Verdict::Lower => "lower",
            Verdict::NoDifference => "no significant difference",
            Verdict::Undetermined => "too few replications",
            Verdict::NoData => "no data",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The verdict on a difference (variant − baseline) for a metric that is `better` one way.
pub fn verdict(better: Better, difference: &Estimate) -> Verdict {
    match difference.excludes_zero() {
        None => Verdict::Undetermined,
        Some(false) => Verdict::NoDifference,
        Some(true) => match (better, difference.mean > 0.0) {
            (Better::Lower, true) | (Better::Higher, false) => Verdict::Worse,
            (Better::Lower, false) | (Better::Higher, true) => Verdict::Better,
            (Better::Neutral, true) => Verdict::Higher,
            (Better::Neutral, false) => Verdict::Lower,
        },
    }
}

/// A wanted half-width: in the metric's units, or relative to the mean's magnitude.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// An absolute half-width.
    Absolute(f64),
    /// A share of |mean| (0.05 for ±5%); for a difference, of |baseline mean|.
    Relative(f64),
}

impl Target {
    /// The half-width for an estimate around `reference` (a mean).
    pub fn half_width(self, reference: f64) -> f64 {
        match self {
            Target::Absolute(h) => h,
            Target::Relative(r) => r * reference.abs(),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Absolute(h) => write!(f, "±{h}"),
            Target::Relative(r) => write!(f, "±{}%", r * 100.0),
        }
    }
}

/// Wanted precision: a default target and targets for named metrics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Precision {
    /// For every metric without its own.
    pub default: Option<Target>,
    /// Per metric; a later entry for the same metric wins.
    pub metrics: Vec<(String, Target)>,
}

/// One `--precision` item: `X` (absolute), `X%` (relative), or `METRIC=X` / `METRIC=X%`.
#[derive(Debug, Clone, PartialEq)]
pub struct PrecisionItem {
    /// The metric it is for, or every metric.
    pub metric: Option<String>,
    /// The target.
    pub target: Target,
}

/// A `--precision` item that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "precision \"{0}\" is not allowed: give a positive half-width such as 0.5 (in the metric's units) or 5% (of the mean), optionally for one metric as lead_days_mean=0.5"
)]
pub struct PrecisionError(String);

impl FromStr for PrecisionItem {
    type Err = PrecisionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || PrecisionError(s.to_string());
        let (metric, value) = match s.split_once('=') {
            Some((m, v)) if !m.trim().is_empty() => (Some(m.trim().to_string()), v.trim()),
            Some(_) => return Err(err()),
            None => (None, s.trim()),
        };
        let (number, relative) = match value.strip_suffix('%') {
            Some(v) => (v.trim(), true),
            None => (value, false),
        };
        let x: f64 = number.parse().map_err(|_| err())?;
        if !(x > 0.0 && x.is_finite()) {
            return Err(err());
        }
        let target = if relative { Target::Relative(x / 100.0) } else { Target::Absolute(x) };
        Ok(Self { metric, target })
    }
}

impl Precision {
    /// Collects items; later ones override earlier ones for the same scope.
    pub fn from_items(items: &[PrecisionItem]) -> Self {
        let mut p = Precision::default();
        for item in items {
            match &item.metric {
                None => p.default = Some(item.target),
                Some(m) => p.metrics.push((m.clone(), item.target)),
            }
        }
        p
    }

    /// The target for `metric`, if any.
    pub fn target(&self, metric: &str) -> Option<Target> {
        self.metrics.iter().rev().find(|(m, _)| m == metric).map(|&(_, t)| t).or(self.default)
    }

    /// Whether no target is set.
    pub fn is_empty(&self) -> bool {
        self.default.is_none() && self.metrics.is_empty()
    }
}

/// Per-replication values of one cell (a variant at a grid point), metric by metric.
#[derive(Debug, Clone, PartialEq)]
pub struct CellSamples {
    /// Variant name.
    pub variant: String,
    /// Grid point as `(path, value)` pairs; empty without a grid.
    pub grid: Vec<(String, String)>,
    /// `(metric, [(seed, value)])` in table order; undefined values are left out.
    pub metrics: Vec<(String, Vec<(u64, f64)>)>,
}

impl CellSamples {
    /// The samples of one cell from its replications' summaries, `(seed, summary)`: every
    /// metric of the registry in table order, undefined values left out (as a summary
    /// table read back gives them).
    pub fn from_summaries<'a>(
        variant: &str,
        grid: Vec<(String, String)>,
        replications: impl IntoIterator<Item = (u64, &'a Summary)>,
    ) -> Self {
        let mut metrics: Vec<(String, Vec<(u64, f64)>)> =
            Summary::metric_names().into_iter().map(|m| (m.to_string(), Vec::new())).collect();
        for (seed, summary) in replications {
            for ((_, metric), (_, samples)) in summary.metrics().into_iter().zip(&mut metrics) {
                let value = match metric {
                    Metric::Count(n) => Some(n as f64),
                    Metric::Real(x) => x.filter(|x| x.is_finite()),
                    Metric::Day(d) => d.map(f64::from),
                };
                samples.extend(value.map(|x| (seed, x)));
            }
        }
        Self { variant: variant.to_string(), grid, metrics }
    }

    /// The grid point as `path=value;…`, or empty.
    pub fn grid_label(&self) -> String {
        grid_label(&self.grid)
    }

    /// The cell as shown to a reader: the variant, with its grid point if there is one.
    pub fn label(&self) -> String {
        if self.grid.is_empty() { self.variant.clone() } else { format!("{} @ {}", self.variant, self.grid_label()) }
    }

    /// A short label for chart axes: the variant, with the grid values (not their paths).
    pub fn short_label(&self) -> String {
        if self.grid.is_empty() {
            self.variant.clone()
        } else {
            format!("{} @ {}", self.variant, self.grid.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>().join(";"))
        }
    }
}

/// A grid point as `path=value;…`.
pub fn grid_label(grid: &[(String, String)]) -> String {
    grid.iter().map(|(p, v)| format!("{p}={v}")).collect::<Vec<_>>().join(";")
}

/// A paired comparison of one metric of one cell against the baseline at its grid point.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// Seeds both ran (with the metric defined in both).
    pub pairs: usize,
    /// The mean baseline value over all its replications.
    pub baseline_mean: Option<f64>,
    /// The paired differences (variant − baseline); `None` without common seeds.
    pub estimate: Option<Estimate>,
    /// What it means.
    pub verdict: Verdict,
    /// The half-width asked for, if any.
    pub target: Option<f64>,
    /// Pairs needed for it, if it can be computed.
    pub needed: Option<u64>,
}

/// One metric of one cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Index of the cell in the input.
    pub cell: usize,
    /// The metric's column name.
    pub metric: String,
    /// Label, unit and direction.
    pub info: MetricInfo,
    /// Mean and interval over replications; `None` if never defined.
    pub estimate: Option<Estimate>,
    /// The half-width asked for, if any.
    pub target: Option<f64>,
    /// Replications needed for it, if it can be computed.
    pub needed: Option<u64>,
    /// Against the baseline; `None` for the baseline itself.
    pub difference: Option<Difference>,
}

/// The comparison of every cell and metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The cells, as given.
    pub cells: Vec<CellSamples>,
    /// The baseline variant.
    pub baseline: String,
    /// Confidence level.
    pub level: f64,
    /// Rows by cell, then metric in table order.
    pub rows: Vec<Row>,
}

/// Why a comparison cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompareError {
    /// The baseline variant is not among the cells.
    #[error("there is no variant \"{baseline}\" to compare against; the variants are: {}", available.join(", "))]
    UnknownBaseline {
        /// The name asked for.
        baseline: String,
        /// The variants present.
        available: Vec<String>,
    },
    /// No cells at all.
    #[error("there are no replications to compare")]
    Empty,
}

fn values(samples: &[(u64, f64)]) -> Vec<f64> {
    samples.iter().map(|&(_, x)| x).collect()
}

/// Compares every cell's metrics with the `baseline` variant's at the same grid point.
///
/// # Errors
///
/// No cells, or no cell of the baseline variant.
pub fn compare(
    cells: Vec<CellSamples>,
    baseline: &str,
    level: f64,
    precision: &Precision,
) -> Result<Comparison, CompareError> {
    if cells.is_empty() {
        return Err(CompareError::Empty);
    }
    if !cells.iter().any(|c| c.variant == baseline) {
        let mut available: Vec<String> = Vec::new();
        for c in &cells {
            if !available.contains(&c.variant) {
                available.push(c.variant.clone());
            }
        }
        return Err(CompareError::UnknownBaseline { baseline: baseline.to_string(), available });
    }
    let mut rows = Vec::new();
    for (i, cell) in cells.iter().enumerate() {
        let base = cells.iter().find(|c| c.variant == baseline && c.grid == cell.grid);
        for (metric, samples) in &cell.metrics {
            let info = metric_info(metric);
            let own = estimate(&values(samples), level);
            let wanted = precision.target(metric);
            let target = wanted.zip(own).map(|(t, e)| t.half_width(e.mean));
            let needed = own.zip(target).and_then(|(e, h)| required_replications(e.sd?, e.n, h, level));
            let difference = base.filter(|_| cell.variant != baseline).map(|base| {
                let base_samples =
                    base.metrics.iter().find(|(m, _)| m == metric).map_or(&[][..], |(_, s)| s.as_slice());
                let baseline_mean = mean(&values(base_samples));
                let diffs = values(&paired_differences(samples, base_samples));
                let d = estimate(&diffs, level);
                let verdict = d.map_or(Verdict::NoData, |d| verdict(info.better, &d));
                let target = wanted.zip(baseline_mean).map(|(t, m)| t.half_width(m));
                let needed = d.zip(target).and_then(|(d, h)| required_replications(d.sd?, d.n, h, level));
                Difference { pairs: diffs.len(), baseline_mean, estimate: d, verdict, target, needed }
            });
            rows.push(Row { cell: i, metric: metric.clone(), info, estimate: own, target, needed, difference });
        }
    }
    Ok(Comparison { cells, baseline: baseline.to_string(), level, rows })
}

/// Something a reader of a comparison should be told.
#[derive(Debug, Clone, PartialEq)]
pub enum Warning {
    /// A cell has fewer than two replications of some metric defined: no interval at all.
    NoInterval {
        /// Cell index.
        cell: usize,
        /// The metric.
        metric: String,
        /// Replications with the metric defined.
        n: usize,
    },
    /// A mean's interval is wider than asked for.
    MeanTooWide {
        /// Cell index.
        cell: usize,
        /// The metric.
        metric: String,
        /// Half-width obtained.
        half_width: f64,
        /// Half-width asked for.
        target: f64,
        /// Replications run.
        have: usize,
        /// Replications needed.
        need: u64,
    },
    /// A paired difference's interval is wider than asked for.
    DifferenceTooWide {
        /// Cell index.
        cell: usize,
        /// The metric.
        metric: String,
        /// Half-width obtained.
        half_width: f64,
        /// Half-width asked for.
        target: f64,
        /// Pairs run.
        have: usize,
        /// Pairs needed.
        need: u64,
    },
}

/// The warnings of a comparison, in row order: metrics without an interval, and (when a
/// precision was asked for) intervals wider than asked, with the replications needed.
/// A metric undefined in every replication (say `bot_advantage` without bots) is not
/// warned about.
pub fn warnings(c: &Comparison) -> Vec<Warning> {
    let mut out = Vec::new();
    for row in &c.rows {
        let Some(e) = row.estimate else { continue };
        if e.half_width.is_none() {
            out.push(Warning::NoInterval { cell: row.cell, metric: row.metric.clone(), n: e.n });
            continue;
        }
        if let (Some(h), Some(target), Some(need)) = (e.half_width, row.target, row.needed)
            && h > target
        {
            out.push(Warning::MeanTooWide {
                cell: row.cell,
                metric: row.metric.clone(),
                half_width: h,
                target,
                have: e.n,
                need,
            });
        }
        if let Some(d) = &row.difference
            && let Some(de) = d.estimate
            && let (Some(h), Some(target), Some(need)) = (de.half_width, d.target, d.needed)
            && h > target
        {
            out.push(Warning::DifferenceTooWide {
                cell: row.cell,
                metric: row.metric.clone(),
                half_width: h,
                target,
                have: de.n,
                need,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 0.975 quantile of Student's t for a few df, computed independently with mpmath
    /// at 40 digits (root of 1 − I_{df/(df+t²)}(df/2, 1/2)/2 = 0.975). scipy's
    /// `t.ppf(0.975, df)` agrees to within 3e-11 (it gives 2.7764451051977987 for df 4 and
    /// 2.2621571627409915 for df 9); the textbook tables' 12.706, 4.303, 2.776, 2.571,
    /// 2.262, 2.045 and 1.984 round these.
    const T975: [(usize, f64); 7] = [
        (1, 12.706204736174694),
        (2, 4.302652729749462),
        (4, 2.7764451051977934),
        (5, 2.5705818356363146),
        (9, 2.262157162798205),
        (29, 2.045229642132704),
        (99, 1.9842169515864172),
    ];

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1.0)
    }

    #[test]
    fn t_critical_values_match_scipy() {
        for (df, want) in T975 {
            let got = t_critical(0.95, df).unwrap();
            assert!(close(got, want, 1e-9), "df {df}: {got} vs {want}");
        }
        // The 0.95 quantile at df 10 (a 90% interval), mpmath as above; tables: 1.812.
        assert!(close(t_critical(0.90, 10).unwrap(), 1.8124611228116758, 1e-9));
        // The scipy figures of the brief, to the same tolerance.
        assert!(close(t_critical(0.95, 4).unwrap(), 2.7764451051977987, 1e-9));
        assert!(close(t_critical(0.95, 9).unwrap(), 2.2621571627409915, 1e-9));
        assert_eq!(t_critical(0.95, 0), None);
        assert_eq!(t_critical(1.0, 5), None);
    }

    #[test]
    fn interval_of_one_to_five() {
        let e = estimate(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.95).unwrap();
        assert_eq!(e.n, 5);
        assert_eq!(e.mean, 3.0);
        assert!(close(e.sd.unwrap(), 1.5811388300841898, 1e-15));
        let want = 2.7764451051977987 * 1.5811388300841898 / 5f64.sqrt();
        assert!(close(want, 1.9632431614775607, 1e-15));
        assert!(close(e.half_width.unwrap(), want, 1e-9));
        let (lo, hi) = e.interval().unwrap();
        assert!(close(lo, 3.0 - want, 1e-9) && close(hi, 3.0 + want, 1e-9));
        assert_eq!(e.excludes_zero(), Some(true));
    }

    #[test]
    fn interval_of_ten_values() {
        // 2, 4, ..., 20: mean 11, sd sqrt(110/3) = 6.0553007081949835, df 9.
        let xs: Vec<f64> = (1..=10).map(|i| 2.0 * f64::from(i)).collect();
        let e = estimate(&xs, 0.95).unwrap();
        assert_eq!(e.mean, 11.0);
        assert!(close(e.sd.unwrap(), 6.0553007081949835, 1e-14));
        let want = 2.2621571627409915 * 6.0553007081949835 / 10f64.sqrt();
        assert!(close(e.half_width.unwrap(), want, 1e-9));
    }

    #[test]
    fn single_and_constant_samples() {
        let one = estimate(&[4.0], 0.95).unwrap();
        assert_eq!((one.mean, one.sd, one.half_width), (4.0, None, None));
        assert_eq!(one.excludes_zero(), None);
        assert_eq!(estimate(&[], 0.95), None);
        let flat = estimate(&[2.0, 2.0, 2.0], 0.95).unwrap();
        assert_eq!(flat.half_width, Some(0.0));
        assert_eq!(flat.excludes_zero(), Some(true));
        assert_eq!(estimate(&[0.0, 0.0], 0.95).unwrap().excludes_zero(), Some(false));
    }

    #[test]
    fn paired_difference_over_common_seeds() {
        // Seed 0 is only in the baseline and seed 6 only in the variant: both are dropped.
        let base = [(0, 50.0), (1, 10.0), (2, 12.0), (3, 11.0), (4, 13.0), (5, 9.0)];
        let variant = [(5, 8.0), (4, 12.0), (3, 9.0), (2, 11.0), (1, 8.0), (6, 1.0)];
        let d = paired_differences(&variant, &base);
        assert_eq!(d, vec![(1, -2.0), (2, -1.0), (3, -2.0), (4, -1.0), (5, -1.0)]);
        let e = estimate(&values(&d), 0.95).unwrap();
        // Hand-worked: mean −1.4, sd sqrt(0.3), half-width t(0.975, 4) · sd / sqrt(5).
        assert!(close(e.mean, -1.4, 1e-15));
        assert!(close(e.sd.unwrap(), 0.5477225575051661, 1e-15));
        assert!(close(e.half_width.unwrap(), 0.6800873806582569, 1e-9));
        assert_eq!(verdict(Better::Lower, &e), Verdict::Better);
        assert_eq!(verdict(Better::Higher, &e), Verdict::Worse);
        assert_eq!(verdict(Better::Neutral, &e), Verdict::Lower);
    }

    #[test]
    fn verdicts() {
        let e = |mean, half_width| Estimate { n: 5, mean, sd: Some(1.0), half_width };
        assert_eq!(verdict(Better::Lower, &e(1.0, Some(0.5))), Verdict::Worse);
        assert_eq!(verdict(Better::Higher, &e(1.0, Some(0.5))), Verdict::Better);
        assert_eq!(verdict(Better::Neutral, &e(1.0, Some(0.5))), Verdict::Higher);
        assert_eq!(verdict(Better::Lower, &e(1.0, Some(1.5))), Verdict::NoDifference);
        assert_eq!(verdict(Better::Lower, &e(1.0, None)), Verdict::Undetermined);
    }

    #[test]
    fn replications_needed() {
        // (2.7764451051977987 · 1.5811388300841898 / 0.5)² = 77.086… → 78.
        assert_eq!(required_replications(1.5811388300841898, 5, 0.5, 0.95), Some(78));
        // (2.2621571627409915 · 6.0553007081949835 / 2)² = 46.909… → 47.
        assert_eq!(required_replications(6.0553007081949835, 10, 2.0, 0.95), Some(47));
        // A tolerance already met needs at least 2.
        assert_eq!(required_replications(0.1, 10, 5.0, 0.95), Some(2));
        assert_eq!(required_replications(0.0, 10, 0.0, 0.95), Some(2));
        assert_eq!(required_replications(1.0, 10, 0.0, 0.95), None);
        assert_eq!(required_replications(1.0, 1, 0.5, 0.95), None);
    }

    #[test]
    fn bands_with_missing_values() {
        let b = band(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0], 0);
        assert_eq!((b.low, b.median, b.high), (Some(2.0), Some(6.0), Some(10.0)));
        // 9 present and 1 missing of 10: the 90th percentile interpolates towards the
        // missing one and is undefined.
        let b = band(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], 1);
        assert_eq!((b.median, b.high), (Some(5.5), None));
        assert_eq!(band(&[], 0), Band { low: None, median: None, high: None });
    }

    #[test]
    fn precision_items_parse() {
        let p: PrecisionItem = "5%".parse().unwrap();
        assert_eq!(p, PrecisionItem { metric: None, target: Target::Relative(0.05) });
        let p: PrecisionItem = "lead_days_mean=0.5".parse().unwrap();
        assert_eq!(p, PrecisionItem { metric: Some("lead_days_mean".into()), target: Target::Absolute(0.5) });
        for bad in ["", "-1", "0", "x", "=3", "a=", "5%%", "inf"] {
            assert!(bad.parse::<PrecisionItem>().is_err(), "{bad}");
        }
        let all = Precision::from_items(&["2%".parse().unwrap(), "utilization=0.01".parse().unwrap()]);
        assert_eq!(all.target("utilization"), Some(Target::Absolute(0.01)));
        assert_eq!(all.target("events"), Some(Target::Relative(0.02)));
        assert!((Target::Relative(0.05).half_width(-20.0) - 1.0).abs() < 1e-12);
    }

    fn cell(variant: &str, metric: &str, values: &[(u64, f64)]) -> CellSamples {
        CellSamples { variant: variant.into(), grid: vec![], metrics: vec![(metric.into(), values.to_vec())] }
    }

    #[test]
    fn comparison_against_baseline() {
        let base = cell("base", "lead_days_mean", &[(1, 10.0), (2, 12.0), (3, 11.0), (4, 13.0), (5, 9.0)]);
        let wl = cell("waitlist", "lead_days_mean", &[(1, 8.0), (2, 11.0), (3, 9.0), (4, 12.0), (5, 8.0)]);
        let precision = Precision::from_items(&["0.1".parse().unwrap()]);
        let c = compare(vec![base, wl], "base", LEVEL, &precision).unwrap();
        assert_eq!(c.rows.len(), 2);
        assert!(c.rows[0].difference.is_none());
        let d = c.rows[1].difference.as_ref().unwrap();
        assert_eq!(d.pairs, 5);
        assert_eq!(d.verdict, Verdict::Better);
        assert_eq!(d.baseline_mean, Some(11.0));
        // (t · sqrt(0.3) / 0.1)² = 231.26… → 232 pairs.
        assert_eq!(d.needed, Some(232));
        let w = warnings(&c);
        assert!(w.iter().any(|w| matches!(w, Warning::DifferenceTooWide { need: 232, have: 5, .. })));
        assert!(w.iter().any(|w| matches!(w, Warning::MeanTooWide { cell: 0, .. })));

        let err = compare(vec![cell("a", "x", &[])], "base", LEVEL, &Precision::default()).unwrap_err();
        assert_eq!(err, CompareError::UnknownBaseline { baseline: "base".into(), available: vec!["a".into()] });
        assert_eq!(compare(vec![], "base", LEVEL, &Precision::default()).unwrap_err(), CompareError::Empty);
    }

    #[test]
    fn baseline_is_matched_per_grid_point() {
        let at = |variant: &str, slots: &str, x: f64| CellSamples {
            variant: variant.into(),
            grid: vec![("slots".into(), slots.into())],
            metrics: vec![("served".into(), vec![(1, x), (2, x + 1.0), (3, x + 2.0)])],
        };
        let cells = vec![
            at("base", "10", 100.0),
            at("base", "20", 200.0),
            at("lottery", "10", 90.0),
            at("lottery", "20", 210.0),
        ];
        let c = compare(cells, "base", LEVEL, &Precision::default()).unwrap();
        let d = |i: usize| c.rows[i].difference.as_ref().unwrap().clone();
        assert_eq!(d(2).estimate.unwrap().mean, -10.0);
        assert_eq!(d(2).verdict, Verdict::Worse);
        assert_eq!(d(3).estimate.unwrap().mean, 10.0);
        assert_eq!(d(3).verdict, Verdict::Better);
        assert_eq!(c.cells[3].label(), "lottery @ slots=20");
    }

    #[test]
    fn one_replication_warns_of_no_interval() {
        let c = compare(vec![cell("base", "served", &[(1, 3.0)])], "base", LEVEL, &Precision::default()).unwrap();
        assert_eq!(warnings(&c), vec![Warning::NoInterval { cell: 0, metric: "served".into(), n: 1 }]);
    }

    #[test]
    fn every_summary_metric_has_a_label() {
        for name in crate::stats::Summary::metric_names() {
            assert!(!metric_info(name).label.is_empty(), "{name} has no label");
        }
    }
}
