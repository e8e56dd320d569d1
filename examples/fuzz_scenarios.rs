//! A mutation fuzzer for scenario files that runs on the stable toolchain (`cargo fuzz`
//! needs nightly): it mutates TOML text (numbers and strings replaced by edge values,
//! lines deleted, duplicated, swapped or spliced in from other inputs, known fields
//! inserted, bytes flipped) and runs each input through the loader, validation and a
//! short simulation (`tests/fuzz/harness.rs`). An input that panics is saved under
//! `fuzz/findings/`; one that runs longer than `--hang-seconds` is saved and stops the
//! fuzzer (it would be a hang). An input whose outcome has a signature not seen before
//! (a new shape of error message, a new pattern of zero metrics) joins the pool and,
//! with `--save`, the corpus (`fuzz/corpus/`), which the test suite replays.
//!
//! ```sh
//! cargo run --example fuzz_scenarios -- --replay     # each corpus file's outcome
//! cargo run --example fuzz_scenarios -- --minimize   # shrink the corpus files
//! cargo run --example fuzz_scenarios -- --seconds 600 --seed 1 --save
//! ```

#[path = "../tests/fuzz/harness.rs"]
mod harness;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// SplitMix64: the fuzzer's own seeded generator (nothing here touches the model's streams).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const NUMBERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "5",
    "6",
    "7",
    "0.0",
    "0.5",
    "1.0",
    "1.5",
    "-0.5",
    "1e-300",
    "1e300",
    "-1e300",
    "nan",
    "inf",
    "-inf",
    "255",
    "256",
    "65535",
    "65536",
    "366",
    "367",
    "1098",
    "7320",
    "7321",
    "100000",
    "1000000",
    "2147483647",
    "2147483648",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "1e9",
    "3.0e10",
];

const STRINGS: &[&str] = &[
    "",
    "x",
    "fcfs",
    "waitlist",
    "priority",
    "lottery",
    "batch",
    "rolling",
    "mon",
    "sun",
    "sat",
    "passport",
    "pickup",
    "00:00",
    "23:59",
    "24:00",
    "9:00",
    "09:60",
    "-01:00",
    "2021-06-14",
    "2021-02-29",
    "2020-02-29",
    "0001-01-01",
    "9999-12-31",
    "2021-06-14T00:00",
    "2021-13-01",
    "1970-01-01",
    "2100-01-01T23:59",
    "base",
    "é",
    "service.0.bands.0.slots",
    "days",
    "demand.arrivals_per_day",
    "allocation.policy",
    "service.*.bands.*.slots",
    "release.kind",
    "service.9.name",
];

/// Lines that add a field or table the inputs may lack.
const INSERTS: &[&str] = &[
    "days = 30",
    "warmup_days = 29",
    "start = \"2024-02-29\"",
    "[demand]\narrivals_per_day = 50.0\ninitial_backlog = 100",
    "[[demand.burst]]\nat = \"2021-06-20T00:00\"\nextra = 500.0\ndecay_days = 0.001",
    "[[demand.burst]]\nat = \"1900-01-01T00:00\"\nextra = 1e9\ndecay_days = 1e-9",
    "[[service]]\nname = \"pickup\"\nbands = [{ start = \"12:00\", slots = 5 }]",
    "[[service]]\nname = \"extra\"\nbands = []",
    "[release]\nkind = \"batch\"\nevery_days = 7\njitter_minutes = 1440\nhorizon_days = 1\nmin_lead_days = 0",
    "[allocation]\npolicy = \"lottery\"\nlottery_every_days = 1\nmax_party = 1",
    "[allocation]\npolicy = \"priority\"\nbot_detection_prob = 1.0",
    "[behaviour]\nbot_share = 1.0\nbot_check_interval_seconds = 0.000001\nshow_prob = 0.0\nrebook_prob = 1.0",
    "[behaviour]\nhuman_checks_per_day = 1e12\nconfirm_delay_hours = 0.0\ncancel_per_day = 1e9",
    "[confirmation]\nenabled = true\nlead_days = 0\nwindow_days = 1",
    "[legacy]\nrequests = 1000\nquota_per_day = 5\nreceived_from = \"2021-06-11\"\nreceived_until = \"2021-03-01\"",
    "[preexisting]\nbookings = 100000\nover_days = 1",
    "[office]\nopen_weekdays = [\"sun\"]\nholidays = [\"2021-06-14\", \"2021-06-14\"]",
    "[[variant]]\nname = \"v\"\nset = { \"allocation.policy\" = \"waitlist\" }",
    "[[variant]]\nname = \"w\"\nset = { \"service.*.bands.*.slots\" = 0 }",
    "[[variant]]\nname = \"base\"\nset = {}",
    "[sweep]\n\"service.0.bands.0.slots\" = [1, 20, 4000000000]\nreplications = 3",
    "[sweep]\n\"demand.arrivals_per_day\" = [0.0, 1e308]",
    "[sweep]\nreplications = 0",
    "[demand]\nparty_size_weights = [0, 0, 0, 0, 1]\nneed_by_days = { min = 0, max = 4000000000 }",
    "[demand]\nweekday_weights = [0, 0, 0, 0, 0, 0, 0]\npatience_days = 1e-9",
];

