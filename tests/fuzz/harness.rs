//! What the scenario fuzzer does with one input, shared by the fuzzer
//! (`examples/fuzz_scenarios.rs`) and the corpus replay (`tests/fuzz/mod.rs`): load and
//! validate the text as `slotsim` would, resolve every variant and grid point, and
//! simulate each accepted configuration briefly. Nothing here may panic, abort or hang.
//!
//! The simulation is bounded by construction, not by a clock: the run is cut to at most
//! [`MAX_DAYS`] days (through the scenario, which is validated again), and a configuration whose memory estimate for those days exceeds
//! [`MAX_BYTES`] is not simulated (as `slotsim` refuses one above the memory available).
//! Grids are cut to [`MAX_CELLS`] cells.

use slotsim::model;
use slotsim::runner::memory;
use slotsim::scenario::Scenario;
use slotsim::stats::{self, Metric};

/// Days simulated at most per configuration.
pub const MAX_DAYS: u32 = 30;
/// Estimated bytes of a replication above which it is not simulated.
pub const MAX_BYTES: f64 = 48.0 * 1024.0 * 1024.0;
/// Cells (variant × grid point) examined at most.
pub const MAX_CELLS: usize = 8;

/// What became of an input: its kind and a signature of its behaviour (the shape of an
/// error message, with numbers and quoted values removed; or which counts the first cell
/// left at zero),
/// so that the fuzzer keeps inputs that do something new.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// Refused when loading or validating.
    Rejected(String),
    /// A variant or grid point refused.
    CellRejected(String),
    /// Accepted and left unsimulated: too large for the harness's bounds.
    TooLarge,
    /// Simulated.
    Simulated(String),
}

/// An error message with its particulars blanked, so that "days = 7 is too many" and
/// "days = 9 is too many" count as one behaviour.
fn shape(message: &str) -> String {
    let mut out = String::new();
    let mut quoted = None;
    for c in message.chars() {
        match (quoted, c) {
            (Some(q), _) if c == q => quoted = None,
            (Some(_), _) => {}
            (None, '"' | '`') => {
                quoted = Some(c);
                out.push('_');
            }
            (None, c) if c.is_ascii_digit() => {
                if !out.ends_with('#') {
                    out.push('#');
                }
            }
            (None, c) => out.push(c),
        }
    }
    out.chars().take(160).collect()
}

/// `scenario` cut to at most [`MAX_DAYS`] days (its warm-up within them).
fn shortened(scenario: &Scenario) -> Scenario {
    let mut short = scenario.clone();
    short.days = short.days.min(MAX_DAYS);
    short.warmup_days = short.warmup_days.min(short.days.saturating_sub(1));
    short
}

/// Runs one input through the loader, validation and a short simulation.
///
/// # Panics
///
/// Only if the library does: an error message that is empty, or a simulated run whose
/// slots are not conserved, is a finding too.
pub fn check(text: &str) -> Outcome {
    let scenario = match Scenario::from_toml_str(text) {
        Ok(s) => s,
        Err(e) => {
            let message = e.to_string();
            assert!(!message.trim().is_empty(), "an empty error message");
            return Outcome::Rejected(shape(&message));
        }
    };
    // What `check` prints; what `sweep` asks of the scenario before simulating.
    let _ = scenario.resolved_toml();
    let _ = scenario.hash();
    if let Err(e) = scenario.sweep_replications() {
        return Outcome::CellRejected(shape(&e.to_string()));
    }
    let grid = match scenario.grid() {
        Ok(g) => g,
        Err(e) => return Outcome::CellRejected(shape(&e.to_string())),
    };
    // Which counts the first cell left at zero: what kind of run it was.
    let mut signature = String::new();
    let mut cells = 0;
    for name in scenario.variant_names() {
        for point in &grid {
            if cells == MAX_CELLS {
                break;
            }
            cells += 1;
            let resolved = match scenario.variant(name).and_then(|v| v.at_grid_point(point)) {
                Ok(r) => r,
                Err(e) => return Outcome::CellRejected(shape(&e.to_string())),
            };
            // The whole configuration, as `slotsim` builds and estimates it; then the short
            // one that is simulated.
            let full = match resolved.model_config() {
                Ok(c) => c,
                Err(e) => return Outcome::CellRejected(shape(&e.to_string())),
            };
            let _ = memory::replication(&full).bytes;
            let config = match shortened(&resolved).model_config() {
                Ok(c) => c,
                Err(e) => return Outcome::CellRejected(shape(&e.to_string())),
            };
            if memory::replication(&config).bytes > MAX_BYTES {
                return Outcome::TooLarge;
            }
            let run = model::simulate(&config, 1);
            let summary = stats::summarize(&run);
            let m: std::collections::BTreeMap<&str, Metric> = summary.metrics().into_iter().collect();
            let count = |k: &str| match m[k] {
                Metric::Count(n) => n,
                other => panic!("{k} is {other:?}, not a count"),
            };
            let wasted = count("slots_wasted_unbooked") + count("slots_wasted_noshow") + count("slots_wasted_freed");
            assert_eq!(count("slots_offered"), count("slots_used") + wasted, "slots are not conserved");
            if signature.is_empty() {
                signature = m.values().map(|v| if matches!(v, Metric::Count(0)) { '0' } else { '+' }).collect();
            }
        }
    }
    Outcome::Simulated(signature)
}
