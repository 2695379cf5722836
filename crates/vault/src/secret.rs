//! An opened secret: readable on purpose only, zeroized on drop, redacted in `Debug`.

use std::fmt;

use zeroize::Zeroizing;

use crate::VaultError;

/// The plaintext of an opened secret. Its memory is zeroized on drop and `Debug` shows only
/// its length, so it cannot reach a log line by accident.
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    pub(crate) fn new(bytes: Zeroizing<Vec<u8>>) -> SecretBytes {
        SecretBytes(bytes)
    }

    /// The secret's bytes. The name makes every read of a secret easy to find.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The secret as text, for secrets that were sealed from a `str`.
    pub fn expose_str(&self) -> Result<&str, VaultError> {
        std::str::from_utf8(&self.0).map_err(|_| VaultError::NotUtf8)
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes([REDACTED; {} bytes])", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_the_length_but_not_the_secret() {
        let secret = SecretBytes::new(Zeroizing::new(b"correct horse".to_vec()));
        assert_eq!(format!("{secret:?}"), "SecretBytes([REDACTED; 13 bytes])");
        assert!(!format!("{secret:#?}").contains("horse"));
    }

    #[test]
    fn text_secrets_read_as_str_and_binary_ones_refuse() {
        let text = SecretBytes::new(Zeroizing::new("pässword".as_bytes().to_vec()));
        assert_eq!(text.expose_str(), Ok("pässword"));
        let binary = SecretBytes::new(Zeroizing::new(vec![0xff, 0xfe, 0x00]));
        assert_eq!(binary.expose(), [0xff, 0xfe, 0x00]);
        assert_eq!(binary.expose_str(), Err(VaultError::NotUtf8));
    }
}
