//! What was observed of a desk, for `calibrate`: the observations file (`--observed`)
//! read into [`Observations`], and `--observe METRIC=VALUE±SE` summary figures read into
//! [`SummaryObservation`]. Both read text; the command line reads the file.
//!
//! The file is CSV in one of two layouts, told apart by the header:
//!
//! - wide: `date` and any of the daily table's [`Column`]s, one row per observed day; an
//!   empty cell is not observed, and `none` in `first_free_day` means no slot was bookable;
//! - long: `date,metric,value`, optionally with `lower,upper` (both, in either order) for a
//!   value known only within bounds (an empty bound is open); a row gives a value or
//!   bounds, never both, and a row with neither is not observed.
//!
//! Dates are `YYYY-MM-DD` within the run; cells are trimmed and may be quoted as a
//! spreadsheet writes them; blank lines and lines starting with `#` are skipped.
//!
//! ```
//! use slotsim::scenario::dates::parse_date;
//! use slotsim::stats::observed::{self, Column, Reading};
//!
//! let start = parse_date("2021-06-14").unwrap();
//! let text = "date,metric,value,lower,upper\n\
//!             2021-06-20,first_free_day,,90,\n\
//!             2021-06-15,waiting,412,,\n";
//! let obs = observed::parse(text, "obs.csv", start, 90).unwrap();
//! assert_eq!(obs.columns(), [Column::Waiting, Column::FirstFreeDay]);
//! assert_eq!(obs.entries[0].day, 1);
//! assert_eq!(obs.entries[1].reading, Reading::Between { lower: Some(90.0), upper: None });
//! assert_eq!(obs.last_day(), Some(6));
//!
//! let err = observed::parse("date,waiting\n2021-06-15,-3\n", "obs.csv", start, 90).unwrap_err();
//! assert_eq!((err.line, err.column.as_deref()), (Some(2), Some("waiting")));
//! assert_eq!(err.message, "waiting cannot be negative (got -3): every observed column is 0 or more");
//!
//! let figure: observed::SummaryObservation = "no_slot_share=0.441±0.004".parse().unwrap();
//! assert_eq!((figure.metric, figure.value, figure.se), ("no_slot_share", 0.441, 0.004));
//! ```

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use super::metrics;
use crate::model::DailyRow;
use crate::scenario::dates::{civil_from_days, parse_date};

/// A numeric column of the daily table that can be observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Column {
    /// Slots made bookable on the day.
    Released,
    /// Bookings made on the day.
    Booked,
    /// Slots freed by cancellations on the day.
    Freed,
    /// The day's own slots that went unused.
    Wasted,
    /// Parties looking at the end of the day.
    Waiting,
    /// Days ahead of the earliest bookable slot at the end of the day.
    FirstFreeDay,
    /// The day's first-service slots under the capacity plan (0 when closed).
    Capacity,
    /// The share of the day during which no slot was bookable.
    NoSlotShare,
}

impl Column {
    /// Every column, in the daily table's order (the order of [`Observations::entries`]).
    pub const ALL: [Column; 8] = [
        Column::Released,
        Column::Booked,
        Column::Freed,
        Column::Wasted,
        Column::Waiting,
        Column::FirstFreeDay,
        Column::Capacity,
        Column::NoSlotShare,
    ];

    /// The column's name in the daily table.
    pub fn name(self) -> &'static str {
        match self {
            Column::Released => "released",
            Column::Booked => "booked",
            Column::Freed => "freed",
            Column::Wasted => "wasted",
            Column::Waiting => "waiting",
            Column::FirstFreeDay => "first_free_day",
            Column::Capacity => "capacity",
            Column::NoSlotShare => "no_slot_share",
        }
    }

    /// The column named `name` (exactly, as [`Column::name`] spells it), if any.
    pub fn parse(name: &str) -> Option<Column> {
        Column::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The value of this column in a simulated day; `None` for `first_free_day` when no
    /// slot was bookable.
    pub fn value(self, row: &DailyRow) -> Option<f64> {
        let count = |n: u64| Some(n as f64);
        match self {
            Column::Released => count(row.released),
            Column::Booked => count(row.booked),
            Column::Freed => count(row.freed),
            Column::Wasted => count(row.wasted),
            Column::Waiting => count(row.waiting),
            Column::FirstFreeDay => row.first_free_day.map(f64::from),
            Column::Capacity => count(row.capacity),
            Column::NoSlotShare => Some(row.no_slot_share()),
        }
    }

    /// The largest value the column can take, if bounded (a share is at most 1).
    fn upper_limit(self) -> Option<f64> {
        (self == Column::NoSlotShare).then_some(1.0)
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What was observed of one column on one day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reading {
    /// The value itself.
    Value(f64),
    /// Known only within bounds, either of which may be open (not both): a published wait
    /// rounded to 15-day steps (`lower` 30, `upper` 45), "more than 90 days" (`lower` 90).
    Between {
        /// The least the value can be, if bounded below.
        lower: Option<f64>,
        /// The most the value can be, if bounded above.
        upper: Option<f64>,
    },
    /// `none` in `first_free_day`: no slot was bookable.
    NoSlot,
}

impl fmt::Display for Reading {
    /// `412`, `none`, `30..45`, `>=90` or `<=15`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Reading::Value(x) => write!(f, "{x}"),
            Reading::Between { lower: Some(lo), upper: Some(hi) } => write!(f, "{lo}..{hi}"),
            Reading::Between { lower: Some(lo), upper: None } => write!(f, ">={lo}"),
            Reading::Between { lower: None, upper: Some(hi) } => write!(f, "<={hi}"),
            Reading::Between { lower: None, upper: None } => f.write_str("any"),
            Reading::NoSlot => f.write_str("none"),
        }
    }
}

