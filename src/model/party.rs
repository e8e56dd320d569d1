//! Parties (a person or a family booking together) and their bookings.

use crate::engine::time::{self, Stamp};
use crate::engine::{ShortStream, Time};

use super::calendar::{BookingId, MAX_PARTY, Placement};
use super::config::ModelConfig;

pub use super::policy::PartyId;

/// Where a party came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PartyKind {
    /// New demand on the portal (including the launch backlog).
    Portal,
    /// An e-mail request received before the portal opened.
    Legacy,
    /// An appointment kept from the old portal.
    Preexisting,
}

impl PartyKind {
    /// Lower-case name used in tables.
    pub fn name(self) -> &'static str {
        match self {
            PartyKind::Portal => "portal",
            PartyKind::Legacy => "legacy",
            PartyKind::Preexisting => "preexisting",
        }
    }

    pub(crate) fn tag(self) -> u64 {
        match self {
            PartyKind::Portal => 0,
            PartyKind::Legacy => 1,
            PartyKind::Preexisting => 2,
        }
    }
}

/// Where a party is in its journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Queued in the legacy e-mail queue.
    LegacyQueue,
    /// Looking for an appointment of this service.
    Looking(u8),
    /// Holding this booking.
    Holding(BookingId),
    /// Lodged; waiting for the passport.
    Processing,
    /// Journey over.
    Done,
}

/// How a party's journey ended (or where it stood when the run ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// Still looking at the end of the run.
    Waiting,
    /// Still holding a booking at the end of the run.
    Holding,
    /// Lodged, not yet collected, at the end of the run.
    Processing,
    /// Still in the legacy queue at the end of the run.
    Queued,
    /// Collected the passport (or was served, where there is no pickup service).
    Completed,
    /// Gave up looking.
    Abandoned,
    /// Did not look again after an auto-cancellation or a no-show.
    Lost,
    /// Cancelled voluntarily and left.
    Cancelled,
    /// An automated booking found and cancelled by the office.
    Detected,
}

impl Outcome {
    /// Lower-case name used in tables.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Waiting => "waiting",
            Outcome::Holding => "holding",
            Outcome::Processing => "processing",
            Outcome::Queued => "queued",
            Outcome::Completed => "completed",
            Outcome::Abandoned => "abandoned",
            Outcome::Lost => "lost",
            Outcome::Cancelled => "cancelled",
            Outcome::Detected => "detected",
        }
    }
}

/// What a party draws once, when it arrives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Attributes {
    /// Slots needed.
    pub size: u32,
    /// Need-by instant.
    pub need_by: Time,
    /// Automated checking.
    pub bot: bool,
    /// Checks right after releases.
    pub watcher: bool,
    /// Seconds of patience while unbooked; `None` = never gives up.
    pub patience: Option<Time>,
}

impl Attributes {
    /// Draws the attributes of a party arriving at `arrival`, always making the same five
    /// draws in the same order from the party's own stream.
    pub fn draw(rng: &mut ShortStream, config: &ModelConfig, arrival: Time, may_be_bot: bool) -> Self {
        let d = &config.demand;
        let size = (rng.weighted(&d.size_weights) as u32 + 1).min(config.allocation.max_party);
        let need_by_days = rng.integer(i64::from(d.need_by_days.0), i64::from(d.need_by_days.1));
        let bot = rng.bernoulli(config.behaviour.bot_share) && may_be_bot;
        let watcher = rng.bernoulli(config.behaviour.watch_release_prob) && !bot;
        let patience_draw = rng.exponential(d.patience.unwrap_or(0.0));
        Self {
            size,
            need_by: arrival + need_by_days * crate::engine::DAY,
            bot,
            watcher,
            patience: d.patience.map(|_| crate::engine::time::seconds(patience_draw)),
        }
    }
}

/// An instant kept in a record ([`Stamp`]); `UNSET` stands for "not (yet)".
const UNSET: Stamp = Stamp::MIN;
/// Patience that never runs out within any run (and a party without patience).
const ENDLESS: Stamp = Stamp::MAX;

fn stamp(t: Time) -> Stamp {
    debug_assert_ne!(t, Time::from(UNSET), "instant {t} is the mark of an unset one");
    time::stamp(t)
}

fn stamp_opt(t: Option<Time>) -> Stamp {
    t.map_or(UNSET, stamp)
}

