//! The portal simulation: one replication of one configuration and seed.
//!
//! # Same-instant order
//!
//! Events at the same instant run in this order of kinds, then in the order they were
//! scheduled: day start (close yesterday's slots) → a band's start (it stops being
//! bookable; only with same-day booking) → release → the policy's daily instant
//! (lottery draws fall due) → booking outcomes (auto-cancellations, voluntary
//! cancellations, detections, and a band's appointments, which run in slot order) →
//! passport ready → arrivals → giving up and becoming urgent. Held slots open to everyone
//! at the day start.
//!
//! Allocation comes after all of them (model.md, "Time"): the policies allocate once per
//! instant, after its last event, every slot free at that instant together (released,
//! freed by a cancellation at that instant, or free before). So at a midnight with a
//! release, a lottery draw and confirmation deadlines, the first party in the policy's
//! order takes the earliest slot, whether it was released or freed at that midnight, and
//! a draw includes the slots auto-cancelled at its instant and the parties that started
//! looking again then. A policy's own booking instant (a check under fcfs) comes after
//! everything else at its instant, and sees the allocation of what happened before it.

use std::collections::VecDeque;

use crate::engine::pages::{prefetch, reuse};
use crate::engine::time::{Stamp, day_of, day_start};
use crate::engine::{DAY, EventQueue, Stream, Time};

use super::calendar::{BookingId, Calendar, DayTally, Fit, MAX_PARTY, ReserveTally};
use super::config::{ModelConfig, ReleaseKind};
use super::demand::arrival_times;
use super::party::{Attributes, Booking, BookingEnd, Outcome, Party, PartyId, PartyKind};
use super::policy::{self, Next, Policy};
use super::streams::{Purpose, Streams};
use super::urgency::Urgency;

mod legacy;
mod lifecycle;
mod looking;

#[derive(Debug, Clone, Copy)]
enum Event {
    DayStart(u32),
    Release(u32),
    Tick(u32),
    BookingEnd(BookingId, BookingEnd),
    Ready(PartyId),
    GiveUp(PartyId, u32),
    /// A looking party's need-by date comes near enough for held slots (with its patience
    /// generation, as for giving up).
    Urgent(PartyId, u32),
    BandStart(u8, u32, u16),
    /// The appointments of a band begin: every booking still holding its slots is attended
    /// (or missed). One event per band and day instead of one per booking.
    Appointments(u8, u32, u16),
}

impl Event {
    fn rank(self) -> u8 {
        match self {
            Event::DayStart(_) => 0,
            Event::BandStart(..) => 1,
            Event::Release(_) => 2,
            Event::Tick(_) => 3,
            Event::BookingEnd(..) | Event::Appointments(..) => 4,
            Event::Ready(_) => 5,
            Event::GiveUp(..) | Event::Urgent(..) => 7,
        }
    }
}

/// Rank of an arrival. Arrivals are not queued: the next one is kept apart and merged
/// with the queue by `(time, rank)`.
const RANK_ARRIVAL: u8 = 6;
/// Rank of a policy's booking instant, kept apart like arrivals (one per service).
const RANK_WAKE: u8 = 8;

/// Where the next thing to happen comes from.
#[derive(Debug, Clone, Copy)]
enum Source {
    Queue,
    Arrival,
    Wake(usize),
}

/// One row of the daily table (first service).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyRow {
    /// Run day.
    pub day: u32,
    /// Slots made bookable on this day.
    pub released: u64,
    /// Bookings made on this day.
    pub booked: u64,
    /// Slots freed by cancellations on this day.
    pub freed: u64,
    /// This day's own slots that went unused (never booked, freed, or no-show).
    pub wasted: u64,
    /// Parties looking at the end of the day.
    pub waiting: u64,
    /// Days ahead of the earliest bookable free slot at the end of the day.
    pub first_free_day: Option<u32>,
    /// The day's slots under the capacity plan (0 when closed).
    pub capacity: u64,
    /// Seconds of the day during which no first-service slot was bookable by an ordinary
    /// party of one: what a visitor looking at a random instant of the day found.
    pub no_slot_seconds: u32,
}

