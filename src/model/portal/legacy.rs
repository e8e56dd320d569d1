//! The legacy e-mail queue, served in receipt order out of each released day's quota, and
//! the appointments kept from the old portal, placed before the first release.

use crate::engine::Time;
use crate::engine::time::day_of;
use crate::model::streams::Purpose;

use super::Portal;
use super::lifecycle::Grant;
use crate::model::party::{PartyKind, Stage};

impl Portal<'_> {
    pub(super) fn set_up_legacy(&mut self) {
        let l = &self.config.legacy;
        let mut rng = self.streams.stream(Purpose::Legacy, 0);
        let span = (l.received_until - l.received_from).max(0);
        let mut receipts: Vec<Time> = (0..l.requests).map(|_| l.received_from + rng.integer(0, span)).collect();
        receipts.sort_unstable();
        for (i, &t) in receipts.iter().enumerate() {
            let id = self.add_party(PartyKind::Legacy, i as u32, t, false);
            self.parties[id as usize].enter(Stage::LegacyQueue, t);
            self.legacy_queue.push_back(id);
        }
    }

    pub(super) fn set_up_preexisting(&mut self) {
        let p = self.config.preexisting;
        let cal_days = self.calendars[0].days();
        let open_days: Vec<usize> =
            (0..(p.over_days as usize).min(cal_days)).filter(|&d| self.calendars[0].is_open(d)).collect();
        if open_days.is_empty() {
            return;
        }
        let n = p.bookings as usize;
        for i in 0..n {
            let id = self.add_party(PartyKind::Preexisting, i as u32, 0, false);
            let size = self.parties[id as usize].size();
            let target = open_days[i * open_days.len() / n];
            let spot = (target..cal_days).find_map(|d| self.calendars[0].band_with_room(d, size).map(|b| (d, b)));
            match spot {
                Some((day, band)) => self.make_booking(id, 0, day, band, 0, Grant::Preexisting),
                None => {
                    // No room anywhere: the appointment could not be honoured; it looks on the portal.
                    self.start_looking(id, 0, 0);
                }
            }
        }
    }

    /// Gives up to the quota of a newly released day's first-service slots to the head of
    /// the legacy queue, strictly in receipt order.
    pub(super) fn assign_legacy(&mut self, day: usize, now: Time) {
        let mut quota = self.config.legacy.quota_per_day;
        while let Some(&id) = self.legacy_queue.front() {
            let size = self.parties[id as usize].size();
            if size > quota {
                break;
            }
            let Some(band) = self.calendars[0].band_with_room(day, size) else { break };
            self.legacy_queue.pop_front();
            quota -= size;
            self.legacy_order.push(self.parties[id as usize].index());
            let confirm = self.config.legacy.needs_confirmation;
            self.make_booking(id, 0, day, band, now, Grant::Legacy { confirm });
            if self.legacy_queue.is_empty() {
                self.legacy_drained_day = Some(day_of(now).max(0) as u32);
            }
        }
    }
}
