//! Scenario files: the TOML format documented in `docs/scenario.md`, its defaults,
//! validation, variants and sweep grids, and the conversion to the model's configuration.
//!
//! This layer reads strings, never files.
//!
//! ```
//! use slotsim::scenario::{PolicyName, Scenario};
//!
//! let s = Scenario::from_toml_str(r#"
//! name = "small"
//! days = 60
//! [[variant]]
//! name = "waitlist"
//! set = { "allocation.policy" = "waitlist" }
//! "#).unwrap();
//! assert_eq!(s.variant_names(), vec!["base", "waitlist"]);
//! let w = s.variant("waitlist").unwrap();
//! assert_eq!(w.allocation.policy, PolicyName::Waitlist);
//! assert_eq!(w.allocation.policy.to_string(), "waitlist");
//!
//! let err = Scenario::from_toml_str("name = \"x\"\n[behaviour]\nshow_prob = 1.5\n").unwrap_err();
//! assert_eq!(err.line, Some(3));
//! assert!(err.to_string().contains("behaviour.show_prob"));
//! ```

mod convert;
pub mod dates;
pub mod paths;
mod validate;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// A scenario file that cannot be used: what is wrong, where, and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// The variant whose overrides are at fault, if any.
    pub variant: Option<String>,
    /// The dotted path of the field, if known.
    pub field: Option<String>,
    /// The 1-based line in the file, if known.
    pub line: Option<usize>,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        if let Some(v) = &self.variant {
            write!(f, "variant `{v}`: ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "`{field}`: ")?;
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for ScenarioError {}

impl ScenarioError {
    pub(crate) fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { variant: None, field: Some(field.into()), line: None, message: message.into() }
    }
}

/// A date written either as a string (`"2021-06-14"`) or as a TOML date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DateText(pub String);

impl<'de> Deserialize<'de> for DateText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Text(String),
            Toml(toml::value::Datetime),
        }
        match Either::deserialize(d) {
            Ok(Either::Text(s)) => Ok(DateText(s)),
            Ok(Either::Toml(dt)) => Ok(DateText(dt.to_string())),
            Err(_) => Err(serde::de::Error::custom(
                "expected a date such as \"2021-06-14\" (or a date and time such as \"2021-09-01T00:00\")",
            )),
        }
    }
}

impl From<&str> for DateText {
    fn from(s: &str) -> Self {
        DateText(s.to_string())
    }
}

/// A range of whole days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayRange {
    /// Lower bound, inclusive.
    pub min: u32,
    /// Upper bound, inclusive.
    pub max: u32,
}

/// `[office]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Office {
    /// Weekdays with appointments: `mon` .. `sun`.
    pub open_weekdays: Vec<String>,
    /// Dates without appointments.
    pub holidays: Vec<DateText>,
}

impl Default for Office {
    fn default() -> Self {
        Self { open_weekdays: ["mon", "tue", "wed", "thu", "fri"].map(String::from).to_vec(), holidays: vec![] }
    }
}

/// A band of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BandSpec {
    /// Start time, `HH:MM`.
    pub start: String,
    /// Slots per open day.
    pub slots: u32,
}

/// `[[service]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// Name; `pickup` marks the collection service.
    pub name: String,
    /// Time bands: the usual capacity.
    pub bands: Vec<BandSpec>,
    /// `[[service.period]]`: capacity that changes over time (a staffing plan).
    #[serde(default, rename = "period", skip_serializing_if = "Vec::is_empty")]
    pub periods: Vec<PeriodSpec>,
}

/// `[[service.period]]`: other bands (or none) from one date to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodSpec {
    /// First day of the period, inclusive.
    pub from: DateText,
    /// Last day of the period, inclusive.
    pub until: DateText,
    /// The bands of the period's open days; `[]` closes the service.
    pub bands: Vec<BandSpec>,
    /// Weekdays with appointments in the period (default: the office's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_weekdays: Option<Vec<String>>,
}

fn default_services() -> Vec<ServiceSpec> {
    vec![ServiceSpec {
        name: "passport".into(),
        bands: ["09:00", "10:00", "11:00"].map(|s| BandSpec { start: s.into(), slots: 20 }).to_vec(),
        periods: vec![],
    }]
}

