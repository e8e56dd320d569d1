//! Who is most urgent? The parties looking for the first service, by size, ordered by
//! need-by date (then by when they started looking), for the need-by inversion count.
//!
//! Every booking asks, for each party size up to its own, for the smallest
//! `(need_by, since)` among the parties of that size still looking. A binary heap with
//! lazy deletion answered that for about 5% of a replication's time; here parties sit in
//! one bucket per need-by day, a bitmap marks the buckets in use, and a party is taken out
//! as soon as it stops looking. The answer is the least key in the first bucket in use,
//! which holds a few parties at most. It is also kept per size between changes: most
//! bookings are by parties other than the most urgent one, so most questions are answered
//! from one word, and only the departure of a party holding the least key sends the next
//! question to the buckets.

use crate::engine::time::{Stamp, stamp};
use crate::engine::{DAY, Time};

use super::calendar::MAX_PARTY;
use super::policy::PartyId;

/// Where a party is: its size index and bucket (in one word), and its position there.
/// Eight bytes: the table has an entry per party, read at random.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Place {
    /// The size index in the top byte, the bucket below.
    size_bucket: u32,
    position: u32,
}

/// Bits of [`Place::size_bucket`] for the bucket.
const BUCKET_BITS: u32 = 24;

impl Place {
    fn new(size: usize, bucket: usize, position: usize) -> Self {
        debug_assert!(size < MAX_PARTY as usize && bucket < 1 << BUCKET_BITS);
        Self { size_bucket: (size as u32) << BUCKET_BITS | bucket as u32, position: position as u32 }
    }

    fn size(self) -> usize {
        (self.size_bucket >> BUCKET_BITS) as usize
    }

    fn bucket(self) -> usize {
        (self.size_bucket & ((1 << BUCKET_BITS) - 1)) as usize
    }
}

const ABSENT: Place = Place { size_bucket: u32::MAX, position: u32::MAX };

/// An entry of a need-by bucket: `(need_by, since, party)`, instants in 32 bits.
type Entry = (Stamp, Stamp, PartyId);

/// The least key of a size's parties, as far as known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Least {
    /// The least `(need_by, since)` (`None`: no party of this size is looking).
    Known(Option<(Stamp, Stamp)>),
    /// A party holding the least key has left: the next question looks in the buckets.
    Stale,
}

/// Bytes of a looking party's entry, for memory estimates.
pub const ENTRY_BYTES: usize = size_of::<Entry>();
/// Bytes of a party's place, for memory estimates.
pub const PLACE_BYTES: usize = size_of::<Place>();
/// Bytes of an (empty) bucket, for memory estimates.
pub const BUCKET_BYTES: usize = size_of::<Vec<Entry>>();

/// Looking parties by size and need-by day. Buckets are kept (emptied) between runs so a
/// reused index allocates nothing.
#[derive(Debug, Clone, Default)]
pub struct Urgency {
    /// Per size index: per need-by day, the `(need_by, since, party)` entries (instants
    /// in 32 bits: 12-byte entries).
    buckets: Vec<Vec<Vec<Entry>>>,
    /// Per size index: a bit per bucket holding at least one entry.
    in_use: Vec<Vec<u64>>,
    /// Per size index: no word of `in_use` before this one has a bit set.
    first_word: Vec<usize>,
    /// Per size index: the least key, while known.
    least: Vec<Least>,
    /// By party id.
    place: Vec<Place>,
}

impl Urgency {
    /// Empties the index and sizes it for need-by days `0..days` (earlier and later dates
    /// share the first and last bucket) and party ids below `parties`.
    pub fn reset(&mut self, days: usize, parties: usize) {
        let days = days.max(1);
        // Validation keeps runs and need-by dates within decades: far below 2^24 days.
        assert!(days < 1 << BUCKET_BITS, "{days} need-by days are more than the index holds");
        self.buckets.resize_with(MAX_PARTY as usize, Vec::new);
        self.in_use.resize_with(MAX_PARTY as usize, Vec::new);
        for (buckets, in_use) in self.buckets.iter_mut().zip(&mut self.in_use) {
            buckets.iter_mut().for_each(Vec::clear);
            buckets.resize_with(days, Vec::new);
            in_use.clear();
            in_use.resize(days.div_ceil(64), 0);
        }
        self.first_word.clear();
        self.first_word.resize(MAX_PARTY as usize, 0);
        self.least.clear();
        self.least.resize(MAX_PARTY as usize, Least::Known(None));
        // Read at random by party id: on huge pages where the system has them.
        self.place = crate::engine::pages::reuse(std::mem::take(&mut self.place), parties);
        self.place.resize(parties, ABSENT);
    }

    fn bucket_of(&self, need_by: Time) -> usize {
        let days = self.buckets[0].len() as i64;
        need_by.div_euclid(DAY).clamp(0, days - 1) as usize
    }

