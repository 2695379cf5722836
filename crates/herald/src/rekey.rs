//! `herald vault rekey`: replaces the master key with a new one and re-wraps every sealed
//! secret under it, without ever decrypting a secret's data (only its data key is re-wrapped)
//! and without losing anything if it is interrupted.
//!
//! The new key is written first, as `<key>.next`. Every sealed value is then re-wrapped under
//! the new key: network credentials, authenticator secrets, the key check value, Herald's
//! Bluesky client key, its registered Mastodon applications, webhook signing secrets and e-mail
//! waiting to be sent. Values already re-wrapped are
//! left alone, so running again after an interruption simply continues. Audit checkpoints,
//! signed with a key derived from the master key, are checked with the old key and signed
//! again with the new one. Only then is the old key moved to `<key>.previous` and the new one
//! put in its place. Herald refuses to start while a `<key>.next` exists.

use std::path::{Path, PathBuf};

use crate::data_dir::{self, DataDirError, MasterKey};
use crate::domain::audit::sign_checkpoint;
use crate::keys;
use crate::services::audit;
use crate::services::people::enrolment::stored_secret_context;
use crate::store::{Store, StoreError};

/// What a re-key did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rekeyed {
    pub version: u32,
    pub rewrapped: usize,
    pub already_done: usize,
    pub checkpoints_resigned: usize,
    /// Herald's applications at Mastodon servers that did not open and were forgotten.
    pub apps_forgotten: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum RekeyError {
    #[error(transparent)]
    Key(#[from] DataDirError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{what} could not be re-wrapped: {source}")]
    Seal {
        what: String,
        source: vault::VaultError,
    },
    #[error(
        "the audit log does not verify with the current key, so its checkpoints cannot be signed again: {0}"
    )]
    Audit(#[from] audit::VerifyError),
    #[error("cannot put the new master key in place: {0}")]
    Swap(std::io::Error),
}

/// The file the next key is written to while a re-key is under way.
pub fn next_key_path(key_path: &Path) -> PathBuf {
    with_suffix(key_path, "next")
}

fn previous_key_path(key_path: &Path) -> PathBuf {
    with_suffix(key_path, "previous")
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path
        .file_name()
        .map(std::ffi::OsStr::to_os_string)
        .unwrap_or_default();
    name.push(format!(".{suffix}"));
    path.with_file_name(name)
}

/// Secrets re-wrapped per transaction.
const BATCH: usize = 1000;