/// `[release]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Release {
    /// `rolling` or `batch`.
    pub kind: String,
    /// Local time of the release instant, `HH:MM`.
    pub time: String,
    /// Batch: days between releases.
    pub every_days: u32,
    /// Release instant drawn uniformly in `[time, time + jitter)`.
    pub jitter_minutes: u32,
    /// A release makes bookable every day up to today + this.
    pub horizon_days: u32,
    /// Nothing can be booked for a day nearer than this.
    pub min_lead_days: u32,
}

impl Default for Release {
    fn default() -> Self {
        Self {
            kind: "rolling".into(),
            time: "00:00".into(),
            every_days: 1,
            jitter_minutes: 0,
            horizon_days: 90,
            min_lead_days: 1,
        }
    }
}

/// `[[demand.burst]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BurstSpec {
    /// When the extra demand starts.
    pub at: DateText,
    /// Expected extra parties.
    pub extra: f64,
    /// Exponential decay of the extra rate, in days.
    pub decay_days: f64,
}

/// `[demand]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Demand {
    /// Mean new parties per day.
    pub arrivals_per_day: f64,
    /// Monday..Sunday weights, scaled to mean 1.
    pub weekday_weights: Vec<f64>,
    /// Parties waiting at time 0.
    pub initial_backlog: u32,
    /// Weights of parties of 1..5 people.
    pub party_size_weights: Vec<f64>,
    /// Need-by date, uniform days after arrival.
    pub need_by_days: DayRange,
    /// Mean patience in days; 0 = never gives up.
    pub patience_days: f64,
    /// Announcement bursts.
    pub burst: Vec<BurstSpec>,
}

impl Default for Demand {
    fn default() -> Self {
        Self {
            arrivals_per_day: 60.0,
            weekday_weights: vec![1.0; 7],
            initial_backlog: 0,
            party_size_weights: vec![0.6, 0.2, 0.12, 0.06, 0.02],
            need_by_days: DayRange { min: 30, max: 365 },
            patience_days: 0.0,
            burst: vec![],
        }
    }
}

/// `[behaviour]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Behaviour {
    /// Poisson rate of calendar checks by a waiting person.
    pub human_checks_per_day: f64,
    /// Share of people who also check right after each release.
    pub watch_release_prob: f64,
    /// Mean delay of those checks.
    pub watch_delay_minutes: f64,
    /// Share of automated parties.
    pub bot_share: f64,
    /// Mean time between automated checks.
    pub bot_check_interval_seconds: f64,
    /// A person confirms within the window.
    pub confirm_prob: f64,
    /// A script confirms.
    pub bot_confirm_prob: f64,
    /// Mean time from e-mail to confirmation.
    pub confirm_delay_hours: f64,
    /// Hazard of a voluntary cancellation while holding a booking.
    pub cancel_per_day: f64,
    /// A confirmed party attends.
    pub show_prob: f64,
    /// An attending party has complete documents.
    pub docs_ok_prob: f64,
    /// A party whose booking failed starts looking again.
    pub rebook_prob: f64,
    /// Lodging to passport ready, uniform days.
    pub processing_days: DayRange,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            human_checks_per_day: 2.0,
            watch_release_prob: 0.3,
            watch_delay_minutes: 15.0,
            bot_share: 0.0,
            bot_check_interval_seconds: 60.0,
            confirm_prob: 0.9,
            bot_confirm_prob: 1.0,
            confirm_delay_hours: 24.0,
            cancel_per_day: 0.0,
            show_prob: 0.95,
            docs_ok_prob: 1.0,
            rebook_prob: 0.5,
            processing_days: DayRange { min: 10, max: 30 },
        }
    }
}

/// `[confirmation]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Confirmation {
    /// Whether bookings must be confirmed.
    pub enabled: bool,
    /// E-mail this many days before the appointment day.
    pub lead_days: u32,
    /// Days to confirm.
    pub window_days: u32,
}

impl Default for Confirmation {
    fn default() -> Self {
        Self { enabled: true, lead_days: 14, window_days: 5 }
    }
}

