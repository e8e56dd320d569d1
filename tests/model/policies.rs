//! Fairness properties of the allocation policies: the waiting list keeps its order, the
//! priority list keeps need-by order, checking speed pays only under first come first
//! served, a lottery draw does not favour early registrants, and slots freed at an instant
//! are allocated with those released at it.

use std::collections::BTreeMap;

use slotsim::model::{Booking, BookingEnd, ModelConfig, Outcome, PartyKind, RunRecord};
use slotsim::stats::summarize;

use crate::model::support::{self, DAY, binomial_se, day_of};

/// A small busy scenario with every way of (re)starting to look: arrivals, a launch
/// backlog, auto-cancellations, no-shows, failed documents, patience, mixed party sizes.
fn busy(policy: &str) -> String {
    format!(
        r#"
name = "order"
days = 60

[[service]]
name = "passport"
bands = [{{ start = "09:00", slots = 10 }}, {{ start = "11:00", slots = 8 }}]

[release]
time = "08:00"
jitter_minutes = 20
horizon_days = 20
min_lead_days = 2

[demand]
arrivals_per_day = 22.0
initial_backlog = 40
patience_days = 15.0

[behaviour]
bot_share = 0.2
confirm_prob = 0.8
show_prob = 0.9
docs_ok_prob = 0.9
rebook_prob = 0.8
cancel_per_day = 0.01

[confirmation]
lead_days = 10
window_days = 3

[allocation]
policy = "{policy}"

[legacy]
requests = 50
quota_per_day = 5
"#
    )
}

/// Each party's spells of looking for the first service, `[start, stop)`, rebuilt from the
/// booking log and the party's outcome: a party looks from its arrival (portal parties)
/// until it books; again after an auto-cancellation or no-show if it booked again or is
/// still looking or gave up at the end; and again after an appointment at which it was not
/// served (incomplete documents).
fn looking_spells(config: &ModelConfig, run: &RunRecord) -> Vec<Vec<(i64, i64)>> {
    let end = i64::from(config.days) * DAY;
    let mut spells = vec![Vec::new(); run.parties.len()];
    for (pid, p) in run.parties.iter().enumerate() {
        let mine: Vec<&Booking> =
            run.bookings.iter().filter(|b| b.party() as usize == pid && b.service() == 0).collect();
        let mut start = match p.kind() {
            PartyKind::Portal => Some(p.arrival()),
            PartyKind::Preexisting if mine.first().is_none_or(|b| !b.preexisting()) => Some(0),
            _ => None,
        };
        for b in &mine {
            if let Some(s) = start.take() {
                spells[pid].push((s, b.made_at()));
            }
            start = match b.end() {
                Some((t, BookingEnd::AutoCancelled | BookingEnd::NoShow)) => Some(t),
                Some((t, BookingEnd::Attended)) if p.served() != Some(b.appointment()) => Some(t),
                _ => None,
            };
        }
        if let Some(s) = start {
            // After the last booking: still looking, or looked until giving up; `lost`
            // parties did not look again.
            let looking = matches!(p.outcome(), Outcome::Waiting | Outcome::Abandoned) && p.served().is_none();
            if looking {
                spells[pid].push((s, if p.outcome() == Outcome::Waiting { end } else { p.outcome_at() }));
            }
        }
    }
    spells
}

/// Portal bookings of the first service made while a party that the policy ranks earlier
/// (by `key`) and that is no larger was looking.
fn overtakes(config: &ModelConfig, run: &RunRecord, key: impl Fn(usize, i64) -> (i64, i64)) -> Vec<String> {
    let spells = looking_spells(config, run);
    let mut found = Vec::new();
    for (id, b) in run.bookings.iter().enumerate() {
        if b.service() != 0 || b.legacy() || b.preexisting() {
            continue;
        }
        let p = b.party() as usize;
        let size = run.parties[p].size();
        let Some(&(since, _)) = spells[p].iter().find(|s| s.1 == b.made_at()) else {
            found.push(format!("booking {id}: party {p} booked at {} without a looking spell", b.made_at()));
            continue;
        };
        let mine = key(p, since);
        for (q, qs) in spells.iter().enumerate() {
            if q == p || run.parties[q].size() > size {
                continue;
            }
            for &(start, stop) in qs {
                // A party that started looking at the very instant of the booking may have
                // started just after it (same-instant events run one by one: a slot freed by
                // one auto-cancellation is given out before the next one is processed), so
                // only parties looking since strictly earlier count. The model's own
                // counter, checked above, sees the exact order.
                if start < b.made_at() && b.made_at() < stop && key(q, start) < mine {
                    found.push(format!(
                        "booking {id} at {}: party {p} (since {since}) overtook party {q} (since {start}, size {})",
                        b.made_at(),
                        run.parties[q].size()
                    ));
                }
            }
        }
    }
    found
}

