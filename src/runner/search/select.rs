//! `select`: the variant (or grid point) with the best mean of a metric, within an
//! indifference zone of the best at a stated confidence (Kim and Nelson's KN, after
//! sequential feasibility checks when there are constraints).

use std::sync::atomic::AtomicBool;

use super::{Progress, SearchError, cell_label, check_confidence, pool, replicate};
use crate::runner::{Cell, Plan};
use crate::scenario::Scenario;
use crate::stats::compare::{Better, mean, metric_info};
use crate::stats::selection::{Kn, KnParams, fixed_design};
use crate::stats::sequential::{Check, Decision, Looks, Requirement, alpha_per_look, check, combine};
use crate::stats::{Summary, metrics};

/// Replications per survivor added at a time by `select` after its first stage. Fixed, so
/// that what is simulated never depends on the thread count.
pub const SELECT_BATCH: usize = 8;

/// The share of the pilot mean that a default indifference zone is.
pub const PILOT_DELTA_SHARE: f64 = 0.05;

/// The question `select` answers, as asked: checked by [`SelectProblem::new`].
#[derive(Debug, Clone)]
pub struct SelectQuestion {
    /// The metric ranked.
    pub metric: String,
    /// Higher is better, for a metric whose direction is not known (for others their own
    /// direction counts, and asking higher for one that is better lower is an error).
    pub higher_is_better: bool,
    /// Indifference zone: differences below it do not matter. `None`: 5% of the
    /// candidates' mean over a pilot of `first_stage` seeds, which the procedure then does
    /// not reuse.
    pub delta: Option<f64>,
    /// For the choice as a whole (feasibility and selection together).
    pub confidence: f64,
    /// Constraints a candidate must meet to be chosen.
    pub constraints: Vec<Requirement>,
    /// KN's first stage n₀ (also the first look of the feasibility checks), at least 2.
    pub first_stage: usize,
    /// Most replications per candidate, at least `first_stage`.
    pub max_replications: usize,
    /// First seed.
    pub seed_start: u64,
    /// A calibration's posterior the fitted fields are drawn from, seed by seed.
    pub posterior: Option<std::sync::Arc<crate::runner::calibrate::Posterior>>,
}

/// A checked `select` question with its candidates.
#[derive(Debug, Clone)]
pub struct SelectProblem {
    cells: Vec<Cell>,
    question: SelectQuestion,
    higher_is_better: bool,
}

impl SelectProblem {
    /// The question over `variants` of `scenario` (all, `base` first, if `None`) and its
    /// `[sweep]` grid points.
    ///
    /// # Errors
    ///
    /// An unknown variant, a candidate that does not validate, or as [`SelectProblem::from_cells`].
    pub fn new(
        scenario: &Scenario,
        variants: Option<&[String]>,
        question: SelectQuestion,
    ) -> Result<Self, SearchError> {
        let plan = Plan::new(scenario, variants, question.seed_start, 1)?;
        Self::from_cells(plan.cells, question)
    }

    /// The question over the given candidates.
    ///
    /// # Errors
    ///
    /// Fewer than two candidates, an unknown metric, a metric whose direction is unknown
    /// (and not said) or contradicted, a confidence that is not a probability, a delta that
    /// is not positive, or fewer than 2 replications.
    pub fn from_cells(cells: Vec<Cell>, question: SelectQuestion) -> Result<Self, SearchError> {
        let q = &question;
        metrics::lookup(&q.metric)?;
        check_confidence(q.confidence)?;
        if let Some(d) = q.delta
            && !(d > 0.0 && d.is_finite())
        {
            return Err(SearchError::Delta(d));
        }
        for r in &q.constraints {
            metrics::lookup(&r.metric)?;
        }
        if q.first_stage < 2 || q.max_replications < q.first_stage {
            return Err(SearchError::Replications { first: q.first_stage, max: q.max_replications });
        }
        let higher_is_better = match (metric_info(&q.metric).better, q.higher_is_better) {
            (Better::Higher, _) | (Better::Neutral, true) => true,
            (Better::Lower, false) => false,
            (Better::Lower, true) => return Err(SearchError::Direction(q.metric.clone())),
            (Better::Neutral, false) => return Err(SearchError::UnknownDirection(q.metric.clone())),
        };
        if cells.len() < 2 {
            return Err(SearchError::Candidates(cells.len()));
        }
        let cells =
            cells.into_iter().map(|c| super::with_posterior(c, q.posterior.as_ref())).collect::<Result<Vec<_>, _>>()?;
        Ok(Self { cells, question, higher_is_better })
    }

