//! Measured coverage of `optimize` and `select` over 100 independent macro-replications
//! (seed blocks 1.., 1001.., 2001.., …) on the instant-booking case, whose exact answers
//! come from the bulk-service queue in `reference`.

use std::sync::atomic::AtomicBool;

use slotsim::runner::Plan;
use slotsim::runner::search::{OptimizeProblem, OptimizeQuestion, SelectProblem, SelectQuestion, optimize, select};
use slotsim::scenario::Scenario;
use slotsim::stats::sequential::{Looks, Requirement};

use crate::search::reference::{self, Expected};

/// Macro-replications; each uses its own block of seeds.
const MACROS: u64 = 100;
/// Seeds per block: at least `--max-replications`, so blocks never overlap.
const BLOCK: u64 = 1000;
const CONFIDENCE: f64 = 0.95;
/// Reference runs: standard errors below 0.001 day and 0.0002 of utilization.
const REFERENCE_RUNS: usize = 60_000;

fn no_progress(_: &slotsim::runner::search::Progress) {}

fn requirement(s: &str) -> Requirement {
    s.parse().unwrap()
}

/// The reference for capacities 10..=24, and a check that a limit is far from every
/// capacity's expectation compared with the reference's own error (so the exact answer
/// is certain).
fn reference_for(caps: &[u32]) -> Vec<(Expected, Expected)> {
    reference::expected(caps, REFERENCE_RUNS)
}

fn clear_of(limit: f64, values: &[Expected]) {
    for e in values {
        assert!((e.mean - limit).abs() > 10.0 * e.se, "limit {limit} is within 10 standard errors of {e:?}");
    }
}

fn base_scenario(extra: &str) -> Scenario {
    let text = format!("{}{extra}", reference::scenario(15));
    Scenario::from_toml_str(&text).unwrap()
}

#[test]
fn optimize_finds_the_exact_answer_at_the_stated_confidence() {
    let caps: Vec<u32> = (10..=24).collect();
    let reference = reference_for(&caps);
    let lead: Vec<Expected> = reference.iter().map(|r| r.0).collect();
    let util: Vec<Expected> = reference.iter().map(|r| r.1).collect();
    // (a) The fewest slots with mean lead time <= 1.55 days; (b) the most slots keeping
    // utilization >= 0.74 and mean lead time <= 3 days (two targets, searched downwards).
    let (lead_limit, util_limit, lead_cap) = (1.55, 0.74, 3.0);
    clear_of(lead_limit, &lead);
    clear_of(util_limit, &util);
    clear_of(lead_cap, &lead);
    let exact_a = caps.iter().zip(&lead).find(|(_, e)| e.mean <= lead_limit).map(|(&c, _)| i64::from(c));
    let exact_b = caps
        .iter()
        .zip(&reference)
        .filter(|(_, (l, u))| u.mean >= util_limit && l.mean <= lead_cap)
        .map(|(&c, _)| i64::from(c))
        .max();
    assert_eq!((exact_a, exact_b), (Some(16), Some(17)), "the reference's answers");

    let scenario = base_scenario("");
    let problem = |seed_start, largest, targets: &[&str]| {
        let question = OptimizeQuestion {
            variant: "base".into(),
            path: "service.0.bands.*.slots".into(),
            lo: 10,
            hi: 24,
            largest,
            requirements: targets.iter().map(|t| requirement(t)).collect(),
            confidence: CONFIDENCE,
            looks: Looks { first: 10, max: BLOCK as usize },
            seed_start,
            posterior: None,
        };
        OptimizeProblem::new(scenario.clone(), question).unwrap()
    };
    let stop = AtomicBool::new(false);
    for (name, largest, targets, exact) in [
        ("smallest slots, lead_days_mean <= 1.55", false, vec!["lead_days_mean<=1.55"], exact_a),
        (
            "largest slots, utilization >= 0.74 and lead_days_mean <= 3",
            true,
            vec!["utilization>=0.74", "lead_days_mean<=3"],
            exact_b,
        ),
    ] {
        let (mut right, mut used, mut grid) = (0u64, 0usize, 0u128);
        for m in 0..MACROS {
            let outcome = optimize(&problem(1 + m * BLOCK, largest, &targets), 2, &stop, &no_progress).unwrap();
            right += u64::from(outcome.answer == exact);
            used += outcome.replications();
            grid += outcome.grid_equivalent(10, 24);
        }
        let rate = right as f64 / MACROS as f64;
        eprintln!(
            "optimize coverage ({name}): exact answer {exact:?} found in {right}/{MACROS} = {rate:.2} (stated {CONFIDENCE}); mean replications {:.1}, exhaustive grid of equal precision {:.1}",
            used as f64 / MACROS as f64,
            grid as f64 / MACROS as f64
        );
        assert!(rate >= CONFIDENCE, "{name}: coverage {rate} below {CONFIDENCE}");
    }
}

