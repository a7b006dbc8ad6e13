//! Screen text as a phone receives it: how long a string is in the encoding that carries it
//! ([`gsm7`]) and how a long screen is cut into pages that each fit one USSD message ([`page`]).
//!
//! Sits between the menu rendering and the dialects: a rendered screen is measured and paged
//! here before a dialect puts it on the wire, and `daftar check` uses the same measure.
//! Everything here is pure — no IO, no clock, no store — and never alters the words it is given.

pub mod gsm7;
pub mod page;

#[cfg(test)]
mod props;