    /// Adds party `id` of size index `s` (size − 1), looking since `since`. A party is in
    /// the index at most once: remove it before adding it again.
    pub fn insert(&mut self, s: usize, id: PartyId, need_by: Time, since: Time) {
        let b = self.bucket_of(need_by);
        let i = id as usize;
        if self.place.len() <= i {
            self.place.resize(i + 1, ABSENT);
        }
        debug_assert_eq!(self.place[i], ABSENT, "party {id} is in the urgency index twice");
        let bucket = &mut self.buckets[s][b];
        self.place[i] = Place::new(s, b, bucket.len());
        let key = (stamp(need_by), stamp(since));
        bucket.push((key.0, key.1, id));
        self.in_use[s][b / 64] |= 1 << (b % 64);
        self.first_word[s] = self.first_word[s].min(b / 64);
        if let Least::Known(least) = &mut self.least[s]
            && least.is_none_or(|k| key < k)
        {
            *least = Some(key);
        }
    }

    /// Starts loading where party `id` is (a hint).
    #[inline]
    pub fn prefetch(&self, id: PartyId) {
        crate::engine::pages::prefetch(&self.place, id as usize);
    }

    /// Takes party `id` out, if it is in.
    pub fn remove(&mut self, id: PartyId) {
        let Some(&place) = self.place.get(id as usize) else { return };
        if place == ABSENT {
            return;
        }
        let (s, b) = (place.size(), place.bucket());
        let bucket = &mut self.buckets[s][b];
        let (need_by, since, _) = bucket.swap_remove(place.position as usize);
        if let Some(&(_, _, moved)) = bucket.get(place.position as usize) {
            self.place[moved as usize].position = place.position;
        }
        if bucket.is_empty() {
            self.in_use[s][b / 64] &= !(1 << (b % 64));
        }
        self.place[id as usize] = ABSENT;
        // Another party may hold the same key: the buckets will tell.
        if self.least[s] == Least::Known(Some((need_by, since))) {
            self.least[s] = Least::Stale;
        }
    }

    /// The least `(need_by, since)` among the parties of size index `s`.
    pub fn most_urgent(&mut self, s: usize) -> Option<(Time, Time)> {
        let least = match self.least[s] {
            Least::Known(least) => {
                debug_assert_eq!(least, self.least_in_buckets(s).1, "size index {s}: a stale least key");
                least
            }
            Least::Stale => {
                let (first_word, least) = self.least_in_buckets(s);
                self.first_word[s] = first_word;
                self.least[s] = Least::Known(least);
                least
            }
        };
        least.map(|(need_by, since)| (Time::from(need_by), Time::from(since)))
    }

    /// The least key of size index `s`, from the first bucket in use, with the word of
    /// `in_use` that holds that bucket's bit (the number of words if none is in use).
    fn least_in_buckets(&self, s: usize) -> (usize, Option<(Stamp, Stamp)>) {
        let in_use = &self.in_use[s];
        let Some(w) = (self.first_word[s]..in_use.len()).find(|&w| in_use[w] != 0) else {
            return (in_use.len(), None);
        };
        let b = w * 64 + in_use[w].trailing_zeros() as usize;
        (w, self.buckets[s][b].iter().map(|&(need_by, since, _)| (need_by, since)).min())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::streams::{Purpose, Streams};

    /// Random inserts and removals against a plain list: the answers always agree.
    #[test]
    fn agrees_with_a_plain_minimum() {
        let mut rng = Streams::new(9).stream(Purpose::Policy, 0);
        let mut index = Urgency::default();
        for round in 0..2 {
            // The second round reuses the emptied index.
            index.reset(40, 10);
            let mut plain: Vec<(usize, PartyId, Time, Time)> = Vec::new();
            let mut next_id = 0;
            for step in 0..5000 {
                if plain.is_empty() || rng.uniform() < 0.55 {
                    let s = rng.integer(0, 4) as usize;
                    // Some dates fall outside 0..40 days and share the edge buckets;
                    // whole days and shared starts give equal keys, as the parties of a
                    // launch backlog have (the kept least key must survive a tie's
                    // departure).
                    let need_by =
                        if rng.uniform() < 0.5 { rng.integer(-3, 45) * DAY } else { rng.integer(-3 * DAY, 45 * DAY) };
                    let since = (step / 8) as Time;
                    index.insert(s, next_id, need_by, since);
                    plain.push((s, next_id, need_by, since));
                    next_id += 1;
                } else {
                    let k = rng.integer(0, plain.len() as i64 - 1) as usize;
                    index.remove(plain.swap_remove(k).1);
                }
                // Each size is asked at random steps, so that several changes come
                // between two questions as well as none.
                for s in 0..5 {
                    if rng.uniform() < 0.4 {
                        let want = plain.iter().filter(|e| e.0 == s).map(|e| (e.2, e.3)).min();
                        assert_eq!(index.most_urgent(s), want, "round {round}, step {step}, size index {s}");
                    }
                }
            }
        }
    }

    #[test]
    fn removing_an_absent_party_changes_nothing() {
        let mut index = Urgency::default();
        index.reset(10, 4);
        index.insert(0, 1, 5 * DAY, 0);
        index.remove(2);
        index.remove(99);
        assert_eq!(index.most_urgent(0), Some((5 * DAY, 0)));
        index.remove(1);
        index.remove(1);
        assert_eq!(index.most_urgent(0), None);
    }
}