#[test]
fn waitlist_keeps_first_in_first_out_order() {
    for seed in 1..=3 {
        let (config, run) = support::run(&busy("waitlist"), seed);
        let summary = summarize(&run);
        assert_eq!(summary.queue_inversions, 0, "seed {seed}");
        // Independently of the model's counter. `since` is the start of the looking spell;
        // equal starts are not ordered (the model breaks them by party id).
        let found = overtakes(&config, &run, |_, since| (since, 0));
        assert!(found.is_empty(), "seed {seed}: {} overtakes, e.g. {:?}", found.len(), &found[..found.len().min(3)]);
    }
}

#[test]
fn priority_keeps_need_by_order() {
    for seed in 1..=3 {
        let (config, run) = support::run(&busy("priority"), seed);
        let summary = summarize(&run);
        assert_eq!(summary.need_by_inversions, 0, "seed {seed}");
        let need = |p: usize| run.parties[p].need_by();
        let found = overtakes(&config, &run, |p, since| (need(p), since));
        assert!(found.is_empty(), "seed {seed}: {} overtakes, e.g. {:?}", found.len(), &found[..found.len().min(3)]);
    }
}

#[test]
fn the_order_checks_see_overtaking_under_fcfs() {
    // The same checks on first come first served find overtaking: they can fail.
    let (config, run) = support::run(&busy("fcfs"), 1);
    let summary = summarize(&run);
    assert!(summary.queue_inversions > 0 && summary.need_by_inversions > 0);
    assert!(!overtakes(&config, &run, |_, since| (since, 0)).is_empty());
}

// ----- checking speed ----------------------------------------------------------------

/// Demand above capacity, one party in five automated. Every party books at most once
/// (no confirmation step, no cancellations, everyone attends with complete documents), so
/// the share of bookings made by scripts is the share of scripts among the parties that
/// got a slot. (With confirmation, people confirm less often than scripts, get
/// auto-cancelled and book again: that would lower the scripts' share of *bookings*
/// without any unfairness.)
fn overloaded(policy: &str, bands: &str) -> String {
    format!(
        r#"
name = "overloaded"
days = 90

[[service]]
name = "passport"
bands = [{bands}]

[release]
horizon_days = 30

[demand]
arrivals_per_day = 40.0
party_size_weights = [0.7, 0.2, 0.1, 0.0, 0.0]

[behaviour]
human_checks_per_day = 2.0
bot_share = 0.2
bot_check_interval_seconds = 60.0
cancel_per_day = 0.0
show_prob = 1.0
docs_ok_prob = 1.0

[confirmation]
enabled = false

[allocation]
policy = "{policy}"
lottery_every_days = 7
"#
    )
}

const ONE_BAND: &str = r#"{ start = "09:00", slots = 20 }"#;
const TWO_BANDS: &str = r#"{ start = "09:00", slots = 20 }, { start = "10:00", slots = 20 }"#;

/// First-service bookings by counted parties, and how many were by scripts, pooled.
fn bot_bookings(policy: &str, bands: &str, seeds: std::ops::RangeInclusive<u64>) -> (u64, u64) {
    let (mut n, mut bots) = (0, 0);
    for seed in seeds {
        let (_, run) = support::run(&overloaded(policy, bands), seed);
        let (mut n1, mut b1) = (0u64, 0u64);
        for b in run.bookings.iter().filter(|b| b.service() == 0) {
            let p = &run.parties[b.party() as usize];
            if p.counted() {
                n1 += 1;
                b1 += u64::from(p.bot());
            }
        }
        let summary = summarize(&run);
        let share = summary.bot_share_of_bookings.expect("bookings");
        assert!((share - b1 as f64 / n1 as f64).abs() < 1e-12, "summary share");
        assert!((summary.bot_advantage.expect("bots") - share / 0.2).abs() < 1e-12, "advantage = share / bot_share");
        n += n1;
        bots += b1;
    }
    (n, bots)
}

