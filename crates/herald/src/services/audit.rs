//! Recording, checkpointing and verifying the audit log, tying the pure rules in
//! `domain/audit.rs` to the store and to the checkpoint signing key.
//!
//! The signing key is derived from the master key file, so it lives outside the database like
//! the master key itself: whoever can rewrite the database cannot also forge checkpoints.

pub mod words;

use crate::domain::ids::PostId;
use ed25519_dalek::{SigningKey, VerifyingKey};
use jiff::Timestamp;

use crate::data_dir::MasterKey;
use crate::domain::audit::{
    Actor, ChainError, ChainVerifier, Checkpoint, NewAuditEntry, VerifiedChain, sign_checkpoint,
};
use crate::services::AppError;
use crate::store::{AuditFilter, Store, StoreError};

/// How many entries verification reads at a time.
const PAGE: i64 = 1000;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Chain(#[from] ChainError),
}

/// The key that signs checkpoints, derived from the master key for this purpose only.
pub fn signing_key(master: &MasterKey) -> SigningKey {
    SigningKey::from_bytes(&master.derive("audit checkpoint signing"))
}

/// Signs a checkpoint of the current head, unless the newest checkpoint already covers it.
pub async fn checkpoint(
    store: &Store,
    key: &SigningKey,
    now: Timestamp,
) -> Result<Option<Checkpoint>, StoreError> {
    let (size, head_hash) = store.audit_head().await?;
    let covered = store
        .audit_checkpointed_size()
        .await?
        .is_some_and(|checkpointed| checkpointed >= size);
    if covered {
        return Ok(None);
    }
    let checkpoint = sign_checkpoint(key, size, head_hash, now);
    store.add_audit_checkpoint(&checkpoint).await?;
    Ok(Some(checkpoint))
}

/// Recomputes the whole chain and checks every checkpoint, reading a page at a time.
pub async fn verify(store: &Store, key: &VerifyingKey) -> Result<VerifiedChain, VerifyError> {
    let mut verifier = ChainVerifier::new(store.audit_checkpoints().await?);
    let mut filter = AuditFilter {
        limit: PAGE,
        ..AuditFilter::default()
    };
    loop {
        let page = store.audit_entries(&filter).await?;
        for entry in &page {
            verifier.push(entry)?;
        }
        match page.last() {
            Some(last) if page.len() == usize::try_from(PAGE).unwrap_or(usize::MAX) => {
                filter.after_seq = last.seq;
            }
            _ => break,
        }
    }
    Ok(verifier.finish(key)?)
}

/// Appends to the audit log. The details must never hold a secret.
pub(crate) async fn record(
    store: &Store,
    now: Timestamp,
    actor: Actor,
    action: &str,
    target: Option<String>,
    ip: Option<&str>,
    details: serde_json::Value,
) -> Result<(), AppError> {
    let entry = NewAuditEntry {
        actor,
        action: action.to_owned(),
        target,
        ip: ip.map(str::to_owned),
        details,
    };
    store.append_audit(&entry, now).await?;
    Ok(())
}

/// [`record`] for a step a member took on a post: the member is the actor, the post the target.
pub(crate) async fn record_for_post(
    store: &Store,
    now: Timestamp,
    actor: &crate::store::UserRecord,
    action: &str,
    post_id: PostId,
    details: serde_json::Value,
) -> Result<(), AppError> {
    record(
        store,
        now,
        Actor::User(actor.id),
        action,
        Some(format!("post:{post_id}")),
        None,
        details,
    )
    .await
}

/// [`record`] for a step a member took on their own account (password, authenticator,
/// sessions): the member is the actor and the target, from the address they came from.
pub(crate) async fn record_for_member(
    store: &Store,
    now: Timestamp,
    member: &crate::store::UserRecord,
    action: &str,
    ip: &str,
    details: serde_json::Value,
) -> Result<(), AppError> {
    record(
        store,
        now,
        Actor::User(member.id),
        action,
        Some(format!("user:{}", member.id)),
        Some(ip),
        details,
    )
    .await
}
