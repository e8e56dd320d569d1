//! `calibrate`: fits scenario fields to observed series (the method is
//! [`crate::stats::abc`]'s), and the posterior that other commands draw from.
//!
//! The simulations of a fit are members of a reference table: member `i` draws its
//! fitted values from the prior with its own stream and runs with seed `seed_start + i`,
//! so that any member can be simulated alone, in any order, on any machine (a Slurm array
//! runs the table in parts, in chunks of [`super::CHUNK`] members). Each member runs only
//! up to the last observed day (and the calendar horizon after it, so that what the
//! observed days show is what a full run shows), and keeps its values at the observed
//! days and its summary metrics.
//!
//! The members do not share seeds: the observations come with noise of their own, and a
//! table whose members all saw the same noise would take the posterior for sharper than
//! it is. Common random numbers are used where they help: every value examined by the
//! commands that draw from the posterior ([`Posterior`]) sees, seed by seed, the same draw.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rayon::prelude::*;

use super::Cell;
use crate::engine::{PurposeId, Streams};
use crate::model::{ModelConfig, RunRecord, Workspace};
use crate::scenario::{GridPoint, Scenario, ScenarioError, paths};
use crate::stats::abc::{self, AbcError, Coverage, Fitter, Prior, ReferenceTable};
use crate::stats::observed::{Column, Observations, Reading, SummaryObservation};
use crate::stats::{self, metrics};

/// The random purposes of a fit (apart from the simulations' own).
#[derive(Debug, Clone, Copy)]
enum Purpose {
    /// A member's prior draw.
    Prior = 0,
    /// A member's measurement noise on summary observations.
    Noise = 1,
    /// The draws of the posterior predictive simulations.
    Predictive = 2,
    /// The truths of a coverage run.
    Truth = 3,
}

impl From<Purpose> for PurposeId {
    fn from(p: Purpose) -> Self {
        PurposeId(p as u64)
    }
}

/// Why a fit cannot be made as asked. Messages name the parameter in the library's words.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalibrateError {
    /// The scenario rejects a variant or a fitted value.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// A fitted path that cannot be used.
    #[error("{0}")]
    Fit(String),
    /// The fit itself.
    #[error(transparent)]
    Abc(#[from] AbcError),
    /// A posterior that does not fit the scenario.
    #[error("{0}")]
    Posterior(String),
}

/// One `--fit`: a scenario field (a dotted path, `*` allowed) and its prior range.
#[derive(Debug, Clone, PartialEq)]
pub struct FitSpec {
    /// The path as written.
    pub path: String,
    /// Lowest value.
    pub lo: f64,
    /// Highest value.
    pub hi: f64,
    /// Log-uniform (`PATH~log=LO..HI`).
    pub log: bool,
}

impl std::str::FromStr for FitSpec {
    type Err = String;

    /// `PATH=LO..HI` or `PATH~log=LO..HI`.
    fn from_str(s: &str) -> Result<Self, String> {
        let format = "expected PATH=LO..HI or PATH~log=LO..HI, e.g. demand.arrivals_per_day=30..80";
        let (left, range) = s.split_once('=').ok_or_else(|| format!("`{s}`: {format}"))?;
        let (path, log) = match left.split_once('~') {
            Some((p, "log")) => (p, true),
            Some((_, other)) => return Err(format!("`{s}`: unknown prior `{other}` ({format})")),
            None => (left, false),
        };
        let (lo, hi) = range.split_once("..").ok_or_else(|| format!("`{s}`: {format}"))?;
        let number = |t: &str| {
            t.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("`{s}`: `{t}` is not a number"))
        };
        let path = path.trim();
        if path.is_empty() {
            return Err(format!("`{s}`: the path is empty ({format})"));
        }
        Ok(Self { path: path.to_string(), lo: number(lo)?, hi: number(hi)?, log })
    }
}

/// What `calibrate` is asked.
#[derive(Debug, Clone)]
pub struct CalibrateQuestion {
    /// The variant fitted (`base` for the base scenario).
    pub variant: String,
    /// The fitted fields.
    pub fits: Vec<FitSpec>,
    /// The observed series.
    pub observed: Observations,
    /// Summary metrics observed over the run, with their standard errors.
    pub summaries: Vec<SummaryObservation>,
    /// Members of the reference table.
    pub simulations: usize,
    /// Seed of member 0 (member `i` runs with `seed_start + i`).
    pub seed_start: u64,
    /// Posterior predictive simulations.
    pub predictive: usize,
    /// The fit's tuning.
    pub settings: abc::Settings,
}

