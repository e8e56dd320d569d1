//! Lottery: parties register; every `every_days` days, at the release time, all
//! released-and-free slots go to the registered parties in a uniformly random order, each
//! taking the earliest day that fits. Slots freed between draws wait for the next draw.
//!
//! A draw falls due at the policy's daily instant, and is made when the model next
//! allocates: after everything else at that instant (model.md, "Time"). It therefore
//! includes the slots freed at its instant (confirmation deadlines are midnights, as
//! draws at the default release time are) and the parties registered by then.

use std::collections::VecDeque;

use crate::engine::{Stream, Time};

use super::{Next, PartyId, Policy, Pools, Waiter};
use crate::model::calendar::Fit;

/// Periodic random draws.
#[derive(Debug, Clone)]
pub struct Lottery {
    every_days: u32,
    registered: Pools,
    sizes: Vec<u8>,
    /// By party id: when the party becomes urgent (it may take held slots from then on).
    urgent_from: Vec<Time>,
    /// How long before its need-by date a party becomes urgent (`None`: never).
    urgent_within: Option<Time>,
    /// The current draw's order; empty between draws.
    draw: VecDeque<PartyId>,
    /// A draw fell due and its order is not drawn yet.
    due: bool,
}

impl Lottery {
    /// Draws every `every_days` days; parties are urgent from `urgent_within` before their
    /// need-by date, if slots are held for urgent parties.
    pub fn new(every_days: u32, urgent_within: Option<Time>) -> Self {
        Self {
            every_days: every_days.max(1),
            registered: Pools::new(1),
            sizes: Vec::new(),
            urgent_from: Vec::new(),
            urgent_within,
            draw: VecDeque::new(),
            due: false,
        }
    }
}

impl Policy for Lottery {
    fn join(&mut self, w: Waiter) {
        self.registered.insert(0, w.id);
        if self.sizes.len() <= w.id as usize {
            self.sizes.resize(w.id as usize + 1, 0);
            self.urgent_from.resize(w.id as usize + 1, Time::MAX);
        }
        self.sizes[w.id as usize] = w.size as u8;
        self.urgent_from[w.id as usize] =
            self.urgent_within.map_or(Time::MAX, |within| w.need_by.saturating_sub(within));
    }

    fn leave(&mut self, w: &Waiter) {
        self.registered.remove(0, w.id);
    }

    fn on_tick(&mut self, day: u32, _now: Time, _rng: &mut Stream) {
        // Drawn at the allocation that ends this instant, once every party that registers
        // or leaves and every slot freed at it has.
        self.due |= day.is_multiple_of(self.every_days);
    }

    fn next(&mut self, now: Time, fit: Fit, rng: &mut Stream) -> Next {
        match self.pick(now, fit, rng) {
            Some(id) => Next::Now(id),
            None => Next::Idle,
        }
    }

    fn pick(&mut self, now: Time, fit: Fit, rng: &mut Stream) -> Option<PartyId> {
        if std::mem::take(&mut self.due) {
            // Registration order is the pool's order, which depends on history; sort by id
            // so that the shuffle alone decides the order.
            let mut entrants = self.registered.members(0).to_vec();
            entrants.sort_unstable();
            rng.shuffle(&mut entrants);
            self.draw = entrants.into();
        }
        if fit.urgent == 0 {
            // Nothing left to give: the draw is over; the others stay registered.
            self.draw.clear();
            return None;
        }
        while let Some(id) = self.draw.pop_front() {
            // Held slots go only to urgent parties: a party's room depends on its urgency now.
            let room = fit.of(now >= self.urgent_from[id as usize]);
            if self.registered.contains(0, id) && u32::from(self.sizes[id as usize]) <= room {
                return Some(id);
            }
        }
        None
    }

    fn waiting(&self) -> usize {
        self.registered.len(0)
    }

    fn prefetch(&self, id: PartyId) {
        self.registered.prefetch(id);
    }
}
