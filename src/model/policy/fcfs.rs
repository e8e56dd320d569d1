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
//! that has not yet checked since the last release (the round) adds `1 / watch_delay` to
//! the rate while something fits it, and leaves the round once it has checked. That one
//! check is used up whether or not it finds a slot: a watcher whose check came while
//! nothing fitted it is out of the round until the next release (and a new release starts
//! a new round, so an unmade check lapses). Those failed checks are not simulated as they
//! happen either. While nothing fits the parties of a size, the policy only notes since
//! when; when something fits them again (or one of them becomes urgent), it draws which
//! of them checked in between, as the order statistics of their exponential delays: the
//! next failed check among `n` watchers comes after Exp(n / watch_delay), and is made by
//! one of them uniformly. That is a draw or two per watcher whose check failed, and one
//! per catch-up, whatever the checking rates; a span long enough for every check to have
//! come (all but e^-40 of them) empties the round without a draw.

use crate::engine::{Stream, Time, time};

use super::{Next, PartyId, Policy, Pools, Waiter, fitting_sizes};
use crate::model::calendar::{Fit, MAX_PARTY};
use crate::model::config::BehaviourConfig;

/// Party sizes, 1..=[`MAX_PARTY`]: one pool per size in each class.
const SIZES: usize = MAX_PARTY as usize;
/// Pools of one urgency in each family (ordinary parties first, then urgent ones).
const CHECKER_POOLS: usize = 2 * SIZES;
const WATCHER_POOLS: usize = SIZES;
/// First pool of each family of [`Fcfs::pools`], and the families' numbers.
const CHECKERS: usize = 0;
const WATCHERS: usize = 2 * CHECKER_POOLS;
const ROUND: usize = WATCHERS + 2 * WATCHER_POOLS;
const CHECKERS_FAMILY: usize = 0;
const WATCHERS_FAMILY: usize = 1;
const ROUND_FAMILY: usize = 2;

/// The first-come-first-served checking race. With `RESERVE`, slots are held for urgent
/// parties, and the race keeps urgent parties apart (they also fit in held slots);
/// without, every party is ordinary and the urgency code compiles away.
#[derive(Debug, Clone)]
pub struct Fcfs<const RESERVE: bool> {
    human_rate: f64,
    bot_rate: f64,
    watch_rate: f64,
    /// Three families of pools sharing one position table, each split by urgency
    /// (`u` = 0 ordinary, 1 urgent): the waiting parties, in pool
    /// [`CHECKERS`]` + u * CHECKER_POOLS + class * SIZES + size - 1` (class 0 people, 1
    /// scripts); all waiting watchers, in pool [`WATCHERS`]` + u * SIZES + size - 1`, to
    /// start each round; and the watchers that have not checked since the last release,
    /// in pool [`ROUND`]` + u * SIZES + size - 1`.
    pools: Pools<3>,
    waiting: usize,
    /// Urgent parties waiting (none unless slots are held for them).
    urgent: usize,
    /// Checking rate of the parties of each urgency and size (people, scripts, then
    /// watchers in the round), kept up to date on every change.
    rates: [[f64; SIZES]; 2],
    /// The pending draw: the total rate it was drawn at, and the instant drawn. While the
    /// rate is unchanged the draw stays valid (memorylessness), so it is kept.
    pending: Option<(f64, Time)>,
    /// The room that fitted at the last [`Policy::next`].
    seen: Fit,
    /// Per urgency and size index: since when nothing has fitted the watchers of the
    /// round of that urgency and size, whose checks since then (failed ones) are not
    /// drawn yet ([`Time::MAX`]: something fits them).
    unfit_since: [[Time; SIZES]; 2],
}

/// A span after which a watcher's post-release check has come with probability 1 - e^-40:
/// in multiples of the mean delay.
const CHECKS_ALL_CAME: f64 = 40.0;

