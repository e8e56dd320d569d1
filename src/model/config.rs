//! The model's resolved configuration: typed, validated values in simulation units.
//!
//! The scenario layer turns a TOML file into a [`ModelConfig`]; the model never sees text.

use crate::engine::Time;
use crate::model::calendar::MAX_PARTY;

/// How calendar days are released for booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseKind {
    /// A release every day.
    Rolling,
    /// A release every `every_days` days (day 0, every_days, 2·every_days, ...).
    Batch { every_days: u32 },
}

/// The allocation rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// First come, first served: whoever checks the calendar first books.
    Fcfs,
    /// A first-in-first-out waiting list.
    Waitlist,
    /// A waiting list ordered by need-by date, ties by arrival.
    Priority,
    /// Periodic uniform random draws among registered parties.
    Lottery { every_days: u32 },
}

/// A time band of a service on the days of one layout: its start time of day, its slots,
/// the people it accepts bookings for and the slots it holds for urgent parties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Band {
    /// Seconds after 00:00.
    pub start: Time,
    /// Slots per open day: what the band offers and what slot accounting counts.
    pub slots: u32,
    /// People the band accepts bookings for: `slots`, or more with overbooking
    /// (floor(slots × (1 + overbook_share))). Places from `slots` on are served in overtime.
    pub places: u32,
    /// Slots held for urgent parties from release until the reserve opens
    /// (floor(urgent_share × slots)): the band's top `held` places.
    pub held: u32,
}

impl Band {
    /// A band of `slots` slots, no overbooking and no reserve.
    pub fn plain(start: Time, slots: u32) -> Self {
        Self { start, slots, places: slots, held: 0 }
    }
}

/// An appointment service (the first one takes new demand; `pickup` is collection), with
/// its capacity plan: which bands it has on each calendar day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The service's name.
    pub name: String,
    /// The band layouts of the plan: 0 is the usual bands, then one per period that has
    /// bands, in the order of the scenario.
    pub layouts: Vec<Vec<Band>>,
    /// Per calendar day: the index of its layout in `layouts`, or `None` on a day the
    /// service is closed (office closed, holiday, or a period without that weekday or
    /// with no bands).
    pub day_layout: Vec<Option<u16>>,
}

impl Service {
    /// A service with the same bands on every open day of `open`.
    pub fn uniform(name: &str, bands: Vec<Band>, open: &[bool]) -> Self {
        Self { name: name.into(), layouts: vec![bands], day_layout: open.iter().map(|&o| o.then_some(0)).collect() }
    }

    /// Whether the service has appointments on calendar `day`.
    pub fn is_open(&self, day: usize) -> bool {
        self.day_layout.get(day).copied().flatten().is_some()
    }

    /// The bands of calendar `day` (none when closed or past the calendar).
    pub fn bands_on(&self, day: usize) -> &[Band] {
        match self.day_layout.get(day).copied().flatten() {
            Some(layout) => &self.layouts[layout as usize],
            None => &[],
        }
    }

    /// The slots of calendar `day` under the plan (0 when closed).
    pub fn capacity_on(&self, day: usize) -> u32 {
        self.bands_on(day).iter().map(|b| b.slots).sum()
    }
}

/// Extra demand after an announcement.
#[derive(Debug, Clone, PartialEq)]
pub struct Burst {
    /// When the extra rate starts.
    pub at: Time,
    /// Expected extra parties.
    pub extra: f64,
    /// Decay constant of the extra rate, in seconds.
    pub decay: f64,
}

/// The office's calendar.
#[derive(Debug, Clone, PartialEq)]
pub struct OfficeConfig {
    /// Whether each calendar day (from day 0, well past the end of the run) has appointments.
    pub open: Vec<bool>,
}

/// Release of calendar days.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseConfig {
    /// Rolling or batch.
    pub kind: ReleaseKind,
    /// Release instant, seconds after 00:00.
    pub time_of_day: Time,
    /// The release instant is drawn uniformly in `[time, time + jitter)`.
    pub jitter: Time,
    /// A release makes bookable every day up to today + `horizon_days`.
    pub horizon_days: u32,
    /// Nothing can be booked for a day nearer than this.
    pub min_lead_days: u32,
}