/// A fitted field.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// The path as written.
    pub path: String,
    /// Every concrete path it sets (`*` expanded).
    pub concrete: Vec<String>,
    /// Its prior.
    pub prior: Prior,
}

/// A fit's question, checked against the scenario.
#[derive(Debug, Clone)]
pub struct CalibrateProblem {
    scenario: Scenario,
    question: CalibrateQuestion,
    parameters: Vec<Parameter>,
    /// Days simulated.
    days: u32,
    /// The value standing for "no slot bookable" in `first_free_day`.
    no_slot: f64,
}

/// One simulation of the reference table.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// Its index (its seed is `seed_start + index`).
    pub index: usize,
    /// Its latent fitted values.
    pub latent: Vec<f64>,
    /// Its values at the observed entries, in the observations' order.
    pub entries: Vec<f64>,
    /// Its summary metrics observed with `--observe`, measurement noise added.
    pub summaries: Vec<f64>,
}

impl CalibrateProblem {
    /// Checks the question: every fitted path names a numeric field of the variant, every
    /// range is a usable prior whose ends the scenario accepts, the observations lie
    /// within the run.
    ///
    /// # Errors
    ///
    /// A [`CalibrateError`] naming the path or range.
    pub fn new(scenario: &Scenario, question: CalibrateQuestion) -> Result<Self, CalibrateError> {
        let resolved = scenario.variant(&question.variant)?;
        let table: toml::Table = toml::from_str(&resolved.resolved_toml()).expect("a resolved scenario parses");
        if question.fits.is_empty() {
            return Err(CalibrateError::Fit("nothing to fit: give at least one PATH=LO..HI".into()));
        }
        let mut parameters = Vec::new();
        for fit in &question.fits {
            let concrete =
                paths::expand(&table, &fit.path).map_err(|e| CalibrateError::Fit(format!("`{}`: {e}", fit.path)))?;
            let mut integer = None;
            for p in &concrete {
                let kind = match paths::get(&table, p) {
                    Some(toml::Value::Integer(_)) => true,
                    Some(toml::Value::Float(_)) => false,
                    Some(other) => {
                        return Err(CalibrateError::Fit(format!(
                            "`{}`: {p} is {} ({other}), not a number: only numeric fields can be fitted",
                            fit.path,
                            other.type_str()
                        )));
                    }
                    None => {
                        return Err(CalibrateError::Fit(format!("`{}`: the scenario has no field {p}", fit.path)));
                    }
                };
                integer = Some(integer.unwrap_or(kind) && kind);
            }
            let prior = Prior::new(fit.lo, fit.hi, fit.log, integer.unwrap_or(false))
                .map_err(|e| CalibrateError::Fit(format!("`{}`: {e}", fit.path)))?;
            if parameters.iter().any(|p: &Parameter| p.concrete.iter().any(|c| concrete.contains(c))) {
                return Err(CalibrateError::Fit(format!("`{}` sets a field another fitted path sets", fit.path)));
            }
            parameters.push(Parameter { path: fit.path.clone(), concrete, prior });
        }
        let last = question.observed.last_day().unwrap_or(0);
        let horizon = resolved.release.horizon_days;
        let days = resolved.days.min(last + 1 + horizon);
        let problem = Self { no_slot: f64::from(horizon + 1), scenario: scenario.clone(), question, parameters, days };
        // Both ends of every range must be values the scenario accepts.
        for end in [0.0, 1.0] {
            let latent: Vec<f64> = problem.parameters.iter().map(|p| p.prior.from_unit(end)).collect();
            problem.cell(&latent)?;
        }
        Ok(problem)
    }

    /// The question.
    pub fn question(&self) -> &CalibrateQuestion {
        &self.question
    }

    /// The fitted fields.
    pub fn parameters(&self) -> &[Parameter] {
        &self.parameters
    }

    /// The scenario as given.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Days each simulation runs.
    pub fn simulated_days(&self) -> u32 {
        self.days
    }

    /// The number standing for `none` in `first_free_day` (one day past the horizon).
    pub fn no_slot_value(&self) -> f64 {
        self.no_slot
    }

    /// Member `i`'s latent fitted values: its own prior draw.
    pub fn draw(&self, member: usize) -> Vec<f64> {
        let streams = Streams::<4>::new(self.question.seed_start);
        let mut rng = streams.stream(Purpose::Prior, member as u64);
        self.parameters.iter().map(|p| p.prior.from_unit(rng.uniform())).collect()
    }

    /// The fitted values set into the scenario for latent values.
    pub fn values(&self, latent: &[f64]) -> Vec<f64> {
        self.parameters.iter().zip(latent).map(|(p, &x)| p.prior.value(x)).collect()
    }

