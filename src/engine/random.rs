//! Seeded random streams: one independent stream per (seed, purpose, index).
//!
//! A model never shares one generator between parties or purposes. Each party draws from
//! its own streams, derived from the replication seed, a [`Purpose`] and the party's index,
//! so what one party draws never depends on what another drew, and the same seed gives the
//! same population under every policy (common random numbers).
//!
//! The generator is Philox4x64-10 (Salmon, Moraes, Dror and Shaw, "Parallel random
//! numbers: as easy as 1, 2, 3", SC 2011), a counter-based generator: block `n` of a
//! stream is the keyed bijection of the counter `(n, index, purpose, sub)` under a key
//! derived from the seed. Opening a stream therefore costs nothing and holds no state
//! beyond the counter, which matters when a replication opens tens of thousands of
//! short-lived party streams. Philox passes TestU01's BigCrush for any key and counter
//! pattern, and is the generator behind NumPy's `Philox` and cuRAND's Philox; the
//! implementation here is checked against NumPy's output.

use rand::{RngExt, TryRng};
use rand_distr::{Distribution, Exp1};

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
    key: [u64; 2],
}

/// SplitMix64's output function: a bijective mixer with good avalanche.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const PHILOX_M0: u64 = 0xD2E7_470E_E14C_6C93;
const PHILOX_M1: u64 = 0xCA5A_8263_9512_1157;
const PHILOX_W0: u64 = 0x9E37_79B9_7F4A_7C15;
const PHILOX_W1: u64 = 0xBB67_AE85_84CA_A73B;

/// One Philox round on a counter block.
#[inline(always)]
fn philox_round([c0, c1, c2, c3]: [u64; 4], [k0, k1]: [u64; 2]) -> [u64; 4] {
    let p0 = u128::from(PHILOX_M0) * u128::from(c0);
    let p1 = u128::from(PHILOX_M1) * u128::from(c2);
    let (hi0, lo0) = ((p0 >> 64) as u64, p0 as u64);
    let (hi1, lo1) = ((p1 >> 64) as u64, p1 as u64);
    [hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0]
}

/// The Philox4x64 block function with 10 rounds: 256 random bits from a counter and key.
#[cfg(test)]
fn philox4x64_10(counter: [u64; 4], key: [u64; 2]) -> [u64; 4] {
    let (mut c, mut k) = (counter, key);
    for round in 0..10 {
        if round > 0 {
            k = [k[0].wrapping_add(PHILOX_W0), k[1].wrapping_add(PHILOX_W1)];
        }
        c = philox_round(c, k);
    }
    c
}

/// Two consecutive Philox4x64-10 blocks (counters `n` and `n + 1` in the first word),
/// computed together: the two multiply chains interleave, so two blocks take about the
/// time of one.
#[inline]
fn philox4x64_10_pair(counter: [u64; 4], key: [u64; 2]) -> [u64; 8] {
    let mut a = counter;
    let mut b = counter;
    b[0] = b[0].wrapping_add(1);
    let mut k = key;
    for round in 0..10 {
        if round > 0 {
            k = [k[0].wrapping_add(PHILOX_W0), k[1].wrapping_add(PHILOX_W1)];
        }
        a = philox_round(a, k);
        b = philox_round(b, k);
    }
    [a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]]
}

impl Streams {
    /// Streams for replication seed `seed`.
    pub fn new(seed: u64) -> Self {
        Self { key: [mix(seed), mix(seed ^ 0x5DEE_CE66_D1CE_5EED)] }
    }

    /// The stream for `purpose` and `index` (a party number, a service number, ...).
    pub fn stream(&self, purpose: Purpose, index: u64) -> Stream {
        self.substream(purpose, index, 0)
    }

    /// Sub-stream `sub` of the stream for `purpose` and `index` (a party's k-th booking,
    /// say): independent of the stream itself and of every other sub-stream.
    pub fn substream(&self, purpose: Purpose, index: u64, sub: u64) -> Stream {
        Stream { key: self.key, counter: [0, index, purpose as u64, sub], buffer: [0; 8], used: 8 }
    }
}

/// One random stream with the few distributions the model needs.
#[derive(Debug, Clone)]
pub struct Stream {
    key: [u64; 2],
    /// The next block's counter: block number, index, purpose, sub-stream.
    counter: [u64; 4],
    /// Two blocks at a time.
    buffer: [u64; 8],
    /// Words of `buffer` already handed out.
    used: u8,
}

impl Stream {
    fn next_word(&mut self) -> u64 {
        if self.used == 8 {
            self.buffer = philox4x64_10_pair(self.counter, self.key);
            self.counter[0] = self.counter[0].wrapping_add(2);
            self.used = 0;
        }
        let word = self.buffer[self.used as usize];
        self.used += 1;
        word
    }
}

impl TryRng for Stream {
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        // The high half: the better-mixed bits of a multiply-based generator.
        Ok((self.next_word() >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(self.next_word())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.next_word().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

impl Stream {
    /// Uniform on [0, 1).
    pub fn uniform(&mut self) -> f64 {
        self.random::<f64>()
    }

    /// `true` with probability `p`.
    pub fn bernoulli(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// Exponential with mean `mean` (any unit); `mean <= 0` gives 0. Drawn by the
    /// ziggurat method (`rand_distr::Exp1`): one word and no logarithm, nearly always.
    pub fn exponential(&mut self, mean: f64) -> f64 {
        if mean <= 0.0 {
            return 0.0;
        }
        let x: f64 = Exp1.sample(self);
        x * mean
    }

    /// Uniform integer in `lo..=hi`.
    pub fn integer(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo { lo } else { self.random_range(lo..=hi) }
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
            let j = self.random_range(0..=i);
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
    fn philox_matches_numpy() {
        // numpy.random.Philox(key=k, counter=c).random_raw(4) (k, c as uint64 arrays)
        // encrypts counter c + 1.
        // key 0, counter 0: ['0x2f4ba6408e4d89b', '0x3dd62b0b9ca8c5b2', '0x1c8667a55d902e79', '0x907d7a052fd5b4dc']
        assert_eq!(
            philox4x64_10([1, 0, 0, 0], [0, 0]),
            [0x02f4_ba64_08e4_d89b, 0x3dd6_2b0b_9ca8_c5b2, 0x1c86_67a5_5d90_2e79, 0x907d_7a05_2fd5_b4dc]
        );
        // key [0x0123456789abcdef, 0xfedcba9876543210], counter [5, 7, 3, 1].
        assert_eq!(
            philox4x64_10([6, 7, 3, 1], [0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210]),
            [0xbea7_8097_2f96_8028, 0xa37a_aea2_55dd_6216, 0xf427_03ac_b3c6_c568, 0x1083_6162_13ac_c4c2]
        );
    }

    #[test]
    fn streams_hand_out_blocks_in_counter_order() {
        let s = Streams::new(5);
        let mut r = s.substream(Purpose::Legacy, 11, 3);
        let words: Vec<u64> = (0..12).map(|_| r.next_word()).collect();
        let want: Vec<u64> = (0..3).flat_map(|n| philox4x64_10([n, 11, Purpose::Legacy as u64, 3], s.key)).collect();
        assert_eq!(words, want);
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
