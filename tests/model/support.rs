//! Helpers shared by the test modules: building scenarios from text, running them, and
//! small statistics.

use slotsim::model::{Booking, BookingFields, ModelConfig, Party, PartyFields, RunRecord, simulate};
use slotsim::scenario::Scenario;

/// Alters a booking record through its decoded fields (to break a record on purpose).
pub fn edit_booking(b: &mut Booking, f: impl FnOnce(&mut BookingFields)) {
    let mut fields = b.fields();
    f(&mut fields);
    *b = Booking::from(fields);
}

/// Alters a party record through its decoded fields.
pub fn edit_party(p: &mut Party, f: impl FnOnce(&mut PartyFields)) {
    let mut fields = p.fields();
    f(&mut fields);
    *p = Party::from(fields);
}

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

/// The portal parties of a run as (arrival, party index), in arrival order (ties keep
/// their index order).
pub fn portal_arrivals(run: &slotsim::model::RunRecord) -> Vec<(i64, usize)> {
    let mut parties: Vec<(i64, usize)> = run
        .parties
        .iter()
        .enumerate()
        .filter(|(_, p)| p.kind() == slotsim::model::PartyKind::Portal)
        .map(|(i, p)| (p.arrival(), i))
        .collect();
    parties.sort_unstable();
    parties
}

/// The instant-booking limit by hand: each party, in arrival order, takes the earliest day
/// from the day after its arrival with a free slot, `capacity[d]` slots on day `d`. Gives
/// each party's (day, position within the day).
pub fn hand_queue(parties: &[(i64, usize)], capacity: &[usize]) -> std::collections::BTreeMap<usize, (usize, usize)> {
    let mut taken = vec![0usize; capacity.len()];
    let mut hand = std::collections::BTreeMap::new();
    let mut first_with_room = 0;
    for &(arrival, id) in parties {
        let mut d = (day_of(arrival) as usize + 1).max(first_with_room);
        while taken[d] >= capacity[d] {
            d += 1;
        }
        hand.insert(id, (d, taken[d]));
        taken[d] += 1;
        // Days fill in order, so no day before the last full run of days has room.
        while taken[first_with_room] >= capacity[first_with_room] {
            first_with_room += 1;
        }
    }
    hand
}

/// Checks the hand queue against the bulk-service recursion B' = max(B + A − c(d + 1), 0)
/// on each of the first `days` days: the parties that arrived by day d and were not given
/// day d + 1 or earlier. Returns the longest backlog.
pub fn check_backlog_recursion(
    parties: &[(i64, usize)],
    hand: &std::collections::BTreeMap<usize, (usize, usize)>,
    capacity: &[usize],
    days: usize,
) -> i64 {
    let mut arrivals = vec![0i64; days];
    for &(t, _) in parties {
        arrivals[day_of(t) as usize] += 1;
    }
    let (mut backlog, mut longest) = (0i64, 0);
    for (d, &a) in arrivals.iter().enumerate() {
        backlog = (backlog + a - capacity[d + 1] as i64).max(0);
        longest = longest.max(backlog);
        let waiting = parties.iter().filter(|&&(t, id)| day_of(t) as usize <= d && hand[&id].0 > d + 1).count();
        assert_eq!(waiting as i64, backlog, "the hand queue disagrees with the backlog recursion on day {d}");
    }
    longest
}

/// The mean lead time, in days, of the parties a hand queue serves within the run, and
/// how many it serves: `appointment(id)` is the start of party `id`'s appointment, `None`
/// when it falls past the end of the run.
pub fn hand_mean_lead(parties: &[(i64, usize)], appointment: impl Fn(usize) -> Option<i64>) -> (f64, usize) {
    let leads: Vec<f64> =
        parties.iter().filter_map(|&(t, id)| appointment(id).map(|a| (a - t) as f64 / DAY as f64)).collect();
    (leads.iter().sum::<f64>() / leads.len() as f64, leads.len())
}
