//! The model against results derived by hand: the instant-booking queue, the share of
//! auto-cancelled bookings, and the day the legacy queue drains.

use std::collections::BTreeMap;

use slotsim::model::BookingEnd;
use slotsim::stats::summarize;

use crate::model::support::{self, DAY, binomial_se, day_of};

// ----- (a) the instant-booking limit -----------------------------------------------------

/// Every party is a script checking once a second on average, nothing is cancelled, every
/// day is open, and the whole run lies within the release horizon. Each party then books
/// about a second after it arrives, taking the earliest day from tomorrow on with a free
/// slot: a discrete-time bulk-service queue with c slots per day.
const INSTANT: &str = r#"
name = "instant booking"
start = "2021-06-14"
days = 150

[office]
open_weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

[[service]]
name = "passport"
bands = [{ start = "09:00", slots = 20 }]

[release]
kind = "rolling"
horizon_days = 400          # more than the run: no party ever finds the calendar shut
min_lead_days = 1

[demand]
arrivals_per_day = 19.0     # load 0.95, plus a launch backlog and a burst, so queues form
initial_backlog = 60
party_size_weights = [1.0, 0.0, 0.0, 0.0, 0.0]
patience_days = 0.0

[[demand.burst]]
at = "2021-08-02T00:00"
extra = 300.0
decay_days = 2.0

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
fn instant_booking_matches_the_bulk_service_queue() {
    const C: usize = 20;
    const BAND_START: i64 = 9 * 3600;
    for seed in [1, 2] {
        let (config, run) = support::run(INSTANT, seed);
        let days = config.days as usize;
        // Portal parties in arrival order (ties within a second keep their index order:
        // they have the same arrival instant, so their order does not change the mean).
        let parties = support::portal_arrivals(&run);
        assert!(parties.len() > 2500, "{} parties", parties.len());
        // By hand, C slots every day; the same backlog as the bulk-service recursion.
        let capacity = vec![C; days + 1000];
        let hand = support::hand_queue(&parties, &capacity);
        let hand_day: BTreeMap<usize, usize> = hand.iter().map(|(&id, &(d, _))| (id, d)).collect();
        let longest = support::check_backlog_recursion(&parties, &hand, &capacity, days);
        let mut arrivals = vec![0i64; days];
        for &(t, _) in &parties {
            arrivals[day_of(t) as usize] += 1;
        }
        assert!(arrivals.iter().any(|&a| a > 2 * C as i64), "the burst makes a real queue");
        assert!(longest > 0, "a backlog forms");

        // Expected mean lead time over the parties served within the run.
        let (expected, served) = support::hand_mean_lead(&parties, |id| {
            (hand_day[&id] < days).then(|| hand_day[&id] as i64 * DAY + BAND_START)
        });
        let summary = summarize(&run);
        let simulated = summary.lead_days_mean.expect("parties were served");
        eprintln!(
            "instant booking, seed {seed}: {} parties, {} served; lead_days_mean expected {expected:.5}, simulated {simulated:.5}",
            parties.len(),
            served
        );
        // The model differs from the hand queue only through check latency: a party books
        // about a second (exponential, mean 1 s) after arriving, so (i) one arriving in the
        // last seconds of a day books the next day and may be pushed back a day, and (ii)
        // two parties arriving within seconds of each other may book in swapped order.
        // (ii) leaves the mean unchanged unless the pair straddles midnight; (i) touches
        // about n x (1 s / 86 400 s) ~ 0.04 parties per run, each moving the mean by 1/n
        // ~ 0.0004 day. A tolerance of 0.01 day allows ~25 such parties: far more than
        // latency can produce, far less than any real allocation error (a party given a
        // day too late everywhere shifts the mean by 1 day).
        assert_eq!(summary.served as usize, served, "served parties");
        assert!((simulated - expected).abs() < 0.01, "lead_days_mean {simulated} vs hand queue {expected}");

        // Party by party: the same appointment days for the parties arriving at each
        // instant (parties arriving at the same instant, like the launch backlog, book in
        // a random order among themselves), bar latency swaps.
        type Days = Vec<Option<i64>>; // appointment days (None: not served within the run)
        let mut by_instant: BTreeMap<i64, (Days, Days)> = BTreeMap::new();
        for &(t, id) in &parties {
            let e = by_instant.entry(t).or_default();
            e.0.push(run.parties[id].served().map(day_of));
            e.1.push(Some(hand_day[&id] as i64).filter(|&d| d < days as i64));
        }
        let differ: usize = by_instant
            .values_mut()
            .map(|(model, hand)| {
                model.sort_unstable();
                hand.sort_unstable();
                model.iter().zip(hand.iter()).filter(|(a, b)| a != b).count()
            })
            .sum();
        eprintln!("instant booking, seed {seed}: {differ} parties got another day than in the hand queue");
        // Swaps need two arrivals within a few seconds of each other at a day boundary of
        // the queue, about 0.03 per run: five parties is a generous allowance.
        assert!(differ <= 5, "{differ} parties got another day than in the hand queue");
    }
}

