//! Simulation time: whole seconds since 00:00 of the scenario's first day.
//!
//! Time is an `i64` so that instants before the start (legacy e-mail requests received
//! before the portal opened) are representable. There is no floating-point clock: float
//! durations drawn from distributions are rounded to whole seconds once, when scheduled.

/// Seconds since 00:00 of the first simulated day (negative before it).
pub type Time = i64;

/// One minute in simulation time.
pub const MINUTE: Time = 60;
/// One hour in simulation time.
pub const HOUR: Time = 3_600;
/// One day in simulation time.
pub const DAY: Time = 86_400;

/// An instant in 32 bits, for records and indexes with an entry per party or booking:
/// seconds since 00:00 of the first day, enough for 68 years either side (validation
/// keeps runs, need-by dates, legacy receipts and processing within 40 years).
pub type Stamp = i32;

/// `t` in 32 bits (debug builds check that it fits).
pub fn stamp(t: Time) -> Stamp {
    debug_assert!(Stamp::try_from(t).is_ok(), "instant {t} does not fit in 32 bits");
    t as Stamp
}

/// The run day (0 = first day) that contains `t`; negative before the start.
pub fn day_of(t: Time) -> i64 {
    t.div_euclid(DAY)
}

/// 00:00 of run day `day`.
pub fn day_start(day: i64) -> Time {
    day * DAY
}

/// Rounds a non-negative duration in seconds to whole seconds, saturating far in the future.
pub fn seconds(duration: f64) -> Time {
    if !duration.is_finite() || duration >= 1e15 {
        Time::MAX / 4
    } else {
        // Half up, as `round` does for non-negative values, without the library call
        // `round` costs on baseline x86-64 (the cast truncates).
        (duration.max(0.0) + 0.5) as Time
    }
}

/// Converts a time or duration to days, for reporting.
pub fn to_days(t: Time) -> f64 {
    t as f64 / DAY as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_of_handles_negative_times() {
        assert_eq!(day_of(0), 0);
        assert_eq!(day_of(DAY - 1), 0);
        assert_eq!(day_of(DAY), 1);
        assert_eq!(day_of(-1), -1);
        assert_eq!(day_of(-DAY), -1);
        assert_eq!(day_of(-DAY - 1), -2);
    }

    #[test]
    fn seconds_rounds_and_saturates() {
        assert_eq!(seconds(1.4), 1);
        assert_eq!(seconds(1.6), 2);
        assert_eq!(seconds(-3.0), 0);
        assert!(seconds(f64::INFINITY) > 1_000_000 * DAY);
    }
}