impl DailyRow {
    fn empty(day: u32) -> Self {
        Self {
            day,
            released: 0,
            booked: 0,
            freed: 0,
            wasted: 0,
            waiting: 0,
            first_free_day: None,
            capacity: 0,
            no_slot_seconds: 0,
        }
    }

    /// The share of the day during which no slot was bookable (the daily table's
    /// `no_slot_share`).
    pub fn no_slot_share(&self) -> f64 {
        f64::from(self.no_slot_seconds) / DAY as f64
    }
}

/// A first-service calendar day's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRecord {
    /// Whether the office was open.
    pub open: bool,
    /// When it was released.
    pub released_at: Option<Time>,
    /// When its last free slot was first taken after release.
    pub filled_at: Option<Time>,
    /// What became of its slots (for days still ahead at the end: their state then).
    pub tally: DayTally,
    /// What became of the slots held for urgent parties (zero without a reserve).
    pub reserve: ReserveTally,
}

/// Everything one replication produced, for statistics, tables and checks.
#[derive(Debug, Clone)]
pub struct RunRecord {
    /// Length of the run in days.
    pub days: u32,
    /// Warm-up days.
    pub warmup_days: u32,
    /// Share of automated parties configured.
    pub bot_share: f64,
    /// All parties: legacy, pre-existing, then portal parties in arrival order.
    pub parties: Vec<Party>,
    /// All bookings, in the order they were made.
    pub bookings: Vec<Booking>,
    /// The daily table.
    pub daily: Vec<DailyRow>,
    /// First-service calendar days.
    pub calendar: Vec<DayRecord>,
    /// Legacy parties (by receipt index) in the order they were given appointments.
    pub legacy_order: Vec<u32>,
    /// Run day on which the legacy queue became empty.
    pub legacy_drained_day: Option<u32>,
    /// First-service slots, on counted days, freed and then held again.
    pub reallocated: u64,
    /// First-service bookings by counted parties made while an earlier-looking party that
    /// fits the same slots was still waiting.
    pub queue_inversions: u64,
    /// The same with an earlier need-by date in place of earlier looking.
    pub need_by_inversions: u64,
    /// Events processed.
    pub events: u64,
    /// Final calendars of every service, for invariant checks.
    pub calendars: Vec<Calendar>,
}

/// Runs one replication.
///
/// # Examples
///
/// ```
/// let scenario = slotsim::scenario::Scenario::from_toml_str("name = \"tiny\"\ndays = 30\n").unwrap();
/// let config = scenario.model_config().unwrap();
/// let run = slotsim::model::simulate(&config, 1);
/// assert_eq!(run.daily.len(), 30);
/// ```
pub fn simulate(config: &ModelConfig, seed: u64) -> RunRecord {
    simulate_in(&mut Workspace::default(), config, seed)
}

/// [`simulate`] reusing the buffers of `workspace`: a thread that runs many replications
/// keeps one workspace and gives each finished record back with [`Workspace::recycle`],
/// so that the megabytes of party and booking tables are allocated once, not once per
/// replication. Results are the same as [`simulate`]'s.
pub fn simulate_in(workspace: &mut Workspace, config: &ModelConfig, seed: u64) -> RunRecord {
    Portal::new(config, seed, workspace).run()
}

/// Buffers that one thread reuses from replication to replication. Only their capacity
/// carries over, never their contents.
#[derive(Debug, Default)]
pub struct Workspace {
    parties: Vec<Party>,
    bookings: Vec<Booking>,
    give_ups: Vec<Vec<GiveUp>>,
    looking_by_since: [VecDeque<LookingSince>; MAX_PARTY as usize],
    urgency: Urgency,
    queue: Option<EventQueue<Event>>,
}

impl Workspace {
    /// Takes back the party and booking tables of a record that is no longer needed.
    pub fn recycle(&mut self, run: RunRecord) {
        self.parties = run.parties;
        self.bookings = run.bookings;
    }
}

