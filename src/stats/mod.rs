//! Statistics: pure functions from a replication's records to its summary row (whose
//! metrics are registered in [`metrics`]), and (in [`compare`]) from many summary rows to
//! means, intervals and paired differences;
//! [`sequential`] and [`selection`] hold the sequential tests of `optimize` and `select`.

pub mod abc;
pub mod compare;
pub mod metrics;
pub mod observed;
pub mod selection;
pub mod sequential;
pub mod summary;
#[cfg(test)]
mod testgen;

pub use summary::{Metric, Summary, jain, quantile, summarize};
