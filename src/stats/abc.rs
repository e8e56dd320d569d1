//! Approximate Bayesian computation on a reference table, for `calibrate`.
//!
//! The method, in the order it runs (every step is plain arithmetic on the table; the
//! simulations that fill the table are the runner's):
//!
//! 1. **Prior.** Each fitted field has a uniform or log-uniform prior over its range. An
//!    integer field is a continuous value over `[LO - ½, HI + ½]` rounded to the nearest
//!    integer when it is set, so that its prior gives every integer the same chance.
//!    Fitting works on `t = logit(u)`, `u` the value's position in its prior (0 to 1):
//!    whatever the regression does, a value mapped back stays inside the range.
//! 2. **Summaries** (semi-automatic, Fearnhead and Prangle 2012). The observations become
//!    a few dozen features (the caller's: block means of each observed column); features
//!    are scaled by their spread over the table, and a ridge regression of each `t` on them
//!    over the whole table gives one summary per parameter: its predicted value.
//! 3. **Rejection.** The table's members nearest the observations in those summaries
//!    (scaled by their spread), a share [`Settings::accept`] of the table, are kept, with
//!    Epanechnikov weights by distance.
//! 4. **Regression adjustment** (Beaumont, Zhang and Balding 2002). A weighted linear
//!    regression of `t` on the summaries over the kept members moves each of them to what
//!    it would have been had its summaries been the observed ones.
//! 5. **Recalibration against overconfidence** (after Rodrigues, Prangle and Sisson 2018).
//!    Members of the table are fitted as if they were the observations (leave one out):
//!    each is a truth drawn from the prior with its own simulated series, so how often the
//!    50% and 90% intervals hold them measures the intervals' coverage. The intervals are
//!    widened about the median by the factor that makes them hold the truth with
//!    two binomial standard errors to spare (a check that was lucky must not leave them too
//!    narrow); they are never narrowed. The same factor for the 90% interval spreads the
//!    posterior's draws.
//!
//! The fit also says how far the observations are from everything the prior produced:
//! their distance to the members kept, against the same distance for the members fitted
//! as observations (see [`Posterior::remoteness`]).

use std::fmt;

/// A fitted field's prior.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prior {
    /// Lowest value.
    pub lo: f64,
    /// Highest value.
    pub hi: f64,
    /// Log-uniform rather than uniform.
    pub log: bool,
    /// The field takes whole numbers.
    pub integer: bool,
}

/// A prior that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PriorError(pub String);

impl Prior {
    /// A prior over `[lo, hi]`.
    ///
    /// # Errors
    ///
    /// An empty or reversed range, a bound that is not finite, a log-uniform range that
    /// does not lie above 0.
    pub fn new(lo: f64, hi: f64, log: bool, integer: bool) -> Result<Self, PriorError> {
        if !lo.is_finite() || !hi.is_finite() {
            return Err(PriorError(format!("the range {lo}..{hi} is not finite")));
        }
        if lo >= hi {
            return Err(PriorError(format!("the range {lo}..{hi} is empty: LO must be below HI")));
        }
        if integer && (lo.fract() != 0.0 || hi.fract() != 0.0) {
            return Err(PriorError(format!("the field takes whole numbers: {lo}..{hi} needs whole bounds")));
        }
        if log && lo <= 0.0 {
            return Err(PriorError(format!("a log-uniform range must lie above 0, not {lo}..{hi}")));
        }
        Ok(Self { lo, hi, log, integer })
    }

    /// The continuous range the latent value spans.
    fn span(&self) -> (f64, f64) {
        if self.integer { (self.lo - 0.5, self.hi + 0.5) } else { (self.lo, self.hi) }
    }

    /// The latent value at position `u` (0 to 1) of the prior.
    pub fn from_unit(&self, u: f64) -> f64 {
        let (a, b) = self.span();
        if self.log { (a.ln() + u * (b.ln() - a.ln())).exp() } else { a + u * (b - a) }
    }

    /// The position (0 to 1) of latent value `x` in the prior.
    pub fn to_unit(&self, x: f64) -> f64 {
        let (a, b) = self.span();
        if self.log { (x.ln() - a.ln()) / (b.ln() - a.ln()) } else { (x - a) / (b - a) }
    }