/// A byte range of the text.
type Span = (usize, usize);

/// Spans of number-like tokens and of double-quoted strings (contents only).
fn tokens(text: &str) -> (Vec<Span>, Vec<Span>) {
    let b = text.as_bytes();
    let (mut numbers, mut strings) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'"' {
            let start = i + 1;
            let end = b[start..].iter().position(|&c| c == b'"' || c == b'\n').map_or(b.len(), |p| start + p);
            strings.push((start, end));
            i = end + 1;
        } else if b[i] == b'#' {
            i = b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |p| i + p);
        } else if b[i].is_ascii_digit() || (b[i] == b'-' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            let start = i;
            i += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b"._+-:".contains(&b[i])) {
                i += 1;
            }
            numbers.push((start, i));
        } else {
            i += 1;
        }
    }
    (numbers, strings)
}

fn replace(text: &str, (a, b): Span, with: &str) -> String {
    let (a, b) = (a.min(text.len()), b.min(text.len()));
    if !text.is_char_boundary(a) || !text.is_char_boundary(b) {
        return text.to_string();
    }
    format!("{}{with}{}", &text[..a], &text[b..])
}

/// One mutation of `text`; `other` is another input to splice from.
fn mutate(rng: &mut Rng, text: &str, other: &str) -> String {
    let (numbers, strings) = tokens(text);
    let mut lines: Vec<&str> = text.lines().collect();
    match rng.below(11) {
        0..=2 if !numbers.is_empty() => {
            let span = *rng.pick(&numbers);
            let value = match rng.below(3) {
                0 => rng.pick(NUMBERS).to_string(),
                1 => (rng.next() % 100_000).to_string(),
                _ => format!("{:.3}", (rng.next() % 100_000) as f64 / 997.0),
            };
            replace(text, span, &value)
        }
        3 if !strings.is_empty() => {
            let span = *rng.pick(&strings);
            let value: &str = rng.pick::<&str>(STRINGS);
            replace(text, span, value)
        }
        4 if !lines.is_empty() => {
            lines.remove(rng.below(lines.len()));
            lines.join("\n")
        }
        5 if !lines.is_empty() => {
            let i = rng.below(lines.len());
            lines.insert(rng.below(lines.len() + 1), lines[i]);
            lines.join("\n")
        }
        6 if lines.len() > 1 => {
            let (i, j) = (rng.below(lines.len()), rng.below(lines.len()));
            lines.swap(i, j);
            lines.join("\n")
        }
        7 => {
            let theirs: Vec<&str> = other.lines().collect();
            if theirs.is_empty() {
                return text.to_string();
            }
            let start = rng.below(theirs.len());
            let n = 1 + rng.below(6);
            let chunk = theirs[start..(start + n).min(theirs.len())].join("\n");
            let at = rng.below(lines.len() + 1);
            let (head, tail) = lines.split_at(at);
            format!("{}\n{chunk}\n{}", head.join("\n"), tail.join("\n"))
        }
        8 => {
            let at = rng.below(lines.len() + 1);
            let (head, tail) = lines.split_at(at);
            format!("{}\n{}\n{}", head.join("\n"), rng.pick(INSERTS), tail.join("\n"))
        }
        9 if !text.is_empty() => {
            let mut bytes = text.as_bytes().to_vec();
            let i = rng.below(bytes.len());
            match rng.below(3) {
                0 => bytes[i] = (rng.next() % 128) as u8,
                1 => {
                    bytes.insert(i, *rng.pick(b"[]{}=,\"'.\n#0-"));
                }
                _ => bytes.truncate(i),
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
        _ => format!("{}\n{}", text, rng.pick(INSERTS)),
    }
}

fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn save(dir: &Path, prefix: &str, text: &str) -> PathBuf {
    std::fs::create_dir_all(dir).expect("create the output folder");
    let path = dir.join(format!("{prefix}{:016x}.toml", fnv(text)));
    std::fs::write(&path, text).expect("write the input");
    path
}

struct Options {
    replay: bool,
    minimize: bool,
    seconds: u64,
    seed: u64,
    save: bool,
    hang_seconds: u64,
}

fn options() -> Options {
    let mut o = Options { replay: false, minimize: false, seconds: 60, seed: 1, save: false, hang_seconds: 20 };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| -> u64 {
            args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{name} needs a whole number"))
        };
        match a.as_str() {
            "--seconds" => o.seconds = value("--seconds"),
            "--seed" => o.seed = value("--seed"),
            "--hang-seconds" => o.hang_seconds = value("--hang-seconds"),
            "--save" => o.save = true,
            "--replay" => o.replay = true,
            "--minimize" => o.minimize = true,
            other => panic!(
                "unknown argument {other}: use --replay, --minimize, or --seconds N, --seed N, --hang-seconds N, --save"
            ),
        }
    }
    o
}

/// `text` without comment lines and trailing comments (scenario strings hold no `#`), so
/// that inputs and the corpus stay small.
fn without_comments(text: &str) -> String {
    let lines: Vec<&str> =
        text.lines().map(|l| l.split('#').next().unwrap_or("").trim_end()).filter(|l| !l.is_empty()).collect();
    lines.join("\n") + "\n"
}

fn read_tomls(dir: &Path, into: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<PathBuf> = entries.map(|e| e.expect("list").path()).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            read_tomls(&p, into);
        } else if p.extension().is_some_and(|e| e == "toml") {
            into.push(without_comments(&String::from_utf8_lossy(&std::fs::read(&p).expect("read"))));
        }
    }
}

