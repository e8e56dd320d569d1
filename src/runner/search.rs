//! Sequential experiments: `optimize` (the smallest or largest value of a parameter that
//! meets requirements) and `select` (the best variant), adding replications with common
//! seeds until the statistics in [`crate::stats::sequential`] and
//! [`crate::stats::selection`] decide.
//!
//! Results never depend on the thread count: replications are simulated in fixed batches
//! (their number depends only on the data), and each depends only on its cell and seed.

use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use super::Cell;
use crate::model::Workspace;
use crate::scenario::{GridPoint, Scenario, ScenarioError, paths};
use crate::stats::selection::{Kn, KnParams, fixed_design};
use crate::stats::sequential::{
    Bisection, Check, Contradiction, Decision, Looks, Requirement, ValueSamples, alpha_per_look, check, combine,
    contradictions,
};
use crate::stats::{self, Metric, Summary};

/// Replications per survivor added at a time by `select` after its first stage. Fixed, so
/// that what is simulated never depends on the thread count.
pub const SELECT_BATCH: usize = 8;

/// Why a search cannot run or finish.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SearchError {
    /// The scenario rejects a value or variant.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The searched path cannot be varied.
    #[error("{0}")]
    Path(String),
    /// A metric `select` ranks by is undefined in a replication.
    #[error(
        "{metric} is undefined in replication seed {seed} of {cell} (say, nobody was served), so it cannot be ranked; choose a metric defined in every replication"
    )]
    Undefined {
        /// The metric.
        metric: String,
        /// The cell's label.
        cell: String,
        /// The seed.
        seed: u64,
    },
}

/// Progress of a search, for a progress bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// What is being examined (`value 23`, `4 variants left`).
    pub doing: String,
    /// Replications simulated so far in all.
    pub replications: usize,
}

/// A metric of a summary as a number (counts and run days too); `None` where undefined or
/// where the summary has no such column.
pub fn metric_value(summary: &Summary, metric: &str) -> Option<f64> {
    summary.metrics().into_iter().find(|(n, _)| *n == metric).and_then(|(_, m)| match m {
        Metric::Count(n) => Some(n as f64),
        Metric::Real(x) => x,
        Metric::Day(d) => d.map(f64::from),
    })
}

/// Simulates seeds `from..to` of every cell, in parallel on `pool`; summaries by cell,
/// then seed. `None` if `stop` was set.
fn replicate(
    pool: &rayon::ThreadPool,
    cells: &[&Cell],
    from: u64,
    to: u64,
    stop: &AtomicBool,
) -> Option<Vec<Vec<Summary>>> {
    if to <= from {
        return Some(vec![Vec::new(); cells.len()]);
    }
    let per = (to - from) as usize;
    let jobs: Vec<(usize, u64)> = (0..cells.len()).flat_map(|c| (from..to).map(move |s| (c, s))).collect();
    let done: Option<Vec<Summary>> = pool.install(|| {
        jobs.par_iter()
            .map_init(Workspace::default, |ws, &(c, seed)| {
                if stop.load(Ordering::Relaxed) {
                    return None;
                }
                let run = cells[c].simulate_in(ws, seed);
                let summary = stats::summarize(&run);
                ws.recycle(run);
                Some(summary)
            })
            .collect()
    });
    let done = done?;
    if stop.load(Ordering::Relaxed) {
        return None;
    }
    Some(done.chunks(per).map(<[Summary]>::to_vec).collect())
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a thread pool can be built")
}

/// The concrete paths `path` (with `*` wildcards) stands for in `scenario`'s `variant`,
/// each holding an integer.
///
/// # Errors
///
/// An unknown variant, a path that does not exist, or one whose value is not an integer.
pub fn integer_paths(scenario: &Scenario, variant: &str, path: &str) -> Result<Vec<String>, SearchError> {
    let resolved = scenario.variant(variant)?;
    let table: toml::Table = toml::from_str(&resolved.resolved_toml()).expect("a resolved scenario parses");
    let concrete = paths::expand(&table, path).map_err(|e| SearchError::Path(format!("--vary {path}: {e}")))?;
    for p in &concrete {
        match paths::get(&table, p) {
            Some(toml::Value::Integer(_)) => {}
            Some(other) => {
                return Err(SearchError::Path(format!(
                    "--vary {path}: `{p}` is {} ({}), not an integer; optimize varies whole numbers such as slot counts or days",
                    other.type_str(),
                    crate::scenario::value_text(other)
                )));
            }
            None => return Err(SearchError::Path(format!("--vary {path}: `{p}` does not exist in the scenario"))),
        }
    }
    Ok(concrete)
}

