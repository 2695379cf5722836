//! The byte layout of a sealed secret, written in one place and parsed in one place.
//!
//! | bytes  | field                                                    |
//! |--------|----------------------------------------------------------|
//! | 2      | magic `"HV"`                                             |
//! | 1      | format, currently 1                                      |
//! | 4      | KEK version, big-endian `u32`                            |
//! | 24     | wrap nonce                                               |
//! | 48     | wrapped data key: 32 bytes of key + 16 bytes of tag      |
//! | 24     | data nonce                                               |
//! | n + 16 | the secret's ciphertext (as long as the plaintext) + tag |
//!
//! Only the KEK version and the wrap (nonce and wrapped key) change on re-wrap; the data nonce
//! and ciphertext after them stay byte for byte the same.

use crate::VaultError;

/// XChaCha20-Poly1305 nonces are 24 bytes: long enough to be chosen at random without fear of
/// repeats, which the shorter 12-byte ChaCha20-Poly1305 nonce would not allow.
pub(crate) const NONCE: usize = 24;
pub(crate) const TAG: usize = 16;
pub(crate) const KEY: usize = 32;
const WRAPPED_KEY: usize = KEY + TAG;
/// Magic and format number, checked together.
const PREFIX: [u8; 3] = [b'H', b'V', 1];
const VERSION: usize = 4;
/// Where the data nonce ends and the secret's ciphertext begins.
pub(crate) const DATA_START: usize = PREFIX.len() + VERSION + NONCE + WRAPPED_KEY + NONCE;
/// The length of the shortest sealed secret, the seal of an empty plaintext.
pub(crate) const MINIMUM: usize = DATA_START + TAG;

/// A sealed secret split into its fields.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Envelope<'a> {
    pub(crate) version: u32,
    pub(crate) wrap_nonce: &'a [u8; NONCE],
    /// The data key encrypted under the KEK: always `KEY + TAG` bytes.
    pub(crate) wrapped_key: &'a [u8],
    pub(crate) data_nonce: &'a [u8; NONCE],
    /// The secret encrypted under the data key: at least `TAG` bytes.
    pub(crate) ciphertext: &'a [u8],
}

impl<'a> Envelope<'a> {
    /// Splits `sealed` into its fields, checking the header and the lengths but nothing that
    /// needs a key.
    pub(crate) fn parse(sealed: &'a [u8]) -> Result<Envelope<'a>, VaultError> {
        // A cut-off secret whose first bytes still match counts as truncated, not foreign.
        if !sealed.starts_with(&PREFIX) && !PREFIX.starts_with(sealed) {
            return Err(VaultError::UnknownFormat);
        }
        let truncated = || VaultError::Truncated {
            expected: MINIMUM,
            got: sealed.len(),
        };
        if sealed.len() < MINIMUM {
            return Err(truncated());
        }
        let rest = sealed.get(PREFIX.len()..).ok_or_else(truncated)?;
        let (version, rest) = rest.split_first_chunk::<VERSION>().ok_or_else(truncated)?;
        let (wrap_nonce, rest) = rest.split_first_chunk::<NONCE>().ok_or_else(truncated)?;
        let (wrapped_key, rest) = rest
            .split_first_chunk::<WRAPPED_KEY>()
            .ok_or_else(truncated)?;
        let (data_nonce, ciphertext) = rest.split_first_chunk::<NONCE>().ok_or_else(truncated)?;
        Ok(Envelope {
            version: u32::from_be_bytes(*version),
            wrap_nonce,
            wrapped_key,
            data_nonce,
            ciphertext,
        })
    }

    pub(crate) fn to_bytes(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(DATA_START + self.ciphertext.len());
        out.extend_from_slice(&PREFIX);
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(self.wrap_nonce);
        out.extend_from_slice(self.wrapped_key);
        out.extend_from_slice(self.data_nonce);
        out.extend_from_slice(self.ciphertext);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Vec<u8> {
        Envelope {
            version: 0x0102_0304,
            wrap_nonce: &[0xaa; NONCE],
            wrapped_key: &[0xbb; WRAPPED_KEY],
            data_nonce: &[0xcc; NONCE],
            ciphertext: &[0xdd; TAG + 5],
        }
        .to_bytes()
    }

    #[test]
    fn the_layout_is_the_documented_one() {
        let bytes = example();
        assert_eq!(MINIMUM, 119);
        assert_eq!(bytes.len(), MINIMUM + 5);
        assert_eq!(&bytes[..7], b"HV\x01\x01\x02\x03\x04");
        assert_eq!(bytes[7..31], [0xaa; 24]);
        assert_eq!(bytes[31..79], [0xbb; 48]);
        assert_eq!(bytes[79..DATA_START], [0xcc; 24]);
        assert_eq!(bytes[DATA_START..], [0xdd; 21]);
    }

    #[test]
    fn parsing_gives_back_every_field() {
        let bytes = example();
        let envelope = Envelope::parse(&bytes).unwrap();
        assert_eq!(envelope.version, 0x0102_0304);
        assert_eq!(envelope.wrap_nonce, &[0xaa; NONCE]);
        assert_eq!(envelope.wrapped_key, [0xbb; WRAPPED_KEY]);
        assert_eq!(envelope.data_nonce, &[0xcc; NONCE]);
        assert_eq!(envelope.ciphertext, [0xdd; TAG + 5]);
        assert_eq!(envelope.to_bytes(), bytes);
    }

    #[test]
    fn a_foreign_header_is_an_unknown_format_even_when_short() {
        for foreign in [
            &b"HX"[..],
            b"hv\x01",
            b"HV\x02",
            b"{\"secret\": 1}",
            &[0; 200],
        ] {
            assert_eq!(
                Envelope::parse(foreign).unwrap_err(),
                VaultError::UnknownFormat,
                "{foreign:?}"
            );
        }
    }
}
