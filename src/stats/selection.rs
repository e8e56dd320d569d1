//! Choosing the best of k systems: Kim and Nelson's fully sequential procedure KN on
//! paired differences over common seeds, and the fixed equal-allocation design with the
//! same guarantee.
//!
//! # KN (Kim & Nelson, 2001, ACM TOMACS 11(3), "A fully sequential procedure for
//! indifference-zone selection in simulation")
//!
//! Every surviving system gets one more replication per stage, all with the same seed.
//! After a first stage of n₀ replications, S²ᵢₗ is the sample variance of the differences
//! Xᵢ − Xₗ, and with η = ½[(2α/(k − 1))^(−2/(n₀−1)) − 1] and h² = 2η(n₀ − 1) system i is
//! eliminated at stage r ≥ n₀ when its mean falls below some other survivor's by more than
//! Wᵢₗ(r) = max(0, δ/(2r) · (h²S²ᵢₗ/δ² − r)). The procedure stops when one system is
//! left. If the best mean is at least δ better than every other, the best is chosen with
//! probability at least 1 − α (for normal outputs; paired differences absorb the
//! correlation that common seeds bring, which is what makes them pay). KN never needs more
//! than ⌊h²S²ᵢₗ/δ²⌋ + 1 stages for a pair: beyond that Wᵢₗ = 0 and the larger mean wins.
//!
//! ```
//! use slotsim::stats::selection::{Kn, KnParams};
//!
//! // Three systems whose means are 0, 1 and 3, every replication the same: the third wins.
//! let mut kn = Kn::new(KnParams { systems: 3, first_stage: 5, delta: 0.5, alpha: 0.05 }, true);
//! let data: Vec<Vec<f64>> = (0..3)
//!     .map(|i| (0..20).map(|s| [0.0, 1.0, 3.0][i] + (s % 3) as f64 * 0.1).collect())
//!     .collect();
//! kn.advance(&data);
//! assert_eq!(kn.selected(), Some(2));
//! ```

use super::compare::{sample_sd, t_critical};

/// The inputs of KN.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KnParams {
    /// Number of systems k (at least 1).
    pub systems: usize,
    /// First-stage replications n₀ (at least 2).
    pub first_stage: usize,
    /// Indifference zone δ > 0: differences smaller than this do not matter.
    pub delta: f64,
    /// Error probability α in (0, 1).
    pub alpha: f64,
}

impl KnParams {
    /// KN's constant h² = 2η(n₀ − 1).
    ///
    /// ```
    /// use slotsim::stats::selection::KnParams;
    /// // k = 2, α = 0.05, n₀ = 10: η = ½(0.1^(−2/9) − 1).
    /// let h2 = KnParams { systems: 2, first_stage: 10, delta: 1.0, alpha: 0.05 }.h2();
    /// assert!((h2 - 9.0 * (0.1f64.powf(-2.0 / 9.0) - 1.0)).abs() < 1e-12);
    /// ```
    pub fn h2(&self) -> f64 {
        let k = self.systems.max(2) as f64;
        let n0 = self.first_stage as f64;
        let eta = 0.5 * ((2.0 * self.alpha / (k - 1.0)).powf(-2.0 / (n0 - 1.0)) - 1.0);
        2.0 * eta * (n0 - 1.0)
    }
}

/// The state of a KN run: survivors, their elimination stages, the first-stage variances.
#[derive(Debug, Clone, PartialEq)]
pub struct Kn {
    params: KnParams,
    higher_is_better: bool,
    h2: f64,
    /// S²ᵢₗ, once the first stage is in.
    variances: Option<Vec<Vec<f64>>>,
    /// Stage at which each system left (`None`: still in).
    eliminated_at: Vec<Option<usize>>,
    /// Stages processed (replications per survivor).
    stage: usize,
    /// Running sums per system over the stages processed.
    sums: Vec<f64>,
}

impl Kn {
    /// A new run; `higher_is_better` says which way the metric is better.
    pub fn new(params: KnParams, higher_is_better: bool) -> Self {
        let k = params.systems;
        Self {
            params,
            higher_is_better,
            h2: params.h2(),
            variances: None,
            eliminated_at: vec![None; k],
            stage: 0,
            sums: vec![0.0; k],
        }
    }

    /// Indices of the systems still in.
    pub fn survivors(&self) -> Vec<usize> {
        (0..self.params.systems).filter(|&i| self.eliminated_at[i].is_none()).collect()
    }