    /// The grid point that sets fitted `values` (not latent ones).
    fn point(&self, values: &[f64]) -> GridPoint {
        let mut point = GridPoint { values: Vec::new() };
        for (p, &v) in self.parameters.iter().zip(values) {
            let value = if p.prior.integer { toml::Value::Integer(v as i64) } else { toml::Value::Float(v) };
            point.values.extend(p.concrete.iter().map(|c| (c.clone(), value.clone())));
        }
        point
    }

    /// The variant with latent values set, run for the simulated days only.
    ///
    /// # Errors
    ///
    /// A value the scenario rejects.
    pub fn cell(&self, latent: &[f64]) -> Result<Cell, CalibrateError> {
        let mut point = self.point(&self.values(latent));
        point.values.push(("days".into(), toml::Value::Integer(i64::from(self.days))));
        Ok(Cell::new(&self.scenario, &self.question.variant, &point)?)
    }

    /// The variant with the fitted values set (the whole run): what `fitted.toml` holds.
    ///
    /// # Errors
    ///
    /// A value the scenario rejects.
    pub fn fitted(&self, values: &[f64]) -> Result<Scenario, CalibrateError> {
        Ok(self.scenario.variant(&self.question.variant)?.at_grid_point(&self.point(values))?)
    }

    /// A simulation's values at the observed entries.
    fn entries_of(&self, run: &RunRecord) -> Vec<f64> {
        self.question
            .observed
            .entries
            .iter()
            .map(|o| run.daily.get(o.day as usize).and_then(|d| o.column.value(d)).unwrap_or(self.no_slot))
            .collect()
    }

    /// Simulates latent values with `seed`; the member's measurement noise comes from
    /// `noise_index`.
    fn simulate(
        &self,
        latent: Vec<f64>,
        seed: u64,
        noise: u64,
        workspace: &mut Workspace,
    ) -> Result<Member, CalibrateError> {
        let cell = self.cell(&latent)?;
        let run = cell.simulate_in(workspace, seed);
        let entries = self.entries_of(&run);
        let summary = stats::summarize(&run);
        workspace.recycle(run);
        let mut rng = Streams::<4>::new(self.question.seed_start).stream(Purpose::Noise, noise);
        let summaries = self
            .question
            .summaries
            .iter()
            .map(|o| {
                let value = metrics::value(&summary, o.metric).unwrap_or(f64::NAN);
                value + o.se * normal(&mut rng)
            })
            .collect();
        Ok(Member { index: noise as usize, latent, entries, summaries })
    }

    /// Simulates member `i` of the reference table.
    ///
    /// # Errors
    ///
    /// A drawn value the scenario rejects (the ends of every range were checked).
    pub fn member(&self, i: usize, workspace: &mut Workspace) -> Result<Member, CalibrateError> {
        self.simulate(self.draw(i), self.question.seed_start + i as u64, i as u64, workspace)
    }

