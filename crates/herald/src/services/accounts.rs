//! Social accounts as the web app and the API both use them: adding an account with its
//! gatekeeper, seeing only the accounts one may see, granting and revoking access, and
//! reassigning a gatekeeper. Every change is audited.
//!
//! An account a member may not see answers exactly like one that does not exist, so nobody can
//! probe which accounts the company has.

use crate::domain::ids::{AccountId, UserId};
use jiff::Timestamp;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::domain::access::{self, AccountAction};
use crate::domain::accounts::{AccountLevel, AvatarColour, Handle, Network};
use crate::domain::audit::Actor;
use crate::domain::people::{DisplayName, Role};
use crate::services::audit::record;
use crate::services::{AppError, Entity};
use crate::store::{AccountRecord, NewAccount, Store, UserRecord};

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewAccountRequest {
    pub network: Network,
    pub handle: String,
    pub display_name: String,
    /// `#rrggbb`, shown beside every post so the account is unmistakable.
    pub avatar_colour: String,
    /// The member who alone decides who else may use the account.
    pub gatekeeper_id: UserId,
    /// Ask for explicit confirmation every time something is published to it.
    #[serde(default)]
    pub confirm_before_publish: bool,
}

/// An account together with the caller's own level on it (none: an owner or admin without a
/// grant, who sees it to manage it).
#[derive(Debug, Clone)]
pub struct Visible {
    pub account: AccountRecord,
    pub level: Option<AccountLevel>,
}

/// The level `user_id` holds on `account`: gatekeeper, a grant, or none.
pub async fn level_of(
    store: &Store,
    account: &AccountRecord,
    user_id: UserId,
) -> Result<Option<AccountLevel>, AppError> {
    if account.gatekeeper_id == user_id {
        return Ok(Some(AccountLevel::Gatekeeper));
    }
    Ok(store.grant(account.id, user_id).await?)
}

/// Every account `user` may see, with their level on each.
pub async fn visible(store: &Store, user: &UserRecord) -> Result<Vec<Visible>, AppError> {
    let grants = store.grants_of(user.id).await?;
    let mut out = Vec::new();
    for account in store.all_accounts().await? {
        let level = if account.gatekeeper_id == user.id {
            Some(AccountLevel::Gatekeeper)
        } else {
            grants
                .iter()
                .find(|(id, _)| *id == account.id)
                .map(|(_, level)| *level)
        };
        if access::check_account(user.role, level, AccountAction::View).is_ok() {
            out.push(Visible { account, level });
        }
    }
    Ok(out)
}

/// The account `id` if `user` may do `action` with it. Accounts they may not see are "not
/// found", never "forbidden".
pub async fn open(
    store: &Store,
    user: &UserRecord,
    id: AccountId,
    action: AccountAction,
) -> Result<Visible, AppError> {
    let not_found = || AppError::not_found(Entity::Account, format!("there is no account {id}"));
    let account = store.account(id).await?.ok_or_else(not_found)?;
    let level = level_of(store, &account, user.id).await?;
    access::check_account(user.role, level, AccountAction::View).map_err(|_| not_found())?;
    access::check_account(user.role, level, action).map_err(|denied| AppError::Denied(denied.0))?;
    Ok(Visible { account, level })
}

/// Who may use an account, as its page shows it to anyone who can see it.
#[derive(Debug, Clone)]
pub struct People {
    pub gatekeeper: UserRecord,
    /// Members with a grant, highest level first, then by name.
    pub granted: Vec<(UserRecord, AccountLevel)>,
    /// Active members with no access yet (not the gatekeeper): whom access can be given to.
    pub others: Vec<UserRecord>,
}

