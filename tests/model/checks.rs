//! Invariant checkers over a finished run.
//!
//! Each checker recomputes what it needs from the run's booking log, party table and
//! calendar records, independently of the model's own counters, and returns a message
//! naming the first violation. The checkers are plain functions returning `Result` so that
//! `invariants.rs` can also feed them deliberately corrupted runs and see them fail.

use std::collections::{BTreeMap, BTreeSet};

use slotsim::model::{Booking, BookingEnd, ModelConfig, Outcome, PartyKind, RunRecord, Slot};
use slotsim::stats::summarize;

use crate::model::support::{DAY, day_of};

/// "Still held at the end of the run" / "held for good": an open-ended interval.
const FOREVER: i64 = i64::MAX;

/// The instant a booking's slots went back to free, if they did (a cancellation of any
/// kind). Attended and no-show slots are used up for good; a booking still held at the end
/// holds its slots for good as far as the run can tell.
fn freed_at(b: &Booking) -> Option<i64> {
    match b.end() {
        Some((t, BookingEnd::AutoCancelled | BookingEnd::Cancelled | BookingEnd::Detected)) => Some(t),
        _ => None,
    }
}

/// End of the interval during which a booking occupies its slots: `[made_at, this)`.
fn slot_hold_end(b: &Booking) -> i64 {
    freed_at(b).unwrap_or(FOREVER)
}

/// End of the interval during which the *party* holds the booking: it stops holding it
/// when it is freed or when the appointment takes place.
fn party_hold_end(b: &Booking) -> i64 {
    b.end().map_or(FOREVER, |(t, _)| t)
}

type SlotKey = (u8, u32, u16, u32);

fn slot_key(b: &Booking, slot: u32) -> SlotKey {
    (b.service(), b.placement().day, b.placement().band, slot)
}

/// Booking indexes per slot, in the order the bookings were made.
fn holders(run: &RunRecord) -> BTreeMap<SlotKey, Vec<usize>> {
    let mut map: BTreeMap<SlotKey, Vec<usize>> = BTreeMap::new();
    for (id, b) in run.bookings.iter().enumerate() {
        for &i in b.placement().slots() {
            map.entry(slot_key(b, i)).or_default().push(id);
        }
    }
    map
}