/// The allocation policy a scenario names: written `fcfs`, `waitlist`, `priority` or
/// `lottery`, and parsed when the file is read, so a name no policy has is refused there.
///
/// ```
/// use slotsim::scenario::PolicyName;
///
/// assert_eq!("lottery".parse::<PolicyName>(), Ok(PolicyName::Lottery));
/// assert_eq!(PolicyName::Waitlist.to_string(), "waitlist");
/// let err = "FCFS".parse::<PolicyName>().unwrap_err();
/// assert_eq!(err.to_string(), "\"FCFS\" is not allowed: \"fcfs\", \"waitlist\", \"priority\" or \"lottery\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PolicyName {
    /// `fcfs`: first come, first served, whoever checks the calendar first books.
    #[default]
    Fcfs,
    /// `waitlist`: a first-in-first-out waiting list.
    Waitlist,
    /// `priority`: a waiting list ordered by need-by date, ties by arrival.
    Priority,
    /// `lottery`: periodic uniform random draws among registered parties.
    Lottery,
}

impl PolicyName {
    /// Every policy, in the order the allowed names are listed.
    pub const ALL: [PolicyName; 4] =
        [PolicyName::Fcfs, PolicyName::Waitlist, PolicyName::Priority, PolicyName::Lottery];

    /// The allowed names as a message lists them.
    const ALLOWED: &str = "\"fcfs\", \"waitlist\", \"priority\" or \"lottery\"";

    /// The name as written in scenario files: `fcfs`, `waitlist`, `priority` or `lottery`.
    pub fn name(self) -> &'static str {
        match self {
            PolicyName::Fcfs => "fcfs",
            PolicyName::Waitlist => "waitlist",
            PolicyName::Priority => "priority",
            PolicyName::Lottery => "lottery",
        }
    }
}

impl fmt::Display for PolicyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A policy name that no policy has; its message quotes it and lists the allowed names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPolicy(pub String);

impl fmt::Display for UnknownPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\" is not allowed: {}", self.0, PolicyName::ALLOWED)
    }
}

impl std::error::Error for UnknownPolicy {}

impl std::str::FromStr for PolicyName {
    type Err = UnknownPolicy;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PolicyName::ALL.into_iter().find(|p| p.name() == s).ok_or_else(|| UnknownPolicy(s.to_string()))
    }
}

impl Serialize for PolicyName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for PolicyName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Name;
        impl serde::de::Visitor<'_> for Name {
            type Value = PolicyName;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a policy name, {}", PolicyName::ALLOWED)
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<PolicyName, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(Name)
    }
}

/// `[allocation]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Allocation {
    /// `fcfs`, `waitlist`, `priority` or `lottery`: parsed when the file is read.
    pub policy: PolicyName,
    /// Lottery: days between draws.
    pub lottery_every_days: u32,
    /// Share of automated bookings found and cancelled.
    pub bot_detection_prob: f64,
    /// Larger parties are cut to this size.
    pub max_party: u32,
    /// Share of each first-service band's slots (rounded down) held for urgent parties.
    #[serde(skip_serializing_if = "is_zero")]
    pub urgent_share: f64,
    /// A party is urgent while its need-by date is at most this many days away.
    #[serde(skip_serializing_if = "is_default_urgent_within")]
    pub urgent_within_days: u32,
    /// Held slots still free this many days before their day open to everyone.
    #[serde(skip_serializing_if = "is_default_urgent_open")]
    pub urgent_open_days: u32,
    /// A first-service band accepts bookings for floor(slots × (1 + this)) people.
    #[serde(skip_serializing_if = "is_zero")]
    pub overbook_share: f64,
}

// The capacity levers are left out of the resolved scenario while they keep their
// defaults, so that scenarios written before they existed keep their hash.
const URGENT_WITHIN_DAYS: u32 = 30;
const URGENT_OPEN_DAYS: u32 = 3;

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

fn is_default_urgent_within(x: &u32) -> bool {
    *x == URGENT_WITHIN_DAYS
}

fn is_default_urgent_open(x: &u32) -> bool {
    *x == URGENT_OPEN_DAYS
}