/// The account's gatekeeper, the members with a grant, and the active members without one.
pub async fn people(
    store: &Store,
    actor: &UserRecord,
    account_id: AccountId,
) -> Result<People, AppError> {
    let visible = open(store, actor, account_id, AccountAction::View).await?;
    let members = store.list_users().await?;
    let grants = store.grants(account_id).await?;
    let gatekeeper = members
        .iter()
        .find(|member| member.id == visible.account.gatekeeper_id)
        .cloned()
        .ok_or_else(|| AppError::Internal("the account's gatekeeper is missing".to_owned()))?;
    let mut granted: Vec<(UserRecord, AccountLevel)> = grants
        .iter()
        .filter_map(|(id, level)| {
            let member = members.iter().find(|member| member.id == *id)?;
            Some((member.clone(), *level))
        })
        .collect();
    granted.sort_by(|(a, a_level), (b, b_level)| b_level.cmp(a_level).then(a.name.cmp(&b.name)));
    let others = members
        .into_iter()
        .filter(|member| {
            member.active
                && member.id != gatekeeper.id
                && !grants.iter().any(|(id, _)| *id == member.id)
        })
        .collect();
    Ok(People {
        gatekeeper,
        granted,
        others,
    })
}

pub async fn create(
    store: &Store,
    actor: &UserRecord,
    request: &NewAccountRequest,
    now: Timestamp,
) -> Result<AccountRecord, AppError> {
    if actor.role < Role::Admin {
        return Err(AppError::Denied(
            "only owners and admins add accounts".to_owned(),
        ));
    }
    let invalid = |field: &'static str| {
        move |error: crate::domain::accounts::AccountError| AppError::Invalid {
            field,
            message: error.to_string(),
        }
    };
    let handle = Handle::parse(request.network, &request.handle).map_err(invalid("handle"))?;
    let colour = AvatarColour::parse(&request.avatar_colour).map_err(invalid("avatar_colour"))?;
    let display_name =
        DisplayName::parse(&request.display_name, "display name").map_err(|error| {
            AppError::Invalid {
                field: "display_name",
                message: error.to_string(),
            }
        })?;
    let gatekeeper = active_member(store, request.gatekeeper_id, "gatekeeper_id").await?;
    let new = NewAccount {
        network: request.network,
        handle: handle.as_str(),
        display_name: display_name.as_str(),
        avatar_colour: colour.as_str(),
        gatekeeper_id: gatekeeper.id,
        confirm_before_publish: request.confirm_before_publish,
    };
    let work = store.write().await?;
    let id = work.create_account(&new, now).await?;
    let details = serde_json::json!({ "network": request.network.as_str(), "handle": handle.as_str(), "gatekeeper": gatekeeper.id });
    record(
        &work,
        now,
        Actor::User(actor.id),
        "account.created",
        Some(format!("account:{id}")),
        None,
        details,
    )
    .await?;
    let account = work
        .account(id)
        .await?
        .ok_or_else(|| AppError::Internal("the new account vanished".to_owned()))?;
    work.commit().await?;
    Ok(account)
}

/// Gives `member_id` `level` on an account (replacing any level they had).
pub async fn grant(
    store: &Store,
    actor: &UserRecord,
    account_id: AccountId,
    member_id: UserId,
    level: AccountLevel,
    now: Timestamp,
) -> Result<(), AppError> {
    let visible = open(store, actor, account_id, AccountAction::ManageAccess).await?;
    let member = active_member(store, member_id, "user_id").await?;
    if visible.account.gatekeeper_id == member.id {
        return Err(AppError::Conflict(format!(
            "{} is the account's gatekeeper already",
            member.name
        )));
    }
    if level == AccountLevel::Gatekeeper {
        return Err(AppError::Invalid { field: "level", message: "the gatekeeper is named by an owner, not granted; use publisher, contributor or viewer".to_owned() });
    }
    let work = store.write().await?;
    let store: &Store = &work;
    store
        .set_grant(account_id, member.id, level, actor.id, now)
        .await?;
    let as_owner = visible.level != Some(AccountLevel::Gatekeeper);
    if as_owner {
        let body = format!(
            "{} gave {} {} access to {}. As its gatekeeper you can change this.",
            actor.name,
            member.name,
            level.as_str(),
            visible.account.display_name
        );
        let subject = format!(
            "An owner changed who may use {}",
            visible.account.display_name
        );
        crate::services::notify::gatekeeper(store, &visible.account, &subject, &body, now).await?;
    }
    let details =
        serde_json::json!({ "member": member.id, "level": level.as_str(), "as_owner": as_owner });
    record(
        store,
        now,
        Actor::User(actor.id),
        "account.access_granted",
        Some(format!("account:{account_id}")),
        None,
        details,
    )
    .await?;
    Ok(work.commit().await?)
}