fn unstamp(s: Stamp) -> Option<Time> {
    (s != UNSET).then_some(Time::from(s))
}

/// Where a party is and, once its journey is over, how it ended, in one word: a tag in
/// the low four bits and the booking held or the service looked for above them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Place(u32);

impl Place {
    const QUEUED: u32 = 0;
    const LOOKING: u32 = 1;
    const HOLDING: u32 = 2;
    const PROCESSING: u32 = 3;
    /// Journey not started yet (a record just made); then one tag per way of ending.
    const NEW: u32 = 4;
    const ENDS: [Outcome; 5] =
        [Outcome::Completed, Outcome::Abandoned, Outcome::Lost, Outcome::Cancelled, Outcome::Detected];

    fn of(stage: Stage) -> Self {
        Self(match stage {
            Stage::LegacyQueue => Self::QUEUED,
            Stage::Looking(s) => Self::LOOKING | u32::from(s) << 4,
            Stage::Holding(b) => {
                assert!(b < 1 << 28, "at most 2^28 bookings in one run");
                Self::HOLDING | b << 4
            }
            Stage::Processing => Self::PROCESSING,
            Stage::Done => Self::NEW,
        })
    }

    fn ended(outcome: Outcome) -> Self {
        let k = match outcome {
            Outcome::Completed => 0,
            Outcome::Abandoned => 1,
            Outcome::Lost => 2,
            Outcome::Cancelled => 3,
            Outcome::Detected => 4,
            _ => unreachable!("{outcome:?} does not end a journey"),
        };
        debug_assert_eq!(Self::ENDS[k as usize], outcome);
        Self(Self::NEW + 1 + k)
    }

    fn stage(self) -> Stage {
        match self.0 & 15 {
            Self::QUEUED => Stage::LegacyQueue,
            Self::LOOKING => Stage::Looking((self.0 >> 4) as u8),
            Self::HOLDING => Stage::Holding(self.0 >> 4),
            Self::PROCESSING => Stage::Processing,
            _ => Stage::Done,
        }
    }

    fn outcome(self) -> Outcome {
        match self.0 & 15 {
            Self::QUEUED => Outcome::Queued,
            Self::LOOKING | Self::NEW => Outcome::Waiting,
            Self::HOLDING => Outcome::Holding,
            Self::PROCESSING => Outcome::Processing,
            k => Self::ENDS[(k - Self::NEW - 1) as usize],
        }
    }
}

const BOT: u8 = 1;
const WATCHER: u8 = 2;
const COUNTED: u8 = 4;
const KIND_SHIFT: u8 = 3;

/// One party and its history, in one 64-byte cache line (records are 64-byte aligned).
///
/// The event loop reads and writes a party at every step of its journey and the party
/// table is visited in no particular order, so the record is as small as the model
/// allows: instants in 32 bits, flags in one byte, where it stands and how it ended in
/// one word ([`Party::stage`] and [`Party::outcome`] read it). At 64 bytes a party costs
/// one cache line where it cost three, and a replication of a large embassy keeps its
/// parties in a third of the memory. Read it through its accessors.
#[derive(Debug, Clone)]
#[repr(C, align(64))]
pub struct Party {
    need_by: Stamp,
    since: Stamp,
    /// Seconds of patience while unbooked ([`ENDLESS`]: never gives up in a run).
    patience: Stamp,
    outcome_at: Stamp,
    arrival: Stamp,
    first_booked: Stamp,
    served: Stamp,
    completed: Stamp,
    ready: Stamp,
    pickup_booked: Stamp,
    place: Place,
    /// Bumped whenever a pending give-up event becomes void.
    patience_generation: u32,
    index: u32,
    bookings: u32,
    // Each auto-cancellation, no-show or document failure takes a booking of its own and
    // at most a few fit in a day, so a run of at most 7320 days stays far below 2^16 of
    // each (an overflow would stop the run with a message, not wrap).
    auto_cancels: u16,
    no_shows: u16,
    doc_failures: u16,
    size: u8,
    /// [`BOT`], [`WATCHER`], [`COUNTED`], and the kind's tag from bit [`KIND_SHIFT`].
    flags: u8,
}