    /// Simulates `members` on `threads` threads, in order; `None` if `stop` was raised.
    ///
    /// # Errors
    ///
    /// The first member that cannot be simulated.
    pub fn simulate_members(
        &self,
        members: impl IntoIterator<Item = usize>,
        threads: usize,
        stop: &AtomicBool,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<Option<Vec<Member>>, CalibrateError> {
        let members: Vec<usize> = members.into_iter().collect();
        let done = AtomicUsize::new(0);
        in_parallel(threads, &members, stop, |ws, &i| {
            let m = self.member(i, ws);
            progress(done.fetch_add(1, Ordering::Relaxed) + 1);
            m
        })
        .map(|out| out.into_iter().collect())
        .transpose()
    }

    /// The features of values at the entries and summaries: per observed column, the
    /// means of its entries in up to [`BLOCKS`] runs of consecutive observed days of
    /// nearly equal count; then the summaries.
    fn features(&self, layout: &Layout, entries: &[f64], summaries: &[f64]) -> Vec<f64> {
        let mut out: Vec<f64> = layout
            .blocks
            .iter()
            .map(|block| block.iter().map(|&e| layout.censor(e, entries[e])).sum::<f64>() / block.len() as f64)
            .collect();
        out.extend_from_slice(summaries);
        out
    }

    /// The observed entries' values as features see them.
    fn observed_entries(&self, layout: &Layout) -> Vec<f64> {
        self.question
            .observed
            .entries
            .iter()
            .enumerate()
            .map(|(e, o)| match o.reading {
                Reading::Value(v) => v,
                Reading::NoSlot => self.no_slot,
                Reading::Between { .. } => layout.imputed[e],
            })
            .collect()
    }

    /// Fits the reference table `members` (the whole table, in member order).
    ///
    /// # Errors
    ///
    /// Too few members for the fit.
    pub fn fit(&self, members: &[Member]) -> Result<Fit, CalibrateError> {
        let layout = Layout::new(&self.question.observed, members);
        let mut table = ReferenceTable::default();
        for m in members {
            table.parameters.push(m.latent.clone());
            table.features.push(self.features(&layout, &m.entries, &m.summaries));
        }
        fill_gaps(&mut table.features);
        let fitter = Fitter::new(self.parameters.iter().map(|p| p.prior).collect(), table, self.question.settings)?;
        let observed = {
            let summaries: Vec<f64> = self.question.summaries.iter().map(|o| o.value).collect();
            self.features(&layout, &self.observed_entries(&layout), &summaries)
        };
        let posterior = fitter.posterior(&observed);
        Ok(Fit { layout, fitter, observed, posterior })
    }

    /// Resamples `n` draws of the posterior by weight (systematic resampling), and
    /// simulates each with seeds after the table's, for the posterior predictive.
    ///
    /// # Errors
    ///
    /// A drawn value the scenario rejects.
    pub fn predictive(
        &self,
        fit: &Fit,
        threads: usize,
        stop: &AtomicBool,
    ) -> Result<Option<Vec<Member>>, CalibrateError> {
        let n = self.question.predictive;
        let mut rng = Streams::<4>::new(self.question.seed_start).stream(Purpose::Predictive, 0);
        let picks = systematic(&fit.posterior.weights, n, rng.uniform());
        let base = self.question.seed_start + self.question.simulations as u64;
        let picks: Vec<(usize, usize)> = picks.into_iter().enumerate().collect();
        in_parallel(threads, &picks, stop, |ws, &(k, d)| {
            // Draws hold values already rounded: their latent value is themselves.
            let latent = fit.posterior.draws[d].clone();
            self.simulate(latent, base + k as u64, (self.question.simulations + k) as u64, ws)
        })
        .map(|out| out.into_iter().collect())
        .transpose()
    }

    /// The posterior predictive per observed entry and the misfit verdict.
    pub fn check(&self, fit: &Fit, predictive: &[Member]) -> (Vec<PredictivePoint>, Misfit) {
        let points = self
            .question
            .observed
            .entries
            .iter()
            .enumerate()
            .map(|(e, o)| {
                let mut values: Vec<f64> = predictive.iter().map(|m| m.entries[e]).collect();
                let [q05, q50, q95] =
                    stats::summary::select_quantiles(&mut values, [0.05, 0.5, 0.95]).map(Option::unwrap_or_default);
                PredictivePoint {
                    day: o.day,
                    column: o.column,
                    reading: o.reading,
                    q05,
                    q50,
                    q95,
                    no_slot: self.no_slot,
                }
            })
            .collect();
        let features: Vec<Vec<f64>> =
            predictive.iter().map(|m| self.features(&fit.layout, &m.entries, &m.summaries)).collect();
        let f = fit.observed.len();
        let mut detail = Vec::new();
        // Bonferroni over the features: a 1% chance of a false alarm in all.
        let z_limit = normal_quantile(1.0 - 0.005 / f.max(1) as f64);
        for j in 0..f {
            let mut col: Vec<f64> = features.iter().map(|r| r[j]).filter(|v| v.is_finite()).collect();
            if col.len() < 2 {
                continue;
            }
            let mean = col.iter().sum::<f64>() / col.len() as f64;
            let sd = (col.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (col.len() - 1) as f64).sqrt();
            let obs = fit.observed[j];
            let outside = col.iter().all(|&x| x < obs) || col.iter().all(|&x| x > obs);
            let z = (obs - mean) / sd.max(1e-9 * mean.abs().max(1.0));
            if outside && z.abs() > z_limit {
                let [lo, hi] = stats::summary::select_quantiles(&mut col, [0.05, 0.95]).map(Option::unwrap_or_default);
                detail.push(format!(
                    "{}: observed {}, predicted 90% {}–{}",
                    fit.layout.describe(j, &self.question, self.scenario.start_day()),
                    short(obs),
                    short(lo),
                    short(hi)
                ));
            }
        }
        let remote = fit.posterior.remoteness >= 0.99;
        if remote && detail.is_empty() {
            detail.push(format!(
                "the observations as a whole: farther from every simulation than {:.0}% of simulated series are",
                fit.posterior.remoteness * 100.0
            ));
        }
        (points, Misfit { misfit: remote || !detail.is_empty(), remote, detail })
    }

    /// A simulation-based calibration run: `truths` truths drawn from the prior (with
    /// their own streams, and seeds after the table's and the predictive's), each with
    /// its own simulated series at the observed days, fitted with `fit`'s fitter. Only
    /// point observations are simulated (bounds as given are not reproduced).
    ///
    /// # Errors
    ///
    /// A drawn value the scenario rejects.
    pub fn coverage_run(
        &self,
        fit: &Fit,
        truths: usize,
        threads: usize,
        stop: &AtomicBool,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<Option<CoverageRun>, CalibrateError> {
        let base = self.question.seed_start + (self.question.simulations + self.question.predictive) as u64;
        let done = AtomicUsize::new(0);
        let streams = Streams::<4>::new(self.question.seed_start);
        let truths: Vec<usize> = (0..truths).collect();
        let out = in_parallel(threads, &truths, stop, |ws, &k| {
            let mut rng = streams.stream(Purpose::Truth, k as u64);
            let latent: Vec<f64> = self.parameters.iter().map(|p| p.prior.from_unit(rng.uniform())).collect();
            let noise = (self.question.simulations + self.question.predictive + k) as u64;
            let result = self.simulate(latent, base + k as u64, noise, ws).map(|m| {
                let features = self.features(&fit.layout, &m.entries, &m.summaries);
                (self.values(&m.latent), fit.fitter.posterior(&features))
            });
            progress(done.fetch_add(1, Ordering::Relaxed) + 1);
            result
        });
        let Some(results) = out.map(|out| out.into_iter().collect::<Result<Vec<Fitted>, _>>()).transpose()? else {
            return Ok(None);
        };
        let p = self.parameters.len();
        let mut held = vec![[0usize; 2]; p];
        let mut remote = 0;
        for (truth, post) in &results {
            for j in 0..p {
                let within = |(lo, hi): (f64, f64)| lo <= truth[j] && truth[j] <= hi;
                held[j][0] += usize::from(within(post.interval50[j]));
                held[j][1] += usize::from(within(post.interval90[j]));
            }
            remote += usize::from(post.remoteness >= 0.99);
        }
        Ok(Some(CoverageRun { truths: results.len(), held, remote }))
    }
}

/// `f` on every item of `items`, on `threads` threads (0 = one per core), each thread with
/// a workspace of its own; results in item order. `None` if `stop` was raised before
/// every item was done.
fn in_parallel<I: Sync, T: Send>(
    threads: usize,
    items: &[I],
    stop: &AtomicBool,
    f: impl Fn(&mut Workspace, &I) -> T + Sync,
) -> Option<Vec<T>> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a thread pool can be built");
    pool.install(|| {
        items
            .par_iter()
            .map_init(Workspace::default, |ws, item| (!stop.load(Ordering::Relaxed)).then(|| f(ws, item)))
            .collect()
    })
}

/// A truth's fitted values and the posterior fitted to its series.
type Fitted = (Vec<f64>, abc::Posterior);

/// Normal deviate by Box-Muller from a stream.
fn normal(rng: &mut crate::engine::Stream) -> f64 {
    let u = rng.uniform().max(f64::MIN_POSITIVE);
    let v = rng.uniform();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// The standard normal quantile.
fn normal_quantile(p: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    Normal::standard().inverse_cdf(p)
}

fn short(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}").trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// `n` indices drawn by `weights` with one uniform `u` (systematic resampling).
fn systematic(weights: &[f64], n: usize, u: f64) -> Vec<usize> {
    let total: f64 = weights.iter().sum();
    let mut out = Vec::with_capacity(n);
    let mut cumulative = 0.0;
    let mut i = 0;
    for k in 0..n {
        let target = (k as f64 + u) / n as f64 * total;
        while i + 1 < weights.len() && cumulative + weights[i] < target {
            cumulative += weights[i];
            i += 1;
        }
        out.push(i);
    }
    out
}

/// Replaces missing features (a metric a simulation left empty) by their column's median.
fn fill_gaps(rows: &mut [Vec<f64>]) {
    let f = rows.first().map_or(0, Vec::len);
    for j in 0..f {
        let mut col: Vec<f64> = rows.iter().map(|r| r[j]).filter(|v| v.is_finite()).collect();
        let median = stats::summary::select_quantile(&mut col, 0.5).unwrap_or(0.0);
        for r in rows.iter_mut() {
            if !r[j].is_finite() {
                r[j] = median;
            }
        }
    }
}

/// Observed days per feature: per column, up to this many blocks.
pub const BLOCKS: usize = 12;

/// How entries become features: the blocks, and for entries observed only within bounds,
/// the value standing for them.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Entry indices per block feature.
    blocks: Vec<Vec<usize>>,
    /// Per entry, its bounds if observed only within bounds.
    bounds: Vec<Option<(f64, f64)>>,
    /// Per entry, the value standing for "within the bounds": the median of the table's
    /// values there (the bounds' midpoint if none fell there).
    imputed: Vec<f64>,
}

impl Layout {
    fn new(observed: &Observations, members: &[Member]) -> Self {
        let mut blocks = Vec::new();
        for column in observed.columns() {
            let entries: Vec<usize> =
                observed.entries.iter().enumerate().filter(|(_, o)| o.column == column).map(|(e, _)| e).collect();
            let b = entries.len().min(BLOCKS);
            for k in 0..b {
                blocks.push(entries[k * entries.len() / b..(k + 1) * entries.len() / b].to_vec());
            }
        }
        let bounds: Vec<Option<(f64, f64)>> = observed
            .entries
            .iter()
            .map(|o| match o.reading {
                Reading::Between { lower, upper } => {
                    Some((lower.unwrap_or(f64::NEG_INFINITY), upper.unwrap_or(f64::INFINITY)))
                }
                _ => None,
            })
            .collect();
        let imputed = bounds
            .iter()
            .enumerate()
            .map(|(e, b)| match b {
                Some((lo, hi)) => {
                    let mut inside: Vec<f64> =
                        members.iter().map(|m| m.entries[e]).filter(|v| (*lo..=*hi).contains(v)).collect();
                    stats::summary::select_quantile(&mut inside, 0.5).unwrap_or(if lo.is_finite() && hi.is_finite() {
                        (lo + hi) / 2.0
                    } else if lo.is_finite() {
                        *lo
                    } else {
                        *hi
                    })
                }
                None => 0.0,
            })
            .collect();
        Self { blocks, bounds, imputed }
    }