/// The cell of `variant` with every path in `concrete` set to `value`; labelled with `path`
/// (as the user wrote it) as its one grid axis.
///
/// # Errors
///
/// The scenario rejects the value (say, a negative slot count).
pub fn cell_at(
    scenario: &Scenario,
    variant: &str,
    path: &str,
    concrete: &[String],
    value: i64,
) -> Result<Cell, ScenarioError> {
    let point = GridPoint { values: concrete.iter().map(|p| (p.clone(), toml::Value::Integer(value))).collect() };
    let mut cell = Cell::new(scenario, variant, &point)?;
    cell.point = GridPoint { values: vec![(path.to_string(), toml::Value::Integer(value))] };
    Ok(cell)
}

/// The cell of `variant` with each `(path, value)` of `sets` applied (paths may hold `*`),
/// labelled with the paths as written: what `slotsim run --set` runs.
///
/// # Errors
///
/// A path that does not exist, or a value the scenario rejects.
pub fn cell_with_sets(scenario: &Scenario, variant: &str, sets: &[(String, toml::Value)]) -> Result<Cell, SearchError> {
    let resolved = scenario.variant(variant)?;
    let table: toml::Table = toml::from_str(&resolved.resolved_toml()).expect("a resolved scenario parses");
    let mut values = Vec::new();
    for (path, value) in sets {
        let concrete = paths::expand(&table, path).map_err(|e| SearchError::Path(format!("--set {path}: {e}")))?;
        values.extend(concrete.into_iter().map(|p| (p, value.clone())));
    }
    let mut cell = Cell::new(scenario, variant, &GridPoint { values })?;
    cell.point = GridPoint { values: sets.to_vec() };
    Ok(cell)
}

/// Seeds `seed_start..seed_start + n` of every cell (a pilot), in parallel; `None` if
/// `stop` was set.
pub fn pilot(
    cells: &[&Cell],
    n: usize,
    seed_start: u64,
    threads: usize,
    stop: &AtomicBool,
) -> Option<Vec<Vec<Summary>>> {
    replicate(&pool(threads), cells, seed_start, seed_start + n as u64, stop)
}

/// The question `optimize` answers.
#[derive(Debug, Clone)]
pub struct OptimizeProblem {
    /// The scenario.
    pub scenario: Scenario,
    /// Its variant (`base` for the base).
    pub variant: String,
    /// The path varied, as written (may hold `*`).
    pub path: String,
    /// Smallest value.
    pub lo: i64,
    /// Largest value.
    pub hi: i64,
    /// Search for the largest value that meets (the requirements get harder as it grows).
    pub largest: bool,
    /// Every requirement must hold.
    pub requirements: Vec<Requirement>,
    /// For the answer as a whole.
    pub confidence: f64,
    /// First look and most replications per value.
    pub looks: Looks,
    /// First seed (1 by default): value v is run with seeds `seed_start..`.
    pub seed_start: u64,
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
    let concrete = integer_paths(&problem.scenario, &problem.variant, &problem.path)?;
    let pool = pool(threads);
    let looks = problem.looks.schedule();
    let max_examined = Bisection::max_examined(problem.lo, problem.hi);
    let alpha = alpha_per_look(problem.confidence, max_examined, problem.requirements.len(), looks.len());
    let mut search = Bisection::new(problem.lo, problem.hi, problem.largest);
    let mut examined: Vec<Examined> = Vec::new();
    let mut total = 0;
    let mut interrupted = false;
    'values: while let Some(value) = search.next_value() {
        let cell = cell_at(&problem.scenario, &problem.variant, &problem.path, &concrete, value)?;
        let mut summaries: Vec<Summary> = Vec::new();
        let mut checks = Vec::new();
        let mut decision = Decision::Undecided;
        for &n in &looks {
            progress(&Progress { doing: format!("{} = {value}", problem.path), replications: total });
            let from = problem.seed_start + summaries.len() as u64;
            let Some(mut more) = replicate(&pool, &[&cell], from, problem.seed_start + n as u64, stop) else {
                interrupted = true;
                break 'values;
            };
            total += more[0].len();
            summaries.append(&mut more[0]);
            checks = problem
                .requirements
                .iter()
                .map(|r| {
                    let xs: Vec<f64> = summaries.iter().filter_map(|s| metric_value(s, &r.metric)).collect();
                    check(&xs, r, alpha)
                })
                .collect();
            decision = combine(&checks);
            if decision != Decision::Undecided {
                break;
            }
        }
        progress(&Progress { doing: format!("{} = {value}", problem.path), replications: total });
        search.record(value, decision == Decision::Meets);
        examined.push(Examined { value, cell, checks, decision, summaries });
    }
    let samples: Vec<ValueSamples> = examined
        .iter()
        .map(|e| {
            let per_req = problem
                .requirements
                .iter()
                .map(|r| {
                    e.summaries
                        .iter()
                        .enumerate()
                        .filter_map(|(i, s)| metric_value(s, &r.metric).map(|x| (problem.seed_start + i as u64, x)))
                        .collect()
                })
                .collect();
            (e.value, per_req)
        })
        .collect();
    let contradictions = contradictions(&problem.requirements, &samples, problem.largest);
    let answer = if interrupted { None } else { search.answer() };
    Ok(OptimizeOutcome { examined, answer, alpha_per_look: alpha, max_examined, looks, contradictions, interrupted })
}