/// (a) Slots are conserved per first-service day, and the tallies, the daily table, the
/// final slot states and the summary's slot columns all agree with the booking log.
pub fn conservation(config: &ModelConfig, run: &RunRecord) -> Result<(), String> {
    let days = config.calendar_days();
    if run.calendar.len() != days {
        return Err(format!("calendar has {} day records, expected {days}", run.calendar.len()));
    }
    let service = &config.services[0];

    // What the booking log says became of each place (every service): the last booking
    // that held it decides (bookings are logged in the order they were made).
    let last: BTreeMap<SlotKey, usize> = holders(run).into_iter().map(|(k, list)| (k, list[list.len() - 1])).collect();
    #[derive(Default, Clone, Copy)]
    struct Count {
        touched: u64,
        used: u64,
        noshow: u64,
        freed: u64,
        held: u64,
    }
    let mut counts: BTreeMap<(u32, u16), Count> = BTreeMap::new();
    for (&(_, day, band, _), &id) in last.range((0, 0, 0, 0)..(1, 0, 0, 0)) {
        let c = counts.entry((day, band)).or_default();
        c.touched += 1;
        match run.bookings[id].end() {
            None => c.held += 1,
            Some((_, BookingEnd::Attended)) => c.used += 1,
            Some((_, BookingEnd::NoShow)) => c.noshow += 1,
            Some(_) => c.freed += 1,
        }
    }

    for (d, rec) in run.calendar.iter().enumerate() {
        let open = service.is_open(d);
        let t = rec.tally;
        if rec.open != open {
            return Err(format!("day {d}: record says open={} but the capacity plan says {open}", rec.open));
        }
        let offered = u64::from(service.capacity_on(d));
        if t.offered != offered {
            return Err(format!("day {d}: {} slots offered, expected {offered}", t.offered));
        }
        let sum = t.used + t.wasted_noshow + t.wasted_freed + t.wasted_unbooked + t.held;
        if sum != t.offered {
            return Err(format!(
                "day {d}: slots not conserved: offered {} but used+wasted+held = {sum} ({t:?})",
                t.offered
            ));
        }
        if d < config.days as usize && t.held != 0 {
            return Err(format!("day {d} is over but {} of its slots are still held ({t:?})", t.held));
        }
        // Per band: attendance fills the slots (the rest is overtime), then bookings still
        // held; an overbooked band's extra places absorb empty places (never booked, then
        // freed, then no-shows) before any slot counts as wasted.
        let mut expect = (0, 0, 0, 0, 0, 0);
        for (b, band) in service.bands_on(d).iter().enumerate() {
            let c = counts.get(&(d as u32, b as u16)).copied().unwrap_or_default();
            let slots = u64::from(band.slots);
            let used = c.used.min(slots);
            let held = c.held.min(slots - used);
            let mut margin = u64::from(band.places - band.slots);
            let mut wasted = [u64::from(band.places) - c.touched, c.freed, c.noshow];
            for w in &mut wasted {
                let absorbed = (*w).min(margin);
                margin -= absorbed;
                *w -= absorbed;
            }
            expect.0 += used;
            expect.1 += wasted[2];
            expect.2 += wasted[1];
            expect.3 += held;
            expect.4 += wasted[0];
            expect.5 += c.used - used;
        }
        let got = (t.used, t.wasted_noshow, t.wasted_freed, t.held, t.wasted_unbooked, t.overtime);
        if expect != got {
            return Err(format!(
                "day {d}: tally (used, no-show, freed, held, unbooked, overtime) = {got:?} but the booking log gives {expect:?}"
            ));
        }
    }

    // The final state of every slot of every service matches the booking log.
    for (s, cal) in run.calendars.iter().enumerate() {
        for day in 0..cal.days() {
            for (band, spec) in config.services[s].bands_on(day).iter().enumerate() {
                for i in 0..spec.places {
                    let key = (s as u8, day as u32, band as u16, i);
                    let expect = match last.get(&key) {
                        None => Slot::Free { ever_booked: false },
                        Some(&id) => match run.bookings[id].end() {
                            None => Slot::Held(id as u32),
                            Some((_, BookingEnd::Attended)) => Slot::Attended,
                            Some((_, BookingEnd::NoShow)) => Slot::NoShow,
                            Some(_) => Slot::Free { ever_booked: true },
                        },
                    };
                    let got = cal.slot(day, band, i as usize);
                    if got != expect {
                        return Err(format!(
                            "service {s} day {day} band {band} slot {i}: final state {got:?}, booking log says {expect:?}"
                        ));
                    }
                }
            }
        }
    }

    // The daily table agrees with the log.
    if run.daily.len() != config.days as usize {
        return Err(format!("{} daily rows for a run of {} days", run.daily.len(), config.days));
    }
    let mut booked = vec![0u64; config.days as usize];
    let mut freed = vec![0u64; config.days as usize];
    for b in run.bookings.iter().filter(|b| b.service() == 0) {
        booked[day_of(b.made_at()) as usize] += 1;
        if let Some(t) = freed_at(b) {
            freed[day_of(t) as usize] += u64::from(b.placement().len);
        }
    }
    for (d, row) in run.daily.iter().enumerate() {
        let t = run.calendar[d].tally;
        if row.capacity != u64::from(service.capacity_on(d)) {
            return Err(format!(
                "daily row {d}: capacity {} but the plan gives {}",
                row.capacity,
                service.capacity_on(d)
            ));
        }
        let wasted = t.wasted_noshow + t.wasted_freed + t.wasted_unbooked;
        if (row.day as usize, row.booked, row.freed, row.wasted) != (d, booked[d], freed[d], wasted) {
            return Err(format!(
                "daily row {d}: (day, booked, freed, wasted) = {:?}, the log and tallies give {:?}",
                (row.day, row.booked, row.freed, row.wasted),
                (d, booked[d], freed[d], wasted)
            ));
        }
    }

    // The summary's slot columns are the counted days' tallies, and they add up.
    let s = summarize(run);
    let counted = run.calendar.iter().take(config.days as usize).skip(config.demand.warmup_days as usize);
    let (mut offered, mut used, mut noshow, mut freed_w, mut unbooked) = (0, 0, 0, 0, 0);
    for rec in counted {
        offered += rec.tally.offered;
        used += rec.tally.used;
        noshow += rec.tally.wasted_noshow;
        freed_w += rec.tally.wasted_freed;
        unbooked += rec.tally.wasted_unbooked;
    }
    let got = (s.slots_offered, s.slots_used, s.slots_wasted_noshow, s.slots_wasted_freed, s.slots_wasted_unbooked);
    if got != (offered, used, noshow, freed_w, unbooked) {
        return Err(format!("summary slot columns {got:?} differ from the counted days' tallies"));
    }
    if s.slots_offered != s.slots_used + s.slots_wasted_noshow + s.slots_wasted_freed + s.slots_wasted_unbooked {
        return Err(format!("summary: slots_offered {} != used + wasted ({got:?})", s.slots_offered));
    }
    Ok(())
}