#[test]
fn select_picks_within_delta_of_the_best_at_the_stated_confidence() {
    let stop = AtomicBool::new(false);
    let cases: [(&str, Vec<u32>, f64, Option<&str>); 2] = [
        ("lowest lead_days_mean of 22..26 slots, delta 0.002", vec![22, 23, 24, 25, 26], 0.002, None),
        (
            "lowest lead_days_mean of 15..19 slots subject to utilization >= 0.74, delta 0.05",
            vec![15, 16, 17, 18, 19],
            0.05,
            Some("utilization>=0.74"),
        ),
    ];
    for (name, caps, delta, constraint) in cases {
        let reference = reference_for(&caps);
        let feasible: Vec<bool> = match constraint {
            Some(c) => {
                let r = requirement(c);
                clear_of(r.limit, &reference.iter().map(|x| x.1).collect::<Vec<_>>());
                reference.iter().map(|x| x.1.mean >= r.limit).collect()
            }
            None => vec![true; caps.len()],
        };
        let best = (0..caps.len()).filter(|&i| feasible[i]).map(|i| reference[i].0.mean).fold(f64::INFINITY, f64::min);
        // Right: feasible and within delta of the best feasible mean.
        let right_choices: Vec<usize> =
            (0..caps.len()).filter(|&i| feasible[i] && reference[i].0.mean <= best + delta).collect();
        let variants: String = caps
            .iter()
            .map(|c| format!("\n[[variant]]\nname = \"c{c}\"\nset = {{ \"service.0.bands.0.slots\" = {c} }}\n"))
            .collect();
        let scenario = base_scenario(&variants);
        let names: Vec<String> = caps.iter().map(|c| format!("c{c}")).collect();
        let plan = Plan::new(&scenario, Some(&names), 1, 1).unwrap();
        let (mut right, mut used, mut fixed) = (0u64, 0usize, 0usize);
        for m in 0..MACROS {
            let question = SelectQuestion {
                metric: "lead_days_mean".into(),
                higher_is_better: false,
                delta: Some(delta),
                confidence: CONFIDENCE,
                constraints: constraint.map(requirement).into_iter().collect(),
                first_stage: 10,
                max_replications: BLOCK as usize,
                seed_start: 1 + m * BLOCK,
                posterior: None,
            };
            let problem = SelectProblem::from_cells(plan.cells.clone(), question).unwrap();
            let outcome = select(&problem, 2, &stop, &no_progress).unwrap();
            right += u64::from(outcome.selected.is_some_and(|i| right_choices.contains(&i)));
            used += outcome.used();
            fixed += outcome.fixed_per_candidate.unwrap_or(0) * caps.len();
        }
        let rate = right as f64 / MACROS as f64;
        let right_names: Vec<&str> = right_choices.iter().map(|&i| names[i].as_str()).collect();
        eprintln!(
            "select coverage ({name}): a right choice {right_names:?} in {right}/{MACROS} = {rate:.2} (stated {CONFIDENCE}); mean replications {:.1}, fixed equal-allocation design {:.1}",
            used as f64 / MACROS as f64,
            fixed as f64 / MACROS as f64
        );
        assert!(rate >= CONFIDENCE, "{name}: correct selection {rate} below {CONFIDENCE}");
    }
}

#[test]
fn the_reference_agrees_with_the_simulator() {
    // The mean over 400 seeds of the simulated lead time and utilization at 15 slots is
    // within 4 standard errors of the reference's expectation (the model follows the
    // hand queue party by party, tests/model/known_results.rs; this checks the reference's
    // arrivals: rate, backlog, spread over the day).
    let caps = [15];
    let r = reference_for(&caps);
    let config = base_scenario("").model_config().unwrap();
    let (mut lead, mut util) = (Vec::new(), Vec::new());
    for seed in 1..=400 {
        let s = slotsim::stats::summarize(&slotsim::model::simulate(&config, seed));
        lead.push(s.lead_days_mean.unwrap());
        util.push(s.utilization.unwrap());
    }
    for (name, xs, e) in [("lead_days_mean", &lead, r[0].0), ("utilization", &util, r[0].1)] {
        let est = slotsim::stats::compare::estimate(xs, 0.95).unwrap();
        let se = est.sd.unwrap() / (xs.len() as f64).sqrt();
        eprintln!("{name} at 15 slots: simulated {:.5} ± {se:.5}, reference {:.5} ± {:.5}", est.mean, e.mean, e.se);
        assert!((est.mean - e.mean).abs() < 4.0 * (se * se + e.se * e.se).sqrt(), "{name}");
    }
}
