//! Replications: one seeded run of one variant, and sweeps of many fanned out over rayon.
//!
//! The runner never touches files or the terminal. A sweep hands finished replications
//! to a [`Sink`] in job order, chunk by chunk, and reports progress through a callback.

pub mod calibrate;
pub mod memory;
pub mod precision;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

pub mod search;
pub mod shard;
pub mod whatif;

use crate::model::{self, DailyRow, ModelConfig, RunRecord, Workspace};
use crate::scenario::{GridPoint, Scenario, ScenarioError};
use crate::stats::{self, Summary};

/// The version written into every row.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Replications per chunk: the unit of progress, resumption and sharding. Fixed, so that
/// chunk boundaries never depend on the thread count.
pub const CHUNK: usize = 64;

/// The worker threads a sweep or search runs on for `threads` (0 = one per core), for
/// estimates made before it runs.
pub fn workers(threads: usize) -> usize {
    match threads {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        t => t,
    }
}

/// One variant at one grid point, resolved and ready to run.
#[derive(Debug, Clone)]
pub struct Cell {
    /// Variant name (`base` for the base scenario).
    pub variant: String,
    /// Grid point (empty without a `[sweep]` grid).
    pub point: GridPoint,
    /// The resolved scenario.
    pub scenario: Scenario,
    /// Its model configuration.
    pub config: ModelConfig,
    /// Hash of the resolved scenario.
    pub hash: String,
    /// A calibration's posterior the fitted fields are drawn from, seed by seed.
    pub posterior: Option<CellPosterior>,
}

/// A posterior attached to a cell ([`calibrate::Posterior::attach`]): the cell's
/// configuration under each draw.
#[derive(Debug, Clone)]
pub struct CellPosterior {
    /// The posterior.
    pub posterior: std::sync::Arc<calibrate::Posterior>,
    /// The cell's configuration under each draw, in draw order.
    pub configs: std::sync::Arc<Vec<ModelConfig>>,
}

impl Cell {
    /// Resolves `variant` of `scenario` at grid `point`.
    ///
    /// # Errors
    ///
    /// The variant does not exist or does not validate at that point.
    pub fn new(scenario: &Scenario, variant: &str, point: &GridPoint) -> Result<Self, ScenarioError> {
        let resolved = scenario.variant(variant)?.at_grid_point(point)?;
        let config = resolved.model_config()?;
        Ok(Self {
            variant: variant.to_string(),
            point: point.clone(),
            hash: resolved.hash(),
            scenario: resolved,
            config,
            posterior: None,
        })
    }

    /// The configuration replication `seed` runs: the cell's own, or under a posterior,
    /// that of the draw the seed picks.
    pub fn config_for(&self, seed: u64) -> &ModelConfig {
        match &self.posterior {
            Some(p) => &p.configs[p.posterior.draw_for(seed)],
            None => &self.config,
        }
    }

    /// The posterior draw (its number in `posterior.csv`) replication `seed` uses.
    pub fn posterior_draw(&self, seed: u64) -> Option<u32> {
        self.posterior.as_ref().map(|p| p.posterior.draws[p.posterior.draw_for(seed)].0)
    }

    /// Runs one replication.
    pub fn simulate(&self, seed: u64) -> RunRecord {
        model::simulate(self.config_for(seed), seed)
    }

    /// Runs one replication with a thread's reusable buffers (the same result).
    pub fn simulate_in(&self, workspace: &mut Workspace, seed: u64) -> RunRecord {
        model::simulate_in(workspace, self.config_for(seed), seed)
    }
}

/// Every variant × grid point × seed of a sweep, in output order.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The scenario's name.
    pub scenario: String,
    /// Cells, ordered by variant then grid point.
    pub cells: Vec<Cell>,
    /// Paths of the grid axes (columns of the summary).
    pub grid_paths: Vec<String>,
    /// First seed.
    pub seed_start: u64,
    /// Seeds per cell.
    pub replications: u64,
}