// ----- (b) the auto-cancellation share -----------------------------------------------

const W: f64 = 2.0;
const P: f64 = 0.8;
const D_HOURS: f64 = 48.0;

fn confirmation_scenario() -> String {
    format!(
        r#"
name = "confirmation"
days = 200

[[service]]
name = "passport"
bands = [{{ start = "09:00", slots = 40 }}]

[release]
horizon_days = 60
min_lead_days = 15          # every booking is made before its e-mail: the full window applies

[demand]
arrivals_per_day = 25.0
party_size_weights = [1.0, 0.0, 0.0, 0.0, 0.0]

[behaviour]
confirm_prob = {P:?}
bot_share = 0.0
confirm_delay_hours = {D_HOURS:?}
cancel_per_day = 0.0
rebook_prob = 1.0

[confirmation]
enabled = true
lead_days = 14
window_days = {w}

[allocation]
policy = "waitlist"
"#,
        w = W as u32
    )
}

#[test]
fn auto_cancelled_share_matches_the_confirmation_window() {
    let text = confirmation_scenario();
    let (mut n, mut cancelled) = (0u64, 0u64);
    for seed in 1..=3 {
        let (config, run) = support::run(&text, seed);
        let end = i64::from(config.days) * DAY;
        for b in run.bookings.iter().filter(|b| b.service() == 0) {
            let day_start = i64::from(b.placement().day) * DAY;
            // The full window: e-mail at 00:00 fourteen days ahead, after the booking was made.
            assert_eq!(b.email_at(), Some(day_start - 14 * DAY), "e-mail of a booking made at {}", b.made_at());
            assert!(b.made_at() < day_start - 14 * DAY);
            assert_eq!(b.deadline(), Some(day_start - 14 * DAY + W as i64 * DAY));
            // Only bookings whose deadline falls within the run have a known fate; the
            // deadline is fixed when the booking is made, so this selects no outcome.
            if b.deadline().expect("deadline") >= end {
                continue;
            }
            n += 1;
            cancelled += u64::from(matches!(b.end(), Some((_, BookingEnd::AutoCancelled))));
        }
    }
    let expected = 1.0 - P * (1.0 - (-W * 24.0 / D_HOURS).exp());
    let share = cancelled as f64 / n as f64;
    let se = binomial_se(expected, n as f64);
    eprintln!("auto-cancelled share: expected {expected:.4}, simulated {share:.4} over {n} bookings (se {se:.4})");
    // Each booking's confirmation is an independent draw, so the count is binomial; four
    // standard errors (a false alarm about once in 16 000 runs, and the seeds are fixed)
    // against e.g. ±0.06 if the window were off by half a day.
    assert!(n > 10_000, "{n} bookings");
    assert!((share - expected).abs() < 4.0 * se, "share {share} vs {expected} ± {}", 4.0 * se);
}

