//! XChaCha20-Poly1305 behind fixed-size keys and nonces, so no call can pass a wrong length.

use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::VaultError;
use crate::format::{KEY, NONCE};

/// A random nonce. At 24 bytes the chance of two ever repeating under one key is negligible.
pub(crate) fn random_nonce(rng: &mut impl CryptoRngCore) -> [u8; NONCE] {
    let mut nonce = [0u8; NONCE];
    rng.fill_bytes(&mut nonce);
    nonce
}

/// Encrypts and authenticates `plaintext`, binding `aad`; the 16-byte tag is appended.
pub(crate) fn encrypt(
    key: &[u8; KEY],
    nonce: &[u8; NONCE],
    plaintext: &[u8],
    aad: &[u8],
) -> Vec<u8> {
    let payload = Payload {
        msg: plaintext,
        aad,
    };
    // Encryption fails only for a plaintext over 256 GiB, the most one ChaCha20 nonce can
    // cover; no secret comes near that. Were it to happen, the empty result would make the
    // sealed secret fail to open (as truncated) rather than expose anything.
    XChaCha20Poly1305::new(key.into())
        .encrypt(nonce.into(), payload)
        .unwrap_or_default()
}

/// Checks the tag and decrypts. The plaintext is zeroized when dropped.
pub(crate) fn decrypt(
    key: &[u8; KEY],
    nonce: &[u8; NONCE],
    ciphertext: &[u8],
    aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    let payload = Payload {
        msg: ciphertext,
        aad,
    };
    XChaCha20Poly1305::new(key.into())
        .decrypt(nonce.into(), payload)
        .map(Zeroizing::new)
        .map_err(|_| VaultError::Tampered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ciphertext_is_the_plaintext_length_plus_a_tag_and_decrypts_back() {
        let (key, nonce) = ([1; KEY], [2; NONCE]);
        let sealed = encrypt(&key, &nonce, b"attack at dawn", b"aad");
        assert_eq!(sealed.len(), 14 + 16);
        assert_ne!(&sealed[..14], b"attack at dawn");
        let opened = decrypt(&key, &nonce, &sealed, b"aad").unwrap();
        assert_eq!(opened.as_slice(), b"attack at dawn");
    }

    #[test]
    fn wrong_key_nonce_or_aad_fails_authentication() {
        let (key, nonce) = ([1; KEY], [2; NONCE]);
        let sealed = encrypt(&key, &nonce, b"attack at dawn", b"aad");
        let tampered = Err(VaultError::Tampered);
        assert_eq!(decrypt(&[9; KEY], &nonce, &sealed, b"aad"), tampered);
        assert_eq!(decrypt(&key, &[9; NONCE], &sealed, b"aad"), tampered);
        assert_eq!(decrypt(&key, &nonce, &sealed, b"aae"), tampered);
        assert_eq!(decrypt(&key, &nonce, &sealed[..15], b"aad"), tampered);
    }
}
