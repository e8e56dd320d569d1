//! Calendar dates and clock times as the scenario writes them.

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01, as `YYYY-MM-DD`.
pub fn civil_from_days(z: i64) -> String {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Parses `YYYY-MM-DD` into days since 1970-01-01.
pub fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: i64 = s[0..4].parse().ok()?;
    let m: u32 = s[5..7].parse().ok()?;
    let d: u32 = s[8..10].parse().ok()?;
    let month_days = [31, if is_leap(y) { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&m) || d == 0 || d > month_days[m as usize - 1] {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// Parses `HH:MM` into seconds after midnight (00:00 to 23:59).
pub fn parse_clock(s: &str) -> Option<i64> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * 3600 + m * 60)
}

/// Parses `YYYY-MM-DDTHH:MM` (or a space for `T`, or a bare date) into seconds since
/// 1970-01-01 00:00.
pub fn parse_datetime(s: &str) -> Option<i64> {
    if s.len() == 10 {
        return parse_date(s).map(|d| d * 86_400);
    }
    let (date, clock) = s.split_at_checked(10)?;
    let clock = clock.strip_prefix('T').or_else(|| clock.strip_prefix(' '))?;
    let clock = clock.strip_suffix(":00").filter(|c| c.len() == 5).unwrap_or(clock);
    Some(parse_date(date)? * 86_400 + parse_clock(clock)?)
}

/// Day of the week, 0 = Monday, of a day count since 1970-01-01 (a Thursday).
pub fn weekday(days: i64) -> usize {
    (days + 3).rem_euclid(7) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_reject_nonsense() {
        for s in ["2021-06-14", "2000-02-29", "1999-12-31", "2024-03-01"] {
            assert_eq!(civil_from_days(parse_date(s).unwrap()), s);
        }
        for s in ["2021-02-29", "2021-13-01", "2021-6-14", "14/06/2021", "2021-06-00"] {
            assert_eq!(parse_date(s), None, "{s}");
        }
        assert_eq!(weekday(parse_date("2021-06-14").unwrap()), 0, "14 June 2021 was a Monday");
    }

    #[test]
    fn clocks_and_datetimes() {
        assert_eq!(parse_clock("09:30"), Some(9 * 3600 + 1800));
        assert_eq!(parse_clock("24:00"), None);
        assert_eq!(parse_clock("9:30"), None);
        let t = parse_datetime("2021-09-01T06:00").unwrap();
        assert_eq!(t, parse_date("2021-09-01").unwrap() * 86_400 + 6 * 3600);
        assert_eq!(parse_datetime("2021-09-01 06:00:00"), Some(t));
        assert_eq!(parse_datetime("2021-09-01T6:00"), None);
    }
}
