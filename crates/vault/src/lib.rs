//! Envelope encryption for Herald's secrets. No IO, no logging, no panics: it turns plaintext
//! into sealed bytes and back, and nothing else.
//!
//! Every secret gets its own random data key, which encrypts it with XChaCha20-Poly1305; the
//! data key is itself encrypted ("wrapped") by the key-encryption key (KEK), which is derived
//! from the master key file and never stored in the database. Both encryptions bind the
//! secret's [`Context`] (organisation, record, field) as associated data, so a sealed secret
//! copied into another record or field fails to open. Rotating the KEK re-wraps data keys only.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

mod envelope;
mod keys;

pub use envelope::{Context, SecretBytes, VaultError, key_version, open, rewrap, seal};
pub use keys::{Kek, Keyring};
