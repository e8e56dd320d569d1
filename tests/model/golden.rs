//! Golden digests: the tables `slotsim run` and `slotsim sweep` write for a fixed set of
//! bundled scenarios, variants and seeds, pinned as 64-bit FNV-1a digests of the files'
//! bytes. A change to the simulation kernel that keeps every draw and every table must
//! leave these digests alone; a change that changes results on purpose (another model,
//! other random numbers, a new column) updates them deliberately, and says why in its
//! commit.
//!
//! To print the digests of the current build (to update the table after a deliberate
//! change): `SLOTSIM_PRINT_DIGESTS=1 cargo test --test integration golden -- --nocapture`.

use std::path::Path;
use std::process::Command;

use crate::model::support;

/// 64-bit FNV-1a.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The digest of a directory's tables, in name order, with the `version` column's values
/// left as they are (a version bump is a deliberate change too).
fn digest(dir: &Path, names: &[&str]) -> String {
    let mut all = Vec::new();
    for name in names {
        let bytes = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(name).display()));
        all.extend_from_slice(name.as_bytes());
        all.extend_from_slice(&fnv(&bytes).to_le_bytes());
    }
    format!("{:016x}", fnv(&all))
}

fn slotsim(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_slotsim")).args(args).output().expect("the slotsim binary runs");
    assert!(out.status.success(), "slotsim {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// (what, digest): `run` of a scenario's variant and seed (summary, daily and parties
/// tables, and the booking trace), or a sweep (summary and daily).
const PINNED: &[(&str, &str)] = &[
    ("run embassy base 1", "e9bd2c86681a62cc"),
    ("run embassy base 2", "e9184e2035069c92"),
    ("run policies base 3", "0d982ea2f6e1979b"),
    ("run policies waitlist 3", "2afad2b92748a841"),
    ("run policies priority 3", "8d9b554a73d3e367"),
    ("run policies lottery 3", "c8c589e772ec8100"),
    ("run policies batch_weekly 3", "d588c7498b499d6c"),
    ("run policies random_release_time 3", "2743db46cee82830"),
    ("run policies bot_detection 3", "c75c30f22c579a65"),
    ("run policies surge_staff 3", "9a20783c18f27004"),
    ("run policies saturday_sessions 3", "ffd1c828bf421eb2"),
    ("run policies urgent_reserve 3", "d593cbd3c174c951"),
    ("run policies overbook_5pct 3", "7a9da547c1424b3b"),
    ("run mechanisms/bots base 1", "988dfc4fd5a1a2d2"),
    ("run mechanisms/bursts base 1", "3a80a3fdf1587bdc"),
    ("run mechanisms/confirmation base 1", "d8e07d65a3fd9c16"),
    ("run mechanisms/legacy base 1", "cc25e6956c65ceba"),
    ("run mechanisms/pickup base 1", "32dd36c80fd5e444"),
    ("run mechanisms/release_batch base 1", "ca97b7c207e422b0"),
    ("sweep embassy 1..3", "39328633a01bb0f2"),
];

fn cases() -> Vec<(String, Vec<String>)> {
    let mut cases = Vec::new();
    for seed in ["1", "2"] {
        cases.push((
            format!("run embassy base {seed}"),
            vec!["scenarios/embassy.toml".into(), "base".into(), seed.into()],
        ));
    }
    for variant in [
        "base",
        "waitlist",
        "priority",
        "lottery",
        "batch_weekly",
        "random_release_time",
        "bot_detection",
        "surge_staff",
        "saturday_sessions",
        "urgent_reserve",
        "overbook_5pct",
    ] {
        cases.push((
            format!("run policies {variant} 3"),
            vec!["scenarios/policies.toml".into(), variant.into(), "3".into()],
        ));
    }
    for mechanism in ["bots", "bursts", "confirmation", "legacy", "pickup", "release_batch"] {
        cases.push((
            format!("run mechanisms/{mechanism} base 1"),
            vec![format!("scenarios/mechanisms/{mechanism}.toml"), "base".into(), "1".into()],
        ));
    }
    cases
}

#[test]
fn the_tables_of_bundled_scenarios_keep_their_digests() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = support::temp_dir("golden");
    let mut got: Vec<(String, String)> = Vec::new();
    for (what, args) in cases() {
        let out = dir.join(what.replace(['/', ' '], "_"));
        let scenario = root.join(&args[0]);
        slotsim(&[
            "run",
            scenario.to_str().unwrap(),
            "--variant",
            &args[1],
            "--seed",
            &args[2],
            "--trace",
            "--out",
            out.to_str().unwrap(),
        ]);
        got.push((what, digest(&out, &["summary.csv", "daily.csv", "parties.csv", "bookings.csv"])));
    }
    let out = dir.join("sweep");
    let scenario = root.join("scenarios/embassy.toml");
    slotsim(&[
        "sweep",
        scenario.to_str().unwrap(),
        "--replications",
        "3",
        "--threads",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    got.push(("sweep embassy 1..3".into(), digest(&out, &["summary.csv", "daily.csv"])));
    let _ = std::fs::remove_dir_all(&dir);

    if std::env::var_os("SLOTSIM_PRINT_DIGESTS").is_some() {
        for (what, d) in &got {
            println!("    (\"{what}\", \"{d}\"),");
        }
    }
    let pinned: Vec<(String, String)> = PINNED.iter().map(|(w, d)| (w.to_string(), d.to_string())).collect();
    for ((what, d), (pinned_what, pinned_d)) in got.iter().zip(&pinned) {
        assert_eq!(what, pinned_what, "the cases changed: update PINNED");
        assert_eq!(d, pinned_d, "{what}: the tables changed (digest {d}, pinned {pinned_d})");
    }
    assert_eq!(got.len(), pinned.len(), "the cases changed: update PINNED");
}
