//! The portal's random purposes: what each of a replication's streams is for.
//!
//! The engine derives a stream from `(seed, purpose, index, sub)` and knows a purpose only
//! as a number ([`PurposeId`]); the numbers are the model's, here.
//!
//! ```
//! use slotsim::model::streams::{Purpose, Streams};
//!
//! let streams = Streams::new(7);
//! let mut a = streams.stream(Purpose::Arrivals, 0);
//! let mut b = streams.stream(Purpose::Arrivals, 0);
//! assert_eq!(a.uniform(), b.uniform());
//! ```

use crate::engine::PurposeId;

/// What a stream is for. The numeric value is part of the stream's derivation: never
/// renumber a purpose, or every seed's results change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u64)]
pub enum Purpose {
    /// Arrival instants of new demand.
    Arrivals = 1,
    /// A portal party's attributes drawn at arrival (size, need-by, automation, patience).
    PartyAttributes = 2,
    /// A party's behaviour draws over its life (confirmations, shows, cancellations).
    PartyBehaviour = 3,
    /// Release-time jitter, one draw per day.
    Release = 4,
    /// A service's allocation policy (the checking race, lottery draws).
    Policy = 5,
    /// Legacy e-mail requests: receipt times and sizes.
    Legacy = 6,
    /// Pre-existing bookings from the old portal: sizes.
    Preexisting = 7,
    /// Attributes of legacy parties (one stream each).
    LegacyParty = 8,
    /// Attributes of pre-existing parties (one stream each).
    PreexistingParty = 9,
}

/// One more than the largest [`Purpose`] value: the size of the engine's table of keys.
pub const PURPOSES: usize = 10;

impl From<Purpose> for PurposeId {
    fn from(purpose: Purpose) -> Self {
        PurposeId(purpose as u64)
    }
}

/// The streams of one replication, for the portal's purposes.
pub type Streams = crate::engine::Streams<PURPOSES>;

#[cfg(test)]
mod tests {
    use super::*;

    /// The numbers are part of every seed's results: pinned.
    #[test]
    fn purposes_keep_their_numbers() {
        use Purpose::*;
        let all = [
            Arrivals,
            PartyAttributes,
            PartyBehaviour,
            Release,
            Policy,
            Legacy,
            Preexisting,
            LegacyParty,
            PreexistingParty,
        ];
        let numbers: Vec<u64> = all.iter().map(|&p| PurposeId::from(p).0).collect();
        assert_eq!(numbers, (1..=9).collect::<Vec<u64>>());
        assert!(all.iter().all(|&p| (p as usize) < PURPOSES), "every purpose has a key in the table");
    }

    /// The key of a stream, pinned: the derivation must never change (the value is
    /// SplitMix64's mixer chained over seed 5, purpose 6, index 11, sub 3).
    #[test]
    fn keys_are_pinned() {
        let s = Streams::new(5);
        assert_eq!(s.key_of(Purpose::Legacy, 11, 3), 0xda94_9a1d_93ba_1eb7);
        assert_eq!(s.key_of(Purpose::Legacy, 11, 3), s.key_of(PurposeId(6), 11, 3));
    }
}