/// A party's fields, decoded: the record's public view for whoever alters one (tests
/// that break a record on purpose). A stage other than [`Stage::Done`] has its own
/// outcome (waiting, holding, processing, queued); `outcome` counts only when done.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PartyFields {
    /// Where it came from.
    pub kind: PartyKind,
    /// Its number within its kind.
    pub index: u32,
    /// What it drew at arrival.
    pub attributes: Attributes,
    /// Whether it counts in the portal metrics.
    pub counted: bool,
    /// Where it is now.
    pub stage: Stage,
    /// How it ended.
    pub outcome: Outcome,
    /// When it last started looking.
    pub since: Time,
    /// When it ended (or the end of the run).
    pub outcome_at: Time,
    /// Arrival.
    pub arrival: Time,
    /// First booking of the first service.
    pub first_booked: Option<Time>,
    /// Served at the first service.
    pub served: Option<Time>,
    /// End of the journey.
    pub completed: Option<Time>,
    /// Passport ready.
    pub ready: Option<Time>,
    /// First pickup booking made.
    pub pickup_booked: Option<Time>,
    /// Bookings made.
    pub bookings: u32,
    /// Bookings auto-cancelled.
    pub auto_cancels: u32,
    /// Appointments missed.
    pub no_shows: u32,
    /// Attended without complete documents.
    pub doc_failures: u32,
    /// Patience generation.
    pub patience_generation: u32,
}

impl From<PartyFields> for Party {
    fn from(f: PartyFields) -> Self {
        let mut p = Party::new(f.kind, f.index, f.arrival, f.attributes, f.counted);
        p.place = match (f.stage, f.outcome) {
            (Stage::Done, Outcome::Waiting) => Place::of(Stage::Done),
            (Stage::Done, outcome) => Place::ended(outcome),
            (stage, _) => Place::of(stage),
        };
        p.since = stamp(f.since);
        p.outcome_at = stamp(f.outcome_at);
        p.first_booked = stamp_opt(f.first_booked);
        p.served = stamp_opt(f.served);
        p.completed = stamp_opt(f.completed);
        p.ready = stamp_opt(f.ready);
        p.pickup_booked = stamp_opt(f.pickup_booked);
        p.bookings = f.bookings;
        let count = |n: u32| u16::try_from(n).expect("counts below 2^16");
        p.auto_cancels = count(f.auto_cancels);
        p.no_shows = count(f.no_shows);
        p.doc_failures = count(f.doc_failures);
        p.patience_generation = f.patience_generation;
        p
    }
}

impl Party {
    /// A new party of `kind`, number `index` within its kind, arriving at `arrival` with
    /// `attributes`; `counted` when it counts in the portal metrics. Its journey has not
    /// started.
    pub(crate) fn new(kind: PartyKind, index: u32, arrival: Time, attributes: Attributes, counted: bool) -> Self {
        let flags = if attributes.bot { BOT } else { 0 }
            | if attributes.watcher { WATCHER } else { 0 }
            | if counted { COUNTED } else { 0 }
            | (kind.tag() as u8) << KIND_SHIFT;
        Self {
            need_by: stamp(attributes.need_by),
            since: stamp(arrival),
            // Patience beyond 68 years outlasts every run: the give-up is never planned.
            patience: attributes.patience.map_or(ENDLESS, |p| Stamp::try_from(p).unwrap_or(ENDLESS)),
            outcome_at: stamp(arrival),
            arrival: stamp(arrival),
            first_booked: UNSET,
            served: UNSET,
            completed: UNSET,
            ready: UNSET,
            pickup_booked: UNSET,
            place: Place::of(Stage::Done),
            patience_generation: 0,
            index,
            bookings: 0,
            auto_cancels: 0,
            no_shows: 0,
            doc_failures: 0,
            size: u8::try_from(attributes.size).expect("party sizes are 1 to 5"),
            flags,
        }
    }

    /// Every field, decoded.
    pub fn fields(&self) -> PartyFields {
        PartyFields {
            kind: self.kind(),
            index: self.index,
            attributes: self.attributes(),
            counted: self.counted(),
            stage: self.stage(),
            outcome: self.outcome(),
            since: self.since(),
            outcome_at: self.outcome_at(),
            arrival: self.arrival(),
            first_booked: self.first_booked(),
            served: self.served(),
            completed: self.completed(),
            ready: self.ready(),
            pickup_booked: self.pickup_booked(),
            bookings: self.bookings,
            auto_cancels: self.auto_cancels(),
            no_shows: self.no_shows(),
            doc_failures: self.doc_failures(),
            patience_generation: self.patience_generation,
        }
    }

