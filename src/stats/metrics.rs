//! The registry of metrics: every column of a replication's summary, in table order, with
//! what it means to a reader (label, unit, which way is better) and how to read it from a
//! [`Summary`]. Tables, comparisons, searches and the command line all look metrics up
//! here.
//!
//! ```
//! use slotsim::stats::Summary;
//! use slotsim::stats::compare::Better;
//! use slotsim::stats::metrics;
//!
//! let m = metrics::find("lead_days_p90").unwrap();
//! assert_eq!((m.unit, m.better), ("days", Better::Lower));
//! let s = Summary { served: 12, ..Summary::default() };
//! assert_eq!(metrics::value(&s, "served"), Some(12.0));
//! assert_eq!(metrics::value(&s, "lead_days_p90"), None, "undefined without served parties");
//! let err = metrics::lookup("waiting_time").unwrap_err();
//! assert!(err.to_string().starts_with("unknown metric `waiting_time`; the metrics are: arrived, booked, "));
//! ```

use std::fmt;

use super::summary::{Metric, Summary};
use Better::{Higher as H, Lower as L, Neutral as N};
use Metric::{Count as C, Day as D, Real as R};

/// Which way a metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Smaller values are better (lead times, waste, cancellations).
    Lower,
    /// Larger values are better (served parties, utilization, fairness).
    Higher,
    /// Neither: a count that describes the run (arrivals, events, slots offered).
    Neutral,
}

impl Better {
    /// `lower`, `higher` or `neutral`.
    pub fn name(self) -> &'static str {
        match self {
            Better::Lower => "lower",
            Better::Higher => "higher",
            Better::Neutral => "neutral",
        }
    }
}

/// What a metric means to a reader: a label, its unit and which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricInfo {
    /// Plain-language label.
    pub label: &'static str,
    /// Unit, plural (`days`, `parties`, `share`).
    pub unit: &'static str,
    /// Which way is better.
    pub better: Better,
}

impl MetricInfo {
    /// What a column unknown to the registry (read back from a file, say) means: neutral,
    /// without label or unit.
    pub const UNKNOWN: MetricInfo = MetricInfo { label: "", unit: "", better: Better::Neutral };
}

/// One metric: its column name, what it means and how to read it from a summary.
#[derive(Debug, Clone, Copy)]
pub struct MetricDef {
    /// Column name in the tables.
    pub name: &'static str,
    /// Plain-language label.
    pub label: &'static str,
    /// Unit, plural (`days`, `parties`, `share`).
    pub unit: &'static str,
    /// Which way is better.
    pub better: Better,
    /// The metric's value in a summary, typed for tables.
    pub get: fn(&Summary) -> Metric,
}

impl MetricDef {
    /// Label, unit and direction.
    pub fn info(&self) -> MetricInfo {
        MetricInfo { label: self.label, unit: self.unit, better: self.better }
    }

    /// The metric's value in `summary`, typed for tables.
    pub fn metric(&self, summary: &Summary) -> Metric {
        (self.get)(summary)
    }

    /// The metric's value in `summary` as a number (counts and run days too); `None`
    /// where undefined.
    pub fn value(&self, summary: &Summary) -> Option<f64> {
        match self.metric(summary) {
            Metric::Count(n) => Some(n as f64),
            Metric::Real(x) => x,
            Metric::Day(d) => d.map(f64::from),
        }
    }
}

/// A metric name the registry does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownMetric {
    /// The name asked for.
    pub name: String,
}

impl fmt::Display for UnknownMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown metric `{}`; the metrics are: ", self.name)?;
        for (i, m) in METRICS.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(m.name)?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownMetric {}

/// Every metric, in table order.
pub fn all() -> &'static [MetricDef] {
    &METRICS
}

/// The metric named `name`, if any.
pub fn find(name: &str) -> Option<&'static MetricDef> {
    METRICS.iter().find(|m| m.name == name)
}

/// The metric named `name`.
///
/// # Errors
///
/// [`UnknownMetric`], whose message lists every metric.
pub fn lookup(name: &str) -> Result<&'static MetricDef, UnknownMetric> {
    find(name).ok_or_else(|| UnknownMetric { name: name.to_string() })
}

/// The value of metric `name` in `summary` as a number; `None` where undefined or where
/// there is no such metric.
pub fn value(summary: &Summary, name: &str) -> Option<f64> {
    find(name).and_then(|m| m.value(summary))
}

/// Label, unit and direction of metric `name`; [`MetricInfo::UNKNOWN`] for a name the
/// registry does not have.
pub fn info(name: &str) -> MetricInfo {
    find(name).map_or(MetricInfo::UNKNOWN, MetricDef::info)
}

/// Shorthand for the table below.
const fn def(
    name: &'static str,
    label: &'static str,
    unit: &'static str,
    better: Better,
    get: fn(&Summary) -> Metric,
) -> MetricDef {
    MetricDef { name, label, unit, better, get }
}