    /// What features see of value `v` at entry `e`: for an entry observed within bounds,
    /// any value within them is the same value (the observation could not tell them
    /// apart); other values are themselves.
    fn censor(&self, e: usize, v: f64) -> f64 {
        match self.bounds[e] {
            Some((lo, hi)) if lo <= v && v <= hi => self.imputed[e],
            _ => v,
        }
    }

    /// Feature `j` in words: the column and dates of its block, or the summary metric.
    fn describe(&self, j: usize, question: &CalibrateQuestion, start_day: i64) -> String {
        match self.blocks.get(j) {
            Some(block) => {
                let entries = &question.observed.entries;
                let (first, last) = (&entries[block[0]], &entries[block[block.len() - 1]]);
                let date = |d: u32| crate::scenario::dates::civil_from_days(start_day + i64::from(d));
                format!("{} from {} to {} (mean)", first.column.name(), date(first.day), date(last.day))
            }
            None => {
                let s = &question.summaries[j - self.blocks.len()];
                format!("{} over the run", s.metric)
            }
        }
    }
}

/// A fit: the fitter (reusable for any observations at the same days), the observed
/// features and the posterior.
#[derive(Debug, Clone)]
pub struct Fit {
    /// How entries become features.
    pub layout: Layout,
    /// The fitter.
    pub fitter: Fitter,
    /// The observed features.
    pub observed: Vec<f64>,
    /// The posterior.
    pub posterior: abc::Posterior,
}

impl Fit {
    /// Per parameter, the coverage check at 50% and 90%.
    pub fn coverage(&self) -> &[[Coverage; 2]] {
        self.fitter.coverage()
    }
}

/// The posterior predictive at one observed entry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PredictivePoint {
    /// Run day.
    pub day: u32,
    /// Column.
    pub column: Column,
    /// What was observed.
    pub reading: Reading,
    /// 5% point.
    pub q05: f64,
    /// Median.
    pub q50: f64,
    /// 95% point.
    pub q95: f64,
    /// The number standing for `none` (for `first_free_day`).
    pub no_slot: f64,
}