    /// Stages processed so far: the replications each survivor has used.
    pub fn stage(&self) -> usize {
        self.stage
    }

    /// The replications system `i` used: its elimination stage, or the stages so far.
    pub fn used(&self, i: usize) -> usize {
        self.eliminated_at[i].unwrap_or(self.stage)
    }

    /// The chosen system, once one is left.
    pub fn selected(&self) -> Option<usize> {
        let s = self.survivors();
        (s.len() == 1).then(|| s[0])
    }

    /// The survivor with the best mean so far (the choice when stopped early), ties to the
    /// lowest index.
    pub fn leader(&self) -> Option<usize> {
        let s = self.survivors();
        let sign = if self.higher_is_better { 1.0 } else { -1.0 };
        s.into_iter().reduce(|a, b| if sign * self.sums[b] > sign * self.sums[a] { b } else { a })
    }

    /// S²ᵢₗ, once the first stage is in.
    pub fn variances(&self) -> Option<&[Vec<f64>]> {
        self.variances.as_deref()
    }

    /// Processes every stage for which each survivor has a value in `data` (system ×
    /// replication, replication r of every system from the same seed), eliminating as KN
    /// says, until one system is left.
    pub fn advance(&mut self, data: &[Vec<f64>]) {
        let k = self.params.systems;
        assert_eq!(data.len(), k, "one series per system");
        let n0 = self.params.first_stage;
        if self.variances.is_none() {
            if k == 1 {
                self.variances = Some(vec![vec![0.0]]);
            } else {
                if data.iter().any(|d| d.len() < n0) {
                    return;
                }
                let mut v = vec![vec![0.0; k]; k];
                for i in 0..k {
                    for l in 0..k {
                        if i != l {
                            let d: Vec<f64> = (0..n0).map(|r| data[i][r] - data[l][r]).collect();
                            v[i][l] = sample_sd(&d).map_or(0.0, |s| s * s);
                        }
                    }
                }
                self.variances = Some(v);
            }
        }
        while self.selected().is_none() {
            let survivors = self.survivors();
            if survivors.iter().any(|&i| data[i].len() <= self.stage) {
                return;
            }
            for &i in &survivors {
                self.sums[i] += data[i][self.stage];
            }
            self.stage += 1;
            if self.stage >= n0 {
                self.eliminate(&survivors);
            }
        }
    }

    fn eliminate(&mut self, survivors: &[usize]) {
        let r = self.stage as f64;
        let delta = self.params.delta;
        let sign = if self.higher_is_better { 1.0 } else { -1.0 };
        let variances = self.variances.as_ref().expect("first stage in");
        let means: Vec<f64> = self.sums.iter().map(|s| sign * s / r).collect();
        let mut out = Vec::new();
        for &i in survivors {
            for &l in survivors {
                if i == l {
                    continue;
                }
                let w = (delta / (2.0 * r) * (self.h2 * variances[i][l] / (delta * delta) - r)).max(0.0);
                // Ties with no slack left (identical outputs) go to the lower index.
                if means[i] < means[l] - w || (w == 0.0 && means[i] == means[l] && i > l) {
                    out.push(i);
                    break;
                }
            }
        }
        for i in out {
            self.eliminated_at[i] = Some(self.stage);
        }
    }

    /// The most stages KN can take, from the first-stage variances: ⌊h² max S²ᵢₗ / δ²⌋ + 1.
    pub fn max_stages(&self) -> Option<usize> {
        let v = self.variances.as_ref()?;
        let max = v.iter().flatten().fold(0.0f64, |a, &b| a.max(b));
        Some(
            ((self.h2 * max / (self.params.delta * self.params.delta)).floor() as usize + 1)
                .max(self.params.first_stage),
        )
    }
}