/// (b) No slot is ever held by two bookings at overlapping times, every placement is well
/// formed, and a booking takes the lowest-index free slots of its band.
pub fn no_double_holding(config: &ModelConfig, run: &RunRecord) -> Result<(), String> {
    let mut previous_made = i64::MIN;
    for (id, b) in run.bookings.iter().enumerate() {
        let Some(service) = config.services.get(b.service() as usize) else {
            return Err(format!("booking {id}: no service {}", b.service()));
        };
        let Some(band) = service.bands_on(b.placement().day as usize).get(b.placement().band as usize) else {
            return Err(format!("booking {id}: no band {} in service {}", b.placement().band, b.service()));
        };
        let size = run.parties[b.party() as usize].size();
        if u32::from(b.placement().len) != size {
            return Err(format!("booking {id}: holds {} slots for a party of {size}", b.placement().len));
        }
        let slots: BTreeSet<u32> = b.placement().slots().iter().copied().collect();
        if slots.len() != b.placement().slots().len() || slots.iter().any(|&i| i >= band.places) {
            return Err(format!(
                "booking {id}: bad slot list {:?} in a band of {}",
                b.placement().slots(),
                band.places
            ));
        }
        if b.made_at() < previous_made {
            return Err(format!("booking {id} made at {} after a booking made at {previous_made}", b.made_at()));
        }
        previous_made = b.made_at();
        if let Some((t, _)) = b.end()
            && t < b.made_at()
        {
            return Err(format!("booking {id}: ended at {t}, before it was made at {}", b.made_at()));
        }
    }

    let holders = holders(run);
    for (key, list) in &holders {
        for w in list.windows(2) {
            let (a, b) = (&run.bookings[w[0]], &run.bookings[w[1]]);
            if slot_hold_end(a) > b.made_at() {
                return Err(format!(
                    "slot {key:?} held by booking {} over [{}, {}) and by booking {} from {}",
                    w[0],
                    a.made_at(),
                    if slot_hold_end(a) == FOREVER { "end".to_string() } else { slot_hold_end(a).to_string() },
                    w[1],
                    b.made_at()
                ));
            }
        }
    }

    // Lowest free indexes first: every lower slot of the band that the booking skipped was
    // held at that instant. A slot freed at the very instant of the booking may have been
    // freed just before or just after it (same-instant events), so it counts as held.
    for (id, b) in run.bookings.iter().enumerate() {
        let placement = b.placement();
        let taken = placement.slots();
        let top = taken.iter().copied().max().unwrap_or(0);
        for i in (0..top).filter(|i| !taken.contains(i)) {
            let list = holders.get(&slot_key(b, i)).map(Vec::as_slice).unwrap_or(&[]);
            let before = list.partition_point(|&x| x < id);
            let held = before > 0 && slot_hold_end(&run.bookings[list[before - 1]]) >= b.made_at();
            if !held {
                return Err(format!(
                    "booking {id} took slots {taken:?} of {:?} at {} while lower slot {i} was free",
                    (b.service(), b.placement().day, b.placement().band),
                    b.made_at()
                ));
            }
        }
    }
    Ok(())
}

