//! The calendar of one service: days, bands and slots under its capacity plan, and an
//! index of free room that answers "earliest bookable day with room for n" in a few word
//! operations: one for every party, and one for urgent parties when slots are held for them.

use crate::engine::Time;

use super::config::{Band, Service};

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

/// A [`Slot`] in one word, as the calendar keeps it: the holding booking's id, or one of
/// the four values at the top of the range (booking ids stay below 2^28).
type PackedSlot = u32;
const FREE_NEVER: PackedSlot = u32::MAX;
const FREE_AGAIN: PackedSlot = u32::MAX - 1;
const ATTENDED: PackedSlot = u32::MAX - 2;
const NO_SHOW: PackedSlot = u32::MAX - 3;

/// Bytes a calendar keeps per place (for memory estimates).
pub const SLOT_BYTES: usize = std::mem::size_of::<PackedSlot>();

fn unpack(s: PackedSlot) -> Slot {
    match s {
        FREE_NEVER => Slot::Free { ever_booked: false },
        FREE_AGAIN => Slot::Free { ever_booked: true },
        ATTENDED => Slot::Attended,
        NO_SHOW => Slot::NoShow,
        b => Slot::Held(b),
    }
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
    /// People attending beyond the slots of their band (overbooking), served in overtime.
    pub overtime: u64,
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

/// The largest party that fits in the bookable room of `a` and of `b`: what an ordinary
/// party can take (held slots excluded) and what an urgent one can (held slots included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Fit {
    /// For a party that is not urgent.
    pub ordinary: u32,
    /// For an urgent party (at least `ordinary`).
    pub urgent: u32,
}

impl Fit {
    /// The same answer for both kinds of party (no reserve).
    pub fn same(n: u32) -> Self {
        Self { ordinary: n, urgent: n }
    }

    /// The answer for a party that is urgent or not.
    pub fn of(self, urgent: bool) -> u32 {
        if urgent { self.urgent } else { self.ordinary }
    }
}

/// What became of a day's held slots at the instant they opened to everyone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReserveTally {
    /// Slots held for urgent parties.
    pub held: u64,
    /// ... taken by urgent parties (held by their bookings when the reserve opened).
    pub taken_urgent: u64,
    /// ... still free when the reserve opened, so given to everyone.
    pub opened: u64,
}

/// One (day, band) of a calendar: where its places lie and how many are free.
#[derive(Debug, Clone, Copy)]
struct Cell {
    /// Index of its first place in [`Calendar::slots`].
    base: usize,
    /// Slots offered (what slot accounting counts).
    slots: u32,
    /// Places bookings may take (`slots`, or more with overbooking).
    places: u32,
    /// Places from this index on are held for urgent parties (`places` once the reserve
    /// has opened, or without one).
    held_from: u32,
    /// Free places.
    room: u32,
    /// Free places at or above `held_from`.
    held_room: u32,
    /// No place below this index is free, so `take` starts looking there.
    first_free: u32,
    /// Whether the band can still be booked: a band stops being bookable at its start
    /// time (this matters only when same-day booking is allowed).
    bookable: bool,
}

impl Cell {
    /// Free places any party may take.
    fn ordinary_room(&self) -> u32 {
        if self.bookable { self.room - self.held_room } else { 0 }
    }

    /// Free places an urgent party may take.
    fn urgent_room(&self) -> u32 {
        if self.bookable { self.room } else { 0 }
    }
}

/// One service's calendar under its capacity plan.
#[derive(Debug, Clone)]
pub struct Calendar {
    layouts: Vec<Vec<Band>>,
    /// Per day: its layout, or [`CLOSED`].
    day_layout: Vec<u16>,
    /// Per day: the index of its first cell; one more entry at the end.
    day_cell: Vec<u32>,
    cells: Vec<Cell>,
    released: Vec<bool>,
    released_at: Vec<Option<Time>>,
    filled_at: Vec<Option<Time>>,
    slots: Vec<PackedSlot>,
    /// Free places per day, all bands.
    day_free: Vec<u32>,
    /// The room an ordinary party can book, per day.
    index: RoomIndex,
    /// The room an urgent party can book, per day; only when some band holds slots.
    urgent_index: Option<RoomIndex>,
    /// Per day: what became of its held slots (set when its reserve opens).
    reserve: Vec<ReserveTally>,
    /// The last answer of [`Calendar::fit`]: the index generations and the first day it
    /// was for, and the answer.
    fit_memo: (u64, u64, usize, Fit),
}