impl Default for Allocation {
    fn default() -> Self {
        Self {
            policy: PolicyName::Fcfs,
            lottery_every_days: 7,
            bot_detection_prob: 0.0,
            max_party: 5,
            urgent_share: 0.0,
            urgent_within_days: URGENT_WITHIN_DAYS,
            urgent_open_days: URGENT_OPEN_DAYS,
            overbook_share: 0.0,
        }
    }
}

/// `[legacy]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Legacy {
    /// E-mail requests received before the portal opened.
    pub requests: u32,
    /// First receipt date.
    pub received_from: DateText,
    /// Last receipt date.
    pub received_until: DateText,
    /// First-service slots per open day for the queue until it is empty.
    pub quota_per_day: u32,
    /// Whether legacy appointments must be confirmed.
    pub needs_confirmation: bool,
}

impl Default for Legacy {
    fn default() -> Self {
        Self {
            requests: 0,
            received_from: "2021-03-01".into(),
            received_until: "2021-06-11".into(),
            quota_per_day: 0,
            needs_confirmation: true,
        }
    }
}

/// `[preexisting]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Preexisting {
    /// Appointments from the old portal.
    pub bookings: u32,
    /// Spread over the first this many days.
    pub over_days: u32,
}

impl Default for Preexisting {
    fn default() -> Self {
        Self { bookings: 0, over_days: 60 }
    }
}

/// `[[variant]]`: a named set of overrides of the base scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantSpec {
    /// Name (not `base`).
    pub name: String,
    /// What question the variant answers (free text, optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Dotted paths and their values.
    #[serde(default)]
    pub set: toml::Table,
}

/// The most `[sweep]` grid points a scenario may cross.
pub const MAX_GRID_POINTS: usize = 10_000;

/// The keys of `[sweep]` that are settings rather than grid paths (every other key is a
/// dotted path with its list of values). `tests/docs` requires each to be documented in
/// `docs/scenario.md` as `sweep.KEY`.
pub const SWEEP_SETTINGS: [&str; 1] = ["replications"];

/// A scenario: the base and its variants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Name.
    pub name: String,
    /// First simulated day.
    #[serde(default = "default_start")]
    pub start: DateText,
    /// Length of the run in days.
    #[serde(default = "default_days")]
    pub days: u32,
    /// Parties arriving before this day are not counted.
    #[serde(default)]
    pub warmup_days: u32,
    /// Seed used by `run` when none is given.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Office calendar.
    #[serde(default)]
    pub office: Office,
    /// Services.
    #[serde(default = "default_services", rename = "service")]
    pub services: Vec<ServiceSpec>,
    /// Release of days.
    #[serde(default)]
    pub release: Release,
    /// New demand.
    #[serde(default)]
    pub demand: Demand,
    /// Behaviour.
    #[serde(default)]
    pub behaviour: Behaviour,
    /// Confirmation.
    #[serde(default)]
    pub confirmation: Confirmation,
    /// Allocation.
    #[serde(default)]
    pub allocation: Allocation,
    /// Legacy queue.
    #[serde(default)]
    pub legacy: Legacy,
    /// Old-portal appointments.
    #[serde(default)]
    pub preexisting: Preexisting,
    /// Variants.
    #[serde(default, rename = "variant", skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<VariantSpec>,
    /// Sweep grid and default replication count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<toml::Table>,
}

fn default_start() -> DateText {
    "2021-06-14".into()
}
fn default_days() -> u32 {
    365
}
fn default_seed() -> u64 {
    1
}

/// One point of a sweep grid: the paths set and their values, in path order.
#[derive(Debug, Clone, PartialEq)]
pub struct GridPoint {
    /// `(path, value)` pairs.
    pub values: Vec<(String, toml::Value)>,
}

impl GridPoint {
    /// A short label such as `service.0.bands.0.slots=15`; `base` for the empty point.
    pub fn label(&self) -> String {
        if self.values.is_empty() {
            return "base".into();
        }
        self.values.iter().map(|(p, v)| format!("{p}={}", value_text(v))).collect::<Vec<_>>().join(";")
    }
}

