//! Output: result tables (polars, CSV or Parquet) written atomically, and sweep
//! directories. With the command line, the only layer that touches the filesystem.

pub mod answer;
pub mod answer_report;
pub mod answer_text;
pub mod calibration;
pub mod comparison;
pub mod files;
pub mod merge;
pub mod plots;
pub mod report;
pub mod results;
pub mod summary_text;
pub mod sweep_dir;
pub mod tables;
pub mod whatif;

pub use files::{Format, read_frame, write_atomic, write_frame};