/// Replications per system of the fixed equal-allocation design with the same guarantee:
/// the two-stage procedure with paired differences and a Bonferroni split over the k − 1
/// comparisons with the best (Nelson & Matejcik 1995; Clark & Yang 1986): after the same
/// first stage, N = max(n₀, ⌈(t · max S_ᵢₗ / δ)²⌉) with t the 1 − α/(k − 1) quantile of
/// Student's t with n₀ − 1 degrees of freedom, every system run N times.
///
/// ```
/// use slotsim::stats::selection::fixed_design;
/// // Two systems, S² of their difference 4, δ 1, α 0.05, n₀ 10: t(0.95, 9) = 1.833.
/// assert_eq!(fixed_design(&[vec![0.0, 4.0], vec![4.0, 0.0]], 10, 1.0, 0.05), Some(14));
/// ```
pub fn fixed_design(variances: &[Vec<f64>], first_stage: usize, delta: f64, alpha: f64) -> Option<usize> {
    let k = variances.len();
    if k < 2 {
        return Some(first_stage);
    }
    let level = 1.0 - 2.0 * alpha / (k - 1) as f64;
    let t = t_critical(level, first_stage.checked_sub(1)?)?;
    let max = variances.iter().flatten().fold(0.0f64, |a, &b| a.max(b));
    let n = (t * max.sqrt() / delta).powi(2).ceil();
    n.is_finite().then(|| (n as usize).max(first_stage))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::testgen::Gen;

    #[test]
    fn h2_matches_the_formula() {
        let p = KnParams { systems: 5, first_stage: 10, delta: 1.0, alpha: 0.05 };
        let eta = 0.5 * ((2.0 * 0.05 / 4.0f64).powf(-2.0 / 9.0) - 1.0);
        assert!((p.h2() - 2.0 * eta * 9.0).abs() < 1e-12);
    }

    #[test]
    fn kn_selects_correctly_in_the_slippage_configuration() {
        // The best is exactly δ above four others, unit variance, a common shock per seed:
        // KN must pick it at least 1 − α of the time (it is conservative: more, in fact).
        let (k, delta, alpha) = (5, 0.5, 0.1);
        let mut g = Gen(7);
        let mut correct = 0;
        let mut used = 0;
        let trials = 400;
        for _ in 0..trials {
            let mut kn = Kn::new(KnParams { systems: k, first_stage: 10, delta, alpha }, true);
            let mut data = vec![Vec::new(); k];
            while kn.selected().is_none() {
                let common = g.normal();
                for (i, d) in data.iter_mut().enumerate() {
                    d.push(if i == 0 { delta } else { 0.0 } + common + g.normal());
                }
                kn.advance(&data);
            }
            correct += usize::from(kn.selected() == Some(0));
            used += (0..k).map(|i| kn.used(i)).sum::<usize>();
        }
        let rate = correct as f64 / trials as f64;
        assert!(rate >= 1.0 - alpha, "correct selection {rate}");
        // And it stops well before the fixed design's worst case on average.
        assert!(used / trials < 5 * 200, "{}", used / trials);
    }

    #[test]
    fn minimizing_and_ties() {
        let mut kn = Kn::new(KnParams { systems: 2, first_stage: 3, delta: 0.1, alpha: 0.05 }, false);
        kn.advance(&[vec![5.0, 6.0, 5.5, 5.2], vec![1.0, 2.0, 1.5, 1.2]]);
        assert_eq!(kn.selected(), Some(1), "lower is better");
        assert_eq!((kn.used(0), kn.used(1)), (3, 3));
        // Identical systems: the first is kept.
        let mut kn = Kn::new(KnParams { systems: 2, first_stage: 3, delta: 0.1, alpha: 0.05 }, true);
        kn.advance(&[vec![1.0, 2.0, 3.0], vec![1.0, 2.0, 3.0]]);
        assert_eq!(kn.selected(), Some(0));
        // Not enough data for the first stage: nothing happens.
        let mut kn = Kn::new(KnParams { systems: 2, first_stage: 5, delta: 0.1, alpha: 0.05 }, true);
        kn.advance(&[vec![1.0, 2.0], vec![0.0, 1.0]]);
        assert_eq!((kn.stage(), kn.survivors().len()), (0, 2));
        // One system is chosen without data.
        let kn = Kn::new(KnParams { systems: 1, first_stage: 5, delta: 0.1, alpha: 0.05 }, true);
        assert_eq!(kn.selected(), Some(0));
    }

    #[test]
    fn fixed_design_formula() {
        // t(0.95, 9) = 1.8331129326536335; (1.8331 · 2 / 1)² = 13.44 → 14.
        assert_eq!(fixed_design(&[vec![0.0, 4.0], vec![4.0, 0.0]], 10, 1.0, 0.05), Some(14));
        // k = 3: t(1 − 0.025, 9) = 2.2622; (2.2622 · 3 / 0.5)² = 184.2 → 185.
        let v = vec![vec![0.0, 9.0, 1.0], vec![9.0, 0.0, 2.0], vec![1.0, 2.0, 0.0]];
        assert_eq!(fixed_design(&v, 10, 0.5, 0.05), Some(185));
        assert_eq!(fixed_design(&[vec![0.0]], 10, 0.5, 0.05), Some(10));
    }
}
