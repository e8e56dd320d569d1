//! Invariants of `docs/model.md` over small random scenarios, many seeds and all four
//! policies (property tests), plus checks that the checkers catch corrupted runs.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use slotsim::model::{BookingEnd, ModelConfig, Outcome, PartyKind, RunRecord};
use slotsim::scenario::dates::{civil_from_days, parse_date};

use crate::model::checks;
use crate::model::support::{self, DAY, edit_booking, edit_party};

const POLICIES: [&str; 4] = ["fcfs", "waitlist", "priority", "lottery"];
const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A small random scenario.
#[derive(Debug, Clone)]
struct Params {
    days: u32,
    warmup_days: u32,
    open_mask: u8,
    holidays: Vec<u32>,
    bands: Vec<u32>,
    pickup_slots: Option<u32>,
    batch_every: Option<u32>,
    release_hour: u32,
    jitter_minutes: u32,
    horizon: u32,
    min_lead: u32,
    lottery_every: u32,
    arrivals: u32,
    backlog: u32,
    size_weights: [u32; 5],
    patience_days: Option<u32>,
    human_checks: u32,
    bot_interval: u32,
    confirmation: bool,
    lead_days: u32,
    window_days: u32,
    confirm_tenths: u32,
    cancel_hundredths: u32,
    show_tenths: u32,
    docs_tenths: u32,
    rebook_tenths: u32,
    bot_tenths: u32,
    detection_tenths: u32,
    legacy_requests: u32,
    legacy_quota: u32,
    legacy_confirm: bool,
    preexisting: u32,
    over_days: u32,
    levers: Levers,
}

/// A period: days after the previous one ends (the first: after the start, possibly
/// before it), length in days, band slots (None: closed), open weekdays as a bit mask.
type PeriodParams = (i32, u32, Option<Vec<u32>>, Option<u8>);

/// The capacity levers: periods of other capacity, held urgent slots, overbooking.
#[derive(Debug, Clone, Default)]
struct Levers {
    /// Periods in date order: days after the previous one ends (the first: after the start,
    /// possibly before it), length in days, bands (None: closed), weekday mask.
    periods: Vec<PeriodParams>,
    /// Pickup periods likewise (one at most).
    pickup_period: Option<(i32, u32, Option<Vec<u32>>)>,
    urgent_tenths: u32,
    urgent_within: u32,
    urgent_open: u32,
    overbook_hundredths: u32,
}

fn levers() -> impl Strategy<Value = Levers> {
    let period = (
        -20i32..=40,
        1u32..=40,
        prop::option::of(prop::collection::vec(5u32..=25, 1..=3)),
        prop::option::of(1u8..=127),
    );
    (
        prop::collection::vec(period, 0..=3),
        prop::option::of((-5i32..=60, 1u32..=20, prop::option::of(prop::collection::vec(5u32..=15, 1..=2)))),
        prop_oneof![Just(0u32), 1u32..=6],
        0u32..=60,
        0u32..=10,
        prop_oneof![Just(0u32), 1u32..=40],
    )
        .prop_map(|(periods, pickup_period, urgent_tenths, urgent_within, urgent_open, overbook_hundredths)| {
            Levers { periods, pickup_period, urgent_tenths, urgent_within, urgent_open, overbook_hundredths }
        })
}