#[test]
fn scripts_win_under_first_come_first_served() {
    // One band of 20 slots on weekdays: about 14 slots a day for 40 new parties. A script
    // checks 1440 times a day against a person's 2, so it books at the first check after
    // the next release, while people pile up unbooked: the scripts' 8 parties a day take
    // over half of the ~14 slots, an advantage of about 2.5 (at most 40 / 14 = 2.8, when
    // every script is served and the rest go to people). With two bands (28 slots a day)
    // the cap would be 40 / 28 = 1.4: checking speed can only win what is scarce.
    let (n, bots) = bot_bookings("fcfs", ONE_BAND, 1..=2);
    let advantage = bots as f64 / n as f64 / 0.2;
    eprintln!("fcfs: bot advantage {advantage:.3} over {n} bookings");
    assert!(advantage > 1.5, "bot advantage under fcfs only {advantage}");
}

#[test]
fn checking_speed_gives_no_advantage_under_waitlist_priority_and_lottery() {
    for policy in ["waitlist", "priority", "lottery"] {
        let (n, bots) = bot_bookings(policy, TWO_BANDS, 1..=4);
        let share = bots as f64 / n as f64;
        // Who books does not depend on being a script, so the scripts' bookings are a
        // binomial sample with p = 0.2. Four standard errors (about ±0.02 in share,
        // ±0.1 in advantage, for ~5000 bookings) against the ~x2 of fcfs.
        let se = binomial_se(0.2, n as f64);
        eprintln!("{policy}: bot advantage {:.3} ± {:.3} (4 se) over {n} bookings", share / 0.2, 4.0 * se / 0.2);
        assert!(n > 3000, "{n}");
        assert!(
            (share - 0.2).abs() < 4.0 * se,
            "{policy}: script share of bookings {share}, expected 0.2 ± {}",
            4.0 * se
        );
    }
}

// ----- lottery draws -----------------------------------------------------------------

/// A week of registrations, then one draw for three days of ten slots (run day 7; the draw
/// at time 0 finds nobody registered, and the days released then are nearer than the
/// minimum lead by day 7).
const LOTTERY: &str = r#"
name = "one draw"
days = 8

[office]
open_weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

[[service]]
name = "passport"
bands = [{ start = "09:00", slots = 10 }]

[release]
horizon_days = 3
min_lead_days = 1

[demand]
arrivals_per_day = 40.0
party_size_weights = [1.0, 0.0, 0.0, 0.0, 0.0]

[behaviour]
bot_share = 0.2

[confirmation]
enabled = false

[allocation]
policy = "lottery"
lottery_every_days = 7
"#;

#[test]
fn a_lottery_draw_ignores_registration_order() {
    let draw = 7 * DAY;
    let (mut early, mut late) = ((0u64, 0u64), (0u64, 0u64)); // (entrants, winners)
    for seed in 1..=40 {
        let (_, run) = support::run(LOTTERY, seed);
        let entrants: Vec<usize> = run
            .parties
            .iter()
            .enumerate()
            .filter(|(_, p)| p.kind() == PartyKind::Portal && p.arrival() < draw)
            .map(|(i, _)| i)
            .collect();
        let won = |i: usize| run.bookings.iter().any(|b| b.party() as usize == i && b.made_at() == draw);
        let wins = entrants.iter().filter(|&&i| won(i)).count();
        assert_eq!(wins, 30, "seed {seed}: three days of ten slots go in the draw");
        assert!(run.bookings.iter().all(|b| b.made_at() == draw), "every booking is made at the draw");
        let half = entrants.len() / 2;
        for (k, &i) in entrants.iter().enumerate() {
            let bucket = if k < half { &mut early } else { &mut late };
            bucket.0 += 1;
            bucket.1 += u64::from(won(i));
        }
    }
    let (p1, p2) = (early.1 as f64 / early.0 as f64, late.1 as f64 / late.0 as f64);
    let pooled = (early.1 + late.1) as f64 / (early.0 + late.0) as f64;
    let se = (pooled * (1.0 - pooled) * (1.0 / early.0 as f64 + 1.0 / late.0 as f64)).sqrt();
    let z = (p1 - p2) / se;
    eprintln!("lottery: early registrants win {p1:.4}, late {p2:.4}, z = {z:.2}");
    // Two-proportion z-test; |z| < 4 (two-sided false alarm ~6e-5). A draw that favoured
    // early registrants even slightly (say 12% against 9%) gives |z| > 4 here.
    assert!(z.abs() < 4.0, "win rates {p1} (first half) vs {p2} (second half), z = {z}");
}

// ----- allocation after everything at an instant -----------------------------------------

