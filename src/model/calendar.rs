//! The calendar of one service: days, bands and slots, and an index of free room that
//! answers "earliest bookable day with room for n" in logarithmic time.

use crate::engine::Time;

use super::config::Band;

/// Index of a booking in the run's booking log.
pub type BookingId = u32;

/// The state of one slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Free; `ever_booked` says whether it was held before (freed by a cancellation).
    Free {
        /// Whether some booking held it before.
        ever_booked: bool,
    },
    /// Held by a booking.
    Held(BookingId),
    /// Its appointment took place and the party attended.
    Attended,
    /// Its appointment took place and the party did not come.
    NoShow,
}

/// Where a booking sits: a day, a band and the slots it holds in that band.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// Calendar day.
    pub day: u32,
    /// Band index within the service.
    pub band: u16,
    /// Number of slots held.
    pub len: u8,
    /// Slot indexes within the band (the first `len` are used).
    pub slots: [u32; MAX_PARTY as usize],
}

impl Placement {
    /// The slot indexes held.
    pub fn slots(&self) -> &[u32] {
        &self.slots[..self.len as usize]
    }
}

/// What became of a closed day's slots.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayTally {
    /// All slots of the day.
    pub offered: u64,
    /// Attended.
    pub used: u64,
    /// Held by a party that did not come.
    pub wasted_noshow: u64,
    /// Freed by a cancellation and not taken again.
    pub wasted_freed: u64,
    /// Never booked.
    pub wasted_unbooked: u64,
    /// Still held (a day closed with a booking on it: only for days past the end).
    pub held: u64,
}

/// The largest party: the index answers fit questions for 1 to this many slots.
pub const MAX_PARTY: u32 = 5;

/// A set of days as a bitmap, with one summary bit per word, so that "the first day
/// `>= lo` in the set" costs a few word operations whatever the calendar's length.
#[derive(Debug, Clone)]
struct DaySet {
    words: Vec<u64>,
    /// Bit `w` of `summary[w / 64]` is set when `words[w]` is not zero.
    summary: Vec<u64>,
}

impl DaySet {
    fn new(days: usize) -> Self {
        let words = days.div_ceil(64).max(1);
        Self { words: vec![0; words], summary: vec![0; words.div_ceil(64)] }
    }

    fn insert(&mut self, day: usize) {
        let w = day / 64;
        self.words[w] |= 1 << (day % 64);
        self.summary[w / 64] |= 1 << (w % 64);
    }

    fn remove(&mut self, day: usize) {
        let w = day / 64;
        self.words[w] &= !(1 << (day % 64));
        if self.words[w] == 0 {
            self.summary[w / 64] &= !(1 << (w % 64));
        }
    }

    /// The first day `>= lo` in the set.
    fn first_from(&self, lo: usize) -> Option<usize> {
        let w = lo / 64;
        let here = *self.words.get(w)? & (u64::MAX << (lo % 64));
        if here != 0 {
            return Some(w * 64 + here.trailing_zeros() as usize);
        }
        // The first non-empty word after `w`, through the summary.
        let next = w + 1;
        let mut s = next / 64;
        let mut bits = self.summary.get(s)? & (u64::MAX << (next % 64));
        loop {
            if bits != 0 {
                let word = s * 64 + bits.trailing_zeros() as usize;
                return Some(word * 64 + self.words[word].trailing_zeros() as usize);
            }
            s += 1;
            bits = *self.summary.get(s)?;
        }
    }
}

/// For each day, the room that can be booked in one band (the largest bookable band
/// room), indexed for "first day `>= lo` with room for `need`": one [`DaySet`] per party
/// size, holding the days whose value is at least that size.
#[derive(Debug, Clone)]
struct RoomIndex {
    value: Vec<u32>,
    at_least: Vec<DaySet>,
    /// Changes whenever some day's membership of some size changes.
    generation: u64,
}