/// A TOML value as plain text (strings without quotes).
pub fn value_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn de_error(src: &str, e: toml::de::Error) -> ScenarioError {
    let line = e.span().map(|s| src[..s.start.min(src.len())].matches('\n').count() + 1);
    let mut message = e.message().trim().to_string();
    let mut field = None;
    if let Some(line) = line {
        // The table the offending line sits in, and the key it sets, name the field.
        let header = src
            .lines()
            .take(line)
            .filter_map(|l| {
                let l = l.split('#').next().unwrap_or(l).trim();
                l.starts_with('[').then(|| l.trim_matches(|c| c == '[' || c == ']').trim().to_string())
            })
            .last();
        let key = src
            .lines()
            .nth(line - 1)
            .and_then(|l| l.split_once('='))
            .map(|(k, _)| k.trim().trim_matches('"').to_string())
            .filter(|k| !k.is_empty() && !k.starts_with('['));
        if message.contains("unknown field") {
            if let Some(h) = &header {
                message = format!("{message} (in [{h}])");
            }
        } else if let Some(k) = key {
            field = Some(match &header {
                Some(h) => format!("{h}.{k}"),
                None => k,
            });
        }
    }
    ScenarioError { variant: None, field, line, message }
}

impl Scenario {
    /// Parses and validates a scenario, base and every variant.
    ///
    /// # Errors
    ///
    /// A [`ScenarioError`] naming the field, its line where known, the bad value and what
    /// is allowed.
    pub fn from_toml_str(src: &str) -> Result<Self, ScenarioError> {
        let scenario: Scenario = toml::from_str(src).map_err(|e| de_error(src, e))?;
        scenario.validate().map_err(|mut e| {
            if let Some(f) = &e.field {
                e.line = paths::locate(src, f);
            }
            e
        })?;
        let mut names = std::collections::BTreeSet::new();
        for (i, v) in scenario.variants.iter().enumerate() {
            let located = |mut e: ScenarioError| {
                e.line = e.line.or_else(|| paths::locate(src, &format!("variant.{i}.set")));
                e
            };
            if v.name == "base" || v.name.is_empty() || !names.insert(v.name.clone()) {
                return Err(located(ScenarioError {
                    variant: Some(v.name.clone()),
                    field: Some("name".into()),
                    line: None,
                    message: "a variant needs a unique, non-empty name other than `base`".into(),
                }));
            }
            scenario.variant(&v.name).map_err(located)?;
        }
        for point in scenario.grid().map_err(|mut e| {
            e.line = paths::locate(src, "sweep");
            e
        })? {
            scenario.at_grid_point(&point).map_err(|mut e| {
                e.line = paths::locate(src, "sweep");
                e
            })?;
        }
        Ok(scenario)
    }

    /// The base scenario without its variants and sweep, as a TOML table.
    fn base_table(&self) -> toml::Table {
        let mut base = self.clone();
        base.variants.clear();
        base.sweep = None;
        toml::Table::try_from(&base).expect("a scenario always serializes")
    }

    /// The names of the variants, `base` first.
    pub fn variant_names(&self) -> Vec<&str> {
        std::iter::once("base").chain(self.variants.iter().map(|v| v.name.as_str())).collect()
    }