    /// The party's identity across policies: its kind and its number within the kind.
    pub(crate) fn tag(&self) -> u64 {
        u64::from(self.flags >> KIND_SHIFT) << 40 | u64::from(self.index)
    }

    /// Where it came from.
    pub fn kind(&self) -> PartyKind {
        match self.flags >> KIND_SHIFT {
            0 => PartyKind::Portal,
            1 => PartyKind::Legacy,
            _ => PartyKind::Preexisting,
        }
    }

    /// Its number within its kind (arrival order; receipt order for legacy requests).
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Whether it counts in the portal metrics (portal party arriving after warm-up).
    pub fn counted(&self) -> bool {
        self.flags & COUNTED != 0
    }

    /// Slots needed.
    pub fn size(&self) -> u32 {
        u32::from(self.size)
    }

    /// Automated checking.
    pub fn bot(&self) -> bool {
        self.flags & BOT != 0
    }

    /// Checks right after releases.
    pub fn watcher(&self) -> bool {
        self.flags & WATCHER != 0
    }

    /// Need-by instant.
    pub fn need_by(&self) -> Time {
        Time::from(self.need_by)
    }

    /// Seconds of patience while unbooked; `None` = never gives up (within any run).
    pub fn patience(&self) -> Option<Time> {
        (self.patience != ENDLESS).then_some(Time::from(self.patience))
    }

    /// What it drew at arrival.
    pub fn attributes(&self) -> Attributes {
        Attributes {
            size: self.size(),
            need_by: self.need_by(),
            bot: self.bot(),
            watcher: self.watcher(),
            patience: self.patience(),
        }
    }

    /// Where it is now.
    pub fn stage(&self) -> Stage {
        self.place.stage()
    }

    /// Whether it is looking for an appointment of service `service` now.
    pub(crate) fn is_looking_for(&self, service: u8) -> bool {
        self.place == Place::of(Stage::Looking(service))
    }

    /// When it last started looking.
    pub fn since(&self) -> Time {
        Time::from(self.since)
    }

    /// How it ended (or where it stood when the run ended).
    pub fn outcome(&self) -> Outcome {
        self.place.outcome()
    }

    /// When it ended (or the end of the run).
    pub fn outcome_at(&self) -> Time {
        Time::from(self.outcome_at)
    }

    /// Arrival (receipt time for legacy requests; 0 for old-portal bookings).
    pub fn arrival(&self) -> Time {
        Time::from(self.arrival)
    }

    /// First booking of the first service (the instant it was made).
    pub fn first_booked(&self) -> Option<Time> {
        unstamp(self.first_booked)
    }

    /// Start of the first-service appointment at which it was served.
    pub fn served(&self) -> Option<Time> {
        unstamp(self.served)
    }

    /// End of the journey (pickup attended, or service where there is no pickup).
    pub fn completed(&self) -> Option<Time> {
        unstamp(self.completed)
    }

    /// Passport ready.
    pub fn ready(&self) -> Option<Time> {
        unstamp(self.ready)
    }

    /// First pickup booking made.
    pub fn pickup_booked(&self) -> Option<Time> {
        unstamp(self.pickup_booked)
    }

    /// Bookings made (both services).
    pub fn bookings(&self) -> u32 {
        self.bookings
    }

    /// Bookings auto-cancelled for want of confirmation.
    pub fn auto_cancels(&self) -> u32 {
        u32::from(self.auto_cancels)
    }

    /// Bookings cancelled by the party: a cancellation ends its journey, so 0 or 1.
    pub fn voluntary_cancels(&self) -> u32 {
        u32::from(self.outcome() == Outcome::Cancelled)
    }

    /// Appointments missed.
    pub fn no_shows(&self) -> u32 {
        u32::from(self.no_shows)
    }

    /// Attended without complete documents.
    pub fn doc_failures(&self) -> u32 {
        u32::from(self.doc_failures)
    }

    // ----- the model's changes --------------------------------------------------------

    /// Moves to `stage` at `now`: its outcome becomes the one of that stage (waiting,
    /// holding, processing, queued). A journey ends through [`Party::end`].
    pub(crate) fn enter(&mut self, stage: Stage, now: Time) {
        self.place = Place::of(stage);
        self.outcome_at = stamp(now);
    }

    /// Ends the journey at `now` with `outcome`.
    pub(crate) fn end(&mut self, outcome: Outcome, now: Time) {
        self.place = Place::ended(outcome);
        self.outcome_at = stamp(now);
    }

