//! Africa's Talking (DIALECTS.md §1) replayed from its fixture over a real server; its sessions,
//! end notifications and malformed bodies are walked in `tests/http.rs` and `tests/tamin.rs`.

mod common;

/// `tests/fixtures/dialects/africastalking.toml`: real-shaped requests and their replies.
#[test]
fn the_fixture_replays_as_recorded() {
    common::dialects::replay_fixture("africastalking");
}
