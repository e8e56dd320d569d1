//! Waiting lists: `waitlist` (first in, first out) and `priority` (earliest need-by date
//! first, ties by arrival).
//!
//! Whenever slots are released or freed, they go at once to the first party in the order
//! that fits; checking speed gives no advantage.

use std::collections::BTreeSet;

use crate::engine::{Stream, Time};
use crate::model::calendar::{Fit, MAX_PARTY};

use super::{Next, PartyId, Policy, Waiter, fitting_sizes};

/// The order of a waiting list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Longest-waiting first (by the instant the party started looking, then party id).
    Arrival,
    /// Earliest need-by date first, ties by the instant the party started looking.
    NeedBy,
}

type Sets = [BTreeSet<(Time, Time, PartyId)>; MAX_PARTY as usize];

/// A waiting list, one ordered set per party size so that "first that fits" is a few
/// look-ups; urgent parties (when slots are held for them) in sets of their own, as they
/// fit in held slots too.
#[derive(Debug, Clone)]
pub struct Queue {
    order: Order,
    by_size: Sets,
    urgent_by_size: Sets,
    urgent: usize,
}

impl Queue {
    /// An empty list in `order`.
    pub fn new(order: Order) -> Self {
        Self { order, by_size: Default::default(), urgent_by_size: Default::default(), urgent: 0 }
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
        if w.urgent {
            self.urgent_by_size[w.size_index()].insert(key);
            self.urgent += 1;
        } else {
            self.by_size[w.size_index()].insert(key);
        }
    }

    fn leave(&mut self, w: &Waiter) {
        let key = self.key(w);
        let s = w.size_index();
        if !self.by_size[s].remove(&key) && self.urgent_by_size[s].remove(&key) {
            self.urgent -= 1;
        }
    }

    fn make_urgent(&mut self, w: &Waiter, _now: Time, _rng: &mut Stream) {
        let key = self.key(w);
        let s = w.size_index();
        if self.by_size[s].remove(&key) {
            self.urgent_by_size[s].insert(key);
            self.urgent += 1;
        }
    }

    fn next(&mut self, now: Time, fit: Fit, rng: &mut Stream) -> Next {
        match self.pick(now, fit, rng) {
            Some(id) => Next::Now(id),
            None => Next::Idle,
        }
    }

    fn pick(&mut self, _now: Time, fit: Fit, _rng: &mut Stream) -> Option<PartyId> {
        let first = self.by_size[..fitting_sizes(fit.ordinary)].iter().filter_map(|set| set.first()).min();
        if self.urgent == 0 {
            return first.map(|k| k.2);
        }
        let urgent = self.urgent_by_size[..fitting_sizes(fit.urgent)].iter().filter_map(|set| set.first()).min();
        first.into_iter().chain(urgent).min().map(|k| k.2)
    }

    fn waiting(&self) -> usize {
        self.by_size.iter().chain(&self.urgent_by_size).map(BTreeSet::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::streams::{Purpose, Streams};

    fn waiter(id: PartyId, since: Time, urgent: bool) -> Waiter {
        Waiter { id, size: 1, bot: false, watcher: false, need_by: 100 - since, since, urgent }
    }

    #[test]
    fn held_room_goes_to_the_first_urgent_party_in_order() {
        let mut rng = Streams::new(1).stream(Purpose::Policy, 0);
        for order in [Order::Arrival, Order::NeedBy] {
            let mut q = Queue::new(order);
            q.join(waiter(1, 10, false));
            q.join(waiter(2, 20, true));
            q.join(waiter(3, 30, true));
            let first = if order == Order::Arrival { 1 } else { 3 };
            assert_eq!(q.pick(0, Fit::same(1), &mut rng), Some(first), "{order:?}");
            let urgent_first = if order == Order::Arrival { 2 } else { 3 };
            assert_eq!(q.pick(0, Fit { ordinary: 0, urgent: 1 }, &mut rng), Some(urgent_first), "{order:?}");
            q.make_urgent(&waiter(1, 10, false), 0, &mut rng);
            q.leave(&waiter(2, 20, true));
            assert_eq!(q.waiting(), 2);
            assert_eq!(q.pick(0, Fit { ordinary: 0, urgent: 1 }, &mut rng), Some(first), "{order:?}");
            assert_eq!(q.pick(0, Fit { ordinary: 1, urgent: 0 }, &mut rng), None, "nobody ordinary is left");
        }
    }
}