    /// Starts looking for `service` at `now`; returns the new patience generation.
    pub(crate) fn start_looking(&mut self, service: u8, now: Time) -> u32 {
        self.enter(Stage::Looking(service), now);
        self.since = stamp(now);
        self.patience_generation += 1;
        self.patience_generation
    }

    /// Voids pending give-ups.
    pub(crate) fn bump_generation(&mut self) {
        self.patience_generation += 1;
    }

    pub(crate) fn generation(&self) -> u32 {
        self.patience_generation
    }

    /// Counts a booking made at `now` for `service`; returns how many it made before.
    pub(crate) fn count_booking(&mut self, service: usize, now: Time) -> u32 {
        let k = self.bookings;
        self.bookings += 1;
        if service == 0 && self.first_booked == UNSET {
            self.first_booked = stamp(now);
        }
        if service != 0 && self.pickup_booked == UNSET {
            self.pickup_booked = stamp(now);
        }
        k
    }

    pub(crate) fn count_auto_cancel(&mut self) {
        self.auto_cancels = self.auto_cancels.checked_add(1).expect("fewer than 2^16 auto-cancellations a party");
    }

    pub(crate) fn count_no_show(&mut self) {
        self.no_shows = self.no_shows.checked_add(1).expect("fewer than 2^16 no-shows a party");
    }

    pub(crate) fn count_doc_failure(&mut self) {
        self.doc_failures = self.doc_failures.checked_add(1).expect("fewer than 2^16 document failures a party");
    }

    pub(crate) fn set_served(&mut self, at: Time) {
        self.served = stamp(at);
    }

    pub(crate) fn set_ready(&mut self, at: Time) {
        self.ready = stamp(at);
    }

    pub(crate) fn set_completed(&mut self, at: Time) {
        self.completed = stamp(at);
    }

    /// The run ended at `end` with the journey still going.
    pub(crate) fn close_at(&mut self, end: Time) {
        if self.stage() != Stage::Done {
            self.outcome_at = stamp(end);
        }
    }
}

/// How a booking ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum BookingEnd {
    /// Not confirmed by the deadline: cancelled automatically.
    AutoCancelled,
    /// Cancelled by the party.
    Cancelled,
    /// An automated booking found by the office.
    Detected,
    /// The party came.
    Attended,
    /// The party did not come.
    NoShow,
}

impl BookingEnd {
    /// Every end, in a fixed order (a booking record keeps its end as a place in it).
    pub const ALL: [BookingEnd; 5] = [
        BookingEnd::AutoCancelled,
        BookingEnd::Cancelled,
        BookingEnd::Detected,
        BookingEnd::Attended,
        BookingEnd::NoShow,
    ];

    /// Lower-case name used in tables.
    pub fn name(self) -> &'static str {
        match self {
            BookingEnd::AutoCancelled => "auto_cancelled",
            BookingEnd::Cancelled => "cancelled",
            BookingEnd::Detected => "detected",
            BookingEnd::Attended => "attended",
            BookingEnd::NoShow => "no_show",
        }
    }
}

/// What will happen to a booking (opaque outside the model): the key of its own short streams, one per part of its
/// fate, so that a part is drawn only when it matters (most bookings never need most
/// parts) and a party's k-th booking has the same fate under every policy and variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fate {
    key: u64,
}

/// The parts of a booking's fate. Their numbers are part of the streams' derivation:
/// never renumber one.
#[derive(Debug, Clone, Copy)]
#[repr(u64)]
enum Part {
    Confirms = 0,
    ConfirmDelay = 1,
    CancelAfter = 2,
    Detected = 3,
    Shows = 4,
    DocsOk = 5,
    Rebooks = 6,
    ProcessingDays = 7,
}

impl Fate {
    /// The fate with streams of key `key` ([`crate::engine::Streams::key_of`]).
    pub(crate) fn new(key: u64) -> Self {
        Self { key }
    }

    fn stream(self, part: Part) -> ShortStream {
        ShortStream::part(self.key, part as u64)
    }

    /// Whether the party confirms at all, with probability `p`.
    pub(crate) fn confirms(self, p: f64) -> bool {
        self.stream(Part::Confirms).bernoulli(p)
    }

