//! Allocation policies: who gets a free slot, and when.
//!
//! A policy is one small piece behind the [`Policy`] trait. It keeps its own record of the
//! parties waiting for one service and answers one question, whenever anything changes:
//! who books next, and when? The model does the booking itself (choosing the earliest
//! day and band that fit, holding slots, sending e-mails), so a new policy is a new file
//! here plus one line in [`build`].

mod fcfs;
mod lottery;
mod queue;

pub use fcfs::Fcfs;
pub use lottery::Lottery;
pub use queue::{Order, Queue};

use crate::engine::{Stream, Time};

use super::calendar::{Fit, MAX_PARTY};
use super::config::{BehaviourConfig, PolicyKind};

/// Index of a party in the run's party table.
pub type PartyId = u32;

/// What a policy knows of a waiting party.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiter {
    /// The party.
    pub id: PartyId,
    /// Slots it needs (1..=5).
    pub size: u32,
    /// Whether its checking is automated.
    pub bot: bool,
    /// Whether the person also checks right after each release.
    pub watcher: bool,
    /// Need-by instant.
    pub need_by: Time,
    /// When it (re)started looking; ties broken by `id`.
    pub since: Time,
    /// Whether it is urgent now (slots are held for urgent parties and its need-by date
    /// is near): it may take held slots as well as ordinary ones. A policy that keeps
    /// parties apart by urgency hears of it becoming urgent later through
    /// [`Policy::make_urgent`].
    pub urgent: bool,
}

impl Waiter {
    /// The index of its size among party sizes 1..=[`MAX_PARTY`]: `size - 1`.
    pub(crate) fn size_index(&self) -> usize {
        (self.size as usize).clamp(1, MAX_PARTY as usize) - 1
    }
}

/// How many party sizes, from 1 up, fit when the largest that fits is `max_fit`.
pub(crate) fn fitting_sizes(max_fit: u32) -> usize {
    max_fit.min(MAX_PARTY) as usize
}

/// A policy's answer to "who books next, and when?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Nobody, until something changes.
    Idle,
    /// This party books now.
    Now(PartyId),
    /// Somebody books at this instant, unless something changes first; the model then
    /// calls [`Policy::pick`].
    At(Time),
}

/// An allocation rule for one service.
///
/// The model calls [`Policy::next`] once everything at an instant has happened, if the
/// service's free room or the set of waiting parties changed at it (and again after each
/// booking the answer makes), so that a policy allocates the slots released and freed at
/// one instant together (model.md, "Time"). `fit` is the largest party that fits
/// somewhere bookable right now, for an ordinary and for an urgent party (held slots count
/// only for urgent ones): a policy never names a party larger than what fits for its kind.
pub trait Policy: std::fmt::Debug + Send {
    /// A party starts waiting.
    fn join(&mut self, w: Waiter);
    /// A party stops waiting (it booked, gave up, or left).
    fn leave(&mut self, w: &Waiter);
    /// A waiting party has just become urgent (its need-by date is near), at `now`.
    fn make_urgent(&mut self, _w: &Waiter, _now: Time, _rng: &mut Stream) {}
    /// Days were released at `now`.
    fn on_release(&mut self, _now: Time) {}
    /// The daily policy instant (the release time of day) of run day `day`.
    fn on_tick(&mut self, _day: u32, _now: Time, _rng: &mut Stream) {}
    /// Who books next.
    fn next(&mut self, now: Time, fit: Fit, rng: &mut Stream) -> Next;
    /// At the instant a [`Next::At`] named, with nothing changed since: who books.
    fn pick(&mut self, now: Time, fit: Fit, rng: &mut Stream) -> Option<PartyId>;
    /// Parties waiting.
    fn waiting(&self) -> usize;
    /// `id` is about to join or leave: start loading what that reads of it (a hint; a
    /// policy whose record of parties is not indexed by id does nothing).
    fn prefetch(&self, _id: PartyId) {}
}

