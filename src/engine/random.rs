//! Seeded random streams: one independent stream per (seed, purpose, index).
//!
//! A model never shares one generator between parties or purposes. Each party draws from
//! its own streams, derived from the replication seed, a purpose and the party's index,
//! so what one party draws never depends on what another drew, and the same seed gives the
//! same population under every policy (common random numbers). The engine knows nothing
//! of what the purposes are: a model numbers them (the portal's in
//! `crate::model::streams::Purpose`) and opens streams by [`PurposeId`], from
//! [`Streams<N>`] for purposes `0..N`.
//!
//! The generator is xoshiro256++ (Blackman and Vigna, "Scrambled linear pseudorandom
//! number generators", ACM TOMS 2021), through `rand_xoshiro`: 256 bits of state, a few
//! instructions per draw, and it passes TestU01's BigCrush. A stream's state is seeded,
//! as its authors recommend, from SplitMix64 on a 64-bit key: the key hashes
//! `(seed, purpose, index, sub)` through a chain of SplitMix64's bijective mixer, so
//! distinct streams start at unrelated points of the 2^256 − 1 period. Opening a stream
//! costs a handful of multiplications.
//!
//! A replication also opens some 80,000 streams of a handful of draws each (a party's
//! attributes, a booking's fate). Those are [`ShortStream`]s: SplitMix64 (Steele, Lea and
//! Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014; it passes
//! BigCrush) started directly at the stream's key, so opening one costs nothing beyond
//! the key. A booking's fate is drawn from eight such streams, one per part (whether the
//! party confirms, when, whether it shows, ...), 2^32 steps apart on the sequence
//! ([`ShortStream::part`]), so each part is drawn only if it matters and always gets
//! the same numbers. SplitMix64 walks one Weyl sequence, so two short streams could
//! share draws only if their starts lay within a few steps of each other on it: with n
//! streams of d draws that has probability about n²·d / 2^64, below 10^-7 per
//! replication here (n ≈ 500,000 streams of one or two draws).
//! (ChaCha and Philox were measured here first, then xoshiro for every stream: see
//! BENCHMARKS.md.)

use rand::{RngExt, SeedableRng, TryRng};
use rand_distr::{Distribution, Exp1};
use rand_xoshiro::{SplitMix64, Xoshiro256PlusPlus};

/// What a stream is for, as the number a model gives it (a model names its purposes in an
/// enum that converts into this). The number is part of the stream's derivation: never
/// renumber a purpose, or every seed's results change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PurposeId(pub u64);

/// Derives streams for one replication seed, for the purposes numbered `0..N` (`N` is one
/// more than the model's largest purpose).
#[derive(Debug, Clone, Copy)]
pub struct Streams<const N: usize> {
    /// The key's first two rounds, `mix(mix(seed) ^ purpose)`, by purpose number.
    prefix: [u64; N],
}

/// SplitMix64's output function: a bijective mixer with good avalanche.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl<const N: usize> Streams<N> {
    /// Streams for replication seed `seed`.
    pub fn new(seed: u64) -> Self {
        Self { prefix: std::array::from_fn(|purpose| mix(mix(seed) ^ purpose as u64)) }
    }

    /// The stream for `purpose` and `index` (a party number, a service number, ...); the
    /// same as sub-stream 0.
    pub fn stream(&self, purpose: impl Into<PurposeId>, index: u64) -> Stream {
        self.substream(purpose, index, 0)
    }

    /// Sub-stream `sub` of the stream for `purpose` and `index` (a party's k-th booking,
    /// say): independent of every other sub-stream.
    pub fn substream(&self, purpose: impl Into<PurposeId>, index: u64, sub: u64) -> Stream {
        Stream { rng: Xoshiro256PlusPlus::seed_from_u64(self.key_of(purpose, index, sub)) }
    }

    /// A [`ShortStream`] for `purpose`, `index` and `sub`: for a handful of draws (a
    /// party's attributes).
    pub fn short(&self, purpose: impl Into<PurposeId>, index: u64, sub: u64) -> ShortStream {
        ShortStream::part(self.key_of(purpose, index, sub), 0)
    }

    /// The 64-bit key of a stream: each field of `(seed, purpose, index, sub)` goes
    /// through the bijective mixer with the previous ones, so two different tuples share a
    /// key only by a 2^-64 accident. The first two rounds are looked up. A short stream's
    /// parts are opened from it with [`ShortStream::part`].
    ///
    /// # Panics
    ///
    /// If the purpose's number is not below `N`.
    pub fn key_of(&self, purpose: impl Into<PurposeId>, index: u64, sub: u64) -> u64 {
        mix(mix(self.prefix[purpose.into().0 as usize] ^ index) ^ sub)
    }

    /// The key of `(seed, purpose, index, sub)` computed in full, for tests.
    #[cfg(test)]
    fn key(seed: u64, purpose: u64, index: u64, sub: u64) -> u64 {
        mix(mix(mix(mix(seed) ^ purpose) ^ index) ^ sub)
    }
}

/// One random stream with the few distributions the model needs.
#[derive(Debug, Clone)]
pub struct Stream<R = Xoshiro256PlusPlus> {
    rng: R,
}

