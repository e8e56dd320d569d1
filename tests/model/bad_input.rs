//! Bad scenario files: the command line exits with code 2, says clearly what is wrong
//! (field, line, value, what is allowed), and writes nothing. Random text never makes the
//! scenario parser panic.

use std::path::Path;
use std::process::Command;

use proptest::prelude::*;
use slotsim::scenario::Scenario;

use crate::model::support;

/// Runs `slotsim run` on `text` (or on a missing file when `None`) into a fresh output
/// directory; checks the failure is clean and returns stderr.
fn run_fails(tag: &str, text: Option<&str>) -> String {
    let dir = support::temp_dir(tag);
    let file = dir.join("scenario.toml");
    if let Some(text) = text {
        std::fs::write(&file, text).expect("write the scenario");
    }
    let out = dir.join("out");
    let output = Command::new(env!("CARGO_BIN_EXE_slotsim"))
        .args(["run", file.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .output()
        .expect("the slotsim binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{tag}: exit status {:?}, stderr: {stderr}", output.status);
    assert!(!stderr.trim().is_empty(), "{tag}: nothing on stderr");
    assert!(stderr.len() < 2000, "{tag}: one clear message, not a wall of text: {stderr}");
    assert!(!stderr.contains("panicked"), "{tag}: {stderr}");
    assert!(!wrote_anything(&out), "{tag}: files written to the output directory");

    // `check` says the same and also fails.
    let output = Command::new(env!("CARGO_BIN_EXE_slotsim"))
        .args(["check", file.to_str().unwrap()])
        .output()
        .expect("the slotsim binary runs");
    assert_eq!(output.status.code(), Some(2), "{tag}: check exit status");
    let _ = std::fs::remove_dir_all(&dir);
    stderr
}

fn wrote_anything(dir: &Path) -> bool {
    dir.join("summary.csv").exists() || std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some())
}

fn assert_mentions(stderr: &str, parts: &[&str]) {
    for part in parts {
        assert!(stderr.contains(part), "the message should mention {part:?}: {stderr}");
    }
}

const GOOD: &str = "name = \"ok\"\ndays = 20\n";

#[test]
fn a_good_file_runs_and_writes_its_tables() {
    // The baseline the failures below are measured against.
    let dir = support::temp_dir("good");
    let file = dir.join("scenario.toml");
    std::fs::write(&file, GOOD).unwrap();
    let out = dir.join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_slotsim"))
        .args(["run", file.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("summary.csv").exists() && out.join("daily.csv").exists() && out.join("parties.csv").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unknown_field_names_the_field_and_line() {
    let e = run_fails("unknown", Some("name = \"x\"\ndays = 20\n\n[behaviour]\nshow_prob = 0.9\nbogus_field = 1\n"));
    assert_mentions(&e, &["bogus_field", "line 6"]);
}

#[test]
fn wrong_type_names_the_field_and_line() {
    let e = run_fails("type", Some("name = \"x\"\ndays = \"ten\"\n"));
    assert_mentions(&e, &["days", "line 2"]);
}

#[test]
fn out_of_range_value_names_field_value_and_range() {
    let e = run_fails("range", Some("name = \"x\"\n[behaviour]\nshow_prob = 1.5\n"));
    assert_mentions(&e, &["behaviour.show_prob", "1.5", "0 to 1", "line 3"]);
    let e = run_fails("negative", Some("name = \"x\"\n[demand]\narrivals_per_day = -3.0\n"));
    assert_mentions(&e, &["demand.arrivals_per_day", "-3", "≥ 0"]);
}

#[test]
fn values_too_large_to_simulate_are_refused_by_validation() {
    // Found by the fuzzer: a burst decaying in a split second made arrival thinning run
    // forever; a need-by date ages away sized the need-by index beyond any memory; a grid
    // of a few long lists crossed into more cells than memory holds.
    let burst =
        "name = \"b\"\ndays = 20\n[[demand.burst]]\nat = \"2021-06-15T00:00\"\nextra = 40.0\ndecay_days = 1e-300\n";
    let stderr = run_fails("burst-decay", Some(burst));
    assert_mentions(
        &stderr,
        &["demand.burst.0.extra", "line 5", "4e1 with decay_days = 1e-300", "at most 10000000 parties a day"],
    );
    let values = format!("[{}]", (1..=30).map(|n| n.to_string()).collect::<Vec<_>>().join(", "));
    let grid = format!(
        "name = \"g\"\ndays = 20\n[sweep]\n\"days\" = {values}\n\"seed\" = {values}\n\"warmup_days\" = {values}\n\"service.0.bands.0.slots\" = {values}\n"
    );
    let stderr = run_fails("grid", Some(&grid));
    assert_mentions(&stderr, &["sweep", "30 × 30 × 30 × 30 values, 810000 points", "at most 10000 grid points"]);
    let need_by = "name = \"n\"\ndays = 20\n[demand]\nneed_by_days = { min = 30, max = 4000000000 }\n";
    let stderr = run_fails("need-by", Some(need_by));
    assert_mentions(&stderr, &["demand.need_by_days", "max 4000000000", "at most 7320 days"]);
}

/// Records keep instants in 32 bits: inputs that would place one beyond 68 years of the
/// start are refused by name.
#[test]
fn instants_beyond_what_records_keep_are_refused() {
    let processing = "name = \"p\"\ndays = 20\n[behaviour]\nprocessing_days = { min = 10, max = 100000 }\n";
    let stderr = run_fails("processing", Some(processing));
    assert_mentions(&stderr, &["behaviour.processing_days", "max 100000", "at most 3660 days"]);
    let receipts = "name = \"l\"\ndays = 20\nstart = \"2021-06-01\"\n[legacy]\nreceived_from = \"1950-01-01\"\n";
    let stderr = run_fails("receipts", Some(receipts));
    assert_mentions(&stderr, &["legacy.received_from", "1950-01-01", "within 20 years (7320 days) of start"]);
}

#[test]
fn bad_date_is_named() {
    let e = run_fails("date", Some("name = \"x\"\nstart = \"2021-02-30\"\n"));
    assert_mentions(&e, &["start", "2021-02-30", "YYYY-MM-DD", "line 2"]);
    let e = run_fails("holiday", Some("name = \"x\"\n[office]\nholidays = [\"2021-12-25\", \"25/12/2021\"]\n"));
    assert_mentions(&e, &["office.holidays", "25/12/2021"]);
}

#[test]
fn bad_clock_time_is_named() {
    let e = run_fails(
        "clock",
        Some("name = \"x\"\n[[service]]\nname = \"passport\"\nbands = [{ start = \"9:00\", slots = 10 }]\n"),
    );
    assert_mentions(&e, &["service.0.bands.0.start", "9:00", "HH:MM", "line 4"]);
    let e = run_fails("release-time", Some("name = \"x\"\n[release]\ntime = \"24:30\"\n"));
    assert_mentions(&e, &["release.time", "24:30", "HH:MM"]);
}

#[test]
fn bad_variant_names_the_variant_and_path() {
    let path = "name = \"x\"\n[[variant]]\nname = \"typo\"\nset = { \"allocation.polcy\" = \"waitlist\" }\n";
    let e = run_fails("variant-path", Some(path));
    assert_mentions(&e, &["typo", "allocation.polcy"]);
    let value = "name = \"x\"\n[[variant]]\nname = \"too sure\"\nset = { \"behaviour.show_prob\" = 2.0 }\n";
    let e = run_fails("variant-value", Some(value));
    assert_mentions(&e, &["too sure", "behaviour.show_prob", "2", "0 to 1"]);
    let index = "name = \"x\"\n[[variant]]\nname = \"no band\"\nset = { \"service.0.bands.7.slots\" = 5 }\n";
    let e = run_fails("variant-index", Some(index));
    assert_mentions(&e, &["no band", "service.0.bands.7.slots", "out of range"]);
}

#[test]
fn unknown_variant_on_the_command_line_is_named() {
    let dir = support::temp_dir("no-variant");
    let file = dir.join("scenario.toml");
    std::fs::write(&file, GOOD).unwrap();
    let out = dir.join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_slotsim"))
        .args(["run", file.to_str().unwrap(), "--variant", "nosuch", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert_mentions(&stderr, &["nosuch"]);
    assert!(!wrote_anything(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_file_is_named() {
    let e = run_fails("missing", None);
    assert_mentions(&e, &["scenario.toml"]);
}

#[test]
fn text_that_is_not_toml_is_rejected() {
    let e = run_fails("not-toml", Some("name = \"x\"\nthis is not = = toml ][\n"));
    assert_mentions(&e, &["line 2"]);
    let e = run_fails("binary", Some("\u{0}\u{1}PK\u{3}\u{4} garbage"));
    assert!(e.contains("line") || e.contains("expected") || e.contains("invalid"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Arbitrary bytes: an error or a scenario, never a panic.
    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(s) = Scenario::from_toml_str(&text) {
            // Whatever validates must also convert.
            prop_assert!(s.model_config().is_ok());
        }
    }

    /// A valid file with a random stretch replaced by random text: near-misses reach the
    /// validator and the line finder, not just the TOML parser.
    #[test]
    fn mangled_scenarios_never_panic(at in 0usize..2000, len in 0usize..40, junk in "[ -~\n\u{e9}\u{3b1}\u{2265}]{0,30}") {
        let base = MANGLE_BASE;
        let mut at = at.min(base.len());
        while !base.is_char_boundary(at) {
            at -= 1;
        }
        let mut end = (at + len).min(base.len());
        while !base.is_char_boundary(end) {
            end -= 1;
        }
        let text = format!("{}{junk}{}", &base[..at], &base[end..]);
        if let Ok(s) = Scenario::from_toml_str(&text) {
            for name in s.variant_names() {
                let v = s.variant(name);
                prop_assert!(v.is_ok(), "variant {} of an accepted scenario fails: {:?}", name, v.err());
                prop_assert!(v.unwrap().model_config().is_ok());
            }
        }
    }
}

const MANGLE_BASE: &str = r#"name = "mangle"
start = "2021-06-14"
days = 40
warmup_days = 2

[office]
open_weekdays = ["mon", "tue", "wed", "thu", "fri"]
holidays = ["2021-06-29"]

[[service]]
name = "passport"
bands = [{ start = "09:00", slots = 20 }, { start = "10:00", slots = 20 }]

[[service]]
name = "pickup"
bands = [{ start = "12:00", slots = 20 }]

[release]
kind = "rolling"
time = "00:00"
every_days = 1
jitter_minutes = 10
horizon_days = 30
min_lead_days = 1

[demand]
arrivals_per_day = 60.0
weekday_weights = [1, 1, 1, 1, 1, 0.5, 0.5]
party_size_weights = [0.6, 0.2, 0.12, 0.06, 0.02]
need_by_days = { min = 30, max = 365 }

[[demand.burst]]
at = "2021-06-20T00:00"
extra = 200.0
decay_days = 3.0

[behaviour]
bot_share = 0.1
confirm_prob = 0.9
processing_days = { min = 10, max = 30 }

[confirmation]
enabled = true
lead_days = 14
window_days = 5

[allocation]
policy = "fcfs"

[legacy]
requests = 10
received_from = "2021-03-01"
received_until = "2021-06-11"
quota_per_day = 5

[preexisting]
bookings = 5

[[variant]]
name = "waitlist"
set = { "allocation.policy" = "waitlist", "service.0.bands.1.slots" = 25 }

[sweep]
"service.0.bands.0.slots" = [15, 20]
replications = 2
"#;

#[test]
fn the_mangling_base_is_a_valid_scenario() {
    let s = Scenario::from_toml_str(MANGLE_BASE).expect("valid");
    assert_eq!(s.variant_names(), vec!["base", "waitlist"]);
}

// ----- the capacity levers -------------------------------------------------------------

const PERIODS: &str = "name = \"x\"\n[[service]]\nname = \"passport\"\nbands = [{ start = \"09:00\", slots = 10 }]\n";

#[test]
fn overlapping_periods_name_both() {
    let text = format!(
        "{PERIODS}[[service.period]]\nfrom = \"2021-07-01\"\nuntil = \"2021-07-31\"\nbands = []\n[[service.period]]\nfrom = \"2021-07-20\"\nuntil = \"2021-08-10\"\nbands = []\n"
    );
    let e = run_fails("overlap", Some(&text));
    assert_mentions(
        &e,
        &["service.0.period.1", "2021-07-20 to 2021-08-10", "overlaps period 0", "2021-07-01 to 2021-07-31", "line 9"],
    );
}

#[test]
fn bad_period_fields_are_named() {
    let period = |body: &str| format!("{PERIODS}[[service.period]]\n{body}\n");
    let e = run_fails("period-date", Some(&period("from = \"2021-07-32\"\nuntil = \"2021-08-01\"\nbands = []")));
    assert_mentions(&e, &["service.0.period.0.from", "2021-07-32", "YYYY-MM-DD", "line 6"]);
    let e = run_fails("period-order", Some(&period("from = \"2021-08-01\"\nuntil = \"2021-07-01\"\nbands = []")));
    assert_mentions(&e, &["service.0.period.0.until", "2021-07-01", "on or after", "line 7"]);
    let e = run_fails(
        "period-weekday",
        Some(&period(
            "from = \"2021-07-01\"\nuntil = \"2021-07-31\"\nbands = []\nopen_weekdays = [\"mon\", \"sunday\"]",
        )),
    );
    assert_mentions(&e, &["service.0.period.0.open_weekdays", "sunday", "mon, tue", "line 9"]);
    let e = run_fails(
        "period-band",
        Some(&period("from = \"2021-07-01\"\nuntil = \"2021-07-31\"\nbands = [{ start = \"25:00\", slots = 3 }]")),
    );
    assert_mentions(&e, &["service.0.period.0.bands.0.start", "25:00", "HH:MM"]);
    let e = run_fails("period-field", Some(&period("from = \"2021-07-01\"\nuntil = \"2021-07-31\"\nslots = 3")));
    assert_mentions(&e, &["slots", "line 8"]);
}

#[test]
fn bad_levers_are_named() {
    let e = run_fails("urgent-share", Some("name = \"x\"\n[allocation]\nurgent_share = 1.5\n"));
    assert_mentions(&e, &["allocation.urgent_share", "1.5", "0 to 1", "line 3"]);
    let e = run_fails("overbook", Some("name = \"x\"\n[allocation]\noverbook_share = -0.05\n"));
    assert_mentions(&e, &["allocation.overbook_share", "-0.05", "0 to 1", "line 3"]);
    let e = run_fails("urgent-days", Some("name = \"x\"\n[allocation]\nurgent_open_days = 5000\n"));
    assert_mentions(&e, &["allocation.urgent_open_days", "5000", "1098"]);
    let e = run_fails("urgent-type", Some("name = \"x\"\n[allocation]\nurgent_within_days = \"soon\"\n"));
    assert_mentions(&e, &["urgent_within_days", "line 3"]);
}

#[test]
fn a_star_that_matches_nothing_is_named() {
    let text = "name = \"x\"\n[[variant]]\nname = \"no periods\"\nset = { \"service.0.period.*.bands\" = [] }\n";
    let e = run_fails("star-empty", Some(text));
    assert_mentions(&e, &["no periods", "service.0.period.*.bands", "matches no entry"]);
    let grid = "name = \"x\"\n[sweep]\n\"service.0.bands.*.slots\" = [10, 30]\n\"allocation.*\" = [1]\n";
    let e = run_fails("star-field", Some(grid));
    assert_mentions(&e, &["allocation.*", "every index of a list"]);
}

#[test]
fn a_star_sets_every_band_and_periods_can_be_replaced() {
    let text = r#"
name = "x"
days = 30
[[service]]
name = "passport"
bands = [{ start = "09:00", slots = 10 }, { start = "10:00", slots = 12 }]
[[service.period]]
from = "2021-06-21"
until = "2021-06-27"
bands = []
[[variant]]
name = "thirty"
set = { "service.0.bands.*.slots" = 30, "service.0.period" = [{ from = "2021-06-28", until = "2021-07-04", bands = [{ start = "08:00", slots = 5 }], open_weekdays = ["sat"] }] }
"#;
    let base = support::config_of(text, "base");
    let v = support::config_of(text, "thirty");
    let cap = |c: &slotsim::model::ModelConfig, d: usize| c.services[0].capacity_on(d);
    // 2021-06-14 is a Monday: days 7..14 are the closed week in the base, the Saturday
    // session week in the variant.
    assert_eq!((cap(&base, 0), cap(&base, 7), cap(&base, 14)), (22, 0, 22));
    assert_eq!((cap(&v, 0), cap(&v, 7), cap(&v, 14), cap(&v, 19)), (60, 60, 0, 5));
}