impl RoomIndex {
    fn new(n: usize) -> Self {
        Self { value: vec![0; n], at_least: (0..MAX_PARTY).map(|_| DaySet::new(n)).collect(), generation: 0 }
    }

    fn set(&mut self, day: usize, value: u32) {
        let old = std::mem::replace(&mut self.value[day], value);
        let (lo, hi) = (old.min(value).min(MAX_PARTY), old.max(value).min(MAX_PARTY));
        if lo == hi {
            return;
        }
        self.generation += 1;
        // Only the sizes between the old and the new value change membership.
        for need in lo + 1..=hi {
            let set = &mut self.at_least[need as usize - 1];
            if value >= need { set.insert(day) } else { set.remove(day) }
        }
    }

    /// The first index `>= lo` whose value is `>= need`.
    fn first_at_least(&self, lo: usize, need: u32) -> Option<usize> {
        if lo >= self.value.len() {
            return None;
        }
        match need {
            0 => Some(lo),
            1..=MAX_PARTY => self.at_least[need as usize - 1].first_from(lo),
            _ => (lo..self.value.len()).find(|&d| self.value[d] >= need),
        }
    }

    /// The maximum over indexes `>= lo`, capped at [`MAX_PARTY`] (0 past the end).
    fn max_from(&self, lo: usize) -> u32 {
        if lo >= self.value.len() {
            return 0;
        }
        (1..=MAX_PARTY).rev().find(|&need| self.at_least[need as usize - 1].first_from(lo).is_some()).unwrap_or(0)
    }
}

/// One service's calendar.
#[derive(Debug, Clone)]
pub struct Calendar {
    bands: Vec<Band>,
    offsets: Vec<usize>,
    per_day: usize,
    open: Vec<bool>,
    released: Vec<bool>,
    released_at: Vec<Option<Time>>,
    filled_at: Vec<Option<Time>>,
    slots: Vec<Slot>,
    room: Vec<u32>,
    /// Whether each (day, band) can still be booked: a band stops being bookable at its
    /// start time (this matters only when same-day booking is allowed).
    bookable: Vec<bool>,
    /// Per (day, band): no slot below this index is free, so `take` starts looking there.
    first_free: Vec<u32>,
    /// Free slots per day, all bands.
    day_free: Vec<u32>,
    index: RoomIndex,
    /// The last answer of [`Calendar::max_fit`]: the index generation and the first day
    /// it was for, and the answer.
    max_fit_memo: (u64, usize, u32),
}

impl Calendar {
    /// A calendar of `open.len()` days, nothing released, every slot free.
    pub fn new(bands: &[Band], open: &[bool]) -> Self {
        let mut offsets = Vec::with_capacity(bands.len());
        let mut per_day = 0;
        for b in bands {
            offsets.push(per_day);
            per_day += b.slots as usize;
        }
        let days = open.len();
        let mut room = Vec::with_capacity(days * bands.len());
        for &is_open in open {
            for b in bands {
                room.push(if is_open { b.slots } else { 0 });
            }
        }
        // Closed days keep free slots for a uniform layout; their room is zero, so they are never taken.
        let slots = vec![Slot::Free { ever_booked: false }; days * per_day];
        let day_free = open.iter().map(|&is_open| if is_open { per_day as u32 } else { 0 }).collect();
        Self {
            bands: bands.to_vec(),
            offsets,
            per_day,
            open: open.to_vec(),
            released: vec![false; days],
            released_at: vec![None; days],
            filled_at: vec![None; days],
            slots,
            bookable: vec![true; room.len()],
            first_free: vec![0; room.len()],
            room,
            day_free,
            index: RoomIndex::new(days),
            max_fit_memo: (u64::MAX, 0, 0),
        }
    }

    /// Days in the calendar.
    pub fn days(&self) -> usize {
        self.open.len()
    }

    /// The service's bands.
    pub fn bands(&self) -> &[Band] {
        &self.bands
    }