/// Whether the observations are implausible under the fitted model.
#[derive(Debug, Clone, PartialEq)]
pub struct Misfit {
    /// The verdict.
    pub misfit: bool,
    /// The observations lie outside what the prior's range produces.
    pub remote: bool,
    /// The observations no fitted value reproduces, in words.
    pub detail: Vec<String>,
}

/// What a simulation-based calibration run found.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverageRun {
    /// Truths fitted.
    pub truths: usize,
    /// Per parameter, how many truths the 50% and the 90% interval held.
    pub held: Vec<[usize; 2]>,
    /// Truths whose observations were judged remote (false alarms of the misfit check).
    pub remote: usize,
}

impl CoverageRun {
    /// The share held, with its 95% binomial (Wilson) interval, per parameter and level.
    pub fn shares(&self) -> Vec<[(f64, f64, f64); 2]> {
        let n = self.truths.max(1) as f64;
        self.held
            .iter()
            .map(|h| {
                h.map(|k| {
                    let p = k as f64 / n;
                    let z: f64 = 1.96;
                    let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
                    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / (1.0 + z * z / n);
                    (p, centre - half, centre + half)
                })
            })
            .collect()
    }
}

/// A posterior that other commands draw from: fitted paths and weighted draws.
///
/// The draw of a replication is chosen by its seed alone, so that every variant and every
/// value examined with that seed uses the same draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Posterior {
    /// Fitted paths (as written, `*` allowed).
    pub paths: Vec<String>,
    /// Draws: their number in the file, and the values per path.
    pub draws: Vec<(u32, Vec<f64>)>,
    /// Their weights, summing to 1.
    weights: Vec<f64>,
    /// Cumulative weights (the last is 1).
    cumulative: Vec<f64>,
}