impl<const RESERVE: bool> Fcfs<RESERVE> {
    /// The race for `behaviour`'s checking rates, sized for about `parties` parties.
    pub fn new(behaviour: &BehaviourConfig, parties: usize) -> Self {
        Self {
            human_rate: behaviour.human_check_rate,
            bot_rate: behaviour.bot_check_rate,
            watch_rate: if behaviour.watch_delay > 0.0 { 1.0 / behaviour.watch_delay } else { 1.0 },
            pools: Pools::with_families([2 * CHECKER_POOLS, 2 * WATCHER_POOLS, 2 * WATCHER_POOLS], parties),
            waiting: 0,
            urgent: 0,
            rates: [[0.0; SIZES]; 2],
            pending: None,
            seen: Fit::default(),
            unfit_since: [[Time::MAX; SIZES]; 2],
        }
    }

    /// Urgency classes in use: ordinary parties, and urgent ones with `RESERVE`.
    const URGENCIES: usize = if RESERVE { 2 } else { 1 };

    /// How many sizes, from 1 up, fit the parties of urgency `u` in room `fit`.
    fn fitting(fit: Fit, u: usize) -> usize {
        fitting_sizes(fit.of(u == 1))
    }

    /// The room that fits changed to `fit` at `now`: the round's watchers of the sizes that
    /// no longer fit start failing their checks unseen; those of the sizes that fit again
    /// have the checks they failed meanwhile drawn.
    fn refit(&mut self, now: Time, fit: Fit, rng: &mut Stream) {
        for u in 0..Self::URGENCIES {
            let (was, is) = (Self::fitting(self.seen, u), Self::fitting(fit, u));
            for s in is..was {
                self.unfit_since[u][s] = now;
            }
            for s in was..is {
                self.catch_up(u, s, now, rng);
                self.unfit_since[u][s] = Time::MAX;
            }
        }
        self.seen = fit;
    }

    /// Draws which watchers of the round of urgency `u` and size index `s` made their
    /// post-release check while nothing fitted them, up to `now`, and takes them out of the
    /// round; nothing is left unseen before `now` afterwards.
    fn catch_up(&mut self, u: usize, s: usize, now: Time, rng: &mut Stream) {
        let since = self.unfit_since[u][s];
        let pool = ROUND + u * SIZES + s;
        let mut n = self.pools.len(pool);
        if since >= now || n == 0 {
            return;
        }
        let span = (now - since) as f64 * self.watch_rate;
        if span >= CHECKS_ALL_CAME {
            self.pools.clear(pool);
        } else {
            // Order statistics of n exponential delays, in units of the mean delay.
            let mut t = 0.0;
            while n > 0 {
                t += rng.exponential(1.0 / n as f64);
                if t >= span {
                    break;
                }
                let id = self.pools.get(pool, rng.integer(0, n as i64 - 1) as usize);
                self.pools.remove(ROUND_FAMILY, id);
                n -= 1;
            }
        }
        self.refresh_rate(u, s);
    }

    /// The pools of the parties of urgency `u` and size index `s` by class (people,
    /// scripts, watchers in the round), each with its members' checking rate.
    fn classes(&self, u: usize, s: usize) -> [(usize, f64); 3] {
        let checkers = CHECKERS + u * CHECKER_POOLS + s;
        [(checkers, self.human_rate), (checkers + SIZES, self.bot_rate), (ROUND + u * SIZES + s, self.watch_rate)]
    }

    /// The checking rate of each class of urgency `u` and size index `s`.
    fn class_rates(&self, u: usize, s: usize) -> [f64; 3] {
        self.classes(u, s).map(|(pool, r)| self.pools.len(pool) as f64 * r)
    }

    fn refresh_rate(&mut self, u: usize, s: usize) {
        let [people, scripts, watchers] = self.class_rates(u, s);
        self.rates[u][s] = people + scripts + watchers;
    }

    /// The checking rates that can succeed now: of ordinary parties that fit in ordinary
    /// room, then of urgent parties that fit in room held slots included.
    fn fitting_rates(&self, fit: Fit) -> (&[f64], &[f64]) {
        let urgent: &[f64] = if RESERVE && self.urgent > 0 { &self.rates[1][..fitting_sizes(fit.urgent)] } else { &[] };
        (&self.rates[0][..fitting_sizes(fit.ordinary)], urgent)
    }

    fn total_rate(&self, fit: Fit) -> f64 {
        let rate = self.rates[0][..fitting_sizes(fit.ordinary)].iter().sum::<f64>();
        if !RESERVE || self.urgent == 0 {
            return rate;
        }
        rate + self.rates[1][..fitting_sizes(fit.urgent)].iter().sum::<f64>()
    }
}

