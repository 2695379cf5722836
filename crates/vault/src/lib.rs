//! Envelope encryption for Herald's secrets: plaintext in, sealed bytes out, and back. No IO, no
//! logging, no panics.
//!
//! Every secret gets its own random data key, which encrypts it with XChaCha20-Poly1305. The
//! data key is itself encrypted ("wrapped") by a key-encryption key ([`Kek`]) derived from the
//! master key, which lives in a file and never in the database. Both encryptions bind the
//! secret's [`Context`] (organisation, record, field) as associated data, so a sealed secret
//! copied into another record or field fails to open. Rotating the KEK re-wraps the small data
//! keys only ([`rewrap`]); the encrypted secrets themselves are never rewritten.
//!
//! It is a crate of its own so that the compiler holds it to these rules: it depends on no IO,
//! logging or async crate, and the lints below reject every way non-test code could panic.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod cipher;
mod context;
mod envelope;
mod error;
mod format;
mod keys;
mod secret;

pub use context::Context;
pub use envelope::{key_version, open, rewrap, seal};
pub use error::VaultError;
pub use keys::{Kek, Keyring, derive_key};
pub use secret::SecretBytes;
pub use zeroize::Zeroizing;
