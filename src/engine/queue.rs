//! The future event list.
//!
//! Events are ordered by `(time, rank, sequence)`: `rank` is a small integer the model
//! assigns to each kind of event, so that same-instant events of different kinds run in a
//! documented order; `sequence` is the insertion counter, so that same-instant events of
//! the same kind run in the order they were scheduled. Nothing depends on memory
//! addresses, hash order or thread count.
//!
//! The queue is a calendar queue: events fall into buckets one bucket-width wide (a day
//! by default). Later buckets are unsorted vectors; when the clock reaches a bucket it is
//! sorted once, and events scheduled into the current bucket after that go to a small
//! binary heap. A pop takes the earlier of the two heads. A simulation that schedules
//! many events days or weeks ahead (appointments, deadlines) thus pays one sort per day
//! for them instead of a heap operation each.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use super::time::{DAY, Time};

/// Scheduling an event before the current instant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot schedule an event at t={at} s: the clock is already at t={now} s")]
pub struct ScheduleError {
    /// The requested instant.
    pub at: Time,
    /// The current instant.
    pub now: Time,
}

/// Buckets kept ahead of the current one; events further out wait in `far`.
const MAX_BUCKETS: usize = 4096;

#[derive(Debug)]
struct Entry<E> {
    /// The instant (offset by 2^63, so that it compares as an unsigned number) in
    /// the high 64 bits, the rank in the next byte and the insertion sequence below: one
    /// comparison orders two entries.
    key: u128,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl<E> Entry<E> {
    fn new(time: Time, rank: u8, sequence: u64, event: E) -> Self {
        let t = (time as u64) ^ (1 << 63);
        Self { key: u128::from(t) << 64 | u128::from(rank) << 56 | u128::from(sequence), event }
    }

    fn key(&self) -> u128 {
        self.key
    }

    fn time(&self) -> Time {
        ((self.key >> 64) as u64 ^ (1 << 63)) as Time
    }

    fn rank(&self) -> u8 {
        (self.key >> 56) as u8
    }
}

/// A priority queue of events with a clock that only moves forward.
///
/// # Examples
///
/// ```
/// use slotsim::engine::EventQueue;
///
/// let mut q = EventQueue::new(0);
/// q.schedule(10, 1, "late").unwrap();
/// q.schedule(5, 2, "b").unwrap();
/// q.schedule(5, 1, "a").unwrap();
/// assert_eq!(q.pop(), Some((5, "a")));
/// assert_eq!(q.pop(), Some((5, "b")));
/// assert_eq!(q.now(), 5);
/// assert!(q.schedule(4, 0, "past").is_err());
/// ```
#[derive(Debug)]
pub struct EventQueue<E> {
    width: Time,
    /// Index of the current bucket.
    bucket: i64,
    /// The current bucket's events as they were when the clock reached it, latest first.
    sorted: Vec<Entry<E>>,
    /// Events scheduled into the current bucket since then.
    heap: BinaryHeap<Reverse<Entry<E>>>,
    /// Buckets `bucket + 1`, `bucket + 2`, ...
    ahead: VecDeque<Vec<Entry<E>>>,
    /// Events beyond the buckets kept ahead.
    far: BinaryHeap<Reverse<Entry<E>>>,
    now: Time,
    sequence: u64,
    processed: u64,
    len: usize,
    /// What [`EventQueue::next_from_heap`] found last, while nothing was scheduled or
    /// popped since (a `peek` followed by a `pop` looks once).
    head: Option<Option<bool>>,
}

impl<E> EventQueue<E> {
    /// An empty queue whose clock starts at `start`, with day-wide buckets.
    pub fn new(start: Time) -> Self {
        Self::with_bucket_width(start, DAY)
    }

    /// An empty queue with buckets `width` seconds wide (`width > 0`).
    pub fn with_bucket_width(start: Time, width: Time) -> Self {
        let width = width.max(1);
        Self {
            width,
            bucket: start.div_euclid(width),
            sorted: Vec::new(),
            heap: BinaryHeap::new(),
            ahead: VecDeque::new(),
            far: BinaryHeap::new(),
            now: start,
            sequence: 0,
            processed: 0,
            len: 0,
            head: None,
        }
    }

    /// Empties the queue and sets its clock to `start`, keeping the buckets' memory for
    /// the next run (a thread reusing one queue allocates nothing once warm).
    pub fn reset(&mut self, start: Time) {
        self.bucket = start.div_euclid(self.width);
        self.sorted.clear();
        self.heap.clear();
        self.ahead.iter_mut().for_each(Vec::clear);
        self.far.clear();
        self.now = start;
        self.sequence = 0;
        self.processed = 0;
        self.len = 0;
        self.head = None;
    }

    /// The current instant: the time of the last event popped (or the start).
    pub fn now(&self) -> Time {
        self.now
    }