impl Plan {
    /// The plan for `variants` (all, `base` first, if `None`) of `scenario`.
    ///
    /// # Errors
    ///
    /// An unknown variant, or a variant or grid point that does not validate.
    pub fn new(
        scenario: &Scenario,
        variants: Option<&[String]>,
        seed_start: u64,
        replications: u64,
    ) -> Result<Self, ScenarioError> {
        let names: Vec<String> = match variants {
            Some(v) => v.to_vec(),
            None => scenario.variant_names().into_iter().map(str::to_string).collect(),
        };
        let grid = scenario.grid()?;
        let grid_paths = grid.first().map(|p| p.values.iter().map(|(k, _)| k.clone()).collect()).unwrap_or_default();
        let mut cells = Vec::new();
        for name in &names {
            for point in &grid {
                cells.push(Cell::new(scenario, name, point)?);
            }
        }
        Ok(Self { scenario: scenario.name.clone(), cells, grid_paths, seed_start, replications })
    }

    /// Draws every cell's fitted fields from `posterior`, seed by seed (see
    /// [`calibrate::Posterior::attach`]).
    ///
    /// # Errors
    ///
    /// A fitted path a cell's scenario lacks, or a value it rejects.
    pub fn attach_posterior(
        &mut self,
        posterior: &std::sync::Arc<calibrate::Posterior>,
    ) -> Result<(), calibrate::CalibrateError> {
        self.cells.iter_mut().try_for_each(|cell| posterior.attach(cell))
    }

    /// The posterior the cells draw from, if any.
    pub fn posterior(&self) -> Option<&calibrate::Posterior> {
        self.cells.first().and_then(|c| c.posterior.as_ref()).map(|p| p.posterior.as_ref())
    }

    /// The plan of one `variant` of `scenario` with each `(path, value)` of `sets` applied
    /// (paths may hold `*`), seeds `seed_start..seed_start + replications`: the set paths
    /// are the summary's grid columns, as in a single run with fields set.
    ///
    /// # Errors
    ///
    /// An unknown variant, a path that does not exist, or a value the scenario rejects.
    pub fn with_sets(
        scenario: &Scenario,
        variant: &str,
        sets: &[(String, toml::Value)],
        seed_start: u64,
        replications: u64,
    ) -> Result<Self, search::SearchError> {
        let cell = search::cell_with_sets(scenario, variant, sets)?;
        Ok(Self {
            scenario: scenario.name.clone(),
            cells: vec![cell],
            grid_paths: sets.iter().map(|(p, _)| p.clone()).collect(),
            seed_start,
            replications,
        })
    }

    /// Number of replications.
    pub fn jobs(&self) -> usize {
        self.cells.len() * self.replications as usize
    }

    /// Cell and seed of job `i`.
    pub fn job(&self, i: usize) -> (usize, u64) {
        let r = self.replications as usize;
        (i / r, self.seed_start + (i % r) as u64)
    }

    /// Number of chunks.
    pub fn chunks(&self) -> usize {
        self.jobs().div_ceil(CHUNK)
    }

    /// Jobs of chunk `c`.
    pub fn chunk_jobs(&self, c: usize) -> std::ops::Range<usize> {
        c * CHUNK..((c + 1) * CHUNK).min(self.jobs())
    }
}

/// One finished replication of a sweep.
#[derive(Debug, Clone)]
pub struct Replication {
    /// Job index in the plan.
    pub job: usize,
    /// Cell index in the plan.
    pub cell: usize,
    /// Seed.
    pub seed: u64,
    /// Its summary row.
    pub summary: Summary,
    /// Its daily rows.
    pub daily: Vec<DailyRow>,
}

/// Receives finished chunks, in the order of the chunks given to [`sweep`].
pub trait Sink {
    /// The error a sink may fail with.
    type Error;
    /// Chunk `chunk`'s replications, in job order.
    ///
    /// # Errors
    ///
    /// Whatever the sink fails with; the sweep stops.
    fn chunk(&mut self, chunk: usize, rows: Vec<Replication>) -> Result<(), Self::Error>;
}

/// How a sweep ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// Every chunk asked for was delivered.
    Complete,
    /// Stopped early at the caller's request; delivered chunks are whole.
    Interrupted,
}

