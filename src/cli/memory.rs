//! The memory guard: before simulating, the estimate of `runner::memory` is compared with
//! the memory this process may use (`--max-memory`, else what the kernel reports as
//! available: `MemAvailable` in /proc/meminfo, and the cgroup's limit less its usage), and
//! a run or sweep that would not fit is refused with the estimate, the limit and what to
//! reduce, before anything is written.

use std::path::Path;

use anyhow::{Result, bail};

use crate::runner::memory::MemoryEstimate;

/// Columns of `parties.csv` (`output::tables::parties_frame`), for the estimate of `run`.
pub const PARTY_TABLE_COLUMNS: usize = 20;

/// A limit and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Limit {
    /// Bytes.
    pub bytes: u64,
    /// Where the figure comes from, for the message.
    pub source: String,
}

/// Parses a `--max-memory` size: a number of bytes with an optional suffix K, M, G or T
/// (powers of 1024, as Slurm's `--mem`; `KB`, `KiB` and the like mean the same).
///
/// # Errors
///
/// Anything else, with what is allowed.
pub fn parse_size(text: &str) -> Result<u64> {
    let err =
        || anyhow::anyhow!("--max-memory {text}: expected a size such as 512M, 16G or 2.5G (K, M, G, T = 1024-based)");
    let t = text.trim();
    let digits = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let number: f64 = number.parse().map_err(|_| err())?;
    let shift = match unit.trim().to_ascii_uppercase().trim_end_matches('B').trim_end_matches('I') {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(err()),
    };
    let bytes = number * (1u64 << shift) as f64;
    if !bytes.is_finite() || bytes < 1.0 || bytes > u64::MAX as f64 {
        return Err(err());
    }
    Ok(bytes as u64)
}

