//! The integration tests, as one test binary (each binary links the whole library and
//! polars: one link instead of six).
//!
//! - `model`: the booking-portal model: invariants (property tests), pinned digests of
//!   the bundled scenarios' tables, known results, reproducibility, policies' fairness,
//!   bad scenario files, the capacity levers.
//! - `sweep`: sweeps through the real binary: threads, resumption, shards and merge,
//!   CSV and Parquet.
//! - `search`: `optimize` and `select`: measured coverage on known answers, and through
//!   the binary.
//! - `report`: `compare` and `report` on tiny sweeps, and the HTML page in headless
//!   Chromium.
//! - `serve`: `slotsim serve`: the JSON interface against `slotsim run` for the same
//!   seeds, bad requests, concurrent and dropped runs, Ctrl-C, and the page in headless
//!   Chromium driven over WebDriver (chromedriver).
//! - `memory`: the memory guard and its estimate against measured peaks.
//! - `fuzz`: the scenario fuzzer's corpus replayed.
//! - `docs`: `docs/scenario.md` documents every scenario field the loader accepts (found
//!   from the loader itself), its defaults are the loader's, and its examples load.

mod calibrate;
mod docs;
mod fuzz;
mod memory;
mod model;
mod report;
mod search;
mod serve;
mod sweep;
