//! `optimize`: the smallest (or largest) value of an integer parameter at which every
//! requirement on a metric's mean holds, by bisection with sequential looks.

use std::sync::atomic::AtomicBool;

use super::{Progress, SearchError, cell_at, check_confidence, integer_paths, pool, replicate, with_posterior};
use crate::runner::Cell;
use crate::scenario::Scenario;
use crate::stats::sequential::{
    Bisection, Check, Contradiction, Decision, Looks, Requirement, ValueSamples, alpha_per_look, check, combine,
    contradictions,
};
use crate::stats::{Summary, metrics};

/// The question `optimize` answers, as asked: checked by [`OptimizeProblem::new`].
#[derive(Debug, Clone)]
pub struct OptimizeQuestion {
    /// The scenario's variant (`base` for the base).
    pub variant: String,
    /// The path varied, as written (may hold `*`): an integer field.
    pub path: String,
    /// Smallest value.
    pub lo: i64,
    /// Largest value.
    pub hi: i64,
    /// Search for the largest value that meets (the requirements get harder as it grows).
    pub largest: bool,
    /// Every requirement must hold.
    pub requirements: Vec<Requirement>,
    /// For the answer as a whole, strictly between 0 and 1.
    pub confidence: f64,
    /// First look and most replications per value (each at least 2).
    pub looks: Looks,
    /// First seed: every value is run with seeds `seed_start..`.
    pub seed_start: u64,
    /// A calibration's posterior the fitted fields are drawn from, seed by seed.
    pub posterior: Option<std::sync::Arc<crate::runner::calibrate::Posterior>>,
}

/// A checked `optimize` question on its scenario.
#[derive(Debug, Clone)]
pub struct OptimizeProblem {
    scenario: Scenario,
    question: OptimizeQuestion,
    /// The concrete paths `question.path` stands for.
    concrete: Vec<String>,
    /// The cells at both ends of the range, resolved when they were checked.
    ends: [Cell; 2],
}

impl OptimizeProblem {
    /// Checks `question` against `scenario`: the variant exists, the path holds an integer,
    /// both ends of the range make a valid scenario, the metrics exist, the confidence is a
    /// probability and the looks have at least 2 replications. Nothing is simulated.
    ///
    /// # Errors
    ///
    /// The first thing found wrong, in the library's words.
    pub fn new(scenario: Scenario, question: OptimizeQuestion) -> Result<Self, SearchError> {
        let q = &question;
        if q.lo > q.hi {
            return Err(SearchError::EmptyRange { lo: q.lo, hi: q.hi });
        }
        for r in &q.requirements {
            metrics::lookup(&r.metric)?;
        }
        check_confidence(q.confidence)?;
        if q.looks.first < 2 || q.looks.max < 2 {
            return Err(SearchError::Replications { first: q.looks.first, max: q.looks.max });
        }
        let concrete = integer_paths(&scenario, &q.variant, &q.path)?;
        let end = |value| {
            let cell = cell_at(&scenario, &q.variant, &q.path, &concrete, value)
                .map_err(|source| SearchError::Value { value, source })?;
            with_posterior(cell, q.posterior.as_ref())
        };
        let ends = [end(q.lo)?, end(q.hi)?];
        Ok(Self { scenario, question, concrete, ends })
    }

    /// The question.
    pub fn question(&self) -> &OptimizeQuestion {
        &self.question
    }

    /// The scenario.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The cells at both ends of the range (for a memory estimate before running).
    pub fn end_cells(&self) -> &[Cell; 2] {
        &self.ends
    }
}

/// One value examined.
#[derive(Debug, Clone)]
pub struct Examined {
    /// The value.
    pub value: i64,
    /// Its cell.
    pub cell: Cell,
    /// Per requirement, the check at the deciding (or last) look.
    pub checks: Vec<Check>,
    /// The verdict (undecided counts as not meeting).
    pub decision: Decision,
    /// Summaries of its replications, seed by seed from `seed_start`.
    pub summaries: Vec<Summary>,
}