    /// Whether `day` has appointments.
    pub fn is_open(&self, day: usize) -> bool {
        self.open.get(day).copied().unwrap_or(false)
    }

    /// Whether `day` has been released.
    pub fn is_released(&self, day: usize) -> bool {
        self.released.get(day).copied().unwrap_or(false)
    }

    /// When `day` was released.
    pub fn released_at(&self, day: usize) -> Option<Time> {
        self.released_at.get(day).copied().flatten()
    }

    /// When `day` first had no free slot after its release.
    pub fn filled_at(&self, day: usize) -> Option<Time> {
        self.filled_at.get(day).copied().flatten()
    }

    /// Free slots in a band.
    pub fn room(&self, day: usize, band: usize) -> u32 {
        self.room[day * self.bands.len() + band]
    }

    /// Free slots of a day, all bands.
    pub fn day_room(&self, day: usize) -> u32 {
        self.day_free[day]
    }

    /// The state of slot `i` of `band` on `day`.
    pub fn slot(&self, day: usize, band: usize, i: usize) -> Slot {
        self.slots[day * self.per_day + self.offsets[band] + i]
    }

    fn bookable_room(&self, day: usize, band: usize) -> u32 {
        if self.bookable[day * self.bands.len() + band] { self.room(day, band) } else { 0 }
    }

    fn max_band_room(&self, day: usize) -> u32 {
        (0..self.bands.len()).map(|b| self.bookable_room(day, b)).max().unwrap_or(0)
    }

    /// Stops `band` of `day` being bookable (its appointments have started).
    pub fn close_band(&mut self, day: usize, band: usize) {
        if day < self.days() {
            self.bookable[day * self.bands.len() + band] = false;
            self.refresh(day);
        }
    }

    /// What the room index holds for `day`: its largest bookable band room once released.
    fn indexed_room(&self, day: usize) -> u32 {
        if self.released[day] { self.max_band_room(day) } else { 0 }
    }

    fn refresh(&mut self, day: usize) {
        self.index.set(day, self.indexed_room(day));
    }

    /// Releases `day` at `now`; returns the free slots it brings (0 if closed or already released).
    pub fn release(&mut self, day: usize, now: Time) -> u32 {
        if day >= self.days() || self.released[day] || !self.open[day] {
            return 0;
        }
        self.released[day] = true;
        self.released_at[day] = Some(now);
        self.refresh(day);
        self.day_room(day)
    }

    /// The largest party (up to [`MAX_PARTY`]) that fits somewhere on a released day `>= lo`.
    pub fn max_fit(&mut self, lo: usize) -> u32 {
        let (generation, memo_lo, memo) = self.max_fit_memo;
        if generation == self.index.generation && memo_lo == lo {
            debug_assert_eq!(memo, self.index.max_from(lo));
            return memo;
        }
        let fit = self.index.max_from(lo);
        self.max_fit_memo = (self.index.generation, lo, fit);
        fit
    }

    /// The earliest released day `>= lo` with a band that has room for `size`, and that
    /// band (the earliest such band of the day).
    pub fn earliest_fit(&self, lo: usize, size: u32) -> Option<(usize, usize)> {
        if lo >= self.days() {
            return None;
        }
        let day = self.index.first_at_least(lo, size)?;
        let band = (0..self.bands.len()).find(|&b| self.bookable_room(day, b) >= size)?;
        Some((day, band))
    }

    /// The first band of `day` with room for `size`, released or not.
    pub fn band_with_room(&self, day: usize, size: u32) -> Option<usize> {
        if !self.is_open(day) {
            return None;
        }
        // A band that has started cannot be given out either (the legacy queue is served on
        // the day a batch release first shows that day). Found by tests/model.
        (0..self.bands.len()).find(|&b| self.bookable_room(day, b) >= size)
    }

