//! A booking's life: slots taken, the confirmation e-mail and deadline, the end its fate
//! gives it (kept, cancelled, auto-cancelled, detected, missed), and what the party does
//! next (processing, pickup, looking again, leaving).

use crate::engine::time::day_start;
use crate::engine::{DAY, Time};
use crate::model::streams::Purpose;

use super::{Event, Portal};
use crate::model::calendar::BookingId;
use crate::model::party::{Booking, BookingEnd, BookingFields, Fate, Outcome, PartyId, PartyKind, Stage};

/// How a booking arises: from the allocation policy (the party urgent or not), from the
/// legacy queue (confirmed by e-mail or not), or from the old portal.
#[derive(Debug, Clone, Copy)]
pub(super) enum Grant {
    Portal { urgent: bool },
    Legacy { confirm: bool },
    Preexisting,
}

impl Portal<'_> {
    /// Holds slots for a party and plans what happens to the booking.
    pub(super) fn make_booking(
        &mut self,
        id: PartyId,
        service: usize,
        day: usize,
        band: usize,
        now: Time,
        grant: Grant,
    ) {
        let b = self.bookings.len() as BookingId;
        let size = self.parties[id as usize].size();
        let (legacy, no_confirmation, urgent) = match grant {
            Grant::Portal { urgent } => (false, false, urgent),
            Grant::Legacy { confirm } => (true, !confirm, false),
            Grant::Preexisting => (false, false, false),
        };
        let (placement, reused) = self.calendars[service].take(day, band, size, b, now, urgent);
        // Only the old-portal appointment itself is pre-existing. A pre-existing party that
        // found no room at set-up looks on the portal (stage `Looking`), and what it books
        // there is a portal booking, not a pre-existing one (found by tests/model).
        let preexisting = {
            let p = &self.parties[id as usize];
            p.kind() == PartyKind::Preexisting && p.bookings() == 0 && !matches!(p.stage(), Stage::Looking(_))
        };
        if service == 0 {
            self.today.booked += 1;
            if self.counted_day(day) {
                self.reallocated += u64::from(reused);
            }
        }
        let appointment = day_start(day as i64) + self.config.services[service].bands_on(day)[band].start;
        let behaviour = &self.config.behaviour;
        let party = &mut self.parties[id as usize];
        let bot = party.bot();
        let k = party.count_booking(service, now);
        party.enter(Stage::Holding(b), now);
        // The fate of this party's k-th booking; each part is drawn only if it matters.
        let fate = Fate::new(self.streams.key_of(Purpose::PartyBehaviour, party.tag(), u64::from(k)));

        // Confirmation: e-mail at 00:00 lead days ahead (or now, if later); deadline five
        // days on, never after 00:00 of the appointment day. A booking made on the day
        // itself cannot be confirmed by e-mail and counts as confirmed.
        let mut email_at = None;
        let mut deadline = None;
        let mut confirmed_at = None;
        let mut auto_cancel_at = None;
        match self.config.confirmation {
            Some(c) if !no_confirmation => {
                let email = (day_start(day as i64) - i64::from(c.lead_days) * DAY).max(now);
                let due = (email + i64::from(c.window_days) * DAY).min(day_start(day as i64));
                if due <= now {
                    confirmed_at = Some(now);
                } else {
                    email_at = Some(email);
                    deadline = Some(due);
                    let confirms = fate.confirms(if bot { behaviour.bot_confirm_prob } else { behaviour.confirm_prob });
                    let when = email + fate.confirm_delay(behaviour.confirm_delay);
                    if confirms && when <= due {
                        confirmed_at = Some(when);
                    } else {
                        auto_cancel_at = Some(due);
                    }
                }
            }
            _ => confirmed_at = Some(now),
        }
        let mut end = (appointment, BookingEnd::Attended);
        if service == 0 {
            let cancel_at = now.saturating_add(fate.cancel_after(behaviour.cancel_rate));
            if cancel_at < end.0 {
                end = (cancel_at, BookingEnd::Cancelled);
            }
        }
        let detect_at = now + DAY;
        let detection = self.config.allocation.bot_detection_prob;
        if bot && detection > 0.0 && detect_at < end.0 && fate.detected(detection) {
            end = (detect_at, BookingEnd::Detected);
        }
        if let Some(t) = auto_cancel_at
            && t <= end.0
        {
            end = (t, BookingEnd::AutoCancelled);
        }
        self.bookings.push(Booking::from(BookingFields {
            party: id,
            service: service as u8,
            placement,
            fate,
            legacy,
            preexisting,
            made_at: now,
            appointment,
            email_at,
            deadline,
            confirmed_at,
            end: None,
        }));
        self.dirty |= 1 << service;
        // An appointment kept to the end is met by its band's `Appointments` event.
        if end.1 != BookingEnd::Attended && end.0 < self.end {
            self.schedule(end.0, Event::BookingEnd(b, end.1));
        }
    }

    pub(super) fn free_booking(&mut self, b: BookingId) {
        let booking = &self.bookings[b as usize];
        let (service, placement) = (booking.service() as usize, booking.placement());
        self.calendars[service].free(&placement);
        if service == 0 {
            self.today.freed += u64::from(placement.len);
        }
        self.dirty |= 1 << service;
    }

    pub(super) fn end_booking(&mut self, b: BookingId, end: BookingEnd, now: Time) {
        self.bookings[b as usize].set_end(now, end);
        let booking = &self.bookings[b as usize];
        let (id, service, fate, placement) =
            (booking.party(), booking.service() as usize, booking.fate(), booking.placement());
        let behaviour = &self.config.behaviour;
        match end {
            BookingEnd::AutoCancelled | BookingEnd::NoShow => {
                unreachable!("auto-cancellations go to auto_cancel(); no-shows are decided at the appointment")
            }
            BookingEnd::Cancelled | BookingEnd::Detected => {
                self.free_booking(b);
                let outcome = if end == BookingEnd::Cancelled { Outcome::Cancelled } else { Outcome::Detected };
                self.parties[id as usize].end(outcome, now);
            }
            BookingEnd::Attended if !fate.shows(behaviour.show_prob) => {
                let rebooks = fate.rebooks(behaviour.rebook_prob);
                self.bookings[b as usize].set_end(now, BookingEnd::NoShow);
                self.calendars[service].settle(&placement, false);
                self.parties[id as usize].count_no_show();
                self.retry_or_lose(id, service, rebooks, now);
            }
            BookingEnd::Attended => {
                self.calendars[service].settle(&placement, true);
                if service == 0 && !fate.docs_ok(behaviour.docs_ok_prob) {
                    self.parties[id as usize].count_doc_failure();
                    self.start_looking(id, 0, now);
                } else if service == 0 && self.config.pickup.is_some() {
                    let ready = now + i64::from(fate.processing_days(behaviour.processing_days)) * DAY;
                    let p = &mut self.parties[id as usize];
                    p.set_served(now);
                    p.set_ready(ready);
                    p.enter(Stage::Processing, now);
                    if ready < self.end {
                        self.schedule(ready, Event::Ready(id));
                    }
                } else {
                    let p = &mut self.parties[id as usize];
                    if service == 0 {
                        p.set_served(now);
                    }
                    p.set_completed(now);
                    p.end(Outcome::Completed, now);
                }
            }
        }
    }

    pub(super) fn retry_or_lose(&mut self, id: PartyId, service: usize, rebooks: bool, now: Time) {
        if rebooks {
            self.start_looking(id, service, now);
        } else {
            self.parties[id as usize].end(Outcome::Lost, now);
        }
    }

    pub(super) fn auto_cancel(&mut self, b: BookingId, now: Time) {
        self.bookings[b as usize].set_end(now, BookingEnd::AutoCancelled);
        self.free_booking(b);
        let booking = &self.bookings[b as usize];
        let (id, service) = (booking.party(), booking.service() as usize);
        let rebooks = booking.fate().rebooks(self.config.behaviour.rebook_prob);
        self.parties[id as usize].count_auto_cancel();
        // A legacy party loses its turn and looks on the portal like a new party.
        self.retry_or_lose(id, service, rebooks, now);
    }

    pub(super) fn passport_ready(&mut self, id: PartyId, now: Time) {
        if let Some(pickup) = self.config.pickup
            && self.parties[id as usize].stage() == Stage::Processing
        {
            self.start_looking(id, pickup, now);
        }
    }
}
