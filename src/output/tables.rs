//! Result tables as polars data frames: summary, daily and per-party.

use polars::prelude::*;

use crate::engine::time::to_days;
use crate::model::RunRecord;
use crate::runner::{Plan, Replication, VERSION};
use crate::scenario::dates::civil_from_days;
use crate::stats::Metric;

/// A grid axis's values as one typed column: integers, numbers, or text.
fn grid_column(name: &str, values: Vec<&toml::Value>) -> Column {
    if values.iter().all(|v| v.is_integer()) {
        Column::new(name.into(), values.iter().map(|v| v.as_integer()).collect::<Vec<_>>())
    } else if values.iter().all(|v| v.is_integer() || v.is_float()) {
        Column::new(
            name.into(),
            values.iter().map(|v| v.as_float().or(v.as_integer().map(|i| i as f64))).collect::<Vec<_>>(),
        )
    } else if values.iter().all(|v| v.is_bool()) {
        Column::new(name.into(), values.iter().map(|v| v.as_bool()).collect::<Vec<_>>())
    } else {
        Column::new(name.into(), values.iter().map(|v| crate::scenario::value_text(v)).collect::<Vec<_>>())
    }
}

/// A day count since 1970-01-01 as a date column's value.
fn date_days(days: i64) -> i32 {
    // Scenario dates are four-digit years: far inside ±5.8 million years.
    i32::try_from(days).expect("a date within i32 days of 1970-01-01")
}

/// A column of dates, from day counts since 1970-01-01: polars' `Date`, which Parquet
/// stores as its DATE type and CSV writes as `YYYY-MM-DD`.
fn date_column(name: &str, days: Vec<i32>) -> Column {
    Int32Chunked::from_vec(name.into(), days).into_date().into_series().into()
}

/// Identifying columns of rows: scenario, variant, grid values, seed.
fn key_columns(plan: &Plan, cells: &[usize], seeds: &[u64]) -> Vec<Column> {
    let mut cols = vec![
        Column::new("scenario".into(), vec![plan.scenario.as_str(); cells.len()]),
        Column::new("variant".into(), cells.iter().map(|&c| plan.cells[c].variant.as_str()).collect::<Vec<_>>()),
    ];
    for (axis, path) in plan.grid_paths.iter().enumerate() {
        let values = cells.iter().map(|&c| &plan.cells[c].point.values[axis].1).collect();
        cols.push(grid_column(path, values));
    }
    cols.push(Column::new("seed".into(), seeds.to_vec()));
    cols
}