    /// The candidates (variants × grid points).
    pub fn cells(&self) -> &[Cell] {
        &self.cells
    }

    /// The question.
    pub fn question(&self) -> &SelectQuestion {
        &self.question
    }

    /// Whether higher values of the metric are better.
    pub fn higher_is_better(&self) -> bool {
        self.higher_is_better
    }
}

/// The pilot that set a default indifference zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Pilot {
    /// The candidates' mean of the metric over the pilot (absolute value).
    pub mean: f64,
    /// The first and last seed of the pilot.
    pub seeds: (u64, u64),
    /// Replications the pilot ran in all.
    pub replications: usize,
}

/// One candidate's record.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Summaries simulated, seed by seed from `seed_start`.
    pub summaries: Vec<Summary>,
    /// Feasibility checks at the deciding look (empty without constraints).
    pub feasibility: Vec<Check>,
    /// The feasibility verdict (`Meets` without constraints).
    pub feasible: Decision,
    /// Replications the procedure used: feasibility, then KN's elimination stage.
    pub used: usize,
    /// Stage at which KN eliminated it (`None`: chosen, not in KN, or not eliminated).
    pub eliminated_at: Option<usize>,
}

/// What `select` found.
#[derive(Debug, Clone)]
pub struct SelectOutcome {
    /// Per candidate, in the input order.
    pub candidates: Vec<Candidate>,
    /// The chosen candidate; `None` if none is feasible or the run was interrupted.
    pub selected: Option<usize>,
    /// Whether KN finished (one survivor) within the replication limit: only then does the
    /// guarantee hold.
    pub decided: bool,
    /// The error probability given to the feasibility checks (0 without constraints).
    pub alpha_feasibility: f64,
    /// The error probability given to KN.
    pub alpha_selection: f64,
    /// KN's h².
    pub h2: f64,
    /// Replications per candidate of the fixed equal-allocation design with the same
    /// guarantee (see [`fixed_design`]), and at least the most any feasibility check used.
    pub fixed_per_candidate: Option<usize>,
    /// Stopped by the caller.
    pub interrupted: bool,
    /// The indifference zone used: the question's, or the pilot's.
    pub delta: f64,
    /// The procedure's first seed (after the pilot's seeds, if there was one).
    pub seed_start: u64,
    /// The pilot, when the question gave no delta.
    pub pilot: Option<Pilot>,
}

impl SelectOutcome {
    /// Replications the procedure used in all.
    pub fn used(&self) -> usize {
        self.candidates.iter().map(|c| c.used).sum()
    }

    /// Replications simulated in all (batches may run a little past an elimination).
    pub fn simulated(&self) -> usize {
        self.candidates.iter().map(|c| c.summaries.len()).sum::<usize>()
            + self.pilot.as_ref().map_or(0, |p| p.replications)
    }
}

/// The values of `metric` in `summaries`; every one must be defined.
fn ranked(summaries: &[Summary], metric: &str, cell: &Cell, seed_start: u64) -> Result<Vec<f64>, SearchError> {
    summaries
        .iter()
        .enumerate()
        .map(|(i, s)| {
            metrics::value(s, metric).ok_or_else(|| SearchError::Undefined {
                metric: metric.to_string(),
                cell: cell_label(cell),
                seed: seed_start + i as u64,
            })
        })
        .collect()
}

