//! The keys Herald derives from the master key at start-up, one for each purpose, so that no
//! two uses ever share key material.

use ed25519_dalek::SigningKey;
use zeroize::Zeroizing;

use crate::data_dir::MasterKey;

/// Version of the vault's key-encryption key; `herald vault rekey` (a later release) bumps it.
const VAULT_KEY_VERSION: u32 = 1;

/// Everything secret that request handlers and jobs need, derived once.
pub struct Keys {
    /// Seals secrets stored in the database (TOTP seeds now, network credentials later).
    pub vault: vault::Keyring,
    /// Signs audit log checkpoints.
    pub audit: SigningKey,
    /// Keys the fingerprints that show when two accounts share a password.
    pub fingerprint: Zeroizing<[u8; 32]>,
}

impl Keys {
    pub fn derive(master: &MasterKey) -> Keys {
        Keys {
            vault: vault::Keyring::new(vault::Kek::derive(master.as_bytes(), VAULT_KEY_VERSION)),
            audit: crate::audit::signing_key(master),
            fingerprint: master.derive("password fingerprint"),
        }
    }
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys([REDACTED])")
    }
}