/// What was observed of one column on one day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    /// Run day (0 = the scenario's `start`).
    pub day: u32,
    /// The column observed.
    pub column: Column,
    /// What was seen.
    pub reading: Reading,
    /// The 1-based line of the file that gave it.
    pub line: usize,
}

/// Every observation of a file, sorted by column (in [`Column::ALL`] order), then day.
/// Never empty when returned by [`parse`]; no (column, day) appears twice.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observations {
    /// The observations, sorted by (column, day).
    pub entries: Vec<Observation>,
}

impl Observations {
    /// The latest run day observed: the run must simulate at least this day.
    pub fn last_day(&self) -> Option<u32> {
        self.entries.iter().map(|o| o.day).max()
    }

    /// The columns observed, each once, in [`Column::ALL`] order.
    pub fn columns(&self) -> Vec<Column> {
        let mut columns: Vec<Column> = self.entries.iter().map(|o| o.column).collect();
        columns.dedup();
        columns
    }

    /// The observations of one column, by day.
    pub fn of(&self, column: Column) -> &[Observation] {
        let from = self.entries.partition_point(|o| o.column < column);
        let to = self.entries.partition_point(|o| o.column <= column);
        &self.entries[from..to]
    }

    /// How many observations there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// An observations file that cannot be used: where, what is wrong and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedError {
    /// The file, as named to [`parse`].
    pub file: String,
    /// The 1-based line at fault, if one is.
    pub line: Option<usize>,
    /// The header of the cell at fault, as the file writes it (in a long file `date`,
    /// `metric`, `value`, `lower` or `upper`), if one cell is.
    pub column: Option<String>,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl fmt::Display for ObservedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if let Some(column) = &self.column {
            write!(f, ", column `{column}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ObservedError {}

/// The header of a long file.
const LONG_NAMES: [&str; 5] = ["date", "metric", "value", "lower", "upper"];

/// Where a file's cells are, by layout.
enum Layout {
    /// `date` and columns: (cell index, column).
    Wide { date: usize, columns: Vec<(usize, Column)> },
    /// `date,metric,value[,lower,upper]`: cell indices.
    Long { date: usize, metric: usize, value: usize, bounds: Option<(usize, usize)> },
}

impl Layout {
    /// Reads a header's (trimmed) cells; an error names the header cell at fault.
    fn read(names: &[String]) -> Result<Layout, (Option<usize>, String)> {
        let lower: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
        for (i, name) in lower.iter().enumerate() {
            if name.is_empty() {
                return Err((None, format!("cell {} of the header has no name", i + 1)));
            }
            if let Some(first) = lower[..i].iter().position(|n| n == name) {
                return Err((Some(i), format!("the header names `{name}` twice (cells {} and {})", first + 1, i + 1)));
            }
        }
        let find = |name: &str| lower.iter().position(|n| n == name);
        let Some(date) = find("date") else {
            return Err((
                None,
                "the header has no `date` column: write `date,<column>,...` (one row per day) or \
                 `date,metric,value` (one row per observation)"
                    .to_string(),
            ));
        };
        if let Some(metric) = find("metric") {
            if let Some(i) = lower.iter().position(|n| !LONG_NAMES.contains(&n.as_str())) {
                let hint = if Column::parse(&lower[i]).is_some() {
                    " (in a long file, the daily columns' names go in the `metric` cells)"
                } else {
                    ""
                };
                return Err((
                    Some(i),
                    format!(
                        "unknown column `{}` in a long file's header, which has date, metric, value and \
                         optionally lower and upper{hint}",
                        names[i]
                    ),
                ));
            }
            let Some(value) = find("value") else {
                return Err((Some(metric), "a long file's header needs a `value` column: date,metric,value".into()));
            };
            let bounds = match (find("lower"), find("upper")) {
                (Some(lo), Some(hi)) => Some((lo, hi)),
                (None, None) => None,
                (Some(i), None) | (None, Some(i)) => {
                    return Err((
                        Some(i),
                        format!(
                            "`{}` without its pair: give both `lower` and `upper` (an empty cell leaves \
                             that side open)",
                            lower[i]
                        ),
                    ));
                }
            };
            return Ok(Layout::Long { date, metric, value, bounds });
        }
        let mut columns = Vec::new();
        for (i, name) in lower.iter().enumerate() {
            if i == date {
                continue;
            }
            let Some(column) = Column::parse(name) else {
                let hint = if LONG_NAMES.contains(&name.as_str()) {
                    "; a long file's header is date,metric,value (optionally with lower,upper)"
                } else {
                    ""
                };
                return Err((
                    Some(i),
                    format!("unknown column `{}`; the columns are: {}{hint}", names[i], column_list()),
                ));
            };
            columns.push((i, column));
        }
        if columns.is_empty() {
            return Err((None, format!("the header names no column besides `date`: name some of {}", column_list())));
        }
        Ok(Layout::Wide { date, columns })
    }

    fn date(&self) -> usize {
        match *self {
            Layout::Wide { date, .. } | Layout::Long { date, .. } => date,
        }
    }
}

/// `released, booked, ...`: the names of the observable columns.
fn column_list() -> String {
    Column::ALL.map(Column::name).join(", ")
}

/// Parses an observations file's text.
///
/// `file` names it in messages; `start_day` is the scenario's first day (days since
/// 1970-01-01, as [`parse_date`] gives); `days` the run's length. The entries come sorted
/// by column (in [`Column::ALL`] order), then by day.
///
/// # Errors
///
/// An [`ObservedError`] naming the line and the header of the cell at fault, saying what
/// is wrong and what is allowed: a header that names an unknown column, a column twice, or
/// no `date`; a row with more or fewer cells than the header; a date that does not parse
/// or lies outside the run; a (date, column) given twice; a cell that is not a finite
/// number (or `none` in `first_free_day`); a negative value, or a share above 1; bounds
/// with the lower above the upper, or given with a value; a file with no observation.
pub fn parse(text: &str, file: &str, start_day: i64, days: u32) -> Result<Observations, ObservedError> {
    let run = Run { start_day, days };
    let error = |line: Option<usize>, column: Option<&str>, message: String| ObservedError {
        file: file.to_string(),
        line,
        column: column.map(str::to_string),
        message,
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l)).filter(|(_, l)| {
        let l = l.trim();
        !l.is_empty() && !l.starts_with('#')
    });
    let Some((header_line, header)) = lines.next() else {
        return Err(error(
            None,
            None,
            "the file has no header and no observation: its first line is `date,<column>,...` \
             (one row per day) or `date,metric,value` (one row per observation)"
                .to_string(),
        ));
    };
    let names = split_cells(header).map_err(|(_, message)| error(Some(header_line), None, message))?;
    let layout = Layout::read(&names)
        .map_err(|(cell, message)| error(Some(header_line), cell.map(|i| names[i].as_str()), message))?;

    let mut entries: Vec<Observation> = Vec::new();
    let mut seen: HashMap<(Column, u32), usize> = HashMap::new();
    for (line, text) in lines {
        let at = |cell: usize, message: String| error(Some(line), Some(&names[cell]), message);
        let cells = split_cells(text).map_err(|(cell, message)| match names.get(cell) {
            Some(_) => at(cell, message),
            None => error(Some(line), None, message),
        })?;
        if cells.iter().all(String::is_empty) {
            // A spreadsheet's empty row (`,,,`).
            continue;
        }
        if cells.len() != names.len() {
            return Err(error(
                Some(line),
                None,
                format!(
                    "{} cells where the header (line {header_line}) has {}: every row has a cell for \
                     each column, empty when not observed",
                    cells.len(),
                    names.len()
                ),
            ));
        }
        let date = layout.date();
        let day = run.day(&cells[date]).map_err(|message| at(date, message))?;
        let mut found: Vec<(usize, Column, Reading)> = Vec::new();
        match &layout {
            Layout::Wide { columns, .. } => {
                for &(cell, column) in columns {
                    if let Some(reading) = value_cell(column, &cells[cell]).map_err(|m| at(cell, m))? {
                        found.push((cell, column, reading));
                    }
                }
            }
            &Layout::Long { metric, value, bounds, .. } => {
                let name = &cells[metric];
                let column = match Column::parse(&name.to_ascii_lowercase()) {
                    Some(column) => column,
                    None if name.is_empty() => {
                        return Err(at(metric, format!("no metric: name one of {}", column_list())));
                    }
                    None => {
                        return Err(at(metric, format!("unknown metric `{name}`; the metrics are: {}", column_list())));
                    }
                };
                let given = value_cell(column, &cells[value]).map_err(|m| at(value, m))?;
                let (lower, upper) = match bounds {
                    Some((lo, hi)) => (
                        bound_cell(column, &cells[lo]).map_err(|m| at(lo, m))?,
                        bound_cell(column, &cells[hi]).map_err(|m| at(hi, m))?,
                    ),
                    None => (None, None),
                };
                let reading = match (given, lower, upper) {
                    (Some(_), None, None) => given,
                    (None, None, None) => None,
                    (Some(_), _, _) => {
                        return Err(at(
                            value,
                            format!(
                                "{column} has both a value and bounds: give either a value, or `lower` \
                                 and/or `upper` with the value empty"
                            ),
                        ));
                    }
                    (None, Some(lo), Some(hi)) if lo > hi => {
                        let (lo_cell, _) = bounds.unwrap_or_default();
                        return Err(at(
                            lo_cell,
                            format!("{column}: the lower bound {lo} is above the upper bound {hi}"),
                        ));
                    }
                    (None, lower, upper) => Some(Reading::Between { lower, upper }),
                };
                if let Some(reading) = reading {
                    found.push((value, column, reading));
                }
            }
        }
        for (cell, column, reading) in found {
            if let Some(first) = seen.insert((column, day), line) {
                let date = civil_from_days(start_day + i64::from(day));
                return Err(at(cell, format!("{column} on {date} is given twice: first on line {first}")));
            }
            entries.push(Observation { day, column, reading, line });
        }
    }
    if entries.is_empty() {
        return Err(error(
            None,
            None,
            "no observation: no row gives a value (a file needs at least one; an empty cell is not observed)"
                .to_string(),
        ));
    }
    entries.sort_by_key(|o| (o.column, o.day));
    Ok(Observations { entries })
}

/// The run's dates.
struct Run {
    start_day: i64,
    days: u32,
}

impl Run {
    /// The run day of a date cell.
    fn day(&self, cell: &str) -> Result<u32, String> {
        let first = civil_from_days(self.start_day);
        if cell.is_empty() {
            return Err(format!("no date: write YYYY-MM-DD, such as {first} (the run's first day)"));
        }
        let Some(date) = parse_date(cell) else {
            return Err(format!("`{cell}` is not a date: write YYYY-MM-DD, such as {first} (the run's first day)"));
        };
        let day = date - self.start_day;
        match u32::try_from(day) {
            Ok(day) if day < self.days => Ok(day),
            _ if self.days == 0 => Err(format!("{cell} is outside the run, which has no days")),
            _ => Err(format!(
                "{cell} is outside the run, which covers {first} to {} ({} days)",
                civil_from_days(self.start_day + i64::from(self.days) - 1),
                self.days
            )),
        }
    }
}

/// A value cell: `None` when empty (not observed).
fn value_cell(column: Column, cell: &str) -> Result<Option<Reading>, String> {
    if cell.is_empty() {
        return Ok(None);
    }
    if cell.eq_ignore_ascii_case("none") {
        return if column == Column::FirstFreeDay {
            Ok(Some(Reading::NoSlot))
        } else {
            Err(format!(
                "`{cell}` is allowed only in first_free_day (no slot was bookable); a day on which {column} \
                 was not observed has an empty cell"
            ))
        };
    }
    number(column, cell).map(|x| Some(Reading::Value(x)))
}

/// A bound cell: `None` when empty (open).
fn bound_cell(column: Column, cell: &str) -> Result<Option<f64>, String> {
    if cell.is_empty() {
        return Ok(None);
    }
    if cell.eq_ignore_ascii_case("none") {
        return Err(format!(
            "`{cell}` is not a bound: a bound is a number, or empty when that side is open{}",
            if column == Column::FirstFreeDay { " (`none` goes in `value`, with empty bounds)" } else { "" }
        ));
    }
    number(column, cell).map(Some)
}

/// A number that `column` can take.
fn number(column: Column, cell: &str) -> Result<f64, String> {
    let Ok(x) = cell.parse::<f64>() else {
        let hint = if column == Column::NoSlotShare && cell.ends_with('%') {
            " (no_slot_share is a share from 0 to 1: write 0.441, not 44.1%)"
        } else if column == Column::FirstFreeDay {
            " or `none`"
        } else {
            ""
        };
        return Err(format!("`{cell}` is not a number: {column} takes a number{hint}"));
    };
    if !x.is_finite() {
        return Err(format!("`{cell}` is not a finite number: {column} takes a finite number"));
    }
    if x < 0.0 {
        return Err(format!("{column} cannot be negative (got {cell}): every observed column is 0 or more"));
    }
    if let Some(max) = column.upper_limit()
        && x > max
    {
        return Err(format!("{column} is a share of the day, from 0 to {max} (got {cell})"));
    }
    Ok(x)
}

/// Splits a line into its trimmed cells, as a spreadsheet writes CSV: commas between
/// cells; a cell in double quotes may hold commas, and `""` for a quote. An error gives
/// the index of the cell at fault.
fn split_cells(line: &str) -> Result<Vec<String>, (usize, String)> {
    let mut cells = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let n = cells.len();
        let mut cell = String::new();
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next_if_eq(&'"').is_some() {
            loop {
                match chars.next() {
                    Some('"') if chars.next_if_eq(&'"').is_some() => cell.push('"'),
                    Some('"') => break,
                    Some(c) => cell.push(c),
                    None => {
                        return Err((n, format!("cell {} opens a quote that does not close on its line", n + 1)));
                    }
                }
            }
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            if let Some(c) = chars.next_if(|&c| c != ',') {
                return Err((
                    n,
                    format!("cell {} has `{c}` after its closing quote: a quoted cell ends at its quote", n + 1),
                ));
            }
        } else {
            while let Some(c) = chars.next_if(|&c| c != ',') {
                cell.push(c);
            }
        }
        cells.push(cell.trim().to_string());
        if chars.next().is_none() {
            return Ok(cells);
        }
    }
}

/// `--observe METRIC=VALUE±SE`: a summary metric (of the registry,
/// [`metrics::METRICS`]) observed over the run, with its standard error. `+-` and `+/-`
/// stand for `±`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SummaryObservation {
    /// The metric's name in the registry.
    pub metric: &'static str,
    /// What was observed.
    pub value: f64,
    /// Its standard error, positive.
    pub se: f64,
}

