//! When a member loses their authenticator and recovery codes: an owner (or an admin, for the
//! members admins manage) resets the member's second factor, or, for a locked-out last owner,
//! someone with shell access to the server runs `herald user reset-2fa`. The member's
//! recovery codes and passkeys are deleted and their sessions end. At their next sign-in the
//! right password leads to one enrolment step, once: a new authenticator and new recovery
//! codes. Every reset is audited and the member and the owners are told.

use crate::domain::ids::UserId;
use jiff::Timestamp;
use serde::Deserialize;
use utoipa::ToSchema;

use super::enrolment::{self, Enrolment};
use super::login::{self, PasswordChecked};
use super::setup::Welcome;
use crate::config::Config;
use crate::domain::access;
use crate::domain::audit::Actor;
use crate::domain::totp::generate_recovery_codes;
use crate::keys::Keys;
use crate::services::audit::{record, record_for_member};
use crate::services::{AppError, Entity, Services};
use crate::store::{Store, UserRecord};

/// Step one of enrolling after a reset: who is signing in.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "barista@sunnycafe.example", "password": "espresso tulip harbour 7"}))]
pub struct EnrolStart {
    pub email: String,
    pub password: String,
}

/// Step two: the same, with the new authenticator's token and its first code.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "email": "barista@sunnycafe.example",
    "password": "espresso tulip harbour 7",
    "enrolment_token": "SFYBAAAAAcpGjVHAApPsM45u-QoOxYm8RInJHlN8…",
    "code": "118364"
}))]
pub struct EnrolFinish {
    pub email: String,
    pub password: String,
    /// From the answer to step one; valid for 30 minutes.
    pub enrolment_token: String,
    /// A code from the new authenticator.
    pub code: String,
}

/// What the member must do next, in words for the person at the keyboard.
pub const NEXT_STEP: &str = "Sign in with your email address and password as usual; Herald then asks you to set up your authenticator app again (\"Set up my authenticator again\" on the sign-in page) and gives you new recovery codes.";

/// An owner or admin resets `member_id`'s second factor. Not one's own: that is what the
/// "new authenticator" step of one's account page (or, locked out, the command line) is for.
pub async fn reset_by(
    store: &Store,
    actor: &UserRecord,
    member_id: UserId,
    ip: &str,
    now: Timestamp,
) -> Result<UserRecord, AppError> {
    let member = store.user_by_id(member_id).await?.ok_or_else(|| {
        AppError::not_found(Entity::Member, format!("there is no member {member_id}"))
    })?;
    access::may_manage(actor.role, member.role, None)
        .map_err(|denied| AppError::Denied(denied.0))?;
    if member.id == actor.id {
        return Err(AppError::Conflict(
            "you cannot reset your own two-step sign-in; set up a new authenticator on your account page, or ask another owner".to_owned(),
        ));
    }
    reset(store, &member, Actor::User(actor.id), Some(ip), now).await?;
    Ok(member)
}

/// `herald user reset-2fa EMAIL`: shell access to the server is the proof.
pub async fn reset_from_command_line(
    store: &Store,
    email: &str,
    now: Timestamp,
) -> Result<UserRecord, AppError> {
    let email = email.trim().to_lowercase();
    let member = store.user_by_email(&email).await?.ok_or_else(|| {
        AppError::not_found(Entity::Member, format!("nobody here signs in as {email}"))
    })?;
    reset(store, &member, Actor::CommandLine, None, now).await?;
    Ok(member)
}

/// Step one of the enrolment after a reset: the right password gives a new secret to scan.
/// For anyone whose second factor was not reset, the answer is the one every failed sign-in
/// gets (and it is counted like one), so this step tells nothing about a password.
pub async fn start_enrolment(
    services: &Services,
    request: &EnrolStart,
    ip: &str,
    now: Timestamp,
) -> Result<Enrolment, AppError> {
    let Services {
        store,
        keys,
        config,
        ..
    } = services;
    let checked = pending(
        store,
        keys,
        config,
        (&request.email, &request.password),
        ip,
        now,
    )
    .await?;
    Ok(enrolment::start_replacement(
        keys,
        "Herald",
        &checked.user.email,
        now,
    ))
}

