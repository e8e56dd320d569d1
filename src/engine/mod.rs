//! The domain-free simulation engine: integer time, an event queue with a fixed order for
//! same-instant events, seeded random streams, and a hint for the pages of large tables.
//!
//! Nothing in this module knows about portals, slots or parties.

pub mod pages;
pub mod queue;
pub mod random;
pub mod time;

pub use queue::{EventQueue, ScheduleError};
pub use random::{PurposeId, ShortStream, Stream, Streams};
pub use time::{DAY, HOUR, MINUTE, Time};