impl fmt::Display for SummaryObservation {
    /// `METRIC=VALUE±SE`, which parses back to the same.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}±{}", self.metric, self.value, self.se)
    }
}

impl FromStr for SummaryObservation {
    type Err = String;

    /// # Errors
    ///
    /// A message quoting the argument: no `=`; an unknown metric (listing the registry's);
    /// no `±SE`; a value that is not a finite number; a standard error that is not a
    /// positive finite number.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const FORM: &str = "write METRIC=VALUE±SE (or +- or +/- for ±), such as no_slot_share=0.441±0.004";
        let Some((name, figure)) = s.split_once('=') else {
            return Err(format!("`{s}` has no `=`: {FORM}"));
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(format!("`{s}` names no metric: {FORM}"));
        }
        let metric = metrics::lookup(name).map_err(|e| format!("`{s}`: {e}"))?;
        let Some((value, se)) = ["±", "+/-", "+-"].into_iter().find_map(|pm| figure.split_once(pm)) else {
            return Err(format!("`{s}` gives no standard error: {FORM}"));
        };
        let (value, se) = (value.trim(), se.trim());
        let value = match value.parse::<f64>() {
            Ok(x) if x.is_finite() => x,
            _ => return Err(format!("`{s}`: the value `{value}` is not a finite number; {FORM}")),
        };
        let se = match se.parse::<f64>() {
            Ok(x) if x > 0.0 && x.is_finite() => x,
            _ => return Err(format!("`{s}`: the standard error `{se}` is not a positive finite number; {FORM}")),
        };
        Ok(Self { metric: metric.name, value, se })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "obs.csv";