/// The policy for one service, from the configuration, sized for about `parties` parties.
///
/// `urgent_within` is how long before its need-by date a party becomes urgent, when slots
/// are held for urgent parties (`None`: no party is ever urgent).
pub fn build(kind: PolicyKind, behaviour: &BehaviourConfig, parties: usize, urgent_within: Option<Time>) -> Allocation {
    match kind {
        PolicyKind::Fcfs if urgent_within.is_some() => Allocation::FcfsReserve(Fcfs::new(behaviour, parties)),
        PolicyKind::Fcfs => Allocation::Fcfs(Fcfs::new(behaviour, parties)),
        PolicyKind::Waitlist => Allocation::Queue(Queue::new(Order::Arrival)),
        PolicyKind::Priority => Allocation::Queue(Queue::new(Order::NeedBy)),
        PolicyKind::Lottery { every_days } => Allocation::Lottery(Lottery::new(every_days, urgent_within)),
    }
}

/// One of the policies, dispatched by a `match` instead of through a trait object: the
/// event loop calls `join`, `leave`, `next` and `pick` hundreds of thousands of times a
/// replication, and a direct call can be inlined where an indirect one cannot.
#[derive(Debug, Clone)]
pub enum Allocation {
    /// First come, first served, no slots held.
    Fcfs(Fcfs<false>),
    /// First come, first served, with slots held for urgent parties.
    FcfsReserve(Fcfs<true>),
    /// A waiting list, by arrival or by need-by date.
    Queue(Queue),
    /// Periodic lottery draws.
    Lottery(Lottery),
}

/// Calls `$call` on the policy inside an [`Allocation`].
macro_rules! dispatch {
    ($self:ident, $p:ident => $call:expr) => {
        match $self {
            Allocation::Fcfs($p) => $call,
            Allocation::FcfsReserve($p) => $call,
            Allocation::Queue($p) => $call,
            Allocation::Lottery($p) => $call,
        }
    };
}

impl Policy for Allocation {
    #[inline]
    fn join(&mut self, w: Waiter) {
        dispatch!(self, p => p.join(w))
    }
    #[inline]
    fn leave(&mut self, w: &Waiter) {
        dispatch!(self, p => p.leave(w))
    }
    #[inline]
    fn make_urgent(&mut self, w: &Waiter, now: Time, rng: &mut Stream) {
        dispatch!(self, p => p.make_urgent(w, now, rng))
    }
    #[inline]
    fn on_release(&mut self, now: Time) {
        dispatch!(self, p => p.on_release(now))
    }
    #[inline]
    fn on_tick(&mut self, day: u32, now: Time, rng: &mut Stream) {
        dispatch!(self, p => p.on_tick(day, now, rng))
    }
    #[inline]
    fn next(&mut self, now: Time, fit: Fit, rng: &mut Stream) -> Next {
        dispatch!(self, p => p.next(now, fit, rng))
    }
    #[inline]
    fn pick(&mut self, now: Time, fit: Fit, rng: &mut Stream) -> Option<PartyId> {
        dispatch!(self, p => p.pick(now, fit, rng))
    }
    #[inline]
    fn waiting(&self) -> usize {
        dispatch!(self, p => p.waiting())
    }
    #[inline]
    fn prefetch(&self, id: PartyId) {
        dispatch!(self, p => p.prefetch(id))
    }
}

/// Sets of parties with O(1) insertion, removal and uniform choice. The pools form `F`
/// families: within a family the pools are disjoint (a party is in at most one), and a
/// party may be in one pool of each family. One position table, indexed by party id,
/// holds a party's place in every family, so that taking a party out of all of them reads
/// one entry. Their order depends only on the sequence of operations, never on addresses
/// or hashes.
#[derive(Debug, Clone)]
pub(crate) struct Pools<const F: usize = 1> {
    members: Vec<Vec<PartyId>>,
    /// The family of each pool.
    family: Vec<u8>,
    /// Per party id and family: pool and position in one word (`ABSENT` = in none).
    place: Vec<[Spot; F]>,
}