struct Portal<'a> {
    config: &'a ModelConfig,
    workspace: &'a mut Workspace,
    streams: Streams,
    queue: EventQueue<Event>,
    calendars: Vec<Calendar>,
    policies: Vec<policy::Allocation>,
    policy_rng: Vec<Stream>,
    release_rng: Stream,
    /// Per service: the instant the policy books next, if any, with the largest parties
    /// that fitted when it was named (nothing changes before it, or it would be named again).
    /// ([`Time::MAX`]: none; kept apart from the fits so that finding the next source
    /// reads one word per service.)
    wake: Vec<Time>,
    wake_fit: Vec<Fit>,
    /// The services (bit `s` for service `s`; at most two) whose state changed since their
    /// policy last allocated: one word, read after every event.
    dirty: u8,
    /// Since when no first-service slot has been bookable by an ordinary party of one
    /// (`None` while one is), as the first service's last allocation saw it; clipped to
    /// the day's start when a day closes.
    no_slot_since: Option<Time>,
    parties: Vec<Party>,
    bookings: Vec<Booking>,
    arrivals: Vec<Stamp>,
    /// Index in `arrivals` of the next arrival.
    next_arrival: usize,
    /// Arrivals and policy bookings handled (they do not pass through the queue).
    unqueued_events: u64,
    portal_count: u32,
    legacy_queue: VecDeque<PartyId>,
    legacy_order: Vec<u32>,
    legacy_drained_day: Option<u32>,
    daily: Vec<DailyRow>,
    today: DailyRow,
    day_tallies: Vec<Option<DayTally>>,
    reallocated: u64,
    /// Parties that started looking for the first service, by size - 1, for the inversion
    /// counts: in the order they started (which is the order of `since`, as the clock only
    /// moves forward; entries of parties no longer looking, or looking again since, are
    /// dropped when they reach the front), and by need-by date. Instants in 32 bits: on a
    /// large embassy the first holds hundreds of thousands of entries at the end.
    looking_by_since: [VecDeque<LookingSince>; MAX_PARTY as usize],
    urgency: Urgency,
    queue_inversions: u64,
    need_by_inversions: u64,
    end: Time,
    /// A reusable buffer of booking ids.
    scratch: Vec<BookingId>,
    /// A bitmap of booking ids, all zero between uses: the bookings a band's appointments
    /// have met so far.
    seen: Vec<u64>,
    /// Give-up deadlines by run day. Most parties book before their patience runs out, so
    /// a deadline enters the event queue only on its day, and only if the party is still
    /// looking then.
    give_ups: Vec<Vec<GiveUp>>,
}

/// A planned give-up: (instant in 32 bits, party, patience generation).
type GiveUp = (Stamp, PartyId, u32);

/// An entry of the looking-since queues: (when it started looking, in 32 bits, party).
type LookingSince = (Stamp, PartyId);

/// Bytes a party looking for the first service holds in the portal's own lists (its
/// looking-since entry and its planned give-up), for memory estimates.
pub const LOOKING_BYTES: usize = size_of::<LookingSince>() + size_of::<GiveUp>();