    /// The run of the tests: 90 days from 2021-06-14 (a Monday), so its last day is
    /// 2021-09-11.
    fn start() -> i64 {
        parse_date("2021-06-14").unwrap()
    }

    fn read(text: &str) -> Observations {
        parse(text, FILE, start(), 90).unwrap_or_else(|e| panic!("{e}"))
    }

    fn fails(text: &str) -> ObservedError {
        match parse(text, FILE, start(), 90) {
            Ok(obs) => panic!("parsed, as {obs:?}:\n{text}"),
            Err(e) => e,
        }
    }

    /// (day, column, reading, line) of every entry, for comparisons.
    fn flat(obs: &Observations) -> Vec<(u32, Column, Reading, usize)> {
        obs.entries.iter().map(|o| (o.day, o.column, o.reading, o.line)).collect()
    }

    /// Checks where an error points and that its message says `fragment`.
    #[track_caller]
    fn assert_error(text: &str, line: Option<usize>, column: Option<&str>, fragment: &str) {
        let e = fails(text);
        assert_eq!((e.line, e.column.as_deref()), (line, column), "{e}\n{text}");
        assert!(e.message.contains(fragment), "message `{}` lacks `{fragment}`", e.message);
        let mut prefix = FILE.to_string();
        if let Some(line) = line {
            prefix += &format!(", line {line}");
        }
        if let Some(column) = column {
            prefix += &format!(", column `{column}`");
        }
        assert_eq!(e.to_string(), format!("{prefix}: {}", e.message));
    }

