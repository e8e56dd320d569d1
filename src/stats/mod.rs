//! Statistics: pure functions from a replication's records to its summary row, and
//! (in [`compare`]) from many summary rows to means, intervals and paired differences.

pub mod compare;
pub mod summary;

pub use summary::{Metric, Summary, jain, quantile, summarize};