/// New demand.
#[derive(Debug, Clone, PartialEq)]
pub struct DemandConfig {
    /// Mean arrivals on each run day (base rate times the day's weekday weight).
    pub day_rate: Vec<f64>,
    /// Announcement bursts.
    pub bursts: Vec<Burst>,
    /// Parties waiting at time 0.
    pub initial_backlog: u32,
    /// Weights of party sizes 1..=[`MAX_PARTY`].
    pub size_weights: [f64; MAX_PARTY as usize],
    /// Need-by date, uniform in these whole days after arrival.
    pub need_by_days: (u32, u32),
    /// Mean patience in seconds; `None` = never gives up.
    pub patience: Option<f64>,
    /// Parties arriving before this day are not counted in metrics.
    pub warmup_days: u32,
}

/// How parties behave.
#[derive(Debug, Clone, PartialEq)]
pub struct BehaviourConfig {
    /// Calendar checks per second by a waiting person.
    pub human_check_rate: f64,
    /// Share of people who also check right after each release.
    pub watch_release_prob: f64,
    /// Mean delay of those checks, in seconds.
    pub watch_delay: f64,
    /// Share of automated parties.
    pub bot_share: f64,
    /// Checks per second by an automated party.
    pub bot_check_rate: f64,
    /// Probability a person confirms in time.
    pub confirm_prob: f64,
    /// Probability a script confirms.
    pub bot_confirm_prob: f64,
    /// Mean delay from e-mail to confirmation, in seconds.
    pub confirm_delay: f64,
    /// Hazard of a voluntary cancellation, per second.
    pub cancel_rate: f64,
    /// Probability a confirmed party attends.
    pub show_prob: f64,
    /// Probability an attending party has complete documents.
    pub docs_ok_prob: f64,
    /// Probability a party whose booking failed starts looking again.
    pub rebook_prob: f64,
    /// Lodging to passport ready, uniform in these whole days.
    pub processing_days: (u32, u32),
}

/// The confirmation e-mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfirmationConfig {
    /// E-mail at 00:00 this many days before the appointment day.
    pub lead_days: u32,
    /// Deadline: e-mail time plus this many days (never after 00:00 of the appointment day).
    pub window_days: u32,
}

/// Allocation rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AllocationConfig {
    /// The policy.
    pub policy: PolicyKind,
    /// Probability an automated booking is found and cancelled one day after it was made.
    pub bot_detection_prob: f64,
    /// Larger parties are cut to this size.
    pub max_party: u32,
    /// Slots held for urgent parties, if any band holds some.
    pub reserve: Option<ReserveConfig>,
}

/// Reserved urgent slots (first service): who counts as urgent, and when held slots open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReserveConfig {
    /// A party is urgent from its need-by instant less this many seconds.
    pub urgent_within: Time,
    /// Held slots still free at 00:00 this many days before their day become ordinary.
    pub open_days: u32,
}

/// The legacy e-mail queue.
#[derive(Debug, Clone, PartialEq)]
pub struct LegacyConfig {
    /// Requests received before the portal opened.
    pub requests: u32,
    /// First receipt instant.
    pub received_from: Time,
    /// Last receipt instant.
    pub received_until: Time,
    /// First-service slots per released open day reserved for the queue until it is empty.
    pub quota_per_day: u32,
    /// Whether legacy appointments must be confirmed.
    pub needs_confirmation: bool,
}

/// Appointments kept from the old portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreexistingConfig {
    /// How many.
    pub bookings: u32,
    /// Spread over the open days among the first `over_days` days.
    pub over_days: u32,
}

/// Everything the model needs for one replication (apart from the seed).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// Length of the run in days.
    pub days: u32,
    /// Office calendar.
    pub office: OfficeConfig,
    /// Services; the first takes new demand; `pickup`, if any, is collection.
    pub services: Vec<Service>,
    /// Index of the pickup service, if any.
    pub pickup: Option<usize>,
    /// Day release.
    pub release: ReleaseConfig,
    /// New demand.
    pub demand: DemandConfig,
    /// Behaviour.
    pub behaviour: BehaviourConfig,
    /// Confirmation, if enabled.
    pub confirmation: Option<ConfirmationConfig>,
    /// Allocation.
    pub allocation: AllocationConfig,
    /// Legacy queue.
    pub legacy: LegacyConfig,
    /// Old-portal bookings.
    pub preexisting: PreexistingConfig,
}

impl ModelConfig {
    /// Calendar days the model keeps: the run plus the furthest release horizon.
    pub fn calendar_days(&self) -> usize {
        (self.days + self.release.horizon_days + 1) as usize
    }
}
