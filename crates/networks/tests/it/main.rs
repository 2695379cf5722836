//! The adapters' one integration-test binary: each adapter against its network's local fake
//! (the documented wire format, errors and rate-limit headers), Bluesky against a real PDS, and
//! `faults.rs`, the fault scenarios every adapter must survive, run against all seven fakes.

mod bluesky;
mod bluesky_oauth;
mod checks;
mod consent;
mod facebook;
mod faults;
mod inbox;
mod inbox_messages;
mod inbox_meta;
mod inbox_threads_linkedin;
mod instagram;
mod linkedin;
mod mastodon;
mod outbound;
mod threads;
mod x;

/// How the adapters under test reach the fakes, which listen on this machine.
pub fn local(timeout: std::time::Duration) -> networks::Outbound {
    networks::Outbound::new(timeout).allow_private_addresses(true)
}
