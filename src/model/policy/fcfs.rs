//! First come, first served: whoever checks the calendar first books.
//!
//! Every waiting party checks as a Poisson process (people at `human_checks_per_day`,
//! scripts every `bot_check_interval_seconds` on average), and a watcher also checks once
//! after an exponential delay following each release. A check that finds nothing that
//! fits changes nothing, and Poisson checking is memoryless, so checks are not simulated
//! one by one. Instead, whenever the state changes, the policy draws the instant of the
//! next check that can succeed, from the superposition of the checking processes of the
//! parties that fit somewhere (total rate R): it is now + Exp(1/R), and the checker is one
//! of them with probability proportional to its rate. The cost is one draw per change,
//! whatever the checking rates.
//!
//! Watchers' post-release checks are exponential delays, hence also memoryless: a watcher
//! that has not yet checked since the last release adds `1 / watch_delay` to the rate,
//! and leaves the round once it has checked. A new release starts a new round.

use crate::engine::{Stream, Time, time};

use super::{Next, PartyId, Policy, Pools, Waiter, fitting_sizes};
use crate::model::calendar::MAX_PARTY;
use crate::model::config::BehaviourConfig;

/// Party sizes, 1..=[`MAX_PARTY`]: one pool per size in each class.
const SIZES: usize = MAX_PARTY as usize;
/// First pool of each family of [`Fcfs::pools`], and the families' numbers.
const CHECKERS: usize = 0;
const WATCHERS: usize = 2 * SIZES;
const ROUND: usize = 3 * SIZES;
const CHECKERS_FAMILY: usize = 0;
const ROUND_FAMILY: usize = 2;

/// The first-come-first-served checking race.
#[derive(Debug, Clone)]
pub struct Fcfs {
    human_rate: f64,
    bot_rate: f64,
    watch_rate: f64,
    /// Three families of pools sharing one position table: the waiting parties, in pool
    /// [`CHECKERS`]` + class * SIZES + size - 1` (class 0 people, 1 scripts); all waiting
    /// watchers, in pool [`WATCHERS`]` + size - 1`, to start each round; and the watchers
    /// that have not checked since the last release, in pool [`ROUND`]` + size - 1`.
    pools: Pools<3>,
    waiting: usize,
    /// Checking rate of the parties of each size (people, scripts, then watchers in the
    /// round), kept up to date on every change.
    rates: [f64; SIZES],
    /// The pending draw: the total rate it was drawn at, and the instant drawn. While the
    /// rate is unchanged the draw stays valid (memorylessness), so it is kept.
    pending: Option<(f64, Time)>,
}

impl Fcfs {
    /// The race for `behaviour`'s checking rates, sized for about `parties` parties.
    pub fn new(behaviour: &BehaviourConfig, parties: usize) -> Self {
        Self {
            human_rate: behaviour.human_check_rate,
            bot_rate: behaviour.bot_check_rate,
            watch_rate: if behaviour.watch_delay > 0.0 { 1.0 / behaviour.watch_delay } else { 1.0 },
            pools: Pools::with_families([2 * SIZES, SIZES, SIZES], parties),
            waiting: 0,
            rates: [0.0; SIZES],
            pending: None,
        }
    }

    /// The pools of the parties of size index `s` by class (people, scripts, watchers in
    /// the round), each with its members' checking rate.
    fn classes(&self, s: usize) -> [(usize, f64); 3] {
        [(CHECKERS + s, self.human_rate), (CHECKERS + SIZES + s, self.bot_rate), (ROUND + s, self.watch_rate)]
    }

    /// The checking rate of each class of size index `s`.
    fn class_rates(&self, s: usize) -> [f64; 3] {
        self.classes(s).map(|(pool, r)| self.pools.len(pool) as f64 * r)
    }

    fn refresh_rate(&mut self, s: usize) {
        let [people, scripts, watchers] = self.class_rates(s);
        self.rates[s] = people + scripts + watchers;
    }

    fn total_rate(&self, max_fit: u32) -> f64 {
        self.rates[..fitting_sizes(max_fit)].iter().sum()
    }
}

impl Policy for Fcfs {
    fn join(&mut self, w: Waiter) {
        let s = w.size_index();
        self.pools.insert(CHECKERS + usize::from(w.bot) * SIZES + s, w.id);
        if w.watcher && !w.bot {
            self.pools.insert(WATCHERS + s, w.id);
        }
        self.waiting += 1;
        self.refresh_rate(s);
    }

    fn leave(&mut self, w: &Waiter) {
        if self.pools.contains(CHECKERS_FAMILY, w.id) {
            self.waiting -= 1;
        }
        self.pools.remove_everywhere(w.id);
        self.refresh_rate(w.size_index());
    }

    fn on_release(&mut self, _now: Time) {
        for s in 0..SIZES {
            self.pools.clear(ROUND + s);
            for i in 0..self.pools.len(WATCHERS + s) {
                self.pools.insert(ROUND + s, self.pools.get(WATCHERS + s, i));
            }
            self.refresh_rate(s);
        }
    }

    fn next(&mut self, now: Time, max_fit: u32, rng: &mut Stream) -> Next {
        let rate = self.total_rate(max_fit);
        if rate <= 0.0 {
            self.pending = None;
            return Next::Idle;
        }
        if let Some((r, at)) = self.pending
            && r == rate
            && at > now
        {
            return Next::At(at);
        }
        let at = now + time::seconds(rng.exponential(1.0 / rate));
        self.pending = Some((rate, at));
        Next::At(at)
    }

    fn pick(&mut self, _now: Time, max_fit: u32, rng: &mut Stream) -> Option<PartyId> {
        self.pending = None;
        let rate = self.total_rate(max_fit);
        if rate <= 0.0 {
            return None;
        }
        // The checker is the one whose share of the total rate holds u: first its size,
        // by the per-size rates, then its class and its place within the class.
        let mut u = rng.uniform() * rate;
        let s = share(&self.rates[..fitting_sizes(max_fit)], &mut u)?;
        let class = share(&self.class_rates(s), &mut u)?;
        let (pool, r) = self.classes(s)[class];
        let n = self.pools.len(pool);
        let id = self.pools.get(pool, ((u / r) as usize).min(n - 1));
        if class == 2 {
            // The watcher has made its post-release check.
            self.pools.remove(ROUND_FAMILY, id);
            self.refresh_rate(s);
        }
        Some(id)
    }

    fn waiting(&self) -> usize {
        self.waiting
    }
}

/// The index whose share of `weights` (laid end to end) holds `u`, with `u` made relative
/// to the start of that share. Rounding may leave `u` a hair above the total: the last
/// positive weight then wins. `None` if no weight is positive.
fn share(weights: &[f64], u: &mut f64) -> Option<usize> {
    let last = weights.iter().rposition(|&w| w > 0.0)?;
    for (k, &w) in weights.iter().enumerate() {
        if *u < w {
            return Some(k);
        }
        *u -= w;
    }
    Some(last)
}
