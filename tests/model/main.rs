//! Integration tests of the booking-portal model.

#[test] fn placeholder() {}