impl<'a> Portal<'a> {
    fn new(config: &'a ModelConfig, seed: u64, workspace: &'a mut Workspace) -> Self {
        let streams = Streams::new(seed);
        let calendars: Vec<Calendar> = config.services.iter().map(Calendar::new).collect();
        let n = config.services.len();
        debug_assert!(n <= 8, "one bit of `dirty` per service: the scenario allows two");
        let mut arrival_rng = streams.stream(Purpose::Arrivals, 0);
        let arrivals = arrival_times(&config.demand, &mut arrival_rng);
        // Pre-size the tables: growing them by doubling copies megabytes per replication.
        let expected_parties = arrivals.len()
            + (config.demand.initial_backlog + config.legacy.requests + config.preexisting.bookings) as usize;
        let parties = reuse(std::mem::take(&mut workspace.parties), expected_parties);
        // Room for three bookings per party, more than runs make (about 2.3 over five years
        // of the embassy): capacity never written costs address space, not memory, while
        // growing the table copies it whole (its records are over-aligned), holding the
        // old and the new one at once: 22% more peak memory on five-year runs.
        let bookings = reuse(std::mem::take(&mut workspace.bookings), expected_parties * 3);
        let mut urgency = std::mem::take(&mut workspace.urgency);
        urgency.reset(config.days as usize + config.demand.need_by_days.1 as usize + 1, expected_parties);
        let mut queue = workspace.queue.take().unwrap_or_else(|| EventQueue::new(0));
        queue.reset(0);
        let mut give_ups = std::mem::take(&mut workspace.give_ups);
        give_ups.iter_mut().for_each(Vec::clear);
        give_ups.resize_with(config.days as usize, Vec::new);
        let mut looking_by_since = std::mem::take(&mut workspace.looking_by_since);
        looking_by_since.iter_mut().for_each(VecDeque::clear);
        Self {
            config,
            workspace,
            streams,
            queue,
            calendars,
            policies: (0..n)
                .map(|s| {
                    // Only the first service holds slots for urgent parties.
                    let urgent_within = config.allocation.reserve.filter(|_| s == 0).map(|r| r.urgent_within);
                    policy::build(config.allocation.policy, &config.behaviour, expected_parties, urgent_within)
                })
                .collect(),
            policy_rng: (0..n).map(|s| streams.stream(Purpose::Policy, s as u64)).collect(),
            release_rng: streams.stream(Purpose::Release, 0),
            wake: vec![Time::MAX; n],
            wake_fit: vec![Fit::default(); n],
            dirty: 0,
            no_slot_since: Some(0),
            parties,
            bookings,
            arrivals,
            next_arrival: 0,
            unqueued_events: 0,
            portal_count: 0,
            legacy_queue: Default::default(),
            legacy_order: Vec::new(),
            legacy_drained_day: None,
            daily: Vec::with_capacity(config.days as usize),
            today: DailyRow::empty(0),
            day_tallies: vec![None; config.calendar_days()],
            reallocated: 0,
            looking_by_since,
            urgency,
            queue_inversions: 0,
            need_by_inversions: 0,
            end: day_start(i64::from(config.days)),
            scratch: Vec::new(),
            seen: Vec::new(),
            give_ups,
        }
    }

    fn schedule(&mut self, at: Time, event: Event) {
        // Every instant the model computes is now or later; a failure here is a model bug.
        self.queue.schedule(at.max(self.queue.now()), event.rank(), event).expect("clamped to now");
    }

    fn now(&self) -> Time {
        self.queue.now()
    }

    fn min_bookable_day(&self, now: Time) -> usize {
        (day_of(now) + i64::from(self.config.release.min_lead_days)).max(0) as usize
    }

    fn counted_day(&self, day: usize) -> bool {
        day >= self.config.demand.warmup_days as usize && day < self.config.days as usize
    }

    // ----- set-up -------------------------------------------------------------------

    fn add_party(&mut self, kind: PartyKind, index: u32, arrival: Time, may_be_bot: bool) -> PartyId {
        let purpose = match kind {
            PartyKind::Portal => Purpose::PartyAttributes,
            PartyKind::Legacy => Purpose::LegacyParty,
            PartyKind::Preexisting => Purpose::PreexistingParty,
        };
        let mut attributes_rng = self.streams.short(purpose, u64::from(index), 0);
        let attributes = Attributes::draw(&mut attributes_rng, self.config, arrival, may_be_bot);
        let counted = kind == PartyKind::Portal && arrival >= day_start(i64::from(self.config.demand.warmup_days));
        let id = self.parties.len() as PartyId;
        self.parties.push(Party::new(kind, index, arrival, attributes, counted));
        id
    }

    // ----- running ------------------------------------------------------------------