    /// Seconds from e-mail to confirmation: exponential with mean `mean` seconds.
    pub(crate) fn confirm_delay(self, mean: f64) -> Time {
        time::seconds(self.stream(Part::ConfirmDelay).exponential(mean))
    }

    /// Seconds from booking to a voluntary cancellation at `rate` per second.
    pub(crate) fn cancel_after(self, rate: f64) -> Time {
        if rate > 0.0 { time::seconds(self.stream(Part::CancelAfter).exponential(1.0 / rate)) } else { Time::MAX / 4 }
    }

    /// Whether the office finds the script, with probability `p` (automated parties only).
    pub(crate) fn detected(self, p: f64) -> bool {
        self.stream(Part::Detected).bernoulli(p)
    }

    /// Whether the party attends, with probability `p`.
    pub(crate) fn shows(self, p: f64) -> bool {
        self.stream(Part::Shows).bernoulli(p)
    }

    /// Whether its documents are complete, with probability `p`.
    pub(crate) fn docs_ok(self, p: f64) -> bool {
        self.stream(Part::DocsOk).bernoulli(p)
    }

    /// Whether it looks again after a failure, with probability `p`.
    pub(crate) fn rebooks(self, p: f64) -> bool {
        self.stream(Part::Rebooks).bernoulli(p)
    }

    /// Days from lodging to passport ready, uniform on `lo..=hi`.
    pub(crate) fn processing_days(self, (lo, hi): (u32, u32)) -> u32 {
        self.stream(Part::ProcessingDays).integer(i64::from(lo), i64::from(hi)) as u32
    }
}

/// One booking, in one 64-byte cache line: what the end of a booking reads and writes
/// (its party, fate, slots and end) and when and how it was made, instants in 32 bits.
/// Read it through its accessors.
#[derive(Debug, Clone)]
#[repr(C, align(64))]
pub struct Booking {
    fate: Fate,
    party: PartyId,
    end_at: Stamp,
    made_at: Stamp,
    appointment: Stamp,
    email_at: Stamp,
    deadline: Stamp,
    confirmed_at: Stamp,
    slots: [u32; MAX_PARTY as usize],
    /// Calendar day: at most the run's 7320 days and a release horizon of 1098.
    day: u16,
    band: u16,
    len: u8,
    service: u8,
    /// 0 while held; else 1 + the [`BookingEnd`]'s place in [`BookingEnd::ALL`].
    end: u8,
    /// [`LEGACY`] and [`PREEXISTING`].
    flags: u8,
}

const LEGACY: u8 = 1;
const PREEXISTING: u8 = 2;

/// A booking's fields, decoded: the record's public view for whoever builds or alters
/// one (the model when it books; tests that break a record on purpose).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookingFields {
    /// Who holds it.
    pub party: PartyId,
    /// Which service.
    pub service: u8,
    /// Where.
    pub placement: Placement,
    /// Its fate.
    pub fate: Fate,
    /// Given from the legacy queue rather than booked on the portal.
    pub legacy: bool,
    /// Held from the old portal.
    pub preexisting: bool,
    /// How and when it ended; `None` while held.
    pub end: Option<(Time, BookingEnd)>,
    /// When it was made.
    pub made_at: Time,
    /// Start of the appointment.
    pub appointment: Time,
    /// Confirmation e-mail instant, if confirmation applies.
    pub email_at: Option<Time>,
    /// Confirmation deadline, if confirmation applies.
    pub deadline: Option<Time>,
    /// When the party confirmed (in time), if it did.
    pub confirmed_at: Option<Time>,
}

impl From<BookingFields> for Booking {
    fn from(b: BookingFields) -> Self {
        let p = b.placement;
        debug_assert!(u16::try_from(p.day).is_ok(), "calendar days fit in 16 bits");
        let mut booking = Self {
            fate: b.fate,
            party: b.party,
            end_at: UNSET,
            made_at: stamp(b.made_at),
            appointment: stamp(b.appointment),
            email_at: stamp_opt(b.email_at),
            deadline: stamp_opt(b.deadline),
            confirmed_at: stamp_opt(b.confirmed_at),
            slots: p.slots,
            day: p.day as u16,
            band: p.band,
            len: p.len,
            service: b.service,
            end: 0,
            flags: if b.legacy { LEGACY } else { 0 } | if b.preexisting { PREEXISTING } else { 0 },
        };
        if let Some((at, end)) = b.end {
            booking.set_end(at, end);
        }
        booking
    }
}

