//! A sweep's output directory: `manifest.json`, finished chunks under `.chunks/`, and the
//! final `summary` and `daily` tables.
//!
//! Every file appears atomically. A chunk is done when its summary file exists (its daily
//! file is written first). The final tables are assembled from the chunks, in job order,
//! once every chunk is present; then the chunks are removed. A sweep killed at any moment
//! therefore leaves only whole files, and `--resume` runs the missing chunks.
//!
//! A shard directory (one part of a sharded sweep: its manifest names the part) keeps its
//! chunks, and only those, under `.chunks/` for `slotsim merge`: it never assembles final
//! tables, even when its part holds every chunk of the sweep, and a part that holds no
//! chunk at all is a manifest and an empty `.chunks/`.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::files::{Format, concat_files, write_frame, write_text};
use super::tables::{daily_frame, summary_frame};
use crate::runner::shard::Shard;
use crate::runner::{CHUNK, Plan, Replication, Sink, VERSION};

/// One cell of the plan, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellInfo {
    /// Variant.
    pub variant: String,
    /// Grid point label.
    pub grid: String,
    /// Resolved scenario hash.
    pub scenario_hash: String,
}

/// What a sweep directory holds, so that any row can be reproduced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `slotsim`.
    pub tool: String,
    /// Tool version.
    pub version: String,
    /// The command line that started the sweep.
    pub command: Vec<String>,
    /// Scenario name.
    pub scenario: String,
    /// Scenario file as given.
    pub scenario_file: String,
    /// The scenario's text, verbatim.
    pub scenario_toml: String,
    /// The resolved base scenario.
    pub resolved_toml: String,
    /// Hash of the resolved base scenario.
    pub scenario_hash: String,
    /// First seed.
    pub seed_start: u64,
    /// Seeds per cell.
    pub replications: u64,
    /// Cells in order (variant, grid point).
    pub cells: Vec<CellInfo>,
    /// Grid axes.
    pub grid_paths: Vec<String>,
    /// Table format.
    pub format: Format,
    /// Replications per chunk.
    pub chunk_size: usize,
    /// This directory's part, if it is one part of a sharded sweep (`[index, count]` in
    /// the file).
    pub shard: Option<Shard>,
    /// The fingerprint of the posterior the fitted fields were drawn from (`--posterior`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posterior: Option<String>,
}

impl Manifest {
    /// The manifest of `plan`.
    pub fn new(
        plan: &Plan,
        scenario_file: &str,
        scenario_toml: &str,
        resolved: &crate::scenario::Scenario,
        format: Format,
        shard: Option<Shard>,
    ) -> Self {
        Self {
            tool: "slotsim".into(),
            version: VERSION.into(),
            command: std::env::args().collect(),
            scenario: plan.scenario.clone(),
            scenario_file: scenario_file.into(),
            scenario_toml: scenario_toml.into(),
            resolved_toml: resolved.resolved_toml(),
            scenario_hash: resolved.hash(),
            seed_start: plan.seed_start,
            replications: plan.replications,
            cells: plan
                .cells
                .iter()
                .map(|c| CellInfo { variant: c.variant.clone(), grid: c.point.label(), scenario_hash: c.hash.clone() })
                .collect(),
            grid_paths: plan.grid_paths.clone(),
            format,
            chunk_size: CHUNK,
            shard,
            posterior: plan.posterior().map(|p| p.fingerprint()),
        }
    }

    /// Whether two manifests describe the same sweep (apart from sharding and command).
    pub fn same_sweep(&self, other: &Manifest) -> bool {
        self.differences(other).is_empty()
    }

    /// What differs between the sweeps of two manifests (apart from sharding and command),
    /// as words for a message: empty for the same sweep.
    pub fn differences(&self, other: &Manifest) -> Vec<String> {
        let mut differ = Vec::new();
        if self.scenario_toml != other.scenario_toml {
            differ.push(format!("scenario (\"{}\" and \"{}\")", self.scenario, other.scenario));
        }
        if self.cells != other.cells {
            differ.push("variants or grid points".into());
        }
        if self.seed_start != other.seed_start {
            differ.push(format!("first seed ({} and {})", self.seed_start, other.seed_start));
        }
        if self.replications != other.replications {
            differ.push(format!("replications ({} and {})", self.replications, other.replications));
        }
        if self.format != other.format {
            differ.push("table format".into());
        }
        if self.chunk_size != other.chunk_size {
            differ.push("chunk size".into());
        }
        if self.posterior != other.posterior {
            differ.push("posterior (--posterior)".into());
        }
        if self.version != other.version {
            differ.push(format!("slotsim version ({} and {})", self.version, other.version));
        }
        differ
    }

    /// Reads `dir/manifest.json`.
    ///
    /// # Errors
    ///
    /// Missing or unreadable manifest.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join("manifest.json");
        let text = fs::read_to_string(&path)
            .with_context(|| format!("{} is not a sweep directory: cannot read {}", dir.display(), path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not a slotsim manifest", path.display()))
    }

    pub(super) fn write(&self, dir: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)?;
        write_text(&dir.join("manifest.json"), &text)
    }
}

/// A sweep directory being written.
#[derive(Debug)]
pub struct SweepDir<'a> {
    dir: PathBuf,
    plan: &'a Plan,
    manifest: Manifest,
}

pub(super) fn chunk_path(dir: &Path, table: &str, c: usize) -> PathBuf {
    dir.join(".chunks").join(format!("{table}-{c:06}.parquet"))
}

