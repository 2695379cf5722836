//! Telling people what needs them: notifications shown in Herald (and, once mail exists,
//! sent). The services that notice something call these; each message names the account and
//! what to do, and never holds a secret.

use crate::domain::ids::UserId;
use jiff::Timestamp;

use crate::domain::people::Role;
use crate::store::{AccountRecord, Store, StoreError};

/// Tells the account's gatekeeper; if they have left, every owner (someone must act).
pub async fn gatekeeper(
    store: &Store,
    account: &AccountRecord,
    subject: &str,
    body: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    let keeper_active = store
        .user_by_id(account.gatekeeper_id)
        .await?
        .is_some_and(|user| user.active);
    if keeper_active {
        let link = link(account);
        store
            .add_notification(account.gatekeeper_id, subject, body, Some(&link), now)
            .await
    } else {
        owners(store, account, subject, body, now).await
    }
}

/// Tells every active owner.
pub async fn owners(
    store: &Store,
    account: &AccountRecord,
    subject: &str,
    body: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    let link = link(account);
    for owner in store.list_users().await? {
        if owner.active && owner.role == Role::Owner {
            store
                .add_notification(owner.id, subject, body, Some(&link), now)
                .await?;
        }
    }
    Ok(())
}

/// Tells one member.
pub async fn member(
    store: &Store,
    user_id: UserId,
    account: &AccountRecord,
    subject: &str,
    body: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    let link = link(account);
    store
        .add_notification(user_id, subject, body, Some(&link), now)
        .await
}

fn link(account: &AccountRecord) -> String {
    format!("/accounts/{}", account.id)
}

/// Tells every active owner about something that is not about one social account (a member
/// signed out after wrong codes, a second factor reset); `link` is where to look.
pub async fn all_owners(
    store: &Store,
    subject: &str,
    body: &str,
    link: Option<&str>,
    now: Timestamp,
) -> Result<(), StoreError> {
    for owner in store.list_users().await? {
        if owner.active && owner.role == Role::Owner {
            store
                .add_notification(owner.id, subject, body, link, now)
                .await?;
        }
    }
    Ok(())
}

/// Tells one member about their own account.
pub async fn person(
    store: &Store,
    user_id: UserId,
    subject: &str,
    body: &str,
    link: Option<&str>,
    now: Timestamp,
) -> Result<(), StoreError> {
    store
        .add_notification(user_id, subject, body, link, now)
        .await
}