/// A stream for a handful of draws, opened at no cost: SplitMix64 from the stream's key.
pub type ShortStream = Stream<SplitMix64>;

/// Distance between the parts of one key on SplitMix64's Weyl sequence: 2^32 steps.
const PART_SPACING: u64 = 0x9E37_79B9_7F4A_7C15u64.wrapping_shl(32);

impl ShortStream {
    /// Part `part` of the short streams of `key` (part 0 is [`Streams::short`]'s stream):
    /// SplitMix64 started `part` × 2^32 steps further along its sequence, so the parts are
    /// independent streams and one part's draws never depend on whether another part was
    /// drawn from. A booking's fate draws each of its parts only when it matters.
    pub fn part(key: u64, part: u64) -> Self {
        Stream { rng: SplitMix64::from_seed(key.wrapping_add(part.wrapping_mul(PART_SPACING)).to_le_bytes()) }
    }
}

impl<R: TryRng<Error = std::convert::Infallible>> TryRng for Stream<R> {
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        self.rng.try_next_u32()
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        self.rng.try_next_u64()
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        self.rng.try_fill_bytes(dst)
    }
}

impl<R: TryRng<Error = std::convert::Infallible>> Stream<R> {
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

    /// Streams for ten purposes, numbered as a model might (the portal's, say).
    type Streams = super::Streams<10>;
    const ATTRIBUTES: PurposeId = PurposeId(2);
    const BEHAVIOUR: PurposeId = PurposeId(3);
    const POLICY: PurposeId = PurposeId(5);
    const LEGACY: PurposeId = PurposeId(6);

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let s = Streams::new(42);
        let a: Vec<f64> = (0..5).map(|_| 0.0).scan(s.stream(BEHAVIOUR, 7), |r, _| Some(r.uniform())).collect();
        let b: Vec<f64> = (0..5).map(|_| 0.0).scan(s.stream(BEHAVIOUR, 7), |r, _| Some(r.uniform())).collect();
        assert_eq!(a, b);
        let mut other = s.stream(BEHAVIOUR, 8);
        assert_ne!(a[0], other.uniform());
        let mut other_purpose = s.stream(ATTRIBUTES, 7);
        assert_ne!(a[0], other_purpose.uniform());
        let mut other_seed = Streams::new(43).stream(BEHAVIOUR, 7);
        assert_ne!(a[0], other_seed.uniform());
    }

    #[test]
    fn streams_follow_the_reference_generator() {
        // A stream is xoshiro256++ seeded by SplitMix64 from its key, a short stream
        // SplitMix64 started at its key; both generators are checked against the reference
        // C output in `rand_xoshiro`'s own tests.
        let s = Streams::new(5);
        let mut r = s.substream(LEGACY, 11, 3);
        let mut reference = Xoshiro256PlusPlus::seed_from_u64(Streams::key(5, LEGACY.0, 11, 3));
        for _ in 0..10 {
            assert_eq!(rand::Rng::next_u64(&mut r), rand::Rng::next_u64(&mut reference));
        }
        assert_eq!(s.key_of(LEGACY, 11, 3), Streams::key(5, LEGACY.0, 11, 3));
        let mut short = s.short(BEHAVIOUR, 11, 3);
        let mut reference = SplitMix64::from_seed(Streams::key(5, BEHAVIOUR.0, 11, 3).to_le_bytes());
        for _ in 0..10 {
            assert_eq!(rand::Rng::next_u64(&mut short), rand::Rng::next_u64(&mut reference));
        }
        assert_ne!(Streams::key(5, 6, 11, 3), Streams::key(5, 6, 3, 11), "fields are not interchangeable");
        assert_ne!(Streams::key(5, 6, 11, 0), Streams::key(6, 6, 11, 0));
    }

    #[test]
    #[should_panic(expected = "index out of bounds")]
    fn a_purpose_beyond_the_table_panics() {
        Streams::new(1).key_of(PurposeId(10), 0, 0);
    }

    #[test]
    fn parts_are_reproducible_and_distinct() {
        let s = Streams::new(3);
        let key = s.key_of(BEHAVIOUR, 7, 2);
        let first = |part| rand::Rng::next_u64(&mut ShortStream::part(key, part));
        assert_eq!(first(0), rand::Rng::next_u64(&mut s.short(BEHAVIOUR, 7, 2)), "part 0 is the short stream");
        let firsts: Vec<u64> = (0..8).map(first).collect();
        assert_eq!(firsts, (0..8).map(first).collect::<Vec<_>>());
        let mut sorted = firsts.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 8, "eight parts, eight different streams");
    }

    #[test]
    fn exponential_mean_is_close() {
        // 200,000 draws: the standard error of the mean is 1/sqrt(200000) ≈ 0.0022 of the
        // mean, so 1% is more than four standard errors.
        let mut r = Streams::new(1).stream(POLICY, 0);
        let n = 200_000;
        let mean = (0..n).map(|_| r.exponential(3.0)).sum::<f64>() / n as f64;
        assert!((mean - 3.0).abs() < 0.03, "mean {mean}");
    }

    #[test]
    fn weighted_follows_weights() {
        let mut r = Streams::new(2).stream(POLICY, 1);
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