    /// Takes the `size` lowest-index free slots of `band` on `day` for `booking`.
    /// Returns the placement and how many of the slots had been held before.
    ///
    /// The caller has checked that the band has room.
    pub fn take(&mut self, day: usize, band: usize, size: u32, booking: BookingId, now: Time) -> (Placement, u32) {
        let base = day * self.per_day + self.offsets[band];
        let cell = day * self.bands.len() + band;
        let mut placement = Placement { day: day as u32, band: band as u16, len: 0, slots: [0; MAX_PARTY as usize] };
        let mut reused = 0;
        let mut i = self.first_free[cell] as usize;
        while (placement.len as u32) < size && i < self.bands[band].slots as usize {
            if let Slot::Free { ever_booked } = self.slots[base + i] {
                reused += u32::from(ever_booked);
                self.slots[base + i] = Slot::Held(booking);
                placement.slots[placement.len as usize] = i as u32;
                placement.len += 1;
            }
            i += 1;
        }
        self.first_free[cell] = i as u32;
        debug_assert_eq!(placement.len as u32, size, "take() without room");
        let before = self.room[cell];
        self.room[cell] -= size;
        self.day_free[day] -= size;
        // The day's bookable maximum changes only if this band held it (a band taken from
        // is bookable; an unreleased day's value stays zero).
        if self.released[day] && before == self.index.value[day] {
            self.refresh(day);
        }
        debug_assert_eq!(self.index.value[day], self.indexed_room(day));
        if self.released[day] && self.filled_at[day].is_none() && self.day_free[day] == 0 {
            self.filled_at[day] = Some(now);
        }
        (placement, reused)
    }

    /// Frees a booking's slots.
    pub fn free(&mut self, p: &Placement) {
        let base = p.day as usize * self.per_day + self.offsets[p.band as usize];
        let cell = p.day as usize * self.bands.len() + p.band as usize;
        for &i in p.slots() {
            self.slots[base + i as usize] = Slot::Free { ever_booked: true };
            self.first_free[cell] = self.first_free[cell].min(i);
        }
        self.room[cell] += p.len as u32;
        let day = p.day as usize;
        self.day_free[day] += p.len as u32;
        if self.released[day] && self.bookable[cell] && self.room[cell] > self.index.value[day] {
            self.index.set(day, self.room[cell]);
        }
        debug_assert_eq!(self.index.value[day], self.indexed_room(day));
    }

    /// Marks a booking's slots as attended or no-show at its appointment.
    pub fn settle(&mut self, p: &Placement, attended: bool) {
        let base = p.day as usize * self.per_day + self.offsets[p.band as usize];
        for &i in p.slots() {
            self.slots[base + i as usize] = if attended { Slot::Attended } else { Slot::NoShow };
        }
    }

    /// Closes `day`: counts what became of its slots and stops it being bookable.
    pub fn close(&mut self, day: usize) -> DayTally {
        if day >= self.days() {
            return DayTally::default();
        }
        self.released[day] = false;
        self.refresh(day);
        for b in 0..self.bands.len() {
            self.room[day * self.bands.len() + b] = 0;
        }
        self.day_free[day] = 0;
        self.tally(day)
    }

