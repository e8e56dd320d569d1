//! Seeded random streams: one independent ChaCha stream per (seed, purpose, index).
//!
//! A model never shares one generator between parties or purposes. Each party draws from
//! its own streams, derived from the replication seed, a [`Purpose`] and the party's index,
//! so what one party draws never depends on what another drew, and the same seed gives the
//! same population under every policy (common random numbers).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What a stream is for. The numeric value is part of the stream's derivation: never
/// renumber a purpose, or every seed's results change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u64)]
pub enum Purpose {
    /// Arrival instants of new demand.
    Arrivals = 1,
    /// A portal party's attributes drawn at arrival (size, need-by, automation, patience).
    PartyAttributes = 2,
    /// A party's behaviour draws over its life (confirmations, shows, cancellations).
    PartyBehaviour = 3,
    /// Release-time jitter, one draw per day.
    Release = 4,
    /// A service's allocation policy (the checking race, lottery draws).
    Policy = 5,
    /// Legacy e-mail requests: receipt times and sizes.
    Legacy = 6,
    /// Pre-existing bookings from the old portal: sizes.
    Preexisting = 7,
    /// Attributes of legacy parties (one stream each).
    LegacyParty = 8,
    /// Attributes of pre-existing parties (one stream each).
    PreexistingParty = 9,
}

/// Derives streams for one replication seed.
#[derive(Debug, Clone, Copy)]
pub struct Streams {
    seed: u64,
}

/// SplitMix64's output function: a bijective mixer with good avalanche.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Streams {
    /// Streams for replication seed `seed`.
    pub fn new(seed: u64) -> Self {
        Self { seed }
    }

    /// The stream for `purpose` and `index` (a party number, a service number, ...).
    pub fn stream(&self, purpose: Purpose, index: u64) -> Stream {
        let mut key = [0u8; 32];
        let mut state = mix(self.seed) ^ mix(purpose as u64).rotate_left(17) ^ mix(index).rotate_left(41);
        for chunk in key.chunks_exact_mut(8) {
            state = mix(state);
            chunk.copy_from_slice(&state.to_le_bytes());
        }
        Stream { rng: ChaCha8Rng::from_seed(key) }
    }
}

/// One random stream with the few distributions the model needs.
#[derive(Debug, Clone)]
pub struct Stream {
    rng: ChaCha8Rng,
}

impl Stream {
    /// Uniform on [0, 1).
    pub fn uniform(&mut self) -> f64 {
        self.rng.random::<f64>()
    }

    /// `true` with probability `p`.
    pub fn bernoulli(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// Exponential with mean `mean` (any unit); `mean <= 0` gives 0.
    pub fn exponential(&mut self, mean: f64) -> f64 {
        if mean <= 0.0 {
            return 0.0;
        }
        // 1 - u is in (0, 1], so the logarithm is finite.
        -(1.0 - self.uniform()).ln() * mean
    }

    /// Uniform integer in `lo..=hi`.
    pub fn integer(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo { lo } else { self.rng.random_range(lo..=hi) }
    }

    /// An index drawn with probability proportional to `weights` (not all zero).
    pub fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut u = self.uniform() * total;
        for (i, w) in weights.iter().enumerate() {
            if u < *w {
                return i;
            }
            u -= w;
        }
        weights.iter().rposition(|w| *w > 0.0).unwrap_or(0)
    }

    /// Shuffles `items` uniformly (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.rng.random_range(0..=i);
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let s = Streams::new(42);
        let a: Vec<f64> =
            (0..5).map(|_| 0.0).scan(s.stream(Purpose::PartyBehaviour, 7), |r, _| Some(r.uniform())).collect();
        let b: Vec<f64> =
            (0..5).map(|_| 0.0).scan(s.stream(Purpose::PartyBehaviour, 7), |r, _| Some(r.uniform())).collect();
        assert_eq!(a, b);
        let mut other = s.stream(Purpose::PartyBehaviour, 8);
        assert_ne!(a[0], other.uniform());
        let mut other_purpose = s.stream(Purpose::PartyAttributes, 7);
        assert_ne!(a[0], other_purpose.uniform());
        let mut other_seed = Streams::new(43).stream(Purpose::PartyBehaviour, 7);
        assert_ne!(a[0], other_seed.uniform());
    }

    #[test]
    fn exponential_mean_is_close() {
        // 200,000 draws: the standard error of the mean is 1/sqrt(200000) ≈ 0.0022 of the
        // mean, so 1% is more than four standard errors.
        let mut r = Streams::new(1).stream(Purpose::Policy, 0);
        let n = 200_000;
        let mean = (0..n).map(|_| r.exponential(3.0)).sum::<f64>() / n as f64;
        assert!((mean - 3.0).abs() < 0.03, "mean {mean}");
    }

    #[test]
    fn weighted_follows_weights() {
        let mut r = Streams::new(2).stream(Purpose::Policy, 1);
        let mut counts = [0usize; 3];
        for _ in 0..100_000 {
            counts[r.weighted(&[1.0, 0.0, 3.0])] += 1;
        }
        assert_eq!(counts[1], 0);
        let share = counts[2] as f64 / 100_000.0;
        // Binomial standard error sqrt(0.75*0.25/1e5) ≈ 0.0014: 0.01 is seven of them.
        assert!((share - 0.75).abs() < 0.01, "share {share}");
    }
}
