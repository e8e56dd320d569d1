//! A sweep run to a precision: replications are added, a chunk of seeds per cell at a time,
//! until every cell's 95% interval of each named metric has half-width at most a target
//! (absolute, or a share of the cell's mean), or a replication limit is reached.
//!
//! Every round runs the next seeds of every cell, so the replications kept are exactly
//! those of a fixed sweep of the seeds it ended with: written through the same writer,
//! its tables are byte-identical to that sweep's.

use std::sync::atomic::AtomicBool;

use super::search::cell_label;
use super::{CHUNK, Finish, Plan, Replication, Sink, sweep};
use crate::scenario::{Scenario, ScenarioError};
use crate::stats::Summary;
use crate::stats::compare::{Target, estimate, required_replications};
use crate::stats::metrics::{self, UnknownMetric};

/// The level of the intervals whose half-width is targeted.
pub const LEVEL: f64 = 0.95;

/// Why a precision sweep cannot be asked as posed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PrecisionError {
    /// The scenario rejects a variant or grid point.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// An unknown metric.
    #[error(transparent)]
    Metric(#[from] UnknownMetric),
    /// No target given.
    #[error("a precision sweep needs at least one target (a metric and a half-width)")]
    NoTargets,
    /// Too few replications for an interval, or a limit below the first round.
    #[error(
        "a precision sweep needs a first round of at least 2 replications per cell and a limit at least as large (got {first} and {max})"
    )]
    Replications {
        /// The first round's replications per cell.
        first: u64,
        /// The limit.
        max: u64,
    },
}

/// What a precision sweep is asked, before it is checked.
#[derive(Debug, Clone)]
pub struct PrecisionQuestion {
    /// Per metric, the half-width wanted.
    pub targets: Vec<(String, Target)>,
    /// Replications per cell in the first round (at least 2).
    pub first: u64,
    /// Most replications per cell.
    pub max_replications: u64,
    /// First seed.
    pub seed_start: u64,
    /// Only these variants (all, `base` first, if `None`).
    pub variants: Option<Vec<String>>,
}

/// A checked precision sweep of a scenario.
#[derive(Debug, Clone)]
pub struct PrecisionSweep {
    question: PrecisionQuestion,
    /// The plan of the first round (its cells are every round's).
    first: Plan,
}

/// One cell's shortfall: the metric, the half-width reached, the one wanted, and the
/// replications its standard deviation suggests.
#[derive(Debug, Clone, PartialEq)]
pub struct Shortfall {
    /// The cell, as readers see it.
    pub cell: String,
    /// The metric.
    pub metric: String,
    /// The half-width reached (`None`: no interval, say fewer than two defined values).
    pub half_width: Option<f64>,
    /// The half-width wanted.
    pub wanted: f64,
    /// Replications per cell that would reach it (`None`: cannot tell).
    pub need: Option<u64>,
}

/// Progress of a precision sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrecisionProgress {
    /// Replications per cell the current round runs to.
    pub per_cell: u64,
    /// Replications finished in all.
    pub done: usize,
}

/// What a precision sweep ended with.
#[derive(Debug, Clone)]
pub struct PrecisionOutcome {
    /// The plan of the fixed sweep it equals (seeds `seed_start..seed_start + per_cell`).
    pub plan: Plan,
    /// Every replication, in the plan's job order.
    pub replications: Vec<Replication>,
    /// What is still short at the limit (empty when the precision was reached).
    pub shortfalls: Vec<Shortfall>,
    /// Stopped by the caller (nothing else in the outcome is complete then).
    pub interrupted: bool,
}

