//! Replications: one seeded run of one variant, and sweeps of many fanned out over rayon.
//!
//! The runner never touches files or the terminal. A sweep hands finished replications
//! to a [`Sink`] in job order, chunk by chunk, and reports progress through a callback.

use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use crate::model::{self, DailyRow, ModelConfig, RunRecord};
use crate::scenario::{GridPoint, Scenario, ScenarioError};
use crate::stats::{self, Summary};

/// The version written into every row.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Replications per chunk: the unit of progress, resumption and sharding. Fixed, so that
/// chunk boundaries never depend on the thread count.
pub const CHUNK: usize = 64;

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
        })
    }

    /// Runs one replication.
    pub fn simulate(&self, seed: u64) -> RunRecord {
        model::simulate(&self.config, seed)
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
/// Results do not depend on the thread count: each replication depends only on its cell
/// and seed, and chunks are collected in job order.
///
/// # Errors
///
/// The sink's error.
pub fn sweep<S: Sink>(
    plan: &Plan,
    chunks: &[usize],
    threads: usize,
    stop: &AtomicBool,
    sink: &mut S,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Finish, S::Error> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a thread pool can be built");
    let done = std::sync::atomic::AtomicUsize::new(0);
    for &c in chunks {
        if stop.load(Ordering::Relaxed) {
            return Ok(Finish::Interrupted);
        }
        let rows: Vec<Option<Replication>> = pool.install(|| {
            plan.chunk_jobs(c)
                .into_par_iter()
                .map(|job| {
                    if stop.load(Ordering::Relaxed) {
                        return None;
                    }
                    let (cell, seed) = plan.job(job);
                    let run = plan.cells[cell].simulate(seed);
                    let summary = stats::summarize(&run);
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1);
                    Some(Replication { job, cell, seed, summary, daily: run.daily })
                })
                .collect()
        });
        if rows.iter().any(Option::is_none) {
            return Ok(Finish::Interrupted);
        }
        sink.chunk(c, rows.into_iter().flatten().collect())?;
    }
    Ok(Finish::Complete)
}