fn params() -> impl Strategy<Value = Params> {
    let calendar = (
        30u32..=120,
        0u32..=10,
        1u8..=127,
        prop::collection::vec(0u32..120, 0..4),
        prop::collection::vec(5u32..=25, 1..=3),
        prop::option::of(5u32..=15),
    );
    // Horizons shorter than a batch interval make days first released on the day itself.
    let release = (prop::option::of(1u32..=7), 0u32..=12, 0u32..=120, 3u32..=60, 0u32..=3, 1u32..=7);
    let demand =
        // Half the time no launch backlog (so that early days have room), else up to 100.
        (5u32..=40, prop_oneof![Just(0u32), 0u32..=100], prop::array::uniform5(0u32..=3), prop::option::of(1u32..=30), 0u32..=5, 1u32..=600);
    let behaviour =
        (any::<bool>(), 0u32..=20, 1u32..=7, 5u32..=10, 0u32..=5, 7u32..=10, 8u32..=10, 0u32..=10, 0u32..=5, 0u32..=5);
    let legacy =
        (0u32..=300, prop_oneof![Just(0u32), 5u32..=15], any::<bool>(), prop_oneof![Just(0u32), 0u32..=200], 1u32..=60);
    (calendar, release, demand, behaviour, legacy, prop_oneof![Just(Levers::default()), levers()]).prop_map(
        |(c, r, d, b, l, levers)| {
            let mut size_weights = d.2;
            if size_weights.iter().all(|&w| w == 0) {
                size_weights[0] = 1;
            }
            Params {
                days: c.0,
                warmup_days: c.1.min(c.0 - 1),
                open_mask: c.2,
                holidays: c.3,
                bands: c.4,
                pickup_slots: c.5,
                batch_every: r.0,
                release_hour: r.1,
                jitter_minutes: r.2,
                horizon: r.3,
                min_lead: r.4,
                lottery_every: r.5,
                arrivals: d.0,
                backlog: d.1,
                size_weights,
                patience_days: d.3,
                human_checks: d.4,
                bot_interval: d.5,
                confirmation: b.0,
                lead_days: b.1,
                window_days: b.2,
                confirm_tenths: b.3,
                cancel_hundredths: b.4,
                show_tenths: b.5,
                docs_tenths: b.6,
                rebook_tenths: b.7,
                bot_tenths: b.8,
                detection_tenths: b.9,
                legacy_requests: l.0,
                legacy_quota: l.1,
                legacy_confirm: l.2,
                preexisting: l.3,
                over_days: l.4,
                levers,
            }
        },
    )
}

/// A float as TOML text (always with a decimal point).
fn f(x: f64) -> String {
    format!("{x:?}")
}

/// Bands at 09:00, 10:00, ... with these slots, as TOML.
fn band_list(slots: &[u32], first_hour: usize) -> String {
    let bands: Vec<String> = slots
        .iter()
        .enumerate()
        .map(|(i, s)| format!("{{ start = \"{:02}:00\", slots = {s} }}", first_hour + i))
        .collect();
    format!("[{}]", bands.join(", "))
}

/// `[[service.period]]` tables for one service, one after the other from the start date.
fn render_periods(start: i64, periods: &[PeriodParams], first_hour: usize) -> String {
    let mut out = String::new();
    let mut next = start;
    for (k, (gap, len, bands, mask)) in periods.iter().enumerate() {
        // Only the first period may start before the run (and before its start date).
        let from = next + i64::from(if k == 0 { *gap } else { gap.abs() });
        let until = from + i64::from(*len) - 1;
        next = until + 1;
        out += &format!(
            "[[service.period]]\nfrom = \"{}\"\nuntil = \"{}\"\nbands = {}\n",
            civil_from_days(from),
            civil_from_days(until),
            band_list(bands.as_deref().unwrap_or(&[]), first_hour)
        );
        if let Some(mask) = mask {
            let days: Vec<String> =
                (0..7).filter(|i| mask & (1 << i) != 0).map(|i| format!("\"{}\"", WEEKDAYS[i])).collect();
            out += &format!("open_weekdays = [{}]\n", days.join(", "));
        }
    }
    out
}

