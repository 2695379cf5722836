//! Managing members: changing roles and deactivating (offboarding). Deactivation ends every
//! session and revokes every API token of the member at once; the last owner stays.

use crate::domain::ids::{AccountId, UserId};
use jiff::Timestamp;

use crate::domain::access;
use crate::domain::audit::Actor;
use crate::domain::people::Role;
use crate::services::audit::record;
use crate::services::{AppError, Entity};
use crate::store::{AccountRecord, Store, UserRecord};

async fn target(store: &Store, id: UserId) -> Result<UserRecord, AppError> {
    store
        .user_by_id(id)
        .await?
        .ok_or_else(|| AppError::not_found(Entity::Member, format!("there is no member {id}")))
}

pub async fn change_role(
    store: &Store,
    actor: &UserRecord,
    member_id: UserId,
    role: Role,
    now: Timestamp,
) -> Result<UserRecord, AppError> {
    let member = target(store, member_id).await?;
    access::may_manage(actor.role, member.role, Some(role))
        .map_err(|denied| AppError::Denied(denied.0))?;
    let work = store.write().await?;
    let store: &Store = &work;
    store.set_role(member.id, member.role, role).await?;
    record(
        store,
        now,
        Actor::User(actor.id),
        "member.role_changed",
        Some(format!("user:{}", member.id)),
        None,
        serde_json::json!({ "from": member.role.as_str(), "to": role.as_str() }),
    )
    .await?;
    let member = target(store, member_id).await?;
    work.commit().await?;
    Ok(member)
}

/// What deactivating a member would do: the accounts they keep as gatekeeper (each needs a new
/// one, and its credentials rotated) and those they may use through a grant.
#[derive(Debug)]
pub struct Departure {
    pub member: UserRecord,
    pub kept: Vec<AccountRecord>,
    pub granted: Vec<AccountRecord>,
}

/// What deactivating `member_id` would do, for the page that asks to confirm it; refused as
/// the deactivation itself would be. Changes nothing.
pub async fn departure(
    store: &Store,
    actor: &UserRecord,
    member_id: UserId,
) -> Result<Departure, AppError> {
    let member = target(store, member_id).await?;
    access::may_manage(actor.role, member.role, None)
        .map_err(|denied| AppError::Denied(denied.0))?;
    let accounts = store.all_accounts().await?;
    let find = |id: AccountId| accounts.iter().find(|account| account.id == id).cloned();
    let kept = store
        .accounts_kept_by(member.id)
        .await?
        .into_iter()
        .filter_map(find)
        .collect();
    let granted = store
        .grants_of(member.id)
        .await?
        .into_iter()
        .filter_map(|(id, _)| find(id))
        .collect();
    Ok(Departure {
        member,
        kept,
        granted,
    })
}

/// A deactivated member, and the accounts whose credentials must now be rotated.
#[derive(Debug)]
pub struct Departed {
    pub member: UserRecord,
    pub rotate_now: Vec<AccountId>,
}

pub async fn deactivate(
    store: &Store,
    actor: &UserRecord,
    member_id: UserId,
    now: Timestamp,
) -> Result<Departed, AppError> {
    let member = target(store, member_id).await?;
    access::may_manage(actor.role, member.role, None)
        .map_err(|denied| AppError::Denied(denied.0))?;
    if member.id == actor.id {
        return Err(AppError::Conflict(
            "you cannot deactivate yourself; ask another owner or admin".to_owned(),
        ));
    }
    if !member.active {
        return Err(AppError::Conflict(format!(
            "{} is already deactivated",
            member.email
        )));
    }
    let work = store.write().await?;
    let store: &Store = &work;
    store.deactivate_user(member.id, now).await?;
    let rotate_now = crate::services::credentials::after_departure(store, &member, now).await?;
    record(
        store,
        now,
        Actor::User(actor.id),
        "member.deactivated",
        Some(format!("user:{}", member.id)),
        None,
        serde_json::json!({ "email": member.email, "rotate_now": rotate_now }),
    )
    .await?;
    let member = target(store, member_id).await?;
    work.commit().await?;
    Ok(Departed { member, rotate_now })
}
