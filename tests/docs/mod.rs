//! `docs/scenario.md` documents every field the scenario loader accepts, and no field it
//! rejects.
//!
//! The accepted fields are enumerated from the loader itself, not from a list kept here:
//! a sample scenario with every optional table present (two services, a period, a burst,
//! a variant, a sweep, the legacy queue, pre-existing bookings) is serialized, and at
//! every table of it the loader is handed an unknown key: its error names the fields that
//! table accepts (serde's `deny_unknown_fields`), including those the resolved scenario
//! leaves out while they keep their defaults. A table whose unknown key is not refused
//! that way (a variant's `set`, `[sweep]`) is a map of scenario paths, documented as one
//! field (`[sweep]`'s own settings are `slotsim::scenario::SWEEP_SETTINGS`).
//!
//! The document's field tables (header `| field | default | allowed | meaning |`) name
//! each field in their first column as a dotted path in backticks, `*` for a list index
//! (`service.*.bands.*.slots`). Checked here: every accepted field has a row; every row
//! names an accepted field; a default written as one TOML value in backticks is the
//! loader's default; and every TOML example of the document loads.

use std::collections::BTreeSet;
use std::path::Path;

use slotsim::scenario::{
    Allocation, BandSpec, Behaviour, BurstSpec, Confirmation, DateText, DayRange, Demand, Legacy, Office, PeriodSpec,
    Preexisting, Release, SWEEP_SETTINGS, Scenario, ServiceSpec, VariantSpec, paths,
};
use toml::{Table, Value};

/// The key handed to each table to learn which fields it accepts.
const PROBE: &str = "zz_not_a_field";

fn band(start: &str, slots: u32) -> BandSpec {
    BandSpec { start: start.into(), slots }
}

/// A scenario with every optional table present and the levers the resolved scenario
/// omits at their defaults set to other values. Written field by field (no
/// `..Default::default()`), so that a new field of the scenario types does not compile
/// here until it is given a value that shows.
fn sample() -> Scenario {
    let mut set = Table::new();
    set.insert("allocation.policy".into(), Value::String("waitlist".into()));
    let mut sweep = Table::new();
    for key in SWEEP_SETTINGS {
        sweep.insert(key.into(), Value::Integer(3));
    }
    sweep.insert("service.0.bands.0.slots".into(), Value::Array(vec![Value::Integer(20), Value::Integer(25)]));
    Scenario {
        name: "every field".into(),
        start: "2021-06-14".into(),
        days: 120,
        warmup_days: 7,
        seed: 3,
        office: Office { open_weekdays: vec!["mon".into(), "tue".into()], holidays: vec!["2021-08-16".into()] },
        services: vec![
            ServiceSpec {
                name: "passport".into(),
                bands: vec![band("09:00", 20), band("10:00", 20)],
                periods: vec![PeriodSpec {
                    from: "2021-07-01".into(),
                    until: "2021-07-31".into(),
                    bands: vec![band("09:00", 30)],
                    open_weekdays: Some(vec!["sat".into()]),
                }],
            },
            ServiceSpec {
                name: "pickup".into(),
                bands: vec![band("12:00", 30)],
                periods: vec![PeriodSpec {
                    from: "2021-08-01".into(),
                    until: "2021-08-07".into(),
                    bands: vec![],
                    open_weekdays: None,
                }],
            },
        ],
        release: Release {
            kind: "batch".into(),
            time: "19:00".into(),
            every_days: 7,
            jitter_minutes: 30,
            horizon_days: 60,
            min_lead_days: 2,
        },
        demand: Demand {
            arrivals_per_day: 10.0,
            weekday_weights: vec![1.0; 7],
            initial_backlog: 5,
            party_size_weights: vec![0.6, 0.2, 0.1, 0.05, 0.05],
            need_by_days: DayRange { min: 20, max: 200 },
            patience_days: 90.0,
            burst: vec![BurstSpec { at: DateText("2021-07-01T09:00".into()), extra: 50.0, decay_days: 3.0 }],
        },
        behaviour: Behaviour {
            human_checks_per_day: 3.0,
            watch_release_prob: 0.4,
            watch_delay_minutes: 10.0,
            bot_share: 0.1,
            bot_check_interval_seconds: 120.0,
            confirm_prob: 0.8,
            bot_confirm_prob: 0.9,
            confirm_delay_hours: 12.0,
            cancel_per_day: 0.01,
            show_prob: 0.9,
            docs_ok_prob: 0.95,
            rebook_prob: 0.6,
            processing_days: DayRange { min: 5, max: 15 },
        },
        confirmation: Confirmation { enabled: true, lead_days: 10, window_days: 4 },
        allocation: Allocation {
            policy: "lottery".parse().unwrap(),
            lottery_every_days: 14,
            bot_detection_prob: 0.5,
            max_party: 4,
            urgent_share: 0.2,
            urgent_within_days: 20,
            urgent_open_days: 2,
            overbook_share: 0.1,
        },
        legacy: Legacy {
            requests: 40,
            received_from: "2021-03-01".into(),
            received_until: "2021-06-11".into(),
            quota_per_day: 8,
            needs_confirmation: false,
        },
        preexisting: Preexisting { bookings: 30, over_days: 20 },
        variants: vec![VariantSpec { name: "waitlist".into(), description: Some("a question".into()), set }],
        sweep: Some(sweep),
    }
}