/// Step two: a code from the new authenticator saves it, with new recovery codes (shown
/// once), and signs the member in. Works once per reset.
pub async fn finish_enrolment(
    services: &Services,
    request: &EnrolFinish,
    ip: &str,
    now: Timestamp,
) -> Result<Welcome, AppError> {
    let Services {
        store,
        keys,
        config,
        ..
    } = services;
    let checked = pending(
        store,
        keys,
        config,
        (&request.email, &request.password),
        ip,
        now,
    )
    .await?;
    let user = &checked.user;
    let (sealed, step) = enrolment::finish_replacement(
        keys,
        &user.email,
        &request.enrolment_token,
        &request.code,
        now,
    )?;
    let codes = generate_recovery_codes(&mut rand::rngs::OsRng);
    let work = store.write().await?;
    let store: &Store = &work;
    if !store
        .enrol_after_reset(user.id, &sealed, step, &codes.hashes)
        .await?
    {
        return Err(AppError::WrongCredentials);
    }
    record_for_member(
        store,
        now,
        user,
        "auth.second_factor_enrolled",
        ip,
        serde_json::json!({ "after": "reset" }),
    )
    .await?;
    let signed_in =
        login::complete(store, keys, config, checked, "new authenticator", ip, now).await?;
    work.commit().await?;
    Ok(Welcome {
        signed_in,
        recovery_codes: codes.codes,
    })
}

/// The right password of a member whose second factor was reset.
async fn pending(
    store: &Store,
    keys: &Keys,
    config: &Config,
    (email, password): (&str, &str),
    ip: &str,
    now: Timestamp,
) -> Result<PasswordChecked, AppError> {
    // No device cookie: the enrolment step is throttled like a sign-in from a new browser.
    let from = login::SignInFrom {
        ip,
        device_cookie: None,
        user_agent: None,
    };
    let checked = login::check_password(store, keys, config, email, password, from, now).await?;
    if checked.user.second_factor_reset_at.is_none() {
        checked.count_attempt(store, now).await?;
        return Err(AppError::WrongCredentials);
    }
    enrolment_still_open(&checked.user, config, now)?;
    Ok(checked)
}

async fn reset(
    store: &Store,
    member: &UserRecord,
    actor: Actor,
    ip: Option<&str>,
    now: Timestamp,
) -> Result<(), AppError> {
    if !member.active {
        return Err(AppError::Conflict(format!(
            "{} is deactivated; invite them again instead",
            member.email
        )));
    }
    let work = store.write().await?;
    let store: &Store = &work;
    let sessions_ended = store.reset_second_factor(member.id, now).await?;
    let by = actor.as_text();
    record(
        store,
        now,
        actor,
        "member.second_factor_reset",
        Some(format!("user:{}", member.id)),
        ip,
        serde_json::json!({ "email": member.email, "sessions_ended": sessions_ended }),
    )
    .await?;
    let subject = format!("Two-step sign-in of {} was reset", member.name);
    let body = format!(
        "The authenticator, recovery codes and passkeys of {} ({}) no longer work, and their sessions ended (reset by {by}). At their next sign-in they set up a new authenticator.",
        member.name, member.email
    );
    crate::services::notify::all_owners(
        store,
        crate::domain::notifications::NotificationKind::SecondFactorReset,
        &subject,
        &body,
        Some("/members"),
        now,
    )
    .await?;
    let own = format!(
        "Your authenticator, recovery codes and passkeys no longer work (reset by {by}). {NEXT_STEP} If you did not ask for this, tell an owner at once."
    );
    crate::services::notify::person(
        store,
        crate::domain::notifications::NotificationKind::SecondFactorReset,
        member.id,
        "Your two-step sign-in was reset",
        &own,
        None,
        now,
    )
    .await?;
    work.commit().await?;
    Ok(())
}

/// Passwords and codes are left out.
impl std::fmt::Debug for EnrolStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrolStart")
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for EnrolFinish {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrolFinish")
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// A reset leaves the member's password as their only proof until they enrol, so that window
/// closes as an invitation does (`sessions.invitation_hours`); after it an owner resets again.
pub(super) fn enrolment_still_open(
    user: &UserRecord,
    config: &Config,
    now: Timestamp,
) -> Result<(), AppError> {
    let Some(reset_at) = user.second_factor_reset_at else {
        return Ok(());
    };
    let hours = i64::try_from(config.sessions.invitation_hours).unwrap_or(72);
    let closes = reset_at
        .saturating_add(jiff::SignedDuration::from_hours(hours))
        .unwrap_or(reset_at);
    if now >= closes {
        return Err(AppError::Conflict(format!(
            "your two-step sign-in was reset more than {hours} hours ago and the time to set up a new authenticator has passed; ask an owner to reset it again"
        )));
    }
    Ok(())
}
