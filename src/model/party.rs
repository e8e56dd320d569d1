//! Parties (a person or a family booking together) and their bookings.

use crate::engine::{ShortStream, Time, time};

use super::calendar::{BookingId, Placement};
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

/// One party and its history.
///
/// Laid out for the event loop: the fields touched at every step of a party's journey
/// come first and fill one 64-byte cache line (records are 64-byte aligned); the second
/// line holds what the summary reads besides (kind, outcome, arrival, the milestones it
/// measures), the third counters and the pickup milestones. A replication's party table
/// is several megabytes and is visited in no particular order, so each line not touched
/// is a cache miss saved.
#[derive(Debug, Clone)]
#[repr(C, align(64))]
pub struct Party {
    /// What it drew at arrival.
    pub attributes: Attributes,
    /// Where it is now.
    pub stage: Stage,
    /// When it last started looking.
    pub since: Time,
    /// When it ended (or the end of the run).
    pub outcome_at: Time,
    /// Bumped whenever a pending give-up event becomes void.
    pub(crate) patience_generation: u32,
    /// Bookings made (both services).
    pub bookings: u32,
    /// Its number within its kind (arrival order; receipt order for legacy requests).
    pub index: u32,
    /// Where it came from.
    pub kind: PartyKind,
    /// How it ended.
    pub outcome: Outcome,
    /// Whether it counts in the portal metrics (portal party arriving after warm-up).
    pub counted: bool,
    /// Arrival (receipt time for legacy requests; 0 for old-portal bookings).
    pub arrival: Time,
    /// First booking of the first service (the instant it was made).
    pub first_booked: Option<Time>,
    /// Start of the first-service appointment at which it was served.
    pub served: Option<Time>,
    /// End of the journey (pickup attended, or service where there is no pickup).
    pub completed: Option<Time>,
    /// Bookings auto-cancelled for want of confirmation.
    pub auto_cancels: u32,
    /// Bookings cancelled by the party.
    pub voluntary_cancels: u32,
    /// Appointments missed.
    pub no_shows: u32,
    /// Attended without complete documents.
    pub doc_failures: u32,
    /// Passport ready.
    pub ready: Option<Time>,
    /// First pickup booking made.
    pub pickup_booked: Option<Time>,
}

impl Party {
    /// The party's identity across policies: its kind and its number within the kind.
    pub(crate) fn tag(&self) -> u64 {
        self.kind.tag() << 40 | u64::from(self.index)
    }
}

/// How a booking ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// What will happen to a booking: the key of its own short streams, one per part of its
/// fate, so that a part is drawn only when it matters (most bookings never need most
/// parts) and a party's k-th booking has the same fate under every policy and variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fate {
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

/// One booking.
///
/// Laid out like [`Party`]: what the end of a booking reads and writes comes first, in one
/// 64-byte line; when and how it was made follows.
#[derive(Debug, Clone)]
#[repr(C, align(64))]
pub struct Booking {
    /// Who holds it.
    pub party: PartyId,
    /// Where.
    pub placement: Placement,
    /// Its fate.
    pub(crate) fate: Fate,
    /// Which service.
    pub service: u8,
    /// Given from the legacy queue rather than booked on the portal.
    pub legacy: bool,
    /// Held from the old portal.
    pub preexisting: bool,
    /// How and when it ended; `None` while still held at the end of the run.
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The hot fields of both records stay within their first cache line.
    #[test]
    fn hot_fields_fill_the_first_cache_line() {
        assert_eq!(std::mem::offset_of!(Party, bookings) + 4, 64);
        assert!(std::mem::offset_of!(Party, completed) + 16 <= 128, "the summary reads two lines");
        assert!(std::mem::offset_of!(Booking, end) + std::mem::size_of::<Option<(Time, BookingEnd)>>() <= 64);
        assert_eq!(std::mem::align_of::<Party>(), 64);
        assert_eq!(std::mem::size_of::<Booking>(), 128);
    }
}
