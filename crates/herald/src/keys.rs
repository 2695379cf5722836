//! The keys Herald derives from the master key at start-up, one for each purpose, so that no
//! two uses ever share key material, and the one key it keeps sealed in the database instead
//! (its Bluesky OAuth client key, which sessions at Bluesky are bound to).

use ed25519_dalek::SigningKey;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::data_dir::MasterKey;
use crate::store::Store;

/// Everything secret that request handlers and jobs need, derived once.
pub struct Keys {
    /// Seals secrets stored in the database (TOTP seeds now, network credentials later).
    pub vault: vault::Keyring,
    /// Signs audit log checkpoints.
    pub audit: SigningKey,
    /// Keys the fingerprints that show when two accounts share a password.
    pub fingerprint: Zeroizing<[u8; 32]>,
    /// Derives the one-time setup code from the nonce the database keeps until setup is done.
    pub setup_code: Zeroizing<[u8; 32]>,
    /// Signs the device cookies that exempt a browser that signed in before from the sign-in
    /// throttles other people's failures trip.
    pub device: Zeroizing<[u8; 32]>,
    /// Herald's key as a confidential AT Protocol OAuth client (its public half is in the
    /// client metadata Herald serves). Kept sealed in the database, so `herald vault rekey`
    /// re-wraps it and connected Bluesky accounts keep working.
    pub bluesky_client: networks::es256::Es256Key,
}

impl Keys {
    /// The keys of the Herald whose database is `store`: derived from `master`, proved to
    /// belong to the database ([`check_against`]), with the Bluesky client key the database
    /// keeps. The first start keeps the key derived from `master`, which is the one Herald
    /// used before it kept one.
    pub async fn load(master: &MasterKey, store: &Store) -> Result<Keys, KeyCheckError> {
        let vault = vault::Keyring::new(vault::Kek::derive(master.as_bytes(), master.version()));
        check_against(&vault, store).await?;
        let damaged = |why: &str| KeyCheckError::ClientKey(why.to_owned());
        let sealed = keep_bluesky_client_key(store, master, vault.current())
            .await?
            .ok_or_else(|| damaged("it is missing"))?;
        // The canary opened, so the master key is right: only this value is damaged.
        let opened = vault::open(&vault, &bluesky_client_context(), &sealed)
            .map_err(|error| damaged(&error.to_string()))?;
        let secret = SecretString::from(String::from_utf8_lossy(opened.expose()).into_owned());
        let bluesky_client = networks::es256::Es256Key::from_secret(&secret)
            .ok_or_else(|| damaged("it is not a P-256 key"))?;
        Ok(Keys {
            vault,
            audit: crate::services::audit::signing_key(master),
            fingerprint: master.derive("password fingerprint"),
            setup_code: master.derive("setup code"),
            device: master.derive("sign-in device cookie"),
            bluesky_client,
        })
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

/// The Bluesky client key the database keeps, sealed. If it keeps none yet, it first keeps the
/// key derived from `master`, sealed under `kek`: this is how Herald's first start (or a
/// re-key before it) keeps the key Herald derived before it kept one. `None` only if the
/// database could not keep it (it has no canary row).
pub(crate) async fn keep_bluesky_client_key(
    store: &Store,
    master: &MasterKey,
    kek: &vault::Kek,
) -> Result<Option<Vec<u8>>, crate::store::StoreError> {
    if let Some(kept) = store.bluesky_client_key().await? {
        return Ok(Some(kept));
    }
    let secret = bluesky_client_key(master).to_secret();
    let sealed = vault::seal(
        kek,
        &bluesky_client_context(),
        secret.expose_secret().as_bytes(),
        &mut rand::rngs::OsRng,
    );
    store.keep_bluesky_client_key(&sealed).await?;
    // Another process starting at once may have kept its own first: read the winner.
    store.bluesky_client_key().await
}

/// Where the Bluesky client key is sealed.
pub(crate) fn bluesky_client_context() -> vault::Context<'static> {
    vault::Context {
        organisation: "herald",
        record: "vault",
        field: "bluesky oauth client key",
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyCheckError {
    #[error(
        "the Bluesky OAuth client key kept in the database cannot be used ({0}); restore the database from its backup"
    )]
    ClientKey(String),
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
async fn check_against(vault: &vault::Keyring, store: &Store) -> Result<(), KeyCheckError> {
    match store.vault_canary().await? {
        Some(sealed) => {
            vault::open(vault, &canary_context(), &sealed).map_err(KeyCheckError::WrongKey)?;
            Ok(())
        }
        None => {
            let sealed = vault::seal(
                vault.current(),
                &canary_context(),
                CANARY,
                &mut rand::rngs::OsRng,
            );
            Ok(store.set_vault_canary(&sealed).await?)
        }
    }
}
