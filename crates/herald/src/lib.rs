//! Herald: a self-hosted, security-first social media console for small businesses.
//!
//! `main.rs` is only the command line; everything it runs is here. See ARCHITECTURE.md for the
//! map of modules and the rules between them.

/// `Debug` for types that hold a secret (a cookie, a token, a TOTP secret, recovery codes):
/// their name and nothing else, so no `{:?}` anywhere can leak one.
macro_rules! debug_without_secrets {
    ($($type:ident),+ $(,)?) => {$(
        impl std::fmt::Debug for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($type), " { .. }"))
            }
        }
    )+};
}

pub mod backup;
pub mod breaches;
pub mod clock;
pub mod config;
pub mod data_dir;
pub mod domain;
pub mod http;
pub mod jobs;
pub mod keys;
pub mod metrics;
pub mod rekey;
pub mod server;
pub mod services;
pub mod store;
pub mod telemetry;