    /// The value a latent value sets in the scenario (rounded for an integer field, and
    /// kept inside the range).
    pub fn value(&self, x: f64) -> f64 {
        let v = if self.integer { x.round() } else { x };
        v.clamp(self.lo, self.hi)
    }

    fn to_t(self, x: f64) -> f64 {
        logit(self.to_unit(x))
    }

    fn at_t(self, t: f64) -> f64 {
        self.from_unit(logistic(t))
    }
}

/// Positions this close to 0 or 1 are clamped before the logit (a draw exactly at a bound).
const EDGE: f64 = 1e-9;

fn logit(u: f64) -> f64 {
    let u = u.clamp(EDGE, 1.0 - EDGE);
    (u / (1.0 - u)).ln()
}

fn logistic(t: f64) -> f64 {
    1.0 / (1.0 + (-t).exp())
}

/// How the fit is tuned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// The share of the table kept by rejection.
    pub accept: f64,
    /// How many members are fitted as observations to measure and correct coverage.
    pub coverage_checks: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self { accept: 0.1, coverage_checks: 1000 }
    }
}

/// A fit that cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AbcError {
    /// Too few simulations for the number of parameters and features.
    #[error("{simulations} simulations are too few to fit {parameters} parameter(s): at least {needed} are needed")]
    TooFewSimulations {
        /// Simulations in the table.
        simulations: usize,
        /// Parameters fitted.
        parameters: usize,
        /// The least that works.
        needed: usize,
    },
    /// The table's shape does not match.
    #[error("the reference table is malformed: {0}")]
    Shape(String),
}

/// The simulations a fit draws on: per member, its latent parameter values and its
/// features.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReferenceTable {
    /// Latent parameter values, one row per member.
    pub parameters: Vec<Vec<f64>>,
    /// Features, one row per member, in the order of the observed features.
    pub features: Vec<Vec<f64>>,
}

impl ReferenceTable {
    /// Members.
    pub fn len(&self) -> usize {
        self.parameters.len()
    }

    /// Whether it has no member.
    pub fn is_empty(&self) -> bool {
        self.parameters.is_empty()
    }
}

/// What one parameter's coverage check found, for one interval level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coverage {
    /// The interval's nominal probability (0.5, 0.9).
    pub level: f64,
    /// Share of the members fitted as observations whose truth the unwidened interval held.
    pub raw: f64,
    /// The widening applied about the median (1 = none).
    pub widening: f64,
    /// Share the widened interval held (on the same members; the out-of-sample figure is
    /// the simulation-based calibration run's).
    pub widened: f64,
}

/// A fitted model: the table, its summaries and the coverage correction, ready to fit
/// any observations of the same shape.
#[derive(Debug, Clone)]
pub struct Fitter {
    priors: Vec<Prior>,
    table: ReferenceTable,
    settings: Settings,
    /// The table's parameters as `t` (logit of the prior position).
    t: Vec<Vec<f64>>,
    /// Feature centres and scales.
    centre: Vec<f64>,
    scale: Vec<f64>,
    /// Ridge coefficients per parameter: intercept, then one per feature.
    projection: Vec<Vec<f64>>,
    /// The members' summaries, each scaled by its spread over the table.
    summaries: Vec<Vec<f64>>,
    summary_scale: Vec<f64>,
    /// Per parameter, the coverage at 50% and 90%.
    coverage: Vec<[Coverage; 2]>,
    /// Kernel-radius distances of the members fitted as observations, sorted.
    check_distances: Vec<f64>,
}

/// A posterior: weighted draws and per-parameter intervals.
#[derive(Debug, Clone, PartialEq)]
pub struct Posterior {
    /// Draws of the fitted fields' values (rounded for integer fields), one row per draw.
    pub draws: Vec<Vec<f64>>,
    /// Their weights, summing to 1.
    pub weights: Vec<f64>,
    /// Per parameter, the posterior median.
    pub estimate: Vec<f64>,
    /// Per parameter, the 50% credible interval.
    pub interval50: Vec<(f64, f64)>,
    /// Per parameter, the 90% credible interval.
    pub interval90: Vec<(f64, f64)>,
    /// Where the observations' distance to the kept members falls among the same distance
    /// for members fitted as observations (0 to 1; above 0.99 the prior produces nothing
    /// like the observations).
    pub remoteness: f64,
}

