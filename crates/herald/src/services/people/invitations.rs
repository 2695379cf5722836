//! Inviting members: an owner or admin creates a single-use link that expires; the invitee
//! opens it, chooses a password, enrols an authenticator, and becomes a member.

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use utoipa::ToSchema;

use super::newcomer::{self, Joining};
use super::setup::Welcome;
use super::{parse_error, random_token, token_hash};
use crate::config::Config;
use crate::domain::access;
use crate::domain::audit::Actor;
use crate::domain::people::{DisplayName, Email, Role};
use crate::services::audit::record;
use crate::services::{AppError, Entity, Services};
use crate::store::{InvitationRecord, PendingInvitation, Store, UserRecord};

/// What the invitee chooses and proves when accepting (step 3 of joining).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Bea Barista",
    "password": "espresso tulip harbour 7",
    "enrolment_token": "SFYBAAAAAcpGjVHAApPsM45u-QoOxYm8RInJHlN8…",
    "code": "730215"
}))]
pub struct AcceptRequest {
    /// Your name as the team sees it: 1 to 100 characters, no control characters.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x1f\x7f-\x9f \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// 12 to 128 characters, not weak and not known from a data breach.
    #[schema(min_length = 12, max_length = 128)]
    pub password: String,
    /// From `GET /api/v1/invitations/{token}`; valid for 30 minutes.
    pub enrolment_token: String,
    /// The current 6-digit code from the authenticator app the secret was added to.
    pub code: String,
}

/// A new invitation; `token` is the secret part of the link, shown once.
pub struct Invited {
    pub email: String,
    pub role: Role,
    pub token: String,
    pub expires_at: Timestamp,
    /// Whether an e-mail with the link is on its way (mail is configured).
    pub mailed: bool,
}

/// Invites, and where mail is set up e-mails the link (`base` + `/invite/` + token) in the
/// same unit of work: the message is in the outbox exactly when the invitation exists.
pub async fn invite_and_mail(
    services: &Services,
    base: &str,
    inviter: &UserRecord,
    email: &str,
    role: Role,
    now: Timestamp,
) -> Result<Invited, AppError> {
    let work = services.store.write().await?;
    let invited = invite(&work, &services.config, inviter, email, role, now).await?;
    let invited = mail_link(services, &work, base, inviter, invited, now).await?;
    work.commit().await?;
    Ok(invited)
}

/// [`renew`], with the new link e-mailed as [`invite_and_mail`] does.
pub async fn renew_and_mail(
    services: &Services,
    base: &str,
    actor: &UserRecord,
    reference: &str,
    now: Timestamp,
) -> Result<Invited, AppError> {
    let work = services.store.write().await?;
    let invited = renew(&work, &services.config, actor, reference, now).await?;
    let invited = mail_link(services, &work, base, actor, invited, now).await?;
    work.commit().await?;
    Ok(invited)
}

async fn mail_link(
    services: &Services,
    work: &Store,
    base: &str,
    inviter: &UserRecord,
    invited: Invited,
    now: Timestamp,
) -> Result<Invited, AppError> {
    let link = format!("{base}/invite/{}", invited.token);
    let mailed = crate::services::mail::invitation(
        services,
        work,
        inviter,
        &invited.email,
        &link,
        invited.expires_at,
        now,
    )
    .await?;
    Ok(Invited { mailed, ..invited })
}

pub async fn invite(
    store: &Store,
    config: &Config,
    inviter: &UserRecord,
    email: &str,
    role: Role,
    now: Timestamp,
) -> Result<Invited, AppError> {
    access::may_manage(inviter.role, Role::Member, Some(role))
        .map_err(|denied| AppError::Denied(denied.0))?;
    let email = Email::parse(email).map_err(parse_error("email"))?;
    // A deactivated member may be invited again: accepting makes them active once more.
    let rejoining = match store.user_by_email(email.as_str()).await? {
        Some(user) if user.active => {
            return Err(AppError::Conflict(format!("{email} is already a member")));
        }
        Some(_) => true,
        None => false,
    };
    let token = random_token();
    let hours = i64::try_from(config.sessions.invitation_hours).unwrap_or(72);
    let expires_at = now
        .saturating_add(SignedDuration::from_hours(hours))
        .unwrap_or(now);
    let work = store.write().await?;
    work.create_invitation(
        &token_hash(&token),
        email.as_str(),
        role,
        inviter.id,
        now,
        expires_at,
    )
    .await?;
    record(
        &work,
        now,
        Actor::User(inviter.id),
        "member.invited",
        Some(format!("email:{email}")),
        None,
        serde_json::json!({ "role": role.as_str(), "expires_at": expires_at.to_string(), "rejoining": rejoining }),
    )
    .await?;
    work.commit().await?;
    Ok(Invited {
        email: email.to_string(),
        role,
        token,
        expires_at,
        mailed: false,
    })
}

/// Invitations not yet accepted, for those who may invite (owners and admins).
pub async fn pending(store: &Store) -> Result<Vec<PendingInvitation>, AppError> {
    Ok(store.pending_invitations().await?)
}

