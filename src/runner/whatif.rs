//! A what-if run: one variant of a scenario with some fields set, against the same variant
//! as the file has it, over the same seeds (common random numbers), so that differences
//! are paired.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::search::SearchError;
use super::{Finish, Plan, Replication, collect};
use crate::scenario::Scenario;

/// The two plans of a what-if run: the edited variant and the variant as in the file.
#[derive(Debug, Clone)]
pub struct WhatIf {
    /// The variant with the fields set (the set paths are its summary's grid columns).
    pub edited: Plan,
    /// The variant as in the file, same seeds.
    pub original: Plan,
}

/// The replications of both plans, each in seed order.
#[derive(Debug, Clone)]
pub struct WhatIfRuns {
    /// Of the edited variant.
    pub edited: Vec<Replication>,
    /// Of the variant as in the file.
    pub original: Vec<Replication>,
}

impl WhatIf {
    /// Checks the question: `variant` of `scenario` with each `(path, value)` of `sets`
    /// applied, seeds `seed_start..seed_start + replications`. Nothing runs.
    ///
    /// # Errors
    ///
    /// An unknown variant, a path that does not exist, or a value the scenario rejects.
    pub fn new(
        scenario: &Scenario,
        variant: &str,
        sets: &[(String, toml::Value)],
        seed_start: u64,
        replications: u64,
    ) -> Result<Self, SearchError> {
        let edited = Plan::with_sets(scenario, variant, sets, seed_start, replications)?;
        let original = Plan::with_sets(scenario, variant, &[], seed_start, replications)?;
        Ok(Self { edited, original })
    }

    /// Replications in all (both plans).
    pub fn jobs(&self) -> usize {
        self.edited.jobs() + self.original.jobs()
    }

    /// The edited variant as a scenario file of its own (resolved, without variants): run
    /// as its base scenario with the same seeds, it gives the edited rows' metrics and
    /// scenario hash.
    pub fn edited_toml(&self) -> String {
        self.edited.cells[0].scenario.resolved_toml()
    }

    /// Runs both plans on `threads` threads (0 = one per core), the edited one first;
    /// `progress` gets the replications finished so far in all. `None` if `stop` was set
    /// before both finished.
    pub fn run(&self, threads: usize, stop: &AtomicBool, progress: &(dyn Fn(usize) + Sync)) -> Option<WhatIfRuns> {
        let before = AtomicUsize::new(0);
        let count = |n: usize| progress(before.load(Ordering::Relaxed) + n);
        let (finish, edited) = collect(&self.edited, threads, stop, &count);
        if finish == Finish::Interrupted {
            return None;
        }
        before.store(edited.len(), Ordering::Relaxed);
        let (finish, original) = collect(&self.original, threads, stop, &count);
        (finish == Finish::Complete).then_some(WhatIfRuns { edited, original })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edited_and_original_run_the_same_seeds() {
        let s = Scenario::from_toml_str("name = \"q\"\ndays = 20\n").unwrap();
        let sets = [("service.0.bands.*.slots".to_string(), toml::Value::Integer(5))];
        let w = WhatIf::new(&s, "base", &sets, 3, 4).unwrap();
        assert_eq!(w.jobs(), 8);
        let runs = w.run(1, &AtomicBool::new(false), &|_| {}).unwrap();
        let seeds = |r: &[Replication]| r.iter().map(|r| r.seed).collect::<Vec<_>>();
        assert_eq!(seeds(&runs.edited), vec![3, 4, 5, 6]);
        assert_eq!(seeds(&runs.original), seeds(&runs.edited));
        // Fewer slots: fewer slots offered, in every replication.
        for (e, o) in runs.edited.iter().zip(&runs.original) {
            assert!(e.summary.slots_offered < o.summary.slots_offered);
        }
        let edited = Scenario::from_toml_str(&w.edited_toml()).unwrap();
        assert_eq!(edited.hash(), w.edited.cells[0].hash);
        assert!(w.run(1, &AtomicBool::new(true), &|_| {}).is_none());
        let e = WhatIf::new(&s, "base", &[("service.0.bandz".into(), toml::Value::Integer(1))], 1, 2).unwrap_err();
        assert!(e.to_string().contains("bandz"), "{e}");
    }
}
