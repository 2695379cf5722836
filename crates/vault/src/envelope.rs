//! Sealing, opening and re-wrapping one secret. The byte layout lives in `format.rs`.
//!
//! Two encryptions, both XChaCha20-Poly1305 with a random nonce: a fresh random data key
//! encrypts the secret, and the KEK encrypts ("wraps") the data key. The secret's context is
//! the associated data of both; the wrap also binds the KEK version, so a header edited to name
//! another version fails. Keeping the secret under its own key is what makes rotation cheap:
//! a new KEK re-encrypts 32 bytes per secret, however long the secret is.

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::format::{Envelope, KEY, NONCE};
use crate::{Context, Kek, Keyring, SecretBytes, VaultError, cipher};

/// Seals `plaintext` for `context` under `kek`, with a fresh data key and fresh nonces drawn
/// from `rng`. The result is safe to store beside the record it belongs to.
pub fn seal(
    kek: &Kek,
    context: &Context<'_>,
    plaintext: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Vec<u8> {
    let aad = context.canonical_bytes();
    let mut data_key = Zeroizing::new([0u8; KEY]);
    rng.fill_bytes(data_key.as_mut_slice());
    let data_nonce = cipher::random_nonce(rng);
    let ciphertext = cipher::encrypt(&data_key, &data_nonce, plaintext, &aad);
    let wrap_nonce = cipher::random_nonce(rng);
    let wrapped_key = wrap(kek, &wrap_nonce, &data_key, &aad);
    Envelope {
        version: kek.version(),
        wrap_nonce: &wrap_nonce,
        wrapped_key: &wrapped_key,
        data_nonce: &data_nonce,
        ciphertext: &ciphertext,
    }
    .to_bytes()
}

/// Opens a sealed secret with whichever KEK of `keys` sealed it, for the same `context`.
pub fn open(
    keys: &Keyring,
    context: &Context<'_>,
    sealed: &[u8],
) -> Result<SecretBytes, VaultError> {
    let envelope = Envelope::parse(sealed)?;
    let aad = context.canonical_bytes();
    let data_key = unwrap(keys, &envelope, &aad)?;
    let plaintext = cipher::decrypt(&data_key, envelope.data_nonce, envelope.ciphertext, &aad)?;
    Ok(SecretBytes::new(plaintext))
}

/// Re-wraps the data key of a sealed secret under the keyring's current KEK. The encrypted
/// secret itself is copied unchanged. A secret already under the current KEK comes back as it
/// is, so an interrupted rotation can simply be run again over every secret.
pub fn rewrap(
    keys: &Keyring,
    context: &Context<'_>,
    sealed: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>, VaultError> {
    let envelope = Envelope::parse(sealed)?;
    let aad = context.canonical_bytes();
    let data_key = unwrap(keys, &envelope, &aad)?;
    // Authenticating the secret as well means a rotation that reports success has proved that
    // every secret it touched still opens, instead of carrying damage forward under a new key.
    cipher::decrypt(&data_key, envelope.data_nonce, envelope.ciphertext, &aad)?;
    let current = keys.current();
    if envelope.version == current.version() {
        return Ok(sealed.to_vec());
    }
    let wrap_nonce = cipher::random_nonce(rng);
    let wrapped_key = wrap(current, &wrap_nonce, &data_key, &aad);
    let rewrapped = Envelope {
        version: current.version(),
        wrap_nonce: &wrap_nonce,
        wrapped_key: &wrapped_key,
        ..envelope
    };
    Ok(rewrapped.to_bytes())
}

/// The version of the KEK a secret is sealed under, read from its header without any key;
/// a rotation uses it to find the secrets still to re-wrap.
pub fn key_version(sealed: &[u8]) -> Result<u32, VaultError> {
    Envelope::parse(sealed).map(|envelope| envelope.version)
}

fn wrap(kek: &Kek, nonce: &[u8; NONCE], data_key: &[u8; KEY], aad: &[u8]) -> Vec<u8> {
    cipher::encrypt(kek.bytes(), nonce, data_key, &wrap_aad(kek.version(), aad))
}

/// Finds the KEK named in the header and decrypts the data key with it.
fn unwrap(
    keys: &Keyring,
    envelope: &Envelope<'_>,
    aad: &[u8],
) -> Result<Zeroizing<[u8; KEY]>, VaultError> {
    let version = envelope.version;
    let kek = keys
        .get(version)
        .ok_or(VaultError::UnknownKeyVersion(version))?;
    let opened = cipher::decrypt(
        kek.bytes(),
        envelope.wrap_nonce,
        envelope.wrapped_key,
        &wrap_aad(version, aad),
    )?;
    // Always 32 bytes once authenticated, since the format fixes the wrapped key's length;
    // checked anyway so that the copy below cannot panic.
    if opened.len() != KEY {
        return Err(VaultError::Tampered);
    }
    let mut data_key = Zeroizing::new([0u8; KEY]);
    data_key.copy_from_slice(&opened);
    Ok(data_key)
}

/// The wrap's associated data: the context, then the KEK version. The context bytes carry
/// their own lengths, so appending a fixed-size field keeps the encoding unambiguous.
fn wrap_aad(version: u32, context: &[u8]) -> Vec<u8> {
    [context, b"kek", &version.to_be_bytes()].concat()
}

#[cfg(test)]
mod tests {
    use rand_core::{CryptoRng, OsRng, RngCore};

    use super::*;
    use crate::format::{DATA_START, MINIMUM};

    const CONTEXT: Context<'static> = Context {
        organisation: "acme",
        record: "user:7",
        field: "totp_secret",
    };

    fn keyring(master: u8, version: u32) -> Keyring {
        Keyring::new(Kek::derive(&[master; 32], version))
    }

    fn sealed(keys: &Keyring, plaintext: &[u8]) -> Vec<u8> {
        seal(keys.current(), &CONTEXT, plaintext, &mut OsRng)
    }

    /// A predictable generator, to show that every random byte comes from the caller's `rng`.
    struct CountingRng(u8);

    impl RngCore for CountingRng {
        fn next_u32(&mut self) -> u32 {
            rand_core::impls::next_u32_via_fill(self)
        }
        fn next_u64(&mut self) -> u64 {
            rand_core::impls::next_u64_via_fill(self)
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for byte in dest {
                self.0 = self.0.wrapping_add(1);
                *byte = self.0;
            }
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }

    impl CryptoRng for CountingRng {}

    #[test]
    fn empty_small_and_one_mebibyte_secrets_open_again() {
        let keys = keyring(1, 1);
        for size in [0, 1, 64, 1 << 20] {
            let plaintext: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let sealed = sealed(&keys, &plaintext);
            assert_eq!(sealed.len(), MINIMUM + size);
            let opened = open(&keys, &CONTEXT, &sealed).unwrap();
            assert_eq!(opened.expose(), plaintext.as_slice(), "size {size}");
        }
    }

    #[test]
    fn a_sealed_secret_does_not_contain_its_plaintext() {
        let sealed = sealed(&keyring(1, 1), b"plaintext-marker-plaintext-marker");
        assert!(!sealed.windows(8).any(|window| window == b"plaintex"));
    }

    #[test]
    fn a_secret_opens_only_in_its_own_context() {
        let keys = keyring(1, 1);
        let sealed = sealed(&keys, b"hunter2");
        let others = [
            Context {
                record: "user:8",
                ..CONTEXT
            },
            Context {
                field: "password",
                ..CONTEXT
            },
            Context {
                organisation: "globex",
                ..CONTEXT
            },
            // The same characters with the boundary between record and field moved.
            Context {
                record: "user:7t",
                field: "otp_secret",
                ..CONTEXT
            },
        ];
        for other in others {
            let error = open(&keys, &other, &sealed).unwrap_err();
            assert_eq!(error, VaultError::Tampered, "{other:?}");
        }
        assert_eq!(open(&keys, &CONTEXT, &sealed).unwrap().expose(), b"hunter2");
    }

    #[test]
    fn secrets_swapped_between_records_do_not_open() {
        let keys = keyring(1, 1);
        let alice = Context {
            record: "user:1",
            ..CONTEXT
        };
        let bob = Context {
            record: "user:2",
            ..CONTEXT
        };
        let sealed_for_alice = seal(keys.current(), &alice, b"alpha", &mut OsRng);
        let sealed_for_bob = seal(keys.current(), &bob, b"bravo", &mut OsRng);
        let tampered = VaultError::Tampered;
        assert_eq!(open(&keys, &bob, &sealed_for_alice).unwrap_err(), tampered);
        assert_eq!(open(&keys, &alice, &sealed_for_bob).unwrap_err(), tampered);
        assert_eq!(
            rewrap(&keys, &bob, &sealed_for_alice, &mut OsRng),
            Err(tampered)
        );
    }

    #[test]
    fn every_single_flipped_bit_is_detected() {
        let keys = keyring(1, 1);
        let sealed = sealed(&keys, b"short secret");
        for bit in 0..sealed.len() * 8 {
            let mut altered = sealed.clone();
            altered[bit / 8] ^= 1 << (bit % 8);
            let error = open(&keys, &CONTEXT, &altered).unwrap_err();
            let expected = match bit / 8 {
                0..3 => VaultError::UnknownFormat,
                // The version is big-endian: byte 3 holds its highest bits, byte 6 its lowest.
                byte @ 3..7 => {
                    VaultError::UnknownKeyVersion(1 ^ (1 << (bit % 8)) << (8 * (6 - byte)))
                }
                _ => VaultError::Tampered,
            };
            assert_eq!(error, expected, "bit {bit}");
        }
    }

    #[test]
    fn a_header_edited_to_name_another_held_version_fails_even_with_the_same_key_bytes() {
        let first = Kek::derive(&[1; 32], 1);
        let keys = Keyring::new(first.relabelled(2)).with_previous(first.clone());
        let mut sealed = seal(&first, &CONTEXT, b"hunter2", &mut OsRng);
        assert_eq!(open(&keys, &CONTEXT, &sealed).unwrap().expose(), b"hunter2");
        sealed[3..7].copy_from_slice(&2u32.to_be_bytes());
        assert_eq!(
            open(&keys, &CONTEXT, &sealed).unwrap_err(),
            VaultError::Tampered
        );
    }

    #[test]
    fn every_truncation_fails_as_truncated_or_tampered() {
        let keys = keyring(1, 1);
        let sealed = sealed(&keys, b"short secret");
        for length in 0..sealed.len() {
            let cut = &sealed[..length];
            let expected = if length < MINIMUM {
                VaultError::Truncated {
                    expected: MINIMUM,
                    got: length,
                }
            } else {
                VaultError::Tampered
            };
            assert_eq!(open(&keys, &CONTEXT, cut).unwrap_err(), expected);
            assert_eq!(rewrap(&keys, &CONTEXT, cut, &mut OsRng), Err(expected));
        }
        assert_eq!(
            open(&keys, &CONTEXT, &sealed[..10])
                .unwrap_err()
                .to_string(),
            "sealed secret is truncated: expected at least 119 bytes, got 10"
        );
    }

    #[test]
    fn a_kek_from_another_master_key_cannot_open() {
        let sealed = sealed(&keyring(1, 1), b"hunter2");
        let error = open(&keyring(2, 1), &CONTEXT, &sealed).unwrap_err();
        assert_eq!(error, VaultError::Tampered);
        assert!(error.to_string().contains("wrong master key"));
    }

    #[test]
    fn a_rewrapped_secret_opens_with_only_the_new_key_and_not_with_only_the_old() {
        let old_only = keyring(1, 1);
        let both = Keyring::new(Kek::derive(&[1; 32], 2)).with_previous(Kek::derive(&[1; 32], 1));
        let new_only = keyring(1, 2);
        let sealed = sealed(&old_only, b"hunter2");

        let moved = rewrap(&both, &CONTEXT, &sealed, &mut OsRng).unwrap();

        assert_eq!(key_version(&sealed), Ok(1));
        assert_eq!(key_version(&moved), Ok(2));
        assert_eq!(
            open(&new_only, &CONTEXT, &moved).unwrap().expose(),
            b"hunter2"
        );
        let error = open(&old_only, &CONTEXT, &moved).unwrap_err();
        assert_eq!(error, VaultError::UnknownKeyVersion(2));
        assert!(error.to_string().contains("was the master key replaced?"));
    }

    #[test]
    fn rewrapping_leaves_the_encrypted_secret_untouched() {
        let both = keyring(1, 2).with_previous(Kek::derive(&[1; 32], 1));
        let sealed = sealed(&keyring(1, 1), &[42; 300]);
        let moved = rewrap(&both, &CONTEXT, &sealed, &mut OsRng).unwrap();
        assert_eq!(moved.len(), sealed.len());
        assert_eq!(moved[DATA_START - 24..], sealed[DATA_START - 24..]);
        assert_ne!(moved[..DATA_START - 24], sealed[..DATA_START - 24]);
    }

    #[test]
    fn rewrapping_twice_is_idempotent() {
        let both = keyring(1, 2).with_previous(Kek::derive(&[1; 32], 1));
        let sealed = sealed(&keyring(1, 1), b"hunter2");
        let once = rewrap(&both, &CONTEXT, &sealed, &mut OsRng).unwrap();
        let twice = rewrap(&both, &CONTEXT, &once, &mut OsRng).unwrap();
        assert_eq!(twice, once);
        assert_eq!(key_version(&twice), Ok(2));
        assert_eq!(open(&both, &CONTEXT, &twice).unwrap().expose(), b"hunter2");
    }

    #[test]
    fn rewrapping_needs_the_old_key_and_an_intact_secret() {
        let sealed = sealed(&keyring(1, 1), b"hunter2");
        let new_only = keyring(1, 2);
        let error = rewrap(&new_only, &CONTEXT, &sealed, &mut OsRng).unwrap_err();
        assert_eq!(error, VaultError::UnknownKeyVersion(1));

        let both = keyring(1, 2).with_previous(Kek::derive(&[1; 32], 1));
        let mut damaged = sealed.clone();
        *damaged.last_mut().unwrap() ^= 1;
        let error = rewrap(&both, &CONTEXT, &damaged, &mut OsRng).unwrap_err();
        assert_eq!(error, VaultError::Tampered);
    }

    #[test]
    fn two_seals_of_the_same_secret_share_no_key_nonce_or_ciphertext() {
        let keys = keyring(1, 1);
        let first = sealed(&keys, b"same secret");
        let second = sealed(&keys, b"same secret");
        for (field, range) in [("wrap", 7..79), ("data nonce", 79..103), ("data", 103..130)] {
            assert_ne!(first[range.clone()], second[range], "{field}");
        }
    }

    #[test]
    fn every_random_byte_comes_from_the_callers_rng() {
        let kek = Kek::derive(&[1; 32], 1);
        let first = seal(&kek, &CONTEXT, b"secret", &mut CountingRng(0));
        let second = seal(&kek, &CONTEXT, b"secret", &mut CountingRng(0));
        let third = seal(&kek, &CONTEXT, b"secret", &mut CountingRng(1));
        assert_eq!(first, second);
        assert_ne!(first, third);
    }

    #[test]
    fn key_version_reads_the_header_without_a_key() {
        let sealed = sealed(&keyring(1, 0xdead_beef), b"x");
        assert_eq!(key_version(&sealed), Ok(0xdead_beef));
        assert_eq!(key_version(b"not a secret"), Err(VaultError::UnknownFormat));
        assert_eq!(
            key_version(b"HV\x01"),
            Err(VaultError::Truncated {
                expected: MINIMUM,
                got: 3
            })
        );
    }

    #[test]
    fn debug_output_and_errors_never_show_keys_or_secrets() {
        let kek = Kek::derive(&[0xab; 32], 3);
        let keys = Keyring::new(kek.clone()).with_previous(Kek::derive(&[0xcd; 32], 2));
        let sealed = sealed(&keys, b"plaintext-marker");
        let opened = open(&keys, &CONTEXT, &sealed).unwrap();
        let binary = open(&keys, &CONTEXT, &self::sealed(&keys, &[0xff; 4])).unwrap();
        let errors = [
            open(&keys, &CONTEXT, &sealed[..50]).unwrap_err(),
            open(&keys, &CONTEXT, b"plaintext-marker").unwrap_err(),
            open(&keyring(9, 9), &CONTEXT, &sealed).unwrap_err(),
            open(&keyring(9, 3), &CONTEXT, &sealed).unwrap_err(),
            binary.expose_str().unwrap_err(),
        ];
        let printed =
            format!("{kek:?} {kek:#?} {keys:?} {keys:#?} {opened:?} {opened:#?} {errors:?}")
                + &errors.iter().map(ToString::to_string).collect::<String>();
        let key_hex: String = kek.bytes().iter().map(|b| format!("{b:02x}")).collect();
        let key_list = format!("{:?}", kek.bytes());
        assert!(!printed.contains("plaintext-marker"), "{printed}");
        assert!(!printed.contains("plaintext"), "{printed}");
        assert!(!printed.contains(&key_hex[..8]), "{printed}");
        assert!(!printed.contains(&key_list[1..20]), "{printed}");
        assert_eq!(format!("{opened:?}"), "SecretBytes([REDACTED; 16 bytes])");
        assert_eq!(opened.expose_str(), Ok("plaintext-marker"));
    }
}
