//! The booking-portal model: calendars, parties, bookings, allocation policies and the
//! legacy e-mail queue, simulated event by event. No I/O happens here.

pub mod calendar;
pub mod config;
pub mod demand;
pub mod party;
pub mod policy;
mod portal;
pub mod streams;
mod urgency;

pub use calendar::{Calendar, DayTally, Fit, Placement, ReserveTally, Slot};
pub use config::ModelConfig;
pub use party::{Booking, BookingEnd, BookingFields, Outcome, Party, PartyFields, PartyKind};
pub use portal::{DailyRow, DayRecord, LOOKING_BYTES, RunRecord, Workspace, simulate, simulate_in};
pub use streams::{Purpose, Streams};
pub use urgency::{
    BUCKET_BYTES as NEED_BY_BUCKET_BYTES, ENTRY_BYTES as NEED_BY_ENTRY_BYTES, PLACE_BYTES as NEED_BY_PLACE_BYTES,
};