impl PrecisionSweep {
    /// Checks `question` against `scenario`: known metrics, at least one target, a first
    /// round of at least 2 replications, a limit at least that, valid variants.
    ///
    /// # Errors
    ///
    /// The first thing found wrong.
    pub fn new(scenario: &Scenario, question: PrecisionQuestion) -> Result<Self, PrecisionError> {
        if question.targets.is_empty() {
            return Err(PrecisionError::NoTargets);
        }
        for (metric, _) in &question.targets {
            metrics::lookup(metric)?;
        }
        if question.first < 2 || question.max_replications < question.first {
            return Err(PrecisionError::Replications { first: question.first, max: question.max_replications });
        }
        let first = Plan::new(scenario, question.variants.as_deref(), question.seed_start, question.first)?;
        Ok(Self { question, first })
    }

    /// Draws every cell's fitted fields from `posterior`, seed by seed.
    ///
    /// # Errors
    ///
    /// A fitted path a cell's scenario lacks, or a value it rejects.
    pub fn attach_posterior(
        &mut self,
        posterior: &std::sync::Arc<super::calibrate::Posterior>,
    ) -> Result<(), super::calibrate::CalibrateError> {
        self.first.attach_posterior(posterior)
    }

    /// The plan of the first round.
    pub fn first_plan(&self) -> &Plan {
        &self.first
    }

    /// The question.
    pub fn question(&self) -> &PrecisionQuestion {
        &self.question
    }

    fn plan(&self, start: u64, n: u64) -> Plan {
        let mut plan = self.first.clone();
        plan.seed_start = start;
        plan.replications = n;
        plan
    }

    /// The shortfalls of every cell, given each cell's summaries so far.
    fn shortfalls(&self, rows: &[Vec<Summary>]) -> Vec<Shortfall> {
        let mut out = Vec::new();
        for (c, cell) in self.first.cells.iter().enumerate() {
            for (metric, target) in &self.question.targets {
                let xs: Vec<f64> = rows[c].iter().filter_map(|s| metrics::value(s, metric)).collect();
                let Some(e) = estimate(&xs, LEVEL) else { continue };
                let wanted = target.half_width(e.mean);
                if e.half_width.is_some_and(|h| h <= wanted) {
                    continue;
                }
                let need = e.sd.and_then(|sd| required_replications(sd, e.n, wanted, LEVEL));
                out.push(Shortfall {
                    cell: cell_label(cell),
                    metric: metric.clone(),
                    half_width: e.half_width,
                    wanted,
                    need,
                });
            }
        }
        out
    }

    /// Runs rounds until the precision is reached or the limit, on `threads` threads (0 =
    /// all cores); `stop` ends it early.
    pub fn run(
        &self,
        threads: usize,
        stop: &AtomicBool,
        progress: &(dyn Fn(PrecisionProgress) + Sync),
    ) -> PrecisionOutcome {
        let q = &self.question;
        let cells = self.first.cells.len();
        // Per cell, every replication so far, in seed order.
        let mut kept: Vec<Vec<Replication>> = vec![Vec::new(); cells];
        let mut have = 0u64;
        let mut next = q.first;
        loop {
            let plan = self.plan(q.seed_start + have, next - have);
            let chunks: Vec<usize> = (0..plan.chunks()).collect();
            let done_before: usize = kept.iter().map(Vec::len).sum();
            let round = |n: usize| progress(PrecisionProgress { per_cell: next, done: done_before + n });
            let mut sink = Keep::default();
            let Ok(finish) = sweep(&plan, &chunks, threads, stop, &mut sink, &round);
            if finish == Finish::Interrupted || sink.0.len() < plan.jobs() {
                return PrecisionOutcome {
                    plan: self.plan(q.seed_start, have),
                    replications: Vec::new(),
                    shortfalls: Vec::new(),
                    interrupted: true,
                };
            }
            for r in sink.0 {
                kept[r.cell].push(r);
            }
            have = next;
            let summaries: Vec<Vec<Summary>> =
                kept.iter().map(|c| c.iter().map(|r| r.summary.clone()).collect()).collect();
            let shortfalls = self.shortfalls(&summaries);
            if shortfalls.is_empty() || have >= q.max_replications {
                let plan = self.plan(q.seed_start, have);
                let replications = renumber(kept, have as usize);
                return PrecisionOutcome { plan, replications, shortfalls, interrupted: false };
            }
            // The most any cell needs, in whole chunks of seeds, at least one more chunk.
            let need = shortfalls.iter().map(|s| s.need.unwrap_or(u64::MAX)).max().unwrap_or(have + 1);
            let step = CHUNK as u64;
            next = need.max(have + 1).div_ceil(step).saturating_mul(step).min(q.max_replications);
        }
    }
}