fn render(p: &Params, policy: &str) -> String {
    let start = parse_date("2021-06-14").expect("a date");
    let l = &p.levers;
    let periods = render_periods(start, &l.periods, 9);
    let pickup_periods = l
        .pickup_period
        .as_ref()
        .map(|(gap, len, bands)| render_periods(start, &[(*gap, *len, bands.clone(), None)], 14))
        .unwrap_or_default();
    let open: Vec<String> =
        (0..7).filter(|i| p.open_mask & (1 << i) != 0).map(|i| format!("\"{}\"", WEEKDAYS[i])).collect();
    let holidays: Vec<String> =
        p.holidays.iter().map(|&d| format!("\"{}\"", civil_from_days(start + i64::from(d)))).collect();
    let bands: Vec<String> =
        p.bands.iter().enumerate().map(|(i, s)| format!("{{ start = \"{:02}:00\", slots = {s} }}", 9 + i)).collect();
    let pickup = p
        .pickup_slots
        .map(|s| {
            format!("[[service]]\nname = \"pickup\"\nbands = [{{ start = \"14:30\", slots = {s} }}]\n{pickup_periods}")
        })
        .unwrap_or_default();
    let weights: Vec<String> = p.size_weights.iter().map(|&w| f(f64::from(w))).collect();
    format!(
        r#"name = "random"
start = "2021-06-14"
days = {days}
warmup_days = {warmup}

[office]
open_weekdays = [{open}]
holidays = [{holidays}]

[[service]]
name = "passport"
bands = [{bands}]
{periods}
{pickup}
[release]
kind = "{kind}"
time = "{hour:02}:00"
every_days = {every}
jitter_minutes = {jitter}
horizon_days = {horizon}
min_lead_days = {min_lead}

[demand]
arrivals_per_day = {arrivals}
initial_backlog = {backlog}
party_size_weights = [{weights}]
patience_days = {patience}
need_by_days = {{ min = 10, max = 90 }}

[behaviour]
human_checks_per_day = {human}
watch_release_prob = 0.3
bot_share = {bot}
bot_check_interval_seconds = {bot_interval}
confirm_prob = {confirm}
cancel_per_day = {cancel}
show_prob = {show}
docs_ok_prob = {docs}
rebook_prob = {rebook}
processing_days = {{ min = 3, max = 12 }}

[confirmation]
enabled = {confirmation}
lead_days = {lead}
window_days = {window}

[allocation]
policy = "{policy}"
lottery_every_days = {lottery}
bot_detection_prob = {detection}
urgent_share = {urgent}
urgent_within_days = {within}
urgent_open_days = {open_days}
overbook_share = {overbook}

[legacy]
requests = {legacy}
quota_per_day = {quota}
needs_confirmation = {legacy_confirm}

[preexisting]
bookings = {pre}
over_days = {over}
"#,
        days = p.days,
        warmup = p.warmup_days,
        open = open.join(", "),
        holidays = holidays.join(", "),
        bands = bands.join(", "),
        kind = if p.batch_every.is_some() { "batch" } else { "rolling" },
        hour = p.release_hour,
        every = p.batch_every.unwrap_or(1),
        jitter = p.jitter_minutes,
        horizon = p.horizon,
        min_lead = p.min_lead,
        arrivals = f(f64::from(p.arrivals)),
        backlog = p.backlog,
        weights = weights.join(", "),
        patience = f(f64::from(p.patience_days.unwrap_or(0))),
        human = f(f64::from(p.human_checks)),
        bot = f(f64::from(p.bot_tenths) / 10.0),
        bot_interval = f(f64::from(p.bot_interval)),
        confirm = f(f64::from(p.confirm_tenths) / 10.0),
        cancel = f(f64::from(p.cancel_hundredths) / 100.0),
        show = f(f64::from(p.show_tenths) / 10.0),
        docs = f(f64::from(p.docs_tenths) / 10.0),
        rebook = f(f64::from(p.rebook_tenths) / 10.0),
        confirmation = p.confirmation,
        lead = p.lead_days,
        window = p.window_days,
        lottery = p.lottery_every,
        detection = f(f64::from(p.detection_tenths) / 10.0),
        legacy = p.legacy_requests,
        quota = p.legacy_quota,
        legacy_confirm = p.legacy_confirm,
        pre = p.preexisting,
        over = p.over_days,
        urgent = f(f64::from(l.urgent_tenths) / 10.0),
        within = l.urgent_within,
        open_days = l.urgent_open,
        overbook = f(f64::from(l.overbook_hundredths) / 100.0),
    )
}

fn check(p: &Params, seed: u64, policy: &str) -> Result<(), TestCaseError> {
    let text = render(p, policy);
    let (config, run) = support::run(&text, seed);
    checks::all(&config, &run)
        .map_err(|e| TestCaseError::fail(format!("policy {policy}, seed {seed}: {e}\n--- scenario ---\n{text}")))
}

