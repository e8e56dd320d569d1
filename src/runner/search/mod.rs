//! Sequential experiments: `optimize` (the smallest or largest value of a parameter that
//! meets requirements) and `select` (the best variant), adding replications with common
//! seeds until the statistics in [`crate::stats::sequential`] and
//! [`crate::stats::selection`] decide.
//!
//! Results never depend on the thread count: replications are simulated in fixed batches
//! (their number depends only on the data), and each depends only on its cell and seed.

use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

mod optimize;
mod select;

pub use optimize::{Examined, OptimizeOutcome, OptimizeProblem, OptimizeQuestion, optimize};
pub use select::{Candidate, Pilot, SELECT_BATCH, SelectOutcome, SelectProblem, SelectQuestion, select};

use super::Cell;
use crate::model::Workspace;
use crate::scenario::{GridPoint, Scenario, ScenarioError, paths};
use crate::stats::{self, Summary};

/// Why a question cannot be asked as posed, or a search cannot finish. Messages name
/// the parameter in the library's words; a front end adds its own flag names.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SearchError {
    /// The scenario rejects a variant or a candidate.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The searched or set path cannot be used.
    #[error("{0}")]
    Path(String),
    /// A value of the searched range that the scenario rejects.
    #[error("the value {value} is not allowed: {source}")]
    Value {
        /// The value.
        value: i64,
        /// Why the scenario rejects it.
        source: ScenarioError,
    },
    /// A range whose low end is above its high end.
    #[error("the range {lo}..{hi} is empty: LO ({lo}) is greater than HI ({hi})")]
    EmptyRange {
        /// Low end.
        lo: i64,
        /// High end.
        hi: i64,
    },
    /// A metric the registry does not have.
    #[error(transparent)]
    UnknownMetric(#[from] crate::stats::metrics::UnknownMetric),
    /// A confidence that is not a probability strictly between 0 and 1.
    #[error("the confidence {0} is not a probability strictly between 0 and 1 (e.g. 0.95)")]
    Confidence(f64),
    /// Fewer replications than an interval needs.
    #[error(
        "an interval needs at least 2 replications: the first look (or first stage) has {first} and the most allowed is {max}; the most must be at least the first"
    )]
    Replications {
        /// Replications at the first look or first stage.
        first: usize,
        /// Most replications.
        max: usize,
    },
    /// An indifference zone that is not a positive number.
    #[error("the indifference zone (delta) {0} must be a positive number in the metric's units, e.g. 0.5")]
    Delta(f64),
    /// Higher asked to be better for a metric that is better lower.
    #[error("{0} is better lower, so higher cannot be taken as better")]
    Direction(String),
    /// A metric whose better direction is not known, ranked without saying which way.
    #[error(
        "which way {0} is better is not known: say whether higher is better, or rank by a metric with a direction such as lead_days_mean"
    )]
    UnknownDirection(String),
    /// `select` with fewer than two candidates.
    #[error("select needs at least two candidates (variants or [sweep] grid points); there are {0}")]
    Candidates(usize),
    /// A posterior that does not fit a candidate.
    #[error("the posterior does not fit: {0}")]
    Posterior(String),
    /// The pilot that sets a default delta found a mean of 0.
    #[error("the pilot mean of {0} is 0, so 5% of it is no indifference zone: a delta must be given")]
    PilotZero(String),
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

/// Checks that `confidence` is a probability strictly between 0 and 1.
fn check_confidence(confidence: f64) -> Result<(), SearchError> {
    if confidence > 0.0 && confidence < 1.0 { Ok(()) } else { Err(SearchError::Confidence(confidence)) }
}

/// Progress of a search, for a progress bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// What is being examined (`value 23`, `4 variants left`).
    pub doing: String,
    /// Replications simulated so far in all.
    pub replications: usize,
}