/// Interval levels checked and corrected.
pub const LEVELS: [f64; 2] = [0.5, 0.9];

impl Fitter {
    /// Prepares a fit: the summaries, and the coverage check and correction on
    /// `settings.coverage_checks` members spread evenly over the table.
    ///
    /// # Errors
    ///
    /// A table too small for the parameters and features, or of the wrong shape.
    pub fn new(priors: Vec<Prior>, table: ReferenceTable, settings: Settings) -> Result<Self, AbcError> {
        let p = priors.len();
        let n = table.len();
        let f = table.features.first().map_or(0, Vec::len);
        if table.features.len() != n || table.parameters.iter().any(|r| r.len() != p) {
            return Err(AbcError::Shape(format!("{n} parameter rows of {p} values expected")));
        }
        if table.features.iter().any(|r| r.len() != f) {
            return Err(AbcError::Shape(format!("every member needs {f} features")));
        }
        let needed = (20 * (p + 1)).max(100).max(2 * f);
        if n < needed {
            return Err(AbcError::TooFewSimulations { simulations: n, parameters: p, needed });
        }
        let t: Vec<Vec<f64>> =
            table.parameters.iter().map(|row| row.iter().zip(&priors).map(|(&x, pr)| pr.to_t(x)).collect()).collect();
        let (centre, scale) = column_spread(&table.features);
        let scaled: Vec<Vec<f64>> = table.features.iter().map(|r| standardize(r, &centre, &scale)).collect();
        // The summaries are fitted on the members the coverage check does not fit as
        // observations (where enough remain), so that the check measures them out of sample.
        let checked = check_members(n, settings.coverage_checks);
        let fitted: Vec<usize> = (0..n).filter(|i| checked.binary_search(i).is_err()).collect();
        let projection = if fitted.len() >= needed {
            let xs: Vec<Vec<f64>> = fitted.iter().map(|&i| scaled[i].clone()).collect();
            let ys: Vec<Vec<f64>> = fitted.iter().map(|&i| t[i].clone()).collect();
            ridge(&xs, &ys, 1e-3 * fitted.len() as f64)
        } else {
            ridge(&scaled, &t, 1e-3 * n as f64)
        };
        let raw: Vec<Vec<f64>> = scaled.iter().map(|z| project(&projection, z)).collect();
        let (_, summary_scale) = column_spread(&raw);
        let summaries = raw.iter().map(|s| s.iter().zip(&summary_scale).map(|(v, sc)| v / sc).collect()).collect();
        let mut fitter = Self {
            priors,
            table,
            settings,
            t,
            centre,
            scale,
            projection,
            summaries,
            summary_scale,
            coverage: Vec::new(),
            check_distances: Vec::new(),
        };
        fitter.check_coverage();
        Ok(fitter)
    }

    /// The priors.
    pub fn priors(&self) -> &[Prior] {
        &self.priors
    }

    /// Per parameter, the coverage check at 50% and 90%.
    pub fn coverage(&self) -> &[[Coverage; 2]] {
        &self.coverage
    }

    /// The table.
    pub fn table(&self) -> &ReferenceTable {
        &self.table
    }

    fn summary_of(&self, features: &[f64]) -> Vec<f64> {
        let z = standardize(features, &self.centre, &self.scale);
        project(&self.projection, &z).iter().zip(&self.summary_scale).map(|(v, sc)| v / sc).collect()
    }