/// A pool (the top [`POOL_BITS`] bits) and a position in it (the rest), in one word:
/// the position table is a policy's largest record, one entry per party of the run.
type Spot = u32;
const POOL_BITS: u32 = 6;
const POSITION_BITS: u32 = 32 - POOL_BITS;
const ABSENT: Spot = Spot::MAX;

/// Bytes of the largest position table per party (fcfs: three families), for memory
/// estimates.
pub const POSITION_BYTES: usize = std::mem::size_of::<[Spot; 3]>();

fn spot(pool: usize, position: usize) -> Spot {
    assert!(position < 1 << POSITION_BITS, "more than 2^26 parties waiting in one pool");
    (pool as u32) << POSITION_BITS | position as u32
}

fn pool_of(spot: Spot) -> u32 {
    spot >> POSITION_BITS
}

fn position_of(spot: Spot) -> u32 {
    spot & ((1 << POSITION_BITS) - 1)
}

impl Pools<1> {
    /// `pools` disjoint pools.
    pub(crate) fn new(pools: usize) -> Self {
        Pools::with_families([pools], 0)
    }
}

impl<const F: usize> Pools<F> {
    /// Empty pools, `sizes[f]` of them in family `f`, numbered family after family, with a
    /// position table that has room for party ids below `parties` (it grows past that as
    /// needed).
    pub(crate) fn with_families(sizes: [usize; F], parties: usize) -> Self {
        let family = sizes.iter().enumerate().flat_map(|(f, &n)| std::iter::repeat_n(f as u8, n)).collect::<Vec<_>>();
        assert!(family.len() < (1 << POOL_BITS) - 1, "at most 62 pools");
        // Read at random by party id: on huge pages where the system has them.
        let mut place = crate::engine::pages::huge_vec(parties);
        place.resize(parties, [ABSENT; F]);
        Self { members: vec![Vec::new(); family.len()], family, place }
    }

    /// Puts `id` in `pool` (no change if it is in a pool of that family already).
    /// (`insert` and `take_out` are asked to be inlined into the policies' steps: 1.1%
    /// fewer instructions per replication, callgrind.)
    #[inline]
    pub(crate) fn insert(&mut self, pool: usize, id: PartyId) {
        let i = id as usize;
        if self.place.len() <= i {
            self.place.resize(i + 1, [ABSENT; F]);
        }
        let f = self.family[pool] as usize;
        if self.place[i][f] == ABSENT {
            self.place[i][f] = spot(pool, self.members[pool].len());
            self.members[pool].push(id);
        }
    }

    /// Takes `id` out of its pool of `family`; returns the pool it was in.
    pub(crate) fn remove(&mut self, family: usize, id: PartyId) -> Option<usize> {
        let spot = self.place.get(id as usize)?[family];
        if spot == ABSENT {
            return None;
        }
        Some(self.take_out(family, id, spot))
    }

    /// Takes `id` out of every pool it is in; returns the pool it was in, per family.
    pub(crate) fn remove_everywhere(&mut self, id: PartyId) -> [Option<usize>; F] {
        let mut was = [None; F];
        let Some(&places) = self.place.get(id as usize) else { return was };
        for (family, spot) in places.into_iter().enumerate() {
            if spot != ABSENT {
                was[family] = Some(self.take_out(family, id, spot));
            }
        }
        was
    }

    #[inline]
    fn take_out(&mut self, family: usize, id: PartyId, spot: Spot) -> usize {
        let (pool, pos) = (pool_of(spot), position_of(spot));
        let members = &mut self.members[pool as usize];
        members.swap_remove(pos as usize);
        if let Some(&moved) = members.get(pos as usize) {
            self.place[moved as usize][family] = spot;
        }
        self.place[id as usize][family] = ABSENT;
        pool as usize
    }

    /// Starts loading the position table's entry of `id` (a hint).
    #[inline]
    pub(crate) fn prefetch(&self, id: PartyId) {
        crate::engine::pages::prefetch(&self.place, id as usize);
    }