/// Simulates seeds `from..to` of every cell, in parallel on `pool`; summaries by cell,
/// then seed. `None` if `stop` was set.
pub(super) fn replicate(
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

pub(super) fn pool(threads: usize) -> rayon::ThreadPool {
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
    let concrete = paths::expand(&table, path).map_err(|e| SearchError::Path(format!("`{path}`: {e}")))?;
    for p in &concrete {
        match paths::get(&table, p) {
            Some(toml::Value::Integer(_)) => {}
            Some(other) => {
                return Err(SearchError::Path(format!(
                    "`{path}`: `{p}` is {} ({}), not an integer; a search varies whole numbers such as slot counts or days",
                    other.type_str(),
                    crate::scenario::value_text(other)
                )));
            }
            None => return Err(SearchError::Path(format!("`{path}`: `{p}` does not exist in the scenario"))),
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

/// Attaches `posterior` (if any) to `cell`.
fn with_posterior(
    mut cell: Cell,
    posterior: Option<&std::sync::Arc<crate::runner::calibrate::Posterior>>,
) -> Result<Cell, SearchError> {
    if let Some(p) = posterior {
        p.attach(&mut cell).map_err(|e| SearchError::Posterior(e.to_string()))?;
    }
    Ok(cell)
}

/// The cell of `variant` with each `(path, value)` of `sets` applied (paths may hold `*`),
/// labelled with the paths as written: what `slotsim run --set` runs.
///
/// A path without `*` is set as a variant's `set` sets it, so that a field the resolved
/// scenario leaves out at its default (`allocation.urgent_share`) can be set; a name the
/// scenario does not have is refused when the result is read, with the names allowed.
///
/// # Errors
///
/// A path that does not exist, or a value the scenario rejects.
pub fn cell_with_sets(scenario: &Scenario, variant: &str, sets: &[(String, toml::Value)]) -> Result<Cell, SearchError> {
    let resolved = scenario.variant(variant)?;
    let table: toml::Table = toml::from_str(&resolved.resolved_toml()).expect("a resolved scenario parses");
    let mut values = Vec::new();
    for (path, value) in sets {
        let concrete = if path.split('.').any(|p| p == "*") {
            paths::expand(&table, path).map_err(|e| SearchError::Path(format!("`{path}`: {e}")))?
        } else {
            vec![path.clone()]
        };
        values.extend(concrete.into_iter().map(|p| (p, value.clone())));
    }
    let mut cell = Cell::new(scenario, variant, &GridPoint { values })?;
    cell.point = GridPoint { values: sets.to_vec() };
    Ok(cell)
}

/// A cell as readers see it: the variant, with its grid point if any.
pub fn cell_label(cell: &Cell) -> String {
    if cell.point.values.is_empty() {
        cell.variant.clone()
    } else {
        format!("{} @ {}", cell.variant, cell.point.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::sequential::Looks;

    const SCENARIO: &str =
        "name = \"q\"\ndays = 20\n[[variant]]\nname = \"wl\"\nset = { \"allocation.policy\" = \"waitlist\" }\n";

    fn optimize_question() -> OptimizeQuestion {
        OptimizeQuestion {
            variant: "base".into(),
            path: "service.0.bands.*.slots".into(),
            lo: 5,
            hi: 30,
            largest: false,
            requirements: vec!["lead_days_mean<=10".parse().unwrap()],
            confidence: 0.95,
            looks: Looks { first: 10, max: 100 },
            seed_start: 1,
            posterior: None,
        }
    }

    fn select_question() -> SelectQuestion {
        SelectQuestion {
            metric: "lead_days_mean".into(),
            higher_is_better: false,
            delta: Some(1.0),
            confidence: 0.95,
            constraints: Vec::new(),
            first_stage: 10,
            max_replications: 100,
            seed_start: 1,
            posterior: None,
        }
    }

    /// Every check of the constructors, each with the words of its message.
    #[test]
    fn questions_are_checked_before_anything_runs() {
        let s = Scenario::from_toml_str(SCENARIO).unwrap();
        assert!(OptimizeProblem::new(s.clone(), optimize_question()).is_ok());
        let bad: Vec<(OptimizeQuestion, &str)> = vec![
            (OptimizeQuestion { lo: 30, hi: 5, ..optimize_question() }, "LO (30) is greater than HI (5)"),
            (OptimizeQuestion { confidence: 1.0, ..optimize_question() }, "strictly between 0 and 1"),
            (OptimizeQuestion { looks: Looks { first: 1, max: 100 }, ..optimize_question() }, "at least 2"),
            (OptimizeQuestion { lo: -1, ..optimize_question() }, "the value -1 is not allowed"),
            (OptimizeQuestion { path: "demand.arrivals_per_day".into(), ..optimize_question() }, "not an integer"),
            (OptimizeQuestion { variant: "nope".into(), ..optimize_question() }, "nope"),
            (
                OptimizeQuestion { requirements: vec!["lead_dayz<=3".parse().unwrap()], ..optimize_question() },
                "unknown metric `lead_dayz`",
            ),
        ];
        for (q, words) in bad {
            let e = OptimizeProblem::new(s.clone(), q).unwrap_err().to_string();
            assert!(e.contains(words), "{e:?} lacks {words:?}");
            assert!(!e.contains("--"), "a flag in the library's words: {e}");
        }
        assert!(SelectProblem::new(&s, None, select_question()).is_ok());
        let bad: Vec<(SelectQuestion, Option<Vec<String>>, &str)> = vec![
            (SelectQuestion { delta: Some(0.0), ..select_question() }, None, "positive"),
            (SelectQuestion { metric: "x".into(), ..select_question() }, None, "unknown metric `x`"),
            (SelectQuestion { higher_is_better: true, ..select_question() }, None, "better lower"),
            (SelectQuestion { metric: "events".into(), ..select_question() }, None, "which way events is better"),
            (SelectQuestion { first_stage: 20, max_replications: 10, ..select_question() }, None, "at least 2"),
            (select_question(), Some(vec!["wl".into()]), "at least two candidates"),
        ];
        for (q, variants, words) in bad {
            let e = SelectProblem::new(&s, variants.as_deref(), q).unwrap_err().to_string();
            assert!(e.contains(words), "{e:?} lacks {words:?}");
        }
    }

    #[test]
    fn a_pilot_sets_delta_from_seeds_the_procedure_does_not_reuse() {
        let s = Scenario::from_toml_str(SCENARIO).unwrap();
        let q =
            SelectQuestion { delta: None, first_stage: 4, max_replications: 12, seed_start: 3, ..select_question() };
        let problem = SelectProblem::new(&s, None, q).unwrap();
        let outcome = select(&problem, 1, &AtomicBool::new(false), &|_| {}).unwrap();
        let pilot = outcome.pilot.clone().expect("a pilot ran");
        assert_eq!((pilot.seeds, pilot.replications, outcome.seed_start), ((3, 6), 8, 7));
        assert!(outcome.delta > 0.0 && (outcome.delta / (0.05 * pilot.mean) - 1.0).abs() < 0.06, "{outcome:?}");
        assert!(outcome.simulated() >= 8 + 2 * 4);
    }
}
