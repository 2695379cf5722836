//! Key-encryption keys, derived from the master key, and the keyring of current and previous
//! versions that lets secrets sealed before a rotation still open.

use std::fmt;

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

/// A 256-bit key-encryption key with its version. Zeroized on drop; `Debug` hides the key.
#[derive(Clone)]
pub struct Kek {
    version: u32,
    key: Zeroizing<[u8; 32]>,
}

impl Kek {
    /// Derives the KEK of `version` from the master key with HKDF-SHA256. The version is part
    /// of the derivation, so each version is a different key.
    pub fn derive(master: &[u8; 32], version: u32) -> Kek {
        let mut key = Zeroizing::new([0u8; 32]);
        let info = [b"herald vault kek v".as_slice(), &version.to_be_bytes()].concat();
        // 32 bytes is far below HKDF-SHA256's limit of 8160, so expand cannot fail.
        let _ = Hkdf::<Sha256>::new(None, master).expand(&info, key.as_mut_slice());
        Kek { version, key }
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.key
    }
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kek {{ version: {}, key: [REDACTED] }}", self.version)
    }
}

/// The KEK that seals new secrets, and older ones that still open what they sealed.
#[derive(Clone)]
pub struct Keyring {
    current: Kek,
    previous: Vec<Kek>,
}

impl Keyring {
    pub fn new(current: Kek) -> Keyring {
        Keyring {
            current,
            previous: Vec::new(),
        }
    }

    /// Adds an older KEK, to open secrets not yet re-wrapped under the current one.
    pub fn with_previous(mut self, kek: Kek) -> Keyring {
        self.previous.push(kek);
        self
    }

    pub fn current(&self) -> &Kek {
        &self.current
    }

    pub fn get(&self, version: u32) -> Option<&Kek> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|kek| kek.version == version)
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let versions: Vec<u32> = self.previous.iter().map(Kek::version).collect();
        write!(
            f,
            "Keyring {{ current: {}, previous: {versions:?}, keys: [REDACTED] }}",
            self.current.version
        )
    }
}
