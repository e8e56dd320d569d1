//! Output: result tables (polars, CSV or Parquet) written atomically, and sweep
//! directories. With the command line, the only layer that touches the filesystem.

pub mod files;
pub mod sweep_dir;
pub mod tables;

pub use files::{Format, read_frame, write_atomic, write_frame};