    /// The pool of `family` that `id` is in, if any.
    pub(crate) fn pool_of(&self, family: usize, id: PartyId) -> Option<usize> {
        let spot = self.place.get(id as usize)?[family];
        (spot != ABSENT).then_some(pool_of(spot) as usize)
    }

    /// Whether `id` is in a pool of `family`.
    pub(crate) fn contains(&self, family: usize, id: PartyId) -> bool {
        self.place.get(id as usize).is_some_and(|p| p[family] != ABSENT)
    }

    pub(crate) fn len(&self, pool: usize) -> usize {
        self.members[pool].len()
    }

    pub(crate) fn get(&self, pool: usize, i: usize) -> PartyId {
        self.members[pool][i]
    }

    pub(crate) fn clear(&mut self, pool: usize) {
        let f = self.family[pool] as usize;
        for &m in &self.members[pool] {
            self.place[m as usize][f] = ABSENT;
        }
        self.members[pool].clear();
    }

    /// Makes pool `to` hold the members of pool `from` (of another family), in their
    /// order, as [`Pools::clear`] followed by an [`Pools::insert`] of each would, without
    /// looking up the family and the table's length once per member (a release refills
    /// the round of every waiting watcher: 0.2% of a replication's instructions).
    pub(crate) fn refill(&mut self, to: usize, from: usize) {
        self.clear(to);
        let f = self.family[to] as usize;
        debug_assert_ne!(f, self.family[from] as usize, "a pool refilled from its own family");
        let mut members = std::mem::take(&mut self.members[to]);
        for &id in &self.members[from] {
            let place = &mut self.place[id as usize][f];
            if *place == ABSENT {
                *place = spot(to, members.len());
                members.push(id);
            }
        }
        self.members[to] = members;
    }

    pub(crate) fn members(&self, pool: usize) -> &[PartyId] {
        &self.members[pool]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_insert_remove_keep_positions() {
        let mut p = Pools::new(2);
        for id in [5, 1, 9, 3] {
            p.insert(0, id);
        }
        p.insert(1, 7);
        p.insert(1, 1); // already in pool 0: unchanged
        assert_eq!((p.len(0), p.len(1)), (4, 1));
        assert_eq!(p.remove(0, 5), Some(0));
        assert_eq!(p.remove(0, 5), None);
        assert!(p.contains(0, 3) && p.contains(0, 9) && p.contains(0, 1) && p.contains(0, 7));
        let mut m = p.members(0).to_vec();
        m.sort();
        assert_eq!(m, vec![1, 3, 9]);
        for id in [1, 3, 9] {
            assert_eq!(p.remove(0, id), Some(0));
        }
        assert_eq!(p.len(0), 0);
        p.clear(1);
        assert!(!p.contains(0, 7));
        p.insert(0, 7);
        assert_eq!(p.get(0, 0), 7);
    }

    /// `refill` leaves the pools exactly as clearing and inserting one by one does, with
    /// a pool already holding some of the members and members that sit in another pool of
    /// the target family.
    #[test]
    fn refill_is_clear_then_insert() {
        let mut rng = crate::model::streams::Streams::new(4).stream(crate::model::streams::Purpose::Policy, 0);
        let mut p = Pools::with_families([2, 2], 0);
        for _ in 0..300 {
            let id = rng.integer(0, 99) as PartyId;
            let pool = rng.integer(0, 3) as usize;
            if rng.uniform() < 0.8 {
                p.insert(pool, id);
            } else {
                p.remove(usize::from(pool >= 2), id);
            }
        }
        let mut largest = 0;
        for (to, from) in [(2, 0), (3, 1), (0, 2), (1, 3), (2, 1)] {
            let mut want = p.clone();
            want.clear(to);
            for i in 0..want.len(from) {
                want.insert(to, want.get(from, i));
            }
            p.refill(to, from);
            assert_eq!((&p.members, &p.place), (&want.members, &want.place), "refilling {to} from {from}");
            largest = largest.max(p.len(to));
        }
        assert!(largest > 8, "refills of some size were tried");
    }
}
