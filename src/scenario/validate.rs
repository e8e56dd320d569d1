//! Range checks: every value of a scenario, with one message naming the field, the bad
//! value and what is allowed.

use super::dates::{parse_clock, parse_date, parse_datetime};
use super::{Scenario, ScenarioError};

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn fail<T: std::fmt::Display>(field: &str, value: T, allowed: &str) -> ScenarioError {
    ScenarioError::field(field, format!("{value} is not allowed: {allowed}"))
}

fn probability(field: &str, v: f64) -> Result<(), ScenarioError> {
    if v.is_finite() && (0.0..=1.0).contains(&v) { Ok(()) } else { Err(fail(field, v, "a probability from 0 to 1")) }
}

fn non_negative(field: &str, v: f64) -> Result<(), ScenarioError> {
    if v.is_finite() && v >= 0.0 { Ok(()) } else { Err(fail(field, v, "a finite number ≥ 0")) }
}

fn positive(field: &str, v: f64) -> Result<(), ScenarioError> {
    if v.is_finite() && v > 0.0 { Ok(()) } else { Err(fail(field, v, "a finite number > 0")) }
}

fn date(field: &str, s: &str) -> Result<i64, ScenarioError> {
    parse_date(s)
        .ok_or_else(|| fail(field, format!("\"{s}\""), "a calendar date written YYYY-MM-DD, e.g. \"2021-06-14\""))
}

fn weights(field: &str, w: &[f64], len: usize, what: &str) -> Result<(), ScenarioError> {
    if w.len() != len {
        return Err(fail(field, format!("a list of {}", w.len()), &format!("exactly {len} weights, {what}")));
    }
    if let Some(bad) = w.iter().find(|x| !x.is_finite() || **x < 0.0) {
        return Err(fail(field, format!("weight {bad}"), "weights that are finite and ≥ 0"));
    }
    if w.iter().sum::<f64>() <= 0.0 {
        return Err(fail(field, "all zero", "at least one weight > 0"));
    }
    Ok(())
}

/// A list of bands: times `HH:MM` in increasing order, slot counts in range.
fn bands(field: &str, bands: &[super::BandSpec]) -> Result<(), ScenarioError> {
    let mut previous = -1;
    for (j, b) in bands.iter().enumerate() {
        let Some(t) = parse_clock(&b.start) else {
            return Err(fail(
                &format!("{field}.{j}.start"),
                format!("\"{}\"", b.start),
                "a time of day written HH:MM, from 00:00 to 23:59",
            ));
        };
        if t <= previous {
            return Err(fail(
                &format!("{field}.{j}.start"),
                format!("\"{}\"", b.start),
                "a start later than the previous band's (bands are listed in time order)",
            ));
        }
        previous = t;
        if b.slots > 100_000 {
            return Err(fail(&format!("{field}.{j}.slots"), b.slots, "from 0 to 100000 slots"));
        }
    }
    Ok(())
}

/// Weekday names, at least one.
fn weekdays(field: &str, names: &[String]) -> Result<(), ScenarioError> {
    if let Some(w) = names.iter().find(|w| !WEEKDAYS.contains(&w.to_lowercase().as_str())) {
        return Err(fail(field, format!("\"{w}\""), "weekday names: mon, tue, wed, thu, fri, sat, sun"));
    }
    if names.is_empty() {
        return Err(fail(field, "an empty list", "at least one weekday (to close the service, give `bands = []`)"));
    }
    Ok(())
}

