//! The capacity levers against results derived by hand: a capacity plan that changes over
//! time in the instant-booking limit, overbooking against the binomial law of attendance,
//! held urgent slots doing what they are for, and common random numbers with the levers on
//! or off.

use std::collections::BTreeMap;

use slotsim::model::{BookingEnd, PartyKind, RunRecord, simulate};
use slotsim::stats::summarize;
use statrs::distribution::{Binomial, Discrete};

use crate::model::support::{self, DAY, config_of};

// ----- (a) a changing capacity plan in the instant-booking limit -------------------------

/// As `known_results::INSTANT` (every party a script checking once a second, nothing
/// cancelled, the whole run within the release horizon), with a capacity plan that
/// changes: a cut to 12 slots for three weeks, a closed week, a surge with an afternoon
/// band, and a period without Wednesdays.
const PLANNED: &str = r#"
name = "instant booking, planned capacity"
start = "2021-06-14"
days = 150

[office]
open_weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

[[service]]
name = "passport"
bands = [{ start = "09:00", slots = 20 }]

[[service.period]]          # a cut: a reduced summer rota
from = "2021-07-05"
until = "2021-07-25"
bands = [{ start = "09:00", slots = 12 }]

[[service.period]]          # a closed week: the office moves
from = "2021-08-09"
until = "2021-08-15"
bands = []

[[service.period]]          # a surge: temporary staff in the afternoon
from = "2021-09-01"
until = "2021-09-30"
bands = [{ start = "09:00", slots = 20 }, { start = "13:00", slots = 10 }]

[[service.period]]          # no Wednesdays, a little more on the other days
from = "2021-10-01"
until = "2021-12-31"        # reaches past the end of the run
bands = [{ start = "08:30", slots = 22 }]
open_weekdays = ["mon", "tue", "thu", "fri", "sat", "sun"]

[release]
kind = "rolling"
horizon_days = 400
min_lead_days = 1

[demand]
arrivals_per_day = 19.0
initial_backlog = 60
party_size_weights = [1.0, 0.0, 0.0, 0.0, 0.0]

[behaviour]
bot_share = 1.0
bot_check_interval_seconds = 1.0
cancel_per_day = 0.0
show_prob = 1.0
docs_ok_prob = 1.0

[confirmation]
enabled = false
"#;

#[test]
fn a_changing_capacity_plan_matches_the_bulk_service_recursion() {
    for seed in [1, 2, 3] {
        let (config, run) = support::run(PLANNED, seed);
        let days = config.days as usize;
        let plan = &config.services[0];
        let capacity: Vec<usize> = (0..days + 400).map(|d| plan.capacity_on(d) as usize).collect();
        // The plan is what the scenario says: a cut, a closed week, a surge, no Wednesdays.
        assert_eq!((capacity[21], capacity[56], capacity[79], capacity[112]), (12, 0, 30, 22));
        assert_eq!(capacity[114], 0, "2021-10-06 is a Wednesday inside the last period");
        assert_eq!(capacity[20], 20, "the usual bands before the first period");
        for (d, row) in run.daily.iter().enumerate() {
            assert_eq!(row.capacity as usize, capacity[d], "daily capacity column, day {d}");
        }

        let parties = support::portal_arrivals(&run);
        // By hand, under the plan's capacity, each party in the first band of its day with
        // room; the same queue as the recursion B' = max(B + A - c(next day), 0).
        let queue = support::hand_queue(&parties, &capacity);
        let longest = support::check_backlog_recursion(&parties, &queue, &capacity, days);
        assert!(longest > 100, "the cut and the closed week make a real queue ({longest})");
        let hand: BTreeMap<usize, (usize, i64)> = queue
            .into_iter()
            .map(|(id, (d, position))| {
                let mut before = 0;
                let band = plan.bands_on(d).iter().find(|b| {
                    before += b.slots as usize;
                    position < before
                });
                (id, (d, band.expect("a band with room").start))
            })
            .collect();

        let (expected, served) = support::hand_mean_lead(&parties, |id| {
            (hand[&id].0 < days).then(|| hand[&id].0 as i64 * DAY + hand[&id].1)
        });
        let summary = summarize(&run);
        let simulated = summary.lead_days_mean.expect("parties were served");
        eprintln!(
            "planned capacity, seed {seed}: {} parties, {} served, longest queue {longest}; lead_days_mean expected {expected:.5}, simulated {simulated:.5}",
            parties.len(),
            served
        );
        // As for the constant plan (known_results): the model differs from the hand queue
        // only through check latency (a party books about a second after arriving), which
        // can move a party that arrives in the last seconds of a day, ~0.04 parties a run,
        // each by 1/n of a day in the mean. 0.01 day allows ~25 such parties; one party
        // given a wrong day everywhere would shift the mean by a whole day.
        assert_eq!(summary.served as usize, served, "served parties");
        assert!((simulated - expected).abs() < 0.01, "lead_days_mean {simulated} vs hand queue {expected}");
    }
}