    fn with_overrides<'a>(
        &self,
        table: &mut toml::Table,
        overrides: impl Iterator<Item = (&'a String, &'a toml::Value)>,
        variant: Option<&str>,
    ) -> Result<(), ScenarioError> {
        for (path, value) in overrides {
            paths::set(table, path, value.clone()).map_err(|m| ScenarioError {
                variant: variant.map(str::to_string),
                field: Some(path.clone()),
                line: None,
                message: m,
            })?;
        }
        Ok(())
    }

    fn from_table(table: toml::Table, variant: Option<&str>, paths: &[String]) -> Result<Scenario, ScenarioError> {
        let text = toml::to_string(&table).map_err(|e| ScenarioError {
            variant: variant.map(str::to_string),
            field: None,
            line: None,
            message: format!("overrides do not form a scenario: {e}"),
        })?;
        let s: Scenario = toml::from_str(&text).map_err(|e| {
            let mut err = de_error(&text, e);
            err.line = None;
            err.variant = variant.map(str::to_string);
            // The path at fault when it is one of those set (a policy no one has), else all.
            err.field = Some(err.field.filter(|f| paths.contains(f)).unwrap_or_else(|| paths.join(", ")));
            err
        })?;
        s.validate().map_err(|mut e| {
            e.variant = variant.map(str::to_string);
            e
        })?;
        Ok(s)
    }

    /// The resolved scenario of a variant (`base` for the base), without variants or sweep.
    ///
    /// # Errors
    ///
    /// An unknown variant, or overrides that name a missing field or give a bad value.
    pub fn variant(&self, name: &str) -> Result<Scenario, ScenarioError> {
        let mut table = self.base_table();
        if name == "base" {
            return Self::from_table(table, None, &[]);
        }
        let Some(v) = self.variants.iter().find(|v| v.name == name) else {
            return Err(ScenarioError {
                variant: None,
                field: None,
                line: None,
                message: format!("no variant named `{name}`; this scenario has: {}", self.variant_names().join(", ")),
            });
        };
        self.with_overrides(&mut table, v.set.iter(), Some(name))?;
        let paths: Vec<String> = v.set.keys().cloned().collect();
        let mut resolved = Self::from_table(table, Some(name), &paths)?;
        resolved.name = self.name.clone();
        Ok(resolved)
    }

    /// The sweep grid: every combination of the `[sweep]` values, in path order (one empty
    /// point when there is no grid).
    ///
    /// # Errors
    ///
    /// A `[sweep]` entry that is not a list of values, or a bad `replications`.
    pub fn grid(&self) -> Result<Vec<GridPoint>, ScenarioError> {
        let mut axes: Vec<(String, Vec<toml::Value>)> = Vec::new();
        if let Some(sweep) = &self.sweep {
            for (key, value) in sweep {
                if SWEEP_SETTINGS.contains(&key.as_str()) {
                    continue;
                }
                match value {
                    toml::Value::Array(values) if !values.is_empty() => axes.push((key.clone(), values.clone())),
                    _ => {
                        return Err(ScenarioError::field(
                            format!("sweep.\"{key}\""),
                            "a sweep entry must be a non-empty list of values for that dotted path, e.g. \"service.0.bands.0.slots\" = [15, 20, 25]",
                        ));
                    }
                }
            }
        }
        // Every point becomes a resolved cell in memory: refuse a grid too large to hold.
        let count = axes.iter().try_fold(1usize, |n, (_, values)| n.checked_mul(values.len()));
        if count.is_none_or(|n| n > MAX_GRID_POINTS) {
            let sizes: Vec<String> = axes.iter().map(|(_, v)| v.len().to_string()).collect();
            return Err(ScenarioError::field(
                "sweep",
                format!(
                    "the grid crosses {} values, {}: at most {MAX_GRID_POINTS} grid points are allowed",
                    sizes.join(" × "),
                    count.map_or("more than 2^64 points".into(), |n| format!("{n} points"))
                ),
            ));
        }
        let mut points = vec![GridPoint { values: vec![] }];
        for (path, values) in &axes {
            points = points
                .into_iter()
                .flat_map(|p| {
                    values.iter().map(move |v| {
                        let mut q = p.clone();
                        q.values.push((path.clone(), v.clone()));
                        q
                    })
                })
                .collect();
        }
        Ok(points)
    }

    /// The replication count `[sweep]` asks for, if any.
    ///
    /// # Errors
    ///
    /// A `replications` that is not a positive integer.
    pub fn sweep_replications(&self) -> Result<Option<u32>, ScenarioError> {
        match self.sweep.as_ref().and_then(|s| s.get("replications")) {
            None => Ok(None),
            Some(toml::Value::Integer(n)) if *n >= 1 && *n <= i64::from(u32::MAX) => Ok(Some(*n as u32)),
            Some(v) => {
                Err(ScenarioError::field("sweep.replications", format!("{v} is not allowed: a whole number ≥ 1")))
            }
        }
    }

    /// This (resolved) scenario with a grid point's values set.
    ///
    /// # Errors
    ///
    /// A path or value the scenario does not accept.
    pub fn at_grid_point(&self, point: &GridPoint) -> Result<Scenario, ScenarioError> {
        if point.values.is_empty() {
            return Ok(self.clone());
        }
        let mut table = self.base_table();
        let label = format!("sweep point {}", point.label());
        self.with_overrides(&mut table, point.values.iter().map(|(p, v)| (p, v)), Some(&label))?;
        let paths: Vec<String> = point.values.iter().map(|(p, _)| p.clone()).collect();
        Self::from_table(table, Some(&label), &paths)
    }

    /// The resolved scenario as TOML, without variants or sweep.
    pub fn resolved_toml(&self) -> String {
        toml::to_string(&self.base_table()).expect("a scenario always serializes")
    }

    /// A stable 64-bit FNV-1a hash of [`Scenario::resolved_toml`], as 16 hex digits.
    pub fn hash(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.resolved_toml().bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{h:016x}")
    }

    /// The overrides of every variant, by name (for manifests).
    pub fn overrides(&self) -> BTreeMap<String, toml::Table> {
        self.variants.iter().map(|v| (v.name.clone(), v.set.clone())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALLOWED: &str = "\"fcfs\", \"waitlist\", \"priority\" or \"lottery\"";

    #[test]
    fn policy_names_round_trip() {
        for p in PolicyName::ALL {
            assert_eq!(p.name().parse::<PolicyName>(), Ok(p));
            assert_eq!(p.to_string(), p.name());
        }
        assert_eq!(PolicyName::default(), PolicyName::Fcfs);
        assert_eq!(Allocation::default().policy, PolicyName::Fcfs);
        assert_eq!("Lottery".parse::<PolicyName>(), Err(UnknownPolicy("Lottery".into())));
    }

    #[test]
    fn an_unknown_policy_is_refused_with_field_value_line_and_names() {
        let err = Scenario::from_toml_str("name = \"x\"\n[allocation]\npolicy = \"fcfss\"\n").unwrap_err();
        assert_eq!(err.field.as_deref(), Some("allocation.policy"));
        assert_eq!(err.line, Some(3));
        assert_eq!(err.message, format!("\"fcfss\" is not allowed: {ALLOWED}"));
        assert_eq!(err.to_string(), format!("line 3: `allocation.policy`: \"fcfss\" is not allowed: {ALLOWED}"));

        let err = Scenario::from_toml_str("name = \"x\"\n[allocation]\npolicy = 3\n").unwrap_err();
        assert_eq!((err.field.as_deref(), err.line), (Some("allocation.policy"), Some(3)));
        assert!(err.message.contains("integer") && err.message.contains(ALLOWED), "{}", err.message);
    }

    #[test]
    fn an_unknown_policy_set_by_a_variant_or_a_sweep_is_refused_by_path() {
        let src =
            "name = \"x\"\n[[variant]]\nname = \"w\"\nset = { \"allocation.policy\" = \"wait-list\", \"days\" = 30 }\n";
        let err = Scenario::from_toml_str(src).unwrap_err();
        assert_eq!(err.variant.as_deref(), Some("w"));
        assert_eq!(err.field.as_deref(), Some("allocation.policy"));
        assert_eq!(err.line, Some(4));
        assert_eq!(err.message, format!("\"wait-list\" is not allowed: {ALLOWED}"));

        let src = "name = \"x\"\n[sweep]\n\"allocation.policy\" = [\"fcfs\", \"random\"]\n";
        let err = Scenario::from_toml_str(src).unwrap_err();
        assert_eq!(err.variant.as_deref(), Some("sweep point allocation.policy=random"));
        assert_eq!((err.field.as_deref(), err.line), (Some("allocation.policy"), Some(2)));
        assert_eq!(err.message, format!("\"random\" is not allowed: {ALLOWED}"));
    }

    #[test]
    fn the_resolved_scenario_writes_the_policy_as_its_name() {
        let s = Scenario::from_toml_str(
            "name = \"x\"\n[[variant]]\nname = \"l\"\nset = { \"allocation.policy\" = \"lottery\" }\n",
        )
        .unwrap();
        assert!(s.resolved_toml().contains("\npolicy = \"fcfs\"\n"), "{}", s.resolved_toml());
        let l = s.variant("l").unwrap();
        assert_eq!(l.allocation.policy, PolicyName::Lottery);
        assert!(l.resolved_toml().contains("\npolicy = \"lottery\"\n"), "{}", l.resolved_toml());
        assert_eq!(Scenario::from_toml_str(&l.resolved_toml()).unwrap().hash(), l.hash());
    }
}
