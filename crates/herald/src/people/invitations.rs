//! Inviting members: an owner or admin creates a single-use link that expires; the invitee
//! opens it, chooses a password, enrols an authenticator, and becomes a member.

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use utoipa::ToSchema;

use super::login::start_session;
use super::setup::Welcome;
use super::{PeopleError, enrolment, off_thread, parse_error, random_token, record, token_hash};
use crate::config::Config;
use crate::domain::access;
use crate::domain::audit::Actor;
use crate::domain::password::{HashCost, NewPassword};
use crate::domain::people::{DisplayName, Email, Role};
use crate::domain::totp::generate_recovery_codes;
use crate::keys::Keys;
use crate::store::{InvitationRecord, NewUser, Store, UserRecord};

#[derive(Deserialize, ToSchema)]
pub struct AcceptRequest {
    pub name: String,
    pub password: String,
    /// From `GET /api/v1/invitations/{token}`.
    pub enrolment_token: String,
    pub code: String,
}

/// A new invitation; `token` is the secret part of the link, shown once.
#[derive(Debug)]
pub struct Invited {
    pub email: String,
    pub role: Role,
    pub token: String,
    pub expires_at: Timestamp,
}

pub async fn invite(
    store: &Store,
    config: &Config,
    inviter: &UserRecord,
    email: &str,
    role: Role,
    now: Timestamp,
) -> Result<Invited, PeopleError> {
    access::may_manage(inviter.role, Role::Member, Some(role))
        .map_err(|denied| PeopleError::Denied(denied.0))?;
    let email = Email::parse(email).map_err(parse_error("email"))?;
    if store.user_by_email(email.as_str()).await?.is_some() {
        return Err(PeopleError::Conflict(format!(
            "{email} is already a member"
        )));
    }
    let token = random_token();
    let hours = i64::try_from(config.sessions.invitation_hours).unwrap_or(72);
    let expires_at = now
        .saturating_add(SignedDuration::from_hours(hours))
        .unwrap_or(now);
    store
        .create_invitation(
            &token_hash(&token),
            email.as_str(),
            role,
            inviter.id,
            now,
            expires_at,
        )
        .await?;
    record(
        store,
        now,
        Actor::User(inviter.id),
        "member.invited",
        Some(format!("email:{email}")),
        None,
        serde_json::json!({ "role": role.as_str(), "expires_at": expires_at.to_string() }),
    )
    .await?;
    Ok(Invited {
        email: email.to_string(),
        role,
        token,
        expires_at,
    })
}

/// The invitation behind a link, if it can still be accepted.
pub async fn open(
    store: &Store,
    token: &str,
    now: Timestamp,
) -> Result<InvitationRecord, PeopleError> {
    match store.invitation(&token_hash(token)).await? {
        Some(invitation) if !invitation.accepted && invitation.expires_at > now => Ok(invitation),
        _ => Err(PeopleError::InvitationGone),
    }
}

pub async fn accept(
    store: &Store,
    keys: &Keys,
    config: &Config,
    token: &str,
    request: &AcceptRequest,
    ip: &str,
    now: Timestamp,
) -> Result<Welcome, PeopleError> {
    let invitation = open(store, token, now).await?;
    let name = DisplayName::parse(&request.name, "your name").map_err(parse_error("name"))?;
    let organisation = store.organisation_name().await?;
    let password = NewPassword::parse(
        &request.password,
        &[&invitation.email, name.as_str(), &organisation],
    )?;
    let (secret, step) = enrolment::finish(
        keys,
        &invitation.email,
        &request.enrolment_token,
        &request.code,
        now,
    )?;
    let cost = HashCost::from(&config.passwords);
    let password_hash = off_thread(move || password.hash(cost))
        .await?
        .map_err(|error| PeopleError::Internal(error.to_string()))?;
    let codes = generate_recovery_codes(&mut rand::rngs::OsRng);
    let member = NewUser {
        email: invitation.email.clone(),
        name: name.as_str().to_owned(),
        role: invitation.role,
        password_hash,
        totp_secret: vault::seal(
            keys.vault.current(),
            &enrolment::stored_secret_context(&invitation.email),
            secret.as_bytes(),
            &mut rand::rngs::OsRng,
        ),
        recovery_code_hashes: codes.hashes,
    };
    let id = store
        .accept_invitation(&token_hash(token), &member, now)
        .await
        .map_err(|error| match PeopleError::from(error) {
            PeopleError::Conflict(message) if message.contains("invitation") => {
                PeopleError::InvitationGone
            }
            other => other,
        })?;
    store
        .spend_totp_step(id, i64::try_from(step).unwrap_or(i64::MAX))
        .await?;
    record(store, now, Actor::User(id), "member.joined", Some(format!("user:{id}")), Some(ip), serde_json::json!({ "role": invitation.role.as_str(), "invited_by": invitation.invited_by })).await?;
    let user = store
        .user_by_id(id)
        .await?
        .ok_or_else(|| PeopleError::Internal("the new member vanished".to_owned()))?;
    let signed_in = start_session(store, config, user, ip, now).await?;
    Ok(Welcome {
        signed_in,
        recovery_codes: codes.codes,
    })
}

/// Passwords and codes are left out.
impl std::fmt::Debug for AcceptRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcceptRequest")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}