/// Bytes a calendar keeps per day and band (for memory estimates).
pub const CELL_BYTES: usize = std::mem::size_of::<Cell>();

/// [`Calendar::day_layout`] of a closed day.
const CLOSED: u16 = u16::MAX;

impl Calendar {
    /// The calendar of `service` over its plan's days, nothing released, every place free.
    pub fn new(service: &Service) -> Self {
        let layouts = service.layouts.clone();
        let days = service.day_layout.len();
        let day_layout: Vec<u16> = service.day_layout.iter().map(|l| l.unwrap_or(CLOSED)).collect();
        let mut day_cell = Vec::with_capacity(days + 1);
        let mut cells = Vec::new();
        let mut day_free = Vec::with_capacity(days);
        let mut base = 0;
        for &layout in &day_layout {
            day_cell.push(cells.len() as u32);
            let bands: &[Band] = if layout == CLOSED { &[] } else { &layouts[layout as usize] };
            let mut free = 0;
            for b in bands {
                let held_from = b.places - b.held.min(b.places);
                cells.push(Cell {
                    base,
                    slots: b.slots,
                    places: b.places,
                    held_from,
                    room: b.places,
                    held_room: b.places - held_from,
                    first_free: 0,
                    bookable: true,
                });
                base += b.places as usize;
                free += b.places;
            }
            day_free.push(free);
        }
        day_cell.push(cells.len() as u32);
        let reserved = cells.iter().any(|c| c.held_from < c.places);
        Self {
            layouts,
            day_layout,
            day_cell,
            cells,
            released: vec![false; days],
            released_at: vec![None; days],
            filled_at: vec![None; days],
            slots: vec![FREE_NEVER; base],
            day_free,
            index: RoomIndex::new(days),
            urgent_index: reserved.then(|| RoomIndex::new(days)),
            reserve: vec![ReserveTally::default(); days],
            fit_memo: (u64::MAX, u64::MAX, 0, Fit::default()),
        }
    }

    /// Days in the calendar.
    pub fn days(&self) -> usize {
        self.day_layout.len()
    }

    /// The bands of `day` (none when closed).
    pub fn bands(&self, day: usize) -> &[Band] {
        match self.day_layout.get(day) {
            Some(&l) if l != CLOSED => &self.layouts[l as usize],
            _ => &[],
        }
    }

    /// Whether `day` has appointments.
    pub fn is_open(&self, day: usize) -> bool {
        self.day_layout.get(day).is_some_and(|&l| l != CLOSED)
    }

    /// Whether `day` has been released.
    pub fn is_released(&self, day: usize) -> bool {
        self.released.get(day).copied().unwrap_or(false)
    }

    /// When `day` was released.
    pub fn released_at(&self, day: usize) -> Option<Time> {
        self.released_at.get(day).copied().flatten()
    }

    /// When `day` first had no free place after its release.
    pub fn filled_at(&self, day: usize) -> Option<Time> {
        self.filled_at.get(day).copied().flatten()
    }

    /// What became of `day`'s held slots (zero until its reserve opens).
    pub fn reserve(&self, day: usize) -> ReserveTally {
        self.reserve.get(day).copied().unwrap_or_default()
    }

    fn cell_index(&self, day: usize, band: usize) -> usize {
        self.day_cell[day] as usize + band
    }

    fn day_cells(&self, day: usize) -> &[Cell] {
        &self.cells[self.day_cell[day] as usize..self.day_cell[day + 1] as usize]
    }

    /// Free places in a band (held ones included).
    pub fn room(&self, day: usize, band: usize) -> u32 {
        self.cells[self.cell_index(day, band)].room
    }

    /// Free places of a day, all bands.
    pub fn day_room(&self, day: usize) -> u32 {
        self.day_free[day]
    }

    /// The state of place `i` of `band` on `day`.
    pub fn slot(&self, day: usize, band: usize, i: usize) -> Slot {
        unpack(self.slots[self.cells[self.cell_index(day, band)].base + i])
    }