/// What `optimize` found.
#[derive(Debug, Clone)]
pub struct OptimizeOutcome {
    /// Values examined, in the order examined.
    pub examined: Vec<Examined>,
    /// The answer: `None` if no value in range meets (or the search was interrupted).
    pub answer: Option<i64>,
    /// Each tail's probability at each look.
    pub alpha_per_look: f64,
    /// Most values the bisection could examine (the Bonferroni split's K).
    pub max_examined: usize,
    /// The looks (replication counts).
    pub looks: Vec<usize>,
    /// Estimates against the assumed monotonicity.
    pub contradictions: Vec<Contradiction>,
    /// Stopped by the caller before the search was over.
    pub interrupted: bool,
}

impl OptimizeOutcome {
    /// Replications simulated in all.
    pub fn replications(&self) -> usize {
        self.examined.iter().map(|e| e.summaries.len()).sum()
    }

    /// The replications an exhaustive grid of equal precision would simulate: every value
    /// in `[lo, hi]` run as often as the value that needed most here.
    pub fn grid_equivalent(&self, lo: i64, hi: i64) -> u128 {
        let most = self.examined.iter().map(|e| e.summaries.len()).max().unwrap_or(0) as u128;
        (u128::from(hi.abs_diff(lo)) + 1) * most
    }
}

/// Runs `optimize`: bisection over `[lo, hi]`, each examined value decided by sequential
/// looks with common seeds. `stop` ends it early (the outcome says `interrupted`).
///
/// # Errors
///
/// A value the scenario rejects, or a path that cannot be varied.
pub fn optimize(
    problem: &OptimizeProblem,
    threads: usize,
    stop: &AtomicBool,
    progress: &(dyn Fn(&Progress) + Sync),
) -> Result<OptimizeOutcome, SearchError> {
    let (q, concrete) = (&problem.question, &problem.concrete);
    let pool = pool(threads);
    let looks = q.looks.schedule();
    let max_examined = Bisection::max_examined(q.lo, q.hi);
    let alpha = alpha_per_look(q.confidence, max_examined, q.requirements.len(), looks.len());
    let mut search = Bisection::new(q.lo, q.hi, q.largest);
    let mut examined: Vec<Examined> = Vec::new();
    let mut total = 0;
    let mut interrupted = false;
    'values: while let Some(value) = search.next_value() {
        let cell =
            with_posterior(cell_at(&problem.scenario, &q.variant, &q.path, concrete, value)?, q.posterior.as_ref())?;
        let mut summaries: Vec<Summary> = Vec::new();
        let mut checks = Vec::new();
        let mut decision = Decision::Undecided;
        for &n in &looks {
            progress(&Progress { doing: format!("{} = {value}", q.path), replications: total });
            let from = q.seed_start + summaries.len() as u64;
            let Some(mut more) = replicate(&pool, &[&cell], from, q.seed_start + n as u64, stop) else {
                interrupted = true;
                break 'values;
            };
            total += more[0].len();
            summaries.append(&mut more[0]);
            checks = q
                .requirements
                .iter()
                .map(|r| {
                    let xs: Vec<f64> = summaries.iter().filter_map(|s| metrics::value(s, &r.metric)).collect();
                    check(&xs, r, alpha)
                })
                .collect();
            decision = combine(&checks);
            if decision != Decision::Undecided {
                break;
            }
        }
        progress(&Progress { doing: format!("{} = {value}", q.path), replications: total });
        search.record(value, decision == Decision::Meets);
        examined.push(Examined { value, cell, checks, decision, summaries });
    }
    let samples: Vec<ValueSamples> = examined
        .iter()
        .map(|e| {
            let per_req = q
                .requirements
                .iter()
                .map(|r| {
                    e.summaries
                        .iter()
                        .enumerate()
                        .filter_map(|(i, s)| metrics::value(s, &r.metric).map(|x| (q.seed_start + i as u64, x)))
                        .collect()
                })
                .collect();
            (e.value, per_req)
        })
        .collect();
    let contradictions = contradictions(&q.requirements, &samples, q.largest);
    let answer = if interrupted { None } else { search.answer() };
    Ok(OptimizeOutcome { examined, answer, alpha_per_look: alpha, max_examined, looks, contradictions, interrupted })
}
