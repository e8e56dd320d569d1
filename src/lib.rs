//! slotsim simulates appointment-booking portals (a consulate's passport desk, say) and
//! compares slot-allocation policies over many seeded replications.
//!
//! The layers point one way: [`engine`] (time, events, random streams) → [`model`] (the
//! portal) → [`scenario`] (the TOML format) → [`stats`] (summaries) → [`runner`]
//! (replications in parallel) → `output` and the command line, the only places that touch
//! files or the terminal.
//!
//! ```
//! use slotsim::{model, scenario::Scenario, stats};
//!
//! let scenario = Scenario::from_toml_str(r#"
//! name = "quiet desk"
//! days = 120
//! [demand]
//! arrivals_per_day = 30
//! "#).unwrap();
//! let config = scenario.model_config().unwrap();
//! let run = model::simulate(&config, 7);
//! let summary = stats::summarize(&run);
//! assert!(summary.arrived > 0);
//! // The same seed gives the same run.
//! assert_eq!(stats::summarize(&model::simulate(&config, 7)), summary);
//! ```

pub mod engine;
pub mod model;
pub mod scenario;
pub mod stats;
pub mod runner;

pub mod output;
pub mod cli;