/// (c) No booking on a closed day, on a day not yet released (portal bookings), nearer
/// than `min_lead_days` at booking time (portal bookings), or at a time other than its band's.
/// Legacy bookings are given at the release instant of their day; pre-existing ones at 0.
pub fn calendar_rules(config: &ModelConfig, run: &RunRecord) -> Result<(), String> {
    let min_lead = i64::from(config.release.min_lead_days);
    let horizon = i64::from(config.release.horizon_days);
    for (id, b) in run.bookings.iter().enumerate() {
        let day = b.placement().day as usize;
        let s = b.service() as usize;
        if !config.services[s].is_open(day) {
            return Err(format!("booking {id} (service {s}) is on day {day}, which is closed under its capacity plan"));
        }
        let start = config.services[s].bands_on(day)[b.placement().band as usize].start;
        if b.appointment() != day as i64 * DAY + start {
            return Err(format!("booking {id}: appointment {} is not day {day} at {start} s", b.appointment()));
        }
        let released = run.calendars[s].released_at(day);
        let party = &run.parties[b.party() as usize];
        let lead = day as i64 - day_of(b.made_at());
        if b.legacy() {
            if s != 0 || party.kind() != PartyKind::Legacy {
                return Err(format!("booking {id}: legacy booking of a {:?} party on service {s}", party.kind()));
            }
            if released != Some(b.made_at()) {
                return Err(format!(
                    "legacy booking {id} for day {day} made at {}, but the day was released at {released:?}",
                    b.made_at()
                ));
            }
            if lead < min_lead || lead > horizon {
                return Err(format!("legacy booking {id}: day {day} is {lead} days ahead of its release"));
            }
        } else if b.preexisting() {
            if s != 0 || party.kind() != PartyKind::Preexisting || b.made_at() != 0 {
                return Err(format!(
                    "booking {id}: pre-existing booking of a {:?} party at {}",
                    party.kind(),
                    b.made_at()
                ));
            }
        } else {
            match released {
                Some(r) if r <= b.made_at() => {}
                _ => {
                    return Err(format!(
                        "portal booking {id} (service {s}) made at {} for day {day}, released at {released:?}",
                        b.made_at()
                    ));
                }
            }
            if lead < min_lead {
                return Err(format!(
                    "portal booking {id} (service {s}) made at {} for day {day}: {lead} days ahead, min_lead_days {min_lead}",
                    b.made_at()
                ));
            }
        }
    }
    Ok(())
}

/// (d) The legacy queue is served in receipt order.
pub fn legacy_order(config: &ModelConfig, run: &RunRecord) -> Result<(), String> {
    let order = &run.legacy_order;
    if let Some(w) = order.windows(2).find(|w| w[0] >= w[1]) {
        return Err(format!("legacy order not increasing: {} then {}", w[0], w[1]));
    }
    // Strictly from the head of the queue: the k first receipts, none skipped.
    if order.iter().enumerate().any(|(k, &i)| i as usize != k) {
        return Err(format!("legacy order skips a receipt: {:?}", &order[..order.len().min(20)]));
    }
    let legacy: Vec<&slotsim::model::Party> = run.parties.iter().filter(|p| p.kind() == PartyKind::Legacy).collect();
    if legacy.len() != config.legacy.requests as usize {
        return Err(format!("{} legacy parties for {} requests", legacy.len(), config.legacy.requests));
    }
    if legacy.iter().enumerate().any(|(k, p)| p.index() as usize != k) {
        return Err("legacy parties not listed in receipt-index order".into());
    }
    if let Some(w) = legacy.windows(2).find(|w| w[0].arrival() > w[1].arrival()) {
        return Err(format!("legacy receipt {} received after receipt {}", w[0].index(), w[1].index()));
    }
    // The log's legacy bookings, in the order made, are the legacy order.
    let given: Vec<u32> =
        run.bookings.iter().filter(|b| b.legacy()).map(|b| run.parties[b.party() as usize].index()).collect();
    if &given != order {
        return Err("the legacy bookings in the log are not the reported legacy order".into());
    }
    // Their booking instants are non-decreasing in receipt index.
    let made: Vec<i64> = run.bookings.iter().filter(|b| b.legacy()).map(|b| b.made_at()).collect();
    if let Some(w) = made.windows(2).find(|w| w[0] > w[1]) {
        return Err(format!(
            "a later legacy receipt was given its appointment at {} before an earlier one at {}",
            w[1], w[0]
        ));
    }
    // At most the quota per day.
    let mut per_day: BTreeMap<u32, u32> = BTreeMap::new();
    for b in run.bookings.iter().filter(|b| b.legacy()) {
        *per_day.entry(b.placement().day).or_default() += u32::from(b.placement().len);
    }
    if let Some((d, n)) = per_day.iter().find(|(_, n)| **n > config.legacy.quota_per_day) {
        return Err(format!("day {d} gave {n} slots to the legacy queue, quota {}", config.legacy.quota_per_day));
    }
    // The drain day is the day of the last legacy assignment, once every request got one.
    if config.legacy.requests > 0 {
        let all_given = order.len() == config.legacy.requests as usize;
        let expect = if all_given { made.last().map(|&t| day_of(t) as u32) } else { None };
        if run.legacy_drained_day != expect {
            return Err(format!("legacy_drained_day {:?}, the log gives {expect:?}", run.legacy_drained_day));
        }
    }
    if summarize(run).legacy_inversions != 0 {
        return Err("summary reports legacy inversions".into());
    }
    Ok(())
}