// ----- (b) overbooking against the binomial law --------------------------------------------

const SLOTS: u32 = 20;
const OVERBOOK: f64 = 0.25;
const SHOW: f64 = 0.8;

/// One band of 20 slots overbooked by 25% (25 places), always full: many more single
/// people wait than it takes, on a waiting list, with nothing that frees a place (no
/// confirmation, no cancellation, no rebooking).
fn overbooked() -> String {
    format!(
        r#"
name = "overbooked band"
days = 240

[office]
open_weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

[[service]]
name = "passport"
bands = [{{ start = "09:00", slots = {SLOTS} }}]

[release]
horizon_days = 14
min_lead_days = 1

[demand]
arrivals_per_day = 40.0
initial_backlog = 400
party_size_weights = [1.0, 0.0, 0.0, 0.0, 0.0]

[behaviour]
show_prob = {SHOW:?}
cancel_per_day = 0.0
docs_ok_prob = 1.0
rebook_prob = 0.0

[confirmation]
enabled = false

[allocation]
policy = "waitlist"
overbook_share = {OVERBOOK:?}
"#
    )
}

#[test]
fn overbooking_overtime_and_no_show_waste_follow_the_binomial_law() {
    let places = (f64::from(SLOTS) * (1.0 + OVERBOOK)).floor() as u64;
    assert_eq!(places, 25);
    // Exact moments of (A - s)+ and (s - A)+ for A ~ Binomial(25, 0.8).
    let law = Binomial::new(SHOW, places).expect("a binomial law");
    let moments = |f: &dyn Fn(u64) -> f64| {
        let mean: f64 = (0..=places).map(|a| law.pmf(a) * f(a)).sum();
        let second: f64 = (0..=places).map(|a| law.pmf(a) * f(a) * f(a)).sum();
        (mean, (second - mean * mean).sqrt())
    };
    let s = u64::from(SLOTS);
    let (overtime_mean, overtime_sd) = moments(&|a| a.saturating_sub(s) as f64);
    let (waste_mean, waste_sd) = moments(&|a| s.saturating_sub(a) as f64);

    let (mut overtime, mut waste, mut n) = (0u64, 0u64, 0u64);
    for seed in 1..=8 {
        let (config, run) = support::run(&overbooked(), seed);
        // Day 0 cannot be booked (min_lead_days = 1); every later day is full.
        for (d, rec) in run.calendar.iter().enumerate().take(config.days as usize).skip(1) {
            let t = rec.tally;
            assert_eq!((t.wasted_unbooked, t.wasted_freed), (0, 0), "seed {seed} day {d}: a place left empty");
            assert_eq!(t.offered, s, "slot accounting counts slots, not places");
            assert_eq!(t.used + t.wasted_noshow, s, "seed {seed} day {d}: {t:?}");
            overtime += t.overtime;
            waste += t.wasted_noshow;
            n += 1;
        }
        let summary = summarize(&run);
        // Day 0's slots could not be booked; every other slot was used or lost to a no-show.
        assert_eq!(summary.slots_wasted_unbooked, s);
        assert_eq!(summary.slots_offered, summary.slots_used + summary.slots_wasted_noshow + s);
        assert!(summary.overtime_people > 0);
    }
    let (overtime, waste) = (overtime as f64 / n as f64, waste as f64 / n as f64);
    // Band-days are independent draws of A (each place's party shows on its own), so the
    // means over n band-days have standard errors sd/sqrt(n); 4 standard errors leave a
    // false alarm about once in 16,000 runs, while a model that counted places instead of
    // slots, or let overbooked places go empty, would miss by far more (for instance
    // E[(A - 25·0.8)+] vs E[(A - 20)+]).
    let (se_o, se_w) = (overtime_sd / (n as f64).sqrt(), waste_sd / (n as f64).sqrt());
    eprintln!(
        "overbooking: {n} band-days; overtime per band-day {overtime:.4} (exact {overtime_mean:.4} ± {:.4}), no-show waste {waste:.4} (exact {waste_mean:.4} ± {:.4})",
        4.0 * se_o,
        4.0 * se_w
    );
    assert!(n > 1500);
    assert!((overtime - overtime_mean).abs() < 4.0 * se_o, "overtime {overtime} vs {overtime_mean} ± {se_o}");
    assert!((waste - waste_mean).abs() < 4.0 * se_w, "no-show waste {waste} vs {waste_mean} ± {se_w}");
}