impl Scenario {
    /// The periods of service `i`: dates in order, bands well formed, weekdays known, and
    /// no two periods sharing a day.
    fn periods(&self, i: usize) -> Result<(), ScenarioError> {
        let mut seen: Vec<(usize, i64, i64)> = Vec::new();
        for (k, p) in self.services[i].periods.iter().enumerate() {
            let field = |f: &str| format!("service.{i}.period.{k}.{f}");
            let from = date(&field("from"), &p.from.0)?;
            let until = date(&field("until"), &p.until.0)?;
            if until < from {
                return Err(fail(
                    &field("until"),
                    format!("\"{}\"", p.until.0),
                    &format!("a date on or after the period's `from` (\"{}\")", p.from.0),
                ));
            }
            bands(&field("bands"), &p.bands)?;
            if let Some(w) = &p.open_weekdays {
                weekdays(&field("open_weekdays"), w)?;
            }
            if let Some(&(j, _, _)) = seen.iter().find(|&&(_, f, u)| from <= u && f <= until) {
                let other = &self.services[i].periods[j];
                return Err(ScenarioError::field(
                    format!("service.{i}.period.{k}"),
                    format!(
                        "period {k} ({} to {}) overlaps period {j} ({} to {}) of service \"{}\": periods of one service may not share a day",
                        p.from.0, p.until.0, other.from.0, other.until.0, self.services[i].name
                    ),
                ));
            }
            seen.push((k, from, until));
        }
        Ok(())
    }