    /// Rejection and regression adjustment: the kept members, their weights and adjusted
    /// `t`, and the kernel radius.
    fn adjusted(&self, target: &[f64], leave_out: Option<usize>) -> (Vec<usize>, Vec<f64>, Vec<Vec<f64>>, f64) {
        let n = self.table.len();
        let mut by_distance: Vec<(f64, usize)> =
            (0..n).filter(|&i| Some(i) != leave_out).map(|i| (distance(&self.summaries[i], target), i)).collect();
        let keep = ((self.settings.accept * n as f64).ceil() as usize).clamp(10 * (self.priors.len() + 1), n - 1);
        by_distance.select_nth_unstable_by(keep, |a, b| a.0.total_cmp(&b.0));
        let radius = by_distance[keep].0.max(f64::MIN_POSITIVE);
        let kept: Vec<(f64, usize)> = by_distance[..keep].to_vec();
        let members: Vec<usize> = kept.iter().map(|&(_, i)| i).collect();
        let weights: Vec<f64> = kept.iter().map(|&(d, _)| 1.0 - (d / radius).powi(2)).collect();
        let offsets: Vec<Vec<f64>> =
            members.iter().map(|&i| self.summaries[i].iter().zip(target).map(|(s, o)| s - o).collect()).collect();
        let ys: Vec<Vec<f64>> = members.iter().map(|&i| self.t[i].clone()).collect();
        let beta = weighted_ridge(&offsets, &ys, &weights, 1e-6);
        let adjusted = offsets
            .iter()
            .zip(&ys)
            .map(|(x, y)| {
                y.iter()
                    .enumerate()
                    .map(|(j, &yj)| yj - x.iter().zip(&beta[j][1..]).map(|(a, b)| a * b).sum::<f64>())
                    .collect()
            })
            .collect();
        (members, weights, adjusted, radius)
    }

    fn check_coverage(&mut self) {
        let p = self.priors.len();
        let members = check_members(self.table.len(), self.settings.coverage_checks);
        // Per parameter and level: how far out each truth lies, in units of the interval's
        // half-width on its side (1 = on the bound).
        let mut reach: Vec<[Vec<f64>; 2]> = vec![[Vec::new(), Vec::new()]; p];
        let mut radii = Vec::with_capacity(members.len());
        for &m in &members {
            let target = self.summaries[m].clone();
            let (_, weights, adjusted, radius) = self.adjusted(&target, Some(m));
            radii.push(radius);
            for j in 0..p {
                let mut pairs: Vec<(f64, f64)> = adjusted.iter().map(|a| a[j]).zip(weights.iter().copied()).collect();
                pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
                let median = weighted_quantile(&pairs, 0.5);
                let truth = self.t[m][j];
                for (l, &level) in LEVELS.iter().enumerate() {
                    let bound = weighted_quantile(
                        &pairs,
                        if truth < median { (1.0 - level) / 2.0 } else { (1.0 + level) / 2.0 },
                    );
                    let half = (bound - median).abs().max(1e-12);
                    reach[j][l].push((truth - median).abs() / half);
                }
            }
        }
        radii.sort_by(f64::total_cmp);
        self.check_distances = radii;
        self.coverage = reach.into_iter().map(|levels| std::array::from_fn(|l| check(&levels[l], LEVELS[l]))).collect();
    }

    /// The posterior given observed features (in the table's feature order).
    ///
    /// # Panics
    ///
    /// If `observed` does not have the table's number of features.
    pub fn posterior(&self, observed: &[f64]) -> Posterior {
        assert_eq!(observed.len(), self.scale.len(), "one observed value per feature");
        let target = self.summary_of(observed);
        let (_, weights, adjusted, radius) = self.adjusted(&target, None);
        let total: f64 = weights.iter().sum();
        let weights: Vec<f64> = weights.iter().map(|w| w / total).collect();
        let p = self.priors.len();
        let mut draws = vec![vec![0.0; p]; adjusted.len()];
        let (mut estimate, mut interval50, mut interval90) = (Vec::new(), Vec::new(), Vec::new());
        for j in 0..p {
            let prior = self.priors[j];
            let mut pairs: Vec<(f64, f64)> = adjusted.iter().map(|a| a[j]).zip(weights.iter().copied()).collect();
            pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
            let median = weighted_quantile(&pairs, 0.5);
            let widen = |l: usize| {
                let level = LEVELS[l];
                let c = self.coverage[j][l].widening;
                let lo = weighted_quantile(&pairs, (1.0 - level) / 2.0);
                let hi = weighted_quantile(&pairs, (1.0 + level) / 2.0);
                let at = |t: f64| prior.value(prior.at_t(median + c * (t - median)));
                (at(lo), at(hi))
            };
            estimate.push(prior.value(prior.at_t(median)));
            interval50.push(widen(0));
            interval90.push(widen(1));
            let c = self.coverage[j][1].widening;
            for (row, a) in draws.iter_mut().zip(&adjusted) {
                row[j] = prior.value(prior.at_t(median + c * (a[j] - median)));
            }
        }
        let below = self.check_distances.partition_point(|&d| d < radius);
        let remoteness = below as f64 / self.check_distances.len().max(1) as f64;
        Posterior { draws, weights, estimate, interval50, interval90, remoteness }
    }
}