/// Shrinks every corpus file: drops lines one at a time while the outcome stays the same,
/// then removes files whose outcome another (smaller) file already has.
fn minimize(dir: &Path) {
    std::panic::set_hook(Box::new(|_| {}));
    let mut paths: Vec<PathBuf> =
        std::fs::read_dir(dir).expect("fuzz/corpus").map(|e| e.expect("list").path()).collect();
    paths.sort();
    let mut kept: Vec<(harness::Outcome, usize, PathBuf)> = Vec::new();
    for p in paths {
        let text = String::from_utf8_lossy(&std::fs::read(&p).expect("read")).into_owned();
        let Ok(goal) = std::panic::catch_unwind(|| harness::check(&text)) else { continue };
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let mut i = 0;
        while i < lines.len() {
            let mut fewer = lines.clone();
            fewer.remove(i);
            let candidate = fewer.join("\n") + "\n";
            if std::panic::catch_unwind(|| harness::check(&candidate)).is_ok_and(|o| o == goal) {
                lines = fewer;
            } else {
                i += 1;
            }
        }
        let text = lines.join("\n") + "\n";
        std::fs::write(&p, &text).expect("write");
        match kept.iter_mut().find(|(o, _, _)| *o == goal) {
            Some((_, len, path)) if *len <= text.len() => std::fs::remove_file(&p).expect("remove"),
            Some(entry) => {
                std::fs::remove_file(&entry.2).expect("remove");
                *entry = (goal, text.len(), p);
            }
            None => kept.push((goal, text.len(), p)),
        }
    }
    println!("{} corpus files kept", kept.len());
}