/// `MemAvailable` of a /proc/meminfo text, in bytes.
fn mem_available(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// A value of a cgroup `memory.stat` text.
fn stat_value(stat: &str, key: &str) -> Option<u64> {
    stat.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Room left under a cgroup's `limit` with `usage` charged, of which the inactive file
/// cache (`inactive_file` of `stat`, which the kernel reclaims before it runs out) does
/// not count.
fn room(limit: u64, usage: u64, stat: Option<&str>, inactive_key: &str) -> u64 {
    let reclaimable = stat.and_then(|s| stat_value(s, inactive_key)).unwrap_or(0);
    limit.saturating_sub(usage.saturating_sub(reclaimable))
}

/// The smallest room left under a memory limit of this process's cgroup or its
/// ancestors (cgroup v2 `memory.max` less `memory.current`, or v1's limit less usage,
/// both less the inactive file cache).
fn cgroup_room() -> Option<(u64, String)> {
    let read = |p: &Path| std::fs::read_to_string(p).ok().map(|s| s.trim().to_string());
    let own = read(Path::new("/proc/self/cgroup"))?;
    let mut best: Option<(u64, String)> = None;
    for line in own.lines() {
        let mut fields = line.splitn(3, ':');
        let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
        let (root, limit_file, usage_file, inactive_key) = if controllers.is_empty() {
            ("/sys/fs/cgroup", "memory.max", "memory.current", "inactive_file")
        } else if controllers.split(',').any(|c| c == "memory") {
            ("/sys/fs/cgroup/memory", "memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file")
        } else {
            continue;
        };
        // The group itself and each ancestor up to the root: the tightest one binds.
        let root = Path::new(root);
        let mut dir = root.join(path.trim_start_matches('/'));
        loop {
            let limit = read(&dir.join(limit_file)).and_then(|v| v.parse::<u64>().ok());
            let usage = read(&dir.join(usage_file)).and_then(|v| v.parse::<u64>().ok());
            if let (Some(limit), Some(usage)) = (limit, usage) {
                let left = room(limit, usage, read(&dir.join("memory.stat")).as_deref(), inactive_key);
                if best.as_ref().is_none_or(|(b, _)| left < *b) {
                    let what = format!("the cgroup limit {} less its usage", dir.join(limit_file).display());
                    best = Some((left, what));
                }
            }
            if dir == root || !dir.pop() {
                break;
            }
        }
    }
    best
}

/// The memory this process may use: `--max-memory` if given, else the smaller of
/// `MemAvailable` and the cgroup's room; `None` when nothing can be read.
///
/// # Errors
///
/// A malformed `--max-memory`.
pub fn limit(max_memory: Option<&str>) -> Result<Option<Limit>> {
    if let Some(text) = max_memory {
        return Ok(Some(Limit { bytes: parse_size(text)?, source: format!("--max-memory {text}") }));
    }
    let available = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| mem_available(&m))
        .map(|bytes| Limit { bytes, source: "MemAvailable in /proc/meminfo".into() });
    let cgroup = cgroup_room().map(|(bytes, source)| Limit { bytes, source });
    Ok(match (available, cgroup) {
        (Some(a), Some(c)) => Some(if c.bytes < a.bytes { c } else { a }),
        (a, c) => a.or(c),
    })
}

/// Bytes as a short figure of three significant digits: 1.05 GiB, 56.1 MiB, 326 MiB.
pub fn human(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes.max(0.0);
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    match value {
        _ if unit == 0 || value >= 100.0 => format!("{value:.0} {}", UNITS[unit]),
        _ if value >= 10.0 => format!("{value:.1} {}", UNITS[unit]),
        _ => format!("{value:.2} {}", UNITS[unit]),
    }
}

/// Refuses `estimate` for the scenario file `scenario` if it exceeds the memory this
/// process may use (`max_memory`, or what the machine has available); `sweep` as in
/// [`guard`].
///
/// # Errors
///
/// A malformed `max_memory`, or the refusal, prefixed with the scenario file.
pub fn check(estimate: &MemoryEstimate, max_memory: Option<&str>, sweep: bool, scenario: &Path) -> Result<()> {
    guard(estimate, limit(max_memory)?.as_ref(), sweep).map_err(|e| anyhow::anyhow!("{}: {e:#}", scenario.display()))
}

/// Refuses `estimate` if it exceeds `limit`. `sweep` says whether `--threads` can help.
///
/// # Errors
///
/// The refusal: the estimate and its parts, the limit and its source, what to reduce.
pub fn guard(estimate: &MemoryEstimate, limit: Option<&Limit>, sweep: bool) -> Result<()> {
    let Some(limit) = limit else { return Ok(()) };
    let total = estimate.total();
    if total <= limit.bytes as f64 {
        return Ok(());
    }
    let r = &estimate.replication;
    let fit = ((limit.bytes as f64 - estimate.fixed - estimate.buffers) / r.bytes).floor();
    let reduce = if sweep && estimate.in_flight > 1 && fit >= 1.0 {
        format!("--threads to {fit:.0} (each replication in flight needs {}), or ", human(r.bytes))
    } else {
        String::new()
    };
    bail!(
        "not enough memory: the estimated peak is {} ({} replication(s) in flight × {} for ~{:.3e} parties, \
         ~{:.3e} bookings and {:.3e} calendar slots each, + {} for tables and the program), \
         more than the {} available ({}). Reduce {}the scenario's size (days, demand.arrivals_per_day, \
         demand.burst extra, demand.initial_backlog, legacy.requests, preexisting.bookings, band slots), \
         or give --max-memory if more memory can be used",
        human(total),
        estimate.in_flight,
        human(r.bytes),
        r.parties,
        r.bookings,
        r.slots,
        human(estimate.fixed + estimate.buffers),
        human(limit.bytes as f64),
        limit.source,
        reduce
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::memory::ReplicationSize;

    #[test]
    fn sizes_parse_with_1024_based_suffixes() {
        assert_eq!(parse_size("512").unwrap(), 512);
        assert_eq!(parse_size("512M").unwrap(), 512 << 20);
        assert_eq!(parse_size("16G").unwrap(), 16 << 30);
        assert_eq!(parse_size(" 2.5gib ").unwrap(), 5 << 29);
        assert_eq!(parse_size("1TB").unwrap(), 1 << 40);
        assert_eq!(parse_size("64k").unwrap(), 64 << 10);
        for bad in ["", "G", "-1G", "1X", "1.2.3M", "0", "1e400"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn meminfo_available_is_read_in_bytes() {
        let text = "MemTotal:       24683584 kB\nMemFree:        20811184 kB\nMemAvailable:   22559908 kB\n";
        assert_eq!(mem_available(text), Some(22559908 * 1024));
        assert_eq!(mem_available("MemTotal: 1 kB\n"), None);
    }

    #[test]
    fn cgroup_room_leaves_out_the_reclaimable_file_cache() {
        let stat = "active_anon 100\ninactive_file 3000\ntotal_inactive_file 5000\n";
        assert_eq!(stat_value(stat, "inactive_file"), Some(3000));
        assert_eq!(stat_value(stat, "total_inactive_file"), Some(5000));
        assert_eq!(room(10_000, 8_000, Some(stat), "inactive_file"), 5_000);
        assert_eq!(room(10_000, 8_000, Some(stat), "total_inactive_file"), 7_000);
        assert_eq!(room(10_000, 8_000, None, "inactive_file"), 2_000);
        assert_eq!(room(10_000, 12_000, None, "inactive_file"), 0);
    }

    #[test]
    fn the_parties_table_has_the_columns_counted() {
        let scenario = crate::scenario::Scenario::from_toml_str("name = \"t\"\ndays = 5\n").unwrap();
        let run = crate::model::simulate(&scenario.model_config().unwrap(), 1);
        assert_eq!(crate::output::tables::parties_frame(&run).unwrap().width(), PARTY_TABLE_COLUMNS);
    }

    #[test]
    fn the_guard_refuses_with_the_estimate_the_limit_and_what_to_reduce() {
        let estimate = MemoryEstimate {
            replication: ReplicationSize { parties: 2e6, bookings: 4e6, slots: 1e7, bytes: 1.5 * (1u64 << 30) as f64 },
            in_flight: 4,
            buffers: 0.0,
            fixed: (56u64 << 20) as f64,
        };
        let small = Limit { bytes: 2 << 30, source: "--max-memory 2G".into() };
        let e = format!("{:#}", guard(&estimate, Some(&small), true).unwrap_err());
        for part in [
            "6.05 GiB",
            "4 replication(s) in flight × 1.50 GiB",
            "2.00 GiB available (--max-memory 2G)",
            "--threads to 1",
            "days",
        ] {
            assert!(e.contains(part), "{part:?} missing from: {e}");
        }
        assert!(guard(&estimate, Some(&Limit { bytes: 7 << 30, source: String::new() }), true).is_ok());
        assert!(guard(&estimate, None, true).is_ok(), "no limit known: nothing to refuse");
        let e = format!("{:#}", guard(&estimate, Some(&small), false).unwrap_err());
        assert!(!e.contains("--threads"), "{e}");
    }
}
