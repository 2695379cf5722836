//! Keys derived from the master key: the versioned key-encryption keys (KEKs) that wrap data
//! keys, the keyring of current and previous KEKs, and per-purpose keys for other uses.

use std::fmt;

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

/// A 256-bit key-encryption key and its version. The key is zeroized on drop and `Debug`
/// shows only the version.
#[derive(Clone)]
pub struct Kek {
    version: u32,
    key: Zeroizing<[u8; 32]>,
}

/// The KEK that seals new secrets, and older KEKs that still open what they sealed until
/// [`rewrap`](crate::rewrap) has moved those secrets to the current one.
#[derive(Clone)]
pub struct Keyring {
    current: Kek,
    previous: Vec<Kek>,
}

/// A key for one `purpose` other than the vault (for example sealing short-lived tokens),
/// derived from the master key with HKDF-SHA256, so that no two uses share key material.
/// The info string matches Herald's `MasterKey::derive`, so both give the same key.
pub fn derive_key(master: &[u8; 32], purpose: &str) -> Zeroizing<[u8; 32]> {
    expand(master, &[b"herald purpose:".as_slice(), purpose.as_bytes()])
}

impl Kek {
    /// Derives the KEK of `version` from the master key with HKDF-SHA256: no salt, since the
    /// master key is already uniformly random, and info `"herald vault kek v"` followed by the
    /// version (big-endian), so that bumping the version gives a new key even when the master
    /// key stays the same. Changing the info would make every stored secret unopenable.
    pub fn derive(master: &[u8; 32], version: u32) -> Kek {
        let key = expand(
            master,
            &[b"herald vault kek v".as_slice(), &version.to_be_bytes()],
        );
        Kek { version, key }
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.key
    }

    /// The same key bytes under another version, which `derive` never gives; tests use it to
    /// show that the wrap binds the version itself, not only the key.
    #[cfg(test)]
    pub(crate) fn relabelled(&self, version: u32) -> Kek {
        Kek {
            version,
            key: self.key.clone(),
        }
    }
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kek {{ version: {}, key: [REDACTED] }}", self.version)
    }
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

    /// The KEK of `version`; the current one wins if an older one claims the same version.
    pub fn get(&self, version: u32) -> Option<&Kek> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|kek| kek.version == version)
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let previous: Vec<u32> = self.previous.iter().map(Kek::version).collect();
        write!(
            f,
            "Keyring {{ current: {}, previous: {previous:?}, keys: [REDACTED] }}",
            self.current.version
        )
    }
}

/// HKDF-SHA256 expansion of the master key to 32 bytes for the concatenated `info` parts.
fn expand(master: &[u8; 32], info: &[&[u8]]) -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new([0u8; 32]);
    // Expansion fails only when asked for more than 255 hash lengths (8160 bytes); 32 bytes
    // always fit, so there is no error to handle.
    let _ = Hkdf::<Sha256>::new(None, master).expand_multi_info(info, key.as_mut_slice());
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASTER: [u8; 32] = [0x5a; 32];

    #[test]
    fn different_purposes_get_different_keys() {
        let tokens = derive_key(&MASTER, "enrolment tokens");
        let sessions = derive_key(&MASTER, "sessions");
        assert_ne!(*tokens, *sessions);
        assert_eq!(*tokens, *derive_key(&MASTER, "enrolment tokens"));
        assert_ne!(*tokens, *derive_key(&[0x5b; 32], "enrolment tokens"));
    }

    #[test]
    fn a_purpose_key_matches_plain_hkdf_sha256() {
        let mut expected = [0u8; 32];
        Hkdf::<Sha256>::new(None, &MASTER)
            .expand(b"herald purpose:sessions", &mut expected)
            .unwrap();
        assert_eq!(*derive_key(&MASTER, "sessions"), expected);
    }

    #[test]
    fn each_kek_version_is_a_different_key_and_no_purpose_key() {
        let first = Kek::derive(&MASTER, 1);
        let second = Kek::derive(&MASTER, 2);
        assert_eq!((first.version(), second.version()), (1, 2));
        assert_ne!(first.bytes(), second.bytes());
        assert_eq!(first.bytes(), Kek::derive(&MASTER, 1).bytes());
        assert_ne!(first.bytes(), &*derive_key(&MASTER, "vault kek"));
    }

    #[test]
    fn the_kek_derivation_is_pinned_to_its_documented_info() {
        let mut expected = [0u8; 32];
        Hkdf::<Sha256>::new(None, &MASTER)
            .expand(b"herald vault kek v\x00\x00\x00\x02", &mut expected)
            .unwrap();
        assert_eq!(Kek::derive(&MASTER, 2).bytes(), &expected);
    }

    #[test]
    fn a_keyring_finds_current_and_previous_versions_only() {
        let keys = Keyring::new(Kek::derive(&MASTER, 3)).with_previous(Kek::derive(&MASTER, 1));
        assert_eq!(keys.current().version(), 3);
        assert_eq!(keys.get(3).map(Kek::version), Some(3));
        assert_eq!(keys.get(1).map(Kek::version), Some(1));
        assert!(keys.get(2).is_none());
    }

    #[test]
    fn kek_and_keyring_debug_show_versions_but_not_key_bytes() {
        let kek = Kek::derive(&MASTER, 7);
        let keys = Keyring::new(kek.clone()).with_previous(Kek::derive(&MASTER, 6));
        assert_eq!(format!("{kek:?}"), "Kek { version: 7, key: [REDACTED] }");
        let printed = format!("{kek:?} {kek:#?} {keys:?} {keys:#?}");
        let hex: String = kek.bytes().iter().map(|b| format!("{b:02x}")).collect();
        let decimal = format!("{:?}", kek.bytes());
        assert!(!printed.contains(&hex), "{printed}");
        assert!(!printed.contains(&hex[..8]), "{printed}");
        assert!(!printed.contains(&decimal[1..20]), "{printed}");
        assert!(printed.contains("current: 7, previous: [6]"), "{printed}");
    }
}
