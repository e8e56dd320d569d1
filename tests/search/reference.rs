//! The exact answers the coverage tests check against: the instant-booking limit.
//!
//! Every party is a script that checks about once a second, nothing is cancelled and every
//! day is bookable from the start (see `tests/model/known_results.rs`, which checks the
//! model against this queue party by party): each party takes the earliest day from the
//! day after its arrival with a free slot. With c slots a day, the mean lead time of a
//! run follows from its arrivals alone, through this bulk-service queue. Its expectation
//! over runs (what `optimize` and `select` estimate) is computed here by running the same
//! queue on many independent Poisson arrival streams from a generator of its own — no
//! simulator code — so precisely that its standard error is negligible against the gaps
//! the tests decide on (the tests check that too).

/// The tiny scenario: a month, ~12 parties a day and a launch backlog, one band a day.
pub fn scenario(slots: u32) -> String {
    format!(
        r#"
name = "instant booking small"
start = "2021-06-14"
days = {DAYS}

[office]
open_weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

[[service]]
name = "passport"
bands = [{{ start = "09:00", slots = {slots} }}]

[release]
kind = "rolling"
horizon_days = 400
min_lead_days = 1

[demand]
arrivals_per_day = {RATE:?}
initial_backlog = {BACKLOG}
party_size_weights = [1.0, 0.0, 0.0, 0.0, 0.0]
patience_days = 0.0

[behaviour]
bot_share = 1.0
bot_check_interval_seconds = 1.0
cancel_per_day = 0.0
show_prob = 1.0
docs_ok_prob = 1.0

[confirmation]
enabled = false
"#
    )
}

/// Run length, days.
pub const DAYS: u32 = 30;
/// Poisson arrivals per day.
pub const RATE: f64 = 12.0;
/// Parties waiting at time 0.
pub const BACKLOG: u32 = 40;
/// The band's start, as a share of a day.
const BAND_START: f64 = 9.0 / 24.0;

/// SplitMix64: a small generator independent of the simulator's streams.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Poisson by inversion (fine for small means).
    fn poisson(&mut self, mean: f64) -> usize {
        let u = self.uniform();
        let (mut k, mut p) = (0usize, (-mean).exp());
        let mut cdf = p;
        while u > cdf && k < 10_000 {
            k += 1;
            p *= mean / k as f64;
            cdf += p;
        }
        k
    }
}

/// One run's mean lead time (days) of the parties served within the run and its
/// utilization (served / (c × days)), for each capacity in `caps`, from one stream of
/// arrivals.
fn run_means(g: &mut SplitMix, caps: &[u32], arrivals: &mut Vec<f64>, out: &mut [(f64, f64)]) {
    arrivals.clear();
    arrivals.extend(std::iter::repeat_n(0.0, BACKLOG as usize));
    for d in 0..DAYS {
        let n = g.poisson(RATE);
        let start = arrivals.len();
        arrivals.extend((0..n).map(|_| f64::from(d) + g.uniform()));
        arrivals[start..].sort_by(f64::total_cmp);
    }
    for (k, &c) in caps.iter().enumerate() {
        // Days fill in order: `day` is the earliest with room, `used` its slots taken.
        let (mut day, mut used, mut sum, mut n) = (1u32, 0u32, 0.0, 0usize);
        for &t in arrivals.iter() {
            let earliest = t.floor() as u32 + 1;
            if earliest > day {
                day = earliest;
                used = 0;
            }
            if day < DAYS {
                sum += f64::from(day) + BAND_START - t;
                n += 1;
            }
            used += 1;
            if used == c {
                day += 1;
                used = 0;
            }
        }
        out[k] = (sum / n as f64, n as f64 / f64::from(c * DAYS));
    }
}

/// Expected value and standard error of a run's statistic.
#[derive(Debug, Clone, Copy)]
pub struct Expected {
    /// Mean over the runs.
    pub mean: f64,
    /// Its standard error.
    pub se: f64,
}

/// Expected mean lead time and utilization for each capacity in `caps`, over `runs`
/// independent arrival streams.
pub fn expected(caps: &[u32], runs: usize) -> Vec<(Expected, Expected)> {
    let mut g = SplitMix(0x005e_ed0f_7e57);
    let mut arrivals = Vec::new();
    let mut out = vec![(0.0, 0.0); caps.len()];
    let mut sums = vec![[0.0f64; 4]; caps.len()];
    for _ in 0..runs {
        run_means(&mut g, caps, &mut arrivals, &mut out);
        for (s, &(lead, util)) in sums.iter_mut().zip(&out) {
            s[0] += lead;
            s[1] += lead * lead;
            s[2] += util;
            s[3] += util * util;
        }
    }
    let n = runs as f64;
    let e = |s: f64, s2: f64| {
        let m = s / n;
        Expected { mean: m, se: ((s2 - n * m * m) / (n - 1.0) / n).max(0.0).sqrt() }
    };
    sums.iter().map(|s| (e(s[0], s[1]), e(s[2], s[3]))).collect()
}
