//! A what-if run (`runner::whatif`) as readers and programs see it: the comparison of the
//! edited variant against the file's, the daily bands and charts, and its tables as CSV.

use anyhow::Result;

use super::comparison::compare_frame;
use super::files::write_csv_to;
use super::plots::{SvgChart, svg_charts};
use super::results::DailyBands;
use super::tables::{daily_frame, summary_frame};
use crate::runner::whatif::{WhatIf, WhatIfRuns};
use crate::runner::{Plan, Replication};
use crate::scenario::dates::civil_from_days;
use crate::stats::compare::{CellSamples, Comparison, LEVEL, Precision, compare};

/// The label of the variant as the file has it: the baseline of the comparison.
pub const ORIGINAL: &str = "the file";
/// The label of the edited variant.
pub const EDITED: &str = "edited";

/// Everything shown of a finished what-if run.
#[derive(Debug, Clone)]
pub struct WhatIfResults {
    /// The edited variant (cell 1) against the file's (cell 0, the baseline), 95% intervals.
    pub comparison: Comparison,
    /// Daily bands, file's first.
    pub daily: Vec<DailyBands>,
    /// The first simulated date, `YYYY-MM-DD`.
    pub start_date: String,
}

fn samples(label: &str, rows: &[Replication]) -> CellSamples {
    CellSamples::from_summaries(label, Vec::new(), rows.iter().map(|r| (r.seed, &r.summary)))
}

fn bands(rows: &[Replication]) -> DailyBands {
    DailyBands::from_runs(rows.iter().map(|r| r.daily.as_slice()))
}

impl WhatIfResults {
    /// Compares the runs of `whatif`: means, intervals and paired differences as
    /// `slotsim compare` makes them.
    pub fn new(whatif: &WhatIf, runs: &WhatIfRuns) -> Self {
        let cells = vec![samples(ORIGINAL, &runs.original), samples(EDITED, &runs.edited)];
        let comparison =
            compare(cells, ORIGINAL, LEVEL, &Precision::default()).expect("the baseline is among the two cells");
        let start_date = civil_from_days(whatif.original.cells[0].scenario.start_day());
        Self { comparison, daily: vec![bands(&runs.original), bands(&runs.edited)], start_date }
    }

    /// The charts of `slotsim compare`, as SVG text.
    ///
    /// # Errors
    ///
    /// A chart cannot be drawn.
    pub fn charts(&self) -> Result<Vec<SvgChart>> {
        svg_charts(&self.comparison, &self.daily, Some(&self.start_date))
    }

    /// `compare.csv` of the two.
    ///
    /// # Errors
    ///
    /// A polars error.
    pub fn compare_csv(&self) -> Result<Vec<u8>> {
        csv(compare_frame(&self.comparison)?)
    }
}

fn csv(mut df: polars::prelude::DataFrame) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    write_csv_to(&mut out, &mut df)?;
    Ok(out)
}

/// The summary table of one plan's runs as CSV text: what `slotsim run` writes for each
/// seed (for the edited plan, with its fields set).
///
/// # Errors
///
/// A polars error.
pub fn summary_csv(plan: &Plan, rows: &[Replication]) -> Result<Vec<u8>> {
    csv(summary_frame(plan, rows)?)
}

/// The daily table of one plan's runs as CSV text.
///
/// # Errors
///
/// A polars error.
pub fn daily_csv(plan: &Plan, rows: &[Replication]) -> Result<Vec<u8>> {
    csv(daily_frame(plan, rows)?)
}