/// Chunks whose summary file exists in `dir`.
pub fn done_chunks(dir: &Path) -> Result<BTreeSet<usize>> {
    let mut done = BTreeSet::new();
    let chunks = dir.join(".chunks");
    if !chunks.exists() {
        return Ok(done);
    }
    for entry in fs::read_dir(&chunks).with_context(|| format!("cannot list {}", chunks.display()))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if let Some(n) = name.strip_prefix("summary-").and_then(|n| n.strip_suffix(".parquet"))
            && let Ok(c) = n.parse()
        {
            done.insert(c);
        }
    }
    Ok(done)
}

impl<'a> SweepDir<'a> {
    /// Opens `dir` for `manifest`'s sweep: a new directory, or with `resume` one that holds
    /// the same sweep.
    ///
    /// # Errors
    ///
    /// The directory holds another sweep, or holds one and `resume` is off.
    pub fn open(dir: &Path, plan: &'a Plan, manifest: Manifest, resume: bool) -> Result<Self> {
        let mut finished = false;
        if dir.join("manifest.json").exists() {
            let old = Manifest::read(dir)?;
            if let Some(refusal) = finished_shard(dir, &old) {
                bail!("{refusal}");
            }
            finished = tables_written(dir, old.format);
            if !resume && finished {
                bail!(
                    "{} already holds a finished sweep of \"{}\": choose another --out, or delete it to run again",
                    dir.display(),
                    old.scenario
                );
            }
            if !resume {
                bail!(
                    "{} already holds an unfinished sweep of \"{}\": use --resume to finish it, or choose another --out",
                    dir.display(),
                    old.scenario
                );
            }
            if !old.same_sweep(&manifest) {
                bail!(
                    "{} holds a different sweep (scenario, variants, seeds, replications, format or version differ): --resume needs the same command; choose another --out",
                    dir.display()
                );
            }
            if old.shard != manifest.shard {
                let part = |s: Option<Shard>| s.map_or("the whole sweep".into(), |s| format!("part {s}"));
                bail!(
                    "{} holds {} of this sweep, not {}: --resume it with the same --shard, or choose another --out",
                    dir.display(),
                    part(old.shard),
                    part(manifest.shard)
                );
            }
        } else if resume {
            bail!("{} holds no sweep to resume (no manifest.json)", dir.display());
        }
        if !finished {
            fs::create_dir_all(dir.join(".chunks")).with_context(|| format!("cannot create {}", dir.display()))?;
            manifest.write(dir)?;
        }
        Ok(Self { dir: dir.to_path_buf(), plan, manifest })
    }

    /// Chunks already done.
    ///
    /// # Errors
    ///
    /// The chunk folder cannot be listed.
    pub fn done(&self) -> Result<BTreeSet<usize>> {
        done_chunks(&self.dir)
    }

    /// Whether the final tables are already written (a finished sweep). Never for a
    /// shard directory, which keeps its chunks for `slotsim merge`.
    pub fn is_finished(&self) -> bool {
        self.manifest.shard.is_none()
            && tables_written(&self.dir, self.manifest.format)
            && !self.dir.join(".chunks").exists()
    }

    /// Assembles the final tables if every chunk is present; returns whether it did. A
    /// shard directory never does, whatever chunks its part holds (all of them, or none):
    /// `slotsim merge` assembles the tables from the chunks of every part.
    ///
    /// # Errors
    ///
    /// I/O or polars errors.
    pub fn finish(&self) -> Result<bool> {
        if self.manifest.shard.is_some() {
            return Ok(false);
        }
        finalize(&self.dir, self.plan.chunks(), self.manifest.format)
    }
}

/// Whether `dir` holds a sweep's final tables in `format`: the summary is written last.
pub(super) fn tables_written(dir: &Path, format: Format) -> bool {
    dir.join(format!("summary.{}", format.extension())).exists()
}

/// Why a shard directory that holds final tables and no chunks cannot be resumed or
/// merged: `None` for every other directory. Only a slotsim older than this one wrote
/// such a directory, when its part held every chunk of the sweep.
pub(super) fn finished_shard(dir: &Path, manifest: &Manifest) -> Option<String> {
    let shard = manifest.shard?;
    if !tables_written(dir, manifest.format) || dir.join(".chunks").exists() {
        return None;
    }
    Some(format!(
        "{} holds part {shard} of a sweep finished as the whole sweep by an older slotsim (the part held every \
         chunk, so its summary.{ext} and daily.{ext} are the whole sweep's tables): use those tables as they are, \
         or run the part again into an empty directory",
        dir.display(),
        ext = manifest.format.extension()
    ))
}

/// Writes `dir/summary.*` and `dir/daily.*` from its chunks, if all `chunks` are present.
///
/// # Errors
///
/// I/O or polars errors.
pub fn finalize(dir: &Path, chunks: usize, format: Format) -> Result<bool> {
    let done = done_chunks(dir)?;
    if (0..chunks).any(|c| !done.contains(&c)) {
        return Ok(false);
    }
    for table in ["daily", "summary"] {
        let parts: Vec<PathBuf> = (0..chunks).map(|c| chunk_path(dir, table, c)).collect();
        concat_files(&parts, &dir.join(format!("{table}.{}", format.extension())), format)?;
    }
    fs::remove_dir_all(dir.join(".chunks")).with_context(|| format!("cannot remove {}/.chunks", dir.display()))?;
    Ok(true)
}

impl Sink for SweepDir<'_> {
    type Error = anyhow::Error;

    fn chunk(&mut self, chunk: usize, rows: Vec<Replication>) -> Result<()> {
        let mut daily = daily_frame(self.plan, &rows)?;
        write_frame(&mut daily, &chunk_path(&self.dir, "daily", chunk), Format::Parquet)?;
        let mut summary = summary_frame(self.plan, &rows)?;
        write_frame(&mut summary, &chunk_path(&self.dir, "summary", chunk), Format::Parquet)
    }
}