fn main() {
    let o = options();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (corpus_dir, findings) = (root.join("fuzz/corpus"), root.join("fuzz/findings"));
    if o.minimize {
        minimize(&corpus_dir);
        return;
    }
    if o.replay {
        // Each corpus file's outcome, to see what the corpus covers.
        let mut paths: Vec<PathBuf> =
            std::fs::read_dir(&corpus_dir).expect("fuzz/corpus").map(|e| e.expect("list").path()).collect();
        paths.sort();
        for p in paths {
            let text = String::from_utf8_lossy(&std::fs::read(&p).expect("read")).into_owned();
            let started = Instant::now();
            let outcome = harness::check(&text);
            println!("{} ({:.3} s): {outcome:?}", p.display(), started.elapsed().as_secs_f64());
        }
        return;
    }
    let mut pool = Vec::new();
    read_tomls(&root.join("scenarios"), &mut pool);
    read_tomls(&corpus_dir, &mut pool);
    assert!(!pool.is_empty(), "no seed inputs in scenarios/ or fuzz/corpus/");

    // A watchdog: the input being run and when it started; one running too long is a hang.
    let current = Arc::new(std::sync::Mutex::new(String::new()));
    let started_ms = Arc::new(AtomicU64::new(u64::MAX));
    let epoch = Instant::now();
    {
        let (current, started_ms, findings, limit) =
            (current.clone(), started_ms.clone(), findings.clone(), o.hang_seconds);
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(500));
                let since = started_ms.load(Ordering::SeqCst);
                let now = epoch.elapsed().as_millis() as u64;
                if since != u64::MAX && now.saturating_sub(since) > limit * 1000 {
                    let text = current.lock().map(|t| t.clone()).unwrap_or_default();
                    let path = save(&findings, "hang-", &text);
                    eprintln!("HANG: an input ran for more than {limit} s; saved as {}", path.display());
                    std::process::exit(1);
                }
            }
        });
    }
    // Panics are findings, reported once each by the loop below; keep the default report short.
    std::panic::set_hook(Box::new(|info| eprintln!("panic: {info}")));

    let mut rng = Rng(o.seed);
    let mut seen: BTreeSet<harness::Outcome> = BTreeSet::new();
    for text in pool.clone() {
        if let Ok(outcome) = std::panic::catch_unwind(|| harness::check(&text)) {
            seen.insert(outcome);
        }
    }
    let (mut runs, mut panics, mut last_new) = (0u64, 0u64, 0u64);
    let deadline = Duration::from_secs(o.seconds);
    while epoch.elapsed() < deadline {
        let parent = rng.below(pool.len());
        let other = rng.below(pool.len());
        let mut text = pool[parent].clone();
        for _ in 0..1 + rng.below(4) {
            text = mutate(&mut rng, &text, &pool[other]);
        }
        if text.len() > 4 * 1024 {
            continue;
        }
        runs += 1;
        if let Ok(mut c) = current.lock() {
            c.clone_from(&text);
        }
        started_ms.store(epoch.elapsed().as_millis() as u64, Ordering::SeqCst);
        let outcome = std::panic::catch_unwind(|| harness::check(&text));
        started_ms.store(u64::MAX, Ordering::SeqCst);
        match outcome {
            Err(_) => {
                panics += 1;
                let path = save(&findings, "panic-", &text);
                eprintln!("PANIC on input saved as {}", path.display());
            }
            Ok(outcome) => {
                if seen.insert(outcome) {
                    last_new = runs;
                    if o.save {
                        save(&corpus_dir, "", &text);
                    }
                    pool.push(text);
                }
            }
        }
    }
    println!(
        "{runs} inputs in {:.0} s: {} distinct outcomes, last new one at input {last_new}; {panics} panics; pool {}",
        epoch.elapsed().as_secs_f64(),
        seen.len(),
        pool.len()
    );
}