// ----- (c) held urgent slots ----------------------------------------------------------------

/// A busy office where people book months ahead: with a third of each band held for
/// those whose passport expires within 30 days, urgent people are served sooner and fewer
/// miss their need-by date, under every policy.
fn urgent_scenario(policy: &str, share: f64) -> String {
    format!(
        r#"
name = "urgent reserve"
days = 240
warmup_days = 60

[[service]]
name = "passport"
bands = [{{ start = "09:00", slots = 15 }}, {{ start = "11:00", slots = 15 }}]

[release]
horizon_days = 60
min_lead_days = 2

[demand]
arrivals_per_day = 22.0
initial_backlog = 300
party_size_weights = [0.7, 0.2, 0.1, 0.0, 0.0]
need_by_days = {{ min = 5, max = 200 }}

[behaviour]
bot_share = 0.0
human_checks_per_day = 4.0
cancel_per_day = 0.0

[allocation]
policy = "{policy}"
lottery_every_days = 2
urgent_share = {share:?}
urgent_within_days = 30
urgent_open_days = 3
"#
    )
}

#[test]
fn held_slots_go_to_urgent_parties_and_cut_missed_deadlines() {
    for policy in ["fcfs", "waitlist", "priority", "lottery"] {
        let (mut miss_off, mut miss_on, mut taken, mut held) = (0.0, 0.0, 0, 0);
        for seed in 1..=3 {
            let (_, off) = support::run(&urgent_scenario(policy, 0.0), seed);
            let (config, on) = support::run(&urgent_scenario(policy, 1.0 / 3.0), seed);
            crate::model::checks::all(&config, &on).unwrap_or_else(|e| panic!("{policy}, seed {seed}: {e}"));
            let (a, b) = (summarize(&off), summarize(&on));
            assert_eq!((a.urgent_slots_held, a.urgent_slots_taken_urgent), (0, 0));
            assert_eq!(b.urgent_slots_held, b.urgent_slots_taken_urgent + b.urgent_slots_opened);
            miss_off += a.deadline_miss_rate.expect("served");
            miss_on += b.deadline_miss_rate.expect("served");
            taken += b.urgent_slots_taken_urgent;
            held += b.urgent_slots_held;
        }
        eprintln!(
            "urgent reserve, {policy}: deadline misses {:.4} without, {:.4} with; {taken} of {held} held slots taken by urgent parties",
            miss_off / 3.0,
            miss_on / 3.0
        );
        // 5 slots of each band of 15 held on each of ~120 counted open days: thousands.
        assert!(held > 3000 && taken > held / 4, "{policy}: {taken} of {held} held slots taken by urgent parties");
        assert!(miss_on < miss_off, "{policy}: the reserve should cut missed deadlines ({miss_on} vs {miss_off})");
    }
}

// ----- (d) common random numbers with the levers on or off -------------------------------

/// What a party draws at arrival.
type Drawn = (PartyKind, u32, i64, u32, i64, bool, bool, Option<i64>);

fn population(run: &RunRecord) -> Vec<Drawn> {
    let mut v: Vec<Drawn> = run
        .parties
        .iter()
        .map(|p| {
            let a = p.attributes();
            (p.kind(), p.index(), p.arrival(), a.size, a.need_by, a.bot, a.watcher, a.patience)
        })
        .collect();
    v.sort_by_key(|d| (d.0, d.1));
    v
}