/// The fields a table accepts, by the loader's own words; `None` for a map of paths.
fn accepted_keys(root: &Table, at: &str) -> Option<Vec<String>> {
    let mut probe = root.clone();
    let path = if at.is_empty() { PROBE.to_string() } else { format!("{at}.{PROBE}") };
    paths::set(&mut probe, &path, Value::Integer(1)).unwrap();
    let text = toml::to_string(&probe).unwrap();
    let err = Scenario::from_toml_str(&text).err()?;
    // A variant's `set` passes the key on to the scenario, whose error names the variant.
    if err.variant.is_some() {
        return None;
    }
    let rest = err.message.strip_prefix(&format!("unknown field `{PROBE}`, expected "))?;
    let rest = rest.split(" (in [").next().unwrap();
    Some(rest.split('`').skip(1).step_by(2).map(str::to_string).collect())
}

/// Every accepted field as a documentation path (`*` for list indexes), and those that
/// need a row of their own (all but the tables that only group fields: `office`,
/// `demand.need_by_days`, ...).
struct Fields {
    all: BTreeSet<String>,
    needing_a_row: BTreeSet<String>,
}

fn walk(root: &Table, node: &Table, at: &str, doc: &str, fields: &mut Fields) {
    let Some(keys) = accepted_keys(root, at) else {
        // A map of scenario paths: one field.
        fields.needing_a_row.insert(doc.to_string());
        if doc == "sweep" {
            for key in SWEEP_SETTINGS {
                fields.all.insert(format!("sweep.{key}"));
                fields.needing_a_row.insert(format!("sweep.{key}"));
            }
        }
        return;
    };
    assert!(!keys.is_empty(), "no fields found at `{at}`");
    let join = |a: &str, k: &str| if a.is_empty() { k.to_string() } else { format!("{a}.{k}") };
    for key in keys {
        let (at_key, doc_key) = (join(at, &key), join(doc, &key));
        fields.all.insert(doc_key.clone());
        match node.get(&key) {
            Some(Value::Table(t)) => walk(root, t, &at_key, &doc_key, fields),
            Some(Value::Array(items)) if items.iter().any(Value::is_table) => {
                fields.needing_a_row.insert(doc_key.clone());
                for (i, item) in items.iter().enumerate() {
                    let t = item.as_table().expect("a list of tables holds only tables");
                    walk(root, t, &format!("{at_key}.{i}"), &format!("{doc_key}.*"), fields);
                }
            }
            _ => {
                fields.needing_a_row.insert(doc_key);
            }
        }
    }
}

fn accepted_fields() -> Fields {
    let sample = sample();
    let text = toml::to_string(&sample).unwrap();
    let loaded = Scenario::from_toml_str(&text).unwrap_or_else(|e| panic!("the sample scenario does not load: {e}"));
    assert_eq!(loaded, sample, "the sample scenario does not survive a round trip");
    let root = Table::try_from(&sample).unwrap();
    let mut fields = Fields { all: BTreeSet::new(), needing_a_row: BTreeSet::new() };
    walk(&root, &root, "", "", &mut fields);
    fields
}

fn doc_text() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scenario.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A row of a field table: its line, the paths of its first column and its default cell.
struct Row {
    line: usize,
    paths: Vec<String>,
    default: String,
}

/// The text between backticks, in order.
fn backticked(cell: &str) -> Vec<String> {
    cell.split('`').skip(1).step_by(2).map(str::to_string).collect()
}

