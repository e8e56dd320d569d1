//! Parties looking for an appointment: joining and leaving their service's policy, the
//! booking a policy's choice makes, urgency, and the bookkeeping of the inversion counts.

use crate::engine::Time;
use crate::engine::time::{day_of, day_start, stamp};

use super::lifecycle::Grant;
use super::{Event, Portal};
use crate::model::party::{PartyId, Stage};
use crate::model::policy::{Policy, Waiter};

impl Portal<'_> {
    pub(super) fn waiter(&self, id: PartyId) -> Waiter {
        let p = &self.parties[id as usize];
        Waiter {
            id,
            size: p.size(),
            bot: p.bot(),
            watcher: p.watcher(),
            need_by: p.need_by(),
            since: p.since(),
            urgent: self.is_urgent(id, self.now()),
        }
    }

    /// Whether a party looking for the first service is urgent at `now`.
    fn is_urgent(&self, id: PartyId, now: Time) -> bool {
        self.config.allocation.reserve.is_some() && now >= self.urgent_from(id)
    }

    /// When a party becomes urgent for the first service: its need-by instant less
    /// `urgent_within_days` ([`Time::MAX`] when no slots are held, or while it looks for
    /// another service).
    pub(super) fn urgent_from(&self, id: PartyId) -> Time {
        let p = &self.parties[id as usize];
        match self.config.allocation.reserve {
            Some(reserve) if p.is_looking_for(0) => p.need_by().saturating_sub(reserve.urgent_within),
            _ => Time::MAX,
        }
    }

    pub(super) fn start_looking(&mut self, id: PartyId, service: usize, now: Time) {
        let p = &mut self.parties[id as usize];
        let generation = p.start_looking(service as u8, now);
        let patience = p.patience();
        let w = self.waiter(id);
        self.policies[service].join(w);
        self.dirty |= 1 << service;
        if service == 0 {
            // Never without a reserve: the instant is then `Time::MAX`.
            let urgent_from = self.urgent_from(id);
            if urgent_from > now && urgent_from < self.end {
                self.schedule(urgent_from, Event::Urgent(id, generation));
            }
            let s = w.size_index();
            self.looking_by_since[s].push_back((stamp(w.since), id));
            self.urgency.insert(s, id, w.need_by, w.since);
            if let Some(patience) = patience {
                let deadline = now.saturating_add(patience);
                if deadline < day_start(day_of(now) + 1) {
                    // Today's deadlines were already queued by the day's start.
                    self.schedule(deadline, Event::GiveUp(id, generation));
                } else if deadline < self.end {
                    self.give_ups[day_of(deadline) as usize].push((stamp(deadline), id, generation));
                }
            }
        }
    }

    /// Starts loading what [`Self::stop_looking`] will read of `id` besides its record:
    /// its places in the policy and (first service) in the need-by index, tables indexed
    /// by party id (a hint).
    pub(super) fn prefetch_stop_looking(&self, id: PartyId, service: usize) {
        self.policies[service].prefetch(id);
        if service == 0 {
            self.urgency.prefetch(id);
        }
    }

    pub(super) fn stop_looking(&mut self, id: PartyId, service: usize) {
        if service == 0 {
            self.urgency.remove(id);
        }
        let w = self.waiter(id);
        self.policies[service].leave(&w);
        self.dirty |= 1 << service;
        self.parties[id as usize].bump_generation();
    }

    /// A policy's choice books: the earliest bookable day and band with room.
    pub(super) fn book(&mut self, id: PartyId, service: usize, now: Time) {
        let size = self.parties[id as usize].size();
        let urgent = self.is_urgent(id, now);
        let Some((day, band)) = self.calendars[service].earliest_fit(self.min_bookable_day(now), size, urgent) else {
            debug_assert!(false, "policy named party {id} of size {size} with no room");
            return;
        };
        debug_assert_eq!(self.parties[id as usize].stage(), Stage::Looking(service as u8));
        self.stop_looking(id, service);
        if service == 0 {
            let w = self.waiter(id);
            if self.parties[id as usize].counted() {
                let (mut overtook, mut overtook_need) = (false, false);
                for s in 0..w.size as usize {
                    let since = self.earliest_looking(s);
                    overtook |= since.is_some_and(|k| k < w.since);
                    // The party booking has left the index; it never overtakes itself.
                    let need = self.urgency.most_urgent(s);
                    overtook_need |= need.is_some_and(|k| k < (w.need_by, w.since));
                }
                self.queue_inversions += u64::from(overtook);
                self.need_by_inversions += u64::from(overtook_need);
            }
        }
        self.make_booking(id, service, day, band, now, Grant::Portal { urgent });
    }

    /// Whether a give-up planned with patience generation `generation` still applies: the
    /// party is looking for the first service and has not stopped or restarted since.
    pub(super) fn give_up_applies(&self, id: PartyId, generation: u32) -> bool {
        let p = &self.parties[id as usize];
        p.generation() == generation && p.is_looking_for(0)
    }

    /// Whether `id` is still looking for the first service since `since`.
    pub(super) fn still_looking(&self, id: PartyId, since: Time) -> bool {
        let p = &self.parties[id as usize];
        p.is_looking_for(0) && p.since() == since
    }

    /// When the longest-looking party of size `s + 1` started looking (the one booking now
    /// included: it has not left its stage yet).
    pub(super) fn earliest_looking(&mut self, s: usize) -> Option<Time> {
        while let Some(&(since, id)) = self.looking_by_since[s].front() {
            let since = Time::from(since);
            if self.still_looking(id, since) {
                return Some(since);
            }
            self.looking_by_since[s].pop_front();
        }
        None
    }
}