/// Every metric, in table order (the columns of `summary.csv` after the identifying ones).
pub static METRICS: [MetricDef; 47] = [
    def("arrived", "parties arrived", "parties", N, |s| C(s.arrived)),
    def("booked", "parties that got a booking", "parties", H, |s| C(s.booked)),
    def("served", "parties served", "parties", H, |s| C(s.served)),
    def("completed", "parties that finished their journey", "parties", H, |s| C(s.completed)),
    def("abandoned", "parties that gave up", "parties", L, |s| C(s.abandoned)),
    def("waiting_at_end", "parties still waiting at the end", "parties", L, |s| C(s.waiting_at_end)),
    def("lead_days_mean", "mean lead time, arrival to appointment", "days", L, |s| R(s.lead_days_mean)),
    def("lead_days_p50", "median lead time", "days", L, |s| R(s.lead_days_p50)),
    def("lead_days_p90", "90th-percentile lead time", "days", L, |s| R(s.lead_days_p90)),
    def("lead_days_p99", "99th-percentile lead time", "days", L, |s| R(s.lead_days_p99)),
    def("book_days_mean", "mean time to first booking", "days", L, |s| R(s.book_days_mean)),
    def("book_days_p90", "90th-percentile time to first booking", "days", L, |s| R(s.book_days_p90)),
    def("journey_days_mean", "mean journey, arrival to passport", "days", L, |s| R(s.journey_days_mean)),
    def("journey_days_p90", "90th-percentile journey", "days", L, |s| R(s.journey_days_p90)),
    def("deadline_miss_rate", "share served after their need-by date", "share", L, |s| R(s.deadline_miss_rate)),
    def("slots_offered", "slots offered", "slots", N, |s| C(s.slots_offered)),
    def("slots_used", "slots used", "slots", H, |s| C(s.slots_used)),
    def("utilization", "utilization, slots used / offered", "share", H, |s| R(s.utilization)),
    def("slots_wasted_unbooked", "slots never booked", "slots", L, |s| C(s.slots_wasted_unbooked)),
    def("slots_wasted_noshow", "slots lost to no-shows", "slots", L, |s| C(s.slots_wasted_noshow)),
    def("slots_wasted_freed", "freed slots not booked again", "slots", L, |s| C(s.slots_wasted_freed)),
    def("auto_cancelled", "bookings auto-cancelled, unconfirmed", "bookings", L, |s| C(s.auto_cancelled)),
    def("voluntary_cancelled", "bookings cancelled by the party", "bookings", N, |s| C(s.voluntary_cancelled)),
    def("reallocated", "freed slots booked again", "slots", N, |s| C(s.reallocated)),
    // Slots should go to people, not to scripts that resell them.
    def("bot_share_of_bookings", "share of bookings made by scripts", "share", L, |s| R(s.bot_share_of_bookings)),
    def("bot_advantage", "script advantage, booking share / party share", "ratio", L, |s| R(s.bot_advantage)),
    def("book_days_mean_people", "mean time to first booking, people", "days", L, |s| R(s.book_days_mean_people)),
    def("book_days_mean_bots", "mean time to first booking, scripts", "days", N, |s| R(s.book_days_mean_bots)),
    def("bot_book_speedup", "script speed-up, people's / scripts' time to booking", "ratio", L, |s| {
        R(s.bot_book_speedup)
    }),
    def("jain_book_days", "fairness of time to booking, Jain index (1 = equal)", "index", H, |s| R(s.jain_book_days)),
    def("queue_inversions", "bookings that overtook an earlier party", "bookings", L, |s| C(s.queue_inversions)),
    def("need_by_inversions", "bookings that overtook a more urgent party", "bookings", L, |s| C(s.need_by_inversions)),
    def("legacy_served", "legacy e-mail requests served", "parties", H, |s| C(s.legacy_served)),
    def("legacy_drained_day", "day the legacy queue was emptied", "run day", L, |s| D(s.legacy_drained_day)),
    def("legacy_inversions", "legacy order inversions (must be 0)", "pairs", L, |s| C(s.legacy_inversions)),
    def("sellout_minutes_p50", "median minutes from release to sell-out", "minutes", N, |s| R(s.sellout_minutes_p50)),
    // What a visitor at a random instant finds: the portal's own "no appointments" page.
    def("no_slot_share", "share of the time with no slot bookable", "share", L, |s| R(s.no_slot_share)),
    def("lead_days_mean_size1", "mean lead time, single applicants", "days", L, |s| R(s.lead_days_mean_by_size[0])),
    def("lead_days_mean_size2", "mean lead time, parties of 2", "days", L, |s| R(s.lead_days_mean_by_size[1])),
    def("lead_days_mean_size3", "mean lead time, families of 3", "days", L, |s| R(s.lead_days_mean_by_size[2])),
    def("lead_days_mean_size4", "mean lead time, families of 4", "days", L, |s| R(s.lead_days_mean_by_size[3])),
    def("lead_days_mean_size5", "mean lead time, families of 5", "days", L, |s| R(s.lead_days_mean_by_size[4])),
    def("urgent_slots_held", "slots held for urgent applicants", "slots", N, |s| C(s.urgent_slots_held)),
    // Held slots exist to serve urgent people: the more they take, the better.
    def("urgent_slots_taken_urgent", "held slots taken by urgent applicants", "slots", H, |s| {
        C(s.urgent_slots_taken_urgent)
    }),
    def("urgent_slots_opened", "held slots opened to everyone, unused by urgent ones", "slots", N, |s| {
        C(s.urgent_slots_opened)
    }),
    // Overtime is staff working beyond the plan.
    def("overtime_people", "people served in overtime (overbooking)", "people", L, |s| C(s.overtime_people)),
    def("events", "events simulated", "events", N, |s| C(s.events)),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// A summary whose every metric has a distinct value, so that a column read from the
    /// wrong field shows.
    fn distinct() -> Summary {
        let mut s = Summary::default();
        let mut next = 0u64;
        let mut count = || {
            next += 1;
            next
        };
        s.arrived = count();
        s.booked = count();
        s.served = count();
        s.completed = count();
        s.abandoned = count();
        s.waiting_at_end = count();
        s.lead_days_mean = Some(count() as f64);
        s.lead_days_p50 = Some(count() as f64);
        s.lead_days_p90 = Some(count() as f64);
        s.lead_days_p99 = Some(count() as f64);
        s.book_days_mean = Some(count() as f64);
        s.book_days_p90 = Some(count() as f64);
        s.journey_days_mean = Some(count() as f64);
        s.journey_days_p90 = Some(count() as f64);
        s.deadline_miss_rate = Some(count() as f64);
        s.slots_offered = count();
        s.slots_used = count();
        s.utilization = Some(count() as f64);
        s.slots_wasted_unbooked = count();
        s.slots_wasted_noshow = count();
        s.slots_wasted_freed = count();
        s.auto_cancelled = count();
        s.voluntary_cancelled = count();
        s.reallocated = count();
        s.bot_share_of_bookings = Some(count() as f64);
        s.bot_advantage = Some(count() as f64);
        s.book_days_mean_people = Some(count() as f64);
        s.book_days_mean_bots = Some(count() as f64);
        s.bot_book_speedup = Some(count() as f64);
        s.jain_book_days = Some(count() as f64);
        s.queue_inversions = count();
        s.need_by_inversions = count();
        s.legacy_served = count();
        s.legacy_drained_day = Some(count() as u32);
        s.legacy_inversions = count();
        s.sellout_minutes_p50 = Some(count() as f64);
        s.no_slot_share = Some(count() as f64);
        for size in &mut s.lead_days_mean_by_size {
            *size = Some(count() as f64);
        }
        s.urgent_slots_held = count();
        s.urgent_slots_taken_urgent = count();
        s.urgent_slots_opened = count();
        s.overtime_people = count();
        s.events = count();
        s
    }

    #[test]
    fn every_summary_column_is_registered_once_in_table_order() {
        // Column k (from 1) of `distinct()` holds k: the registry reads the columns in
        // table order, each once, and none is missing.
        let s = distinct();
        let values: Vec<Option<f64>> = METRICS.iter().map(|m| m.value(&s)).collect();
        let want: Vec<Option<f64>> = (1..=METRICS.len()).map(|k| Some(k as f64)).collect();
        assert_eq!(values, want);
        let names: Vec<&str> = s.metrics().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, METRICS.iter().map(|m| m.name).collect::<Vec<_>>());
        assert_eq!(Summary::metric_names(), names);
    }

    #[test]
    fn names_are_unique_and_every_metric_is_described() {
        for (i, m) in METRICS.iter().enumerate() {
            assert!(METRICS[..i].iter().all(|o| o.name != m.name), "{} is registered twice", m.name);
            assert!(!m.label.is_empty() && !m.unit.is_empty(), "{} has no label or unit", m.name);
            assert!(std::ptr::eq(find(m.name).unwrap(), m));
        }
    }

    #[test]
    fn unknown_names_err_with_the_list_and_are_neutral() {
        let err = lookup("lead_days").unwrap_err();
        let list: Vec<&str> = METRICS.iter().map(|m| m.name).collect();
        assert_eq!(err.to_string(), format!("unknown metric `lead_days`; the metrics are: {}", list.join(", ")));
        assert!(find("lead_days").is_none());
        assert_eq!(info("lead_days"), MetricInfo::UNKNOWN);
        assert_eq!(info("lead_days"), MetricInfo { label: "", unit: "", better: Better::Neutral });
        assert_eq!(value(&distinct(), "lead_days"), None);
        assert_eq!(lookup("utilization").unwrap().name, "utilization");
    }

    #[test]
    fn values_are_numbers_of_every_kind() {
        let s = Summary { served: 3, legacy_drained_day: Some(40), utilization: Some(0.5), ..Summary::default() };
        assert_eq!(value(&s, "served"), Some(3.0));
        assert_eq!(value(&s, "legacy_drained_day"), Some(40.0));
        assert_eq!(value(&s, "utilization"), Some(0.5));
        assert_eq!(value(&s, "lead_days_mean"), None);
        assert_eq!(find("legacy_drained_day").unwrap().metric(&s), Metric::Day(Some(40)));
    }
}
