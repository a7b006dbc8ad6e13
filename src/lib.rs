//! daftar: placeholder.
pub mod record;