pub async fn revoke(
    store: &Store,
    actor: &UserRecord,
    account_id: AccountId,
    member_id: UserId,
    now: Timestamp,
) -> Result<(), AppError> {
    let visible = open(store, actor, account_id, AccountAction::ManageAccess).await?;
    let work = store.write().await?;
    let store: &Store = &work;
    if !store.revoke_grant(account_id, member_id).await? {
        return Err(AppError::not_found(
            Entity::Member,
            format!("member {member_id} has no access to this account"),
        ));
    }
    let as_owner = visible.level != Some(AccountLevel::Gatekeeper);
    if as_owner {
        let subject = format!(
            "An owner changed who may use {}",
            visible.account.display_name
        );
        let body = format!(
            "{} took away member {member_id}'s access to {}.",
            actor.name, visible.account.display_name
        );
        crate::services::notify::gatekeeper(store, &visible.account, &subject, &body, now).await?;
    }
    let details = serde_json::json!({ "member": member_id, "as_owner": as_owner });
    record(
        store,
        now,
        Actor::User(actor.id),
        "account.access_revoked",
        Some(format!("account:{account_id}")),
        None,
        details,
    )
    .await?;
    Ok(work.commit().await?)
}

/// Owners only: names a new gatekeeper. Audited; the old and new gatekeepers are told, and
/// the account's password is marked "rotate now" (the old gatekeeper could reveal it).
pub async fn reassign_gatekeeper(
    store: &Store,
    actor: &UserRecord,
    account_id: AccountId,
    member_id: UserId,
    now: Timestamp,
) -> Result<AccountRecord, AppError> {
    let visible = open(store, actor, account_id, AccountAction::View).await?;
    if actor.role != Role::Owner {
        return Err(AppError::Denied(
            "only an owner can reassign an account's gatekeeper".to_owned(),
        ));
    }
    let member = active_member(store, member_id, "user_id").await?;
    let work = store.write().await?;
    let store: &Store = &work;
    store.set_gatekeeper(account_id, member.id).await?;
    let name = &visible.account.display_name;
    let subject = format!("You are now the gatekeeper of {name}");
    let body = format!(
        "{} made you the gatekeeper of {name}: you decide who may use it and keep its password. Check its security flags.",
        actor.name
    );
    crate::services::notify::member(store, member.id, &visible.account, &subject, &body, now)
        .await?;
    if visible.account.gatekeeper_id != member.id {
        let subject = format!("You are no longer the gatekeeper of {name}");
        let body = format!("{} made {} its gatekeeper.", actor.name, member.name);
        crate::services::notify::member(
            store,
            visible.account.gatekeeper_id,
            &visible.account,
            &subject,
            &body,
            now,
        )
        .await?;
    }
    let details = serde_json::json!({ "from": visible.account.gatekeeper_id, "to": member.id });
    record(
        store,
        now,
        Actor::User(actor.id),
        "account.gatekeeper_changed",
        Some(format!("account:{account_id}")),
        None,
        details,
    )
    .await?;
    // The former gatekeeper could reveal the password: it is to be changed, as when a member
    // leaves.
    if visible.account.gatekeeper_id != member.id
        && let Some(former) = store.user_by_id(visible.account.gatekeeper_id).await?
    {
        crate::services::credentials::after_gatekeeper_change(store, account_id, &former, now)
            .await?;
    }
    let account = store
        .account(account_id)
        .await?
        .ok_or_else(|| AppError::Internal("the account vanished".to_owned()))?;
    work.commit().await?;
    Ok(account)
}

async fn active_member(
    store: &Store,
    id: UserId,
    field: &'static str,
) -> Result<UserRecord, AppError> {
    store
        .user_by_id(id)
        .await?
        .filter(|user| user.active)
        .ok_or_else(|| AppError::Invalid {
            field,
            message: format!("there is no active member {id}"),
        })
}