fn field_rows(doc: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut in_table = false;
    for (n, line) in doc.lines().enumerate() {
        let line = line.trim();
        if !line.starts_with('|') {
            in_table = false;
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        if cells == ["field", "default", "allowed", "meaning"] {
            in_table = true;
            continue;
        }
        if !in_table || cells.iter().all(|c| c.chars().all(|ch| ch == '-' || ch == ':')) {
            continue;
        }
        assert!(cells.len() >= 4, "docs/scenario.md line {}: a field row needs four cells", n + 1);
        // `sweep."PATH"` documents a map of paths by its own path.
        let paths = backticked(cells[0]).into_iter().map(|p| p.trim_end_matches(".\"PATH\"").to_string()).collect();
        rows.push(Row { line: n + 1, paths, default: cells[1].to_string() });
    }
    rows
}

#[test]
fn every_accepted_field_is_documented() {
    let fields = accepted_fields();
    // The walk must have reached the nested lists and the levers left out at defaults.
    for expected in ["service.*.period.*.open_weekdays", "demand.burst.*.decay_days", "allocation.overbook_share"] {
        assert!(fields.all.contains(expected), "the walk missed `{expected}`: {:?}", fields.all);
    }
    let documented: BTreeSet<String> = field_rows(&doc_text()).into_iter().flat_map(|r| r.paths).collect();
    let missing: Vec<&String> = fields.needing_a_row.iter().filter(|f| !documented.contains(*f)).collect();
    assert!(
        missing.is_empty(),
        "docs/scenario.md has no row for these fields the loader accepts (write each as a dotted path in backticks \
         in the first column of a `| field | default | allowed | meaning |` table): {missing:?}"
    );
}

#[test]
fn every_documented_field_is_accepted() {
    let fields = accepted_fields();
    let rows = field_rows(&doc_text());
    assert!(rows.len() > 50, "docs/scenario.md: only {} field rows found", rows.len());
    for row in &rows {
        assert!(!row.paths.is_empty(), "docs/scenario.md line {}: no field in backticks in the first column", row.line);
        for p in &row.paths {
            assert!(
                fields.all.contains(p),
                "docs/scenario.md line {}: `{p}` is not a field the loader accepts (accepted: {:?})",
                row.line,
                fields.all
            );
        }
    }
}

/// A default written as one TOML value in backticks is the loader's: setting the field to
/// it changes nothing in the resolved scenario.
#[test]
fn documented_defaults_are_the_loaders() {
    let mut checked = 0;
    for row in field_rows(&doc_text()) {
        let values = backticked(&row.default);
        let [value] = values.as_slice() else { continue };
        if row.default.trim() != format!("`{value}`") {
            continue;
        }
        let Ok(mut parsed) = toml::from_str::<Table>(&format!("v = {value}")) else { continue };
        let value = parsed.remove("v").unwrap();
        for path in &row.paths {
            let mut set = Table::new();
            set.insert(path.clone(), value.clone());
            let mut variant = Table::new();
            variant.insert("name".into(), Value::String("doc".into()));
            variant.insert("set".into(), Value::Table(set));
            let mut scenario = Table::new();
            scenario.insert("name".into(), Value::String("defaults".into()));
            scenario.insert("variant".into(), Value::Array(vec![Value::Table(variant)]));
            let s = Scenario::from_toml_str(&toml::to_string(&scenario).unwrap()).unwrap_or_else(|e| {
                panic!("docs/scenario.md line {}: `{path}` = {value} does not load: {e}", row.line)
            });
            assert_eq!(
                s.variant("doc").unwrap().resolved_toml(),
                s.variant("base").unwrap().resolved_toml(),
                "docs/scenario.md line {}: `{path}`'s default is not {value}",
                row.line
            );
            checked += 1;
        }
    }
    assert!(checked > 40, "only {checked} documented defaults checked");
}

/// Every ```toml block of the document loads (a block without a top-level `name` gets
/// one).
#[test]
fn the_documents_examples_load() {
    let doc = doc_text();
    let mut blocks = 0;
    let mut lines = doc.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        if line.trim() != "```toml" {
            continue;
        }
        let body: Vec<&str> = lines.by_ref().map(|(_, l)| l).take_while(|l| l.trim() != "```").collect();
        let mut text = body.join("\n");
        let mut top_level = body.iter().take_while(|l| !l.trim_start().starts_with('['));
        if !top_level.any(|l| l.trim_start().starts_with("name =")) {
            text = format!("name = \"example\"\n{text}");
        }
        Scenario::from_toml_str(&text)
            .unwrap_or_else(|e| panic!("docs/scenario.md: the example at line {} does not load: {e}", n + 1));
        blocks += 1;
    }
    assert!(blocks >= 5, "docs/scenario.md: only {blocks} TOML examples found");
}
