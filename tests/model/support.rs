//! Helpers shared by the test modules: building scenarios from text, running them, and
//! small statistics.

use slotsim::model::{ModelConfig, RunRecord, simulate};
use slotsim::scenario::Scenario;

/// One day in simulation seconds.
pub const DAY: i64 = 86_400;

/// Parses a scenario, panicking with the scenario's own message if it is rejected.
pub fn scenario(text: &str) -> Scenario {
    Scenario::from_toml_str(text).unwrap_or_else(|e| panic!("test scenario rejected: {e}\n{text}"))
}

/// The model configuration of a scenario's variant (`base` for the base).
pub fn config_of(text: &str, variant: &str) -> ModelConfig {
    let s = scenario(text);
    let resolved = s.variant(variant).unwrap_or_else(|e| panic!("variant {variant}: {e}"));
    resolved.model_config().unwrap_or_else(|e| panic!("model config: {e}"))
}

/// Runs the base scenario of `text` with `seed`.
pub fn run(text: &str, seed: u64) -> (ModelConfig, RunRecord) {
    let config = config_of(text, "base");
    let record = simulate(&config, seed);
    (config, record)
}

/// The run day containing `t`.
pub fn day_of(t: i64) -> i64 {
    t.div_euclid(DAY)
}

/// Binomial standard error of a share `p` estimated from `n` trials.
pub fn binomial_se(p: f64, n: f64) -> f64 {
    (p * (1.0 - p) / n).sqrt()
}

/// A fresh, empty directory under the system temporary directory.
pub fn temp_dir(tag: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("slotsim-test-{}-{tag}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a temporary directory");
    dir
}