/// Binomial standard errors of the coverage check that the widening keeps to spare: two,
/// because one left the 90% interval of a fit to monthly published bounds holding 88.4%
/// (95% CI 86.5–90.1) of 1200 truths drawn from the prior (BENCHMARKS.md).
const MARGIN: f64 = 2.0;

/// The members of a table of `n` that the coverage check fits as observations: `checks`
/// (at most half the table) spread evenly, in increasing order.
fn check_members(n: usize, checks: usize) -> Vec<usize> {
    let k = checks.min(n / 2);
    (0..k).map(|i| i * n / k.max(1)).collect()
}

/// The coverage check of one level from how far out each truth lay (in units of the
/// interval's half-width on its side: at most 1 is held), and the widening that makes the
/// interval hold a share `level` with two binomial standard errors to spare.
fn check(reach: &[f64], level: f64) -> Coverage {
    let mut r = reach.to_vec();
    r.sort_by(f64::total_cmp);
    let k = r.len() as f64;
    let held = |limit: f64| r.iter().filter(|&&x| x <= limit).count() as f64 / k.max(1.0);
    let raw = held(1.0);
    let rank = (k * level + MARGIN * (k * level * (1.0 - level)).sqrt()).ceil() as usize;
    let needed = r.get(rank.clamp(1, r.len().max(1)) - 1).copied().unwrap_or(1.0);
    // Widened unless the interval already holds the truth two standard errors more often
    // than it claims: a check that found it just right may have been lucky.
    let widening = needed.max(1.0);
    Coverage { level, raw, widening, widened: held(widening) }
}

impl fmt::Display for Coverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:.0}% interval held the truth in {:.1}% of checks (widened ×{:.2}: {:.1}%)",
            self.level * 100.0,
            self.raw * 100.0,
            self.widening,
            self.widened * 100.0
        )
    }
}

/// Column centres (medians) and scales (median absolute deviation, as a standard
/// deviation; the standard deviation where that is 0; 1 for a constant column).
fn column_spread(rows: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>) {
    let f = rows.first().map_or(0, Vec::len);
    let mut centre = Vec::with_capacity(f);
    let mut scale = Vec::with_capacity(f);
    for j in 0..f {
        let mut col: Vec<f64> = rows.iter().map(|r| r[j]).collect();
        col.sort_by(f64::total_cmp);
        let med = col[col.len() / 2];
        let mut dev: Vec<f64> = col.iter().map(|x| (x - med).abs()).collect();
        dev.sort_by(f64::total_cmp);
        let mad = 1.4826 * dev[dev.len() / 2];
        let s = if mad > 0.0 {
            mad
        } else {
            let mean = col.iter().sum::<f64>() / col.len() as f64;
            (col.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / col.len() as f64).sqrt()
        };
        centre.push(med);
        scale.push(if s > 0.0 { s } else { 1.0 });
    }
    (centre, scale)
}

fn standardize(row: &[f64], centre: &[f64], scale: &[f64]) -> Vec<f64> {
    row.iter().zip(centre).zip(scale).map(|((x, c), s)| (x - c) / s).collect()
}

fn project(beta: &[Vec<f64>], z: &[f64]) -> Vec<f64> {
    beta.iter().map(|b| b[0] + b[1..].iter().zip(z).map(|(a, x)| a * x).sum::<f64>()).collect()
}

fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>().sqrt()
}

/// Least squares with an intercept and a ridge penalty `lambda` on the slopes: per column
/// of `ys`, the intercept and one coefficient per column of `xs`.
fn ridge(xs: &[Vec<f64>], ys: &[Vec<f64>], lambda: f64) -> Vec<Vec<f64>> {
    weighted_ridge(xs, ys, &vec![1.0; xs.len()], lambda)
}

fn weighted_ridge(xs: &[Vec<f64>], ys: &[Vec<f64>], w: &[f64], lambda: f64) -> Vec<Vec<f64>> {
    let q = xs.first().map_or(0, Vec::len) + 1;
    let p = ys.first().map_or(0, Vec::len);
    let mut a = vec![0.0; q * q];
    let mut b = vec![vec![0.0; q]; p];
    let mut row = vec![0.0; q];
    for ((x, y), &wi) in xs.iter().zip(ys).zip(w) {
        row[0] = 1.0;
        row[1..].copy_from_slice(x);
        for i in 0..q {
            let wr = wi * row[i];
            for k in 0..=i {
                a[i * q + k] += wr * row[k];
            }
            for (bj, yj) in b.iter_mut().zip(y) {
                bj[i] += wr * yj;
            }
        }
    }
    for i in 0..q {
        for k in 0..i {
            a[k * q + i] = a[i * q + k];
        }
    }
    // The penalty, relative to the data's own scale, on the slopes only.
    let trace = (1..q).map(|i| a[i * q + i]).sum::<f64>() / (q.max(2) - 1) as f64;
    for i in 1..q {
        a[i * q + i] += lambda * trace.max(1e-12) / w.iter().sum::<f64>().max(1e-12) + 1e-12;
    }
    let l = cholesky(&a, q);
    b.iter().map(|bj| solve(&l, q, bj)).collect()
}

/// The lower Cholesky factor of the symmetric positive-definite `q × q` matrix `a`.
fn cholesky(a: &[f64], q: usize) -> Vec<f64> {
    let mut l = vec![0.0; q * q];
    for i in 0..q {
        for k in 0..=i {
            let sum: f64 = (0..k).map(|j| l[i * q + j] * l[k * q + j]).sum();
            if i == k {
                l[i * q + i] = (a[i * q + i] - sum).max(1e-12).sqrt();
            } else {
                l[i * q + k] = (a[i * q + k] - sum) / l[k * q + k];
            }
        }
    }
    l
}

fn solve(l: &[f64], q: usize, b: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; q];
    for i in 0..q {
        let sum: f64 = (0..i).map(|j| l[i * q + j] * y[j]).sum();
        y[i] = (b[i] - sum) / l[i * q + i];
    }
    let mut x = vec![0.0; q];
    for i in (0..q).rev() {
        let sum: f64 = (i + 1..q).map(|j| l[j * q + i] * x[j]).sum();
        x[i] = (y[i] - sum) / l[i * q + i];
    }
    x
}

/// The share of the variance of `y` that a linear function of `x` (one row per
/// observation) explains: the adjusted R² of least squares with an intercept, within
/// [0, 1]. `None` with fewer than `columns + 3` observations or no variance in `y`.
///
/// ```
/// let x: Vec<Vec<f64>> = (0..20).map(|i| vec![f64::from(i)]).collect();
/// let y: Vec<f64> = (0..20).map(|i| 2.0 * f64::from(i)).collect();
/// assert!((slotsim::stats::abc::explained_share(&x, &y).unwrap() - 1.0).abs() < 1e-9);
/// ```
pub fn explained_share(x: &[Vec<f64>], y: &[f64]) -> Option<f64> {
    let n = y.len();
    let k = x.first().map_or(0, Vec::len);
    if n < k + 3 || x.len() != n {
        return None;
    }
    let mean = y.iter().sum::<f64>() / n as f64;
    let total: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    if total <= 0.0 {
        return None;
    }
    let ys: Vec<Vec<f64>> = y.iter().map(|&v| vec![v]).collect();
    let beta = ridge(x, &ys, 0.0);
    let residual: f64 = x.iter().zip(y).map(|(row, &v)| (v - project(&beta, row)[0]).powi(2)).sum();
    let adjusted = 1.0 - (residual / (n - k - 1) as f64) / (total / (n - 1) as f64);
    Some(adjusted.clamp(0.0, 1.0))
}