impl<const RESERVE: bool> Policy for Fcfs<RESERVE> {
    fn join(&mut self, w: Waiter) {
        let (u, s) = (usize::from(RESERVE && w.urgent), w.size_index());
        self.pools.insert(CHECKERS + u * CHECKER_POOLS + usize::from(w.bot) * SIZES + s, w.id);
        if w.watcher && !w.bot {
            self.pools.insert(WATCHERS + u * SIZES + s, w.id);
        }
        self.waiting += 1;
        self.urgent += u;
        self.refresh_rate(u, s);
    }

    fn leave(&mut self, w: &Waiter) {
        let s = w.size_index();
        let mut u = 0;
        if let Some(pool) = self.pools.remove_everywhere(w.id)[CHECKERS_FAMILY] {
            if RESERVE {
                u = (pool - CHECKERS) / CHECKER_POOLS;
                self.urgent -= u;
            }
            self.waiting -= 1;
        }
        self.refresh_rate(u, s);
    }

    fn make_urgent(&mut self, w: &Waiter, now: Time, rng: &mut Stream) {
        if !RESERVE {
            return;
        }
        let s = w.size_index();
        // Into the urgent pools of every family the party is in, keeping its class and
        // whether it is in this round.
        match self.pools.pool_of(CHECKERS_FAMILY, w.id) {
            Some(pool) if pool < CHECKERS + CHECKER_POOLS => {}
            _ => return, // not waiting, or urgent already
        }
        if self.pools.contains(ROUND_FAMILY, w.id) {
            // Its check may have come and failed unseen while nothing fitted it (then it
            // moves without it), and the urgent round's unseen span must not cover it
            // before now: both rounds of its size catch up to now first.
            for u in 0..2 {
                if self.unfit_since[u][s] != Time::MAX {
                    self.catch_up(u, s, now, rng);
                    self.unfit_since[u][s] = now;
                }
            }
        }
        for (family, offset) in
            [(CHECKERS_FAMILY, CHECKER_POOLS), (WATCHERS_FAMILY, WATCHER_POOLS), (ROUND_FAMILY, WATCHER_POOLS)]
        {
            if let Some(pool) = self.pools.remove(family, w.id) {
                self.pools.insert(pool + offset, w.id);
            }
        }
        self.urgent += 1;
        self.refresh_rate(0, s);
        self.refresh_rate(1, s);
    }

    fn on_release(&mut self, now: Time) {
        for u in 0..Self::URGENCIES {
            let fitting = Self::fitting(self.seen, u);
            for s in 0..SIZES {
                // A new round: the checks of the last one that were not made lapse.
                let (watchers, round) = (WATCHERS + u * SIZES + s, ROUND + u * SIZES + s);
                self.pools.refill(round, watchers);
                self.unfit_since[u][s] = if s < fitting { Time::MAX } else { now };
                self.refresh_rate(u, s);
            }
        }
    }

