//! The scenario fuzzer's corpus, replayed: every file in `fuzz/corpus/` goes through the
//! loader, validation and a short simulation (`harness.rs`) without a panic. Time is
//! bounded by construction (the harness's limits on days, memory and cells), not by a
//! clock. Grow the corpus with `cargo run --example fuzz_scenarios -- --save`.

mod harness;

use std::path::Path;

#[test]
fn every_corpus_input_is_refused_cleanly_or_simulated() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 20, "the corpus in {} is missing or nearly empty", dir.display());
    let mut kinds = std::collections::BTreeMap::new();
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let outcome = std::panic::catch_unwind(|| harness::check(&text))
            .unwrap_or_else(|_| panic!("{} panicked (see above)", file.display()));
        let kind = match outcome {
            harness::Outcome::Rejected(_) => "rejected",
            harness::Outcome::CellRejected(_) => "cell rejected",
            harness::Outcome::TooLarge => "too large",
            harness::Outcome::Simulated(_) => "simulated",
        };
        *kinds.entry(kind).or_insert(0) += 1;
    }
    eprintln!("{} corpus inputs: {kinds:?}", files.len());
    assert!(kinds.contains_key("rejected") && kinds.contains_key("simulated"), "{kinds:?}");
}