/// (e) Every party's story is consistent.
pub fn party_stories(config: &ModelConfig, run: &RunRecord) -> Result<(), String> {
    let mut by_party: Vec<Vec<usize>> = vec![Vec::new(); run.parties.len()];
    for (id, b) in run.bookings.iter().enumerate() {
        by_party[b.party() as usize].push(id);
    }
    let end = i64::from(config.days) * DAY;
    let warmup = i64::from(config.demand.warmup_days) * DAY;
    let mut previous_portal_arrival = i64::MIN;
    for (pid, p) in run.parties.iter().enumerate() {
        let who = format!("party {pid} ({:?} #{})", p.kind(), p.index());
        let mine: Vec<&Booking> = by_party[pid].iter().map(|&i| &run.bookings[i]).collect();
        if p.bookings() as usize != mine.len() {
            return Err(format!("{who}: counts {} bookings, the log has {}", p.bookings(), mine.len()));
        }
        if p.kind() == PartyKind::Portal {
            if p.arrival() < 0 || p.arrival() >= end || p.arrival() < previous_portal_arrival {
                return Err(format!("{who}: arrival {} out of range or order", p.arrival()));
            }
            previous_portal_arrival = p.arrival();
        }
        if p.counted() != (p.kind() == PartyKind::Portal && p.arrival() >= warmup) {
            return Err(format!("{who}: counted = {} is wrong", p.counted()));
        }
        for b in &mine {
            if b.appointment() < b.made_at() {
                return Err(format!("{who}: appointment at {} booked later, at {}", b.appointment(), b.made_at()));
            }
            match b.end() {
                Some((t, BookingEnd::Attended | BookingEnd::NoShow)) if t != b.appointment() => {
                    return Err(format!("{who}: appointment at {} settled at {t}", b.appointment()));
                }
                Some((t, _)) if t > b.appointment() => {
                    return Err(format!("{who}: booking for {} cancelled after it, at {t}", b.appointment()));
                }
                _ => {}
            }
            if let Some(c) = b.confirmed_at()
                && (c < b.made_at() || b.deadline().is_some_and(|d| c > d) || b.email_at().is_some_and(|e| c < e))
            {
                return Err(format!(
                    "{who}: confirmed at {c} outside [e-mail, deadline] of {:?}",
                    (b.email_at(), b.deadline())
                ));
            }
            if matches!(b.end(), Some((_, BookingEnd::AutoCancelled))) && b.end().map(|e| e.0) != b.deadline() {
                return Err(format!("{who}: auto-cancelled at {:?}, deadline {:?}", b.end(), b.deadline()));
            }
            if matches!(b.end(), Some((_, BookingEnd::Attended | BookingEnd::NoShow))) && b.confirmed_at().is_none() {
                return Err(format!("{who}: attended an appointment that was never confirmed"));
            }
        }
        // Never two bookings of one service at a time (bookings are in the order made).
        for s in 0..config.services.len() as u8 {
            let of_s: Vec<&&Booking> = mine.iter().filter(|b| b.service() == s).collect();
            if let Some(w) = of_s.windows(2).find(|w| party_hold_end(w[0]) > w[1].made_at()) {
                return Err(format!(
                    "{who}: holds two bookings of service {s}: one made at {} ending {:?}, another made at {}",
                    w[0].made_at(),
                    w[0].end(),
                    w[1].made_at()
                ));
            }
        }
        let first: Vec<&&Booking> = mine.iter().filter(|b| b.service() == 0).collect();
        let first_made = first.iter().map(|b| b.made_at()).min();
        if p.first_booked() != first_made {
            return Err(format!("{who}: first_booked {:?}, the log gives {first_made:?}", p.first_booked()));
        }
        if let Some(t) = p.first_booked()
            && t < p.arrival()
        {
            return Err(format!("{who}: first booked at {t}, before arriving at {}", p.arrival()));
        }
        if let Some(served) = p.served() {
            let attended =
                first.iter().any(|b| b.appointment() == served && matches!(b.end(), Some((_, BookingEnd::Attended))));
            if !attended || p.first_booked().is_none_or(|f| served < f) {
                return Err(format!("{who}: served at {served} without an attended booking made before it"));
            }
        }
        if let Some(done) = p.completed() {
            let Some(served) = p.served() else {
                return Err(format!("{who}: completed at {done} but never served"));
            };
            if done < served {
                return Err(format!("{who}: completed at {done}, before being served at {served}"));
            }
            match config.pickup {
                None if done != served => {
                    return Err(format!("{who}: completed {done} != served {served} without pickup"));
                }
                Some(k) => {
                    let ok = mine.iter().any(|b| {
                        b.service() as usize == k
                            && b.appointment() == done
                            && matches!(b.end(), Some((_, BookingEnd::Attended)))
                    });
                    if !ok {
                        return Err(format!("{who}: completed at {done} without an attended pickup appointment"));
                    }
                }
                None => {}
            }
            if p.outcome() != Outcome::Completed {
                return Err(format!("{who}: completed but outcome {:?}", p.outcome()));
            }
        } else if p.outcome() == Outcome::Completed {
            return Err(format!("{who}: outcome completed without a completion time"));
        }
        // Pickup bookings come after the passport is ready.
        if let Some(k) = config.pickup {
            for b in mine.iter().filter(|b| b.service() as usize == k) {
                if p.ready().is_none_or(|r| b.made_at() < r) || p.served().is_none() {
                    return Err(format!(
                        "{who}: pickup booked at {} before the passport was ready ({:?})",
                        b.made_at(),
                        p.ready()
                    ));
                }
            }
        }
        if p.outcome_at() > end {
            return Err(format!("{who}: outcome at {} after the end of the run", p.outcome_at()));
        }
        match p.outcome() {
            Outcome::Abandoned => {
                if let Some(b) =
                    mine.iter().find(|b| b.made_at() > p.outcome_at() || party_hold_end(b) > p.outcome_at())
                {
                    return Err(format!(
                        "{who}: abandoned at {} but holds a booking made at {}",
                        p.outcome_at(),
                        b.made_at()
                    ));
                }
                let patience = p.patience();
                if patience.is_none_or(|x| p.since() + x != p.outcome_at()) || p.served().is_some() {
                    return Err(format!(
                        "{who}: abandoned at {} after looking since {} with patience {patience:?}",
                        p.outcome_at(),
                        p.since()
                    ));
                }
            }
            Outcome::Holding => {
                if mine.last().is_none_or(|b| b.end().is_some()) {
                    return Err(format!("{who}: outcome holding but its last booking is over"));
                }
            }
            Outcome::Waiting | Outcome::Queued | Outcome::Processing | Outcome::Lost => {
                if mine.last().is_some_and(|b| b.end().is_none()) {
                    return Err(format!("{who}: outcome {:?} while still holding a booking", p.outcome()));
                }
                // Still looking for the first service at the end although its patience
                // ran out before: a give-up was lost.
                if p.outcome() == Outcome::Waiting
                    && p.served().is_none()
                    && p.patience().is_some_and(|x| p.since().saturating_add(x) < end)
                {
                    return Err(format!(
                        "{who}: still waiting at the end although looking since {} with patience {:?}",
                        p.since(),
                        p.patience()
                    ));
                }
            }
            Outcome::Completed | Outcome::Cancelled | Outcome::Detected => {
                if mine.iter().any(|b| b.made_at() > p.outcome_at()) {
                    return Err(format!("{who}: booked after its journey ended at {}", p.outcome_at()));
                }
            }
        }
        if p.outcome() == Outcome::Queued && (p.kind() != PartyKind::Legacy || !mine.is_empty()) {
            return Err(format!("{who}: queued in the legacy queue with {} bookings", mine.len()));
        }
    }
    Ok(())
}