    fn next(&mut self, now: Time, fit: Fit, rng: &mut Stream) -> Next {
        if fit != self.seen {
            self.refit(now, fit, rng);
        }
        let rate = self.total_rate(fit);
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

    fn pick(&mut self, _now: Time, fit: Fit, rng: &mut Stream) -> Option<PartyId> {
        self.pending = None;
        let rate = self.total_rate(fit);
        if rate <= 0.0 {
            return None;
        }
        // The checker is the one whose share of the total rate holds x: first its urgency
        // and size, by the per-size rates (ordinary parties, then urgent ones), then its
        // class and its place within the class.
        let mut x = rng.uniform() * rate;
        let (ordinary, urgent) = self.fitting_rates(fit);
        let (u, s) = if !RESERVE || urgent.is_empty() {
            (0, share(ordinary, &mut x)?)
        } else {
            let mut weights = [0.0; 2 * SIZES];
            let n = ordinary.len();
            weights[..n].copy_from_slice(ordinary);
            weights[n..n + urgent.len()].copy_from_slice(urgent);
            let k = share(&weights[..n + urgent.len()], &mut x)?;
            if k < n { (0, k) } else { (1, k - n) }
        };
        let class = share(&self.class_rates(u, s), &mut x)?;
        let (pool, r) = self.classes(u, s)[class];
        let n = self.pools.len(pool);
        let id = self.pools.get(pool, ((x / r) as usize).min(n - 1));
        if class == 2 {
            // The watcher has made its post-release check.
            self.pools.remove(ROUND_FAMILY, id);
            self.refresh_rate(u, s);
        }
        Some(id)
    }

    fn waiting(&self) -> usize {
        self.waiting
    }

    fn prefetch(&self, id: PartyId) {
        self.pools.prefetch(id);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::DAY;
    use crate::model::streams::{Purpose, Streams};

    fn behaviour() -> BehaviourConfig {
        BehaviourConfig {
            human_check_rate: 2.0 / DAY as f64,
            watch_release_prob: 0.0,
            watch_delay: 900.0,
            bot_share: 0.0,
            bot_check_rate: 1.0 / 60.0,
            confirm_prob: 1.0,
            bot_confirm_prob: 1.0,
            confirm_delay: 0.0,
            cancel_rate: 0.0,
            show_prob: 1.0,
            docs_ok_prob: 1.0,
            rebook_prob: 1.0,
            processing_days: (1, 1),
        }
    }

    fn waiter(id: PartyId, bot: bool, urgent: bool) -> Waiter {
        Waiter { id, size: 1, bot, watcher: false, need_by: 0, since: 0, urgent }
    }

    /// Held room only: only urgent parties' checks can succeed, whatever the others'
    /// rates; with ordinary room too, the winner is drawn in proportion to the rates.
    #[test]
    fn held_room_goes_only_to_urgent_checkers_in_proportion_to_their_rates() {
        let mut race = Fcfs::<true>::new(&behaviour(), 8);
        race.join(waiter(0, true, false)); // an ordinary script: 720 times a person's rate
        race.join(waiter(1, false, true)); // an urgent person
        race.join(waiter(2, true, true)); // an urgent script
        let mut rng = Streams::new(5).stream(Purpose::Policy, 0);
        let held_only = Fit { ordinary: 0, urgent: 1 };
        let mut wins = [0u32; 3];
        for _ in 0..20_000 {
            wins[race.pick(0, held_only, &mut rng).expect("an urgent party fits") as usize] += 1;
        }
        assert_eq!(wins[0], 0, "an ordinary party never wins held room");
        // The urgent person's share is its rate over the urgent rates: 2/day against 1/60 s.
        let person = (2.0 / DAY as f64) / (2.0 / DAY as f64 + 1.0 / 60.0);
        let share = f64::from(wins[1]) / 20_000.0;
        assert!((share - person).abs() < 4.0 * (person * (1.0 - person) / 20_000.0).sqrt(), "{share} vs {person}");

        // Ordinary room as well: the ordinary script takes about half the wins.
        let both = Fit::same(1);
        let mut ordinary = 0;
        for _ in 0..20_000 {
            ordinary += u32::from(race.pick(0, both, &mut rng) == Some(0));
        }
        let expect = (1.0 / 60.0) / (2.0 / 60.0 + 2.0 / DAY as f64);
        let share = f64::from(ordinary) / 20_000.0;
        assert!((share - expect).abs() < 4.0 * (expect * (1.0 - expect) / 20_000.0).sqrt(), "{share} vs {expect}");

        // Becoming urgent moves a party over; leaving takes it out of either class.
        race.make_urgent(&waiter(0, true, false), 0, &mut rng);
        assert_eq!((race.urgent, race.waiting), (3, 3));
        race.leave(&waiter(1, false, true));
        assert_eq!((race.urgent, race.waiting), (2, 2));
        assert_eq!(race.rates[0].iter().sum::<f64>(), 0.0);
        assert!(race.next(0, Fit { ordinary: 1, urgent: 0 }, &mut rng) == Next::Idle);
    }

    /// Without held slots the race is the same as before urgency existed: `Fcfs<false>`
    /// ignores the flag and draws the same winners as `Fcfs<true>` with nobody urgent.
    #[test]
    fn without_a_reserve_urgency_changes_nothing() {
        let (mut plain, mut reserved) = (Fcfs::<false>::new(&behaviour(), 8), Fcfs::<true>::new(&behaviour(), 8));
        for id in 0..6 {
            plain.join(Waiter { urgent: true, ..waiter(id, id % 2 == 0, false) });
            reserved.join(waiter(id, id % 2 == 0, false));
        }
        let (mut a, mut b) = (Streams::new(9).stream(Purpose::Policy, 0), Streams::new(9).stream(Purpose::Policy, 0));
        for _ in 0..1000 {
            assert_eq!(plain.pick(0, Fit::same(1), &mut a), reserved.pick(0, Fit::same(1), &mut b));
        }
        assert_eq!(plain.urgent, 0);
    }

    fn watcher(id: PartyId) -> Waiter {
        Waiter { watcher: true, ..waiter(id, false, false) }
    }

    /// A watcher's post-release check falls while the released days are sold out (within
    /// minutes of the release): it is used up. A slot freed six hours later goes to whoever
    /// checks first by the ordinary checking, in which the watcher has no edge over a
    /// person who does not watch. Before, the watcher stayed in the round (a 15-minute
    /// checker against two checks a day) and took the slot 98% of the time.
    #[test]
    fn a_watchers_check_during_a_sell_out_is_used_up() {
        let mut rng = Streams::new(3).stream(Purpose::Policy, 0);
        let (mut watcher_wins, trials) = (0u32, 4000u32);
        for _ in 0..trials {
            let mut race = Fcfs::<false>::new(&behaviour(), 4);
            race.join(watcher(0));
            race.join(waiter(1, false, false));
            race.on_release(0);
            // Released room: the watcher's check counts.
            assert!(matches!(race.next(0, Fit::same(1), &mut rng), Next::At(_)));
            assert!(race.total_rate(Fit::same(1)) > 20.0 * 2.0 * race.human_rate);
            // Sold out a minute later, by others.
            assert_eq!(race.next(60, Fit::same(0), &mut rng), Next::Idle);
            // A slot is freed six hours after the release.
            let freed = 6 * 3600;
            assert!(matches!(race.next(freed, Fit::same(1), &mut rng), Next::At(_)));
            assert_eq!(race.pools.len(ROUND), 0, "the watcher's check came during the sell-out (e^-24 not)");
            assert_eq!(race.total_rate(Fit::same(1)), 2.0 * race.human_rate);
            watcher_wins += u32::from(race.pick(freed, Fit::same(1), &mut rng) == Some(0));
            // (Still in the round, it would have won (48 + 1) / (48 + 2) = 98% of the time.)
        }
        let share = f64::from(watcher_wins) / f64::from(trials);
        assert!((share - 0.5).abs() < 4.0 * (0.25 / f64::from(trials)).sqrt(), "the watcher won {share}");
    }

    /// While nothing fits, a watcher's check comes with probability 1 - e^(-span / delay);
    /// those that came are out of the round, the others still check (one draw each at most).
    /// The next release makes a new round of every waiting watcher.
    #[test]
    fn unseen_failed_checks_follow_the_exponential_delay() {
        let mut rng = Streams::new(8).stream(Purpose::Policy, 0);
        let mut race = Fcfs::<false>::new(&behaviour(), 2000);
        let n = 2000;
        for id in 0..n {
            race.join(Waiter { size: 2, ..watcher(id) });
        }
        race.on_release(0);
        assert!(matches!(race.next(0, Fit::same(2), &mut rng), Next::At(_)));
        // Only single people fit for one mean delay (900 s), then families again.
        assert!(matches!(race.next(100, Fit::same(1), &mut rng), Next::Idle));
        assert!(matches!(race.next(1000, Fit::same(2), &mut rng), Next::At(_)));
        let left = race.pools.len(ROUND + 1) as f64;
        let p = (-1.0f64).exp();
        let z = (left - f64::from(n) * p) / (f64::from(n) * p * (1.0 - p)).sqrt();
        assert!(z.abs() < 4.0, "{left} of {n} watchers still to check, z = {z}");
        let rate = left * race.watch_rate + f64::from(n) * race.human_rate;
        assert!((race.rates[0][1] - rate).abs() < 1e-12 * rate, "the round's rate is kept up to date");
        // A new release: every waiting watcher checks again.
        race.on_release(2000);
        assert_eq!(race.pools.len(ROUND + 1), n as usize);
    }
}