/// The question `select` answers.
#[derive(Debug, Clone)]
pub struct SelectProblem {
    /// The candidates (variants × grid points).
    pub cells: Vec<Cell>,
    /// The metric ranked.
    pub metric: String,
    /// Which way it is better.
    pub higher_is_better: bool,
    /// Indifference zone: differences below it do not matter.
    pub delta: f64,
    /// For the choice as a whole (feasibility and selection together).
    pub confidence: f64,
    /// Constraints a candidate must meet to be chosen.
    pub constraints: Vec<Requirement>,
    /// KN's first stage n₀ (also the first look of the feasibility checks).
    pub first_stage: usize,
    /// Most replications per candidate.
    pub max_replications: usize,
    /// First seed.
    pub seed_start: u64,
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
}

impl SelectOutcome {
    /// Replications the procedure used in all.
    pub fn used(&self) -> usize {
        self.candidates.iter().map(|c| c.used).sum()
    }

    /// Replications simulated in all (batches may run a little past an elimination).
    pub fn simulated(&self) -> usize {
        self.candidates.iter().map(|c| c.summaries.len()).sum()
    }
}

/// The values of `metric` in `summaries`; every one must be defined.
fn ranked(summaries: &[Summary], metric: &str, cell: &Cell, seed_start: u64) -> Result<Vec<f64>, SearchError> {
    summaries
        .iter()
        .enumerate()
        .map(|(i, s)| {
            metric_value(s, metric).ok_or_else(|| SearchError::Undefined {
                metric: metric.to_string(),
                cell: cell_label(cell),
                seed: seed_start + i as u64,
            })
        })
        .collect()
}

/// A cell as readers see it: the variant, with its grid point if any.
pub fn cell_label(cell: &Cell) -> String {
    if cell.point.values.is_empty() {
        cell.variant.clone()
    } else {
        format!("{} @ {}", cell.variant, cell.point.label())
    }
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
    let k = problem.cells.len();
    let alpha = 1.0 - problem.confidence;
    let (alpha_f, alpha_s) = if problem.constraints.is_empty() { (0.0, alpha) } else { (alpha / 2.0, alpha / 2.0) };
    let mut candidates: Vec<Candidate> = (0..k)
        .map(|_| Candidate {
            summaries: Vec::new(),
            feasibility: Vec::new(),
            feasible: if problem.constraints.is_empty() { Decision::Meets } else { Decision::Undecided },
            used: 0,
            eliminated_at: None,
        })
        .collect();
    let mut total = 0;
    let outcome = |candidates, selected, decided, h2, fixed, interrupted| SelectOutcome {
        candidates,
        selected,
        decided,
        alpha_feasibility: alpha_f,
        alpha_selection: alpha_s,
        h2,
        fixed_per_candidate: fixed,
        interrupted,
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
            let Some(runs) =
                replicate(&pool, &cells, problem.seed_start + from as u64, problem.seed_start + n as u64, stop)
            else {
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
    if !problem.constraints.is_empty() {
        let looks = Looks { first: problem.first_stage, max: problem.max_replications };
        let schedule = looks.schedule();
        let a = alpha_per_look(1.0 - alpha_f, k, problem.constraints.len(), schedule.len());
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
                c.feasibility = problem
                    .constraints
                    .iter()
                    .map(|r| {
                        let xs: Vec<f64> = c.summaries.iter().filter_map(|s| metric_value(s, &r.metric)).collect();
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
    let params =
        KnParams { systems: feasible.len(), first_stage: problem.first_stage, delta: problem.delta, alpha: alpha_s };
    let higher = problem.higher_is_better;
    let mut kn = Kn::new(params, higher);
    loop {
        let data: Vec<Vec<f64>> = feasible
            .iter()
            .map(|&i| ranked(&candidates[i].summaries, &problem.metric, &problem.cells[i], problem.seed_start))
            .collect::<Result<_, _>>()?;
        kn.advance(&data);
        if kn.selected().is_some() || kn.stage() >= problem.max_replications {
            break;
        }
        let survivors: Vec<usize> = kn.survivors().into_iter().map(|j| feasible[j]).collect();
        let target = (kn.stage() + SELECT_BATCH).max(problem.first_stage).min(problem.max_replications);
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
        Some(v) => fixed_design(v, problem.first_stage, problem.delta, alpha_s),
        None => Some(problem.first_stage),
    }
    .map(|n| n.max(feasibility_most));
    Ok(outcome(candidates, chosen, decided, params.h2(), fixed, false))
}