// ----- (c) the legacy queue's drain day ----------------------------------------------

fn legacy_scenario(release: &str, requests: u32) -> String {
    format!(
        r#"
name = "legacy drain"
start = "2021-06-14"        # a Monday: run day k is a weekday when k % 7 < 5
days = 120

[office]
open_weekdays = ["mon", "tue", "wed", "thu", "fri"]
holidays = ["2021-07-05"]   # run day 21, a Monday

[[service]]
name = "passport"
bands = [{{ start = "09:00", slots = 20 }}]

[release]
{release}

[demand]
arrivals_per_day = 10.0
party_size_weights = [1.0, 0.0, 0.0, 0.0, 0.0]

[legacy]
requests = {requests}
quota_per_day = 5
needs_confirmation = false
"#
    )
}

/// The drain day counted by hand: run through the release days; each newly released open
/// day takes `quota` legacy parties of one person; the queue drains at the release that
/// brings the ceil(n / quota)-th open day.
fn hand_drain_day(n: u32, quota: u32, horizon: i64, every: i64) -> (u32, Vec<i64>) {
    let open = |d: i64| d % 7 < 5 && d != 21;
    let mut released_to = 0; // days up to this one are released (day 0 never is, min lead 1)
    let mut given = 0;
    let mut days_given = Vec::new();
    for r in (0..).step_by(every as usize) {
        for d in (released_to + 1).max(r + 1)..=r + horizon {
            if open(d) {
                for _ in 0..quota {
                    if given < n {
                        given += 1;
                        days_given.push(d);
                    }
                }
            }
        }
        released_to = r + horizon;
        if given == n {
            return (r as u32, days_given);
        }
    }
    unreachable!()
}

#[test]
fn legacy_queue_drains_on_the_hand_counted_day() {
    let cases = [
        // (release table, requests, hand-counted drain day)
        // Rolling, horizon 10: the time-0 release brings days 1-4 and 7-10 (8 open days,
        // 40 parties); 200 parties need 40 open days; with day 21 a holiday the 40th open
        // day is day 57, released on day 57 - 10 = 47.
        ("kind = \"rolling\"\ntime = \"06:00\"\nhorizon_days = 10\nmin_lead_days = 1", 200, 47, 10, 1),
        // Batch every 7 days, horizon 14: releases on days 0, 7, 14, ... bring 10, 4, 5, 5,
        // 5, 5, 5 open days (39 by day 42); the 40th, day 57, comes with the day-49 release.
        ("kind = \"batch\"\nevery_days = 7\nhorizon_days = 14\nmin_lead_days = 1", 200, 49, 14, 7),
        // 30 parties fit in the first release's 8 open days: drained on day 0.
        ("kind = \"rolling\"\nhorizon_days = 10\nmin_lead_days = 1", 30, 0, 10, 1),
    ];
    for (release, requests, by_hand, horizon, every) in cases {
        let (hand, days_given) = hand_drain_day(requests, 5, horizon, every);
        assert_eq!(hand, by_hand, "the hand count in the comment and the enumeration agree");
        let text = legacy_scenario(release, requests);
        for seed in [1, 2] {
            let (_, run) = support::run(&text, seed);
            let summary = summarize(&run);
            eprintln!("legacy drain ({release:?}): expected day {by_hand}, simulated {:?}", summary.legacy_drained_day);
            assert_eq!(summary.legacy_drained_day, Some(by_hand), "{release}");
            // Each receipt got the day the count gives it.
            let given: Vec<i64> =
                run.bookings.iter().filter(|b| b.legacy()).map(|b| i64::from(b.placement().day)).collect();
            assert_eq!(given, days_given, "legacy appointment days, {release}");
            assert_eq!(summary.legacy_inversions, 0);
        }
    }
}