/// Runs `select`: feasibility checks (when there are constraints, with half the error
/// probability), then KN among the feasible candidates over the same seeds.
///
/// The guarantee covers both steps: if every candidate's feasibility is classified rightly
/// (probability ≥ 1 − α/2 by the Bonferroni split of [`crate::stats::sequential`]), the set
/// KN runs on is the true feasible set, on which KN errs with probability ≤ α/2; so the
/// choice is within δ of the best feasible candidate with probability ≥ 1 − α.
///
/// # Errors
///
/// The ranked metric is undefined in some replication.
pub fn select(
    problem: &SelectProblem,
    threads: usize,
    stop: &AtomicBool,
    progress: &(dyn Fn(&Progress) + Sync),
) -> Result<SelectOutcome, SearchError> {
    let pool = pool(threads);
    let q = &problem.question;
    let k = problem.cells.len();
    // The pilot: a default delta from seeds the procedure then does not reuse.
    let (delta, seed_start, pilot) = match q.delta {
        Some(d) => (d, q.seed_start, None),
        None => {
            let n = q.first_stage as u64;
            let cells: Vec<&Cell> = problem.cells.iter().collect();
            progress(&Progress { doing: "pilot".into(), replications: 0 });
            let runs = replicate(&pool, &cells, q.seed_start, q.seed_start + n, stop);
            let Some(runs) = runs else {
                return Ok(SelectOutcome {
                    candidates: Vec::new(),
                    selected: None,
                    decided: false,
                    alpha_feasibility: 0.0,
                    alpha_selection: 0.0,
                    h2: 0.0,
                    fixed_per_candidate: None,
                    interrupted: true,
                    delta: 0.0,
                    seed_start: q.seed_start,
                    pilot: None,
                });
            };
            let means: Vec<f64> = runs
                .iter()
                .filter_map(|s| mean(&s.iter().filter_map(|x| metrics::value(x, &q.metric)).collect::<Vec<_>>()))
                .collect();
            let m = mean(&means).unwrap_or(0.0).abs();
            if m.is_nan() || m <= 0.0 {
                return Err(SearchError::PilotZero(q.metric.clone()));
            }
            let replications = runs.iter().map(Vec::len).sum();
            let pilot = Pilot { mean: m, seeds: (q.seed_start, q.seed_start + n - 1), replications };
            (round2(PILOT_DELTA_SHARE * m), q.seed_start + n, Some(pilot))
        }
    };
    let alpha = 1.0 - q.confidence;
    let (alpha_f, alpha_s) = if q.constraints.is_empty() { (0.0, alpha) } else { (alpha / 2.0, alpha / 2.0) };
    let mut candidates: Vec<Candidate> = (0..k)
        .map(|_| Candidate {
            summaries: Vec::new(),
            feasibility: Vec::new(),
            feasible: if q.constraints.is_empty() { Decision::Meets } else { Decision::Undecided },
            used: 0,
            eliminated_at: None,
        })
        .collect();
    let mut total = pilot.as_ref().map_or(0, |p: &Pilot| p.replications);
    let outcome = |candidates, selected, decided, h2, fixed, interrupted| SelectOutcome {
        candidates,
        selected,
        decided,
        alpha_feasibility: alpha_f,
        alpha_selection: alpha_s,
        h2,
        fixed_per_candidate: fixed,
        interrupted,
        delta,
        seed_start,
        pilot: pilot.clone(),
    };
    // Extends the candidates in `which` to `n` replications each.
    let mut extend = |candidates: &mut Vec<Candidate>, which: &[usize], n: usize, doing: String| -> bool {
        progress(&Progress { doing: doing.clone(), replications: total });
        // Candidates of the same length are run together, each from its own next seed.
        let mut lengths: Vec<usize> = which.iter().map(|&i| candidates[i].summaries.len()).filter(|&l| l < n).collect();
        lengths.sort_unstable();
        lengths.dedup();
        for from in lengths {
            let group: Vec<usize> = which.iter().copied().filter(|&i| candidates[i].summaries.len() == from).collect();
            let cells: Vec<&Cell> = group.iter().map(|&i| &problem.cells[i]).collect();
            let Some(runs) = replicate(&pool, &cells, seed_start + from as u64, seed_start + n as u64, stop) else {
                return false;
            };
            for (&i, runs) in group.iter().zip(runs) {
                total += runs.len();
                candidates[i].summaries.extend(runs);
            }
        }
        progress(&Progress { doing, replications: total });
        true
    };

    // Feasibility: sequential looks for every candidate with constraints still undecided.
    let mut feasibility_most = 0;
    if !q.constraints.is_empty() {
        let looks = Looks { first: q.first_stage, max: q.max_replications };
        let schedule = looks.schedule();
        let a = alpha_per_look(1.0 - alpha_f, k, q.constraints.len(), schedule.len());
        for &n in &schedule {
            let open: Vec<usize> = (0..k).filter(|&i| candidates[i].feasible == Decision::Undecided).collect();
            if open.is_empty() {
                break;
            }
            if !extend(&mut candidates, &open, n, format!("constraints: {} candidate(s) undecided", open.len())) {
                return Ok(outcome(candidates, None, false, 0.0, None, true));
            }
            for &i in &open {
                let c = &mut candidates[i];
                c.feasibility = q
                    .constraints
                    .iter()
                    .map(|r| {
                        let xs: Vec<f64> = c.summaries.iter().filter_map(|s| metrics::value(s, &r.metric)).collect();
                        check(&xs, r, a)
                    })
                    .collect();
                c.feasible = combine(&c.feasibility);
                c.used = c.summaries.len();
                feasibility_most = feasibility_most.max(c.used);
            }
        }
    }
    let feasible: Vec<usize> = (0..k).filter(|&i| candidates[i].feasible == Decision::Meets).collect();
    if feasible.is_empty() {
        return Ok(outcome(candidates, None, true, 0.0, None, false));
    }

    // KN among the feasible, over the same seeds.
    let params = KnParams { systems: feasible.len(), first_stage: q.first_stage, delta, alpha: alpha_s };
    let higher = problem.higher_is_better;
    let mut kn = Kn::new(params, higher);
    loop {
        let data: Vec<Vec<f64>> = feasible
            .iter()
            .map(|&i| ranked(&candidates[i].summaries, &q.metric, &problem.cells[i], seed_start))
            .collect::<Result<_, _>>()?;
        kn.advance(&data);
        if kn.selected().is_some() || kn.stage() >= q.max_replications {
            break;
        }
        let survivors: Vec<usize> = kn.survivors().into_iter().map(|j| feasible[j]).collect();
        let target = (kn.stage() + SELECT_BATCH).max(q.first_stage).min(q.max_replications);
        let need: Vec<usize> = survivors.iter().copied().filter(|&i| candidates[i].summaries.len() < target).collect();
        let doing = format!("{} of {} candidates left", survivors.len(), feasible.len());
        if !extend(&mut candidates, &need, target, doing) {
            return Ok(outcome(candidates, None, false, params.h2(), None, true));
        }
    }
    let decided = kn.selected().is_some();
    let chosen = kn.selected().or_else(|| kn.leader()).map(|j| feasible[j]);
    for (j, &i) in feasible.iter().enumerate() {
        let c = &mut candidates[i];
        c.used = c.used.max(kn.used(j));
        c.eliminated_at = if kn.survivors().contains(&j) { None } else { Some(kn.used(j)) };
    }
    let fixed = match kn.variances() {
        Some(v) => fixed_design(v, q.first_stage, delta, alpha_s),
        None => Some(q.first_stage),
    }
    .map(|n| n.max(feasibility_most));
    Ok(outcome(candidates, chosen, decided, params.h2(), fixed, false))
}

/// Two significant digits.
fn round2(x: f64) -> f64 {
    if x == 0.0 {
        return 0.0;
    }
    let p = 10f64.powi(x.abs().log10().floor() as i32 - 1);
    (x / p).round() * p
}