fn config() -> ProptestConfig {
    // 32 random scenarios × random seeds per policy keeps the suite fast in the dev profile;
    // failures print the scenario text and seed, so no regression file is written.
    // PROPTEST_CASES=N asks for more (a longer hunt before a release).
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(32);
    ProptestConfig { cases, failure_persistence: None, max_shrink_iters: 200, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn invariants_hold_under_fcfs(p in params(), seed in 0u64..1_000_000) {
        check(&p, seed, POLICIES[0])?;
    }

    #[test]
    fn invariants_hold_under_waitlist(p in params(), seed in 0u64..1_000_000) {
        check(&p, seed, POLICIES[1])?;
    }

    #[test]
    fn invariants_hold_under_priority(p in params(), seed in 0u64..1_000_000) {
        check(&p, seed, POLICIES[2])?;
    }

    #[test]
    fn invariants_hold_under_lottery(p in params(), seed in 0u64..1_000_000) {
        check(&p, seed, POLICIES[3])?;
    }
}

// ----- the checkers catch corrupted runs -------------------------------------------------

/// A busy, fixed scenario that exercises every feature: legacy queue, old-portal
/// bookings, pickup, confirmation, cancellations, patience, bots and detection.
fn busy() -> (ModelConfig, RunRecord) {
    let p = Params {
        days: 90,
        warmup_days: 5,
        open_mask: 0b001_1111,
        holidays: vec![22],
        bands: vec![8, 8],
        pickup_slots: Some(10),
        batch_every: None,
        release_hour: 6,
        jitter_minutes: 30,
        horizon: 30,
        min_lead: 2,
        lottery_every: 7,
        arrivals: 25,
        backlog: 50,
        size_weights: [3, 1, 1, 0, 1],
        patience_days: Some(20),
        human_checks: 2,
        bot_interval: 60,
        confirmation: true,
        lead_days: 10,
        window_days: 3,
        confirm_tenths: 8,
        cancel_hundredths: 2,
        show_tenths: 9,
        docs_tenths: 9,
        rebook_tenths: 7,
        bot_tenths: 2,
        detection_tenths: 3,
        legacy_requests: 120,
        legacy_quota: 6,
        legacy_confirm: true,
        preexisting: 60,
        over_days: 20,
        levers: Levers::default(),
    };
    let (config, run) = support::run(&render(&p, "fcfs"), 11);
    checks::all(&config, &run).expect("the busy scenario satisfies every invariant");
    // The run has what the corruptions below need.
    assert!(run.bookings.iter().any(|b| b.legacy()) && run.bookings.iter().any(|b| b.preexisting()));
    assert!(run.parties.iter().any(|p| p.outcome() == Outcome::Abandoned));
    assert!(run.bookings.iter().any(|b| matches!(b.end(), Some((_, BookingEnd::AutoCancelled)))));
    (config, run)
}

#[test]
fn conservation_checker_catches_a_miscounted_slot() {
    let (config, mut run) = busy();
    let d = (0..run.days as usize).find(|&d| run.calendar[d].open).expect("an open day");
    run.calendar[d].tally.used += 1;
    assert!(checks::conservation(&config, &run).is_err());

    // A tally that adds up but disagrees with the booking log.
    let (config, mut run) = busy();
    let b = run
        .bookings
        .iter()
        .position(|b| b.service() == 0 && matches!(b.end(), Some((_, BookingEnd::Attended))))
        .expect("an attended booking");
    let t = run.bookings[b].end().expect("ended").0;
    edit_booking(&mut run.bookings[b], |b| b.end = Some((t, BookingEnd::NoShow)));
    assert!(checks::conservation(&config, &run).is_err());
}

#[test]
fn overlap_checker_catches_a_doubly_held_slot() {
    let (config, mut run) = busy();
    let a = run.bookings.iter().position(|b| b.end().is_none()).expect("a booking held at the end");
    let mut twin = run.bookings[a].clone();
    let last = run.bookings.last().expect("bookings").made_at();
    edit_booking(&mut twin, |b| b.made_at = last);
    run.bookings.push(twin);
    let err = checks::no_double_holding(&config, &run).expect_err("a slot held twice");
    assert!(err.contains("held by booking"), "{err}");

    // A booking that skips a free lower slot.
    let (config, mut run) = busy();
    // The last open day, far ahead: nobody holds it.
    let far = (0..config.calendar_days()).rev().find(|&d| config.services[0].is_open(d)).expect("an open day");
    let band_slots = config.services[0].bands_on(far)[0].places;
    let last = run.bookings.len() - 1;
    edit_booking(&mut run.bookings[last], |b| {
        b.service = 0;
        b.placement.band = 0;
        b.placement.day = far as u32;
        b.placement.slots[..b.placement.len as usize]
            .iter_mut()
            .enumerate()
            .for_each(|(k, s)| *s = band_slots - 1 - k as u32);
    });
    let err = checks::no_double_holding(&config, &run).expect_err("a skipped free slot");
    assert!(err.contains("lower slot"), "{err}");
}

#[test]
fn calendar_checker_catches_closed_unreleased_and_too_near_days() {
    let (config, run) = busy();
    let portal = run.bookings.iter().position(|b| !b.legacy() && !b.preexisting() && b.service() == 0).expect("portal");
    let closed = (0..config.calendar_days()).find(|&d| !config.services[0].is_open(d)).expect("a closed day");

    let mut bad = run.clone();
    edit_booking(&mut bad.bookings[portal], |b| {
        b.placement.day = closed as u32;
        b.appointment = closed as i64 * DAY + 9 * 3600;
    });
    assert!(checks::calendar_rules(&config, &bad).unwrap_err().contains("closed"));

    let mut bad = run.clone();
    edit_booking(&mut bad.bookings[portal], |b| {
        b.made_at = run.calendars[0].released_at(b.placement.day as usize).expect("released") - 1;
    });
    assert!(checks::calendar_rules(&config, &bad).unwrap_err().contains("released"));

    let mut bad = run.clone();
    // One day ahead; min lead is 2.
    edit_booking(&mut bad.bookings[portal], |b| b.made_at = (i64::from(b.placement.day) - 1) * DAY + 3600);
    assert!(checks::calendar_rules(&config, &bad).unwrap_err().contains("min_lead_days"));

    let mut bad = run.clone();
    let legacy = bad.bookings.iter_mut().find(|b| b.legacy()).expect("a legacy booking");
    edit_booking(legacy, |b| b.made_at += 1);
    assert!(checks::calendar_rules(&config, &bad).unwrap_err().contains("released"));
}

#[test]
fn legacy_checker_catches_an_inversion() {
    let (config, mut run) = busy();
    run.legacy_order.swap(3, 4);
    assert!(checks::legacy_order(&config, &run).is_err());

    // A later receipt given its appointment before an earlier one.
    let (config, mut run) = busy();
    let ids: Vec<usize> = run.bookings.iter().enumerate().filter(|(_, b)| b.legacy()).map(|(i, _)| i).collect();
    let (first, last) = (ids[0], ids[ids.len() - 1]);
    assert!(run.bookings[first].made_at() < run.bookings[last].made_at(), "legacy bookings over several releases");
    let party = run.bookings[first].party();
    let other = run.bookings[last].party();
    edit_booking(&mut run.bookings[first], |b| b.party = other);
    edit_booking(&mut run.bookings[last], |b| b.party = party);
    assert!(checks::legacy_order(&config, &run).is_err());
}

#[test]
fn story_checker_catches_inconsistent_parties() {
    let (config, run) = busy();
    let booked =
        run.parties.iter().position(|p| p.kind() == PartyKind::Portal && p.first_booked().is_some()).expect("booked");

    let mut bad = run.clone();
    edit_party(&mut bad.parties[booked], |p| p.first_booked = Some(p.arrival - 1));
    assert!(checks::party_stories(&config, &bad).is_err());

    let mut bad = run.clone();
    let served = bad.parties.iter().position(|p| p.served().is_some()).expect("served");
    edit_party(&mut bad.parties[served], |p| p.served = Some(p.first_booked.expect("booked") - 1));
    assert!(checks::party_stories(&config, &bad).is_err());

    // An abandoned party that books afterwards.
    let mut bad = run.clone();
    let gone = bad.parties.iter().position(|p| p.outcome() == Outcome::Abandoned).expect("abandoned");
    let b = bad.bookings.iter().position(|b| b.service() == 0).expect("a booking");
    edit_booking(&mut bad.bookings[b], |b| b.party = gone as u32);
    edit_party(&mut bad.parties[gone], |p| p.bookings += 1);
    assert!(checks::party_stories(&config, &bad).is_err());

    // A party whose patience ran out but which was never given up.
    let mut bad = run.clone();
    let gone = bad.parties.iter().position(|p| p.outcome() == Outcome::Abandoned).expect("abandoned");
    edit_party(&mut bad.parties[gone], |p| p.outcome = Outcome::Waiting);
    let err = checks::party_stories(&config, &bad).expect_err("a lost give-up");
    assert!(err.contains("still waiting at the end"), "{err}");

    // Two bookings of one service held at once.
    let mut bad = run;
    // (the first booking of a party that was auto-cancelled and booked again, kept).
    let first = bad
        .bookings
        .iter()
        .enumerate()
        .filter(|(_, b)| b.service() == 0 && matches!(b.end(), Some((_, BookingEnd::AutoCancelled))))
        .map(|(i, _)| i)
        .find(|&i| bad.bookings[i + 1..].iter().any(|b| b.party() == bad.bookings[i].party() && b.service() == 0))
        .expect("a party that booked again after an auto-cancellation");
    edit_booking(&mut bad.bookings[first], |b| b.end = None);
    let err = checks::party_stories(&config, &bad).expect_err("overlapping holds");
    assert!(err.contains("holds two bookings"), "{err}");
}

// ----- same-day booking ------------------------------------------------------------------

/// With `min_lead_days = 0` today is bookable, but not a band that has already started:
/// from the first day on, for portal parties, and for the legacy queue when a day is first
/// released on the day itself (a weekly batch with a shorter horizon, released at noon).
/// Random scenarios rarely exercise this (early days are usually full), so it has its own
/// test.
#[test]
fn same_day_booking_never_takes_a_band_that_has_started() {
    let release = [
        "kind = \"rolling\"\ntime = \"00:00\"\nhorizon_days = 5",
        "kind = \"batch\"\nevery_days = 7\ntime = \"12:00\"\nhorizon_days = 3",
    ];
    for release in release {
        for policy in POLICIES {
            let text = format!(
                r#"
name = "same day"
days = 30
[[service]]
name = "passport"
bands = [{{ start = "09:00", slots = 10 }}, {{ start = "14:00", slots = 10 }}]
[release]
{release}
min_lead_days = 0
[demand]
arrivals_per_day = 20.0
[confirmation]
enabled = false
[allocation]
policy = "{policy}"
lottery_every_days = 1
[legacy]
requests = 200
quota_per_day = 5
needs_confirmation = false
"#
            );
            let (config, run) = support::run(&text, 1);
            let late: Vec<_> = run.bookings.iter().filter(|b| b.appointment() <= b.made_at()).collect();
            assert!(
                late.is_empty(),
                "{policy}, {release:?}: {} bookings made at or after their appointment, e.g. {:?}",
                late.len(),
                late.iter().take(2).map(|b| (b.made_at(), b.appointment(), b.legacy())).collect::<Vec<_>>()
            );
            checks::all(&config, &run).unwrap_or_else(|e| panic!("{policy}, {release:?}: {e}"));
            // Same-day bookings do happen (the test is not vacuous).
            assert!(
                run.bookings.iter().any(|b| !b.legacy() && b.made_at() / DAY == i64::from(b.placement().day)),
                "{policy}, {release:?}: no same-day booking"
            );
        }
    }
}
