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
    /// Herald's key as a confidential AT Protocol OAuth client (its public half is in the
    /// client metadata Herald serves). A new master key makes a new one, so Bluesky accounts
    /// connected by OAuth are reconnected after `herald vault rekey`.
    pub bluesky_client: networks::es256::Es256Key,
}

impl Keys {
    pub fn derive(master: &MasterKey) -> Keys {
        Keys {
            vault: vault::Keyring::new(vault::Kek::derive(master.as_bytes(), master.version())),
            audit: crate::audit::signing_key(master),
            fingerprint: master.derive("password fingerprint"),
            bluesky_client: bluesky_client_key(master),
        }
    }
}

/// The first of "bluesky oauth client key 0", "… 1", … whose derived bytes are a valid P-256
/// scalar (all but about one in four billion are, so in practice the first).
fn bluesky_client_key(master: &MasterKey) -> networks::es256::Es256Key {
    (0u32..)
        .find_map(|attempt| {
            let bytes = master.derive(&format!("bluesky oauth client key {attempt}"));
            networks::es256::Es256Key::from_bytes(&bytes)
        })
        .unwrap_or_else(networks::es256::Es256Key::generate)
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
