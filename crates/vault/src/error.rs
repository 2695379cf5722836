//! The one error type of the vault. Its messages name what went wrong and never hold secret bytes.

/// Why a sealed secret could not be read or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// Shorter than the shortest sealed secret (an empty plaintext).
    #[error("sealed secret is truncated: expected at least {expected} bytes, got {got}")]
    Truncated { expected: usize, got: usize },
    /// Does not start with the vault's magic bytes and format number.
    #[error("not a Herald sealed secret (bad header)")]
    UnknownFormat,
    /// Sealed under a KEK version the keyring does not hold.
    #[error(
        "sealed with key version {0}, which this keyring does not hold; was the master key replaced?"
    )]
    UnknownKeyVersion(u32),
    /// Authentication failed. The causes cannot be told apart, by design of the AEAD.
    #[error(
        "sealed secret failed authentication: wrong master key, wrong record or field, or the data was altered"
    )]
    Tampered,
    /// The secret opened, but it is not the UTF-8 text the caller asked for.
    #[error("the secret is not UTF-8 text")]
    NotUtf8,
}
