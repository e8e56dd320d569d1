//! `slotsim merge`: the parts of a sharded sweep combined into the tables one sweep would
//! have written.
//!
//! Everything is checked before anything is written: the parts must be of one sweep
//! (same scenario, variants, seeds, replications, format, chunk size and version), no two
//! may cover the same chunk, together they must cover every chunk, and each must hold
//! every chunk of its part (a part still running, or killed, is unfinished). A part may
//! hold no chunk at all (an array of more tasks than the sweep has chunks): it is merged
//! like any other. A refusal names the directories concerned and writes nothing.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::files::write_atomic;
use super::sweep_dir::{Manifest, chunk_path, done_chunks, finalize, finished_shard, tables_written};
use crate::runner::shard::Shard;

/// One part given to `merge`, read and checked.
struct Part {
    dir: PathBuf,
    manifest: Manifest,
    /// The chunks its shard covers.
    expected: BTreeSet<usize>,
}

impl Part {
    fn label(&self) -> String {
        match self.manifest.shard {
            Some(s) => format!("{} (part {s})", self.dir.display()),
            None => format!("{} (not a shard: every chunk)", self.dir.display()),
        }
    }
}

/// Chunks of a sweep described by `m`.
fn chunk_count(m: &Manifest) -> usize {
    (m.replications as usize * m.cells.len()).div_ceil(m.chunk_size.max(1))
}

/// A short list of numbers for a message: the first few, then how many more.
fn list(items: &BTreeSet<usize>) -> String {
    let shown: Vec<String> = items.iter().take(8).map(usize::to_string).collect();
    match items.len() {
        n if n > 8 => format!("{} and {} more", shown.join(", "), n - 8),
        _ => shown.join(", "),
    }
}

/// Reads and checks every part; the first refusal is the error.
fn check(shards: &[PathBuf], out: &Path) -> Result<Vec<Part>> {
    let Some(first) = shards.first() else { bail!("merge needs at least one shard directory") };
    let mut parts: Vec<Part> = Vec::with_capacity(shards.len());
    for dir in shards {
        let manifest = Manifest::read(dir)?;
        if manifest.shard.is_none() && tables_written(dir, manifest.format) && !dir.join(".chunks").exists() {
            bail!(
                "{} holds a finished sweep, not one part of a sharded sweep: there is nothing to merge",
                dir.display()
            );
        }
        if let Some(refusal) = finished_shard(dir, &manifest) {
            bail!("{refusal}");
        }
        if let Some(head) = parts.first() {
            let differ = head.manifest.differences(&manifest);
            if !differ.is_empty() {
                bail!(
                    "{} and {} hold parts of different sweeps ({} differ); only the parts of one sweep can be merged",
                    first.display(),
                    dir.display(),
                    differ.join(", ")
                );
            }
        }
        let chunks = chunk_count(&manifest);
        let expected = match manifest.shard {
            Some(s) => s.chunks(chunks).collect(),
            None => (0..chunks).collect(),
        };
        parts.push(Part { dir: dir.clone(), manifest, expected });
    }
    // The same directory twice, or two parts that share chunks.
    for (a, pa) in parts.iter().enumerate() {
        for pb in &parts[a + 1..] {
            let same_dir = fs::canonicalize(&pa.dir).ok().is_some_and(|d| fs::canonicalize(&pb.dir).ok() == Some(d));
            let shared: BTreeSet<usize> = pa.expected.intersection(&pb.expected).copied().collect();
            if same_dir {
                bail!("{} is given twice: each part must be given once", pa.dir.display());
            }
            if !shared.is_empty() {
                bail!(
                    "{} and {} overlap: both cover chunk(s) {} of the sweep; give each part once",
                    pa.label(),
                    pb.label(),
                    list(&shared)
                );
            }
        }
    }
    // Every chunk covered by some part.
    let chunks = chunk_count(&parts[0].manifest);
    let covered: BTreeSet<usize> = parts.iter().flat_map(|p| p.expected.iter().copied()).collect();
    let uncovered: BTreeSet<usize> = (0..chunks).filter(|c| !covered.contains(c)).collect();
    if !uncovered.is_empty() {
        let counts: BTreeSet<usize> = parts.iter().filter_map(|p| p.manifest.shard.map(|s| s.count())).collect();
        let which = match counts.iter().copied().collect::<Vec<_>>()[..] {
            [n] => {
                // The parts not given that own an uncovered chunk (with more parts than
                // chunks, a part that owns none is not needed).
                let given: BTreeSet<usize> = parts.iter().filter_map(|p| p.manifest.shard.map(|s| s.index())).collect();
                let missing: BTreeSet<usize> = (0..n)
                    .filter(|i| !given.contains(i))
                    .filter(|&i| Shard::new(i, n).is_ok_and(|s| uncovered.iter().any(|&c| s.owns(c))))
                    .collect();
                format!("part(s) {} of {n} are missing", list(&missing))
            }
            _ => "some parts are missing".to_string(),
        };
        bail!(
            "{which}: chunk(s) {} of {chunks} are in none of the {} directories given; \
             run the missing part(s) and merge again",
            list(&uncovered),
            parts.len()
        );
    }
    // Every part finished.
    for p in &parts {
        let done = done_chunks(&p.dir)?;
        let missing: BTreeSet<usize> = p.expected.difference(&done).copied().collect();
        if !missing.is_empty() {
            bail!(
                "{} is unfinished: {} of its {} chunk(s) are not written (chunk(s) {}); wait for it to finish, \
                 or finish it with the same `slotsim sweep` command and --resume",
                p.label(),
                missing.len(),
                p.expected.len(),
                list(&missing)
            );
        }
    }
    let out_is_part =
        parts.iter().any(|p| fs::canonicalize(&p.dir).ok().is_some_and(|d| fs::canonicalize(out).ok() == Some(d)));
    if !out_is_part && out.join("manifest.json").exists() {
        bail!("{} already holds a sweep: choose another --out for the merged tables", out.display());
    }
    Ok(parts)
}

/// Combines the parts of a sharded sweep into `out` (which may be one of them): the same
/// tables a single sweep would write.
///
/// # Errors
///
/// Parts of different sweeps, overlapping parts, a missing or unfinished part, an `out`
/// holding another sweep (all before anything is written), or I/O errors.
pub fn merge(shards: &[PathBuf], out: &Path) -> Result<()> {
    let parts = check(shards, out)?;
    let mut manifest = parts[0].manifest.clone();
    let chunks = chunk_count(&manifest);
    fs::create_dir_all(out.join(".chunks")).with_context(|| format!("cannot create {}", out.display()))?;
    for part in &parts {
        let same = fs::canonicalize(&part.dir).ok().is_some_and(|d| fs::canonicalize(out).ok() == Some(d));
        if same {
            continue;
        }
        for &c in &part.expected {
            for table in ["daily", "summary"] {
                let (from, to) = (chunk_path(&part.dir, table, c), chunk_path(out, table, c));
                write_atomic(&to, |w| {
                    let bytes = fs::read(&from).with_context(|| format!("cannot read {}", from.display()))?;
                    Ok(std::io::Write::write_all(w, &bytes)?)
                })?;
            }
        }
    }
    manifest.shard = None;
    manifest.command = std::env::args().collect();
    manifest.write(out)?;
    finalize(out, chunks, manifest.format)?;
    Ok(())
}
