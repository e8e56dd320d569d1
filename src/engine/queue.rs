//! The future event list.
//!
//! Events are ordered by `(time, rank, sequence)`: `rank` is a small integer the model
//! assigns to each kind of event, so that same-instant events of different kinds run in a
//! documented order; `sequence` is the insertion counter, so that same-instant events of
//! the same kind run in the order they were scheduled. Nothing depends on memory
//! addresses, hash order or thread count.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::time::Time;

/// Scheduling an event before the current instant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot schedule an event at t={at} s: the clock is already at t={now} s")]
pub struct ScheduleError {
    /// The requested instant.
    pub at: Time,
    /// The current instant.
    pub now: Time,
}

#[derive(Debug)]
struct Entry<E> {
    key: (Time, u8, u64),
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
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
        self.key.cmp(&other.key)
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
    heap: BinaryHeap<Reverse<Entry<E>>>,
    now: Time,
    sequence: u64,
    processed: u64,
}

impl<E> EventQueue<E> {
    /// An empty queue whose clock starts at `start`.
    pub fn new(start: Time) -> Self {
        Self { heap: BinaryHeap::new(), now: start, sequence: 0, processed: 0 }
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
        self.heap.len()
    }

    /// Whether no event is waiting.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
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
        self.heap.push(Reverse(Entry { key: (at, rank, self.sequence), event }));
        Ok(())
    }

    /// The time of the next event, if any.
    pub fn peek_time(&self) -> Option<Time> {
        self.heap.peek().map(|Reverse(e)| e.key.0)
    }

    /// Removes the next event and advances the clock to its time.
    pub fn pop(&mut self) -> Option<(Time, E)> {
        let Reverse(entry) = self.heap.pop()?;
        self.now = entry.key.0;
        self.processed += 1;
        Some((entry.key.0, entry.event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn scheduling_into_the_past_is_an_error() {
        let mut q = EventQueue::new(100);
        assert_eq!(q.schedule(99, 0, ()), Err(ScheduleError { at: 99, now: 100 }));
        assert!(q.schedule(100, 0, ()).is_ok());
    }
}