/// Every booking is auto-cancelled at its confirmation deadline, a midnight (nobody
/// confirms), which is also a release instant. With `lead` 7, `window` 3 and `horizon` 10,
/// at 00:00 of day t the slots of day t + 4 are freed (deadline: e-mail at day A - 7, plus
/// 3 days) while day t + 10 is released. Demand is four times the capacity, so parties are
/// always waiting for both. Parties book once (an auto-cancelled one is lost), all of one
/// person, so a party's place in a waiting list is its arrival (or its need-by date) for
/// good. A lottery draws every seven days at the same midnight.
fn same_midnight(policy: &str, lead: u32, window: u32, horizon: u32) -> String {
    format!(
        r#"
name = "freed at a release"
days = 45

[office]
open_weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

[[service]]
name = "passport"
bands = [{{ start = "09:00", slots = 5 }}]

[release]
horizon_days = {horizon}
min_lead_days = 1

[demand]
arrivals_per_day = 20.0
party_size_weights = [1.0, 0.0, 0.0, 0.0, 0.0]

[behaviour]
confirm_prob = 0.0
rebook_prob = 0.0
show_prob = 1.0

[confirmation]
lead_days = {lead}
window_days = {window}

[allocation]
policy = "{policy}"
lottery_every_days = 7
"#
    )
}

/// Bookings grouped by the instant they were made: (instant, [(party, day)]).
fn bookings_by_instant(run: &RunRecord) -> BTreeMap<i64, Vec<(usize, u32)>> {
    let mut at: BTreeMap<i64, Vec<(usize, u32)>> = BTreeMap::new();
    for b in &run.bookings {
        at.entry(b.made_at()).or_default().push((b.party() as usize, b.placement().day));
    }
    at
}

/// Slots auto-cancelled at a release's midnight go, with the day released then, to the
/// parties first in the waiting list's order: the first takes the earliest day, whether
/// released or freed at that instant (model.md, "Time"). Before, the day released went to
/// the first and the freed day, five days earlier, to the next.
#[test]
fn a_waiting_list_gives_slots_freed_at_a_release_to_the_first_in_order() {
    for policy in ["waitlist", "priority"] {
        let mut mixed = 0;
        for seed in 1..=5 {
            let (_, run) = support::run(&same_midnight(policy, 7, 3, 10), seed);
            let key = |i: usize| {
                let p = &run.parties[i];
                match policy {
                    "waitlist" => (p.arrival(), 0, i),
                    _ => (p.need_by(), p.arrival(), i),
                }
            };
            for (t, mut made) in bookings_by_instant(&run) {
                made.sort_by_key(|&(i, _)| key(i));
                let days: Vec<u32> = made.iter().map(|&(_, d)| d).collect();
                assert!(days.is_sorted(), "{policy}, seed {seed}: at t = {t} s parties in order took days {days:?}");
                mixed += usize::from(t % DAY == 0 && days.first() != days.last());
            }
            let freed_then_taken = run.bookings.iter().filter(|b| {
                b.end().is_some_and(|(t, end)| {
                    end == BookingEnd::AutoCancelled
                        && run.bookings.iter().any(|c| c.made_at() == t && c.placement().day == b.placement().day)
                })
            });
            assert!(freed_then_taken.count() > 50, "{policy}, seed {seed}: freed slots are taken at once");
        }
        assert!(mixed > 100, "{policy}: instants with freed and released days together: {mixed}");
    }
}

/// A lottery draw at a midnight with confirmation deadlines includes the slots they free:
/// every slot freed at a draw's instant is taken in that draw (demand is far above
/// capacity). Before, they waited a week for the next draw, many until too late. A draw
/// books days up to three weeks ahead; those within two weeks have their e-mail at once and
/// their deadline a week later, at the next draw.
#[test]
fn a_lottery_draw_includes_the_slots_freed_at_its_instant() {
    let mut freed_at_draws = 0;
    for seed in 1..=5 {
        let (config, run) = support::run(&same_midnight("lottery", 14, 7, 21), seed);
        let lead = i64::from(config.release.min_lead_days);
        for b in &run.bookings {
            let Some((t, BookingEnd::AutoCancelled)) = b.end() else { continue };
            let day = b.placement().day;
            if t % (7 * DAY) != 0 || i64::from(day) < day_of(t) + lead {
                continue;
            }
            freed_at_draws += 1;
            let freed = run
                .bookings
                .iter()
                .filter(|c| {
                    c.placement().day == day && c.end().is_some_and(|(e, x)| e == t && x == BookingEnd::AutoCancelled)
                })
                .count();
            let taken = run.bookings.iter().filter(|c| c.made_at() == t && c.placement().day == day).count();
            assert!(
                taken >= freed,
                "seed {seed}: {freed} slots of day {day} freed at the draw at t = {t} s, {taken} taken"
            );
        }
    }
    assert!(freed_at_draws > 20, "slots freed at draws: {freed_at_draws}");
}
