//! Waiting lists: `waitlist` (first in, first out) and `priority` (earliest need-by date
//! first, ties by arrival).
//!
//! Whenever slots are released or freed, they go at once to the first party in the order
//! that fits; checking speed gives no advantage.

use std::collections::BTreeSet;

use crate::engine::{Stream, Time};
use crate::model::calendar::MAX_PARTY;

use super::{Next, PartyId, Policy, Waiter, fitting_sizes};

/// The order of a waiting list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Longest-waiting first (by the instant the party started looking, then party id).
    Arrival,
    /// Earliest need-by date first, ties by the instant the party started looking.
    NeedBy,
}

/// A waiting list, one ordered set per party size so that "first that fits" is a few
/// look-ups.
#[derive(Debug, Clone)]
pub struct Queue {
    order: Order,
    by_size: [BTreeSet<(Time, Time, PartyId)>; MAX_PARTY as usize],
}

impl Queue {
    /// An empty list in `order`.
    pub fn new(order: Order) -> Self {
        Self { order, by_size: Default::default() }
    }

    fn key(&self, w: &Waiter) -> (Time, Time, PartyId) {
        match self.order {
            Order::Arrival => (w.since, 0, w.id),
            Order::NeedBy => (w.need_by, w.since, w.id),
        }
    }
}

impl Policy for Queue {
    fn join(&mut self, w: Waiter) {
        let key = self.key(&w);
        self.by_size[w.size_index()].insert(key);
    }

    fn leave(&mut self, w: &Waiter) {
        let key = self.key(w);
        self.by_size[w.size_index()].remove(&key);
    }

    fn next(&mut self, now: Time, max_fit: u32, rng: &mut Stream) -> Next {
        match self.pick(now, max_fit, rng) {
            Some(id) => Next::Now(id),
            None => Next::Idle,
        }
    }

    fn pick(&mut self, _now: Time, max_fit: u32, _rng: &mut Stream) -> Option<PartyId> {
        let n = fitting_sizes(max_fit);
        self.by_size[..n].iter().filter_map(|set| set.first()).min().map(|k| k.2)
    }

    fn waiting(&self) -> usize {
        self.by_size.iter().map(BTreeSet::len).sum()
    }
}