/// Withdraws a pending invitation: its link stops working at once.
pub async fn cancel(
    store: &Store,
    actor: &UserRecord,
    reference: &str,
    now: Timestamp,
) -> Result<PendingInvitation, AppError> {
    let gone = || {
        AppError::not_found(
            Entity::Invitation,
            "There is no such invitation waiting: it was accepted or withdrawn already.",
        )
    };
    let invitation = pending(store)
        .await?
        .into_iter()
        .find(|invitation| invitation.reference == reference)
        .ok_or_else(gone)?;
    access::may_manage(actor.role, Role::Member, Some(invitation.role))
        .map_err(|denied| AppError::Denied(denied.0))?;
    let work = store.write().await?;
    work.cancel_invitation(reference).await?.ok_or_else(gone)?;
    record(
        &work,
        now,
        Actor::User(actor.id),
        "member.invitation_withdrawn",
        Some(format!("email:{}", invitation.email)),
        None,
        serde_json::json!({ "role": invitation.role.as_str() }),
    )
    .await?;
    work.commit().await?;
    Ok(invitation)
}

/// A new link for a pending invitation (lost, or expired): the old link stops working, and a
/// new one for the same person and role is made, in one unit of work.
pub async fn renew(
    store: &Store,
    config: &Config,
    actor: &UserRecord,
    reference: &str,
    now: Timestamp,
) -> Result<Invited, AppError> {
    let work = store.write().await?;
    let old = cancel(&work, actor, reference, now).await?;
    let invited = invite(&work, config, actor, &old.email, old.role, now).await?;
    work.commit().await?;
    Ok(invited)
}

/// The invitation behind a link, if it can still be accepted.
pub async fn open(
    store: &Store,
    token: &str,
    now: Timestamp,
) -> Result<InvitationRecord, AppError> {
    let invitation = match store.invitation(&token_hash(token)).await? {
        Some(invitation) if !invitation.accepted && invitation.expires_at > now => invitation,
        _ => return Err(AppError::InvitationGone),
    };
    // An invitation is only as good as its inviter: one who has left, or may no longer give
    // that role, leaves a link that no longer works.
    let inviter = store
        .user_by_id(invitation.invited_by)
        .await?
        .filter(|inviter| inviter.active);
    let still_allowed = inviter.is_some_and(|inviter| {
        access::may_manage(inviter.role, Role::Member, Some(invitation.role)).is_ok()
    });
    if !still_allowed {
        return Err(AppError::InvitationGone);
    }
    Ok(invitation)
}

pub async fn accept(
    services: &Services,
    token: &str,
    request: &AcceptRequest,
    ip: &str,
    now: Timestamp,
) -> Result<Welcome, AppError> {
    let Services {
        store,
        keys,
        config,
        ..
    } = services;
    let invitation = open(store, token, now).await?;
    let name = DisplayName::parse(&request.name, "your name").map_err(parse_error("name"))?;
    let organisation = store.organisation_name().await?;
    let joining = Joining {
        email: &invitation.email,
        name: name.as_str(),
        organisation: &organisation,
        role: invitation.role,
        password: &request.password,
        enrolment_token: &request.enrolment_token,
        code: &request.code,
    };
    let prepared = newcomer::prepare(keys, config, &joining, now).await?;
    let gone = |error| match AppError::from(error) {
        AppError::Conflict(message) if message.contains("invitation") => AppError::InvitationGone,
        other => other,
    };
    let work = store.write().await?;
    let store: &Store = &work;
    let (id, action) = match store.user_by_email(&invitation.email).await? {
        // A member who left and was invited again: the same member, active again, with the
        // new password, authenticator and role.
        Some(departed) => {
            store
                .rejoin(&token_hash(token), departed.id, &prepared.user, now)
                .await
                .map_err(gone)?;
            (departed.id, "member.rejoined")
        }
        None => {
            let id = store
                .accept_invitation(&token_hash(token), &prepared.user, now)
                .await
                .map_err(gone)?;
            (id, "member.joined")
        }
    };
    record(
        store,
        now,
        Actor::User(id),
        action,
        Some(format!("user:{id}")),
        Some(ip),
        serde_json::json!({ "role": invitation.role.as_str(), "invited_by": invitation.invited_by }),
    )
    .await?;
    let welcome = newcomer::welcome(store, config, id, prepared, ip, now).await?;
    crate::services::webhooks::raise(
        store,
        crate::domain::webhooks::WebhookEvent::MemberJoined,
        "A member joined",
        &format!(
            "{} joined as {}",
            invitation.email,
            invitation.role.as_str()
        ),
        Some("/members"),
        serde_json::json!({ "user_id": id, "role": invitation.role.as_str() }),
        now,
    )
    .await?;
    work.commit().await?;
    Ok(welcome)
}

/// Passwords and codes are left out.
impl std::fmt::Debug for AcceptRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcceptRequest")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

debug_without_secrets!(Invited);