    fn run(mut self) -> RunRecord {
        self.set_up_legacy();
        self.set_up_preexisting();
        // Days whose held slots open at or before 00:00 of day 0 have none held from the start.
        if let Some(reserve) = self.config.allocation.reserve {
            for day in 0..=reserve.open_days {
                self.open_reserve(day as usize);
            }
        }
        self.schedule(0, Event::Release(0));
        self.schedule(0, Event::Tick(0));
        // Day 0 never goes through `day_start`, which plans every later day's band starts.
        // Found by tests/model: day 0's started bands were still being booked.
        self.plan_band_starts(0, 0);
        self.plan_appointments(0, 0);
        self.schedule(DAY, Event::DayStart(1));
        for _ in 0..self.config.demand.initial_backlog {
            self.portal_party(0);
        }
        // The policies allocate once everything at an instant has happened (model.md,
        // "Time"): when the clock is about to move past the instant, or before a policy's
        // booking instant (the last source at its instant), if anything changed since the
        // last allocation. The next queued event or arrival (`fixed`) is found once per
        // event; an allocation that booked nothing scheduled nothing, and leaves it valid.
        let mut fixed = self.next_fixed();
        loop {
            let mut next = self.merge_wakes(fixed);
            if self.unsettled() && next.is_none_or(|(t, source)| t > self.now() || matches!(source, Source::Wake(_))) {
                if self.settle() {
                    fixed = self.next_fixed();
                }
                next = self.merge_wakes(fixed);
            }
            let Some((now, source)) = next else { break };
            match source {
                Source::Queue => {
                    let (now, event) = self.queue.pop().expect("peeked");
                    self.prefetch_next_event();
                    self.handle(now, event);
                }
                Source::Arrival => {
                    self.queue.advance_to(now).expect("arrivals are sorted and not before now");
                    self.unqueued_events += 1;
                    self.arrive(now);
                }
                Source::Wake(s) => {
                    self.queue.advance_to(now).expect("a policy's instant is not before now");
                    self.unqueued_events += 1;
                    self.wake(s, now);
                }
            }
            // The day start at `end` has the lowest rank, so it is the first thing handled
            // at that instant: it closes the last day, and the run stops there.
            if now >= self.end {
                break;
            }
            fixed = self.next_fixed();
        }
        self.finish()
    }

    /// The next queued event or arrival, by `(time, rank)`.
    fn next_fixed(&mut self) -> Option<((Time, u8), Source)> {
        let queued = self.queue.peek().map(|key| (key, Source::Queue));
        match self.arrivals.get(self.next_arrival) {
            Some(&t) if queued.is_none_or(|(k, _)| (Time::from(t), RANK_ARRIVAL) < k) => {
                Some(((Time::from(t), RANK_ARRIVAL), Source::Arrival))
            }
            _ => queued,
        }
    }

    /// The next thing to happen, by `(time, rank)`: `fixed` (the next queued event or
    /// arrival) or a policy's booking instant (services in order).
    fn merge_wakes(&self, fixed: Option<((Time, u8), Source)>) -> Option<(Time, Source)> {
        let mut best = fixed;
        for (s, &t) in self.wake.iter().enumerate() {
            if t != Time::MAX && best.is_none_or(|(k, _)| (t, RANK_WAKE) < k) {
                best = Some(((t, RANK_WAKE), Source::Wake(s)));
            }
        }
        best.map(|((t, _), source)| (t, source))
    }

    /// Whether some service's state changed since its policy last allocated.
    fn unsettled(&self) -> bool {
        self.dirty != 0
    }

    /// Starts loading the record the queue's next event will read first, so that the
    /// load overlaps this event's work (records are read at random, from tables that can
    /// be far larger than the cache).
    fn prefetch_next_event(&self) {
        match self.queue.peek_likely() {
            Some(&Event::BookingEnd(b, _)) => prefetch(&self.bookings, b as usize),
            Some(&Event::Ready(id)) => {
                prefetch(&self.parties, id as usize);
                // It starts looking for the pickup: its place in that policy.
                if let Some(pickup) = self.config.pickup {
                    self.policies[pickup].prefetch(id);
                }
            }
            // Giving up stops looking; becoming urgent moves the party within the policy.
            Some(&Event::GiveUp(id, _)) => {
                prefetch(&self.parties, id as usize);
                self.prefetch_stop_looking(id, 0);
            }
            Some(&Event::Urgent(id, _)) => {
                prefetch(&self.parties, id as usize);
                self.policies[0].prefetch(id);
            }
            _ => {}
        }
    }