/// The replications of every cell, numbered as the fixed sweep of `n` seeds per cell
/// numbers its jobs.
fn renumber(kept: Vec<Vec<Replication>>, n: usize) -> Vec<Replication> {
    let mut rows = Vec::with_capacity(kept.len() * n);
    for (cell, reps) in kept.into_iter().enumerate() {
        for (i, mut r) in reps.into_iter().enumerate() {
            r.job = cell * n + i;
            r.cell = cell;
            rows.push(r);
        }
    }
    rows
}

/// A sink that keeps every replication, in delivery order.
#[derive(Default)]
struct Keep(Vec<Replication>);

impl Sink for Keep {
    type Error = std::convert::Infallible;
    fn chunk(&mut self, _: usize, rows: Vec<Replication>) -> Result<(), Self::Error> {
        self.0.extend(rows);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    const SCENARIO: &str = "name = \"p\"\ndays = 40\n[demand]\narrivals_per_day = 20.0\n";

    fn question(targets: &[(&str, Target)], first: u64, max: u64) -> PrecisionQuestion {
        PrecisionQuestion {
            targets: targets.iter().map(|(m, t)| (m.to_string(), *t)).collect(),
            first,
            max_replications: max,
            seed_start: 3,
            variants: None,
        }
    }

    #[test]
    fn bad_questions_are_refused_before_anything_runs() {
        let s = Scenario::from_toml_str(SCENARIO).unwrap();
        let bad = [
            (question(&[], 2, 10), "at least one target"),
            (question(&[("lead_dayz", Target::Absolute(1.0))], 2, 10), "unknown metric `lead_dayz`"),
            (question(&[("utilization", Target::Absolute(1.0))], 1, 10), "at least 2"),
            (question(&[("utilization", Target::Absolute(1.0))], 8, 4), "got 8 and 4"),
        ];
        for (q, wanted) in bad {
            let e = PrecisionSweep::new(&s, q).unwrap_err().to_string();
            assert!(e.contains(wanted), "{e} lacks {wanted}");
        }
    }

    #[test]
    fn it_stops_at_the_limit_with_the_shortfall_or_when_the_precision_is_reached() {
        let s = Scenario::from_toml_str(SCENARIO).unwrap();
        let stop = AtomicBool::new(false);
        // An impossible precision: stops at the limit and says what is short.
        let p = PrecisionSweep::new(&s, question(&[("lead_days_mean", Target::Absolute(1e-9))], 3, 5)).unwrap();
        let out = p.run(1, &stop, &|_| {});
        assert!(!out.interrupted);
        assert_eq!((out.plan.replications, out.replications.len()), (5, 5));
        assert_eq!(out.shortfalls.len(), 1);
        assert!(out.shortfalls[0].half_width.unwrap() > 1e-9);
        // The rows are those of a fixed sweep of seeds 3..=7, in job order.
        let seeds: Vec<u64> = out.replications.iter().map(|r| r.seed).collect();
        assert_eq!(seeds, vec![3, 4, 5, 6, 7]);
        assert!(out.replications.iter().enumerate().all(|(i, r)| r.job == i));
        // A loose precision is reached in the first round.
        let p = PrecisionSweep::new(&s, question(&[("lead_days_mean", Target::Relative(10.0))], 3, 500)).unwrap();
        let out = p.run(1, &stop, &|_| {});
        assert!(out.shortfalls.is_empty() && out.plan.replications == 3, "{:?}", out.shortfalls);
    }
}