impl Booking {
    /// Every field, decoded.
    pub fn fields(&self) -> BookingFields {
        BookingFields {
            party: self.party,
            service: self.service,
            placement: self.placement(),
            fate: self.fate,
            legacy: self.legacy(),
            preexisting: self.preexisting(),
            end: self.end(),
            made_at: self.made_at(),
            appointment: self.appointment(),
            email_at: self.email_at(),
            deadline: self.deadline(),
            confirmed_at: self.confirmed_at(),
        }
    }

    /// Who holds it.
    pub fn party(&self) -> PartyId {
        self.party
    }

    /// Which service.
    pub fn service(&self) -> u8 {
        self.service
    }

    /// Where.
    pub fn placement(&self) -> Placement {
        Placement { day: u32::from(self.day), band: self.band, len: self.len, slots: self.slots }
    }

    /// Its fate.
    pub fn fate(&self) -> Fate {
        self.fate
    }

    /// Given from the legacy queue rather than booked on the portal.
    pub fn legacy(&self) -> bool {
        self.flags & LEGACY != 0
    }

    /// Held from the old portal.
    pub fn preexisting(&self) -> bool {
        self.flags & PREEXISTING != 0
    }

    /// How and when it ended; `None` while still held at the end of the run.
    pub fn end(&self) -> Option<(Time, BookingEnd)> {
        (self.end != 0).then(|| (Time::from(self.end_at), BookingEnd::ALL[self.end as usize - 1]))
    }

    pub(crate) fn set_end(&mut self, at: Time, end: BookingEnd) {
        self.end_at = stamp(at);
        self.end = 1 + end as u8;
        debug_assert_eq!(BookingEnd::ALL[end as usize], end);
    }

    /// When it was made.
    pub fn made_at(&self) -> Time {
        Time::from(self.made_at)
    }

    /// Start of the appointment.
    pub fn appointment(&self) -> Time {
        Time::from(self.appointment)
    }

    /// Confirmation e-mail instant, if confirmation applies.
    pub fn email_at(&self) -> Option<Time> {
        unstamp(self.email_at)
    }

    /// Confirmation deadline, if confirmation applies.
    pub fn deadline(&self) -> Option<Time> {
        unstamp(self.deadline)
    }

    /// When the party confirmed (in time), if it did.
    pub fn confirmed_at(&self) -> Option<Time> {
        unstamp(self.confirmed_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both records fill exactly one cache line.
    #[test]
    fn records_are_one_cache_line() {
        assert_eq!((std::mem::size_of::<Party>(), std::mem::align_of::<Party>()), (64, 64));
        assert_eq!((std::mem::size_of::<Booking>(), std::mem::align_of::<Booking>()), (64, 64));
    }

    /// Where a party stands and how it ended survive the packing into one word.
    #[test]
    fn place_keeps_stage_and_outcome() {
        for stage in [
            Stage::LegacyQueue,
            Stage::Looking(0),
            Stage::Looking(1),
            Stage::Holding((1 << 28) - 1),
            Stage::Processing,
            Stage::Done,
        ] {
            assert_eq!(Place::of(stage).stage(), stage);
        }
        assert_eq!(Place::of(Stage::Looking(1)).outcome(), Outcome::Waiting);
        assert_eq!(Place::of(Stage::Holding(7)).outcome(), Outcome::Holding);
        assert_eq!(Place::of(Stage::LegacyQueue).outcome(), Outcome::Queued);
        for outcome in Place::ENDS {
            assert_eq!((Place::ended(outcome).stage(), Place::ended(outcome).outcome()), (Stage::Done, outcome));
        }
    }

    /// Instants, unset milestones and endless patience round-trip.
    #[test]
    fn stamps_round_trip() {
        let attributes =
            Attributes { size: 3, need_by: 7320 * 2 * 86_400, bot: true, watcher: false, patience: Some(1 << 40) };
        let p = Party::new(PartyKind::Legacy, 9, -20 * 366 * 86_400, attributes, false);
        assert_eq!(
            (p.kind(), p.index(), p.size(), p.bot(), p.watcher(), p.counted()),
            (PartyKind::Legacy, 9, 3, true, false, false)
        );
        assert_eq!(
            (p.need_by(), p.arrival(), p.patience(), p.served()),
            (7320 * 2 * 86_400, -20 * 366 * 86_400, None, None)
        );
    }
}