    /// The bookings holding places of `band` on `day`, place by place (a booking holding
    /// several places is met once per place).
    pub fn holders(&self, day: usize, band: usize) -> impl Iterator<Item = BookingId> + '_ {
        let cell = &self.cells[self.cell_index(day, band)];
        // Below the lowest of the four states, a place holds a booking id.
        self.slots[cell.base..cell.base + cell.places as usize].iter().copied().filter(|&s| s < NO_SHOW)
    }

    /// Stops `band` of `day` being bookable (its appointments have started).
    pub fn close_band(&mut self, day: usize, band: usize) {
        if day < self.days() && band < self.bands(day).len() {
            let c = self.cell_index(day, band);
            self.cells[c].bookable = false;
            self.refresh(day);
        }
    }

    /// What the room indexes hold for `day`: its largest bookable band room, ordinary and
    /// for urgent parties, once released.
    fn indexed_room(&self, day: usize) -> (u32, u32) {
        if !self.released[day] {
            return (0, 0);
        }
        self.day_cells(day).iter().fold((0, 0), |(o, u), c| (o.max(c.ordinary_room()), u.max(c.urgent_room())))
    }

    fn refresh(&mut self, day: usize) {
        let (ordinary, urgent) = self.indexed_room(day);
        self.index.set(day, ordinary);
        if let Some(index) = &mut self.urgent_index {
            index.set(day, urgent);
        }
    }

    /// Releases `day` at `now`; returns the free places it brings (0 if closed or already released).
    pub fn release(&mut self, day: usize, now: Time) -> u32 {
        if day >= self.days() || self.released[day] || !self.is_open(day) {
            return 0;
        }
        self.released[day] = true;
        self.released_at[day] = Some(now);
        self.refresh(day);
        self.day_room(day)
    }

    /// The largest party (up to [`MAX_PARTY`]) that fits somewhere on a released day
    /// `>= lo`, for an ordinary and for an urgent party.
    pub fn fit(&mut self, lo: usize) -> Fit {
        let generations = (self.index.generation, self.urgent_index.as_ref().map_or(0, |i| i.generation));
        let (ordinary_generation, urgent_generation, memo_lo, memo) = self.fit_memo;
        if (ordinary_generation, urgent_generation) == generations && memo_lo == lo {
            debug_assert_eq!(memo.ordinary, self.index.max_from(lo));
            return memo;
        }
        let ordinary = self.index.max_from(lo);
        let fit = match &self.urgent_index {
            Some(index) => Fit { ordinary, urgent: index.max_from(lo) },
            None => Fit::same(ordinary),
        };
        self.fit_memo = (generations.0, generations.1, lo, fit);
        fit
    }

    /// The earliest released day `>= lo` with a band that has room for `size` (held
    /// slots counted for an urgent party), and that band (the earliest such band of the day).
    pub fn earliest_fit(&self, lo: usize, size: u32, urgent: bool) -> Option<(usize, usize)> {
        if lo >= self.days() {
            return None;
        }
        match (&self.urgent_index, urgent) {
            (Some(index), true) => {
                let day = index.first_at_least(lo, size)?;
                let band = self.day_cells(day).iter().position(|c| c.urgent_room() >= size)?;
                Some((day, band))
            }
            _ => {
                let day = self.index.first_at_least(lo, size)?;
                let band = self.day_cells(day).iter().position(|c| c.ordinary_room() >= size)?;
                Some((day, band))
            }
        }
    }

    /// The first band of `day` with ordinary room for `size`, released or not.
    pub fn band_with_room(&self, day: usize, size: u32) -> Option<usize> {
        if !self.is_open(day) {
            return None;
        }
        // A band that has started cannot be given out either (the legacy queue is served on
        // the day a batch release first shows that day). Found by tests/model.
        self.day_cells(day).iter().position(|c| c.ordinary_room() >= size)
    }

    /// Takes the `size` lowest-index free places of `band` on `day` for `booking` (held
    /// ones too for an urgent party). Returns the placement and how many of the places had
    /// been held before.
    ///
    /// The caller has checked that the band has room. (Asked to be inlined into the
    /// booking: 0.8% fewer instructions per replication, callgrind.)
    #[inline]
    pub fn take(
        &mut self,
        day: usize,
        band: usize,
        size: u32,
        booking: BookingId,
        now: Time,
        urgent: bool,
    ) -> (Placement, u32) {
        let cell = &mut self.cells[self.day_cell[day] as usize + band];
        // The band is bookable (it is being taken from), so these are its room before.
        let (room_before, ordinary_before) = (cell.room, cell.room - cell.held_room);
        let limit = if urgent { cell.places } else { cell.held_from } as usize;
        let slots = &mut self.slots[cell.base..cell.base + limit];
        let mut placement = Placement { day: day as u32, band: band as u16, len: 0, slots: [0; MAX_PARTY as usize] };
        let mut reused = 0;
        let mut i = cell.first_free as usize;
        while (placement.len as u32) < size && i < limit {
            if slots[i] >= FREE_AGAIN {
                reused += u32::from(slots[i] == FREE_AGAIN);
                slots[i] = booking;
                placement.slots[placement.len as usize] = i as u32;
                placement.len += 1;
            }
            i += 1;
        }
        debug_assert_eq!(placement.len as u32, size, "take() without room");
        if urgent && (cell.held_from as usize) < limit {
            let held_from = cell.held_from;
            cell.held_room -= placement.slots().iter().filter(|&&i| i >= held_from).count() as u32;
        }
        // Below `i` every place is taken now: an ordinary party had ordinary room, so its
        // search started below the held places and never passed one.
        cell.first_free = i as u32;
        cell.room -= size;
        self.day_free[day] -= size;
        // The day's bookable maxima change only if this band held them (an unreleased
        // day's values stay zero).
        if self.released[day] {
            if ordinary_before == self.index.value[day] {
                let ordinary = self.day_cells(day).iter().map(Cell::ordinary_room).max().unwrap_or(0);
                self.index.set(day, ordinary);
            }
            if self.urgent_index.as_ref().is_some_and(|index| room_before == index.value[day]) {
                let urgent = self.day_cells(day).iter().map(Cell::urgent_room).max().unwrap_or(0);
                if let Some(index) = &mut self.urgent_index {
                    index.set(day, urgent);
                }
            }
        }
        debug_assert_eq!(self.index.value[day], self.indexed_room(day).0);
        if self.released[day] && self.filled_at[day].is_none() && self.day_free[day] == 0 {
            self.filled_at[day] = Some(now);
        }
        (placement, reused)
    }

    /// Frees a booking's places.
    pub fn free(&mut self, p: &Placement) {
        let c = self.cell_index(p.day as usize, p.band as usize);
        let cell = &mut self.cells[c];
        for &i in p.slots() {
            self.slots[cell.base + i as usize] = FREE_AGAIN;
            cell.first_free = cell.first_free.min(i);
            cell.held_room += u32::from(i >= cell.held_from);
        }
        cell.room += p.len as u32;
        let (ordinary, urgent) = (cell.ordinary_room(), cell.urgent_room());
        let day = p.day as usize;
        self.day_free[day] += p.len as u32;
        if self.released[day] {
            if ordinary > self.index.value[day] {
                self.index.set(day, ordinary);
            }
            if let Some(index) = &mut self.urgent_index
                && urgent > index.value[day]
            {
                index.set(day, urgent);
            }
        }
        debug_assert_eq!(self.index.value[day], self.indexed_room(day).0);
    }

    /// Opens `day`'s held slots to everyone: those still free become ordinary. Returns
    /// what became of them.
    pub fn open_reserve(&mut self, day: usize) -> ReserveTally {
        if day >= self.days() || self.urgent_index.is_none() {
            return ReserveTally::default();
        }
        let mut tally = ReserveTally::default();
        let (first, last) = (self.day_cell[day] as usize, self.day_cell[day + 1] as usize);
        for cell in &mut self.cells[first..last] {
            let held = cell.places - cell.held_from;
            tally.held += u64::from(held);
            tally.opened += u64::from(cell.held_room);
            tally.taken_urgent += u64::from(held - cell.held_room);
            cell.held_from = cell.places;
            cell.held_room = 0;
        }
        self.reserve[day] = tally;
        self.refresh(day);
        tally
    }

    /// Marks a booking's places as attended or no-show at its appointment.
    pub fn settle(&mut self, p: &Placement, attended: bool) {
        let base = self.cells[self.cell_index(p.day as usize, p.band as usize)].base;
        for &i in p.slots() {
            self.slots[base + i as usize] = if attended { ATTENDED } else { NO_SHOW };
        }
    }

    /// Closes `day`: counts what became of its slots and stops it being bookable.
    pub fn close(&mut self, day: usize) -> DayTally {
        if day >= self.days() {
            return DayTally::default();
        }
        self.released[day] = false;
        self.refresh(day);
        let (first, last) = (self.day_cell[day] as usize, self.day_cell[day + 1] as usize);
        for cell in &mut self.cells[first..last] {
            cell.room = 0;
            cell.held_room = 0;
        }
        self.day_free[day] = 0;
        self.tally(day)
    }

    /// Counts a day's slots by state without closing it (for days past the end of the run).
    ///
    /// Slot accounting is per slot, not per place: in each band the people attending fill
    /// its slots first (those beyond are overtime), then bookings still held; slots left
    /// over are wasted, and an overbooked band's extra places absorb its empty places
    /// first (never booked, then freed, then no-shows), so that only the slots that went
    /// unused count as wasted.
    pub fn tally(&self, day: usize) -> DayTally {
        let mut tally = DayTally::default();
        if day >= self.days() {
            return tally;
        }
        for cell in self.day_cells(day) {
            let (mut attended, mut noshow, mut freed, mut unbooked, mut held) = (0u64, 0u64, 0u64, 0u64, 0u64);
            for &s in &self.slots[cell.base..cell.base + cell.places as usize] {
                match s {
                    FREE_NEVER => unbooked += 1,
                    FREE_AGAIN => freed += 1,
                    ATTENDED => attended += 1,
                    NO_SHOW => noshow += 1,
                    _ => held += 1,
                }
            }
            let slots = u64::from(cell.slots);
            let used = attended.min(slots);
            let held = held.min(slots - used);
            let mut margin = u64::from(cell.places - cell.slots);
            let mut absorb = |n: u64| {
                let a = n.min(margin);
                margin -= a;
                n - a
            };
            tally.offered += slots;
            tally.used += used;
            tally.held += held;
            tally.wasted_unbooked += absorb(unbooked);
            tally.wasted_freed += absorb(freed);
            tally.wasted_noshow += absorb(noshow);
            tally.overtime += attended - used;
        }
        tally
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cal(days: usize) -> Calendar {
        let bands = vec![Band::plain(9 * 3600, 3), Band::plain(10 * 3600, 2)];
        let open: Vec<bool> = (0..days).map(|d| d % 7 != 6).collect();
        Calendar::new(&Service::uniform("passport", bands, &open))
    }

    #[test]
    fn nothing_fits_before_release() {
        let mut c = cal(14);
        assert_eq!(c.fit(0).ordinary, 0);
        assert_eq!(c.earliest_fit(0, 1, false), None);
    }

    #[test]
    fn earliest_fit_respects_lead_size_and_closed_days() {
        let mut c = cal(14);
        for d in 0..14 {
            c.release(d, 0);
        }
        assert_eq!(c.release(6, 0), 0, "closed day releases nothing");
        assert_eq!(c.earliest_fit(5, 3, false), Some((5, 0)));
        assert_eq!(c.earliest_fit(6, 1, false), Some((7, 0)), "day 6 is closed");
        assert_eq!(c.earliest_fit(0, 4, false), None, "no band holds four");
        let (p, _) = c.take(5, 0, 3, 0, 0, false);
        assert_eq!(c.earliest_fit(5, 3, false), Some((7, 0)));
        assert_eq!(c.earliest_fit(5, 2, false), Some((5, 1)));
        c.free(&p);
        assert_eq!(c.earliest_fit(5, 3, false), Some((5, 0)));
    }

    #[test]
    fn take_prefers_lowest_free_indexes_and_counts_reuse() {
        let mut c = cal(2);
        c.release(0, 0);
        let (a, _) = c.take(0, 0, 1, 0, 0, false);
        let (b, _) = c.take(0, 0, 1, 1, 0, false);
        assert_eq!((a.slots(), b.slots()), (&[0][..], &[1][..]));
        c.free(&a);
        let (again, reused) = c.take(0, 0, 2, 2, 0, false);
        assert_eq!(again.slots(), &[0, 2]);
        assert_eq!(reused, 1);
    }

    #[test]
    fn closing_a_day_accounts_for_every_slot() {
        let mut c = cal(2);
        c.release(0, 0);
        let (a, _) = c.take(0, 0, 2, 0, 0, false);
        let (b, _) = c.take(0, 1, 1, 1, 0, false);
        let (x, _) = c.take(0, 1, 1, 2, 0, false);
        c.free(&x);
        c.settle(&a, true);
        c.settle(&b, false);
        let t = c.close(0);
        assert_eq!(t.offered, 5);
        assert_eq!((t.used, t.wasted_noshow, t.wasted_freed, t.wasted_unbooked), (2, 1, 1, 1));
        assert_eq!(t.used + t.wasted_noshow + t.wasted_freed + t.wasted_unbooked + t.held, t.offered);
        assert_eq!(c.fit(0).ordinary, 0, "a closed day is not bookable");
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