    fn arrive(&mut self, now: Time) {
        self.next_arrival += 1;
        self.portal_party(now);
    }

    /// The next portal party (launch backlog or arrival) comes at `now` and starts looking.
    fn portal_party(&mut self, now: Time) {
        let k = self.portal_count;
        self.portal_count += 1;
        let id = self.add_party(PartyKind::Portal, k, now, true);
        self.start_looking(id, 0, now);
    }

    /// Service `s`'s policy books at the instant it named, nothing having changed since.
    fn wake(&mut self, s: usize, now: Time) {
        assert_ne!(self.wake[s], Time::MAX, "service {s} woke without a booking instant");
        self.wake[s] = Time::MAX;
        let fit = self.wake_fit[s];
        let lo = self.min_bookable_day(now);
        debug_assert_eq!(fit, self.calendars[s].fit(lo));
        if let Some(id) = self.policies[s].pick(now, fit, &mut self.policy_rng[s]) {
            // Booking stops it looking.
            self.prefetch_stop_looking(id, s);
            self.book(id, s, now);
        }
        self.dirty |= 1 << s;
    }

    fn handle(&mut self, now: Time, event: Event) {
        match event {
            Event::DayStart(day) => self.day_start(day, now),
            Event::Release(day) => self.release(day, now),
            Event::Tick(day) => {
                for s in 0..self.policies.len() {
                    self.policies[s].on_tick(day, now, &mut self.policy_rng[s]);
                    self.dirty |= 1 << s;
                }
            }
            Event::BookingEnd(b, BookingEnd::AutoCancelled) => self.auto_cancel(b, now),
            Event::BookingEnd(b, end) => self.end_booking(b, end, now),
            Event::Ready(id) => self.passport_ready(id, now),
            Event::GiveUp(id, generation) => {
                if self.give_up_applies(id, generation) {
                    self.stop_looking(id, 0);
                    self.parties[id as usize].end(Outcome::Abandoned, now);
                }
            }
            Event::Urgent(id, generation) => {
                if self.give_up_applies(id, generation) {
                    let w = self.waiter(id);
                    self.policies[0].make_urgent(&w, now, &mut self.policy_rng[0]);
                    self.dirty |= 1;
                }
            }
            Event::Appointments(s, day, band) => self.appointments(s as usize, day as usize, band as usize, now),
            Event::BandStart(s, day, band) => {
                self.calendars[s as usize].close_band(day as usize, band as usize);
                self.dirty |= 1 << s;
            }
        }
    }

    /// Lets every service whose state changed allocate until its policy waits. Returns
    /// whether anything was booked (a booking schedules its end: the queue changed).
    fn settle(&mut self) -> bool {
        let now = self.now();
        let mut booked = false;
        for s in 0..self.policies.len() {
            if self.dirty & (1 << s) == 0 {
                continue;
            }
            self.dirty &= !(1 << s);
            // The fit the allocation ends with: the service's state once the instant is over.
            let mut last;
            loop {
                let lo = self.min_bookable_day(now);
                let fit = self.calendars[s].fit(lo);
                last = fit;
                match self.policies[s].next(now, fit, &mut self.policy_rng[s]) {
                    Next::Now(id) => {
                        self.book(id, s, now);
                        booked = true;
                    }
                    Next::Idle => {
                        self.wake[s] = Time::MAX;
                        break;
                    }
                    Next::At(t) => {
                        self.wake[s] = t;
                        self.wake_fit[s] = fit;
                        break;
                    }
                }
            }
            // Booking marks the service changed again; this allocation has seen it.
            self.dirty &= !(1 << s);
            if s == 0 {
                self.note_bookable(last.ordinary > 0, now);
            }
        }
        booked
    }

