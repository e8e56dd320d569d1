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
    ("run embassy base 1", "2286ad53934bd61a"),
    ("run embassy base 2", "0e92a8de863a170f"),
    ("run policies base 3", "d551b8735c184310"),
    ("run policies waitlist 3", "991e96c8d6bffa46"),
    ("run policies priority 3", "97bb6126bedf27a8"),
    ("run policies lottery 3", "dd83ef303fb6b1b1"),
    ("run policies batch_weekly 3", "e03dcab7fb64db88"),
    ("run policies random_release_time 3", "66ac31e955018bd6"),
    ("run policies bot_detection 3", "99d5d31c4c162941"),
    ("run policies surge_staff 3", "8401aaa09a666df9"),
    ("run policies saturday_sessions 3", "16ebc934bf8757c9"),
    ("run policies urgent_reserve 3", "5d0ce80aa5aba83d"),
    ("run policies overbook_5pct 3", "eed7b4673039406f"),
    ("run mechanisms/bots base 1", "b64776bc42e0e82e"),
    ("run mechanisms/bursts base 1", "26fdbd7ba145410b"),
    ("run mechanisms/confirmation base 1", "d264350154e6b0e7"),
    ("run mechanisms/legacy base 1", "1a5962cc9e0ae66b"),
    ("run mechanisms/pickup base 1", "d9553295fb731d91"),
    ("run mechanisms/release_batch base 1", "630cd1ada3613fa0"),
    ("sweep embassy 1..3", "ea961d58602b11dd"),
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