impl Posterior {
    /// A posterior from weighted draws `(number, weight, values)`.
    ///
    /// # Errors
    ///
    /// No draw, a negative or non-finite weight, weights summing to 0, or rows of the
    /// wrong length.
    pub fn new(paths: Vec<String>, draws: Vec<(u32, f64, Vec<f64>)>) -> Result<Self, CalibrateError> {
        if draws.is_empty() {
            return Err(CalibrateError::Posterior("the posterior has no draws".into()));
        }
        if draws.iter().any(|(_, w, v)| !w.is_finite() || *w < 0.0 || v.len() != paths.len()) {
            return Err(CalibrateError::Posterior(
                "every draw needs a weight ≥ 0 and one value per fitted path".into(),
            ));
        }
        let total: f64 = draws.iter().map(|(_, w, _)| w).sum();
        if total <= 0.0 {
            return Err(CalibrateError::Posterior("the posterior's weights sum to 0".into()));
        }
        let weights: Vec<f64> = draws.iter().map(|(_, w, _)| w / total).collect();
        let mut acc = 0.0;
        let cumulative = weights
            .iter()
            .map(|w| {
                acc += w;
                acc
            })
            .collect();
        Ok(Self { paths, draws: draws.into_iter().map(|(d, _, v)| (d, v)).collect(), weights, cumulative })
    }

