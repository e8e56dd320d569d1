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
/// The model calls [`Policy::next`] after every change to the service's free room or to
/// the set of waiting parties. `max_fit` is the largest party that fits somewhere
/// bookable right now: a policy never names a party larger than that.
pub trait Policy: std::fmt::Debug + Send {
    /// A party starts waiting.
    fn join(&mut self, w: Waiter);
    /// A party stops waiting (it booked, gave up, or left).
    fn leave(&mut self, w: &Waiter);
    /// Days were released at `now`.
    fn on_release(&mut self, _now: Time) {}
    /// The daily policy instant (the release time of day) of run day `day`.
    fn on_tick(&mut self, _day: u32, _now: Time, _rng: &mut Stream) {}
    /// Who books next.
    fn next(&mut self, now: Time, max_fit: u32, rng: &mut Stream) -> Next;
    /// At the instant a [`Next::At`] named, with nothing changed since: who books.
    fn pick(&mut self, now: Time, max_fit: u32, rng: &mut Stream) -> Option<PartyId>;
    /// Parties waiting.
    fn waiting(&self) -> usize;
}

/// The policy for one service, from the configuration.
pub fn build(kind: PolicyKind, behaviour: &BehaviourConfig) -> Box<dyn Policy> {
    match kind {
        PolicyKind::Fcfs => Box::new(Fcfs::new(behaviour)),
        PolicyKind::Waitlist => Box::new(Queue::new(Order::Arrival)),
        PolicyKind::Priority => Box::new(Queue::new(Order::NeedBy)),
        PolicyKind::Lottery { every_days } => Box::new(Lottery::new(every_days)),
    }
}

/// A set of parties with O(1) insertion, removal and uniform choice; its order depends
/// only on the sequence of operations, never on addresses or hashes.
#[derive(Debug, Default, Clone)]
pub(crate) struct Pool {
    members: Vec<PartyId>,
    /// Position of each party in `members`, indexed by party id (`u32::MAX` = absent).
    position: Vec<u32>,
}

impl Pool {
    pub(crate) fn insert(&mut self, id: PartyId) {
        let i = id as usize;
        if self.position.len() <= i {
            self.position.resize(i + 1, u32::MAX);
        }
        if self.position[i] == u32::MAX {
            self.position[i] = self.members.len() as u32;
            self.members.push(id);
        }
    }

    pub(crate) fn remove(&mut self, id: PartyId) -> bool {
        let i = id as usize;
        let Some(&pos) = self.position.get(i) else { return false };
        if pos == u32::MAX {
            return false;
        }
        self.members.swap_remove(pos as usize);
        if let Some(&moved) = self.members.get(pos as usize) {
            self.position[moved as usize] = pos;
        }
        self.position[i] = u32::MAX;
        true
    }

    pub(crate) fn contains(&self, id: PartyId) -> bool {
        self.position.get(id as usize).is_some_and(|&p| p != u32::MAX)
    }

    pub(crate) fn len(&self) -> usize {
        self.members.len()
    }

    pub(crate) fn get(&self, i: usize) -> PartyId {
        self.members[i]
    }

    pub(crate) fn clear(&mut self) {
        for &m in &self.members {
            self.position[m as usize] = u32::MAX;
        }
        self.members.clear();
    }

    pub(crate) fn members(&self) -> &[PartyId] {
        &self.members
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_insert_remove_keeps_positions() {
        let mut p = Pool::default();
        for id in [5, 1, 9, 3] {
            p.insert(id);
        }
        p.insert(1);
        assert_eq!(p.len(), 4);
        assert!(p.remove(5));
        assert!(!p.remove(5));
        assert!(p.contains(3) && p.contains(9) && p.contains(1));
        let mut m = p.members().to_vec();
        m.sort();
        assert_eq!(m, vec![1, 3, 9]);
        for id in [1, 3, 9] {
            assert!(p.remove(id));
        }
        assert_eq!(p.len(), 0);
    }
}
