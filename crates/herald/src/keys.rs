//! The keys Herald derives from the master key at start-up, one for each purpose, so that no
//! two uses ever share key material.

use ed25519_dalek::SigningKey;
use zeroize::Zeroizing;

use crate::data_dir::MasterKey;

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
            vault: vault::Keyring::new(vault::Kek::derive(master.as_bytes(), master.version())),
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

/// What the canary holds. Not secret: only whether it opens matters.
const CANARY: &[u8] = b"herald vault canary";

pub(crate) fn canary_context() -> vault::Context<'static> {
    vault::Context {
        organisation: "herald",
        record: "vault",
        field: "canary",
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyCheckError {
    #[error(
        "the master key does not open this database's secrets ({0}); restore the master key file that belongs to this database, or point HERALD_MASTER_KEY_FILE at it"
    )]
    WrongKey(vault::VaultError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Proves the master key belongs to this database: the first start seals a canary, every
/// later start must open it. Serving with a wrong key would seal new secrets that no one
/// could open with the right one, so Herald stops instead.
pub async fn check_against(keys: &Keys, store: &crate::store::Store) -> Result<(), KeyCheckError> {
    match store.vault_canary().await? {
        Some(sealed) => {
            vault::open(&keys.vault, &canary_context(), &sealed)
                .map_err(KeyCheckError::WrongKey)?;
            Ok(())
        }
        None => {
            let sealed = vault::seal(
                keys.vault.current(),
                &canary_context(),
                CANARY,
                &mut rand::rngs::OsRng,
            );
            Ok(store.set_vault_canary(&sealed).await?)
        }
    }
}