    /// Records whether a first-service slot is bookable by an ordinary party of one from
    /// `now` on. Called with the last fit of each allocation of the first service: every
    /// change to its calendar, and the day's start (the earliest bookable day moves), marks
    /// it for allocation at that instant, and that fit is its state once the instant is over.
    #[inline]
    fn note_bookable(&mut self, bookable: bool, now: Time) {
        match (self.no_slot_since, bookable) {
            (None, false) => self.no_slot_since = Some(now),
            (Some(since), true) => {
                self.today.no_slot_seconds += (now - since) as u32;
                self.no_slot_since = None;
            }
            _ => {}
        }
    }

    fn day_start(&mut self, day: u32, now: Time) {
        // Close yesterday.
        let yesterday = day as usize - 1;
        let mut wasted = 0;
        for (s, cal) in self.calendars.iter_mut().enumerate() {
            let tally = cal.close(yesterday);
            if s == 0 {
                wasted = tally.wasted_unbooked + tally.wasted_freed + tally.wasted_noshow;
                self.day_tallies[yesterday] = Some(tally);
            }
        }
        let lo = yesterday + self.config.release.min_lead_days as usize;
        self.today.wasted = wasted;
        self.today.waiting = self.policies[0].waiting() as u64;
        self.today.first_free_day = self.calendars[0].earliest_fit(lo, 1, false).map(|(d, _)| (d - yesterday) as u32);
        self.today.capacity = self.day_tallies[yesterday].map_or(0, |t| t.offered);
        if let Some(since) = self.no_slot_since.as_mut() {
            self.today.no_slot_seconds += (now - *since) as u32;
            *since = now;
        }
        self.daily.push(self.today);
        self.today = DailyRow::empty(day);
        self.dirty = ((1u16 << self.policies.len()) - 1) as u8;
        if now >= self.end {
            return;
        }
        if let Some(reserve) = self.config.allocation.reserve {
            self.open_reserve(day as usize + reserve.open_days as usize);
        }
        // Plan today. The jitter is drawn every day, so the release stream stays aligned
        // whatever the release kind.
        let r = &self.config.release;
        let jitter = if r.jitter > 0 { self.release_rng.integer(0, r.jitter - 1) } else { 0 };
        let instant = now + r.time_of_day + jitter;
        let releases = match r.kind {
            ReleaseKind::Rolling => true,
            ReleaseKind::Batch { every_days } => day.is_multiple_of(every_days.max(1)),
        };
        if releases {
            self.schedule(instant, Event::Release(day));
        }
        self.schedule(instant, Event::Tick(day));
        self.plan_band_starts(day, now);
        self.plan_appointments(day, now);
        let mut deadlines = std::mem::take(&mut self.give_ups[day as usize]);
        for (deadline, id, generation) in deadlines.drain(..) {
            if self.give_up_applies(id, generation) {
                self.schedule(Time::from(deadline), Event::GiveUp(id, generation));
            }
        }
        self.give_ups[day as usize] = deadlines;
        self.schedule(now + DAY, Event::DayStart(day + 1));
    }

    /// Plans the start of every band's appointments on `day` (starting at `midnight`), in
    /// every service, on open days within the run.
    fn plan_appointments(&mut self, day: u32, midnight: Time) {
        let config = self.config;
        for (s, service) in config.services.iter().enumerate() {
            for (b, band) in service.bands_on(day as usize).iter().enumerate() {
                if midnight + band.start < self.end {
                    self.schedule(midnight + band.start, Event::Appointments(s as u8, day, b as u16));
                }
            }
        }
    }