    /// A short fingerprint of the draws and weights (16 hex digits), so that a sweep's
    /// manifest can tell one posterior from another.
    pub fn fingerprint(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |bytes: &[u8]| {
            for &b in bytes {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        };
        for p in &self.paths {
            eat(p.as_bytes());
        }
        for ((d, values), w) in self.draws.iter().zip(&self.weights) {
            eat(&d.to_le_bytes());
            eat(&w.to_le_bytes());
            values.iter().for_each(|v| eat(&v.to_le_bytes()));
        }
        format!("{h:016x}")
    }

    /// The draws' weights, summing to 1.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The draw (its position) a replication with `seed` uses.
    pub fn draw_for(&self, seed: u64) -> usize {
        let u = Streams::<1>::new(seed).stream(PurposeId(0), u64::from_le_bytes(*b"posterio")).uniform();
        self.cumulative.partition_point(|&c| c < u).min(self.draws.len() - 1)
    }

    /// Draw `d`'s values.
    pub fn values(&self, d: usize) -> &[f64] {
        &self.draws[d].1
    }

    /// The grid point that sets draw `d`'s values in `scenario` (paths expanded there;
    /// values rounded where the field takes whole numbers).
    ///
    /// # Errors
    ///
    /// A fitted path the scenario does not have.
    pub fn point(&self, scenario: &Scenario, d: usize) -> Result<GridPoint, CalibrateError> {
        let table: toml::Table = toml::from_str(&scenario.resolved_toml()).expect("a resolved scenario parses");
        let mut point = GridPoint { values: Vec::new() };
        for (path, &v) in self.paths.iter().zip(&self.draws[d].1) {
            let concrete = paths::expand(&table, path).map_err(|e| {
                CalibrateError::Posterior(format!("the posterior fits `{path}`, which this scenario lacks: {e}"))
            })?;
            for c in concrete {
                let value = match paths::get(&table, &c) {
                    Some(toml::Value::Integer(_)) => toml::Value::Integer(v.round() as i64),
                    Some(toml::Value::Float(_)) => toml::Value::Float(v),
                    _ => {
                        return Err(CalibrateError::Posterior(format!(
                            "the posterior fits `{path}`, but {c} is not a numeric field of this scenario"
                        )));
                    }
                };
                point.values.push((c, value));
            }
        }
        Ok(point)
    }

    /// Attaches the posterior to `cell`: each replication runs with the draw its seed
    /// picks. Every draw is resolved now, so that a value the scenario rejects is an
    /// error here rather than during the run.
    ///
    /// # Errors
    ///
    /// A fitted path the cell's scenario lacks, or a value it rejects.
    pub fn attach(self: &Arc<Self>, cell: &mut Cell) -> Result<(), CalibrateError> {
        let configs: Result<Vec<ModelConfig>, CalibrateError> = (0..self.draws.len())
            .into_par_iter()
            .map(|d| {
                let point = self.point(&cell.scenario, d)?;
                Ok(cell.scenario.at_grid_point(&point)?.model_config()?)
            })
            .collect();
        cell.posterior = Some(super::CellPosterior { posterior: Arc::clone(self), configs: Arc::new(configs?) });
        Ok(())
    }
}

/// The share of the variance of `metric` over `summaries` (replications of `cell` with
/// seeds `seed_start..`, in order) that comes from the fitted fields drawn from the cell's
/// posterior: the adjusted R² of the metric on the draws' values (a linear approximation;
/// the rest is the simulation's own noise). `None` without a posterior or with too few
/// replications.
pub fn parameter_share(cell: &Cell, seed_start: u64, summaries: &[crate::stats::Summary], metric: &str) -> Option<f64> {
    let p = cell.posterior.as_ref()?;
    let samples =
        summaries.iter().enumerate().filter_map(|(i, s)| Some((seed_start + i as u64, metrics::value(s, metric)?)));
    share_from_draws(&p.posterior, samples)
}

/// The adjusted R² of values on the fitted values of the draw each one's seed picked.
fn share_from_draws(posterior: &Posterior, samples: impl Iterator<Item = (u64, f64)>) -> Option<f64> {
    let (x, y): (Vec<Vec<f64>>, Vec<f64>) =
        samples.map(|(seed, v)| (posterior.values(posterior.draw_for(seed)).to_vec(), v)).unzip();
    abc::explained_share(&x, &y)
}

/// Per cell of a finished sweep run under `posterior`, and per metric of `metrics`, the
/// share of the metric's variance over the replications that comes from the fitted fields
/// (as [`parameter_share`]; the draw of each row follows from its seed).
pub fn variance_shares(
    posterior: &Posterior,
    cells: &[crate::stats::compare::CellSamples],
    metrics: &[&str],
) -> Vec<(String, Vec<Option<f64>>)> {
    cells
        .iter()
        .map(|cell| {
            let shares = metrics
                .iter()
                .map(|m| {
                    let samples = cell.metrics.iter().find(|(name, _)| name == m).map(|(_, s)| s.as_slice())?;
                    share_from_draws(posterior, samples.iter().copied())
                })
                .collect();
            (cell.label(), shares)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_specs_parse_and_refuse_clearly() {
        let f: FitSpec = "demand.arrivals_per_day=30..80".parse().unwrap();
        assert_eq!((f.path.as_str(), f.lo, f.hi, f.log), ("demand.arrivals_per_day", 30.0, 80.0, false));
        let f: FitSpec = "behaviour.patience_days~log=10..1000".parse().unwrap();
        assert!(f.log);
        for (bad, says) in [
            ("demand.arrivals_per_day", "PATH=LO..HI"),
            ("demand.arrivals_per_day=30-80", "PATH=LO..HI"),
            ("x=a..3", "`a` is not a number"),
            ("x~exp=1..3", "unknown prior `exp`"),
            ("=1..3", "the path is empty"),
        ] {
            let e = bad.parse::<FitSpec>().unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn systematic_resampling_follows_the_weights() {
        let picks = systematic(&[0.0, 3.0, 1.0], 8, 0.5);
        assert_eq!(picks.iter().filter(|&&i| i == 1).count(), 6);
        assert_eq!(picks.iter().filter(|&&i| i == 2).count(), 2);
        assert!(!picks.contains(&0));
    }

    #[test]
    fn a_posterior_draw_depends_on_the_seed_alone_and_follows_the_weights() {
        let p = Posterior::new(vec!["a".into()], vec![(0, 1.0, vec![1.0]), (1, 3.0, vec![2.0])]).unwrap();
        let picks: Vec<usize> = (0..4000).map(|s| p.draw_for(s)).collect();
        assert_eq!(picks, (0..4000).map(|s| p.draw_for(s)).collect::<Vec<_>>());
        let share = picks.iter().filter(|&&d| d == 1).count() as f64 / 4000.0;
        // 3 in 4, ±4 sd of 0.0068.
        assert!((share - 0.75).abs() < 0.028, "{share}");
        assert!(Posterior::new(vec!["a".into()], vec![]).is_err());
        assert!(Posterior::new(vec!["a".into()], vec![(0, 0.0, vec![1.0])]).is_err());
    }
}