pub async fn rekey(store: &Store, key_path: &Path) -> Result<Rekeyed, RekeyError> {
    let next_path = next_key_path(key_path);
    // Interrupted between the two renames: the old key is already `.previous`.
    let current_path = if key_path.exists() {
        key_path.to_path_buf()
    } else {
        previous_key_path(key_path)
    };
    let old = data_dir::load_master_key(&current_path)?;
    let new = match data_dir::load_master_key(&next_path) {
        Ok(key) => key,
        Err(DataDirError::KeyFileRead { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            data_dir::create_master_key(&next_path, old.version() + 1)?
        }
        Err(other) => return Err(other.into()),
    };
    let keyring = vault::Keyring::new(vault::Kek::derive(new.as_bytes(), new.version()))
        .with_previous(vault::Kek::derive(old.as_bytes(), old.version()));
    let mut report = Rekeyed {
        version: new.version(),
        rewrapped: 0,
        already_done: 0,
        checkpoints_resigned: 0,
        apps_forgotten: 0,
    };

    // Written in batches, each one transaction: far fewer commits than one per secret, and an
    // interrupted run keeps every finished batch (the rest are found by their key version).
    let version = i64::from(new.version());
    let mut batch = Vec::with_capacity(BATCH);
    for secret in store.all_secrets().await? {
        let record = format!("account:{}", secret.account_id);
        let context = vault::Context {
            organisation: "herald",
            record: &record,
            field: &secret.field,
        };
        let what = || format!("the {} of account {}", secret.field, secret.account_id);
        let Some(sealed) = rewrap(&keyring, &context, &secret.sealed, &mut report, what)? else {
            continue;
        };
        batch.push((secret.account_id, secret.field.clone(), sealed));
        if batch.len() == BATCH {
            store.rewrap_secrets(&batch, version).await?;
            batch.clear();
        }
    }
    store.rewrap_secrets(&batch, version).await?;
    for (user_id, email, sealed) in store.all_totp_secrets().await? {
        let what = || format!("the authenticator secret of member {user_id}");
        let Some(sealed) = rewrap(
            &keyring,
            &stored_secret_context(&email),
            &sealed,
            &mut report,
            what,
        )?
        else {
            continue;
        };
        store.rewrap_totp_secret(user_id, &sealed).await?;
    }
    if let Some(canary) = store.vault_canary().await? {
        let what = || "the key check value".to_owned();
        if let Some(sealed) = rewrap(
            &keyring,
            &keys::canary_context(),
            &canary,
            &mut report,
            what,
        )? {
            store.replace_vault_canary(&sealed).await?;
        }
    }
    // A database re-keyed before any start of this version keeps the key Herald derived from
    // the old master key, so that connected accounts keep working.
    if let Some(client_key) = keys::keep_bluesky_client_key(store, &old, keyring.current()).await? {
        let what = || "Herald's Bluesky client key".to_owned();
        if let Some(sealed) = rewrap(
            &keyring,
            &keys::bluesky_client_context(),
            &client_key,
            &mut report,
            what,
        )? {
            store.replace_bluesky_client_key(&sealed).await?;
        }
    }
    // Herald's applications at Mastodon servers can be registered again, so one that does not
    // open (sealed under a key an earlier re-key did not re-wrap) is forgotten, not fatal.
    for app in store.all_oauth_apps().await? {
        let what = || format!("Herald's application at {}", app.server);
        let context = crate::services::oauth::app_context(&app.server, &app.redirect_uri);
        match rewrap(&keyring, &context, &app.sealed_secret, &mut report, what) {
            Ok(None) => {}
            Ok(Some(sealed)) => {
                store
                    .settle_oauth_app(&app, Some((&sealed, version)))
                    .await?
            }
            Err(error) => {
                tracing::warn!(%error, server = %app.server, "forgetting Herald's application there; it is registered again on the next connection");
                store.settle_oauth_app(&app, None).await?;
                report.apps_forgotten += 1;
            }
        }
    }
    for endpoint in store.webhook_endpoints().await? {
        let what = || format!("the signing secret of webhook {}", endpoint.id);
        let field = crate::services::webhooks::secret_field(endpoint.id);
        let context = crate::services::webhooks::secret_context(&field);
        if let Some(sealed) = rewrap(
            &keyring,
            &context,
            &endpoint.sealed_secret,
            &mut report,
            what,
        )? {
            store
                .set_webhook_secret(endpoint.id, &sealed, version)
                .await?;
        }
    }
    // Messages still to be sent; sent ones are never opened again.
    for (id, message_key, sealed) in store.unsent_mail().await? {
        let what = || format!("e-mail {id} waiting to be sent");
        let context = crate::services::mail::context(&message_key);
        if let Some(sealed) = rewrap(&keyring, &context, &sealed, &mut report, what)? {
            store.rewrap_mail(id, &sealed, version).await?;
        }
    }
    report.checkpoints_resigned = resign_checkpoints(store, &old, &new).await?;
    swap_keys(key_path, &next_path)?;
    Ok(report)
}

/// Re-wraps one sealed value; `None` when it is already under the new key.
fn rewrap(
    keyring: &vault::Keyring,
    context: &vault::Context<'_>,
    sealed: &[u8],
    report: &mut Rekeyed,
    what: impl Fn() -> String,
) -> Result<Option<Vec<u8>>, RekeyError> {
    let seal_error = |source| RekeyError::Seal {
        what: what(),
        source,
    };
    if vault::key_version(sealed).map_err(seal_error)? == keyring.current().version() {
        report.already_done += 1;
        return Ok(None);
    }
    let sealed =
        vault::rewrap(keyring, context, sealed, &mut rand::rngs::OsRng).map_err(seal_error)?;
    report.rewrapped += 1;
    Ok(Some(sealed))
}

/// Checks the audit chain and its checkpoints with the old key, then signs every checkpoint
/// again with the new key (checkpoints already signed with the new key are left alone).
async fn resign_checkpoints(
    store: &Store,
    old: &MasterKey,
    new: &MasterKey,
) -> Result<usize, RekeyError> {
    let old_key = audit::signing_key(old);
    let new_key = audit::signing_key(new);
    let checkpoints = store.audit_checkpoints().await?;
    let pending: Vec<_> = checkpoints
        .iter()
        .filter(|checkpoint| {
            sign_checkpoint(
                &new_key,
                checkpoint.size,
                checkpoint.head_hash,
                checkpoint.at,
            )
            .signature
                != checkpoint.signature
        })
        .collect();
    if pending.is_empty() {
        return Ok(0);
    }
    // Some checkpoints may already carry the new signature (an interrupted run): the chain is
    // verified with the old key only when every checkpoint still has an old signature.
    if pending.len() == checkpoints.len() {
        audit::verify(store, &old_key.verifying_key()).await?;
    }
    for checkpoint in &pending {
        let signed = sign_checkpoint(
            &new_key,
            checkpoint.size,
            checkpoint.head_hash,
            checkpoint.at,
        );
        store
            .resign_audit_checkpoint(checkpoint.size, signed.signature)
            .await?;
    }
    Ok(pending.len())
}

fn swap_keys(key_path: &Path, next_path: &Path) -> Result<(), RekeyError> {
    if key_path.exists() {
        std::fs::rename(key_path, previous_key_path(key_path)).map_err(RekeyError::Swap)?;
    }
    std::fs::rename(next_path, key_path).map_err(RekeyError::Swap)
}