/// The part of each booking's fate that the run shows whatever happened before: whether
/// the party came to an appointment it reached, by (party, booking number).
fn shows(run: &RunRecord) -> BTreeMap<(PartyKind, u32, u32), bool> {
    let mut count: BTreeMap<u32, u32> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for b in &run.bookings {
        let k = count.entry(b.party()).or_default();
        let p = &run.parties[b.party() as usize];
        match b.end() {
            Some((_, BookingEnd::Attended)) => out.insert((p.kind(), p.index(), *k), true),
            Some((_, BookingEnd::NoShow)) => out.insert((p.kind(), p.index(), *k), false),
            _ => None,
        };
        *k += 1;
    }
    out
}

const LEVERS: &str = r#"
name = "levers"
days = 200

[[service]]
name = "passport"
bands = [{ start = "09:00", slots = 20 }, { start = "10:00", slots = 20 }]

[[service]]
name = "pickup"
bands = [{ start = "14:00", slots = 40 }]

[release]
horizon_days = 45

[demand]
arrivals_per_day = 30.0
initial_backlog = 200

[behaviour]
bot_share = 0.2
cancel_per_day = 0.01
show_prob = 0.85

[legacy]
requests = 200
quota_per_day = 8

[preexisting]
bookings = 100
over_days = 20

[[variant]]
name = "all levers"
set = { "allocation.urgent_share" = 0.2, "allocation.overbook_share" = 0.1, "service.0.period" = [
    { from = "2021-07-01", until = "2021-08-31", bands = [{ start = "09:00", slots = 30 }, { start = "10:00", slots = 30 }, { start = "15:00", slots = 20 }] },
    { from = "2021-10-04", until = "2021-10-10", bands = [] },
], "service.1.period" = [{ from = "2021-09-01", until = "2021-09-30", bands = [{ start = "14:00", slots = 25 }], open_weekdays = ["mon", "wed", "fri", "sat"] }] }
"#;

#[test]
fn the_levers_keep_the_population_and_the_fates() {
    for policy in ["fcfs", "waitlist", "priority", "lottery"] {
        let text = format!("{LEVERS}\n[allocation]\npolicy = \"{policy}\"\n");
        for seed in [1, 2] {
            let off = simulate(&config_of(&text, "base"), seed);
            let config = config_of(&text, "all levers");
            let on = simulate(&config, seed);
            crate::model::checks::all(&config, &on).unwrap_or_else(|e| panic!("{policy}, seed {seed}: {e}"));
            assert!(population(&off) == population(&on), "{policy}, seed {seed}: the population differs");
            let (a, b) = (shows(&off), shows(&on));
            let common: Vec<_> = a.keys().filter(|k| b.contains_key(k)).collect();
            let differ = common.iter().filter(|k| a[k] != b[k]).count();
            assert!(common.len() > 3000, "{policy}: {} bookings reached their appointment in both", common.len());
            assert_eq!(differ, 0, "{policy}, seed {seed}: a booking's show/no-show fate changed with the levers");
            // The levers do change what happens.
            let (sa, sb) = (summarize(&off), summarize(&on));
            assert_ne!(sa.lead_days_mean, sb.lead_days_mean, "{policy}: the levers changed nothing");
            assert!(sb.overtime_people > 0 && sb.urgent_slots_held > 0, "{policy}: {sb:?}");
        }
    }
}

#[test]
fn a_sweep_grid_can_replace_periods_and_set_every_band() {
    let text = r#"
name = "grid of plans"
days = 40
[[service]]
name = "passport"
bands = [{ start = "09:00", slots = 10 }, { start = "10:00", slots = 10 }]
[sweep]
"service.0.bands.*.slots" = [8, 12]
"service.0.period" = [[], [{ from = "2021-06-21", until = "2021-06-27", bands = [] }]]
"#;
    let scenario = support::scenario(text);
    let points = scenario.grid().expect("a grid");
    assert_eq!(points.len(), 4);
    let capacity = |k: usize, day: usize| {
        let resolved = scenario.at_grid_point(&points[k]).expect("a grid point");
        resolved.model_config().expect("a config").services[0].capacity_on(day)
    };
    // 2021-06-14 is a Monday; the period closes the week from day 7.
    assert_eq!((capacity(0, 0), capacity(0, 7)), (16, 16), "8 slots in both bands, no period");
    assert_eq!((capacity(1, 0), capacity(1, 7)), (16, 0), "8 slots, the closed week");
    assert_eq!((capacity(2, 0), capacity(3, 8), capacity(3, 14)), (24, 0, 24), "12 slots");
}