/// The `q`-quantile of weighted values sorted by value (weights need not sum to 1): the
/// value at which the cumulative weight, taken at each value's midpoint, reaches `q`.
pub fn weighted_quantile(sorted: &[(f64, f64)], q: f64) -> f64 {
    let total: f64 = sorted.iter().map(|&(_, w)| w).sum();
    let mut cumulative = 0.0;
    let mut previous: Option<(f64, f64)> = None;
    for &(x, w) in sorted {
        let mid = (cumulative + w / 2.0) / total;
        if mid >= q {
            return match previous {
                Some((px, pm)) if mid > pm => px + (x - px) * (q - pm) / (mid - pm),
                _ => x,
            };
        }
        previous = Some((x, mid));
        cumulative += w;
    }
    sorted.last().map_or(f64::NAN, |&(x, _)| x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{PurposeId, Stream, Streams};

    fn rng(seed: u64) -> Stream {
        Streams::<1>::new(seed).stream(PurposeId(0), 0)
    }

    /// A model whose posterior is known: x ~ U(0, 10), 8 features each x + N(0, 1)
    /// (their mean has sd 1/√8), and one feature of pure noise.
    fn table(n: usize, rng: &mut Stream) -> ReferenceTable {
        let mut t = ReferenceTable::default();
        for _ in 0..n {
            let x: f64 = rng.uniform() * 10.0;
            t.features.push(simulate(x, rng));
            t.parameters.push(vec![x]);
        }
        t
    }

    fn simulate(x: f64, rng: &mut Stream) -> Vec<f64> {
        let mut normal = || {
            // Box-Muller.
            let (u, v): (f64, f64) = (rng.uniform().max(1e-300), rng.uniform());
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        };
        let mut f: Vec<f64> = (0..8).map(|_| x + normal()).collect();
        f.push(normal());
        f
    }

    #[test]
    fn priors_map_to_their_range_and_back() {
        let p = Prior::new(2.0, 200.0, true, false).unwrap();
        assert!((p.from_unit(0.5) - 20.0).abs() < 1e-9, "log-uniform midpoint is the geometric mean");
        assert!((p.to_unit(p.from_unit(0.3)) - 0.3).abs() < 1e-12);
        let i = Prior::new(10.0, 12.0, false, true).unwrap();
        assert_eq!([0.0, 0.34, 0.5, 0.99, 1.0].map(|u| i.value(i.from_unit(u))), [10.0, 11.0, 11.0, 12.0, 12.0]);
        assert!(Prior::new(3.0, 3.0, false, false).is_err());
        assert!(Prior::new(0.0, 3.0, true, false).unwrap_err().0.contains("above 0"));
        assert!(Prior::new(0.5, 3.0, false, true).unwrap_err().0.contains("whole"));
    }

    #[test]
    fn weighted_quantiles_interpolate() {
        let pairs = [(1.0, 1.0), (2.0, 1.0), (3.0, 1.0), (4.0, 1.0)];
        assert_eq!(weighted_quantile(&pairs, 0.5), 2.5);
        assert_eq!(weighted_quantile(&pairs, 0.0), 1.0);
        assert_eq!(weighted_quantile(&pairs, 1.0), 4.0);
        assert_eq!(weighted_quantile(&[(1.0, 3.0), (2.0, 1.0)], 0.3), 1.0);
    }

    #[test]
    fn ridge_recovers_a_linear_law() {
        let xs: Vec<Vec<f64>> = (0..50).map(|i| vec![f64::from(i), f64::from(i % 7)]).collect();
        let ys: Vec<Vec<f64>> = xs.iter().map(|x| vec![3.0 + 2.0 * x[0] - 0.5 * x[1]]).collect();
        let b = ridge(&xs, &ys, 0.0);
        for (got, want) in b[0].iter().zip([3.0, 2.0, -0.5]) {
            assert!((got - want).abs() < 1e-6, "{:?}", b);
        }
    }

    /// The known posterior of the model: x | mean ≈ N(mean, 1/8), truncated to [0, 10].
    /// Estimates within 0.15 of the observed mean (about 0.4 posterior sd), 90% intervals
    /// within 25% of the exact width 2 × 1.645 / √8 = 1.163, and coverage of truths drawn
    /// from the prior within binomial noise (400 truths: ±3 sd is ±4.5 points at 90%).
    #[test]
    fn fits_a_model_with_a_known_posterior_and_covers() {
        let mut rng = rng(11);
        let prior = Prior::new(0.0, 10.0, false, false).unwrap();
        let fitter = Fitter::new(vec![prior], table(4000, &mut rng), Settings::default()).unwrap();
        let observed = vec![5.0; 8].into_iter().chain([0.0]).collect::<Vec<_>>();
        let post = fitter.posterior(&observed);
        assert!((post.estimate[0] - 5.0).abs() < 0.15, "estimate {}", post.estimate[0]);
        let width = post.interval90[0].1 - post.interval90[0].0;
        assert!((width / 1.163 - 1.0).abs() < 0.25, "90% width {width}");
        assert!((post.weights.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        let (mut held50, mut held90) = (0, 0);
        let truths = 400;
        for _ in 0..truths {
            let x: f64 = 0.5 + rng.uniform() * 9.0;
            let p = fitter.posterior(&simulate(x, &mut rng));
            held50 += usize::from(p.interval50[0].0 <= x && x <= p.interval50[0].1);
            held90 += usize::from(p.interval90[0].0 <= x && x <= p.interval90[0].1);
        }
        let (c50, c90) = (held50 as f64 / truths as f64, held90 as f64 / truths as f64);
        assert!(c50 > 0.5 - 0.075 && c50 < 0.5 + 0.15, "50% coverage {c50}");
        assert!(c90 > 0.9 - 0.045 && c90 < 0.99, "90% coverage {c90}");
    }

    #[test]
    fn the_check_widens_an_interval_that_holds_too_few_truths_and_never_narrows() {
        // 200 truths at 0.01, 0.02, ..., 2.00 half-widths out: the unwidened interval
        // holds 100 of them (50%), far below 90%.
        let reach: Vec<f64> = (1..=200).map(|i| f64::from(i) / 100.0).collect();
        let c = check(&reach, 0.9);
        assert_eq!(c.raw, 0.5);
        // Rank ceil(180 + 2√18) = 189: the widening is 1.89, holding 94.5%.
        assert!((c.widening - 1.89).abs() < 1e-12, "{c}");
        assert!((c.widened - 0.945).abs() < 1e-12, "{c}");
        // One that holds just what it claims is widened by the margin: rank
        // ceil(100 + 2√50) = 115, 1.15 half-widths.
        let c = check(&reach, 0.5);
        assert_eq!(c.raw, 0.5);
        assert!((c.widening - 1.15).abs() < 1e-12, "{c}");
        let inside: Vec<f64> = reach.iter().map(|r| r / 4.0).collect();
        assert_eq!(check(&inside, 0.9).widening, 1.0, "over-covering intervals are not narrowed");
    }

    #[test]
    fn the_observations_far_from_the_prior_are_remote() {
        let mut rng = rng(3);
        let prior = Prior::new(0.0, 10.0, false, false).unwrap();
        let fitter = Fitter::new(vec![prior], table(2000, &mut rng), Settings::default()).unwrap();
        let near = fitter.posterior(&simulate(4.0, &mut rng));
        assert!(near.remoteness < 0.99, "{}", near.remoteness);
        let far = fitter.posterior(&[40.0; 9]);
        assert!(far.remoteness >= 0.99, "{}", far.remoteness);
    }

    #[test]
    fn too_small_a_table_is_refused() {
        let mut rng = rng(1);
        let prior = Prior::new(0.0, 10.0, false, false).unwrap();
        let e = Fitter::new(vec![prior], table(50, &mut rng), Settings::default()).unwrap_err();
        assert!(e.to_string().contains("at least 100"), "{e}");
    }
}