/// The summary table: one row per replication.
///
/// # Errors
///
/// A polars error building the frame.
pub fn summary_frame(plan: &Plan, rows: &[Replication]) -> PolarsResult<DataFrame> {
    let cells: Vec<usize> = rows.iter().map(|r| r.cell).collect();
    let seeds: Vec<u64> = rows.iter().map(|r| r.seed).collect();
    let mut cols = key_columns(plan, &cells, &seeds);
    cols.push(Column::new(
        "scenario_hash".into(),
        cells.iter().map(|&c| plan.cells[c].hash.as_str()).collect::<Vec<_>>(),
    ));
    cols.push(Column::new("version".into(), vec![VERSION; rows.len()]));
    if plan.posterior().is_some() {
        let draws: Vec<Option<u32>> = rows.iter().map(|r| plan.cells[r.cell].posterior_draw(r.seed)).collect();
        cols.push(Column::new("posterior_draw".into(), draws));
    }
    let metrics: Vec<Vec<(&'static str, Metric)>> = rows.iter().map(|r| r.summary.metrics()).collect();
    let names: Vec<&'static str> = crate::stats::Summary::metric_names();
    for (i, name) in names.iter().enumerate() {
        let column = match metrics.first().map(|m| m[i].1) {
            Some(Metric::Count(_)) | None => Column::new(
                (*name).into(),
                metrics.iter().map(|m| if let Metric::Count(n) = m[i].1 { n } else { 0 }).collect::<Vec<u64>>(),
            ),
            Some(Metric::Real(_)) => Column::new(
                (*name).into(),
                metrics.iter().map(|m| if let Metric::Real(x) = m[i].1 { x } else { None }).collect::<Vec<_>>(),
            ),
            Some(Metric::Day(_)) => Column::new(
                (*name).into(),
                metrics.iter().map(|m| if let Metric::Day(d) = m[i].1 { d } else { None }).collect::<Vec<_>>(),
            ),
        };
        cols.push(column);
    }
    DataFrame::new(rows.len(), cols)
}

/// The daily table: one row per day per replication.
///
/// # Errors
///
/// A polars error building the frame.
pub fn daily_frame(plan: &Plan, rows: &[Replication]) -> PolarsResult<DataFrame> {
    let n: usize = rows.iter().map(|r| r.daily.len()).sum();
    let mut cells = Vec::with_capacity(n);
    let mut seeds = Vec::with_capacity(n);
    let mut date = Vec::with_capacity(n);
    let mut day = Vec::with_capacity(n);
    let (mut released, mut booked, mut freed, mut wasted, mut waiting, mut first_free, mut capacity) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let mut no_slot = Vec::with_capacity(n);
    for r in rows {
        let start = plan.cells[r.cell].scenario.start_day();
        for d in &r.daily {
            cells.push(r.cell);
            seeds.push(r.seed);
            date.push(date_days(start + i64::from(d.day)));
            day.push(d.day);
            released.push(d.released);
            booked.push(d.booked);
            freed.push(d.freed);
            wasted.push(d.wasted);
            waiting.push(d.waiting);
            first_free.push(d.first_free_day);
            capacity.push(d.capacity);
            no_slot.push(d.no_slot_share());
        }
    }
    let mut cols = key_columns(plan, &cells, &seeds);
    cols.extend([
        date_column("date", date),
        Column::new("day".into(), day),
        Column::new("released".into(), released),
        Column::new("booked".into(), booked),
        Column::new("freed".into(), freed),
        Column::new("wasted".into(), wasted),
        Column::new("waiting".into(), waiting),
        Column::new("first_free_day".into(), first_free),
        Column::new("capacity".into(), capacity),
        Column::new("no_slot_share".into(), no_slot),
    ]);
    DataFrame::new(n, cols)
}

/// The per-party table of one replication: every party, legacy and pre-existing included.
/// Times are days since 00:00 of the first day (negative before it).
///
/// # Errors
///
/// A polars error building the frame.
pub fn parties_frame(run: &RunRecord) -> PolarsResult<DataFrame> {
    let p = &run.parties;
    let days =
        |f: &dyn Fn(&crate::model::Party) -> Option<i64>| p.iter().map(|x| f(x).map(to_days)).collect::<Vec<_>>();
    let cols = vec![
        Column::new("id".into(), (0..p.len() as u32).collect::<Vec<_>>()),
        Column::new("kind".into(), p.iter().map(|x| x.kind().name()).collect::<Vec<_>>()),
        Column::new("index".into(), p.iter().map(|x| x.index()).collect::<Vec<_>>()),
        Column::new("counted".into(), p.iter().map(|x| x.counted()).collect::<Vec<_>>()),
        Column::new("bot".into(), p.iter().map(|x| x.bot()).collect::<Vec<_>>()),
        Column::new("size".into(), p.iter().map(|x| x.size()).collect::<Vec<_>>()),
        Column::new("arrival_day".into(), days(&|x| Some(x.arrival()))),
        Column::new("need_by_day".into(), days(&|x| Some(x.need_by()))),
        Column::new("bookings".into(), p.iter().map(|x| x.bookings()).collect::<Vec<_>>()),
        Column::new("auto_cancels".into(), p.iter().map(|x| x.auto_cancels()).collect::<Vec<_>>()),
        Column::new("voluntary_cancels".into(), p.iter().map(|x| x.voluntary_cancels()).collect::<Vec<_>>()),
        Column::new("no_shows".into(), p.iter().map(|x| x.no_shows()).collect::<Vec<_>>()),
        Column::new("doc_failures".into(), p.iter().map(|x| x.doc_failures()).collect::<Vec<_>>()),
        Column::new("first_booked_day".into(), days(&|x| x.first_booked())),
        Column::new("served_day".into(), days(&|x| x.served())),
        Column::new("ready_day".into(), days(&|x| x.ready())),
        Column::new("pickup_booked_day".into(), days(&|x| x.pickup_booked())),
        Column::new("completed_day".into(), days(&|x| x.completed())),
        Column::new("outcome".into(), p.iter().map(|x| x.outcome().name()).collect::<Vec<_>>()),
        Column::new("outcome_day".into(), days(&|x| Some(x.outcome_at()))),
    ];
    DataFrame::new(p.len(), cols)
}

/// The booking trace of one replication: every booking, in the order made.
///
/// # Errors
///
/// A polars error building the frame.
pub fn bookings_frame(run: &RunRecord, start_day: i64) -> PolarsResult<DataFrame> {
    let b = &run.bookings;
    let days =
        |f: &dyn Fn(&crate::model::Booking) -> Option<i64>| b.iter().map(|x| f(x).map(to_days)).collect::<Vec<_>>();
    let cols = vec![
        Column::new("booking".into(), (0..b.len() as u32).collect::<Vec<_>>()),
        Column::new("party".into(), b.iter().map(|x| x.party()).collect::<Vec<_>>()),
        Column::new("service".into(), b.iter().map(|x| u32::from(x.service())).collect::<Vec<_>>()),
        Column::new(
            "date".into(),
            b.iter().map(|x| civil_from_days(start_day + i64::from(x.placement().day))).collect::<Vec<_>>(),
        ),
        Column::new("band".into(), b.iter().map(|x| u32::from(x.placement().band)).collect::<Vec<_>>()),
        Column::new(
            "slots".into(),
            b.iter()
                .map(|x| x.placement().slots().iter().map(u32::to_string).collect::<Vec<_>>().join(" "))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "source".into(),
            b.iter()
                .map(|x| {
                    if x.legacy() {
                        "legacy"
                    } else if x.preexisting() {
                        "preexisting"
                    } else {
                        "portal"
                    }
                })
                .collect::<Vec<_>>(),
        ),
        Column::new("made_day".into(), days(&|x| Some(x.made_at()))),
        Column::new("appointment_day".into(), days(&|x| Some(x.appointment()))),
        Column::new("email_day".into(), days(&|x| x.email_at())),
        Column::new("deadline_day".into(), days(&|x| x.deadline())),
        Column::new("confirmed_day".into(), days(&|x| x.confirmed_at())),
        Column::new("end".into(), b.iter().map(|x| x.end().map_or("held", |e| e.1.name())).collect::<Vec<_>>()),
        Column::new("end_day".into(), days(&|x| x.end().map(|e| e.0))),
    ];
    DataFrame::new(b.len(), cols)
}

/// The rows of a frame as JSON objects exactly as its CSV file holds them: the frame is
/// written as CSV (as [`crate::output::write_frame`] writes it) and each cell's text is read
/// back by its column's type, numbers with Rust's exact decimal parsing. (polars' CSV
/// writer does not always print a float's shortest round-trip form, so a number taken
/// from the frame could differ in its last digit from the file's.)
///
/// # Errors
///
/// A polars error writing or reading the CSV text.
pub fn csv_json_rows(df: &mut DataFrame) -> anyhow::Result<Vec<serde_json::Map<String, serde_json::Value>>> {
    use serde_json::Value;
    let mut text = Vec::new();
    crate::output::files::write_csv_to(&mut text, df)?;
    let read = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .into_reader_with_file_handle(std::io::Cursor::new(text))
        .finish()?;
    let types: Vec<DataType> = df.columns().iter().map(|c| c.dtype().clone()).collect();
    let mut rows = vec![serde_json::Map::new(); read.height()];
    for (column, dtype) in read.columns().iter().zip(types) {
        for (row, cell) in rows.iter_mut().zip(column.str()?.iter()) {
            let value = match cell {
                None | Some("") => Value::Null,
                Some(t) if dtype.is_integer() => t
                    .parse::<i64>()
                    .map(Value::from)
                    .or_else(|_| t.parse::<u64>().map(Value::from))
                    .unwrap_or_else(|_| Value::String(t.into())),
                Some(t) if dtype.is_float() => t
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map_or_else(|| Value::String(t.into()), Value::Number),
                Some(t) if dtype.is_bool() => Value::Bool(t == "true"),
                Some(t) => Value::String(t.into()),
            };
            row.insert(column.name().to_string(), value);
        }
    }
    Ok(rows)
}
