//! A finished sweep directory read back for comparison: its manifest, every metric of
//! every replication by cell (variant and grid point) and seed, and the daily tables
//! reduced to 10–50–90% bands across replications.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use polars::prelude::*;

use super::files::read_frame;
use super::sweep_dir::Manifest;
use crate::model::DailyRow;
use crate::stats::compare::{Band, CellSamples, band};

/// One cell's daily series across replications.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyBands {
    /// Run days, ascending.
    pub days: Vec<u32>,
    /// Parties waiting at the end of each day.
    pub waiting: Vec<Band>,
    /// Days ahead of the earliest free slot; a day without one counts as further than any.
    pub first_free_day: Vec<Band>,
    /// First-service slots of each day under the capacity plan (the median over
    /// replications: the plan is the same for every seed); empty for sweeps written before
    /// the daily table had a `capacity` column.
    pub capacity: Vec<Option<f64>>,
}

impl DailyBands {
    /// One cell's bands from the daily rows of its replications, as a finished sweep's
    /// daily table read back gives them.
    pub fn from_runs<'a>(runs: impl IntoIterator<Item = &'a [DailyRow]>) -> Self {
        let mut days: BTreeMap<u32, Day> = BTreeMap::new();
        for row in runs.into_iter().flatten() {
            let entry = days.entry(row.day).or_default();
            entry.waiting.push(row.waiting as f64);
            match row.first_free_day {
                Some(f) => entry.first_free.push(f64::from(f)),
                None => entry.no_free += 1,
            }
            entry.capacity.push(row.capacity as f64);
        }
        Self::from_days(&days, true)
    }

    fn from_days(days: &BTreeMap<u32, Day>, has_capacity: bool) -> Self {
        DailyBands {
            days: days.keys().copied().collect(),
            waiting: days.values().map(|d| band(&d.waiting, 0)).collect(),
            first_free_day: days.values().map(|d| band(&d.first_free, d.no_free)).collect(),
            capacity: if has_capacity { days.values().map(|d| band(&d.capacity, 0).median).collect() } else { vec![] },
        }
    }
}

/// What `slotsim compare` and `slotsim report` work from.
#[derive(Debug, Clone)]
pub struct SweepResults {
    /// The directory.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// Per-replication metrics, one entry per cell in table order.
    pub cells: Vec<CellSamples>,
    /// Daily bands, one per cell, in the same order.
    pub daily: Vec<DailyBands>,
    /// The first simulated date (`YYYY-MM-DD`), if the daily table has one.
    pub start_date: Option<String>,
}

/// Columns of the summary table that identify a row rather than measure it.
const KEYS: [&str; 5] = ["scenario", "variant", "seed", "scenario_hash", "version"];

fn column<'a>(df: &'a DataFrame, name: &str, path: &Path) -> Result<&'a Column> {
    anyhow::Context::with_context(df.column(name), || format!("{} has no column \"{name}\"", path.display()))
}

fn texts(df: &DataFrame, name: &str, path: &Path) -> Result<Vec<String>> {
    let c = column(df, name, path)?.cast(&DataType::String)?;
    Ok(c.str()?.iter().map(|s| s.unwrap_or("").to_string()).collect())
}

fn numbers(df: &DataFrame, name: &str, path: &Path) -> Result<Vec<Option<f64>>> {
    let c = column(df, name, path)?.cast(&DataType::Float64)?;
    Ok(c.f64()?.iter().map(|x| x.filter(|x| x.is_finite())).collect())
}

fn seeds(df: &DataFrame, path: &Path) -> Result<Vec<u64>> {
    let c = column(df, "seed", path)?.cast(&DataType::UInt64)?;
    c.u64()?
        .iter()
        .enumerate()
        .map(|(i, s)| s.with_context(|| format!("{}: row {} has no seed", path.display(), i + 1)))
        .collect()
}

/// Whether a column holds numbers (or nothing at all, as an all-empty CSV column does).
fn is_metric(c: &Column) -> bool {
    c.dtype().is_primitive_numeric() || c.dtype().is_bool() || c.null_count() == c.len()
}

/// The table `name` of the sweep in `dir`, in the manifest's format.
fn table_path(dir: &Path, manifest: &Manifest, name: &str) -> Result<PathBuf> {
    let path = dir.join(format!("{name}.{}", manifest.format.extension()));
    if !path.exists() {
        if dir.join(".chunks").exists() {
            bail!(
                "{} is missing: the sweep in {} is unfinished (finish it with `slotsim sweep ... --resume`, or combine its shards with `slotsim merge`)",
                path.display(),
                dir.display()
            );
        }
        bail!("{} is missing: {} holds no finished sweep", path.display(), dir.display());
    }
    Ok(path)
}

