//! slotsim simulates appointment-booking portals (a consulate's passport desk, say) and
//! compares slot-allocation policies over many seeded replications.
//!
//! The layers point one way: [`engine`] (time, events, random streams) → [`model`] (the
//! portal) → [`scenario`] (the TOML format) → [`stats`] (summaries) → [`runner`]
//! (replications in parallel) → `output`, then the front ends: the command line and
//! [`serve`] (the what-if web page), the only places that touch files, the terminal or
//! the network.
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
pub mod runner;
pub mod scenario;
pub mod stats;

pub mod cli;
pub mod output;
pub mod serve;

#[cfg(test)]
mod layering {
    //! The layers point one way: inner layers never do I/O or reach outward.

    use std::path::Path;

    fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }

    #[test]
    fn inner_layers_do_no_io_and_point_inward() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let rules: [(&str, &[&str]); 5] = [
            (
                "engine",
                &[
                    "std::fs",
                    "println!",
                    "eprintln!",
                    "polars",
                    "rayon",
                    "crate::model",
                    "crate::scenario",
                    "crate::stats",
                    "crate::runner",
                    "crate::output",
                    "crate::cli",
                    "crate::serve",
                ],
            ),
            (
                "model",
                &[
                    "std::fs",
                    "println!",
                    "eprintln!",
                    "polars",
                    "rayon",
                    "crate::scenario",
                    "crate::stats",
                    "crate::runner",
                    "crate::output",
                    "crate::cli",
                    "crate::serve",
                ],
            ),
            (
                "scenario",
                &[
                    "std::fs",
                    "println!",
                    "eprintln!",
                    "polars",
                    "rayon",
                    "crate::stats",
                    "crate::runner",
                    "crate::output",
                    "crate::cli",
                    "crate::serve",
                ],
            ),
            (
                "stats",
                &[
                    "std::fs",
                    "println!",
                    "eprintln!",
                    "polars",
                    "rayon",
                    "crate::runner",
                    "crate::output",
                    "crate::cli",
                    "crate::serve",
                ],
            ),
            ("runner", &["std::fs", "println!", "eprintln!", "polars", "crate::output", "crate::cli", "crate::serve"]),
        ];
        for (layer, forbidden) in rules {
            let mut files = Vec::new();
            sources(&root.join(layer), &mut files);
            assert!(!files.is_empty(), "{layer} has sources");
            for (path, text) in files {
                // Doc examples and comments may mention outer layers; code may not.
                let code: String =
                    text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
                for word in forbidden.iter().chain(&["std::env", "std::io::stdin"]) {
                    assert!(!code.contains(word), "{path} mentions `{word}`, which the {layer} layer must not");
                }
                // The library speaks its own words: its messages name parameters, never the
                // command line's flags (a front end adds those).
                let flag = code.match_indices("--").find(|(i, _)| {
                    code[i + 2..].starts_with(|c: char| c.is_ascii_lowercase()) && !code[..*i].ends_with('-')
                });
                assert!(flag.is_none(), "{path} names a command-line flag: {}", &code[flag.unwrap().0..][..20]);
            }
        }
        // The outer rooms: output serves both front ends and reaches neither; the web front
        // end does not reach into the command line (the command line starts it).
        let rooms: [(&str, &[&str]); 2] = [("output", &["crate::cli", "crate::serve"]), ("serve", &["crate::cli"])];
        for (room, forbidden) in rooms {
            let mut files = Vec::new();
            sources(&root.join(room), &mut files);
            assert!(!files.is_empty(), "{room} has sources");
            for (path, text) in files {
                for word in forbidden.iter() {
                    assert!(!text.contains(word), "{path} mentions `{word}`, which the {room} room must not");
                }
            }
        }
    }
}