    /// Events popped so far.
    pub fn processed(&self) -> u64 {
        self.processed
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no event is waiting.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Schedules `event` at `at` with same-instant rank `rank` (lower runs first).
    ///
    /// # Errors
    ///
    /// [`ScheduleError`] if `at` is before the current instant.
    pub fn schedule(&mut self, at: Time, rank: u8, event: E) -> Result<(), ScheduleError> {
        if at < self.now {
            return Err(ScheduleError { at, now: self.now });
        }
        self.sequence += 1;
        self.head = None;
        let entry = Entry::new(at, rank, self.sequence, event);
        self.len += 1;
        let offset = at.div_euclid(self.width) - self.bucket;
        if offset <= 0 {
            self.heap.push(Reverse(entry));
        } else if offset as usize <= MAX_BUCKETS {
            let i = offset as usize - 1;
            if self.ahead.len() <= i {
                self.ahead.resize_with(i + 1, Vec::new);
            }
            self.ahead[i].push(entry);
        } else {
            self.far.push(Reverse(entry));
        }
        Ok(())
    }

    /// Moves the clock's bucket forward to the next one holding events.
    fn advance(&mut self) {
        while self.sorted.is_empty() && self.heap.is_empty() && self.len > 0 {
            self.bucket += 1;
            let mut next = self.ahead.pop_front().unwrap_or_default();
            while self.far.peek().is_some_and(|Reverse(e)| e.time().div_euclid(self.width) <= self.bucket) {
                let Reverse(e) = self.far.pop().expect("peeked");
                next.push(e);
            }
            if next.is_empty() {
                // Skip a run of empty buckets in one step.
                if self.ahead.iter().all(Vec::is_empty) {
                    self.ahead.clear();
                    if let Some(Reverse(e)) = self.far.peek() {
                        self.bucket = e.time().div_euclid(self.width) - 1;
                    }
                }
                self.ahead.push_back(next);
                continue;
            }
            // Keys are unique (the sequence is), so an unstable sort is deterministic.
            next.sort_unstable_by_key(|e| Reverse(e.key()));
            // The emptied vector keeps its capacity for a later bucket.
            self.ahead.push_back(std::mem::replace(&mut self.sorted, next));
        }
    }

    /// Whether the next event comes from the heap (events scheduled into the current
    /// bucket after it opened) rather than the sorted bucket; `None` if there is none.
    fn next_from_heap(&mut self) -> Option<bool> {
        if let Some(head) = self.head {
            return head;
        }
        if self.sorted.is_empty() && self.heap.is_empty() {
            self.advance();
        }
        let head = match (self.sorted.last(), self.heap.peek()) {
            (Some(a), Some(Reverse(b))) => Some(b.key() < a.key()),
            (None, Some(_)) => Some(true),
            (Some(_), None) => Some(false),
            (None, None) => None,
        };
        self.head = Some(head);
        head
    }

    /// The instant and rank of the next event, without removing it.
    pub fn peek(&mut self) -> Option<(Time, u8)> {
        let entry = if self.next_from_heap()? { &self.heap.peek()?.0 } else { self.sorted.last()? };
        Some((entry.time(), entry.rank()))
    }

    /// The next event of the current bucket as it was when the clock reached it, without
    /// looking at what was scheduled into the bucket since: usually the next event, and
    /// found in a few instructions, for hints such as prefetching what it will read.
    pub fn peek_likely(&self) -> Option<&E> {
        self.sorted.last().map(|e| &e.event)
    }

    /// Removes the next event and advances the clock to its time.
    pub fn pop(&mut self) -> Option<(Time, E)> {
        let entry = if self.next_from_heap()? { self.heap.pop()?.0 } else { self.sorted.pop()? };
        self.head = None;
        self.len -= 1;
        let time = entry.time();
        self.now = time;
        self.processed += 1;
        Some((time, entry.event))
    }

    /// Moves the clock to `at` for something that happens outside the queue (a source
    /// with a single pending instant, merged by the caller by `(time, rank)`).
    ///
    /// # Errors
    ///
    /// [`ScheduleError`] if `at` is before the current instant. The caller must not
    /// move the clock past a queued event; debug builds check this.
    pub fn advance_to(&mut self, at: Time) -> Result<(), ScheduleError> {
        if at < self.now {
            return Err(ScheduleError { at, now: self.now });
        }
        debug_assert!(self.peek().is_none_or(|(t, _)| t >= at), "the clock would pass a queued event");
        self.now = at;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A queue emptied by `reset` orders a run exactly as a new one does.
    #[test]
    fn a_reset_queue_behaves_as_a_new_one() {
        let drain = |q: &mut EventQueue<u32>| {
            for (k, at) in [5 * DAY + 7, 3, 3, 9 * DAY, 4096 * DAY * 2, DAY].into_iter().enumerate() {
                q.schedule(at, (k % 3) as u8, k as u32).expect("not in the past");
            }
            std::iter::from_fn(|| q.pop()).collect::<Vec<_>>()
        };
        let mut used = EventQueue::new(0);
        used.schedule(40 * DAY, 1, 99).expect("not in the past");
        used.pop();
        used.schedule(41 * DAY, 0, 98).expect("not in the past");
        used.reset(0);
        assert!(used.is_empty() && used.now() == 0 && used.processed() == 0);
        assert_eq!(drain(&mut used), drain(&mut EventQueue::new(0)));
    }

    #[test]
    fn same_instant_events_keep_rank_then_insertion_order() {
        let mut q = EventQueue::new(0);
        for i in 0..100u32 {
            q.schedule(7, (i % 3) as u8, i).unwrap();
        }
        let mut seen = Vec::new();
        while let Some((t, e)) = q.pop() {
            assert_eq!(t, 7);
            seen.push(e);
        }
        let mut expected: Vec<u32> = (0..100).collect();
        expected.sort_by_key(|i| (i % 3, *i));
        assert_eq!(seen, expected);
    }

    #[test]
    fn buckets_keep_global_order() {
        // Seeded pseudo-random times over many buckets and beyond the buckets kept ahead,
        // some scheduled while popping: the pop order must be the sort of all keys.
        let mut state = 12345u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut q = EventQueue::with_bucket_width(0, 100);
        // keys[i] = (time, rank, insertion number) of the event with payload i.
        let mut keys: Vec<(i64, u8, usize)> = Vec::new();
        let schedule = |q: &mut EventQueue<usize>, keys: &mut Vec<(i64, u8, usize)>, t: i64, rank: u8| {
            let id = keys.len();
            keys.push((t, rank, id));
            q.schedule(t, rank, id).unwrap();
        };
        for _ in 0..5000 {
            let (t, rank) = ((next() % 1_000_000) as i64, (next() % 4) as u8);
            schedule(&mut q, &mut keys, t, rank);
        }
        let mut popped = Vec::new();
        while let Some((t, id)) = q.pop() {
            assert_eq!(t, keys[id].0);
            popped.push(id);
            if id % 10 == 0 && keys.len() < 6000 {
                let later = t + 1 + (next() % 3000) as i64;
                schedule(&mut q, &mut keys, later, 0);
            }
        }
        let mut want: Vec<usize> = (0..keys.len()).collect();
        want.sort_by_key(|&i| keys[i]);
        if let Some(i) = (0..want.len()).find(|&i| popped.get(i) != Some(&want[i])) {
            panic!("pop {i}: got {:?} {:?}, want {:?} {:?}", popped[i], keys[popped[i]], want[i], keys[want[i]]);
        }
        assert_eq!(popped.len(), want.len());
        assert!(q.is_empty());
    }

    #[test]
    fn peek_shows_the_next_pop_and_the_clock_can_move_between_events() {
        let mut q = EventQueue::new(0);
        q.schedule(3 * DAY, 2, "c").unwrap();
        q.schedule(10, 5, "a").unwrap();
        assert_eq!(q.peek(), Some((10, 5)));
        assert_eq!(q.pop(), Some((10, "a")));
        assert_eq!(q.peek(), Some((3 * DAY, 2)));
        q.advance_to(2 * DAY).unwrap();
        assert_eq!(q.now(), 2 * DAY);
        // Scheduled after the queue looked ahead to day 3: still popped first.
        q.schedule(2 * DAY + 5, 0, "b").unwrap();
        assert_eq!(q.peek(), Some((2 * DAY + 5, 0)));
        assert_eq!(q.pop(), Some((2 * DAY + 5, "b")));
        assert!(q.advance_to(DAY).is_err());
        assert_eq!(q.pop(), Some((3 * DAY, "c")));
        assert_eq!(q.peek(), None);
    }

    /// Within a day's bucket as it opened, the likely next event is the next one; once
    /// something is scheduled into the open bucket it may not be, but it is always queued.
    #[test]
    fn the_likely_next_event_is_the_next_of_the_opened_bucket() {
        let mut q = EventQueue::new(0);
        for (k, at) in [DAY + 30, DAY + 10, DAY + 20, 3 * DAY].into_iter().enumerate() {
            q.schedule(at, 0, k).unwrap();
        }
        assert_eq!(q.peek_likely(), None, "no bucket opened yet");
        assert_eq!(q.pop(), Some((DAY + 10, 1)));
        assert_eq!(q.peek_likely(), Some(&2));
        q.schedule(DAY + 15, 0, 9).unwrap();
        assert_eq!(q.peek_likely(), Some(&2), "the bucket as it opened");
        assert_eq!(q.pop(), Some((DAY + 15, 9)));
        assert_eq!(q.pop(), Some((DAY + 20, 2)));
        assert_eq!(q.peek_likely(), Some(&0));
    }

    #[test]
    fn scheduling_into_the_past_is_an_error() {
        let mut q = EventQueue::new(100);
        assert_eq!(q.schedule(99, 0, ()), Err(ScheduleError { at: 99, now: 100 }));
        assert!(q.schedule(100, 0, ()).is_ok());
    }
}
