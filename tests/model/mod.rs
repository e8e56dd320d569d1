//! Integration tests of the booking-portal model (`docs/model.md`), one module of the integration-test binary.
//!
//! - `invariants`: property tests of the run invariants over random scenarios, seeds and
//!   policies; the checkers themselves live in `checks`.
//! - `golden`: digests of the tables of bundled scenarios, pinned.
//! - `known_results`: the model against results derived by hand.
//! - `reproducibility`: byte-identical output and common random numbers.
//! - `policies`: fairness properties of the allocation policies.
//! - `bad_input`: the command line's answer to bad scenario files.
//! - `capacity`: the capacity levers (plans, held urgent slots, overbooking) against
//!   known results, and common random numbers with them on or off.

mod bad_input;
mod capacity;
mod checks;
mod golden;
mod invariants;
mod known_results;
mod policies;
mod reproducibility;
mod support;