/// (f) Held slots: before a day's reserve opens, only urgent portal parties book its
/// held places; each day's reserve tally adds up and agrees with the booking log.
pub fn reserve(config: &ModelConfig, run: &RunRecord) -> Result<(), String> {
    let service = &config.services[0];
    let Some(reserve) = config.allocation.reserve else {
        if let Some(d) = run.calendar.iter().position(|r| r.reserve != Default::default()) {
            return Err(format!("day {d}: a reserve tally {:?} without a reserve", run.calendar[d].reserve));
        }
        return Ok(());
    };
    let opening = |day: u32| (i64::from(day) - i64::from(reserve.open_days)).max(0) * DAY;
    let mut taken: BTreeMap<u32, u64> = BTreeMap::new();
    for (id, b) in run.bookings.iter().enumerate().filter(|(_, b)| b.service() == 0) {
        let band = &service.bands_on(b.placement().day as usize)[b.placement().band as usize];
        let held_from = band.places - band.held;
        let in_held = b.placement().slots().iter().filter(|&&i| i >= held_from).count() as u64;
        let open_at = opening(b.placement().day);
        if in_held == 0 || b.made_at() >= open_at {
            continue;
        }
        let party = &run.parties[b.party() as usize];
        let urgent_from = party.need_by() - reserve.urgent_within;
        if b.legacy() || b.preexisting() || b.made_at() < urgent_from {
            return Err(format!(
                "booking {id} ({:?} party, need-by {}) took held slots {:?} of day {} at {}, before the reserve opened at {open_at} and before the party was urgent (from {urgent_from})",
                party.kind(),
                party.need_by(),
                b.placement().slots(),
                b.placement().day,
                b.made_at()
            ));
        }
        if slot_hold_end(b) >= open_at {
            *taken.entry(b.placement().day).or_default() += in_held;
        }
    }
    for (d, rec) in run.calendar.iter().enumerate().take(config.days as usize) {
        let held: u64 = service.bands_on(d).iter().map(|b| u64::from(b.held)).sum();
        let r = rec.reserve;
        let expect_taken = taken.get(&(d as u32)).copied().unwrap_or(0);
        if r.held != held || r.taken_urgent + r.opened != r.held || r.taken_urgent != expect_taken {
            return Err(format!(
                "day {d}: reserve tally {r:?}, but the plan holds {held} and the log has {expect_taken} held slots taken when it opened"
            ));
        }
    }
    Ok(())
}

/// Every invariant, with the name of the one that failed.
pub fn all(config: &ModelConfig, run: &RunRecord) -> Result<(), String> {
    conservation(config, run).map_err(|e| format!("(a) conservation: {e}"))?;
    no_double_holding(config, run).map_err(|e| format!("(b) double holding: {e}"))?;
    calendar_rules(config, run).map_err(|e| format!("(c) calendar rules: {e}"))?;
    legacy_order(config, run).map_err(|e| format!("(d) legacy order: {e}"))?;
    party_stories(config, run).map_err(|e| format!("(e) party stories: {e}"))?;
    reserve(config, run).map_err(|e| format!("(f) reserved slots: {e}"))?;
    Ok(())
}
