//! Sealing and opening one secret.
//!
//! Format of a sealed secret (all lengths in bytes):
//! `"HV"` (2) · format 1 (1) · KEK version, big-endian (4) · wrap nonce (24) ·
//! wrapped data key (32 + 16 tag) · data nonce (24) · ciphertext + 16-byte tag.

use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::keys::{Kek, Keyring};

const MAGIC: &[u8; 2] = b"HV";
const FORMAT: u8 = 1;
const NONCE: usize = 24;
const TAG: usize = 16;
const WRAPPED_KEY: usize = 32 + TAG;
const HEADER: usize = MAGIC.len() + 1 + 4;
const DATA_START: usize = HEADER + NONCE + WRAPPED_KEY + NONCE;
/// The shortest possible sealed secret: an empty plaintext.
const MINIMUM: usize = DATA_START + TAG;

/// What a sealed secret belongs to. Bound into the ciphertext: opening with any other context
/// fails, so a secret cannot be moved to another record or field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context<'a> {
    pub organisation: &'a str,
    pub record: &'a str,
    pub field: &'a str,
}

/// A secret that has been opened. Zeroized on drop; `Debug` shows only its length.
pub struct SecretBytes(Zeroizing<Vec<u8>>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    #[error("sealed secret is truncated: expected at least {expected} bytes, got {got}")]
    Truncated { expected: usize, got: usize },
    #[error("not a Herald sealed secret (bad header)")]
    UnknownFormat,
    #[error(
        "sealed with key version {0}, which this keyring does not hold; was the master key replaced?"
    )]
    UnknownKeyVersion(u32),
    #[error(
        "sealed secret failed authentication: wrong master key, wrong record or field, or the data was altered"
    )]
    Tampered,
    #[error("the secret is not UTF-8 text")]
    NotUtf8,
}

