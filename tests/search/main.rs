//! `optimize` and `select`: measured coverage on a case with a known answer, reproducible
//! outputs, reproduction of replications by `run`, and bad input.

mod reference;

#[test]
fn print_reference() {
    let caps: Vec<u32> = (10..=24).collect();
    let t = std::time::Instant::now();
    let r = reference::expected_lead(&caps, 100_000);
    for (c, (m, se)) in caps.iter().zip(&r) {
        eprintln!("c {c}: {m:.5} ± {se:.5}");
    }
    eprintln!("{:?}", t.elapsed());
    let cfg = slotsim::scenario::Scenario::from_toml_str(&reference::scenario(15)).unwrap().model_config().unwrap();
    let t = std::time::Instant::now();
    let mut xs = vec![];
    for seed in 1..=200 {
        xs.push(slotsim::stats::summarize(&slotsim::model::simulate(&cfg, seed)).lead_days_mean.unwrap());
    }
    let m = xs.iter().sum::<f64>() / xs.len() as f64;
    let sd = (xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / 199.0).sqrt();
    eprintln!("sim c=15: {m:.4} sd {sd:.4} in {:?}", t.elapsed());
}