    /// Checks every value's range.
    ///
    /// # Errors
    ///
    /// The first bad value found, with its dotted path (the caller adds the line).
    pub fn validate(&self) -> Result<(), ScenarioError> {
        if self.name.trim().is_empty() {
            return Err(fail("name", "\"\"", "a non-empty name"));
        }
        let start = date("start", &self.start.0)?;
        if self.days == 0 || self.days > 20 * 366 {
            return Err(fail("days", self.days, "a whole number of days from 1 to 7320"));
        }
        if self.warmup_days >= self.days {
            return Err(fail("warmup_days", self.warmup_days, &format!("fewer days than the run ({})", self.days)));
        }

        // Office.
        let mut seen = [false; 7];
        for w in &self.office.open_weekdays {
            let Some(i) = WEEKDAYS.iter().position(|d| d == &w.to_lowercase()) else {
                return Err(fail(
                    "office.open_weekdays",
                    format!("\"{w}\""),
                    "weekday names: mon, tue, wed, thu, fri, sat, sun",
                ));
            };
            seen[i] = true;
        }
        if !seen.iter().any(|s| *s) {
            return Err(fail("office.open_weekdays", "an empty list", "at least one weekday"));
        }
        for h in &self.office.holidays {
            date("office.holidays", &h.0)?;
        }

        // Services.
        if self.services.is_empty() {
            return Err(fail("service", "no service", "at least one [[service]] (the first takes new demand)"));
        }
        for (i, s) in self.services.iter().enumerate() {
            let field = |f: &str| format!("service.{i}.{f}");
            if s.name.trim().is_empty() {
                return Err(fail(&field("name"), "\"\"", "a non-empty name"));
            }
            if i > 0 && s.name != "pickup" {
                return Err(fail(
                    &field("name"),
                    format!("\"{}\"", s.name),
                    "after the first service, only a collection service named \"pickup\"",
                ));
            }
            if i > 1 {
                return Err(fail(
                    "service",
                    format!("{} services", self.services.len()),
                    "one service, or two with the second named \"pickup\"",
                ));
            }
            if s.bands.is_empty() {
                return Err(fail(
                    &field("bands"),
                    "an empty list",
                    "at least one band { start = \"HH:MM\", slots = N }",
                ));
            }
            bands(&field("bands"), &s.bands)?;
            let largest = s.bands.iter().map(|b| b.slots).max().unwrap_or(0);
            if largest < self.allocation.max_party {
                return Err(ScenarioError::field(
                    format!("service.{i}.bands"),
                    format!(
                        "the largest band of service \"{}\" has {largest} slots, fewer than allocation.max_party = {}: such parties could never book; enlarge a band or lower max_party",
                        s.name, self.allocation.max_party
                    ),
                ));
            }
            self.periods(i)?;
        }

        // Release.
        let r = &self.release;
        if !["rolling", "batch"].contains(&r.kind.as_str()) {
            return Err(fail("release.kind", format!("\"{}\"", r.kind), "\"rolling\" or \"batch\""));
        }
        let Some(t) = parse_clock(&r.time) else {
            return Err(fail(
                "release.time",
                format!("\"{}\"", r.time),
                "a time of day written HH:MM, from 00:00 to 23:59",
            ));
        };
        if r.every_days == 0 || r.every_days > 366 {
            return Err(fail("release.every_days", r.every_days, "from 1 to 366 days"));
        }
        if i64::from(r.jitter_minutes) * 60 + t > 86_400 {
            return Err(fail(
                "release.jitter_minutes",
                r.jitter_minutes,
                &format!("at most {} minutes, so that the release stays within its day", (86_400 - t) / 60),
            ));
        }
        if r.horizon_days == 0 || r.horizon_days > 3 * 366 {
            return Err(fail("release.horizon_days", r.horizon_days, "from 1 to 1098 days"));
        }
        if r.min_lead_days > r.horizon_days {
            return Err(fail(
                "release.min_lead_days",
                r.min_lead_days,
                &format!("at most release.horizon_days ({})", r.horizon_days),
            ));
        }

        // Demand.
        let d = &self.demand;
        non_negative("demand.arrivals_per_day", d.arrivals_per_day)?;
        if d.arrivals_per_day > 1e6 {
            return Err(fail("demand.arrivals_per_day", d.arrivals_per_day, "at most 1000000 per day"));
        }
        weights("demand.weekday_weights", &d.weekday_weights, 7, "Monday to Sunday")?;
        weights("demand.party_size_weights", &d.party_size_weights, 5, "for parties of 1 to 5 people")?;
        if d.initial_backlog > 10_000_000 {
            return Err(fail("demand.initial_backlog", d.initial_backlog, "at most 10000000 parties"));
        }
        if d.need_by_days.min > d.need_by_days.max {
            return Err(fail(
                "demand.need_by_days",
                format!("min {} > max {}", d.need_by_days.min, d.need_by_days.max),
                "min ≤ max",
            ));
        }
        // The need-by index keeps a bucket per need-by day: a bound keeps it in memory.
        if d.need_by_days.max > 20 * 366 {
            return Err(fail(
                "demand.need_by_days",
                format!("max {}", d.need_by_days.max),
                "at most 7320 days (20 years)",
            ));
        }
        non_negative("demand.patience_days", d.patience_days)?;
        for (i, b) in d.burst.iter().enumerate() {
            if parse_datetime(&b.at.0).is_none() {
                return Err(fail(
                    &format!("demand.burst.{i}.at"),
                    format!("\"{}\"", b.at.0),
                    "a date and time written YYYY-MM-DDTHH:MM, e.g. \"2021-09-01T00:00\"",
                ));
            }
            non_negative(&format!("demand.burst.{i}.extra"), b.extra)?;
            positive(&format!("demand.burst.{i}.decay_days"), b.decay_days)?;
            // Arrivals are drawn against each day's peak rate: an unbounded peak never ends.
            if b.extra / b.decay_days > 1e7 {
                return Err(fail(
                    &format!("demand.burst.{i}.extra"),
                    format!("{:e} with decay_days = {:e}", b.extra, b.decay_days),
                    "a peak rate extra / decay_days of at most 10000000 parties a day",
                ));
            }
        }

        // Behaviour.
        let b = &self.behaviour;
        non_negative("behaviour.human_checks_per_day", b.human_checks_per_day)?;
        probability("behaviour.watch_release_prob", b.watch_release_prob)?;
        positive("behaviour.watch_delay_minutes", b.watch_delay_minutes)?;
        probability("behaviour.bot_share", b.bot_share)?;
        positive("behaviour.bot_check_interval_seconds", b.bot_check_interval_seconds)?;
        probability("behaviour.confirm_prob", b.confirm_prob)?;
        probability("behaviour.bot_confirm_prob", b.bot_confirm_prob)?;
        non_negative("behaviour.confirm_delay_hours", b.confirm_delay_hours)?;
        non_negative("behaviour.cancel_per_day", b.cancel_per_day)?;
        probability("behaviour.show_prob", b.show_prob)?;
        probability("behaviour.docs_ok_prob", b.docs_ok_prob)?;
        probability("behaviour.rebook_prob", b.rebook_prob)?;
        if b.processing_days.min > b.processing_days.max {
            return Err(fail(
                "behaviour.processing_days",
                format!("min {} > max {}", b.processing_days.min, b.processing_days.max),
                "min ≤ max",
            ));
        }
        if b.processing_days.max > 10 * 366 {
            return Err(fail(
                "behaviour.processing_days",
                format!("max {}", b.processing_days.max),
                "at most 3660 days",
            ));
        }

        // Confirmation.
        let c = &self.confirmation;
        if c.enabled && c.window_days == 0 {
            return Err(fail("confirmation.window_days", 0, "at least 1 day when confirmation is enabled"));
        }
        if c.lead_days > 366 {
            return Err(fail("confirmation.lead_days", c.lead_days, "from 0 to 366 days"));
        }

        // Allocation.
        // The policy's name was checked when the file was read (`PolicyName`).
        let a = &self.allocation;
        if a.lottery_every_days == 0 || a.lottery_every_days > 366 {
            return Err(fail("allocation.lottery_every_days", a.lottery_every_days, "from 1 to 366 days"));
        }
        probability("allocation.bot_detection_prob", a.bot_detection_prob)?;
        if !(1..=5).contains(&a.max_party) {
            return Err(fail(
                "allocation.max_party",
                a.max_party,
                "from 1 to 5 people (a family booking covers at most 5)",
            ));
        }
        probability("allocation.urgent_share", a.urgent_share)?;
        if a.urgent_within_days > 3660 {
            return Err(fail("allocation.urgent_within_days", a.urgent_within_days, "from 0 to 3660 days"));
        }
        if a.urgent_open_days > 3 * 366 {
            return Err(fail("allocation.urgent_open_days", a.urgent_open_days, "from 0 to 1098 days"));
        }
        if !(a.overbook_share.is_finite() && (0.0..=1.0).contains(&a.overbook_share)) {
            return Err(fail(
                "allocation.overbook_share",
                a.overbook_share,
                "a share from 0 to 1 (1 books each band twice over)",
            ));
        }

        // Legacy.
        let l = &self.legacy;
        let from = date("legacy.received_from", &l.received_from.0)?;
        let until = date("legacy.received_until", &l.received_until.0)?;
        if until < from {
            return Err(fail(
                "legacy.received_until",
                format!("\"{}\"", l.received_until.0),
                &format!("a date on or after legacy.received_from (\"{}\")", l.received_from.0),
            ));
        }
        // Records keep instants in 32 bits (68 years): receipts stay within 20 years of the start.
        for (field, day, text) in
            [("legacy.received_from", from, &l.received_from.0), ("legacy.received_until", until, &l.received_until.0)]
        {
            if (day - start).abs() > 20 * 366 {
                return Err(fail(field, format!("\"{text}\""), "a date within 20 years (7320 days) of start"));
            }
        }
        if l.requests > 10_000_000 {
            return Err(fail("legacy.requests", l.requests, "at most 10000000"));
        }
        if l.requests > 0 && l.quota_per_day > 0 && l.quota_per_day < self.allocation.max_party.min(5) {
            // Allowed, but parties larger than the quota would block the queue for ever.
            let largest =
                d.party_size_weights.iter().rposition(|w| *w > 0.0).map_or(1, |i| i as u32 + 1).min(a.max_party);
            if largest > l.quota_per_day {
                return Err(fail(
                    "legacy.quota_per_day",
                    l.quota_per_day,
                    &format!(
                        "at least the largest party size ({largest}), or the queue would stop at the first such party"
                    ),
                ));
            }
        }

        // Pre-existing.
        if self.preexisting.bookings > 10_000_000 {
            return Err(fail("preexisting.bookings", self.preexisting.bookings, "at most 10000000"));
        }
        if self.preexisting.bookings > 0 && self.preexisting.over_days == 0 {
            return Err(fail("preexisting.over_days", 0, "at least 1 day when there are pre-existing bookings"));
        }
        self.sweep_replications()?;
        Ok(())
    }
}