impl Context<'_> {
    /// Each part length-prefixed, so ("ab", "c") and ("a", "bc") never look alike.
    fn associated_data(&self) -> Vec<u8> {
        let mut out = b"herald-vault-v1".to_vec();
        for part in [self.organisation, self.record, self.field] {
            out.extend_from_slice(&(part.len() as u64).to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        out
    }
}

impl SecretBytes {
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    pub fn expose_str(&self) -> Result<&str, VaultError> {
        std::str::from_utf8(&self.0).map_err(|_| VaultError::NotUtf8)
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes([REDACTED; {} bytes])", self.0.len())
    }
}

/// Seals `plaintext` for `context` under `kek`, with a fresh data key and fresh nonces.
pub fn seal(
    kek: &Kek,
    context: &Context<'_>,
    plaintext: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Vec<u8> {
    let mut data_key = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(data_key.as_mut_slice());
    let mut data_nonce = [0u8; NONCE];
    rng.fill_bytes(&mut data_nonce);
    let aad = context.associated_data();
    let ciphertext = encrypt(&data_key, &data_nonce, plaintext, &aad);
    let mut out = Vec::with_capacity(DATA_START + ciphertext.len());
    out.extend_from_slice(MAGIC);
    out.push(FORMAT);
    out.extend_from_slice(&kek.version().to_be_bytes());
    out.extend_from_slice(&wrap(kek, &data_key, &aad, rng));
    out.extend_from_slice(&data_nonce);
    out.extend_from_slice(&ciphertext);
    out
}

/// Opens a sealed secret with whichever KEK of `keys` sealed it.
pub fn open(
    keys: &Keyring,
    context: &Context<'_>,
    sealed: &[u8],
) -> Result<SecretBytes, VaultError> {
    let parts = Parts::parse(sealed)?;
    let kek = keys
        .get(parts.version)
        .ok_or(VaultError::UnknownKeyVersion(parts.version))?;
    let aad = context.associated_data();
    let data_key = unwrap(kek, parts.wrap, &aad)?;
    let plaintext = decrypt(&data_key, parts.data_nonce, parts.ciphertext, &aad)?;
    Ok(SecretBytes(plaintext))
}

/// Re-wraps the data key of a sealed secret under the keyring's current KEK, leaving the
/// encrypted secret itself untouched. Already current: returned as it is, so an interrupted
/// rotation can simply be run again.
pub fn rewrap(
    keys: &Keyring,
    context: &Context<'_>,
    sealed: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>, VaultError> {
    let parts = Parts::parse(sealed)?;
    let current = keys.current();
    if parts.version == current.version() {
        // Opening checks that the secret is intact before it is declared done.
        open(keys, context, sealed)?;
        return Ok(sealed.to_vec());
    }
    let old = keys
        .get(parts.version)
        .ok_or(VaultError::UnknownKeyVersion(parts.version))?;
    let aad = context.associated_data();
    let data_key = unwrap(old, parts.wrap, &aad)?;
    decrypt(&data_key, parts.data_nonce, parts.ciphertext, &aad)?;
    let mut out = Vec::with_capacity(sealed.len());
    out.extend_from_slice(MAGIC);
    out.push(FORMAT);
    out.extend_from_slice(&current.version().to_be_bytes());
    out.extend_from_slice(&wrap(current, &data_key, &aad, rng));
    out.extend_from_slice(parts.data_nonce);
    out.extend_from_slice(parts.ciphertext);
    Ok(out)
}

/// The KEK version a secret is sealed under.
pub fn key_version(sealed: &[u8]) -> Result<u32, VaultError> {
    Parts::parse(sealed).map(|parts| parts.version)
}

/// A sealed secret split into its fields, lengths checked.
struct Parts<'a> {
    version: u32,
    wrap: &'a [u8],
    data_nonce: &'a [u8],
    ciphertext: &'a [u8],
}

impl<'a> Parts<'a> {
    fn parse(sealed: &'a [u8]) -> Result<Parts<'a>, VaultError> {
        let (magic, rest) = sealed
            .split_at_checked(MAGIC.len())
            .ok_or(VaultError::UnknownFormat)?;
        let (format, rest) = rest.split_first().ok_or(VaultError::UnknownFormat)?;
        if magic != MAGIC || *format != FORMAT {
            return Err(VaultError::UnknownFormat);
        }
        if sealed.len() < MINIMUM {
            return Err(VaultError::Truncated {
                expected: MINIMUM,
                got: sealed.len(),
            });
        }
        let truncated = VaultError::Truncated {
            expected: MINIMUM,
            got: sealed.len(),
        };
        let (version, rest) = rest.split_at_checked(4).ok_or(truncated.clone())?;
        let (wrap, rest) = rest
            .split_at_checked(NONCE + WRAPPED_KEY)
            .ok_or(truncated.clone())?;
        let (data_nonce, ciphertext) = rest.split_at_checked(NONCE).ok_or(truncated)?;
        let version =
            u32::from_be_bytes(version.try_into().map_err(|_| VaultError::UnknownFormat)?);
        Ok(Parts {
            version,
            wrap,
            data_nonce,
            ciphertext,
        })
    }
}

fn wrap(kek: &Kek, data_key: &[u8; 32], aad: &[u8], rng: &mut impl CryptoRngCore) -> Vec<u8> {
    let mut nonce = [0u8; NONCE];
    rng.fill_bytes(&mut nonce);
    let wrap_aad = wrap_associated_data(kek, aad);
    let mut out = nonce.to_vec();
    out.extend_from_slice(&encrypt(kek.bytes(), &nonce, data_key, &wrap_aad));
    out
}

fn unwrap(kek: &Kek, wrapped: &[u8], aad: &[u8]) -> Result<Zeroizing<[u8; 32]>, VaultError> {
    let (nonce, key) = wrapped
        .split_at_checked(NONCE)
        .ok_or(VaultError::Tampered)?;
    let opened = decrypt(kek.bytes(), nonce, key, &wrap_associated_data(kek, aad))?;
    let mut data_key = Zeroizing::new([0u8; 32]);
    if opened.len() != data_key.len() {
        return Err(VaultError::Tampered);
    }
    data_key.copy_from_slice(&opened);
    Ok(data_key)
}

/// The wrap binds the KEK version too, so a header edited to name another version fails.
fn wrap_associated_data(kek: &Kek, aad: &[u8]) -> Vec<u8> {
    let mut out = aad.to_vec();
    out.extend_from_slice(b"kek");
    out.extend_from_slice(&kek.version().to_be_bytes());
    out
}

fn encrypt(key: &[u8; 32], nonce: &[u8; NONCE], plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new(key.into());
    // Encryption with XChaCha20-Poly1305 fails only for plaintexts beyond 256 GiB, which no
    // secret approaches; an empty result would then fail to open rather than leak anything.
    cipher
        .encrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .unwrap_or_default()
}

fn decrypt(
    key: &[u8; 32],
    nonce: &[u8],
    ciphertext: &[u8],
    aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    if nonce.len() != NONCE {
        return Err(VaultError::Tampered);
    }
    let cipher = XChaCha20Poly1305::new(key.into());
    cipher
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| VaultError::Tampered)
}

#[cfg(test)]
mod tests {
    use rand_core::OsRng;

    use super::*;

    const CONTEXT: Context<'static> = Context {
        organisation: "herald",
        record: "account:7",
        field: "password",
    };

    fn keyring(master: u8, version: u32) -> Keyring {
        Keyring::new(Kek::derive(&[master; 32], version))
    }

    #[test]
    fn sealed_secrets_of_any_size_open_again() {
        let keys = keyring(1, 1);
        for size in [0usize, 1, 64, 1 << 20] {
            let plaintext: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let sealed = seal(keys.current(), &CONTEXT, &plaintext, &mut OsRng);
            assert_eq!(sealed.len(), MINIMUM + size);
            assert_eq!(
                open(&keys, &CONTEXT, &sealed).unwrap().expose(),
                plaintext.as_slice()
            );
        }
    }

    #[test]
    fn a_secret_opens_only_in_its_own_context() {
        let keys = keyring(1, 1);
        let sealed = seal(keys.current(), &CONTEXT, b"hunter2", &mut OsRng);
        for other in [
            Context {
                record: "account:8",
                ..CONTEXT
            },
            Context {
                field: "totp_seed",
                ..CONTEXT
            },
            Context {
                organisation: "other",
                ..CONTEXT
            },
            Context {
                organisation: "herald",
                record: "account:7p",
                field: "assword",
            },
        ] {
            assert_eq!(
                open(&keys, &other, &sealed).unwrap_err(),
                VaultError::Tampered,
                "{other:?}"
            );
        }
    }

    #[test]
    fn secrets_swapped_between_records_do_not_open() {
        let keys = keyring(1, 1);
        let a = Context {
            record: "account:1",
            ..CONTEXT
        };
        let b = Context {
            record: "account:2",
            ..CONTEXT
        };
        let sealed_a = seal(keys.current(), &a, b"alpha", &mut OsRng);
        let sealed_b = seal(keys.current(), &b, b"bravo", &mut OsRng);
        assert_eq!(
            open(&keys, &b, &sealed_a).unwrap_err(),
            VaultError::Tampered
        );
        assert_eq!(
            open(&keys, &a, &sealed_b).unwrap_err(),
            VaultError::Tampered
        );
    }

    #[test]
    fn every_flipped_bit_is_detected() {
        let keys = keyring(1, 1);
        let sealed = seal(keys.current(), &CONTEXT, b"short secret", &mut OsRng);
        for bit in 0..sealed.len() * 8 {
            let mut altered = sealed.clone();
            altered[bit / 8] ^= 1 << (bit % 8);
            assert!(
                open(&keys, &CONTEXT, &altered).is_err(),
                "bit {bit} flipped unnoticed"
            );
        }
    }

    #[test]
    fn every_truncation_fails_cleanly() {
        let keys = keyring(1, 1);
        let sealed = seal(keys.current(), &CONTEXT, b"short secret", &mut OsRng);
        for length in 0..sealed.len() {
            let error = open(&keys, &CONTEXT, &sealed[..length]).unwrap_err();
            assert!(
                matches!(
                    error,
                    VaultError::Truncated { .. } | VaultError::Tampered | VaultError::UnknownFormat
                ),
                "length {length}: {error:?}"
            );
        }
        assert_eq!(
            open(&keys, &CONTEXT, &sealed[..10])
                .unwrap_err()
                .to_string(),
            format!("sealed secret is truncated: expected at least {MINIMUM} bytes, got 10")
        );
    }

    #[test]
    fn another_master_key_cannot_open() {
        let sealed = seal(keyring(1, 1).current(), &CONTEXT, b"hunter2", &mut OsRng);
        assert_eq!(
            open(&keyring(2, 1), &CONTEXT, &sealed).unwrap_err(),
            VaultError::Tampered
        );
    }

    #[test]
    fn rewrapping_moves_a_secret_to_the_new_key_and_is_idempotent() {
        let old = keyring(1, 1);
        let sealed = seal(old.current(), &CONTEXT, b"hunter2", &mut OsRng);
        let both = Keyring::new(Kek::derive(&[9; 32], 2)).with_previous(Kek::derive(&[1; 32], 1));
        let moved = rewrap(&both, &CONTEXT, &sealed, &mut OsRng).unwrap();
        assert_eq!(key_version(&moved).unwrap(), 2);
        assert_eq!(
            &moved[DATA_START..],
            &sealed[DATA_START..],
            "the secret itself is not re-encrypted"
        );
        let new_only = Keyring::new(Kek::derive(&[9; 32], 2));
        assert_eq!(
            open(&new_only, &CONTEXT, &moved).unwrap().expose(),
            b"hunter2"
        );
        assert_eq!(
            open(&old, &CONTEXT, &moved).unwrap_err(),
            VaultError::UnknownKeyVersion(2)
        );
        assert_eq!(
            rewrap(&both, &CONTEXT, &moved, &mut OsRng).unwrap(),
            moved,
            "second run changes nothing"
        );
        assert_eq!(
            rewrap(&new_only, &CONTEXT, &sealed, &mut OsRng).unwrap_err(),
            VaultError::UnknownKeyVersion(1)
        );
    }

    #[test]
    fn two_seals_of_one_secret_differ() {
        let keys = keyring(1, 1);
        assert_ne!(
            seal(keys.current(), &CONTEXT, b"same", &mut OsRng),
            seal(keys.current(), &CONTEXT, b"same", &mut OsRng)
        );
    }

    #[test]
    fn debug_output_never_shows_keys_or_secrets() {
        let keys = keyring(0xab, 3);
        let sealed = seal(keys.current(), &CONTEXT, b"plaintext-marker", &mut OsRng);
        let opened = open(&keys, &CONTEXT, &sealed).unwrap();
        let printed = format!("{keys:?} {:?} {opened:?}", keys.current());
        assert!(!printed.contains("plaintext-marker"));
        assert!(!printed.to_lowercase().contains("abab"));
        assert!(!printed.contains("171, 171"));
        assert_eq!(format!("{opened:?}"), "SecretBytes([REDACTED; 16 bytes])");
        assert_eq!(opened.expose_str().unwrap(), "plaintext-marker");
    }

    #[test]
    fn garbage_is_not_mistaken_for_a_sealed_secret() {
        let keys = keyring(1, 1);
        assert_eq!(
            open(&keys, &CONTEXT, b"").unwrap_err(),
            VaultError::UnknownFormat
        );
        assert_eq!(
            open(&keys, &CONTEXT, &[0u8; 200]).unwrap_err(),
            VaultError::UnknownFormat
        );
    }
}