/// Runs `chunks` of `plan` on `threads` threads (0 = all cores), delivering each finished
/// chunk to `sink` in order. `stop` is checked between replications; `progress` is called
/// with the number of replications finished so far.
///
/// Workers take replications one at a time in job order and never wait for each other:
/// the calling thread puts finished replications back in order and hands each chunk to
/// the sink as soon as it is whole, while the workers go on with the next ones. (Running
/// chunk after chunk with a parallel iterator left a core idle at the end of every chunk
/// and while the sink wrote.)
///
/// Results do not depend on the thread count: each replication depends only on its cell
/// and seed, and chunks are delivered in job order.
///
/// # Errors
///
/// The sink's error; the workers stop after the replication they are running.
pub fn sweep<S: Sink>(
    plan: &Plan,
    chunks: &[usize],
    threads: usize,
    stop: &AtomicBool,
    sink: &mut S,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Finish, S::Error> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a thread pool can be built");
    // Every job to run, in delivery order, with the position of its chunk in `chunks`.
    let jobs: Vec<(usize, usize)> =
        chunks.iter().enumerate().flat_map(|(k, &c)| plan.chunk_jobs(c).map(move |job| (k, job))).collect();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    // Bounded, so that workers wait rather than pile up rows if the sink is slow.
    let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Replication)>(4 * CHUNK);
    let workers = pool.current_num_threads();
    pool.in_place_scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (jobs, next, done) = (&jobs, &next, &done);
            scope.spawn(move |_| {
                let mut workspace = Workspace::default();
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(_, job)) = jobs.get(i) else { break };
                    let (cell, seed) = plan.job(job);
                    let mut run = plan.cells[cell].simulate_in(&mut workspace, seed);
                    let summary = stats::summarize(&run);
                    let daily = std::mem::take(&mut run.daily);
                    workspace.recycle(run);
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1);
                    if tx.send((i, Replication { job, cell, seed, summary, daily })).is_err() {
                        break; // The sink failed; nobody is listening.
                    }
                }
            });
        }
        drop(tx);
        deliver(&jobs, chunks, rx, sink)
    })
}

/// Receives finished replications (numbered by their position in `jobs`) in any order
/// and hands each chunk to `sink` once all of its replications are in.
fn deliver<S: Sink>(
    jobs: &[(usize, usize)],
    chunks: &[usize],
    rx: std::sync::mpsc::Receiver<(usize, Replication)>,
    sink: &mut S,
) -> Result<Finish, S::Error> {
    // Replications that arrived ahead of their turn, by position.
    let mut early: std::collections::BTreeMap<usize, Replication> = Default::default();
    let mut chunk_rows = Vec::with_capacity(CHUNK);
    let mut expected = 0;
    for (i, replication) in rx {
        early.insert(i, replication);
        while let Some(replication) = early.remove(&expected) {
            let k = jobs[expected].0;
            chunk_rows.push(replication);
            expected += 1;
            if jobs.get(expected).is_none_or(|&(next_k, _)| next_k != k) {
                sink.chunk(chunks[k], std::mem::replace(&mut chunk_rows, Vec::with_capacity(CHUNK)))?;
            }
        }
    }
    Ok(if expected == jobs.len() { Finish::Complete } else { Finish::Interrupted })
}

/// A [`Sink`] that keeps every replication in memory, in delivery order.
#[derive(Debug, Default)]
pub struct Collected(pub Vec<Replication>);

impl Sink for Collected {
    type Error = std::convert::Infallible;

    fn chunk(&mut self, _chunk: usize, rows: Vec<Replication>) -> Result<(), Self::Error> {
        self.0.extend(rows);
        Ok(())
    }
}

/// Runs every replication of `plan` (as [`sweep`] does) and returns them in job order;
/// `Finish::Interrupted` with the whole chunks finished so far if `stop` was set.
pub fn collect(
    plan: &Plan,
    threads: usize,
    stop: &AtomicBool,
    progress: &(dyn Fn(usize) + Sync),
) -> (Finish, Vec<Replication>) {
    let chunks: Vec<usize> = (0..plan.chunks()).collect();
    let mut sink = Collected::default();
    let finish = match sweep(plan, &chunks, threads, stop, &mut sink, progress) {
        Ok(finish) => finish,
        Err(never) => match never {},
    };
    (finish, sink.0)
}