    #[test]
    fn column_names_parse_back_in_table_order() {
        let names: Vec<&str> = Column::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(
            names,
            ["released", "booked", "freed", "wasted", "waiting", "first_free_day", "capacity", "no_slot_share"]
        );
        for c in Column::ALL {
            assert_eq!(Column::parse(c.name()), Some(c));
            assert_eq!(c.to_string(), c.name());
        }
        assert!(Column::ALL.windows(2).all(|w| w[0] < w[1]), "ALL is in the order entries sort by");
        assert_eq!(Column::parse("date"), None);
        assert_eq!(Column::parse("Waiting"), None, "exact names only");
    }

    #[test]
    fn column_value_reads_each_field_of_a_daily_row() {
        let row = DailyRow {
            day: 3,
            released: 11,
            booked: 12,
            freed: 13,
            wasted: 14,
            waiting: 15,
            first_free_day: Some(16),
            capacity: 17,
            no_slot_seconds: 21_600,
        };
        let values: Vec<Option<f64>> = Column::ALL.iter().map(|c| c.value(&row)).collect();
        assert_eq!(
            values,
            [Some(11.0), Some(12.0), Some(13.0), Some(14.0), Some(15.0), Some(16.0), Some(17.0), Some(0.25)]
        );
        let none = DailyRow { first_free_day: None, no_slot_seconds: 86_400, ..row };
        assert_eq!(Column::FirstFreeDay.value(&none), None);
        assert_eq!(Column::NoSlotShare.value(&none), Some(1.0));
    }

    #[test]
    fn wide_file_reads_values_none_and_empty_cells() {
        let obs = read(
            "date,waiting,first_free_day,no_slot_share\n\
             2021-06-14,400,30,0.25\n\
             2021-06-16,,none,\n\
             2021-06-15,410.5,NONE,1\n",
        );
        assert_eq!(
            flat(&obs),
            [
                (0, Column::Waiting, Reading::Value(400.0), 2),
                (1, Column::Waiting, Reading::Value(410.5), 4),
                (0, Column::FirstFreeDay, Reading::Value(30.0), 2),
                (1, Column::FirstFreeDay, Reading::NoSlot, 4),
                (2, Column::FirstFreeDay, Reading::NoSlot, 3),
                (0, Column::NoSlotShare, Reading::Value(0.25), 2),
                (1, Column::NoSlotShare, Reading::Value(1.0), 4),
            ]
        );
        assert_eq!(obs.columns(), [Column::Waiting, Column::FirstFreeDay, Column::NoSlotShare]);
    }

    #[test]
    fn wide_header_in_any_order_and_case() {
        let obs = read("Capacity, DATE ,released\n0,2021-06-20,5\n");
        assert_eq!(
            flat(&obs),
            [(6, Column::Released, Reading::Value(5.0), 2), (6, Column::Capacity, Reading::Value(0.0), 2)]
        );
        let every = format!("date,{}\n2021-06-14,1,2,3,4,5,6,7,0.5\n", column_list().replace(", ", ","));
        assert_eq!(read(&every).columns(), Column::ALL);
    }