/// Reads the sweep in `dir`.
///
/// # Errors
///
/// No manifest, an unfinished sweep, or tables that cannot be read or lack the key columns.
pub fn load(dir: &Path) -> Result<SweepResults> {
    let manifest = Manifest::read(dir)?;
    let summary_path = table_path(dir, &manifest, "summary")?;
    let df = read_frame(&summary_path).with_context(|| format!("cannot read {}", summary_path.display()))?;
    if df.height() == 0 {
        bail!("{} has no rows", summary_path.display());
    }
    let variants = texts(&df, "variant", &summary_path)?;
    let grid: Vec<Vec<String>> =
        manifest.grid_paths.iter().map(|p| texts(&df, p, &summary_path)).collect::<Result<_>>()?;
    let seed = seeds(&df, &summary_path)?;
    let metric_names: Vec<String> = df
        .columns()
        .iter()
        .filter(|c| !KEYS.contains(&c.name().as_str()) && !manifest.grid_paths.iter().any(|p| p == c.name().as_str()))
        .filter(|c| is_metric(c))
        .map(|c| c.name().to_string())
        .collect();
    let metric_values: Vec<Vec<Option<f64>>> =
        metric_names.iter().map(|m| numbers(&df, m, &summary_path)).collect::<Result<_>>()?;

    let mut cells: Vec<CellSamples> = Vec::new();
    let mut index: HashMap<(String, Vec<String>), usize> = HashMap::new();
    for row in 0..df.height() {
        let point: Vec<String> = grid.iter().map(|g| g[row].clone()).collect();
        let key = (variants[row].clone(), point);
        let cell = *index.entry(key.clone()).or_insert_with(|| {
            cells.push(CellSamples {
                variant: key.0.clone(),
                grid: manifest.grid_paths.iter().cloned().zip(key.1.iter().cloned()).collect(),
                metrics: metric_names.iter().map(|m| (m.clone(), Vec::new())).collect(),
            });
            cells.len() - 1
        });
        for (m, values) in metric_values.iter().enumerate() {
            if let Some(x) = values[row] {
                cells[cell].metrics[m].1.push((seed[row], x));
            }
        }
    }

    let daily_path = table_path(dir, &manifest, "daily")?;
    let (daily, start_date) = load_daily(&daily_path, &manifest, &index, cells.len())?;
    Ok(SweepResults { dir: dir.to_path_buf(), manifest, cells, daily, start_date })
}

/// Values of one day of one cell across replications.
#[derive(Default)]
struct Day {
    waiting: Vec<f64>,
    first_free: Vec<f64>,
    no_free: usize,
    capacity: Vec<f64>,
}

fn load_daily(
    path: &Path,
    manifest: &Manifest,
    index: &HashMap<(String, Vec<String>), usize>,
    cells: usize,
) -> Result<(Vec<DailyBands>, Option<String>)> {
    let df = read_frame(path).with_context(|| format!("cannot read {}", path.display()))?;
    let variants = texts(&df, "variant", path)?;
    let grid: Vec<Vec<String>> = manifest.grid_paths.iter().map(|p| texts(&df, p, path)).collect::<Result<_>>()?;
    let day = numbers(&df, "day", path)?;
    let waiting = numbers(&df, "waiting", path)?;
    let first_free = numbers(&df, "first_free_day", path)?;
    let has_capacity = df.get_column_names().iter().any(|c| c.as_str() == "capacity");
    let capacity = if has_capacity { numbers(&df, "capacity", path)? } else { vec![None; df.height()] };
    let start_date = if df.height() > 0 {
        let dates = texts(&df, "date", path)?;
        day.iter().zip(dates).find(|(d, _)| **d == Some(0.0)).map(|(_, date)| date)
    } else {
        None
    };
    let mut per_cell: Vec<BTreeMap<u32, Day>> = (0..cells).map(|_| Default::default()).collect();
    for row in 0..df.height() {
        let key = (variants[row].clone(), grid.iter().map(|g| g[row].clone()).collect::<Vec<_>>());
        let (Some(&cell), Some(d)) = (index.get(&key), day[row]) else {
            continue;
        };
        let entry = per_cell[cell].entry(d as u32).or_default();
        if let Some(w) = waiting[row] {
            entry.waiting.push(w);
        }
        match first_free[row] {
            Some(f) => entry.first_free.push(f),
            None => entry.no_free += 1,
        }
        entry.capacity.extend(capacity[row]);
    }
    let bands = per_cell.into_iter().map(|days| DailyBands::from_days(&days, has_capacity)).collect();
    Ok((bands, start_date))
}