    /// Counts a day's slots by state without closing it (for days past the end of the run).
    pub fn tally(&self, day: usize) -> DayTally {
        let mut tally = DayTally::default();
        if day >= self.days() || !self.open[day] {
            return tally;
        }
        tally.offered = self.per_day as u64;
        for s in &self.slots[day * self.per_day..(day + 1) * self.per_day] {
            match s {
                Slot::Free { ever_booked: false } => tally.wasted_unbooked += 1,
                Slot::Free { ever_booked: true } => tally.wasted_freed += 1,
                Slot::Held(_) => tally.held += 1,
                Slot::Attended => tally.used += 1,
                Slot::NoShow => tally.wasted_noshow += 1,
            }
        }
        tally
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cal(days: usize) -> Calendar {
        let bands = [Band { start: 9 * 3600, slots: 3 }, Band { start: 10 * 3600, slots: 2 }];
        let open: Vec<bool> = (0..days).map(|d| d % 7 != 6).collect();
        Calendar::new(&bands, &open)
    }

    #[test]
    fn nothing_fits_before_release() {
        let mut c = cal(14);
        assert_eq!(c.max_fit(0), 0);
        assert_eq!(c.earliest_fit(0, 1), None);
    }

    #[test]
    fn earliest_fit_respects_lead_size_and_closed_days() {
        let mut c = cal(14);
        for d in 0..14 {
            c.release(d, 0);
        }
        assert_eq!(c.release(6, 0), 0, "closed day releases nothing");
        assert_eq!(c.earliest_fit(5, 3), Some((5, 0)));
        assert_eq!(c.earliest_fit(6, 1), Some((7, 0)), "day 6 is closed");
        assert_eq!(c.earliest_fit(0, 4), None, "no band holds four");
        let (p, _) = c.take(5, 0, 3, 0, 0);
        assert_eq!(c.earliest_fit(5, 3), Some((7, 0)));
        assert_eq!(c.earliest_fit(5, 2), Some((5, 1)));
        c.free(&p);
        assert_eq!(c.earliest_fit(5, 3), Some((5, 0)));
    }

    #[test]
    fn take_prefers_lowest_free_indexes_and_counts_reuse() {
        let mut c = cal(2);
        c.release(0, 0);
        let (a, _) = c.take(0, 0, 1, 0, 0);
        let (b, _) = c.take(0, 0, 1, 1, 0);
        assert_eq!((a.slots(), b.slots()), (&[0][..], &[1][..]));
        c.free(&a);
        let (again, reused) = c.take(0, 0, 2, 2, 0);
        assert_eq!(again.slots(), &[0, 2]);
        assert_eq!(reused, 1);
    }

    #[test]
    fn closing_a_day_accounts_for_every_slot() {
        let mut c = cal(2);
        c.release(0, 0);
        let (a, _) = c.take(0, 0, 2, 0, 0);
        let (b, _) = c.take(0, 1, 1, 1, 0);
        let (x, _) = c.take(0, 1, 1, 2, 0);
        c.free(&x);
        c.settle(&a, true);
        c.settle(&b, false);
        let t = c.close(0);
        assert_eq!(t.offered, 5);
        assert_eq!((t.used, t.wasted_noshow, t.wasted_freed, t.wasted_unbooked), (2, 1, 1, 1));
        assert_eq!(t.used + t.wasted_noshow + t.wasted_freed + t.wasted_unbooked + t.held, t.offered);
        assert_eq!(c.max_fit(0), 0, "a closed day is not bookable");
    }

    #[test]
    fn room_index_matches_a_linear_scan() {
        // Lengths around the bitmap's word and summary boundaries; values set, raised and
        // lowered again in a seeded order.
        for n in [1, 37, 64, 65, 200, 4097, 4200] {
            let mut idx = RoomIndex::new(n);
            let mut values = vec![0u32; n];
            let mut state = 99u64 + n as u64;
            for step in 0..3 * n {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let (i, v) = ((state >> 33) as usize % n, ((state >> 20) % 9) as u32);
                let v = if step % 3 == 2 { 0 } else { v };
                idx.set(i, v);
                values[i] = v;
            }
            let los: Vec<usize> = if n < 300 { (0..n).collect() } else { (0..n).step_by(61).chain([n - 1]).collect() };
            for lo in los {
                let max = values[lo..].iter().copied().max().unwrap_or(0);
                assert_eq!(idx.max_from(lo), max.min(MAX_PARTY), "n {n} lo {lo}");
                for need in 0..10 {
                    let expect = (lo..n).find(|&i| values[i] >= need);
                    assert_eq!(idx.first_at_least(lo, need), expect, "n {n} lo {lo} need {need}");
                }
            }
            assert_eq!(idx.first_at_least(n, 1), None);
        }
    }
}