    #[test]
    fn long_file_reads_values_bounds_and_none() {
        let obs = read(
            "date,metric,value,lower,upper\n\
             2021-06-20,first_free_day,,30,45\n\
             2021-06-21,first_free_day,,90,\n\
             2021-06-22,first_free_day,,,15\n\
             2021-06-23,first_free_day,none,,\n\
             2021-06-14,Waiting,412,,\n\
             2021-06-20,no_slot_share,,0.4,0.4\n",
        );
        assert_eq!(
            flat(&obs),
            [
                (0, Column::Waiting, Reading::Value(412.0), 6),
                (6, Column::FirstFreeDay, Reading::Between { lower: Some(30.0), upper: Some(45.0) }, 2),
                (7, Column::FirstFreeDay, Reading::Between { lower: Some(90.0), upper: None }, 3),
                (8, Column::FirstFreeDay, Reading::Between { lower: None, upper: Some(15.0) }, 4),
                (9, Column::FirstFreeDay, Reading::NoSlot, 5),
                (6, Column::NoSlotShare, Reading::Between { lower: Some(0.4), upper: Some(0.4) }, 7),
            ]
        );
    }

    #[test]
    fn long_file_without_bounds_and_with_bounds_in_either_order() {
        let plain = read("date,metric,value\n2021-06-15,booked,80\n2021-06-14,booked,75\n");
        assert_eq!(
            flat(&plain),
            [(0, Column::Booked, Reading::Value(75.0), 3), (1, Column::Booked, Reading::Value(80.0), 2)]
        );
        let swapped = read("metric,upper,date,lower,value\nfirst_free_day,45,2021-06-20,30,\n");
        assert_eq!(
            flat(&swapped),
            [(6, Column::FirstFreeDay, Reading::Between { lower: Some(30.0), upper: Some(45.0) }, 2)]
        );
    }

    #[test]
    fn long_rows_with_neither_value_nor_bounds_are_not_observed() {
        let obs = read("date,metric,value,lower,upper\n2021-06-15,waiting,,,\n2021-06-16,waiting,5,,\n");
        assert_eq!(flat(&obs), [(2, Column::Waiting, Reading::Value(5.0), 3)]);
        // An empty row still names a valid date and metric, and is no duplicate.
        let obs = read("date,metric,value\n2021-06-16,waiting,\n2021-06-16,waiting,5\n");
        assert_eq!(flat(&obs), [(2, Column::Waiting, Reading::Value(5.0), 3)]);
        assert_error("date,metric,value\n2021-06-16,queue,\n", Some(2), Some("metric"), "unknown metric `queue`");
    }

    #[test]
    fn dates_map_to_run_days_across_months_and_the_run_ends() {
        let obs = read("date,waiting\n2021-09-11,3\n2021-06-14,1\n2021-07-01,2\n");
        assert_eq!(obs.of(Column::Waiting).iter().map(|o| o.day).collect::<Vec<_>>(), [0, 17, 89]);
        // A run of one day holds its start only; a leap day counts.
        let leap = parse("date,booked\n2024-03-01,1\n", FILE, parse_date("2024-02-28").unwrap(), 3).unwrap();
        assert_eq!(leap.entries[0].day, 2);
        let one = parse("date,booked\n2021-06-14,1\n", FILE, start(), 1).unwrap();
        assert_eq!(one.last_day(), Some(0));
        let e = parse("date,booked\n2021-06-14,1\n", FILE, start(), 0).unwrap_err();
        assert!(e.message.contains("which has no days"), "{e}");
    }

    #[test]
    fn entries_sort_by_column_then_day_and_summaries_follow() {
        let obs = read(
            "date,metric,value\n\
             2021-06-30,capacity,20\n\
             2021-06-20,released,5\n\
             2021-06-16,capacity,20\n\
             2021-06-25,released,7\n\
             2021-06-15,released,9\n",
        );
        let order: Vec<(Column, u32)> = obs.entries.iter().map(|o| (o.column, o.day)).collect();
        assert_eq!(
            order,
            [
                (Column::Released, 1),
                (Column::Released, 6),
                (Column::Released, 11),
                (Column::Capacity, 2),
                (Column::Capacity, 16)
            ]
        );
        assert_eq!(obs.last_day(), Some(16));
        assert_eq!(obs.columns(), [Column::Released, Column::Capacity]);
        assert_eq!((obs.len(), obs.is_empty()), (5, false));
        assert_eq!(obs.of(Column::Capacity).iter().map(|o| o.line).collect::<Vec<_>>(), [4, 2]);
        assert!(obs.of(Column::Waiting).is_empty());
        let none = Observations::default();
        assert_eq!((none.last_day(), none.columns(), none.is_empty()), (None, vec![], true));
    }