    /// A band's appointments begin: the bookings still holding slots in it end, in the
    /// order of their first slot.
    fn appointments(&mut self, service: usize, day: usize, band: usize, now: Time) {
        let mut held = std::mem::take(&mut self.scratch);
        held.clear();
        let cal = &self.calendars[service];
        let seen = &mut self.seen;
        if seen.len() * 64 < self.bookings.len() {
            seen.resize(self.bookings.len().div_ceil(64), 0);
        }
        for b in cal.holders(day, band) {
            // A booking's first slot is its lowest, so the first time a booking is met in
            // slot order is its first slot. (Reading the booking records here instead
            // cost a cache miss per slot.)
            let (w, bit) = (b as usize / 64, 1u64 << (b % 64));
            if seen[w] & bit == 0 {
                seen[w] |= bit;
                held.push(b);
                // Its record lies anywhere in a table that can be far larger than the
                // cache: start loading every one of the band's at once.
                prefetch(&self.bookings, b as usize);
            }
        }
        for &b in &held {
            seen[b as usize / 64] = 0;
        }
        debug_assert!(held.iter().all(|&b| {
            let p = self.bookings[b as usize].placement();
            p.slots().iter().all(|&i| i >= p.slots[0])
        }));
        for (i, &b) in held.iter().enumerate() {
            // The next booking's party record, one step ahead.
            if let Some(&next) = held.get(i + 1) {
                prefetch(&self.parties, self.bookings[next as usize].party() as usize);
            }
            self.end_booking(b, BookingEnd::Attended, now);
        }
        self.scratch = held;
    }

    /// With same-day booking, each band of `day` (starting at `midnight`) stops being
    /// bookable when it starts; otherwise today is never bookable and nothing is planned.
    fn plan_band_starts(&mut self, day: u32, midnight: Time) {
        if self.config.release.min_lead_days > 0 {
            return;
        }
        let config = self.config;
        for (s, service) in config.services.iter().enumerate() {
            for (b, band) in service.bands_on(day as usize).iter().enumerate() {
                self.schedule(midnight + band.start, Event::BandStart(s as u8, day, b as u16));
            }
        }
    }

    fn release(&mut self, day: u32, now: Time) {
        let r = &self.config.release;
        let first = day as usize + r.min_lead_days as usize;
        let last = (day as usize + r.horizon_days as usize).min(self.calendars[0].days() - 1);
        for d in first..=last {
            let newly = !self.calendars[0].is_released(d) && self.calendars[0].is_open(d);
            if newly {
                self.assign_legacy(d, now);
            }
            for (s, cal) in self.calendars.iter_mut().enumerate() {
                let room = cal.release(d, now);
                if s == 0 {
                    self.today.released += u64::from(room);
                }
            }
        }
        for s in 0..self.policies.len() {
            self.policies[s].on_release(now);
            self.dirty |= 1 << s;
        }
    }

    /// Opens the held slots of first-service `day` to everyone.
    fn open_reserve(&mut self, day: usize) {
        self.calendars[0].open_reserve(day);
        self.dirty |= 1;
    }

    fn finish(mut self) -> RunRecord {
        self.workspace.give_ups = std::mem::take(&mut self.give_ups);
        self.workspace.looking_by_since = std::mem::take(&mut self.looking_by_since);
        self.workspace.urgency = std::mem::take(&mut self.urgency);
        let events = self.queue.processed() + self.unqueued_events;
        self.workspace.queue = Some(std::mem::replace(&mut self.queue, EventQueue::new(0)));
        let end = self.end;
        for p in &mut self.parties {
            p.close_at(end);
        }
        let cal = &self.calendars[0];
        let calendar = (0..cal.days())
            .map(|d| DayRecord {
                open: cal.is_open(d),
                released_at: cal.released_at(d),
                filled_at: cal.filled_at(d),
                tally: self.day_tallies[d].unwrap_or_else(|| cal.tally(d)),
                reserve: cal.reserve(d),
            })
            .collect();
        RunRecord {
            days: self.config.days,
            warmup_days: self.config.demand.warmup_days,
            bot_share: self.config.behaviour.bot_share,
            events,
            parties: self.parties,
            bookings: self.bookings,
            daily: self.daily,
            calendar,
            legacy_order: self.legacy_order,
            legacy_drained_day: self.legacy_drained_day,
            reallocated: self.reallocated,
            queue_inversions: self.queue_inversions,
            need_by_inversions: self.need_by_inversions,
            calendars: self.calendars,
        }
    }
}