    #[test]
    fn comments_blank_lines_quotes_bom_and_crlf() {
        let text = "\u{feff}# Published by the desk\r\n\
                    \r\n\
                    \"date\",\"waiting\",first_free_day\r\n\
                    # a comment between rows\r\n\
                    \x20 # an indented comment\r\n\
                    \"2021-06-14\" , \" 1200 \",\"none\"\r\n\
                    ,,\r\n\
                    2021-06-15,\"1,250\",\r\n";
        // A quoted cell keeps its comma, which then is no number.
        let e = fails(text);
        assert_eq!((e.line, e.column.as_deref()), (Some(8), Some("waiting")), "{e}");
        assert!(e.message.contains("`1,250` is not a number"), "{e}");
        let obs = read(&text.replace("\"1,250\"", "\"1250\""));
        assert_eq!(
            flat(&obs),
            [
                (0, Column::Waiting, Reading::Value(1200.0), 6),
                (1, Column::Waiting, Reading::Value(1250.0), 8),
                (0, Column::FirstFreeDay, Reading::NoSlot, 6),
            ]
        );
        assert_eq!(split_cells(r#"a,"say ""none""",,"x,y""#).unwrap(), ["a", "say \"none\"", "", "x,y"]);
    }

    #[test]
    fn header_errors_name_the_header_cell() {
        assert_error(
            "date,waiting,queue\n2021-06-14,1,2\n",
            Some(1),
            Some("queue"),
            concat!(
                "unknown column `queue`; the columns are: ",
                "released, booked, freed, wasted, waiting, first_free_day, capacity, no_slot_share"
            ),
        );
        assert_error("date,value\n2021-06-14,1\n", Some(1), Some("value"), "a long file's header is date,metric,value");
        assert_error("# observed\nday,waiting\n2021-06-14,1\n", Some(2), None, "no `date` column");
        assert_error(
            "date,waiting,Waiting\n2021-06-14,1,2\n",
            Some(1),
            Some("Waiting"),
            "names `waiting` twice (cells 2 and 3)",
        );
        assert_error("date,waiting,\n2021-06-14,1,\n", Some(1), None, "cell 3 of the header has no name");
        assert_error(
            "date,metric,value,waiting\n",
            Some(1),
            Some("waiting"),
            "in a long file, the daily columns' names go in the `metric` cells",
        );
        assert_error("date,metric,value,lower\n", Some(1), Some("lower"), "give both `lower` and `upper`");
        assert_error("date,metric,lower,upper\n", Some(1), Some("metric"), "needs a `value` column");
        assert_error("date\n2021-06-14\n", Some(1), None, "names no column besides `date`: name some of released, ");
        assert_error("date,\"waiting\n", Some(1), None, "cell 2 opens a quote that does not close");
    }

    #[test]
    fn date_errors_say_what_a_date_is_and_when_the_run_is() {
        assert_error(
            "date,waiting\n14/06/2021,1\n",
            Some(2),
            Some("date"),
            "`14/06/2021` is not a date: write YYYY-MM-DD, such as 2021-06-14",
        );
        assert_error("date,waiting\n2021-02-29,1\n", Some(2), Some("date"), "`2021-02-29` is not a date");
        assert_error("Date,waiting\n,1\n", Some(2), Some("Date"), "no date");
        let outside = "2021-06-13 is outside the run, which covers 2021-06-14 to 2021-09-11 (90 days)";
        assert_error("date,waiting\n2021-06-13,1\n", Some(2), Some("date"), outside);
        assert_error("date,waiting\n2021-09-12,1\n", Some(2), Some("date"), "2021-09-12 is outside the run");
        assert_error("date,metric,value\n1999-01-01,waiting,1\n", Some(2), Some("date"), "1999-01-01 is outside");
    }

    #[test]
    fn duplicates_name_both_lines() {
        assert_error(
            "date,waiting,booked\n2021-06-15,1,\n2021-06-16,2,3\n2021-06-15,,4\n2021-06-15,5,\n",
            Some(5),
            Some("waiting"),
            "waiting on 2021-06-15 is given twice: first on line 2",
        );
        assert_error(
            "date,metric,value,lower,upper\n2021-06-15,first_free_day,none,,\n2021-06-15,first_free_day,,30,\n",
            Some(3),
            Some("value"),
            "first_free_day on 2021-06-15 is given twice: first on line 2",
        );
    }

    #[test]
    fn cell_errors_quote_the_text_and_say_what_is_allowed() {
        assert_error(
            "date,waiting\n2021-06-14,many\n",
            Some(2),
            Some("waiting"),
            "`many` is not a number: waiting takes a number",
        );
        assert_error(
            "date,first_free_day\n2021-06-14,soon\n",
            Some(2),
            Some("first_free_day"),
            "takes a number or `none`",
        );
        assert_error(
            "date,waiting\n2021-06-14,none\n",
            Some(2),
            Some("waiting"),
            "`none` is allowed only in first_free_day",
        );
        assert_error(
            "date,metric,value\n2021-06-14,booked,None\n",
            Some(2),
            Some("value"),
            "`None` is allowed only in first_free_day",
        );
        assert_error("date,booked\n2021-06-14,-1\n", Some(2), Some("booked"), "booked cannot be negative (got -1)");
        assert_error("date,no_slot_share\n2021-06-14,1.2\n", Some(2), Some("no_slot_share"), "from 0 to 1 (got 1.2)");
        assert_error(
            "date,no_slot_share\n2021-06-14,44.1%\n",
            Some(2),
            Some("no_slot_share"),
            "write 0.441, not 44.1%",
        );
        assert_error("date,waiting\n2021-06-14,NaN\n", Some(2), Some("waiting"), "`NaN` is not a finite number");
        assert_error("date,waiting\n2021-06-14,inf\n", Some(2), Some("waiting"), "`inf` is not a finite number");
        assert_error(
            "date,metric,value,lower,upper\n2021-06-14,waiting,,-5,\n",
            Some(2),
            Some("lower"),
            "cannot be negative",
        );
        assert_error(
            "date,metric,value,lower,upper\n2021-06-14,no_slot_share,,,1.5\n",
            Some(2),
            Some("upper"),
            "from 0 to 1",
        );
        assert_error(
            "date,metric,value,lower,upper\n2021-06-14,first_free_day,,none,\n",
            Some(2),
            Some("lower"),
            "`none` goes in `value`",
        );
        assert_error(
            "date,metric,value,lower,upper\n2021-06-14,waiting,,x,\n",
            Some(2),
            Some("lower"),
            "`x` is not a number",
        );
    }

    #[test]
    fn long_row_errors() {
        assert_error(
            "date,metric,value,lower,upper\n2021-06-14,first_free_day,,45,30\n",
            Some(2),
            Some("lower"),
            "first_free_day: the lower bound 45 is above the upper bound 30",
        );
        assert_error(
            "date,metric,value,lower,upper\n2021-06-14,waiting,40,30,\n",
            Some(2),
            Some("value"),
            "waiting has both a value and bounds: give either a value, or `lower` and/or `upper`",
        );
        assert_error(
            "date,metric,value,lower,upper\n2021-06-14,first_free_day,none,,30\n",
            Some(2),
            Some("value"),
            "has both a value and bounds",
        );
        assert_error(
            "date,metric,value\n2021-06-14,,3\n",
            Some(2),
            Some("metric"),
            "no metric: name one of released, ",
        );
        assert_error(
            "date,metric,value\n2021-06-14,lead_days_mean,3\n",
            Some(2),
            Some("metric"),
            "unknown metric `lead_days_mean`; the metrics are: released, booked,",
        );
    }

    #[test]
    fn row_and_file_errors() {
        assert_error("date,waiting,booked\n2021-06-14,1\n", Some(2), None, "2 cells where the header (line 1) has 3");
        assert_error("date,waiting\n2021-06-14,1,2\n", Some(2), None, "3 cells where the header (line 1) has 2");
        assert_error(
            "date,waiting\n2021-06-14,\"1\"x\n",
            Some(2),
            Some("waiting"),
            "cell 2 has `x` after its closing quote",
        );
        assert_error("date,waiting\n2021-06-14,\n2021-06-15,\n", None, None, "no observation");
        assert_error("date,waiting\n", None, None, "no observation");
        assert_error("", None, None, "the file has no header and no observation");
        assert_error("# only a comment\n\n", None, None, "the file has no header");
    }

    #[test]
    fn reading_display() {
        let shown: Vec<String> = [
            Reading::Value(412.0),
            Reading::Value(0.25),
            Reading::NoSlot,
            Reading::Between { lower: Some(30.0), upper: Some(45.0) },
            Reading::Between { lower: Some(90.0), upper: None },
            Reading::Between { lower: None, upper: Some(15.0) },
        ]
        .iter()
        .map(Reading::to_string)
        .collect();
        assert_eq!(shown, ["412", "0.25", "none", "30..45", ">=90", "<=15"]);
    }

    #[test]
    fn summary_observations_parse_with_every_plus_minus() {
        for s in ["no_slot_share=0.441±0.004", " no_slot_share = 0.441 +- 0.004 ", "no_slot_share=0.441+/-0.004"] {
            let o: SummaryObservation = s.parse().unwrap();
            assert_eq!(o, SummaryObservation { metric: "no_slot_share", value: 0.441, se: 0.004 }, "{s}");
            assert_eq!(o.to_string().parse::<SummaryObservation>(), Ok(o));
        }
        let o: SummaryObservation = "lead_days_mean=1e2±5".parse().unwrap();
        assert_eq!((o.metric, o.value, o.se), ("lead_days_mean", 100.0, 5.0));
    }

    #[test]
    fn summary_observation_errors_quote_the_argument() {
        let fails = |s: &str| s.parse::<SummaryObservation>().unwrap_err();
        assert_eq!(
            fails("no_slot_share"),
            "`no_slot_share` has no `=`: write METRIC=VALUE±SE (or +- or +/- for ±), such as no_slot_share=0.441±0.004"
        );
        assert!(fails("=3±1").starts_with("`=3±1` names no metric"));
        let unknown = fails("wait=3±1");
        assert!(
            unknown.starts_with("`wait=3±1`: unknown metric `wait`; the metrics are: arrived, booked, "),
            "{unknown}"
        );
        assert!(unknown.contains("no_slot_share"), "the registry's metrics are listed");
        assert!(fails("no_slot_share=0.441").starts_with("`no_slot_share=0.441` gives no standard error"));
        assert!(fails("no_slot_share=high±0.1").contains("the value `high` is not a finite number"));
        assert!(fails("no_slot_share=inf±0.1").contains("the value `inf` is not a finite number"));
        for se in ["0", "-0.1", "NaN", "inf", "", "a"] {
            let e = fails(&format!("no_slot_share=0.4±{se}"));
            assert!(e.contains(&format!("the standard error `{se}` is not a positive finite number")), "{e}");
        }
    }
}
